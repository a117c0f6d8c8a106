/*
 * The case log (store.h): decisions, appeals, reviews and ledger entries in
 * the table case_entry of migration 2, append-only by trigger.
 *
 * Concurrency: every write runs in a BEGIN IMMEDIATE transaction (the
 * caller's batch, or one of its own), so the write lock is taken before
 * anything is read; two processes appending at once wait for each other
 * through the connection's busy timeout (sqlite.c) instead of failing with
 * "database is locked". A compare-and-append reads the appeal's last seq
 * under that lock, so the check and the insert cannot interleave with
 * another writer's.
 */
#include <stdio.h>
#include <string.h>

#include "store/store_internal.h"

/* Cached statements in s->case_stmt[]. */
enum { CS_FIND_ID, CS_APPEAL_SEQ, CS_INSERT, CS_COUNTS, CS__COUNT };
_Static_assert(CS__COUNT <= FC__CASE_STMTS - FC__CARRY_STMTS, "room for the case log's statements");

static const char *const case_sql[CS__COUNT] = {
    [CS_FIND_ID] = "SELECT seq FROM case_entry WHERE id = ?",
    [CS_APPEAL_SEQ] = "SELECT coalesce(max(seq), 0) FROM case_entry WHERE appeal = ?",
    [CS_INSERT] = "INSERT INTO case_entry(id, type, ts, order_id, decision, appeal, city, rider,"
                  " merchant, actor, body) VALUES(?,?,?,?,?,?,?,?,?,?,?)",
    [CS_COUNTS] = "SELECT type, count(*) FROM case_entry GROUP BY type",
};

static const char *const type_names[FC_CASE__COUNT] = {
    [FC_CASE_NONE] = "",
    [FC_CASE_DECISION] = "decision",
    [FC_CASE_APPEAL_FILED] = "appeal_filed",
    [FC_CASE_APPEAL_REVIEWED] = "appeal_reviewed",
    [FC_CASE_APPEAL_VIEWED] = "appeal_viewed",
    [FC_CASE_APPEAL_DECIDED] = "appeal_decided",
    [FC_CASE_LEDGER] = "ledger",
    [FC_CASE_DECISION_WITHDRAWN] = "decision_withdrawn",
};

const char *fc_case_type_name(fc_case_type t) {
    if ((int)t <= FC_CASE_NONE || (int)t >= FC_CASE__COUNT) {
        return "";
    }
    return type_names[t];
}

fc_case_type fc_case_type_from(fc_str s) {
    for (int t = FC_CASE_NONE + 1; t < FC_CASE__COUNT; t++) {
        if (s.n > 0 && fc_str_eqc(s, type_names[t])) {
            return (fc_case_type)t;
        }
    }
    return FC_CASE_NONE;
}

/* The cached statement `which`, reset with its bindings cleared, or NULL
 * (err filled). */
static sqlite3_stmt *case_stmt(fc_store *s, int which, fc_err *err) {
    return fc__stmt_cached(s, &s->case_stmt[which], case_sql[which], err);
}

/* Empty views are stored as NULL (the partial indexes skip them). */
static int bind_opt(sqlite3_stmt *st, int i, fc_str v) {
    if (v.p == NULL || v.n == 0) {
        return sqlite3_bind_null(st, i);
    }
    return fc__bind_str(st, i, v);
}

/* One int64 from a cached statement that returns one row; its parameter 1
 * bound to `key`. *found is 0 when it returned no row. */
static int query_one(fc_store *s, int which, fc_str key, int64_t *out, int *found, fc_err *err,
                     const char *what) {
    sqlite3_stmt *st = case_stmt(s, which, err);
    if (st == NULL) {
        return FC_ESTORE;
    }
    fc__bind_str(st, 1, key);
    int rc = sqlite3_step(st);
    int status = FC_OK;
    *found = 0;
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        *found = 1;
    } else if (rc != SQLITE_DONE) {
        status = fc__store_fail(s, err, what);
    }
    sqlite3_reset(st);
    return status;
}

/* The writes of one append, inside a transaction the caller holds. */
static int append_locked(fc_store *s, const fc_case_entry *e, int64_t expect_seq, int *dup,
                         int64_t *seq, fc_err *err) {
    int64_t found_seq = 0;
    int found = 0;
    int rc = query_one(s, CS_FIND_ID, e->id, &found_seq, &found, err, "looking up a case entry");
    if (rc != FC_OK) {
        return rc;
    }
    if (found) {
        *dup = 1;
        *seq = found_seq;
        return FC_OK;
    }
    if (expect_seq >= 0 && e->appeal.n > 0) {
        int64_t last = 0;
        rc = query_one(s, CS_APPEAL_SEQ, e->appeal, &last, &found, err, "reading an appeal");
        if (rc != FC_OK) {
            return rc;
        }
        if (last != expect_seq) {
            return fc_err_set(err, FC_ECONFLICT, NULL, 0, 0,
                              "appeal %.*s changed: its last entry is %lld, expected %lld",
                              (int)e->appeal.n, e->appeal.p, (long long)last,
                              (long long)expect_seq);
        }
    }
    sqlite3_stmt *st = case_stmt(s, CS_INSERT, err);
    if (st == NULL) {
        return FC_ESTORE;
    }
    fc__bind_str(st, 1, e->id);
    sqlite3_bind_int(st, 2, (int)e->type);
    sqlite3_bind_int64(st, 3, e->ts);
    bind_opt(st, 4, e->order);
    bind_opt(st, 5, e->decision);
    bind_opt(st, 6, e->appeal);
    bind_opt(st, 7, e->city);
    bind_opt(st, 8, e->rider);
    bind_opt(st, 9, e->merchant);
    fc__bind_str(st, 10, e->actor);
    fc__bind_str(st, 11, e->body);
    rc = fc__step_done(s, st, err, "appending a case entry");
    if (rc != FC_OK) {
        return rc;
    }
    *dup = 0;
    *seq = sqlite3_last_insert_rowid(s->db);
    return FC_OK;
}

int fc_store_case_append(fc_store *s, const fc_case_entry *e, int64_t expect_seq, int *dup,
                         int64_t *seq, fc_err *err) {
    int dup_local = 0;
    int64_t seq_local = 0;
    if (e == NULL || e->id.p == NULL || e->id.n == 0) {
        return fc_err_set(err, FC_EINVAL, NULL, 0, 0, "a case entry needs an id");
    }
    if (e->body.p == NULL || e->body.n == 0) {
        return fc_err_set(err, FC_EINVAL, NULL, 0, 0, "case entry %.*s has no body", (int)e->id.n,
                          e->id.p);
    }
    if ((int)e->type <= FC_CASE_NONE || (int)e->type >= FC_CASE__COUNT) {
        return fc_err_set(err, FC_EINVAL, NULL, 0, 0, "case entry %.*s has no valid type %d",
                          (int)e->id.n, e->id.p, (int)e->type);
    }
    /* Outside a batch, a batch of its own (BEGIN IMMEDIATE: the write lock
     * before anything is read); inside the caller's, it joins it and leaves
     * committing or rolling back to the caller. */
    int own = !s->in_batch;
    int rc = FC_OK;
    if (own) {
        rc = fc_store_begin(s, err);
        if (rc != FC_OK) {
            return rc;
        }
    }
    rc = append_locked(s, e, expect_seq, &dup_local, &seq_local, err);
    if (own) {
        if (rc == FC_OK) {
            rc = fc_store_end(s, err); /* rolls back itself when the commit fails */
        } else {
            fc_store_rollback(s);
        }
    }
    if (rc == FC_OK) {
        if (dup != NULL) {
            *dup = dup_local;
        }
        if (seq != NULL) {
            *seq = seq_local;
        }
    }
    return rc;
}

int fc_store_end(fc_store *s, fc_err *err) {
    if (!s->in_batch) {
        return fc_err_set(err, FC_EINVAL, NULL, 0, 0, "no batch is open");
    }
    return fc_store_commit(s, NULL, err);
}

void fc_case_filter_init(fc_case_filter *f) {
    memset(f, 0, sizeof *f);
    f->type = FC_CASE_NONE;
    f->from = FC_TS_NONE;
    f->to = FC_TS_NONE;
    f->after_seq = 0;
}

static fc_str col_str(sqlite3_stmt *st, int i) {
    const char *p = (const char *)sqlite3_column_text(st, i);
    if (p == NULL) {
        return FC_STR_NULL;
    }
    return fc_str_make(p, (size_t)sqlite3_column_bytes(st, i));
}

/* An entry from a row of "SELECT seq, id, type, ts, order_id, decision,
 * appeal, city, rider, merchant, actor, body ..." (borrowed from st until
 * its next step). */
static void entry_from_row(sqlite3_stmt *st, fc_case_entry *e) {
    e->seq = sqlite3_column_int64(st, 0);
    e->id = col_str(st, 1);
    int type = sqlite3_column_int(st, 2);
    e->type = type > FC_CASE_NONE && type < FC_CASE__COUNT ? (fc_case_type)type : FC_CASE_NONE;
    e->ts = sqlite3_column_int64(st, 3);
    e->order = col_str(st, 4);
    e->decision = col_str(st, 5);
    e->appeal = col_str(st, 6);
    e->city = col_str(st, 7);
    e->rider = col_str(st, 8);
    e->merchant = col_str(st, 9);
    e->actor = col_str(st, 10);
    e->body = col_str(st, 11);
}

/* Append " AND <cond>" to the WHERE being built. */
static void where_add(char *sql, size_t cap, size_t *len, const char *cond) {
    int n = snprintf(sql + *len, cap - *len, "%s%s", *len > 0 ? " AND " : "", cond);
    if (n > 0 && (size_t)n < cap - *len) {
        *len += (size_t)n;
    }
}

int fc_store_case_scan(fc_store *s, const fc_case_filter *f, fc_case_cb cb, void *ud, fc_err *err) {
    fc_case_filter all;
    if (f == NULL) {
        fc_case_filter_init(&all);
        f = &all;
    }
    /* The text criteria, in bind order. */
    static const char *const text_cond[] = {"id = ?",      "order_id = ?", "decision = ?",
                                            "appeal = ?",  "city = ?",     "rider = ?",
                                            "merchant = ?"};
    const fc_str text_val[] = {f->id,   f->order, f->decision, f->appeal,
                               f->city, f->rider, f->merchant};
    char where[512];
    size_t wlen = 0;
    where[0] = '\0';
    /* The index on (type, seq) also gives seq order, so without statistics
     * SQLite prefers it to a far more selective lookup by id, order,
     * decision, appeal, rider or merchant and reads every entry of the type;
     * the unary plus keeps the type a plain filter then. */
    int keyed = 0;
    for (size_t i = 0; i < sizeof text_cond / sizeof text_cond[0]; i++) {
        keyed |= text_val[i].n > 0 && strcmp(text_cond[i], "city = ?") != 0;
    }
    if (f->type != FC_CASE_NONE) {
        where_add(where, sizeof where, &wlen, keyed ? "+type = ?" : "type = ?");
    }
    for (size_t i = 0; i < sizeof text_cond / sizeof text_cond[0]; i++) {
        if (text_val[i].n > 0) {
            where_add(where, sizeof where, &wlen, text_cond[i]);
        }
    }
    if (f->from != FC_TS_NONE) {
        where_add(where, sizeof where, &wlen, "ts >= ?");
    }
    if (f->to != FC_TS_NONE) {
        where_add(where, sizeof where, &wlen, "ts < ?");
    }
    if (f->after_seq > 0) {
        where_add(where, sizeof where, &wlen, "seq > ?");
    }
    char sql[768];
    snprintf(sql, sizeof sql,
             "SELECT seq, id, type, ts, order_id, decision, appeal, city, rider, merchant, actor,"
             " body FROM case_entry%s%s ORDER BY seq",
             wlen > 0 ? " WHERE " : "", where);

    /* Borrowed: the callback may use the store (this scan included)
     * while this one steps. */
    int rc = FC_OK;
    sqlite3_stmt *st = fc__stmt_borrow(s, sql, err);
    if (st == NULL) {
        rc = FC_ESTORE;
        goto out;
    }
    int bi = 1;
    if (f->type != FC_CASE_NONE) {
        sqlite3_bind_int(st, bi++, (int)f->type);
    }
    for (size_t i = 0; i < sizeof text_cond / sizeof text_cond[0]; i++) {
        if (text_val[i].n > 0) {
            fc__bind_str(st, bi++, text_val[i]);
        }
    }
    if (f->from != FC_TS_NONE) {
        sqlite3_bind_int64(st, bi++, f->from);
    }
    if (f->to != FC_TS_NONE) {
        sqlite3_bind_int64(st, bi++, f->to);
    }
    if (f->after_seq > 0) {
        sqlite3_bind_int64(st, bi++, f->after_seq);
    }
    for (;;) {
        int step = sqlite3_step(st);
        if (step == SQLITE_DONE) {
            break;
        }
        if (step != SQLITE_ROW) {
            rc = fc__store_fail(s, err, "reading the case log");
            goto out;
        }
        fc_case_entry e;
        entry_from_row(st, &e);
        rc = cb(ud, &e);
        if (rc != 0) {
            goto out;
        }
    }
out:
    fc__stmt_return(s, st);
    return rc;
}

int fc_store_case_appeal_seq(fc_store *s, fc_str appeal, int64_t *seq, fc_err *err) {
    int found = 0;
    *seq = 0;
    int rc = query_one(s, CS_APPEAL_SEQ, appeal, seq, &found, err, "reading an appeal");
    if (rc == FC_OK && !found) {
        *seq = 0;
    }
    return rc;
}

int fc_store_case_counts(fc_store *s, int64_t counts[FC_CASE__COUNT], fc_err *err) {
    for (int t = 0; t < FC_CASE__COUNT; t++) {
        counts[t] = 0;
    }
    sqlite3_stmt *st = case_stmt(s, CS_COUNTS, err);
    if (st == NULL) {
        return FC_ESTORE;
    }
    int rc = FC_OK;
    for (;;) {
        int step = sqlite3_step(st);
        if (step == SQLITE_DONE) {
            break;
        }
        if (step != SQLITE_ROW) {
            rc = fc__store_fail(s, err, "counting the case log");
            break;
        }
        int type = sqlite3_column_int(st, 0);
        if (type >= 0 && type < FC_CASE__COUNT) {
            counts[type] = sqlite3_column_int64(st, 1);
        }
    }
    sqlite3_reset(st);
    return rc;
}

void fc_case_decision_query_init(fc_case_decision_query *q) {
    memset(q, 0, sizeof *q);
    q->review = -1;
    q->from = FC_TS_NONE;
    q->to = FC_TS_NONE;
}

/* Whether decision entry e is superseded: a later decision of its order
 * names it, or a withdrawal does. Both lookups are indexed (order,
 * decision). */
#define SUPERSEDED_SQL                                                                             \
    "(EXISTS (SELECT 1 FROM case_entry n WHERE n.order_id = e.order_id AND n.seq > e.seq"          \
    " AND +n.type = 1 AND json_extract(n.body, '$.supersedes') = e.id)"                            \
    " OR EXISTS (SELECT 1 FROM case_entry w WHERE w.decision = e.id AND +w.type = 7))"

int fc_store_case_decisions(fc_store *s, const fc_case_decision_query *q, fc_case_decision_cb cb,
                            void *ud, fc_err *err) {
    _Static_assert(FC_CASE_DECISION == 1 && FC_CASE_DECISION_WITHDRAWN == 7,
                   "the type numbers written in SUPERSEDED_SQL");
    char where[1024];
    size_t wlen = 0;
    where[0] = '\0';
    /* Keyed by order, rider or merchant: those indexes are far more
     * selective than the type's, which the unary plus keeps a filter. */
    int keyed = q->order.n > 0 || q->rider.n > 0 || q->merchant.n > 0;
    where_add(where, sizeof where, &wlen, keyed ? "+e.type = 1" : "e.type = 1");
    if (q->order.n > 0) {
        where_add(where, sizeof where, &wlen, "e.order_id = ?");
    }
    if (q->city.n > 0) {
        where_add(where, sizeof where, &wlen, keyed ? "+e.city = ?" : "e.city = ?");
    }
    if (q->rider.n > 0) {
        where_add(where, sizeof where, &wlen, "e.rider = ?");
    }
    if (q->merchant.n > 0) {
        where_add(where, sizeof where, &wlen, "e.merchant = ?");
    }
    if (q->before_seq > 0) {
        where_add(where, sizeof where, &wlen, "e.seq < ?");
    }
    if (q->incident != NULL) {
        where_add(where, sizeof where, &wlen, "json_extract(e.body, '$.incident') = ?");
    }
    if (q->liable != NULL) {
        where_add(where, sizeof where, &wlen, "json_extract(e.body, '$.liable') = ?");
    }
    if (q->review >= 0) {
        where_add(where, sizeof where, &wlen, "json_extract(e.body, '$.review') = ?");
    }
    if (q->from != FC_TS_NONE) {
        where_add(where, sizeof where, &wlen, "json_extract(e.body, '$.created_at') >= ?");
    }
    if (q->to != FC_TS_NONE) {
        where_add(where, sizeof where, &wlen, "json_extract(e.body, '$.created_at') < ?");
    }
    if (q->current_only) {
        where_add(where, sizeof where, &wlen, "NOT " SUPERSEDED_SQL);
    }
    char sql[2048];
    int n = snprintf(sql, sizeof sql,
                     "SELECT seq, id, type, ts, order_id, decision, appeal, city, rider, merchant,"
                     " actor, body, " SUPERSEDED_SQL " FROM case_entry e WHERE %s"
                     " ORDER BY e.seq DESC%s",
                     where, q->limit > 0 ? " LIMIT ?" : "");
    if (n < 0 || (size_t)n >= sizeof sql) {
        return fc_err_set(err, FC_EINTERNAL, NULL, 0, 0, "a decision query does not fit");
    }
    /* Prepared per call, as fc_store_case_scan: the callback may use the
     * store. */
    sqlite3_stmt *st = NULL;
    int rc = FC_OK;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        rc = fc__store_fail(s, err, "preparing a decision query");
        goto out;
    }
    int bi = 1;
    if (q->order.n > 0) {
        fc__bind_str(st, bi++, q->order);
    }
    if (q->city.n > 0) {
        fc__bind_str(st, bi++, q->city);
    }
    if (q->rider.n > 0) {
        fc__bind_str(st, bi++, q->rider);
    }
    if (q->merchant.n > 0) {
        fc__bind_str(st, bi++, q->merchant);
    }
    if (q->before_seq > 0) {
        sqlite3_bind_int64(st, bi++, q->before_seq);
    }
    if (q->incident != NULL) {
        fc__bind_cstr(st, bi++, q->incident);
    }
    if (q->liable != NULL) {
        fc__bind_cstr(st, bi++, q->liable);
    }
    if (q->review >= 0) {
        sqlite3_bind_int(st, bi++, q->review != 0);
    }
    if (q->from != FC_TS_NONE) {
        sqlite3_bind_int64(st, bi++, q->from);
    }
    if (q->to != FC_TS_NONE) {
        sqlite3_bind_int64(st, bi++, q->to);
    }
    if (q->limit > 0) {
        sqlite3_bind_int64(st, bi++, q->limit > INT64_MAX ? INT64_MAX : (int64_t)q->limit);
    }
    for (;;) {
        int step = sqlite3_step(st);
        if (step == SQLITE_DONE) {
            break;
        }
        if (step != SQLITE_ROW) {
            rc = fc__store_fail(s, err, "reading decisions");
            goto out;
        }
        fc_case_entry e;
        entry_from_row(st, &e);
        rc = cb(ud, &e, sqlite3_column_int(st, 12) != 0);
        if (rc != 0) {
            goto out;
        }
    }
out:
    sqlite3_finalize(st);
    return rc;
}

int fc_store_case_policy_versions(fc_store *s, fc_case_version_cb cb, void *ud, fc_err *err) {
    sqlite3_stmt *st = NULL;
    int rc = FC_OK;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT json_extract(body, '$.policy') AS p,"
                           " json_extract(body, '$.policy_version') AS v, count(*)"
                           " FROM case_entry INDEXED BY case_decision_policy WHERE type = 1"
                           " GROUP BY p, v ORDER BY p, v",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = fc__store_fail(s, err, "preparing the policy versions query");
        goto out;
    }
    for (;;) {
        int step = sqlite3_step(st);
        if (step == SQLITE_DONE) {
            break;
        }
        if (step != SQLITE_ROW) {
            rc = fc__store_fail(s, err, "counting decisions per policy version");
            goto out;
        }
        const char *p = (const char *)sqlite3_column_text(st, 0);
        const char *v = (const char *)sqlite3_column_text(st, 1);
        rc = cb(ud, p != NULL ? p : "", v != NULL ? v : "", sqlite3_column_int64(st, 2));
        if (rc != 0) {
            goto out;
        }
    }
out:
    sqlite3_finalize(st);
    return rc;
}
