/*
 * judge: golden cases (tests/data/judge/NAME.yaml: an order's events, its
 * context, a policy, the expected decisions) and unit tests of the judge's
 * guarantees (determinism, no decision for a good order, the undetermined
 * path, explaining again in another language).
 *
 * A case file:
 *
 *   description: what the case shows
 *   policy: default            # the pack in policies/, or packs/<name> here
 *   country: SA                # the order's country and city (policy scope)
 *   city: riyadh
 *   rider_start_date: 2026-02-20   # optional: gives rider_tenure_days
 *   context: {capacity: crowd, merchant_kind: restaurant, zone_kind: mixed,
 *             stacked_orders: 0, dispatch_outage: 0}
 *   lang: en                   # the language judged in (default en)
 *   events: |                  # canonical JSON Lines; weather events become
 *     {"id": ...}              # the city's weather windows
 *   expect:                    # the decisions in order ([] for none)
 *     - incident: late
 *       severe: true           # default false
 *       liable: rider
 *       rule: late.rider_slow  # "" when no rule held
 *       review: false          # default: true only when undetermined
 *       points: -1             # consequences default to none
 *       suspend_days: 3        # an account suspension (always with review)
 *       amount: "0.00"         # rider money penalty
 *       chargeback: "5.00"
 *       compensation: "10.00"
 *       warning: true          # an exemption made it a warning
 *       exemption: new_rider_grace
 *       margin: {fact: rider_delay_min, value: 4.0}
 *       explain: {en: [words that must appear], ar: [...]}
 *       margin_text: {en: [...]}
 *
 * Every case is judged three times, with its events as written, reversed
 * and rotated; the decisions must be the same.
 */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "gen/gen.h"
#include "ingest/ingest.h"
#include "judge/judge.h"
#include "support.h"

#define MAX_EVENTS    128
#define MAX_DECISIONS FC_JUDGE_MAX_DECISIONS

/* One loaded case: the events (strings copied into an arena), the weather
 * windows found among them, and the context. */
typedef struct jcase {
    const char *path;
    fc_yaml *doc;
    fc_arena *arena;
    fc_event events[MAX_EVENTS];
    size_t n_events;
    fc_weather weather[8];
    size_t n_weather;
    int32_t rider_start_date;
    fc_policy_input in;
    fc_order_facts facts;
    fc_policy_pack *pack;
    const fc_policy *policy;
    fc_lang lang;
} jcase;

/* Failures are collected as text so a failing case names its file and every
 * difference, then the test fails once at the end. */
static char failures[1 << 16];
static size_t n_failures;

static void note(const jcase *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(const jcase *c, const char *fmt, ...) {
    size_t len = strlen(failures);
    if (len + 512 < sizeof failures) {
        int k = snprintf(failures + len, sizeof failures - len, "%s: ", c->path);
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(failures + len + (size_t)k, sizeof failures - len - (size_t)k, fmt, ap);
        va_end(ap);
        len = strlen(failures);
        snprintf(failures + len, sizeof failures - len, "\n");
    }
    n_failures++;
}

static const char *scalar(const fc_yaml *y, const char *key) {
    const fc_yaml *v = fc_yaml_get(y, key);
    return v != NULL && v->kind == FC_YAML_SCALAR ? v->scalar : NULL;
}

static fc_str arena_copy(fc_arena *a, const char *s) {
    return s == NULL ? FC_STR_NULL : fc_arena_str(a, fc_str_c(s));
}

/* The pack a case names, loaded once per name. */
typedef struct pack_cache {
    char name[128];
    fc_policy_pack *pack;
} pack_cache;
static pack_cache packs[16];
static size_t n_packs;

static fc_policy_pack *pack_for(const char *name) {
    for (size_t i = 0; i < n_packs; i++) {
        if (strcmp(packs[i].name, name) == 0) {
            return packs[i].pack;
        }
    }
    char dir[512];
    if (strcmp(name, "default") == 0) {
        snprintf(dir, sizeof dir, "%s/policies", FC_SOURCE_DIR);
    } else {
        snprintf(dir, sizeof dir, "%s/judge/%s", FC_TEST_DATA, name);
    }
    fc_policy_pack *pk = NULL;
    fc_err err;
    fc_err_clear(&err);
    if (fc_policy_pack_load(dir, &pk, &err) != FC_OK) {
        char msg[1024];
        fc_err_format(&err, msg, sizeof msg);
        fail_msg("policy pack %s: %s", dir, msg);
    }
    assert_true(n_packs < sizeof packs / sizeof packs[0]);
    snprintf(packs[n_packs].name, sizeof packs[n_packs].name, "%s", name);
    packs[n_packs].pack = pk;
    n_packs++;
    return pk;
}

static void free_packs(void) {
    for (size_t i = 0; i < n_packs; i++) {
        fc_policy_pack_free(packs[i].pack);
    }
    n_packs = 0;
}

/* Copy every string view of e into the arena (the reader's views do not
 * outlive the next record). */
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

static int32_t parse_date(const char *s) {
    unsigned y = 0, m = 0, d = 0;
    if (s == NULL || sscanf(s, "%4u-%2u-%2u", &y, &m, &d) != 3) {
        return INT32_MIN;
    }
    return (int32_t)fc_days_from_civil((int64_t)y, m, d);
}

static fc_lang lang_of(const char *code) {
    for (int l = 0; l < FC_LANG__COUNT; l++) {
        if (code != NULL && strcmp(code, fc_lang_code((fc_lang)l)) == 0) {
            return (fc_lang)l;
        }
    }
    return FC_LANG__COUNT;
}

/* Load a case file; returns 0 on success (failures are recorded). */
static int case_load(const char *path, jcase *c) {
    memset(c, 0, sizeof *c);
    c->path = path;
    fc_err err;
    fc_err_clear(&err);
    if (fc_yaml_load_file(path, &c->doc, &err) != FC_OK) {
        note(c, "cannot read: %s", err.msg);
        return -1;
    }
    c->arena = fc_arena_new(0);
    assert_non_null(c->arena);

    const char *text = scalar(c->doc, "events");
    if (text == NULL) {
        note(c, "no events");
        return -1;
    }
    fc_reader *r = NULL;
    if (fc_reader_open(path, text, strlen(text), NULL, NULL, &r, &err) != FC_OK) {
        note(c, "events: %s", err.msg);
        return -1;
    }
    fc_record *rec = calloc(1, sizeof *rec);
    assert_non_null(rec);
    int rc;
    while ((rc = fc_reader_next(r, rec, &err)) != 0) {
        if (rc < 0) {
            char msg[1024];
            fc_err_format(&err, msg, sizeof msg);
            note(c, "event rejected: %s", msg);
            continue;
        }
        for (size_t i = 0; i < rec->n_events; i++) {
            fc_event e = rec->events[i];
            own_strings(c->arena, &e);
            if (e.type == FC_EV_WEATHER) {
                assert_true(c->n_weather < sizeof c->weather / sizeof c->weather[0]);
                fc_weather *w = &c->weather[c->n_weather++];
                w->city = e.city;
                w->zone = e.zone;
                w->from = e.from;
                w->to = e.to;
                w->severity = e.severity;
            } else if (e.order.n > 0) {
                assert_true(c->n_events < MAX_EVENTS);
                c->events[c->n_events++] = e;
            }
        }
    }
    free(rec);
    fc_reader_free(r);

    const char *pname = scalar(c->doc, "policy");
    c->pack = pack_for(pname ? pname : "default");
    const char *country = scalar(c->doc, "country");
    const char *city = scalar(c->doc, "city");
    c->in.country = arena_copy(c->arena, country);
    c->policy = fc_policy_for(c->pack, c->in.country, arena_copy(c->arena, city));
    c->rider_start_date = parse_date(scalar(c->doc, "rider_start_date"));

    const fc_yaml *ctx = fc_yaml_get(c->doc, "context");
    c->in.capacity = arena_copy(c->arena, scalar(ctx, "capacity"));
    c->in.merchant_kind = arena_copy(c->arena, scalar(ctx, "merchant_kind"));
    c->in.zone_kind = arena_copy(c->arena, scalar(ctx, "zone_kind"));
    const char *stacked = scalar(ctx, "stacked_orders");
    const char *outage = scalar(ctx, "dispatch_outage");
    c->in.stacked_orders = stacked ? (int32_t)strtol(stacked, NULL, 10) : FC_INT_NONE;
    c->in.dispatch_outage = outage ? (int32_t)strtol(outage, NULL, 10) : FC_INT_NONE;
    const char *lang = scalar(c->doc, "lang");
    c->lang = lang ? lang_of(lang) : FC_LANG_EN;
    if (c->lang == FC_LANG__COUNT) {
        note(c, "unknown lang %s", lang);
        c->lang = FC_LANG_EN;
    }
    return 0;
}

static void case_free(jcase *c) {
    fc_yaml_free(c->doc);
    fc_arena_free(c->arena);
}

/* Fold the case's events (in the order of idx) and judge them. */
static int case_judge(jcase *c, const size_t *idx, fc_decision *out, size_t *n) {
    fc_event ev[MAX_EVENTS];
    uint32_t scratch[MAX_EVENTS];
    for (size_t i = 0; i < c->n_events; i++) {
        ev[i] = c->events[idx[i]];
    }
    fc_fold_ctx fctx = {fc_policy_thresholds(c->policy), c->weather, c->n_weather,
                        c->rider_start_date};
    int rc = fc_order_fold(ev, c->n_events, &fctx, scratch, &c->facts);
    if (rc != FC_OK) {
        note(c, "fold failed: %s", fc_strerror(rc));
        return rc;
    }
    c->in.facts = &c->facts;
    return fc_judge(c->policy, &c->in, c->lang, out, MAX_DECISIONS, n);
}

static int value_eq(const fc_value *a, const fc_value *b) {
    if (a->kind != b->kind || a->absent != b->absent) {
        return 0;
    }
    if (a->absent) {
        return 1;
    }
    return a->kind == FC_FACT_TEXT ? fc_str_eq(a->text, b->text) : a->num == b->num;
}

/* Two decisions equal in every field; `texts` also compares the
 * language-dependent ones. Returns "" or the name of the first field that
 * differs. */
static const char *decision_diff(const fc_decision *a, const fc_decision *b, int texts) {
    if (a->incident != b->incident) {
        return "incident";
    }
    if (a->severe != b->severe) {
        return "severe";
    }
    if (a->liable != b->liable) {
        return "liable";
    }
    if (a->review != b->review) {
        return "review";
    }
    if (strcmp(a->rule_id, b->rule_id) != 0) {
        return "rule_id";
    }
    if (strcmp(a->policy_id, b->policy_id) != 0 ||
        strcmp(a->policy_version, b->policy_version) != 0) {
        return "policy";
    }
    const fc_consequence *x = &a->consequence, *y = &b->consequence;
    if (x->rider_points != y->rider_points || x->rider_amount_minor != y->rider_amount_minor ||
        x->merchant_chargeback_minor != y->merchant_chargeback_minor ||
        x->customer_compensation_minor != y->customer_compensation_minor ||
        x->warning_only != y->warning_only || strcmp(x->exemption, y->exemption) != 0) {
        return "consequence";
    }
    if (strcmp(a->currency, b->currency) != 0) {
        return "currency";
    }
    if (a->n_evidence != b->n_evidence) {
        return "n_evidence";
    }
    for (size_t i = 0; i < a->n_evidence; i++) {
        const fc_evidence *e = &a->evidence[i], *f = &b->evidence[i];
        if (strcmp(e->fact, f->fact) != 0 || strcmp(e->op, f->op) != 0 ||
            strcmp(e->unit, f->unit) != 0 || e->held != f->held || e->margin != f->margin ||
            !value_eq(&e->value, &f->value) || !value_eq(&e->threshold, &f->threshold)) {
            return "evidence";
        }
    }
    if (strcmp(a->margin_fact, b->margin_fact) != 0 || a->margin != b->margin ||
        strcmp(a->margin_unit, b->margin_unit) != 0) {
        return "margin";
    }
    if (texts && (a->lang != b->lang || strcmp(a->margin_text, b->margin_text) != 0 ||
                  strcmp(a->explanation, b->explanation) != 0)) {
        return "texts";
    }
    return "";
}

static int64_t money(const fc_decision *d, const char *s) {
    if (s == NULL) {
        return 0;
    }
    int64_t v = 0;
    if (fc_money_parse(fc_str_c(s), d->currency, &v) != FC_OK) {
        return INT64_MIN;
    }
    return v;
}

static int truthy(const char *s, int dflt) {
    if (s == NULL) {
        return dflt;
    }
    return strcmp(s, "true") == 0 || strcmp(s, "yes") == 0 || strcmp(s, "1") == 0;
}

/* Words of `want` (a map lang -> list of words) that must appear in the
 * text got(lang). */
static void check_words(jcase *c, size_t k, const fc_yaml *want, const char *what, fc_decision *d) {
    if (want == NULL) {
        return;
    }
    if (want->kind != FC_YAML_MAP) {
        note(c, "decision %zu: %s must be a map of languages", k, what);
        return;
    }
    for (size_t i = 0; i < want->len; i++) {
        fc_lang l = lang_of(want->keys[i]);
        if (l == FC_LANG__COUNT) {
            note(c, "decision %zu: %s: unknown language %s", k, what, want->keys[i]);
            continue;
        }
        fc_decision again = *d;
        fc_judge_explain(c->policy, &c->in, &again, l);
        const char *diff = decision_diff(d, &again, 0);
        if (diff[0] != '\0') {
            note(c, "decision %zu: explaining in %s changed %s", k, want->keys[i], diff);
        }
        const char *text = strcmp(what, "explain") == 0 ? again.explanation : again.margin_text;
        if (!fc_utf8_valid(text, strlen(text), NULL)) {
            note(c, "decision %zu: %s (%s) is not valid UTF-8", k, what, want->keys[i]);
        }
        if (strchr(again.explanation, '{') != NULL) {
            note(c, "decision %zu: placeholder left in the %s explanation: %s", k, want->keys[i],
                 again.explanation);
        }
        const fc_yaml *words = want->vals[i];
        for (size_t w = 0; words->kind == FC_YAML_SEQ && w < words->len; w++) {
            const char *word = words->vals[w]->scalar;
            if (word != NULL && strstr(text, word) == NULL) {
                note(c, "decision %zu: %s (%s) lacks \"%s\": %s", k, what, want->keys[i], word,
                     text);
            }
        }
    }
}

static void check_decision(jcase *c, size_t k, const fc_yaml *want, fc_decision *d) {
    const char *incident = scalar(want, "incident");
    if (incident == NULL || strcmp(incident, fc_incident_name(d->incident)) != 0) {
        note(c, "decision %zu: incident %s, expected %s", k, fc_incident_name(d->incident),
             incident ? incident : "?");
        return;
    }
    const char *liable = scalar(want, "liable");
    if (liable == NULL || strcmp(liable, fc_party_name(d->liable)) != 0) {
        note(c, "decision %zu (%s): liable %s, expected %s (rule %s; %s)", k, incident,
             fc_party_name(d->liable), liable ? liable : "?", d->rule_id, d->explanation);
    }
    const char *rule = scalar(want, "rule");
    if (strcmp(rule ? rule : "", d->rule_id) != 0) {
        note(c, "decision %zu (%s): rule %s, expected %s (margin %s)", k, incident, d->rule_id,
             rule ? rule : "", d->margin_text);
    }
    if (truthy(scalar(want, "severe"), 0) != d->severe) {
        note(c, "decision %zu (%s): severe %d", k, incident, d->severe);
    }
    int review = truthy(scalar(want, "review"), d->liable == FC_PARTY_UNDETERMINED);
    if (review != d->review) {
        note(c, "decision %zu (%s): review %d, expected %d", k, incident, d->review, review);
    }
    const char *pts = scalar(want, "points");
    int32_t points = pts ? (int32_t)strtol(pts, NULL, 10) : 0;
    const fc_consequence *q = &d->consequence;
    if (points != q->rider_points) {
        note(c, "decision %zu (%s): points %d, expected %d", k, incident, q->rider_points, points);
    }
    const char *sus = scalar(want, "suspend_days");
    int32_t suspend_days = sus ? (int32_t)strtol(sus, NULL, 10) : 0;
    if (suspend_days != q->suspend_days) {
        note(c, "decision %zu (%s): suspend_days %d, expected %d", k, incident, q->suspend_days,
             suspend_days);
    }
    struct {
        const char *key;
        int64_t got;
    } amounts[] = {
        {"amount", q->rider_amount_minor},
        {"chargeback", q->merchant_chargeback_minor},
        {"compensation", q->customer_compensation_minor},
    };
    for (size_t i = 0; i < sizeof amounts / sizeof amounts[0]; i++) {
        int64_t want_minor = money(d, scalar(want, amounts[i].key));
        if (want_minor != amounts[i].got) {
            note(c, "decision %zu (%s): %s %lld minor %s, expected %s", k, incident, amounts[i].key,
                 (long long)amounts[i].got, d->currency,
                 scalar(want, amounts[i].key) ? scalar(want, amounts[i].key) : "none");
        }
    }
    const char *cur = scalar(want, "currency");
    if (cur != NULL && strcmp(cur, d->currency) != 0) {
        note(c, "decision %zu (%s): currency %s, expected %s", k, incident, d->currency, cur);
    }
    if (truthy(scalar(want, "warning"), 0) != q->warning_only) {
        note(c, "decision %zu (%s): warning_only %d", k, incident, q->warning_only);
    }
    const char *ex = scalar(want, "exemption");
    if (strcmp(ex ? ex : "", q->exemption) != 0) {
        note(c, "decision %zu (%s): exemption \"%s\", expected \"%s\"", k, incident, q->exemption,
             ex ? ex : "");
    }
    const fc_yaml *m = fc_yaml_get(want, "margin");
    if (m != NULL) {
        const char *fact = scalar(m, "fact");
        const char *val = scalar(m, "value");
        if (fact != NULL && strcmp(fact, d->margin_fact) != 0) {
            note(c, "decision %zu (%s): margin fact %s, expected %s (%s)", k, incident,
                 d->margin_fact, fact, d->margin_text);
        }
        if (val != NULL && fabs(strtod(val, NULL) - d->margin) > 0.05) {
            note(c, "decision %zu (%s): margin %.3f, expected %s (%s)", k, incident, d->margin, val,
                 d->margin_text);
        }
    }
    check_words(c, k, fc_yaml_get(want, "explain"), "explain", d);
    check_words(c, k, fc_yaml_get(want, "margin_text"), "margin_text", d);
}

/* FC_JUDGE_DUMP=1 prints every decision in every language, to read the
 * explanations as a rider would. */
static void dump(jcase *c, const fc_decision *d, size_t n) {
    printf("== %s\n", c->path);
    for (size_t k = 0; k < n; k++) {
        printf("%s -> %s (%s)%s points %d, margin %s %.2f %s\n", fc_incident_name(d[k].incident),
               fc_party_name(d[k].liable), d[k].rule_id, d[k].review ? " review," : "",
               d[k].consequence.rider_points, d[k].margin_fact, d[k].margin, d[k].margin_unit);
        for (fc_lang l = FC_LANG_EN; l < FC_LANG__COUNT; l++) {
            fc_decision e = d[k];
            fc_judge_explain(c->policy, &c->in, &e, l);
            printf("  %s: %s [%s]\n", fc_lang_code(l), e.explanation, e.margin_text);
        }
    }
}

static void run_case(const char *path) {
    jcase *c = calloc(1, sizeof *c);
    assert_non_null(c);
    if (case_load(path, c) != 0) {
        case_free(c);
        free(c);
        return;
    }
    size_t idx[MAX_EVENTS];
    for (size_t i = 0; i < c->n_events; i++) {
        idx[i] = i;
    }
    fc_decision got[MAX_DECISIONS], again[MAX_DECISIONS];
    size_t n = 0, n2 = 0;
    if (case_judge(c, idx, got, &n) != FC_OK) {
        note(c, "judge failed");
        goto out;
    }
    const fc_yaml *expect = fc_yaml_get(c->doc, "expect");
    if (expect == NULL || expect->kind != FC_YAML_SEQ) {
        note(c, "expect must be a list");
        goto out;
    }
    if (expect->len != n) {
        note(c, "%zu decisions, expected %zu", n, expect->len);
        for (size_t k = 0; k < n; k++) {
            note(c, "  got %s -> %s by %s", fc_incident_name(got[k].incident),
                 fc_party_name(got[k].liable), got[k].rule_id);
        }
    }
    for (size_t k = 0; k < n && k < expect->len; k++) {
        check_decision(c, k, expect->vals[k], &got[k]);
    }
    for (size_t k = 0; k < n; k++) {
        /* Every text, in every language, is whole UTF-8 (long texts are cut
         * at a character boundary). */
        for (fc_lang l = FC_LANG_EN; l < FC_LANG__COUNT; l++) {
            fc_decision e = got[k];
            fc_judge_explain(c->policy, &c->in, &e, l);
            if (!fc_utf8_valid(e.explanation, strlen(e.explanation), NULL) ||
                !fc_utf8_valid(e.margin_text, strlen(e.margin_text), NULL)) {
                note(c, "decision %zu: %s text is not valid UTF-8", k, fc_lang_code(l));
            }
        }
    }
    if (getenv("FC_JUDGE_DUMP") != NULL) {
        dump(c, got, n);
    }
    /* The same events in other orders give the same decisions. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < c->n_events; i++) {
            idx[i] = pass == 0 ? c->n_events - 1 - i : (i * 7 + 3) % c->n_events;
        }
        if (pass == 1 && c->n_events % 7 == 0) {
            for (size_t i = 0; i < c->n_events; i++) {
                idx[i] = (i + 1) % c->n_events;
            }
        }
        if (case_judge(c, idx, again, &n2) != FC_OK || n2 != n) {
            note(c, "events %s: %zu decisions instead of %zu", pass ? "rotated" : "reversed", n2,
                 n);
            continue;
        }
        for (size_t k = 0; k < n; k++) {
            const char *diff = decision_diff(&got[k], &again[k], 1);
            if (diff[0] != '\0') {
                note(c, "events %s: decision %zu differs in %s", pass ? "rotated" : "reversed", k,
                     diff);
            }
        }
    }
out:
    case_free(c);
    free(c);
}

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_golden_cases(void **state) {
    (void)state;
    char dir[512];
    snprintf(dir, sizeof dir, "%s/judge", FC_TEST_DATA);
    DIR *d = opendir(dir);
    assert_non_null(d);
    char *names[512];
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len > 5 && strcmp(de->d_name + len - 5, ".yaml") == 0 && n < 512) {
            names[n] = malloc(strlen(dir) + len + 2);
            assert_non_null(names[n]);
            snprintf(names[n], strlen(dir) + len + 2, "%s/%s", dir, de->d_name);
            n++;
        }
    }
    closedir(d);
    qsort(names, n, sizeof names[0], cmp_names);
    failures[0] = '\0';
    n_failures = 0;
    for (size_t i = 0; i < n; i++) {
        run_case(names[i]);
        free(names[i]);
    }
    free_packs();
    if (n_failures > 0) {
        fprintf(stderr, "%s", failures);
    }
    assert_int_equal(n_failures, 0);
    assert_true(n >= 60);
    printf("golden cases: %zu\n", n);
}

/* ---------------------------------------------------------------------------
 * Unit tests on one case file each.
 */

static jcase *load(const char *name) {
    static char path[512];
    snprintf(path, sizeof path, "%s/judge/%s", FC_TEST_DATA, name);
    jcase *c = calloc(1, sizeof *c);
    assert_non_null(c);
    failures[0] = '\0';
    n_failures = 0;
    assert_int_equal(case_load(path, c), 0);
    return c;
}

static void unload(jcase *c) {
    case_free(c);
    free(c);
    free_packs();
}

static void judge_in_order(jcase *c, fc_decision *out, size_t *n) {
    size_t idx[MAX_EVENTS];
    for (size_t i = 0; i < c->n_events; i++) {
        idx[i] = i;
    }
    assert_int_equal(case_judge(c, idx, out, n), FC_OK);
}

static void test_deterministic(void **state) {
    (void)state;
    jcase *c = load("late_rider_slow.yaml");
    fc_decision a[MAX_DECISIONS], b[MAX_DECISIONS];
    size_t na = 0, nb = 0;
    judge_in_order(c, a, &na);
    assert_true(na > 0);
    for (int i = 0; i < 3; i++) {
        judge_in_order(c, b, &nb);
        assert_int_equal(na, nb);
        for (size_t k = 0; k < na; k++) {
            assert_string_equal(decision_diff(&a[k], &b[k], 1), "");
        }
    }
    unload(c);
}

static void test_good_order_has_no_decision(void **state) {
    (void)state;
    jcase *c = load("good_on_time.yaml");
    fc_decision out[MAX_DECISIONS];
    size_t n = 99;
    judge_in_order(c, out, &n);
    assert_int_equal(c->facts.incidents, 0);
    assert_int_equal(n, 0);
    unload(c);

    /* An open order is not judged, even with a complaint already filed. */
    c = load("open_with_complaint.yaml");
    n = 99;
    judge_in_order(c, out, &n);
    assert_int_equal(c->facts.status, FC_ORDER_OPEN);
    assert_true(c->facts.incidents != 0);
    assert_int_equal(n, 0);
    unload(c);
}

static void test_undetermined_closest_rule(void **state) {
    (void)state;
    /* A pack without a catch-all: no rule holds, the judge says so itself. */
    jcase *c = load("pack_no_rule_holds.yaml");
    fc_decision out[MAX_DECISIONS];
    size_t n = 0;
    judge_in_order(c, out, &n);
    assert_int_equal(n, 1);
    fc_decision *d = &out[0];
    assert_int_equal(d->liable, FC_PARTY_UNDETERMINED);
    assert_int_equal(d->review, 1);
    assert_string_equal(d->rule_id, "");
    assert_int_equal(d->consequence.rider_points, 0);
    /* The closest rule missed by 2 min on the merchant wait (the other rule
     * missed on two comparisons). */
    assert_string_equal(d->margin_fact, "wait_past_ready_min");
    assert_true(fabs(d->margin - 2.0) < 1e-9);
    assert_non_null(strstr(d->margin_text, "late.merchant"));
    assert_non_null(strstr(d->explanation, "person will review"));
    assert_non_null(strstr(d->explanation, d->margin_text));
    assert_true(d->n_evidence > 0);
    for (fc_lang l = FC_LANG_AR; l < FC_LANG__COUNT; l++) {
        fc_decision e = *d;
        fc_judge_explain(c->policy, &c->in, &e, l);
        assert_int_equal(e.lang, l);
        assert_string_not_equal(e.explanation, d->explanation);
        assert_non_null(strstr(e.margin_text, "late.merchant"));
    }
    unload(c);
}

static void test_explain_again_changes_only_texts(void **state) {
    (void)state;
    jcase *c = load("late_rider_slow.yaml");
    fc_decision out[MAX_DECISIONS];
    size_t n = 0;
    judge_in_order(c, out, &n);
    assert_true(n > 0);
    for (size_t k = 0; k < n; k++) {
        fc_decision en = out[k];
        for (fc_lang l = FC_LANG_EN; l < FC_LANG__COUNT; l++) {
            fc_decision other = en;
            fc_judge_explain(c->policy, &c->in, &other, l);
            assert_string_equal(decision_diff(&en, &other, 0), "");
            assert_int_equal(other.lang, l);
            if (l != FC_LANG_EN) {
                assert_string_not_equal(other.explanation, en.explanation);
            }
            /* Back to English gives the first text again. */
            fc_judge_explain(c->policy, &c->in, &other, FC_LANG_EN);
            assert_string_equal(decision_diff(&en, &other, 1), "");
        }
    }
    unload(c);
}

static void test_limits_and_errors(void **state) {
    (void)state;
    jcase *c = load("many_incidents.yaml");
    fc_decision out[MAX_DECISIONS];
    size_t n = 0;
    judge_in_order(c, out, &n);
    assert_true(n >= 3);
    size_t all = n;
    /* At most `max` decisions, the first ones. */
    fc_decision one[1];
    assert_int_equal(fc_judge(c->policy, &c->in, FC_LANG_EN, one, 1, &n), FC_OK);
    assert_int_equal(n, 1);
    assert_string_equal(decision_diff(&one[0], &out[0], 1), "");
    assert_int_equal(fc_judge(c->policy, &c->in, FC_LANG_EN, NULL, 0, &n), FC_OK);
    assert_int_equal(n, 0);
    (void)all;
    /* No facts: refused. */
    fc_policy_input none = c->in;
    none.facts = NULL;
    assert_int_equal(fc_judge(c->policy, &none, FC_LANG_EN, out, MAX_DECISIONS, &n), FC_EINVAL);
    assert_int_equal(n, 0);
    unload(c);
}

/* ---------------------------------------------------------------------------
 * The demo world's injected problems, judged by the default pack: the slow
 * merchant's late orders go to the merchant, the false-delivery rider's far
 * deliveries to the rider or a person, the orders placed during the dispatch
 * outage (late or cancelled) to the platform.
 */

typedef struct demo_rider {
    char id[32];
    int32_t start_date;
    fc_capacity capacity;
} demo_rider;

typedef struct demo_world {
    fc_arena *arena;
    fc_event *events; /* order events, strings in the arena */
    size_t n_events, cap_events;
    fc_weather weather[256];
    size_t n_weather;
    demo_rider riders[2048];
    size_t n_riders;
    char city[FC_GEN_MAX_CITIES][32], country[FC_GEN_MAX_CITIES][4];
    size_t n_cities;
} demo_world;

/* Read one file of the world with the ingest readers. */
static void demo_read(demo_world *w, const char *dir, const char *name) {
    char path[512];
    int pn = snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_true(pn > 0 && (size_t)pn < sizeof path);
    size_t len = 0;
    char *buf = fc_test_slurp(path, &len);
    assert_non_null(buf);
    fc_reader *r = NULL;
    fc_err err;
    fc_err_clear(&err);
    assert_int_equal(fc_reader_open(path, buf, len, NULL, NULL, &r, &err), FC_OK);
    fc_record *rec = calloc(1, sizeof *rec);
    assert_non_null(rec);
    int rc;
    while ((rc = fc_reader_next(r, rec, &err)) != 0) {
        assert_true(rc > 0);
        if (rec->kind == FC_INPUT_CITIES && w->n_cities < FC_GEN_MAX_CITIES) {
            snprintf(w->city[w->n_cities], sizeof w->city[0], "%s", rec->ent.city.city);
            snprintf(w->country[w->n_cities], sizeof w->country[0], "%s", rec->ent.city.country);
            w->n_cities++;
        } else if (rec->kind == FC_INPUT_RIDERS) {
            assert_true(w->n_riders < sizeof w->riders / sizeof w->riders[0]);
            demo_rider *dr = &w->riders[w->n_riders++];
            snprintf(dr->id, sizeof dr->id, "%s", rec->ent.rider.rider);
            dr->start_date = rec->ent.rider.start_date;
            dr->capacity = rec->ent.rider.capacity;
        }
        for (size_t i = 0; i < rec->n_events; i++) {
            fc_event e = rec->events[i];
            own_strings(w->arena, &e);
            if (e.type == FC_EV_WEATHER && w->n_weather < 256) {
                fc_weather *x = &w->weather[w->n_weather++];
                x->city = e.city;
                x->zone = e.zone;
                x->from = e.from;
                x->to = e.to;
                x->severity = e.severity;
            } else if (e.order.n > 0) {
                if (w->n_events == w->cap_events) {
                    w->cap_events = w->cap_events ? w->cap_events * 2 : 4096;
                    w->events = realloc(w->events, w->cap_events * sizeof *w->events);
                    assert_non_null(w->events);
                }
                w->events[w->n_events++] = e;
            }
        }
    }
    free(rec);
    fc_reader_free(r);
    free(buf);
}

static int cmp_event_order(const void *a, const void *b) {
    return fc_str_cmp(((const fc_event *)a)->order, ((const fc_event *)b)->order);
}

static const demo_rider *demo_rider_find(const demo_world *w, fc_str id) {
    for (size_t i = 0; i < w->n_riders; i++) {
        if (fc_str_eqc(id, w->riders[i].id)) {
            return &w->riders[i];
        }
    }
    return NULL;
}

/* Agreement with the ground truth of one problem. */
typedef struct agreement {
    long judged, agreed;
} agreement;

static int json_has_order(json_t *list, fc_str order) {
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) {
        if (fc_str_eqc(order, json_string_value(v))) {
            return 1;
        }
    }
    return 0;
}

static json_t *demo_problem(json_t *truth, const char *type) {
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(truth, "problems"), i, p) {
        if (strcmp(json_string_value(json_object_get(p, "type")), type) == 0) {
            return p;
        }
    }
    return NULL;
}

static void test_demo_world_problems(void **state) {
    (void)state;
    char *tmp = fc_test_tmpdir();
    assert_non_null(tmp);
    char dir[512];
    snprintf(dir, sizeof dir, "%s/w", tmp);
    fc_gen_opts o;
    fc_gen_opts_init(&o);
    o.days = 2;
    if (getenv("FC_JUDGE_DEMO_DAYS") != NULL) {
        o.days = (int32_t)strtol(getenv("FC_JUDGE_DEMO_DAYS"), NULL, 10);
    }
    assert_int_equal(fc_gen_scale_parse("small", &o.scale), FC_OK);
    fc_err err;
    fc_err_clear(&err);
    assert_int_equal(fc_gen_world(dir, &o, NULL, &err), FC_OK);

    demo_world *w = calloc(1, sizeof *w);
    assert_non_null(w);
    w->arena = fc_arena_new(0);
    for (size_t i = 0; fc_gen_file(i) != NULL; i++) {
        if (strcmp(fc_gen_file(i), "zones.csv") != 0 &&
            strcmp(fc_gen_file(i), "merchants.csv") != 0) {
            demo_read(w, dir, fc_gen_file(i));
        }
    }
    char tpath[600];
    snprintf(tpath, sizeof tpath, "%s/ground_truth.json", dir);
    json_error_t jerr;
    json_t *truth = json_load_file(tpath, 0, &jerr);
    assert_non_null(truth);
    json_t *slow = demo_problem(truth, "slow_merchant");
    json_t *far = demo_problem(truth, "far_delivery_rider");
    json_t *outage = demo_problem(truth, "dispatch_outage");
    assert_non_null(slow);
    assert_non_null(far);
    assert_non_null(outage);
    const char *slow_merchant = json_string_value(json_object_get(slow, "merchant"));
    const char *far_rider = json_string_value(json_object_get(far, "rider"));
    json_t *outage_orders = json_object_get(outage, "orders");

    fc_policy_pack *pack = pack_for("default");
    qsort(w->events, w->n_events, sizeof *w->events, cmp_event_order);
    uint32_t *scratch = calloc(1024, sizeof *scratch);
    assert_non_null(scratch);
    fc_weather city_weather[256];
    agreement a_slow = {0, 0}, a_far = {0, 0}, a_outage = {0, 0};
    long by_party[FC_PARTY__COUNT] = {0}, orders = 0;
    double judge_s = 0; /* informative only: timings are never asserted here */
    for (size_t i = 0; i < w->n_events;) {
        size_t j = i;
        while (j < w->n_events && fc_str_eq(w->events[j].order, w->events[i].order)) {
            j++;
        }
        assert_true(j - i <= 1024);
        /* The order's city and country, and its city's weather. */
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
                city_weather[n_wx++] = w->weather[k];
            }
        }
        const fc_policy *p = fc_policy_for(pack, country, city);
        fc_fold_ctx ctx = {fc_policy_thresholds(p), city_weather, n_wx, INT32_MIN};
        fc_order_facts f;
        assert_int_equal(fc_order_fold(&w->events[i], j - i, &ctx, scratch, &f), FC_OK);
        const demo_rider *dr = demo_rider_find(w, f.rider);
        if (dr != NULL) {
            f.rider_tenure_days = fc_order_tenure_days(f.created_at, dr->start_date);
        }
        fc_policy_input in = {
            &f,          country,     fc_str_c(dr ? fc_capacity_name(dr->capacity) : ""),
            FC_STR_NULL, FC_STR_NULL, FC_INT_NONE,
            FC_INT_NONE};
        fc_decision d[MAX_DECISIONS];
        size_t n = 0;
        double t0 = fc_now_mono();
        assert_int_equal(fc_judge(p, &in, FC_LANG_EN, d, MAX_DECISIONS, &n), FC_OK);
        judge_s += fc_now_mono() - t0;
        orders++;
        int in_outage = json_has_order(outage_orders, f.order);
        for (size_t k = 0; k < n; k++) {
            by_party[d[k].liable]++;
            if (getenv("FC_JUDGE_DEMO_DUMP") != NULL &&
                (fc_str_eqc(f.merchant, slow_merchant) || in_outage)) {
                char oid[64];
                printf("%s %s -> %s %s: %s [%s]\n", fc_str_cpy(oid, sizeof oid, f.order),
                       fc_incident_name(d[k].incident), fc_party_name(d[k].liable), d[k].rule_id,
                       d[k].explanation, d[k].margin_text);
            }
            if (fc_str_eqc(f.merchant, slow_merchant) && d[k].incident == FC_INCIDENT_LATE) {
                a_slow.judged++;
                a_slow.agreed += d[k].liable == FC_PARTY_MERCHANT;
            }
            if (fc_str_eqc(f.rider, far_rider) && d[k].incident == FC_INCIDENT_FAR_DELIVERY) {
                a_far.judged++;
                a_far.agreed += d[k].liable == FC_PARTY_RIDER || d[k].review;
            }
            if (in_outage &&
                (d[k].incident == FC_INCIDENT_LATE || d[k].incident == FC_INCIDENT_CANCELLED)) {
                a_outage.judged++;
                a_outage.agreed += d[k].liable == FC_PARTY_PLATFORM;
            }
        }
        i = j;
    }
    printf("demo world (seed 1, %d days, small): %ld orders; decisions:", (int)o.days, orders);
    for (int k = 1; k < FC_PARTY__COUNT; k++) {
        printf(" %s %ld", fc_party_name((fc_party)k), by_party[k]);
    }
    printf("\n  judging took %.2f us an order (this build)", 1e6 * judge_s / (double)orders);
    printf("\n  slow merchant's late orders to the merchant: %ld of %ld\n", a_slow.agreed,
           a_slow.judged);
    printf("  false-delivery rider's far deliveries to the rider or review: %ld of %ld\n",
           a_far.agreed, a_far.judged);
    printf("  dispatch outage's late and cancelled orders to the platform: %ld of %ld\n",
           a_outage.agreed, a_outage.judged);
    long judged = a_slow.judged + a_far.judged + a_outage.judged;
    long agreed = a_slow.agreed + a_far.agreed + a_outage.agreed;
    printf("  agreement: %ld of %ld (%.1f%%)\n", agreed, judged,
           judged ? 100.0 * (double)agreed / (double)judged : 0.0);
    assert_true(a_slow.judged > 0 && a_far.judged > 0 && a_outage.judged > 0);
    assert_true(a_slow.agreed * 10 >= a_slow.judged * 9);
    assert_true(a_far.agreed == a_far.judged);
    assert_true(a_outage.agreed * 10 >= a_outage.judged * 9);

    free(scratch);
    json_decref(truth);
    free(w->events);
    fc_arena_free(w->arena);
    free(w);
    fc_test_rmtree(tmp);
    free(tmp);
    free_packs();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_cases),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_good_order_has_no_decision),
        cmocka_unit_test(test_undetermined_closest_rule),
        cmocka_unit_test(test_explain_again_changes_only_texts),
        cmocka_unit_test(test_limits_and_errors),
        cmocka_unit_test(test_demo_world_problems),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
