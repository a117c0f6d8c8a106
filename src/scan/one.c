/*
 * One order read by its id: its records (indexed), the caller's extra
 * events, and the weather and platform incident windows of its city (the
 * records that name no order, indexed), folded and visited as a whole scan
 * would.
 */
#include <string.h>

#include "scan/scan_internal.h"

typedef struct one {
    fc__visit *v;
    uint8_t *packed; /* the order's stored events, packed one after another */
    size_t len, cap, n_events;
    fc_str city; /* in `packed` */
} one;

/* Events of the order's records, kept packed (the store's views last only
 * during the call). Windows and other orders' events stored in its records
 * are left out, as an event-by-event scan does with them. */
static int on_order_record(void *ud, fc_str record_id, fc_str order, const fc_event *events,
                           size_t n) {
    (void)record_id;
    one *q = ud;
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

/* Windows of the order's city. */
static int on_unordered(void *ud, fc_str record_id, fc_str order, const fc_event *events,
                        size_t n) {
    (void)record_id;
    (void)order;
    one *q = ud;
    for (size_t i = 0; i < n; i++) {
        if (fc_str_eq(events[i].city, q->city) && fc__scan_add_window(q->v, &events[i]) != FC_OK) {
            return FC_ENOMEM;
        }
    }
    return 0;
}

int fc_scan_order_one(fc_store *s, const fc_scan_opts *o, fc_str order, const fc_event *extra,
                      size_t n_extra, fc_scan_cb cb, void *ud, fc_err *err) {
    int rc = FC_OK;
    fc_scan_opts defaults;
    fc_settings *own_settings = NULL;
    fc_ref *ref = fc_ref_new();
    fc__visit v = {0};
    one q = {.v = &v};
    if (o == NULL) {
        fc_scan_opts_init(&defaults);
        o = &defaults;
    }
    /* The filters are a whole scan's: one order asked for by id is visited
     * whatever its creation instant, city or status. */
    fc_scan_opts opts = *o;
    opts.from = opts.to = FC_TS_NONE;
    opts.city = NULL;
    opts.closed_only = 0;
    const fc_settings *settings = o->settings;
    if (settings == NULL) {
        own_settings = fc_settings_default();
        settings = own_settings;
    }
    v = (fc__visit){.opts = &opts, .settings = settings, .cb = cb, .ud = ud, .err = err};
    v.arena = fc_arena_new(0);
    v.city_names = fc_dict_new();
    if (ref == NULL || settings == NULL || v.arena == NULL || v.city_names == NULL) {
        rc = fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
        goto out;
    }
    rc = fc_store_load_ref(s, ref, err);
    if (rc != FC_OK) {
        goto out;
    }
    fc__scan_visit_ref(&v, ref);
    rc = fc_store_scan_order(s, order, on_order_record, &q, err);
    if (rc == FC_ENOMEM) {
        rc = fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
    }
    if (rc != FC_OK) {
        goto out;
    }
    if (q.n_events == 0) {
        rc = fc_err_set(err, FC_ENOTFOUND, NULL, 0, 0, "no events of order '%.*s'",
                        (int)(order.n > 200 ? 200 : order.n), order.p);
        goto out;
    }
    void *arr = NULL;
    if (fc_grow(&arr, &v.cap_evs, q.n_events + n_extra, sizeof *v.evs) != FC_OK) {
        rc = fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
        goto out;
    }
    v.evs = arr;
    for (size_t off = 0, i = 0; i < q.n_events; i++) {
        size_t used = 0;
        if (fc_event_unpack(q.packed + off, q.len - off, &v.evs[i], &used) != FC_OK) {
            rc = fc_err_set(err, FC_EINTERNAL, NULL, 0, 0, "events changed when packed again");
            goto out;
        }
        off += used;
        if (v.evs[i].type == FC_EV_ORDER_CREATED && v.evs[i].city.n > 0) {
            q.city = v.evs[i].city;
        }
    }
    for (size_t i = 0; i < n_extra; i++) {
        fc_event *e = &v.evs[q.n_events + i];
        *e = extra[i];
        if (e->order.n == 0 && fc_event_type_has_order(e->type)) {
            e->order = order; /* evidence filed for this order */
        }
        if (e->type == FC_EV_ORDER_CREATED && e->city.n > 0) {
            q.city = e->city;
        }
    }
    v.n_evs = q.n_events + n_extra;
    if (q.city.n > 0) {
        rc = fc_store_scan_unordered(s, on_unordered, &q, err);
        if (rc == FC_ENOMEM) {
            rc = fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
        }
        if (rc != FC_OK) {
            goto out;
        }
        fc__scan_sort_windows(&v);
    }
    rc = fc__scan_visit(&v, NULL);
    if (rc == FC__SCAN_STOP) {
        rc = v.stop_rc;
    } else if (rc == FC_OK && v.orders == 0) {
        rc = fc_err_set(err, FC_EINVAL, NULL, 0, 0,
                        "order '%.*s' cannot be folded (no creation event, or events of "
                        "another order)",
                        (int)(order.n > 200 ? 200 : order.n), order.p);
    }
out:
    fc__scan_visit_free(&v);
    fc_free(q.packed);
    fc_ref_free(ref);
    fc_settings_free(own_settings);
    return rc;
}
