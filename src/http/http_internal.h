/*
 * http internals: the server's state, one request's context, the route
 * table and the helpers every route file uses. Not for use outside
 * src/http/.
 *
 * A route is a method, a path template and a handler. Templates are matched
 * segment by segment: "{name}" matches one non-empty segment, which the
 * handler finds in q->arg[0], q->arg[1], ... in order; a template ending in
 * "/{*}" matches its prefix and any rest ("/assets/{*}" matches "/assets/a/b.js",
 * the rest "a/b.js" in q->rest). A path that matches a template under
 * another method is answered 405 with the Allow header; a path no template
 * matches, 404.
 *
 * Handlers run on a worker thread of the pool. Every handler queues exactly
 * one response through the fc__http_send* functions and returns what they
 * return. Handlers of routes that are not open run after the token was
 * checked: q->s is the worker's store connection, q->p and q->t the caller.
 */
#ifndef FC_HTTP_INTERNAL_H
#define FC_HTTP_INTERNAL_H

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/auth.h"
#include "case/case.h"
#include "http/http.h"
#include "kpi/kpi.h"
#include "policy/policy.h"
#include "store/store.h"

#define FC_HTTP_MAX_ROUTES 64  /* routes in the table, "other" included */
#define FC_HTTP_MAX_ARGS   3   /* {name} captures of one template */
#define FC_HTTP_ARG_MAX    128 /* bytes of one captured segment, NUL included */

/* Statuses counted one by one in the metrics (fc__http_status_codes); any
 * other lands in the last slot. Upper bounds of the duration histogram,
 * seconds (fc__http_bucket_s; +Inf follows). Both in server.c. */
#define FC_HTTP_N_STATUS  (13 + 1)
#define FC_HTTP_N_BUCKETS 12
extern const unsigned fc__http_status_codes[FC_HTTP_N_STATUS - 1];
extern const double fc__http_bucket_s[FC_HTTP_N_BUCKETS];

/* judge.c: the background judge of the orders POST /v1/events stored. One
 * thread with its own store connection; the queue below is filled by the
 * events route under events_mu, right after each commit, so it follows the
 * commit order. Everything here is guarded by mu. */
#define FC__JUDGE_RECENT 64 /* runs whose counts a waiting request can still read */
typedef struct fc__http_judge {
    pthread_t thread;
    int started;             /* the thread was created (joined by fc__http_judge_stop) */
    pthread_mutex_t mu;      /* guards the rest */
    pthread_cond_t wake;     /* signalled: something queued, a request waits, or stop */
    pthread_cond_t ran;      /* broadcast after each run (and when the thread ends) */
    fc_dict *pending;        /* orders queued and not yet taken by a run */
    int pending_all;         /* a stored record names no order: judge every order */
    int64_t records_since;   /* records this server stored since the last take */
    int64_t since_ns;        /* when the oldest batch not yet taken was queued (0: none) */
    int64_t running_ns;      /* ... of the run in progress (0: none runs) */
    uint32_t running_orders; /* orders the run in progress judges */
    int running_all;         /* the run in progress judges every order */
    int hurry;               /* a request waits for the next run: no debounce */
    int stopping;            /* fc_http_stop: judge what is queued, then end */
    int ended;               /* the thread ended: no run will come */
    int broken;              /* the thread cannot open the store (msg says why) */
    uint64_t taken;          /* takes of the queue so far; the next one is taken + 1 */
    uint64_t done;           /* the last take whose run succeeded: every order queued
                                before it is judged */
    uint64_t failed;         /* the last take whose run failed (its orders kept) */
    char msg[400];           /* why the last run failed, or the store does not open */
    uint64_t runs, failures; /* counters for /metrics */
    int64_t orders_judged;   /* closed orders judged, all runs */
    int64_t mark;            /* the judged_seq mark as last read or written; -1 unknown */
    struct {
        uint64_t take;
        int64_t orders;
    } recent[FC__JUDGE_RECENT]; /* the counts of recent successful runs, by take */
} fc__http_judge;

/* kpi.c: a value loaded from the store and shared read-only by the
 * workers (the KPI fact table, the reference entities), reloaded when
 * store_gen moved since it was loaded. A holder's value starts with this. */
typedef struct fc__http_snap {
    uint64_t gen; /* the store_gen it was loaded at */
    long refs;    /* under kpi_mu: holders, plus one while it is the current one */
} fc__http_snap;
typedef struct fc__http_cache {
    fc__http_snap *cur;   /* under kpi_mu: the current value, NULL before the first load */
    int loading;          /* under kpi_mu: a request is loading a newer one */
    int64_t last_load_ns; /* under kpi_mu: when the last load began (monotonic) */
} fc__http_cache;

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
    uint64_t counts[FC_HTTP_MAX_ROUTES][FC_HTTP_N_STATUS];
    uint64_t hist[FC_HTTP_N_BUCKETS + 1]; /* not cumulative; the last is over every bound */
    double sum_s;
    uint64_t total;
    long inflight; /* __atomic */
    char *openapi; /* the OpenAPI document read at start; NULL when unreadable */
    size_t openapi_len;
    char openapi_err[600];
    fc_policy_pack *pack;           /* loaded at start; read-only */
    pthread_mutex_t kpi_mu;         /* guards kpi and ref below and their reference counts */
    fc__http_cache kpi;             /* kpi.c: the fact table (fc__http_kpi_acquire) */
    fc__http_cache ref;             /* kpi.c: the reference entities (fc__http_ref_acquire) */
    uint64_t store_gen;             /* __atomic: bumped after every write the KPIs may see */
    fc_store *watch;                /* kpi.c: the connection that polls the data version */
    int watch_busy;                 /* __atomic: a request is polling it */
    int64_t watch_next_ns;          /* __atomic: the next poll, not before (monotonic) */
    int64_t watch_version;          /* the data version last read (under watch_busy) */
    pthread_mutex_t events_mu;      /* events.c: one writer of events at a time */
    int events_stopping;            /* under events_mu: fc_http_stop began; store no more */
    pthread_mutex_t tok_mu;         /* guards tok_cache */
    struct fc__http_tok *tok_cache; /* server.c: tokens checked in the last second */
    fc_store_checkpointer *ckpt;    /* keeps the log short; the workers do not checkpoint */
    fc__http_judge judge;           /* judge.c */
};

/* One request: made by the URI callback, freed when MHD says it completed. */
typedef struct fc__http_req {
    int64_t start_ns;
    int route;       /* index in fc__http_routes; fc__http_nroutes for "other" */
    unsigned status; /* 0 until a response is queued */
    int started;     /* the handler has seen the headers */
    size_t body_bytes;
    char *body; /* the request body, NUL-terminated (NULL when empty or over the limit) */
    size_t body_cap;
} fc__http_req;

/* What a handler is given. */
typedef struct fc_hreq {
    fc_http *h;
    struct MHD_Connection *c;
    fc__http_req *r;
    const char *method;
    const char *url;
    const char *arg[FC_HTTP_MAX_ARGS]; /* the {name} segments, in order */
    const char *rest;                  /* what "/{*}" matched ("" when nothing) */
    const char *body;                  /* the request body, NUL-terminated; "" when none */
    size_t body_len;
    fc_store *s;           /* the worker's store (not open routes) */
    const fc_principal *p; /* the caller (not open routes) */
    const fc_token *t;
} fc_hreq;

typedef enum MHD_Result (*fc__http_fn)(fc_hreq *q);

typedef struct fc__http_route {
    const char *method; /* "GET" (HEAD too), "POST", ... */
    const char *path;   /* the template */
    int open;           /* 1: no token needed */
    fc__http_fn fn;
} fc__http_route;

/* The route table (routes.c), in the order of docs/api.md. */
extern const fc__http_route fc__http_routes[];
extern const size_t fc__http_nroutes;

/* ---------------------------------------------------------------------------
 * Responses (respond.c). Each queues one response and returns MHD's result.
 */

/* body[0..len) (copied) as a `type` response; hdr (may be NULL) set to hval. */
enum MHD_Result fc__http_send(fc_hreq *q, unsigned status, const char *type, const char *body,
                              size_t len, const char *hdr, const char *hval);
/* j (stolen; NULL means out of memory: 500) as the JSON body. */
enum MHD_Result fc__http_send_json(fc_hreq *q, unsigned status, json_t *j);
/* Likewise, with one extra header. */
enum MHD_Result fc__http_send_json_hdr(fc_hreq *q, unsigned status, json_t *j, const char *hdr,
                                       const char *hval);
/* {"error":{"code":code,"message":msg}}. */
enum MHD_Result fc__http_send_error(fc_hreq *q, unsigned status, const char *code, const char *msg);
/* Likewise, the message formatted. */
enum MHD_Result fc__http_send_errorf(fc_hreq *q, unsigned status, const char *code, const char *fmt,
                                     ...) __attribute__((format(printf, 4, 5)));
/* The error err as a response: 404 for FC_ENOTFOUND, 400 for FC_EINVAL and
 * FC_EPARSE, 409 for FC_ECONFLICT, 500 for FC_ENOMEM and the rest, 503 for
 * FC_ESTORE. */
enum MHD_Result fc__http_send_err(fc_hreq *q, const fc_err *err);
/* 500 "out of memory". */
enum MHD_Result fc__http_send_oom(fc_hreq *q);
/* 401 with the challenge of RFC 6750 (invalid_token when one was presented). */
enum MHD_Result fc__http_send_unauthorized(fc_hreq *q, int presented, const char *msg);

/* The monotonic clock, ns: for durations and expiries, never for "now" in
 * the store (that is time(NULL)). */
int64_t fc__http_now_ns(void);

/* This thread's store, opened on first use; NULL (with err) when it does
 * not open. */
fc_store *fc__http_store(fc_http *h, fc_err *err);

/* The language of Accept-Language (FC_LANG_EN when absent). */
fc_lang fc__http_lang(fc_hreq *q);

/* The query parameter `key`, NULL when absent. */
const char *fc__http_param(fc_hreq *q, const char *key);

/* The body parsed as JSON; NULL with a 400 queued (*sent) when it is not. */
json_t *fc__http_body_json(fc_hreq *q, enum MHD_Result *sent);

/* ---------------------------------------------------------------------------
 * Handlers, by file.
 */

/* routes.c */
enum MHD_Result fc__http_get_health(fc_hreq *q);
enum MHD_Result fc__http_get_ready(fc_hreq *q);
enum MHD_Result fc__http_get_openapi(fc_hreq *q);
enum MHD_Result fc__http_get_metrics(fc_hreq *q);
enum MHD_Result fc__http_get_me(fc_hreq *q);

/* static.c: the web console (index.html at /, the bundle at /assets/) */
enum MHD_Result fc__http_get_console(fc_hreq *q);
enum MHD_Result fc__http_get_console_asset(fc_hreq *q);

/* kpi.c */
enum MHD_Result fc__http_get_kpi(fc_hreq *q);
/* A fact table shared by the workers: read-only, with the country value id
 * of each city value id. */
typedef struct fc__kpi_table {
    fc__http_snap snap;
    fc_facts *facts;
    uint32_t *city_country;
    struct fc__kpi_answers *answers; /* kpi.c: answers already computed from this table */
} fc__kpi_table;
/* The current table, loaded on first use with s (the caller's store), or
 * reloaded when store_gen moved since it was loaded and the last load began
 * at least a second ago (requests meanwhile get the current one). A held
 * table stays valid until fc__http_kpi_release, whatever reloads happen.
 * NULL with err filled when it cannot be loaded. */
fc__kpi_table *fc__http_kpi_acquire(fc_http *h, fc_store *s, fc_err *err);
void fc__http_kpi_release(fc_http *h, fc__kpi_table *t); /* NULL is a no-op */
/* Every reference entity of the store (cities with their time zones,
 * zones, merchants, riders), shared by the workers for the routes that fold
 * an order: loaded and reloaded as the KPI table is. Read-only; valid until
 * fc__http_ref_release. NULL with err filled when it cannot be loaded. */
typedef struct fc__http_ref {
    fc__http_snap snap;
    fc_ref *ref;
} fc__http_ref;
fc__http_ref *fc__http_ref_acquire(fc_http *h, fc_store *s, fc_err *err);
void fc__http_ref_release(fc_http *h, fc__http_ref *r); /* NULL is a no-op */
/* At stop: drop the current table and reference entities and close the
 * watch connection (no request holds any of them any more). */
void fc__http_kpi_free(fc_http *h);
/* Tell the shared values that the store changed (after the commit). Writes
 * by other processes are noticed by the acquires themselves: at most once a
 * second they compare the store's data version (fc_store_data_version) and
 * call this when it moved. */
void fc__http_store_changed(fc_http *h);

/* events.c */
enum MHD_Result fc__http_post_events(fc_hreq *q);

/* judge.c: the background judge (struct fc__http_judge above). The mark
 * "judged_seq" in the store says how far it has got: every record with seq
 * <= it has had its orders judged, or was posted with judge=0. */
#define FC__JUDGE_MARK "judged_seq"
/* Make the queue (before any request can come): FC_OK or FC_ENOMEM. */
int fc__http_judge_init(fc_http *h, fc_err *err);
/* Start the thread (it opens its own store connection, retrying while it
 * cannot). FC_OK, or FC_EINTERNAL with err. */
int fc__http_judge_start(fc_http *h, fc_err *err);
/* Let the thread judge what is queued (one more try, even while backing
 * off), then end it and free the queue. Call once no request can queue any
 * more. Safe when init or start failed or was not called. */
void fc__http_judge_stop(fc_http *h);
/* Under events_mu, right after a commit that stored `records` new records
 * (> 0): queue the orders of `orders` (borrowed; NULL: none, the batch is
 * not to be judged), and a whole run when `all`. Returns the ticket a
 * request waits with (fc__http_judge_wait). FC_ENOMEM when the orders
 * cannot be queued: then the store's mark still holds them (they are
 * judged at the next take that reads the store, or the next start). */
int fc__http_judge_queue(fc_http *h, const fc_dict *orders, int64_t records, int all,
                         uint64_t *ticket);
/* Wait until the run that takes `ticket` ended: FC_OK with *judged the
 * closed orders that run judged, or FC_ESTORE with msg saying why it failed
 * (the orders stay queued), or why the judge cannot run. */
int fc__http_judge_wait(fc_http *h, uint64_t ticket, int64_t *judged, char *msg, size_t msgsz);
/* A snapshot for /metrics. */
typedef struct fc__http_judge_stats {
    int64_t queued_orders; /* waiting or being judged */
    int queued_all;        /* a whole run is waiting or running */
    double lag_s;          /* seconds since the oldest batch not yet judged was queued */
    uint64_t runs, failures;
    int64_t orders_judged;
    int64_t mark; /* -1 while unknown */
} fc__http_judge_stats;
void fc__http_judge_stats_get(fc_http *h, fc__http_judge_stats *out);

/* appeals.c */
enum MHD_Result fc__http_get_appeals(fc_hreq *q);
enum MHD_Result fc__http_post_appeals(fc_hreq *q);
enum MHD_Result fc__http_get_appeal(fc_hreq *q);
enum MHD_Result fc__http_post_appeal_decision(fc_hreq *q);

/* decisions.c */
enum MHD_Result fc__http_get_decision(fc_hreq *q);
enum MHD_Result fc__http_list_decisions(fc_hreq *q);

/* orders.c */
enum MHD_Result fc__http_get_order(fc_hreq *q);
/* An instant as RFC 3339 in tz (UTC "Z" when tz is NULL); null for
 * FC_TS_NONE. NULL on OOM. */
json_t *fc__http_time_json(const fc_tz *tz, int64_t t);
/* One word for what a decision does: "suspension", "warning", "penalty",
 * "chargeback", "compensation" or "none" (static string). */
const char *fc__http_outcome(const fc_decision *d);
/* A decision as an item of the decision lists (docs/api.md): recorded_at
 * is its case entry's instant; the explanation in lang (English when the
 * policy has no text in lang). NULL on OOM. */
json_t *fc__http_decision_item(const fc_case_decision *cd, int64_t recorded_at, fc_lang lang);
/* An appeal or review item as in the lists (GET /v1/appeals items). NULL on
 * OOM. */
struct fc_appeal;
json_t *fc__http_appeal_brief(const struct fc_appeal *a);
/* The "order", "facts" and "fact_units" (and "timeline" when
 * with_timeline) of GET /v1/orders/{id} as one object; no access check (the
 * caller checks, with the object's order.country, city, rider, merchant).
 * NULL with err on failure (FC_ENOTFOUND when there is no such order). */
json_t *fc__http_order_json(fc_hreq *q, const char *order_id, int with_timeline, fc_err *err);

/* people.c */
enum MHD_Result fc__http_get_rider(fc_hreq *q);
enum MHD_Result fc__http_get_merchant(fc_hreq *q);

/* policies.c */
enum MHD_Result fc__http_get_policies(fc_hreq *q);
enum MHD_Result fc__http_get_policy(fc_hreq *q);
/* The decision as GET /v1/decisions/{id} answers it, the texts in lang
 * (English when the policy has none in lang; "lang" says which). Caller
 * decrefs; NULL on OOM. */
json_t *fc__http_decision_json(const fc_case_decision *cd, fc_lang lang);

#endif
