/*
 * The HTTP server, talked to over plain TCP on 127.0.0.1: routes, metrics,
 * JSON errors, body limits, the graceful stop, and `fulcrum serve`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "adjudicate/adjudicate.h"
#include "auth/auth.h"
#include "http/http.h"
#include "ingest/ingest.h"
#include "support.h"

/* ---------------------------------------------------------------------------
 * A tiny HTTP/1.1 client.
 */

typedef struct resp {
    int status;
    char *head; /* status line and headers */
    char *body;
} resp;

static void resp_free(resp *r) {
    free(r->head);
    free(r->body);
    memset(r, 0, sizeof *r);
}

/* A connected socket to 127.0.0.1:port, or -1. */
static int dial(uint16_t port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void send_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) {
            return; /* the server closed early (a refused body): the reply is read next */
        }
        p += w;
        n -= (size_t)w;
    }
}

/* Read the whole reply (the server closes: requests say Connection: close). */
static void read_reply(int fd, resp *r) {
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    for (;;) {
        if (len + 1 >= cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        ssize_t n = recv(fd, buf + len, cap - len - 1, 0);
        if (n <= 0) {
            break;
        }
        len += (size_t)n;
    }
    buf[len] = '\0';
    close(fd);
    memset(r, 0, sizeof *r);
    char *end = strstr(buf, "\r\n\r\n");
    assert_non_null(end);
    r->head = strndup(buf, (size_t)(end - buf));
    r->body = strdup(end + 4);
    assert_int_equal(sscanf(buf, "HTTP/1.1 %d", &r->status), 1);
    free(buf);
}

/* method path with extra header lines (each ending \r\n, may be "") and a
 * body of body_len bytes (may be NULL). */
static void request(uint16_t port, const char *method, const char *path, const char *headers,
                    const char *body, size_t body_len, resp *r) {
    int fd = dial(port);
    assert_true(fd >= 0);
    char head[1024];
    int n = snprintf(head, sizeof head,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s\r\n", method,
                     path, headers);
    assert_true(n > 0 && (size_t)n < sizeof head);
    send_all(fd, head, (size_t)n);
    if (body != NULL) {
        send_all(fd, body, body_len);
    }
    read_reply(fd, r);
}

static void get(uint16_t port, const char *path, resp *r) {
    request(port, "GET", path, "", NULL, 0, r);
}

/* The error code of a JSON error body. */
static void assert_error_code(const resp *r, const char *code) {
    json_error_t je;
    json_t *j = json_loads(r->body, 0, &je);
    assert_non_null(j);
    const char *got = json_string_value(json_object_get(json_object_get(j, "error"), "code"));
    assert_non_null(got);
    assert_string_equal(got, code);
    assert_non_null(json_string_value(json_object_get(json_object_get(j, "error"), "message")));
    json_decref(j);
}

/* ---------------------------------------------------------------------------
 * A server on a temporary store.
 */

typedef struct fixture {
    char *dir;
    char db[512];
    fc_http *h;
    uint16_t port;
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->dir = fc_test_tmpdir();
    assert_non_null(f->dir);
    snprintf(f->db, sizeof f->db, "%s/http.db", f->dir);
    fc_http_opts o;
    memset(&o, 0, sizeof o);
    o.listen_addr = "127.0.0.1";
    o.db_path = f->db;
    o.threads = 2;
    fc_err err;
    assert_int_equal(fc_http_start(&o, &f->h, &err), FC_OK);
    f->port = fc_http_port(f->h);
    assert_true(f->port != 0);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    fc_http_stop(f->h);
    fc_test_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* Wait until the server has counted n answered requests (a request is
 * counted once its connection is done, just after the client read it). */
static void wait_requests(fc_http *h, uint64_t n) {
    for (int i = 0; i < 500 && fc_http_requests(h) < n; i++) {
        usleep(10000);
    }
    assert_int_equal(fc_http_requests(h), n);
}

static void test_health(void **state) {
    fixture *f = *state;
    resp r;
    get(f->port, "/health", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"status\":\"ok\"}");
    assert_non_null(strstr(r.head, "Content-Type: application/json"));
    resp_free(&r);
}

static void test_ready_when_store_opens(void **state) {
    fixture *f = *state;
    resp r;
    get(f->port, "/ready", &r);
    assert_int_equal(r.status, 200);
    json_t *j = json_loads(r.body, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "ready");
    assert_true(json_integer_value(json_object_get(j, "schema_version")) > 0);
    json_decref(j);
    resp_free(&r);
}

static void test_ready_503_when_store_fails(void **state) {
    (void)state;
    fc_http_opts o;
    memset(&o, 0, sizeof o);
    o.db_path = "no-such-folder-for-fulcrum/sub/http.db";
    fc_http *h = NULL;
    fc_err err;
    assert_int_equal(fc_http_start(&o, &h, &err), FC_OK);
    resp r;
    get(fc_http_port(h), "/ready", &r);
    assert_int_equal(r.status, 503);
    assert_error_code(&r, "unavailable");
    resp_free(&r);
    get(fc_http_port(h), "/health", &r); /* alive all the same */
    assert_int_equal(r.status, 200);
    resp_free(&r);
    fc_http_stop(h);
}

static void test_not_found_and_method(void **state) {
    fixture *f = *state;
    resp r;
    get(f->port, "/nowhere", &r);
    assert_int_equal(r.status, 404);
    assert_error_code(&r, "not_found");
    resp_free(&r);
    request(f->port, "DELETE", "/health", "", NULL, 0, &r);
    assert_int_equal(r.status, 405);
    assert_error_code(&r, "method_not_allowed");
    assert_non_null(strstr(r.head, "Allow: GET, HEAD"));
    resp_free(&r);
}

static void test_body_limit(void **state) {
    fixture *f = *state;
    resp r;
    /* Declared too large: refused before the body is read. */
    request(f->port, "POST", "/health", "Content-Length: 2097152\r\n", NULL, 0, &r);
    assert_int_equal(r.status, 413);
    assert_error_code(&r, "payload_too_large");
    resp_free(&r);
    /* Chunked, no length: refused once the body went over the limit. */
    size_t n = (3u << 20) / 2;
    char *big = malloc(n + 64);
    assert_non_null(big);
    int hl = snprintf(big, 64, "%zx\r\n", n);
    memset(big + hl, 'x', n);
    memcpy(big + hl + n, "\r\n0\r\n\r\n", 7);
    request(f->port, "POST", "/anything", "Transfer-Encoding: chunked\r\n", big, (size_t)hl + n + 7,
            &r);
    free(big);
    assert_int_equal(r.status, 413);
    assert_error_code(&r, "payload_too_large");
    resp_free(&r);
    /* A body within the limit goes on to routing. */
    request(f->port, "POST", "/anything", "Content-Length: 5\r\n", "hello", 5, &r);
    assert_int_equal(r.status, 404);
    resp_free(&r);
}

/* The value of a metrics line starting with `name` ("" when absent). */
static long long metric(const char *page, const char *name) {
    const char *p = page;
    size_t n = strlen(name);
    while ((p = strstr(p, name)) != NULL) {
        if ((p == page || p[-1] == '\n') && p[n] == ' ') {
            return atoll(p + n + 1);
        }
        p += n;
    }
    return -1;
}

static void test_metrics_count_requests(void **state) {
    fixture *f = *state;
    resp r;
    for (int i = 0; i < 3; i++) {
        get(f->port, "/health", &r);
        resp_free(&r);
    }
    get(f->port, "/nope", &r);
    resp_free(&r);
    request(f->port, "POST", "/ready", "Content-Length: 0\r\n", NULL, 0, &r);
    resp_free(&r);
    wait_requests(f->h, 5);
    get(f->port, "/metrics", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.head, "Content-Type: text/plain; version=0.0.4"));
    assert_int_equal(
        metric(r.body,
               "fulcrum_http_requests_total{route=\"/health\",method=\"GET\",status=\"200\"}"),
        3);
    assert_int_equal(metric(r.body, "fulcrum_http_requests_total{route=\"other\",status=\"404\"}"),
                     1);
    assert_int_equal(
        metric(r.body,
               "fulcrum_http_requests_total{route=\"/ready\",method=\"GET\",status=\"405\"}"),
        1);
    assert_int_equal(metric(r.body, "fulcrum_http_request_duration_seconds_count"), 5);
    assert_int_equal(metric(r.body, "fulcrum_http_request_duration_seconds_bucket{le=\"+Inf\"}"),
                     5);
    assert_int_equal(metric(r.body, "fulcrum_http_requests_in_flight"), 1); /* this one */
    resp_free(&r);
    /* The metrics request itself is counted after it. */
    wait_requests(f->h, 6);
    get(f->port, "/metrics", &r);
    assert_int_equal(
        metric(r.body,
               "fulcrum_http_requests_total{route=\"/metrics\",method=\"GET\",status=\"200\"}"),
        1);
    resp_free(&r);
}

static void *stopper(void *h) {
    fc_http_stop(h);
    return NULL;
}

/* A request in flight when the stop begins is answered; new connections
 * are refused; the stop returns once it is done. */
static void test_graceful_stop(void **state) {
    (void)state;
    char *dir = fc_test_tmpdir();
    char db[512];
    snprintf(db, sizeof db, "%s/stop.db", dir);
    fc_http_opts o;
    memset(&o, 0, sizeof o);
    o.db_path = db;
    fc_http *h = NULL;
    fc_err err;
    assert_int_equal(fc_http_start(&o, &h, &err), FC_OK);
    uint16_t port = fc_http_port(h);
    int fd = dial(port);
    assert_true(fd >= 0);
    const char *part = "POST /late HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                       "Content-Length: 10\r\n\r\nhello";
    send_all(fd, part, strlen(part));
    usleep(200000); /* the server has the request line: it is in flight */
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, stopper, h), 0);
    usleep(200000);
    assert_int_equal(dial(port), -1); /* no longer accepting */
    send_all(fd, "world", 5);
    resp r;
    read_reply(fd, &r);
    assert_int_equal(r.status, 404);
    assert_error_code(&r, "not_found");
    resp_free(&r);
    assert_int_equal(pthread_join(t, NULL), 0);
    fc_test_rmtree(dir);
    free(dir);
}

static void test_bad_listen_address(void **state) {
    (void)state;
    fc_http_opts o;
    memset(&o, 0, sizeof o);
    o.listen_addr = "localhost";
    fc_http *h = NULL;
    fc_err err;
    assert_int_equal(fc_http_start(&o, &h, &err), FC_EINVAL);
    assert_null(h);
}

/* `fulcrum serve` prints its address first, answers, and exits 0 on SIGTERM. */
static void test_serve_command(void **state) {
    (void)state;
    char *dir = fc_test_tmpdir();
    char db[512];
    snprintf(db, sizeof db, "%s/serve.db", dir);
    int out[2];
    assert_int_equal(pipe(out), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(out[1], 1);
        close(out[0]);
        close(out[1]);
        execl(fc_test_binary(), "fulcrum", "serve", "--db", db, "--listen", "127.0.0.1:0",
              "--threads", "2", (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    FILE *fp = fdopen(out[0], "r");
    assert_non_null(fp);
    char line[256];
    assert_non_null(fgets(line, sizeof line, fp));
    unsigned port = 0;
    assert_int_equal(sscanf(line, "listening on http://127.0.0.1:%u", &port), 1);
    assert_true(port > 0 && port < 65536);
    resp r;
    get((uint16_t)port, "/health", &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    assert_int_equal(kill(pid, SIGTERM), 0);
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    fclose(fp);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    fc_test_rmtree(dir);
    free(dir);
}

/* ---------------------------------------------------------------------------
 * Authentication and the business routes, on a store with judged orders
 * (the world of tests/data/adjudicate judged under the default pack).
 */

typedef struct world {
    fixture f;
    fc_case_decision dec; /* a decision about a rider */
    char admin[FC_AUTH_TOKEN_LEN + 1], rider[FC_AUTH_TOKEN_LEN + 1],
        other_rider[FC_AUTH_TOKEN_LEN + 1], analyst[FC_AUTH_TOKEN_LEN + 1],
        far_analyst[FC_AUTH_TOKEN_LEN + 1], revoked[FC_AUTH_TOKEN_LEN + 1],
        sa_reviewer[FC_AUTH_TOKEN_LEN + 1], merchant[FC_AUTH_TOKEN_LEN + 1];
} world;

static void ingest_file(fc_store *s, const char *dir, const char *name) {
    char path[512], rejects[600];
    snprintf(path, sizeof path, "%s/%s", FC_TEST_DATA, name);
    snprintf(rejects, sizeof rejects, "%s/rejects.csv", dir);
    fc_ingest_opts o;
    memset(&o, 0, sizeof o);
    o.quiet = 1;
    o.max_errors = -1;
    o.reject_path = rejects;
    fc_ingest_log log;
    fc_err err;
    assert_int_equal(fc_ingest_file(s, path, &o, &log, &err), FC_OK);
    assert_int_equal(log.rejected, 0);
}

static void make_token(fc_store *s, const char *name, const char *role, const char *scope,
                       char out[FC_AUTH_TOKEN_LEN + 1]) {
    uint8_t hash[FC_AUTH_HASH_BYTES];
    assert_int_equal(fc_auth_token_new(out, hash), FC_OK);
    fc_token t;
    memset(&t, 0, sizeof t);
    snprintf(t.name, sizeof t.name, "%s", name);
    snprintf(t.role, sizeof t.role, "%s", role);
    snprintf(t.scope, sizeof t.scope, "%s", scope);
    t.created_at = 1772400000;
    fc_err err;
    assert_int_equal(fc_store_token_create(s, &t, hash, NULL, &err), FC_OK);
}

static int keep_rider_decision(void *ud, const fc_case_decision *d) {
    world *w = ud;
    if (w->dec.id[0] == '\0' && d->rider[0] != '\0' && d->explanation[FC_LANG_AR][0] != '\0') {
        w->dec = *d;
    }
    return 0;
}

static int setup_world(void **state) {
    world *w = calloc(1, sizeof *w);
    assert_non_null(w);
    w->f.dir = fc_test_tmpdir();
    assert_non_null(w->f.dir);
    snprintf(w->f.db, sizeof w->f.db, "%s/http.db", w->f.dir);
    fc_err err;
    fc_store *s = NULL;
    assert_int_equal(fc_store_open(w->f.db, &s, &err), FC_OK);
    ingest_file(s, w->f.dir, "adjudicate/cities.csv");
    ingest_file(s, w->f.dir, "adjudicate/riders.csv");
    ingest_file(s, w->f.dir, "adjudicate/orders.csv");
    ingest_file(s, w->f.dir, "adjudicate/complaint_rider.jsonl");
    fc_policy_pack *pack = NULL;
    assert_int_equal(fc_policy_pack_load(FC_SOURCE_DIR "/policies", &pack, &err), FC_OK);
    fc_adj_opts o;
    fc_adj_opts_init(&o);
    o.pack = pack;
    o.now = 1772400000;
    assert_int_equal(fc_adj_run(s, &o, NULL, &err), FC_OK);
    assert_int_equal(fc_adj_decisions(s, &o, keep_rider_decision, w, &err), FC_OK);
    assert_true(w->dec.id[0] != '\0');
    assert_string_equal(w->dec.city, "riyadh");
    fc_policy_pack_free(pack);
    /* two more cities, in two countries, for the KPI routes */
    ingest_file(s, w->f.dir, "http/kpi_cities.csv");
    ingest_file(s, w->f.dir, "http/kpi_orders.csv");

    char scope[128];
    make_token(s, "root", "admin", "*", w->admin);
    snprintf(scope, sizeof scope, "rider:%s", w->dec.rider);
    make_token(s, "the-rider", "rider", scope, w->rider);
    make_token(s, "other-rider", "rider", "rider:nobody", w->other_rider);
    make_token(s, "riyadh-analyst", "analyst", "city:riyadh", w->analyst);
    make_token(s, "doha-analyst", "analyst", "city:doha,country:QA", w->far_analyst);
    make_token(s, "gone", "admin", "*", w->revoked);
    make_token(s, "sa-reviewer", "reviewer", "country:SA", w->sa_reviewer);
    make_token(s, "a-merchant", "merchant", "merchant:m1", w->merchant);
    assert_int_equal(fc_store_token_revoke(s, "gone", 1772400001, &err), FC_OK);
    fc_store_close(s);

    fc_http_opts ho;
    memset(&ho, 0, sizeof ho);
    ho.db_path = w->f.db;
    assert_int_equal(fc_http_start(&ho, &w->f.h, &err), FC_OK);
    w->f.port = fc_http_port(w->f.h);
    *state = w;
    return 0;
}

static int teardown_world(void **state) {
    world *w = *state;
    fc_http_stop(w->f.h);
    fc_test_rmtree(w->f.dir);
    free(w->f.dir);
    free(w);
    return 0;
}

/* GET path with the given token (NULL: none) and extra header lines. */
static void get_as(const world *w, const char *token, const char *path, const char *extra,
                   resp *r) {
    char headers[512];
    if (token != NULL) {
        snprintf(headers, sizeof headers, "Authorization: Bearer %s\r\n%s", token, extra);
    } else {
        snprintf(headers, sizeof headers, "%s", extra);
    }
    request(w->f.port, "GET", path, headers, NULL, 0, r);
}

static void test_auth_required(void **state) {
    world *w = *state;
    resp r;
    get_as(w, NULL, "/v1/me", "", &r);
    assert_int_equal(r.status, 401);
    assert_error_code(&r, "unauthorized");
    assert_non_null(strstr(r.head, "WWW-Authenticate: Bearer"));
    resp_free(&r);
    get_as(w, NULL, "/v1/me", "Authorization: Basic dXNlcjpwdw==\r\n", &r);
    assert_int_equal(r.status, 401);
    assert_error_code(&r, "unauthorized");
    assert_non_null(strstr(r.head, "WWW-Authenticate: Bearer"));
    resp_free(&r);
    get_as(w, "fc_short", "/v1/me", "", &r);
    assert_int_equal(r.status, 401);
    assert_error_code(&r, "unauthorized");
    resp_free(&r);
    get_as(w, w->revoked, "/v1/me", "", &r);
    assert_int_equal(r.status, 401);
    assert_error_code(&r, "unauthorized");
    resp_free(&r);
    char unknown[FC_AUTH_TOKEN_LEN + 1];
    uint8_t hash[FC_AUTH_HASH_BYTES];
    assert_int_equal(fc_auth_token_new(unknown, hash), FC_OK);
    get_as(w, unknown, "/v1/me", "", &r);
    assert_int_equal(r.status, 401);
    resp_free(&r);
    /* the public routes stay open */
    get_as(w, NULL, "/health", "", &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
}

static void test_me(void **state) {
    world *w = *state;
    resp r;
    get_as(w, w->analyst, "/v1/me", "", &r);
    assert_int_equal(r.status, 200);
    json_t *j = json_loads(r.body, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "name")), "riyadh-analyst");
    assert_string_equal(json_string_value(json_object_get(j, "role")), "analyst");
    assert_string_equal(json_string_value(json_object_get(j, "scope")), "city:riyadh");
    json_decref(j);
    resp_free(&r);
}

/* GET the world's decision as token, expecting status; the body's
 * explanation is checked against the decision's text in lang when 200. */
static void expect_decision(const world *w, const char *token, const char *extra, int status,
                            fc_lang lang) {
    char path[160];
    snprintf(path, sizeof path, "/v1/decisions/%s", w->dec.id);
    resp r;
    get_as(w, token, path, extra, &r);
    assert_int_equal(r.status, status);
    if (status != 200) {
        assert_error_code(&r, status == 404   ? "not_found"
                              : status == 401 ? "unauthorized"
                                              : "forbidden");
        resp_free(&r);
        return;
    }
    json_t *j = json_loads(r.body, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "id")), w->dec.id);
    assert_string_equal(json_string_value(json_object_get(j, "rider")), w->dec.rider);
    assert_string_equal(json_string_value(json_object_get(j, "lang")), fc_lang_code(lang));
    assert_string_equal(json_string_value(json_object_get(j, "explanation")),
                        w->dec.explanation[lang]);
    assert_string_equal(json_string_value(json_object_get(j, "margin_text")),
                        w->dec.margin_text[lang]);
    json_decref(j);
    resp_free(&r);
}

static void test_decision_access(void **state) {
    world *w = *state;
    expect_decision(w, w->admin, "", 200, FC_LANG_EN);
    expect_decision(w, w->rider, "Accept-Language: ar-SA,ar;q=0.9,en;q=0.5\r\n", 200, FC_LANG_AR);
    assert_string_not_equal(w->dec.explanation[FC_LANG_AR], w->dec.explanation[FC_LANG_EN]);
    expect_decision(w, w->other_rider, "", 404, FC_LANG_EN);
    expect_decision(w, w->analyst, "", 200, FC_LANG_EN);
    expect_decision(w, w->far_analyst, "", 403, FC_LANG_EN);
    expect_decision(w, NULL, "", 401, FC_LANG_EN);
}

static void test_decision_not_found(void **state) {
    world *w = *state;
    resp r;
    get_as(w, w->admin, "/v1/decisions/dec-000000000000000000000000", "", &r);
    assert_int_equal(r.status, 404);
    assert_error_code(&r, "not_found");
    resp_free(&r);
    get_as(w, w->admin, "/v1/decisions/", "", &r);
    assert_int_equal(r.status, 404);
    resp_free(&r);
    get_as(w, w->admin, "/v1/decisions/a%27b", "", &r);
    assert_int_equal(r.status, 404);
    resp_free(&r);
}

/* ---------------------------------------------------------------------------
 * GET /v1/kpi and GET /openapi.json.
 */

/* stdout of `fulcrum kpi --db db args... --format json`, parsed. */
static json_t *cli_kpi(const char *db, const char *by, const char *kpi) {
    int out[2];
    assert_int_equal(pipe(out), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(out[1], 1);
        close(out[0]);
        close(out[1]);
        execl(fc_test_binary(), "fulcrum", "kpi", "--db", db, "--by", by, "--kpi", kpi, "--format",
              "json", (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    FILE *fp = fdopen(out[0], "r");
    assert_non_null(fp);
    json_error_t je;
    json_t *j = json_loadf(fp, 0, &je);
    fclose(fp);
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_non_null(j);
    return j;
}

/* GET path as token, expecting 200 and a KPI body; returns the body. */
static json_t *kpi_ok(const world *w, const char *token, const char *path) {
    resp r;
    get_as(w, token, path, "", &r);
    assert_int_equal(r.status, 200);
    json_t *j = json_loads(r.body, 0, NULL);
    assert_non_null(j);
    assert_true(json_is_array(json_object_get(j, "rows")));
    resp_free(&r);
    return j;
}

/* The "city" values of the rows, comma-joined, into buf. */
static void row_cities(const json_t *j, char *buf, size_t n) {
    buf[0] = '\0';
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(j, "rows"), i, row) {
        size_t len = strlen(buf);
        snprintf(buf + len, n - len, "%s%s", i > 0 ? "," : "",
                 json_string_value(json_object_get(row, "city")));
    }
}

static void test_kpi_admin_equals_cli(void **state) {
    world *w = *state;
    const char *kpis = "orders,on_time_rate,late_rate,cpo";
    json_t *j = kpi_ok(w, w->admin, "/v1/kpi?by=city,hour&kpi=orders,on_time_rate,late_rate,cpo");
    json_t *want = cli_kpi(w->f.db, "city,hour", kpis);
    assert_true(json_array_size(want) >= 3);
    assert_true(json_equal(json_object_get(j, "rows"), want));
    json_t *by = json_object_get(j, "by");
    assert_int_equal(json_array_size(by), 2);
    assert_string_equal(json_string_value(json_array_get(by, 1)), "hour");
    assert_int_equal(json_array_size(json_object_get(j, "kpis")), 4);
    json_decref(want);
    json_decref(j);
    /* the default KPIs, by city, as the CLI's defaults */
    j = kpi_ok(w, w->admin, "/v1/kpi");
    char cities[256];
    row_cities(j, cities, sizeof cities);
    assert_string_equal(cities, "doha,jeddah,riyadh");
    json_decref(j);
    /* a where and a window narrow the rows */
    j = kpi_ok(w, w->admin,
               "/v1/kpi?where=city=jeddah&from=2026-03-02&to=2026-03-02&kpi=orders,on_time_rate");
    assert_int_equal(json_array_size(json_object_get(j, "rows")), 1);
    json_t *row = json_array_get(json_object_get(j, "rows"), 0);
    assert_int_equal(json_integer_value(json_object_get(row, "orders")), 3);
    assert_true(json_is_number(json_object_get(row, "on_time_rate")));
    json_decref(j);
    j = kpi_ok(w, w->admin, "/v1/kpi?where=city=jeddah&from=2026-03-03&kpi=orders");
    assert_int_equal(json_array_size(json_object_get(j, "rows")), 0);
    json_decref(j);
}

static void test_kpi_scoped(void **state) {
    world *w = *state;
    char cities[256];
    /* a one-city analyst sees that city only, with or without asking */
    json_t *j = kpi_ok(w, w->analyst, "/v1/kpi?kpi=orders");
    row_cities(j, cities, sizeof cities);
    assert_string_equal(cities, "riyadh");
    json_decref(j);
    j = kpi_ok(w, w->analyst, "/v1/kpi?by=&kpi=orders");
    json_t *all = kpi_ok(w, w->admin, "/v1/kpi?where=city=riyadh&by=&kpi=orders");
    assert_true(json_equal(json_object_get(j, "rows"), json_object_get(all, "rows")));
    json_decref(all);
    json_decref(j);
    /* a country scope covers its cities */
    j = kpi_ok(w, w->sa_reviewer, "/v1/kpi?kpi=orders");
    row_cities(j, cities, sizeof cities);
    assert_string_equal(cities, "jeddah,riyadh");
    json_decref(j);
    j = kpi_ok(w, w->sa_reviewer, "/v1/kpi?where=city=jeddah&kpi=orders");
    row_cities(j, cities, sizeof cities);
    assert_string_equal(cities, "jeddah");
    json_decref(j);
    j = kpi_ok(w, w->far_analyst, "/v1/kpi?where=country=QA&kpi=orders");
    row_cities(j, cities, sizeof cities);
    assert_string_equal(cities, "doha");
    json_decref(j);
    /* a where outside the scope is refused */
    resp r;
    get_as(w, w->analyst, "/v1/kpi?where=city=jeddah", "", &r);
    assert_int_equal(r.status, 403);
    assert_error_code(&r, "forbidden");
    resp_free(&r);
    get_as(w, w->analyst, "/v1/kpi?where=country=SA", "", &r);
    assert_int_equal(r.status, 403);
    resp_free(&r);
    get_as(w, w->sa_reviewer, "/v1/kpi?where=city=riyadh,doha", "", &r);
    assert_int_equal(r.status, 403);
    assert_non_null(strstr(r.body, "doha"));
    resp_free(&r);
    /* riders and merchants read no KPIs */
    get_as(w, w->rider, "/v1/kpi", "", &r);
    assert_int_equal(r.status, 403);
    assert_error_code(&r, "forbidden");
    resp_free(&r);
    get_as(w, w->merchant, "/v1/kpi", "", &r);
    assert_int_equal(r.status, 403);
    resp_free(&r);
    get_as(w, NULL, "/v1/kpi", "", &r);
    assert_int_equal(r.status, 401);
    resp_free(&r);
}

/* GET path as admin: 400 bad_request whose message starts with param. */
static void expect_bad(const world *w, const char *path, const char *param) {
    resp r;
    get_as(w, w->admin, path, "", &r);
    assert_int_equal(r.status, 400);
    assert_error_code(&r, "bad_request");
    json_t *j = json_loads(r.body, 0, NULL);
    assert_non_null(j);
    const char *msg = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
    assert_non_null(msg);
    assert_memory_equal(msg, param, strlen(param));
    assert_int_equal(msg[strlen(param)], ':');
    json_decref(j);
    resp_free(&r);
}

static void test_kpi_bad_parameters(void **state) {
    world *w = *state;
    expect_bad(w, "/v1/kpi?by=city,planet", "by");
    expect_bad(w, "/v1/kpi?kpi=happiness", "kpi");
    expect_bad(w, "/v1/kpi?where=city", "where");
    expect_bad(w, "/v1/kpi?where=planet=mars", "where");
    expect_bad(w, "/v1/kpi?from=yesterday", "from");
    expect_bad(w, "/v1/kpi?to=2026-13-40", "to");
    expect_bad(w, "/v1/kpi?color=red", "color");
}

static void test_openapi_lists_every_route(void **state) {
    world *w = *state;
    char path[512];
    snprintf(path, sizeof path, "%s/docs/openapi.json", FC_SOURCE_DIR);
    json_t *file = json_load_file(path, 0, NULL);
    assert_non_null(file);
    resp r;
    get_as(w, NULL, "/openapi.json", "", &r);
    assert_int_equal(r.status, 200);
    json_t *served = json_loads(r.body, 0, NULL);
    assert_non_null(served);
    resp_free(&r);
    assert_true(json_equal(served, file));
    assert_string_equal(json_string_value(json_object_get(served, "openapi")), "3.0.3");
    json_t *paths = json_object_get(served, "paths");
    size_t n = 0;
    for (const char *route; (route = fc_http_route(n)) != NULL; n++) {
        assert_non_null(json_object_get(json_object_get(paths, route), "get"));
    }
    assert_int_equal(json_object_size(paths), n);
    assert_true(n >= 7);
    json_decref(served);
    json_decref(file);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_health, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ready_when_store_opens, setup, teardown),
        cmocka_unit_test(test_ready_503_when_store_fails),
        cmocka_unit_test_setup_teardown(test_not_found_and_method, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metrics_count_requests, setup, teardown),
        cmocka_unit_test(test_graceful_stop),
        cmocka_unit_test(test_bad_listen_address),
        cmocka_unit_test(test_serve_command),
        cmocka_unit_test_setup_teardown(test_auth_required, setup_world, teardown_world),
        cmocka_unit_test_setup_teardown(test_me, setup_world, teardown_world),
        cmocka_unit_test_setup_teardown(test_decision_access, setup_world, teardown_world),
        cmocka_unit_test_setup_teardown(test_decision_not_found, setup_world, teardown_world),
        cmocka_unit_test_setup_teardown(test_kpi_admin_equals_cli, setup_world, teardown_world),
        cmocka_unit_test_setup_teardown(test_kpi_scoped, setup_world, teardown_world),
        cmocka_unit_test_setup_teardown(test_kpi_bad_parameters, setup_world, teardown_world),
        cmocka_unit_test_setup_teardown(test_openapi_lists_every_route, setup_world,
                                        teardown_world),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
