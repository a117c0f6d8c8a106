/*
 * Tests of the demo world generator: determinism, that every file parses,
 * the daily peaks, money decimals, the injected problems as seen in the raw
 * files, the ground truth, and the `fulcrum gen` command.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/core.h"
#include "event/event.h"
#include "gen/gen.h"

/* ---------------------------------------------------------------------------
 * Helpers.
 */
static char *read_all(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap + 1);
    size_t got;
    while (buf != NULL && (got = fread(buf + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            cap *= 2;
            char *nb = realloc(buf, cap + 1);
            if (nb == NULL) {
                free(buf);
                buf = NULL;
            }
            buf = nb;
        }
    }
    fclose(f);
    if (buf != NULL) {
        buf[len] = '\0';
    }
    *n = len;
    return buf;
}

static void path_join(char *out, size_t n, const char *dir, const char *name) {
    snprintf(out, n, "%s/%s", dir, name);
}

static void remove_world(const char *dir) {
    char p[512];
    for (size_t i = 0; fc_gen_file(i) != NULL; i++) {
        path_join(p, sizeof p, dir, fc_gen_file(i));
        remove(p);
    }
    path_join(p, sizeof p, dir, "ground_truth.json");
    remove(p);
    rmdir(dir);
}

/* A fresh empty folder under /tmp; the world goes into <it>/w. */
static void fresh_dir(char *tmpl, size_t n, char *world, size_t wn) {
    snprintf(tmpl, n, "/tmp/fc_gen_XXXXXX");
    assert_non_null(mkdtemp(tmpl));
    snprintf(world, wn, "%s/w", tmpl);
}

static void gen_small(const char *dir, uint64_t seed, fc_gen_summary *sum) {
    fc_gen_opts o;
    fc_gen_opts_init(&o);
    o.seed = seed;
    o.days = 1;
    assert_int_equal(fc_gen_scale_parse("small", &o.scale), FC_OK);
    fc_err err;
    fc_err_clear(&err);
    int rc = fc_gen_world(dir, &o, sum, &err);
    if (rc != FC_OK) {
        fail_msg("fc_gen_world: %s", err.msg);
    }
}

/* Split a line (no quoting: the generator writes none) into fields. */
#define MAX_FIELDS 40
typedef struct row {
    fc_str f[MAX_FIELDS];
    size_t n;
} row;

static void split(fc_str line, row *r) {
    r->n = 0;
    const char *p = line.p, *end = line.p + line.n, *start = p;
    for (; p <= end; p++) {
        if (p == end || *p == ',') {
            assert_true(r->n < MAX_FIELDS);
            r->f[r->n++] = fc_str_make(start, (size_t)(p - start));
            start = p + 1;
        }
    }
}

/* Iterate lines of a buffer. */
static int next_line(const char **pos, const char *end, fc_str *line) {
    if (*pos >= end) {
        return 0;
    }
    const char *nl = memchr(*pos, '\n', (size_t)(end - *pos));
    assert_non_null(nl); /* every line ends with a newline */
    *line = fc_str_make(*pos, (size_t)(nl - *pos));
    *pos = nl + 1;
    return 1;
}

static int64_t parse_time(fc_str s) {
    int64_t t = 0;
    fc_err err;
    fc_err_clear(&err);
    if (fc_time_parse_iso(s, NULL, &t, &err) != FC_OK) {
        char buf[64];
        fail_msg("bad time '%s'", fc_str_cpy(buf, sizeof buf, s));
    }
    return t;
}

static int32_t parse_e6(fc_str s) {
    double v = 0.0;
    assert_int_equal(fc_parse_f64(s, &v), FC_OK);
    return (int32_t)(v * 1e6 + (v < 0 ? -0.5 : 0.5));
}

/* The orders.csv columns used here. */
enum {
    C_ORDER = 0,
    C_CITY,
    C_ZONE,
    C_MERCHANT,
    C_CUSTOMER,
    C_RIDER,
    C_CATEGORY,
    C_PREBOOK,
    C_CREATED,
    C_PROMISED,
    C_EST_READY,
    C_PUSHED,
    C_ACCEPTED,
    C_ARR_MERCHANT,
    C_READY,
    C_PICKED,
    C_ARR_CUSTOMER,
    C_DELIVERED,
    C_CANCELLED,
    C_CANCELLED_BY,
    C_CANCEL_REASON,
    C_M_LAT,
    C_M_LNG,
    C_C_LAT,
    C_C_LNG,
    C_D_LAT,
    C_D_LNG,
    C_DISTANCE,
    C_VALUE,
    C_COST,
    C_CURRENCY,
    C__COUNT
};

static const char orders_header[] =
    "order_id,city,zone,merchant,customer,rider,category,prebook,created_at,promised_at,"
    "est_ready_at,pushed_at,accepted_at,arrived_merchant_at,ready_at,picked_up_at,"
    "arrived_customer_at,delivered_at,cancelled_at,cancelled_by,cancel_reason,merchant_lat,"
    "merchant_lng,customer_lat,customer_lng,delivered_lat,delivered_lng,distance_m,order_value,"
    "delivery_cost,currency";

/* One small world shared by the tests that only read it. */
typedef struct world {
    char tmp[256], dir[300];
    fc_gen_summary sum;
    char *orders, *events;
    size_t orders_n, events_n;
    json_t *truth;
} world;

static int setup_world(void **state) {
    world *w = calloc(1, sizeof *w);
    if (w == NULL) {
        return -1;
    }
    fresh_dir(w->tmp, sizeof w->tmp, w->dir, sizeof w->dir);
    gen_small(w->dir, 42, &w->sum);
    char p[512];
    path_join(p, sizeof p, w->dir, "orders.csv");
    w->orders = read_all(p, &w->orders_n);
    path_join(p, sizeof p, w->dir, "events.jsonl");
    w->events = read_all(p, &w->events_n);
    path_join(p, sizeof p, w->dir, "ground_truth.json");
    json_error_t jerr;
    w->truth = json_load_file(p, 0, &jerr);
    if (w->orders == NULL || w->events == NULL || w->truth == NULL) {
        return -1;
    }
    *state = w;
    return 0;
}

static int teardown_world(void **state) {
    world *w = *state;
    if (w != NULL) {
        remove_world(w->dir);
        rmdir(w->tmp);
        free(w->orders);
        free(w->events);
        json_decref(w->truth);
        free(w);
    }
    return 0;
}

/* The problem of a type in the ground truth. */
static json_t *problem(world *w, const char *type) {
    json_t *list = json_object_get(w->truth, "problems");
    size_t i;
    json_t *p;
    json_array_foreach(list, i, p) {
        if (strcmp(json_string_value(json_object_get(p, "type")), type) == 0) {
            return p;
        }
    }
    fail_msg("no problem of type %s", type);
    return NULL;
}

static const char *jstr(json_t *o, const char *key) {
    const char *s = json_string_value(json_object_get(o, key));
    assert_non_null(s);
    return s;
}

/* ---------------------------------------------------------------------------
 * Determinism.
 */
static void compare_files(const char *a, const char *b, int *all_same, int *orders_same) {
    *all_same = 1;
    for (size_t i = 0; i <= 6; i++) {
        const char *name = fc_gen_file(i) != NULL ? fc_gen_file(i) : "ground_truth.json";
        char pa[512], pb[512];
        path_join(pa, sizeof pa, a, name);
        path_join(pb, sizeof pb, b, name);
        size_t na = 0, nb = 0;
        char *x = read_all(pa, &na), *y = read_all(pb, &nb);
        assert_non_null(x);
        assert_non_null(y);
        int same = na == nb && memcmp(x, y, na) == 0;
        if (!same) {
            *all_same = 0;
        }
        if (strcmp(name, "orders.csv") == 0) {
            *orders_same = same;
        }
        free(x);
        free(y);
    }
}

static void test_same_seed_byte_identical(void **state) {
    (void)state;
    char t1[256], d1[300], t2[256], d2[300], t3[256], d3[300];
    fresh_dir(t1, sizeof t1, d1, sizeof d1);
    fresh_dir(t2, sizeof t2, d2, sizeof d2);
    fresh_dir(t3, sizeof t3, d3, sizeof d3);
    fc_gen_summary s1, s2, s3;
    gen_small(d1, 7, &s1);
    gen_small(d2, 7, &s2);
    gen_small(d3, 8, &s3);
    int all_same = 0, orders_same = 0;
    compare_files(d1, d2, &all_same, &orders_same);
    assert_true(all_same);
    assert_true(orders_same);
    assert_int_equal(s1.orders, s2.orders);
    assert_int_equal(s1.events, s2.events);
    compare_files(d1, d3, &all_same, &orders_same);
    assert_false(orders_same);
    assert_false(all_same);
    remove_world(d1);
    remove_world(d2);
    remove_world(d3);
    rmdir(t1);
    rmdir(t2);
    rmdir(t3);
}

static void test_bad_options(void **state) {
    (void)state;
    fc_gen_opts o;
    fc_gen_opts_init(&o);
    fc_err err;
    fc_err_clear(&err);
    o.days = 0;
    assert_int_equal(fc_gen_world("/tmp/fc_gen_never", &o, NULL, &err), FC_EINVAL);
    o.days = 1;
    o.scale = 0.0;
    assert_int_equal(fc_gen_world("/tmp/fc_gen_never", &o, NULL, &err), FC_EINVAL);
    double s = 0.0;
    assert_int_equal(fc_gen_scale_parse("small", &s), FC_OK);
    assert_true(s > 0.0 && s < 0.1);
    assert_int_equal(fc_gen_scale_parse("2.5", &s), FC_OK);
    assert_true(s == 2.5);
    assert_int_equal(fc_gen_scale_parse("huge", &s), FC_EINVAL);
    assert_int_equal(fc_gen_scale_parse("-1", &s), FC_EINVAL);
    assert_int_equal(fc_gen_scale_parse("21", &s), FC_EINVAL);
    assert_int_equal(access("/tmp/fc_gen_never", F_OK), -1); /* nothing written */
}

/* Every allocation failure is reported as FC_ENOMEM, leaks nothing (ASan)
 * and leaves no orders or ground truth under their final names. */
static void test_allocation_failures(void **state) {
    (void)state;
    char tmp[256], dir[300], p[512];
    fresh_dir(tmp, sizeof tmp, dir, sizeof dir);
    fc_gen_opts o;
    fc_gen_opts_init(&o);
    o.days = 1;
    o.scale = 0.01;
    int rc = FC_ENOMEM;
    long n = 0;
    for (; rc != FC_OK && n < 500; n++) {
        fc_err err;
        fc_err_clear(&err);
        fc_alloc_fail_after(n);
        rc = fc_gen_world(dir, &o, NULL, &err);
        fc_alloc_fail_after(-1);
        if (rc != FC_OK) {
            assert_int_equal(rc, FC_ENOMEM);
            path_join(p, sizeof p, dir, "orders.csv");
            assert_int_equal(access(p, F_OK), -1);
            path_join(p, sizeof p, dir, "ground_truth.json");
            assert_int_equal(access(p, F_OK), -1);
        }
    }
    assert_int_equal(rc, FC_OK);
    assert_true(n > 5); /* the failures were really exercised */
    remove_world(dir);
    rmdir(tmp);
}

/* ---------------------------------------------------------------------------
 * Every file parses.
 */
static size_t check_csv(const char *dir, const char *name, const char *header, size_t fields) {
    char p[512];
    path_join(p, sizeof p, dir, name);
    size_t n = 0;
    char *buf = read_all(p, &n);
    assert_non_null(buf);
    assert_null(memchr(buf, '"', n));
    const char *pos = buf, *end = buf + n;
    fc_str line;
    assert_true(next_line(&pos, end, &line));
    assert_true(fc_str_eqc(line, header));
    size_t rows = 0;
    row r;
    while (next_line(&pos, end, &line)) {
        split(line, &r);
        assert_int_equal(r.n, fields);
        rows++;
    }
    free(buf);
    return rows;
}

static void test_reference_files(void **state) {
    world *w = *state;
    assert_int_equal(check_csv(w->dir, "cities.csv", "country,city,tz,currency", 4), 6);
    assert_int_equal(check_csv(w->dir, "zones.csv", "city,zone,kind", 3), w->sum.zones);
    assert_int_equal(check_csv(w->dir, "merchants.csv", "merchant,city,zone,kind,brand,lat,lng", 7),
                     w->sum.merchants);
    assert_int_equal(check_csv(w->dir, "riders.csv", "rider,city,capacity,fleet,start_date", 5),
                     w->sum.riders);

    /* Every zone kind in every city; every merchant kind and capacity type. */
    char p[512];
    size_t n = 0;
    path_join(p, sizeof p, w->dir, "zones.csv");
    char *zones = read_all(p, &n);
    assert_non_null(zones);
    static const char *const cities[] = {"riyadh",      "dubai",     "doha",
                                         "kuwait_city", "hong_kong", "sao_paulo"};
    static const char *const kinds[] = {"business_district", "residential", "office", "mixed"};
    for (size_t c = 0; c < 6; c++) {
        for (size_t k = 0; k < 4; k++) {
            char needle[96];
            snprintf(needle, sizeof needle, "\n%s,", cities[c]);
            int found = 0;
            for (const char *s = strstr(zones, needle); s != NULL && !found;
                 s = strstr(s + 1, needle)) {
                const char *eol = strchr(s + 1, '\n');
                const char *kind = eol - strlen(kinds[k]);
                found = strncmp(kind, kinds[k], strlen(kinds[k])) == 0 && kind[-1] == ',';
            }
            assert_true(found);
        }
    }
    free(zones);
    path_join(p, sizeof p, w->dir, "merchants.csv");
    char *merchants = read_all(p, &n);
    assert_non_null(merchants);
    static const char *const mk[] = {",fast_food,", ",restaurant,", ",grocery,", ",pharmacy,",
                                     ",cafe,"};
    for (size_t k = 0; k < 5; k++) {
        assert_non_null(strstr(merchants, mk[k]));
    }
    free(merchants);
    path_join(p, sizeof p, w->dir, "riders.csv");
    char *riders = read_all(p, &n);
    assert_non_null(riders);
    assert_non_null(strstr(riders, ",full_time,"));
    assert_non_null(strstr(riders, ",part_time,"));
    assert_non_null(strstr(riders, ",crowd,"));
    free(riders);
    path_join(p, sizeof p, w->dir, "cities.csv");
    char *cs = read_all(p, &n);
    assert_non_null(strstr(cs, "KW,kuwait_city,Asia/Kuwait,KWD\n"));
    assert_non_null(strstr(cs, "BR,sao_paulo,America/Sao_Paulo,BRL\n"));
    free(cs);
}

static void test_orders_parse(void **state) {
    world *w = *state;
    const char *pos = w->orders, *end = w->orders + w->orders_n;
    fc_str line;
    assert_true(next_line(&pos, end, &line));
    assert_true(fc_str_eqc(line, orders_header));
    fc_dict *ids = fc_dict_new();
    assert_non_null(ids);
    int64_t rows = 0, delivered = 0, cancelled = 0;
    row r;
    while (next_line(&pos, end, &line)) {
        split(line, &r);
        assert_int_equal(r.n, C__COUNT);
        rows++;
        assert_int_equal(fc_dict_intern(ids, r.f[C_ORDER]), rows - 1); /* unique */
        int64_t created = parse_time(r.f[C_CREATED]);
        for (int c = C_CREATED; c <= C_CANCELLED; c++) {
            if (r.f[c].n > 0) {
                int64_t t = parse_time(r.f[c]);
                /* every step after the order was placed */
                assert_true(c == C_PROMISED || t >= created);
            }
        }
        if (r.f[C_DELIVERED].n > 0) {
            delivered++;
            assert_true(parse_time(r.f[C_DELIVERED]) >= parse_time(r.f[C_PICKED]));
            assert_true(r.f[C_D_LAT].n > 0);
        }
        if (r.f[C_CANCELLED].n > 0) {
            cancelled++;
            assert_true(r.f[C_CANCELLED_BY].n > 0);
            assert_int_equal(r.f[C_DELIVERED].n, 0);
        }
        int64_t dist = 0;
        assert_int_equal(fc_parse_i64(r.f[C_DISTANCE], &dist), FC_OK);
        assert_true(dist >= 300 && dist <= 9000);
    }
    assert_int_equal(rows, w->sum.orders);
    assert_true(rows > 1000);
    assert_true(delivered > rows * 9 / 10);
    assert_true(cancelled > 0);
    fc_dict_free(ids);
}

static void test_events_parse(void **state) {
    world *w = *state;
    const char *pos = w->events, *end = w->events + w->events_n;
    fc_str line;
    fc_dict *ids = fc_dict_new();
    assert_non_null(ids);
    int64_t lines = 0;
    int seen[FC_EV__COUNT] = {0};
    while (next_line(&pos, end, &line)) {
        json_error_t jerr;
        json_t *o = json_loadb(line.p, line.n, 0, &jerr);
        if (o == NULL) {
            fail_msg("line %lld: %s", (long long)lines + 1, jerr.text);
        }
        const char *id = jstr(o, "id");
        assert_int_equal(fc_dict_intern(ids, fc_str_c(id)), lines); /* unique */
        lines++;
        fc_event_type t = fc_event_type_from(fc_str_c(jstr(o, "type")));
        assert_int_not_equal(t, FC_EV_NONE);
        seen[t]++;
        parse_time(fc_str_c(jstr(o, "ts")));
        if (t == FC_EV_WEATHER) {
            assert_true(parse_time(fc_str_c(jstr(o, "to"))) >
                        parse_time(fc_str_c(jstr(o, "from"))));
            json_int_t sev = json_integer_value(json_object_get(o, "severity"));
            assert_true(sev >= 0 && sev <= 3);
        } else if (t == FC_EV_PLATFORM_INCIDENT) {
            assert_true(parse_time(fc_str_c(jstr(o, "to"))) >
                        parse_time(fc_str_c(jstr(o, "from"))));
            assert_string_equal(jstr(o, "reason"), "dispatch_outage");
        } else {
            assert_non_null(json_object_get(o, "order"));
        }
        if (t == FC_EV_RATING) {
            json_int_t s = json_integer_value(json_object_get(o, "score"));
            assert_true(s >= 1 && s <= 5);
        }
        json_decref(o);
    }
    assert_int_equal(lines, w->sum.events);
    const fc_event_type wanted[] = {
        FC_EV_ORDER_REFUSED,   FC_EV_CONTACT_ATTEMPT,  FC_EV_COMPLAINT, FC_EV_RATING,
        FC_EV_COMPENSATION,    FC_EV_CS_CONTACT,       FC_EV_WEATHER,   FC_EV_ORDER_UNDELIVERABLE,
        FC_EV_SURVEY_RESPONSE, FC_EV_PLATFORM_INCIDENT};
    for (size_t i = 0; i < sizeof wanted / sizeof wanted[0]; i++) {
        if (seen[wanted[i]] == 0) {
            fail_msg("no %s event", fc_event_type_name(wanted[i]));
        }
    }
    fc_dict_free(ids);
}

/* ---------------------------------------------------------------------------
 * Realism.
 */
static void test_peaks(void **state) {
    world *w = *state;
    int64_t hours[24] = {0};
    const char *pos = w->orders, *end = w->orders + w->orders_n;
    fc_str line;
    row r;
    next_line(&pos, end, &line);
    while (next_line(&pos, end, &line)) {
        split(line, &r);
        /* local hour: "2026-03-02T19:04:11+03:00" */
        int h = (r.f[C_CREATED].p[11] - '0') * 10 + (r.f[C_CREATED].p[12] - '0');
        assert_true(h >= 0 && h < 24);
        hours[h]++;
    }
    assert_true(hours[19] > hours[12]);
    assert_true(hours[12] > hours[4]);
    int64_t dinner = hours[17] + hours[18] + hours[19] + hours[20];
    int64_t lunch = hours[11] + hours[12] + hours[13];
    assert_true(dinner / 4 > 3 * (lunch / 3) / 2); /* dinner clearly above lunch */
}

/* The number of decimals of an amount's text ("3.250" -> 3). */
static int decimals(fc_str s) {
    for (uint32_t i = 0; i < s.n; i++) {
        if (s.p[i] == '.') {
            return (int)(s.n - i - 1);
        }
    }
    return 0;
}

static void test_money_decimals(void **state) {
    world *w = *state;
    const char *pos = w->orders, *end = w->orders + w->orders_n;
    fc_str line;
    row r;
    int64_t kwd = 0, sar = 0;
    next_line(&pos, end, &line);
    while (next_line(&pos, end, &line)) {
        split(line, &r);
        int want = fc_str_eqc(r.f[C_CURRENCY], "KWD") ? 3 : 2;
        kwd += want == 3;
        sar += fc_str_eqc(r.f[C_CURRENCY], "SAR");
        assert_int_equal(decimals(r.f[C_VALUE]), want);
        assert_int_equal(decimals(r.f[C_COST]), want);
        int64_t minor = 0;
        char code[4];
        fc_str_cpy(code, sizeof code, r.f[C_CURRENCY]);
        assert_int_equal(fc_money_parse(r.f[C_VALUE], code, &minor), FC_OK);
        assert_true(minor > 0);
    }
    assert_true(kwd > 0);
    assert_true(sar > 0);

    /* Compensation amounts in KWD have 3 decimals too. */
    int64_t kwd_comp = 0;
    for (const char *s = strstr(w->events, "\"amount\":"); s != NULL;
         s = strstr(s + 1, "\"amount\":")) {
        const char *v = s + strlen("\"amount\":");
        size_t len = strcspn(v, ",}");
        const char *eol = strchr(v, '\n');
        int is_kwd =
            strstr(v, "\"currency\":\"KWD\"") != NULL && strstr(v, "\"currency\":\"KWD\"") < eol;
        int d = decimals(fc_str_make(v, len));
        assert_int_equal(d, is_kwd ? 3 : 2);
        kwd_comp += is_kwd;
    }
    (void)kwd_comp;
}

/* ---------------------------------------------------------------------------
 * Injected problems, visible in the raw files.
 */
static void test_slow_merchant(void **state) {
    world *w = *state;
    const char *slow = jstr(problem(w, "slow_merchant"), "merchant");
    double slow_prep = 0.0, other_prep = 0.0, slow_overrun = 0.0;
    int64_t n_slow = 0, n_other = 0;
    const char *pos = w->orders, *end = w->orders + w->orders_n;
    fc_str line;
    row r;
    next_line(&pos, end, &line);
    while (next_line(&pos, end, &line)) {
        split(line, &r);
        if (r.f[C_READY].n == 0 || fc_str_eqc(r.f[C_PREBOOK], "1")) {
            continue;
        }
        double prep = (double)(parse_time(r.f[C_READY]) - parse_time(r.f[C_CREATED]));
        if (fc_str_eqc(r.f[C_MERCHANT], slow)) {
            slow_prep += prep;
            slow_overrun += (double)(parse_time(r.f[C_READY]) - parse_time(r.f[C_EST_READY]));
            n_slow++;
        } else {
            other_prep += prep;
            n_other++;
        }
    }
    assert_true(n_slow >= 5);
    slow_prep /= (double)n_slow;
    other_prep /= (double)n_other;
    slow_overrun /= (double)n_slow;
    assert_true(slow_prep > 2.0 * other_prep);
    assert_true(slow_overrun > 15 * 60);                       /* well past its own estimate */
    assert_true(other_prep > 12 * 60 && other_prep < 22 * 60); /* ~17 min calibration */
}

static void test_far_delivery_rider(void **state) {
    world *w = *state;
    const char *far = jstr(problem(w, "far_delivery_rider"), "rider");
    int64_t n_far = 0, n_other = 0, other_near = 0;
    const char *pos = w->orders, *end = w->orders + w->orders_n;
    fc_str line;
    row r;
    next_line(&pos, end, &line);
    while (next_line(&pos, end, &line)) {
        split(line, &r);
        if (r.f[C_DELIVERED].n == 0) {
            continue;
        }
        double d = fc_geo_distance_m(parse_e6(r.f[C_C_LAT]), parse_e6(r.f[C_C_LNG]),
                                     parse_e6(r.f[C_D_LAT]), parse_e6(r.f[C_D_LNG]));
        if (fc_str_eqc(r.f[C_RIDER], far)) {
            assert_true(d >= 450.0 && d <= 3100.0);
            n_far++;
        } else {
            other_near += d < 100.0;
            n_other++;
        }
    }
    assert_true(n_far >= 3);
    assert_int_equal(other_near, n_other); /* everyone else delivers at the door */
    /* not_received complaints name only orders of that rider's list */
    json_t *orders = json_object_get(problem(w, "far_delivery_rider"), "orders");
    assert_int_equal((int64_t)json_array_size(orders), n_far);
}

static void test_dispatch_outage(void **state) {
    world *w = *state;
    json_t *p = problem(w, "dispatch_outage");
    const char *city = jstr(p, "city");
    json_t *win = json_object_get(p, "window");
    int64_t from = parse_time(fc_str_c(jstr(win, "from")));
    int64_t to = parse_time(fc_str_c(jstr(win, "to")));
    assert_true(to - from >= 45 * 60 && to - from <= 90 * 60);
    /* The platform knows it: one platform_incident of the same window. */
    const char *inc = strstr(w->events, "\"type\":\"platform_incident\"");
    assert_non_null(inc);
    const char *bol = inc;
    while (bol > w->events && bol[-1] != '\n') {
        bol--;
    }
    json_error_t jerr;
    json_t *e = json_loadb(bol, (size_t)(strchr(inc, '\n') - bol), 0, &jerr);
    assert_non_null(e);
    assert_string_equal(jstr(e, "city"), city);
    assert_string_equal(jstr(e, "reason"), "dispatch_outage");
    assert_true(parse_time(fc_str_c(jstr(e, "from"))) == from);
    assert_true(parse_time(fc_str_c(jstr(e, "to"))) == to);
    json_decref(e);
    double in_wait = 0.0, out_wait = 0.0;
    int64_t n_in = 0, n_out = 0, in_cancel = 0;
    const char *pos = w->orders, *end = w->orders + w->orders_n;
    fc_str line;
    row r;
    next_line(&pos, end, &line);
    while (next_line(&pos, end, &line)) {
        split(line, &r);
        if (!fc_str_eqc(r.f[C_CITY], city) || fc_str_eqc(r.f[C_PREBOOK], "1")) {
            continue;
        }
        int64_t created = parse_time(r.f[C_CREATED]);
        int inside = created >= from && created < to;
        if (r.f[C_PUSHED].n == 0) {
            in_cancel += inside && fc_str_eqc(r.f[C_CANCELLED_BY], "customer");
            continue;
        }
        double wait = (double)(parse_time(r.f[C_PUSHED]) - created);
        if (inside) {
            assert_true(parse_time(r.f[C_PUSHED]) >= to); /* nothing pushed during it */
            in_wait += wait;
            n_in++;
        } else {
            out_wait += wait;
            n_out++;
        }
    }
    assert_true(n_in > 0 && n_out > 0);
    assert_true(in_wait / (double)n_in > 10 * 60);
    assert_true(out_wait / (double)n_out < 3 * 60);
    (void)in_cancel;
}

static void test_rider_shortage_and_unreachable(void **state) {
    world *w = *state;
    /* Shortage: orders in the list wait far longer for a rider than others. */
    json_t *p = problem(w, "rider_shortage");
    fc_dict *short_ids = fc_dict_new();
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(p, "orders"), i, v) {
        fc_dict_intern(short_ids, fc_str_c(json_string_value(v)));
    }
    assert_true(fc_dict_count(short_ids) > 0);
    double in_wait = 0.0, out_wait = 0.0;
    int64_t n_in = 0, n_out = 0;
    const char *pos = w->orders, *end = w->orders + w->orders_n;
    fc_str line;
    row r;
    next_line(&pos, end, &line);
    while (next_line(&pos, end, &line)) {
        split(line, &r);
        if (r.f[C_ACCEPTED].n == 0 || fc_str_eqc(r.f[C_PREBOOK], "1")) {
            continue;
        }
        double wait = (double)(parse_time(r.f[C_ACCEPTED]) - parse_time(r.f[C_CREATED]));
        if (fc_dict_find(short_ids, r.f[C_ORDER]) >= 0) {
            assert_true(fc_str_eqc(r.f[C_ZONE], jstr(p, "zone")));
            in_wait += wait;
            n_in++;
        } else {
            out_wait += wait;
            n_out++;
        }
    }
    assert_true(n_in > 0);
    assert_true(in_wait / (double)n_in > 4.0 * (out_wait / (double)n_out));

    /* Refusals concentrate on those orders. */
    int64_t refusals_in = 0;
    for (const char *s = strstr(w->events, "\"type\":\"order_refused\""); s != NULL;
         s = strstr(s + 1, "\"type\":\"order_refused\"")) {
        const char *o = strstr(s, "\"order\":\"") + strlen("\"order\":\"");
        refusals_in += fc_dict_find(short_ids, fc_str_make(o, strcspn(o, "\""))) >= 0;
    }
    assert_true(refusals_in >= 2 * (int64_t)fc_dict_count(short_ids) * 8 / 10);
    fc_dict_free(short_ids);

    /* Unreachable: the listed orders have no_answer contact attempts and end
     * undeliverable far more often than the rest. */
    p = problem(w, "unreachable_customers");
    fc_dict *ur = fc_dict_new();
    json_array_foreach(json_object_get(p, "orders"), i, v) {
        fc_dict_intern(ur, fc_str_c(json_string_value(v)));
    }
    assert_true(fc_dict_count(ur) > 0);
    int64_t undeliverable_in = 0, undeliverable_all = 0, no_answer_in = 0;
    for (const char *s = strstr(w->events, "{\"id\":\""); s != NULL;
         s = strstr(s + 1, "{\"id\":\"")) {
        const char *eol = strchr(s, '\n');
        const char *o = strstr(s, "\"order\":\"");
        if (o == NULL || o > eol) {
            continue;
        }
        o += strlen("\"order\":\"");
        int in = fc_dict_find(ur, fc_str_make(o, strcspn(o, "\""))) >= 0;
        const char *t = strstr(s, "\"type\":\"order_undeliverable\"");
        if (t != NULL && t < eol) {
            undeliverable_all++;
            undeliverable_in += in;
        }
        const char *na = strstr(s, "\"outcome\":\"no_answer\"");
        no_answer_in += in && na != NULL && na < eol;
    }
    assert_true(no_answer_in >= (int64_t)fc_dict_count(ur));
    assert_true(undeliverable_in * 2 > undeliverable_all);
    assert_true(undeliverable_in * 3 > (int64_t)fc_dict_count(ur));
    fc_dict_free(ur);
}

/* ---------------------------------------------------------------------------
 * Ground truth.
 */
static void test_ground_truth(void **state) {
    world *w = *state;
    json_t *t = w->truth;
    assert_true(json_is_object(t));
    assert_int_equal(json_integer_value(json_object_get(t, "seed")), 42);
    json_t *list = json_object_get(t, "problems");
    assert_true(json_is_array(list));
    assert_int_equal(json_array_size(list), 5);
    assert_int_equal(w->sum.n_problems, 5);

    fc_dict *ids = fc_dict_new();
    const char *pos = w->orders, *end = w->orders + w->orders_n;
    fc_str line;
    row r;
    next_line(&pos, end, &line);
    while (next_line(&pos, end, &line)) {
        split(line, &r);
        fc_dict_intern(ids, r.f[C_ORDER]);
    }
    static const char *const types[] = {"slow_merchant", "rider_shortage", "far_delivery_rider",
                                        "unreachable_customers", "dispatch_outage"};
    for (size_t k = 0; k < 5; k++) {
        json_t *p = problem(w, types[k]);
        jstr(p, "city");
        jstr(p, "description");
        json_t *win = json_object_get(p, "window");
        const char *from = jstr(win, "from"), *to = jstr(win, "to");
        assert_int_equal(from[strlen(from) - 1], 'Z'); /* UTC */
        assert_true(parse_time(fc_str_c(to)) > parse_time(fc_str_c(from)));
        json_t *orders = json_object_get(p, "orders");
        assert_true(json_array_size(orders) > 0);
        size_t i;
        json_t *v;
        json_array_foreach(orders, i, v) {
            assert_true(fc_dict_find(ids, fc_str_c(json_string_value(v))) >= 0);
        }
    }
    jstr(problem(w, "slow_merchant"), "merchant");
    jstr(problem(w, "rider_shortage"), "zone");
    jstr(problem(w, "unreachable_customers"), "zone");
    fc_dict_free(ids);
}

/* ---------------------------------------------------------------------------
 * The command.
 */
static int run(const char *const *argv) {
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0) {
            dup2(devnull, 1);
            dup2(devnull, 2);
        }
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_command(void **state) {
    (void)state;
    const char *bin = getenv("FC_BINARY");
    if (bin == NULL) {
        bin = FC_BINARY;
    }
    char tmp[256], dir[300];
    fresh_dir(tmp, sizeof tmp, dir, sizeof dir);
    const char *ok[] = {bin,     "gen",     "--seed",     "3",     "--days", "1", "--scale",
                        "small", "--start", "2026-05-04", "--out", dir,      NULL};
    assert_int_equal(run(ok), 0);
    char p[512];
    for (size_t i = 0; fc_gen_file(i) != NULL; i++) {
        path_join(p, sizeof p, dir, fc_gen_file(i));
        assert_int_equal(access(p, R_OK), 0);
    }
    path_join(p, sizeof p, dir, "orders.csv");
    size_t n = 0;
    char *buf = read_all(p, &n);
    assert_non_null(buf);
    assert_non_null(strstr(buf, "RUH-20260504-000001,riyadh,"));
    free(buf);
    const char *bad_days[] = {bin, "gen", "--days", "0", "--out", dir, NULL};
    assert_int_equal(run(bad_days), 1);
    const char *bad_date[] = {bin, "gen", "--start", "2026-02-30", "--out", dir, NULL};
    assert_int_equal(run(bad_date), 1);
    const char *bad_opt[] = {bin, "gen", "--colour", "red", NULL};
    assert_int_equal(run(bad_opt), 1);
    remove_world(dir);
    rmdir(tmp);
}

int main(void) {
    const struct CMUnitTest shared[] = {
        cmocka_unit_test(test_reference_files),
        cmocka_unit_test(test_orders_parse),
        cmocka_unit_test(test_events_parse),
        cmocka_unit_test(test_peaks),
        cmocka_unit_test(test_money_decimals),
        cmocka_unit_test(test_slow_merchant),
        cmocka_unit_test(test_far_delivery_rider),
        cmocka_unit_test(test_dispatch_outage),
        cmocka_unit_test(test_rider_shortage_and_unreachable),
        cmocka_unit_test(test_ground_truth),
    };
    const struct CMUnitTest alone[] = {
        cmocka_unit_test(test_same_seed_byte_identical),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_allocation_failures),
        cmocka_unit_test(test_command),
    };
    int failed = cmocka_run_group_tests_name("gen world", shared, setup_world, teardown_world);
    failed += cmocka_run_group_tests_name("gen", alone, NULL, NULL);
    return failed;
}
