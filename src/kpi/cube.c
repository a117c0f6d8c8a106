/*
 * The cube: counters per group over the fact table.
 *
 * Rows go through in chunks. For each chunk, one pass per grouped dimension
 * adds that dimension's value times its stride to a per-row key (derived
 * dimensions go through a small lookup table), one pass per filtered column
 * clears rows that fail, the keys are mapped to dense group numbers (a direct
 * table when the key space is small, a hash table otherwise; group 0 is the
 * bin for rows filtered out), and then a single pass adds every row's
 * counters to its group: no branch per KPI, flags become 0/1 additions.
 */
#include <stdlib.h>
#include <string.h>

#include "kpi/kpi_internal.h"

#define CHUNK      4096
#define DIRECT_MAX (1u << 22) /* key spaces up to this use a direct table */

struct fc_cube {
    size_t n_by;
    fc_dim by[FC_DIM__COUNT];
    uint64_t card[FC_DIM__COUNT];
    uint64_t stride[FC_DIM__COUNT];
    size_t n_groups;       /* real groups, excluding the bin */
    fc_kpi_counts *groups; /* [0] is the bin; real groups 1..n_groups, sorted */
    uint64_t *keys;        /* raw key per group (same indexing) */
    fc_kpi_counts total;
};

void fc_cube_query_init(fc_cube_query *q) {
    memset(q, 0, sizeof *q);
    q->from = FC_TS_NONE;
    q->to = FC_TS_NONE;
    q->from_date = INT32_MIN;
    q->to_date = INT32_MIN;
}

void fc_cube_free(fc_cube *c) {
    if (c == NULL) {
        return;
    }
    fc_free(c->groups);
    fc_free(c->keys);
    fc_free(c);
}

size_t fc_cube_groups(const fc_cube *c) {
    return c->n_groups;
}

uint32_t fc_cube_key(const fc_cube *c, size_t g, size_t j) {
    if (g >= c->n_groups || j >= c->n_by) {
        return 0;
    }
    return (uint32_t)((c->keys[g + 1] / c->stride[j]) % c->card[j]);
}

const fc_kpi_counts *fc_cube_counts(const fc_cube *c, size_t g) {
    return g < c->n_groups ? &c->groups[g + 1] : NULL;
}

const fc_kpi_counts *fc_cube_total(const fc_cube *c) {
    return &c->total;
}

/* ---------------------------------------------------------------------------
 * Filters.
 */

static int label_matches(const fc_facts *t, fc_dim d, uint32_t v, const char *want) {
    char label[512];
    fc_facts_label(t, d, v, label, sizeof label);
    if (strcmp(label, want) == 0) {
        return 1;
    }
    if (d == FC_DIM_HOUR) {
        int64_t h;
        if (fc_parse_i64(fc_str_c(want), &h) == FC_OK && h == (int64_t)v) {
            return 1;
        }
    }
    if (d == FC_DIM_WEATHER) {
        int64_t s;
        if (fc_parse_i64(fc_str_c(want), &s) == FC_OK && s == (int64_t)v) {
            return 1;
        }
    }
    if (d == FC_DIM_ZONE) {
        /* "city/zone" names one zone of one city. */
        const char *slash = strchr(want, '/');
        if (slash != NULL && strcmp(slash + 1, label) == 0) {
            fc_str key = fc_dict_get(t->zones, v);
            size_t cn = (size_t)(slash - want);
            return key.n > cn && memcmp(key.p, want, cn) == 0 && key.p[cn] == FC__ZONE_SEP;
        }
    }
    return 0;
}

/* allowed[b] (one byte per base id, NULL = everything passes) narrowed by a
 * filter. */
static int apply_filter(const fc_facts *t, const fc_kpi_filter *f, uint8_t **allowed, fc_err *err) {
    if ((int)f->dim < 0 || f->dim >= FC_DIM__COUNT) {
        return fc_err_set(err, FC_EINVAL, NULL, 0, 0, "unknown dimension in a filter");
    }
    fc__base b = fc__dim_base(f->dim);
    uint32_t nd = fc_facts_cardinality(t, f->dim);
    uint32_t nb = fc__base_cardinality(t, b);
    uint8_t *dim_ok = fc_calloc(nd + 1u, 1);
    if (dim_ok == NULL) {
        return fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
    }
    for (uint32_t v = 0; v < nd; v++) {
        for (size_t k = 0; k < f->n_values; k++) {
            if (label_matches(t, f->dim, v, f->values[k])) {
                dim_ok[v] = 1;
                break;
            }
        }
    }
    if (allowed[b] == NULL) {
        allowed[b] = fc_malloc(nb + 1u);
        if (allowed[b] == NULL) {
            fc_free(dim_ok);
            return fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
        }
        memset(allowed[b], 1, nb + 1u);
    }
    for (uint32_t id = 0; id < nb; id++) {
        allowed[b][id] &= dim_ok[fc__dim_of_base(t, f->dim, id)];
    }
    fc_free(dim_ok);
    return FC_OK;
}

static int apply_dates(const fc_facts *t, const fc_cube_query *q, uint8_t **allowed, fc_err *err) {
    if (q->from_date == INT32_MIN && q->to_date == INT32_MIN) {
        return FC_OK;
    }
    uint32_t nb = fc__base_cardinality(t, FC__B_DATE);
    if (allowed[FC__B_DATE] == NULL) {
        allowed[FC__B_DATE] = fc_malloc(nb + 1u);
        if (allowed[FC__B_DATE] == NULL) {
            return fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
        }
        memset(allowed[FC__B_DATE], 1, nb + 1u);
    }
    for (uint32_t id = 0; id < nb; id++) {
        int32_t day = (int32_t)t->date_min + (int32_t)id;
        if ((q->from_date != INT32_MIN && day < q->from_date) ||
            (q->to_date != INT32_MIN && day > q->to_date)) {
            allowed[FC__B_DATE][id] = 0;
        }
    }
    return FC_OK;
}

/* ---------------------------------------------------------------------------
 * Dense group numbers.
 */

typedef struct groups {
    fc_kpi_counts *g;
    uint64_t *keys;
    size_t n, cap; /* n includes the bin at 0 */
    /* direct mode */
    uint32_t *direct;
    /* hash mode */
    uint64_t *hkeys;
    uint32_t *hvals; /* 0 = empty slot */
    size_t hcap;
} groups;

static int groups_new_id(groups *gs, uint64_t key, uint32_t *out) {
    if (gs->n >= UINT32_MAX - 1) {
        return FC_ELIMIT;
    }
    if (gs->n == gs->cap) {
        size_t ncap = gs->cap < 64 ? 64 : gs->cap * 2;
        fc_kpi_counts *g = fc_realloc(gs->g, ncap * sizeof *g);
        if (g == NULL) {
            return FC_ENOMEM;
        }
        gs->g = g;
        uint64_t *k = fc_realloc(gs->keys, ncap * sizeof *k);
        if (k == NULL) {
            return FC_ENOMEM;
        }
        gs->keys = k;
        gs->cap = ncap;
    }
    memset(&gs->g[gs->n], 0, sizeof gs->g[0]);
    gs->keys[gs->n] = key;
    *out = (uint32_t)gs->n++;
    return FC_OK;
}

static uint64_t mix64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

static int hash_grow(groups *gs) {
    size_t ncap = gs->hcap == 0 ? 1024 : gs->hcap * 2;
    uint64_t *hk = fc_calloc(ncap, sizeof *hk);
    uint32_t *hv = fc_calloc(ncap, sizeof *hv);
    if (hk == NULL || hv == NULL) {
        fc_free(hk);
        fc_free(hv);
        return FC_ENOMEM;
    }
    for (size_t i = 0; i < gs->hcap; i++) {
        if (gs->hvals[i] != 0) {
            size_t j = mix64(gs->hkeys[i]) & (ncap - 1);
            while (hv[j] != 0) {
                j = (j + 1) & (ncap - 1);
            }
            hk[j] = gs->hkeys[i];
            hv[j] = gs->hvals[i];
        }
    }
    fc_free(gs->hkeys);
    fc_free(gs->hvals);
    gs->hkeys = hk;
    gs->hvals = hv;
    gs->hcap = ncap;
    return FC_OK;
}

static int lookup(groups *gs, uint64_t key, uint32_t *out) {
    if (gs->direct != NULL) {
        uint32_t id = gs->direct[key];
        if (id == 0) {
            int rc = groups_new_id(gs, key, &id);
            if (rc != FC_OK) {
                return rc;
            }
            gs->direct[key] = id;
        }
        *out = id;
        return FC_OK;
    }
    if ((gs->n + 1) * 2 > gs->hcap) {
        int rc = hash_grow(gs);
        if (rc != FC_OK) {
            return rc;
        }
    }
    size_t j = mix64(key) & (gs->hcap - 1);
    while (gs->hvals[j] != 0) {
        if (gs->hkeys[j] == key) {
            *out = gs->hvals[j];
            return FC_OK;
        }
        j = (j + 1) & (gs->hcap - 1);
    }
    uint32_t id;
    int rc = groups_new_id(gs, key, &id);
    if (rc != FC_OK) {
        return rc;
    }
    gs->hkeys[j] = key;
    gs->hvals[j] = id;
    *out = id;
    return FC_OK;
}

/* ---------------------------------------------------------------------------
 * The passes.
 */

/* key[i] += map[col[i]] * stride for rows [lo, lo + n). */
static void add_key(const fc_facts *t, fc__base b, const uint32_t *map, uint64_t stride, size_t lo,
                    size_t n, uint64_t *key) {
#define KEY_LOOP(expr)                                                                             \
    for (size_t i = 0; i < n; i++) {                                                               \
        key[i] += (uint64_t)map[(expr)] * stride;                                                  \
    }
    switch (b) {
    case FC__B_CITY:
        KEY_LOOP(t->city[lo + i]);
        break;
    case FC__B_ZONE:
        KEY_LOOP(t->zone[lo + i]);
        break;
    case FC__B_MERCHANT:
        KEY_LOOP(t->merchant[lo + i]);
        break;
    case FC__B_RIDER:
        KEY_LOOP(t->rider[lo + i]);
        break;
    case FC__B_CATEGORY:
        KEY_LOOP(t->category[lo + i]);
        break;
    case FC__B_HOUR:
        KEY_LOOP(t->hour[lo + i]);
        break;
    case FC__B_DATE:
        KEY_LOOP((uint32_t)(t->date[lo + i] - t->date_min));
        break;
    case FC__B_WEATHER:
        KEY_LOOP(t->weather[lo + i]);
        break;
    case FC__B_STATUS:
    default:
        KEY_LOOP(t->status[lo + i]);
        break;
    }
#undef KEY_LOOP
}

/* pass[i] &= allowed[col[i]]. */
static void filter_pass(const fc_facts *t, fc__base b, const uint8_t *allowed, size_t lo, size_t n,
                        uint8_t *pass) {
#define PASS_LOOP(expr)                                                                            \
    for (size_t i = 0; i < n; i++) {                                                               \
        pass[i] &= allowed[(expr)];                                                                \
    }
    switch (b) {
    case FC__B_CITY:
        PASS_LOOP(t->city[lo + i]);
        break;
    case FC__B_ZONE:
        PASS_LOOP(t->zone[lo + i]);
        break;
    case FC__B_MERCHANT:
        PASS_LOOP(t->merchant[lo + i]);
        break;
    case FC__B_RIDER:
        PASS_LOOP(t->rider[lo + i]);
        break;
    case FC__B_CATEGORY:
        PASS_LOOP(t->category[lo + i]);
        break;
    case FC__B_HOUR:
        PASS_LOOP(t->hour[lo + i]);
        break;
    case FC__B_DATE:
        PASS_LOOP((uint32_t)(t->date[lo + i] - t->date_min));
        break;
    case FC__B_WEATHER:
        PASS_LOOP(t->weather[lo + i]);
        break;
    case FC__B_STATUS:
    default:
        PASS_LOOP(t->status[lo + i]);
        break;
    }
#undef PASS_LOOP
}

#define FLAG(f, b) ((int64_t)(((f) >> (b)) & 1u))

/* Add rows [lo, lo + n) to their groups. */
static void aggregate(const fc_facts *t, size_t lo, size_t n, const uint32_t *gid,
                      fc_kpi_counts *g) {
    const uint32_t *flags = t->flags + lo;
    const uint8_t *bucket = t->bucket + lo;
    const uint8_t *cur = t->currency + lo;
    const uint16_t *pushes = t->pushes + lo, *refusals = t->refusals + lo;
    const uint32_t *wait_s = t->wait_s + lo, *delivery_s = t->delivery_s + lo;
    const int32_t *cost = t->cost_minor + lo, *comp = t->value_comp_minor + lo,
                  *value = t->value_minor + lo;
    for (size_t i = 0; i < n; i++) {
        fc_kpi_counts *c = &g[gid[i]];
        uint32_t f = flags[i];
        int64_t has_value = FLAG(f, FC__F_VALUE);
        c->orders++;
        c->delivered += FLAG(f, FC__F_DELIVERED);
        c->late += FLAG(f, FC__F_LATE);
        c->severe_late += FLAG(f, FC__F_SEVERE_LATE);
        c->cancelled += FLAG(f, FC__F_CANCELLED);
        c->cancelled_by[FC_PARTY_CUSTOMER] += FLAG(f, FC__F_CANCEL_CUSTOMER);
        c->cancelled_by[FC_PARTY_MERCHANT] += FLAG(f, FC__F_CANCEL_MERCHANT);
        c->cancelled_by[FC_PARTY_RIDER] += FLAG(f, FC__F_CANCEL_RIDER);
        c->cancelled_by[FC_PARTY_PLATFORM] += FLAG(f, FC__F_CANCEL_PLATFORM);
        c->cancelled_by[FC_PARTY_FORCE_MAJEURE] += FLAG(f, FC__F_CANCEL_FORCE_MAJEURE);
        c->cancelled_by[FC_PARTY_UNDETERMINED] += FLAG(f, FC__F_CANCEL_UNDETERMINED);
        c->undeliverable += FLAG(f, FC__F_UNDELIVERABLE);
        c->complained += FLAG(f, FC__F_COMPLAINED);
        c->cs_contacted += FLAG(f, FC__F_CS_CONTACTED);
        c->rated += FLAG(f, FC__F_RATED);
        c->bad_rated += FLAG(f, FC__F_BAD_RATED);
        c->good_rated += FLAG(f, FC__F_GOOD_RATED);
        c->surveyed += FLAG(f, FC__F_SURVEYED);
        c->promoters += FLAG(f, FC__F_PROMOTER);
        c->detractors += FLAG(f, FC__F_DETRACTOR);
        c->pushed += FLAG(f, FC__F_PUSHED);
        c->pushed_accepted += FLAG(f, FC__F_PUSHED_ACCEPTED);
        c->pushes += pushes[i];
        c->refusals += refusals[i];
        c->wait_n += FLAG(f, FC__F_WAIT);
        c->wait_s += wait_s[i];
        c->prep_n += FLAG(f, FC__F_PREP);
        c->prep_overrun += FLAG(f, FC__F_PREP_OVERRUN);
        c->delivery_n += FLAG(f, FC__F_DELIVERY);
        c->delivery_s += delivery_s[i];
        c->cost_minor += cost[i];
        c->value_n += has_value;
        c->value_minor += value[i];
        c->value_comp_minor += comp[i];
        c->currency_mask |= 1ull << (cur[i] < 63 ? cur[i] : 63);
        c->hist[bucket[i]]++;
    }
}

/* Sort real groups by raw key (the bin stays at 0). */
typedef struct key_idx {
    uint64_t key;
    uint32_t idx;
} key_idx;

static int cmp_key_idx(const void *a, const void *b) {
    uint64_t x = ((const key_idx *)a)->key, y = ((const key_idx *)b)->key;
    return x < y ? -1 : x > y;
}

static int sort_groups(groups *gs, fc_err *err) {
    size_t n = gs->n - 1;
    int sorted = 1;
    for (size_t i = 2; i < gs->n; i++) {
        if (gs->keys[i - 1] > gs->keys[i]) {
            sorted = 0;
            break;
        }
    }
    if (sorted) {
        return FC_OK;
    }
    key_idx *idx = fc_malloc(n * sizeof *idx);
    fc_kpi_counts *g = fc_malloc(gs->n * sizeof *g);
    uint64_t *keys = fc_malloc(gs->n * sizeof *keys);
    if (idx == NULL || g == NULL || keys == NULL) {
        fc_free(idx);
        fc_free(g);
        fc_free(keys);
        return fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        idx[i].key = gs->keys[i + 1];
        idx[i].idx = (uint32_t)(i + 1);
    }
    qsort(idx, n, sizeof *idx, cmp_key_idx);
    g[0] = gs->g[0];
    keys[0] = gs->keys[0];
    for (size_t i = 0; i < n; i++) {
        g[i + 1] = gs->g[idx[i].idx];
        keys[i + 1] = idx[i].key;
    }
    fc_free(idx);
    fc_free(gs->g);
    fc_free(gs->keys);
    gs->g = g;
    gs->keys = keys;
    gs->cap = gs->n;
    return FC_OK;
}

int fc_cube_build(const fc_facts *t, const fc_cube_query *q, fc_cube **out, fc_err *err) {
    int rc = FC_OK;
    fc_cube *c = NULL;
    uint32_t *maps[FC_DIM__COUNT] = {0};
    uint8_t *allowed[FC__B__COUNT] = {0};
    groups gs = {0};
    uint64_t *key = NULL;
    uint8_t *pass = NULL;
    uint32_t *gid = NULL;
    *out = NULL;

    if (q->n_by > FC_DIM__COUNT) {
        rc = fc_err_set(err, FC_EINVAL, NULL, 0, 0, "too many group-by dimensions");
        goto out;
    }
    c = fc_calloc(1, sizeof *c);
    if (c == NULL) {
        rc = fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
        goto out;
    }
    c->n_by = q->n_by;
    int empty = t->n == 0;
    uint64_t space = 1;
    int overflow = 0;
    /* Strides: the first dimension is the most significant, so sorting raw
     * keys sorts groups by by[0], then by[1], ... */
    for (size_t j = q->n_by; j-- > 0;) {
        fc_dim d = q->by[j];
        if ((int)d < 0 || d >= FC_DIM__COUNT) {
            rc = fc_err_set(err, FC_EINVAL, NULL, 0, 0, "unknown group-by dimension");
            goto out;
        }
        for (size_t k = 0; k < j; k++) {
            if (q->by[k] == d) {
                rc = fc_err_set(err, FC_EINVAL, NULL, 0, 0, "dimension %s grouped twice",
                                fc_dim_name(d));
                goto out;
            }
        }
        c->by[j] = d;
        uint64_t card = fc_facts_cardinality(t, d);
        if (card == 0) {
            empty = 1;
            card = 1;
        }
        c->card[j] = card;
        c->stride[j] = space;
        if (space > UINT64_MAX / card) {
            overflow = 1;
        } else {
            space *= card;
        }
        fc__base b = fc__dim_base(d);
        uint32_t nb = fc__base_cardinality(t, b);
        maps[j] = fc_malloc(((size_t)nb + 1u) * sizeof(uint32_t));
        if (maps[j] == NULL) {
            rc = fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
            goto out;
        }
        for (uint32_t id = 0; id < nb; id++) {
            maps[j][id] = fc__dim_of_base(t, d, id);
        }
    }
    if (overflow) {
        rc = fc_err_set(err, FC_ELIMIT, NULL, 0, 0, "too many groups for these dimensions");
        goto out;
    }
    for (size_t k = 0; k < q->n_filters && !empty; k++) {
        rc = apply_filter(t, &q->filters[k], allowed, err);
        if (rc != FC_OK) {
            goto out;
        }
    }
    if (!empty) {
        rc = apply_dates(t, q, allowed, err);
        if (rc != FC_OK) {
            goto out;
        }
    }

    uint32_t bin;
    rc = groups_new_id(&gs, UINT64_MAX, &bin);
    if (rc != FC_OK) {
        rc = fc_err_set(err, rc, NULL, 0, 0, "out of memory");
        goto out;
    }
    if (!empty && space <= DIRECT_MAX) {
        gs.direct = fc_calloc(space, sizeof *gs.direct);
        if (gs.direct == NULL) {
            rc = fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
            goto out;
        }
    }
    key = fc_malloc(CHUNK * sizeof *key);
    pass = fc_malloc(CHUNK);
    gid = fc_malloc(CHUNK * sizeof *gid);
    if (key == NULL || pass == NULL || gid == NULL) {
        rc = fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
        goto out;
    }
    int windowed = q->from != FC_TS_NONE || q->to != FC_TS_NONE;
    int64_t from = q->from == FC_TS_NONE ? INT64_MIN : q->from;
    int64_t to = q->to == FC_TS_NONE ? INT64_MAX : q->to;
    int filtered = windowed;
    for (int b = 0; b < FC__B__COUNT; b++) {
        filtered |= allowed[b] != NULL;
    }
    for (size_t lo = 0; !empty && lo < t->n; lo += CHUNK) {
        size_t n = t->n - lo < CHUNK ? t->n - lo : CHUNK;
        memset(key, 0, n * sizeof *key);
        for (size_t j = 0; j < q->n_by; j++) {
            add_key(t, fc__dim_base(c->by[j]), maps[j], c->stride[j], lo, n, key);
        }
        if (filtered) {
            memset(pass, 1, n);
            for (int b = 0; b < FC__B__COUNT; b++) {
                if (allowed[b] != NULL) {
                    filter_pass(t, (fc__base)b, allowed[b], lo, n, pass);
                }
            }
            if (windowed) {
                const int64_t *ts = t->created_at + lo;
                for (size_t i = 0; i < n; i++) {
                    pass[i] &= (uint8_t)(ts[i] >= from && ts[i] < to);
                }
            }
        }
        if (!filtered) {
            memset(pass, 1, n);
        }
        for (size_t i = 0; i < n; i++) {
            /* Fast path: a direct table entry already assigned. */
            uint32_t id = gs.direct != NULL ? gs.direct[key[i]] : 0;
            if (!pass[i]) {
                id = bin;
            } else if (id == 0) {
                rc = lookup(&gs, key[i], &id);
                if (rc != FC_OK) {
                    rc = fc_err_set(err, rc, NULL, 0, 0, "out of memory");
                    goto out;
                }
            }
            gid[i] = id;
        }
        aggregate(t, lo, n, gid, gs.g);
    }
    rc = sort_groups(&gs, err);
    if (rc != FC_OK) {
        goto out;
    }
    c->n_groups = gs.n - 1;
    c->groups = gs.g;
    c->keys = gs.keys;
    gs.g = NULL;
    gs.keys = NULL;
    for (size_t g = 1; g <= c->n_groups; g++) {
        fc_kpi_counts_merge(&c->total, &c->groups[g]);
    }
    *out = c;
    c = NULL;
out:
    for (size_t j = 0; j < FC_DIM__COUNT; j++) {
        fc_free(maps[j]);
    }
    for (int b = 0; b < FC__B__COUNT; b++) {
        fc_free(allowed[b]);
    }
    fc_free(gs.g);
    fc_free(gs.keys);
    fc_free(gs.direct);
    fc_free(gs.hkeys);
    fc_free(gs.hvals);
    fc_free(key);
    fc_free(pass);
    fc_free(gid);
    fc_cube_free(c);
    return rc;
}

int fc_kpi_parse_when(const char *s, int64_t *ts, int32_t *date, fc_err *err) {
    size_t n = strlen(s);
    *ts = FC_TS_NONE;
    *date = INT32_MIN;
    if (n == 10 && s[4] == '-' && s[7] == '-') {
        int64_t y, m, d;
        if (fc_parse_i64(fc_str_make(s, 4), &y) == FC_OK &&
            fc_parse_i64(fc_str_make(s + 5, 2), &m) == FC_OK &&
            fc_parse_i64(fc_str_make(s + 8, 2), &d) == FC_OK && m >= 1 && m <= 12 && d >= 1 &&
            d <= 31 && y >= 1970) {
            int64_t days = fc_days_from_civil(y, (unsigned)m, (unsigned)d);
            int64_t yy;
            unsigned mm, dd;
            fc_civil_from_days(days, &yy, &mm, &dd);
            if (yy == y && mm == (unsigned)m && dd == (unsigned)d && days <= INT32_MAX) {
                *date = (int32_t)days;
                return FC_OK;
            }
        }
        return fc_err_set(err, FC_EPARSE, NULL, 0, 0, "'%s' is not a valid date (YYYY-MM-DD)", s);
    }
    int has_offset = n > 0 && (s[n - 1] == 'Z' || s[n - 1] == 'z');
    if (n > 6 && (s[n - 6] == '+' || s[n - 6] == '-') && s[n - 3] == ':') {
        has_offset = 1;
    }
    if (!has_offset || fc_time_parse_iso(fc_str_c(s), NULL, ts, NULL) != FC_OK) {
        *ts = FC_TS_NONE;
        return fc_err_set(err, FC_EPARSE, NULL, 0, 0,
                          "'%s' is neither a date (YYYY-MM-DD) nor an instant with an offset "
                          "(2026-03-02T19:00:00+03:00 or ...Z)",
                          s);
    }
    return FC_OK;
}
