/*
 * Judging the orders an ingest touched (fc_adj_run_orders) against judging
 * the whole store (fc_adj_run): the same decisions in force, the same
 * ledger sums, the same stacked orders; and the carry table a whole run
 * leaves.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "adjudicate/adjudicate.h"
#include "gen/gen.h"
#include "ingest/ingest.h"
#include "support.h"

#define NOW 1772400000

typedef struct fixture {
    char *dir;
    fc_policy_pack *pack;
} fixture;

static int setup(void **state) {
    fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    fx->dir = fc_test_tmpdir();
    assert_non_null(fx->dir);
    fc_err err;
    assert_int_equal(fc_policy_pack_load(FC_SOURCE_DIR "/policies", &fx->pack, &err), FC_OK);
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    fixture *fx = *state;
    fc_policy_pack_free(fx->pack);
    fc_test_rmtree(fx->dir);
    free(fx->dir);
    free(fx);
    return 0;
}

static fc_store *open_store(fixture *fx, const char *name) {
    char path[600];
    snprintf(path, sizeof path, "%s/%s", fx->dir, name);
    fc_store *s = NULL;
    fc_err err;
    assert_int_equal(fc_store_open(path, &s, &err), FC_OK);
    return s;
}

/* The orders an ingest touched. */
static int note_order(void *ud, fc_str order) {
    return fc_dict_intern(ud, order) < 0 ? FC_ENOMEM : 0;
}

/* Ingest dir/name into s; the orders it touched into `touched` (may be
 * NULL). */
static void ingest(fixture *fx, fc_store *s, const char *dir, const char *name, fc_dict *touched) {
    char path[600], rejects[700];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(rejects, sizeof rejects, "%s/%s.rejects.csv", fx->dir, name);
    fc_ingest_opts o;
    memset(&o, 0, sizeof o);
    o.quiet = 1;
    o.max_errors = -1;
    o.reject_path = rejects;
    o.on_order = touched != NULL ? note_order : NULL;
    o.on_order_ud = touched;
    fc_ingest_log log;
    fc_err err;
    if (fc_ingest_file(s, path, &o, &log, &err) != FC_OK) {
        fail_msg("ingest %s: %s", name, err.msg);
    }
    assert_int_equal(log.rejected, 0);
}

static void opts(fixture *fx, fc_adj_opts *o) {
    fc_adj_opts_init(o);
    o->pack = fx->pack;
    o->now = NOW;
}

/* fc_adj_run_orders of the orders in `touched` (then emptied). */
static void judge_touched(fixture *fx, fc_store *s, fc_dict **touched, fc_adj_opts *o,
                          fc_adj_stats *st) {
    uint32_t n = fc_dict_count(*touched);
    fc_str *ids = calloc((size_t)n + 1, sizeof *ids);
    assert_non_null(ids);
    for (uint32_t i = 0; i < n; i++) {
        ids[i] = fc_dict_get(*touched, i);
    }
    fc_adj_opts local;
    if (o == NULL) {
        opts(fx, &local);
        o = &local;
    }
    fc_err err;
    if (fc_adj_run_orders(s, o, ids, n, st, &err) != FC_OK) {
        fail_msg("judge orders: %s", err.msg);
    }
    free(ids);
    fc_dict_free(*touched);
    *touched = fc_dict_new();
    assert_non_null(*touched);
}

static void judge_all(fixture *fx, fc_store *s) {
    fc_adj_opts o;
    opts(fx, &o);
    fc_err err;
    if (fc_adj_run(s, &o, NULL, &err) != FC_OK) {
        fail_msg("judge: %s", err.msg);
    }
}

/* ---------------------------------------------------------------------------
 * What a store holds after judging: decisions in force and ledger sums, as
 * sorted lines.
 */
typedef struct lines {
    char **l;
    size_t n, cap;
} lines;

static void lines_add(lines *ls, const char *text) {
    if (ls->n == ls->cap) {
        ls->cap = ls->cap ? ls->cap * 2 : 256;
        ls->l = realloc(ls->l, ls->cap * sizeof *ls->l);
        assert_non_null(ls->l);
    }
    ls->l[ls->n] = strdup(text);
    assert_non_null(ls->l[ls->n]);
    ls->n++;
}

static int cmp_line(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void lines_free(lines *ls) {
    for (size_t i = 0; i < ls->n; i++) {
        free(ls->l[i]);
    }
    free(ls->l);
    memset(ls, 0, sizeof *ls);
}

static int add_decision(void *ud, const fc_case_decision *d) {
    char line[512];
    /* The context recorded with a decision is that of its first
     * recording: an unchanged outcome keeps it. */
    snprintf(line, sizeof line, "%s %s %s %s %s", d->order, fc_incident_name(d->d.incident),
             d->outcome, fc_party_name(d->d.liable), d->d.rule_id);
    lines_add(ud, line);
    return 0;
}

/* Ledger sums per party, party id and currency. */
typedef struct ledger_sums {
    fc_dict *keys;
    int64_t points[4096], amount[4096];
} ledger_sums;

static int add_ledger(void *ud, const fc_case_entry *e) {
    ledger_sums *ls = ud;
    fc_ledger_entry le;
    fc_err err;
    assert_int_equal(fc_case_ledger_parse(e->body, &le, &err), FC_OK);
    char key[128];
    snprintf(key, sizeof key, "%s/%s/%s", fc_party_name(le.party), le.party_id, le.currency);
    int64_t i = fc_dict_intern(ls->keys, fc_str_c(key));
    assert_true(i >= 0 && i < 4096);
    ls->points[i] += le.points;
    ls->amount[i] += le.amount_minor;
    return 0;
}

/* Decisions in force and ledger sums (non-zero ones) of s, sorted. */
static void state_of(fc_store *s, lines *out) {
    fc_err err;
    assert_int_equal(fc_adj_decisions(s, NULL, add_decision, out, &err), FC_OK);
    ledger_sums *ls = calloc(1, sizeof *ls);
    assert_non_null(ls);
    ls->keys = fc_dict_new();
    fc_case_filter f;
    fc_case_filter_init(&f);
    f.type = FC_CASE_LEDGER;
    assert_int_equal(fc_store_case_scan(s, &f, add_ledger, ls, &err), FC_OK);
    for (uint32_t i = 0; i < fc_dict_count(ls->keys); i++) {
        if (ls->points[i] == 0 && ls->amount[i] == 0) {
            continue;
        }
        char line[256];
        fc_str k = fc_dict_get(ls->keys, i);
        snprintf(line, sizeof line, "ledger %.*s points=%lld amount=%lld", (int)k.n, k.p,
                 (long long)ls->points[i], (long long)ls->amount[i]);
        lines_add(out, line);
    }
    fc_dict_free(ls->keys);
    free(ls);
    if (out->n > 1) {
        qsort(out->l, out->n, sizeof *out->l, cmp_line);
    }
}

static void assert_same_state(fc_store *a, fc_store *b) {
    lines la = {0}, lb = {0};
    state_of(a, &la);
    state_of(b, &lb);
    for (size_t i = 0; i < la.n && i < lb.n; i++) {
        if (strcmp(la.l[i], lb.l[i]) != 0) {
            fail_msg("line %zu differs:\n  by orders: %s\n  whole:     %s", i, la.l[i], lb.l[i]);
        }
    }
    assert_int_equal(la.n, lb.n);
    assert_true(la.n > 0);
    lines_free(&la);
    lines_free(&lb);
}

/* ---------------------------------------------------------------------------
 * Files split into batches.
 */
/* Write the lines of dir/name (after `header` lines, repeated in each part)
 * whose index i (from 0, after the header) has i % parts == part, and that
 * contain `with` (NULL: any) and not `without` (NULL: none), to
 * dir/<out>. */
static void split(const char *dir, const char *name, size_t header, size_t parts, size_t part,
                  const char *with, const char *without, const char *out) {
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *text = fc_test_slurp(path, NULL);
    assert_non_null(text);
    size_t cap = strlen(text) + 1, len = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    size_t i = 0;
    for (char *line = text; *line != '\0';) {
        char *end = strchr(line, '\n');
        size_t n = end != NULL ? (size_t)(end - line) + 1 : strlen(line);
        int keep;
        if (i < header) {
            keep = 1;
        } else {
            char saved = line[n - 1];
            line[n - 1] = '\0';
            keep = (i - header) % parts == part && (with == NULL || strstr(line, with)) &&
                   (without == NULL || !strstr(line, without));
            line[n - 1] = saved;
        }
        if (keep) {
            memcpy(buf + len, line, n);
            len += n;
        }
        line += n;
        i++;
    }
    assert_int_equal(fc_test_write(dir, out, buf, len), 0);
    free(buf);
    free(text);
}

/* ---------------------------------------------------------------------------
 * Stacked orders seen by a run, and by a whole scan.
 */
#define SEEN_MAX 4096
typedef struct stacked_seen {
    fc_dict *orders;
    int32_t stacked[SEEN_MAX];
} stacked_seen;

static void note_input(void *ud, const fc_policy_input *in) {
    stacked_seen *ss = ud;
    int64_t i = fc_dict_intern(ss->orders, in->facts->order);
    assert_true(i >= 0 && i < SEEN_MAX);
    ss->stacked[i] = in->stacked_orders;
}

static int note_scan(void *ud, const fc_scan_order *so) {
    note_input(ud, so->input);
    return 0;
}

/* The stacked orders a whole scan gives each closed order. */
static void scan_stacked(fc_store *s, stacked_seen *out) {
    fc_scan_opts so;
    fc_scan_opts_init(&so);
    so.context = 1;
    so.closed_only = 1;
    fc_err err;
    assert_int_equal(fc_scan_orders(s, &so, note_scan, out, NULL, &err), FC_OK);
}

static int32_t stacked_of(const stacked_seen *ss, const char *order) {
    int64_t i = fc_dict_find(ss->orders, fc_str_c(order));
    assert_true(i >= 0);
    return ss->stacked[i];
}

/* Every order in `got` has the stacked orders a whole scan of s gives it. */
static void assert_stacked_as_scan(fc_store *s, const stacked_seen *got, const char *when) {
    stacked_seen *want = calloc(1, sizeof *want);
    assert_non_null(want);
    want->orders = fc_dict_new();
    scan_stacked(s, want);
    for (uint32_t i = 0; i < fc_dict_count(got->orders); i++) {
        fc_str order = fc_dict_get(got->orders, i);
        int64_t k = fc_dict_find(want->orders, order);
        assert_true(k >= 0);
        if (got->stacked[i] != want->stacked[k]) {
            fail_msg("%s: order %.*s stacked %d, a whole scan gives %d", when, (int)order.n,
                     order.p, (int)got->stacked[i], (int)want->stacked[k]);
        }
    }
    fc_dict_free(want->orders);
    free(want);
}

/* (a) A generated world ingested in batches, each judged by its touched
 * orders, ends as one whole run over the world ingested at once. */
static void test_batches_equal_whole(void **state) {
    fixture *fx = *state;
    char world[600];
    snprintf(world, sizeof world, "%s/world", fx->dir);
    fc_gen_opts go;
    fc_gen_opts_init(&go);
    go.days = 1;
    go.scale = 0.02;
    fc_err err;
    assert_int_equal(fc_gen_world(world, &go, NULL, &err), FC_OK);

    fc_store *whole = open_store(fx, "whole.db");
    for (size_t i = 0; fc_gen_file(i) != NULL; i++) {
        ingest(fx, whole, world, fc_gen_file(i), NULL);
    }
    judge_all(fx, whole);

    fc_store *s = open_store(fx, "batches.db");
    ingest(fx, s, world, "cities.csv", NULL);
    ingest(fx, s, world, "zones.csv", NULL);
    ingest(fx, s, world, "merchants.csv", NULL);
    ingest(fx, s, world, "riders.csv", NULL);
    /* Records that name no order (weather, incidents) change every order
     * of their window: the ingest judges all then, so they come first. */
    split(world, "events.jsonl", 0, 1, 0, NULL, "\"order\"", "windows.jsonl");
    ingest(fx, s, world, "windows.jsonl", NULL);
    fc_dict *touched = fc_dict_new();
    assert_non_null(touched);
    /* Orders interleaved over three batches (a rider's orders of one trip
     * arrive apart), then the extra events (riders reassigned, complaints
     * after the decisions) in two. */
    const size_t parts = 3;
    stacked_seen *last = calloc(1, sizeof *last);
    assert_non_null(last);
    last->orders = fc_dict_new();
    for (size_t p = 0; p < parts; p++) {
        char name[64];
        snprintf(name, sizeof name, "orders_%zu.csv", p);
        split(world, "orders.csv", 1, parts, p, NULL, NULL, name);
        ingest(fx, s, world, name, touched);
        assert_true(fc_dict_count(touched) > 0);
        fc_adj_stats st;
        fc_adj_opts o;
        opts(fx, &o);
        stacked_seen *got = calloc(1, sizeof *got);
        assert_non_null(got);
        got->orders = fc_dict_new();
        o.on_input = note_input;
        o.on_order_ud = got;
        judge_touched(fx, s, &touched, &o, &st);
        assert_true(st.orders > 0);
        for (uint32_t i = 0; i < fc_dict_count(got->orders); i++) {
            int64_t k = fc_dict_intern(last->orders, fc_dict_get(got->orders, i));
            assert_true(k >= 0 && k < SEEN_MAX);
            last->stacked[k] = got->stacked[i];
        }
        /* every order judged so far was last judged with its stacked
         * orders of now */
        assert_stacked_as_scan(s, last, name);
        fc_dict_free(got->orders);
        free(got);
    }
    fc_dict_free(last->orders);
    free(last);
    for (size_t p = 0; p < 2; p++) {
        char name[64];
        snprintf(name, sizeof name, "events_%zu.jsonl", p);
        split(world, "events.jsonl", 0, 2, p, "\"order\"", NULL, name);
        ingest(fx, s, world, name, touched);
        judge_touched(fx, s, &touched, NULL, NULL);
    }
    fc_dict_free(touched);
    assert_same_state(s, whole);
    fc_store_close(s);
    fc_store_close(whole);
}

#define EV(id, type, ts, order, extra)                                                             \
    "{\"id\":\"" id "\",\"type\":\"" type "\",\"ts\":\"2026-03-02T" ts                             \
    ":00+03:00\",\"order\":\"" order "\"" extra "}\n"
#define CREATED(o, ts)                                                                             \
    EV(o ":c", "order_created", ts, o,                                                             \
       ",\"city\":\"riyadh\",\"zone\":\"olaya\",\"merchant\":\"m1\",\"customer\":\"c1\","          \
       "\"promised_at\":\"2026-03-02T10:25:00+03:00\"")
#define ACCEPTED(o, ts, r)     EV(o ":a:" r, "order_accepted", ts, o, ",\"rider\":\"" r "\"")
#define PICKED(o, ts, r)       EV(o ":p", "order_picked_up", ts, o, ",\"rider\":\"" r "\"")
#define DELIVERED(o, ts, r)    EV(o ":d", "order_delivered", ts, o, ",\"rider\":\"" r "\"")
#define CARRIED(o, r, c, p, d) CREATED(o, c) ACCEPTED(o, c, r) PICKED(o, p, r) DELIVERED(o, d, r)

/* Ingest `text` as batch `name` and judge what it touched. `last` keeps
 * the stacked orders each order was last judged with, over the batches:
 * every one must be what a whole scan gives it now (an order whose
 * stacked orders changed was judged again). `judged` (NULL-terminated)
 * are the orders this batch must judge, exactly. */
static void batch(fixture *fx, fc_store *s, stacked_seen *last, const char *name, const char *text,
                  const char *const *judged) {
    assert_int_equal(fc_test_write(fx->dir, name, text, strlen(text)), 0);
    fc_dict *touched = fc_dict_new();
    assert_non_null(touched);
    ingest(fx, s, fx->dir, name, touched);
    stacked_seen *got = calloc(1, sizeof *got);
    assert_non_null(got);
    got->orders = fc_dict_new();
    fc_adj_opts o;
    opts(fx, &o);
    o.on_input = note_input;
    o.on_order_ud = got;
    judge_touched(fx, s, &touched, &o, NULL);
    size_t n = 0;
    for (; judged[n] != NULL; n++) {
        if (fc_dict_find(got->orders, fc_str_c(judged[n])) < 0) {
            fail_msg("%s: order %s was not judged", name, judged[n]);
        }
    }
    assert_int_equal(fc_dict_count(got->orders), n);
    for (uint32_t i = 0; i < fc_dict_count(got->orders); i++) {
        int64_t k = fc_dict_intern(last->orders, fc_dict_get(got->orders, i));
        assert_true(k >= 0 && k < SEEN_MAX);
        last->stacked[k] = got->stacked[i];
    }
    assert_stacked_as_scan(s, last, name);
    fc_dict_free(touched);
    fc_dict_free(got->orders);
    free(got);
}

static void test_stacked_orders(void **state) {
    fixture *fx = *state;
    fc_store *s = open_store(fx, "stacked.db");
    ingest(fx, s, FC_TEST_DATA "/adjudicate", "cities.csv", NULL);
    ingest(fx, s, FC_TEST_DATA "/adjudicate", "riders.csv", NULL);
    /* r1 carries O1 [10:00, 10:30) and O2 [10:10, 10:40) together, O3
     * [10:40, 11:00) after them (picked up the instant O2 is delivered). */
    stacked_seen *last = calloc(1, sizeof *last);
    assert_non_null(last);
    last->orders = fc_dict_new();
    batch(fx, s, last, "b1.jsonl",
          CARRIED("O1", "r1", "09:40", "10:00", "10:30")
              CARRIED("O2", "r1", "09:45", "10:10", "10:40")
                  CARRIED("O3", "r1", "09:50", "10:40", "11:00"),
          (const char *[]){"O1", "O2", "O3", NULL});
    /* O4 picked up by r1 at 10:20, not delivered yet: it carries nothing
     * (and is open: not judged) */
    batch(fx, s, last, "b2.jsonl",
          CREATED("O4", "09:55") ACCEPTED("O4", "09:56", "r1") PICKED("O4", "10:20", "r1"),
          (const char *[]){NULL});
    /* O4's delivery at 10:50 stacks it with O1, O2 and O3, which were
     * judged before and are not in this batch: judged again */
    batch(fx, s, last, "b3.jsonl", DELIVERED("O4", "10:50", "r1"),
          (const char *[]){"O1", "O2", "O3", "O4", NULL});
    stacked_seen now = {.orders = fc_dict_new()};
    scan_stacked(s, &now);
    assert_int_equal(stacked_of(&now, "O1"), 2);
    assert_int_equal(stacked_of(&now, "O2"), 2);
    assert_int_equal(stacked_of(&now, "O3"), 1);
    assert_int_equal(stacked_of(&now, "O4"), 3);
    fc_dict_free(now.orders);
    /* O2 is reassigned to r2: it leaves r1's trip */
    batch(fx, s, last, "b4.jsonl", ACCEPTED("O2", "09:58", "r2"),
          (const char *[]){"O1", "O2", "O4", NULL});
    now.orders = fc_dict_new();
    scan_stacked(s, &now);
    assert_int_equal(stacked_of(&now, "O1"), 1);
    assert_int_equal(stacked_of(&now, "O2"), 0);
    assert_int_equal(stacked_of(&now, "O4"), 2);
    fc_dict_free(now.orders);
    /* O5 delivered the instant it was picked up (an empty interval), O6
     * "delivered" before its pickup: neither overlaps anything */
    batch(fx, s, last, "b5.jsonl",
          CARRIED("O5", "r1", "09:59", "10:15", "10:15")
              CARRIED("O6", "r1", "09:59", "10:25", "10:05"),
          (const char *[]){"O5", "O6", NULL});
    /* a complaint leaves O1's carry as it was: O1 alone is judged */
    batch(fx, s, last, "b6.jsonl",
          EV("O1:complaint", "complaint", "11:30", "O1",
             ",\"city\":\"riyadh\",\"by\":\"customer\",\"category\":\"late\","
             "\"channel\":\"app\""),
          (const char *[]){"O1", NULL});
    fc_dict_free(last->orders);
    free(last);
    now.orders = fc_dict_new();
    scan_stacked(s, &now);
    assert_int_equal(stacked_of(&now, "O5"), 0);
    assert_int_equal(stacked_of(&now, "O6"), 0);
    assert_int_equal(stacked_of(&now, "O1"), 1);
    assert_int_equal(stacked_of(&now, "O4"), 2);
    fc_dict_free(now.orders);

    /* the decisions in force are a whole run's */
    fc_store *whole = open_store(fx, "stacked_whole.db");
    ingest(fx, whole, FC_TEST_DATA "/adjudicate", "cities.csv", NULL);
    ingest(fx, whole, FC_TEST_DATA "/adjudicate", "riders.csv", NULL);
    for (int b = 1; b <= 6; b++) {
        char name[32];
        snprintf(name, sizeof name, "b%d.jsonl", b);
        ingest(fx, whole, fx->dir, name, NULL);
    }
    judge_all(fx, whole);
    assert_same_state(s, whole);
    fc_store_close(whole);
    fc_store_close(s);
}

/* ---------------------------------------------------------------------------
 * (c) The carry table after a whole run is what the scan computes.
 */
typedef struct carry_check {
    fc_store *s;
    int64_t carries, none;
} carry_check;

static int check_carry(void *ud, fc_str order, fc_str rider, int64_t picked_up_at,
                       int64_t delivered_at) {
    carry_check *c = ud;
    char stored[128];
    int64_t p = 0, d = 0;
    int found = 0;
    fc_err err;
    assert_int_equal(fc_store_carry_get(c->s, order, stored, sizeof stored, &p, &d, &found, &err),
                     FC_OK);
    int has = rider.n > 0 && picked_up_at != FC_TS_NONE && delivered_at != FC_TS_NONE &&
              delivered_at > picked_up_at;
    assert_int_equal(found, has);
    if (has) {
        assert_true(fc_str_eqc(rider, stored));
        assert_true(p == picked_up_at && d == delivered_at);
        c->carries++;
    } else {
        c->none++;
    }
    return 0;
}

typedef struct rider_count {
    fc_str self;
    int64_t n;
} rider_count;

static int count_carry(void *ud, fc_str order, int64_t picked_up_at, int64_t delivered_at) {
    (void)order;
    (void)picked_up_at;
    (void)delivered_at;
    ((rider_count *)ud)->n++;
    return 0;
}

static void test_carry_table(void **state) {
    fixture *fx = *state;
    fc_store *s = open_store(fx, "carry.db");
    ingest(fx, s, FC_TEST_DATA "/adjudicate", "cities.csv", NULL);
    ingest(fx, s, FC_TEST_DATA "/adjudicate", "riders.csv", NULL);
    ingest(fx, s, FC_TEST_DATA "/adjudicate", "orders.csv", NULL);
    const char *extra = CARRIED("O5", "r1", "09:59", "10:15", "10:15")
        CARRIED("O6", "r2", "09:59", "10:25", "10:05") CREATED("O7", "09:00");
    assert_int_equal(fc_test_write(fx->dir, "extra.jsonl", extra, strlen(extra)), 0);
    ingest(fx, s, fx->dir, "extra.jsonl", NULL);
    /* a stale carry of an order that has none: the run forgets it */
    fc_err err;
    assert_int_equal(fc_store_carry_put(s, fc_str_c("A4"), fc_str_c("r4"), 10, 20, NULL, &err),
                     FC_OK);
    judge_all(fx, s);
    carry_check c = {.s = s};
    fc_scan_opts so;
    fc_scan_opts_init(&so);
    so.context = 1;
    so.carry = check_carry;
    so.carry_ud = &c;
    assert_int_equal(fc_scan_orders(s, &so, NULL, NULL, NULL, &err), FC_OK);
    assert_int_equal(c.carries, 4); /* A1, A2, A3, A5; none of A4, O5, O6, O7 */
    assert_int_equal(c.none, 4);
    /* nothing else in the table: r1 holds A1 and A5 */
    rider_count rc1 = {FC_STR_NULL, 0};
    assert_int_equal(
        fc_store_carries(s, fc_str_c("r1"), INT64_MIN, INT64_MAX, count_carry, &rc1, &err), FC_OK);
    assert_int_equal(rc1.n, 2);
    rider_count rc4 = {FC_STR_NULL, 0};
    assert_int_equal(
        fc_store_carries(s, fc_str_c("r4"), INT64_MIN, INT64_MAX, count_carry, &rc4, &err), FC_OK);
    assert_int_equal(rc4.n, 0);
    fc_store_close(s);
}

/* txn_ms: a run commits as it goes, so another connection sees its writes
 * (PRAGMA data_version moves) while it runs; without it, one transaction
 * for a run this small, seen only at its end. Each transaction is opened
 * under txn_lock and closed before txn_unlock. */
typedef struct commits_seen {
    sqlite3 *other;
    int64_t last;
    int changes, calls;
    int locks, unlocks, held; /* txn_lock / txn_unlock */
} commits_seen;

static void txn_lock(void *ud) {
    commits_seen *c = ud;
    assert_int_equal(c->held, 0); /* never nested */
    c->held = 1;
    c->locks++;
}

static void txn_unlock(void *ud) {
    commits_seen *c = ud;
    assert_int_equal(c->held, 1);
    c->held = 0;
    c->unlocks++;
}

static int64_t data_version(sqlite3 *db) {
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA data_version", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void watch_commits(void *ud, const fc_order_facts *f, const fc_decision *d, size_t n) {
    (void)f, (void)d, (void)n;
    commits_seen *c = ud;
    usleep(3000); /* longer than the run's txn_ms */
    int64_t v = data_version(c->other);
    c->changes += c->calls++ > 0 && v != c->last;
    c->last = v;
}

static void test_txn_ms_commits_as_it_goes(void **state) {
    fixture *fx = *state;
    for (int pass = 0; pass < 2; pass++) {
        char name[32];
        snprintf(name, sizeof name, "txn%d.db", pass);
        fc_store *s = open_store(fx, name);
        ingest(fx, s, FC_TEST_DATA "/adjudicate", "cities.csv", NULL);
        ingest(fx, s, FC_TEST_DATA "/adjudicate", "riders.csv", NULL);
        ingest(fx, s, FC_TEST_DATA "/adjudicate", "orders.csv", NULL);
        /* eight more orders, all late: each has a decision to write */
        const char *more = CARRIED("T1", "r1", "09:00", "10:20", "10:40")
            CARRIED("T2", "r2", "09:01", "10:20", "10:41")
                CARRIED("T3", "r3", "09:02", "10:20", "10:42")
                    CARRIED("T4", "r4", "09:03", "10:20", "10:43")
                        CARRIED("T5", "r1", "09:04", "10:50", "11:10")
                            CARRIED("T6", "r2", "09:05", "10:50", "11:11")
                                CARRIED("T7", "r3", "09:06", "10:50", "11:12")
                                    CARRIED("T8", "r4", "09:07", "10:50", "11:13");
        assert_int_equal(fc_test_write(fx->dir, "more.jsonl", more, strlen(more)), 0);
        ingest(fx, s, fx->dir, "more.jsonl", NULL);
        char path[600];
        snprintf(path, sizeof path, "%s/%s", fx->dir, name);
        commits_seen c = {0};
        assert_int_equal(sqlite3_open(path, &c.other), SQLITE_OK);
        fc_adj_opts o;
        opts(fx, &o);
        o.txn_ms = pass == 0 ? 1 : 0;
        o.on_order = watch_commits;
        o.on_order_ud = &c;
        o.txn_lock = txn_lock;
        o.txn_unlock = txn_unlock;
        o.txn_ud = &c;
        fc_adj_stats st;
        fc_err err;
        assert_int_equal(fc_adj_run(s, &o, &st, &err), FC_OK);
        assert_true(st.orders >= 12);
        assert_int_equal(c.calls, st.orders);
        /* every transaction the run opened was locked, and ended unlocked */
        assert_int_equal(c.held, 0);
        assert_int_equal(c.locks, c.unlocks);
        if (pass == 0) {
            /* each order that wrote something (a carry, a decision) was
             * committed before the next one's visit */
            assert_true(c.changes >= 8);
            assert_true(c.locks >= 9);
        } else {
            assert_int_equal(c.changes, 0);
            assert_int_equal(c.locks, 1);
        }
        sqlite3_close(c.other);
        fc_store_close(s);
    }
}

/* The store's carry calls: an unchanged put changes nothing; a delete
 * forgets; the overlap is half-open. */
static void test_carry_store(void **state) {
    fixture *fx = *state;
    fc_store *s = open_store(fx, "carry_store.db");
    fc_err err;
    int changed = -1;
    assert_int_equal(
        fc_store_carry_put(s, fc_str_c("o1"), fc_str_c("r1"), 100, 200, &changed, &err), FC_OK);
    assert_int_equal(changed, 1);
    assert_int_equal(
        fc_store_carry_put(s, fc_str_c("o1"), fc_str_c("r1"), 100, 200, &changed, &err), FC_OK);
    assert_int_equal(changed, 0);
    assert_int_equal(
        fc_store_carry_put(s, fc_str_c("o1"), fc_str_c("r1"), 100, 250, &changed, &err), FC_OK);
    assert_int_equal(changed, 1);
    assert_int_equal(
        fc_store_carry_put(s, fc_str_c("o1"), fc_str_c("r1"), 100, 100, &changed, &err), FC_EINVAL);
    assert_int_equal(fc_store_carry_put(s, fc_str_c("o2"), fc_str_c("r1"), 250, 300, NULL, &err),
                     FC_OK);
    /* [250, 300) touches [100, 250) at 250 only: no overlap */
    rider_count n = {FC_STR_NULL, 0};
    assert_int_equal(fc_store_carries(s, fc_str_c("r1"), 100, 250, count_carry, &n, &err), FC_OK);
    assert_int_equal(n.n, 1);
    n.n = 0;
    assert_int_equal(fc_store_carries(s, fc_str_c("r1"), 249, 251, count_carry, &n, &err), FC_OK);
    assert_int_equal(n.n, 2);
    char rider[8];
    int64_t p = 0, d = 0;
    int found = 0;
    assert_int_equal(
        fc_store_carry_get(s, fc_str_c("o1"), rider, sizeof rider, &p, &d, &found, &err), FC_OK);
    assert_int_equal(found, 1);
    assert_string_equal(rider, "r1");
    assert_int_equal(d, 250);
    /* inside a batch, the writes join it */
    assert_int_equal(fc_store_begin(s, &err), FC_OK);
    assert_int_equal(fc_store_carry_delete(s, fc_str_c("o1"), &changed, &err), FC_OK);
    assert_int_equal(changed, 1);
    fc_store_rollback(s);
    assert_int_equal(
        fc_store_carry_get(s, fc_str_c("o1"), rider, sizeof rider, &p, &d, &found, &err), FC_OK);
    assert_int_equal(found, 1);
    assert_int_equal(fc_store_carry_delete(s, fc_str_c("o1"), &changed, &err), FC_OK);
    assert_int_equal(changed, 1);
    assert_int_equal(fc_store_carry_delete(s, fc_str_c("o1"), &changed, &err), FC_OK);
    assert_int_equal(changed, 0);
    fc_store_close(s);
}

/* (d) Unknown orders and orders whose creation has not arrived are
 * skipped, and leave the table alone. */
static void test_unknown_skipped(void **state) {
    fixture *fx = *state;
    fc_store *s = open_store(fx, "unknown.db");
    ingest(fx, s, FC_TEST_DATA "/adjudicate", "cities.csv", NULL);
    ingest(fx, s, FC_TEST_DATA "/adjudicate", "riders.csv", NULL);
    const char *text = PICKED("Z1", "10:00", "r1") DELIVERED("Z1", "10:30", "r1")
        CARRIED("Z2", "r1", "09:00", "10:10", "10:20");
    assert_int_equal(fc_test_write(fx->dir, "z.jsonl", text, strlen(text)), 0);
    ingest(fx, s, fx->dir, "z.jsonl", NULL);
    fc_adj_opts o;
    opts(fx, &o);
    stacked_seen got = {.orders = fc_dict_new()};
    o.on_input = note_input;
    o.on_order_ud = &got;
    fc_str ids[] = {fc_str_c("nope"), fc_str_c("Z1"), fc_str_c("Z2")};
    fc_adj_stats st;
    fc_err err;
    assert_int_equal(fc_adj_run_orders(s, &o, ids, 3, &st, &err), FC_OK);
    assert_int_equal(st.orders, 1); /* Z2 only */
    assert_int_equal(fc_dict_count(got.orders), 1);
    /* Z1 (no creation event) still overlaps Z2, as a whole scan counts it */
    assert_int_equal(stacked_of(&got, "Z2"), 1);
    stacked_seen want = {.orders = fc_dict_new()};
    scan_stacked(s, &want);
    assert_int_equal(stacked_of(&want, "Z2"), 1);
    int found = 0;
    char rider[8];
    int64_t p = 0, d = 0;
    assert_int_equal(
        fc_store_carry_get(s, fc_str_c("nope"), rider, sizeof rider, &p, &d, &found, &err), FC_OK);
    assert_int_equal(found, 0);
    fc_dict_free(got.orders);
    fc_dict_free(want.orders);
    fc_store_close(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_txn_ms_commits_as_it_goes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_carry_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_carry_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_skipped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stacked_orders, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batches_equal_whole, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
