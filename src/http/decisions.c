/*
 * Decisions: GET /v1/decisions/{id}, in the language the caller asks for,
 * and GET /v1/decisions, the list (newest first, a page at a time).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_internal.h"
#include "adjudicate/adjudicate.h"
#include "case/case.h"
#include "kpi/kpi.h"

/* The decision's body with "explanation" and "margin_text" as the text in
 * lang (English when the policy has no text in lang), and "lang" saying
 * which. NULL on OOM. */
json_t *fc__http_decision_json(const fc_case_decision *cd, fc_lang lang) {
    if (cd->explanation[lang][0] == '\0') {
        lang = FC_LANG_EN;
    }
    char *body = NULL;
    size_t len = 0;
    if (fc_case_decision_json(cd, &body, &len) != FC_OK) {
        return NULL;
    }
    json_t *j = json_loadb(body, len, 0, NULL);
    fc_free(body);
    if (j == NULL || json_object_set_new(j, "lang", json_string(fc_lang_code(lang))) != 0 ||
        json_object_set_new(j, "explanation", json_string(cd->explanation[lang])) != 0 ||
        json_object_set_new(j, "margin_text", json_string(cd->margin_text[lang])) != 0) {
        json_decref(j);
        return NULL;
    }
    return j;
}

/* A decision id: 1 to FC_CASE_ID_MAX - 1 bytes of [A-Za-z0-9_-]. */
static int id_valid(const char *id) {
    size_t n = strlen(id);
    if (n == 0 || n >= FC_CASE_ID_MAX) {
        return 0;
    }
    return strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == n;
}

enum MHD_Result fc__http_get_decision(fc_hreq *q) {
    const char *id = q->arg[0];
    const fc_principal *p = q->p;
    if (!id_valid(id)) {
        return fc__http_send_error(q, MHD_HTTP_NOT_FOUND, FC_HTTP_ENOT_FOUND, "no such decision");
    }
    enum MHD_Result ok = MHD_NO;
    fc_err err;
    fc_err_clear(&err);
    fc_arena *arena = fc_arena_new(0);
    fc_case_decision *cd = fc_calloc(1, sizeof *cd);
    if (arena == NULL || cd == NULL) {
        ok = fc__http_send_oom(q);
        goto out;
    }
    int rc = fc_adj_decision_get(q->s, id, arena, cd, &err);
    if (rc == FC_ENOTFOUND) {
        ok = fc__http_send_error(q, MHD_HTTP_NOT_FOUND, FC_HTTP_ENOT_FOUND, "no such decision");
        goto out;
    }
    if (rc != FC_OK) {
        ok = fc__http_send_err(q, &err);
        goto out;
    }
    fc_auth_resource res = {cd->country, cd->city, cd->rider, cd->merchant};
    if (!fc_auth_allows(p, FC_AUTH_READ_DECISION, &res)) {
        /* A rider or merchant must not learn that someone else's decision
         * exists: it is not found. A place-scoped role is told it is refused. */
        if (p->role == FC_ROLE_RIDER || p->role == FC_ROLE_MERCHANT) {
            ok = fc__http_send_error(q, MHD_HTTP_NOT_FOUND, FC_HTTP_ENOT_FOUND, "no such decision");
        } else {
            ok = fc__http_send_error(q, MHD_HTTP_FORBIDDEN, FC_HTTP_EFORBIDDEN,
                                     "this decision is outside the token's scope");
        }
        goto out;
    }
    fc_lang lang = fc__http_lang(q);
    if (cd->explanation[lang][0] == '\0') {
        lang = FC_LANG_EN; /* the policy has no text in that language */
    }
    json_t *j = fc__http_decision_json(cd, lang);
    if (j == NULL) {
        ok = fc__http_send_oom(q);
        goto out;
    }
    ok = fc__http_send_json_hdr(q, MHD_HTTP_OK, j, MHD_HTTP_HEADER_CONTENT_LANGUAGE,
                                fc_lang_code(lang));
out:
    fc_free(cd);
    fc_arena_free(arena);
    return ok;
}

/* ---------------------------------------------------------------------------
 * GET /v1/decisions: the list, newest first, a page at a time.
 */
#define LIST_LIMIT_DEFAULT 50
#define LIST_LIMIT_MAX     500
#define SCOPE_CACHE        64 /* cities whose scope verdict a page remembers */

typedef struct list_page {
    const fc_principal *p;
    int scoped;   /* analyst or reviewer: every item checked against the places */
    size_t limit; /* items wanted */
    json_t *items;
    int64_t last_seq; /* seq of the last item taken */
    int more;         /* an item past the page exists */
    fc_lang lang;
    fc_arena *arena;
    fc_case_decision cd;
    fc_err *err;
    struct {
        char city[64];
        int allowed;
    } seen[SCOPE_CACHE];
    size_t n_seen;
} list_page;

/* Whether a scoped caller may read decisions of e's city (its country read
 * from the decision), remembered per city. */
static int page_allows(list_page *lp, const fc_case_entry *e, const fc_case_decision *cd) {
    for (size_t i = 0; i < lp->n_seen; i++) {
        if (fc_str_eqc(e->city, lp->seen[i].city)) {
            return lp->seen[i].allowed;
        }
    }
    fc_auth_resource res = {cd->country, cd->city, NULL, NULL};
    int allowed = fc_auth_allows(lp->p, FC_AUTH_READ_DECISION, &res);
    if (lp->n_seen < SCOPE_CACHE) {
        fc_str_cpy(lp->seen[lp->n_seen].city, sizeof lp->seen[0].city, e->city);
        lp->seen[lp->n_seen++].allowed = allowed;
    }
    return allowed;
}

static int page_take(void *ud, const fc_case_entry *e, int superseded) {
    list_page *lp = ud;
    (void)superseded;
    fc_arena_reset(lp->arena);
    int rc = fc_case_decision_parse(e->body, lp->arena, &lp->cd, lp->err);
    if (rc != FC_OK) {
        return rc;
    }
    if (lp->scoped && !page_allows(lp, e, &lp->cd)) {
        return 0;
    }
    if (json_array_size(lp->items) == lp->limit) {
        /* one the caller may read past the page (counted only after the
         * scope, so a next cursor never leads to an empty page) */
        lp->more = 1;
        return 1;
    }
    json_t *item = fc__http_decision_item(&lp->cd, e->ts, lp->lang);
    if (item == NULL || json_array_append_new(lp->items, item) != 0) {
        return fc_err_set(lp->err, FC_ENOMEM, NULL, 0, 0, "out of memory");
    }
    lp->last_seq = e->seq;
    return 0;
}

/* A query parameter that must be one id (the characters of scope values). */
static int param_id_valid(const char *v) {
    size_t n = strlen(v);
    return n > 0 && n < 64 &&
           strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

/* A whole decimal number in [lo, hi] into *out. */
static int param_int(const char *v, int64_t lo, int64_t hi, int64_t *out) {
    int64_t x;
    if (fc_parse_i64(fc_str_c(v), &x) != FC_OK || x < lo || x > hi) {
        return 0;
    }
    *out = x;
    return 1;
}

/* A from/to bound: a date (the UTC day: from its start, to its end) or an
 * instant with its offset. */
static int param_when(const char *v, int is_from, int64_t *out) {
    int64_t ts = FC_TS_NONE;
    int32_t date = INT32_MIN;
    fc_err e;
    if (fc_kpi_parse_when(v, &ts, &date, &e) != FC_OK) {
        return 0;
    }
    if (ts != FC_TS_NONE) {
        *out = ts;
    } else {
        *out = ((int64_t)date + (is_from ? 0 : 1)) * 86400;
    }
    return 1;
}

static enum MHD_Result bad_param(fc_hreq *q, const char *name, const char *why) {
    return fc__http_send_errorf(q, MHD_HTTP_BAD_REQUEST, FC_HTTP_EBAD_REQUEST, "%s: %s", name, why);
}

/* The parameters every decision list takes, checked. */
static const char *const list_params[] = {"city",     "party", "incident", "rider",
                                          "merchant", "from",  "to",       "needs_review",
                                          "all",      "limit", "cursor"};

static enum MHD_Result check_unknown(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value) {
    (void)kind;
    (void)value;
    const char **bad = cls;
    for (size_t i = 0; i < sizeof list_params / sizeof list_params[0]; i++) {
        if (strcmp(key, list_params[i]) == 0) {
            return MHD_YES;
        }
    }
    *bad = key;
    return MHD_NO;
}

enum MHD_Result fc__http_list_decisions(fc_hreq *q) {
    const fc_principal *p = q->p;
    const char *unknown = NULL;
    MHD_get_connection_values(q->c, MHD_GET_ARGUMENT_KIND, check_unknown, &unknown);
    if (unknown != NULL) {
        return fc__http_send_errorf(q, MHD_HTTP_BAD_REQUEST, FC_HTTP_EBAD_REQUEST,
                                    "%s: unknown parameter (city, party, incident, rider, merchant,"
                                    " from, to, needs_review, all, limit, cursor)",
                                    unknown);
    }
    fc_case_decision_query dq;
    fc_case_decision_query_init(&dq);
    dq.current_only = 1;
    const char *city = fc__http_param(q, "city"), *rider = fc__http_param(q, "rider"),
               *merchant = fc__http_param(q, "merchant"), *v;
    if (city != NULL && !param_id_valid(city)) {
        return bad_param(q, "city", "not a city id");
    }
    if (rider != NULL && !param_id_valid(rider)) {
        return bad_param(q, "rider", "not a rider id");
    }
    if (merchant != NULL && !param_id_valid(merchant)) {
        return bad_param(q, "merchant", "not a merchant id");
    }
    if ((v = fc__http_param(q, "party")) != NULL) {
        fc_party party = fc_party_from(fc_str_c(v));
        if (party == FC_PARTY_NONE) {
            return bad_param(q, "party",
                             "not a party (rider, merchant, customer, platform, force_majeure,"
                             " undetermined)");
        }
        dq.liable = fc_party_name(party);
    }
    if ((v = fc__http_param(q, "incident")) != NULL) {
        int k = fc_incident_from(v, strlen(v));
        if (k < 0) {
            return bad_param(q, "incident",
                             "not an incident (late, cancelled, undeliverable, complaint,"
                             " bad_rating, far_delivery)");
        }
        dq.incident = fc_incident_name((fc_incident_kind)k);
    }
    int64_t x = 0;
    if ((v = fc__http_param(q, "from")) != NULL) {
        if (!param_when(v, 1, &dq.from)) {
            return bad_param(q, "from", "not a date (YYYY-MM-DD) or an instant (RFC 3339)");
        }
    }
    if ((v = fc__http_param(q, "to")) != NULL) {
        if (!param_when(v, 0, &dq.to)) {
            return bad_param(q, "to", "not a date (YYYY-MM-DD) or an instant (RFC 3339)");
        }
    }
    if ((v = fc__http_param(q, "needs_review")) != NULL) {
        if (!param_int(v, 0, 1, &x)) {
            return bad_param(q, "needs_review", "0 or 1");
        }
        dq.review = (int)x;
    }
    if ((v = fc__http_param(q, "all")) != NULL) {
        if (!param_int(v, 0, 1, &x)) {
            return bad_param(q, "all", "0 or 1");
        }
        dq.current_only = x == 0;
    }
    size_t limit = LIST_LIMIT_DEFAULT;
    if ((v = fc__http_param(q, "limit")) != NULL) {
        if (!param_int(v, 1, LIST_LIMIT_MAX, &x)) {
            return bad_param(q, "limit", "a whole number from 1 to 500");
        }
        limit = (size_t)x;
    }
    if ((v = fc__http_param(q, "cursor")) != NULL) {
        if (!param_int(v, 2, INT64_MAX, &dq.before_seq)) {
            return bad_param(q, "cursor", "not a cursor this list gave");
        }
    }
    /* The caller's scope. */
    int scoped = 0;
    const char *own = p->n_scope > 0 ? p->scope[0].value : "";
    switch (p->role) {
    case FC_ROLE_ADMIN:
        break;
    case FC_ROLE_RIDER:
    case FC_ROLE_MERCHANT: {
        const char *asked = p->role == FC_ROLE_RIDER ? rider : merchant;
        if (asked != NULL && strcmp(asked, own) != 0) {
            return fc__http_send_error(q, MHD_HTTP_NOT_FOUND, FC_HTTP_ENOT_FOUND,
                                       p->role == FC_ROLE_RIDER ? "no such rider"
                                                                : "no such merchant");
        }
        if (p->role == FC_ROLE_RIDER) {
            rider = own;
        } else {
            merchant = own;
        }
        break;
    }
    case FC_ROLE_ANALYST:
    case FC_ROLE_REVIEWER:
        scoped = 1;
        if (city != NULL) {
            /* A city named outside the places is refused; its country is
             * that of the city's reference row. */
            fc_err err;
            fc_err_clear(&err);
            char country[8];
            int found = 0;
            if (fc_store_city_country(q->s, fc_str_c(city), country, sizeof country, &found,
                                      &err) != FC_OK) {
                return fc__http_send_err(q, &err);
            }
            fc_auth_resource res = {country, city, NULL, NULL};
            if (!fc_auth_allows(p, FC_AUTH_READ_DECISION, &res)) {
                return fc__http_send_errorf(q, MHD_HTTP_FORBIDDEN, FC_HTTP_EFORBIDDEN,
                                            "city %s is outside the token's scope", city);
            }
        }
        break;
    default:
        return fc__http_send_error(q, MHD_HTTP_FORBIDDEN, FC_HTTP_EFORBIDDEN,
                                   "this token may not read decisions");
    }
    dq.city = fc_str_c(city);
    dq.rider = fc_str_c(rider);
    dq.merchant = fc_str_c(merchant);

    enum MHD_Result ok;
    fc_err err;
    fc_err_clear(&err);
    list_page *lp = fc_calloc(1, sizeof *lp);
    json_t *out = NULL;
    if (lp == NULL || (lp->items = json_array()) == NULL || (lp->arena = fc_arena_new(0)) == NULL) {
        ok = fc__http_send_oom(q);
        goto out;
    }
    lp->p = p;
    lp->scoped = scoped;
    lp->limit = limit;
    lp->lang = fc__http_lang(q);
    lp->err = &err;
    /* Unscoped, the store stops at the page (and one more, to know there is
     * a next); scoped, items outside the places are skipped as they come. */
    dq.limit = scoped ? 0 : limit + 1;
    int rc = fc_store_case_decisions(q->s, &dq, page_take, lp, &err);
    if (rc != FC_OK && rc != 1) {
        ok = fc__http_send_err(q, &err);
        goto out;
    }
    char next[24];
    snprintf(next, sizeof next, "%lld", (long long)lp->last_seq);
    out = json_object();
    if (out == NULL || json_object_set(out, "items", lp->items) != 0 ||
        json_object_set_new(out, "next", lp->more ? json_string(next) : json_null()) != 0) {
        json_decref(out);
        ok = fc__http_send_oom(q);
        goto out;
    }
    ok = fc__http_send_json(q, MHD_HTTP_OK, out);
out:
    if (lp != NULL) {
        json_decref(lp->items);
        fc_arena_free(lp->arena);
    }
    fc_free(lp);
    return ok;
}
