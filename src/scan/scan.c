/*
 * Scanning the log: every order's events grouped, folded and visited.
 *
 * An order's events are spread over several records of the log (its CSV row,
 * then extra JSON Lines events ingested later), and orders are visited in the
 * order in which they first appear in the log. Each record that names an
 * order is a *unit* of that order; a record without an order is decoded: its
 * weather and platform incident events become windows per city, and each
 * event naming an order is a unit of its own. Events stay packed as the
 * store hands them out, and each is unpacked once, when its order is folded.
 *
 * One pass (the default): the packed bytes of every unit are copied into big
 * blocks as chunks (order id and hash, bytes, event count; adjacent units of
 * one order extend one chunk). A stable radix sort of the chunks by order
 * hash groups each order's chunks in log order; each order is then folded
 * at its first chunk, with its city's thresholds and weather, and visited.
 *
 * Two passes, when the bytes held in one pass would pass a budget
 * (FULCRUM_LOAD_HOLD_MB in the environment, default an eighth of the
 * machine's memory, 512 MiB to 4 GiB): memory then
 * grows with the units after each order's first, not with the log.
 * 1. The hash of each unit's order id is noted; a unit whose hash is already
 *    in a bitmap of the hashes seen (no false negatives, a few false
 *    positives) may not be its order's first, so it is copied as a chunk
 *    (with its unit number). A radix sort of the units by hash then tells
 *    each order's first unit, and one of the chunks groups its later units.
 * 2. The same records again, up to the number read in pass 1 (the log is
 *    append-only and read in append order, so records ingested meanwhile come
 *    after those and are left for the next scan). At each order's first
 *    unit, its events are unpacked from the store's bytes and from its
 *    chunks, folded and visited.
 * Both walk their arrays in order: no lookups at random places of a big
 * table.
 *
 * A record that names an order is taken whole: the ingest writes records
 * whose events all belong to the record's order. The scan checks it while
 * unpacking: when an event of such a record is a window (weather, platform
 * incident) or names another order, or when two orders share a hash, the
 * scan starts again in one pass that decodes every record event by event
 * (the facts are the same). When that happens after orders were visited,
 * opts.restart says whether to visit everything again; without it, the
 * orders already visited are left out of the new pass.
 *
 * Context across orders (opts.context): the orders are folded once more
 * before they are visited, in the same sequence, to note each one's rider
 * and [picked_up_at, delivered_at); a sort per rider then counts the
 * overlaps (stacked_orders).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "scan/scan_internal.h"

typedef struct chunk {
    uint64_t hash;      /* of the order id */
    const uint8_t *p;   /* the packed events, in a block, right after the order id */
    uint32_t order_len; /* bytes of the order id, stored just before p */
    uint32_t len;       /* bytes of packed events */
    uint32_t n_events;  /* events packed in this chunk */
    uint32_t unit;      /* two-pass scan: the unit it holds */
} chunk;

#define NONE UINT32_MAX

/* How a scan reads the log (see the top of the file). */
typedef enum scan_mode {
    MODE_NONE = 0, /* no scan to run */
    MODE_ONE,      /* one pass, whole records, every unit held */
    MODE_TWO,      /* two passes, whole records, later units held */
    MODE_EXACT     /* one pass, every record event by event, every unit held */
} scan_mode;

/* Positive callback results (errors are negative; FC__SCAN_STOP is 4):
 * start again event by event; start again in two passes; pass 2 has read
 * every record of pass 1. */
#define SCAN_REDO   1
#define SCAN_SWITCH 2
#define SCAN_DONE   3

#define HOLD_MB_MIN    512
#define HOLD_MB_MAX    4096
#define PROGRESS_EVERY 65536

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

/* What the folding pass before the visits notes of each order. */
typedef struct carry {
    uint32_t rider; /* riders dictionary id */
    uint32_t seq;   /* the order's place in the traversal */
    int64_t picked_up_at, delivered_at;
} carry;

typedef enum phase {
    PHASE_VISIT = 0, /* fold and visit */
    PHASE_CARRY,     /* fold and note rider intervals (opts.context) */
} phase;

typedef struct scanner {
    scan_mode mode;
    phase phase;
    size_t hold_max; /* MODE_ONE: bytes it may hold before switching to two passes */
    size_t held;     /* bytes copied into blocks */
    int pass;        /* two-pass scan: 1 or 2 */
    uint32_t unit;   /* units met so far in this pass */
    int64_t records, events;
    int64_t records_left;  /* pass 2: records still to read */
    int64_t records_total; /* for progress; 0 when no progress callback */
    int64_t orders_before; /* visited by earlier scans (v.orders starts there) */
    uint64_t *unit_hash;   /* pass 1: order hash of each unit */
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
    /* Context across orders. */
    carry *carries;
    size_t n_carries, cap_carries;
    size_t carry_fields; /* fields the carry pass unpacks: up to the rider */
    fc_dict *riders;
    int32_t *stacked;
    /* Orders met before the scan found it must start again, to leave out of
     * the new pass: the hashes of their ids (sorted into `skip` for it).
     * Noted as they come in two passes; taken from the chunks in one. */
    uint64_t *visited;
    size_t n_visited, cap_visited;
    const uint64_t *skip;
    size_t n_skip;
    fc__visit v;
    fc_err *err;
} scanner;

/* A new block of at least `need` bytes at the head of the list. */
static int add_block(scanner *sc, size_t need) {
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
    *b = (block){mem, (uint8_t *)at, 0, cap, sc->blocks};
    sc->blocks = b;
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

static int oom(scanner *sc) {
    return fc_err_set(sc->err, FC_ENOMEM, NULL, 0, 0, "out of memory");
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
static int build_seen(scanner *sc, unsigned log2, size_t n) {
    uint64_t *seen = fc_calloc(((size_t)1 << log2) / 64, sizeof *seen);
    if (seen == NULL) {
        return FC_ENOMEM;
    }
    for (size_t u = 0; u < n; u++) {
        uint64_t bit = sc->unit_hash[u] >> (64 - log2);
        seen[bit / 64] |= (uint64_t)1 << (bit % 64);
    }
    fc_free(sc->seen);
    sc->seen = seen;
    sc->seen_log2 = log2;
    return FC_OK;
}

/* Copy n_events packed events p[0..len) of order `oid` (hash h) into the
 * blocks, extending the last chunk when it is of the same order and ends
 * where the bytes go; else a new chunk starts with a copy of the order id. */
static int put_chunk(scanner *sc, fc_str oid, uint64_t h, const uint8_t *p, size_t len,
                     size_t n_events) {
    if (len > UINT32_MAX - oid.n) {
        return fc_err_set(sc->err, FC_ELIMIT, NULL, 0, 0, "a record is too big to scan");
    }
    block *b = sc->blocks;
    chunk *last = sc->n_chunks > 0 ? &sc->chunks[sc->n_chunks - 1] : NULL;
    int extend = sc->mode != MODE_TWO && last != NULL && b != NULL &&
                 last->p + last->len == b->p + b->len && b->cap - b->len >= len &&
                 last->hash == h && fc_str_eq(chunk_order(last), oid) &&
                 n_events <= UINT32_MAX - last->n_events && len <= UINT32_MAX - last->len;
    if (!extend) {
        if (sc->n_chunks >= NONE) {
            return fc_err_set(sc->err, FC_ELIMIT, NULL, 0, 0, "too many records to scan");
        }
        if (b == NULL || b->cap - b->len < oid.n + len) {
            if (add_block(sc, oid.n + len) != FC_OK) {
                return oom(sc);
            }
            b = sc->blocks;
        }
        void *arr = sc->chunks;
        if (fc_grow(&arr, &sc->cap_chunks, sc->n_chunks + 1, sizeof *sc->chunks) != FC_OK) {
            return oom(sc);
        }
        sc->chunks = arr;
        memcpy(b->p + b->len, oid.p, oid.n);
        b->len += oid.n;
        sc->held += oid.n;
        last = &sc->chunks[sc->n_chunks++];
        *last = (chunk){h, b->p + b->len, (uint32_t)oid.n, 0, 0, sc->unit};
    }
    if (len > 0) {
        memcpy(b->p + b->len, p, len);
    }
    b->len += len;
    sc->held += len;
    last->len += (uint32_t)len;
    last->n_events += (uint32_t)n_events;
    return FC_OK;
}

static int is_window(fc_event_type t) {
    return t == FC_EV_WEATHER || t == FC_EV_PLATFORM_INCIDENT;
}

/* Unpack n_events packed events p[0..len) of order `oid` after the events
 * gathered so far. SCAN_REDO (whole-record scans) when one of them would not
 * belong to `oid` in an event-by-event scan. */
static int gather(scanner *sc, fc_str oid, const uint8_t *p, size_t len, size_t n_events) {
    fc__visit *v = &sc->v;
    void *arr = v->evs;
    if (fc_grow(&arr, &v->cap_evs, v->n_evs + n_events, sizeof *v->evs) != FC_OK) {
        return oom(sc);
    }
    v->evs = arr;
    size_t off = 0;
    for (size_t i = 0; i < n_events; i++) {
        fc_event *e = &v->evs[v->n_evs];
        size_t used = 0;
        int urc = sc->phase == PHASE_CARRY
                      ? fc_event_unpack_head(p + off, len - off, sc->carry_fields, e, &used)
                      : fc_event_unpack(p + off, len - off, e, &used);
        if (urc != FC_OK) {
            return fc_err_set(sc->err, FC_ESTORE, NULL, 0, 0,
                              "corrupt events in the records of order '%.*s'", (int)oid.n, oid.p);
        }
        if (is_window(e->type) || (e->order.n > 0 && !fc_str_eq(e->order, oid))) {
            if (sc->mode != MODE_EXACT) {
                return SCAN_REDO;
            }
            return fc_err_set(sc->err, FC_EINTERNAL, NULL, 0, 0,
                              "an event was grouped under the wrong order");
        }
        off += used;
        v->n_evs++;
    }
    return FC_OK;
}

static int has_hash(const uint64_t *sorted, size_t n, uint64_t h) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sorted[mid] < h) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < n && sorted[lo] == h;
}

static void progress(scanner *sc, int64_t records_read) {
    const fc_scan_opts *o = sc->v.opts;
    if (o->progress != NULL) {
        o->progress(o->progress_ud, sc->v.orders, records_read, sc->records_total);
    }
}

/* The gathered events (one order): note its rider's interval, or visit it. */
static int fold_order(scanner *sc, uint64_t h) {
    fc__visit *v = &sc->v;
    if (sc->phase == PHASE_CARRY) {
        uint64_t seq = v->seq++;
        fc_order_facts facts;
        const fc__city_ctx *cc = NULL;
        const fc_rider *rider = NULL;
        int rc = fc__scan_fold(v, 0, &facts, &cc, &rider);
        if (rc == FC_ENOMEM) {
            return oom(sc);
        }
        if (rc != FC_OK) {
            return FC_OK;
        }
        rc = fc__scan_tell_carry(v, &facts);
        if (rc != FC_OK || facts.picked_up_at == FC_TS_NONE || facts.delivered_at == FC_TS_NONE ||
            seq >= NONE) {
            return rc;
        }
        /* An empty interval overlaps nothing: noted as riderless (0). */
        int64_t rid =
            facts.delivered_at > facts.picked_up_at ? fc_dict_intern(sc->riders, facts.rider) : 0;
        void *arr = sc->carries;
        if (rid < 0 ||
            fc_grow(&arr, &sc->cap_carries, sc->n_carries + 1, sizeof *sc->carries) != FC_OK) {
            return oom(sc);
        }
        sc->carries = arr;
        sc->carries[sc->n_carries++] =
            (carry){(uint32_t)rid, (uint32_t)seq, facts.picked_up_at, facts.delivered_at};
        return FC_OK;
    }
    if (sc->n_skip > 0 && has_hash(sc->skip, sc->n_skip, h)) {
        v->seq++;
        return FC_OK; /* visited before the scan started again */
    }
    int visited = 0;
    int rc = fc__scan_visit(v, &visited);
    if (visited && sc->mode == MODE_TWO) {
        void *arr = sc->visited;
        if (fc_grow(&arr, &sc->cap_visited, sc->n_visited + 1, sizeof *sc->visited) != FC_OK) {
            return oom(sc);
        }
        sc->visited = arr;
        sc->visited[sc->n_visited++] = h;
    }
    if (rc == FC_OK && visited && v->orders % PROGRESS_EVERY == 0) {
        progress(sc, sc->records);
    }
    return rc;
}

static int bit_is_set(const uint64_t *bits, uint64_t i) {
    return (bits[i / 64] >> (i % 64)) & 1;
}

/* A unit of order `oid`: n_events packed events p[0..len). */
static int on_unit(scanner *sc, fc_str oid, const uint8_t *p, size_t len, size_t n_events) {
    if (sc->mode != MODE_TWO) {
        int rc = put_chunk(sc, oid, fc_hash_str(oid), p, len, n_events);
        if (rc == FC_OK && sc->mode == MODE_ONE && sc->held > sc->hold_max) {
            return SCAN_SWITCH;
        }
        return rc;
    }
    if (sc->unit == NONE) {
        return fc_err_set(sc->err, FC_ELIMIT, NULL, 0, 0, "too many records to scan");
    }
    if (sc->pass == 1) {
        uint64_t h = fc_hash_str(oid);
        void *arr = sc->unit_hash;
        if (fc_grow(&arr, &sc->cap_units, (size_t)sc->unit + 1, sizeof *sc->unit_hash) != FC_OK) {
            return oom(sc);
        }
        sc->unit_hash = arr;
        sc->unit_hash[sc->unit] = h;
        if (((size_t)sc->unit + 1) * SEEN_BITS_PER_UNIT > ((size_t)1 << sc->seen_log2) &&
            sc->seen_log2 < 40 && build_seen(sc, sc->seen_log2 + 2, sc->unit) != FC_OK) {
            return oom(sc);
        }
        uint64_t bit = h >> (64 - sc->seen_log2);
        int rc = FC_OK;
        if (bit_is_set(sc->seen, bit)) {
            rc = put_chunk(sc, oid, h, p, len, n_events);
        } else {
            sc->seen[bit / 64] |= (uint64_t)1 << (bit % 64);
        }
        sc->unit++;
        return rc;
    }
    uint32_t unit = sc->unit++;
    if (!bit_is_set(sc->is_first, unit)) {
        return FC_OK; /* gathered with the order's first unit */
    }
    sc->v.n_evs = 0;
    int rc = gather(sc, oid, p, len, n_events);
    if (rc == FC_OK && sc->next_pair < sc->n_pairs && sc->pair_unit[sc->next_pair] == unit) {
        size_t run = sc->pair_run[sc->next_pair++];
        for (size_t j = run; rc == FC_OK && j < sc->n_chunks && sc->hashes[j] == sc->hashes[run];
             j++) {
            const chunk *ch = &sc->chunks[sc->sorted[j]];
            if (ch->unit == unit) {
                continue; /* this very unit, copied in pass 1 just in case */
            }
            if (!fc_str_eq(chunk_order(ch), oid)) {
                return SCAN_REDO; /* two orders share a hash */
            }
            rc = gather(sc, oid, ch->p, ch->len, ch->n_events);
        }
    }
    return rc != FC_OK ? rc : fold_order(sc, fc_hash_str(oid));
}

/* Between the passes: each order's first unit (is_first), and for those
 * with chunks, where the chunks start (pair_unit, pair_run, by unit). */
static int plan_pass2(scanner *sc) {
    size_t n = sc->unit;
    int rc = FC_ENOMEM;
    uint32_t *units = fc_malloc((n + 1) * sizeof *units);
    sc->is_first = fc_calloc(n / 64 + 1, sizeof *sc->is_first);
    if (units == NULL || sc->is_first == NULL) {
        goto out;
    }
    for (size_t u = 0; u < n; u++) {
        units[u] = (uint32_t)u;
    }
    fc_free(sc->seen);
    sc->seen = NULL;
    if (radix_sort(sc->unit_hash, units, n) != FC_OK) {
        goto out;
    }
    size_t n_multi = 0;
    for (size_t a = 0, b; a < n; a = b) {
        for (b = a + 1; b < n && sc->unit_hash[b] == sc->unit_hash[a]; b++) {
        }
        sc->is_first[units[a] / 64] |= (uint64_t)1 << (units[a] % 64);
        n_multi += b - a > 1;
    }
    sc->pair_unit = fc_malloc((n_multi + 1) * sizeof *sc->pair_unit);
    sc->pair_run = fc_malloc((n_multi + 1) * sizeof *sc->pair_run);
    if (sc->pair_unit == NULL || sc->pair_run == NULL) {
        goto out;
    }
    size_t j = 0;
    for (size_t a = 0, b; a < n; a = b) {
        for (b = a + 1; b < n && sc->unit_hash[b] == sc->unit_hash[a]; b++) {
        }
        if (b - a == 1) {
            continue;
        }
        while (j < sc->n_chunks && sc->hashes[j] < sc->unit_hash[a]) {
            j++;
        }
        sc->pair_unit[sc->n_pairs] = units[a];
        sc->pair_run[sc->n_pairs++] = (uint32_t)j;
    }
    rc = radix_sort(sc->pair_unit, sc->pair_run, sc->n_pairs);
out:
    fc_free(units);
    fc_free(sc->unit_hash);
    sc->unit_hash = NULL;
    return rc;
}

static int on_record(void *ud, fc_str record_id, fc_str order, const uint8_t *packed, size_t len,
                     size_t n) {
    scanner *sc = ud;
    if (sc->pass == 2) {
        if (sc->records_left == 0) {
            return SCAN_DONE;
        }
        sc->records_left--;
    } else {
        sc->records++;
        sc->events += (int64_t)n;
        if (sc->records % PROGRESS_EVERY == 0) {
            progress(sc, sc->records);
        }
    }
    if (order.n > 0 && sc->mode != MODE_EXACT) {
        return on_unit(sc, order, packed, len, n);
    }
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        fc_event e;
        size_t used = 0;
        if (fc_event_unpack(packed + at, len - at, &e, &used) != FC_OK) {
            return fc_err_set(sc->err, FC_ESTORE, NULL, 0, 0, "corrupt events in record '%.*s'",
                              (int)record_id.n, record_id.p);
        }
        const uint8_t *p = packed + at;
        at += used;
        if (is_window(e.type)) {
            if (sc->pass != 2 && fc__scan_add_window(&sc->v, &e) != FC_OK) {
                return oom(sc);
            }
            continue;
        }
        fc_str oid = e.order.n > 0 ? e.order : order;
        if (oid.n == 0) {
            continue;
        }
        int rc = on_unit(sc, oid, p, used, 1);
        if (rc != FC_OK) {
            return rc;
        }
    }
    return 0;
}

/* Sort the chunks by order hash into sc->sorted and sc->hashes (stable:
 * each order's chunks stay in log order). FC_OK or FC_ENOMEM. */
static int sort_chunks(scanner *sc) {
    size_t n = sc->n_chunks;
    sc->sorted = fc_malloc((n + 1) * sizeof *sc->sorted);
    sc->hashes = fc_malloc((n + 1) * sizeof *sc->hashes);
    if (sc->sorted == NULL || sc->hashes == NULL) {
        return FC_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        sc->hashes[i] = sc->chunks[i].hash;
        sc->sorted[i] = (uint32_t)i;
    }
    return radix_sort(sc->hashes, sc->sorted, n);
}

/* The one-pass scan found, at chunk `c`, that it must start again after
 * visiting orders: note the orders met before (first chunks before c).
 * SCAN_REDO, or an error. */
static int note_met(scanner *sc, const uint8_t *is_first, size_t c) {
    for (size_t k = 0; k < c; k++) {
        if (!is_first[k]) {
            continue;
        }
        void *arr = sc->visited;
        if (fc_grow(&arr, &sc->cap_visited, sc->n_visited + 1, sizeof *sc->visited) != FC_OK) {
            return oom(sc);
        }
        sc->visited = arr;
        sc->visited[sc->n_visited++] = sc->chunks[k].hash;
    }
    return SCAN_REDO;
}

/* The one-pass scan: every unit is a chunk; fold each order at its first
 * chunk, in log order. Run once per phase. */
static int fold_held(scanner *sc) {
    size_t n = sc->n_chunks;
    uint8_t *is_first = fc_calloc(n + 1, 1);
    uint32_t *start = fc_malloc((n + 1) * sizeof *start);
    int rc = FC_OK;
    if (is_first == NULL || start == NULL) {
        rc = oom(sc);
        goto out;
    }
    /* The first chunk of each order, and where its run of equal hashes starts. */
    for (size_t a = 0; a < n;) {
        size_t b = a + 1;
        while (b < n && sc->hashes[b] == sc->hashes[a]) {
            b++;
        }
        for (size_t j = a; j < b; j++) {
            size_t k = a;
            if (j > a) { /* a later chunk: of the same order as an earlier one? */
                fc_str id = chunk_order(&sc->chunks[sc->sorted[j]]);
                while (k < j && !fc_str_eq(chunk_order(&sc->chunks[sc->sorted[k]]), id)) {
                    k++;
                }
            }
            is_first[sc->sorted[j]] = k == j;
            start[sc->sorted[j]] = (uint32_t)a;
        }
        a = b;
    }
    for (size_t c = 0; c < n && rc == FC_OK; c++) {
        if (!is_first[c]) {
            continue;
        }
        fc_str oid = chunk_order(&sc->chunks[c]);
        sc->v.n_evs = 0;
        for (size_t j = start[c]; rc == FC_OK && j < n && sc->hashes[j] == sc->chunks[c].hash;
             j++) {
            const chunk *ch = &sc->chunks[sc->sorted[j]];
            if (fc_str_eq(chunk_order(ch), oid)) {
                rc = gather(sc, oid, ch->p, ch->len, ch->n_events);
            }
        }
        if (rc == FC_OK) {
            rc = fold_order(sc, sc->chunks[c].hash);
        }
        if (rc == SCAN_REDO && sc->phase == PHASE_VISIT && sc->v.orders > sc->orders_before) {
            rc = note_met(sc, is_first, c);
        }
    }
out:
    fc_free(is_first);
    fc_free(start);
    return rc;
}

/* Pass 2 of a two-pass scan (run once per phase). */
static int read_pass2(fc_store *s, scanner *sc) {
    sc->pass = 2;
    sc->unit = 0;
    sc->next_pair = 0;
    sc->records_left = sc->records;
    int rc = fc_store_scan_packed(s, on_record, sc, sc->err);
    if (rc == SCAN_DONE) {
        rc = FC_OK;
    }
    if (rc == FC_OK && sc->records_left != 0) {
        rc = fc_err_set(sc->err, FC_EINTERNAL, NULL, 0, 0,
                        "the records changed while the orders were scanned");
    }
    return rc;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Sort t[0..n): insertion for the few orders most riders carry in a
 * period, qsort beyond. */
static void sort_times(int64_t *t, size_t n) {
    if (n > 32) {
        qsort(t, n, sizeof *t, cmp_i64);
        return;
    }
    for (size_t i = 1; i < n; i++) {
        int64_t x = t[i];
        size_t j = i;
        for (; j > 0 && t[j - 1] > x; j--) {
            t[j] = t[j - 1];
        }
        t[j] = x;
    }
}

/* Number of t[0..n) (sorted) below x, or at most x when `or_equal`. */
static size_t count_before(const int64_t *t, size_t n, int64_t x, int or_equal) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t[mid] < x || (or_equal && t[mid] == x)) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* Stacked orders of each noted order. A rider's pickups and deliveries,
 * each sorted: of the rider's orders, those picked up before this delivery
 * overlap this order unless delivered by its pickup (those are among them:
 * delivered after their own pickup); this order counts itself once. */
static int compute_stacked(scanner *sc) {
    int rc = FC_OK;
    size_t n_orders = sc->v.seq, n = sc->n_carries;
    size_t n_riders = fc_dict_count(sc->riders);
    size_t *start = fc_calloc(n_riders + 2, sizeof *start);
    int64_t *picked = fc_malloc((n + 1) * sizeof *picked);
    int64_t *delivered = fc_malloc((n + 1) * sizeof *delivered);
    sc->stacked = fc_malloc((n_orders + 1) * sizeof *sc->stacked);
    if (start == NULL || picked == NULL || delivered == NULL || sc->stacked == NULL) {
        rc = oom(sc);
        goto out;
    }
    for (size_t i = 0; i < n_orders; i++) {
        sc->stacked[i] = FC_INT_NONE;
    }
    /* Group the instants by rider (counting sort), then sort each group. */
    for (size_t i = 0; i < n; i++) {
        start[sc->carries[i].rider + 2]++;
    }
    for (size_t r = 2; r <= n_riders + 1; r++) {
        start[r] += start[r - 1];
    }
    for (size_t i = 0; i < n; i++) {
        const carry *c = &sc->carries[i];
        size_t at = start[c->rider + 1]++;
        picked[at] = c->picked_up_at;
        delivered[at] = c->delivered_at;
    }
    for (size_t r = 1; r < n_riders; r++) { /* rider 0: no rider, nothing overlaps */
        sort_times(picked + start[r], start[r + 1] - start[r]);
        sort_times(delivered + start[r], start[r + 1] - start[r]);
    }
    for (size_t i = 0; i < n; i++) {
        const carry *c = &sc->carries[i];
        if (c->rider == 0) {
            sc->stacked[c->seq] = 0;
            continue;
        }
        size_t lo = start[c->rider], len = start[c->rider + 1] - lo;
        size_t before_end = count_before(picked + lo, len, c->delivered_at, 0);
        size_t done = count_before(delivered + lo, len, c->picked_up_at, 1);
        size_t others = before_end - done - 1;
        sc->stacked[c->seq] = others > INT32_MAX ? INT32_MAX : (int32_t)others;
    }
    sc->v.stacked = sc->stacked;
    sc->v.n_stacked = n_orders;
out:
    fc_free(start);
    fc_free(picked);
    fc_free(delivered);
    return rc;
}

/* Fold every order (as the visit pass will) and compute stacked_orders. */
static int carry_pass(fc_store *s, scanner *sc) {
    sc->phase = PHASE_CARRY;
    /* The fold needs only the type, instant, id, order and rider of each
     * event to tell the pickup, the delivery and the final rider: the
     * fields up to the rider are unpacked, the rest walked over. Events
     * that share an id sort by those fields first, so the same ones win. */
    sc->carry_fields = (size_t)fc_event_field_find(fc_str_c("rider")) + 1;
    sc->riders = fc_dict_new();
    if (sc->riders == NULL || fc_dict_intern(sc->riders, fc_str_make("", 0)) != 0) {
        return oom(sc);
    }
    int rc = sc->mode != MODE_TWO ? fold_held(sc) : read_pass2(s, sc);
    if (rc == FC_OK) {
        rc = compute_stacked(sc);
    }
    sc->phase = PHASE_VISIT;
    sc->v.seq = 0;
    return rc;
}

static void scanner_free(scanner *sc) {
    fc_free(sc->unit_hash);
    fc_free(sc->seen);
    fc_free(sc->is_first);
    fc_free(sc->pair_unit);
    fc_free(sc->pair_run);
    free_blocks(sc->blocks);
    fc_free(sc->chunks);
    fc_free(sc->sorted);
    fc_free(sc->hashes);
    fc_free(sc->carries);
    fc_dict_free(sc->riders);
    fc_free(sc->stacked);
    fc_free(sc->visited);
    fc__scan_visit_free(&sc->v);
}

typedef struct scan_run {
    fc_store *s;
    const fc_scan_opts *opts;
    const fc_settings *settings;
    const fc_ref *ref;
    fc_scan_cb cb;
    void *ud;
    size_t hold_max;
    int64_t records_total;
    const uint64_t *skip; /* orders visited by an earlier pass, sorted hashes */
    size_t n_skip;
    int64_t orders_before; /* visited by earlier passes */
    fc_err *err;
} scan_run;

/* One scan in `mode`. FC_OK with *retry set to the mode of the scan to run
 * instead, or MODE_NONE when done; *visited (caller frees) gets the sorted
 * hashes of the orders visited when a retry follows visits. */
static int scan_pass(const scan_run *r, scan_mode mode, scan_mode *retry, uint64_t **visited,
                     size_t *n_visited, fc_scan_stats *stats) {
    int rc = FC_OK;
    scanner sc = {0};
    *retry = MODE_NONE;
    sc.mode = mode;
    sc.hold_max = r->hold_max;
    sc.pass = 1;
    sc.err = r->err;
    sc.records_total = r->records_total;
    sc.skip = r->skip;
    sc.n_skip = r->n_skip;
    sc.orders_before = r->orders_before;
    sc.v = (fc__visit){.opts = r->opts,
                       .settings = r->settings,
                       .cb = r->cb,
                       .ud = r->ud,
                       .err = r->err,
                       .orders = r->orders_before};
    fc__scan_visit_ref(&sc.v, r->ref);
    sc.v.arena = fc_arena_new(0);
    sc.v.city_names = fc_dict_new();
    if (sc.v.arena == NULL || sc.v.city_names == NULL ||
        (mode == MODE_TWO && build_seen(&sc, SEEN_MIN_LOG2, 0) != FC_OK)) {
        rc = oom(&sc);
        goto out;
    }
    rc = fc_store_scan_packed(r->s, on_record, &sc, r->err);
    if (rc != FC_OK) {
        goto out;
    }
    fc__scan_sort_windows(&sc.v);
    if (sort_chunks(&sc) != FC_OK) {
        rc = oom(&sc);
        goto out;
    }
    if (mode == MODE_TWO && plan_pass2(&sc) != FC_OK) {
        rc = oom(&sc);
        goto out;
    }
    if (r->opts->context) {
        rc = carry_pass(r->s, &sc);
        if (rc != FC_OK) {
            goto out;
        }
    }
    rc = mode != MODE_TWO ? fold_held(&sc) : read_pass2(r->s, &sc);
out:
    if (rc == SCAN_REDO || rc == SCAN_SWITCH) {
        *retry = rc == SCAN_REDO ? MODE_EXACT : MODE_TWO;
        rc = FC_OK;
        if (sc.n_visited > 0) {
            uint32_t *idx = fc_malloc((sc.n_visited + 1) * sizeof *idx);
            if (idx == NULL || radix_sort(sc.visited, idx, sc.n_visited) != FC_OK) {
                rc = oom(&sc);
            } else {
                *visited = sc.visited;
                *n_visited = sc.n_visited;
                sc.visited = NULL;
            }
            fc_free(idx);
        }
    } else if (rc == FC__SCAN_STOP) {
        rc = sc.v.stop_rc;
    } else if (rc > 0) {
        rc = fc_err_set(r->err, FC_EINTERNAL, NULL, 0, 0, "the scan stopped unexpectedly");
    }
    if (rc == FC_OK || rc == sc.v.stop_rc) {
        *stats = (fc_scan_stats){.records = sc.records,
                                 .events = sc.events,
                                 .orders = sc.v.orders,
                                 .skipped = sc.v.skipped,
                                 .filtered = sc.v.filtered,
                                 .weather = (int64_t)sc.v.n_weather,
                                 .incidents = (int64_t)sc.v.n_incidents};
        if (rc == FC_OK && *retry == MODE_NONE) {
            progress(&sc, sc.records);
        }
    }
    scanner_free(&sc);
    return rc;
}

/* The bytes a one-pass scan may hold: $FULCRUM_LOAD_HOLD_MB, else an eighth
 * of the machine's memory within [HOLD_MB_MIN, HOLD_MB_MAX] (HOLD_MB_MIN
 * when it cannot be told). A scan that passes it starts again in two
 * passes, so a budget below the store's size wastes a partial pass. */
static size_t hold_budget(void) {
    size_t hold_mb = HOLD_MB_MIN;
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages > 0 && page > 0) {
        uint64_t eighth_mb = ((uint64_t)pages * (uint64_t)page >> 20) / 8;
        hold_mb = eighth_mb < HOLD_MB_MIN   ? HOLD_MB_MIN
                  : eighth_mb > HOLD_MB_MAX ? HOLD_MB_MAX
                                            : (size_t)eighth_mb;
    }
    const char *env = getenv("FULCRUM_LOAD_HOLD_MB");
    if (env != NULL && env[0] != '\0') {
        char *end = NULL;
        unsigned long long v = strtoull(env, &end, 10);
        if (end != NULL && *end == '\0' && v <= SIZE_MAX >> 20) {
            hold_mb = (size_t)v;
        }
    }
    return hold_mb << 20;
}

int fc_scan_orders(fc_store *s, const fc_scan_opts *o, fc_scan_cb cb, void *ud,
                   fc_scan_stats *stats, fc_err *err) {
    int rc = FC_OK;
    fc_ref *ref = fc_ref_new();
    fc_settings *own_settings = NULL;
    uint64_t *skip = NULL;
    size_t n_skip = 0;
    fc_scan_opts defaults;
    fc_scan_stats st = {0};
    if (o == NULL) {
        fc_scan_opts_init(&defaults);
        o = &defaults;
    }
    const fc_settings *settings = o->settings;
    if (settings == NULL) {
        own_settings = fc_settings_default();
        settings = own_settings;
    }
    if (ref == NULL || settings == NULL) {
        rc = fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
        goto out;
    }
    rc = o->ref != NULL ? FC_OK : fc_store_load_ref(s, ref, err);
    if (rc != FC_OK) {
        goto out;
    }
    scan_run r = {.s = s,
                  .opts = o,
                  .settings = settings,
                  .ref = o->ref != NULL ? o->ref : ref,
                  .cb = cb,
                  .ud = ud,
                  .hold_max = hold_budget(),
                  .err = err};
    if (o->progress != NULL) {
        int64_t events = 0;
        rc = fc_store_counts(s, &r.records_total, &events, err);
        if (rc != FC_OK) {
            goto out;
        }
    }
    /* One pass; two when it would hold too much; event by event when a
     * record is not all one order's (at most three scans). */
    scan_mode mode = MODE_ONE;
    while (rc == FC_OK && mode != MODE_NONE) {
        scan_mode retry = MODE_NONE;
        uint64_t *visited = NULL;
        size_t n_visited = 0;
        rc = scan_pass(&r, mode, &retry, &visited, &n_visited, &st);
        if (rc == FC_OK && n_visited > 0) {
            if (o->restart != NULL) {
                rc = o->restart(ud);
                fc_free(visited);
            } else {
                fc_free(skip);
                skip = visited;
                n_skip = n_visited;
                r.skip = skip;
                r.n_skip = n_skip;
                r.orders_before = st.orders;
            }
        }
        mode = retry;
    }
    if (stats != NULL) {
        *stats = st;
    }
out:
    fc_free(skip);
    fc_ref_free(ref);
    fc_settings_free(own_settings);
    return rc;
}
