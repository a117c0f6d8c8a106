/*
 * The authorization matrix: every route that needs a token, asked by every
 * kind of caller (no token, a revoked token, each role in and out of its
 * scope), answers exactly what the rules of src/auth/auth.h say: refused
 * callers get 401, 403 or 404 and nothing else, allowed callers are served.
 * A route of the server's table with no row here fails the test, so a new
 * route cannot ship without its matrix.
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

#include "http/http.h"
#include "store/store.h"
#include "support.h"
#include "support_http.h"

/* The callers. */
enum {
    NONE,           /* no Authorization header */
    REVOKED,        /* an admin token, revoked */
    ADMIN,          /* admin "*" */
    ANALYST_IN,     /* analyst city:riyadh (the decision's city) */
    ANALYST_OUT,    /* analyst city:doha,country:QA */
    REVIEWER_IN,    /* reviewer country:SA */
    REVIEWER_OUT,   /* reviewer country:QA */
    RIDER_OWN,      /* rider:<the decision's rider> */
    RIDER_OTHER,    /* rider:nobody */
    MERCHANT_OWN,   /* merchant:<the decision's merchant> */
    MERCHANT_OTHER, /* merchant:nobody */
    N_CALLERS
};
static const char *const caller_names[N_CALLERS] = {
    "no token",     "revoked",   "admin",       "analyst in",   "analyst out",   "reviewer in",
    "reviewer out", "rider own", "rider other", "merchant own", "merchant other"};

/* What a caller must get: served (a 2xx), or refused with a status. */
#define OK  200 /* any 2xx */
#define UNA 401
#define FOR 403
#define NFD 404
#define BAD 400 /* let in, refused on the merits (nothing of its own to act on) */
#define ANY 0   /* not asked in this row (another row of the route asks) */

typedef struct row {
    const char *method;
    const char *route; /* the template of the server's table */
    const char *path;  /* with placeholders: {dec} {order} {rider} {merchant} {appeal} {city} */
    const char *body;  /* JSON with the same placeholders, or NULL */
    int want[N_CALLERS];
} row;

/* The rules table of auth.h, route by route. Unauthenticated callers are
 * always 401. Riders and merchants get 404 for what is not theirs, never
 * 403; analysts and reviewers get 403 outside their places. */
static const row rows[] = {
    {"GET", "/v1/me", "/v1/me", NULL, {UNA, UNA, OK, OK, OK, OK, OK, OK, OK, OK, OK}},
    /* read_kpi: admin; analyst and reviewer in scope */
    {"GET",
     "/v1/kpi",
     "/v1/kpi?by=city&where=city=riyadh",
     NULL,
     {UNA, UNA, OK, OK, FOR, OK, FOR, FOR, FOR, FOR, FOR}},
    /* read_decision, listed: a place filter outside the scope is refused */
    {"GET",
     "/v1/decisions",
     "/v1/decisions?city=riyadh",
     NULL,
     {UNA, UNA, OK, OK, FOR, OK, FOR, OK, OK, OK, OK}},
    /* read_decision, listed by rider: another rider's list is not found; a
     * merchant sees the rider's decisions on its own orders only (its scope
     * is forced in) */
    {"GET",
     "/v1/decisions",
     "/v1/decisions?rider={rider}",
     NULL,
     {UNA, UNA, OK, OK, OK, OK, OK, OK, NFD, OK, OK}},
    {"GET",
     "/v1/decisions/{id}",
     "/v1/decisions/{dec}",
     NULL,
     {UNA, UNA, OK, OK, FOR, OK, FOR, OK, NFD, OK, NFD}},
    /* read_order */
    {"GET",
     "/v1/orders/{id}",
     "/v1/orders/{order}",
     NULL,
     {UNA, UNA, OK, OK, FOR, OK, FOR, OK, NFD, OK, NFD}},
    {"GET",
     "/v1/riders/{id}",
     "/v1/riders/{rider}",
     NULL,
     {UNA, UNA, OK, OK, FOR, OK, FOR, OK, NFD, NFD, NFD}},
    {"GET",
     "/v1/merchants/{id}",
     "/v1/merchants/{merchant}",
     NULL,
     {UNA, UNA, OK, OK, FOR, OK, FOR, NFD, NFD, OK, NFD}},
    /* read_policy: the pack's shared policies, analysts and reviewers too,
     * and the policies governing their places */
    {"GET",
     "/v1/policies",
     "/v1/policies",
     NULL,
     {UNA, UNA, OK, OK, OK, OK, OK, FOR, FOR, FOR, FOR}},
    {"GET",
     "/v1/policies/{id}",
     "/v1/policies/base",
     NULL,
     {UNA, UNA, OK, OK, OK, OK, OK, FOR, FOR, FOR, FOR}},
    /* the policy governing the scope's city: the riyadh analyst reads its
     * country's policy (not through its own place: sa names the country) */
    {"GET",
     "/v1/policies/{id}",
     "/v1/policies/sa",
     NULL,
     {UNA, UNA, OK, OK, FOR, OK, FOR, FOR, FOR, FOR, FOR}},
    /* a policy governing no place of the scope */
    {"GET",
     "/v1/policies/{id}",
     "/v1/policies/ae",
     NULL,
     {UNA, UNA, OK, FOR, FOR, FOR, FOR, FOR, FOR, FOR, FOR}},
    /* ingest: admin only */
    {"POST",
     "/v1/events",
     "/v1/events",
     "[]",
     {UNA, UNA, OK, FOR, FOR, FOR, FOR, FOR, FOR, FOR, FOR}},
    /* file_appeal: the decision's own rider (first, so the appeal exists
     * for the rows below); admin on behalf; another rider's is not found */
    {"POST",
     "/v1/appeals",
     "/v1/appeals",
     "{\"decision\":\"{dec}\",\"statement\":\"I waited at the door.\"}",
     {UNA, UNA, ANY, FOR, FOR, FOR, FOR, OK, NFD, BAD, NFD}},
    {"POST",
     "/v1/appeals",
     "/v1/appeals",
     "{\"decision\":\"{dec}\",\"statement\":\"I waited at the door.\",\"appellant\":\"rider\"}",
     {ANY, ANY, OK, ANY, ANY, ANY, ANY, ANY, ANY, ANY, ANY}},
    /* the queue: reviewers within their places, riders and merchants their
     * own; analysts may not read appeals */
    {"GET",
     "/v1/appeals",
     "/v1/appeals?city=riyadh",
     NULL,
     {UNA, UNA, OK, FOR, FOR, OK, FOR, OK, OK, OK, OK}},
    {"GET",
     "/v1/appeals/{id}",
     "/v1/appeals/{appeal}",
     NULL,
     {UNA, UNA, OK, FOR, FOR, OK, FOR, OK, NFD, NFD, NFD}},
    /* decide_appeal: admin, reviewer in scope (the allowed ones last:
     * deciding ends the item, so a second verdict is a conflict) */
    {"POST",
     "/v1/appeals/{id}/decision",
     "/v1/appeals/{appeal}/decision",
     "{\"verdict\":\"uphold\",\"reason\":\"The call log shows no attempt.\",\"expect_seq\":{seq}}",
     {UNA, UNA, OK, FOR, FOR, OK, FOR, FOR, NFD, NFD, NFD}},
};
#define N_ROWS (sizeof rows / sizeof rows[0])

typedef struct matrix {
    fc_test_world *w;
    const char *tok[N_CALLERS];
    char reviewer_out[FC_AUTH_TOKEN_LEN + 1], merchant_own[FC_AUTH_TOKEN_LEN + 1],
        merchant_other[FC_AUTH_TOKEN_LEN + 1];
    char appeal[128];
    long long seq;
} matrix;

/* t with every placeholder replaced. */
static void expand(const matrix *m, const char *t, char *out, size_t size) {
    const fc_case_decision *d = &m->w->dec;
    char seq[32];
    snprintf(seq, sizeof seq, "%lld", m->seq);
    const char *keys[] = {"{dec}", "{order}", "{rider}", "{merchant}", "{appeal}", "{seq}"};
    const char *vals[] = {d->id, d->order, d->rider, d->merchant, m->appeal, seq};
    size_t n = 0;
    while (*t != '\0') {
        size_t k = 0;
        while (k < 6 && strncmp(t, keys[k], strlen(keys[k])) != 0) {
            k++;
        }
        const char *piece = k < 6 ? vals[k] : t;
        size_t len = k < 6 ? strlen(vals[k]) : 1;
        assert_true(n + len < size);
        memcpy(out + n, piece, len);
        n += len;
        t += k < 6 ? strlen(keys[k]) : 1;
    }
    out[n] = '\0';
}

static int setup(void **state) {
    fc_test_world_setup(state);
    matrix *m = calloc(1, sizeof *m);
    assert_non_null(m);
    m->w = *state;
    fc_test_world *w = m->w;
    assert_true(w->dec.merchant[0] != '\0');
    fc_store *s = NULL;
    fc_err err;
    assert_int_equal(fc_store_open(w->f.db, &s, &err), FC_OK);
    char scope[128];
    fc_test_make_token(s, "qa-reviewer", "reviewer", "country:QA", m->reviewer_out);
    snprintf(scope, sizeof scope, "merchant:%s", w->dec.merchant);
    fc_test_make_token(s, "own-merchant", "merchant", scope, m->merchant_own);
    fc_test_make_token(s, "other-merchant", "merchant", "merchant:nobody", m->merchant_other);
    fc_store_close(s);
    const char *tok[N_CALLERS] = {NULL,           w->revoked,      w->admin,         w->analyst,
                                  w->far_analyst, w->sa_reviewer,  m->reviewer_out,  w->rider,
                                  w->other_rider, m->merchant_own, m->merchant_other};
    memcpy(m->tok, tok, sizeof tok);
    *state = m;
    return 0;
}

static int teardown(void **state) {
    matrix *m = *state;
    *state = m->w;
    free(m);
    return fc_test_world_teardown(state);
}

/* After the rider filed: the appeal's id and last seq, read as admin. */
static void learn_appeal(matrix *m, const fc_test_resp *filed) {
    json_t *j = json_loads(filed->body, 0, NULL);
    assert_non_null(j);
    const char *id = json_string_value(json_object_get(j, "id"));
    if (id == NULL) {
        id = json_string_value(json_object_get(json_object_get(j, "appeal"), "id"));
    }
    assert_non_null(id);
    snprintf(m->appeal, sizeof m->appeal, "%s", id);
    json_decref(j);
    char path[256];
    snprintf(path, sizeof path, "/v1/appeals/%s", m->appeal);
    fc_test_resp r;
    fc_test_get_as(m->w, m->w->admin, path, "", &r);
    assert_int_equal(r.status, 200);
    j = json_loads(r.body, 0, NULL);
    assert_non_null(j);
    json_t *seq = json_object_get(json_object_get(j, "appeal"), "last_seq");
    assert_true(json_is_integer(seq));
    m->seq = json_integer_value(seq);
    json_decref(j);
    fc_test_resp_free(&r);
}

static void check_row(matrix *m, const row *rw) {
    /* refused callers first, then the allowed ones, admin last: an allowed
     * write (a verdict) ends what the next would act on */
    static const int order[N_CALLERS] = {NONE,         REVOKED,     ANALYST_IN,     ANALYST_OUT,
                                         REVIEWER_OUT, RIDER_OTHER, MERCHANT_OTHER, MERCHANT_OWN,
                                         RIDER_OWN,    REVIEWER_IN, ADMIN};
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < N_CALLERS; i++) {
            int c = order[i];
            if (rw->want[c] == ANY) {
                continue;
            }
            int allowed = rw->want[c] == OK;
            if (allowed != pass) {
                continue;
            }
            char path[512], body[1024];
            expand(m, rw->path, path, sizeof path);
            if (rw->body != NULL) {
                expand(m, rw->body, body, sizeof body);
            }
            fc_test_resp r;
            fc_test_send_as(m->w, m->tok[c], rw->method, path, rw->body != NULL ? body : NULL, &r);
            int got_ok = r.status >= 200 && r.status < 300;
            /* a second verdict on a decided appeal is a conflict: the
             * caller was let in */
            if (allowed && r.status == 409 && strstr(rw->route, "/decision") != NULL) {
                got_ok = 1;
            }
            if (allowed ? !got_ok : r.status != rw->want[c]) {
                print_error("%s %s as %s: got %d, want %s%d\n%s\n", rw->method, path,
                            caller_names[c], r.status, allowed ? "2xx, not " : "",
                            allowed ? r.status : rw->want[c], r.body);
                fc_test_resp_free(&r);
                fail();
            }
            if (!allowed) {
                fc_test_assert_error(&r, rw->want[c] == UNA   ? FC_HTTP_EUNAUTHORIZED
                                         : rw->want[c] == FOR ? FC_HTTP_EFORBIDDEN
                                         : rw->want[c] == BAD ? FC_HTTP_EBAD_REQUEST
                                                              : FC_HTTP_ENOT_FOUND);
            }
            if (allowed && c == RIDER_OWN && strcmp(rw->route, "/v1/appeals") == 0 &&
                strcmp(rw->method, "POST") == 0) {
                learn_appeal(m, &r);
            }
            fc_test_resp_free(&r);
        }
    }
}

static void test_every_route_refuses_what_it_must(void **state) {
    matrix *m = *state;
    for (size_t i = 0; i < N_ROWS; i++) {
        check_row(m, &rows[i]);
    }
}

/* Every route of the server that needs a token has a row; every row names
 * a route of the server. */
static void test_every_route_has_a_row(void **state) {
    (void)state;
    for (size_t i = 0; fc_http_route(i) != NULL; i++) {
        if (fc_http_route_open(i)) {
            continue;
        }
        int found = 0;
        for (size_t k = 0; k < N_ROWS; k++) {
            found |= strcmp(rows[k].route, fc_http_route(i)) == 0 &&
                     strcmp(rows[k].method, fc_http_route_method(i)) == 0;
        }
        if (!found) {
            print_error("%s %s has no row in the authorization matrix\n", fc_http_route_method(i),
                        fc_http_route(i));
            fail();
        }
    }
    for (size_t k = 0; k < N_ROWS; k++) {
        int found = 0;
        for (size_t i = 0; fc_http_route(i) != NULL; i++) {
            found |= strcmp(rows[k].route, fc_http_route(i)) == 0 &&
                     strcmp(rows[k].method, fc_http_route_method(i)) == 0;
        }
        if (!found) {
            print_error("row %s %s names no route\n", rows[k].method, rows[k].route);
            fail();
        }
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_route_has_a_row),
        cmocka_unit_test_setup_teardown(test_every_route_refuses_what_it_must, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
