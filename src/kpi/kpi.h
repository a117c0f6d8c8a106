/*
 * kpi: the fact table (one row per order, columnar, dictionary-encoded
 * dimensions), the cube aggregator (additive counters and mergeable delivery
 * time histograms per group), the KPI catalog (docs/kpis.md) and loading the
 * fact table from the store.
 *
 * Every KPI is a ratio or a mean of additive counters (fc_kpi_counts), so the
 * counters of any two disjoint slices merge by addition and the KPI of the
 * union is computed from the merged counters; percentiles come from the
 * merged histogram.
 *
 * Thread safety: a fact table is built by one thread; once built it is
 * read-only and any number of threads may build cubes over it. The catalog
 * functions are pure and re-entrant.
 */
#ifndef FC_KPI_H
#define FC_KPI_H

#include <stdio.h>

#include "core/core.h"
#include "order/order.h"
#include "ref/ref.h"
#include "store/store.h"

/* ---------------------------------------------------------------------------
 * Dimensions.
 */
typedef enum fc_dim {
    FC_DIM_COUNTRY = 0,   /* the city's country (reference data) */
    FC_DIM_CITY,          /* city id */
    FC_DIM_ZONE,          /* zone within its city; labelled by the zone name */
    FC_DIM_ZONE_KIND,     /* business_district, residential, office, mixed */
    FC_DIM_HOUR,          /* local hour of creation, 0-23, in the city's time zone */
    FC_DIM_DAYPART,       /* breakfast, lunch, afternoon, dinner, late_night */
    FC_DIM_DATE,          /* local date of creation, YYYY-MM-DD */
    FC_DIM_WEEKDAY,       /* mon ... sun, local */
    FC_DIM_MERCHANT,      /* merchant id */
    FC_DIM_MERCHANT_KIND, /* fast_food, restaurant, grocery, ... */
    FC_DIM_BRAND,         /* merchant brand, "independent" when none */
    FC_DIM_RIDER,         /* rider id of the delivery ("none" when never accepted) */
    FC_DIM_CAPACITY,      /* full_time, part_time, crowd */
    FC_DIM_CATEGORY,      /* food, grocery, pharmacy, ... */
    FC_DIM_WEATHER,       /* none, light, moderate, severe (max severity while open) */
    FC_DIM_STATUS,        /* open, delivered, cancelled, undeliverable */
    FC_DIM__COUNT
} fc_dim;

/* "country", "city", ...; "" out of range. Static string. */
const char *fc_dim_name(fc_dim d);
/* Dimension from its name; -1 when unknown. */
int fc_dim_from(fc_str name);

/* Dayparts by local hour: breakfast 6-10, lunch 11-14, afternoon 15-16,
 * dinner 17-21, late_night 22-5. */
typedef enum fc_daypart {
    FC_DAYPART_BREAKFAST = 0,
    FC_DAYPART_LUNCH,
    FC_DAYPART_AFTERNOON,
    FC_DAYPART_DINNER,
    FC_DAYPART_LATE_NIGHT,
    FC_DAYPART__COUNT
} fc_daypart;
fc_daypart fc_daypart_of_hour(int hour);
const char *fc_daypart_name(fc_daypart p);

/* ---------------------------------------------------------------------------
 * Fact table.
 */
typedef struct fc_facts fc_facts;

fc_facts *fc_facts_new(void);    /* NULL on OOM */
void fc_facts_free(fc_facts *t); /* NULL is a no-op */

/* Append one order. `o` is borrowed (its strings are interned, nothing else
 * is kept); `ref` (may be NULL) gives the city's country, time zone and
 * currency, the zone's kind, the merchant's kind and brand and the rider's
 * capacity, looked up the first time each entity is seen; `th` (may be NULL:
 * any overrun counts) gives the prep-overrun threshold. Orders without a
 * creation instant are skipped (FC_OK, *added = 0 when added is not NULL).
 * Returns FC_OK, FC_ENOMEM or FC_ELIMIT (more than 2^32-2 distinct values of
 * a dimension, or more than 255 categories/currencies); on error the table is
 * unchanged. */
int fc_facts_add(fc_facts *t, const fc_order_facts *o, const fc_ref *ref, const fc_thresholds *th,
                 int *added, fc_err *err);

/* Release the growth slack of the columns (call once loading is done). */
void fc_facts_seal(fc_facts *t);

size_t fc_facts_count(const fc_facts *t);
/* Bytes the table holds: columns, dictionaries and per-entity tables. */
size_t fc_facts_bytes(const fc_facts *t);

/* Number of distinct values of a dimension (ids 0..n-1). */
uint32_t fc_facts_cardinality(const fc_facts *t, fc_dim d);
/* Value id of dimension d on row `row`. */
uint32_t fc_facts_value(const fc_facts *t, fc_dim d, size_t row);
/* The label of value id v of dimension d into buf (always NUL-terminated). */
void fc_facts_label(const fc_facts *t, fc_dim d, uint32_t v, char *buf, size_t bufsz);
/* Currency code of currency id `id` ("" when out of range). Borrowed. */
const char *fc_facts_currency(const fc_facts *t, uint32_t id);

/* ---------------------------------------------------------------------------
 * Additive counters of a slice. Every field sums (currency_mask ORs), so
 * fc_kpi_counts_merge of two disjoint slices gives the counters of their union.
 */
#define FC_KPI_HIST_MINUTES 180                       /* 1-minute buckets 0..179 */
#define FC_KPI_HIST_BUCKETS (FC_KPI_HIST_MINUTES + 1) /* + overflow (>= 180 min) */

typedef struct fc_kpi_counts {
    int64_t orders;                        /* orders created in the slice, any status */
    int64_t delivered;                     /* status delivered */
    int64_t late;                          /* delivered and late (promise + grace) */
    int64_t severe_late;                   /* delivered and severely late */
    int64_t cancelled;                     /* status cancelled */
    int64_t cancelled_by[FC_PARTY__COUNT]; /* cancelled, by party (NONE: not said) */
    int64_t undeliverable;                 /* status undeliverable */
    int64_t complained;                    /* orders with at least one complaint */
    int64_t cs_contacted;                  /* orders with at least one customer-service contact */
    int64_t rated;                         /* orders with a rating */
    int64_t bad_rated;                     /* rating <= the city's bad_rating_max */
    int64_t good_rated;                    /* rating >= 4 */
    int64_t surveyed;                      /* orders with an NPS answer (0-10) */
    int64_t promoters;                     /* answer 9-10 */
    int64_t detractors;                    /* answer 0-6 */
    int64_t pushed;                        /* orders pushed to a rider at least once */
    int64_t pushed_accepted;               /* pushed orders a rider accepted */
    int64_t pushes;                        /* push events */
    int64_t refusals;                      /* refusal events */
    int64_t wait_n;                        /* orders with a wait at the merchant */
    int64_t wait_s;                        /* sum of those waits, seconds */
    int64_t prep_n;                        /* orders with both ready and estimated-ready instants */
    int64_t prep_overrun;                  /* of which ready later than estimate + prep_overrun_s */
    int64_t delivery_n;                    /* delivered orders with a delivery time */
    int64_t delivery_s;       /* sum of delivery times (created -> delivered), seconds */
    int64_t cost_minor;       /* delivery cost + compensation, every order, minor units */
    int64_t value_n;          /* orders with an order value */
    int64_t value_minor;      /* sum of order values, minor units */
    int64_t value_comp_minor; /* compensation of the orders with an order value */
    uint64_t currency_mask;   /* bit i: currency id i seen on an order (bit 63: id >= 63) */
    uint32_t hist[FC_KPI_HIST_BUCKETS + 1]; /* delivery minutes of delivery_n orders;
                                               the last slot is scratch, ignored */
} fc_kpi_counts;

/* into += from. */
void fc_kpi_counts_merge(fc_kpi_counts *into, const fc_kpi_counts *from);
/* Delivery minutes at quantile q (0..1) from the histogram, interpolated
 * linearly within the 1-minute bucket; the overflow bucket reads as 180.
 * Returns 0 with *minutes set, or FC_ENOTFOUND when the histogram is empty. */
int fc_kpi_percentile(const fc_kpi_counts *c, double q, double *minutes);

/* ---------------------------------------------------------------------------
 * KPI catalog (exact definitions in docs/kpis.md).
 */
typedef enum fc_kpi_unit {
    FC_KPI_COUNT = 0, /* a count of orders */
    FC_KPI_RATE,      /* a share, printed as a percentage */
    FC_KPI_MINUTES,   /* minutes */
    FC_KPI_MONEY,     /* minor units of the slice's currency */
    FC_KPI_SCORE      /* NPS, -100..100 */
} fc_kpi_unit;

typedef struct fc_kpi_def {
    const char *name; /* "on_time_rate" */
    fc_kpi_unit unit;
    int main;               /* shown by default */
    int money;              /* computed from amounts: needs a single currency */
    const char *definition; /* one line: numerator / denominator */
} fc_kpi_def;

size_t fc_kpi_count(void);
const fc_kpi_def *fc_kpi_at(size_t i); /* NULL out of range; static */
int fc_kpi_find(fc_str name);          /* index, -1 when unknown */

/* Value of KPI k on counters c. Returns FC_OK with *value (rates as shares
 * 0..1, minutes, minor units for money, NPS points), FC_ENOTFOUND when the
 * denominator is zero (empty slice), or FC_EINVAL for a money KPI over a slice
 * mixing currencies. */
int fc_kpi_value(const fc_kpi_counts *c, size_t k, double *value);
/* Format KPI k for printing into buf: rates as percent with one decimal,
 * minutes with one decimal, money with fc_money_format in the slice's currency
 * (from t), counts and NPS as numbers. An undefined value prints as "". */
void fc_kpi_format(const fc_facts *t, const fc_kpi_counts *c, size_t k, char *buf, size_t bufsz);
/* Currency id of a slice: >= 0 when exactly one currency, -1 when none, -2
 * when mixed. */
int fc_kpi_currency(const fc_kpi_counts *c);

/* ---------------------------------------------------------------------------
 * Cube: counters per group of any list of dimensions, over the rows that pass
 * the filters and the time window.
 */
typedef struct fc_kpi_filter {
    fc_dim dim;
    const char *const *values; /* borrowed; a row passes when its label equals one */
    size_t n_values;
} fc_kpi_filter;

typedef struct fc_cube_query {
    fc_dim by[FC_DIM__COUNT];     /* group-by dimensions, in output order */
    size_t n_by;                  /* 0: one group, the whole selection */
    const fc_kpi_filter *filters; /* borrowed, ANDed */
    size_t n_filters;
    int64_t from, to;           /* creation instant in [from, to); FC_TS_NONE = open */
    int32_t from_date, to_date; /* local creation date in [from_date, to_date] (days
                                   since epoch); INT32_MIN = open */
} fc_cube_query;

/* A query with no grouping, no filter and an open window. */
void fc_cube_query_init(fc_cube_query *q);

typedef struct fc_cube fc_cube;

/* Aggregate t under q. Groups come out sorted by their labels' value ids in
 * the order of q->by (dates and hours chronologically, names in first-seen
 * order of the table's dictionaries). Filter values that match nothing give an
 * empty cube, not an error. FC_EINVAL for a bad query (err says why),
 * FC_ENOMEM. */
int fc_cube_build(const fc_facts *t, const fc_cube_query *q, fc_cube **out, fc_err *err);
void fc_cube_free(fc_cube *c); /* NULL is a no-op */
size_t fc_cube_groups(const fc_cube *c);
/* Value id of the j-th group-by dimension of group g. */
uint32_t fc_cube_key(const fc_cube *c, size_t g, size_t j);
/* Counters of group g (borrowed, valid until fc_cube_free). */
const fc_kpi_counts *fc_cube_counts(const fc_cube *c, size_t g);
/* Counters of every row selected (the sum of all groups). */
const fc_kpi_counts *fc_cube_total(const fc_cube *c);

/* Parse --from/--to text: a date "YYYY-MM-DD" (local calendar day of each
 * city) sets *date, an instant (ISO 8601 with offset or Z) sets *ts. FC_EPARSE
 * (err filled) otherwise. */
int fc_kpi_parse_when(const char *s, int64_t *ts, int32_t *date, fc_err *err);

/* ---------------------------------------------------------------------------
 * Loading from the store.
 */
typedef struct fc_kpi_load_stats {
    int64_t records; /* records scanned */
    int64_t events;  /* events scanned */
    int64_t orders;  /* orders folded */
    int64_t skipped; /* orders not added (fold refused, no creation event) */
    int64_t weather; /* weather windows collected */
} fc_kpi_load_stats;

/* Scan the whole store, group events by order, fold each order with the
 * thresholds of its city (settings; NULL = built-in defaults) and the weather
 * windows of its city, and build a sealed fact table. *out is caller-freed with
 * fc_facts_free; stats may be NULL. On error *out is NULL and err says why. */
int fc_facts_load_store(fc_store *s, const fc_settings *settings, fc_facts **out,
                        fc_kpi_load_stats *stats, fc_err *err);

/* ---------------------------------------------------------------------------
 * Queries from text: a cube query and a KPI list built from the --by,
 * --where, --from, --to and --kpi of `fulcrum kpi` (the parameters of
 * GET /v1/kpi), and the display order of a cube's groups. Shared by the CLI
 * and the HTTP server so both answer the same question the same way. A
 * request is used by one thread; the functions are re-entrant.
 */
#define FC_KPI_REQ_MAX_FILTERS 32  /* where clauses */
#define FC_KPI_REQ_MAX_VALUES  256 /* values of one where clause */
#define FC_KPI_REQ_MAX_KPIS    64  /* KPIs asked */

/* A query from text. Owns copies of the filter values (free with
 * fc_kpi_request_free); q.filters points into it, so it is not copied by
 * value once a filter is added. */
typedef struct fc_kpi_request {
    fc_cube_query q;
    fc_kpi_filter filters[FC_KPI_REQ_MAX_FILTERS];
    char *text[FC_KPI_REQ_MAX_FILTERS]; /* owned copies of the where values */
    char *values[FC_KPI_REQ_MAX_FILTERS][FC_KPI_REQ_MAX_VALUES];
    size_t kpis[FC_KPI_REQ_MAX_KPIS]; /* catalog indices, in output order */
    size_t n_kpis;
} fc_kpi_request;

/* Defaults: grouped by city, no filter, open window, the main KPIs. */
void fc_kpi_request_init(fc_kpi_request *r);
/* Release the filter values. r may then be initialised again. */
void fc_kpi_request_free(fc_kpi_request *r);

/* Each setter returns FC_OK, or FC_EINVAL with err->msg saying why (without
 * the parameter's name, which the caller adds) and r unchanged in meaning. */

/* "city,hour": group by these dimensions, in order (empty parts skipped;
 * "" means one group, the whole selection). */
int fc_kpi_request_by(fc_kpi_request *r, const char *list, fc_err *err);
/* "city=riyadh,jeddah": add a filter, ANDed with the others. */
int fc_kpi_request_where(fc_kpi_request *r, const char *spec, fc_err *err);
/* "on_time_rate,late_rate" or "all". */
int fc_kpi_request_kpis(fc_kpi_request *r, const char *list, fc_err *err);
/* The window's start (is_from) or end: a date or an instant
 * (fc_kpi_parse_when). */
int fc_kpi_request_when(fc_kpi_request *r, const char *when, int is_from, fc_err *err);

/* Group indices of c (built from t under q) in display order: words
 * (cities, zones, merchants...) alphabetically; hours, dates, weekdays,
 * dayparts, weather and statuses in their natural order. Caller frees with
 * free(); NULL on OOM. */
size_t *fc_kpi_display_order(const fc_facts *t, const fc_cube *c, const fc_cube_query *q);

#endif
