/*
 * Column mappings: a YAML file that says how the rows of an operations
 * export become canonical events (docs/mapping.md is the user's reference).
 *
 * Loading resolves everything that can be resolved once: field names to
 * event field indices, column names to slots, formats, time zones, event
 * types and id templates. Binding a mapping to a CSV header turns slots into
 * column numbers. Applying a binding to a row converts each mapped value once
 * into a row-level event and copies the fields that belong to each event
 * type into the events the row expands to.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#include "ingest/reader_internal.h"

#ifndef FC_SOURCE_DIR
#define FC_SOURCE_DIR "."
#endif

enum { TF_INHERIT = 0, TF_ISO, TF_EPOCH, TF_EPOCH_MS, TF_STRF };
enum { SK_COLUMN = 0, SK_CONST, SK_DATE_CLOCK };
enum { TZ_INHERIT = 0, TZ_FIXED, TZ_CITY };
enum { COND_EQUALS = 0, COND_NOT_EQUALS, COND_PRESENT, COND_ABSENT };

typedef struct fc_strlist {
    char **v;
    uint32_t *len;
    size_t n;
    int set; /* given explicitly */
} fc_strlist;

/* Where a value comes from and how its text is read. */
typedef struct fc_spec {
    int kind;
    int slot, slot2; /* column slots: the column, or date and clock */
    char *value;     /* SK_CONST: the constant */
    int tfmt;        /* TF_*: how a time is written */
    char *fmt;       /* TF_STRF: the strptime-like format */
    int tzmode;      /* TZ_*: the zone of times without an offset */
    fc_tz *tz;       /* TZ_FIXED: owned */
    double scale;    /* multiplier to the field's unit, 0 = none */
    int money_minor; /* amounts already in minor units */
    fc_strlist absent;
    long line, col; /* position in the mapping file */
    /* Resolved once the whole mapping is loaded (resolve_mapping): */
    const fc_strlist *abs; /* the absent list in force: the spec's or the mapping's */
    int abs_empty;         /* absent means exactly "empty" (the usual case) */
    int tf_eff;            /* TF_*: the time format in force */
} fc_spec;

/* Where a converted value goes in an event, resolved from the field index. */
typedef struct fc_target {
    int field;       /* index in the event field table */
    int kind;        /* fc_event_field_kind */
    uint32_t offset; /* of the member in fc_event */
    int rcls;        /* FC__RC_* range class */
} fc_target;

typedef struct fc_fieldmap {
    int field; /* index in the event field table */
    fc_spec spec;
    fc_target tg; /* resolved from field */
} fc_fieldmap;

/* Most row-level fields an event type can carry. */
#define FC__MAX_COPY 64

typedef struct fc_cond {
    int slot;
    int op;
    fc_strlist vals;
} fc_cond;

typedef struct fc_evspec {
    fc_event_type type;
    fc_spec time;
    int has_cond;
    fc_cond cond;
    char *id_tmpl;                                    /* "{record}:{type}" */
    size_t id_fixed, id_records, id_orders, id_types; /* for the id buffer bound */
    fc_fieldmap *fields;
    size_t n_fields;
    uint64_t row_mask; /* row-level fields this type carries */
    /* Resolved once the whole mapping is loaded (resolve_mapping): */
    fc_target ts_tg;       /* the event's instant */
    const char *type_name; /* static */
    uint32_t type_len;
    int id_default; /* the template is "{record}:{type}" */
    int from_base;  /* the event starts as the row's base, else as the blank event */
    size_t n_copy;  /* then these fields come from the other one: offsets and sizes */
    uint16_t copy_off[FC__MAX_COPY];
    uint8_t copy_sz[FC__MAX_COPY];
} fc_evspec;

struct fc_mapping {
    char *name;
    char *path;
    char delim;
    int tfmt;
    char *fmt;
    int tzmode;
    fc_tz *tz;
    fc_strlist absent;
    fc_spec record_id, order;
    fc_fieldmap *fields;
    size_t n_fields;
    fc_evspec *events;
    size_t n_events;
    char **slots; /* column names */
    long *slot_line, *slot_col;
    size_t n_slots;
    int f_ts, f_score;           /* field indices used while applying */
    int f_promised, f_est_ready; /* field indices named by the time checks */
};

struct fc__binding {
    const fc_mapping *m;
    int *col;    /* slot -> column number (0-based) */
    char *idbuf; /* event ids of the current row */
    size_t idcap;
    const char *source;
    const fc_str *header;
    fc_event blank;       /* every field absent: what each event starts from */
    fc_event base;        /* the row-level fields of the current row */
    fc__date_cache dates; /* the last date of a fast-path time */
    int *spec_col;        /* column of each spec in visiting order, -1 when not a column */
    int wide;             /* the processor has 32-byte moves (AVX2) */
    char cur_code[8][4];  /* currency codes looked up, by a hash of the code ("" empty) */
    int cur_decimals[8];  /* and their decimals */
    /* Bytes of a row's event ids: id_fixed + id_per_record * record id
     * length + id_per_order * order id length, summed over the events. */
    size_t id_fixed, id_per_record, id_per_order;
};

/* ---------------------------------------------------------------------------
 * Loading.
 */
static int merr(fc_err *err, const fc_mapping *m, long line, long col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int merr(fc_err *err, const fc_mapping *m, long line, long col, const char *fmt, ...) {
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return fc_err_set(err, FC_EINVAL, m->path, line, col, "%s", msg);
}

static void strlist_free(fc_strlist *l) {
    for (size_t i = 0; i < l->n; i++) {
        fc_free(l->v[i]);
    }
    fc_free(l->v);
    fc_free(l->len);
    memset(l, 0, sizeof *l);
}

static void spec_free(fc_spec *s) {
    fc_free(s->value);
    fc_free(s->fmt);
    fc_tz_free(s->tz);
    strlist_free(&s->absent);
}

void fc_mapping_free(fc_mapping *m) {
    if (m == NULL) {
        return;
    }
    fc_free(m->name);
    fc_free(m->path);
    fc_free(m->fmt);
    fc_tz_free(m->tz);
    strlist_free(&m->absent);
    spec_free(&m->record_id);
    spec_free(&m->order);
    for (size_t i = 0; i < m->n_fields; i++) {
        spec_free(&m->fields[i].spec);
    }
    fc_free(m->fields);
    for (size_t i = 0; i < m->n_events; i++) {
        fc_evspec *e = &m->events[i];
        spec_free(&e->time);
        strlist_free(&e->cond.vals);
        fc_free(e->id_tmpl);
        for (size_t k = 0; k < e->n_fields; k++) {
            spec_free(&e->fields[k].spec);
        }
        fc_free(e->fields);
    }
    fc_free(m->events);
    for (size_t i = 0; i < m->n_slots; i++) {
        fc_free(m->slots[i]);
    }
    fc_free(m->slots);
    fc_free(m->slot_line);
    fc_free(m->slot_col);
    fc_free(m);
}

const char *fc_mapping_name(const fc_mapping *m) {
    return m != NULL ? m->name : "";
}

char fc__mapping_delim(const fc_mapping *m) {
    return m->delim;
}

const char *fc_mapping_dir(void) {
    const char *env = getenv("FULCRUM_MAPPINGS");
    if (env != NULL && env[0] != '\0') {
        return env;
    }
    return FC_SOURCE_DIR "/mappings";
}

/* Slot of a column name, added when new. */
static int slot_of(fc_mapping *m, const char *name, long line, long col, int *slot, fc_err *err) {
    for (size_t i = 0; i < m->n_slots; i++) {
        if (strcmp(m->slots[i], name) == 0) {
            *slot = (int)i;
            return FC_OK;
        }
    }
    size_t c1 = m->n_slots, c2 = m->n_slots, c3 = m->n_slots;
    if (fc_grow((void **)&m->slots, &c1, m->n_slots + 1, sizeof *m->slots) != FC_OK ||
        fc_grow((void **)&m->slot_line, &c2, m->n_slots + 1, sizeof *m->slot_line) != FC_OK ||
        fc_grow((void **)&m->slot_col, &c3, m->n_slots + 1, sizeof *m->slot_col) != FC_OK) {
        return fc_err_set(err, FC_ENOMEM, m->path, line, col, "out of memory");
    }
    m->slots[m->n_slots] = fc_strdup(name);
    if (m->slots[m->n_slots] == NULL) {
        return fc_err_set(err, FC_ENOMEM, m->path, line, col, "out of memory");
    }
    m->slot_line[m->n_slots] = line;
    m->slot_col[m->n_slots] = col;
    *slot = (int)m->n_slots++;
    return FC_OK;
}

static int need_scalar(const fc_mapping *m, const fc_yaml *y, const char *what, fc_err *err) {
    if (y == NULL || y->kind != FC_YAML_SCALAR) {
        return merr(err, m, y ? y->line : 0, y ? y->col : 0, "%s must be a single value", what);
    }
    return FC_OK;
}

/* A scalar or a list of scalars. */
static int parse_strlist(const fc_mapping *m, const fc_yaml *y, const char *what, fc_strlist *l,
                         fc_err *err) {
    size_t n = y->kind == FC_YAML_SCALAR ? 1 : y->len;
    strlist_free(l);
    if (y->kind == FC_YAML_MAP) {
        return merr(err, m, y->line, y->col, "%s must be a value or a list of values", what);
    }
    l->v = fc_calloc(n ? n : 1, sizeof *l->v);
    l->len = fc_calloc(n ? n : 1, sizeof *l->len);
    if (l->v == NULL || l->len == NULL) {
        return fc_err_set(err, FC_ENOMEM, m->path, y->line, y->col, "out of memory");
    }
    l->set = 1;
    for (size_t i = 0; i < n; i++) {
        const fc_yaml *it = y->kind == FC_YAML_SCALAR ? y : y->vals[i];
        if (it->kind != FC_YAML_SCALAR) {
            return merr(err, m, it->line, it->col, "%s: each entry must be a single value", what);
        }
        l->v[i] = fc_strdup(it->scalar);
        if (l->v[i] == NULL) {
            return fc_err_set(err, FC_ENOMEM, m->path, it->line, it->col, "out of memory");
        }
        l->len[i] = (uint32_t)strlen(it->scalar);
        l->n = i + 1;
    }
    return FC_OK;
}

/* "iso8601", "epoch", "epoch_ms" or a strptime-like format. */
static int parse_tfmt(const fc_mapping *m, const fc_yaml *y, int *tfmt, char **fmt, fc_err *err) {
    int rc = need_scalar(m, y, "format", err);
    if (rc != FC_OK) {
        return rc;
    }
    const char *s = y->scalar;
    if (strcmp(s, "iso8601") == 0 || strcmp(s, "iso") == 0) {
        *tfmt = TF_ISO;
        return FC_OK;
    }
    if (strcmp(s, "epoch") == 0 || strcmp(s, "epoch_s") == 0) {
        *tfmt = TF_EPOCH;
        return FC_OK;
    }
    if (strcmp(s, "epoch_ms") == 0) {
        *tfmt = TF_EPOCH_MS;
        return FC_OK;
    }
    int conversions = 0;
    for (const char *p = s; *p; p++) {
        if (*p != '%') {
            continue;
        }
        p++;
        if (*p == '\0' || strchr("YmdHMSybjfz%", *p) == NULL) {
            return merr(err, m, y->line, y->col + (long)(p - s),
                        "bad time format '%s': unknown conversion '%%%c' (use %%Y %%m %%d %%H "
                        "%%M %%S %%f %%z %%y %%b %%j %%%%, or iso8601, epoch, epoch_ms)",
                        s, *p ? *p : ' ');
        }
        conversions += *p != '%' && *p != 'f' && *p != 'z';
    }
    if (conversions == 0) {
        return merr(err, m, y->line, y->col,
                    "bad time format '%s': expected iso8601, epoch, epoch_ms or a format with "
                    "%%Y, %%m, %%d, ...",
                    s);
    }
    fc_free(*fmt);
    *fmt = fc_strdup(s);
    if (*fmt == NULL) {
        return fc_err_set(err, FC_ENOMEM, m->path, y->line, y->col, "out of memory");
    }
    *tfmt = TF_STRF;
    return FC_OK;
}

/* An IANA zone name, or "city" for the zone of the row's city. */
static int parse_tz(const fc_mapping *m, const fc_yaml *y, int *mode, fc_tz **tz, fc_err *err) {
    int rc = need_scalar(m, y, "timezone", err);
    if (rc != FC_OK) {
        return rc;
    }
    if (strcmp(y->scalar, "city") == 0) {
        *mode = TZ_CITY;
        return FC_OK;
    }
    fc_err tmp;
    fc_err_clear(&tmp);
    if (fc_tz_load(y->scalar, tz, &tmp) != FC_OK) {
        return merr(err, m, y->line, y->col,
                    "bad time zone '%s': not an IANA zone name (or 'city' for the zone of "
                    "the row's city)",
                    y->scalar);
    }
    *mode = TZ_FIXED;
    return FC_OK;
}

/* A value spec: a column name, or a map of options. */
static int parse_spec(fc_mapping *m, const fc_yaml *y, fc_spec *s, fc_err *err) {
    int rc;
    memset(s, 0, sizeof *s);
    s->line = y->line;
    s->col = y->col;
    if (y->kind == FC_YAML_SCALAR) {
        s->kind = SK_COLUMN;
        if (y->scalar[0] == '\0') {
            return merr(err, m, y->line, y->col, "empty column name");
        }
        return slot_of(m, y->scalar, y->line, y->col, &s->slot, err);
    }
    if (y->kind != FC_YAML_MAP) {
        return merr(err, m, y->line, y->col, "expected a column name or a map of options");
    }
    int have = 0;
    const fc_yaml *date = NULL, *clock = NULL;
    for (size_t i = 0; i < y->len; i++) {
        const char *k = y->keys[i];
        const fc_yaml *v = y->vals[i];
        long kl = y->key_lines[i], kc = y->key_cols[i];
        if (strcmp(k, "column") == 0) {
            if ((rc = need_scalar(m, v, "column", err)) != FC_OK) {
                return rc;
            }
            s->kind = SK_COLUMN;
            have++;
            if ((rc = slot_of(m, v->scalar, v->line, v->col, &s->slot, err)) != FC_OK) {
                return rc;
            }
        } else if (strcmp(k, "value") == 0) {
            if ((rc = need_scalar(m, v, "value", err)) != FC_OK) {
                return rc;
            }
            s->kind = SK_CONST;
            have++;
            s->value = fc_strdup(v->scalar);
            if (s->value == NULL) {
                return fc_err_set(err, FC_ENOMEM, m->path, kl, kc, "out of memory");
            }
        } else if (strcmp(k, "date") == 0) {
            if ((rc = need_scalar(m, v, "date", err)) != FC_OK) {
                return rc;
            }
            date = v;
        } else if (strcmp(k, "clock") == 0) {
            if ((rc = need_scalar(m, v, "clock", err)) != FC_OK) {
                return rc;
            }
            clock = v;
        } else if (strcmp(k, "format") == 0) {
            if ((rc = parse_tfmt(m, v, &s->tfmt, &s->fmt, err)) != FC_OK) {
                return rc;
            }
        } else if (strcmp(k, "timezone") == 0) {
            if ((rc = parse_tz(m, v, &s->tzmode, &s->tz, err)) != FC_OK) {
                return rc;
            }
        } else if (strcmp(k, "absent") == 0) {
            if ((rc = parse_strlist(m, v, "absent", &s->absent, err)) != FC_OK) {
                return rc;
            }
        } else if (strcmp(k, "scale") == 0) {
            double d;
            if ((rc = need_scalar(m, v, "scale", err)) != FC_OK) {
                return rc;
            }
            if (fc_parse_f64(fc_str_c(v->scalar), &d) != FC_OK || !(d > 0)) {
                return merr(err, m, v->line, v->col, "scale must be a positive number, not '%s'",
                            v->scalar);
            }
            s->scale = d;
        } else if (strcmp(k, "unit") == 0) {
            if ((rc = need_scalar(m, v, "unit", err)) != FC_OK) {
                return rc;
            }
            if (strcmp(v->scalar, "minor") == 0) {
                s->money_minor = 1;
            } else if (strcmp(v->scalar, "major") == 0) {
                s->money_minor = 0;
            } else {
                return merr(err, m, v->line, v->col,
                            "unit must be 'major' or 'minor' (money), not '%s'", v->scalar);
            }
        } else {
            return merr(err, m, kl, kc,
                        "unknown option '%s' (expected column, value, date, clock, format, "
                        "timezone, absent, scale or unit)",
                        k);
        }
    }
    if (date != NULL || clock != NULL) {
        if (date == NULL || clock == NULL || have != 0) {
            return merr(err, m, y->line, y->col,
                        "date and clock go together, without column or value");
        }
        s->kind = SK_DATE_CLOCK;
        if ((rc = slot_of(m, date->scalar, date->line, date->col, &s->slot, err)) != FC_OK ||
            (rc = slot_of(m, clock->scalar, clock->line, clock->col, &s->slot2, err)) != FC_OK) {
            return rc;
        }
        return FC_OK;
    }
    if (have != 1) {
        return merr(err, m, y->line, y->col, "give exactly one of column, value or date+clock");
    }
    return FC_OK;
}

/* Field name (a key) to field index; "id", "ts", "order" are not fields a
 * mapping sets this way. */
static int field_of(const fc_mapping *m, const char *name, long line, long col, int *field,
                    fc_err *err) {
    int f = fc_event_field_find(fc_str_c(name));
    if (f < 0 || strcmp(name, "id") == 0 || strcmp(name, "ts") == 0 || strcmp(name, "order") == 0) {
        return merr(err, m, line, col,
                    "unknown field '%s' (see docs/mapping.md for the event fields; the record "
                    "id, order and event times have their own keys)",
                    name);
    }
    *field = f;
    return FC_OK;
}

static int parse_fields(fc_mapping *m, const fc_yaml *y, fc_fieldmap **out, size_t *n,
                        fc_err *err) {
    int rc;
    if (y->kind != FC_YAML_MAP) {
        return merr(err, m, y->line, y->col, "fields must be a map of field: column");
    }
    *out = fc_calloc(y->len ? y->len : 1, sizeof **out);
    if (*out == NULL) {
        return fc_err_set(err, FC_ENOMEM, m->path, y->line, y->col, "out of memory");
    }
    /* String fields first: city and currency are read before the times and
     * amounts that depend on them. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < y->len; i++) {
            int f = -1;
            if ((rc = field_of(m, y->keys[i], y->key_lines[i], y->key_cols[i], &f, err)) != FC_OK) {
                return rc;
            }
            int is_str = fc_event_field_at((size_t)f)->kind == FC_EF_STR;
            if (is_str != (pass == 0)) {
                continue;
            }
            for (size_t k = 0; k < *n; k++) {
                if ((*out)[k].field == f) {
                    return merr(err, m, y->key_lines[i], y->key_cols[i],
                                "field '%s' is mapped twice", y->keys[i]);
                }
            }
            (*out)[*n].field = f;
            (*n)++;
            if ((rc = parse_spec(m, y->vals[i], &(*out)[*n - 1].spec, err)) != FC_OK) {
                return rc;
            }
        }
    }
    return FC_OK;
}

/* The row-level fields each event type carries (the rest only when the
 * event itself maps them). */
static uint64_t type_mask(fc_event_type t) {
    static const char *const created[] = {"zone",
                                          "merchant",
                                          "customer",
                                          "category",
                                          "prebook",
                                          "promised_at",
                                          "est_ready_at",
                                          "customer_lat",
                                          "customer_lng",
                                          "merchant_lat",
                                          "merchant_lng",
                                          "distance_m",
                                          "promise_prep_s",
                                          "promise_travel_s",
                                          "amount",
                                          "currency",
                                          NULL};
    static const char *const dispatch[] = {"rider", "reason", NULL};
    static const char *const rider[] = {"rider", NULL};
    static const char *const door[] = {"rider", "channel", "outcome", "proof", NULL};
    static const char *const delivered[] = {"rider", "channel",  "outcome", "proof",
                                            "cost",  "currency", NULL};
    static const char *const closed[] = {"by", "reason", "cost", "currency", NULL};
    static const char *const feedback[] = {"by",       "category", "score",  "amount",
                                           "currency", "channel",  "reason", NULL};
    static const char *const weather[] = {"zone", "severity", "from", "to", NULL};
    static const char *const survey[] = {"rider", "customer", "score", NULL};
    const char *const *names = NULL;
    switch (t) {
    case FC_EV_ORDER_CREATED:
        names = created;
        break;
    case FC_EV_ORDER_PUSHED:
    case FC_EV_ORDER_ASSIGNED:
    case FC_EV_ORDER_REFUSED:
    case FC_EV_ORDER_ACCEPTED:
    case FC_EV_ORDER_REASSIGNED:
        names = dispatch;
        break;
    case FC_EV_RIDER_ARRIVED_MERCHANT:
    case FC_EV_ORDER_READY:
    case FC_EV_ORDER_PICKED_UP:
    case FC_EV_GPS:
    case FC_EV_SHIFT_STARTED:
    case FC_EV_SHIFT_ENDED:
        names = rider;
        break;
    case FC_EV_RIDER_ARRIVED_CUSTOMER:
    case FC_EV_CONTACT_ATTEMPT:
        names = door;
        break;
    case FC_EV_ORDER_DELIVERED:
        names = delivered;
        break;
    case FC_EV_ORDER_CANCELLED:
    case FC_EV_ORDER_UNDELIVERABLE:
    case FC_EV_ORDER_RETURNED:
        names = closed;
        break;
    case FC_EV_COMPLAINT:
    case FC_EV_RATING:
    case FC_EV_COMPENSATION:
    case FC_EV_CS_CONTACT:
        names = feedback;
        break;
    case FC_EV_WEATHER:
        names = weather;
        break;
    case FC_EV_SURVEY_RESPONSE:
        names = survey;
        break;
    default:
        break;
    }
    uint64_t mask = 1ull << fc_event_field_find(fc_str_c("city"));
    for (size_t i = 0; names != NULL && names[i] != NULL; i++) {
        int f = fc_event_field_find(fc_str_c(names[i]));
        if (f >= 0) {
            mask |= 1ull << f;
        }
    }
    return mask;
}

/* Check an id template and count its placeholders. */
static int parse_id_tmpl(const fc_mapping *m, const fc_yaml *y, fc_evspec *e, fc_err *err) {
    const char *s = y->scalar;
    e->id_fixed = e->id_records = e->id_orders = e->id_types = 0;
    for (const char *p = s; *p;) {
        if (*p == '{') {
            const char *q = strchr(p, '}');
            size_t n = q ? (size_t)(q - p - 1) : 0;
            if (q != NULL && n == 6 && memcmp(p + 1, "record", 6) == 0) {
                e->id_records++;
            } else if (q != NULL && n == 5 && memcmp(p + 1, "order", 5) == 0) {
                e->id_orders++;
            } else if (q != NULL && n == 4 && memcmp(p + 1, "type", 4) == 0) {
                e->id_types++;
            } else {
                return merr(err, m, y->line, y->col + (long)(p - s),
                            "bad id template '%s': use {record}, {order} and {type}", s);
            }
            p = q + 1;
        } else {
            e->id_fixed++;
            p++;
        }
    }
    if (e->id_records + e->id_orders == 0) {
        return merr(err, m, y->line, y->col,
                    "id template '%s' must contain {record} or {order} to be unique", s);
    }
    fc_free(e->id_tmpl);
    e->id_tmpl = fc_strdup(s);
    return e->id_tmpl ? FC_OK : fc_err_set(err, FC_ENOMEM, m->path, y->line, y->col, "no memory");
}

static int parse_cond(fc_mapping *m, const fc_yaml *y, fc_cond *c, fc_err *err) {
    int rc, have_col = 0, have_op = 0;
    if (y->kind != FC_YAML_MAP) {
        return merr(err, m, y->line, y->col,
                    "when must be a map: {column: NAME, equals: VALUE} (or not_equals, "
                    "present, absent)");
    }
    for (size_t i = 0; i < y->len; i++) {
        const char *k = y->keys[i];
        const fc_yaml *v = y->vals[i];
        if (strcmp(k, "column") == 0) {
            if ((rc = need_scalar(m, v, "column", err)) != FC_OK ||
                (rc = slot_of(m, v->scalar, v->line, v->col, &c->slot, err)) != FC_OK) {
                return rc;
            }
            have_col = 1;
        } else if (strcmp(k, "equals") == 0 || strcmp(k, "not_equals") == 0) {
            c->op = k[0] == 'e' ? COND_EQUALS : COND_NOT_EQUALS;
            if ((rc = parse_strlist(m, v, k, &c->vals, err)) != FC_OK) {
                return rc;
            }
            have_op++;
        } else if (strcmp(k, "present") == 0 || strcmp(k, "absent") == 0) {
            if ((rc = need_scalar(m, v, k, err)) != FC_OK) {
                return rc;
            }
            if (strcmp(v->scalar, "true") != 0) {
                return merr(err, m, v->line, v->col, "%s takes the value true", k);
            }
            c->op = k[0] == 'p' ? COND_PRESENT : COND_ABSENT;
            have_op++;
        } else {
            return merr(err, m, y->key_lines[i], y->key_cols[i],
                        "unknown condition '%s' (expected column, equals, not_equals, present, "
                        "absent)",
                        k);
        }
    }
    if (!have_col || have_op != 1) {
        return merr(err, m, y->line, y->col,
                    "when needs a column and exactly one of equals, not_equals, present, "
                    "absent");
    }
    return FC_OK;
}

static int parse_event(fc_mapping *m, const fc_yaml *y, fc_evspec *e, fc_err *err) {
    int rc;
    const fc_yaml *type = NULL, *time = NULL;
    if (y->kind != FC_YAML_MAP) {
        return merr(err, m, y->line, y->col, "each event must be a map with type and time");
    }
    for (size_t i = 0; i < y->len; i++) {
        const char *k = y->keys[i];
        const fc_yaml *v = y->vals[i];
        if (strcmp(k, "type") == 0) {
            type = v;
        } else if (strcmp(k, "time") == 0) {
            time = v;
        } else if (strcmp(k, "when") == 0) {
            e->has_cond = 1;
            if ((rc = parse_cond(m, v, &e->cond, err)) != FC_OK) {
                return rc;
            }
        } else if (strcmp(k, "id") == 0) {
            if ((rc = need_scalar(m, v, "id", err)) != FC_OK ||
                (rc = parse_id_tmpl(m, v, e, err)) != FC_OK) {
                return rc;
            }
        } else if (strcmp(k, "fields") == 0) {
            if ((rc = parse_fields(m, v, &e->fields, &e->n_fields, err)) != FC_OK) {
                return rc;
            }
        } else {
            return merr(err, m, y->key_lines[i], y->key_cols[i],
                        "unknown event option '%s' (expected type, time, when, id, fields)", k);
        }
    }
    if (type == NULL || time == NULL) {
        return merr(err, m, y->line, y->col, "an event needs a type and a time");
    }
    if ((rc = need_scalar(m, type, "type", err)) != FC_OK) {
        return rc;
    }
    e->type = fc_event_type_from(fc_str_c(type->scalar));
    if (e->type == FC_EV_NONE) {
        return merr(err, m, type->line, type->col, "unknown event type '%s'", type->scalar);
    }
    if (!fc_event_type_has_order(e->type)) {
        return merr(err, m, type->line, type->col,
                    "event type '%s' has no order; a row of an orders export cannot make it",
                    type->scalar);
    }
    if ((rc = parse_spec(m, time, &e->time, err)) != FC_OK) {
        return rc;
    }
    if (e->id_tmpl == NULL) {
        e->id_tmpl = fc_strdup("{record}:{type}");
        if (e->id_tmpl == NULL) {
            return fc_err_set(err, FC_ENOMEM, m->path, y->line, y->col, "out of memory");
        }
        e->id_fixed = 1;
        e->id_records = 1;
        e->id_types = 1;
    }
    e->row_mask = type_mask(e->type);
    return FC_OK;
}

static int mapping_from_yaml(fc_mapping *m, const fc_yaml *root, fc_err *err) {
    int rc;
    const fc_yaml *rid = NULL, *ord = NULL, *evs = NULL;
    if (root == NULL || root->kind != FC_YAML_MAP) {
        return merr(err, m, root ? root->line : 1, root ? root->col : 1,
                    "a mapping is a YAML map (record_id, order, fields, events, ...)");
    }
    for (size_t i = 0; i < root->len; i++) {
        const char *k = root->keys[i];
        const fc_yaml *v = root->vals[i];
        if (strcmp(k, "name") == 0) {
            if ((rc = need_scalar(m, v, "name", err)) != FC_OK) {
                return rc;
            }
            fc_free(m->name);
            m->name = fc_strdup(v->scalar);
            if (m->name == NULL) {
                return fc_err_set(err, FC_ENOMEM, m->path, v->line, v->col, "out of memory");
            }
        } else if (strcmp(k, "description") == 0) {
            /* for people */
        } else if (strcmp(k, "delimiter") == 0) {
            if ((rc = need_scalar(m, v, "delimiter", err)) != FC_OK) {
                return rc;
            }
            const char *d = v->scalar;
            if (strcmp(d, "\\t") == 0 || strcmp(d, "tab") == 0) {
                m->delim = '\t';
            } else if (strlen(d) == 1 && d[0] != '"' && d[0] != '\n' && d[0] != '\r') {
                m->delim = d[0];
            } else {
                return merr(err, m, v->line, v->col,
                            "delimiter must be one character (or \\t), not '%s'", d);
            }
        } else if (strcmp(k, "timezone") == 0) {
            if ((rc = parse_tz(m, v, &m->tzmode, &m->tz, err)) != FC_OK) {
                return rc;
            }
        } else if (strcmp(k, "time_format") == 0) {
            if ((rc = parse_tfmt(m, v, &m->tfmt, &m->fmt, err)) != FC_OK) {
                return rc;
            }
        } else if (strcmp(k, "absent") == 0) {
            if ((rc = parse_strlist(m, v, "absent", &m->absent, err)) != FC_OK) {
                return rc;
            }
        } else if (strcmp(k, "record_id") == 0) {
            rid = v;
        } else if (strcmp(k, "order") == 0) {
            ord = v;
        } else if (strcmp(k, "fields") == 0) {
            if ((rc = parse_fields(m, v, &m->fields, &m->n_fields, err)) != FC_OK) {
                return rc;
            }
        } else if (strcmp(k, "events") == 0) {
            evs = v;
        } else {
            return merr(err, m, root->key_lines[i], root->key_cols[i],
                        "unknown key '%s' (expected name, description, delimiter, timezone, "
                        "time_format, absent, record_id, order, fields, events)",
                        k);
        }
    }
    if (rid == NULL || ord == NULL || evs == NULL) {
        return merr(err, m, root->line, root->col, "a mapping needs %s",
                    rid == NULL   ? "record_id (the column that identifies a row)"
                    : ord == NULL ? "order (the order id column)"
                                  : "events (what each row expands to)");
    }
    if ((rc = parse_spec(m, rid, &m->record_id, err)) != FC_OK ||
        (rc = parse_spec(m, ord, &m->order, err)) != FC_OK) {
        return rc;
    }
    if (m->record_id.kind != SK_COLUMN || m->order.kind != SK_COLUMN) {
        const fc_spec *bad = m->record_id.kind != SK_COLUMN ? &m->record_id : &m->order;
        return merr(err, m, bad->line, bad->col, "record_id and order must each name a column");
    }
    if (evs->kind != FC_YAML_SEQ || evs->len == 0) {
        return merr(err, m, evs->line, evs->col, "events must be a non-empty list");
    }
    if (evs->len > FC_RECORD_MAX_EVENTS) {
        return merr(err, m, evs->line, evs->col, "at most %d events per row", FC_RECORD_MAX_EVENTS);
    }
    m->events = fc_calloc(evs->len, sizeof *m->events);
    if (m->events == NULL) {
        return fc_err_set(err, FC_ENOMEM, m->path, evs->line, evs->col, "out of memory");
    }
    for (size_t i = 0; i < evs->len; i++) {
        m->n_events = i + 1;
        if ((rc = parse_event(m, evs->vals[i], &m->events[i], err)) != FC_OK) {
            return rc;
        }
    }
    return FC_OK;
}

/* Everything the row loop would otherwise look up per value: the absent
 * list in force, where each field lives in fc_event and its range class,
 * the row-level fields each event copies, its type name and id shape. */
static void resolve_spec(const fc_mapping *m, fc_spec *sp) {
    sp->abs = sp->absent.set ? &sp->absent : &m->absent;
    sp->abs_empty = !sp->abs->set || (sp->abs->n == 1 && sp->abs->len[0] == 0);
    sp->tf_eff = sp->tfmt != TF_INHERIT ? sp->tfmt : m->tfmt;
}

static void resolve_target(fc_target *tg, int field) {
    const fc_event_field *fd = fc_event_field_at((size_t)field);
    tg->field = field;
    tg->kind = (int)fd->kind;
    tg->offset = (uint32_t)fd->offset;
    tg->rcls = fc__field_range_class(field);
}

static size_t kind_size(int kind) {
    return kind == FC_EF_STR                             ? sizeof(fc_str)
           : (kind == FC_EF_TIME || kind == FC_EF_MONEY) ? sizeof(int64_t)
                                                         : sizeof(int32_t);
}

static void resolve_mapping(fc_mapping *m) {
    uint64_t mapped = 0; /* the row-level fields */
    resolve_spec(m, &m->record_id);
    resolve_spec(m, &m->order);
    for (size_t i = 0; i < m->n_fields; i++) {
        resolve_spec(m, &m->fields[i].spec);
        resolve_target(&m->fields[i].tg, m->fields[i].field);
        mapped |= 1ull << m->fields[i].field;
    }
    for (size_t i = 0; i < m->n_events; i++) {
        fc_evspec *e = &m->events[i];
        resolve_spec(m, &e->time);
        resolve_target(&e->ts_tg, m->f_ts);
        for (size_t k = 0; k < e->n_fields; k++) {
            resolve_spec(m, &e->fields[k].spec);
            resolve_target(&e->fields[k].tg, e->fields[k].field);
        }
        e->type_name = fc_event_type_name(e->type);
        e->type_len = (uint32_t)strlen(e->type_name);
        e->id_default = strcmp(e->id_tmpl, "{record}:{type}") == 0;
        /* Only mapped row-level fields can differ from absent in the base.
         * An event carrying most of them (order_created) starts as a copy
         * of the base and gives back the few it does not carry; the others
         * start blank and take the few they carry. */
        uint64_t carry = e->row_mask & mapped, other = mapped & ~e->row_mask;
        e->from_base = __builtin_popcountll(carry) > __builtin_popcountll(other) + 2;
        e->n_copy = 0;
        for (uint64_t mask = e->from_base ? other : carry; mask != 0 && e->n_copy < FC__MAX_COPY;
             mask &= mask - 1) {
            const fc_event_field *fd = fc_event_field_at((size_t)__builtin_ctzll(mask));
            e->copy_off[e->n_copy] = (uint16_t)fd->offset;
            e->copy_sz[e->n_copy] = (uint8_t)kind_size((int)fd->kind);
            e->n_copy++;
        }
    }
}

int fc_mapping_load(const char *path_or_preset, fc_mapping **out, fc_err *err) {
    char path[1024];
    fc_yaml *root = NULL;
    fc_mapping *m = NULL;
    int rc;

    *out = NULL;
    if (path_or_preset == NULL || path_or_preset[0] == '\0') {
        return fc_err_set(err, FC_EINVAL, NULL, 0, 0, "no mapping given");
    }
    if (strchr(path_or_preset, '/') != NULL || strstr(path_or_preset, ".yaml") != NULL ||
        strstr(path_or_preset, ".yml") != NULL) {
        snprintf(path, sizeof path, "%s", path_or_preset);
    } else {
        snprintf(path, sizeof path, "%s/%s.yaml", fc_mapping_dir(), path_or_preset);
    }
    m = fc_calloc(1, sizeof *m);
    if (m == NULL) {
        return fc_err_set(err, FC_ENOMEM, path, 0, 0, "out of memory");
    }
    m->delim = ',';
    m->tfmt = TF_ISO;
    m->tzmode = TZ_INHERIT;
    m->path = fc_strdup(path);
    if (m->path == NULL) {
        rc = fc_err_set(err, FC_ENOMEM, path, 0, 0, "out of memory");
        goto out;
    }
    rc = fc_yaml_load_file(path, &root, err);
    if (rc != FC_OK) {
        if (rc == FC_EIO || rc == FC_ENOTFOUND) {
            rc = fc_err_set(err, FC_ENOTFOUND, path, 0, 0,
                            "mapping '%s' not found (a file, or a preset in %s)", path_or_preset,
                            fc_mapping_dir());
        }
        goto out;
    }
    rc = mapping_from_yaml(m, root, err);
    if (rc != FC_OK) {
        goto out;
    }
    if (m->name == NULL) {
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        size_t n = strcspn(base, ".");
        m->name = fc_strndup(base, n);
        if (m->name == NULL) {
            rc = fc_err_set(err, FC_ENOMEM, path, 0, 0, "out of memory");
            goto out;
        }
    }
    m->f_ts = fc_event_field_find(fc_str_c("ts"));
    m->f_score = fc_event_field_find(fc_str_c("score"));
    m->f_promised = fc_event_field_find(fc_str_c("promised_at"));
    m->f_est_ready = fc_event_field_find(fc_str_c("est_ready_at"));
    resolve_mapping(m);
    *out = m;
    m = NULL;
out:
    fc_yaml_free(root);
    fc_mapping_free(m);
    return rc;
}

/* ---------------------------------------------------------------------------
 * Binding to a header.
 */
int fc__mapping_bind(const fc_mapping *m, const fc_str *header, size_t n, const char *source,
                     fc__binding **out, fc_err *err) {
    fc__binding *b = fc_calloc(1, sizeof *b);
    *out = NULL;
    if (b == NULL || (b->col = fc_calloc(m->n_slots ? m->n_slots : 1, sizeof *b->col)) == NULL) {
        fc_free(b);
        return fc_err_set(err, FC_ENOMEM, source, 1, 0, "out of memory");
    }
    b->m = m;
    b->source = source;
    b->header = header;
    fc_event_init(&b->blank);
    fc_event_init(&b->base);
#if defined(__x86_64__) && defined(__GNUC__)
    b->wide = __builtin_cpu_supports("avx2");
#endif
    for (size_t s = 0; s < m->n_slots; s++) {
        b->col[s] = -1;
        for (size_t i = 0; i < n; i++) {
            if (fc_str_eq(fc_str_trim(header[i]), fc_str_c(m->slots[s]))) {
                b->col[s] = (int)i;
                break;
            }
        }
        if (b->col[s] < 0) {
            int rc = fc_err_set(err, FC_EINVAL, m->path, m->slot_line[s], m->slot_col[s],
                                "column '%s' is not in the header of %s", m->slots[s],
                                source ? source : "the input");
            fc__binding_free(b);
            return rc;
        }
    }
    /* The column of every spec in the order fc__mapping_apply visits them:
     * the row-level fields, then each event's time and fields. */
    size_t nspec = m->n_fields;
    for (size_t i = 0; i < m->n_events; i++) {
        nspec += 1 + m->events[i].n_fields;
    }
    b->spec_col = fc_calloc(nspec > 0 ? nspec : 1, sizeof *b->spec_col);
    if (b->spec_col == NULL) {
        fc__binding_free(b);
        return fc_err_set(err, FC_ENOMEM, source, 1, 0, "out of memory");
    }
    size_t k = 0;
#define SPEC_COL(sp) ((sp).kind == SK_COLUMN ? b->col[(sp).slot] : -1)
    for (size_t i = 0; i < m->n_fields; i++) {
        b->spec_col[k++] = SPEC_COL(m->fields[i].spec);
    }
    for (size_t i = 0; i < m->n_events; i++) {
        b->spec_col[k++] = SPEC_COL(m->events[i].time);
        for (size_t f = 0; f < m->events[i].n_fields; f++) {
            b->spec_col[k++] = SPEC_COL(m->events[i].fields[f].spec);
        }
    }
#undef SPEC_COL
    for (size_t i = 0; i < m->n_events; i++) {
        const fc_evspec *es = &m->events[i];
        b->id_fixed += es->id_fixed + es->id_types * 32;
        b->id_per_record += es->id_records;
        b->id_per_order += es->id_orders;
    }
    *out = b;
    return FC_OK;
}

void fc__binding_free(fc__binding *b) {
    if (b == NULL) {
        return;
    }
    fc_free(b->spec_col);
    fc_free(b->col);
    fc_free(b->idbuf);
    fc_free(b);
}

/* ---------------------------------------------------------------------------
 * Applying to a row.
 */
typedef struct fc_rowctx {
    fc__binding *b;
    const fc_ref *ref;
    const fc_str *fields;
    const long *field_line;
    const fc_event *base; /* city and currency of the row */
    const fc_tz *city_tz;
    int city_tz_done;
    int decimals; /* of the row's currency; -2 until looked up */
    fc_record *rec;
} fc_rowctx;

static inline fc_str trim(fc_str s) {
    /* Usually nothing to trim: bytes above ' ' are neither space nor tab. */
    if (s.n == 0 || ((unsigned char)s.p[0] > ' ' && (unsigned char)s.p[s.n - 1] > ' ')) {
        return s;
    }
    while (s.n > 0 && (s.p[0] == ' ' || s.p[0] == '\t')) {
        s.p++;
        s.n--;
    }
    while (s.n > 0 && (s.p[s.n - 1] == ' ' || s.p[s.n - 1] == '\t')) {
        s.n--;
    }
    return s;
}

static int in_list(const fc_strlist *l, fc_str s) {
    for (size_t i = 0; i < l->n; i++) {
        if (l->len[i] == s.n && memcmp(l->v[i], s.p, s.n) == 0) {
            return 1;
        }
    }
    return 0;
}

static int is_absent(const fc_mapping *m, const fc_spec *sp, fc_str s) {
    const fc_strlist *l = sp->absent.set ? &sp->absent : &m->absent;
    if (!l->set) {
        return s.n == 0;
    }
    return in_list(l, s);
}

/* Resolve the time zone for a time without its own offset. */
static int row_tz(fc_rowctx *x, const fc_spec *sp, const fc_tz **tz, int slot, fc_err *err) {
    const fc_mapping *m = x->b->m;
    int mode = sp->tzmode != TZ_INHERIT ? sp->tzmode : m->tzmode;
    if (mode == TZ_FIXED) {
        *tz = sp->tzmode == TZ_FIXED ? sp->tz : m->tz;
        return FC_OK;
    }
    if (mode == TZ_INHERIT) {
        *tz = NULL; /* UTC */
        return FC_OK;
    }
    if (!x->city_tz_done) {
        const fc_city *c = NULL;
        fc_str city = x->base->city;
        if (x->ref != NULL && city.p != NULL) {
            c = fc_ref_city(x->ref, city);
        }
        x->city_tz = c != NULL ? c->tz : NULL;
        x->city_tz_done = 1;
    }
    if (x->city_tz == NULL) {
        char cbuf[64];
        int c = slot >= 0 ? x->b->col[slot] : -1;
        fc_str_cpy(cbuf, sizeof cbuf, x->base->city);
        fc_err_set(err, FC_EINVAL, x->b->source, c >= 0 ? x->field_line[c] : x->rec->line, c + 1,
                   "time without UTC offset and no time zone for city '%s' (ingest the cities "
                   "file first, or set timezone in the mapping)",
                   cbuf);
        if (slot >= 0) {
            fc_err_field(err, x->b->m->slots[slot], strlen(x->b->m->slots[slot]));
        }
        return FC_EINVAL;
    }
    *tz = x->city_tz;
    return FC_OK;
}

static int value_err(fc_rowctx *x, fc_err *err, int code, int slot, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int value_err(fc_rowctx *x, fc_err *err, int code, int slot, const char *fmt, ...) {
    char msg[400];
    va_list ap;
    long line = x->rec->line, col = 0;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (slot >= 0) {
        int c = x->b->col[slot];
        line = x->field_line[c];
        col = c + 1;
    }
    fc_err_set(err, code, x->b->source, line, col, "%s", msg);
    if (slot >= 0) {
        fc_err_field(err, x->b->m->slots[slot], strlen(x->b->m->slots[slot]));
    }
    return code;
}

/* Is s absent for spec sp (resolved)? */
static inline int spec_absent(const fc_spec *sp, fc_str s) {
    return sp->abs_empty ? s.n == 0 : in_list(sp->abs, s);
}

/* The text of a spec in this row (trimmed); *slot the column slot for
 * errors (-1 for constants). For date+clock the two texts are joined with a
 * space into buf. Returns 0 when absent, 1 when present. */
static inline int spec_text(fc_rowctx *x, const fc_spec *sp, fc_str *out, int *slot, char *buf,
                            size_t bufsz) {
    if (sp->kind == SK_COLUMN) {
        *slot = sp->slot;
        *out = trim(x->fields[x->b->col[sp->slot]]);
        return !spec_absent(sp, *out);
    }
    const fc_mapping *m = x->b->m;
    switch (sp->kind) {
    case SK_CONST:
        *slot = -1;
        *out = fc_str_c(sp->value);
        return out->n > 0;
    case SK_DATE_CLOCK: {
        fc_str d = trim(x->fields[x->b->col[sp->slot]]);
        fc_str c = trim(x->fields[x->b->col[sp->slot2]]);
        *slot = sp->slot;
        if (is_absent(m, sp, d) || is_absent(m, sp, c)) {
            return 0;
        }
        if ((size_t)d.n + c.n + 2 > bufsz) {
            *out = fc_str_make(buf, 0);
            return 1; /* too long to be a time: fails to parse */
        }
        memcpy(buf, d.p, d.n);
        buf[d.n] = ' ';
        memcpy(buf + d.n + 1, c.p, c.n);
        *out = fc_str_make(buf, (size_t)d.n + 1 + c.n);
        return 1;
    }
    default:
        *slot = sp->slot;
        *out = trim(x->fields[x->b->col[sp->slot]]);
        return !is_absent(m, sp, *out);
    }
}

/* Does a strptime-like format read a UTC offset (%z)? Then a time in it
 * needs no time zone. */
static int fmt_has_offset(const char *fmt) {
    for (const char *p = fmt; p != NULL && *p != '\0'; p++) {
        if (*p == '%' && p[1] != '\0') {
            p++;
            if (*p == 'z') {
                return 1;
            }
        }
    }
    return 0;
}

/* Convert the text of spec sp into field f of e. Returns 0 when absent (e
 * untouched), 1 when set, or a negative status with err filled. */
static __attribute__((noinline)) int convert_slow(fc_rowctx *x, const fc_spec *sp,
                                                  const fc_target *tg, fc_event_type type,
                                                  fc_event *e, fc_err *err) {
    const fc_mapping *m = x->b->m;
    char *at = (char *)e + tg->offset;
    char buf[160];
    fc_str s;
    int slot;
    int rc;

    if (!spec_text(x, sp, &s, &slot, buf, sizeof buf)) {
        return 0;
    }
    switch (tg->kind) {
    case FC_EF_STR:
        if (sp->kind == SK_DATE_CLOCK) {
            return value_err(x, err, FC_EINVAL, slot, "date+clock only makes a time");
        }
        memcpy(at, &s, sizeof s);
        return 1;
    case FC_EF_TIME: {
        int64_t t;
        int tf = sp->tfmt != TF_INHERIT ? sp->tfmt : m->tfmt;
        const char *fmt = sp->tfmt != TF_INHERIT ? sp->fmt : m->fmt;
        if (sp->kind == SK_DATE_CLOCK && tf != TF_STRF && tf != TF_ISO) {
            tf = TF_ISO;
        }
        if (tf == TF_ISO && fc__time_iso_fast(s, &x->b->dates, &t)) {
            /* the usual layout with its own offset: no zone needed */
        } else if (tf == TF_EPOCH || tf == TF_EPOCH_MS) {
            if (fc__parse_int(s, &t) != FC_OK) {
                return value_err(x, err, FC_EPARSE, slot, "bad epoch time '%.*s'",
                                 (int)(s.n > 40 ? 40 : s.n), s.p);
            }
            if (tf == TF_EPOCH_MS) {
                t /= 1000;
            }
        } else {
            const fc_tz *tz = NULL;
            fc_err te;
            fc_err_clear(&te);
            if (tf == TF_STRF ? !fmt_has_offset(fmt) : !fc__iso_has_offset(s)) {
                if ((rc = row_tz(x, sp, &tz, slot, err)) != FC_OK) {
                    return rc;
                }
            }
            rc = tf == TF_STRF ? fc_time_parse_fmt(s, fmt, tz, &t, &te)
                               : fc__time_iso(s, tz, &t, &te);
            if (rc != FC_OK) {
                return value_err(x, err, FC_EPARSE, slot, "bad time '%.*s': %s",
                                 (int)(s.n > 40 ? 40 : s.n), s.p,
                                 te.msg[0] ? te.msg : "does not match the format");
            }
        }
        const char *why = fc__range_check(tg->rcls, type, t);
        if (why != NULL) {
            return value_err(x, err, FC_EINVAL, slot, "%s: '%.*s'", why, (int)(s.n > 40 ? 40 : s.n),
                             s.p);
        }
        memcpy(at, &t, sizeof t);
        return 1;
    }
    case FC_EF_MONEY: {
        int64_t v = 0;
        if (sp->money_minor) {
            rc = fc__parse_int(s, &v);
        } else {
            char code[4] = "";
            fc_str cur = x->base->currency;
            if (cur.n != 3) {
                return value_err(x, err, FC_EINVAL, slot,
                                 "an amount needs the row's currency (map the currency field)");
            }
            memcpy(code, cur.p, 3);
            if (x->decimals == -2) {
                x->decimals = fc_currency_decimals(code);
            }
            int dec = x->decimals;
            if (dec < 0) {
                return value_err(x, err, FC_EINVAL, slot, "bad currency code '%s'", code);
            }
            rc = fc__parse_money(s, dec, &v);
            if (rc != FC_OK) {
                return value_err(x, err, FC_EPARSE, slot,
                                 "bad amount '%.*s' (a decimal with at most %d decimals for %s)",
                                 (int)(s.n > 40 ? 40 : s.n), s.p, dec, code);
            }
        }
        if (rc != FC_OK) {
            return value_err(x, err, FC_EPARSE, slot, "bad amount '%.*s' (minor units)",
                             (int)(s.n > 40 ? 40 : s.n), s.p);
        }
        const char *why = fc__range_check(tg->rcls, type, v);
        if (why != NULL) {
            return value_err(x, err, FC_EINVAL, slot, "%s: '%.*s'", why, (int)(s.n > 40 ? 40 : s.n),
                             s.p);
        }
        memcpy(at, &v, sizeof v);
        return 1;
    }
    case FC_EF_GEO:
    case FC_EF_INT: {
        int64_t v = 0;
        if (sp->scale > 0) {
            int64_t iv;
            double d;
            double unit = tg->kind == FC_EF_GEO ? 1e6 : 1.0;
            if (tg->kind == FC_EF_GEO && sp->scale == 1e-6 && fc__parse_int(s, &iv) == FC_OK) {
                v = iv; /* integer microdegrees: exact */
            } else if (fc_parse_f64(s, &d) == FC_OK) {
                double r = d * sp->scale * unit;
                if (!(r > -9e15 && r < 9e15)) {
                    return value_err(x, err, FC_EINVAL, slot, "number out of range '%.*s'",
                                     (int)(s.n > 40 ? 40 : s.n), s.p);
                }
                v = (int64_t)(r < 0 ? r - 0.5 : r + 0.5);
            } else {
                return value_err(x, err, FC_EPARSE, slot, "bad number '%.*s'",
                                 (int)(s.n > 40 ? 40 : s.n), s.p);
            }
        } else if (tg->kind == FC_EF_GEO) {
            int32_t g = 0;
            if (fc__parse_deg_e6(s, &g) != FC_OK) {
                return value_err(x, err, FC_EPARSE, slot, "bad coordinate '%.*s' (decimal degrees)",
                                 (int)(s.n > 40 ? 40 : s.n), s.p);
            }
            v = g;
        } else if (fc__parse_int(s, &v) != FC_OK) {
            return value_err(x, err, FC_EPARSE, slot, "bad integer '%.*s'",
                             (int)(s.n > 40 ? 40 : s.n), s.p);
        }
        const char *why = fc__range_check(tg->rcls, type, v);
        if (why != NULL) {
            return value_err(x, err, FC_EINVAL, slot, "%s: '%.*s'", why, (int)(s.n > 40 ? 40 : s.n),
                             s.p);
        }
        int32_t v32 = (int32_t)v;
        memcpy(at, &v32, sizeof v32);
        return 1;
    }
    }
    return 0;
}

/* Decimals of the row's currency, -1 when it has none or a bad one (then
 * convert_slow says why). */
static inline int row_decimals(fc_rowctx *x) {
    if (x->decimals == -2) {
        fc_str cur = x->base->currency;
        char code[4] = "";
        if (cur.n != 3) {
            return -1;
        }
        memcpy(code, cur.p, 3);
        fc__binding *b = x->b;
        unsigned k =
            ((unsigned char)code[0] ^ (unsigned char)code[1] * 3u ^ (unsigned char)code[2] * 5u) &
            7u;
        if (b->cur_code[k][0] == '\0' || memcmp(b->cur_code[k], code, 4) != 0) {
            b->cur_decimals[k] = fc_currency_decimals(code);
            memcpy(b->cur_code[k], code, 4);
        }
        x->decimals = b->cur_decimals[k];
    }
    return x->decimals;
}

/* Convert the text of spec sp into field tg of e. Returns 0 when absent (e
 * untouched), 1 when set, or a negative status with err filled. The usual
 * case (a column read as is, empty meaning absent, a value in its common
 * layout) is handled here; everything else, errors included, by
 * convert_slow, so the result never depends on which path ran. */
static inline int convert(fc_rowctx *x, const fc_spec *sp, int col, const fc_target *tg,
                          fc_event_type type, fc_event *e, fc_err *err) {
    if (col >= 0 && sp->abs_empty) {
        fc_str s = trim(x->fields[col]);
        char *at = (char *)e + tg->offset;
        if (s.n == 0) {
            return 0;
        }
        switch (tg->kind) {
        case FC_EF_STR:
            memcpy(at, &s, sizeof s);
            return 1;
        case FC_EF_TIME: {
            int64_t t;
            if (sp->tf_eff == TF_ISO && fc__time_iso_fast(s, &x->b->dates, &t) && t >= FC__TS_MIN &&
                t < FC__TS_MAX) {
                memcpy(at, &t, sizeof t);
                return 1;
            }
            break;
        }
        case FC_EF_GEO: {
            int32_t g;
            if (sp->scale == 0 && fc__parse_deg_e6(s, &g) == FC_OK &&
                fc__range_check(tg->rcls, type, g) == NULL) {
                memcpy(at, &g, sizeof g);
                return 1;
            }
            break;
        }
        case FC_EF_INT: {
            int64_t v;
            if (sp->scale == 0 && fc__parse_int(s, &v) == FC_OK &&
                fc__range_check(tg->rcls, type, v) == NULL) {
                int32_t v32 = (int32_t)v;
                memcpy(at, &v32, sizeof v32);
                return 1;
            }
            break;
        }
        case FC_EF_MONEY: {
            int64_t v;
            int dec;
            if (!sp->money_minor && (dec = row_decimals(x)) >= 0 &&
                fc__parse_money(s, dec, &v) == FC_OK && v >= 0) {
                memcpy(at, &v, sizeof v);
                return 1;
            }
            break;
        }
        default:
            break;
        }
    }
    return convert_slow(x, sp, tg, type, e, err);
}

static int cond_holds(fc_rowctx *x, const fc_cond *c) {
    fc_str s = trim(x->fields[x->b->col[c->slot]]);
    switch (c->op) {
    case COND_EQUALS:
        return in_list(&c->vals, s);
    case COND_NOT_EQUALS:
        return !in_list(&c->vals, s);
    case COND_PRESENT:
        return !is_absent(x->b->m, &(fc_spec){0}, s);
    default:
        return is_absent(x->b->m, &(fc_spec){0}, s);
    }
}

/* *e = *blank. A row copies the blank event once per event it makes, so
 * this is among the costliest lines of the reader: a plain struct copy of
 * this size compiles to a string instruction whose start-up cost
 * dominates, so it goes in 16-byte moves, or 32-byte ones where the
 * processor has them (b->wide). */
#if defined(__x86_64__) && defined(__GNUC__)
#define FC__WIDE 1
__attribute__((target("avx2"))) static void event_blank_wide(fc_event *e, const fc_event *blank) {
    char *d = (char *)e;
    const char *s = (const char *)blank;
    size_t i = 0;
    for (; i + 32 <= sizeof *e; i += 32) {
        _mm256_storeu_si256((__m256i *)(void *)(d + i),
                            _mm256_loadu_si256((const __m256i *)(const void *)(s + i)));
    }
    if (i < sizeof *e) {
        memcpy(d + i, s + i, sizeof *e - i);
    }
}
#endif

static inline void event_blank(const fc__binding *b, fc_event *e, const fc_event *blank) {
#ifdef FC__WIDE
    if (b->wide) {
        event_blank_wide(e, blank);
        return;
    }
#else
    (void)b;
#endif
    char *d = (char *)e;
    const char *s = (const char *)blank;
    size_t i = 0;
    for (; i + 16 <= sizeof *e; i += 16) {
        memcpy(d + i, s + i, 16);
    }
    if (i < sizeof *e) {
        memcpy(d + i, s + i, sizeof *e - i);
    }
}

/* Copy the fields listed in es from src to dst. */
static inline void copy_row(fc_event *dst, const fc_event *src, const fc_evspec *es) {
    for (size_t i = 0; i < es->n_copy; i++) {
        size_t off = es->copy_off[i];
        switch (es->copy_sz[i]) {
        case sizeof(fc_str):
            memcpy((char *)dst + off, (const char *)src + off, sizeof(fc_str));
            break;
        case sizeof(int64_t):
            memcpy((char *)dst + off, (const char *)src + off, sizeof(int64_t));
            break;
        default:
            memcpy((char *)dst + off, (const char *)src + off, sizeof(int32_t));
            break;
        }
    }
}

/* memcpy(d, s, n) for the short texts of ids (record ids, type names)
 * without a call: overlapping fixed-size moves inside [0, n). */
static inline void copy_short(char *d, const char *s, size_t n) {
    if (n >= 8 && n <= 16) {
        uint64_t a, b;
        memcpy(&a, s, 8);
        memcpy(&b, s + n - 8, 8);
        memcpy(d, &a, 8);
        memcpy(d + n - 8, &b, 8);
    } else if (n >= 4 && n < 8) {
        uint32_t a, b;
        memcpy(&a, s, 4);
        memcpy(&b, s + n - 4, 4);
        memcpy(d, &a, 4);
        memcpy(d + n - 4, &b, 4);
    } else if (n > 0) {
        memcpy(d, s, n);
    }
}

static char *put_id(char *d, const char *tmpl, fc_str rec, fc_str ord, const char *type) {
    for (const char *p = tmpl; *p;) {
        if (*p == '{') {
            if (p[1] == 'r') {
                memcpy(d, rec.p, rec.n);
                d += rec.n;
            } else if (p[1] == 'o') {
                memcpy(d, ord.p, ord.n);
                d += ord.n;
            } else {
                size_t n = strlen(type);
                memcpy(d, type, n);
                d += n;
            }
            p = strchr(p, '}') + 1;
        } else {
            *d++ = *p++;
        }
    }
    return d;
}

/* Reset the field tg names in e to absent (as in blank). */
static inline void reset_field(fc_event *e, const fc_event *blank, const fc_target *tg) {
    char *d = (char *)e + tg->offset;
    const char *s = (const char *)blank + tg->offset;
    switch (tg->kind) {
    case FC_EF_STR:
        memcpy(d, s, sizeof(fc_str));
        break;
    case FC_EF_TIME:
    case FC_EF_MONEY:
        memcpy(d, s, sizeof(int64_t));
        break;
    default:
        memcpy(d, s, sizeof(int32_t));
        break;
    }
}

/* ---------------------------------------------------------------------------
 * The order of a row's instants (docs/ingest.md, "Times out of order").
 */

/* The spec of field `field` on events made by es: the event's own, else
 * the row-level one; NULL when the mapping sets it nowhere. */
static const fc_spec *field_spec(const fc_mapping *m, const fc_evspec *es, int field) {
    for (size_t i = 0; i < es->n_fields; i++) {
        if (es->fields[i].field == field) {
            return &es->fields[i].spec;
        }
    }
    for (size_t i = 0; i < m->n_fields; i++) {
        if (m->fields[i].field == field) {
            return &m->fields[i].spec;
        }
    }
    return NULL;
}

/* 1-based column of a spec in this row, or a column past every other
 * (constants) so that columns of the file are named first. */
static long spec_col(const fc_rowctx *x, const fc_spec *sp) {
    return sp != NULL && sp->kind != SK_CONST ? (long)x->b->col[sp->slot] + 1 : LONG_MAX;
}

/* "delivered_at 2026-03-02T18:38:00+03:00": the spec's column (or `what`
 * for a constant) and its text as written, with the instant in UTC when the
 * text is not an ISO 8601 time (epoch seconds and other formats). */
static void describe_time(fc_rowctx *x, const fc_spec *sp, const char *what, int64_t t, char *out,
                          size_t outsz) {
    char buf[160], utc[40];
    fc_str text = fc_str_make("", 0);
    int slot = -1;
    if (sp != NULL) {
        spec_text(x, sp, &text, &slot, buf, sizeof buf);
    }
    const char *name = slot >= 0 ? x->b->m->slots[slot] : what;
    fc_time_format_utc(t, utc, sizeof utc);
    int iso = text.n >= 19 && text.p[4] == '-' && text.p[7] == '-';
    if (text.n == 0) {
        snprintf(out, outsz, "%s %s", name, utc);
    } else if (iso) {
        snprintf(out, outsz, "%s %.*s", name, (int)(text.n > 40 ? 40 : text.n), text.p);
    } else {
        snprintf(out, outsz, "%s %.*s (%s)", name, (int)(text.n > 40 ? 40 : text.n), text.p, utc);
    }
}

/* Reject the row: the instant of spec `late` (`late_what` when it is a
 * constant) is before that of spec `early`. */
static int times_err(fc_rowctx *x, fc_err *err, const fc_spec *late, const char *late_what,
                     int64_t late_t, const fc_spec *early, const char *early_what, int64_t early_t,
                     const char *why) {
    char a[200], b[200];
    describe_time(x, late, late_what, late_t, a, sizeof a);
    describe_time(x, early, early_what, early_t, b, sizeof b);
    int slot = late != NULL && late->kind != SK_CONST ? late->slot : -1;
    value_err(x, err, FC_EINVAL, slot, "%s is before %s%s", a, b, why);
    if (slot < 0) {
        fc_err_field(err, late_what, strlen(late_what));
    }
    return FC_EINVAL;
}

/* Lifecycle steps whose order is certain within one row, by rank: a step
 * of a higher rank cannot happen before one of a lower rank (the rider
 * accepts or reaches the merchant, picks up, reaches the customer,
 * delivers). -1 for events outside that chain. */
static int step_rank(fc_event_type t) {
    switch (t) {
    case FC_EV_ORDER_ACCEPTED:
    case FC_EV_RIDER_ARRIVED_MERCHANT:
        return 0;
    case FC_EV_ORDER_PICKED_UP:
        return 1;
    case FC_EV_RIDER_ARRIVED_CUSTOMER:
        return 2;
    case FC_EV_ORDER_DELIVERED:
        return 3;
    default:
        return -1;
    }
}

/* Is a step of rec more than FC__STEP_SKEW_S before a step of a lower rank?
 * One pass: a step is out of order exactly when it is before the latest
 * instant of the lower ranks by more than the skew. The rows that are
 * then rejected take the pairwise pass of times_check, which names the
 * columns. */
static int steps_skewed(const fc_record *rec) {
    int64_t latest[4] = {INT64_MIN, INT64_MIN, INT64_MIN, INT64_MIN};
    int any = 0;
    for (size_t i = 0; i < rec->n_events; i++) {
        int r = step_rank(rec->events[i].type);
        if (r >= 0) {
            latest[r] = rec->events[i].ts > latest[r] ? rec->events[i].ts : latest[r];
            any |= r > 0;
        }
    }
    if (!any) {
        return 0;
    }
    int64_t below[4]; /* latest instant of the ranks under r */
    below[0] = INT64_MIN;
    for (int r = 1; r < 4; r++) {
        below[r] = latest[r - 1] > below[r - 1] ? latest[r - 1] : below[r - 1];
    }
    for (size_t i = 0; i < rec->n_events; i++) {
        int r = step_rank(rec->events[i].type);
        if (r > 0 && below[r] != INT64_MIN && rec->events[i].ts < below[r] - FC__STEP_SKEW_S) {
            return 1;
        }
    }
    return 0;
}

/* Check the order of the instants of rec's events (made by src[i]):
 * nothing of the order (an event, the promise, the estimated ready
 * instant) before its creation; no step of the rider's chain more than
 * FC__STEP_SKEW_S before a step it follows. FC_OK, or FC_EINVAL naming the
 * leftmost offending column. */
static int times_check(fc_rowctx *x, const fc_evspec *const *src, fc_err *err) {
    const fc_mapping *m = x->b->m;
    const fc_record *rec = x->rec;
    size_t created = SIZE_MAX;
    for (size_t i = 0; i < rec->n_events; i++) {
        if (rec->events[i].type == FC_EV_ORDER_CREATED) {
            created = i;
            break;
        }
    }
    if (created != SIZE_MAX) {
        const fc_event *c = &rec->events[created];
        const fc_spec *bad = NULL;
        const char *bad_what = NULL;
        int64_t bad_t = 0;
        long bad_col = 0;
        for (size_t i = 0; i < rec->n_events; i++) {
            const fc_event *e = &rec->events[i];
            if (e->ts < c->ts && (bad_what == NULL || spec_col(x, &src[i]->time) < bad_col)) {
                bad = &src[i]->time;
                bad_what = src[i]->type_name;
                bad_t = e->ts;
                bad_col = spec_col(x, bad);
            }
        }
        const int fields[2] = {m->f_promised, m->f_est_ready};
        const int64_t values[2] = {c->promised_at, c->est_ready_at};
        for (int k = 0; k < 2; k++) {
            if (values[k] == FC_TS_NONE || values[k] >= c->ts) {
                continue;
            }
            const fc_spec *sp = field_spec(m, src[created], fields[k]);
            if (bad_what == NULL || spec_col(x, sp) < bad_col) {
                bad = sp;
                bad_what = fc_event_field_at((size_t)fields[k])->name;
                bad_t = values[k];
                bad_col = spec_col(x, sp);
            }
        }
        if (bad_what != NULL) {
            return times_err(x, err, bad, bad_what, bad_t, &src[created]->time,
                             src[created]->type_name, c->ts, "");
        }
    }
    if (!steps_skewed(rec)) {
        return FC_OK;
    }
    for (size_t i = 0; i < rec->n_events; i++) {
        int ri = step_rank(rec->events[i].type);
        if (ri <= 0) {
            continue;
        }
        for (size_t j = 0; j < rec->n_events; j++) {
            int rj = step_rank(rec->events[j].type);
            if (rj < 0 || rj >= ri || rec->events[i].ts >= rec->events[j].ts - FC__STEP_SKEW_S) {
                continue;
            }
            char why[80];
            snprintf(why, sizeof why, " (more than the %d s of clock skew allowed between steps)",
                     FC__STEP_SKEW_S);
            return times_err(x, err, &src[i]->time, src[i]->type_name, rec->events[i].ts,
                             &src[j]->time, src[j]->type_name, rec->events[j].ts, why);
        }
    }
    return FC_OK;
}

int fc__mapping_apply(fc__binding *b, const fc_ref *ref, const fc_str *fields,
                      const long *field_line, size_t n, const char *source, fc_record *rec,
                      fc_err *err) {
    const fc_mapping *m = b->m;
    fc_event *base = &b->base;
    fc_rowctx x = {b, ref, fields, field_line, base, NULL, 0, -2, rec};
    const int *col = b->spec_col;
    char buf[160];
    int slot, rc;
    (void)n;
    (void)source;

    rec->n_events = 0;
    if (!spec_text(&x, &m->record_id, &rec->id, &slot, buf, sizeof buf) || slot < 0) {
        return value_err(&x, err, FC_EINVAL, slot, "empty record id");
    }
    if (!spec_text(&x, &m->order, &rec->order, &slot, buf, sizeof buf) || slot < 0) {
        return value_err(&x, err, FC_EINVAL, slot, "empty order id");
    }
    /* The base keeps every field the mapping does not set absent from one
     * row to the next; the ones it sets are reset first. */
    for (size_t i = 0; i < m->n_fields; i++) {
        reset_field(base, &b->blank, &m->fields[i].tg);
    }
    for (size_t i = 0; i < m->n_fields; i++) {
        rc = convert(&x, &m->fields[i].spec, *col++, &m->fields[i].tg, FC_EV_NONE, base, err);
        if (rc < 0) {
            return rc;
        }
    }
    /* Room for every id of the row, so the buffer never moves while views
     * into it are handed out. */
    size_t need = b->id_fixed + b->id_per_record * rec->id.n + b->id_per_order * rec->order.n;
    if (need > b->idcap) {
        fc_free(b->idbuf);
        b->idcap = 0;
        b->idbuf = fc_malloc(need + 64);
        if (b->idbuf == NULL) {
            return fc_err_set(err, FC_ENOMEM, source, rec->line, 0, "out of memory");
        }
        b->idcap = need + 64;
    }
    char *idp = b->idbuf;
    const fc_evspec *src[FC_RECORD_MAX_EVENTS]; /* the spec that made each event */
    for (size_t i = 0; i < m->n_events; i++) {
        const fc_evspec *es = &m->events[i];
        const int *ecol = col;
        fc_event *e = &rec->events[rec->n_events];
        col += 1 + es->n_fields;
        if (es->has_cond && !cond_holds(&x, &es->cond)) {
            continue;
        }
        /* The instant first: an event whose step did not happen costs no
         * more than that. */
        rc = convert(&x, &es->time, ecol[0], &es->ts_tg, es->type, e, err);
        if (rc < 0) {
            return rc;
        }
        if (rc == 0) {
            continue; /* the step did not happen */
        }
        int64_t ts = e->ts;
        if (es->from_base) {
            event_blank(b, e, base);
            copy_row(e, &b->blank, es);
        } else {
            event_blank(b, e, &b->blank);
            copy_row(e, base, es);
        }
        e->ts = ts;
        for (size_t k = 0; k < es->n_fields; k++) {
            rc = convert(&x, &es->fields[k].spec, ecol[1 + k], &es->fields[k].tg, es->type, e, err);
            if (rc < 0) {
                return rc;
            }
        }
        if (e->score != FC_INT_NONE) {
            const char *why = fc__field_range(es->type, m->f_score, e->score);
            if (why != NULL) {
                return value_err(&x, err, FC_EINVAL, -1, "%s: %d", why, (int)e->score);
            }
        }
        if (e->currency.p == NULL &&
            (e->amount_minor != FC_MONEY_NONE || e->cost_minor != FC_MONEY_NONE)) {
            e->currency = base->currency;
        }
        e->type = es->type;
        e->order = rec->order;
        char *end;
        if (es->id_default) {
            copy_short(idp, rec->id.p, rec->id.n);
            idp[rec->id.n] = ':';
            copy_short(idp + rec->id.n + 1, es->type_name, es->type_len);
            end = idp + rec->id.n + 1 + es->type_len;
        } else {
            end = put_id(idp, es->id_tmpl, rec->id, rec->order, es->type_name);
        }
        e->id = fc_str_make(idp, (size_t)(end - idp));
        idp = end;
        src[rec->n_events++] = es;
    }
    return times_check(&x, src, err);
}

const char *fc__canonical_header(void) {
    return "order_id,city,zone,merchant,customer,rider,category,prebook,created_at,promised_at,"
           "est_ready_at,pushed_at,accepted_at,arrived_merchant_at,ready_at,picked_up_at,"
           "arrived_customer_at,delivered_at,cancelled_at,cancelled_by,cancel_reason,"
           "merchant_lat,merchant_lng,customer_lat,customer_lng,delivered_lat,delivered_lng,"
           "distance_m,order_value,delivery_cost,currency";
}
