/*
 * Single reference rows by id (store.h), and the connection's view of
 * whether the database changed (PRAGMA data_version). A route that needs
 * one rider, one merchant or one city's country reads that row through its
 * primary key instead of loading every reference entity (and every city's
 * time zone file) with fc_store_load_ref. Statements come from the
 * connection's pool: prepared once, reused by every call.
 */
#include <string.h>

#include "store/store_internal.h"

/* Column i as an arena copy; "" for NULL. NULL on OOM. */
static char *col_copy(sqlite3_stmt *st, int i, fc_arena *a) {
    const char *p = (const char *)sqlite3_column_text(st, i);
    size_t n = (size_t)sqlite3_column_bytes(st, i);
    return fc_arena_strndup(a, p != NULL ? p : "", p != NULL ? n : 0);
}

/* Borrow sql, bind id to ?1 and step once: SQLITE_ROW or SQLITE_DONE in
 * *step with the statement in *out (to return), or FC_ESTORE. */
static int one_row(fc_store *s, const char *sql, fc_str id, sqlite3_stmt **out, int *step,
                   fc_err *err, const char *what) {
    *out = fc__stmt_borrow(s, sql, err);
    if (*out == NULL) {
        return FC_ESTORE;
    }
    fc__bind_str(*out, 1, id);
    *step = sqlite3_step(*out);
    if (*step != SQLITE_ROW && *step != SQLITE_DONE) {
        int rc = fc__store_fail(s, err, what);
        fc__stmt_return(s, *out);
        *out = NULL;
        return rc;
    }
    return FC_OK;
}

int fc_store_city_country(fc_store *s, fc_str city, char *country, size_t cap, int *found,
                          fc_err *err) {
    *found = 0;
    if (cap > 0) {
        country[0] = '\0';
    }
    sqlite3_stmt *st = NULL;
    int step = 0;
    int rc = one_row(s, "SELECT country FROM city WHERE city = ?1", city, &st, &step, err,
                     "reading a city");
    if (rc != FC_OK) {
        return rc;
    }
    if (step == SQLITE_ROW) {
        const char *c = (const char *)sqlite3_column_text(st, 0);
        fc_str_cpy(
            country, cap,
            fc_str_make(c != NULL ? c : "", c != NULL ? (size_t)sqlite3_column_bytes(st, 0) : 0));
        *found = 1;
    }
    fc__stmt_return(s, st);
    return FC_OK;
}

int fc_store_get_rider(fc_store *s, fc_str rider, fc_arena *a, fc_rider *out, int *found,
                       fc_err *err) {
    *found = 0;
    sqlite3_stmt *st = NULL;
    int step = 0;
    int rc =
        one_row(s, "SELECT rider, city, capacity, fleet, start_date FROM rider WHERE rider = ?1",
                rider, &st, &step, err, "reading a rider");
    if (rc != FC_OK) {
        return rc;
    }
    if (step == SQLITE_ROW) {
        memset(out, 0, sizeof *out);
        out->rider = col_copy(st, 0, a);
        out->city = col_copy(st, 1, a);
        out->capacity = fc_capacity_from(fc_str_c((const char *)sqlite3_column_text(st, 2)));
        out->fleet = col_copy(st, 3, a);
        out->start_date =
            sqlite3_column_type(st, 4) == SQLITE_NULL ? INT32_MIN : sqlite3_column_int(st, 4);
        if (out->rider == NULL || out->city == NULL || out->fleet == NULL) {
            rc = fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
        } else {
            *found = 1;
        }
    }
    fc__stmt_return(s, st);
    return rc;
}

int fc_store_get_merchant(fc_store *s, fc_str merchant, fc_arena *a, fc_merchant *out, int *found,
                          fc_err *err) {
    *found = 0;
    sqlite3_stmt *st = NULL;
    int step = 0;
    int rc = one_row(s,
                     "SELECT merchant, city, zone, kind, brand, lat_e6, lng_e6 FROM merchant"
                     " WHERE merchant = ?1",
                     merchant, &st, &step, err, "reading a merchant");
    if (rc != FC_OK) {
        return rc;
    }
    if (step == SQLITE_ROW) {
        memset(out, 0, sizeof *out);
        out->merchant = col_copy(st, 0, a);
        out->city = col_copy(st, 1, a);
        out->zone = col_copy(st, 2, a);
        out->kind = col_copy(st, 3, a);
        out->brand = col_copy(st, 4, a);
        int has_point = sqlite3_column_type(st, 5) != SQLITE_NULL;
        out->lat_e6 = has_point ? sqlite3_column_int(st, 5) : FC_GEO_NONE;
        out->lng_e6 = has_point ? sqlite3_column_int(st, 6) : FC_GEO_NONE;
        if (out->merchant == NULL || out->city == NULL || out->zone == NULL || out->kind == NULL ||
            out->brand == NULL) {
            rc = fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
        } else {
            *found = 1;
        }
    }
    fc__stmt_return(s, st);
    return rc;
}

int fc_store_data_version(fc_store *s, int64_t *version, fc_err *err) {
    sqlite3_stmt *st = fc__stmt_borrow(s, "PRAGMA data_version", err);
    if (st == NULL) {
        return FC_ESTORE;
    }
    int rc = FC_OK;
    if (sqlite3_step(st) == SQLITE_ROW) {
        *version = sqlite3_column_int64(st, 0);
    } else {
        rc = fc__store_fail(s, err, "reading the data version");
    }
    fc__stmt_return(s, st);
    return rc;
}
