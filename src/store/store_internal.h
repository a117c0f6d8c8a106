/*
 * Internals of the SQLite store shared by its files: sqlite.c (connection,
 * migrations, the event log, ingest log, rejects, reference entities) and
 * case.c (the case log). Nothing outside src/store/ includes this.
 */
#ifndef FC_STORE_INTERNAL_H
#define FC_STORE_INTERNAL_H

#include <sqlite3.h>

#include "store/store.h"

/* Statements of sqlite.c (their SQL is there). */
enum {
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_INSERT_RECORD,
    ST_RECORD_ID_AT,
    ST_NEXT_SEQ,
    ST_KEYS_SINCE,
    ST_KEYS_PUT,
    ST_LOG_FIND,
    ST_LOG_CREATE,
    ST_LOG_SAVE,
    ST_LOG_LIST,
    ST_REJECT,
    ST_REJECTS,
    ST_SCAN,
    ST_SCAN_ORDER,
    ST_RECORD_AT,
    ST_COUNTS,
    ST_PUT_CITY,
    ST_PUT_ZONE,
    ST_PUT_MERCHANT,
    ST_PUT_RIDER,
    ST__COUNT
};

/* Room for case.c's cached statements; the last FC__CARRY_STMTS of them
 * are carry.c's (closed with the connection like the others). */
#define FC__CASE_STMTS  16
#define FC__CARRY_STMTS 4
/* Room for token.c's cached statements. */
#define FC__TOKEN_STMTS 8

/* One entry of an in-memory key table. */
typedef struct key_slot {
    uint64_t key; /* record or order key, KEY_EMPTY when free */
    int64_t seq;  /* the record stored under it */
} key_slot;

/* An in-memory key table: open addressing, cap a power of two. */
typedef struct key_table {
    key_slot *slot;
    size_t cap; /* slots */
    size_t n;   /* used slots */
} key_table;

/* Statements whose SQL is built per call, or that must stay usable while
 * a callback runs other statements (a scan): prepared once, lent out,
 * handed back (fc__stmt_borrow / fc__stmt_return). */
#define FC__STMT_POOL 32
typedef struct fc__pooled_stmt {
    sqlite3_stmt *st; /* NULL: a free entry */
    char *sql;
    int lent;      /* in use by a caller now */
    uint64_t used; /* when last lent (pool_clock) */
} fc__pooled_stmt;

struct fc_store {
    sqlite3 *db;
    fc__pooled_stmt pool[FC__STMT_POOL];
    uint64_t pool_clock;
    sqlite3_stmt *stmt[ST__COUNT];             /* prepared on first use (sqlite.c's statements) */
    sqlite3_stmt *case_stmt[FC__CASE_STMTS];   /* case.c's statements, prepared on first use */
    sqlite3_stmt *token_stmt[FC__TOKEN_STMTS]; /* token.c's statements, prepared on first use */
    int in_batch;
    int version;       /* schema version after migration */
    uint64_t key_mask; /* record keys keep these bits (all 63 outside tests) */
    uint8_t *pack;     /* scratch for packing a record's events */
    size_t pack_len, pack_cap;
    /* The key set: every stored record key, read from record_keys; and the
     * order index of the records whose chunk lists their order keys
     * (record_keys.orders): one entry (order key, seq) per such record. */
    key_table keys;
    key_table orders;
    int keys_loaded;    /* both hold every chunk up to keys_chunk */
    int64_t keys_chunk; /* last record_keys chunk read into them */
    /* The open batch's appends. */
    int batch_ready;          /* next_seq and the set are current for this batch */
    int64_t next_seq;         /* seq of the next appended record */
    int64_t pending_first;    /* seq of the batch's first appended record */
    uint64_t *pending;        /* keys appended in this batch, in seq order */
    uint64_t *pending_orders; /* their order keys + 1 (0: the record names no other order) */
    size_t pending_n, pending_cap, pending_orders_cap;
};

/* Fill err with FC_ESTORE, `what` and SQLite's message; returns FC_ESTORE. */
int fc__store_fail(fc_store *s, fc_err *err, const char *what);
/* Run SQL that returns no rows (several statements allowed). */
int fc__store_exec(fc_store *s, const char *sql, fc_err *err, const char *what);
/* Bind a view that outlives the statement's step (no copy), or a C string
 * (copied); NULL / empty bind "". */
int fc__bind_str(sqlite3_stmt *st, int i, fc_str v);
int fc__bind_cstr(sqlite3_stmt *st, int i, const char *v);
/* The statement cached in *slot (prepared from sql on first use, kept for
 * the connection's life), reset with its bindings cleared; NULL (err
 * filled) when it cannot be prepared. */
sqlite3_stmt *fc__stmt_cached(fc_store *s, sqlite3_stmt **slot, const char *sql, fc_err *err);
/* A statement of `sql`, ready to bind: a pooled one not lent out now, or
 * a fresh one (kept in the pool in place of the one lent least recently
 * when there is room). NULL with err filled when it cannot be prepared.
 * Give it back with fc__stmt_return (reset, bindings cleared; finalized
 * when it is not pooled). A scan's callback may borrow the same SQL again:
 * it gets another statement. */
sqlite3_stmt *fc__stmt_borrow(fc_store *s, const char *sql, fc_err *err);
void fc__stmt_return(fc_store *s, sqlite3_stmt *st); /* NULL is a no-op */
/* Step a statement that returns no rows, and reset it. */
int fc__step_done(fc_store *s, sqlite3_stmt *st, fc_err *err, const char *what);

#endif
