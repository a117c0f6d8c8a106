/*
 * Folding one order and handing it to the visitor with its context: the
 * part of a scan that does not depend on how the events were read (a whole
 * scan, or one order read by its id).
 */
#include <stdlib.h>
#include <string.h>

#include "scan/scan_internal.h"

void fc_scan_opts_init(fc_scan_opts *o) {
    memset(o, 0, sizeof *o);
    o->from = FC_TS_NONE;
    o->to = FC_TS_NONE;
}

int fc__scan_add_window(fc__visit *v, const fc_event *e) {
    if ((e->type != FC_EV_WEATHER && e->type != FC_EV_PLATFORM_INCIDENT) || e->city.n == 0 ||
        e->from == FC_TS_NONE || e->to == FC_TS_NONE) {
        return FC_OK;
    }
    fc_str city = fc_arena_str(v->arena, e->city);
    fc_str zone = e->zone.n > 0 ? fc_arena_str(v->arena, e->zone) : FC_STR_NULL;
    if (city.p == NULL || (e->zone.n > 0 && zone.p == NULL)) {
        return FC_ENOMEM;
    }
    if (e->type == FC_EV_WEATHER) {
        void *arr = v->weather;
        if (fc_grow(&arr, &v->cap_weather, v->n_weather + 1, sizeof *v->weather) != FC_OK) {
            return FC_ENOMEM;
        }
        v->weather = arr;
        v->weather[v->n_weather++] =
            (fc_weather){city, zone, e->from, e->to, e->severity == FC_INT_NONE ? 0 : e->severity};
        return FC_OK;
    }
    fc_str reason = e->reason.n > 0 ? fc_arena_str(v->arena, e->reason) : FC_STR_NULL;
    if (e->reason.n > 0 && reason.p == NULL) {
        return FC_ENOMEM;
    }
    void *arr = v->incidents;
    if (fc_grow(&arr, &v->cap_incidents, v->n_incidents + 1, sizeof *v->incidents) != FC_OK) {
        return FC_ENOMEM;
    }
    v->incidents = arr;
    v->incidents[v->n_incidents++] = (fc__incident){city, zone, reason, e->from, e->to};
    return FC_OK;
}

static int cmp_weather_city(const void *a, const void *b) {
    return fc_str_cmp(((const fc_weather *)a)->city, ((const fc_weather *)b)->city);
}

static int cmp_incident_city(const void *a, const void *b) {
    return fc_str_cmp(((const fc__incident *)a)->city, ((const fc__incident *)b)->city);
}

void fc__scan_sort_windows(fc__visit *v) {
    if (v->n_weather > 1) {
        qsort(v->weather, v->n_weather, sizeof *v->weather, cmp_weather_city);
    }
    if (v->n_incidents > 1) {
        qsort(v->incidents, v->n_incidents, sizeof *v->incidents, cmp_incident_city);
    }
}

/* [*lo, *lo + *n) of the windows of `city` in an array sorted by city. */
#define CITY_RANGE(arr, count, city, lo_out, n_out)                                                \
    do {                                                                                           \
        size_t lo_ = 0;                                                                            \
        while (lo_ < (count) && fc_str_cmp((arr)[lo_].city, (city)) < 0) {                         \
            lo_++;                                                                                 \
        }                                                                                          \
        size_t hi_ = lo_;                                                                          \
        while (hi_ < (count) && fc_str_eq((arr)[hi_].city, (city))) {                              \
            hi_++;                                                                                 \
        }                                                                                          \
        (lo_out) = lo_;                                                                            \
        (n_out) = (city).n > 0 ? hi_ - lo_ : 0;                                                    \
    } while (0)

/* The cached context of `city`, made at its first order. NULL on OOM. */
void fc__scan_visit_ref(fc__visit *v, const fc_ref *ref) {
    v->ref = ref;
    v->has_zones = fc_ref_zone_count(ref) > 0;
    v->has_merchants = fc_ref_merchant_count(ref) > 0;
    v->has_riders = fc_ref_rider_count(ref) > 0;
}

static const fc__city_ctx *city_ctx(fc__visit *v, fc_str city) {
    uint32_t before = fc_dict_count(v->city_names);
    int64_t cid = fc_dict_intern(v->city_names, city);
    if (cid < 0) {
        return NULL;
    }
    if ((uint32_t)cid < before) {
        return &v->cities[cid];
    }
    void *carr = v->cities;
    if (fc_grow(&carr, &v->cap_cities, (size_t)cid + 1, sizeof *v->cities) != FC_OK) {
        return NULL;
    }
    v->cities = carr;
    fc__city_ctx *cc = &v->cities[cid];
    memset(cc, 0, sizeof *cc);
    cc->ref = city.n > 0 ? fc_ref_city(v->ref, city) : NULL;
    cc->country = cc->ref != NULL ? fc_str_c(cc->ref->country) : fc_str_make("", 0);
    if (v->opts->policies != NULL) {
        cc->policy = fc_policy_for(v->opts->policies, cc->country, city);
        cc->th = fc_policy_thresholds(cc->policy);
    } else {
        char cname[256];
        fc_str_cpy(cname, sizeof cname, city);
        cc->th = fc_settings_for(v->settings, cc->ref != NULL ? cc->ref->country : "", cname);
    }
    CITY_RANGE(v->weather, v->n_weather, city, cc->w_lo, cc->w_n);
    CITY_RANGE(v->incidents, v->n_incidents, city, cc->i_lo, cc->i_n);
    return cc;
}

int fc__scan_fold(fc__visit *v, int filter, fc_order_facts *facts, const fc__city_ctx **out,
                  const fc_rider **rider_out) {
    const fc_event *evs = v->evs;
    size_t n = v->n_evs;
    void *sarr = v->scratch;
    if (fc_grow(&sarr, &v->cap_scratch, n + 1, sizeof *v->scratch) != FC_OK) {
        return FC_ENOMEM;
    }
    v->scratch = sarr;
    /* The order's city (for thresholds and weather) and its rider (for
     * tenure), before folding. */
    fc_str city = FC_STR_NULL, rider = FC_STR_NULL;
    int64_t rider_ts = INT64_MIN;
    for (size_t i = 0; i < n; i++) {
        if (evs[i].type == FC_EV_ORDER_CREATED && evs[i].city.n > 0) {
            city = evs[i].city;
        } else if (evs[i].type == FC_EV_ORDER_ACCEPTED && evs[i].rider.n > 0 &&
                   evs[i].ts >= rider_ts) {
            rider = evs[i].rider;
            rider_ts = evs[i].ts;
        }
    }
    if (filter && city.n > 0 && v->opts->city != NULL && v->opts->city[0] != '\0' &&
        !fc_str_eqc(city, v->opts->city)) {
        return FC__SCAN_FILTERED; /* no need to fold it */
    }
    const fc__city_ctx *cc = city_ctx(v, city);
    if (cc == NULL) {
        return FC_ENOMEM;
    }
    *out = cc;
    const fc_rider *rd = rider.n > 0 && v->has_riders ? fc_ref_rider(v->ref, rider) : NULL;
    *rider_out = rd;
    fc_fold_ctx ctx = {
        .thresholds = cc->th,
        .weather = cc->w_n > 0 ? &v->weather[cc->w_lo] : NULL,
        .n_weather = cc->w_n,
        .rider_start_date = rd != NULL ? rd->start_date : INT32_MIN,
    };
    return fc_order_fold(evs, n, &ctx, v->scratch, facts) == FC_OK ? FC_OK : FC_EINVAL;
}

/* 1 when a dispatch outage window of the order's city (whole city, or the
 * order's zone) covers its creation. */
static int32_t dispatch_outage(const fc__visit *v, const fc__city_ctx *cc,
                               const fc_order_facts *f) {
    for (size_t i = cc->i_lo; i < cc->i_lo + cc->i_n; i++) {
        const fc__incident *w = &v->incidents[i];
        if (f->created_at >= w->from && f->created_at < w->to &&
            fc_str_eqc(w->reason, "dispatch_outage") &&
            (w->zone.n == 0 || fc_str_eq(w->zone, f->zone))) {
            return 1;
        }
    }
    return 0;
}

static int filtered_out(const fc_scan_opts *o, const fc_order_facts *f) {
    return (o->from != FC_TS_NONE && f->created_at < o->from) ||
           (o->to != FC_TS_NONE && f->created_at >= o->to) ||
           (o->closed_only && f->status == FC_ORDER_OPEN) ||
           (o->city != NULL && o->city[0] != '\0' && !fc_str_eqc(f->city, o->city));
}

int fc__scan_visit(fc__visit *v, int *visited) {
    uint64_t seq = v->seq++;
    if (visited != NULL) {
        *visited = 0;
    }
    fc_order_facts facts;
    const fc__city_ctx *cc = NULL;
    const fc_rider *rider = NULL;
    int rc = fc__scan_fold(v, !v->carry_each, &facts, &cc, &rider);
    if (rc == FC_ENOMEM) {
        return fc_err_set(v->err, FC_ENOMEM, NULL, 0, 0, "out of memory");
    }
    if (rc == FC__SCAN_FILTERED) {
        v->filtered++;
        return FC_OK;
    }
    if (rc == FC_OK && v->carry_each) {
        rc = fc__scan_tell_carry(v, &facts);
        if (rc != FC_OK) {
            return rc;
        }
    }
    if (rc != FC_OK || facts.created_at == FC_TS_NONE) {
        v->skipped++;
        return FC_OK;
    }
    if (filtered_out(v->opts, &facts)) {
        v->filtered++;
        return FC_OK;
    }
    int32_t stacked = FC_INT_NONE;
    if (v->stacked != NULL) {
        stacked = seq < v->n_stacked ? v->stacked[seq] : FC_INT_NONE;
    } else if (v->opts->stacked != NULL) {
        rc = v->opts->stacked(v->opts->stacked_ud, &facts, &stacked);
        if (rc != 0) {
            v->stop_rc = rc;
            return FC__SCAN_STOP;
        }
    }
    /* No lookup where the reference has no row of the kind. */
    const fc_zone *zone =
        facts.zone.n > 0 && v->has_zones ? fc_ref_zone(v->ref, facts.city, facts.zone) : NULL;
    const fc_merchant *merchant =
        facts.merchant.n > 0 && v->has_merchants ? fc_ref_merchant(v->ref, facts.merchant) : NULL;
    if (rider == NULL ? facts.rider.n > 0 && v->has_riders
                      : !fc_str_eqc(facts.rider, rider->rider)) {
        rider = facts.rider.n > 0 ? fc_ref_rider(v->ref, facts.rider) : NULL;
    }
    fc_policy_input in = {
        .facts = &facts,
        .country = cc->country,
        .capacity = rider != NULL && rider->capacity != FC_CAP_UNKNOWN
                        ? fc_str_c(fc_capacity_name(rider->capacity))
                        : fc_str_make("", 0),
        .merchant_kind = merchant != NULL ? fc_str_c(merchant->kind) : fc_str_make("", 0),
        .zone_kind = zone != NULL && zone->kind != FC_ZONE_UNKNOWN
                         ? fc_str_c(fc_zone_kind_name(zone->kind))
                         : fc_str_make("", 0),
        .stacked_orders = stacked,
        .dispatch_outage = dispatch_outage(v, cc, &facts),
    };
    fc_scan_order o = {
        .facts = &facts,
        .events = v->evs,
        .n_events = v->n_evs,
        .input = &in,
        .thresholds = cc->th,
        .policy = cc->policy,
        .city = cc->ref,
        .zone = zone,
        .merchant = merchant,
        .rider = rider,
        .ref = v->ref,
    };
    v->orders++;
    if (visited != NULL) {
        *visited = 1;
    }
    rc = v->cb != NULL ? v->cb(v->ud, &o) : 0;
    if (rc != 0) {
        v->stop_rc = rc;
        return FC__SCAN_STOP;
    }
    return FC_OK;
}

int fc__scan_tell_carry(fc__visit *v, const fc_order_facts *f) {
    const fc_scan_opts *o = v->opts;
    if (o->carry == NULL) {
        return FC_OK;
    }
    int rc = o->carry(o->carry_ud, f->order, f->rider, f->picked_up_at, f->delivered_at);
    if (rc != 0) {
        v->stop_rc = rc;
        return FC__SCAN_STOP;
    }
    return FC_OK;
}

void fc__scan_visit_free(fc__visit *v) {
    fc_arena_free(v->arena);
    fc_free(v->weather);
    fc_free(v->incidents);
    fc_dict_free(v->city_names);
    fc_free(v->cities);
    fc_free(v->evs);
    fc_free(v->scratch);
    memset(v, 0, sizeof *v);
}
