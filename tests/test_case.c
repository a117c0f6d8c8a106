/*
 * case: decisions as recorded and ledger entries. Decisions come from the
 * real judge over the default policy pack (orders folded from handwritten
 * events), so the bodies tested are the ones a judge run writes.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "case/case.h"

#define MIN 60

static fc_policy_pack *pack;

static int setup_pack(void **state) {
    (void)state;
    char dir[512];
    snprintf(dir, sizeof dir, "%s/policies", FC_SOURCE_DIR);
    fc_err err;
    int rc = fc_policy_pack_load(dir, &pack, &err);
    if (rc != FC_OK) {
        char buf[1024];
        fc_err_format(&err, buf, sizeof buf);
        fprintf(stderr, "%s\n", buf);
    }
    return rc == FC_OK ? 0 : -1;
}

static int teardown_pack(void **state) {
    (void)state;
    fc_policy_pack_free(pack);
    return 0;
}

/* What shapes a test order: instants in minutes after creation, -1 absent. */
typedef struct shape {
    const char *order;
    int accepted, arrived, picked, delivered;
    int est_ready;
} shape;

/* One judged order: its events, facts, policy input and decisions. */
typedef struct judged {
    fc_event ev[8];
    fc_order_facts facts;
    fc_policy_input in;
    const fc_policy *policy;
    fc_decision d[FC_JUDGE_MAX_DECISIONS];
    size_t n;
} judged;

static void add(judged *j, size_t *n, fc_event_type t, const char *id, int at_min) {
    fc_event *e = &j->ev[(*n)++];
    fc_event_init(e);
    e->type = t;
    e->id = fc_str_c(id);
    e->ts = 1772359200 + (int64_t)at_min * MIN; /* 2026-03-01T10:00:00Z */
    e->rider = fc_str_c("r-7");
}

/* Fold and judge an order of Riyadh made to `sh`, rider capacity full_time,
 * tenure `tenure_days` (FC_INT_NONE unknown). */
static void judge_order(judged *j, const shape *sh, int32_t tenure_days) {
    memset(j, 0, sizeof *j);
    size_t n = 0;
    add(j, &n, FC_EV_ORDER_CREATED, "c", 0);
    j->ev[0].rider = FC_STR_NULL;
    j->ev[0].city = fc_str_c("riyadh");
    j->ev[0].zone = fc_str_c("olaya");
    j->ev[0].merchant = fc_str_c("m-3");
    j->ev[0].customer = fc_str_c("u-9");
    j->ev[0].promised_at = j->ev[0].ts + 30 * MIN;
    j->ev[0].est_ready_at = sh->est_ready >= 0 ? j->ev[0].ts + sh->est_ready * MIN : FC_TS_NONE;
    j->ev[0].distance_m = 2000;
    if (sh->accepted >= 0) {
        add(j, &n, FC_EV_ORDER_ACCEPTED, "a", sh->accepted);
    }
    if (sh->arrived >= 0) {
        add(j, &n, FC_EV_RIDER_ARRIVED_MERCHANT, "m", sh->arrived);
    }
    if (sh->picked >= 0) {
        add(j, &n, FC_EV_ORDER_PICKED_UP, "p", sh->picked);
    }
    add(j, &n, FC_EV_ORDER_DELIVERED, "d", sh->delivered);
    for (size_t i = 0; i < n; i++) {
        j->ev[i].order = fc_str_c(sh->order);
    }
    j->policy = fc_policy_for(pack, fc_str_c("SA"), fc_str_c("riyadh"));
    fc_fold_ctx ctx = {fc_policy_thresholds(j->policy), NULL, 0, INT32_MIN};
    uint32_t scratch[8];
    assert_int_equal(fc_order_fold(j->ev, n, &ctx, scratch, &j->facts), FC_OK);
    j->facts.rider_tenure_days = tenure_days;
    fc_policy_input in = {&j->facts,
                          fc_str_c("SA"),
                          fc_str_c("full_time"),
                          fc_str_c("restaurant"),
                          fc_str_c("mixed"),
                          0,
                          0};
    j->in = in;
    assert_int_equal(fc_judge(j->policy, &j->in, FC_LANG_EN, j->d, FC_JUDGE_MAX_DECISIONS, &j->n),
                     FC_OK);
    assert_true(j->n >= 1);
}

/* Late by 40 min, the rider's riding explains it: severe rider penalty. */
static const shape rider_late = {"o-rider", 1, 10, 13, 70, 12};
/* Late by 40 min, 43 min waiting past the ready estimate: the merchant. */
static const shape merchant_late = {"o-merchant", 1, 10, 55, 70, 12};
/* Late with no leg recorded: undetermined, to a person. */
static const shape unclear_late = {"o-unclear", -1, -1, -1, 70, 12};

static void make(const shape *sh, int32_t tenure, fc_case_decision *cd) {
    judged *j = malloc(sizeof *j);
    assert_non_null(j);
    judge_order(j, sh, tenure);
    fc_case_decision_make(j->policy, &j->in, &j->d[0], cd);
    free(j);
}

/* ---------------------------------------------------------------------------
 * Making decisions.
 */

static void test_make_every_language(void **state) {
    (void)state;
    judged *j = malloc(sizeof *j);
    fc_case_decision *cd = malloc(sizeof *cd);
    assert_non_null(j);
    assert_non_null(cd);
    judge_order(j, &rider_late, FC_INT_NONE);
    assert_int_equal(j->d[0].liable, FC_PARTY_RIDER);
    fc_case_decision_make(j->policy, &j->in, &j->d[0], cd);
    assert_string_equal(cd->order, "o-rider");
    assert_string_equal(cd->city, "riyadh");
    assert_string_equal(cd->zone, "olaya");
    assert_string_equal(cd->rider, "r-7");
    assert_string_equal(cd->merchant, "m-3");
    assert_string_equal(cd->country, "SA");
    assert_string_equal(cd->capacity, "full_time");
    assert_int_equal(cd->created_at, 1772359200);
    assert_int_equal(cd->closed_at, 1772359200 + 70 * MIN);
    assert_int_equal(strncmp(cd->id, "dec-", 4), 0);
    assert_int_equal(strlen(cd->id), 28);
    assert_string_equal(cd->d.rule_id, j->d[0].rule_id);
    assert_string_equal(cd->explanation[FC_LANG_EN], j->d[0].explanation);
    assert_string_equal(cd->margin_text[FC_LANG_EN], j->d[0].margin_text);
    for (int l = 0; l < FC_LANG__COUNT; l++) {
        /* Each language rendered by the judge itself. */
        fc_decision again = j->d[0];
        fc_judge_explain(j->policy, &j->in, &again, (fc_lang)l);
        assert_true(cd->explanation[l][0] != '\0');
        assert_string_equal(cd->explanation[l], again.explanation);
        assert_string_equal(cd->margin_text[l], again.margin_text);
    }
    assert_string_not_equal(cd->explanation[FC_LANG_AR], cd->explanation[FC_LANG_EN]);
    assert_string_equal(cd->supersedes, "");
    free(cd);
    free(j);
}

/* ---------------------------------------------------------------------------
 * JSON round trips.
 */

static void same_value(const fc_value *a, const fc_value *b) {
    assert_int_equal(a->kind, b->kind);
    assert_int_equal(a->absent, b->absent);
    if (a->absent) {
        return;
    }
    if (a->kind == FC_FACT_TEXT) {
        assert_true(fc_str_eq(a->text, b->text));
    } else if (isnan(a->num)) {
        assert_true(isnan(b->num));
    } else {
        assert_memory_equal(&a->num, &b->num, sizeof a->num);
    }
}

static void same_decision(const fc_case_decision *a, const fc_case_decision *b) {
    assert_string_equal(a->id, b->id);
    assert_string_equal(a->order, b->order);
    assert_string_equal(a->city, b->city);
    assert_string_equal(a->zone, b->zone);
    assert_string_equal(a->rider, b->rider);
    assert_string_equal(a->merchant, b->merchant);
    assert_string_equal(a->country, b->country);
    assert_string_equal(a->capacity, b->capacity);
    assert_string_equal(a->merchant_kind, b->merchant_kind);
    assert_int_equal(a->created_at, b->created_at);
    assert_int_equal(a->closed_at, b->closed_at);
    assert_int_equal(a->stacked_orders, b->stacked_orders);
    assert_int_equal(a->dispatch_outage, b->dispatch_outage);
    assert_string_equal(a->supersedes, b->supersedes);
    const fc_decision *x = &a->d, *y = &b->d;
    assert_int_equal(x->incident, y->incident);
    assert_int_equal(x->severe, y->severe);
    assert_int_equal(x->liable, y->liable);
    assert_int_equal(x->review, y->review);
    assert_string_equal(x->rule_id, y->rule_id);
    assert_string_equal(x->policy_id, y->policy_id);
    assert_string_equal(x->policy_version, y->policy_version);
    assert_string_equal(x->currency, y->currency);
    assert_memory_equal(&x->consequence, &y->consequence, sizeof x->consequence);
    assert_int_equal(x->n_evidence, y->n_evidence);
    for (size_t i = 0; i < x->n_evidence; i++) {
        const fc_evidence *e = &x->evidence[i], *f = &y->evidence[i];
        assert_string_equal(e->fact, f->fact);
        assert_string_equal(e->unit, f->unit);
        assert_string_equal(e->op, f->op);
        same_value(&e->value, &f->value);
        same_value(&e->threshold, &f->threshold);
        assert_int_equal(e->held, f->held);
        assert_memory_equal(&e->margin, &f->margin, sizeof e->margin);
        assert_string_equal(e->detail, f->detail);
        assert_string_equal(e->against, f->against);
        assert_int_equal(e->negated, f->negated);
    }
    assert_string_equal(x->margin_fact, y->margin_fact);
    assert_memory_equal(&x->margin, &y->margin, sizeof x->margin);
    assert_string_equal(x->margin_unit, y->margin_unit);
    assert_int_equal(x->lang, y->lang);
    assert_string_equal(x->explanation, y->explanation);
    assert_string_equal(x->margin_text, y->margin_text);
    for (int l = 0; l < FC_LANG__COUNT; l++) {
        assert_string_equal(a->explanation[l], b->explanation[l]);
        assert_string_equal(a->margin_text[l], b->margin_text[l]);
    }
}

/* Encode, decode, compare, encode again: the same bytes. */
static void round_trip(const fc_case_decision *cd) {
    char *body = NULL, *again = NULL;
    size_t len = 0, len2 = 0;
    assert_int_equal(fc_case_decision_json(cd, &body, &len), FC_OK);
    assert_int_equal(strlen(body), len);
    fc_arena *arena = fc_arena_new(0);
    fc_case_decision *back = malloc(sizeof *back);
    assert_non_null(arena);
    assert_non_null(back);
    fc_err err;
    assert_int_equal(fc_case_decision_parse(fc_str_make(body, len), arena, back, &err), FC_OK);
    same_decision(cd, back);
    assert_int_equal(fc_case_decision_json(back, &again, &len2), FC_OK);
    assert_int_equal(len, len2);
    assert_string_equal(body, again);
    fc_free(body);
    fc_free(again);
    free(back);
    fc_arena_free(arena);
}

static void test_decision_round_trip(void **state) {
    (void)state;
    const shape *shapes[] = {&rider_late, &merchant_late, &unclear_late};
    fc_case_decision *cd = malloc(sizeof *cd);
    assert_non_null(cd);
    for (size_t i = 0; i < 3; i++) {
        make(shapes[i], FC_INT_NONE, cd);
        assert_true(cd->d.n_evidence > 0);
        round_trip(cd);
    }
    /* With context unknown, a supersedes link and instants absent. */
    make(&rider_late, FC_INT_NONE, cd);
    cd->stacked_orders = FC_INT_NONE;
    cd->dispatch_outage = FC_INT_NONE;
    cd->created_at = FC_TS_NONE;
    snprintf(cd->supersedes, sizeof cd->supersedes, "dec-000000000000000000000001");
    round_trip(cd);
    free(cd);
}

/* Evidence values of every kind: numbers (fractions, negative zero,
 * non-finite), absent numbers and words, words. */
static void test_evidence_values_round_trip(void **state) {
    (void)state;
    fc_case_decision *cd = malloc(sizeof *cd);
    assert_non_null(cd);
    make(&rider_late, FC_INT_NONE, cd);
    fc_evidence *e = cd->d.evidence;
    memset(e, 0, 6 * sizeof *e);
    cd->d.n_evidence = 6;
    snprintf(e[0].fact, sizeof e[0].fact, "lateness_min");
    snprintf(e[0].op, sizeof e[0].op, ">");
    e[0].value = (fc_value){FC_FACT_NUM, 0, 0.1 + 0.2, FC_STR_NULL};
    e[0].threshold = (fc_value){FC_FACT_NUM, 0, -0.0, FC_STR_NULL};
    e[0].margin = 1e-300;
    e[0].held = 1;
    snprintf(e[1].fact, sizeof e[1].fact, "to_merchant_min");
    e[1].value = (fc_value){FC_FACT_NUM, 1, 0, FC_STR_NULL};
    e[1].threshold = (fc_value){FC_FACT_NUM, 0, 15, FC_STR_NULL};
    e[1].margin = HUGE_VAL;
    snprintf(e[1].against, sizeof e[1].against, "pickup_allowance_min");
    snprintf(e[2].fact, sizeof e[2].fact, "capacity");
    snprintf(e[2].op, sizeof e[2].op, "in");
    e[2].value = (fc_value){FC_FACT_TEXT, 0, 0, fc_str_c("crowd")};
    e[2].threshold = (fc_value){FC_FACT_TEXT, 0, 0, fc_str_c("part_time")};
    snprintf(e[2].detail, sizeof e[2].detail, "in [part_time, crowd]");
    e[2].negated = 1;
    e[3].value = (fc_value){FC_FACT_TEXT, 1, 0, FC_STR_NULL};
    e[3].threshold = (fc_value){FC_FACT_TEXT, 0, 0, fc_str_c("\"quoted\" \\ \xd8\xb9")};
    e[4].value = (fc_value){FC_FACT_NUM, 0, -1e18, FC_STR_NULL};
    e[4].margin = -HUGE_VAL;
    e[5].value = (fc_value){FC_FACT_NUM, 0, 123456789.123456789, FC_STR_NULL};
    e[5].margin = NAN;
    cd->d.margin = 4.000000000000001;
    round_trip(cd);
    free(cd);
}

static void expect_parse_error(const char *body, const char *field) {
    fc_arena *arena = fc_arena_new(0);
    fc_case_decision *cd = malloc(sizeof *cd);
    assert_non_null(cd);
    fc_err err;
    fc_err_clear(&err);
    int rc = fc_case_decision_parse(fc_str_c(body), arena, cd, &err);
    if (rc != FC_EPARSE || strcmp(err.field, field) != 0) {
        fail_msg("body %.80s...: rc %d field '%s' (%s), want field %s", body, rc, err.field,
                 err.msg, field);
    }
    free(cd);
    fc_arena_free(arena);
}

/* Replace the first `from` in s by `to` into buf. */
static const char *edit(char *buf, size_t sz, const char *s, const char *from, const char *to) {
    const char *at = strstr(s, from);
    assert_non_null(at);
    snprintf(buf, sz, "%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
    return buf;
}

static void test_decision_parse_errors(void **state) {
    (void)state;
    fc_case_decision *cd = malloc(sizeof *cd);
    assert_non_null(cd);
    make(&rider_late, FC_INT_NONE, cd);
    char *body = NULL;
    size_t len = 0;
    assert_int_equal(fc_case_decision_json(cd, &body, &len), FC_OK);
    size_t sz = len + 256;
    char *b = malloc(sz);
    assert_non_null(b);
    expect_parse_error(edit(b, sz, body, "\"liable\":\"rider\"", "\"liable\":\"nobody\""),
                       "liable");
    expect_parse_error(edit(b, sz, body, "\"liable\":\"rider\",", ""), "liable");
    expect_parse_error(edit(b, sz, body, "\"severe\":true", "\"severe\":1"), "severe");
    expect_parse_error(edit(b, sz, body, "\"incident\":\"late\"", "\"incident\":7"), "incident");
    expect_parse_error(edit(b, sz, body, "\"rider_points\":-3", "\"rider_points\":-3.5"),
                       "consequence.rider_points");
    expect_parse_error(
        edit(b, sz, body, "\"kind\":\"num\",\"value\":", "\"kind\":\"num\",\"value\":\"x\",\"v\":"),
        "evidence[0].value");
    expect_parse_error(edit(b, sz, body, "\"kind\":\"num\"", "\"kind\":\"blob\""),
                       "evidence[0].kind");
    expect_parse_error(edit(b, sz, body, "\"explanation\":{\"en\"", "\"explanation\":{\"xx\""),
                       "explanation.xx");
    expect_parse_error(edit(b, sz, body, "\"created_at\":1772359200", "\"created_at\":\"now\""),
                       "created_at");
    expect_parse_error(edit(b, sz, body, "\"evidence\":[", "\"evidence\":{\"a\":1},\"x\":["),
                       "evidence");
    /* Not JSON at all, and JSON that is not an object. */
    fc_arena *arena = fc_arena_new(0);
    fc_err err;
    assert_int_equal(fc_case_decision_parse(fc_str_c("{\"id\":"), arena, cd, &err), FC_EPARSE);
    assert_int_equal(fc_case_decision_parse(fc_str_c("[1]"), arena, cd, &err), FC_EPARSE);
    assert_int_equal(fc_case_decision_parse(fc_str_c(body), arena, cd, &err), FC_OK);
    fc_arena_free(arena);
    free(b);
    fc_free(body);
    free(cd);
}

/* ---------------------------------------------------------------------------
 * Ids.
 */

static void test_id_stable_and_sensitive(void **state) {
    (void)state;
    fc_case_decision *a = malloc(sizeof *a), *b = malloc(sizeof *b);
    assert_non_null(a);
    assert_non_null(b);
    make(&rider_late, FC_INT_NONE, a);
    make(&rider_late, FC_INT_NONE, b);
    assert_string_equal(a->id, b->id);
    char id[FC_CASE_ID_MAX], base[FC_CASE_ID_MAX];
    fc_case_decision_id(&a->d, fc_str_c(a->order), base);
    assert_string_equal(base, a->id);
    /* Texts, evidence and context do not make a new decision. */
    fc_decision d = a->d;
    d.explanation[0] = 'X';
    d.margin = 99;
    d.n_evidence = 0;
    d.lang = FC_LANG_AR;
    fc_case_decision_id(&d, fc_str_c(a->order), id);
    assert_string_equal(id, base);
    /* Each outcome field does. */
    char seen[20][FC_CASE_ID_MAX];
    size_t n_seen = 0;
    for (int field = 0; field < 16; field++) {
        d = a->d;
        fc_str order = fc_str_c(a->order);
        switch (field) {
        case 0:
            order = fc_str_c("o-other");
            break;
        case 1:
            d.incident = FC_INCIDENT_COMPLAINT;
            break;
        case 2:
            snprintf(d.policy_id, sizeof d.policy_id, "base");
            break;
        case 3:
            snprintf(d.policy_version, sizeof d.policy_version, "2026.12+000000000000");
            break;
        case 4:
            d.liable = FC_PARTY_MERCHANT;
            break;
        case 5:
            snprintf(d.rule_id, sizeof d.rule_id, "late.rider_slow");
            break;
        case 6:
            d.review = !d.review;
            break;
        case 7:
            d.severe = !d.severe;
            break;
        case 8:
            d.consequence.rider_points += 1;
            break;
        case 9:
            d.consequence.rider_amount_minor += 1;
            break;
        case 10:
            d.consequence.merchant_chargeback_minor += 1;
            break;
        case 11:
            d.consequence.customer_compensation_minor += 1;
            break;
        case 12:
            d.consequence.suspend_days += 1;
            break;
        case 13:
            d.consequence.warning_only = !d.consequence.warning_only;
            break;
        case 14:
            snprintf(d.consequence.exemption, sizeof d.consequence.exemption, "x");
            break;
        default:
            snprintf(d.rule_id, sizeof d.rule_id, "%s", "");
            break;
        }
        fc_case_decision_id(&d, order, id);
        assert_string_not_equal(id, base);
        for (size_t k = 0; k < n_seen; k++) {
            assert_string_not_equal(id, seen[k]);
        }
        snprintf(seen[n_seen++], FC_CASE_ID_MAX, "%s", id);
    }
    free(a);
    free(b);
}

/* ---------------------------------------------------------------------------
 * The ledger.
 */

static void ledger_round_trip(const fc_ledger_entry *e) {
    char *body = NULL;
    size_t len = 0;
    assert_int_equal(fc_case_ledger_json(e, &body, &len), FC_OK);
    fc_ledger_entry back;
    fc_err err;
    assert_int_equal(fc_case_ledger_parse(fc_str_make(body, len), &back, &err), FC_OK);
    assert_memory_equal(e, &back, sizeof back);
    fc_free(body);
}

static void test_ledger_per_consequence(void **state) {
    (void)state;
    fc_case_decision *cd = malloc(sizeof *cd);
    assert_non_null(cd);
    fc_ledger_entry e[4];

    /* The rider: a severe late, major penalty; the customer compensated. */
    make(&rider_late, FC_INT_NONE, cd);
    assert_int_equal(cd->d.review, 0);
    size_t n = fc_case_ledger_for(cd, 0, e, 4);
    assert_int_equal(n, 2);
    assert_int_equal(e[0].kind, FC_LEDGER_PENALTY);
    assert_int_equal(e[0].party, FC_PARTY_RIDER);
    assert_string_equal(e[0].party_id, "r-7");
    assert_int_equal(e[0].points, cd->d.consequence.rider_points);
    assert_true(e[0].points < 0);
    assert_int_equal(e[0].amount_minor, -cd->d.consequence.rider_amount_minor);
    assert_string_equal(e[0].decision, cd->id);
    assert_string_equal(e[0].cause, cd->id);
    char want[256];
    snprintf(want, sizeof want, "%s:penalty:rider", cd->id);
    assert_string_equal(e[0].id, want);
    assert_int_equal(e[1].kind, FC_LEDGER_COMPENSATION);
    assert_int_equal(e[1].party, FC_PARTY_CUSTOMER);
    assert_string_equal(e[1].party_id, "o-rider");
    assert_int_equal(e[1].amount_minor, cd->d.consequence.customer_compensation_minor);
    assert_int_equal(e[1].amount_minor, 3000); /* SA: severe_late 30.00 */
    assert_string_equal(e[1].currency, "SAR");
    for (size_t i = 0; i < n; i++) {
        ledger_round_trip(&e[i]);
    }
    /* max bounds the entries written. */
    assert_int_equal(fc_case_ledger_for(cd, 0, e, 1), 1);

    /* The merchant: a chargeback (negative) and a compensation. */
    make(&merchant_late, FC_INT_NONE, cd);
    assert_int_equal(cd->d.liable, FC_PARTY_MERCHANT);
    n = fc_case_ledger_for(cd, 0, e, 4);
    assert_int_equal(n, 2);
    assert_int_equal(e[0].kind, FC_LEDGER_CHARGEBACK);
    assert_int_equal(e[0].party, FC_PARTY_MERCHANT);
    assert_string_equal(e[0].party_id, "m-3");
    assert_int_equal(e[0].amount_minor, -750);
    assert_int_equal(e[1].kind, FC_LEDGER_COMPENSATION);
    assert_int_equal(e[1].amount_minor, 1000);

    /* A new rider: the exemption makes the penalty a warning of nothing. */
    make(&rider_late, 3, cd);
    assert_int_equal(cd->d.consequence.warning_only, 1);
    n = fc_case_ledger_for(cd, 0, e, 4);
    assert_int_equal(n, 2);
    assert_int_equal(e[0].kind, FC_LEDGER_PENALTY);
    assert_int_equal(e[0].warning_only, 1);
    assert_int_equal(e[0].points, 0);
    assert_int_equal(e[0].amount_minor, 0);
    ledger_round_trip(&e[0]);

    /* A reward: positive points. */
    make(&rider_late, FC_INT_NONE, cd);
    cd->d.consequence.rider_points = 2;
    cd->d.consequence.rider_amount_minor = 0;
    n = fc_case_ledger_for(cd, 0, e, 4);
    assert_int_equal(e[0].kind, FC_LEDGER_REWARD);
    assert_int_equal(e[0].points, 2);
    free(cd);
}

static void test_review_needs_confirmation(void **state) {
    (void)state;
    fc_case_decision *cd = malloc(sizeof *cd);
    assert_non_null(cd);
    fc_ledger_entry e[4];
    make(&unclear_late, FC_INT_NONE, cd);
    assert_int_equal(cd->d.liable, FC_PARTY_UNDETERMINED);
    assert_int_equal(cd->d.review, 1);
    assert_true(cd->d.consequence.customer_compensation_minor > 0);
    assert_int_equal(fc_case_ledger_for(cd, 0, e, 4), 0);
    assert_int_equal(fc_case_ledger_for(cd, 1, e, 4), 1);
    assert_int_equal(e[0].kind, FC_LEDGER_COMPENSATION);
    /* A suspension always waits for a human too. */
    make(&rider_late, FC_INT_NONE, cd);
    cd->d.review = 1;
    cd->d.consequence.suspend_days = 3;
    assert_int_equal(fc_case_ledger_for(cd, 0, e, 4), 0);
    assert_int_equal(fc_case_ledger_for(cd, 1, e, 4), 2);
    free(cd);
}

static void test_reversal_sums_to_zero(void **state) {
    (void)state;
    fc_case_decision *cd = malloc(sizeof *cd);
    assert_non_null(cd);
    fc_ledger_entry e[4], r;
    make(&rider_late, FC_INT_NONE, cd);
    cd->d.consequence.rider_amount_minor = 1234;
    size_t n = fc_case_ledger_for(cd, 0, e, 4);
    assert_int_equal(n, 2);
    const char *cause = "dec-0123456789abcdef01234567";
    for (size_t i = 0; i < n; i++) {
        fc_case_ledger_reverse(&e[i], cause, 0, &r);
        assert_int_equal(r.kind, FC_LEDGER_REVERSAL);
        assert_int_equal(r.party, e[i].party);
        assert_string_equal(r.party_id, e[i].party_id);
        assert_string_equal(r.currency, e[i].currency);
        assert_string_equal(r.decision, e[i].decision);
        assert_string_equal(r.reverses, e[i].id);
        assert_string_equal(r.cause, cause);
        assert_int_equal(e[i].points + r.points, 0);
        assert_int_equal(e[i].amount_minor + r.amount_minor, 0);
        char want[300];
        snprintf(want, sizeof want, "%s:rev:%s", e[i].id, cause);
        assert_string_equal(r.id, want);
        ledger_round_trip(&r);
    }
    /* A long cause is named by its hash; ids stay distinct per cause. */
    char long_cause[200], other[200];
    memset(long_cause, 'a', sizeof long_cause - 1);
    long_cause[sizeof long_cause - 1] = '\0';
    snprintf(other, sizeof other, "%s", long_cause);
    other[0] = 'b';
    fc_ledger_entry r2;
    fc_case_ledger_reverse(&e[0], long_cause, 0, &r);
    fc_case_ledger_reverse(&e[0], other, 0, &r2);
    assert_true(strlen(r.id) < sizeof r.id);
    assert_non_null(strstr(r.id, ":rev:"));
    assert_string_not_equal(r.id, r2.id);
    free(cd);
}

static void test_partial_reversal(void **state) {
    (void)state;
    fc_ledger_entry e, r;
    memset(&e, 0, sizeof e);
    snprintf(e.id, sizeof e.id, "dec-x:penalty:rider");
    e.kind = FC_LEDGER_PENALTY;
    e.party = FC_PARTY_RIDER;
    e.points = -3;
    e.amount_minor = -301;
    /* Keep half: kept -1 point (toward zero), -150 money; undo the rest. */
    fc_case_ledger_reverse(&e, "apl-1", 50, &r);
    assert_int_equal(r.points, 2);
    assert_int_equal(r.amount_minor, 151);
    assert_int_equal(e.points + r.points, -1);
    assert_int_equal(e.amount_minor + r.amount_minor, -150);
    /* Keep everything: the reversal is nothing; keep nothing: all of it. */
    fc_case_ledger_reverse(&e, "apl-1", 100, &r);
    assert_int_equal(r.points, 0);
    assert_int_equal(r.amount_minor, 0);
    fc_case_ledger_reverse(&e, "apl-1", 0, &r);
    assert_int_equal(r.points, 3);
    assert_int_equal(r.amount_minor, 301);
    /* Out of range shares are clamped. */
    fc_case_ledger_reverse(&e, "apl-1", 150, &r);
    assert_int_equal(r.amount_minor, 0);
    fc_case_ledger_reverse(&e, "apl-1", -5, &r);
    assert_int_equal(r.amount_minor, 301);
    /* Positive amounts (a compensation) round toward zero too; huge ones do
     * not overflow. */
    e.kind = FC_LEDGER_COMPENSATION;
    e.points = 0;
    e.amount_minor = 999;
    fc_case_ledger_reverse(&e, "apl-1", 33, &r);
    assert_int_equal(e.amount_minor + r.amount_minor, 329);
    e.amount_minor = INT64_MAX - 1;
    fc_case_ledger_reverse(&e, "apl-1", 99, &r);
    assert_true(r.amount_minor < 0);
    assert_int_equal(e.amount_minor + r.amount_minor,
                     (INT64_MAX - 1) / 100 * 99 + (INT64_MAX - 1) % 100 * 99 / 100);
}

/* What is left of each entry sums every reversal naming it, and only those;
 * a warning undone is marked reversed though worth nothing either way. */
static void test_ledger_left(void **state) {
    (void)state;
    fc_ledger_entry e[3], rev[3];
    memset(e, 0, sizeof e);
    snprintf(e[0].id, sizeof e[0].id, "dec-x:penalty:rider");
    e[0].kind = FC_LEDGER_PENALTY;
    e[0].party = FC_PARTY_RIDER;
    e[0].points = -4;
    e[0].amount_minor = -1000;
    snprintf(e[1].id, sizeof e[1].id, "dec-x:compensation:customer");
    e[1].kind = FC_LEDGER_COMPENSATION;
    e[1].party = FC_PARTY_CUSTOMER;
    e[1].amount_minor = 1500;
    snprintf(e[2].id, sizeof e[2].id, "dec-y:penalty:rider");
    e[2].kind = FC_LEDGER_PENALTY;
    e[2].party = FC_PARTY_RIDER;
    e[2].warning_only = 1;
    fc_case_ledger_reverse(&e[0], "rev-1", 50, &rev[0]); /* keeps -2, -500 */
    fc_ledger_entry half = e[0];
    half.points = -2;
    half.amount_minor = -500;
    fc_case_ledger_reverse(&half, "apl-1", 50, &rev[1]); /* keeps -1, -250 */
    fc_case_ledger_reverse(&e[2], "wdr-1", 0, &rev[2]);
    int reversed[3] = {-1, -1, -1};
    fc_case_ledger_left(e, 3, rev, 3, reversed);
    assert_int_equal(e[0].points, -1);
    assert_int_equal(e[0].amount_minor, -250);
    assert_int_equal(reversed[0], 1);
    assert_int_equal(e[1].amount_minor, 1500);
    assert_int_equal(reversed[1], 0);
    assert_int_equal(e[2].points, 0);
    assert_int_equal(e[2].amount_minor, 0);
    assert_int_equal(reversed[2], 1);
    /* No reversals: nothing changes; reversed may be NULL. */
    fc_case_ledger_left(e, 3, NULL, 0, NULL);
    assert_int_equal(e[0].amount_minor, -250);
}

/* Fields of a compact body found without decoding it: a key only where it
 * is a key, a text value up to its closing quote. */
static void test_body_fields(void **state) {
    (void)state;
    const char *json = "{\"note\":\"the \\\"incident\\\":\\\"x\\\" said\","
                       "\"incident\":\"late\",\"review\":true,\"n\":3}";
    fc_str body = fc_str_c(json);
    assert_true(fc_str_eqc(fc_case_body_text(body, "incident"), "late"));
    assert_true(fc_str_eqc(fc_case_body_text(body, "note"), "the \\"));
    assert_null(fc_case_body_text(body, "n").p); /* not a string */
    assert_null(fc_case_body_text(body, "absent").p);
    assert_null(fc_case_body_text(FC_STR_NULL, "incident").p);
    assert_ptr_equal(fc_case_body_find(body, "\"review\":true"), strstr(json, "\"review\""));
    assert_null(fc_case_body_find(body, "\"review\":false"));
    assert_null(fc_case_body_find(fc_str_make(json, 3), "\"note\":"));
}

static void test_ledger_parse_errors(void **state) {
    (void)state;
    fc_ledger_entry e;
    fc_err err;
    const char *good =
        "{\"id\":\"a:penalty:rider\",\"kind\":\"penalty\",\"party\":\"rider\","
        "\"party_id\":\"r\",\"points\":-1,\"amount_minor\":0,\"currency\":\"SAR\","
        "\"decision\":\"a\",\"reverses\":\"\",\"cause\":\"a\",\"warning_only\":false}";
    assert_int_equal(fc_case_ledger_parse(fc_str_c(good), &e, &err), FC_OK);
    assert_int_equal(e.points, -1);
    char b[600];
    assert_int_equal(fc_case_ledger_parse(
                         fc_str_c(edit(b, sizeof b, good, "\"penalty\"", "\"fine\"")), &e, &err),
                     FC_EPARSE);
    assert_string_equal(err.field, "kind");
    assert_int_equal(
        fc_case_ledger_parse(fc_str_c(edit(b, sizeof b, good, "\"points\":-1", "\"points\":null")),
                             &e, &err),
        FC_EPARSE);
    assert_string_equal(err.field, "points");
    assert_int_equal(fc_case_ledger_parse(fc_str_c(edit(b, sizeof b, good, "\"currency\":\"SAR\"",
                                                        "\"currency\":\"SARS\"")),
                                          &e, &err),
                     FC_EPARSE);
    assert_string_equal(err.field, "currency");
    assert_int_equal(fc_case_ledger_parse(fc_str_c(edit(b, sizeof b, good, "\"kind\":\"penalty\"",
                                                        "\"kind\":\"reversal\"")),
                                          &e, &err),
                     FC_EPARSE);
    assert_string_equal(err.field, "reverses");
    assert_int_equal(fc_case_ledger_parse(fc_str_c("nope"), &e, &err), FC_EPARSE);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_make_every_language),
        cmocka_unit_test(test_decision_round_trip),
        cmocka_unit_test(test_evidence_values_round_trip),
        cmocka_unit_test(test_decision_parse_errors),
        cmocka_unit_test(test_id_stable_and_sensitive),
        cmocka_unit_test(test_ledger_per_consequence),
        cmocka_unit_test(test_review_needs_confirmation),
        cmocka_unit_test(test_reversal_sums_to_zero),
        cmocka_unit_test(test_partial_reversal),
        cmocka_unit_test(test_ledger_left),
        cmocka_unit_test(test_body_fields),
        cmocka_unit_test(test_ledger_parse_errors),
    };
    return cmocka_run_group_tests(tests, setup_pack, teardown_pack);
}
