/*
 * appeal: filing, auto-review, the queue, verdicts, SLA and the CLI, against
 * a real SQLite store in a temp folder, with decisions recorded by the judge
 * run from stored orders judged under tests/data/appeal/policies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <pthread.h>

#include "adjudicate/adjudicate.h"
#include "appeal/appeal.h"
#include "case/case.h"
#include "store/store.h"
#include "support.h"

#define T0  1772000000 /* 2026-02-25T06:13:20Z */
#define MIN 60
#define H   3600
/* Decisions are recorded two hours after the orders. */
#define RECORDED (T0 + 2 * H)

#define DOOR_LAT 24713600
#define DOOR_LNG 46675300

typedef struct fixture {
    char *dir;
    char db[256];
    char policies[256];
    fc_store *s;
    fc_policy_pack *pk;
} fixture;

static int setup(void **state) {
    fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    fx->dir = fc_test_tmpdir();
    assert_non_null(fx->dir);
    snprintf(fx->db, sizeof fx->db, "%s/t.db", fx->dir);
    snprintf(fx->policies, sizeof fx->policies, "%s/appeal/policies", FC_TEST_DATA);
    fc_err err;
    assert_int_equal(fc_store_open(fx->db, &fx->s, &err), FC_OK);
    assert_int_equal(fc_policy_pack_load(fx->policies, &fx->pk, &err), FC_OK);
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

/* ---------------------------------------------------------------------------
 * A small world: orders written to the store's event log.
 */
typedef struct order_events {
    fc_event ev[32];
    char ids[32][48];
    size_t n;
    char order[32];
} order_events;

static fc_event *add(order_events *o, fc_event_type type, int64_t at, const char *rider) {
    assert_true(o->n < 32);
    fc_event *e = &o->ev[o->n];
    fc_event_init(e);
    snprintf(o->ids[o->n], sizeof o->ids[o->n], "%s:%zu", o->order, o->n);
    e->id = fc_str_c(o->ids[o->n]);
    e->type = type;
    e->ts = at;
    e->order = fc_str_c(o->order);
    e->rider = fc_str_c(rider);
    o->n++;
    return e;
}

/* Created at `at`, rider to the door at +25 min. */
static void to_the_door(order_events *o, const char *order, const char *rider, int64_t at) {
    memset(o, 0, sizeof *o);
    snprintf(o->order, sizeof o->order, "%s", order);
    fc_event *c = add(o, FC_EV_ORDER_CREATED, at, "");
    c->city = fc_str_c("riyadh");
    c->zone = fc_str_c("olaya");
    c->merchant = fc_str_c("M1");
    c->customer = fc_str_c("C1");
    c->promised_at = at + 30 * MIN;
    c->est_ready_at = at + 12 * MIN;
    c->distance_m = 2400;
    c->amount_minor = 4250;
    c->currency = fc_str_c("USD");
    c->customer_lat_e6 = DOOR_LAT;
    c->customer_lng_e6 = DOOR_LNG;
    c->merchant_lat_e6 = DOOR_LAT + 20000;
    c->merchant_lng_e6 = DOOR_LNG;
    add(o, FC_EV_ORDER_ACCEPTED, at + 1 * MIN, rider);
    add(o, FC_EV_RIDER_ARRIVED_MERCHANT, at + 10 * MIN, rider);
    add(o, FC_EV_ORDER_READY, at + 12 * MIN, "");
    add(o, FC_EV_ORDER_PICKED_UP, at + 15 * MIN, rider);
    add(o, FC_EV_RIDER_ARRIVED_CUSTOMER, at + 25 * MIN, rider);
}

static void store_order(fixture *fx, const order_events *o) {
    fc_err err;
    int dup = 0;
    assert_int_equal(fc_store_begin(fx->s, &err), FC_OK);
    assert_int_equal(
        fc_store_append(fx->s, 1, fc_str_c(o->order), fc_str_c(o->order), o->ev, o->n, &dup, &err),
        FC_OK);
    assert_int_equal(fc_store_commit(fx->s, NULL, &err), FC_OK);
}

/* Undeliverable after `attempts` unanswered calls and `door_min` minutes at
 * the door. */
static void undeliverable(fixture *fx, const char *order, const char *rider, int attempts,
                          int door_min) {
    order_events o;
    to_the_door(&o, order, rider, T0);
    for (int i = 0; i < attempts; i++) {
        fc_event *c = add(&o, FC_EV_CONTACT_ATTEMPT, T0 + 25 * MIN + 30 + i * 60, rider);
        c->channel = fc_str_c("call");
        c->outcome = fc_str_c("no_answer");
    }
    fc_event *u = add(&o, FC_EV_ORDER_UNDELIVERABLE, T0 + (25 + door_min) * MIN, rider);
    u->reason = fc_str_c("customer_unreachable");
    store_order(fx, &o);
}

/* Marked delivered 1.1 km from the door without a call; the customer says
 * it never came. */
static void false_delivery(fixture *fx, const char *order, const char *rider) {
    order_events o;
    to_the_door(&o, order, rider, T0);
    o.n--; /* no arrival at the door */
    fc_event *d = add(&o, FC_EV_ORDER_DELIVERED, T0 + 27 * MIN, rider);
    d->lat_e6 = DOOR_LAT + 10000;
    d->lng_e6 = DOOR_LNG;
    fc_event *k = add(&o, FC_EV_COMPLAINT, T0 + 60 * MIN, "");
    k->category = fc_str_c("not_received");
    store_order(fx, &o);
}

/* Judge one stored order with the judge run and give the id of its
 * decision (of a false delivery, the far delivery's) in out. */
typedef struct picker {
    char id[FC_CASE_ID_MAX];
    int far;
    size_t n;
} picker;

static int pick_cb(void *ud, const fc_case_entry *e) {
    picker *p = ud;
    fc_arena *arena = fc_arena_new(0);
    fc_case_decision *cd = calloc(1, sizeof *cd);
    fc_err err;
    assert_non_null(cd);
    assert_int_equal(fc_case_decision_parse(e->body, arena, cd, &err), FC_OK);
    /* The latest (a superseding decision comes after the one it replaces),
     * the far delivery's when there is one. */
    int far = cd->d.incident == FC_INCIDENT_FAR_DELIVERY;
    if (far || !p->far) {
        snprintf(p->id, sizeof p->id, "%s", cd->id);
        p->far |= far;
    }
    p->n++;
    free(cd);
    fc_arena_free(arena);
    return 0;
}

static void judge_order(fixture *fx, const char *order, char out[FC_CASE_ID_MAX]) {
    fc_adj_opts o;
    fc_adj_opts_init(&o);
    o.pack = fx->pk;
    o.now = RECORDED;
    fc_str which = fc_str_c(order);
    fc_adj_stats st;
    fc_err err;
    assert_int_equal(fc_adj_run_orders(fx->s, &o, &which, 1, &st, &err), FC_OK);
    assert_true(st.recorded >= 1);
    picker p = {"", 0, 0};
    fc_case_filter f;
    fc_case_filter_init(&f);
    f.type = FC_CASE_DECISION;
    f.order = which;
    assert_int_equal(fc_store_case_scan(fx->s, &f, pick_cb, &p, &err), FC_OK);
    assert_true(p.n >= (size_t)st.recorded);
    snprintf(out, FC_CASE_ID_MAX, "%s", p.id);
}

/* An undeliverable order (see undeliverable) judged by the judge run; its
 * decision's id into dec. */
static void undeliverable_judged(fixture *fx, const char *order, const char *rider, int attempts,
                                 int door_min, char dec[FC_CASE_ID_MAX]) {
    undeliverable(fx, order, rider, attempts, door_min);
    judge_order(fx, order, dec);
}

/* Sum of the ledger entries of a decision for one party. */
typedef struct sums {
    fc_party party;
    int64_t points, amount, entries;
} sums;

/* Orders O1..O3 of riders R1..R3, each undeliverable after one call and 5
 * minutes' wait, judged: their decisions into d1..d3. */
static void three_judged(fixture *fx, char *d1, char *d2, char *d3) {
    undeliverable_judged(fx, "O1", "R1", 1, 5, d1);
    undeliverable_judged(fx, "O2", "R2", 1, 5, d2);
    undeliverable_judged(fx, "O3", "R3", 1, 5, d3);
}

static int sum_cb(void *ud, const fc_case_entry *e) {
    sums *s = ud;
    fc_ledger_entry le;
    fc_err err;
    assert_int_equal(fc_case_ledger_parse(e->body, &le, &err), FC_OK);
    if (le.party == s->party) {
        s->points += le.points;
        s->amount += le.amount_minor;
        s->entries++;
    }
    return 0;
}

static sums ledger_sum(fixture *fx, const char *decision, fc_party party) {
    sums s = {party, 0, 0, 0};
    fc_case_filter f;
    fc_case_filter_init(&f);
    f.type = FC_CASE_LEDGER;
    f.decision = fc_str_c(decision);
    fc_err err;
    assert_int_equal(fc_store_case_scan(fx->s, &f, sum_cb, &s, &err), FC_OK);
    return s;
}

static int64_t count_type(fixture *fx, fc_case_type t) {
    int64_t counts[FC_CASE__COUNT];
    fc_err err;
    assert_int_equal(fc_store_case_counts(fx->s, counts, &err), FC_OK);
    return counts[t];
}

static fc_appeal_item call(int64_t ts, const char *outcome) {
    fc_appeal_item it;
    memset(&it, 0, sizeof it);
    it.kind = FC_APPEAL_ITEM_CALL;
    it.ts = ts;
    it.outcome = outcome;
    it.lat_e6 = it.lng_e6 = FC_GEO_NONE;
    it.duration_s = 25;
    return it;
}

static fc_appeal_filing filing(const char *decision, const char *rider, const fc_appeal_item *items,
                               size_t n) {
    fc_appeal_filing f;
    memset(&f, 0, sizeof f);
    f.decision = decision;
    f.appellant = FC_PARTY_RIDER;
    f.appellant_id = rider;
    f.statement = "I called the customer three times and waited at the door.";
    f.items = items;
    f.n_items = n;
    return f;
}

/* File as the decision's rider, expecting success. */
static fc_appeal file_ok(fixture *fx, const char *decision, const char *rider,
                         const fc_appeal_item *items, size_t n, int64_t now) {
    fc_appeal_filing f = filing(decision, rider, items, n);
    fc_appeal a;
    fc_err err;
    assert_int_equal(fc_appeal_file(fx->s, fx->pk, &f, now, rider, &a, &err), FC_OK);
    return a;
}

/* ---------------------------------------------------------------------------
 * Tests.
 */
static void test_auto_review_overturns_on_call_log(void **state) {
    fixture *fx = *state;
    fc_err err;
    char dec[FC_CASE_ID_MAX];
    undeliverable_judged(fx, "O1", "R1", 1, 15, dec);
    sums before = ledger_sum(fx, dec, FC_PARTY_RIDER);
    assert_int_equal(before.points, -4);
    assert_int_equal(before.amount, -1000);

    /* Two more unanswered calls: three attempts, fifteen minutes at the door. */
    fc_appeal_item items[] = {call(T0 + 28 * MIN, "no_answer"), call(T0 + 31 * MIN, "no_answer")};
    fc_appeal_filing f = filing(dec, "R1", items, 2);
    fc_appeal a;
    assert_int_equal(fc_appeal_file(fx->s, fx->pk, &f, T0 + 5 * H, "R1", &a, &err), FC_OK);
    assert_memory_equal(a.id, "apl-", 4);
    assert_int_equal(strlen(a.id), 4 + 24);
    assert_int_equal(a.kind, FC_APPEAL_KIND_APPEAL);
    assert_int_equal(a.state, FC_APPEAL_OVERTURNED);
    assert_true(a.auto_reviewed);
    assert_true(a.auto_overturned);
    assert_string_equal(a.decided_by, "auto-review");
    assert_non_null(strstr(a.reason, "customer"));
    assert_int_equal(a.decided_at, T0 + 5 * H);
    assert_int_equal(a.due_at, T0 + 5 * H + 24 * H);
    assert_int_equal(a.n_items, 2);
    assert_false(a.breached);

    /* The penalty is undone by a reversal caused by the appeal. */
    sums after = ledger_sum(fx, dec, FC_PARTY_RIDER);
    assert_int_equal(after.points, 0);
    assert_int_equal(after.amount, 0);
    assert_int_equal(after.entries, 2);
    assert_int_equal(count_type(fx, FC_CASE_APPEAL_REVIEWED), 1);

    /* A human cannot decide it any more: auto-review decided it first. */
    fc_appeal_verdict v = {FC_VERDICT_UPHOLD, "stands", "rev1", 0};
    assert_int_equal(fc_appeal_decide(fx->s, a.id, &v, a.last_seq, T0 + 6 * H, NULL, &err),
                     FC_ECONFLICT);
}

static void test_auto_review_keeps_and_queues(void **state) {
    fixture *fx = *state;
    fc_err err;
    char dec[FC_CASE_ID_MAX];
    /* One call, five minutes at the door: one more call still leaves the
     * rider short of the wait. */
    undeliverable_judged(fx, "O2", "R2", 1, 5, dec);
    fc_appeal_item items[] = {call(T0 + 28 * MIN, "no_answer")};
    fc_appeal_filing f = filing(dec, "R2", items, 1);
    fc_appeal a;
    assert_int_equal(fc_appeal_file(fx->s, fx->pk, &f, T0 + 5 * H, "R2", &a, &err), FC_OK);
    assert_int_equal(a.state, FC_APPEAL_PENDING);
    assert_true(a.auto_reviewed);
    assert_false(a.auto_overturned);
    assert_int_equal(a.decided_at, FC_TS_NONE);
    sums s = ledger_sum(fx, dec, FC_PARTY_RIDER);
    assert_int_equal(s.points, -4);
    assert_int_equal(s.amount, -1000);

    /* It is in the queue. */
    fc_appeal_query q;
    fc_appeal_query_init(&q);
    q.state = FC_APPEAL_PENDING;
    fc_appeal *list = NULL;
    size_t n = 0;
    assert_int_equal(fc_appeal_list(fx->s, &q, T0 + 5 * H, &list, &n, &err), FC_OK);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].id, a.id);
    fc_free(list);

    /* The screen says why auto-review kept it: still the rider's. */
    fc_arena *arena = fc_arena_new(0);
    fc_appeal_case c;
    assert_int_equal(fc_appeal_load(fx->s, a.id, T0 + 5 * H, arena, &c, &err), FC_OK);
    assert_string_equal(c.decision.id, dec);
    assert_int_equal(c.n_items, 1);
    assert_int_equal(c.items[0].kind, FC_APPEAL_ITEM_CALL);
    assert_int_equal(c.items[0].ts, T0 + 28 * MIN);
    assert_string_equal(c.items[0].outcome, "no_answer");
    assert_non_null(strstr(c.statement, "three times"));
    int saw_review = 0;
    for (size_t i = 0; i < c.n_history; i++) {
        if (c.history[i].type == FC_CASE_APPEAL_REVIEWED) {
            saw_review = 1;
            char body[2048];
            fc_str_cpy(body, sizeof body, c.history[i].body);
            assert_non_null(strstr(body, "still rider liable"));
            assert_non_null(strstr(body, "undeliverable.left_too_soon"));
        }
    }
    assert_true(saw_review);
    /* decision + ledger + filing + auto-review */
    assert_int_equal(c.n_history, 4);
    fc_arena_free(arena);
}

/* Does the auto-review entry of appeal `id` (loaded at `now`) say `words`? */
static int auto_review_says(fixture *fx, const char *id, int64_t now, const char *words) {
    fc_err err;
    fc_arena *arena = fc_arena_new(0);
    assert_non_null(arena);
    fc_appeal_case c;
    assert_int_equal(fc_appeal_load(fx->s, id, now, arena, &c, &err), FC_OK);
    int said = 0;
    for (size_t i = 0; i < c.n_history; i++) {
        if (c.history[i].type == FC_CASE_APPEAL_REVIEWED) {
            char body[2048];
            fc_str_cpy(body, sizeof body, c.history[i].body);
            said = strstr(body, words) != NULL;
        }
    }
    fc_arena_free(arena);
    return said;
}

static void test_photo_only_is_for_a_person(void **state) {
    fixture *fx = *state;
    fc_err err;
    char dec[FC_CASE_ID_MAX];
    undeliverable_judged(fx, "O2", "R2", 1, 15, dec);
    fc_appeal_item photo;
    memset(&photo, 0, sizeof photo);
    photo.kind = FC_APPEAL_ITEM_PHOTO;
    photo.text = "IMG-2231";
    photo.ts = T0 + 30 * MIN;
    photo.lat_e6 = photo.lng_e6 = FC_GEO_NONE;
    fc_appeal_filing f = filing(dec, "R2", &photo, 1);
    fc_appeal a;
    assert_int_equal(fc_appeal_file(fx->s, fx->pk, &f, T0 + 5 * H, "R2", &a, &err), FC_OK);
    assert_int_equal(a.state, FC_APPEAL_PENDING);
    assert_true(a.auto_reviewed);
    /* A call after the order closed is not read as part of the procedure. */
    undeliverable_judged(fx, "O3", "R3", 1, 15, dec);
    fc_appeal_item late[] = {call(T0 + 3 * H, "no_answer"), call(T0 + 3 * H + 60, "no_answer")};
    a = file_ok(fx, dec, "R3", late, 2, T0 + 5 * H);
    assert_int_equal(a.state, FC_APPEAL_PENDING);
    /* ... and auto-review says why, with the order's life. */
    assert_true(auto_review_says(fx, a.id, T0 + 5 * H,
                                 "2 call(s) or GPS point(s) fall outside the order's life"));
}

static void test_suspension_never_auto_overturned(void **state) {
    fixture *fx = *state;
    fc_err err;
    char dec[FC_CASE_ID_MAX];
    false_delivery(fx, "O4", "R4");
    judge_order(fx, "O4", dec);
    /* Needs review: nothing took effect yet. */
    assert_int_equal(ledger_sum(fx, dec, FC_PARTY_RIDER).entries, 0);
    /* Two calls would clear the rider under the policy's rules ... */
    fc_appeal_item items[] = {call(T0 + 20 * MIN, "no_answer"), call(T0 + 22 * MIN, "no_answer")};
    fc_appeal_filing f = filing(dec, "R4", items, 2);
    fc_appeal a;
    assert_int_equal(fc_appeal_file(fx->s, fx->pk, &f, T0 + 5 * H, "R4", &a, &err), FC_OK);
    /* ... but a suspension is lifted by a person only. */
    assert_true(a.sanction);
    assert_true(a.auto_reviewed);
    assert_false(a.auto_overturned);
    assert_int_equal(a.state, FC_APPEAL_PENDING);
    assert_true(auto_review_says(fx, a.id, T0 + 5 * H, "suspension"));
}

static void test_policy_version_gone_queues(void **state) {
    fixture *fx = *state;
    fc_err err;
    char dec[FC_CASE_ID_MAX];
    undeliverable_judged(fx, "O1", "R1", 1, 15, dec);
    /* The same policy id, another version: the default pack's base. */
    fc_policy_pack *other = NULL;
    char dir[512];
    snprintf(dir, sizeof dir, "%s/policies", FC_SOURCE_DIR);
    assert_int_equal(fc_policy_pack_load(dir, &other, &err), FC_OK);
    fc_appeal_item items[] = {call(T0 + 28 * MIN, "no_answer"), call(T0 + 31 * MIN, "no_answer")};
    fc_appeal_filing f = filing(dec, "R1", items, 2);
    fc_appeal a;
    assert_int_equal(fc_appeal_file(fx->s, other, &f, T0 + 5 * H, "R1", &a, &err), FC_OK);
    assert_int_equal(a.state, FC_APPEAL_PENDING);
    assert_true(a.auto_reviewed);
    fc_policy_pack_free(other);
    assert_int_equal(ledger_sum(fx, dec, FC_PARTY_RIDER).points, -4);
}

static void test_filing_twice_is_idempotent(void **state) {
    fixture *fx = *state;
    fc_err err;
    char dec[FC_CASE_ID_MAX];
    undeliverable_judged(fx, "O2", "R2", 1, 5, dec);
    fc_appeal_item items[] = {call(T0 + 28 * MIN, "no_answer")};
    fc_appeal_filing f = filing(dec, "R2", items, 1);
    fc_appeal a1, a2;
    assert_int_equal(fc_appeal_file(fx->s, fx->pk, &f, T0 + 5 * H, "R2", &a1, &err), FC_OK);
    f.statement = "Said again, later.";
    assert_int_equal(fc_appeal_file(fx->s, fx->pk, &f, T0 + 7 * H, "R2", &a2, &err), FC_OK);
    assert_string_equal(a1.id, a2.id);
    assert_int_equal(a2.filed_at, T0 + 5 * H);
    assert_int_equal(a2.last_seq, a1.last_seq);
    assert_int_equal(count_type(fx, FC_CASE_APPEAL_FILED), 1);
    assert_int_equal(count_type(fx, FC_CASE_APPEAL_REVIEWED), 1);
}

/* An unanswered call of `rider` on `order` recorded later (at +27 min),
 * then the order judged again: the new decision's id into dec_now. */
static void later_call(fixture *fx, const char *order, const char *rider,
                       char dec_now[FC_CASE_ID_MAX]) {
    order_events later;
    memset(&later, 0, sizeof later);
    snprintf(later.order, sizeof later.order, "%s", order);
    fc_event *c = add(&later, FC_EV_CONTACT_ATTEMPT, T0 + 27 * MIN, rider);
    later.ids[0][0] = 'x'; /* an id of its own */
    c->id = fc_str_c(later.ids[0]);
    c->channel = fc_str_c("call");
    c->outcome = fc_str_c("no_answer");
    char source[64];
    snprintf(source, sizeof source, "%s-later", order);
    int dup = 0;
    fc_err err;
    assert_int_equal(fc_store_begin(fx->s, &err), FC_OK);
    assert_int_equal(
        fc_store_append(fx->s, 1, fc_str_c(source), fc_str_c(order), later.ev, 1, &dup, &err),
        FC_OK);
    assert_int_equal(fc_store_commit(fx->s, NULL, &err), FC_OK);
    judge_order(fx, order, dec_now);
}

static void test_appellant_mismatch_refused(void **state) {
    fixture *fx = *state;
    fc_err err;
    char dec[FC_CASE_ID_MAX];
    undeliverable_judged(fx, "O2", "R2", 1, 5, dec);
    fc_appeal_item items[] = {call(T0 + 28 * MIN, "no_answer")};
    fc_appeal a;
    /* Another rider. */
    fc_appeal_filing f = filing(dec, "R9", items, 1);
    assert_int_equal(fc_appeal_file(fx->s, fx->pk, &f, T0 + 5 * H, "R9", &a, &err), FC_EINVAL);
    assert_non_null(strstr(err.msg, "R9"));
    /* The merchant, whom the decision does not hold liable. */
    f = filing(dec, "M1", items, 1);
    f.appellant = FC_PARTY_MERCHANT;
    assert_int_equal(fc_appeal_file(fx->s, fx->pk, &f, T0 + 5 * H, "M1", &a, &err), FC_EINVAL);
    /* No such decision. */
    f = filing("dec-000000000000000000000000", "R2", items, 1);
    assert_int_equal(fc_appeal_file(fx->s, fx->pk, &f, T0 + 5 * H, "R2", &a, &err), FC_ENOTFOUND);
    /* Malformed: no statement; a call without its outcome (err names it). */
    f = filing(dec, "R2", items, 1);
    f.statement = "";
    assert_int_equal(fc_appeal_file(fx->s, fx->pk, &f, T0 + 5 * H, "R2", &a, &err), FC_EINVAL);
    fc_appeal_item bad[] = {call(T0 + 28 * MIN, "no_answer"), call(T0 + 29 * MIN, "")};
    f = filing(dec, "R2", bad, 2);
    assert_int_equal(fc_appeal_file(fx->s, fx->pk, &f, T0 + 5 * H, "R2", &a, &err), FC_EINVAL);
    assert_non_null(strstr(err.msg, "item 2"));
    assert_int_equal(count_type(fx, FC_CASE_APPEAL_FILED), 0);

    /* A call recorded later changes the facts: the judge run supersedes the
     * decision, and the old one can no longer be appealed. */
    char dec_now[FC_CASE_ID_MAX];
    later_call(fx, "O2", "R2", dec_now);
    assert_string_not_equal(dec_now, dec);
    f = filing(dec, "R2", items, 1);
    assert_int_equal(fc_appeal_file(fx->s, fx->pk, &f, T0 + 5 * H, "R2", &a, &err), FC_EINVAL);
    assert_non_null(strstr(err.msg, "superseded"));
    a = file_ok(fx, dec_now, "R2", items, 1, T0 + 5 * H);
}

/* A pending appeal whose decision the judge superseded is moot: out of the
 * queue, not decidable, not breached. */
static void test_superseded_appeal_is_moot(void **state) {
    fixture *fx = *state;
    fc_err err;
    char dec[FC_CASE_ID_MAX];
    undeliverable_judged(fx, "O2", "R2", 1, 5, dec);
    fc_appeal_item items[] = {call(T0 + 28 * MIN, "no_answer")};
    fc_appeal a = file_ok(fx, dec, "R2", items, 1, T0 + 5 * H);
    assert_int_equal(a.state, FC_APPEAL_PENDING);
    assert_string_equal(a.replaced_by, "");

    char dec_now[FC_CASE_ID_MAX];
    later_call(fx, "O2", "R2", dec_now);
    assert_string_not_equal(dec_now, dec);

    /* Past its deadline, and still not breached: it left the queue. */
    int64_t late = T0 + 5 * H + 48 * H;
    fc_appeal got;
    assert_int_equal(fc_appeal_get(fx->s, a.id, late, &got, &err), FC_OK);
    assert_int_equal(got.state, FC_APPEAL_MOOT);
    assert_string_equal(fc_appeal_state_name(got.state), "moot");
    assert_int_equal(fc_appeal_state_from("moot"), FC_APPEAL_MOOT);
    assert_string_equal(got.replaced_by, dec_now);
    assert_false(got.breached);
    assert_int_equal(got.decided_at, FC_TS_NONE);

    fc_appeal_query q;
    fc_appeal_query_init(&q);
    q.state = FC_APPEAL_PENDING;
    fc_appeal *list = NULL;
    size_t n = 0;
    assert_int_equal(fc_appeal_list(fx->s, &q, late, &list, &n, &err), FC_OK);
    assert_int_equal(n, 0);
    fc_free(list);
    q.state = FC_APPEAL_MOOT;
    assert_int_equal(fc_appeal_list(fx->s, &q, late, &list, &n, &err), FC_OK);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].id, a.id);
    assert_string_equal(list[0].replaced_by, dec_now);
    fc_free(list);

    /* Deciding it is refused, saying why; nothing is written. */
    int64_t filed = count_type(fx, FC_CASE_APPEAL_DECIDED);
    fc_appeal_verdict v = {FC_VERDICT_OVERTURN, "the calls were made", "rev1", 0};
    assert_int_equal(fc_appeal_decide(fx->s, a.id, &v, got.last_seq, late, NULL, &err),
                     FC_ECONFLICT);
    assert_non_null(strstr(err.msg, "moot"));
    assert_non_null(strstr(err.msg, dec_now));
    assert_int_equal(count_type(fx, FC_CASE_APPEAL_DECIDED), filed);

    /* The SLA report counts it as moot, neither pending nor breached. */
    fc_appeal_sla_row *rows = NULL;
    assert_int_equal(fc_appeal_sla(fx->s, FC_TS_NONE, FC_TS_NONE, late, &rows, &n, &err), FC_OK);
    assert_int_equal(n, 1);
    assert_int_equal(rows[0].filed, 1);
    assert_int_equal(rows[0].moot, 1);
    assert_int_equal(rows[0].pending, 0);
    assert_int_equal(rows[0].decided, 0);
    assert_int_equal(rows[0].breached_pending, 0);
    fc_free(rows);

    /* The command line shows it with the decision that replaced it. */
    char *out = NULL;
    const char *show[] = {"appeal", "show", a.id, "--db", fx->db, "--as", "rev1", NULL};
    char *errs = NULL;
    int rc = fc_test_run(fx->dir, show, &out, &errs);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "moot"));
    assert_non_null(strstr(out, dec_now));
    free(out);
    free(errs);
}

static void test_queue_reviews_and_uphold(void **state) {
    fixture *fx = *state;
    fc_err err;
    char dec_far[FC_CASE_ID_MAX], dec_ok[FC_CASE_ID_MAX];
    false_delivery(fx, "O4", "R4");
    judge_order(fx, "O4", dec_far);
    undeliverable(fx, "O1", "R1", 1, 15);
    judge_order(fx, "O1", dec_ok); /* conclusive: not a review */
    size_t added = 0;
    assert_int_equal(fc_appeal_queue_reviews(fx->s, fx->pk, T0 + 3 * H, &added, &err), FC_OK);
    assert_int_equal(added, 1);
    assert_int_equal(fc_appeal_queue_reviews(fx->s, fx->pk, T0 + 4 * H, &added, &err), FC_OK);
    assert_int_equal(added, 0);

    fc_appeal_query q;
    fc_appeal_query_init(&q);
    q.kind = FC_APPEAL_KIND_REVIEW;
    fc_appeal *list = NULL;
    size_t n = 0;
    assert_int_equal(fc_appeal_list(fx->s, &q, T0 + 4 * H, &list, &n, &err), FC_OK);
    assert_int_equal(n, 1);
    fc_appeal item = list[0];
    fc_free(list);
    assert_memory_equal(item.id, "rev-", 4);
    assert_string_equal(item.decision, dec_far);
    assert_int_equal(item.appellant, FC_PARTY_NONE);
    assert_true(item.sanction);
    /* The platform's deadline (72 h), from the decision. */
    assert_int_equal(item.due_at, RECORDED + 72 * H);

    /* A suspension: no share can be kept. */
    fc_appeal_verdict part = {FC_VERDICT_PARTIAL, "half", "rev1", 50};
    assert_int_equal(fc_appeal_decide(fx->s, item.id, &part, item.last_seq, T0 + 5 * H, NULL, &err),
                     FC_EINVAL);
    /* Confirming makes the decision's entries, now in effect. */
    fc_appeal_verdict v = {FC_VERDICT_UPHOLD, "GPS trail shows no stop at the door", "rev1", 0};
    fc_appeal out;
    assert_int_equal(fc_appeal_decide(fx->s, item.id, &v, item.last_seq, T0 + 5 * H, &out, &err),
                     FC_OK);
    assert_int_equal(out.state, FC_APPEAL_UPHELD);
    assert_string_equal(out.decided_by, "rev1");
    sums r = ledger_sum(fx, dec_far, FC_PARTY_RIDER);
    assert_int_equal(r.points, -5);
    sums c = ledger_sum(fx, dec_far, FC_PARTY_CUSTOMER);
    assert_int_equal(c.amount, 1500);
}

static void test_queue_order_by_deadline(void **state) {
    fixture *fx = *state;
    fc_err err;
    char d1[FC_CASE_ID_MAX], d2[FC_CASE_ID_MAX], d3[FC_CASE_ID_MAX], d4[FC_CASE_ID_MAX];
    three_judged(fx, d1, d2, d3);
    false_delivery(fx, "O4", "R4");
    judge_order(fx, "O4", d4);
    fc_appeal a1, a2, a3;
    a1 = file_ok(fx, d1, "R1", NULL, 0, T0 + 10 * H);
    a2 = file_ok(fx, d2, "R2", NULL, 0, T0 + 4 * H);
    a3 = file_ok(fx, d3, "R3", NULL, 0, T0 + 7 * H);
    size_t added = 0;
    assert_int_equal(fc_appeal_queue_reviews(fx->s, fx->pk, T0 + 11 * H, &added, &err), FC_OK);
    assert_int_equal(added, 1);
    /* Decide a3: decided items come after the queue. */
    fc_appeal_verdict v = {FC_VERDICT_UPHOLD, "the wait was too short", "rev1", 0};
    assert_int_equal(fc_appeal_decide(fx->s, a3.id, &v, a3.last_seq, T0 + 12 * H, NULL, &err),
                     FC_OK);

    fc_appeal *list = NULL;
    size_t n = 0;
    assert_int_equal(fc_appeal_list(fx->s, NULL, T0 + 12 * H, &list, &n, &err), FC_OK);
    assert_int_equal(n, 4);
    /* Due: a2 at +28 h, a1 at +34 h, the review at RECORDED + 72 h = +74 h. */
    assert_string_equal(list[0].id, a2.id);
    assert_string_equal(list[1].id, a1.id);
    assert_memory_equal(list[2].id, "rev-", 4);
    assert_string_equal(list[3].id, a3.id);
    for (size_t i = 0; i + 1 < 3; i++) {
        assert_true(list[i].due_at <= list[i + 1].due_at);
    }
    fc_free(list);

    /* Filters: by rider, by state, by kind, and a limit. */
    fc_appeal_query q;
    fc_appeal_query_init(&q);
    q.rider = "R1";
    assert_int_equal(fc_appeal_list(fx->s, &q, T0 + 12 * H, &list, &n, &err), FC_OK);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].id, a1.id);
    fc_free(list);
    fc_appeal_query_init(&q);
    q.state = FC_APPEAL_UPHELD;
    assert_int_equal(fc_appeal_list(fx->s, &q, T0 + 12 * H, &list, &n, &err), FC_OK);
    assert_int_equal(n, 1);
    fc_free(list);
    fc_appeal_query_init(&q);
    q.kind = FC_APPEAL_KIND_APPEAL;
    q.limit = 2;
    assert_int_equal(fc_appeal_list(fx->s, &q, T0 + 12 * H, &list, &n, &err), FC_OK);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].id, a2.id);
    fc_free(list);
}

static void test_sla_breach(void **state) {
    fixture *fx = *state;
    fc_err err;
    char d1[FC_CASE_ID_MAX], d2[FC_CASE_ID_MAX], d3[FC_CASE_ID_MAX];
    three_judged(fx, d1, d2, d3);
    fc_appeal a1, a2, a3;
    a1 = file_ok(fx, d1, "R1", NULL, 0, T0 + 3 * H);
    a2 = file_ok(fx, d2, "R2", NULL, 0, T0 + 3 * H);
    a3 = file_ok(fx, d3, "R3", NULL, 0, T0 + 3 * H);
    /* a1 decided late (26 h after filing, the deadline is 24 h), a3 in time. */
    fc_appeal_verdict v = {FC_VERDICT_OVERTURN, "the customer's phone was off", "rev1", 0};
    fc_appeal out;
    assert_int_equal(fc_appeal_decide(fx->s, a1.id, &v, a1.last_seq, T0 + 29 * H, &out, &err),
                     FC_OK);
    assert_true(out.breached);
    assert_int_equal(out.state, FC_APPEAL_OVERTURNED);
    assert_int_equal(ledger_sum(fx, d1, FC_PARTY_RIDER).points, 0);
    assert_int_equal(fc_appeal_decide(fx->s, a3.id, &v, a3.last_seq, T0 + 4 * H, &out, &err),
                     FC_OK);
    assert_false(out.breached);

    /* Before a2's deadline nothing pending has breached. */
    fc_appeal_query q;
    fc_appeal_query_init(&q);
    q.breached_only = 1;
    q.state = FC_APPEAL_PENDING;
    fc_appeal *list = NULL;
    size_t n = 0;
    assert_int_equal(fc_appeal_list(fx->s, &q, T0 + 20 * H, &list, &n, &err), FC_OK);
    assert_int_equal(n, 0);
    fc_free(list);
    /* After it, a2 is listed. */
    assert_int_equal(fc_appeal_list(fx->s, &q, T0 + 30 * H, &list, &n, &err), FC_OK);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].id, a2.id);
    fc_free(list);

    fc_appeal_sla_row *rows = NULL;
    assert_int_equal(fc_appeal_sla(fx->s, FC_TS_NONE, FC_TS_NONE, T0 + 30 * H, &rows, &n, &err),
                     FC_OK);
    assert_int_equal(n, 1);
    assert_string_equal(rows[0].city, "riyadh");
    assert_string_equal(rows[0].who, "rider");
    assert_int_equal(rows[0].filed, 3);
    assert_int_equal(rows[0].decided, 2);
    assert_int_equal(rows[0].pending, 1);
    assert_int_equal(rows[0].breached_decided, 1);
    assert_int_equal(rows[0].breached_pending, 1);
    assert_int_equal(rows[0].worst_overdue_s, 3 * H); /* due at +27 h, now +30 h */
    /* Filing to verdict: 1 h and 26 h, median 13.5 h. */
    assert_true(rows[0].median_decide_h > 13.49 && rows[0].median_decide_h < 13.51);
    fc_free(rows);
    /* A window without filings has no rows. */
    assert_int_equal(fc_appeal_sla(fx->s, T0 + 40 * H, T0 + 50 * H, T0 + 60 * H, &rows, &n, &err),
                     FC_OK);
    assert_int_equal(n, 0);
    fc_free(rows);
}

static void test_partial_keeps_share(void **state) {
    fixture *fx = *state;
    fc_err err;
    char dec[FC_CASE_ID_MAX];
    undeliverable_judged(fx, "O2", "R2", 1, 5, dec);
    fc_appeal a = file_ok(fx, dec, "R2", NULL, 0, T0 + 3 * H);
    fc_appeal_verdict v = {FC_VERDICT_PARTIAL, "heavy traffic at the door", "rev2", 25};
    v.keep_percent = 0;
    assert_int_equal(fc_appeal_decide(fx->s, a.id, &v, a.last_seq, T0 + 4 * H, NULL, &err),
                     FC_EINVAL);
    v.keep_percent = 25;
    fc_appeal out;
    assert_int_equal(fc_appeal_decide(fx->s, a.id, &v, a.last_seq, T0 + 4 * H, &out, &err), FC_OK);
    assert_int_equal(out.state, FC_APPEAL_PARTIAL);
    assert_int_equal(out.keep_percent, 25);
    sums s = ledger_sum(fx, dec, FC_PARTY_RIDER);
    assert_int_equal(s.points, -1);   /* 25 % of -4 */
    assert_int_equal(s.amount, -250); /* 25 % of -10.00 */
    assert_int_equal(s.entries, 2);
    /* Deciding again is refused. */
    assert_int_equal(fc_appeal_decide(fx->s, a.id, &v, out.last_seq, T0 + 5 * H, NULL, &err),
                     FC_ECONFLICT);
    assert_non_null(strstr(err.msg, "already decided"));
    /* A stale read conflicts. */
    assert_int_equal(fc_appeal_decide(fx->s, a.id, &v, a.last_seq, T0 + 5 * H, NULL, &err),
                     FC_ECONFLICT);
}

/* A decision's review item decided partial keeps a share; the rider's
 * appeal of the same decision overturned afterwards undoes what is left:
 * nothing stays in force. */
static void test_overturn_after_partial_undoes_the_rest(void **state) {
    fixture *fx = *state;
    fc_err err;
    char dec[FC_CASE_ID_MAX];
    undeliverable_judged(fx, "O5", "R5", 0, 5, dec); /* no call: needs a person */
    size_t added = 0;
    assert_int_equal(fc_appeal_queue_reviews(fx->s, fx->pk, T0 + 3 * H, &added, &err), FC_OK);
    assert_int_equal(added, 1);
    fc_appeal_query q;
    fc_appeal_query_init(&q);
    q.kind = FC_APPEAL_KIND_REVIEW;
    fc_appeal *list = NULL;
    size_t n = 0;
    assert_int_equal(fc_appeal_list(fx->s, &q, T0 + 3 * H, &list, &n, &err), FC_OK);
    assert_int_equal(n, 1);
    fc_appeal item = list[0];
    fc_free(list);
    assert_string_equal(item.decision, dec);
    assert_false(item.sanction);

    fc_appeal_verdict half = {FC_VERDICT_PARTIAL, "one call was made from another phone", "rev1",
                              50};
    assert_int_equal(fc_appeal_decide(fx->s, item.id, &half, item.last_seq, T0 + 4 * H, NULL, &err),
                     FC_OK);
    sums s = ledger_sum(fx, dec, FC_PARTY_RIDER);
    assert_int_equal(s.points, -2);   /* 50 % of -4 */
    assert_int_equal(s.amount, -500); /* 50 % of -10.00 */

    fc_appeal a = file_ok(fx, dec, "R5", NULL, 0, T0 + 5 * H);
    assert_int_equal(a.state, FC_APPEAL_PENDING);
    fc_appeal_verdict v = {FC_VERDICT_OVERTURN, "the customer's phone was off", "rev2", 0};
    fc_appeal out;
    assert_int_equal(fc_appeal_decide(fx->s, a.id, &v, a.last_seq, T0 + 6 * H, &out, &err), FC_OK);
    assert_int_equal(out.state, FC_APPEAL_OVERTURNED);
    s = ledger_sum(fx, dec, FC_PARTY_RIDER);
    assert_int_equal(s.points, 0);
    assert_int_equal(s.amount, 0);
    assert_int_equal(s.entries, 3); /* the penalty, the share not kept, the rest */
}

typedef struct decider {
    const char *db;
    const char *id;
    const char *reviewer;
    int64_t expect;
    pthread_barrier_t *go;
    int rc;
} decider;

static void *decide_thread(void *arg) {
    decider *d = arg;
    fc_store *s = NULL;
    fc_err err;
    d->rc = fc_store_open(d->db, &s, &err);
    pthread_barrier_wait(d->go);
    if (d->rc != FC_OK) {
        return NULL;
    }
    fc_appeal_verdict v = {FC_VERDICT_OVERTURN, "the customer gave a wrong address", d->reviewer,
                           0};
    d->rc = fc_appeal_decide(s, d->id, &v, d->expect, T0 + 4 * H, NULL, &err);
    fc_store_close(s);
    return NULL;
}

static void test_concurrent_decide(void **state) {
    fixture *fx = *state;
    for (int round = 0; round < 5; round++) {
        char order[16], rider[16], dec[FC_CASE_ID_MAX];
        snprintf(order, sizeof order, "O%d", 10 + round);
        snprintf(rider, sizeof rider, "R%d", 10 + round);
        undeliverable_judged(fx, order, rider, 1, 5, dec);
        fc_appeal a = file_ok(fx, dec, rider, NULL, 0, T0 + 3 * H);
        pthread_barrier_t go;
        assert_int_equal(pthread_barrier_init(&go, NULL, 2), 0);
        decider x = {fx->db, a.id, "alice", a.last_seq, &go, -99};
        decider y = {fx->db, a.id, "bob", a.last_seq, &go, -99};
        pthread_t tx, ty;
        assert_int_equal(pthread_create(&tx, NULL, decide_thread, &x), 0);
        assert_int_equal(pthread_create(&ty, NULL, decide_thread, &y), 0);
        pthread_join(tx, NULL);
        pthread_join(ty, NULL);
        pthread_barrier_destroy(&go);
        assert_int_equal((x.rc == FC_OK) + (y.rc == FC_OK), 1);
        assert_int_equal((x.rc == FC_ECONFLICT) + (y.rc == FC_ECONFLICT), 1);
        /* One verdict, one reversal. */
        sums s = ledger_sum(fx, dec, FC_PARTY_RIDER);
        assert_int_equal(s.points, 0);
        assert_int_equal(s.entries, 2);
    }
    assert_int_equal(count_type(fx, FC_CASE_APPEAL_DECIDED), 5);
}

static void test_view_recorded(void **state) {
    fixture *fx = *state;
    fc_err err;
    char dec[FC_CASE_ID_MAX];
    undeliverable_judged(fx, "O2", "R2", 1, 5, dec);
    fc_appeal_item items[] = {call(T0 + 28 * MIN, "no_answer")};
    fc_appeal a = file_ok(fx, dec, "R2", items, 1, T0 + 3 * H);
    fc_arena *arena = fc_arena_new(0);
    fc_appeal_case c;
    assert_int_equal(fc_appeal_load(fx->s, a.id, T0 + 4 * H, arena, &c, &err), FC_OK);
    assert_int_equal(fc_appeal_viewed(fx->s, &c, "alice", T0 + 4 * H, &err), FC_OK);
    fc_appeal_case c2;
    assert_int_equal(fc_appeal_load(fx->s, a.id, T0 + 4 * H, arena, &c2, &err), FC_OK);
    int views = 0;
    for (size_t i = 0; i < c2.n_history; i++) {
        if (c2.history[i].type == FC_CASE_APPEAL_VIEWED) {
            views++;
            assert_true(fc_str_eqc(c2.history[i].actor, "alice"));
            char body[2048];
            fc_str_cpy(body, sizeof body, c2.history[i].body);
            assert_non_null(strstr(body, "\"evidence_items\":[{\"item\":1,\"kind\":\"call\"}]"));
            assert_non_null(strstr(body, "contact_attempts"));
        }
    }
    assert_int_equal(views, 1);
    /* A view moves the item's last seq: a verdict read before it conflicts. */
    assert_true(c2.appeal.last_seq > a.last_seq);
    /* fc_appeal_view brings the loaded item up to date: it is what a new
     * load reads, the view last in its history. */
    assert_int_equal(fc_appeal_view(fx->s, &c2, "bob", T0 + 4 * H + 60, arena, &err), FC_OK);
    fc_appeal_case c3;
    assert_int_equal(fc_appeal_load(fx->s, a.id, T0 + 4 * H, arena, &c3, &err), FC_OK);
    assert_int_equal(c2.n_history, c3.n_history);
    assert_int_equal(c2.appeal.last_seq, c3.appeal.last_seq);
    for (size_t i = 0; i < c3.n_history; i++) {
        assert_int_equal(c2.history[i].seq, c3.history[i].seq);
        assert_int_equal(c2.history[i].type, c3.history[i].type);
        assert_true(fc_str_eq(c2.history[i].id, c3.history[i].id));
        assert_true(fc_str_eq(c2.history[i].body, c3.history[i].body));
    }
    assert_true(fc_str_eqc(c2.history[c2.n_history - 1].actor, "bob"));
    assert_string_equal(c2.decision.id, c3.decision.id);
    fc_arena_free(arena);
}

/* ---------------------------------------------------------------------------
 * The CLI, through the real binary.
 */
static int run(const char *const *args, char **out, char **errs) {
    return fc_test_run(NULL, args, out, errs);
}

static void test_cli_round_trip(void **state) {
    fixture *fx = *state;
    char dec[FC_CASE_ID_MAX], dec2[FC_CASE_ID_MAX];
    undeliverable_judged(fx, "O1", "R1", 1, 15, dec);
    undeliverable_judged(fx, "O2", "R2", 1, 5, dec2);
    char *out = NULL, *errs = NULL;

    /* Filed with two calls: auto-review overturns. */
    const char *file1[] = {"appeal",
                           "file",
                           dec,
                           "--as",
                           "rider:R1",
                           "--statement",
                           "I called",
                           "--call",
                           "2026-02-25T06:41:20Z,no_answer,20",
                           "--call",
                           "2026-02-25T06:44:20Z,no_answer",
                           "--db",
                           fx->db,
                           "--policies",
                           fx->policies,
                           "--now",
                           "2026-02-25T12:00:00Z",
                           NULL};
    assert_int_equal(run(file1, &out, &errs), 0);
    assert_non_null(strstr(out, "overturned"));
    assert_non_null(strstr(out, "apl-"));
    free(out);
    free(errs);

    /* The other one joins the queue. */
    const char *file2[] = {
        "appeal",      "file",       dec2,         "--as",  "rider:R2",
        "--statement", "traffic",    "--photo",    "IMG-1", "--db",
        fx->db,        "--policies", fx->policies, "--now", "2026-02-25T12:00:00Z",
        NULL};
    assert_int_equal(run(file2, &out, &errs), 0);
    assert_non_null(strstr(out, "pending"));
    char id[64] = "";
    const char *at = strstr(out, "apl-");
    assert_non_null(at);
    memcpy(id, at, 28);
    id[28] = '\0';
    free(out);
    free(errs);

    /* Someone else's decision. */
    const char *wrong[] = {"appeal", "file", dec2,   "--as",       "rider:R1",   "--statement",
                           "x",      "--db", fx->db, "--policies", fx->policies, NULL};
    assert_int_equal(run(wrong, &out, &errs), 1);
    assert_non_null(strstr(errs, "R1"));
    free(out);
    free(errs);

    const char *list[] = {
        "appeal", "list", "--db", fx->db, "--format", "csv", "--now", "2026-02-25T13:00:00Z", NULL};
    assert_int_equal(run(list, &out, &errs), 0);
    assert_non_null(strstr(out, id));
    assert_null(strstr(out, "overturned")); /* pending only, by default */
    assert_non_null(strstr(out, "23h"));    /* time left */
    free(out);
    free(errs);

    const char *show[] = {
        "appeal", "show", id, "--as", "alice", "--db", fx->db, "--now", "2026-02-25T13:00:00Z",
        NULL};
    assert_int_equal(run(show, &out, &errs), 0);
    assert_non_null(strstr(out, dec2));
    assert_non_null(strstr(out, "undeliverable.too_few_attempts"));
    assert_non_null(strstr(out, "contact_attempts"));
    assert_non_null(strstr(out, "IMG-1"));
    assert_non_null(strstr(out, "traffic"));
    free(out);
    free(errs);

    const char *decide[] = {"appeal",
                            "decide",
                            id,
                            "--partial",
                            "50",
                            "--reason",
                            "half",
                            "--as",
                            "alice",
                            "--db",
                            fx->db,
                            "--now",
                            "2026-02-25T14:00:00Z",
                            NULL};
    assert_int_equal(run(decide, &out, &errs), 0);
    assert_non_null(strstr(out, "partial"));
    free(out);
    free(errs);
    /* Deciding again: refused with a clear message. */
    assert_int_equal(run(decide, &out, &errs), 1);
    assert_non_null(strstr(errs, "already decided"));
    free(out);
    free(errs);

    const char *all[] = {"appeal", "list",     "--state", "all", "--db",
                         fx->db,   "--format", "json",    NULL};
    assert_int_equal(run(all, &out, &errs), 0);
    assert_non_null(strstr(out, "\"overturned\""));
    assert_non_null(strstr(out, "\"partial\""));
    free(out);
    free(errs);

    const char *sla[] = {
        "appeal", "sla", "--db", fx->db, "--format", "csv", "--now", "2026-02-26T14:00:00Z", NULL};
    assert_int_equal(run(sla, &out, &errs), 0);
    assert_non_null(strstr(out, "riyadh,rider,2,2,0,1"));
    free(out);
    free(errs);
    assert_int_equal(ledger_sum(fx, dec2, FC_PARTY_RIDER).points, -2);
}

static void test_cli_evidence_file_and_reviews(void **state) {
    fixture *fx = *state;
    char dec[FC_CASE_ID_MAX], dec_far[FC_CASE_ID_MAX];
    undeliverable_judged(fx, "O1", "R1", 1, 15, dec);
    false_delivery(fx, "O4", "R4");
    judge_order(fx, "O4", dec_far);
    char *out = NULL, *errs = NULL;
    const char *ev = "{\"statement\": \"Two calls, then I waited.\", \"items\": ["
                     "{\"kind\": \"call\", \"ts\": \"2026-02-25T06:41:20Z\", \"outcome\": "
                     "\"no_answer\"},"
                     "{\"kind\": \"call\", \"ts\": \"2026-02-25T06:44:20Z\", \"outcome\": "
                     "\"no_answer\", \"duration_s\": 30},"
                     "{\"kind\": \"gps\", \"ts\": \"2026-02-25T06:45:00Z\", \"lat\": 24.7136, "
                     "\"lng\": 46.6753}]}";
    assert_int_equal(fc_test_write(fx->dir, "ev.json", ev, strlen(ev)), 0);
    assert_int_equal(fc_test_write(fx->dir, "bad.json", "{\"items\": [", 12), 0);
    char ev_path[512], bad_path[512];
    snprintf(ev_path, sizeof ev_path, "%s/ev.json", fx->dir);
    snprintf(bad_path, sizeof bad_path, "%s/bad.json", fx->dir);

    const char *bad[] = {"appeal", "file", dec,    "--as",       "rider:R1",   "--evidence",
                         bad_path, "--db", fx->db, "--policies", fx->policies, NULL};
    assert_int_equal(run(bad, &out, &errs), 2);
    assert_non_null(strstr(errs, "bad.json"));
    free(out);
    free(errs);

    const char *file[] = {
        "appeal", "file", dec,          "--as",       "rider:R1", "--evidence",           ev_path,
        "--db",   fx->db, "--policies", fx->policies, "--now",    "2026-02-25T12:00:00Z", NULL};
    assert_int_equal(run(file, &out, &errs), 0);
    assert_non_null(strstr(out, "overturned by auto-review"));
    assert_non_null(strstr(out, "3 evidence item(s)"));
    free(out);
    free(errs);

    const char *queue[] = {"appeal", "queue-reviews",        "--db",
                           fx->db,   "--policies",           fx->policies,
                           "--now",  "2026-02-25T12:00:00Z", NULL};
    assert_int_equal(run(queue, &out, &errs), 0);
    assert_non_null(strstr(out, "1 decision(s)"));
    free(out);
    free(errs);

    /* The review item's deadline is 72 h after the decision was recorded:
     * overdue two hours later. */
    const char *breached[] = {
        "appeal", "list",  "--breached",           "--kind", "review", "--db", fx->db, "--format",
        "csv",    "--now", "2026-02-28T10:13:20Z", NULL};
    assert_int_equal(run(breached, &out, &errs), 0);
    assert_non_null(strstr(out, "rev-"));
    assert_non_null(strstr(out, "overdue 2h 00m"));
    free(out);
    free(errs);

    const char *usage_err[] = {"appeal", "decide", "rev-x", "--uphold", "--db", fx->db, NULL};
    assert_int_equal(run(usage_err, &out, &errs), 1);
    assert_non_null(strstr(errs, "--reason"));
    free(out);
    free(errs);
}

/* Two processes deciding the same item at once: one verdict, the other told
 * someone acted first; neither fails on a locked database. */
static void test_cli_two_processes_decide(void **state) {
    fixture *fx = *state;
    for (int round = 0; round < 3; round++) {
        char order[16], rider[16], dec[FC_CASE_ID_MAX];
        snprintf(order, sizeof order, "P%d", round);
        snprintf(rider, sizeof rider, "RP%d", round);
        undeliverable_judged(fx, order, rider, 1, 5, dec);
        fc_appeal a = file_ok(fx, dec, rider, NULL, 0, T0 + 3 * H);
        const char *who[2] = {"alice", "bob"};
        pid_t pid[2];
        for (int k = 0; k < 2; k++) {
            pid[k] = fork();
            assert_true(pid[k] >= 0);
            if (pid[k] == 0) {
                const char *args[] = {"appeal",   "decide",        a.id,    "--overturn",
                                      "--reason", "wrong address", "--as",  who[k],
                                      "--db",     fx->db,          "--now", "2026-02-25T12:00:00Z",
                                      NULL};
                char *errs = NULL;
                int rc = fc_test_run(NULL, args, NULL, &errs);
                int locked = errs != NULL && strstr(errs, "locked") != NULL;
                free(errs);
                _exit(locked ? 9 : rc);
            }
        }
        int st[2];
        for (int k = 0; k < 2; k++) {
            assert_int_equal(waitpid(pid[k], &st[k], 0), pid[k]);
            assert_true(WIFEXITED(st[k]));
            st[k] = WEXITSTATUS(st[k]);
        }
        assert_int_equal((st[0] == 0) + (st[1] == 0), 1);
        assert_int_equal((st[0] == 1) + (st[1] == 1), 1);
    }
    assert_int_equal(count_type(fx, FC_CASE_APPEAL_DECIDED), 3);
}

/* The id a filing gets is the one fc_appeal_id names, before and after. */
static void test_appeal_id_names_the_filing(void **state) {
    fixture *fx = *state;
    fc_err err;
    char dec[FC_CASE_ID_MAX], id[FC_CASE_ID_MAX], other[FC_CASE_ID_MAX];
    undeliverable_judged(fx, "O1", "R1", 1, 5, dec);
    fc_appeal_id(dec, FC_PARTY_RIDER, "R1", id);
    assert_memory_equal(id, "apl-", 4);
    assert_int_equal(strlen(id), 28);
    fc_appeal a;
    assert_int_equal(fc_appeal_get(fx->s, id, T0 + 5 * H, &a, &err), FC_ENOTFOUND);
    a = file_ok(fx, dec, "R1", NULL, 0, T0 + 5 * H);
    assert_string_equal(a.id, id);
    fc_appeal_id(dec, FC_PARTY_MERCHANT, "R1", other);
    assert_string_not_equal(other, id);
    fc_appeal_id(dec, FC_PARTY_RIDER, "R2", other);
    assert_string_not_equal(other, id);
}

/* fc_appeal_queue_cmp is the listing's order, and a page's last item
 * resumes the listing after it. */
static void test_queue_cmp_resumes_a_listing(void **state) {
    fixture *fx = *state;
    fc_err err;
    char d1[FC_CASE_ID_MAX], d2[FC_CASE_ID_MAX], d3[FC_CASE_ID_MAX];
    three_judged(fx, d1, d2, d3);
    fc_appeal a3 = file_ok(fx, d3, "R3", NULL, 0, T0 + 7 * H);
    (void)file_ok(fx, d1, "R1", NULL, 0, T0 + 10 * H);
    (void)file_ok(fx, d2, "R2", NULL, 0, T0 + 4 * H);
    fc_appeal_verdict v = {FC_VERDICT_UPHOLD, "the wait was too short", "rev1", 0};
    assert_int_equal(fc_appeal_decide(fx->s, a3.id, &v, a3.last_seq, T0 + 12 * H, NULL, &err),
                     FC_OK);
    fc_appeal *list = NULL;
    size_t n = 0;
    assert_int_equal(fc_appeal_list(fx->s, NULL, T0 + 12 * H, &list, &n, &err), FC_OK);
    assert_int_equal(n, 3);
    for (size_t i = 0; i + 1 < n; i++) {
        assert_true(fc_appeal_queue_cmp(&list[i], &list[i + 1]) < 0);
        assert_true(fc_appeal_queue_cmp(&list[i + 1], &list[i]) > 0);
    }
    assert_int_equal(fc_appeal_queue_cmp(&list[1], &list[1]), 0);
    /* A key made of the sorting fields alone finds the same place. */
    fc_appeal key;
    memset(&key, 0, sizeof key);
    key.state = list[0].state;
    key.due_at = list[0].due_at;
    key.filed_at = list[0].filed_at;
    key.decided_at = list[0].decided_at;
    snprintf(key.id, sizeof key.id, "%s", list[0].id);
    assert_int_equal(fc_appeal_queue_cmp(&key, &list[0]), 0);
    assert_true(fc_appeal_queue_cmp(&key, &list[1]) < 0);
    fc_free(list);
}

/* The judge withdraws the decision of item a at ts (its order no longer has
 * the incident): the withdrawal's id into wdr. */
static void withdraw(fixture *fx, const fc_appeal *a, int64_t ts, char wdr[FC_CASE_ID_MAX]) {
    fc_err err;
    fc_case_withdrawal_id(a->decision, wdr);
    fc_case_entry e;
    memset(&e, 0, sizeof e);
    e.id = fc_str_c(wdr);
    e.type = FC_CASE_DECISION_WITHDRAWN;
    e.ts = ts;
    e.order = fc_str_c(a->order);
    e.decision = fc_str_c(a->decision);
    e.city = fc_str_c(a->city);
    e.rider = fc_str_c(a->rider);
    e.actor = fc_str_c("judge");
    e.body = fc_str_c("{\"reason\":\"the order no longer has the incident\"}");
    assert_int_equal(fc_store_case_append(fx->s, &e, -1, NULL, NULL, &err), FC_OK);
}

/* A pending item whose decision was withdrawn is moot, in a listing (one
 * read of the withdrawals for every item) as when read alone. */
static void test_withdrawn_decision_moot_in_listing(void **state) {
    fixture *fx = *state;
    fc_err err;
    char d1[FC_CASE_ID_MAX], d2[FC_CASE_ID_MAX], d3[FC_CASE_ID_MAX];
    three_judged(fx, d1, d2, d3);
    fc_appeal a1 = file_ok(fx, d1, "R1", NULL, 0, T0 + 5 * H);
    fc_appeal a2 = file_ok(fx, d2, "R2", NULL, 0, T0 + 5 * H);
    assert_int_equal(a1.state, FC_APPEAL_PENDING);
    char wdr[FC_CASE_ID_MAX];
    withdraw(fx, &a1, T0 + 6 * H, wdr);
    fc_appeal *list = NULL;
    size_t n = 0;
    assert_int_equal(fc_appeal_list(fx->s, NULL, T0 + 7 * H, &list, &n, &err), FC_OK);
    assert_int_equal(n, 2);
    /* pending first: a2, then the moot a1 */
    assert_string_equal(list[0].id, a2.id);
    assert_int_equal(list[0].state, FC_APPEAL_PENDING);
    assert_string_equal(list[0].replaced_by, "");
    assert_string_equal(list[1].id, a1.id);
    assert_int_equal(list[1].state, FC_APPEAL_MOOT);
    assert_string_equal(list[1].replaced_by, wdr);
    fc_free(list);
    fc_appeal got;
    assert_int_equal(fc_appeal_get(fx->s, a1.id, T0 + 7 * H, &got, &err), FC_OK);
    assert_int_equal(got.state, FC_APPEAL_MOOT);
    assert_string_equal(got.replaced_by, wdr);
}

/* A listing answers moot-ness for all its items at once: each item is as
 * fc_appeal_get reads it alone (superseded, withdrawn, decided, pending),
 * and decided_only lists the items no longer pending, newest verdict first,
 * then the moot ones. */
static void test_listing_as_items_alone(void **state) {
    fixture *fx = *state;
    fc_err err;
    char d1[FC_CASE_ID_MAX], d2[FC_CASE_ID_MAX], d3[FC_CASE_ID_MAX], d4[FC_CASE_ID_MAX];
    three_judged(fx, d1, d2, d3);
    undeliverable_judged(fx, "O4", "R4", 1, 5, d4);
    fc_appeal a1 = file_ok(fx, d1, "R1", NULL, 0, T0 + 5 * H);
    fc_appeal a2 = file_ok(fx, d2, "R2", NULL, 0, T0 + 5 * H);
    fc_appeal a3 = file_ok(fx, d3, "R3", NULL, 0, T0 + 5 * H);
    fc_appeal a4 = file_ok(fx, d4, "R4", NULL, 0, T0 + 5 * H);
    char wdr[FC_CASE_ID_MAX], d2_now[FC_CASE_ID_MAX];
    withdraw(fx, &a1, T0 + 6 * H, wdr);
    later_call(fx, "O2", "R2", d2_now);
    fc_appeal_verdict v = {FC_VERDICT_UPHOLD, "the wait was short", "rev1", 0};
    assert_int_equal(fc_appeal_decide(fx->s, a3.id, &v, a3.last_seq, T0 + 6 * H, NULL, &err),
                     FC_OK);
    int64_t now = T0 + 9 * H;
    fc_appeal *list = NULL;
    size_t n = 0;
    assert_int_equal(fc_appeal_list(fx->s, NULL, now, &list, &n, &err), FC_OK);
    assert_int_equal(n, 4);
    for (size_t i = 0; i < n; i++) {
        fc_appeal alone;
        assert_int_equal(fc_appeal_get(fx->s, list[i].id, now, &alone, &err), FC_OK);
        assert_int_equal(list[i].state, alone.state);
        assert_string_equal(list[i].replaced_by, alone.replaced_by);
        assert_int_equal(list[i].breached, alone.breached);
        assert_int_equal(list[i].last_seq, alone.last_seq);
    }
    assert_string_equal(list[0].id, a4.id);
    assert_int_equal(list[0].state, FC_APPEAL_PENDING);
    fc_free(list);
    fc_appeal got;
    assert_int_equal(fc_appeal_get(fx->s, a1.id, now, &got, &err), FC_OK);
    assert_string_equal(got.replaced_by, wdr);
    assert_int_equal(fc_appeal_get(fx->s, a2.id, now, &got, &err), FC_OK);
    assert_string_equal(got.replaced_by, d2_now);

    fc_appeal_query q;
    fc_appeal_query_init(&q);
    q.decided_only = 1;
    assert_int_equal(fc_appeal_list(fx->s, &q, now, &list, &n, &err), FC_OK);
    assert_int_equal(n, 3);
    assert_string_equal(list[0].id, a3.id);
    assert_int_equal(list[0].state, FC_APPEAL_UPHELD);
    assert_int_equal(list[1].state, FC_APPEAL_MOOT);
    assert_int_equal(list[2].state, FC_APPEAL_MOOT);
    assert_true(strcmp(list[1].id, list[2].id) < 0);
    fc_free(list);
}

typedef struct ids_seen {
    char ids[8][FC_CASE_ID_MAX];
    size_t n;
} ids_seen;

static int see_decision(void *ud, const fc_case_decision *d) {
    ids_seen *v = ud;
    assert_true(v->n < 8);
    snprintf(v->ids[v->n++], FC_CASE_ID_MAX, "%s", d->id);
    return 0;
}

/* fc_adj_decisions hands over the decisions in force only, oldest first: a
 * superseded one and a withdrawn one are left out. */
static void test_decisions_in_force(void **state) {
    fixture *fx = *state;
    fc_err err;
    char d1[FC_CASE_ID_MAX], d2[FC_CASE_ID_MAX], d3[FC_CASE_ID_MAX], d2_now[FC_CASE_ID_MAX];
    three_judged(fx, d1, d2, d3);
    ids_seen v = {0};
    assert_int_equal(fc_adj_decisions(fx->s, NULL, see_decision, &v, &err), FC_OK);
    assert_int_equal(v.n, 3);
    fc_appeal a1 = file_ok(fx, d1, "R1", NULL, 0, T0 + 5 * H);
    char wdr[FC_CASE_ID_MAX];
    withdraw(fx, &a1, T0 + 6 * H, wdr);
    later_call(fx, "O2", "R2", d2_now);
    memset(&v, 0, sizeof v);
    assert_int_equal(fc_adj_decisions(fx->s, NULL, see_decision, &v, &err), FC_OK);
    assert_int_equal(v.n, 2);
    assert_string_equal(v.ids[0], d3);
    assert_string_equal(v.ids[1], d2_now);
    /* The same through a city and a period that hold them. */
    fc_adj_opts o;
    fc_adj_opts_init(&o);
    o.city = a1.city;
    o.from = T0 - H;
    o.to = T0 + H;
    memset(&v, 0, sizeof v);
    assert_int_equal(fc_adj_decisions(fx->s, &o, see_decision, &v, &err), FC_OK);
    assert_int_equal(v.n, 2);
    assert_string_equal(v.ids[0], d3);
    o.to = T0 - 1;
    memset(&v, 0, sizeof v);
    assert_int_equal(fc_adj_decisions(fx->s, &o, see_decision, &v, &err), FC_OK);
    assert_int_equal(v.n, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_auto_review_overturns_on_call_log, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auto_review_keeps_and_queues, setup, teardown),
        cmocka_unit_test_setup_teardown(test_photo_only_is_for_a_person, setup, teardown),
        cmocka_unit_test_setup_teardown(test_suspension_never_auto_overturned, setup, teardown),
        cmocka_unit_test_setup_teardown(test_policy_version_gone_queues, setup, teardown),
        cmocka_unit_test_setup_teardown(test_filing_twice_is_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_appellant_mismatch_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_superseded_appeal_is_moot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_reviews_and_uphold, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_order_by_deadline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sla_breach, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partial_keeps_share, setup, teardown),
        cmocka_unit_test_setup_teardown(test_overturn_after_partial_undoes_the_rest, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_decide, setup, teardown),
        cmocka_unit_test_setup_teardown(test_view_recorded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_evidence_file_and_reviews, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_two_processes_decide, setup, teardown),
        cmocka_unit_test_setup_teardown(test_appeal_id_names_the_filing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_cmp_resumes_a_listing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_withdrawn_decision_moot_in_listing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_listing_as_items_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decisions_in_force, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
