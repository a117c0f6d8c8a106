/*
 * The fact table: one row per order, one array per column, dimensions as
 * dictionary ids. Derived dimensions (country, zone kind, merchant kind,
 * brand, capacity, daypart, weekday) are not stored per row: they are looked
 * up through per-entity tables, which keeps a row at about 70 bytes.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kpi/kpi_internal.h"

/* Column blocks at least this large are asked to live on huge pages. */
#define FC__HUGE_MIN_BYTES (4u << 20)

/* The row columns, in their order in the block; created_at comes first, so
 * it is also the block's address. */
#define FC__COLUMNS(X)                                                                             \
    X(created_at)                                                                                  \
    X(zone)                                                                                        \
    X(merchant)                                                                                    \
    X(rider)                                                                                       \
    X(flags)                                                                                       \
    X(delivery_s)                                                                                  \
    X(wait_s)                                                                                      \
    X(cost_minor)                                                                                  \
    X(value_comp_minor)                                                                            \
    X(value_minor)                                                                                 \
    X(city)                                                                                        \
    X(date)                                                                                        \
    X(pushes)                                                                                      \
    X(refusals)                                                                                    \
    X(category)                                                                                    \
    X(currency)                                                                                    \
    X(hour)                                                                                        \
    X(weather)                                                                                     \
    X(status)                                                                                      \
    X(bucket)

static const char *const dim_names[FC_DIM__COUNT] = {
    "country",  "city",          "zone",  "zone_kind", "hour",     "daypart",  "date",    "weekday",
    "merchant", "merchant_kind", "brand", "rider",     "capacity", "category", "weather", "status",
};

static const char *const daypart_names[FC_DAYPART__COUNT] = {
    "breakfast", "lunch", "afternoon", "dinner", "late_night",
};

static const char *const weekday_names[7] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
static const char *const weather_names[4] = {"none", "light", "moderate", "severe"};
static const char *const status_names[4] = {"open", "delivered", "cancelled", "undeliverable"};

const char *fc_dim_name(fc_dim d) {
    if ((int)d < 0 || d >= FC_DIM__COUNT) {
        return "";
    }
    return dim_names[d];
}

int fc_dim_from(fc_str name) {
    for (int d = 0; d < FC_DIM__COUNT; d++) {
        if (fc_str_eqc(name, dim_names[d])) {
            return d;
        }
    }
    return -1;
}

fc_daypart fc_daypart_of_hour(int hour) {
    if (hour >= 6 && hour <= 10) {
        return FC_DAYPART_BREAKFAST;
    }
    if (hour >= 11 && hour <= 14) {
        return FC_DAYPART_LUNCH;
    }
    if (hour >= 15 && hour <= 16) {
        return FC_DAYPART_AFTERNOON;
    }
    if (hour >= 17 && hour <= 21) {
        return FC_DAYPART_DINNER;
    }
    return FC_DAYPART_LATE_NIGHT;
}

const char *fc_daypart_name(fc_daypart p) {
    if ((int)p < 0 || p >= FC_DAYPART__COUNT) {
        return "";
    }
    return daypart_names[p];
}

fc_facts *fc_facts_new(void) {
    fc_facts *t = fc_calloc(1, sizeof *t);
    if (t == NULL) {
        return NULL;
    }
    t->cities = fc_dict_new();
    t->zones = fc_dict_new();
    t->merchants = fc_dict_new();
    t->riders = fc_dict_new();
    t->categories = fc_dict_new();
    t->currencies = fc_dict_new();
    t->countries = fc_dict_new();
    t->merchant_kinds = fc_dict_new();
    t->brands = fc_dict_new();
    if (t->cities == NULL || t->zones == NULL || t->merchants == NULL || t->riders == NULL ||
        t->categories == NULL || t->currencies == NULL || t->countries == NULL ||
        t->merchant_kinds == NULL || t->brands == NULL) {
        fc_facts_free(t);
        return NULL;
    }
    return t;
}

void fc_facts_free(fc_facts *t) {
    if (t == NULL) {
        return;
    }
    fc_free(t->created_at); /* the block of every row column */
    fc_dict_free(t->cities);
    fc_dict_free(t->zones);
    fc_dict_free(t->merchants);
    fc_dict_free(t->riders);
    fc_dict_free(t->categories);
    fc_dict_free(t->currencies);
    fc_dict_free(t->countries);
    fc_dict_free(t->merchant_kinds);
    fc_dict_free(t->brands);
    if (t->city_tz != NULL) {
        for (size_t i = 0; i < t->city_cap; i++) {
            fc_tz_free(t->city_tz[i]);
        }
    }
    fc_free(t->city_tz);
    fc_free(t->city_country);
    fc_free(t->zone_kind);
    fc_free(t->merchant_kind);
    fc_free(t->merchant_brand);
    fc_free(t->rider_capacity);
    fc_free(t);
}

/* Ask for huge pages under p[0..bytes) (a hint; ignored where unsupported).
 * Touching fresh memory a 4 KiB page at a time costs a page fault each,
 * which on virtual machines is several microseconds: more than all the
 * other work of adding a row. */
static void advise_huge(void *p, size_t bytes) {
#ifdef MADV_HUGEPAGE
    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0) {
        return;
    }
    uintptr_t a = ((uintptr_t)p + (uintptr_t)page - 1) & ~((uintptr_t)page - 1);
    uintptr_t e = ((uintptr_t)p + bytes) & ~((uintptr_t)page - 1);
    if (e > a) {
        (void)madvise((void *)a, e - a, MADV_HUGEPAGE);
    }
#else
    (void)p;
    (void)bytes;
#endif
}

/* Bytes of one column of `rows` rows of `elem` bytes in the block (each
 * column starts on a cache line). */
static size_t column_bytes(size_t rows, size_t elem) {
    return (rows * elem + 63) & ~(size_t)63;
}

static size_t block_bytes(const fc_facts *t, size_t cap) {
    size_t total = 0;
#define X(col) total += column_bytes(cap, sizeof *t->col);
    FC__COLUMNS(X)
#undef X
    return total;
}

/* Move the rows into a new block of `cap` rows (cap >= t->n). Fresh memory
 * is expensive to touch: a page fault per 4 KiB page, several microseconds
 * each on virtual machines, more than all the other work of adding the
 * rows. So a large block is advised onto huge pages before anything
 * touches it (growing with fc_realloc would fault the new pages in one at a
 * time while copying). On FC_ENOMEM the table is unchanged. */
static int resize_columns(fc_facts *t, size_t cap) {
    size_t total = block_bytes(t, cap);
    char *blk = fc_malloc(total > 0 ? total : 1);
    char *old = (char *)t->created_at;
    size_t off = 0;
    if (blk == NULL) {
        return FC_ENOMEM;
    }
    if (total >= FC__HUGE_MIN_BYTES) {
        advise_huge(blk, total);
    }
#define X(col)                                                                                     \
    if (t->n > 0) {                                                                                \
        memcpy(blk + off, t->col, t->n * sizeof *t->col);                                          \
    }                                                                                              \
    t->col = (void *)(blk + off);                                                                  \
    off += column_bytes(cap, sizeof *t->col);
    FC__COLUMNS(X)
#undef X
    fc_free(old);
    return FC_OK;
}

static int reserve_rows(fc_facts *t, size_t need) {
    if (need <= t->cap) {
        return FC_OK;
    }
    /* Each growth copies the rows into fresh memory, and fresh memory is
     * what costs (see resize_columns): large tables grow fourfold, then
     * eightfold. The slack is only address space until rows are written
     * into it, and fc_facts_seal gives it back. */
    size_t factor = t->cap < (1u << 16) ? 2 : t->cap < (1u << 18) ? 4 : 8;
    size_t cap = t->cap < 1024 ? 1024 : t->cap * factor;
    if (cap < need) {
        cap = need;
    }
    int rc = resize_columns(t, cap);
    if (rc == FC_OK) {
        t->cap = cap;
    }
    return rc;
}

void fc_facts_seal(fc_facts *t) {
    if (t == NULL || t->n == 0 || t->n == t->cap) {
        return;
    }
    /* Pack the columns down in place (each moves to an offset at or below
     * its old one, past the columns already moved), then give the tail
     * back. Shrinking cannot fail with any sane allocator; when it does the
     * block keeps its slack and the packed layout stays valid. */
    char *blk = (char *)t->created_at;
    size_t off = 0;
#define X(col)                                                                                     \
    memmove(blk + off, t->col, t->n * sizeof *t->col);                                             \
    t->col = (void *)(blk + off);                                                                  \
    off += column_bytes(t->n, sizeof *t->col);
    FC__COLUMNS(X)
#undef X
    t->cap = t->n;
    char *shrunk = fc_realloc(blk, off);
    if (shrunk != NULL) {
        off = 0;
#define X(col)                                                                                     \
    t->col = (void *)(shrunk + off);                                                               \
    off += column_bytes(t->n, sizeof *t->col);
        FC__COLUMNS(X)
#undef X
    }
}

/* Grow a per-entity table (elements of `elem` bytes, zero-filled) to hold
 * index id. */
static int entity_room(void **arr, size_t *cap, size_t id, size_t elem) {
    if (id < *cap) {
        return FC_OK;
    }
    size_t ncap = *cap < 64 ? 64 : *cap * 2;
    while (ncap <= id) {
        ncap *= 2;
    }
    uint8_t *p = fc_realloc(*arr, ncap * elem);
    if (p == NULL) {
        return FC_ENOMEM;
    }
    memset(p + *cap * elem, 0, (ncap - *cap) * elem);
    *arr = p;
    *cap = ncap;
    return FC_OK;
}

static int64_t intern_or_unknown(fc_dict *d, fc_str s, const char *unknown) {
    if (s.n == 0) {
        s = fc_str_c(unknown);
    }
    return fc_dict_intern(d, s);
}

/* A dictionary key of a row: the text (or its stand-in when empty) and its
 * hash, computed up front so the slots of all keys can be prefetched. */
typedef struct row_key {
    fc_str s;
    uint64_t h;
} row_key;

static row_key key_of(const fc_dict *d, fc_str s, const char *unknown) {
    row_key k;
    k.s = s.n == 0 ? fc_str_c(unknown) : s;
    k.h = fc_dict_hash(k.s);
    fc_dict_prefetch(d, k.h);
    return k;
}

/* City id, with its country and time zone the first time it is seen. */
static int city_id(fc_facts *t, fc_str city, row_key key, const fc_ref *ref, uint32_t *out) {
    uint32_t before = fc_dict_count(t->cities);
    int64_t id = fc_dict_intern_h(t->cities, key.s, key.h);
    if (id < 0) {
        return (int)id;
    }
    if (id > UINT16_MAX - 1) {
        return FC_ELIMIT;
    }
    *out = (uint32_t)id;
    if ((uint32_t)id < before) {
        return FC_OK;
    }
    size_t cap_tz = t->city_cap;
    void *tz = t->city_tz;
    if (entity_room(&tz, &cap_tz, (size_t)id, sizeof(fc_tz *)) != FC_OK) {
        return FC_ENOMEM;
    }
    t->city_tz = tz;
    void *cc = t->city_country;
    size_t cap_cc = t->city_cap;
    if (entity_room(&cc, &cap_cc, (size_t)id, sizeof(uint32_t)) != FC_OK) {
        return FC_ENOMEM;
    }
    t->city_country = cc;
    t->city_cap = cap_tz;
    const fc_city *c = ref != NULL ? fc_ref_city(ref, city) : NULL;
    int64_t country =
        intern_or_unknown(t->countries, fc_str_c(c != NULL ? c->country : NULL), "unknown");
    if (country < 0) {
        return (int)country;
    }
    t->city_country[id] = (uint32_t)country;
    if (c != NULL && c->tz_name != NULL) {
        /* Our own copy: the table outlives the reference data it was built from. */
        fc_tz *own = NULL;
        if (fc_tz_load(c->tz_name, &own, NULL) == FC_OK) {
            t->city_tz[id] = own;
        }
    }
    return FC_OK;
}

/* The zones dictionary key "city<SEP>zone" in buf (512 bytes). */
static row_key zone_key(const fc_facts *t, fc_str city, fc_str zone, char *key) {
    size_t cn = city.n < 200 ? city.n : 200;
    size_t zn = zone.n < 300 ? zone.n : 300;
    if (cn > 0) {
        memcpy(key, city.p, cn);
    }
    key[cn] = FC__ZONE_SEP;
    const char *zname = zn > 0 ? zone.p : "unknown";
    size_t zlen = zn > 0 ? zn : strlen("unknown");
    memcpy(key + cn + 1, zname, zlen);
    return key_of(t->zones, fc_str_make(key, cn + 1 + zlen), "");
}

static int zone_id(fc_facts *t, fc_str city, fc_str zone, row_key key, const fc_ref *ref,
                   uint32_t *out) {
    uint32_t before = fc_dict_count(t->zones);
    int64_t id = fc_dict_intern_h(t->zones, key.s, key.h);
    if (id < 0) {
        return (int)id;
    }
    if (id > UINT32_MAX - 2) {
        return FC_ELIMIT;
    }
    *out = (uint32_t)id;
    if ((uint32_t)id < before) {
        return FC_OK;
    }
    void *zk = t->zone_kind;
    if (entity_room(&zk, &t->zone_cap, (size_t)id, 1) != FC_OK) {
        return FC_ENOMEM;
    }
    t->zone_kind = zk;
    const fc_zone *z = ref != NULL ? fc_ref_zone(ref, city, zone) : NULL;
    t->zone_kind[id] = (uint8_t)(z != NULL ? z->kind : FC_ZONE_UNKNOWN);
    return FC_OK;
}

static int merchant_id(fc_facts *t, fc_str merchant, row_key key, const fc_ref *ref,
                       uint32_t *out) {
    uint32_t before = fc_dict_count(t->merchants);
    int64_t id = fc_dict_intern_h(t->merchants, key.s, key.h);
    if (id < 0) {
        return (int)id;
    }
    if (id > UINT32_MAX - 2) {
        return FC_ELIMIT;
    }
    *out = (uint32_t)id;
    if ((uint32_t)id < before) {
        return FC_OK;
    }
    size_t cap = t->merchant_cap;
    void *mk = t->merchant_kind;
    if (entity_room(&mk, &cap, (size_t)id, sizeof(uint32_t)) != FC_OK) {
        return FC_ENOMEM;
    }
    t->merchant_kind = mk;
    void *mb = t->merchant_brand;
    size_t cap2 = t->merchant_cap;
    if (entity_room(&mb, &cap2, (size_t)id, sizeof(uint32_t)) != FC_OK) {
        return FC_ENOMEM;
    }
    t->merchant_brand = mb;
    t->merchant_cap = cap;
    const fc_merchant *m = ref != NULL ? fc_ref_merchant(ref, merchant) : NULL;
    int64_t kind =
        intern_or_unknown(t->merchant_kinds, fc_str_c(m != NULL ? m->kind : NULL), "unknown");
    int64_t brand = intern_or_unknown(t->brands, fc_str_c(m != NULL ? m->brand : NULL),
                                      m != NULL ? "independent" : "unknown");
    if (kind < 0 || brand < 0) {
        return FC_ENOMEM;
    }
    t->merchant_kind[id] = (uint32_t)kind;
    t->merchant_brand[id] = (uint32_t)brand;
    return FC_OK;
}

static int rider_id(fc_facts *t, fc_str rider, row_key key, const fc_ref *ref, uint32_t *out) {
    uint32_t before = fc_dict_count(t->riders);
    int64_t id = fc_dict_intern_h(t->riders, key.s, key.h);
    if (id < 0) {
        return (int)id;
    }
    if (id > UINT32_MAX - 2) {
        return FC_ELIMIT;
    }
    *out = (uint32_t)id;
    if ((uint32_t)id < before) {
        return FC_OK;
    }
    void *rc = t->rider_capacity;
    if (entity_room(&rc, &t->rider_cap, (size_t)id, 1) != FC_OK) {
        return FC_ENOMEM;
    }
    t->rider_capacity = rc;
    const fc_rider *r = ref != NULL && rider.n > 0 ? fc_ref_rider(ref, rider) : NULL;
    t->rider_capacity[id] = (uint8_t)(r != NULL ? r->capacity : FC_CAP_UNKNOWN);
    return FC_OK;
}

static int small_id(fc_dict *d, row_key key, uint8_t *out) {
    int64_t id = fc_dict_intern_h(d, key.s, key.h);
    if (id < 0) {
        return (int)id;
    }
    if (id > FC__MAX_SMALL) {
        return FC_ELIMIT;
    }
    *out = (uint8_t)id;
    return FC_OK;
}

static fc_localtime local_of(const fc_tz *tz, int64_t t) {
    if (tz != NULL) {
        return fc_tz_local(tz, t);
    }
    fc_localtime lt;
    int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
    int64_t sod = t - days * 86400;
    lt.date = (int32_t)days;
    lt.hour = (uint8_t)(sod / 3600);
    lt.minute = (uint8_t)((sod / 60) % 60);
    lt.weekday = (uint8_t)(((days % 7) + 7 + 3) % 7);
    return lt;
}

static uint32_t bit(int cond, int b) {
    return cond ? 1u << b : 0u;
}

static int32_t sat32(int64_t v) {
    return v > INT32_MAX ? INT32_MAX : v < -INT32_MAX ? -INT32_MAX : (int32_t)v;
}

/* Flag bit of a cancelling party, -1 when none is named. */
static int cancel_bit(fc_party p) {
    switch (p) {
    case FC_PARTY_CUSTOMER:
        return FC__F_CANCEL_CUSTOMER;
    case FC_PARTY_MERCHANT:
        return FC__F_CANCEL_MERCHANT;
    case FC_PARTY_RIDER:
        return FC__F_CANCEL_RIDER;
    case FC_PARTY_PLATFORM:
        return FC__F_CANCEL_PLATFORM;
    case FC_PARTY_FORCE_MAJEURE:
        return FC__F_CANCEL_FORCE_MAJEURE;
    case FC_PARTY_UNDETERMINED:
        return FC__F_CANCEL_UNDETERMINED;
    default:
        return -1;
    }
}

int fc_facts_add(fc_facts *t, const fc_order_facts *o, const fc_ref *ref, const fc_thresholds *th,
                 int *added, fc_err *err) {
    if (added != NULL) {
        *added = 0;
    }
    if (o->created_at == FC_TS_NONE) {
        return FC_OK;
    }
    int rc = reserve_rows(t, t->n + 1);
    if (rc != FC_OK) {
        return fc_err_set(err, rc, NULL, 0, 0, "out of memory growing the fact table");
    }
    uint32_t city = 0, zone = 0, merchant = 0, rider = 0;
    uint8_t category = 0, currency = 0;
    char zbuf[512];
    fc_str cur = o->currency;
    const fc_city *c = NULL;
    if (cur.n == 0 && ref != NULL && (c = fc_ref_city(ref, o->city)) != NULL) {
        cur = fc_str_c(c->currency);
    }
    /* Hash every key and prefetch its slot first: the merchant and rider
     * tables are larger than the caches, and their misses then overlap. */
    row_key k_merchant = key_of(t->merchants, o->merchant, "unknown");
    row_key k_rider = key_of(t->riders, o->rider, "none");
    row_key k_zone = zone_key(t, o->city, o->zone, zbuf);
    row_key k_city = key_of(t->cities, o->city, "unknown");
    row_key k_category = key_of(t->categories, o->category, "unknown");
    row_key k_currency = key_of(t->currencies, cur, "");
    rc = city_id(t, o->city, k_city, ref, &city);
    if (rc == FC_OK) {
        rc = zone_id(t, o->city, o->zone, k_zone, ref, &zone);
    }
    if (rc == FC_OK) {
        rc = merchant_id(t, o->merchant, k_merchant, ref, &merchant);
    }
    if (rc == FC_OK) {
        rc = rider_id(t, o->rider, k_rider, ref, &rider);
    }
    if (rc == FC_OK) {
        rc = small_id(t->categories, k_category, &category);
    }
    if (rc == FC_OK) {
        rc = small_id(t->currencies, k_currency, &currency);
    }
    if (rc != FC_OK) {
        return fc_err_set(err, rc, NULL, 0, 0, "fact table: %s adding order %.*s",
                          rc == FC_ELIMIT ? "too many distinct values" : "out of memory",
                          (int)o->order.n, o->order.p);
    }

    fc_localtime lt = local_of(t->city_tz[city], o->created_at);
    int32_t date = lt.date < 0 ? 0 : lt.date > UINT16_MAX ? UINT16_MAX : lt.date;

    int delivered = o->status == FC_ORDER_DELIVERED;
    int has_delivery = delivered && o->delivery_s != FC_DUR_NONE && o->delivery_s >= 0;
    int rated = o->rating != FC_INT_NONE;
    int surveyed = o->survey != FC_INT_NONE && o->survey >= 0 && o->survey <= 10;
    int has_wait = o->wait_at_merchant_s != FC_DUR_NONE && o->wait_at_merchant_s >= 0;
    int has_prep = o->ready_at != FC_TS_NONE && o->est_ready_at != FC_TS_NONE;
    int has_value = o->order_value_minor != FC_MONEY_NONE;
    int cb = o->status == FC_ORDER_CANCELLED ? cancel_bit(o->cancelled_by) : -1;
    uint32_t f =
        bit(1, FC__F_ORDER) | bit(cb >= 0, cb >= 0 ? cb : 0) | bit(delivered, FC__F_DELIVERED) |
        bit(delivered && (o->incidents & FC_INC_LATE), FC__F_LATE) |
        bit(delivered && (o->incidents & FC_INC_SEVERE_LATE), FC__F_SEVERE_LATE) |
        bit(o->status == FC_ORDER_CANCELLED, FC__F_CANCELLED) |
        bit(o->status == FC_ORDER_UNDELIVERABLE, FC__F_UNDELIVERABLE) |
        bit(o->complaints > 0 || (o->incidents & FC_INC_COMPLAINT), FC__F_COMPLAINED) |
        bit(o->cs_contacts > 0, FC__F_CS_CONTACTED) | bit(rated, FC__F_RATED) |
        bit(rated && (o->incidents & FC_INC_BAD_RATING), FC__F_BAD_RATED) |
        bit(rated && o->rating >= 4, FC__F_GOOD_RATED) | bit(surveyed, FC__F_SURVEYED) |
        bit(surveyed && o->survey >= 9, FC__F_PROMOTER) |
        bit(surveyed && o->survey <= 6, FC__F_DETRACTOR) | bit(o->pushes > 0, FC__F_PUSHED) |
        bit(o->pushes > 0 && o->accepted_at != FC_TS_NONE, FC__F_PUSHED_ACCEPTED) |
        bit(has_wait, FC__F_WAIT) | bit(has_prep, FC__F_PREP) |
        bit(has_prep && o->prep_overrun_s != FC_DUR_NONE &&
                o->prep_overrun_s > (th != NULL ? th->prep_overrun_s : 0),
            FC__F_PREP_OVERRUN) |
        bit(has_delivery, FC__F_DELIVERY) | bit(has_value, FC__F_VALUE);

    size_t i = t->n;
    t->created_at[i] = o->created_at;
    t->city[i] = (uint16_t)city;
    t->zone[i] = zone;
    t->merchant[i] = merchant;
    t->rider[i] = rider;
    t->category[i] = category;
    t->currency[i] = currency;
    t->hour[i] = lt.hour;
    t->date[i] = (uint16_t)date;
    t->weather[i] = (uint8_t)(o->weather_severity < 0   ? 0
                              : o->weather_severity > 3 ? 3
                                                        : o->weather_severity);
    t->status[i] = (uint8_t)o->status;
    if (has_delivery) {
        int32_t m = o->delivery_s / 60;
        t->bucket[i] = (uint8_t)(m >= FC_KPI_HIST_MINUTES ? FC_KPI_HIST_MINUTES : m);
        t->delivery_s[i] = (uint32_t)o->delivery_s;
    } else {
        t->bucket[i] = FC_KPI_HIST_BUCKETS;
        t->delivery_s[i] = 0;
    }
    t->flags[i] = f;
    t->wait_s[i] = has_wait ? (uint32_t)o->wait_at_merchant_s : 0;
    t->pushes[i] = o->pushes;
    t->refusals[i] = o->refusals;
    int64_t comp = o->compensation_minor == FC_MONEY_NONE ? 0 : o->compensation_minor;
    int64_t cost = o->delivery_cost_minor == FC_MONEY_NONE ? 0 : o->delivery_cost_minor;
    t->cost_minor[i] = sat32(cost + comp);
    t->value_comp_minor[i] = has_value ? sat32(comp) : 0;
    t->value_minor[i] = has_value ? sat32(o->order_value_minor) : 0;
    if (t->n == 0 || date < t->date_min) {
        t->date_min = (uint16_t)date;
    }
    if (t->n == 0 || date > t->date_max) {
        t->date_max = (uint16_t)date;
    }
    t->n++;
    if (added != NULL) {
        *added = 1;
    }
    return FC_OK;
}

size_t fc_facts_count(const fc_facts *t) {
    return t->n;
}

size_t fc_facts_bytes(const fc_facts *t) {
    size_t row = sizeof *t->created_at + sizeof *t->city + sizeof *t->zone + sizeof *t->merchant +
                 sizeof *t->rider + sizeof *t->category + sizeof *t->currency + sizeof *t->hour +
                 sizeof *t->date + sizeof *t->weather + sizeof *t->status + sizeof *t->bucket +
                 sizeof *t->flags + sizeof *t->delivery_s + sizeof *t->wait_s + sizeof *t->pushes +
                 sizeof *t->refusals + sizeof *t->cost_minor + sizeof *t->value_comp_minor +
                 sizeof *t->value_minor;
    size_t bytes = sizeof *t + row * t->cap;
    bytes += t->city_cap * (sizeof(fc_tz *) + sizeof(uint32_t));
    bytes += t->zone_cap + t->rider_cap + t->merchant_cap * 2 * sizeof(uint32_t);
    /* Dictionaries: the strings, a hash slot and an offset per entry, estimated. */
    const fc_dict *dicts[] = {t->cities,    t->zones,          t->merchants,
                              t->riders,    t->categories,     t->currencies,
                              t->countries, t->merchant_kinds, t->brands};
    for (size_t d = 0; d < sizeof dicts / sizeof dicts[0]; d++) {
        uint32_t n = fc_dict_count(dicts[d]);
        for (uint32_t k = 0; k < n; k++) {
            bytes += fc_dict_get(dicts[d], k).n + 1 + 24;
        }
    }
    return bytes;
}

fc__base fc__dim_base(fc_dim d) {
    switch (d) {
    case FC_DIM_COUNTRY:
    case FC_DIM_CITY:
        return FC__B_CITY;
    case FC_DIM_ZONE:
    case FC_DIM_ZONE_KIND:
        return FC__B_ZONE;
    case FC_DIM_HOUR:
    case FC_DIM_DAYPART:
        return FC__B_HOUR;
    case FC_DIM_DATE:
    case FC_DIM_WEEKDAY:
        return FC__B_DATE;
    case FC_DIM_MERCHANT:
    case FC_DIM_MERCHANT_KIND:
    case FC_DIM_BRAND:
        return FC__B_MERCHANT;
    case FC_DIM_RIDER:
    case FC_DIM_CAPACITY:
        return FC__B_RIDER;
    case FC_DIM_CATEGORY:
        return FC__B_CATEGORY;
    case FC_DIM_WEATHER:
        return FC__B_WEATHER;
    case FC_DIM_STATUS:
    default:
        return FC__B_STATUS;
    }
}

uint32_t fc__base_cardinality(const fc_facts *t, fc__base b) {
    switch (b) {
    case FC__B_CITY:
        return fc_dict_count(t->cities);
    case FC__B_ZONE:
        return fc_dict_count(t->zones);
    case FC__B_MERCHANT:
        return fc_dict_count(t->merchants);
    case FC__B_RIDER:
        return fc_dict_count(t->riders);
    case FC__B_CATEGORY:
        return fc_dict_count(t->categories);
    case FC__B_HOUR:
        return 24;
    case FC__B_DATE:
        return t->n == 0 ? 0 : (uint32_t)(t->date_max - t->date_min) + 1u;
    case FC__B_WEATHER:
        return 4;
    case FC__B_STATUS:
    default:
        return 4;
    }
}

uint32_t fc__base_value(const fc_facts *t, fc__base b, size_t row) {
    switch (b) {
    case FC__B_CITY:
        return t->city[row];
    case FC__B_ZONE:
        return t->zone[row];
    case FC__B_MERCHANT:
        return t->merchant[row];
    case FC__B_RIDER:
        return t->rider[row];
    case FC__B_CATEGORY:
        return t->category[row];
    case FC__B_HOUR:
        return t->hour[row];
    case FC__B_DATE:
        return (uint32_t)(t->date[row] - t->date_min);
    case FC__B_WEATHER:
        return t->weather[row];
    case FC__B_STATUS:
    default:
        return t->status[row];
    }
}

uint32_t fc__dim_of_base(const fc_facts *t, fc_dim d, uint32_t id) {
    switch (d) {
    case FC_DIM_COUNTRY:
        return t->city_country[id];
    case FC_DIM_ZONE_KIND:
        return t->zone_kind[id];
    case FC_DIM_DAYPART:
        return (uint32_t)fc_daypart_of_hour((int)id);
    case FC_DIM_WEEKDAY:
        return (uint32_t)(((int64_t)t->date_min + id + 3) % 7);
    case FC_DIM_MERCHANT_KIND:
        return t->merchant_kind[id];
    case FC_DIM_BRAND:
        return t->merchant_brand[id];
    case FC_DIM_CAPACITY:
        return t->rider_capacity[id];
    default:
        return id;
    }
}

uint32_t fc_facts_cardinality(const fc_facts *t, fc_dim d) {
    switch (d) {
    case FC_DIM_COUNTRY:
        return fc_dict_count(t->countries);
    case FC_DIM_ZONE_KIND:
        return FC_ZONE__COUNT;
    case FC_DIM_DAYPART:
        return FC_DAYPART__COUNT;
    case FC_DIM_WEEKDAY:
        return 7;
    case FC_DIM_MERCHANT_KIND:
        return fc_dict_count(t->merchant_kinds);
    case FC_DIM_BRAND:
        return fc_dict_count(t->brands);
    case FC_DIM_CAPACITY:
        return FC_CAP__COUNT;
    default:
        return fc__base_cardinality(t, fc__dim_base(d));
    }
}

uint32_t fc_facts_value(const fc_facts *t, fc_dim d, size_t row) {
    return fc__dim_of_base(t, d, fc__base_value(t, fc__dim_base(d), row));
}

static void put(char *buf, size_t bufsz, fc_str s) {
    fc_str_cpy(buf, bufsz, s);
}

void fc_facts_label(const fc_facts *t, fc_dim d, uint32_t v, char *buf, size_t bufsz) {
    if (bufsz == 0) {
        return;
    }
    buf[0] = '\0';
    if (v >= fc_facts_cardinality(t, d)) {
        return;
    }
    switch (d) {
    case FC_DIM_COUNTRY:
        put(buf, bufsz, fc_dict_get(t->countries, v));
        break;
    case FC_DIM_CITY:
        put(buf, bufsz, fc_dict_get(t->cities, v));
        break;
    case FC_DIM_ZONE: {
        fc_str k = fc_dict_get(t->zones, v);
        const char *sep = memchr(k.p, FC__ZONE_SEP, k.n);
        size_t off = sep != NULL ? (size_t)(sep - k.p) + 1 : 0;
        put(buf, bufsz, fc_str_make(k.p + off, k.n - off));
        break;
    }
    case FC_DIM_ZONE_KIND:
        put(buf, bufsz,
            fc_str_c(v == FC_ZONE_UNKNOWN ? "unknown" : fc_zone_kind_name((fc_zone_kind)v)));
        break;
    case FC_DIM_HOUR:
        snprintf(buf, bufsz, "%02u", v);
        break;
    case FC_DIM_DAYPART:
        put(buf, bufsz, fc_str_c(daypart_names[v]));
        break;
    case FC_DIM_DATE: {
        int64_t y;
        unsigned m, dd;
        fc_civil_from_days((int64_t)t->date_min + v, &y, &m, &dd);
        snprintf(buf, bufsz, "%04lld-%02u-%02u", (long long)y, m, dd);
        break;
    }
    case FC_DIM_WEEKDAY:
        put(buf, bufsz, fc_str_c(weekday_names[v]));
        break;
    case FC_DIM_MERCHANT:
        put(buf, bufsz, fc_dict_get(t->merchants, v));
        break;
    case FC_DIM_MERCHANT_KIND:
        put(buf, bufsz, fc_dict_get(t->merchant_kinds, v));
        break;
    case FC_DIM_BRAND:
        put(buf, bufsz, fc_dict_get(t->brands, v));
        break;
    case FC_DIM_RIDER:
        put(buf, bufsz, fc_dict_get(t->riders, v));
        break;
    case FC_DIM_CAPACITY:
        put(buf, bufsz,
            fc_str_c(v == FC_CAP_UNKNOWN ? "unknown" : fc_capacity_name((fc_capacity)v)));
        break;
    case FC_DIM_CATEGORY:
        put(buf, bufsz, fc_dict_get(t->categories, v));
        break;
    case FC_DIM_WEATHER:
        put(buf, bufsz, fc_str_c(weather_names[v]));
        break;
    case FC_DIM_STATUS:
        put(buf, bufsz, fc_str_c(status_names[v]));
        break;
    default:
        break;
    }
}

const char *fc_facts_currency(const fc_facts *t, uint32_t id) {
    if (id >= fc_dict_count(t->currencies)) {
        return "";
    }
    return fc_dict_get(t->currencies, id).p;
}
