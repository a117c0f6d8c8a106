/*
 * The fold: one order's events -> its facts, and incident detection.
 *
 * Pure and allocation-free. The events are put in a deterministic total order
 * (instant, lifecycle rank of the type, id, then every other field) through
 * the caller's index array, repeated ids are marked in the same array, and
 * one pass in that order fills the facts. docs/facts.md states every rule;
 * docs/internals/order.md explains the choices.
 */
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "order/order.h"

/* Orders with at most this many events take the small path: insertion sort
 * (near-linear on events that mostly arrive in time order) and a pairwise
 * check of ids. Larger ones are heap-sorted twice (by id to find repeats,
 * then by time), staying O(n log n). Both paths give identical facts. */
#define SMALL_N 32u

/* Index bit marking a repeated id in scratch; indices stay below it. */
#define DUP_BIT 0x80000000u

/* Lifecycle rank of each type: events logged in the same second fold in the
 * order an order lives them (accepted before arrived, delivered before a
 * complaint). Types outside the table rank last. */
static const uint8_t type_rank[FC_EV__COUNT] = {
    [FC_EV_NONE] = 0,
    [FC_EV_ORDER_CREATED] = 1,
    [FC_EV_ORDER_PUSHED] = 2,
    [FC_EV_ORDER_ASSIGNED] = 3,
    [FC_EV_ORDER_REFUSED] = 4,
    [FC_EV_ORDER_ACCEPTED] = 5,
    [FC_EV_ORDER_REASSIGNED] = 6,
    [FC_EV_RIDER_ARRIVED_MERCHANT] = 7,
    [FC_EV_ORDER_READY] = 8,
    [FC_EV_ORDER_PICKED_UP] = 9,
    [FC_EV_RIDER_ARRIVED_CUSTOMER] = 10,
    [FC_EV_CONTACT_ATTEMPT] = 11,
    [FC_EV_ORDER_DELIVERED] = 12,
    [FC_EV_ORDER_CANCELLED] = 13,
    [FC_EV_ORDER_UNDELIVERABLE] = 14,
    [FC_EV_ORDER_RETURNED] = 15,
    [FC_EV_COMPLAINT] = 16,
    [FC_EV_RATING] = 17,
    [FC_EV_COMPENSATION] = 18,
    [FC_EV_CS_CONTACT] = 19,
    [FC_EV_GPS] = 20,
    [FC_EV_WEATHER] = 21,
    [FC_EV_SHIFT_STARTED] = 22,
    [FC_EV_SHIFT_ENDED] = 23,
    [FC_EV_SURVEY_RESPONSE] = 24,
};

/* ---------------------------------------------------------------------------
 * Comparisons. String helpers are local so the hot path inlines them.
 */
static inline int str_eq(fc_str a, fc_str b) {
    if (a.n != b.n) {
        return 0;
    }
    if (a.n == 0 || a.p == b.p) {
        return 1; /* views into one buffer (an order id repeated per event) */
    }
    /* Ids of one order share their prefix and differ at the end. */
    return a.p[a.n - 1] == b.p[b.n - 1] && memcmp(a.p, b.p, a.n) == 0;
}

static inline int str_cmp(fc_str a, fc_str b) {
    uint32_t n = a.n < b.n ? a.n : b.n;
    int c = n ? memcmp(a.p, b.p, n) : 0;
    if (c != 0) {
        return c;
    }
    return (a.n > b.n) - (a.n < b.n);
}

static inline int i64_cmp(int64_t a, int64_t b) {
    return (a > b) - (a < b);
}

static inline unsigned rank_of(fc_event_type t) {
    return (unsigned)t < (unsigned)FC_EV__COUNT ? type_rank[t] : 255u;
}

/* Every field after instant, type and id, so that two different events with
 * the same id still sort the same way whatever order they came in. */
static int cmp_content(const fc_event *a, const fc_event *b) {
    const fc_str *sa[] = {&a->order,   &a->city,   &a->zone,    &a->merchant, &a->customer,
                          &a->rider,   &a->reason, &a->by,      &a->category, &a->channel,
                          &a->outcome, &a->proof,  &a->currency};
    const fc_str *sb[] = {&b->order,   &b->city,   &b->zone,    &b->merchant, &b->customer,
                          &b->rider,   &b->reason, &b->by,      &b->category, &b->channel,
                          &b->outcome, &b->proof,  &b->currency};
    for (size_t i = 0; i < sizeof sa / sizeof sa[0]; i++) {
        int c = str_cmp(*sa[i], *sb[i]);
        if (c != 0) {
            return c;
        }
    }
    const int64_t ia[] = {a->promised_at,
                          a->est_ready_at,
                          a->from,
                          a->to,
                          a->amount_minor,
                          a->cost_minor,
                          a->lat_e6,
                          a->lng_e6,
                          a->customer_lat_e6,
                          a->customer_lng_e6,
                          a->merchant_lat_e6,
                          a->merchant_lng_e6,
                          a->distance_m,
                          a->promise_prep_s,
                          a->promise_travel_s,
                          a->score,
                          a->severity,
                          a->prebook};
    const int64_t ib[] = {b->promised_at,
                          b->est_ready_at,
                          b->from,
                          b->to,
                          b->amount_minor,
                          b->cost_minor,
                          b->lat_e6,
                          b->lng_e6,
                          b->customer_lat_e6,
                          b->customer_lng_e6,
                          b->merchant_lat_e6,
                          b->merchant_lng_e6,
                          b->distance_m,
                          b->promise_prep_s,
                          b->promise_travel_s,
                          b->score,
                          b->severity,
                          b->prebook};
    for (size_t i = 0; i < sizeof ia / sizeof ia[0]; i++) {
        int c = i64_cmp(ia[i], ib[i]);
        if (c != 0) {
            return c;
        }
    }
    return 0;
}

/* The fold order: instant, lifecycle rank, id, content. */
static inline int cmp_time(const fc_event *a, const fc_event *b) {
    if (a->ts != b->ts) {
        return a->ts < b->ts ? -1 : 1;
    }
    unsigned ra = rank_of(a->type), rb = rank_of(b->type);
    if (ra != rb) {
        return ra < rb ? -1 : 1;
    }
    int c = str_cmp(a->id, b->id);
    return c != 0 ? c : cmp_content(a, b);
}

/* The repeat-finding order: id first, then as cmp_time, so the event kept
 * for an id is the one cmp_time puts first (the same one the small path
 * keeps). */
static int cmp_id(const fc_event *a, const fc_event *b) {
    int c = str_cmp(a->id, b->id);
    if (c != 0) {
        return c;
    }
    if (a->ts != b->ts) {
        return a->ts < b->ts ? -1 : 1;
    }
    unsigned ra = rank_of(a->type), rb = rank_of(b->type);
    if (ra != rb) {
        return ra < rb ? -1 : 1;
    }
    return cmp_content(a, b);
}

typedef int (*event_cmp)(const fc_event *a, const fc_event *b);

static inline int idx_cmp(const fc_event *ev, uint32_t a, uint32_t b, event_cmp cmp) {
    return cmp(&ev[a & ~DUP_BIT], &ev[b & ~DUP_BIT]);
}

/* Insertion sort of idx[0..n) by cmp_time (written out so cmp_time
 * inlines). */
static void sort_small(const fc_event *ev, uint32_t *idx, size_t n) {
    for (size_t i = 1; i < n; i++) {
        uint32_t x = idx[i];
        size_t j = i;
        while (j > 0 && cmp_time(&ev[idx[j - 1] & ~DUP_BIT], &ev[x & ~DUP_BIT]) > 0) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = x;
    }
}

static void sift_down(const fc_event *ev, uint32_t *idx, size_t root, size_t n, event_cmp cmp) {
    for (;;) {
        size_t child = 2 * root + 1;
        if (child >= n) {
            return;
        }
        if (child + 1 < n && idx_cmp(ev, idx[child], idx[child + 1], cmp) < 0) {
            child++;
        }
        if (idx_cmp(ev, idx[root], idx[child], cmp) >= 0) {
            return;
        }
        uint32_t t = idx[root];
        idx[root] = idx[child];
        idx[child] = t;
        root = child;
    }
}

/* In-place heap sort: O(n log n), no allocation (qsort may allocate). The
 * comparison is a total order, so stability does not matter. */
static void sort_heap(const fc_event *ev, uint32_t *idx, size_t n, event_cmp cmp) {
    for (size_t i = n / 2; i-- > 0;) {
        sift_down(ev, idx, i, n, cmp);
    }
    for (size_t end = n; end-- > 1;) {
        uint32_t t = idx[0];
        idx[0] = idx[end];
        idx[end] = t;
        sift_down(ev, idx, 0, end, cmp);
    }
}

/* Put idx in fold order and set DUP_BIT on every event whose id an earlier
 * event (in that order) already has. */
static void order_events(const fc_event *ev, uint32_t *idx, size_t n) {
    if (n <= SMALL_N) {
        /* A key per id (its length and last three bytes) in a local array:
         * ids with different keys differ, so the pairwise check compares
         * integers and reads the strings only when the keys agree. */
        uint64_t key[SMALL_N];
        sort_small(ev, idx, n);
        for (size_t i = 0; i < n; i++) {
            fc_str id = ev[idx[i]].id;
            uint64_t k = (uint64_t)id.n << 24;
            for (uint32_t b = 0; b < 3 && b < id.n; b++) {
                k |= (uint64_t)(unsigned char)id.p[id.n - 1 - b] << (8 * b);
            }
            key[i] = k;
        }
        for (size_t i = 1; i < n; i++) {
            fc_str id = ev[idx[i]].id;
            for (size_t j = 0; j < i; j++) {
                if (key[j] == key[i] && !(idx[j] & DUP_BIT) &&
                    str_eq(ev[idx[j] & ~DUP_BIT].id, id)) {
                    idx[i] |= DUP_BIT;
                    break;
                }
            }
        }
        return;
    }
    sort_heap(ev, idx, n, cmp_id);
    for (size_t i = 1; i < n; i++) {
        if (str_eq(ev[idx[i] & ~DUP_BIT].id, ev[idx[i - 1] & ~DUP_BIT].id)) {
            idx[i] |= DUP_BIT;
        }
    }
    sort_heap(ev, idx, n, cmp_time);
}

/* ---------------------------------------------------------------------------
 * Arithmetic on instants.
 */

/* to - from in seconds, FC_DUR_NONE when an end is absent or the difference
 * does not fit an int32. */
static int32_t diff_s(int64_t from, int64_t to) {
    int64_t d;
    if (from == FC_TS_NONE || to == FC_TS_NONE || __builtin_sub_overflow(to, from, &d) ||
        d > INT32_MAX || d <= INT32_MIN) {
        return FC_DUR_NONE;
    }
    return (int32_t)d;
}

/* A leg: like diff_s, and FC_DUR_NONE when the pair is reversed. */
static int32_t leg_s(int64_t from, int64_t to) {
    int32_t d = diff_s(from, to);
    return d < 0 ? FC_DUR_NONE : d; /* FC_DUR_NONE is negative too */
}

static int geo_ok(int32_t lat_e6, int32_t lng_e6) {
    return lat_e6 != FC_GEO_NONE && lng_e6 != FC_GEO_NONE && lat_e6 >= -90000000 &&
           lat_e6 <= 90000000 && lng_e6 >= -180000000 && lng_e6 <= 180000000;
}

static int is_terminal(fc_event_type t) {
    return t == FC_EV_ORDER_DELIVERED || t == FC_EV_ORDER_CANCELLED ||
           t == FC_EV_ORDER_UNDELIVERABLE || t == FC_EV_ORDER_RETURNED;
}

static int is_rider_step(fc_event_type t) {
    return t == FC_EV_RIDER_ARRIVED_MERCHANT || t == FC_EV_ORDER_PICKED_UP ||
           t == FC_EV_RIDER_ARRIVED_CUSTOMER || t == FC_EV_CONTACT_ATTEMPT ||
           t == FC_EV_ORDER_DELIVERED;
}

/* ---------------------------------------------------------------------------
 * Public helpers.
 */
/* n bytes from src to dst in 16-byte moves. Starting each fold from a
 * template this way beats memset + stores: a compiler turns those (and a
 * plain struct copy) into string instructions whose start-up cost is
 * larger than the copy at these sizes. */
static inline void copy_blocks(void *dst, const void *src, size_t n) {
#if defined(__SSE2__)
    char *d = dst;
    const char *s = src;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        _mm_storeu_si128((__m128i *)(void *)(d + i),
                         _mm_loadu_si128((const __m128i *)(const void *)(s + i)));
#if defined(__GNUC__)
        /* Hide the loop from the compiler's memcpy recognition, which
         * would turn it back into the string instruction it avoids. */
        __asm__("" : "+r"(i));
#endif
    }
    if (i < n) {
        memcpy(d + i, s + i, n - i);
    }
#else
    memcpy(dst, src, n);
#endif
}

/* Every fact absent or zero (padding zero too, as memset would leave it). */
static const fc_order_facts facts_none = {
    .status = FC_ORDER_OPEN,
    .created_at = FC_TS_NONE,
    .pushed_at = FC_TS_NONE,
    .accepted_at = FC_TS_NONE,
    .arrived_merchant_at = FC_TS_NONE,
    .ready_at = FC_TS_NONE,
    .picked_up_at = FC_TS_NONE,
    .arrived_customer_at = FC_TS_NONE,
    .delivered_at = FC_TS_NONE,
    .cancelled_at = FC_TS_NONE,
    .undeliverable_at = FC_TS_NONE,
    .promised_at = FC_TS_NONE,
    .est_ready_at = FC_TS_NONE,
    .dispatch_s = FC_DUR_NONE,
    .to_merchant_s = FC_DUR_NONE,
    .wait_at_merchant_s = FC_DUR_NONE,
    .to_customer_s = FC_DUR_NONE,
    .handover_s = FC_DUR_NONE,
    .delivery_s = FC_DUR_NONE,
    .lateness_s = FC_DUR_NONE,
    .prep_overrun_s = FC_DUR_NONE,
    .wait_past_ready_s = FC_DUR_NONE,
    .distance_m = FC_INT_NONE,
    .delivered_far_m = FC_INT_NONE,
    .rating = FC_INT_NONE,
    .survey = FC_INT_NONE,
    .cancelled_by = FC_PARTY_NONE,
    .compensation_minor = 0,
    .order_value_minor = FC_MONEY_NONE,
    .delivery_cost_minor = FC_MONEY_NONE,
    .weather_severity = 0,
    .prebook = FC_INT_NONE,
    .rider_tenure_days = FC_INT_NONE,
    .last_accepted_at = FC_TS_NONE,
    .closed_at = FC_TS_NONE,
    .door_gps_m = FC_INT_NONE,
};

void fc_order_facts_init(fc_order_facts *f) {
    copy_blocks(f, &facts_none, sizeof *f);
}

int32_t fc_order_tenure_days(int64_t created_at, int32_t start_date) {
    if (created_at == FC_TS_NONE || start_date == INT32_MIN) {
        return FC_INT_NONE;
    }
    /* Floor division: days since epoch of the creation, UTC. */
    int64_t day = created_at / 86400 - (created_at % 86400 < 0 ? 1 : 0);
    int64_t days = day - start_date;
    if (days < 0 || days > INT32_MAX) {
        return FC_INT_NONE;
    }
    return (int32_t)days;
}

uint32_t fc_order_incidents(const fc_order_facts *f, const fc_thresholds *t) {
    if (t == NULL) {
        t = fc_settings_for(NULL, NULL, NULL); /* the built-in defaults */
    }
    uint32_t inc = 0;
    if (f->status == FC_ORDER_DELIVERED && f->lateness_s != FC_DUR_NONE) {
        if (f->lateness_s > t->grace_s) {
            inc |= FC_INC_LATE;
        }
        if (f->lateness_s > t->severe_late_s) {
            inc |= FC_INC_SEVERE_LATE;
        }
    }
    if (f->status == FC_ORDER_CANCELLED) {
        inc |= FC_INC_CANCELLED;
    }
    if (f->status == FC_ORDER_UNDELIVERABLE) {
        inc |= FC_INC_UNDELIVERABLE;
    }
    if (f->complaints > 0) {
        inc |= FC_INC_COMPLAINT;
    }
    if (f->rating != FC_INT_NONE && f->rating <= t->bad_rating_max) {
        inc |= FC_INC_BAD_RATING;
    }
    if (f->delivered_far_m != FC_INT_NONE && f->delivered_far_m > t->far_delivery_m) {
        inc |= FC_INC_FAR_DELIVERY;
    }
    return inc;
}

const char *fc_order_status_name(fc_order_status s) {
    switch (s) {
    case FC_ORDER_OPEN:
        return "open";
    case FC_ORDER_DELIVERED:
        return "delivered";
    case FC_ORDER_CANCELLED:
        return "cancelled";
    case FC_ORDER_UNDELIVERABLE:
        return "undeliverable";
    }
    return "";
}

/* ---------------------------------------------------------------------------
 * The fold.
 */

/* What the single pass remembers besides the facts themselves. */
typedef struct fold_state {
    int created_seen, pickup_seen, accept_seen, reassign_pending;
    fc_str prev_accept_rider;  /* rider of the latest acceptance naming one */
    fc_str final_accept_rider; /* rider of the last acceptance before the first pickup */
    fc_str step_rider;         /* rider of the latest rider step naming one (fallback) */
    fc_str city, zone, merchant, customer; /* first seen on any event (fallback) */
    int64_t first_arrival;                 /* first arrival at the merchant */
    int64_t arrival_after;                 /* first arrival at or after the final acceptance */
    int32_t cust_lat_e6, cust_lng_e6;
    const fc_event *delivered; /* the first delivery */
    const fc_event *closing;   /* the first terminal event */
    int64_t first_cost_minor;  /* first cost on a terminal event */
    int64_t first_ts, last_ts;
    uint32_t rider_positions; /* gps and arrival-at-customer events with a position */
} fold_state;

/* order_created: the first one in fold order gives the attributes; later
 * ones only fill what it left absent. */
static void absorb_created(fc_order_facts *f, fold_state *st, const fc_event *e) {
    if (!st->created_seen) {
        st->created_seen = 1;
        f->created_at = e->ts;
    }
    if (f->city.n == 0) {
        f->city = e->city;
    }
    if (f->zone.n == 0) {
        f->zone = e->zone;
    }
    if (f->merchant.n == 0) {
        f->merchant = e->merchant;
    }
    if (f->customer.n == 0) {
        f->customer = e->customer;
    }
    if (f->category.n == 0) {
        f->category = e->category;
    }
    if (f->currency.n == 0) {
        f->currency = e->currency;
    }
    if (f->promised_at == FC_TS_NONE) {
        f->promised_at = e->promised_at;
    }
    if (f->est_ready_at == FC_TS_NONE) {
        f->est_ready_at = e->est_ready_at;
    }
    if (f->distance_m == FC_INT_NONE) {
        f->distance_m = e->distance_m;
    }
    if (f->order_value_minor == FC_MONEY_NONE) {
        f->order_value_minor = e->amount_minor;
    }
    if (f->prebook == FC_INT_NONE) {
        f->prebook = e->prebook;
    }
    if (!geo_ok(st->cust_lat_e6, st->cust_lng_e6)) {
        st->cust_lat_e6 = e->customer_lat_e6;
        st->cust_lng_e6 = e->customer_lng_e6;
    }
}

static void absorb_acceptance(fc_order_facts *f, fold_state *st, const fc_event *e) {
    if (f->accepted_at == FC_TS_NONE) {
        f->accepted_at = e->ts;
    }
    /* A reassignment is an order_reassigned event, or an acceptance by a
     * different rider than the previous acceptance's, unless an
     * order_reassigned since that acceptance already counted it. */
    if (e->rider.n > 0) {
        if (st->prev_accept_rider.n > 0 && !st->reassign_pending &&
            !str_eq(st->prev_accept_rider, e->rider)) {
            f->reassignments++;
        }
        st->prev_accept_rider = e->rider;
    }
    st->reassign_pending = 0;
    st->accept_seen = 1;
    if (!st->pickup_seen) {
        f->last_accepted_at = e->ts;
        st->final_accept_rider = e->rider;
        st->arrival_after = FC_TS_NONE; /* wait for this rider's arrival */
    }
}

static void fold_one(fc_order_facts *f, fold_state *st, const fc_event *e) {
    if (st->city.n == 0) {
        st->city = e->city;
    }
    if (st->zone.n == 0) {
        st->zone = e->zone;
    }
    if (st->merchant.n == 0) {
        st->merchant = e->merchant;
    }
    if (st->customer.n == 0) {
        st->customer = e->customer;
    }
    if (is_rider_step(e->type) && e->rider.n > 0) {
        st->step_rider = e->rider;
    }
    if ((e->type == FC_EV_GPS || e->type == FC_EV_RIDER_ARRIVED_CUSTOMER) &&
        geo_ok(e->lat_e6, e->lng_e6)) {
        st->rider_positions++;
    }
    if (is_terminal(e->type)) {
        if (st->closing == NULL) {
            st->closing = e;
        }
        if (st->first_cost_minor == FC_MONEY_NONE) {
            st->first_cost_minor = e->cost_minor;
        }
    }
    switch (e->type) {
    case FC_EV_ORDER_CREATED:
        absorb_created(f, st, e);
        break;
    case FC_EV_ORDER_PUSHED:
    case FC_EV_ORDER_ASSIGNED:
        if (f->pushes < UINT16_MAX) {
            f->pushes++;
        }
        if (f->pushed_at == FC_TS_NONE) {
            f->pushed_at = e->ts;
        }
        break;
    case FC_EV_ORDER_REFUSED:
        if (f->refusals < UINT16_MAX) {
            f->refusals++;
        }
        break;
    case FC_EV_ORDER_ACCEPTED:
        absorb_acceptance(f, st, e);
        break;
    case FC_EV_ORDER_REASSIGNED:
        if (f->reassignments < UINT16_MAX) {
            f->reassignments++;
        }
        st->reassign_pending = 1;
        break;
    case FC_EV_RIDER_ARRIVED_MERCHANT:
        if (st->first_arrival == FC_TS_NONE) {
            st->first_arrival = e->ts;
        }
        if (!st->pickup_seen && st->accept_seen && st->arrival_after == FC_TS_NONE) {
            st->arrival_after = e->ts;
        }
        break;
    case FC_EV_ORDER_READY:
        f->ready_at = e->ts; /* the last one: food re-made counts from the remake */
        break;
    case FC_EV_ORDER_PICKED_UP:
        if (!st->pickup_seen) {
            st->pickup_seen = 1;
            f->picked_up_at = e->ts;
        }
        break;
    case FC_EV_RIDER_ARRIVED_CUSTOMER:
        if (f->arrived_customer_at == FC_TS_NONE) {
            f->arrived_customer_at = e->ts;
        }
        break;
    case FC_EV_CONTACT_ATTEMPT:
        if (f->contact_attempts < UINT16_MAX) {
            f->contact_attempts++;
        }
        if (fc_str_eqc(e->outcome, "reached") && f->contacts_reached < UINT16_MAX) {
            f->contacts_reached++;
        }
        break;
    case FC_EV_ORDER_DELIVERED:
        if (st->delivered == NULL) {
            st->delivered = e;
            f->delivered_at = e->ts;
        }
        break;
    case FC_EV_ORDER_CANCELLED:
        if (f->cancelled_at == FC_TS_NONE) {
            f->cancelled_at = e->ts;
            f->cancelled_by = fc_party_from(e->by);
        }
        break;
    case FC_EV_ORDER_UNDELIVERABLE:
    case FC_EV_ORDER_RETURNED:
        if (f->undeliverable_at == FC_TS_NONE) {
            f->undeliverable_at = e->ts;
        }
        break;
    case FC_EV_COMPLAINT:
        if (f->complaints < UINT16_MAX) {
            f->complaints++;
        }
        f->complaint_mask |= 1u << fc_complaint_from(e->category);
        break;
    case FC_EV_RATING:
        if (e->score != FC_INT_NONE) {
            f->rating = e->score;
        }
        break;
    case FC_EV_COMPENSATION:
        if (e->amount_minor != FC_MONEY_NONE) {
            int64_t sum; /* an amount that would overflow the sum is dropped, never wrapped */
            if (!__builtin_add_overflow(f->compensation_minor, e->amount_minor, &sum)) {
                f->compensation_minor = sum;
            }
        }
        break;
    case FC_EV_CS_CONTACT:
        if (f->cs_contacts < UINT16_MAX) {
            f->cs_contacts++;
        }
        break;
    case FC_EV_SURVEY_RESPONSE:
        if (e->score != FC_INT_NONE) {
            f->survey = e->score;
        }
        break;
    default:
        break; /* gps, weather, shifts, unknown: counted, no fact */
    }
}

static void fill_status(fc_order_facts *f, const fold_state *st) {
    if (st->closing == NULL) {
        return;
    }
    f->closed_at = st->closing->ts;
    switch (st->closing->type) {
    case FC_EV_ORDER_DELIVERED:
        f->status = FC_ORDER_DELIVERED;
        break;
    case FC_EV_ORDER_CANCELLED:
        f->status = FC_ORDER_CANCELLED;
        break;
    default:
        f->status = FC_ORDER_UNDELIVERABLE;
        break;
    }
    f->delivery_cost_minor =
        st->closing->cost_minor != FC_MONEY_NONE ? st->closing->cost_minor : st->first_cost_minor;
    if (f->status == FC_ORDER_CANCELLED) {
        if (f->cancelled_by == FC_PARTY_NONE) {
            f->cancelled_by = FC_PARTY_UNDETERMINED;
        }
    } else {
        f->cancelled_by = FC_PARTY_NONE;
    }
}

static void fill_legs(fc_order_facts *f, const fold_state *st) {
    f->arrived_merchant_at =
        st->arrival_after != FC_TS_NONE ? st->arrival_after : st->first_arrival;
    f->dispatch_s = leg_s(f->created_at, f->accepted_at);
    f->to_merchant_s = leg_s(f->last_accepted_at, f->arrived_merchant_at);
    f->wait_at_merchant_s = leg_s(f->arrived_merchant_at, f->picked_up_at);
    f->to_customer_s =
        leg_s(f->picked_up_at,
              f->arrived_customer_at != FC_TS_NONE ? f->arrived_customer_at : f->delivered_at);
    f->handover_s = leg_s(f->arrived_customer_at, f->delivered_at);
    f->delivery_s = leg_s(f->created_at, f->delivered_at);
    if (f->status == FC_ORDER_DELIVERED) {
        f->lateness_s = diff_s(f->promised_at, f->delivered_at);
    }
    f->prep_overrun_s = diff_s(f->est_ready_at, f->ready_at);
    if (f->wait_at_merchant_s != FC_DUR_NONE && f->est_ready_at != FC_TS_NONE) {
        int64_t from =
            f->arrived_merchant_at > f->est_ready_at ? f->arrived_merchant_at : f->est_ready_at;
        int32_t past = diff_s(from, f->picked_up_at);
        f->wait_past_ready_s = past == FC_DUR_NONE ? FC_DUR_NONE : past < 0 ? 0 : past;
    }
}

static void fill_far(fc_order_facts *f, const fold_state *st) {
    const fc_event *d = st->delivered;
    if (d == NULL || !geo_ok(d->lat_e6, d->lng_e6) || !geo_ok(st->cust_lat_e6, st->cust_lng_e6)) {
        return;
    }
    /* lround of the great-circle distance, which is never beyond half the
     * Earth's circumference (about 2.0e7 m): it always fits. */
    f->delivered_far_m =
        fc_geo_distance_round_m(d->lat_e6, d->lng_e6, st->cust_lat_e6, st->cust_lng_e6);
}

/* How long after the delivery a GPS point still counts as at the door: the
 * rider walks back to the vehicle, and a device logs its points late. */

/* door_gps_m: the smallest distance to the customer's point of the final
 * rider's positions, read once the final rider and the window are known so
 * that the event order cannot change it. Events naming no rider count (a
 * device trail sent without one); another rider's do not. A gps point counts
 * in [pickup, delivered + 5 min] (without a pickup, from the last
 * acceptance; without either, none counts; an order not delivered ends its
 * window at its closing instant + 5 min, an open one has no end); an arrival
 * at the customer counts whenever it was logged. */
static void fill_door_gps(fc_order_facts *f, const fold_state *st, const fc_event *events,
                          const uint32_t *idx, size_t n) {
    if (st->rider_positions == 0 || !geo_ok(st->cust_lat_e6, st->cust_lng_e6)) {
        return;
    }
    int64_t from = f->picked_up_at != FC_TS_NONE ? f->picked_up_at : f->last_accepted_at;
    int64_t end = f->delivered_at != FC_TS_NONE ? f->delivered_at : f->closed_at;
    int64_t to = INT64_MAX;
    if (end != FC_TS_NONE && __builtin_add_overflow(end, (int64_t)FC_DOOR_GPS_AFTER_S, &to)) {
        to = INT64_MAX;
    }
    int32_t best = -1; /* lround is monotone: the rounded least is the least rounded */
    for (size_t i = 0; i < n; i++) {
        if (idx[i] & DUP_BIT) {
            continue;
        }
        const fc_event *e = &events[idx[i]];
        if (e->ts == FC_TS_NONE || !geo_ok(e->lat_e6, e->lng_e6)) {
            continue;
        }
        if (e->type == FC_EV_GPS) {
            if (from == FC_TS_NONE || e->ts < from || e->ts > to) {
                continue;
            }
        } else if (e->type != FC_EV_RIDER_ARRIVED_CUSTOMER) {
            continue;
        }
        if (e->rider.n > 0 && f->rider.n > 0 && !str_eq(e->rider, f->rider)) {
            continue;
        }
        int32_t m = fc_geo_distance_round_m(e->lat_e6, e->lng_e6, st->cust_lat_e6, st->cust_lng_e6);
        if (best < 0 || m < best) {
            best = m;
        }
    }
    if (best >= 0) {
        f->door_gps_m = best;
    }
}

/* Max severity of the windows of the order's city (or of its zone) that
 * overlap [created, closed]: a window [from, to) overlaps when from <= closed
 * and to > created. An open order's span ends at its last event; without a
 * creation it starts at its first event. */
static int32_t weather_of(const fc_order_facts *f, const fold_state *st, const fc_fold_ctx *ctx) {
    if (ctx == NULL || ctx->weather == NULL) {
        return 0;
    }
    int64_t start = f->created_at != FC_TS_NONE ? f->created_at : st->first_ts;
    int64_t end = f->closed_at != FC_TS_NONE ? f->closed_at : st->last_ts;
    int32_t worst = 0;
    for (size_t i = 0; i < ctx->n_weather; i++) {
        const fc_weather *w = &ctx->weather[i];
        if (w->city.n > 0 && f->city.n > 0 && !str_eq(w->city, f->city)) {
            continue;
        }
        if (w->zone.n > 0 && !str_eq(w->zone, f->zone)) {
            continue;
        }
        if ((w->from == FC_TS_NONE || w->from <= end) && (w->to == FC_TS_NONE || w->to > start) &&
            w->severity > worst) {
            worst = w->severity;
        }
    }
    return worst;
}

int fc_order_fold(const fc_event *events, size_t n, const fc_fold_ctx *ctx, uint32_t *scratch,
                  fc_order_facts *out) {
    fc_order_facts_init(out);
    if (n == 0) {
        out->incidents = fc_order_incidents(out, ctx ? ctx->thresholds : NULL);
        return FC_OK;
    }
    if (events == NULL || scratch == NULL || n >= DUP_BIT) {
        return FC_EINVAL;
    }
    fc_str order = events[0].order;
    for (size_t i = 0; i < n; i++) {
        if (!str_eq(events[i].order, order)) {
            return FC_EINVAL;
        }
        scratch[i] = (uint32_t)i;
    }
    order_events(events, scratch, n);

    static const fold_state state_none = {
        .first_arrival = FC_TS_NONE,
        .arrival_after = FC_TS_NONE,
        .cust_lat_e6 = FC_GEO_NONE,
        .cust_lng_e6 = FC_GEO_NONE,
        .first_cost_minor = FC_MONEY_NONE,
        .first_ts = FC_TS_NONE,
        .last_ts = FC_TS_NONE,
    };
    fold_state st;
    copy_blocks(&st, &state_none, sizeof st);
    out->order = order;
    for (size_t i = 0; i < n; i++) {
        if (scratch[i] & DUP_BIT) {
            out->n_duplicates++;
            continue;
        }
        const fc_event *e = &events[scratch[i]];
        if (e->ts == FC_TS_NONE) {
            continue; /* cannot be placed in the lifecycle */
        }
        out->n_events++;
        if (st.first_ts == FC_TS_NONE) {
            st.first_ts = e->ts;
        }
        st.last_ts = e->ts;
        fold_one(out, &st, e);
    }

    if (out->city.n == 0) {
        out->city = st.city;
    }
    if (out->zone.n == 0) {
        out->zone = st.zone;
    }
    if (out->merchant.n == 0) {
        out->merchant = st.merchant;
    }
    if (out->customer.n == 0) {
        out->customer = st.customer;
    }
    out->rider = st.final_accept_rider.n > 0  ? st.final_accept_rider
                 : st.prev_accept_rider.n > 0 ? st.prev_accept_rider
                                              : st.step_rider;
    if (out->last_accepted_at == FC_TS_NONE) {
        out->last_accepted_at = out->accepted_at; /* every acceptance came after the pickup */
    }
    fill_status(out, &st);
    fill_legs(out, &st);
    fill_far(out, &st);
    fill_door_gps(out, &st, events, scratch, n);
    out->weather_severity = weather_of(out, &st, ctx);
    out->rider_tenure_days =
        fc_order_tenure_days(out->created_at, ctx ? ctx->rider_start_date : INT32_MIN);
    out->incidents = fc_order_incidents(out, ctx ? ctx->thresholds : NULL);
    return FC_OK;
}
