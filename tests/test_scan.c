/*
 * scan: every order visited once with the facts the fold gives, filters,
 * the context a policy reads, the three ways of reading the log, one order
 * read by its id, stopping.
 *
 * tests/data/scan/events.jsonl (one record per event) holds 16 orders:
 * rider r1 carries P and Q together, then A, B and C all at once, then E,
 * picked up the instant B is delivered; rider r2 carries D, O1, O2 and O4
 * one at a time; X, O3, O5, O6 are cancelled before pickup; K1 and K2 are in
 * Kuwait (K2 still open) under a severe weather window. Platform incidents:
 * a dispatch outage of all Riyadh 12:00-12:30, one of zone malaz
 * 13:00-13:30, a payment outage 14:00-15:00 (all +03:00).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ingest/ingest.h"
#include "kpi/kpi.h"
#include "scan/scan.h"
#include "support.h"

#define N_ORDERS 16
#define MAX_SEEN 64

/* What one visit saw, copied. */
typedef struct seen {
    char order[16];
    char country[8], capacity[16], merchant_kind[16], zone_kind[24];
    int32_t stacked, outage;
    int64_t created_at, picked_up_at, delivered_at, closed_at;
    int32_t lateness_s, weather_severity, grace_s;
    uint32_t incidents, n_events, complaints;
    fc_order_status status;
    int has_policy, has_city, has_zone, has_merchant, has_rider;
} seen;

typedef struct seen_list {
    seen v[MAX_SEEN];
    size_t n;
    size_t stop_after; /* return 7 after this many visits; 0: never */
    int restarts;
} seen_list;

static void copy_str(char *dst, size_t cap, fc_str s) {
    fc_str_cpy(dst, cap, s);
}

static int collect(void *ud, const fc_scan_order *o) {
    seen_list *l = ud;
    assert_true(l->n < MAX_SEEN);
    seen *s = &l->v[l->n++];
    memset(s, 0, sizeof *s);
    const fc_order_facts *f = o->facts;
    assert_ptr_equal(o->input->facts, f);
    copy_str(s->order, sizeof s->order, f->order);
    copy_str(s->country, sizeof s->country, o->input->country);
    copy_str(s->capacity, sizeof s->capacity, o->input->capacity);
    copy_str(s->merchant_kind, sizeof s->merchant_kind, o->input->merchant_kind);
    copy_str(s->zone_kind, sizeof s->zone_kind, o->input->zone_kind);
    s->stacked = o->input->stacked_orders;
    s->outage = o->input->dispatch_outage;
    s->created_at = f->created_at;
    s->picked_up_at = f->picked_up_at;
    s->delivered_at = f->delivered_at;
    s->closed_at = f->closed_at;
    s->lateness_s = f->lateness_s;
    s->weather_severity = f->weather_severity;
    s->grace_s = o->thresholds->grace_s;
    s->incidents = f->incidents;
    s->n_events = (uint32_t)o->n_events;
    s->complaints = f->complaints;
    s->status = f->status;
    s->has_policy = o->policy != NULL;
    s->has_city = o->city != NULL;
    s->has_zone = o->zone != NULL;
    s->has_merchant = o->merchant != NULL;
    s->has_rider = o->rider != NULL;
    for (size_t i = 0; i < o->n_events; i++) {
        assert_true(fc_str_eq(o->events[i].order, f->order));
    }
    if (l->stop_after > 0 && l->n == l->stop_after) {
        return 7;
    }
    return 0;
}

static int on_restart(void *ud) {
    seen_list *l = ud;
    l->n = 0;
    l->restarts++;
    return 0;
}

static const seen *find(const seen_list *l, const char *order) {
    const seen *hit = NULL;
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->v[i].order, order) == 0) {
            assert_null(hit); /* visited once */
            hit = &l->v[i];
        }
    }
    if (hit == NULL) {
        fail_msg("order %s not visited", order);
    }
    return hit;
}

static char *make_db(const char *dir, const char *name, const char *const *files, size_t n) {
    char *db = malloc(strlen(dir) + strlen(name) + 2);
    assert_non_null(db);
    sprintf(db, "%s/%s", dir, name);
    fc_store *s = NULL;
    fc_err err;
    fc_err_clear(&err);
    assert_int_equal(fc_store_open(db, &s, &err), FC_OK);
    char rejects[600];
    snprintf(rejects, sizeof rejects, "%s/%s.rejects.csv", dir, name);
    fc_ingest_opts opts = {.reject_path = rejects, .max_errors = -1, .quiet = 1};
    for (size_t i = 0; i < n; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/scan/%s", FC_TEST_DATA, files[i]);
        fc_ingest_log log;
        if (fc_ingest_file(s, path, &opts, &log, &err) != FC_OK) {
            fail_msg("ingest %s: %s", path, err.msg);
        }
        assert_int_equal(log.rejected, 0);
    }
    fc_store_close(s);
    return db;
}

static const char *const fixture[] = {"cities.csv", "zones.csv", "merchants.csv", "riders.csv",
                                      "events.jsonl"};

typedef struct fx {
    char *dir, *db;
} fx;

static int setup(void **state) {
    fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->dir = fc_test_tmpdir();
    f->db = make_db(f->dir, "scan.db", fixture, sizeof fixture / sizeof fixture[0]);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fx *f = *state;
    fc_test_rmtree(f->dir);
    free(f->dir);
    free(f->db);
    free(f);
    return 0;
}

static int scan_db(const char *db, const fc_scan_opts *o, seen_list *l, fc_scan_stats *st) {
    fc_store *s = NULL;
    fc_err err;
    fc_err_clear(&err);
    assert_int_equal(fc_store_open(db, &s, &err), FC_OK);
    int rc = fc_scan_orders(s, o, collect, l, st, &err);
    if (rc < 0) {
        fail_msg("scan: %s", err.msg);
    }
    fc_store_close(s);
    return rc;
}

/* 2026-03-02 hh:mm:ss at +03:00, UTC s. */
static int64_t at(int h, int m, int s) {
    return 1772409600 + (int64_t)(h - 3) * 3600 + m * 60 + s;
}

/* ---------------------------------------------------------------------------
 * Facts.
 */

typedef struct fold_check {
    fc_event *evs;
    size_t n, cap;
    fc_arena *arena;
} fold_check;

static int keep_events(void *ud, fc_str record_id, fc_str order, const fc_event *events, size_t n) {
    (void)record_id;
    (void)order;
    fold_check *c = ud;
    for (size_t i = 0; i < n; i++) {
        if (c->n == c->cap) {
            c->cap = c->cap ? c->cap * 2 : 16;
            c->evs = realloc(c->evs, c->cap * sizeof *c->evs);
            assert_non_null(c->evs);
        }
        uint8_t *buf = NULL;
        size_t len = 0, cap = 0;
        assert_int_equal(fc_event_pack(&events[i], &buf, &len, &cap), FC_OK);
        uint8_t *kept = (uint8_t *)fc_arena_strndup(c->arena, (const char *)buf, len);
        fc_free(buf);
        size_t used = 0;
        assert_int_equal(fc_event_unpack(kept, len, &c->evs[c->n++], &used), FC_OK);
    }
    return 0;
}

/* The visitor sees every order once, with the facts fc_order_fold gives
 * for its stored events (with its city's weather), and the KPI load loads
 * the same orders. */
static void test_every_order_once_same_facts(void **state) {
    fx *f = *state;
    seen_list l = {0};
    fc_scan_stats st;
    fc_scan_opts o;
    fc_scan_opts_init(&o);
    assert_int_equal(scan_db(f->db, &o, &l, &st), FC_OK);
    assert_int_equal(l.n, N_ORDERS);
    assert_int_equal(st.orders, N_ORDERS);
    assert_int_equal(st.skipped, 0);
    assert_int_equal(st.filtered, 0);
    assert_int_equal(st.weather, 1);
    assert_int_equal(st.incidents, 3);
    assert_int_equal(st.records, 59);
    assert_int_equal(st.events, 59);
    /* In order of first appearance. */
    static const char *const order[N_ORDERS] = {"P",  "Q",  "A",  "B",  "C",  "E",  "D",  "X",
                                                "O1", "O2", "O3", "O4", "O5", "O6", "K1", "K2"};
    for (size_t i = 0; i < N_ORDERS; i++) {
        assert_string_equal(l.v[i].order, order[i]);
        find(&l, order[i]);
    }

    fc_store *s = NULL;
    fc_err err;
    assert_int_equal(fc_store_open(f->db, &s, &err), FC_OK);
    fc_weather w = {fc_str_c("kuwait_city"), FC_STR_NULL, at(19, 50, 0), at(21, 0, 0), 3};
    for (size_t i = 0; i < l.n; i++) {
        const seen *v = &l.v[i];
        fold_check c = {.arena = fc_arena_new(0)};
        assert_non_null(c.arena);
        assert_int_equal(fc_store_scan_order(s, fc_str_c(v->order), keep_events, &c, &err), FC_OK);
        uint32_t *scratch = calloc(c.n + 1, sizeof *scratch);
        int kuwait = v->order[0] == 'K';
        fc_fold_ctx ctx = {.thresholds = fc_settings_for(NULL, NULL, NULL),
                           .weather = kuwait ? &w : NULL,
                           .n_weather = kuwait ? 1 : 0,
                           .rider_start_date = INT32_MIN};
        fc_order_facts facts;
        assert_int_equal(fc_order_fold(c.evs, c.n, &ctx, scratch, &facts), FC_OK);
        assert_int_equal(v->n_events, c.n);
        assert_true(v->created_at == facts.created_at);
        assert_true(v->picked_up_at == facts.picked_up_at);
        assert_true(v->delivered_at == facts.delivered_at);
        assert_true(v->closed_at == facts.closed_at);
        assert_int_equal(v->lateness_s, facts.lateness_s);
        assert_int_equal(v->weather_severity, facts.weather_severity);
        assert_int_equal(v->incidents, facts.incidents);
        assert_int_equal(v->complaints, facts.complaints);
        assert_int_equal(v->status, facts.status);
        free(scratch);
        free(c.evs);
        fc_arena_free(c.arena);
    }
    assert_int_equal(find(&l, "K1")->weather_severity, 3);
    assert_int_equal(find(&l, "A")->complaints, 1);

    fc_facts *t = NULL;
    fc_kpi_load_stats ks;
    assert_int_equal(fc_facts_load_store(s, NULL, &t, &ks, &err), FC_OK);
    assert_int_equal(ks.orders, N_ORDERS);
    assert_int_equal(fc_facts_count(t), N_ORDERS);
    fc_facts_free(t);
    fc_store_close(s);
}

/* ---------------------------------------------------------------------------
 * Filters.
 */
static void test_filters(void **state) {
    fx *f = *state;
    seen_list l = {0};
    fc_scan_stats st;
    fc_scan_opts o;

    fc_scan_opts_init(&o);
    o.city = "kuwait_city";
    assert_int_equal(scan_db(f->db, &o, &l, &st), FC_OK);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.v[0].order, "K1");
    assert_string_equal(l.v[1].order, "K2");
    assert_int_equal(st.filtered, N_ORDERS - 2);
    assert_int_equal(st.orders, 2);

    /* [12:00, 13:00): O1 (12:00), O2 (12:30); not O3 (11:59:59). */
    memset(&l, 0, sizeof l);
    fc_scan_opts_init(&o);
    o.from = at(12, 0, 0);
    o.to = at(13, 0, 0);
    assert_int_equal(scan_db(f->db, &o, &l, &st), FC_OK);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.v[0].order, "O1");
    assert_string_equal(l.v[1].order, "O2");
    assert_int_equal(st.filtered, N_ORDERS - 2);

    /* Open-ended from; closed only: K2 is open. */
    memset(&l, 0, sizeof l);
    fc_scan_opts_init(&o);
    o.from = at(19, 0, 0);
    o.closed_only = 1;
    assert_int_equal(scan_db(f->db, &o, &l, &st), FC_OK);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.v[0].order, "K1");
    assert_int_equal(st.filtered, N_ORDERS - 1);

    memset(&l, 0, sizeof l);
    fc_scan_opts_init(&o);
    o.closed_only = 1;
    o.city = "";
    assert_int_equal(scan_db(f->db, &o, &l, &st), FC_OK);
    assert_int_equal(l.n, N_ORDERS - 1);
    assert_int_equal(st.filtered, 1);
}

/* ---------------------------------------------------------------------------
 * Context.
 */
static void test_context_from_reference(void **state) {
    fx *f = *state;
    seen_list l = {0};
    fc_scan_opts o;
    fc_scan_opts_init(&o);
    assert_int_equal(scan_db(f->db, &o, &l, NULL), FC_OK);
    const seen *a = find(&l, "A");
    assert_string_equal(a->country, "SA");
    assert_string_equal(a->capacity, "full_time");
    assert_string_equal(a->merchant_kind, "fast_food");
    assert_string_equal(a->zone_kind, "business_district");
    assert_true(a->has_city && a->has_zone && a->has_merchant && a->has_rider);
    assert_false(a->has_policy);
    const seen *d = find(&l, "D");
    assert_string_equal(d->capacity, "crowd");
    assert_string_equal(d->merchant_kind, "grocery");
    assert_string_equal(d->zone_kind, "residential");
    const seen *k = find(&l, "K1");
    assert_string_equal(k->country, "KW");
    assert_string_equal(k->capacity, "part_time");
    assert_string_equal(k->merchant_kind, "restaurant");
    /* No rider: no capacity. */
    const seen *x = find(&l, "X");
    assert_string_equal(x->capacity, "");
    assert_false(x->has_rider);
    /* Without opts.context, stacked_orders is unknown. */
    for (size_t i = 0; i < l.n; i++) {
        assert_int_equal(l.v[i].stacked, FC_INT_NONE);
    }
}

static void test_stacked_orders(void **state) {
    fx *f = *state;
    seen_list l = {0};
    fc_scan_opts o;
    fc_scan_opts_init(&o);
    o.context = 1;
    assert_int_equal(scan_db(f->db, &o, &l, NULL), FC_OK);
    assert_int_equal(l.n, N_ORDERS);
    /* Two at once. */
    assert_int_equal(find(&l, "P")->stacked, 1);
    assert_int_equal(find(&l, "Q")->stacked, 1);
    /* Three at once. */
    assert_int_equal(find(&l, "A")->stacked, 2);
    assert_int_equal(find(&l, "B")->stacked, 2);
    assert_int_equal(find(&l, "C")->stacked, 2);
    /* Picked up the instant B was delivered: [pickup, delivery) do not meet. */
    assert_int_equal(find(&l, "E")->stacked, 0);
    /* Alone. */
    assert_int_equal(find(&l, "D")->stacked, 0);
    assert_int_equal(find(&l, "O1")->stacked, 0);
    assert_int_equal(find(&l, "K1")->stacked, 0);
    /* Never picked up or never delivered. */
    assert_int_equal(find(&l, "X")->stacked, FC_INT_NONE);
    assert_int_equal(find(&l, "K2")->stacked, FC_INT_NONE);

    /* A filter leaves orders out of the visits, not out of the counts. */
    memset(&l, 0, sizeof l);
    o.from = at(10, 0, 0);
    o.to = at(11, 0, 0);
    assert_int_equal(scan_db(f->db, &o, &l, NULL), FC_OK);
    assert_int_equal(find(&l, "E")->stacked, 0);
    assert_int_equal(find(&l, "X")->stacked, FC_INT_NONE);
    for (size_t i = 0; i < l.n; i++) {
        assert_true(strcmp(l.v[i].order, "A") != 0); /* created 9:50 */
    }
    memset(&l, 0, sizeof l);
    o.from = at(9, 55, 0);
    assert_int_equal(scan_db(f->db, &o, &l, NULL), FC_OK);
    assert_int_equal(find(&l, "B")->stacked, 2);
}

static void test_dispatch_outage(void **state) {
    fx *f = *state;
    seen_list l = {0};
    fc_scan_opts o;
    fc_scan_opts_init(&o);
    assert_int_equal(scan_db(f->db, &o, &l, NULL), FC_OK);
    assert_int_equal(find(&l, "O1")->outage, 1); /* created at the start of the city's window */
    assert_int_equal(find(&l, "O2")->outage, 0); /* at its end: [from, to) */
    assert_int_equal(find(&l, "O3")->outage, 0); /* a second before */
    assert_int_equal(find(&l, "O4")->outage, 1); /* in malaz, the zone's window */
    assert_int_equal(find(&l, "O5")->outage, 0); /* in olaya, during malaz's window */
    assert_int_equal(find(&l, "O6")->outage, 0); /* a payment outage is no dispatch outage */
    assert_int_equal(find(&l, "A")->outage, 0);
    assert_int_equal(find(&l, "K1")->outage, 0);
}

/* opts.policies: each order's thresholds come from the policy governing it. */
static void test_policies(void **state) {
    fx *f = *state;
    fc_policy_pack *pk = NULL;
    fc_err err;
    if (fc_policy_pack_load(fc_policy_dir(), &pk, &err) != FC_OK) {
        fail_msg("policy pack: %s", err.msg);
    }
    seen_list l = {0};
    fc_scan_opts o;
    fc_scan_opts_init(&o);
    o.policies = pk;
    assert_int_equal(scan_db(f->db, &o, &l, NULL), FC_OK);
    assert_int_equal(l.n, N_ORDERS);
    const fc_policy *sa = fc_policy_for(pk, fc_str_c("SA"), fc_str_c("riyadh"));
    const fc_policy *kw = fc_policy_for(pk, fc_str_c("KW"), fc_str_c("kuwait_city"));
    for (size_t i = 0; i < l.n; i++) {
        assert_true(l.v[i].has_policy);
        const fc_policy *p = l.v[i].order[0] == 'K' ? kw : sa;
        assert_int_equal(l.v[i].grace_s, fc_policy_thresholds(p)->grace_s);
    }
    fc_policy_pack_free(pk);
}

/* ---------------------------------------------------------------------------
 * Reading modes.
 */
static int cmp_seen(const void *a, const void *b) {
    return strcmp(((const seen *)a)->order, ((const seen *)b)->order);
}

static void assert_same_visits(seen_list *a, seen_list *b, int same_sequence) {
    assert_int_equal(a->n, b->n);
    if (!same_sequence) {
        qsort(a->v, a->n, sizeof a->v[0], cmp_seen);
        qsort(b->v, b->n, sizeof b->v[0], cmp_seen);
    }
    for (size_t i = 0; i < a->n; i++) {
        assert_memory_equal(&a->v[i], &b->v[i], sizeof a->v[i]);
    }
}

static fc_event ev(fc_event_type type, const char *id, const char *order_id, int64_t ts) {
    fc_event e;
    fc_event_init(&e);
    e.type = type;
    e.id = fc_str_c(id);
    e.order = fc_str_c(order_id);
    e.ts = ts;
    return e;
}

/* Append records: events[i][0..n[i]) under ids[i], order orders[i]. */
static void append_records(const char *db, const char *const *ids, const char *const *orders,
                           const fc_event *const *events, const size_t *n, size_t n_records) {
    fc_store *s = NULL;
    fc_err err;
    fc_err_clear(&err);
    assert_int_equal(fc_store_open(db, &s, &err), FC_OK);
    assert_int_equal(fc_store_begin(s, &err), FC_OK);
    for (size_t i = 0; i < n_records; i++) {
        int dup = -1;
        if (fc_store_append(s, 1, fc_str_c(ids[i]), fc_str_c(orders[i]), events[i], n[i], &dup,
                            &err) != FC_OK) {
            fail_msg("append: %s", err.msg);
        }
        assert_int_equal(dup, 0);
    }
    assert_int_equal(fc_store_commit(s, NULL, &err), FC_OK);
    fc_store_close(s);
}

/* One pass, two passes and event by event give the same visits. */
static void test_modes_identical(void **state) {
    fx *f = *state;
    fc_scan_opts o;
    fc_scan_opts_init(&o);
    o.context = 1;
    seen_list one = {0}, two = {0}, exact = {0};
    fc_scan_stats st1, st2, st3;
    assert_int_equal(scan_db(f->db, &o, &one, &st1), FC_OK);
    assert_int_equal(setenv("FULCRUM_LOAD_HOLD_MB", "0", 1), 0);
    assert_int_equal(scan_db(f->db, &o, &two, &st2), FC_OK);
    assert_int_equal(unsetenv("FULCRUM_LOAD_HOLD_MB"), 0);
    assert_memory_equal(&st1, &st2, sizeof st1);
    assert_same_visits(&one, &two, 1);

    /* The same store plus, first, a record of order P that holds a platform
     * incident of another city: the scan reads every record event by event. */
    char *db = make_db(f->dir, "exact.db", fixture, 0);
    fc_event inc = ev(FC_EV_PLATFORM_INCIDENT, "inc-doha", "", at(6, 0, 0));
    inc.city = fc_str_c("doha");
    inc.from = at(6, 0, 0);
    inc.to = at(7, 0, 0);
    inc.reason = fc_str_c("dispatch_outage");
    const fc_event *evs[] = {&inc};
    const char *ids[] = {"mixed"}, *orders[] = {"P"};
    const size_t n[] = {1};
    append_records(db, ids, orders, evs, n, 1);
    fc_store *s = NULL;
    fc_err err;
    assert_int_equal(fc_store_open(db, &s, &err), FC_OK);
    fc_ingest_opts io = {.max_errors = -1, .quiet = 1};
    for (size_t i = 0; i < sizeof fixture / sizeof fixture[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/scan/%s", FC_TEST_DATA, fixture[i]);
        fc_ingest_log log;
        char rejects[600];
        snprintf(rejects, sizeof rejects, "%s/exact.rejects.csv", f->dir);
        io.reject_path = rejects;
        assert_int_equal(fc_ingest_file(s, path, &io, &log, &err), FC_OK);
    }
    fc_store_close(s);
    o.restart = on_restart;
    assert_int_equal(scan_db(db, &o, &exact, &st3), FC_OK);
    assert_int_equal(exact.restarts, 0); /* found before any visit */
    assert_int_equal(st3.incidents, 4);
    assert_int_equal(st3.records, st1.records + 1);
    assert_same_visits(&one, &exact, 1);
    free(db);
}

/* A record of one order holding another order's event, found after orders
 * were visited: with opts.restart every order is visited again from the
 * start (the facts of the event-by-event reading); without, the orders
 * already visited are not visited twice. */
static void test_late_regroup(void **state) {
    fx *f = *state;
    char *db = make_db(f->dir, "late.db", fixture, 0);
    fc_event a1 = ev(FC_EV_ORDER_CREATED, "a:created", "A", at(9, 0, 0));
    a1.city = fc_str_c("riyadh");
    a1.promised_at = at(9, 40, 0);
    fc_event b1 = ev(FC_EV_ORDER_CREATED, "b:created", "B", at(9, 5, 0));
    b1.city = fc_str_c("riyadh");
    b1.promised_at = at(9, 45, 0);
    fc_event a2 = ev(FC_EV_ORDER_DELIVERED, "a:delivered", "A", at(9, 30, 0));
    fc_event b2 = ev(FC_EV_ORDER_DELIVERED, "b:delivered", "B", at(9, 35, 0));
    const fc_event ra[] = {a1}, rb[] = {b1, a2, b2};
    const fc_event *evs[] = {ra, rb};
    const char *ids[] = {"ra", "rb"}, *orders[] = {"A", "B"};
    const size_t n[] = {1, 3};
    append_records(db, ids, orders, evs, n, 2);

    fc_scan_opts o;
    fc_scan_opts_init(&o);
    o.restart = on_restart;
    seen_list l = {0};
    fc_scan_stats st;
    assert_int_equal(scan_db(db, &o, &l, &st), FC_OK);
    assert_int_equal(l.restarts, 1);
    assert_int_equal(l.n, 2);
    assert_int_equal(st.orders, 2);
    assert_true(find(&l, "A")->delivered_at == at(9, 30, 0));
    assert_int_equal(find(&l, "A")->status, FC_ORDER_DELIVERED);

    memset(&l, 0, sizeof l);
    o.restart = NULL;
    assert_int_equal(scan_db(db, &o, &l, &st), FC_OK);
    assert_int_equal(l.n, 2);
    assert_int_equal(st.orders, 2);
    find(&l, "A");
    assert_true(find(&l, "B")->delivered_at == at(9, 35, 0));

    /* The KPI load starts its table again: two orders, not three. */
    fc_store *s = NULL;
    fc_err err;
    assert_int_equal(fc_store_open(db, &s, &err), FC_OK);
    fc_facts *t = NULL;
    fc_kpi_load_stats ks;
    assert_int_equal(fc_facts_load_store(s, NULL, &t, &ks, &err), FC_OK);
    assert_int_equal(fc_facts_count(t), 2);
    assert_int_equal(ks.orders, 2);
    fc_facts_free(t);
    fc_store_close(s);
    free(db);
}

/* ---------------------------------------------------------------------------
 * One order.
 */
static void test_order_one(void **state) {
    fx *f = *state;
    fc_store *s = NULL;
    fc_err err;
    assert_int_equal(fc_store_open(f->db, &s, &err), FC_OK);
    fc_scan_opts o;
    fc_scan_opts_init(&o);
    o.city = "kuwait_city"; /* a whole scan's filter: not applied to one order */

    /* As stored: O4 under the malaz outage, the same as a whole scan. */
    seen_list l = {0};
    assert_int_equal(fc_scan_order_one(s, &o, fc_str_c("O4"), NULL, 0, collect, &l, &err), FC_OK);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.v[0].order, "O4");
    assert_int_equal(l.v[0].outage, 1);
    assert_int_equal(l.v[0].stacked, FC_INT_NONE);
    assert_string_equal(l.v[0].zone_kind, "residential");
    assert_string_equal(l.v[0].capacity, "crowd");
    seen_list whole = {0};
    fc_scan_opts all;
    fc_scan_opts_init(&all);
    assert_int_equal(fc_scan_orders(s, &all, collect, &whole, NULL, &err), FC_OK);
    assert_memory_equal(&l.v[0], find(&whole, "O4"), sizeof l.v[0]);

    /* K2 is open; with the rider's delivery as extra evidence (no order
     * field: it is the order's), it is delivered, under the weather. */
    fc_event extra[2];
    extra[0] = ev(FC_EV_ORDER_PICKED_UP, "k2:picked", "", at(20, 40, 0));
    extra[0].rider = fc_str_c("r3");
    extra[1] = ev(FC_EV_ORDER_DELIVERED, "k2:delivered", "", at(20, 55, 0));
    extra[1].rider = fc_str_c("r3");
    memset(&l, 0, sizeof l);
    assert_int_equal(fc_scan_order_one(s, &o, fc_str_c("K2"), extra, 2, collect, &l, &err), FC_OK);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.v[0].status, FC_ORDER_DELIVERED);
    assert_true(l.v[0].delivered_at == at(20, 55, 0));
    assert_int_equal(l.v[0].n_events, 4);
    assert_int_equal(l.v[0].weather_severity, 3);
    assert_string_equal(l.v[0].country, "KW");

    /* Unknown order. */
    memset(&l, 0, sizeof l);
    assert_int_equal(fc_scan_order_one(s, &o, fc_str_c("nope"), extra, 2, collect, &l, &err),
                     FC_ENOTFOUND);
    assert_int_equal(l.n, 0);

    /* The visitor's return comes back. */
    l.stop_after = 1;
    assert_int_equal(fc_scan_order_one(s, NULL, fc_str_c("A"), NULL, 0, collect, &l, &err), 7);
    fc_store_close(s);
}

/* ---------------------------------------------------------------------------
 * Stopping and progress.
 */
typedef struct prog {
    int calls;
    int64_t orders, read, total;
} prog;

static void on_progress(void *ud, int64_t orders, int64_t records_read, int64_t records_total) {
    prog *p = ud;
    p->calls++;
    p->orders = orders;
    p->read = records_read;
    p->total = records_total;
}

static void test_stop_and_progress(void **state) {
    fx *f = *state;
    seen_list l = {.stop_after = 3};
    fc_scan_opts o;
    fc_scan_opts_init(&o);
    fc_scan_stats st;
    assert_int_equal(scan_db(f->db, &o, &l, &st), 7);
    assert_int_equal(l.n, 3);
    assert_int_equal(st.orders, 3);

    /* Two passes stop as well. */
    memset(&l, 0, sizeof l);
    l.stop_after = 2;
    o.context = 1;
    assert_int_equal(setenv("FULCRUM_LOAD_HOLD_MB", "0", 1), 0);
    assert_int_equal(scan_db(f->db, &o, &l, &st), 7);
    assert_int_equal(unsetenv("FULCRUM_LOAD_HOLD_MB"), 0);
    assert_int_equal(l.n, 2);

    prog p = {0};
    memset(&l, 0, sizeof l);
    fc_scan_opts_init(&o);
    o.progress = on_progress;
    o.progress_ud = &p;
    assert_int_equal(scan_db(f->db, &o, &l, &st), FC_OK);
    assert_true(p.calls >= 1);
    assert_int_equal(p.orders, N_ORDERS);
    assert_int_equal(p.read, 59);
    assert_int_equal(p.total, 59);
}

/* The carry pass reads events with fc_event_unpack_head: the same type and
 * head fields as a whole unpack, the rest absent, the same length. */
static void test_unpack_head(void **state) {
    (void)state;
    fc_event e = ev(FC_EV_ORDER_DELIVERED, "o1:delivered", "o1", at(12, 0, 0));
    e.city = fc_str_c("riyadh");
    e.rider = fc_str_c("r1");
    e.proof = fc_str_c("photo:1");
    e.lat_e6 = 24700000;
    e.lng_e6 = -46700000;
    e.cost_minor = 1234567890123;
    e.score = 5;
    fc_event w = ev(FC_EV_WEATHER, "w1", "", at(11, 0, 0));
    w.city = fc_str_c("riyadh");
    w.from = at(11, 0, 0);
    w.to = at(13, 0, 0);
    w.severity = 2;
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    assert_int_equal(fc_event_pack(&e, &buf, &len, &cap), FC_OK);
    size_t first = len;
    assert_int_equal(fc_event_pack(&w, &buf, &len, &cap), FC_OK);
    size_t n_head = (size_t)fc_event_field_find(fc_str_c("rider")) + 1;
    fc_event whole, head;
    size_t used_whole = 0, used_head = 0;
    assert_int_equal(fc_event_unpack(buf, len, &whole, &used_whole), FC_OK);
    assert_int_equal(fc_event_unpack_head(buf, len, n_head, &head, &used_head), FC_OK);
    assert_int_equal(used_whole, first);
    assert_int_equal(used_head, first);
    assert_int_equal(head.type, FC_EV_ORDER_DELIVERED);
    assert_true(head.ts == whole.ts);
    assert_true(fc_str_eq(head.id, whole.id) && fc_str_eq(head.order, whole.order));
    assert_true(fc_str_eq(head.city, whole.city) && fc_str_eq(head.rider, whole.rider));
    assert_int_equal(head.proof.n, 0);
    assert_int_equal(head.lat_e6, FC_GEO_NONE);
    assert_true(head.cost_minor == FC_MONEY_NONE);
    assert_int_equal(head.score, FC_INT_NONE);
    /* The next event starts where the head's walk stopped. */
    assert_int_equal(
        fc_event_unpack_head(buf + used_head, len - used_head, n_head, &head, &used_head), FC_OK);
    assert_int_equal(head.type, FC_EV_WEATHER);
    assert_int_equal(used_head, len - first);
    assert_true(head.from == FC_TS_NONE); /* past the head */
    /* Every field asked for: a whole unpack. */
    assert_int_equal(fc_event_unpack_head(buf, len, 64, &head, &used_head), FC_OK);
    assert_true(head.cost_minor == e.cost_minor && head.score == 5);
    /* Truncated: refused. */
    assert_int_equal(fc_event_unpack_head(buf, first - 1, n_head, &head, &used_head), FC_EPARSE);
    fc_free(buf);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_order_once_same_facts),
        cmocka_unit_test(test_filters),
        cmocka_unit_test(test_context_from_reference),
        cmocka_unit_test(test_stacked_orders),
        cmocka_unit_test(test_dispatch_outage),
        cmocka_unit_test(test_policies),
        cmocka_unit_test(test_modes_identical),
        cmocka_unit_test(test_late_regroup),
        cmocka_unit_test(test_order_one),
        cmocka_unit_test(test_stop_and_progress),
        cmocka_unit_test(test_unpack_head),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
