/*
 * replay and rule quality: backtests of the default pack against itself
 * and against candidates changed in one place, checked against a direct
 * fc_judge loop over the same scan; rule quality over recorded decisions
 * and appeals; the commands' output.
 *
 * The store is a small demo world (one day, small scale), generated and
 * ingested once for the whole file.
 */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <jansson.h>

#include "adjudicate/adjudicate.h"
#include "appeal/appeal.h"
#include "gen/gen.h"
#include "ingest/ingest.h"
#include "support.h"

typedef struct fixture {
    char *dir; /* temporary folder: world/, the store, candidate packs */
    char db[4096];
    fc_store *s;
    fc_policy_pack *base;
} fixture;

static fixture fx;

static void path_in(char *buf, size_t cap, const char *name) {
    int n = snprintf(buf, cap, "%s/%s", fx.dir, name);
    assert_true(n > 0 && (size_t)n < cap);
}

static int setup(void **state) {
    (void)state;
    fx.dir = fc_test_tmpdir();
    char world[4096];
    path_in(world, sizeof world, "world");
    fc_gen_opts go;
    fc_gen_opts_init(&go);
    go.days = 1;
    go.scale = FC_GEN_SCALE_SMALL * 2;
    fc_err err;
    fc_err_clear(&err);
    if (fc_gen_world(world, &go, NULL, &err) != FC_OK) {
        fprintf(stderr, "gen: %s\n", err.msg);
        return -1;
    }
    path_in(fx.db, sizeof fx.db, "fulcrum.db");
    if (fc_store_open(fx.db, &fx.s, &err) != FC_OK) {
        return -1;
    }
    for (size_t i = 0; fc_gen_file(i) != NULL; i++) {
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", world, fc_gen_file(i));
        fc_ingest_opts o;
        memset(&o, 0, sizeof o);
        o.quiet = 1;
        o.max_errors = -1;
        fc_ingest_log log;
        if (fc_ingest_file(fx.s, path, &o, &log, &err) != FC_OK || log.rejected != 0) {
            fprintf(stderr, "ingest %s: %s\n", path, err.msg);
            return -1;
        }
    }
    if (fc_policy_pack_load(fc_policy_dir(), &fx.base, &err) != FC_OK) {
        fprintf(stderr, "policies: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state) {
    (void)state;
    fc_policy_pack_free(fx.base);
    fc_store_close(fx.s);
    fc_test_rmtree(fx.dir);
    free(fx.dir);
    return 0;
}

/* ---------------------------------------------------------------------------
 * Candidate packs: the default pack copied into fx.dir/<name>, one of its
 * files (the base policy by default) edited: one rule dropped (drop != NULL)
 * and one text replaced (from != NULL).
 */
static void make_candidate_file(const char *name, const char *file, const char *drop,
                                const char *from, const char *to, char *out, size_t cap) {
    path_in(out, cap, name);
    mkdir(out, 0700);
    DIR *d = opendir(fc_policy_dir());
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 6 || strcmp(e->d_name + n - 5, ".yaml") != 0) {
            continue;
        }
        char src[4096];
        snprintf(src, sizeof src, "%s/%s", fc_policy_dir(), e->d_name);
        size_t len = 0;
        char *text = fc_test_slurp(src, &len);
        assert_non_null(text);
        if (strcmp(e->d_name, file) == 0 && drop != NULL) {
            char key[128];
            snprintf(key, sizeof key, "    - id: %s\n", drop);
            char *at = strstr(text, key);
            assert_non_null(at);
            char *end = strstr(at + 1, "\n    - id: ");
            assert_non_null(end);
            memmove(at, end + 1, strlen(end + 1) + 1);
        }
        if (strcmp(e->d_name, file) == 0 && from != NULL) {
            char *at = strstr(text, from);
            assert_non_null(at);
            size_t fl = strlen(from), tl = strlen(to), rest = strlen(at + fl);
            char *edited = malloc(strlen(text) + tl + 1);
            assert_non_null(edited);
            memcpy(edited, text, (size_t)(at - text));
            memcpy(edited + (at - text), to, tl);
            memcpy(edited + (at - text) + tl, at + fl, rest + 1);
            free(text);
            text = edited;
        }
        assert_int_equal(fc_test_write(out, e->d_name, text, strlen(text)), 0);
        free(text);
    }
    closedir(d);
}

static void make_candidate(const char *name, const char *drop, const char *from, const char *to,
                           char *out, size_t cap) {
    make_candidate_file(name, "base.yaml", drop, from, to, out, cap);
}

static fc_policy_pack *load_pack(const char *dir) {
    fc_policy_pack *pk = NULL;
    fc_err err;
    fc_err_clear(&err);
    if (fc_policy_pack_load(dir, &pk, &err) != FC_OK) {
        fail_msg("pack %s: %s:%ld: %s", dir, err.file, err.line, err.msg);
    }
    return pk;
}

static fc_replay_report *replay(const fc_policy_pack *cand, size_t top) {
    fc_replay_opts o;
    memset(&o, 0, sizeof o);
    o.base = fx.base;
    o.candidate = cand;
    o.from = o.to = FC_TS_NONE;
    o.top_riders = top;
    fc_replay_report *r = NULL;
    fc_err err;
    fc_err_clear(&err);
    if (fc_replay(fx.s, &o, &r, &err) != FC_OK) {
        fail_msg("replay: %s", err.msg);
    }
    return r;
}

static const fc_replay_row *row_of(const fc_replay_row *rows, size_t n, const char *key) {
    for (size_t i = 0; i < n; i++) {
        if (strcmp(rows[i].key, key) == 0) {
            return &rows[i];
        }
    }
    return NULL;
}

/* ---------------------------------------------------------------------------
 * The direct loop: every closed order of the same scan judged with fc_judge
 * under one pack, decisions counted per rule, money summed per currency.
 */
#define MAX_KEYS 128
typedef struct direct {
    const fc_policy_pack *pack;
    char keys[MAX_KEYS][64];
    int64_t counts[MAX_KEYS];
    size_t n_keys;
    int64_t decisions, orders, points, late;
    char currency[8][4];
    int64_t penalty[8], compensation[8], chargeback[8];
    size_t n_currency;
    const fc_thresholds *other; /* when set: count late orders no longer late under it */
    int64_t late_gone;
} direct;

static int direct_visit(void *ud, const fc_scan_order *so) {
    direct *d = ud;
    const fc_policy *p = fc_policy_for(d->pack, so->input->country, so->facts->city);
    fc_decision dec[FC_JUDGE_MAX_DECISIONS];
    size_t n = 0;
    assert_int_equal(fc_judge(p, so->input, FC_LANG_EN, dec, FC_JUDGE_MAX_DECISIONS, &n), FC_OK);
    d->orders++;
    if (d->other != NULL) {
        uint32_t a = fc_order_incidents(so->facts, fc_policy_thresholds(p));
        uint32_t b = fc_order_incidents(so->facts, d->other);
        d->late_gone += (a & FC_INC_LATE) && !(b & FC_INC_LATE);
    }
    for (size_t i = 0; i < n; i++) {
        char key[64];
        if (dec[i].rule_id[0] != '\0') {
            snprintf(key, sizeof key, "%s", dec[i].rule_id);
        } else {
            snprintf(key, sizeof key, "(no rule) %s", fc_incident_name(dec[i].incident));
        }
        size_t k = 0;
        while (k < d->n_keys && strcmp(d->keys[k], key) != 0) {
            k++;
        }
        if (k == d->n_keys) {
            assert_true(k < MAX_KEYS);
            snprintf(d->keys[d->n_keys++], sizeof d->keys[0], "%s", key);
        }
        d->counts[k]++;
        d->decisions++;
        d->points += dec[i].consequence.rider_points;
        size_t c = 0;
        while (c < d->n_currency && strcmp(d->currency[c], dec[i].currency) != 0) {
            c++;
        }
        if (c == d->n_currency) {
            assert_true(c < 8);
            snprintf(d->currency[d->n_currency++], 4, "%s", dec[i].currency);
        }
        d->penalty[c] += dec[i].consequence.rider_amount_minor;
        d->compensation[c] += dec[i].consequence.customer_compensation_minor;
        d->chargeback[c] += dec[i].consequence.merchant_chargeback_minor;
    }
    return 0;
}

/* Judge every closed order under pack; with `other` set, also count the
 * orders late under the pack's thresholds and not under other. */
static void judge_directly(direct *d, const fc_policy_pack *pack, const fc_thresholds *other) {
    memset(d, 0, sizeof *d);
    d->pack = pack;
    d->other = other;
    fc_scan_opts so;
    fc_scan_opts_init(&so);
    so.context = 1;
    so.closed_only = 1;
    fc_err err;
    fc_err_clear(&err);
    if (fc_scan_orders(fx.s, &so, direct_visit, d, NULL, &err) != FC_OK) {
        fail_msg("scan: %s", err.msg);
    }
}

static int64_t direct_count(const direct *d, const char *key) {
    for (size_t k = 0; k < d->n_keys; k++) {
        if (strcmp(d->keys[k], key) == 0) {
            return d->counts[k];
        }
    }
    return 0;
}

/* The report's per-rule counts of one side equal the direct loop's. */
static void assert_rules_match(const fc_replay_report *r, const direct *d, int candidate) {
    int64_t total = 0;
    for (size_t i = 0; i < r->n_by_rule; i++) {
        int64_t got = candidate ? r->by_rule[i].candidate : r->by_rule[i].base;
        if (got != direct_count(d, r->by_rule[i].key)) {
            fail_msg("rule %s: replay %lld, direct %lld", r->by_rule[i].key, (long long)got,
                     (long long)direct_count(d, r->by_rule[i].key));
        }
        total += got;
    }
    assert_int_equal(total, d->decisions);
    assert_int_equal(candidate ? r->decisions_candidate : r->decisions_base, d->decisions);
}

/* ---------------------------------------------------------------------------
 * Tests.
 */

static void test_self_replay_changes_nothing(void **state) {
    (void)state;
    fc_replay_report *r = replay(fx.base, 0);
    assert_true(r->orders > 1000);
    assert_true(r->decisions_base > 100);
    assert_int_equal(r->decisions_base, r->decisions_candidate);
    assert_int_equal(r->pairs, r->decisions_base);
    assert_int_equal(r->changed, 0);
    assert_int_equal(r->liable_changed, 0);
    assert_int_equal(r->appeared + r->disappeared, 0);
    assert_int_equal(r->n_riders, 0);
    assert_int_equal(r->points_base, r->points_candidate);
    for (size_t i = 0; i < r->n_by_rule; i++) {
        assert_int_equal(r->by_rule[i].changed, 0);
        assert_int_equal(r->by_rule[i].base, r->by_rule[i].candidate);
    }
    for (size_t i = 0; i < r->n_by_party; i++) {
        assert_int_equal(r->by_party[i].base, r->by_party[i].candidate);
    }
    int64_t cap_total = 0;
    for (size_t i = 0; i < r->n_by_capacity; i++) {
        cap_total += r->by_capacity[i].base;
    }
    assert_int_equal(cap_total, r->decisions_base);
    direct d;
    judge_directly(&d, fx.base, NULL);
    assert_int_equal(r->orders, d.orders);
    assert_rules_match(r, &d, 0);
    fc_replay_report_free(r);
}

static void test_removed_rule_changes_exactly_its_decisions(void **state) {
    (void)state;
    char dir[4096];
    make_candidate("no_merchant_wait", "late.merchant_wait", NULL, NULL, dir, sizeof dir);
    fc_policy_pack *cand = load_pack(dir);
    fc_replay_report *r = replay(cand, 1000);
    direct base, after;
    judge_directly(&base, fx.base, NULL);
    judge_directly(&after, cand, NULL);
    int64_t fired = direct_count(&base, "late.merchant_wait");
    assert_true(fired > 0);
    assert_int_equal(r->changed, fired);
    assert_int_equal(r->appeared + r->disappeared, 0);
    const fc_replay_row *row = row_of(r->by_rule, r->n_by_rule, "late.merchant_wait");
    assert_non_null(row);
    assert_int_equal(row->base, fired);
    assert_int_equal(row->candidate, 0);
    assert_int_equal(row->changed, fired);
    assert_string_equal(r->by_rule[0].key, "late.merchant_wait"); /* most changed first */
    for (size_t i = 1; i < r->n_by_rule; i++) {
        assert_int_equal(r->by_rule[i].changed, 0);
    }
    assert_rules_match(r, &base, 0);
    assert_rules_match(r, &after, 1);
    /* The merchant loses exactly those decisions; every one changed party. */
    const fc_replay_row *merchant = row_of(r->by_party, r->n_by_party, "merchant");
    assert_non_null(merchant);
    assert_int_equal(merchant->changed, fired);
    assert_int_equal(merchant->base - merchant->candidate, fired);
    assert_int_equal(r->liable_changed, fired);
    /* Riders listed most affected first, and together they hold the
     * changed decisions about riders. */
    int64_t riders_changed = 0;
    for (size_t i = 0; i < r->n_riders; i++) {
        assert_true(r->riders[i].changed > 0);
        if (i > 0) {
            const fc_replay_rider *a = &r->riders[i - 1], *b = &r->riders[i];
            int64_t da = llabs(a->points_candidate - a->points_base);
            int64_t db = llabs(b->points_candidate - b->points_base);
            assert_true(da > db || (da == db && a->changed >= b->changed));
        }
        riders_changed += r->riders[i].changed;
    }
    assert_true(riders_changed > 0 && riders_changed <= fired);
    fc_replay_report_free(r);
    fc_policy_pack_free(cand);
}

static void test_grace_threshold_changes_late_incidents(void **state) {
    (void)state;
    char dir[4096];
    make_candidate("grace10", NULL, "grace_min: 5 ", "grace_min: 10", dir, sizeof dir);
    fc_policy_pack *cand = load_pack(dir);
    const fc_policy *cp = fc_policy_pack_find(cand, "base");
    assert_non_null(cp);
    assert_int_equal(fc_policy_thresholds(cp)->grace_s, 600);
    direct gone;
    judge_directly(&gone, fx.base, fc_policy_thresholds(cp));
    assert_true(gone.late_gone > 0);

    fc_replay_report *r = replay(cand, 10);
    assert_int_equal(r->disappeared, gone.late_gone);
    assert_int_equal(r->appeared, 0);
    assert_int_equal(r->decisions_base - r->decisions_candidate, gone.late_gone);
    assert_true(r->changed >= gone.late_gone);
    /* The decisions that went are late ones. */
    int64_t late_changed = 0;
    for (size_t i = 0; i < r->n_by_rule; i++) {
        if (strncmp(r->by_rule[i].key, "late.", 5) == 0 ||
            strcmp(r->by_rule[i].key, "(no rule) late") == 0) {
            late_changed += r->by_rule[i].changed;
        }
    }
    assert_true(late_changed >= gone.late_gone);
    fc_replay_report_free(r);
    fc_policy_pack_free(cand);
}

static void test_money_totals_are_sums_of_consequences(void **state) {
    (void)state;
    char dir[4096];
    make_candidate("money", "late.rider_slow", "late: 3.00", "late: 4.50", dir, sizeof dir);
    fc_policy_pack *cand = load_pack(dir);
    fc_replay_report *r = replay(cand, 10);
    direct b, c;
    judge_directly(&b, fx.base, NULL);
    judge_directly(&c, cand, NULL);
    assert_int_equal(r->points_base, b.points);
    assert_int_equal(r->points_candidate, c.points);
    assert_true(r->points_base < r->points_candidate); /* fewer rider penalties */
    assert_true(r->n_money >= 2);
    for (size_t i = 0; i < r->n_money; i++) {
        const struct fc_replay_money *m = &r->money[i];
        size_t kb = 0, kc = 0;
        while (kb < b.n_currency && strcmp(b.currency[kb], m->currency) != 0) {
            kb++;
        }
        while (kc < c.n_currency && strcmp(c.currency[kc], m->currency) != 0) {
            kc++;
        }
        assert_true(kb < b.n_currency || kc < c.n_currency);
        assert_int_equal(m->penalty_base, kb < b.n_currency ? b.penalty[kb] : 0);
        assert_int_equal(m->compensation_base, kb < b.n_currency ? b.compensation[kb] : 0);
        assert_int_equal(m->chargeback_base, kb < b.n_currency ? b.chargeback[kb] : 0);
        assert_int_equal(m->penalty_candidate, kc < c.n_currency ? c.penalty[kc] : 0);
        assert_int_equal(m->compensation_candidate, kc < c.n_currency ? c.compensation[kc] : 0);
        assert_int_equal(m->chargeback_candidate, kc < c.n_currency ? c.chargeback[kc] : 0);
    }
    fc_replay_report_free(r);
    fc_policy_pack_free(cand);
}

static void test_country_change_leaves_other_countries(void **state) {
    (void)state;
    char dir[4096];
    make_candidate_file("sa_late", "sa.yaml", NULL, "late: 10.00", "late: 12.00", dir, sizeof dir);
    fc_policy_pack *cand = load_pack(dir);
    fc_replay_report *r = replay(cand, 10);
    direct after;
    judge_directly(&after, cand, NULL);
    assert_rules_match(r, &after, 1);
    assert_true(r->changed > 0);
    assert_int_equal(r->liable_changed, 0);
    int sar = 0;
    for (size_t i = 0; i < r->n_money; i++) {
        const struct fc_replay_money *m = &r->money[i];
        assert_int_equal(m->chargeback_base, m->chargeback_candidate);
        assert_int_equal(m->penalty_base, m->penalty_candidate);
        if (strcmp(m->currency, "SAR") == 0) {
            sar = 1; /* every changed decision pays 2.00 SAR more */
            assert_int_equal(m->compensation_candidate - m->compensation_base, 200 * r->changed);
        } else {
            assert_int_equal(m->compensation_base, m->compensation_candidate);
        }
    }
    assert_true(sar);
    fc_replay_report_free(r);
    fc_policy_pack_free(cand);
}

/* ---------------------------------------------------------------------------
 * Rule quality.
 */
#define NOW 1800000000 /* 2027-01-15: after every order of the world */

typedef struct picked {
    char ids[16][FC_CASE_ID_MAX];
    char riders[16][64];
    size_t n;
    const char *rule;
    int64_t fired;
    int64_t by_capacity[FC_CAP__COUNT];
} picked;

static int pick_decisions(void *ud, const fc_case_decision *cd) {
    picked *p = ud;
    if (strcmp(cd->d.rule_id, p->rule) != 0) {
        return 0;
    }
    p->fired++;
    fc_capacity c = fc_capacity_from(fc_str_c(cd->capacity));
    p->by_capacity[(unsigned)c < FC_CAP__COUNT ? c : 0]++;
    if (p->n < 16 && cd->rider[0] != '\0') {
        snprintf(p->ids[p->n], sizeof p->ids[0], "%s", cd->id);
        snprintf(p->riders[p->n], sizeof p->riders[0], "%s", cd->rider);
        p->n++;
    }
    return 0;
}

typedef struct closed_counts {
    int64_t by_capacity[FC_CAP__COUNT];
} closed_counts;

static int count_closed(void *ud, const fc_scan_order *so) {
    closed_counts *c = ud;
    fc_capacity k = fc_capacity_from(so->input->capacity);
    c->by_capacity[(unsigned)k < FC_CAP__COUNT ? k : 0]++;
    return 0;
}

static const fc_rule_quality *quality_row(const fc_rule_quality *q, size_t n, const char *rule) {
    for (size_t i = 0; i < n; i++) {
        if (strcmp(q[i].rule_id, rule) == 0) {
            return &q[i];
        }
    }
    return NULL;
}

static void test_rule_quality_with_appeals(void **state) {
    (void)state;
    fc_err err;
    fc_err_clear(&err);
    fc_adj_opts o;
    fc_adj_opts_init(&o);
    o.pack = fx.base;
    o.now = NOW;
    fc_adj_stats st;
    if (fc_adj_run(fx.s, &o, &st, &err) != FC_OK) {
        fail_msg("judge run: %s", err.msg);
    }
    assert_true(st.decisions > 100);

    /* Ten decisions of a rule naming the rider are appealed: four are
     * overturned, two kept in part, four upheld. */
    picked p;
    memset(&p, 0, sizeof p);
    p.rule = "late.rider_slow";
    fc_adj_opts q;
    fc_adj_opts_init(&q);
    q.now = NOW;
    assert_int_equal(fc_adj_decisions(fx.s, &q, pick_decisions, &p, &err), FC_OK);
    assert_true(p.n >= 10);
    static const fc_verdict verdicts[10] = {
        FC_VERDICT_OVERTURN, FC_VERDICT_OVERTURN, FC_VERDICT_OVERTURN, FC_VERDICT_OVERTURN,
        FC_VERDICT_PARTIAL,  FC_VERDICT_PARTIAL,  FC_VERDICT_UPHOLD,   FC_VERDICT_UPHOLD,
        FC_VERDICT_UPHOLD,   FC_VERDICT_UPHOLD};
    for (size_t i = 0; i < 10; i++) {
        fc_appeal_filing f;
        memset(&f, 0, sizeof f);
        f.decision = p.ids[i];
        f.appellant = FC_PARTY_RIDER;
        f.appellant_id = p.riders[i];
        f.statement = "The restaurant kept me waiting and the road was closed.";
        fc_appeal a;
        if (fc_appeal_file(fx.s, fx.base, &f, NOW, p.riders[i], &a, &err) != FC_OK) {
            fail_msg("appeal: %s", err.msg);
        }
        assert_int_equal(a.state, FC_APPEAL_PENDING);
        fc_appeal_verdict v = {verdicts[i], "Reviewed the trip.", "lead", 50};
        if (fc_appeal_decide(fx.s, a.id, &v, a.last_seq, NOW + 60, NULL, &err) != FC_OK) {
            fail_msg("decide: %s", err.msg);
        }
    }

    fc_rule_quality *rows = NULL;
    size_t n = 0;
    if (fc_adj_quality(fx.s, &q, &rows, &n, &err) != FC_OK) {
        fail_msg("quality: %s", err.msg);
    }
    assert_true(n > 5);
    for (size_t i = 1; i < n; i++) {
        assert_true(rows[i - 1].fired >= rows[i].fired); /* most fired first */
    }
    const fc_rule_quality *r = quality_row(rows, n, "late.rider_slow");
    assert_non_null(r);
    assert_int_equal(r->fired, p.fired);
    assert_int_equal(r->incident, FC_INCIDENT_LATE);
    assert_int_equal(r->liable, FC_PARTY_RIDER);
    assert_int_equal(r->appealed, 10);
    assert_int_equal(r->partial, 2);
    assert_int_equal(r->overturned, 5); /* four, and two halves */
    assert_true(fabs(r->overturn_rate - 0.5) < 1e-9);
    assert_true(r->flagged & FC_RULE_FLAG_OVERTURN);
    assert_true(r->avg_points < 0);
    /* Firing rates per 1000 closed orders of each capacity type. */
    closed_counts cc;
    memset(&cc, 0, sizeof cc);
    fc_scan_opts so;
    fc_scan_opts_init(&so);
    so.closed_only = 1;
    assert_int_equal(fc_scan_orders(fx.s, &so, count_closed, &cc, NULL, &err), FC_OK);
    for (int c = FC_CAP_FULL_TIME; c < FC_CAP__COUNT; c++) {
        assert_true(cc.by_capacity[c] > 0);
        double want = 1000.0 * (double)p.by_capacity[c] / (double)cc.by_capacity[c];
        assert_true(fabs(r->rate_by_capacity[c] - want) < 1e-9);
    }
    assert_true(r->zone_max[0] != '\0' && r->zone_rate_max >= r->zone_rate_min);
    /* The capacity flag follows its definition on every row. */
    for (size_t i = 0; i < n; i++) {
        int want = rows[i].liable == FC_PARTY_RIDER && rows[i].fired >= FC_RULE_FLAG_MIN_FIRED &&
                   rows[i].capacity_ratio >= 2.0;
        assert_int_equal((rows[i].flagged & FC_RULE_FLAG_CAPACITY) != 0, want);
        if (&rows[i] != r) {
            assert_int_equal(rows[i].appealed, 0);
            assert_int_equal(rows[i].flagged & FC_RULE_FLAG_OVERTURN, 0);
        }
    }
    fc_free(rows);

    /* The command prints the table with the flagged rule marked. */
    char *out = NULL, *errs = NULL;
    const char *args[] = {"report", "rules", "--db", fx.db, NULL};
    int rc = fc_test_run(NULL, args, &out, &errs);
    if (rc != 0) {
        fail_msg("report rules exited %d: %s", rc, errs);
    }
    const char *line = strstr(out, "late.rider_slow ");
    assert_non_null(line);
    const char *eol = strchr(line, '\n');
    assert_non_null(eol);
    const char *flag = strstr(line, "! ");
    assert_true(flag != NULL && flag < eol);
    assert_non_null(strstr(out, "overturn_pct"));
    free(out);
    free(errs);
}

/* ---------------------------------------------------------------------------
 * The commands.
 */

static void test_cli_replay_prints_the_tables(void **state) {
    (void)state;
    char dir[4096], file[4200];
    make_candidate("cli", "late.merchant_wait", NULL, NULL, dir, sizeof dir);
    snprintf(file, sizeof file, "%s/base.yaml", dir);
    char *out = NULL, *err = NULL;
    const char *args[] = {"replay", "--db", fx.db, "--policy", file, "--top", "5", NULL};
    int rc = fc_test_run(NULL, args, &out, &err);
    if (rc != 0) {
        fail_msg("replay exited %d: %s", rc, err);
    }
    assert_non_null(strstr(out, "decisions change"));
    assert_non_null(strstr(out, "Decisions by rule"));
    assert_non_null(strstr(out, "late.merchant_wait"));
    assert_non_null(strstr(out, "Decisions by liable party"));
    assert_non_null(strstr(out, "Decisions by rider capacity type"));
    assert_non_null(strstr(out, "Money and points"));
    assert_non_null(strstr(out, "customer compensation"));
    assert_non_null(strstr(out, "Riders most affected"));
    free(out);
    free(err);

    /* JSON: one object; a single policy file swapped into the base pack
     * gives the same diff as the whole candidate pack. */
    fc_policy_pack *cand = load_pack(dir);
    fc_replay_report *r = replay(cand, 10);
    const char *jargs[] = {"replay", "--db", fx.db, "--policy", file, "--format", "json", NULL};
    rc = fc_test_run(NULL, jargs, &out, &err);
    assert_int_equal(rc, 0);
    json_error_t jerr;
    json_t *root = json_loads(out, 0, &jerr);
    if (root == NULL) {
        fail_msg("not JSON (%s): %s", jerr.text, out);
    }
    json_t *summary = json_object_get(root, "summary");
    assert_true(json_is_array(summary));
    int64_t changed = -1;
    size_t i;
    json_t *m;
    json_array_foreach(summary, i, m) {
        if (strcmp(json_string_value(json_object_get(m, "measure")), "changed") == 0) {
            changed = json_integer_value(json_object_get(m, "value"));
        }
    }
    assert_int_equal(changed, r->changed);
    assert_true(json_is_array(json_object_get(root, "rules")));
    assert_true(json_is_array(json_object_get(root, "riders")));
    json_decref(root);
    free(out);
    free(err);
    fc_replay_report_free(r);
    fc_policy_pack_free(cand);

    /* A broken candidate file is named in the error, not its copy. */
    char bad[4200];
    snprintf(bad, sizeof bad, "%s/broken.yaml", fx.dir);
    const char *text = "policy: base\nlabel: x\nrules:\n  late:\n    - id: x\n      when: nope >\n";
    assert_int_equal(fc_test_write(fx.dir, "broken.yaml", text, strlen(text)), 0);
    const char *bargs[] = {"replay", "--db", fx.db, "--policy", bad, NULL};
    rc = fc_test_run(NULL, bargs, &out, &err);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(err, bad));
    free(out);
    free(err);
}

/* closed_orders of `fulcrum replay --format json --table summary` with
 * extra arguments. */
static int64_t cli_closed_orders(const char *const *extra) {
    const char *args[16] = {"replay",   "--db", fx.db,     "--policy", fc_policy_dir(),
                            "--format", "json", "--table", "summary"};
    size_t n = 9;
    for (size_t i = 0; extra[i] != NULL && n < 15; i++) {
        args[n++] = extra[i];
    }
    args[n] = NULL;
    char *out = NULL, *err = NULL;
    int rc = fc_test_run(NULL, args, &out, &err);
    if (rc != 0) {
        fail_msg("replay exited %d: %s", rc, err);
    }
    json_t *rows = json_loads(out, 0, NULL);
    assert_true(json_is_array(rows));
    int64_t v = -1;
    size_t i;
    json_t *m;
    json_array_foreach(rows, i, m) {
        if (strcmp(json_string_value(json_object_get(m, "measure")), "closed_orders") == 0) {
            v = json_integer_value(json_object_get(m, "value"));
        }
    }
    json_decref(rows);
    free(out);
    free(err);
    return v;
}

static int count_visit(void *ud, const fc_scan_order *so) {
    (void)so;
    (*(int64_t *)ud)++;
    return 0;
}

static int64_t scan_closed(const char *city, int64_t from) {
    fc_scan_opts so;
    fc_scan_opts_init(&so);
    so.closed_only = 1;
    so.city = city;
    so.from = from;
    int64_t n = 0;
    fc_err err;
    fc_err_clear(&err);
    assert_int_equal(fc_scan_orders(fx.s, &so, count_visit, &n, NULL, &err), FC_OK);
    return n;
}

static void test_cli_replay_period_and_city(void **state) {
    (void)state;
    int64_t riyadh = scan_closed("riyadh", FC_TS_NONE);
    assert_true(riyadh > 0 && riyadh < scan_closed(NULL, FC_TS_NONE));
    /* Riyadh's local day (from 2026-03-01T21:00Z); the world's first
     * orders come just before it. */
    const char *day[] = {"--city", "riyadh", "--from", "2026-03-02", "--to", "2026-03-02", NULL};
    assert_int_equal(cli_closed_orders(day), scan_closed("riyadh", 1772398800));
    const char *days[] = {"--city", "riyadh", "--from", "2026-03-01", "--to", "2026-03-02", NULL};
    assert_int_equal(cli_closed_orders(days), riyadh);
    const char *before[] = {"--city", "riyadh", "--to", "2026-02-28", NULL};
    assert_int_equal(cli_closed_orders(before), 0);
    /* An instant with an offset: from noon in Riyadh. */
    const char *noon[] = {"--city", "riyadh", "--from", "2026-03-02T12:00:00+03:00", NULL};
    int64_t after_noon = scan_closed("riyadh", 1772442000);
    assert_true(after_noon > 0 && after_noon < riyadh);
    assert_int_equal(cli_closed_orders(noon), after_noon);
    const char *bad[] = {"replay",        "--db",   fx.db,  "--policy",
                         fc_policy_dir(), "--from", "soon", NULL};
    char *out = NULL, *err = NULL;
    assert_int_equal(fc_test_run(NULL, bad, &out, &err), 1);
    assert_non_null(strstr(err, "--from"));
    free(out);
    free(err);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_self_replay_changes_nothing),
        cmocka_unit_test(test_removed_rule_changes_exactly_its_decisions),
        cmocka_unit_test(test_grace_threshold_changes_late_incidents),
        cmocka_unit_test(test_money_totals_are_sums_of_consequences),
        cmocka_unit_test(test_country_change_leaves_other_countries),
        cmocka_unit_test(test_cli_replay_prints_the_tables),
        cmocka_unit_test(test_cli_replay_period_and_city),
        cmocka_unit_test(test_rule_quality_with_appeals),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
