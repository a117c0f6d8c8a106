/* event: type names, binary form round trips and corruption, JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "event/event.h"

static void test_type_names_round_trip(void **state) {
    (void)state;
    for (int t = 1; t < FC_EV__COUNT; t++) {
        const char *name = fc_event_type_name((fc_event_type)t);
        assert_true(strlen(name) > 0);
        assert_int_equal(fc_event_type_from(fc_str_c(name)), t);
    }
    assert_string_equal(fc_event_type_name(FC_EV_NONE), "");
    assert_string_equal(fc_event_type_name(FC_EV__COUNT), "");
    assert_string_equal(fc_event_type_name(FC_EV_ORDER_PICKED_UP), "order_picked_up");
    assert_int_equal(fc_event_type_from(fc_str_c("order_teleported")), FC_EV_NONE);
    assert_int_equal(fc_event_type_from(fc_str_c("order_create")), FC_EV_NONE);
    assert_int_equal(fc_event_type_from(FC_STR_NULL), FC_EV_NONE);
    assert_true(fc_event_type_has_order(FC_EV_ORDER_CREATED));
    assert_true(fc_event_type_has_order(FC_EV_COMPLAINT));
    assert_false(fc_event_type_has_order(FC_EV_WEATHER));
    assert_false(fc_event_type_has_order(FC_EV_GPS));
    assert_false(fc_event_type_has_order(FC_EV_SHIFT_STARTED));
}

static void test_init_makes_everything_absent(void **state) {
    (void)state;
    fc_event e;
    memset(&e, 0x5a, sizeof e);
    fc_event_init(&e);
    assert_int_equal(e.type, FC_EV_NONE);
    assert_true(e.ts == FC_TS_NONE && e.promised_at == FC_TS_NONE && e.to == FC_TS_NONE);
    assert_true(e.amount_minor == FC_MONEY_NONE && e.cost_minor == FC_MONEY_NONE);
    assert_true(e.lat_e6 == FC_GEO_NONE && e.merchant_lng_e6 == FC_GEO_NONE);
    assert_true(e.score == FC_INT_NONE && e.prebook == FC_INT_NONE);
    assert_null(e.id.p);
    assert_null(e.rider.p);
}

static void full_event(fc_event *e) {
    fc_event_init(e);
    e->type = FC_EV_ORDER_CREATED;
    e->ts = 1772467451;
    e->id = fc_str_c("o-1:order_created");
    e->order = fc_str_c("o-1");
    e->city = fc_str_c("kuwait-city");
    e->zone = fc_str_c("salmiya");
    e->merchant = fc_str_c("m-9");
    e->customer = fc_str_c("c-\"quoted\"\n");
    e->rider = fc_str_c("r-3");
    e->reason = fc_str_c("");
    e->category = fc_str_c("food");
    e->currency = fc_str_c("KWD");
    e->promised_at = 1772469251;
    e->est_ready_at = 1772468351;
    e->amount_minor = 3250;
    e->cost_minor = 1500;
    e->lat_e6 = -23550520;
    e->lng_e6 = -46633308;
    e->customer_lat_e6 = 29339000;
    e->customer_lng_e6 = 48076000;
    e->merchant_lat_e6 = 29340100;
    e->merchant_lng_e6 = 48080000;
    e->distance_m = 2200;
    e->promise_prep_s = 900;
    e->promise_travel_s = 600;
    e->prebook = 0;
}

static void test_pack_unpack_round_trip(void **state) {
    (void)state;
    fc_event e, d;
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0, used = 0;
    full_event(&e);
    assert_int_equal(fc_event_pack(&e, &buf, &len, &cap), FC_OK);
    size_t first = len;
    fc_event_init(&d);
    d.type = FC_EV_WEATHER;
    d.ts = 1772467451;
    d.id = fc_str_c("w1");
    d.city = fc_str_c("riyadh");
    d.from = 1772467451;
    d.to = 1772477451;
    d.severity = 3;
    assert_int_equal(fc_event_pack(&d, &buf, &len, &cap), FC_OK);

    fc_event u;
    assert_int_equal(fc_event_unpack(buf, len, &u, &used), FC_OK);
    assert_int_equal(used, first);
    assert_int_equal(u.type, FC_EV_ORDER_CREATED);
    assert_true(fc_str_eq(u.customer, e.customer));
    assert_true(fc_str_eq(u.order, e.order));
    assert_non_null(u.reason.p); /* present but empty stays present */
    assert_int_equal(u.reason.n, 0);
    assert_null(u.by.p);
    assert_true(u.ts == e.ts && u.promised_at == e.promised_at);
    assert_true(u.amount_minor == 3250 && u.cost_minor == 1500);
    assert_int_equal(u.lat_e6, -23550520);
    assert_int_equal(u.prebook, 0);
    assert_int_equal(u.score, FC_INT_NONE);
    assert_true(u.from == FC_TS_NONE);

    size_t used2;
    assert_int_equal(fc_event_unpack(buf + used, len - used, &u, &used2), FC_OK);
    assert_int_equal(used + used2, len);
    assert_int_equal(u.type, FC_EV_WEATHER);
    assert_int_equal(u.severity, 3);
    assert_true(u.to == 1772477451);
    assert_null(u.order.p);
    free(buf);
}

static void test_unpack_rejects_corrupt_input(void **state) {
    (void)state;
    fc_event e, u;
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0, used;
    full_event(&e);
    assert_int_equal(fc_event_pack(&e, &buf, &len, &cap), FC_OK);
    /* every truncation is an error, read from an exact-size copy so ASan
     * sees any read past the end */
    for (size_t n = 0; n < len; n++) {
        uint8_t *cut = malloc(n ? n : 1);
        memcpy(cut, buf, n);
        assert_int_equal(fc_event_unpack(cut, n, &u, &used), FC_EPARSE);
        free(cut);
    }
    uint8_t bad[64];
    memcpy(bad, buf, 8);
    bad[0] = 9; /* unknown version */
    assert_int_equal(fc_event_unpack(bad, 8, &u, &used), FC_EPARSE);
    memcpy(bad, buf, 8);
    bad[1] = 200; /* unknown type */
    assert_int_equal(fc_event_unpack(bad, 8, &u, &used), FC_EPARSE);
    /* a mask with bits past the last field */
    const uint8_t high[] = {1, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    assert_int_equal(fc_event_unpack(high, sizeof high, &u, &used), FC_EPARSE);
    /* a string length pointing past the end */
    const uint8_t longstr[] = {1, 1, 0x01, 0xff, 0xff, 0x03, 'a'};
    assert_int_equal(fc_event_unpack(longstr, sizeof longstr, &u, &used), FC_EPARSE);
    /* an int32 field holding a value beyond int32 */
    const uint8_t big[] = {1,    1,    0x80, 0x80, 0x80,
                           0x80, 0x04, /* mask bit 30: score, an int32 */
                           0xff, 0xff, 0xff, 0xff, 0x7f};
    assert_int_equal(fc_event_unpack(big, sizeof big, &u, &used), FC_EPARSE);
    /* flipping bytes never crashes: the result is OK or FC_EPARSE */
    srand(7);
    for (int round = 0; round < 5000; round++) {
        uint8_t *m = malloc(len);
        memcpy(m, buf, len);
        int flips = 1 + rand() % 3;
        for (int k = 0; k < flips; k++) {
            m[(size_t)rand() % len] = (uint8_t)rand();
        }
        int rc = fc_event_unpack(m, len, &u, &used);
        assert_true(rc == FC_OK || rc == FC_EPARSE);
        if (rc == FC_OK) {
            assert_true(used <= len);
        }
        free(m);
    }
    free(buf);
}

static void test_to_json_has_the_jsonl_fields(void **state) {
    (void)state;
    fc_event e;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    full_event(&e);
    assert_int_equal(fc_event_to_json(&e, &buf, &len, &cap), FC_OK);
    assert_int_equal(strlen(buf), len);
    json_error_t je;
    json_t *o = json_loads(buf, 0, &je);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "type")), "order_created");
    assert_string_equal(json_string_value(json_object_get(o, "id")), "o-1:order_created");
    assert_string_equal(json_string_value(json_object_get(o, "customer")), "c-\"quoted\"\n");
    assert_string_equal(json_string_value(json_object_get(o, "ts")), "2026-03-02T16:04:11Z");
    assert_non_null(strstr(buf, "\"amount\":3.250"));
    assert_non_null(strstr(buf, "\"lat\":-23.550520"));
    assert_non_null(strstr(buf, "\"merchant_lng\":48.080000"));
    assert_int_equal(json_integer_value(json_object_get(o, "distance_m")), 2200);
    assert_int_equal(json_integer_value(json_object_get(o, "prebook")), 0);
    assert_null(json_object_get(o, "score"));
    assert_null(json_object_get(o, "by"));
    json_decref(o);

    /* no currency: amounts in minor units under their own names */
    fc_event_init(&e);
    e.type = FC_EV_COMPENSATION;
    e.id = fc_str_c("x");
    e.order = fc_str_c("o");
    e.ts = 1772467451;
    e.amount_minor = 500;
    len = 0;
    assert_int_equal(fc_event_to_json(&e, &buf, &len, &cap), FC_OK);
    assert_non_null(strstr(buf, "\"amount_minor\":500"));
    free(buf);
}

static void test_field_descriptors(void **state) {
    (void)state;
    assert_int_equal(fc_event_field_find(fc_str_c("lat")) >= 0, 1);
    assert_int_equal(fc_event_field_find(fc_str_c("type")), -1);
    int f = fc_event_field_find(fc_str_c("promised_at"));
    assert_int_equal(fc_event_field_at((size_t)f)->kind, FC_EF_TIME);
    assert_int_equal(fc_event_field_at((size_t)f)->offset, offsetof(fc_event, promised_at));
    assert_null(fc_event_field_at(fc_event_field_count()));
    assert_int_equal(fc_event_field_count(), 33);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_type_names_round_trip),
        cmocka_unit_test(test_init_makes_everything_absent),
        cmocka_unit_test(test_pack_unpack_round_trip),
        cmocka_unit_test(test_unpack_rejects_corrupt_input),
        cmocka_unit_test(test_to_json_has_the_jsonl_fields),
        cmocka_unit_test(test_field_descriptors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
