/*
 * adjudicate: the judge run over a real store built from handwritten files
 * (tests/data/adjudicate: a city, riders, four orders of Riyadh, two later
 * complaints), and the `fulcrum judge` and `fulcrum ingest` commands.
 *
 * The orders: A1 severely late through the rider's own riding (rider
 * penalty, customer compensation); A2 severely late after 43 min waiting at
 * the merchant (chargeback, compensation); A3 on time (no decision until a
 * complaint); A4 open (never judged); A5 on time, by A1's rider.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "adjudicate/adjudicate.h"
#include "ingest/ingest.h"
#include "support.h"

#define DATA FC_TEST_DATA "/adjudicate"

typedef struct fixture {
    char *dir;
    char db[512];
    fc_store *s;
    fc_policy_pack *pack;
} fixture;

static int setup(void **state) {
    fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    fx->dir = fc_test_tmpdir();
    assert_non_null(fx->dir);
    snprintf(fx->db, sizeof fx->db, "%s/t.db", fx->dir);
    fc_err err;
    assert_int_equal(fc_store_open(fx->db, &fx->s, &err), FC_OK);
    assert_int_equal(fc_policy_pack_load(FC_SOURCE_DIR "/policies", &fx->pack, &err), FC_OK);
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    fixture *fx = *state;
    fc_store_close(fx->s);
    fc_policy_pack_free(fx->pack);
    fc_test_rmtree(fx->dir);
    free(fx->dir);
    free(fx);
    return 0;
}

static void ingest(fixture *fx, const char *name) {
    char path[512], rejects[600];
    snprintf(path, sizeof path, "%s/%s", DATA, name);
    snprintf(rejects, sizeof rejects, "%s/rejects.csv", fx->dir);
    fc_ingest_opts o;
    memset(&o, 0, sizeof o);
    o.quiet = 1;
    o.max_errors = -1;
    o.reject_path = rejects;
    fc_ingest_log log;
    fc_err err;
    assert_int_equal(fc_ingest_file(fx->s, path, &o, &log, &err), FC_OK);
    assert_int_equal(log.rejected, 0);
}

static void ingest_world(fixture *fx) {
    ingest(fx, "cities.csv");
    ingest(fx, "riders.csv");
    ingest(fx, "orders.csv");
}

static void run(fixture *fx, fc_adj_stats *st) {
    fc_adj_opts o;
    fc_adj_opts_init(&o);
    o.pack = fx->pack;
    o.now = 1772400000;
    fc_err err;
    int rc = fc_adj_run(fx->s, &o, st, &err);
    if (rc != FC_OK) {
        fail_msg("judge run: %s", err.msg);
    }
}

static void counts(fixture *fx, int64_t c[FC_CASE__COUNT]) {
    fc_err err;
    assert_int_equal(fc_store_case_counts(fx->s, c, &err), FC_OK);
}

/* ---------------------------------------------------------------------------
 * Recording.
 */
static void test_recorded_once(void **state) {
    fixture *fx = *state;
    ingest_world(fx);
    fc_adj_stats st;
    run(fx, &st);
    assert_int_equal(st.orders, 4); /* A4 is open */
    assert_int_equal(st.decisions, 2);
    assert_int_equal(st.recorded, 2);
    assert_int_equal(st.unchanged, 0);
    assert_int_equal(st.superseded, 0);
    assert_int_equal(st.ledger, 4);
    assert_int_equal(st.by_party[FC_PARTY_RIDER], 1);
    assert_int_equal(st.by_party[FC_PARTY_MERCHANT], 1);
    int64_t c1[FC_CASE__COUNT];
    counts(fx, c1);
    assert_int_equal(c1[FC_CASE_DECISION], 2);
    assert_int_equal(c1[FC_CASE_LEDGER], 4);

    /* Again: nothing new, every entry count the same. */
    run(fx, &st);
    assert_int_equal(st.decisions, 2);
    assert_int_equal(st.recorded, 0);
    assert_int_equal(st.unchanged, 2);
    assert_int_equal(st.ledger, 0);
    int64_t c2[FC_CASE__COUNT];
    counts(fx, c2);
    assert_memory_equal(c1, c2, sizeof c1);

    /* Only the orders named: A2 alone; unknown and open orders skipped. */
    fc_adj_opts o;
    fc_adj_opts_init(&o);
    o.pack = fx->pack;
    o.now = 1772400000;
    fc_str only[] = {fc_str_c("A2"), fc_str_c("A4"), fc_str_c("nope"), fc_str_c("A2")};
    fc_err err;
    assert_int_equal(fc_adj_run_orders(fx->s, &o, only, 4, &st, &err), FC_OK);
    assert_int_equal(st.orders, 1);
    assert_int_equal(st.decisions, 1);
    assert_int_equal(st.unchanged, 1);
    counts(fx, c2);
    assert_memory_equal(c1, c2, sizeof c1);

    /* A1 alone: its rider's other order, A5, was carried after it (their
     * carries do not overlap, so A5's stacked orders cannot change). */
    assert_int_equal(fc_adj_run_orders(fx->s, &o, only, 1, &st, &err), FC_OK);
    assert_int_equal(st.orders, 1);
    fc_str a1[] = {fc_str_c("A1")};
    assert_int_equal(fc_adj_run_orders(fx->s, &o, a1, 1, &st, &err), FC_OK);
    assert_int_equal(st.orders, 1);
    assert_int_equal(st.decisions, 1);
    assert_int_equal(st.unchanged, 1);

    /* An order whose creation has not arrived yet (a complaint came first)
     * is skipped; the others named with it are judged. */
    const char *early = "{\"id\":\"Z9:complaint:1\",\"type\":\"complaint\","
                        "\"ts\":\"2026-03-02T11:30:00+03:00\",\"order\":\"Z9\","
                        "\"city\":\"riyadh\",\"by\":\"customer\","
                        "\"category\":\"rider_behaviour\",\"channel\":\"app\"}\n";
    assert_int_equal(fc_test_write(fx->dir, "early.jsonl", early, strlen(early)), 0);
    char path[600], rejects[700];
    snprintf(path, sizeof path, "%s/early.jsonl", fx->dir);
    snprintf(rejects, sizeof rejects, "%s/early.rejects.csv", fx->dir);
    fc_ingest_opts io;
    memset(&io, 0, sizeof io);
    io.quiet = 1;
    io.reject_path = rejects;
    fc_ingest_log log;
    assert_int_equal(fc_ingest_file(fx->s, path, &io, &log, &err), FC_OK);
    assert_int_equal(log.rejected, 0);
    fc_str with_early[] = {fc_str_c("Z9"), fc_str_c("A2")};
    assert_int_equal(fc_adj_run_orders(fx->s, &o, with_early, 2, &st, &err), FC_OK);
    assert_int_equal(st.orders, 1);
    assert_int_equal(st.unchanged, 1);
}

/* Sum of ledger amounts per party and id. */
typedef struct sums {
    char key[16][80];
    int64_t points[16], amount[16];
    size_t n;
} sums;

static void sums_add(sums *s, const fc_ledger_entry *e) {
    char key[80];
    snprintf(key, sizeof key, "%s/%s", fc_party_name(e->party), e->party_id);
    size_t i = 0;
    while (i < s->n && strcmp(s->key[i], key) != 0) {
        i++;
    }
    if (i == s->n) {
        assert_true(s->n < 16);
        snprintf(s->key[s->n++], sizeof s->key[0], "%s", key);
    }
    s->points[i] += e->points;
    s->amount[i] += e->amount_minor;
}

static int add_logged(void *ud, const fc_case_entry *e) {
    fc_ledger_entry le;
    fc_err err;
    assert_int_equal(fc_case_ledger_parse(e->body, &le, &err), FC_OK);
    sums_add(ud, &le);
    return 0;
}

static int add_expected(void *ud, const fc_case_decision *d) {
    fc_ledger_entry le[4];
    size_t n = fc_case_ledger_for(d, 0, le, 4);
    for (size_t i = 0; i < n; i++) {
        sums_add(ud, &le[i]);
    }
    return 0;
}

/* Every party's ledger sums to the consequences of the decisions in
 * force. */
static void ledger_matches_decisions(fixture *fx) {
    sums logged, expected;
    memset(&logged, 0, sizeof logged);
    memset(&expected, 0, sizeof expected);
    fc_case_filter f;
    fc_case_filter_init(&f);
    f.type = FC_CASE_LEDGER;
    fc_err err;
    assert_int_equal(fc_store_case_scan(fx->s, &f, add_logged, &logged, &err), FC_OK);
    assert_int_equal(fc_adj_decisions(fx->s, NULL, add_expected, &expected, &err), FC_OK);
    for (size_t i = 0; i < logged.n; i++) {
        size_t k = 0;
        while (k < expected.n && strcmp(expected.key[k], logged.key[i]) != 0) {
            k++;
        }
        int64_t want_points = k < expected.n ? expected.points[k] : 0;
        int64_t want_amount = k < expected.n ? expected.amount[k] : 0;
        if (logged.points[i] != want_points || logged.amount[i] != want_amount) {
            fail_msg("%s: ledger %lld points %lld money, decisions in force %lld, %lld",
                     logged.key[i], (long long)logged.points[i], (long long)logged.amount[i],
                     (long long)want_points, (long long)want_amount);
        }
    }
    for (size_t k = 0; k < expected.n; k++) {
        size_t i = 0;
        while (i < logged.n && strcmp(expected.key[k], logged.key[i]) != 0) {
            i++;
        }
        assert_true(i < logged.n);
    }
}

typedef struct found {
    fc_case_decision d[8];
    size_t n;
} found;

static int keep(void *ud, const fc_case_decision *d) {
    found *f = ud;
    if (f->n < 8) {
        f->d[f->n++] = *d;
    }
    return 0;
}

static const fc_case_decision *of_order(const found *f, const char *order) {
    for (size_t i = 0; i < f->n; i++) {
        if (strcmp(f->d[i].order, order) == 0) {
            return &f->d[i];
        }
    }
    return NULL;
}

static void test_later_complaint_supersedes(void **state) {
    fixture *fx = *state;
    ingest_world(fx);
    fc_adj_stats st;
    run(fx, &st);
    ledger_matches_decisions(fx);

    /* A missing-item complaint on A3: the merchant. */
    ingest(fx, "complaint_items.jsonl");
    run(fx, &st);
    assert_int_equal(st.decisions, 3);
    assert_int_equal(st.recorded, 1);
    assert_int_equal(st.superseded, 0);
    assert_int_equal(st.ledger, 2); /* chargeback, compensation */
    found *f = calloc(1, sizeof *f);
    assert_non_null(f);
    fc_err err;
    assert_int_equal(fc_adj_decisions(fx->s, NULL, keep, f, &err), FC_OK);
    assert_int_equal(f->n, 3);
    const fc_case_decision *first = of_order(f, "A3");
    assert_non_null(first);
    assert_int_equal(first->d.incident, FC_INCIDENT_COMPLAINT);
    assert_int_equal(first->d.liable, FC_PARTY_MERCHANT);
    char first_id[FC_CASE_ID_MAX];
    snprintf(first_id, sizeof first_id, "%s", first->id);
    ledger_matches_decisions(fx);

    /* A complaint about the rider's behaviour: the outcome changes, the
     * merchant's chargeback and the compensation are reversed. */
    int64_t before[FC_CASE__COUNT], after[FC_CASE__COUNT];
    counts(fx, before);
    ingest(fx, "complaint_rider.jsonl");
    run(fx, &st);
    assert_int_equal(st.recorded, 1);
    assert_int_equal(st.superseded, 1);
    assert_int_equal(st.unchanged, 2);
    counts(fx, after);
    assert_int_equal(after[FC_CASE_DECISION], before[FC_CASE_DECISION] + 1);
    /* Two reversals; the rider's penalty waits for a person (review). */
    assert_int_equal(after[FC_CASE_LEDGER], before[FC_CASE_LEDGER] + 2);
    f->n = 0;
    assert_int_equal(fc_adj_decisions(fx->s, NULL, keep, f, &err), FC_OK);
    assert_int_equal(f->n, 3); /* the superseded one is no longer in force */
    const fc_case_decision *now = of_order(f, "A3");
    assert_non_null(now);
    assert_int_equal(now->d.liable, FC_PARTY_RIDER);
    assert_string_equal(now->supersedes, first_id);
    assert_string_not_equal(now->id, first_id);
    ledger_matches_decisions(fx);

    /* The superseded decision is still there, by its id. */
    fc_arena *arena = fc_arena_new(0);
    fc_case_decision *old = malloc(sizeof *old);
    assert_non_null(old);
    assert_int_equal(fc_adj_decision_get(fx->s, first_id, arena, old, &err), FC_OK);
    assert_int_equal(old->d.liable, FC_PARTY_MERCHANT);
    assert_int_equal(fc_adj_decision_get(fx->s, "dec-000000000000000000000000", arena, old, &err),
                     FC_ENOTFOUND);

    /* Judging again changes nothing. */
    counts(fx, before);
    run(fx, &st);
    assert_int_equal(st.recorded, 0);
    counts(fx, after);
    assert_memory_equal(before, after, sizeof before);
    free(old);
    fc_arena_free(arena);
    free(f);
}

typedef struct found_entry {
    fc_case_withdrawal w;
    size_t n;
} found_entry;

static int keep_entry(void *ud, const fc_case_entry *e) {
    found_entry *fe = ud;
    fc_err err;
    assert_int_equal(fc_case_withdrawal_parse(e->body, &fe->w, &err), FC_OK);
    fe->n++;
    return 0;
}

typedef struct reversals {
    char cause[FC_CASE_ID_MAX];
    size_t n;
} reversals;

static int count_reversals(void *ud, const fc_case_entry *e) {
    reversals *rv = ud;
    fc_ledger_entry le;
    fc_err err;
    assert_int_equal(fc_case_ledger_parse(e->body, &le, &err), FC_OK);
    rv->n += le.kind == FC_LEDGER_REVERSAL && strcmp(le.cause, rv->cause) == 0;
    return 0;
}

/* ---------------------------------------------------------------------------
 * Policies that change: rollback and withdrawal.
 */

/* A pack in dir/<name>: the default base policy and the default SA policy
 * with `sa_extra` appended and the SAR severe-lateness compensation set to
 * `severe_late` (a new version of it when either differs). */
static fc_policy_pack *pack_variant(fixture *fx, const char *name, const char *severe_late,
                                    const char *sa_extra) {
    char dir[600];
    snprintf(dir, sizeof dir, "%s/%s", fx->dir, name);
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_int_equal(fc_test_copy(FC_SOURCE_DIR "/policies/base.yaml", dir, "base.yaml"), 0);
    char *sa = fc_test_slurp(FC_SOURCE_DIR "/policies/sa.yaml", NULL);
    assert_non_null(sa);
    const char *key = "severe_late: ";
    char *at = strstr(sa, key);
    assert_non_null(at);
    at += strlen(key);
    char *eol = strchr(at, '\n');
    assert_non_null(eol);
    size_t n = strlen(sa) + strlen(severe_late) + strlen(sa_extra) + 2;
    char *text = malloc(n);
    assert_non_null(text);
    snprintf(text, n, "%.*s%s%s\n%s", (int)(at - sa), sa, severe_late, eol, sa_extra);
    assert_int_equal(fc_test_write(dir, "sa.yaml", text, strlen(text)), 0);
    free(text);
    free(sa);
    fc_policy_pack *pk = NULL;
    fc_err err;
    if (fc_policy_pack_load(dir, &pk, &err) != FC_OK) {
        fail_msg("pack %s: %s", name, err.msg);
    }
    return pk;
}

static void run_with(fixture *fx, const fc_policy_pack *pk, const char *city, fc_adj_stats *st) {
    fc_adj_opts o;
    fc_adj_opts_init(&o);
    o.pack = pk;
    o.city = city;
    o.now = 1772400000;
    fc_err err;
    int rc = fc_adj_run(fx->s, &o, st, &err);
    if (rc != FC_OK) {
        fail_msg("judge run: %s", err.msg);
    }
}

static found *in_force(fixture *fx) {
    found *f = calloc(1, sizeof *f);
    assert_non_null(f);
    fc_err err;
    assert_int_equal(fc_adj_decisions(fx->s, NULL, keep, f, &err), FC_OK);
    return f;
}

/* A second run under the same pack writes nothing at all. */
static void run_again_writes_nothing(fixture *fx, const fc_policy_pack *pk) {
    int64_t before[FC_CASE__COUNT], after[FC_CASE__COUNT];
    counts(fx, before);
    fc_adj_stats st;
    run_with(fx, pk, NULL, &st);
    assert_int_equal(st.recorded, 0);
    assert_int_equal(st.withdrawn, 0);
    assert_int_equal(st.ledger, 0);
    counts(fx, after);
    assert_memory_equal(before, after, sizeof before);
}

static void test_rollback_reinstates(void **state) {
    fixture *fx = *state;
    ingest_world(fx);
    fc_policy_pack *v1 = pack_variant(fx, "v1", "30.00", "");
    fc_policy_pack *v2 = pack_variant(fx, "v2", "40.00", "");
    fc_adj_stats st;
    run_with(fx, v1, NULL, &st);
    assert_int_equal(st.recorded, 2);
    found *f1 = in_force(fx);
    assert_int_equal(f1->n, 2);
    ledger_matches_decisions(fx);

    /* v2 deployed: both decisions change (the compensation). */
    run_with(fx, v2, NULL, &st);
    assert_int_equal(st.recorded, 2);
    assert_int_equal(st.superseded, 2);
    found *f2 = in_force(fx);
    assert_int_equal(f2->n, 2);
    assert_int_equal(of_order(f2, "A1")->d.consequence.customer_compensation_minor, 4000);
    ledger_matches_decisions(fx);
    run_again_writes_nothing(fx, v2);

    /* Rolled back to v1: v1's outcomes are in force again, under fresh ids
     * that supersede v2's and name the outcome they reinstate. */
    run_with(fx, v1, NULL, &st);
    assert_int_equal(st.recorded, 2);
    assert_int_equal(st.superseded, 2);
    assert_int_equal(st.unchanged, 0);
    found *f3 = in_force(fx);
    assert_int_equal(f3->n, 2);
    const char *orders[] = {"A1", "A2"};
    for (size_t i = 0; i < 2; i++) {
        const fc_case_decision *was = of_order(f1, orders[i]), *v2d = of_order(f2, orders[i]),
                               *now = of_order(f3, orders[i]);
        assert_non_null(now);
        assert_string_not_equal(now->id, was->id);
        assert_string_equal(now->outcome, was->id);
        assert_string_equal(now->supersedes, v2d->id);
        assert_int_equal(now->d.consequence.customer_compensation_minor,
                         was->d.consequence.customer_compensation_minor);
        assert_string_equal(now->d.policy_version, was->d.policy_version);
    }
    ledger_matches_decisions(fx);
    run_again_writes_nothing(fx, v1);

    /* Forward and back once more: each step is recorded, each repeat
     * writes nothing, and the ledger follows. */
    run_with(fx, v2, NULL, &st);
    assert_int_equal(st.recorded, 2);
    ledger_matches_decisions(fx);
    run_again_writes_nothing(fx, v2);
    found *f4 = in_force(fx);
    assert_string_equal(of_order(f4, "A1")->outcome, of_order(f2, "A1")->id);
    assert_string_not_equal(of_order(f4, "A1")->id, of_order(f2, "A1")->id);
    run_with(fx, v1, NULL, &st);
    assert_int_equal(st.recorded, 2);
    ledger_matches_decisions(fx);
    run_again_writes_nothing(fx, v1);
    free(f4);
    free(f3);
    free(f2);
    free(f1);
    fc_policy_pack_free(v2);
    fc_policy_pack_free(v1);
}

/* Jeddah: B1, late like A1 and by its own rider. */
static void ingest_jeddah(fixture *fx) {
    static const char cities[] = "country,city,tz,currency\nSA,jeddah,Asia/Riyadh,SAR\n";
    static const char riders[] =
        "rider,city,capacity,fleet,start_date\nr9,jeddah,full_time,,2024-01-01\n";
    char *orders = fc_test_slurp(DATA "/orders.csv", NULL);
    assert_non_null(orders);
    char *a1 = strstr(orders, "\nA1,riyadh,olaya,m1,c1,r1,");
    assert_non_null(a1);
    char *end = strchr(a1 + 1, '\n');
    assert_non_null(end);
    end[1] = '\0';
    char *head_end = strchr(orders, '\n');
    char text[4096];
    snprintf(text, sizeof text, "%.*s\nB1,jeddah,balad,m9,c9,r9,%s", (int)(head_end - orders),
             orders, a1 + strlen("\nA1,riyadh,olaya,m1,c1,r1,"));
    free(orders);
    assert_int_equal(fc_test_write(fx->dir, "jeddah_cities.csv", cities, strlen(cities)), 0);
    assert_int_equal(fc_test_write(fx->dir, "jeddah_riders.csv", riders, strlen(riders)), 0);
    assert_int_equal(fc_test_write(fx->dir, "jeddah_orders.csv", text, strlen(text)), 0);
    const char *names[] = {"jeddah_cities.csv", "jeddah_riders.csv", "jeddah_orders.csv"};
    for (size_t i = 0; i < 3; i++) {
        char path[600], rejects[600];
        snprintf(path, sizeof path, "%s/%s", fx->dir, names[i]);
        snprintf(rejects, sizeof rejects, "%s/rejects.csv", fx->dir);
        fc_ingest_opts o;
        memset(&o, 0, sizeof o);
        o.quiet = 1;
        o.max_errors = -1;
        o.reject_path = rejects;
        fc_ingest_log log;
        fc_err err;
        assert_int_equal(fc_ingest_file(fx->s, path, &o, &log, &err), FC_OK);
        assert_int_equal(log.rejected, 0);
    }
}

static void test_withdrawn(void **state) {
    fixture *fx = *state;
    ingest_world(fx);
    ingest_jeddah(fx);
    fc_policy_pack *v1 = pack_variant(fx, "v1", "30.00", "");
    /* A grace period of two hours: none of the orders is late any more. */
    fc_policy_pack *lenient = pack_variant(fx, "lenient", "30.00", "on_time:\n  grace_min: 120\n");
    fc_adj_stats st;
    run_with(fx, v1, NULL, &st);
    assert_int_equal(st.recorded, 3);
    found *f1 = in_force(fx);
    assert_int_equal(f1->n, 3);
    assert_non_null(of_order(f1, "B1"));
    ledger_matches_decisions(fx);

    /* Riyadh only: A1 and A2 withdrawn, Jeddah's B1 left alone. */
    run_with(fx, lenient, "riyadh", &st);
    assert_int_equal(st.withdrawn, 2);
    assert_int_equal(st.recorded, 0);
    int64_t c[FC_CASE__COUNT];
    counts(fx, c);
    assert_int_equal(c[FC_CASE_DECISION_WITHDRAWN], 2);
    found *f2 = in_force(fx);
    assert_int_equal(f2->n, 1);
    assert_string_equal(f2->d[0].id, of_order(f1, "B1")->id);
    ledger_matches_decisions(fx);

    /* The withdrawal names the decision, the policy and why; the ledger
     * reversals name the withdrawal. */
    char wid[FC_CASE_ID_MAX];
    fc_case_withdrawal_id(of_order(f1, "A1")->id, wid);
    fc_case_filter cf;
    fc_case_filter_init(&cf);
    cf.type = FC_CASE_DECISION_WITHDRAWN;
    cf.decision = fc_str_c(of_order(f1, "A1")->id);
    found_entry fe;
    memset(&fe, 0, sizeof fe);
    fc_err err;
    assert_int_equal(fc_store_case_scan(fx->s, &cf, keep_entry, &fe, &err), FC_OK);
    assert_int_equal(fe.n, 1);
    assert_string_equal(fe.w.id, wid);
    assert_int_equal(fe.w.incident, FC_INCIDENT_LATE);
    assert_string_equal(fe.w.policy_id, "sa");
    assert_string_not_equal(fe.w.policy_version, of_order(f1, "A1")->d.policy_version);
    assert_true(fe.w.reason[0] != '\0');
    fc_case_filter_init(&cf);
    cf.type = FC_CASE_LEDGER;
    cf.decision = fc_str_c(of_order(f1, "A1")->id);
    reversals rv;
    memset(&rv, 0, sizeof rv);
    snprintf(rv.cause, sizeof rv.cause, "%s", wid);
    assert_int_equal(fc_store_case_scan(fx->s, &cf, count_reversals, &rv, &err), FC_OK);
    assert_int_equal(rv.n, 2); /* the rider's penalty, the compensation */

    /* Withdrawn once: the same run again writes nothing. */
    counts(fx, c);
    run_with(fx, lenient, "riyadh", &st);
    assert_int_equal(st.withdrawn, 0);
    assert_int_equal(st.recorded, 0);
    int64_t c2[FC_CASE__COUNT];
    counts(fx, c2);
    assert_memory_equal(c, c2, sizeof c);

    /* Every city: B1 goes too. */
    run_with(fx, lenient, NULL, &st);
    assert_int_equal(st.withdrawn, 1);
    found *f3 = in_force(fx);
    assert_int_equal(f3->n, 0);
    ledger_matches_decisions(fx);
    run_again_writes_nothing(fx, lenient);

    /* Back to the policy that found them late: the decisions return. */
    run_with(fx, v1, NULL, &st);
    assert_int_equal(st.recorded, 3);
    found *f4 = in_force(fx);
    assert_int_equal(f4->n, 3);
    assert_string_equal(of_order(f4, "A1")->outcome, of_order(f1, "A1")->id);
    assert_string_equal(of_order(f4, "A1")->supersedes, of_order(f1, "A1")->id);
    ledger_matches_decisions(fx);
    run_again_writes_nothing(fx, v1);
    free(f4);
    free(f3);
    free(f2);
    free(f1);
    fc_policy_pack_free(lenient);
    fc_policy_pack_free(v1);
}

/* ---------------------------------------------------------------------------
 * The commands.
 */
static char *run_cli(fixture *fx, int want_status, const char *const *args) {
    char *out = NULL, *err = NULL;
    int rc = fc_test_run(fx->dir, args, &out, &err);
    if (rc != want_status) {
        fail_msg("fulcrum %s: status %d, stderr: %s", args[0], rc, err ? err : "");
    }
    free(err);
    return out;
}

static void test_ingest_judges(void **state) {
    fixture *fx = *state;
    /* --no-judge records nothing. */
    const char *plain[] = {"ingest",           "--db", fx->db, "--no-judge", DATA "/cities.csv",
                           DATA "/riders.csv", NULL};
    free(run_cli(fx, 0, plain));
    const char *args[] = {"ingest", "--db", fx->db, DATA "/orders.csv", NULL};
    char *out = run_cli(fx, 0, args);
    assert_non_null(strstr(out, "judged 4 closed orders: 2 decisions, 2 new"));
    free(out);
    int64_t c[FC_CASE__COUNT];
    counts(fx, c);
    assert_int_equal(c[FC_CASE_DECISION], 2);
    assert_int_equal(c[FC_CASE_LEDGER], 4);
    const char *more[] = {"ingest", "--db", fx->db, DATA "/complaint_items.jsonl", NULL};
    out = run_cli(fx, 0, more);
    assert_non_null(strstr(out, "judged 1 closed orders: 1 decisions, 1 new"));
    free(out);

    /* The judge run then finds everything recorded. */
    const char *judge[] = {"judge", "--db", fx->db, NULL};
    out = run_cli(fx, 0, judge);
    assert_non_null(strstr(out, "orders judged"));
    assert_non_null(strstr(out, "force_majeure"));
    assert_non_null(strstr(out, "undetermined"));
    assert_non_null(
        strstr(out, "recorded 0, unchanged 3, superseded 0, withdrawn 0, ledger entries 0"));
    /* riyadh: 4 closed orders judged, 3 decisions, rider 1, merchant 2. */
    const char *row = strstr(out, "riyadh");
    assert_non_null(row);
    long orders, decisions, rider, merchant;
    assert_int_equal(sscanf(row, "riyadh %ld %ld %ld %ld", &orders, &decisions, &rider, &merchant),
                     4);
    assert_int_equal(orders, 4);
    assert_int_equal(decisions, 3);
    assert_int_equal(rider, 1);
    assert_int_equal(merchant, 2);
    free(out);

    const char *csv[] = {"judge", "--db", fx->db, "--format", "csv", NULL};
    out = run_cli(fx, 0, csv);
    assert_non_null(strstr(out, "city,orders judged,decisions,rider,merchant,customer,platform,"
                                "force_majeure,undetermined,review"));
    free(out);
    const char *bad[] = {"judge", "--db", fx->db, "--from", "yesterday", NULL};
    free(run_cli(fx, 1, bad));
}

static void test_show_and_list(void **state) {
    fixture *fx = *state;
    ingest_world(fx);
    fc_adj_stats st;
    run(fx, &st);
    found *f = calloc(1, sizeof *f);
    assert_non_null(f);
    fc_err err;
    assert_int_equal(fc_adj_decisions(fx->s, NULL, keep, f, &err), FC_OK);
    const fc_case_decision *a1 = of_order(f, "A1");
    assert_non_null(a1);
    assert_true(a1->explanation[FC_LANG_AR][0] != '\0');

    /* In Arabic: the Arabic explanation and margin, the evidence, the
     * ledger. */
    const char *ar[] = {"judge", "show", "A1", "--db", fx->db, "--lang", "ar", NULL};
    char *out = run_cli(fx, 0, ar);
    assert_non_null(strstr(out, a1->explanation[FC_LANG_AR]));
    assert_non_null(strstr(out, a1->margin_text[FC_LANG_AR]));
    assert_null(strstr(out, a1->explanation[FC_LANG_EN]));
    assert_non_null(strstr(out, "late.rider_slow_severe"));
    assert_non_null(strstr(out, "rider_delay_min = "));
    assert_non_null(strstr(out, a1->d.policy_version));
    assert_non_null(strstr(out, "penalty"));
    assert_non_null(strstr(out, "30.00 SAR"));
    free(out);

    /* By decision id, in English. */
    const char *by_id[] = {"judge", "show", a1->id, "--db", fx->db, NULL};
    out = run_cli(fx, 0, by_id);
    assert_non_null(strstr(out, a1->explanation[FC_LANG_EN]));
    assert_non_null(strstr(out, "What would have changed it"));
    free(out);
    const char *none[] = {"judge", "show", "A3", "--db", fx->db, NULL};
    free(run_cli(fx, 1, none));
    const char *bad_lang[] = {"judge", "show", "A1", "--db", fx->db, "--lang", "xx", NULL};
    free(run_cli(fx, 1, bad_lang));

    /* Lists, filtered. */
    const char *riders[] = {"judge", "list",     "--db", fx->db, "--party",
                            "rider", "--format", "csv",  NULL};
    out = run_cli(fx, 0, riders);
    assert_non_null(strstr(out, a1->id));
    assert_null(strstr(out, ",A2,"));
    free(out);
    const char *all[] = {"judge", "list", "--db", fx->db, "--limit", "1", "--format", "csv", NULL};
    out = run_cli(fx, 0, all);
    size_t lines = 0;
    for (const char *p = out; *p; p++) {
        lines += *p == '\n';
    }
    assert_int_equal(lines, 2); /* header and one row */
    free(out);
    const char *later[] = {"judge", "list", "--db", fx->db, "--from", "2026-03-03", NULL};
    out = run_cli(fx, 0, later);
    assert_null(strstr(out, a1->id));
    free(out);
    free(f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_recorded_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_later_complaint_supersedes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rollback_reinstates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_withdrawn, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ingest_judges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_show_and_list, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
