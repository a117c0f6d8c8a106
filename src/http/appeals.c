/*
 * Appeals: POST /v1/appeals (file one), GET /v1/appeals (the queue and its
 * history), GET /v1/appeals/{id} (one item on one screen) and
 * POST /v1/appeals/{id}/decision (a verdict), over src/appeal.
 *
 * Every write carries the token's name: the filing's actor, the view's
 * reviewer, the verdict's decided_by (and the actor of the ledger entries a
 * verdict writes), so the case log says which token did what.
 *
 * Who sees what:
 *   admin     everything;
 *   reviewer  the items of its places: the item's city, and the country of
 *             its decision (the city's, from the reference data, in a list);
 *   rider,    its own items only: the appeals it filed, and the review items
 *   merchant  of decisions that hold it liable. Anything else does not exist
 *             for it (404), and it may never decide (403 on its own items);
 *   analyst   refused (403): appeals are not in its part of the rules table.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http/http_internal.h"
#include "adjudicate/adjudicate.h"
#include "appeal/appeal.h"
#include "event/event.h"
#include "ref/ref.h"

#define LIST_LIMIT_DEFAULT 50
#define LIST_LIMIT_MAX     500
#define REASON_MAX_BYTES   1000 /* a verdict's reason over HTTP */
#define ITEMS_MAX          64   /* evidence items of one filing (appeal.h) */

/* ---------------------------------------------------------------------------
 * Who may see an item.
 */

/* The rider or merchant id of a rider's or merchant's token, else NULL. */
static const char *own_id(const fc_principal *p) {
    if ((p->role == FC_ROLE_RIDER || p->role == FC_ROLE_MERCHANT) && p->n_scope == 1) {
        return p->scope[0].value;
    }
    return NULL;
}

static fc_party own_party(const fc_principal *p) {
    return p->role == FC_ROLE_RIDER ? FC_PARTY_RIDER : FC_PARTY_MERCHANT;
}

/* Whether item a is the rider's or merchant's own: an appeal it filed, or
 * a review item of a decision that holds it liable. */
static int item_is_own(const fc_principal *p, const fc_appeal *a) {
    const char *id = own_id(p);
    if (id == NULL) {
        return 0;
    }
    fc_party party = own_party(p);
    const char *party_id = party == FC_PARTY_RIDER ? a->rider : a->merchant;
    if (a->kind == FC_APPEAL_KIND_REVIEW) {
        return a->liable == party && strcmp(party_id, id) == 0;
    }
    return a->appellant == party && strcmp(a->appellant_id, id) == 0;
}

/* The country of the last city looked up (a page's items mostly share a
 * few cities), read by its one reference row. */
typedef struct places {
    char city[64];
    char country[16];
    int have;
} places;

static int principal_has_country(const fc_principal *p) {
    for (size_t i = 0; i < p->n_scope; i++) {
        if (p->scope[i].kind == FC_SCOPE_COUNTRY) {
            return 1;
        }
    }
    return 0;
}

/* Whether the place-scoped caller may decide (and so read) the items of
 * `city`: a city entry of its scope names it, or a country entry names its
 * country. *allowed gets 1 or 0; FC_OK, or the store's error. */
static int place_allowed(fc_hreq *q, places *pl, const char *city, int *allowed, fc_err *err) {
    fc_auth_resource res = {NULL, city, NULL, NULL};
    *allowed = fc_auth_allows(q->p, FC_AUTH_DECIDE_APPEAL, &res);
    if (*allowed || !principal_has_country(q->p)) {
        return FC_OK;
    }
    if (!pl->have || strcmp(pl->city, city) != 0) {
        int found = 0;
        int rc = fc_store_city_country(q->s, fc_str_c(city), pl->country, sizeof pl->country,
                                       &found, err);
        if (rc != FC_OK) {
            return rc;
        }
        fc_str_cpy(pl->city, sizeof pl->city, fc_str_c(city));
        pl->have = 1;
    }
    if (pl->country[0] != '\0') {
        res.country = pl->country;
        *allowed = fc_auth_allows(q->p, FC_AUTH_DECIDE_APPEAL, &res);
    }
    return FC_OK;
}

/* 0 when p may read item a (its decision's country given), else the
 * status to answer with its message (404 for a rider or merchant: the item
 * does not exist for it). */
static unsigned refuse_read(const fc_principal *p, const fc_appeal *a, const char *country,
                            const char **msg) {
    switch (p->role) {
    case FC_ROLE_ADMIN:
        return 0;
    case FC_ROLE_RIDER:
    case FC_ROLE_MERCHANT:
        *msg = "no such appeal";
        return item_is_own(p, a) ? 0 : MHD_HTTP_NOT_FOUND;
    case FC_ROLE_REVIEWER: {
        fc_auth_resource res = {country, a->city, NULL, NULL};
        *msg = "this appeal is outside the token's places";
        return fc_auth_allows(p, FC_AUTH_DECIDE_APPEAL, &res) ? 0 : MHD_HTTP_FORBIDDEN;
    }
    default:
        *msg = "the token's role may not read appeals";
        return MHD_HTTP_FORBIDDEN;
    }
}

/* ---------------------------------------------------------------------------
 * JSON.
 */

/* s, or null when empty. */
static json_t *jstr_or_null(const char *s) {
    return s != NULL && s[0] != '\0' ? json_string(s) : json_null();
}

/* Set key to v (stolen) on o; 1 on failure (v freed). */
static int put(json_t *o, const char *key, json_t *v) {
    return v == NULL || json_object_set_new(o, key, v) != 0;
}

/* The fields of an item in a listing: those of the orders' appeal lists
 * (fc__http_appeal_brief) and more. NULL on OOM. */
static json_t *appeal_json(const fc_appeal *a) {
    json_t *o = fc__http_appeal_brief(a);
    if (o == NULL) {
        return NULL;
    }
    int review = a->kind == FC_APPEAL_KIND_REVIEW;
    int bad = 0;
    bad |= put(o, "appellant_id", review ? json_null() : json_string(a->appellant_id));
    bad |= put(o, "rider", jstr_or_null(a->rider));
    bad |= put(o, "merchant", jstr_or_null(a->merchant));
    bad |= put(o, "incident", json_string(fc_incident_name(a->incident)));
    bad |= put(o, "liable", json_string(fc_party_name(a->liable)));
    bad |= put(o, "rule", jstr_or_null(a->rule_id));
    bad |= put(o, "decided_at", fc__http_time_json(NULL, a->decided_at));
    bad |= put(o, "auto_overturned", json_boolean(a->auto_overturned));
    bad |= put(o, "sanction", json_boolean(a->sanction));
    bad |= put(o, "replaced_by", jstr_or_null(a->replaced_by));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* One evidence item as it is filed over HTTP (the request's shape). */
static json_t *item_json(const fc_appeal_item *it) {
    json_t *o = json_object();
    if (o == NULL) {
        return NULL;
    }
    int bad = put(o, "kind", json_string(fc_appeal_item_kind_name(it->kind)));
    if (it->text != NULL) {
        const char *key = it->kind == FC_APPEAL_ITEM_PHOTO  ? "id"
                          : it->kind == FC_APPEAL_ITEM_CALL ? "note"
                                                            : "text";
        bad |= put(o, key, json_string(it->text));
    }
    if (it->ts != FC_TS_NONE) {
        bad |= put(o, "ts", fc__http_time_json(NULL, it->ts));
    }
    if (it->lat_e6 != FC_GEO_NONE && it->lng_e6 != FC_GEO_NONE) {
        bad |= put(o, "lat", json_real(it->lat_e6 / 1e6));
        bad |= put(o, "lng", json_real(it->lng_e6 / 1e6));
    }
    if (it->outcome != NULL) {
        bad |= put(o, "outcome", json_string(it->outcome));
    }
    if (it->duration_s != FC_INT_NONE) {
        bad |= put(o, "duration_s", json_integer(it->duration_s));
    }
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* The one-line summary of a history entry, into buf. */
static void entry_summary(const fc_appeal_case *c, const fc_case_entry *e, char *buf, size_t cap) {
    json_error_t je;
    json_t *o = json_loadb(e->body.p != NULL ? e->body.p : "", e->body.n, 0, &je);
#define S(key)                                                                                     \
    (json_string_value(json_object_get(o, key)) != NULL                                            \
         ? json_string_value(json_object_get(o, key))                                              \
         : "")
    char due[32];
    switch (e->type) {
    case FC_CASE_DECISION:
        snprintf(buf, cap, "%s liable for %s by rule %s%s", S("liable"), S("incident"), S("rule"),
                 json_is_true(json_object_get(o, "review")) ? " (needs review)" : "");
        break;
    case FC_CASE_DECISION_WITHDRAWN:
        snprintf(buf, cap, "withdrawn: %s", S("reason"));
        break;
    case FC_CASE_LEDGER: {
        fc_ledger_entry le;
        fc_err err;
        if (fc_case_ledger_parse(e->body, &le, &err) != FC_OK) {
            snprintf(buf, cap, "ledger entry");
            break;
        }
        char money[48] = "";
        if (le.amount_minor != 0) {
            char amount[32];
            fc_money_format(le.amount_minor, le.currency, amount, sizeof amount);
            snprintf(money, sizeof money, "%s%s %s", le.points != 0 ? ", " : "", amount,
                     le.currency);
        }
        char points[32] = "";
        if (le.points != 0) {
            snprintf(points, sizeof points, "%d points", (int)le.points);
        }
        snprintf(buf, cap, "%s, %s %s: %s%s%s", fc_ledger_kind_name(le.kind),
                 fc_party_name(le.party), le.party_id, points, money,
                 le.warning_only ? "a warning"
                                 : (le.points == 0 && le.amount_minor == 0 ? "nothing" : ""));
        break;
    }
    case FC_CASE_APPEAL_FILED:
        fc_time_format_utc(c->appeal.due_at, due, sizeof due);
        if (strcmp(S("kind"), "review") == 0) {
            snprintf(buf, cap, "queued for a person's review, due %s", due);
        } else {
            snprintf(buf, cap, "%s %s appealed with %zu evidence item%s, due %s", S("appellant"),
                     S("appellant_id"), json_array_size(json_object_get(o, "items")),
                     json_array_size(json_object_get(o, "items")) == 1 ? "" : "s", due);
        }
        break;
    case FC_CASE_APPEAL_REVIEWED:
        snprintf(buf, cap, "auto-review %s: %s", S("outcome"), S("reason"));
        break;
    case FC_CASE_APPEAL_VIEWED:
        snprintf(buf, cap, "opened by %s", S("reviewer"));
        break;
    case FC_CASE_APPEAL_DECIDED: {
        json_int_t keep = json_integer_value(json_object_get(o, "keep_percent"));
        char kept[32] = "";
        if (keep > 0) {
            snprintf(kept, sizeof kept, " keeping %d%%", (int)keep);
        }
        snprintf(buf, cap, "%s%s%s: %s", S("verdict"), kept,
                 json_is_true(json_object_get(o, "late")) ? " after the deadline" : "",
                 S("reason"));
        break;
    }
    default:
        snprintf(buf, cap, "%s", fc_case_type_name(e->type));
    }
#undef S
    json_decref(o);
}

/* {"appeal":{...},"decision":{...},"order":{...}|null}: the whole screen
 * of item c, the decision's texts in lang, the order as
 * fc__http_order_json has it (null when its events are not in the store).
 * NULL with err on failure. */
static json_t *case_json(fc_hreq *q, const fc_appeal_case *c, fc_lang lang, fc_err *err) {
    json_t *a = appeal_json(&c->appeal);
    json_t *items = json_array();
    json_t *history = json_array();
    json_t *out = json_object();
    int bad = a == NULL || items == NULL || history == NULL || out == NULL;
    for (size_t i = 0; !bad && i < c->n_items; i++) {
        json_t *it = item_json(&c->items[i]);
        bad |= it == NULL || json_array_append_new(items, it) != 0;
    }
    for (size_t i = 0; !bad && i < c->n_history; i++) {
        const fc_case_entry *e = &c->history[i];
        char summary[1200], type[32], id[FC_CASE_ID_MAX + 160], actor[128];
        entry_summary(c, e, summary, sizeof summary);
        snprintf(type, sizeof type, "%s", fc_case_type_name(e->type));
        fc_str_cpy(id, sizeof id, e->id);
        fc_str_cpy(actor, sizeof actor, e->actor);
        json_t *h = json_pack("{s:I,s:s,s:s,s:s,s:o,s:s}", "seq", (json_int_t)e->seq, "id", id,
                              "type", type, "actor", actor, "at", fc__http_time_json(NULL, e->ts),
                              "summary", summary);
        bad |= h == NULL || json_array_append_new(history, h) != 0;
    }
    const fc_appeal *ap = &c->appeal;
    if (!bad) {
        bad |= put(a, "statement", json_string(c->statement != NULL ? c->statement : ""));
        bad |= put(a, "reason", jstr_or_null(ap->reason));
        bad |= put(a, "keep_percent",
                   ap->state == FC_APPEAL_PARTIAL ? json_integer(ap->keep_percent) : json_null());
        bad |= put(a, "last_seq", json_integer((json_int_t)ap->last_seq));
        bad |= json_object_set(a, "items", items) != 0;
        bad |= json_object_set(a, "history", history) != 0;
        bad |= json_object_set(out, "appeal", a) != 0;
        bad |= put(out, "decision", fc__http_decision_json(&c->decision, lang));
    }
    json_decref(a);
    json_decref(items);
    json_decref(history);
    if (bad) {
        json_decref(out);
        fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
        return NULL;
    }
    json_t *order = fc__http_order_json(q, ap->order, 1, err);
    if (order == NULL && err->code != FC_ENOTFOUND) {
        json_decref(out);
        return NULL;
    }
    if (put(out, "order", order != NULL ? order : json_null())) {
        json_decref(out);
        fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
        return NULL;
    }
    return out;
}

/* Answer with the screen of loaded item c (status). */
static enum MHD_Result send_loaded(fc_hreq *q, const fc_appeal_case *c, unsigned status) {
    fc_err err;
    fc_err_clear(&err);
    fc_lang lang = fc__http_lang(q);
    if (c->decision.explanation[lang][0] == '\0') {
        lang = FC_LANG_EN;
    }
    json_t *j = case_json(q, c, lang, &err);
    if (j == NULL) {
        return fc__http_send_err(q, &err);
    }
    return fc__http_send_json_hdr(q, status, j, MHD_HTTP_HEADER_CONTENT_LANGUAGE,
                                  fc_lang_code(lang));
}

/* Load item id and answer with its screen (status). */
static enum MHD_Result send_case(fc_hreq *q, const char *id, unsigned status) {
    fc_err err;
    fc_err_clear(&err);
    enum MHD_Result ok;
    fc_arena *arena = fc_arena_new(0);
    fc_appeal_case *c = fc_calloc(1, sizeof *c);
    if (arena == NULL || c == NULL) {
        ok = fc__http_send_oom(q);
    } else if (fc_appeal_load(q->s, id, (int64_t)time(NULL), arena, c, &err) != FC_OK) {
        ok = fc__http_send_err(q, &err);
    } else {
        ok = send_loaded(q, c, status);
    }
    fc_free(c);
    fc_arena_free(arena);
    return ok;
}

/* 0 when the caller may read item a (its decision's country given) and,
 * `decide`, decide it; else its answer is queued into *sent and -1
 * returned. */
static int refused(fc_hreq *q, const fc_appeal *a, const char *country, int decide,
                   enum MHD_Result *sent) {
    const fc_principal *p = q->p;
    const char *msg = NULL;
    unsigned refuse = refuse_read(p, a, country, &msg);
    if (refuse == 0 && decide && p->role != FC_ROLE_ADMIN && p->role != FC_ROLE_REVIEWER) {
        refuse = MHD_HTTP_FORBIDDEN; /* its own item: it may read it, never decide it */
        msg = "only a reviewer or an admin decides appeals";
    }
    if (refuse != 0) {
        *sent = fc__http_send_error(
            q, refuse, refuse == MHD_HTTP_NOT_FOUND ? FC_HTTP_ENOT_FOUND : FC_HTTP_EFORBIDDEN, msg);
        return -1;
    }
    return 0;
}

/* Item id and the country of its decision, for access checks: FC_OK, or
 * the error (FC_ENOTFOUND when no such item). */
static int item_and_country(fc_hreq *q, const char *id, fc_appeal *a, char country[4],
                            fc_err *err) {
    int rc = fc_appeal_get(q->s, id, (int64_t)time(NULL), a, err);
    if (rc != FC_OK) {
        return rc;
    }
    fc_arena *arena = fc_arena_new(0);
    fc_case_decision *cd = fc_calloc(1, sizeof *cd);
    if (arena == NULL || cd == NULL) {
        rc = fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
    } else {
        rc = fc_adj_decision_get(q->s, a->decision, arena, cd, err);
        if (rc == FC_OK) {
            snprintf(country, 4, "%s", cd->country);
        }
    }
    fc_free(cd);
    fc_arena_free(arena);
    return rc;
}

/* Item q->arg[0] into *a when the caller may read it (and, `decide`, may
 * decide it); else its answer is queued into *sent and -1 returned. */
static int item_for(fc_hreq *q, int decide, fc_appeal *a, enum MHD_Result *sent) {
    char country[4] = "";
    fc_err err;
    fc_err_clear(&err);
    int rc = item_and_country(q, q->arg[0], a, country, &err);
    if (rc != FC_OK) {
        /* the same words as for another's item: ids cannot be probed */
        *sent = rc == FC_ENOTFOUND ? fc__http_send_error(q, MHD_HTTP_NOT_FOUND, FC_HTTP_ENOT_FOUND,
                                                         "no such appeal")
                                   : fc__http_send_err(q, &err);
        return -1;
    }
    return refused(q, a, country, decide, sent);
}

/* ---------------------------------------------------------------------------
 * GET /v1/appeals/{id}
 */
/* The item and its decision are loaded once: the access check reads them,
 * the view (a reviewer's or an admin's read) is added to what was loaded,
 * and the screen is made of it. */
enum MHD_Result fc__http_get_appeal(fc_hreq *q) {
    int64_t now = (int64_t)time(NULL);
    fc_err err;
    fc_err_clear(&err);
    enum MHD_Result ok;
    fc_arena *arena = fc_arena_new(0);
    fc_appeal_case *c = fc_calloc(1, sizeof *c);
    if (arena == NULL || c == NULL) {
        ok = fc__http_send_oom(q);
        goto out;
    }
    int rc = fc_appeal_load(q->s, q->arg[0], now, arena, c, &err);
    if (rc != FC_OK) {
        /* the same words as for another's item: ids cannot be probed */
        ok = rc == FC_ENOTFOUND
                 ? fc__http_send_error(q, MHD_HTTP_NOT_FOUND, FC_HTTP_ENOT_FOUND, "no such appeal")
                 : fc__http_send_err(q, &err);
        goto out;
    }
    if (refused(q, &c->appeal, c->decision.country, 0, &ok) != 0) {
        goto out;
    }
    if (q->p->role == FC_ROLE_ADMIN || q->p->role == FC_ROLE_REVIEWER) {
        if (fc_appeal_view(q->s, c, q->t->name, now, arena, &err) != FC_OK) {
            ok = fc__http_send_err(q, &err);
            goto out;
        }
    }
    ok = send_loaded(q, c, MHD_HTTP_OK);
out:
    fc_free(c);
    fc_arena_free(arena);
    return ok;
}

/* ---------------------------------------------------------------------------
 * GET /v1/appeals
 */

/* A cursor: the sorting key of the last item of the page before,
 * "<p|d>.<due_at>.<filed_at>.<decided_at>.<id>". */
static void cursor_make(const fc_appeal *a, char *buf, size_t cap) {
    snprintf(buf, cap, "%c.%lld.%lld.%lld.%s", a->state == FC_APPEAL_PENDING ? 'p' : 'd',
             (long long)a->due_at, (long long)a->filed_at, (long long)a->decided_at, a->id);
}

/* The key of cursor text c into *key; 0, or -1 when it is not a cursor. */
static int cursor_parse(const char *c, fc_appeal *key) {
    memset(key, 0, sizeof *key);
    if ((c[0] != 'p' && c[0] != 'd') || c[1] != '.') {
        return -1;
    }
    key->state = c[0] == 'p' ? FC_APPEAL_PENDING : FC_APPEAL_UPHELD;
    int64_t *fields[] = {&key->due_at, &key->filed_at, &key->decided_at};
    const char *p = c + 2;
    for (size_t i = 0; i < 3; i++) {
        const char *dot = strchr(p, '.');
        if (dot == NULL || fc_parse_i64((fc_str){p, (uint32_t)(dot - p)}, fields[i]) != FC_OK) {
            return -1;
        }
        p = dot + 1;
    }
    size_t n = strlen(p);
    if (n == 0 || n >= sizeof key->id) {
        return -1;
    }
    memcpy(key->id, p, n + 1);
    return 0;
}

/* A 0/1 flag parameter: "1"/"true" or "0"/"false"; -1 otherwise. */
static int flag_param(const char *v) {
    if (strcmp(v, "1") == 0 || strcmp(v, "true") == 0) {
        return 1;
    }
    if (strcmp(v, "0") == 0 || strcmp(v, "false") == 0) {
        return 0;
    }
    return -1;
}

enum MHD_Result fc__http_get_appeals(fc_hreq *q) {
    const fc_principal *p = q->p;
    if (p->role == FC_ROLE_ANALYST || p->role == FC_ROLE_NONE) {
        return fc__http_send_error(q, MHD_HTTP_FORBIDDEN, FC_HTTP_EFORBIDDEN,
                                   "the token's role may not read appeals");
    }
    fc_appeal_query aq;
    fc_appeal_query_init(&aq);
    const char *v;
    if ((v = fc__http_param(q, "state")) != NULL && strcmp(v, "decided") == 0) {
        aq.decided_only = 1; /* every item no longer pending, newest verdict first */
    } else if (v != NULL && (aq.state = fc_appeal_state_from(v)) < 0) {
        return fc__http_send_error(q, MHD_HTTP_BAD_REQUEST, FC_HTTP_EBAD_REQUEST,
                                   "state: pending, decided, overturned, upheld, partial or moot");
    }
    if ((v = fc__http_param(q, "kind")) != NULL) {
        if (strcmp(v, "appeal") != 0 && strcmp(v, "review") != 0) {
            return fc__http_send_error(q, MHD_HTTP_BAD_REQUEST, FC_HTTP_EBAD_REQUEST,
                                       "kind: appeal or review");
        }
        aq.kind = v[0] == 'r' ? FC_APPEAL_KIND_REVIEW : FC_APPEAL_KIND_APPEAL;
    }
    if ((v = fc__http_param(q, "breached")) != NULL && (aq.breached_only = flag_param(v)) < 0) {
        return fc__http_send_error(q, MHD_HTTP_BAD_REQUEST, FC_HTTP_EBAD_REQUEST,
                                   "breached: 1 or 0");
    }
    int64_t limit = LIST_LIMIT_DEFAULT;
    if ((v = fc__http_param(q, "limit")) != NULL &&
        (fc_parse_i64(fc_str_c(v), &limit) != FC_OK || limit < 1 || limit > LIST_LIMIT_MAX)) {
        return fc__http_send_errorf(q, MHD_HTTP_BAD_REQUEST, FC_HTTP_EBAD_REQUEST,
                                    "limit: a count from 1 to %d", LIST_LIMIT_MAX);
    }
    fc_appeal key;
    const char *cursor = fc__http_param(q, "cursor");
    if (cursor != NULL && cursor_parse(cursor, &key) != 0) {
        return fc__http_send_error(q, MHD_HTTP_BAD_REQUEST, FC_HTTP_EBAD_REQUEST,
                                   "cursor: not a cursor this route gave");
    }
    aq.city = fc__http_param(q, "city");
    aq.rider = fc__http_param(q, "rider");
    aq.merchant = fc__http_param(q, "merchant");

    /* Scope: a rider or merchant lists its own; asking for another is
     * asking for what does not exist. */
    const char *own = own_id(p);
    if (own != NULL) {
        const char **mine = p->role == FC_ROLE_RIDER ? &aq.rider : &aq.merchant;
        if (*mine != NULL && strcmp(*mine, own) != 0) {
            return fc__http_send_error(q, MHD_HTTP_NOT_FOUND, FC_HTTP_ENOT_FOUND,
                                       p->role == FC_ROLE_RIDER ? "no such rider"
                                                                : "no such merchant");
        }
        *mine = own;
    }
    enum MHD_Result ok;
    fc_err err;
    fc_err_clear(&err);
    places pl = {"", "", 0};
    fc_appeal *items = NULL;
    size_t n = 0;
    json_t *arr = NULL;
    int allowed = 1;
    if (p->role == FC_ROLE_REVIEWER && aq.city != NULL) {
        if (place_allowed(q, &pl, aq.city, &allowed, &err) != FC_OK) {
            ok = fc__http_send_err(q, &err);
            goto out;
        }
        if (!allowed) {
            ok = fc__http_send_errorf(q, MHD_HTTP_FORBIDDEN, FC_HTTP_EFORBIDDEN,
                                      "city %s is outside the token's places", aq.city);
            goto out;
        }
    }
    if (fc_appeal_list(q->s, &aq, (int64_t)time(NULL), &items, &n, &err) != FC_OK) {
        ok = fc__http_send_err(q, &err);
        goto out;
    }
    arr = json_array();
    if (arr == NULL) {
        ok = fc__http_send_oom(q);
        goto out;
    }
    size_t shown = 0;
    const fc_appeal *last = NULL;
    int more = 0;
    for (size_t i = 0; i < n; i++) {
        const fc_appeal *a = &items[i];
        if (cursor != NULL && fc_appeal_queue_cmp(a, &key) <= 0) {
            continue;
        }
        if (own != NULL && !item_is_own(p, a)) {
            continue;
        }
        if (p->role == FC_ROLE_REVIEWER) {
            if (place_allowed(q, &pl, a->city, &allowed, &err) != FC_OK) {
                ok = fc__http_send_err(q, &err);
                goto out;
            }
            if (!allowed) {
                continue;
            }
        }
        if (shown == (size_t)limit) {
            more = 1;
            break;
        }
        json_t *o = appeal_json(a);
        if (o == NULL || json_array_append_new(arr, o) != 0) {
            ok = fc__http_send_oom(q);
            goto out;
        }
        shown++;
        last = a;
    }
    char next[FC_CASE_ID_MAX + 80];
    if (more) {
        cursor_make(last, next, sizeof next);
    }
    json_t *j = json_object();
    if (j == NULL || json_object_set(j, "items", arr) != 0 ||
        json_object_set_new(j, "next", more ? json_string(next) : json_null()) != 0) {
        json_decref(j);
        ok = fc__http_send_oom(q);
        goto out;
    }
    ok = fc__http_send_json(q, MHD_HTTP_OK, j);
out:
    json_decref(arr);
    fc_free(items);
    return ok;
}

/* ---------------------------------------------------------------------------
 * POST /v1/appeals
 */

/* The keys an object may have (NULL-terminated); the first other into
 * *unknown. */
static int only_keys(const json_t *o, const char *const *keys, const char **unknown) {
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)o, k, v) {
        (void)v;
        size_t i = 0;
        while (keys[i] != NULL && strcmp(keys[i], k) != 0) {
            i++;
        }
        if (keys[i] == NULL) {
            *unknown = k;
            return 0;
        }
    }
    return 1;
}

/* Decimal degrees as millionths; anything no position can have becomes a
 * value out of every range (the conversion of a huge double is undefined). */
static int32_t micro_degrees(double deg) {
    return deg >= -1000.0 && deg <= 1000.0 ? (int32_t)lround(deg * 1e6) : INT32_MAX;
}

/* Evidence item i of the body into *it (strings borrowed from x); NULL,
 * or what is wrong with it (why has room for the message). */
static const char *item_parse(const json_t *x, fc_appeal_item *it, char *why, size_t cap) {
    static const char *const keys[] = {"kind", "text", "id",      "note",       "ts",
                                       "lat",  "lng",  "outcome", "duration_s", NULL};
    memset(it, 0, sizeof *it);
    it->ts = FC_TS_NONE;
    it->lat_e6 = it->lng_e6 = FC_GEO_NONE;
    it->duration_s = FC_INT_NONE;
    const char *unknown = NULL;
    if (!json_is_object(x)) {
        return "not an object";
    }
    if (!only_keys(x, keys, &unknown)) {
        snprintf(why, cap, "unknown field '%s'", unknown);
        return why;
    }
    const char *kind = json_string_value(json_object_get(x, "kind"));
    int k = fc_appeal_item_kind_from(kind);
    if (k < 0) {
        return "kind: text, gps, photo or call";
    }
    it->kind = (fc_appeal_item_kind)k;
    /* The text of each kind under its own name; the others are not its. */
    static const char *const text_key[FC_APPEAL_ITEM__COUNT] = {"text", NULL, "id", "note"};
    static const char *const text_keys[] = {"text", "id", "note"};
    for (size_t i = 0; i < 3; i++) {
        const json_t *t = json_object_get(x, text_keys[i]);
        if (t == NULL) {
            continue;
        }
        if (text_key[k] == NULL || strcmp(text_key[k], text_keys[i]) != 0) {
            snprintf(why, cap, "%s: not a field of a %s item", text_keys[i], kind);
            return why;
        }
        if (!json_is_string(t)) {
            snprintf(why, cap, "%s: a string", text_keys[i]);
            return why;
        }
        it->text = json_string_value(t);
    }
    const json_t *ts = json_object_get(x, "ts");
    if (ts != NULL) {
        const char *s = json_string_value(ts);
        fc_err err;
        if (s == NULL || fc_time_parse_iso(fc_str_c(s), NULL, &it->ts, &err) != FC_OK) {
            return "ts: an RFC 3339 time (\"2026-03-01T12:30:00Z\")";
        }
    }
    const json_t *lat = json_object_get(x, "lat"), *lng = json_object_get(x, "lng");
    if (lat != NULL || lng != NULL) {
        if (it->kind != FC_APPEAL_ITEM_GPS && it->kind != FC_APPEAL_ITEM_PHOTO) {
            snprintf(why, cap, "lat, lng: not fields of a %s item", kind);
            return why;
        }
        if (!json_is_number(lat) || !json_is_number(lng)) {
            return "lat, lng: both, decimal degrees";
        }
        it->lat_e6 = micro_degrees(json_number_value(lat));
        it->lng_e6 = micro_degrees(json_number_value(lng));
    }
    const json_t *outcome = json_object_get(x, "outcome");
    const json_t *dur = json_object_get(x, "duration_s");
    if ((outcome != NULL || dur != NULL) && it->kind != FC_APPEAL_ITEM_CALL) {
        snprintf(why, cap, "outcome, duration_s: not fields of a %s item", kind);
        return why;
    }
    if (outcome != NULL) {
        if (!json_is_string(outcome)) {
            return "outcome: a string (no_answer, busy, reached, voicemail ...)";
        }
        it->outcome = json_string_value(outcome);
    }
    if (dur != NULL) {
        if (!json_is_integer(dur)) {
            return "duration_s: whole seconds";
        }
        json_int_t d = json_integer_value(dur);
        it->duration_s = d >= 0 && d <= INT32_MAX ? (int32_t)d : -1; /* the module says why */
    }
    /* Ranges and what each kind needs: the appeal module's own rules. */
    return fc_appeal_item_problem(it);
}

enum MHD_Result fc__http_post_appeals(fc_hreq *q) {
    const fc_principal *p = q->p;
    if (p->role != FC_ROLE_ADMIN && p->role != FC_ROLE_RIDER && p->role != FC_ROLE_MERCHANT) {
        return fc__http_send_error(q, MHD_HTTP_FORBIDDEN, FC_HTTP_EFORBIDDEN,
                                   "only riders and merchants (or an admin for them) file appeals");
    }
    enum MHD_Result ok;
    json_t *body = fc__http_body_json(q, &ok);
    if (body == NULL) {
        return ok;
    }
    fc_err err;
    fc_err_clear(&err);
    fc_arena *arena = NULL;
    fc_case_decision *cd = NULL;
    fc_appeal_item *items = NULL;
    char why[160];
    static const char *const keys[] = {"decision", "statement", "items", "appellant", NULL};
    const char *unknown = NULL;
    if (!json_is_object(body)) {
        ok = fc__http_send_error(q, MHD_HTTP_BAD_REQUEST, FC_HTTP_EBAD_REQUEST,
                                 "the body is a JSON object: decision, statement, items");
        goto out;
    }
    if (!only_keys(body, keys, &unknown)) {
        ok = fc__http_send_errorf(q, MHD_HTTP_BAD_REQUEST, FC_HTTP_EBAD_REQUEST,
                                  "unknown field '%s'", unknown);
        goto out;
    }
    const char *decision = json_string_value(json_object_get(body, "decision"));
    if (decision == NULL || decision[0] == '\0') {
        ok = fc__http_send_error(q, MHD_HTTP_BAD_REQUEST, FC_HTTP_EBAD_REQUEST,
                                 "decision: required, the id of the decision appealed");
        goto out;
    }
    const char *statement = json_string_value(json_object_get(body, "statement"));
    if (statement == NULL || statement[0] == '\0') {
        ok = fc__http_send_error(q, MHD_HTTP_BAD_REQUEST, FC_HTTP_EBAD_REQUEST,
                                 "statement: required, why, in the appellant's words");
        goto out;
    }
    const json_t *jitems = json_object_get(body, "items");
    if (jitems != NULL && (!json_is_array(jitems) || json_array_size(jitems) > ITEMS_MAX)) {
        ok = fc__http_send_errorf(q, MHD_HTTP_BAD_REQUEST, FC_HTTP_EBAD_REQUEST,
                                  "items: an array of at most %d evidence items", ITEMS_MAX);
        goto out;
    }
    size_t n_items = json_array_size(jitems);
    items = n_items > 0 ? fc_calloc(n_items, sizeof *items) : NULL;
    if (n_items > 0 && items == NULL) {
        ok = fc__http_send_oom(q);
        goto out;
    }
    for (size_t i = 0; i < n_items; i++) {
        const char *bad = item_parse(json_array_get(jitems, i), &items[i], why, sizeof why);
        if (bad != NULL) {
            ok = fc__http_send_errorf(q, MHD_HTTP_BAD_REQUEST, FC_HTTP_EBAD_REQUEST,
                                      "evidence item %zu (items[%zu]): %s", i + 1, i, bad);
            goto out;
        }
    }
    /* Who appeals: a rider or merchant for itself; an admin names the
     * party and the decision names who that is. */
    const json_t *japp = json_object_get(body, "appellant");
    const char *appellant = json_string_value(japp);
    fc_party party = FC_PARTY_NONE;
    if (appellant != NULL &&
        (strcmp(appellant, "rider") == 0 || strcmp(appellant, "merchant") == 0)) {
        party = appellant[0] == 'r' ? FC_PARTY_RIDER : FC_PARTY_MERCHANT;
    } else if (japp != NULL || p->role == FC_ROLE_ADMIN) {
        ok = fc__http_send_error(q, MHD_HTTP_BAD_REQUEST, FC_HTTP_EBAD_REQUEST,
                                 p->role == FC_ROLE_ADMIN
                                     ? "appellant: required of an admin, rider or merchant"
                                     : "appellant: rider or merchant");
        goto out;
    }
    if (p->role != FC_ROLE_ADMIN) {
        if (party != FC_PARTY_NONE && party != own_party(p)) {
            ok = fc__http_send_errorf(q, MHD_HTTP_BAD_REQUEST, FC_HTTP_EBAD_REQUEST,
                                      "appellant: a %s token files as the %s",
                                      fc_role_name(p->role), fc_role_name(p->role));
            goto out;
        }
        party = own_party(p);
    }
    arena = fc_arena_new(0);
    cd = fc_calloc(1, sizeof *cd);
    if (arena == NULL || cd == NULL) {
        ok = fc__http_send_oom(q);
        goto out;
    }
    int rc = fc_adj_decision_get(q->s, decision, arena, cd, &err);
    fc_auth_resource res = {cd->country, cd->city, cd->rider, cd->merchant};
    if (rc == FC_ENOTFOUND || (rc == FC_OK && !fc_auth_allows(p, FC_AUTH_FILE_APPEAL, &res))) {
        ok = fc__http_send_error(q, MHD_HTTP_NOT_FOUND, FC_HTTP_ENOT_FOUND, "no such decision");
        goto out;
    }
    if (rc != FC_OK) {
        ok = fc__http_send_err(q, &err);
        goto out;
    }
    const char *appellant_id = party == FC_PARTY_RIDER ? cd->rider : cd->merchant;
    if (appellant_id[0] == '\0') {
        ok = fc__http_send_errorf(q, MHD_HTTP_BAD_REQUEST, FC_HTTP_EBAD_REQUEST,
                                  "appellant: decision %s names no %s", cd->id,
                                  fc_party_name(party));
        goto out;
    }
    char id[FC_CASE_ID_MAX];
    fc_appeal_id(cd->id, party, appellant_id, id);
    fc_appeal a;
    rc = fc_appeal_get(q->s, id, (int64_t)time(NULL), &a, &err);
    if (rc != FC_OK && rc != FC_ENOTFOUND) {
        ok = fc__http_send_err(q, &err);
        goto out;
    }
    int existed = rc == FC_OK;
    fc_appeal_filing f = {cd->id, party, appellant_id, statement, items, n_items};
    if (fc_appeal_file(q->s, q->h->pack, &f, (int64_t)time(NULL), q->t->name, &a, &err) != FC_OK) {
        ok = fc__http_send_err(q, &err);
        goto out;
    }
    ok = send_case(q, a.id, existed ? MHD_HTTP_OK : MHD_HTTP_CREATED);
out:
    fc_free(items);
    fc_free(cd);
    fc_arena_free(arena);
    json_decref(body);
    return ok;
}

/* ---------------------------------------------------------------------------
 * POST /v1/appeals/{id}/decision
 */
enum MHD_Result fc__http_post_appeal_decision(fc_hreq *q) {
    fc_appeal a;
    enum MHD_Result ok;
    if (item_for(q, 1, &a, &ok) != 0) {
        return ok;
    }
    json_t *body = fc__http_body_json(q, &ok);
    if (body == NULL) {
        return ok;
    }
    static const char *const keys[] = {"verdict", "reason", "keep_percent", "expect_seq", NULL};
    const char *unknown = NULL;
    const char *verdict = json_string_value(json_object_get(body, "verdict"));
    const char *reason = json_string_value(json_object_get(body, "reason"));
    const json_t *keep = json_object_get(body, "keep_percent");
    const json_t *seq = json_object_get(body, "expect_seq");
    int v = fc_verdict_from(verdict);
    const char *bad = NULL;
    if (!json_is_object(body)) {
        bad = "the body is a JSON object: verdict, reason, keep_percent, expect_seq";
    } else if (!only_keys(body, keys, &unknown)) {
        ok = fc__http_send_errorf(q, MHD_HTTP_BAD_REQUEST, FC_HTTP_EBAD_REQUEST,
                                  "unknown field '%s'", unknown);
        goto out;
    } else if (v < 0) {
        bad = "verdict: uphold, overturn or partial";
    } else if (reason == NULL || reason[0] == '\0') {
        bad = "reason: required, why (the appellant reads it)";
    } else if (strlen(reason) > REASON_MAX_BYTES) {
        bad = "reason: at most 1000 bytes";
    } else if (v == FC_VERDICT_PARTIAL && (!json_is_integer(keep) || json_integer_value(keep) < 1 ||
                                           json_integer_value(keep) > 99)) {
        bad = "keep_percent: a partial verdict keeps 1 to 99 percent of the penalty";
    } else if (v != FC_VERDICT_PARTIAL && keep != NULL && !json_is_null(keep)) {
        bad = "keep_percent: only a partial verdict keeps a share";
    } else if (!json_is_integer(seq) || json_integer_value(seq) < 0) {
        bad = "expect_seq: required, the last_seq of the appeal as it was read";
    }
    if (bad != NULL) {
        ok = fc__http_send_error(q, MHD_HTTP_BAD_REQUEST, FC_HTTP_EBAD_REQUEST, bad);
        goto out;
    }
    /* An item no longer pending (decided, moot) is FC_ECONFLICT from
     * fc_appeal_decide, in the same transaction as the write: 409. */
    fc_appeal_verdict verdict_in = {(fc_verdict)v, reason, q->t->name,
                                    v == FC_VERDICT_PARTIAL ? (int)json_integer_value(keep) : 0};
    fc_err err;
    fc_err_clear(&err);
    if (fc_appeal_decide(q->s, a.id, &verdict_in, (int64_t)json_integer_value(seq),
                         (int64_t)time(NULL), NULL, &err) != FC_OK) {
        ok = fc__http_send_err(q, &err);
        goto out;
    }
    ok = send_case(q, a.id, MHD_HTTP_OK);
out:
    json_decref(body);
    return ok;
}
