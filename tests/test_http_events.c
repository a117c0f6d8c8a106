/*
 * POST /v1/events against a real server on 127.0.0.1: array, wrapper and
 * JSON Lines bodies, per-row errors, idempotency, access, limits, the KPI
 * table seeing new orders, the ingest log's source, judging, and a post
 * racing a graceful stop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support.h"
#include "support_http.h"

/* The JSON Lines of a delivered order `id` in jeddah (8 events). */
static void order_lines(char *out, size_t outsz, const char *id, int64_t t0) {
    snprintf(
        out, outsz,
        "{\"id\":\"%s-1\",\"type\":\"order_created\",\"ts\":%lld,\"order\":\"%s\","
        "\"city\":\"jeddah\",\"zone\":\"center\",\"merchant\":\"m1\",\"customer\":\"c1\","
        "\"category\":\"food\",\"promised_at\":%lld,\"amount\":\"50.00\",\"currency\":\"SAR\"}\n"
        "{\"id\":\"%s-2\",\"type\":\"order_accepted\",\"ts\":%lld,\"order\":\"%s\","
        "\"rider\":\"r-%s\"}\n"
        "{\"id\":\"%s-3\",\"type\":\"order_picked_up\",\"ts\":%lld,\"order\":\"%s\","
        "\"rider\":\"r-%s\"}\n"
        "{\"id\":\"%s-4\",\"type\":\"order_delivered\",\"ts\":%lld,\"order\":\"%s\","
        "\"rider\":\"r-%s\"}\n",
        id, (long long)t0, id, (long long)(t0 + 1800), id, (long long)(t0 + 60), id, id, id,
        (long long)(t0 + 700), id, id, id, (long long)(t0 + 1500), id, id);
}

/* JSON Lines to a JSON array (one element per line). */
static char *lines_to_array(const char *lines) {
    size_t n = strlen(lines);
    char *out = malloc(n + 3);
    assert_non_null(out);
    size_t w = 0;
    out[w++] = '[';
    for (size_t i = 0; i < n; i++) {
        if (lines[i] == '\n') {
            if (i + 1 < n) {
                out[w++] = ',';
            }
        } else {
            out[w++] = lines[i];
        }
    }
    out[w++] = ']';
    out[w] = '\0';
    return out;
}

static json_t *post(const fc_test_world *w, const char *token, const char *path, const char *type,
                    const char *body, int want_status) {
    char headers[512];
    snprintf(headers, sizeof headers,
             "Authorization: Bearer %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n", token, type,
             strlen(body));
    fc_test_resp r;
    fc_test_request(w->f.port, "POST", path, headers, body, strlen(body), &r);
    if (r.status != want_status) {
        fprintf(stderr, "status %d: %s\n", r.status, r.body);
    }
    assert_int_equal(r.status, want_status);
    json_t *j = json_loads(r.body, 0, NULL);
    assert_non_null(j);
    fc_test_resp_free(&r);
    return j;
}

static long long num(const json_t *j, const char *key) {
    json_t *v = json_object_get(j, key);
    assert_true(json_is_integer(v));
    return (long long)json_integer_value(v);
}

static void test_array_then_duplicates(void **state) {
    fc_test_world *w = *state;
    char a[2048], b[2048], lines[4096];
    order_lines(a, sizeof a, "E1", 1772434800);
    order_lines(b, sizeof b, "E2", 1772434800);
    snprintf(lines, sizeof lines, "%s%s", a, b);
    char *arr = lines_to_array(lines);
    json_t *j = post(w, w->admin, "/v1/events?judge=wait", "application/json", arr, 200);
    assert_int_equal(num(j, "received"), 8);
    assert_int_equal(num(j, "accepted"), 8);
    assert_int_equal(num(j, "duplicates"), 0);
    assert_int_equal(num(j, "rejected"), 0);
    assert_int_equal(json_array_size(json_object_get(j, "errors")), 0);
    assert_int_equal(num(j, "judged"), 2); /* both orders are delivered: closed */
    assert_string_equal(json_string_value(json_object_get(j, "judge")), "done");
    assert_true(num(j, "ingest_id") > 0);
    json_decref(j);
    /* the same events again: all duplicates, nothing to judge */
    j = post(w, w->admin, "/v1/events", "application/json", arr, 200);
    assert_int_equal(num(j, "accepted"), 0);
    assert_int_equal(num(j, "duplicates"), 8);
    assert_int_equal(num(j, "judged"), 0);
    assert_string_equal(json_string_value(json_object_get(j, "judge")), "done");
    json_decref(j);
    /* the same as JSON Lines, and in a wrapper: duplicates too */
    j = post(w, w->admin, "/v1/events", "application/x-ndjson", lines, 200);
    assert_int_equal(num(j, "duplicates"), 8);
    json_decref(j);
    char *wrapped = malloc(strlen(arr) + 32);
    assert_non_null(wrapped);
    sprintf(wrapped, "{\"events\": %s, \"note\": 1}", arr);
    j = post(w, w->admin, "/v1/events?judge=0", "application/json", wrapped, 200);
    assert_int_equal(num(j, "received"), 8);
    assert_int_equal(num(j, "duplicates"), 8);
    assert_string_equal(json_string_value(json_object_get(j, "judge")), "off");
    json_decref(j);
    free(wrapped);
    free(arr);

    /* the ingest log names the token; the store holds the records once */
    fc_store *s = NULL;
    fc_err err;
    assert_int_equal(fc_store_open(w->f.db, &s, &err), FC_OK);
    fc_ingest_log *logs = NULL;
    size_t n = 0;
    assert_int_equal(fc_store_ingest_list(s, &logs, &n, &err), FC_OK);
    assert_true(n >= 4);
    assert_string_equal(logs[0].source, "http:root");
    assert_string_equal(logs[3].source, "http:root");
    assert_int_equal(logs[3].accepted, 8);
    fc_free(logs);
    fc_store_close(s);
}

static void test_row_errors(void **state) {
    fc_test_world *w = *state;
    /* JSON Lines: a blank line, a bad time, an unknown type, a good row */
    const char *nd = "{\"id\":\"R1\",\"type\":\"order_created\",\"ts\":\"2026-03-02T10:00:00\","
                     "\"order\":\"RO\"}\n"
                     "\n"
                     "{\"id\":\"R2\",\"type\":\"bogus\",\"ts\":1772438400,\"order\":\"RO\"}\n"
                     "{\"id\":\"R3\",\"type\":\"order_created\",\"ts\":1772438400,\"order\":\"RO\","
                     "\"city\":\"jeddah\"}\n";
    json_t *j = post(w, w->admin, "/v1/events?judge=0", "application/x-ndjson", nd, 200);
    assert_int_equal(num(j, "received"), 3);
    assert_int_equal(num(j, "accepted"), 1);
    assert_int_equal(num(j, "rejected"), 2);
    json_t *errs = json_object_get(j, "errors");
    assert_int_equal(json_array_size(errs), 2);
    json_t *e0 = json_array_get(errs, 0), *e1 = json_array_get(errs, 1);
    assert_int_equal(num(e0, "index"), 0);
    assert_int_equal(num(e0, "line"), 1);
    assert_int_equal(num(e0, "column"), 40);
    assert_string_equal(json_string_value(json_object_get(e0, "field")), "ts");
    assert_non_null(strstr(json_string_value(json_object_get(e0, "reason")), "no UTC offset"));
    assert_int_equal(num(e1, "index"), 1); /* the blank line is no event */
    assert_int_equal(num(e1, "line"), 3);
    assert_string_equal(json_string_value(json_object_get(e1, "field")), "type");
    json_decref(j);

    /* an array over several lines: index, and line and column in the body */
    const char *arr =
        "[\n"
        "  {\"id\":\"S1\",\"type\":\"order_created\",\"ts\":1772438400,\"order\":\"SO\","
        "\"city\":\"jeddah\"},\n"
        "  {\"id\":\"S2\",\"type\":\"order_accepted\",\n"
        "   \"ts\":1772438500, \"order\":\"SO\", \"rider\": 5}\n"
        "]";
    j = post(w, w->admin, "/v1/events?judge=0", "application/json", arr, 200);
    assert_int_equal(num(j, "accepted"), 1);
    assert_int_equal(num(j, "rejected"), 1);
    errs = json_object_get(j, "errors");
    assert_int_equal(json_array_size(errs), 1);
    e0 = json_array_get(errs, 0);
    assert_int_equal(num(e0, "index"), 1);
    assert_int_equal(num(e0, "line"), 4);
    assert_int_equal(num(e0, "column"), 44); /* the 5 of "rider": 5 */
    assert_string_equal(json_string_value(json_object_get(e0, "field")), "rider");
    json_decref(j);
    /* the good rows were kept: posting them again finds them */
    j = post(w, w->admin, "/v1/events?judge=0", "application/x-ndjson",
             "{\"id\":\"R3\",\"type\":\"order_created\",\"ts\":1772438400,\"order\":\"RO\"}\n"
             "{\"id\":\"S1\",\"type\":\"order_created\",\"ts\":1772438400,\"order\":\"SO\"}\n",
             200);
    assert_int_equal(num(j, "duplicates"), 2);
    json_decref(j);
}

static void test_access_and_limits(void **state) {
    fc_test_world *w = *state;
    const char *one =
        "[{\"id\":\"A1\",\"type\":\"order_ready\",\"ts\":1772438400,\"order\":\"AO\"}]";
    const char *tokens[] = {w->analyst, w->sa_reviewer, w->rider, w->merchant};
    for (size_t i = 0; i < sizeof tokens / sizeof tokens[0]; i++) {
        fc_test_resp r;
        fc_test_send_as(w, tokens[i], "POST", "/v1/events", one, &r);
        assert_int_equal(r.status, 403);
        fc_test_assert_error(&r, "forbidden");
        fc_test_resp_free(&r);
    }
    fc_test_resp r;
    fc_test_send_as(w, NULL, "POST", "/v1/events", one, &r);
    assert_int_equal(r.status, 401);
    fc_test_resp_free(&r);
    fc_test_send_as(w, w->revoked, "POST", "/v1/events", one, &r);
    assert_int_equal(r.status, 401);
    fc_test_resp_free(&r);

    const char *bad[] = {"", "nope", "[{\"id\":1},", "[1]", "[{}] x", "[{} {}]", "\"x\""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *j = post(w, w->admin, "/v1/events", "application/json", bad[i], 400);
        assert_string_equal(json_string_value(json_object_get(json_object_get(j, "error"), "code")),
                            "bad_request");
        json_decref(j);
    }
    json_decref(post(w, w->admin, "/v1/events?judge=2", "application/json", one, 400));
    json_decref(post(w, w->admin, "/v1/events?judge=yes", "application/json", one, 400));
    json_decref(post(w, w->admin, "/v1/events", "application/x-ndjson", "[{}]\n", 400));

    /* 10,001 events: refused whole, before anything is stored */
    size_t n = 10001;
    char *big = malloc(n * 3 + 3);
    assert_non_null(big);
    size_t at = 0;
    big[at++] = '[';
    for (size_t i = 0; i < n; i++) {
        memcpy(big + at, i + 1 < n ? "{}," : "{}", i + 1 < n ? 3 : 2);
        at += i + 1 < n ? 3 : 2;
    }
    big[at++] = ']';
    big[at] = '\0';
    json_t *j = post(w, w->admin, "/v1/events", "application/json", big, 400);
    assert_non_null(strstr(
        json_string_value(json_object_get(json_object_get(j, "error"), "message")), "10000"));
    json_decref(j);
    big[at - 4] = ']'; /* 10,000 empty objects: read, each row rejected */
    big[at - 3] = '\0';
    j = post(w, w->admin, "/v1/events", "application/json", big, 200);
    assert_int_equal(num(j, "received"), 10000);
    assert_int_equal(num(j, "rejected"), 10000);
    assert_int_equal(json_array_size(json_object_get(j, "errors")), 10000);
    assert_int_equal(num(json_array_get(json_object_get(j, "errors"), 9999), "index"), 9999);
    json_decref(j);
    free(big);
}

/* The "orders" of jeddah from GET /v1/kpi. */
static long long jeddah_orders(const fc_test_world *w) {
    fc_test_resp r;
    fc_test_get_as(w, w->admin, "/v1/kpi?where=city=jeddah&kpi=orders", "", &r);
    assert_int_equal(r.status, 200);
    json_t *j = json_loads(r.body, 0, NULL);
    assert_non_null(j);
    long long n = num(json_array_get(json_object_get(j, "rows"), 0), "orders");
    json_decref(j);
    fc_test_resp_free(&r);
    return n;
}

static void test_kpi_sees_new_orders(void **state) {
    fc_test_world *w = *state;
    long long before = jeddah_orders(w);
    char a[2048], b[2048], lines[4096];
    order_lines(a, sizeof a, "K1", 1772434800);
    order_lines(b, sizeof b, "K2", 1772434800);
    snprintf(lines, sizeof lines, "%s%s", a, b);
    json_decref(post(w, w->admin, "/v1/events", "application/x-ndjson", lines, 200));
    /* reloads happen at most once a second */
    usleep(1100 * 1000);
    assert_int_equal(jeddah_orders(w), before + 2);
    /* nothing new: the table stays */
    assert_int_equal(jeddah_orders(w), before + 2);
}

/* A post on its own thread, against a server being stopped. */
typedef struct racer {
    uint16_t port;
    const char *token;
    const char *body;
    int sent; /* the whole request was written */
    int status;
} racer;

static void *race_post(void *arg) {
    racer *rc = arg;
    int fd = fc_test_dial(rc->port);
    if (fd < 0) {
        __atomic_store_n(&rc->sent, 1, __ATOMIC_RELEASE);
        return NULL; /* refused: the server stopped listening */
    }
    char head[512];
    int n = snprintf(head, sizeof head,
                     "POST /v1/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                     "Authorization: Bearer %s\r\nContent-Type: application/x-ndjson\r\n"
                     "Content-Length: %zu\r\n\r\n",
                     rc->token, strlen(rc->body));
    fc_test_send_all(fd, head, (size_t)n);
    fc_test_send_all(fd, rc->body, strlen(rc->body));
    __atomic_store_n(&rc->sent, 1, __ATOMIC_RELEASE);
    char buf[4096];
    size_t len = 0;
    for (;;) {
        ssize_t got = read(fd, buf + len, sizeof buf - 1 - len);
        if (got <= 0) {
            break;
        }
        len += (size_t)got;
    }
    buf[len] = '\0';
    close(fd);
    if (sscanf(buf, "HTTP/1.1 %d", &rc->status) != 1) {
        rc->status = 0; /* closed unanswered */
    }
    return NULL;
}

static void test_post_racing_stop(void **state) {
    fc_test_world *w = *state;
    for (int round = 0; round < 12; round++) {
        fc_http_opts ho;
        memset(&ho, 0, sizeof ho);
        ho.db_path = w->f.db;
        fc_http *h = NULL;
        fc_err err;
        assert_int_equal(fc_http_start(&ho, &h, &err), FC_OK);
        char id[16], lines[2048];
        snprintf(id, sizeof id, "STOP%d", round);
        order_lines(lines, sizeof lines, id, 1772434800);
        racer rc = {.port = fc_http_port(h), .token = w->admin, .body = lines};
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, race_post, &rc), 0);
        while (!__atomic_load_n(&rc.sent, __ATOMIC_ACQUIRE)) {
            usleep(100);
        }
        usleep((useconds_t)(round % 6 * 500)); /* from "just sent" to "being handled" */
        fc_http_stop(h);
        pthread_join(t, NULL);
        /* Either answered 200 (and then stored) or never read: posting the
         * events again to the running server tells which. */
        json_t *j = post(w, w->admin, "/v1/events?judge=0", "application/x-ndjson", lines, 200);
        if (rc.status == 200) {
            assert_int_equal(num(j, "duplicates"), 4);
        } else {
            assert_true(rc.status == 0 || rc.status == 503);
            assert_int_equal(num(j, "accepted"), 4);
        }
        json_decref(j);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_array_then_duplicates, fc_test_world_setup,
                                        fc_test_world_teardown),
        cmocka_unit_test_setup_teardown(test_row_errors, fc_test_world_setup,
                                        fc_test_world_teardown),
        cmocka_unit_test_setup_teardown(test_access_and_limits, fc_test_world_setup,
                                        fc_test_world_teardown),
        cmocka_unit_test_setup_teardown(test_kpi_sees_new_orders, fc_test_world_setup,
                                        fc_test_world_teardown),
        cmocka_unit_test_setup_teardown(test_post_racing_stop, fc_test_world_setup,
                                        fc_test_world_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
