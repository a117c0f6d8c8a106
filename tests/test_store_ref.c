/*
 * store: single reference rows by id and the data version (ref_get.c), on
 * a real database file in a fresh temp folder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "support.h"
#include "support_http.h"

typedef struct fixture {
    char *dir;
    char db[512];
    fc_store *s;
} fixture;

static int setup(void **state) {
    fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    fx->dir = fc_test_tmpdir();
    assert_non_null(fx->dir);
    snprintf(fx->db, sizeof fx->db, "%s/ref.db", fx->dir);
    fc_err err;
    assert_int_equal(fc_store_open(fx->db, &fx->s, &err), FC_OK);
    fc_test_ingest_file(fx->s, fx->dir, "scan/cities.csv");
    fc_test_ingest_file(fx->s, fx->dir, "scan/merchants.csv");
    fc_test_ingest_file(fx->s, fx->dir, "scan/riders.csv");
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

/* Each single-row read gives what the whole load gives for that id. */
static void test_rows_match_the_whole_load(void **state) {
    fixture *fx = *state;
    fc_err err;
    fc_ref *ref = fc_ref_new();
    fc_arena *a = fc_arena_new(0);
    assert_non_null(ref);
    assert_non_null(a);
    assert_int_equal(fc_store_load_ref(fx->s, ref, &err), FC_OK);
    assert_true(fc_ref_rider_count(ref) > 0);
    assert_true(fc_ref_merchant_count(ref) > 0);
    for (size_t i = 0; i < fc_ref_rider_count(ref); i++) {
        const fc_rider *want = fc_ref_rider_at(ref, i);
        fc_rider got;
        int found = 0;
        assert_int_equal(fc_store_get_rider(fx->s, fc_str_c(want->rider), a, &got, &found, &err),
                         FC_OK);
        assert_true(found);
        assert_string_equal(got.rider, want->rider);
        assert_string_equal(got.city, want->city);
        assert_string_equal(got.fleet, want->fleet);
        assert_int_equal(got.capacity, want->capacity);
        assert_int_equal(got.start_date, want->start_date);
    }
    for (size_t i = 0; i < fc_ref_merchant_count(ref); i++) {
        const fc_merchant *want = fc_ref_merchant_at(ref, i);
        fc_merchant got;
        int found = 0;
        assert_int_equal(
            fc_store_get_merchant(fx->s, fc_str_c(want->merchant), a, &got, &found, &err), FC_OK);
        assert_true(found);
        assert_string_equal(got.merchant, want->merchant);
        assert_string_equal(got.city, want->city);
        assert_string_equal(got.zone, want->zone);
        assert_string_equal(got.kind, want->kind);
        assert_string_equal(got.brand, want->brand);
        assert_int_equal(got.lat_e6, want->lat_e6);
        assert_int_equal(got.lng_e6, want->lng_e6);
    }
    for (size_t i = 0; i < fc_ref_city_count(ref); i++) {
        const fc_city *want = fc_ref_city_at(ref, i);
        char country[8];
        int found = 0;
        assert_int_equal(fc_store_city_country(fx->s, fc_str_c(want->city), country, sizeof country,
                                               &found, &err),
                         FC_OK);
        assert_true(found);
        assert_string_equal(country, want->country);
    }
    fc_arena_free(a);
    fc_ref_free(ref);
}

static void test_unknown_ids_are_not_found(void **state) {
    fixture *fx = *state;
    fc_err err;
    fc_arena *a = fc_arena_new(0);
    assert_non_null(a);
    int found = 1;
    fc_rider rd;
    assert_int_equal(fc_store_get_rider(fx->s, fc_str_c("nobody"), a, &rd, &found, &err), FC_OK);
    assert_false(found);
    found = 1;
    fc_merchant m;
    assert_int_equal(fc_store_get_merchant(fx->s, fc_str_c("nowhere"), a, &m, &found, &err), FC_OK);
    assert_false(found);
    found = 1;
    char country[8] = "XX";
    assert_int_equal(
        fc_store_city_country(fx->s, fc_str_c("atlantis"), country, sizeof country, &found, &err),
        FC_OK);
    assert_false(found);
    assert_string_equal(country, "");
    fc_arena_free(a);
}

/* Another connection's commit moves the data version; the connection's own
 * commit and a read do not. */
static void test_data_version(void **state) {
    fixture *fx = *state;
    fc_err err;
    int64_t v0 = 0, v1 = 0, v2 = 0, v3 = 0;
    assert_int_equal(fc_store_data_version(fx->s, &v0, &err), FC_OK);
    assert_int_equal(fc_store_data_version(fx->s, &v1, &err), FC_OK);
    assert_int_equal(v1, v0);

    fc_store *other = NULL;
    assert_int_equal(fc_store_open(fx->db, &other, &err), FC_OK);
    assert_int_equal(fc_store_mark_set(other, "test_mark", 7, &err), FC_OK);
    assert_int_equal(fc_store_data_version(fx->s, &v2, &err), FC_OK);
    assert_true(v2 != v1);

    int64_t o0 = 0, o1 = 0;
    assert_int_equal(fc_store_data_version(other, &o0, &err), FC_OK);
    assert_int_equal(fc_store_mark_set(other, "test_mark", 8, &err), FC_OK);
    assert_int_equal(fc_store_data_version(other, &o1, &err), FC_OK);
    assert_int_equal(o1, o0);
    fc_store_close(other);

    assert_int_equal(fc_store_data_version(fx->s, &v3, &err), FC_OK);
    assert_true(v3 != v2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rows_match_the_whole_load, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_ids_are_not_found, setup, teardown),
        cmocka_unit_test_setup_teardown(test_data_version, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
