/*
 * auth: roles, scopes, the rules table (auth.h) and API token generation.
 */
#include <sodium.h>
#include <string.h>

#include "auth/auth.h"

static const char *const role_names[FC_ROLE__COUNT] = {
    [FC_ROLE_NONE] = "",           [FC_ROLE_ADMIN] = "admin",
    [FC_ROLE_ANALYST] = "analyst", [FC_ROLE_REVIEWER] = "reviewer",
    [FC_ROLE_RIDER] = "rider",     [FC_ROLE_MERCHANT] = "merchant",
};

static const char *const action_names[FC_AUTH__COUNT] = {
    [FC_AUTH_READ_KPI] = "read_kpi",           [FC_AUTH_READ_ORDER] = "read_order",
    [FC_AUTH_READ_DECISION] = "read_decision", [FC_AUTH_FILE_APPEAL] = "file_appeal",
    [FC_AUTH_DECIDE_APPEAL] = "decide_appeal", [FC_AUTH_INGEST] = "ingest",
    [FC_AUTH_MANAGE_TOKENS] = "manage_tokens", [FC_AUTH_READ_POLICY] = "read_policy",
};

const char *fc_role_name(fc_role r) {
    if ((int)r <= FC_ROLE_NONE || (int)r >= FC_ROLE__COUNT) {
        return "";
    }
    return role_names[r];
}

fc_role fc_role_from(const char *s) {
    if (s == NULL) {
        return FC_ROLE_NONE;
    }
    for (int r = FC_ROLE_NONE + 1; r < FC_ROLE__COUNT; r++) {
        if (strcmp(s, role_names[r]) == 0) {
            return (fc_role)r;
        }
    }
    return FC_ROLE_NONE;
}

const char *fc_auth_action_name(fc_auth_action a) {
    if ((int)a < 0 || (int)a >= FC_AUTH__COUNT) {
        return "";
    }
    return action_names[a];
}

static int id_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

/* Whether p[0..n) is 1 to FC_AUTH_ID_MAX - 1 id characters. */
static int id_valid(const char *p, size_t n) {
    if (n == 0 || n >= FC_AUTH_ID_MAX) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (!id_char(p[i])) {
            return 0;
        }
    }
    return 1;
}

int fc_auth_name_valid(const char *name) {
    return name != NULL && id_valid(name, strlen(name));
}

typedef struct scope_prefix {
    const char *text;
    fc_scope_kind kind;
} scope_prefix;

static const scope_prefix prefixes[] = {
    {"country:", FC_SCOPE_COUNTRY},
    {"city:", FC_SCOPE_CITY},
    {"rider:", FC_SCOPE_RIDER},
    {"merchant:", FC_SCOPE_MERCHANT},
};

/* Parse one entry p[0..n) (trimmed, non-empty) into *e. */
static int parse_entry(const char *p, size_t n, fc_scope_entry *e, fc_err *err) {
    if (n == 1 && p[0] == '*') {
        e->kind = FC_SCOPE_ALL;
        e->value[0] = '\0';
        return FC_OK;
    }
    for (size_t k = 0; k < sizeof prefixes / sizeof prefixes[0]; k++) {
        size_t pn = strlen(prefixes[k].text);
        if (n >= pn && memcmp(p, prefixes[k].text, pn) == 0) {
            if (!id_valid(p + pn, n - pn)) {
                return fc_err_set(err, FC_EINVAL, "", 0, 0,
                                  "scope entry '%.*s': the value must be 1 to %d characters "
                                  "of A-Z a-z 0-9 . _ -",
                                  (int)n, p, FC_AUTH_ID_MAX - 1);
            }
            e->kind = prefixes[k].kind;
            memcpy(e->value, p + pn, n - pn);
            e->value[n - pn] = '\0';
            return FC_OK;
        }
    }
    return fc_err_set(err, FC_EINVAL, "", 0, 0,
                      "scope entry '%.*s': expected *, country:CC, city:ID, rider:ID or "
                      "merchant:ID",
                      (int)n, p);
}

static int is_space(char c) {
    return c == ' ' || c == '\t';
}

int fc_auth_parse_scope(fc_role role, const char *scope, fc_principal *p, fc_err *err) {
    memset(p, 0, sizeof *p);
    p->role = role;
    if (fc_role_name(role)[0] == '\0') {
        return fc_err_set(err, FC_EINVAL, "", 0, 0, "unknown role");
    }
    if (scope == NULL || scope[0] == '\0') {
        return fc_err_set(err, FC_EINVAL, "", 0, 0, "a %s needs a scope", fc_role_name(role));
    }
    if (strlen(scope) >= FC_AUTH_SCOPE_MAX) {
        return fc_err_set(err, FC_EINVAL, "", 0, 0, "scope longer than %d bytes",
                          FC_AUTH_SCOPE_MAX - 1);
    }
    size_t counts[FC_SCOPE_MERCHANT + 1] = {0};
    const char *s = scope;
    for (;;) {
        const char *end = strchr(s, ',');
        size_t len = end != NULL ? (size_t)(end - s) : strlen(s);
        const char *a = s;
        const char *b = s + len;
        while (a < b && is_space(*a)) {
            a++;
        }
        while (b > a && is_space(b[-1])) {
            b--;
        }
        if (a == b) {
            return fc_err_set(err, FC_EINVAL, "", 0, 0, "scope '%s' has an empty entry", scope);
        }
        if (p->n_scope == FC_AUTH_MAX_SCOPE) {
            return fc_err_set(err, FC_EINVAL, "", 0, 0, "scope has more than %d entries",
                              FC_AUTH_MAX_SCOPE);
        }
        fc_scope_entry *e = &p->scope[p->n_scope];
        int rc = parse_entry(a, (size_t)(b - a), e, err);
        if (rc != FC_OK) {
            return rc;
        }
        p->n_scope++;
        counts[e->kind]++;
        if (end == NULL) {
            break;
        }
        s = end + 1;
    }
    size_t places = counts[FC_SCOPE_COUNTRY] + counts[FC_SCOPE_CITY];
    int ok = 0;
    const char *want = "";
    switch (role) {
    case FC_ROLE_ADMIN:
        ok = p->n_scope == 1 && counts[FC_SCOPE_ALL] == 1;
        want = "exactly *";
        break;
    case FC_ROLE_ANALYST:
    case FC_ROLE_REVIEWER:
        ok = places > 0 && places == p->n_scope;
        want = "country:CC and city:ID entries only";
        break;
    case FC_ROLE_RIDER:
        ok = p->n_scope == 1 && counts[FC_SCOPE_RIDER] == 1;
        want = "exactly one rider:ID";
        break;
    case FC_ROLE_MERCHANT:
        ok = p->n_scope == 1 && counts[FC_SCOPE_MERCHANT] == 1;
        want = "exactly one merchant:ID";
        break;
    default:
        break;
    }
    if (!ok) {
        return fc_err_set(err, FC_EINVAL, "", 0, 0, "scope '%s': a %s's scope is %s", scope,
                          fc_role_name(role), want);
    }
    return FC_OK;
}

static int same(const char *a, const char *b) {
    return a != NULL && b != NULL && a[0] != '\0' && strcmp(a, b) == 0;
}

/* Whether r's place matches one of p's country:/city: entries. */
static int place_in_scope(const fc_principal *p, const fc_auth_resource *r) {
    for (size_t i = 0; i < p->n_scope; i++) {
        const fc_scope_entry *e = &p->scope[i];
        if ((e->kind == FC_SCOPE_COUNTRY && same(r->country, e->value)) ||
            (e->kind == FC_SCOPE_CITY && same(r->city, e->value))) {
            return 1;
        }
    }
    return 0;
}

/* Whether p's single entry of `kind` names `id`. */
static int own(const fc_principal *p, fc_scope_kind kind, const char *id) {
    return p->n_scope == 1 && p->scope[0].kind == kind && same(id, p->scope[0].value);
}

static int names_place(const fc_auth_resource *r) {
    return (r->country != NULL && r->country[0] != '\0') || (r->city != NULL && r->city[0] != '\0');
}

int fc_auth_allows(const fc_principal *p, fc_auth_action action, const fc_auth_resource *r) {
    static const fc_auth_resource nothing = {0};
    if (p == NULL || (int)action < 0 || (int)action >= FC_AUTH__COUNT) {
        return 0;
    }
    if (r == NULL) {
        r = &nothing;
    }
    switch (p->role) {
    case FC_ROLE_ADMIN:
        return p->n_scope == 1 && p->scope[0].kind == FC_SCOPE_ALL;
    case FC_ROLE_ANALYST:
    case FC_ROLE_REVIEWER:
        switch (action) {
        case FC_AUTH_DECIDE_APPEAL:
            if (p->role != FC_ROLE_REVIEWER) {
                return 0;
            }
            return place_in_scope(p, r);
        case FC_AUTH_READ_KPI:
        case FC_AUTH_READ_ORDER:
        case FC_AUTH_READ_DECISION:
            return place_in_scope(p, r);
        case FC_AUTH_READ_POLICY:
            return !names_place(r) || place_in_scope(p, r);
        default:
            return 0;
        }
    case FC_ROLE_RIDER:
    case FC_ROLE_MERCHANT:
        switch (action) {
        case FC_AUTH_READ_ORDER:
        case FC_AUTH_READ_DECISION:
        case FC_AUTH_FILE_APPEAL:
            return p->role == FC_ROLE_RIDER ? own(p, FC_SCOPE_RIDER, r->rider)
                                            : own(p, FC_SCOPE_MERCHANT, r->merchant);
        default:
            return 0;
        }
    default:
        return 0;
    }
}

int fc_auth_allows_policy(const fc_principal *p, const fc_auth_policy *pol) {
    fc_auth_resource own_place = {pol->country, pol->city, NULL, NULL};
    if (fc_auth_allows(p, FC_AUTH_READ_POLICY, &own_place)) {
        return 1;
    }
    if (p == NULL || (p->role != FC_ROLE_ANALYST && p->role != FC_ROLE_REVIEWER) ||
        pol->governs == NULL) {
        return 0;
    }
    for (size_t i = 0; i < p->n_scope; i++) {
        if (p->scope[i].kind == FC_SCOPE_CITY && pol->governs(pol->ud, p->scope[i].value)) {
            return 1;
        }
    }
    return 0;
}

#define TOKEN_PREFIX "fc_"
#define TOKEN_BYTES  32

static int sodium_ready(void) {
    return sodium_init() >= 0;
}

int fc_auth_token_hash(const char *text, size_t n, uint8_t hash[FC_AUTH_HASH_BYTES]) {
    if (!sodium_ready()) {
        return FC_EINTERNAL;
    }
    crypto_generichash(hash, FC_AUTH_HASH_BYTES, (const unsigned char *)text, n, NULL, 0);
    return FC_OK;
}

int fc_auth_token_new(char out[FC_AUTH_TOKEN_LEN + 1], uint8_t hash[FC_AUTH_HASH_BYTES]) {
    _Static_assert(
        sizeof TOKEN_PREFIX - 1 +
                sodium_base64_ENCODED_LEN(TOKEN_BYTES, sodium_base64_VARIANT_URLSAFE_NO_PADDING) -
                1 ==
            FC_AUTH_TOKEN_LEN,
        "token length");
    if (!sodium_ready()) {
        return FC_EINTERNAL;
    }
    unsigned char bytes[TOKEN_BYTES];
    randombytes_buf(bytes, sizeof bytes);
    memcpy(out, TOKEN_PREFIX, sizeof TOKEN_PREFIX - 1);
    sodium_bin2base64(out + sizeof TOKEN_PREFIX - 1, FC_AUTH_TOKEN_LEN + 2 - sizeof TOKEN_PREFIX,
                      bytes, sizeof bytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(bytes, sizeof bytes);
    return fc_auth_token_hash(out, FC_AUTH_TOKEN_LEN, hash);
}

int fc_auth_token_wellformed(const char *text, size_t n) {
    if (text == NULL || n != FC_AUTH_TOKEN_LEN ||
        memcmp(text, TOKEN_PREFIX, sizeof TOKEN_PREFIX - 1) != 0) {
        return 0;
    }
    for (size_t i = sizeof TOKEN_PREFIX - 1; i < n; i++) {
        char c = text[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_')) {
            return 0;
        }
    }
    return 1;
}
