/*
 * Carries (store.h) in the table carry of migration 6. Each function is one
 * statement, atomic on its own or part of the caller's open batch. The
 * statements are cached in the last FC__CARRY_STMTS slots of case_stmt.
 */
#include <string.h>

#include "store/store_internal.h"

enum { CR_PUT, CR_DELETE, CR_GET, CR_OVERLAPPING, CR__COUNT };
_Static_assert(CR__COUNT <= FC__CARRY_STMTS, "room for the carry statements");

static const char *const carry_sql[CR__COUNT] = {
    /* The WHERE of the update leaves an unchanged row alone: nothing is
     * written, no page dirtied. */
    [CR_PUT] = "INSERT INTO carry(order_id, rider, picked_up_at, delivered_at) VALUES(?,?,?,?)"
               " ON CONFLICT(order_id) DO UPDATE SET rider = excluded.rider,"
               " picked_up_at = excluded.picked_up_at, delivered_at = excluded.delivered_at"
               " WHERE rider <> excluded.rider OR picked_up_at <> excluded.picked_up_at"
               " OR delivered_at <> excluded.delivered_at",
    [CR_DELETE] = "DELETE FROM carry WHERE order_id = ?",
    [CR_GET] = "SELECT rider, picked_up_at, delivered_at FROM carry WHERE order_id = ?",
    [CR_OVERLAPPING] = "SELECT order_id, picked_up_at, delivered_at FROM carry INDEXED BY"
                       " carry_rider WHERE rider = ? AND delivered_at > ? AND picked_up_at < ?"
                       " ORDER BY delivered_at",
};

static sqlite3_stmt *carry_stmt(fc_store *s, int which, fc_err *err) {
    return fc__stmt_cached(s, &s->case_stmt[FC__CASE_STMTS - FC__CARRY_STMTS + which],
                           carry_sql[which], err);
}

/* Step a statement that writes, outside a batch in a transaction of its
 * own; *changed gets whether a row changed. */
static int write_one(fc_store *s, sqlite3_stmt *st, int *changed, fc_err *err, const char *what) {
    int own = !s->in_batch;
    int rc = FC_OK;
    if (own) {
        rc = fc_store_begin(s, err);
        if (rc != FC_OK) {
            sqlite3_reset(st);
            return rc;
        }
    }
    rc = fc__step_done(s, st, err, what);
    int n = sqlite3_changes(s->db);
    if (own) {
        if (rc == FC_OK) {
            rc = fc_store_end(s, err);
        } else {
            fc_store_rollback(s);
        }
    }
    if (changed != NULL) {
        *changed = rc == FC_OK && n > 0;
    }
    return rc;
}

int fc_store_carry_put(fc_store *s, fc_str order, fc_str rider, int64_t picked_up_at,
                       int64_t delivered_at, int *changed, fc_err *err) {
    if (changed != NULL) {
        *changed = 0;
    }
    if (order.n == 0 || rider.n == 0 || delivered_at <= picked_up_at) {
        return fc_err_set(err, FC_EINVAL, NULL, 0, 0,
                          "a carry needs an order, a rider and a delivery after its pickup");
    }
    sqlite3_stmt *st = carry_stmt(s, CR_PUT, err);
    if (st == NULL) {
        return FC_ESTORE;
    }
    fc__bind_str(st, 1, order);
    fc__bind_str(st, 2, rider);
    sqlite3_bind_int64(st, 3, picked_up_at);
    sqlite3_bind_int64(st, 4, delivered_at);
    return write_one(s, st, changed, err, "storing a carry");
}

int fc_store_carry_delete(fc_store *s, fc_str order, int *changed, fc_err *err) {
    if (changed != NULL) {
        *changed = 0;
    }
    sqlite3_stmt *st = carry_stmt(s, CR_DELETE, err);
    if (st == NULL) {
        return FC_ESTORE;
    }
    fc__bind_str(st, 1, order);
    return write_one(s, st, changed, err, "deleting a carry");
}

int fc_store_carry_get(fc_store *s, fc_str order, char *rider, size_t rider_cap,
                       int64_t *picked_up_at, int64_t *delivered_at, int *found, fc_err *err) {
    *found = 0;
    sqlite3_stmt *st = carry_stmt(s, CR_GET, err);
    if (st == NULL) {
        return FC_ESTORE;
    }
    fc__bind_str(st, 1, order);
    int step = sqlite3_step(st);
    int rc = FC_OK;
    if (step == SQLITE_ROW) {
        const unsigned char *v = sqlite3_column_text(st, 0);
        size_t n = v != NULL ? (size_t)sqlite3_column_bytes(st, 0) : 0;
        if (rider_cap > 0) {
            n = n < rider_cap ? n : rider_cap - 1;
            if (n > 0) {
                memcpy(rider, v, n);
            }
            rider[n] = '\0';
        }
        *picked_up_at = sqlite3_column_int64(st, 1);
        *delivered_at = sqlite3_column_int64(st, 2);
        *found = 1;
    } else if (step != SQLITE_DONE) {
        rc = fc__store_fail(s, err, "reading a carry");
    }
    sqlite3_reset(st);
    return rc;
}

int fc_store_carries(fc_store *s, fc_str rider, int64_t from, int64_t to, fc_store_carry_cb cb,
                     void *ud, fc_err *err) {
    sqlite3_stmt *st = carry_stmt(s, CR_OVERLAPPING, err);
    if (st == NULL) {
        return FC_ESTORE;
    }
    fc__bind_str(st, 1, rider);
    sqlite3_bind_int64(st, 2, from);
    sqlite3_bind_int64(st, 3, to);
    int rc = FC_OK;
    for (;;) {
        int step = sqlite3_step(st);
        if (step == SQLITE_DONE) {
            break;
        }
        if (step != SQLITE_ROW) {
            rc = fc__store_fail(s, err, "reading a rider's carries");
            break;
        }
        const char *id = (const char *)sqlite3_column_text(st, 0);
        fc_str order = fc_str_make(id, id != NULL ? (size_t)sqlite3_column_bytes(st, 0) : 0);
        rc = cb(ud, order, sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2));
        if (rc != 0) {
            break;
        }
    }
    sqlite3_reset(st);
    return rc;
}
