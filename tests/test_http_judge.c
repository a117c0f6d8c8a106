/*
 * The server's background judge, against a real server on 127.0.0.1: a
 * batch is answered "queued" and its orders are decided soon after;
 * judge=wait answers once they are; judge=0 leaves them undecided; batches
 * posted quickly are all judged and the store's mark reaches the highest
 * record; a stop judges what was queued; records stored without judging
 * (after the mark) are judged when a server starts; a record naming no
 * order makes the judge judge every order; a failed run keeps its orders
 * for the next try.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ingest/ingest.h"
#include "support.h"
#include "support_http.h"

#define T0 1772434800 /* 2026-03-02T07:00:00Z */

/* The events of an order of riyadh delivered late_min minutes past its
 * promise, as JSON objects separated by `sep` (",\n" inside an array,
 * "\n" for JSON Lines). */
static void order_events(char *out, size_t outsz, const char *id, int late_min, const char *sep) {
    long long t0 = T0, promised = t0 + 1800, delivered = promised + late_min * 60LL;
    snprintf(out, outsz,
             "{\"id\":\"%s-c\",\"type\":\"order_created\",\"ts\":%lld,\"order\":\"%s\","
             "\"city\":\"riyadh\",\"zone\":\"olaya\",\"merchant\":\"m1\",\"customer\":\"c1\","
             "\"category\":\"food\",\"promised_at\":%lld,\"amount\":\"50.00\","
             "\"currency\":\"SAR\"}%s"
             "{\"id\":\"%s-a\",\"type\":\"order_accepted\",\"ts\":%lld,\"order\":\"%s\","
             "\"rider\":\"r-%s\"}%s"
             "{\"id\":\"%s-p\",\"type\":\"order_picked_up\",\"ts\":%lld,\"order\":\"%s\","
             "\"rider\":\"r-%s\"}%s"
             "{\"id\":\"%s-d\",\"type\":\"order_delivered\",\"ts\":%lld,\"order\":\"%s\","
             "\"rider\":\"r-%s\"}",
             id, t0, id, promised, sep, id, t0 + 60, id, id, sep, id, t0 + 700, id, id, sep, id,
             delivered, id, id);
}

/* POST /v1/events?judge=<judge> (NULL: no parameter) with the late orders
 * ids[0..n) as one array; the answer, asserted 200. */
static json_t *post_orders(const fc_test_world *w, const char *judge, const char *const *ids,
                           size_t n) {
    size_t cap = 64 + n * 1400;
    char *body = malloc(cap);
    assert_non_null(body);
    size_t at = 0;
    body[at++] = '[';
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            body[at++] = ',';
        }
        order_events(body + at, cap - at, ids[i], 40, ",");
        at += strlen(body + at);
    }
    body[at++] = ']';
    body[at] = '\0';
    char path[64];
    snprintf(path, sizeof path, "/v1/events%s%s", judge != NULL ? "?judge=" : "",
             judge != NULL ? judge : "");
    fc_test_resp r;
    fc_test_send_as(w, w->admin, "POST", path, body, &r);
    free(body);
    if (r.status != 200) {
        fprintf(stderr, "status %d: %s\n", r.status, r.body);
    }
    assert_int_equal(r.status, 200);
    json_t *j = json_loads(r.body, 0, NULL);
    assert_non_null(j);
    fc_test_resp_free(&r);
    return j;
}

static void assert_judge(const json_t *j, const char *judge, long long judged) {
    assert_string_equal(json_string_value(json_object_get(j, "judge")), judge);
    assert_int_equal(json_integer_value(json_object_get(j, "judged")), judged);
}

/* The decisions GET /v1/orders/{id} lists. */
static size_t decisions_of(const fc_test_world *w, const char *id) {
    char path[128];
    snprintf(path, sizeof path, "/v1/orders/%s", id);
    fc_test_resp r;
    fc_test_get_as(w, w->admin, path, "", &r);
    assert_int_equal(r.status, 200);
    json_t *j = json_loads(r.body, 0, NULL);
    assert_non_null(j);
    json_t *d = json_object_get(j, "decisions");
    assert_true(json_is_array(d));
    size_t n = json_array_size(d);
    json_decref(j);
    fc_test_resp_free(&r);
    return n;
}

/* Poll until order id has a decision; fails after 20 s. */
static void await_decided(const fc_test_world *w, const char *id) {
    for (int i = 0; i < 400; i++) {
        if (decisions_of(w, id) > 0) {
            return;
        }
        usleep(50 * 1000);
    }
    fail_msg("order %s was not judged within 20 s", id);
}

/* One value of GET /metrics. */
static double metric(const fc_test_world *w, const char *name) {
    fc_test_resp r;
    fc_test_get(w->f.port, "/metrics", &r);
    assert_int_equal(r.status, 200);
    char key[128];
    snprintf(key, sizeof key, "\n%s ", name);
    const char *at = strstr(r.body, key);
    assert_non_null(at);
    double v = strtod(at + strlen(key), NULL);
    fc_test_resp_free(&r);
    return v;
}

/* The store's judged_seq mark (-1 when it has none) and highest seq. */
static void read_mark(const char *db, int64_t *mark, int64_t *max_seq) {
    fc_store *s = NULL;
    fc_err err;
    assert_int_equal(fc_store_open(db, &s, &err), FC_OK);
    int found = 0;
    *mark = -1;
    assert_int_equal(fc_store_mark_get(s, "judged_seq", mark, &found, &err), FC_OK);
    if (!found) {
        *mark = -1;
    }
    assert_int_equal(fc_store_max_seq(s, max_seq, &err), FC_OK);
    fc_store_close(s);
}

/* Wait (bounded) until the mark reaches the highest seq: a run's decisions
 * show as it commits them, the mark and the counters once it has ended. */
static void await_mark(const fc_test_world *w, int64_t *mark, int64_t *max_seq) {
    for (int i = 0; i < 400; i++) {
        read_mark(w->f.db, mark, max_seq);
        if (*mark == *max_seq) {
            return;
        }
        usleep(50 * 1000);
    }
}

/* Wait (bounded) until /metrics shows `name` at `v` or more; its value. */
static double await_metric(const fc_test_world *w, const char *name, double v) {
    double got = metric(w, name);
    for (int i = 0; i < 400 && got < v; i++) {
        usleep(50 * 1000);
        got = metric(w, name);
    }
    return got;
}

/* The decisions recorded for order id, read from the store. */
static int count_decision(void *ud, const fc_case_entry *e) {
    (void)e;
    (*(int *)ud)++;
    return 0;
}

static int stored_decisions(const char *db, const char *id) {
    fc_store *s = NULL;
    fc_err err;
    assert_int_equal(fc_store_open(db, &s, &err), FC_OK);
    fc_case_filter f;
    fc_case_filter_init(&f);
    f.type = FC_CASE_DECISION;
    f.order = fc_str_c(id);
    int n = 0;
    assert_int_equal(fc_store_case_scan(s, &f, count_decision, &n, &err), FC_OK);
    fc_store_close(s);
    return n;
}

/* Replace the world's server by a new one on its store. */
static void restart(fc_test_world *w) {
    fc_http_stop(w->f.h);
    fc_http_opts ho;
    memset(&ho, 0, sizeof ho);
    ho.db_path = w->f.db;
    fc_err err;
    assert_int_equal(fc_http_start(&ho, &w->f.h, &err), FC_OK);
    w->f.port = fc_http_port(w->f.h);
}

static void test_queued_then_decided(void **state) {
    fc_test_world *w = *state;
    const char *ids[] = {"Q1"};
    json_t *j = post_orders(w, NULL, ids, 1);
    assert_judge(j, "queued", 0);
    assert_int_equal(json_integer_value(json_object_get(j, "accepted")), 4);
    json_decref(j);
    await_decided(w, "Q1");
    /* judge=1 is the default, said out loud */
    ids[0] = "Q2";
    j = post_orders(w, "1", ids, 1);
    assert_judge(j, "queued", 0);
    json_decref(j);
    await_decided(w, "Q2");
    assert_true(await_metric(w, "fulcrum_judge_orders_total", 2) >= 2);
    assert_true(metric(w, "fulcrum_judge_runs_total") >= 1);
    assert_true(metric(w, "fulcrum_judge_failures_total") == 0);
}

/* Post order id with judge=0: answered "off". */
static void post_unjudged(const fc_test_world *w, const char *id) {
    const char *ids[] = {id};
    json_t *j = post_orders(w, "0", ids, 1);
    assert_judge(j, "off", 0);
    json_decref(j);
}

static void test_wait_and_off(void **state) {
    fc_test_world *w = *state;
    post_unjudged(w, "OFF1");
    const char *ids[] = {"W1", "W2"};
    json_t *j = post_orders(w, "wait", ids, 2);
    assert_judge(j, "done", 2); /* both closed, judged before the answer */
    json_decref(j);
    assert_true(decisions_of(w, "W1") > 0);
    assert_true(decisions_of(w, "W2") > 0);
    /* the judge=0 batch came first and the mark went past it: not judged */
    assert_int_equal(decisions_of(w, "OFF1"), 0);
    int64_t mark = 0, max_seq = 0;
    read_mark(w->f.db, &mark, &max_seq);
    assert_int_equal(mark, max_seq);
    assert_int_equal(stored_decisions(w->f.db, "OFF1"), 0);
}

static void test_many_batches(void **state) {
    fc_test_world *w = *state;
    enum { BATCHES = 20 };
    char names[BATCHES][2][16];
    for (int b = 0; b < BATCHES; b++) {
        snprintf(names[b][0], sizeof names[b][0], "M%d-a", b);
        snprintf(names[b][1], sizeof names[b][1], "M%d-b", b);
        const char *ids[] = {names[b][0], names[b][1]};
        json_t *j = post_orders(w, NULL, ids, 2);
        assert_int_equal(json_integer_value(json_object_get(j, "accepted")), 8);
        json_decref(j);
    }
    int64_t mark = 0, max_seq = 0;
    await_mark(w, &mark, &max_seq);
    assert_int_equal(mark, max_seq);
    for (int b = 0; b < BATCHES; b++) {
        assert_true(stored_decisions(w->f.db, names[b][0]) > 0);
        assert_true(stored_decisions(w->f.db, names[b][1]) > 0);
    }
    assert_true(await_metric(w, "fulcrum_judge_mark_seq", (double)max_seq) == (double)max_seq);
    assert_true(metric(w, "fulcrum_judge_queue_orders") == 0);
    assert_true(metric(w, "fulcrum_judge_lag_seconds") == 0);
}

static void test_stop_judges_the_queue(void **state) {
    fc_test_world *w = *state;
    for (int round = 0; round < 4; round++) {
        char id[16];
        snprintf(id, sizeof id, "STOP%d", round);
        const char *ids[] = {id};
        json_t *j = post_orders(w, NULL, ids, 1);
        assert_judge(j, "queued", 0);
        json_decref(j);
        fc_http_stop(w->f.h); /* right away: within the judge's debounce */
        w->f.h = NULL;
        assert_true(stored_decisions(w->f.db, id) > 0);
        int64_t mark = 0, max_seq = 0;
        read_mark(w->f.db, &mark, &max_seq);
        assert_int_equal(mark, max_seq);
        restart(w);
    }
}

static void test_catch_up_at_start(void **state) {
    fc_test_world *w = *state;
    /* the world's store was judged whole before its server started: the
     * server took it as judged */
    int64_t mark = 0, max_seq = 0;
    fc_http_stop(w->f.h);
    w->f.h = NULL;
    read_mark(w->f.db, &mark, &max_seq);
    assert_int_equal(mark, max_seq);

    /* records stored with no judging while no server runs */
    char a[2048], b[2048], lines[4200];
    order_events(a, sizeof a, "CU1", 40, "\n");
    order_events(b, sizeof b, "CU2", 40, "\n");
    snprintf(lines, sizeof lines, "%s\n%s\n", a, b);
    fc_store *s = NULL;
    fc_err err;
    assert_int_equal(fc_store_open(w->f.db, &s, &err), FC_OK);
    fc_ingest_opts o;
    memset(&o, 0, sizeof o);
    o.max_errors = -1;
    o.quiet = 1;
    fc_ingest_log log;
    assert_int_equal(fc_ingest_buffer(s, "test", lines, strlen(lines), &o, &log, &err), FC_OK);
    assert_int_equal(log.accepted, 8);
    fc_store_close(s);
    read_mark(w->f.db, &mark, &max_seq);
    assert_int_equal(mark + 8, max_seq);
    assert_int_equal(stored_decisions(w->f.db, "CU1"), 0);

    restart(w);
    await_decided(w, "CU1");
    await_decided(w, "CU2");
    await_mark(w, &mark, &max_seq);
    assert_int_equal(mark, max_seq);
}

static void test_no_order_judges_all(void **state) {
    fc_test_world *w = *state;
    post_unjudged(w, "WX1");
    /* weather over riyadh: it names no order, so every order is judged
     * again, WX1 (posted with judge=0) among them */
    const char *wx = "[{\"id\":\"wx-1\",\"type\":\"weather\",\"ts\":1772434800,"
                     "\"city\":\"riyadh\",\"from\":1772434800,\"to\":1772438400,"
                     "\"severity\":1}]";
    fc_test_resp r;
    fc_test_send_as(w, w->admin, "POST", "/v1/events?judge=wait", wx, &r);
    assert_int_equal(r.status, 200);
    json_t *j = json_loads(r.body, 0, NULL);
    assert_non_null(j);
    fc_test_resp_free(&r);
    assert_string_equal(json_string_value(json_object_get(j, "judge")), "done");
    /* a whole run: the world's closed orders and WX1 */
    assert_true(json_integer_value(json_object_get(j, "judged")) > 1);
    json_decref(j);
    assert_true(decisions_of(w, "WX1") > 0);
}

static void test_failed_run_is_kept(void **state) {
    fc_test_world *w = *state;
    const char *ids[] = {"F1"};
    json_t *j = post_orders(w, NULL, ids, 1);
    assert_judge(j, "queued", 0);
    json_decref(j);
    /* another writer holds the store's write lock past the judge's busy
     * timeout: its run fails, and F1 stays queued */
    fc_store *s = NULL;
    fc_err err;
    assert_int_equal(fc_store_open(w->f.db, &s, &err), FC_OK);
    assert_int_equal(fc_store_begin(s, &err), FC_OK);
    for (int i = 0; i < 600 && metric(w, "fulcrum_judge_failures_total") < 1; i++) {
        usleep(50 * 1000);
    }
    assert_true(metric(w, "fulcrum_judge_failures_total") >= 1);
    assert_true(metric(w, "fulcrum_judge_queue_orders") >= 1);
    assert_true(metric(w, "fulcrum_judge_lag_seconds") > 0);
    assert_int_equal(decisions_of(w, "F1"), 0);
    assert_int_equal(fc_store_rollback(s), FC_OK);
    fc_store_close(s);
    /* the next try judges it */
    await_decided(w, "F1");
    int64_t mark = 0, max_seq = 0;
    await_mark(w, &mark, &max_seq);
    assert_int_equal(mark, max_seq);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_queued_then_decided, fc_test_world_setup,
                                        fc_test_world_teardown),
        cmocka_unit_test_setup_teardown(test_wait_and_off, fc_test_world_setup,
                                        fc_test_world_teardown),
        cmocka_unit_test_setup_teardown(test_many_batches, fc_test_world_setup,
                                        fc_test_world_teardown),
        cmocka_unit_test_setup_teardown(test_stop_judges_the_queue, fc_test_world_setup,
                                        fc_test_world_teardown),
        cmocka_unit_test_setup_teardown(test_catch_up_at_start, fc_test_world_setup,
                                        fc_test_world_teardown),
        cmocka_unit_test_setup_teardown(test_no_order_judges_all, fc_test_world_setup,
                                        fc_test_world_teardown),
        cmocka_unit_test_setup_teardown(test_failed_run_is_kept, fc_test_world_setup,
                                        fc_test_world_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
