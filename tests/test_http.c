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
#include "http/http_internal.h"
#include "ingest/ingest.h"
#include "support.h"
#include "support_http.h"

/* ---------------------------------------------------------------------------
 * A server on a temporary store.
 */

static int setup(void **state) {
    fc_test_fixture *f = calloc(1, sizeof *f);
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
    fc_test_fixture *f = *state;
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
    fc_test_fixture *f = *state;
    fc_test_resp r;
    fc_test_get(f->port, "/health", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"status\":\"ok\"}");
    assert_non_null(strstr(r.head, "Content-Type: application/json"));
    fc_test_resp_free(&r);
}

static void test_ready_when_store_opens(void **state) {
    fc_test_fixture *f = *state;
    fc_test_resp r;
    fc_test_get(f->port, "/ready", &r);
    assert_int_equal(r.status, 200);
    json_t *j = json_loads(r.body, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "ready");
    assert_true(json_integer_value(json_object_get(j, "schema_version")) > 0);
    json_decref(j);
    fc_test_resp_free(&r);
}

static void test_ready_503_when_store_fails(void **state) {
    (void)state;
    fc_http_opts o;
    memset(&o, 0, sizeof o);
    o.db_path = "no-such-folder-for-fulcrum/sub/http.db";
    fc_http *h = NULL;
    fc_err err;
    assert_int_equal(fc_http_start(&o, &h, &err), FC_OK);
    fc_test_resp r;
    fc_test_get(fc_http_port(h), "/ready", &r);
    assert_int_equal(r.status, 503);
    fc_test_assert_error(&r, "unavailable");
    fc_test_resp_free(&r);
    fc_test_get(fc_http_port(h), "/health", &r); /* alive all the same */
    assert_int_equal(r.status, 200);
    fc_test_resp_free(&r);
    fc_http_stop(h);
}

static void test_not_found_and_method(void **state) {
    fc_test_fixture *f = *state;
    fc_test_resp r;
    fc_test_get(f->port, "/nowhere", &r);
    assert_int_equal(r.status, 404);
    fc_test_assert_error(&r, "not_found");
    fc_test_resp_free(&r);
    fc_test_request(f->port, "DELETE", "/health", "", NULL, 0, &r);
    assert_int_equal(r.status, 405);
    fc_test_assert_error(&r, "method_not_allowed");
    assert_non_null(strstr(r.head, "Allow: GET, HEAD"));
    fc_test_resp_free(&r);
}

static void test_body_limit(void **state) {
    fc_test_fixture *f = *state;
    fc_test_resp r;
    /* Declared too large: refused before the body is read. */
    fc_test_request(f->port, "POST", "/health", "Content-Length: 2097152\r\n", NULL, 0, &r);
    assert_int_equal(r.status, 413);
    fc_test_assert_error(&r, "payload_too_large");
    fc_test_resp_free(&r);
    /* Chunked, no length: refused once the body went over the limit. */
    size_t n = (3u << 20) / 2;
    char *big = malloc(n + 64);
    assert_non_null(big);
    int hl = snprintf(big, 64, "%zx\r\n", n);
    memset(big + hl, 'x', n);
    memcpy(big + hl + n, "\r\n0\r\n\r\n", 7);
    fc_test_request(f->port, "POST", "/anything", "Transfer-Encoding: chunked\r\n", big,
                    (size_t)hl + n + 7, &r);
    free(big);
    assert_int_equal(r.status, 413);
    fc_test_assert_error(&r, "payload_too_large");
    fc_test_resp_free(&r);
    /* A body within the limit goes on to routing. */
    fc_test_request(f->port, "POST", "/anything", "Content-Length: 5\r\n", "hello", 5, &r);
    assert_int_equal(r.status, 404);
    fc_test_resp_free(&r);
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
    fc_test_fixture *f = *state;
    fc_test_resp r;
    for (int i = 0; i < 3; i++) {
        fc_test_get(f->port, "/health", &r);
        fc_test_resp_free(&r);
    }
    fc_test_get(f->port, "/nope", &r);
    fc_test_resp_free(&r);
    fc_test_request(f->port, "POST", "/ready", "Content-Length: 0\r\n", NULL, 0, &r);
    fc_test_resp_free(&r);
    wait_requests(f->h, 5);
    fc_test_get(f->port, "/metrics", &r);
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
    fc_test_resp_free(&r);
    /* The metrics request itself is counted after it. */
    wait_requests(f->h, 6);
    fc_test_get(f->port, "/metrics", &r);
    assert_int_equal(
        metric(r.body,
               "fulcrum_http_requests_total{route=\"/metrics\",method=\"GET\",status=\"200\"}"),
        1);
    fc_test_resp_free(&r);
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
    int fd = fc_test_dial(port);
    assert_true(fd >= 0);
    const char *part = "POST /late HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                       "Content-Length: 10\r\n\r\nhello";
    fc_test_send_all(fd, part, strlen(part));
    usleep(200000); /* the server has the request line: it is in flight */
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, stopper, h), 0);
    usleep(200000);
    assert_int_equal(fc_test_dial(port), -1); /* no longer accepting */
    fc_test_send_all(fd, "world", 5);
    fc_test_resp r;
    fc_test_read_reply(fd, &r);
    assert_int_equal(r.status, 404);
    fc_test_assert_error(&r, "not_found");
    fc_test_resp_free(&r);
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
    fc_test_resp r;
    fc_test_get((uint16_t)port, "/health", &r);
    assert_int_equal(r.status, 200);
    fc_test_resp_free(&r);
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
 * (the fc_test_world of tests/data/adjudicate judged under the default pack).
 */

static void test_auth_required(void **state) {
    fc_test_world *w = *state;
    fc_test_resp r;
    fc_test_get_as(w, NULL, "/v1/me", "", &r);
    assert_int_equal(r.status, 401);
    fc_test_assert_error(&r, "unauthorized");
    assert_non_null(strstr(r.head, "WWW-Authenticate: Bearer"));
    fc_test_resp_free(&r);
    fc_test_get_as(w, NULL, "/v1/me", "Authorization: Basic dXNlcjpwdw==\r\n", &r);
    assert_int_equal(r.status, 401);
    fc_test_assert_error(&r, "unauthorized");
    assert_non_null(strstr(r.head, "WWW-Authenticate: Bearer"));
    fc_test_resp_free(&r);
    fc_test_get_as(w, "fc_short", "/v1/me", "", &r);
    assert_int_equal(r.status, 401);
    fc_test_assert_error(&r, "unauthorized");
    fc_test_resp_free(&r);
    fc_test_get_as(w, w->revoked, "/v1/me", "", &r);
    assert_int_equal(r.status, 401);
    fc_test_assert_error(&r, "unauthorized");
    fc_test_resp_free(&r);
    char unknown[FC_AUTH_TOKEN_LEN + 1];
    uint8_t hash[FC_AUTH_HASH_BYTES];
    assert_int_equal(fc_auth_token_new(unknown, hash), FC_OK);
    fc_test_get_as(w, unknown, "/v1/me", "", &r);
    assert_int_equal(r.status, 401);
    fc_test_resp_free(&r);
    /* the public routes stay open */
    fc_test_get_as(w, NULL, "/health", "", &r);
    assert_int_equal(r.status, 200);
    fc_test_resp_free(&r);
}

static void test_me(void **state) {
    fc_test_world *w = *state;
    fc_test_resp r;
    fc_test_get_as(w, w->analyst, "/v1/me", "", &r);
    assert_int_equal(r.status, 200);
    json_t *j = json_loads(r.body, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "name")), "riyadh-analyst");
    assert_string_equal(json_string_value(json_object_get(j, "role")), "analyst");
    assert_string_equal(json_string_value(json_object_get(j, "scope")), "city:riyadh");
    json_decref(j);
    fc_test_resp_free(&r);
}

/* GET the fc_test_world's decision as token, expecting status; the body's
 * explanation is checked against the decision's text in lang when 200. */
static void expect_decision(const fc_test_world *w, const char *token, const char *extra,
                            int status, fc_lang lang) {
    char path[160];
    snprintf(path, sizeof path, "/v1/decisions/%s", w->dec.id);
    fc_test_resp r;
    fc_test_get_as(w, token, path, extra, &r);
    assert_int_equal(r.status, status);
    if (status != 200) {
        fc_test_assert_error(&r, status == 404   ? "not_found"
                                 : status == 401 ? "unauthorized"
                                                 : "forbidden");
        fc_test_resp_free(&r);
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
    fc_test_resp_free(&r);
}

static void test_decision_access(void **state) {
    fc_test_world *w = *state;
    expect_decision(w, w->admin, "", 200, FC_LANG_EN);
    expect_decision(w, w->rider, "Accept-Language: ar-SA,ar;q=0.9,en;q=0.5\r\n", 200, FC_LANG_AR);
    assert_string_not_equal(w->dec.explanation[FC_LANG_AR], w->dec.explanation[FC_LANG_EN]);
    expect_decision(w, w->other_rider, "", 404, FC_LANG_EN);
    expect_decision(w, w->analyst, "", 200, FC_LANG_EN);
    expect_decision(w, w->far_analyst, "", 403, FC_LANG_EN);
    expect_decision(w, NULL, "", 401, FC_LANG_EN);
}

static void test_decision_not_found(void **state) {
    fc_test_world *w = *state;
    fc_test_resp r;
    fc_test_get_as(w, w->admin, "/v1/decisions/dec-000000000000000000000000", "", &r);
    assert_int_equal(r.status, 404);
    fc_test_assert_error(&r, "not_found");
    fc_test_resp_free(&r);
    fc_test_get_as(w, w->admin, "/v1/decisions/", "", &r);
    assert_int_equal(r.status, 404);
    fc_test_resp_free(&r);
    fc_test_get_as(w, w->admin, "/v1/decisions/a%27b", "", &r);
    assert_int_equal(r.status, 404);
    fc_test_resp_free(&r);
}

/* ---------------------------------------------------------------------------
 * GET /v1/kpi and GET /openapi.json.
 */

/* stdout of `fulcrum kpi --db db args... --format json`, parsed. */
static json_t *cli_kpi(const char *db, const char *by, const char *kpi) {
    const char *args[] = {"kpi", "--db", db, "--by", by, "--kpi", kpi, "--format", "json", NULL};
    char *out = NULL;
    assert_int_equal(fc_test_run(NULL, args, &out, NULL), 0);
    json_t *j = json_loads(out, 0, NULL);
    free(out);
    assert_non_null(j);
    return j;
}

/* GET path as token, expecting 200 and a KPI body; returns the body. */
static json_t *kpi_ok(const fc_test_world *w, const char *token, const char *path) {
    fc_test_resp r;
    fc_test_get_as(w, token, path, "", &r);
    assert_int_equal(r.status, 200);
    json_t *j = json_loads(r.body, 0, NULL);
    assert_non_null(j);
    assert_true(json_is_array(json_object_get(j, "rows")));
    fc_test_resp_free(&r);
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
    fc_test_world *w = *state;
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
    fc_test_world *w = *state;
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
    fc_test_resp r;
    fc_test_get_as(w, w->analyst, "/v1/kpi?where=city=jeddah", "", &r);
    assert_int_equal(r.status, 403);
    fc_test_assert_error(&r, "forbidden");
    fc_test_resp_free(&r);
    fc_test_get_as(w, w->analyst, "/v1/kpi?where=country=SA", "", &r);
    assert_int_equal(r.status, 403);
    fc_test_resp_free(&r);
    fc_test_get_as(w, w->sa_reviewer, "/v1/kpi?where=city=riyadh,doha", "", &r);
    assert_int_equal(r.status, 403);
    assert_non_null(strstr(r.body, "doha"));
    fc_test_resp_free(&r);
    /* riders and merchants read no KPIs */
    fc_test_get_as(w, w->rider, "/v1/kpi", "", &r);
    assert_int_equal(r.status, 403);
    fc_test_assert_error(&r, "forbidden");
    fc_test_resp_free(&r);
    fc_test_get_as(w, w->merchant, "/v1/kpi", "", &r);
    assert_int_equal(r.status, 403);
    fc_test_resp_free(&r);
    fc_test_get_as(w, NULL, "/v1/kpi", "", &r);
    assert_int_equal(r.status, 401);
    fc_test_resp_free(&r);
}

/* Answers are kept per table and caller scope: the same query asked by
 * callers of different scopes, in turns, gets each its own answer, and a
 * repeated query the same body. */
static void test_kpi_answers_kept_per_scope(void **state) {
    fc_test_world *w = *state;
    const char *path = "/v1/kpi?by=city&kpi=orders,on_time_rate";
    char cities[256];
    for (int round = 0; round < 2; round++) {
        json_t *a = kpi_ok(w, w->admin, path);
        row_cities(a, cities, sizeof cities);
        assert_string_equal(cities, "doha,jeddah,riyadh");
        json_t *an = kpi_ok(w, w->analyst, path);
        row_cities(an, cities, sizeof cities);
        assert_string_equal(cities, "riyadh");
        json_t *rv = kpi_ok(w, w->sa_reviewer, path);
        row_cities(rv, cities, sizeof cities);
        assert_string_equal(cities, "jeddah,riyadh");
        json_decref(a);
        json_decref(an);
        json_decref(rv);
    }
    fc_test_resp r1, r2;
    fc_test_get_as(w, w->admin, path, "", &r1);
    fc_test_get_as(w, w->admin, path, "", &r2);
    assert_int_equal(r1.status, 200);
    assert_string_equal(r1.body, r2.body);
    fc_test_resp_free(&r1);
    fc_test_resp_free(&r2);
    /* a refused query is refused every time, never answered from another's */
    for (int i = 0; i < 2; i++) {
        fc_test_get_as(w, w->analyst, "/v1/kpi?by=city&where=city=jeddah&kpi=orders", "", &r1);
        assert_int_equal(r1.status, 403);
        fc_test_resp_free(&r1);
        json_t *a = kpi_ok(w, w->admin, "/v1/kpi?by=city&where=city=jeddah&kpi=orders");
        json_decref(a);
    }
}

/* GET path as admin: 400 bad_request whose message starts with param. */
/* The "orders" of the one row of path's answer. */
static double kpi_orders(const fc_test_world *w, const char *path) {
    json_t *j = kpi_ok(w, w->admin, path);
    json_t *rows = json_object_get(j, "rows");
    assert_int_equal(json_array_size(rows), 1);
    double n = json_number_value(json_object_get(json_array_get(rows, 0), "orders"));
    json_decref(j);
    return n;
}

/* Another process's write (a CLI ingest on the served store): the server
 * sees it through the store's data version, within about a second. */
static void test_kpi_sees_other_writers(void **state) {
    fc_test_world *w = *state;
    const char *path = "/v1/kpi?where=city=jeddah&kpi=orders";
    double before = kpi_orders(w, path);
    assert_true(before >= 1);
    /* The same answer again: the table is cached. */
    assert_true(kpi_orders(w, path) == before);

    char csv[2048];
    fc_test_order_csv(csv, sizeof csv, "JX1", "jeddah");
    fc_test_ingest_text(w->f.db, w->f.dir, "more_orders.csv", csv);

    /* Bounded: the poll runs at most once a second, the reload likewise. */
    double after = before;
    for (int i = 0; i < 60 && after == before; i++) {
        usleep(100000);
        after = kpi_orders(w, path);
    }
    assert_true(after == before + 1);
}

static void expect_bad(const fc_test_world *w, const char *path, const char *param) {
    fc_test_resp r;
    fc_test_get_as(w, w->admin, path, "", &r);
    assert_int_equal(r.status, 400);
    fc_test_assert_error(&r, "bad_request");
    json_t *j = json_loads(r.body, 0, NULL);
    assert_non_null(j);
    const char *msg = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
    assert_non_null(msg);
    assert_memory_equal(msg, param, strlen(param));
    assert_int_equal(msg[strlen(param)], ':');
    json_decref(j);
    fc_test_resp_free(&r);
}

static void test_kpi_bad_parameters(void **state) {
    fc_test_world *w = *state;
    expect_bad(w, "/v1/kpi?by=city,planet", "by");
    expect_bad(w, "/v1/kpi?kpi=happiness", "kpi");
    expect_bad(w, "/v1/kpi?where=city", "where");
    expect_bad(w, "/v1/kpi?where=planet=mars", "where");
    expect_bad(w, "/v1/kpi?from=yesterday", "from");
    expect_bad(w, "/v1/kpi?to=2026-13-40", "to");
    expect_bad(w, "/v1/kpi?color=red", "color");
}

static void test_openapi_lists_every_route(void **state) {
    fc_test_world *w = *state;
    char path[512];
    snprintf(path, sizeof path, "%s/docs/openapi.json", FC_SOURCE_DIR);
    json_t *file = json_load_file(path, 0, NULL);
    assert_non_null(file);
    fc_test_resp r;
    fc_test_get_as(w, NULL, "/openapi.json", "", &r);
    assert_int_equal(r.status, 200);
    json_t *served = json_loads(r.body, 0, NULL);
    assert_non_null(served);
    fc_test_resp_free(&r);
    assert_true(json_equal(served, file));
    assert_string_equal(json_string_value(json_object_get(served, "openapi")), "3.0.3");
    json_t *paths = json_object_get(served, "paths");
    size_t n = 0;
    for (const char *route; (route = fc_http_route(n)) != NULL; n++) {
        /* each route under its own method ("get", "post", ...) */
        char method[8];
        size_t k = 0;
        for (; fc__http_routes[n].method[k] != '\0' && k + 1 < sizeof method; k++) {
            method[k] = (char)(fc__http_routes[n].method[k] - 'A' + 'a');
        }
        method[k] = '\0';
        assert_string_equal(fc__http_routes[n].path, route);
        assert_non_null(json_object_get(json_object_get(paths, route), method));
    }
    /* and every documented path is a route */
    const char *doc_path;
    json_t *ops;
    json_object_foreach(paths, doc_path, ops) {
        size_t i = 0;
        while (i < n && strcmp(fc_http_route(i), doc_path) != 0) {
            i++;
        }
        assert_true(i < n);
    }
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
        cmocka_unit_test_setup_teardown(test_auth_required, fc_test_world_setup,
                                        fc_test_world_teardown),
        cmocka_unit_test_setup_teardown(test_me, fc_test_world_setup, fc_test_world_teardown),
        cmocka_unit_test_setup_teardown(test_decision_access, fc_test_world_setup,
                                        fc_test_world_teardown),
        cmocka_unit_test_setup_teardown(test_decision_not_found, fc_test_world_setup,
                                        fc_test_world_teardown),
        cmocka_unit_test_setup_teardown(test_kpi_admin_equals_cli, fc_test_world_setup,
                                        fc_test_world_teardown),
        cmocka_unit_test_setup_teardown(test_kpi_scoped, fc_test_world_setup,
                                        fc_test_world_teardown),
        cmocka_unit_test_setup_teardown(test_kpi_answers_kept_per_scope, fc_test_world_setup,
                                        fc_test_world_teardown),
        cmocka_unit_test_setup_teardown(test_kpi_sees_other_writers, fc_test_world_setup,
                                        fc_test_world_teardown),
        cmocka_unit_test_setup_teardown(test_kpi_bad_parameters, fc_test_world_setup,
                                        fc_test_world_teardown),
        cmocka_unit_test_setup_teardown(test_openapi_lists_every_route, fc_test_world_setup,
                                        fc_test_world_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
