/*
 * Arena: bump allocation in blocks, freed all at once.
 */
#include "core/core.h"

#include <string.h>

typedef struct fc_arena_block {
    struct fc_arena_block *next;
    size_t size; /* usable bytes in data */
    size_t used;
    _Alignas(16) unsigned char data[];
} fc_arena_block;

struct fc_arena {
    fc_arena_block *head;  /* current block (newest first) */
    fc_arena_block *first; /* the block kept by fc_arena_reset */
    size_t block_size;
};

static fc_arena_block *fc__block_new(size_t size) {
    if (size > SIZE_MAX - sizeof(fc_arena_block)) {
        return NULL;
    }
    fc_arena_block *b = fc_malloc(sizeof(fc_arena_block) + size);
    if (b == NULL) {
        return NULL;
    }
    b->next = NULL;
    b->size = size;
    b->used = 0;
    return b;
}

fc_arena *fc_arena_new(size_t block_size) {
    if (block_size == 0) {
        block_size = 64 * 1024;
    }
    fc_arena *a = fc_malloc(sizeof *a);
    if (a == NULL) {
        return NULL;
    }
    a->block_size = block_size;
    a->first = fc__block_new(block_size);
    if (a->first == NULL) {
        fc_free(a);
        return NULL;
    }
    a->head = a->first;
    return a;
}

void *fc_arena_alloc(fc_arena *a, size_t n) {
    if (n == 0) {
        n = 1;
    }
    if (n > SIZE_MAX - 15) {
        return NULL;
    }
    size_t need = (n + 15) & ~(size_t)15;
    fc_arena_block *b = a->head;
    if (b->size - b->used < need) {
        /* Oversized requests get a block of their own, placed behind the
         * current one so the current block's free space is not wasted. */
        size_t size = need > a->block_size ? need : a->block_size;
        fc_arena_block *nb = fc__block_new(size);
        if (nb == NULL) {
            return NULL;
        }
        if (need > a->block_size) {
            nb->next = b->next;
            b->next = nb;
            nb->used = need;
            return nb->data;
        }
        nb->next = b;
        a->head = nb;
        b = nb;
    }
    void *p = b->data + b->used;
    b->used += need;
    return p;
}

char *fc_arena_strndup(fc_arena *a, const char *s, size_t n) {
    char *d = fc_arena_alloc(a, n + 1);
    if (d == NULL) {
        return NULL;
    }
    if (n > 0) {
        memcpy(d, s, n);
    }
    d[n] = '\0';
    return d;
}

fc_str fc_arena_str(fc_arena *a, fc_str s) {
    char *d = fc_arena_strndup(a, s.p, s.n);
    if (d == NULL) {
        return FC_STR_NULL;
    }
    return fc_str_make(d, s.n);
}

void fc_arena_reset(fc_arena *a) {
    if (a == NULL) {
        return;
    }
    fc_arena_block *b = a->head;
    while (b != NULL) {
        fc_arena_block *next = b->next;
        if (b != a->first) {
            fc_free(b);
        }
        b = next;
    }
    a->first->next = NULL;
    a->first->used = 0;
    a->head = a->first;
}

void fc_arena_free(fc_arena *a) {
    if (a == NULL) {
        return;
    }
    fc_arena_block *b = a->head;
    while (b != NULL) {
        fc_arena_block *next = b->next;
        fc_free(b);
        b = next;
    }
    fc_free(a);
}
