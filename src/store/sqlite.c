/*
 * store: the SQLite backend.
 *
 * Layout (see docs/ingest.md for the durability it gives):
 * - record: one row per input record. `seq` (the rowid) grows with every
 *   insert, so the big table is written at its end only; `key` is a 63-bit
 *   hash of the record id with a UNIQUE index, which is what dedupes. Two
 *   different ids with the same hash probe key+1, key+2, ... (deterministic,
 *   never deleted, so a lookup walks the same chain).
 * - ingest_log, reject: the ingest bookkeeping, written in the same
 *   transactions as the records.
 * - city, zone, merchant, rider: reference entities, replaced by id.
 * Every statement is prepared once and cached on the fc_store.
 */
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "store/store.h"

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
    " key INTEGER NOT NULL UNIQUE,"
    " id TEXT NOT NULL,"
    " order_id TEXT NOT NULL,"
    " order_key INTEGER,"
    " first_ts INTEGER,"
    " ingest_id INTEGER NOT NULL,"
    " n_events INTEGER NOT NULL,"
    " events BLOB NOT NULL);"
    "CREATE INDEX record_order ON record(order_key);"
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
};
#define N_MIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

enum {
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_INSERT_RECORD,
    ST_RECORD_ID_AT,
    ST_LOG_FIND,
    ST_LOG_CREATE,
    ST_LOG_SAVE,
    ST_LOG_LIST,
    ST_REJECT,
    ST_REJECTS,
    ST_SCAN,
    ST_SCAN_ORDER,
    ST_COUNTS,
    ST_PUT_CITY,
    ST_PUT_ZONE,
    ST_PUT_MERCHANT,
    ST_PUT_RIDER,
    ST__COUNT
};

static const char *const stmt_sql[ST__COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_INSERT_RECORD] = "INSERT INTO record(key, id, order_id, order_key, first_ts, ingest_id,"
                         " n_events, events) VALUES(?,?,?,?,?,?,?,?)"
                         " ON CONFLICT(key) DO NOTHING",
    [ST_RECORD_ID_AT] = "SELECT id FROM record WHERE key = ?",
    [ST_LOG_FIND] = "SELECT id, source, checksum, kind, state, rows_read, accepted, rejected,"
                    " duplicates, resume_offset, resume_line, started_at, finished_at, note"
                    " FROM ingest_log WHERE checksum = ? AND kind = ? ORDER BY id DESC LIMIT 1",
    [ST_LOG_CREATE] = "INSERT INTO ingest_log(source, checksum, kind, state, started_at)"
                      " VALUES(?,?,?,0,?)",
    [ST_LOG_SAVE] = "UPDATE ingest_log SET state = ?, rows_read = ?, accepted = ?, rejected = ?,"
                    " duplicates = ?, resume_offset = ?, resume_line = ?, finished_at = ?,"
                    " note = ? WHERE id = ?",
    [ST_LOG_LIST] = "SELECT id, source, checksum, kind, state, rows_read, accepted, rejected,"
                    " duplicates, resume_offset, resume_line, started_at, finished_at, note"
                    " FROM ingest_log ORDER BY id DESC",
    [ST_REJECT] = "INSERT INTO reject(ingest_id, file, line, col, field, code, reason, raw)"
                  " VALUES(?,?,?,?,?,?,?,?)",
    [ST_REJECTS] = "SELECT file, line, col, field, code, reason, raw FROM reject"
                   " WHERE ingest_id = ? ORDER BY id",
    [ST_SCAN] = "SELECT id, order_id, n_events, events FROM record ORDER BY seq",
    [ST_SCAN_ORDER] = "SELECT id, order_id, n_events, events FROM record"
                      " WHERE order_key = ? AND order_id = ? ORDER BY seq",
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

struct fc_store {
    sqlite3 *db;
    sqlite3_stmt *stmt[ST__COUNT]; /* prepared on first use */
    int in_batch;
    int version;       /* schema version after migration */
    uint64_t key_mask; /* record keys keep these bits (all 63 outside tests) */
    uint8_t *pack;     /* scratch for packing a record's events */
    size_t pack_len, pack_cap;
};

static int store_fail(fc_store *s, fc_err *err, const char *what) {
    return fc_err_set(err, FC_ESTORE, NULL, 0, 0, "%s: %s", what,
                      s != NULL && s->db != NULL ? sqlite3_errmsg(s->db) : "no database");
}

/* The cached statement `which`, reset and with its bindings cleared, or NULL
 * (err filled) when it cannot be prepared. */
static sqlite3_stmt *stmt_get(fc_store *s, int which, fc_err *err) {
    sqlite3_stmt *st = s->stmt[which];
    if (st == NULL) {
        if (sqlite3_prepare_v3(s->db, stmt_sql[which], -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) !=
            SQLITE_OK) {
            store_fail(s, err, "preparing a statement");
            return NULL;
        }
        s->stmt[which] = st;
        return st;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return st;
}

static int bind_str(sqlite3_stmt *st, int i, fc_str v) {
    return sqlite3_bind_text(st, i, v.p != NULL ? v.p : "", (int)v.n, SQLITE_TRANSIENT);
}

/* For views that outlive the statement's step (no copy). */
static int bind_str_static(sqlite3_stmt *st, int i, fc_str v) {
    return sqlite3_bind_text(st, i, v.p != NULL ? v.p : "", (int)v.n, SQLITE_STATIC);
}

static int bind_cstr(sqlite3_stmt *st, int i, const char *v) {
    return sqlite3_bind_text(st, i, v != NULL ? v : "", -1, SQLITE_TRANSIENT);
}

/* Run a statement that returns no rows. */
static int step_done(fc_store *s, sqlite3_stmt *st, fc_err *err, const char *what) {
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        return store_fail(s, err, what);
    }
    return FC_OK;
}

static int exec_sql(fc_store *s, const char *sql, fc_err *err, const char *what) {
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
        rc = store_fail(s, err, "reading the schema");
        goto out;
    }
    if (sqlite3_step(st) != SQLITE_ROW) {
        rc = store_fail(s, err, "reading the schema");
        goto out;
    }
    *out = sqlite3_column_int64(st, 0);
out:
    sqlite3_finalize(st);
    return rc;
}

/* Bring the schema to the newest version, one transaction per step. */
static int migrate(fc_store *s, fc_err *err) {
    int rc = exec_sql(s,
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
        rc = exec_sql(s, "BEGIN IMMEDIATE", err, "starting a migration");
        if (rc == FC_OK) {
            rc = exec_sql(s, migrations[v - 1], err, "applying a migration");
        }
        if (rc == FC_OK) {
            rc = exec_sql(s, bump, err, "recording a migration");
        }
        if (rc == FC_OK) {
            rc = exec_sql(s, "COMMIT", err, "committing a migration");
        }
        if (rc != FC_OK) {
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            return rc;
        }
    }
    s->version = N_MIGRATIONS;
    return FC_OK;
}

int fc_store_open(const char *path, fc_store **out, fc_err *err) {
    int rc = FC_OK;
    *out = NULL;
    fc_store *s = fc_calloc(1, sizeof *s);
    if (s == NULL) {
        return fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory opening the store");
    }
    s->key_mask = KEY_MASK_FULL;
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        rc = fc_err_set(err, FC_ESTORE, path, 0, 0, "cannot open the store: %s",
                        s->db != NULL ? sqlite3_errmsg(s->db) : "out of memory");
        goto out;
    }
    sqlite3_busy_timeout(s->db, 10000);
    /* WAL + synchronous=NORMAL: a commit survives a process crash; a power
     * loss may lose the last commits, never corrupt (docs/ingest.md). The
     * cache is large because dedupe inserts land at random places of the
     * key index. */
    rc = exec_sql(s,
                  "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                  " PRAGMA cache_size=-131072; PRAGMA temp_store=MEMORY;"
                  " PRAGMA wal_autocheckpoint=16384",
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
    sqlite3_close(s->db);
    fc_free(s->pack);
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
    int rc = step_done(s, st, err, "starting a batch");
    if (rc == FC_OK) {
        s->in_batch = 1;
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
    bind_cstr(st, 9, log->note);
    sqlite3_bind_int64(st, 10, log->id);
    int rc = step_done(s, st, err, "saving the ingest log");
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
    rc = step_done(s, st, err, "committing a batch");
out:
    if (rc != FC_OK) {
        fc_store_rollback(s);
    } else {
        s->in_batch = 0;
    }
    return rc;
}

int fc_store_rollback(fc_store *s) {
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

/* Is the record stored at `key` the one named `id`? *same = 1 when it is. */
static int id_at(fc_store *s, uint64_t key, fc_str id, int *same, fc_err *err) {
    sqlite3_stmt *st = stmt_get(s, ST_RECORD_ID_AT, err);
    if (st == NULL) {
        return FC_ESTORE;
    }
    sqlite3_bind_int64(st, 1, (sqlite3_int64)key);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        return store_fail(s, err, "reading a record key");
    }
    const void *p = sqlite3_column_text(st, 0);
    int n = sqlite3_column_bytes(st, 0);
    *same = (uint32_t)n == id.n && (n == 0 || memcmp(p, id.p, (size_t)n) == 0);
    sqlite3_reset(st);
    return FC_OK;
}

int fc_store_append(fc_store *s, int64_t ingest_id, fc_str record_id, fc_str order,
                    const fc_event *events, size_t n, int *dup, fc_err *err) {
    *dup = 0;
    int rc = need_batch(s, err);
    if (rc != FC_OK) {
        return rc;
    }
    if (record_id.n == 0) {
        return fc_err_set(err, FC_EINVAL, NULL, 0, 0, "a record needs an id");
    }
    s->pack_len = 0;
    int64_t first_ts = FC_TS_NONE;
    for (size_t i = 0; i < n; i++) {
        rc = fc_event_pack(&events[i], &s->pack, &s->pack_len, &s->pack_cap);
        if (rc != FC_OK) {
            return fc_err_set(err, rc, NULL, 0, 0, "cannot pack an event");
        }
        if (events[i].ts != FC_TS_NONE && (first_ts == FC_TS_NONE || events[i].ts < first_ts)) {
            first_ts = events[i].ts;
        }
    }
    uint64_t key = key_hash(record_id) & s->key_mask;
    for (uint64_t probes = 0; probes <= s->key_mask; probes++) {
        sqlite3_stmt *st = stmt_get(s, ST_INSERT_RECORD, err);
        if (st == NULL) {
            return FC_ESTORE;
        }
        sqlite3_bind_int64(st, 1, (sqlite3_int64)key);
        bind_str_static(st, 2, record_id);
        bind_str_static(st, 3, order);
        if (order.n > 0) {
            sqlite3_bind_int64(st, 4, (sqlite3_int64)key_hash(order));
        }
        if (first_ts != FC_TS_NONE) {
            sqlite3_bind_int64(st, 5, first_ts);
        }
        sqlite3_bind_int64(st, 6, ingest_id);
        sqlite3_bind_int64(st, 7, (sqlite3_int64)n);
        sqlite3_bind_blob(st, 8, s->pack_len > 0 ? (const void *)s->pack : "", (int)s->pack_len,
                          SQLITE_STATIC);
        rc = step_done(s, st, err, "appending a record");
        if (rc != FC_OK) {
            return rc;
        }
        if (sqlite3_changes(s->db) == 1) {
            return FC_OK;
        }
        int same = 0;
        rc = id_at(s, key, record_id, &same, err);
        if (rc != FC_OK) {
            return rc;
        }
        if (same) {
            *dup = 1;
            return FC_OK;
        }
        key = (key + 1) & s->key_mask; /* a hash collision: probe the next key */
    }
    return fc_err_set(err, FC_ELIMIT, NULL, 0, 0, "the record key space is full");
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
            rc = store_fail(s, err, "reading records");
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

int fc_store_scan(fc_store *s, fc_store_record_cb cb, void *ud, fc_err *err) {
    /* Prepared apart from the cache: a callback may use the store, even scan. */
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, stmt_sql[ST_SCAN], -1, &st, NULL) != SQLITE_OK) {
        return store_fail(s, err, "reading records");
    }
    int rc = scan_stmt(s, st, cb, ud, err);
    sqlite3_finalize(st);
    return rc;
}

int fc_store_scan_order(fc_store *s, fc_str order, fc_store_record_cb cb, void *ud, fc_err *err) {
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, stmt_sql[ST_SCAN_ORDER], -1, &st, NULL) != SQLITE_OK) {
        return store_fail(s, err, "reading an order");
    }
    sqlite3_bind_int64(st, 1, (sqlite3_int64)key_hash(order));
    bind_str(st, 2, order);
    int rc = scan_stmt(s, st, cb, ud, err);
    sqlite3_finalize(st);
    return rc;
}

int fc_store_counts(fc_store *s, int64_t *records, int64_t *events, fc_err *err) {
    sqlite3_stmt *st = stmt_get(s, ST_COUNTS, err);
    if (st == NULL) {
        return FC_ESTORE;
    }
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        return store_fail(s, err, "counting records");
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
    bind_cstr(st, 1, checksum);
    bind_cstr(st, 2, kind);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        log_from_row(st, log);
        *found = 1;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        return store_fail(s, err, "reading the ingest log");
    }
    return FC_OK;
}

int fc_store_ingest_create(fc_store *s, fc_ingest_log *log, fc_err *err) {
    sqlite3_stmt *st = stmt_get(s, ST_LOG_CREATE, err);
    if (st == NULL) {
        return FC_ESTORE;
    }
    bind_cstr(st, 1, log->source);
    bind_cstr(st, 2, log->checksum);
    bind_cstr(st, 3, log->kind);
    sqlite3_bind_int64(st, 4, log->started_at);
    int rc = step_done(s, st, err, "creating an ingest log");
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
            rc = store_fail(s, err, "reading the ingest log");
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
    bind_cstr(st, 2, why->file);
    sqlite3_bind_int64(st, 3, why->line);
    sqlite3_bind_int64(st, 4, why->col);
    bind_cstr(st, 5, why->field);
    sqlite3_bind_int(st, 6, why->code);
    bind_cstr(st, 7, why->msg);
    size_t n = raw.n < RAW_MAX_BYTES ? raw.n : RAW_MAX_BYTES;
    sqlite3_bind_blob(st, 8, n > 0 ? raw.p : "", (int)n, SQLITE_TRANSIENT);
    return step_done(s, st, err, "recording a rejected row");
}

int fc_store_rejects(fc_store *s, int64_t ingest_id, fc_store_reject_cb cb, void *ud, fc_err *err) {
    sqlite3_stmt *st = NULL;
    int rc = FC_OK;
    if (sqlite3_prepare_v2(s->db, stmt_sql[ST_REJECTS], -1, &st, NULL) != SQLITE_OK) {
        return store_fail(s, err, "reading rejected rows");
    }
    sqlite3_bind_int64(st, 1, ingest_id);
    for (;;) {
        int step = sqlite3_step(st);
        if (step == SQLITE_DONE) {
            break;
        }
        if (step != SQLITE_ROW) {
            rc = store_fail(s, err, "reading rejected rows");
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
    bind_cstr(st, 1, c->city);
    bind_cstr(st, 2, c->country);
    bind_cstr(st, 3, c->tz_name);
    bind_cstr(st, 4, c->currency);
    return step_done(s, st, err, "storing a city");
}

int fc_store_put_zone(fc_store *s, const fc_zone *z, fc_err *err) {
    sqlite3_stmt *st = stmt_get(s, ST_PUT_ZONE, err);
    if (st == NULL) {
        return FC_ESTORE;
    }
    bind_cstr(st, 1, z->city);
    bind_cstr(st, 2, z->zone);
    bind_cstr(st, 3, fc_zone_kind_name(z->kind));
    return step_done(s, st, err, "storing a zone");
}

int fc_store_put_merchant(fc_store *s, const fc_merchant *m, fc_err *err) {
    sqlite3_stmt *st = stmt_get(s, ST_PUT_MERCHANT, err);
    if (st == NULL) {
        return FC_ESTORE;
    }
    bind_cstr(st, 1, m->merchant);
    bind_cstr(st, 2, m->city);
    bind_cstr(st, 3, m->zone);
    bind_cstr(st, 4, m->kind);
    bind_cstr(st, 5, m->brand);
    if (m->lat_e6 != FC_GEO_NONE && m->lng_e6 != FC_GEO_NONE) {
        sqlite3_bind_int(st, 6, m->lat_e6);
        sqlite3_bind_int(st, 7, m->lng_e6);
    }
    return step_done(s, st, err, "storing a merchant");
}

int fc_store_put_rider(fc_store *s, const fc_rider *r, fc_err *err) {
    sqlite3_stmt *st = stmt_get(s, ST_PUT_RIDER, err);
    if (st == NULL) {
        return FC_ESTORE;
    }
    bind_cstr(st, 1, r->rider);
    bind_cstr(st, 2, r->city);
    bind_cstr(st, 3, fc_capacity_name(r->capacity));
    bind_cstr(st, 4, r->fleet);
    if (r->start_date != INT32_MIN) {
        sqlite3_bind_int(st, 5, r->start_date);
    }
    return step_done(s, st, err, "storing a rider");
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
        return store_fail(s, err, "reading reference data");
    }
    for (;;) {
        int step = sqlite3_step(st);
        if (step == SQLITE_DONE) {
            break;
        }
        if (step != SQLITE_ROW) {
            rc = store_fail(s, err, "reading reference data");
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
    rc = exec_sql(s, pragma, err, "configuring a scan");
    if (rc != FC_OK) {
        return rc;
    }
    if (sqlite3_prepare_v2(s->db, stmt_sql[ST_SCAN], -1, &st, NULL) != SQLITE_OK) {
        rc = store_fail(s, err, "reading records");
        goto out;
    }
    for (;;) {
        int step = sqlite3_step(st);
        if (step == SQLITE_DONE) {
            break;
        }
        if (step != SQLITE_ROW) {
            rc = store_fail(s, err, "reading records");
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
    exec_sql(s, pragma, &ignored, "configuring the store");
    return rc;
}
