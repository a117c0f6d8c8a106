/*
 * auth: who may do what. A caller is a principal (the role and scope of its
 * API token); fc_auth_allows decides one action on one resource. Everything
 * here is pure and re-entrant except token generation, which reads the
 * system's random source through libsodium, and fc_auth_check_token, which
 * reads the token store.
 *
 * Roles and scopes (a scope is a comma-separated list of entries):
 *   admin     "*"                                  everything, everywhere
 *   analyst   one or more "country:CC" / "city:ID" read within its places
 *   reviewer  one or more "country:CC" / "city:ID" read and decide appeals
 *                                                  within its places
 *   rider     exactly one "rider:ID"               its own orders only
 *   merchant  exactly one "merchant:ID"            its own orders only
 *
 * The rules table ("scope" = the resource is within the principal's scope;
 * "-" = always refused):
 *
 *   action         admin  analyst  reviewer  rider      merchant
 *   read_kpi       yes    scope    scope     -          -
 *   read_order     yes    scope    scope     own rider  own merchant
 *   read_decision  yes    scope    scope     own rider  own merchant
 *   file_appeal    yes    -        -         own rider  own merchant
 *   decide_appeal  yes    -        scope     -          -
 *   ingest         yes    -        -         -          -
 *   manage_tokens  yes    -        -         -          -
 *   read_policy    yes    gov*     gov*      -          -
 *
 * A resource is in an analyst's or reviewer's scope when one entry matches:
 * "country:CC" matches a resource whose country is CC, "city:ID" one whose
 * city is ID. A resource that names neither country nor city (an aggregate
 * over every place) is in no such scope: the caller must name the place of
 * what it serves, and an unnamed place is refused (fail closed).
 * (*) read_policy ("gov"): the policy pack's shared files name no place and
 * are readable by analysts and reviewers; a policy of a named place is
 * readable when that place is in scope, or when it governs a city of a
 * "city:ID" entry: it is the policy that applies there (the city's own, else
 * its country's) or one that policy extends. So an analyst of city:riyadh
 * reads the SA policy and the base it extends, not another city's policy.
 * fc_auth_allows sees only the policy's own place; fc_auth_allows_policy
 * applies the whole rule.
 * "own rider" means the resource's rider equals the principal's rider id
 * (an empty resource rider is refused); likewise for merchants.
 */
#ifndef FC_AUTH_H
#define FC_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

typedef enum fc_role {
    FC_ROLE_NONE = 0,
    FC_ROLE_ADMIN,
    FC_ROLE_ANALYST,
    FC_ROLE_REVIEWER,
    FC_ROLE_RIDER,
    FC_ROLE_MERCHANT,
    FC_ROLE__COUNT
} fc_role;

/* "admin", "analyst", ...; "" for NONE or out of range. Static string. */
const char *fc_role_name(fc_role r);
/* The role named s, FC_ROLE_NONE when unknown (s may be NULL). */
fc_role fc_role_from(const char *s);

typedef enum fc_auth_action {
    FC_AUTH_READ_KPI = 0,
    FC_AUTH_READ_ORDER,
    FC_AUTH_READ_DECISION,
    FC_AUTH_FILE_APPEAL,
    FC_AUTH_DECIDE_APPEAL,
    FC_AUTH_INGEST,
    FC_AUTH_MANAGE_TOKENS,
    FC_AUTH_READ_POLICY,
    FC_AUTH__COUNT
} fc_auth_action;

/* "read_kpi", "read_order", ...; "" out of range. Static string. */
const char *fc_auth_action_name(fc_auth_action a);

typedef enum fc_scope_kind {
    FC_SCOPE_ALL = 0, /* "*" */
    FC_SCOPE_COUNTRY, /* "country:CC" */
    FC_SCOPE_CITY,    /* "city:ID" */
    FC_SCOPE_RIDER,   /* "rider:ID" */
    FC_SCOPE_MERCHANT /* "merchant:ID" */
} fc_scope_kind;

#define FC_AUTH_MAX_SCOPE 32   /* entries in one scope */
#define FC_AUTH_ID_MAX    64   /* bytes of an entry's value, NUL included */
#define FC_AUTH_SCOPE_MAX 1024 /* bytes of a scope's text, NUL included */

typedef struct fc_scope_entry {
    fc_scope_kind kind;
    char value[FC_AUTH_ID_MAX]; /* "" for FC_SCOPE_ALL */
} fc_scope_entry;

/* A caller: a role and its parsed scope. Plain value, no pointers. */
typedef struct fc_principal {
    fc_role role;
    size_t n_scope;
    fc_scope_entry scope[FC_AUTH_MAX_SCOPE];
} fc_principal;

/* What an action touches. Each field is borrowed, NULL or "" when not
 * applicable or unknown (see the rules above for what an empty field
 * means). */
typedef struct fc_auth_resource {
    const char *country; /* ISO 3166 alpha-2, "SA" */
    const char *city;    /* city id, "riyadh" */
    const char *rider;   /* rider id */
    const char *merchant;
} fc_auth_resource;

/* Parse `scope` (NULL or "" is refused) for `role` into *p (role set too).
 * Entries are separated by commas, spaces around them are ignored; a value
 * is 1 to 63 bytes of [A-Za-z0-9._-]. Validation per role as in the table
 * above: admin exactly "*"; analyst and reviewer country:/city: entries
 * only, at least one; rider exactly one rider:; merchant exactly one
 * merchant:. Returns FC_OK, or FC_EINVAL (err says why; *p unspecified). */
int fc_auth_parse_scope(fc_role role, const char *scope, fc_principal *p, fc_err *err);

/* Whether principal p may do `action` on resource r (NULL: a resource that
 * names nothing). 1 allowed, 0 refused. A principal with no role, or an
 * action out of range, is refused. */
int fc_auth_allows(const fc_principal *p, fc_auth_action action, const fc_auth_resource *r);

/* A policy as read_policy sees it: its own place, and whether it governs a
 * city (the caller knows the policy pack and the cities' countries). */
typedef struct fc_auth_policy {
    const char *country; /* its scope's country, NULL or "" when none */
    const char *city;    /* its scope's city, NULL or "" when none */
    /* 1 when the policy governs `city` (the policy chosen for the city, or
     * one that policy extends), else 0. NULL: it governs no city. */
    int (*governs)(void *ud, const char *city);
    void *ud;
} fc_auth_policy;

/* Whether p may read policy pol (read_policy, the whole rule above):
 * fc_auth_allows on its own place, or, for an analyst or reviewer, a
 * "city:ID" entry of the scope that pol governs. 1 allowed, 0 refused. */
int fc_auth_allows_policy(const fc_principal *p, const fc_auth_policy *pol);

/* ---------------------------------------------------------------------------
 * API tokens: "fc_" followed by 32 random bytes in unpadded base64url, 46
 * characters. Only their BLAKE2b-256 hash is stored: a token carries 256
 * bits of entropy, so no password hash (slow, salted) is needed to make its
 * hash useless to whoever reads the store.
 */
#define FC_AUTH_TOKEN_LEN  46 /* characters, NUL excluded */
#define FC_AUTH_HASH_BYTES 32 /* BLAKE2b-256 */
#define FC_AUTH_NAME_MAX   64 /* bytes of a token's name, NUL included */

/* Write a fresh token into out (NUL-terminated) and its hash into hash.
 * FC_OK, or FC_EINTERNAL when libsodium cannot be initialised. */
int fc_auth_token_new(char out[FC_AUTH_TOKEN_LEN + 1], uint8_t hash[FC_AUTH_HASH_BYTES]);
/* The stored hash of token text[0..n). FC_OK, or FC_EINTERNAL when
 * libsodium cannot be initialised. */
int fc_auth_token_hash(const char *text, size_t n, uint8_t hash[FC_AUTH_HASH_BYTES]);
/* Whether text is shaped like a token (prefix, length, alphabet): a cheap
 * check before a lookup. 1 or 0. */
int fc_auth_token_wellformed(const char *text, size_t n);
/* Whether name is a valid token name: 1 to 63 bytes of [A-Za-z0-9._-]. */
int fc_auth_name_valid(const char *name);

/* ---------------------------------------------------------------------------
 * Authentication against the store (src/auth/check.c; not pure: it reads
 * and writes the store, so it has the store's thread rules).
 */
struct fc_store;
struct fc_token;
#define FC_AUTH_TOUCH_EVERY_S 60 /* last_used_at is written at most this often */

/* Authenticate the token text[0..n) (as presented, e.g. after "Bearer "):
 * FC_OK with *ok = 1, *p its principal and *t (may be NULL) its stored row
 * when it is well-formed, stored, not revoked and its stored role and scope
 * parse; *ok = 0 otherwise (an unknown, revoked or malformed token is not an
 * error). Records the use at instant now when the stored last use is
 * FC_AUTH_TOUCH_EVERY_S or more before it (so a busy token costs one write a
 * minute, not one per request). Store failures return FC_ESTORE (err
 * filled). */
int fc_auth_check_token(struct fc_store *s, const char *text, size_t n, int64_t now,
                        fc_principal *p, struct fc_token *t, int *ok, fc_err *err);

#endif
