/*
 * http: Fulcrum's HTTP server (libmicrohttpd, a pool of worker threads).
 *
 * Each worker thread opens its own store connection the first time one of
 * its requests needs the store; every connection is closed by fc_http_stop.
 * Routes (docs/api.md, docs/openapi.json): GET /health, GET /ready,
 * GET /openapi.json, GET /metrics, open to all; GET /v1/me, GET /v1/kpi and
 * GET /v1/decisions/{id}, which need an API token
 * ("Authorization: Bearer fc_..."), checked against the store on the
 * worker's connection (auth.h).
 *
 * GET /openapi.json serves the OpenAPI document read once at start from
 * $FULCRUM_OPENAPI, or else docs/openapi.json of the source tree (503 when
 * it could not be read). GET /v1/kpi answers from a fact table loaded from
 * the store on the first KPI request; POST /v1/events bumps a generation
 * after each batch that stored something, and the next KPI request after a
 * bump loads a new table, at most once a second (others meanwhile answer
 * from the current one; a replaced table is reference counted and freed by
 * its last reader). POST /v1/events batches are written one at a time (the
 * store has one writer); once fc_http_stop has begun, a batch that arrives
 * stores nothing (503), and one being stored is answered before the stop
 * completes. The orders a batch stored are judged by a background thread
 * with its own store connection (docs/api.md); the store's mark
 * "judged_seq" says how far it has got, and a server that starts judges
 * the records after it. Every error is a JSON body
 * {"error":{"code":"...","message":"..."}} whose code is one of the stable
 * FC_HTTP_E* names below.
 *
 * Thread safety: fc_http_start and fc_http_stop are called from one thread;
 * fc_http_port may be called from any thread between them.
 */
#ifndef FC_HTTP_H
#define FC_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

/* Stable error codes of the JSON error body. */
#define FC_HTTP_ENOT_FOUND    "not_found"
#define FC_HTTP_EMETHOD       "method_not_allowed"
#define FC_HTTP_ETOO_LARGE    "payload_too_large"
#define FC_HTTP_EBAD_REQUEST  "bad_request"
#define FC_HTTP_EINTERNAL     "internal"
#define FC_HTTP_EUNAVAILABLE  "unavailable"
#define FC_HTTP_EUNAUTHORIZED "unauthorized" /* 401: no token, malformed, unknown or revoked */
#define FC_HTTP_EFORBIDDEN    "forbidden"    /* 403: the token's role or scope refuses it */
#define FC_HTTP_ECONFLICT     "conflict"     /* 409: the state changed, or it exists already */

/* Server options. Zero (or NULL) in any field selects its default. */
typedef struct fc_http_opts {
    const char *listen_addr;   /* numeric IPv4 or IPv6 address; default "127.0.0.1" */
    uint16_t port;             /* 0 picks a free port (fc_http_port tells which) */
    const char *db_path;       /* the store; default ./fulcrum.db */
    const char *policy_dir;    /* the policy pack decisions and appeals are judged under;
                                  default fc_policy_dir() (the shipped policies/) */
    unsigned threads;          /* worker threads; default 2 */
    size_t body_limit_bytes;   /* largest request body; default 1 MiB (larger: 413) */
    size_t header_limit_bytes; /* memory per connection for the request line and
                                  headers; default 32 KiB (larger: 431) */
    unsigned timeout_s;        /* idle connection timeout; default 30 s */
    unsigned max_connections;  /* simultaneous connections; default 1024 */
    unsigned stop_grace_ms;    /* how long fc_http_stop waits for requests in
                                  flight; default 10,000 ms */
} fc_http_opts;

typedef struct fc_http fc_http;

/* Load the policy pack, listen on o->listen_addr:o->port, start the
 * background judge and serve until fc_http_stop. The store is not opened
 * here (/ready reports whether it opens; the judge retries until it does). FC_OK and *out, or
 * FC_EINVAL (a bad address or option), FC_EIO (the address cannot be bound) or the policy pack's
 * error, with err filled. */
int fc_http_start(const fc_http_opts *o, fc_http **out, fc_err *err);

/* The port the server listens on (the chosen one when 0 was asked). */
uint16_t fc_http_port(const fc_http *h);

/* Graceful stop: stop accepting connections, let requests in flight finish
 * (up to stop_grace_ms), close every connection, let the background judge
 * judge what is queued (one run, however long it takes; a failure leaves
 * the orders to the next start), close the store connections, free h.
 * NULL is a no-op. */
void fc_http_stop(fc_http *h);

/* The path template of route i ("/health", "/v1/decisions/{id}", ...), the
 * routes in a fixed order; NULL past the last. */
const char *fc_http_route(size_t i);
/* The method of route i ("GET", "POST"; GET routes answer HEAD too), NULL
 * past the last. */
const char *fc_http_route_method(size_t i);
/* Whether route i is open (needs no token); 0 past the last. */
int fc_http_route_open(size_t i);

/* The folder the web console's files are served from: $FULCRUM_CONSOLE,
 * else console/dist of the source tree. */
const char *fc_http_console_dir(void);

/* Requests answered so far (all routes and statuses), for tests and logs. */
uint64_t fc_http_requests(const fc_http *h);

#endif
