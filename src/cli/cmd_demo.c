/*
 * fulcrum demo: the main job on the embedded default. Generate the demo
 * world, ingest it into a SQLite store, print the KPI overview per city,
 * judge every closed order with the default policy pack and print the
 * decisions per city and party, then the problems injected into the world
 * with the commands that find them and how the judge decided their orders.
 */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "adjudicate/adjudicate.h"
#include "cli/cli.h"
#include "gen/gen.h"
#include "ingest/ingest.h"
#include "store/store.h"

static void usage(FILE *f) {
    fprintf(f, "usage: fulcrum demo [--out DIR] [--db PATH] [--seed S] [--days D] [--scale X]\n"
               "                    [--start YYYY-MM-DD]\n\n"
               "Generate the demo world (six cities, a week by default, with injected problems),\n"
               "ingest it into a SQLite store, print the KPI overview per city, judge every\n"
               "closed order with the default policy pack (decisions per city and party) and\n"
               "show how the judge decided each injected problem's orders.\n"
               "Running it again with the same options finds every file already ingested.\n\n"
               "  --out DIR     folder for the world's files (default: demo)\n"
               "  --db PATH     the store (default: DIR/fulcrum.db)\n"
               "  --seed S      seed of the world (default: 1)\n"
               "  --days D      number of days (default: 7)\n"
               "  --scale X     small, medium, default, large or a number (default: default)\n"
               "  --start DATE  first local day (default: 2026-03-02)\n"
               "  -h, --help    this help\n");
}

/* For each kind of injected problem, the slice that shows it and the
 * incidents whose decisions say who the judge held liable. */
typedef struct drill {
    const char *type;
    const char *by;
    int where_zone; /* also filter on the problem's zone */
    const char *kpis;
    uint32_t incidents; /* bit per fc_incident_kind */
} drill;

#define INC(k) (1u << (k))
static const drill drills[] = {
    {"slow_merchant", "merchant", 1, "orders,late_rate,prep_overrun_rate,merchant_wait_min",
     INC(FC_INCIDENT_LATE)},
    {"rider_shortage", "zone,daypart", 0, "orders,on_time_rate,late_rate,delivery_min_p50",
     INC(FC_INCIDENT_LATE)},
    {"far_delivery_rider", "rider", 0, "orders,complaint_rate,bad_rating_rate,csat",
     INC(FC_INCIDENT_FAR_DELIVERY)},
    {"unreachable_customers", "zone,date", 0, "orders,undeliverable_rate,on_time_rate",
     INC(FC_INCIDENT_UNDELIVERABLE)},
    {"dispatch_outage", "date,hour", 0, "orders,push_completion_rate,cancel_rate,on_time_rate",
     INC(FC_INCIDENT_LATE) | INC(FC_INCIDENT_CANCELLED)},
};
#define N_DRILLS (sizeof drills / sizeof drills[0])

/* How the judge decided the orders of each problem. */
typedef struct verdicts {
    fc_dict *orders;    /* every problem order */
    uint32_t *drill_of; /* per order id: the drill of its problem */
    size_t cap;
    int64_t by_party[N_DRILLS][FC_PARTY__COUNT];
    int64_t review[N_DRILLS];
    char example[N_DRILLS][FC_CASE_ID_MAX]; /* one decision to show */
} verdicts;

static int verdict_add(void *ud, const fc_case_decision *d) {
    verdicts *v = ud;
    int64_t id = fc_dict_find(v->orders, fc_str_c(d->order));
    if (id < 0) {
        return FC_OK;
    }
    uint32_t k = v->drill_of[id];
    if (!(drills[k].incidents & INC(d->d.incident))) {
        return FC_OK;
    }
    v->by_party[k][d->d.liable]++;
    v->review[k] += d->d.review != 0;
    if (v->example[k][0] == '\0') {
        snprintf(v->example[k], sizeof v->example[k], "%s", d->id);
    }
    return FC_OK;
}

/* Read the decisions of every problem's orders into v. */
static int collect_verdicts(json_t *problems, const char *db, verdicts *v) {
    fc_store *s = NULL;
    fc_err err;
    fc_err_clear(&err);
    v->orders = fc_dict_new();
    if (v->orders == NULL) {
        return FC_ENOMEM;
    }
    size_t i;
    json_t *p;
    json_array_foreach(problems, i, p) {
        const char *type = json_string_value(json_object_get(p, "type"));
        uint32_t k = 0;
        while (type != NULL && k < N_DRILLS && strcmp(drills[k].type, type) != 0) {
            k++;
        }
        if (type == NULL || k == N_DRILLS) {
            continue;
        }
        size_t j;
        json_t *o;
        json_array_foreach(json_object_get(p, "orders"), j, o) {
            const char *oid = json_string_value(o);
            int64_t id = oid != NULL ? fc_dict_intern(v->orders, fc_str_c(oid)) : -1;
            if (oid != NULL && id < 0) {
                return FC_ENOMEM;
            }
            if (id < 0) {
                continue;
            }
            void *arr = v->drill_of;
            if (fc_grow(&arr, &v->cap, (size_t)id + 1, sizeof *v->drill_of) != FC_OK) {
                return FC_ENOMEM;
            }
            v->drill_of = arr;
            v->drill_of[id] = k;
        }
    }
    int rc = fc_store_open(db, &s, &err);
    if (rc == FC_OK) {
        fc_adj_opts o;
        fc_adj_opts_init(&o);
        rc = fc_adj_decisions(s, &o, verdict_add, v, &err);
    }
    if (rc != FC_OK && rc != FC_ENOMEM) {
        fc_cli_fail("demo", &err);
    }
    fc_store_close(s);
    return rc;
}

static void print_verdicts(const verdicts *v, size_t k, const char *db) {
    int64_t total = 0;
    for (int p = 0; p < FC_PARTY__COUNT; p++) {
        total += v->by_party[k][p];
    }
    if (total == 0) {
        return;
    }
    printf("      judged: %" PRId64 " decisions on ", total);
    for (int inc = 0, first = 1; inc < FC_INCIDENT__COUNT; inc++) {
        if (drills[k].incidents & INC(inc)) {
            printf("%s%s", first ? "" : " and ", fc_incident_name((fc_incident_kind)inc));
            first = 0;
        }
    }
    printf(":");
    for (int p = 1, first = 1; p < FC_PARTY__COUNT; p++) {
        if (v->by_party[k][p] > 0) {
            printf("%s %s %" PRId64 " (%.0f%%)", first ? "" : ",", fc_party_name((fc_party)p),
                   v->by_party[k][p], 100.0 * (double)v->by_party[k][p] / (double)total);
            first = 0;
        }
    }
    if (v->review[k] > 0) {
        printf("; %" PRId64 " go to a person", v->review[k]);
    }
    printf("\n      fulcrum judge show --db %s %s\n", db, v->example[k]);
}

/* Print the ground truth's problems: what was injected, where, and a
 * command that shows each. */
static void print_problems(const char *dir, const char *db) {
    char path[1024];
    snprintf(path, sizeof path, "%s/ground_truth.json", dir);
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (root == NULL) {
        fprintf(stderr, "fulcrum demo: %s:%d:%d: %s\n", path, jerr.line, jerr.column, jerr.text);
        return;
    }
    json_t *list = json_object_get(root, "problems");
    verdicts v;
    memset(&v, 0, sizeof v);
    int judged = collect_verdicts(list, db, &v) == FC_OK;
    printf("\nProblems injected into this world (%s), a slice that shows each, and how\n"
           "the judge decided their orders:\n",
           path);
    size_t i;
    json_t *p;
    json_array_foreach(list, i, p) {
        const char *type = json_string_value(json_object_get(p, "type"));
        const char *city = json_string_value(json_object_get(p, "city"));
        const char *zone = json_string_value(json_object_get(p, "zone"));
        const char *merchant = json_string_value(json_object_get(p, "merchant"));
        const char *rider = json_string_value(json_object_get(p, "rider"));
        size_t n = json_array_size(json_object_get(p, "orders"));
        printf("  - %-22s city=%s%s%s%s%s%s%s (%zu orders)\n", type ? type : "?", city ? city : "?",
               zone ? " zone=" : "", zone ? zone : "", merchant ? " merchant=" : "",
               merchant ? merchant : "", rider ? " rider=" : "", rider ? rider : "", n);
        for (size_t k = 0; type != NULL && city != NULL && k < N_DRILLS; k++) {
            const drill *d = &drills[k];
            if (strcmp(d->type, type) != 0) {
                continue;
            }
            printf("      fulcrum kpi --db %s --by %s --where city=%s%s%s --kpi %s\n", db, d->by,
                   city, d->where_zone && zone ? " --where zone=" : "",
                   d->where_zone && zone ? zone : "", d->kpis);
            if (judged) {
                print_verdicts(&v, k, db);
            }
        }
    }
    fc_dict_free(v.orders);
    fc_free(v.drill_of);
    json_decref(root);
    printf("\nMore slices: fulcrum kpi --help (dimensions and KPIs), docs/kpis.md.\n");
}

/* Judge every closed order of the store with the default policy pack and
 * record the decisions (nothing new on a second run). */
static int judge_world(const char *db) {
    fc_policy_pack *pack = NULL;
    fc_store *s = NULL;
    fc_err err;
    fc_err_clear(&err);
    int status = FC_EXIT_OK;
    const char *dir = fc_policy_dir();
    fprintf(stderr, "Judging closed orders with the policy pack in %s...\n", dir);
    double t0 = fc_now_mono();
    if (fc_policy_pack_load(dir, &pack, &err) != FC_OK || fc_store_open(db, &s, &err) != FC_OK) {
        status = fc_cli_fail("demo", &err);
        goto out;
    }
    fc_adj_opts o;
    fc_adj_opts_init(&o);
    o.pack = pack;
    o.now = (int64_t)time(NULL);
    printf("\nResponsibility decisions per city and liable party (docs/judge.md):\n\n");
    fflush(stdout);
    status = fc_cli_judge_store(s, &o, FC_OUT_TABLE, stdout, stderr);
    fprintf(stderr, "  (%.1f s)\n", fc_now_mono() - t0);
out:
    fc_store_close(s);
    fc_policy_pack_free(pack);
    return status;
}

int fc_cmd_demo(int argc, char **argv) {
    static const struct option longopts[] = {
        {"out", required_argument, NULL, 'o'},   {"db", required_argument, NULL, 'd'},
        {"seed", required_argument, NULL, 's'},  {"days", required_argument, NULL, 'n'},
        {"scale", required_argument, NULL, 'x'}, {"start", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0}};
    const char *dir = "demo", *db_flag = NULL;
    fc_gen_opts gopts;
    fc_gen_opts_init(&gopts);
    fc_err err;
    fc_err_clear(&err);
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        int64_t v = 0;
        switch (c) {
        case 'o':
            dir = optarg;
            break;
        case 'd':
            db_flag = optarg;
            break;
        case 's':
            if (fc_parse_i64(fc_str_c(optarg), &v) != FC_OK || v < 0) {
                fprintf(stderr, "fulcrum demo: --seed wants a non-negative integer\n");
                return FC_EXIT_USAGE;
            }
            gopts.seed = (uint64_t)v;
            break;
        case 'n':
            if (fc_parse_i64(fc_str_c(optarg), &v) != FC_OK || v < 1 || v > FC_GEN_MAX_DAYS) {
                fprintf(stderr, "fulcrum demo: --days wants 1 to %d\n", FC_GEN_MAX_DAYS);
                return FC_EXIT_USAGE;
            }
            gopts.days = (int32_t)v;
            break;
        case 'x':
            if (fc_gen_scale_parse(optarg, &gopts.scale) != FC_OK) {
                fprintf(stderr, "fulcrum demo: --scale wants small, medium, default, large "
                                "or a number in (0, 20]\n");
                return FC_EXIT_USAGE;
            }
            break;
        case 't': {
            int64_t ts;
            if (fc_time_parse_fmt(fc_str_c(optarg), "%Y-%m-%d", NULL, &ts, &err) != FC_OK) {
                fprintf(stderr, "fulcrum demo: --start wants YYYY-MM-DD\n");
                return FC_EXIT_USAGE;
            }
            gopts.start_date = (int32_t)(ts / 86400);
            break;
        }
        case 'h':
            usage(stdout);
            return FC_EXIT_OK;
        default:
            usage(stderr);
            return FC_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "fulcrum demo: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return FC_EXIT_USAGE;
    }

    char db_buf[1024];
    snprintf(db_buf, sizeof db_buf, "%s/fulcrum.db", dir);
    const char *db = db_flag != NULL ? db_flag : db_buf;
    gopts.progress = fc_cli_stderr_tty();

    fprintf(stderr, "Generating %d day(s) of the demo world into %s/ (seed %llu)...\n", gopts.days,
            dir, (unsigned long long)gopts.seed);
    double t0 = fc_now_mono();
    fc_gen_summary sum;
    if (fc_gen_world(dir, &gopts, &sum, &err) != FC_OK) {
        return fc_cli_fail("demo", &err);
    }
    fprintf(stderr,
            "  %lld orders, %lld extra events, %zu cities, %lld riders, %lld merchants "
            "(%.1f s)\n",
            (long long)sum.orders, (long long)sum.events, sum.n_cities, (long long)sum.riders,
            (long long)sum.merchants, fc_now_mono() - t0);

    fprintf(stderr, "Ingesting into %s...\n", db);
    fc_store *store = NULL;
    if (fc_store_open(db, &store, &err) != FC_OK) {
        return fc_cli_fail("demo", &err);
    }
    fc_ingest_opts iopts;
    memset(&iopts, 0, sizeof iopts);
    iopts.max_errors = -1;
    iopts.progress = fc_cli_stderr_tty();
    iopts.summary = stderr;
    int status = FC_EXIT_OK;
    for (size_t i = 0; fc_gen_file(i) != NULL; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, fc_gen_file(i));
        fc_ingest_log log;
        if (fc_ingest_file(store, path, &iopts, &log, &err) != FC_OK) {
            status = fc_cli_fail("demo", &err);
            fc_store_close(store);
            return status;
        }
        if (log.rejected > 0) {
            status = FC_EXIT_REJECTED;
        }
    }
    fc_store_close(store);

    fprintf(stderr, "Folding orders and computing KPIs...\n");
    printf("\nExperience KPIs per city (%s):\n\n", db);
    fflush(stdout);
    int rc = fc_cli_kpi_overview(db, stdout);
    if (rc != FC_EXIT_OK) {
        return rc;
    }
    rc = judge_world(db);
    if (rc != FC_EXIT_OK) {
        return rc;
    }
    print_problems(dir, db);
    return status;
}
