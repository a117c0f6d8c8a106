/*
 * fulcrum gen: write the deterministic demo world into a folder.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "gen/gen.h"

static void gen_usage(FILE *f) {
    fprintf(f,
            "usage: fulcrum gen [--seed S] [--days D] [--out DIR] [--start YYYY-MM-DD]\n"
            "                   [--scale small|medium|default|large|X]\n\n"
            "Write a deterministic synthetic delivery operation (six cities, a week of\n"
            "orders by default, about 350,000 of them) with injected problems:\n"
            "cities.csv zones.csv merchants.csv riders.csv orders.csv events.jsonl and\n"
            "ground_truth.json. The same options always give byte-identical files.\n\n"
            "  --seed S        random seed, a non-negative integer (default 1)\n"
            "  --days D        number of days, 1-%d (default 7)\n"
            "  --out DIR       output folder, created when missing (default ./demo)\n"
            "  --start DATE    first local day (default 2026-03-02)\n"
            "  --scale X       size: small (about 2,000 orders a day), medium, default\n"
            "                  (about 50,000 a day), large, or a number in (0, 20]\n",
            FC_GEN_MAX_DAYS);
}

/* A whole decimal number in [0, max]. */
static int parse_u64(const char *s, uint64_t max, uint64_t *out) {
    if (s[0] < '0' || s[0] > '9') {
        return -1;
    }
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v > max) {
        return -1;
    }
    *out = (uint64_t)v;
    return 0;
}

/* YYYY-MM-DD into days since 1970-01-01; -1 when malformed or impossible. */
static int parse_date(const char *s, int32_t *out) {
    unsigned v[3] = {0, 0, 0};
    const int widths[3] = {4, 2, 2};
    const char *p = s;
    for (int k = 0; k < 3; k++) {
        for (int i = 0; i < widths[k]; i++, p++) {
            if (*p < '0' || *p > '9') {
                return -1;
            }
            v[k] = v[k] * 10 + (unsigned)(*p - '0');
        }
        if (k < 2 && *p++ != '-') {
            return -1;
        }
    }
    if (*p != '\0' || v[0] < 1970 || v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31) {
        return -1;
    }
    int64_t days = fc_days_from_civil(v[0], v[1], v[2]);
    int64_t y;
    unsigned m, d;
    fc_civil_from_days(days, &y, &m, &d);
    if (m != v[1] || d != v[2]) {
        return -1; /* 2026-02-30 */
    }
    *out = (int32_t)days;
    return 0;
}

int fc_cmd_gen(int argc, char **argv) {
    fc_gen_opts o;
    fc_gen_opts_init(&o);
    const char *out = "demo";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            gen_usage(stdout);
            return FC_EXIT_OK;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "fulcrum gen: unknown option or missing value: %s\n\n", a);
            gen_usage(stderr);
            return FC_EXIT_USAGE;
        }
        const char *v = argv[++i];
        uint64_t n = 0;
        if (strcmp(a, "--seed") == 0) {
            if (parse_u64(v, UINT64_MAX, &o.seed) != 0) {
                fprintf(stderr, "fulcrum gen: --seed wants a non-negative integer, not '%s'\n", v);
                return FC_EXIT_USAGE;
            }
        } else if (strcmp(a, "--days") == 0) {
            if (parse_u64(v, FC_GEN_MAX_DAYS, &n) != 0 || n < 1) {
                fprintf(stderr, "fulcrum gen: --days wants 1-%d, not '%s'\n", FC_GEN_MAX_DAYS, v);
                return FC_EXIT_USAGE;
            }
            o.days = (int32_t)n;
        } else if (strcmp(a, "--out") == 0) {
            out = v;
        } else if (strcmp(a, "--start") == 0) {
            if (parse_date(v, &o.start_date) != 0) {
                fprintf(stderr, "fulcrum gen: --start wants a date YYYY-MM-DD, not '%s'\n", v);
                return FC_EXIT_USAGE;
            }
        } else if (strcmp(a, "--scale") == 0) {
            if (fc_gen_scale_parse(v, &o.scale) != FC_OK) {
                fprintf(stderr,
                        "fulcrum gen: --scale wants small, medium, default, large or a number "
                        "in (0, 20], not '%s'\n",
                        v);
                return FC_EXIT_USAGE;
            }
        } else {
            fprintf(stderr, "fulcrum gen: unknown option '%s'\n\n", a);
            gen_usage(stderr);
            return FC_EXIT_USAGE;
        }
    }
    o.progress = fc_cli_stderr_tty();

    fc_err err;
    fc_err_clear(&err);
    fc_gen_summary sum;
    double t0 = fc_now_mono();
    int rc = fc_gen_world(out, &o, &sum, &err);
    if (rc != FC_OK) {
        return fc_cli_fail("gen", &err);
    }
    double secs = fc_now_mono() - t0;

    static const char *const names[] = {"city", "orders"};
    static const int numeric[] = {0, 1};
    fc_table *t = fc_table_new(2, names, numeric);
    if (t == NULL) {
        fprintf(stderr, "fulcrum gen: out of memory\n");
        return FC_EXIT_INTERNAL;
    }
    char count[32];
    for (size_t c = 0; c < sum.n_cities; c++) {
        snprintf(count, sizeof count, "%" PRId64, sum.city_orders[c]);
        const char *row[] = {sum.city[c], count};
        fc_table_add(t, row);
    }
    snprintf(count, sizeof count, "%" PRId64, sum.orders);
    const char *total[] = {"total", count};
    fc_table_add(t, total);
    fc_table_print(t, FC_OUT_TABLE, stdout);
    fc_table_free(t);

    printf("\n%" PRId64 " events, %" PRId64 " zones, %" PRId64 " merchants, %" PRId64
           " riders, %d injected problems (seed %" PRIu64 ", %d days, %.1f s)\nwrote:",
           sum.events, sum.zones, sum.merchants, sum.riders, sum.n_problems, o.seed, (int)o.days,
           secs);
    for (size_t i = 0; fc_gen_file(i) != NULL; i++) {
        printf(" %s/%s", out, fc_gen_file(i));
    }
    printf(" %s/ground_truth.json\n", out);
    return FC_EXIT_OK;
}
