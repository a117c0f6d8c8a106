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

#include "http/http.h"
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
        metric(r.body, "fulcrum_http_requests_total{route=\"/health\",status=\"200\"}"), 3);
    assert_int_equal(metric(r.body, "fulcrum_http_requests_total{route=\"other\",status=\"404\"}"),
                     1);
    assert_int_equal(metric(r.body, "fulcrum_http_requests_total{route=\"/ready\",status=\"405\"}"),
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
        metric(r.body, "fulcrum_http_requests_total{route=\"/metrics\",status=\"200\"}"), 1);
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
