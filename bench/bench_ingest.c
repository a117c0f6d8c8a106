/*
 * bench_ingest: durable ingest of one-row-per-order CSV into SQLite.
 *
 * Generates N orders (default 1,000,000) in the canonical "fulcrum-orders"
 * layout to a temp file, then measures in the same run:
 *   - fulcrum: open a fresh store, `fc_ingest_file` (checksum, parse, expand
 *     to events, dedupe by id, pack, append in committed batches of 50,000
 *     rows), close (the last checkpoint);
 *   - reference: open, the same CSV lines inserted as plain text rows into a
 *     bare SQLite table (WAL, synchronous=NORMAL) with one prepared statement
 *     in one transaction, no parsing and no dedupe, close.
 * Each side also prints its CPU time over all its threads: the parser, the
 * writer and the checksum run on three threads, so on a loaded machine the
 * wall time says how much of a core was free, the CPU time what it cost.
 * Target: at least 200,000 orders per second for fulcrum.
 *
 * usage: bench_ingest [orders]
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ingest/ingest.h"
#include "store/store.h"

static const char *const header =
    "order_id,city,zone,merchant,customer,rider,category,prebook,created_at,promised_at,"
    "est_ready_at,pushed_at,accepted_at,arrived_merchant_at,ready_at,picked_up_at,"
    "arrived_customer_at,delivered_at,cancelled_at,cancelled_by,cancel_reason,merchant_lat,"
    "merchant_lng,customer_lat,customer_lng,delivered_lat,delivered_lng,distance_m,order_value,"
    "delivery_cost,currency\n";

/* Local "YYYY-MM-DDTHH:MM:SS+03:00" of UTC instant t (Riyadh, no DST). */
static void iso_local(int64_t t, char *buf, size_t bufsz) {
    int64_t local = t + 3 * 3600;
    int64_t days = local / 86400, secs = local % 86400;
    /* civil_from_days (H. Hinnant) */
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    snprintf(buf, bufsz, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld+03:00", (long long)y,
             (long long)m, (long long)d, (long long)(secs / 3600), (long long)(secs / 60 % 60),
             (long long)(secs % 60));
}

/* Write n canonical order rows; every 20th order is cancelled. */
static int write_orders(const char *path, long n) {
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        return -1;
    }
    fputs(header, f);
    static const char *const zones[] = {"olaya", "malaz", "sulaimaniyah", "hittin"};
    uint64_t x = 88172645463325252ull;
    for (long i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int64_t created = 1772400000 + i * 2;
        char c[72], p[72], e[72], pu[72], ac[72], am[72], rd[72], pk[72], arc[72], dl[72], cx[72];
        iso_local(created, c, sizeof c);
        iso_local(created + 2400, p, sizeof p);
        iso_local(created + 900, e, sizeof e);
        iso_local(created + 30, pu, sizeof pu);
        double mlat = 24.6 + (double)(x % 1000) / 10000.0,
               mlng = 46.6 + (double)(x % 777) / 10000.0;
        double clat = mlat + 0.01, clng = mlng + 0.012;
        const char *zone = zones[x % 4];
        if (i % 20 == 19) {
            iso_local(created + 300, cx, sizeof cx);
            fprintf(f,
                    "o%08ld,riyadh,%s,m%llu,c%llu,,food,0,%s,%s,%s,%s,,,,,,,%s,customer,"
                    "changed_mind,%.6f,%.6f,%.6f,%.6f,,,%llu,%llu.%02llu,0.00,SAR\n",
                    i, zone, (unsigned long long)(x % 5000), (unsigned long long)(x % 200000), c, p,
                    e, pu, cx, mlat, mlng, clat, clng, (unsigned long long)(1000 + x % 5000),
                    (unsigned long long)(10 + x % 90), (unsigned long long)(x % 100));
            continue;
        }
        iso_local(created + 90, ac, sizeof ac);
        iso_local(created + 700, am, sizeof am);
        iso_local(created + 950, rd, sizeof rd);
        iso_local(created + 1000, pk, sizeof pk);
        iso_local(created + 2000, arc, sizeof arc);
        iso_local(created + 2100 + (int64_t)(x % 900), dl, sizeof dl);
        fprintf(f,
                "o%08ld,riyadh,%s,m%llu,c%llu,r%llu,food,%d,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,,,,"
                "%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%llu,%llu.%02llu,%llu.%02llu,SAR\n",
                i, zone, (unsigned long long)(x % 5000), (unsigned long long)(x % 200000),
                (unsigned long long)(x % 3000), (int)(x % 7 == 0), c, p, e, pu, ac, am, rd, pk, arc,
                dl, mlat, mlng, clat, clng, clat + 0.0001, clng,
                (unsigned long long)(1000 + x % 5000), (unsigned long long)(10 + x % 90),
                (unsigned long long)(x % 100), (unsigned long long)(5 + x % 10),
                (unsigned long long)(x % 100));
    }
    return fclose(f) == 0 ? 0 : -1;
}

/* CPU time of the whole process (every thread), seconds. */
static double cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void remove_db(const char *db) {
    char p[300];
    unlink(db);
    snprintf(p, sizeof p, "%s-wal", db);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", db);
    unlink(p);
}

/* Ingest with fulcrum, from opening the store to closing it. Returns
 * seconds or a negative value on failure; *cpu is the CPU time it took over
 * all threads (parser, writer, checksum). */
static double run_fulcrum(const char *db, const char *csv, long n, double *cpu) {
    fc_store *s = NULL;
    fc_err err;
    remove_db(db);
    double t0 = fc_now_mono(), c0 = cpu_s();
    if (fc_store_open(db, &s, &err) != FC_OK) {
        fprintf(stderr, "open: %s\n", err.msg);
        return -1;
    }
    fc_ingest_opts o = {.max_errors = -1, .batch_rows = 50000, .quiet = 1};
    fc_ingest_log log;
    int rc = fc_ingest_file(s, csv, &o, &log, &err);
    fc_store_close(s);
    double secs = fc_now_mono() - t0;
    *cpu = cpu_s() - c0;
    if (rc != FC_OK || log.accepted != n) {
        char buf[1024];
        fc_err_format(&err, buf, sizeof buf);
        fprintf(stderr, "ingest failed (%lld accepted of %ld): %s\n", (long long)log.accepted, n,
                buf);
        return -1;
    }
    return secs;
}

/* The reference: each CSV line as a text row, one statement, one
 * transaction, same durability settings. */
static double run_reference(const char *db, const char *csv, double *cpu) {
    remove_db(db);
    FILE *f = fopen(csv, "r");
    sqlite3 *raw = NULL;
    sqlite3_stmt *st = NULL;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    double t0 = fc_now_mono(), c0 = cpu_s();
    if (f == NULL || sqlite3_open(db, &raw) != SQLITE_OK) {
        return -1;
    }
    sqlite3_exec(raw,
                 "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                 "CREATE TABLE t(line TEXT); BEGIN",
                 NULL, NULL, NULL);
    sqlite3_prepare_v2(raw, "INSERT INTO t(line) VALUES(?)", -1, &st, NULL);
    while ((len = getline(&line, &cap, f)) > 0) {
        sqlite3_bind_text(st, 1, line, (int)len - 1, SQLITE_STATIC);
        sqlite3_step(st);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    sqlite3_exec(raw, "COMMIT", NULL, NULL, NULL);
    sqlite3_close(raw);
    double secs = fc_now_mono() - t0;
    *cpu = cpu_s() - c0;
    free(line);
    fclose(f);
    return secs;
}

int main(int argc, char **argv) {
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 1000000;
    if (n <= 0) {
        fprintf(stderr, "usage: bench_ingest [orders]\n");
        return 1;
    }
    char dir[] = "/tmp/fc_bench_ingest_XXXXXX";
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    char csv[128], db[128];
    snprintf(csv, sizeof csv, "%s/orders.csv", dir);
    snprintf(db, sizeof db, "%s/bench.db", dir);
    int status = 1;
    if (write_orders(csv, n) != 0) {
        perror("writing orders");
        goto out;
    }
    double ref_cpu = 0, fc_cpu = 0;
    double ref_s = run_reference(db, csv, &ref_cpu);
    double fc_s = run_fulcrum(db, csv, n, &fc_cpu);
    if (ref_s <= 0 || fc_s <= 0) {
        goto out;
    }
    double fc_rate = (double)n / fc_s, ref_rate = (double)n / ref_s;
    printf("orders: %ld\n", n);
    printf("fulcrum ingest:                    %7.0f orders/s (%.2f s, cpu %.2f s)\n", fc_rate,
           fc_s, fc_cpu);
    printf("reference (bare SQLite text rows): %7.0f rows/s (%.2f s, cpu %.2f s)\n", ref_rate,
           ref_s, ref_cpu);
    printf("ratio fulcrum / reference: %.2f\n", fc_rate / ref_rate);
    printf("target 200000 orders/s: %s\n", fc_rate >= 200000 ? "met" : "NOT met");
    status = fc_rate >= 200000 ? 0 : 2;
out:
    remove_db(db);
    unlink(csv);
    rmdir(dir);
    return status;
}
