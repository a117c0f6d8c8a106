/*
 * GET /v1/kpi: KPI queries on a fact table loaded once and shared by the
 * workers, with analysts and reviewers held to their scope. Answers are
 * kept with the table they were computed from, so a repeated query costs a
 * lookup, not a cube build, until the table is reloaded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http/http_internal.h"

/* ---------------------------------------------------------------------------
 * KPIs: the fact table is loaded on the first request that needs it and
 * shared read-only by every worker. A write the KPIs may see (an ingest
 * through the server, or a commit of another process, seen through the
 * store's data version) bumps h->store_gen; the next request after that
 * loads a new table, at most once a second, while the others keep answering
 * from the current one. The reference entities the order routes fold with
 * are shared the same way.
 */

#define KPI_RELOAD_EVERY_NS 1000000000LL

/* ---------------------------------------------------------------------------
 * Answers: a direct-mapped cache of the JSON bodies of 200 answers, keyed by
 * the caller's role and scope and the query string, one per table. A slot
 * holds the last answer whose key hashed to it; bodies over
 * ANSWER_MAX_BYTES are not kept (at most ANSWER_SLOTS * ANSWER_MAX_BYTES per
 * table).
 */

#define ANSWER_SLOTS     512
#define ANSWER_MAX_BYTES (32u << 10)
#define ANSWER_KEY_MAX   2048

typedef struct answer {
    char *key;
    char *body;
    size_t body_len;
} answer;

typedef struct fc__kpi_answers {
    pthread_mutex_t mu;
    answer slot[ANSWER_SLOTS];
} fc__kpi_answers;

static void answers_free(fc__kpi_answers *a) {
    if (a == NULL) {
        return;
    }
    for (size_t i = 0; i < ANSWER_SLOTS; i++) {
        fc_free(a->slot[i].key);
        fc_free(a->slot[i].body);
    }
    pthread_mutex_destroy(&a->mu);
    fc_free(a);
}

/* A copy of the body kept under key (caller frees), or NULL. */
static char *answer_find(fc__kpi_answers *a, const char *key, size_t *len) {
    answer *e = &a->slot[fc_hash64(key, strlen(key), 0) % ANSWER_SLOTS];
    char *copy = NULL;
    pthread_mutex_lock(&a->mu);
    if (e->key != NULL && strcmp(e->key, key) == 0) {
        copy = fc_malloc(e->body_len + 1);
        if (copy != NULL) {
            memcpy(copy, e->body, e->body_len + 1);
            *len = e->body_len;
        }
    }
    pthread_mutex_unlock(&a->mu);
    return copy;
}

/* Keep body[0..len) under key (best effort: nothing is kept without memory). */
static void answer_keep(fc__kpi_answers *a, const char *key, const char *body, size_t len) {
    if (len > ANSWER_MAX_BYTES) {
        return;
    }
    char *k = fc_strdup(key);
    char *b = fc_malloc(len + 1);
    if (k == NULL || b == NULL) {
        fc_free(k);
        fc_free(b);
        return;
    }
    memcpy(b, body, len + 1);
    answer *e = &a->slot[fc_hash64(key, strlen(key), 0) % ANSWER_SLOTS];
    pthread_mutex_lock(&a->mu);
    char *old_k = e->key, *old_b = e->body;
    e->key = k;
    e->body = b;
    e->body_len = len;
    pthread_mutex_unlock(&a->mu);
    fc_free(old_k);
    fc_free(old_b);
}

/* The key of a request: role, scope and the query parameters in order. */
typedef struct key_buf {
    char s[ANSWER_KEY_MAX];
    size_t n;
    int overflow;
} key_buf;

static void key_put(key_buf *k, const char *a, const char *b) {
    int n = snprintf(k->s + k->n, sizeof k->s - k->n, "%s%s\n", a, b);
    if (n < 0 || (size_t)n >= sizeof k->s - k->n) {
        k->overflow = 1;
        return;
    }
    k->n += (size_t)n;
}

static enum MHD_Result on_key_param(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value) {
    (void)kind;
    key_buf *k = cls;
    key_put(k, key, "=");
    key_put(k, value != NULL ? value : "", "");
    return k->overflow ? MHD_NO : MHD_YES;
}

/* ---------------------------------------------------------------------------
 * Shared values (http_internal.h's fc__http_cache): the first load makes
 * every request wait for it; later, one request reloads while the others
 * keep the current value. A value is reference counted: the one replaced is
 * freed by the last request still reading it, the current one at stop.
 */

typedef fc__http_snap *(*snap_load_fn)(fc_store *s, uint64_t gen, fc_err *err);
typedef void (*snap_free_fn)(fc__http_snap *v);

/* Writes of other processes: at most once a second, one request compares
 * the store's data version on the watch connection (opened on first use)
 * and bumps store_gen when it moved. A failed poll is tried again a second
 * later; the shared values serve on meanwhile. */
static void watch_store(fc_http *h) {
    int64_t now = fc__http_now_ns();
    if (now < __atomic_load_n(&h->watch_next_ns, __ATOMIC_ACQUIRE)) {
        return;
    }
    int idle = 0;
    if (!__atomic_compare_exchange_n(&h->watch_busy, &idle, 1, 0, __ATOMIC_ACQ_REL,
                                     __ATOMIC_RELAXED)) {
        return;
    }
    __atomic_store_n(&h->watch_next_ns, now + KPI_RELOAD_EVERY_NS, __ATOMIC_RELEASE);
    fc_err err;
    fc_err_clear(&err);
    int64_t version = 0;
    int first = h->watch == NULL;
    if ((h->watch != NULL || fc_store_open(h->db_path, &h->watch, &err) == FC_OK) &&
        fc_store_data_version(h->watch, &version, &err) == FC_OK) {
        if (!first && version != h->watch_version) {
            fc__http_store_changed(h);
        }
        h->watch_version = version;
    }
    __atomic_store_n(&h->watch_busy, 0, __ATOMIC_RELEASE);
}

/* The current value of c, loaded with s on first use, reloaded when
 * store_gen moved and the last load began a second ago or more. NULL with
 * err when the first load fails. */
static fc__http_snap *cache_acquire(fc_http *h, fc__http_cache *c, fc_store *s, snap_load_fn load,
                                    snap_free_fn free_fn, fc_err *err) {
    watch_store(h);
    uint64_t gen = __atomic_load_n(&h->store_gen, __ATOMIC_ACQUIRE);
    pthread_mutex_lock(&h->kpi_mu);
    fc__http_snap *cur = c->cur;
    if (cur == NULL) {
        cur = load(s, gen, err);
        c->cur = cur;
        c->last_load_ns = fc__http_now_ns();
        if (cur != NULL) {
            cur->refs = 2; /* current, and this request */
        }
        pthread_mutex_unlock(&h->kpi_mu);
        return cur;
    }
    int64_t now = 0;
    int reload = cur->gen != gen && !c->loading &&
                 (now = fc__http_now_ns()) - c->last_load_ns >= KPI_RELOAD_EVERY_NS;
    if (!reload) {
        cur->refs++;
        pthread_mutex_unlock(&h->kpi_mu);
        return cur;
    }
    c->loading = 1;
    c->last_load_ns = now;
    pthread_mutex_unlock(&h->kpi_mu);

    fc_err lerr;
    fc_err_clear(&lerr);
    fc__http_snap *fresh = load(s, gen, &lerr);

    pthread_mutex_lock(&h->kpi_mu);
    c->loading = 0;
    fc__http_snap *old = NULL;
    if (fresh != NULL) {
        old = c->cur;
        fresh->refs = 1;
        c->cur = fresh;
        if (--old->refs > 0) {
            old = NULL; /* freed by the last request reading it */
        }
    }
    /* When the reload failed the current value serves on; a later request
     * tries again. */
    cur = c->cur;
    cur->refs++;
    pthread_mutex_unlock(&h->kpi_mu);
    if (old != NULL) {
        free_fn(old);
    }
    return cur;
}

static void cache_release(fc_http *h, fc__http_snap *v, snap_free_fn free_fn) {
    if (v == NULL) {
        return;
    }
    pthread_mutex_lock(&h->kpi_mu);
    int last = --v->refs == 0;
    pthread_mutex_unlock(&h->kpi_mu);
    if (last) {
        free_fn(v);
    }
}

/* ---------------------------------------------------------------------------
 * Tables.
 */

static void table_free(fc__http_snap *v) {
    fc__kpi_table *t = (fc__kpi_table *)v;
    if (t != NULL) {
        answers_free(t->answers);
        fc_facts_free(t->facts);
        fc_free(t->city_country);
        fc_free(t);
    }
}

/* Load a table from the store s at generation gen; NULL with err filled. */
static fc__http_snap *table_load(fc_store *s, uint64_t gen, fc_err *err) {
    fc__kpi_table *t = fc_calloc(1, sizeof *t);
    if (t == NULL) {
        fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
        return NULL;
    }
    t->snap.gen = gen;
    t->answers = fc_calloc(1, sizeof *t->answers);
    if (t->answers == NULL) {
        fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
        table_free(&t->snap);
        return NULL;
    }
    pthread_mutex_init(&t->answers->mu, NULL);
    if (fc_facts_load_store(s, NULL, &t->facts, NULL, err) != FC_OK) {
        table_free(&t->snap);
        return NULL;
    }
    uint32_t n = fc_facts_cardinality(t->facts, FC_DIM_CITY);
    t->city_country = fc_calloc((size_t)n + 1, sizeof *t->city_country);
    if (t->city_country == NULL) {
        fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
        table_free(&t->snap);
        return NULL;
    }
    for (size_t row = 0; row < fc_facts_count(t->facts); row++) {
        t->city_country[fc_facts_value(t->facts, FC_DIM_CITY, row)] =
            fc_facts_value(t->facts, FC_DIM_COUNTRY, row);
    }
    return &t->snap;
}

fc__kpi_table *fc__http_kpi_acquire(fc_http *h, fc_store *s, fc_err *err) {
    return (fc__kpi_table *)cache_acquire(h, &h->kpi, s, table_load, table_free, err);
}

void fc__http_kpi_release(fc_http *h, fc__kpi_table *t) {
    cache_release(h, t != NULL ? &t->snap : NULL, table_free);
}

/* ---------------------------------------------------------------------------
 * Reference entities.
 */

static void ref_free(fc__http_snap *v) {
    fc__http_ref *r = (fc__http_ref *)v;
    if (r != NULL) {
        fc_ref_free(r->ref);
        fc_free(r);
    }
}

static fc__http_snap *ref_load(fc_store *s, uint64_t gen, fc_err *err) {
    fc__http_ref *r = fc_calloc(1, sizeof *r);
    if (r == NULL || (r->ref = fc_ref_new()) == NULL) {
        fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
        ref_free(r != NULL ? &r->snap : NULL);
        return NULL;
    }
    r->snap.gen = gen;
    if (fc_store_load_ref(s, r->ref, err) != FC_OK) {
        ref_free(&r->snap);
        return NULL;
    }
    return &r->snap;
}

fc__http_ref *fc__http_ref_acquire(fc_http *h, fc_store *s, fc_err *err) {
    return (fc__http_ref *)cache_acquire(h, &h->ref, s, ref_load, ref_free, err);
}

void fc__http_ref_release(fc_http *h, fc__http_ref *r) {
    cache_release(h, r != NULL ? &r->snap : NULL, ref_free);
}

void fc__http_kpi_free(fc_http *h) {
    table_free(h->kpi.cur);
    h->kpi.cur = NULL;
    ref_free(h->ref.cur);
    h->ref.cur = NULL;
    fc_store_close(h->watch);
    h->watch = NULL;
}

void fc__http_store_changed(fc_http *h) {
    __atomic_add_fetch(&h->store_gen, 1, __ATOMIC_RELEASE);
}

#define LABEL_MAX 96

/* The cities of t a place-scoped principal may read. */
typedef struct scope_cities {
    char (*labels)[LABEL_MAX];
    const char **values;
    size_t n;
} scope_cities;

static void scope_cities_free(scope_cities *sc) {
    fc_free(sc->labels);
    fc_free(sc->values);
}

/* Whether p may read the KPIs of city label `city` (its country from t). */
static int city_allowed(const uint32_t *city_country, const fc_facts *t, const fc_principal *p,
                        const char *city) {
    char label[LABEL_MAX], country[LABEL_MAX];
    country[0] = '\0';
    for (uint32_t v = 0; v < fc_facts_cardinality(t, FC_DIM_CITY); v++) {
        fc_facts_label(t, FC_DIM_CITY, v, label, sizeof label);
        if (strcmp(label, city) == 0) {
            fc_facts_label(t, FC_DIM_COUNTRY, city_country[v], country, sizeof country);
            break;
        }
    }
    fc_auth_resource res = {country, city, NULL, NULL};
    return fc_auth_allows(p, FC_AUTH_READ_KPI, &res);
}

static int scope_cities_of(const uint32_t *city_country, const fc_facts *t, const fc_principal *p,
                           scope_cities *sc) {
    uint32_t n = fc_facts_cardinality(t, FC_DIM_CITY);
    sc->labels = fc_calloc((size_t)n + 1, sizeof *sc->labels);
    sc->values = fc_calloc((size_t)n + 1, sizeof *sc->values);
    sc->n = 0;
    if (sc->labels == NULL || sc->values == NULL) {
        return FC_ENOMEM;
    }
    for (uint32_t v = 0; v < n; v++) {
        fc_facts_label(t, FC_DIM_CITY, v, sc->labels[sc->n], LABEL_MAX);
        if (city_allowed(city_country, t, p, sc->labels[sc->n])) {
            sc->values[sc->n] = sc->labels[sc->n];
            sc->n++;
        }
    }
    return FC_OK;
}

/* Reading the query string into a request. */
typedef struct kpi_params {
    fc_kpi_request *req;
    fc_err err;
    char param[64]; /* the parameter at fault */
    int rc;
} kpi_params;

static enum MHD_Result on_kpi_param(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value) {
    (void)kind;
    kpi_params *kp = cls;
    const char *v = value != NULL ? value : "";
    if (strcmp(key, "by") == 0) {
        kp->rc = fc_kpi_request_by(kp->req, v, &kp->err);
    } else if (strcmp(key, "where") == 0) {
        kp->rc = fc_kpi_request_where(kp->req, v, &kp->err);
    } else if (strcmp(key, "kpi") == 0) {
        kp->rc = fc_kpi_request_kpis(kp->req, v, &kp->err);
    } else if (strcmp(key, "from") == 0 || strcmp(key, "to") == 0) {
        kp->rc = fc_kpi_request_when(kp->req, v, key[0] == 'f', &kp->err);
    } else {
        kp->rc = fc_err_set(&kp->err, FC_EINVAL, NULL, 0, 0,
                            "unknown parameter (by, where, from, to, kpi)");
    }
    if (kp->rc != FC_OK) {
        snprintf(kp->param, sizeof kp->param, "%.60s", key);
        return MHD_NO;
    }
    return MHD_YES;
}

/* A KPI cell as JSON: the number the CLI prints, or null when undefined. */
static json_t *kpi_cell(const fc_facts *t, const fc_kpi_counts *cnt, size_t k) {
    char cell[128];
    fc_kpi_format(t, cnt, k, cell, sizeof cell);
    if (cell[0] == '\0') {
        return json_null();
    }
    json_t *j = json_loads(cell, JSON_DECODE_ANY, NULL);
    return j != NULL ? j : json_string(cell);
}

/* {"by":[...],"kpis":[...],"rows":[...]} of cube c, rows in display order;
 * NULL on OOM. */
static json_t *kpi_json(const fc_facts *t, const fc_cube *c, const fc_kpi_request *rq) {
    const fc_cube_query *q = &rq->q;
    json_t *j = json_pack("{s:[],s:[],s:[]}", "by", "kpis", "rows");
    size_t *order = fc_kpi_display_order(t, c, q);
    int money = 0, failed = j == NULL || order == NULL;
    for (size_t b = 0; !failed && b < q->n_by; b++) {
        failed |= json_array_append_new(json_object_get(j, "by"),
                                        json_string(fc_dim_name(q->by[b]))) != 0;
    }
    for (size_t k = 0; !failed && k < rq->n_kpis; k++) {
        money |= fc_kpi_at(rq->kpis[k])->money;
        failed |= json_array_append_new(json_object_get(j, "kpis"),
                                        json_string(fc_kpi_at(rq->kpis[k])->name)) != 0;
    }
    size_t n_groups = fc_cube_groups(c);
    json_t *rows = json_object_get(j, "rows");
    for (size_t i = 0; !failed && (i < n_groups || (n_groups == 0 && i == 0 && q->n_by == 0));
         i++) {
        size_t g = n_groups == 0 ? 0 : order[i];
        const fc_kpi_counts *cnt = n_groups == 0 ? fc_cube_total(c) : fc_cube_counts(c, g);
        json_t *row = json_object();
        failed |= row == NULL || json_array_append_new(rows, row) != 0;
        for (size_t b = 0; !failed && b < q->n_by; b++) {
            char label[LABEL_MAX];
            fc_facts_label(t, q->by[b], fc_cube_key(c, g, b), label, sizeof label);
            failed |= json_object_set_new(row, fc_dim_name(q->by[b]), json_string(label)) != 0;
        }
        if (!failed && money) {
            int cur = fc_kpi_currency(cnt);
            /* as `fulcrum kpi`: "" when no currency, "mixed" when several */
            const char *code = cur >= 0    ? fc_facts_currency(t, (uint32_t)cur)
                               : cur == -2 ? "mixed"
                                           : "";
            failed |= json_object_set_new(row, "currency", json_string(code)) != 0;
        }
        for (size_t k = 0; !failed && k < rq->n_kpis; k++) {
            failed |= json_object_set_new(row, fc_kpi_at(rq->kpis[k])->name,
                                          kpi_cell(t, cnt, rq->kpis[k])) != 0;
        }
    }
    free(order);
    if (failed) {
        json_decref(j);
        return NULL;
    }
    return j;
}

/* 403 unless every value of the request's city and country filters is in
 * p's scope; *bad names the first refused value. */
static int where_in_scope(const uint32_t *city_country, const fc_facts *t, const fc_principal *p,
                          const fc_kpi_request *rq, const char **bad) {
    for (size_t f = 0; f < rq->q.n_filters; f++) {
        const fc_kpi_filter *fl = &rq->q.filters[f];
        for (size_t v = 0; v < fl->n_values; v++) {
            int ok = 1;
            if (fl->dim == FC_DIM_CITY) {
                ok = city_allowed(city_country, t, p, fl->values[v]);
            } else if (fl->dim == FC_DIM_COUNTRY) {
                fc_auth_resource res = {fl->values[v], NULL, NULL, NULL};
                ok = fc_auth_allows(p, FC_AUTH_READ_KPI, &res);
            }
            if (!ok) {
                *bad = fl->values[v];
                return 0;
            }
        }
    }
    return 1;
}

enum MHD_Result fc__http_get_kpi(fc_hreq *q) {
    fc_http *h = q->h;
    const fc_principal *p = q->p;
    enum MHD_Result ok = MHD_NO;
    char msg[800];
    fc_cube *cube = NULL;
    scope_cities sc = {0};
    fc__kpi_table *kt = NULL;
    key_buf key;
    key.n = 0;
    key.overflow = 0;
    key.s[0] = '\0';
    int everywhere = fc_auth_allows(p, FC_AUTH_READ_KPI, NULL);
    kpi_params *kp = fc_calloc(1, sizeof *kp);
    fc_kpi_request *rq = fc_calloc(1, sizeof *rq);
    if (kp == NULL || rq == NULL) {
        ok = fc__http_send_oom(q);
        goto out;
    }
    fc_kpi_request_init(rq);
    if (!everywhere && p->role != FC_ROLE_ANALYST && p->role != FC_ROLE_REVIEWER) {
        snprintf(msg, sizeof msg, "the %s role may not read KPIs", fc_role_name(p->role));
        ok = fc__http_send_error(q, MHD_HTTP_FORBIDDEN, FC_HTTP_EFORBIDDEN, msg);
        goto out;
    }
    fc_err err;
    fc_err_clear(&err);
    kt = fc__http_kpi_acquire(h, q->s, &err);
    if (kt == NULL) {
        fc_err_format(&err, msg, sizeof msg);
        ok = fc__http_send_error(q, MHD_HTTP_SERVICE_UNAVAILABLE, FC_HTTP_EUNAVAILABLE, msg);
        goto out;
    }
    /* An answer this table gave the same caller scope before is the answer. */
    key_put(&key, q->t->role, "");
    key_put(&key, q->t->scope, "");
    MHD_get_connection_values(q->c, MHD_GET_ARGUMENT_KIND, on_key_param, &key);
    if (!key.overflow) {
        size_t len = 0;
        char *body = answer_find(kt->answers, key.s, &len);
        if (body != NULL) {
            ok = fc__http_send(q, MHD_HTTP_OK, "application/json", body, len, NULL, NULL);
            fc_free(body);
            goto out;
        }
    }
    kp->req = rq;
    fc_err_clear(&kp->err);
    MHD_get_connection_values(q->c, MHD_GET_ARGUMENT_KIND, on_kpi_param, kp);
    if (kp->rc == FC_ENOMEM) {
        ok = fc__http_send_oom(q);
        goto out;
    }
    if (kp->rc != FC_OK) {
        snprintf(msg, sizeof msg, "%s: %s", kp->param, kp->err.msg);
        ok = fc__http_send_error(q, MHD_HTTP_BAD_REQUEST, FC_HTTP_EBAD_REQUEST, msg);
        goto out;
    }
    const fc_facts *t = kt->facts;
    if (!everywhere) {
        const char *bad = NULL;
        if (!where_in_scope(kt->city_country, t, p, rq, &bad)) {
            snprintf(msg, sizeof msg, "where: '%.200s' is outside the token's scope", bad);
            ok = fc__http_send_error(q, MHD_HTTP_FORBIDDEN, FC_HTTP_EFORBIDDEN, msg);
            goto out;
        }
        if (rq->q.n_filters == FC_KPI_REQ_MAX_FILTERS) {
            snprintf(msg, sizeof msg, "where: at most %d filters with a scoped token",
                     FC_KPI_REQ_MAX_FILTERS - 1);
            ok = fc__http_send_error(q, MHD_HTTP_BAD_REQUEST, FC_HTTP_EBAD_REQUEST, msg);
            goto out;
        }
        if (scope_cities_of(kt->city_country, t, p, &sc) != FC_OK) {
            ok = fc__http_send_oom(q);
            goto out;
        }
        /* The scope, forced in: only the cities the token may read. */
        fc_kpi_filter *scope = &rq->filters[rq->q.n_filters++];
        scope->dim = FC_DIM_CITY;
        scope->values = sc.values;
        scope->n_values = sc.n;
        rq->q.filters = rq->filters;
    }
    if (fc_cube_build(t, &rq->q, &cube, &err) != FC_OK) {
        ok = fc__http_send_err(q, &err);
        goto out;
    }
    json_t *j = kpi_json(t, cube, rq);
    char *text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (text == NULL) {
        ok = fc__http_send_oom(q);
        goto out;
    }
    size_t text_len = strlen(text);
    if (!key.overflow) {
        answer_keep(kt->answers, key.s, text, text_len);
    }
    ok = fc__http_send(q, MHD_HTTP_OK, "application/json", text, text_len, NULL, NULL);
    free(text);
out:
    fc_cube_free(cube);
    fc__http_kpi_release(h, kt);
    scope_cities_free(&sc);
    if (rq != NULL) {
        fc_kpi_request_free(rq);
    }
    fc_free(rq);
    fc_free(kp);
    return ok;
}
