/*
 * bench_kpi: the whole KPI catalog grouped by city x zone x hour over N
 * synthetic orders (default 10,000,000), against SQLite's own GROUP BY
 * computing the same counters over the same rows, in the same run.
 *
 * usage: bench_kpi [ORDERS] [--cube-only]
 *
 * Prints the fact table's build time and bytes per order (own accounting and
 * resident-set growth from /proc/self/statm), the cube time (best of 10), the
 * SQLite GROUP BY time (best of 2) and the ratio. Build in Release to measure.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kpi/kpi.h"

#define N_CITIES       6
#define ZONES_PER_CITY 24
#define N_MERCHANTS    6000
#define N_RIDERS       12000

static const char *const city_names[N_CITIES] = {"riyadh",      "dubai",     "doha",
                                                 "kuwait_city", "hong_kong", "sao_paulo"};
static const char *const city_country[N_CITIES] = {"SA", "AE", "QA", "KW", "HK", "BR"};
static const char *const city_tz[N_CITIES] = {"Asia/Riyadh", "Asia/Dubai",     "Asia/Qatar",
                                              "Asia/Kuwait", "Asia/Hong_Kong", "America/Sao_Paulo"};
static const char *const city_cur[N_CITIES] = {"SAR", "AED", "QAR", "KWD", "HKD", "BRL"};
static const char *const categories[3] = {"food", "grocery", "pharmacy"};

/* xorshift64*: deterministic across machines. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(uint32_t n) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)(((rng_state * 0x2545f4914f6cdd1dull) >> 32) % n);
}

static double rss_bytes(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, resident = 0;
    if (f == NULL) {
        return 0;
    }
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2) {
        resident = 0;
    }
    fclose(f);
    return (double)resident * (double)sysconf(_SC_PAGESIZE);
}

static char zone_names[N_CITIES * ZONES_PER_CITY][16];
static char merchant_names[N_MERCHANTS][16];
static char rider_names[N_RIDERS][16];

static void make_order(size_t i, fc_order_facts *o) {
    memset(o, 0, sizeof *o);
    uint32_t city = rnd(N_CITIES);
    uint32_t zone = city * ZONES_PER_CITY + rnd(ZONES_PER_CITY);
    o->city = fc_str_c(city_names[city]);
    o->zone = fc_str_c(zone_names[zone]);
    o->merchant = fc_str_c(merchant_names[rnd(N_MERCHANTS / N_CITIES) * N_CITIES + city]);
    o->category = fc_str_c(categories[rnd(3)]);
    o->currency = fc_str_c(city_cur[city]);
    /* Four weeks from 2026-03-02, any second. */
    o->created_at = 1772409600 + (int64_t)rnd(28 * 86400);
    o->order = fc_str_make("o", 1);
    (void)i;
    uint32_t fate = rnd(100);
    o->pushes = (uint16_t)(1 + rnd(3));
    o->refusals = (uint16_t)rnd(o->pushes);
    o->rating = FC_INT_NONE;
    o->survey = FC_INT_NONE;
    o->ready_at = FC_TS_NONE;
    o->est_ready_at = FC_TS_NONE;
    o->accepted_at = FC_TS_NONE;
    o->wait_at_merchant_s = FC_DUR_NONE;
    o->delivery_s = FC_DUR_NONE;
    o->order_value_minor = 2000 + rnd(20000);
    o->delivery_cost_minor = 500 + rnd(1500);
    if (fate < 90) {
        o->status = FC_ORDER_DELIVERED;
        o->rider = fc_str_c(rider_names[rnd(N_RIDERS / N_CITIES) * N_CITIES + city]);
        o->accepted_at = o->created_at + 60 + rnd(300);
        o->delivery_s = (int32_t)(900 + rnd(3600));
        o->wait_at_merchant_s = (int32_t)rnd(900);
        o->est_ready_at = o->created_at + 900;
        o->ready_at = o->est_ready_at - 300 + rnd(900);
        o->prep_overrun_s = (int32_t)(o->ready_at - o->est_ready_at);
        int32_t late = o->delivery_s - 2700;
        o->incidents |= late > 300 ? FC_INC_LATE : 0;
        o->incidents |= late > 1200 ? FC_INC_SEVERE_LATE : 0;
        if (rnd(4) == 0) {
            o->rating = (int32_t)(1 + rnd(5));
            o->incidents |= o->rating <= 2 ? FC_INC_BAD_RATING : 0;
        }
        if (rnd(10) == 0) {
            o->survey = (int32_t)rnd(11);
        }
    } else if (fate < 97) {
        o->status = FC_ORDER_CANCELLED;
        o->cancelled_by = (fc_party)(1 + rnd(4));
    } else {
        o->status = FC_ORDER_UNDELIVERABLE;
    }
    if (rnd(30) == 0) {
        o->complaints = 1;
        o->incidents |= FC_INC_COMPLAINT;
        o->compensation_minor = 500 + rnd(2000);
    }
    o->cs_contacts = (uint16_t)(rnd(20) == 0);
}

/* SQLite: the same rows (the dimension ids read back from the fact table, the
 * measures from the same generated facts), the same counters. */
static const char *const sql_ddl =
    "CREATE TABLE f(city INT, zone INT, hour INT, status INT, late INT, severe INT,"
    " cancelled_by INT, complained INT, cs INT, rating INT, bad INT, survey INT, pushes INT,"
    " refusals INT, accepted INT, wait_s INT, prep INT, prep_over INT, delivery_s INT,"
    " cost INT, comp INT, value INT, currency INT)";

static const char *const sql_query =
    "SELECT city, zone, hour, count(*), sum(status = 1), sum(late), sum(severe),"
    " sum(status = 2), sum(cancelled_by = 1), sum(cancelled_by = 2), sum(cancelled_by = 3),"
    " sum(cancelled_by = 4), sum(status = 3), sum(complained), sum(cs),"
    " count(rating), sum(bad), sum(rating >= 4), count(survey), sum(survey >= 9),"
    " sum(survey <= 6), sum(pushes > 0), sum(pushes > 0 AND accepted), sum(pushes),"
    " sum(refusals), count(wait_s), sum(wait_s), sum(prep), sum(prep_over),"
    " count(delivery_s), sum(delivery_s), sum(cost), count(value), sum(value),"
    " sum(CASE WHEN value IS NOT NULL THEN comp ELSE 0 END), min(currency), max(currency)"
    " FROM f GROUP BY city, zone, hour";

static void bind_opt(sqlite3_stmt *st, int col, int present, int64_t v) {
    if (present) {
        sqlite3_bind_int64(st, col, v);
    } else {
        sqlite3_bind_null(st, col);
    }
}

static int sqlite_insert(sqlite3_stmt *st, const fc_facts *t, size_t row, const fc_order_facts *o,
                         const fc_thresholds *th) {
    int delivered = o->status == FC_ORDER_DELIVERED;
    int prep = o->ready_at != FC_TS_NONE && o->est_ready_at != FC_TS_NONE;
    sqlite3_bind_int64(st, 1, fc_facts_value(t, FC_DIM_CITY, row));
    sqlite3_bind_int64(st, 2, fc_facts_value(t, FC_DIM_ZONE, row));
    sqlite3_bind_int64(st, 3, fc_facts_value(t, FC_DIM_HOUR, row));
    sqlite3_bind_int64(st, 4, (int64_t)o->status);
    sqlite3_bind_int64(st, 5, delivered && (o->incidents & FC_INC_LATE) != 0);
    sqlite3_bind_int64(st, 6, delivered && (o->incidents & FC_INC_SEVERE_LATE) != 0);
    sqlite3_bind_int64(st, 7, o->status == FC_ORDER_CANCELLED ? (int64_t)o->cancelled_by : 0);
    sqlite3_bind_int64(st, 8, o->complaints > 0);
    sqlite3_bind_int64(st, 9, o->cs_contacts > 0);
    bind_opt(st, 10, o->rating != FC_INT_NONE, o->rating);
    sqlite3_bind_int64(st, 11, o->rating != FC_INT_NONE && (o->incidents & FC_INC_BAD_RATING));
    bind_opt(st, 12, o->survey != FC_INT_NONE, o->survey);
    sqlite3_bind_int64(st, 13, o->pushes);
    sqlite3_bind_int64(st, 14, o->refusals);
    sqlite3_bind_int64(st, 15, o->accepted_at != FC_TS_NONE);
    bind_opt(st, 16, o->wait_at_merchant_s != FC_DUR_NONE, o->wait_at_merchant_s);
    sqlite3_bind_int64(st, 17, prep);
    sqlite3_bind_int64(st, 18, prep && o->prep_overrun_s > th->prep_overrun_s);
    bind_opt(st, 19, delivered && o->delivery_s != FC_DUR_NONE, o->delivery_s);
    sqlite3_bind_int64(st, 20, o->delivery_cost_minor + o->compensation_minor);
    sqlite3_bind_int64(st, 21, o->compensation_minor);
    bind_opt(st, 22, o->order_value_minor != FC_MONEY_NONE, o->order_value_minor);
    sqlite3_bind_int64(st, 23, fc_facts_value(t, FC_DIM_CITY, row));
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int main(int argc, char **argv) {
    size_t n = 10000000;
    int cube_only = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--cube-only") == 0) {
            cube_only = 1;
        } else {
            n = (size_t)strtoull(argv[i], NULL, 10);
        }
    }
    fc_err err;
    fc_err_clear(&err);
    fc_ref *ref = fc_ref_new();
    for (int c = 0; c < N_CITIES; c++) {
        if (fc_ref_put_city(ref, city_names[c], city_country[c], city_tz[c], city_cur[c], &err) !=
            FC_OK) {
            fprintf(stderr, "bench_kpi: city %s: %s\n", city_names[c], err.msg);
            return 1;
        }
    }
    for (int z = 0; z < N_CITIES * ZONES_PER_CITY; z++) {
        snprintf(zone_names[z], sizeof zone_names[z], "z%02d", z % ZONES_PER_CITY);
        fc_ref_put_zone(ref, city_names[z / ZONES_PER_CITY], zone_names[z],
                        (fc_zone_kind)(1 + z % 4), &err);
    }
    for (int m = 0; m < N_MERCHANTS; m++) {
        snprintf(merchant_names[m], sizeof merchant_names[m], "m%05d", m);
    }
    for (int r = 0; r < N_RIDERS; r++) {
        snprintf(rider_names[r], sizeof rider_names[r], "r%05d", r);
    }

    fc_thresholds th = {.prep_overrun_s = 300};
    double rss0 = rss_bytes();
    double t0 = fc_now_mono();
    fc_facts *t = fc_facts_new();
    for (size_t i = 0; i < n; i++) {
        fc_order_facts o;
        make_order(i, &o);
        if (fc_facts_add(t, &o, ref, &th, NULL, &err) != FC_OK) {
            fprintf(stderr, "bench_kpi: %s\n", err.msg);
            return 1;
        }
    }
    fc_facts_seal(t);
    double t1 = fc_now_mono();
    double rss1 = rss_bytes();
    printf("orders                      %zu\n", fc_facts_count(t));
    printf("fact table build            %.3f s (%.0f orders/s, incl. generation)\n", t1 - t0,
           (double)n / (t1 - t0));
    printf("fact table bytes/order      %.1f (own accounting)\n",
           (double)fc_facts_bytes(t) / (double)n);
    printf("fact table bytes/order      %.1f (resident set growth)\n", (rss1 - rss0) / (double)n);

    fc_cube_query q;
    fc_cube_query_init(&q);
    q.n_by = 3;
    q.by[0] = FC_DIM_CITY;
    q.by[1] = FC_DIM_ZONE;
    q.by[2] = FC_DIM_HOUR;
    double best = 1e9;
    fc_cube *c = NULL;
    for (int rep = 0; rep < 10; rep++) {
        fc_cube_free(c);
        double a = fc_now_mono();
        if (fc_cube_build(t, &q, &c, &err) != FC_OK) {
            fprintf(stderr, "bench_kpi: %s\n", err.msg);
            return 1;
        }
        double b = fc_now_mono();
        best = b - a < best ? b - a : best;
    }
    printf("cube city x zone x hour     %.1f ms (best of 10), %zu groups\n", best * 1e3,
           fc_cube_groups(c));

    if (cube_only) {
        fc_cube_free(c);
        fc_facts_free(t);
        fc_ref_free(ref);
        return 0;
    }

    /* The same rows into an in-memory SQLite table. */
    sqlite3 *db = NULL;
    sqlite3_stmt *ins = NULL, *sel = NULL;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK ||
        sqlite3_exec(db, sql_ddl, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "INSERT INTO f VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                           -1, &ins, NULL) != SQLITE_OK) {
        fprintf(stderr, "bench_kpi: sqlite: %s\n", sqlite3_errmsg(db));
        return 1;
    }
    double l0 = fc_now_mono();
    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    rng_state = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < n; i++) {
        fc_order_facts o;
        make_order(i, &o);
        if (sqlite_insert(ins, t, i, &o, &th) != 0) {
            fprintf(stderr, "bench_kpi: sqlite insert: %s\n", sqlite3_errmsg(db));
            return 1;
        }
    }
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    sqlite3_finalize(ins);
    printf("sqlite load                 %.3f s\n", fc_now_mono() - l0);
    if (sqlite3_prepare_v2(db, sql_query, -1, &sel, NULL) != SQLITE_OK) {
        fprintf(stderr, "bench_kpi: sqlite: %s\n", sqlite3_errmsg(db));
        return 1;
    }
    double sql_best = 1e9;
    int64_t sql_orders = 0, sql_delivered = 0, sql_late = 0, sql_delivery_s = 0, sql_cost = 0;
    size_t sql_groups = 0;
    for (int rep = 0; rep < 2; rep++) {
        double a = fc_now_mono();
        sql_orders = sql_delivered = sql_late = sql_delivery_s = sql_cost = 0;
        sql_groups = 0;
        while (sqlite3_step(sel) == SQLITE_ROW) {
            sql_groups++;
            sql_orders += sqlite3_column_int64(sel, 3);
            sql_delivered += sqlite3_column_int64(sel, 4);
            sql_late += sqlite3_column_int64(sel, 5);
            sql_delivery_s += sqlite3_column_int64(sel, 30);
            sql_cost += sqlite3_column_int64(sel, 31);
        }
        sqlite3_reset(sel);
        double b = fc_now_mono();
        sql_best = b - a < sql_best ? b - a : sql_best;
    }
    sqlite3_finalize(sel);
    sqlite3_close(db);
    const fc_kpi_counts *tot = fc_cube_total(c);
    int agree = sql_groups == fc_cube_groups(c) && sql_orders == tot->orders &&
                sql_delivered == tot->delivered && sql_late == tot->late &&
                sql_delivery_s == tot->delivery_s && sql_cost == tot->cost_minor;
    printf("sqlite GROUP BY             %.1f ms (best of 2), %zu groups\n", sql_best * 1e3,
           sql_groups);
    printf("counters agree              %s\n", agree ? "yes" : "NO");
    printf("ratio sqlite / cube         %.1fx\n", sql_best / best);
    fc_cube_free(c);
    fc_facts_free(t);
    fc_ref_free(ref);
    return 0;
}
