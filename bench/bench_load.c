/*
 * bench_load: loading the KPI fact table from the SQLite store.
 *
 * Builds a store of N orders (default 1,000,000) in a temporary folder
 * through the store's append functions, shaped like an ingested operations
 * week: first one record per order holding its lifecycle events (as an
 * orders CSV row expands to), then, like a JSON Lines file ingested after
 * it, one record per extra event (complaints, ratings, surveys,
 * compensations) for about half of the orders, and a few weather records.
 * Then measures in the same run:
 *   - fulcrum: `fc_facts_load_store` (scan every record, group the events of
 *     each order, fold it with its city's thresholds and weather, append it
 *     to the fact table);
 *   - reference: a plain SQLite scan of the same record table in storage
 *     order reading every events blob (sqlite3_step + sqlite3_column_blob, no
 *     decoding), on a fresh connection with SQLite's default settings.
 * Both run three times, alternating; the best time of each counts. Then
 * the scan alone (`fc_scan_orders` with a visitor that keeps nothing) runs
 * twice without and twice with the stacked-orders context, best of two. The
 * load's CPU time (best of three) is printed too: on a busy machine it moves
 * less than the wall clock.
 *
 * usage: bench_load [orders]
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "kpi/kpi.h"
#include "scan/scan.h"
#include "store/store.h"

#define ROUNDS 3
#define BATCH  50000

static const char *const cities[] = {"riyadh", "dubai", "doha"};
static const char *const countries[] = {"SA", "AE", "QA"};
static const char *const zones_of[] = {"Asia/Riyadh", "Asia/Dubai", "Asia/Qatar"};
static const char *const currencies[] = {"SAR", "AED", "QAR"};
static const char *const zones[] = {"olaya", "malaz", "marina", "west_bay", "downtown"};

typedef struct gen {
    uint64_t x;       /* xorshift state */
    char ids[16][48]; /* event ids of the record being built */
    char strs[8][32];
} gen;

static uint64_t next(gen *g) {
    g->x ^= g->x << 13;
    g->x ^= g->x >> 7;
    g->x ^= g->x << 17;
    return g->x;
}

static fc_event event(gen *g, int slot, fc_event_type type, const char *order, const char *what,
                      int64_t ts) {
    fc_event e;
    fc_event_init(&e);
    e.type = type;
    snprintf(g->ids[slot], sizeof g->ids[slot], "%s:%s", order, what);
    e.id = fc_str_c(g->ids[slot]);
    e.order = fc_str_c(order);
    e.ts = ts;
    return e;
}

static int append(fc_store *s, fc_str id, fc_str order, const fc_event *evs, size_t n) {
    fc_err err;
    int dup = 0;
    if (fc_store_append(s, 1, id, order, evs, n, &dup, &err) != FC_OK || dup) {
        fprintf(stderr, "append: %s\n", dup ? "unexpected duplicate" : err.msg);
        return -1;
    }
    return 0;
}

/* The lifecycle record of order i: 8 events, every 20th order cancelled. */
static int put_order(fc_store *s, gen *g, long i) {
    char order[32];
    snprintf(order, sizeof order, "o%08ld", i);
    uint64_t r = next(g);
    int c = (int)(r % 3);
    int64_t t0 = 1772400000 + i * 2;
    fc_event evs[8];
    size_t n = 0;
    fc_event e = event(g, 0, FC_EV_ORDER_CREATED, order, "created", t0);
    e.city = fc_str_c(cities[c]);
    e.zone = fc_str_c(zones[r / 3 % 5]);
    snprintf(g->strs[0], sizeof g->strs[0], "m%llu", (unsigned long long)(r / 16 % 4000));
    snprintf(g->strs[1], sizeof g->strs[1], "c%llu", (unsigned long long)(r / 16 % 200000));
    e.merchant = fc_str_c(g->strs[0]);
    e.customer = fc_str_c(g->strs[1]);
    e.category = fc_str_c("food");
    e.currency = fc_str_c(currencies[c]);
    e.promised_at = t0 + 2400;
    e.est_ready_at = t0 + 900;
    e.amount_minor = (int64_t)(2000 + r % 8000);
    e.distance_m = (int32_t)(1000 + r % 5000);
    e.customer_lat_e6 = 24700000 + (int32_t)(r % 10000);
    e.customer_lng_e6 = 46700000 + (int32_t)(r % 7777);
    evs[n++] = e;
    evs[n++] = event(g, 1, FC_EV_ORDER_PUSHED, order, "pushed", t0 + 30);
    if (i % 20 == 19) {
        e = event(g, 2, FC_EV_ORDER_CANCELLED, order, "cancelled", t0 + 300);
        e.by = fc_str_c("customer");
        e.reason = fc_str_c("changed_mind");
        evs[n++] = e;
        return append(s, fc_str_c(order), fc_str_c(order), evs, n);
    }
    int64_t d = (int64_t)(r % 1200);
    snprintf(g->strs[2], sizeof g->strs[2], "r%llu", (unsigned long long)(r / 64 % 20000));
    fc_str rider = fc_str_c(g->strs[2]);
    static const struct {
        fc_event_type type;
        const char *what;
        int64_t at_s;
    } steps[] = {{FC_EV_ORDER_ACCEPTED, "accepted", 60},
                 {FC_EV_RIDER_ARRIVED_MERCHANT, "arrived_merchant", 600},
                 {FC_EV_ORDER_READY, "ready", 840},
                 {FC_EV_ORDER_PICKED_UP, "picked_up", 900},
                 {FC_EV_RIDER_ARRIVED_CUSTOMER, "arrived_customer", 1980},
                 {FC_EV_ORDER_DELIVERED, "delivered", 2100}};
    for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++) {
        int64_t at = t0 + steps[k].at_s + (k >= 3 ? d : 0);
        e = event(g, (int)(2 + k), steps[k].type, order, steps[k].what, at);
        e.rider = rider;
        if (steps[k].type == FC_EV_ORDER_DELIVERED) {
            e.lat_e6 = 24700000 + (int32_t)(r % 10000);
            e.lng_e6 = 46700000 + (int32_t)(r % 7777);
            e.cost_minor = (int64_t)(800 + r % 700);
        }
        evs[n++] = e;
    }
    return append(s, fc_str_c(order), fc_str_c(order), evs, n);
}

/* Extra events of order i, one record each (as JSON Lines ingest writes
 * them): about half of the orders get one to three. */
static int put_extras(fc_store *s, gen *g, long i, long *records) {
    uint64_t r = next(g);
    if (r % 2 == 0) {
        return 0;
    }
    char order[32];
    snprintf(order, sizeof order, "o%08ld", i);
    int64_t t1 = 1772400000 + i * 2 + 4000;
    fc_event e = event(g, 0, FC_EV_RATING, order, "rating", t1);
    e.score = (int32_t)(1 + r / 2 % 5);
    if (append(s, e.id, e.order, &e, 1) != 0) {
        return -1;
    }
    (*records)++;
    if (r / 16 % 3 == 0) {
        e = event(g, 1, FC_EV_COMPLAINT, order, "complaint", t1 + 60);
        e.by = fc_str_c("customer");
        e.category = fc_str_c("late");
        if (append(s, e.id, e.order, &e, 1) != 0) {
            return -1;
        }
        (*records)++;
    }
    if (r / 64 % 4 == 0) {
        e = event(g, 2, FC_EV_SURVEY_RESPONSE, order, "survey", t1 + 120);
        e.score = (int32_t)(r / 256 % 11);
        if (append(s, e.id, e.order, &e, 1) != 0) {
            return -1;
        }
        (*records)++;
    }
    return 0;
}

static int build_store(const char *db, long n, long *records) {
    fc_store *s = NULL;
    fc_err err;
    gen g = {.x = 88172645463325252ull};
    int rc = -1;
    if (fc_store_open(db, &s, &err) != FC_OK) {
        fprintf(stderr, "open: %s\n", err.msg);
        return -1;
    }
    if (fc_store_begin(s, &err) != FC_OK) {
        goto out;
    }
    for (size_t c = 0; c < sizeof cities / sizeof cities[0]; c++) {
        fc_city city = {.city = (char *)cities[c],
                        .country = (char *)countries[c],
                        .tz_name = (char *)zones_of[c]};
        memcpy(city.currency, currencies[c], 4);
        if (fc_store_put_city(s, &city, &err) != FC_OK) {
            goto out;
        }
    }
    /* Weather first, as a JSON Lines file lists it. */
    for (int w = 0; w < 12; w++) {
        char id[32];
        snprintf(id, sizeof id, "wx%02d", w);
        fc_event e;
        fc_event_init(&e);
        e.type = FC_EV_WEATHER;
        e.id = fc_str_c(id);
        e.city = fc_str_c(cities[w % 3]);
        e.ts = e.from = 1772400000 + (int64_t)w * (n * 2 / 12);
        e.to = e.from + 4 * 3600;
        e.severity = 1 + w % 3;
        if (append(s, e.id, fc_str_c(""), &e, 1) != 0) {
            goto out;
        }
        (*records)++;
    }
    for (long pass = 0; pass < 2; pass++) {
        for (long i = 0; i < n; i++) {
            int ok = pass == 0 ? put_order(s, &g, i) : put_extras(s, &g, i, records);
            if (ok != 0) {
                goto out;
            }
            *records += pass == 0;
            if (i % BATCH == BATCH - 1 &&
                (fc_store_commit(s, NULL, &err) != FC_OK || fc_store_begin(s, &err) != FC_OK)) {
                goto out;
            }
        }
    }
    if (fc_store_commit(s, NULL, &err) != FC_OK) {
        goto out;
    }
    rc = 0;
out:
    if (rc != 0 && err.msg[0] != '\0') {
        fprintf(stderr, "building the store: %s\n", err.msg);
    }
    fc_store_close(s);
    return rc;
}

/* CPU time of the process (user + system), seconds: on a busy machine it
 * moves less than the wall clock. */
static double cpu_now(void) {
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) {
        return 0;
    }
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Fulcrum: the whole load. Seconds, negative on failure; *cpu gets its CPU
 * seconds. */
static double run_fulcrum(const char *db, fc_kpi_load_stats *st, size_t *bytes, double *cpu) {
    fc_store *s = NULL;
    fc_err err;
    if (fc_store_open(db, &s, &err) != FC_OK) {
        fprintf(stderr, "open: %s\n", err.msg);
        return -1;
    }
    fc_facts *t = NULL;
    double t0 = fc_now_mono(), c0 = cpu_now();
    int rc = fc_facts_load_store(s, NULL, &t, st, &err);
    double secs = fc_now_mono() - t0;
    *cpu = cpu_now() - c0;
    if (rc != FC_OK) {
        fprintf(stderr, "load: %s\n", err.msg);
        secs = -1;
    } else {
        *bytes = fc_facts_bytes(t);
    }
    fc_facts_free(t);
    fc_store_close(s);
    return secs;
}

static int count_order(void *ud, const fc_scan_order *o) {
    int64_t *stacked = ud;
    if (o->input->stacked_orders > 0) {
        (*stacked)++;
    }
    return 0;
}

/* The scan alone (every order folded and visited, nothing kept), with or
 * without the stacked-orders context. Seconds, negative on failure; *cpu
 * gets its CPU seconds, *stacked the orders with others stacked. */
static double run_scan(const char *db, int context, double *cpu, int64_t *stacked) {
    fc_store *s = NULL;
    fc_err err;
    if (fc_store_open(db, &s, &err) != FC_OK) {
        fprintf(stderr, "open: %s\n", err.msg);
        return -1;
    }
    fc_scan_opts o;
    fc_scan_opts_init(&o);
    o.context = context;
    *stacked = 0;
    double t0 = fc_now_mono(), c0 = cpu_now();
    int rc = fc_scan_orders(s, &o, count_order, stacked, NULL, &err);
    double secs = fc_now_mono() - t0;
    *cpu = cpu_now() - c0;
    if (rc != FC_OK) {
        fprintf(stderr, "scan: %s\n", err.msg);
        secs = -1;
    }
    fc_store_close(s);
    return secs;
}

/* The reference: every record's events blob read in storage order. */
static double run_reference(const char *db, long *rows, long long *blob_bytes) {
    sqlite3 *raw = NULL;
    sqlite3_stmt *st = NULL;
    double secs = -1;
    double t0 = fc_now_mono();
    if (sqlite3_open_v2(db, &raw, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(raw, "SELECT events FROM record ORDER BY seq", -1, &st, NULL) !=
            SQLITE_OK) {
        fprintf(stderr, "reference: %s\n", sqlite3_errmsg(raw));
        goto out;
    }
    *rows = 0;
    *blob_bytes = 0;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const void *p = sqlite3_column_blob(st, 0);
        int n = sqlite3_column_bytes(st, 0);
        if (p == NULL && n > 0) {
            goto out;
        }
        *blob_bytes += n;
        (*rows)++;
    }
    if (step == SQLITE_DONE) {
        secs = fc_now_mono() - t0;
    }
out:
    sqlite3_finalize(st);
    sqlite3_close(raw);
    return secs;
}

static long peak_rss_kib(void) {
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1;
}

int main(int argc, char **argv) {
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 1000000;
    if (n < 1) {
        fprintf(stderr, "usage: bench_load [orders]\n");
        return 1;
    }
    const char *tmp = getenv("TMPDIR");
    char dir[512], db[600];
    snprintf(dir, sizeof dir, "%s/fc_bench_load_XXXXXX", tmp != NULL && tmp[0] ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(db, sizeof db, "%s/load.db", dir);
    int status = 1;
    long records = 0;
    double t0 = fc_now_mono();
    if (build_store(db, n, &records) != 0) {
        goto out;
    }
    printf("store: %ld orders, %ld records, built in %.1f s\n", n, records, fc_now_mono() - t0);

    double best_fc = -1, best_ref = -1, best_cpu = -1;
    fc_kpi_load_stats st = {0};
    size_t bytes = 0;
    long rows = 0;
    long long blob_bytes = 0;
    if (run_reference(db, &rows, &blob_bytes) < 0) { /* warms the file cache */
        goto out;
    }
    long rss_before = peak_rss_kib();
    for (int round = 0; round < ROUNDS; round++) {
        double cpu = 0;
        double f = run_fulcrum(db, &st, &bytes, &cpu);
        double r = run_reference(db, &rows, &blob_bytes);
        if (f < 0 || r < 0) {
            goto out;
        }
        best_fc = best_fc < 0 || f < best_fc ? f : best_fc;
        best_ref = best_ref < 0 || r < best_ref ? r : best_ref;
        best_cpu = best_cpu < 0 || cpu < best_cpu ? cpu : best_cpu;
    }
    long rss_after = peak_rss_kib();
    if (st.orders != n || rows != records) {
        fprintf(stderr, "loaded %lld orders of %ld, scanned %ld records of %ld\n",
                (long long)st.orders, n, rows, records);
        goto out;
    }
    printf("records: %lld with %lld events, %.1f MiB of packed events\n", (long long)st.records,
           (long long)st.events, (double)blob_bytes / 1048576.0);
    printf("fulcrum  fc_facts_load_store: %8.3f s  %10.0f orders/s  (fact table %.1f MiB, "
           "peak RSS %.1f MiB)\n",
           best_fc, (double)n / best_fc, (double)bytes / 1048576.0,
           (double)(rss_after > rss_before ? rss_after : rss_before) / 1024.0);
    printf("fulcrum  load CPU time:       %8.3f s  %10.0f orders/s\n", best_cpu,
           (double)n / best_cpu);
    printf("sqlite   blob scan:           %8.3f s  %10.0f orders/s\n", best_ref,
           (double)n / best_ref);
    printf("ratio: the load takes %.2fx the time of the bare scan\n", best_fc / best_ref);
    /* What the scan costs without the fact table, and what the stacked
     * orders add (best of two each). */
    double best_scan[2] = {-1, -1}, best_scan_cpu[2] = {-1, -1};
    int64_t stacked = 0;
    for (int round = 0; round < 2; round++) {
        for (int context = 0; context < 2; context++) {
            double cpu = 0;
            double t = run_scan(db, context, &cpu, &stacked);
            if (t < 0) {
                goto out;
            }
            best_scan[context] =
                best_scan[context] < 0 || t < best_scan[context] ? t : best_scan[context];
            best_scan_cpu[context] = best_scan_cpu[context] < 0 || cpu < best_scan_cpu[context]
                                         ? cpu
                                         : best_scan_cpu[context];
        }
    }
    printf("scan     no-op visitor:       %8.3f s  (CPU %.3f s)\n", best_scan[0], best_scan_cpu[0]);
    printf("scan     with stacked orders: %8.3f s  (CPU %.3f s; %lld orders with others "
           "stacked)\n",
           best_scan[1], best_scan_cpu[1], (long long)stacked);
    status = 0;
out:
    unlink(db);
    char side[700];
    snprintf(side, sizeof side, "%s-wal", db);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", db);
    unlink(side);
    rmdir(dir);
    return status;
}
