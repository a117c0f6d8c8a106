/*
 * The appeals routes against a real server on 127.0.0.1: filing, the queue
 * and its scopes and pages, one item with its history and the recorded
 * view, verdicts with the token's name, stale and racing verdicts, and the
 * SLA fields. The world (support_http.h) has a judged city (riyadh, SA):
 * its `dec` is a late decision holding rider r1 liable, owned by the
 * `rider` token; A2 holds merchant m2 liable; A3 is a complaint about r3
 * that needs review.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adjudicate/adjudicate.h"
#include "appeal/appeal.h"
#include "policy/policy.h"
#include "support.h"
#include "support_http.h"

#define RECORDED 1772400000 /* when the world's decisions were recorded */

/* The world and the tokens this file adds. */
typedef struct world {
    fc_test_world *w;
    char doha_reviewer[FC_AUTH_TOKEN_LEN + 1]; /* a reviewer of another city */
    char m2[FC_AUTH_TOKEN_LEN + 1];            /* merchant m2, liable on A2 */
    char r3[FC_AUTH_TOKEN_LEN + 1];            /* rider r3, of the decision needing review */
    char dec_a2[FC_CASE_ID_MAX];               /* A2's decision (merchant liable) */
} world;

static int pick_a2(void *ud, const fc_case_decision *d) {
    world *x = ud;
    if (strcmp(d->order, "A2") == 0) {
        snprintf(x->dec_a2, sizeof x->dec_a2, "%s", d->id);
    }
    return 0;
}

static int setup(void **state) {
    void *ws = NULL;
    fc_test_world_setup(&ws);
    world *x = calloc(1, sizeof *x);
    assert_non_null(x);
    x->w = ws;
    assert_int_equal(x->w->dec.d.liable, FC_PARTY_RIDER);
    fc_store *s = NULL;
    fc_err err;
    assert_int_equal(fc_store_open(x->w->f.db, &s, &err), FC_OK);
    fc_test_make_token(s, "doha-reviewer", "reviewer", "city:doha", x->doha_reviewer);
    fc_test_make_token(s, "m2-merchant", "merchant", "merchant:m2", x->m2);
    fc_test_make_token(s, "r3-rider", "rider", "rider:r3", x->r3);
    fc_adj_opts o;
    fc_adj_opts_init(&o);
    assert_int_equal(fc_adj_decisions(s, &o, pick_a2, x, &err), FC_OK);
    assert_true(x->dec_a2[0] != '\0');
    fc_store_close(s);
    *state = x;
    return 0;
}

static int teardown(void **state) {
    world *x = *state;
    void *ws = x->w;
    fc_test_world_teardown(&ws);
    free(x);
    return 0;
}

static json_t *body_json(const fc_test_resp *r) {
    json_error_t je;
    json_t *j = json_loads(r->body, 0, &je);
    assert_non_null(j);
    return j;
}

static const char *jstr(const json_t *o, const char *key) {
    return json_string_value(json_object_get(o, key));
}

/* Assert r is an error of this status and code whose message has `words`. */
static void assert_refused(const fc_test_resp *r, int status, const char *code, const char *words) {
    if (r->status != status) {
        fprintf(stderr, "status %d, wanted %d: %s\n", r->status, status, r->body);
    }
    assert_int_equal(r->status, status);
    fc_test_assert_error(r, code);
    if (words != NULL) {
        json_t *j = body_json(r);
        const char *msg = jstr(json_object_get(j, "error"), "message");
        if (strstr(msg, words) == NULL) {
            fprintf(stderr, "message '%s' lacks '%s'\n", msg, words);
        }
        assert_non_null(strstr(msg, words));
        json_decref(j);
    }
}

/* POST /v1/appeals with body as token; the response's JSON (status into
 * *status). */
static json_t *post_json(world *x, const char *token, const char *path, const char *body,
                         int *status) {
    fc_test_resp r;
    fc_test_send_as(x->w, token, "POST", path, body, &r);
    *status = r.status;
    json_t *j = body_json(&r);
    fc_test_resp_free(&r);
    return j;
}

static json_t *get_json(world *x, const char *token, const char *path, const char *extra,
                        int *status) {
    fc_test_resp r;
    fc_test_get_as(x->w, token, path, extra, &r);
    *status = r.status;
    json_t *j = body_json(&r);
    fc_test_resp_free(&r);
    return j;
}

/* The rider files an appeal of the world's decision with four items,
 * expecting status; the response's JSON. */
static json_t *rider_files(world *x, int expect_status) {
    char body[1024];
    snprintf(body, sizeof body,
             "{\"decision\":\"%s\",\"statement\":\"The restaurant was slow, not me.\","
             "\"items\":[{\"kind\":\"call\",\"ts\":\"2026-03-02T10:50:00+03:00\","
             "\"outcome\":\"no_answer\",\"duration_s\":25,\"note\":\"rang twice\"},"
             "{\"kind\":\"gps\",\"ts\":\"2026-03-02T07:55:00Z\",\"lat\":24.7101,\"lng\":46.6899},"
             "{\"kind\":\"photo\",\"id\":\"IMG-5521\"},"
             "{\"kind\":\"text\",\"text\":\"Traffic on King Fahd Road.\"}]}",
             x->w->dec.id);
    int status = 0;
    json_t *j = post_json(x, x->w->rider, "/v1/appeals", body, &status);
    assert_int_equal(status, expect_status);
    return j;
}

/* Likewise, keeping only the appeal's id. */
static void file_as_rider(world *x, char id[FC_CASE_ID_MAX], int expect_status) {
    json_t *j = rider_files(x, expect_status);
    snprintf(id, FC_CASE_ID_MAX, "%s", jstr(json_object_get(j, "appeal"), "id"));
    json_decref(j);
}

/* The actor of the item's filing in a screen's history. */
static const char *filing_actor(const json_t *appeal) {
    const json_t *history = json_object_get(appeal, "history");
    for (size_t i = 0; i < json_array_size(history); i++) {
        const json_t *h = json_array_get(history, i);
        if (strcmp(jstr(h, "type"), "appeal_filed") == 0) {
            return jstr(h, "actor");
        }
    }
    return NULL;
}

/* The last_seq of item id as the admin reads it (the read is a view). */
static int64_t read_seq(world *x, const char *token, const char *id) {
    char path[128];
    snprintf(path, sizeof path, "/v1/appeals/%s", id);
    int status = 0;
    json_t *j = get_json(x, token, path, "", &status);
    assert_int_equal(status, 200);
    int64_t seq = json_integer_value(json_object_get(json_object_get(j, "appeal"), "last_seq"));
    json_decref(j);
    assert_true(seq > 0);
    return seq;
}

/* The rider files (into id), `token` reads the item; its decision route
 * into path (160 bytes) and the last_seq read. */
static int64_t filed_and_read(world *x, const char *token, char id[FC_CASE_ID_MAX], char *path) {
    file_as_rider(x, id, 201);
    snprintf(path, 160, "/v1/appeals/%s/decision", id);
    return read_seq(x, token, id);
}

/* Put the decisions needing review into the queue (A3's). */
static void queue_reviews(world *x) {
    fc_store *s = NULL;
    fc_policy_pack *pk = NULL;
    fc_err err;
    assert_int_equal(fc_store_open(x->w->f.db, &s, &err), FC_OK);
    assert_int_equal(fc_policy_pack_load(FC_SOURCE_DIR "/policies", &pk, &err), FC_OK);
    size_t added = 0;
    assert_int_equal(fc_appeal_queue_reviews(s, pk, RECORDED + 60, &added, &err), FC_OK);
    assert_int_equal(added, 1);
    fc_policy_pack_free(pk);
    fc_store_close(s);
}

/* The ids of a listing's items, comma-separated, into out. */
static size_t list_ids(world *x, const char *token, const char *path, char *out, size_t cap,
                       int *status) {
    json_t *j = get_json(x, token, path, "", status);
    out[0] = '\0';
    const json_t *items = json_object_get(j, "items");
    size_t n = json_array_size(items);
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(out);
        snprintf(out + len, cap - len, "%s%s", i > 0 ? "," : "",
                 jstr(json_array_get(items, i), "id"));
    }
    json_decref(j);
    return n;
}

/* ---------------------------------------------------------------------------
 * Filing.
 */
static void test_file_then_again(void **state) {
    world *x = *state;
    char body[1024];
    int status = 0;
    json_t *j = rider_files(x, 201);
    const json_t *a = json_object_get(j, "appeal");
    char id[FC_CASE_ID_MAX];
    snprintf(id, sizeof id, "%s", jstr(a, "id"));
    assert_memory_equal(id, "apl-", 4);
    assert_string_equal(jstr(a, "decision"), x->w->dec.id);
    assert_string_equal(jstr(a, "kind"), "appeal");
    assert_string_equal(jstr(a, "appellant"), "rider");
    assert_string_equal(jstr(a, "appellant_id"), x->w->dec.rider);
    assert_string_equal(jstr(a, "city"), "riyadh");
    assert_string_equal(jstr(a, "statement"), "The restaurant was slow, not me.");
    assert_true(json_is_true(json_object_get(a, "auto_reviewed")));
    /* Lateness is not changed by calls: auto-review queues it for a person. */
    assert_string_equal(jstr(a, "state"), "pending");
    assert_true(json_is_null(json_object_get(a, "verdict")));
    /* The items come back as they were filed. */
    const json_t *items = json_object_get(a, "items");
    assert_int_equal(json_array_size(items), 4);
    const json_t *call = json_array_get(items, 0);
    assert_string_equal(jstr(call, "kind"), "call");
    assert_string_equal(jstr(call, "ts"), "2026-03-02T07:50:00Z");
    assert_string_equal(jstr(call, "outcome"), "no_answer");
    assert_string_equal(jstr(call, "note"), "rang twice");
    assert_int_equal(json_integer_value(json_object_get(call, "duration_s")), 25);
    const json_t *gps = json_array_get(items, 1);
    assert_true(json_real_value(json_object_get(gps, "lat")) > 24.71009 &&
                json_real_value(json_object_get(gps, "lat")) < 24.71011);
    assert_true(json_real_value(json_object_get(gps, "lng")) > 46.68989 &&
                json_real_value(json_object_get(gps, "lng")) < 46.68991);
    assert_string_equal(jstr(json_array_get(items, 2), "id"), "IMG-5521");
    assert_string_equal(jstr(json_array_get(items, 3), "text"), "Traffic on King Fahd Road.");
    /* The filing's actor is the token's name. */
    assert_string_equal(filing_actor(a), "the-rider");
    const json_t *history = json_object_get(a, "history");
    int filed = 0;
    for (size_t i = 0; i < json_array_size(history); i++) {
        const json_t *h = json_array_get(history, i);
        if (strcmp(jstr(h, "type"), "appeal_filed") == 0) {
            assert_non_null(strstr(jstr(h, "summary"), "4 evidence items"));
            filed++;
        }
    }
    assert_int_equal(filed, 1);
    /* The decision, as GET /v1/decisions/{id} has it. */
    assert_string_equal(jstr(json_object_get(j, "decision"), "id"), x->w->dec.id);
    json_decref(j);

    /* Again, said differently: the appeal filed first, 200. */
    snprintf(body, sizeof body, "{\"decision\":\"%s\",\"statement\":\"Once more.\"}", x->w->dec.id);
    j = post_json(x, x->w->rider, "/v1/appeals", body, &status);
    assert_int_equal(status, 200);
    a = json_object_get(j, "appeal");
    assert_string_equal(jstr(a, "id"), id);
    assert_string_equal(jstr(a, "statement"), "The restaurant was slow, not me.");
    json_decref(j);

    /* An admin files for the merchant of A2; the actor is the admin's
     * token. */
    snprintf(body, sizeof body,
             "{\"decision\":\"%s\",\"statement\":\"The order was ready on time.\","
             "\"appellant\":\"merchant\"}",
             x->dec_a2);
    j = post_json(x, x->w->admin, "/v1/appeals", body, &status);
    assert_int_equal(status, 201);
    a = json_object_get(j, "appeal");
    assert_string_equal(jstr(a, "appellant"), "merchant");
    assert_string_equal(jstr(a, "appellant_id"), "m2");
    assert_string_equal(filing_actor(a), "root");
    json_decref(j);
}

static void test_file_refused(void **state) {
    world *x = *state;
    fc_test_resp r;
    char body[1024];
    snprintf(body, sizeof body, "{\"decision\":\"%s\",\"statement\":\"Not mine.\"}", x->w->dec.id);
    /* Someone else's decision, or none: not found. */
    fc_test_send_as(x->w, x->w->other_rider, "POST", "/v1/appeals", body, &r);
    assert_refused(&r, 404, "not_found", "no such decision");
    fc_test_resp_free(&r);
    fc_test_send_as(x->w, x->w->merchant, "POST", "/v1/appeals",
                    "{\"decision\":\"dec-000000000000000000000000\",\"statement\":\"x\"}", &r);
    assert_refused(&r, 404, "not_found", NULL);
    fc_test_resp_free(&r);
    /* Roles that never file. */
    fc_test_send_as(x->w, x->w->analyst, "POST", "/v1/appeals", body, &r);
    assert_refused(&r, 403, "forbidden", NULL);
    fc_test_resp_free(&r);
    fc_test_send_as(x->w, x->w->sa_reviewer, "POST", "/v1/appeals", body, &r);
    assert_refused(&r, 403, "forbidden", NULL);
    fc_test_resp_free(&r);
    fc_test_send_as(x->w, NULL, "POST", "/v1/appeals", body, &r);
    assert_int_equal(r.status, 401);
    fc_test_resp_free(&r);
    /* The merchant of A1 (m1): a decision that holds the rider liable. */
    fc_test_send_as(x->w, x->w->merchant, "POST", "/v1/appeals", body, &r);
    assert_refused(&r, 400, "bad_request", "nothing to appeal");
    fc_test_resp_free(&r);

    /* Bad bodies name the field, and the item. */
    static const struct {
        const char *body_fmt;
        const char *words;
    } bad[] = {
        {"{\"statement\":\"x\"}", "decision"},
        {"{\"decision\":\"%s\"}", "statement"},
        {"{\"decision\":\"%s\",\"statement\":\"x\",\"why\":1}", "unknown field 'why'"},
        {"{\"decision\":\"%s\",\"statement\":\"x\",\"items\":{}}", "items"},
        {"{\"decision\":\"%s\",\"statement\":\"x\",\"items\":[{\"kind\":\"text\",\"text\":\"a\"},"
         "{\"kind\":\"fax\"}]}",
         "evidence item 2 (items[1]): kind"},
        {"{\"decision\":\"%s\",\"statement\":\"x\",\"items\":[{\"kind\":\"gps\",\"ts\":"
         "\"yesterday\",\"lat\":1,\"lng\":2}]}",
         "evidence item 1 (items[0]): ts"},
        {"{\"decision\":\"%s\",\"statement\":\"x\",\"items\":[{\"kind\":\"gps\",\"ts\":"
         "\"2026-03-02T07:55:00Z\",\"lat\":91,\"lng\":2}]}",
         "evidence item 1 (items[0]): a GPS point needs a latitude and longitude in range"},
        {"{\"decision\":\"%s\",\"statement\":\"x\",\"items\":[{\"kind\":\"gps\",\"ts\":"
         "\"2026-03-02T07:55:00Z\",\"lat\":1e300,\"lng\":2}]}",
         "evidence item 1 (items[0]): a GPS point needs a latitude and longitude in range"},
        {"{\"decision\":\"%s\",\"statement\":\"x\",\"items\":[{\"kind\":\"photo\",\"id\":"
         "\"IMG-1\",\"lat\":24.7,\"lng\":-200}]}",
         "evidence item 1 (items[0]): a photo's position needs a latitude and longitude"},
        {"{\"decision\":\"%s\",\"statement\":\"x\",\"items\":[{\"kind\":\"call\",\"ts\":"
         "\"2026-03-02T07:55:00Z\",\"outcome\":\"busy\",\"duration_s\":99999999999}]}",
         "evidence item 1 (items[0]): a call's duration must be 0 to 14400 seconds"},
        {"{\"decision\":\"%s\",\"statement\":\"x\",\"items\":[{\"kind\":\"text\"}]}",
         "evidence item 1 (items[0]): a text item needs its text"},
        {"{\"decision\":\"%s\",\"statement\":\"x\",\"items\":[{\"kind\":\"photo\",\"text\":"
         "\"IMG-1\"}]}",
         "evidence item 1 (items[0]): text: not a field of a photo item"},
        {"{\"decision\":\"%s\",\"statement\":\"x\",\"items\":[{\"kind\":\"call\",\"ts\":"
         "\"2026-03-02T07:55:00Z\"}]}",
         "evidence item 1 (items[0]): a call needs its outcome"},
        {"{\"decision\":\"%s\",\"statement\":\"x\",\"appellant\":\"merchant\"}",
         "appellant: a rider token files as the rider"},
        {"[1,2]", "JSON object"},
        {"{\"decision\":", "not JSON"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char b[512];
        snprintf(b, sizeof b, bad[i].body_fmt, x->w->dec.id);
        fc_test_send_as(x->w, x->w->rider, "POST", "/v1/appeals", b, &r);
        assert_refused(&r, 400, "bad_request", bad[i].words);
        fc_test_resp_free(&r);
    }
    /* An admin names the appellant's party. */
    fc_test_send_as(x->w, x->w->admin, "POST", "/v1/appeals", body, &r);
    assert_refused(&r, 400, "bad_request", "appellant");
    fc_test_resp_free(&r);
    /* Nothing was filed. */
    char ids[512];
    int status = 0;
    assert_int_equal(list_ids(x, x->w->admin, "/v1/appeals", ids, sizeof ids, &status), 0);
    assert_int_equal(status, 200);
}

/* ---------------------------------------------------------------------------
 * The queue.
 */
static void test_list_scopes(void **state) {
    world *x = *state;
    char id[FC_CASE_ID_MAX], ids[1024];
    file_as_rider(x, id, 201);
    queue_reviews(x);
    int status = 0;
    /* A reviewer of the country sees both (riyadh is in SA). */
    assert_int_equal(list_ids(x, x->w->sa_reviewer, "/v1/appeals", ids, sizeof ids, &status), 2);
    assert_int_equal(status, 200);
    assert_non_null(strstr(ids, id));
    /* Filters. */
    assert_int_equal(
        list_ids(x, x->w->sa_reviewer, "/v1/appeals?kind=appeal", ids, sizeof ids, &status), 1);
    assert_string_equal(ids, id);
    assert_int_equal(list_ids(x, x->w->sa_reviewer, "/v1/appeals?kind=review&city=riyadh", ids,
                              sizeof ids, &status),
                     1);
    assert_memory_equal(ids, "rev-", 4);
    assert_int_equal(
        list_ids(x, x->w->sa_reviewer, "/v1/appeals?state=upheld", ids, sizeof ids, &status), 0);
    assert_int_equal(status, 200);
    /* A reviewer of another city sees none, and may not ask for riyadh. */
    assert_int_equal(list_ids(x, x->doha_reviewer, "/v1/appeals", ids, sizeof ids, &status), 0);
    assert_int_equal(status, 200);
    fc_test_resp r;
    fc_test_get_as(x->w, x->doha_reviewer, "/v1/appeals?city=riyadh", "", &r);
    assert_refused(&r, 403, "forbidden", "riyadh");
    fc_test_resp_free(&r);
    /* Analysts are not in the appeals' part of the rules. */
    fc_test_get_as(x->w, x->w->analyst, "/v1/appeals", "", &r);
    assert_refused(&r, 403, "forbidden", NULL);
    fc_test_resp_free(&r);
    /* A rider sees its own appeal, not the review of r3's decision; r3
     * sees that review (it is liable) and not r1's appeal. */
    assert_int_equal(list_ids(x, x->w->rider, "/v1/appeals", ids, sizeof ids, &status), 1);
    assert_string_equal(ids, id);
    assert_int_equal(list_ids(x, x->r3, "/v1/appeals", ids, sizeof ids, &status), 1);
    assert_memory_equal(ids, "rev-", 4);
    assert_int_equal(list_ids(x, x->w->other_rider, "/v1/appeals", ids, sizeof ids, &status), 0);
    assert_int_equal(list_ids(x, x->w->merchant, "/v1/appeals", ids, sizeof ids, &status), 0);
    /* Asking for another rider's: it does not exist. */
    fc_test_get_as(x->w, x->w->other_rider, "/v1/appeals?rider=r1", "", &r);
    assert_refused(&r, 404, "not_found", NULL);
    fc_test_resp_free(&r);
    /* Bad parameters. */
    static const char *const bad[] = {"/v1/appeals?state=open",   "/v1/appeals?kind=x",
                                      "/v1/appeals?limit=0",      "/v1/appeals?limit=501",
                                      "/v1/appeals?breached=yes", "/v1/appeals?cursor=zzz"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fc_test_get_as(x->w, x->w->admin, bad[i], "", &r);
        assert_refused(&r, 400, "bad_request", NULL);
        fc_test_resp_free(&r);
    }
}

static void test_list_pages(void **state) {
    world *x = *state;
    char id[FC_CASE_ID_MAX], all[1024], ids[256];
    file_as_rider(x, id, 201);
    queue_reviews(x);
    char body[512];
    snprintf(body, sizeof body, "{\"decision\":\"%s\",\"statement\":\"Ready on time.\"}",
             x->dec_a2);
    int status = 0;
    json_t *j = post_json(x, x->m2, "/v1/appeals", body, &status);
    assert_int_equal(status, 201);
    json_decref(j);
    assert_int_equal(list_ids(x, x->w->admin, "/v1/appeals", all, sizeof all, &status), 3);
    /* The queue: pending items by deadline (the review's, from March, first). */
    assert_memory_equal(all, "rev-", 4);
    /* One at a time, following the cursors, gives the same list. */
    char path[256] = "/v1/appeals?limit=1", joined[1024] = "";
    size_t pages = 0;
    for (;;) {
        j = get_json(x, x->w->admin, path, "", &status);
        assert_int_equal(status, 200);
        const json_t *items = json_object_get(j, "items");
        assert_int_equal(json_array_size(items), 1);
        size_t len = strlen(joined);
        snprintf(joined + len, sizeof joined - len, "%s%s", pages > 0 ? "," : "",
                 jstr(json_array_get(items, 0), "id"));
        pages++;
        const json_t *next = json_object_get(j, "next");
        if (json_is_null(next)) {
            json_decref(j);
            break;
        }
        assert_true(pages < 3);
        snprintf(path, sizeof path, "/v1/appeals?limit=1&cursor=%s", json_string_value(next));
        json_decref(j);
    }
    assert_int_equal(pages, 3);
    assert_string_equal(joined, all);
    /* A page of two, then the rest. */
    j = get_json(x, x->w->admin, "/v1/appeals?limit=2", "", &status);
    snprintf(path, sizeof path, "/v1/appeals?limit=2&cursor=%s", jstr(j, "next"));
    json_decref(j);
    assert_int_equal(list_ids(x, x->w->admin, path, ids, sizeof ids, &status), 1);
    assert_non_null(strstr(all, ids));
    assert_string_equal(strrchr(all, ',') + 1, ids);
}

/* state=decided: the items no longer pending, newest verdict first, paged
 * by the same cursors as the queue. */
static void test_list_decided(void **state) {
    world *x = *state;
    char id[FC_CASE_ID_MAX], ids[512];
    file_as_rider(x, id, 201);
    queue_reviews(x);
    char body[512];
    snprintf(body, sizeof body, "{\"decision\":\"%s\",\"statement\":\"Ready on time.\"}",
             x->dec_a2);
    int status = 0;
    json_t *j = post_json(x, x->m2, "/v1/appeals", body, &status);
    assert_int_equal(status, 201);
    char m2_id[FC_CASE_ID_MAX];
    snprintf(m2_id, sizeof m2_id, "%s", jstr(json_object_get(j, "appeal"), "id"));
    json_decref(j);
    /* The rider's appeal is decided first, the merchant's later; the review
     * item stays pending. */
    fc_store *s = NULL;
    fc_err err;
    assert_int_equal(fc_store_open(x->w->f.db, &s, &err), FC_OK);
    const char *order[] = {id, m2_id};
    for (size_t i = 0; i < 2; i++) {
        fc_appeal a;
        assert_int_equal(fc_appeal_get(s, order[i], RECORDED, &a, &err), FC_OK);
        fc_appeal_verdict v = {FC_VERDICT_UPHOLD, "as recorded", "rev", 0};
        assert_int_equal(fc_appeal_decide(s, a.id, &v, a.last_seq,
                                          RECORDED + 3600 * (int64_t)(i + 1), NULL, &err),
                         FC_OK);
    }
    fc_store_close(s);
    char want[256];
    snprintf(want, sizeof want, "%s,%s", m2_id, id);
    assert_int_equal(
        list_ids(x, x->w->admin, "/v1/appeals?state=decided", ids, sizeof ids, &status), 2);
    assert_int_equal(status, 200);
    assert_string_equal(ids, want);
    /* A page at a time. */
    j = get_json(x, x->w->admin, "/v1/appeals?state=decided&limit=1", "", &status);
    assert_int_equal(status, 200);
    assert_string_equal(jstr(json_array_get(json_object_get(j, "items"), 0), "id"), m2_id);
    char path[256];
    snprintf(path, sizeof path, "/v1/appeals?state=decided&limit=1&cursor=%s", jstr(j, "next"));
    json_decref(j);
    j = get_json(x, x->w->admin, path, "", &status);
    assert_int_equal(status, 200);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 1);
    assert_string_equal(jstr(json_array_get(json_object_get(j, "items"), 0), "id"), id);
    assert_true(json_is_null(json_object_get(j, "next")));
    json_decref(j);
    /* The rider sees its own only. */
    assert_int_equal(
        list_ids(x, x->w->rider, "/v1/appeals?state=decided", ids, sizeof ids, &status), 1);
    assert_string_equal(ids, id);
    fc_test_resp r;
    fc_test_get_as(x->w, x->w->admin, "/v1/appeals?state=done", "", &r);
    assert_refused(&r, 400, "bad_request", "decided");
    fc_test_resp_free(&r);
}

/* ---------------------------------------------------------------------------
 * One item.
 */
static size_t count_views(const json_t *appeal, const char *actor) {
    const json_t *history = json_object_get(appeal, "history");
    size_t n = 0;
    for (size_t i = 0; i < json_array_size(history); i++) {
        const json_t *h = json_array_get(history, i);
        if (strcmp(jstr(h, "type"), "appeal_viewed") == 0 &&
            (actor == NULL || strcmp(jstr(h, "actor"), actor) == 0)) {
            n++;
        }
    }
    return n;
}

static void test_show_records_view(void **state) {
    world *x = *state;
    char id[FC_CASE_ID_MAX], path[128];
    file_as_rider(x, id, 201);
    snprintf(path, sizeof path, "/v1/appeals/%s", id);
    int status = 0;
    /* The rider reads its appeal: no view is recorded. */
    json_t *j = get_json(x, x->w->rider, path, "", &status);
    assert_int_equal(status, 200);
    assert_int_equal(count_views(json_object_get(j, "appeal"), NULL), 0);
    json_decref(j);
    /* The reviewer reads it, in Arabic. */
    fc_test_resp r;
    fc_test_get_as(x->w, x->w->sa_reviewer, path, "Accept-Language: ar\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.head, "Content-Language: ar"));
    j = body_json(&r);
    fc_test_resp_free(&r);
    const json_t *a = json_object_get(j, "appeal");
    assert_int_equal(count_views(a, "sa-reviewer"), 1);
    /* History: the decision, its ledger, the filing, auto-review, the view,
     * in seq order; last_seq is the view's. */
    const json_t *history = json_object_get(a, "history");
    size_t n = json_array_size(history);
    assert_true(n >= 4);
    assert_string_equal(jstr(json_array_get(history, 0), "type"), "decision");
    assert_non_null(strstr(jstr(json_array_get(history, 0), "summary"), "rider liable for late"));
    for (size_t i = 0; i + 1 < n; i++) {
        const json_t *h = json_array_get(history, i);
        assert_true(json_integer_value(json_object_get(h, "seq")) <
                    json_integer_value(json_object_get(json_array_get(history, i + 1), "seq")));
        assert_non_null(jstr(h, "at"));
        assert_true(strlen(jstr(h, "summary")) > 0);
    }
    const json_t *view = json_array_get(history, n - 1);
    assert_string_equal(jstr(view, "type"), "appeal_viewed");
    assert_string_equal(jstr(view, "summary"), "opened by sa-reviewer");
    assert_int_equal(json_integer_value(json_object_get(a, "last_seq")),
                     json_integer_value(json_object_get(view, "seq")));
    /* The order with the judge's facts and its timeline. */
    const json_t *order = json_object_get(j, "order");
    assert_string_equal(jstr(json_object_get(order, "order"), "id"), "A1");
    assert_true(json_object_size(json_object_get(order, "facts")) > 0);
    assert_true(json_array_size(json_object_get(order, "timeline")) > 0);
    /* The decision in the caller's language. */
    const json_t *d = json_object_get(j, "decision");
    assert_string_equal(jstr(d, "lang"), "ar");
    assert_string_equal(jstr(d, "explanation"), x->w->dec.explanation[FC_LANG_AR]);
    json_decref(j);
    /* The view is in the store, under the token's name. */
    fc_store *s = NULL;
    fc_err err;
    fc_arena *arena = fc_arena_new(0);
    fc_appeal_case c;
    assert_int_equal(fc_store_open(x->w->f.db, &s, &err), FC_OK);
    assert_int_equal(fc_appeal_load(s, id, RECORDED, arena, &c, &err), FC_OK);
    size_t views = 0;
    for (size_t i = 0; i < c.n_history; i++) {
        if (c.history[i].type == FC_CASE_APPEAL_VIEWED) {
            assert_true(fc_str_eqc(c.history[i].actor, "sa-reviewer"));
            views++;
        }
    }
    assert_int_equal(views, 1);
    fc_arena_free(arena);
    fc_store_close(s);
    /* Those it is not for: to another rider it is as if it did not exist. */
    fc_test_get_as(x->w, x->w->other_rider, path, "", &r);
    assert_refused(&r, 404, "not_found", "no such appeal");
    fc_test_resp_free(&r);
    fc_test_get_as(x->w, x->w->other_rider, "/v1/appeals/apl-000000000000000000000000", "", &r);
    assert_refused(&r, 404, "not_found", "no such appeal");
    fc_test_resp_free(&r);
    fc_test_get_as(x->w, x->w->merchant, path, "", &r);
    assert_refused(&r, 404, "not_found", NULL);
    fc_test_resp_free(&r);
    fc_test_get_as(x->w, x->w->analyst, path, "", &r);
    assert_refused(&r, 403, "forbidden", NULL);
    fc_test_resp_free(&r);
    fc_test_get_as(x->w, x->doha_reviewer, path, "", &r);
    assert_refused(&r, 403, "forbidden", NULL);
    fc_test_resp_free(&r);
    fc_test_get_as(x->w, x->w->admin, "/v1/appeals/apl-000000000000000000000000", "", &r);
    assert_refused(&r, 404, "not_found", NULL);
    fc_test_resp_free(&r);
}

/* ---------------------------------------------------------------------------
 * Verdicts.
 */
static void test_decide(void **state) {
    world *x = *state;
    char id[FC_CASE_ID_MAX], path[160], body[2048];
    int64_t seq = filed_and_read(x, x->w->sa_reviewer, id, path);
    fc_test_resp r;
    /* Who may not decide. */
    snprintf(body, sizeof body,
             "{\"verdict\":\"overturn\",\"reason\":\"The merchant was late.\",\"expect_seq\":%lld}",
             (long long)seq);
    const struct {
        const char *token;
        int status;
    } refused[] = {{x->w->rider, 403},
                   {x->w->other_rider, 404},
                   {x->w->merchant, 404},
                   {x->w->analyst, 403},
                   {x->doha_reviewer, 403}};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        fc_test_send_as(x->w, refused[i].token, "POST", path, body, &r);
        assert_refused(&r, refused[i].status, refused[i].status == 404 ? "not_found" : "forbidden",
                       NULL);
        fc_test_resp_free(&r);
    }
    /* Bad verdicts. */
    char long_reason[1100];
    memset(long_reason, 'a', 1001);
    long_reason[1001] = '\0';
    char too_long[1300];
    snprintf(too_long, sizeof too_long,
             "{\"verdict\":\"uphold\",\"reason\":\"%s\",\"expect_seq\":%lld}", long_reason,
             (long long)seq);
    char partial[128], no_seq[128], keep_on_uphold[160], empty[128], verdict[128];
    snprintf(partial, sizeof partial,
             "{\"verdict\":\"partial\",\"reason\":\"half\",\"expect_seq\":%lld}", (long long)seq);
    snprintf(no_seq, sizeof no_seq, "{\"verdict\":\"uphold\",\"reason\":\"fine\"}");
    snprintf(keep_on_uphold, sizeof keep_on_uphold,
             "{\"verdict\":\"uphold\",\"reason\":\"x\",\"keep_percent\":50,\"expect_seq\":%lld}",
             (long long)seq);
    snprintf(empty, sizeof empty, "{\"verdict\":\"uphold\",\"reason\":\"\",\"expect_seq\":%lld}",
             (long long)seq);
    snprintf(verdict, sizeof verdict,
             "{\"verdict\":\"dismiss\",\"reason\":\"x\",\"expect_seq\":%lld}", (long long)seq);
    const struct {
        const char *body, *words;
    } bad[] = {
        {too_long, "reason: at most 1000 bytes"}, {partial, "keep_percent"}, {no_seq, "expect_seq"},
        {keep_on_uphold, "keep_percent"},         {empty, "reason"},         {verdict, "verdict"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fc_test_send_as(x->w, x->w->sa_reviewer, "POST", path, bad[i].body, &r);
        assert_refused(&r, 400, "bad_request", bad[i].words);
        fc_test_resp_free(&r);
    }
    /* The verdict, under the reviewer token's name. */
    int status = 0;
    json_t *j = post_json(x, x->w->sa_reviewer, path, body, &status);
    assert_int_equal(status, 200);
    const json_t *a = json_object_get(j, "appeal");
    assert_string_equal(jstr(a, "state"), "overturned");
    assert_string_equal(jstr(a, "verdict"), "overturned");
    assert_string_equal(jstr(a, "decided_by"), "sa-reviewer");
    assert_string_equal(jstr(a, "reason"), "The merchant was late.");
    assert_false(json_is_true(json_object_get(a, "breached")));
    assert_non_null(jstr(a, "decided_at"));
    const json_t *history = json_object_get(a, "history");
    int decided = 0, reversed = 0;
    for (size_t i = 0; i < json_array_size(history); i++) {
        const json_t *h = json_array_get(history, i);
        if (strcmp(jstr(h, "type"), "appeal_decided") == 0) {
            assert_string_equal(jstr(h, "actor"), "sa-reviewer");
            assert_non_null(strstr(jstr(h, "summary"), "overturn: The merchant was late."));
            decided++;
        }
        if (strcmp(jstr(h, "type"), "ledger") == 0 && strstr(jstr(h, "summary"), "reversal")) {
            assert_string_equal(jstr(h, "actor"), "sa-reviewer");
            reversed++;
        }
    }
    assert_int_equal(decided, 1);
    assert_int_equal(reversed, 1); /* the rider's penalty points */
    json_decref(j);
    /* In the case log too. */
    fc_store *s = NULL;
    fc_err err;
    fc_appeal got;
    assert_int_equal(fc_store_open(x->w->f.db, &s, &err), FC_OK);
    assert_int_equal(fc_appeal_get(s, id, RECORDED, &got, &err), FC_OK);
    assert_string_equal(got.decided_by, "sa-reviewer");
    assert_int_equal(got.state, FC_APPEAL_OVERTURNED);
    fc_store_close(s);
    /* Deciding again: it is decided already. */
    snprintf(body, sizeof body,
             "{\"verdict\":\"uphold\",\"reason\":\"Second thoughts.\",\"expect_seq\":%lld}",
             (long long)got.last_seq);
    fc_test_send_as(x->w, x->w->admin, "POST", path, body, &r);
    assert_refused(&r, 409, "conflict", "already decided (overturned by sa-reviewer)");
    fc_test_resp_free(&r);
}

static void test_decide_stale(void **state) {
    world *x = *state;
    char id[FC_CASE_ID_MAX], path[160], body[256];
    int64_t seen = filed_and_read(x, x->w->sa_reviewer, id, path);
    /* The admin opens it meanwhile: the reviewer's read is stale. */
    int64_t now_seq = read_seq(x, x->w->admin, id);
    assert_true(now_seq > seen);
    snprintf(body, sizeof body,
             "{\"verdict\":\"partial\",\"reason\":\"Half of it.\",\"keep_percent\":50,"
             "\"expect_seq\":%lld}",
             (long long)seen);
    fc_test_resp r;
    fc_test_send_as(x->w, x->w->sa_reviewer, "POST", path, body, &r);
    assert_refused(&r, 409, "conflict", "someone else acted on it first");
    fc_test_resp_free(&r);
    /* Read again, then it goes through. */
    snprintf(body, sizeof body,
             "{\"verdict\":\"partial\",\"reason\":\"Half of it.\",\"keep_percent\":50,"
             "\"expect_seq\":%lld}",
             (long long)now_seq);
    int status = 0;
    json_t *j = post_json(x, x->w->sa_reviewer, path, body, &status);
    assert_int_equal(status, 200);
    const json_t *a = json_object_get(j, "appeal");
    assert_string_equal(jstr(a, "state"), "partial");
    assert_int_equal(json_integer_value(json_object_get(a, "keep_percent")), 50);
    json_decref(j);
}

typedef struct racer {
    world *x;
    const char *token;
    const char *path;
    char body[256];
    int status;
} racer;

static void *race(void *arg) {
    racer *r = arg;
    fc_test_resp resp;
    fc_test_send_as(r->x->w, r->token, "POST", r->path, r->body, &resp);
    r->status = resp.status;
    fc_test_resp_free(&resp);
    return NULL;
}

static void test_decide_race(void **state) {
    world *x = *state;
    char id[FC_CASE_ID_MAX], path[160];
    int64_t seq = filed_and_read(x, x->w->admin, id, path);
    racer rs[2] = {{x, x->w->sa_reviewer, path, "", 0}, {x, x->w->admin, path, "", 0}};
    snprintf(rs[0].body, sizeof rs[0].body,
             "{\"verdict\":\"uphold\",\"reason\":\"Too slow.\",\"expect_seq\":%lld}",
             (long long)seq);
    snprintf(rs[1].body, sizeof rs[1].body,
             "{\"verdict\":\"overturn\",\"reason\":\"Not his fault.\",\"expect_seq\":%lld}",
             (long long)seq);
    pthread_t t[2];
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pthread_create(&t[i], NULL, race, &rs[i]), 0);
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
    }
    assert_true((rs[0].status == 200 && rs[1].status == 409) ||
                (rs[0].status == 409 && rs[1].status == 200));
    /* One verdict is written, by the winner. */
    fc_store *s = NULL;
    fc_err err;
    fc_appeal got;
    assert_int_equal(fc_store_open(x->w->f.db, &s, &err), FC_OK);
    assert_int_equal(fc_appeal_get(s, id, RECORDED, &got, &err), FC_OK);
    assert_string_equal(got.decided_by, rs[0].status == 200 ? "sa-reviewer" : "root");
    assert_int_equal(got.state, rs[0].status == 200 ? FC_APPEAL_UPHELD : FC_APPEAL_OVERTURNED);
    fc_store_close(s);
}

/* ---------------------------------------------------------------------------
 * Deadlines.
 */
static void test_sla_fields(void **state) {
    world *x = *state;
    char id[FC_CASE_ID_MAX], ids[512];
    file_as_rider(x, id, 201);
    queue_reviews(x);
    int status = 0;
    json_t *j = get_json(x, x->w->admin, "/v1/appeals", "", &status);
    assert_int_equal(status, 200);
    const json_t *items = json_object_get(j, "items");
    assert_int_equal(json_array_size(items), 2);
    for (size_t i = 0; i < 2; i++) {
        const json_t *a = json_array_get(items, i);
        const char *due = jstr(a, "due_at");
        assert_non_null(due);
        assert_int_equal(strlen(due), 20); /* 2026-03-04T...Z */
        if (strncmp(jstr(a, "id"), "rev-", 4) == 0) {
            /* Queued from a decision recorded in March: long overdue. */
            assert_memory_equal(due, "2026-03-", 8);
            assert_true(json_is_true(json_object_get(a, "breached")));
            assert_string_equal(jstr(a, "kind"), "review");
            assert_true(json_is_null(json_object_get(a, "appellant")));
        } else {
            /* Filed just now: due in the future. */
            assert_string_equal(jstr(a, "id"), id);
            assert_true(strcmp(due, jstr(a, "filed_at")) > 0);
            assert_false(json_is_true(json_object_get(a, "breached")));
        }
    }
    json_decref(j);
    assert_int_equal(list_ids(x, x->w->admin, "/v1/appeals?breached=1", ids, sizeof ids, &status),
                     1);
    assert_memory_equal(ids, "rev-", 4);
    assert_int_equal(list_ids(x, x->w->admin, "/v1/appeals?breached=0", ids, sizeof ids, &status),
                     2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_file_then_again, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_scopes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_decided, setup, teardown),
        cmocka_unit_test_setup_teardown(test_show_records_view, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decide, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decide_stale, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decide_race, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sla_fields, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
