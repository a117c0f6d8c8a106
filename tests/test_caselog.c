/*
 * store: the case log (append, idempotence, filters, compare-and-append,
 * the append-only triggers, two connections racing) on real database files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <pthread.h>
#include <sqlite3.h>

#include "store/store.h"

typedef struct fixture {
    char dir[64];
    char db[128];
    fc_store *s;
} fixture;

static int setup(void **state) {
    fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/fc_caselog_XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->db, sizeof fx->db, "%s/t.db", fx->dir);
    fc_err err;
    assert_int_equal(fc_store_open(fx->db, &fx->s, &err), FC_OK);
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    fixture *fx = *state;
    fc_store_close(fx->s);
    const char *suffix[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        char p[160];
        snprintf(p, sizeof p, "%s%s", fx->db, suffix[i]);
        unlink(p);
    }
    rmdir(fx->dir);
    free(fx);
    return 0;
}

static fc_case_entry entry(const char *id, fc_case_type type, int64_t ts, const char *order,
                           const char *decision, const char *appeal, const char *rider) {
    fc_case_entry e;
    memset(&e, 0, sizeof e);
    e.id = fc_str_c(id);
    e.type = type;
    e.ts = ts;
    e.order = fc_str_c(order);
    e.decision = fc_str_c(decision);
    e.appeal = fc_str_c(appeal);
    e.city = fc_str_c("riyadh");
    e.rider = fc_str_c(rider);
    e.merchant = fc_str_c("M1");
    e.actor = fc_str_c("judge");
    e.body = fc_str_c("{\"k\":1}");
    return e;
}

/* Collects the ids a scan visits, in order. */
typedef struct collect {
    char ids[16][32];
    int64_t seqs[16];
    int n;
} collect;

static int collect_cb(void *ud, const fc_case_entry *e) {
    collect *c = ud;
    if (c->n < 16) {
        fc_str_cpy(c->ids[c->n], sizeof c->ids[c->n], e->id);
        c->seqs[c->n] = e->seq;
    }
    c->n++;
    return 0;
}

static void scan(fc_store *s, const fc_case_filter *f, collect *c) {
    fc_err err;
    memset(c, 0, sizeof *c);
    assert_int_equal(fc_store_case_scan(s, f, collect_cb, c, &err), FC_OK);
}

static void test_type_names(void **state) {
    (void)state;
    for (int t = FC_CASE_NONE + 1; t < FC_CASE__COUNT; t++) {
        const char *name = fc_case_type_name((fc_case_type)t);
        assert_true(name[0] != '\0');
        assert_int_equal(fc_case_type_from(fc_str_c(name)), t);
    }
    assert_string_equal(fc_case_type_name(FC_CASE_APPEAL_DECIDED), "appeal_decided");
    assert_string_equal(fc_case_type_name(FC_CASE_NONE), "");
    assert_int_equal(fc_case_type_from(fc_str_c("nope")), FC_CASE_NONE);
    assert_int_equal(fc_case_type_from(fc_str_c("")), FC_CASE_NONE);
}

static void test_append_and_read_back(void **state) {
    fixture *fx = *state;
    fc_err err;
    fc_case_entry e = entry("dec-1", FC_CASE_DECISION, 1000, "O1", "dec-1", "", "R1");
    int dup = -1;
    int64_t seq = 0;
    assert_int_equal(fc_store_case_append(fx->s, &e, -1, &dup, &seq, &err), FC_OK);
    assert_int_equal(dup, 0);
    assert_true(seq > 0);

    fc_case_filter f;
    fc_case_filter_init(&f);
    f.id = fc_str_c("dec-1");
    collect c;
    scan(fx->s, &f, &c);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.seqs[0], seq);

    int64_t counts[FC_CASE__COUNT];
    assert_int_equal(fc_store_case_counts(fx->s, counts, &err), FC_OK);
    assert_int_equal(counts[FC_CASE_DECISION], 1);
    assert_int_equal(counts[FC_CASE_LEDGER], 0);
}

/* Every field comes back as written; empty ones come back empty. */
static int check_fields_cb(void *ud, const fc_case_entry *e) {
    int *seen = ud;
    assert_true(fc_str_eqc(e->id, "lg-1"));
    assert_int_equal(e->type, FC_CASE_LEDGER);
    assert_int_equal(e->ts, 1234567);
    assert_true(fc_str_eqc(e->order, "O9"));
    assert_true(fc_str_eqc(e->decision, "dec-9"));
    assert_int_equal(e->appeal.n, 0);
    assert_true(fc_str_eqc(e->city, "riyadh"));
    assert_true(fc_str_eqc(e->rider, "R9"));
    assert_true(fc_str_eqc(e->merchant, "M1"));
    assert_true(fc_str_eqc(e->actor, "judge"));
    assert_true(fc_str_eqc(e->body, "{\"k\":1}"));
    (*seen)++;
    return 0;
}

static void test_fields_round_trip(void **state) {
    fixture *fx = *state;
    fc_err err;
    fc_case_entry e = entry("lg-1", FC_CASE_LEDGER, 1234567, "O9", "dec-9", "", "R9");
    assert_int_equal(fc_store_case_append(fx->s, &e, -1, NULL, NULL, &err), FC_OK);
    int seen = 0;
    assert_int_equal(fc_store_case_scan(fx->s, NULL, check_fields_cb, &seen, &err), FC_OK);
    assert_int_equal(seen, 1);
}

static void test_duplicate_stores_nothing(void **state) {
    fixture *fx = *state;
    fc_err err;
    fc_case_entry e = entry("dec-1", FC_CASE_DECISION, 1000, "O1", "dec-1", "", "R1");
    int dup = -1;
    int64_t seq1 = 0, seq2 = 0;
    assert_int_equal(fc_store_case_append(fx->s, &e, -1, &dup, &seq1, &err), FC_OK);
    assert_int_equal(dup, 0);
    e.body = fc_str_c("{\"other\":true}");
    e.ts = 2000;
    assert_int_equal(fc_store_case_append(fx->s, &e, -1, &dup, &seq2, &err), FC_OK);
    assert_int_equal(dup, 1);
    assert_int_equal(seq2, seq1);
    /* A duplicate is reported even under a compare-and-append whose seq is stale. */
    e.appeal = fc_str_c("apl-1");
    assert_int_equal(fc_store_case_append(fx->s, &e, 77, &dup, &seq2, &err), FC_OK);
    assert_int_equal(dup, 1);
    int64_t counts[FC_CASE__COUNT];
    assert_int_equal(fc_store_case_counts(fx->s, counts, &err), FC_OK);
    assert_int_equal(counts[FC_CASE_DECISION], 1);
}

static void test_invalid_entries_refused(void **state) {
    fixture *fx = *state;
    fc_err err;
    fc_case_entry e = entry("", FC_CASE_DECISION, 1000, "O1", "", "", "R1");
    assert_int_equal(fc_store_case_append(fx->s, &e, -1, NULL, NULL, &err), FC_EINVAL);
    e = entry("x", FC_CASE_DECISION, 1000, "O1", "", "", "R1");
    e.body = FC_STR_NULL;
    assert_int_equal(fc_store_case_append(fx->s, &e, -1, NULL, NULL, &err), FC_EINVAL);
    e = entry("x", FC_CASE_NONE, 1000, "O1", "", "", "R1");
    assert_int_equal(fc_store_case_append(fx->s, &e, -1, NULL, NULL, &err), FC_EINVAL);
    e.type = FC_CASE__COUNT;
    assert_int_equal(fc_store_case_append(fx->s, &e, -1, NULL, NULL, &err), FC_EINVAL);
    collect c;
    scan(fx->s, NULL, &c);
    assert_int_equal(c.n, 0);
}

static void test_scan_by_each_filter(void **state) {
    fixture *fx = *state;
    fc_err err;
    fc_case_entry es[] = {
        entry("dec-a", FC_CASE_DECISION, 100, "O1", "dec-a", "", "R1"),
        entry("dec-b", FC_CASE_DECISION, 200, "O2", "dec-b", "", "R2"),
        entry("apl-a", FC_CASE_APPEAL_FILED, 300, "O1", "dec-a", "apl-a", "R1"),
        entry("rvw-a", FC_CASE_APPEAL_REVIEWED, 400, "O1", "dec-a", "apl-a", "R1"),
        entry("lg-b", FC_CASE_LEDGER, 500, "O2", "dec-b", "", "R2"),
    };
    es[1].city = fc_str_c("jeddah");
    es[4].city = fc_str_c("jeddah");
    es[4].merchant = fc_str_c("M2");
    for (size_t i = 0; i < sizeof es / sizeof es[0]; i++) {
        assert_int_equal(fc_store_case_append(fx->s, &es[i], -1, NULL, NULL, &err), FC_OK);
    }
    fc_case_filter f;
    collect c;

    scan(fx->s, NULL, &c);
    assert_int_equal(c.n, 5);
    for (int i = 1; i < 5; i++) {
        assert_true(c.seqs[i] > c.seqs[i - 1]);
    }
    assert_string_equal(c.ids[0], "dec-a");
    assert_string_equal(c.ids[4], "lg-b");

    fc_case_filter_init(&f);
    f.type = FC_CASE_DECISION;
    scan(fx->s, &f, &c);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.ids[1], "dec-b");

    fc_case_filter_init(&f);
    f.order = fc_str_c("O1");
    scan(fx->s, &f, &c);
    assert_int_equal(c.n, 3);

    fc_case_filter_init(&f);
    f.decision = fc_str_c("dec-b");
    scan(fx->s, &f, &c);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.ids[0], "dec-b");
    assert_string_equal(c.ids[1], "lg-b");

    fc_case_filter_init(&f);
    f.appeal = fc_str_c("apl-a");
    scan(fx->s, &f, &c);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.ids[0], "apl-a");

    fc_case_filter_init(&f);
    f.city = fc_str_c("jeddah");
    scan(fx->s, &f, &c);
    assert_int_equal(c.n, 2);

    fc_case_filter_init(&f);
    f.rider = fc_str_c("R1");
    scan(fx->s, &f, &c);
    assert_int_equal(c.n, 3);

    fc_case_filter_init(&f);
    f.merchant = fc_str_c("M2");
    scan(fx->s, &f, &c);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.ids[0], "lg-b");

    fc_case_filter_init(&f);
    f.from = 200;
    f.to = 400;
    scan(fx->s, &f, &c);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.ids[0], "dec-b");
    assert_string_equal(c.ids[1], "apl-a");

    fc_case_filter_init(&f);
    scan(fx->s, &f, &c);
    int64_t third = c.seqs[2];
    f.after_seq = third;
    scan(fx->s, &f, &c);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.ids[0], "rvw-a");

    /* Criteria combine. */
    fc_case_filter_init(&f);
    f.rider = fc_str_c("R1");
    f.type = FC_CASE_APPEAL_REVIEWED;
    scan(fx->s, &f, &c);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.ids[0], "rvw-a");

    fc_case_filter_init(&f);
    f.id = fc_str_c("none");
    scan(fx->s, &f, &c);
    assert_int_equal(c.n, 0);
}

/* A non-zero return of the callback stops the scan and is returned. */
static int stop_cb(void *ud, const fc_case_entry *e) {
    (void)e;
    int *n = ud;
    (*n)++;
    return 42;
}

static void test_scan_stops(void **state) {
    fixture *fx = *state;
    fc_err err;
    fc_case_entry a = entry("a", FC_CASE_DECISION, 1, "O1", "a", "", "R1");
    fc_case_entry b = entry("b", FC_CASE_DECISION, 2, "O1", "b", "", "R1");
    assert_int_equal(fc_store_case_append(fx->s, &a, -1, NULL, NULL, &err), FC_OK);
    assert_int_equal(fc_store_case_append(fx->s, &b, -1, NULL, NULL, &err), FC_OK);
    int n = 0;
    assert_int_equal(fc_store_case_scan(fx->s, NULL, stop_cb, &n, &err), 42);
    assert_int_equal(n, 1);
}

/* The callback may write to the store while the scan steps. */
static int append_from_cb(void *ud, const fc_case_entry *e) {
    fc_store *s = ud;
    if (e->type != FC_CASE_DECISION) {
        return 0;
    }
    char id[64];
    snprintf(id, sizeof id, "lg-%.*s", (int)e->id.n, e->id.p);
    fc_case_entry l = entry(id, FC_CASE_LEDGER, e->ts, "O1", "", "", "R1");
    fc_err err;
    return fc_store_case_append(s, &l, -1, NULL, NULL, &err);
}

static void test_scan_callback_may_append(void **state) {
    fixture *fx = *state;
    fc_err err;
    fc_case_entry a = entry("a", FC_CASE_DECISION, 1, "O1", "a", "", "R1");
    assert_int_equal(fc_store_case_append(fx->s, &a, -1, NULL, NULL, &err), FC_OK);
    fc_case_filter f;
    fc_case_filter_init(&f);
    f.type = FC_CASE_DECISION;
    assert_int_equal(fc_store_case_scan(fx->s, &f, append_from_cb, fx->s, &err), FC_OK);
    int64_t counts[FC_CASE__COUNT];
    assert_int_equal(fc_store_case_counts(fx->s, counts, &err), FC_OK);
    assert_int_equal(counts[FC_CASE_LEDGER], 1);
}

/* A scan's callback may run the same scan again (its statement is lent
 * out, so the inner scan gets another), and many different queries in a
 * row all answer right (statements are pooled, the oldest given back). */
typedef struct nested {
    fc_store *s;
    const fc_case_filter *f;
    int outer, inner;
} nested;

static int inner_cb(void *ud, const fc_case_entry *e) {
    (void)e;
    ((nested *)ud)->inner++;
    return 0;
}

static int outer_cb(void *ud, const fc_case_entry *e) {
    (void)e;
    nested *n = ud;
    n->outer++;
    fc_err err;
    return fc_store_case_scan(n->s, n->f, inner_cb, n, &err);
}

static void test_scan_within_the_same_scan(void **state) {
    fixture *fx = *state;
    fc_err err;
    for (int i = 0; i < 3; i++) {
        char id[16];
        snprintf(id, sizeof id, "d%d", i);
        fc_case_entry d = entry(id, FC_CASE_DECISION, i + 1, "O1", id, "", "R1");
        assert_int_equal(fc_store_case_append(fx->s, &d, -1, NULL, NULL, &err), FC_OK);
    }
    fc_case_filter f;
    fc_case_filter_init(&f);
    f.order = fc_str_c("O1");
    nested n = {fx->s, &f, 0, 0};
    for (int round = 0; round < 2; round++) {
        n.outer = n.inner = 0;
        assert_int_equal(fc_store_case_scan(fx->s, &f, outer_cb, &n, &err), FC_OK);
        assert_int_equal(n.outer, 3);
        assert_int_equal(n.inner, 9);
    }
    /* More distinct queries than the pool holds (each combination of
     * criteria is its own SQL), twice over. Every criterion but after_seq
     * matches the three entries. */
    for (int round = 0; round < 2; round++) {
        for (int k = 0; k < 80; k++) {
            fc_case_filter g;
            fc_case_filter_init(&g);
            g.type = k & 1 ? FC_CASE_DECISION : FC_CASE_NONE;
            g.from = k & 2 ? 1 : FC_TS_NONE;
            g.to = k & 4 ? 100 : FC_TS_NONE;
            g.order = fc_str_c(k & 8 ? "O1" : "");
            g.rider = fc_str_c(k & 16 ? "R1" : "");
            g.city = fc_str_c(k & 32 ? "riyadh" : "");
            g.merchant = fc_str_c(k & 64 ? "M1" : "");
            g.after_seq = (k + round) % 3 == 0 ? 1 : 0;
            collect c;
            scan(fx->s, &g, &c);
            assert_int_equal(c.n, g.after_seq > 0 ? 2 : 3);
        }
    }
}

static void test_compare_and_append(void **state) {
    fixture *fx = *state;
    fc_err err;
    int64_t last = -1;
    assert_int_equal(fc_store_case_appeal_seq(fx->s, fc_str_c("apl-1"), &last, &err), FC_OK);
    assert_int_equal(last, 0);

    fc_case_entry filed = entry("apl-1", FC_CASE_APPEAL_FILED, 10, "O1", "dec-1", "apl-1", "R1");
    int64_t seq_filed = 0;
    assert_int_equal(fc_store_case_append(fx->s, &filed, 0, NULL, &seq_filed, &err), FC_OK);
    assert_int_equal(fc_store_case_appeal_seq(fx->s, fc_str_c("apl-1"), &last, &err), FC_OK);
    assert_int_equal(last, seq_filed);

    /* An entry of another appeal does not move this one's seq. */
    fc_case_entry other = entry("apl-2", FC_CASE_APPEAL_FILED, 11, "O2", "dec-2", "apl-2", "R2");
    assert_int_equal(fc_store_case_append(fx->s, &other, 0, NULL, NULL, &err), FC_OK);

    fc_case_entry d1 =
        entry("apl-1:decided:a", FC_CASE_APPEAL_DECIDED, 20, "O1", "dec-1", "apl-1", "R1");
    fc_case_entry d2 =
        entry("apl-1:decided:b", FC_CASE_APPEAL_DECIDED, 21, "O1", "dec-1", "apl-1", "R1");
    int64_t seq_d1 = 0;
    assert_int_equal(fc_store_case_append(fx->s, &d1, seq_filed, NULL, &seq_d1, &err), FC_OK);
    /* The second reviewer read the appeal before d1: conflict, nothing written. */
    assert_int_equal(fc_store_case_append(fx->s, &d2, seq_filed, NULL, NULL, &err), FC_ECONFLICT);
    assert_int_equal(err.code, FC_ECONFLICT);
    /* Expecting "no entries" on an appeal that has some conflicts too. */
    assert_int_equal(fc_store_case_append(fx->s, &d2, 0, NULL, NULL, &err), FC_ECONFLICT);
    fc_case_filter f;
    fc_case_filter_init(&f);
    f.type = FC_CASE_APPEAL_DECIDED;
    collect c;
    scan(fx->s, &f, &c);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.ids[0], "apl-1:decided:a");
    /* With the current seq it goes in. */
    assert_int_equal(fc_store_case_append(fx->s, &d2, seq_d1, NULL, NULL, &err), FC_OK);
    /* Without an appeal, expect_seq is not checked. */
    fc_case_entry lg = entry("lg-x", FC_CASE_LEDGER, 30, "O1", "dec-1", "", "R1");
    assert_int_equal(fc_store_case_append(fx->s, &lg, 999, NULL, NULL, &err), FC_OK);
    /* The store is usable after a conflict (no transaction left open). */
    assert_int_equal(fc_store_begin(fx->s, &err), FC_OK);
    assert_int_equal(fc_store_end(fx->s, &err), FC_OK);
}

static void test_batch_joins_and_rolls_back(void **state) {
    fixture *fx = *state;
    fc_err err;
    assert_int_equal(fc_store_end(fx->s, &err), FC_EINVAL);
    assert_int_equal(fc_store_begin(fx->s, &err), FC_OK);
    fc_case_entry a = entry("a", FC_CASE_DECISION, 1, "O1", "a", "", "R1");
    fc_case_entry b = entry("b", FC_CASE_LEDGER, 2, "O1", "a", "", "R1");
    assert_int_equal(fc_store_case_append(fx->s, &a, -1, NULL, NULL, &err), FC_OK);
    assert_int_equal(fc_store_case_append(fx->s, &b, -1, NULL, NULL, &err), FC_OK);
    assert_int_equal(fc_store_rollback(fx->s), FC_OK);
    collect c;
    scan(fx->s, NULL, &c);
    assert_int_equal(c.n, 0);

    assert_int_equal(fc_store_begin(fx->s, &err), FC_OK);
    assert_int_equal(fc_store_case_append(fx->s, &a, -1, NULL, NULL, &err), FC_OK);
    assert_int_equal(fc_store_case_append(fx->s, &b, -1, NULL, NULL, &err), FC_OK);
    /* A duplicate inside the batch is seen too. */
    int dup = 0;
    assert_int_equal(fc_store_case_append(fx->s, &a, -1, &dup, NULL, &err), FC_OK);
    assert_int_equal(dup, 1);
    assert_int_equal(fc_store_end(fx->s, &err), FC_OK);
    scan(fx->s, NULL, &c);
    assert_int_equal(c.n, 2);
    /* Still there after reopening. */
    fc_store_close(fx->s);
    assert_int_equal(fc_store_open(fx->db, &fx->s, &err), FC_OK);
    scan(fx->s, NULL, &c);
    assert_int_equal(c.n, 2);
}

static void test_triggers_refuse_update_and_delete(void **state) {
    fixture *fx = *state;
    fc_err err;
    fc_case_entry a = entry("a", FC_CASE_DECISION, 1, "O1", "a", "", "R1");
    assert_int_equal(fc_store_case_append(fx->s, &a, -1, NULL, NULL, &err), FC_OK);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(fx->db, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    char *msg = NULL;
    assert_int_not_equal(sqlite3_exec(db, "UPDATE case_entry SET body = '{}'", NULL, NULL, &msg),
                         SQLITE_OK);
    assert_non_null(msg);
    assert_non_null(strstr(msg, "append-only"));
    sqlite3_free(msg);
    msg = NULL;
    assert_int_not_equal(sqlite3_exec(db, "DELETE FROM case_entry", NULL, NULL, &msg), SQLITE_OK);
    assert_non_null(strstr(msg, "append-only"));
    sqlite3_free(msg);
    sqlite3_close(db);
    collect c;
    scan(fx->s, NULL, &c);
    assert_int_equal(c.n, 1);
    int seen = 0;
    fc_case_filter f;
    fc_case_filter_init(&f);
    f.id = fc_str_c("a");
    assert_int_equal(fc_store_case_scan(fx->s, &f, stop_cb, &seen, &err), 42);
}

/* Two connections race a compare-and-append on the same appeal. */
typedef struct racer {
    const char *db;
    const char *id;
    int64_t expect;
    pthread_barrier_t *go;
    int rc;
} racer;

static void *race(void *arg) {
    racer *r = arg;
    fc_store *s = NULL;
    fc_err err;
    r->rc = fc_store_open(r->db, &s, &err);
    if (r->rc != FC_OK) {
        pthread_barrier_wait(r->go);
        return NULL;
    }
    fc_case_entry e = entry(r->id, FC_CASE_APPEAL_DECIDED, 50, "O1", "dec-1", "apl-1", "R1");
    pthread_barrier_wait(r->go);
    r->rc = fc_store_case_append(s, &e, r->expect, NULL, NULL, &err);
    fc_store_close(s);
    return NULL;
}

static void test_two_connections_race(void **state) {
    fixture *fx = *state;
    fc_err err;
    for (int round = 0; round < 20; round++) {
        char appeal[32], id_a[48], id_b[48];
        snprintf(appeal, sizeof appeal, "apl-r%d", round);
        fc_case_entry filed = entry(appeal, FC_CASE_APPEAL_FILED, 10, "O1", "dec-1", "apl-1", "R1");
        filed.appeal = fc_str_c("apl-1");
        int64_t expect = 0;
        assert_int_equal(fc_store_case_appeal_seq(fx->s, fc_str_c("apl-1"), &expect, &err), FC_OK);
        assert_int_equal(fc_store_case_append(fx->s, &filed, expect, NULL, &expect, &err), FC_OK);
        snprintf(id_a, sizeof id_a, "apl-1:decided:%d:a", round);
        snprintf(id_b, sizeof id_b, "apl-1:decided:%d:b", round);
        pthread_barrier_t go;
        assert_int_equal(pthread_barrier_init(&go, NULL, 2), 0);
        racer ra = {fx->db, id_a, expect, &go, -99};
        racer rb = {fx->db, id_b, expect, &go, -99};
        pthread_t ta, tb;
        assert_int_equal(pthread_create(&ta, NULL, race, &ra), 0);
        assert_int_equal(pthread_create(&tb, NULL, race, &rb), 0);
        pthread_join(ta, NULL);
        pthread_join(tb, NULL);
        pthread_barrier_destroy(&go);
        int ok = (ra.rc == FC_OK) + (rb.rc == FC_OK);
        int conflict = (ra.rc == FC_ECONFLICT) + (rb.rc == FC_ECONFLICT);
        assert_int_equal(ok, 1);
        assert_int_equal(conflict, 1);
    }
    fc_case_filter f;
    fc_case_filter_init(&f);
    f.type = FC_CASE_APPEAL_DECIDED;
    collect c;
    scan(fx->s, &f, &c);
    assert_int_equal(c.n, 20);
}

/* Decision queries (fc_store_case_decisions): newest first, body filters,
 * supersession and withdrawal, pages by seq; counts per policy version. */
typedef struct dpage {
    char ids[16][32];
    int superseded[16];
    int64_t seqs[16];
    size_t n;
} dpage;

static int dpage_cb(void *ud, const fc_case_entry *e, int superseded) {
    dpage *p = ud;
    assert_true(p->n < 16);
    fc_str_cpy(p->ids[p->n], sizeof p->ids[0], e->id);
    p->superseded[p->n] = superseded;
    p->seqs[p->n++] = e->seq;
    return 0;
}

static void dquery(fc_store *s, const fc_case_decision_query *q, dpage *p) {
    fc_err err;
    memset(p, 0, sizeof *p);
    assert_int_equal(fc_store_case_decisions(s, q, dpage_cb, p, &err), FC_OK);
}

static int version_cb(void *ud, const char *policy, const char *version, int64_t n) {
    char *out = ud;
    size_t len = strlen(out);
    snprintf(out + len, 256 - len, "%s/%s=%lld;", policy, version, (long long)n);
    return 0;
}

static void test_decision_queries(void **state) {
    fixture *fx = *state;
    fc_err err;
    fc_case_entry es[] = {
        entry("dec-1", FC_CASE_DECISION, 100, "O1", "dec-1", "", "R1"),
        entry("dec-2", FC_CASE_DECISION, 110, "O2", "dec-2", "", "R2"),
        entry("dec-3", FC_CASE_DECISION, 120, "O1", "dec-3", "", "R1"),
        entry("dec-4", FC_CASE_DECISION, 130, "O3", "dec-4", "", "R1"),
        entry("wdr-4", FC_CASE_DECISION_WITHDRAWN, 140, "O3", "dec-4", "", "R1"),
    };
    es[0].body = fc_str_c("{\"incident\":\"late\",\"liable\":\"rider\",\"review\":false,"
                          "\"created_at\":1000,\"supersedes\":\"\",\"policy\":\"sa\","
                          "\"policy_version\":\"v1\"}");
    es[1].body = fc_str_c("{\"incident\":\"complaint\",\"liable\":\"merchant\",\"review\":true,"
                          "\"created_at\":2000,\"supersedes\":\"\",\"policy\":\"sa\","
                          "\"policy_version\":\"v1\"}");
    es[1].city = fc_str_c("jeddah");
    es[2].body = fc_str_c("{\"incident\":\"late\",\"liable\":\"platform\",\"review\":false,"
                          "\"created_at\":1000,\"supersedes\":\"dec-1\",\"policy\":\"sa\","
                          "\"policy_version\":\"v2\"}");
    es[3].body = fc_str_c("{\"incident\":\"late\",\"liable\":\"rider\",\"review\":false,"
                          "\"created_at\":3000,\"supersedes\":\"\",\"policy\":\"sa\","
                          "\"policy_version\":\"v2\"}");
    es[4].body = fc_str_c("{\"decision\":\"dec-4\"}");
    for (size_t i = 0; i < sizeof es / sizeof es[0]; i++) {
        assert_int_equal(fc_store_case_append(fx->s, &es[i], -1, NULL, NULL, &err), FC_OK);
    }
    fc_case_decision_query q;
    dpage p;
    /* all, newest first, superseded and withdrawn flagged */
    fc_case_decision_query_init(&q);
    dquery(fx->s, &q, &p);
    assert_int_equal(p.n, 4);
    assert_string_equal(p.ids[0], "dec-4");
    assert_int_equal(p.superseded[0], 1); /* withdrawn */
    assert_string_equal(p.ids[1], "dec-3");
    assert_int_equal(p.superseded[1], 0);
    assert_string_equal(p.ids[2], "dec-2");
    assert_string_equal(p.ids[3], "dec-1");
    assert_int_equal(p.superseded[3], 1); /* dec-3 supersedes it */
    /* in force only */
    q.current_only = 1;
    dquery(fx->s, &q, &p);
    assert_int_equal(p.n, 2);
    assert_string_equal(p.ids[0], "dec-3");
    assert_string_equal(p.ids[1], "dec-2");
    /* body filters */
    fc_case_decision_query_init(&q);
    q.liable = "rider";
    dquery(fx->s, &q, &p);
    assert_int_equal(p.n, 2);
    assert_string_equal(p.ids[0], "dec-4");
    assert_string_equal(p.ids[1], "dec-1");
    fc_case_decision_query_init(&q);
    q.incident = "complaint";
    q.review = 1;
    dquery(fx->s, &q, &p);
    assert_int_equal(p.n, 1);
    assert_string_equal(p.ids[0], "dec-2");
    fc_case_decision_query_init(&q);
    q.from = 1500;
    q.to = 3000;
    dquery(fx->s, &q, &p);
    assert_int_equal(p.n, 1);
    assert_string_equal(p.ids[0], "dec-2");
    /* columns: city, rider, order */
    fc_case_decision_query_init(&q);
    q.city = fc_str_c("jeddah");
    dquery(fx->s, &q, &p);
    assert_int_equal(p.n, 1);
    fc_case_decision_query_init(&q);
    q.rider = fc_str_c("R1");
    q.order = fc_str_c("O1");
    dquery(fx->s, &q, &p);
    assert_int_equal(p.n, 2);
    /* pages: limit and before_seq walk every decision once */
    fc_case_decision_query_init(&q);
    q.limit = 3;
    dquery(fx->s, &q, &p);
    assert_int_equal(p.n, 3);
    q.before_seq = p.seqs[2];
    dquery(fx->s, &q, &p);
    assert_int_equal(p.n, 1);
    assert_string_equal(p.ids[0], "dec-1");
    /* counts per policy version */
    char versions[256] = "";
    assert_int_equal(fc_store_case_policy_versions(fx->s, version_cb, versions, &err), FC_OK);
    assert_string_equal(versions, "sa/v1=2;sa/v2=2;");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_type_names),
        cmocka_unit_test_setup_teardown(test_append_and_read_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fields_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_stores_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_entries_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_by_each_filter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_stops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_callback_may_append, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_within_the_same_scan, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compare_and_append, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_joins_and_rolls_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_triggers_refuse_update_and_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_connections_race, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decision_queries, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
