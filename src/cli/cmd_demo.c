/*
 * fulcrum demo: the main job on the embedded default. Generate the demo
 * world, ingest it into a SQLite store, print the KPI overview per city,
 * judge every closed order with the default policy pack and print the
 * decisions per city and party, then the problems injected into the world
 * with the commands that find them and how the judge decided their orders.
 * Unless --no-serve: put the pending work in the appeals queue (the
 * decisions needing review, and a few rider appeals), make the demo's API
 * tokens and serve the API and the console on 127.0.0.1 until Ctrl-C.
 */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "adjudicate/adjudicate.h"
#include "appeal/appeal.h"
#include "auth/auth.h"
#include "cli/cli.h"
#include "gen/gen.h"
#include "http/http.h"
#include "ingest/ingest.h"
#include "scan/scan.h"
#include "store/store.h"

static void usage(FILE *f) {
    fprintf(f, "usage: fulcrum demo [--out DIR] [--db PATH] [--seed S] [--days D] [--scale X]\n"
               "                    [--start YYYY-MM-DD] [--listen ADDR:PORT] [--no-serve]\n\n"
               "Generate the demo world (six cities, a week by default, with injected problems),\n"
               "ingest it into a SQLite store, print the KPI overview per city, judge every\n"
               "closed order with the default policy pack (decisions per city and party) and\n"
               "show how the judge decided each injected problem's orders. Then put the\n"
               "decisions needing review and a few rider appeals in the appeals queue, create\n"
               "the demo's API tokens (admin, a reviewer of one country, a rider; printed once:\n"
               "a new run revokes them and prints new ones) and serve the API and the console\n"
               "until Ctrl-C, printing the address to open.\n"
               "Running it again with the same options finds every file already ingested.\n\n"
               "  --out DIR     folder for the world's files (default: demo)\n"
               "  --db PATH     the store (default: DIR/fulcrum.db)\n"
               "  --seed S      seed of the world (default: 1)\n"
               "  --days D      number of days (default: 7)\n"
               "  --scale X     small, medium, default, large or a number (default: default)\n"
               "  --start DATE  first local day (default: 2026-03-02)\n"
               "  --listen ADDR:PORT  where to serve (default 127.0.0.1:8080; when that port\n"
               "                is taken, a free one is picked and printed)\n"
               "  --no-serve    stop after the overview: no queue, no tokens, no server\n"
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

/* ---------------------------------------------------------------------------
 * Serving the demo: pending work in the appeals queue, the demo's tokens,
 * the server.
 */

/* Rider appeals the demo files, each of a kind of decision. */
enum { PICK_FEW_CALLS, PICK_LEFT_SOON, PICK_LATE, PICK_FAR, N_PICK };
#define PICK_MAX 2 /* decisions per kind, from different cities */

static const struct {
    const char *rule_prefix; /* the deciding rule's id starts with it */
    const char *statement;
} pick_kinds[N_PICK] = {
    {"undeliverable.too_few_attempts",
     "I called the customer twice from the door and nobody answered. The app did not log my "
     "calls; my phone's call log is attached."},
    {"undeliverable.left_too_soon",
     "The building's guard would not let me wait in the lobby, so I called from the gate "
     "and left when the next order was waiting."},
    {"late.rider_slow",
     "The road to the customer was closed after an accident and the map sent me the long "
     "way round. A photo of the closure is attached."},
    {"far_delivery.no_arrival",
     "I was at the customer's door: the app froze in the lift and only marked the delivery "
     "once I was back on the street. My phone's location at the door is attached."},
};

typedef struct picks {
    fc_case_decision d[N_PICK][PICK_MAX];
    size_t n[N_PICK];
} picks;

static int pick_add(void *ud, const fc_case_decision *d) {
    picks *pk = ud;
    if (d->d.liable != FC_PARTY_RIDER || d->rider[0] == '\0' || d->supersedes[0] != '\0') {
        return FC_OK;
    }
    for (size_t k = 0; k < N_PICK; k++) {
        const char *pre = pick_kinds[k].rule_prefix;
        if (strncmp(d->d.rule_id, pre, strlen(pre)) != 0 || pk->n[k] == PICK_MAX) {
            continue;
        }
        for (size_t i = 0; i < pk->n[k]; i++) {
            if (strcmp(pk->d[k][i].city, d->city) == 0) {
                return FC_OK; /* one per city */
            }
        }
        pk->d[k][pk->n[k]++] = *d;
    }
    return FC_OK;
}

/* The door of the order being visited (its creation event's customer
 * point). */
typedef struct door {
    int32_t lat_e6, lng_e6;
} door;

static int door_of(void *ud, const fc_scan_order *o) {
    door *dr = ud;
    for (size_t i = 0; i < o->n_events; i++) {
        if (o->events[i].type == FC_EV_ORDER_CREATED) {
            dr->lat_e6 = o->events[i].customer_lat_e6;
            dr->lng_e6 = o->events[i].customer_lng_e6;
        }
    }
    return FC_OK;
}

/* File the demo's rider appeal of kind k on decision d. */
static int file_pick(fc_store *s, const fc_policy_pack *pack, size_t k, const fc_case_decision *d,
                     int64_t now, fc_appeal *out, fc_err *err) {
    char photo[96];
    snprintf(photo, sizeof photo, "IMG-%.60s-1", d->order);
    fc_appeal_item items[2];
    memset(items, 0, sizeof items);
    size_t n = 0;
    if (k == PICK_FEW_CALLS || k == PICK_LEFT_SOON) {
        /* Unanswered calls before the order was closed. */
        for (int i = 0; i < (k == PICK_FEW_CALLS ? 2 : 1); i++, n++) {
            items[n].kind = FC_APPEAL_ITEM_CALL;
            items[n].ts = d->closed_at - 60 * (4 - 2 * i);
            items[n].outcome = "no_answer";
            items[n].duration_s = 30;
            items[n].lat_e6 = items[n].lng_e6 = FC_GEO_NONE;
        }
    } else if (k == PICK_FAR) {
        /* The rider's phone at the door two minutes before the far mark. */
        door dr = {FC_GEO_NONE, FC_GEO_NONE};
        fc_scan_opts so;
        fc_scan_opts_init(&so);
        int rc = fc_scan_order_one(s, &so, fc_str_c(d->order), NULL, 0, door_of, &dr, err);
        if (rc != FC_OK) {
            return rc;
        }
        items[n].kind = FC_APPEAL_ITEM_GPS;
        items[n].ts = d->closed_at - 120;
        items[n].lat_e6 = dr.lat_e6;
        items[n].lng_e6 = dr.lng_e6;
        items[n++].duration_s = FC_INT_NONE;
    } else {
        items[n].kind = FC_APPEAL_ITEM_PHOTO;
        items[n].text = photo;
        items[n].ts = d->closed_at;
        items[n].lat_e6 = items[n].lng_e6 = FC_GEO_NONE;
        items[n++].duration_s = FC_INT_NONE;
    }
    fc_appeal_filing f;
    memset(&f, 0, sizeof f);
    f.decision = d->id;
    f.appellant = FC_PARTY_RIDER;
    f.appellant_id = d->rider;
    f.statement = pick_kinds[k].statement;
    f.items = items;
    f.n_items = n;
    return fc_appeal_file(s, pack, &f, now, d->rider, out, err);
}

/* What the queue holds for the printout, and who the scoped tokens are. */
typedef struct queue_sum {
    size_t reviews_added;
    size_t filed, overturned, pending;
    char cities[256];
    char country[4]; /* of a pending appeal: the reviewer's scope */
    char rider[64];  /* its rider: the rider token's */
    char appeal[FC_CASE_ID_MAX];
} queue_sum;

/* Queue the decisions needing review and file the demo's rider appeals
 * (idempotent: a second run finds them filed). */
static int fill_queue(const char *db, queue_sum *q) {
    memset(q, 0, sizeof *q);
    fc_policy_pack *pack = NULL;
    fc_store *s = NULL;
    picks *pk = fc_calloc(1, sizeof *pk);
    fc_err err;
    fc_err_clear(&err);
    int64_t now = (int64_t)time(NULL);
    int status = FC_EXIT_OK;
    if (pk == NULL) {
        status = FC_EXIT_INTERNAL;
        goto out;
    }
    if (fc_policy_pack_load(fc_policy_dir(), &pack, &err) != FC_OK ||
        fc_store_open(db, &s, &err) != FC_OK ||
        fc_appeal_queue_reviews(s, pack, now, &q->reviews_added, &err) != FC_OK) {
        status = fc_cli_fail("demo", &err);
        goto out;
    }
    fc_adj_opts o;
    fc_adj_opts_init(&o);
    if (fc_adj_decisions(s, &o, pick_add, pk, &err) != FC_OK) {
        status = fc_cli_fail("demo", &err);
        goto out;
    }
    for (size_t k = 0; k < N_PICK; k++) {
        for (size_t i = 0; i < pk->n[k]; i++) {
            const fc_case_decision *d = &pk->d[k][i];
            fc_appeal a;
            if (file_pick(s, pack, k, d, now, &a, &err) != FC_OK) {
                fprintf(stderr, "fulcrum demo: appeal of %s not filed: %s\n", d->id, err.msg);
                continue;
            }
            q->filed++;
            q->overturned += a.state == FC_APPEAL_OVERTURNED;
            if (a.state == FC_APPEAL_PENDING) {
                q->pending++;
                if (q->rider[0] == '\0') {
                    snprintf(q->country, sizeof q->country, "%s", d->country);
                    snprintf(q->rider, sizeof q->rider, "%s", d->rider);
                    snprintf(q->appeal, sizeof q->appeal, "%s", a.id);
                }
            }
            if (strstr(q->cities, d->city) == NULL) {
                size_t len = strlen(q->cities);
                snprintf(q->cities + len, sizeof q->cities - len, "%s%s", len > 0 ? ", " : "",
                         d->city);
            }
        }
    }
out:
    fc_free(pk);
    fc_store_close(s);
    fc_policy_pack_free(pack);
    return status;
}

/* Create the demo's token `base` (role, scope) into text, its name into
 * name: every active token named base or base-N is revoked first (a token's
 * text is shown only once, so a new run makes new ones), and the new one
 * takes the first name not used yet. */
static int demo_token(fc_store *s, const char *base, fc_role role, const char *scope,
                      char text[FC_AUTH_TOKEN_LEN + 1], char name[FC_AUTH_NAME_MAX], fc_err *err) {
    fc_token *rows = NULL;
    size_t n = 0;
    int64_t now = (int64_t)time(NULL);
    int rc = fc_store_token_list(s, &rows, &n, err);
    int64_t next = 1; /* 1: base itself is free */
    size_t blen = strlen(base);
    for (size_t i = 0; rc == FC_OK && i < n; i++) {
        const char *nm = rows[i].name;
        int64_t num = 1;
        if (strcmp(nm, base) != 0 &&
            (strncmp(nm, base, blen) != 0 || nm[blen] != '-' ||
             fc_parse_i64(fc_str_c(nm + blen + 1), &num) != FC_OK || num < 2 || num > 99999)) {
            continue;
        }
        next = num + 1 > next ? num + 1 : next;
        if (rows[i].revoked_at == 0) {
            rc = fc_store_token_revoke(s, nm, now, err);
        }
    }
    fc_free(rows);
    if (rc != FC_OK) {
        return rc;
    }
    if (next <= 1) {
        snprintf(name, FC_AUTH_NAME_MAX, "%s", base);
    } else {
        snprintf(name, FC_AUTH_NAME_MAX, "%s-%" PRId64, base, next);
    }
    uint8_t hash[FC_AUTH_HASH_BYTES];
    if (fc_auth_token_new(text, hash) != FC_OK) {
        return fc_err_set(err, FC_EINTERNAL, NULL, 0, 0, "the random source is not available");
    }
    fc_token t;
    memset(&t, 0, sizeof t);
    snprintf(t.name, sizeof t.name, "%s", name);
    snprintf(t.role, sizeof t.role, "%s", fc_role_name(role));
    snprintf(t.scope, sizeof t.scope, "%s", scope);
    t.created_at = now;
    return fc_store_token_create(s, &t, hash, NULL, err);
}

/* The demo's three tokens. */
typedef struct demo_tokens {
    char admin[FC_AUTH_TOKEN_LEN + 1], reviewer[FC_AUTH_TOKEN_LEN + 1],
        rider[FC_AUTH_TOKEN_LEN + 1];
    char admin_name[FC_AUTH_NAME_MAX], reviewer_name[FC_AUTH_NAME_MAX],
        rider_name[FC_AUTH_NAME_MAX];
    char reviewer_scope[32], rider_scope[80];
} demo_tokens;

static int make_tokens(const char *db, const queue_sum *q, demo_tokens *tk) {
    fc_store *s = NULL;
    fc_err err;
    fc_err_clear(&err);
    snprintf(tk->reviewer_scope, sizeof tk->reviewer_scope, "country:%s",
             q->country[0] != '\0' ? q->country : "SA");
    snprintf(tk->rider_scope, sizeof tk->rider_scope, "rider:%s", q->rider);
    int rc = fc_store_open(db, &s, &err);
    if (rc == FC_OK) {
        rc = demo_token(s, "demo-admin", FC_ROLE_ADMIN, "*", tk->admin, tk->admin_name, &err);
    }
    if (rc == FC_OK) {
        rc = demo_token(s, "demo-reviewer", FC_ROLE_REVIEWER, tk->reviewer_scope, tk->reviewer,
                        tk->reviewer_name, &err);
    }
    if (rc == FC_OK && q->rider[0] != '\0') {
        rc = demo_token(s, "demo-rider", FC_ROLE_RIDER, tk->rider_scope, tk->rider, tk->rider_name,
                        &err);
    }
    fc_store_close(s);
    return rc == FC_OK ? FC_EXIT_OK : fc_cli_fail("demo", &err);
}

/* The cities of the ground truth's rider shortage and dispatch outage:
 * where on-time drops. */
static void late_cities(const char *dir, char *shortage, char *zone, char *outage, size_t cap) {
    char path[1024];
    snprintf(path, sizeof path, "%s/ground_truth.json", dir);
    shortage[0] = zone[0] = outage[0] = '\0';
    json_t *root = json_load_file(path, 0, NULL);
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(root, "problems"), i, p) {
        const char *type = json_string_value(json_object_get(p, "type"));
        const char *city = json_string_value(json_object_get(p, "city"));
        const char *z = json_string_value(json_object_get(p, "zone"));
        if (type != NULL && city != NULL && strcmp(type, "rider_shortage") == 0) {
            snprintf(shortage, cap, "%s", city);
            snprintf(zone, cap, "%s", z != NULL ? z : "");
        } else if (type != NULL && city != NULL && strcmp(type, "dispatch_outage") == 0) {
            snprintf(outage, cap, "%s", city);
        }
    }
    json_decref(root);
}

/* Where the console's files probably are: $FULCRUM_CONSOLE, else
 * console/dist of the current folder (the server also looks in the source
 * tree it was built from). */
static void print_welcome(const char *url, const char *dir, const queue_sum *q,
                          const demo_tokens *tk) {
    char shortage[64], zone[64], outage[64];
    late_cities(dir, shortage, zone, outage, sizeof shortage);
    printf("\nAppeals queue: %zu decision(s) newly queued for review; %zu rider appeal(s) filed "
           "(%s): %zu overturned by auto-review, %zu waiting for a person.\n",
           q->reviews_added, q->filed, q->cities[0] != '\0' ? q->cities : "-", q->overturned,
           q->pending);
    printf("\n==========================================================================\n"
           "Fulcrum is serving the demo: open  %s\n"
           "and paste the admin token to log in. Ctrl-C stops the server.\n\n",
           url);
    printf("  admin token     (%s, everything):            %s\n", tk->admin_name, tk->admin);
    printf("  reviewer token  (%s, %s):          %s\n", tk->reviewer_name, tk->reviewer_scope,
           tk->reviewer);
    if (tk->rider[0] != '\0') {
        printf("  rider token     (%s, %s):  %s\n", tk->rider_name, tk->rider_scope, tk->rider);
    }
    printf("\nTokens are shown only now (the store keeps their hashes); running the demo again\n"
           "revokes them and prints new ones.\n\n");
    printf("What to click:\n"
           "  1. Overview: each city's on-time tile against the week before; %s%s%s %s low.\n"
           "     Click the city: the KPI explorer opens on it. Slice by zone and daypart%s%s%s\n"
           "     to see where it drops, then open its decisions and an order to read why.\n",
           shortage[0] != '\0' ? shortage : "the lowest",
           outage[0] != '\0' && strcmp(outage, shortage) != 0 ? " and " : "",
           outage[0] != '\0' && strcmp(outage, shortage) != 0 ? outage : "",
           outage[0] != '\0' && strcmp(outage, shortage) != 0 ? "are" : "is",
           zone[0] != '\0' ? " (" : "", zone, zone[0] != '\0' ? " at dinner)" : "");
    if (outage[0] != '\0' && strcmp(outage, shortage) != 0) {
        printf("     (%s: slice by date and hour for the evening dispatch outage.)\n", outage);
    }
    printf("  2. Appeals: the queue, soonest deadline first. Open a pending rider appeal%s%s%s,\n"
           "     read the statement and the evidence beside the decision, then Decide:\n"
           "     uphold, overturn or partial, with a reason.\n",
           q->appeal[0] != '\0' ? " (" : "", q->appeal, q->appeal[0] != '\0' ? ")" : "");
    printf("  The reviewer token sees the queue of %s only; the rider token, that rider's\n"
           "  decisions and appeals.\n",
           tk->reviewer_scope);
    if (access(fc_http_console_dir(), F_OK) != 0) {
        printf("\nIf the page says the console is not built (%s is not here), run\n"
               "scripts/console.sh; the API answers meanwhile:\n"
               "  curl -H 'Authorization: Bearer <token>' %sv1/me\n",
               fc_http_console_dir(), url);
    }
    printf("==========================================================================\n");
    fflush(stdout);
}

/* What the demo's welcome needs once the server listens. */
typedef struct welcome {
    const char *dir;
    const queue_sum *q;
    const demo_tokens *tk;
} welcome;

static void announce(void *ud, const char *url) {
    const welcome *w = ud;
    char page[160];
    snprintf(page, sizeof page, "%s/", url);
    print_welcome(page, w->dir, w->q, w->tk);
}

/* Serve the store until SIGINT or SIGTERM. listen: "ADDR:PORT"; when the
 * port is taken, a free one is picked (and said). */
static int serve_demo(const char *db, const char *listen, const char *dir, const queue_sum *q,
                      const demo_tokens *tk) {
    fc_http_opts o;
    memset(&o, 0, sizeof o);
    char addr[64];
    if (fc_cli_parse_listen(listen, addr, sizeof addr, &o.port) != FC_OK) {
        fprintf(stderr, "fulcrum demo: --listen '%s' is not ADDR:PORT\n", listen);
        return FC_EXIT_USAGE;
    }
    o.listen_addr = addr;
    o.db_path = db;
    welcome w = {dir, q, tk};
    return fc_cli_serve_until_signal("demo", &o, 1, announce, &w);
}

int fc_cmd_demo(int argc, char **argv) {
    static const struct option longopts[] = {
        {"out", required_argument, NULL, 'o'},    {"db", required_argument, NULL, 'd'},
        {"seed", required_argument, NULL, 's'},   {"days", required_argument, NULL, 'n'},
        {"scale", required_argument, NULL, 'x'},  {"start", required_argument, NULL, 't'},
        {"listen", required_argument, NULL, 'l'}, {"no-serve", no_argument, NULL, 'N'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    const char *dir = "demo", *db_flag = NULL, *listen = "127.0.0.1:8080";
    int serve = 1;
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
        case 'l':
            listen = optarg;
            break;
        case 'N':
            serve = 0;
            break;
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
    if (!serve || status != FC_EXIT_OK) {
        return status;
    }
    queue_sum q;
    demo_tokens tk;
    memset(&tk, 0, sizeof tk);
    rc = fill_queue(db, &q);
    if (rc == FC_EXIT_OK) {
        rc = make_tokens(db, &q, &tk);
    }
    if (rc == FC_EXIT_OK) {
        rc = serve_demo(db, listen, dir, &q, &tk);
    }
    sodium_memzero(&tk, sizeof tk);
    return rc;
}
