/*
 * The named facts a rule condition can read, computed from an order's folded
 * facts and its context; incident, language and party names.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "event/event.h"
#include "policy/policy_internal.h"

typedef enum fact_id {
    F_LATENESS_MIN,
    F_DELIVERY_MIN,
    F_DISPATCH_MIN,
    F_UNASSIGNED_MIN,
    F_TO_MERCHANT_MIN,
    F_WAIT_AT_MERCHANT_MIN,
    F_WAIT_PAST_READY_MIN,
    F_PREP_OVERRUN_MIN,
    F_TO_CUSTOMER_MIN,
    F_HANDOVER_MIN,
    F_DOOR_WAIT_MIN,
    F_DISTANCE_M,
    F_DELIVERED_FAR_M,
    F_DOOR_GPS_M,
    F_PUSHES,
    F_REFUSALS,
    F_REASSIGNMENTS,
    F_CONTACT_ATTEMPTS,
    F_CONTACTS_REACHED,
    F_COMPLAINTS,
    F_CS_CONTACTS,
    F_RATING,
    F_SURVEY,
    F_WEATHER_SEVERITY,
    F_RIDER_TENURE_DAYS,
    F_PREBOOK,
    F_COMPENSATION,
    F_ORDER_VALUE,
    F_READY_LATE,
    F_ARRIVED_CUSTOMER,
    F_PICKED_UP,
    F_COMPLAINT_LATE,
    F_COMPLAINT_MISSING_ITEM,
    F_COMPLAINT_WRONG_ITEM,
    F_COMPLAINT_FOOD_QUALITY,
    F_COMPLAINT_DAMAGED,
    F_COMPLAINT_RIDER_BEHAVIOUR,
    F_COMPLAINT_NOT_RECEIVED,
    F_COMPLAINT_OTHER,
    F_STACKED_ORDERS,
    F_DISPATCH_OUTAGE,
    F_STATUS,
    F_CANCELLED_BY,
    F_CAPACITY,
    F_MERCHANT_KIND,
    F_ZONE_KIND,
    F_CATEGORY,
    F_COUNTRY,
    F__COUNT
} fact_id;

typedef struct fact_spec {
    const char *name;
    fc_fact_kind kind;
    const char *unit;
    const char *doc;
} fact_spec;

#define NUM  FC_FACT_NUM
#define TEXT FC_FACT_TEXT
static const fact_spec facts[F__COUNT] = {
    [F_LATENESS_MIN] = {"lateness_min", NUM, "min",
                        "minutes delivered after the promised time (negative: early)"},
    [F_DELIVERY_MIN] = {"delivery_min", NUM, "min", "minutes from order creation to delivery"},
    [F_DISPATCH_MIN] = {"dispatch_min", NUM, "min",
                        "minutes from order creation to the first rider acceptance"},
    [F_UNASSIGNED_MIN] = {"unassigned_min", NUM, "min",
                          "minutes the order waited for a rider: creation to first acceptance, "
                          "or to the cancellation when no rider ever accepted"},
    [F_TO_MERCHANT_MIN] = {"to_merchant_min", NUM, "min",
                           "minutes from the (last) acceptance to the rider's arrival at the "
                           "merchant"},
    [F_WAIT_AT_MERCHANT_MIN] = {"wait_at_merchant_min", NUM, "min",
                                "minutes the rider spent at the merchant, arrival to pickup"},
    [F_WAIT_PAST_READY_MIN] = {"wait_past_ready_min", NUM, "min",
                               "minutes the rider waited at the merchant past the estimated "
                               "ready time"},
    [F_PREP_OVERRUN_MIN] = {"prep_overrun_min", NUM, "min",
                            "minutes the food was ready after the estimated ready time "
                            "(negative: early)"},
    [F_TO_CUSTOMER_MIN] = {"to_customer_min", NUM, "min",
                           "minutes from pickup to arrival at the customer (to delivery when "
                           "no arrival was recorded)"},
    [F_HANDOVER_MIN] = {"handover_min", NUM, "min",
                        "minutes from arrival at the customer to delivery"},
    [F_DOOR_WAIT_MIN] = {"door_wait_min", NUM, "min",
                         "minutes from arrival at the customer to delivery, undeliverable or "
                         "cancellation"},
    [F_DISTANCE_M] = {"distance_m", NUM, "m", "planned distance from merchant to customer"},
    [F_DELIVERED_FAR_M] = {"delivered_far_m", NUM, "m",
                           "distance between where the order was marked delivered and the "
                           "customer's point"},
    [F_DOOR_GPS_M] = {"door_gps_m", NUM, "m",
                      "closest the rider's own positions came to the customer's point "
                      "(GPS between pickup and 5 min after delivery, arrival at the door)"},
    [F_PUSHES] = {"pushes", NUM, "count", "times the order was offered to riders"},
    [F_REFUSALS] = {"refusals", NUM, "count", "times riders refused the order"},
    [F_REASSIGNMENTS] = {"reassignments", NUM, "count",
                         "times the order was taken from one rider and given to another"},
    [F_CONTACT_ATTEMPTS] = {"contact_attempts", NUM, "count",
                            "times the rider tried to reach the customer (calls, messages)"},
    [F_CONTACTS_REACHED] = {"contacts_reached", NUM, "count",
                            "contact attempts that reached the customer"},
    [F_COMPLAINTS] = {"complaints", NUM, "count", "complaints filed about the order"},
    [F_CS_CONTACTS] = {"cs_contacts", NUM, "count", "customer-service contacts about the order"},
    [F_RATING] = {"rating", NUM, "stars", "the customer's last rating, 1 to 5"},
    [F_SURVEY] = {"survey", NUM, "score", "the customer's last survey answer, 0 to 10"},
    [F_WEATHER_SEVERITY] = {"weather_severity", NUM, "level",
                            "worst weather during the order: 0 none, 1 light, 2 moderate, 3 "
                            "severe"},
    [F_RIDER_TENURE_DAYS] = {"rider_tenure_days", NUM, "days",
                             "days since the rider started, at order creation"},
    [F_PREBOOK] = {"prebook", NUM, "0/1", "1 when the order was booked ahead for a later time"},
    [F_COMPENSATION] = {"compensation", NUM, "money",
                        "compensation already paid to the customer, in major units"},
    [F_ORDER_VALUE] = {"order_value", NUM, "money", "the order's value, in major units"},
    [F_READY_LATE] = {"ready_late", NUM, "0/1",
                      "1 when the food was ready after the estimated ready time"},
    [F_ARRIVED_CUSTOMER] = {"arrived_customer", NUM, "0/1",
                            "1 when the rider's arrival at the customer was recorded"},
    [F_PICKED_UP] = {"picked_up", NUM, "0/1", "1 when the rider picked the order up"},
    [F_COMPLAINT_LATE] = {"complaint_late", NUM, "0/1", "1 when a complaint says late"},
    [F_COMPLAINT_MISSING_ITEM] = {"complaint_missing_item", NUM, "0/1",
                                  "1 when a complaint says an item was missing"},
    [F_COMPLAINT_WRONG_ITEM] = {"complaint_wrong_item", NUM, "0/1",
                                "1 when a complaint says an item was wrong"},
    [F_COMPLAINT_FOOD_QUALITY] = {"complaint_food_quality", NUM, "0/1",
                                  "1 when a complaint is about the food's quality"},
    [F_COMPLAINT_DAMAGED] = {"complaint_damaged", NUM, "0/1",
                             "1 when a complaint says spilled or damaged"},
    [F_COMPLAINT_RIDER_BEHAVIOUR] = {"complaint_rider_behaviour", NUM, "0/1",
                                     "1 when a complaint is about the rider's behaviour"},
    [F_COMPLAINT_NOT_RECEIVED] = {"complaint_not_received", NUM, "0/1",
                                  "1 when the customer says the order never arrived"},
    [F_COMPLAINT_OTHER] = {"complaint_other", NUM, "0/1",
                           "1 when a complaint has another or unknown category"},
    [F_STACKED_ORDERS] = {"stacked_orders", NUM, "count",
                          "other orders the rider carried between this order's pickup and "
                          "delivery"},
    [F_DISPATCH_OUTAGE] = {"dispatch_outage", NUM, "0/1",
                           "1 when the order was created during a known dispatch outage"},
    [F_STATUS] = {"status", TEXT, "",
                  "how the order ended: delivered, cancelled, undeliverable or open"},
    [F_CANCELLED_BY] = {"cancelled_by", TEXT, "",
                        "who cancelled: rider, merchant, customer, platform, undetermined "
                        "(empty when not cancelled)"},
    [F_CAPACITY] = {"capacity", TEXT, "", "the rider's capacity: full_time, part_time or crowd"},
    [F_MERCHANT_KIND] = {"merchant_kind", TEXT, "",
                         "the merchant's kind: fast_food, restaurant, grocery, pharmacy..."},
    [F_ZONE_KIND] = {"zone_kind", TEXT, "",
                     "the zone's kind: business_district, residential, office or mixed"},
    [F_CATEGORY] = {"category", TEXT, "", "the order's category as sent by the platform"},
    [F_COUNTRY] = {"country", TEXT, "", "the country code of the order's city (SA, AE, ...)"},
};
#undef NUM
#undef TEXT

size_t fc_fact_count(void) {
    return F__COUNT;
}

const char *fc_fact_name(size_t i) {
    return i < F__COUNT ? facts[i].name : "";
}

fc_fact_kind fc_fact_kind_of(size_t i) {
    return i < F__COUNT ? facts[i].kind : FC_FACT_NUM;
}

const char *fc_fact_unit(size_t i) {
    return i < F__COUNT ? facts[i].unit : "";
}

const char *fc_fact_doc(size_t i) {
    return i < F__COUNT ? facts[i].doc : "";
}

int fc_fact_find(const char *name, size_t len) {
    for (size_t i = 0; i < F__COUNT; i++) {
        if (strlen(facts[i].name) == len && memcmp(facts[i].name, name, len) == 0) {
            return (int)i;
        }
    }
    return -1;
}

static fc_value num(double x) {
    fc_value v = {FC_FACT_NUM, 0, x, FC_STR_NULL};
    return v;
}

static fc_value absent(void) {
    fc_value v = {FC_FACT_NUM, 1, 0, FC_STR_NULL};
    return v;
}

static fc_value text(fc_str s) {
    fc_value v = {FC_FACT_TEXT, 0, 0, s};
    return v;
}

static fc_value minutes(int32_t s) {
    return s == FC_DUR_NONE ? absent() : num((double)s / 60.0);
}

static fc_value whole(int32_t x) {
    return x == FC_INT_NONE ? absent() : num((double)x);
}

static fc_value flag(int on) {
    return num(on ? 1.0 : 0.0);
}

static fc_value money(int64_t minor, fc_str currency) {
    if (minor == FC_MONEY_NONE) {
        return absent();
    }
    char code[4] = "";
    fc_str_cpy(code, sizeof code, currency);
    int d = fc_currency_decimals(code);
    if (d < 0) {
        d = 2;
    }
    double scale = 1;
    for (int i = 0; i < d; i++) {
        scale *= 10;
    }
    return num((double)minor / scale);
}

static fc_value span_min(int64_t from, int64_t to) {
    if (from == FC_TS_NONE || to == FC_TS_NONE || to < from || to - from > INT32_MAX) {
        return absent();
    }
    return num((double)(to - from) / 60.0);
}

static fc_value complaint(const fc_order_facts *f, fc_complaint c) {
    return flag((f->complaint_mask & (1u << c)) != 0);
}

/* The end of the customer's door wait: the first of delivered, undeliverable
 * and cancelled after the arrival. */
static int64_t door_end(const fc_order_facts *f) {
    int64_t ends[3] = {f->delivered_at, f->undeliverable_at, f->cancelled_at};
    int64_t best = FC_TS_NONE;
    for (size_t i = 0; i < 3; i++) {
        if (ends[i] != FC_TS_NONE && ends[i] >= f->arrived_customer_at &&
            (best == FC_TS_NONE || ends[i] < best)) {
            best = ends[i];
        }
    }
    return best;
}

fc_value fc_fact_value(size_t i, const fc_policy_input *in) {
    const fc_order_facts *f = in->facts;
    switch ((fact_id)i) {
    case F_LATENESS_MIN:
        return minutes(f->lateness_s);
    case F_DELIVERY_MIN:
        return minutes(f->delivery_s);
    case F_DISPATCH_MIN:
        return minutes(f->dispatch_s);
    case F_UNASSIGNED_MIN:
        if (f->accepted_at != FC_TS_NONE) {
            return span_min(f->created_at, f->accepted_at);
        }
        return span_min(f->created_at, f->cancelled_at);
    case F_TO_MERCHANT_MIN:
        return minutes(f->to_merchant_s);
    case F_WAIT_AT_MERCHANT_MIN:
        return minutes(f->wait_at_merchant_s);
    case F_WAIT_PAST_READY_MIN:
        return minutes(f->wait_past_ready_s);
    case F_PREP_OVERRUN_MIN:
        return minutes(f->prep_overrun_s);
    case F_TO_CUSTOMER_MIN:
        return minutes(f->to_customer_s);
    case F_HANDOVER_MIN:
        return minutes(f->handover_s);
    case F_DOOR_WAIT_MIN:
        if (f->arrived_customer_at == FC_TS_NONE) {
            return absent();
        }
        return span_min(f->arrived_customer_at, door_end(f));
    case F_DISTANCE_M:
        return whole(f->distance_m);
    case F_DELIVERED_FAR_M:
        return whole(f->delivered_far_m);
    case F_DOOR_GPS_M:
        return whole(f->door_gps_m);
    case F_PUSHES:
        return num(f->pushes);
    case F_REFUSALS:
        return num(f->refusals);
    case F_REASSIGNMENTS:
        return num(f->reassignments);
    case F_CONTACT_ATTEMPTS:
        return num(f->contact_attempts);
    case F_CONTACTS_REACHED:
        return num(f->contacts_reached);
    case F_COMPLAINTS:
        return num(f->complaints);
    case F_CS_CONTACTS:
        return num(f->cs_contacts);
    case F_RATING:
        return whole(f->rating);
    case F_SURVEY:
        return whole(f->survey);
    case F_WEATHER_SEVERITY:
        return whole(f->weather_severity);
    case F_RIDER_TENURE_DAYS:
        return whole(f->rider_tenure_days);
    case F_PREBOOK:
        return whole(f->prebook);
    case F_COMPENSATION:
        return money(f->compensation_minor, f->currency);
    case F_ORDER_VALUE:
        return money(f->order_value_minor, f->currency);
    case F_READY_LATE:
        if (f->ready_at == FC_TS_NONE || f->est_ready_at == FC_TS_NONE) {
            return absent();
        }
        return flag(f->ready_at > f->est_ready_at);
    case F_ARRIVED_CUSTOMER:
        return flag(f->arrived_customer_at != FC_TS_NONE);
    case F_PICKED_UP:
        return flag(f->picked_up_at != FC_TS_NONE);
    case F_COMPLAINT_LATE:
        return complaint(f, FC_COMPLAINT_LATE);
    case F_COMPLAINT_MISSING_ITEM:
        return complaint(f, FC_COMPLAINT_MISSING_ITEM);
    case F_COMPLAINT_WRONG_ITEM:
        return complaint(f, FC_COMPLAINT_WRONG_ITEM);
    case F_COMPLAINT_FOOD_QUALITY:
        return complaint(f, FC_COMPLAINT_FOOD_QUALITY);
    case F_COMPLAINT_DAMAGED:
        return complaint(f, FC_COMPLAINT_DAMAGED);
    case F_COMPLAINT_RIDER_BEHAVIOUR:
        return complaint(f, FC_COMPLAINT_RIDER_BEHAVIOUR);
    case F_COMPLAINT_NOT_RECEIVED:
        return complaint(f, FC_COMPLAINT_NOT_RECEIVED);
    case F_COMPLAINT_OTHER:
        return complaint(f, FC_COMPLAINT_OTHER);
    case F_STACKED_ORDERS:
        return whole(in->stacked_orders);
    case F_DISPATCH_OUTAGE:
        return whole(in->dispatch_outage);
    case F_STATUS:
        return text(fc_str_c(fc_order_status_name(f->status)));
    case F_CANCELLED_BY:
        return text(fc_str_c(fc_party_name(f->cancelled_by)));
    case F_CAPACITY:
        return text(in->capacity);
    case F_MERCHANT_KIND:
        return text(in->merchant_kind);
    case F_ZONE_KIND:
        return text(in->zone_kind);
    case F_CATEGORY:
        return text(f->category);
    case F_COUNTRY:
        return text(in->country);
    case F__COUNT:
        break;
    }
    return absent();
}

/* Words a text fact can take, for checking conditions at load time; NULL
 * when any word is possible. */
const char *const *fc__fact_words(size_t i) {
    static const char *const status[] = {"delivered", "cancelled", "undeliverable", "open", NULL};
    static const char *const party[] = {"rider",         "merchant",     "customer", "platform",
                                        "force_majeure", "undetermined", "",         NULL};
    static const char *const capacity[] = {"full_time", "part_time", "crowd", "", NULL};
    static const char *const zone[] = {
        "business_district", "residential", "office", "mixed", "", NULL};
    switch ((fact_id)i) {
    case F_STATUS:
        return status;
    case F_CANCELLED_BY:
        return party;
    case F_CAPACITY:
        return capacity;
    case F_ZONE_KIND:
        return zone;
    default:
        return NULL;
    }
}

/* ---------------------------------------------------------------------------
 * Names of incidents and languages.
 */
static const char *const incident_names[FC_INCIDENT__COUNT] = {
    "late", "cancelled", "undeliverable", "complaint", "bad_rating", "far_delivery"};

const char *fc_incident_name(fc_incident_kind k) {
    return (unsigned)k < (unsigned)FC_INCIDENT__COUNT ? incident_names[k] : "";
}

int fc_incident_from(const char *s, size_t len) {
    for (int k = 0; k < FC_INCIDENT__COUNT; k++) {
        if (strlen(incident_names[k]) == len && memcmp(incident_names[k], s, len) == 0) {
            return k;
        }
    }
    return -1;
}

static const char *const lang_codes[FC_LANG__COUNT] = {"en", "ar", "zh", "pt"};

const char *fc_lang_code(fc_lang l) {
    return (unsigned)l < (unsigned)FC_LANG__COUNT ? lang_codes[l] : "en";
}

/* One language tag of an Accept-Language list: its primary subtag's
 * language (or -1) and its quality. */
static int lang_of_tag(const char *p, size_t n) {
    size_t k = 0;
    while (k < n && p[k] != '-' && p[k] != '_') {
        k++;
    }
    for (int l = 0; l < FC_LANG__COUNT; l++) {
        if (k == 2 && strncasecmp(p, lang_codes[l], 2) == 0) {
            return l;
        }
    }
    return -1;
}

fc_lang fc_lang_pick(const char *accept) {
    if (accept == NULL) {
        return FC_LANG_EN;
    }
    int best = -1;
    double best_q = 0;
    const char *p = accept;
    while (*p != '\0') {
        while (*p == ' ' || *p == ',') {
            p++;
        }
        const char *tag = p;
        while (*p != '\0' && *p != ',' && *p != ';' && *p != ' ') {
            p++;
        }
        size_t tag_len = (size_t)(p - tag);
        double q = 1.0;
        while (*p != '\0' && *p != ',') {
            if (*p == 'q' && p[1] == '=') {
                char *end = NULL;
                q = strtod(p + 2, &end);
                if (end == p + 2 || !isfinite(q)) {
                    q = 0;
                }
                p = end > p ? end : p + 1;
                continue;
            }
            p++;
        }
        int l = tag_len > 0 ? lang_of_tag(tag, tag_len) : -1;
        if (l >= 0 && q > best_q) {
            best = l;
            best_q = q;
        }
    }
    return best < 0 ? FC_LANG_EN : (fc_lang)best;
}
