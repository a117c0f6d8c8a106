/*
 * fulcrum appeal: riders and merchants appeal decisions with new evidence;
 * reviewers work the queue (docs/appeals.md).
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "appeal/appeal.h"
#include "cli/cli.h"
#include "scan/scan.h"

#define MAX_ITEMS 64

static void usage(FILE *f) {
    fprintf(f,
            "usage: fulcrum appeal file DECISION_ID --as rider:R1|merchant:M1 --statement TEXT\n"
            "                           [--call ISO_TIME,OUTCOME[,SECONDS]]... "
            "[--gps ISO_TIME,LAT,LNG]...\n"
            "                           [--photo ID]... [--evidence FILE.json]\n"
            "       fulcrum appeal list [--state pending|decided|moot|all] [--kind appeal|review]\n"
            "                           [--city C] [--rider R] [--merchant M] [--breached]\n"
            "                           [--limit N] [--format table|csv|json]\n"
            "       fulcrum appeal show ID --as REVIEWER\n"
            "       fulcrum appeal decide ID --uphold|--overturn|--partial PERCENT --reason TEXT\n"
            "                           --as REVIEWER\n"
            "       fulcrum appeal sla [--from ISO_TIME] [--to ISO_TIME] [--format F]\n"
            "       fulcrum appeal queue-reviews\n\n"
            "Appeals of responsibility decisions and the reviewers' queue.\n\n"
            "  file           appeal a decision with new evidence; auto-review re-judges it\n"
            "                 and overturns it when the evidence clears the appellant\n"
            "  list           the queue: pending items by deadline, with the time left\n"
            "  show           one item on one screen (the view is recorded)\n"
            "  decide         a reviewer's verdict; money and points follow in the ledger\n"
            "  sla            deadlines met and missed, per city and kind of appellant\n"
            "  queue-reviews  put decisions that need a person into the queue\n\n"
            "options:\n"
            "  --db PATH        the store (else $FULCRUM_DB, else ./fulcrum.db)\n"
            "  --policies DIR   the policy pack (default: the built-in pack)\n"
            "  -h, --help       this help\n");
}

/* Options every subcommand may take. */
typedef struct common {
    const char *db;
    const char *policies;
    int64_t now;
    fc_out_format fmt;
} common;

typedef struct args {
    common c;
    const char *positional;
    const char *as;
    const char *statement;
    const char *reason;
    const char *evidence;
    const char *state, *kind, *city, *rider, *merchant;
    int breached;
    long limit;
    int verdict; /* -1 none */
    long keep_percent;
    int64_t from, to;
    fc_appeal_item items[MAX_ITEMS];
    size_t n_items;
} args;

static int bad(const char *sub, const char *fmt, const char *what) {
    fprintf(stderr, "fulcrum appeal %s: ", sub);
    fprintf(stderr, fmt, what);
    fputc('\n', stderr);
    return FC_EXIT_USAGE;
}

static int parse_time(const char *sub, const char *opt, const char *v, int64_t *out) {
    fc_err err;
    if (fc_time_parse_iso(fc_str_c(v), NULL, out, &err) != FC_OK) {
        fprintf(stderr, "fulcrum appeal %s: %s: '%s' is not an ISO 8601 time\n", sub, opt, v);
        return FC_EXIT_USAGE;
    }
    return FC_EXIT_OK;
}

/* Split s at commas into at most max parts (s is modified). */
static int split(char *s, char **parts, int max) {
    int n = 0;
    parts[n++] = s;
    for (char *p = s; *p != '\0'; p++) {
        if (*p == ',') {
            if (n == max) {
                return -1;
            }
            *p = '\0';
            parts[n++] = p + 1;
        }
    }
    return n;
}

static int parse_deg(const char *s, int32_t *out_e6) {
    double v = 0;
    if (fc_parse_f64(fc_str_c(s), &v) != FC_OK || v < -180.0 || v > 180.0) {
        return -1;
    }
    *out_e6 = (int32_t)lround(v * 1e6);
    return 0;
}

static fc_appeal_item *new_item(args *a, const char *sub, fc_appeal_item_kind kind) {
    if (a->n_items >= MAX_ITEMS) {
        bad(sub, "at most %s evidence items", "64");
        return NULL;
    }
    fc_appeal_item *it = &a->items[a->n_items++];
    memset(it, 0, sizeof *it);
    it->kind = kind;
    it->ts = FC_TS_NONE;
    it->lat_e6 = it->lng_e6 = FC_GEO_NONE;
    it->duration_s = FC_INT_NONE;
    return it;
}

/* --call ISO_TIME,OUTCOME[,SECONDS] */
static int add_call(args *a, char *v) {
    char *p[3];
    int n = split(v, p, 3);
    fc_appeal_item *it = n >= 2 ? new_item(a, "file", FC_APPEAL_ITEM_CALL) : NULL;
    if (n < 2) {
        return bad("file", "--call: '%s' is not ISO_TIME,OUTCOME[,SECONDS]", v);
    }
    if (it == NULL || parse_time("file", "--call", p[0], &it->ts) != FC_EXIT_OK) {
        return FC_EXIT_USAGE;
    }
    it->outcome = p[1];
    if (n == 3) {
        int64_t secs = 0;
        if (fc_parse_i64(fc_str_c(p[2]), &secs) != FC_OK || secs < 0 || secs > 4 * 3600) {
            return bad("file", "--call: '%s' is not a number of seconds (0..14400)", p[2]);
        }
        it->duration_s = (int32_t)secs;
    }
    return FC_EXIT_OK;
}

/* --gps ISO_TIME,LAT,LNG */
static int add_gps(args *a, char *v) {
    char *p[3];
    if (split(v, p, 3) != 3) {
        return bad("file", "--gps: '%s' is not ISO_TIME,LAT,LNG", v);
    }
    fc_appeal_item *it = new_item(a, "file", FC_APPEAL_ITEM_GPS);
    if (it == NULL || parse_time("file", "--gps", p[0], &it->ts) != FC_EXIT_OK) {
        return FC_EXIT_USAGE;
    }
    if (parse_deg(p[1], &it->lat_e6) != 0 || parse_deg(p[2], &it->lng_e6) != 0) {
        return bad("file", "--gps: '%s' is not a latitude and longitude in degrees", p[1]);
    }
    return FC_EXIT_OK;
}

/* --evidence FILE.json: {"statement": ..., "items": [{"kind": "call", "ts":
 * ISO, "outcome": ..., "duration_s": N}, {"kind": "gps", "ts": ISO, "lat":
 * deg, "lng": deg}, {"kind": "photo", "id": ..., "ts": ISO}, {"kind":
 * "text", "text": ...}]}. The strings stay owned by *doc. */
static int load_evidence(args *a, json_t **doc) {
    json_error_t je;
    *doc = json_load_file(a->evidence, 0, &je);
    if (*doc == NULL || !json_is_object(*doc)) {
        fprintf(stderr, "fulcrum appeal file: %s:%d:%d: %s\n", a->evidence, je.line, je.column,
                *doc == NULL ? je.text : "not a JSON object");
        return FC_EXIT_REJECTED;
    }
    const char *st = json_string_value(json_object_get(*doc, "statement"));
    if (st != NULL && a->statement == NULL) {
        a->statement = st;
    }
    const json_t *items = json_object_get(*doc, "items");
    for (size_t i = 0; i < json_array_size(items); i++) {
        const json_t *x = json_array_get(items, i);
        const char *kind = json_string_value(json_object_get(x, "kind"));
        const char *ts = json_string_value(json_object_get(x, "ts"));
        int k = fc_appeal_item_kind_from(kind);
        if (k < 0) {
            fprintf(stderr, "fulcrum appeal file: %s: item %zu: kind is text, gps, photo or call\n",
                    a->evidence, i + 1);
            return FC_EXIT_REJECTED;
        }
        fc_appeal_item *it = new_item(a, "file", (fc_appeal_item_kind)k);
        if (it == NULL) {
            return FC_EXIT_USAGE;
        }
        if (ts != NULL && parse_time("file", a->evidence, ts, &it->ts) != FC_EXIT_OK) {
            return FC_EXIT_REJECTED;
        }
        it->text = json_string_value(json_object_get(x, k == FC_APPEAL_ITEM_PHOTO  ? "id"
                                                        : k == FC_APPEAL_ITEM_CALL ? "note"
                                                                                   : "text"));
        it->outcome = json_string_value(json_object_get(x, "outcome"));
        const json_t *dur = json_object_get(x, "duration_s");
        if (json_is_integer(dur)) {
            it->duration_s = (int32_t)json_integer_value(dur);
        }
        const json_t *lat = json_object_get(x, "lat"), *lng = json_object_get(x, "lng");
        if (json_is_number(lat) && json_is_number(lng)) {
            it->lat_e6 = (int32_t)lround(json_number_value(lat) * 1e6);
            it->lng_e6 = (int32_t)lround(json_number_value(lng) * 1e6);
        }
    }
    return FC_EXIT_OK;
}

static int parse_args(const char *sub, int argc, char **argv, args *a) {
    memset(a, 0, sizeof *a);
    a->c.now = (int64_t)time(NULL);
    a->c.fmt = FC_OUT_TABLE;
    a->verdict = -1;
    a->from = a->to = FC_TS_NONE;
    for (int i = 0; i < argc; i++) {
        const char *o = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = 1;
        int rc = FC_EXIT_OK;
        if (strcmp(o, "--breached") == 0) {
            a->breached = 1;
            takes = 0;
        } else if (strcmp(o, "--uphold") == 0 || strcmp(o, "--overturn") == 0) {
            a->verdict = o[2] == 'u' ? FC_VERDICT_UPHOLD : FC_VERDICT_OVERTURN;
            takes = 0;
        } else if (o[0] != '-' || o[1] == '\0') {
            if (a->positional != NULL) {
                return bad(sub, "unexpected argument '%s'", o);
            }
            a->positional = o;
            takes = 0;
        } else if (v == NULL) {
            return bad(sub, "%s needs a value", o);
        } else if (strcmp(o, "--db") == 0) {
            a->c.db = v;
        } else if (strcmp(o, "--policies") == 0) {
            a->c.policies = v;
        } else if (strcmp(o, "--now") == 0) {
            rc = parse_time(sub, o, v, &a->c.now);
        } else if (strcmp(o, "--from") == 0) {
            rc = parse_time(sub, o, v, &a->from);
        } else if (strcmp(o, "--to") == 0) {
            rc = parse_time(sub, o, v, &a->to);
        } else if (strcmp(o, "--format") == 0) {
            int f = fc_out_format_from(v);
            if (f < 0) {
                return bad(sub, "--format: '%s' is not table, csv or json", v);
            }
            a->c.fmt = (fc_out_format)f;
        } else if (strcmp(o, "--as") == 0) {
            a->as = v;
        } else if (strcmp(o, "--statement") == 0) {
            a->statement = v;
        } else if (strcmp(o, "--reason") == 0) {
            a->reason = v;
        } else if (strcmp(o, "--evidence") == 0) {
            a->evidence = v;
        } else if (strcmp(o, "--call") == 0) {
            rc = add_call(a, argv[i + 1]);
        } else if (strcmp(o, "--gps") == 0) {
            rc = add_gps(a, argv[i + 1]);
        } else if (strcmp(o, "--photo") == 0) {
            fc_appeal_item *it = new_item(a, sub, FC_APPEAL_ITEM_PHOTO);
            if (it == NULL) {
                return FC_EXIT_USAGE;
            }
            it->text = v;
        } else if (strcmp(o, "--partial") == 0) {
            int64_t pct = 0;
            if (fc_parse_i64(fc_str_c(v), &pct) != FC_OK || pct < 1 || pct > 99) {
                return bad(sub, "--partial: '%s' is not a percentage kept, 1 to 99", v);
            }
            a->verdict = FC_VERDICT_PARTIAL;
            a->keep_percent = (long)pct;
        } else if (strcmp(o, "--state") == 0) {
            a->state = v;
        } else if (strcmp(o, "--kind") == 0) {
            a->kind = v;
        } else if (strcmp(o, "--city") == 0) {
            a->city = v;
        } else if (strcmp(o, "--rider") == 0) {
            a->rider = v;
        } else if (strcmp(o, "--merchant") == 0) {
            a->merchant = v;
        } else if (strcmp(o, "--limit") == 0) {
            int64_t n = 0;
            if (fc_parse_i64(fc_str_c(v), &n) != FC_OK || n < 0) {
                return bad(sub, "--limit: '%s' is not a count", v);
            }
            a->limit = (long)n;
        } else {
            return bad(sub, "unknown option '%s'", o);
        }
        if (rc != FC_EXIT_OK) {
            return rc;
        }
        i += takes;
    }
    return FC_EXIT_OK;
}

static void fmt_time(int64_t t, char *buf, size_t cap) {
    if (t == FC_TS_NONE) {
        snprintf(buf, cap, "-");
        return;
    }
    fc_time_format_utc(t, buf, cap);
}

/* "5h 07m", "2d 3h" */
static void fmt_span(int64_t s, char *buf, size_t cap) {
    if (s < 0) {
        s = -s;
    }
    if (s >= 2 * 86400) {
        snprintf(buf, cap, "%lldd %lldh", (long long)(s / 86400), (long long)(s % 86400 / 3600));
    } else {
        snprintf(buf, cap, "%lldh %02lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
    }
}

/* The deadline column: time left, overdue, or how it was met. */
static void fmt_left(const fc_appeal *a, int64_t now, char *buf, size_t cap) {
    char span[32];
    if (a->state == FC_APPEAL_MOOT) {
        snprintf(buf, cap, "left the queue");
    } else if (a->state == FC_APPEAL_PENDING) {
        fmt_span(a->due_at - now, span, sizeof span);
        snprintf(buf, cap, "%s%s", now > a->due_at ? "overdue " : "", span);
    } else {
        snprintf(buf, cap, "%s", a->breached ? "decided late" : "decided in time");
    }
}

static const char *who(const fc_appeal *a, char *buf, size_t cap) {
    if (a->kind == FC_APPEAL_KIND_REVIEW) {
        return "review";
    }
    snprintf(buf, cap, "%s:%s", fc_party_name(a->appellant), a->appellant_id);
    return buf;
}

static int open_store(const args *a, fc_store **s) {
    fc_err err;
    int rc = fc_store_open(fc_cli_db_path(a->c.db), s, &err);
    return rc == FC_OK ? FC_EXIT_OK : fc_cli_fail("appeal", &err);
}

static int load_pack(const args *a, fc_policy_pack **pk) {
    fc_err err;
    const char *dir = a->c.policies != NULL ? a->c.policies : fc_policy_dir();
    int rc = fc_policy_pack_load(dir, pk, &err);
    return rc == FC_OK ? FC_EXIT_OK : fc_cli_fail("appeal", &err);
}

/* The auto-review's reason, from the item's history (valid while arena). */
static const char *auto_review_reason(const fc_appeal_case *c, char *buf, size_t cap) {
    buf[0] = '\0';
    for (size_t i = 0; i < c->n_history; i++) {
        const fc_case_entry *e = &c->history[i];
        if (e->type != FC_CASE_APPEAL_REVIEWED || !fc_str_eqc(e->appeal, c->appeal.id)) {
            continue;
        }
        json_error_t je;
        json_t *o = json_loadb(e->body.p, e->body.n, 0, &je);
        const char *r = json_string_value(json_object_get(o, "reason"));
        snprintf(buf, cap, "%s", r != NULL ? r : "");
        json_decref(o);
    }
    return buf;
}

static void print_summary(const fc_appeal_case *c, int64_t now) {
    const fc_appeal *a = &c->appeal;
    char due[32], left[48], w[96], reason[1024];
    fmt_time(a->due_at, due, sizeof due);
    fmt_left(a, now, left, sizeof left);
    printf("%s %s on %s\n", a->kind == FC_APPEAL_KIND_REVIEW ? "review" : "appeal", a->id,
           a->decision);
    printf("  order        %s (%s), %s: %s liable by %s\n", a->order, a->city,
           fc_incident_name(a->incident), fc_party_name(a->liable),
           a->rule_id[0] != '\0' ? a->rule_id : "(no rule)");
    printf("  filed by     %s, %zu evidence item(s)\n", who(a, w, sizeof w), a->n_items);
    printf("  state        %s", fc_appeal_state_name(a->state));
    if (a->state == FC_APPEAL_MOOT) {
        printf(": the decision is no longer in force, %s %s; nothing to decide",
               strncmp(a->replaced_by, "wdr-", 4) == 0 ? "withdrawn by" : "superseded by",
               a->replaced_by);
    } else if (a->state != FC_APPEAL_PENDING) {
        printf(" by %s", a->decided_by);
    }
    printf("\n");
    auto_review_reason(c, reason, sizeof reason);
    if (a->auto_reviewed) {
        printf("  auto-review  %s\n", reason[0] != '\0' ? reason : "ran");
    }
    if (a->sanction) {
        printf("  sanction     the decision carries a suspension: only a person decides\n");
    }
    printf("  deadline     %s (%s)\n", due, left);
}

static int cmd_file(args *a, fc_store *s) {
    int status = FC_EXIT_OK;
    json_t *doc = NULL;
    fc_policy_pack *pk = NULL;
    fc_arena *arena = NULL;
    if (a->evidence != NULL && (status = load_evidence(a, &doc)) != FC_EXIT_OK) {
        goto out;
    }
    if (a->positional == NULL) {
        status = bad("file", "%s", "name the decision appealed");
        goto out;
    }
    const char *colon = a->as != NULL ? strchr(a->as, ':') : NULL;
    fc_party party =
        colon != NULL ? fc_party_from(fc_str_make(a->as, (size_t)(colon - a->as))) : FC_PARTY_NONE;
    if (party != FC_PARTY_RIDER && party != FC_PARTY_MERCHANT) {
        status =
            bad("file", "--as: '%s' is not rider:ID or merchant:ID", a->as != NULL ? a->as : "");
        goto out;
    }
    if ((status = load_pack(a, &pk)) != 0) {
        goto out;
    }
    fc_appeal_filing f = {a->positional, party,
                          colon + 1,     a->statement != NULL ? a->statement : "",
                          a->items,      a->n_items};
    fc_appeal out;
    fc_err err;
    int rc = fc_appeal_file(s, pk, &f, a->c.now, colon + 1, &out, &err);
    if (rc != FC_OK) {
        status = fc_cli_fail("appeal file", &err);
        goto out;
    }
    arena = fc_arena_new(0);
    fc_appeal_case c;
    if (arena == NULL || (rc = fc_appeal_load(s, out.id, a->c.now, arena, &c, &err)) != FC_OK) {
        status = arena == NULL ? FC_EXIT_INTERNAL : fc_cli_fail("appeal file", &err);
        goto out;
    }
    print_summary(&c, a->c.now);
out:
    fc_arena_free(arena);
    fc_policy_pack_free(pk);
    json_decref(doc);
    return status;
}

static int cmd_list(args *a, fc_store *s) {
    int status = FC_EXIT_OK;
    fc_appeal_query q;
    fc_appeal_query_init(&q);
    int decided_only = 0;
    if (a->state == NULL || strcmp(a->state, "pending") == 0) {
        q.state = FC_APPEAL_PENDING;
    } else if (strcmp(a->state, "decided") == 0) {
        decided_only = 1;
    } else if (strcmp(a->state, "all") != 0) {
        q.state = fc_appeal_state_from(a->state);
        if (q.state < 0) {
            return bad("list", "--state: '%s' is not pending, decided, all or a verdict's state",
                       a->state);
        }
    }
    if (a->kind != NULL) {
        if (strcmp(a->kind, "appeal") != 0 && strcmp(a->kind, "review") != 0) {
            return bad("list", "--kind: '%s' is not appeal or review", a->kind);
        }
        q.kind = strcmp(a->kind, "review") == 0 ? FC_APPEAL_KIND_REVIEW : FC_APPEAL_KIND_APPEAL;
    }
    q.city = a->city;
    q.rider = a->rider;
    q.merchant = a->merchant;
    q.breached_only = a->breached;
    fc_appeal *items = NULL;
    size_t n = 0;
    fc_table *t = NULL;
    fc_err err;
    if (fc_appeal_list(s, &q, a->c.now, &items, &n, &err) != FC_OK) {
        status = fc_cli_fail("appeal list", &err);
        goto out;
    }
    static const char *const cols[] = {"id",   "kind",       "state",      "city",  "order",
                                       "who",  "incident",   "rule",       "filed", "due",
                                       "left", "decided_by", "replaced_by"};
    static const int numeric[13] = {0};
    t = fc_table_new(13, cols, numeric);
    if (t == NULL) {
        status = FC_EXIT_INTERNAL;
        goto out;
    }
    size_t shown = 0;
    for (size_t i = 0; i < n && (a->limit == 0 || shown < (size_t)a->limit); i++) {
        const fc_appeal *x = &items[i];
        if (decided_only && (x->state == FC_APPEAL_PENDING || x->state == FC_APPEAL_MOOT)) {
            continue;
        }
        char filed[32], due[32], left[48], w[96];
        fmt_time(x->filed_at, filed, sizeof filed);
        fmt_time(x->due_at, due, sizeof due);
        fmt_left(x, a->c.now, left, sizeof left);
        const char *row[13] = {x->id,
                               x->kind == FC_APPEAL_KIND_REVIEW ? "review" : "appeal",
                               fc_appeal_state_name(x->state),
                               x->city,
                               x->order,
                               who(x, w, sizeof w),
                               fc_incident_name(x->incident),
                               x->rule_id,
                               filed,
                               due,
                               left,
                               x->decided_by,
                               x->replaced_by};
        if (fc_table_add(t, row) != FC_OK) {
            status = FC_EXIT_INTERNAL;
            goto out;
        }
        shown++;
    }
    fc_table_print(t, a->c.fmt, stdout);
out:
    fc_table_free(t);
    fc_free(items);
    return status;
}

static void print_value(const fc_value *v) {
    if (v->absent) {
        printf("(unknown)");
    } else if (v->kind == FC_FACT_TEXT) {
        printf("%.*s", (int)v->text.n, v->text.p != NULL ? v->text.p : "");
    } else {
        printf("%g", v->num);
    }
}

/* The order's facts as the policy names them, folded from its stored
 * events (what the judge read), a few to a line. */
typedef struct facts_print {
    const fc_policy *p;
    int printed;
} facts_print;

static int print_facts_cb(void *ud, const fc_scan_order *o) {
    facts_print *fp = ud;
    size_t col = 0;
    printf("  facts        ");
    for (size_t i = 0; i < fc_fact_count(); i++) {
        const char *name = fc_fact_name(i);
        fc_value v;
        const char *unit = NULL;
        if (fc_policy_name_value(fp->p, name, strlen(name), o->input, &v, &unit) != FC_OK ||
            v.absent || (v.kind == FC_FACT_TEXT && v.text.n == 0)) {
            continue;
        }
        char cell[96];
        if (v.kind == FC_FACT_TEXT) {
            snprintf(cell, sizeof cell, "%s=%.*s", name, (int)v.text.n,
                     v.text.p != NULL ? v.text.p : "");
        } else {
            snprintf(cell, sizeof cell, "%s=%g", name, v.num);
        }
        if (col > 0 && col + strlen(cell) > 80) {
            printf("\n               ");
            col = 0;
        }
        printf("%s%s", col > 0 ? "  " : "", cell);
        col += strlen(cell) + 2;
    }
    printf("\n");
    fp->printed = 1;
    return 0;
}

static void print_order_facts(fc_store *s, const args *a, const fc_case_decision *cd) {
    fc_policy_pack *pk = NULL;
    fc_err err;
    const char *dir = a->c.policies != NULL ? a->c.policies : fc_policy_dir();
    if (fc_policy_pack_load(dir, &pk, &err) != FC_OK) {
        printf("  facts        (the policy pack did not load: %s)\n", err.msg);
        return;
    }
    facts_print fp = {fc_policy_pack_find(pk, cd->d.policy_id), 0};
    if (fp.p == NULL) {
        fp.p = fc_policy_for(pk, fc_str_c(cd->country), fc_str_c(cd->city));
    }
    fc_scan_opts so;
    fc_scan_opts_init(&so);
    so.policies = pk;
    if (fc_scan_order_one(s, &so, fc_str_c(cd->order), NULL, 0, print_facts_cb, &fp, &err) !=
            FC_OK ||
        !fp.printed) {
        printf("  facts        (the order's events are not in the store)\n");
    }
    fc_policy_pack_free(pk);
}

static int cmd_show(args *a, fc_store *s) {
    int status = FC_EXIT_OK;
    if (a->positional == NULL) {
        return bad("show", "%s", "name the appeal or review item");
    }
    if (a->as == NULL || a->as[0] == '\0') {
        return bad("show", "%s", "--as REVIEWER: who is looking (the view is recorded)");
    }
    fc_arena *arena = fc_arena_new(0);
    if (arena == NULL) {
        return FC_EXIT_INTERNAL;
    }
    fc_appeal_case c;
    fc_err err;
    if (fc_appeal_load(s, a->positional, a->c.now, arena, &c, &err) != FC_OK) {
        status = fc_cli_fail("appeal show", &err);
        goto out;
    }
    print_summary(&c, a->c.now);
    const fc_case_decision *cd = &c.decision;
    const fc_decision *d = &cd->d;
    char t1[32], t2[32];
    fmt_time(cd->created_at, t1, sizeof t1);
    fmt_time(cd->closed_at, t2, sizeof t2);
    printf("\ndecision %s\n", cd->id);
    printf("  policy       %s %s\n", d->policy_id, d->policy_version);
    printf("  order        %s, rider %s, merchant %s, created %s, closed %s\n", cd->order,
           cd->rider[0] != '\0' ? cd->rider : "-", cd->merchant[0] != '\0' ? cd->merchant : "-", t1,
           t2);
    print_order_facts(s, a, cd);
    printf("  liable       %s%s%s\n", fc_party_name(d->liable), d->review ? " (needs review)" : "",
           d->severe ? ", severe" : "");
    printf("  consequence  points %d, fine %lld, chargeback %lld, compensation %lld %s",
           (int)d->consequence.rider_points, (long long)d->consequence.rider_amount_minor,
           (long long)d->consequence.merchant_chargeback_minor,
           (long long)d->consequence.customer_compensation_minor, d->currency);
    if (d->consequence.suspend_days > 0) {
        printf(", suspension %d days", (int)d->consequence.suspend_days);
    }
    printf("\n  explanation  %s\n", cd->explanation[FC_LANG_EN]);
    if (cd->margin_text[FC_LANG_EN][0] != '\0') {
        printf("  margin       %s\n", cd->margin_text[FC_LANG_EN]);
    }
    printf("  evidence     (the facts the deciding rule read)\n");
    for (size_t i = 0; i < d->n_evidence && i < FC_EVIDENCE_MAX; i++) {
        const fc_evidence *e = &d->evidence[i];
        printf("    %-22s ", e->fact);
        print_value(&e->value);
        printf(" %s %s ", e->unit, e->op);
        print_value(&e->threshold);
        printf("  %s\n", e->held ? "held" : "did not hold");
    }
    printf("\nfiling\n  statement    %s\n", c.statement != NULL ? c.statement : "");
    for (size_t i = 0; i < c.n_items; i++) {
        const fc_appeal_item *it = &c.items[i];
        char ts[32];
        fmt_time(it->ts, ts, sizeof ts);
        printf("  %zu. %-5s %s", i + 1, fc_appeal_item_kind_name(it->kind), ts);
        if (it->kind == FC_APPEAL_ITEM_CALL) {
            printf(" %s", it->outcome != NULL ? it->outcome : "");
            if (it->duration_s != FC_INT_NONE) {
                printf(" %ds", (int)it->duration_s);
            }
        } else if (it->kind == FC_APPEAL_ITEM_GPS) {
            printf(" %.6f,%.6f", it->lat_e6 / 1e6, it->lng_e6 / 1e6);
        }
        if (it->text != NULL) {
            printf(" %s", it->text);
        }
        printf("\n");
    }
    printf("\nhistory\n");
    for (size_t i = 0; i < c.n_history; i++) {
        const fc_case_entry *e = &c.history[i];
        char ts[32];
        fmt_time(e->ts, ts, sizeof ts);
        printf("  %s %-15s %-12.*s %.*s\n", ts, fc_case_type_name(e->type), (int)e->actor.n,
               e->actor.p != NULL ? e->actor.p : "", (int)e->id.n, e->id.p);
    }
    if (fc_appeal_viewed(s, &c, a->as, a->c.now, &err) != FC_OK) {
        status = fc_cli_fail("appeal show", &err);
    }
out:
    fc_arena_free(arena);
    return status;
}

static int cmd_decide(args *a, fc_store *s) {
    int status = FC_EXIT_OK;
    if (a->positional == NULL) {
        return bad("decide", "%s", "name the appeal or review item");
    }
    if (a->verdict < 0) {
        return bad("decide", "%s", "give a verdict: --uphold, --overturn or --partial PERCENT");
    }
    if (a->reason == NULL || a->reason[0] == '\0') {
        return bad("decide", "%s", "--reason TEXT: why (the appellant reads it)");
    }
    if (a->as == NULL || a->as[0] == '\0') {
        return bad("decide", "%s", "--as REVIEWER: who decides");
    }
    fc_appeal cur, out;
    fc_err err;
    int rc = fc_appeal_get(s, a->positional, a->c.now, &cur, &err);
    if (rc == FC_OK) {
        fc_appeal_verdict v = {(fc_verdict)a->verdict, a->reason, a->as, (int)a->keep_percent};
        rc = fc_appeal_decide(s, a->positional, &v, cur.last_seq, a->c.now, &out, &err);
    }
    if (rc != FC_OK) {
        status = fc_cli_fail("appeal decide", &err);
    } else {
        char due[32];
        fmt_time(out.due_at, due, sizeof due);
        printf("%s %s by %s%s (deadline %s)\n", out.id, fc_appeal_state_name(out.state),
               out.decided_by, out.breached ? ", after the deadline" : "", due);
        if (out.state == FC_APPEAL_PARTIAL) {
            printf("kept %d%% of the penalty\n", out.keep_percent);
        }
    }
    return status;
}

static int cmd_sla(args *a, fc_store *s) {
    int status = FC_EXIT_OK;
    fc_appeal_sla_row *rows = NULL;
    size_t n = 0;
    fc_table *t = NULL;
    fc_err err;
    if (fc_appeal_sla(s, a->from, a->to, a->c.now, &rows, &n, &err) != FC_OK) {
        status = fc_cli_fail("appeal sla", &err);
        goto out;
    }
    static const char *const cols[] = {"city",
                                       "who",
                                       "filed",
                                       "decided",
                                       "pending",
                                       "auto_overturned",
                                       "breached_decided",
                                       "breached_pending",
                                       "median_decide_h",
                                       "worst_overdue_h",
                                       "moot"};
    static const int numeric[] = {0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    t = fc_table_new(11, cols, numeric);
    if (t == NULL) {
        status = FC_EXIT_INTERNAL;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const fc_appeal_sla_row *r = &rows[i];
        char c[7][24], med[24], worst[24];
        const int64_t v[7] = {r->filed,
                              r->decided,
                              r->pending,
                              r->auto_overturned,
                              r->breached_decided,
                              r->breached_pending,
                              r->moot};
        for (int k = 0; k < 7; k++) {
            snprintf(c[k], sizeof c[k], "%lld", (long long)v[k]);
        }
        if (isnan(r->median_decide_h)) {
            med[0] = '\0';
        } else {
            snprintf(med, sizeof med, "%.1f", r->median_decide_h);
        }
        snprintf(worst, sizeof worst, "%.1f", (double)r->worst_overdue_s / 3600.0);
        const char *row[11] = {r->city, r->who, c[0], c[1],  c[2], c[3],
                               c[4],    c[5],   med,  worst, c[6]};
        if (fc_table_add(t, row) != FC_OK) {
            status = FC_EXIT_INTERNAL;
            goto out;
        }
    }
    fc_table_print(t, a->c.fmt, stdout);
out:
    fc_table_free(t);
    fc_free(rows);
    return status;
}

static int cmd_queue_reviews(args *a, fc_store *s) {
    int status = FC_EXIT_OK;
    fc_policy_pack *pk = NULL;
    if ((status = load_pack(a, &pk)) != 0) {
        goto out;
    }
    size_t added = 0;
    fc_err err;
    if (fc_appeal_queue_reviews(s, pk, a->c.now, &added, &err) != FC_OK) {
        status = fc_cli_fail("appeal queue-reviews", &err);
        goto out;
    }
    printf("%zu decision(s) needing review added to the queue\n", added);
out:
    fc_policy_pack_free(pk);
    return status;
}

int fc_cmd_appeal(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? FC_EXIT_USAGE : FC_EXIT_OK;
    }
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return FC_EXIT_OK;
        }
    }
    static const struct {
        const char *name;
        int (*run)(args *a, fc_store *s);
    } subs[] = {{"file", cmd_file},     {"list", cmd_list}, {"show", cmd_show},
                {"decide", cmd_decide}, {"sla", cmd_sla},   {"queue-reviews", cmd_queue_reviews}};
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        if (strcmp(argv[1], subs[i].name) == 0) {
            static args a; /* room for 64 evidence items: off the stack */
            fc_store *s = NULL;
            int status = parse_args(argv[1], argc - 2, argv + 2, &a);
            if (status == FC_EXIT_OK && (status = open_store(&a, &s)) == FC_EXIT_OK) {
                status = subs[i].run(&a, s);
            }
            fc_store_close(s);
            return status;
        }
    }
    fprintf(stderr, "fulcrum appeal: unknown subcommand '%s'\n\n", argv[1]);
    usage(stderr);
    return FC_EXIT_USAGE;
}
