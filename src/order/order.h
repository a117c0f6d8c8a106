/*
 * order: the fold from an order's events to its facts, incident detection,
 * and the per-country/city thresholds (settings) the detection uses.
 *
 * The fold is pure: no I/O, no clock, no globals. Its result does not depend
 * on the order in which the events are given.
 *
 * Thread safety: fc_order_fold is re-entrant. A loaded fc_settings is
 * read-only and may be shared between threads.
 */
#ifndef FC_ORDER_H
#define FC_ORDER_H

#include "core/core.h"
#include "event/event.h"

/* Liable or acting parties. */
typedef enum fc_party {
    FC_PARTY_NONE = 0,
    FC_PARTY_RIDER,
    FC_PARTY_MERCHANT,
    FC_PARTY_CUSTOMER,
    FC_PARTY_PLATFORM,
    FC_PARTY_FORCE_MAJEURE,
    FC_PARTY_UNDETERMINED,
    FC_PARTY__COUNT
} fc_party;
const char *fc_party_name(fc_party p); /* "rider", ...; "" for NONE */
fc_party fc_party_from(fc_str s);      /* FC_PARTY_NONE when unknown */

typedef enum fc_order_status {
    FC_ORDER_OPEN = 0, /* not closed yet */
    FC_ORDER_DELIVERED,
    FC_ORDER_CANCELLED,
    FC_ORDER_UNDELIVERABLE, /* could not be handed over (returned or not) */
} fc_order_status;

/* Complaint categories (bit positions in complaint_mask). */
typedef enum fc_complaint {
    FC_COMPLAINT_LATE = 0,
    FC_COMPLAINT_MISSING_ITEM,
    FC_COMPLAINT_WRONG_ITEM,
    FC_COMPLAINT_FOOD_QUALITY,
    FC_COMPLAINT_DAMAGED, /* spilled, damaged packaging */
    FC_COMPLAINT_RIDER_BEHAVIOUR,
    FC_COMPLAINT_NOT_RECEIVED, /* marked delivered, customer says not */
    FC_COMPLAINT_OTHER,
    FC_COMPLAINT__COUNT
} fc_complaint;
const char *fc_complaint_name(fc_complaint c);
fc_complaint fc_complaint_from(fc_str s); /* FC_COMPLAINT_OTHER when unknown */

/* Incident bits. */
enum {
    FC_INC_LATE = 1u << 0,          /* delivered after promise + grace */
    FC_INC_SEVERE_LATE = 1u << 1,   /* delivered after promise + severe threshold */
    FC_INC_CANCELLED = 1u << 2,     /* cancelled (see cancelled_by) */
    FC_INC_UNDELIVERABLE = 1u << 3, /* undeliverable or returned */
    FC_INC_COMPLAINT = 1u << 4,     /* at least one complaint (see complaint_mask) */
    FC_INC_BAD_RATING = 1u << 5,    /* rating <= bad_rating_max */
    FC_INC_FAR_DELIVERY = 1u << 6,  /* marked delivered far from the door */
};

#define FC_DUR_NONE INT32_MIN /* absent duration */

/* Thresholds for one city, from the settings file. */
typedef struct fc_thresholds {
    int32_t grace_s;        /* late when delivered > promised + grace */
    int32_t severe_late_s;  /* severe when delivered > promised + this */
    int32_t bad_rating_max; /* rating <= this is bad (1-5 scale) */
    int32_t far_delivery_m; /* delivered point further than this from the door */
    int32_t prep_overrun_s; /* ready later than estimate + this is an overrun */
    int32_t weather_severe; /* severity >= this counts as severe weather */
} fc_thresholds;

/* A weather window for a city (zone empty = whole city). */
typedef struct fc_weather {
    fc_str city, zone;
    int64_t from, to; /* UTC s, [from, to) */
    int32_t severity; /* 0-3 */
} fc_weather;

/* What the fold needs besides the events; all borrowed. */
typedef struct fc_fold_ctx {
    const fc_thresholds *thresholds; /* for the order's city; required */
    const fc_weather *weather;       /* windows of the order's city, may be NULL */
    size_t n_weather;
    int32_t rider_start_date; /* days since epoch, INT32_MIN unknown */
} fc_fold_ctx;

/* An order's facts. String views borrow from the events folded. */
/* door_gps_m reads the rider's positions up to this long after delivery. */
#define FC_DOOR_GPS_AFTER_S 300

typedef struct fc_order_facts {
    fc_str order, city, zone, merchant, customer, rider, category;
    fc_order_status status;
    int64_t created_at, pushed_at, accepted_at, arrived_merchant_at, ready_at, picked_up_at,
        arrived_customer_at, delivered_at, cancelled_at, undeliverable_at;
    int64_t promised_at, est_ready_at; /* the promise and the estimated ready instant */
    /* Legs, seconds (FC_DUR_NONE when an end is missing or the pair is reversed):
     * dispatch: created -> accepted (first acceptance);
     * to_merchant: accepted (last) -> arrived at merchant;
     * wait_at_merchant: arrived at merchant -> picked up;
     * to_customer: picked up -> arrived at customer (delivered when no arrival);
     * handover: arrived at customer -> delivered;
     * delivery: created -> delivered. */
    int32_t dispatch_s, to_merchant_s, wait_at_merchant_s, to_customer_s, handover_s, delivery_s;
    int32_t lateness_s;        /* delivered - promised (negative = early) */
    int32_t prep_overrun_s;    /* ready - est_ready (negative = early) */
    int32_t wait_past_ready_s; /* rider wait at merchant beyond est_ready, >= 0 */
    int32_t distance_m;        /* planned merchant-to-customer distance */
    int32_t delivered_far_m;   /* delivered point to the door, metres */
    uint16_t pushes, refusals, reassignments, contact_attempts, contacts_reached;
    uint16_t complaints, cs_contacts;
    uint32_t complaint_mask;     /* 1u << fc_complaint */
    int32_t rating;              /* last rating 1-5, FC_INT_NONE none */
    int32_t survey;              /* last NPS answer 0-10, FC_INT_NONE none */
    fc_party cancelled_by;       /* when cancelled */
    int64_t compensation_minor;  /* sum of compensations */
    int64_t order_value_minor;   /* order value when known, else FC_MONEY_NONE */
    int64_t delivery_cost_minor; /* cost of the delivery to the platform, FC_MONEY_NONE unknown */
    fc_str currency;
    int32_t weather_severity;  /* max severity over created..closed, 0 none */
    int32_t prebook;           /* 0/1, FC_INT_NONE unknown */
    int32_t rider_tenure_days; /* at creation, FC_INT_NONE unknown */
    uint32_t incidents;        /* FC_INC_* bits */
    uint32_t n_events;         /* distinct events folded */
    uint32_t n_duplicates;     /* events ignored as repeated ids */
    int64_t last_accepted_at;  /* last acceptance before the first pickup (start of to_merchant) */
    int64_t closed_at;         /* the instant of the terminal event that set status, or NONE */
    int32_t door_gps_m;        /* closest the final rider's own positions (gps between pickup and
                                  delivery + 5 min, arrival at the customer) came to the door,
                                  metres; FC_INT_NONE unknown */
} fc_order_facts;

/* Fold events[0..n) (all of one order, any order, repeated ids ignored) into
 * *out. `scratch` must hold n indices (caller owned, reused across calls to
 * avoid allocation). Returns FC_OK, or FC_EINVAL when the events name more
 * than one order (then *out holds empty facts). Never allocates.
 * docs/facts.md defines every fact. ctx (or ctx->thresholds) may be NULL:
 * built-in default thresholds, no weather, unknown rider start date. */
int fc_order_fold(const fc_event *events, size_t n, const fc_fold_ctx *ctx, uint32_t *scratch,
                  fc_order_facts *out);

/* Set every fact to absent / zero (what the fold starts from). */
void fc_order_facts_init(fc_order_facts *f);

/* Incident bits of folded facts under thresholds t (the fold calls this; a
 * policy backtest can call it again with other thresholds). Pure. */
uint32_t fc_order_incidents(const fc_order_facts *f, const fc_thresholds *t);

/* Rider tenure in whole days at `created_at` (UTC days) for a rider who
 * started on `start_date` (days since epoch): FC_INT_NONE when either is
 * unknown or the start is after the creation. Lets a caller that learns the
 * final rider from the fold fill rider_tenure_days afterwards. */
int32_t fc_order_tenure_days(int64_t created_at, int32_t start_date);

const char *fc_order_status_name(fc_order_status s); /* "open", "delivered", ... */

/* ---------------------------------------------------------------------------
 * Settings: thresholds per country and city, from a YAML file
 * (settings/default.yaml documents the format).
 */
typedef struct fc_settings fc_settings;
/* Load a settings file. Unknown keys, duplicate entries and bad values are
 * FC_EINVAL (FC_EPARSE for malformed YAML) with file, line and column in err.
 * *out is caller-freed with fc_settings_free. */
int fc_settings_load(const char *path, fc_settings **out, fc_err *err);
fc_settings *fc_settings_default(void); /* built-in defaults; NULL on OOM */
void fc_settings_free(fc_settings *s);  /* NULL is a no-op */
/* Thresholds for a city: the city's entry over its country's over the
 * defaults, field by field. country and city may be NULL or unknown (then
 * that level is skipped); names match case-insensitively. Borrowed (valid
 * until fc_settings_free), never NULL. s NULL gives the built-in defaults. */
const fc_thresholds *fc_settings_for(const fc_settings *s, const char *country, const char *city);

#endif
