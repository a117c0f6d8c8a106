/*
 * store: the SQLite backend on real database files in a fresh temp folder.
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
#include <sqlite3.h>

#include "store/store.h"
#include "support.h"

typedef struct fixture {
    char *dir;
    char db[128];
    fc_store *s;
} fixture;

static int setup(void **state) {
    fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    fx->dir = fc_test_tmpdir();
    assert_non_null(fx->dir);
    snprintf(fx->db, sizeof fx->db, "%s/t.db", fx->dir);
    fc_err err;
    assert_int_equal(fc_store_open(fx->db, &fx->s, &err), FC_OK);
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    fixture *fx = *state;
    fc_store_close(fx->s);
    fc_test_rmtree(fx->dir);
    free(fx->dir);
    free(fx);
    return 0;
}

/* Two events of one order under record id `id`. */
static void make_events(fc_event ev[2], const char *order, int64_t ts) {
    fc_event_init(&ev[0]);
    ev[0].type = FC_EV_ORDER_CREATED;
    ev[0].ts = ts;
    ev[0].id = fc_str_c("e1");
    ev[0].order = fc_str_c(order);
    ev[0].city = fc_str_c("riyadh");
    ev[0].amount_minor = 4250;
    ev[0].currency = fc_str_c("SAR");
    fc_event_init(&ev[1]);
    ev[1].type = FC_EV_ORDER_DELIVERED;
    ev[1].ts = ts + 1800;
    ev[1].id = fc_str_c("e2");
    ev[1].order = fc_str_c(order);
    ev[1].lat_e6 = 24713000;
    ev[1].lng_e6 = 46675000;
}

static int append1(fc_store *s, const char *id, const char *order, int *dup) {
    fc_event ev[2];
    fc_err err;
    make_events(ev, order, 1772000000);
    return fc_store_append(s, 1, fc_str_c(id), fc_str_c(order), ev, 2, dup, &err);
}

static void test_migrations_from_empty_and_reopen(void **state) {
    fixture *fx = *state;
    int v = fc_store_schema_version(fx->s);
    assert_true(v >= 1);
    fc_store_close(fx->s);
    fx->s = NULL;

    /* The file records every step once and is in WAL mode. */
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(fx->db, &db), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT count(*), max(version) FROM schema_version", -1, &st, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), v);
    assert_int_equal(sqlite3_column_int(st, 1), v);
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    sqlite3_close(db);

    /* Reopening applies nothing again and keeps the data. */
    fc_err err;
    assert_int_equal(fc_store_open(fx->db, &fx->s, &err), FC_OK);
    assert_int_equal(fc_store_schema_version(fx->s), v);
    assert_int_equal(fc_store_begin(fx->s, &err), FC_OK);
    int dup = -1;
    assert_int_equal(append1(fx->s, "o1", "o1", &dup), FC_OK);
    assert_int_equal(fc_store_commit(fx->s, NULL, &err), FC_OK);
    fc_store_close(fx->s);
    assert_int_equal(fc_store_open(fx->db, &fx->s, &err), FC_OK);
    int64_t records = 0, events = 0;
    assert_int_equal(fc_store_counts(fx->s, &records, &events, &err), FC_OK);
    assert_int_equal(records, 1);
    assert_int_equal(events, 2);
}

static void test_newer_schema_is_refused(void **state) {
    fixture *fx = *state;
    fc_store_close(fx->s);
    fx->s = NULL;
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(fx->db, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db, "INSERT INTO schema_version VALUES(999, 0)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    fc_err err;
    fc_store *s = NULL;
    assert_int_equal(fc_store_open(fx->db, &s, &err), FC_ESTORE);
    assert_null(s);
    assert_non_null(strstr(err.msg, "newer"));
}

typedef struct seen {
    int records;
    int events;
    char ids[16][32];
} seen;

static int collect(void *ud, fc_str record_id, fc_str order, const fc_event *events, size_t n) {
    seen *sn = ud;
    (void)order, (void)events;
    if (sn->records < 16) {
        fc_str_cpy(sn->ids[sn->records], sizeof sn->ids[0], record_id);
    }
    sn->records++;
    sn->events += (int)n;
    return 0;
}

static int check_round_trip(void *ud, fc_str record_id, fc_str order, const fc_event *events,
                            size_t n) {
    int *calls = ud;
    (*calls)++;
    assert_true(fc_str_eqc(record_id, "o1"));
    assert_true(fc_str_eqc(order, "o1"));
    assert_int_equal(n, 2);
    assert_int_equal(events[0].type, FC_EV_ORDER_CREATED);
    assert_int_equal(events[0].ts, 1772000000);
    assert_true(fc_str_eqc(events[0].city, "riyadh"));
    assert_int_equal(events[0].amount_minor, 4250);
    assert_true(fc_str_eqc(events[0].currency, "SAR"));
    assert_int_equal(events[1].type, FC_EV_ORDER_DELIVERED);
    assert_int_equal(events[1].ts, 1772001800);
    assert_int_equal(events[1].lat_e6, 24713000);
    return 0;
}

static void test_append_and_duplicate(void **state) {
    fixture *fx = *state;
    fc_err err;
    int dup = -1;
    /* Outside a batch nothing is written. */
    assert_int_equal(append1(fx->s, "o1", "o1", &dup), FC_EINVAL);

    assert_int_equal(fc_store_begin(fx->s, &err), FC_OK);
    assert_int_equal(append1(fx->s, "o1", "o1", &dup), FC_OK);
    assert_int_equal(dup, 0);
    assert_int_equal(append1(fx->s, "o1", "o1", &dup), FC_OK);
    assert_int_equal(dup, 1);
    assert_int_equal(append1(fx->s, "o2", "o2", &dup), FC_OK);
    assert_int_equal(dup, 0);
    assert_int_equal(fc_store_commit(fx->s, NULL, &err), FC_OK);

    /* A later batch still sees the stored id as a duplicate. */
    assert_int_equal(fc_store_begin(fx->s, &err), FC_OK);
    assert_int_equal(append1(fx->s, "o1", "o1", &dup), FC_OK);
    assert_int_equal(dup, 1);
    assert_int_equal(fc_store_commit(fx->s, NULL, &err), FC_OK);

    int64_t records = 0, events = 0;
    assert_int_equal(fc_store_counts(fx->s, &records, &events, &err), FC_OK);
    assert_int_equal(records, 2);
    assert_int_equal(events, 4);

    int calls = 0;
    assert_int_equal(fc_store_scan_order(fx->s, fc_str_c("o1"), check_round_trip, &calls, &err),
                     FC_OK);
    assert_int_equal(calls, 1);
    seen sn = {0};
    assert_int_equal(fc_store_scan(fx->s, collect, &sn, &err), FC_OK);
    assert_int_equal(sn.records, 2);
    assert_string_equal(sn.ids[0], "o1"); /* storage order is insertion order */
    assert_string_equal(sn.ids[1], "o2");
}

/* Events packed by the caller are stored as fc_store_append stores them,
 * and dedupe the same way against records of either kind. */
static void test_append_packed_matches_append(void **state) {
    fixture *fx = *state;
    fc_err err;
    int dup = -1;
    fc_event ev[2];
    make_events(ev, "o1", 1772000000);
    uint8_t *packed = NULL;
    size_t len = 0, cap = 0;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(fc_event_pack(&ev[i], &packed, &len, &cap), FC_OK);
    }
    /* Outside a batch nothing is written. */
    assert_int_equal(fc_store_append_packed(fx->s, 1, fc_str_c("o1"), fc_str_c("o1"), packed, len,
                                            2, &dup, &err),
                     FC_EINVAL);
    assert_int_equal(fc_store_begin(fx->s, &err), FC_OK);
    assert_int_equal(fc_store_append_packed(fx->s, 1, fc_str_c("o1"), fc_str_c("o1"), packed, len,
                                            2, &dup, &err),
                     FC_OK);
    assert_int_equal(dup, 0);
    /* The same id through the unpacked path is a duplicate, and back. */
    assert_int_equal(append1(fx->s, "o1", "o1", &dup), FC_OK);
    assert_int_equal(dup, 1);
    assert_int_equal(append1(fx->s, "o2", "o2", &dup), FC_OK);
    assert_int_equal(dup, 0);
    assert_int_equal(fc_store_append_packed(fx->s, 1, fc_str_c("o2"), fc_str_c("o2"), packed, len,
                                            2, &dup, &err),
                     FC_OK);
    assert_int_equal(dup, 1);
    assert_int_equal(
        fc_store_append_packed(fx->s, 1, fc_str_c(""), fc_str_c("o3"), packed, len, 2, &dup, &err),
        FC_EINVAL);
    assert_int_equal(fc_store_commit(fx->s, NULL, &err), FC_OK);
    free(packed);

    int calls = 0;
    assert_int_equal(fc_store_scan_order(fx->s, fc_str_c("o1"), check_round_trip, &calls, &err),
                     FC_OK);
    assert_int_equal(calls, 1);
    int64_t records = 0, events = 0;
    assert_int_equal(fc_store_counts(fx->s, &records, &events, &err), FC_OK);
    assert_int_equal(records, 2);
    assert_int_equal(events, 4);
}

static void test_scan_order_finds_only_its_records(void **state) {
    fixture *fx = *state;
    fc_err err;
    int dup;
    assert_int_equal(fc_store_begin(fx->s, &err), FC_OK);
    for (int i = 0; i < 500; i++) {
        char id[32], order[32];
        snprintf(id, sizeof id, "ev%d", i);
        snprintf(order, sizeof order, "order%d", i % 50);
        assert_int_equal(append1(fx->s, id, order, &dup), FC_OK);
        assert_int_equal(dup, 0);
    }
    assert_int_equal(fc_store_commit(fx->s, NULL, &err), FC_OK);
    seen sn = {0};
    assert_int_equal(fc_store_scan_order(fx->s, fc_str_c("order7"), collect, &sn, &err), FC_OK);
    assert_int_equal(sn.records, 10);
    assert_string_equal(sn.ids[0], "ev7");
    assert_string_equal(sn.ids[1], "ev57");
    seen none = {0};
    assert_int_equal(fc_store_scan_order(fx->s, fc_str_c("nope"), collect, &none, &err), FC_OK);
    assert_int_equal(none.records, 0);
}

static int stop_early(void *ud, fc_str record_id, fc_str order, const fc_event *events, size_t n) {
    (void)record_id, (void)order, (void)events, (void)n;
    int *calls = ud;
    return ++*calls == 2 ? 42 : 0;
}

static void test_scan_callback_stops(void **state) {
    fixture *fx = *state;
    fc_err err;
    int dup;
    assert_int_equal(fc_store_begin(fx->s, &err), FC_OK);
    for (int i = 0; i < 5; i++) {
        char id[16];
        snprintf(id, sizeof id, "r%d", i);
        assert_int_equal(append1(fx->s, id, id, &dup), FC_OK);
    }
    assert_int_equal(fc_store_commit(fx->s, NULL, &err), FC_OK);
    int calls = 0;
    assert_int_equal(fc_store_scan(fx->s, stop_early, &calls, &err), 42);
    assert_int_equal(calls, 2);
}

static void test_hash_collisions_are_not_duplicates(void **state) {
    fixture *fx = *state;
    fc_err err;
    int dup;
    /* With 2 key bits there are 4 keys: 4 distinct ids must all collide
     * somewhere, yet each is stored once and found again. */
    fc_store_test_key_bits(fx->s, 2);
    const char *ids[] = {"alpha", "bravo", "charlie", "delta"};
    assert_int_equal(fc_store_begin(fx->s, &err), FC_OK);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(append1(fx->s, ids[i], ids[i], &dup), FC_OK);
        assert_int_equal(dup, 0);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(append1(fx->s, ids[i], ids[i], &dup), FC_OK);
        assert_int_equal(dup, 1);
    }
    /* The key space is full: a fifth id cannot be stored, and says so. */
    fc_event ev[2];
    make_events(ev, "echo", 1772000000);
    assert_int_equal(
        fc_store_append(fx->s, 1, fc_str_c("echo"), fc_str_c("echo"), ev, 2, &dup, &err),
        FC_ELIMIT);
    assert_int_equal(fc_store_commit(fx->s, NULL, &err), FC_OK);

    /* Reopened with the same setting, every id is still a duplicate. */
    fc_store_close(fx->s);
    assert_int_equal(fc_store_open(fx->db, &fx->s, &err), FC_OK);
    fc_store_test_key_bits(fx->s, 2);
    assert_int_equal(fc_store_begin(fx->s, &err), FC_OK);
    for (int i = 3; i >= 0; i--) {
        assert_int_equal(append1(fx->s, ids[i], ids[i], &dup), FC_OK);
        assert_int_equal(dup, 1);
    }
    assert_int_equal(fc_store_commit(fx->s, NULL, &err), FC_OK);
    seen sn = {0};
    assert_int_equal(fc_store_scan(fx->s, collect, &sn, &err), FC_OK);
    assert_int_equal(sn.records, 4);
    for (int i = 0; i < 4; i++) {
        assert_string_equal(sn.ids[i], ids[i]);
    }
}

static void test_hash_collision_probe_is_deterministic(void **state) {
    fixture *fx = *state;
    fc_err err;
    int dup;
    /* With 1 key bit, 2 ids: whichever comes second probes to the other
     * key. Inserting in the same order twice gives the same layout. */
    fc_store_test_key_bits(fx->s, 1);
    assert_int_equal(fc_store_begin(fx->s, &err), FC_OK);
    assert_int_equal(append1(fx->s, "x", "x", &dup), FC_OK);
    assert_int_equal(dup, 0);
    assert_int_equal(append1(fx->s, "y", "y", &dup), FC_OK);
    assert_int_equal(dup, 0);
    assert_int_equal(append1(fx->s, "y", "y", &dup), FC_OK);
    assert_int_equal(dup, 1);
    assert_int_equal(append1(fx->s, "x", "x", &dup), FC_OK);
    assert_int_equal(dup, 1);
    assert_int_equal(fc_store_commit(fx->s, NULL, &err), FC_OK);
}

static int count_rejects(void *ud, const fc_err *why, fc_str raw) {
    int *n = ud;
    (void)why, (void)raw;
    (*n)++;
    return 0;
}

static void test_rollback_leaves_store_unchanged(void **state) {
    fixture *fx = *state;
    fc_err err;
    int dup;
    fc_ingest_log log;
    memset(&log, 0, sizeof log);
    snprintf(log.source, sizeof log.source, "a.csv");
    snprintf(log.checksum, sizeof log.checksum, "%064d", 0);
    snprintf(log.kind, sizeof log.kind, "events");
    assert_int_equal(fc_store_ingest_create(fx->s, &log, &err), FC_OK);

    assert_int_equal(fc_store_begin(fx->s, &err), FC_OK);
    assert_int_equal(append1(fx->s, "kept", "kept", &dup), FC_OK);
    log.accepted = 1;
    log.rows_read = 1;
    assert_int_equal(fc_store_commit(fx->s, &log, &err), FC_OK);

    assert_int_equal(fc_store_begin(fx->s, &err), FC_OK);
    assert_int_equal(append1(fx->s, "lost1", "lost1", &dup), FC_OK);
    assert_int_equal(append1(fx->s, "lost2", "lost2", &dup), FC_OK);
    fc_err why;
    fc_err_set(&why, FC_EPARSE, "a.csv", 3, 2, "bad");
    assert_int_equal(fc_store_reject(fx->s, log.id, &why, fc_str_c("x,y"), &err), FC_OK);
    fc_city c = {"riyadh", "SA", "Asia/Riyadh", "SAR", NULL};
    assert_int_equal(fc_store_put_city(fx->s, &c, &err), FC_OK);
    assert_int_equal(fc_store_rollback(fx->s), FC_OK);
    assert_int_equal(fc_store_rollback(fx->s), FC_OK); /* no batch open: fine */

    int64_t records = 0, events = 0;
    assert_int_equal(fc_store_counts(fx->s, &records, &events, &err), FC_OK);
    assert_int_equal(records, 1);
    assert_int_equal(events, 2);
    int n = 0;
    assert_int_equal(fc_store_rejects(fx->s, log.id, count_rejects, &n, &err), FC_OK);
    assert_int_equal(n, 0);
    fc_ingest_log got;
    int found = 0;
    assert_int_equal(fc_store_ingest_find(fx->s, log.checksum, "events", &got, &found, &err),
                     FC_OK);
    assert_int_equal(found, 1);
    assert_int_equal(got.accepted, 1);
    /* The rolled-back ids are free again. */
    assert_int_equal(fc_store_begin(fx->s, &err), FC_OK);
    assert_int_equal(append1(fx->s, "lost1", "lost1", &dup), FC_OK);
    assert_int_equal(dup, 0);
    assert_int_equal(fc_store_commit(fx->s, NULL, &err), FC_OK);
}

static void test_second_connection_sees_new_keys(void **state) {
    fixture *fx = *state;
    fc_err err;
    int dup;
    fc_store *other = NULL;
    assert_int_equal(fc_store_open(fx->db, &other, &err), FC_OK);
    /* Both connections read their key sets... */
    assert_int_equal(fc_store_begin(fx->s, &err), FC_OK);
    assert_int_equal(append1(fx->s, "a1", "a1", &dup), FC_OK);
    assert_int_equal(dup, 0);
    assert_int_equal(fc_store_commit(fx->s, NULL, &err), FC_OK);
    assert_int_equal(fc_store_begin(other, &err), FC_OK);
    assert_int_equal(append1(other, "b1", "b1", &dup), FC_OK);
    assert_int_equal(dup, 0);
    assert_int_equal(append1(other, "a1", "a1", &dup), FC_OK);
    assert_int_equal(dup, 1);
    assert_int_equal(fc_store_commit(other, NULL, &err), FC_OK);
    /* ...and each one's next batch catches up with what the other stored. */
    assert_int_equal(fc_store_begin(fx->s, &err), FC_OK);
    assert_int_equal(append1(fx->s, "b1", "b1", &dup), FC_OK);
    assert_int_equal(dup, 1);
    assert_int_equal(append1(fx->s, "a2", "a2", &dup), FC_OK);
    assert_int_equal(dup, 0);
    assert_int_equal(fc_store_commit(fx->s, NULL, &err), FC_OK);
    assert_int_equal(fc_store_begin(other, &err), FC_OK);
    assert_int_equal(append1(other, "a2", "a2", &dup), FC_OK);
    assert_int_equal(dup, 1);
    assert_int_equal(fc_store_commit(other, NULL, &err), FC_OK);
    fc_store_close(other);

    seen sn = {0};
    assert_int_equal(fc_store_scan(fx->s, collect, &sn, &err), FC_OK);
    assert_int_equal(sn.records, 3);
    assert_string_equal(sn.ids[0], "a1");
    assert_string_equal(sn.ids[1], "b1");
    assert_string_equal(sn.ids[2], "a2");
}

static void test_many_keys_survive_reopen(void **state) {
    fixture *fx = *state;
    fc_err err;
    int dup;
    enum { N = 5000 };
    /* Several batches, so the key set grows and reads several chunks. */
    for (int b = 0; b < 5; b++) {
        assert_int_equal(fc_store_begin(fx->s, &err), FC_OK);
        for (int i = b * (N / 5); i < (b + 1) * (N / 5); i++) {
            char id[32];
            snprintf(id, sizeof id, "k%d", i);
            assert_int_equal(append1(fx->s, id, id, &dup), FC_OK);
            assert_int_equal(dup, 0);
        }
        assert_int_equal(fc_store_commit(fx->s, NULL, &err), FC_OK);
    }
    fc_store_close(fx->s);
    assert_int_equal(fc_store_open(fx->db, &fx->s, &err), FC_OK);
    assert_int_equal(fc_store_begin(fx->s, &err), FC_OK);
    for (int i = N - 1; i >= 0; i--) {
        char id[32];
        snprintf(id, sizeof id, "k%d", i);
        assert_int_equal(append1(fx->s, id, id, &dup), FC_OK);
        assert_int_equal(dup, 1);
    }
    assert_int_equal(fc_store_commit(fx->s, NULL, &err), FC_OK);
    int64_t records = 0, events = 0;
    assert_int_equal(fc_store_counts(fx->s, &records, &events, &err), FC_OK);
    assert_int_equal(records, N);

    /* Storage: 64 KiB pages, one key per record in the key log. */
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open(fx->db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA page_size", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 65536);
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT count(*), sum(length(keys)) / 8, min(first_seq)"
                                        " FROM record_keys",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 5);
    assert_int_equal(sqlite3_column_int(st, 1), N);
    assert_int_equal(sqlite3_column_int(st, 2), 1);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static int collect_orders(void *ud, fc_str record_id, fc_str order, const fc_event *events,
                          size_t n) {
    (void)events, (void)n;
    seen *sn = ud;
    assert_true(sn->records < 8);
    snprintf(sn->ids[sn->records], sizeof sn->ids[0], "%.*s>%.*s", (int)record_id.n, record_id.p,
             (int)order.n, order.p);
    sn->records++;
    return 0;
}

static void test_scan_order_own_row_and_named_events(void **state) {
    fixture *fx = *state;
    fc_err err;
    int dup;
    assert_int_equal(fc_store_begin(fx->s, &err), FC_OK);
    /* An events record of o9 stored before o9's own row, one after it; a
     * record named "o8" that belongs to order x; a city-level record. */
    assert_int_equal(append1(fx->s, "o9:complaint", "o9", &dup), FC_OK);
    assert_int_equal(append1(fx->s, "o9", "o9", &dup), FC_OK);
    assert_int_equal(append1(fx->s, "o8", "x", &dup), FC_OK);
    assert_int_equal(append1(fx->s, "o9:rating", "o9", &dup), FC_OK);
    fc_event w;
    fc_event_init(&w);
    w.type = FC_EV_WEATHER;
    w.ts = 1772000000;
    w.id = fc_str_c("w1");
    w.city = fc_str_c("riyadh");
    assert_int_equal(fc_store_append(fx->s, 1, fc_str_c("w1"), fc_str_c(""), &w, 1, &dup, &err),
                     FC_OK);
    assert_int_equal(fc_store_commit(fx->s, NULL, &err), FC_OK);

    seen sn = {0};
    assert_int_equal(fc_store_scan_order(fx->s, fc_str_c("o9"), collect_orders, &sn, &err), FC_OK);
    assert_int_equal(sn.records, 3);
    assert_string_equal(sn.ids[0], "o9:complaint>o9");
    assert_string_equal(sn.ids[1], "o9>o9");
    assert_string_equal(sn.ids[2], "o9:rating>o9");
    seen o8 = {0};
    assert_int_equal(fc_store_scan_order(fx->s, fc_str_c("o8"), collect_orders, &o8, &err), FC_OK);
    assert_int_equal(o8.records, 0);
    seen x = {0};
    assert_int_equal(fc_store_scan_order(fx->s, fc_str_c("x"), collect_orders, &x, &err), FC_OK);
    assert_int_equal(x.records, 1);
    assert_string_equal(x.ids[0], "o8>x");
    seen all = {0};
    assert_int_equal(fc_store_scan(fx->s, collect_orders, &all, &err), FC_OK);
    assert_int_equal(all.records, 5);
    assert_string_equal(all.ids[1], "o9>o9");
    assert_string_equal(all.ids[4], "w1>");
}

/* Rows of `sql` (one integer). */
static int64_t query1(const char *db, const char *sql) {
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(h);
    return v;
}

static void exec_sql(const char *db, const char *sql) {
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
}

static void test_order_index_needs_no_btree_insert(void **state) {
    fixture *fx = *state;
    fc_err err;
    int dup;
    assert_int_equal(fc_store_begin(fx->s, &err), FC_OK);
    assert_int_equal(append1(fx->s, "o1:a", "o1", &dup), FC_OK);
    assert_int_equal(append1(fx->s, "o1:b", "o1", &dup), FC_OK);
    assert_int_equal(append1(fx->s, "o2", "o2", &dup), FC_OK);
    assert_int_equal(fc_store_commit(fx->s, NULL, &err), FC_OK);
    /* The records name their order, but the record_order index holds none:
     * their chunk lists the order keys (own rows: 0). */
    assert_int_equal(query1(fx->db, "SELECT count(*) FROM record WHERE order_id = 'o1'"), 2);
    assert_int_equal(query1(fx->db, "SELECT count(*) FROM record WHERE order_key IS NOT NULL"), 0);
    assert_int_equal(query1(fx->db, "SELECT length(orders) FROM record_keys"), 3 * 8);
    seen sn = {0};
    assert_int_equal(fc_store_scan_order(fx->s, fc_str_c("o1"), collect, &sn, &err), FC_OK);
    assert_int_equal(sn.records, 2);
    assert_string_equal(sn.ids[0], "o1:a");
    assert_string_equal(sn.ids[1], "o1:b");
}

/* A store written before migration 7: its records carry order_key (in the
 * record_order index) and its chunks no order keys. Records appended after
 * are found through the order index; one lookup gives both, in log order,
 * also on a connection that opened before the new ones were stored. */
static void test_order_index_with_records_before_migration_7(void **state) {
    fixture *fx = *state;
    fc_err err;
    int dup;
    assert_int_equal(fc_store_begin(fx->s, &err), FC_OK);
    assert_int_equal(append1(fx->s, "o1:old", "o1", &dup), FC_OK);
    assert_int_equal(append1(fx->s, "o2:old", "o2", &dup), FC_OK);
    assert_int_equal(fc_store_commit(fx->s, NULL, &err), FC_OK);
    fc_store_close(fx->s);
    fx->s = NULL;
    char sql[256];
    snprintf(sql, sizeof sql,
             "UPDATE record SET order_key = %lld WHERE order_id = 'o1';"
             "UPDATE record SET order_key = %lld WHERE order_id = 'o2';"
             "UPDATE record_keys SET orders = NULL;",
             (long long)(fc_hash64("o1", 2, 0) & INT64_MAX),
             (long long)(fc_hash64("o2", 2, 0) & INT64_MAX));
    exec_sql(fx->db, sql);
    assert_int_equal(fc_store_open(fx->db, &fx->s, &err), FC_OK);
    fc_store *reader = NULL;
    assert_int_equal(fc_store_open(fx->db, &reader, &err), FC_OK);
    seen before = {0};
    assert_int_equal(fc_store_scan_order(reader, fc_str_c("o1"), collect, &before, &err), FC_OK);
    assert_int_equal(before.records, 1);

    assert_int_equal(fc_store_begin(fx->s, &err), FC_OK);
    assert_int_equal(append1(fx->s, "o1:new", "o1", &dup), FC_OK);
    assert_int_equal(append1(fx->s, "o3:new", "o3", &dup), FC_OK);
    assert_int_equal(fc_store_commit(fx->s, NULL, &err), FC_OK);
    seen sn = {0};
    assert_int_equal(fc_store_scan_order(reader, fc_str_c("o1"), collect, &sn, &err), FC_OK);
    assert_int_equal(sn.records, 2);
    assert_string_equal(sn.ids[0], "o1:old");
    assert_string_equal(sn.ids[1], "o1:new");
    seen o2 = {0};
    assert_int_equal(fc_store_scan_order(reader, fc_str_c("o2"), collect, &o2, &err), FC_OK);
    assert_int_equal(o2.records, 1);
    assert_string_equal(o2.ids[0], "o2:old");
    seen o3 = {0};
    assert_int_equal(fc_store_scan_order(fx->s, fc_str_c("o3"), collect, &o3, &err), FC_OK);
    assert_int_equal(o3.records, 1);
    fc_store_close(reader);
}

/* A rolled-back batch leaves nothing in the order index. */
static void test_order_index_forgets_rolled_back(void **state) {
    fixture *fx = *state;
    fc_err err;
    int dup;
    assert_int_equal(fc_store_begin(fx->s, &err), FC_OK);
    assert_int_equal(append1(fx->s, "o1:a", "o1", &dup), FC_OK);
    assert_int_equal(fc_store_commit(fx->s, NULL, &err), FC_OK);
    assert_int_equal(fc_store_begin(fx->s, &err), FC_OK);
    assert_int_equal(append1(fx->s, "o1:b", "o1", &dup), FC_OK);
    assert_int_equal(fc_store_rollback(fx->s), FC_OK);
    seen sn = {0};
    assert_int_equal(fc_store_scan_order(fx->s, fc_str_c("o1"), collect, &sn, &err), FC_OK);
    assert_int_equal(sn.records, 1);
    assert_string_equal(sn.ids[0], "o1:a");
}

/* Writes on a connection that does not checkpoint grow the log; a PASSIVE
 * checkpoint copies all of it when no reader holds it, and the checkpointer
 * thread does so by itself. */
static void test_checkpoints(void **state) {
    fixture *fx = *state;
    fc_err err;
    int dup;
    assert_int_equal(fc_store_autocheckpoint(fx->s, 0, &err), FC_OK);
    for (int b = 0; b < 3; b++) {
        assert_int_equal(fc_store_begin(fx->s, &err), FC_OK);
        for (int i = 0; i < 200; i++) {
            char id[32];
            snprintf(id, sizeof id, "e%d-%d", b, i);
            assert_int_equal(append1(fx->s, id, "o1", &dup), FC_OK);
        }
        assert_int_equal(fc_store_commit(fx->s, NULL, &err), FC_OK);
    }
    int wal = 0, copied = 0;
    assert_int_equal(fc_store_checkpoint(fx->s, &wal, &copied, &err), FC_OK);
    assert_true(wal > 0);
    assert_int_equal(copied, wal);

    fc_store_checkpointer *c = NULL;
    assert_int_equal(fc_store_checkpointer_start(fx->db, 20, &c, &err), FC_OK);
    assert_int_equal(fc_store_begin(fx->s, &err), FC_OK);
    assert_int_equal(append1(fx->s, "late", "o2", &dup), FC_OK);
    assert_int_equal(fc_store_commit(fx->s, NULL, &err), FC_OK);
    fc_store_checkpointer_info info;
    for (int tries = 0; tries < 500; tries++) {
        fc_store_checkpointer_stats(c, &info);
        if (info.runs >= 2) {
            break;
        }
        usleep(10000);
    }
    fc_store_checkpointer_stats(c, &info);
    assert_true(info.runs >= 2);
    assert_int_equal(info.failures, 0);
    assert_string_equal(info.last_error, "");
    fc_store_checkpointer_stop(c);
    /* Everything is in the database file now: nothing left to copy. */
    assert_int_equal(fc_store_checkpoint(fx->s, &wal, &copied, &err), FC_OK);
    assert_int_equal(copied, wal);
    fc_store_checkpointer_stop(NULL);
}

static void test_checksum_saved_at_commit(void **state) {
    fixture *fx = *state;
    fc_err err;
    fc_ingest_log log, got;
    int found = 0;
    memset(&log, 0, sizeof log);
    snprintf(log.source, sizeof log.source, "b.csv");
    snprintf(log.kind, sizeof log.kind, "events");
    /* A log created inside a batch before its checksum is known... */
    assert_int_equal(fc_store_begin(fx->s, &err), FC_OK);
    assert_int_equal(fc_store_ingest_create(fx->s, &log, &err), FC_OK);
    snprintf(log.checksum, sizeof log.checksum, "%064d", 7);
    log.state = FC_INGEST_DONE;
    assert_int_equal(fc_store_commit(fx->s, &log, &err), FC_OK);
    /* ...is found by it once committed. */
    assert_int_equal(fc_store_ingest_find(fx->s, log.checksum, "events", &got, &found, &err),
                     FC_OK);
    assert_int_equal(found, 1);
    assert_int_equal(got.id, log.id);
    assert_int_equal(got.state, FC_INGEST_DONE);
    /* A rolled-back creation leaves nothing. */
    fc_ingest_log gone;
    memset(&gone, 0, sizeof gone);
    snprintf(gone.checksum, sizeof gone.checksum, "%064d", 8);
    snprintf(gone.kind, sizeof gone.kind, "events");
    assert_int_equal(fc_store_begin(fx->s, &err), FC_OK);
    assert_int_equal(fc_store_ingest_create(fx->s, &gone, &err), FC_OK);
    assert_int_equal(fc_store_rollback(fx->s), FC_OK);
    assert_int_equal(fc_store_ingest_find(fx->s, gone.checksum, "events", &got, &found, &err),
                     FC_OK);
    assert_int_equal(found, 0);
}

static void test_ingest_log_round_trip(void **state) {
    fixture *fx = *state;
    fc_err err;
    fc_ingest_log a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    snprintf(a.source, sizeof a.source, "orders.csv");
    snprintf(a.checksum, sizeof a.checksum, "%064d", 1);
    snprintf(a.kind, sizeof a.kind, "orders:fulcrum-orders");
    a.started_at = 100;
    assert_int_equal(fc_store_ingest_create(fx->s, &a, &err), FC_OK);
    assert_true(a.id > 0);
    assert_int_equal(a.state, FC_INGEST_RUNNING);
    b = a;
    snprintf(b.kind, sizeof b.kind, "events");
    assert_int_equal(fc_store_ingest_create(fx->s, &b, &err), FC_OK);
    assert_true(b.id > a.id);

    assert_int_equal(fc_store_begin(fx->s, &err), FC_OK);
    a.state = FC_INGEST_STOPPED;
    a.rows_read = 10;
    a.accepted = 6;
    a.duplicates = 1;
    a.rejected = 3;
    a.resume_offset = 1234;
    a.resume_line = 11;
    a.finished_at = 200;
    snprintf(a.note, sizeof a.note, "stopped");
    assert_int_equal(fc_store_commit(fx->s, &a, &err), FC_OK);

    fc_ingest_log got;
    int found = 0;
    assert_int_equal(
        fc_store_ingest_find(fx->s, a.checksum, "orders:fulcrum-orders", &got, &found, &err),
        FC_OK);
    assert_int_equal(found, 1);
    assert_int_equal(got.id, a.id);
    assert_string_equal(got.source, "orders.csv");
    assert_int_equal(got.state, FC_INGEST_STOPPED);
    assert_int_equal(got.rows_read, 10);
    assert_int_equal(got.accepted, 6);
    assert_int_equal(got.duplicates, 1);
    assert_int_equal(got.rejected, 3);
    assert_int_equal(got.resume_offset, 1234);
    assert_int_equal(got.resume_line, 11);
    assert_int_equal(got.started_at, 100);
    assert_int_equal(got.finished_at, 200);
    assert_string_equal(got.note, "stopped");
    assert_string_equal(fc_ingest_state_name(got.state), "stopped");

    assert_int_equal(fc_store_ingest_find(fx->s, a.checksum, "cities", &got, &found, &err), FC_OK);
    assert_int_equal(found, 0);

    fc_ingest_log *list = NULL;
    size_t n = 0;
    assert_int_equal(fc_store_ingest_list(fx->s, &list, &n, &err), FC_OK);
    assert_int_equal(n, 2);
    assert_int_equal(list[0].id, b.id); /* newest first */
    assert_int_equal(list[1].id, a.id);
    fc_free(list);

    /* Saving a log that does not exist is an error, and rolls back. */
    fc_ingest_log ghost = a;
    ghost.id = 999;
    assert_int_equal(fc_store_begin(fx->s, &err), FC_OK);
    assert_int_equal(fc_store_commit(fx->s, &ghost, &err), FC_ENOTFOUND);
    assert_int_equal(fc_store_begin(fx->s, &err), FC_OK); /* no batch left open */
    assert_int_equal(fc_store_rollback(fx->s), FC_OK);
}

typedef struct rej_seen {
    int n;
    long lines[4];
    size_t raw_len[4];
    char field[4][64];
} rej_seen;

static int keep_rejects(void *ud, const fc_err *why, fc_str raw) {
    rej_seen *rs = ud;
    if (rs->n < 4) {
        rs->lines[rs->n] = why->line;
        rs->raw_len[rs->n] = raw.n;
        snprintf(rs->field[rs->n], sizeof rs->field[0], "%s", why->field);
    }
    rs->n++;
    return 0;
}

static void test_rejects_in_input_order(void **state) {
    fixture *fx = *state;
    fc_err err;
    char big[3000];
    memset(big, 'x', sizeof big);
    assert_int_equal(fc_store_begin(fx->s, &err), FC_OK);
    for (long line = 2; line <= 4; line++) {
        fc_err why;
        fc_err_set(&why, FC_EPARSE, "in.csv", line, 3, "bad value");
        fc_err_field(&why, "promised_at", strlen("promised_at"));
        fc_str raw = line == 3 ? fc_str_make(big, sizeof big) : fc_str_c("a,b");
        assert_int_equal(fc_store_reject(fx->s, 7, &why, raw, &err), FC_OK);
    }
    fc_err other;
    fc_err_set(&other, FC_EPARSE, "other.csv", 9, 1, "bad");
    assert_int_equal(fc_store_reject(fx->s, 8, &other, fc_str_c("z"), &err), FC_OK);
    assert_int_equal(fc_store_commit(fx->s, NULL, &err), FC_OK);
    rej_seen rs = {0};
    assert_int_equal(fc_store_rejects(fx->s, 7, keep_rejects, &rs, &err), FC_OK);
    assert_int_equal(rs.n, 3);
    assert_int_equal(rs.lines[0], 2);
    assert_int_equal(rs.lines[1], 3);
    assert_int_equal(rs.lines[2], 4);
    assert_int_equal(rs.raw_len[0], 3);
    assert_int_equal(rs.raw_len[1], 1024); /* raw text is truncated to 1 KiB */
    assert_string_equal(rs.field[0], "promised_at");
}

static void test_reference_entities(void **state) {
    fixture *fx = *state;
    fc_err err;
    assert_int_equal(fc_store_begin(fx->s, &err), FC_OK);
    fc_city c = {"riyadh", "SA", "Asia/Riyadh", "SAR", NULL};
    assert_int_equal(fc_store_put_city(fx->s, &c, &err), FC_OK);
    fc_city c2 = {"kuwait_city", "KW", "Asia/Kuwait", "KWD", NULL};
    assert_int_equal(fc_store_put_city(fx->s, &c2, &err), FC_OK);
    fc_zone z = {"riyadh", "olaya", FC_ZONE_BUSINESS_DISTRICT};
    assert_int_equal(fc_store_put_zone(fx->s, &z, &err), FC_OK);
    fc_merchant m = {"m1", "riyadh", "olaya", "fast_food", "", 24700000, 46600000};
    assert_int_equal(fc_store_put_merchant(fx->s, &m, &err), FC_OK);
    fc_merchant m2 = {"m2", "riyadh", "olaya", "grocery", "brandx", FC_GEO_NONE, FC_GEO_NONE};
    assert_int_equal(fc_store_put_merchant(fx->s, &m2, &err), FC_OK);
    fc_rider r = {"r1", "riyadh", FC_CAP_CROWD, "", 20000};
    assert_int_equal(fc_store_put_rider(fx->s, &r, &err), FC_OK);
    /* Replace by id. */
    fc_rider r2 = {"r1", "riyadh", FC_CAP_FULL_TIME, "fleetco", INT32_MIN};
    assert_int_equal(fc_store_put_rider(fx->s, &r2, &err), FC_OK);
    assert_int_equal(fc_store_commit(fx->s, NULL, &err), FC_OK);

    fc_ref *ref = fc_ref_new();
    assert_non_null(ref);
    assert_int_equal(fc_store_load_ref(fx->s, ref, &err), FC_OK);
    assert_int_equal(fc_ref_city_count(ref), 2);
    const fc_city *got = fc_ref_city(ref, fc_str_c("kuwait_city"));
    assert_non_null(got);
    assert_string_equal(got->currency, "KWD");
    assert_string_equal(got->tz_name, "Asia/Kuwait");
    assert_non_null(got->tz);
    const fc_zone *gz = fc_ref_zone(ref, fc_str_c("riyadh"), fc_str_c("olaya"));
    assert_non_null(gz);
    assert_int_equal(gz->kind, FC_ZONE_BUSINESS_DISTRICT);
    const fc_merchant *gm = fc_ref_merchant(ref, fc_str_c("m1"));
    assert_non_null(gm);
    assert_int_equal(gm->lat_e6, 24700000);
    gm = fc_ref_merchant(ref, fc_str_c("m2"));
    assert_non_null(gm);
    assert_int_equal(gm->lat_e6, FC_GEO_NONE);
    assert_string_equal(gm->brand, "brandx");
    const fc_rider *gr = fc_ref_rider(ref, fc_str_c("r1"));
    assert_non_null(gr);
    assert_int_equal(gr->capacity, FC_CAP_FULL_TIME);
    assert_string_equal(gr->fleet, "fleetco");
    assert_int_equal(gr->start_date, INT32_MIN);
    assert_int_equal(fc_ref_rider_count(ref), 1);
    fc_ref_free(ref);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_migrations_from_empty_and_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newer_schema_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_and_duplicate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_packed_matches_append, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_order_finds_only_its_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_callback_stops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hash_collisions_are_not_duplicates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hash_collision_probe_is_deterministic, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_rollback_leaves_store_unchanged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_connection_sees_new_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_keys_survive_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_order_own_row_and_named_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_order_index_needs_no_btree_insert, setup, teardown),
        cmocka_unit_test_setup_teardown(test_order_index_with_records_before_migration_7, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_order_index_forgets_rolled_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoints, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checksum_saved_at_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ingest_log_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejects_in_input_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reference_entities, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
