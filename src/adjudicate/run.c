/*
 * The judge run: closed orders read through the scan, judged under the
 * policy governing each, and recorded in the case log with the ledger
 * entries of their consequences.
 *
 * Idempotence comes from the decision ids (case.h): a decision already
 * recorded is recognised by its id without a query, through a map of the
 * current decision of every (order, incident) read from the case log once
 * at the start. The log is append-only and a superseding decision is always
 * appended after the one it replaces, so the current decision of a pair is
 * the last one recorded for it.
 *
 * A superseded decision's ledger entries are reversed for what is left of
 * them: an appeal may already have undone part of one, and the reversal
 * undoes only the rest, so that a party's ledger always sums to the
 * consequences of the decisions in force.
 *
 * "Unchanged" compares the outcome the judge gives now with the outcome of
 * the pair's decision in force, never with every id ever recorded: when the
 * outcome goes back to one recorded and superseded before (a policy rolled
 * back, facts that flipped back), the old id is taken, so the outcome is
 * recorded again under a reinstated id (case.h) that supersedes the later
 * decision. A pair whose incident the order no longer has gets its decision
 * in force withdrawn (FC_CASE_DECISION_WITHDRAWN), only for the orders the
 * run judged.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "adjudicate/adjudicate.h"

/* Entries written per transaction. */
#define ENTRIES_PER_BATCH 4096

void fc_adj_opts_init(fc_adj_opts *o) {
    memset(o, 0, sizeof *o);
    o->from = FC_TS_NONE;
    o->to = FC_TS_NONE;
}

/* ---------------------------------------------------------------------------
 * The current decision of each (order, incident).
 */
typedef struct current_map {
    fc_dict *keys;      /* "<order>\x1f<incident>" -> index into ids */
    fc_str *ids;        /* the current decision's id (in arena), {NULL, 0} none */
    fc_str *outcomes;   /* its outcome id (the id itself but for a reinstated outcome) */
    int64_t *seqs;      /* its seq in the case log, 0 not recorded yet */
    uint8_t *withdrawn; /* 1: withdrawn, no decision in force for the pair */
    size_t cap;
    fc_arena *arena;
    char key[128 + 32];
} current_map;

static void map_free(current_map *m) {
    fc_dict_free(m->keys);
    fc_free(m->ids);
    fc_free(m->outcomes);
    fc_free(m->seqs);
    fc_free(m->withdrawn);
    fc_arena_free(m->arena);
    memset(m, 0, sizeof *m);
}

static int map_init(current_map *m) {
    memset(m, 0, sizeof *m);
    m->keys = fc_dict_new();
    m->arena = fc_arena_new(0);
    if (m->keys == NULL || m->arena == NULL) {
        map_free(m);
        return FC_ENOMEM;
    }
    return FC_OK;
}

static fc_str map_key(current_map *m, fc_str order, fc_str incident) {
    size_t n = order.n < 128 ? order.n : 128;
    if (n > 0) {
        memcpy(m->key, order.p, n);
    }
    m->key[n++] = '\x1f';
    size_t k = incident.n < 31 ? incident.n : 31;
    if (k > 0) {
        memcpy(m->key + n, incident.p, k);
    }
    return fc_str_make(m->key, n + k);
}

/* The index of (order, incident) in the map, -1 when it has no decision. */
static int64_t map_find(current_map *m, fc_str order, fc_str incident) {
    int64_t i = fc_dict_find(m->keys, map_key(m, order, incident));
    return i < 0 || m->ids[i].n == 0 ? -1 : i;
}

/* Make (order, incident)'s current decision `id` with outcome `outcome`,
 * recorded at `seq` (0: being recorded now, newer than anything read). An
 * older entry read after a newer one (two lookups may meet the same
 * decision) changes nothing. */
static int map_set(current_map *m, fc_str order, fc_str incident, fc_str id, fc_str outcome,
                   int64_t seq) {
    int64_t i = fc_dict_intern(m->keys, map_key(m, order, incident));
    if (i < 0) {
        return FC_ENOMEM;
    }
    if ((size_t)i >= m->cap) {
        size_t old = m->cap, cap[4] = {m->cap, m->cap, m->cap, m->cap};
        if (fc_grow((void **)&m->ids, &cap[0], (size_t)i + 1, sizeof *m->ids) != FC_OK ||
            fc_grow((void **)&m->outcomes, &cap[1], cap[0], sizeof *m->outcomes) != FC_OK ||
            fc_grow((void **)&m->seqs, &cap[2], cap[0], sizeof *m->seqs) != FC_OK ||
            fc_grow((void **)&m->withdrawn, &cap[3], cap[0], sizeof *m->withdrawn) != FC_OK) {
            return FC_ENOMEM;
        }
        m->cap = cap[0];
        for (size_t k = 1; k < 4; k++) {
            m->cap = cap[k] < m->cap ? cap[k] : m->cap;
        }
        memset(m->ids + old, 0, (m->cap - old) * sizeof *m->ids);
        memset(m->outcomes + old, 0, (m->cap - old) * sizeof *m->outcomes);
        memset(m->seqs + old, 0, (m->cap - old) * sizeof *m->seqs);
        memset(m->withdrawn + old, 0, (m->cap - old) * sizeof *m->withdrawn);
    }
    if (seq > 0 && m->ids[i].n > 0 && (m->seqs[i] == 0 || m->seqs[i] > seq)) {
        return FC_OK;
    }
    m->seqs[i] = seq;
    if (fc_str_eq(m->ids[i], id)) {
        return FC_OK; /* met again: what is known of it (withdrawn) stays */
    }
    fc_str copy = fc_arena_str(m->arena, id);
    fc_str out = fc_arena_str(m->arena, outcome.n > 0 ? outcome : id);
    if (copy.p == NULL || out.p == NULL) {
        return FC_ENOMEM;
    }
    m->ids[i] = copy;
    m->outcomes[i] = out;
    m->withdrawn[i] = 0;
    return FC_OK;
}

static int map_visit(void *ud, const fc_case_entry *e) {
    current_map *m = ud;
    fc_str incident = fc_case_body_text(e->body, "incident");
    if (incident.n == 0 || e->order.n == 0) {
        return FC_OK; /* not a body this run wrote: nothing to supersede */
    }
    return map_set(m, e->order, incident, e->id, fc_case_body_text(e->body, "outcome"), e->seq);
}

/* A withdrawal: its pair has no decision in force when the decision it
 * withdrew is still the pair's last (a later one is never withdrawn by it). */
static int map_visit_withdrawal(void *ud, const fc_case_entry *e) {
    current_map *m = ud;
    fc_str incident = fc_case_body_text(e->body, "incident");
    int64_t i = map_find(m, e->order, incident);
    if (i >= 0 && fc_str_eq(m->ids[i], e->decision)) {
        m->withdrawn[i] = 1;
    }
    return FC_OK;
}

static int map_visit_any(void *ud, const fc_case_entry *e) {
    if (e->type == FC_CASE_DECISION) {
        return map_visit(ud, e);
    }
    return e->type == FC_CASE_DECISION_WITHDRAWN ? map_visit_withdrawal(ud, e) : FC_OK;
}

/* The decisions of one order (of `city` when not empty) into the map: one
 * indexed read of its entries (in seq order, a withdrawal comes after the
 * decision it withdraws, and a later decision clears it). */
static int map_load_order(fc_store *s, current_map *m, fc_str order, const char *city,
                          fc_err *err) {
    fc_case_filter f;
    fc_case_filter_init(&f);
    f.order = order;
    f.city = fc_str_c(city);
    int rc = fc_store_case_scan(s, &f, map_visit_any, m, err);
    if (rc == FC_ENOMEM) {
        fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory reading the recorded decisions");
    }
    return rc;
}

/* Read the decisions of the case log (of `order`, `rider`, `city` when not
 * empty) into the map. */
static int map_load(fc_store *s, current_map *m, fc_str order, fc_str rider, const char *city,
                    fc_err *err) {
    fc_case_filter f;
    fc_case_filter_init(&f);
    f.type = FC_CASE_DECISION;
    f.order = order;
    f.rider = rider;
    f.city = fc_str_c(city);
    int rc = fc_store_case_scan(s, &f, map_visit, m, err);
    if (rc == FC_OK) {
        f.type = FC_CASE_DECISION_WITHDRAWN;
        rc = fc_store_case_scan(s, &f, map_visit_withdrawal, m, err);
    }
    if (rc == FC_ENOMEM) {
        fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory reading the recorded decisions");
    }
    return rc;
}

/* A rider's [from, to): a carry as the table holds it. */
typedef struct carry_window {
    fc_str rider;
    int64_t from, to;
} carry_window;

/* ---------------------------------------------------------------------------
 * A run.
 */
/* A rider's carries read from the store for run_orders: those overlapping
 * [lo, hi), rows [first, first + n) of the targeted arrays. */
typedef struct rider_rows {
    int64_t lo, hi;
    size_t first, n;
    int fetched;
} rider_rows;

/* run_orders' view of the carry table. */
typedef struct targeted {
    fc_arena *arena;   /* order and rider ids */
    carry_window *win; /* windows whose riders' orders may see their stacked change */
    size_t n_win, cap_win;
    fc_dict *riders; /* the riders of the orders to judge */
    rider_rows *rr;  /* per rider of `riders` */
    size_t cap_rr;
    fc_str *row_order; /* carries read, rider by rider */
    int64_t *row_picked, *row_delivered;
    size_t n_rows, cap_rows[3];
} targeted;
typedef struct run {
    fc_store *s;
    const fc_adj_opts *o;
    fc_adj_stats st;
    fc_err *err;
    current_map map;
    fc_dict *only; /* run_orders: the orders to judge */
    targeted tg;   /* run_orders: carries and stacked orders */
    int in_batch;
    int64_t batch_entries;
    double batch_began; /* fc_now_mono() at its BEGIN */
    fc_decision d[FC_JUDGE_MAX_DECISIONS];
    fc_case_decision cd;
    fc_arena *arena; /* evidence of a decision read back (withdrawals) */
} run;

static int batch_open(run *r) {
    if (r->in_batch) {
        return FC_OK;
    }
    if (r->o->txn_lock != NULL) {
        r->o->txn_lock(r->o->txn_ud);
    }
    int rc = fc_store_begin(r->s, r->err);
    if (rc != FC_OK && r->o->txn_unlock != NULL) {
        r->o->txn_unlock(r->o->txn_ud);
    }
    if (rc == FC_OK) {
        r->in_batch = 1;
        r->batch_entries = 0;
        r->batch_began = r->o->txn_ms > 0 ? fc_now_mono() : 0;
    }
    return rc;
}

/* Whether the open batch should commit now: ENTRIES_PER_BATCH entries, or
 * open for o->txn_ms (others wait for the write lock meanwhile). */
static int batch_due(const run *r) {
    return r->in_batch &&
           (r->batch_entries >= ENTRIES_PER_BATCH ||
            (r->o->txn_ms > 0 && (fc_now_mono() - r->batch_began) * 1000.0 >= r->o->txn_ms));
}

static int batch_close(run *r) {
    if (!r->in_batch) {
        return FC_OK;
    }
    r->in_batch = 0;
    int rc = fc_store_end(r->s, r->err);
    if (r->o->txn_unlock != NULL) {
        r->o->txn_unlock(r->o->txn_ud);
    }
    return rc;
}

/* Append one entry about the decision being recorded. */
static int append(run *r, fc_case_type type, const char *id, const char *decision, const char *body,
                  size_t len, int *dup) {
    const fc_case_decision *cd = &r->cd;
    fc_case_entry e;
    memset(&e, 0, sizeof e);
    e.id = fc_str_c(id);
    e.type = type;
    e.ts = r->o->now;
    e.order = fc_str_c(cd->order);
    e.decision = fc_str_c(decision);
    e.city = fc_str_c(cd->city);
    e.rider = fc_str_c(cd->rider);
    e.merchant = fc_str_c(cd->merchant);
    e.actor = fc_str_c(r->o->actor != NULL && r->o->actor[0] != '\0' ? r->o->actor : "judge");
    e.body = fc_str_make(body, len);
    int rc = fc_store_case_append(r->s, &e, -1, dup, NULL, r->err);
    if (rc == FC_OK) {
        r->batch_entries++;
    }
    return rc;
}

static int append_ledger(run *r, const fc_ledger_entry *le) {
    char *body = NULL;
    size_t len = 0;
    int dup = 0;
    int rc = fc_case_ledger_json(le, &body, &len);
    if (rc != FC_OK) {
        return fc_err_set(r->err, rc, NULL, 0, 0, "out of memory encoding a ledger entry");
    }
    rc = append(r, FC_CASE_LEDGER, le->id, le->decision, body, len, &dup);
    fc_free(body);
    if (rc == FC_OK && !dup) {
        r->st.ledger++;
    }
    return rc;
}

/* The ledger entries of a decision as recorded: originals (what is left of
 * each, once fc_case_ledger_left has run) and their reversals. */
#define LEDGER_READ_MAX 64
typedef struct ledger_read {
    fc_ledger_entry e[LEDGER_READ_MAX];
    size_t n;
    int reversed[LEDGER_READ_MAX];
    fc_ledger_entry rev[LEDGER_READ_MAX];
    size_t n_rev;
    fc_err *err;
} ledger_read;

static int ledger_visit(void *ud, const fc_case_entry *e) {
    ledger_read *lr = ud;
    fc_ledger_entry le;
    int rc = fc_case_ledger_parse(e->body, &le, lr->err);
    if (rc != FC_OK) {
        return rc;
    }
    if (le.kind == FC_LEDGER_REVERSAL) {
        if (lr->n_rev < LEDGER_READ_MAX) {
            lr->rev[lr->n_rev++] = le;
        }
    } else if (lr->n < LEDGER_READ_MAX) {
        lr->e[lr->n++] = le;
    }
    return FC_OK;
}

/* Reverse what is left of the ledger entries of decision `old`, caused by
 * `cause` (the decision being recorded, or a withdrawal). */
static int reverse_superseded(run *r, fc_str old, const char *cause) {
    ledger_read *lr = fc_calloc(1, sizeof *lr);
    if (lr == NULL) {
        return fc_err_set(r->err, FC_ENOMEM, NULL, 0, 0, "out of memory reading a ledger");
    }
    lr->err = r->err;
    fc_case_filter f;
    fc_case_filter_init(&f);
    f.type = FC_CASE_LEDGER;
    f.decision = old;
    int rc = fc_store_case_scan(r->s, &f, ledger_visit, lr, r->err);
    if (rc != FC_OK) {
        goto out;
    }
    fc_case_ledger_left(lr->e, lr->n, lr->rev, lr->n_rev, lr->reversed);
    for (size_t i = 0; i < lr->n; i++) {
        const fc_ledger_entry *left = &lr->e[i];
        /* A warning (nothing to undo) is still withdrawn once. */
        if (left->points == 0 && left->amount_minor == 0 && lr->reversed[i]) {
            continue;
        }
        fc_ledger_entry rev;
        fc_case_ledger_reverse(left, cause, 0, &rev);
        rc = append_ledger(r, &rev);
        if (rc != FC_OK) {
            goto out;
        }
    }
out:
    fc_free(lr);
    return rc;
}

/* Encode r->cd and append it; *dup as fc_store_case_append. */
static int append_decision(run *r, int *dup) {
    char *body = NULL;
    size_t len = 0;
    int rc = fc_case_decision_json(&r->cd, &body, &len);
    if (rc != FC_OK) {
        return fc_err_set(r->err, rc, NULL, 0, 0, "out of memory encoding a decision");
    }
    rc = append(r, FC_CASE_DECISION, r->cd.id, r->cd.id, body, len, dup);
    fc_free(body);
    return rc;
}

/* Record one decision of the order being visited. */
static int record(run *r, const fc_policy *p, const fc_policy_input *in, const fc_decision *d) {
    /* fc_judge sends every account sanction to a human. */
    assert(d->consequence.suspend_days == 0 || d->review);
    r->st.decisions++;
    r->st.review += d->review != 0;
    if ((unsigned)d->liable < FC_PARTY__COUNT) {
        r->st.by_party[d->liable]++;
    }
    /* The id first: an unchanged decision needs neither its texts in
     * every language nor its body. */
    char id[FC_CASE_ID_MAX];
    fc_case_decision_id(d, in->facts->order, id);
    fc_str incident = fc_str_c(fc_incident_name(d->incident));
    fc_str order = in->facts->order;
    int64_t cur = map_find(&r->map, order, incident);
    int withdrawn = cur >= 0 && r->map.withdrawn[cur];
    if (cur >= 0 && !withdrawn && fc_str_eqc(r->map.outcomes[cur], id)) {
        r->st.unchanged++;
        return FC_OK;
    }
    fc_case_decision *cd = &r->cd;
    fc_case_decision_make(p, in, d, cd);
    memcpy(cd->outcome, id, sizeof id);
    char current[FC_CASE_ID_MAX] = "";
    if (cur >= 0) {
        fc_str_cpy(current, sizeof current, r->map.ids[cur]);
        memcpy(cd->supersedes, current, sizeof current);
    }
    int rc = batch_open(r);
    if (rc != FC_OK) {
        return rc;
    }
    int dup = 0;
    rc = append_decision(r, &dup);
    if (rc == FC_OK && dup && current[0] != '\0') {
        /* The outcome was recorded before and superseded (or withdrawn)
         * since: its id is taken, so it is reinstated under its own. */
        fc_case_decision_reinstated_id(id, current, cd->id);
        rc = append_decision(r, &dup);
    }
    if (rc != FC_OK) {
        return rc;
    }
    if (dup) {
        /* Already recorded by a run that met the same log (or a decision
         * the map could not see): nothing to write. */
        r->st.unchanged++;
        rc = map_set(&r->map, order, incident, fc_str_c(cd->id), fc_str_c(id), 0);
        return rc == FC_OK ? FC_OK : fc_err_set(r->err, rc, NULL, 0, 0, "out of memory");
    }
    r->st.recorded++;
    if (cur >= 0) {
        r->st.superseded++;
    }
    if (cur >= 0 && !withdrawn) {
        /* A withdrawn decision's entries were reversed by its withdrawal. */
        rc = reverse_superseded(r, fc_str_c(current), cd->id);
        if (rc != FC_OK) {
            return rc;
        }
    }
    fc_ledger_entry le[4];
    size_t n = fc_case_ledger_for(cd, 0, le, 4);
    for (size_t i = 0; i < n; i++) {
        rc = append_ledger(r, &le[i]);
        if (rc != FC_OK) {
            return rc;
        }
    }
    rc = map_set(&r->map, order, incident, fc_str_c(cd->id), fc_str_c(id), 0);
    if (rc != FC_OK) {
        return fc_err_set(r->err, rc, NULL, 0, 0, "out of memory");
    }
    if (batch_due(r)) {
        rc = batch_close(r);
    }
    return rc;
}

/* Read the recorded decision `id` into r->cd. */
static int read_decision(void *ud, const fc_case_entry *e) {
    run *r = ud;
    fc_arena_reset(r->arena);
    return fc_case_decision_parse(e->body, r->arena, &r->cd, r->err);
}

/* Withdraw the decision in force of the map's pair i: the order judged
 * under p no longer has its incident. */
static int withdraw(run *r, const fc_policy *p, fc_str order, fc_incident_kind incident,
                    int64_t i) {
    char decision[FC_CASE_ID_MAX];
    fc_str_cpy(decision, sizeof decision, r->map.ids[i]);
    fc_case_filter f;
    fc_case_filter_init(&f);
    f.type = FC_CASE_DECISION;
    f.id = fc_str_c(decision);
    memset(r->cd.id, 0, sizeof r->cd.id);
    int rc = fc_store_case_scan(r->s, &f, read_decision, r, r->err);
    if (rc != FC_OK) {
        return rc;
    }
    if (r->cd.id[0] == '\0') {
        return fc_err_set(r->err, FC_ENOTFOUND, NULL, 0, 0, "decision %s is not in the case log",
                          decision);
    }
    fc_case_withdrawal w;
    memset(&w, 0, sizeof w);
    fc_case_withdrawal_id(decision, w.id);
    memcpy(w.decision, decision, sizeof decision);
    fc_str_cpy(w.order, sizeof w.order, order);
    w.incident = incident;
    fc_str_cpy(w.policy_id, sizeof w.policy_id, fc_str_c(fc_policy_id(p)));
    fc_str_cpy(w.policy_version, sizeof w.policy_version, fc_str_c(fc_policy_version(p)));
    snprintf(w.reason, sizeof w.reason,
             "judged again under %s %s, the order has no %s incident any more", w.policy_id,
             w.policy_version, fc_incident_name(incident));
    rc = batch_open(r);
    if (rc != FC_OK) {
        return rc;
    }
    char *body = NULL;
    size_t len = 0;
    rc = fc_case_withdrawal_json(&w, &body, &len);
    if (rc != FC_OK) {
        return fc_err_set(r->err, rc, NULL, 0, 0, "out of memory encoding a withdrawal");
    }
    int dup = 0;
    rc = append(r, FC_CASE_DECISION_WITHDRAWN, w.id, decision, body, len, &dup);
    fc_free(body);
    if (rc != FC_OK) {
        return rc;
    }
    r->map.withdrawn[i] = 1;
    if (dup) {
        return FC_OK;
    }
    r->st.withdrawn++;
    rc = reverse_superseded(r, fc_str_c(decision), w.id);
    if (rc == FC_OK && batch_due(r)) {
        rc = batch_close(r);
    }
    return rc;
}

static int visit(void *ud, const fc_scan_order *so) {
    run *r = ud;
    const fc_order_facts *f = so->facts;
    /* Both scans ask for closed orders only, under the run's pack
     * (so the scan names each order's policy: never NULL for a loaded pack). */
    assert(f->status != FC_ORDER_OPEN);
    const fc_policy *p = so->policy;
    assert(p != NULL);
    if (r->o->on_input != NULL) {
        r->o->on_input(r->o->on_order_ud, so->input);
    }
    size_t n = 0;
    int rc = fc_judge(p, so->input, FC_LANG_EN, r->d, FC_JUDGE_MAX_DECISIONS, &n);
    if (rc != FC_OK) {
        return fc_err_set(r->err, rc, NULL, 0, 0, "judging order %.*s failed", (int)f->order.n,
                          f->order.p);
    }
    r->st.orders++;
    int decided[FC_INCIDENT__COUNT] = {0};
    for (size_t i = 0; i < n; i++) {
        rc = record(r, p, so->input, &r->d[i]);
        if (rc != FC_OK) {
            return rc;
        }
        if ((unsigned)r->d[i].incident < FC_INCIDENT__COUNT) {
            decided[r->d[i].incident] = 1;
        }
    }
    for (int k = 0; k < FC_INCIDENT__COUNT; k++) {
        int64_t i = decided[k] ? -1
                               : map_find(&r->map, f->order,
                                          fc_str_c(fc_incident_name((fc_incident_kind)k)));
        if (i >= 0 && !r->map.withdrawn[i]) {
            rc = withdraw(r, p, f->order, (fc_incident_kind)k, i);
            if (rc != FC_OK) {
                return rc;
            }
        }
    }
    if (r->o->on_order != NULL) {
        r->o->on_order(r->o->on_order_ud, f, r->d, n);
    }
    return batch_due(r) ? batch_close(r) : FC_OK;
}

static void targeted_free(targeted *t) {
    fc_arena_free(t->arena);
    fc_free(t->win);
    fc_dict_free(t->riders);
    fc_free(t->rr);
    fc_free(t->row_order);
    fc_free(t->row_picked);
    fc_free(t->row_delivered);
    memset(t, 0, sizeof *t);
}

static void run_free(run *r) {
    map_free(&r->map);
    fc_arena_free(r->arena);
    fc_dict_free(r->only);
    targeted_free(&r->tg);
    fc_free(r);
}

static int run_new(fc_store *s, const fc_adj_opts *o, fc_err *err, run **out) {
    *out = NULL;
    if (s == NULL || o == NULL || o->pack == NULL) {
        return fc_err_set(err, FC_EINVAL, NULL, 0, 0,
                          "a judge run needs a store and a policy pack");
    }
    run *r = fc_calloc(1, sizeof *r);
    if (r == NULL) {
        return fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
    }
    r->s = s;
    r->o = o;
    r->err = err;
    r->arena = fc_arena_new(0);
    if (r->arena == NULL || map_init(&r->map) != FC_OK) {
        fc_arena_free(r->arena);
        fc_free(r);
        return fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
    }
    *out = r;
    return FC_OK;
}

/* A carry the table keeps: one that can overlap another. */
static int is_carry(fc_str rider, int64_t picked_up_at, int64_t delivered_at) {
    return rider.n > 0 && picked_up_at != FC_TS_NONE && delivered_at != FC_TS_NONE &&
           delivered_at > picked_up_at;
}

/* Store an order's carry, or forget it when it has none, in the run's
 * batch. */
static int put_carry(run *r, fc_str order, fc_str rider, int64_t picked_up_at,
                     int64_t delivered_at) {
    int rc = batch_open(r);
    if (rc != FC_OK) {
        return rc;
    }
    rc = is_carry(rider, picked_up_at, delivered_at)
             ? fc_store_carry_put(r->s, order, rider, picked_up_at, delivered_at, NULL, r->err)
             : fc_store_carry_delete(r->s, order, NULL, r->err);
    if (rc == FC_OK && (++r->batch_entries, batch_due(r))) {
        rc = batch_close(r);
    }
    return rc;
}

static int carry_whole(void *ud, fc_str order, fc_str rider, int64_t picked_up_at,
                       int64_t delivered_at) {
    return put_carry(ud, order, rider, picked_up_at, delivered_at);
}

/* Commit the run's last batch (roll it back after an error rc) and give
 * its stats. Returns rc, or the commit's error. */
static int run_end(run *r, int rc, fc_adj_stats *stats) {
    if (rc == FC_OK) {
        rc = batch_close(r);
    }
    if (rc != FC_OK && r->in_batch) {
        fc_store_rollback(r->s);
        r->in_batch = 0;
        if (r->o->txn_unlock != NULL) {
            r->o->txn_unlock(r->o->txn_ud);
        }
    }
    if (stats != NULL) {
        *stats = r->st;
    }
    return rc;
}

static int run_scan(run *r, fc_adj_stats *stats) {
    fc_scan_opts so;
    fc_scan_opts_init(&so);
    so.carry = carry_whole;
    so.carry_ud = r;
    so.ref = r->o->ref;
    so.policies = r->o->pack;
    so.from = r->o->from;
    so.to = r->o->to;
    so.city = r->o->city;
    so.context = 1;
    so.closed_only = 1;
    so.progress = r->o->progress;
    so.progress_ud = r->o->progress_ud;
    int rc = fc_scan_orders(r->s, &so, visit, r, NULL, r->err);
    return run_end(r, rc, stats);
}

int fc_adj_run(fc_store *s, const fc_adj_opts *o, fc_adj_stats *stats, fc_err *err) {
    if (stats != NULL) {
        memset(stats, 0, sizeof *stats);
    }
    run *r = NULL;
    int rc = run_new(s, o, err, &r);
    if (rc != FC_OK) {
        return rc;
    }
    rc = map_load(s, &r->map, FC_STR_NULL, FC_STR_NULL, o->city, err);
    if (rc == FC_OK) {
        rc = run_scan(r, stats);
    }
    run_free(r);
    return rc;
}

/* ---------------------------------------------------------------------------
 * Judging the orders an ingest touched (run_orders).
 *
 * An order's stacked_orders counts the other orders of its rider whose
 * [picked_up_at, delivered_at) overlaps its own, over the whole store; the
 * carry table holds those intervals by rider, kept by every run. So:
 * 1. the touched orders are folded (read by id) for their carries;
 * 2. each replaces its stored carry, and both windows (the old one under
 *    the old rider, the new one under the new) are kept: the orders of the
 *    table overlapping either are the only others whose stacked_orders can
 *    have changed, and are judged with the touched ones;
 * 3. the carries of each judged order's rider over the span of those
 *    orders are read once, and each judged order's stacked_orders is
 *    counted from them as the whole scan counts it;
 * 4. the closed ones among them are judged and recorded by visit(), as a
 *    whole run does, after their decisions in force are read (indexed).
 * All of it is one transaction (or one per ENTRIES_PER_BATCH entries).
 */

/* More than WHOLE_RUN_MIN touched orders, whose distinct count times
 * WHOLE_RUN_RATIO passes the store's records, are judged by a whole run
 * instead (the same decisions). bench_judge_orders on the 2-day demo world
 * (100,069 orders, 180,774 records): a whole run costs about 8 us per
 * order; run_orders about 70 us per touched order whose carry is
 * unchanged, 240 us when every carry is new (each brings about 3.4 stacked
 * orders to judge with it). Break-even is then at one touched order in 9
 * to 32 orders, one in 16 to 57 records: 32 sits between. */
#define WHOLE_RUN_RATIO 32
#define WHOLE_RUN_MIN   1024

/* A touched order's carry as folded now. */
typedef struct touched_carry {
    fc_str order, rider; /* in the targeted arena */
    int64_t picked_up_at, delivered_at;
} touched_carry;

typedef struct touched_list {
    touched_carry *c;
    size_t n, cap;
    fc_arena *arena;
} touched_list;

static int note_touched(void *ud, fc_str order, fc_str rider, int64_t picked_up_at,
                        int64_t delivered_at) {
    touched_list *t = ud;
    void *arr = t->c;
    if (fc_grow(&arr, &t->cap, t->n + 1, sizeof *t->c) != FC_OK) {
        return FC_ENOMEM;
    }
    t->c = arr;
    touched_carry *c = &t->c[t->n];
    c->order = fc_arena_str(t->arena, order);
    c->rider = rider.n > 0 ? fc_arena_str(t->arena, rider) : FC_STR_NULL;
    if (c->order.p == NULL || (rider.n > 0 && c->rider.p == NULL)) {
        return FC_ENOMEM;
    }
    c->picked_up_at = picked_up_at;
    c->delivered_at = delivered_at;
    t->n++;
    return FC_OK;
}

static int add_window(run *r, fc_str rider, int64_t from, int64_t to) {
    targeted *t = &r->tg;
    void *arr = t->win;
    fc_str copy = fc_arena_str(t->arena, rider);
    if (copy.p == NULL || fc_grow(&arr, &t->cap_win, t->n_win + 1, sizeof *t->win) != FC_OK) {
        return fc_err_set(r->err, FC_ENOMEM, NULL, 0, 0, "out of memory");
    }
    t->win = arr;
    t->win[t->n_win++] = (carry_window){copy, from, to};
    return FC_OK;
}

/* Step 2 for one touched order. An unchanged carry changes no other
 * order's stacked orders: nothing to write, no window. */
static int replace_carry(run *r, const touched_carry *c) {
    char old_rider[1024];
    int64_t old_from = 0, old_to = 0;
    int found = 0;
    int rc = fc_store_carry_get(r->s, c->order, old_rider, sizeof old_rider, &old_from, &old_to,
                                &found, r->err);
    if (rc != FC_OK) {
        return rc;
    }
    int has = is_carry(c->rider, c->picked_up_at, c->delivered_at);
    if (found == has && (!has || (fc_str_eqc(c->rider, old_rider) && old_from == c->picked_up_at &&
                                  old_to == c->delivered_at))) {
        return FC_OK;
    }
    if (found) {
        rc = add_window(r, fc_str_c(old_rider), old_from, old_to);
    }
    if (rc == FC_OK && has) {
        rc = add_window(r, c->rider, c->picked_up_at, c->delivered_at);
    }
    if (rc == FC_OK) {
        rc = put_carry(r, c->order, c->rider, c->picked_up_at, c->delivered_at);
    }
    return rc;
}

/* The span of the judged orders of r->tg.riders' rider `rider` takes in
 * [from, to). */
static int widen(run *r, fc_str rider, int64_t from, int64_t to) {
    targeted *t = &r->tg;
    uint32_t before = fc_dict_count(t->riders);
    int64_t i = fc_dict_intern(t->riders, rider);
    void *arr = t->rr;
    if (i < 0 || fc_grow(&arr, &t->cap_rr, (size_t)i + 1, sizeof *t->rr) != FC_OK) {
        return FC_ENOMEM;
    }
    t->rr = arr;
    rider_rows *rr = &t->rr[i];
    if ((uint32_t)i >= before) {
        *rr = (rider_rows){.lo = from, .hi = to};
    } else {
        rr->lo = from < rr->lo ? from : rr->lo;
        rr->hi = to > rr->hi ? to : rr->hi;
    }
    return FC_OK;
}

typedef struct window_ctx {
    run *r;
    fc_str rider;
} window_ctx;

/* An order of the table overlapping a window: judged too. */
static int add_overlapping(void *ud, fc_str order, int64_t picked_up_at, int64_t delivered_at) {
    window_ctx *w = ud;
    if (fc_dict_intern(w->r->only, order) < 0 ||
        widen(w->r, w->rider, picked_up_at, delivered_at) != FC_OK) {
        return FC_ENOMEM;
    }
    return FC_OK;
}

/* A carry of a rider's span (step 3). */
static int add_row(void *ud, fc_str order, int64_t picked_up_at, int64_t delivered_at) {
    targeted *t = ud;
    size_t at = t->n_rows;
    void *a = t->row_order, *b = t->row_picked, *c = t->row_delivered;
    if (fc_grow(&a, &t->cap_rows[0], at + 1, sizeof *t->row_order) != FC_OK) {
        return FC_ENOMEM;
    }
    t->row_order = a;
    if (fc_grow(&b, &t->cap_rows[1], at + 1, sizeof *t->row_picked) != FC_OK) {
        return FC_ENOMEM;
    }
    t->row_picked = b;
    if (fc_grow(&c, &t->cap_rows[2], at + 1, sizeof *t->row_delivered) != FC_OK) {
        return FC_ENOMEM;
    }
    t->row_delivered = c;
    t->row_order[at] = fc_arena_str(t->arena, order);
    if (t->row_order[at].p == NULL) {
        return FC_ENOMEM;
    }
    t->row_picked[at] = picked_up_at;
    t->row_delivered[at] = delivered_at;
    t->n_rows++;
    return FC_OK;
}

/* Steps 2 and 3: the orders to judge, and their riders' carries. */
static int gather_carries(run *r, const touched_list *touched) {
    targeted *t = &r->tg;
    int rc = FC_OK;
    for (size_t i = 0; i < touched->n && rc == FC_OK; i++) {
        const touched_carry *c = &touched->c[i];
        rc = replace_carry(r, c);
        if (rc == FC_OK && is_carry(c->rider, c->picked_up_at, c->delivered_at) &&
            widen(r, c->rider, c->picked_up_at, c->delivered_at) != FC_OK) {
            rc = FC_ENOMEM;
        }
    }
    for (size_t i = 0; i < t->n_win && rc == FC_OK; i++) {
        window_ctx w = {r, t->win[i].rider};
        rc = fc_store_carries(r->s, w.rider, t->win[i].from, t->win[i].to, add_overlapping, &w,
                              r->err);
    }
    uint32_t n_riders = fc_dict_count(t->riders);
    for (uint32_t i = 0; i < n_riders && rc == FC_OK; i++) {
        rider_rows *rr = &t->rr[i];
        rr->first = t->n_rows;
        rc = fc_store_carries(r->s, fc_dict_get(t->riders, i), rr->lo, rr->hi, add_row, t, r->err);
        rr->n = t->n_rows - rr->first;
        rr->fetched = 1;
    }
    if (rc == FC_ENOMEM) {
        rc = fc_err_set(r->err, FC_ENOMEM, NULL, 0, 0, "out of memory");
    }
    return rc;
}

typedef struct overlap_count {
    fc_str self;
    int64_t n;
} overlap_count;

static int count_other(void *ud, fc_str order, int64_t picked_up_at, int64_t delivered_at) {
    (void)picked_up_at;
    (void)delivered_at;
    overlap_count *c = ud;
    c->n += !fc_str_eq(order, c->self);
    return FC_OK;
}

/* stacked_orders of an order about to be judged, from the carries read
 * (the table's, which hold every order's): as compute_stacked (scan.c)
 * counts it. */
static int stacked_from_table(void *ud, const fc_order_facts *f, int32_t *out) {
    run *r = ud;
    targeted *t = &r->tg;
    int64_t from = f->picked_up_at, to = f->delivered_at;
    if (from == FC_TS_NONE || to == FC_TS_NONE) {
        return FC_OK; /* never picked up or delivered: FC_INT_NONE */
    }
    if (!is_carry(f->rider, from, to)) {
        *out = 0; /* no rider, or an empty interval: overlaps nothing */
        return FC_OK;
    }
    int64_t i = fc_dict_find(t->riders, f->rider);
    overlap_count c = {f->order, 0};
    if (i >= 0 && t->rr[i].fetched && t->rr[i].lo <= from && to <= t->rr[i].hi) {
        const rider_rows *rr = &t->rr[i];
        for (size_t k = rr->first; k < rr->first + rr->n; k++) {
            if (t->row_delivered[k] > from && t->row_picked[k] < to &&
                !fc_str_eq(t->row_order[k], f->order)) {
                c.n++;
            }
        }
    } else {
        /* The table held another carry for this order than its fold gives
         * (ingested without judging since): its own rider's, read now. */
        int rc = fc_store_carries(r->s, f->rider, from, to, count_other, &c, r->err);
        if (rc != FC_OK) {
            return rc;
        }
    }
    *out = c.n > INT32_MAX ? INT32_MAX : (int32_t)c.n;
    return FC_OK;
}

/* Step 4 for one order: its decisions in force, then the judge. */
static int judge_one(void *ud, const fc_scan_order *so) {
    run *r = ud;
    int rc = map_load_order(r->s, &r->map, so->facts->order, r->o->city, r->err);
    return rc != FC_OK ? rc : visit(ud, so);
}

static int no_record(void *ud, fc_str record_id, fc_str order, const fc_event *events, size_t n) {
    (void)ud;
    (void)record_id;
    (void)order;
    (void)events;
    (void)n;
    return 0;
}

static int run_targeted(run *r, const fc_str *ids, size_t n_ids) {
    const fc_adj_opts *o = r->o;
    targeted *t = &r->tg;
    touched_list touched = {0};
    fc_str *judge = NULL;
    fc_scan_reader *rd = NULL;
    int rc = FC_OK;
    t->arena = fc_arena_new(0);
    t->riders = fc_dict_new();
    touched.arena = t->arena;
    if (t->arena == NULL || t->riders == NULL) {
        rc = fc_err_set(r->err, FC_ENOMEM, NULL, 0, 0, "out of memory");
        goto out;
    }
    /* One order read before the batch opens brings the store's view of
     * the log up to date (inside a batch it trusts the one it has). */
    rc = fc_store_scan_order(r->s, ids[0], no_record, NULL, r->err);
    if (rc == FC_OK) {
        rc = batch_open(r);
    }
    /* One reader for both visits: the reference entities, the windows and
     * each touched order are read once. */
    fc_scan_opts so;
    fc_scan_opts_init(&so);
    so.policies = o->pack;
    so.ref = o->ref;
    if (rc == FC_OK) {
        rc = fc_scan_reader_open(r->s, &so, &rd, r->err);
    }
    /* 1. */
    so.carry = note_touched;
    so.carry_ud = &touched;
    if (rc == FC_OK) {
        rc = fc_scan_reader_visit(rd, &so, ids, n_ids, NULL, NULL, NULL, r->err);
    }
    if (rc == FC_ENOMEM) {
        rc = fc_err_set(r->err, FC_ENOMEM, NULL, 0, 0, "out of memory");
    }
    if (rc == FC_OK) {
        rc = gather_carries(r, &touched);
    }
    if (rc != FC_OK) {
        goto out;
    }
    uint32_t n_judge = fc_dict_count(r->only);
    judge = fc_malloc(((size_t)n_judge + 1) * sizeof *judge);
    if (judge == NULL) {
        rc = fc_err_set(r->err, FC_ENOMEM, NULL, 0, 0, "out of memory");
        goto out;
    }
    for (uint32_t i = 0; i < n_judge; i++) {
        judge[i] = fc_dict_get(r->only, i);
    }
    fc_scan_opts_init(&so);
    so.from = o->from;
    so.to = o->to;
    so.city = o->city;
    so.closed_only = 1;
    so.stacked = stacked_from_table;
    so.stacked_ud = r;
    rc = fc_scan_reader_visit(rd, &so, judge, n_judge, judge_one, r, NULL, r->err);
out:
    fc_scan_reader_close(rd);
    fc_free(judge);
    fc_free(touched.c);
    return rc;
}

int fc_adj_run_orders(fc_store *s, const fc_adj_opts *o, const fc_str *orders, size_t n,
                      fc_adj_stats *stats, fc_err *err) {
    if (stats != NULL) {
        memset(stats, 0, sizeof *stats);
    }
    if (n == 0) {
        return FC_OK;
    }
    run *r = NULL;
    int rc = run_new(s, o, err, &r);
    if (rc != FC_OK) {
        return rc;
    }
    r->only = fc_dict_new();
    if (r->only == NULL) {
        rc = fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (fc_dict_intern(r->only, orders[i]) < 0) {
            rc = fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
            goto out;
        }
    }
    uint32_t distinct = fc_dict_count(r->only);
    int64_t records = 0;
    if (distinct > WHOLE_RUN_MIN &&
        !o->targeted_only) { /* seqs have no gaps: the last is the count */
        rc = fc_store_max_seq(s, &records, err);
        if (rc != FC_OK) {
            goto out;
        }
    }
    if (distinct > WHOLE_RUN_MIN && !o->targeted_only &&
        (int64_t)distinct * WHOLE_RUN_RATIO > records) {
        /* Cheaper judged whole (the same decisions). */
        rc = map_load(s, &r->map, FC_STR_NULL, FC_STR_NULL, o->city, err);
        if (rc == FC_OK) {
            rc = run_scan(r, stats);
        }
        goto out;
    }
    fc_str *ids = fc_malloc(((size_t)distinct + 1) * sizeof *ids);
    if (ids == NULL) {
        rc = fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
        goto out;
    }
    for (uint32_t i = 0; i < distinct; i++) {
        ids[i] = fc_dict_get(r->only, i);
    }
    rc = run_targeted(r, ids, distinct);
    fc_free(ids);
    rc = run_end(r, rc, stats);
out:
    run_free(r);
    return rc;
}
/* ---------------------------------------------------------------------------
 * Reading recorded decisions.
 */
typedef struct reader {
    const fc_adj_opts *o;
    int64_t *current; /* seqs of the decisions in force, newest first */
    size_t n_current, cap_current;
    fc_arena *arena;
    fc_case_decision cd;
    fc_adj_decision_cb cb;
    void *ud;
    fc_err *err;
} reader;

static int note_current(void *ud, const fc_case_entry *e, int superseded) {
    reader *rd = ud;
    (void)superseded; /* the query asked for current ones only */
    if (fc_grow((void **)&rd->current, &rd->cap_current, rd->n_current + 1, sizeof *rd->current) !=
        FC_OK) {
        return fc_err_set(rd->err, FC_ENOMEM, NULL, 0, 0, "out of memory");
    }
    rd->current[rd->n_current++] = e->seq;
    return FC_OK;
}

/* Whether seq is one of rd->current (descending). */
static int is_current(const reader *rd, int64_t seq) {
    size_t lo = 0, hi = rd->n_current;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (rd->current[mid] == seq) {
            return 1;
        }
        if (rd->current[mid] > seq) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return 0;
}

static int emit_current(void *ud, const fc_case_entry *e) {
    reader *rd = ud;
    if (!is_current(rd, e->seq)) {
        return FC_OK;
    }
    fc_arena_reset(rd->arena);
    int rc = fc_case_decision_parse(e->body, rd->arena, &rd->cd, rd->err);
    if (rc != FC_OK) {
        char id[FC_CASE_ID_MAX];
        fc_str_cpy(id, sizeof id, e->id);
        size_t len = strlen(rd->err->msg);
        snprintf(rd->err->msg + len, sizeof rd->err->msg - len, " (entry %s)", id);
        return rc;
    }
    const fc_adj_opts *o = rd->o;
    if (o != NULL && o->from != FC_TS_NONE && rd->cd.created_at < o->from) {
        return FC_OK;
    }
    if (o != NULL && o->to != FC_TS_NONE && rd->cd.created_at >= o->to) {
        return FC_OK;
    }
    return rd->cb(rd->ud, &rd->cd);
}

/* The store says which decisions are in force (neither superseded nor
 * withdrawn), newest first; the callback wants them oldest first, so their
 * seqs are noted, then the decisions from the oldest of them on are read in
 * seq order and those handed over. */
int fc_adj_decisions(fc_store *s, const fc_adj_opts *o, fc_adj_decision_cb cb, void *ud,
                     fc_err *err) {
    reader *rd = fc_calloc(1, sizeof *rd);
    int rc = FC_OK;
    if (rd == NULL) {
        return fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
    }
    rd->o = o;
    rd->cb = cb;
    rd->ud = ud;
    rd->err = err;
    rd->arena = fc_arena_new(0);
    if (rd->arena == NULL) {
        rc = fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
        goto out;
    }
    fc_case_decision_query dq;
    fc_case_decision_query_init(&dq);
    dq.city = fc_str_c(o != NULL ? o->city : NULL);
    dq.from = o != NULL ? o->from : FC_TS_NONE;
    dq.to = o != NULL ? o->to : FC_TS_NONE;
    dq.current_only = 1;
    rc = fc_store_case_decisions(s, &dq, note_current, rd, err);
    if (rc == FC_OK && rd->n_current > 0) {
        fc_case_filter f;
        fc_case_filter_init(&f);
        f.type = FC_CASE_DECISION;
        f.city = dq.city;
        f.after_seq = rd->current[rd->n_current - 1] - 1;
        rc = fc_store_case_scan(s, &f, emit_current, rd, err);
    }
out:
    fc_free(rd->current);
    fc_arena_free(rd->arena);
    fc_free(rd);
    return rc;
}

typedef struct getter {
    fc_arena *arena;
    fc_case_decision *out;
    fc_err *err;
    int found;
} getter;

static int get_one(void *ud, const fc_case_entry *e) {
    getter *g = ud;
    g->found = 1;
    return fc_case_decision_parse(e->body, g->arena, g->out, g->err);
}

int fc_adj_decision_get(fc_store *s, const char *id, fc_arena *arena, fc_case_decision *out,
                        fc_err *err) {
    fc_case_filter f;
    fc_case_filter_init(&f);
    f.type = FC_CASE_DECISION;
    f.id = fc_str_c(id);
    if (f.id.n == 0) {
        return fc_err_set(err, FC_ENOTFOUND, NULL, 0, 0, "no decision id given");
    }
    getter g = {arena, out, err, 0};
    int rc = fc_store_case_scan(s, &f, get_one, &g, err);
    if (rc == FC_OK && !g.found) {
        rc = fc_err_set(err, FC_ENOTFOUND, NULL, 0, 0, "no decision %s", id);
    }
    return rc;
}
