/*
 * http routes: the table every request is matched against, and the small
 * routes (health, readiness, the OpenAPI document, metrics, the caller).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "http/http_internal.h"

/* Open routes first; docs/api.md documents them in this order and
 * docs/openapi.json has every one (a test checks). */
const fc__http_route fc__http_routes[] = {
    {"GET", "/health", 1, fc__http_get_health},
    {"GET", "/ready", 1, fc__http_get_ready},
    {"GET", "/openapi.json", 1, fc__http_get_openapi},
    {"GET", "/metrics", 1, fc__http_get_metrics},
    {"GET", "/", 1, fc__http_get_console},
    {"GET", "/assets/{*}", 1, fc__http_get_console_asset},
    {"GET", "/v1/me", 0, fc__http_get_me},
    {"GET", "/v1/kpi", 0, fc__http_get_kpi},
    {"GET", "/v1/decisions", 0, fc__http_list_decisions},
    {"GET", "/v1/decisions/{id}", 0, fc__http_get_decision},
    {"GET", "/v1/orders/{id}", 0, fc__http_get_order},
    {"GET", "/v1/riders/{id}", 0, fc__http_get_rider},
    {"GET", "/v1/merchants/{id}", 0, fc__http_get_merchant},
    {"GET", "/v1/policies", 0, fc__http_get_policies},
    {"GET", "/v1/policies/{id}", 0, fc__http_get_policy},
    {"GET", "/v1/appeals", 0, fc__http_get_appeals},
    {"POST", "/v1/appeals", 0, fc__http_post_appeals},
    {"GET", "/v1/appeals/{id}", 0, fc__http_get_appeal},
    {"POST", "/v1/appeals/{id}/decision", 0, fc__http_post_appeal_decision},
    {"POST", "/v1/events", 0, fc__http_post_events},
};
const size_t fc__http_nroutes = sizeof fc__http_routes / sizeof fc__http_routes[0];

enum MHD_Result fc__http_get_health(fc_hreq *q) {
    return fc__http_send_json(q, MHD_HTTP_OK, json_pack("{s:s}", "status", "ok"));
}

enum MHD_Result fc__http_get_ready(fc_hreq *q) {
    fc_err err;
    fc_err_clear(&err);
    fc_store *s = fc__http_store(q->h, &err);
    if (s == NULL || fc_store_schema_version(s) <= 0) {
        char msg[600];
        fc_err_format(&err, msg, sizeof msg);
        return fc__http_send_json(q, MHD_HTTP_SERVICE_UNAVAILABLE,
                                  json_pack("{s:s,s:{s:s,s:s}}", "status", "unavailable", "error",
                                            "code", FC_HTTP_EUNAVAILABLE, "message", msg));
    }
    return fc__http_send_json(
        q, MHD_HTTP_OK,
        json_pack("{s:s,s:i}", "status", "ready", "schema_version", fc_store_schema_version(s)));
}

/* The OpenAPI document read at start, or 503 when it could not be read. */
enum MHD_Result fc__http_get_openapi(fc_hreq *q) {
    if (q->h->openapi == NULL) {
        return fc__http_send_error(q, MHD_HTTP_SERVICE_UNAVAILABLE, FC_HTTP_EUNAVAILABLE,
                                   q->h->openapi_err);
    }
    return fc__http_send(q, MHD_HTTP_OK, "application/json", q->h->openapi, q->h->openapi_len, NULL,
                         NULL);
}

enum MHD_Result fc__http_get_me(fc_hreq *q) {
    return fc__http_send_json(
        q, MHD_HTTP_OK,
        json_pack("{s:s,s:s,s:s}", "name", q->t->name, "role", q->t->role, "scope", q->t->scope));
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

enum MHD_Result fc__http_get_metrics(fc_hreq *q) {
    fc_http *h = q->h;
    text t = {0};
    pthread_mutex_lock(&h->mu);
    put(&t, "# HELP fulcrum_http_requests_total HTTP requests answered, by route and status.\n"
            "# TYPE fulcrum_http_requests_total counter\n");
    for (size_t rt = 0; rt <= fc__http_nroutes; rt++) {
        for (size_t k = 0; k < FC_HTTP_N_STATUS; k++) {
            if (h->counts[rt][k] == 0) {
                continue;
            }
            char code[8];
            if (k + 1 < FC_HTTP_N_STATUS) {
                snprintf(code, sizeof code, "%u", fc__http_status_codes[k]);
            } else {
                snprintf(code, sizeof code, "other");
            }
            if (rt == fc__http_nroutes) {
                put(&t, "fulcrum_http_requests_total{route=\"other\",status=\"%s\"} %llu\n", code,
                    (unsigned long long)h->counts[rt][k]);
            } else {
                put(&t,
                    "fulcrum_http_requests_total{route=\"%s\",method=\"%s\",status=\"%s\"} "
                    "%llu\n",
                    fc__http_routes[rt].path, fc__http_routes[rt].method, code,
                    (unsigned long long)h->counts[rt][k]);
            }
        }
    }
    put(&t, "# HELP fulcrum_http_request_duration_seconds Time from the request line to the "
            "end of the response.\n"
            "# TYPE fulcrum_http_request_duration_seconds histogram\n");
    uint64_t cum = 0;
    for (size_t b = 0; b < FC_HTTP_N_BUCKETS; b++) {
        cum += h->hist[b];
        put(&t, "fulcrum_http_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
            fc__http_bucket_s[b], (unsigned long long)cum);
    }
    cum += h->hist[FC_HTTP_N_BUCKETS];
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
    fc_store_checkpointer_info ck;
    fc_store_checkpointer_stats(h->ckpt, &ck);
    put(&t,
        "# HELP fulcrum_store_checkpoints_total Checkpoints of the store's log, by result.\n"
        "# TYPE fulcrum_store_checkpoints_total counter\n"
        "fulcrum_store_checkpoints_total{result=\"ok\"} %lld\n"
        "fulcrum_store_checkpoints_total{result=\"failed\"} %lld\n"
        "# HELP fulcrum_store_wal_pages Pages in the store's write-ahead log at the last "
        "checkpoint.\n"
        "# TYPE fulcrum_store_wal_pages gauge\n"
        "fulcrum_store_wal_pages %d\n",
        (long long)(ck.runs - ck.failures), (long long)ck.failures, ck.wal_frames);
    fc__http_judge_stats js;
    fc__http_judge_stats_get(h, &js);
    put(&t,
        "# HELP fulcrum_judge_queue_orders Orders queued for the background judge or being "
        "judged.\n"
        "# TYPE fulcrum_judge_queue_orders gauge\n"
        "fulcrum_judge_queue_orders %lld\n"
        "# HELP fulcrum_judge_queue_all Whether a run judging every order is queued or running.\n"
        "# TYPE fulcrum_judge_queue_all gauge\n"
        "fulcrum_judge_queue_all %d\n"
        "# HELP fulcrum_judge_lag_seconds Seconds since the oldest batch not yet judged was "
        "queued (0 when none waits).\n"
        "# TYPE fulcrum_judge_lag_seconds gauge\n"
        "fulcrum_judge_lag_seconds %.3f\n"
        "# HELP fulcrum_judge_runs_total Runs of the background judge that judged something.\n"
        "# TYPE fulcrum_judge_runs_total counter\n"
        "fulcrum_judge_runs_total %llu\n"
        "# HELP fulcrum_judge_failures_total Failed runs of the background judge (their orders "
        "kept).\n"
        "# TYPE fulcrum_judge_failures_total counter\n"
        "fulcrum_judge_failures_total %llu\n"
        "# HELP fulcrum_judge_orders_total Closed orders the background judge judged.\n"
        "# TYPE fulcrum_judge_orders_total counter\n"
        "fulcrum_judge_orders_total %lld\n"
        "# HELP fulcrum_judge_mark_seq The store's judged_seq mark: records up to it are "
        "judged (-1 until read).\n"
        "# TYPE fulcrum_judge_mark_seq gauge\n"
        "fulcrum_judge_mark_seq %lld\n",
        (long long)js.queued_orders, js.queued_all, js.lag_s, (unsigned long long)js.runs,
        (unsigned long long)js.failures, (long long)js.orders_judged, (long long)js.mark);
    enum MHD_Result ok;
    if (t.failed) {
        ok = fc__http_send_oom(q);
    } else {
        ok = fc__http_send(q, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", t.p, t.len,
                           NULL, NULL);
    }
    fc_free(t.p);
    return ok;
}
