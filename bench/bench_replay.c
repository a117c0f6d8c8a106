/*
 * bench_replay: fc_replay of N orders (default 1,000,000) of a SQLite store,
 * the default pack against a candidate, against the bare scan of the same
 * store measured in the same run.
 *
 * usage: bench_replay [ORDERS] [POLICY_DIR] [--store PATH]
 *
 * Run from the repository root (POLICY_DIR defaults to "policies"). The
 * store is a demo world (fc_gen_world, seed 1, 7 days, its scale chosen for
 * about ORDERS orders) generated into a temporary folder and ingested with
 * fc_ingest_file, as `fulcrum demo` does. With --store PATH the store at
 * PATH is used when it exists (and built there, and kept, when it does
 * not), so a second run skips the minutes of generating and ingesting.
 *
 * The candidate is the default pack with two changes written into a
 * temporary folder: the merchant-wait threshold moved from 5 to 8 minutes
 * and the rule that clears riders of orders the platform stacked on them
 * (late.stacked) removed.
 *
 * Timed (best of 3, alternating, wall clock and CPU time):
 *   replay     fc_replay: scan with context, every closed order judged under
 *              both packs, diffed, aggregated;
 *   scan       fc_scan_orders with the same options and a visitor that does
 *              nothing: the floor of any replay from this store.
 * Build in Release to measure.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "adjudicate/adjudicate.h"
#include "gen/gen.h"
#include "ingest/ingest.h"
#include "world.h"

#define WEEK_ORDERS_AT_SCALE_1 367015.0 /* the demo week, seed 1 */

static void die(const char *what, const char *detail) {
    fprintf(stderr, "bench_replay: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    exit(1);
}

static void join(char *dst, size_t cap, const char *a, const char *b) {
    int n = snprintf(dst, cap, "%s/%s", a, b);
    if (n < 0 || (size_t)n >= cap) {
        die("path too long", a);
    }
}

static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        die("cannot read", path);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        die("cannot read", path);
    }
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* The demo world's days and scale for about `orders` orders. */
static void world_for(size_t orders, fc_gen_opts *go) {
    fc_gen_opts_init(go);
    go->days = 7;
    go->scale = (double)orders / WEEK_ORDERS_AT_SCALE_1;
    if (go->scale > 20) {
        go->days = (int32_t)(7 * go->scale / 20 + 1);
        go->scale = (double)orders / (WEEK_ORDERS_AT_SCALE_1 / 7 * go->days);
    }
}

/* The candidate: `src` copied into `dst` with base.yaml changed. */
static void write_candidate(const char *src, const char *dst) {
    if (mkdir(dst, 0700) != 0) {
        die("cannot make", dst);
    }
    DIR *d = opendir(src);
    if (d == NULL) {
        die("cannot read the policy folder", src);
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 6 || strcmp(e->d_name + n - 5, ".yaml") != 0) {
            continue;
        }
        char from[4200], to[4200];
        join(from, sizeof from, src, e->d_name);
        join(to, sizeof to, dst, e->d_name);
        char *text = slurp(from);
        if (strcmp(e->d_name, "base.yaml") == 0) {
            char *wait = strstr(text, "merchant_wait_min: 5 ");
            char *rule = strstr(text, "    - id: late.stacked\n");
            char *next = rule ? strstr(rule + 1, "\n    - id: ") : NULL;
            if (wait == NULL || next == NULL) {
                die("the base policy changed: cannot write the candidate", from);
            }
            wait[strlen("merchant_wait_min: ")] = '8';
            memmove(rule, next + 1, strlen(next + 1) + 1);
        }
        FILE *f = fopen(to, "wb");
        if (f == NULL || fwrite(text, 1, strlen(text), f) != strlen(text) || fclose(f) != 0) {
            die("cannot write", to);
        }
        free(text);
    }
    closedir(d);
}

static void remove_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (d == NULL) {
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.') {
            char path[4200];
            join(path, sizeof path, dir, e->d_name);
            unlink(path);
        }
    }
    closedir(d);
    rmdir(dir);
}

static int noop(void *ud, const fc_scan_order *o) {
    (*(int64_t *)ud) += o->facts->status != FC_ORDER_OPEN;
    return 0;
}

typedef struct timing {
    double wall, cpu;
} timing;

static void keep_best(timing *best, double wall, double cpu) {
    if (wall < best->wall) {
        best->wall = wall;
    }
    if (cpu < best->cpu) {
        best->cpu = cpu;
    }
}

int main(int argc, char **argv) {
    size_t n_orders = 1000000;
    const char *policy_dir = "policies", *store_path = NULL;
    int positional = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--store") == 0 && i + 1 < argc) {
            store_path = argv[++i];
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "usage: bench_replay [ORDERS] [POLICY_DIR] [--store PATH]\n");
            return 2;
        } else if (positional++ == 0) {
            n_orders = (size_t)strtoull(argv[i], NULL, 10);
        } else {
            policy_dir = argv[i];
        }
    }
    if (n_orders == 0) {
        die("ORDERS must be positive", NULL);
    }
    fc_err err;
    fc_err_clear(&err);
    fc_policy_pack *base = NULL, *cand = NULL;
    if (fc_policy_pack_load(policy_dir, &base, &err) != FC_OK) {
        die("policy pack (run from the repository root or pass POLICY_DIR)", err.msg);
    }
    char tmpl[] = "/tmp/fulcrum-bench-replay-XXXXXX";
    char *tmp = mkdtemp(tmpl);
    if (tmp == NULL) {
        die("cannot make a temporary folder", NULL);
    }
    char db[4200], cdir[4200];
    if (store_path != NULL) {
        snprintf(db, sizeof db, "%s", store_path);
    } else {
        join(db, sizeof db, tmp, "fulcrum.db");
    }
    struct stat sb;
    if (store_path == NULL || stat(db, &sb) != 0) {
        fc_gen_opts go;
        world_for(n_orders, &go);
        fc_bench_world_store("bench_replay", tmp, db, &go);
    } else {
        printf("store: %s (kept from an earlier run)\n", db);
    }
    join(cdir, sizeof cdir, tmp, "candidate");
    write_candidate(policy_dir, cdir);
    if (fc_policy_pack_load(cdir, &cand, &err) != FC_OK) {
        die("candidate pack", err.msg);
    }
    printf("candidate: %s with merchant_wait_min 5 -> 8 and late.stacked removed\n", policy_dir);

    fc_store *s = NULL;
    if (fc_store_open(db, &s, &err) != FC_OK) {
        die("store", err.msg);
    }
    int64_t records = 0, events = 0;
    fc_store_counts(s, &records, &events, &err);
    if (stat(db, &sb) == 0) {
        printf("store: %lld records, %lld events, %.0f MiB\n", (long long)records,
               (long long)events, (double)sb.st_size / 1048576.0);
    }

    fc_replay_opts ro;
    memset(&ro, 0, sizeof ro);
    ro.base = base;
    ro.candidate = cand;
    ro.from = ro.to = FC_TS_NONE;
    fc_scan_opts so;
    fc_scan_opts_init(&so);
    so.context = 1;
    so.closed_only = 1;
    timing t_replay = {1e30, 1e30}, t_scan = {1e30, 1e30};
    fc_replay_report *last = NULL;
    int64_t closed = 0;
    for (int round = 0; round < 3; round++) {
        double w0 = fc_now_mono(), c0 = cpu_now();
        fc_replay_report *r = NULL;
        if (fc_replay(s, &ro, &r, &err) != FC_OK) {
            die("replay", err.msg);
        }
        keep_best(&t_replay, fc_now_mono() - w0, cpu_now() - c0);
        fc_replay_report_free(last);
        last = r;
        closed = 0;
        w0 = fc_now_mono();
        c0 = cpu_now();
        if (fc_scan_orders(s, &so, noop, &closed, NULL, &err) != FC_OK) {
            die("scan", err.msg);
        }
        keep_best(&t_scan, fc_now_mono() - w0, cpu_now() - c0);
    }
    double n = (double)last->orders;
    printf("\n%lld closed orders, best of 3:\n", (long long)last->orders);
    printf("  replay  %7.3f s wall  %7.3f s CPU  %9.0f orders/s\n", t_replay.wall, t_replay.cpu,
           n / t_replay.wall);
    printf("  scan    %7.3f s wall  %7.3f s CPU  %9.0f orders/s  (replay is %.2fx the scan, "
           "%.2fx in CPU time)\n",
           t_scan.wall, t_scan.cpu, (double)closed / t_scan.wall, t_replay.wall / t_scan.wall,
           t_replay.cpu / t_scan.cpu);
    printf("  judging and diffing: %.0f ns of CPU an order over the scan's\n",
           (t_replay.cpu - t_scan.cpu) * 1e9 / n);
    printf("  decisions: base %lld, candidate %lld; %lld of %lld change (%lld liable party)\n",
           (long long)last->decisions_base, (long long)last->decisions_candidate,
           (long long)last->changed, (long long)last->pairs, (long long)last->liable_changed);
    for (size_t i = 0; i < last->n_by_rule && i < 3; i++) {
        printf("    %-28s base %7lld  candidate %7lld  changed %7lld\n", last->by_rule[i].key,
               (long long)last->by_rule[i].base, (long long)last->by_rule[i].candidate,
               (long long)last->by_rule[i].changed);
    }
    double per_million = t_replay.wall * 1e6 / n, cpu_million = t_replay.cpu * 1e6 / n;
    printf("  target 1,000,000 orders replayed with diff in 5 s: %s (%.2f s per 1,000,000 on "
           "the wall clock, %.2f s of CPU)\n",
           per_million <= 5.0   ? "met"
           : cpu_million <= 5.0 ? "met in CPU time"
                                : "NOT met",
           per_million, cpu_million);

    fc_replay_report_free(last);
    fc_store_close(s);
    fc_policy_pack_free(cand);
    fc_policy_pack_free(base);
    remove_dir(cdir);
    remove_dir(tmp); /* the store and its side files, unless it lives elsewhere */
    return 0;
}
