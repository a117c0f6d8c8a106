/*
 * JSON Lines events: one JSON object per line, parsed with jansson.
 *
 * Field names are the event field names (docs/formats.md). Unknown fields
 * are ignored, so producers can carry extra data; a known field of the wrong
 * JSON type, out of its range, or over FC_FIELD_MAX_BYTES rejects the line.
 * Errors give the byte column of the offending value.
 */
#include <jansson.h>
#include <math.h>
#include <string.h>

#include "ingest/reader_internal.h"

struct fc__jsonl {
    json_t *root; /* the current line's object; event views point into it */
};

int fc__jsonl_new(fc__jsonl **out) {
    *out = fc_calloc(1, sizeof **out);
    return *out != NULL ? FC_OK : FC_ENOMEM;
}

void fc__jsonl_free(fc__jsonl *j) {
    if (j == NULL) {
        return;
    }
    json_decref(j->root);
    fc_free(j);
}

/* 1-based byte column of the value of "key" in the line (0 when not found). */
static long value_col(const char *p, size_t n, const char *key) {
    size_t kn = strlen(key);
    for (size_t i = 0; i + kn + 2 <= n; i++) {
        if (p[i] != '"' || memcmp(p + i + 1, key, kn) != 0 || p[i + 1 + kn] != '"') {
            continue;
        }
        size_t k = i + kn + 2;
        while (k < n && (p[k] == ' ' || p[k] == '\t')) {
            k++;
        }
        if (k >= n || p[k] != ':') {
            continue;
        }
        k++;
        while (k < n && (p[k] == ' ' || p[k] == '\t')) {
            k++;
        }
        return (long)k + 1;
    }
    return 0;
}

typedef struct fc_jctx {
    const char *p;
    size_t n;
    const char *source;
    long line;
    fc_err *err;
} fc_jctx;

static int jerr(fc_jctx *c, int code, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int jerr(fc_jctx *c, int code, const char *key, const char *fmt, ...) {
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fc_err_set(c->err, code, c->source, c->line, key ? value_col(c->p, c->n, key) : 0, "%s", msg);
    if (key != NULL) {
        fc_err_field(c->err, key, strlen(key));
    }
    return code;
}

static int get_time(fc_jctx *c, const char *key, json_t *v, fc_event_type t, int f, int64_t *out) {
    int64_t ts;
    if (json_is_integer(v)) {
        ts = (int64_t)json_integer_value(v);
    } else if (json_is_string(v)) {
        fc_str s = fc_str_make(json_string_value(v), json_string_length(v));
        fc_err te;
        fc_err_clear(&te);
        if (!fc__iso_has_offset(s)) {
            return jerr(c, FC_EPARSE, key,
                        "time '%.*s' has no UTC offset (write Z or +HH:MM, or epoch seconds)",
                        (int)(s.n > 40 ? 40 : s.n), s.p);
        }
        if (fc__time_iso(s, NULL, &ts, &te) != FC_OK) {
            return jerr(c, FC_EPARSE, key, "bad time '%.*s': %s", (int)(s.n > 40 ? 40 : s.n), s.p,
                        te.msg[0] ? te.msg : "not ISO 8601");
        }
    } else {
        return jerr(c, FC_EINVAL, key, "%s must be epoch seconds (integer) or an ISO 8601 string",
                    key);
    }
    const char *why = fc__field_range(t, f, ts);
    if (why != NULL) {
        return jerr(c, FC_EINVAL, key, "%s: %s", key, why);
    }
    *out = ts;
    return FC_OK;
}

static int get_money(fc_jctx *c, const char *key, json_t *v, const char *currency, int64_t *out) {
    int dec = currency[0] ? fc_currency_decimals(currency) : -1;
    if (dec < 0) {
        return jerr(c, FC_EINVAL, key, "%s needs a valid currency field (ISO 4217)", key);
    }
    if (json_is_string(v)) {
        fc_str s = fc_str_make(json_string_value(v), json_string_length(v));
        if (fc__parse_money(s, dec, out) != FC_OK) {
            return jerr(c, FC_EPARSE, key, "bad amount '%.*s' (at most %d decimals for %s)",
                        (int)(s.n > 40 ? 40 : s.n), s.p, dec, currency);
        }
    } else if (json_is_number(v)) {
        double d = json_number_value(v), scale = 1;
        for (int i = 0; i < dec; i++) {
            scale *= 10;
        }
        double r = d * scale;
        if (!(fabs(r) < 9e15) || fabs(r - nearbyint(r)) > 1e-6 * (fabs(r) > 1 ? fabs(r) : 1)) {
            return jerr(c, FC_EPARSE, key, "bad amount %g (at most %d decimals for %s)", d, dec,
                        currency);
        }
        *out = (int64_t)nearbyint(r);
    } else {
        return jerr(c, FC_EINVAL, key, "%s must be a number or a decimal string", key);
    }
    if (*out < 0) {
        return jerr(c, FC_EINVAL, key, "%s: negative amount", key);
    }
    return FC_OK;
}

/* The time under `key` of obj as written, with the instant in UTC when it is
 * epoch seconds. */
static void time_text(const json_t *obj, const char *key, char *out, size_t outsz) {
    const json_t *v = json_object_get(obj, key);
    if (json_is_string(v)) {
        snprintf(out, outsz, "%.40s", json_string_value(v));
    } else if (json_is_integer(v)) {
        char utc[40];
        fc_time_format_utc((int64_t)json_integer_value(v), utc, sizeof utc);
        snprintf(out, outsz, "%lld (%s)", (long long)json_integer_value(v), utc);
    } else {
        snprintf(out, outsz, "?");
    }
}

int fc__jsonl_line(fc__jsonl *j, const char *p, size_t n, const char *source, long line,
                   fc_record *rec, fc_err *err) {
    fc_jctx c = {p, n, source, line, err};
    json_error_t je;
    size_t bad = 0;
    fc_event *e = &rec->events[0];
    char currency[4] = "";
    json_t *v;
    const char *key;

    json_decref(j->root);
    j->root = NULL;
    rec->n_events = 0;
    rec->id = FC_STR_NULL;
    rec->order = FC_STR_NULL;
    fc_event_init(e);

    if (!fc__utf8_ok(p, n, &bad)) {
        return fc_err_set(err, FC_EPARSE, source, line, (long)bad + 1, "%s",
                          p[bad] == '\0' ? "NUL byte in line" : "invalid UTF-8");
    }
    if (n > FC_FIELD_MAX_BYTES * 4) {
        return fc_err_set(err, FC_ELIMIT, source, line, 1, "line longer than %u bytes",
                          (unsigned)FC_FIELD_MAX_BYTES * 4);
    }
    j->root = json_loadb(p, n, JSON_REJECT_DUPLICATES, &je);
    if (j->root == NULL) {
        long col = je.position > 0 ? (long)je.position : je.column;
        return fc_err_set(err, FC_EPARSE, source, line, col > 0 ? col : 1, "bad JSON: %s", je.text);
    }
    if (!json_is_object(j->root)) {
        return fc_err_set(err, FC_EPARSE, source, line, 1, "a line must be one JSON object");
    }

    /* id, type, currency first: the rest depends on them */
    v = json_object_get(j->root, "id");
    if (v == NULL || json_is_null(v)) {
        return jerr(&c, FC_EINVAL, NULL, "missing id");
    }
    if (!json_is_string(v) || json_string_length(v) == 0) {
        return jerr(&c, FC_EINVAL, "id", "id must be a non-empty string");
    }
    if (json_string_length(v) > 1024) {
        return jerr(&c, FC_ELIMIT, "id", "id longer than 1024 bytes");
    }
    e->id = fc_str_make(json_string_value(v), json_string_length(v));
    v = json_object_get(j->root, "type");
    if (v == NULL || json_is_null(v)) {
        return jerr(&c, FC_EINVAL, NULL, "missing type");
    }
    if (!json_is_string(v)) {
        return jerr(&c, FC_EINVAL, "type", "type must be a string");
    }
    e->type = fc_event_type_from(fc_str_make(json_string_value(v), json_string_length(v)));
    if (e->type == FC_EV_NONE) {
        return jerr(&c, FC_EINVAL, "type", "unknown event type '%.*s'",
                    (int)(json_string_length(v) > 40 ? 40 : json_string_length(v)),
                    json_string_value(v));
    }
    v = json_object_get(j->root, "currency");
    if (v != NULL && !json_is_null(v)) {
        if (!json_is_string(v) || json_string_length(v) != 3 ||
            fc_currency_decimals(json_string_value(v)) < 0) {
            return jerr(&c, FC_EINVAL, "currency", "currency must be an ISO 4217 code");
        }
        memcpy(currency, json_string_value(v), 4);
    }

    json_object_foreach(j->root, key, v) {
        if (json_is_null(v) || strcmp(key, "id") == 0 || strcmp(key, "type") == 0) {
            continue;
        }
        if (strcmp(key, "amount_minor") == 0 || strcmp(key, "cost_minor") == 0) {
            if (!json_is_integer(v) || json_integer_value(v) < 0) {
                return jerr(&c, FC_EINVAL, key, "%s must be a non-negative integer", key);
            }
            *(key[0] == 'a' ? &e->amount_minor : &e->cost_minor) = (int64_t)json_integer_value(v);
            continue;
        }
        int f = fc_event_field_find(fc_str_c(key));
        if (f < 0) {
            continue; /* unknown fields are ignored */
        }
        const fc_event_field *fd = fc_event_field_at((size_t)f);
        char *at = (char *)e + fd->offset;
        switch (fd->kind) {
        case FC_EF_STR: {
            if (!json_is_string(v)) {
                return jerr(&c, FC_EINVAL, key, "%s must be a string", key);
            }
            size_t len = json_string_length(v);
            if (len > FC_FIELD_MAX_BYTES) {
                return jerr(&c, FC_ELIMIT, key, "%s is longer than %u bytes", key,
                            (unsigned)FC_FIELD_MAX_BYTES);
            }
            if (len > 0) {
                fc_str s = fc_str_make(json_string_value(v), len);
                memcpy(at, &s, sizeof s);
            }
            break;
        }
        case FC_EF_TIME: {
            int64_t t = 0;
            int rc = get_time(&c, key, v, e->type, f, &t);
            if (rc != FC_OK) {
                return rc;
            }
            memcpy(at, &t, sizeof t);
            break;
        }
        case FC_EF_MONEY: {
            int64_t m = 0;
            int rc = get_money(&c, key, v, currency, &m);
            if (rc != FC_OK) {
                return rc;
            }
            memcpy(at, &m, sizeof m);
            break;
        }
        case FC_EF_GEO: {
            if (!json_is_number(v)) {
                return jerr(&c, FC_EINVAL, key, "%s must be a number (decimal degrees)", key);
            }
            double d = json_number_value(v) * 1e6;
            if (!(fabs(d) <= 180e6)) {
                return jerr(&c, FC_EINVAL, key, "%s out of range", key);
            }
            int64_t g = (int64_t)nearbyint(d);
            const char *why = fc__field_range(e->type, f, g);
            if (why != NULL) {
                return jerr(&c, FC_EINVAL, key, "%s: %s", key, why);
            }
            int32_t g32 = (int32_t)g;
            memcpy(at, &g32, sizeof g32);
            break;
        }
        case FC_EF_INT: {
            int64_t i = 0;
            if (json_is_integer(v)) {
                i = (int64_t)json_integer_value(v);
            } else if (json_is_boolean(v) && strcmp(key, "prebook") == 0) {
                i = json_is_true(v) ? 1 : 0;
            } else {
                return jerr(&c, FC_EINVAL, key, "%s must be an integer", key);
            }
            const char *why = fc__field_range(e->type, f, i);
            if (why != NULL) {
                return jerr(&c, FC_EINVAL, key, "%s: %s", key, why);
            }
            int32_t i32 = (int32_t)i;
            memcpy(at, &i32, sizeof i32);
            break;
        }
        }
    }
    if (e->ts == FC_TS_NONE) {
        return jerr(&c, FC_EINVAL, NULL, "missing ts");
    }
    if (fc_event_type_has_order(e->type) && e->order.p == NULL) {
        return jerr(&c, FC_EINVAL, NULL, "missing order (a %s event belongs to an order)",
                    fc_event_type_name(e->type));
    }
    if (e->type == FC_EV_WEATHER && e->city.p == NULL) {
        return jerr(&c, FC_EINVAL, NULL, "missing city (a weather event covers a city)");
    }
    if (e->type == FC_EV_PLATFORM_INCIDENT) {
        if (e->city.p == NULL) {
            return jerr(&c, FC_EINVAL, NULL, "missing city (a platform incident covers a city)");
        }
        if (e->from == FC_TS_NONE || e->to == FC_TS_NONE) {
            return jerr(&c, FC_EINVAL, NULL, "missing %s (a platform incident is a window)",
                        e->from == FC_TS_NONE ? "from" : "to");
        }
        if (e->to <= e->from) {
            return jerr(&c, FC_EINVAL, "to", "to is not after from");
        }
        if (e->reason.n == 0) {
            return jerr(&c, FC_EINVAL, "reason", "missing reason (what failed: dispatch_outage)");
        }
    }
    if ((e->amount_minor != FC_MONEY_NONE || e->cost_minor != FC_MONEY_NONE) &&
        e->currency.p == NULL) {
        return jerr(&c, FC_EINVAL, NULL, "an amount needs a currency");
    }
    if (e->from != FC_TS_NONE && e->to != FC_TS_NONE && e->to < e->from) {
        return jerr(&c, FC_EINVAL, "to", "to is before from");
    }
    if (e->type == FC_EV_ORDER_CREATED) {
        /* What one event can say of its order's times: nothing promised or
         * estimated before the order exists. */
        const char *early = e->promised_at != FC_TS_NONE && e->promised_at < e->ts ? "promised_at"
                            : e->est_ready_at != FC_TS_NONE && e->est_ready_at < e->ts
                                ? "est_ready_at"
                                : NULL;
        if (early != NULL) {
            char a[80], b[80];
            time_text(j->root, early, a, sizeof a);
            time_text(j->root, "ts", b, sizeof b);
            return jerr(&c, FC_EINVAL, early, "%s %s is before ts %s (the order's creation)", early,
                        a, b);
        }
    }
    rec->id = e->id;
    rec->order = e->order.p != NULL ? e->order : fc_str_make("", 0);
    rec->n_events = 1;
    return FC_OK;
}
