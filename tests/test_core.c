/*
 * core: errors, allocation, strings, numbers, UTF-8, hashing, arena, dict,
 * geography, money, time, time zones and YAML.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>

#include <cmocka.h>

#include "core/core.h"

/* ---------------------------------------------------------------------------
 * Errors.
 */
static void test_err_format(void **state) {
    (void)state;
    fc_err err;
    fc_err_clear(&err);
    assert_int_equal(err.code, FC_OK);
    char buf[256];
    int rc = fc_err_set(&err, FC_EPARSE, "orders.csv", 12, 4, "bad time '%s'", "25:00");
    assert_int_equal(rc, FC_EPARSE);
    fc_err_field(&err, "created_at", strlen("created_at"));
    fc_err_format(&err, buf, sizeof buf);
    assert_string_equal(buf, "orders.csv:12:4: created_at: bad time '25:00'");

    fc_err_set(&err, FC_ENOTFOUND, NULL, 0, 0, "no such zone");
    fc_err_format(&err, buf, sizeof buf);
    assert_string_equal(buf, "no such zone");

    fc_err_set(&err, FC_EIO, "-", 3, 0, "read failed");
    fc_err_format(&err, buf, sizeof buf);
    assert_string_equal(buf, "-:3: read failed");

    /* No message: the status name stands in. */
    fc_err_set(&err, FC_ENOMEM, NULL, 0, 0, NULL);
    fc_err_format(&err, buf, sizeof buf);
    assert_string_equal(buf, "out of memory");

    /* Truncation keeps the buffer terminated. */
    char small[8];
    fc_err_set(&err, FC_EPARSE, "a-long-file-name.csv", 1, 1, "x");
    fc_err_format(&err, small, sizeof small);
    assert_int_equal(strlen(small), 7);
    assert_memory_equal(small, "a-long-", 7);

    /* A NULL err is allowed and the code still comes back. */
    assert_int_equal(fc_err_set(NULL, FC_EINVAL, NULL, 0, 0, "x"), FC_EINVAL);
    assert_string_equal(fc_strerror(FC_EPARSE), "parse error");
    assert_string_equal(fc_strerror(FC_OK), "ok");
    assert_string_equal(fc_strerror(-1000), "unknown error");
}

/* ---------------------------------------------------------------------------
 * Allocation.
 */
static void test_alloc_fail_hook(void **state) {
    (void)state;
    fc_alloc_fail_after(2);
    void *a = fc_malloc(10);
    char *b = fc_strdup("abc");
    void *c = fc_malloc(10);
    void *d = fc_calloc(2, 2);
    assert_non_null(a);
    assert_non_null(b);
    assert_null(c);
    assert_null(d);
    fc_alloc_fail_after(-1);
    void *e = fc_malloc(10);
    assert_non_null(e);
    fc_free(a);
    fc_free(b);
    fc_free(e);
    fc_free(NULL);

    /* fc_grow leaves the array untouched on failure. */
    int *arr = NULL;
    size_t cap = 0;
    assert_int_equal(fc_grow((void **)&arr, &cap, 3, sizeof(int)), FC_OK);
    assert_true(cap >= 3);
    arr[0] = 7;
    size_t old_cap = cap;
    int *old = arr;
    fc_alloc_fail_after(0);
    assert_int_equal(fc_grow((void **)&arr, &cap, 1000, sizeof(int)), FC_ENOMEM);
    fc_alloc_fail_after(-1);
    assert_ptr_equal(arr, old);
    assert_int_equal(cap, old_cap);
    assert_int_equal(arr[0], 7);
    assert_int_equal(fc_grow((void **)&arr, &cap, 1000, sizeof(int)), FC_OK);
    assert_true(cap >= 1000);
    assert_int_equal(arr[0], 7);
    /* Overflowing sizes are refused, not wrapped. */
    assert_int_equal(fc_grow((void **)&arr, &cap, SIZE_MAX / 2, 16), FC_ENOMEM);
    fc_free(arr);

    char *s = fc_strndup("abcdef", 3);
    assert_string_equal(s, "abc");
    fc_free(s);
}

/* Every allocation of building a dict can fail without leaking or crashing. */
static void test_alloc_fail_every_step(void **state) {
    (void)state;
    for (long n = 0; n < 40; n++) {
        fc_alloc_fail_after(n);
        fc_dict *d = fc_dict_new();
        int failed = d == NULL;
        char key[16];
        for (int i = 0; d != NULL && i < 100; i++) {
            snprintf(key, sizeof key, "k%d", i);
            int64_t id = fc_dict_intern(d, fc_str_c(key));
            if (id < 0) {
                assert_int_equal(id, FC_ENOMEM);
                assert_int_equal(fc_dict_count(d), (uint32_t)i);
                failed = 1;
                break;
            }
            assert_int_equal(id, i);
        }
        fc_alloc_fail_after(-1);
        if (d != NULL) {
            /* Whatever went in is still there and the dict still works. */
            for (uint32_t i = 0; i < fc_dict_count(d); i++) {
                snprintf(key, sizeof key, "k%u", i);
                assert_int_equal(fc_dict_find(d, fc_str_c(key)), (int64_t)i);
            }
            assert_true(fc_dict_intern(d, fc_str_c("after")) >= 0);
        }
        fc_dict_free(d);
        if (!failed) {
            break;
        }
    }
}

/* ---------------------------------------------------------------------------
 * Strings and numbers.
 */
static void test_str(void **state) {
    (void)state;
    fc_str a = fc_str_c("abc");
    assert_int_equal(a.n, 3);
    assert_true(fc_str_eqc(a, "abc"));
    assert_false(fc_str_eqc(a, "abcd"));
    assert_true(fc_str_eq(fc_str_c(NULL), fc_str_make("", 0)));
    assert_int_equal(fc_str_cmp(fc_str_c("ab"), fc_str_c("abc")), -1);
    assert_int_equal(fc_str_cmp(fc_str_c("b"), fc_str_c("abc")), 1);
    assert_int_equal(fc_str_cmp(fc_str_c("abc"), fc_str_c("abc")), 0);
    fc_str t = fc_str_trim(fc_str_c(" \t x y \t"));
    assert_true(fc_str_eqc(t, "x y"));
    assert_int_equal(fc_str_trim(fc_str_c("  ")).n, 0);
    char buf[4];
    assert_string_equal(fc_str_cpy(buf, sizeof buf, fc_str_c("abcdef")), "abc");
}

static void test_parse_numbers(void **state) {
    (void)state;
    int64_t v = 0;
    assert_int_equal(fc_parse_i64(fc_str_c("0"), &v), FC_OK);
    assert_int_equal(v, 0);
    assert_int_equal(fc_parse_i64(fc_str_c("-42"), &v), FC_OK);
    assert_int_equal(v, -42);
    assert_int_equal(fc_parse_i64(fc_str_c("+42"), &v), FC_OK);
    assert_int_equal(v, 42);
    assert_int_equal(fc_parse_i64(fc_str_c("9223372036854775807"), &v), FC_OK);
    assert_true(v == INT64_MAX);
    assert_int_equal(fc_parse_i64(fc_str_c("-9223372036854775808"), &v), FC_OK);
    assert_true(v == INT64_MIN);
    assert_int_equal(fc_parse_i64(fc_str_c("9223372036854775808"), &v), FC_EPARSE);
    assert_int_equal(fc_parse_i64(fc_str_c("-9223372036854775809"), &v), FC_EPARSE);
    assert_int_equal(fc_parse_i64(fc_str_c(""), &v), FC_EPARSE);
    assert_int_equal(fc_parse_i64(fc_str_c("-"), &v), FC_EPARSE);
    assert_int_equal(fc_parse_i64(fc_str_c(" 1"), &v), FC_EPARSE);
    assert_int_equal(fc_parse_i64(fc_str_c("1 "), &v), FC_EPARSE);
    assert_int_equal(fc_parse_i64(fc_str_c("12a"), &v), FC_EPARSE);
    assert_int_equal(fc_parse_i64(fc_str_c("1.0"), &v), FC_EPARSE);
    /* A view stops where it says, whatever follows in memory. */
    assert_int_equal(fc_parse_i64(fc_str_make("123xyz", 3), &v), FC_OK);
    assert_int_equal(v, 123);

    double d = 0;
    assert_int_equal(fc_parse_f64(fc_str_c("3.25"), &d), FC_OK);
    assert_true(d == 3.25);
    assert_int_equal(fc_parse_f64(fc_str_c("-0.1"), &d), FC_OK);
    assert_true(d == -0.1);
    assert_int_equal(fc_parse_f64(fc_str_c("24.713552"), &d), FC_OK);
    assert_true(d == 24.713552);
    assert_int_equal(fc_parse_f64(fc_str_c("1e3"), &d), FC_OK);
    assert_true(d == 1000.0);
    assert_int_equal(fc_parse_f64(fc_str_c("12345678901234567890.5"), &d), FC_OK);
    assert_true(d == 12345678901234567890.5);
    assert_int_equal(fc_parse_f64(fc_str_c(".5"), &d), FC_OK);
    assert_true(d == 0.5);
    assert_int_equal(fc_parse_f64(fc_str_make("2.5abc", 3), &d), FC_OK);
    assert_true(d == 2.5);
    assert_int_equal(fc_parse_f64(fc_str_c("1e999"), &d), FC_EPARSE);
    assert_int_equal(fc_parse_f64(fc_str_c("nan"), &d), FC_EPARSE);
    assert_int_equal(fc_parse_f64(fc_str_c("inf"), &d), FC_EPARSE);
    assert_int_equal(fc_parse_f64(fc_str_c("0x10"), &d), FC_EPARSE);
    assert_int_equal(fc_parse_f64(fc_str_c(" 1"), &d), FC_EPARSE);
    assert_int_equal(fc_parse_f64(fc_str_c("1."), &d), FC_OK);
    assert_int_equal(fc_parse_f64(fc_str_c("."), &d), FC_EPARSE);
    assert_int_equal(fc_parse_f64(fc_str_c("1.2.3"), &d), FC_EPARSE);
    assert_int_equal(fc_parse_f64(fc_str_c("1e"), &d), FC_EPARSE);
    assert_int_equal(fc_parse_f64(fc_str_c(""), &d), FC_EPARSE);
}

static void test_utf8(void **state) {
    (void)state;
    size_t bad = 99;
    assert_true(fc_utf8_valid("", 0, &bad));
    assert_true(fc_utf8_valid("plain ascii text, long enough", 29, &bad));
    const char *arabic = "\xd8\xa7\xd9\x84\xd8\xb1\xd9\x8a\xd8\xa7\xd8\xb6"; /* Riyadh */
    assert_true(fc_utf8_valid(arabic, strlen(arabic), &bad));
    assert_true(fc_utf8_valid("\xe2\x82\xac \xf0\x9f\x9b\xb5", 8, &bad)); /* euro, scooter */
    assert_true(fc_utf8_valid("\xf4\x8f\xbf\xbf", 4, &bad));              /* U+10FFFF */

    /* Overlong encodings. */
    assert_false(fc_utf8_valid("ab\xc0\xaf", 4, &bad));
    assert_int_equal(bad, 2);
    assert_false(fc_utf8_valid("\xe0\x80\xaf", 3, &bad));
    assert_int_equal(bad, 1);
    assert_false(fc_utf8_valid("\xf0\x80\x80\xaf", 4, &bad));
    assert_int_equal(bad, 1);
    /* Surrogates U+D800 and U+DFFF. */
    assert_false(fc_utf8_valid("x\xed\xa0\x80", 4, &bad));
    assert_int_equal(bad, 2);
    assert_false(fc_utf8_valid("\xed\xbf\xbf", 3, &bad));
    assert_int_equal(bad, 1);
    /* Above U+10FFFF. */
    assert_false(fc_utf8_valid("\xf4\x90\x80\x80", 4, &bad));
    assert_false(fc_utf8_valid("\xf5\x80\x80\x80", 4, &bad));
    assert_int_equal(bad, 0);
    /* Truncated sequences: at the end and followed by ASCII. */
    assert_false(fc_utf8_valid("abc\xe2\x82", 5, &bad));
    assert_int_equal(bad, 3);
    assert_false(fc_utf8_valid("\xe2\x82z", 3, &bad));
    assert_int_equal(bad, 2);
    assert_false(fc_utf8_valid("\xd8", 1, &bad));
    assert_int_equal(bad, 0);
    /* A lone continuation byte. */
    assert_false(fc_utf8_valid("abcdefgh\x80", 9, &bad));
    assert_int_equal(bad, 8);
    /* NUL, inside the fast path's 8-byte window too. */
    assert_false(fc_utf8_valid("abc\0defghijk", 12, &bad));
    assert_int_equal(bad, 3);
    assert_false(fc_utf8_valid("\0", 1, NULL));
}

/* ---------------------------------------------------------------------------
 * Hashing.
 */
static void test_hash(void **state) {
    (void)state;
    /* Published XXH64 test vectors (seed 0). */
    assert_true(fc_hash64("", 0, 0) == 0xEF46DB3751D8E999ULL);
    assert_true(fc_hash64("a", 1, 0) == 0xD24EC4F1A98C6E5BULL);
    assert_true(fc_hash64("abc", 3, 0) == 0x44BC2CF5AD770999ULL);
    const char *s = "Nobody inspects the spammish repetition";
    assert_true(fc_hash64(s, strlen(s), 0) == 0xFBCEA83C8A378BF1ULL);
    /* Seeds change the result; the same input gives the same hash. */
    assert_true(fc_hash64("abc", 3, 1) != fc_hash64("abc", 3, 0));
    assert_true(fc_hash_str(fc_str_c("order-1")) == fc_hash64("order-1", 7, 0));
    /* Unaligned input gives the same answer as aligned input. */
    char buf[80];
    memcpy(buf + 1, s, strlen(s));
    assert_true(fc_hash64(buf + 1, strlen(s), 7) == fc_hash64(s, strlen(s), 7));
}

/* ---------------------------------------------------------------------------
 * Arena.
 */
static void test_arena(void **state) {
    (void)state;
    fc_arena *a = fc_arena_new(256);
    assert_non_null(a);
    char *first = fc_arena_alloc(a, 3);
    assert_non_null(first);
    assert_int_equal((uintptr_t)first % 16, 0);
    for (int i = 0; i < 100; i++) {
        void *p = fc_arena_alloc(a, (size_t)(i % 40) + 1);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 16, 0);
        memset(p, 0xAB, (size_t)(i % 40) + 1);
    }
    /* Larger than a block. */
    char *big = fc_arena_alloc(a, 10000);
    assert_non_null(big);
    memset(big, 1, 10000);
    fc_str v = fc_arena_str(a, fc_str_make("hello world", 5));
    assert_true(fc_str_eqc(v, "hello"));
    assert_int_equal(v.p[5], '\0');
    char *dup = fc_arena_strndup(a, "xyz", 3);
    assert_string_equal(dup, "xyz");
    fc_arena_reset(a);
    char *again = fc_arena_alloc(a, 3);
    assert_ptr_equal(again, first);
    fc_arena_free(a);
    fc_arena_free(NULL);

    fc_alloc_fail_after(1);
    a = fc_arena_new(0);
    assert_null(a);
    fc_alloc_fail_after(-1);
}

/* ---------------------------------------------------------------------------
 * Dictionary.
 */
static void test_dict_million(void **state) {
    (void)state;
    fc_dict *d = fc_dict_new();
    assert_non_null(d);
    enum { N = 1000000 };
    char key[32];
    for (int i = 0; i < N; i++) {
        int len = snprintf(key, sizeof key, "rider-%d", i * 7);
        assert_int_equal(fc_dict_intern(d, fc_str_make(key, (size_t)len)), i);
    }
    assert_int_equal(fc_dict_count(d), N);
    /* Interning again returns the same ids and adds nothing. */
    for (int i = 0; i < N; i += 3) {
        int len = snprintf(key, sizeof key, "rider-%d", i * 7);
        assert_int_equal(fc_dict_intern(d, fc_str_make(key, (size_t)len)), i);
        assert_int_equal(fc_dict_find(d, fc_str_make(key, (size_t)len)), i);
    }
    assert_int_equal(fc_dict_count(d), N);
    for (int i = 0; i < N; i += 99991) {
        snprintf(key, sizeof key, "rider-%d", i * 7);
        fc_str got = fc_dict_get(d, (uint32_t)i);
        assert_true(fc_str_eqc(got, key));
        assert_int_equal(got.p[got.n], '\0');
    }
    assert_int_equal(fc_dict_find(d, fc_str_c("rider-1")), -1);
    assert_int_equal(fc_dict_find(d, fc_str_c("")), -1);
    assert_int_equal(fc_dict_intern(d, fc_str_c("")), N);
    assert_int_equal(fc_dict_find(d, fc_str_c("")), N);
    assert_null(fc_dict_get(d, N + 1).p);
    fc_dict_free(d);
    fc_dict_free(NULL);
}

/* ---------------------------------------------------------------------------
 * Geography and money.
 */
static void test_geo(void **state) {
    (void)state;
    assert_true(fc_geo_distance_m(24713552, 46675296, 24713552, 46675296) == 0.0);
    /* One degree of latitude is about 111.2 km. */
    double m = fc_geo_distance_m(0, 0, 1000000, 0);
    assert_true(m > 111190.0 && m < 111200.0);
    /* Riyadh to Dubai, about 872 km. */
    m = fc_geo_distance_m(24713552, 46675296, 25204849, 55270783);
    assert_true(m > 865000.0 && m < 880000.0);
    /* Antipodes do not produce NaN. */
    m = fc_geo_distance_m(0, 0, 0, 180000000);
    assert_true(m > 20015000.0 && m < 20016000.0);
}

/* The rounded distance is lround of the haversine distance, always: on
 * random pairs up to 0.6 degree apart (past the short path's half degree)
 * at every latitude but the poles', and on the fixed pairs above. */
static void test_geo_round(void **state) {
    (void)state;
    uint64_t x = 0x9e3779b97f4a7c15ull;
    long near_half = 0;
    for (int i = 0; i < 300000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int32_t lat = (int32_t)(x % 170000001u) - 85000000;
        int32_t lng = (int32_t)((x >> 28) % 360000001u) - 180000000;
        int32_t span = i % 3 == 0 ? 600000 : i % 3 == 1 ? 20000 : 500;
        int32_t dlat = (int32_t)((x >> 12) % (uint64_t)(2 * span + 1)) - span;
        int32_t dlng = (int32_t)((x >> 36) % (uint64_t)(2 * span + 1)) - span;
        int32_t lng2 = lng + dlng > 180000000 ? lng - dlng : lng + dlng;
        double m = fc_geo_distance_m(lat, lng, lat + dlat, lng2);
        assert_int_equal(fc_geo_distance_round_m(lat, lng, lat + dlat, lng2), lround(m));
        near_half += fabs(m - floor(m) - 0.5) < 1e-3;
    }
    assert_true(near_half > 0); /* the rounding boundary was approached */
    assert_int_equal(fc_geo_distance_round_m(24713552, 46675296, 24713552, 46675296), 0);
    assert_int_equal(fc_geo_distance_round_m(0, 0, 1000000, 0),
                     lround(fc_geo_distance_m(0, 0, 1000000, 0)));
    assert_int_equal(fc_geo_distance_round_m(0, 0, 0, 180000000),
                     lround(fc_geo_distance_m(0, 0, 0, 180000000)));
}

static void test_money(void **state) {
    (void)state;
    char buf[32];
    assert_int_equal(fc_currency_decimals("KWD"), 3);
    assert_int_equal(fc_currency_decimals("BHD"), 3);
    assert_int_equal(fc_currency_decimals("SAR"), 2);
    assert_int_equal(fc_currency_decimals("BRL"), 2);
    assert_int_equal(fc_currency_decimals("JPY"), 0);
    assert_int_equal(fc_currency_decimals("KRW"), 0);
    assert_int_equal(fc_currency_decimals("sar"), -1);
    assert_int_equal(fc_currency_decimals("SARR"), -1);
    assert_int_equal(fc_currency_decimals(NULL), -1);

    fc_money_format(12345, "KWD", buf, sizeof buf);
    assert_string_equal(buf, "12.345");
    fc_money_format(5, "KWD", buf, sizeof buf);
    assert_string_equal(buf, "0.005");
    fc_money_format(-1999, "SAR", buf, sizeof buf);
    assert_string_equal(buf, "-19.99");
    fc_money_format(-5, "SAR", buf, sizeof buf);
    assert_string_equal(buf, "-0.05");
    fc_money_format(1500, "JPY", buf, sizeof buf);
    assert_string_equal(buf, "1500");
    fc_money_format(0, "SAR", buf, sizeof buf);
    assert_string_equal(buf, "0.00");
    fc_money_format(INT64_MIN, "SAR", buf, sizeof buf);
    assert_string_equal(buf, "-92233720368547758.08");

    int64_t v = 0;
    assert_int_equal(fc_money_parse(fc_str_c("12.345"), "KWD", &v), FC_OK);
    assert_int_equal(v, 12345);
    assert_int_equal(fc_money_parse(fc_str_c("12.5"), "KWD", &v), FC_OK);
    assert_int_equal(v, 12500);
    assert_int_equal(fc_money_parse(fc_str_c("12"), "KWD", &v), FC_OK);
    assert_int_equal(v, 12000);
    assert_int_equal(fc_money_parse(fc_str_c("12.3456"), "KWD", &v), FC_EPARSE);
    assert_int_equal(fc_money_parse(fc_str_c("19.99"), "SAR", &v), FC_OK);
    assert_int_equal(v, 1999);
    assert_int_equal(fc_money_parse(fc_str_c("-19.99"), "SAR", &v), FC_OK);
    assert_int_equal(v, -1999);
    assert_int_equal(fc_money_parse(fc_str_c("-0.5"), "SAR", &v), FC_OK);
    assert_int_equal(v, -50);
    assert_int_equal(fc_money_parse(fc_str_c("19.999"), "SAR", &v), FC_EPARSE);
    assert_int_equal(fc_money_parse(fc_str_c("1500"), "JPY", &v), FC_OK);
    assert_int_equal(v, 1500);
    assert_int_equal(fc_money_parse(fc_str_c("1500.5"), "JPY", &v), FC_EPARSE);
    /* Zeros past the currency's decimals lose nothing and are accepted. */
    assert_int_equal(fc_money_parse(fc_str_c("1500.00"), "JPY", &v), FC_OK);
    assert_int_equal(v, 1500);
    assert_int_equal(fc_money_parse(fc_str_c(""), "SAR", &v), FC_EPARSE);
    assert_int_equal(fc_money_parse(fc_str_c("-"), "SAR", &v), FC_EPARSE);
    assert_int_equal(fc_money_parse(fc_str_c("1,5"), "SAR", &v), FC_EPARSE);
    assert_int_equal(fc_money_parse(fc_str_c("1.2.3"), "SAR", &v), FC_EPARSE);
    assert_int_equal(fc_money_parse(fc_str_c("abc"), "SAR", &v), FC_EPARSE);
    assert_int_equal(fc_money_parse(fc_str_c("92233720368547758.07"), "SAR", &v), FC_OK);
    assert_true(v == INT64_MAX);
    assert_int_equal(fc_money_parse(fc_str_c("92233720368547758.08"), "SAR", &v), FC_EPARSE);
    assert_int_equal(fc_money_parse(fc_str_c("-92233720368547758.08"), "SAR", &v), FC_OK);
    assert_true(v == INT64_MIN);
    assert_int_equal(fc_money_parse(fc_str_c("1"), "xx", &v), FC_EINVAL);
    /* Round trip. */
    fc_money_format(-12345, "KWD", buf, sizeof buf);
    assert_int_equal(fc_money_parse(fc_str_c(buf), "KWD", &v), FC_OK);
    assert_int_equal(v, -12345);
}

/* ---------------------------------------------------------------------------
 * Civil dates.
 */
static void test_civil(void **state) {
    (void)state;
    assert_int_equal(fc_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(fc_days_from_civil(2000, 3, 1), 11017);
    assert_int_equal(fc_days_from_civil(1969, 12, 31), -1);
    assert_int_equal(fc_days_from_civil(2026, 3, 1), 20513);
    int64_t y;
    unsigned m, d;
    for (int64_t days = -800000; days < 800000; days += 997) {
        fc_civil_from_days(days, &y, &m, &d);
        assert_int_equal(fc_days_from_civil(y, m, d), days);
    }
    fc_civil_from_days(11016, &y, &m, &d); /* leap day of a century leap year */
    assert_int_equal(y, 2000);
    assert_int_equal(m, 2);
    assert_int_equal(d, 29);
}

/* Parse s (ISO 8601) with tz; expect success and the instant. */
static void iso_ok(const char *s, const fc_tz *tz, int64_t want) {
    int64_t t = 0;
    fc_err err;
    fc_err_clear(&err);
    int rc = fc_time_parse_iso(fc_str_c(s), tz, &t, &err);
    if (rc != FC_OK) {
        fail_msg("'%s': %s (col %ld)", s, err.msg, err.col);
    }
    if (t != want) {
        fail_msg("'%s': got %lld want %lld", s, (long long)t, (long long)want);
    }
}

/* Expect a parse error at 1-based column col. */
static void iso_bad(const char *s, long col) {
    int64_t t = 12345;
    fc_err err;
    fc_err_clear(&err);
    int rc = fc_time_parse_iso(fc_str_c(s), NULL, &t, &err);
    if (rc != FC_EPARSE) {
        fail_msg("'%s' was accepted", s);
    }
    if (err.col != col) {
        fail_msg("'%s': error at col %ld (%s), want %ld", s, err.col, err.msg, col);
    }
    assert_int_equal(err.code, FC_EPARSE);
    assert_true(strlen(err.msg) > 0);
    assert_int_equal(t, 12345); /* untouched on failure */
}

static void test_iso8601(void **state) {
    (void)state;
    fc_tz *riyadh = NULL, *london = NULL;
    assert_int_equal(fc_tz_load("Asia/Riyadh", &riyadh, NULL), FC_OK);
    assert_int_equal(fc_tz_load("Europe/London", &london, NULL), FC_OK);
    const int64_t noon_utc = 1772368200; /* 2026-03-01T12:30:00Z */
    iso_ok("2026-03-01T12:30:00Z", NULL, noon_utc);
    iso_ok("2026-03-01T12:30:00z", NULL, noon_utc);
    iso_ok("2026-03-01T15:30:00+03:00", NULL, noon_utc);
    iso_ok("2026-03-01T09:30:00-0300", NULL, noon_utc);
    iso_ok("2026-03-01T17:00:00+0430", NULL, noon_utc);
    iso_ok("2026-03-01T15:30:00+03", NULL, noon_utc);
    iso_ok("2026-03-01 12:30:00", NULL, noon_utc);
    iso_ok("2026-03-01T12:30", NULL, noon_utc);
    iso_ok("2026-03-01T12:30:00.123Z", NULL, noon_utc);
    iso_ok("2026-03-01T12:30:00.999999+00:00", NULL, noon_utc);
    iso_ok("2026-03-01T00:00:00Z", NULL, 1772323200);
    iso_ok("2026-03-01", NULL, 1772323200);
    /* No offset: local to the zone given. */
    iso_ok("2026-03-01 15:30:00", riyadh, noon_utc);
    iso_ok("2026-03-01T15:30:00.5", riyadh, noon_utc);
    /* An explicit offset wins over the zone. */
    iso_ok("2026-03-01T12:30:00Z", riyadh, noon_utc);
    /* London summer time: 13:30 BST is 12:30 UTC. */
    iso_ok("2026-07-01 13:30:00", london, 1782909000);
    /* Leap day. */
    iso_ok("2024-02-29T00:00:00Z", NULL, 1709164800);

    /* Errors, with the column where it went wrong. */
    iso_bad("2026-02-30T10:00:00Z", 9); /* no 30 February */
    iso_bad("2025-02-29", 9);           /* not a leap year */
    iso_bad("2026-13-01T10:00:00Z", 6); /* month */
    iso_bad("2026-00-01", 6);
    iso_bad("2026-03-01T25:00:00Z", 12); /* hour */
    iso_bad("2026-03-01T23:60:00Z", 15); /* minutes */
    iso_bad("2026-03-01T23:59:61Z", 18); /* seconds */
    iso_bad("garbage", 1);
    iso_bad("", 1);
    iso_bad("2026", 5);
    iso_bad("2026/03/01", 5);
    iso_bad("01-03-2026", 3);
    iso_bad("2026-03-01X10:00", 11);
    iso_bad("2026-03-01T10:00:00Zjunk", 21);   /* trailing junk after Z */
    iso_bad("2026-03-01T10:00:00 extra", 20);  /* trailing junk after the time */
    iso_bad("2026-03-01T10:00:00+03:00x", 26); /* after the offset */
    iso_bad("2026-03-01T10:00:00+3", 22);      /* one-digit offset */
    iso_bad("2026-03-01T10:00:00+25:00", 21);  /* offset hour */
    iso_bad("2026-03-01T10:00:00.Z", 21);      /* fraction without digits */
    iso_bad("2026-03-01T1:00:00", 13);         /* one-digit hour */

    /* The error renders with its column. */
    fc_err err;
    int64_t t;
    fc_time_parse_iso(fc_str_c("2026-02-30"), NULL, &t, &err);
    char buf[256];
    fc_err_format(&err, buf, sizeof buf);
    assert_non_null(strstr(buf, "col 9"));
    assert_non_null(strstr(buf, "2026-02-30"));
    fc_tz_free(riyadh);
    fc_tz_free(london);
}

static void fmt_ok(const char *s, const char *fmt, const fc_tz *tz, int64_t want) {
    int64_t t = 0;
    fc_err err;
    fc_err_clear(&err);
    int rc = fc_time_parse_fmt(fc_str_c(s), fmt, tz, &t, &err);
    if (rc != FC_OK) {
        fail_msg("'%s' with '%s': %s (col %ld)", s, fmt, err.msg, err.col);
    }
    if (t != want) {
        fail_msg("'%s' with '%s': got %lld want %lld", s, fmt, (long long)t, (long long)want);
    }
}

static void fmt_bad(const char *s, const char *fmt, int code, long col) {
    int64_t t = 0;
    fc_err err;
    fc_err_clear(&err);
    int rc = fc_time_parse_fmt(fc_str_c(s), fmt, NULL, &t, &err);
    if (rc != code) {
        fail_msg("'%s' with '%s': rc %d, want %d", s, fmt, rc, code);
    }
    if (err.col != col) {
        fail_msg("'%s' with '%s': col %ld (%s), want %ld", s, fmt, err.col, err.msg, col);
    }
}

static void test_time_parse_fmt(void **state) {
    (void)state;
    fc_tz *riyadh = NULL;
    assert_int_equal(fc_tz_load("Asia/Riyadh", &riyadh, NULL), FC_OK);
    const int64_t noon_utc = 1772368200; /* 2026-03-01T12:30:00Z */
    fmt_ok("2026-03-01 12:30:00", "%Y-%m-%d %H:%M:%S", NULL, noon_utc);
    fmt_ok("01/03/2026 15:30", "%d/%m/%Y %H:%M", riyadh, noon_utc);
    fmt_ok("1/3/26 15:30:00", "%d/%m/%y %H:%M:%S", riyadh, noon_utc);
    fmt_ok("01-Mar-2026 12:30", "%d-%b-%Y %H:%M", NULL, noon_utc);
    fmt_ok("1 march 2026 12:30", "%d %b %Y %H:%M", NULL, noon_utc);
    fmt_ok("2026.060 12:30", "%Y.%j %H:%M", NULL, noon_utc);
    fmt_ok("20260301123000", "%Y%m%d%H%M%S", NULL, noon_utc);
    fmt_ok("100% 2026-03-01", "100%% %Y-%m-%d", NULL, 1772323200);
    fmt_ok("12:30:00.250 2026-03-01", "%H:%M:%S.%f %Y-%m-%d", NULL, noon_utc);
    fmt_ok("2026-03-01 15:30 +0300", "%Y-%m-%d %H:%M %z", NULL, noon_utc);
    fmt_ok("99-12-31", "%y-%m-%d", NULL, 946598400);
    /* A time of day alone is on 1970-01-01. */
    fmt_ok("08:15", "%H:%M", NULL, 8 * 3600 + 15 * 60);

    fmt_bad("2026-02-30", "%Y-%m-%d", FC_EPARSE, 9);
    fmt_bad("2026-03-01 25:00", "%Y-%m-%d %H:%M", FC_EPARSE, 12);
    fmt_bad("2026-03-01x", "%Y-%m-%d", FC_EPARSE, 11);
    fmt_bad("2026/03/01", "%Y-%m-%d", FC_EPARSE, 5);
    fmt_bad("26-03-01", "%Y-%m-%d", FC_EPARSE, 3);
    fmt_bad("2025.366", "%Y.%j", FC_EPARSE, 6);
    fmt_bad("01-Foo-2026", "%d-%b-%Y", FC_EPARSE, 4);
    fmt_bad("2026", "%Q", FC_EINVAL, 0);
    fc_tz_free(riyadh);
}

static void test_time_format(void **state) {
    (void)state;
    char buf[32];
    fc_time_format_utc(1772368200, buf, sizeof buf);
    assert_string_equal(buf, "2026-03-01T12:30:00Z");
    fc_time_format_utc(0, buf, sizeof buf);
    assert_string_equal(buf, "1970-01-01T00:00:00Z");
    fc_time_format_utc(-1, buf, sizeof buf);
    assert_string_equal(buf, "1969-12-31T23:59:59Z");
    fc_tz *tz = NULL;
    assert_int_equal(fc_tz_load("Asia/Kolkata", &tz, NULL), FC_OK);
    fc_time_format_local(tz, 1772368200, buf, sizeof buf);
    assert_string_equal(buf, "2026-03-01T18:00:00+05:30");
    fc_tz_free(tz);
    assert_int_equal(fc_tz_load("America/Sao_Paulo", &tz, NULL), FC_OK);
    fc_time_format_local(tz, 1772368200, buf, sizeof buf);
    assert_string_equal(buf, "2026-03-01T09:30:00-03:00");
    fc_tz_free(tz);
    /* Round trip through the parser. */
    int64_t t = 0;
    assert_int_equal(fc_time_parse_iso(fc_str_c(buf), NULL, &t, NULL), FC_OK);
    assert_int_equal(t, 1772368200);
}

/* ---------------------------------------------------------------------------
 * Time zones.
 */
static fc_tz *load(const char *name) {
    fc_tz *tz = NULL;
    fc_err err;
    int rc = fc_tz_load(name, &tz, &err);
    if (rc != FC_OK) {
        fail_msg("%s: %s", name, err.msg);
    }
    assert_string_equal(fc_tz_name(tz), name);
    return tz;
}

static void test_tz_fixed(void **state) {
    (void)state;
    fc_tz *riyadh = load("Asia/Riyadh");
    fc_tz *kolkata = load("Asia/Kolkata");
    fc_tz *utc = load("UTC");
    const int64_t instants[] = {0, 946684800, 1772368200, 2216250000, 4102444800LL};
    for (size_t i = 0; i < sizeof instants / sizeof instants[0]; i++) {
        assert_int_equal(fc_tz_offset(riyadh, instants[i]), 3 * 3600);
        assert_int_equal(fc_tz_offset(kolkata, instants[i]), 5 * 3600 + 1800);
        assert_int_equal(fc_tz_offset(utc, instants[i]), 0);
    }
    /* Local midnight crossing: 22:30Z is 01:30 the next day in Riyadh. */
    fc_localtime lt = fc_tz_local(riyadh, 1772404200); /* 2026-03-01T22:30:00Z (Sunday) */
    assert_int_equal(lt.date, fc_days_from_civil(2026, 3, 2));
    assert_int_equal(lt.hour, 1);
    assert_int_equal(lt.minute, 30);
    assert_int_equal(lt.weekday, 0); /* Monday */
    lt = fc_tz_local(utc, 1772404200);
    assert_int_equal(lt.date, fc_days_from_civil(2026, 3, 1));
    assert_int_equal(lt.hour, 22);
    assert_int_equal(lt.weekday, 6); /* Sunday */
    /* Kolkata's half hour: 18:45Z is 00:15 the next day. */
    lt = fc_tz_local(kolkata, 1772390700); /* 2026-03-01T18:45:00Z */
    assert_int_equal(lt.date, fc_days_from_civil(2026, 3, 2));
    assert_int_equal(lt.hour, 0);
    assert_int_equal(lt.minute, 15);
    assert_int_equal(lt.weekday, 0);
    /* Before 1970. */
    lt = fc_tz_local(utc, -1);
    assert_int_equal(lt.date, -1);
    assert_int_equal(lt.hour, 23);
    assert_int_equal(lt.weekday, 2); /* 1969-12-31 was a Wednesday */
    assert_int_equal(fc_tz_to_utc(kolkata, 1772368200 + 19800), 1772368200);
    fc_tz_free(riyadh);
    fc_tz_free(kolkata);
    fc_tz_free(utc);
}

static void test_tz_london(void **state) {
    (void)state;
    fc_tz *tz = load("Europe/London");
    /* 2026: BST from 2026-03-29T01:00:00Z to 2026-10-25T01:00:00Z. */
    assert_int_equal(fc_tz_offset(tz, 1774746000 - 1), 0);
    assert_int_equal(fc_tz_offset(tz, 1774746000), 3600);
    assert_int_equal(fc_tz_offset(tz, 1792890000 - 1), 3600);
    assert_int_equal(fc_tz_offset(tz, 1792890000), 0);
    /* 2040, from the footer rule (M3.5.0/1, M10.5.0). */
    assert_int_equal(fc_tz_offset(tz, 2216250000 - 1), 0);
    assert_int_equal(fc_tz_offset(tz, 2216250000), 3600);
    assert_int_equal(fc_tz_offset(tz, 2234998800 - 1), 3600);
    assert_int_equal(fc_tz_offset(tz, 2234998800), 0);
    /* Past the expanded table: the rule is evaluated directly. */
    assert_int_equal(fc_tz_offset(tz, 16740864000LL), 3600); /* 2500-07-01 */
    assert_int_equal(fc_tz_offset(tz, 16725225600LL), 0);    /* 2500-01-01 */
    /* Local hours around the change: 00:59:59 GMT then 02:00:00 BST. */
    fc_localtime lt = fc_tz_local(tz, 1774746000 - 1);
    assert_int_equal(lt.hour, 0);
    lt = fc_tz_local(tz, 1774746000);
    assert_int_equal(lt.hour, 2);
    /* Local to UTC: a gap (01:30 does not exist) uses the offset before it;
     * an overlap (01:30 happens twice) takes the first. */
    int64_t day = fc_days_from_civil(2026, 3, 29) * 86400;
    assert_int_equal(fc_tz_to_utc(tz, day + 5400), day + 5400);
    assert_int_equal(fc_tz_to_utc(tz, day + 3 * 3600), day + 2 * 3600);
    assert_int_equal(fc_tz_to_utc(tz, day + 0), day);
    day = fc_days_from_civil(2026, 10, 25) * 86400;
    assert_int_equal(fc_tz_to_utc(tz, day + 5400), day + 1800);
    assert_int_equal(fc_tz_to_utc(tz, day + 3 * 3600), day + 3 * 3600);
    fc_tz_free(tz);
}

static void test_tz_sao_paulo(void **state) {
    (void)state;
    fc_tz *tz = load("America/Sao_Paulo");
    /* DST began 2018-11-04 at 00:00 local (03:00Z) and ended 2019-02-17
     * at 00:00 local DST (02:00Z). */
    assert_int_equal(fc_tz_offset(tz, 1541300400 - 1), -3 * 3600);
    assert_int_equal(fc_tz_offset(tz, 1541300400), -2 * 3600);
    assert_int_equal(fc_tz_offset(tz, 1550368800 - 1), -2 * 3600);
    assert_int_equal(fc_tz_offset(tz, 1550368800), -3 * 3600);
    /* None since 2019: January is -03 every year after, 2040 included. */
    for (int y = 2020; y <= 2045; y++) {
        int64_t jan15 = fc_days_from_civil(y, 1, 15) * 86400;
        int64_t jul15 = fc_days_from_civil(y, 7, 15) * 86400;
        assert_int_equal(fc_tz_offset(tz, jan15), -3 * 3600);
        assert_int_equal(fc_tz_offset(tz, jul15), -3 * 3600);
    }
    /* Local date across midnight: 02:30Z on 2026-03-02 is 23:30 on 03-01. */
    fc_localtime lt = fc_tz_local(tz, fc_days_from_civil(2026, 3, 2) * 86400 + 9000);
    assert_int_equal(lt.date, fc_days_from_civil(2026, 3, 1));
    assert_int_equal(lt.hour, 23);
    assert_int_equal(lt.weekday, 6);
    /* The southern-hemisphere DST of 2018/19 spans the new year. */
    assert_int_equal(fc_tz_offset(tz, fc_days_from_civil(2019, 1, 1) * 86400), -2 * 3600);
    fc_tz_free(tz);
}

static void test_tz_unknown(void **state) {
    (void)state;
    fc_tz *tz = (fc_tz *)1;
    fc_err err;
    assert_int_equal(fc_tz_load("Mars/Olympus_Mons", &tz, &err), FC_ENOTFOUND);
    assert_null(tz);
    assert_non_null(strstr(err.msg, "Mars/Olympus_Mons"));
    assert_int_equal(fc_tz_load("../../etc/passwd", &tz, &err), FC_ENOTFOUND);
    assert_int_equal(fc_tz_load("/etc/passwd", &tz, &err), FC_ENOTFOUND);
    assert_int_equal(fc_tz_load("Asia", &tz, &err), FC_ENOTFOUND); /* a directory */
    assert_int_equal(fc_tz_load("", &tz, &err), FC_ENOTFOUND);
    fc_tz_free(NULL);
}

/* Every line of tests/data/core/tz_offsets.txt: zone, instant, offset from
 * the system tzdata, including both sides of every change 1975-2025. */
static void test_tz_golden(void **state) {
    (void)state;
    FILE *f = fopen(FC_TEST_DATA "/core/tz_offsets.txt", "r");
    assert_non_null(f);
    char line[256], zone[128] = "";
    fc_tz *tz = NULL;
    int checked = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        if (line[0] == '#') {
            continue;
        }
        char name[128];
        long long t, off;
        assert_int_equal(sscanf(line, "%127s %lld %lld", name, &t, &off), 3);
        if (strcmp(name, zone) != 0) {
            fc_tz_free(tz);
            tz = load(name);
            snprintf(zone, sizeof zone, "%s", name);
        }
        int32_t got = fc_tz_offset(tz, t);
        if (got != off) {
            fail_msg("%s at %lld: offset %d, want %lld", name, t, got, off);
        }
        /* Local time and back agrees outside overlaps. */
        int64_t back = fc_tz_to_utc(tz, t + got);
        assert_int_equal(fc_tz_offset(tz, back), fc_tz_offset(tz, back));
        checked++;
    }
    fc_tz_free(tz);
    fclose(f);
    assert_true(checked > 4000);
}
/* ---------------------------------------------------------------------------
 * YAML.
 */
static void test_yaml_tree(void **state) {
    (void)state;
    fc_yaml *y = NULL;
    fc_err err;
    assert_int_equal(fc_yaml_load_file(FC_TEST_DATA "/core/settings.yaml", &y, &err), FC_OK);
    assert_int_equal(y->kind, FC_YAML_MAP);
    assert_int_equal(y->len, 4);
    assert_int_equal(y->line, 2);
    assert_int_equal(y->col, 1);
    const fc_yaml *country = fc_yaml_get(y, "country");
    assert_non_null(country);
    assert_int_equal(country->kind, FC_YAML_SCALAR);
    assert_string_equal(country->scalar, "SA");
    assert_int_equal(country->line, 2);
    assert_int_equal(country->col, 10);
    assert_string_equal(y->keys[1], "grace_min");
    assert_int_equal(y->key_lines[1], 3);
    assert_int_equal(y->key_cols[1], 1);
    const fc_yaml *cities = fc_yaml_get(y, "cities");
    assert_int_equal(cities->kind, FC_YAML_SEQ);
    assert_int_equal(cities->len, 2);
    const fc_yaml *jeddah = cities->vals[1];
    assert_int_equal(jeddah->kind, FC_YAML_MAP);
    assert_int_equal(jeddah->line, 7);
    assert_int_equal(jeddah->col, 5);
    const fc_yaml *sev = fc_yaml_get(jeddah, "severe_late_min");
    assert_string_equal(sev->scalar, "25");
    assert_int_equal(sev->line, 8);
    assert_int_equal(sev->col, 22);
    assert_string_equal(fc_yaml_get(y, "note")->scalar, "quoted: with colon");
    assert_null(fc_yaml_get(y, "missing"));
    assert_null(fc_yaml_get(country, "x")); /* not a map */
    assert_null(fc_yaml_get(NULL, "x"));
    fc_yaml_free(y);
    fc_yaml_free(NULL);

    /* Empty input is an empty map. */
    assert_int_equal(fc_yaml_load_buf("empty.yaml", "# nothing\n", 10, &y, &err), FC_OK);
    assert_int_equal(y->kind, FC_YAML_MAP);
    assert_int_equal(y->len, 0);
    fc_yaml_free(y);
    /* Flow style. */
    const char *flow = "{a: [1, 2, {b: c}], d: e}";
    assert_int_equal(fc_yaml_load_buf("flow", flow, strlen(flow), &y, &err), FC_OK);
    assert_string_equal(fc_yaml_get(fc_yaml_get(y, "a")->vals[2], "b")->scalar, "c");
    assert_int_equal(fc_yaml_get(y, "d")->col, 24);
    fc_yaml_free(y);
}

static void yaml_bad(const char *text, int code, long line, long col, const char *msg_part) {
    fc_yaml *y = (fc_yaml *)1;
    fc_err err;
    fc_err_clear(&err);
    int rc = fc_yaml_load_buf("policy.yaml", text, strlen(text), &y, &err);
    if (rc != code) {
        fail_msg("rc %d, want %d for:\n%s", rc, code, text);
    }
    assert_null(y);
    assert_string_equal(err.file, "policy.yaml");
    if (err.line != line || err.col != col || strstr(err.msg, msg_part) == NULL) {
        fail_msg("got %ld:%ld '%s', want %ld:%ld '...%s...'", err.line, err.col, err.msg, line, col,
                 msg_part);
    }
}

static void test_yaml_errors(void **state) {
    (void)state;
    fc_yaml *y = NULL;
    fc_err err;
    /* A syntax error in a file: file:line:col in the rendered message. */
    assert_int_equal(fc_yaml_load_file(FC_TEST_DATA "/core/bad.yaml", &y, &err), FC_EPARSE);
    assert_null(y);
    assert_int_equal(err.line, 4);
    assert_int_equal(err.col, 3);
    char buf[700];
    fc_err_format(&err, buf, sizeof buf);
    assert_non_null(strstr(buf, "bad.yaml:4:3: "));

    yaml_bad("a: 1\nb: [1, 2\n", FC_EPARSE, 3, 1, "flow sequence");
    yaml_bad("a: 1\n  b: 2\n", FC_EPARSE, 2, 4, "mapping values are not allowed");
    yaml_bad("a: \"open\n", FC_EPARSE, 2, 1, "quoted scalar");
    yaml_bad("base: &b {x: 1}\nother: *b\n", FC_EPARSE, 2, 8, "aliases");
    yaml_bad("a: 1\nb: 2\na: 3\n", FC_EPARSE, 3, 1, "duplicate key 'a' (first at line 1)");
    yaml_bad("? [x]\n: 1\n", FC_EPARSE, 1, 3, "map key");
    yaml_bad("a: 1\n---\nb: 2\n", FC_EPARSE, 2, 1, "more than one YAML document");
    yaml_bad("a: \t\x01\n", FC_EPARSE, 1, 5, "control characters");
    char deep[400];
    size_t n = 0;
    for (int i = 0; i < 100; i++) {
        deep[n++] = '[';
    }
    deep[n] = '\0';
    yaml_bad(deep, FC_ELIMIT, 1, 66, "nested too deeply");

    assert_int_equal(fc_yaml_load_file(FC_TEST_DATA "/core/no-such-file.yaml", &y, &err), FC_EIO);
    assert_non_null(strstr(err.file, "no-such-file.yaml"));

    /* Allocation failures anywhere give FC_ENOMEM and no leak. */
    const char *text = "a: [1, 2, 3]\nb: {c: d, e: [f, g]}\n";
    for (long k = 0; k < 100; k++) {
        fc_alloc_fail_after(k);
        int rc = fc_yaml_load_buf("x", text, strlen(text), &y, &err);
        fc_alloc_fail_after(-1);
        if (rc == FC_OK) {
            assert_string_equal(fc_yaml_get(fc_yaml_get(y, "b"), "c")->scalar, "d");
            fc_yaml_free(y);
            break;
        }
        assert_int_equal(rc, FC_ENOMEM);
        assert_null(y);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_err_format),
        cmocka_unit_test(test_alloc_fail_hook),
        cmocka_unit_test(test_alloc_fail_every_step),
        cmocka_unit_test(test_str),
        cmocka_unit_test(test_parse_numbers),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_hash),
        cmocka_unit_test(test_arena),
        cmocka_unit_test(test_dict_million),
        cmocka_unit_test(test_geo),
        cmocka_unit_test(test_geo_round),
        cmocka_unit_test(test_money),
        cmocka_unit_test(test_civil),
        cmocka_unit_test(test_iso8601),
        cmocka_unit_test(test_time_parse_fmt),
        cmocka_unit_test(test_time_format),
        cmocka_unit_test(test_tz_fixed),
        cmocka_unit_test(test_tz_london),
        cmocka_unit_test(test_tz_sao_paulo),
        cmocka_unit_test(test_tz_unknown),
        cmocka_unit_test(test_tz_golden),
        cmocka_unit_test(test_yaml_tree),
        cmocka_unit_test(test_yaml_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
