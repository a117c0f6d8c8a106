/*
 * scan internals shared by the module's files: the scanner's state, the
 * windows of records that name no order, and the per-order visit.
 */
#ifndef FC_SCAN_INTERNAL_H
#define FC_SCAN_INTERNAL_H

#include "scan/scan.h"

/* A platform incident window of a city (zone empty = the whole city). */
typedef struct fc__incident {
    fc_str city, zone, reason;
    int64_t from, to; /* UTC s, [from, to) */
} fc__incident;

/* Per-city cache: thresholds, governing policy, reference row, windows. */
typedef struct fc__city_ctx {
    const fc_thresholds *th;
    const fc_policy *policy; /* NULL without opts.policies */
    const fc_city *ref;      /* NULL when the city is unknown */
    fc_str country;          /* "" when unknown */
    size_t w_lo, w_n;        /* weather windows of the city in the sorted array */
    size_t i_lo, i_n;        /* incident windows of the city in the sorted array */
} fc__city_ctx;

/* What visiting needs, whatever way the events were read. */
typedef struct fc__visit {
    const fc_scan_opts *opts;
    const fc_settings *settings; /* never NULL */
    const fc_ref *ref;           /* set with fc__scan_visit_ref */
    int has_zones, has_merchants, has_riders;
    fc_scan_cb cb;
    void *ud;
    fc_err *err;
    fc_arena *arena;     /* strings of the windows */
    fc_weather *weather; /* sorted by city once collected */
    size_t n_weather, cap_weather;
    fc__incident *incidents; /* sorted by city once collected */
    size_t n_incidents, cap_incidents;
    fc_dict *city_names;
    fc__city_ctx *cities;
    size_t cap_cities;
    fc_event *evs; /* the events of the order being folded */
    size_t n_evs, cap_evs;
    uint32_t *scratch;
    size_t cap_scratch;
    const int32_t *stacked; /* per order in visit sequence, NULL when not computed */
    size_t n_stacked;
    uint64_t seq;   /* orders met so far in this traversal (stacked index) */
    int carry_each; /* by id: fold whatever the city filter, tell opts.carry */
    int stop_rc;    /* the visitor's non-zero return */
    int64_t orders, skipped, filtered;
} fc__visit;

/* Positive results inside a scan (errors are negative): the visitor asked
 * to stop (its value is in stop_rc); an order left out by the city filter
 * before it was folded. */
#define FC__SCAN_STOP     4
#define FC__SCAN_FILTERED 5

/* Set the reference entities a visit looks rows up in (before any visit). */
void fc__scan_visit_ref(fc__visit *v, const fc_ref *ref);
/* Collect a weather or platform incident event (other types are ignored).
 * FC_OK or FC_ENOMEM. */
int fc__scan_add_window(fc__visit *v, const fc_event *e);
/* Sort the windows by city (call once every window is collected). */
void fc__scan_sort_windows(fc__visit *v);
/* Fold v->evs (one order) and visit it (v->cb may be NULL: fold only):
 * FC_OK, FC__SCAN_STOP, or an error (v->err filled). Counts the order as visited, skipped or
 * filtered; v->seq (the order's place in the traversal, for stacked) moves on by one. *visited (may
 * be NULL) is set when the visitor was called. */
int fc__scan_visit(fc__visit *v, int *visited);
/* Fold v->evs into *facts with the city's context; *cc gets the city,
 * *rider the reference row of the last rider to accept (NULL: none or
 * unknown; the final rider is most often the same). FC_OK; FC_EINVAL when
 * the fold refuses the events; FC_ENOMEM; FC__SCAN_FILTERED (nothing
 * folded) when `filter` is set and the order's city is not opts.city. */
int fc__scan_fold(fc__visit *v, int filter, fc_order_facts *facts, const fc__city_ctx **cc,
                  const fc_rider **rider);
/* Tell opts.carry (when set) of the folded order f: FC_OK or
 * FC__SCAN_STOP (its return in stop_rc). */
int fc__scan_tell_carry(fc__visit *v, const fc_order_facts *f);
/* Release everything v owns (not the borrowed fields). */
void fc__scan_visit_free(fc__visit *v);

#endif
