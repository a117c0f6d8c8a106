/*
 * Time zones from the system's TZif files (RFC 8536), version 2+ 64-bit
 * data plus the POSIX TZ footer that governs instants after the last
 * transition.
 *
 * Layout for fast lookups: the transition instants are one sorted int64
 * array (binary search touches few cache lines) with a parallel array of
 * offsets. At load time the footer rule is expanded into explicit
 * transitions up to FC_TZ_EXPAND_UNTIL_YEAR, so ordinary lookups never
 * evaluate the rule; later instants evaluate it directly.
 */
#include "core/core.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define FC_TZ_EXPAND_UNTIL_YEAR 2100
#define FC_TZ_MAX_FILE          (1024 * 1024)

/* One end of a DST period in a POSIX TZ rule. */
typedef struct fc__tzdate {
    char kind;      /* 'J' (1..365, no Feb 29), 'N' (0..365), 'M' (month.week.day) */
    int n;          /* J/N: the day; M: unused */
    int month;      /* M: 1..12 */
    int week;       /* M: 1..5 (5 = last) */
    int wday;       /* M: 0 = Sunday */
    int32_t time_s; /* local time of day of the change, may be negative or > 24 h */
} fc__tzdate;

typedef struct fc__tzrule {
    int32_t std_off; /* seconds east of UTC */
    int32_t dst_off;
    int has_dst;
    fc__tzdate start, end;
} fc__tzrule;

struct fc_tz {
    char name[128];
    size_t count;      /* transitions */
    int64_t *at;       /* transition instants, ascending */
    int32_t *off;      /* offset in force from at[i] */
    int32_t off_first; /* offset before at[0] (or always, when count == 0) */
    int has_rule;      /* footer with DST: evaluate past the table */
    fc__tzrule rule;
};

/* ---------------------------------------------------------------------------
 * The POSIX TZ string ("GMT0BST,M3.5.0/1,M10.5.0", "<-03>3", "IST-5:30").
 */
typedef struct fc__ps {
    const char *p;
    size_t n, i;
} fc__ps;

static int fc__ps_peek(const fc__ps *s) {
    return s->i < s->n ? (unsigned char)s->p[s->i] : -1;
}

static int fc__ps_num(fc__ps *s, int maxv, int *out) {
    int v = 0, k = 0;
    while (s->i < s->n && s->p[s->i] >= '0' && s->p[s->i] <= '9') {
        v = v * 10 + (s->p[s->i] - '0');
        if (v > maxv) {
            return 0;
        }
        s->i++;
        k++;
    }
    *out = v;
    return k > 0;
}

static int fc__ps_name(fc__ps *s) {
    if (fc__ps_peek(s) == '<') {
        s->i++;
        while (s->i < s->n && s->p[s->i] != '>') {
            s->i++;
        }
        if (s->i >= s->n) {
            return 0;
        }
        s->i++;
        return 1;
    }
    size_t start = s->i;
    while (s->i < s->n &&
           ((s->p[s->i] >= 'A' && s->p[s->i] <= 'Z') || (s->p[s->i] >= 'a' && s->p[s->i] <= 'z'))) {
        s->i++;
    }
    return s->i - start >= 3;
}

/* [+-]hh[:mm[:ss]] in seconds; hours up to 167 (RFC 8536 extension). */
static int fc__ps_hms(fc__ps *s, int32_t *out) {
    int neg = 0;
    if (fc__ps_peek(s) == '+' || fc__ps_peek(s) == '-') {
        neg = fc__ps_peek(s) == '-';
        s->i++;
    }
    int h, m = 0, sec = 0;
    if (!fc__ps_num(s, 167, &h)) {
        return 0;
    }
    if (fc__ps_peek(s) == ':') {
        s->i++;
        if (!fc__ps_num(s, 59, &m)) {
            return 0;
        }
        if (fc__ps_peek(s) == ':') {
            s->i++;
            if (!fc__ps_num(s, 59, &sec)) {
                return 0;
            }
        }
    }
    int32_t v = (int32_t)(h * 3600 + m * 60 + sec);
    *out = neg ? -v : v;
    return 1;
}

static int fc__ps_date(fc__ps *s, fc__tzdate *d) {
    int ch = fc__ps_peek(s);
    if (ch == 'M') {
        s->i++;
        d->kind = 'M';
        if (!fc__ps_num(s, 12, &d->month) || d->month < 1 || fc__ps_peek(s) != '.') {
            return 0;
        }
        s->i++;
        if (!fc__ps_num(s, 5, &d->week) || d->week < 1 || fc__ps_peek(s) != '.') {
            return 0;
        }
        s->i++;
        if (!fc__ps_num(s, 6, &d->wday)) {
            return 0;
        }
    } else if (ch == 'J') {
        s->i++;
        d->kind = 'J';
        if (!fc__ps_num(s, 365, &d->n) || d->n < 1) {
            return 0;
        }
    } else {
        d->kind = 'N';
        if (!fc__ps_num(s, 365, &d->n)) {
            return 0;
        }
    }
    d->time_s = 2 * 3600;
    if (fc__ps_peek(s) == '/') {
        s->i++;
        if (!fc__ps_hms(s, &d->time_s)) {
            return 0;
        }
    }
    return 1;
}

/* Parse a footer. An empty footer gives has_rule = 0 and returns 1. */
static int fc__parse_rule(const char *p, size_t n, fc__tzrule *r, int *has_rule) {
    memset(r, 0, sizeof *r);
    *has_rule = 0;
    if (n == 0) {
        return 1;
    }
    fc__ps s = {p, n, 0};
    int32_t posix;
    if (!fc__ps_name(&s) || !fc__ps_hms(&s, &posix)) {
        return 0;
    }
    r->std_off = -posix; /* POSIX offsets count west of UTC */
    *has_rule = 1;
    if (s.i == s.n) {
        return 1;
    }
    if (!fc__ps_name(&s)) {
        return 0;
    }
    r->has_dst = 1;
    r->dst_off = r->std_off + 3600;
    int ch = fc__ps_peek(&s);
    if (ch != ',' && ch != -1) {
        if (!fc__ps_hms(&s, &posix)) {
            return 0;
        }
        r->dst_off = -posix;
    }
    if (fc__ps_peek(&s) == -1) {
        /* No rule given: POSIX leaves it implementation-defined; use the
         * US rule, like glibc. */
        r->start = (fc__tzdate){'M', 0, 3, 2, 0, 7200};
        r->end = (fc__tzdate){'M', 0, 11, 1, 0, 7200};
        return 1;
    }
    if (fc__ps_peek(&s) != ',') {
        return 0;
    }
    s.i++;
    if (!fc__ps_date(&s, &r->start) || fc__ps_peek(&s) != ',') {
        return 0;
    }
    s.i++;
    if (!fc__ps_date(&s, &r->end)) {
        return 0;
    }
    return s.i == s.n;
}

static int fc__leap(int64_t y) {
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days since 1970-01-01 of a rule date in year y. */
static int64_t fc__rule_day(const fc__tzdate *d, int64_t y) {
    int64_t jan1 = fc_days_from_civil(y, 1, 1);
    if (d->kind == 'J') {
        int64_t day = d->n - 1;
        if (fc__leap(y) && d->n >= 60) {
            day++;
        }
        return jan1 + day;
    }
    if (d->kind == 'N') {
        return jan1 + d->n;
    }
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int mdays = dim[d->month - 1] + (d->month == 2 && fc__leap(y) ? 1 : 0);
    int64_t first = fc_days_from_civil(y, (unsigned)d->month, 1);
    int wd_first = (int)(((first + 4) % 7 + 7) % 7); /* 0 = Sunday; 1970-01-01 was a Thursday */
    int mday = 1 + (d->wday - wd_first + 7) % 7 + 7 * (d->week - 1);
    while (mday > mdays) {
        mday -= 7;
    }
    return first + mday - 1;
}

/* UTC instants when DST starts and ends in year y. */
static void fc__rule_year(const fc__tzrule *r, int64_t y, int64_t *start, int64_t *end) {
    /* The start is given in standard local time, the end in DST local time. */
    *start = fc__rule_day(&r->start, y) * 86400 + r->start.time_s - r->std_off;
    *end = fc__rule_day(&r->end, y) * 86400 + r->end.time_s - r->dst_off;
}

static int64_t fc__year_of(int64_t t) {
    int64_t days = t / 86400 - (t % 86400 < 0 ? 1 : 0);
    int64_t y;
    unsigned m, d;
    fc_civil_from_days(days, &y, &m, &d);
    return y;
}

static int32_t fc__rule_offset(const fc__tzrule *r, int64_t t) {
    if (!r->has_dst) {
        return r->std_off;
    }
    int64_t y = fc__year_of(t);
    int64_t start, end;
    fc__rule_year(r, y, &start, &end);
    int in_dst;
    if (start < end) {
        in_dst = t >= start && t < end; /* northern hemisphere */
    } else {
        in_dst = !(t >= end && t < start); /* southern: DST spans the new year */
    }
    return in_dst ? r->dst_off : r->std_off;
}

/* ---------------------------------------------------------------------------
 * TZif parsing.
 */
static int64_t fc__be64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        v = (v << 8) | p[i];
    }
    return (int64_t)v;
}

static int32_t fc__be32(const unsigned char *p) {
    uint32_t v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    return (int32_t)v;
}

typedef struct fc__tzhead {
    uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
    int version;
} fc__tzhead;

static int fc__head(const unsigned char *p, size_t n, fc__tzhead *h) {
    if (n < 44 || memcmp(p, "TZif", 4) != 0) {
        return 0;
    }
    h->version = p[4] == 0 ? 1 : p[4] - '0';
    h->isutcnt = (uint32_t)fc__be32(p + 20);
    h->isstdcnt = (uint32_t)fc__be32(p + 24);
    h->leapcnt = (uint32_t)fc__be32(p + 28);
    h->timecnt = (uint32_t)fc__be32(p + 32);
    h->typecnt = (uint32_t)fc__be32(p + 36);
    h->charcnt = (uint32_t)fc__be32(p + 40);
    if (h->typecnt == 0 || h->typecnt > 256 || h->timecnt > 100000 || h->leapcnt > 10000 ||
        h->charcnt > 10000 || h->isutcnt > 256 || h->isstdcnt > 256) {
        return 0;
    }
    return 1;
}

static size_t fc__block_len(const fc__tzhead *h, size_t timesz) {
    return (size_t)h->timecnt * timesz + h->timecnt + (size_t)h->typecnt * 6 + h->charcnt +
           (size_t)h->leapcnt * (timesz + 4) + h->isstdcnt + h->isutcnt;
}

/* Append a transition, growing the arrays. */
static int fc__push(fc_tz *tz, size_t *cap, int64_t at, int32_t off) {
    if (tz->count == *cap) {
        size_t ncap = *cap ? *cap * 2 : 64;
        int64_t *nat = fc_realloc(tz->at, ncap * sizeof *nat);
        if (nat == NULL) {
            return FC_ENOMEM;
        }
        tz->at = nat;
        int32_t *noff = fc_realloc(tz->off, ncap * sizeof *noff);
        if (noff == NULL) {
            return FC_ENOMEM;
        }
        tz->off = noff;
        *cap = ncap;
    }
    tz->at[tz->count] = at;
    tz->off[tz->count] = off;
    tz->count++;
    return FC_OK;
}

static int fc__parse_tzif(fc_tz *tz, const unsigned char *p, size_t n, fc_err *err) {
    fc__tzhead h1, h;
    size_t cap = 0;
    if (!fc__head(p, n, &h1)) {
        goto bad;
    }
    const unsigned char *q = p + 44;
    size_t left = n - 44;
    size_t timesz = 4;
    if (h1.version >= 2) {
        size_t skip = fc__block_len(&h1, 4);
        if (skip > left) {
            goto bad;
        }
        q += skip;
        left -= skip;
        if (!fc__head(q, left, &h)) {
            goto bad;
        }
        q += 44;
        left -= 44;
        timesz = 8;
    } else {
        h = h1;
    }
    size_t need = fc__block_len(&h, timesz);
    if (need > left) {
        goto bad;
    }
    const unsigned char *times = q;
    const unsigned char *idx = times + (size_t)h.timecnt * timesz;
    const unsigned char *types = idx + h.timecnt;
    /* Offsets of the local time types. */
    int32_t type_off[256];
    for (uint32_t i = 0; i < h.typecnt; i++) {
        type_off[i] = fc__be32(types + 6 * (size_t)i);
        if (type_off[i] < -26 * 3600 || type_off[i] > 26 * 3600) {
            goto bad;
        }
    }
    tz->off_first = type_off[0];
    for (uint32_t i = 0; i < h.timecnt; i++) {
        int64_t at = timesz == 8 ? fc__be64(times + 8 * (size_t)i)
                                 : (int64_t)fc__be32(times + 4 * (size_t)i);
        unsigned ti = idx[i];
        if (ti >= h.typecnt || (tz->count > 0 && at <= tz->at[tz->count - 1])) {
            goto bad;
        }
        /* Drop transitions that do not change the offset (abbreviation or
         * isdst changes only): fewer entries, same answers. */
        int32_t prev = tz->count > 0 ? tz->off[tz->count - 1] : tz->off_first;
        if (type_off[ti] == prev) {
            continue;
        }
        if (fc__push(tz, &cap, at, type_off[ti]) != FC_OK) {
            return fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory loading time zone");
        }
    }
    q += need;
    left -= need;
    /* Footer: "\n<TZ string>\n" (version 2+). */
    int has_rule = 0;
    if (h1.version >= 2 && left >= 2 && q[0] == '\n') {
        const unsigned char *nl = memchr(q + 1, '\n', left - 1);
        if (nl == NULL) {
            goto bad;
        }
        if (!fc__parse_rule((const char *)q + 1, (size_t)(nl - q - 1), &tz->rule, &has_rule)) {
            return fc_err_set(err, FC_EPARSE, NULL, 0, 0,
                              "time zone '%s' has a TZ rule this reader does not understand",
                              tz->name);
        }
    }
    if (has_rule) {
        tz->has_rule = tz->rule.has_dst;
        if (!tz->rule.has_dst) {
            /* A fixed offset from the last transition on. */
            int32_t last = tz->count > 0 ? tz->off[tz->count - 1] : tz->off_first;
            if (last != tz->rule.std_off) {
                int64_t from = tz->count > 0 ? tz->at[tz->count - 1] + 1 : INT64_MIN;
                if (tz->count == 0) {
                    tz->off_first = tz->rule.std_off;
                } else if (fc__push(tz, &cap, from, tz->rule.std_off) != FC_OK) {
                    return fc_err_set(err, FC_ENOMEM, NULL, 0, 0,
                                      "out of memory loading time zone");
                }
            }
        } else {
            /* Expand the rule into explicit transitions. */
            int64_t last_at = tz->count > 0 ? tz->at[tz->count - 1] : -2208988800LL;
            for (int64_t y = fc__year_of(last_at); y <= FC_TZ_EXPAND_UNTIL_YEAR; y++) {
                int64_t start, end;
                fc__rule_year(&tz->rule, y, &start, &end);
                int64_t a1 = start < end ? start : end, a2 = start < end ? end : start;
                int32_t o1 = start < end ? tz->rule.dst_off : tz->rule.std_off;
                int32_t o2 = start < end ? tz->rule.std_off : tz->rule.dst_off;
                int64_t pair_at[2] = {a1, a2};
                int32_t pair_off[2] = {o1, o2};
                for (int k = 0; k < 2; k++) {
                    int64_t prev_at = tz->count > 0 ? tz->at[tz->count - 1] : INT64_MIN;
                    int32_t prev_off = tz->count > 0 ? tz->off[tz->count - 1] : tz->off_first;
                    if (pair_at[k] <= prev_at || pair_off[k] == prev_off) {
                        continue;
                    }
                    if (fc__push(tz, &cap, pair_at[k], pair_off[k]) != FC_OK) {
                        return fc_err_set(err, FC_ENOMEM, NULL, 0, 0,
                                          "out of memory loading time zone");
                    }
                }
            }
        }
    }
    return FC_OK;
bad:
    return fc_err_set(err, FC_EPARSE, NULL, 0, 0, "time zone file for '%s' is not valid TZif",
                      tz->name);
}

/* Only names made of IANA characters, no "..", not absolute. */
static int fc__tz_name_ok(const char *name) {
    size_t n = strlen(name);
    if (n == 0 || n >= 100 || name[0] == '/' || strstr(name, "..") != NULL) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '/' || c == '_' || c == '-' || c == '+')) {
            return 0;
        }
    }
    return 1;
}

int fc_tz_load(const char *name, fc_tz **out, fc_err *err) {
    int rc = FC_OK;
    FILE *f = NULL;
    unsigned char *buf = NULL;
    fc_tz *tz = NULL;
    *out = NULL;
    if (name == NULL || !fc__tz_name_ok(name)) {
        rc = fc_err_set(err, FC_ENOTFOUND, NULL, 0, 0, "unknown time zone '%s'",
                        name != NULL ? name : "");
        goto out;
    }
    tz = fc_calloc(1, sizeof *tz);
    if (tz == NULL) {
        rc = fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory loading time zone");
        goto out;
    }
    snprintf(tz->name, sizeof tz->name, "%s", name);
    const char *dir = getenv("TZDIR");
    if (dir == NULL || dir[0] == '\0') {
        dir = "/usr/share/zoneinfo";
    }
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "rb");
    if (f == NULL) {
        if (strcmp(name, "UTC") == 0 || strcmp(name, "Etc/UTC") == 0 || strcmp(name, "GMT") == 0) {
            /* UTC works without tzdata. */
            *out = tz;
            tz = NULL;
            goto out;
        }
        rc = fc_err_set(err, FC_ENOTFOUND, NULL, 0, 0, "unknown time zone '%s'", name);
        goto out;
    }
    buf = fc_malloc(FC_TZ_MAX_FILE);
    if (buf == NULL) {
        rc = fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory loading time zone");
        goto out;
    }
    size_t n = fread(buf, 1, FC_TZ_MAX_FILE, f);
    if (ferror(f) && errno != EISDIR) {
        rc = fc_err_set(err, FC_EIO, NULL, 0, 0, "cannot read the time zone file of '%s'", name);
        goto out;
    }
    if (n < 4 || memcmp(buf, "TZif", 4) != 0) {
        /* A directory ("Asia") or some other file. */
        rc = fc_err_set(err, FC_ENOTFOUND, NULL, 0, 0, "unknown time zone '%s'", name);
        goto out;
    }
    rc = fc__parse_tzif(tz, buf, n, err);
    if (rc != FC_OK) {
        goto out;
    }
    *out = tz;
    tz = NULL;
out:
    if (f != NULL) {
        fclose(f);
    }
    fc_free(buf);
    fc_tz_free(tz);
    return rc;
}

void fc_tz_free(fc_tz *tz) {
    if (tz == NULL) {
        return;
    }
    fc_free(tz->at);
    fc_free(tz->off);
    fc_free(tz);
}

const char *fc_tz_name(const fc_tz *tz) {
    return tz != NULL ? tz->name : "UTC";
}

int32_t fc_tz_offset(const fc_tz *tz, int64_t t) {
    if (tz == NULL) {
        return 0;
    }
    size_t n = tz->count;
    if (n == 0 || t < tz->at[0]) {
        return tz->off_first;
    }
    if (t >= tz->at[n - 1]) {
        if (tz->has_rule) {
            return fc__rule_offset(&tz->rule, t);
        }
        return tz->off[n - 1];
    }
    /* Largest i with at[i] <= t: branch-light binary search. */
    const int64_t *at = tz->at;
    size_t lo = 0, len = n;
    while (len > 1) {
        size_t half = len / 2;
        lo = at[lo + half] <= t ? lo + half : lo;
        len -= half;
    }
    return tz->off[lo];
}

int64_t fc_tz_to_utc(const fc_tz *tz, int64_t local_seconds) {
    if (tz == NULL) {
        return local_seconds;
    }
    /* Offsets a day before and after bracket any single transition (zones
     * never change twice within two days). */
    int32_t before = fc_tz_offset(tz, local_seconds - 86400);
    int32_t after = fc_tz_offset(tz, local_seconds + 86400);
    int64_t t_before = local_seconds - before;
    if (before == after) {
        return t_before;
    }
    int64_t t_after = local_seconds - after;
    int ok_before = fc_tz_offset(tz, t_before) == before;
    int ok_after = fc_tz_offset(tz, t_after) == after;
    if (ok_before && ok_after) {
        return t_before < t_after ? t_before : t_after; /* overlap: first occurrence */
    }
    if (ok_after) {
        return t_after;
    }
    return t_before; /* valid before the change, or in the gap */
}

fc_localtime fc_tz_local(const fc_tz *tz, int64_t t) {
    int64_t local = t + fc_tz_offset(tz, t);
    int64_t days = local / 86400;
    int64_t sod = local % 86400;
    if (sod < 0) {
        sod += 86400;
        days--;
    }
    fc_localtime lt;
    lt.date = (int32_t)days;
    lt.hour = (uint8_t)(sod / 3600);
    lt.minute = (uint8_t)(sod / 60 % 60);
    lt.weekday = (uint8_t)(((days + 3) % 7 + 7) % 7);
    return lt;
}
