/*
 * http server: libmicrohttpd with a pool of worker threads, per-thread store
 * connections, request limits, Prometheus metrics and JSON errors.
 */
#include <arpa/inet.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "adjudicate/adjudicate.h"
#include "auth/auth.h"
#include "case/case.h"
#include "http/http.h"
#include "kpi/kpi.h"
#include "store/store.h"

/* The public routes come first (ROUTE_METRICS is the last of them); the
 * others need a token. Every route but ROUTE_OTHER is in docs/openapi.json. */
enum {
    ROUTE_HEALTH,
    ROUTE_READY,
    ROUTE_OPENAPI,
    ROUTE_METRICS,
    ROUTE_ME,
    ROUTE_KPI,
    ROUTE_DECISION,
    ROUTE_OTHER,
    N_ROUTES
};
static const char *const route_names[N_ROUTES] = {
    "/health", "/ready",  "/openapi.json",      "/metrics",
    "/v1/me",  "/v1/kpi", "/v1/decisions/{id}", "other"};
#define DECISIONS_PREFIX "/v1/decisions/"

/* Statuses counted one by one; any other lands in the last slot. */
static const unsigned status_codes[] = {200, 400, 401, 403, 404, 405, 413, 500, 503};
#define N_STATUS (sizeof status_codes / sizeof status_codes[0] + 1)

/* Upper bounds of the duration histogram, seconds (+Inf follows). */
static const double bucket_s[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1,
                                  0.25,  0.5,   1.0,  2.5,   5.0,  10.0};
#define N_BUCKETS (sizeof bucket_s / sizeof bucket_s[0])

struct fc_http {
    struct MHD_Daemon *d;
    fc_http_opts o;
    char *db_path;
    uint16_t port;
    pthread_key_t key;
    int key_made;
    pthread_mutex_t mu; /* guards stores and the metrics below */
    fc_store **stores;
    size_t nstores, cap;
    uint64_t counts[N_ROUTES][N_STATUS];
    uint64_t hist[N_BUCKETS + 1]; /* not cumulative; the last is over every bound */
    double sum_s;
    uint64_t total;
    long inflight; /* __atomic */
    char *openapi; /* the OpenAPI document read at start; NULL when unreadable */
    size_t openapi_len;
    char openapi_err[600];
    pthread_mutex_t kpi_mu; /* guards the loading of the fact table below */
    fc_facts *facts;        /* loaded on the first KPI request, then read-only */
    uint32_t *city_country; /* country value id of each city value id */
};

/* One request: made by the URI callback, freed when MHD says it completed. */
typedef struct req {
    int64_t start_ns;
    int route;
    unsigned status; /* 0 until a response is queued */
    int started;     /* the handler has seen the headers */
    size_t body_bytes;
} req;

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int route_of(const char *url) {
    if (strncmp(url, DECISIONS_PREFIX, strlen(DECISIONS_PREFIX)) == 0) {
        return ROUTE_DECISION;
    }
    for (int r = 0; r < ROUTE_DECISION; r++) {
        if (strcmp(url, route_names[r]) == 0) {
            return r;
        }
    }
    return ROUTE_OTHER;
}

/* ---------------------------------------------------------------------------
 * Responses.
 */

/* Queue a response; hdr names one extra header (may be NULL) set to hval. */
static enum MHD_Result send_body(struct MHD_Connection *c, req *r, unsigned status,
                                 const char *type, const char *body, size_t len, const char *hdr,
                                 const char *hval) {
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (resp == NULL) {
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (hdr != NULL) {
        MHD_add_response_header(resp, hdr, hval);
    }
    enum MHD_Result ok = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    if (ok == MHD_YES) {
        r->status = status;
    }
    return ok;
}

static enum MHD_Result send_json_hdr(struct MHD_Connection *c, req *r, unsigned status, json_t *j,
                                     const char *hdr, const char *hval) {
    enum MHD_Result ok = MHD_NO;
    char *text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
    if (text != NULL) {
        ok = send_body(c, r, status, "application/json", text, strlen(text), hdr, hval);
    }
    free(text);
    json_decref(j);
    return ok;
}

/* j as the body; allow (may be NULL) as the Allow header. */
static enum MHD_Result send_json(struct MHD_Connection *c, req *r, unsigned status, json_t *j,
                                 const char *allow) {
    return send_json_hdr(c, r, status, j, allow != NULL ? MHD_HTTP_HEADER_ALLOW : NULL, allow);
}

static json_t *error_json(const char *code, const char *msg) {
    return json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg);
}

/* {"error":{"code":code,"message":msg}} with the given status. */
static enum MHD_Result send_error(struct MHD_Connection *c, req *r, unsigned status,
                                  const char *code, const char *msg, const char *allow) {
    return send_json(c, r, status, error_json(code, msg), allow);
}

/* 401 unauthorized, with the challenge of RFC 6750 (invalid_token when a
 * token was presented). */
static enum MHD_Result send_unauthorized(struct MHD_Connection *c, req *r, int presented,
                                         const char *msg) {
    return send_json_hdr(c, r, MHD_HTTP_UNAUTHORIZED, error_json(FC_HTTP_EUNAUTHORIZED, msg),
                         MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                         presented ? "Bearer error=\"invalid_token\"" : "Bearer");
}

/* ---------------------------------------------------------------------------
 * The workers' store connections.
 */

/* This thread's store, opened on first use; NULL (with err) when it does
 * not open. */
static fc_store *thread_store(fc_http *h, fc_err *err) {
    fc_store *s = pthread_getspecific(h->key);
    if (s != NULL) {
        return s;
    }
    if (fc_store_open(h->db_path, &s, err) != FC_OK) {
        return NULL;
    }
    pthread_mutex_lock(&h->mu);
    int rc = fc_grow((void **)&h->stores, &h->cap, h->nstores + 1, sizeof *h->stores);
    if (rc == FC_OK) {
        h->stores[h->nstores++] = s;
    }
    pthread_mutex_unlock(&h->mu);
    if (rc != FC_OK || pthread_setspecific(h->key, s) != 0) {
        if (rc == FC_OK) {
            /* registered: closed at stop; this request goes without it */
            fc_err_set(err, FC_EINTERNAL, NULL, 0, 0, "cannot keep the store connection");
            return NULL;
        }
        fc_store_close(s);
        fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
        return NULL;
    }
    return s;
}

/* ---------------------------------------------------------------------------
 * Routes.
 */

static enum MHD_Result get_health(struct MHD_Connection *c, req *r) {
    return send_json(c, r, MHD_HTTP_OK, json_pack("{s:s}", "status", "ok"), NULL);
}

static enum MHD_Result get_ready(fc_http *h, struct MHD_Connection *c, req *r) {
    fc_err err;
    fc_err_clear(&err);
    fc_store *s = thread_store(h, &err);
    if (s == NULL || fc_store_schema_version(s) <= 0) {
        char msg[600];
        fc_err_format(&err, msg, sizeof msg);
        return send_json(c, r, MHD_HTTP_SERVICE_UNAVAILABLE,
                         json_pack("{s:s,s:{s:s,s:s}}", "status", "unavailable", "error", "code",
                                   FC_HTTP_EUNAVAILABLE, "message", msg),
                         NULL);
    }
    return send_json(
        c, r, MHD_HTTP_OK,
        json_pack("{s:s,s:i}", "status", "ready", "schema_version", fc_store_schema_version(s)),
        NULL);
}

/* A growable text buffer for the metrics page. */
typedef struct text {
    char *p;
    size_t len, cap;
    int failed;
} text;

static void put(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(text *t, const char *fmt, ...) {
    if (t->failed) {
        return;
    }
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->p != NULL ? t->p + t->len : NULL, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->failed = 1;
            return;
        }
        if (t->len + (size_t)n < t->cap) {
            t->len += (size_t)n;
            return;
        }
        if (fc_grow((void **)&t->p, &t->cap, t->len + (size_t)n + 1024, 1) != FC_OK) {
            t->failed = 1;
            return;
        }
    }
}

static enum MHD_Result get_metrics(fc_http *h, struct MHD_Connection *c, req *r) {
    text t = {0};
    pthread_mutex_lock(&h->mu);
    put(&t, "# HELP fulcrum_http_requests_total HTTP requests answered, by route and status.\n"
            "# TYPE fulcrum_http_requests_total counter\n");
    for (int rt = 0; rt < N_ROUTES; rt++) {
        for (size_t k = 0; k < N_STATUS; k++) {
            if (h->counts[rt][k] == 0) {
                continue;
            }
            char code[8];
            if (k + 1 < N_STATUS) {
                snprintf(code, sizeof code, "%u", status_codes[k]);
            } else {
                snprintf(code, sizeof code, "other");
            }
            put(&t, "fulcrum_http_requests_total{route=\"%s\",status=\"%s\"} %llu\n",
                route_names[rt], code, (unsigned long long)h->counts[rt][k]);
        }
    }
    put(&t, "# HELP fulcrum_http_request_duration_seconds Time from the request line to the "
            "end of the response.\n"
            "# TYPE fulcrum_http_request_duration_seconds histogram\n");
    uint64_t cum = 0;
    for (size_t b = 0; b < N_BUCKETS; b++) {
        cum += h->hist[b];
        put(&t, "fulcrum_http_request_duration_seconds_bucket{le=\"%g\"} %llu\n", bucket_s[b],
            (unsigned long long)cum);
    }
    cum += h->hist[N_BUCKETS];
    put(&t,
        "fulcrum_http_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
        "fulcrum_http_request_duration_seconds_sum %.6f\n"
        "fulcrum_http_request_duration_seconds_count %llu\n",
        (unsigned long long)cum, h->sum_s, (unsigned long long)h->total);
    pthread_mutex_unlock(&h->mu);
    put(&t,
        "# HELP fulcrum_http_requests_in_flight Requests being served now (this one included).\n"
        "# TYPE fulcrum_http_requests_in_flight gauge\n"
        "fulcrum_http_requests_in_flight %ld\n",
        __atomic_load_n(&h->inflight, __ATOMIC_RELAXED));
    enum MHD_Result ok;
    if (t.failed) {
        ok = send_error(c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, FC_HTTP_EINTERNAL, "out of memory",
                        NULL);
    } else {
        ok = send_body(c, r, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", t.p, t.len,
                       NULL, NULL);
    }
    fc_free(t.p);
    return ok;
}

/* The OpenAPI document read at start, or 503 when it could not be read. */
static enum MHD_Result get_openapi(fc_http *h, struct MHD_Connection *c, req *r) {
    if (h->openapi == NULL) {
        return send_error(c, r, MHD_HTTP_SERVICE_UNAVAILABLE, FC_HTTP_EUNAVAILABLE, h->openapi_err,
                          NULL);
    }
    return send_body(c, r, MHD_HTTP_OK, "application/json", h->openapi, h->openapi_len, NULL, NULL);
}

/* ---------------------------------------------------------------------------
 * Authenticated routes.
 */

/* The caller of a request that needs a token: FC_OK with *p and *t filled,
 * or a response queued (401, or 500/503 when the store fails) and *sent set
 * to the result of queueing it. */
static int authenticate(fc_http *h, struct MHD_Connection *c, req *r, fc_store **s, fc_principal *p,
                        fc_token *t, enum MHD_Result *sent) {
    const char *auth =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (auth == NULL) {
        *sent = send_unauthorized(c, r, 0,
                                  "this route needs an API token: "
                                  "Authorization: Bearer <token>");
        return FC_EINVAL;
    }
    if (strncasecmp(auth, "Bearer ", 7) != 0) {
        *sent = send_unauthorized(c, r, 0, "the Authorization header is not a Bearer token");
        return FC_EINVAL;
    }
    const char *tok = auth + 7;
    while (*tok == ' ') {
        tok++;
    }
    size_t n = strlen(tok);
    while (n > 0 && tok[n - 1] == ' ') {
        n--;
    }
    if (!fc_auth_token_wellformed(tok, n)) {
        *sent = send_unauthorized(c, r, 1, "the bearer token is malformed");
        return FC_EINVAL;
    }
    fc_err err;
    fc_err_clear(&err);
    *s = thread_store(h, &err);
    int ok = 0;
    if (*s == NULL ||
        fc_auth_check_token(*s, tok, n, (int64_t)time(NULL), p, t, &ok, &err) != FC_OK) {
        char msg[600];
        fc_err_format(&err, msg, sizeof msg);
        *sent = send_error(c, r, MHD_HTTP_SERVICE_UNAVAILABLE, FC_HTTP_EUNAVAILABLE, msg, NULL);
        return FC_ESTORE;
    }
    if (!ok) {
        *sent = send_unauthorized(c, r, 1, "unknown or revoked token");
        return FC_EINVAL;
    }
    return FC_OK;
}

static enum MHD_Result get_me(struct MHD_Connection *c, req *r, const fc_token *t) {
    return send_json(
        c, r, MHD_HTTP_OK,
        json_pack("{s:s,s:s,s:s}", "name", t->name, "role", t->role, "scope", t->scope), NULL);
}

/* The decision's body with "explanation" and "margin_text" as the text in
 * lang, and "lang" saying which. NULL on OOM. */
static json_t *decision_json(const fc_case_decision *cd, fc_lang lang) {
    char *body = NULL;
    size_t len = 0;
    if (fc_case_decision_json(cd, &body, &len) != FC_OK) {
        return NULL;
    }
    json_t *j = json_loadb(body, len, 0, NULL);
    fc_free(body);
    if (j == NULL || json_object_set_new(j, "lang", json_string(fc_lang_code(lang))) != 0 ||
        json_object_set_new(j, "explanation", json_string(cd->explanation[lang])) != 0 ||
        json_object_set_new(j, "margin_text", json_string(cd->margin_text[lang])) != 0) {
        json_decref(j);
        return NULL;
    }
    return j;
}

/* A decision id: 1 to FC_CASE_ID_MAX - 1 bytes of [A-Za-z0-9_-]. */
static int id_valid(const char *id) {
    size_t n = strlen(id);
    if (n == 0 || n >= FC_CASE_ID_MAX) {
        return 0;
    }
    return strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == n;
}

static enum MHD_Result get_decision(struct MHD_Connection *c, req *r, fc_store *s,
                                    const fc_principal *p, const char *id) {
    if (!id_valid(id)) {
        return send_error(c, r, MHD_HTTP_NOT_FOUND, FC_HTTP_ENOT_FOUND, "no such decision", NULL);
    }
    enum MHD_Result ok = MHD_NO;
    fc_err err;
    fc_err_clear(&err);
    fc_arena *arena = fc_arena_new(0);
    fc_case_decision *cd = fc_calloc(1, sizeof *cd);
    if (arena == NULL || cd == NULL) {
        ok = send_error(c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, FC_HTTP_EINTERNAL, "out of memory",
                        NULL);
        goto out;
    }
    int rc = fc_adj_decision_get(s, id, arena, cd, &err);
    if (rc == FC_ENOTFOUND) {
        ok = send_error(c, r, MHD_HTTP_NOT_FOUND, FC_HTTP_ENOT_FOUND, "no such decision", NULL);
        goto out;
    }
    if (rc != FC_OK) {
        char msg[600];
        fc_err_format(&err, msg, sizeof msg);
        ok = send_error(c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, FC_HTTP_EINTERNAL, msg, NULL);
        goto out;
    }
    fc_auth_resource res = {cd->country, cd->city, cd->rider, cd->merchant};
    if (!fc_auth_allows(p, FC_AUTH_READ_DECISION, &res)) {
        /* A rider or merchant must not learn that someone else's decision
         * exists: it is not found. A place-scoped role is told it is refused. */
        if (p->role == FC_ROLE_RIDER || p->role == FC_ROLE_MERCHANT) {
            ok = send_error(c, r, MHD_HTTP_NOT_FOUND, FC_HTTP_ENOT_FOUND, "no such decision", NULL);
        } else {
            ok = send_error(c, r, MHD_HTTP_FORBIDDEN, FC_HTTP_EFORBIDDEN,
                            "this decision is outside the token's scope", NULL);
        }
        goto out;
    }
    const char *accept =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_LANGUAGE);
    fc_lang lang = accept != NULL ? fc_lang_pick(accept) : FC_LANG_EN;
    if (cd->explanation[lang][0] == '\0') {
        lang = FC_LANG_EN; /* the policy has no text in that language */
    }
    json_t *j = decision_json(cd, lang);
    if (j == NULL) {
        ok = send_error(c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, FC_HTTP_EINTERNAL, "out of memory",
                        NULL);
        goto out;
    }
    ok = send_json_hdr(c, r, MHD_HTTP_OK, j, MHD_HTTP_HEADER_CONTENT_LANGUAGE, fc_lang_code(lang));
out:
    fc_free(cd);
    fc_arena_free(arena);
    return ok;
}

/* ---------------------------------------------------------------------------
 * KPIs: the fact table is loaded once, on the first request that needs it,
 * and shared read-only by every worker until the server stops.
 */

/* The shared fact table, loaded on first use with the store connection s;
 * NULL with err filled when it cannot be loaded. */
static const fc_facts *shared_facts(fc_http *h, fc_store *s, fc_err *err) {
    pthread_mutex_lock(&h->kpi_mu);
    if (h->facts == NULL) {
        fc_facts *t = NULL;
        if (fc_facts_load_store(s, NULL, &t, NULL, err) == FC_OK) {
            uint32_t n = fc_facts_cardinality(t, FC_DIM_CITY);
            h->city_country = fc_calloc((size_t)n + 1, sizeof *h->city_country);
            if (h->city_country == NULL) {
                fc_facts_free(t);
                fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
            } else {
                for (size_t row = 0; row < fc_facts_count(t); row++) {
                    h->city_country[fc_facts_value(t, FC_DIM_CITY, row)] =
                        fc_facts_value(t, FC_DIM_COUNTRY, row);
                }
                h->facts = t;
            }
        }
    }
    const fc_facts *t = h->facts;
    pthread_mutex_unlock(&h->kpi_mu);
    return t;
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
static int city_allowed(fc_http *h, const fc_facts *t, const fc_principal *p, const char *city) {
    char label[LABEL_MAX], country[LABEL_MAX];
    country[0] = '\0';
    for (uint32_t v = 0; v < fc_facts_cardinality(t, FC_DIM_CITY); v++) {
        fc_facts_label(t, FC_DIM_CITY, v, label, sizeof label);
        if (strcmp(label, city) == 0) {
            fc_facts_label(t, FC_DIM_COUNTRY, h->city_country[v], country, sizeof country);
            break;
        }
    }
    fc_auth_resource res = {country, city, NULL, NULL};
    return fc_auth_allows(p, FC_AUTH_READ_KPI, &res);
}

static int scope_cities_of(fc_http *h, const fc_facts *t, const fc_principal *p, scope_cities *sc) {
    uint32_t n = fc_facts_cardinality(t, FC_DIM_CITY);
    sc->labels = fc_calloc((size_t)n + 1, sizeof *sc->labels);
    sc->values = fc_calloc((size_t)n + 1, sizeof *sc->values);
    sc->n = 0;
    if (sc->labels == NULL || sc->values == NULL) {
        return FC_ENOMEM;
    }
    for (uint32_t v = 0; v < n; v++) {
        fc_facts_label(t, FC_DIM_CITY, v, sc->labels[sc->n], LABEL_MAX);
        if (city_allowed(h, t, p, sc->labels[sc->n])) {
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
static int where_in_scope(fc_http *h, const fc_facts *t, const fc_principal *p,
                          const fc_kpi_request *rq, const char **bad) {
    for (size_t f = 0; f < rq->q.n_filters; f++) {
        const fc_kpi_filter *fl = &rq->q.filters[f];
        for (size_t v = 0; v < fl->n_values; v++) {
            int ok = 1;
            if (fl->dim == FC_DIM_CITY) {
                ok = city_allowed(h, t, p, fl->values[v]);
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

static enum MHD_Result get_kpi(fc_http *h, struct MHD_Connection *c, req *r, fc_store *s,
                               const fc_principal *p) {
    enum MHD_Result ok = MHD_NO;
    char msg[800];
    fc_cube *cube = NULL;
    scope_cities sc = {0};
    int everywhere = fc_auth_allows(p, FC_AUTH_READ_KPI, NULL);
    kpi_params *kp = fc_calloc(1, sizeof *kp);
    fc_kpi_request *rq = fc_calloc(1, sizeof *rq);
    if (kp == NULL || rq == NULL) {
        ok = send_error(c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, FC_HTTP_EINTERNAL, "out of memory",
                        NULL);
        goto out;
    }
    fc_kpi_request_init(rq);
    if (!everywhere && p->role != FC_ROLE_ANALYST && p->role != FC_ROLE_REVIEWER) {
        snprintf(msg, sizeof msg, "the %s role may not read KPIs", fc_role_name(p->role));
        ok = send_error(c, r, MHD_HTTP_FORBIDDEN, FC_HTTP_EFORBIDDEN, msg, NULL);
        goto out;
    }
    kp->req = rq;
    fc_err_clear(&kp->err);
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, on_kpi_param, kp);
    if (kp->rc == FC_ENOMEM) {
        ok = send_error(c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, FC_HTTP_EINTERNAL, "out of memory",
                        NULL);
        goto out;
    }
    if (kp->rc != FC_OK) {
        snprintf(msg, sizeof msg, "%s: %s", kp->param, kp->err.msg);
        ok = send_error(c, r, MHD_HTTP_BAD_REQUEST, FC_HTTP_EBAD_REQUEST, msg, NULL);
        goto out;
    }
    fc_err err;
    fc_err_clear(&err);
    const fc_facts *t = shared_facts(h, s, &err);
    if (t == NULL) {
        fc_err_format(&err, msg, sizeof msg);
        ok = send_error(c, r, MHD_HTTP_SERVICE_UNAVAILABLE, FC_HTTP_EUNAVAILABLE, msg, NULL);
        goto out;
    }
    if (!everywhere) {
        const char *bad = NULL;
        if (!where_in_scope(h, t, p, rq, &bad)) {
            snprintf(msg, sizeof msg, "where: '%.200s' is outside the token's scope", bad);
            ok = send_error(c, r, MHD_HTTP_FORBIDDEN, FC_HTTP_EFORBIDDEN, msg, NULL);
            goto out;
        }
        if (rq->q.n_filters == FC_KPI_REQ_MAX_FILTERS) {
            snprintf(msg, sizeof msg, "where: at most %d filters with a scoped token",
                     FC_KPI_REQ_MAX_FILTERS - 1);
            ok = send_error(c, r, MHD_HTTP_BAD_REQUEST, FC_HTTP_EBAD_REQUEST, msg, NULL);
            goto out;
        }
        if (scope_cities_of(h, t, p, &sc) != FC_OK) {
            ok = send_error(c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, FC_HTTP_EINTERNAL,
                            "out of memory", NULL);
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
        fc_err_format(&err, msg, sizeof msg);
        ok = err.code == FC_ENOMEM
                 ? send_error(c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, FC_HTTP_EINTERNAL, msg, NULL)
                 : send_error(c, r, MHD_HTTP_BAD_REQUEST, FC_HTTP_EBAD_REQUEST, msg, NULL);
        goto out;
    }
    json_t *j = kpi_json(t, cube, rq);
    ok = j != NULL ? send_json(c, r, MHD_HTTP_OK, j, NULL)
                   : send_error(c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, FC_HTTP_EINTERNAL,
                                "out of memory", NULL);
out:
    fc_cube_free(cube);
    scope_cities_free(&sc);
    if (rq != NULL) {
        fc_kpi_request_free(rq);
    }
    fc_free(rq);
    fc_free(kp);
    return ok;
}

/* A route that needs a token: authenticate, then serve. */
static enum MHD_Result serve_private(fc_http *h, struct MHD_Connection *c, req *r,
                                     const char *url) {
    fc_store *s = NULL;
    fc_principal p;
    fc_token t;
    enum MHD_Result sent = MHD_NO;
    if (authenticate(h, c, r, &s, &p, &t, &sent) != FC_OK) {
        return sent;
    }
    if (r->route == ROUTE_ME) {
        return get_me(c, r, &t);
    }
    if (r->route == ROUTE_KPI) {
        return get_kpi(h, c, r, s, &p);
    }
    return get_decision(c, r, s, &p, url + strlen(DECISIONS_PREFIX));
}

/* ---------------------------------------------------------------------------
 * MHD callbacks.
 */

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c) {
    (void)uri;
    (void)c;
    fc_http *h = cls;
    req *r = fc_calloc(1, sizeof *r);
    if (r != NULL) {
        r->start_ns = now_ns();
        r->route = ROUTE_OTHER;
        __atomic_add_fetch(&h->inflight, 1, __ATOMIC_RELAXED);
    }
    return r;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode why) {
    (void)c;
    (void)why;
    fc_http *h = cls;
    req *r = *con_cls;
    if (r == NULL) {
        return;
    }
    *con_cls = NULL;
    if (r->status != 0) {
        double dur_s = (double)(now_ns() - r->start_ns) / 1e9;
        size_t k = 0;
        while (k + 1 < N_STATUS && status_codes[k] != r->status) {
            k++;
        }
        size_t b = 0;
        while (b < N_BUCKETS && dur_s > bucket_s[b]) {
            b++;
        }
        pthread_mutex_lock(&h->mu);
        h->counts[r->route][k]++;
        h->hist[b]++;
        h->sum_s += dur_s;
        h->total++;
        pthread_mutex_unlock(&h->mu);
    }
    __atomic_sub_fetch(&h->inflight, 1, __ATOMIC_RELAXED);
    fc_free(r);
}

static enum MHD_Result send_too_large(fc_http *h, struct MHD_Connection *c, req *r) {
    char msg[128];
    snprintf(msg, sizeof msg, "the request body is over the limit of %zu bytes",
             h->o.body_limit_bytes);
    return send_error(c, r, MHD_HTTP_CONTENT_TOO_LARGE, FC_HTTP_ETOO_LARGE, msg, NULL);
}

static int is_get(const char *method) {
    return strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls) {
    (void)version;
    (void)upload_data;
    fc_http *h = cls;
    req *r = *con_cls;
    if (r == NULL) {
        return MHD_NO; /* out of memory when the request began: drop it */
    }
    if (r->status != 0) {
        *upload_data_size = 0; /* answered already: the rest of the body is dropped */
        return MHD_YES;
    }
    if (!r->started) {
        r->started = 1;
        r->route = route_of(url);
        const char *cl =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        int64_t declared = 0;
        if (cl != NULL && fc_parse_i64(fc_str_c(cl), &declared) == FC_OK &&
            (uint64_t)declared > h->o.body_limit_bytes) {
            return send_too_large(h, c, r); /* before any of the body is read */
        }
        return MHD_YES; /* the body (if any) comes in the next calls */
    }
    if (*upload_data_size > 0) {
        /* MHD takes no response while a body is arriving: a body found over
         * the limit (chunked, or longer than declared) is counted and dropped
         * to its end, then refused; past 16 times the limit the connection is
         * closed without an answer. */
        r->body_bytes += *upload_data_size;
        *upload_data_size = 0;
        return r->body_bytes / 16 > h->o.body_limit_bytes ? MHD_NO : MHD_YES;
    }
    if (r->body_bytes > h->o.body_limit_bytes) {
        return send_too_large(h, c, r);
    }
    if (r->route == ROUTE_OTHER) {
        char msg[300];
        snprintf(msg, sizeof msg, "no route for %.16s %.200s", method, url);
        return send_error(c, r, MHD_HTTP_NOT_FOUND, FC_HTTP_ENOT_FOUND, msg, NULL);
    }
    if (!is_get(method)) {
        char msg[300];
        snprintf(msg, sizeof msg, "%.200s accepts GET and HEAD, not %.16s", url, method);
        return send_error(c, r, MHD_HTTP_METHOD_NOT_ALLOWED, FC_HTTP_EMETHOD, msg, "GET, HEAD");
    }
    switch (r->route) {
    case ROUTE_HEALTH:
        return get_health(c, r);
    case ROUTE_READY:
        return get_ready(h, c, r);
    case ROUTE_OPENAPI:
        return get_openapi(h, c, r);
    case ROUTE_ME:
    case ROUTE_KPI:
    case ROUTE_DECISION:
        return serve_private(h, c, r, url);
    default:
        return get_metrics(h, c, r);
    }
}

/* ---------------------------------------------------------------------------
 * Start and stop.
 */

/* Read the OpenAPI document (FULCRUM_OPENAPI, or docs/openapi.json of the
 * source tree) into h; when it cannot be read, h->openapi_err says why and
 * GET /openapi.json answers 503. */
static void read_openapi(fc_http *h) {
    const char *env = getenv("FULCRUM_OPENAPI");
    const char *path = env != NULL && env[0] != '\0' ? env : FC_SOURCE_DIR "/docs/openapi.json";
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    if (j == NULL) {
        snprintf(h->openapi_err, sizeof h->openapi_err, "the OpenAPI document %.300s: %.200s", path,
                 je.text);
        return;
    }
    h->openapi = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (h->openapi == NULL) {
        snprintf(h->openapi_err, sizeof h->openapi_err, "out of memory");
        return;
    }
    h->openapi_len = strlen(h->openapi);
}

static void free_server(fc_http *h) {
    for (size_t i = 0; i < h->nstores; i++) {
        fc_store_close(h->stores[i]);
    }
    fc_free(h->stores);
    if (h->key_made) {
        pthread_key_delete(h->key);
        pthread_mutex_destroy(&h->mu);
        pthread_mutex_destroy(&h->kpi_mu);
    }
    fc_facts_free(h->facts);
    fc_free(h->city_country);
    free(h->openapi);
    fc_free(h->db_path);
    fc_free(h);
}

int fc_http_start(const fc_http_opts *o, fc_http **out, fc_err *err) {
    *out = NULL;
    fc_http *h = fc_calloc(1, sizeof *h);
    if (h == NULL) {
        return fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
    }
    h->o = *o;
    if (h->o.listen_addr == NULL || h->o.listen_addr[0] == '\0') {
        h->o.listen_addr = "127.0.0.1";
    }
    h->o.threads = h->o.threads != 0 ? h->o.threads : 2;
    h->o.body_limit_bytes = h->o.body_limit_bytes != 0 ? h->o.body_limit_bytes : 1u << 20;
    h->o.header_limit_bytes = h->o.header_limit_bytes != 0 ? h->o.header_limit_bytes : 32u << 10;
    h->o.timeout_s = h->o.timeout_s != 0 ? h->o.timeout_s : 30;
    h->o.max_connections = h->o.max_connections != 0 ? h->o.max_connections : 1024;
    h->o.stop_grace_ms = h->o.stop_grace_ms != 0 ? h->o.stop_grace_ms : 10000;
    h->db_path = fc_strdup(o->db_path != NULL ? o->db_path : "fulcrum.db");
    int rc = FC_OK;
    if (h->db_path == NULL) {
        rc = fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
        goto out;
    }
    if (h->o.threads > 256) {
        rc = fc_err_set(err, FC_EINVAL, NULL, 0, 0, "%u threads: at most 256", h->o.threads);
        goto out;
    }
    if (pthread_key_create(&h->key, NULL) != 0) {
        rc = fc_err_set(err, FC_EINTERNAL, NULL, 0, 0, "cannot create a thread key");
        goto out;
    }
    pthread_mutex_init(&h->mu, NULL);
    pthread_mutex_init(&h->kpi_mu, NULL);
    h->key_made = 1;
    read_openapi(h);

    struct sockaddr_in sa4;
    struct sockaddr_in6 sa6;
    memset(&sa4, 0, sizeof sa4);
    memset(&sa6, 0, sizeof sa6);
    const struct sockaddr *sa;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_USE_EPOLL;
    if (inet_pton(AF_INET, h->o.listen_addr, &sa4.sin_addr) == 1) {
        sa4.sin_family = AF_INET;
        sa4.sin_port = htons(h->o.port);
        sa = (const struct sockaddr *)&sa4;
    } else if (inet_pton(AF_INET6, h->o.listen_addr, &sa6.sin6_addr) == 1) {
        sa6.sin6_family = AF_INET6;
        sa6.sin6_port = htons(h->o.port);
        sa = (const struct sockaddr *)&sa6;
        flags |= MHD_USE_IPv6;
    } else {
        rc = fc_err_set(err, FC_EINVAL, NULL, 0, 0, "'%s' is not a numeric IPv4 or IPv6 address",
                        h->o.listen_addr);
        goto out;
    }
    h->d = MHD_start_daemon(
        flags, h->o.port, NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR, sa,
        MHD_OPTION_THREAD_POOL_SIZE, h->o.threads, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        h->o.header_limit_bytes, MHD_OPTION_CONNECTION_TIMEOUT, h->o.timeout_s,
        MHD_OPTION_CONNECTION_LIMIT, h->o.max_connections, MHD_OPTION_URI_LOG_CALLBACK, on_uri, h,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, h, MHD_OPTION_END);
    if (h->d == NULL) {
        rc = fc_err_set(err, FC_EIO, NULL, 0, 0, "cannot listen on %s port %u", h->o.listen_addr,
                        (unsigned)h->o.port);
        goto out;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info != NULL ? info->port : h->o.port;
out:
    if (rc != FC_OK) {
        free_server(h);
        return rc;
    }
    *out = h;
    return FC_OK;
}

uint16_t fc_http_port(const fc_http *h) {
    return h->port;
}

const char *fc_http_route(size_t i) {
    return i < ROUTE_OTHER ? route_names[i] : NULL;
}

uint64_t fc_http_requests(const fc_http *h) {
    fc_http *m = (fc_http *)h;
    pthread_mutex_lock(&m->mu);
    uint64_t n = m->total;
    pthread_mutex_unlock(&m->mu);
    return n;
}

void fc_http_stop(fc_http *h) {
    if (h == NULL) {
        return;
    }
    /* Stop accepting; requests in flight go on until done or out of grace. */
    MHD_socket lsock = MHD_quiesce_daemon(h->d);
    if (lsock != MHD_INVALID_SOCKET) {
        close(lsock); /* new connections are refused from now on */
    }
    for (unsigned waited_ms = 0; waited_ms < h->o.stop_grace_ms; waited_ms += 10) {
        if (__atomic_load_n(&h->inflight, __ATOMIC_RELAXED) == 0) {
            break;
        }
        usleep(10000);
    }
    MHD_stop_daemon(h->d);
    free_server(h);
}
