/*
 * Dictionary: string interning to dense ids with an open-addressing hash
 * table (linear probing). A slot of 32 bytes holds 32 bits of the key's
 * hash, its id and length, and the key itself when it fits (up to 20
 * bytes: ids, names, codes): a probe touches one cache line and nothing
 * else. Fact-table loads intern merchants and riders by the million, and
 * those tables do not fit in the caches, so every line saved is a miss
 * saved. The strings also live in chunks that never move, so views handed
 * out stay valid.
 */
#include "core/core.h"

#include <string.h>
#include <sys/mman.h>

#define FC_DICT_CHUNK  (256 * 1024)
#define FC_DICT_MAX_ID 0x7FFFFFFEu

#define FC_DICT_INLINE 20

typedef struct fc_dict_slot {
    uint32_t tag;             /* 32 bits of the hash */
    uint32_t id_p1;           /* id + 1; 0 means empty */
    uint32_t n;               /* key length */
    char key[FC_DICT_INLINE]; /* the key when n <= FC_DICT_INLINE */
} fc_dict_slot;

typedef struct fc_dict_chunk {
    struct fc_dict_chunk *next;
    size_t size, used;
    char data[];
} fc_dict_chunk;

struct fc_dict {
    fc_dict_slot *slots;
    void *slots_mem; /* the allocation slots lies in */
    uint32_t mask;   /* slot count - 1 (a power of two) */
    uint32_t count;  /* number of ids */
    fc_str *strs;    /* id -> string */
    size_t strs_cap;
    fc_dict_chunk *chunks; /* newest first */
};

/* Slot tables from this size on lie on huge pages where the system has them:
 * the merchant and rider tables are probed at random, one row after
 * another, and with 4 KiB pages most probes also miss the TLB. */
#define FC_DICT_HUGE_BYTES ((size_t)2 << 20)

/* A zeroed table of n slots (a power of two); *mem is what to free. */
static fc_dict_slot *fc__dict_slots_new(uint32_t n, void **mem) {
    size_t bytes = (size_t)n * sizeof(fc_dict_slot);
    if (bytes < FC_DICT_HUGE_BYTES) {
        *mem = fc_calloc(n, sizeof(fc_dict_slot));
        return *mem;
    }
    /* bytes is a multiple of the huge page: align the table to one. */
    char *raw = fc_malloc(bytes + FC_DICT_HUGE_BYTES);
    if (raw == NULL) {
        *mem = NULL;
        return NULL;
    }
    uintptr_t a = ((uintptr_t)raw + FC_DICT_HUGE_BYTES - 1) & ~(uintptr_t)(FC_DICT_HUGE_BYTES - 1);
    char *p = raw + (a - (uintptr_t)raw);
#ifdef MADV_HUGEPAGE
    (void)madvise(p, bytes, MADV_HUGEPAGE); /* a hint: ignored where unsupported */
#endif
    memset(p, 0, bytes);
    *mem = raw;
    return (fc_dict_slot *)(void *)p;
}

fc_dict *fc_dict_new(void) {
    fc_dict *d = fc_calloc(1, sizeof *d);
    if (d == NULL) {
        return NULL;
    }
    d->mask = 63;
    d->slots = fc__dict_slots_new(64, &d->slots_mem);
    if (d->slots == NULL) {
        fc_free(d);
        return NULL;
    }
    return d;
}

void fc_dict_free(fc_dict *d) {
    if (d == NULL) {
        return;
    }
    fc_dict_chunk *c = d->chunks;
    while (c != NULL) {
        fc_dict_chunk *next = c->next;
        fc_free(c);
        c = next;
    }
    fc_free(d->slots_mem);
    fc_free(d->strs);
    fc_free(d);
}

/* A 64x64 -> 128-bit multiply folded to 64 bits. */
static inline uint64_t fc__dict_mix(uint64_t a, uint64_t b) {
    unsigned __int128 r = (unsigned __int128)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t fc__dict_load(const char *p, size_t n) {
    uint64_t v = 0;
    memcpy(&v, p, n);
    return v;
}

/* Keys are mostly short (ids, names, codes): up to 16 bytes they are read
 * as two overlapping words and mixed by one multiply, in a few cycles;
 * longer keys go through fc_hash64. The hash never leaves the process, so
 * it need not be stable across machines. */
uint64_t fc_dict_hash(fc_str s) {
    const char *p = s.p;
    size_t n = s.n;
    uint64_t a, b;
    if (n > 16) {
        return fc_hash64(p, n, 0);
    }
    if (n >= 8) {
        a = fc__dict_load(p, 8);
        b = fc__dict_load(p + n - 8, 8);
    } else if (n >= 4) {
        a = fc__dict_load(p, 4);
        b = fc__dict_load(p + n - 4, 4);
    } else if (n > 0) {
        a = (uint64_t)(unsigned char)p[0] << 16 | (uint64_t)(unsigned char)p[n >> 1] << 8 |
            (unsigned char)p[n - 1];
        b = 0;
    } else {
        a = b = 0;
    }
    return fc__dict_mix(a ^ 0xa0761d6478bd642full, b ^ 0xe7037ed1a0b428dbull ^ n) ^
           fc__dict_mix(a ^ 0x8ebc6af09c88c6e3ull, 0x589965cc75374cc3ull);
}

static inline uint32_t fc__dict_tag(uint64_t h) {
    return (uint32_t)(h ^ (h >> 32));
}

void fc_dict_prefetch(const fc_dict *d, uint64_t h) {
    __builtin_prefetch(&d->slots[fc__dict_tag(h) & d->mask]);
}

/* Do the n bytes (n <= FC_DICT_INLINE) at a and b agree? Overlapping word
 * loads inside [0, n) instead of a call to memcmp. */
static inline int fc__dict_short_eq(const char *a, const char *b, size_t n) {
    if (n >= 8) {
        uint64_t x = fc__dict_load(a, 8) ^ fc__dict_load(b, 8);
        x |= fc__dict_load(a + n - 8, 8) ^ fc__dict_load(b + n - 8, 8);
        if (n > 16) {
            x |= fc__dict_load(a + 8, 8) ^ fc__dict_load(b + 8, 8);
        }
        return x == 0;
    }
    if (n >= 4) {
        uint64_t x = fc__dict_load(a, 4) ^ fc__dict_load(b, 4);
        x |= fc__dict_load(a + n - 4, 4) ^ fc__dict_load(b + n - 4, 4);
        return x == 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (a[i] != b[i]) {
            return 0;
        }
    }
    return 1;
}

/* Slot index of s, or of the empty slot where it would go. */
static inline uint32_t fc__dict_probe(const fc_dict *d, fc_str s, uint32_t tag) {
    uint32_t i = tag & d->mask;
    for (;;) {
        const fc_dict_slot *sl = &d->slots[i];
        if (sl->id_p1 == 0) {
            return i;
        }
        if (sl->tag == tag && sl->n == s.n) {
            if (s.n <= FC_DICT_INLINE ? fc__dict_short_eq(sl->key, s.p, s.n)
                                      : memcmp(d->strs[sl->id_p1 - 1].p, s.p, s.n) == 0) {
                return i;
            }
        }
        i = (i + 1) & d->mask;
    }
}

int64_t fc_dict_find(const fc_dict *d, fc_str s) {
    uint32_t i = fc__dict_probe(d, s, fc__dict_tag(fc_dict_hash(s)));
    return (int64_t)d->slots[i].id_p1 - 1;
}

/* Double the table; FC_ENOMEM leaves it as it was. */
static int fc__dict_rehash(fc_dict *d) {
    uint32_t nslots = (d->mask + 1) * 2;
    if (nslots == 0) {
        return FC_ELIMIT;
    }
    void *mem = NULL;
    fc_dict_slot *ns = fc__dict_slots_new(nslots, &mem);
    if (ns == NULL) {
        return FC_ENOMEM;
    }
    uint32_t nmask = nslots - 1;
    for (uint32_t k = 0; k <= d->mask; k++) {
        const fc_dict_slot *sl = &d->slots[k];
        if (sl->id_p1 == 0) {
            continue;
        }
        uint32_t i = sl->tag & nmask;
        while (ns[i].id_p1 != 0) {
            i = (i + 1) & nmask;
        }
        ns[i] = *sl;
    }
    fc_free(d->slots_mem);
    d->slots = ns;
    d->slots_mem = mem;
    d->mask = nmask;
    return FC_OK;
}

/* Copy s (NUL-terminated) into the chunk storage. NULL on OOM. */
static char *fc__dict_store(fc_dict *d, fc_str s) {
    size_t need = (size_t)s.n + 1;
    fc_dict_chunk *c = d->chunks;
    if (c == NULL || c->size - c->used < need) {
        size_t size = need > FC_DICT_CHUNK ? need : FC_DICT_CHUNK;
        c = fc_malloc(sizeof *c + size);
        if (c == NULL) {
            return NULL;
        }
        c->size = size;
        c->used = 0;
        c->next = d->chunks;
        d->chunks = c;
    }
    char *p = c->data + c->used;
    if (s.n > 0) {
        memcpy(p, s.p, s.n);
    }
    p[s.n] = '\0';
    c->used += need;
    return p;
}

int64_t fc_dict_intern_h(fc_dict *d, fc_str s, uint64_t h) {
    uint32_t tag = fc__dict_tag(h);
    uint32_t i = fc__dict_probe(d, s, tag);
    if (d->slots[i].id_p1 != 0) {
        return (int64_t)d->slots[i].id_p1 - 1;
    }
    if (d->count >= FC_DICT_MAX_ID) {
        return FC_ELIMIT;
    }
    uint32_t id = d->count;
    if (fc_grow((void **)&d->strs, &d->strs_cap, (size_t)id + 1, sizeof(fc_str)) != FC_OK) {
        return FC_ENOMEM;
    }
    /* Keep the load factor at or below 1/2; grow before inserting so a
     * failure leaves the dict unchanged. */
    if ((uint64_t)(d->count + 1) * 2 > (uint64_t)d->mask + 1) {
        int rc = fc__dict_rehash(d);
        if (rc != FC_OK) {
            return rc;
        }
        i = fc__dict_probe(d, s, tag);
    }
    char *copy = fc__dict_store(d, s);
    if (copy == NULL) {
        return FC_ENOMEM;
    }
    d->strs[id] = fc_str_make(copy, s.n);
    fc_dict_slot *sl = &d->slots[i];
    sl->tag = tag;
    sl->id_p1 = id + 1;
    sl->n = s.n;
    if (s.n <= FC_DICT_INLINE && s.n > 0) {
        memcpy(sl->key, s.p, s.n);
    }
    d->count = id + 1;
    return (int64_t)id;
}

int64_t fc_dict_intern(fc_dict *d, fc_str s) {
    return fc_dict_intern_h(d, s, fc_dict_hash(s));
}

fc_str fc_dict_get(const fc_dict *d, uint32_t id) {
    if (d == NULL || id >= d->count) {
        return FC_STR_NULL;
    }
    return d->strs[id];
}

uint32_t fc_dict_count(const fc_dict *d) {
    return d == NULL ? 0 : d->count;
}
