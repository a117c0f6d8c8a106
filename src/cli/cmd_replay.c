/*
 * fulcrum replay: backtest a policy change. Every closed order of a period
 * is judged under the policy in force (the base pack) and under the
 * candidate, in one scan; the command prints what would change: decisions by
 * rule, by liable party and by rider capacity type, money and points
 * totals, and the riders most affected. Nothing is written to the store.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adjudicate/adjudicate.h"
#include "cli/cli.h"
#include "kpi/kpi.h"
#include "ref/ref.h"
#include "store/store.h"

static void usage(FILE *f) {
    fprintf(
        f, "usage: fulcrum replay --policy DIR|FILE [--base DIR] [--db PATH] [--from T] [--to T]\n"
           "                      [--city C] [--top N] [--table NAME] [--format table|csv|json]\n\n"
           "Re-judge the closed orders of a period under a candidate policy and under the\n"
           "policy in force, and print what would change. Nothing is written.\n\n"
           "  --policy DIR     a whole candidate pack (a folder of policy files)\n"
           "  --policy FILE    one policy file: the base pack with the policy of the same id\n"
           "                   replaced by this one (or added, when the pack has no such id)\n"
           "  --base DIR       the pack in force (default: the default pack, policies/)\n"
           "  --db PATH        the store (default $FULCRUM_DB, else ./fulcrum.db)\n"
           "  --from T, --to T orders created in the period: an instant with offset (from\n"
           "                   inclusive, to exclusive) or a date YYYY-MM-DD (both\n"
           "                   inclusive; the local day of --city, else the UTC day)\n"
           "  --city C         only this city\n"
           "  --top N          riders most affected to list (default 10)\n"
           "  --table NAME     print only one table: summary, rules, parties, capacity, money,\n"
           "                   riders (for pipes)\n"
           "  --format F       table (default), csv or json (one object of tables)\n"
           "  -h, --help       this help\n\n"
           "A decision changes when its liable party, its rule or its consequence differs,\n"
           "or when it exists under one policy only. docs/replay.md explains the output.\n");
}

/* ---------------------------------------------------------------------------
 * Options shared with fulcrum report (cli.h).
 */

int fc_cli_parse_opts(const char *cmd, int argc, char **argv, const fc_cli_optdef *defs, size_t n,
                      void (*print_usage)(FILE *f), fc_out_format *fmt) {
    const char *format = "table";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            print_usage(stdout);
            return -1;
        }
        const char **value = NULL;
        size_t len = strlen("--format");
        if (strncmp(argv[i], "--format", len) == 0 &&
            (argv[i][len] == '\0' || argv[i][len] == '=')) {
            value = &format;
        }
        for (size_t k = 0; value == NULL && k < n; k++) {
            len = strlen(defs[k].name);
            if (strncmp(argv[i], defs[k].name, len) == 0 &&
                (argv[i][len] == '\0' || argv[i][len] == '=')) {
                value = defs[k].value;
            }
        }
        if (value == NULL) {
            fprintf(stderr, "fulcrum %s: unknown argument '%s' (see --help)\n", cmd, argv[i]);
            return FC_EXIT_USAGE;
        }
        if (argv[i][len] == '=') {
            *value = argv[i] + len + 1;
        } else if (i + 1 < argc) {
            *value = argv[++i];
        } else {
            fprintf(stderr, "fulcrum %s: missing value for '%s'\n", cmd, argv[i]);
            return FC_EXIT_USAGE;
        }
    }
    int f = fc_out_format_from(format);
    if (f < 0) {
        fprintf(stderr, "fulcrum %s: --format: table, csv or json, not '%s'\n", cmd, format);
        return FC_EXIT_USAGE;
    }
    *fmt = (fc_out_format)f;
    return FC_EXIT_OK;
}

int fc_cli_period(const char *cmd, struct fc_store *s, const char *city, const char *from,
                  const char *to, int64_t *from_ts, int64_t *to_ts) {
    fc_err err;
    fc_err_clear(&err);
    const char *const when[2] = {from, to};
    int64_t *const out[2] = {from_ts, to_ts};
    fc_ref *ref = NULL;
    int rc = FC_EXIT_OK;
    *from_ts = *to_ts = FC_TS_NONE;
    for (int i = 0; i < 2; i++) {
        if (when[i] == NULL) {
            continue;
        }
        int64_t ts = FC_TS_NONE;
        int32_t date = INT32_MIN;
        if (fc_kpi_parse_when(when[i], &ts, &date, &err) != FC_OK) {
            fprintf(stderr, "fulcrum %s: %s: %s\n", cmd, i == 0 ? "--from" : "--to", err.msg);
            rc = FC_EXIT_USAGE;
            goto out;
        }
        if (ts != FC_TS_NONE) {
            *out[i] = ts;
            continue;
        }
        /* A date: the city's local day when a city is named, else UTC. */
        int64_t day = (int64_t)date + i; /* --to's day is included */
        const fc_city *c = NULL;
        if (city != NULL && city[0] != '\0') {
            if (ref == NULL) {
                ref = fc_ref_new();
                if (ref == NULL || fc_store_load_ref(s, ref, &err) != FC_OK) {
                    rc = ref == NULL ? FC_EXIT_INTERNAL : fc_cli_fail(cmd, &err);
                    goto out;
                }
            }
            c = fc_ref_city(ref, fc_str_c(city));
        }
        *out[i] = c != NULL && c->tz != NULL ? fc_tz_to_utc(c->tz, day * 86400) : day * 86400;
    }
out:
    fc_ref_free(ref);
    return rc;
}

/* ---------------------------------------------------------------------------
 * The candidate pack.
 */

static int is_dir(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static const char *base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static int copy_file(const char *from, const char *to) {
    FILE *in = fopen(from, "rb");
    FILE *out = in ? fopen(to, "wb") : NULL;
    int ok = in != NULL && out != NULL;
    char buf[65536];
    size_t n;
    while (ok && (n = fread(buf, 1, sizeof buf, in)) > 0) {
        ok = fwrite(buf, 1, n, out) == n;
    }
    ok = ok && !ferror(in);
    if (out != NULL && fclose(out) != 0) {
        ok = 0;
    }
    if (in != NULL) {
        fclose(in);
    }
    return ok ? 0 : -1;
}

/* The policy id a policy file declares (its `policy:` key) into id. */
static int policy_id_of(const char *path, char *id, size_t cap, fc_err *err) {
    fc_yaml *y = NULL;
    int rc = fc_yaml_load_file(path, &y, err);
    if (rc != FC_OK) {
        return rc;
    }
    const fc_yaml *v = fc_yaml_get(y, "policy");
    if (v == NULL || v->kind != FC_YAML_SCALAR || v->scalar[0] == '\0' ||
        strchr(v->scalar, '/') != NULL || strlen(v->scalar) >= cap) {
        rc = fc_err_set(err, FC_EINVAL, path, v ? v->line : 0, v ? v->col : 0,
                        "a policy file needs a 'policy:' id");
    } else {
        snprintf(id, cap, "%s", v->scalar);
    }
    fc_yaml_free(y);
    return rc;
}

/* The base pack's folder `base_dir` with `file`'s policy in place of the
 * policy of the same id, loaded into *out. The pack is assembled in a
 * temporary folder, removed before returning; errors in `file` name it,
 * not its temporary copy. */
static int load_swapped(const char *base_dir, const fc_policy_pack *base, const char *file,
                        fc_policy_pack **out, fc_err *err) {
    char id[128], tmpl[4096], path[4096 + 300], own[4096 + 300];
    int rc = policy_id_of(file, id, sizeof id, err);
    if (rc != FC_OK) {
        return rc;
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(tmpl, sizeof tmpl, "%s/fulcrum-replay-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (mkdtemp(tmpl) == NULL) {
        return fc_err_set(err, FC_EIO, "", 0, 0, "cannot make a temporary folder: %s",
                          strerror(errno));
    }
    const fc_policy *replaced = fc_policy_pack_find(base, id);
    const char *skip = replaced ? base_name(fc_policy_file(replaced)) : NULL;
    DIR *d = opendir(base_dir);
    if (d == NULL) {
        rc = fc_err_set(err, FC_EIO, base_dir, 0, 0, "cannot read the folder: %s", strerror(errno));
        goto out;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 6 || strcmp(e->d_name + n - 5, ".yaml") != 0 ||
            (skip != NULL && strcmp(e->d_name, skip) == 0) || e->d_name[0] == '.') {
            continue;
        }
        snprintf(path, sizeof path, "%s/%s", base_dir, e->d_name);
        snprintf(own, sizeof own, "%s/%s", tmpl, e->d_name);
        if (copy_file(path, own) != 0) {
            rc = fc_err_set(err, FC_EIO, path, 0, 0, "cannot copy the policy file");
            break;
        }
    }
    closedir(d);
    if (rc != FC_OK) {
        goto out;
    }
    snprintf(own, sizeof own, "%s/%s.yaml", tmpl, id);
    if (copy_file(file, own) != 0) {
        rc = fc_err_set(err, FC_EIO, file, 0, 0, "cannot read the policy file");
        goto out;
    }
    rc = fc_policy_pack_load(tmpl, out, err);
    if (rc != FC_OK && err != NULL) {
        const char *at =
            strncmp(err->file, tmpl, strlen(tmpl)) == 0 ? err->file + strlen(tmpl) + 1 : NULL;
        if (at != NULL) { /* name the user's files, not the copies */
            char name[300];
            snprintf(name, sizeof name, "%s", at);
            snprintf(err->file, sizeof err->file, "%s",
                     strcmp(name, base_name(own)) == 0 ? file : base_dir);
            if (strcmp(name, base_name(own)) != 0) {
                size_t l = strlen(err->file);
                snprintf(err->file + l, sizeof err->file - l, "/%s", name);
            }
        }
    }
out:
    d = opendir(tmpl);
    if (d != NULL) {
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] != '.') {
                snprintf(path, sizeof path, "%s/%s", tmpl, e->d_name);
                unlink(path);
            }
        }
        closedir(d);
    }
    rmdir(tmpl);
    return rc;
}

/* ---------------------------------------------------------------------------
 * Output.
 */

/* 1234567 -> "1,234,567". */
static const char *grouped(int64_t v, char *buf, size_t cap) {
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%lld", (long long)(v < 0 ? -v : v));
    size_t o = 0;
    if (v < 0 && o + 1 < cap) {
        buf[o++] = '-';
    }
    for (int i = 0; i < n && o + 2 < cap; i++) {
        if (i > 0 && (n - i) % 3 == 0) {
            buf[o++] = ',';
        }
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
    return buf;
}

static double pct(int64_t part, int64_t whole) {
    return whole > 0 ? 100.0 * (double)part / (double)whole : 0.0;
}

typedef struct out_ctx {
    fc_out_format fmt;
    const char *only; /* NULL: every table */
    int printed;      /* tables printed so far */
    FILE *f;
} out_ctx;

/* Print table t named `name` with its title, in the context's format; t is
 * freed. */
static int emit(out_ctx *o, const char *name, const char *title, fc_table *t) {
    if (t == NULL) {
        fprintf(stderr, "fulcrum replay: out of memory\n");
        return FC_EXIT_INTERNAL;
    }
    if (o->only == NULL || strcmp(o->only, name) == 0) {
        if (o->fmt == FC_OUT_JSON && o->only == NULL) {
            fprintf(o->f, "%s\"%s\": ", o->printed ? ",\n" : "", name);
        } else if (o->fmt == FC_OUT_TABLE) {
            fprintf(o->f, "\n%s\n", title);
        } else if (o->printed && o->only == NULL) {
            fputc('\n', o->f);
        }
        fc_table_print(t, o->fmt, o->f);
        o->printed++;
    }
    fc_table_free(t);
    return FC_EXIT_OK;
}

/* A change of a count: "+3" for people, "3" for pipes (JSON has no '+'). */
static const char *plus(int people, int64_t v) {
    return people && v > 0 ? "+" : "";
}

static fc_table *rows_table(const char *key, const fc_replay_row *rows, size_t n, int people) {
    const char *names[5] = {key, "base", "candidate", "change", "changed"};
    static const int numeric[5] = {0, 1, 1, 1, 1};
    fc_table *t = fc_table_new(5, names, numeric);
    char cells[5][64];
    const char *row[5] = {cells[0], cells[1], cells[2], cells[3], cells[4]};
    for (size_t i = 0; t != NULL && i < n; i++) {
        snprintf(cells[0], sizeof cells[0], "%s", rows[i].key);
        snprintf(cells[1], sizeof cells[1], "%lld", (long long)rows[i].base);
        snprintf(cells[2], sizeof cells[2], "%lld", (long long)rows[i].candidate);
        int64_t change = rows[i].candidate - rows[i].base;
        snprintf(cells[3], sizeof cells[3], "%s%lld", plus(people, change), (long long)change);
        snprintf(cells[4], sizeof cells[4], "%lld", (long long)rows[i].changed);
        if (fc_table_add(t, row) != FC_OK) {
            fc_table_free(t);
            return NULL;
        }
    }
    return t;
}

/* A row of the totals; money rows that are zero on both sides are left
 * out (a country whose policy has no money penalties). */
static int add_total(fc_table *t, const char *item, const char *currency, int64_t base,
                     int64_t cand, int people) {
    if (currency[0] != '\0' && base == 0 && cand == 0) {
        return FC_OK;
    }
    char cells[5][72];
    const char *row[5] = {item, currency, cells[2], cells[3], cells[4]};
    if (currency[0] != '\0') {
        fc_money_format(base, currency, cells[2], sizeof cells[2]);
        fc_money_format(cand, currency, cells[3], sizeof cells[3]);
        char diff[64];
        fc_money_format(cand - base, currency, diff, sizeof diff);
        snprintf(cells[4], sizeof cells[4], "%s%s", plus(people, cand - base), diff);
    } else {
        snprintf(cells[2], sizeof cells[2], "%lld", (long long)base);
        snprintf(cells[3], sizeof cells[3], "%lld", (long long)cand);
        snprintf(cells[4], sizeof cells[4], "%s%lld", plus(people, cand - base),
                 (long long)(cand - base));
    }
    return fc_table_add(t, row);
}

static fc_table *totals_table(const fc_replay_report *r, int people) {
    static const char *const names[5] = {"total", "currency", "base", "candidate", "change"};
    static const int numeric[5] = {0, 0, 1, 1, 1};
    fc_table *t = fc_table_new(5, names, numeric);
    int ok = t != NULL &&
             add_total(t, "rider points", "", r->points_base, r->points_candidate, people) == FC_OK;
    for (size_t i = 0; ok && i < r->n_money; i++) {
        const struct fc_replay_money *m = &r->money[i];
        ok = add_total(t, "rider penalties", m->currency, m->penalty_base, m->penalty_candidate,
                       people) == FC_OK &&
             add_total(t, "customer compensation", m->currency, m->compensation_base,
                       m->compensation_candidate, people) == FC_OK &&
             add_total(t, "merchant chargebacks", m->currency, m->chargeback_base,
                       m->chargeback_candidate, people) == FC_OK;
    }
    if (!ok) {
        fc_table_free(t);
        return NULL;
    }
    return t;
}

static fc_table *riders_table(const fc_replay_report *r, int people) {
    static const char *const names[6] = {"rider",       "capacity",         "changed",
                                         "points_base", "points_candidate", "points_change"};
    static const int numeric[6] = {0, 0, 1, 1, 1, 1};
    fc_table *t = fc_table_new(6, names, numeric);
    char cells[6][64];
    const char *row[6] = {cells[0], cells[1], cells[2], cells[3], cells[4], cells[5]};
    for (size_t i = 0; t != NULL && i < r->n_riders; i++) {
        const fc_replay_rider *x = &r->riders[i];
        snprintf(cells[0], sizeof cells[0], "%s", x->rider);
        snprintf(cells[1], sizeof cells[1], "%s", x->capacity);
        snprintf(cells[2], sizeof cells[2], "%lld", (long long)x->changed);
        snprintf(cells[3], sizeof cells[3], "%lld", (long long)x->points_base);
        snprintf(cells[4], sizeof cells[4], "%lld", (long long)x->points_candidate);
        int64_t change = x->points_candidate - x->points_base;
        snprintf(cells[5], sizeof cells[5], "%s%lld", plus(people, change), (long long)change);
        if (fc_table_add(t, row) != FC_OK) {
            fc_table_free(t);
            return NULL;
        }
    }
    return t;
}

static fc_table *summary_table(const fc_replay_report *r) {
    static const char *const names[2] = {"measure", "value"};
    static const int numeric[2] = {0, 1};
    const struct {
        const char *name;
        int64_t v;
    } m[] = {
        {"closed_orders", r->orders},
        {"decisions_base", r->decisions_base},
        {"decisions_candidate", r->decisions_candidate},
        {"pairs", r->pairs},
        {"changed", r->changed},
        {"liable_changed", r->liable_changed},
        {"appeared", r->appeared},
        {"disappeared", r->disappeared},
    };
    fc_table *t = fc_table_new(2, names, numeric);
    char v[32];
    for (size_t i = 0; t != NULL && i < sizeof m / sizeof m[0]; i++) {
        snprintf(v, sizeof v, "%lld", (long long)m[i].v);
        const char *row[2] = {m[i].name, v};
        if (fc_table_add(t, row) != FC_OK) {
            fc_table_free(t);
            return NULL;
        }
    }
    return t;
}

static void headline(const fc_replay_report *r, FILE *f) {
    char a[32], b[32], c[32], d[32], e[32], g[32];
    fprintf(f,
            "%s of %s decisions change (%.1f%%) over %s closed orders: %s change liable party, "
            "%s new, %s gone.\n",
            grouped(r->changed, a, sizeof a), grouped(r->pairs, b, sizeof b),
            pct(r->changed, r->pairs), grouped(r->orders, c, sizeof c),
            grouped(r->liable_changed, d, sizeof d), grouped(r->appeared, e, sizeof e),
            grouped(r->disappeared, g, sizeof g));
}

static int print_report(const fc_replay_report *r, out_ctx *o) {
    int rc = FC_EXIT_OK;
    int people = o->fmt == FC_OUT_TABLE;
    if (o->fmt == FC_OUT_JSON && o->only == NULL) {
        fputs("{\n", o->f);
    }
    if (o->fmt == FC_OUT_TABLE && o->only == NULL) {
        headline(r, o->f); /* the summary, for people */
    } else {
        rc = emit(o, "summary", "Summary", summary_table(r));
    }
    if (rc == FC_EXIT_OK) {
        rc = emit(o, "rules", "Decisions by rule (the base's rule; the candidate's for new ones)",
                  rows_table("rule", r->by_rule, r->n_by_rule, people));
    }
    if (rc == FC_EXIT_OK) {
        rc = emit(o, "parties", "Decisions by liable party",
                  rows_table("liable", r->by_party, r->n_by_party, people));
    }
    if (rc == FC_EXIT_OK) {
        rc = emit(o, "capacity", "Decisions by rider capacity type",
                  rows_table("capacity", r->by_capacity, r->n_by_capacity, people));
    }
    if (rc == FC_EXIT_OK) {
        rc = emit(o, "money", "Money and points, base vs candidate", totals_table(r, people));
    }
    if (rc == FC_EXIT_OK) {
        rc = emit(o, "riders", "Riders most affected", riders_table(r, people));
    }
    if (o->fmt == FC_OUT_JSON && o->only == NULL) {
        fputs("}\n", o->f);
    }
    if (rc == FC_EXIT_OK && o->only != NULL && o->printed == 0) {
        fprintf(stderr, "fulcrum replay: --table: unknown table '%s' (see --help)\n", o->only);
        rc = FC_EXIT_USAGE;
    }
    return rc;
}

static void progress(void *ud, int64_t orders, int64_t read, int64_t total) {
    (void)ud;
    fprintf(stderr, "\rreplay: %lld orders, %3.0f%% of the log", (long long)orders,
            total > 0 ? 100.0 * (double)read / (double)total : 0.0);
}

int fc_cmd_replay(int argc, char **argv) {
    const char *db = NULL, *policy = NULL, *base_dir = NULL, *from = NULL, *to = NULL, *city = NULL,
               *only = NULL, *top = NULL;
    const fc_cli_optdef defs[] = {
        {"--db", &db}, {"--policy", &policy}, {"--base", &base_dir}, {"--from", &from},
        {"--to", &to}, {"--city", &city},     {"--top", &top},       {"--table", &only},
    };
    fc_out_format fmt;
    int parsed =
        fc_cli_parse_opts("replay", argc, argv, defs, sizeof defs / sizeof defs[0], usage, &fmt);
    if (parsed != FC_EXIT_OK) {
        return parsed < 0 ? FC_EXIT_OK : parsed;
    }
    if (policy == NULL) {
        fprintf(stderr, "fulcrum replay: --policy DIR|FILE is required (see --help)\n");
        return FC_EXIT_USAGE;
    }
    int64_t top_n = 10;
    if (top != NULL && (fc_parse_i64(fc_str_c(top), &top_n) != FC_OK || top_n < 0)) {
        fprintf(stderr, "fulcrum replay: --top wants a whole number, got '%s'\n", top);
        return FC_EXIT_USAGE;
    }
    if (base_dir == NULL) {
        base_dir = fc_policy_dir();
    }
    fc_err err;
    fc_err_clear(&err);
    fc_policy_pack *base = NULL, *cand = NULL;
    fc_store *s = NULL;
    fc_replay_report *r = NULL;
    int rc = FC_EXIT_OK;
    if (fc_policy_pack_load(base_dir, &base, &err) != FC_OK) {
        rc = fc_cli_fail("replay", &err);
        goto out;
    }
    int loaded = is_dir(policy) ? fc_policy_pack_load(policy, &cand, &err)
                                : load_swapped(base_dir, base, policy, &cand, &err);
    if (loaded != FC_OK) {
        rc = fc_cli_fail("replay", &err);
        goto out;
    }
    if (fc_store_open(fc_cli_db_path(db), &s, &err) != FC_OK) {
        rc = fc_cli_fail("replay", &err);
        goto out;
    }
    fc_replay_opts o;
    memset(&o, 0, sizeof o);
    o.base = base;
    o.candidate = cand;
    o.city = city;
    o.top_riders = top_n > 0 ? (size_t)top_n : 10;
    rc = fc_cli_period("replay", s, city, from, to, &o.from, &o.to);
    if (rc != FC_EXIT_OK) {
        goto out;
    }
    int tty = fc_cli_stderr_tty();
    o.progress = tty ? progress : NULL;
    int got = fc_replay(s, &o, &r, &err);
    if (tty) {
        fputs("\r\033[K", stderr);
    }
    if (got != FC_OK) {
        rc = fc_cli_fail("replay", &err);
        goto out;
    }
    out_ctx oc = {fmt, only, 0, stdout};
    rc = print_report(r, &oc);
out:
    fc_replay_report_free(r);
    fc_store_close(s);
    fc_policy_pack_free(cand);
    fc_policy_pack_free(base);
    return rc;
}
