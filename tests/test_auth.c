/*
 * auth: scope parsing, the rules table over every role x action x resource,
 * API tokens, the token store and `fulcrum token`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "auth/auth.h"
#include "store/store.h"
#include "support.h"

static fc_principal principal(fc_role role, const char *scope) {
    fc_principal p;
    fc_err err;
    fc_err_clear(&err);
    int rc = fc_auth_parse_scope(role, scope, &p, &err);
    if (rc != FC_OK) {
        fail_msg("scope '%s' of %s refused: %s", scope, fc_role_name(role), err.msg);
    }
    return p;
}

static void test_names(void **state) {
    (void)state;
    for (int r = FC_ROLE_NONE + 1; r < FC_ROLE__COUNT; r++) {
        assert_int_equal(fc_role_from(fc_role_name((fc_role)r)), r);
    }
    assert_int_equal(fc_role_from("root"), FC_ROLE_NONE);
    assert_int_equal(fc_role_from(""), FC_ROLE_NONE);
    assert_int_equal(fc_role_from(NULL), FC_ROLE_NONE);
    assert_string_equal(fc_role_name(FC_ROLE_NONE), "");
    assert_string_equal(fc_auth_action_name(FC_AUTH_DECIDE_APPEAL), "decide_appeal");
    assert_string_equal(fc_auth_action_name(FC_AUTH__COUNT), "");
}

static void test_scope_parse(void **state) {
    (void)state;
    fc_principal p = principal(FC_ROLE_ANALYST, " country:SA , city:doha,city:dubai ");
    assert_int_equal(p.n_scope, 3);
    assert_int_equal(p.scope[0].kind, FC_SCOPE_COUNTRY);
    assert_string_equal(p.scope[0].value, "SA");
    assert_int_equal(p.scope[1].kind, FC_SCOPE_CITY);
    assert_string_equal(p.scope[1].value, "doha");
    assert_string_equal(p.scope[2].value, "dubai");
    p = principal(FC_ROLE_RIDER, "rider:r-1");
    assert_int_equal(p.scope[0].kind, FC_SCOPE_RIDER);
    assert_string_equal(p.scope[0].value, "r-1");
    p = principal(FC_ROLE_MERCHANT, "merchant:m_7.x");
    assert_string_equal(p.scope[0].value, "m_7.x");
    p = principal(FC_ROLE_ADMIN, "*");
    assert_int_equal(p.scope[0].kind, FC_SCOPE_ALL);
    p = principal(FC_ROLE_REVIEWER, "city:riyadh");
    assert_int_equal(p.n_scope, 1);

    static const struct {
        fc_role role;
        const char *scope;
    } bad[] = {
        {FC_ROLE_ADMIN, "country:SA"},
        {FC_ROLE_ADMIN, "*,*"},
        {FC_ROLE_ADMIN, "*,city:doha"},
        {FC_ROLE_ADMIN, ""},
        {FC_ROLE_ADMIN, NULL},
        {FC_ROLE_ANALYST, "*"},
        {FC_ROLE_ANALYST, "rider:r-1"},
        {FC_ROLE_ANALYST, "city:doha,merchant:m-1"},
        {FC_ROLE_ANALYST, "city:"},
        {FC_ROLE_ANALYST, "city:doha,"},
        {FC_ROLE_ANALYST, "city:doha,,country:SA"},
        {FC_ROLE_ANALYST, "town:doha"},
        {FC_ROLE_ANALYST, "city:do ha"},
        {FC_ROLE_ANALYST, "city:doha;drop"},
        {FC_ROLE_REVIEWER, "*"},
        {FC_ROLE_REVIEWER, "merchant:m-1"},
        {FC_ROLE_REVIEWER, ""},
        {FC_ROLE_RIDER, "*"},
        {FC_ROLE_RIDER, "city:doha"},
        {FC_ROLE_RIDER, "rider:r-1,rider:r-2"},
        {FC_ROLE_RIDER, "rider:r-1,city:doha"},
        {FC_ROLE_RIDER, "merchant:m-1"},
        {FC_ROLE_MERCHANT, "rider:r-1"},
        {FC_ROLE_MERCHANT, "merchant:m-1,merchant:m-2"},
        {FC_ROLE_MERCHANT, "country:SA"},
        {FC_ROLE_NONE, "*"},
        {FC_ROLE__COUNT, "*"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fc_err err;
        fc_err_clear(&err);
        int rc = fc_auth_parse_scope(bad[i].role, bad[i].scope, &p, &err);
        if (rc != FC_EINVAL || err.msg[0] == '\0') {
            fail_msg("scope '%s' of role %d accepted", bad[i].scope ? bad[i].scope : "(null)",
                     (int)bad[i].role);
        }
    }
    /* A value of 63 characters is the longest. */
    char scope[80] = "city:";
    memset(scope + 5, 'a', 63);
    scope[68] = '\0';
    p = principal(FC_ROLE_ANALYST, scope);
    assert_int_equal(strlen(p.scope[0].value), 63);
    scope[68] = 'a';
    scope[69] = '\0';
    fc_err err;
    assert_int_equal(fc_auth_parse_scope(FC_ROLE_ANALYST, scope, &p, &err), FC_EINVAL);
}

/* What the rules table says, written independently of auth.c. */
typedef enum rule {
    NEVER,
    ALWAYS,
    PLACE,         /* the resource's country or city is in scope */
    PLACE_OR_NONE, /* in scope, or the resource names no place */
    OWN_RIDER,     /* the resource's rider is the principal's */
    OWN_MERCHANT,  /* the resource's merchant is the principal's */
} rule;

static const rule rules[FC_ROLE__COUNT][FC_AUTH__COUNT] = {
    [FC_ROLE_ADMIN] = {ALWAYS, ALWAYS, ALWAYS, ALWAYS, ALWAYS, ALWAYS, ALWAYS, ALWAYS},
    [FC_ROLE_ANALYST] =
        {
            [FC_AUTH_READ_KPI] = PLACE,
            [FC_AUTH_READ_ORDER] = PLACE,
            [FC_AUTH_READ_DECISION] = PLACE,
            [FC_AUTH_READ_POLICY] = PLACE_OR_NONE,
        },
    [FC_ROLE_REVIEWER] =
        {
            [FC_AUTH_READ_KPI] = PLACE,
            [FC_AUTH_READ_ORDER] = PLACE,
            [FC_AUTH_READ_DECISION] = PLACE,
            [FC_AUTH_DECIDE_APPEAL] = PLACE,
            [FC_AUTH_READ_POLICY] = PLACE_OR_NONE,
        },
    [FC_ROLE_RIDER] =
        {
            [FC_AUTH_READ_ORDER] = OWN_RIDER,
            [FC_AUTH_READ_DECISION] = OWN_RIDER,
            [FC_AUTH_FILE_APPEAL] = OWN_RIDER,
        },
    [FC_ROLE_MERCHANT] =
        {
            [FC_AUTH_READ_ORDER] = OWN_MERCHANT,
            [FC_AUTH_READ_DECISION] = OWN_MERCHANT,
            [FC_AUTH_FILE_APPEAL] = OWN_MERCHANT,
        },
};

/* Resources against the principals of test_matrix: analyst and reviewer
 * "country:SA,city:doha", rider "rider:r-1", merchant "merchant:m-1". */
typedef struct resource_case {
    fc_auth_resource r;
    int in_place, names_place, own_rider, own_merchant;
} resource_case;

static const resource_case resources[] = {
    {{"SA", "riyadh", "", ""}, 1, 1, 0, 0},
    {{"QA", "doha", NULL, NULL}, 1, 1, 0, 0},
    {{"", "doha", "", ""}, 1, 1, 0, 0},
    {{"SA", "", "", ""}, 1, 1, 0, 0},
    {{"AE", "dubai", "", ""}, 0, 1, 0, 0},
    {{"", "", "", ""}, 0, 0, 0, 0},
    {{NULL, NULL, NULL, NULL}, 0, 0, 0, 0},
    {{"SA", "riyadh", "r-1", "m-1"}, 1, 1, 1, 1},
    {{"AE", "dubai", "r-1", "m-1"}, 0, 1, 1, 1},
    {{"SA", "riyadh", "r-2", "m-2"}, 1, 1, 0, 0},
    {{"", "", "r-1", ""}, 0, 0, 1, 0},
    {{"", "", "", "m-1"}, 0, 0, 0, 1},
    {{"", "", "r-10", "m-1x"}, 0, 0, 0, 0},
    {{"", "", "R-1", "M-1"}, 0, 0, 0, 0},
    {{"sa", "DOHA", "", ""}, 0, 1, 0, 0},
    {{"S", "doh", "r-", "m-"}, 0, 1, 0, 0},
    {{"riyadh", "SA", "m-1", "r-1"}, 0, 1, 0, 0},
};

static int expected(rule ru, const resource_case *c) {
    switch (ru) {
    case ALWAYS:
        return 1;
    case PLACE:
        return c->in_place;
    case PLACE_OR_NONE:
        return c->in_place || !c->names_place;
    case OWN_RIDER:
        return c->own_rider;
    case OWN_MERCHANT:
        return c->own_merchant;
    default:
        return 0;
    }
}

static void test_matrix(void **state) {
    (void)state;
    fc_principal ps[FC_ROLE__COUNT];
    ps[FC_ROLE_ADMIN] = principal(FC_ROLE_ADMIN, "*");
    ps[FC_ROLE_ANALYST] = principal(FC_ROLE_ANALYST, "country:SA,city:doha");
    ps[FC_ROLE_REVIEWER] = principal(FC_ROLE_REVIEWER, "country:SA,city:doha");
    ps[FC_ROLE_RIDER] = principal(FC_ROLE_RIDER, "rider:r-1");
    ps[FC_ROLE_MERCHANT] = principal(FC_ROLE_MERCHANT, "merchant:m-1");
    size_t refusals[FC_ROLE__COUNT][FC_AUTH__COUNT] = {{0}};
    size_t nres = sizeof resources / sizeof resources[0];
    for (int role = FC_ROLE_ADMIN; role < FC_ROLE__COUNT; role++) {
        for (int a = 0; a < FC_AUTH__COUNT; a++) {
            for (size_t i = 0; i < nres; i++) {
                int want = expected(rules[role][a], &resources[i]);
                int got = fc_auth_allows(&ps[role], (fc_auth_action)a, &resources[i].r);
                if (got != want) {
                    fail_msg("%s %s on resource %zu: got %d, want %d", fc_role_name((fc_role)role),
                             fc_auth_action_name((fc_auth_action)a), i, got, want);
                }
                refusals[role][a] += !got;
            }
            /* A NULL resource names nothing. */
            resource_case none = {{NULL, NULL, NULL, NULL}, 0, 0, 0, 0};
            assert_int_equal(fc_auth_allows(&ps[role], (fc_auth_action)a, NULL),
                             expected(rules[role][a], &none));
        }
    }
    /* Every action a role never has is refused on every resource. */
    for (int role = FC_ROLE_ADMIN; role < FC_ROLE__COUNT; role++) {
        for (int a = 0; a < FC_AUTH__COUNT; a++) {
            if (rules[role][a] == NEVER) {
                assert_int_equal(refusals[role][a], nres);
            } else if (rules[role][a] == ALWAYS) {
                assert_int_equal(refusals[role][a], 0);
            } else {
                assert_true(refusals[role][a] > 0 && refusals[role][a] < nres);
            }
        }
    }
    /* Only admin ingests and manages tokens. */
    for (int role = FC_ROLE_ANALYST; role < FC_ROLE__COUNT; role++) {
        assert_int_equal(refusals[role][FC_AUTH_INGEST], nres);
        assert_int_equal(refusals[role][FC_AUTH_MANAGE_TOKENS], nres);
    }
}

/* A stand-in for the policy pack: the policy governs the cities listed in
 * ud ("riyadh,jeddah"). */
static int governs_listed(void *ud, const char *city) {
    const char *list = ud;
    size_t n = strlen(city);
    for (const char *at = strstr(list, city); at != NULL; at = strstr(at + 1, city)) {
        if ((at == list || at[-1] == ',') && (at[n] == ',' || at[n] == '\0')) {
            return 1;
        }
    }
    return 0;
}

/* read_policy's whole rule: the policy's own place, or a city entry of the
 * scope it governs; a country entry does not read another country's
 * policy through a city it governs. */
static void test_policy_rule(void **state) {
    (void)state;
    fc_principal city_analyst = principal(FC_ROLE_ANALYST, "city:riyadh");
    fc_principal city_reviewer = principal(FC_ROLE_REVIEWER, "city:doha,city:riyadh");
    fc_principal country_analyst = principal(FC_ROLE_ANALYST, "country:QA");
    fc_principal admin = principal(FC_ROLE_ADMIN, "*");
    fc_principal rider = principal(FC_ROLE_RIDER, "rider:r-1");
    fc_auth_policy base = {"", "", governs_listed, "riyadh,jeddah,doha"};
    fc_auth_policy sa = {"SA", "", governs_listed, "riyadh,jeddah"};
    fc_auth_policy jeddah = {"", "jeddah", governs_listed, "jeddah"};
    fc_auth_policy qa = {"QA", NULL, governs_listed, "doha"};
    fc_auth_policy sa_unknown = {"SA", "", NULL, NULL};

    assert_true(fc_auth_allows_policy(&city_analyst, &base));
    assert_true(fc_auth_allows_policy(&city_analyst, &sa)); /* governs riyadh */
    assert_false(fc_auth_allows_policy(&city_analyst, &jeddah));
    assert_false(fc_auth_allows_policy(&city_analyst, &qa));
    assert_false(fc_auth_allows_policy(&city_analyst, &sa_unknown));
    /* its own place alone, as before */
    fc_auth_resource sa_place = {"SA", "", NULL, NULL};
    assert_false(fc_auth_allows(&city_analyst, FC_AUTH_READ_POLICY, &sa_place));

    assert_true(fc_auth_allows_policy(&city_reviewer, &sa));
    assert_true(fc_auth_allows_policy(&city_reviewer, &qa));
    assert_false(fc_auth_allows_policy(&city_reviewer, &jeddah));

    assert_true(fc_auth_allows_policy(&country_analyst, &qa));
    assert_true(fc_auth_allows_policy(&country_analyst, &base));
    assert_false(fc_auth_allows_policy(&country_analyst, &sa));

    assert_true(fc_auth_allows_policy(&admin, &jeddah));
    assert_false(fc_auth_allows_policy(&rider, &base));
    assert_false(fc_auth_allows_policy(&rider, &sa));
    assert_false(fc_auth_allows_policy(NULL, &base));
}

static void test_refuse_malformed(void **state) {
    (void)state;
    fc_auth_resource r = {"SA", "riyadh", "r-1", "m-1"};
    assert_int_equal(fc_auth_allows(NULL, FC_AUTH_READ_KPI, &r), 0);
    fc_principal p;
    memset(&p, 0, sizeof p);
    for (int a = 0; a < FC_AUTH__COUNT; a++) {
        assert_int_equal(fc_auth_allows(&p, (fc_auth_action)a, &r), 0); /* no role */
    }
    /* An admin whose scope is not "*" (never made by the parser) is refused. */
    p = principal(FC_ROLE_ANALYST, "country:SA");
    p.role = FC_ROLE_ADMIN;
    assert_int_equal(fc_auth_allows(&p, FC_AUTH_INGEST, &r), 0);
    /* A rider principal whose scope holds no rider entry owns nothing. */
    p = principal(FC_ROLE_MERCHANT, "merchant:r-1");
    p.role = FC_ROLE_RIDER;
    assert_int_equal(fc_auth_allows(&p, FC_AUTH_READ_ORDER, &r), 0);
    p = principal(FC_ROLE_ADMIN, "*");
    assert_int_equal(fc_auth_allows(&p, FC_AUTH__COUNT, &r), 0);
    assert_int_equal(fc_auth_allows(&p, (fc_auth_action)-1, &r), 0);
}

static void test_tokens(void **state) {
    (void)state;
    char a[FC_AUTH_TOKEN_LEN + 1], b[FC_AUTH_TOKEN_LEN + 1];
    uint8_t ha[FC_AUTH_HASH_BYTES], hb[FC_AUTH_HASH_BYTES], h[FC_AUTH_HASH_BYTES];
    assert_int_equal(fc_auth_token_new(a, ha), FC_OK);
    assert_int_equal(fc_auth_token_new(b, hb), FC_OK);
    assert_int_equal(strlen(a), FC_AUTH_TOKEN_LEN);
    assert_memory_equal(a, "fc_", 3);
    assert_true(fc_auth_token_wellformed(a, strlen(a)));
    assert_true(fc_auth_token_wellformed(b, strlen(b)));
    assert_string_not_equal(a, b);
    assert_memory_not_equal(ha, hb, sizeof ha);
    /* The hash is BLAKE2b-256 of the text, the same every time. */
    assert_int_equal(fc_auth_token_hash(a, strlen(a), h), FC_OK);
    assert_memory_equal(h, ha, sizeof h);
    crypto_generichash(h, sizeof h, (const unsigned char *)a, strlen(a), NULL, 0);
    assert_memory_equal(h, ha, sizeof h);
    /* The 43 characters after the prefix decode to 32 bytes. */
    unsigned char bin[64];
    size_t bin_len = 0;
    assert_int_equal(sodium_base642bin(bin, sizeof bin, a + 3, strlen(a) - 3, NULL, &bin_len, NULL,
                                       sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                     0);
    assert_int_equal(bin_len, 32);

    char bad[FC_AUTH_TOKEN_LEN + 2];
    memcpy(bad, a, sizeof a);
    assert_false(fc_auth_token_wellformed(bad, FC_AUTH_TOKEN_LEN - 1));
    bad[0] = 'x';
    assert_false(fc_auth_token_wellformed(bad, FC_AUTH_TOKEN_LEN));
    memcpy(bad, a, sizeof a);
    bad[10] = '+';
    assert_false(fc_auth_token_wellformed(bad, FC_AUTH_TOKEN_LEN));
    assert_false(fc_auth_token_wellformed(NULL, 0));

    assert_true(fc_auth_name_valid("ops-team_1.a"));
    assert_false(fc_auth_name_valid(""));
    assert_false(fc_auth_name_valid("a b"));
    assert_false(fc_auth_name_valid(NULL));
}

static void test_store(void **state) {
    (void)state;
    char *dir = fc_test_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/t.db", dir);
    fc_err err;
    fc_err_clear(&err);
    fc_store *s = NULL;
    assert_int_equal(fc_store_open(path, &s, &err), FC_OK);
    assert_true(fc_store_schema_version(s) >= 4);

    char text[FC_AUTH_TOKEN_LEN + 1];
    uint8_t hash[FC_AUTH_HASH_BYTES], other[FC_AUTH_HASH_BYTES];
    assert_int_equal(fc_auth_token_new(text, hash), FC_OK);
    fc_token t;
    memset(&t, 0, sizeof t);
    snprintf(t.name, sizeof t.name, "doha-analyst");
    snprintf(t.role, sizeof t.role, "analyst");
    snprintf(t.scope, sizeof t.scope, "city:doha");
    t.created_at = 1700000000;
    int64_t id = 0;
    assert_int_equal(fc_store_token_create(s, &t, hash, &id, &err), FC_OK);
    assert_true(id > 0);
    /* The name is unique, and so is the hash. */
    assert_int_equal(fc_auth_token_new(text, other), FC_OK);
    assert_int_equal(fc_store_token_create(s, &t, other, NULL, &err), FC_EDUP);
    snprintf(t.name, sizeof t.name, "copy");
    assert_int_equal(fc_store_token_create(s, &t, hash, NULL, &err), FC_EDUP);

    fc_token got;
    int found = 0;
    assert_int_equal(fc_store_token_find(s, hash, &got, &found, &err), FC_OK);
    assert_int_equal(found, 1);
    assert_int_equal(got.id, id);
    assert_string_equal(got.name, "doha-analyst");
    assert_string_equal(got.role, "analyst");
    assert_string_equal(got.scope, "city:doha");
    assert_int_equal(got.created_at, 1700000000);
    assert_int_equal(got.revoked_at, 0);
    assert_int_equal(got.last_used_at, 0);
    assert_int_equal(fc_store_token_find(s, other, &got, &found, &err), FC_OK);
    assert_int_equal(found, 0);

    assert_int_equal(fc_store_token_touch(s, id, 1700000100, &err), FC_OK);
    assert_int_equal(fc_store_token_find(s, hash, &got, &found, &err), FC_OK);
    assert_int_equal(got.last_used_at, 1700000100);

    /* Authentication: the principal of the stored role and scope; the use is
     * recorded at most once a minute. */
    fc_principal p;
    int ok = 0;
    assert_int_equal(fc_auth_check_token(s, text, strlen(text), 1700000120, &p, &got, &ok, &err),
                     FC_OK);
    assert_int_equal(ok, 0); /* text is the token of `other`, never stored */
    char mine[FC_AUTH_TOKEN_LEN + 1];
    uint8_t mine_hash[FC_AUTH_HASH_BYTES];
    assert_int_equal(fc_auth_token_new(mine, mine_hash), FC_OK);
    snprintf(t.name, sizeof t.name, "rider-r-1");
    snprintf(t.role, sizeof t.role, "rider");
    snprintf(t.scope, sizeof t.scope, "rider:r-1");
    assert_int_equal(fc_store_token_create(s, &t, mine_hash, NULL, &err), FC_OK);
    assert_int_equal(fc_auth_check_token(s, mine, strlen(mine), 1700000120, &p, &got, &ok, &err),
                     FC_OK);
    assert_int_equal(ok, 1);
    assert_int_equal(p.role, FC_ROLE_RIDER);
    assert_string_equal(p.scope[0].value, "r-1");
    assert_string_equal(got.name, "rider-r-1");
    assert_int_equal(got.last_used_at, 1700000120);
    assert_int_equal(fc_auth_check_token(s, mine, strlen(mine), 1700000150, &p, &got, &ok, &err),
                     FC_OK);
    assert_int_equal(got.last_used_at, 1700000120); /* within the minute: not written */
    assert_int_equal(fc_auth_check_token(s, mine, strlen(mine), 1700000180, &p, &got, &ok, &err),
                     FC_OK);
    assert_int_equal(got.last_used_at, 1700000180);
    assert_int_equal(
        fc_auth_check_token(s, mine, strlen(mine) - 1, 1700000180, &p, NULL, &ok, &err), FC_OK);
    assert_int_equal(ok, 0); /* malformed */
    assert_int_equal(fc_auth_check_token(s, "", 0, 1700000180, &p, NULL, &ok, &err), FC_OK);
    assert_int_equal(ok, 0);

    assert_int_equal(fc_store_token_revoke(s, "nobody", 1700000200, &err), FC_ENOTFOUND);
    assert_int_equal(fc_store_token_revoke(s, "doha-analyst", 1700000200, &err), FC_OK);
    assert_int_equal(fc_store_token_revoke(s, "doha-analyst", 1700000300, &err), FC_ENOTFOUND);
    assert_int_equal(fc_store_token_find(s, hash, &got, &found, &err), FC_OK);
    assert_int_equal(found, 0);
    assert_int_equal(fc_store_token_revoke(s, "rider-r-1", 1700000200, &err), FC_OK);
    assert_int_equal(fc_auth_check_token(s, mine, strlen(mine), 1700000300, &p, NULL, &ok, &err),
                     FC_OK);
    assert_int_equal(ok, 0); /* revoked */

    fc_token *rows = NULL;
    size_t n = 0;
    assert_int_equal(fc_store_token_list(s, &rows, &n, &err), FC_OK);
    assert_int_equal(n, 2);
    assert_string_equal(rows[0].name, "doha-analyst");
    assert_int_equal(rows[0].revoked_at, 1700000200);
    assert_string_equal(rows[1].name, "rider-r-1");
    assert_int_equal(rows[1].last_used_at, 1700000180);
    fc_free(rows);
    fc_store_close(s);
    fc_test_rmtree(dir);
    free(dir);
}

/* Whether the store at path holds an active token with the hash of text. */
static int active(const char *path, const char *text) {
    uint8_t hash[FC_AUTH_HASH_BYTES];
    assert_int_equal(fc_auth_token_hash(text, strlen(text), hash), FC_OK);
    fc_err err;
    fc_store *s = NULL;
    assert_int_equal(fc_store_open(path, &s, &err), FC_OK);
    fc_token t;
    int found = 0;
    assert_int_equal(fc_store_token_find(s, hash, &t, &found, &err), FC_OK);
    fc_store_close(s);
    return found;
}

static void test_cli(void **state) {
    (void)state;
    char *dir = fc_test_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/t.db", dir);
    char *out = NULL, *err = NULL;

    const char *create[] = {"token",  "create",   "--db",    path,          "--name", "riyadh-ops",
                            "--role", "reviewer", "--scope", "city:riyadh", NULL};
    assert_int_equal(fc_test_run(NULL, create, &out, &err), 0);
    char token[FC_AUTH_TOKEN_LEN + 2];
    assert_int_equal(strlen(out), FC_AUTH_TOKEN_LEN + 1); /* the token and a newline */
    memcpy(token, out, FC_AUTH_TOKEN_LEN);
    token[FC_AUTH_TOKEN_LEN] = '\0';
    assert_true(fc_auth_token_wellformed(token, strlen(token)));
    assert_non_null(strstr(err, "only"));
    free(out);
    free(err);
    /* The same name again is refused. */
    assert_int_equal(fc_test_run(NULL, create, NULL, &err), 1);
    assert_non_null(strstr(err, "already exists"));
    free(err);
    /* A rider with a city scope is refused, and so is an unknown role. */
    const char *bad_scope[] = {"token",  "create", "--db",    path,          "--name", "r",
                               "--role", "rider",  "--scope", "city:riyadh", NULL};
    assert_int_equal(fc_test_run(NULL, bad_scope, NULL, NULL), 1);
    const char *bad_role[] = {"token", "create", "--db", path, "--name",
                              "r",     "--role", "root", NULL};
    assert_int_equal(fc_test_run(NULL, bad_role, NULL, NULL), 1);
    const char *admin[] = {"token", "create", "--db",  path, "--name",
                           "root",  "--role", "admin", NULL};
    char *admin_out = NULL;
    assert_int_equal(fc_test_run(NULL, admin, &admin_out, NULL), 0);
    admin_out[strcspn(admin_out, "\n")] = '\0';

    assert_int_equal(active(path, token), 1);
    assert_int_equal(active(path, admin_out), 1);

    /* The list shows names, roles and scopes, never a secret or a hash. */
    uint8_t hash[FC_AUTH_HASH_BYTES];
    char hex[2 * FC_AUTH_HASH_BYTES + 1];
    assert_int_equal(fc_auth_token_hash(token, strlen(token), hash), FC_OK);
    sodium_bin2hex(hex, sizeof hex, hash, sizeof hash);
    static const char *const formats[] = {"table", "csv", "json"};
    for (size_t i = 0; i < 3; i++) {
        const char *list[] = {"token", "list", "--db", path, "--format", formats[i], NULL};
        assert_int_equal(fc_test_run(NULL, list, &out, NULL), 0);
        assert_non_null(strstr(out, "riyadh-ops"));
        assert_non_null(strstr(out, "reviewer"));
        assert_non_null(strstr(out, "city:riyadh"));
        assert_non_null(strstr(out, "root"));
        assert_null(strstr(out, token));
        assert_null(strstr(out, admin_out));
        assert_null(strstr(out, token + 3));
        assert_null(strstr(out, hex));
        assert_null(strstr(out, "fc_"));
        free(out);
    }

    const char *revoke[] = {"token", "revoke", "riyadh-ops", "--db", path, NULL};
    assert_int_equal(fc_test_run(NULL, revoke, NULL, NULL), 0);
    assert_int_equal(active(path, token), 0);
    assert_int_equal(active(path, admin_out), 1); /* the other token still works */
    assert_int_equal(fc_test_run(NULL, revoke, NULL, &err), 1);
    assert_non_null(strstr(err, "no active token"));
    free(err);
    const char *list[] = {"token", "list", "--db", path, "--format", "csv", NULL};
    assert_int_equal(fc_test_run(NULL, list, &out, NULL), 0);
    assert_non_null(strstr(out, "riyadh-ops")); /* still listed, with its revocation */
    free(out);

    free(admin_out);
    fc_test_rmtree(dir);
    free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_scope_parse),
        cmocka_unit_test(test_matrix),
        cmocka_unit_test(test_policy_rule),
        cmocka_unit_test(test_refuse_malformed),
        cmocka_unit_test(test_tokens),
        cmocka_unit_test(test_store),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
