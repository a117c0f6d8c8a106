/*
 * Orders: GET /v1/orders/{id}, an order as the judge saw it (its fold, the
 * named facts with their units, its events in time order), its decisions
 * and its appeals; and the JSON pieces other routes share (times, decision
 * list items).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http/http_internal.h"
#include "appeal/appeal.h"
#include "case/case.h"
#include "scan/scan.h"

json_t *fc__http_time_json(const fc_tz *tz, int64_t t) {
    if (t == FC_TS_NONE) {
        return json_null();
    }
    char buf[40];
    if (tz != NULL) {
        fc_time_format_local(tz, t, buf, sizeof buf);
    } else {
        fc_time_format_utc(t, buf, sizeof buf);
    }
    return json_string(buf);
}

/* A view as a JSON string, null when empty. */
static json_t *str_or_null(fc_str s) {
    return s.n > 0 ? json_stringn(s.p, s.n) : json_null();
}

static json_t *cstr_or_null(const char *s) {
    return s != NULL && s[0] != '\0' ? json_string(s) : json_null();
}

/* Set o[key] = v (stolen); 1 on failure (v NULL included). */
static int put(json_t *o, const char *key, json_t *v) {
    return v == NULL || json_object_set_new(o, key, v) != 0;
}

const char *fc__http_outcome(const fc_decision *d) {
    const fc_consequence *c = &d->consequence;
    if (c->suspend_days > 0) {
        return "suspension";
    }
    if (c->warning_only) {
        return "warning";
    }
    if (c->rider_points != 0 || c->rider_amount_minor != 0) {
        return "penalty";
    }
    if (c->merchant_chargeback_minor != 0) {
        return "chargeback";
    }
    if (c->customer_compensation_minor != 0) {
        return "compensation";
    }
    return "none";
}

json_t *fc__http_decision_item(const fc_case_decision *cd, int64_t recorded_at, fc_lang lang) {
    const fc_decision *d = &cd->d;
    if (cd->explanation[lang][0] == '\0') {
        lang = FC_LANG_EN; /* the policy has no text in that language */
    }
    json_t *o = json_object();
    if (o == NULL) {
        return NULL;
    }
    int bad = 0;
    bad |= put(o, "id", json_string(cd->id));
    bad |= put(o, "order", json_string(cd->order));
    bad |= put(o, "city", json_string(cd->city));
    bad |= put(o, "incident", json_string(fc_incident_name(d->incident)));
    bad |= put(o, "severe", json_boolean(d->severe));
    bad |= put(o, "party", json_string(fc_party_name(d->liable)));
    bad |= put(o, "outcome", json_string(fc__http_outcome(d)));
    bad |= put(o, "rule", cstr_or_null(d->rule_id));
    bad |= put(o, "rider", cstr_or_null(cd->rider));
    bad |= put(o, "merchant", cstr_or_null(cd->merchant));
    bad |= put(o, "needs_review", json_boolean(d->review));
    bad |= put(o, "policy", json_string(d->policy_id));
    bad |= put(o, "policy_version", json_string(d->policy_version));
    bad |= put(o, "created_at", fc__http_time_json(NULL, recorded_at));
    bad |= put(o, "order_created_at", fc__http_time_json(NULL, cd->created_at));
    bad |= put(o, "lang", json_string(fc_lang_code(lang)));
    bad |= put(o, "explanation", json_string(cd->explanation[lang]));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* ---------------------------------------------------------------------------
 * The order as the judge saw it.
 */

/* What the scan's visitor builds. */
typedef struct order_view {
    int with_timeline;
    json_t *out; /* {"order","facts","fact_units"[,"timeline"]} */
    int oom;
    /* the place and parties, for the access check */
    char country[4], city[64], rider[64], merchant[64];
} order_view;

static json_t *order_object(const fc_scan_order *so, const fc_tz *tz) {
    const fc_order_facts *f = so->facts;
    const fc_policy_input *in = so->input;
    json_t *o = json_object();
    if (o == NULL) {
        return NULL;
    }
    int bad = 0;
    bad |= put(o, "id", json_stringn(f->order.p, f->order.n));
    bad |= put(o, "city", str_or_null(f->city));
    bad |= put(o, "country", str_or_null(in->country));
    bad |= put(o, "zone", str_or_null(f->zone));
    bad |= put(o, "merchant", str_or_null(f->merchant));
    bad |= put(o, "merchant_kind", str_or_null(in->merchant_kind));
    bad |= put(o, "rider", str_or_null(f->rider));
    bad |= put(o, "capacity", str_or_null(in->capacity));
    bad |= put(o, "status", json_string(fc_order_status_name(f->status)));
    bad |= put(o, "created_at", fc__http_time_json(tz, f->created_at));
    bad |= put(o, "promised_at", fc__http_time_json(tz, f->promised_at));
    bad |= put(o, "delivered_at", fc__http_time_json(tz, f->delivered_at));
    bad |= put(o, "cancelled_at", fc__http_time_json(tz, f->cancelled_at));
    bad |= put(o, "closed_at", fc__http_time_json(tz, f->closed_at));
    int delivered = f->status == FC_ORDER_DELIVERED && f->lateness_s != FC_DUR_NONE;
    /* minutes, one decimal: the CLI's precision */
    bad |=
        put(o, "late_min", delivered ? json_real((double)(f->lateness_s / 6) / 10.0) : json_null());
    bad |= put(o, "on_time",
               delivered ? json_boolean((f->incidents & FC_INC_LATE) == 0) : json_null());
    bad |= put(o, "time_zone", tz != NULL ? json_string(fc_tz_name(tz)) : json_string("UTC"));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* The judge's named facts (policy.h) of the order, and their units. */
static int facts_objects(const fc_policy_input *in, json_t *facts, json_t *units) {
    int bad = 0;
    for (size_t i = 0; i < fc_fact_count(); i++) {
        fc_value v = fc_fact_value(i, in);
        json_t *j;
        if (v.absent) {
            j = json_null();
        } else if (v.kind == FC_FACT_TEXT) {
            j = str_or_null(v.text);
        } else {
            j = json_real(v.num);
        }
        bad |= put(facts, fc_fact_name(i), j);
        bad |= put(units, fc_fact_name(i), json_string(fc_fact_unit(i)));
    }
    return bad;
}

/* An event's own fields (event.h's field table) but its type, instant and
 * order: instants in the city's time, money as {"amount","currency"}. */
static json_t *event_detail(const fc_event *e, const fc_tz *tz) {
    json_t *o = json_object();
    if (o == NULL) {
        return NULL;
    }
    char cur[4] = "";
    if (e->currency.n == 3) {
        fc_str_cpy(cur, sizeof cur, e->currency);
    }
    int bad = 0;
    for (size_t i = 0; i < fc_event_field_count(); i++) {
        const fc_event_field *fd = fc_event_field_at(i);
        if (strcmp(fd->name, "ts") == 0 || strcmp(fd->name, "order") == 0) {
            continue;
        }
        const char *at = (const char *)e + fd->offset;
        json_t *v = NULL;
        switch (fd->kind) {
        case FC_EF_STR: {
            fc_str s;
            memcpy(&s, at, sizeof s);
            if (s.n > 0) {
                v = json_stringn(s.p, s.n);
                bad |= v == NULL;
            }
            break;
        }
        case FC_EF_TIME: {
            int64_t t;
            memcpy(&t, at, sizeof t);
            if (t != FC_TS_NONE) {
                v = fc__http_time_json(tz, t);
                bad |= v == NULL;
            }
            break;
        }
        case FC_EF_MONEY: {
            int64_t m;
            memcpy(&m, at, sizeof m);
            if (m != FC_MONEY_NONE) {
                char amount[48];
                if (fc_currency_decimals(cur) >= 0) {
                    fc_money_format(m, cur, amount, sizeof amount);
                    v = json_pack("{s:s,s:s}", "amount", amount, "currency", cur);
                } else {
                    v = json_pack("{s:I}", "amount_minor", (json_int_t)m);
                }
                bad |= v == NULL;
            }
            break;
        }
        case FC_EF_GEO: {
            int32_t g;
            memcpy(&g, at, sizeof g);
            if (g != FC_GEO_NONE) {
                v = json_real((double)g / 1e6);
                bad |= v == NULL;
            }
            break;
        }
        case FC_EF_INT: {
            int32_t k;
            memcpy(&k, at, sizeof k);
            if (k != FC_INT_NONE) {
                v = json_integer(k);
                bad |= v == NULL;
            }
            break;
        }
        }
        if (v != NULL) {
            bad |= json_object_set_new(o, fd->name, v) != 0;
        }
    }
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Time order; events of one instant in lifecycle order (their type's
 * number), then by id, so the timeline is the same on every read. */
static int event_cmp(const void *a, const void *b) {
    const fc_event *x = *(const fc_event *const *)a, *y = *(const fc_event *const *)b;
    if (x->ts != y->ts) {
        return x->ts < y->ts ? -1 : 1;
    }
    if (x->type != y->type) {
        return x->type < y->type ? -1 : 1;
    }
    return fc_str_cmp(x->id, y->id);
}

/* Who acted: the party an event names ("by"), else its rider, else null. */
static json_t *event_actor(const fc_event *e) {
    if (e->by.n > 0) {
        return json_stringn(e->by.p, e->by.n);
    }
    if (e->rider.n > 0) {
        return json_stringn(e->rider.p, e->rider.n);
    }
    return json_null();
}

static json_t *timeline_array(const fc_scan_order *so, const fc_tz *tz) {
    json_t *a = json_array();
    const fc_event **sorted = fc_calloc(so->n_events > 0 ? so->n_events : 1, sizeof *sorted);
    if (a == NULL || sorted == NULL) {
        json_decref(a);
        fc_free(sorted);
        return NULL;
    }
    for (size_t i = 0; i < so->n_events; i++) {
        sorted[i] = &so->events[i];
    }
    qsort(sorted, so->n_events, sizeof *sorted, event_cmp);
    int bad = 0;
    for (size_t i = 0; i < so->n_events && !bad; i++) {
        const fc_event *e = sorted[i];
        if (i > 0 && fc_str_eq(e->id, sorted[i - 1]->id) && e->id.n > 0) {
            continue; /* a repeated event id: the fold ignores it too */
        }
        json_t *item = json_object();
        bad |= item == NULL;
        if (item != NULL) {
            bad |= put(item, "ts", fc__http_time_json(tz, e->ts));
            bad |= put(item, "type", json_string(fc_event_type_name(e->type)));
            bad |= put(item, "actor", event_actor(e));
            bad |= put(item, "detail", event_detail(e, tz));
            bad |= json_array_append_new(a, item) != 0;
        }
    }
    fc_free(sorted);
    if (bad) {
        json_decref(a);
        return NULL;
    }
    return a;
}

static int visit_order(void *ud, const fc_scan_order *so) {
    order_view *v = ud;
    const fc_tz *tz = so->city != NULL ? so->city->tz : NULL;
    fc_str_cpy(v->country, sizeof v->country, so->input->country);
    fc_str_cpy(v->city, sizeof v->city, so->facts->city);
    fc_str_cpy(v->rider, sizeof v->rider, so->facts->rider);
    fc_str_cpy(v->merchant, sizeof v->merchant, so->facts->merchant);
    json_t *facts = json_object(), *units = json_object();
    json_t *out = json_object();
    int bad = facts == NULL || units == NULL || out == NULL;
    if (!bad) {
        bad |= facts_objects(so->input, facts, units);
    }
    if (out != NULL) {
        bad |= put(out, "order", order_object(so, tz));
        bad |= put(out, "facts", facts);
        bad |= put(out, "fact_units", units);
        facts = units = NULL;
        if (v->with_timeline) {
            bad |= put(out, "timeline", timeline_array(so, tz));
        }
    }
    json_decref(facts);
    json_decref(units);
    if (bad) {
        json_decref(out);
        v->oom = 1;
        return FC_ENOMEM;
    }
    v->out = out;
    return 0;
}

/* An order id: 1 to 63 bytes, printable ASCII without spaces or slashes. */
static int order_id_valid(const char *id) {
    size_t n = strlen(id);
    if (n == 0 || n >= 64) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)id[i];
        if (c <= ' ' || c >= 0x7f || c == '/') {
            return 0;
        }
    }
    return 1;
}

/* The order read and visited; v->out set. */
static int order_load(fc_hreq *q, const char *order_id, order_view *v, fc_err *err) {
    if (!order_id_valid(order_id)) {
        return fc_err_set(err, FC_ENOTFOUND, NULL, 0, 0, "no such order");
    }
    /* The server's shared reference entities: one order's fold must not
     * load every city's time zone and every rider and merchant. */
    fc__http_ref *ref = fc__http_ref_acquire(q->h, q->s, err);
    if (ref == NULL) {
        return err->code != FC_OK ? err->code : FC_ESTORE;
    }
    fc_scan_opts o;
    fc_scan_opts_init(&o);
    o.policies = q->h->pack; /* the thresholds the judge used */
    o.ref = ref->ref;
    int rc = fc_scan_order_one(q->s, &o, fc_str_c(order_id), NULL, 0, visit_order, v, err);
    fc__http_ref_release(q->h, ref);
    if (rc == FC_ENOMEM && v->oom) {
        return fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
    }
    if (rc == FC_ENOTFOUND || (rc == FC_OK && v->out == NULL)) {
        return fc_err_set(err, FC_ENOTFOUND, NULL, 0, 0, "no such order");
    }
    return rc;
}

json_t *fc__http_order_json(fc_hreq *q, const char *order_id, int with_timeline, fc_err *err) {
    order_view v;
    memset(&v, 0, sizeof v);
    v.with_timeline = with_timeline;
    if (order_load(q, order_id, &v, err) != FC_OK) {
        json_decref(v.out);
        return NULL;
    }
    return v.out;
}

/* ---------------------------------------------------------------------------
 * GET /v1/orders/{id}
 */
typedef struct decision_rows {
    json_t *a;
    fc_arena *arena;
    fc_case_decision cd;
    fc_lang lang;
    fc_err *err;
} decision_rows;

static int add_decision(void *ud, const fc_case_entry *e, int superseded) {
    decision_rows *r = ud;
    fc_arena_reset(r->arena);
    int rc = fc_case_decision_parse(e->body, r->arena, &r->cd, r->err);
    if (rc != FC_OK) {
        return rc;
    }
    json_t *item = fc__http_decision_item(&r->cd, e->ts, r->lang);
    if (item == NULL || json_object_set_new(item, "superseded", json_boolean(superseded)) != 0 ||
        json_array_append_new(r->a, item) != 0) {
        return fc_err_set(r->err, FC_ENOMEM, NULL, 0, 0, "out of memory");
    }
    return 0;
}

/* The order's decisions, superseded ones flagged, oldest first. */
static json_t *order_decisions(fc_hreq *q, const char *order_id, fc_err *err) {
    decision_rows r;
    memset(&r, 0, sizeof r);
    r.a = json_array();
    r.arena = fc_arena_new(0);
    r.lang = fc__http_lang(q);
    r.err = err;
    int rc = FC_OK;
    if (r.a == NULL || r.arena == NULL) {
        rc = fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
    } else {
        fc_case_decision_query dq;
        fc_case_decision_query_init(&dq);
        dq.order = fc_str_c(order_id);
        rc = fc_store_case_decisions(q->s, &dq, add_decision, &r, err);
    }
    fc_arena_free(r.arena);
    if (rc != FC_OK) {
        json_decref(r.a);
        return NULL;
    }
    /* newest first from the store: the order page reads them in time order */
    size_t n = json_array_size(r.a);
    for (size_t i = 0; i < n / 2; i++) {
        json_t *x = json_incref(json_array_get(r.a, i));
        json_t *y = json_incref(json_array_get(r.a, n - 1 - i));
        json_array_set_new(r.a, i, y);
        json_array_set_new(r.a, n - 1 - i, x);
    }
    return r.a;
}

json_t *fc__http_appeal_brief(const fc_appeal *a) {
    json_t *o = json_object();
    if (o == NULL) {
        return NULL;
    }
    int bad = 0;
    bad |= put(o, "id", json_string(a->id));
    bad |= put(o, "decision", json_string(a->decision));
    bad |= put(o, "order", json_string(a->order));
    bad |= put(o, "city", json_string(a->city));
    bad |= put(o, "kind", json_string(a->kind == FC_APPEAL_KIND_REVIEW ? "review" : "appeal"));
    bad |= put(o, "state", json_string(fc_appeal_state_name(a->state)));
    bad |=
        put(o, "appellant",
            a->appellant == FC_PARTY_NONE ? json_null() : json_string(fc_party_name(a->appellant)));
    bad |= put(o, "filed_at", fc__http_time_json(NULL, a->filed_at));
    bad |= put(o, "due_at", fc__http_time_json(NULL, a->due_at));
    bad |= put(o, "breached", json_boolean(a->breached));
    bad |= put(o, "decided_by", cstr_or_null(a->decided_by));
    bad |= put(o, "verdict",
               a->decided_at == FC_TS_NONE ? json_null()
                                           : json_string(fc_appeal_state_name(a->state)));
    bad |= put(o, "auto_reviewed", json_boolean(a->auto_reviewed));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* The appeals and review items on the order's decisions. Found through
 * the order's own case entries (indexed): every appeal entry names the
 * order. */
typedef struct appeal_ids {
    fc_dict *ids;
} appeal_ids;

static int note_appeal(void *ud, const fc_case_entry *e) {
    appeal_ids *ai = ud;
    if (e->appeal.n > 0 && fc_dict_intern(ai->ids, e->appeal) < 0) {
        return FC_ENOMEM;
    }
    return 0;
}

static json_t *order_appeals(fc_hreq *q, const char *order_id, fc_err *err) {
    appeal_ids ai = {fc_dict_new()};
    json_t *a = json_array();
    int rc = FC_OK;
    if (ai.ids == NULL || a == NULL) {
        rc = fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
        goto out;
    }
    fc_case_filter f;
    fc_case_filter_init(&f);
    f.type = FC_CASE_APPEAL_FILED;
    f.order = fc_str_c(order_id);
    rc = fc_store_case_scan(q->s, &f, note_appeal, &ai, err);
    if (rc != FC_OK) {
        goto out;
    }
    int64_t now = (int64_t)time(NULL);
    for (uint32_t i = 0; i < fc_dict_count(ai.ids); i++) {
        fc_str id = fc_dict_get(ai.ids, i);
        fc_appeal ap;
        rc = fc_appeal_get(q->s, id.p, now, &ap, err);
        if (rc == FC_ENOTFOUND) {
            rc = FC_OK;
            continue;
        }
        if (rc != FC_OK) {
            goto out;
        }
        json_t *item = fc__http_appeal_brief(&ap);
        if (item == NULL || json_array_append_new(a, item) != 0) {
            rc = fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
            goto out;
        }
    }
out:
    fc_dict_free(ai.ids);
    if (rc != FC_OK) {
        json_decref(a);
        return NULL;
    }
    return a;
}

enum MHD_Result fc__http_get_order(fc_hreq *q) {
    const char *id = q->arg[0];
    fc_err err;
    fc_err_clear(&err);
    order_view v;
    memset(&v, 0, sizeof v);
    v.with_timeline = 1;
    int rc = order_load(q, id, &v, &err);
    if (rc != FC_OK) {
        return fc__http_send_err(q, &err);
    }
    fc_auth_resource res = {v.country, v.city, v.rider, v.merchant};
    if (!fc_auth_allows(q->p, FC_AUTH_READ_ORDER, &res)) {
        json_decref(v.out);
        /* riders and merchants never learn that another's order exists */
        if (q->p->role == FC_ROLE_RIDER || q->p->role == FC_ROLE_MERCHANT) {
            return fc__http_send_error(q, MHD_HTTP_NOT_FOUND, FC_HTTP_ENOT_FOUND, "no such order");
        }
        return fc__http_send_error(q, MHD_HTTP_FORBIDDEN, FC_HTTP_EFORBIDDEN,
                                   "this order is outside the token's scope");
    }
    json_t *decisions = order_decisions(q, id, &err);
    json_t *appeals = decisions != NULL ? order_appeals(q, id, &err) : NULL;
    if (decisions == NULL || appeals == NULL) {
        json_decref(decisions);
        json_decref(v.out);
        return fc__http_send_err(q, &err);
    }
    if (put(v.out, "decisions", decisions) || put(v.out, "appeals", appeals)) {
        json_decref(v.out);
        return fc__http_send_oom(q);
    }
    return fc__http_send_json(q, MHD_HTTP_OK, v.out);
}
