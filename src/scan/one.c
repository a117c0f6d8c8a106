/*
 * Orders read by their ids: each order's records (indexed), and for
 * fc_scan_order_one the caller's extra events, folded and visited as a
 * whole scan would. The reference entities and the weather and platform
 * incident windows (the records that name no order, indexed) are read once
 * per call, however many orders it visits.
 */
#include <string.h>

#include "scan/scan_internal.h"

typedef struct byid {
    fc__visit v;
    uint8_t *packed; /* the order's stored events, packed one after another */
    size_t len, cap, n_events;
    int64_t records, events; /* read so far */
} byid;

/* Events of the order's records, kept packed (the store's views last only
 * during the call). Windows and other orders' events stored in its records
 * are left out, as an event-by-event scan does with them. */
static int on_order_record(void *ud, fc_str record_id, fc_str order, const fc_event *events,
                           size_t n) {
    (void)record_id;
    byid *q = ud;
    q->records++;
    q->events += (int64_t)n;
    for (size_t i = 0; i < n; i++) {
        const fc_event *e = &events[i];
        if (e->type == FC_EV_WEATHER || e->type == FC_EV_PLATFORM_INCIDENT ||
            (e->order.n > 0 && !fc_str_eq(e->order, order))) {
            continue;
        }
        if (fc_event_pack(e, &q->packed, &q->len, &q->cap) != FC_OK) {
            return FC_ENOMEM;
        }
        q->n_events++;
    }
    return 0;
}

/* Every window, of every city: a visit takes its city's. */
static int on_unordered(void *ud, fc_str record_id, fc_str order, const fc_event *events,
                        size_t n) {
    (void)record_id;
    (void)order;
    byid *q = ud;
    for (size_t i = 0; i < n; i++) {
        if (fc__scan_add_window(&q->v, &events[i]) != FC_OK) {
            return FC_ENOMEM;
        }
    }
    return 0;
}

static int oom(fc_err *err) {
    return fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
}

/* Read `order`'s stored events into q->v.evs with room for `extra` more
 * after them. */
static int read_order(fc_store *s, byid *q, fc_str order, size_t extra, fc_err *err) {
    q->len = 0;
    q->n_events = 0;
    q->v.n_evs = 0;
    int rc = fc_store_scan_order(s, order, on_order_record, q, err);
    if (rc == FC_ENOMEM) {
        return oom(err);
    }
    if (rc != FC_OK) {
        return rc;
    }
    void *arr = q->v.evs;
    if (fc_grow(&arr, &q->v.cap_evs, q->n_events + extra + 1, sizeof *q->v.evs) != FC_OK) {
        return oom(err);
    }
    q->v.evs = arr;
    for (size_t off = 0, i = 0; i < q->n_events; i++) {
        size_t used = 0;
        if (fc_event_unpack(q->packed + off, q->len - off, &q->v.evs[i], &used) != FC_OK) {
            return fc_err_set(err, FC_EINTERNAL, NULL, 0, 0, "events changed when packed again");
        }
        off += used;
    }
    q->v.n_evs = q->n_events;
    return FC_OK;
}

/* The reference entities and every window, once. */
static int byid_open(fc_store *s, byid *q, const fc_scan_opts *o, const fc_settings *settings,
                     fc_ref *ref, fc_scan_cb cb, void *ud, fc_err *err) {
    q->v = (fc__visit){.opts = o, .settings = settings, .cb = cb, .ud = ud, .err = err};
    q->v.carry_each = 1;
    q->v.arena = fc_arena_new(0);
    q->v.city_names = fc_dict_new();
    if (q->v.arena == NULL || q->v.city_names == NULL) {
        return oom(err);
    }
    int rc = FC_OK;
    if (o->ref != NULL) {
        fc__scan_visit_ref(&q->v, o->ref);
    } else {
        rc = fc_store_load_ref(s, ref, err);
        if (rc != FC_OK) {
            return rc;
        }
        fc__scan_visit_ref(&q->v, ref);
    }
    rc = fc_store_scan_unordered(s, on_unordered, q, err);
    if (rc == FC_ENOMEM) {
        return oom(err);
    }
    fc__scan_sort_windows(&q->v);
    return rc;
}

static void byid_close(byid *q) {
    fc__scan_visit_free(&q->v);
    fc_free(q->packed);
}

/* Settings of the options, or built-in ones in *own (caller frees). */
static const fc_settings *settings_of(const fc_scan_opts *o, fc_settings **own) {
    *own = NULL;
    if (o->settings != NULL) {
        return o->settings;
    }
    *own = fc_settings_default();
    return *own;
}

int fc_scan_orders_by_id(fc_store *s, const fc_scan_opts *o, const fc_str *orders, size_t n,
                         fc_scan_cb cb, void *ud, fc_scan_stats *stats, fc_err *err) {
    fc_scan_opts defaults;
    if (o == NULL) {
        fc_scan_opts_init(&defaults);
        o = &defaults;
    }
    fc_settings *own_settings = NULL;
    const fc_settings *settings = settings_of(o, &own_settings);
    fc_ref *ref = fc_ref_new();
    byid q;
    memset(&q, 0, sizeof q);
    int rc = FC_OK;
    if (ref == NULL || settings == NULL) {
        rc = oom(err);
        goto out;
    }
    rc = byid_open(s, &q, o, settings, ref, cb, ud, err);
    for (size_t i = 0; i < n && rc == FC_OK; i++) {
        rc = read_order(s, &q, orders[i], 0, err);
        if (rc != FC_OK) {
            break;
        }
        if (q.n_events == 0) {
            q.v.skipped++;
            continue;
        }
        rc = fc__scan_visit(&q.v, NULL);
    }
    if (rc == FC__SCAN_STOP) {
        rc = q.v.stop_rc;
    }
    if (stats != NULL) {
        *stats = (fc_scan_stats){.records = q.records,
                                 .events = q.events,
                                 .orders = q.v.orders,
                                 .skipped = q.v.skipped,
                                 .filtered = q.v.filtered,
                                 .weather = (int64_t)q.v.n_weather,
                                 .incidents = (int64_t)q.v.n_incidents};
    }
out:
    byid_close(&q);
    fc_ref_free(ref);
    fc_settings_free(own_settings);
    return rc;
}

int fc_scan_order_one(fc_store *s, const fc_scan_opts *o, fc_str order, const fc_event *extra,
                      size_t n_extra, fc_scan_cb cb, void *ud, fc_err *err) {
    fc_scan_opts opts;
    if (o == NULL) {
        fc_scan_opts_init(&opts);
    } else {
        opts = *o;
    }
    /* The filters are a whole scan's: one order asked for by id is visited
     * whatever its creation instant, city or status. */
    opts.from = opts.to = FC_TS_NONE;
    opts.city = NULL;
    opts.closed_only = 0;
    fc_settings *own_settings = NULL;
    const fc_settings *settings = settings_of(&opts, &own_settings);
    fc_ref *ref = fc_ref_new();
    byid q;
    memset(&q, 0, sizeof q);
    int rc = FC_OK;
    if (ref == NULL || settings == NULL) {
        rc = oom(err);
        goto out;
    }
    rc = byid_open(s, &q, &opts, settings, ref, cb, ud, err);
    if (rc == FC_OK) {
        rc = read_order(s, &q, order, n_extra, err);
    }
    if (rc != FC_OK) {
        goto out;
    }
    if (q.n_events == 0) {
        rc = fc_err_set(err, FC_ENOTFOUND, NULL, 0, 0, "no events of order '%.*s'",
                        (int)(order.n > 200 ? 200 : order.n), order.p);
        goto out;
    }
    for (size_t i = 0; i < n_extra; i++) {
        fc_event *e = &q.v.evs[q.n_events + i];
        *e = extra[i];
        if (e->order.n == 0 && fc_event_type_has_order(e->type)) {
            e->order = order; /* evidence filed for this order */
        }
    }
    q.v.n_evs = q.n_events + n_extra;
    rc = fc__scan_visit(&q.v, NULL);
    if (rc == FC__SCAN_STOP) {
        rc = q.v.stop_rc;
    } else if (rc == FC_OK && q.v.orders == 0) {
        rc = fc_err_set(err, FC_EINVAL, NULL, 0, 0,
                        "order '%.*s' cannot be folded (no creation event, or events of "
                        "another order)",
                        (int)(order.n > 200 ? 200 : order.n), order.p);
    }
out:
    byid_close(&q);
    fc_ref_free(ref);
    fc_settings_free(own_settings);
    return rc;
}
