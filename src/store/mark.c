/*
 * Marks (store.h): small named numbers in the table mark of migration 6,
 * and the reads that go with the one the server's judge keeps (the highest
 * record seq, the orders of the records after a seq). Each call is one
 * statement, prepared for the call: marks are read and written a few times
 * a second at most, so no statement is cached on the connection.
 */
#include <string.h>

#include "store/store_internal.h"

/* Prepare sql on s; NULL with err filled when it cannot be. */
static sqlite3_stmt *prepare(fc_store *s, const char *sql, fc_err *err, const char *what) {
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        fc__store_fail(s, err, what);
        sqlite3_finalize(st);
        return NULL;
    }
    return st;
}

/* Step a statement giving one integer row; *value, or *found 0 when it gives
 * no row (found may be NULL when a row always comes). Finalizes st. */
static int one_int(fc_store *s, sqlite3_stmt *st, int64_t *value, int *found, fc_err *err,
                   const char *what) {
    int rc = sqlite3_step(st);
    int status = FC_OK;
    if (rc == SQLITE_ROW) {
        *value = sqlite3_column_int64(st, 0);
        if (found != NULL) {
            *found = 1;
        }
    } else if (rc == SQLITE_DONE && found != NULL) {
        *found = 0;
    } else {
        status = fc__store_fail(s, err, what);
    }
    sqlite3_finalize(st);
    return status;
}

int fc_store_mark_get(fc_store *s, const char *name, int64_t *value, int *found, fc_err *err) {
    *found = 0;
    sqlite3_stmt *st = prepare(s, "SELECT value FROM mark WHERE name = ?", err, "reading a mark");
    if (st == NULL) {
        return FC_ESTORE;
    }
    fc__bind_cstr(st, 1, name);
    return one_int(s, st, value, found, err, "reading a mark");
}

int fc_store_mark_set(fc_store *s, const char *name, int64_t value, fc_err *err) {
    sqlite3_stmt *st =
        prepare(s, "INSERT OR REPLACE INTO mark(name, value) VALUES(?, ?)", err, "writing a mark");
    if (st == NULL) {
        return FC_ESTORE;
    }
    fc__bind_cstr(st, 1, name);
    sqlite3_bind_int64(st, 2, value);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        return fc__store_fail(s, err, "writing a mark");
    }
    return FC_OK;
}

int fc_store_max_seq(fc_store *s, int64_t *seq, fc_err *err) {
    *seq = 0;
    sqlite3_stmt *st =
        prepare(s, "SELECT coalesce(max(seq), 0) FROM record", err, "reading the last record");
    if (st == NULL) {
        return FC_ESTORE;
    }
    return one_int(s, st, seq, NULL, err, "reading the last record");
}

int fc_store_orders_after(fc_store *s, int64_t after_seq, int64_t upto_seq,
                          fc_store_seq_order_cb cb, void *ud, fc_err *err) {
    /* order_id NULL: the record's order is its own id; '': it names none. */
    sqlite3_stmt *st = prepare(s,
                               "SELECT seq, coalesce(order_id, id) FROM record"
                               " WHERE seq > ? AND seq <= ? ORDER BY seq",
                               err, "reading the records after a mark");
    if (st == NULL) {
        return FC_ESTORE;
    }
    sqlite3_bind_int64(st, 1, after_seq);
    sqlite3_bind_int64(st, 2, upto_seq);
    int status = FC_OK;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *p = (const char *)sqlite3_column_text(st, 1);
        fc_str order = fc_str_make(p, p != NULL ? (size_t)sqlite3_column_bytes(st, 1) : 0);
        status = cb(ud, sqlite3_column_int64(st, 0), order);
        if (status != 0) {
            break;
        }
    }
    if (status == FC_OK && rc != SQLITE_DONE) {
        status = fc__store_fail(s, err, "reading the records after a mark");
    }
    sqlite3_finalize(st);
    return status;
}
