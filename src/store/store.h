/*
 * store: the event log and reference entities behind one interface. The
 * default backend is SQLite in WAL mode; a PostgreSQL backend can implement
 * the same functions later (no SQLite type appears here).
 *
 * The log holds *records*: one record is one input unit (a JSON Lines event,
 * or the events one CSV row of an operations export expands to) and is keyed
 * by its record id. Appending a record whose id is already stored stores
 * nothing and reports a duplicate. Records are written in batches, each one
 * transaction together with the ingest log's progress, so an ingest killed at
 * any point can be resumed to exactly the store an uninterrupted run makes.
 *
 * Thread safety: an fc_store is one connection; use one per thread.
 */
#ifndef FC_STORE_H
#define FC_STORE_H

#include "core/core.h"
#include "event/event.h"
#include "ref/ref.h"

typedef struct fc_store fc_store;

/* Open (creating and migrating when needed) the store at `path` (a file
 * name; later "postgresql://..." selects PostgreSQL). */
int fc_store_open(const char *path, fc_store **out, fc_err *err);
void fc_store_close(fc_store *s); /* NULL is a no-op */
int fc_store_schema_version(fc_store *s);

/* ---------------------------------------------------------------------------
 * Ingest log: one row per input file.
 */
typedef enum fc_ingest_state {
    FC_INGEST_RUNNING = 0,
    FC_INGEST_DONE = 1,
    FC_INGEST_STOPPED = 2, /* stopped early (max errors); a re-run goes on from the resume point */
} fc_ingest_state;

typedef struct fc_ingest_log {
    int64_t id;
    char source[512];  /* file name as given, "-" for stdin */
    char checksum[65]; /* SHA-256 of the whole input, hex */
    char kind[32];     /* "events", "orders:<mapping name>", "cities", ... */
    fc_ingest_state state;
    int64_t rows_read, accepted, rejected, duplicates;
    int64_t resume_offset;           /* byte offset just past the last committed row */
    int64_t resume_line;             /* line number of that row */
    int64_t started_at, finished_at; /* wall clock, UTC s; bookkeeping only */
    char note[256];                  /* why the ingest stopped early, "" otherwise */
} fc_ingest_log;

/* Name of a state: "running", "done", "stopped". Static string. */
const char *fc_ingest_state_name(fc_ingest_state st);

/* Find the log row of an input with this checksum and kind. FC_OK with *found
 * = 1 and *log filled, or *found = 0. */
int fc_store_ingest_find(fc_store *s, const char *checksum, const char *kind, fc_ingest_log *log,
                         int *found, fc_err *err);
/* Create a new RUNNING log row from log->source, checksum, kind, started_at;
 * sets log->id. */
int fc_store_ingest_create(fc_store *s, fc_ingest_log *log, fc_err *err);
/* All log rows, newest first; *out is caller-freed with fc_free. */
int fc_store_ingest_list(fc_store *s, fc_ingest_log **out, size_t *n, fc_err *err);

/* ---------------------------------------------------------------------------
 * Batches: everything between begin and commit is one transaction.
 */
int fc_store_begin(fc_store *s, fc_err *err);
/* Save `log` (counters, resume point, state, finished_at, checksum) and commit. */
int fc_store_commit(fc_store *s, const fc_ingest_log *log, fc_err *err);
int fc_store_rollback(fc_store *s); /* safe to call when no batch is open */

/* Append one record: events[0..n) under record id `record_id`, belonging to
 * `order` (may be empty). *dup is 1 when the id was already stored (nothing
 * written), else 0. Must be inside a batch. */
int fc_store_append(fc_store *s, int64_t ingest_id, fc_str record_id, fc_str order,
                    const fc_event *events, size_t n, int *dup, fc_err *err);
/* As fc_store_append, with the record's n_events events already packed one
 * after another by fc_event_pack in packed[0..len) (borrowed; copied or
 * written before the call returns): lets a caller pack on one thread while
 * another writes. */
int fc_store_append_packed(fc_store *s, int64_t ingest_id, fc_str record_id, fc_str order,
                           const uint8_t *packed, size_t len, size_t n_events, int *dup,
                           fc_err *err);
/* Record a rejected row (the reason in `why`, raw text truncated to 1 KiB).
 * Must be inside a batch. */
int fc_store_reject(fc_store *s, int64_t ingest_id, const fc_err *why, fc_str raw, fc_err *err);

/* Rejected rows of one ingest, in input order: the callback receives each. */
typedef int (*fc_store_reject_cb)(void *ud, const fc_err *why, fc_str raw);
int fc_store_rejects(fc_store *s, int64_t ingest_id, fc_store_reject_cb cb, void *ud, fc_err *err);

/* ---------------------------------------------------------------------------
 * Reading the log.
 */
/* Called once per record with its events decoded (views valid only during
 * the call). A non-zero return stops the scan and is returned. */
typedef int (*fc_store_record_cb)(void *ud, fc_str record_id, fc_str order, const fc_event *events,
                                  size_t n);
/* Every record, in storage order. */
int fc_store_scan(fc_store *s, fc_store_record_cb cb, void *ud, fc_err *err);
/* The records of one order. */
int fc_store_scan_order(fc_store *s, fc_str order, fc_store_record_cb cb, void *ud, fc_err *err);
/* Called once per record with its events still packed, n_events of them
 * one after another in packed[0..len) (fc_event_unpack decodes them); the
 * views are valid only during the call. A non-zero return stops the scan and
 * is returned. */
typedef int (*fc_store_packed_cb)(void *ud, fc_str record_id, fc_str order, const uint8_t *packed,
                                  size_t len, size_t n_events);
/* Every record, in storage order, as fc_store_scan, without decoding: for
 * bulk readers that keep or skip the packed bytes. Contract: unpacking a
 * record's bytes gives exactly the events fc_store_scan hands out for it. A
 * whole scan reads through a small page cache (a large one costs more than
 * the reading on a sequential pass) and puts the store's cache size back. */
int fc_store_scan_packed(fc_store *s, fc_store_packed_cb cb, void *ud, fc_err *err);
/* Only the records that name no order (weather, platform incidents,
 * shifts), in storage order, decoded as fc_store_scan does; indexed, so a
 * reader of one order can find its city's windows without a whole scan. */
int fc_store_scan_unordered(fc_store *s, fc_store_record_cb cb, void *ud, fc_err *err);
/* Number of records and of events stored. */
int fc_store_counts(fc_store *s, int64_t *records, int64_t *events, fc_err *err);

/* ---------------------------------------------------------------------------
 * The case log: decisions, appeals, reviews and ledger entries. Like the
 * event log it is append-only and idempotent by id (appending an id already
 * stored stores nothing and reports a duplicate); nothing in it is ever
 * edited or deleted, so it is the audit trail. Each entry names what it
 * concerns (order, decision, appeal) and whom (city, rider, merchant) for
 * indexed lookups, and carries a JSON body whose schema depends on its type
 * (docs/internals/case-log.md documents every body).
 */
typedef enum fc_case_type {
    FC_CASE_NONE = 0,
    FC_CASE_DECISION,           /* the judge decided one incident of an order */
    FC_CASE_APPEAL_FILED,       /* a rider or merchant appealed a decision, with evidence */
    FC_CASE_APPEAL_REVIEWED,    /* auto-review re-judged the appeal (overturned or queued) */
    FC_CASE_APPEAL_VIEWED,      /* a reviewer opened the appeal: what evidence was shown */
    FC_CASE_APPEAL_DECIDED,     /* a reviewer's verdict: uphold / overturn / partial, reason */
    FC_CASE_LEDGER,             /* a penalty, reward, compensation or chargeback, or its reversal */
    FC_CASE_DECISION_WITHDRAWN, /* a decision in force whose incident the order no longer has */
    FC_CASE__COUNT
} fc_case_type;
const char *fc_case_type_name(fc_case_type t); /* "decision", "appeal_filed", ...; "" NONE */
fc_case_type fc_case_type_from(fc_str s);      /* FC_CASE_NONE when unknown */

/* One entry. Strings are views: borrowed from the caller when appending,
 * valid only during the callback when scanning. Empty ({NULL, 0}) when not
 * applicable. */
typedef struct fc_case_entry {
    int64_t seq; /* set by the store: increasing in append order, > 0 */
    fc_str id;   /* unique; required */
    fc_case_type type;
    int64_t ts;      /* when it happened, UTC s (the caller's clock, never the store's) */
    fc_str order;    /* the order it concerns */
    fc_str decision; /* the decision it concerns (a decision entry: its own id) */
    fc_str appeal;   /* the appeal it concerns */
    fc_str city, rider, merchant;
    fc_str actor; /* who: "judge", "auto-review", a reviewer's or token's identity, a rider id */
    fc_str body;  /* one JSON object; required */
} fc_case_entry;

/* Append one entry. *dup (may be NULL) is 1 when the id was already stored
 * (nothing written), else 0; *seq (may be NULL) gets the entry's sequence
 * number (the stored one's for a duplicate). Inside a batch (fc_store_begin
 * ... fc_store_end) it joins the batch; outside, it is its own transaction.
 *
 * Compare-and-append: when expect_seq >= 0 and e->appeal is not empty, the
 * entry is appended only if the highest seq of the entries of that appeal is
 * still expect_seq (0: the appeal has no entries yet); otherwise nothing is
 * written and FC_ECONFLICT is returned (someone else acted on the appeal
 * first). The check and the write are one transaction, safe across
 * processes sharing the store. Pass -1 for an unconditional append.
 * FC_EINVAL when id or body is empty or type is out of range. */
int fc_store_case_append(fc_store *s, const fc_case_entry *e, int64_t expect_seq, int *dup,
                         int64_t *seq, fc_err *err);

/* Commit a batch opened with fc_store_begin that wrote no ingest log (case
 * entries only). */
int fc_store_end(fc_store *s, fc_err *err);

/* Which entries a scan visits: every set criterion must hold. */
typedef struct fc_case_filter {
    fc_case_type type;                                         /* FC_CASE_NONE: any type */
    fc_str id, order, decision, appeal, city, rider, merchant; /* empty: any */
    int64_t from, to;  /* ts in [from, to); FC_TS_NONE: open */
    int64_t after_seq; /* only entries with seq > after_seq (0: all) */
} fc_case_filter;
/* A filter that matches everything. */
void fc_case_filter_init(fc_case_filter *f);

/* Called once per entry, in seq order; a non-zero return stops the scan and
 * is returned. */
typedef int (*fc_case_cb)(void *ud, const fc_case_entry *e);
/* Every entry matching f (NULL: all), in seq order. Lookups by id, order,
 * decision, appeal, rider or merchant are indexed. */
int fc_store_case_scan(fc_store *s, const fc_case_filter *f, fc_case_cb cb, void *ud, fc_err *err);
/* Decisions for lists, newest first, read from their bodies' fields
 * (docs/internals/case-log.md): a page of a keyset pagination on seq.
 * "Superseded" means a later decision of the same order names it in its
 * "supersedes" field, or a withdrawal (FC_CASE_DECISION_WITHDRAWN) names it. */
typedef struct fc_case_decision_query {
    fc_str order, city, rider, merchant; /* empty: any */
    const char *incident;                /* body "incident" ("late", ...); NULL any */
    const char *liable;                  /* body "liable" ("rider", ...); NULL any */
    int review;                          /* body "review": -1 any, 0 or 1 */
    int64_t from, to;                    /* body "created_at" (the order's creation) in [from, to);
                                            FC_TS_NONE open */
    int current_only;                    /* leave out superseded and withdrawn decisions */
    int64_t before_seq; /* only entries with seq < before_seq; 0: from the newest */
    size_t limit;       /* at most this many entries; 0: no limit */
} fc_case_decision_query;
void fc_case_decision_query_init(fc_case_decision_query *q); /* any, every decision */
/* Called once per decision entry, seq descending, with whether it is
 * superseded (or withdrawn); a non-zero return stops and is returned. */
typedef int (*fc_case_decision_cb)(void *ud, const fc_case_entry *e, int superseded);
/* The decision entries matching q. Lookups by order, rider or merchant are
 * indexed, and so are incident, liable and review (migration 5); a city
 * walks the decisions newest first until the page is full. */
int fc_store_case_decisions(fc_store *s, const fc_case_decision_query *q, fc_case_decision_cb cb,
                            void *ud, fc_err *err);
/* Decisions recorded per policy id and version (body "policy" and
 * "policy_version"), superseded ones included: cb once per pair. */
typedef int (*fc_case_version_cb)(void *ud, const char *policy, const char *version,
                                  int64_t decisions);
int fc_store_case_policy_versions(fc_store *s, fc_case_version_cb cb, void *ud, fc_err *err);
/* Highest seq of the entries of an appeal (0 when none). */
int fc_store_case_appeal_seq(fc_store *s, fc_str appeal, int64_t *seq, fc_err *err);
/* Number of entries of each type: counts[t] for t < FC_CASE__COUNT. */
int fc_store_case_counts(fc_store *s, int64_t counts[FC_CASE__COUNT], fc_err *err);

/* ---------------------------------------------------------------------------
 * Carries (table carry of migration 6): the orders the judge has seen
 * carried, each with its final rider and [picked_up_at, delivered_at), so
 * that judging a few orders finds the orders stacked with them by index
 * instead of a scan of the whole log. Only carries that can overlap another
 * are kept: a rider, a pickup and a delivery after it. Writes join the
 * caller's open batch (fc_store_begin ... fc_store_end); outside one, each
 * is its own transaction.
 */
/* Set order's carry. One that changes nothing writes nothing (no page is
 * dirtied). *changed (may be NULL) is 1 when a row was inserted or updated.
 * FC_EINVAL when order or rider is empty or delivered_at <= picked_up_at. */
int fc_store_carry_put(fc_store *s, fc_str order, fc_str rider, int64_t picked_up_at,
                       int64_t delivered_at, int *changed, fc_err *err);
/* Forget order's carry (it has none any more); *changed (may be NULL) is 1
 * when there was one. */
int fc_store_carry_delete(fc_store *s, fc_str order, int *changed, fc_err *err);
/* Order's stored carry: FC_OK with *found 1 and rider (copied into
 * rider[0..rider_cap), truncated, NUL-terminated), *picked_up_at and
 * *delivered_at set, or *found 0. */
int fc_store_carry_get(fc_store *s, fc_str order, char *rider, size_t rider_cap,
                       int64_t *picked_up_at, int64_t *delivered_at, int *found, fc_err *err);
/* Called once per carry; views valid only during the call; the callback
 * must not call the carry functions. A non-zero return stops and is
 * returned. */
typedef int (*fc_store_carry_cb)(void *ud, fc_str order, int64_t picked_up_at,
                                 int64_t delivered_at);
/* The carries of `rider` overlapping [from, to) (delivered_at > from and
 * picked_up_at < to), by delivered_at (indexed on rider, delivered_at). */
int fc_store_carries(fc_store *s, fc_str rider, int64_t from, int64_t to, fc_store_carry_cb cb,
                     void *ud, fc_err *err);

/* ---------------------------------------------------------------------------
 * API tokens (table token of migration 4). A token's text is never stored:
 * only its hash (auth.h: fc_auth_token_hash), 32 bytes. Names are unique; a
 * revoked token stays listed (with revoked_at) and is never found by hash.
 */
typedef struct fc_token {
    int64_t id;
    char name[64];
    char role[16];        /* "admin", "analyst", ... (auth.h) */
    char scope[1024];     /* "city:riyadh,city:doha", "rider:r-1", "*" */
    int64_t created_at;   /* UTC s */
    int64_t revoked_at;   /* UTC s, 0 while active */
    int64_t last_used_at; /* UTC s, 0 when never used */
} fc_token;

/* Store token t (name, role, scope, created_at; id ignored) under hash[0..32).
 * Sets *id (may be NULL). FC_EDUP when the name (or the hash) is taken;
 * nothing is stored then. */
int fc_store_token_create(fc_store *s, const fc_token *t, const uint8_t *hash, int64_t *id,
                          fc_err *err);
/* The active (not revoked) token whose hash is hash[0..32): FC_OK with
 * *found = 1 and *out filled, or *found = 0. */
int fc_store_token_find(fc_store *s, const uint8_t *hash, fc_token *out, int *found, fc_err *err);
/* Every token, revoked ones included, by name; *out is caller-freed with
 * fc_free (NULL when *n is 0). */
int fc_store_token_list(fc_store *s, fc_token **out, size_t *n, fc_err *err);
/* Revoke the active token `name` at instant now. FC_ENOTFOUND when no such
 * token is active (unknown, or already revoked). */
int fc_store_token_revoke(fc_store *s, const char *name, int64_t now, fc_err *err);
/* Record that token `id` was used at instant now. */
int fc_store_token_touch(fc_store *s, int64_t id, int64_t now, fc_err *err);

/* ---------------------------------------------------------------------------
 * Marks: small named numbers the store keeps (table mark of migration 6),
 * such as how far the server's background judge has got ("judged_seq":
 * every record with seq <= it has had its orders judged). Record seqs are
 * the log's insertion order: increasing, without gaps, never reused.
 */
/* The value of mark `name`: FC_OK with *found 1 and *value, or *found 0
 * (*value untouched). */
int fc_store_mark_get(fc_store *s, const char *name, int64_t *value, int *found, fc_err *err);
/* Set mark `name` to value (created or replaced): its own transaction, or
 * part of the open batch. */
int fc_store_mark_set(fc_store *s, const char *name, int64_t value, fc_err *err);
/* The highest record seq stored; 0 when the log is empty. */
int fc_store_max_seq(fc_store *s, int64_t *seq, fc_err *err);
/* Called once per record with after_seq < seq <= upto_seq, in seq order,
 * with its seq and its order (empty when it names none; a view valid only
 * during the call). A non-zero return stops the walk and is returned. A
 * range of the rowid: cost in proportion to the records in it. */
typedef int (*fc_store_seq_order_cb)(void *ud, int64_t seq, fc_str order);
int fc_store_orders_after(fc_store *s, int64_t after_seq, int64_t upto_seq,
                          fc_store_seq_order_cb cb, void *ud, fc_err *err);

/* ---------------------------------------------------------------------------
 * Reference entities (replace by id). Must be inside a batch.
 */
int fc_store_put_city(fc_store *s, const fc_city *c, fc_err *err);
int fc_store_put_zone(fc_store *s, const fc_zone *z, fc_err *err);
int fc_store_put_merchant(fc_store *s, const fc_merchant *m, fc_err *err);
int fc_store_put_rider(fc_store *s, const fc_rider *r, fc_err *err);
/* Load every reference entity into r. */
int fc_store_load_ref(fc_store *s, fc_ref *r, fc_err *err);

/* Single reference rows by id (ref_get.c): one indexed read each, for a
 * caller that needs one row rather than every entity (fc_store_load_ref
 * also loads every city's time zone). Each returns FC_OK with *found 1 and
 * the row, or *found 0 (the output untouched but for what is said), or
 * FC_ESTORE / FC_ENOMEM with err filled. */
/* City `city`'s country into country[0..cap) (truncated, NUL-terminated;
 * "" when not found). */
int fc_store_city_country(fc_store *s, fc_str city, char *country, size_t cap, int *found,
                          fc_err *err);
/* Rider `rider` into *out, its strings copied into arena a (valid until a
 * is reset or freed). */
int fc_store_get_rider(fc_store *s, fc_str rider, fc_arena *a, fc_rider *out, int *found,
                       fc_err *err);
/* Merchant `merchant` into *out, its strings copied into arena a. */
int fc_store_get_merchant(fc_store *s, fc_str merchant, fc_arena *a, fc_merchant *out, int *found,
                          fc_err *err);

/* SQLite's PRAGMA data_version of this connection into *version: two reads
 * on one connection differ when another connection (of this process or
 * another) committed a change to the database in between; the connection's
 * own commits do not change it. Cheap (no table is read): a server polls it
 * to notice writes made by another process. */
int fc_store_data_version(fc_store *s, int64_t *version, fc_err *err);

/* ---------------------------------------------------------------------------
 * Test hook: keep only the low `bits` bits (1..63) of record keys so that
 * tests can make distinct record ids collide. Never used outside tests; a
 * store written this way must keep being opened with the same setting.
 */
void fc_store_test_key_bits(fc_store *s, unsigned bits);

/* ---------------------------------------------------------------------------
 * The write-ahead log (wal.c). A connection checkpoints the log itself
 * when a commit takes it past 1024 pages; a server's writers hand that to a
 * checkpointer thread instead, so no commit waits for a checkpoint.
 */
/* Set the connection's automatic checkpoint size in pages; 0 turns it off. */
int fc_store_autocheckpoint(fc_store *s, int pages, fc_err *err);
/* One PASSIVE checkpoint: copies what no reader needs any more, never waits
 * for the write lock. *wal_frames the log's size, *copied_frames how much
 * of it is now in the database file (either may be NULL). */
int fc_store_checkpoint(fc_store *s, int *wal_frames, int *copied_frames, fc_err *err);

/* A thread with its own connection to the store at `path` that runs
 * fc_store_checkpoint every interval_ms (0: 200) and once more when
 * stopped. */
typedef struct fc_store_checkpointer fc_store_checkpointer;
typedef struct fc_store_checkpointer_info {
    int64_t runs, failures;
    int wal_frames;       /* the log's size at the last run, in pages */
    char last_error[200]; /* the last failure, "" when none */
} fc_store_checkpointer_info;
int fc_store_checkpointer_start(const char *path, unsigned interval_ms, fc_store_checkpointer **out,
                                fc_err *err);
void fc_store_checkpointer_stats(fc_store_checkpointer *c, fc_store_checkpointer_info *info);
void fc_store_checkpointer_stop(fc_store_checkpointer *c); /* NULL is a no-op */

#endif
