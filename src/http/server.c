/*
 * http server: libmicrohttpd with a pool of worker threads, per-thread store
 * connections, request limits, routing, authentication and the metrics'
 * counting. The routes themselves live in the other files of src/http/.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http/http_internal.h"

const unsigned fc__http_status_codes[FC_HTTP_N_STATUS - 1] = {200, 201, 202, 304, 400, 401, 403,
                                                              404, 405, 409, 413, 500, 503};
const double fc__http_bucket_s[FC_HTTP_N_BUCKETS] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                     0.25,  0.5,   1.0,  2.5,   5.0,  10.0};

typedef fc__http_req req;

/* ---------------------------------------------------------------------------
 * Routing.
 */

/* Whether url matches template tpl; the {name} segments are copied into
 * args (each FC_HTTP_ARG_MAX bytes) and the rest of a "/{*}" template is
 * pointed at by *rest. A segment too long for args does not match. */
static int match(const char *tpl, const char *url, char args[][FC_HTTP_ARG_MAX], size_t *nargs,
                 const char **rest) {
    *nargs = 0;
    *rest = "";
    const char *t = tpl, *u = url;
    for (;;) {
        if (strcmp(t, "/{*}") == 0) {
            if (*u != '/' && *u != '\0') {
                return 0;
            }
            *rest = *u == '/' ? u + 1 : u;
            return 1;
        }
        if (*t == '\0' || *u == '\0') {
            return *t == '\0' && *u == '\0';
        }
        if (*t == '{') {
            const char *te = strchr(t, '}');
            size_t n = strcspn(u, "/");
            if (te == NULL || n == 0 || n >= FC_HTTP_ARG_MAX || *nargs == FC_HTTP_MAX_ARGS) {
                return 0;
            }
            memcpy(args[*nargs], u, n);
            args[(*nargs)++][n] = '\0';
            t = te + 1;
            u += n;
            continue;
        }
        if (*t != *u) {
            return 0;
        }
        t++;
        u++;
    }
}

static int method_is(const char *route_method, const char *method) {
    return strcmp(route_method, method) == 0 || (strcmp(route_method, MHD_HTTP_METHOD_GET) == 0 &&
                                                 strcmp(method, MHD_HTTP_METHOD_HEAD) == 0);
}

/* The route of method and url: its index, or fc__http_nroutes when none;
 * *path_known is the first route whose path matches under any method (-1
 * when none), and allow lists the methods of those routes. */
static size_t route_of(const char *method, const char *url, char args[][FC_HTTP_ARG_MAX],
                       size_t *nargs, const char **rest, int *path_known, char *allow,
                       size_t allow_size) {
    *path_known = -1;
    allow[0] = '\0';
    size_t found = fc__http_nroutes;
    for (size_t i = 0; i < fc__http_nroutes; i++) {
        char a[FC_HTTP_MAX_ARGS][FC_HTTP_ARG_MAX];
        size_t na;
        const char *re;
        if (!match(fc__http_routes[i].path, url, a, &na, &re)) {
            continue;
        }
        if (*path_known < 0) {
            *path_known = (int)i;
        }
        size_t len = strlen(allow);
        snprintf(allow + len, allow_size - len, "%s%s%s", len > 0 ? ", " : "",
                 fc__http_routes[i].method,
                 strcmp(fc__http_routes[i].method, MHD_HTTP_METHOD_GET) == 0 ? ", HEAD" : "");
        if (found == fc__http_nroutes && method_is(fc__http_routes[i].method, method)) {
            found = i;
            memcpy(args, a, sizeof a);
            *nargs = na;
            *rest = re;
        }
    }
    return found;
}

/* ---------------------------------------------------------------------------
 * Authentication. A token found valid is remembered for TOK_TTL_NS, so a
 * busy client costs one store lookup a second, not one per request; a
 * revoked token is refused at most that long after its revocation.
 */

#define TOK_SLOTS  64
#define TOK_TTL_NS 1000000000LL

typedef struct fc__http_tok {
    uint8_t hash[FC_AUTH_HASH_BYTES];
    int64_t until_ns; /* monotonic; 0: empty */
    fc_principal p;
    fc_token t;
} fc__http_tok;

/* Whether the token of hash is remembered and still fresh: *p and *t. */
static int tok_cached(fc_http *h, const uint8_t *hash, fc_principal *p, fc_token *t) {
    fc__http_tok *e = &h->tok_cache[hash[0] % TOK_SLOTS];
    int hit = 0;
    pthread_mutex_lock(&h->tok_mu);
    if (e->until_ns > fc__http_now_ns() && memcmp(e->hash, hash, FC_AUTH_HASH_BYTES) == 0) {
        *p = e->p;
        *t = e->t;
        hit = 1;
    }
    pthread_mutex_unlock(&h->tok_mu);
    return hit;
}

static void tok_remember(fc_http *h, const uint8_t *hash, const fc_principal *p,
                         const fc_token *t) {
    fc__http_tok *e = &h->tok_cache[hash[0] % TOK_SLOTS];
    pthread_mutex_lock(&h->tok_mu);
    memcpy(e->hash, hash, FC_AUTH_HASH_BYTES);
    e->p = *p;
    e->t = *t;
    e->until_ns = fc__http_now_ns() + TOK_TTL_NS;
    pthread_mutex_unlock(&h->tok_mu);
}

/* The caller of a request that needs a token: FC_OK with q->s, *p and *t
 * filled, or a response queued (401, or 503 when the store fails) and *sent
 * set to the result of queueing it. */
static int authenticate(fc_hreq *q, fc_principal *p, fc_token *t, enum MHD_Result *sent) {
    const char *auth =
        MHD_lookup_connection_value(q->c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (auth == NULL) {
        *sent = fc__http_send_unauthorized(q, 0,
                                           "this route needs an API token: "
                                           "Authorization: Bearer <token>");
        return FC_EINVAL;
    }
    if (strncasecmp(auth, "Bearer ", 7) != 0) {
        *sent = fc__http_send_unauthorized(q, 0, "the Authorization header is not a Bearer token");
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
        *sent = fc__http_send_unauthorized(q, 1, "the bearer token is malformed");
        return FC_EINVAL;
    }
    fc_err err;
    fc_err_clear(&err);
    q->s = fc__http_store(q->h, &err);
    uint8_t hash[FC_AUTH_HASH_BYTES];
    int hashed = q->s != NULL && fc_auth_token_hash(tok, n, hash) == FC_OK;
    if (hashed && tok_cached(q->h, hash, p, t)) {
        return FC_OK;
    }
    int ok = 0;
    if (q->s == NULL ||
        fc_auth_check_token(q->s, tok, n, (int64_t)time(NULL), p, t, &ok, &err) != FC_OK) {
        char msg[600];
        fc_err_format(&err, msg, sizeof msg);
        *sent = fc__http_send_error(q, MHD_HTTP_SERVICE_UNAVAILABLE, FC_HTTP_EUNAVAILABLE, msg);
        return FC_ESTORE;
    }
    if (!ok) {
        *sent = fc__http_send_unauthorized(q, 1, "unknown or revoked token");
        return FC_EINVAL;
    }
    if (hashed) {
        tok_remember(q->h, hash, p, t);
    }
    return FC_OK;
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
        r->start_ns = fc__http_now_ns();
        r->route = (int)fc__http_nroutes;
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
        double dur_s = (double)(fc__http_now_ns() - r->start_ns) / 1e9;
        size_t k = 0;
        while (k + 1 < FC_HTTP_N_STATUS && fc__http_status_codes[k] != r->status) {
            k++;
        }
        size_t b = 0;
        while (b < FC_HTTP_N_BUCKETS && dur_s > fc__http_bucket_s[b]) {
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
    fc_free(r->body);
    fc_free(r);
}

static enum MHD_Result send_too_large(fc_hreq *q) {
    return fc__http_send_errorf(q, MHD_HTTP_CONTENT_TOO_LARGE, FC_HTTP_ETOO_LARGE,
                                "the request body is over the limit of %zu bytes",
                                q->h->o.body_limit_bytes);
}

/* Keep a piece of the body: FC_OK, or FC_ELIMIT once the body is over the
 * limit (what came is counted, not kept), or FC_ENOMEM. */
static int keep_body(fc_http *h, req *r, const char *data, size_t n) {
    r->body_bytes += n;
    if (r->body_bytes > h->o.body_limit_bytes) {
        fc_free(r->body);
        r->body = NULL;
        return FC_ELIMIT;
    }
    if (fc_grow((void **)&r->body, &r->body_cap, r->body_bytes + 1, 1) != FC_OK) {
        return FC_ENOMEM;
    }
    memcpy(r->body + r->body_bytes - n, data, n);
    r->body[r->body_bytes] = '\0';
    return FC_OK;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls) {
    (void)version;
    fc_http *h = cls;
    req *r = *con_cls;
    if (r == NULL) {
        return MHD_NO; /* out of memory when the request began: drop it */
    }
    fc_hreq q = {.h = h, .c = c, .r = r, .method = method, .url = url, .rest = "", .body = ""};
    if (r->status != 0) {
        *upload_data_size = 0; /* answered already: the rest of the body is dropped */
        return MHD_YES;
    }
    if (!r->started) {
        r->started = 1;
        const char *cl =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        int64_t declared = 0;
        if (cl != NULL && fc_parse_i64(fc_str_c(cl), &declared) == FC_OK &&
            (uint64_t)declared > h->o.body_limit_bytes) {
            return send_too_large(&q); /* before any of the body is read */
        }
        return MHD_YES; /* the body (if any) comes in the next calls */
    }
    if (*upload_data_size > 0) {
        /* MHD takes no response while a body is arriving: a body found over
         * the limit (chunked, or longer than declared) is counted and dropped
         * to its end, then refused; past 16 times the limit the connection is
         * closed without an answer. */
        int rc = r->body_bytes <= h->o.body_limit_bytes
                     ? keep_body(h, r, upload_data, *upload_data_size)
                     : (r->body_bytes += *upload_data_size, FC_ELIMIT);
        *upload_data_size = 0;
        if (rc == FC_ENOMEM) {
            return MHD_NO;
        }
        return r->body_bytes / 16 > h->o.body_limit_bytes ? MHD_NO : MHD_YES;
    }
    if (r->body_bytes > h->o.body_limit_bytes) {
        return send_too_large(&q);
    }
    char args[FC_HTTP_MAX_ARGS][FC_HTTP_ARG_MAX];
    size_t nargs = 0;
    int path_known = -1;
    char allow[160];
    size_t i = route_of(method, url, args, &nargs, &q.rest, &path_known, allow, sizeof allow);
    r->route = (int)i;
    if (i == fc__http_nroutes) {
        if (path_known >= 0) {
            r->route = path_known; /* counted under the route whose path it is */
            return fc__http_send_json_hdr(&q, MHD_HTTP_METHOD_NOT_ALLOWED,
                                          json_pack("{s:{s:s,s:s++++}}", "error", "code",
                                                    FC_HTTP_EMETHOD, "message", url, " accepts ",
                                                    allow, ", not ", method),
                                          MHD_HTTP_HEADER_ALLOW, allow);
        }
        return fc__http_send_errorf(&q, MHD_HTTP_NOT_FOUND, FC_HTTP_ENOT_FOUND,
                                    "no route for %.16s %.200s", method, url);
    }
    for (size_t a = 0; a < nargs; a++) {
        q.arg[a] = args[a];
    }
    if (r->body != NULL) {
        q.body = r->body;
        q.body_len = r->body_bytes;
    }
    if (fc__http_routes[i].open) {
        return fc__http_routes[i].fn(&q);
    }
    fc_principal p;
    fc_token t;
    enum MHD_Result sent = MHD_NO;
    if (authenticate(&q, &p, &t, &sent) != FC_OK) {
        return sent;
    }
    q.p = &p;
    q.t = &t;
    return fc__http_routes[i].fn(&q);
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
    fc__http_judge_stop(h); /* before the stores, the pack and events_mu go */
    fc_store_checkpointer_stop(h->ckpt);
    for (size_t i = 0; i < h->nstores; i++) {
        fc_store_close(h->stores[i]);
    }
    fc_free(h->stores);
    if (h->key_made) {
        pthread_key_delete(h->key);
        pthread_mutex_destroy(&h->mu);
        pthread_mutex_destroy(&h->kpi_mu);
        pthread_mutex_destroy(&h->events_mu);
        pthread_mutex_destroy(&h->tok_mu);
    }
    fc__http_kpi_free(h);
    fc_free(h->tok_cache);
    fc_policy_pack_free(h->pack);
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
    h->tok_cache = fc_calloc(TOK_SLOTS, sizeof *h->tok_cache);
    int rc = FC_OK;
    if (h->db_path == NULL || h->tok_cache == NULL) {
        rc = fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
        goto out;
    }
    if (fc__http_nroutes >= FC_HTTP_MAX_ROUTES) {
        rc = fc_err_set(err, FC_EINTERNAL, NULL, 0, 0, "%zu routes: raise FC_HTTP_MAX_ROUTES",
                        fc__http_nroutes);
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
    pthread_mutex_init(&h->events_mu, NULL);
    pthread_mutex_init(&h->tok_mu, NULL);
    h->key_made = 1;
    read_openapi(h);
    const char *pdir = o->policy_dir != NULL ? o->policy_dir : fc_policy_dir();
    rc = fc_policy_pack_load(pdir, &h->pack, err);
    if (rc != FC_OK) {
        goto out;
    }
    rc = fc__http_judge_init(h, err);
    if (rc != FC_OK) {
        goto out;
    }
    /* A store that cannot be opened now is /ready's to report; its workers
     * then checkpoint as they commit. */
    fc_err ckpt_err;
    if (fc_store_checkpointer_start(h->db_path, 0, &h->ckpt, &ckpt_err) != FC_OK) {
        h->ckpt = NULL;
    }

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
    rc = fc__http_judge_start(h, err);
out:
    if (rc != FC_OK) {
        if (h->d != NULL) {
            MHD_stop_daemon(h->d);
        }
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
    return i < fc__http_nroutes ? fc__http_routes[i].path : NULL;
}

const char *fc_http_route_method(size_t i) {
    return i < fc__http_nroutes ? fc__http_routes[i].method : NULL;
}

int fc_http_route_open(size_t i) {
    return i < fc__http_nroutes && fc__http_routes[i].open;
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
    unsigned waited_ms = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (; waited_ms < h->o.stop_grace_ms; waited_ms += 10) {
            if (__atomic_load_n(&h->inflight, __ATOMIC_RELAXED) == 0) {
                break;
            }
            usleep(10000);
        }
        /* A request read just now (its connection accepted before the
         * quiesce) may still start: from here on the events route stores
         * nothing (events.c), and the second pass lets a batch that began
         * before be answered, so no stored batch goes unanswered. */
        pthread_mutex_lock(&h->events_mu);
        h->events_stopping = 1;
        pthread_mutex_unlock(&h->events_mu);
    }
    MHD_stop_daemon(h->d);
    /* Every batch was answered: the judge takes what is queued, judges it
     * and ends (free_server waits for it). */
    free_server(h);
}
