/*
 * Allocation wrappers with a fault-injection hook for tests, and fc_grow.
 */
#include "core/core.h"

#include <stdlib.h>
#include <string.h>

/* Allocations left before every allocation fails; negative: never fail.
 * Test-only; set before threads start (see core.h). */
static long fc__alloc_budget = -1;

void fc_alloc_fail_after(long n) {
    fc__alloc_budget = n;
}

/* Consume one allocation from the budget; 0 when this one must fail. */
static int fc__alloc_ok(void) {
    if (fc__alloc_budget < 0) {
        return 1;
    }
    if (fc__alloc_budget == 0) {
        return 0;
    }
    fc__alloc_budget--;
    return 1;
}

void *fc_malloc(size_t n) {
    if (!fc__alloc_ok()) {
        return NULL;
    }
    return malloc(n == 0 ? 1 : n);
}

void *fc_calloc(size_t count, size_t size) {
    if (!fc__alloc_ok()) {
        return NULL;
    }
    if (count == 0 || size == 0) {
        count = 1;
        size = 1;
    }
    return calloc(count, size);
}

void *fc_realloc(void *p, size_t n) {
    if (!fc__alloc_ok()) {
        return NULL;
    }
    return realloc(p, n == 0 ? 1 : n);
}

void fc_free(void *p) {
    free(p);
}

char *fc_strndup(const char *s, size_t n) {
    if (s == NULL) {
        s = "";
        n = 0;
    }
    size_t len = strnlen(s, n);
    char *d = fc_malloc(len + 1);
    if (d == NULL) {
        return NULL;
    }
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

char *fc_strdup(const char *s) {
    if (s == NULL) {
        s = "";
    }
    return fc_strndup(s, strlen(s));
}

int fc_grow(void **arr, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap && *arr != NULL) {
        return FC_OK;
    }
    if (elem == 0) {
        return FC_EINVAL;
    }
    size_t ncap = *cap < 8 ? 8 : *cap;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2) {
            ncap = need;
            break;
        }
        ncap *= 2;
    }
    if (ncap > SIZE_MAX / elem) {
        return FC_ENOMEM;
    }
    void *p = fc_realloc(*arr, ncap * elem);
    if (p == NULL) {
        return FC_ENOMEM;
    }
    *arr = p;
    *cap = ncap;
    return FC_OK;
}
