/*
 * event: the canonical event, its type names and its compact binary form.
 *
 * An fc_event holds views (fc_str) into memory it does not own: a parsed
 * line, an arena, or a stored record. Whoever owns that memory keeps it alive
 * as long as the event is used.
 *
 * Thread safety: pure functions, re-entrant.
 */
#ifndef FC_EVENT_H
#define FC_EVENT_H

#include "core/core.h"

typedef enum fc_event_type {
    FC_EV_NONE = 0,
    FC_EV_ORDER_CREATED,
    FC_EV_ORDER_PUSHED,
    FC_EV_ORDER_ASSIGNED,
    FC_EV_ORDER_REFUSED,
    FC_EV_ORDER_ACCEPTED,
    FC_EV_ORDER_REASSIGNED,
    FC_EV_RIDER_ARRIVED_MERCHANT,
    FC_EV_ORDER_READY,
    FC_EV_ORDER_PICKED_UP,
    FC_EV_RIDER_ARRIVED_CUSTOMER,
    FC_EV_CONTACT_ATTEMPT,
    FC_EV_ORDER_DELIVERED,
    FC_EV_ORDER_CANCELLED,
    FC_EV_ORDER_UNDELIVERABLE,
    FC_EV_ORDER_RETURNED,
    FC_EV_COMPLAINT,
    FC_EV_RATING,
    FC_EV_COMPENSATION,
    FC_EV_CS_CONTACT,
    FC_EV_GPS,
    FC_EV_WEATHER,
    FC_EV_SHIFT_STARTED,
    FC_EV_SHIFT_ENDED,
    FC_EV_SURVEY_RESPONSE,
    FC_EV_PLATFORM_INCIDENT, /* city (zone optional), from, to, reason: a window in which the
                                platform failed (reason dispatch_outage); names no order */
    FC_EV__COUNT
} fc_event_type;

/* "order_created" etc.; "" for FC_EV_NONE or out of range. Static string. */
const char *fc_event_type_name(fc_event_type t);
/* Type from its name; FC_EV_NONE when unknown. */
fc_event_type fc_event_type_from(fc_str name);
/* Does this type need an `order` field? */
int fc_event_type_has_order(fc_event_type t);

#define FC_GEO_NONE   INT32_MIN /* absent coordinate */
#define FC_INT_NONE   INT32_MIN /* absent small integer */
#define FC_MONEY_NONE INT64_MIN /* absent amount */

/* One event. Absent strings are {NULL, 0}; absent instants FC_TS_NONE; absent
 * integers FC_INT_NONE; absent coordinates FC_GEO_NONE. Use fc_event_init. */
typedef struct fc_event {
    fc_event_type type;
    int64_t ts;   /* when it happened, UTC s */
    fc_str id;    /* unique event id */
    fc_str order; /* order id, where the type has one */
    fc_str city, zone, merchant, customer, rider;
    fc_str reason; /* refusal / reassignment / cancel / undeliverable / platform incident reason */
    fc_str by;     /* party: customer, merchant, rider, platform, ... */
    fc_str category;        /* order category, complaint category */
    fc_str channel;         /* contact channel: call, sms, chat, app, door */
    fc_str outcome;         /* contact outcome: reached, no_answer, ... */
    fc_str proof;           /* delivery proof: photo id, pin, signature */
    fc_str currency;        /* ISO 4217 of amount_minor */
    int64_t promised_at;    /* order_created: promised delivery instant */
    int64_t est_ready_at;   /* order_created: estimated meal-ready instant */
    int64_t from, to;       /* weather, platform incidents, shifts: the window */
    int64_t amount_minor;   /* compensation amount; order_created: order value; minor units */
    int64_t cost_minor;     /* order_delivered / order_cancelled: what the delivery cost the
                               platform (rider pay, fees), minor units */
    int32_t lat_e6, lng_e6; /* where it happened, microdegrees */
    int32_t customer_lat_e6, customer_lng_e6; /* order_created: the door */
    int32_t merchant_lat_e6, merchant_lng_e6; /* order_created: the merchant */
    int32_t distance_m;       /* order_created: planned merchant-to-customer metres */
    int32_t promise_prep_s;   /* order_created: promise component, preparation */
    int32_t promise_travel_s; /* order_created: promise component, travel */
    int32_t score;            /* rating 1-5, survey 0-10 */
    int32_t severity;         /* weather 0 (none) - 3 (severe) */
    int32_t prebook;          /* 0 / 1, FC_INT_NONE when unknown */
} fc_event;

void fc_event_init(fc_event *e); /* all fields absent */

/* Compact binary form, used by the store. fc_event_pack appends the packed
 * event to buf (growing it with fc_grow; *len and *cap updated). Returns
 * FC_OK or FC_ENOMEM. */
int fc_event_pack(const fc_event *e, uint8_t **buf, size_t *len, size_t *cap);
/* Decode one event from p[0..n); the views point into p. On success *used is
 * the number of bytes consumed. FC_EPARSE on a corrupt record. */
int fc_event_unpack(const uint8_t *p, size_t n, fc_event *e, size_t *used);
/* As fc_event_unpack, decoding only the type and the first n_fields fields
 * of the field table (fc_event_field_at order: id, ts, order, city, zone,
 * merchant, customer, rider, ...); the others are left absent, their bytes
 * only walked (their values unchecked) to find the event's end. For a
 * reader that needs a few fields of many events. */
int fc_event_unpack_head(const uint8_t *p, size_t n, size_t n_fields, fc_event *e, size_t *used);

/* Render as one JSON object (no newline) into a caller-owned buffer grown with
 * fc_grow; same fields as the JSON Lines format. FC_OK or FC_ENOMEM. */
int fc_event_to_json(const fc_event *e, char **buf, size_t *len, size_t *cap);

/* ---------------------------------------------------------------------------
 * Field descriptors: the JSON Lines names of the fields, their kind and their
 * place in fc_event, for readers and mappings. "type" is not a field here.
 */
typedef enum fc_event_field_kind {
    FC_EF_STR = 0, /* fc_str */
    FC_EF_TIME,    /* int64_t instant, FC_TS_NONE absent */
    FC_EF_MONEY,   /* int64_t minor units, FC_MONEY_NONE absent */
    FC_EF_GEO,     /* int32_t microdegrees, FC_GEO_NONE absent */
    FC_EF_INT      /* int32_t, FC_INT_NONE absent */
} fc_event_field_kind;

typedef struct fc_event_field {
    const char *name; /* "id", "ts", "order", "city", ..., "amount", "lat", ... */
    fc_event_field_kind kind;
    size_t offset; /* offset of the member in fc_event */
} fc_event_field;

size_t fc_event_field_count(void);
/* Descriptor i (static), NULL out of range. */
const fc_event_field *fc_event_field_at(size_t i);
/* Index of the field called `name`, -1 when unknown. */
int fc_event_field_find(fc_str name);

#endif
