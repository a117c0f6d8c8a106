/*
 * bench_judge: fc_judge over N closed orders (default 1,000,000) under the
 * default policy pack, against references measured in the same run on the
 * same orders.
 *
 * usage: bench_judge [ORDERS] [POLICY_DIR] [--days N] [--scale X]
 *
 * Run from the repository root (POLICY_DIR defaults to "policies"). The
 * orders are realistic: a demo world (fc_gen_world, seed 1, N days at scale X,
 * default 2 days at scale 1, about 100,000 orders) is generated into a
 * temporary folder, read with the ingest readers and folded with
 * fc_order_fold; each order gets its context (country, rider capacity,
 * merchant kind, zone kind, orders stacked on the rider, the dispatch outage
 * of the ground truth). The folded orders are copied in turn until there are
 * N of them (each copy its own memory).
 *
 * Timed (best of 3, alternating):
 *   judge      fc_judge of every order (English), the policy of its city;
 *   incidents  fc_order_incidents only: the pass every judge must make;
 *   deciding   the rules of each incident tried in order without evidence
 *              until one holds: the least work that finds the decision;
 *   all conds  every rule's condition of each incident, without evidence.
 * Then the same under a 30-rule cut of the base policy (the target is
 * a 30-rule policy): the first rules of each incident and its catch-all.
 * Build in Release to measure.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gen/gen.h"
#include "ingest/ingest.h"
#include "judge/judge.h"
#include "ref/ref.h"

#define MAX_WEATHER 4096

typedef struct named {
    char *id;
    const char *value; /* capacity / kind name; borrowed from the arena or static */
    int32_t start_date;
} named;

typedef struct world {
    fc_arena *arena;
    fc_event *events;
    size_t n_events, cap_events;
    fc_weather weather[MAX_WEATHER];
    size_t n_weather;
    named *riders, *merchants, *zones;
    size_t n_riders, n_merchants, n_zones, cap_riders, cap_merchants, cap_zones;
    char city[FC_GEN_MAX_CITIES][32], country[FC_GEN_MAX_CITIES][4];
    size_t n_cities;
    char **outage; /* order ids of the dispatch outage, sorted */
    size_t n_outage;
} world;

static void die(const char *what) {
    fprintf(stderr, "bench_judge: %s\n", what);
    exit(1);
}

static void *xrealloc(void *p, size_t n) {
    void *q = realloc(p, n);
    if (q == NULL) {
        die("out of memory");
    }
    return q;
}

/* dst = a/b, or exit when it does not fit. */
static void join(char *dst, size_t cap, const char *a, const char *b) {
    int n = snprintf(dst, cap, "%s/%s", a, b);
    if (n < 0 || (size_t)n >= cap) {
        die("path too long");
    }
}

static char *xstrdup(const char *s) {
    char *d = strdup(s ? s : "");
    if (d == NULL) {
        die("out of memory");
    }
    return d;
}

static void push_named(named **a, size_t *n, size_t *cap, const char *id, const char *value,
                       int32_t start) {
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 1024;
        *a = xrealloc(*a, *cap * sizeof **a);
    }
    (*a)[*n].id = xstrdup(id);
    (*a)[*n].value = value;
    (*a)[*n].start_date = start;
    (*n)++;
}

static int cmp_named(const void *a, const void *b) {
    return strcmp(((const named *)a)->id, ((const named *)b)->id);
}

static const named *find_named(const named *a, size_t n, fc_str id) {
    char key[128];
    fc_str_cpy(key, sizeof key, id);
    named k = {key, NULL, 0};
    return n ? bsearch(&k, a, n, sizeof *a, cmp_named) : NULL;
}

static int cmp_cstr(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void own_strings(fc_arena *a, fc_event *e) {
    for (size_t i = 0; i < fc_event_field_count(); i++) {
        const fc_event_field *f = fc_event_field_at(i);
        if (f->kind == FC_EF_STR) {
            fc_str *s = (fc_str *)(void *)((char *)e + f->offset);
            if (s->p != NULL) {
                *s = fc_arena_str(a, *s);
            }
        }
    }
}

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        die("cannot read a world file");
    }
    fclose(f);
    buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

static void read_file(world *w, const char *dir, const char *name) {
    char path[4096];
    join(path, sizeof path, dir, name);
    size_t len = 0;
    char *buf = slurp(path, &len);
    if (buf == NULL) {
        die(path);
    }
    fc_reader *r = NULL;
    fc_err err;
    fc_err_clear(&err);
    if (fc_reader_open(path, buf, len, NULL, NULL, &r, &err) != FC_OK) {
        die(err.msg);
    }
    fc_record *rec = calloc(1, sizeof *rec);
    if (rec == NULL) {
        die("out of memory");
    }
    int rc;
    while ((rc = fc_reader_next(r, rec, &err)) != 0) {
        if (rc < 0) {
            die(err.msg);
        }
        if (rec->kind == FC_INPUT_CITIES && w->n_cities < FC_GEN_MAX_CITIES) {
            snprintf(w->city[w->n_cities], sizeof w->city[0], "%s", rec->ent.city.city);
            snprintf(w->country[w->n_cities], sizeof w->country[0], "%s", rec->ent.city.country);
            w->n_cities++;
        } else if (rec->kind == FC_INPUT_RIDERS) {
            push_named(&w->riders, &w->n_riders, &w->cap_riders, rec->ent.rider.rider,
                       fc_capacity_name(rec->ent.rider.capacity), rec->ent.rider.start_date);
        } else if (rec->kind == FC_INPUT_MERCHANTS) {
            fc_str k = fc_arena_str(w->arena, fc_str_c(rec->ent.merchant.kind));
            push_named(&w->merchants, &w->n_merchants, &w->cap_merchants,
                       rec->ent.merchant.merchant, k.p, 0);
        } else if (rec->kind == FC_INPUT_ZONES) {
            char key[128];
            snprintf(key, sizeof key, "%s/%s", rec->ent.zone.city, rec->ent.zone.zone);
            push_named(&w->zones, &w->n_zones, &w->cap_zones, key,
                       fc_zone_kind_name(rec->ent.zone.kind), 0);
        }
        for (size_t i = 0; i < rec->n_events; i++) {
            fc_event e = rec->events[i];
            own_strings(w->arena, &e);
            if (e.type == FC_EV_WEATHER) {
                if (w->n_weather < MAX_WEATHER) {
                    fc_weather *x = &w->weather[w->n_weather++];
                    x->city = e.city;
                    x->zone = e.zone;
                    x->from = e.from;
                    x->to = e.to;
                    x->severity = e.severity;
                }
            } else if (e.order.n > 0) {
                if (w->n_events == w->cap_events) {
                    w->cap_events = w->cap_events ? w->cap_events * 2 : 1 << 16;
                    w->events = xrealloc(w->events, w->cap_events * sizeof *w->events);
                }
                w->events[w->n_events++] = e;
            }
        }
    }
    free(rec);
    fc_reader_free(r);
    free(buf);
}

static void read_outage(world *w, const char *dir) {
    char path[4096];
    join(path, sizeof path, dir, "ground_truth.json");
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (root == NULL) {
        die("cannot read ground_truth.json");
    }
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(root, "problems"), i, p) {
        const char *type = json_string_value(json_object_get(p, "type"));
        if (type == NULL || strcmp(type, "dispatch_outage") != 0) {
            continue;
        }
        json_t *orders = json_object_get(p, "orders");
        size_t k;
        json_t *v;
        json_array_foreach(orders, k, v) {
            w->outage = xrealloc(w->outage, (w->n_outage + 1) * sizeof *w->outage);
            w->outage[w->n_outage++] = xstrdup(json_string_value(v));
        }
    }
    json_decref(root);
    qsort(w->outage, w->n_outage, sizeof *w->outage, cmp_cstr);
}

static int cmp_event_order(const void *a, const void *b) {
    const fc_event *x = a, *y = b;
    int c = fc_str_cmp(x->order, y->order);
    if (c != 0) {
        return c;
    }
    return x->ts < y->ts ? -1 : x->ts > y->ts;
}

/* One folded order with its context. */
typedef struct order_in {
    fc_order_facts facts;
    fc_policy_input in; /* in.facts is set when the copies are made */
    fc_str city;
} order_in;

/* Orders the rider carried between this order's pickup and delivery: the
 * rider's other orders picked up or delivered inside that window. */
static const order_in *stack_base;
static int cmp_by_rider_pickup(const void *a, const void *b) {
    const fc_order_facts *x = &stack_base[*(const size_t *)a].facts;
    const fc_order_facts *y = &stack_base[*(const size_t *)b].facts;
    int c = fc_str_cmp(x->rider, y->rider);
    if (c != 0) {
        return c;
    }
    return x->picked_up_at < y->picked_up_at ? -1 : x->picked_up_at > y->picked_up_at;
}

static void count_stacked(order_in *o, size_t n) {
    size_t *idx = malloc(n * sizeof *idx);
    if (idx == NULL) {
        die("out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        idx[i] = i;
    }
    stack_base = o;
    qsort(idx, n, sizeof *idx, cmp_by_rider_pickup);
    for (size_t a = 0; a < n; a++) {
        fc_order_facts *f = &o[idx[a]].facts;
        if (f->rider.n == 0 || f->picked_up_at == FC_TS_NONE || f->delivered_at == FC_TS_NONE) {
            o[idx[a]].in.stacked_orders = FC_INT_NONE;
            continue;
        }
        int32_t k = 0;
        for (size_t b = a; b-- > 0;) { /* picked up before, still carried */
            const fc_order_facts *g = &o[idx[b]].facts;
            if (!fc_str_eq(g->rider, f->rider) || g->picked_up_at == FC_TS_NONE ||
                f->picked_up_at - g->picked_up_at > 4 * 3600) {
                break;
            }
            k += g->delivered_at != FC_TS_NONE && g->delivered_at > f->picked_up_at;
        }
        for (size_t b = a + 1; b < n; b++) { /* picked up during this delivery */
            const fc_order_facts *g = &o[idx[b]].facts;
            if (!fc_str_eq(g->rider, f->rider) || g->picked_up_at >= f->delivered_at) {
                break;
            }
            k += g->picked_up_at != FC_TS_NONE;
        }
        o[idx[a]].in.stacked_orders = k;
    }
    free(idx);
}

/* Fold every order of the world; returns the closed ones. */
static order_in *fold_world(world *w, const fc_policy_pack *pk, size_t *n_out) {
    qsort(w->events, w->n_events, sizeof *w->events, cmp_event_order);
    qsort(w->riders, w->n_riders, sizeof *w->riders, cmp_named);
    qsort(w->merchants, w->n_merchants, sizeof *w->merchants, cmp_named);
    qsort(w->zones, w->n_zones, sizeof *w->zones, cmp_named);
    size_t cap = 1 << 16, n = 0;
    order_in *o = xrealloc(NULL, cap * sizeof *o);
    uint32_t *scratch = xrealloc(NULL, 4096 * sizeof *scratch);
    fc_weather *wx = xrealloc(NULL, MAX_WEATHER * sizeof *wx);
    for (size_t i = 0; i < w->n_events;) {
        size_t j = i;
        while (j < w->n_events && fc_str_eq(w->events[j].order, w->events[i].order)) {
            j++;
        }
        if (j - i > 4096) {
            die("an order with over 4096 events");
        }
        fc_str city = FC_STR_NULL, country = FC_STR_NULL;
        for (size_t k = i; k < j && city.n == 0; k++) {
            city = w->events[k].city;
        }
        for (size_t c = 0; c < w->n_cities; c++) {
            if (fc_str_eqc(city, w->city[c])) {
                country = fc_str_c(w->country[c]);
            }
        }
        size_t n_wx = 0;
        for (size_t k = 0; k < w->n_weather; k++) {
            if (fc_str_eq(w->weather[k].city, city)) {
                wx[n_wx++] = w->weather[k];
            }
        }
        const fc_policy *p = fc_policy_for(pk, country, city);
        fc_fold_ctx ctx = {fc_policy_thresholds(p), wx, n_wx, INT32_MIN};
        if (n == cap) {
            cap *= 2;
            o = xrealloc(o, cap * sizeof *o);
        }
        order_in *x = &o[n];
        memset(x, 0, sizeof *x);
        if (fc_order_fold(&w->events[i], j - i, &ctx, scratch, &x->facts) != FC_OK) {
            die("fold failed");
        }
        i = j;
        if (x->facts.status == FC_ORDER_OPEN) {
            continue;
        }
        const named *r = find_named(w->riders, w->n_riders, x->facts.rider);
        if (r != NULL) {
            x->facts.rider_tenure_days = fc_order_tenure_days(x->facts.created_at, r->start_date);
        }
        const named *m = find_named(w->merchants, w->n_merchants, x->facts.merchant);
        char zkey[160], cbuf[64], zbuf[64];
        snprintf(zkey, sizeof zkey, "%s/%s", fc_str_cpy(cbuf, sizeof cbuf, x->facts.city),
                 fc_str_cpy(zbuf, sizeof zbuf, x->facts.zone));
        const named *z = find_named(w->zones, w->n_zones, fc_str_c(zkey));
        char oid[128];
        fc_str_cpy(oid, sizeof oid, x->facts.order);
        const char *key = oid;
        int outage = w->n_outage > 0 &&
                     bsearch(&key, w->outage, w->n_outage, sizeof *w->outage, cmp_cstr) != NULL;
        x->city = city;
        x->in.country = country;
        x->in.capacity = fc_str_c(r ? r->value : "");
        x->in.merchant_kind = fc_str_c(m ? m->value : "");
        x->in.zone_kind = fc_str_c(z ? z->value : "");
        x->in.dispatch_outage = outage;
        n++;
    }
    count_stacked(o, n);
    free(scratch);
    free(wx);
    *n_out = n;
    return o;
}

/* ---------------------------------------------------------------------------
 * The timed loops.
 */

typedef struct run {
    const fc_policy **pol;
    fc_policy_input *in;
    size_t n;
} run;

typedef struct tally {
    long decisions, undetermined_rules, by_party[FC_PARTY__COUNT], incidents, held;
} tally;

static double loop_judge(const run *r, tally *t) {
    fc_decision d[FC_JUDGE_MAX_DECISIONS];
    memset(t, 0, sizeof *t);
    double t0 = fc_now_mono();
    for (size_t i = 0; i < r->n; i++) {
        size_t n = 0;
        fc_judge(r->pol[i], &r->in[i], FC_LANG_EN, d, FC_JUDGE_MAX_DECISIONS, &n);
        t->decisions += (long)n;
        for (size_t k = 0; k < n; k++) {
            t->by_party[d[k].liable]++;
            t->undetermined_rules += d[k].rule_id[0] == '\0';
        }
    }
    return fc_now_mono() - t0;
}

static double loop_incidents(const run *r, tally *t) {
    memset(t, 0, sizeof *t);
    double t0 = fc_now_mono();
    for (size_t i = 0; i < r->n; i++) {
        uint32_t bits = fc_order_incidents(r->in[i].facts, fc_policy_thresholds(r->pol[i]));
        t->incidents += __builtin_popcount(bits & ~(uint32_t)FC_INC_SEVERE_LATE);
    }
    return fc_now_mono() - t0;
}

static const struct {
    uint32_t bit;
    fc_incident_kind kind;
} inc_map[FC_INCIDENT__COUNT] = {
    {FC_INC_LATE, FC_INCIDENT_LATE},
    {FC_INC_CANCELLED, FC_INCIDENT_CANCELLED},
    {FC_INC_UNDELIVERABLE, FC_INCIDENT_UNDELIVERABLE},
    {FC_INC_COMPLAINT, FC_INCIDENT_COMPLAINT},
    {FC_INC_BAD_RATING, FC_INCIDENT_BAD_RATING},
    {FC_INC_FAR_DELIVERY, FC_INCIDENT_FAR_DELIVERY},
};

/* Rule conditions without evidence: until one holds (all == 0) or all. */
static double loop_conds(const run *r, tally *t, int all) {
    memset(t, 0, sizeof *t);
    double t0 = fc_now_mono();
    for (size_t i = 0; i < r->n; i++) {
        const fc_policy *p = r->pol[i];
        if (r->in[i].facts->status == FC_ORDER_OPEN) {
            continue;
        }
        uint32_t bits = fc_order_incidents(r->in[i].facts, fc_policy_thresholds(p));
        for (size_t k = 0; k < FC_INCIDENT__COUNT; k++) {
            if (!(bits & inc_map[k].bit)) {
                continue;
            }
            t->incidents++;
            const fc_rule *const *rules = NULL;
            size_t nr = fc_policy_rules(p, inc_map[k].kind, &rules);
            for (size_t j = 0; j < nr; j++) {
                int h = fc_cond_eval(rules[j]->when, &r->in[i], NULL, NULL, NULL);
                t->held += h;
                if (h && !all) {
                    break;
                }
            }
        }
    }
    return fc_now_mono() - t0;
}

static double best(double a, double b) {
    return a < b ? a : b;
}

typedef struct figures {
    double judge, incidents, deciding, all;
    tally tj;
} figures;

static void measure(const run *r, figures *f) {
    tally t;
    f->judge = f->incidents = f->deciding = f->all = 1e30;
    for (int rep = 0; rep < 3; rep++) {
        f->judge = best(f->judge, loop_judge(r, &f->tj));
        f->incidents = best(f->incidents, loop_incidents(r, &t));
        f->deciding = best(f->deciding, loop_conds(r, &t, 0));
        f->all = best(f->all, loop_conds(r, &t, 1));
    }
}

static void report(const char *title, const run *r, const figures *f) {
    double n = (double)r->n;
    printf("\n%s: %zu orders, best of 3\n", title, r->n);
    printf("  judge       %8.1f ms  %11.0f orders/s  %6.0f ns/order\n", f->judge * 1e3,
           n / f->judge, f->judge * 1e9 / n);
    printf("  incidents   %8.1f ms  %11.0f orders/s  %6.0f ns/order  (judge is %.1fx)\n",
           f->incidents * 1e3, n / f->incidents, f->incidents * 1e9 / n, f->judge / f->incidents);
    printf("  deciding    %8.1f ms  %11.0f orders/s  %6.0f ns/order  (judge is %.2fx)\n",
           f->deciding * 1e3, n / f->deciding, f->deciding * 1e9 / n, f->judge / f->deciding);
    printf("  all conds   %8.1f ms  %11.0f orders/s  %6.0f ns/order  (judge is %.2fx)\n",
           f->all * 1e3, n / f->all, f->all * 1e9 / n, f->judge / f->all);
    const tally *t = &f->tj;
    printf("  decisions   %ld (%.3f an order), undetermined by no rule %ld\n", t->decisions,
           (double)t->decisions / n, t->undetermined_rules);
    printf("  liable     ");
    for (int k = 0; k < FC_PARTY__COUNT; k++) {
        if (t->by_party[k] > 0) {
            printf(" %s %.1f%%", fc_party_name((fc_party)k),
                   100.0 * (double)t->by_party[k] / (double)t->decisions);
        }
    }
    double s_m = f->judge * 1e6 / n;
    printf("\n  target 1,000,000 orders in 2 s: %s (%.2f s per 1,000,000)\n",
           s_m <= 2.0 ? "met" : "NOT met", s_m);
}

static size_t rules_of(const fc_policy *p, char *buf, size_t bufsz) {
    size_t total = 0, o = 0;
    buf[0] = '\0';
    for (int k = 0; k < FC_INCIDENT__COUNT; k++) {
        const fc_rule *const *rules = NULL;
        size_t nr = fc_policy_rules(p, (fc_incident_kind)k, &rules);
        total += nr;
        int w = snprintf(buf + o, bufsz - o, "%s%s %zu", k ? ", " : "",
                         fc_incident_name((fc_incident_kind)k), nr);
        if (w > 0 && (size_t)w < bufsz - o) {
            o += (size_t)w;
        }
    }
    return total;
}

/* Write a cut of `src` (a base policy) into `dst` keeping `keep[k]` rules of
 * incident k: its first keep[k] - 1 rules and its last (the catch-all). The
 * cut is textual: a rule is its "    - id:" line and the lines up to the
 * next rule or incident. */
static size_t write_cut(const char *src, const char *dst, const size_t keep[FC_INCIDENT__COUNT]) {
    size_t len = 0;
    char *text = slurp(src, &len);
    if (text == NULL) {
        die("cannot read the base policy");
    }
    /* First pass: rules per incident. */
    size_t count[FC_INCIDENT__COUNT] = {0};
    int in_rules = 0, inc = -1;
    for (char *l = text; *l != '\0';) {
        char *e = strchr(l, '\n');
        size_t n = e ? (size_t)(e - l) : strlen(l);
        if (n >= 6 && strncmp(l, "rules:", 6) == 0) {
            in_rules = 1;
        } else if (in_rules && n > 3 && l[0] == ' ' && l[1] == ' ' && l[2] != ' ' && l[2] != '#') {
            inc = fc_incident_from(l + 2, (size_t)(strchr(l, ':') - l - 2));
        } else if (in_rules && inc >= 0 && n > 10 && strncmp(l, "    - id:", 9) == 0) {
            count[inc]++;
        } else if (n > 0 && l[0] != ' ' && l[0] != '#') {
            in_rules = n >= 6 && strncmp(l, "rules:", 6) == 0;
        }
        l = e ? e + 1 : l + n;
    }
    FILE *out = fopen(dst, "w");
    if (out == NULL) {
        die("cannot write the cut policy");
    }
    size_t seen[FC_INCIDENT__COUNT] = {0}, kept = 0;
    int skipping = 0;
    in_rules = 0;
    inc = -1;
    for (char *l = text; *l != '\0';) {
        char *e = strchr(l, '\n');
        size_t n = e ? (size_t)(e - l) + 1 : strlen(l);
        if (n >= 6 && strncmp(l, "rules:", 6) == 0) {
            in_rules = 1;
            skipping = 0;
        } else if (in_rules && n > 3 && l[0] == ' ' && l[1] == ' ' && l[2] != ' ' && l[2] != '#') {
            inc = fc_incident_from(l + 2, (size_t)(strchr(l, ':') - l - 2));
            skipping = 0;
        } else if (in_rules && inc >= 0 && strncmp(l, "    - id:", 9) == 0) {
            size_t s = seen[inc]++;
            skipping = !(s + 1 < keep[inc] || s + 1 == count[inc]);
            kept += !skipping;
        } else if (n > 1 && l[0] != ' ' && l[0] != '#' && l[0] != '\n') {
            in_rules = 0;
            skipping = 0;
        }
        if (!skipping) {
            fwrite(l, 1, n, out);
        }
        l += n;
    }
    fclose(out);
    free(text);
    return kept;
}

int main(int argc, char **argv) {
    size_t n_orders = 1000000;
    const char *policy_dir = "policies";
    fc_gen_opts go;
    fc_gen_opts_init(&go);
    go.days = 2;
    int positional = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--days") == 0 && i + 1 < argc) {
            go.days = (int32_t)strtol(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--scale") == 0 && i + 1 < argc) {
            if (fc_gen_scale_parse(argv[++i], &go.scale) != FC_OK) {
                die("bad --scale");
            }
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "usage: bench_judge [ORDERS] [POLICY_DIR] [--days N] [--scale X]\n");
            return 2;
        } else if (positional++ == 0) {
            n_orders = (size_t)strtoull(argv[i], NULL, 10);
        } else {
            policy_dir = argv[i];
        }
    }
    if (n_orders == 0) {
        die("ORDERS must be positive");
    }

    fc_err err;
    fc_err_clear(&err);
    fc_policy_pack *pack = NULL;
    if (fc_policy_pack_load(policy_dir, &pack, &err) != FC_OK) {
        char msg[1024];
        fc_err_format(&err, msg, sizeof msg);
        fprintf(stderr,
                "bench_judge: policy pack %s: %s (run from the repository root or pass "
                "POLICY_DIR)\n",
                policy_dir, msg);
        return 1;
    }

    char tmpl[] = "/tmp/fulcrum-bench-judge-XXXXXX";
    char *tmp = mkdtemp(tmpl);
    if (tmp == NULL) {
        die("cannot make a temporary folder");
    }
    char dir[4096];
    join(dir, sizeof dir, tmp, "world");
    double t0 = fc_now_mono();
    fc_gen_summary sum;
    if (fc_gen_world(dir, &go, &sum, &err) != FC_OK) {
        die(err.msg);
    }
    world *w = calloc(1, sizeof *w);
    if (w == NULL) {
        die("out of memory");
    }
    w->arena = fc_arena_new(0);
    for (size_t i = 0; fc_gen_file(i) != NULL; i++) {
        read_file(w, dir, fc_gen_file(i));
    }
    read_outage(w, dir);
    size_t n_base = 0;
    order_in *base = fold_world(w, pack, &n_base);
    if (n_base == 0) {
        die("no closed order in the world");
    }
    printf("world: seed %llu, %d days, scale %.2f: %lld orders, %zu closed, %zu events read, "
           "%zu weather windows, %zu outage orders (%.1f s)\n",
           (unsigned long long)go.seed, (int)go.days, go.scale, (long long)sum.orders, n_base,
           w->n_events, w->n_weather, w->n_outage, fc_now_mono() - t0);

    /* N orders: the closed orders in turn, each copy its own memory. */
    fc_order_facts *facts = xrealloc(NULL, n_orders * sizeof *facts);
    fc_policy_input *in = xrealloc(NULL, n_orders * sizeof *in);
    const fc_policy **pol = xrealloc(NULL, n_orders * sizeof *pol);
    for (size_t i = 0; i < n_orders; i++) {
        const order_in *b = &base[i % n_base];
        facts[i] = b->facts;
        in[i] = b->in;
        in[i].facts = &facts[i];
        pol[i] = fc_policy_for(pack, b->in.country, b->city);
    }
    run r = {pol, in, n_orders};

    char buf[256];
    printf("policy pack %s:", policy_dir);
    for (size_t i = 0; i < fc_policy_pack_count(pack); i++) {
        const fc_policy *p = fc_policy_pack_at(pack, i);
        printf("%s %s %zu rules", i ? "," : "", fc_policy_id(p), rules_of(p, buf, sizeof buf));
    }
    printf("\n  per incident (base): ");
    const fc_policy *base_p = fc_policy_pack_at(pack, 0);
    for (size_t i = 0; i < fc_policy_pack_count(pack); i++) {
        if (fc_policy_parent(fc_policy_pack_at(pack, i)) == NULL) {
            base_p = fc_policy_pack_at(pack, i);
        }
    }
    size_t base_rules = rules_of(base_p, buf, sizeof buf);
    printf("%s\n", buf);

    figures full;
    measure(&r, &full);
    report("default pack (policy of each order's city)", &r, &full);

    /* A 30-rule cut of the base policy. */
    if (base_rules > 30) {
        size_t keep[FC_INCIDENT__COUNT] = {0}, total = 0;
        for (int k = 0; k < FC_INCIDENT__COUNT; k++) {
            const fc_rule *const *rules = NULL;
            keep[k] = fc_policy_rules(base_p, (fc_incident_kind)k, &rules);
            total += keep[k];
        }
        while (total > 30) { /* take one from the incident with the most rules */
            int big = 0;
            for (int k = 1; k < FC_INCIDENT__COUNT; k++) {
                big = keep[k] > keep[big] ? k : big;
            }
            keep[big]--;
            total--;
        }
        char cdir[4096], cpath[4200], cname[128];
        join(cdir, sizeof cdir, tmp, "cut");
        mkdir(cdir, 0700);
        snprintf(cname, sizeof cname, "%.100s.yaml", fc_policy_id(base_p));
        join(cpath, sizeof cpath, cdir, cname);
        size_t kept = write_cut(fc_policy_file(base_p), cpath, keep);
        fc_policy_pack *cut = NULL;
        if (kept != 30 || fc_policy_pack_load(cdir, &cut, &err) != FC_OK) {
            die("cannot make the 30-rule cut");
        }
        const fc_policy *cp = fc_policy_pack_at(cut, 0);
        printf("\n30-rule cut of %s (first rules of each incident and its catch-all): %zu rules (",
               fc_policy_id(base_p), rules_of(cp, buf, sizeof buf));
        printf("%s)\n", buf);
        for (size_t i = 0; i < n_orders; i++) {
            pol[i] = cp;
        }
        figures fc;
        measure(&r, &fc);
        report("30-rule cut (every order)", &r, &fc);
        fc_policy_pack_free(cut);
        unlink(cpath);
        rmdir(cdir);
    }

    for (size_t i = 0; fc_gen_file(i) != NULL; i++) {
        char path[4200];
        join(path, sizeof path, dir, fc_gen_file(i));
        unlink(path);
    }
    char gt[4200];
    join(gt, sizeof gt, dir, "ground_truth.json");
    unlink(gt);
    rmdir(dir);
    rmdir(tmp);
    free(facts);
    free(in);
    free(pol);
    free(base);
    for (size_t i = 0; i < w->n_riders; i++) {
        free(w->riders[i].id);
    }
    for (size_t i = 0; i < w->n_merchants; i++) {
        free(w->merchants[i].id);
    }
    for (size_t i = 0; i < w->n_zones; i++) {
        free(w->zones[i].id);
    }
    for (size_t i = 0; i < w->n_outage; i++) {
        free(w->outage[i]);
    }
    free(w->riders);
    free(w->merchants);
    free(w->zones);
    free(w->outage);
    free(w->events);
    fc_arena_free(w->arena);
    free(w);
    fc_policy_pack_free(pack);
    return 0;
}
