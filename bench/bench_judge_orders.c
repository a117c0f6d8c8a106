/*
 * bench_judge_orders: fc_adj_run_orders on K orders (default 125) of a demo
 * world's store, against fc_adj_run of the same store measured in the same
 * run.
 *
 * usage: bench_judge_orders [POLICY_DIR] [--orders K] [--days N] [--store PATH]
 *
 * Run from the repository root (POLICY_DIR defaults to "policies"). The
 * store is a demo world (fc_gen_world, seed 1, N days, default 2: about
 * 80,000 orders) generated into a temporary folder and ingested with
 * fc_ingest_file, then judged once by fc_adj_run (which fills the carry
 * table). With --store PATH the store at PATH is used when it exists (and
 * built there, and kept, when it does not).
 *
 * The K orders are spread evenly over the store's orders (every
 * (orders / K)-th in log order), as the orders one ingest batch touches
 * are spread over riders. Timed (wall clock, one connection kept open as
 * a server's worker keeps it):
 *   whole      fc_adj_run of every closed order (best of 2; nothing new to
 *              record: the steady state of a judged store);
 *   targeted   fc_adj_run_orders of the K orders (first call, then best of
 *              5): fold them by id, refresh their carries, judge them and
 *              the orders whose carries overlap theirs.
 * Build in Release to measure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adjudicate/adjudicate.h"
#include "gen/gen.h"
#include "ingest/ingest.h"
#include "world.h"

static void die(const char *what, const char *detail) {
    fprintf(stderr, "bench_judge_orders: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    exit(1);
}

static void join(char *dst, size_t cap, const char *a, const char *b) {
    int n = snprintf(dst, cap, "%s/%s", a, b);
    if (n < 0 || (size_t)n >= cap) {
        die("path too long", a);
    }
}

typedef struct ids {
    char **id;
    size_t n, cap;
} ids;

static int note_id(void *ud, const fc_scan_order *o) {
    ids *a = ud;
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 4096;
        a->id = realloc(a->id, a->cap * sizeof *a->id);
        if (a->id == NULL) {
            die("out of memory", NULL);
        }
    }
    a->id[a->n] = malloc(o->facts->order.n + 1);
    if (a->id[a->n] == NULL) {
        die("out of memory", NULL);
    }
    fc_str_cpy(a->id[a->n], o->facts->order.n + 1, o->facts->order);
    a->n++;
    return 0;
}

/* Best of `repeat` calls of fc_adj_run_orders after a first one (*first);
 * with `fresh`, the orders' carries are deleted before each call (not
 * timed), as when their deliveries have just arrived. */
static double targeted(fc_store *s, const fc_adj_opts *o, const fc_str *pick, size_t k, int repeat,
                       int fresh, double *first, int64_t *judged) {
    double best = 1e30;
    fc_err err;
    fc_err_clear(&err);
    for (int rep = 0; rep <= repeat; rep++) {
        if (fresh) {
            fc_store_begin(s, &err);
            for (size_t i = 0; i < k; i++) {
                if (fc_store_carry_delete(s, pick[i], NULL, &err) != FC_OK) {
                    die("carry", err.msg);
                }
            }
            if (fc_store_end(s, &err) != FC_OK) {
                die("carry", err.msg);
            }
        }
        fc_adj_stats st;
        double t0 = fc_now_mono();
        if (fc_adj_run_orders(s, o, pick, k, &st, &err) != FC_OK) {
            die("judge orders", err.msg);
        }
        double t = fc_now_mono() - t0;
        if (rep == 0) {
            *first = t;
        } else {
            best = t < best ? t : best;
        }
        *judged = st.orders;
    }
    return best;
}

int main(int argc, char **argv) {
    const char *policy_dir = "policies", *store_path = NULL;
    size_t k = 125;
    int days = 2, repeat = 5;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--store") == 0 && i + 1 < argc) {
            store_path = argv[++i];
        } else if (strcmp(argv[i], "--orders") == 0 && i + 1 < argc) {
            k = (size_t)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) {
            repeat = (int)strtol(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--days") == 0 && i + 1 < argc) {
            days = (int)strtol(argv[++i], NULL, 10);
        } else if (argv[i][0] != '-') {
            policy_dir = argv[i];
        } else {
            die("usage: bench_judge_orders [POLICY_DIR] [--orders K] [--days N] [--store PATH]",
                NULL);
        }
    }
    if (k == 0 || days < 1) {
        die("K and N must be positive", NULL);
    }
    char tmpl[] = "/tmp/bench_judge_orders.XXXXXX";
    char *dir = NULL;
    char db[4200];
    struct stat st_db;
    if (store_path != NULL) {
        snprintf(db, sizeof db, "%s", store_path);
    } else {
        dir = mkdtemp(tmpl);
        if (dir == NULL) {
            die("cannot make a temporary folder", NULL);
        }
        join(db, sizeof db, dir, "bench.db");
    }
    if (stat(db, &st_db) != 0) {
        char world_dir[] = "/tmp/bench_judge_orders_world.XXXXXX";
        char *wd = mkdtemp(world_dir);
        if (wd == NULL) {
            die("cannot make a temporary folder", NULL);
        }
        fc_gen_opts go;
        fc_gen_opts_init(&go);
        go.days = days;
        fc_bench_world_store("bench_judge_orders", wd, db, &go);
        rmdir(wd);
    }
    fc_err err;
    fc_err_clear(&err);
    fc_policy_pack *pack = NULL;
    if (fc_policy_pack_load(policy_dir, &pack, &err) != FC_OK) {
        die("policies", err.msg);
    }
    fc_store *s = NULL;
    if (fc_store_open(db, &s, &err) != FC_OK) {
        die("store", err.msg);
    }
    fc_adj_opts o;
    fc_adj_opts_init(&o);
    o.pack = pack;
    o.now = 1772400000;
    fc_adj_stats st;
    double t0 = fc_now_mono();
    if (fc_adj_run(s, &o, &st, &err) != FC_OK) {
        die("judge", err.msg);
    }
    printf("first whole run: %lld closed orders, %lld decisions, %lld new: %.0f ms\n",
           (long long)st.orders, (long long)st.decisions, (long long)st.recorded,
           (fc_now_mono() - t0) * 1e3);

    ids all = {0};
    if (fc_scan_orders(s, NULL, note_id, &all, NULL, &err) != FC_OK) {
        die("scan", err.msg);
    }
    if (k > all.n) {
        k = all.n;
    }
    fc_str *pick = malloc(k * sizeof *pick);
    if (pick == NULL) {
        die("out of memory", NULL);
    }
    for (size_t i = 0; i < k; i++) {
        pick[i] = fc_str_c(all.id[i * (all.n / k)]);
    }

    double whole = 1e30;
    int64_t whole_orders = 0;
    for (int rep = 0; rep < (repeat > 20 ? 0 : 2); rep++) {
        t0 = fc_now_mono();
        if (fc_adj_run(s, &o, &st, &err) != FC_OK) {
            die("judge", err.msg);
        }
        double t = fc_now_mono() - t0;
        whole = t < whole ? t : whole;
        whole_orders = st.orders;
    }
    printf("whole      fc_adj_run: %lld closed orders judged, best of 2: %.1f ms\n",
           (long long)whole_orders, whole * 1e3);

    double first = 0;
    int64_t judged = 0;
    double best = targeted(s, &o, pick, k, repeat, 0, &first, &judged);
    printf("targeted   fc_adj_run_orders of %zu orders (of %zu), carries unchanged: %lld closed "
           "orders judged, first %.2f ms, best of %d: %.2f ms\n",
           k, all.n, (long long)judged, first * 1e3, repeat, best * 1e3);
    int64_t judged_new = 0;
    double best_new = targeted(s, &o, pick, k, repeat, 1, &first, &judged_new);
    printf("targeted   the same orders, carries new (deleted before each call): %lld closed "
           "orders judged, best of %d: %.2f ms\n",
           (long long)judged_new, repeat, best_new * 1e3);
    fc_ref *ref = fc_ref_new();
    if (ref == NULL || fc_store_load_ref(s, ref, &err) != FC_OK) {
        die("reference", err.msg);
    }
    o.ref = ref;
    double best_ref = targeted(s, &o, pick, k, repeat, 0, &first, &judged);
    double best_ref_new = targeted(s, &o, pick, k, repeat, 1, &first, &judged_new);
    printf("targeted   with the reference entities kept (fc_adj_opts.ref): carries unchanged "
           "%.2f ms, new %.2f ms\n",
           best_ref * 1e3, best_ref_new * 1e3);
    o.ref = NULL;
    fc_ref_free(ref);
    printf("ratio      whole / targeted: %.0fx (carries new: %.0fx); per judged order: targeted "
           "%.1f us, whole %.1f us\n",
           whole / best, whole / best_new, best * 1e6 / (double)(judged > 0 ? judged : 1),
           whole * 1e6 / (double)(whole_orders > 0 ? whole_orders : 1));
    printf("target     %zu orders in single-digit milliseconds: %s (carries new: %s)\n", k,
           best < 0.010 ? "met" : "NOT met", best_new < 0.010 ? "met" : "NOT met");

    for (size_t i = 0; i < all.n; i++) {
        free(all.id[i]);
    }
    free(all.id);
    free(pick);
    fc_store_close(s);
    fc_policy_pack_free(pack);
    if (dir != NULL) {
        unlink(db);
        char wal[4300];
        snprintf(wal, sizeof wal, "%s-wal", db);
        unlink(wal);
        snprintf(wal, sizeof wal, "%s-shm", db);
        unlink(wal);
        rmdir(dir);
    }
    return 0;
}
