/*
 * Policies: the condition language (precedence, arithmetic, absent values,
 * lists, functions, errors with their exact positions), evidence and margins
 * of every operator, the loader (three levels of inheritance, override by
 * id, disabled rules, before/after, values and lets overridden, versions),
 * packs and the choice of a policy, and one test per error the format lists.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "event/event.h"
#include "policy/policy.h"
#include "support.h"

#define DATA  FC_TEST_DATA "/policy/"
#define CHAIN DATA "chain/"

/* ---------------------------------------------------------------------------
 * Helpers.
 */
typedef struct order {
    fc_order_facts f;
    fc_policy_input in;
} order;

/* A delivered order: 12 min late, legs known, distance 2 km. */
static void order_init(order *o) {
    memset(o, 0, sizeof *o);
    fc_order_facts_init(&o->f);
    o->f.status = FC_ORDER_DELIVERED;
    o->f.created_at = 1000000;
    o->f.accepted_at = o->f.created_at + 120;
    o->f.picked_up_at = o->f.created_at + 1200;
    o->f.delivered_at = o->f.created_at + 2400;
    o->f.lateness_s = 12 * 60;
    o->f.to_merchant_s = 9 * 60;
    o->f.to_customer_s = 14 * 60;
    o->f.wait_past_ready_s = 2 * 60;
    o->f.distance_m = 2000;
    o->f.rating = 2;
    o->f.rider_tenure_days = 100;
    o->f.weather_severity = 0;
    o->f.currency = fc_str_c("SAR");
    o->in.facts = &o->f;
    o->in.country = fc_str_c("SA");
    o->in.capacity = fc_str_c("crowd");
    o->in.merchant_kind = fc_str_c("restaurant");
    o->in.zone_kind = fc_str_c("residential");
    o->in.stacked_orders = 0;
    o->in.dispatch_outage = 0;
}

static fc_cond *compile_ok(const char *src, const fc_policy *scope) {
    fc_cond *c = NULL;
    fc_err err;
    fc_err_clear(&err);
    int rc = fc_cond_compile(src, scope, "t.yaml", 3, 11, &c, &err);
    if (rc != FC_OK) {
        fail_msg("\"%s\" did not compile: %ld:%ld: %s", src, err.line, err.col, err.msg);
    }
    return c;
}

/* Evaluate src for o (no scope). */
static int holds(const char *src, const order *o) {
    fc_cond *c = compile_ok(src, NULL);
    int r = fc_cond_eval(c, &o->in, NULL, NULL, NULL);
    fc_cond_free(c);
    return r;
}

static fc_policy_pack *load_chain(const char *file) {
    fc_policy_pack *pk = NULL;
    fc_err err;
    fc_err_clear(&err);
    if (fc_policy_load_file(file, &pk, &err) != FC_OK) {
        fail_msg("%s:%ld:%ld: %s", err.file, err.line, err.col, err.msg);
    }
    return pk;
}

static const fc_policy *last(const fc_policy_pack *pk) {
    return fc_policy_pack_at(pk, fc_policy_pack_count(pk) - 1);
}

static const fc_rule *rule_by_id(const fc_policy *p, fc_incident_kind k, const char *id) {
    const fc_rule *const *rules;
    size_t n = fc_policy_rules(p, k, &rules);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(rules[i]->id, id) == 0) {
            return rules[i];
        }
    }
    return NULL;
}

/* ---------------------------------------------------------------------------
 * The condition language.
 */
static void test_precedence_and_arithmetic(void **state) {
    (void)state;
    order o;
    order_init(&o);
    assert_true(holds("1 + 2 * 3 == 7", &o));
    assert_true(holds("(1 + 2) * 3 == 9", &o));
    assert_true(holds("10 - 4 - 3 == 3", &o)); /* left to right */
    assert_true(holds("8 / 4 / 2 == 1", &o));  /* left to right */
    assert_true(holds("-2 * -3 == 6", &o));    /* unary minus binds tightest */
    assert_true(holds("2 - -1 == 3", &o));
    assert_true(holds("true or false and false", &o)); /* and before or */
    assert_false(holds("(true or false) and false", &o));
    assert_false(holds("not true and true", &o)); /* not before and */
    assert_true(holds("not (true and false)", &o));
    assert_true(holds("lateness_min * 60 == 720", &o));
    assert_true(holds("lateness_min + 1 > 12.5 and lateness_min - 1 < 11.5", &o));
    assert_true(holds("1.5 * 2 == 3", &o));
    assert_true(holds("distance_m / 1000 * 3 == 6", &o));
}

static void test_absent_values(void **state) {
    (void)state;
    order o;
    order_init(&o);
    o.f.lateness_s = FC_DUR_NONE;
    assert_false(holds("lateness_min > 0", &o));
    assert_false(holds("lateness_min <= 0", &o));
    assert_false(holds("lateness_min == 0", &o));
    assert_false(holds("lateness_min != 0", &o)); /* != with an absent side is false too */
    assert_true(holds("not (lateness_min > 0)", &o));
    assert_false(holds("lateness_min + 1 > 0", &o)); /* arithmetic keeps absence */
    assert_false(holds("min(lateness_min, 5) < 10", &o));
    assert_false(holds("known(lateness_min)", &o));
    assert_true(holds("not known(lateness_min)", &o));
    assert_true(holds("known(distance_m)", &o));
    assert_false(holds("lateness_min in [0, 12]", &o));
    /* a division by zero is absent, not infinite */
    assert_false(holds("distance_m / 0 > 1", &o));
    assert_false(holds("known(distance_m / 0)", &o));
    /* absent facts of the order */
    o.f.rating = FC_INT_NONE;
    assert_false(holds("rating <= 2", &o));
    o.in.stacked_orders = FC_INT_NONE;
    assert_false(holds("stacked_orders >= 0", &o));
}

static void test_lists_and_words(void **state) {
    (void)state;
    order o;
    order_init(&o);
    assert_true(holds("capacity in ['crowd', 'part_time']", &o));
    assert_true(holds("capacity in [crowd]", &o)); /* bare words opposite a word fact */
    assert_false(holds("capacity in [\"full_time\"]", &o));
    assert_true(holds("rating in [1, 2]", &o));
    assert_false(holds("rating in [4, 5]", &o));
    assert_true(holds("status == 'delivered'", &o));
    assert_true(holds("status == delivered", &o));
    assert_true(holds("status != cancelled", &o));
    assert_true(holds("country == 'SA' and merchant_kind == 'restaurant'", &o));
    assert_true(holds("cancelled_by == ''", &o)); /* not cancelled: empty */
    o.f.status = FC_ORDER_CANCELLED;
    o.f.cancelled_by = FC_PARTY_MERCHANT;
    assert_true(holds("cancelled_by == merchant", &o));
    assert_true(holds("status in [cancelled, undeliverable]", &o));
}

static void test_functions_and_flags(void **state) {
    (void)state;
    order o;
    order_init(&o);
    assert_true(holds("min(lateness_min, 5) == 5", &o));
    assert_true(holds("max(lateness_min, 5) == 12", &o));
    assert_true(holds("max(min(1, 2), 0) == 1", &o));
    assert_true(holds("picked_up", &o)); /* a 0/1 fact reads as a condition */
    assert_false(holds("arrived_customer", &o));
    assert_true(holds("not arrived_customer and picked_up", &o));
    o.f.complaint_mask = 1u << FC_COMPLAINT_MISSING_ITEM;
    assert_true(holds("complaint_missing_item and not complaint_wrong_item", &o));
    o.in.dispatch_outage = 1;
    assert_true(holds("dispatch_outage == 1", &o));
    assert_true(holds("known(capacity)", &o)); /* a word is known when not empty */
    o.in.capacity = fc_str_c("");
    assert_false(holds("known(capacity)", &o));
}

/* Each error: source, column of the offending token (the condition starts
 * at line 3, column 11 of t.yaml), words of the reason. */
static void test_condition_errors(void **state) {
    (void)state;
    static const struct {
        const char *src;
        long col;
        const char *words;
    } cases[] = {
        {"lateness_mins > 0", 11, "unknown name \"lateness_mins\""},
        {"lateness_min > 0 and ratin < 3", 32, "unknown name \"ratin\""},
        {"lateness_min >", 25, "found the end of the condition"},
        {"lateness_min > > 0", 26, "found \">\""},
        {"(lateness_min > 0", 28, "expected \")\""},
        {"lateness_min = 5", 24, "write == for"},
        {"lateness_min > 0 && rating < 3", 28, "write and, or, not"},
        {"status < 'delivered'", 18, "cannot be compared with \"<\""},
        {"capacity >= crowd", 20, "cannot be compared with \">=\""},
        {"status + 1 > 2", 18, "\"+\" needs numbers on both sides"},
        {"status == 3", 18, "compares a word with a number"},
        {"lateness_min", 11, "is a number: compare it"},
        {"status == 'deliverd'", 21, "status is never \"deliverd\""},
        {"capacity in [crowd, fulltime]", 31, "capacity is never \"fulltime\""},
        {"rating in [1, 'two']", 25, "the list holds a word"},
        {"lateness_min > 0 lateness_min", 28, "expected \"and\", \"or\""},
        {"min(lateness_min) > 0", 27, "expected \",\""},
        {"known(lateness_min > 0) ", 30, "expected \")\""},
        {"known(lateness_min > 0 and true)", 30, "expected \")\""},
        {"", 11, "the condition is empty"},
        {"status == 'open", 21, "is not closed"},
        {"1.2.3 > 0", 11, "is not a number"},
        {"lateness_min > 0 and 5", 32, "is a number: compare it"},
        {"lateness_min > 0 or and", 31, "found \"and\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fc_cond *c = NULL;
        fc_err err;
        fc_err_clear(&err);
        int rc = fc_cond_compile(cases[i].src, NULL, "t.yaml", 3, 11, &c, &err);
        if (rc == FC_OK || err.line != 3 || err.col != cases[i].col ||
            strstr(err.msg, cases[i].words) == NULL || strcmp(err.file, "t.yaml") != 0) {
            fail_msg("case %zu \"%s\": rc %d at %ld:%ld: %s (expected col %ld, \"%s\")", i,
                     cases[i].src, rc, err.line, err.col, err.msg, cases[i].col, cases[i].words);
        }
        assert_null(c);
    }
}

/* A condition over several lines (a YAML block) reports the line of the
 * token in the file. */
static void test_condition_error_lines(void **state) {
    (void)state;
    fc_cond *c = NULL;
    fc_err err;
    fc_err_clear(&err);
    assert_int_not_equal(fc_cond_compile("lateness_min > 0 and\nrating < 3 and\nwho == 1", NULL,
                                         "t.yaml", 3, 11, &c, &err),
                         FC_OK);
    assert_int_equal(err.line, 5);
    assert_int_equal(err.col, 1);
    assert_non_null(strstr(err.msg, "unknown name \"who\""));
}

/* ---------------------------------------------------------------------------
 * Evidence and margins.
 */
static void check_ev(const char *src, const order *o, int held, double margin, const char *op) {
    fc_cond *c = compile_ok(src, NULL);
    fc_evidence ev[FC_EVIDENCE_MAX];
    size_t n = 0, seen = 0;
    fc_cond_eval(c, &o->in, ev, &n, &seen);
    fc_cond_free(c);
    if (n != 1 || seen != 1 || ev[0].held != held || ev[0].margin < margin - 1e-9 ||
        ev[0].margin > margin + 1e-9 || strcmp(ev[0].op, op) != 0) {
        fail_msg("\"%s\": n %zu held %d margin %g op %s (expected held %d margin %g op %s)", src, n,
                 n ? ev[0].held : -1, n ? ev[0].margin : -1, n ? ev[0].op : "", held, margin, op);
    }
}

static void test_evidence_margins(void **state) {
    (void)state;
    order o;
    order_init(&o); /* lateness 12 min */
    check_ev("lateness_min > 10", &o, 1, 2, ">");
    check_ev("lateness_min > 12", &o, 0, 0, ">"); /* exactly at the threshold */
    check_ev("lateness_min > 15", &o, 0, 3, ">");
    check_ev("lateness_min >= 12", &o, 1, 0, ">=");
    check_ev("lateness_min >= 10", &o, 1, 2, ">=");
    check_ev("lateness_min >= 14", &o, 0, 2, ">=");
    check_ev("lateness_min < 15", &o, 1, 3, "<");
    check_ev("lateness_min < 10", &o, 0, 2, "<");
    check_ev("lateness_min <= 12", &o, 1, 0, "<=");
    check_ev("lateness_min <= 11", &o, 0, 1, "<=");
    check_ev("lateness_min == 12", &o, 1, 0, "==");
    check_ev("lateness_min == 10", &o, 0, 2, "==");
    check_ev("lateness_min != 10", &o, 1, 2, "!=");
    check_ev("lateness_min != 12", &o, 0, 0, "!=");
    check_ev("rating in [1, 2]", &o, 1, 0, "in");
    check_ev("rating in [4, 5]", &o, 0, 2, "in");
    check_ev("capacity in [crowd]", &o, 1, 0, "in");
    check_ev("capacity == full_time", &o, 0, 0, "==");
    check_ev("picked_up", &o, 1, 0, "==");

    /* the record of one comparison */
    fc_cond *c = compile_ok("to_merchant_min + to_customer_min > distance_m / 1000 * 3 + 6", NULL);
    fc_evidence ev[FC_EVIDENCE_MAX];
    size_t n = 0, seen = 0;
    assert_true(fc_cond_eval(c, &o.in, ev, &n, &seen));
    fc_cond_free(c);
    assert_int_equal(n, 1);
    assert_string_equal(ev[0].fact, "to_merchant_min + to_customer_min");
    assert_string_equal(ev[0].unit, "min");
    assert_string_equal(ev[0].against, "distance_m / 1000 * 3 + 6");
    assert_true(ev[0].value.num == 23.0);
    assert_true(ev[0].threshold.num == 12.0);
    assert_true(ev[0].margin == 11.0);
    assert_int_equal(ev[0].negated, 0);

    /* every comparison is recorded, in the order written; `not` is marked */
    c = compile_ok("lateness_min > 5 and not (rating <= 2) or capacity in [crowd, part_time]",
                   NULL);
    n = seen = 0;
    assert_true(fc_cond_eval(c, &o.in, ev, &n, &seen));
    assert_int_equal(n, 3);
    assert_string_equal(ev[0].fact, "lateness_min");
    assert_string_equal(ev[1].fact, "rating");
    assert_int_equal(ev[1].held, 1);
    assert_int_equal(ev[1].negated, 1);
    assert_string_equal(ev[1].unit, "stars");
    assert_string_equal(ev[2].op, "in");
    assert_string_equal(ev[2].detail, "in [crowd, part_time]");
    assert_true(fc_str_eqc(ev[2].threshold.text, "crowd"));
    assert_true(fc_str_eqc(ev[2].value.text, "crowd"));
    fc_cond_free(c); /* words in the evidence borrow from the condition */

    /* an absent value is shown as absent, the comparison failed */
    o.f.lateness_s = FC_DUR_NONE;
    c = compile_ok("lateness_min > 5", NULL);
    n = seen = 0;
    assert_false(fc_cond_eval(c, &o.in, ev, &n, &seen));
    fc_cond_free(c);
    assert_int_equal(n, 1);
    assert_int_equal(ev[0].value.absent, 1);
    assert_int_equal(ev[0].held, 0);
}

static void test_evidence_limit(void **state) {
    (void)state;
    order o;
    order_init(&o);
    char src[1024] = "rating > 0";
    for (int i = 0; i < 19; i++) {
        strncat(src, " and rating > 0", sizeof src - strlen(src) - 1);
    }
    fc_cond *c = compile_ok(src, NULL);
    fc_evidence ev[FC_EVIDENCE_MAX];
    size_t n = 0, seen = 0;
    assert_true(fc_cond_eval(c, &o.in, ev, &n, &seen));
    fc_cond_free(c);
    assert_int_equal(n, FC_EVIDENCE_MAX);
    assert_int_equal(seen, 20);
}

/* ---------------------------------------------------------------------------
 * Facts.
 */
static void test_facts_values(void **state) {
    (void)state;
    order o;
    order_init(&o);
    int i = fc_fact_find("lateness_min", 12);
    assert_true(i >= 0);
    assert_true(fc_fact_value((size_t)i, &o.in).num == 12.0);
    assert_string_equal(fc_fact_unit((size_t)i), "min");
    assert_int_equal(fc_fact_find("nope", 4), -1);
    /* unassigned: to the first acceptance, or to the cancellation */
    i = fc_fact_find("unassigned_min", 14);
    assert_true(fc_fact_value((size_t)i, &o.in).num == 2.0);
    o.f.accepted_at = FC_TS_NONE;
    o.f.cancelled_at = o.f.created_at + 1500;
    assert_true(fc_fact_value((size_t)i, &o.in).num == 25.0);
    /* the door wait ends at the first terminal event after the arrival */
    i = fc_fact_find("door_wait_min", 13);
    assert_true(fc_fact_value((size_t)i, &o.in).absent);
    o.f.arrived_customer_at = o.f.created_at + 1800;
    o.f.undeliverable_at = o.f.created_at + 1800 + 660;
    o.f.delivered_at = FC_TS_NONE;
    assert_true(fc_fact_value((size_t)i, &o.in).num == 11.0);
    /* money in major units of the order's currency */
    o.f.order_value_minor = 12345;
    i = fc_fact_find("order_value", 11);
    assert_true(fc_fact_value((size_t)i, &o.in).num == 123.45);
    o.f.currency = fc_str_c("KWD");
    assert_true(fc_fact_value((size_t)i, &o.in).num == 12.345);
    /* every fact has a unit or is a word, and a description */
    for (size_t k = 0; k < fc_fact_count(); k++) {
        assert_true(fc_fact_doc(k)[0] != '\0');
        assert_true(fc_fact_kind_of(k) == FC_FACT_TEXT || fc_fact_unit(k)[0] != '\0');
        assert_int_equal(fc_fact_find(fc_fact_name(k), strlen(fc_fact_name(k))), (int)k);
    }
}

static void test_names(void **state) {
    (void)state;
    assert_string_equal(fc_incident_name(FC_INCIDENT_FAR_DELIVERY), "far_delivery");
    assert_int_equal(fc_incident_from("bad_rating", 10), FC_INCIDENT_BAD_RATING);
    assert_int_equal(fc_incident_from("x", 1), -1);
    assert_int_equal(fc_lang_pick("ar-SA,ar;q=0.9,en;q=0.8"), FC_LANG_AR);
    assert_int_equal(fc_lang_pick("fr-FR,pt-BR;q=0.7,en;q=0.5"), FC_LANG_PT);
    assert_int_equal(fc_lang_pick("zh"), FC_LANG_ZH);
    assert_int_equal(fc_lang_pick("de"), FC_LANG_EN);
    assert_int_equal(fc_lang_pick(NULL), FC_LANG_EN);
    assert_string_equal(fc_lang_code(FC_LANG_PT), "pt");
}

/* The documentation names every fact. */
static void test_docs_list_every_fact(void **state) {
    (void)state;
    char *doc = fc_test_slurp(FC_SOURCE_DIR "/docs/policy.md", NULL);
    assert_non_null(doc);
    for (size_t k = 0; k < fc_fact_count(); k++) {
        char needle[80];
        snprintf(needle, sizeof needle, "| %s |", fc_fact_name(k));
        if (strstr(doc, needle) == NULL) {
            free(doc);
            fail_msg("docs/policy.md does not list the fact %s", fc_fact_name(k));
        }
    }
    free(doc);
}

/* ---------------------------------------------------------------------------
 * The loader.
 */
static void test_three_levels(void **state) {
    (void)state;
    fc_policy_pack *pk = load_chain(CHAIN "riyadh.yaml");
    assert_int_equal(fc_policy_pack_count(pk), 3);
    const fc_policy *base = fc_policy_pack_at(pk, 0);
    const fc_policy *sa = fc_policy_pack_find(pk, "sa");
    const fc_policy *riyadh = last(pk);
    assert_string_equal(fc_policy_id(base), "base");
    assert_string_equal(fc_policy_id(riyadh), "riyadh");
    assert_ptr_equal(fc_policy_parent(riyadh), sa);
    assert_ptr_equal(fc_policy_parent(sa), base);
    assert_null(fc_policy_parent(base));
    assert_string_equal(fc_policy_currency(riyadh), "SAR"); /* inherited */
    assert_string_equal(fc_policy_scope_city(riyadh), "riyadh");
    assert_string_equal(fc_policy_scope_country(sa), "SA");
    assert_true(fc_policy_has_language(riyadh, FC_LANG_AR));

    /* rule order: sandstorm before weather (sa), stacked after sandstorm
     * (riyadh), weather disabled (riyadh), overrides stay in place */
    static const char *const base_late[] = {"late.weather", "late.merchant_slow",
                                            "late.rider_slow"};
    static const char *const sa_late[] = {"late.sandstorm", "late.weather", "late.merchant_slow",
                                          "late.rider_slow"};
    static const char *const riyadh_late[] = {"late.sandstorm", "late.riyadh_stacked",
                                              "late.merchant_slow", "late.rider_slow"};
    struct {
        const fc_policy *p;
        const char *const *ids;
        size_t n;
    } want[] = {{base, base_late, 3}, {sa, sa_late, 4}, {riyadh, riyadh_late, 4}};
    for (size_t w = 0; w < 3; w++) {
        const fc_rule *const *rules;
        size_t n = fc_policy_rules(want[w].p, FC_INCIDENT_LATE, &rules);
        assert_int_equal(n, want[w].n);
        for (size_t i = 0; i < n; i++) {
            assert_string_equal(rules[i]->id, want[w].ids[i]);
            assert_int_equal(rules[i]->incident, FC_INCIDENT_LATE);
        }
    }
    const fc_rule *const *rules;
    assert_int_equal(fc_policy_rules(riyadh, FC_INCIDENT_CANCELLED, &rules), 1);
    assert_int_equal(fc_policy_rules(riyadh, FC_INCIDENT_COMPLAINT, &rules), 0);

    /* override by id: the condition changed in sa, the rest kept from base */
    const fc_rule *slow_base = rule_by_id(base, FC_INCIDENT_LATE, "late.merchant_slow");
    const fc_rule *slow_sa = rule_by_id(sa, FC_INCIDENT_LATE, "late.merchant_slow");
    assert_string_equal(slow_sa->description, slow_base->description);
    assert_int_equal(slow_sa->liable, FC_PARTY_MERCHANT);
    assert_string_equal(slow_sa->chargeback, "slow_preparation");
    assert_non_null(strstr(slow_sa->file, "base.yaml"));
    assert_non_null(strstr(slow_sa->changed_file, "sa.yaml"));
    assert_int_equal(slow_sa->changed_line, 14);
    assert_int_equal(slow_base->line, 58);
    order o;
    order_init(&o);
    o.f.wait_past_ready_s = 9 * 60;
    assert_false(fc_cond_eval(slow_base->when, &o.in, NULL, NULL, NULL));
    assert_true(fc_cond_eval(slow_sa->when, &o.in, NULL, NULL, NULL));
    /* explanations in four languages, UTF-8 kept as written */
    assert_non_null(strstr(slow_sa->explain[FC_LANG_AR], "انتظر المندوب"));
    assert_non_null(strstr(slow_sa->explain[FC_LANG_ZH], "骑手在出餐时间后等待了"));
    assert_non_null(slow_sa->explain[FC_LANG_PT]);

    /* values and lets overridden key by key */
    fc_value v;
    const char *unit = NULL;
    assert_int_equal(fc_policy_name_value(base, "new_rider_days", 14, &o.in, &v, &unit), FC_OK);
    assert_true(v.num == 14);
    assert_string_equal(unit, "days");
    assert_int_equal(fc_policy_name_value(sa, "new_rider_days", 14, &o.in, &v, NULL), FC_OK);
    assert_true(v.num == 21);
    assert_int_equal(fc_policy_name_value(riyadh, "unassigned_max_min", 18, &o.in, &v, NULL),
                     FC_OK);
    assert_true(v.num == 20);
    assert_int_equal(fc_policy_name_value(sa, "unassigned_max_min", 18, &o.in, &v, NULL), FC_OK);
    assert_true(v.num == 15);
    /* travel allowance: base 6 + 2 km * 3 = 12; sa 8 + 6 = 14 */
    assert_int_equal(fc_policy_name_value(base, "travel_allowance_min", 20, &o.in, &v, &unit),
                     FC_OK);
    assert_true(v.num == 12);
    assert_string_equal(unit, "min");
    assert_int_equal(fc_policy_name_value(riyadh, "travel_allowance_min", 20, &o.in, &v, NULL),
                     FC_OK);
    assert_true(v.num == 14);
    /* a let that uses the overridden let: 9 + 14 - 14 = 9 (riyadh), 9 + 14 - 12 = 11 (base) */
    assert_int_equal(fc_policy_name_value(riyadh, "rider_delay_min", 15, &o.in, &v, NULL), FC_OK);
    assert_true(v.num == 9);
    assert_int_equal(fc_policy_name_value(base, "rider_delay_min", 15, &o.in, &v, NULL), FC_OK);
    assert_true(v.num == 11);
    assert_int_equal(fc_policy_name_value(base, "lateness_min", 12, &o.in, &v, NULL), FC_OK);
    assert_true(v.num == 12);
    assert_int_equal(fc_policy_name_value(base, "weather_severe", 14, &o.in, &v, NULL), FC_OK);
    assert_true(v.num == 2);
    assert_int_equal(fc_policy_name_value(base, "on_time.prep_overrun_min", 24, &o.in, &v, NULL),
                     FC_OK);
    assert_true(v.num == 5);
    assert_int_equal(fc_policy_name_value(base, "nothing", 7, &o.in, &v, NULL), FC_ENOTFOUND);
    fc_policy_pack_free(pk);
}

static void test_consequences(void **state) {
    (void)state;
    fc_policy_pack *pk = load_chain(CHAIN "riyadh.yaml");
    const fc_policy *base = fc_policy_pack_find(pk, "base");
    const fc_policy *sa = fc_policy_pack_find(pk, "sa");
    order o;
    order_init(&o);
    fc_consequence cq;
    const fc_rule *weather = rule_by_id(base, FC_INCIDENT_LATE, "late.weather");
    fc_policy_consequence(base, weather, &o.in, &cq);
    assert_int_equal(cq.customer_compensation_minor, 500);
    assert_int_equal(cq.rider_points, 0);
    const fc_rule *slow = rule_by_id(base, FC_INCIDENT_LATE, "late.merchant_slow");
    fc_policy_consequence(base, slow, &o.in, &cq);
    assert_int_equal(cq.merchant_chargeback_minor, 500);
    const fc_rule *rider = rule_by_id(base, FC_INCIDENT_LATE, "late.rider_slow");
    fc_policy_consequence(base, rider, &o.in, &cq);
    assert_int_equal(cq.rider_points, -1);
    assert_int_equal(cq.warning_only, 0);
    assert_string_equal(cq.exemption, "");
    /* the new-rider exemption: 15 days is new in sa (21), not in base (14) */
    o.f.rider_tenure_days = 15;
    fc_policy_consequence(base, rider, &o.in, &cq);
    assert_int_equal(cq.rider_points, -1);
    const fc_rule *rider_sa = rule_by_id(sa, FC_INCIDENT_LATE, "late.rider_slow");
    fc_policy_consequence(sa, rider_sa, &o.in, &cq);
    assert_int_equal(cq.rider_points, 0);
    assert_int_equal(cq.warning_only, 1);
    assert_string_equal(cq.exemption, "new_rider_grace");
    assert_int_equal(fc_policy_exemption_count(sa), 1);
    /* appeals and on-time */
    assert_int_equal(fc_policy_appeal_sla_s(base, FC_PARTY_RIDER), 24 * 3600);
    assert_int_equal(fc_policy_appeal_sla_s(base, FC_PARTY_MERCHANT), 72 * 3600);
    assert_int_equal(fc_policy_thresholds(base)->grace_s, 300);
    assert_int_equal(fc_policy_thresholds(sa)->weather_severe, 2);
    fc_policy_pack_free(pk);
}

/* Penalty tables per capacity, overridden in a child cell by cell. */
static void test_penalty_override(void **state) {
    (void)state;
    char *dir = fc_test_tmpdir();
    char *base = fc_test_slurp(DATA "minimal.yaml", NULL);
    assert_non_null(base);
    char text[4096];
    snprintf(text, sizeof text, "%s",
             "policy: base\nlabel: \"1\"\ncurrency: KWD\nlanguages: [en]\n"
             "penalties:\n"
             "  major: {full_time: {points: -3}, crowd: {points: -2, amount: 1.250}}\n"
             "rules:\n  late:\n    - id: late.a\n      description: A rule.\n"
             "      when: lateness_min > 0\n      liable: rider\n      penalty: major\n"
             "      explain: {en: \"Late by {lateness_min} min.\"}\n");
    assert_int_equal(fc_test_write(dir, "base.yaml", text, strlen(text)), 0);
    const char *child = "policy: kw\ninherits: base\nscope: {country: KW}\n"
                        "penalties:\n  major: {crowd: {amount: 2.500}}\n";
    assert_int_equal(fc_test_write(dir, "kw.yaml", child, strlen(child)), 0);
    char path[512];
    snprintf(path, sizeof path, "%s/kw.yaml", dir);
    fc_policy_pack *pk = load_chain(path);
    const fc_policy *kw = last(pk);
    const fc_policy *b = fc_policy_pack_find(pk, "base");
    order o;
    order_init(&o);
    fc_consequence cq;
    fc_policy_consequence(kw, rule_by_id(kw, FC_INCIDENT_LATE, "late.a"), &o.in, &cq);
    assert_int_equal(cq.rider_points, -2); /* kept from base */
    assert_int_equal(cq.rider_amount_minor, 2500);
    fc_policy_consequence(b, rule_by_id(b, FC_INCIDENT_LATE, "late.a"), &o.in, &cq);
    assert_int_equal(cq.rider_amount_minor, 1250);
    o.in.capacity = fc_str_c("part_time"); /* no entry: the full-time one */
    fc_policy_consequence(kw, rule_by_id(kw, FC_INCIDENT_LATE, "late.a"), &o.in, &cq);
    assert_int_equal(cq.rider_points, -3);
    assert_int_equal(cq.rider_amount_minor, 0);
    fc_policy_pack_free(pk);
    free(base);
    fc_test_rmtree(dir);
    free(dir);
}

/* Copy the chain into a fresh folder. */
static char *copy_chain(void) {
    char *dir = fc_test_tmpdir();
    static const char *const files[] = {"base.yaml", "sa.yaml", "riyadh.yaml"};
    for (size_t i = 0; i < 3; i++) {
        char src[512];
        snprintf(src, sizeof src, CHAIN "%s", files[i]);
        size_t len = 0;
        char *text = fc_test_slurp(src, &len);
        assert_non_null(text);
        assert_int_equal(fc_test_write(dir, files[i], text, len), 0);
        free(text);
    }
    return dir;
}

static void versions(const char *dir, char out[3][64]) {
    char path[512];
    snprintf(path, sizeof path, "%s/riyadh.yaml", dir);
    fc_policy_pack *pk = load_chain(path);
    static const char *const ids[] = {"base", "sa", "riyadh"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(out[i], 64, "%s", fc_policy_version(fc_policy_pack_find(pk, ids[i])));
    }
    fc_policy_pack_free(pk);
}

static void append(const char *dir, const char *name, const char *extra) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    size_t len = 0;
    char *text = fc_test_slurp(path, &len);
    assert_non_null(text);
    size_t n = len + strlen(extra);
    char *both = malloc(n + 1);
    assert_non_null(both);
    memcpy(both, text, len);
    memcpy(both + len, extra, strlen(extra) + 1);
    assert_int_equal(fc_test_write(dir, name, both, n), 0);
    free(both);
    free(text);
}

static void test_versions(void **state) {
    (void)state;
    char *dir = copy_chain();
    char v0[3][64], v1[3][64], v2[3][64], v3[3][64];
    versions(dir, v0);
    assert_int_equal(strncmp(v0[0], "2026.11+", 8), 0);
    assert_int_equal(strlen(v0[0]), strlen("2026.11+") + 12);
    assert_int_equal(strncmp(v0[1], "2026.11-sa+", 11), 0);
    /* loading again changes nothing */
    versions(dir, v1);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(v0[i], v1[i]);
    }
    /* a change in the city file changes the city's version only */
    append(dir, "riyadh.yaml", "# a comment\n");
    versions(dir, v2);
    assert_string_equal(v2[0], v0[0]);
    assert_string_equal(v2[1], v0[1]);
    assert_string_not_equal(v2[2], v0[2]);
    /* a change in the base changes every version of the chain */
    append(dir, "base.yaml", "# another\n");
    versions(dir, v3);
    for (size_t i = 0; i < 3; i++) {
        assert_string_not_equal(v3[i], v2[i]);
    }
    fc_test_rmtree(dir);
    free(dir);
}

static void test_pack_and_choice(void **state) {
    (void)state;
    fc_policy_pack *pk = NULL;
    fc_err err;
    fc_err_clear(&err);
    assert_int_equal(fc_policy_pack_load(CHAIN, &pk, &err), FC_OK);
    assert_int_equal(fc_policy_pack_count(pk), 3);
    const fc_policy *p = fc_policy_for(pk, fc_str_c("SA"), fc_str_c("riyadh"));
    assert_string_equal(fc_policy_id(p), "riyadh");
    p = fc_policy_for(pk, fc_str_c("sa"), fc_str_c("Riyadh"));
    assert_string_equal(fc_policy_id(p), "riyadh");
    p = fc_policy_for(pk, fc_str_c("SA"), fc_str_c("jeddah"));
    assert_string_equal(fc_policy_id(p), "sa");
    p = fc_policy_for(pk, fc_str_c("AE"), fc_str_c("dubai"));
    assert_string_equal(fc_policy_id(p), "base");
    p = fc_policy_for(pk, FC_STR_NULL, FC_STR_NULL);
    assert_string_equal(fc_policy_id(p), "base");
    /* the pack's policies are the same as the chain's */
    fc_policy_pack *chain = load_chain(CHAIN "riyadh.yaml");
    assert_string_equal(fc_policy_version(fc_policy_pack_find(pk, "riyadh")),
                        fc_policy_version(last(chain)));
    fc_policy_pack_free(chain);
    fc_policy_pack_free(pk);
}

/* ---------------------------------------------------------------------------
 * One test per error of the format.
 */
static const struct {
    const char *file;
    long line, col;
    const char *words;
} error_cases[] = {
    {"unknown_key.yaml", 4, 1, "unknown key \"langauges\""},
    {"wrong_type.yaml", 6, 31, "points must be a number"},
    {"suspend_fraction.yaml", 6, 49, "suspend_days must be a whole number of days, not 1.5"},
    {"out_of_range.yaml", 20, 14, "grace_min is 2000, outside 0..1440"},
    {"unknown_name.yaml", 15, 13, "unknown name \"lateness_mins\""},
    {"syntax.yaml", 15, 28, "expected a fact, a number or \"(\", found \">\""},
    {"word_compare.yaml", 15, 20, "cannot be compared with \"<\""},
    {"unknown_party.yaml", 16, 15, "unknown party \"kitchen\""},
    {"unknown_penalty.yaml", 17, 16, "unknown penalty level \"severe\""},
    {"unknown_compensation.yaml", 17, 19, "unknown compensation key \"later\""},
    {"unknown_chargeback.yaml", 17, 19, "unknown chargeback key \"slowly\""},
    {"missing_language.yaml", 18, 9, "explain has no \"ar\" text"},
    {"unknown_placeholder.yaml", 18, 22, "unknown placeholder {lateness}"},
    {"duplicate_rule.yaml", 19, 11, "duplicate rule id \"late.a\" (first at line 13)"},
    {"before_unknown.yaml", 23, 15, "names rule \"late.zzz\""},
    {"money_decimals.yaml", 8, 9, "has more decimals than SAR has (2)"},
    {"unknown_incident.yaml", 12, 3, "unknown incident \"lateness\""},
    {"bad_liable_word.yaml", 15, 23, "status is never \"deliverd\""},
    {"missing_parent.yaml", 2, 11, "missing parent: no policy \"nowhere\""},
    {"cycle_a.yaml", 2, 11, "inheritance cycle"},
};

static void check_error_case(size_t i) {
    char path[512];
    snprintf(path, sizeof path, DATA "errors/%s", error_cases[i].file);
    fc_policy_pack *pk = NULL;
    fc_err err;
    fc_err_clear(&err);
    int rc = fc_policy_load_file(path, &pk, &err);
    if (rc == FC_OK || pk != NULL || err.line != error_cases[i].line ||
        err.col != error_cases[i].col || strstr(err.msg, error_cases[i].words) == NULL ||
        strcmp(err.file, path) != 0) {
        fail_msg("%s: rc %d, %s:%ld:%ld: %s (expected %ld:%ld \"%s\")", error_cases[i].file, rc,
                 err.file, err.line, err.col, err.msg, error_cases[i].line, error_cases[i].col,
                 error_cases[i].words);
    }
}

#define ERROR_TEST(name, index)                                                                    \
    static void test_error_##name(void **state) {                                                  \
        (void)state;                                                                               \
        check_error_case(index);                                                                   \
    }
ERROR_TEST(unknown_key, 0)
ERROR_TEST(wrong_type, 1)
ERROR_TEST(out_of_range, 2)
ERROR_TEST(unknown_name, 3)
ERROR_TEST(syntax, 4)
ERROR_TEST(word_compare, 5)
ERROR_TEST(unknown_party, 6)
ERROR_TEST(unknown_penalty, 7)
ERROR_TEST(unknown_compensation, 8)
ERROR_TEST(unknown_chargeback, 9)
ERROR_TEST(missing_language, 10)
ERROR_TEST(unknown_placeholder, 11)
ERROR_TEST(duplicate_rule, 12)
ERROR_TEST(before_unknown, 13)
ERROR_TEST(money_decimals, 14)
ERROR_TEST(unknown_incident, 15)
ERROR_TEST(bad_word, 16)
ERROR_TEST(missing_parent, 17)
ERROR_TEST(cycle, 18)

static void test_error_same_scope(void **state) {
    (void)state;
    fc_policy_pack *pk = NULL;
    fc_err err;
    fc_err_clear(&err);
    assert_int_not_equal(fc_policy_pack_load(DATA "scope_clash", &pk, &err), FC_OK);
    assert_null(pk);
    assert_non_null(strstr(err.file, "sa2.yaml"));
    assert_int_equal(err.line, 3);
    assert_int_equal(err.col, 8);
    assert_non_null(strstr(err.msg, "have the same scope: country SA"));
}

/* Every error of a file is reported, not only the first. */
static void test_every_error_collected(void **state) {
    (void)state;
    char *dir = fc_test_tmpdir();
    const char *text = "policy: base\nlabel: \"1\"\nlanguages: [en]\nrules:\n  late:\n"
                       "    - id: a\n      description: A.\n      when: lateness_mins > 0\n"
                       "      liable: rider\n      explain: {en: \"x\"}\n"
                       "    - id: b\n      description: B.\n      when: rating > 0\n"
                       "      liable: kitchen\n      explain: {en: \"{nope}\"}\n";
    assert_int_equal(fc_test_write(dir, "base.yaml", text, strlen(text)), 0);
    char path[512];
    snprintf(path, sizeof path, "%s/base.yaml", dir);
    fc_err errs[8];
    size_t n = 0;
    fc_policy_pack *pk = NULL;
    assert_int_not_equal(fc_policy_check_file(path, errs, 8, &n, &pk), FC_OK);
    assert_null(pk);
    assert_int_equal(n, 3);
    assert_int_equal(errs[0].line, 8);
    assert_int_equal(errs[0].col, 13);
    assert_int_equal(errs[1].line, 14);
    assert_non_null(strstr(errs[1].msg, "unknown party"));
    assert_int_equal(errs[2].line, 15);
    assert_int_equal(errs[2].col, 22);
    assert_non_null(strstr(errs[2].msg, "unknown placeholder {nope}"));
    fc_test_rmtree(dir);
    free(dir);
}

/* Lets: a cycle is an error; a let can use a later let. */
static void test_lets(void **state) {
    (void)state;
    char *dir = fc_test_tmpdir();
    const char *good = "policy: base\nlabel: \"1\"\nlet:\n  a_min: b_min + 1\n  b_min: "
                       "lateness_min * 2\nrules:\n  late:\n    - id: a\n      description: A.\n"
                       "      when: a_min > 20\n      liable: rider\n      explain: {en: "
                       "\"{a_min} {b_min}\"}\n";
    assert_int_equal(fc_test_write(dir, "base.yaml", good, strlen(good)), 0);
    char path[512];
    snprintf(path, sizeof path, "%s/base.yaml", dir);
    fc_policy_pack *pk = load_chain(path);
    order o;
    order_init(&o);
    const fc_rule *r = rule_by_id(last(pk), FC_INCIDENT_LATE, "a");
    fc_evidence ev[FC_EVIDENCE_MAX];
    size_t n = 0, seen = 0;
    assert_true(fc_cond_eval(r->when, &o.in, ev, &n, &seen));
    assert_string_equal(ev[0].fact, "a_min");
    assert_string_equal(ev[0].unit, "min");
    assert_true(ev[0].value.num == 25);
    fc_policy_pack_free(pk);

    const char *cyc = "policy: base\nlabel: \"1\"\nlet:\n  a_min: b_min + 1\n  b_min: a_min * 2\n";
    assert_int_equal(fc_test_write(dir, "base.yaml", cyc, strlen(cyc)), 0);
    fc_err err;
    fc_err_clear(&err);
    pk = NULL;
    assert_int_not_equal(fc_policy_load_file(path, &pk, &err), FC_OK);
    assert_non_null(strstr(err.msg, "uses itself"));
    assert_int_equal(err.line, 5);
    fc_test_rmtree(dir);
    free(dir);
}

/* Exemptions merge by id like rules. */
static void test_exemptions_merge(void **state) {
    (void)state;
    char *dir = fc_test_tmpdir();
    const char *base = "policy: base\nlabel: \"1\"\nexemptions:\n"
                       "  - id: first\n    when: rider_tenure_days < 14\n    effect: warning\n"
                       "  - id: second\n    when: weather_severity >= 3\n    effect: waive\n";
    const char *child = "policy: sa\ninherits: base\nscope: {country: SA}\nexemptions:\n"
                        "  - id: second\n    effect: warning\n    before: first\n"
                        "  - id: third\n    when: stacked_orders > 2\n    effect: waive\n"
                        "  - id: first\n    disabled: true\n";
    assert_int_equal(fc_test_write(dir, "base.yaml", base, strlen(base)), 0);
    assert_int_equal(fc_test_write(dir, "sa.yaml", child, strlen(child)), 0);
    char path[512];
    snprintf(path, sizeof path, "%s/sa.yaml", dir);
    fc_policy_pack *pk = load_chain(path);
    const fc_policy *sa = last(pk);
    assert_int_equal(fc_policy_exemption_count(sa), 2);
    fc_policy_exemption x;
    assert_int_equal(fc_policy_exemption_at(sa, 0, &x), FC_OK);
    assert_string_equal(x.id, "second");
    assert_int_equal(x.waive, 0);
    assert_string_equal(x.when, "weather_severity >= 3");
    assert_int_equal(fc_policy_exemption_at(sa, 1, &x), FC_OK);
    assert_string_equal(x.id, "third");
    assert_int_equal(fc_policy_exemption_count(fc_policy_pack_find(pk, "base")), 2);
    fc_policy_pack_free(pk);
    fc_test_rmtree(dir);
    free(dir);
}

/* The CLI: check, facts, show. */
static void test_cli(void **state) {
    (void)state;
    char *out = NULL, *err = NULL;
    const char *check[] = {"policy", "check", CHAIN "riyadh.yaml", NULL};
    assert_int_equal(fc_test_run(NULL, check, &out, &err), 0);
    assert_non_null(strstr(out, "OK riyadh 2026.11-sa+"));
    assert_non_null(strstr(out, ": 5 rules"));
    free(out);
    free(err);
    const char *bad[] = {"policy", "check", DATA "errors/unknown_party.yaml", NULL};
    assert_int_equal(fc_test_run(NULL, bad, &out, &err), 1);
    assert_non_null(strstr(err, "unknown_party.yaml:16:15: unknown party \"kitchen\""));
    free(out);
    free(err);
    const char *facts[] = {"policy", "facts", "--format", "csv", NULL};
    assert_int_equal(fc_test_run(NULL, facts, &out, &err), 0);
    assert_non_null(strstr(out, "lateness_min,number,min,"));
    assert_non_null(strstr(out, "capacity,word,,"));
    free(out);
    free(err);
    const char *show[] = {"policy", "show", CHAIN "riyadh.yaml", NULL};
    assert_int_equal(fc_test_run(NULL, show, &out, &err), 0);
    assert_non_null(strstr(out, "chain: riyadh <- sa <- base"));
    assert_non_null(strstr(out, "1. late.sandstorm -> force_majeure"));
    assert_non_null(strstr(out, "sa.yaml:14"));
    free(out);
    free(err);
    const char *help[] = {"policy", "--help", NULL};
    assert_int_equal(fc_test_run(NULL, help, &out, &err), 0);
    assert_non_null(strstr(out, "usage: fulcrum policy check"));
    free(out);
    free(err);
}

/* Allocation failures at every step of a load leave no leak and no crash. */
static void test_allocation_failures(void **state) {
    (void)state;
    int loaded = 0;
    for (long n = 0; n < 4000 && !loaded; n++) {
        fc_policy_pack *pk = NULL;
        fc_err err;
        fc_err_clear(&err);
        fc_alloc_fail_after(n);
        int rc = fc_policy_load_file(CHAIN "riyadh.yaml", &pk, &err);
        fc_alloc_fail_after(-1);
        if (rc == FC_OK) {
            loaded = 1;
            assert_string_equal(fc_policy_id(last(pk)), "riyadh");
        } else {
            assert_null(pk);
        }
        fc_policy_pack_free(pk);
    }
    assert_true(loaded);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_precedence_and_arithmetic),
        cmocka_unit_test(test_absent_values),
        cmocka_unit_test(test_lists_and_words),
        cmocka_unit_test(test_functions_and_flags),
        cmocka_unit_test(test_condition_errors),
        cmocka_unit_test(test_condition_error_lines),
        cmocka_unit_test(test_evidence_margins),
        cmocka_unit_test(test_evidence_limit),
        cmocka_unit_test(test_facts_values),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_docs_list_every_fact),
        cmocka_unit_test(test_three_levels),
        cmocka_unit_test(test_consequences),
        cmocka_unit_test(test_penalty_override),
        cmocka_unit_test(test_versions),
        cmocka_unit_test(test_pack_and_choice),
        cmocka_unit_test(test_error_unknown_key),
        cmocka_unit_test(test_error_wrong_type),
        cmocka_unit_test(test_error_out_of_range),
        cmocka_unit_test(test_error_unknown_name),
        cmocka_unit_test(test_error_syntax),
        cmocka_unit_test(test_error_word_compare),
        cmocka_unit_test(test_error_unknown_party),
        cmocka_unit_test(test_error_unknown_penalty),
        cmocka_unit_test(test_error_unknown_compensation),
        cmocka_unit_test(test_error_unknown_chargeback),
        cmocka_unit_test(test_error_missing_language),
        cmocka_unit_test(test_error_unknown_placeholder),
        cmocka_unit_test(test_error_duplicate_rule),
        cmocka_unit_test(test_error_before_unknown),
        cmocka_unit_test(test_error_money_decimals),
        cmocka_unit_test(test_error_unknown_incident),
        cmocka_unit_test(test_error_bad_word),
        cmocka_unit_test(test_error_missing_parent),
        cmocka_unit_test(test_error_cycle),
        cmocka_unit_test(test_error_same_scope),
        cmocka_unit_test(test_every_error_collected),
        cmocka_unit_test(test_lets),
        cmocka_unit_test(test_exemptions_merge),
        cmocka_unit_test(test_cli),
        cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
