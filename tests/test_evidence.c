/*
 * Evidence that clears a rider, end to end: an order marked delivered far
 * from the door is ingested into a temp store and judged under the default
 * policy pack; the rider appeals with GPS points, and auto-review re-judges
 * the order with them (the fact door_gps_m, the rules far_delivery.gps_at_*).
 * Points at the door overturn the decision; points far away leave it to a
 * person. Through the library and through the fulcrum binary.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "adjudicate/adjudicate.h"
#include "appeal/appeal.h"
#include "case/case.h"
#include "ingest/ingest.h"
#include "store/store.h"
#include "support.h"

/* 2026-03-02T09:00:00Z: the orders' creation. */
#define T0  1772442000LL
#define MIN 60
#define H   3600

/* The door (the customer's point) and a point 1.1 km north of it. */
#define DOOR_LAT_E6 24731000
#define DOOR_LNG_E6 46675000
#define AWAY_LAT_E6 24741000

typedef struct fixture {
    char *dir;
    char db[512];
    fc_store *s;
    fc_policy_pack *pk;
} fixture;

static int setup(void **state) {
    fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    fx->dir = fc_test_tmpdir();
    assert_non_null(fx->dir);
    snprintf(fx->db, sizeof fx->db, "%s/t.db", fx->dir);
    fc_err err;
    assert_int_equal(fc_store_open(fx->db, &fx->s, &err), FC_OK);
    assert_int_equal(fc_policy_pack_load(fc_policy_dir(), &fx->pk, &err), FC_OK);
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    fixture *fx = *state;
    fc_store_close(fx->s);
    fc_policy_pack_free(fx->pk);
    fc_test_rmtree(fx->dir);
    free(fx->dir);
    free(fx);
    return 0;
}

/* The order's events as JSON Lines: accepted by r-101, picked up at 09:15,
 * no arrival at the door logged, marked delivered at 09:31 at 24.7346, 400 m
 * north of the door. */
static void write_order(const fixture *fx, const char *order, const char *file) {
    char text[4096];
    int n = snprintf(
        text, sizeof text,
        "{\"id\":\"%1$s:1\",\"type\":\"order_created\",\"ts\":\"2026-03-02T09:00:00Z\","
        "\"order\":\"%1$s\",\"city\":\"riyadh\",\"zone\":\"olaya\",\"merchant\":\"m-1\","
        "\"customer\":\"c-1\",\"category\":\"food\",\"promised_at\":\"2026-03-02T09:40:00Z\","
        "\"est_ready_at\":\"2026-03-02T09:15:00Z\",\"distance_m\":2000,\"merchant_lat\":24.713,"
        "\"merchant_lng\":46.675,\"customer_lat\":24.731,\"customer_lng\":46.675,"
        "\"amount\":\"42.50\",\"currency\":\"SAR\"}\n"
        "{\"id\":\"%1$s:2\",\"type\":\"order_accepted\",\"ts\":\"2026-03-02T09:01:00Z\","
        "\"order\":\"%1$s\",\"rider\":\"r-101\"}\n"
        "{\"id\":\"%1$s:3\",\"type\":\"rider_arrived_merchant\",\"ts\":\"2026-03-02T09:13:00Z\","
        "\"order\":\"%1$s\",\"rider\":\"r-101\"}\n"
        "{\"id\":\"%1$s:4\",\"type\":\"order_ready\",\"ts\":\"2026-03-02T09:15:00Z\","
        "\"order\":\"%1$s\"}\n"
        "{\"id\":\"%1$s:5\",\"type\":\"order_picked_up\",\"ts\":\"2026-03-02T09:15:00Z\","
        "\"order\":\"%1$s\",\"rider\":\"r-101\"}\n"
        "{\"id\":\"%1$s:6\",\"type\":\"order_delivered\",\"ts\":\"2026-03-02T09:31:00Z\","
        "\"order\":\"%1$s\",\"rider\":\"r-101\",\"lat\":24.734593,\"lng\":46.675,"
        "\"proof\":\"photo:1\"}\n",
        order);
    assert_true(n > 0 && (size_t)n < sizeof text);
    assert_int_equal(fc_test_write(fx->dir, file, text, (size_t)n), 0);
}

/* Ingest the order's file and judge every closed order of the store. */
static void ingest_and_judge(fixture *fx, const char *order) {
    char file[64], path[600];
    snprintf(file, sizeof file, "%s.jsonl", order);
    write_order(fx, order, file);
    snprintf(path, sizeof path, "%s/%s", fx->dir, file);
    fc_ingest_opts io;
    memset(&io, 0, sizeof io);
    io.max_errors = 1;
    io.quiet = 1;
    fc_ingest_log log;
    fc_err err;
    assert_int_equal(fc_ingest_file(fx->s, path, &io, &log, &err), FC_OK);
    fc_adj_opts o;
    fc_adj_opts_init(&o);
    o.pack = fx->pk;
    o.now = T0 + 2 * H;
    assert_int_equal(fc_adj_run(fx->s, &o, NULL, &err), FC_OK);
}

/* The current far-delivery decision of an order. */
typedef struct found {
    const char *order;
    fc_case_decision cd;
    int n;
} found;

static int find_cb(void *ud, const fc_case_decision *d) {
    found *f = ud;
    if (d->d.incident == FC_INCIDENT_FAR_DELIVERY && strcmp(d->order, f->order) == 0) {
        f->cd = *d;
        f->n++;
    }
    return 0;
}

static found far_decision(fc_store *s, const char *order) {
    found f;
    memset(&f, 0, sizeof f);
    f.order = order;
    fc_adj_opts o;
    fc_adj_opts_init(&o);
    fc_err err;
    assert_int_equal(fc_adj_decisions(s, &o, find_cb, &f, &err), FC_OK);
    assert_int_equal(f.n, 1);
    return f;
}

/* The rider's ledger on a decision: entries and points. */
typedef struct sums {
    int64_t points, entries, reversals;
} sums;

static int sum_cb(void *ud, const fc_case_entry *e) {
    sums *s = ud;
    fc_ledger_entry le;
    fc_err err;
    assert_int_equal(fc_case_ledger_parse(e->body, &le, &err), FC_OK);
    if (le.party == FC_PARTY_RIDER) {
        s->points += le.points;
        s->entries++;
        s->reversals += le.kind == FC_LEDGER_REVERSAL;
    }
    return 0;
}

static sums rider_ledger(fc_store *s, const char *decision) {
    sums out = {0, 0, 0};
    fc_case_filter f;
    fc_case_filter_init(&f);
    f.type = FC_CASE_LEDGER;
    f.decision = fc_str_c(decision);
    fc_err err;
    assert_int_equal(fc_store_case_scan(s, &f, sum_cb, &out, &err), FC_OK);
    return out;
}

static fc_appeal_item gps(int64_t ts, int32_t lat_e6) {
    fc_appeal_item it;
    memset(&it, 0, sizeof it);
    it.kind = FC_APPEAL_ITEM_GPS;
    it.ts = ts;
    it.lat_e6 = lat_e6;
    it.lng_e6 = DOOR_LNG_E6;
    it.duration_s = FC_INT_NONE;
    return it;
}

/* The rider appeals with the GPS points items[0..n). */
static fc_appeal appeal_with_points(fixture *fx, const char *decision, fc_appeal_item *items,
                                    size_t n) {
    fc_appeal_filing f;
    memset(&f, 0, sizeof f);
    f.decision = decision;
    f.appellant = FC_PARTY_RIDER;
    f.appellant_id = "r-101";
    f.statement = "I was at the door; the app marked the delivery on a bad GPS fix.";
    f.items = items;
    f.n_items = n;
    fc_appeal a;
    fc_err err;
    assert_int_equal(fc_appeal_file(fx->s, fx->pk, &f, T0 + 3 * H, "r-101", &a, &err), FC_OK);
    return a;
}

/* The rider appeals with two GPS points before the delivery mark (09:28
 * and 09:30) at latitude lat_e6. */
static fc_appeal appeal_with_gps(fixture *fx, const char *decision, int32_t lat_e6) {
    fc_appeal_item items[2] = {gps(T0 + 28 * MIN, lat_e6), gps(T0 + 30 * MIN, lat_e6)};
    return appeal_with_points(fx, decision, items, 2);
}

/* ------------------------------------------------------------------------- */

static void test_judged_liable_without_gps(void **state) {
    fixture *fx = *state;
    ingest_and_judge(fx, "o-ev0");
    found f = far_decision(fx->s, "o-ev0");
    assert_int_equal(f.cd.d.liable, FC_PARTY_RIDER);
    assert_string_equal(f.cd.d.rule_id, "far_delivery.no_arrival");
    assert_true(f.cd.d.review);
}

/* GPS at the door: re-judged as the platform's position error, conclusive,
 * so auto-review overturns on its own; the penalty a reviewer had confirmed
 * is reversed. */
static void test_gps_at_door_overturns(void **state) {
    fixture *fx = *state;
    ingest_and_judge(fx, "o-ev1");
    found f = far_decision(fx->s, "o-ev1");
    assert_int_equal(f.cd.d.liable, FC_PARTY_RIDER);
    assert_true(f.cd.d.review);
    fc_err err;
    /* A reviewer confirms the decision: the rider's minor penalty takes
     * effect. */
    size_t added = 0;
    assert_int_equal(fc_appeal_queue_reviews(fx->s, fx->pk, T0 + 2 * H, &added, &err), FC_OK);
    assert_true(added >= 1);
    fc_appeal_query q;
    fc_appeal_query_init(&q);
    q.kind = FC_APPEAL_KIND_REVIEW;
    fc_appeal *items = NULL;
    size_t n = 0;
    assert_int_equal(fc_appeal_list(fx->s, &q, T0 + 2 * H, &items, &n, &err), FC_OK);
    const fc_appeal *rev = NULL;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(items[i].decision, f.cd.id) == 0) {
            rev = &items[i];
        }
    }
    assert_non_null(rev);
    fc_appeal_verdict v = {FC_VERDICT_UPHOLD, "no arrival at the door on record", "alice", 0};
    fc_appeal done;
    assert_int_equal(
        fc_appeal_decide(fx->s, rev->id, &v, rev->last_seq, T0 + 2 * H + 60, &done, &err), FC_OK);
    fc_free(items);
    sums before = rider_ledger(fx->s, f.cd.id);
    assert_int_equal(before.points, -1);
    assert_int_equal(before.reversals, 0);

    fc_appeal a = appeal_with_gps(fx, f.cd.id, DOOR_LAT_E6);
    assert_int_equal(a.state, FC_APPEAL_OVERTURNED);
    assert_true(a.auto_reviewed);
    assert_true(a.auto_overturned);
    assert_string_equal(a.decided_by, "auto-review");
    sums after = rider_ledger(fx->s, f.cd.id);
    assert_int_equal(after.points, 0);
    assert_int_equal(after.reversals, 1);
}

/* A decision still waiting for its review is overturned the same way: it
 * never took effect, so nothing is in the ledger, before or after. */
static void test_gps_at_door_overturns_pending_review(void **state) {
    fixture *fx = *state;
    ingest_and_judge(fx, "o-ev2");
    found f = far_decision(fx->s, "o-ev2");
    assert_int_equal(rider_ledger(fx->s, f.cd.id).entries, 0);
    /* 0.002 degrees of latitude: 222 m from the door, within 300 m. */
    fc_appeal a = appeal_with_gps(fx, f.cd.id, DOOR_LAT_E6 + 2000);
    assert_int_equal(a.state, FC_APPEAL_OVERTURNED);
    assert_true(a.auto_overturned);
    assert_int_equal(rider_ledger(fx->s, f.cd.id).entries, 0);
}

/* Delivered at 09:31: a point at the door four minutes later still counts
 * (door_gps_m reads positions to 5 minutes after delivery), one six minutes
 * later is kept for the reviewer but not read. */
static void test_gps_after_delivery_window(void **state) {
    fixture *fx = *state;
    ingest_and_judge(fx, "o-ev4");
    ingest_and_judge(fx, "o-ev5");
    found f4 = far_decision(fx->s, "o-ev4");
    found f5 = far_decision(fx->s, "o-ev5");
    fc_appeal_item late4[1] = {gps(T0 + 35 * MIN, DOOR_LAT_E6)};
    fc_appeal a4 = appeal_with_points(fx, f4.cd.id, late4, 1);
    assert_int_equal(a4.state, FC_APPEAL_OVERTURNED);
    assert_true(a4.auto_overturned);
    fc_appeal_item late6[1] = {gps(T0 + 37 * MIN, DOOR_LAT_E6)};
    fc_appeal a5 = appeal_with_points(fx, f5.cd.id, late6, 1);
    assert_int_equal(a5.state, FC_APPEAL_PENDING);
    assert_false(a5.auto_overturned);
}

/* GPS 1.1 km away proves nothing for the rider: the decision stands and the
 * appeal waits for a person. */
static void test_gps_far_away_queues(void **state) {
    fixture *fx = *state;
    ingest_and_judge(fx, "o-ev3");
    found f = far_decision(fx->s, "o-ev3");
    fc_appeal a = appeal_with_gps(fx, f.cd.id, AWAY_LAT_E6);
    assert_int_equal(a.state, FC_APPEAL_PENDING);
    assert_true(a.auto_reviewed);
    assert_false(a.auto_overturned);
    assert_int_equal(a.due_at, T0 + 3 * H + 24 * H); /* the rider's 24 h */
    /* The decision is still the current one. */
    found again = far_decision(fx->s, "o-ev3");
    assert_string_equal(again.cd.id, f.cd.id);
    assert_int_equal(again.cd.d.liable, FC_PARTY_RIDER);
}

/* ---------------------------------------------------------------------------
 * The same through the binary: ingest, judge, appeal file --gps.
 */
static char *run_ok(const char *const *args) {
    char *out = NULL, *errs = NULL;
    int rc = fc_test_run(NULL, args, &out, &errs);
    if (rc != 0) {
        fail_msg("%s %s: exit %d: %s", args[0], args[1] ? args[1] : "", rc, errs ? errs : "");
    }
    free(errs);
    return out;
}

static void cli_case(fixture *fx, const char *order, const char *gps_arg, fc_appeal_state want) {
    char file[64], path[600];
    snprintf(file, sizeof file, "%s.jsonl", order);
    write_order(fx, order, file);
    snprintf(path, sizeof path, "%s/%s", fx->dir, file);
    const char *ingest[] = {"ingest", "--db", fx->db, path, NULL};
    free(run_ok(ingest));
    const char *judge[] = {"judge", "--db", fx->db, NULL};
    free(run_ok(judge));
    found f = far_decision(fx->s, order);
    assert_int_equal(f.cd.d.liable, FC_PARTY_RIDER);
    const char *file_args[] = {"appeal",
                               "file",
                               f.cd.id,
                               "--db",
                               fx->db,
                               "--as",
                               "rider:r-101",
                               "--statement",
                               "I stood at the door",
                               "--gps",
                               gps_arg,
                               "--now",
                               "2026-03-02T12:00:00Z",
                               NULL};
    char *out = run_ok(file_args);
    assert_non_null(strstr(out, fc_appeal_state_name(want)));
    free(out);
    fc_appeal_query q;
    fc_appeal_query_init(&q);
    q.kind = FC_APPEAL_KIND_APPEAL;
    fc_appeal *items = NULL;
    size_t n = 0;
    fc_err err;
    assert_int_equal(fc_appeal_list(fx->s, &q, T0 + 4 * H, &items, &n, &err), FC_OK);
    int seen = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(items[i].decision, f.cd.id) == 0) {
            seen++;
            assert_int_equal(items[i].state, want);
            assert_true(items[i].auto_reviewed);
            assert_int_equal(items[i].auto_overturned, want == FC_APPEAL_OVERTURNED);
        }
    }
    assert_int_equal(seen, 1);
    fc_free(items);
}

static void test_cli_gps_at_door_overturns(void **state) {
    cli_case(*state, "o-cli1", "2026-03-02T09:30:00Z,24.731,46.675", FC_APPEAL_OVERTURNED);
}

static void test_cli_gps_far_away_queues(void **state) {
    cli_case(*state, "o-cli2", "2026-03-02T09:30:00Z,24.741,46.675", FC_APPEAL_PENDING);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_judged_liable_without_gps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gps_at_door_overturns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gps_at_door_overturns_pending_review, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gps_after_delivery_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gps_far_away_queues, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_gps_at_door_overturns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_gps_far_away_queues, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
