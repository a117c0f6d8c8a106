/*
 * Replay: every closed order of a period judged under two policy packs in
 * one scan, and the outcomes diffed per (order, incident).
 *
 * The scan folds each order once with the built-in thresholds and no
 * policy: the base and the candidate may define "on time" differently, so
 * each side re-derives the order's incidents with its own policy's
 * thresholds (fc_order_incidents on a copy of the facts) before judging.
 * Nothing is allocated per order or per decision: decisions live in two
 * fixed arrays of the replay's state, rows are found through dictionaries
 * of rule and rider ids, and the policies of each city are looked up once.
 */
#include <stdlib.h>
#include <string.h>

#include "adjudicate/adjudicate.h"
#include "ref/ref.h"

#define CITY_CACHE 32

/* The policies governing one city under each pack, and their thresholds. */
typedef struct city_policies {
    char city[64], country[8];
    const fc_policy *base, *candidate;
    int same_thresholds;                       /* both sides detect the same incidents */
    int base_as_scanned, candidate_as_scanned; /* the side's thresholds are the scan's */
    int same_policy; /* same id and version (a content hash): same decisions */
} city_policies;

typedef struct rider_tally {
    int64_t changed, points_base, points_candidate;
    fc_capacity capacity;
} rider_tally;

typedef struct replay_state {
    const fc_replay_opts *o;
    fc_replay_report *r;
    city_policies cities[CITY_CACHE];
    size_t n_cities;
    fc_dict *rule_ids; /* row keys of by_rule, ids index rules[] */
    fc_replay_row *rules;
    size_t cap_rules;
    fc_dict *rider_ids; /* ids index riders[] */
    rider_tally *riders;
    size_t cap_riders;
    fc_replay_row party[FC_PARTY__COUNT];
    fc_replay_row capacity[FC_CAP__COUNT];
    size_t cap_money;
    fc_decision base[FC_JUDGE_MAX_DECISIONS], candidate[FC_JUDGE_MAX_DECISIONS];
} replay_state;

void fc_replay_report_free(fc_replay_report *r) {
    if (r == NULL) {
        return;
    }
    fc_free(r->by_rule);
    fc_free(r->by_party);
    fc_free(r->by_capacity);
    fc_free(r->money);
    fc_free(r->riders);
    fc_free(r);
}

static void copy_cstr(char *dst, size_t cap, const char *src) {
    size_t n = strlen(src);
    if (n >= cap) {
        n = cap - 1;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* The policies of the order's city (looked up once per city). NULL only
 * when more cities than the cache holds appear: then looked up each time
 * into *spare. */
static const city_policies *policies_for(replay_state *st, fc_str country, fc_str city,
                                         city_policies *spare) {
    for (size_t i = 0; i < st->n_cities; i++) {
        if (fc_str_eqc(city, st->cities[i].city) && fc_str_eqc(country, st->cities[i].country)) {
            return &st->cities[i];
        }
    }
    city_policies *c = st->n_cities < CITY_CACHE ? &st->cities[st->n_cities++] : spare;
    fc_str_cpy(c->city, sizeof c->city, city);
    fc_str_cpy(c->country, sizeof c->country, country);
    c->base = fc_policy_for(st->o->base, country, city);
    c->candidate = fc_policy_for(st->o->candidate, country, city);
    c->same_thresholds = memcmp(fc_policy_thresholds(c->base), fc_policy_thresholds(c->candidate),
                                sizeof(fc_thresholds)) == 0;
    const fc_thresholds *scanned = fc_settings_for(NULL, NULL, NULL);
    c->base_as_scanned = memcmp(fc_policy_thresholds(c->base), scanned, sizeof *scanned) == 0;
    c->candidate_as_scanned =
        memcmp(fc_policy_thresholds(c->candidate), scanned, sizeof *scanned) == 0;
    c->same_policy = strcmp(fc_policy_id(c->base), fc_policy_id(c->candidate)) == 0 &&
                     strcmp(fc_policy_version(c->base), fc_policy_version(c->candidate)) == 0;
    return c;
}

/* Row key of a decision in the by-rule table: its rule id, or for an
 * undetermined decision "(no rule) <incident>". */
static fc_str rule_key(const fc_decision *d, char buf[64]) {
    if (d->rule_id[0] != '\0') {
        return fc_str_c(d->rule_id);
    }
    int n = snprintf(buf, 64, "(no rule) %s", fc_incident_name(d->incident));
    return fc_str_make(buf, n > 0 && n < 64 ? (size_t)n : 0);
}

/* The by-rule row of a decision, added when new; NULL on OOM. */
static fc_replay_row *rule_row(replay_state *st, const fc_decision *d) {
    char buf[64];
    fc_str key = rule_key(d, buf);
    int64_t id = fc_dict_intern(st->rule_ids, key);
    if (id < 0) {
        return NULL;
    }
    if ((size_t)id == st->r->n_by_rule) {
        if (fc_grow((void **)&st->rules, &st->cap_rules, (size_t)id + 1, sizeof *st->rules) !=
            FC_OK) {
            return NULL;
        }
        fc_replay_row *row = &st->rules[id];
        memset(row, 0, sizeof *row);
        fc_str_cpy(row->key, sizeof row->key, key);
        st->r->n_by_rule++;
    }
    return &st->rules[id];
}

static rider_tally *rider_of(replay_state *st, fc_str rider, fc_capacity cap) {
    int64_t id = fc_dict_intern(st->rider_ids, rider);
    if (id < 0) {
        return NULL;
    }
    if ((size_t)id == st->r->n_riders) {
        if (fc_grow((void **)&st->riders, &st->cap_riders, (size_t)id + 1, sizeof *st->riders) !=
            FC_OK) {
            return NULL;
        }
        memset(&st->riders[id], 0, sizeof st->riders[id]);
        st->riders[id].capacity = cap;
        st->r->n_riders++;
    }
    return &st->riders[id];
}

static struct fc_replay_money *money_of(replay_state *st, const char *currency) {
    fc_replay_report *r = st->r;
    for (size_t i = 0; i < r->n_money; i++) {
        if (strcmp(r->money[i].currency, currency) == 0) {
            return &r->money[i];
        }
    }
    if (fc_grow((void **)&r->money, &st->cap_money, r->n_money + 1, sizeof *r->money) != FC_OK) {
        return NULL;
    }
    struct fc_replay_money *m = &r->money[r->n_money++];
    memset(m, 0, sizeof *m);
    copy_cstr(m->currency, sizeof m->currency, currency);
    return m;
}

/* Whether two decisions about the same incident differ in outcome. */
static int outcome_differs(const fc_decision *a, const fc_decision *b) {
    const fc_consequence *x = &a->consequence, *y = &b->consequence;
    return a->liable != b->liable || a->review != b->review ||
           strcmp(a->rule_id, b->rule_id) != 0 || x->rider_points != y->rider_points ||
           x->rider_amount_minor != y->rider_amount_minor ||
           x->merchant_chargeback_minor != y->merchant_chargeback_minor ||
           x->customer_compensation_minor != y->customer_compensation_minor ||
           x->suspend_days != y->suspend_days || x->warning_only != y->warning_only ||
           strcmp(a->currency, b->currency) != 0;
}

/* Count one side's decision: its rule, party and money. */
static int tally_side(replay_state *st, const fc_decision *d, int candidate) {
    fc_replay_row *row = rule_row(st, d);
    struct fc_replay_money *m = money_of(st, d->currency);
    if (row == NULL || m == NULL) {
        return FC_ENOMEM;
    }
    const fc_consequence *c = &d->consequence;
    fc_replay_row *party = &st->party[(unsigned)d->liable < FC_PARTY__COUNT ? d->liable : 0];
    if (candidate) {
        row->candidate++;
        party->candidate++;
        m->penalty_candidate += c->rider_amount_minor;
        m->compensation_candidate += c->customer_compensation_minor;
        m->chargeback_candidate += c->merchant_chargeback_minor;
        st->r->points_candidate += c->rider_points;
        st->r->decisions_candidate++;
    } else {
        row->base++;
        party->base++;
        m->penalty_base += c->rider_amount_minor;
        m->compensation_base += c->customer_compensation_minor;
        m->chargeback_base += c->merchant_chargeback_minor;
        st->r->points_base += c->rider_points;
        st->r->decisions_base++;
    }
    return FC_OK;
}

/* Diff one (order, incident): b and c are the two sides' decisions, either
 * may be NULL (not both). */
static int diff_pair(replay_state *st, const fc_decision *b, const fc_decision *c, fc_capacity cap,
                     rider_tally *rider) {
    int changed = b == NULL || c == NULL || outcome_differs(b, c);
    fc_replay_report *r = st->r;
    r->pairs++;
    fc_replay_row *capacity = &st->capacity[cap];
    if (b != NULL && tally_side(st, b, 0) != FC_OK) {
        return FC_ENOMEM;
    }
    if (c != NULL && tally_side(st, c, 1) != FC_OK) {
        return FC_ENOMEM;
    }
    capacity->base += b != NULL;
    capacity->candidate += c != NULL;
    if (rider != NULL) {
        rider->points_base += b ? b->consequence.rider_points : 0;
        rider->points_candidate += c ? c->consequence.rider_points : 0;
        rider->changed += changed;
    }
    if (!changed) {
        return FC_OK;
    }
    const fc_decision *keyed = b != NULL ? b : c;
    r->changed++;
    r->appeared += b == NULL;
    r->disappeared += c == NULL;
    r->liable_changed += b != NULL && c != NULL && b->liable != c->liable;
    rule_row(st, keyed)->changed++; /* exists: tallied above */
    st->party[(unsigned)keyed->liable < FC_PARTY__COUNT ? keyed->liable : 0].changed++;
    capacity->changed++;
    return FC_OK;
}

/* Judge an order under one side's policy, with its own incidents: the
 * facts as scanned when the policy's thresholds are the scan's, else a copy
 * with the incidents derived again. */
static void judge_side(const fc_policy *p, int as_scanned, const fc_scan_order *so,
                       fc_order_facts *copy, fc_decision *out, size_t *n) {
    fc_policy_input in = *so->input;
    if (!as_scanned) {
        *copy = *so->facts;
        copy->incidents = fc_order_incidents(copy, fc_policy_thresholds(p));
        in.facts = copy;
    }
    if (fc_judge(p, &in, FC_LANG_EN, out, FC_JUDGE_MAX_DECISIONS, n) != FC_OK) {
        *n = 0;
    }
}

static int visit(void *ud, const fc_scan_order *so) {
    replay_state *st = ud;
    fc_replay_report *r = st->r;
    const fc_order_facts *f = so->facts;
    if (f->status == FC_ORDER_OPEN) {
        return 0;
    }
    r->orders++;
    city_policies spare;
    const city_policies *cp = policies_for(st, so->input->country, f->city, &spare);
    fc_order_facts copy;
    size_t nb = 0, nc = 0;
    judge_side(cp->base, cp->base_as_scanned, so, &copy, st->base, &nb);
    if (cp->same_thresholds && nb == 0) {
        return 0; /* no incident under either side */
    }
    /* The judge is pure: a policy with the same content decides the same
     * (a candidate that changes one country's file leaves the others'). */
    const fc_decision *cands = st->candidate;
    if (cp->same_policy) {
        cands = st->base;
        nc = nb;
    } else {
        judge_side(cp->candidate, cp->candidate_as_scanned, so, &copy, st->candidate, &nc);
    }
    if (nb == 0 && nc == 0) {
        return 0;
    }
    fc_capacity cap = fc_capacity_from(so->input->capacity);
    if ((unsigned)cap >= FC_CAP__COUNT) {
        cap = FC_CAP_UNKNOWN;
    }
    rider_tally *rider = NULL;
    if (f->rider.n > 0 && (rider = rider_of(st, f->rider, cap)) == NULL) {
        return FC_ENOMEM;
    }
    /* At most one decision per incident on each side, listed in incident
     * order: walk both lists together. */
    size_t i = 0, j = 0;
    while (i < nb || j < nc) {
        const fc_decision *b = i < nb ? &st->base[i] : NULL;
        const fc_decision *c = j < nc ? &cands[j] : NULL;
        if (b != NULL && c != NULL && b->incident != c->incident) {
            if (b->incident < c->incident) {
                c = NULL;
            } else {
                b = NULL;
            }
        }
        i += b != NULL;
        j += c != NULL;
        if (diff_pair(st, b, c, cap, rider) != FC_OK) {
            return FC_ENOMEM;
        }
    }
    return 0;
}

static int cmp_rule_rows(const void *pa, const void *pb) {
    const fc_replay_row *a = pa, *b = pb;
    if (a->changed != b->changed) {
        return a->changed > b->changed ? -1 : 1;
    }
    if (a->base != b->base) {
        return a->base > b->base ? -1 : 1;
    }
    if (a->candidate != b->candidate) {
        return a->candidate > b->candidate ? -1 : 1;
    }
    return strcmp(a->key, b->key);
}

static int64_t abs64(int64_t x) {
    return x < 0 ? -x : x;
}

static int cmp_riders(const void *pa, const void *pb) {
    const fc_replay_rider *a = pa, *b = pb;
    int64_t da = abs64(a->points_candidate - a->points_base);
    int64_t db = abs64(b->points_candidate - b->points_base);
    if (da != db) {
        return da > db ? -1 : 1;
    }
    if (a->changed != b->changed) {
        return a->changed > b->changed ? -1 : 1;
    }
    return strcmp(a->rider, b->rider);
}

/* The riders with changed decisions, most affected first, top n. */
static int pick_riders(replay_state *st, size_t top) {
    fc_replay_report *r = st->r;
    size_t n = 0;
    for (size_t i = 0; i < r->n_riders; i++) {
        n += st->riders[i].changed > 0;
    }
    r->riders = fc_malloc((n > 0 ? n : 1) * sizeof *r->riders);
    if (r->riders == NULL) {
        r->n_riders = 0;
        return FC_ENOMEM;
    }
    size_t k = 0;
    for (size_t i = 0; i < r->n_riders; i++) {
        const rider_tally *t = &st->riders[i];
        if (t->changed == 0) {
            continue;
        }
        fc_replay_rider *x = &r->riders[k++];
        memset(x, 0, sizeof *x);
        fc_str_cpy(x->rider, sizeof x->rider, fc_dict_get(st->rider_ids, (uint32_t)i));
        copy_cstr(x->capacity, sizeof x->capacity, fc_capacity_name(t->capacity));
        x->changed = t->changed;
        x->points_base = t->points_base;
        x->points_candidate = t->points_candidate;
    }
    qsort(r->riders, k, sizeof *r->riders, cmp_riders);
    r->n_riders = k < top ? k : top;
    return FC_OK;
}

/* Copy fixed rows into the report; `skip_empty` leaves out rows with no
 * decision on either side. */
static fc_replay_row *copy_rows(const fc_replay_row *rows, size_t n, size_t first, size_t *out_n,
                                int skip_empty) {
    fc_replay_row *out = fc_malloc(n * sizeof *out);
    if (out == NULL) {
        return NULL;
    }
    size_t k = 0;
    for (size_t i = first; i < n; i++) {
        if (skip_empty && rows[i].base == 0 && rows[i].candidate == 0) {
            continue;
        }
        out[k++] = rows[i];
    }
    *out_n = k;
    return out;
}

static int finish(replay_state *st) {
    fc_replay_report *r = st->r;
    for (int p = 0; p < FC_PARTY__COUNT; p++) {
        copy_cstr(st->party[p].key, sizeof st->party[p].key, fc_party_name((fc_party)p));
    }
    for (int c = 0; c < FC_CAP__COUNT; c++) {
        copy_cstr(st->capacity[c].key, sizeof st->capacity[c].key,
                  c == FC_CAP_UNKNOWN ? "no rider" : fc_capacity_name((fc_capacity)c));
    }
    /* Every liable party, and every capacity type; orders without a rider
     * (cancelled before anyone accepted) only when there are some. */
    r->by_party = copy_rows(st->party, FC_PARTY__COUNT, FC_PARTY_RIDER, &r->n_by_party, 0);
    fc_replay_row caps[FC_CAP__COUNT];
    for (int c = 0; c < FC_CAP__COUNT; c++) {
        caps[c] = st->capacity[(c + 1) % FC_CAP__COUNT]; /* "no rider" last */
    }
    r->by_capacity = copy_rows(caps, FC_CAP__COUNT, 0, &r->n_by_capacity, 0);
    if (r->by_party == NULL || r->by_capacity == NULL) {
        return FC_ENOMEM;
    }
    if (r->n_by_capacity > 0 && caps[FC_CAP__COUNT - 1].base == 0 &&
        caps[FC_CAP__COUNT - 1].candidate == 0) {
        r->n_by_capacity--;
    }
    if (r->n_by_rule > 1) {
        qsort(st->rules, r->n_by_rule, sizeof *st->rules, cmp_rule_rows);
    }
    r->by_rule = st->rules;
    st->rules = NULL;
    if (r->by_rule == NULL) {
        r->by_rule = fc_malloc(sizeof *r->by_rule);
        if (r->by_rule == NULL) {
            return FC_ENOMEM;
        }
    }
    if (r->money == NULL) {
        r->money = fc_malloc(sizeof *r->money);
        if (r->money == NULL) {
            return FC_ENOMEM;
        }
    }
    return pick_riders(st, st->o->top_riders > 0 ? st->o->top_riders : 10);
}

int fc_replay(fc_store *s, const fc_replay_opts *o, fc_replay_report **out, fc_err *err) {
    int rc = FC_OK;
    replay_state *st = NULL;
    if (out != NULL) {
        *out = NULL;
    }
    if (s == NULL || o == NULL || o->base == NULL || o->candidate == NULL || out == NULL) {
        return fc_err_set(err, FC_EINVAL, "", 0, 0, "replay needs a store, a base and a candidate");
    }
    st = fc_calloc(1, sizeof *st);
    if (st == NULL) {
        rc = FC_ENOMEM;
        goto out;
    }
    st->o = o;
    st->r = fc_calloc(1, sizeof *st->r);
    st->rule_ids = fc_dict_new();
    st->rider_ids = fc_dict_new();
    if (st->r == NULL || st->rule_ids == NULL || st->rider_ids == NULL) {
        rc = FC_ENOMEM;
        goto out;
    }
    fc_scan_opts so;
    fc_scan_opts_init(&so);
    so.from = o->from;
    so.to = o->to;
    so.city = o->city;
    so.context = 1;
    so.closed_only = 1;
    so.progress = o->progress;
    so.progress_ud = o->progress_ud;
    rc = fc_scan_orders(s, &so, visit, st, NULL, err);
    if (rc != FC_OK) {
        goto out;
    }
    rc = finish(st);
out:
    if (rc == FC_ENOMEM) {
        fc_err_set(err, FC_ENOMEM, "", 0, 0, "out of memory replaying the orders");
    }
    if (st != NULL) {
        if (rc == FC_OK) {
            *out = st->r;
        } else {
            fc_replay_report_free(st->r);
        }
        fc_free(st->rules);
        fc_free(st->riders);
        fc_dict_free(st->rule_ids);
        fc_dict_free(st->rider_ids);
        fc_free(st);
    }
    return rc;
}
