/*
 * event: type names, the compact binary form and the JSON rendering.
 *
 * Binary form (little-endian varints, version 1):
 *   u8 version, u8 type, varint presence mask, then each present field in
 *   the order of the table below: strings as varint length + bytes, instants
 *   and amounts as zig-zag varints, small integers as zig-zag varints checked
 *   back into int32 range. Absent fields take no bytes.
 */
#include "event/event.h"

#include <stdio.h>
#include <string.h>

static const char *const fc_type_names[FC_EV__COUNT] = {
    [FC_EV_NONE] = "",
    [FC_EV_ORDER_CREATED] = "order_created",
    [FC_EV_ORDER_PUSHED] = "order_pushed",
    [FC_EV_ORDER_ASSIGNED] = "order_assigned",
    [FC_EV_ORDER_REFUSED] = "order_refused",
    [FC_EV_ORDER_ACCEPTED] = "order_accepted",
    [FC_EV_ORDER_REASSIGNED] = "order_reassigned",
    [FC_EV_RIDER_ARRIVED_MERCHANT] = "rider_arrived_merchant",
    [FC_EV_ORDER_READY] = "order_ready",
    [FC_EV_ORDER_PICKED_UP] = "order_picked_up",
    [FC_EV_RIDER_ARRIVED_CUSTOMER] = "rider_arrived_customer",
    [FC_EV_CONTACT_ATTEMPT] = "contact_attempt",
    [FC_EV_ORDER_DELIVERED] = "order_delivered",
    [FC_EV_ORDER_CANCELLED] = "order_cancelled",
    [FC_EV_ORDER_UNDELIVERABLE] = "order_undeliverable",
    [FC_EV_ORDER_RETURNED] = "order_returned",
    [FC_EV_COMPLAINT] = "complaint",
    [FC_EV_RATING] = "rating",
    [FC_EV_COMPENSATION] = "compensation",
    [FC_EV_CS_CONTACT] = "cs_contact",
    [FC_EV_GPS] = "gps",
    [FC_EV_WEATHER] = "weather",
    [FC_EV_SHIFT_STARTED] = "shift_started",
    [FC_EV_SHIFT_ENDED] = "shift_ended",
    [FC_EV_SURVEY_RESPONSE] = "survey_response",
    [FC_EV_PLATFORM_INCIDENT] = "platform_incident",
};

const char *fc_event_type_name(fc_event_type t) {
    if ((int)t <= 0 || (int)t >= FC_EV__COUNT) {
        return "";
    }
    return fc_type_names[t];
}

fc_event_type fc_event_type_from(fc_str name) {
    if (name.n == 0 || name.p == NULL) {
        return FC_EV_NONE;
    }
    for (int t = 1; t < FC_EV__COUNT; t++) {
        const char *s = fc_type_names[t];
        size_t n = strlen(s);
        if (n == name.n && memcmp(s, name.p, n) == 0) {
            return (fc_event_type)t;
        }
    }
    return FC_EV_NONE;
}

int fc_event_type_has_order(fc_event_type t) {
    switch (t) {
    case FC_EV_NONE:
    case FC_EV_GPS:
    case FC_EV_WEATHER:
    case FC_EV_SHIFT_STARTED:
    case FC_EV_SHIFT_ENDED:
    case FC_EV_SURVEY_RESPONSE:
    case FC_EV_PLATFORM_INCIDENT:
    case FC_EV__COUNT:
        return 0;
    default:
        return 1;
    }
}

void fc_event_init(fc_event *e) {
    memset(e, 0, sizeof *e);
    e->type = FC_EV_NONE;
    e->ts = FC_TS_NONE;
    e->promised_at = FC_TS_NONE;
    e->est_ready_at = FC_TS_NONE;
    e->from = FC_TS_NONE;
    e->to = FC_TS_NONE;
    e->amount_minor = FC_MONEY_NONE;
    e->cost_minor = FC_MONEY_NONE;
    e->lat_e6 = FC_GEO_NONE;
    e->lng_e6 = FC_GEO_NONE;
    e->customer_lat_e6 = FC_GEO_NONE;
    e->customer_lng_e6 = FC_GEO_NONE;
    e->merchant_lat_e6 = FC_GEO_NONE;
    e->merchant_lng_e6 = FC_GEO_NONE;
    e->distance_m = FC_INT_NONE;
    e->promise_prep_s = FC_INT_NONE;
    e->promise_travel_s = FC_INT_NONE;
    e->score = FC_INT_NONE;
    e->severity = FC_INT_NONE;
    e->prebook = FC_INT_NONE;
}

/* ---------------------------------------------------------------------------
 * Field table shared by pack, unpack and JSON.
 */
#define FK_STR   FC_EF_STR
#define FK_TIME  FC_EF_TIME
#define FK_MONEY FC_EF_MONEY
#define FK_GEO   FC_EF_GEO
#define FK_INT   FC_EF_INT

#define FD(name, kind, member)                                                                     \
    { name, kind, offsetof(fc_event, member) }
static const fc_event_field fc_fields[] = {
    FD("id", FK_STR, id),
    FD("ts", FK_TIME, ts),
    FD("order", FK_STR, order),
    FD("city", FK_STR, city),
    FD("zone", FK_STR, zone),
    FD("merchant", FK_STR, merchant),
    FD("customer", FK_STR, customer),
    FD("rider", FK_STR, rider),
    FD("reason", FK_STR, reason),
    FD("by", FK_STR, by),
    FD("category", FK_STR, category),
    FD("channel", FK_STR, channel),
    FD("outcome", FK_STR, outcome),
    FD("proof", FK_STR, proof),
    FD("currency", FK_STR, currency),
    FD("promised_at", FK_TIME, promised_at),
    FD("est_ready_at", FK_TIME, est_ready_at),
    FD("from", FK_TIME, from),
    FD("to", FK_TIME, to),
    FD("amount", FK_MONEY, amount_minor),
    FD("cost", FK_MONEY, cost_minor),
    FD("lat", FK_GEO, lat_e6),
    FD("lng", FK_GEO, lng_e6),
    FD("customer_lat", FK_GEO, customer_lat_e6),
    FD("customer_lng", FK_GEO, customer_lng_e6),
    FD("merchant_lat", FK_GEO, merchant_lat_e6),
    FD("merchant_lng", FK_GEO, merchant_lng_e6),
    FD("distance_m", FK_INT, distance_m),
    FD("promise_prep_s", FK_INT, promise_prep_s),
    FD("promise_travel_s", FK_INT, promise_travel_s),
    FD("score", FK_INT, score),
    FD("severity", FK_INT, severity),
    FD("prebook", FK_INT, prebook),
};
#undef FD
#define FC_N_FIELDS (sizeof fc_fields / sizeof fc_fields[0])

static fc_str *fld_str(fc_event *e, size_t i) {
    return (fc_str *)((char *)e + fc_fields[i].offset);
}
static const fc_str *fld_cstr(const fc_event *e, size_t i) {
    return (const fc_str *)((const char *)e + fc_fields[i].offset);
}
static int64_t *fld_i64(fc_event *e, size_t i) {
    return (int64_t *)((char *)e + fc_fields[i].offset);
}
static int64_t fld_ci64(const fc_event *e, size_t i) {
    int64_t v;
    memcpy(&v, (const char *)e + fc_fields[i].offset, sizeof v);
    return v;
}
static int32_t *fld_i32(fc_event *e, size_t i) {
    return (int32_t *)((char *)e + fc_fields[i].offset);
}
static int32_t fld_ci32(const fc_event *e, size_t i) {
    int32_t v;
    memcpy(&v, (const char *)e + fc_fields[i].offset, sizeof v);
    return v;
}

size_t fc_event_field_count(void) {
    return FC_N_FIELDS;
}

const fc_event_field *fc_event_field_at(size_t i) {
    return i < FC_N_FIELDS ? &fc_fields[i] : NULL;
}

int fc_event_field_find(fc_str name) {
    for (size_t i = 0; i < FC_N_FIELDS; i++) {
        size_t n = strlen(fc_fields[i].name);
        if (n == name.n && memcmp(fc_fields[i].name, name.p, n) == 0) {
            return (int)i;
        }
    }
    return -1;
}

/* Is field i of e present? */
static int fld_present(const fc_event *e, size_t i) {
    switch (fc_fields[i].kind) {
    case FK_STR:
        return fld_cstr(e, i)->p != NULL;
    case FK_TIME:
        return fld_ci64(e, i) != FC_TS_NONE;
    case FK_MONEY:
        return fld_ci64(e, i) != FC_MONEY_NONE;
    case FK_GEO:
    case FK_INT:
        return fld_ci32(e, i) != INT32_MIN;
    }
    return 0;
}

/* ---------------------------------------------------------------------------
 * Pack / unpack.
 */
#define FC_PACK_VERSION 1

static int put_bytes(uint8_t **buf, size_t *len, size_t *cap, const void *p, size_t n) {
    if (*len + n > *cap) {
        if (fc_grow((void **)buf, cap, *len + n, 1) != FC_OK) {
            return FC_ENOMEM;
        }
    }
    if (n > 0) {
        memcpy(*buf + *len, p, n);
    }
    *len += n;
    return FC_OK;
}

static size_t varint_encode(uint64_t v, uint8_t *out) {
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

static uint64_t zigzag(int64_t v) {
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}
static int64_t unzigzag(uint64_t v) {
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

int fc_event_pack(const fc_event *e, uint8_t **buf, size_t *len, size_t *cap) {
    /* Worst case per field is 10 bytes of varint; strings add their bytes. */
    uint8_t tmp[16 + FC_N_FIELDS * 10];
    size_t t = 0;
    uint64_t mask = 0;
    size_t i;
    int rc;

    for (i = 0; i < FC_N_FIELDS; i++) {
        if (fld_present(e, i)) {
            mask |= 1ull << i;
        }
    }
    tmp[t++] = FC_PACK_VERSION;
    tmp[t++] = (uint8_t)e->type;
    t += varint_encode(mask, tmp + t);
    for (i = 0; i < FC_N_FIELDS; i++) {
        if (!(mask & (1ull << i))) {
            continue;
        }
        switch (fc_fields[i].kind) {
        case FK_STR: {
            const fc_str *s = fld_cstr(e, i);
            t += varint_encode(s->n, tmp + t);
            rc = put_bytes(buf, len, cap, tmp, t);
            if (rc != FC_OK) {
                return rc;
            }
            t = 0;
            rc = put_bytes(buf, len, cap, s->p, s->n);
            if (rc != FC_OK) {
                return rc;
            }
            break;
        }
        case FK_TIME:
        case FK_MONEY:
            t += varint_encode(zigzag(fld_ci64(e, i)), tmp + t);
            break;
        case FK_GEO:
        case FK_INT:
            t += varint_encode(zigzag(fld_ci32(e, i)), tmp + t);
            break;
        }
    }
    return put_bytes(buf, len, cap, tmp, t);
}

/* Read a varint from p[*pos..n); FC_EPARSE when truncated or longer than 10
 * bytes. */
static int varint_decode(const uint8_t *p, size_t n, size_t *pos, uint64_t *out) {
    uint64_t v = 0;
    unsigned shift = 0;
    size_t i = *pos;
    for (;;) {
        if (i >= n || shift > 63) {
            return FC_EPARSE;
        }
        uint8_t b = p[i++];
        if (shift == 63 && (b & 0x7e) != 0) {
            return FC_EPARSE; /* bits beyond 64 */
        }
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            break;
        }
        shift += 7;
    }
    *pos = i;
    *out = v;
    return FC_OK;
}

/* Decode field i, present, at p[*pos..n) into e. FC_OK or FC_EPARSE. */
static inline __attribute__((always_inline)) int decode_field(const uint8_t *p, size_t n,
                                                              size_t *pos, size_t i, fc_event *e) {
    uint64_t v;
    if (varint_decode(p, n, pos, &v) != FC_OK) {
        return FC_EPARSE;
    }
    switch (fc_fields[i].kind) {
    case FK_STR:
        if (v > n - *pos || v > UINT32_MAX) {
            return FC_EPARSE;
        }
        *fld_str(e, i) = fc_str_make((const char *)p + *pos, (size_t)v);
        *pos += (size_t)v;
        break;
    case FK_TIME:
    case FK_MONEY: {
        int64_t x = unzigzag(v);
        if (x == INT64_MIN) {
            return FC_EPARSE; /* the absent sentinel is never written as a value */
        }
        *fld_i64(e, i) = x;
        break;
    }
    case FK_GEO:
    case FK_INT: {
        int64_t x = unzigzag(v);
        if (x <= INT32_MIN || x > INT32_MAX) {
            return FC_EPARSE;
        }
        *fld_i32(e, i) = (int32_t)x;
        break;
    }
    }
    return FC_OK;
}

int fc_event_unpack_head(const uint8_t *p, size_t n, size_t n_fields, fc_event *e, size_t *used) {
    size_t pos = 0;
    uint64_t mask;
    fc_event_init(e);
    if (p == NULL || n < 3 || p[0] != FC_PACK_VERSION || p[1] == FC_EV_NONE ||
        p[1] >= FC_EV__COUNT) {
        return FC_EPARSE;
    }
    pos = 2;
    if (varint_decode(p, n, &pos, &mask) != FC_OK ||
        (FC_N_FIELDS < 64 && (mask >> FC_N_FIELDS) != 0)) {
        return FC_EPARSE;
    }
    /* The head's fields come first in the packed form: decode them, then
     * walk the others to the event's end. */
    uint64_t head = n_fields >= 64 ? mask : mask & ((1ull << n_fields) - 1);
    uint64_t tail = mask & ~head;
    while (head != 0) {
        size_t i = (size_t)__builtin_ctzll(head);
        head &= head - 1;
        if (decode_field(p, n, &pos, i, e) != FC_OK) {
            goto bad;
        }
    }
    while (tail != 0) {
        size_t i = (size_t)__builtin_ctzll(tail);
        tail &= tail - 1;
        if (fc_fields[i].kind != FK_STR) { /* a number: skip its varint */
            size_t end = pos + 10 < n ? pos + 10 : n;
            while (pos < end && (p[pos] & 0x80)) {
                pos++;
            }
            if (pos == end) {
                goto bad;
            }
            pos++;
            continue;
        }
        uint64_t v;
        if (varint_decode(p, n, &pos, &v) != FC_OK || v > n - pos) {
            goto bad;
        }
        pos += (size_t)v;
    }
    e->type = (fc_event_type)p[1];
    if (used != NULL) {
        *used = pos;
    }
    return FC_OK;
bad:
    fc_event_init(e);
    return FC_EPARSE;
}

int fc_event_unpack(const uint8_t *p, size_t n, fc_event *e, size_t *used) {
    return fc_event_unpack_head(p, n, FC_N_FIELDS, e, used);
}

/* ---------------------------------------------------------------------------
 * JSON.
 */
typedef struct fc_jbuf {
    char **buf;
    size_t *len, *cap;
    int rc;
} fc_jbuf;

static void jput(fc_jbuf *j, const char *s, size_t n) {
    if (j->rc != FC_OK) {
        return;
    }
    if (*j->len + n + 1 > *j->cap) {
        if (fc_grow((void **)j->buf, j->cap, *j->len + n + 1, 1) != FC_OK) {
            j->rc = FC_ENOMEM;
            return;
        }
    }
    memcpy(*j->buf + *j->len, s, n);
    *j->len += n;
    (*j->buf)[*j->len] = '\0';
}

static void jputs(fc_jbuf *j, const char *s) {
    jput(j, s, strlen(s));
}

static void jstring(fc_jbuf *j, const char *p, size_t n) {
    static const char hex[] = "0123456789abcdef";
    size_t start = 0;
    jput(j, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            continue;
        }
        jput(j, p + start, i - start);
        start = i + 1;
        switch (c) {
        case '"':
            jput(j, "\\\"", 2);
            break;
        case '\\':
            jput(j, "\\\\", 2);
            break;
        case '\n':
            jput(j, "\\n", 2);
            break;
        case '\r':
            jput(j, "\\r", 2);
            break;
        case '\t':
            jput(j, "\\t", 2);
            break;
        default: {
            char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            jput(j, u, 6);
        }
        }
    }
    jput(j, p + start, n - start);
    jput(j, "\"", 1);
}

static void jkey(fc_jbuf *j, const char *name, int *first) {
    if (!*first) {
        jput(j, ",", 1);
    }
    *first = 0;
    jstring(j, name, strlen(name));
    jput(j, ":", 1);
}

/* Microdegrees as decimal degrees with six decimals, exactly. */
static void jgeo(fc_jbuf *j, int32_t e6) {
    char tmp[32];
    int64_t v = e6;
    const char *sign = v < 0 ? "-" : "";
    if (v < 0) {
        v = -v;
    }
    snprintf(tmp, sizeof tmp, "%s%lld.%06lld", sign, (long long)(v / 1000000),
             (long long)(v % 1000000));
    jputs(j, tmp);
}

int fc_event_to_json(const fc_event *e, char **buf, size_t *len, size_t *cap) {
    fc_jbuf j = {buf, len, cap, FC_OK};
    int first = 1;
    char tmp[64];
    char cur[4] = "";
    const char *tn = fc_event_type_name(e->type);

    if (e->currency.p != NULL && e->currency.n == 3) {
        memcpy(cur, e->currency.p, 3);
        cur[3] = '\0';
    }
    jput(&j, "{", 1);
    for (size_t i = 0; i < FC_N_FIELDS; i++) {
        if (i == 1) {
            /* type goes right after the id */
            jkey(&j, "type", &first);
            jstring(&j, tn, strlen(tn));
        }
        if (!fld_present(e, i)) {
            continue;
        }
        switch (fc_fields[i].kind) {
        case FK_STR: {
            const fc_str *s = fld_cstr(e, i);
            jkey(&j, fc_fields[i].name, &first);
            jstring(&j, s->p, s->n);
            break;
        }
        case FK_TIME:
            jkey(&j, fc_fields[i].name, &first);
            fc_time_format_utc(fld_ci64(e, i), tmp, sizeof tmp);
            jstring(&j, tmp, strlen(tmp));
            break;
        case FK_MONEY:
            if (cur[0] != '\0' && fc_currency_decimals(cur) >= 0) {
                jkey(&j, fc_fields[i].name, &first);
                fc_money_format(fld_ci64(e, i), cur, tmp, sizeof tmp);
                jputs(&j, tmp);
            } else {
                /* Without a currency the decimals are unknown: minor units. */
                char name[32];
                snprintf(name, sizeof name, "%s_minor", fc_fields[i].name);
                jkey(&j, name, &first);
                snprintf(tmp, sizeof tmp, "%lld", (long long)fld_ci64(e, i));
                jputs(&j, tmp);
            }
            break;
        case FK_GEO:
            jkey(&j, fc_fields[i].name, &first);
            jgeo(&j, fld_ci32(e, i));
            break;
        case FK_INT:
            jkey(&j, fc_fields[i].name, &first);
            snprintf(tmp, sizeof tmp, "%d", (int)fld_ci32(e, i));
            jputs(&j, tmp);
            break;
        }
    }
    jput(&j, "}", 1);
    return j.rc;
}
