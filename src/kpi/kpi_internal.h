/*
 * kpi internals shared by the module's files: the fact table's layout.
 */
#ifndef FC_KPI_INTERNAL_H
#define FC_KPI_INTERNAL_H

#include "kpi/kpi.h"

/* Per-row flag bits. */
enum {
    FC__F_ORDER = 0, /* always set: counts orders */
    FC__F_DELIVERED,
    FC__F_LATE,
    FC__F_SEVERE_LATE,
    FC__F_CANCELLED,
    FC__F_UNDELIVERABLE,
    FC__F_COMPLAINED,
    FC__F_CS_CONTACTED,
    FC__F_RATED,
    FC__F_BAD_RATED,
    FC__F_GOOD_RATED,
    FC__F_SURVEYED,
    FC__F_PROMOTER,
    FC__F_DETRACTOR,
    FC__F_PUSHED,
    FC__F_PUSHED_ACCEPTED,
    FC__F_WAIT,
    FC__F_PREP,
    FC__F_PREP_OVERRUN,
    FC__F_DELIVERY,
    FC__F_VALUE,
    FC__F_CANCEL_CUSTOMER, /* cancelled, by party */
    FC__F_CANCEL_MERCHANT,
    FC__F_CANCEL_RIDER,
    FC__F_CANCEL_PLATFORM,
    FC__F_CANCEL_FORCE_MAJEURE,
    FC__F_CANCEL_UNDETERMINED,
    FC__F__COUNT
};

/* The columns a dimension is read from: derived dimensions (country, zone
 * kind, daypart, weekday, merchant kind, brand, capacity) map a base column's
 * ids through a per-entity table. */
typedef enum fc__base {
    FC__B_CITY = 0,
    FC__B_ZONE,
    FC__B_MERCHANT,
    FC__B_RIDER,
    FC__B_CATEGORY,
    FC__B_HOUR,
    FC__B_DATE,
    FC__B_WEATHER,
    FC__B_STATUS,
    FC__B__COUNT
} fc__base;

#define FC__ZONE_SEP  '\x1f' /* zone dictionary keys are "city<SEP>zone" */
#define FC__MAX_SMALL 255    /* categories and currencies: one byte */

struct fc_facts {
    size_t n, cap;
    /* Row columns. */
    int64_t *created_at;  /* UTC s */
    uint16_t *city;       /* cities dictionary id */
    uint32_t *zone;       /* zones dictionary id ("city<SEP>zone") */
    uint32_t *merchant;   /* merchants dictionary id */
    uint32_t *rider;      /* riders dictionary id ("" = none) */
    uint8_t *category;    /* categories dictionary id */
    uint8_t *currency;    /* currencies dictionary id */
    uint8_t *hour;        /* local hour 0-23 */
    uint16_t *date;       /* local days since 1970-01-01 */
    uint8_t *weather;     /* severity 0-3 */
    uint8_t *status;      /* fc_order_status */
    uint8_t *bucket;      /* delivery-minute bucket, FC_KPI_HIST_BUCKETS when none */
    uint32_t *flags;      /* 1u << FC__F_* */
    uint32_t *delivery_s; /* created -> delivered, 0 when not counted */
    uint32_t *wait_s;     /* wait at merchant, 0 when unknown */
    uint16_t *pushes, *refusals;
    /* Per-order amounts in 32 bits (saturated; 21 million in a 2-decimal
     * currency), summed in 64 bits. */
    int32_t *cost_minor;       /* delivery cost + compensation */
    int32_t *value_comp_minor; /* compensation when the order value is known, else 0 */
    int32_t *value_minor;      /* order value, 0 when unknown */

    /* Dictionaries. */
    fc_dict *cities, *zones, *merchants, *riders, *categories, *currencies;
    fc_dict *countries, *merchant_kinds, *brands;

    /* Per-entity tables, indexed by the entity's dictionary id. */
    uint32_t *city_country; /* countries id */
    fc_tz **city_tz;        /* owned; NULL = UTC */
    size_t city_cap;
    uint8_t *zone_kind; /* fc_zone_kind */
    size_t zone_cap;
    uint32_t *merchant_kind, *merchant_brand;
    size_t merchant_cap;
    uint8_t *rider_capacity; /* fc_capacity */
    size_t rider_cap;

    uint16_t date_min, date_max; /* range of the date column (when n > 0) */
};

/* The base column of a dimension. */
fc__base fc__dim_base(fc_dim d);
/* Number of ids of a base column. */
uint32_t fc__base_cardinality(const fc_facts *t, fc__base b);
/* Value id of dimension d for base id `id` of its base column. */
uint32_t fc__dim_of_base(const fc_facts *t, fc_dim d, uint32_t id);
/* Base id on a row. */
uint32_t fc__base_value(const fc_facts *t, fc__base b, size_t row);

#endif
