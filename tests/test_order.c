/*
 * The order fold, incident detection and the settings file, on fixtures
 * whose facts were computed by hand (the comments show the arithmetic).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "order/order.h"

/* 2026-03-02T16:00:00Z; its UTC day is 20514. */
#define T0     1772467200LL
#define T0_DAY 20514
#define MIN    60

/* The door: a point in Riyadh. */
#define DOOR_LAT 24713600
#define DOOR_LNG 46675300

#define MAX_EV 128

typedef struct fixture {
    fc_event ev[MAX_EV];
    size_t n;
} fixture;

static fc_event *add(fixture *fx, fc_event_type type, int64_t at, const char *id) {
    assert_true(fx->n < MAX_EV);
    fc_event *e = &fx->ev[fx->n++];
    fc_event_init(e);
    e->type = type;
    e->ts = at;
    e->id = fc_str_c(id);
    e->order = fc_str_c("o1");
    return e;
}

static fc_event *add_rider(fixture *fx, fc_event_type type, int64_t at, const char *id,
                           const char *rider) {
    fc_event *e = add(fx, type, at, id);
    e->rider = fc_str_c(rider);
    return e;
}

static fc_event *add_created(fixture *fx, int64_t at) {
    fc_event *e = add(fx, FC_EV_ORDER_CREATED, at, "o1:order_created");
    e->city = fc_str_c("riyadh");
    e->zone = fc_str_c("olaya");
    e->merchant = fc_str_c("m1");
    e->customer = fc_str_c("c1");
    e->category = fc_str_c("food");
    e->promised_at = at + 30 * MIN;
    e->est_ready_at = at + 12 * MIN;
    e->distance_m = 2400;
    e->amount_minor = 4250;
    e->currency = fc_str_c("SAR");
    e->prebook = 0;
    e->customer_lat_e6 = DOOR_LAT;
    e->customer_lng_e6 = DOOR_LNG;
    e->merchant_lat_e6 = DOOR_LAT + 20000;
    e->merchant_lng_e6 = DOOR_LNG;
    return e;
}

/* The normal order: every step once, on time.
 *   created            T0
 *   pushed             T0 + 30 s
 *   accepted (r1)      T0 + 1 min
 *   arrived merchant   T0 + 10 min
 *   ready              T0 + 13 min   (estimated T0 + 12 min)
 *   picked up          T0 + 15 min
 *   arrived customer   T0 + 25 min
 *   delivered          T0 + 27 min   (promised T0 + 30 min), at the door
 */
static void normal_order(fixture *fx) {
    memset(fx, 0, sizeof *fx);
    add_created(fx, T0);
    add_rider(fx, FC_EV_ORDER_PUSHED, T0 + 30, "o1:order_pushed", "r1");
    add_rider(fx, FC_EV_ORDER_ACCEPTED, T0 + 1 * MIN, "o1:order_accepted", "r1");
    add_rider(fx, FC_EV_RIDER_ARRIVED_MERCHANT, T0 + 10 * MIN, "o1:rider_arrived_merchant", "r1");
    add(fx, FC_EV_ORDER_READY, T0 + 13 * MIN, "o1:order_ready");
    add_rider(fx, FC_EV_ORDER_PICKED_UP, T0 + 15 * MIN, "o1:order_picked_up", "r1");
    add_rider(fx, FC_EV_RIDER_ARRIVED_CUSTOMER, T0 + 25 * MIN, "o1:rider_arrived_customer", "r1");
    fc_event *d = add_rider(fx, FC_EV_ORDER_DELIVERED, T0 + 27 * MIN, "o1:order_delivered", "r1");
    d->lat_e6 = DOOR_LAT;
    d->lng_e6 = DOOR_LNG;
    d->cost_minor = 900;
}

static const fc_thresholds th = {
    .grace_s = 5 * MIN,
    .severe_late_s = 20 * MIN,
    .bad_rating_max = 2,
    .far_delivery_m = 300,
    .prep_overrun_s = 5 * MIN,
    .weather_severe = 2,
};

static fc_order_facts fold_ctx(const fixture *fx, const fc_fold_ctx *ctx) {
    uint32_t scratch[MAX_EV];
    fc_order_facts f;
    assert_int_equal(fc_order_fold(fx->ev, fx->n, ctx, scratch, &f), FC_OK);
    return f;
}

static fc_order_facts fold(const fixture *fx) {
    fc_fold_ctx ctx = {.thresholds = &th, .rider_start_date = INT32_MIN};
    return fold_ctx(fx, &ctx);
}

static int str_is(fc_str s, const char *c) {
    return fc_str_eqc(s, c);
}

/* Field-by-field equality (string views by content). */
static void assert_facts_equal(const fc_order_facts *a, const fc_order_facts *b) {
    assert_true(fc_str_eq(a->order, b->order));
    assert_true(fc_str_eq(a->city, b->city));
    assert_true(fc_str_eq(a->zone, b->zone));
    assert_true(fc_str_eq(a->merchant, b->merchant));
    assert_true(fc_str_eq(a->customer, b->customer));
    assert_true(fc_str_eq(a->rider, b->rider));
    assert_true(fc_str_eq(a->category, b->category));
    assert_true(fc_str_eq(a->currency, b->currency));
    assert_int_equal(a->status, b->status);
    const int64_t ia[] = {a->created_at,
                          a->pushed_at,
                          a->accepted_at,
                          a->arrived_merchant_at,
                          a->ready_at,
                          a->picked_up_at,
                          a->arrived_customer_at,
                          a->delivered_at,
                          a->cancelled_at,
                          a->undeliverable_at,
                          a->promised_at,
                          a->est_ready_at,
                          a->dispatch_s,
                          a->to_merchant_s,
                          a->wait_at_merchant_s,
                          a->to_customer_s,
                          a->handover_s,
                          a->delivery_s,
                          a->lateness_s,
                          a->prep_overrun_s,
                          a->wait_past_ready_s,
                          a->distance_m,
                          a->delivered_far_m,
                          a->pushes,
                          a->refusals,
                          a->reassignments,
                          a->contact_attempts,
                          a->contacts_reached,
                          a->complaints,
                          a->cs_contacts,
                          a->complaint_mask,
                          a->rating,
                          a->survey,
                          a->cancelled_by,
                          a->compensation_minor,
                          a->order_value_minor,
                          a->delivery_cost_minor,
                          a->weather_severity,
                          a->prebook,
                          a->rider_tenure_days,
                          a->incidents,
                          a->n_events,
                          a->n_duplicates,
                          a->last_accepted_at,
                          a->closed_at,
                          a->door_gps_m};
    const int64_t ib[] = {b->created_at,
                          b->pushed_at,
                          b->accepted_at,
                          b->arrived_merchant_at,
                          b->ready_at,
                          b->picked_up_at,
                          b->arrived_customer_at,
                          b->delivered_at,
                          b->cancelled_at,
                          b->undeliverable_at,
                          b->promised_at,
                          b->est_ready_at,
                          b->dispatch_s,
                          b->to_merchant_s,
                          b->wait_at_merchant_s,
                          b->to_customer_s,
                          b->handover_s,
                          b->delivery_s,
                          b->lateness_s,
                          b->prep_overrun_s,
                          b->wait_past_ready_s,
                          b->distance_m,
                          b->delivered_far_m,
                          b->pushes,
                          b->refusals,
                          b->reassignments,
                          b->contact_attempts,
                          b->contacts_reached,
                          b->complaints,
                          b->cs_contacts,
                          b->complaint_mask,
                          b->rating,
                          b->survey,
                          b->cancelled_by,
                          b->compensation_minor,
                          b->order_value_minor,
                          b->delivery_cost_minor,
                          b->weather_severity,
                          b->prebook,
                          b->rider_tenure_days,
                          b->incidents,
                          b->n_events,
                          b->n_duplicates,
                          b->last_accepted_at,
                          b->closed_at,
                          b->door_gps_m};
    for (size_t i = 0; i < sizeof ia / sizeof ia[0]; i++) {
        if (ia[i] != ib[i]) {
            fail_msg("fact #%zu differs: %lld vs %lld", i, (long long)ia[i], (long long)ib[i]);
        }
    }
}

/* A small deterministic generator for shuffles (xorshift). */
static uint64_t rng_next(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void shuffle(fixture *fx, uint64_t *seed) {
    for (size_t i = fx->n; i > 1; i--) {
        size_t j = (size_t)(rng_next(seed) % i);
        fc_event t = fx->ev[i - 1];
        fx->ev[i - 1] = fx->ev[j];
        fx->ev[j] = t;
    }
}

/* `rounds` shuffles of base's events, each folded to facts equal to ref. */
static void assert_shuffles_fold_equal(const fixture *base, const fc_order_facts *ref,
                                       uint64_t seed, int rounds) {
    for (int round = 0; round < rounds; round++) {
        fixture fx = *base;
        shuffle(&fx, &seed);
        fc_order_facts f = fold(&fx);
        assert_facts_equal(ref, &f);
    }
}

/* ------------------------------------------------------------------------- */

static void test_normal_order_every_leg(void **state) {
    (void)state;
    fixture fx;
    normal_order(&fx);
    fc_fold_ctx ctx = {.thresholds = &th, .rider_start_date = T0_DAY - 400};
    fc_order_facts f = fold_ctx(&fx, &ctx);

    assert_true(str_is(f.order, "o1"));
    assert_true(str_is(f.city, "riyadh"));
    assert_true(str_is(f.zone, "olaya"));
    assert_true(str_is(f.merchant, "m1"));
    assert_true(str_is(f.customer, "c1"));
    assert_true(str_is(f.rider, "r1"));
    assert_true(str_is(f.category, "food"));
    assert_true(str_is(f.currency, "SAR"));
    assert_int_equal(f.status, FC_ORDER_DELIVERED);
    assert_string_equal(fc_order_status_name(f.status), "delivered");

    assert_int_equal(f.created_at, T0);
    assert_int_equal(f.pushed_at, T0 + 30);
    assert_int_equal(f.accepted_at, T0 + 60);
    assert_int_equal(f.last_accepted_at, T0 + 60);
    assert_int_equal(f.arrived_merchant_at, T0 + 600);
    assert_int_equal(f.ready_at, T0 + 780);
    assert_int_equal(f.picked_up_at, T0 + 900);
    assert_int_equal(f.arrived_customer_at, T0 + 1500);
    assert_int_equal(f.delivered_at, T0 + 1620);
    assert_int_equal(f.closed_at, T0 + 1620);
    assert_int_equal(f.cancelled_at, FC_TS_NONE);
    assert_int_equal(f.undeliverable_at, FC_TS_NONE);
    assert_int_equal(f.promised_at, T0 + 1800);
    assert_int_equal(f.est_ready_at, T0 + 720);

    assert_int_equal(f.dispatch_s, 60);          /* 1 min - 0 */
    assert_int_equal(f.to_merchant_s, 540);      /* 10 min - 1 min */
    assert_int_equal(f.wait_at_merchant_s, 300); /* 15 min - 10 min */
    assert_int_equal(f.to_customer_s, 600);      /* 25 min - 15 min */
    assert_int_equal(f.handover_s, 120);         /* 27 min - 25 min */
    assert_int_equal(f.delivery_s, 1620);        /* 27 min */
    assert_int_equal(f.lateness_s, -180);        /* 27 min - 30 min */
    assert_int_equal(f.prep_overrun_s, 60);      /* 13 min - 12 min */
    assert_int_equal(f.wait_past_ready_s, 180);  /* 15 min - max(10, 12) min */
    assert_int_equal(f.distance_m, 2400);
    assert_int_equal(f.delivered_far_m, 0); /* at the door */

    assert_int_equal(f.pushes, 1);
    assert_int_equal(f.refusals, 0);
    assert_int_equal(f.reassignments, 0);
    assert_int_equal(f.contact_attempts, 0);
    assert_int_equal(f.complaints, 0);
    assert_int_equal(f.complaint_mask, 0);
    assert_int_equal(f.rating, FC_INT_NONE);
    assert_int_equal(f.survey, FC_INT_NONE);
    assert_int_equal(f.cancelled_by, FC_PARTY_NONE);
    assert_int_equal(f.compensation_minor, 0);
    assert_int_equal(f.order_value_minor, 4250);
    assert_int_equal(f.delivery_cost_minor, 900);
    assert_int_equal(f.weather_severity, 0);
    assert_int_equal(f.prebook, 0);
    assert_int_equal(f.rider_tenure_days, 400);
    assert_int_equal(f.incidents, 0);
    assert_int_equal(f.n_events, 8);
    assert_int_equal(f.n_duplicates, 0);
}

/* Extra events that make the permutation test cover every rule that
 * depends on order: two readies, refusal, reassignment, two ratings,
 * complaints, contact attempts, a duplicate and an id repeated with
 * different content. */
static void busy_order(fixture *fx) {
    normal_order(fx);
    add(fx, FC_EV_ORDER_READY, T0 + 14 * MIN, "o1:order_ready:2");
    add_rider(fx, FC_EV_ORDER_PUSHED, T0 + 20, "o1:push0", "r0");
    add_rider(fx, FC_EV_ORDER_REFUSED, T0 + 25, "o1:refuse0", "r0");
    add(fx, FC_EV_ORDER_REASSIGNED, T0 + 2 * MIN, "o1:reassigned");
    add_rider(fx, FC_EV_ORDER_ACCEPTED, T0 + 3 * MIN, "o1:accept2", "r2");
    add_rider(fx, FC_EV_RIDER_ARRIVED_MERCHANT, T0 + 11 * MIN, "o1:arrive2", "r2");
    fc_event *c = add_rider(fx, FC_EV_CONTACT_ATTEMPT, T0 + 26 * MIN, "o1:call1", "r2");
    c->outcome = fc_str_c("no_answer");
    c = add_rider(fx, FC_EV_CONTACT_ATTEMPT, T0 + 26 * MIN + 30, "o1:call2", "r2");
    c->outcome = fc_str_c("reached");
    fc_event *r = add(fx, FC_EV_RATING, T0 + 40 * MIN, "o1:rating1");
    r->score = 1;
    r = add(fx, FC_EV_RATING, T0 + 50 * MIN, "o1:rating2");
    r->score = 4;
    fc_event *k = add(fx, FC_EV_COMPLAINT, T0 + 41 * MIN, "o1:complaint1");
    k->category = fc_str_c("missing_item");
    k = add(fx, FC_EV_COMPLAINT, T0 + 41 * MIN, "o1:complaint2");
    k->category = fc_str_c("damaged");
    /* an exact duplicate and an id reused with another instant */
    fx->ev[fx->n] = fx->ev[1];
    fx->n++;
    k = add(fx, FC_EV_COMPLAINT, T0 + 45 * MIN, "o1:complaint1");
    k->category = fc_str_c("late");
}

static void test_permutations_give_identical_facts(void **state) {
    (void)state;
    fixture base;
    busy_order(&base);
    fc_order_facts ref = fold(&base);
    /* Sanity of the busy order itself, so the comparison is meaningful. */
    assert_int_equal(ref.n_duplicates, 2);
    assert_int_equal(ref.complaints, 2); /* the reused id counts once */
    assert_int_equal(ref.complaint_mask,
                     (1u << FC_COMPLAINT_MISSING_ITEM) | (1u << FC_COMPLAINT_DAMAGED));
    assert_true(str_is(ref.rider, "r2"));

    assert_shuffles_fold_equal(&base, &ref, 0x9e3779b97f4a7c15ULL, 500);
    /* Reversed input order too. */
    fixture rev = base;
    for (size_t i = 0; i < rev.n / 2; i++) {
        fc_event t = rev.ev[i];
        rev.ev[i] = rev.ev[rev.n - 1 - i];
        rev.ev[rev.n - 1 - i] = t;
    }
    fc_order_facts f = fold(&rev);
    assert_facts_equal(&ref, &f);
}

/* More than 32 events take the large path (heap sorts); it must agree with
 * the small path on everything but the event count. */
static void test_large_order_matches_small_path(void **state) {
    (void)state;
    /* The rider's trail: a point every 37 s, drawing nearer the door. The
     * small order holds the three around the pickup (T0 + 15 min, the
     * window's start), the big one all 40. */
    static char ids[40][24];
    fixture small;
    busy_order(&small);
    fixture big = small;
    for (int i = 0; i < 40; i++) {
        snprintf(ids[i], sizeof ids[i], "o1:gps:%02d", i);
        fc_event *g = add_rider(&big, FC_EV_GPS, T0 + i * 37, ids[i], "r2");
        g->lat_e6 = DOOR_LAT + i;
        g->lng_e6 = DOOR_LNG;
        if (i >= 24 && i <= 26) {
            small.ev[small.n++] = *g;
        }
    }
    assert_true(small.n <= 32);
    fc_order_facts ref = fold(&small);
    /* Point 24 (T0 + 888 s) is before the pickup; point 25 (T0 + 925 s) is
     * the nearest in the window: 25e-6 degrees, 2.8 m. */
    assert_int_equal(ref.door_gps_m, 3);
    /* and repeat a few of them */
    for (int i = 0; i < 3; i++) {
        big.ev[big.n] = big.ev[big.n - 1 - (size_t)i * 5];
        big.n++;
    }
    assert_true(big.n > 32);
    uint64_t seed = 42;
    for (int round = 0; round < 50; round++) {
        fixture fx = big;
        shuffle(&fx, &seed);
        fc_order_facts f = fold(&fx);
        assert_int_equal(f.n_events, ref.n_events + 37);
        assert_int_equal(f.n_duplicates, ref.n_duplicates + 3);
        f.n_events = ref.n_events;
        f.n_duplicates = ref.n_duplicates;
        assert_facts_equal(&ref, &f);
    }
}

static void test_duplicate_events_ignored(void **state) {
    (void)state;
    fixture fx;
    normal_order(&fx);
    fc_event *k = add(&fx, FC_EV_COMPLAINT, T0 + 40 * MIN, "o1:complaint");
    k->category = fc_str_c("wrong_item");
    fc_event *c = add(&fx, FC_EV_COMPENSATION, T0 + 42 * MIN, "o1:comp");
    c->amount_minor = 1500;
    size_t n = fx.n;
    for (size_t i = 0; i < n; i++) {
        fx.ev[fx.n++] = fx.ev[i]; /* everything twice */
    }
    fx.ev[fx.n++] = fx.ev[n - 1]; /* the compensation a third time */
    fc_order_facts f = fold(&fx);
    assert_int_equal(f.n_events, n);
    assert_int_equal(f.n_duplicates, n + 1);
    assert_int_equal(f.pushes, 1);
    assert_int_equal(f.complaints, 1);
    assert_int_equal(f.compensation_minor, 1500);
    assert_int_equal(f.delivery_s, 1620);

    /* Same id, different instants: the earlier event is the one kept. */
    fixture fx2;
    normal_order(&fx2);
    add_rider(&fx2, FC_EV_ORDER_PICKED_UP, T0 + 14 * MIN, "o1:order_picked_up", "r1");
    fc_order_facts g = fold(&fx2);
    assert_int_equal(g.n_duplicates, 1);
    assert_int_equal(g.picked_up_at, T0 + 14 * MIN);
    assert_int_equal(g.wait_at_merchant_s, 4 * MIN);
}

static void test_missing_steps(void **state) {
    (void)state;
    /* No arrival at the merchant, no arrival at the customer, no push. */
    fixture fx = {0};
    add_created(&fx, T0);
    add_rider(&fx, FC_EV_ORDER_ACCEPTED, T0 + 2 * MIN, "a", "r1");
    add_rider(&fx, FC_EV_ORDER_PICKED_UP, T0 + 14 * MIN, "p", "r1");
    add_rider(&fx, FC_EV_ORDER_DELIVERED, T0 + 29 * MIN, "d", "r1");
    fc_order_facts f = fold(&fx);
    assert_int_equal(f.status, FC_ORDER_DELIVERED);
    assert_int_equal(f.pushed_at, FC_TS_NONE);
    assert_int_equal(f.pushes, 0);
    assert_int_equal(f.arrived_merchant_at, FC_TS_NONE);
    assert_int_equal(f.dispatch_s, 120);
    assert_int_equal(f.to_merchant_s, FC_DUR_NONE);
    assert_int_equal(f.wait_at_merchant_s, FC_DUR_NONE);
    assert_int_equal(f.wait_past_ready_s, FC_DUR_NONE);
    assert_int_equal(f.to_customer_s, 15 * MIN); /* pickup -> delivered without arrival */
    assert_int_equal(f.handover_s, FC_DUR_NONE);
    assert_int_equal(f.delivery_s, 29 * MIN);
    assert_int_equal(f.ready_at, FC_TS_NONE);
    assert_int_equal(f.prep_overrun_s, FC_DUR_NONE);
    assert_int_equal(f.delivered_far_m, FC_INT_NONE); /* no delivered point */
    assert_int_equal(f.delivery_cost_minor, FC_MONEY_NONE);

    /* An open order past its promise is not late: it is not delivered. */
    fixture open = {0};
    add_created(&open, T0);
    add_rider(&open, FC_EV_ORDER_ACCEPTED, T0 + 2 * MIN, "a", "r1");
    add_rider(&open, FC_EV_ORDER_PICKED_UP, T0 + 80 * MIN, "p", "r1");
    f = fold(&open);
    assert_int_equal(f.status, FC_ORDER_OPEN);
    assert_int_equal(f.closed_at, FC_TS_NONE);
    assert_int_equal(f.lateness_s, FC_DUR_NONE);
    assert_int_equal(f.incidents, 0);

    /* No creation event: instants are kept, legs from creation absent, the
     * city comes from any event that names one. */
    fixture nocreate = {0};
    fc_event *a = add_rider(&nocreate, FC_EV_ORDER_ACCEPTED, T0 + 2 * MIN, "a", "r1");
    a->city = fc_str_c("dubai");
    add_rider(&nocreate, FC_EV_ORDER_DELIVERED, T0 + 30 * MIN, "d", "r1");
    f = fold(&nocreate);
    assert_int_equal(f.created_at, FC_TS_NONE);
    assert_int_equal(f.dispatch_s, FC_DUR_NONE);
    assert_int_equal(f.delivery_s, FC_DUR_NONE);
    assert_int_equal(f.lateness_s, FC_DUR_NONE);
    assert_true(str_is(f.city, "dubai"));

    /* No events at all: empty facts. */
    uint32_t scratch[1];
    assert_int_equal(fc_order_fold(NULL, 0, NULL, scratch, &f), FC_OK);
    assert_int_equal(f.status, FC_ORDER_OPEN);
    assert_int_equal(f.n_events, 0);
    assert_int_equal(f.created_at, FC_TS_NONE);
}

static void test_reversed_timestamps_leave_legs_absent(void **state) {
    (void)state;
    /* Pickup logged before the arrival at the merchant, delivery before the
     * arrival at the customer, acceptance before creation. */
    fixture fx = {0};
    add_created(&fx, T0);
    add_rider(&fx, FC_EV_ORDER_ACCEPTED, T0 - 30, "a", "r1");
    add_rider(&fx, FC_EV_RIDER_ARRIVED_MERCHANT, T0 + 12 * MIN, "am", "r1");
    add_rider(&fx, FC_EV_ORDER_PICKED_UP, T0 + 11 * MIN, "p", "r1");
    add_rider(&fx, FC_EV_RIDER_ARRIVED_CUSTOMER, T0 + 26 * MIN, "ac", "r1");
    add_rider(&fx, FC_EV_ORDER_DELIVERED, T0 + 25 * MIN, "d", "r1");
    fc_order_facts f = fold(&fx);
    assert_int_equal(f.dispatch_s, FC_DUR_NONE);
    /* the arrival came after the pickup; it is still the arrival at the
     * merchant, and the to-merchant leg from the acceptance is valid */
    assert_int_equal(f.arrived_merchant_at, T0 + 12 * MIN);
    assert_int_equal(f.to_merchant_s, 12 * MIN + 30);
    assert_int_equal(f.wait_at_merchant_s, FC_DUR_NONE);
    assert_int_equal(f.wait_past_ready_s, FC_DUR_NONE);
    assert_int_equal(f.to_customer_s, 15 * MIN);
    assert_int_equal(f.handover_s, FC_DUR_NONE);
    assert_int_equal(f.delivery_s, 25 * MIN);
    assert_int_equal(f.lateness_s, -5 * MIN);
    int32_t legs[] = {f.dispatch_s,    f.to_merchant_s, f.wait_at_merchant_s,
                      f.to_customer_s, f.handover_s,    f.delivery_s};
    for (size_t i = 0; i < 6; i++) {
        assert_true(legs[i] == FC_DUR_NONE || legs[i] >= 0);
    }
}

static void test_refusals_and_reassignments(void **state) {
    (void)state;
    /* Pushed to r0 who refuses, pushed to r1 who accepts, the platform
     * reassigns to r2 (order_reassigned + r2's acceptance: one reassignment),
     * then r3 accepts without an order_reassigned event (a second one), then
     * r3 accepts again (same rider: not a reassignment). */
    fixture fx = {0};
    add_created(&fx, T0);
    add_rider(&fx, FC_EV_ORDER_PUSHED, T0 + 10, "push0", "r0");
    add_rider(&fx, FC_EV_ORDER_REFUSED, T0 + 20, "refuse0", "r0");
    add_rider(&fx, FC_EV_ORDER_PUSHED, T0 + 30, "push1", "r1");
    add_rider(&fx, FC_EV_ORDER_ACCEPTED, T0 + 40, "accept1", "r1");
    add_rider(&fx, FC_EV_RIDER_ARRIVED_MERCHANT, T0 + 5 * MIN, "arrive1", "r1");
    add(&fx, FC_EV_ORDER_REASSIGNED, T0 + 6 * MIN, "reassign");
    add_rider(&fx, FC_EV_ORDER_ACCEPTED, T0 + 7 * MIN, "accept2", "r2");
    add_rider(&fx, FC_EV_ORDER_ACCEPTED, T0 + 8 * MIN, "accept3", "r3");
    add_rider(&fx, FC_EV_ORDER_ACCEPTED, T0 + 9 * MIN, "accept3b", "r3");
    add_rider(&fx, FC_EV_RIDER_ARRIVED_MERCHANT, T0 + 16 * MIN, "arrive3", "r3");
    add_rider(&fx, FC_EV_ORDER_PICKED_UP, T0 + 18 * MIN, "p", "r3");
    add_rider(&fx, FC_EV_ORDER_DELIVERED, T0 + 33 * MIN, "d", "r3");
    fc_order_facts f = fold(&fx);
    assert_int_equal(f.pushes, 2);
    assert_int_equal(f.refusals, 1);
    assert_int_equal(f.reassignments, 2);
    assert_true(str_is(f.rider, "r3"));
    assert_int_equal(f.accepted_at, T0 + 40);           /* first acceptance */
    assert_int_equal(f.last_accepted_at, T0 + 9 * MIN); /* last before pickup */
    assert_int_equal(f.dispatch_s, 40);
    assert_int_equal(f.arrived_merchant_at, T0 + 16 * MIN); /* r3's arrival, not r1's */
    assert_int_equal(f.to_merchant_s, 7 * MIN);
    assert_int_equal(f.wait_at_merchant_s, 2 * MIN);
    /* delivered 3 min late: within grace */
    assert_int_equal(f.lateness_s, 3 * MIN);
    assert_int_equal(f.incidents, 0);

    /* The rider of a pickup when no acceptance names one. */
    fixture fx2 = {0};
    add_created(&fx2, T0);
    add(&fx2, FC_EV_ORDER_ACCEPTED, T0 + 40, "a");
    add_rider(&fx2, FC_EV_ORDER_PICKED_UP, T0 + 10 * MIN, "p", "r9");
    f = fold(&fx2);
    assert_true(str_is(f.rider, "r9"));
    assert_int_equal(f.reassignments, 0);
}

static void test_contact_attempts(void **state) {
    (void)state;
    fixture fx;
    normal_order(&fx);
    const char *outcomes[] = {"no_answer", "no_answer", "reached", "busy"};
    const char *ids[] = {"c1", "c2", "c3", "c4"};
    for (int i = 0; i < 4; i++) {
        fc_event *c = add_rider(&fx, FC_EV_CONTACT_ATTEMPT, T0 + 25 * MIN + i * 20, ids[i], "r1");
        c->channel = fc_str_c("call");
        c->outcome = fc_str_c(outcomes[i]);
    }
    fc_order_facts f = fold(&fx);
    assert_int_equal(f.contact_attempts, 4);
    assert_int_equal(f.contacts_reached, 1);
}

static fc_order_facts fold_delivered_at_point(int32_t lat_e6, int32_t lng_e6) {
    fixture fx;
    normal_order(&fx);
    fx.ev[fx.n - 1].lat_e6 = lat_e6;
    fx.ev[fx.n - 1].lng_e6 = lng_e6;
    return fold(&fx);
}

static void test_far_delivery(void **state) {
    (void)state;
    /* 0.005 degrees of latitude north of the door: 0.005 * pi / 180 *
     * 6371008.8 = 555.98 m, so 556 m, beyond 300 m. */
    fc_order_facts f = fold_delivered_at_point(DOOR_LAT + 5000, DOOR_LNG);
    assert_int_equal(f.delivered_far_m, 556);
    assert_true(f.incidents & FC_INC_FAR_DELIVERY);
    /* 0.001 degrees: 111.2 m, near enough. */
    f = fold_delivered_at_point(DOOR_LAT - 1000, DOOR_LNG);
    assert_int_equal(f.delivered_far_m, 111);
    assert_false(f.incidents & FC_INC_FAR_DELIVERY);
    /* 0.0027 degrees: 300.23 m rounds to 300: exactly at the threshold, not
     * far; 0.0028 degrees: 311 m, far. */
    f = fold_delivered_at_point(DOOR_LAT + 2700, DOOR_LNG);
    assert_int_equal(f.delivered_far_m, 300);
    assert_false(f.incidents & FC_INC_FAR_DELIVERY);
    f = fold_delivered_at_point(DOOR_LAT + 2800, DOOR_LNG);
    assert_int_equal(f.delivered_far_m, 311);
    assert_true(f.incidents & FC_INC_FAR_DELIVERY);
    /* No delivered point: unknown, never far. */
    f = fold_delivered_at_point(FC_GEO_NONE, FC_GEO_NONE);
    assert_int_equal(f.delivered_far_m, FC_INT_NONE);
    assert_false(f.incidents & FC_INC_FAR_DELIVERY);
}

/* A gps event of the order at an instant and a point (0.001 degrees of
 * latitude is 111.2 m). */
static fc_event *add_gps(fixture *fx, int64_t at, const char *id, const char *rider,
                         int32_t lat_e6) {
    fc_event *e = add_rider(fx, FC_EV_GPS, at, id, rider);
    e->lat_e6 = lat_e6;
    e->lng_e6 = DOOR_LNG;
    return e;
}

/* The normal order marked delivered 556 m from the door, with no position
 * on its arrival at the customer (picked up T0 + 15 min, delivered
 * T0 + 27 min). */
static void far_order(fixture *fx) {
    normal_order(fx);
    fx->ev[fx->n - 1].lat_e6 = DOOR_LAT + 5000;
}

static void test_door_gps(void **state) {
    (void)state;
    fixture fx;
    /* No position of the rider at all: unknown. */
    far_order(&fx);
    fc_order_facts f = fold(&fx);
    assert_int_equal(f.delivered_far_m, 556);
    assert_int_equal(f.door_gps_m, FC_INT_NONE);

    /* Several points: the closest counts (0.0005 degrees: 55.6 m -> 56). */
    far_order(&fx);
    add_gps(&fx, T0 + 20 * MIN, "g1", "r1", DOOR_LAT + 3000); /* 333.6 m */
    add_gps(&fx, T0 + 26 * MIN, "g2", "r1", DOOR_LAT - 500);  /* 55.6 m */
    add_gps(&fx, T0 + 27 * MIN, "g3", "r1", DOOR_LAT + 1000); /* 111.2 m */
    f = fold(&fx);
    assert_int_equal(f.door_gps_m, 56);
    assert_int_equal(f.delivered_far_m, 556); /* GPS never moves the delivered point */
    assert_true(f.incidents & FC_INC_FAR_DELIVERY);

    /* The arrival at the customer's position counts, whenever it was logged. */
    far_order(&fx);
    fc_event *arr = &fx.ev[6];
    assert_int_equal(arr->type, FC_EV_RIDER_ARRIVED_CUSTOMER);
    arr->lat_e6 = DOOR_LAT + 1000;
    arr->lng_e6 = DOOR_LNG;
    add_gps(&fx, T0 + 26 * MIN, "g1", "r1", DOOR_LAT + 3000);
    f = fold(&fx);
    assert_int_equal(f.door_gps_m, 111);

    /* Points without a rider count; another rider's never do, however close. */
    far_order(&fx);
    add_gps(&fx, T0 + 20 * MIN, "g1", "", DOOR_LAT + 2000); /* 222.4 m */
    add_gps(&fx, T0 + 26 * MIN, "g2", "r9", DOOR_LAT);      /* at the door, not r1 */
    f = fold(&fx);
    assert_int_equal(f.door_gps_m, 222);
}

static void test_door_gps_window(void **state) {
    (void)state;
    fixture fx;
    /* The window is [pickup, delivered + 5 min], both ends included. */
    const struct {
        int64_t at;
        int32_t want;
    } cases[] = {
        {T0 + 15 * MIN - 1, FC_INT_NONE}, /* a second before the pickup */
        {T0 + 15 * MIN, 0},               /* at the pickup */
        {T0 + 27 * MIN + 5 * MIN, 0},     /* five minutes after the delivery */
        {T0 + 27 * MIN + 5 * MIN + 1, FC_INT_NONE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        far_order(&fx);
        add_gps(&fx, cases[i].at, "g1", "r1", DOOR_LAT);
        fc_order_facts f = fold(&fx);
        assert_int_equal(f.door_gps_m, cases[i].want);
    }
    /* Without a pickup the window opens at the last acceptance. */
    far_order(&fx);
    fx.ev[5].type = FC_EV_ORDER_CANCELLED; /* drop the pickup: make it a later closing event */
    fx.ev[5].ts = T0 + 50 * MIN;
    add_gps(&fx, T0 + 1 * MIN, "g1", "r1", DOOR_LAT + 1000);
    add_gps(&fx, T0 + 1 * MIN - 1, "g2", "r1", DOOR_LAT);
    fc_order_facts f = fold(&fx);
    assert_int_equal(f.picked_up_at, FC_TS_NONE);
    assert_int_equal(f.door_gps_m, 111);
    /* An order never delivered: the window ends 5 min after its closing. */
    normal_order(&fx);
    fx.n--; /* no delivery */
    fc_event *u = add_rider(&fx, FC_EV_ORDER_UNDELIVERABLE, T0 + 40 * MIN, "o1:undel", "r1");
    (void)u;
    add_gps(&fx, T0 + 45 * MIN, "g1", "r1", DOOR_LAT + 1000);
    add_gps(&fx, T0 + 45 * MIN + 1, "g2", "r1", DOOR_LAT);
    f = fold(&fx);
    assert_int_equal(f.status, FC_ORDER_UNDELIVERABLE);
    assert_int_equal(f.door_gps_m, 111);
    /* No customer point: unknown. */
    far_order(&fx);
    fx.ev[0].customer_lat_e6 = FC_GEO_NONE;
    add_gps(&fx, T0 + 26 * MIN, "g1", "r1", DOOR_LAT);
    f = fold(&fx);
    assert_int_equal(f.door_gps_m, FC_INT_NONE);
}

/* The final rider is known only at the end of the fold; whatever order the
 * events come in, the points of the rider who was reassigned away stay out. */
static void test_door_gps_any_event_order(void **state) {
    (void)state;
    fixture base;
    far_order(&base);
    /* r2 accepted first, was reassigned, and r1 (accepted at T0 + 1 min)
     * carried the order: r2 accepted earlier. */
    add_rider(&base, FC_EV_ORDER_ACCEPTED, T0 + 20, "o1:order_accepted:r2", "r2");
    add_gps(&base, T0 + 16 * MIN, "g1", "r2", DOOR_LAT);        /* r2: ignored */
    add_gps(&base, T0 + 18 * MIN, "g2", "r1", DOOR_LAT + 4000); /* 444.8 m */
    add_gps(&base, T0 + 26 * MIN, "g3", "r1", DOOR_LAT - 2000); /* 222.4 m */
    add_gps(&base, T0 + 26 * MIN, "g3", "r1", DOOR_LAT);        /* repeated id: ignored */
    add_gps(&base, T0 + 40 * MIN, "g4", "r1", DOOR_LAT);        /* after the window */
    fc_order_facts ref = fold(&base);
    assert_true(str_is(ref.rider, "r1"));
    assert_int_equal(ref.door_gps_m, 222);
    assert_shuffles_fold_equal(&base, &ref, 0x2545f4914f6cdd1dULL, 200);
}

static void test_cancellation_by_each_party(void **state) {
    (void)state;
    static const struct {
        const char *by;
        fc_party party;
    } cases[] = {
        {"customer", FC_PARTY_CUSTOMER},
        {"merchant", FC_PARTY_MERCHANT},
        {"rider", FC_PARTY_RIDER},
        {"platform", FC_PARTY_PLATFORM},
        {"force_majeure", FC_PARTY_FORCE_MAJEURE},
        {"undetermined", FC_PARTY_UNDETERMINED},
        {"restaurant", FC_PARTY_MERCHANT},
        {"", FC_PARTY_UNDETERMINED},
        {"aliens", FC_PARTY_UNDETERMINED},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        /* cancelled 50 min after creation: well past the promise + severe,
         * never late */
        fixture fx = {0};
        add_created(&fx, T0);
        add_rider(&fx, FC_EV_ORDER_ACCEPTED, T0 + 60, "a", "r1");
        fc_event *c = add(&fx, FC_EV_ORDER_CANCELLED, T0 + 50 * MIN, "x");
        c->by = fc_str_c(cases[i].by);
        c->reason = fc_str_c("waited too long");
        c->cost_minor = 300;
        fc_order_facts f = fold(&fx);
        assert_int_equal(f.status, FC_ORDER_CANCELLED);
        assert_int_equal(f.cancelled_at, T0 + 50 * MIN);
        assert_int_equal(f.closed_at, T0 + 50 * MIN);
        assert_int_equal(f.cancelled_by, cases[i].party);
        assert_int_equal(f.incidents, FC_INC_CANCELLED);
        assert_int_equal(f.lateness_s, FC_DUR_NONE);
        assert_int_equal(f.delivery_cost_minor, 300);
    }
    assert_string_equal(fc_party_name(FC_PARTY_FORCE_MAJEURE), "force_majeure");
    assert_string_equal(fc_party_name(FC_PARTY_NONE), "");

    /* Cancelled first, a "delivery" logged afterwards: still cancelled, not
     * late. */
    fixture fx = {0};
    add_created(&fx, T0);
    fc_event *c = add(&fx, FC_EV_ORDER_CANCELLED, T0 + 40 * MIN, "x");
    c->by = fc_str_c("customer");
    add_rider(&fx, FC_EV_ORDER_DELIVERED, T0 + 60 * MIN, "d", "r1");
    fc_order_facts f = fold(&fx);
    assert_int_equal(f.status, FC_ORDER_CANCELLED);
    assert_int_equal(f.delivered_at, T0 + 60 * MIN);
    assert_int_equal(f.incidents, FC_INC_CANCELLED);

    /* Delivered first, cancelled afterwards (a refund): delivered, and no
     * cancelling party. */
    fixture fx2;
    normal_order(&fx2);
    c = add(&fx2, FC_EV_ORDER_CANCELLED, T0 + 60 * MIN, "x");
    c->by = fc_str_c("customer");
    f = fold(&fx2);
    assert_int_equal(f.status, FC_ORDER_DELIVERED);
    assert_int_equal(f.cancelled_at, T0 + 60 * MIN);
    assert_int_equal(f.cancelled_by, FC_PARTY_NONE);
    assert_int_equal(f.incidents, 0);
}

static void test_undeliverable(void **state) {
    (void)state;
    fc_event_type types[] = {FC_EV_ORDER_UNDELIVERABLE, FC_EV_ORDER_RETURNED};
    for (int i = 0; i < 2; i++) {
        fixture fx = {0};
        add_created(&fx, T0);
        add_rider(&fx, FC_EV_ORDER_ACCEPTED, T0 + 60, "a", "r1");
        add_rider(&fx, FC_EV_ORDER_PICKED_UP, T0 + 15 * MIN, "p", "r1");
        add_rider(&fx, FC_EV_RIDER_ARRIVED_CUSTOMER, T0 + 25 * MIN, "ac", "r1");
        fc_event *c = add_rider(&fx, FC_EV_CONTACT_ATTEMPT, T0 + 26 * MIN, "c", "r1");
        c->outcome = fc_str_c("no_answer");
        fc_event *u = add_rider(&fx, types[i], T0 + 40 * MIN, "u", "r1");
        u->by = fc_str_c("customer");
        u->cost_minor = 700;
        fc_order_facts f = fold(&fx);
        assert_int_equal(f.status, FC_ORDER_UNDELIVERABLE);
        assert_int_equal(f.undeliverable_at, T0 + 40 * MIN);
        assert_int_equal(f.closed_at, T0 + 40 * MIN);
        assert_int_equal(f.incidents, FC_INC_UNDELIVERABLE);
        assert_int_equal(f.contact_attempts, 1);
        assert_int_equal(f.contacts_reached, 0);
        assert_int_equal(f.delivery_cost_minor, 700);
        assert_int_equal(f.lateness_s, FC_DUR_NONE);
        assert_int_equal(f.handover_s, FC_DUR_NONE);
    }
}

static void test_complaints_ratings_compensation(void **state) {
    (void)state;
    fixture fx;
    normal_order(&fx);
    const char *cats[] = {"late", "food_quality", "rider_behavior", "something_else", "late"};
    const char *ids[] = {"k1", "k2", "k3", "k4", "k5"};
    for (int i = 0; i < 5; i++) {
        fc_event *k = add(&fx, FC_EV_COMPLAINT, T0 + 40 * MIN + i, ids[i]);
        k->category = fc_str_c(cats[i]);
    }
    add(&fx, FC_EV_CS_CONTACT, T0 + 41 * MIN, "cs1");
    add(&fx, FC_EV_CS_CONTACT, T0 + 42 * MIN, "cs2");
    fc_event *c = add(&fx, FC_EV_COMPENSATION, T0 + 43 * MIN, "comp1");
    c->amount_minor = 1000;
    c = add(&fx, FC_EV_COMPENSATION, T0 + 44 * MIN, "comp2");
    c->amount_minor = 525;
    fc_event *r = add(&fx, FC_EV_RATING, T0 + 50 * MIN, "rate1");
    r->score = 4;
    r = add(&fx, FC_EV_RATING, T0 + 51 * MIN, "rate2");
    r->score = 2; /* the last rating counts */
    fc_event *s = add(&fx, FC_EV_SURVEY_RESPONSE, T0 + 60 * MIN, "nps1");
    s->score = 9;
    s = add(&fx, FC_EV_SURVEY_RESPONSE, T0 + 61 * MIN, "nps2");
    s->score = 3;
    fc_order_facts f = fold(&fx);
    assert_int_equal(f.complaints, 5);
    assert_int_equal(f.complaint_mask,
                     (1u << FC_COMPLAINT_LATE) | (1u << FC_COMPLAINT_FOOD_QUALITY) |
                         (1u << FC_COMPLAINT_RIDER_BEHAVIOUR) | (1u << FC_COMPLAINT_OTHER));
    assert_int_equal(f.cs_contacts, 2);
    assert_int_equal(f.compensation_minor, 1525);
    assert_int_equal(f.rating, 2);
    assert_int_equal(f.survey, 3);
    assert_int_equal(f.incidents, FC_INC_COMPLAINT | FC_INC_BAD_RATING);
    assert_string_equal(fc_complaint_name(FC_COMPLAINT_NOT_RECEIVED), "not_received");
    assert_int_equal(fc_complaint_from(fc_str_c("missing_item")), FC_COMPLAINT_MISSING_ITEM);

    /* rating 3 is not bad under bad_rating_max 2; a later good rating
     * replaces an earlier bad one */
    fixture fx2;
    normal_order(&fx2);
    r = add(&fx2, FC_EV_RATING, T0 + 50 * MIN, "rate1");
    r->score = 1;
    r = add(&fx2, FC_EV_RATING, T0 + 52 * MIN, "rate2");
    r->score = 3;
    f = fold(&fx2);
    assert_int_equal(f.rating, 3);
    assert_int_equal(f.incidents, 0);
}

static void test_weather_by_city_and_zone(void **state) {
    (void)state;
    fixture fx;
    normal_order(&fx); /* span [T0, T0 + 27 min] in riyadh / olaya */
    fc_weather w[] = {
        /* whole city, overlapping: counts */
        {fc_str_c("riyadh"), FC_STR_NULL, T0 - 3600, T0 + 60, 1},
        /* another zone of the city, severe: does not count */
        {fc_str_c("riyadh"), fc_str_c("malaz"), T0, T0 + 3600, 3},
        /* whole city, ends exactly at creation ([from, to) is open at to) */
        {fc_str_c("riyadh"), FC_STR_NULL, T0 - 3600, T0, 3},
        /* another city */
        {fc_str_c("dubai"), FC_STR_NULL, T0, T0 + 3600, 3},
    };
    fc_fold_ctx ctx = {
        .thresholds = &th, .weather = w, .n_weather = 4, .rider_start_date = INT32_MIN};
    fc_order_facts f = fold_ctx(&fx, &ctx);
    assert_int_equal(f.weather_severity, 1);

    /* the order's own zone, starting exactly at delivery: counts */
    fc_weather wz[] = {
        {fc_str_c("riyadh"), FC_STR_NULL, T0 - 3600, T0 + 60, 1},
        {fc_str_c("riyadh"), fc_str_c("olaya"), T0 + 27 * MIN, T0 + 3600, 2},
    };
    ctx.weather = wz;
    ctx.n_weather = 2;
    f = fold_ctx(&fx, &ctx);
    assert_int_equal(f.weather_severity, 2);

    /* one second after delivery: the order was closed, does not count */
    wz[1].from = T0 + 27 * MIN + 1;
    f = fold_ctx(&fx, &ctx);
    assert_int_equal(f.weather_severity, 1);

    /* an open order's span runs to its last event */
    fixture open = {0};
    add_created(&open, T0);
    add_rider(&open, FC_EV_ORDER_ACCEPTED, T0 + 45 * MIN, "a", "r1");
    wz[1].from = T0 + 40 * MIN;
    f = fold_ctx(&open, &ctx);
    assert_int_equal(f.weather_severity, 2);
}

/* delivered `late_s` seconds after the promise */
static fc_order_facts fold_late_by(int64_t late_s) {
    fixture fx;
    normal_order(&fx);
    fx.ev[fx.n - 1].ts = T0 + 30 * MIN + late_s;
    return fold(&fx);
}

static void test_lateness_boundaries(void **state) {
    (void)state;
    /* grace 5 min, severe 20 min */
    fc_order_facts f = fold_late_by(5 * MIN);
    assert_int_equal(f.lateness_s, 300);
    assert_int_equal(f.incidents, 0); /* exactly at promised + grace: not late */
    f = fold_late_by(5 * MIN + 1);
    assert_int_equal(f.incidents, FC_INC_LATE);
    f = fold_late_by(20 * MIN);
    assert_int_equal(f.incidents, FC_INC_LATE);
    f = fold_late_by(20 * MIN + 1);
    assert_int_equal(f.incidents, FC_INC_LATE | FC_INC_SEVERE_LATE);
    f = fold_late_by(0);
    assert_int_equal(f.lateness_s, 0);
    assert_int_equal(f.incidents, 0);

    /* The same facts under other thresholds. */
    fc_thresholds strict = th;
    strict.grace_s = 0;
    strict.severe_late_s = 4 * MIN;
    f = fold_late_by(5 * MIN);
    assert_int_equal(fc_order_incidents(&f, &strict), FC_INC_LATE | FC_INC_SEVERE_LATE);
    /* NULL thresholds: the built-in defaults (grace 5 min) */
    assert_int_equal(fc_order_incidents(&f, NULL), 0);
}

static void test_mixed_orders_rejected(void **state) {
    (void)state;
    fixture fx;
    normal_order(&fx);
    fx.ev[3].order = fc_str_c("o2");
    uint32_t scratch[MAX_EV];
    fc_order_facts f;
    assert_int_equal(fc_order_fold(fx.ev, fx.n, NULL, scratch, &f), FC_EINVAL);
    assert_int_equal(f.n_events, 0);
    assert_int_equal(f.status, FC_ORDER_OPEN);
    fx.ev[3].order = FC_STR_NULL;
    assert_int_equal(fc_order_fold(fx.ev, fx.n, NULL, scratch, &f), FC_EINVAL);
}

static void test_tenure_and_prep(void **state) {
    (void)state;
    assert_int_equal(fc_order_tenure_days(T0, T0_DAY), 0);
    assert_int_equal(fc_order_tenure_days(T0, T0_DAY - 365), 365);
    assert_int_equal(fc_order_tenure_days(T0, T0_DAY + 1), FC_INT_NONE);
    assert_int_equal(fc_order_tenure_days(FC_TS_NONE, T0_DAY), FC_INT_NONE);
    assert_int_equal(fc_order_tenure_days(T0, INT32_MIN), FC_INT_NONE);
    /* before 1970: floor, not truncation (-1 s is day -1) */
    assert_int_equal(fc_order_tenure_days(-1, -1), 0);

    /* Ready twice (remade): the last one counts. Rider arrived after the
     * estimated ready instant: the wait past ready runs from the arrival. */
    fixture fx;
    normal_order(&fx);
    fx.ev[3].ts = T0 + 13 * MIN; /* arrival at the merchant */
    fx.ev[5].ts = T0 + 20 * MIN; /* pickup */
    add(&fx, FC_EV_ORDER_READY, T0 + 19 * MIN, "ready2");
    fc_order_facts f = fold(&fx);
    assert_int_equal(f.ready_at, T0 + 19 * MIN);
    assert_int_equal(f.prep_overrun_s, 7 * MIN);     /* 19 - 12 */
    assert_int_equal(f.wait_at_merchant_s, 7 * MIN); /* 20 - 13 */
    assert_int_equal(f.wait_past_ready_s, 7 * MIN);  /* 20 - max(13, 12) */

    /* Picked up before the estimated ready instant: no wait past it. */
    normal_order(&fx);
    fx.ev[5].ts = T0 + 11 * MIN;
    f = fold(&fx);
    assert_int_equal(f.wait_at_merchant_s, 1 * MIN);
    assert_int_equal(f.wait_past_ready_s, 0);
}

/* ---------------------------------------------------------------------------
 * Settings.
 */
static char data_path[1024];
static const char *data(const char *name) {
    snprintf(data_path, sizeof data_path, "%s/order/%s", FC_TEST_DATA, name);
    return data_path;
}

static void test_settings_precedence(void **state) {
    (void)state;
    fc_settings *s = NULL;
    fc_err err;
    fc_err_clear(&err);
    int rc = fc_settings_load(data("precedence.yaml"), &s, &err);
    if (rc != FC_OK) {
        fail_msg("%s:%ld:%ld: %s", err.file, err.line, err.col, err.msg);
    }
    /* defaults: grace 4, severe 25, bad 2, far 250, prep 6, weather 2 */
    const fc_thresholds *t = fc_settings_for(s, "AE", "abu_dhabi");
    assert_int_equal(t->grace_s, 4 * MIN);
    assert_int_equal(t->severe_late_s, 25 * MIN);
    assert_int_equal(t->bad_rating_max, 2);
    assert_int_equal(t->far_delivery_m, 250);
    assert_int_equal(t->prep_overrun_s, 6 * MIN);
    assert_int_equal(t->weather_severe, 2);
    /* SA: grace 10 over the defaults */
    t = fc_settings_for(s, "SA", "jeddah");
    assert_int_equal(t->grace_s, 10 * MIN);
    assert_int_equal(t->severe_late_s, 25 * MIN);
    /* riyadh: severe 30 over SA's grace 10 over the defaults */
    t = fc_settings_for(s, "SA", "riyadh");
    assert_int_equal(t->grace_s, 10 * MIN);
    assert_int_equal(t->severe_late_s, 30 * MIN);
    assert_int_equal(t->far_delivery_m, 250);
    /* dubai: 7.5 min of grace is 450 s */
    t = fc_settings_for(s, "AE", "dubai");
    assert_int_equal(t->grace_s, 450);
    assert_int_equal(t->bad_rating_max, 1);
    assert_int_equal(t->severe_late_s, 25 * MIN);
    /* a city entry wins over its country's entry for the same key */
    t = fc_settings_for(s, "KW", "kuwait_city");
    assert_int_equal(t->grace_s, 3 * MIN);  /* KW says 8, the city 3 */
    assert_int_equal(t->weather_severe, 3); /* from KW */
    /* case-insensitive names, unknown and NULL levels skipped */
    t = fc_settings_for(s, "sa", "RIYADH");
    assert_int_equal(t->severe_late_s, 30 * MIN);
    t = fc_settings_for(s, NULL, "riyadh");
    assert_int_equal(t->grace_s, 4 * MIN);
    assert_int_equal(t->severe_late_s, 30 * MIN);
    t = fc_settings_for(s, "ZZ", NULL);
    assert_int_equal(t->grace_s, 4 * MIN);
    fc_settings_free(s);

    /* no settings: the built-in defaults */
    t = fc_settings_for(NULL, "SA", "riyadh");
    assert_int_equal(t->grace_s, 5 * MIN);
    assert_int_equal(t->severe_late_s, 20 * MIN);
    fc_settings_free(NULL);
}

static void test_settings_shipped_file_matches_builtin(void **state) {
    (void)state;
    char path[1024];
    snprintf(path, sizeof path, "%s/settings/default.yaml", FC_SOURCE_DIR);
    fc_settings *s = NULL;
    fc_err err;
    fc_err_clear(&err);
    int rc = fc_settings_load(path, &s, &err);
    if (rc != FC_OK) {
        fail_msg("%s:%ld:%ld: %s", err.file, err.line, err.col, err.msg);
    }
    fc_settings *b = fc_settings_default();
    assert_non_null(b);
    const fc_thresholds *a = fc_settings_for(s, NULL, NULL);
    const fc_thresholds *d = fc_settings_for(b, NULL, NULL);
    assert_memory_equal(a, d, sizeof *a);
    assert_memory_equal(d, fc_settings_for(NULL, NULL, NULL), sizeof *d);
    fc_settings_free(b);
    fc_settings_free(s);
}

static void test_settings_errors_have_line_and_column(void **state) {
    (void)state;
    static const struct {
        const char *file;
        int code;
        long line, col;
        const char *needle;
    } cases[] = {
        {"bad_unknown_key.yaml", FC_EINVAL, 4, 3, "unknown key \"grace_mins\""},
        {"bad_unknown_section.yaml", FC_EINVAL, 3, 1, "unknown key \"citys\""},
        {"bad_value.yaml", FC_EINVAL, 3, 16, "grace_min must be a number"},
        {"bad_range.yaml", FC_EINVAL, 5, 22, "outside"},
        {"bad_integer.yaml", FC_EINVAL, 2, 19, "whole number"},
        {"bad_country.yaml", FC_EINVAL, 3, 3, "ISO 3166"},
        {"bad_duplicate_city.yaml", FC_EINVAL, 5, 3, "twice"},
        {"bad_entry_type.yaml", FC_EINVAL, 3, 11, "must be a mapping"},
        {"bad_root.yaml", FC_EINVAL, 1, 1, "must be a mapping"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fc_settings *s = (fc_settings *)(uintptr_t)1;
        fc_err err;
        fc_err_clear(&err);
        int rc = fc_settings_load(data(cases[i].file), &s, &err);
        if (rc != cases[i].code || err.line != cases[i].line || err.col != cases[i].col ||
            strstr(err.msg, cases[i].needle) == NULL || strstr(err.file, cases[i].file) == NULL) {
            fail_msg("%s: got rc %d at %s:%ld:%ld: %s", cases[i].file, rc, err.file, err.line,
                     err.col, err.msg);
        }
        assert_null(s);
    }
    /* malformed YAML: a parse error with a position */
    fc_settings *s = NULL;
    fc_err err;
    fc_err_clear(&err);
    assert_int_equal(fc_settings_load(data("bad_yaml.yaml"), &s, &err), FC_EPARSE);
    assert_true(err.line >= 3);
    assert_null(s);
    /* a missing file */
    assert_int_not_equal(fc_settings_load(data("no_such_file.yaml"), &s, &err), FC_OK);
    assert_null(s);
}

static void test_settings_survive_allocation_failures(void **state) {
    (void)state;
    /* Fail the Nth allocation for every N until loading succeeds: each
     * failure must come back as an error, without leaks (ASan checks). */
    for (long n = 0; n < 10000; n++) {
        fc_settings *s = NULL;
        fc_err err;
        fc_err_clear(&err);
        fc_alloc_fail_after(n);
        int rc = fc_settings_load(data("precedence.yaml"), &s, &err);
        fc_alloc_fail_after(-1);
        if (rc == FC_OK) {
            assert_non_null(s);
            assert_int_equal(fc_settings_for(s, "SA", "riyadh")->severe_late_s, 30 * MIN);
            fc_settings_free(s);
            return;
        }
        assert_null(s);
    }
    fail_msg("loading never succeeded");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normal_order_every_leg),
        cmocka_unit_test(test_permutations_give_identical_facts),
        cmocka_unit_test(test_large_order_matches_small_path),
        cmocka_unit_test(test_duplicate_events_ignored),
        cmocka_unit_test(test_missing_steps),
        cmocka_unit_test(test_reversed_timestamps_leave_legs_absent),
        cmocka_unit_test(test_refusals_and_reassignments),
        cmocka_unit_test(test_contact_attempts),
        cmocka_unit_test(test_far_delivery),
        cmocka_unit_test(test_door_gps),
        cmocka_unit_test(test_door_gps_window),
        cmocka_unit_test(test_door_gps_any_event_order),
        cmocka_unit_test(test_cancellation_by_each_party),
        cmocka_unit_test(test_undeliverable),
        cmocka_unit_test(test_complaints_ratings_compensation),
        cmocka_unit_test(test_weather_by_city_and_zone),
        cmocka_unit_test(test_lateness_boundaries),
        cmocka_unit_test(test_mixed_orders_rejected),
        cmocka_unit_test(test_tenure_and_prep),
        cmocka_unit_test(test_settings_precedence),
        cmocka_unit_test(test_settings_shipped_file_matches_builtin),
        cmocka_unit_test(test_settings_errors_have_line_and_column),
        cmocka_unit_test(test_settings_survive_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
