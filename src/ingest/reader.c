/*
 * The reader: tells the kind of an input (JSON Lines, a reference CSV by its
 * exact header, the canonical orders CSV, or any CSV through a mapping) and
 * hands out one record per row.
 */
#include <string.h>

#include "ingest/reader_internal.h"

struct fc_reader {
    fc_input_kind kind;
    char source[256];
    const char *buf;
    size_t n;
    const fc_mapping *m;
    fc_mapping *own_m; /* the canonical preset, when detected */
    const fc_ref *ref;
    fc__csv csv;
    size_t ncols;
    fc_str *header; /* copies, owned through header_buf */
    char *header_buf;
    fc__binding *bind;
    fc__jsonl *jl;
    size_t pos;          /* JSON Lines: next byte */
    long line;           /* JSON Lines: line of buf[pos] */
    size_t data_start;   /* first byte after the header */
    long data_line;      /* line of data_start */
    fc_arena *arena;     /* reference rows: NUL-terminated copies */
    int merchant_has_ll; /* merchants file has lat,lng */
};

const char *fc_input_kind_name(fc_input_kind k) {
    switch (k) {
    case FC_INPUT_EVENTS:
        return "events";
    case FC_INPUT_ORDERS:
        return "orders";
    case FC_INPUT_CITIES:
        return "cities";
    case FC_INPUT_ZONES:
        return "zones";
    case FC_INPUT_MERCHANTS:
        return "merchants";
    case FC_INPUT_RIDERS:
        return "riders";
    }
    return "";
}

fc_input_kind fc_reader_kind(const fc_reader *r) {
    return r->kind;
}

void fc_reader_free(fc_reader *r) {
    if (r == NULL) {
        return;
    }
    fc__csv_free(&r->csv);
    fc__binding_free(r->bind);
    fc__jsonl_free(r->jl);
    fc_mapping_free(r->own_m);
    fc_free(r->header);
    fc_free(r->header_buf);
    fc_arena_free(r->arena);
    fc_free(r);
}

/* Keep a copy of the header (the tokenizer's views die with the next row). */
static int copy_header(fc_reader *r) {
    size_t total = 0;
    for (size_t i = 0; i < r->csv.nfields; i++) {
        total += r->csv.fields[i].n + 1;
    }
    r->ncols = r->csv.nfields;
    r->header = fc_calloc(r->ncols ? r->ncols : 1, sizeof *r->header);
    r->header_buf = fc_malloc(total + 1);
    if (r->header == NULL || r->header_buf == NULL) {
        return FC_ENOMEM;
    }
    char *d = r->header_buf;
    for (size_t i = 0; i < r->ncols; i++) {
        fc_str f = r->csv.fields[i];
        memcpy(d, f.p, f.n);
        d[f.n] = '\0';
        r->header[i] = fc_str_make(d, f.n);
        d += f.n + 1;
    }
    return FC_OK;
}

/* Does the header equal the comma-separated list `want`? */
static int header_is(const fc_reader *r, const char *want) {
    const char *p = want;
    for (size_t i = 0; i < r->ncols; i++) {
        size_t k = strcspn(p, ",");
        if (!fc_str_eq(fc_str_trim(r->header[i]), fc_str_make(p, k))) {
            return 0;
        }
        p += k;
        if (i + 1 < r->ncols) {
            if (*p != ',') {
                return 0;
            }
            p++;
        }
    }
    return *p == '\0';
}

int fc_reader_open(const char *source, const char *buf, size_t n, const fc_mapping *m,
                   const fc_ref *ref, fc_reader **out, fc_err *err) {
    fc_reader *r = fc_calloc(1, sizeof *r);
    size_t i = 0;
    int rc = FC_OK;

    *out = NULL;
    if (r == NULL) {
        return fc_err_set(err, FC_ENOMEM, source, 0, 0, "out of memory");
    }
    fc_str_cpy(r->source, sizeof r->source, fc_str_c(source));
    r->buf = buf;
    r->n = n;
    r->m = m;
    r->ref = ref;
    r->line = 1;
    if (n >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) {
        i = 3;
    }
    r->pos = i;
    while (i < n && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n')) {
        i++;
    }
    if (m == NULL && (i >= n || buf[i] == '{')) {
        r->kind = FC_INPUT_EVENTS;
        rc = fc__jsonl_new(&r->jl);
        if (rc != FC_OK) {
            rc = fc_err_set(err, rc, source, 0, 0, "out of memory");
            goto out;
        }
        r->data_start = r->pos;
        r->data_line = 1;
        goto out;
    }

    fc__csv_init(&r->csv, buf, n, m != NULL ? fc__mapping_delim(m) : ',');
    long hl;
    size_t hs, he;
    rc = fc__csv_row(&r->csv, r->source, &hl, &hs, &he, err);
    if (rc == 0) {
        rc = fc_err_set(err, FC_EPARSE, source, 1, 0, "no header row");
        goto out;
    }
    if (rc < 0) {
        goto out;
    }
    rc = copy_header(r);
    if (rc != FC_OK) {
        rc = fc_err_set(err, rc, source, 1, 0, "out of memory");
        goto out;
    }
    r->data_start = r->csv.pos;
    r->data_line = r->csv.line;

    if (m == NULL) {
        if (header_is(r, "country,city,tz,currency")) {
            r->kind = FC_INPUT_CITIES;
        } else if (header_is(r, "city,zone,kind")) {
            r->kind = FC_INPUT_ZONES;
        } else if (header_is(r, "merchant,city,zone,kind,brand,lat,lng")) {
            r->kind = FC_INPUT_MERCHANTS;
            r->merchant_has_ll = 1;
        } else if (header_is(r, "merchant,city,zone,kind,brand")) {
            r->kind = FC_INPUT_MERCHANTS;
        } else if (header_is(r, "rider,city,capacity,fleet,start_date")) {
            r->kind = FC_INPUT_RIDERS;
        } else if (header_is(r, fc__canonical_header())) {
            r->kind = FC_INPUT_ORDERS;
            rc = fc_mapping_load("fulcrum-orders", &r->own_m, err);
            if (rc != FC_OK) {
                goto out;
            }
            r->m = r->own_m;
        } else {
            char hdr[120];
            fc_str_cpy(hdr, sizeof hdr, fc_str_make(buf + hs, he - hs));
            rc = fc_err_set(err, FC_EPARSE, source, hl, 0,
                            "cannot tell what this file is: its header '%s' is neither a "
                            "reference layout (cities, zones, merchants, riders) nor the "
                            "canonical orders layout; pass --mapping FILE for an operations "
                            "export",
                            hdr);
            goto out;
        }
        if (r->kind != FC_INPUT_ORDERS) {
            r->arena = fc_arena_new(0);
            if (r->arena == NULL) {
                rc = fc_err_set(err, FC_ENOMEM, source, 0, 0, "out of memory");
                goto out;
            }
        }
    } else {
        r->kind = FC_INPUT_ORDERS;
    }
    if (r->kind == FC_INPUT_ORDERS) {
        rc = fc__mapping_bind(r->m, r->header, r->ncols, r->source, &r->bind, err);
        if (rc != FC_OK) {
            goto out;
        }
    }
out:
    if (rc != FC_OK) {
        fc_reader_free(r);
        return rc;
    }
    *out = r;
    return FC_OK;
}

int fc_reader_seek(fc_reader *r, int64_t offset, long line) {
    size_t off = offset < 0 ? 0 : (size_t)offset;
    (void)line; /* recounted below: a row may span lines */
    if (off < r->data_start) {
        off = r->data_start;
    }
    if (off > r->n) {
        return FC_EINVAL;
    }
    long nl = 1;
    const char *p = r->buf, *end = r->buf + off;
    while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        nl++;
        p++;
    }
    if (r->kind == FC_INPUT_EVENTS) {
        r->pos = off;
        r->line = nl;
    } else {
        r->csv.pos = off;
        r->csv.line = nl;
    }
    return FC_OK;
}

static int next_jsonl(fc_reader *r, fc_record *rec, fc_err *err) {
    for (;;) {
        if (r->pos >= r->n) {
            return 0;
        }
        const char *p = r->buf + r->pos;
        size_t left = r->n - r->pos;
        const char *nl = memchr(p, '\n', left);
        size_t len = nl != NULL ? (size_t)(nl - p) : left;
        size_t adv = nl != NULL ? len + 1 : len;
        long line = r->line;
        r->pos += adv;
        r->line++;
        if (len > 0 && p[len - 1] == '\r') {
            len--;
        }
        size_t k = 0;
        while (k < len && (p[k] == ' ' || p[k] == '\t')) {
            k++;
        }
        if (k == len) {
            continue; /* blank line */
        }
        rec->kind = FC_INPUT_EVENTS;
        rec->line = line;
        rec->offset_end = (int64_t)r->pos;
        rec->raw = fc_str_make(p, len);
        int rc = fc__jsonl_line(r->jl, p, len, r->source, line, rec, err);
        return rc == FC_OK ? 1 : rc;
    }
}

/* A reference field as a NUL-terminated copy in the row arena. */
static char *ent_str(fc_reader *r, fc_str s) {
    s = fc_str_trim(s);
    return fc_arena_strndup(r->arena, s.p != NULL ? s.p : "", s.n);
}

static int ref_err(fc_reader *r, fc_record *rec, fc_err *err, size_t col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int ref_err(fc_reader *r, fc_record *rec, fc_err *err, size_t col, const char *fmt, ...) {
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fc_err_set(err, FC_EINVAL, r->source, r->csv.field_line[col], (long)col + 1, "%s", msg);
    fc_err_field(err, r->header[col].p, r->header[col].n);
    (void)rec;
    return FC_EINVAL;
}

static int need(fc_reader *r, fc_record *rec, fc_err *err, size_t col) {
    if (fc_str_trim(r->csv.fields[col]).n == 0) {
        return ref_err(r, rec, err, col, "%.*s is empty", (int)r->header[col].n, r->header[col].p);
    }
    return FC_OK;
}

static int ref_row(fc_reader *r, fc_record *rec, fc_err *err) {
    const fc_str *f = r->csv.fields;
    int rc;
    fc_arena_reset(r->arena);
    memset(&rec->ent, 0, sizeof rec->ent);
    rec->order = fc_str_make("", 0);
    switch (r->kind) {
    case FC_INPUT_CITIES: {
        fc_city *c = &rec->ent.city;
        for (size_t i = 0; i < 4; i++) {
            if ((rc = need(r, rec, err, i)) != FC_OK) {
                return rc;
            }
        }
        fc_str cur = fc_str_trim(f[3]);
        char code[4] = "";
        if (cur.n == 3) {
            memcpy(code, cur.p, 3);
        }
        if (cur.n != 3 || fc_currency_decimals(code) < 0) {
            return ref_err(r, rec, err, 3, "bad currency '%.*s' (ISO 4217, e.g. SAR)",
                           (int)(cur.n > 20 ? 20 : cur.n), cur.p);
        }
        fc_str cc = fc_str_trim(f[0]);
        if (cc.n != 2 || cc.p[0] < 'A' || cc.p[0] > 'Z' || cc.p[1] < 'A' || cc.p[1] > 'Z') {
            return ref_err(r, rec, err, 0, "bad country '%.*s' (ISO 3166 alpha-2, e.g. SA)",
                           (int)(cc.n > 20 ? 20 : cc.n), cc.p);
        }
        c->country = ent_str(r, f[0]);
        c->city = ent_str(r, f[1]);
        c->tz_name = ent_str(r, f[2]);
        memcpy(c->currency, code, 4);
        c->tz = NULL;
        if (c->country == NULL || c->city == NULL || c->tz_name == NULL) {
            return FC_ENOMEM;
        }
        rec->id = fc_str_c(c->city);
        return FC_OK;
    }
    case FC_INPUT_ZONES: {
        fc_zone *z = &rec->ent.zone;
        for (size_t i = 0; i < 3; i++) {
            if ((rc = need(r, rec, err, i)) != FC_OK) {
                return rc;
            }
        }
        z->kind = fc_zone_kind_from(fc_str_trim(f[2]));
        if (z->kind == FC_ZONE_UNKNOWN) {
            return ref_err(r, rec, err, 2,
                           "unknown zone kind '%.*s' (business_district, residential, office, "
                           "mixed)",
                           (int)(f[2].n > 40 ? 40 : f[2].n), f[2].p);
        }
        z->city = ent_str(r, f[0]);
        z->zone = ent_str(r, f[1]);
        if (z->city == NULL || z->zone == NULL) {
            return FC_ENOMEM;
        }
        rec->id = fc_str_c(z->zone);
        return FC_OK;
    }
    case FC_INPUT_MERCHANTS: {
        fc_merchant *mc = &rec->ent.merchant;
        for (size_t i = 0; i < 4; i++) {
            if ((rc = need(r, rec, err, i)) != FC_OK) {
                return rc;
            }
        }
        mc->merchant = ent_str(r, f[0]);
        mc->city = ent_str(r, f[1]);
        mc->zone = ent_str(r, f[2]);
        mc->kind = ent_str(r, f[3]);
        mc->brand = ent_str(r, f[4]);
        mc->lat_e6 = mc->lng_e6 = FC_GEO_NONE;
        if (mc->merchant == NULL || mc->city == NULL || mc->zone == NULL || mc->kind == NULL ||
            mc->brand == NULL) {
            return FC_ENOMEM;
        }
        if (r->merchant_has_ll) {
            fc_str la = fc_str_trim(f[5]), lo = fc_str_trim(f[6]);
            if (la.n > 0 || lo.n > 0) {
                int latf = fc_event_field_find(fc_str_c("lat"));
                int lngf = fc_event_field_find(fc_str_c("lng"));
                if (fc__parse_deg_e6(la, &mc->lat_e6) != FC_OK ||
                    fc__field_range(FC_EV_NONE, latf, mc->lat_e6) != NULL) {
                    return ref_err(r, rec, err, 5, "bad latitude '%.*s'",
                                   (int)(la.n > 20 ? 20 : la.n), la.p);
                }
                if (fc__parse_deg_e6(lo, &mc->lng_e6) != FC_OK ||
                    fc__field_range(FC_EV_NONE, lngf, mc->lng_e6) != NULL) {
                    return ref_err(r, rec, err, 6, "bad longitude '%.*s'",
                                   (int)(lo.n > 20 ? 20 : lo.n), lo.p);
                }
            }
        }
        rec->id = fc_str_c(mc->merchant);
        return FC_OK;
    }
    case FC_INPUT_RIDERS: {
        fc_rider *rd = &rec->ent.rider;
        for (size_t i = 0; i < 3; i++) {
            if ((rc = need(r, rec, err, i)) != FC_OK) {
                return rc;
            }
        }
        rd->capacity = fc_capacity_from(fc_str_trim(f[2]));
        if (rd->capacity == FC_CAP_UNKNOWN) {
            return ref_err(r, rec, err, 2, "unknown capacity '%.*s' (full_time, part_time, crowd)",
                           (int)(f[2].n > 40 ? 40 : f[2].n), f[2].p);
        }
        rd->start_date = INT32_MIN;
        fc_str sd = fc_str_trim(f[4]);
        if (sd.n > 0) {
            int64_t t;
            char tmp[32];
            fc_err te;
            if (sd.n != 10) {
                return ref_err(r, rec, err, 4, "bad start_date '%.*s' (YYYY-MM-DD)",
                               (int)(sd.n > 20 ? 20 : sd.n), sd.p);
            }
            memcpy(tmp, sd.p, 10);
            memcpy(tmp + 10, "T00:00:00Z", 11);
            if (fc__time_iso(fc_str_make(tmp, 20), NULL, &t, &te) != FC_OK) {
                return ref_err(r, rec, err, 4, "bad start_date '%.*s' (YYYY-MM-DD)", (int)sd.n,
                               sd.p);
            }
            rd->start_date = (int32_t)(t / 86400);
        }
        rd->rider = ent_str(r, f[0]);
        rd->city = ent_str(r, f[1]);
        rd->fleet = ent_str(r, f[3]);
        if (rd->rider == NULL || rd->city == NULL || rd->fleet == NULL) {
            return FC_ENOMEM;
        }
        rec->id = fc_str_c(rd->rider);
        return FC_OK;
    }
    default:
        return FC_EINTERNAL;
    }
}

int fc_reader_next(fc_reader *r, fc_record *rec, fc_err *err) {
    long row_line = 0;
    size_t rs = 0, re = 0;
    int rc;

    rec->n_events = 0;
    rec->id = FC_STR_NULL;
    rec->order = FC_STR_NULL;
    if (r->kind == FC_INPUT_EVENTS) {
        return next_jsonl(r, rec, err);
    }
    rc = fc__csv_row(&r->csv, r->source, &row_line, &rs, &re, err);
    if (rc == 0) {
        return 0;
    }
    rec->kind = r->kind;
    rec->line = row_line;
    rec->offset_end = (int64_t)r->csv.pos;
    rec->raw = fc_str_make(r->buf + rs, re - rs);
    if (rc < 0) {
        /* The tokenizer knows the field's number; the header its name. */
        if (err != NULL && err->field[0] == '\0' && err->col >= 1 && (size_t)err->col <= r->ncols) {
            fc_err_field(err, r->header[err->col - 1].p, r->header[err->col - 1].n);
        }
        return rc;
    }
    if (r->csv.nfields != r->ncols) {
        size_t got = r->csv.nfields;
        int at_eof = r->csv.pos >= r->n && (re == r->n);
        long col = (long)(got < r->ncols ? got : r->ncols + 1);
        long line = r->csv.field_line[got < r->ncols ? got - 1 : r->ncols];
        return fc_err_set(err, FC_EPARSE, r->source, line, col, "%sexpected %zu fields, found %zu",
                          at_eof && got < r->ncols ? "truncated last row: " : "", r->ncols, got);
    }
    if (r->kind == FC_INPUT_ORDERS) {
        rc = fc__mapping_apply(r->bind, r->ref, r->csv.fields, r->csv.field_line, r->ncols,
                               r->source, rec, err);
    } else {
        rc = ref_row(r, rec, err);
        if (rc == FC_ENOMEM) {
            fc_err_set(err, rc, r->source, row_line, 0, "out of memory");
        }
    }
    return rc == FC_OK ? 1 : rc;
}
