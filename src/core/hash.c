/*
 * fc_hash64: xxHash64 (Yann Collet's XXH64, BSD-2-Clause algorithm),
 * reimplemented here. Output is defined on the little-endian reading of the
 * input bytes, so it is the same on every machine and may be stored on disk.
 */
#include "core/core.h"

#include <string.h>

#define FC_XXH_P1 0x9E3779B185EBCA87ULL
#define FC_XXH_P2 0xC2B2AE3D27D4EB4FULL
#define FC_XXH_P3 0x165667B19E3779F9ULL
#define FC_XXH_P4 0x85EBCA77C2B2AE63ULL
#define FC_XXH_P5 0x27D4EB2F165667C5ULL

static inline uint64_t fc__rotl64(uint64_t x, int r) {
    return (x << r) | (x >> (64 - r));
}

static inline uint64_t fc__read64(const uint8_t *p) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
#else
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
           (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
           (uint64_t)p[7] << 56;
#endif
}

static inline uint32_t fc__read32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t fc__xxh_round(uint64_t acc, uint64_t input) {
    acc += input * FC_XXH_P2;
    acc = fc__rotl64(acc, 31);
    return acc * FC_XXH_P1;
}

static inline uint64_t fc__xxh_merge(uint64_t acc, uint64_t val) {
    val = fc__xxh_round(0, val);
    acc ^= val;
    return acc * FC_XXH_P1 + FC_XXH_P4;
}

uint64_t fc_hash64(const void *data, size_t n, uint64_t seed) {
    const uint8_t *p = data;
    const uint8_t *end = p + n;
    uint64_t h;
    if (n >= 32) {
        const uint8_t *limit = end - 32;
        uint64_t v1 = seed + FC_XXH_P1 + FC_XXH_P2;
        uint64_t v2 = seed + FC_XXH_P2;
        uint64_t v3 = seed;
        uint64_t v4 = seed - FC_XXH_P1;
        do {
            v1 = fc__xxh_round(v1, fc__read64(p));
            v2 = fc__xxh_round(v2, fc__read64(p + 8));
            v3 = fc__xxh_round(v3, fc__read64(p + 16));
            v4 = fc__xxh_round(v4, fc__read64(p + 24));
            p += 32;
        } while (p <= limit);
        h = fc__rotl64(v1, 1) + fc__rotl64(v2, 7) + fc__rotl64(v3, 12) + fc__rotl64(v4, 18);
        h = fc__xxh_merge(h, v1);
        h = fc__xxh_merge(h, v2);
        h = fc__xxh_merge(h, v3);
        h = fc__xxh_merge(h, v4);
    } else {
        h = seed + FC_XXH_P5;
    }
    h += (uint64_t)n;
    while (p + 8 <= end) {
        h ^= fc__xxh_round(0, fc__read64(p));
        h = fc__rotl64(h, 27) * FC_XXH_P1 + FC_XXH_P4;
        p += 8;
    }
    if (p + 4 <= end) {
        h ^= (uint64_t)fc__read32(p) * FC_XXH_P1;
        h = fc__rotl64(h, 23) * FC_XXH_P2 + FC_XXH_P3;
        p += 4;
    }
    while (p < end) {
        h ^= (uint64_t)(*p) * FC_XXH_P5;
        h = fc__rotl64(h, 11) * FC_XXH_P1;
        p++;
    }
    h ^= h >> 33;
    h *= FC_XXH_P2;
    h ^= h >> 29;
    h *= FC_XXH_P3;
    h ^= h >> 32;
    return h;
}
