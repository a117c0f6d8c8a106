/*
 * scan: every order of the store, folded, with the context the judge needs.
 *
 * A scan reads the event log, groups each order's events (its CSV row, then
 * extra JSON Lines events ingested later, in any order), collects the
 * windows of records that name no order (weather; platform incidents such as
 * a dispatch outage), folds each order with its city's thresholds and
 * weather and hands the visitor the order's facts, its events and the
 * context a policy reads (fc_policy_input): the country, the rider's
 * capacity, the merchant's kind, the zone's kind, the orders stacked on the
 * rider, whether a dispatch outage covered the order's creation.
 *
 * The KPI load (kpi/load.c), the judge run, replays and appeal reviews all
 * read orders through here, so they all see the same facts.
 *
 * Context computed across orders:
 * - stacked_orders: how many other orders of the same rider were being
 *   carried at the same time: their [picked_up_at, delivered_at) overlaps this
 *   order's (half-open: an order picked up the instant another is delivered
 *   does not overlap it; an order whose delivery is not after its pickup
 *   overlaps nothing). Counted over every order of the store, whatever the
 *   filters. Only when fc_scan_opts.context is set (it costs a second fold
 *   of every order before the visits, docs/internals/scan.md);
 *   FC_INT_NONE otherwise, and for an order never picked up or delivered.
 * - dispatch_outage: 1 when the order was created inside a platform_incident
 *   window [from, to) with reason "dispatch_outage" of its city (zone empty,
 *   or the order's zone), else 0. Always computed.
 * The other context comes from the reference rows: country of the city;
 * capacity of the order's final rider (facts.rider); kind of its merchant
 * and of its zone; each empty when the row is unknown.
 *
 * Thread safety: a scan uses its store connection only; concurrent scans
 * need their own connections. Visitors are called on the scanning thread.
 */
#ifndef FC_SCAN_H
#define FC_SCAN_H

#include "core/core.h"
#include "event/event.h"
#include "order/order.h"
#include "policy/policy.h"
#include "ref/ref.h"
#include "store/store.h"

typedef struct fc_scan_opts {
    const fc_settings *settings;    /* thresholds per city; NULL: built-in defaults */
    const fc_policy_pack *policies; /* when set, an order's thresholds are those of the
                                       policy governing it (its on_time section) */
    int64_t from, to;               /* only orders created in [from, to); FC_TS_NONE open */
    const char *city;               /* only this city; NULL or "": every city */
    int context;                    /* compute stacked_orders (see above) */
    int closed_only;                /* only orders that are delivered, cancelled or
                                       undeliverable */
    /* Progress, called every 65,536 records read and every 65,536 orders
     * visited, and once at the end, with the orders visited so far and the
     * records read out of the total; may be NULL. A two-pass scan reads the
     * log twice (docs/internals/scan.md): records_read counts the first
     * pass, then stays at the total while the second visits. */
    void (*progress)(void *ud, int64_t orders, int64_t records_read, int64_t records_total);
    void *progress_ud;
    /* Called (with the visitor's ud) when a scan must visit every order
     * again from the start: it found, after visiting orders, a record whose
     * events are not all its order's (docs/internals/scan.md). A visitor
     * that accumulates (the KPI load's fact table) drops what it gathered; a
     * non-zero return stops the scan and is returned. When NULL, the orders
     * already visited are not visited again (their facts may miss the
     * events of such records). */
    int (*restart)(void *ud);
    /* Carries, may be NULL: called with carry_ud for each order folded,
     * with its id, its final rider ("" none) and its picked_up_at and
     * delivered_at (FC_TS_NONE when missing) as the fold gives them. A
     * whole scan calls it only with `context`, in the pass that computes
     * stacked_orders, for every order of the store whatever the filters
     * (orders without a creation event too: they count as stacked with
     * others); after a restart, again. fc_scan_orders_by_id calls it for
     * each order it folds, before its visit, whatever the filters. A
     * non-zero return stops the scan and is returned. */
    int (*carry)(void *ud, fc_str order, fc_str rider, int64_t picked_up_at, int64_t delivered_at);
    void *carry_ud;
    /* Stacked orders from the caller, may be NULL: when a scan does not
     * compute stacked_orders itself (no `context`, or
     * fc_scan_orders_by_id), called with stacked_ud for each order about
     * to be visited; *out (preset to FC_INT_NONE) gets its stacked_orders.
     * A non-zero return stops the scan and is returned. */
    int (*stacked)(void *ud, const fc_order_facts *f, int32_t *out);
    void *stacked_ud;
    /* Reference entities already loaded (borrowed, unchanged during the
     * scan), for callers that read the store often; NULL: the scan loads
     * them from the store (fc_store_load_ref). */
    const fc_ref *ref;
} fc_scan_opts;
/* Defaults: every order, built-in thresholds, no context, no progress. */
void fc_scan_opts_init(fc_scan_opts *o);

/* One folded order, as a visitor sees it. Everything is borrowed and valid
 * only during the call. */
typedef struct fc_scan_order {
    const fc_order_facts *facts;
    const fc_event *events; /* the order's events, in no particular order */
    size_t n_events;
    const fc_policy_input *input;    /* facts plus context, ready for fc_judge */
    const fc_thresholds *thresholds; /* the ones the fold used */
    const fc_policy *policy;         /* the governing policy when opts.policies is set, else NULL */
    const fc_city *city;             /* reference entities, NULL when unknown */
    const fc_zone *zone;
    const fc_merchant *merchant;
    const fc_rider *rider;
    const fc_ref *ref; /* all reference entities of the store */
} fc_scan_order;

/* A visitor: a non-zero return stops the scan and is returned by it. */
typedef int (*fc_scan_cb)(void *ud, const fc_scan_order *o);

/* When a scan started again (event by event), the counts are those of the
 * last reading, except `orders`, which counts every visit. */
typedef struct fc_scan_stats {
    int64_t records;   /* records read */
    int64_t events;    /* events read */
    int64_t orders;    /* orders visited */
    int64_t skipped;   /* orders not visited: the fold refused them, or no creation event */
    int64_t filtered;  /* orders left out by from/to, city or closed_only */
    int64_t weather;   /* weather windows collected */
    int64_t incidents; /* platform incident windows collected */
} fc_scan_stats;

/* Visit every order of the store (matching the options), each once, in the
 * order in which it first appears in the log. Returns FC_OK, the visitor's
 * non-zero return, or an error (err filled). stats may be NULL. Memory
 * follows the KPI load's budget (FULCRUM_LOAD_HOLD_MB, docs/kpis.md). */
int fc_scan_orders(fc_store *s, const fc_scan_opts *o, fc_scan_cb cb, void *ud,
                   fc_scan_stats *stats, fc_err *err);

/* Visit the orders named in orders[0..n) (borrowed), each read by its id
 * (indexed; no whole scan), in that sequence (an id named twice is visited
 * twice). The reference entities and the weather and platform incident
 * windows are read once for the call. The context is a whole scan's,
 * except stacked_orders: opts.stacked supplies it, else FC_INT_NONE. The
 * filters (from, to, city, closed_only) apply as in a whole scan. An
 * unknown order (no stored event), one the fold refuses and one without a
 * creation event are counted as skipped and not visited; opts.carry is
 * still told of a folded one. cb may be NULL (fold only: for
 * opts.carry). Returns FC_OK, the visitor's (or a callback's) non-zero
 * return, or a store error. stats may be NULL. */
int fc_scan_orders_by_id(fc_store *s, const fc_scan_opts *o, const fc_str *orders, size_t n,
                         fc_scan_cb cb, void *ud, fc_scan_stats *stats, fc_err *err);

/* A reader of orders by id, for visiting several sets in turn (the judge
 * reads the orders an ingest touched, then visits them again with the
 * orders stacked with them): the reference entities and the windows are
 * read once at the open, and an order is read from the store once, its
 * events kept for later visits (the store must not change in between: one
 * transaction). fc_scan_reader_visit is fc_scan_orders_by_id with the
 * options `o` (NULL: those of the open), except their settings, policies
 * and ref, which stay those of the open (borrowed until the close).
 * *out is closed with fc_scan_reader_close (NULL is a no-op). */
typedef struct fc_scan_reader fc_scan_reader;
int fc_scan_reader_open(fc_store *s, const fc_scan_opts *o, fc_scan_reader **out, fc_err *err);
int fc_scan_reader_visit(fc_scan_reader *rd, const fc_scan_opts *o, const fc_str *orders, size_t n,
                         fc_scan_cb cb, void *ud, fc_scan_stats *stats, fc_err *err);
void fc_scan_reader_close(fc_scan_reader *rd);

/* Visit one order, read by its id (indexed; no whole scan), with `extra`
 * events added to its stored ones (an appeal's new evidence, borrowed; may
 * be NULL when n_extra is 0; an extra event without `order` is taken as
 * this order's). The context is the same as a whole scan gives, except
 * stacked_orders, which is FC_INT_NONE (it needs the rider's other orders;
 * a caller that knows it sets it in a copy of the input). The options'
 * thresholds and policies apply; its filters (from, to, city, closed_only)
 * do not: the order asked for is visited. It is fc_scan_orders_by_id on one
 * order (opts.carry and opts.stacked apply). Returns FC_OK, the visitor's
 * non-zero return, FC_ENOTFOUND when the store holds no event of that
 * order, FC_EINVAL when its events cannot be folded (no creation event, or
 * extra events of another order), or a store error. */
int fc_scan_order_one(fc_store *s, const fc_scan_opts *o, fc_str order, const fc_event *extra,
                      size_t n_extra, fc_scan_cb cb, void *ud, fc_err *err);

#endif
