/*
 * API tokens (store.h) in the table token of migration 4. Each function is
 * one statement, atomic on its own (or part of the caller's open batch).
 */
#include <string.h>

#include "store/store_internal.h"

#define HASH_BYTES 32

/* Cached statements in s->token_stmt[]. */
enum { TS_INSERT, TS_FIND, TS_LIST, TS_REVOKE, TS_TOUCH, TS__COUNT };
_Static_assert(TS__COUNT <= FC__TOKEN_STMTS, "room for the token statements");

#define TOKEN_COLS                                                                                 \
    "id, name, role, scope, created_at, coalesce(revoked_at, 0), "                                 \
    "coalesce(last_used_at, 0)"

static const char *const token_sql[TS__COUNT] = {
    [TS_INSERT] = "INSERT INTO token(name, role, scope, hash, created_at) VALUES(?,?,?,?,?)",
    [TS_FIND] = "SELECT " TOKEN_COLS " FROM token WHERE hash = ? AND revoked_at IS NULL",
    [TS_LIST] = "SELECT " TOKEN_COLS " FROM token ORDER BY name",
    [TS_REVOKE] = "UPDATE token SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
    [TS_TOUCH] = "UPDATE token SET last_used_at = ? WHERE id = ?",
};

static sqlite3_stmt *token_stmt(fc_store *s, int which, fc_err *err) {
    return fc__stmt_cached(s, &s->token_stmt[which], token_sql[which], err);
}

/* Copy text column i of st into dst[0..cap) (truncated, NUL-terminated). */
static void column_text(sqlite3_stmt *st, int i, char *dst, size_t cap) {
    const unsigned char *v = sqlite3_column_text(st, i);
    size_t n = v != NULL ? (size_t)sqlite3_column_bytes(st, i) : 0;
    if (n >= cap) {
        n = cap - 1;
    }
    if (n > 0) {
        memcpy(dst, v, n);
    }
    dst[n] = '\0';
}

/* Read the TOKEN_COLS of the current row. */
static void read_row(sqlite3_stmt *st, fc_token *t) {
    memset(t, 0, sizeof *t);
    t->id = sqlite3_column_int64(st, 0);
    column_text(st, 1, t->name, sizeof t->name);
    column_text(st, 2, t->role, sizeof t->role);
    column_text(st, 3, t->scope, sizeof t->scope);
    t->created_at = sqlite3_column_int64(st, 4);
    t->revoked_at = sqlite3_column_int64(st, 5);
    t->last_used_at = sqlite3_column_int64(st, 6);
}

int fc_store_token_create(fc_store *s, const fc_token *t, const uint8_t *hash, int64_t *id,
                          fc_err *err) {
    sqlite3_stmt *st = token_stmt(s, TS_INSERT, err);
    if (st == NULL) {
        return FC_ESTORE;
    }
    fc__bind_cstr(st, 1, t->name);
    fc__bind_cstr(st, 2, t->role);
    fc__bind_cstr(st, 3, t->scope);
    sqlite3_bind_blob(st, 4, hash, HASH_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, t->created_at);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_CONSTRAINT) {
        return fc_err_set(err, FC_EDUP, "", 0, 0, "a token named '%s' already exists", t->name);
    }
    if (rc != SQLITE_DONE) {
        return fc__store_fail(s, err, "storing a token");
    }
    if (id != NULL) {
        *id = sqlite3_last_insert_rowid(s->db);
    }
    return FC_OK;
}

int fc_store_token_find(fc_store *s, const uint8_t *hash, fc_token *out, int *found, fc_err *err) {
    *found = 0;
    sqlite3_stmt *st = token_stmt(s, TS_FIND, err);
    if (st == NULL) {
        return FC_ESTORE;
    }
    sqlite3_bind_blob(st, 1, hash, HASH_BYTES, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        read_row(st, out);
        *found = 1;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        return fc__store_fail(s, err, "finding a token");
    }
    return FC_OK;
}

int fc_store_token_list(fc_store *s, fc_token **out, size_t *n, fc_err *err) {
    *out = NULL;
    *n = 0;
    fc_token *rows = NULL;
    size_t len = 0, cap = 0;
    int rc = FC_OK;
    sqlite3_stmt *st = token_stmt(s, TS_LIST, err);
    if (st == NULL) {
        return FC_ESTORE;
    }
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (fc_grow((void **)&rows, &cap, len + 1, sizeof *rows) != FC_OK) {
            rc = fc_err_set(err, FC_ENOMEM, "", 0, 0, "out of memory listing tokens");
            goto out;
        }
        read_row(st, &rows[len++]);
    }
    if (step != SQLITE_DONE) {
        rc = fc__store_fail(s, err, "listing tokens");
        goto out;
    }
    *out = rows;
    *n = len;
    rows = NULL;
out:
    sqlite3_reset(st);
    fc_free(rows);
    return rc;
}

int fc_store_token_revoke(fc_store *s, const char *name, int64_t now, fc_err *err) {
    sqlite3_stmt *st = token_stmt(s, TS_REVOKE, err);
    if (st == NULL) {
        return FC_ESTORE;
    }
    sqlite3_bind_int64(st, 1, now);
    fc__bind_cstr(st, 2, name);
    int rc = fc__step_done(s, st, err, "revoking a token");
    if (rc != FC_OK) {
        return rc;
    }
    if (sqlite3_changes(s->db) == 0) {
        return fc_err_set(err, FC_ENOTFOUND, "", 0, 0, "no active token named '%s'", name);
    }
    return FC_OK;
}

int fc_store_token_touch(fc_store *s, int64_t id, int64_t now, fc_err *err) {
    sqlite3_stmt *st = token_stmt(s, TS_TOUCH, err);
    if (st == NULL) {
        return FC_ESTORE;
    }
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int64(st, 2, id);
    return fc__step_done(s, st, err, "recording a token's use");
}
