/*
 * ref: put, lookup, replace, iteration, kind names, unknown time zones and
 * allocation failures.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/core.h"
#include "ref/ref.h"

static void test_kind_names(void **state) {
    (void)state;
    assert_string_equal(fc_zone_kind_name(FC_ZONE_BUSINESS_DISTRICT), "business_district");
    assert_string_equal(fc_zone_kind_name(FC_ZONE_MIXED), "mixed");
    assert_string_equal(fc_zone_kind_name((fc_zone_kind)99), "unknown");
    assert_int_equal(fc_zone_kind_from(fc_str_c("residential")), FC_ZONE_RESIDENTIAL);
    assert_int_equal(fc_zone_kind_from(fc_str_c("Business-District")), FC_ZONE_BUSINESS_DISTRICT);
    assert_int_equal(fc_zone_kind_from(fc_str_c("office ")), FC_ZONE_OFFICE);
    assert_int_equal(fc_zone_kind_from(fc_str_c("suburb")), FC_ZONE_UNKNOWN);
    assert_int_equal(fc_zone_kind_from(fc_str_c("")), FC_ZONE_UNKNOWN);
    for (int k = 1; k < FC_ZONE__COUNT; k++) {
        assert_int_equal(fc_zone_kind_from(fc_str_c(fc_zone_kind_name((fc_zone_kind)k))), k);
    }
    assert_string_equal(fc_capacity_name(FC_CAP_PART_TIME), "part_time");
    assert_int_equal(fc_capacity_from(fc_str_c("crowd")), FC_CAP_CROWD);
    assert_int_equal(fc_capacity_from(fc_str_c("Full Time")), FC_CAP_FULL_TIME);
    assert_int_equal(fc_capacity_from(fc_str_c("intern")), FC_CAP_UNKNOWN);
    for (int c = 1; c < FC_CAP__COUNT; c++) {
        assert_int_equal(fc_capacity_from(fc_str_c(fc_capacity_name((fc_capacity)c))), c);
    }
}

static void test_cities(void **state) {
    (void)state;
    fc_ref *r = fc_ref_new();
    assert_non_null(r);
    fc_err err;
    assert_int_equal(fc_ref_put_city(r, "riyadh", "SA", "Asia/Riyadh", "SAR", &err), FC_OK);
    assert_int_equal(fc_ref_put_city(r, "kuwait_city", "KW", "Asia/Kuwait", "KWD", &err), FC_OK);
    assert_int_equal(fc_ref_city_count(r), 2);
    const fc_city *c = fc_ref_city(r, fc_str_c("riyadh"));
    assert_non_null(c);
    assert_string_equal(c->city, "riyadh");
    assert_string_equal(c->country, "SA");
    assert_string_equal(c->tz_name, "Asia/Riyadh");
    assert_string_equal(c->currency, "SAR");
    assert_non_null(c->tz);
    assert_int_equal(fc_tz_offset(c->tz, 1772368200), 3 * 3600);
    /* Lookup by a view that is not NUL-terminated. */
    assert_ptr_equal(fc_ref_city(r, fc_str_make("riyadh-north", 6)), c);
    assert_null(fc_ref_city(r, fc_str_c("doha")));
    assert_null(fc_ref_city(r, fc_str_c("Riyadh")));

    /* Replace keeps one entry and the same pointer, with the new values. */
    assert_int_equal(fc_ref_put_city(r, "riyadh", "SA", "Asia/Dubai", "AED", &err), FC_OK);
    assert_int_equal(fc_ref_city_count(r), 2);
    const fc_city *c2 = fc_ref_city(r, fc_str_c("riyadh"));
    assert_ptr_equal(c2, c);
    assert_string_equal(c2->tz_name, "Asia/Dubai");
    assert_string_equal(c2->currency, "AED");
    assert_int_equal(fc_tz_offset(c2->tz, 1772368200), 4 * 3600);

    /* An unknown zone is refused and the existing city is untouched. */
    fc_err_clear(&err);
    assert_int_equal(fc_ref_put_city(r, "riyadh", "SA", "Asia/Atlantis", "SAR", &err),
                     FC_ENOTFOUND);
    assert_int_equal(err.code, FC_ENOTFOUND);
    assert_non_null(strstr(err.msg, "Asia/Atlantis"));
    assert_non_null(strstr(err.msg, "riyadh"));
    assert_string_equal(err.field, "tz");
    assert_string_equal(fc_ref_city(r, fc_str_c("riyadh"))->tz_name, "Asia/Dubai");
    assert_int_equal(fc_ref_put_city(r, "atlantis", "XX", "Atlantic/Atlantis", "SAR", &err),
                     FC_ENOTFOUND);
    assert_null(fc_ref_city(r, fc_str_c("atlantis")));
    assert_int_equal(fc_ref_city_count(r), 2);

    /* A bad currency. */
    assert_int_equal(fc_ref_put_city(r, "doha", "QA", "Asia/Qatar", "riyal", &err), FC_EINVAL);
    assert_string_equal(err.field, "currency");
    assert_int_equal(fc_ref_put_city(r, "doha", "QA", "Asia/Qatar", NULL, &err), FC_EINVAL);
    assert_int_equal(fc_ref_put_city(r, "", "QA", "Asia/Qatar", "QAR", &err), FC_EINVAL);
    assert_null(fc_ref_city(r, fc_str_c("doha")));

    /* Iteration in insertion order. */
    assert_string_equal(fc_ref_city_at(r, 0)->city, "riyadh");
    assert_string_equal(fc_ref_city_at(r, 1)->city, "kuwait_city");
    assert_null(fc_ref_city_at(r, 2));
    fc_ref_free(r);
    fc_ref_free(NULL);
}

static void test_zones(void **state) {
    (void)state;
    fc_ref *r = fc_ref_new();
    assert_non_null(r);
    assert_int_equal(fc_ref_put_zone(r, "riyadh", "olaya", FC_ZONE_BUSINESS_DISTRICT, NULL), FC_OK);
    assert_int_equal(fc_ref_put_zone(r, "dubai", "olaya", FC_ZONE_RESIDENTIAL, NULL), FC_OK);
    assert_int_equal(fc_ref_zone_count(r), 2);
    /* Same zone name in two cities: two zones. */
    const fc_zone *z1 = fc_ref_zone(r, fc_str_c("riyadh"), fc_str_c("olaya"));
    const fc_zone *z2 = fc_ref_zone(r, fc_str_c("dubai"), fc_str_c("olaya"));
    assert_non_null(z1);
    assert_non_null(z2);
    assert_int_equal(z1->kind, FC_ZONE_BUSINESS_DISTRICT);
    assert_int_equal(z2->kind, FC_ZONE_RESIDENTIAL);
    assert_string_equal(z1->city, "riyadh");
    assert_string_equal(z1->zone, "olaya");
    /* The key does not confuse "ab"+"c" with "a"+"bc". */
    assert_int_equal(fc_ref_put_zone(r, "ab", "c", FC_ZONE_OFFICE, NULL), FC_OK);
    assert_null(fc_ref_zone(r, fc_str_c("a"), fc_str_c("bc")));
    assert_null(fc_ref_zone(r, fc_str_c("riyadh"), fc_str_c("malaz")));
    /* Replace. */
    assert_int_equal(fc_ref_put_zone(r, "riyadh", "olaya", FC_ZONE_MIXED, NULL), FC_OK);
    assert_int_equal(fc_ref_zone_count(r), 3);
    assert_ptr_equal(fc_ref_zone(r, fc_str_c("riyadh"), fc_str_c("olaya")), z1);
    assert_int_equal(z1->kind, FC_ZONE_MIXED);
    /* Long ids go through the heap path. */
    char longzone[600];
    memset(longzone, 'z', sizeof longzone - 1);
    longzone[sizeof longzone - 1] = '\0';
    assert_int_equal(fc_ref_put_zone(r, "riyadh", longzone, FC_ZONE_OFFICE, NULL), FC_OK);
    const fc_zone *zl = fc_ref_zone(r, fc_str_c("riyadh"), fc_str_c(longzone));
    assert_non_null(zl);
    assert_int_equal(zl->kind, FC_ZONE_OFFICE);
    fc_err err;
    assert_int_equal(fc_ref_put_zone(r, "riyadh", "", FC_ZONE_OFFICE, &err), FC_EINVAL);
    assert_int_equal(fc_ref_zone_count(r), 4);
    assert_string_equal(fc_ref_zone_at(r, 1)->city, "dubai");
    fc_ref_free(r);
}

static void test_merchants_riders(void **state) {
    (void)state;
    fc_ref *r = fc_ref_new();
    assert_non_null(r);
    fc_merchant m = {.merchant = "m-1",
                     .city = "riyadh",
                     .zone = "olaya",
                     .kind = "fast_food",
                     .brand = "BurgerCo",
                     .lat_e6 = 24713552,
                     .lng_e6 = 46675296};
    assert_int_equal(fc_ref_put_merchant(r, &m, NULL), FC_OK);
    fc_merchant m2 = {.merchant = "m-2",
                      .city = "riyadh",
                      .kind = "pharmacy",
                      .lat_e6 = INT32_MIN,
                      .lng_e6 = INT32_MIN};
    assert_int_equal(fc_ref_put_merchant(r, &m2, NULL), FC_OK);
    const fc_merchant *got = fc_ref_merchant(r, fc_str_c("m-1"));
    assert_non_null(got);
    assert_ptr_not_equal(got->merchant, m.merchant); /* copied */
    assert_string_equal(got->brand, "BurgerCo");
    assert_int_equal(got->lat_e6, 24713552);
    const fc_merchant *got2 = fc_ref_merchant(r, fc_str_c("m-2"));
    assert_string_equal(got2->brand, ""); /* absent brand is "" */
    assert_string_equal(got2->zone, "");
    assert_int_equal(got2->lat_e6, INT32_MIN);
    /* Replace. */
    m.brand = "";
    m.kind = "restaurant";
    assert_int_equal(fc_ref_put_merchant(r, &m, NULL), FC_OK);
    assert_int_equal(fc_ref_merchant_count(r), 2);
    assert_ptr_equal(fc_ref_merchant(r, fc_str_c("m-1")), got);
    assert_string_equal(got->kind, "restaurant");
    assert_string_equal(got->brand, "");
    assert_null(fc_ref_merchant(r, fc_str_c("m-3")));
    fc_merchant bad = {0};
    assert_int_equal(fc_ref_put_merchant(r, &bad, NULL), FC_EINVAL);

    fc_rider rd = {.rider = "r-9",
                   .city = "riyadh",
                   .capacity = FC_CAP_CROWD,
                   .fleet = "FleetA",
                   .start_date = 20000};
    assert_int_equal(fc_ref_put_rider(r, &rd, NULL), FC_OK);
    const fc_rider *gr = fc_ref_rider(r, fc_str_c("r-9"));
    assert_non_null(gr);
    assert_int_equal(gr->capacity, FC_CAP_CROWD);
    assert_string_equal(gr->fleet, "FleetA");
    assert_int_equal(gr->start_date, 20000);
    rd.capacity = FC_CAP_FULL_TIME;
    rd.fleet = NULL;
    rd.start_date = INT32_MIN;
    assert_int_equal(fc_ref_put_rider(r, &rd, NULL), FC_OK);
    assert_int_equal(fc_ref_rider_count(r), 1);
    assert_int_equal(gr->capacity, FC_CAP_FULL_TIME);
    assert_string_equal(gr->fleet, "");
    assert_int_equal(gr->start_date, INT32_MIN);
    assert_ptr_equal(fc_ref_rider_at(r, 0), gr);
    assert_null(fc_ref_rider_at(r, 1));
    assert_null(fc_ref_rider(r, fc_str_c("r-1")));

    /* Many riders: pointers handed out earlier stay valid as the arrays grow. */
    char id[32];
    for (int i = 0; i < 20000; i++) {
        snprintf(id, sizeof id, "rider-%d", i);
        fc_rider x = {.rider = id, .city = "doha", .capacity = FC_CAP_PART_TIME, .start_date = i};
        assert_int_equal(fc_ref_put_rider(r, &x, NULL), FC_OK);
    }
    assert_int_equal(fc_ref_rider_count(r), 20001);
    assert_string_equal(gr->rider, "r-9");
    const fc_rider *g = fc_ref_rider(r, fc_str_c("rider-12345"));
    assert_non_null(g);
    assert_int_equal(g->start_date, 12345);
    fc_ref_free(r);
}

/* Every allocation failure leaves a consistent ref: the entity is either
 * fully there or absent, and freeing never leaks. */
static void test_alloc_failures(void **state) {
    (void)state;
    for (long n = 0; n < 200; n++) {
        fc_alloc_fail_after(n);
        fc_ref *r = fc_ref_new();
        int rc_city = FC_ENOMEM, rc_zone = FC_ENOMEM, rc_m = FC_ENOMEM, rc_r = FC_ENOMEM;
        if (r != NULL) {
            rc_city = fc_ref_put_city(r, "riyadh", "SA", "Asia/Riyadh", "SAR", NULL);
            rc_zone = fc_ref_put_zone(r, "riyadh", "olaya", FC_ZONE_OFFICE, NULL);
            fc_merchant m = {.merchant = "m-1", .city = "riyadh", .kind = "cafe"};
            rc_m = fc_ref_put_merchant(r, &m, NULL);
            fc_rider rd = {.rider = "r-1", .city = "riyadh", .capacity = FC_CAP_CROWD};
            rc_r = fc_ref_put_rider(r, &rd, NULL);
        }
        fc_alloc_fail_after(-1);
        if (r != NULL) {
            const fc_city *c = fc_ref_city(r, fc_str_c("riyadh"));
            assert_true((rc_city == FC_OK) == (c != NULL));
            if (c != NULL) {
                assert_string_equal(c->tz_name, "Asia/Riyadh");
            }
            assert_true((rc_zone == FC_OK) ==
                        (fc_ref_zone(r, fc_str_c("riyadh"), fc_str_c("olaya")) != NULL));
            assert_true((rc_m == FC_OK) == (fc_ref_merchant(r, fc_str_c("m-1")) != NULL));
            assert_true((rc_r == FC_OK) == (fc_ref_rider(r, fc_str_c("r-1")) != NULL));
        }
        fc_ref_free(r);
        if (rc_city == FC_OK && rc_zone == FC_OK && rc_m == FC_OK && rc_r == FC_OK) {
            return; /* every step got through */
        }
    }
    fail_msg("never completed within the allocation budget");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kind_names),     cmocka_unit_test(test_cities),
        cmocka_unit_test(test_zones),          cmocka_unit_test(test_merchants_riders),
        cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
