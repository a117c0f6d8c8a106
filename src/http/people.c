/*
 * Riders and merchants: GET /v1/riders/{id} and GET /v1/merchants/{id}, the
 * reference row, a summary of the decisions and appeals about them, and
 * the first page of each. Score and tier come with rider assessment.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http/http_internal.h"
#include "appeal/appeal.h"
#include "case/case.h"

#define PEOPLE_FIRST 50 /* decisions and appeals listed */

typedef struct person_rows {
    fc_party party; /* rider or merchant: whom the page is about */
    json_t *items;
    fc_dict *orders;
    int64_t decisions, liable;
    fc_lang lang;
    fc_arena *arena;
    fc_case_decision cd;
    fc_err *err;
} person_rows;

static int person_decision(void *ud, const fc_case_entry *e, int superseded) {
    person_rows *r = ud;
    (void)superseded;
    fc_arena_reset(r->arena);
    int rc = fc_case_decision_parse(e->body, r->arena, &r->cd, r->err);
    if (rc != FC_OK) {
        return rc;
    }
    r->decisions++;
    r->liable += r->cd.d.liable == r->party;
    if (fc_dict_intern(r->orders, e->order) < 0) {
        return fc_err_set(r->err, FC_ENOMEM, NULL, 0, 0, "out of memory");
    }
    if (json_array_size(r->items) < PEOPLE_FIRST) {
        json_t *item = fc__http_decision_item(&r->cd, e->ts, r->lang);
        if (item == NULL || json_array_append_new(r->items, item) != 0) {
            return fc_err_set(r->err, FC_ENOMEM, NULL, 0, 0, "out of memory");
        }
    }
    return 0;
}

/* The page of rider or merchant `id` in `city` (its reference row's). */
static json_t *person_json(fc_hreq *q, fc_party party, const char *id, json_t *entity,
                           fc_err *err) {
    person_rows r;
    memset(&r, 0, sizeof r);
    r.party = party;
    r.items = json_array();
    r.orders = fc_dict_new();
    r.arena = fc_arena_new(0);
    r.lang = fc__http_lang(q);
    r.err = err;
    json_t *out = NULL, *appeals = json_array();
    fc_appeal *list = NULL;
    size_t n = 0;
    if (r.items == NULL || r.orders == NULL || r.arena == NULL || appeals == NULL) {
        fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
        goto out;
    }
    fc_case_decision_query dq;
    fc_case_decision_query_init(&dq);
    dq.current_only = 1;
    if (party == FC_PARTY_RIDER) {
        dq.rider = fc_str_c(id);
    } else {
        dq.merchant = fc_str_c(id);
    }
    if (fc_store_case_decisions(q->s, &dq, person_decision, &r, err) != FC_OK) {
        goto out;
    }
    fc_appeal_query aq;
    fc_appeal_query_init(&aq);
    if (party == FC_PARTY_RIDER) {
        aq.rider = id;
    } else {
        aq.merchant = id;
    }
    if (fc_appeal_list(q->s, &aq, (int64_t)time(NULL), &list, &n, err) != FC_OK) {
        goto out;
    }
    int64_t filed = 0, overturned = 0;
    for (size_t i = 0; i < n; i++) {
        const fc_appeal *a = &list[i];
        if (a->kind == FC_APPEAL_KIND_APPEAL && a->appellant == party) {
            filed++;
            overturned += a->state == FC_APPEAL_OVERTURNED;
        }
        if (i < PEOPLE_FIRST) {
            json_t *item = fc__http_appeal_brief(a);
            if (item == NULL || json_array_append_new(appeals, item) != 0) {
                fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
                goto out;
            }
        }
    }
    out = json_pack("{s:O,s:{s:I,s:I,s:I,s:I,s:I},s:O,s:O,s:n,s:n}",
                    party == FC_PARTY_RIDER ? "rider" : "merchant", entity, "summary", "orders",
                    (json_int_t)fc_dict_count(r.orders), "decisions", (json_int_t)r.decisions,
                    "liable", (json_int_t)r.liable, "appeals", (json_int_t)filed,
                    "appeals_overturned", (json_int_t)overturned, "decisions", r.items, "appeals",
                    appeals, "score", "tier");
    if (out == NULL) {
        fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
    }
out:
    fc_free(list);
    json_decref(r.items);
    json_decref(appeals);
    fc_dict_free(r.orders);
    fc_arena_free(r.arena);
    return out;
}

static int take_city(void *ud, const fc_case_entry *e, int superseded) {
    (void)superseded;
    char *city = ud;
    fc_str_cpy(city, 64, e->city);
    return 1;
}

/* The city of the newest decision about rider or merchant id into city
 * ("" when none). */
static int newest_city(fc_hreq *q, fc_party party, const char *id, char city[64], fc_err *err) {
    fc_case_decision_query dq;
    fc_case_decision_query_init(&dq);
    if (party == FC_PARTY_RIDER) {
        dq.rider = fc_str_c(id);
    } else {
        dq.merchant = fc_str_c(id);
    }
    dq.limit = 1;
    int rc = fc_store_case_decisions(q->s, &dq, take_city, city, err);
    return rc == 1 ? FC_OK : rc;
}

/* The reference row of rider or merchant id as the page's entity, into
 * *entity (NULL when there is no such row), and its city into city. */
static int person_entity(fc_hreq *q, fc_party party, const char *id, fc_arena *a, json_t **entity,
                         char city[64], fc_err *err) {
    int found = 0;
    int rc;
    if (party == FC_PARTY_RIDER) {
        fc_rider rd;
        rc = fc_store_get_rider(q->s, fc_str_c(id), a, &rd, &found, err);
        if (rc == FC_OK && found) {
            fc_str_cpy(city, 64, fc_str_c(rd.city));
            *entity = json_pack("{s:s,s:n,s:s,s:s,s:o}", "id", rd.rider, "name", "city", rd.city,
                                "capacity", fc_capacity_name(rd.capacity), "fleet",
                                rd.fleet[0] != '\0' ? json_string(rd.fleet) : json_null());
        }
    } else {
        fc_merchant m;
        rc = fc_store_get_merchant(q->s, fc_str_c(id), a, &m, &found, err);
        if (rc == FC_OK && found) {
            fc_str_cpy(city, 64, fc_str_c(m.city));
            *entity = json_pack("{s:s,s:n,s:s,s:s,s:s,s:o}", "id", m.merchant, "name", "city",
                                m.city, "zone", m.zone, "kind", m.kind, "brand",
                                m.brand[0] != '\0' ? json_string(m.brand) : json_null());
        }
    }
    if (rc == FC_OK && found && *entity == NULL) {
        rc = fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
    }
    return rc;
}

static enum MHD_Result get_person(fc_hreq *q, fc_party party) {
    const char *id = q->arg[0];
    const char *what = party == FC_PARTY_RIDER ? "rider" : "merchant";
    fc_err err;
    fc_err_clear(&err);
    enum MHD_Result ok;
    json_t *entity = NULL, *out = NULL;
    char city[64] = "", country[8] = "";
    fc_arena *a = fc_arena_new(1024);
    if (a == NULL) {
        return fc__http_send_oom(q);
    }
    if (person_entity(q, party, id, a, &entity, city, &err) != FC_OK) {
        ok = fc__http_send_err(q, &err);
        goto out;
    }
    if (entity == NULL) {
        /* no reference row: the place of its newest decision, if any */
        if (newest_city(q, party, id, city, &err) != FC_OK) {
            ok = fc__http_send_err(q, &err);
            goto out;
        }
        if (city[0] != '\0') {
            entity = party == FC_PARTY_RIDER
                         ? json_pack("{s:s,s:n,s:s,s:n,s:n}", "id", id, "name", "city", city,
                                     "capacity", "fleet")
                         : json_pack("{s:s,s:n,s:s,s:n,s:n,s:n}", "id", id, "name", "city", city,
                                     "zone", "kind", "brand");
        }
    }
    int found = 0;
    if (city[0] != '\0' && fc_store_city_country(q->s, fc_str_c(city), country, sizeof country,
                                                 &found, &err) != FC_OK) {
        ok = fc__http_send_err(q, &err);
        goto out;
    }
    fc_auth_resource res = {country, city, party == FC_PARTY_RIDER ? id : NULL,
                            party == FC_PARTY_MERCHANT ? id : NULL};
    int mine_only = q->p->role == FC_ROLE_RIDER || q->p->role == FC_ROLE_MERCHANT;
    if (city[0] == '\0' || (mine_only && !fc_auth_allows(q->p, FC_AUTH_READ_DECISION, &res))) {
        /* unknown, or (to a rider or merchant) another's: not found */
        ok = fc__http_send_errorf(q, MHD_HTTP_NOT_FOUND, FC_HTTP_ENOT_FOUND, "no such %s", what);
        goto out;
    }
    if (!fc_auth_allows(q->p, FC_AUTH_READ_DECISION, &res)) {
        ok = fc__http_send_errorf(q, MHD_HTTP_FORBIDDEN, FC_HTTP_EFORBIDDEN,
                                  "this %s's city is outside the token's scope", what);
        goto out;
    }
    if (entity == NULL) {
        ok = fc__http_send_oom(q);
        goto out;
    }
    out = person_json(q, party, id, entity, &err);
    ok = out != NULL ? fc__http_send_json(q, MHD_HTTP_OK, out) : fc__http_send_err(q, &err);
out:
    json_decref(entity);
    fc_arena_free(a);
    return ok;
}

enum MHD_Result fc__http_get_rider(fc_hreq *q) {
    return get_person(q, FC_PARTY_RIDER);
}

enum MHD_Result fc__http_get_merchant(fc_hreq *q) {
    return get_person(q, FC_PARTY_MERCHANT);
}
