/*
 * Rule quality: for each rule, from the decisions recorded in the case log
 * and the appeals filed on them, how often it fired, how often it was
 * appealed and overturned, what it cost riders, and how its firing rate
 * spreads across rider capacity types and zones.
 *
 * Three passes: a scan of the closed orders matching the options (counts
 * per capacity type and per zone: the denominators of the rates), the
 * current decisions (a row per rule and incident), then the appeals, joined
 * to their decisions by id.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "adjudicate/adjudicate.h"
#include "appeal/appeal.h"
#include "ref/ref.h"

#define ZONE_MIN_ORDERS     50
#define CAPACITY_MIN_ORDERS 50

typedef struct quality_row {
    fc_rule_quality q;
    int64_t points_sum, amount_sum;
    int64_t by_capacity[FC_CAP__COUNT];
    int64_t *by_zone; /* n_zones counts, fired per zone */
    int64_t overturned_full;
} quality_row;

typedef struct quality_state {
    fc_dict *zones; /* "city/zone" of the closed orders */
    int64_t *zone_orders;
    size_t cap_zone_orders;
    int64_t capacity_orders[FC_CAP__COUNT];
    fc_dict *rule_keys; /* "<incident>/<rule id>" -> rows[] */
    quality_row *rows;
    size_t n_rows, cap_rows;
    fc_dict *decisions; /* decision id -> index in decided[] */
    struct decided {
        uint32_t row;
        uint8_t verdict; /* 0 not appealed, 1 appealed, 2 partial, 3 overturned */
    } * decided;
    size_t cap_decided;
} quality_state;

/* "city/zone" into buf; returns its view. */
static fc_str zone_key(const char *city, size_t city_n, const char *zone, size_t zone_n,
                       char buf[160]) {
    int n = snprintf(buf, 160, "%.*s/%.*s", (int)(city_n > 64 ? 64 : city_n), city,
                     (int)(zone_n > 64 ? 64 : zone_n), zone);
    return fc_str_make(buf, n > 0 && n < 160 ? (size_t)n : 0);
}

static int count_order(void *ud, const fc_scan_order *so) {
    quality_state *st = ud;
    const fc_order_facts *f = so->facts;
    if (f->status == FC_ORDER_OPEN) {
        return 0;
    }
    st->capacity_orders[fc_capacity_from(so->input->capacity)]++;
    char buf[160];
    int64_t id =
        fc_dict_intern(st->zones, zone_key(f->city.p, f->city.n, f->zone.p, f->zone.n, buf));
    if (id < 0) {
        return FC_ENOMEM;
    }
    if ((size_t)id >= st->cap_zone_orders) {
        size_t old = st->cap_zone_orders;
        if (fc_grow((void **)&st->zone_orders, &st->cap_zone_orders, (size_t)id + 1,
                    sizeof *st->zone_orders) != FC_OK) {
            return FC_ENOMEM;
        }
        memset(st->zone_orders + old, 0, (st->cap_zone_orders - old) * sizeof *st->zone_orders);
    }
    st->zone_orders[id]++;
    return 0;
}

static quality_row *row_for(quality_state *st, const fc_decision *d) {
    char buf[96];
    int n = snprintf(buf, sizeof buf, "%s/%s", fc_incident_name(d->incident), d->rule_id);
    int64_t id = fc_dict_intern(st->rule_keys,
                                fc_str_make(buf, n > 0 && (size_t)n < sizeof buf ? (size_t)n : 0));
    if (id < 0) {
        return NULL;
    }
    if ((size_t)id == st->n_rows) {
        if (fc_grow((void **)&st->rows, &st->cap_rows, st->n_rows + 1, sizeof *st->rows) != FC_OK) {
            return NULL;
        }
        quality_row *r = &st->rows[st->n_rows];
        memset(r, 0, sizeof *r);
        size_t nz = fc_dict_count(st->zones);
        r->by_zone = fc_calloc(nz > 0 ? nz : 1, sizeof *r->by_zone);
        if (r->by_zone == NULL) {
            return NULL;
        }
        st->n_rows++;
        snprintf(r->q.rule_id, sizeof r->q.rule_id, "%s", d->rule_id);
        r->q.incident = d->incident;
        r->q.liable = d->liable;
    }
    return &st->rows[id];
}

static int count_decision(void *ud, const fc_case_decision *cd) {
    quality_state *st = ud;
    quality_row *r = row_for(st, &cd->d);
    if (r == NULL) {
        return FC_ENOMEM;
    }
    r->q.fired++;
    r->points_sum += cd->d.consequence.rider_points;
    r->amount_sum += cd->d.consequence.rider_amount_minor;
    r->by_capacity[fc_capacity_from(fc_str_c(cd->capacity))]++;
    char buf[160];
    int64_t z = fc_dict_find(st->zones,
                             zone_key(cd->city, strlen(cd->city), cd->zone, strlen(cd->zone), buf));
    if (z >= 0) {
        r->by_zone[z]++;
    }
    int64_t id = fc_dict_intern(st->decisions, fc_str_c(cd->id));
    if (id < 0) {
        return FC_ENOMEM;
    }
    if (fc_grow((void **)&st->decided, &st->cap_decided, (size_t)id + 1, sizeof *st->decided) !=
        FC_OK) {
        return FC_ENOMEM;
    }
    st->decided[id].row = (uint32_t)(r - st->rows);
    st->decided[id].verdict = 0;
    return 0;
}

/* Record the appeals: the strongest verdict per decision counts. */
static void count_appeals(quality_state *st, const fc_appeal *a, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (a[i].kind != FC_APPEAL_KIND_APPEAL) {
            continue;
        }
        int64_t id = fc_dict_find(st->decisions, fc_str_c(a[i].decision));
        if (id < 0) {
            continue; /* a superseded decision, or outside the period */
        }
        uint8_t v = a[i].state == FC_APPEAL_OVERTURNED ? 3
                    : a[i].state == FC_APPEAL_PARTIAL  ? 2
                                                       : 1;
        if (v > st->decided[id].verdict) {
            st->decided[id].verdict = v;
        }
    }
    uint32_t nd = fc_dict_count(st->decisions);
    for (uint32_t id = 0; id < nd; id++) {
        uint8_t v = st->decided[id].verdict;
        quality_row *r = &st->rows[st->decided[id].row];
        r->q.appealed += v > 0;
        r->q.partial += v == 2;
        r->overturned_full += v == 3;
    }
}

/* Rates, spreads and flags of one row. */
static void finish_row(const quality_state *st, quality_row *r) {
    fc_rule_quality *q = &r->q;
    q->overturned = r->overturned_full + q->partial / 2;
    q->overturn_rate = q->appealed > 0 ? ((double)r->overturned_full + 0.5 * (double)q->partial) /
                                             (double)q->appealed
                                       : 0.0;
    q->avg_points = q->fired > 0 ? (double)r->points_sum / (double)q->fired : 0.0;
    q->avg_amount_minor = q->fired > 0 ? (double)r->amount_sum / (double)q->fired : 0.0;
    double lo = INFINITY, hi = -1.0;
    int types = 0;
    for (int c = 0; c < FC_CAP__COUNT; c++) {
        int64_t orders = st->capacity_orders[c];
        q->rate_by_capacity[c] =
            orders > 0 ? 1000.0 * (double)r->by_capacity[c] / (double)orders : 0.0;
        if (c == FC_CAP_UNKNOWN || orders < CAPACITY_MIN_ORDERS) {
            continue;
        }
        types++;
        lo = q->rate_by_capacity[c] < lo ? q->rate_by_capacity[c] : lo;
        hi = q->rate_by_capacity[c] > hi ? q->rate_by_capacity[c] : hi;
    }
    q->capacity_ratio = types < 2 ? 0.0 : lo > 0 ? hi / lo : hi > 0 ? INFINITY : 1.0;
    int zones = 0;
    q->zone_rate_max = q->zone_rate_min = 0.0;
    uint32_t nz = fc_dict_count(st->zones);
    for (uint32_t z = 0; z < nz; z++) {
        if (st->zone_orders[z] < ZONE_MIN_ORDERS) {
            continue;
        }
        double rate = 1000.0 * (double)r->by_zone[z] / (double)st->zone_orders[z];
        fc_str key = fc_dict_get(st->zones, z);
        if (zones == 0 || rate > q->zone_rate_max) {
            q->zone_rate_max = rate;
            fc_str_cpy(q->zone_max, sizeof q->zone_max, key);
        }
        if (zones == 0 || rate < q->zone_rate_min) {
            q->zone_rate_min = rate;
            fc_str_cpy(q->zone_min, sizeof q->zone_min, key);
        }
        zones++;
    }
    q->flagged = 0;
    if (q->liable == FC_PARTY_RIDER && q->fired >= FC_RULE_FLAG_MIN_FIRED &&
        q->capacity_ratio >= 2.0) {
        q->flagged |= FC_RULE_FLAG_CAPACITY;
    }
    if (q->appealed >= FC_RULE_FLAG_MIN_APPEALS && q->overturn_rate >= 0.30) {
        q->flagged |= FC_RULE_FLAG_OVERTURN;
    }
}

static int cmp_quality(const void *pa, const void *pb) {
    const fc_rule_quality *a = pa, *b = pb;
    if (a->fired != b->fired) {
        return a->fired > b->fired ? -1 : 1;
    }
    if (a->incident != b->incident) {
        return a->incident < b->incident ? -1 : 1;
    }
    return strcmp(a->rule_id, b->rule_id);
}

int fc_adj_quality(fc_store *s, const fc_adj_opts *o, fc_rule_quality **out, size_t *n,
                   fc_err *err) {
    int rc = FC_OK;
    fc_appeal *appeals = NULL;
    size_t n_appeals = 0;
    fc_rule_quality *rows = NULL;
    quality_state st;
    memset(&st, 0, sizeof st);
    if (out != NULL) {
        *out = NULL;
    }
    if (n != NULL) {
        *n = 0;
    }
    if (s == NULL || o == NULL || out == NULL || n == NULL) {
        return fc_err_set(err, FC_EINVAL, "", 0, 0, "rule quality needs a store and options");
    }
    st.zones = fc_dict_new();
    st.rule_keys = fc_dict_new();
    st.decisions = fc_dict_new();
    if (st.zones == NULL || st.rule_keys == NULL || st.decisions == NULL) {
        rc = FC_ENOMEM;
        goto out;
    }
    fc_scan_opts so;
    fc_scan_opts_init(&so);
    so.from = o->from;
    so.to = o->to;
    so.city = o->city;
    so.closed_only = 1;
    so.progress = o->progress;
    so.progress_ud = o->progress_ud;
    rc = fc_scan_orders(s, &so, count_order, &st, NULL, err);
    if (rc != FC_OK) {
        goto out;
    }
    rc = fc_adj_decisions(s, o, count_decision, &st, err);
    if (rc != FC_OK) {
        goto out;
    }
    fc_appeal_query q;
    fc_appeal_query_init(&q);
    q.kind = FC_APPEAL_KIND_APPEAL;
    q.city = o->city != NULL && o->city[0] != '\0' ? o->city : NULL;
    rc = fc_appeal_list(s, &q, o->now, &appeals, &n_appeals, err);
    if (rc != FC_OK) {
        goto out;
    }
    count_appeals(&st, appeals, n_appeals);
    rows = fc_malloc((st.n_rows > 0 ? st.n_rows : 1) * sizeof *rows);
    if (rows == NULL) {
        rc = FC_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < st.n_rows; i++) {
        finish_row(&st, &st.rows[i]);
        rows[i] = st.rows[i].q;
    }
    qsort(rows, st.n_rows, sizeof *rows, cmp_quality);
    *out = rows;
    *n = st.n_rows;
    rows = NULL;
out:
    if (rc == FC_ENOMEM) {
        fc_err_set(err, FC_ENOMEM, "", 0, 0, "out of memory computing rule quality");
    }
    fc_free(rows);
    fc_free(appeals);
    for (size_t i = 0; i < st.n_rows; i++) {
        fc_free(st.rows[i].by_zone);
    }
    fc_free(st.rows);
    fc_free(st.zone_orders);
    fc_free(st.decided);
    fc_dict_free(st.zones);
    fc_dict_free(st.rule_keys);
    fc_dict_free(st.decisions);
    return rc;
}
