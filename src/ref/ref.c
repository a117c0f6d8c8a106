/*
 * ref: reference entities held in memory, looked up by id through interning
 * dictionaries (id -> dense index). Each entity is allocated on its own so
 * the pointers handed out stay valid while more are added; replacing an
 * entity updates it in place.
 */
#include "ref/ref.h"

#include <string.h>

struct fc_ref {
    fc_dict *city_ids, *zone_ids, *merchant_ids, *rider_ids;
    fc_city **cities;
    fc_zone **zones;
    fc_merchant **merchants;
    fc_rider **riders;
    size_t cities_cap, zones_cap, merchants_cap, riders_cap;
};

/* ---------------------------------------------------------------------------
 * Kind names.
 */
static const char *const fc__zone_kind_names[FC_ZONE__COUNT] = {"unknown", "business_district",
                                                                "residential", "office", "mixed"};
static const char *const fc__capacity_names[FC_CAP__COUNT] = {"unknown", "full_time", "part_time",
                                                              "crowd"};

const char *fc_zone_kind_name(fc_zone_kind k) {
    if ((int)k < 0 || k >= FC_ZONE__COUNT) {
        return "unknown";
    }
    return fc__zone_kind_names[k];
}

const char *fc_capacity_name(fc_capacity c) {
    if ((int)c < 0 || c >= FC_CAP__COUNT) {
        return "unknown";
    }
    return fc__capacity_names[c];
}

/* Case-insensitive match where '-' and ' ' stand for '_' ("Full-Time"). */
static int fc__name_eq(fc_str s, const char *name) {
    s = fc_str_trim(s);
    size_t n = strlen(name);
    if (s.n != n) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s.p[i];
        if (c >= 'A' && c <= 'Z') {
            c = (char)(c + 32);
        } else if (c == '-' || c == ' ') {
            c = '_';
        }
        if (c != name[i]) {
            return 0;
        }
    }
    return 1;
}

fc_zone_kind fc_zone_kind_from(fc_str s) {
    for (int k = 1; k < FC_ZONE__COUNT; k++) {
        if (fc__name_eq(s, fc__zone_kind_names[k])) {
            return (fc_zone_kind)k;
        }
    }
    return FC_ZONE_UNKNOWN;
}

fc_capacity fc_capacity_from(fc_str s) {
    for (int k = 1; k < FC_CAP__COUNT; k++) {
        if (fc__name_eq(s, fc__capacity_names[k])) {
            return (fc_capacity)k;
        }
    }
    return FC_CAP_UNKNOWN;
}

/* ---------------------------------------------------------------------------
 * Lifetime.
 */
fc_ref *fc_ref_new(void) {
    fc_ref *r = fc_calloc(1, sizeof *r);
    if (r == NULL) {
        return NULL;
    }
    r->city_ids = fc_dict_new();
    r->zone_ids = fc_dict_new();
    r->merchant_ids = fc_dict_new();
    r->rider_ids = fc_dict_new();
    if (r->city_ids == NULL || r->zone_ids == NULL || r->merchant_ids == NULL ||
        r->rider_ids == NULL) {
        fc_ref_free(r);
        return NULL;
    }
    return r;
}

static void fc__city_clear(fc_city *c) {
    fc_free(c->city);
    fc_free(c->country);
    fc_free(c->tz_name);
    fc_tz_free(c->tz);
}

static void fc__zone_clear(fc_zone *z) {
    fc_free(z->city);
    fc_free(z->zone);
}

static void fc__merchant_clear(fc_merchant *m) {
    fc_free(m->merchant);
    fc_free(m->city);
    fc_free(m->zone);
    fc_free(m->kind);
    fc_free(m->brand);
}

static void fc__rider_clear(fc_rider *rd) {
    fc_free(rd->rider);
    fc_free(rd->city);
    fc_free(rd->fleet);
}

void fc_ref_free(fc_ref *r) {
    if (r == NULL) {
        return;
    }
    for (uint32_t i = 0; i < fc_dict_count(r->city_ids); i++) {
        fc__city_clear(r->cities[i]);
        fc_free(r->cities[i]);
    }
    for (uint32_t i = 0; i < fc_dict_count(r->zone_ids); i++) {
        fc__zone_clear(r->zones[i]);
        fc_free(r->zones[i]);
    }
    for (uint32_t i = 0; i < fc_dict_count(r->merchant_ids); i++) {
        fc__merchant_clear(r->merchants[i]);
        fc_free(r->merchants[i]);
    }
    for (uint32_t i = 0; i < fc_dict_count(r->rider_ids); i++) {
        fc__rider_clear(r->riders[i]);
        fc_free(r->riders[i]);
    }
    fc_free(r->cities);
    fc_free(r->zones);
    fc_free(r->merchants);
    fc_free(r->riders);
    fc_dict_free(r->city_ids);
    fc_dict_free(r->zone_ids);
    fc_dict_free(r->merchant_ids);
    fc_dict_free(r->rider_ids);
    fc_free(r);
}

/* ---------------------------------------------------------------------------
 * Slots: find the entity of an id, or make room for a new one.
 *
 * fc__slot returns the existing entity (*is_new = 0) or a fresh zeroed one
 * appended under the id (*is_new = 1). Room in the pointer array is made
 * before the id is interned, so a failure leaves the ref unchanged.
 */
static void *fc__slot(fc_dict *ids, void ***arr, size_t *cap, fc_str id, size_t size, int *is_new) {
    int64_t at = fc_dict_find(ids, id);
    if (at >= 0) {
        *is_new = 0;
        return (*arr)[at];
    }
    uint32_t n = fc_dict_count(ids);
    if (fc_grow((void **)arr, cap, (size_t)n + 1, sizeof(void *)) != FC_OK) {
        return NULL;
    }
    void *e = fc_calloc(1, size);
    if (e == NULL) {
        return NULL;
    }
    int64_t got = fc_dict_intern(ids, id);
    if (got < 0) {
        fc_free(e);
        return NULL;
    }
    (*arr)[got] = e;
    *is_new = 1;
    return e;
}

/* Optional strings are stored as "" rather than NULL. */
static char *fc__dup_or_empty(const char *s) {
    return fc_strdup(s != NULL ? s : "");
}

static int fc__oom(fc_err *err) {
    return fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory storing reference data");
}

int fc_ref_put_city(fc_ref *r, const char *city, const char *country, const char *tz_name,
                    const char *currency, fc_err *err) {
    int rc = FC_OK;
    fc_city nc = {0};
    if (city == NULL || city[0] == '\0') {
        return fc_err_set(err, FC_EINVAL, NULL, 0, 0, "a city needs an id");
    }
    if (currency == NULL || fc_currency_decimals(currency) < 0) {
        rc = fc_err_set(err, FC_EINVAL, NULL, 0, 0,
                        "city '%s': currency '%s' is not an ISO 4217 code", city,
                        currency != NULL ? currency : "");
        fc_err_field(err, "currency", strlen("currency"));
        return rc;
    }
    rc = fc_tz_load(tz_name != NULL ? tz_name : "", &nc.tz, err);
    if (rc != FC_OK) {
        if (err != NULL) {
            char why[sizeof err->msg];
            snprintf(why, sizeof why, "%s", err->msg);
            fc_err_set(err, rc, NULL, 0, 0, "city '%s': %s", city, why);
            fc_err_field(err, "tz", 2);
        }
        return rc;
    }
    nc.city = fc_strdup(city);
    nc.country = fc__dup_or_empty(country);
    nc.tz_name = fc_strdup(tz_name);
    memcpy(nc.currency, currency, 4);
    if (nc.city == NULL || nc.country == NULL || nc.tz_name == NULL) {
        rc = fc__oom(err);
        goto out;
    }
    int is_new = 0;
    fc_city *slot = fc__slot(r->city_ids, (void ***)&r->cities, &r->cities_cap, fc_str_c(city),
                             sizeof *slot, &is_new);
    if (slot == NULL) {
        rc = fc__oom(err);
        goto out;
    }
    fc__city_clear(slot);
    *slot = nc;
    return FC_OK;
out:
    fc__city_clear(&nc);
    return rc;
}

/* Zone ids are (city, zone): the key is city, a 0x1F separator, zone. */
static int fc__zone_key(fc_str city, fc_str zone, char *stackbuf, size_t stacksz, fc_str *key,
                        char **heap) {
    size_t n = (size_t)city.n + 1 + zone.n;
    char *p = stackbuf;
    *heap = NULL;
    if (n > stacksz) {
        p = fc_malloc(n);
        if (p == NULL) {
            return FC_ENOMEM;
        }
        *heap = p;
    }
    if (city.n > 0) {
        memcpy(p, city.p, city.n);
    }
    p[city.n] = '\x1f';
    if (zone.n > 0) {
        memcpy(p + city.n + 1, zone.p, zone.n);
    }
    *key = fc_str_make(p, n);
    return FC_OK;
}

int fc_ref_put_zone(fc_ref *r, const char *city, const char *zone, fc_zone_kind kind, fc_err *err) {
    int rc = FC_OK;
    char stackbuf[256];
    char *heap = NULL;
    fc_zone nz = {0};
    if (city == NULL || city[0] == '\0' || zone == NULL || zone[0] == '\0') {
        return fc_err_set(err, FC_EINVAL, NULL, 0, 0, "a zone needs a city and a zone id");
    }
    fc_str key;
    if (fc__zone_key(fc_str_c(city), fc_str_c(zone), stackbuf, sizeof stackbuf, &key, &heap) !=
        FC_OK) {
        return fc__oom(err);
    }
    nz.city = fc_strdup(city);
    nz.zone = fc_strdup(zone);
    nz.kind = kind;
    if (nz.city == NULL || nz.zone == NULL) {
        rc = fc__oom(err);
        goto out;
    }
    int is_new = 0;
    fc_zone *slot =
        fc__slot(r->zone_ids, (void ***)&r->zones, &r->zones_cap, key, sizeof *slot, &is_new);
    if (slot == NULL) {
        rc = fc__oom(err);
        goto out;
    }
    fc__zone_clear(slot);
    *slot = nz;
    fc_free(heap);
    return FC_OK;
out:
    fc__zone_clear(&nz);
    fc_free(heap);
    return rc;
}

int fc_ref_put_merchant(fc_ref *r, const fc_merchant *m, fc_err *err) {
    int rc = FC_OK;
    if (m == NULL || m->merchant == NULL || m->merchant[0] == '\0') {
        return fc_err_set(err, FC_EINVAL, NULL, 0, 0, "a merchant needs an id");
    }
    fc_merchant nm = *m;
    nm.merchant = fc_strdup(m->merchant);
    nm.city = fc__dup_or_empty(m->city);
    nm.zone = fc__dup_or_empty(m->zone);
    nm.kind = fc__dup_or_empty(m->kind);
    nm.brand = fc__dup_or_empty(m->brand);
    if (nm.merchant == NULL || nm.city == NULL || nm.zone == NULL || nm.kind == NULL ||
        nm.brand == NULL) {
        rc = fc__oom(err);
        goto out;
    }
    int is_new = 0;
    fc_merchant *slot = fc__slot(r->merchant_ids, (void ***)&r->merchants, &r->merchants_cap,
                                 fc_str_c(m->merchant), sizeof *slot, &is_new);
    if (slot == NULL) {
        rc = fc__oom(err);
        goto out;
    }
    fc__merchant_clear(slot);
    *slot = nm;
    return FC_OK;
out:
    fc__merchant_clear(&nm);
    return rc;
}

int fc_ref_put_rider(fc_ref *r, const fc_rider *rd, fc_err *err) {
    int rc = FC_OK;
    if (rd == NULL || rd->rider == NULL || rd->rider[0] == '\0') {
        return fc_err_set(err, FC_EINVAL, NULL, 0, 0, "a rider needs an id");
    }
    fc_rider nr = *rd;
    nr.rider = fc_strdup(rd->rider);
    nr.city = fc__dup_or_empty(rd->city);
    nr.fleet = fc__dup_or_empty(rd->fleet);
    if (nr.rider == NULL || nr.city == NULL || nr.fleet == NULL) {
        rc = fc__oom(err);
        goto out;
    }
    int is_new = 0;
    fc_rider *slot = fc__slot(r->rider_ids, (void ***)&r->riders, &r->riders_cap,
                              fc_str_c(rd->rider), sizeof *slot, &is_new);
    if (slot == NULL) {
        rc = fc__oom(err);
        goto out;
    }
    fc__rider_clear(slot);
    *slot = nr;
    return FC_OK;
out:
    fc__rider_clear(&nr);
    return rc;
}

/* ---------------------------------------------------------------------------
 * Lookups.
 */
const fc_city *fc_ref_city(const fc_ref *r, fc_str city) {
    int64_t i = fc_dict_find(r->city_ids, city);
    return i < 0 ? NULL : r->cities[i];
}

const fc_zone *fc_ref_zone(const fc_ref *r, fc_str city, fc_str zone) {
    char stackbuf[256];
    char *heap = NULL;
    fc_str key;
    if (fc__zone_key(city, zone, stackbuf, sizeof stackbuf, &key, &heap) != FC_OK) {
        return NULL;
    }
    int64_t i = fc_dict_find(r->zone_ids, key);
    fc_free(heap);
    return i < 0 ? NULL : r->zones[i];
}

const fc_merchant *fc_ref_merchant(const fc_ref *r, fc_str merchant) {
    int64_t i = fc_dict_find(r->merchant_ids, merchant);
    return i < 0 ? NULL : r->merchants[i];
}

const fc_rider *fc_ref_rider(const fc_ref *r, fc_str rider) {
    int64_t i = fc_dict_find(r->rider_ids, rider);
    return i < 0 ? NULL : r->riders[i];
}

size_t fc_ref_city_count(const fc_ref *r) {
    return fc_dict_count(r->city_ids);
}
size_t fc_ref_zone_count(const fc_ref *r) {
    return fc_dict_count(r->zone_ids);
}
size_t fc_ref_merchant_count(const fc_ref *r) {
    return fc_dict_count(r->merchant_ids);
}
size_t fc_ref_rider_count(const fc_ref *r) {
    return fc_dict_count(r->rider_ids);
}

const fc_city *fc_ref_city_at(const fc_ref *r, size_t i) {
    return i < fc_ref_city_count(r) ? r->cities[i] : NULL;
}
const fc_zone *fc_ref_zone_at(const fc_ref *r, size_t i) {
    return i < fc_ref_zone_count(r) ? r->zones[i] : NULL;
}
const fc_merchant *fc_ref_merchant_at(const fc_ref *r, size_t i) {
    return i < fc_ref_merchant_count(r) ? r->merchants[i] : NULL;
}
const fc_rider *fc_ref_rider_at(const fc_ref *r, size_t i) {
    return i < fc_ref_rider_count(r) ? r->riders[i] : NULL;
}
