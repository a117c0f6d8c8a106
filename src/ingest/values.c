/*
 * Value parsing shared by the readers: instants, coordinates, amounts,
 * integers, range checks and UTF-8. These sit on the hot path of the orders
 * CSV reader, so the common layouts are parsed by hand without allocation.
 */
#include <string.h>

#include "ingest/reader_internal.h"

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static unsigned days_in_month(int64_t y, unsigned m) {
    static const unsigned dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) {
        return 29;
    }
    return dm[m - 1];
}

static int dig2(const char *p, unsigned *out) {
    unsigned a = (unsigned)(unsigned char)p[0] - '0', b = (unsigned)(unsigned char)p[1] - '0';
    if (a > 9 || b > 9) {
        return 0;
    }
    *out = a * 10 + b;
    return 1;
}

int fc__iso_has_offset(fc_str s) {
    if (s.n == 0) {
        return 0;
    }
    if (s.p[s.n - 1] == 'Z' || s.p[s.n - 1] == 'z') {
        return 1;
    }
    /* +HH:MM, +HHMM or +HH after the clock "YYYY-MM-DDTHH:MM:SS" */
    for (size_t i = 19; i < s.n; i++) {
        if (s.p[i] == '+' || s.p[i] == '-') {
            return 1;
        }
    }
    return 0;
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define FC__SWAR 1
/* Eight bytes as a little-endian word. */
static inline uint64_t load8(const char *p) {
    uint64_t w;
    memcpy(&w, p, 8);
    return w;
}

/* Are the bytes of w selected by mask ASCII digits? */
static inline int swar_digits(uint64_t w, uint64_t mask) {
    const uint64_t hi = 0xF0F0F0F0F0F0F0F0ull & mask, three = 0x3030303030303030ull & mask;
    return (w & hi) == three && ((w + 0x0606060606060606ull) & hi) == three;
}

/* Byte i of the result: 10 * digit i + digit i+1 (for the pairs that start
 * at the selected bytes). */
static inline uint64_t swar_pairs(uint64_t w) {
    uint64_t d = w & 0x0F0F0F0F0F0F0F0Full;
    return d * 10 + (d >> 8);
}
#endif

int fc__time_iso_fast(fc_str s, fc__date_cache *dc, int64_t *out) {
    const char *p = s.p;
    unsigned h, mi, se, oh = 0, om = 0;
    int sign = 1;
#ifdef FC__SWAR
    if (s.n == 25 && (p[19] == '+' || p[19] == '-') && (p[10] == 'T' || p[10] == ' ')) {
        /* "HH:MM:SS" and "SS+HH:MM" as words: digits, separators, pairs */
        uint64_t c = load8(p + 11), o = load8(p + 17);
        if ((c & 0x0000FF0000FF0000ull) != 0x00003A00003A0000ull ||
            !swar_digits(c, 0xFFFF00FFFF00FFFFull) ||
            (o & 0x0000FF0000000000ull) != 0x00003A0000000000ull ||
            !swar_digits(o, 0xFFFF00FFFF000000ull)) {
            return 0;
        }
        uint64_t cv = swar_pairs(c), ov = swar_pairs(o);
        h = (unsigned)(cv & 0xFF);
        mi = (unsigned)((cv >> 24) & 0xFF);
        se = (unsigned)((cv >> 48) & 0xFF);
        oh = (unsigned)((ov >> 24) & 0xFF);
        om = (unsigned)((ov >> 48) & 0xFF);
        if (h > 23 || mi > 59 || se > 59 || oh > 18 || om > 59) {
            return 0;
        }
        sign = p[19] == '-' ? -1 : 1;
        goto date;
    }
#endif
    if (s.n == 25) {
        if ((p[19] != '+' && p[19] != '-') || p[22] != ':' || !dig2(p + 20, &oh) ||
            !dig2(p + 23, &om) || oh > 18 || om > 59) {
            return 0;
        }
        sign = p[19] == '-' ? -1 : 1;
    } else if (s.n != 20 || p[19] != 'Z') {
        return 0;
    }
    if ((p[10] != 'T' && p[10] != ' ') || p[13] != ':' || p[16] != ':' || !dig2(p + 11, &h) ||
        !dig2(p + 14, &mi) || !dig2(p + 17, &se) || h > 23 || mi > 59 || se > 59) {
        return 0;
    }
#ifdef FC__SWAR
date:
#endif
    if (!dc->valid || memcmp(dc->key, p, 10) != 0) {
        unsigned y1, y2, mo, d;
        if (!dig2(p, &y1) || !dig2(p + 2, &y2) || p[4] != '-' || !dig2(p + 5, &mo) || p[7] != '-' ||
            !dig2(p + 8, &d) || mo < 1 || mo > 12) {
            return 0;
        }
        int64_t y = (int64_t)(y1 * 100 + y2);
        if (d < 1 || d > days_in_month(y, mo)) {
            return 0;
        }
        memcpy(dc->key, p, 10);
        dc->days = days_from_civil(y, mo, d);
        dc->valid = 1;
    }
    *out = dc->days * 86400 + h * 3600 + mi * 60 + se - sign * (int64_t)(oh * 3600 + om * 60);
    return 1;
}

int fc__time_iso(fc_str s, const fc_tz *tz, int64_t *out, fc_err *err) {
    const char *p = s.p;
    unsigned y1, y2, mo, d, h, mi, se;
    size_t i;

    if (s.n < 19 || !dig2(p, &y1) || !dig2(p + 2, &y2) || p[4] != '-' || !dig2(p + 5, &mo) ||
        p[7] != '-' || !dig2(p + 8, &d) || (p[10] != 'T' && p[10] != ' ') || !dig2(p + 11, &h) ||
        p[13] != ':' || !dig2(p + 14, &mi) || p[16] != ':' || !dig2(p + 17, &se)) {
        goto slow;
    }
    int64_t y = (int64_t)(y1 * 100 + y2);
    if (mo < 1 || mo > 12) {
        return fc_err_set(err, FC_EPARSE, NULL, 0, 6, "month %u out of range 1-12", mo);
    }
    if (d < 1 || d > days_in_month(y, mo)) {
        return fc_err_set(err, FC_EPARSE, NULL, 0, 9, "day %u does not exist in %04lld-%02u", d,
                          (long long)y, mo);
    }
    if (h > 23 || mi > 59 || se > 59) {
        return fc_err_set(err, FC_EPARSE, NULL, 0, 12, "clock %02u:%02u:%02u out of range", h, mi,
                          se);
    }
    int64_t local = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
    i = 19;
    if (i < s.n && (p[i] == '.' || p[i] == ',')) {
        i++;
        size_t f0 = i;
        while (i < s.n && p[i] >= '0' && p[i] <= '9') {
            i++;
        }
        if (i == f0) {
            goto slow;
        }
    }
    if (i == s.n) {
        *out = tz != NULL ? fc_tz_to_utc(tz, local) : local;
        return FC_OK;
    }
    if ((p[i] == 'Z' || p[i] == 'z') && i + 1 == s.n) {
        *out = local;
        return FC_OK;
    }
    if (p[i] == '+' || p[i] == '-') {
        unsigned oh, om = 0;
        int sign = p[i] == '-' ? -1 : 1;
        size_t rest = s.n - i - 1;
        if (rest == 5 && dig2(p + i + 1, &oh) && p[i + 3] == ':' && dig2(p + i + 4, &om)) {
        } else if (rest == 4 && dig2(p + i + 1, &oh) && dig2(p + i + 3, &om)) {
        } else if (rest == 2 && dig2(p + i + 1, &oh)) {
        } else {
            return fc_err_set(err, FC_EPARSE, NULL, 0, (long)i + 1,
                              "bad UTC offset (expected +HH:MM)");
        }
        if (oh > 18 || om > 59) {
            return fc_err_set(err, FC_EPARSE, NULL, 0, (long)i + 1, "UTC offset out of range");
        }
        *out = local - sign * (int64_t)(oh * 3600 + om * 60);
        return FC_OK;
    }
slow:
    return fc_time_parse_iso(s, tz, out, err);
}

int fc__parse_int(fc_str s, int64_t *out) {
    size_t i = 0;
    int neg = 0;
    uint64_t v = 0;
    if (s.n == 0) {
        return FC_EPARSE;
    }
    if (s.p[0] == '-' || s.p[0] == '+') {
        neg = s.p[0] == '-';
        i = 1;
    }
    if (i == s.n || s.n - i > 19) {
        return FC_EPARSE;
    }
    for (; i < s.n; i++) {
        unsigned dg = (unsigned)(unsigned char)s.p[i] - '0';
        if (dg > 9) {
            return FC_EPARSE;
        }
        v = v * 10 + dg;
    }
    if (v > (uint64_t)INT64_MAX) {
        return FC_EPARSE;
    }
    *out = neg ? -(int64_t)v : (int64_t)v;
    return FC_OK;
}

/* Split "[-+]int[.frac]" into sign, integer digits and fraction digits. */
static int split_decimal(fc_str s, int *neg, size_t *ib, size_t *ie, size_t *fb, size_t *fe) {
    size_t i = 0;
    *neg = 0;
    if (s.n == 0) {
        return FC_EPARSE;
    }
    if (s.p[0] == '-' || s.p[0] == '+') {
        *neg = s.p[0] == '-';
        i = 1;
    }
    *ib = i;
    while (i < s.n && s.p[i] >= '0' && s.p[i] <= '9') {
        i++;
    }
    *ie = i;
    *fb = *fe = i;
    if (i < s.n && s.p[i] == '.') {
        i++;
        *fb = i;
        while (i < s.n && s.p[i] >= '0' && s.p[i] <= '9') {
            i++;
        }
        *fe = i;
    }
    if (i != s.n || (*ie == *ib && *fe == *fb)) {
        return FC_EPARSE;
    }
    return FC_OK;
}

int fc__parse_deg_e6(fc_str s, int32_t *out) {
    /* One pass over "[-+]int[.frac]": at most 3 integer digits, any number
     * of decimals (rounded half away from zero at the seventh). */
    const char *p = s.p, *end = s.p + s.n;
    int neg = 0;
    int64_t v = 0;
    unsigned ndig = 0, nfrac = 0;
    if (s.n == 0) {
        return FC_EPARSE;
    }
#ifdef FC__SWAR
    /* The usual layout, exactly six decimals: the last eight bytes are
     * "?.dddddd", the six digits taken at once. */
    if (s.n >= 8 && s.n <= 11 && p[s.n - 7] == '.') {
        uint64_t w = load8(p + s.n - 8);
        if (swar_digits(w, 0xFFFFFFFFFFFF0000ull)) {
            const char *q = p, *dot = p + s.n - 7;
            int64_t ip = 0;
            if (*q == '-' || *q == '+') {
                neg = *q == '-';
                q++;
            }
            if (q < dot && dot - q <= 3) {
                for (; q < dot; q++) {
                    unsigned dg = (unsigned)(unsigned char)*q - '0';
                    if (dg > 9) {
                        break;
                    }
                    ip = ip * 10 + dg;
                }
                if (q == dot) {
                    /* 8-digit word parse with the two leading bytes as 0 */
                    uint64_t d = swar_pairs(w & 0xFFFFFFFFFFFF0000ull);
                    d = (((d & 0x000000FF000000FFull) * (100 + (1000000ull << 32))) +
                         (((d >> 16) & 0x000000FF000000FFull) * (1 + (10000ull << 32)))) >>
                        32;
                    v = ip * 1000000 + (int64_t)d;
                    *out = (int32_t)(neg ? -v : v);
                    return FC_OK;
                }
            }
        }
    }
#endif
    if (*p == '-' || *p == '+') {
        neg = *p == '-';
        p++;
    }
    for (; p < end; p++) {
        unsigned dg = (unsigned)(unsigned char)*p - '0';
        if (dg > 9) {
            break;
        }
        if (++ndig > 3) {
            return FC_EPARSE;
        }
        v = v * 10 + dg;
    }
    if (p < end && *p == '.') {
        p++;
        for (; p < end; p++) {
            unsigned dg = (unsigned)(unsigned char)*p - '0';
            if (dg > 9) {
                break;
            }
            if (nfrac < 6) {
                v = v * 10 + dg;
            } else if (nfrac == 6 && dg >= 5) {
                v++; /* the seventh decimal rounds */
            }
            nfrac++;
        }
    }
    if (p != end || ndig + nfrac == 0) {
        return FC_EPARSE;
    }
    for (unsigned k = nfrac; k < 6; k++) {
        v *= 10;
    }
    *out = (int32_t)(neg ? -v : v);
    return FC_OK;
}

int fc__parse_money(fc_str s, int decimals, int64_t *out) {
    int neg;
    size_t ib, ie, fb, fe;
    int64_t v = 0;
    if (decimals < 0 || split_decimal(s, &neg, &ib, &ie, &fb, &fe) != FC_OK ||
        fe - fb > (size_t)decimals || ie - ib > 15) {
        return FC_EPARSE;
    }
    for (size_t i = ib; i < ie; i++) {
        v = v * 10 + (s.p[i] - '0');
    }
    for (int k = 0; k < decimals; k++) {
        v = v * 10 + (fb + (size_t)k < fe ? s.p[fb + (size_t)k] - '0' : 0);
    }
    *out = neg ? -v : v;
    return FC_OK;
}

int fc__field_range_class(int field) {
    const fc_event_field *f = fc_event_field_at((size_t)field);
    if (f == NULL) {
        return FC__RC_NONE;
    }
    switch (f->kind) {
    case FC_EF_STR:
        return FC__RC_NONE;
    case FC_EF_TIME:
        return FC__RC_TIME;
    case FC_EF_MONEY:
        return FC__RC_MONEY;
    case FC_EF_GEO: {
        size_t n = strlen(f->name);
        return n >= 3 && f->name[n - 1] == 't' ? FC__RC_LAT : FC__RC_LNG;
    }
    case FC_EF_INT:
        break;
    }
    if (strcmp(f->name, "score") == 0) {
        return FC__RC_SCORE;
    }
    if (strcmp(f->name, "severity") == 0) {
        return FC__RC_SEVERITY;
    }
    if (strcmp(f->name, "prebook") == 0) {
        return FC__RC_PREBOOK;
    }
    return FC__RC_COUNT;
}

const char *fc__range_check(int cls, fc_event_type t, int64_t v) {
    switch (cls) {
    case FC__RC_TIME:
        if (v < FC__TS_MIN || v >= FC__TS_MAX) {
            return "impossible instant (before 2000 or after 2100)";
        }
        return NULL;
    case FC__RC_MONEY:
        return v < 0 ? "negative amount" : NULL;
    case FC__RC_LAT:
        return v < -90000000 || v > 90000000 ? "latitude out of range -90..90" : NULL;
    case FC__RC_LNG:
        return v < -180000000 || v > 180000000 ? "longitude out of range -180..180" : NULL;
    case FC__RC_SCORE:
        if (t == FC_EV_RATING) {
            return v < 1 || v > 5 ? "rating score out of range 1-5" : NULL;
        }
        return v < 0 || v > 10 ? "score out of range 0-10" : NULL;
    case FC__RC_SEVERITY:
        return v < 0 || v > 3 ? "severity out of range 0-3" : NULL;
    case FC__RC_PREBOOK:
        return v != 0 && v != 1 ? "prebook must be 0 or 1" : NULL;
    case FC__RC_COUNT:
        return v < 0 || v > INT32_MAX - 1 ? "value out of range (must be >= 0)" : NULL;
    default:
        return NULL;
    }
}

const char *fc__field_range(fc_event_type t, int field, int64_t v) {
    return fc__range_check(fc__field_range_class(field), t, v);
}

size_t fc__utf8_seq(const unsigned char *p, size_t avail) {
    unsigned c = p[0];
    if (c < 0x80) {
        return c != 0 ? 1 : 0;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        return avail >= 2 && (p[1] & 0xc0) == 0x80 ? 2 : 0;
    }
    if (c >= 0xe0 && c <= 0xef) {
        if (avail < 3 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80) {
            return 0;
        }
        if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] >= 0xa0)) {
            return 0; /* overlong or surrogate */
        }
        return 3;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        if (avail < 4 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80) {
            return 0;
        }
        if ((c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] >= 0x90)) {
            return 0;
        }
        return 4;
    }
    return 0;
}

int fc__utf8_ok(const char *s, size_t n, size_t *bad) {
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        if (p[i] >= 0x20 && p[i] < 0x80) {
            i++;
            continue;
        }
        size_t k = fc__utf8_seq(p + i, n - i);
        if (k == 0) {
            if (bad != NULL) {
                *bad = i;
            }
            return 0;
        }
        i += k;
    }
    return 1;
}
