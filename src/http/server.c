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
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http/http.h"
#include "store/store.h"

enum { ROUTE_HEALTH, ROUTE_READY, ROUTE_METRICS, ROUTE_OTHER, N_ROUTES };
static const char *const route_names[N_ROUTES] = {"/health", "/ready", "/metrics", "other"};

/* Statuses counted one by one; any other lands in the last slot. */
static const unsigned status_codes[] = {200, 400, 404, 405, 413, 500, 503};
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
    for (int r = 0; r < ROUTE_OTHER; r++) {
        if (strcmp(url, route_names[r]) == 0) {
            return r;
        }
    }
    return ROUTE_OTHER;
}

/* ---------------------------------------------------------------------------
 * Responses.
 */

static enum MHD_Result send_body(struct MHD_Connection *c, req *r, unsigned status,
                                 const char *type, const char *body, size_t len,
                                 const char *allow) {
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (resp == NULL) {
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (allow != NULL) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    }
    enum MHD_Result ok = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    if (ok == MHD_YES) {
        r->status = status;
    }
    return ok;
}

static enum MHD_Result send_json(struct MHD_Connection *c, req *r, unsigned status, json_t *j,
                                 const char *allow) {
    enum MHD_Result ok = MHD_NO;
    char *text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
    if (text != NULL) {
        ok = send_body(c, r, status, "application/json", text, strlen(text), allow);
    }
    free(text);
    json_decref(j);
    return ok;
}

/* {"error":{"code":code,"message":msg}} with the given status. */
static enum MHD_Result send_error(struct MHD_Connection *c, req *r, unsigned status,
                                  const char *code, const char *msg, const char *allow) {
    return send_json(c, r, status,
                     json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg), allow);
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
                       NULL);
    }
    fc_free(t.p);
    return ok;
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
    default:
        return get_metrics(h, c, r);
    }
}

/* ---------------------------------------------------------------------------
 * Start and stop.
 */

static void free_server(fc_http *h) {
    for (size_t i = 0; i < h->nstores; i++) {
        fc_store_close(h->stores[i]);
    }
    fc_free(h->stores);
    if (h->key_made) {
        pthread_key_delete(h->key);
        pthread_mutex_destroy(&h->mu);
    }
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
    h->key_made = 1;

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
