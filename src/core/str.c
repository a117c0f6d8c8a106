/*
 * String views, checked number parsing and UTF-8 validation.
 */
#include "core/core.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

fc_str fc_str_c(const char *cstr) {
    if (cstr == NULL) {
        return fc_str_make("", 0);
    }
    return fc_str_make(cstr, strlen(cstr));
}

int fc_str_eq(fc_str a, fc_str b) {
    if (a.n != b.n) {
        return 0;
    }
    return a.n == 0 || memcmp(a.p, b.p, a.n) == 0;
}

int fc_str_eqc(fc_str a, const char *cstr) {
    return fc_str_eq(a, fc_str_c(cstr));
}

int fc_str_cmp(fc_str a, fc_str b) {
    uint32_t n = a.n < b.n ? a.n : b.n;
    int c = n == 0 ? 0 : memcmp(a.p, b.p, n);
    if (c != 0) {
        return c < 0 ? -1 : 1;
    }
    if (a.n == b.n) {
        return 0;
    }
    return a.n < b.n ? -1 : 1;
}

fc_str fc_str_trim(fc_str s) {
    while (s.n > 0 && (s.p[0] == ' ' || s.p[0] == '\t')) {
        s.p++;
        s.n--;
    }
    while (s.n > 0 && (s.p[s.n - 1] == ' ' || s.p[s.n - 1] == '\t')) {
        s.n--;
    }
    return s;
}

char *fc_str_cpy(char *buf, size_t bufsz, fc_str s) {
    if (buf == NULL || bufsz == 0) {
        return buf;
    }
    size_t n = s.n;
    if (n >= bufsz) {
        n = bufsz - 1;
    }
    if (n > 0) {
        memcpy(buf, s.p, n);
    }
    buf[n] = '\0';
    return buf;
}

int fc_parse_i64(fc_str s, int64_t *out) {
    if (s.n == 0 || s.p == NULL) {
        return FC_EPARSE;
    }
    size_t i = 0;
    int neg = 0;
    if (s.p[0] == '-' || s.p[0] == '+') {
        neg = s.p[0] == '-';
        i = 1;
    }
    if (i == s.n) {
        return FC_EPARSE;
    }
    /* Accumulate as a negative number so INT64_MIN is representable. */
    int64_t v = 0;
    for (; i < s.n; i++) {
        unsigned d = (unsigned)(unsigned char)s.p[i] - '0';
        if (d > 9) {
            return FC_EPARSE;
        }
        if (v < (INT64_MIN + (int64_t)d) / 10) {
            return FC_EPARSE;
        }
        v = v * 10 - (int64_t)d;
    }
    if (!neg) {
        if (v == INT64_MIN) {
            return FC_EPARSE;
        }
        v = -v;
    }
    *out = v;
    return FC_OK;
}

/* Exact powers of ten representable in a double (Clinger's fast path). */
static const double fc__pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

int fc_parse_f64(fc_str s, double *out) {
    if (s.n == 0 || s.p == NULL) {
        return FC_EPARSE;
    }
    /* Only decimal notation: no hex floats, inf, nan or spaces (strtod would
     * take them). */
    size_t i = 0;
    int neg = 0;
    if (s.p[0] == '-' || s.p[0] == '+') {
        neg = s.p[0] == '-';
        i = 1;
    }
    uint64_t mant = 0;
    int digits = 0, mant_digits = 0, frac_digits = 0, seen_dot = 0, exact = 1;
    for (; i < s.n; i++) {
        char c = s.p[i];
        if (c >= '0' && c <= '9') {
            digits++;
            if (mant_digits < 19) {
                mant = mant * 10 + (uint64_t)(c - '0');
                if (mant != 0) {
                    mant_digits++;
                }
                if (seen_dot) {
                    frac_digits++;
                }
            } else {
                exact = 0;
            }
        } else if (c == '.' && !seen_dot) {
            seen_dot = 1;
        } else {
            break;
        }
    }
    if (digits == 0) {
        return FC_EPARSE;
    }
    if (i < s.n) {
        /* An exponent: e[+-]digits, then the end. */
        char c = s.p[i];
        if (c != 'e' && c != 'E') {
            return FC_EPARSE;
        }
        size_t j = i + 1;
        if (j < s.n && (s.p[j] == '+' || s.p[j] == '-')) {
            j++;
        }
        if (j == s.n) {
            return FC_EPARSE;
        }
        for (; j < s.n; j++) {
            if (s.p[j] < '0' || s.p[j] > '9') {
                return FC_EPARSE;
            }
        }
        exact = 0;
    }
    if (exact && mant < (1ULL << 53) && frac_digits <= 22) {
        double v = (double)mant / fc__pow10[frac_digits];
        *out = neg ? -v : v;
        return FC_OK;
    }
    char stackbuf[128];
    char *buf = stackbuf;
    if (s.n >= sizeof stackbuf) {
        buf = malloc((size_t)s.n + 1);
        if (buf == NULL) {
            return FC_ENOMEM;
        }
    }
    memcpy(buf, s.p, s.n);
    buf[s.n] = '\0';
    errno = 0;
    char *end = NULL;
    double v = strtod(buf, &end);
    int rc = FC_OK;
    if (end != buf + s.n || (errno == ERANGE && isinf(v))) {
        rc = FC_EPARSE;
    } else {
        *out = v;
    }
    if (buf != stackbuf) {
        free(buf);
    }
    return rc;
}

int fc_utf8_valid(const char *s, size_t n, size_t *bad_at) {
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        /* Fast path: eight ASCII bytes, none NUL. */
        if (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, p + i, 8);
            uint64_t has_high = w & 0x8080808080808080ULL;
            uint64_t has_zero = (w - 0x0101010101010101ULL) & ~w & 0x8080808080808080ULL;
            if ((has_high | has_zero) == 0) {
                i += 8;
                continue;
            }
        }
        unsigned c = p[i];
        if (c == 0) {
            goto bad;
        }
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        unsigned lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            if (c == 0xE0) {
                lo = 0xA0; /* overlong */
            } else if (c == 0xED) {
                hi = 0x9F; /* surrogates */
            }
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            if (c == 0xF0) {
                lo = 0x90; /* overlong */
            } else if (c == 0xF4) {
                hi = 0x8F; /* above U+10FFFF */
            }
        } else {
            goto bad; /* continuation byte, C0/C1 overlong, F5-FF */
        }
        if (i + 1 >= n || p[i + 1] < lo || p[i + 1] > hi) {
            i += (i + 1 < n) ? 1 : 0;
            goto bad_next;
        }
        for (size_t k = 2; k < len; k++) {
            if (i + k >= n || (p[i + k] & 0xC0) != 0x80) {
                i += (i + k < n) ? k : 0;
                goto bad_next;
            }
        }
        i += len;
    }
    return 1;
bad_next:
    /* i points at the offending byte (or at the lead byte of a sequence that
     * the input cuts short). */
bad:
    if (bad_at != NULL) {
        *bad_at = i;
    }
    return 0;
}
