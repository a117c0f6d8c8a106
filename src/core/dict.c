/*
 * Dictionary: string interning to dense ids with an open-addressing hash
 * table (linear probing). Each slot holds the id + 1 (0 = empty) and 32 bits
 * of the key's hash, so most probes never touch the string bytes.
 * The strings live in chunks that never move, so views handed out stay valid.
 */
#include "core/core.h"

#include <string.h>

#define FC_DICT_CHUNK  (256 * 1024)
#define FC_DICT_MAX_ID 0x7FFFFFFEu

typedef struct fc_dict_slot {
    uint32_t tag;   /* low 32 bits of the hash */
    uint32_t id_p1; /* id + 1; 0 means empty */
} fc_dict_slot;

typedef struct fc_dict_chunk {
    struct fc_dict_chunk *next;
    size_t size, used;
    char data[];
} fc_dict_chunk;

struct fc_dict {
    fc_dict_slot *slots;
    uint32_t mask;    /* slot count - 1 (a power of two) */
    uint32_t count;   /* number of ids */
    fc_str *strs;     /* id -> string */
    uint32_t *hashes; /* id -> tag, so growing never rehashes the bytes */
    size_t strs_cap, hashes_cap;
    fc_dict_chunk *chunks; /* newest first */
};

fc_dict *fc_dict_new(void) {
    fc_dict *d = fc_calloc(1, sizeof *d);
    if (d == NULL) {
        return NULL;
    }
    d->mask = 63;
    d->slots = fc_calloc(64, sizeof(fc_dict_slot));
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
    fc_free(d->slots);
    fc_free(d->strs);
    fc_free(d->hashes);
    fc_free(d);
}

static inline uint32_t fc__dict_tag(fc_str s) {
    uint64_t h = fc_hash64(s.p, s.n, 0);
    return (uint32_t)(h ^ (h >> 32));
}

int64_t fc_dict_find(const fc_dict *d, fc_str s) {
    uint32_t tag = fc__dict_tag(s);
    uint32_t i = tag & d->mask;
    for (;;) {
        const fc_dict_slot *sl = &d->slots[i];
        if (sl->id_p1 == 0) {
            return -1;
        }
        if (sl->tag == tag) {
            fc_str k = d->strs[sl->id_p1 - 1];
            if (k.n == s.n && (s.n == 0 || memcmp(k.p, s.p, s.n) == 0)) {
                return (int64_t)(sl->id_p1 - 1);
            }
        }
        i = (i + 1) & d->mask;
    }
}

/* Double the table; FC_ENOMEM leaves it as it was. */
static int fc__dict_rehash(fc_dict *d) {
    uint32_t nslots = (d->mask + 1) * 2;
    if (nslots == 0) {
        return FC_ELIMIT;
    }
    fc_dict_slot *ns = fc_calloc(nslots, sizeof *ns);
    if (ns == NULL) {
        return FC_ENOMEM;
    }
    uint32_t nmask = nslots - 1;
    for (uint32_t id = 0; id < d->count; id++) {
        uint32_t tag = d->hashes[id];
        uint32_t i = tag & nmask;
        while (ns[i].id_p1 != 0) {
            i = (i + 1) & nmask;
        }
        ns[i].tag = tag;
        ns[i].id_p1 = id + 1;
    }
    fc_free(d->slots);
    d->slots = ns;
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

int64_t fc_dict_intern(fc_dict *d, fc_str s) {
    uint32_t tag = fc__dict_tag(s);
    uint32_t i = tag & d->mask;
    for (;;) {
        const fc_dict_slot *sl = &d->slots[i];
        if (sl->id_p1 == 0) {
            break;
        }
        if (sl->tag == tag) {
            fc_str k = d->strs[sl->id_p1 - 1];
            if (k.n == s.n && (s.n == 0 || memcmp(k.p, s.p, s.n) == 0)) {
                return (int64_t)(sl->id_p1 - 1);
            }
        }
        i = (i + 1) & d->mask;
    }
    if (d->count >= FC_DICT_MAX_ID) {
        return FC_ELIMIT;
    }
    uint32_t id = d->count;
    if (fc_grow((void **)&d->strs, &d->strs_cap, (size_t)id + 1, sizeof(fc_str)) != FC_OK ||
        fc_grow((void **)&d->hashes, &d->hashes_cap, (size_t)id + 1, sizeof(uint32_t)) != FC_OK) {
        return FC_ENOMEM;
    }
    /* Keep the load factor at or below 1/2; grow before inserting so a
     * failure leaves the dict unchanged. */
    if ((uint64_t)(d->count + 1) * 2 > (uint64_t)d->mask + 1) {
        int rc = fc__dict_rehash(d);
        if (rc != FC_OK) {
            return rc;
        }
        i = tag & d->mask;
        while (d->slots[i].id_p1 != 0) {
            i = (i + 1) & d->mask;
        }
    }
    char *copy = fc__dict_store(d, s);
    if (copy == NULL) {
        return FC_ENOMEM;
    }
    d->strs[id] = fc_str_make(copy, s.n);
    d->hashes[id] = tag;
    d->slots[i].tag = tag;
    d->slots[i].id_p1 = id + 1;
    d->count = id + 1;
    return (int64_t)id;
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
