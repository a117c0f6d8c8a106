/*
 * ref: reference entities (cities, zones, merchants, riders) and lookup by
 * name. A fc_ref owns copies of every string it holds.
 *
 * Thread safety: building is single-threaded; once built, lookups are
 * read-only and may run from many threads.
 */
#ifndef FC_REF_H
#define FC_REF_H

#include "core/core.h"

typedef enum fc_zone_kind {
    FC_ZONE_UNKNOWN = 0,
    FC_ZONE_BUSINESS_DISTRICT,
    FC_ZONE_RESIDENTIAL,
    FC_ZONE_OFFICE,
    FC_ZONE_MIXED,
    FC_ZONE__COUNT
} fc_zone_kind;

typedef enum fc_capacity {
    FC_CAP_UNKNOWN = 0,
    FC_CAP_FULL_TIME,
    FC_CAP_PART_TIME,
    FC_CAP_CROWD,
    FC_CAP__COUNT
} fc_capacity;

const char *fc_zone_kind_name(fc_zone_kind k); /* "business_district", ... */
fc_zone_kind fc_zone_kind_from(fc_str s);      /* FC_ZONE_UNKNOWN when unknown */
const char *fc_capacity_name(fc_capacity c);   /* "full_time", ... */
fc_capacity fc_capacity_from(fc_str s);        /* FC_CAP_UNKNOWN when unknown */

typedef struct fc_city {
    char *city;       /* id, lower-case slug: "riyadh" */
    char *country;    /* ISO 3166 alpha-2: "SA" */
    char *tz_name;    /* IANA: "Asia/Riyadh" */
    char currency[4]; /* ISO 4217: "SAR" */
    fc_tz *tz;        /* loaded zone, owned */
} fc_city;

typedef struct fc_zone {
    char *city, *zone;
    fc_zone_kind kind;
} fc_zone;

typedef struct fc_merchant {
    char *merchant, *city, *zone;
    char *kind;             /* fast_food, restaurant, grocery, pharmacy, cafe, ... */
    char *brand;            /* "" when independent */
    int32_t lat_e6, lng_e6; /* FC_GEO_NONE (INT32_MIN) when unknown */
} fc_merchant;

typedef struct fc_rider {
    char *rider, *city;
    fc_capacity capacity;
    char *fleet;        /* fleet partner, "" when none */
    int32_t start_date; /* days since 1970-01-01, INT32_MIN when unknown */
} fc_rider;

typedef struct fc_ref fc_ref;

fc_ref *fc_ref_new(void);    /* NULL on OOM */
void fc_ref_free(fc_ref *r); /* NULL is a no-op */

/* Add or replace (same id) an entity; strings are copied. A city's time zone
 * is loaded here: FC_ENOTFOUND (err filled) for an unknown zone name,
 * FC_EINVAL for a bad currency. */
int fc_ref_put_city(fc_ref *r, const char *city, const char *country, const char *tz_name,
                    const char *currency, fc_err *err);
int fc_ref_put_zone(fc_ref *r, const char *city, const char *zone, fc_zone_kind kind, fc_err *err);
int fc_ref_put_merchant(fc_ref *r, const fc_merchant *m, fc_err *err);
int fc_ref_put_rider(fc_ref *r, const fc_rider *rd, fc_err *err);

/* Lookups: borrowed pointers, NULL when absent. Zones are keyed by
 * (city, zone). */
const fc_city *fc_ref_city(const fc_ref *r, fc_str city);
const fc_zone *fc_ref_zone(const fc_ref *r, fc_str city, fc_str zone);
const fc_merchant *fc_ref_merchant(const fc_ref *r, fc_str merchant);
const fc_rider *fc_ref_rider(const fc_ref *r, fc_str rider);

/* Iteration by index 0..count-1. */
size_t fc_ref_city_count(const fc_ref *r);
const fc_city *fc_ref_city_at(const fc_ref *r, size_t i);
size_t fc_ref_zone_count(const fc_ref *r);
const fc_zone *fc_ref_zone_at(const fc_ref *r, size_t i);
size_t fc_ref_merchant_count(const fc_ref *r);
const fc_merchant *fc_ref_merchant_at(const fc_ref *r, size_t i);
size_t fc_ref_rider_count(const fc_ref *r);
const fc_rider *fc_ref_rider_at(const fc_ref *r, size_t i);

#endif
