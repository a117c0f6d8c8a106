/*
 * fulcrum report: reports over the case log. `report rules` is the rule
 * quality report: per rule, how often it fired, how often its decisions
 * were appealed and overturned, what it cost riders, and how its rate
 * spreads across rider capacity types and zones; rules that look unfair are
 * flagged.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "adjudicate/adjudicate.h"
#include "cli/cli.h"
#include "store/store.h"

static void usage(FILE *f) {
    fprintf(f, "usage: fulcrum report rules [--db PATH] [--from T] [--to T] [--city C]\n"
               "                            [--format table|csv|json]\n\n"
               "Rule quality over the decisions recorded by 'fulcrum judge' and their appeals:\n"
               "per rule, how often it fired, the share appealed and overturned (a partial\n"
               "verdict counts half), the mean rider penalty, the firing rate per 1000 closed\n"
               "orders of each rider capacity type and the zones where it fires most and least\n"
               "(zones with at least 50 closed orders). A rule is flagged (flag column) when\n"
               "it names the rider and fires at least twice as often on one capacity type as\n"
               "on another (after 20 firings), or when 30%% or more of its appealed decisions\n"
               "were overturned (after 5 appeals).\n\n"
               "  --db PATH        the store (default $FULCRUM_DB, else ./fulcrum.db)\n"
               "  --from T, --to T orders created in the period: an instant with offset (from\n"
               "                   inclusive, to exclusive) or a date YYYY-MM-DD (both\n"
               "                   inclusive; the local day of --city, else the UTC day)\n"
               "  --city C         only this city\n"
               "  --format F       table (default), csv or json\n"
               "  -h, --help       this help\n");
}

static const char *flag_text(int flagged) {
    switch (flagged & (FC_RULE_FLAG_CAPACITY | FC_RULE_FLAG_OVERTURN)) {
    case FC_RULE_FLAG_CAPACITY:
        return "! capacity spread";
    case FC_RULE_FLAG_OVERTURN:
        return "! overturned";
    case FC_RULE_FLAG_CAPACITY | FC_RULE_FLAG_OVERTURN:
        return "! capacity spread, overturned";
    default:
        return "";
    }
}

static void fmt_double(char *buf, size_t n, double v, int decimals) {
    if (isinf(v)) {
        snprintf(buf, n, "%s", "");
    } else {
        snprintf(buf, n, "%.*f", decimals, v);
    }
}

enum {
    C_RULE,
    C_INCIDENT,
    C_LIABLE,
    C_FIRED,
    C_APPEALED,
    C_OVERTURNED,
    C_OVERTURN_PCT,
    C_AVG_POINTS,
    C_AVG_PENALTY,
    C_RATE_FT,
    C_RATE_PT,
    C_RATE_CROWD,
    C_CAP_RATIO,
    C_ZONE_MAX,
    C_ZONE_MAX_RATE,
    C_ZONE_MIN,
    C_ZONE_MIN_RATE,
    C_FLAG,
    C__COUNT
};

static int print_quality(const fc_rule_quality *q, size_t n, fc_out_format fmt, FILE *f) {
    static const char *const names[C__COUNT] = {"rule",
                                                "incident",
                                                "liable",
                                                "fired",
                                                "appealed",
                                                "overturned",
                                                "overturn_pct",
                                                "avg_points",
                                                "avg_penalty",
                                                "per_1000_full_time",
                                                "per_1000_part_time",
                                                "per_1000_crowd",
                                                "capacity_ratio",
                                                "zone_max",
                                                "zone_max_per_1000",
                                                "zone_min",
                                                "zone_min_per_1000",
                                                "flag"};
    static const int numeric[C__COUNT] = {0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 1, 0};
    fc_table *t = fc_table_new(C__COUNT, names, numeric);
    if (t == NULL) {
        fprintf(stderr, "fulcrum report: out of memory\n");
        return FC_EXIT_INTERNAL;
    }
    char cells[C__COUNT][96];
    const char *row[C__COUNT];
    for (size_t c = 0; c < C__COUNT; c++) {
        row[c] = cells[c];
    }
    for (size_t i = 0; i < n; i++) {
        const fc_rule_quality *r = &q[i];
        snprintf(cells[C_RULE], sizeof cells[0], "%s", r->rule_id[0] ? r->rule_id : "(no rule)");
        snprintf(cells[C_INCIDENT], sizeof cells[0], "%s", fc_incident_name(r->incident));
        snprintf(cells[C_LIABLE], sizeof cells[0], "%s", fc_party_name(r->liable));
        snprintf(cells[C_FIRED], sizeof cells[0], "%lld", (long long)r->fired);
        snprintf(cells[C_APPEALED], sizeof cells[0], "%lld", (long long)r->appealed);
        snprintf(cells[C_OVERTURNED], sizeof cells[0], "%lld", (long long)r->overturned);
        if (r->appealed > 0) {
            fmt_double(cells[C_OVERTURN_PCT], sizeof cells[0], 100.0 * r->overturn_rate, 1);
        } else {
            cells[C_OVERTURN_PCT][0] = '\0';
        }
        fmt_double(cells[C_AVG_POINTS], sizeof cells[0], r->avg_points, 2);
        fmt_double(cells[C_AVG_PENALTY], sizeof cells[0], r->avg_amount_minor, 0);
        fmt_double(cells[C_RATE_FT], sizeof cells[0], r->rate_by_capacity[FC_CAP_FULL_TIME], 2);
        fmt_double(cells[C_RATE_PT], sizeof cells[0], r->rate_by_capacity[FC_CAP_PART_TIME], 2);
        fmt_double(cells[C_RATE_CROWD], sizeof cells[0], r->rate_by_capacity[FC_CAP_CROWD], 2);
        if (isinf(r->capacity_ratio)) {
            snprintf(cells[C_CAP_RATIO], sizeof cells[0], "%s", fmt == FC_OUT_JSON ? "" : "inf");
        } else if (r->capacity_ratio > 0) {
            fmt_double(cells[C_CAP_RATIO], sizeof cells[0], r->capacity_ratio, 2);
        } else {
            cells[C_CAP_RATIO][0] = '\0';
        }
        int zones = r->zone_max[0] != '\0';
        snprintf(cells[C_ZONE_MAX], sizeof cells[0], "%s", r->zone_max);
        snprintf(cells[C_ZONE_MIN], sizeof cells[0], "%s", r->zone_min);
        if (zones) {
            fmt_double(cells[C_ZONE_MAX_RATE], sizeof cells[0], r->zone_rate_max, 2);
            fmt_double(cells[C_ZONE_MIN_RATE], sizeof cells[0], r->zone_rate_min, 2);
        } else {
            cells[C_ZONE_MAX_RATE][0] = cells[C_ZONE_MIN_RATE][0] = '\0';
        }
        snprintf(cells[C_FLAG], sizeof cells[0], "%s", flag_text(r->flagged));
        if (fc_table_add(t, row) != FC_OK) {
            fc_table_free(t);
            fprintf(stderr, "fulcrum report: out of memory\n");
            return FC_EXIT_INTERNAL;
        }
    }
    fc_table_print(t, fmt, f);
    fc_table_free(t);
    return FC_EXIT_OK;
}

static int cmd_rules(int argc, char **argv) {
    const char *db = NULL, *from = NULL, *to = NULL, *city = NULL;
    const fc_cli_optdef defs[] = {
        {"--db", &db}, {"--from", &from}, {"--to", &to}, {"--city", &city}};
    fc_out_format fmt;
    int parsed = fc_cli_parse_opts("report rules", argc, argv, defs, sizeof defs / sizeof defs[0],
                                   usage, &fmt);
    if (parsed != FC_EXIT_OK) {
        return parsed < 0 ? FC_EXIT_OK : parsed;
    }
    fc_err err;
    fc_err_clear(&err);
    fc_store *s = NULL;
    fc_rule_quality *rows = NULL;
    size_t n = 0;
    int rc = FC_EXIT_OK;
    if (fc_store_open(fc_cli_db_path(db), &s, &err) != FC_OK) {
        rc = fc_cli_fail("report rules", &err);
        goto out;
    }
    fc_adj_opts o;
    fc_adj_opts_init(&o);
    o.city = city;
    o.now = (int64_t)time(NULL);
    rc = fc_cli_period("report rules", s, city, from, to, &o.from, &o.to);
    if (rc != FC_EXIT_OK) {
        goto out;
    }
    if (fc_adj_quality(s, &o, &rows, &n, &err) != FC_OK) {
        rc = fc_cli_fail("report rules", &err);
        goto out;
    }
    if (n == 0) {
        fprintf(stderr, "fulcrum report rules: no decisions recorded for these orders (run "
                        "'fulcrum judge' first)\n");
    }
    rc = print_quality(rows, n, fmt, stdout);
out:
    fc_free(rows);
    fc_store_close(s);
    return rc;
}

int fc_cmd_report(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? FC_EXIT_USAGE : FC_EXIT_OK;
    }
    if (strcmp(argv[1], "rules") == 0) {
        return cmd_rules(argc - 1, argv + 1);
    }
    fprintf(stderr, "fulcrum report: unknown report '%s' (known: rules)\n", argv[1]);
    return FC_EXIT_USAGE;
}
