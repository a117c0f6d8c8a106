/*
 * Loading the fact table from the store.
 *
 * One scan of the log, with the events left packed. Events arrive in storage
 * order, and an order's events are spread over several records (its CSV row,
 * then extra JSON Lines events ingested later), so the scan copies the packed
 * bytes into big blocks and notes a chunk (the order's id and hash, where the
 * bytes are, how many events) per run of events of one order; records of one
 * order that follow each other extend one chunk. Then the chunks are grouped
 * by order with a radix sort on the hash (stable, so each group lists its
 * chunks in storage order; equal hashes are told apart by the ids), and each
 * order's events are unpacked once, folded with its city's thresholds and
 * weather, and appended to the fact table in the order in which the orders
 * first appear in the log.
 *
 * A record that names an order is copied whole, without decoding: the ingest
 * writes records whose events all belong to the record's order. Records
 * without an order (weather, events of a city) are decoded event by event:
 * weather windows are kept per city, and an event naming an order is copied
 * alone into a chunk of that order. The fold checks the shortcut: when an
 * event of a copied record is weather or names another order, the load
 * starts again decoding every record event by event, which gives the same
 * facts as if no record had been copied whole.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "kpi/kpi_internal.h"

typedef struct chunk {
    uint64_t hash;      /* of the order id */
    const uint8_t *p;   /* the packed events, in a block, right after the order id */
    uint32_t order_len; /* bytes of the order id, stored just before p */
    uint32_t len;       /* bytes of packed events */
    uint32_t n_events;  /* events packed in this chunk */
} chunk;

#define NONE UINT32_MAX

/* The packed bytes live in blocks that never move (no copying on growth).
 * Blocks are big and aligned to huge pages where the system has them: the
 * buffer is written once, front to back, and faulting it in 4 KiB pages costs
 * more than the copying itself. */
#define BLOCK_BYTES ((size_t)32 << 20)
#define BLOCK_ALIGN ((size_t)2 << 20)

typedef struct block {
    void *mem;       /* as allocated */
    uint8_t *p;      /* aligned start */
    size_t len, cap; /* bytes used and usable from p */
    struct block *next;
} block;

typedef struct loader {
    int per_event; /* decode every record event by event (no whole-record copies) */
    block *blocks; /* newest first */
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

/* A new block of at least `need` bytes at the head of the list. */
static int add_block(loader *ld, size_t need) {
    size_t cap = need > BLOCK_BYTES ? need : BLOCK_BYTES;
    block *b = fc_malloc(sizeof *b);
    void *mem = fc_malloc(cap + BLOCK_ALIGN);
    if (b == NULL || mem == NULL) {
        fc_free(b);
        fc_free(mem);
        return FC_ENOMEM;
    }
    uintptr_t at = ((uintptr_t)mem + BLOCK_ALIGN - 1) & ~(uintptr_t)(BLOCK_ALIGN - 1);
#ifdef MADV_HUGEPAGE
    (void)madvise((void *)at, cap, MADV_HUGEPAGE); /* advice only: ignore failure */
#endif
    *b = (block){mem, (uint8_t *)at, 0, cap, ld->blocks};
    ld->blocks = b;
    return FC_OK;
}

static void free_blocks(block *b) {
    while (b != NULL) {
        block *next = b->next;
        fc_free(b->mem);
        fc_free(b);
        b = next;
    }
}

static fc_str chunk_order(const chunk *ch) {
    return fc_str_make((const char *)ch->p - ch->order_len, ch->order_len);
}

/* Append n_events packed events p[0..len) of order `oid` to the blocks,
 * extending the last chunk when it is of the same order and ends where the
 * bytes go; else a new chunk starts with a copy of the order id. */
static int put_events(loader *ld, fc_str oid, const uint8_t *p, size_t len, size_t n_events) {
    if (len > UINT32_MAX - oid.n) {
        return fc_err_set(ld->err, FC_ELIMIT, NULL, 0, 0, "a record is too big to load");
    }
    block *b = ld->blocks;
    chunk *last = ld->n_chunks > 0 ? &ld->chunks[ld->n_chunks - 1] : NULL;
    int extend = last != NULL && b != NULL && last->p + last->len == b->p + b->len &&
                 b->cap - b->len >= len && fc_str_eq(chunk_order(last), oid) &&
                 n_events <= UINT32_MAX - last->n_events && len <= UINT32_MAX - last->len;
    if (!extend) {
        if (ld->n_chunks >= NONE) {
            return fc_err_set(ld->err, FC_ELIMIT, NULL, 0, 0, "too many records to load");
        }
        if (b == NULL || b->cap - b->len < oid.n + len) {
            if (add_block(ld, oid.n + len) != FC_OK) {
                return fc_err_set(ld->err, FC_ENOMEM, NULL, 0, 0, "out of memory");
            }
            b = ld->blocks;
        }
        void *arr = ld->chunks;
        if (fc_grow(&arr, &ld->cap_chunks, ld->n_chunks + 1, sizeof *ld->chunks) != FC_OK) {
            return fc_err_set(ld->err, FC_ENOMEM, NULL, 0, 0, "out of memory");
        }
        ld->chunks = arr;
        memcpy(b->p + b->len, oid.p, oid.n);
        b->len += oid.n;
        last = &ld->chunks[ld->n_chunks++];
        *last = (chunk){fc_hash_str(oid), b->p + b->len, (uint32_t)oid.n, 0, 0};
    }
    if (len > 0) {
        memcpy(b->p + b->len, p, len);
    }
    b->len += len;
    last->len += (uint32_t)len;
    last->n_events += (uint32_t)n_events;
    return FC_OK;
}

static int on_record(void *ud, fc_str record_id, fc_str order, const uint8_t *packed, size_t len,
                     size_t n) {
    loader *ld = ud;
    ld->records++;
    ld->events += (int64_t)n;
    if (order.n > 0 && !ld->per_event) {
        return put_events(ld, order, packed, len, n);
    }
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        fc_event e;
        size_t used = 0;
        if (fc_event_unpack(packed + at, len - at, &e, &used) != FC_OK) {
            return fc_err_set(ld->err, FC_ESTORE, NULL, 0, 0, "corrupt events in record '%.*s'",
                              (int)record_id.n, record_id.p);
        }
        const uint8_t *p = packed + at;
        at += used;
        if (e.type == FC_EV_WEATHER) {
            if (add_weather(ld, &e) != FC_OK) {
                return fc_err_set(ld->err, FC_ENOMEM, NULL, 0, 0, "out of memory");
            }
            continue;
        }
        fc_str oid = e.order.n > 0 ? e.order : order;
        if (oid.n == 0) {
            continue;
        }
        int rc = put_events(ld, oid, p, used, 1);
        if (rc != FC_OK) {
            return rc;
        }
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

/* Sort idx[0..n) by key[0..n) (the pairs move together), stable: LSD radix
 * sort on 16-bit digits, skipping the digits all keys share. */
static int radix_sort(uint64_t *key, uint32_t *idx, size_t n) {
    uint64_t *key2 = fc_malloc((n + 1) * sizeof *key2);
    uint32_t *idx2 = fc_malloc((n + 1) * sizeof *idx2);
    size_t *count = fc_malloc(((size_t)1 << 16) * sizeof *count);
    if (key2 == NULL || idx2 == NULL || count == NULL) {
        fc_free(key2);
        fc_free(idx2);
        fc_free(count);
        return FC_ENOMEM;
    }
    uint64_t *k_from = key, *k_to = key2;
    uint32_t *i_from = idx, *i_to = idx2;
    for (unsigned shift = 0; shift < 64; shift += 16) {
        memset(count, 0, ((size_t)1 << 16) * sizeof *count);
        for (size_t i = 0; i < n; i++) {
            count[(k_from[i] >> shift) & 0xFFFF]++;
        }
        if (n == 0 || count[(k_from[0] >> shift) & 0xFFFF] == n) {
            continue;
        }
        size_t sum = 0;
        for (size_t d = 0; d < ((size_t)1 << 16); d++) {
            size_t c = count[d];
            count[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++) {
            size_t at = count[(k_from[i] >> shift) & 0xFFFF]++;
            k_to[at] = k_from[i];
            i_to[at] = i_from[i];
        }
        uint64_t *kt = k_from;
        k_from = k_to;
        k_to = kt;
        uint32_t *it = i_from;
        i_from = i_to;
        i_to = it;
    }
    if (k_from != key) {
        memcpy(key, k_from, n * sizeof *key);
        memcpy(idx, i_from, n * sizeof *idx);
    }
    fc_free(key2);
    fc_free(idx2);
    fc_free(count);
    return FC_OK;
}

/* Group chunks[0..n) by order. *sorted lists the chunk numbers by order
 * hash, each order's chunks together and in storage order (orders sharing a
 * hash interleave within their run of equal *hashes); (*first)[i] is the
 * place in *sorted where chunk i's order starts when chunk i is its order's
 * first chunk, else NONE. Arrays caller-freed. FC_OK or FC_ENOMEM. */
static int group_chunks(const chunk *chunks, size_t n, uint32_t **sorted, uint64_t **hashes,
                        uint32_t **first) {
    uint32_t *idx = fc_malloc((n + 1) * sizeof *idx);
    uint64_t *key = fc_malloc((n + 1) * sizeof *key);
    uint32_t *head = fc_malloc((n + 1) * sizeof *head);
    if (idx == NULL || key == NULL || head == NULL) {
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        key[i] = chunks[i].hash;
        idx[i] = (uint32_t)i;
    }
    if (radix_sort(key, idx, n) != FC_OK) {
        goto fail;
    }
    memset(head, 0xFF, (n + 1) * sizeof *head);
    for (size_t a = 0; a < n;) {
        size_t b = a + 1;
        int same = 1;
        fc_str oid = chunk_order(&chunks[idx[a]]);
        for (; b < n && key[b] == key[a]; b++) {
            same = same && fc_str_eq(chunk_order(&chunks[idx[b]]), oid);
        }
        head[idx[a]] = (uint32_t)a;
        if (!same) {
            /* Orders sharing a hash: each one's first chunk starts it. */
            for (size_t j = a + 1; j < b; j++) {
                fc_str id = chunk_order(&chunks[idx[j]]);
                size_t k = a;
                while (k < j && !fc_str_eq(chunk_order(&chunks[idx[k]]), id)) {
                    k++;
                }
                if (k == j) {
                    head[idx[j]] = (uint32_t)j;
                }
            }
        }
        a = b;
    }
    *sorted = idx;
    *hashes = key;
    *first = head;
    return FC_OK;
fail:
    fc_free(idx);
    fc_free(key);
    fc_free(head);
    return FC_ENOMEM;
}

/* One load: scan the store (whole-record copies unless per_event), fold
 * every order and build the fact table into *out. FC_OK with *redo = 1 (and
 * *out NULL) when a whole-record copy turns out to hold an event the record's
 * order does not own: the caller loads again per event. */
static int load_pass(fc_store *s, const fc_ref *ref, const fc_settings *settings, int per_event,
                     fc_facts **out, fc_kpi_load_stats *stats, int *redo, fc_err *err) {
    int rc = FC_OK;
    loader ld = {0};
    fc_facts *t = NULL;
    uint32_t *sorted = NULL, *first = NULL, *scratch = NULL;
    uint64_t *hashes = NULL;
    fc_event *evs = NULL;
    size_t cap_evs = 0, cap_scratch = 0;
    fc_dict *city_names = NULL;
    city_ctx *cities = NULL;
    size_t cap_cities = 0;
    fc_kpi_load_stats st = {0};
    *out = NULL;
    *redo = 0;

    ld.per_event = per_event;
    ld.err = err;
    ld.arena = fc_arena_new(0);
    t = fc_facts_new();
    city_names = fc_dict_new();
    if (ld.arena == NULL || t == NULL || city_names == NULL) {
        rc = fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
        goto out;
    }
    rc = fc_store_scan_packed(s, on_record, &ld, err);
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

    /* Chunks grouped by order; first[k] is the place in `sorted` of the
     * group whose first chunk is chunk k (NONE when chunk k is not the first
     * of its order). Orders in the order of their first chunks. */
    size_t n_chunks = ld.n_chunks;
    rc = group_chunks(ld.chunks, n_chunks, &sorted, &hashes, &first);
    if (rc != FC_OK) {
        rc = fc_err_set(err, rc, NULL, 0, 0, "out of memory");
        goto out;
    }

    for (size_t k = 0; k < n_chunks; k++) {
        if (first[k] == NONE) {
            continue;
        }
        fc_str oid = chunk_order(&ld.chunks[k]);
        size_t n = 0;
        for (size_t j = first[k]; j < n_chunks && hashes[j] == hashes[first[k]]; j++) {
            const chunk *ch = &ld.chunks[sorted[j]];
            if (sorted[j] != k && !fc_str_eq(chunk_order(ch), oid)) {
                continue; /* another order with the same hash */
            }
            void *arr = evs;
            if (fc_grow(&arr, &cap_evs, n + ch->n_events, sizeof *evs) != FC_OK) {
                rc = fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
                goto out;
            }
            evs = arr;
            size_t off = 0;
            for (uint32_t e = 0; e < ch->n_events; e++) {
                size_t used = 0;
                if (fc_event_unpack(ch->p + off, ch->len - off, &evs[n], &used) != FC_OK) {
                    rc = fc_err_set(err, FC_ESTORE, NULL, 0, 0,
                                    "corrupt events in the records of order '%.*s'", (int)oid.n,
                                    oid.p);
                    goto out;
                }
                /* What a per-event load would have put elsewhere. */
                if (evs[n].type == FC_EV_WEATHER ||
                    (evs[n].order.n > 0 && !fc_str_eq(evs[n].order, oid))) {
                    if (per_event) {
                        rc = fc_err_set(err, FC_EINTERNAL, NULL, 0, 0,
                                        "an event was grouped under the wrong order");
                    } else {
                        *redo = 1;
                    }
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
    *stats = st;
out:
    free_blocks(ld.blocks);
    fc_free(ld.chunks);
    fc_arena_free(ld.arena);
    fc_free(ld.weather);
    fc_facts_free(t);
    fc_free(sorted);
    fc_free(hashes);
    fc_free(first);
    fc_free(scratch);
    fc_free(evs);
    fc_dict_free(city_names);
    fc_free(cities);
    return rc;
}

int fc_facts_load_store(fc_store *s, const fc_settings *settings, fc_facts **out,
                        fc_kpi_load_stats *stats, fc_err *err) {
    int rc = FC_OK;
    fc_ref *ref = NULL;
    fc_settings *own_settings = NULL;
    fc_kpi_load_stats st = {0};
    *out = NULL;

    ref = fc_ref_new();
    if (settings == NULL) {
        own_settings = fc_settings_default();
        settings = own_settings;
    }
    if (ref == NULL || settings == NULL) {
        rc = fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
        goto out;
    }
    rc = fc_store_load_ref(s, ref, err);
    if (rc != FC_OK) {
        goto out;
    }
    int redo = 0;
    rc = load_pass(s, ref, settings, 0, out, &st, &redo, err);
    if (rc == FC_OK && redo) {
        rc = load_pass(s, ref, settings, 1, out, &st, &redo, err);
    }
    if (rc == FC_OK && stats != NULL) {
        *stats = st;
    }
out:
    fc_ref_free(ref);
    fc_settings_free(own_settings);
    return rc;
}
