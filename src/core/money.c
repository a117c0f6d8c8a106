/*
 * Money: int64 minor units of an ISO 4217 currency.
 */
#include "core/core.h"

#include <string.h>

int fc_currency_decimals(const char *code) {
    if (code == NULL || strlen(code) != 3) {
        return -1;
    }
    for (int i = 0; i < 3; i++) {
        if (code[i] < 'A' || code[i] > 'Z') {
            return -1;
        }
    }
    /* ISO 4217 minor units where they differ from 2. */
    static const char three[][4] = {"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"};
    static const char zero[][4] = {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG",
                                   "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"};
    for (size_t i = 0; i < sizeof three / sizeof three[0]; i++) {
        if (memcmp(code, three[i], 3) == 0) {
            return 3;
        }
    }
    for (size_t i = 0; i < sizeof zero / sizeof zero[0]; i++) {
        if (memcmp(code, zero[i], 3) == 0) {
            return 0;
        }
    }
    return 2;
}

void fc_money_format(int64_t minor, const char *code, char *buf, size_t bufsz) {
    if (buf == NULL || bufsz == 0) {
        return;
    }
    int dec = fc_currency_decimals(code);
    if (dec < 0) {
        dec = 2;
    }
    uint64_t mag = minor < 0 ? (uint64_t)0 - (uint64_t)minor : (uint64_t)minor;
    uint64_t scale = 1;
    for (int i = 0; i < dec; i++) {
        scale *= 10;
    }
    uint64_t whole = mag / scale, frac = mag % scale;
    char fracbuf[8] = {0};
    for (int i = dec - 1; i >= 0; i--) {
        fracbuf[i] = (char)('0' + (int)(frac % 10));
        frac /= 10;
    }
    snprintf(buf, bufsz, "%s%llu%s%s", minor < 0 ? "-" : "", (unsigned long long)whole,
             dec > 0 ? "." : "", fracbuf);
}

int fc_money_parse(fc_str s, const char *code, int64_t *out_minor) {
    int dec = fc_currency_decimals(code);
    if (dec < 0) {
        return FC_EINVAL;
    }
    s = fc_str_trim(s);
    size_t i = 0;
    int neg = 0;
    if (s.n > 0 && (s.p[0] == '-' || s.p[0] == '+')) {
        neg = s.p[0] == '-';
        i = 1;
    }
    uint64_t mag = 0;
    int digits = 0, frac = 0, seen_dot = 0;
    const uint64_t limit = (uint64_t)INT64_MAX + (neg ? 1u : 0u);
    for (; i < s.n; i++) {
        char c = s.p[i];
        if (c == '.') {
            if (seen_dot) {
                return FC_EPARSE;
            }
            seen_dot = 1;
            continue;
        }
        if (c < '0' || c > '9') {
            return FC_EPARSE;
        }
        digits++;
        unsigned d = (unsigned)(c - '0');
        if (seen_dot) {
            frac++;
            if (frac > dec) {
                /* Trailing zeros past the currency's decimals change nothing
                 * ("100.00" JPY); any other digit would need rounding. */
                if (d != 0) {
                    return FC_EPARSE;
                }
                continue;
            }
        }
        if (mag > (limit - d) / 10) {
            return FC_EPARSE;
        }
        mag = mag * 10 + d;
    }
    if (digits == 0) {
        return FC_EPARSE;
    }
    int have = frac < dec ? frac : dec;
    for (int k = have; k < dec; k++) {
        if (mag > limit / 10) {
            return FC_EPARSE;
        }
        mag *= 10;
    }
    *out_minor = neg ? (int64_t)(0 - mag) : (int64_t)mag;
    return FC_OK;
}
