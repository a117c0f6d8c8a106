/*
 * HTTP routes of orders, decision lists, riders, merchants and policies,
 * against a real server on 127.0.0.1 over the judged test world
 * (support_http.h). The world is read-only here: one for the whole group.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support.h"
#include "support_http.h"

/* GET path as token; the status asserted; the body parsed (caller
 * decrefs; NULL when want is not 200). */
static json_t *get_json(const fc_test_world *w, const char *token, const char *path,
                        const char *extra, int want) {
    fc_test_resp r;
    fc_test_get_as(w, token, path, extra, &r);
    if (r.status != want) {
        fprintf(stderr, "GET %s: %d %s\n", path, r.status, r.body);
    }
    assert_int_equal(r.status, want);
    json_t *j = NULL;
    if (want == 200) {
        json_error_t je;
        j = json_loads(r.body, 0, &je);
        assert_non_null(j);
    }
    fc_test_resp_free(&r);
    return j;
}

/* GET path as token expecting an error status with this code whose
 * message names `names` (NULL: not checked). */
static void get_error(const fc_test_world *w, const char *token, const char *path, int want,
                      const char *code, const char *names) {
    fc_test_resp r;
    fc_test_get_as(w, token, path, "", &r);
    if (r.status != want) {
        fprintf(stderr, "GET %s: %d %s\n", path, r.status, r.body);
    }
    assert_int_equal(r.status, want);
    fc_test_assert_error(&r, code);
    if (names != NULL) {
        assert_non_null(strstr(r.body, names));
    }
    fc_test_resp_free(&r);
}

static const char *jstr(json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    assert_non_null(v);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* ---------------------------------------------------------------------------
 * GET /v1/orders/{id}
 */
static void test_order_happy_path(void **state) {
    fc_test_world *w = *state;
    char path[256];
    snprintf(path, sizeof path, "/v1/orders/%s", w->dec.order);
    json_t *j = get_json(w, w->admin, path, "", 200);
    json_t *o = json_object_get(j, "order");
    assert_non_null(o);
    assert_string_equal(jstr(o, "id"), w->dec.order);
    assert_string_equal(jstr(o, "city"), "riyadh");
    assert_string_equal(jstr(o, "country"), "SA");
    assert_string_equal(jstr(o, "rider"), w->dec.rider);
    assert_string_equal(jstr(o, "merchant"), w->dec.merchant);
    assert_string_equal(jstr(o, "capacity"), "full_time");
    assert_non_null(json_object_get(o, "zone"));
    assert_non_null(json_object_get(o, "merchant_kind"));
    const char *status = jstr(o, "status");
    assert_non_null(status);
    /* times in the city's offset */
    assert_non_null(strstr(jstr(o, "created_at"), "+03:00"));
    assert_non_null(strstr(jstr(o, "promised_at"), "+03:00"));
    assert_non_null(json_object_get(o, "delivered_at"));
    assert_non_null(json_object_get(o, "cancelled_at"));
    json_t *late = json_object_get(o, "late_min"), *on_time = json_object_get(o, "on_time");
    assert_non_null(late);
    assert_non_null(on_time);
    if (strcmp(status, "delivered") == 0) {
        assert_true(json_is_number(late));
        assert_true(json_is_boolean(on_time));
        if (json_number_value(late) <= 0.0) {
            assert_true(json_is_true(on_time)); /* early or on the minute */
        }
        if (w->dec.d.incident == FC_INCIDENT_LATE) {
            assert_true(json_is_false(on_time));
            assert_true(json_number_value(late) > 0.0);
        }
    } else {
        assert_true(json_is_null(late));
        assert_true(json_is_null(on_time));
    }
    /* the judge's facts, each with its unit */
    json_t *facts = json_object_get(j, "facts"), *units = json_object_get(j, "fact_units");
    assert_true(json_is_object(facts));
    assert_true(json_is_object(units));
    assert_true(json_object_size(facts) > 10);
    assert_int_equal(json_object_size(facts), json_object_size(units));
    assert_true(json_is_number(json_object_get(facts, "lateness_min")));
    assert_string_equal(json_string_value(json_object_get(units, "lateness_min")), "min");
    assert_string_equal(json_string_value(json_object_get(facts, "capacity")), "full_time");
    /* the timeline, in time order, each event with its own fields */
    json_t *tl = json_object_get(j, "timeline");
    assert_true(json_is_array(tl));
    assert_true(json_array_size(tl) >= 3);
    assert_string_equal(jstr(json_array_get(tl, 0), "type"), "order_created");
    const char *prev = "";
    int saw_delivered = 0;
    for (size_t i = 0; i < json_array_size(tl); i++) {
        json_t *ev = json_array_get(tl, i);
        const char *ts = jstr(ev, "ts");
        assert_non_null(ts);
        assert_true(strcmp(prev, ts) <= 0); /* one offset: text order is time order */
        prev = ts;
        assert_non_null(json_object_get(ev, "actor"));
        json_t *d = json_object_get(ev, "detail");
        assert_true(json_is_object(d));
        assert_non_null(json_object_get(d, "id"));
        assert_null(json_object_get(d, "ts"));
        if (strcmp(jstr(ev, "type"), "order_delivered") == 0) {
            saw_delivered = 1;
            assert_string_equal(jstr(ev, "actor"), w->dec.rider);
        }
        if (strcmp(jstr(ev, "type"), "order_created") == 0) {
            assert_non_null(strstr(jstr(d, "promised_at"), "+03:00"));
        }
    }
    assert_int_equal(saw_delivered, strcmp(status, "delivered") == 0);
    /* its decisions, the one the world keeps among them */
    json_t *ds = json_object_get(j, "decisions");
    assert_true(json_is_array(ds));
    int found = 0;
    for (size_t i = 0; i < json_array_size(ds); i++) {
        json_t *d = json_array_get(ds, i);
        assert_true(json_is_boolean(json_object_get(d, "superseded")));
        assert_non_null(json_object_get(d, "outcome"));
        assert_non_null(json_object_get(d, "created_at"));
        if (strcmp(jstr(d, "id"), w->dec.id) == 0) {
            found = 1;
            assert_string_equal(jstr(d, "incident"), fc_incident_name(w->dec.d.incident));
            assert_string_equal(jstr(d, "party"), fc_party_name(w->dec.d.liable));
            assert_string_equal(jstr(d, "rule"), w->dec.d.rule_id);
            assert_true(json_is_false(json_object_get(d, "superseded")));
            assert_true(json_boolean_value(json_object_get(d, "needs_review")) ==
                        (w->dec.d.review != 0));
        }
    }
    assert_true(found);
    assert_true(json_is_array(json_object_get(j, "appeals")));
    json_decref(j);
}

static void test_order_access(void **state) {
    fc_test_world *w = *state;
    char path[256];
    snprintf(path, sizeof path, "/v1/orders/%s", w->dec.order);
    json_decref(get_json(w, w->rider, path, "", 200));       /* its own */
    json_decref(get_json(w, w->analyst, path, "", 200));     /* city:riyadh */
    json_decref(get_json(w, w->sa_reviewer, path, "", 200)); /* country:SA */
    get_error(w, w->other_rider, path, 404, "not_found", NULL);
    get_error(w, w->far_analyst, path, 403, "forbidden", NULL);
    get_error(w, NULL, path, 401, "unauthorized", NULL);
    /* a merchant: its own orders only */
    if (strcmp(w->dec.merchant, "m1") == 0) {
        json_decref(get_json(w, w->merchant, path, "", 200));
    } else {
        get_error(w, w->merchant, path, 404, "not_found", NULL);
    }
    get_error(w, w->admin, "/v1/orders/no-such-order", 404, "not_found", NULL);
}

/* ---------------------------------------------------------------------------
 * GET /v1/decisions
 */
static void test_decisions_list(void **state) {
    fc_test_world *w = *state;
    json_t *j = get_json(w, w->admin, "/v1/decisions", "", 200);
    json_t *items = json_object_get(j, "items");
    assert_true(json_is_array(items));
    assert_true(json_array_size(items) >= 2);
    assert_true(json_is_null(json_object_get(j, "next")));
    int found = 0;
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *d = json_array_get(items, i);
        static const char *const keys[] = {"id",       "order",        "city",      "incident",
                                           "party",    "outcome",      "rule",      "rider",
                                           "merchant", "needs_review", "created_at"};
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
            assert_non_null(json_object_get(d, keys[k]));
        }
        if (strcmp(jstr(d, "id"), w->dec.id) == 0) {
            found = 1;
            assert_string_equal(jstr(d, "order"), w->dec.order);
            assert_string_equal(jstr(d, "city"), "riyadh");
            assert_string_equal(jstr(d, "rider"), w->dec.rider);
            assert_string_equal(jstr(d, "party"), fc_party_name(w->dec.d.liable));
            assert_string_equal(jstr(d, "explanation"), w->dec.explanation[FC_LANG_EN]);
        }
    }
    assert_true(found);
    json_decref(j);
}

/* Every page of `query` with limit 2, followed to the end: the ids, in
 * order, into ids (n of them). */
static size_t walk_pages(const fc_test_world *w, const char *token, const char *query,
                         char ids[][128], size_t max) {
    char path[512], cursor[64] = "";
    size_t n = 0;
    for (int pages = 0; pages < 100; pages++) {
        snprintf(path, sizeof path, "/v1/decisions?limit=2%s%s%s%s", query[0] ? "&" : "", query,
                 cursor[0] ? "&cursor=" : "", cursor);
        json_t *j = get_json(w, token, path, "", 200);
        json_t *items = json_object_get(j, "items");
        assert_true(json_array_size(items) <= 2);
        for (size_t i = 0; i < json_array_size(items); i++) {
            assert_true(n < max);
            snprintf(ids[n++], 128, "%s", jstr(json_array_get(items, i), "id"));
        }
        json_t *next = json_object_get(j, "next");
        if (json_is_null(next)) {
            json_decref(j);
            return n;
        }
        assert_int_equal(json_array_size(items), 2);
        snprintf(cursor, sizeof cursor, "%s", json_string_value(next));
        json_decref(j);
    }
    fail_msg("the pages never end");
    return n;
}

static void test_decisions_pagination(void **state) {
    fc_test_world *w = *state;
    static char all[64][128], paged[64][128];
    json_t *j = get_json(w, w->admin, "/v1/decisions?limit=500", "", 200);
    json_t *items = json_object_get(j, "items");
    size_t n_all = json_array_size(items);
    assert_true(n_all >= 3);
    assert_true(n_all < 64);
    for (size_t i = 0; i < n_all; i++) {
        snprintf(all[i], 128, "%s", jstr(json_array_get(items, i), "id"));
    }
    json_decref(j);
    size_t n = walk_pages(w, w->admin, "", paged, 64);
    /* no gaps, no duplicates: the same ids in the same order */
    assert_int_equal(n, n_all);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(paged[i], all[i]);
        for (size_t k = 0; k < i; k++) {
            assert_string_not_equal(paged[k], paged[i]);
        }
    }
}

static void test_decisions_filters(void **state) {
    fc_test_world *w = *state;
    char path[256];
    snprintf(path, sizeof path, "/v1/decisions?rider=%s&party=%s&incident=%s", w->dec.rider,
             fc_party_name(w->dec.d.liable), fc_incident_name(w->dec.d.incident));
    json_t *j = get_json(w, w->admin, path, "", 200);
    json_t *items = json_object_get(j, "items");
    assert_true(json_array_size(items) >= 1);
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *d = json_array_get(items, i);
        assert_string_equal(jstr(d, "rider"), w->dec.rider);
        assert_string_equal(jstr(d, "party"), fc_party_name(w->dec.d.liable));
        assert_string_equal(jstr(d, "incident"), fc_incident_name(w->dec.d.incident));
    }
    json_decref(j);
    /* a period before the orders: nothing; one around them: everything */
    j = get_json(w, w->admin, "/v1/decisions?to=2026-03-01", "", 200);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 0);
    json_decref(j);
    j = get_json(w, w->admin, "/v1/decisions?from=2026-03-02&to=2026-03-02&city=riyadh", "", 200);
    assert_true(json_array_size(json_object_get(j, "items")) >= 1);
    json_decref(j);
    j = get_json(w, w->admin, "/v1/decisions?needs_review=1", "", 200);
    items = json_object_get(j, "items");
    for (size_t i = 0; i < json_array_size(items); i++) {
        assert_true(json_is_true(json_object_get(json_array_get(items, i), "needs_review")));
    }
    json_decref(j);
}

static void test_decisions_scope(void **state) {
    fc_test_world *w = *state;
    static char ids[64][128];
    /* a rider sees its own only, and another rider's id is not found */
    size_t n = walk_pages(w, w->rider, "", ids, 64);
    assert_true(n >= 1);
    char path[256];
    for (size_t i = 0; i < n; i++) {
        snprintf(path, sizeof path, "/v1/decisions/%s", ids[i]);
        json_t *d = get_json(w, w->admin, path, "", 200);
        assert_string_equal(jstr(d, "rider"), w->dec.rider);
        json_decref(d);
    }
    get_error(w, w->rider, "/v1/decisions?rider=r-someone-else", 404, "not_found", NULL);
    json_t *j = get_json(w, w->other_rider, "/v1/decisions", "", 200);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 0);
    json_decref(j);
    /* an analyst of riyadh: riyadh's; of doha: not riyadh's (403 when asked) */
    j = get_json(w, w->analyst, "/v1/decisions?city=riyadh", "", 200);
    assert_true(json_array_size(json_object_get(j, "items")) >= 1);
    json_decref(j);
    j = get_json(w, w->far_analyst, "/v1/decisions", "", 200);
    json_t *items = json_object_get(j, "items");
    for (size_t i = 0; i < json_array_size(items); i++) {
        assert_string_not_equal(jstr(json_array_get(items, i), "city"), "riyadh");
    }
    json_decref(j);
    get_error(w, w->far_analyst, "/v1/decisions?city=riyadh", 403, "forbidden", NULL);
    j = get_json(w, w->sa_reviewer, "/v1/decisions?city=riyadh", "", 200);
    assert_true(json_array_size(json_object_get(j, "items")) >= 1);
    json_decref(j);
    /* a merchant: its own */
    j = get_json(w, w->merchant, "/v1/decisions", "", 200);
    items = json_object_get(j, "items");
    for (size_t i = 0; i < json_array_size(items); i++) {
        assert_string_equal(jstr(json_array_get(items, i), "merchant"), "m1");
    }
    json_decref(j);
    get_error(w, w->merchant, "/v1/decisions?merchant=m2", 404, "not_found", NULL);
}

static void test_decisions_bad_parameters(void **state) {
    fc_test_world *w = *state;
    get_error(w, w->admin, "/v1/decisions?limit=0", 400, "bad_request", "limit");
    get_error(w, w->admin, "/v1/decisions?limit=501", 400, "bad_request", "limit");
    get_error(w, w->admin, "/v1/decisions?limit=x", 400, "bad_request", "limit");
    get_error(w, w->admin, "/v1/decisions?party=martian", 400, "bad_request", "party");
    get_error(w, w->admin, "/v1/decisions?incident=meteor", 400, "bad_request", "incident");
    get_error(w, w->admin, "/v1/decisions?from=yesterday", 400, "bad_request", "from");
    get_error(w, w->admin, "/v1/decisions?to=2026-13-45", 400, "bad_request", "to");
    get_error(w, w->admin, "/v1/decisions?cursor=abc", 400, "bad_request", "cursor");
    get_error(w, w->admin, "/v1/decisions?needs_review=2", 400, "bad_request", "needs_review");
    get_error(w, w->admin, "/v1/decisions?colour=red", 400, "bad_request", "colour");
    get_error(w, w->admin, "/v1/decisions?city=a%20b", 400, "bad_request", "city");
}

static void test_decisions_arabic(void **state) {
    fc_test_world *w = *state;
    char path[256];
    snprintf(path, sizeof path, "/v1/decisions?rider=%s&limit=500", w->dec.rider);
    json_t *j = get_json(w, w->admin, path, "Accept-Language: ar\r\n", 200);
    json_t *items = json_object_get(j, "items");
    int found = 0;
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *d = json_array_get(items, i);
        if (strcmp(jstr(d, "id"), w->dec.id) == 0) {
            found = 1;
            assert_string_equal(jstr(d, "lang"), "ar");
            assert_string_equal(jstr(d, "explanation"), w->dec.explanation[FC_LANG_AR]);
        }
    }
    assert_true(found);
    json_decref(j);
}

/* ---------------------------------------------------------------------------
 * GET /v1/riders/{id}, GET /v1/merchants/{id}
 */
static void test_rider_page(void **state) {
    fc_test_world *w = *state;
    char path[256];
    snprintf(path, sizeof path, "/v1/riders/%s", w->dec.rider);
    json_t *j = get_json(w, w->admin, path, "", 200);
    json_t *r = json_object_get(j, "rider");
    assert_string_equal(jstr(r, "id"), w->dec.rider);
    assert_true(json_is_null(json_object_get(r, "name")));
    assert_string_equal(jstr(r, "city"), "riyadh");
    assert_string_equal(jstr(r, "capacity"), "full_time");
    json_t *sum = json_object_get(j, "summary");
    json_t *ds = json_object_get(j, "decisions");
    assert_true(json_array_size(ds) >= 1);
    assert_int_equal(json_integer_value(json_object_get(sum, "decisions")), json_array_size(ds));
    assert_true(json_integer_value(json_object_get(sum, "orders")) >= 1);
    assert_true(json_integer_value(json_object_get(sum, "liable")) >= 1); /* the world's decision */
    assert_int_equal(json_integer_value(json_object_get(sum, "appeals")), 0);
    assert_int_equal(json_integer_value(json_object_get(sum, "appeals_overturned")), 0);
    for (size_t i = 0; i < json_array_size(ds); i++) {
        assert_string_equal(jstr(json_array_get(ds, i), "rider"), w->dec.rider);
    }
    assert_true(json_is_array(json_object_get(j, "appeals")));
    assert_true(json_is_null(json_object_get(j, "score")));
    assert_true(json_is_null(json_object_get(j, "tier")));
    json_decref(j);
    /* who may see it */
    json_decref(get_json(w, w->rider, path, "", 200));
    json_decref(get_json(w, w->analyst, path, "", 200));
    json_decref(get_json(w, w->sa_reviewer, path, "", 200));
    get_error(w, w->other_rider, path, 404, "not_found", NULL);
    get_error(w, w->merchant, path, 404, "not_found", NULL);
    get_error(w, w->far_analyst, path, 403, "forbidden", NULL);
    get_error(w, w->admin, "/v1/riders/nobody-at-all", 404, "not_found", NULL);
}

static void test_merchant_page(void **state) {
    fc_test_world *w = *state;
    json_t *j = get_json(w, w->admin, "/v1/merchants/m1", "", 200);
    json_t *m = json_object_get(j, "merchant");
    assert_string_equal(jstr(m, "id"), "m1");
    assert_string_equal(jstr(m, "city"), "riyadh");
    json_t *ds = json_object_get(j, "decisions");
    for (size_t i = 0; i < json_array_size(ds); i++) {
        assert_string_equal(jstr(json_array_get(ds, i), "merchant"), "m1");
    }
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(j, "summary"), "decisions")),
        json_array_size(ds));
    assert_true(json_is_null(json_object_get(j, "score")));
    json_decref(j);
    json_decref(get_json(w, w->merchant, "/v1/merchants/m1", "", 200));
    get_error(w, w->merchant, "/v1/merchants/m2", 404, "not_found", NULL);
    get_error(w, w->rider, "/v1/merchants/m1", 404, "not_found", NULL);
    get_error(w, w->far_analyst, "/v1/merchants/m1", 403, "forbidden", NULL);
}

/* ---------------------------------------------------------------------------
 * GET /v1/policies, GET /v1/policies/{id}
 */
static void test_policies(void **state) {
    fc_test_world *w = *state;
    json_t *j = get_json(w, w->admin, "/v1/policies", "", 200);
    json_t *items = json_object_get(j, "items");
    assert_true(json_array_size(items) >= 2);
    int64_t sa_decisions = -1;
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *p = json_array_get(items, i);
        assert_non_null(jstr(p, "id"));
        assert_non_null(strchr(jstr(p, "version"), '+'));
        assert_non_null(jstr(p, "label"));
        assert_non_null(strstr(jstr(p, "file"), ".yaml"));
        assert_null(strchr(jstr(p, "file"), '/'));
        assert_true(json_is_array(json_object_get(p, "languages")));
        assert_true(json_is_boolean(json_object_get(p, "auto_review")));
        assert_non_null(json_object_get(p, "parent"));
        if (strcmp(jstr(p, "id"), w->dec.d.policy_id) == 0) {
            assert_string_equal(jstr(p, "version"), w->dec.d.policy_version);
            sa_decisions = json_integer_value(json_object_get(p, "decisions"));
        }
    }
    assert_true(sa_decisions >= 1);
    /* the versions in use count the same decisions */
    json_t *in_use = json_object_get(j, "versions_in_use");
    int found = 0;
    for (size_t i = 0; i < json_array_size(in_use); i++) {
        json_t *v = json_array_get(in_use, i);
        if (strcmp(jstr(v, "version"), w->dec.d.policy_version) == 0) {
            found = 1;
            assert_int_equal(json_integer_value(json_object_get(v, "decisions")), sa_decisions);
        }
    }
    assert_true(found);
    json_decref(j);

    char path[256];
    snprintf(path, sizeof path, "/v1/policies/%s", w->dec.d.policy_id);
    j = get_json(w, w->admin, path, "", 200);
    assert_string_equal(jstr(j, "id"), w->dec.d.policy_id);
    json_t *th = json_object_get(j, "thresholds");
    assert_true(json_is_integer(json_object_get(th, "grace_s")));
    json_t *sla = json_object_get(j, "appeal_sla_s");
    assert_true(json_integer_value(json_object_get(sla, "rider")) > 0);
    json_t *rules = json_object_get(j, "rules");
    assert_true(json_array_size(rules) >= 1);
    found = 0;
    for (size_t i = 0; i < json_array_size(rules); i++) {
        json_t *r = json_array_get(rules, i);
        assert_non_null(jstr(r, "incident"));
        assert_non_null(jstr(r, "party"));
        assert_non_null(jstr(r, "outcome"));
        if (strcmp(jstr(r, "id"), w->dec.d.rule_id) == 0) {
            found = 1;
            json_t *ex = json_object_get(r, "explanation");
            assert_non_null(json_string_value(json_object_get(ex, "en")));
            assert_non_null(json_string_value(json_object_get(ex, "ar")));
        }
    }
    assert_true(found);
    json_decref(j);
    /* access: analysts and reviewers read the shared policies, those of
     * their places and those governing their cities (the riyadh analyst
     * reads SA's policy, no other country's), riders none */
    j = get_json(w, w->analyst, "/v1/policies", "", 200);
    items = json_object_get(j, "items");
    int saw_sa = 0, saw_base = 0;
    for (size_t i = 0; i < json_array_size(items); i++) {
        const char *id = jstr(json_array_get(items, i), "id");
        saw_sa |= strcmp(id, w->dec.d.policy_id) == 0;
        saw_base |= strcmp(id, "base") == 0;
        assert_true(strcmp(id, w->dec.d.policy_id) == 0 || strcmp(id, "base") == 0);
    }
    assert_true(saw_sa && saw_base);
    json_decref(j);
    json_decref(get_json(w, w->analyst, "/v1/policies/base", "", 200));
    json_decref(get_json(w, w->analyst, path, "", 200));
    get_error(w, w->analyst, "/v1/policies/qa", 403, "forbidden", NULL);
    json_decref(get_json(w, w->sa_reviewer, path, "", 200));
    get_error(w, w->far_analyst, path, 403, "forbidden", NULL);
    j = get_json(w, w->far_analyst, "/v1/policies", "", 200);
    items = json_object_get(j, "items");
    for (size_t i = 0; i < json_array_size(items); i++) {
        assert_string_not_equal(jstr(json_array_get(items, i), "id"), w->dec.d.policy_id);
    }
    json_decref(j);
    get_error(w, w->rider, "/v1/policies", 403, "forbidden", NULL);
    get_error(w, w->merchant, path, 403, "forbidden", NULL);
    get_error(w, w->admin, "/v1/policies/no-such-policy", 404, "not_found", NULL);
}

/* A scoped caller's page that is full before an entry outside its places
 * has no next: the newest decision is doha's, the rest riyadh's, so the doha
 * analyst's first page of one is its last. */
static void test_decisions_scoped_last_page(void **state) {
    fc_test_world *w = *state;
    fc_case_decision cd = w->dec;
    snprintf(cd.id, sizeof cd.id, "dec-0000000000000000000000d0");
    snprintf(cd.order, sizeof cd.order, "o-doha-1");
    snprintf(cd.city, sizeof cd.city, "doha");
    snprintf(cd.country, sizeof cd.country, "QA");
    snprintf(cd.rider, sizeof cd.rider, "r-doha-1");
    cd.supersedes[0] = '\0';
    cd.outcome[0] = '\0';
    char *body = NULL;
    size_t body_len = 0;
    assert_int_equal(fc_case_decision_json(&cd, &body, &body_len), FC_OK);
    fc_case_entry e;
    memset(&e, 0, sizeof e);
    e.id = fc_str_c(cd.id);
    e.type = FC_CASE_DECISION;
    e.ts = 1772400100;
    e.order = fc_str_c(cd.order);
    e.decision = fc_str_c(cd.id);
    e.city = fc_str_c(cd.city);
    e.rider = fc_str_c(cd.rider);
    e.merchant = fc_str_c(cd.merchant);
    e.actor = fc_str_c("judge");
    e.body = (fc_str){body, (uint32_t)body_len};
    fc_err err;
    fc_store *s = NULL;
    assert_int_equal(fc_store_open(w->f.db, &s, &err), FC_OK);
    assert_int_equal(fc_store_case_append(s, &e, -1, NULL, NULL, &err), FC_OK);
    fc_store_close(s);
    fc_free(body);

    json_t *j = get_json(w, w->far_analyst, "/v1/decisions?limit=1", "", 200);
    json_t *items = json_object_get(j, "items");
    assert_int_equal(json_array_size(items), 1);
    assert_string_equal(jstr(json_array_get(items, 0), "id"), cd.id);
    assert_true(json_is_null(json_object_get(j, "next")));
    json_decref(j);
    /* the riyadh analyst's pages skip it and still end where the items do */
    static char ids[64][128];
    size_t n = walk_pages(w, w->analyst, "", ids, 64);
    assert_true(n >= 1);
    for (size_t i = 0; i < n; i++) {
        assert_string_not_equal(ids[i], cd.id);
    }
}

/* The server folds orders with reference entities it loaded once: a city
 * another process adds (a CLI ingest on the served store) is seen within
 * about a second (the store's data version, polled). */
static void test_order_sees_new_reference_rows(void **state) {
    fc_test_world *w = *state;
    fc_test_ingest_text(w->f.db, w->f.dir, "more_cities.csv",
                        "country,city,tz,currency\nSA,dammam,Asia/Riyadh,SAR\n");
    char csv[2048];
    fc_test_order_csv(csv, sizeof csv, "DMM1", "dammam");
    fc_test_ingest_text(w->f.db, w->f.dir, "more_orders.csv", csv);
    const char *country = NULL;
    json_t *j = NULL;
    for (int i = 0; i < 60; i++) {
        json_decref(j);
        j = get_json(w, w->admin, "/v1/orders/DMM1", "", 200);
        country = jstr(json_object_get(j, "order"), "country");
        if (country != NULL) {
            break;
        }
        usleep(100000);
    }
    assert_non_null(country);
    assert_string_equal(country, "SA");
    json_t *o = json_object_get(j, "order");
    assert_string_equal(jstr(o, "time_zone"), "Asia/Riyadh");
    assert_non_null(strstr(jstr(o, "created_at"), "+03:00"));
    json_decref(j);
}

static int group_setup(void **state) {
    return fc_test_world_setup(state);
}

static int group_teardown(void **state) {
    return fc_test_world_teardown(state);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_happy_path),
        cmocka_unit_test(test_order_access),
        cmocka_unit_test(test_decisions_list),
        cmocka_unit_test(test_decisions_pagination),
        cmocka_unit_test(test_decisions_filters),
        cmocka_unit_test(test_decisions_scope),
        cmocka_unit_test(test_decisions_bad_parameters),
        cmocka_unit_test(test_decisions_arabic),
        cmocka_unit_test(test_rider_page),
        cmocka_unit_test(test_merchant_page),
        cmocka_unit_test(test_policies),
        cmocka_unit_test(test_decisions_scoped_last_page),    /* adds a decision: last */
        cmocka_unit_test(test_order_sees_new_reference_rows), /* adds a city and an order */
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
