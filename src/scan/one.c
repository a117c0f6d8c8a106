/*
 * Orders read by their ids: each order's records (indexed), and for
 * fc_scan_order_one the caller's extra events, folded and visited as a
 * whole scan would. The reference entities and the weather and platform
 * incident windows (the records that name no order, indexed) are read once
 * per call, however many orders it visits.
 */
#include <string.h>

#include "scan/scan_internal.h"

/* Where an order read before sits in `packed`. */
typedef struct held_order {
    size_t off, len, n_events;
} held_order;

typedef struct byid {
    fc__visit v;
    uint8_t *packed; /* the stored events of the orders read, packed one after another */
    size_t len, cap, n_events;
    int64_t records, events; /* read so far */
    fc_dict *held;           /* ids of the orders read (a reader keeps them) */
    held_order *at;          /* per id of `held` */
    size_t cap_at;
    fc_ref *own_ref;
    fc_settings *own_settings;
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
 * after them; q->n_events gets their number. An order a reader read before
 * is not read again. */
static int read_order(fc_store *s, byid *q, fc_str order, size_t extra, fc_err *err) {
    held_order h = {q->len, 0, 0};
    int64_t known = q->held != NULL ? fc_dict_find(q->held, order) : -1;
    if (known >= 0) {
        h = q->at[known];
    } else {
        q->n_events = 0;
        int rc = fc_store_scan_order(s, order, on_order_record, q, err);
        if (rc == FC_ENOMEM) {
            return oom(err);
        }
        if (rc != FC_OK) {
            return rc;
        }
        h.len = q->len - h.off;
        h.n_events = q->n_events;
        if (q->held != NULL) {
            int64_t i = fc_dict_intern(q->held, order);
            void *arr = q->at;
            if (i < 0 || fc_grow(&arr, &q->cap_at, (size_t)i + 1, sizeof *q->at) != FC_OK) {
                return oom(err);
            }
            q->at = arr;
            q->at[i] = h;
        } else {
            q->len = h.off; /* nothing kept */
        }
    }
    q->n_events = h.n_events;
    void *arr = q->v.evs;
    if (fc_grow(&arr, &q->v.cap_evs, h.n_events + extra + 1, sizeof *q->v.evs) != FC_OK) {
        return oom(err);
    }
    q->v.evs = arr;
    for (size_t off = h.off, i = 0; i < h.n_events; i++) {
        size_t used = 0;
        if (fc_event_unpack(q->packed + off, h.off + h.len - off, &q->v.evs[i], &used) != FC_OK) {
            return fc_err_set(err, FC_EINTERNAL, NULL, 0, 0, "events changed when packed again");
        }
        off += used;
    }
    q->v.n_evs = h.n_events;
    return FC_OK;
}

/* The settings, the reference entities and every window, once. o is kept
 * (its settings, policies and ref must outlive q). */
static int byid_open(fc_store *s, byid *q, const fc_scan_opts *o, fc_err *err) {
    memset(q, 0, sizeof *q);
    const fc_settings *settings = o->settings;
    if (settings == NULL) {
        q->own_settings = fc_settings_default();
        settings = q->own_settings;
    }
    q->v = (fc__visit){.opts = o, .settings = settings, .err = err};
    q->v.carry_each = 1;
    q->v.arena = fc_arena_new(0);
    q->v.city_names = fc_dict_new();
    if (settings == NULL || q->v.arena == NULL || q->v.city_names == NULL) {
        return oom(err);
    }
    if (o->ref != NULL) {
        fc__scan_visit_ref(&q->v, o->ref);
    } else {
        q->own_ref = fc_ref_new();
        if (q->own_ref == NULL) {
            return oom(err);
        }
        int rc = fc_store_load_ref(s, q->own_ref, err);
        if (rc != FC_OK) {
            return rc;
        }
        fc__scan_visit_ref(&q->v, q->own_ref);
    }
    int rc = fc_store_scan_unordered(s, on_unordered, q, err);
    if (rc == FC_ENOMEM) {
        return oom(err);
    }
    fc__scan_sort_windows(&q->v);
    return rc;
}

static void byid_close(byid *q) {
    fc__scan_visit_free(&q->v);
    fc_free(q->packed);
    fc_dict_free(q->held);
    fc_free(q->at);
    fc_ref_free(q->own_ref);
    fc_settings_free(q->own_settings);
}

/* Visit orders[0..n) with the options o (the open ones' settings,
 * policies and ref). */
static int byid_visit(fc_store *s, byid *q, const fc_scan_opts *o, const fc_str *orders, size_t n,
                      fc_scan_cb cb, void *ud, fc_scan_stats *stats, fc_err *err) {
    q->v.opts = o;
    q->v.cb = cb;
    q->v.ud = ud;
    q->v.err = err;
    q->v.orders = q->v.skipped = q->v.filtered = 0;
    q->records = q->events = 0;
    int rc = FC_OK;
    for (size_t i = 0; i < n && rc == FC_OK; i++) {
        rc = read_order(s, q, orders[i], 0, err);
        if (rc != FC_OK) {
            break;
        }
        if (q->n_events == 0) {
            q->v.skipped++;
            continue;
        }
        rc = fc__scan_visit(&q->v, NULL);
    }
    if (rc == FC__SCAN_STOP) {
        rc = q->v.stop_rc;
    }
    if (stats != NULL) {
        *stats = (fc_scan_stats){.records = q->records,
                                 .events = q->events,
                                 .orders = q->v.orders,
                                 .skipped = q->v.skipped,
                                 .filtered = q->v.filtered,
                                 .weather = (int64_t)q->v.n_weather,
                                 .incidents = (int64_t)q->v.n_incidents};
    }
    return rc;
}

int fc_scan_orders_by_id(fc_store *s, const fc_scan_opts *o, const fc_str *orders, size_t n,
                         fc_scan_cb cb, void *ud, fc_scan_stats *stats, fc_err *err) {
    fc_scan_opts defaults;
    if (o == NULL) {
        fc_scan_opts_init(&defaults);
        o = &defaults;
    }
    byid q;
    int rc = byid_open(s, &q, o, err);
    if (rc == FC_OK) {
        rc = byid_visit(s, &q, o, orders, n, cb, ud, stats, err);
    }
    byid_close(&q);
    return rc;
}

struct fc_scan_reader {
    fc_store *s;
    fc_scan_opts opts; /* as opened */
    byid q;
};

int fc_scan_reader_open(fc_store *s, const fc_scan_opts *o, fc_scan_reader **out, fc_err *err) {
    *out = NULL;
    fc_scan_reader *rd = fc_calloc(1, sizeof *rd);
    if (rd == NULL) {
        return oom(err);
    }
    rd->s = s;
    if (o != NULL) {
        rd->opts = *o;
    } else {
        fc_scan_opts_init(&rd->opts);
    }
    int rc = byid_open(s, &rd->q, &rd->opts, err);
    rd->q.held = fc_dict_new();
    if (rc == FC_OK && rd->q.held == NULL) {
        rc = oom(err);
    }
    if (rc != FC_OK) {
        fc_scan_reader_close(rd);
        return rc;
    }
    *out = rd;
    return FC_OK;
}

int fc_scan_reader_visit(fc_scan_reader *rd, const fc_scan_opts *o, const fc_str *orders, size_t n,
                         fc_scan_cb cb, void *ud, fc_scan_stats *stats, fc_err *err) {
    fc_scan_opts local = o != NULL ? *o : rd->opts;
    /* What the open read and cached stays: */
    local.settings = rd->opts.settings;
    local.policies = rd->opts.policies;
    local.ref = rd->opts.ref;
    return byid_visit(rd->s, &rd->q, &local, orders, n, cb, ud, stats, err);
}

void fc_scan_reader_close(fc_scan_reader *rd) {
    if (rd == NULL) {
        return;
    }
    byid_close(&rd->q);
    fc_free(rd);
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
    byid q;
    int rc = byid_open(s, &q, &opts, err);
    q.v.cb = cb;
    q.v.ud = ud;
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
    return rc;
}
