/*
 * Policies: GET /v1/policies and GET /v1/policies/{id}, the pack the server
 * loaded at start, with how many recorded decisions each policy version
 * made (one grouped query over the case log).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_internal.h"

/* The decisions recorded per (policy id, version): one row each. */
typedef struct version_count {
    char id[64];
    char version[40];
    int64_t decisions;
} version_count;

typedef struct versions {
    version_count *v;
    size_t n, cap;
} versions;

static int note_version(void *ud, const char *policy, const char *version, int64_t decisions) {
    versions *vs = ud;
    if (fc_grow((void **)&vs->v, &vs->cap, vs->n + 1, sizeof *vs->v) != FC_OK) {
        return FC_ENOMEM;
    }
    version_count *c = &vs->v[vs->n++];
    fc_str_cpy(c->id, sizeof c->id, fc_str_c(policy));
    fc_str_cpy(c->version, sizeof c->version, fc_str_c(version));
    c->decisions = decisions;
    return 0;
}

static int64_t decisions_of(const versions *vs, const fc_policy *p) {
    for (size_t i = 0; i < vs->n; i++) {
        if (strcmp(vs->v[i].id, fc_policy_id(p)) == 0 &&
            strcmp(vs->v[i].version, fc_policy_version(p)) == 0) {
            return vs->v[i].decisions;
        }
    }
    return 0;
}

/* The policy governing each "city:ID" entry of the caller's scope (the
 * city's country from its reference row), for read_policy's rule. */
typedef struct governed {
    const char *city[FC_AUTH_MAX_SCOPE];
    const fc_policy *by[FC_AUTH_MAX_SCOPE];
    size_t n;
    const fc_policy *asked; /* the policy being checked */
} governed;

static int load_governed(fc_hreq *q, governed *g, fc_err *err) {
    g->n = 0;
    for (size_t i = 0; q->h->pack != NULL && i < q->p->n_scope; i++) {
        const fc_scope_entry *e = &q->p->scope[i];
        if (e->kind != FC_SCOPE_CITY) {
            continue;
        }
        char country[8];
        int found = 0;
        int rc =
            fc_store_city_country(q->s, fc_str_c(e->value), country, sizeof country, &found, err);
        if (rc != FC_OK) {
            return rc;
        }
        g->city[g->n] = e->value;
        g->by[g->n] = fc_policy_for(q->h->pack, fc_str_c(country), fc_str_c(e->value));
        g->n++;
    }
    return FC_OK;
}

static int governs(void *ud, const char *city) {
    const governed *g = ud;
    for (size_t i = 0; i < g->n; i++) {
        if (strcmp(g->city[i], city) != 0) {
            continue;
        }
        for (const fc_policy *p = g->by[i]; p != NULL; p = fc_policy_parent(p)) {
            if (p == g->asked) {
                return 1;
            }
        }
    }
    return 0;
}

/* Whether the caller may read policy p (auth.h's read_policy): the shared
 * policies, those of its places, and those governing its cities. */
static int policy_allowed(const fc_principal *pr, governed *g, const fc_policy *p) {
    g->asked = p;
    fc_auth_policy ap = {fc_policy_scope_country(p), fc_policy_scope_city(p), governs, g};
    return fc_auth_allows_policy(pr, &ap);
}

/* The caller's governed cities; 0 or a response queued (*sent). */
static int caller_governed(fc_hreq *q, governed *g, enum MHD_Result *sent) {
    fc_err err;
    fc_err_clear(&err);
    if (load_governed(q, g, &err) != FC_OK) {
        *sent = fc__http_send_err(q, &err);
        return 1;
    }
    return 0;
}

static json_t *empty_null(const char *s) {
    return s != NULL && s[0] != '\0' ? json_string(s) : json_null();
}

/* The policy's own file name, without its folder. */
static const char *file_name(const fc_policy *p) {
    const char *f = fc_policy_file(p);
    const char *slash = f != NULL ? strrchr(f, '/') : NULL;
    return slash != NULL ? slash + 1 : (f != NULL ? f : "");
}

static json_t *policy_item(const fc_policy *p, const versions *vs) {
    json_t *langs = json_array();
    for (int l = 0; langs != NULL && l < FC_LANG__COUNT; l++) {
        if (fc_policy_has_language(p, (fc_lang)l) &&
            json_array_append_new(langs, json_string(fc_lang_code((fc_lang)l))) != 0) {
            json_decref(langs);
            langs = NULL;
        }
    }
    if (langs == NULL) {
        return NULL;
    }
    const fc_policy *parent = fc_policy_parent(p);
    return json_pack(
        "{s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:b,s:s,s:I}", "id", fc_policy_id(p), "version",
        fc_policy_version(p), "label", fc_policy_label(p), "file", file_name(p), "parent",
        parent != NULL ? json_string(fc_policy_id(parent)) : json_null(), "country",
        empty_null(fc_policy_scope_country(p)), "city", empty_null(fc_policy_scope_city(p)),
        "languages", langs, "auto_review", fc_policy_auto_review(p), "currency",
        fc_policy_currency(p), "decisions", (json_int_t)decisions_of(vs, p));
}

/* Read the counts; 0 or a response queued (*sent). */
static int load_versions(fc_hreq *q, versions *vs, enum MHD_Result *sent) {
    fc_err err;
    fc_err_clear(&err);
    int rc = fc_store_case_policy_versions(q->s, note_version, vs, &err);
    if (rc == FC_ENOMEM) {
        *sent = fc__http_send_oom(q);
        return 1;
    }
    if (rc != FC_OK) {
        *sent = fc__http_send_err(q, &err);
        return 1;
    }
    return 0;
}

static enum MHD_Result refuse_role(fc_hreq *q) {
    return fc__http_send_error(q, MHD_HTTP_FORBIDDEN, FC_HTTP_EFORBIDDEN,
                               "this token may not read policies");
}

enum MHD_Result fc__http_get_policies(fc_hreq *q) {
    if (q->p->role == FC_ROLE_RIDER || q->p->role == FC_ROLE_MERCHANT) {
        return refuse_role(q);
    }
    versions vs = {0};
    governed g;
    enum MHD_Result ok;
    if (caller_governed(q, &g, &ok)) {
        return ok;
    }
    if (load_versions(q, &vs, &ok)) {
        fc_free(vs.v);
        return ok;
    }
    const fc_policy_pack *pk = q->h->pack;
    json_t *items = json_array(), *in_use = json_array();
    int bad = items == NULL || in_use == NULL;
    for (size_t i = 0; !bad && pk != NULL && i < fc_policy_pack_count(pk); i++) {
        const fc_policy *p = fc_policy_pack_at(pk, i);
        if (policy_allowed(q->p, &g, p)) {
            bad |= json_array_append_new(items, policy_item(p, &vs)) != 0;
        }
    }
    for (size_t i = 0; !bad && i < vs.n; i++) {
        /* a version no longer in the pack is listed to whoever reads the
         * policy of that id, or to an admin when the id is gone too */
        const fc_policy *p = pk != NULL ? fc_policy_pack_find(pk, vs.v[i].id) : NULL;
        if (p != NULL ? !policy_allowed(q->p, &g, p) : q->p->role != FC_ROLE_ADMIN) {
            continue;
        }
        bad |= json_array_append_new(in_use, json_pack("{s:s,s:s,s:I}", "id", vs.v[i].id, "version",
                                                       vs.v[i].version, "decisions",
                                                       (json_int_t)vs.v[i].decisions)) != 0;
    }
    fc_free(vs.v);
    json_t *out = bad ? NULL : json_pack("{s:o,s:o}", "items", items, "versions_in_use", in_use);
    if (out == NULL) {
        json_decref(items);
        json_decref(in_use);
    }
    return fc__http_send_json(q, MHD_HTTP_OK, out);
}

/* Which consequence a rule names first (the word of a decision's outcome). */
static const char *rule_outcome(const fc_rule *r) {
    if (r->penalty != NULL) {
        return "penalty";
    }
    if (r->chargeback != NULL) {
        return "chargeback";
    }
    if (r->compensate != NULL) {
        return "compensation";
    }
    return "none";
}

static json_t *rule_json(const fc_rule *r) {
    json_t *ex = json_object();
    for (int l = 0; ex != NULL && l < FC_LANG__COUNT; l++) {
        if (r->explain[l] != NULL &&
            json_object_set_new(ex, fc_lang_code((fc_lang)l), json_string(r->explain[l])) != 0) {
            json_decref(ex);
            ex = NULL;
        }
    }
    if (ex == NULL) {
        return NULL;
    }
    char source[300];
    const char *f = r->changed_file != NULL ? r->changed_file : r->file;
    const char *slash = f != NULL ? strrchr(f, '/') : NULL;
    snprintf(source, sizeof source, "%s:%ld", slash != NULL ? slash + 1 : (f != NULL ? f : ""),
             r->changed_file != NULL ? r->changed_line : r->line);
    return json_pack("{s:s,s:s,s:o,s:s,s:s,s:b,s:o,s:o,s:o,s:s,s:o}", "incident",
                     fc_incident_name(r->incident), "id", r->id, "when", empty_null(r->description),
                     "party", fc_party_name(r->liable), "outcome", rule_outcome(r), "review",
                     r->review, "penalty", empty_null(r->penalty), "chargeback",
                     empty_null(r->chargeback), "compensate", empty_null(r->compensate), "source",
                     source, "explanation", ex);
}

enum MHD_Result fc__http_get_policy(fc_hreq *q) {
    if (q->p->role == FC_ROLE_RIDER || q->p->role == FC_ROLE_MERCHANT) {
        return refuse_role(q);
    }
    const fc_policy *p = q->h->pack != NULL ? fc_policy_pack_find(q->h->pack, q->arg[0]) : NULL;
    if (p == NULL) {
        return fc__http_send_error(q, MHD_HTTP_NOT_FOUND, FC_HTTP_ENOT_FOUND, "no such policy");
    }
    governed g;
    enum MHD_Result ok;
    if (caller_governed(q, &g, &ok)) {
        return ok;
    }
    if (!policy_allowed(q->p, &g, p)) {
        return fc__http_send_error(q, MHD_HTTP_FORBIDDEN, FC_HTTP_EFORBIDDEN,
                                   "this policy governs no place in the token's scope");
    }
    versions vs = {0};
    if (load_versions(q, &vs, &ok)) {
        fc_free(vs.v);
        return ok;
    }
    json_t *out = policy_item(p, &vs);
    fc_free(vs.v);
    const fc_thresholds *t = fc_policy_thresholds(p);
    json_t *rules = json_array();
    int bad = out == NULL || rules == NULL;
    for (int k = 0; !bad && k < FC_INCIDENT__COUNT; k++) {
        const fc_rule *const *rs = NULL;
        size_t n = fc_policy_rules(p, (fc_incident_kind)k, &rs);
        for (size_t i = 0; !bad && i < n; i++) {
            bad |= json_array_append_new(rules, rule_json(rs[i])) != 0;
        }
    }
    if (!bad) {
        bad |= json_object_set_new(out, "thresholds",
                                   json_pack("{s:i,s:i,s:i,s:i,s:i,s:i}", "grace_s", t->grace_s,
                                             "severe_late_s", t->severe_late_s, "bad_rating_max",
                                             t->bad_rating_max, "far_delivery_m", t->far_delivery_m,
                                             "prep_overrun_s", t->prep_overrun_s, "weather_severe",
                                             t->weather_severe)) != 0;
        bad |= json_object_set(out, "rules", rules) != 0;
        bad |= json_object_set_new(
                   out, "appeal_sla_s",
                   json_pack("{s:I,s:I,s:I}", "rider",
                             (json_int_t)fc_policy_appeal_sla_s(p, FC_PARTY_RIDER), "merchant",
                             (json_int_t)fc_policy_appeal_sla_s(p, FC_PARTY_MERCHANT), "platform",
                             (json_int_t)fc_policy_appeal_sla_s(p, FC_PARTY_PLATFORM))) != 0;
    }
    json_decref(rules);
    if (bad) {
        json_decref(out);
        out = NULL;
    }
    return fc__http_send_json(q, MHD_HTTP_OK, out);
}
