/*
 * A store holding a generated demo world, for the benchmarks (world.h).
 */
#include "world.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ingest/ingest.h"

static void fail(const char *bench, const char *what, const char *why) {
    fprintf(stderr, "%s: %s: %s\n", bench, what, why);
    exit(1);
}

static void join(const char *bench, char *dst, size_t cap, const char *a, const char *b) {
    int n = snprintf(dst, cap, "%s/%s", a, b);
    if (n < 0 || (size_t)n >= cap) {
        fail(bench, "path too long", a);
    }
}

void fc_bench_world_store(const char *bench, const char *dir, const char *db,
                          const fc_gen_opts *go) {
    char world[4096];
    join(bench, world, sizeof world, dir, "world");
    fc_err err;
    fc_err_clear(&err);
    double t0 = fc_now_mono();
    fc_gen_summary sum;
    if (fc_gen_world(world, go, &sum, &err) != FC_OK) {
        fail(bench, "gen", err.msg);
    }
    double t1 = fc_now_mono();
    fc_store *s = NULL;
    if (fc_store_open(db, &s, &err) != FC_OK) {
        fail(bench, "store", err.msg);
    }
    for (size_t i = 0; fc_gen_file(i) != NULL; i++) {
        char path[4200];
        join(bench, path, sizeof path, world, fc_gen_file(i));
        fc_ingest_opts o;
        memset(&o, 0, sizeof o);
        o.quiet = 1;
        o.max_errors = -1;
        fc_ingest_log log;
        if (fc_ingest_file(s, path, &o, &log, &err) != FC_OK) {
            fail(bench, "ingest", err.msg);
        }
        unlink(path);
    }
    char gt[4200];
    join(bench, gt, sizeof gt, world, "ground_truth.json");
    unlink(gt);
    rmdir(world);
    fc_store_close(s);
    printf("store: demo world seed %llu, %d days at scale %.2f: %lld orders, %lld extra events "
           "(generated in %.1f s, ingested in %.1f s)\n",
           (unsigned long long)go->seed, (int)go->days, go->scale, (long long)sum.orders,
           (long long)sum.events, t1 - t0, fc_now_mono() - t1);
}
