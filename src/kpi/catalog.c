/*
 * The KPI catalog: every KPI is computed from additive counters, so any
 * merged slice gives the exact KPI of the union. docs/kpis.md holds the same
 * definitions in prose; keep the two in step.
 */
#include <math.h>
#include <string.h>

#include "kpi/kpi_internal.h"

enum {
    K_ORDERS = 0,
    K_ON_TIME,
    K_LATE,
    K_SEVERE_LATE,
    K_DELIVERY_MEAN,
    K_DELIVERY_P50,
    K_DELIVERY_P90,
    K_CANCEL,
    K_CANCEL_CUSTOMER,
    K_CANCEL_MERCHANT,
    K_CANCEL_RIDER,
    K_CANCEL_PLATFORM,
    K_CANCEL_OTHER,
    K_COMPLAINT,
    K_BAD_RATING,
    K_CSAT,
    K_PUSH_COMPLETION,
    K_REFUSAL,
    K_MERCHANT_WAIT,
    K_PREP_OVERRUN,
    K_UNDELIVERABLE,
    K_CS_CONTACT,
    K_CPO,
    K_EXCEPTION_LOSS,
    K_NPS,
    K__COUNT
};

static const fc_kpi_def catalog[K__COUNT] = {
    {"orders", FC_KPI_COUNT, 1, 0, "orders created in the slice, any status"},
    {"on_time_rate", FC_KPI_RATE, 1, 0, "delivered orders not late / delivered orders"},
    {"late_rate", FC_KPI_RATE, 1, 0,
     "delivered orders later than promise + grace / delivered orders"},
    {"severe_late_rate", FC_KPI_RATE, 0, 0,
     "delivered orders later than promise + severe threshold / delivered orders"},
    {"delivery_min_mean", FC_KPI_MINUTES, 0, 0,
     "sum of created->delivered minutes / delivered orders with both instants"},
    {"delivery_min_p50", FC_KPI_MINUTES, 1, 0,
     "median created->delivered minutes of delivered orders (1-minute histogram)"},
    {"delivery_min_p90", FC_KPI_MINUTES, 1, 0,
     "90th percentile created->delivered minutes of delivered orders"},
    {"cancel_rate", FC_KPI_RATE, 1, 0, "cancelled orders / orders"},
    {"cancel_rate_customer", FC_KPI_RATE, 0, 0, "orders cancelled by the customer / orders"},
    {"cancel_rate_merchant", FC_KPI_RATE, 0, 0, "orders cancelled by the merchant / orders"},
    {"cancel_rate_rider", FC_KPI_RATE, 0, 0, "orders cancelled by the rider / orders"},
    {"cancel_rate_platform", FC_KPI_RATE, 0, 0, "orders cancelled by the platform / orders"},
    {"cancel_rate_other", FC_KPI_RATE, 0, 0,
     "orders cancelled by another or an unknown party / orders"},
    {"complaint_rate", FC_KPI_RATE, 1, 0, "orders with at least one complaint / orders"},
    {"bad_rating_rate", FC_KPI_RATE, 0, 0,
     "rated orders with rating <= bad_rating_max / rated orders"},
    {"csat", FC_KPI_RATE, 1, 0, "rated orders with rating >= 4 / rated orders"},
    {"push_completion_rate", FC_KPI_RATE, 0, 0,
     "pushed orders a rider accepted / orders pushed at least once"},
    {"refusal_rate", FC_KPI_RATE, 0, 0, "refusal events / push events"},
    {"merchant_wait_min", FC_KPI_MINUTES, 0, 0,
     "sum of rider wait at merchant (arrived -> picked up) / orders with both instants"},
    {"prep_overrun_rate", FC_KPI_RATE, 0, 0,
     "orders ready later than estimate + prep_overrun / orders with both instants"},
    {"undeliverable_rate", FC_KPI_RATE, 0, 0, "undeliverable orders / orders"},
    {"cs_contact_rate", FC_KPI_RATE, 0, 0,
     "orders with at least one customer-service contact / orders"},
    {"cpo", FC_KPI_MONEY, 1, 1,
     "(delivery cost + compensation of every order) / delivered orders, minor units"},
    {"exception_loss_rate", FC_KPI_RATE, 0, 1,
     "compensation of orders with a value / sum of their order values"},
    {"nps", FC_KPI_SCORE, 1, 0, "100 * (promoters 9-10 - detractors 0-6) / survey respondents"},
};

size_t fc_kpi_count(void) {
    return K__COUNT;
}

const fc_kpi_def *fc_kpi_at(size_t i) {
    return i < K__COUNT ? &catalog[i] : NULL;
}

int fc_kpi_find(fc_str name) {
    for (int i = 0; i < K__COUNT; i++) {
        if (fc_str_eqc(name, catalog[i].name)) {
            return i;
        }
    }
    return -1;
}

void fc_kpi_counts_merge(fc_kpi_counts *into, const fc_kpi_counts *from) {
    into->orders += from->orders;
    into->delivered += from->delivered;
    into->late += from->late;
    into->severe_late += from->severe_late;
    into->cancelled += from->cancelled;
    for (int p = 0; p < FC_PARTY__COUNT; p++) {
        into->cancelled_by[p] += from->cancelled_by[p];
    }
    into->undeliverable += from->undeliverable;
    into->complained += from->complained;
    into->cs_contacted += from->cs_contacted;
    into->rated += from->rated;
    into->bad_rated += from->bad_rated;
    into->good_rated += from->good_rated;
    into->surveyed += from->surveyed;
    into->promoters += from->promoters;
    into->detractors += from->detractors;
    into->pushed += from->pushed;
    into->pushed_accepted += from->pushed_accepted;
    into->pushes += from->pushes;
    into->refusals += from->refusals;
    into->wait_n += from->wait_n;
    into->wait_s += from->wait_s;
    into->prep_n += from->prep_n;
    into->prep_overrun += from->prep_overrun;
    into->delivery_n += from->delivery_n;
    into->delivery_s += from->delivery_s;
    into->cost_minor += from->cost_minor;
    into->value_n += from->value_n;
    into->value_minor += from->value_minor;
    into->value_comp_minor += from->value_comp_minor;
    into->currency_mask |= from->currency_mask;
    for (int b = 0; b < FC_KPI_HIST_BUCKETS; b++) {
        into->hist[b] += from->hist[b];
    }
}

int fc_kpi_percentile(const fc_kpi_counts *c, double q, double *minutes) {
    uint64_t total = 0;
    for (int b = 0; b < FC_KPI_HIST_BUCKETS; b++) {
        total += c->hist[b];
    }
    if (total == 0) {
        return FC_ENOTFOUND;
    }
    if (q < 0) {
        q = 0;
    }
    if (q > 1) {
        q = 1;
    }
    /* The rank q * total falls in the first bucket whose cumulative count
     * reaches it; inside a bucket the orders are taken as spread evenly over
     * its minute. */
    double target = q * (double)total;
    uint64_t cum = 0;
    for (int b = 0; b < FC_KPI_HIST_BUCKETS; b++) {
        uint64_t n = c->hist[b];
        if (n > 0 && (double)(cum + n) >= target) {
            if (b == FC_KPI_HIST_MINUTES) {
                *minutes = FC_KPI_HIST_MINUTES;
            } else {
                *minutes = b + (target - (double)cum) / (double)n;
            }
            return FC_OK;
        }
        cum += n;
    }
    *minutes = FC_KPI_HIST_MINUTES;
    return FC_OK;
}

int fc_kpi_currency(const fc_kpi_counts *c) {
    uint64_t m = c->currency_mask;
    if (m == 0) {
        return -1;
    }
    if ((m & (m - 1)) != 0 || m == (1ull << 63)) {
        /* Several bits, or the shared bit of ids >= 63 (cannot tell them apart). */
        return -2;
    }
    int id = 0;
    while ((m & 1u) == 0) {
        m >>= 1;
        id++;
    }
    return id;
}

static int ratio(int64_t num, int64_t den, double *v) {
    if (den == 0) {
        return FC_ENOTFOUND;
    }
    *v = (double)num / (double)den;
    return FC_OK;
}

int fc_kpi_value(const fc_kpi_counts *c, size_t k, double *value) {
    if (k >= K__COUNT) {
        return FC_EINVAL;
    }
    if (catalog[k].money && fc_kpi_currency(c) == -2) {
        return FC_EINVAL;
    }
    switch (k) {
    case K_ORDERS:
        *value = (double)c->orders;
        return FC_OK;
    case K_ON_TIME:
        return ratio(c->delivered - c->late, c->delivered, value);
    case K_LATE:
        return ratio(c->late, c->delivered, value);
    case K_SEVERE_LATE:
        return ratio(c->severe_late, c->delivered, value);
    case K_DELIVERY_MEAN: {
        int rc = ratio(c->delivery_s, c->delivery_n, value);
        *value /= 60.0;
        return rc;
    }
    case K_DELIVERY_P50:
        return fc_kpi_percentile(c, 0.5, value);
    case K_DELIVERY_P90:
        return fc_kpi_percentile(c, 0.9, value);
    case K_CANCEL:
        return ratio(c->cancelled, c->orders, value);
    case K_CANCEL_CUSTOMER:
        return ratio(c->cancelled_by[FC_PARTY_CUSTOMER], c->orders, value);
    case K_CANCEL_MERCHANT:
        return ratio(c->cancelled_by[FC_PARTY_MERCHANT], c->orders, value);
    case K_CANCEL_RIDER:
        return ratio(c->cancelled_by[FC_PARTY_RIDER], c->orders, value);
    case K_CANCEL_PLATFORM:
        return ratio(c->cancelled_by[FC_PARTY_PLATFORM], c->orders, value);
    case K_CANCEL_OTHER:
        return ratio(c->cancelled - c->cancelled_by[FC_PARTY_CUSTOMER] -
                         c->cancelled_by[FC_PARTY_MERCHANT] - c->cancelled_by[FC_PARTY_RIDER] -
                         c->cancelled_by[FC_PARTY_PLATFORM],
                     c->orders, value);
    case K_COMPLAINT:
        return ratio(c->complained, c->orders, value);
    case K_BAD_RATING:
        return ratio(c->bad_rated, c->rated, value);
    case K_CSAT:
        return ratio(c->good_rated, c->rated, value);
    case K_PUSH_COMPLETION:
        return ratio(c->pushed_accepted, c->pushed, value);
    case K_REFUSAL:
        return ratio(c->refusals, c->pushes, value);
    case K_MERCHANT_WAIT: {
        int rc = ratio(c->wait_s, c->wait_n, value);
        *value /= 60.0;
        return rc;
    }
    case K_PREP_OVERRUN:
        return ratio(c->prep_overrun, c->prep_n, value);
    case K_UNDELIVERABLE:
        return ratio(c->undeliverable, c->orders, value);
    case K_CS_CONTACT:
        return ratio(c->cs_contacted, c->orders, value);
    case K_CPO:
        return ratio(c->cost_minor, c->delivered, value);
    case K_EXCEPTION_LOSS:
        return ratio(c->value_comp_minor, c->value_minor, value);
    case K_NPS: {
        int rc = ratio(c->promoters - c->detractors, c->surveyed, value);
        *value *= 100.0;
        return rc;
    }
    default:
        return FC_EINVAL;
    }
}

void fc_kpi_format(const fc_facts *t, const fc_kpi_counts *c, size_t k, char *buf, size_t bufsz) {
    if (bufsz == 0) {
        return;
    }
    buf[0] = '\0';
    double v = 0;
    if (fc_kpi_value(c, k, &v) != FC_OK) {
        return;
    }
    switch (catalog[k].unit) {
    case FC_KPI_COUNT:
        snprintf(buf, bufsz, "%lld", (long long)llround(v));
        break;
    case FC_KPI_RATE:
        snprintf(buf, bufsz, "%.1f", v * 100.0);
        break;
    case FC_KPI_MINUTES:
    case FC_KPI_SCORE:
        snprintf(buf, bufsz, "%.1f", v);
        break;
    case FC_KPI_MONEY: {
        int cur = fc_kpi_currency(c);
        if (cur < 0 || t == NULL) {
            break;
        }
        fc_money_format((int64_t)llround(v), fc_facts_currency(t, (uint32_t)cur), buf, bufsz);
        break;
    }
    }
}
