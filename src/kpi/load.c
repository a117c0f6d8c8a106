/*
 * Loading the fact table from the store.
 *
 * One scan of the log. Events arrive in storage order, and an order's events
 * are spread over several records (its CSV row, then extra JSON Lines events
 * ingested later), so the scan re-packs each record's events (the views it
 * gets are valid only during the callback) into one buffer and notes a chunk
 * (order number, offset, count) per run of events of one order. Weather
 * events are kept per city. Then the chunks are bucketed by order (a counting
 * sort), and each order's events are unpacked, folded with its city's
 * thresholds and weather, and appended to the fact table.
 */
#include <stdlib.h>
#include <string.h>

#include "kpi/kpi_internal.h"

typedef struct chunk {
    uint32_t order;    /* orders dictionary id */
    uint32_t n_events; /* events packed in this chunk */
    uint64_t off;      /* offset in the packed buffer */
} chunk;

typedef struct loader {
    fc_dict *orders;
    uint8_t *buf;
    size_t len, cap;
    chunk *chunks;
    size_t n_chunks, cap_chunks;
    fc_arena *arena; /* weather strings */
    fc_weather *weather;
    size_t n_weather, cap_weather;
    int64_t records, events;
    fc_err *err;
} loader;

static int add_weather(loader *ld, const fc_event *e) {
    if (e->city.n == 0 || e->from == FC_TS_NONE || e->to == FC_TS_NONE) {
        return FC_OK;
    }
    void *arr = ld->weather;
    if (fc_grow(&arr, &ld->cap_weather, ld->n_weather + 1, sizeof *ld->weather) != FC_OK) {
        return FC_ENOMEM;
    }
    ld->weather = arr;
    fc_weather *w = &ld->weather[ld->n_weather];
    w->city = fc_arena_str(ld->arena, e->city);
    w->zone = e->zone.n > 0 ? fc_arena_str(ld->arena, e->zone) : FC_STR_NULL;
    if (w->city.p == NULL || (e->zone.n > 0 && w->zone.p == NULL)) {
        return FC_ENOMEM;
    }
    w->from = e->from;
    w->to = e->to;
    w->severity = e->severity == FC_INT_NONE ? 0 : e->severity;
    ld->n_weather++;
    return FC_OK;
}

static int on_record(void *ud, fc_str record_id, fc_str order, const fc_event *events, size_t n) {
    (void)record_id;
    loader *ld = ud;
    ld->records++;
    ld->events += (int64_t)n;
    int64_t open_order = -1; /* order of the chunk being extended */
    for (size_t i = 0; i < n; i++) {
        const fc_event *e = &events[i];
        if (e->type == FC_EV_WEATHER) {
            if (add_weather(ld, e) != FC_OK) {
                return fc_err_set(ld->err, FC_ENOMEM, NULL, 0, 0, "out of memory");
            }
            open_order = -1;
            continue;
        }
        fc_str oid = e->order.n > 0 ? e->order : order;
        if (oid.n == 0) {
            open_order = -1;
            continue;
        }
        int64_t id = fc_dict_intern(ld->orders, oid);
        if (id < 0 || id > UINT32_MAX) {
            return fc_err_set(ld->err, id < 0 ? FC_ENOMEM : FC_ELIMIT, NULL, 0, 0,
                              "too many orders to load");
        }
        if (id != open_order) {
            void *arr = ld->chunks;
            if (fc_grow(&arr, &ld->cap_chunks, ld->n_chunks + 1, sizeof *ld->chunks) != FC_OK) {
                return fc_err_set(ld->err, FC_ENOMEM, NULL, 0, 0, "out of memory");
            }
            ld->chunks = arr;
            ld->chunks[ld->n_chunks++] = (chunk){(uint32_t)id, 0, ld->len};
            open_order = id;
        }
        if (fc_event_pack(e, &ld->buf, &ld->len, &ld->cap) != FC_OK) {
            return fc_err_set(ld->err, FC_ENOMEM, NULL, 0, 0, "out of memory");
        }
        ld->chunks[ld->n_chunks - 1].n_events++;
    }
    return 0;
}

static int cmp_weather_city(const void *a, const void *b) {
    return fc_str_cmp(((const fc_weather *)a)->city, ((const fc_weather *)b)->city);
}

/* Per-city cache: thresholds and weather windows. */
typedef struct city_ctx {
    const fc_thresholds *th;
    size_t w_lo, w_n;
} city_ctx;

int fc_facts_load_store(fc_store *s, const fc_settings *settings, fc_facts **out,
                        fc_kpi_load_stats *stats, fc_err *err) {
    int rc = FC_OK;
    loader ld = {0};
    fc_ref *ref = NULL;
    fc_settings *own_settings = NULL;
    fc_facts *t = NULL;
    uint32_t *start = NULL, *order_chunks = NULL, *scratch = NULL;
    fc_event *evs = NULL;
    size_t cap_evs = 0, cap_scratch = 0;
    fc_dict *city_names = NULL;
    city_ctx *cities = NULL;
    size_t cap_cities = 0;
    fc_kpi_load_stats st = {0};
    *out = NULL;

    ld.err = err;
    ld.orders = fc_dict_new();
    ld.arena = fc_arena_new(0);
    ref = fc_ref_new();
    t = fc_facts_new();
    city_names = fc_dict_new();
    if (settings == NULL) {
        own_settings = fc_settings_default();
        settings = own_settings;
    }
    if (ld.orders == NULL || ld.arena == NULL || ref == NULL || t == NULL || city_names == NULL ||
        settings == NULL) {
        rc = fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
        goto out;
    }
    rc = fc_store_load_ref(s, ref, err);
    if (rc != FC_OK) {
        goto out;
    }
    rc = fc_store_scan(s, on_record, &ld, err);
    if (rc != FC_OK) {
        if (rc > 0) {
            rc = FC_EINTERNAL;
        }
        goto out;
    }
    st.records = ld.records;
    st.events = ld.events;
    st.weather = (int64_t)ld.n_weather;

    /* Weather windows grouped by city. */
    if (ld.n_weather > 1) {
        qsort(ld.weather, ld.n_weather, sizeof *ld.weather, cmp_weather_city);
    }

    /* Chunks bucketed by order. */
    uint32_t n_orders = fc_dict_count(ld.orders);
    start = fc_calloc((size_t)n_orders + 1, sizeof *start);
    order_chunks = fc_malloc((ld.n_chunks + 1) * sizeof *order_chunks);
    if (start == NULL || order_chunks == NULL) {
        rc = fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < ld.n_chunks; i++) {
        start[ld.chunks[i].order + 1]++;
    }
    for (uint32_t o = 0; o < n_orders; o++) {
        start[o + 1] += start[o];
    }
    {
        uint32_t *fill = fc_malloc(((size_t)n_orders + 1) * sizeof *fill);
        if (fill == NULL) {
            rc = fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
            goto out;
        }
        memcpy(fill, start, ((size_t)n_orders + 1) * sizeof *fill);
        for (size_t i = 0; i < ld.n_chunks; i++) {
            order_chunks[fill[ld.chunks[i].order]++] = (uint32_t)i;
        }
        fc_free(fill);
    }

    for (uint32_t o = 0; o < n_orders; o++) {
        size_t n = 0;
        for (uint32_t k = start[o]; k < start[o + 1]; k++) {
            const chunk *ch = &ld.chunks[order_chunks[k]];
            void *arr = evs;
            if (fc_grow(&arr, &cap_evs, n + ch->n_events, sizeof *evs) != FC_OK) {
                rc = fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
                goto out;
            }
            evs = arr;
            size_t off = (size_t)ch->off;
            for (uint32_t e = 0; e < ch->n_events; e++) {
                size_t used = 0;
                fc_event_init(&evs[n]);
                if (fc_event_unpack(ld.buf + off, ld.len - off, &evs[n], &used) != FC_OK) {
                    rc = fc_err_set(err, FC_EINTERNAL, NULL, 0, 0,
                                    "an event re-packed while loading could not be decoded");
                    goto out;
                }
                off += used;
                n++;
            }
        }
        void *sarr = scratch;
        if (fc_grow(&sarr, &cap_scratch, n + 1, sizeof *scratch) != FC_OK) {
            rc = fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
            goto out;
        }
        scratch = sarr;

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
        uint32_t before = fc_dict_count(city_names);
        int64_t cid = fc_dict_intern(city_names, city);
        if (cid < 0) {
            rc = fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
            goto out;
        }
        if ((uint32_t)cid >= before) {
            void *carr = cities;
            if (fc_grow(&carr, &cap_cities, (size_t)cid + 1, sizeof *cities) != FC_OK) {
                rc = fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
                goto out;
            }
            cities = carr;
            const fc_city *c = fc_ref_city(ref, city);
            char cname[256];
            fc_str_cpy(cname, sizeof cname, city);
            cities[cid].th = fc_settings_for(settings, c != NULL ? c->country : "", cname);
            size_t lo = 0;
            while (lo < ld.n_weather && fc_str_cmp(ld.weather[lo].city, city) < 0) {
                lo++;
            }
            size_t hi = lo;
            while (hi < ld.n_weather && fc_str_eq(ld.weather[hi].city, city)) {
                hi++;
            }
            cities[cid].w_lo = lo;
            cities[cid].w_n = city.n > 0 ? hi - lo : 0;
        }
        const fc_rider *rd = rider.n > 0 ? fc_ref_rider(ref, rider) : NULL;
        fc_fold_ctx ctx = {
            .thresholds = cities[cid].th,
            .weather = cities[cid].w_n > 0 ? &ld.weather[cities[cid].w_lo] : NULL,
            .n_weather = cities[cid].w_n,
            .rider_start_date = rd != NULL ? rd->start_date : INT32_MIN,
        };
        fc_order_facts facts;
        if (fc_order_fold(evs, n, &ctx, scratch, &facts) != FC_OK) {
            st.skipped++;
            continue;
        }
        int added = 0;
        rc = fc_facts_add(t, &facts, ref, cities[cid].th, &added, err);
        if (rc != FC_OK) {
            goto out;
        }
        if (added) {
            st.orders++;
        } else {
            st.skipped++;
        }
    }
    fc_facts_seal(t);
    *out = t;
    t = NULL;
    if (stats != NULL) {
        *stats = st;
    }
out:
    fc_dict_free(ld.orders);
    fc_free(ld.buf);
    fc_free(ld.chunks);
    fc_arena_free(ld.arena);
    fc_free(ld.weather);
    fc_ref_free(ref);
    fc_settings_free(own_settings);
    fc_facts_free(t);
    fc_free(start);
    fc_free(order_chunks);
    fc_free(scratch);
    fc_free(evs);
    fc_dict_free(city_names);
    fc_free(cities);
    return rc;
}
