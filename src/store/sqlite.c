/*
 * store: the SQLite backend.
 *
 * Layout (see docs/ingest.md for the durability and speed it gives):
 * - record: one row per input record, appended at the end: `seq` (the rowid)
 *   is the insertion sequence, so the big table only ever grows at its end.
 *   `order_id` is NULL when the record's order is its own id (a row of an
 *   orders export). Records stored before migration 7 whose order differs
 *   from their id carry an `order_key` (hash of the order id) in a partial
 *   index that fc_store_scan_order uses; later ones are found through the
 *   order keys of record_keys below, so an append touches no index.
 * - record_keys: the dedupe log. Every batch appends one chunk: the 63-bit
 *   keys (hash of the record id) of the records it stored, in seq order from
 *   `first_seq`. Written in the same transaction as the records, it is read
 *   once per connection into an in-memory hash set (key -> seq) that every
 *   append checks; so dedupe costs a memory probe, not a random B-tree
 *   insert. Two different ids with the same hash probe key+1, key+2, ...
 *   (deterministic, never deleted, so a lookup walks the same chain). At the
 *   start of each batch the set catches up with chunks other connections
 *   committed; a rolled-back batch drops the set, to be read again. Since
 *   migration 7 a chunk also lists each record's order key (`orders`), read
 *   with the keys into an in-memory order index (order key -> seqs): an
 *   order's later events cost no random B-tree insert either.
 * - ingest_log, reject: the ingest bookkeeping, written in the same
 *   transactions as the records.
 * - city, zone, merchant, rider: reference entities, replaced by id.
 * Every statement is prepared once and cached on the fc_store.
 */
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"

/* Migrations, applied in order, each in one transaction; the version of a
 * store is the number of steps applied. Never edit a step once released:
 * append a new one. */
static const char *const migrations[] = {
    /* 1: the event log, the ingest log, rejects, reference entities. */
    "CREATE TABLE ingest_log("
    " id INTEGER PRIMARY KEY,"
    " source TEXT NOT NULL,"
    " checksum TEXT NOT NULL,"
    " kind TEXT NOT NULL,"
    " state INTEGER NOT NULL,"
    " rows_read INTEGER NOT NULL DEFAULT 0,"
    " accepted INTEGER NOT NULL DEFAULT 0,"
    " rejected INTEGER NOT NULL DEFAULT 0,"
    " duplicates INTEGER NOT NULL DEFAULT 0,"
    " resume_offset INTEGER NOT NULL DEFAULT 0,"
    " resume_line INTEGER NOT NULL DEFAULT 0,"
    " started_at INTEGER NOT NULL DEFAULT 0,"
    " finished_at INTEGER NOT NULL DEFAULT 0,"
    " note TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX ingest_log_checksum ON ingest_log(checksum, kind);"
    "CREATE TABLE record("
    " seq INTEGER PRIMARY KEY,"
    " id TEXT NOT NULL,"
    " order_id TEXT,"
    " order_key INTEGER,"
    " ingest_id INTEGER NOT NULL,"
    " n_events INTEGER NOT NULL,"
    " events BLOB NOT NULL);"
    "CREATE INDEX record_order ON record(order_key) WHERE order_key IS NOT NULL;"
    "CREATE TABLE record_keys("
    " chunk INTEGER PRIMARY KEY,"
    " first_seq INTEGER NOT NULL,"
    " keys BLOB NOT NULL);"
    "CREATE TABLE reject("
    " id INTEGER PRIMARY KEY,"
    " ingest_id INTEGER NOT NULL,"
    " file TEXT NOT NULL,"
    " line INTEGER NOT NULL,"
    " col INTEGER NOT NULL,"
    " field TEXT NOT NULL,"
    " code INTEGER NOT NULL,"
    " reason TEXT NOT NULL,"
    " raw BLOB NOT NULL);"
    "CREATE INDEX reject_ingest ON reject(ingest_id, id);"
    "CREATE TABLE city(city TEXT PRIMARY KEY, country TEXT NOT NULL, tz TEXT NOT NULL,"
    " currency TEXT NOT NULL);"
    "CREATE TABLE zone(city TEXT NOT NULL, zone TEXT NOT NULL, kind TEXT NOT NULL,"
    " PRIMARY KEY(city, zone));"
    "CREATE TABLE merchant(merchant TEXT PRIMARY KEY, city TEXT NOT NULL, zone TEXT NOT NULL,"
    " kind TEXT NOT NULL, brand TEXT NOT NULL, lat_e6 INTEGER, lng_e6 INTEGER);"
    "CREATE TABLE rider(rider TEXT PRIMARY KEY, city TEXT NOT NULL, capacity TEXT NOT NULL,"
    " fleet TEXT NOT NULL, start_date INTEGER);",
    /* 2: records that name no order (weather, platform incidents, shifts) by
     * seq; the case log (decisions, appeals, ledger), append-only. */
    "CREATE INDEX record_unordered ON record(seq) WHERE order_id IS NULL;"
    "CREATE TABLE case_entry("
    " seq INTEGER PRIMARY KEY,"
    " id TEXT NOT NULL UNIQUE,"
    " type INTEGER NOT NULL,"
    " ts INTEGER NOT NULL,"
    " order_id TEXT,"
    " decision TEXT,"
    " appeal TEXT,"
    " city TEXT,"
    " rider TEXT,"
    " merchant TEXT,"
    " actor TEXT NOT NULL,"
    " body TEXT NOT NULL);"
    "CREATE INDEX case_order ON case_entry(order_id) WHERE order_id IS NOT NULL;"
    "CREATE INDEX case_decision ON case_entry(decision) WHERE decision IS NOT NULL;"
    "CREATE INDEX case_appeal ON case_entry(appeal) WHERE appeal IS NOT NULL;"
    "CREATE INDEX case_rider ON case_entry(rider) WHERE rider IS NOT NULL;"
    "CREATE INDEX case_merchant ON case_entry(merchant) WHERE merchant IS NOT NULL;"
    "CREATE INDEX case_type ON case_entry(type, seq);"
    "CREATE TRIGGER case_entry_no_update BEFORE UPDATE ON case_entry"
    " BEGIN SELECT RAISE(ABORT, 'the case log is append-only'); END;"
    "CREATE TRIGGER case_entry_no_delete BEFORE DELETE ON case_entry"
    " BEGIN SELECT RAISE(ABORT, 'the case log is append-only'); END;",
    /* 3: a record that names no order stores order_id '' (NULL means the
     * record's order is its own id): index those. */
    "DROP INDEX record_unordered;"
    "CREATE INDEX record_unordered ON record(seq) WHERE order_id = '';",
    /* 4: API tokens, stored as the BLAKE2b-256 hash of their text only. */
    "CREATE TABLE token("
    " id INTEGER PRIMARY KEY,"
    " name TEXT UNIQUE NOT NULL,"
    " role TEXT NOT NULL,"
    " scope TEXT NOT NULL,"
    " hash BLOB NOT NULL UNIQUE,"
    " created_at INTEGER NOT NULL,"
    " revoked_at INTEGER,"
    " last_used_at INTEGER);",
    /* 5: decisions by the fields lists filter on (liable party, incident,
     * review flag; newest first), and by policy version (counts per
     * version). Expressions over the decision bodies, written as the
     * queries of case.c write them. */
    "CREATE INDEX case_decision_liable ON case_entry(json_extract(body, '$.liable'), seq)"
    " WHERE type = 1;"
    "CREATE INDEX case_decision_incident ON case_entry(json_extract(body, '$.incident'), seq)"
    " WHERE type = 1;"
    "CREATE INDEX case_decision_review ON case_entry(json_extract(body, '$.review'), seq)"
    " WHERE type = 1;"
    "CREATE INDEX case_decision_policy ON case_entry(json_extract(body, '$.policy'),"
    " json_extract(body, '$.policy_version')) WHERE type = 1;",
    /* 6: the carries the judge has seen (an order's rider and its
     * [picked_up_at, delivered_at)), so judging a few orders finds the
     * orders stacked with them without a scan of the whole log; and small
     * named marks the store keeps (how far the server's judge has got). */
    "CREATE TABLE carry("
    " order_id TEXT PRIMARY KEY,"
    " rider TEXT NOT NULL,"
    " picked_up_at INTEGER NOT NULL,"
    " delivered_at INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX carry_rider ON carry(rider, delivered_at);"
    "CREATE TABLE mark("
    " name TEXT PRIMARY KEY,"
    " value INTEGER NOT NULL) WITHOUT ROWID;",
    /* 7: each chunk of record keys also lists its records' order keys (8
     * bytes each, little-endian, the key + 1; 0 when the record names no
     * other order); records appended from now on leave order_key NULL, out
     * of the record_order index (kept for the records before). */
    "ALTER TABLE record_keys ADD COLUMN orders BLOB;",
};
#define N_MIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

static const char *const stmt_sql[ST__COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_INSERT_RECORD] = "INSERT INTO record(seq, id, order_id, order_key, ingest_id, n_events,"
                         " events) VALUES(?,?,?,?,?,?,?)",
    [ST_RECORD_ID_AT] = "SELECT id FROM record WHERE seq = ?",
    [ST_NEXT_SEQ] = "SELECT coalesce(max(seq), 0) + 1 FROM record",
    [ST_KEYS_SINCE] =
        "SELECT chunk, first_seq, keys, orders FROM record_keys WHERE chunk > ? ORDER BY chunk",
    [ST_KEYS_PUT] = "INSERT INTO record_keys(first_seq, keys, orders) VALUES(?,?,?)",
    [ST_LOG_FIND] = "SELECT id, source, checksum, kind, state, rows_read, accepted, rejected,"
                    " duplicates, resume_offset, resume_line, started_at, finished_at, note"
                    " FROM ingest_log WHERE checksum = ? AND kind = ? ORDER BY id DESC LIMIT 1",
    [ST_LOG_CREATE] = "INSERT INTO ingest_log(source, checksum, kind, state, started_at)"
                      " VALUES(?,?,?,0,?)",
    [ST_LOG_SAVE] = "UPDATE ingest_log SET state = ?, rows_read = ?, accepted = ?, rejected = ?,"
                    " duplicates = ?, resume_offset = ?, resume_line = ?, finished_at = ?,"
                    " note = ?, checksum = ? WHERE id = ?",
    [ST_LOG_LIST] = "SELECT id, source, checksum, kind, state, rows_read, accepted, rejected,"
                    " duplicates, resume_offset, resume_line, started_at, finished_at, note"
                    " FROM ingest_log ORDER BY id DESC",
    [ST_REJECT] = "INSERT INTO reject(ingest_id, file, line, col, field, code, reason, raw)"
                  " VALUES(?,?,?,?,?,?,?,?)",
    [ST_REJECTS] = "SELECT file, line, col, field, code, reason, raw FROM reject"
                   " WHERE ingest_id = ? ORDER BY id",
    [ST_SCAN] = "SELECT id, coalesce(order_id, id), n_events, events FROM record ORDER BY seq",
    [ST_SCAN_ORDER] = "SELECT seq FROM record WHERE order_key = ? AND order_id = ?",
    [ST_RECORD_AT] = "SELECT id, coalesce(order_id, id), n_events, events FROM record"
                     " WHERE seq = ?",
    [ST_COUNTS] = "SELECT count(*), coalesce(sum(n_events), 0) FROM record",
    [ST_PUT_CITY] = "INSERT OR REPLACE INTO city(city, country, tz, currency) VALUES(?,?,?,?)",
    [ST_PUT_ZONE] = "INSERT OR REPLACE INTO zone(city, zone, kind) VALUES(?,?,?)",
    [ST_PUT_MERCHANT] = "INSERT OR REPLACE INTO merchant(merchant, city, zone, kind, brand,"
                        " lat_e6, lng_e6) VALUES(?,?,?,?,?,?,?)",
    [ST_PUT_RIDER] = "INSERT OR REPLACE INTO rider(rider, city, capacity, fleet, start_date)"
                     " VALUES(?,?,?,?,?)",
};

#define KEY_MASK_FULL ((uint64_t)INT64_MAX)
#define RAW_MAX_BYTES 1024

#define KEY_EMPTY UINT64_MAX /* a free slot of the key set (keys have 63 bits) */

int fc__store_fail(fc_store *s, fc_err *err, const char *what) {
    return fc_err_set(err, FC_ESTORE, NULL, 0, 0, "%s: %s", what,
                      s != NULL && s->db != NULL ? sqlite3_errmsg(s->db) : "no database");
}

sqlite3_stmt *fc__stmt_cached(fc_store *s, sqlite3_stmt **slot, const char *sql, fc_err *err) {
    sqlite3_stmt *st = *slot;
    if (st == NULL) {
        if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
            fc__store_fail(s, err, "preparing a statement");
            return NULL;
        }
        *slot = st;
        return st;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return st;
}

/* The cached statement `which`, reset and with its bindings cleared, or NULL
 * (err filled) when it cannot be prepared. */
sqlite3_stmt *fc__stmt_borrow(fc_store *s, const char *sql, fc_err *err) {
    fc__pooled_stmt *spare = NULL; /* where a new statement goes */
    for (size_t i = 0; i < FC__STMT_POOL; i++) {
        fc__pooled_stmt *p = &s->pool[i];
        if (p->st != NULL && !p->lent && strcmp(p->sql, sql) == 0) {
            p->lent = 1;
            p->used = ++s->pool_clock;
            return p->st;
        }
        /* An empty entry, else the one lent least recently. */
        if (!p->lent &&
            (spare == NULL || (spare->st != NULL && (p->st == NULL || p->used < spare->used)))) {
            spare = p;
        }
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
        fc__store_fail(s, err, "preparing a statement");
        sqlite3_finalize(st);
        return NULL;
    }
    char *copy = spare != NULL ? fc_strdup(sql) : NULL;
    if (copy != NULL) {
        sqlite3_finalize(spare->st);
        fc_free(spare->sql);
        *spare = (fc__pooled_stmt){st, copy, 1, ++s->pool_clock};
    }
    return st;
}

void fc__stmt_return(fc_store *s, sqlite3_stmt *st) {
    if (st == NULL) {
        return;
    }
    for (size_t i = 0; i < FC__STMT_POOL; i++) {
        if (s->pool[i].st == st) {
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            s->pool[i].lent = 0;
            return;
        }
    }
    sqlite3_finalize(st);
}

static sqlite3_stmt *stmt_get(fc_store *s, int which, fc_err *err) {
    return fc__stmt_cached(s, &s->stmt[which], stmt_sql[which], err);
}

/* For views that outlive the statement's step (no copy). */
int fc__bind_str(sqlite3_stmt *st, int i, fc_str v) {
    return sqlite3_bind_text(st, i, v.p != NULL ? v.p : "", (int)v.n, SQLITE_STATIC);
}

int fc__bind_cstr(sqlite3_stmt *st, int i, const char *v) {
    return sqlite3_bind_text(st, i, v != NULL ? v : "", -1, SQLITE_TRANSIENT);
}

/* Run a statement that returns no rows. */
int fc__step_done(fc_store *s, sqlite3_stmt *st, fc_err *err, const char *what) {
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        return fc__store_fail(s, err, what);
    }
    return FC_OK;
}

int fc__store_exec(fc_store *s, const char *sql, fc_err *err, const char *what) {
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fc_err_set(err, FC_ESTORE, NULL, 0, 0, "%s: %s", what, msg != NULL ? msg : "failed");
        sqlite3_free(msg);
        return FC_ESTORE;
    }
    return FC_OK;
}

static int query_int(fc_store *s, const char *sql, int64_t *out, fc_err *err) {
    sqlite3_stmt *st = NULL;
    int rc = FC_OK;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        rc = fc__store_fail(s, err, "reading the schema");
        goto out;
    }
    if (sqlite3_step(st) != SQLITE_ROW) {
        rc = fc__store_fail(s, err, "reading the schema");
        goto out;
    }
    *out = sqlite3_column_int64(st, 0);
out:
    sqlite3_finalize(st);
    return rc;
}

/* Bring the schema to the newest version, one transaction per step. */
static int migrate(fc_store *s, fc_err *err) {
    int rc = fc__store_exec(s,
                            "CREATE TABLE IF NOT EXISTS schema_version("
                            "version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
                            err, "creating schema_version");
    if (rc != FC_OK) {
        return rc;
    }
    int64_t have = 0;
    rc = query_int(s, "SELECT coalesce(max(version), 0) FROM schema_version", &have, err);
    if (rc != FC_OK) {
        return rc;
    }
    if (have > N_MIGRATIONS) {
        return fc_err_set(err, FC_ESTORE, NULL, 0, 0,
                          "the store has schema version %lld, newer than this fulcrum (%d)",
                          (long long)have, N_MIGRATIONS);
    }
    for (int v = (int)have + 1; v <= N_MIGRATIONS; v++) {
        char bump[128];
        snprintf(bump, sizeof bump,
                 "INSERT INTO schema_version(version, applied_at) VALUES(%d, "
                 "CAST(strftime('%%s','now') AS INTEGER))",
                 v);
        rc = fc__store_exec(s, "BEGIN IMMEDIATE", err, "starting a migration");
        if (rc == FC_OK) {
            rc = fc__store_exec(s, migrations[v - 1], err, "applying a migration");
        }
        if (rc == FC_OK) {
            rc = fc__store_exec(s, bump, err, "recording a migration");
        }
        if (rc == FC_OK) {
            rc = fc__store_exec(s, "COMMIT", err, "committing a migration");
        }
        if (rc != FC_OK) {
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            return rc;
        }
    }
    s->version = N_MIGRATIONS;
    return FC_OK;
}

/* Once per process, before SQLite starts: no memory statistics (they take
 * a global mutex on every allocation of every connection). */
static void sqlite_setup(void) {
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int fc_store_open(const char *path, fc_store **out, fc_err *err) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, sqlite_setup);
    int rc = FC_OK;
    *out = NULL;
    fc_store *s = fc_calloc(1, sizeof *s);
    if (s == NULL) {
        return fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory opening the store");
    }
    s->key_mask = KEY_MASK_FULL;
    /* NOMUTEX: a connection is used by one thread at a time (store.h). */
    if (sqlite3_open_v2(path, &s->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        rc = fc_err_set(err, FC_ESTORE, path, 0, 0, "cannot open the store: %s",
                        s->db != NULL ? sqlite3_errmsg(s->db) : "out of memory");
        goto out;
    }
    sqlite3_busy_timeout(s->db, 10000);
    /* 64 KiB pages (set before the first table exists; an existing store
     * keeps its own): records are only appended, so big pages mean fewer
     * pages, frames and writes. WAL + synchronous=NORMAL: a commit survives
     * a process crash; a power loss may lose the last commits, never corrupt
     * (docs/ingest.md). A checkpoint every 1024 pages (64 MiB) keeps the WAL
     * bounded, and journal_size_limit gives the space back after it. */
    rc =
        fc__store_exec(s,
                       "PRAGMA page_size=65536; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                       " PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY;"
                       " PRAGMA wal_autocheckpoint=1024; PRAGMA journal_size_limit=67108864",
                       err, "configuring the store");
    if (rc != FC_OK) {
        goto out;
    }
    rc = migrate(s, err);
out:
    if (rc != FC_OK) {
        fc_store_close(s);
        return rc;
    }
    *out = s;
    return FC_OK;
}

void fc_store_close(fc_store *s) {
    if (s == NULL) {
        return;
    }
    if (s->in_batch) {
        fc_store_rollback(s);
    }
    for (int i = 0; i < ST__COUNT; i++) {
        sqlite3_finalize(s->stmt[i]);
    }
    for (int i = 0; i < FC__CASE_STMTS; i++) {
        sqlite3_finalize(s->case_stmt[i]);
    }
    for (int i = 0; i < FC__TOKEN_STMTS; i++) {
        sqlite3_finalize(s->token_stmt[i]);
    }
    for (size_t i = 0; i < FC__STMT_POOL; i++) {
        sqlite3_finalize(s->pool[i].st);
        fc_free(s->pool[i].sql);
    }
    sqlite3_close(s->db);
    fc_free(s->pack);
    fc_free(s->keys.slot);
    fc_free(s->orders.slot);
    fc_free(s->pending);
    fc_free(s->pending_orders);
    fc_free(s);
}

int fc_store_schema_version(fc_store *s) {
    return s->version;
}

void fc_store_test_key_bits(fc_store *s, unsigned bits) {
    if (bits < 1 || bits > 63) {
        bits = 63;
    }
    s->key_mask = bits == 63 ? KEY_MASK_FULL : (((uint64_t)1 << bits) - 1);
}

const char *fc_ingest_state_name(fc_ingest_state st) {
    switch (st) {
    case FC_INGEST_RUNNING:
        return "running";
    case FC_INGEST_DONE:
        return "done";
    case FC_INGEST_STOPPED:
        return "stopped";
    }
    return "";
}

/* ---------------------------------------------------------------------------
 * The key set.
 */
static size_t key_home(const key_table *t, uint64_t key) {
    /* Keys are hashes already, but tests keep only a few low bits. */
    return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 17) & (t->cap - 1);
}

/* The slot holding `key`, or the free slot where it would go. */
static key_slot *keys_slot(const key_table *t, uint64_t key) {
    size_t i = key_home(t, key);
    for (;;) {
        key_slot *k = &t->slot[i];
        if (k->key == key || k->key == KEY_EMPTY) {
            return k;
        }
        i = (i + 1) & (t->cap - 1);
    }
}

/* The first free slot of key's probe chain: where one more entry under
 * `key` goes (the order index keeps one entry per record). */
static key_slot *keys_free_slot(const key_table *t, uint64_t key) {
    size_t i = key_home(t, key);
    while (t->slot[i].key != KEY_EMPTY) {
        i = (i + 1) & (t->cap - 1);
    }
    return &t->slot[i];
}

/* Make room for `more` entries (load kept at most 1/2). */
static int keys_reserve(key_table *t, size_t more, fc_err *err) {
    if ((t->n + more) * 2 <= t->cap) {
        return FC_OK;
    }
    size_t cap = t->cap > 0 ? t->cap : 1024;
    while ((t->n + more) * 2 > cap) {
        cap *= 2;
    }
    key_slot *old = t->slot;
    size_t old_cap = t->cap;
    key_slot *fresh = fc_malloc(cap * sizeof *fresh);
    if (fresh == NULL) {
        return fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory for the record keys");
    }
    memset(fresh, 0xff, cap * sizeof *fresh); /* every key KEY_EMPTY */
    t->slot = fresh;
    t->cap = cap;
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i].key != KEY_EMPTY) {
            *keys_free_slot(t, old[i].key) = old[i];
        }
    }
    fc_free(old);
    return FC_OK;
}

static void keys_clear(key_table *t) {
    t->n = 0;
    if (t->slot != NULL) {
        memset(t->slot, 0xff, t->cap * sizeof *t->slot);
    }
}

/* Forget the set; the next keys_sync reads it again from record_keys. */
static void keys_drop(fc_store *s) {
    s->keys_loaded = 0;
    s->keys_chunk = 0;
    keys_clear(&s->keys);
    keys_clear(&s->orders);
    s->batch_ready = 0;
    s->pending_n = 0;
}

static uint64_t get_le64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) {
        v = v << 8 | p[i];
    }
    return v;
}

static void put_le64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

/* Add a chunk's order keys (n of them, from record `seq` on) to the order
 * index. */
static int orders_add(fc_store *s, const uint8_t *p, size_t n, int64_t seq, fc_err *err) {
    int rc = keys_reserve(&s->orders, n, err);
    if (rc != FC_OK) {
        return rc;
    }
    for (size_t i = 0; i < n; i++, seq++) {
        uint64_t v = get_le64(p + 8 * i);
        if (v != 0) {
            key_slot *k = keys_free_slot(&s->orders, v - 1);
            k->key = v - 1;
            k->seq = seq;
            s->orders.n++;
        }
    }
    return FC_OK;
}

/* Read the chunks committed since the set was last brought up to date (all
 * of them the first time) into the set and the order index. */
static int keys_sync(fc_store *s, fc_err *err) {
    sqlite3_stmt *st = stmt_get(s, ST_KEYS_SINCE, err);
    if (st == NULL) {
        return FC_ESTORE;
    }
    /* never probe an empty table */
    int rc = keys_reserve(&s->keys, 1, err);
    if (rc == FC_OK) {
        rc = keys_reserve(&s->orders, 1, err);
    }
    if (rc != FC_OK) {
        goto out;
    }
    sqlite3_bind_int64(st, 1, s->keys_loaded ? s->keys_chunk : 0);
    for (;;) {
        int step = sqlite3_step(st);
        if (step == SQLITE_DONE) {
            break;
        }
        if (step != SQLITE_ROW) {
            rc = fc__store_fail(s, err, "reading the record keys");
            goto out;
        }
        int64_t chunk = sqlite3_column_int64(st, 0);
        int64_t seq = sqlite3_column_int64(st, 1);
        const uint8_t *p = sqlite3_column_blob(st, 2);
        size_t n = (size_t)sqlite3_column_bytes(st, 2) / 8;
        rc = keys_reserve(&s->keys, n, err);
        if (rc != FC_OK) {
            goto out;
        }
        for (size_t i = 0; i < n; i++) {
            uint64_t key = get_le64(p + 8 * i);
            key_slot *k = keys_slot(&s->keys, key);
            if (k->key == KEY_EMPTY) {
                s->keys.n++;
            }
            k->key = key;
            k->seq = seq + (int64_t)i;
        }
        /* A chunk written before migration 7 has no order keys: its
         * records are in the record_order index. */
        const uint8_t *o = sqlite3_column_blob(st, 3);
        if (o != NULL && (size_t)sqlite3_column_bytes(st, 3) == n * 8) {
            rc = orders_add(s, o, n, seq, err);
            if (rc != FC_OK) {
                goto out;
            }
        }
        s->keys_chunk = chunk;
    }
    s->keys_loaded = 1;
out:
    sqlite3_reset(st);
    if (rc != FC_OK) {
        keys_drop(s);
    }
    return rc;
}

/* Append the open batch's keys and order keys as one record_keys chunk;
 * *chunk is its id, 0 when the batch appended nothing. */
static int keys_put(fc_store *s, int64_t *chunk, fc_err *err) {
    *chunk = 0;
    if (s->pending_n == 0) {
        return FC_OK;
    }
    uint8_t *blob = fc_malloc(s->pending_n * 16);
    if (blob == NULL) {
        return fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory committing a batch");
    }
    uint8_t *orders = blob + s->pending_n * 8;
    for (size_t i = 0; i < s->pending_n; i++) {
        put_le64(blob + 8 * i, s->pending[i]);
        put_le64(orders + 8 * i, s->pending_orders[i]);
    }
    int rc = FC_OK;
    sqlite3_stmt *st = stmt_get(s, ST_KEYS_PUT, err);
    if (st == NULL) {
        rc = FC_ESTORE;
        goto out;
    }
    sqlite3_bind_int64(st, 1, s->pending_first);
    sqlite3_bind_blob(st, 2, blob, (int)(s->pending_n * 8), SQLITE_STATIC);
    sqlite3_bind_blob(st, 3, orders, (int)(s->pending_n * 8), SQLITE_STATIC);
    rc = fc__step_done(s, st, err, "saving the record keys");
    if (rc == FC_OK) {
        *chunk = sqlite3_last_insert_rowid(s->db);
    }
out:
    fc_free(blob);
    return rc;
}

/* Before the first append of a batch: the next seq, and the set brought up
 * to date (the batch holds the write lock, so nobody appends meanwhile). */
static int batch_prepare(fc_store *s, fc_err *err) {
    sqlite3_stmt *st = stmt_get(s, ST_NEXT_SEQ, err);
    if (st == NULL) {
        return FC_ESTORE;
    }
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        return fc__store_fail(s, err, "reading the record sequence");
    }
    s->next_seq = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    int rc = keys_sync(s, err);
    if (rc != FC_OK) {
        return rc;
    }
    s->pending_first = s->next_seq;
    s->pending_n = 0;
    s->batch_ready = 1;
    return FC_OK;
}

/* ---------------------------------------------------------------------------
 * Batches.
 */
int fc_store_begin(fc_store *s, fc_err *err) {
    if (s->in_batch) {
        return fc_err_set(err, FC_EINVAL, NULL, 0, 0, "a batch is already open");
    }
    sqlite3_stmt *st = stmt_get(s, ST_BEGIN, err);
    if (st == NULL) {
        return FC_ESTORE;
    }
    int rc = fc__step_done(s, st, err, "starting a batch");
    if (rc == FC_OK) {
        s->in_batch = 1;
        s->batch_ready = 0;
        s->pending_n = 0;
    }
    return rc;
}

static int log_save(fc_store *s, const fc_ingest_log *log, fc_err *err) {
    sqlite3_stmt *st = stmt_get(s, ST_LOG_SAVE, err);
    if (st == NULL) {
        return FC_ESTORE;
    }
    sqlite3_bind_int(st, 1, (int)log->state);
    sqlite3_bind_int64(st, 2, log->rows_read);
    sqlite3_bind_int64(st, 3, log->accepted);
    sqlite3_bind_int64(st, 4, log->rejected);
    sqlite3_bind_int64(st, 5, log->duplicates);
    sqlite3_bind_int64(st, 6, log->resume_offset);
    sqlite3_bind_int64(st, 7, log->resume_line);
    sqlite3_bind_int64(st, 8, log->finished_at);
    fc__bind_cstr(st, 9, log->note);
    fc__bind_cstr(st, 10, log->checksum);
    sqlite3_bind_int64(st, 11, log->id);
    int rc = fc__step_done(s, st, err, "saving the ingest log");
    if (rc == FC_OK && sqlite3_changes(s->db) != 1) {
        rc = fc_err_set(err, FC_ENOTFOUND, NULL, 0, 0, "no ingest log with id %lld",
                        (long long)log->id);
    }
    return rc;
}

int fc_store_commit(fc_store *s, const fc_ingest_log *log, fc_err *err) {
    int rc = FC_OK;
    if (!s->in_batch) {
        return fc_err_set(err, FC_EINVAL, NULL, 0, 0, "no batch is open");
    }
    int64_t chunk = 0;
    rc = keys_put(s, &chunk, err);
    if (rc != FC_OK) {
        goto out;
    }
    if (log != NULL) {
        rc = log_save(s, log, err);
        if (rc != FC_OK) {
            goto out;
        }
    }
    sqlite3_stmt *st = stmt_get(s, ST_COMMIT, err);
    if (st == NULL) {
        rc = FC_ESTORE;
        goto out;
    }
    rc = fc__step_done(s, st, err, "committing a batch");
out:
    if (rc != FC_OK) {
        fc_store_rollback(s);
    } else {
        s->in_batch = 0;
        s->batch_ready = 0;
        s->pending_n = 0;
        if (chunk > 0) {
            s->keys_chunk = chunk;
        }
    }
    return rc;
}

int fc_store_rollback(fc_store *s) {
    /* The set may hold keys of the batch: read it again when next needed. */
    keys_drop(s);
    if (!s->in_batch && sqlite3_get_autocommit(s->db)) {
        return FC_OK;
    }
    s->in_batch = 0;
    fc_err ignored;
    sqlite3_stmt *st = stmt_get(s, ST_ROLLBACK, &ignored);
    if (st == NULL) {
        return FC_ESTORE;
    }
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    /* A failed statement may already have rolled the transaction back. */
    return rc == SQLITE_DONE || sqlite3_get_autocommit(s->db) ? FC_OK : FC_ESTORE;
}

static int need_batch(fc_store *s, fc_err *err) {
    if (!s->in_batch) {
        return fc_err_set(err, FC_EINVAL, NULL, 0, 0, "writes must be inside a batch");
    }
    return FC_OK;
}

/* ---------------------------------------------------------------------------
 * Records.
 */
static uint64_t key_hash(fc_str id) {
    return fc_hash64(id.p, id.n, 0) & KEY_MASK_FULL;
}

/* Is the record stored at `seq` the one named `id`? *same = 1 when it is. */
static int id_at(fc_store *s, int64_t seq, fc_str id, int *same, fc_err *err) {
    sqlite3_stmt *st = stmt_get(s, ST_RECORD_ID_AT, err);
    if (st == NULL) {
        return FC_ESTORE;
    }
    sqlite3_bind_int64(st, 1, seq);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        return fc_err_set(err, FC_ESTORE, NULL, 0, 0,
                          "the record keys name record %lld, which is not stored", (long long)seq);
    }
    const void *p = sqlite3_column_text(st, 0);
    int n = sqlite3_column_bytes(st, 0);
    *same = (uint32_t)n == id.n && (n == 0 || memcmp(p, id.p, (size_t)n) == 0);
    sqlite3_reset(st);
    return FC_OK;
}

/* Find the record named `id` through the key set: *seq is its seq, or 0
 * when it is not stored. *free_key is the key a new record of that id gets
 * (the end of its probe chain); FC_ELIMIT when every key is taken. */
static int find_record(fc_store *s, fc_str id, int64_t *seq, uint64_t *free_key, fc_err *err) {
    *seq = 0;
    uint64_t key = key_hash(id) & s->key_mask;
    for (uint64_t probes = 0; probes <= s->key_mask; probes++) {
        key_slot *k = keys_slot(&s->keys, key);
        if (k->key == KEY_EMPTY) {
            *free_key = key;
            return FC_OK;
        }
        int same = 0;
        int rc = id_at(s, k->seq, id, &same, err);
        if (rc != FC_OK) {
            return rc;
        }
        if (same) {
            *seq = k->seq;
            return FC_OK;
        }
        key = (key + 1) & s->key_mask; /* a hash collision: probe the next key */
    }
    return fc_err_set(err, FC_ELIMIT, NULL, 0, 0, "the record key space is full");
}

int fc_store_append_packed(fc_store *s, int64_t ingest_id, fc_str record_id, fc_str order,
                           const uint8_t *packed, size_t len, size_t n_events, int *dup,
                           fc_err *err) {
    *dup = 0;
    int rc = need_batch(s, err);
    if (rc != FC_OK) {
        return rc;
    }
    if (record_id.n == 0) {
        return fc_err_set(err, FC_EINVAL, NULL, 0, 0, "a record needs an id");
    }
    if (len > INT_MAX) {
        return fc_err_set(err, FC_ELIMIT, NULL, 0, 0, "a record's events are too large");
    }
    if (!s->batch_ready) {
        rc = batch_prepare(s, err);
        if (rc != FC_OK) {
            return rc;
        }
    }
    int64_t seq = 0;
    uint64_t key = 0;
    rc = find_record(s, record_id, &seq, &key, err);
    if (rc != FC_OK) {
        return rc;
    }
    if (seq != 0) {
        *dup = 1;
        return FC_OK;
    }
    if (keys_reserve(&s->keys, 1, err) != FC_OK || keys_reserve(&s->orders, 1, err) != FC_OK ||
        fc_grow((void **)&s->pending, &s->pending_cap, s->pending_n + 1, sizeof *s->pending) !=
            FC_OK ||
        fc_grow((void **)&s->pending_orders, &s->pending_orders_cap, s->pending_n + 1,
                sizeof *s->pending_orders) != FC_OK) {
        return fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory appending a record");
    }
    sqlite3_stmt *st = stmt_get(s, ST_INSERT_RECORD, err);
    if (st == NULL) {
        return FC_ESTORE;
    }
    /* The order is found through the order index (order_key stays NULL:
     * no B-tree insert). */
    int own_order = fc_str_eq(order, record_id);
    uint64_t order_key = !own_order && order.n > 0 ? key_hash(order) : KEY_EMPTY;
    sqlite3_bind_int64(st, 1, s->next_seq);
    fc__bind_str(st, 2, record_id);
    if (!own_order) {
        fc__bind_str(st, 3, order);
    }
    sqlite3_bind_int64(st, 5, ingest_id);
    sqlite3_bind_int64(st, 6, (sqlite3_int64)n_events);
    sqlite3_bind_blob(st, 7, len > 0 ? (const void *)packed : "", (int)len, SQLITE_STATIC);
    rc = fc__step_done(s, st, err, "appending a record");
    if (rc != FC_OK) {
        return rc;
    }
    key_slot *k = keys_slot(&s->keys, key);
    k->key = key;
    k->seq = s->next_seq;
    s->keys.n++;
    if (order_key != KEY_EMPTY) {
        key_slot *o = keys_free_slot(&s->orders, order_key);
        o->key = order_key;
        o->seq = s->next_seq;
        s->orders.n++;
    }
    s->pending_orders[s->pending_n] = order_key != KEY_EMPTY ? order_key + 1 : 0;
    s->pending[s->pending_n++] = key;
    s->next_seq++;
    return FC_OK;
}

int fc_store_append(fc_store *s, int64_t ingest_id, fc_str record_id, fc_str order,
                    const fc_event *events, size_t n, int *dup, fc_err *err) {
    *dup = 0;
    s->pack_len = 0;
    for (size_t i = 0; i < n; i++) {
        int rc = fc_event_pack(&events[i], &s->pack, &s->pack_len, &s->pack_cap);
        if (rc != FC_OK) {
            return fc_err_set(err, rc, NULL, 0, 0, "cannot pack an event");
        }
    }
    return fc_store_append_packed(s, ingest_id, record_id, order, s->pack, s->pack_len, n, dup,
                                  err);
}

/* Decode a stored record and hand it to cb. */
static int emit_record(sqlite3_stmt *st, fc_event **evs, size_t *cap, fc_store_record_cb cb,
                       void *ud, fc_err *err) {
    fc_str id =
        fc_str_make((const char *)sqlite3_column_text(st, 0), (size_t)sqlite3_column_bytes(st, 0));
    fc_str order =
        fc_str_make((const char *)sqlite3_column_text(st, 1), (size_t)sqlite3_column_bytes(st, 1));
    int64_t n64 = sqlite3_column_int64(st, 2);
    const uint8_t *p = sqlite3_column_blob(st, 3);
    size_t len = (size_t)sqlite3_column_bytes(st, 3);
    if (n64 < 0 || n64 > INT_MAX) {
        return fc_err_set(err, FC_ESTORE, NULL, 0, 0, "corrupt record '%.*s'", (int)id.n, id.p);
    }
    size_t n = (size_t)n64;
    if (fc_grow((void **)evs, cap, n > 0 ? n : 1, sizeof **evs) != FC_OK) {
        return fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory reading records");
    }
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        size_t used = 0;
        if (p == NULL || fc_event_unpack(p + at, len - at, &(*evs)[i], &used) != FC_OK) {
            return fc_err_set(err, FC_ESTORE, NULL, 0, 0, "corrupt events in record '%.*s'",
                              (int)id.n, id.p);
        }
        at += used;
    }
    return cb(ud, id, order, *evs, n);
}

static int scan_stmt(fc_store *s, sqlite3_stmt *st, fc_store_record_cb cb, void *ud, fc_err *err) {
    fc_event *evs = NULL;
    size_t cap = 0;
    int rc = FC_OK;
    for (;;) {
        int step = sqlite3_step(st);
        if (step == SQLITE_DONE) {
            break;
        }
        if (step != SQLITE_ROW) {
            rc = fc__store_fail(s, err, "reading records");
            break;
        }
        rc = emit_record(st, &evs, &cap, cb, ud, err);
        if (rc != 0) {
            break;
        }
    }
    sqlite3_reset(st);
    fc_free(evs);
    return rc;
}

/* Decode every record `sql` selects (id, order, n_events, events). Prepared
 * apart from the cache: a callback may use the store, even scan. */
static int scan_sql(fc_store *s, const char *sql, fc_store_record_cb cb, void *ud, fc_err *err) {
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        return fc__store_fail(s, err, "reading records");
    }
    int rc = scan_stmt(s, st, cb, ud, err);
    sqlite3_finalize(st);
    return rc;
}

int fc_store_scan(fc_store *s, fc_store_record_cb cb, void *ud, fc_err *err) {
    return scan_sql(s, stmt_sql[ST_SCAN], cb, ud, err);
}

static int cmp_seq(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int fc_store_scan_unordered(fc_store *s, fc_store_record_cb cb, void *ud, fc_err *err) {
    return scan_sql(s,
                    "SELECT id, id, n_events, events FROM record INDEXED BY record_unordered"
                    " WHERE order_id = '' ORDER BY seq",
                    cb, ud, err);
}

int fc_store_scan_order(fc_store *s, fc_str order, fc_store_record_cb cb, void *ud, fc_err *err) {
    /* Borrowed: a callback may use the store, this call included. */
    sqlite3_stmt *find = NULL, *at = NULL;
    int64_t *seqs = NULL;
    size_t n = 0, cap = 0;
    fc_event *evs = NULL;
    size_t evs_cap = 0;
    int rc = FC_OK;
    if (order.n == 0) {
        return FC_OK;
    }
    find = fc__stmt_borrow(s, stmt_sql[ST_SCAN_ORDER], err);
    at = find != NULL ? fc__stmt_borrow(s, stmt_sql[ST_RECORD_AT], err) : NULL;
    if (at == NULL) {
        rc = FC_ESTORE;
        goto out;
    }
    /* The record whose id is the order (a row of an orders export)... */
    if (!s->keys_loaded || !s->in_batch) {
        rc = keys_sync(s, err);
        if (rc != FC_OK) {
            goto out;
        }
    }
    int64_t own = 0;
    uint64_t unused_key = 0;
    rc = find_record(s, order, &own, &unused_key, err);
    if (rc == FC_ELIMIT) {
        rc = FC_OK; /* every key taken and none of them this id */
    }
    if (rc != FC_OK) {
        goto out;
    }
    if (own != 0) {
        if (fc_grow((void **)&seqs, &cap, n + 1, sizeof *seqs) != FC_OK) {
            goto oom;
        }
        seqs[n++] = own;
    }
    /* ...and the records that name it as their order. */
    sqlite3_bind_int64(find, 1, (sqlite3_int64)key_hash(order));
    fc__bind_str(find, 2, order);
    for (;;) {
        int step = sqlite3_step(find);
        if (step == SQLITE_DONE) {
            break;
        }
        if (step != SQLITE_ROW) {
            rc = fc__store_fail(s, err, "reading an order");
            goto out;
        }
        if (fc_grow((void **)&seqs, &cap, n + 1, sizeof *seqs) != FC_OK) {
            goto oom;
        }
        seqs[n++] = sqlite3_column_int64(find, 0);
    }
    /* ...those the order index holds (stored since migration 7; a key
     * shared by two orders is told apart by the row's order_id)... */
    uint64_t okey = key_hash(order);
    for (size_t i = key_home(&s->orders, okey); s->orders.slot[i].key != KEY_EMPTY;
         i = (i + 1) & (s->orders.cap - 1)) {
        if (s->orders.slot[i].key != okey) {
            continue;
        }
        if (fc_grow((void **)&seqs, &cap, n + 1, sizeof *seqs) != FC_OK) {
            goto oom;
        }
        seqs[n++] = s->orders.slot[i].seq;
    }
    /* ...in log order. */
    if (n > 1) {
        qsort(seqs, n, sizeof *seqs, cmp_seq);
    }
    for (size_t i = 0; i < n; i++) {
        sqlite3_reset(at);
        sqlite3_bind_int64(at, 1, seqs[i]);
        int step = sqlite3_step(at);
        if (step != SQLITE_ROW) {
            rc = fc__store_fail(s, err, "reading an order");
            goto out;
        }
        /* Its order: a record named like the order but stored with
         * another, or another order under the same key, is not its. */
        if ((size_t)sqlite3_column_bytes(at, 1) != order.n ||
            memcmp(sqlite3_column_text(at, 1), order.p, order.n) != 0) {
            continue;
        }
        rc = emit_record(at, &evs, &evs_cap, cb, ud, err);
        if (rc != 0) {
            goto out;
        }
    }
    goto out;
oom:
    rc = fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory reading an order");
out:
    fc__stmt_return(s, find);
    fc__stmt_return(s, at);
    fc_free(seqs);
    fc_free(evs);
    return rc;
}

int fc_store_counts(fc_store *s, int64_t *records, int64_t *events, fc_err *err) {
    sqlite3_stmt *st = stmt_get(s, ST_COUNTS, err);
    if (st == NULL) {
        return FC_ESTORE;
    }
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        return fc__store_fail(s, err, "counting records");
    }
    *records = sqlite3_column_int64(st, 0);
    *events = sqlite3_column_int64(st, 1);
    sqlite3_reset(st);
    return FC_OK;
}

/* ---------------------------------------------------------------------------
 * Ingest log and rejects.
 */
static void col_cpy(sqlite3_stmt *st, int i, char *buf, size_t bufsz) {
    const char *p = (const char *)sqlite3_column_text(st, i);
    fc_str_cpy(buf, bufsz, fc_str_make(p, p != NULL ? (size_t)sqlite3_column_bytes(st, i) : 0));
}

static void log_from_row(sqlite3_stmt *st, fc_ingest_log *log) {
    memset(log, 0, sizeof *log);
    log->id = sqlite3_column_int64(st, 0);
    col_cpy(st, 1, log->source, sizeof log->source);
    col_cpy(st, 2, log->checksum, sizeof log->checksum);
    col_cpy(st, 3, log->kind, sizeof log->kind);
    log->state = (fc_ingest_state)sqlite3_column_int(st, 4);
    log->rows_read = sqlite3_column_int64(st, 5);
    log->accepted = sqlite3_column_int64(st, 6);
    log->rejected = sqlite3_column_int64(st, 7);
    log->duplicates = sqlite3_column_int64(st, 8);
    log->resume_offset = sqlite3_column_int64(st, 9);
    log->resume_line = sqlite3_column_int64(st, 10);
    log->started_at = sqlite3_column_int64(st, 11);
    log->finished_at = sqlite3_column_int64(st, 12);
    col_cpy(st, 13, log->note, sizeof log->note);
}

int fc_store_ingest_find(fc_store *s, const char *checksum, const char *kind, fc_ingest_log *log,
                         int *found, fc_err *err) {
    *found = 0;
    sqlite3_stmt *st = stmt_get(s, ST_LOG_FIND, err);
    if (st == NULL) {
        return FC_ESTORE;
    }
    fc__bind_cstr(st, 1, checksum);
    fc__bind_cstr(st, 2, kind);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        log_from_row(st, log);
        *found = 1;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        return fc__store_fail(s, err, "reading the ingest log");
    }
    return FC_OK;
}

int fc_store_ingest_create(fc_store *s, fc_ingest_log *log, fc_err *err) {
    sqlite3_stmt *st = stmt_get(s, ST_LOG_CREATE, err);
    if (st == NULL) {
        return FC_ESTORE;
    }
    fc__bind_cstr(st, 1, log->source);
    fc__bind_cstr(st, 2, log->checksum);
    fc__bind_cstr(st, 3, log->kind);
    sqlite3_bind_int64(st, 4, log->started_at);
    int rc = fc__step_done(s, st, err, "creating an ingest log");
    if (rc != FC_OK) {
        return rc;
    }
    log->id = sqlite3_last_insert_rowid(s->db);
    log->state = FC_INGEST_RUNNING;
    log->rows_read = log->accepted = log->rejected = log->duplicates = 0;
    log->resume_offset = log->resume_line = 0;
    log->finished_at = 0;
    log->note[0] = '\0';
    return FC_OK;
}

int fc_store_ingest_list(fc_store *s, fc_ingest_log **out, size_t *n, fc_err *err) {
    *out = NULL;
    *n = 0;
    fc_ingest_log *logs = NULL;
    size_t cap = 0, count = 0;
    int rc = FC_OK;
    sqlite3_stmt *st = stmt_get(s, ST_LOG_LIST, err);
    if (st == NULL) {
        return FC_ESTORE;
    }
    for (;;) {
        int step = sqlite3_step(st);
        if (step == SQLITE_DONE) {
            break;
        }
        if (step != SQLITE_ROW) {
            rc = fc__store_fail(s, err, "reading the ingest log");
            goto out;
        }
        if (fc_grow((void **)&logs, &cap, count + 1, sizeof *logs) != FC_OK) {
            rc = fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory reading the ingest log");
            goto out;
        }
        log_from_row(st, &logs[count++]);
    }
out:
    sqlite3_reset(st);
    if (rc != FC_OK) {
        fc_free(logs);
        return rc;
    }
    *out = logs;
    *n = count;
    return FC_OK;
}

int fc_store_reject(fc_store *s, int64_t ingest_id, const fc_err *why, fc_str raw, fc_err *err) {
    int rc = need_batch(s, err);
    if (rc != FC_OK) {
        return rc;
    }
    sqlite3_stmt *st = stmt_get(s, ST_REJECT, err);
    if (st == NULL) {
        return FC_ESTORE;
    }
    sqlite3_bind_int64(st, 1, ingest_id);
    fc__bind_cstr(st, 2, why->file);
    sqlite3_bind_int64(st, 3, why->line);
    sqlite3_bind_int64(st, 4, why->col);
    fc__bind_cstr(st, 5, why->field);
    sqlite3_bind_int(st, 6, why->code);
    fc__bind_cstr(st, 7, why->msg);
    size_t n = raw.n < RAW_MAX_BYTES ? raw.n : RAW_MAX_BYTES;
    sqlite3_bind_blob(st, 8, n > 0 ? raw.p : "", (int)n, SQLITE_TRANSIENT);
    return fc__step_done(s, st, err, "recording a rejected row");
}

int fc_store_rejects(fc_store *s, int64_t ingest_id, fc_store_reject_cb cb, void *ud, fc_err *err) {
    sqlite3_stmt *st = NULL;
    int rc = FC_OK;
    if (sqlite3_prepare_v2(s->db, stmt_sql[ST_REJECTS], -1, &st, NULL) != SQLITE_OK) {
        return fc__store_fail(s, err, "reading rejected rows");
    }
    sqlite3_bind_int64(st, 1, ingest_id);
    for (;;) {
        int step = sqlite3_step(st);
        if (step == SQLITE_DONE) {
            break;
        }
        if (step != SQLITE_ROW) {
            rc = fc__store_fail(s, err, "reading rejected rows");
            break;
        }
        fc_err why;
        fc_err_clear(&why);
        col_cpy(st, 0, why.file, sizeof why.file);
        why.line = (long)sqlite3_column_int64(st, 1);
        why.col = (long)sqlite3_column_int64(st, 2);
        col_cpy(st, 3, why.field, sizeof why.field);
        why.code = sqlite3_column_int(st, 4);
        col_cpy(st, 5, why.msg, sizeof why.msg);
        const void *p = sqlite3_column_blob(st, 6);
        fc_str raw = fc_str_make(p, (size_t)sqlite3_column_bytes(st, 6));
        rc = cb(ud, &why, raw);
        if (rc != 0) {
            break;
        }
    }
    sqlite3_finalize(st);
    return rc;
}

/* ---------------------------------------------------------------------------
 * Reference entities.
 */
int fc_store_put_city(fc_store *s, const fc_city *c, fc_err *err) {
    sqlite3_stmt *st = stmt_get(s, ST_PUT_CITY, err);
    if (st == NULL) {
        return FC_ESTORE;
    }
    fc__bind_cstr(st, 1, c->city);
    fc__bind_cstr(st, 2, c->country);
    fc__bind_cstr(st, 3, c->tz_name);
    fc__bind_cstr(st, 4, c->currency);
    return fc__step_done(s, st, err, "storing a city");
}

int fc_store_put_zone(fc_store *s, const fc_zone *z, fc_err *err) {
    sqlite3_stmt *st = stmt_get(s, ST_PUT_ZONE, err);
    if (st == NULL) {
        return FC_ESTORE;
    }
    fc__bind_cstr(st, 1, z->city);
    fc__bind_cstr(st, 2, z->zone);
    fc__bind_cstr(st, 3, fc_zone_kind_name(z->kind));
    return fc__step_done(s, st, err, "storing a zone");
}

int fc_store_put_merchant(fc_store *s, const fc_merchant *m, fc_err *err) {
    sqlite3_stmt *st = stmt_get(s, ST_PUT_MERCHANT, err);
    if (st == NULL) {
        return FC_ESTORE;
    }
    fc__bind_cstr(st, 1, m->merchant);
    fc__bind_cstr(st, 2, m->city);
    fc__bind_cstr(st, 3, m->zone);
    fc__bind_cstr(st, 4, m->kind);
    fc__bind_cstr(st, 5, m->brand);
    if (m->lat_e6 != FC_GEO_NONE && m->lng_e6 != FC_GEO_NONE) {
        sqlite3_bind_int(st, 6, m->lat_e6);
        sqlite3_bind_int(st, 7, m->lng_e6);
    }
    return fc__step_done(s, st, err, "storing a merchant");
}

int fc_store_put_rider(fc_store *s, const fc_rider *r, fc_err *err) {
    sqlite3_stmt *st = stmt_get(s, ST_PUT_RIDER, err);
    if (st == NULL) {
        return FC_ESTORE;
    }
    fc__bind_cstr(st, 1, r->rider);
    fc__bind_cstr(st, 2, r->city);
    fc__bind_cstr(st, 3, fc_capacity_name(r->capacity));
    fc__bind_cstr(st, 4, r->fleet);
    if (r->start_date != INT32_MIN) {
        sqlite3_bind_int(st, 5, r->start_date);
    }
    return fc__step_done(s, st, err, "storing a rider");
}

static char *col_text(sqlite3_stmt *st, int i) {
    const char *p = (const char *)sqlite3_column_text(st, i);
    return (char *)(p != NULL ? p : "");
}

/* Run `sql` and call `put` for each row; stops at the first failure. */
static int load_rows(fc_store *s, const char *sql, fc_ref *r,
                     int (*put)(sqlite3_stmt *st, fc_ref *r, fc_err *err), fc_err *err) {
    sqlite3_stmt *st = NULL;
    int rc = FC_OK;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        return fc__store_fail(s, err, "reading reference data");
    }
    for (;;) {
        int step = sqlite3_step(st);
        if (step == SQLITE_DONE) {
            break;
        }
        if (step != SQLITE_ROW) {
            rc = fc__store_fail(s, err, "reading reference data");
            break;
        }
        rc = put(st, r, err);
        if (rc != FC_OK) {
            break;
        }
    }
    sqlite3_finalize(st);
    return rc;
}

static int put_city_row(sqlite3_stmt *st, fc_ref *r, fc_err *err) {
    return fc_ref_put_city(r, col_text(st, 0), col_text(st, 1), col_text(st, 2), col_text(st, 3),
                           err);
}

static int put_zone_row(sqlite3_stmt *st, fc_ref *r, fc_err *err) {
    const char *kind = col_text(st, 2);
    return fc_ref_put_zone(r, col_text(st, 0), col_text(st, 1), fc_zone_kind_from(fc_str_c(kind)),
                           err);
}

static int put_merchant_row(sqlite3_stmt *st, fc_ref *r, fc_err *err) {
    fc_merchant m;
    m.merchant = col_text(st, 0);
    m.city = col_text(st, 1);
    m.zone = col_text(st, 2);
    m.kind = col_text(st, 3);
    m.brand = col_text(st, 4);
    int has_point = sqlite3_column_type(st, 5) != SQLITE_NULL;
    m.lat_e6 = has_point ? sqlite3_column_int(st, 5) : FC_GEO_NONE;
    m.lng_e6 = has_point ? sqlite3_column_int(st, 6) : FC_GEO_NONE;
    return fc_ref_put_merchant(r, &m, err);
}

static int put_rider_row(sqlite3_stmt *st, fc_ref *r, fc_err *err) {
    fc_rider rd;
    rd.rider = col_text(st, 0);
    rd.city = col_text(st, 1);
    rd.capacity = fc_capacity_from(fc_str_c(col_text(st, 2)));
    rd.fleet = col_text(st, 3);
    rd.start_date =
        sqlite3_column_type(st, 4) == SQLITE_NULL ? INT32_MIN : sqlite3_column_int(st, 4);
    return fc_ref_put_rider(r, &rd, err);
}

int fc_store_load_ref(fc_store *s, fc_ref *r, fc_err *err) {
    int rc = load_rows(s, "SELECT city, country, tz, currency FROM city ORDER BY city", r,
                       put_city_row, err);
    if (rc == FC_OK) {
        rc = load_rows(s, "SELECT city, zone, kind FROM zone ORDER BY city, zone", r, put_zone_row,
                       err);
    }
    if (rc == FC_OK) {
        rc = load_rows(s,
                       "SELECT merchant, city, zone, kind, brand, lat_e6, lng_e6 FROM merchant"
                       " ORDER BY merchant",
                       r, put_merchant_row, err);
    }
    if (rc == FC_OK) {
        rc = load_rows(s,
                       "SELECT rider, city, capacity, fleet, start_date FROM rider ORDER BY rider",
                       r, put_rider_row, err);
    }
    return rc;
}

/* ---------------------------------------------------------------------------
 * Scanning packed records. A sequential pass over the whole log through the
 * store's large page cache costs more than the reading itself (every page
 * read allocates a cache slot until the cache is full), so the scan runs with
 * a small cache and puts the configured size back afterwards.
 */
#define SCAN_CACHE_KIB 2048

int fc_store_scan_packed(fc_store *s, fc_store_packed_cb cb, void *ud, fc_err *err) {
    sqlite3_stmt *st = NULL;
    int64_t cache_size = 0;
    int rc = query_int(s, "PRAGMA cache_size", &cache_size, err);
    if (rc != FC_OK) {
        return rc;
    }
    char pragma[64];
    snprintf(pragma, sizeof pragma, "PRAGMA cache_size=-%d", SCAN_CACHE_KIB);
    rc = fc__store_exec(s, pragma, err, "configuring a scan");
    if (rc != FC_OK) {
        return rc;
    }
    if (sqlite3_prepare_v2(s->db, stmt_sql[ST_SCAN], -1, &st, NULL) != SQLITE_OK) {
        rc = fc__store_fail(s, err, "reading records");
        goto out;
    }
    for (;;) {
        int step = sqlite3_step(st);
        if (step == SQLITE_DONE) {
            break;
        }
        if (step != SQLITE_ROW) {
            rc = fc__store_fail(s, err, "reading records");
            break;
        }
        fc_str id = fc_str_make((const char *)sqlite3_column_text(st, 0),
                                (size_t)sqlite3_column_bytes(st, 0));
        fc_str order = fc_str_make((const char *)sqlite3_column_text(st, 1),
                                   (size_t)sqlite3_column_bytes(st, 1));
        int64_t n = sqlite3_column_int64(st, 2);
        const uint8_t *p = sqlite3_column_blob(st, 3);
        size_t len = (size_t)sqlite3_column_bytes(st, 3);
        if (n < 0 || n > INT_MAX || (p == NULL && n > 0)) {
            rc = fc_err_set(err, FC_ESTORE, NULL, 0, 0, "corrupt record '%.*s'", (int)id.n, id.p);
            break;
        }
        rc = cb(ud, id, order, p != NULL ? p : (const uint8_t *)"", len, (size_t)n);
        if (rc != 0) {
            break;
        }
    }
out:
    sqlite3_finalize(st);
    snprintf(pragma, sizeof pragma, "PRAGMA cache_size=%lld", (long long)cache_size);
    fc_err ignored;
    fc__store_exec(s, pragma, &ignored, "configuring the store");
    return rc;
}
