/*
 * Civil-date arithmetic, ISO 8601 and strptime-like parsing, formatting.
 * Local civil time is converted with fc_tz_to_utc (tz.c).
 */
#include "core/core.h"

#include <string.h>

/* Howard Hinnant's days_from_civil / civil_from_days (public domain
 * algorithms), valid over the whole int64 range used here. */
int64_t fc_days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);                       /* [0, 399] */
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* [0, 365] */
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* [0, 146096] */
    return era * 146097 + (int64_t)doe - 719468;
}

void fc_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d) {
    days += 719468;
    const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    const unsigned doe = (unsigned)(days - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned dd = doy - (153 * mp + 2) / 5 + 1;
    const unsigned mm = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (mm <= 2);
    *m = mm;
    *d = dd;
}

static int fc__is_leap(int64_t y) {
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned fc__days_in_month(int64_t y, unsigned m) {
    static const unsigned char dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && fc__is_leap(y)) {
        return 29;
    }
    return dim[m - 1];
}

static int64_t fc__floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) {
        q--;
    }
    return q;
}

/* ---------------------------------------------------------------------------
 * Parsing helpers over a view with a cursor.
 */
typedef struct fc__cur {
    const char *p;
    size_t n, i;
} fc__cur;

/* Read exactly `width` digits. */
static int fc__digits(fc__cur *c, int width, unsigned *out) {
    if (c->i + (size_t)width > c->n) {
        /* Too short: point at the first non-digit or the end. */
        while (c->i < c->n && c->p[c->i] >= '0' && c->p[c->i] <= '9') {
            c->i++;
        }
        return 0;
    }
    unsigned v = 0;
    for (int k = 0; k < width; k++) {
        unsigned dg = (unsigned)(unsigned char)c->p[c->i + (size_t)k] - '0';
        if (dg > 9) {
            c->i += (size_t)k; /* point at the offending byte */
            return 0;
        }
        v = v * 10 + dg;
    }
    c->i += (size_t)width;
    *out = v;
    return 1;
}

/* Read between 1 and max_width digits. */
static int fc__digits_var(fc__cur *c, int max_width, unsigned *out) {
    unsigned v = 0;
    int k = 0;
    while (k < max_width && c->i < c->n) {
        unsigned dg = (unsigned)(unsigned char)c->p[c->i] - '0';
        if (dg > 9) {
            break;
        }
        v = v * 10 + dg;
        c->i++;
        k++;
    }
    *out = v;
    return k > 0;
}

static int fc__peek(const fc__cur *c) {
    return c->i < c->n ? (unsigned char)c->p[c->i] : -1;
}

/* Parse an offset "Z", "+03:00", "-0300", "+03" at the cursor into seconds
 * east of UTC. Returns 1 on success; on failure the cursor marks the spot. */
static int fc__offset(fc__cur *c, int32_t *off_s) {
    int ch = fc__peek(c);
    if (ch == 'Z' || ch == 'z') {
        c->i++;
        *off_s = 0;
        return 1;
    }
    if (ch != '+' && ch != '-') {
        return 0;
    }
    int neg = ch == '-';
    c->i++;
    unsigned hh, mm = 0;
    size_t at = c->i;
    if (!fc__digits(c, 2, &hh)) {
        return 0;
    }
    if (hh > 23) {
        c->i = at;
        return 0;
    }
    if (fc__peek(c) == ':') {
        c->i++;
    }
    if (fc__peek(c) >= '0' && fc__peek(c) <= '9') {
        at = c->i;
        if (!fc__digits(c, 2, &mm)) {
            return 0;
        }
        if (mm > 59) {
            c->i = at;
            return 0;
        }
    } else if (c->p[c->i - 1] == ':') {
        return 0;
    }
    int32_t v = (int32_t)(hh * 3600 + mm * 60);
    *off_s = neg ? -v : v;
    return 1;
}

static int fc__fail(fc_err *err, size_t at, const char *what, fc_str s) {
    char shown[64];
    fc_str_cpy(shown, sizeof shown, s);
    return fc_err_set(err, FC_EPARSE, NULL, 0, (long)at + 1, "%s in time '%s'", what, shown);
}

int fc_time_parse_iso(fc_str s, const fc_tz *tz, int64_t *out, fc_err *err) {
    fc__cur c = {s.p, s.n, 0};
    unsigned year, mon, day, hh = 0, mi = 0, ss = 0;
    if (s.n == 0) {
        return fc__fail(err, 0, "empty", s);
    }
    if (fc__peek(&c) == '-' || fc__peek(&c) == '+') {
        /* Expanded years are not used by any export; refuse them clearly. */
        return fc__fail(err, 0, "expected a four-digit year", s);
    }
    if (!fc__digits(&c, 4, &year)) {
        return fc__fail(err, c.i, "expected a four-digit year", s);
    }
    if (fc__peek(&c) != '-') {
        return fc__fail(err, c.i, "expected '-' after the year", s);
    }
    c.i++;
    size_t at_mon = c.i;
    if (!fc__digits(&c, 2, &mon)) {
        return fc__fail(err, c.i, "expected a two-digit month", s);
    }
    if (mon < 1 || mon > 12) {
        return fc__fail(err, at_mon, "month out of range", s);
    }
    if (fc__peek(&c) != '-') {
        return fc__fail(err, c.i, "expected '-' after the month", s);
    }
    c.i++;
    size_t at_day = c.i;
    if (!fc__digits(&c, 2, &day)) {
        return fc__fail(err, c.i, "expected a two-digit day", s);
    }
    if (day < 1 || day > fc__days_in_month(year, mon)) {
        return fc__fail(err, at_day, "day out of range for the month", s);
    }
    int has_offset = 0;
    int32_t off_s = 0;
    if (c.i < c.n) {
        int sep = fc__peek(&c);
        if (sep != 'T' && sep != 't' && sep != ' ') {
            return fc__fail(err, c.i, "expected 'T' or a space before the time", s);
        }
        c.i++;
        size_t at = c.i;
        if (!fc__digits(&c, 2, &hh)) {
            return fc__fail(err, c.i, "expected a two-digit hour", s);
        }
        if (hh > 23) {
            return fc__fail(err, at, "hour out of range", s);
        }
        if (fc__peek(&c) != ':') {
            return fc__fail(err, c.i, "expected ':' after the hour", s);
        }
        c.i++;
        at = c.i;
        if (!fc__digits(&c, 2, &mi)) {
            return fc__fail(err, c.i, "expected two-digit minutes", s);
        }
        if (mi > 59) {
            return fc__fail(err, at, "minutes out of range", s);
        }
        if (fc__peek(&c) == ':') {
            c.i++;
            at = c.i;
            if (!fc__digits(&c, 2, &ss)) {
                return fc__fail(err, c.i, "expected two-digit seconds", s);
            }
            if (ss > 59) {
                return fc__fail(err, at, "seconds out of range", s);
            }
            if (fc__peek(&c) == '.' || fc__peek(&c) == ',') {
                c.i++;
                size_t start = c.i;
                while (c.i < c.n && c.p[c.i] >= '0' && c.p[c.i] <= '9') {
                    c.i++;
                }
                if (c.i == start) {
                    return fc__fail(err, c.i, "expected digits after the decimal mark", s);
                }
            }
        }
        if (c.i < c.n) {
            size_t at_off = c.i;
            if (!fc__offset(&c, &off_s)) {
                int ch = s.p[at_off];
                if (ch == '+' || ch == '-' || ch == 'Z' || ch == 'z') {
                    return fc__fail(err, c.i, "bad UTC offset", s);
                }
                return fc__fail(err, at_off, "unexpected text after the time", s);
            }
            has_offset = 1;
            if (c.i < c.n) {
                return fc__fail(err, c.i, "unexpected text after the offset", s);
            }
        }
    }
    int64_t local = fc_days_from_civil(year, mon, day) * 86400 + hh * 3600 + mi * 60 + ss;
    if (has_offset) {
        *out = local - off_s;
    } else if (tz != NULL) {
        *out = fc_tz_to_utc(tz, local);
    } else {
        *out = local;
    }
    return FC_OK;
}

static const char *const fc__month_full[12] = {"january",   "february", "march",    "april",
                                               "may",       "june",     "july",     "august",
                                               "september", "october",  "november", "december"};

static int fc__lower(int ch) {
    return (ch >= 'A' && ch <= 'Z') ? ch + 32 : ch;
}

/* Month name at the cursor: full English name or its three-letter
 * abbreviation, any case. */
static int fc__month_name(fc__cur *c, unsigned *mon) {
    for (unsigned m = 0; m < 12; m++) {
        const char *full = fc__month_full[m];
        size_t len = strlen(full);
        size_t k = 0;
        while (k < len && c->i + k < c->n && fc__lower((unsigned char)c->p[c->i + k]) == full[k]) {
            k++;
        }
        if (k == len) {
            c->i += len;
            *mon = m + 1;
            return 1;
        }
        if (k >= 3) {
            c->i += 3; /* the abbreviation is the name's first three letters */
            *mon = m + 1;
            return 1;
        }
    }
    return 0;
}

int fc_time_parse_fmt(fc_str s, const char *fmt, const fc_tz *tz, int64_t *out, fc_err *err) {
    fc__cur c = {s.p, s.n, 0};
    unsigned year = 1970, mon = 1, day = 1, hh = 0, mi = 0, ss = 0, yday = 0;
    size_t at_day = 0; /* where the day (or day of the year) was read */
    int has_offset = 0;
    int32_t off_s = 0;
    for (const char *f = fmt; *f != '\0'; f++) {
        size_t at = c.i;
        if (*f != '%') {
            if (fc__peek(&c) != (unsigned char)*f) {
                char what[48];
                snprintf(what, sizeof what, "expected '%c'", *f);
                return fc__fail(err, at, what, s);
            }
            c.i++;
            continue;
        }
        f++;
        switch (*f) {
        case 'Y':
            if (!fc__digits(&c, 4, &year)) {
                return fc__fail(err, c.i, "expected a four-digit year", s);
            }
            break;
        case 'y':
            if (!fc__digits(&c, 2, &year)) {
                return fc__fail(err, c.i, "expected a two-digit year", s);
            }
            year += year < 69 ? 2000 : 1900;
            break;
        case 'm':
            if (!fc__digits_var(&c, 2, &mon)) {
                return fc__fail(err, c.i, "expected a month", s);
            }
            if (mon < 1 || mon > 12) {
                return fc__fail(err, at, "month out of range", s);
            }
            break;
        case 'b':
            if (!fc__month_name(&c, &mon)) {
                return fc__fail(err, c.i, "expected a month name", s);
            }
            break;
        case 'd':
            if (!fc__digits_var(&c, 2, &day)) {
                return fc__fail(err, c.i, "expected a day", s);
            }
            at_day = at;
            if (day < 1 || day > 31) {
                return fc__fail(err, at, "day out of range", s);
            }
            break;
        case 'j':
            if (!fc__digits_var(&c, 3, &yday)) {
                return fc__fail(err, c.i, "expected a day of the year", s);
            }
            at_day = at;
            if (yday < 1 || yday > 366) {
                return fc__fail(err, at, "day of the year out of range", s);
            }
            break;
        case 'H':
            if (!fc__digits_var(&c, 2, &hh)) {
                return fc__fail(err, c.i, "expected an hour", s);
            }
            if (hh > 23) {
                return fc__fail(err, at, "hour out of range", s);
            }
            break;
        case 'M':
            if (!fc__digits_var(&c, 2, &mi)) {
                return fc__fail(err, c.i, "expected minutes", s);
            }
            if (mi > 59) {
                return fc__fail(err, at, "minutes out of range", s);
            }
            break;
        case 'S':
            if (!fc__digits_var(&c, 2, &ss)) {
                return fc__fail(err, c.i, "expected seconds", s);
            }
            if (ss > 59) {
                return fc__fail(err, at, "seconds out of range", s);
            }
            break;
        case 'f': {
            /* Fractional digits, ignored. */
            size_t start = c.i;
            while (c.i < c.n && c.p[c.i] >= '0' && c.p[c.i] <= '9') {
                c.i++;
            }
            if (c.i == start) {
                return fc__fail(err, c.i, "expected fractional digits", s);
            }
            break;
        }
        case 'z':
            if (!fc__offset(&c, &off_s)) {
                return fc__fail(err, at, "bad UTC offset", s);
            }
            has_offset = 1;
            break;
        case '%':
            if (fc__peek(&c) != '%') {
                return fc__fail(err, at, "expected '%'", s);
            }
            c.i++;
            break;
        default:
            return fc_err_set(err, FC_EINVAL, NULL, 0, 0,
                              "unsupported time format directive '%%%c'", *f == '\0' ? '?' : *f);
        }
        if (*f == '\0') {
            break;
        }
    }
    if (c.i < c.n) {
        return fc__fail(err, c.i, "unexpected text after the time", s);
    }
    int64_t days;
    if (yday != 0) {
        if (yday > (fc__is_leap(year) ? 366u : 365u)) {
            return fc__fail(err, at_day, "day of the year out of range", s);
        }
        days = fc_days_from_civil(year, 1, 1) + yday - 1;
    } else {
        if (day > fc__days_in_month(year, mon)) {
            return fc__fail(err, at_day, "day out of range for the month", s);
        }
        days = fc_days_from_civil(year, mon, day);
    }
    int64_t local = days * 86400 + hh * 3600 + mi * 60 + ss;
    if (has_offset) {
        *out = local - off_s;
    } else if (tz != NULL) {
        *out = fc_tz_to_utc(tz, local);
    } else {
        *out = local;
    }
    return FC_OK;
}

/* Write "YYYY-MM-DDTHH:MM:SS" of a civil time in seconds. */
static void fc__format_civil(int64_t secs, char *buf, size_t bufsz, const char *suffix) {
    int64_t days = fc__floor_div(secs, 86400);
    int64_t sod = secs - days * 86400;
    int64_t y;
    unsigned m, d;
    fc_civil_from_days(days, &y, &m, &d);
    snprintf(buf, bufsz, "%04lld-%02u-%02uT%02u:%02u:%02u%s", (long long)y, m, d,
             (unsigned)(sod / 3600), (unsigned)(sod / 60 % 60), (unsigned)(sod % 60), suffix);
}

void fc_time_format_utc(int64_t t, char *buf, size_t bufsz) {
    if (buf == NULL || bufsz == 0) {
        return;
    }
    if (t == FC_TS_NONE) {
        buf[0] = '\0';
        return;
    }
    fc__format_civil(t, buf, bufsz, "Z");
}

void fc_time_format_local(const fc_tz *tz, int64_t t, char *buf, size_t bufsz) {
    if (buf == NULL || bufsz == 0) {
        return;
    }
    if (t == FC_TS_NONE) {
        buf[0] = '\0';
        return;
    }
    int32_t off = tz != NULL ? fc_tz_offset(tz, t) : 0;
    int32_t mag = off < 0 ? -off : off;
    char suffix[16];
    snprintf(suffix, sizeof suffix, "%c%02d:%02d", off < 0 ? '-' : '+', (int)(mag / 3600),
             (int)(mag / 60 % 60));
    fc__format_civil(t + off, buf, bufsz, suffix);
}
