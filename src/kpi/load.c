/*
 * Loading the fact table from the store.
 *
 * An order's events are spread over several records of the log (its CSV row,
 * then extra JSON Lines events ingested later), and the fact table lists the
 * orders in the order in which they first appear in the log. Each record
 * that names an order is a *unit* of that order; a record without an order
 * is decoded: its weather events become windows per city, and each event
 * naming an order is a unit of its own. Events stay packed as the store
 * hands them out, and each is unpacked once, when its order is folded.
 *
 * One pass (the default): the packed bytes of every unit are copied into big
 * blocks as chunks (order id and hash, bytes, event count; adjacent units of
 * one order extend one chunk). A stable radix sort of the chunks by order
 * hash groups each order's chunks in log order; each order is then folded
 * at its first chunk, with its city's thresholds and weather, and appended.
 *
 * Two passes, when the bytes held in one pass would pass a budget
 * (FULCRUM_LOAD_HOLD_MB in the environment, default 512 MiB): memory then
 * grows with the units after each order's first, not with the log.
 * 1. The hash of each unit's order id is noted; a unit whose hash is already
 *    in a bitmap of the hashes seen (no false negatives, a few false
 *    positives) may not be its order's first, so it is copied as a chunk
 *    (with its unit number). A radix sort of the units by hash then tells
 *    each order's first unit, and one of the chunks groups its later units.
 * 2. The same records again, up to the number read in pass 1 (the log is
 *    append-only and read in append order, so records ingested meanwhile come
 *    after those and are left for the next load). At each order's first
 *    unit, its events are unpacked from the store's bytes and from its
 *    chunks, folded and appended.
 * Both walk their arrays in order: no lookups at random places of a big
 * table.
 *
 * A record that names an order is taken whole: the ingest writes records
 * whose events all belong to the record's order. The fold checks it: when an
 * event of such a record is weather or names another order, or when two
 * orders share a hash, the load starts again in one pass that decodes every
 * record event by event (the facts are the same).
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
    uint32_t unit;      /* two-pass load: the unit it holds */
} chunk;

#define NONE UINT32_MAX

/* How a load reads the log (see the top of the file). */
typedef enum load_mode {
    MODE_NONE = 0, /* no load to run */
    MODE_ONE,      /* one pass, whole records, every unit held */
    MODE_TWO,      /* two passes, whole records, later units held */
    MODE_EXACT     /* one pass, every record event by event, every unit held */
} load_mode;

/* Positive callback results (errors are negative): start again event by
 * event; start again in two passes; pass 2 has read every record of pass 1. */
#define LOAD_REDO   1
#define LOAD_SWITCH 2
#define LOAD_DONE   3

#define HOLD_MB_DEFAULT 512

/* The packed bytes live in blocks that never move (no copying on growth).
 * Blocks are big and aligned to huge pages where the system has them: the
 * blocks are written once, front to back, and faulting them in 4 KiB pages
 * costs more than the copying itself. */
#define BLOCK_BYTES ((size_t)32 << 20)
#define BLOCK_ALIGN ((size_t)2 << 20)

typedef struct block {
    void *mem;       /* as allocated */
    uint8_t *p;      /* aligned start */
    size_t len, cap; /* bytes used and usable from p */
    struct block *next;
} block;

/* Bitmap of the order hashes seen in pass 1: 2^SEEN_MIN_LOG2 bits to start
 * with, widened to keep at least SEEN_BITS_PER_UNIT bits per unit (about 3%
 * of first units copied for nothing). */
#define SEEN_MIN_LOG2      22
#define SEEN_BITS_PER_UNIT 32

/* Per-city cache: thresholds and weather windows. */
typedef struct city_ctx {
    const fc_thresholds *th;
    size_t w_lo, w_n;
} city_ctx;

typedef struct loader {
    load_mode mode;
    size_t hold_max; /* MODE_ONE: bytes it may hold before switching to two passes */
    size_t held;     /* bytes copied into blocks */
    int pass;        /* two-pass load: 1 or 2 */
    uint32_t unit;   /* units met so far in this pass */
    int64_t records, events;
    int64_t records_left; /* pass 2: records still to read */
    uint64_t *unit_hash;  /* pass 1: order hash of each unit */
    size_t cap_units;
    uint64_t *seen; /* pass 1: bitmap of hashes seen, indexed by the top bits */
    unsigned seen_log2;
    uint64_t *is_first;  /* pass 2: bit u set when unit u is its order's first */
    uint64_t *pair_unit; /* pass 2: first units that have chunks, ascending ... */
    uint32_t *pair_run;  /* ... and where their chunks start in `sorted` */
    size_t n_pairs, next_pair;
    block *blocks; /* newest first */
    chunk *chunks;
    size_t n_chunks, cap_chunks;
    uint32_t *sorted; /* chunk numbers grouped by order (stable by hash) */
    uint64_t *hashes; /* hashes[j] = chunks[sorted[j]].hash */
    fc_arena *arena;  /* weather strings */
    fc_weather *weather;
    size_t n_weather, cap_weather;
    /* Folding. */
    const fc_ref *ref;
    const fc_settings *settings;
    fc_facts *t;
    fc_event *evs; /* the events of the order being folded */
    size_t n_evs, cap_evs;
    uint32_t *scratch;
    size_t cap_scratch;
    fc_dict *city_names;
    city_ctx *cities;
    size_t cap_cities;
    int64_t orders, skipped;
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

static int cmp_weather_city(const void *a, const void *b) {
    return fc_str_cmp(((const fc_weather *)a)->city, ((const fc_weather *)b)->city);
}

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

/* (Re)build the bitmap of seen hashes with 2^log2 bits from the first n
 * units. */
static int build_seen(loader *ld, unsigned log2, size_t n) {
    uint64_t *seen = fc_calloc(((size_t)1 << log2) / 64, sizeof *seen);
    if (seen == NULL) {
        return FC_ENOMEM;
    }
    for (size_t u = 0; u < n; u++) {
        uint64_t bit = ld->unit_hash[u] >> (64 - log2);
        seen[bit / 64] |= (uint64_t)1 << (bit % 64);
    }
    fc_free(ld->seen);
    ld->seen = seen;
    ld->seen_log2 = log2;
    return FC_OK;
}

/* Copy n_events packed events p[0..len) of order `oid` (hash h) into the
 * blocks, extending the last chunk when it is of the same order and ends
 * where the bytes go; else a new chunk starts with a copy of the order id. */
static int put_chunk(loader *ld, fc_str oid, uint64_t h, const uint8_t *p, size_t len,
                     size_t n_events) {
    if (len > UINT32_MAX - oid.n) {
        return fc_err_set(ld->err, FC_ELIMIT, NULL, 0, 0, "a record is too big to load");
    }
    block *b = ld->blocks;
    chunk *last = ld->n_chunks > 0 ? &ld->chunks[ld->n_chunks - 1] : NULL;
    int extend = ld->mode != MODE_TWO && last != NULL && b != NULL &&
                 last->p + last->len == b->p + b->len && b->cap - b->len >= len &&
                 last->hash == h && fc_str_eq(chunk_order(last), oid) &&
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
        ld->held += oid.n;
        last = &ld->chunks[ld->n_chunks++];
        *last = (chunk){h, b->p + b->len, (uint32_t)oid.n, 0, 0, ld->unit};
    }
    if (len > 0) {
        memcpy(b->p + b->len, p, len);
    }
    b->len += len;
    ld->held += len;
    last->len += (uint32_t)len;
    last->n_events += (uint32_t)n_events;
    return FC_OK;
}

/* Unpack n_events packed events p[0..len) of order `oid` after the events
 * gathered so far. LOAD_REDO (two-pass load) when one of them would not
 * belong to `oid` in an event-by-event load. */
static int gather(loader *ld, fc_str oid, const uint8_t *p, size_t len, size_t n_events) {
    void *arr = ld->evs;
    if (fc_grow(&arr, &ld->cap_evs, ld->n_evs + n_events, sizeof *ld->evs) != FC_OK) {
        return fc_err_set(ld->err, FC_ENOMEM, NULL, 0, 0, "out of memory");
    }
    ld->evs = arr;
    size_t off = 0;
    for (size_t i = 0; i < n_events; i++) {
        fc_event *e = &ld->evs[ld->n_evs];
        size_t used = 0;
        if (fc_event_unpack(p + off, len - off, e, &used) != FC_OK) {
            return fc_err_set(ld->err, FC_ESTORE, NULL, 0, 0,
                              "corrupt events in the records of order '%.*s'", (int)oid.n, oid.p);
        }
        if (e->type == FC_EV_WEATHER || (e->order.n > 0 && !fc_str_eq(e->order, oid))) {
            if (ld->mode != MODE_EXACT) {
                return LOAD_REDO;
            }
            return fc_err_set(ld->err, FC_EINTERNAL, NULL, 0, 0,
                              "an event was grouped under the wrong order");
        }
        off += used;
        ld->n_evs++;
    }
    return FC_OK;
}

/* Fold the gathered events (one order) and append the order to the table. */
static int fold_order(loader *ld) {
    const fc_event *evs = ld->evs;
    size_t n = ld->n_evs;
    void *sarr = ld->scratch;
    if (fc_grow(&sarr, &ld->cap_scratch, n + 1, sizeof *ld->scratch) != FC_OK) {
        return fc_err_set(ld->err, FC_ENOMEM, NULL, 0, 0, "out of memory");
    }
    ld->scratch = sarr;

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
    uint32_t before = fc_dict_count(ld->city_names);
    int64_t cid = fc_dict_intern(ld->city_names, city);
    if (cid < 0) {
        return fc_err_set(ld->err, FC_ENOMEM, NULL, 0, 0, "out of memory");
    }
    if ((uint32_t)cid >= before) {
        void *carr = ld->cities;
        if (fc_grow(&carr, &ld->cap_cities, (size_t)cid + 1, sizeof *ld->cities) != FC_OK) {
            return fc_err_set(ld->err, FC_ENOMEM, NULL, 0, 0, "out of memory");
        }
        ld->cities = carr;
        const fc_city *c = fc_ref_city(ld->ref, city);
        char cname[256];
        fc_str_cpy(cname, sizeof cname, city);
        ld->cities[cid].th = fc_settings_for(ld->settings, c != NULL ? c->country : "", cname);
        size_t lo = 0;
        while (lo < ld->n_weather && fc_str_cmp(ld->weather[lo].city, city) < 0) {
            lo++;
        }
        size_t hi = lo;
        while (hi < ld->n_weather && fc_str_eq(ld->weather[hi].city, city)) {
            hi++;
        }
        ld->cities[cid].w_lo = lo;
        ld->cities[cid].w_n = city.n > 0 ? hi - lo : 0;
    }
    const city_ctx *cc = &ld->cities[cid];
    const fc_rider *rd = rider.n > 0 ? fc_ref_rider(ld->ref, rider) : NULL;
    fc_fold_ctx ctx = {
        .thresholds = cc->th,
        .weather = cc->w_n > 0 ? &ld->weather[cc->w_lo] : NULL,
        .n_weather = cc->w_n,
        .rider_start_date = rd != NULL ? rd->start_date : INT32_MIN,
    };
    fc_order_facts facts;
    if (fc_order_fold(evs, n, &ctx, ld->scratch, &facts) != FC_OK) {
        ld->skipped++;
        return FC_OK;
    }
    int added = 0;
    int rc = fc_facts_add(ld->t, &facts, ld->ref, cc->th, &added, ld->err);
    if (rc != FC_OK) {
        return rc;
    }
    if (added) {
        ld->orders++;
    } else {
        ld->skipped++;
    }
    return FC_OK;
}

static int bit_is_set(const uint64_t *bits, uint64_t i) {
    return (bits[i / 64] >> (i % 64)) & 1;
}

/* A unit of order `oid`: n_events packed events p[0..len). */
static int on_unit(loader *ld, fc_str oid, const uint8_t *p, size_t len, size_t n_events) {
    if (ld->mode != MODE_TWO) {
        int rc = put_chunk(ld, oid, fc_hash_str(oid), p, len, n_events);
        if (rc == FC_OK && ld->mode == MODE_ONE && ld->held > ld->hold_max) {
            return LOAD_SWITCH;
        }
        return rc;
    }
    if (ld->unit == NONE) {
        return fc_err_set(ld->err, FC_ELIMIT, NULL, 0, 0, "too many records to load");
    }
    if (ld->pass == 1) {
        uint64_t h = fc_hash_str(oid);
        void *arr = ld->unit_hash;
        if (fc_grow(&arr, &ld->cap_units, (size_t)ld->unit + 1, sizeof *ld->unit_hash) != FC_OK) {
            return fc_err_set(ld->err, FC_ENOMEM, NULL, 0, 0, "out of memory");
        }
        ld->unit_hash = arr;
        ld->unit_hash[ld->unit] = h;
        if (((size_t)ld->unit + 1) * SEEN_BITS_PER_UNIT > ((size_t)1 << ld->seen_log2) &&
            ld->seen_log2 < 40 && build_seen(ld, ld->seen_log2 + 2, ld->unit) != FC_OK) {
            return fc_err_set(ld->err, FC_ENOMEM, NULL, 0, 0, "out of memory");
        }
        uint64_t bit = h >> (64 - ld->seen_log2);
        int rc = FC_OK;
        if (bit_is_set(ld->seen, bit)) {
            rc = put_chunk(ld, oid, h, p, len, n_events);
        } else {
            ld->seen[bit / 64] |= (uint64_t)1 << (bit % 64);
        }
        ld->unit++;
        return rc;
    }
    uint32_t unit = ld->unit++;
    if (!bit_is_set(ld->is_first, unit)) {
        return FC_OK; /* gathered with the order's first unit */
    }
    ld->n_evs = 0;
    int rc = gather(ld, oid, p, len, n_events);
    if (rc == FC_OK && ld->next_pair < ld->n_pairs && ld->pair_unit[ld->next_pair] == unit) {
        size_t run = ld->pair_run[ld->next_pair++];
        for (size_t j = run; rc == FC_OK && j < ld->n_chunks && ld->hashes[j] == ld->hashes[run];
             j++) {
            const chunk *ch = &ld->chunks[ld->sorted[j]];
            if (ch->unit == unit) {
                continue; /* this very unit, copied in pass 1 just in case */
            }
            if (!fc_str_eq(chunk_order(ch), oid)) {
                return LOAD_REDO; /* two orders share a hash */
            }
            rc = gather(ld, oid, ch->p, ch->len, ch->n_events);
        }
    }
    return rc != FC_OK ? rc : fold_order(ld);
}

/* Between the passes: each order's first unit (is_first), and for those
 * with chunks, where the chunks start (pair_unit, pair_run, by unit). */
static int plan_pass2(loader *ld) {
    size_t n = ld->unit;
    int rc = FC_ENOMEM;
    uint32_t *units = fc_malloc((n + 1) * sizeof *units);
    ld->is_first = fc_calloc(n / 64 + 1, sizeof *ld->is_first);
    if (units == NULL || ld->is_first == NULL) {
        goto out;
    }
    for (size_t u = 0; u < n; u++) {
        units[u] = (uint32_t)u;
    }
    fc_free(ld->seen);
    ld->seen = NULL;
    if (radix_sort(ld->unit_hash, units, n) != FC_OK) {
        goto out;
    }
    size_t n_multi = 0;
    for (size_t a = 0, b; a < n; a = b) {
        for (b = a + 1; b < n && ld->unit_hash[b] == ld->unit_hash[a]; b++) {
        }
        ld->is_first[units[a] / 64] |= (uint64_t)1 << (units[a] % 64);
        n_multi += b - a > 1;
    }
    ld->pair_unit = fc_malloc((n_multi + 1) * sizeof *ld->pair_unit);
    ld->pair_run = fc_malloc((n_multi + 1) * sizeof *ld->pair_run);
    if (ld->pair_unit == NULL || ld->pair_run == NULL) {
        goto out;
    }
    size_t j = 0;
    for (size_t a = 0, b; a < n; a = b) {
        for (b = a + 1; b < n && ld->unit_hash[b] == ld->unit_hash[a]; b++) {
        }
        if (b - a == 1) {
            continue;
        }
        while (j < ld->n_chunks && ld->hashes[j] < ld->unit_hash[a]) {
            j++;
        }
        ld->pair_unit[ld->n_pairs] = units[a];
        ld->pair_run[ld->n_pairs++] = (uint32_t)j;
    }
    rc = radix_sort(ld->pair_unit, ld->pair_run, ld->n_pairs);
out:
    fc_free(units);
    fc_free(ld->unit_hash);
    ld->unit_hash = NULL;
    return rc;
}

static int on_record(void *ud, fc_str record_id, fc_str order, const uint8_t *packed, size_t len,
                     size_t n) {
    loader *ld = ud;
    if (ld->pass == 2) {
        if (ld->records_left == 0) {
            return LOAD_DONE;
        }
        ld->records_left--;
    } else {
        ld->records++;
        ld->events += (int64_t)n;
    }
    if (order.n > 0 && ld->mode != MODE_EXACT) {
        return on_unit(ld, order, packed, len, n);
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
            if (ld->pass != 2 && add_weather(ld, &e) != FC_OK) {
                return fc_err_set(ld->err, FC_ENOMEM, NULL, 0, 0, "out of memory");
            }
            continue;
        }
        fc_str oid = e.order.n > 0 ? e.order : order;
        if (oid.n == 0) {
            continue;
        }
        int rc = on_unit(ld, oid, p, used, 1);
        if (rc != FC_OK) {
            return rc;
        }
    }
    return 0;
}

/* Sort the chunks by order hash into ld->sorted and ld->hashes (stable:
 * each order's chunks stay in log order). FC_OK or FC_ENOMEM. */
static int sort_chunks(loader *ld) {
    size_t n = ld->n_chunks;
    ld->sorted = fc_malloc((n + 1) * sizeof *ld->sorted);
    ld->hashes = fc_malloc((n + 1) * sizeof *ld->hashes);
    if (ld->sorted == NULL || ld->hashes == NULL) {
        return FC_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        ld->hashes[i] = ld->chunks[i].hash;
        ld->sorted[i] = (uint32_t)i;
    }
    return radix_sort(ld->hashes, ld->sorted, n);
}

/* The one-pass load: every unit is a chunk; fold each order at its first
 * chunk, in log order. */
static int fold_held(loader *ld) {
    size_t n = ld->n_chunks;
    uint8_t *is_first = fc_calloc(n + 1, 1);
    uint32_t *start = fc_malloc((n + 1) * sizeof *start);
    int rc = FC_OK;
    if (is_first == NULL || start == NULL) {
        rc = fc_err_set(ld->err, FC_ENOMEM, NULL, 0, 0, "out of memory");
        goto out;
    }
    /* The first chunk of each order, and where its run of equal hashes starts. */
    for (size_t a = 0; a < n;) {
        size_t b = a + 1;
        while (b < n && ld->hashes[b] == ld->hashes[a]) {
            b++;
        }
        for (size_t j = a; j < b; j++) {
            size_t k = a;
            if (j > a) { /* a later chunk: of the same order as an earlier one? */
                fc_str id = chunk_order(&ld->chunks[ld->sorted[j]]);
                while (k < j && !fc_str_eq(chunk_order(&ld->chunks[ld->sorted[k]]), id)) {
                    k++;
                }
            }
            is_first[ld->sorted[j]] = k == j;
            start[ld->sorted[j]] = (uint32_t)a;
        }
        a = b;
    }
    for (size_t c = 0; c < n && rc == FC_OK; c++) {
        if (!is_first[c]) {
            continue;
        }
        fc_str oid = chunk_order(&ld->chunks[c]);
        ld->n_evs = 0;
        for (size_t j = start[c]; rc == FC_OK && j < n && ld->hashes[j] == ld->chunks[c].hash;
             j++) {
            const chunk *ch = &ld->chunks[ld->sorted[j]];
            if (fc_str_eq(chunk_order(ch), oid)) {
                rc = gather(ld, oid, ch->p, ch->len, ch->n_events);
            }
        }
        if (rc == FC_OK) {
            rc = fold_order(ld);
        }
    }
out:
    fc_free(is_first);
    fc_free(start);
    return rc;
}

/* One load in `mode` into *out. FC_OK with *retry set to the mode of the
 * load to run instead (and *out NULL), or to MODE_NONE when done. */
static int load_pass(fc_store *s, const fc_ref *ref, const fc_settings *settings, load_mode mode,
                     size_t hold_max, fc_facts **out, fc_kpi_load_stats *stats, load_mode *retry,
                     fc_err *err) {
    int rc = FC_OK;
    loader ld = {0};
    *out = NULL;
    *retry = MODE_NONE;
    ld.mode = mode;
    ld.hold_max = hold_max;
    ld.pass = 1;
    ld.ref = ref;
    ld.settings = settings;
    ld.err = err;
    ld.arena = fc_arena_new(0);
    ld.t = fc_facts_new();
    ld.city_names = fc_dict_new();
    if (ld.arena == NULL || ld.t == NULL || ld.city_names == NULL ||
        (mode == MODE_TWO && build_seen(&ld, SEEN_MIN_LOG2, 0) != FC_OK)) {
        rc = fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
        goto out;
    }
    rc = fc_store_scan_packed(s, on_record, &ld, err);
    if (rc != FC_OK) {
        goto out;
    }
    /* Weather windows grouped by city. */
    if (ld.n_weather > 1) {
        qsort(ld.weather, ld.n_weather, sizeof *ld.weather, cmp_weather_city);
    }
    if (sort_chunks(&ld) != FC_OK) {
        rc = fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
        goto out;
    }
    if (mode != MODE_TWO) {
        rc = fold_held(&ld);
    } else {
        if (plan_pass2(&ld) != FC_OK) {
            rc = fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
            goto out;
        }
        ld.pass = 2;
        ld.unit = 0;
        ld.records_left = ld.records;
        rc = fc_store_scan_packed(s, on_record, &ld, err);
        if (rc == LOAD_DONE) {
            rc = FC_OK;
        }
        if (rc == FC_OK && ld.records_left != 0) {
            rc = fc_err_set(err, FC_EINTERNAL, NULL, 0, 0,
                            "the records changed while the fact table was loading");
        }
    }
out:
    if (rc == LOAD_REDO || rc == LOAD_SWITCH) {
        *retry = rc == LOAD_REDO ? MODE_EXACT : MODE_TWO;
        rc = FC_OK;
    } else if (rc > 0) {
        rc = fc_err_set(err, FC_EINTERNAL, NULL, 0, 0, "the load stopped unexpectedly");
    } else if (rc == FC_OK) {
        fc_facts_seal(ld.t);
        *out = ld.t;
        ld.t = NULL;
        *stats = (fc_kpi_load_stats){.records = ld.records,
                                     .events = ld.events,
                                     .orders = ld.orders,
                                     .skipped = ld.skipped,
                                     .weather = (int64_t)ld.n_weather};
    }
    fc_free(ld.unit_hash);
    fc_free(ld.seen);
    fc_free(ld.is_first);
    fc_free(ld.pair_unit);
    fc_free(ld.pair_run);
    free_blocks(ld.blocks);
    fc_free(ld.chunks);
    fc_free(ld.sorted);
    fc_free(ld.hashes);
    fc_arena_free(ld.arena);
    fc_free(ld.weather);
    fc_facts_free(ld.t);
    fc_free(ld.evs);
    fc_free(ld.scratch);
    fc_dict_free(ld.city_names);
    fc_free(ld.cities);
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
    size_t hold_mb = HOLD_MB_DEFAULT;
    const char *env = getenv("FULCRUM_LOAD_HOLD_MB");
    if (env != NULL && env[0] != '\0') {
        char *end = NULL;
        unsigned long long v = strtoull(env, &end, 10);
        if (end != NULL && *end == '\0' && v <= SIZE_MAX >> 20) {
            hold_mb = (size_t)v;
        }
    }
    /* One pass; two when it would hold too much; event by event when a
     * record is not all one order's (at most three loads). */
    load_mode mode = MODE_ONE;
    while (rc == FC_OK && mode != MODE_NONE) {
        load_mode retry = MODE_NONE;
        rc = load_pass(s, ref, settings, mode, hold_mb << 20, out, &st, &retry, err);
        mode = retry;
    }
    if (rc == FC_OK && stats != NULL) {
        *stats = st;
    }
out:
    fc_ref_free(ref);
    fc_settings_free(own_settings);
    return rc;
}
