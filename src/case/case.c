/*
 * case: decisions as recorded and the ledger entries of their consequences,
 * with their JSON bodies (docs/internals/case-log.md).
 *
 * Numbers that are not finite (never produced by the judge, but a double can
 * hold them) are written as the strings "inf", "-inf" and "nan" so that a
 * body always decodes to exactly what was encoded.
 */
#include "case/case.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

/* ---------------------------------------------------------------------------
 * Small helpers.
 */

static void copy_text(char *dst, size_t dstsz, const char *src, size_t n) {
    if (dstsz == 0) {
        return;
    }
    if (src == NULL) {
        n = 0;
    }
    if (n >= dstsz) {
        n = dstsz - 1;
    }
    if (n > 0) {
        memcpy(dst, src, n);
    }
    dst[n] = '\0';
}

static void copy_view(char *dst, size_t dstsz, fc_str s) {
    copy_text(dst, dstsz, s.p, s.n);
}

static void copy_c(char *dst, size_t dstsz, const char *src) {
    copy_text(dst, dstsz, src, src == NULL ? 0 : strlen(src));
}

static void hex_of(const unsigned char *h, size_t n, char *out) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[h[i] >> 4];
        out[2 * i + 1] = digits[h[i] & 15];
    }
    out[2 * n] = '\0';
}

/* ---------------------------------------------------------------------------
 * Decision ids.
 */

/* Hash one field with its length first, so that no two sequences of fields
 * hash the same bytes. */
static void hash_field(crypto_hash_sha256_state *st, const char *p, size_t n) {
    unsigned char len[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16),
                            (unsigned char)(n >> 8), (unsigned char)n};
    crypto_hash_sha256_update(st, len, sizeof len);
    if (n > 0) {
        crypto_hash_sha256_update(st, (const unsigned char *)p, n);
    }
}

static void hash_cstr(crypto_hash_sha256_state *st, const char *s) {
    hash_field(st, s, strlen(s));
}

static void hash_int(crypto_hash_sha256_state *st, int64_t v) {
    char buf[24];
    int k = snprintf(buf, sizeof buf, "%lld", (long long)v);
    hash_field(st, buf, (size_t)k);
}

void fc_case_decision_id(const fc_decision *d, fc_str order, char out[FC_CASE_ID_MAX]) {
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    hash_field(&st, order.p, order.n);
    hash_cstr(&st, fc_incident_name(d->incident));
    hash_cstr(&st, d->policy_id);
    hash_cstr(&st, d->policy_version);
    hash_cstr(&st, fc_party_name(d->liable));
    hash_cstr(&st, d->rule_id);
    hash_int(&st, d->review != 0);
    hash_int(&st, d->severe != 0);
    const fc_consequence *c = &d->consequence;
    hash_int(&st, c->rider_points);
    hash_int(&st, c->rider_amount_minor);
    hash_int(&st, c->merchant_chargeback_minor);
    hash_int(&st, c->customer_compensation_minor);
    hash_int(&st, c->suspend_days);
    hash_int(&st, c->warning_only != 0);
    hash_cstr(&st, c->exemption);
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&st, h);
    memcpy(out, "dec-", 4);
    hex_of(h, 12, out + 4);
}

/* 24 hex digits of SHA-256 over the fields, after a prefix. */
static void id_of(const char *prefix, const char *a, const char *b, char out[FC_CASE_ID_MAX]) {
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    hash_cstr(&st, a == NULL ? "" : a);
    if (b != NULL) {
        hash_cstr(&st, b);
    }
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&st, h);
    size_t k = strlen(prefix);
    memcpy(out, prefix, k);
    hex_of(h, 12, out + k);
}

void fc_case_decision_reinstated_id(const char *outcome, const char *supersedes,
                                    char out[FC_CASE_ID_MAX]) {
    id_of("dec-", outcome, supersedes == NULL ? "" : supersedes, out);
}

const char *fc_case_body_find(fc_str body, const char *pat) {
    size_t n = strlen(pat);
    if (body.p == NULL || n == 0 || body.n < n) {
        return NULL;
    }
    const char *end = body.p + body.n - n;
    for (const char *c = body.p; c != NULL && c <= end;
         c = c < end ? memchr(c + 1, pat[0], (size_t)(end - c)) : NULL) {
        if (memcmp(c, pat, n) == 0) {
            return c;
        }
    }
    return NULL;
}

fc_str fc_case_body_text(fc_str body, const char *key) {
    char pat[64];
    int k = snprintf(pat, sizeof pat, "\"%s\":\"", key);
    if (k <= 0 || (size_t)k >= sizeof pat) {
        return FC_STR_NULL;
    }
    const char *at = fc_case_body_find(body, pat);
    if (at == NULL) {
        return FC_STR_NULL;
    }
    const char *v = at + k;
    const char *q = memchr(v, '"', (size_t)(body.p + body.n - v));
    return q != NULL ? fc_str_make(v, (size_t)(q - v)) : FC_STR_NULL;
}

void fc_case_withdrawal_id(const char *decision, char out[FC_CASE_ID_MAX]) {
    id_of("wdr-", decision, NULL, out);
}

void fc_case_decision_make(const fc_policy *p, const fc_policy_input *in, const fc_decision *d,
                           fc_case_decision *out) {
    memset(out, 0, offsetof(fc_case_decision, d));
    memset(out->explanation, 0, sizeof *out - offsetof(fc_case_decision, explanation));
    const fc_order_facts *f = in->facts;
    copy_view(out->order, sizeof out->order, f->order);
    copy_view(out->city, sizeof out->city, f->city);
    copy_view(out->zone, sizeof out->zone, f->zone);
    copy_view(out->rider, sizeof out->rider, f->rider);
    copy_view(out->merchant, sizeof out->merchant, f->merchant);
    copy_view(out->country, sizeof out->country, in->country);
    copy_view(out->capacity, sizeof out->capacity, in->capacity);
    copy_view(out->merchant_kind, sizeof out->merchant_kind, in->merchant_kind);
    out->created_at = f->created_at;
    out->closed_at = f->closed_at;
    out->stacked_orders = in->stacked_orders;
    out->dispatch_outage = in->dispatch_outage;
    /* The evidence past n_evidence is unspecified: copy only what counts. */
    memcpy(&out->d, d, offsetof(fc_decision, evidence));
    memcpy(out->d.evidence, d->evidence, d->n_evidence * sizeof d->evidence[0]);
    memcpy(&out->d.n_evidence, &d->n_evidence, sizeof *d - offsetof(fc_decision, n_evidence));
    fc_lang own = (unsigned)d->lang < FC_LANG__COUNT ? d->lang : FC_LANG_EN;
    out->d.lang = own;
    for (int l = 0; l < FC_LANG__COUNT; l++) {
        if (l == (int)own) {
            copy_c(out->explanation[l], sizeof out->explanation[l], d->explanation);
            copy_c(out->margin_text[l], sizeof out->margin_text[l], d->margin_text);
            continue;
        }
        if (p == NULL || !fc_policy_has_language(p, (fc_lang)l)) {
            continue;
        }
        /* fc_judge_explain reads the incident and severity only and writes
         * the texts; a scratch decision keeps out->d untouched. */
        fc_decision again;
        again.incident = d->incident;
        again.severe = d->severe;
        fc_judge_explain(p, in, &again, (fc_lang)l);
        copy_c(out->explanation[l], sizeof out->explanation[l], again.explanation);
        copy_c(out->margin_text[l], sizeof out->margin_text[l], again.margin_text);
    }
    fc_case_decision_id(d, f->order, out->id);
}

/* ---------------------------------------------------------------------------
 * Encoding.
 */

static json_t *jnum(double v) {
    if (isnan(v)) {
        return json_string("nan");
    }
    if (isinf(v)) {
        return json_string(v > 0 ? "inf" : "-inf");
    }
    return json_real(v);
}

static json_t *jtime(int64_t t) {
    return t == FC_TS_NONE ? json_null() : json_integer((json_int_t)t);
}

static json_t *jint32(int32_t v) {
    return v == FC_INT_NONE ? json_null() : json_integer(v);
}

static json_t *jvalue(const fc_value *v) {
    if (v->absent) {
        return json_null();
    }
    if (v->kind == FC_FACT_TEXT) {
        return json_stringn(v->text.p != NULL ? v->text.p : "", v->text.n);
    }
    return jnum(v->num);
}

/* Set key to v in o, consuming v; 0 on success. */
static int put(json_t *o, const char *key, json_t *v) {
    return v == NULL || json_object_set_new(o, key, v) != 0;
}

static json_t *evidence_json(const fc_evidence *e) {
    json_t *o = json_object();
    if (o == NULL) {
        return NULL;
    }
    int bad = 0;
    bad |= put(o, "fact", json_string(e->fact));
    bad |= put(o, "unit", json_string(e->unit));
    bad |= put(o, "op", json_string(e->op));
    bad |= put(o, "kind", json_string(e->value.kind == FC_FACT_TEXT ? "text" : "num"));
    bad |= put(o, "value", jvalue(&e->value));
    bad |=
        put(o, "threshold_kind", json_string(e->threshold.kind == FC_FACT_TEXT ? "text" : "num"));
    bad |= put(o, "threshold", jvalue(&e->threshold));
    bad |= put(o, "held", json_boolean(e->held));
    bad |= put(o, "margin", jnum(e->margin));
    bad |= put(o, "detail", json_string(e->detail));
    bad |= put(o, "against", json_string(e->against));
    bad |= put(o, "negated", json_boolean(e->negated));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *consequence_json(const fc_consequence *c) {
    json_t *o = json_object();
    if (o == NULL) {
        return NULL;
    }
    int bad = 0;
    bad |= put(o, "rider_points", json_integer(c->rider_points));
    bad |= put(o, "rider_amount_minor", json_integer((json_int_t)c->rider_amount_minor));
    bad |=
        put(o, "merchant_chargeback_minor", json_integer((json_int_t)c->merchant_chargeback_minor));
    bad |= put(o, "customer_compensation_minor",
               json_integer((json_int_t)c->customer_compensation_minor));
    bad |= put(o, "suspend_days", json_integer(c->suspend_days));
    bad |= put(o, "warning_only", json_boolean(c->warning_only));
    bad |= put(o, "exemption", json_string(c->exemption));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* {"en": texts[0], ...} for the languages with a text. */
static json_t *texts_json(const char *texts, size_t stride) {
    json_t *o = json_object();
    if (o == NULL) {
        return NULL;
    }
    for (int l = 0; l < FC_LANG__COUNT; l++) {
        const char *t = texts + (size_t)l * stride;
        if (t[0] != '\0' && put(o, fc_lang_code((fc_lang)l), json_string(t))) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

/* Dump o (consumed) into a fc_malloc'd buffer. */
static int dump(json_t *o, int bad, char **out, size_t *len) {
    *out = NULL;
    if (len != NULL) {
        *len = 0;
    }
    if (o == NULL || bad) {
        json_decref(o);
        return FC_ENOMEM;
    }
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    json_decref(o);
    if (s == NULL) {
        return FC_ENOMEM;
    }
    size_t n = strlen(s);
    char *copy = fc_malloc(n + 1);
    if (copy == NULL) {
        free(s);
        return FC_ENOMEM;
    }
    memcpy(copy, s, n + 1);
    free(s);
    *out = copy;
    if (len != NULL) {
        *len = n;
    }
    return FC_OK;
}

int fc_case_decision_json(const fc_case_decision *cd, char **out, size_t *len) {
    const fc_decision *d = &cd->d;
    json_t *o = json_object();
    int bad = 0;
    bad |= put(o, "id", json_string(cd->id));
    bad |= put(o, "order", json_string(cd->order));
    bad |= put(o, "city", json_string(cd->city));
    bad |= put(o, "zone", json_string(cd->zone));
    bad |= put(o, "rider", json_string(cd->rider));
    bad |= put(o, "merchant", json_string(cd->merchant));
    bad |= put(o, "country", json_string(cd->country));
    bad |= put(o, "capacity", json_string(cd->capacity));
    bad |= put(o, "merchant_kind", json_string(cd->merchant_kind));
    bad |= put(o, "created_at", jtime(cd->created_at));
    bad |= put(o, "closed_at", jtime(cd->closed_at));
    bad |= put(o, "stacked_orders", jint32(cd->stacked_orders));
    bad |= put(o, "dispatch_outage", jint32(cd->dispatch_outage));
    bad |= put(o, "incident", json_string(fc_incident_name(d->incident)));
    bad |= put(o, "severe", json_boolean(d->severe));
    bad |= put(o, "liable", json_string(fc_party_name(d->liable)));
    bad |= put(o, "review", json_boolean(d->review));
    bad |= put(o, "rule", json_string(d->rule_id));
    bad |= put(o, "policy", json_string(d->policy_id));
    bad |= put(o, "policy_version", json_string(d->policy_version));
    bad |= put(o, "currency", json_string(d->currency));
    bad |= put(o, "consequence", consequence_json(&d->consequence));
    json_t *ev = json_array();
    bad |= ev == NULL;
    for (size_t i = 0; ev != NULL && i < d->n_evidence && i < FC_EVIDENCE_MAX; i++) {
        json_t *e = evidence_json(&d->evidence[i]);
        bad |= e == NULL || json_array_append_new(ev, e) != 0;
    }
    bad |= put(o, "evidence", ev);
    json_t *m = json_object();
    bad |= m == NULL;
    if (m != NULL) {
        bad |= put(m, "fact", json_string(d->margin_fact));
        bad |= put(m, "value", jnum(d->margin));
        bad |= put(m, "unit", json_string(d->margin_unit));
    }
    bad |= put(o, "margin", m);
    bad |= put(o, "lang", json_string(fc_lang_code(d->lang)));
    bad |= put(o, "explanation", texts_json(cd->explanation[0], sizeof cd->explanation[0]));
    bad |= put(o, "margin_text", texts_json(cd->margin_text[0], sizeof cd->margin_text[0]));
    bad |= put(o, "supersedes", json_string(cd->supersedes));
    if (cd->outcome[0] != '\0' && strcmp(cd->outcome, cd->id) != 0) {
        bad |= put(o, "outcome", json_string(cd->outcome));
    }
    return dump(o, bad, out, len);
}

/* ---------------------------------------------------------------------------
 * Decoding: every field is checked; the first bad one is named in err.
 */

typedef struct parser {
    fc_err *err;
    const char *what; /* "decision" or "ledger entry" */
    int rc;
} parser;

static int fail(parser *ps, const char *field, const char *why) {
    if (ps->rc == FC_OK) {
        ps->rc = fc_err_set(ps->err, FC_EPARSE, NULL, 0, 0, "%s body: field %s: %s", ps->what,
                            field, why);
        fc_err_field(ps->err, field, strlen(field));
    }
    return ps->rc;
}

static json_t *need(parser *ps, json_t *o, const char *key, const char *path) {
    json_t *v = json_object_get(o, key);
    if (v == NULL) {
        fail(ps, path, "missing");
    }
    return v;
}

/* A string field into buf[0..sz): missing, not a string or too long fail. */
static void get_text(parser *ps, json_t *o, const char *key, const char *path, char *buf,
                     size_t sz) {
    buf[0] = '\0';
    json_t *v = need(ps, o, key, path);
    if (v == NULL) {
        return;
    }
    if (!json_is_string(v)) {
        fail(ps, path, "expected a string");
        return;
    }
    size_t n = json_string_length(v);
    if (n >= sz || memchr(json_string_value(v), '\0', n) != NULL) {
        fail(ps, path, "too long");
        return;
    }
    memcpy(buf, json_string_value(v), n);
    buf[n] = '\0';
}

static int get_bool(parser *ps, json_t *o, const char *key, const char *path) {
    json_t *v = need(ps, o, key, path);
    if (v == NULL) {
        return 0;
    }
    if (!json_is_boolean(v)) {
        fail(ps, path, "expected true or false");
        return 0;
    }
    return json_is_true(v);
}

/* An integer in [lo, hi]; null gives `none` when allow_null. */
static int64_t get_int(parser *ps, json_t *o, const char *key, const char *path, int64_t lo,
                       int64_t hi, int allow_null, int64_t none) {
    json_t *v = need(ps, o, key, path);
    if (v == NULL) {
        return 0;
    }
    if (json_is_null(v) && allow_null) {
        return none;
    }
    if (!json_is_integer(v)) {
        fail(ps, path, allow_null ? "expected a whole number or null" : "expected a whole number");
        return 0;
    }
    json_int_t x = json_integer_value(v);
    if (x < lo || x > hi) {
        fail(ps, path, "out of range");
        return 0;
    }
    return (int64_t)x;
}

/* A number written by jnum. */
static double num_of(parser *ps, json_t *v, const char *path) {
    if (json_is_number(v)) {
        return json_number_value(v);
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (strcmp(s, "inf") == 0) {
            return HUGE_VAL;
        }
        if (strcmp(s, "-inf") == 0) {
            return -HUGE_VAL;
        }
        if (strcmp(s, "nan") == 0) {
            return NAN;
        }
    }
    fail(ps, path, "expected a number");
    return 0;
}

static double get_num(parser *ps, json_t *o, const char *key, const char *path) {
    json_t *v = need(ps, o, key, path);
    return v == NULL ? 0 : num_of(ps, v, path);
}

/* One of names[0..n) (the empty name excluded unless allow_empty). */
static int get_name(parser *ps, json_t *o, const char *key, const char *path,
                    const char *(*name_of)(int), int n, int lo) {
    char buf[64];
    get_text(ps, o, key, path, buf, sizeof buf);
    if (ps->rc != FC_OK) {
        return lo;
    }
    for (int i = lo; i < n; i++) {
        if (strcmp(buf, name_of(i)) == 0) {
            return i;
        }
    }
    fail(ps, path, "unknown name");
    return lo;
}

static const char *incident_name_i(int i) {
    return fc_incident_name((fc_incident_kind)i);
}
static const char *party_name_i(int i) {
    return fc_party_name((fc_party)i);
}
static const char *lang_code_i(int i) {
    return fc_lang_code((fc_lang)i);
}
static const char *ledger_kind_i(int i) {
    return fc_ledger_kind_name((fc_ledger_kind)i);
}

static fc_fact_kind get_kind(parser *ps, json_t *o, const char *key, const char *path) {
    char buf[8];
    get_text(ps, o, key, path, buf, sizeof buf);
    if (ps->rc != FC_OK) {
        return FC_FACT_NUM;
    }
    if (strcmp(buf, "num") == 0) {
        return FC_FACT_NUM;
    }
    if (strcmp(buf, "text") == 0) {
        return FC_FACT_TEXT;
    }
    fail(ps, path, "expected \"num\" or \"text\"");
    return FC_FACT_NUM;
}

static fc_value get_value(parser *ps, json_t *o, const char *key, const char *path,
                          fc_fact_kind kind, fc_arena *arena) {
    fc_value out = {kind, 0, 0, FC_STR_NULL};
    json_t *v = need(ps, o, key, path);
    if (v == NULL) {
        return out;
    }
    if (json_is_null(v)) {
        out.absent = 1;
        return out;
    }
    if (kind == FC_FACT_TEXT) {
        if (!json_is_string(v)) {
            fail(ps, path, "expected a word or null");
            return out;
        }
        size_t n = json_string_length(v);
        if (n > UINT32_MAX) {
            fail(ps, path, "too long");
            return out;
        }
        char *copy = fc_arena_strndup(arena, json_string_value(v), n);
        if (copy == NULL) {
            ps->rc = fc_err_set(ps->err, FC_ENOMEM, NULL, 0, 0, "out of memory");
            return out;
        }
        out.text = fc_str_make(copy, n);
        return out;
    }
    out.num = num_of(ps, v, path);
    return out;
}

static void parse_evidence(parser *ps, json_t *e, size_t i, fc_arena *arena, fc_evidence *out) {
    char path[48];
    memset(out, 0, sizeof *out);
    snprintf(path, sizeof path, "evidence[%zu]", i);
    if (!json_is_object(e)) {
        fail(ps, path, "expected an object");
        return;
    }
#define EV_PATH(k) (snprintf(path, sizeof path, "evidence[%zu].%s", i, k), path)
    get_text(ps, e, "fact", EV_PATH("fact"), out->fact, sizeof out->fact);
    get_text(ps, e, "unit", EV_PATH("unit"), out->unit, sizeof out->unit);
    get_text(ps, e, "op", EV_PATH("op"), out->op, sizeof out->op);
    fc_fact_kind vk = get_kind(ps, e, "kind", EV_PATH("kind"));
    out->value = get_value(ps, e, "value", EV_PATH("value"), vk, arena);
    fc_fact_kind tk = get_kind(ps, e, "threshold_kind", EV_PATH("threshold_kind"));
    out->threshold = get_value(ps, e, "threshold", EV_PATH("threshold"), tk, arena);
    out->held = get_bool(ps, e, "held", EV_PATH("held"));
    out->margin = get_num(ps, e, "margin", EV_PATH("margin"));
    get_text(ps, e, "detail", EV_PATH("detail"), out->detail, sizeof out->detail);
    get_text(ps, e, "against", EV_PATH("against"), out->against, sizeof out->against);
    out->negated = get_bool(ps, e, "negated", EV_PATH("negated"));
#undef EV_PATH
}

static void parse_consequence(parser *ps, json_t *o, fc_consequence *c) {
    memset(c, 0, sizeof *c);
    if (!json_is_object(o)) {
        fail(ps, "consequence", "expected an object");
        return;
    }
    c->rider_points = (int32_t)get_int(ps, o, "rider_points", "consequence.rider_points",
                                       INT32_MIN + 1, INT32_MAX, 0, 0);
    c->rider_amount_minor = get_int(ps, o, "rider_amount_minor", "consequence.rider_amount_minor",
                                    INT64_MIN + 1, INT64_MAX, 0, 0);
    c->merchant_chargeback_minor =
        get_int(ps, o, "merchant_chargeback_minor", "consequence.merchant_chargeback_minor",
                INT64_MIN + 1, INT64_MAX, 0, 0);
    c->customer_compensation_minor =
        get_int(ps, o, "customer_compensation_minor", "consequence.customer_compensation_minor",
                INT64_MIN + 1, INT64_MAX, 0, 0);
    c->suspend_days =
        (int32_t)get_int(ps, o, "suspend_days", "consequence.suspend_days", 0, INT32_MAX, 0, 0);
    c->warning_only = get_bool(ps, o, "warning_only", "consequence.warning_only");
    get_text(ps, o, "exemption", "consequence.exemption", c->exemption, sizeof c->exemption);
}

/* {"en": "...", ...} into texts (stride bytes apart, each sz bytes). */
static void parse_texts(parser *ps, json_t *o, const char *field, char *texts, size_t stride) {
    if (!json_is_object(o)) {
        fail(ps, field, "expected an object of languages");
        return;
    }
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) {
        char path[64];
        snprintf(path, sizeof path, "%s.%s", field, key);
        int l = -1;
        for (int i = 0; i < FC_LANG__COUNT; i++) {
            if (strcmp(key, fc_lang_code((fc_lang)i)) == 0) {
                l = i;
            }
        }
        if (l < 0) {
            fail(ps, path, "unknown language");
            return;
        }
        get_text(ps, o, key, path, texts + (size_t)l * stride, stride);
    }
}

static json_t *load_object(parser *ps, fc_str body, json_t **root) {
    json_error_t jerr;
    *root = json_loadb(body.p != NULL ? body.p : "", body.n, JSON_REJECT_DUPLICATES, &jerr);
    if (*root == NULL) {
        ps->rc = fc_err_set(ps->err, FC_EPARSE, NULL, jerr.line, jerr.column, "%s body: %s",
                            ps->what, jerr.text);
        return NULL;
    }
    if (!json_is_object(*root)) {
        ps->rc = fc_err_set(ps->err, FC_EPARSE, NULL, 0, 0, "%s body: not a JSON object", ps->what);
        return NULL;
    }
    return *root;
}

int fc_case_decision_parse(fc_str body, fc_arena *arena, fc_case_decision *out, fc_err *err) {
    parser ps = {err, "decision", FC_OK};
    memset(out, 0, offsetof(fc_case_decision, d));
    memset(&out->d, 0, offsetof(fc_decision, evidence));
    memset(&out->d.n_evidence, 0, sizeof out->d - offsetof(fc_decision, n_evidence));
    memset(out->explanation, 0, sizeof *out - offsetof(fc_case_decision, explanation));
    json_t *root = NULL;
    json_t *o = load_object(&ps, body, &root);
    if (o == NULL) {
        goto out;
    }
    fc_decision *d = &out->d;
    get_text(&ps, o, "id", "id", out->id, sizeof out->id);
    get_text(&ps, o, "order", "order", out->order, sizeof out->order);
    get_text(&ps, o, "city", "city", out->city, sizeof out->city);
    get_text(&ps, o, "zone", "zone", out->zone, sizeof out->zone);
    get_text(&ps, o, "rider", "rider", out->rider, sizeof out->rider);
    get_text(&ps, o, "merchant", "merchant", out->merchant, sizeof out->merchant);
    get_text(&ps, o, "country", "country", out->country, sizeof out->country);
    get_text(&ps, o, "capacity", "capacity", out->capacity, sizeof out->capacity);
    get_text(&ps, o, "merchant_kind", "merchant_kind", out->merchant_kind,
             sizeof out->merchant_kind);
    out->created_at =
        get_int(&ps, o, "created_at", "created_at", INT64_MIN + 1, INT64_MAX, 1, FC_TS_NONE);
    out->closed_at =
        get_int(&ps, o, "closed_at", "closed_at", INT64_MIN + 1, INT64_MAX, 1, FC_TS_NONE);
    out->stacked_orders = (int32_t)get_int(&ps, o, "stacked_orders", "stacked_orders",
                                           INT32_MIN + 1, INT32_MAX, 1, FC_INT_NONE);
    out->dispatch_outage = (int32_t)get_int(&ps, o, "dispatch_outage", "dispatch_outage",
                                            INT32_MIN + 1, INT32_MAX, 1, FC_INT_NONE);
    d->incident = (fc_incident_kind)get_name(&ps, o, "incident", "incident", incident_name_i,
                                             FC_INCIDENT__COUNT, 0);
    d->severe = get_bool(&ps, o, "severe", "severe");
    d->liable = (fc_party)get_name(&ps, o, "liable", "liable", party_name_i, FC_PARTY__COUNT, 1);
    d->review = get_bool(&ps, o, "review", "review");
    get_text(&ps, o, "rule", "rule", d->rule_id, sizeof d->rule_id);
    get_text(&ps, o, "policy", "policy", d->policy_id, sizeof d->policy_id);
    get_text(&ps, o, "policy_version", "policy_version", d->policy_version,
             sizeof d->policy_version);
    get_text(&ps, o, "currency", "currency", d->currency, sizeof d->currency);
    json_t *c = need(&ps, o, "consequence", "consequence");
    if (c != NULL) {
        parse_consequence(&ps, c, &d->consequence);
    }
    json_t *ev = need(&ps, o, "evidence", "evidence");
    if (ev != NULL && !json_is_array(ev)) {
        fail(&ps, "evidence", "expected an array");
    } else if (ev != NULL && json_array_size(ev) > FC_EVIDENCE_MAX) {
        fail(&ps, "evidence", "more entries than a decision holds");
    } else if (ev != NULL) {
        for (size_t i = 0; i < json_array_size(ev) && ps.rc == FC_OK; i++) {
            parse_evidence(&ps, json_array_get(ev, i), i, arena, &d->evidence[i]);
            d->n_evidence = i + 1;
        }
    }
    json_t *m = need(&ps, o, "margin", "margin");
    if (m != NULL && !json_is_object(m)) {
        fail(&ps, "margin", "expected an object");
    } else if (m != NULL) {
        get_text(&ps, m, "fact", "margin.fact", d->margin_fact, sizeof d->margin_fact);
        d->margin = get_num(&ps, m, "value", "margin.value");
        get_text(&ps, m, "unit", "margin.unit", d->margin_unit, sizeof d->margin_unit);
    }
    d->lang = (fc_lang)get_name(&ps, o, "lang", "lang", lang_code_i, FC_LANG__COUNT, 0);
    json_t *t = need(&ps, o, "explanation", "explanation");
    if (t != NULL) {
        parse_texts(&ps, t, "explanation", out->explanation[0], sizeof out->explanation[0]);
    }
    t = need(&ps, o, "margin_text", "margin_text");
    if (t != NULL) {
        parse_texts(&ps, t, "margin_text", out->margin_text[0], sizeof out->margin_text[0]);
    }
    get_text(&ps, o, "supersedes", "supersedes", out->supersedes, sizeof out->supersedes);
    if (json_object_get(o, "outcome") != NULL) {
        get_text(&ps, o, "outcome", "outcome", out->outcome, sizeof out->outcome);
    } else {
        copy_c(out->outcome, sizeof out->outcome, out->id);
    }
    if (ps.rc == FC_OK) {
        copy_c(d->explanation, sizeof d->explanation, out->explanation[d->lang]);
        copy_c(d->margin_text, sizeof d->margin_text, out->margin_text[d->lang]);
    }
out:
    json_decref(root);
    return ps.rc;
}

/* ---------------------------------------------------------------------------
 * The ledger.
 */

static const char *const ledger_kind_names[FC_LEDGER__COUNT] = {"penalty", "reward", "chargeback",
                                                                "compensation", "reversal"};

const char *fc_ledger_kind_name(fc_ledger_kind k) {
    return (unsigned)k < FC_LEDGER__COUNT ? ledger_kind_names[k] : "";
}

static void ledger_init(const fc_case_decision *cd, fc_ledger_kind kind, fc_party party,
                        const char *party_id, fc_ledger_entry *e) {
    memset(e, 0, sizeof *e);
    e->kind = kind;
    e->party = party;
    copy_c(e->party_id, sizeof e->party_id, party_id);
    copy_c(e->currency, sizeof e->currency, cd->d.currency);
    copy_c(e->decision, sizeof e->decision, cd->id);
    copy_c(e->cause, sizeof e->cause, cd->id);
    snprintf(e->id, sizeof e->id, "%s:%s:%s", cd->id, fc_ledger_kind_name(kind),
             fc_party_name(party));
}

size_t fc_case_ledger_for(const fc_case_decision *cd, int confirmed, fc_ledger_entry *out,
                          size_t max) {
    const fc_consequence *c = &cd->d.consequence;
    size_t n = 0;
    if (cd->d.review && !confirmed) {
        return 0;
    }
    /* The rider: points are signed (negative a penalty); the money amount
     * of a penalty is a fine, written negative in the ledger. A warning an
     * exemption gave is recorded as a penalty of nothing. */
    int rider_has = c->rider_points != 0 || c->rider_amount_minor != 0 || c->warning_only;
    if (rider_has && cd->d.liable == FC_PARTY_RIDER && n < max) {
        int reward = c->rider_points > 0 || c->rider_amount_minor < 0;
        int penalty = c->rider_points < 0 || c->rider_amount_minor > 0 || c->warning_only;
        fc_ledger_kind k = reward && !penalty ? FC_LEDGER_REWARD : FC_LEDGER_PENALTY;
        ledger_init(cd, k, FC_PARTY_RIDER, cd->rider, &out[n]);
        out[n].points = c->rider_points;
        out[n].amount_minor = -c->rider_amount_minor;
        out[n].warning_only = c->warning_only;
        n++;
    }
    if (c->merchant_chargeback_minor != 0 && n < max) {
        ledger_init(cd, FC_LEDGER_CHARGEBACK, FC_PARTY_MERCHANT, cd->merchant, &out[n]);
        out[n].amount_minor = -c->merchant_chargeback_minor;
        n++;
    }
    if (c->customer_compensation_minor != 0 && n < max) {
        ledger_init(cd, FC_LEDGER_COMPENSATION, FC_PARTY_CUSTOMER, cd->order, &out[n]);
        out[n].amount_minor = c->customer_compensation_minor;
        n++;
    }
    return n;
}

void fc_case_ledger_reverse(const fc_ledger_entry *e, const char *cause, int keep_percent,
                            fc_ledger_entry *out) {
    fc_ledger_entry r;
    memset(&r, 0, sizeof r);
    if (keep_percent < 0) {
        keep_percent = 0;
    }
    if (keep_percent > 100) {
        keep_percent = 100;
    }
    if (cause == NULL) {
        cause = "";
    }
    r.kind = FC_LEDGER_REVERSAL;
    r.party = e->party;
    copy_c(r.party_id, sizeof r.party_id, e->party_id);
    copy_c(r.currency, sizeof r.currency, e->currency);
    copy_c(r.decision, sizeof r.decision, e->decision);
    copy_c(r.reverses, sizeof r.reverses, e->id);
    copy_c(r.cause, sizeof r.cause, cause);
    r.warning_only = e->warning_only;
    /* C division truncates toward zero: the kept share rounds toward zero,
     * and the reversal undoes exactly the rest. */
    int32_t kept_points = (int32_t)((int64_t)e->points * keep_percent / 100);
    int64_t kept_amount =
        e->amount_minor / 100 * keep_percent + e->amount_minor % 100 * keep_percent / 100;
    r.points = -(e->points - kept_points);
    r.amount_minor = -(e->amount_minor - kept_amount);
    /* The id names the entry undone and its cause; a cause too long to fit
     * is named by a hash of it, so that ids stay unique. */
    size_t id_n = strlen(e->id), cause_n = strlen(cause);
    char hex[2 * 12 + 1];
    const char *tail = cause;
    if (id_n + 5 + cause_n >= sizeof r.id) {
        unsigned char h[crypto_hash_sha256_BYTES];
        crypto_hash_sha256(h, (const unsigned char *)cause, cause_n);
        hex_of(h, 12, hex);
        tail = hex;
        cause_n = 2 * 12;
        if (id_n > sizeof r.id - 1 - 5 - cause_n) {
            id_n = sizeof r.id - 1 - 5 - cause_n;
        }
    }
    memcpy(r.id, e->id, id_n);
    memcpy(r.id + id_n, ":rev:", 5);
    memcpy(r.id + id_n + 5, tail, cause_n);
    r.id[id_n + 5 + cause_n] = '\0';
    *out = r;
}

void fc_case_ledger_left(fc_ledger_entry *e, size_t n, const fc_ledger_entry *rev, size_t n_rev,
                         int *reversed) {
    for (size_t i = 0; i < n; i++) {
        int named = 0;
        for (size_t k = 0; k < n_rev; k++) {
            if (strcmp(rev[k].reverses, e[i].id) == 0) {
                e[i].points = (int32_t)(e[i].points + rev[k].points);
                e[i].amount_minor += rev[k].amount_minor;
                named = 1;
            }
        }
        if (reversed != NULL) {
            reversed[i] = named;
        }
    }
}

int fc_case_ledger_json(const fc_ledger_entry *e, char **out, size_t *len) {
    json_t *o = json_object();
    int bad = 0;
    bad |= put(o, "id", json_string(e->id));
    bad |= put(o, "kind", json_string(fc_ledger_kind_name(e->kind)));
    bad |= put(o, "party", json_string(fc_party_name(e->party)));
    bad |= put(o, "party_id", json_string(e->party_id));
    bad |= put(o, "points", json_integer(e->points));
    bad |= put(o, "amount_minor", json_integer((json_int_t)e->amount_minor));
    bad |= put(o, "currency", json_string(e->currency));
    bad |= put(o, "decision", json_string(e->decision));
    bad |= put(o, "reverses", json_string(e->reverses));
    bad |= put(o, "cause", json_string(e->cause));
    bad |= put(o, "warning_only", json_boolean(e->warning_only));
    return dump(o, bad, out, len);
}

int fc_case_ledger_parse(fc_str body, fc_ledger_entry *out, fc_err *err) {
    parser ps = {err, "ledger entry", FC_OK};
    memset(out, 0, sizeof *out);
    json_t *root = NULL;
    json_t *o = load_object(&ps, body, &root);
    if (o == NULL) {
        goto out;
    }
    get_text(&ps, o, "id", "id", out->id, sizeof out->id);
    out->kind =
        (fc_ledger_kind)get_name(&ps, o, "kind", "kind", ledger_kind_i, FC_LEDGER__COUNT, 0);
    out->party = (fc_party)get_name(&ps, o, "party", "party", party_name_i, FC_PARTY__COUNT, 1);
    get_text(&ps, o, "party_id", "party_id", out->party_id, sizeof out->party_id);
    out->points = (int32_t)get_int(&ps, o, "points", "points", INT32_MIN + 1, INT32_MAX, 0, 0);
    out->amount_minor =
        get_int(&ps, o, "amount_minor", "amount_minor", INT64_MIN + 1, INT64_MAX, 0, 0);
    get_text(&ps, o, "currency", "currency", out->currency, sizeof out->currency);
    get_text(&ps, o, "decision", "decision", out->decision, sizeof out->decision);
    get_text(&ps, o, "reverses", "reverses", out->reverses, sizeof out->reverses);
    get_text(&ps, o, "cause", "cause", out->cause, sizeof out->cause);
    out->warning_only = get_bool(&ps, o, "warning_only", "warning_only");
    if (ps.rc == FC_OK && out->id[0] == '\0') {
        fail(&ps, "id", "empty");
    }
    if (ps.rc == FC_OK && out->kind == FC_LEDGER_REVERSAL && out->reverses[0] == '\0') {
        fail(&ps, "reverses", "a reversal must name the entry it undoes");
    }
out:
    json_decref(root);
    return ps.rc;
}

/* ---------------------------------------------------------------------------
 * Withdrawals.
 */

int fc_case_withdrawal_json(const fc_case_withdrawal *w, char **out, size_t *len) {
    json_t *o = json_object();
    int bad = 0;
    bad |= put(o, "id", json_string(w->id));
    bad |= put(o, "decision", json_string(w->decision));
    bad |= put(o, "order", json_string(w->order));
    bad |= put(o, "incident", json_string(fc_incident_name(w->incident)));
    bad |= put(o, "policy", json_string(w->policy_id));
    bad |= put(o, "policy_version", json_string(w->policy_version));
    bad |= put(o, "reason", json_string(w->reason));
    return dump(o, bad, out, len);
}

int fc_case_withdrawal_parse(fc_str body, fc_case_withdrawal *out, fc_err *err) {
    parser ps = {err, "withdrawal", FC_OK};
    memset(out, 0, sizeof *out);
    json_t *root = NULL;
    json_t *o = load_object(&ps, body, &root);
    if (o == NULL) {
        goto out;
    }
    get_text(&ps, o, "id", "id", out->id, sizeof out->id);
    get_text(&ps, o, "decision", "decision", out->decision, sizeof out->decision);
    get_text(&ps, o, "order", "order", out->order, sizeof out->order);
    out->incident = (fc_incident_kind)get_name(&ps, o, "incident", "incident", incident_name_i,
                                               FC_INCIDENT__COUNT, 0);
    get_text(&ps, o, "policy", "policy", out->policy_id, sizeof out->policy_id);
    get_text(&ps, o, "policy_version", "policy_version", out->policy_version,
             sizeof out->policy_version);
    get_text(&ps, o, "reason", "reason", out->reason, sizeof out->reason);
    if (ps.rc == FC_OK && out->decision[0] == '\0') {
        fail(&ps, "decision", "empty");
    }
out:
    json_decref(root);
    return ps.rc;
}
