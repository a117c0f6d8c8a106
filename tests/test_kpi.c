/*
 * kpi: fact table, cube, catalog and loading from the store, on small
 * fixtures whose expected values are worked out by hand in the comments.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ingest/ingest.h"
#include "kpi/kpi.h"
#include "support.h"

/* 2026-03-02 (a Monday) 00:00:00 UTC. */
#define MAR2 1772409600

/* Doubles compared within eps (cmocka's float assertion works in float). */
#define assert_near(a, b, eps) assert_near_at((a), (b), (eps), __FILE__, __LINE__)
static void assert_near_at(double a, double b, double eps, const char *file, int line) {
    if (!(fabs(a - b) <= eps)) {
        fail_msg("%s:%d: %.12g is not %.12g (within %g)", file, line, a, b, eps);
    }
}

static fc_ref *make_ref(void) {
    fc_ref *r = fc_ref_new();
    assert_non_null(r);
    fc_err err;
    assert_int_equal(fc_ref_put_city(r, "riyadh", "SA", "Asia/Riyadh", "SAR", &err), FC_OK);
    assert_int_equal(fc_ref_put_city(r, "sao_paulo", "BR", "America/Sao_Paulo", "BRL", &err),
                     FC_OK);
    assert_int_equal(fc_ref_put_city(r, "kuwait_city", "KW", "Asia/Kuwait", "KWD", &err), FC_OK);
    assert_int_equal(fc_ref_put_zone(r, "riyadh", "olaya", FC_ZONE_BUSINESS_DISTRICT, &err), FC_OK);
    assert_int_equal(fc_ref_put_zone(r, "riyadh", "malaz", FC_ZONE_RESIDENTIAL, &err), FC_OK);
    fc_merchant m = {.merchant = "m1",
                     .city = "riyadh",
                     .zone = "olaya",
                     .kind = "fast_food",
                     .brand = "burgerco",
                     .lat_e6 = FC_GEO_NONE,
                     .lng_e6 = FC_GEO_NONE};
    assert_int_equal(fc_ref_put_merchant(r, &m, &err), FC_OK);
    fc_rider rd = {.rider = "r1",
                   .city = "riyadh",
                   .capacity = FC_CAP_FULL_TIME,
                   .fleet = "",
                   .start_date = INT32_MIN};
    assert_int_equal(fc_ref_put_rider(r, &rd, &err), FC_OK);
    return r;
}

static fc_order_facts order(const char *city, const char *zone, int64_t created_at) {
    fc_order_facts o;
    fc_order_facts_init(&o);
    o.order = fc_str_c("o");
    o.city = fc_str_c(city);
    o.zone = fc_str_c(zone);
    o.merchant = fc_str_c("m1");
    o.category = fc_str_c("food");
    o.created_at = created_at;
    return o;
}

static void delivered(fc_order_facts *o, int32_t minutes) {
    o->status = FC_ORDER_DELIVERED;
    o->rider = fc_str_c("r1");
    o->delivery_s = minutes * 60;
    o->delivered_at = o->created_at + o->delivery_s;
}

static void add(fc_facts *t, const fc_order_facts *o, const fc_ref *ref) {
    fc_thresholds th = {
        .grace_s = 300, .severe_late_s = 1200, .bad_rating_max = 2, .prep_overrun_s = 300};
    int added = 0;
    fc_err err;
    assert_int_equal(fc_facts_add(t, o, ref, &th, &added, &err), FC_OK);
    assert_int_equal(added, 1);
}

static double kpi(const fc_kpi_counts *c, const char *name) {
    int k = fc_kpi_find(fc_str_c(name));
    assert_true(k >= 0);
    double v = NAN;
    assert_int_equal(fc_kpi_value(c, (size_t)k, &v), FC_OK);
    return v;
}

static void kpi_text(const fc_facts *t, const fc_kpi_counts *c, const char *name, char *buf,
                     size_t n) {
    int k = fc_kpi_find(fc_str_c(name));
    assert_true(k >= 0);
    fc_kpi_format(t, c, (size_t)k, buf, n);
}

static fc_cube *cube(const fc_facts *t, const fc_cube_query *q) {
    fc_cube *c = NULL;
    fc_err err;
    fc_err_clear(&err);
    int rc = fc_cube_build(t, q, &c, &err);
    if (rc != FC_OK) {
        fail_msg("cube: %s", err.msg);
    }
    return c;
}

/* The six Riyadh orders of the hand-computed fixture. */
static fc_facts *riyadh_fixture(const fc_ref *ref) {
    fc_facts *t = fc_facts_new();
    assert_non_null(t);
    int64_t t0 = MAR2 + 9 * 3600; /* 12:00 local */

    /* o1: delivered in 30 min, on time, rating 5, NPS 10, pushed once and
     * accepted, 5 min wait, ready a minute early, cost 10.00, value 50.00. */
    fc_order_facts o = order("riyadh", "olaya", t0);
    delivered(&o, 30);
    o.rating = 5;
    o.survey = 10;
    o.pushes = 1;
    o.accepted_at = t0 + 60;
    o.wait_at_merchant_s = 300;
    o.est_ready_at = t0 + 900;
    o.ready_at = t0 + 840;
    o.prep_overrun_s = -60;
    o.delivery_cost_minor = 1000;
    o.order_value_minor = 5000;
    o.currency = fc_str_c("SAR");
    add(t, &o, ref);

    /* o2: delivered in 40 min, late, rating 2 (bad), NPS 6, two pushes, one
     * refusal, accepted, 10 min wait, ready 10 min late (overrun), a
     * complaint with 5.00 compensation, a CS contact, cost 12.00, value 80.00. */
    o = order("riyadh", "olaya", t0 + 60);
    delivered(&o, 40);
    o.incidents = FC_INC_LATE | FC_INC_BAD_RATING | FC_INC_COMPLAINT;
    o.rating = 2;
    o.survey = 6;
    o.pushes = 2;
    o.refusals = 1;
    o.accepted_at = t0 + 200;
    o.wait_at_merchant_s = 600;
    o.est_ready_at = t0 + 900;
    o.ready_at = t0 + 1500;
    o.prep_overrun_s = 600;
    o.complaints = 1;
    o.cs_contacts = 1;
    o.compensation_minor = 500;
    o.delivery_cost_minor = 1200;
    o.order_value_minor = 8000;
    o.currency = fc_str_c("SAR");
    add(t, &o, ref);

    /* o3: delivered in 70 min, late and severely late, rating 4, NPS 8,
     * pushed once and accepted, no wait or prep instants, cost 15.00, value
     * 30.00. */
    o = order("riyadh", "malaz", t0 + 120);
    delivered(&o, 70);
    o.incidents = FC_INC_LATE | FC_INC_SEVERE_LATE;
    o.rating = 4;
    o.survey = 8;
    o.pushes = 1;
    o.accepted_at = t0 + 300;
    o.delivery_cost_minor = 1500;
    o.order_value_minor = 3000;
    o.currency = fc_str_c("SAR");
    add(t, &o, ref);

    /* o4: cancelled by the customer before any push, no cost, value 40.00. */
    o = order("riyadh", "malaz", t0 + 180);
    o.status = FC_ORDER_CANCELLED;
    o.cancelled_by = FC_PARTY_CUSTOMER;
    o.incidents = FC_INC_CANCELLED;
    o.order_value_minor = 4000;
    o.currency = fc_str_c("SAR");
    add(t, &o, ref);

    /* o5: cancelled by the merchant after one push nobody accepted; cost
     * 2.00, compensation 3.00, value 60.00. */
    o = order("riyadh", "malaz", t0 + 240);
    o.status = FC_ORDER_CANCELLED;
    o.cancelled_by = FC_PARTY_MERCHANT;
    o.incidents = FC_INC_CANCELLED;
    o.pushes = 1;
    o.delivery_cost_minor = 200;
    o.compensation_minor = 300;
    o.order_value_minor = 6000;
    o.currency = fc_str_c("SAR");
    add(t, &o, ref);

    /* o6: undeliverable after one accepted push, two CS contacts, cost 8.00,
     * value 20.00. */
    o = order("riyadh", "olaya", t0 + 300);
    o.status = FC_ORDER_UNDELIVERABLE;
    o.incidents = FC_INC_UNDELIVERABLE;
    o.rider = fc_str_c("r1");
    o.pushes = 1;
    o.accepted_at = t0 + 400;
    o.cs_contacts = 2;
    o.delivery_cost_minor = 800;
    o.order_value_minor = 2000;
    o.currency = fc_str_c("SAR");
    add(t, &o, ref);
    fc_facts_seal(t);
    return t;
}

static void test_catalog_by_hand(void **state) {
    (void)state;
    fc_ref *ref = make_ref();
    fc_facts *t = riyadh_fixture(ref);
    assert_int_equal(fc_facts_count(t), 6);
    fc_cube_query q;
    fc_cube_query_init(&q);
    fc_cube *c = cube(t, &q);
    assert_int_equal(fc_cube_groups(c), 1);
    const fc_kpi_counts *k = fc_cube_counts(c, 0);

    assert_int_equal(k->orders, 6);
    assert_int_equal(k->delivered, 3);
    /* on time = (3 delivered - 2 late) / 3 delivered */
    assert_near(kpi(k, "on_time_rate"), 1.0 / 3.0, 1e-12);
    assert_near(kpi(k, "late_rate"), 2.0 / 3.0, 1e-12);
    assert_near(kpi(k, "severe_late_rate"), 1.0 / 3.0, 1e-12);
    /* mean delivery = (30 + 40 + 70) / 3 = 46.67 min */
    assert_near(kpi(k, "delivery_min_mean"), 140.0 / 3.0, 1e-9);
    /* p50: rank 0.5 * 3 = 1.5 falls in bucket [40, 41) holding 1 order with 1
     * before it: 40 + (1.5 - 1) / 1 = 40.5. p90: rank 2.7 in [70, 71): 70.7. */
    assert_near(kpi(k, "delivery_min_p50"), 40.5, 1e-9);
    assert_near(kpi(k, "delivery_min_p90"), 70.7, 1e-9);
    /* cancels 2 / 6 orders: customer 1 / 6, merchant 1 / 6 */
    assert_near(kpi(k, "cancel_rate"), 2.0 / 6.0, 1e-12);
    assert_near(kpi(k, "cancel_rate_customer"), 1.0 / 6.0, 1e-12);
    assert_near(kpi(k, "cancel_rate_merchant"), 1.0 / 6.0, 1e-12);
    assert_near(kpi(k, "cancel_rate_rider"), 0.0, 1e-12);
    assert_near(kpi(k, "undeliverable_rate"), 1.0 / 6.0, 1e-12);
    /* complaints: o2 -> 1 / 6 */
    assert_near(kpi(k, "complaint_rate"), 1.0 / 6.0, 1e-12);
    /* ratings 5, 2, 4: bad (<= 2) 1 / 3, CSAT (>= 4) 2 / 3 */
    assert_near(kpi(k, "bad_rating_rate"), 1.0 / 3.0, 1e-12);
    assert_near(kpi(k, "csat"), 2.0 / 3.0, 1e-12);
    /* NPS answers 10, 6, 8: (1 promoter - 1 detractor) / 3 = 0 */
    assert_near(kpi(k, "nps"), 0.0, 1e-12);
    /* pushed: o1 o2 o3 o5 o6 = 5, accepted: o1 o2 o3 o6 = 4 -> 80 % */
    assert_near(kpi(k, "push_completion_rate"), 0.8, 1e-12);
    /* refusals 1 / pushes (1 + 2 + 1 + 1 + 1 = 6) */
    assert_near(kpi(k, "refusal_rate"), 1.0 / 6.0, 1e-12);
    /* wait (300 + 600) / 2 s = 7.5 min */
    assert_near(kpi(k, "merchant_wait_min"), 7.5, 1e-12);
    /* prep known on o1, o2; overrun (600 > 300) on o2 -> 1 / 2 */
    assert_near(kpi(k, "prep_overrun_rate"), 0.5, 1e-12);
    /* CS contacts on o2, o6 -> 2 / 6 */
    assert_near(kpi(k, "cs_contact_rate"), 2.0 / 6.0, 1e-12);
    /* CPO = (1000 + 1200 + 500 + 1500 + 0 + 200 + 300 + 800) / 3 delivered
     *     = 5500 / 3 = 1833.33 halalas -> "18.33" */
    assert_near(kpi(k, "cpo"), 5500.0 / 3.0, 1e-9);
    char buf[64];
    kpi_text(t, k, "cpo", buf, sizeof buf);
    assert_string_equal(buf, "18.33");
    /* exception loss = compensation (500 + 300) / value (50 + 80 + 30 + 40 +
     * 60 + 20 = 280.00) = 800 / 28000 = 2.857 % -> "2.9" */
    assert_near(kpi(k, "exception_loss_rate"), 800.0 / 28000.0, 1e-12);
    kpi_text(t, k, "exception_loss_rate", buf, sizeof buf);
    assert_string_equal(buf, "2.9");
    kpi_text(t, k, "on_time_rate", buf, sizeof buf);
    assert_string_equal(buf, "33.3");
    kpi_text(t, k, "orders", buf, sizeof buf);
    assert_string_equal(buf, "6");
    fc_cube_free(c);
    fc_facts_free(t);
    fc_ref_free(ref);
}

static void test_group_and_filter(void **state) {
    (void)state;
    fc_ref *ref = make_ref();
    fc_facts *t = riyadh_fixture(ref);
    char label[64];

    /* By zone: olaya has o1 o2 o6, malaz o3 o4 o5 (olaya seen first). */
    fc_cube_query q;
    fc_cube_query_init(&q);
    q.n_by = 2;
    q.by[0] = FC_DIM_ZONE;
    q.by[1] = FC_DIM_ZONE_KIND;
    fc_cube *c = cube(t, &q);
    assert_int_equal(fc_cube_groups(c), 2);
    fc_facts_label(t, FC_DIM_ZONE, fc_cube_key(c, 0, 0), label, sizeof label);
    assert_string_equal(label, "olaya");
    fc_facts_label(t, FC_DIM_ZONE_KIND, fc_cube_key(c, 0, 1), label, sizeof label);
    assert_string_equal(label, "business_district");
    assert_int_equal(fc_cube_counts(c, 0)->orders, 3);
    /* olaya: delivered o1 o2, late o2 -> on time 1 / 2 */
    assert_near(kpi(fc_cube_counts(c, 0), "on_time_rate"), 0.5, 1e-12);
    fc_facts_label(t, FC_DIM_ZONE, fc_cube_key(c, 1, 0), label, sizeof label);
    assert_string_equal(label, "malaz");
    assert_int_equal(fc_cube_counts(c, 1)->orders, 3);
    /* malaz: cancels o4 o5 -> 2 / 3 */
    assert_near(kpi(fc_cube_counts(c, 1), "cancel_rate"), 2.0 / 3.0, 1e-12);
    fc_cube_free(c);

    /* Filters: status in (delivered, cancelled) AND zone = riyadh/malaz ->
     * o3 o4 o5. */
    const char *statuses[] = {"delivered", "cancelled"};
    const char *zones[] = {"riyadh/malaz"};
    fc_kpi_filter f[2] = {{FC_DIM_STATUS, statuses, 2}, {FC_DIM_ZONE, zones, 1}};
    fc_cube_query_init(&q);
    q.filters = f;
    q.n_filters = 2;
    q.n_by = 1;
    q.by[0] = FC_DIM_STATUS;
    c = cube(t, &q);
    assert_int_equal(fc_cube_total(c)->orders, 3);
    assert_int_equal(fc_cube_groups(c), 2);
    fc_facts_label(t, FC_DIM_STATUS, fc_cube_key(c, 0, 0), label, sizeof label);
    assert_string_equal(label, "delivered");
    assert_int_equal(fc_cube_counts(c, 0)->orders, 1);
    fc_facts_label(t, FC_DIM_STATUS, fc_cube_key(c, 1, 0), label, sizeof label);
    assert_string_equal(label, "cancelled");
    assert_int_equal(fc_cube_counts(c, 1)->orders, 2);
    fc_cube_free(c);

    /* Derived dimensions filter too: brand, merchant kind, capacity. */
    const char *brand[] = {"burgerco"};
    const char *cap[] = {"full_time"};
    fc_kpi_filter f2[2] = {{FC_DIM_BRAND, brand, 1}, {FC_DIM_CAPACITY, cap, 1}};
    fc_cube_query_init(&q);
    q.filters = f2;
    q.n_filters = 2;
    c = cube(t, &q);
    /* Rider r1 (full time) is on o1 o2 o3 o6. */
    assert_int_equal(fc_cube_total(c)->orders, 4);
    fc_cube_free(c);

    /* Time window on the creation instant: [t0 + 60, t0 + 240) -> o2 o3 o4. */
    fc_cube_query_init(&q);
    q.from = MAR2 + 9 * 3600 + 60;
    q.to = MAR2 + 9 * 3600 + 240;
    c = cube(t, &q);
    assert_int_equal(fc_cube_total(c)->orders, 3);
    assert_int_equal(fc_cube_total(c)->delivered, 2);
    fc_cube_free(c);

    /* Parsing --from/--to text. */
    int64_t ts;
    int32_t date;
    fc_err err;
    assert_int_equal(fc_kpi_parse_when("2026-03-02", &ts, &date, &err), FC_OK);
    assert_int_equal(date, MAR2 / 86400);
    assert_true(ts == FC_TS_NONE);
    assert_int_equal(fc_kpi_parse_when("2026-03-02T12:00:00+03:00", &ts, &date, &err), FC_OK);
    assert_int_equal(ts, MAR2 + 9 * 3600);
    assert_int_equal(fc_kpi_parse_when("2026-02-30", &ts, &date, &err), FC_EPARSE);
    assert_int_equal(fc_kpi_parse_when("yesterday", &ts, &date, &err), FC_EPARSE);
    fc_facts_free(t);
    fc_ref_free(ref);
}

static void assert_same_kpis(const fc_kpi_counts *a, const fc_kpi_counts *b) {
    assert_memory_equal(a, b, sizeof *a);
    for (size_t k = 0; k < fc_kpi_count(); k++) {
        double x = 0, y = 0;
        int rx = fc_kpi_value(a, k, &x), ry = fc_kpi_value(b, k, &y);
        assert_int_equal(rx, ry);
        if (rx == FC_OK) {
            assert_near(x, y, 1e-12);
        }
    }
}

static void test_merge_equals_whole(void **state) {
    (void)state;
    fc_ref *ref = make_ref();
    fc_facts *t = riyadh_fixture(ref);
    /* Slice A: zone olaya; slice B: zone malaz. Their merged counters are the
     * counters of the whole table, so every KPI agrees. */
    const char *za[] = {"olaya"}, *zb[] = {"malaz"};
    fc_kpi_filter fa = {FC_DIM_ZONE, za, 1}, fb = {FC_DIM_ZONE, zb, 1};
    fc_cube_query q;
    fc_cube_query_init(&q);
    fc_cube *whole = cube(t, &q);
    q.filters = &fa;
    q.n_filters = 1;
    fc_cube *a = cube(t, &q);
    q.filters = &fb;
    fc_cube *b = cube(t, &q);
    fc_kpi_counts m;
    memset(&m, 0, sizeof m);
    fc_kpi_counts_merge(&m, fc_cube_total(a));
    fc_kpi_counts_merge(&m, fc_cube_total(b));
    assert_int_not_equal(fc_cube_total(a)->orders, 0);
    assert_int_not_equal(fc_cube_total(b)->orders, 0);
    assert_same_kpis(&m, fc_cube_total(whole));

    /* Grouped by hour x zone: the groups add up to the whole too. */
    fc_cube_query_init(&q);
    q.n_by = 2;
    q.by[0] = FC_DIM_HOUR;
    q.by[1] = FC_DIM_ZONE;
    fc_cube *g = cube(t, &q);
    memset(&m, 0, sizeof m);
    for (size_t i = 0; i < fc_cube_groups(g); i++) {
        fc_kpi_counts_merge(&m, fc_cube_counts(g, i));
    }
    assert_same_kpis(&m, fc_cube_total(whole));
    fc_cube_free(g);
    fc_cube_free(whole);
    fc_cube_free(a);
    fc_cube_free(b);
    fc_facts_free(t);
    fc_ref_free(ref);
}

static void test_percentiles(void **state) {
    (void)state;
    fc_kpi_counts c;
    memset(&c, 0, sizeof c);
    double v;
    assert_int_equal(fc_kpi_percentile(&c, 0.5, &v), FC_ENOTFOUND);
    /* Ten orders at 10, 20, ..., 100 minutes: p50 rank 5 is the 5th order,
     * alone in [50, 51) with 4 before: 50 + (5 - 4) / 1 = 51; p90 likewise 91. */
    for (int m = 10; m <= 100; m += 10) {
        c.hist[m]++;
    }
    assert_int_equal(fc_kpi_percentile(&c, 0.5, &v), FC_OK);
    assert_near(v, 51.0, 1e-12);
    assert_int_equal(fc_kpi_percentile(&c, 0.9, &v), FC_OK);
    assert_near(v, 91.0, 1e-12);
    /* Four orders in [30, 31): p50 rank 2 -> 30 + 2 / 4 = 30.5. */
    memset(&c, 0, sizeof c);
    c.hist[30] = 4;
    assert_int_equal(fc_kpi_percentile(&c, 0.5, &v), FC_OK);
    assert_near(v, 30.5, 1e-12);
    /* Merged histograms: {30 x4} + {60 x4}: p50 rank 4 is the last order of
     * [30, 31) -> 31; p90 rank 7.2 -> 60 + (7.2 - 4) / 4 = 60.8. */
    fc_kpi_counts d;
    memset(&d, 0, sizeof d);
    d.hist[60] = 4;
    fc_kpi_counts_merge(&c, &d);
    assert_int_equal(fc_kpi_percentile(&c, 0.5, &v), FC_OK);
    assert_near(v, 31.0, 1e-12);
    assert_int_equal(fc_kpi_percentile(&c, 0.9, &v), FC_OK);
    assert_near(v, 60.8, 1e-12);
    /* Beyond three hours everything lands in the overflow bucket, read as 180. */
    memset(&c, 0, sizeof c);
    c.hist[FC_KPI_HIST_MINUTES] = 3;
    assert_int_equal(fc_kpi_percentile(&c, 0.5, &v), FC_OK);
    assert_near(v, 180.0, 1e-12);

    /* Through the fact table: a 200-minute delivery goes to overflow. */
    fc_ref *ref = make_ref();
    fc_facts *t = fc_facts_new();
    fc_order_facts o = order("riyadh", "olaya", MAR2);
    delivered(&o, 200);
    add(t, &o, ref);
    fc_cube_query q;
    fc_cube_query_init(&q);
    fc_cube *cb = cube(t, &q);
    assert_int_equal(fc_cube_total(cb)->hist[FC_KPI_HIST_MINUTES], 1);
    assert_near(kpi(fc_cube_total(cb), "delivery_min_mean"), 200.0, 1e-12);
    fc_cube_free(cb);
    fc_facts_free(t);
    fc_ref_free(ref);
}

static void expect_label(const fc_facts *t, fc_dim d, size_t row, const char *want) {
    char label[64];
    fc_facts_label(t, d, fc_facts_value(t, d, row), label, sizeof label);
    assert_string_equal(label, want);
}

static void test_local_time_two_zones(void **state) {
    (void)state;
    fc_ref *ref = make_ref();
    fc_facts *t = fc_facts_new();
    /* Riyadh is UTC+3, Sao Paulo UTC-3 (no DST since 2019).
     * row 0: riyadh 2026-03-02T20:30Z = 23:30 Mon 2 Mar local
     * row 1: riyadh 2026-03-02T21:30Z = 00:30 Tue 3 Mar local
     * row 2: sao_paulo 2026-03-03T02:30Z = 23:30 Mon 2 Mar local
     * row 3: sao_paulo 2026-03-03T03:30Z = 00:30 Tue 3 Mar local */
    fc_order_facts o = order("riyadh", "olaya", MAR2 + 20 * 3600 + 1800);
    add(t, &o, ref);
    o = order("riyadh", "olaya", MAR2 + 21 * 3600 + 1800);
    add(t, &o, ref);
    o = order("sao_paulo", "centro", MAR2 + 26 * 3600 + 1800);
    o.merchant = fc_str_c("m9");
    add(t, &o, ref);
    o = order("sao_paulo", "centro", MAR2 + 27 * 3600 + 1800);
    o.merchant = fc_str_c("m9");
    add(t, &o, ref);
    for (size_t r = 0; r < 4; r += 2) {
        expect_label(t, FC_DIM_HOUR, r, "23");
        expect_label(t, FC_DIM_DATE, r, "2026-03-02");
        expect_label(t, FC_DIM_WEEKDAY, r, "mon");
        expect_label(t, FC_DIM_DAYPART, r, "late_night");
        expect_label(t, FC_DIM_HOUR, r + 1, "00");
        expect_label(t, FC_DIM_DATE, r + 1, "2026-03-03");
        expect_label(t, FC_DIM_WEEKDAY, r + 1, "tue");
    }
    expect_label(t, FC_DIM_COUNTRY, 0, "SA");
    expect_label(t, FC_DIM_COUNTRY, 2, "BR");
    /* Unknown reference data reads as "unknown". */
    expect_label(t, FC_DIM_BRAND, 2, "unknown");
    expect_label(t, FC_DIM_ZONE_KIND, 2, "unknown");
    expect_label(t, FC_DIM_BRAND, 0, "burgerco");
    expect_label(t, FC_DIM_MERCHANT_KIND, 0, "fast_food");

    /* Group by date x city: each local day holds one order per city. */
    fc_cube_query q;
    fc_cube_query_init(&q);
    q.n_by = 2;
    q.by[0] = FC_DIM_DATE;
    q.by[1] = FC_DIM_CITY;
    fc_cube *c = cube(t, &q);
    assert_int_equal(fc_cube_groups(c), 4);
    for (size_t g = 0; g < 4; g++) {
        assert_int_equal(fc_cube_counts(c, g)->orders, 1);
    }
    char label[32];
    fc_facts_label(t, FC_DIM_DATE, fc_cube_key(c, 0, 0), label, sizeof label);
    assert_string_equal(label, "2026-03-02");
    fc_facts_label(t, FC_DIM_DATE, fc_cube_key(c, 3, 0), label, sizeof label);
    assert_string_equal(label, "2026-03-03");
    fc_cube_free(c);

    /* A local date window: from 2026-03-03 keeps the two after-midnight
     * orders, though in UTC one is on the 2nd and the other on the 3rd. */
    fc_cube_query_init(&q);
    q.from_date = (int32_t)(MAR2 / 86400 + 1);
    q.n_by = 1;
    q.by[0] = FC_DIM_HOUR;
    c = cube(t, &q);
    assert_int_equal(fc_cube_total(c)->orders, 2);
    assert_int_equal(fc_cube_groups(c), 1);
    fc_facts_label(t, FC_DIM_HOUR, fc_cube_key(c, 0, 0), label, sizeof label);
    assert_string_equal(label, "00");
    fc_cube_free(c);
    /* --where hour=23 (and "23" written as a number). */
    const char *h[] = {"23"};
    fc_kpi_filter f = {FC_DIM_HOUR, h, 1};
    fc_cube_query_init(&q);
    q.filters = &f;
    q.n_filters = 1;
    c = cube(t, &q);
    assert_int_equal(fc_cube_total(c)->orders, 2);
    fc_cube_free(c);
    fc_facts_free(t);
    fc_ref_free(ref);

    assert_int_equal(fc_daypart_of_hour(6), FC_DAYPART_BREAKFAST);
    assert_int_equal(fc_daypart_of_hour(10), FC_DAYPART_BREAKFAST);
    assert_int_equal(fc_daypart_of_hour(11), FC_DAYPART_LUNCH);
    assert_int_equal(fc_daypart_of_hour(15), FC_DAYPART_AFTERNOON);
    assert_int_equal(fc_daypart_of_hour(17), FC_DAYPART_DINNER);
    assert_int_equal(fc_daypart_of_hour(21), FC_DAYPART_DINNER);
    assert_int_equal(fc_daypart_of_hour(22), FC_DAYPART_LATE_NIGHT);
    assert_int_equal(fc_daypart_of_hour(5), FC_DAYPART_LATE_NIGHT);
}

static void test_money_kwd_and_mixed(void **state) {
    (void)state;
    fc_ref *ref = make_ref();
    fc_facts *t = fc_facts_new();
    /* Kuwait: two delivered orders costing 1.250 and 0.750 KWD, one with
     * 0.500 compensation: CPO = (1250 + 750 + 500) / 2 = 1250 fils = 1.250. */
    fc_order_facts o = order("kuwait_city", "salmiya", MAR2);
    delivered(&o, 25);
    o.delivery_cost_minor = 1250;
    o.currency = fc_str_c("KWD");
    add(t, &o, ref);
    o = order("kuwait_city", "salmiya", MAR2 + 60);
    delivered(&o, 35);
    o.delivery_cost_minor = 750;
    o.compensation_minor = 500;
    /* No currency on the order: the city's (KWD) is used. */
    add(t, &o, ref);
    /* Riyadh: one delivered order costing 9.99 SAR. */
    o = order("riyadh", "olaya", MAR2);
    delivered(&o, 20);
    o.delivery_cost_minor = 999;
    o.currency = fc_str_c("SAR");
    add(t, &o, ref);

    fc_cube_query q;
    fc_cube_query_init(&q);
    q.n_by = 1;
    q.by[0] = FC_DIM_CITY;
    fc_cube *c = cube(t, &q);
    assert_int_equal(fc_cube_groups(c), 2);
    char buf[64];
    /* Kuwait was seen first. */
    kpi_text(t, fc_cube_counts(c, 0), "cpo", buf, sizeof buf);
    assert_string_equal(buf, "1.250");
    assert_string_equal(fc_facts_currency(t, (uint32_t)fc_kpi_currency(fc_cube_counts(c, 0))),
                        "KWD");
    kpi_text(t, fc_cube_counts(c, 1), "cpo", buf, sizeof buf);
    assert_string_equal(buf, "9.99");

    /* The whole table mixes KWD and SAR: no money KPI, the others stand. */
    const fc_kpi_counts *all = fc_cube_total(c);
    assert_int_equal(fc_kpi_currency(all), -2);
    double v;
    assert_int_equal(fc_kpi_value(all, (size_t)fc_kpi_find(fc_str_c("cpo")), &v), FC_EINVAL);
    assert_int_equal(fc_kpi_value(all, (size_t)fc_kpi_find(fc_str_c("exception_loss_rate")), &v),
                     FC_EINVAL);
    kpi_text(t, all, "cpo", buf, sizeof buf);
    assert_string_equal(buf, "");
    assert_near(kpi(all, "on_time_rate"), 1.0, 1e-12);
    fc_cube_free(c);
    fc_facts_free(t);
    fc_ref_free(ref);
}

static void test_empty_slices(void **state) {
    (void)state;
    fc_ref *ref = make_ref();
    /* An empty table. */
    fc_facts *t = fc_facts_new();
    fc_cube_query q;
    fc_cube_query_init(&q);
    q.n_by = 2;
    q.by[0] = FC_DIM_CITY;
    q.by[1] = FC_DIM_DATE;
    fc_cube *c = cube(t, &q);
    assert_int_equal(fc_cube_groups(c), 0);
    assert_int_equal(fc_cube_total(c)->orders, 0);
    fc_cube_free(c);
    fc_facts_free(t);

    /* A filter that matches nothing. */
    t = riyadh_fixture(ref);
    const char *nowhere[] = {"atlantis"};
    fc_kpi_filter f = {FC_DIM_CITY, nowhere, 1};
    fc_cube_query_init(&q);
    q.filters = &f;
    q.n_filters = 1;
    c = cube(t, &q);
    assert_int_equal(fc_cube_groups(c), 0);
    const fc_kpi_counts *k = fc_cube_total(c);
    assert_int_equal(k->orders, 0);
    double v;
    char buf[32];
    for (size_t i = 0; i < fc_kpi_count(); i++) {
        if (fc_kpi_at(i)->unit == FC_KPI_COUNT) {
            continue;
        }
        assert_int_equal(fc_kpi_value(k, i, &v), FC_ENOTFOUND);
        fc_kpi_format(t, k, i, buf, sizeof buf);
        assert_string_equal(buf, "");
    }
    fc_cube_free(c);

    /* A bad query is refused with a reason. */
    fc_cube_query_init(&q);
    q.n_by = 2;
    q.by[0] = FC_DIM_CITY;
    q.by[1] = FC_DIM_CITY;
    fc_err err;
    assert_int_equal(fc_cube_build(t, &q, &c, &err), FC_EINVAL);
    assert_null(c);
    assert_non_null(strstr(err.msg, "city"));
    fc_facts_free(t);
    fc_ref_free(ref);

    /* Names. */
    assert_int_equal(fc_dim_from(fc_str_c("zone_kind")), FC_DIM_ZONE_KIND);
    assert_int_equal(fc_dim_from(fc_str_c("nope")), -1);
    assert_int_equal(fc_kpi_find(fc_str_c("nope")), -1);
    assert_string_equal(fc_dim_name(FC_DIM_WEATHER), "weather");
}

/* ---------------------------------------------------------------------------
 * Through the store: the fixture under tests/data/kpi ingested with the real
 * pipeline, loaded, folded and aggregated; and the CLI on the same store.
 */

static char tmpdir[256];

static void make_tmpdir(void) {
    char *dir = fc_test_tmpdir();
    assert_non_null(dir);
    snprintf(tmpdir, sizeof tmpdir, "%s", dir);
    free(dir);
}

static void remove_tmpdir(void) {
    fc_test_rmtree(tmpdir);
}

static const char *const fixture_files[] = {"cities.csv", "zones.csv",  "merchants.csv",
                                            "riders.csv", "orders.csv", "events.jsonl"};

static void ingest_fixture(const char *db) {
    fc_store *s = NULL;
    fc_err err;
    fc_err_clear(&err);
    if (fc_store_open(db, &s, &err) != FC_OK) {
        fail_msg("open: %s", err.msg);
    }
    char rejects[512];
    snprintf(rejects, sizeof rejects, "%s/rejects.csv", tmpdir);
    fc_ingest_opts opts = {.reject_path = rejects, .max_errors = -1, .quiet = 1};
    for (size_t i = 0; i < sizeof fixture_files / sizeof fixture_files[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/kpi/%s", FC_TEST_DATA, fixture_files[i]);
        fc_ingest_log log;
        if (fc_ingest_file(s, path, &opts, &log, &err) != FC_OK) {
            fail_msg("ingest %s: %s", path, err.msg);
        }
        assert_int_equal(log.rejected, 0);
    }
    fc_store_close(s);
}

static void test_load_from_store(void **state) {
    (void)state;
    make_tmpdir();
    char db[512];
    snprintf(db, sizeof db, "%s/kpi.db", tmpdir);
    ingest_fixture(db);

    fc_store *s = NULL;
    fc_err err;
    assert_int_equal(fc_store_open(db, &s, &err), FC_OK);
    fc_facts *t = NULL;
    fc_kpi_load_stats st;
    if (fc_facts_load_store(s, NULL, &t, &st, &err) != FC_OK) {
        fail_msg("load: %s", err.msg);
    }
    fc_store_close(s);
    assert_int_equal(st.orders, 5);
    assert_int_equal(st.weather, 1);

    fc_cube_query q;
    fc_cube_query_init(&q);
    q.n_by = 1;
    q.by[0] = FC_DIM_CITY;
    fc_cube *c = cube(t, &q);
    assert_int_equal(fc_cube_groups(c), 2);
    char label[64], buf[64];
    fc_facts_label(t, FC_DIM_CITY, fc_cube_key(c, 0, 0), label, sizeof label);
    assert_string_equal(label, "riyadh");
    const fc_kpi_counts *r = fc_cube_counts(c, 0);
    /* Riyadh (see tests/data/kpi/README.md): R1 delivered 30 min after
     * creation, 10 min before its promise; R2 delivered 50 min after, 15 min
     * past its promise (late with the default 5 min grace, not severe); R3
     * cancelled by the customer. */
    assert_int_equal(r->orders, 3);
    assert_int_equal(r->delivered, 2);
    assert_near(kpi(r, "on_time_rate"), 0.5, 1e-12);
    assert_near(kpi(r, "cancel_rate_customer"), 1.0 / 3.0, 1e-12);
    assert_near(kpi(r, "delivery_min_mean"), 40.0, 1e-12);
    /* CPO = (10.00 + 12.00 delivery + 5.00 compensation on R2) / 2 = 13.50 SAR */
    kpi_text(t, r, "cpo", buf, sizeof buf);
    assert_string_equal(buf, "13.50");
    /* R2's complaint and rating 2 */
    assert_near(kpi(r, "complaint_rate"), 1.0 / 3.0, 1e-12);
    assert_near(kpi(r, "bad_rating_rate"), 1.0, 1e-12);

    fc_facts_label(t, FC_DIM_CITY, fc_cube_key(c, 1, 0), label, sizeof label);
    assert_string_equal(label, "kuwait_city");
    const fc_kpi_counts *k = fc_cube_counts(c, 1);
    /* Kuwait: K1 and K2 delivered; CPO = (1.250 + 0.750) / 2 = 1.000 KWD */
    assert_int_equal(k->orders, 2);
    kpi_text(t, k, "cpo", buf, sizeof buf);
    assert_string_equal(buf, "1.000");
    fc_cube_free(c);

    /* The weather window covers K2 only (severity 3 = severe). */
    const char *severe[] = {"severe"};
    fc_kpi_filter f = {FC_DIM_WEATHER, severe, 1};
    fc_cube_query_init(&q);
    q.filters = &f;
    q.n_filters = 1;
    c = cube(t, &q);
    assert_int_equal(fc_cube_total(c)->orders, 1);
    fc_cube_free(c);
    fc_facts_free(t);
    remove_tmpdir();
}

static void test_cli(void **state) {
    (void)state;
    make_tmpdir();
    char db[512];
    snprintf(db, sizeof db, "%s/kpi.db", tmpdir);
    char files[6][512];
    const char *ingest[16] = {"ingest", "--db", db};
    int na = 3;
    for (size_t i = 0; i < 6; i++) {
        snprintf(files[i], sizeof files[i], "%s/kpi/%s", FC_TEST_DATA, fixture_files[i]);
        ingest[na++] = files[i];
    }
    ingest[na] = NULL;
    char *out = NULL;
    assert_int_equal(fc_test_run(NULL, ingest, &out, NULL), 0);
    free(out);

    const char *kpi_csv[] = {
        "kpi",      "--db", db,  "--by", "city", "--kpi", "orders,on_time_rate,cancel_rate,cpo",
        "--format", "csv",  NULL};
    assert_int_equal(fc_test_run(NULL, kpi_csv, &out, NULL), 0);
    /* Riyadh: 3 orders, on time 1/2, cancel 1/3, CPO 13.50 SAR; Kuwait: 2
     * orders, both on time, CPO 1.000 KWD. Rows in alphabetical order. */
    assert_string_equal(out, "city,currency,orders,on_time_rate,cancel_rate,cpo\n"
                             "kuwait_city,KWD,2,100.0,0.0,1.000\n"
                             "riyadh,SAR,3,50.0,33.3,13.50\n");
    free(out);

    const char *kpi_where[] = {"kpi",         "--db",  db,       "--by",     "hour", "--where",
                               "city=riyadh", "--kpi", "orders", "--format", "json", NULL};
    assert_int_equal(fc_test_run(NULL, kpi_where, &out, NULL), 0);
    assert_non_null(strstr(out, "\"hour\""));
    assert_null(strstr(out, "kuwait"));
    free(out);

    const char *bad[] = {"kpi", "--db", db, "--by", "planet", NULL};
    assert_int_equal(fc_test_run(NULL, bad, &out, NULL), 1);
    free(out);
    const char *help[] = {"kpi", "--help", NULL};
    assert_int_equal(fc_test_run(NULL, help, &out, NULL), 0);
    assert_non_null(strstr(out, "zone_kind"));
    assert_non_null(strstr(out, "push_completion_rate"));
    free(out);
    remove_tmpdir();
}

/* Every group of a cube over all dimensions, keyed by its labels, sorted by
 * key: two fact tables with the same orders give the same snapshot whatever
 * the order of their rows. */
typedef struct group_snap {
    char key[512];
    fc_kpi_counts counts;
} group_snap;

static int cmp_group_snap(const void *a, const void *b) {
    return strcmp(((const group_snap *)a)->key, ((const group_snap *)b)->key);
}

static group_snap *snapshot(const fc_facts *t, size_t *n) {
    fc_cube_query q;
    fc_cube_query_init(&q);
    for (int d = 0; d < FC_DIM__COUNT; d++) {
        q.by[q.n_by++] = (fc_dim)d;
    }
    fc_cube *c = cube(t, &q);
    *n = fc_cube_groups(c);
    group_snap *g = calloc(*n + 1, sizeof *g);
    assert_non_null(g);
    for (size_t i = 0; i < *n; i++) {
        size_t at = 0;
        for (size_t j = 0; j < q.n_by; j++) {
            char label[64];
            fc_facts_label(t, q.by[j], fc_cube_key(c, i, j), label, sizeof label);
            int w = snprintf(g[i].key + at, sizeof g[i].key - at, "%s|", label);
            assert_true(w > 0 && (size_t)w < sizeof g[i].key - at);
            at += (size_t)w;
        }
        g[i].counts = *fc_cube_counts(c, i);
        g[i].counts.hist[FC_KPI_HIST_BUCKETS] = 0; /* scratch */
    }
    fc_cube_free(c);
    qsort(g, *n, sizeof *g, cmp_group_snap);
    return g;
}

static void assert_same_facts(const fc_facts *a, const fc_facts *b) {
    assert_int_equal(fc_facts_count(a), fc_facts_count(b));
    size_t na = 0, nb = 0;
    group_snap *ga = snapshot(a, &na);
    group_snap *gb = snapshot(b, &nb);
    assert_int_equal(na, nb);
    for (size_t i = 0; i < na; i++) {
        assert_string_equal(ga[i].key, gb[i].key);
        assert_memory_equal(&ga[i].counts, &gb[i].counts, sizeof ga[i].counts);
    }
    free(ga);
    free(gb);
}

/* Load in two passes (the load holds no more than 0 MiB in one). */
static fc_facts *load_db_two_pass(const char *db, fc_kpi_load_stats *st);

static fc_facts *load_db(const char *db, fc_kpi_load_stats *st) {
    fc_store *s = NULL;
    fc_err err;
    fc_err_clear(&err);
    assert_int_equal(fc_store_open(db, &s, &err), FC_OK);
    fc_facts *t = NULL;
    if (fc_facts_load_store(s, NULL, &t, st, &err) != FC_OK) {
        fail_msg("load: %s", err.msg);
    }
    fc_store_close(s);
    return t;
}

static fc_facts *load_db_two_pass(const char *db, fc_kpi_load_stats *st) {
    assert_int_equal(setenv("FULCRUM_LOAD_HOLD_MB", "0", 1), 0);
    fc_facts *t = load_db(db, st);
    assert_int_equal(unsetenv("FULCRUM_LOAD_HOLD_MB"), 0);
    return t;
}

/* An order's CSV row ingested after its extra JSON Lines events (so its
 * records are neither adjacent nor in lifecycle order) folds to the same
 * facts as in the usual order, loaded in one pass or in two. */
static void test_load_ingest_order(void **state) {
    (void)state;
    make_tmpdir();
    char db1[512], db2[512];
    snprintf(db1, sizeof db1, "%s/csv_first.db", tmpdir);
    snprintf(db2, sizeof db2, "%s/jsonl_first.db", tmpdir);
    ingest_fixture(db1);

    fc_store *s = NULL;
    fc_err err;
    fc_err_clear(&err);
    assert_int_equal(fc_store_open(db2, &s, &err), FC_OK);
    char rejects[512];
    snprintf(rejects, sizeof rejects, "%s/rejects2.csv", tmpdir);
    fc_ingest_opts opts = {.reject_path = rejects, .max_errors = -1, .quiet = 1};
    static const char *const jsonl_first[] = {"cities.csv", "zones.csv",    "merchants.csv",
                                              "riders.csv", "events.jsonl", "orders.csv"};
    for (size_t i = 0; i < sizeof jsonl_first / sizeof jsonl_first[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/kpi/%s", FC_TEST_DATA, jsonl_first[i]);
        fc_ingest_log log;
        if (fc_ingest_file(s, path, &opts, &log, &err) != FC_OK) {
            fail_msg("ingest %s: %s", path, err.msg);
        }
    }
    fc_store_close(s);

    fc_kpi_load_stats st1, st2;
    fc_facts *t1 = load_db(db1, &st1);
    fc_facts *t2 = load_db(db2, &st2);
    assert_int_equal(st1.orders, 5);
    assert_int_equal(st2.orders, 5);
    assert_int_equal(st1.events, st2.events);
    assert_int_equal(st2.weather, 1);
    assert_same_facts(t1, t2);

    /* Two passes: the same facts, and the same rows in the same order (the
     * CLI test checks one-pass output row by row). */
    fc_kpi_load_stats st3, st4;
    fc_facts *t3 = load_db_two_pass(db1, &st3);
    fc_facts *t4 = load_db_two_pass(db2, &st4);
    assert_memory_equal(&st1, &st3, sizeof st1);
    assert_memory_equal(&st2, &st4, sizeof st2);
    assert_same_facts(t1, t3);
    assert_same_facts(t2, t4);
    for (size_t row = 0; row < fc_facts_count(t1); row++) {
        for (int d = 0; d < FC_DIM__COUNT; d++) {
            assert_int_equal(fc_facts_value(t1, (fc_dim)d, row),
                             fc_facts_value(t3, (fc_dim)d, row));
            assert_int_equal(fc_facts_value(t2, (fc_dim)d, row),
                             fc_facts_value(t4, (fc_dim)d, row));
        }
    }
    fc_facts_free(t1);
    fc_facts_free(t2);
    fc_facts_free(t3);
    fc_facts_free(t4);
    remove_tmpdir();
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

static fc_event created(const char *id, const char *order_id, int64_t ts) {
    fc_event e = ev(FC_EV_ORDER_CREATED, id, order_id, ts);
    e.city = fc_str_c("riyadh");
    e.zone = fc_str_c("olaya");
    e.merchant = fc_str_c("m1");
    e.category = fc_str_c("food");
    e.promised_at = ts + 40 * 60;
    return e;
}

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

/* Records whose events do not all belong to the record's order (a weather
 * event, another order's events) are split event by event, as when each
 * event has a record of its own. */
static void test_load_mixed_records(void **state) {
    (void)state;
    make_tmpdir();
    int64_t t0 = MAR2 + 9 * 3600;
    fc_event weather = ev(FC_EV_WEATHER, "w1", "", t0);
    weather.city = fc_str_c("riyadh");
    weather.from = t0 - 600;
    weather.to = t0 + 1800;
    weather.severity = 3;
    fc_event a_created = created("a:created", "A", t0);
    fc_event a_delivered = ev(FC_EV_ORDER_DELIVERED, "a:delivered", "A", t0 + 30 * 60);
    fc_event b_created = created("b:created", "B", t0 + 3600);
    fc_event b_delivered = ev(FC_EV_ORDER_DELIVERED, "b:delivered", "B", t0 + 3600 + 50 * 60);

    /* One record per order, weather on its own. */
    char db1[512], db2[512];
    snprintf(db1, sizeof db1, "%s/clean.db", tmpdir);
    const fc_event a1[] = {a_created, a_delivered}, b1[] = {b_created, b_delivered};
    const fc_event *ev1[] = {a1, b1, &weather};
    const char *ids1[] = {"A", "B", "w1"}, *orders1[] = {"A", "B", ""};
    const size_t n1[] = {2, 2, 1};
    append_records(db1, ids1, orders1, ev1, n1, 3);

    /* The same events, mixed: A's record holds the weather and B's creation,
     * B's record holds A's delivery. */
    snprintf(db2, sizeof db2, "%s/mixed.db", tmpdir);
    const fc_event a2[] = {a_created, weather, b_created}, b2[] = {a_delivered, b_delivered};
    const fc_event *ev2[] = {a2, b2};
    const char *ids2[] = {"A", "B"}, *orders2[] = {"A", "B"};
    const size_t n2[] = {3, 2};
    append_records(db2, ids2, orders2, ev2, n2, 2);

    fc_kpi_load_stats st1, st2;
    fc_facts *t1 = load_db(db1, &st1);
    fc_facts *t2 = load_db(db2, &st2);
    assert_int_equal(st1.orders, 2);
    assert_int_equal(st2.orders, 2);
    assert_int_equal(st2.weather, 1);
    assert_int_equal(st2.records, 2);
    assert_int_equal(st2.events, 5);
    assert_same_facts(t1, t2);
    fc_kpi_load_stats st3;
    fc_facts *t3 = load_db_two_pass(db2, &st3);
    assert_memory_equal(&st2, &st3, sizeof st2);
    assert_same_facts(t1, t3);
    fc_facts_free(t3);

    /* The weather window covers A only, and A is delivered in 30 minutes. */
    const char *severe[] = {"severe"};
    fc_kpi_filter f = {FC_DIM_WEATHER, severe, 1};
    fc_cube_query q;
    fc_cube_query_init(&q);
    q.filters = &f;
    q.n_filters = 1;
    fc_cube *c = cube(t2, &q);
    assert_int_equal(fc_cube_total(c)->orders, 1);
    assert_int_equal(fc_cube_total(c)->delivery_s, 30 * 60);
    fc_cube_free(c);
    fc_facts_free(t1);
    fc_facts_free(t2);
    remove_tmpdir();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_catalog_by_hand),
        cmocka_unit_test(test_group_and_filter),
        cmocka_unit_test(test_merge_equals_whole),
        cmocka_unit_test(test_percentiles),
        cmocka_unit_test(test_local_time_two_zones),
        cmocka_unit_test(test_money_kwd_and_mixed),
        cmocka_unit_test(test_empty_slices),
        cmocka_unit_test(test_load_from_store),
        cmocka_unit_test(test_load_ingest_order),
        cmocka_unit_test(test_load_mixed_records),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
