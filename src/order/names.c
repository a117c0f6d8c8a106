/*
 * Names of parties, complaint categories and their accepted aliases.
 */
#include <string.h>

#include "order/order.h"

static const char *const party_names[FC_PARTY__COUNT] = {
    [FC_PARTY_NONE] = "",
    [FC_PARTY_RIDER] = "rider",
    [FC_PARTY_MERCHANT] = "merchant",
    [FC_PARTY_CUSTOMER] = "customer",
    [FC_PARTY_PLATFORM] = "platform",
    [FC_PARTY_FORCE_MAJEURE] = "force_majeure",
    [FC_PARTY_UNDETERMINED] = "undetermined",
};

static const char *const complaint_names[FC_COMPLAINT__COUNT] = {
    [FC_COMPLAINT_LATE] = "late",
    [FC_COMPLAINT_MISSING_ITEM] = "missing_item",
    [FC_COMPLAINT_WRONG_ITEM] = "wrong_item",
    [FC_COMPLAINT_FOOD_QUALITY] = "food_quality",
    [FC_COMPLAINT_DAMAGED] = "damaged",
    [FC_COMPLAINT_RIDER_BEHAVIOUR] = "rider_behaviour",
    [FC_COMPLAINT_NOT_RECEIVED] = "not_received",
    [FC_COMPLAINT_OTHER] = "other",
};

/* Other spellings found in operations exports, mapped to the canonical
 * names. */
typedef struct alias {
    const char *name;
    int value;
} alias;

static const alias party_aliases[] = {
    {"courier", FC_PARTY_RIDER},       {"driver", FC_PARTY_RIDER},
    {"restaurant", FC_PARTY_MERCHANT}, {"store", FC_PARTY_MERCHANT},
    {"user", FC_PARTY_CUSTOMER},       {"system", FC_PARTY_PLATFORM},
    {"ops", FC_PARTY_PLATFORM},        {"weather", FC_PARTY_FORCE_MAJEURE},
};

static const alias complaint_aliases[] = {
    {"rider_behavior", FC_COMPLAINT_RIDER_BEHAVIOUR}, {"missing", FC_COMPLAINT_MISSING_ITEM},
    {"wrong_order", FC_COMPLAINT_WRONG_ITEM},         {"quality", FC_COMPLAINT_FOOD_QUALITY},
    {"cold_food", FC_COMPLAINT_FOOD_QUALITY},         {"spilled", FC_COMPLAINT_DAMAGED},
    {"not_delivered", FC_COMPLAINT_NOT_RECEIVED},
};

/* ASCII case-insensitive equality of a view and a C string. */
static int eq_nocase(fc_str s, const char *c) {
    size_t n = strlen(c);
    if (s.n != n) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char a = (unsigned char)s.p[i], b = (unsigned char)c[i];
        if (a >= 'A' && a <= 'Z') {
            a = (unsigned char)(a - 'A' + 'a');
        }
        if (a != b) {
            return 0;
        }
    }
    return 1;
}

const char *fc_party_name(fc_party p) {
    return (unsigned)p < (unsigned)FC_PARTY__COUNT ? party_names[p] : "";
}

fc_party fc_party_from(fc_str s) {
    if (s.n == 0) {
        return FC_PARTY_NONE;
    }
    for (int p = FC_PARTY_RIDER; p < FC_PARTY__COUNT; p++) {
        if (eq_nocase(s, party_names[p])) {
            return (fc_party)p;
        }
    }
    for (size_t i = 0; i < sizeof party_aliases / sizeof party_aliases[0]; i++) {
        if (eq_nocase(s, party_aliases[i].name)) {
            return (fc_party)party_aliases[i].value;
        }
    }
    return FC_PARTY_NONE;
}

const char *fc_complaint_name(fc_complaint c) {
    return (unsigned)c < (unsigned)FC_COMPLAINT__COUNT ? complaint_names[c] : "";
}

fc_complaint fc_complaint_from(fc_str s) {
    for (int c = 0; c < FC_COMPLAINT__COUNT; c++) {
        if (eq_nocase(s, complaint_names[c])) {
            return (fc_complaint)c;
        }
    }
    for (size_t i = 0; i < sizeof complaint_aliases / sizeof complaint_aliases[0]; i++) {
        if (eq_nocase(s, complaint_aliases[i].name)) {
            return (fc_complaint)complaint_aliases[i].value;
        }
    }
    return FC_COMPLAINT_OTHER;
}
