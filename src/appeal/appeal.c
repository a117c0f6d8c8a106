/*
 * appeal: names, an item's state folded from its case entries, the queue
 * listing, the reviewer's screen and the SLA report (appeal.h). Filing,
 * auto-review and verdicts are in review.c.
 *
 * An item's entries carry its id in their `appeal` field: the filing
 * (FC_CASE_APPEAL_FILED, whose id is the item's), at most one auto-review,
 * the views, at most one verdict. Ledger entries name the decision and, in
 * their body, the item that caused them; they are not entries of the item,
 * so the item's last seq moves only when someone acts on the item itself.
 * docs/internals/case-log.md, "Appeal entries", documents the bodies.
 */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "appeal/appeal_internal.h"

static const char *const state_names[FC_APPEAL__COUNT] = {"pending", "overturned", "upheld",
                                                          "partial", "moot"};
static const char *const item_names[FC_APPEAL_ITEM__COUNT] = {"text", "gps", "photo", "call"};
static const char *const verdict_names[] = {"uphold", "overturn", "partial"};

const char *fc_appeal_state_name(fc_appeal_state s) {
    return (unsigned)s < FC_APPEAL__COUNT ? state_names[s] : "";
}

int fc_appeal_state_from(const char *s) {
    for (int i = 0; s != NULL && i < FC_APPEAL__COUNT; i++) {
        if (strcmp(s, state_names[i]) == 0) {
            return i;
        }
    }
    return -1;
}

const char *fc_appeal_item_kind_name(fc_appeal_item_kind k) {
    return (unsigned)k < FC_APPEAL_ITEM__COUNT ? item_names[k] : "";
}

int fc_appeal_item_kind_from(const char *s) {
    for (int i = 0; s != NULL && i < FC_APPEAL_ITEM__COUNT; i++) {
        if (strcmp(s, item_names[i]) == 0) {
            return i;
        }
    }
    return -1;
}

const char *fc_verdict_name(fc_verdict v) {
    return (unsigned)v < 3 ? verdict_names[v] : "";
}

int fc_verdict_from(const char *s) {
    for (int i = 0; s != NULL && i < 3; i++) {
        if (strcmp(s, verdict_names[i]) == 0) {
            return i;
        }
    }
    return -1;
}

void fc_appeal_query_init(fc_appeal_query *q) {
    memset(q, 0, sizeof *q);
    q->state = -1;
    q->kind = -1;
}

void fc__appeal_copy(char *dst, size_t cap, fc_str s) {
    fc_str_cpy(dst, cap, s);
}

/* ---------------------------------------------------------------------------
 * The recorded decision.
 */
typedef struct decision_find {
    fc_arena *arena;
    fc_case_decision *out;
    int64_t ts;
    int found;
    int rc;
    fc_err *err;
} decision_find;

static int decision_cb(void *ud, const fc_case_entry *e) {
    decision_find *f = ud;
    f->rc = fc_case_decision_parse(e->body, f->arena, f->out, f->err);
    f->ts = e->ts;
    f->found = 1;
    return f->rc != FC_OK ? f->rc : 1;
}

int fc__appeal_decision(fc_store *s, const char *id, fc_arena *arena, fc_case_decision *out,
                        int64_t *recorded_at, fc_err *err) {
    fc_case_filter f;
    fc_case_filter_init(&f);
    f.type = FC_CASE_DECISION;
    f.id = fc_str_c(id);
    decision_find df = {arena, out, 0, 0, FC_OK, err};
    if (id == NULL || id[0] == '\0') {
        return fc_err_set(err, FC_EINVAL, NULL, 0, 0, "name a decision");
    }
    int rc = fc_store_case_scan(s, &f, decision_cb, &df, err);
    if (rc != FC_OK && rc != 1) {
        return rc;
    }
    if (!df.found) {
        return fc_err_set(err, FC_ENOTFOUND, NULL, 0, 0, "no decision %s", id);
    }
    if (df.rc != FC_OK) {
        return df.rc;
    }
    if (recorded_at != NULL) {
        *recorded_at = df.ts;
    }
    return FC_OK;
}

/* ---------------------------------------------------------------------------
 * Decisions no longer in force.
 */
typedef struct replaced {
    const char *id;
    char *out;
} replaced;

/* Read without decoding the body: listings ask this of every item. */
static int superseded_cb(void *ud, const fc_case_entry *e) {
    replaced *r = ud;
    if (fc_str_eqc(fc_case_body_text(e->body, "supersedes"), r->id)) {
        fc_str_cpy(r->out, FC_CASE_ID_MAX, e->id);
    }
    return FC_OK;
}

static int withdrawn_cb(void *ud, const fc_case_entry *e) {
    replaced *r = ud;
    fc_str_cpy(r->out, FC_CASE_ID_MAX, e->id);
    return 1;
}

/* The decision of `order` that superseded `id`, into out ("" none). */
static int superseded_by(fc_store *s, const char *id, const char *order, char out[FC_CASE_ID_MAX],
                         fc_err *err) {
    out[0] = '\0';
    replaced r = {id, out};
    fc_case_filter f;
    fc_case_filter_init(&f);
    f.type = FC_CASE_DECISION;
    f.order = fc_str_c(order);
    return f.order.n > 0 ? fc_store_case_scan(s, &f, superseded_cb, &r, err) : FC_OK;
}

int fc__appeal_replaced_by(fc_store *s, const char *id, const char *order, char out[FC_CASE_ID_MAX],
                           fc_err *err) {
    replaced r = {id, out};
    fc_case_filter f;
    int rc = superseded_by(s, id, order, out, err);
    if (rc == FC_OK && out[0] == '\0') {
        fc_case_filter_init(&f);
        f.type = FC_CASE_DECISION_WITHDRAWN;
        f.decision = fc_str_c(id);
        rc = fc_store_case_scan(s, &f, withdrawn_cb, &r, err);
        rc = rc == 1 ? FC_OK : rc;
    }
    return rc;
}

/* A pending item whose decision is no longer in force is moot: the item
 * of fc_appeal_get asks the store about its own decision. */
static int check_moot(fc_store *s, fc_appeal *a, fc_err *err) {
    if (a->state != FC_APPEAL_PENDING || a->decision[0] == '\0') {
        return FC_OK;
    }
    int rc = fc__appeal_replaced_by(s, a->decision, a->order, a->replaced_by, err);
    if (rc == FC_OK && a->replaced_by[0] != '\0') {
        a->state = FC_APPEAL_MOOT;
    }
    return rc;
}

/* What replaced the decisions of a listing's pending items, for all of them
 * at once. An item's decision was in force when the item was filed
 * (fc_appeal_file and fc_appeal_queue_reviews check), so what superseded or
 * withdrew it came later: one scan of the decisions and one of the
 * withdrawals recorded since the oldest pending filing answer every item. */
typedef struct replacements {
    fc_dict *decisions;          /* a pending item's decision -> index below */
    const fc_appeal **item;      /* an item of that decision (its order) */
    char (*by)[FC_CASE_ID_MAX];  /* the decision that superseded it, "" none */
    char (*wdr)[FC_CASE_ID_MAX]; /* the first withdrawal of it, "" none */
    size_t n, cap_item, cap_by, cap_wdr;
    fc_err *err;
} replacements;

static int superseders_cb(void *ud, const fc_case_entry *e) {
    replacements *r = ud;
    int64_t at = fc_dict_find(r->decisions, fc_case_body_text(e->body, "supersedes"));
    if (at >= 0 && fc_str_eqc(e->order, r->item[at]->order)) {
        fc_str_cpy(r->by[at], FC_CASE_ID_MAX, e->id); /* the latest names it, as one by one */
    }
    return FC_OK;
}

static int withdrawals_cb(void *ud, const fc_case_entry *e) {
    replacements *r = ud;
    int64_t at = fc_dict_find(r->decisions, e->decision);
    if (at >= 0 && r->wdr[at][0] == '\0') {
        fc_str_cpy(r->wdr[at], FC_CASE_ID_MAX, e->id);
    }
    return FC_OK;
}

/* Mark moot every pending item of items[0..n) whose decision is no longer
 * in force (replaced_by set); filed_seq[i] is the seq of item i's filing. */
static int check_moot_all(fc_store *s, fc_appeal *items, const int64_t *filed_seq, size_t n,
                          fc_err *err) {
    replacements r;
    memset(&r, 0, sizeof r);
    r.err = err;
    int64_t since = INT64_MAX;
    int rc = FC_OK;
    r.decisions = fc_dict_new();
    if (r.decisions == NULL) {
        return fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory listing appeals");
    }
    for (size_t i = 0; i < n; i++) {
        const fc_appeal *a = &items[i];
        if (a->state != FC_APPEAL_PENDING || a->decision[0] == '\0') {
            continue;
        }
        since = filed_seq[i] < since ? filed_seq[i] : since;
        int64_t at = fc_dict_intern(r.decisions, fc_str_c(a->decision));
        if (at >= 0 && (size_t)at < r.n) {
            continue;
        }
        if (at < 0 || fc_grow((void **)&r.item, &r.cap_item, r.n + 1, sizeof *r.item) != FC_OK ||
            fc_grow((void **)&r.by, &r.cap_by, r.n + 1, sizeof *r.by) != FC_OK ||
            fc_grow((void **)&r.wdr, &r.cap_wdr, r.n + 1, sizeof *r.wdr) != FC_OK) {
            rc = fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory listing appeals");
            goto out;
        }
        r.item[r.n] = a;
        r.by[r.n][0] = r.wdr[r.n][0] = '\0';
        r.n++;
    }
    if (r.n == 0) {
        goto out;
    }
    fc_case_filter f;
    fc_case_filter_init(&f);
    f.type = FC_CASE_DECISION;
    f.after_seq = since > 0 ? since - 1 : 0;
    rc = fc_store_case_scan(s, &f, superseders_cb, &r, err);
    if (rc == FC_OK) {
        f.type = FC_CASE_DECISION_WITHDRAWN;
        rc = fc_store_case_scan(s, &f, withdrawals_cb, &r, err);
    }
    for (size_t i = 0; rc == FC_OK && i < n; i++) {
        fc_appeal *a = &items[i];
        if (a->state != FC_APPEAL_PENDING || a->decision[0] == '\0') {
            continue;
        }
        int64_t at = fc_dict_find(r.decisions, fc_str_c(a->decision));
        const char *by = r.by[at][0] != '\0' ? r.by[at] : r.wdr[at];
        if (by[0] != '\0') {
            fc_str_cpy(a->replaced_by, sizeof a->replaced_by, fc_str_c(by));
            a->state = FC_APPEAL_MOOT;
        }
    }
out:
    fc_dict_free(r.decisions);
    fc_free(r.item);
    fc_free(r.by);
    fc_free(r.wdr);
    return rc;
}

/* ---------------------------------------------------------------------------
 * State from entries.
 */
void fc__appeal_init(fc_appeal *a) {
    memset(a, 0, sizeof *a);
    a->state = FC_APPEAL_PENDING;
    a->appellant = FC_PARTY_NONE;
    a->liable = FC_PARTY_NONE;
    a->filed_at = FC_TS_NONE;
    a->due_at = FC_TS_NONE;
    a->decided_at = FC_TS_NONE;
}

static json_t *load_body(fc_str body, const char *what, const fc_case_entry *e, fc_err *err) {
    json_error_t je;
    json_t *o = json_loadb(body.p != NULL ? body.p : "", body.n, 0, &je);
    if (o == NULL || !json_is_object(o)) {
        json_decref(o);
        fc_err_set(err, FC_EPARSE, NULL, 0, 0, "%s %.*s: body is not a JSON object", what,
                   (int)e->id.n, e->id.p);
        return NULL;
    }
    return o;
}

static const char *jstr(const json_t *o, const char *key) {
    const char *s = json_string_value(json_object_get(o, key));
    return s != NULL ? s : "";
}

static int64_t jint(const json_t *o, const char *key, int64_t absent) {
    const json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : absent;
}

static void copy_c(char *dst, size_t cap, const char *s) {
    fc_str_cpy(dst, cap, fc_str_c(s));
}

int fc__appeal_apply(fc_appeal *a, const fc_case_entry *e, fc_err *err) {
    if (e->seq > a->last_seq) {
        a->last_seq = e->seq;
    }
    json_t *o = NULL;
    int rc = FC_OK;
    switch (e->type) {
    case FC_CASE_APPEAL_FILED:
        o = load_body(e->body, "filing", e, err);
        if (o == NULL) {
            return FC_EPARSE;
        }
        fc__appeal_copy(a->id, sizeof a->id, e->id);
        a->kind =
            strcmp(jstr(o, "kind"), "review") == 0 ? FC_APPEAL_KIND_REVIEW : FC_APPEAL_KIND_APPEAL;
        copy_c(a->decision, sizeof a->decision, jstr(o, "decision"));
        fc__appeal_copy(a->order, sizeof a->order, e->order);
        fc__appeal_copy(a->city, sizeof a->city, e->city);
        fc__appeal_copy(a->rider, sizeof a->rider, e->rider);
        fc__appeal_copy(a->merchant, sizeof a->merchant, e->merchant);
        {
            const char *inc = jstr(o, "incident");
            int k = fc_incident_from(inc, strlen(inc));
            a->incident = k >= 0 ? (fc_incident_kind)k : FC_INCIDENT_LATE;
        }
        a->liable = fc_party_from(fc_str_c(jstr(o, "liable")));
        copy_c(a->rule_id, sizeof a->rule_id, jstr(o, "rule"));
        a->appellant = fc_party_from(fc_str_c(jstr(o, "appellant")));
        copy_c(a->appellant_id, sizeof a->appellant_id, jstr(o, "appellant_id"));
        a->filed_at = e->ts;
        a->due_at = jint(o, "due_at", FC_TS_NONE);
        a->sanction = json_is_true(json_object_get(o, "sanction"));
        a->n_items = json_array_size(json_object_get(o, "items"));
        break;
    case FC_CASE_APPEAL_REVIEWED:
        o = load_body(e->body, "auto-review", e, err);
        if (o == NULL) {
            return FC_EPARSE;
        }
        a->auto_reviewed = 1;
        if (strcmp(jstr(o, "outcome"), "overturned") == 0) {
            a->auto_overturned = 1;
            a->state = FC_APPEAL_OVERTURNED;
            a->decided_at = e->ts;
            copy_c(a->decided_by, sizeof a->decided_by, "auto-review");
            copy_c(a->reason, sizeof a->reason, jstr(o, "reason"));
        }
        break;
    case FC_CASE_APPEAL_DECIDED: {
        o = load_body(e->body, "verdict", e, err);
        if (o == NULL) {
            return FC_EPARSE;
        }
        int v = fc_verdict_from(jstr(o, "verdict"));
        a->state = v == FC_VERDICT_OVERTURN  ? FC_APPEAL_OVERTURNED
                   : v == FC_VERDICT_PARTIAL ? FC_APPEAL_PARTIAL
                                             : FC_APPEAL_UPHELD;
        a->keep_percent = (int)jint(o, "keep_percent", 0);
        a->decided_at = e->ts;
        fc__appeal_copy(a->decided_by, sizeof a->decided_by, e->actor);
        copy_c(a->reason, sizeof a->reason, jstr(o, "reason"));
        break;
    }
    default:
        break; /* views and anything else: history only */
    }
    json_decref(o);
    return rc;
}

void fc__appeal_finish(fc_appeal *a, int64_t now) {
    a->breached = 0;
    if (a->due_at == FC_TS_NONE) {
        return;
    }
    if (a->state == FC_APPEAL_MOOT) {
        return; /* left the queue undecided: no deadline to keep */
    }
    if (a->state == FC_APPEAL_PENDING) {
        a->breached = now != FC_TS_NONE && now > a->due_at;
    } else {
        a->breached = a->decided_at != FC_TS_NONE && a->decided_at > a->due_at;
    }
}

typedef struct fold_one {
    fc_appeal *a;
    int found;
    fc_err *err;
} fold_one;

static int fold_one_cb(void *ud, const fc_case_entry *e) {
    fold_one *f = ud;
    if (e->type == FC_CASE_APPEAL_FILED) {
        f->found = 1;
    }
    return fc__appeal_apply(f->a, e, f->err);
}

int fc_appeal_get(fc_store *s, const char *id, int64_t now, fc_appeal *out, fc_err *err) {
    fc__appeal_init(out);
    if (id == NULL || id[0] == '\0') {
        return fc_err_set(err, FC_EINVAL, NULL, 0, 0, "name an appeal");
    }
    fc_case_filter f;
    fc_case_filter_init(&f);
    f.appeal = fc_str_c(id);
    fold_one fo = {out, 0, err};
    int rc = fc_store_case_scan(s, &f, fold_one_cb, &fo, err);
    if (rc != FC_OK) {
        return rc;
    }
    if (!fo.found) {
        fc__appeal_init(out);
        return fc_err_set(err, FC_ENOTFOUND, NULL, 0, 0, "no appeal or review item %s", id);
    }
    rc = check_moot(s, out, err);
    if (rc != FC_OK) {
        return rc;
    }
    fc__appeal_finish(out, now);
    return FC_OK;
}

/* ---------------------------------------------------------------------------
 * Listing: the filings matching the query's who and where, then the
 * auto-reviews, views and verdicts of those items, each type through its
 * index; the item's entries of one type come in seq order, and the types
 * in the order an item's life has them.
 */
typedef struct lister {
    fc_dict *ids; /* item id -> index in items */
    fc_appeal *items;
    int64_t *filed_seq; /* the seq of each item's filing */
    size_t n, cap, cap_seq;
    int64_t from, to; /* filed in [from, to), for the SLA report */
    fc_err *err;
} lister;

static int list_filed_cb(void *ud, const fc_case_entry *e) {
    lister *l = ud;
    int64_t at = fc_dict_intern(l->ids, e->id);
    if (at < 0) {
        return fc_err_set(l->err, FC_ENOMEM, NULL, 0, 0, "out of memory listing appeals");
    }
    if ((size_t)at < l->n) {
        return FC_OK; /* cannot happen: filing ids are unique */
    }
    if (fc_grow((void **)&l->items, &l->cap, l->n + 1, sizeof *l->items) != FC_OK ||
        fc_grow((void **)&l->filed_seq, &l->cap_seq, l->n + 1, sizeof *l->filed_seq) != FC_OK) {
        return fc_err_set(l->err, FC_ENOMEM, NULL, 0, 0, "out of memory listing appeals");
    }
    l->filed_seq[l->n] = e->seq;
    fc_appeal *a = &l->items[l->n++];
    fc__appeal_init(a);
    return fc__appeal_apply(a, e, l->err);
}

static int list_more_cb(void *ud, const fc_case_entry *e) {
    lister *l = ud;
    int64_t at = fc_dict_find(l->ids, e->appeal);
    if (at < 0 || (size_t)at >= l->n) {
        return FC_OK; /* an item the query left out */
    }
    return fc__appeal_apply(&l->items[at], e, l->err);
}

int fc_appeal_queue_cmp(const fc_appeal *a, const fc_appeal *b) {
    int ap = a->state == FC_APPEAL_PENDING, bp = b->state == FC_APPEAL_PENDING;
    if (ap != bp) {
        return bp - ap;
    }
    if (ap) {
        if (a->due_at != b->due_at) {
            return a->due_at < b->due_at ? -1 : 1;
        }
        if (a->filed_at != b->filed_at) {
            return a->filed_at < b->filed_at ? -1 : 1;
        }
    } else if (a->decided_at != b->decided_at) {
        return a->decided_at > b->decided_at ? -1 : 1;
    }
    return strcmp(a->id, b->id);
}

static int cmp_queue(const void *pa, const void *pb) {
    return fc_appeal_queue_cmp(pa, pb);
}

static int matches(const fc_appeal *a, const fc_appeal_query *q) {
    if (q->state >= 0 && (int)a->state != q->state) {
        return 0;
    }
    if (q->decided_only && a->state == FC_APPEAL_PENDING) {
        return 0;
    }
    if (q->kind >= 0 && (int)a->kind != q->kind) {
        return 0;
    }
    return !q->breached_only || a->breached;
}

/* Every item whose filing matches q's city, rider and merchant, and was
 * filed in [from, to), folded at `now`, unsorted and unfiltered by state. */
static int collect(fc_store *s, const fc_appeal_query *q, int64_t from, int64_t to, int64_t now,
                   lister *l, fc_err *err) {
    memset(l, 0, sizeof *l);
    l->err = err;
    l->ids = fc_dict_new();
    if (l->ids == NULL) {
        return fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory listing appeals");
    }
    fc_case_filter f;
    fc_case_filter_init(&f);
    f.type = FC_CASE_APPEAL_FILED;
    f.city = fc_str_c(q != NULL ? q->city : NULL);
    f.rider = fc_str_c(q != NULL ? q->rider : NULL);
    f.merchant = fc_str_c(q != NULL ? q->merchant : NULL);
    f.from = from;
    f.to = to;
    int rc = fc_store_case_scan(s, &f, list_filed_cb, l, err);
    static const fc_case_type later[] = {FC_CASE_APPEAL_REVIEWED, FC_CASE_APPEAL_VIEWED,
                                         FC_CASE_APPEAL_DECIDED};
    for (size_t i = 0; rc == FC_OK && l->n > 0 && i < sizeof later / sizeof later[0]; i++) {
        fc_case_filter_init(&f);
        f.type = later[i];
        rc = fc_store_case_scan(s, &f, list_more_cb, l, err);
    }
    if (rc == FC_OK) {
        rc = check_moot_all(s, l->items, l->filed_seq, l->n, err);
    }
    for (size_t i = 0; rc == FC_OK && i < l->n; i++) {
        fc__appeal_finish(&l->items[i], now);
    }
    return rc;
}

static void lister_free(lister *l) {
    fc_dict_free(l->ids);
    fc_free(l->items);
    fc_free(l->filed_seq);
    l->ids = NULL;
    l->items = NULL;
    l->filed_seq = NULL;
}

int fc_appeal_list(fc_store *s, const fc_appeal_query *q, int64_t now, fc_appeal **out, size_t *n,
                   fc_err *err) {
    *out = NULL;
    *n = 0;
    fc_appeal_query all;
    if (q == NULL) {
        fc_appeal_query_init(&all);
        q = &all;
    }
    lister l;
    int rc = collect(s, q, FC_TS_NONE, FC_TS_NONE, now, &l, err);
    if (rc != FC_OK) {
        lister_free(&l);
        return rc;
    }
    size_t kept = 0;
    for (size_t i = 0; i < l.n; i++) {
        if (matches(&l.items[i], q)) {
            l.items[kept++] = l.items[i];
        }
    }
    if (kept > 0) {
        qsort(l.items, kept, sizeof *l.items, cmp_queue);
    }
    if (q->limit > 0 && kept > q->limit) {
        kept = q->limit;
    }
    *out = l.items;
    *n = kept;
    l.items = NULL;
    lister_free(&l);
    return FC_OK;
}

/* ---------------------------------------------------------------------------
 * The reviewer's screen.
 */
int fc__appeal_filing_parse(fc_str body, fc_arena *arena, const char **statement,
                            fc_appeal_item **items, size_t *n_items, fc_err *err) {
    json_error_t je;
    *statement = "";
    *items = NULL;
    *n_items = 0;
    json_t *o = json_loadb(body.p != NULL ? body.p : "", body.n, 0, &je);
    int rc = FC_OK;
    if (o == NULL || !json_is_object(o)) {
        rc = fc_err_set(err, FC_EPARSE, NULL, 0, 0, "a filing's body is not a JSON object");
        goto out;
    }
    const char *st = jstr(o, "statement");
    *statement = fc_arena_strndup(arena, st, strlen(st));
    const json_t *arr = json_object_get(o, "items");
    size_t n = json_array_size(arr);
    if (n > 0) {
        fc_appeal_item *it = fc_arena_alloc(arena, n * sizeof *it);
        if (it == NULL || *statement == NULL) {
            rc = fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory reading a filing");
            goto out;
        }
        for (size_t i = 0; i < n; i++) {
            const json_t *x = json_array_get(arr, i);
            const char *kind = jstr(x, "kind");
            int k = fc_appeal_item_kind_from(kind);
            it[i].kind = k >= 0 ? (fc_appeal_item_kind)k : FC_APPEAL_ITEM_TEXT;
            const char *text = jstr(x, "text");
            const char *outcome = jstr(x, "outcome");
            it[i].text = text[0] != '\0' ? fc_arena_strndup(arena, text, strlen(text)) : NULL;
            it[i].outcome =
                outcome[0] != '\0' ? fc_arena_strndup(arena, outcome, strlen(outcome)) : NULL;
            it[i].ts = jint(x, "ts", FC_TS_NONE);
            it[i].lat_e6 = (int32_t)jint(x, "lat_e6", FC_GEO_NONE);
            it[i].lng_e6 = (int32_t)jint(x, "lng_e6", FC_GEO_NONE);
            it[i].duration_s = (int32_t)jint(x, "duration_s", FC_INT_NONE);
        }
        *items = it;
        *n_items = n;
    }
out:
    json_decref(o);
    return rc;
}

typedef struct history {
    const char *id;
    const char *decision_id;
    fc_case_decision *decision; /* parsed from its entry, met in the scan */
    int decision_found;
    fc_arena *arena;
    fc_case_entry *e;
    size_t n, cap;
    const char *statement;
    fc_appeal_item *items;
    size_t n_items;
    int rc;
    fc_err *err;
} history;

static fc_str arena_view(fc_arena *a, fc_str s, int *bad) {
    if (s.n == 0) {
        return FC_STR_NULL;
    }
    fc_str c = fc_arena_str(a, s);
    *bad |= c.p == NULL;
    return c;
}

/* e with its strings copied into arena, into *out; FC_ENOMEM. */
static int entry_copy(fc_arena *arena, const fc_case_entry *e, fc_case_entry *out) {
    int bad = 0;
    *out = *e;
    out->id = arena_view(arena, e->id, &bad);
    out->order = arena_view(arena, e->order, &bad);
    out->decision = arena_view(arena, e->decision, &bad);
    out->appeal = arena_view(arena, e->appeal, &bad);
    out->city = arena_view(arena, e->city, &bad);
    out->rider = arena_view(arena, e->rider, &bad);
    out->merchant = arena_view(arena, e->merchant, &bad);
    out->actor = arena_view(arena, e->actor, &bad);
    out->body = arena_view(arena, e->body, &bad);
    return bad ? FC_ENOMEM : FC_OK;
}

static int history_cb(void *ud, const fc_case_entry *e) {
    history *h = ud;
    /* Entries of the decision itself and its ledger, and this item's. */
    if (e->appeal.n > 0 && !fc_str_eqc(e->appeal, h->id)) {
        return FC_OK;
    }
    if (fc_grow((void **)&h->e, &h->cap, h->n + 1, sizeof *h->e) != FC_OK) {
        return fc_err_set(h->err, FC_ENOMEM, NULL, 0, 0, "out of memory reading a history");
    }
    if (entry_copy(h->arena, e, &h->e[h->n]) != FC_OK) {
        return fc_err_set(h->err, FC_ENOMEM, NULL, 0, 0, "out of memory reading a history");
    }
    h->n++;
    if (e->type == FC_CASE_DECISION && fc_str_eqc(e->id, h->decision_id)) {
        h->decision_found = 1;
        int rc = fc_case_decision_parse(e->body, h->arena, h->decision, h->err);
        if (rc != FC_OK) {
            return rc;
        }
    }
    if (e->type == FC_CASE_APPEAL_FILED && fc_str_eqc(e->appeal, h->id)) {
        return fc__appeal_filing_parse(e->body, h->arena, &h->statement, &h->items, &h->n_items,
                                       h->err);
    }
    return FC_OK;
}

int fc_appeal_load(fc_store *s, const char *id, int64_t now, fc_arena *arena, fc_appeal_case *out,
                   fc_err *err) {
    memset(out, 0, sizeof *out);
    int rc = fc_appeal_get(s, id, now, &out->appeal, err);
    if (rc != FC_OK) {
        return rc;
    }
    /* One scan of the decision's entries: the decision itself, its ledger
     * and the item's entries (the item was folded above). */
    history h = {id, out->appeal.decision, &out->decision, 0, arena, NULL, 0, 0, "", NULL, 0, FC_OK,
                 err};
    fc_case_filter f;
    fc_case_filter_init(&f);
    f.decision = fc_str_c(out->appeal.decision);
    rc = fc_store_case_scan(s, &f, history_cb, &h, err);
    if (rc == FC_OK && h.n > 0) {
        /* The history lives in the arena with the rest of the screen. */
        fc_case_entry *copy = fc_arena_alloc(arena, h.n * sizeof *copy);
        if (copy == NULL) {
            rc = fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory reading a history");
        } else {
            memcpy(copy, h.e, h.n * sizeof *copy);
            out->history = copy;
            out->n_history = h.n;
        }
    }
    fc_free(h.e);
    if (rc == FC_OK && !h.decision_found) {
        rc = fc_err_set(err, FC_ENOTFOUND, NULL, 0, 0, "no decision %s", out->appeal.decision);
    }
    out->statement = h.statement;
    out->items = h.items;
    out->n_items = h.n_items;
    return rc;
}

/* Entry e (stored as seq) at the end of c's history, copied into arena;
 * the item's last_seq follows it. */
static int history_add(fc_appeal_case *c, const fc_case_entry *e, int64_t seq, fc_arena *arena,
                       fc_err *err) {
    fc_case_entry *h = fc_arena_alloc(arena, (c->n_history + 1) * sizeof *h);
    int bad = h == NULL;
    if (!bad) {
        if (c->n_history > 0) {
            memcpy(h, c->history, c->n_history * sizeof *h);
        }
        if (entry_copy(arena, e, &h[c->n_history]) != FC_OK) {
            bad = 1;
        }
    }
    if (bad) {
        return fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory recording a view");
    }
    h[c->n_history].seq = seq;
    c->history = h;
    c->n_history++;
    if (seq > c->appeal.last_seq) {
        c->appeal.last_seq = seq;
    }
    return FC_OK;
}

/* Append the view of c by reviewer; when `into` (with its arena) is given,
 * the stored entry joins its history and its last_seq. */
static int record_view(fc_store *s, const fc_appeal_case *c, const char *reviewer, int64_t now,
                       fc_appeal_case *into, fc_arena *arena, fc_err *err) {
    if (reviewer == NULL || reviewer[0] == '\0') {
        return fc_err_set(err, FC_EINVAL, NULL, 0, 0, "a view needs the reviewer's name");
    }
    const fc_appeal *a = &c->appeal;
    json_t *o = json_object();
    json_t *items = json_array();
    json_t *facts = json_array();
    int bad = o == NULL || items == NULL || facts == NULL;
    for (size_t i = 0; !bad && i < c->n_items; i++) {
        json_t *it = json_object();
        bad |= it == NULL ||
               json_object_set_new(it, "item", json_integer((json_int_t)i + 1)) != 0 ||
               json_object_set_new(it, "kind",
                                   json_string(fc_appeal_item_kind_name(c->items[i].kind))) != 0 ||
               json_array_append_new(items, it) != 0;
    }
    for (size_t i = 0; !bad && i < c->decision.d.n_evidence && i < FC_EVIDENCE_MAX; i++) {
        bad |= json_array_append_new(facts, json_string(c->decision.d.evidence[i].fact)) != 0;
    }
    if (!bad) {
        bad |= json_object_set_new(o, "reviewer", json_string(reviewer)) != 0;
        bad |= json_object_set_new(o, "state", json_string(fc_appeal_state_name(a->state))) != 0;
        bad |=
            json_object_set_new(o, "statement",
                                json_boolean(c->statement != NULL && c->statement[0] != '\0')) != 0;
        bad |= json_object_set(o, "evidence_items", items) != 0;
        bad |= json_object_set(o, "decision_evidence", facts) != 0;
        bad |= json_object_set_new(o, "explanation", json_boolean(1)) != 0;
        bad |=
            json_object_set_new(o, "history_entries", json_integer((json_int_t)c->n_history)) != 0;
    }
    json_decref(items);
    json_decref(facts);
    char *body = bad ? NULL : json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (body == NULL) {
        return fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory recording a view");
    }
    char id[FC_CASE_ID_MAX + 160];
    snprintf(id, sizeof id, "%s:view:%s:%lld", a->id, reviewer, (long long)now);
    fc_case_entry e;
    memset(&e, 0, sizeof e);
    e.id = fc_str_c(id);
    e.type = FC_CASE_APPEAL_VIEWED;
    e.ts = now;
    e.order = fc_str_c(a->order);
    e.decision = fc_str_c(a->decision);
    e.appeal = fc_str_c(a->id);
    e.city = fc_str_c(a->city);
    e.rider = fc_str_c(a->rider);
    e.merchant = fc_str_c(a->merchant);
    e.actor = fc_str_c(reviewer);
    e.body = fc_str_c(body);
    int64_t seq = 0;
    int rc = fc_store_case_append(s, &e, -1, NULL, &seq, err);
    if (rc == FC_OK && into != NULL) {
        rc = history_add(into, &e, seq, arena, err);
    }
    free(body);
    return rc;
}

int fc_appeal_viewed(fc_store *s, const fc_appeal_case *c, const char *reviewer, int64_t now,
                     fc_err *err) {
    return record_view(s, c, reviewer, now, NULL, NULL, err);
}

int fc_appeal_view(fc_store *s, fc_appeal_case *c, const char *reviewer, int64_t now,
                   fc_arena *arena, fc_err *err) {
    return record_view(s, c, reviewer, now, c, arena, err);
}

/* ---------------------------------------------------------------------------
 * SLA.
 */
static const char *who_of(const fc_appeal *a) {
    if (a->kind == FC_APPEAL_KIND_REVIEW) {
        return "review";
    }
    return a->appellant == FC_PARTY_MERCHANT ? "merchant" : "rider";
}

static int cmp_city_who(const void *pa, const void *pb) {
    const fc_appeal *a = pa, *b = pb;
    int c = strcmp(a->city, b->city);
    return c != 0 ? c : strcmp(who_of(a), who_of(b));
}

static int cmp_double(const void *pa, const void *pb) {
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

int fc_appeal_sla(fc_store *s, int64_t from, int64_t to, int64_t now, fc_appeal_sla_row **out,
                  size_t *n, fc_err *err) {
    *out = NULL;
    *n = 0;
    lister l;
    fc_appeal_sla_row *rows = NULL;
    size_t n_rows = 0, cap_rows = 0;
    double *hours = NULL;
    int rc = collect(s, NULL, from, to, now, &l, err);
    if (rc != FC_OK) {
        goto out;
    }
    if (l.n == 0) {
        goto out;
    }
    qsort(l.items, l.n, sizeof *l.items, cmp_city_who);
    hours = fc_malloc(l.n * sizeof *hours);
    if (hours == NULL) {
        rc = fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory for the SLA report");
        goto out;
    }
    for (size_t i = 0; i < l.n;) {
        size_t j = i;
        while (j < l.n && cmp_city_who(&l.items[i], &l.items[j]) == 0) {
            j++;
        }
        if (fc_grow((void **)&rows, &cap_rows, n_rows + 1, sizeof *rows) != FC_OK) {
            rc = fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory for the SLA report");
            goto out;
        }
        fc_appeal_sla_row *r = &rows[n_rows++];
        memset(r, 0, sizeof *r);
        copy_c(r->city, sizeof r->city, l.items[i].city);
        copy_c(r->who, sizeof r->who, who_of(&l.items[i]));
        size_t n_hours = 0;
        for (size_t k = i; k < j; k++) {
            const fc_appeal *a = &l.items[k];
            r->filed++;
            if (a->state == FC_APPEAL_MOOT) {
                r->moot++;
                continue;
            }
            if (a->state == FC_APPEAL_PENDING) {
                r->pending++;
                if (a->breached) {
                    r->breached_pending++;
                    if (now - a->due_at > r->worst_overdue_s) {
                        r->worst_overdue_s = now - a->due_at;
                    }
                }
                continue;
            }
            r->decided++;
            r->auto_overturned += a->auto_overturned;
            r->breached_decided += a->breached;
            hours[n_hours++] = (double)(a->decided_at - a->filed_at) / 3600.0;
        }
        r->median_decide_h = NAN;
        if (n_hours > 0) {
            qsort(hours, n_hours, sizeof *hours, cmp_double);
            r->median_decide_h = n_hours % 2 == 1
                                     ? hours[n_hours / 2]
                                     : (hours[n_hours / 2 - 1] + hours[n_hours / 2]) / 2.0;
        }
        i = j;
    }
    *out = rows;
    *n = n_rows;
    rows = NULL;
out:
    fc_free(rows);
    fc_free(hours);
    lister_free(&l);
    return rc;
}
