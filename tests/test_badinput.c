/*
 * The bad-input corpus through the whole ingest: every case gives its own
 * error (file, line, column, field, reason) in the store's reject rows and
 * the reject file, and leaves the store as it was apart from the ingest log
 * and those reject rows. Also re-ingest idempotency, stdin, --max-errors,
 * the reject file's columns, exit statuses and --help, on the real binary.
 * Data in tests/data/badinput/; the large cases are generated here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ingest/ingest.h"
#include "ingest/reader_internal.h"
#include "order/order.h"
#include "store/store.h"
#include "support.h"

#define BAD_DATA  FC_TEST_DATA "/badinput/"
#define DOCS_DATA FC_TEST_DATA "/docs/"

typedef struct fixture {
    char *dir;
    char db[512];
    char rejects[512];
    fc_store *s;
} fixture;

/* fc_test_slurp that fails the test when the file cannot be read. */
static char *must_slurp(const char *path, size_t *len) {
    char *text = fc_test_slurp(path, len);
    if (text == NULL) {
        fail_msg("cannot read %s", path);
    }
    return text;
}

/* Copy a data file into the fixture's folder; returns its path there. */
static const char *copy_in(const fixture *fx, const char *src_dir, const char *name) {
    static char path[512];
    char src[512];
    snprintf(src, sizeof src, "%s%s", src_dir, name);
    assert_int_equal(fc_test_copy(src, fx->dir, name), 0);
    snprintf(path, sizeof path, "%s/%s", fx->dir, name);
    return path;
}

static fc_ingest_opts opts_for(const fixture *fx) {
    fc_ingest_opts o = {.max_errors = -1, .quiet = 1, .reject_path = fx->rejects};
    return o;
}

static void ingest_ok(fixture *fx, const char *src_dir, const char *name) {
    const char *path = copy_in(fx, src_dir, name);
    fc_ingest_opts o = opts_for(fx);
    fc_ingest_log log;
    fc_err err;
    if (fc_ingest_file(fx->s, path, &o, &log, &err) != FC_OK || log.rejected != 0) {
        fail_msg("%s: %s", name, err.msg);
    }
}

/* A store holding the documentation's reference data, orders and events. */
static int setup(void **state) {
    fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    fx->dir = fc_test_tmpdir();
    assert_non_null(fx->dir);
    snprintf(fx->db, sizeof fx->db, "%s/bad.db", fx->dir);
    snprintf(fx->rejects, sizeof fx->rejects, "%s/rejects.csv", fx->dir);
    fc_err err;
    assert_int_equal(fc_store_open(fx->db, &fx->s, &err), FC_OK);
    ingest_ok(fx, DOCS_DATA, "cities.csv");
    ingest_ok(fx, DOCS_DATA, "zones.csv");
    ingest_ok(fx, DOCS_DATA, "orders.csv");
    ingest_ok(fx, DOCS_DATA, "events.jsonl");
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    fixture *fx = *state;
    fc_store_close(fx->s);
    fc_test_rmtree(fx->dir);
    free(fx->dir);
    free(fx);
    return 0;
}

/* ---------------------------------------------------------------------------
 * What the store holds: a digest of every record and its events, the
 * reference entities, and the number of ingest logs.
 */
typedef struct snapshot {
    uint64_t records_hash;
    int64_t records, events;
    size_t cities, zones, logs;
} snapshot;

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ b[i]) * 1099511628211ull;
    }
    return (h ^ 0x1f) * 1099511628211ull;
}

static int hash_record(void *ud, fc_str record_id, fc_str order, const fc_event *events, size_t n) {
    uint64_t *h = ud;
    char *json = NULL;
    size_t len = 0, cap = 0;
    *h = fnv(*h, record_id.p, record_id.n);
    *h = fnv(*h, order.p, order.n);
    for (size_t i = 0; i < n; i++) {
        len = 0;
        assert_int_equal(fc_event_to_json(&events[i], &json, &len, &cap), FC_OK);
        *h = fnv(*h, json, len);
    }
    fc_free(json);
    return 0;
}

static snapshot take(fc_store *s) {
    snapshot sn = {.records_hash = 1469598103934665603ull};
    fc_err err;
    assert_int_equal(fc_store_scan(s, hash_record, &sn.records_hash, &err), FC_OK);
    assert_int_equal(fc_store_counts(s, &sn.records, &sn.events, &err), FC_OK);
    fc_ref *ref = fc_ref_new();
    assert_int_equal(fc_store_load_ref(s, ref, &err), FC_OK);
    sn.cities = fc_ref_city_count(ref);
    sn.zones = fc_ref_zone_count(ref);
    fc_ref_free(ref);
    fc_ingest_log *list = NULL;
    assert_int_equal(fc_store_ingest_list(s, &list, &sn.logs, &err), FC_OK);
    fc_free(list);
    return sn;
}

static void assert_same_store(const snapshot *a, const snapshot *b) {
    assert_true(a->records_hash == b->records_hash);
    assert_int_equal(a->records, b->records);
    assert_int_equal(a->events, b->events);
    assert_int_equal(a->cities, b->cities);
    assert_int_equal(a->zones, b->zones);
}

/* ---------------------------------------------------------------------------
 * Running one case.
 */
typedef struct want {
    long line, col;
    const char *field;  /* "" when the reject names none */
    const char *reason; /* a fragment of the reason */
} want;

typedef struct got_rejects {
    fc_err why[16];
    size_t raw_len[16];
    size_t n;
} got_rejects;

static int keep_reject(void *ud, const fc_err *why, fc_str raw) {
    got_rejects *g = ud;
    if (g->n < 16) {
        g->why[g->n] = *why;
        g->raw_len[g->n] = raw.n;
        g->n++;
    }
    return 0;
}

typedef struct counts {
    int64_t rows_read, accepted, duplicates;
} counts;

/* Ingest `path` (named `source` in errors) and check its log, its rejects
 * and that the store gained exactly `c.accepted` records and nothing else. */
static void run_case_mapped(fixture *fx, const char *path, const char *mapping, counts c,
                            const want *w, size_t nw) {
    snapshot before = take(fx->s);
    fc_ingest_opts o = opts_for(fx);
    o.mapping = mapping;
    fc_ingest_log log;
    fc_err err;
    int rc = fc_ingest_file(fx->s, path, &o, &log, &err);
    if (rc != FC_OK) {
        fail_msg("%s: %s", path, err.msg);
    }
    assert_int_equal(log.state, FC_INGEST_DONE);
    assert_int_equal(log.rows_read, c.rows_read);
    assert_int_equal(log.accepted, c.accepted);
    assert_int_equal(log.duplicates, c.duplicates);
    assert_int_equal(log.rejected, (int64_t)nw);

    got_rejects g = {0};
    assert_int_equal(fc_store_rejects(fx->s, log.id, keep_reject, &g, &err), FC_OK);
    assert_int_equal(g.n, nw);
    for (size_t i = 0; i < nw; i++) {
        const fc_err *e = &g.why[i];
        assert_string_equal(e->file, path);
        if (e->line != w[i].line || e->col != w[i].col || strcmp(e->field, w[i].field) != 0 ||
            strstr(e->msg, w[i].reason) == NULL) {
            fail_msg("reject %zu: %ld:%ld field '%s' '%s'; expected %ld:%ld '%s' '%s'", i, e->line,
                     e->col, e->field, e->msg, w[i].line, w[i].col, w[i].field, w[i].reason);
        }
        assert_true(g.raw_len[i] <= 1024); /* raw text is kept to 1 KiB */
    }

    snapshot after = take(fx->s);
    assert_int_equal(after.logs, before.logs + 1);
    if (c.accepted == 0) {
        assert_same_store(&before, &after);
    } else if (strcmp(log.kind, "zones") == 0) {
        /* the good rows are new zones; the event log is untouched */
        assert_int_equal(after.zones, before.zones + (size_t)c.accepted);
        assert_true(after.records_hash == before.records_hash);
        assert_int_equal(after.records, before.records);
    } else {
        assert_int_equal(after.records, before.records + c.accepted);
    }
    /* The reject file: its header and one line per reject, each naming the
     * file, line and column. */
    if (nw > 0) {
        char *text = must_slurp(fx->rejects, NULL);
        assert_true(strncmp(text, "file,line,column,field,reason,raw\n", 34) == 0);
        for (size_t i = 0; i < nw; i++) {
            char head[700];
            snprintf(head, sizeof head, "\n%s,%ld,%ld,", path, w[i].line, w[i].col);
            if (strstr(text, head) == NULL) {
                fail_msg("reject file lacks '%s'", head + 1);
            }
        }
        free(text);
    }
}

static void run_case(fixture *fx, const char *path, counts c, const want *w, size_t nw) {
    run_case_mapped(fx, path, NULL, c, w, nw);
}

static void run_data_case(fixture *fx, const char *name, counts c, const want *w, size_t nw) {
    run_case(fx, copy_in(fx, BAD_DATA, name), c, w, nw);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Is there a record holding an event with this id? */
typedef struct find_id {
    const char *id;
    int found;
    const fc_event *copy_of;
    fc_event ev;
} find_id;

static int look_for_id(void *ud, fc_str record_id, fc_str order, const fc_event *events, size_t n) {
    find_id *f = ud;
    (void)record_id;
    (void)order;
    for (size_t i = 0; i < n; i++) {
        if (fc_str_eq(events[i].id, fc_str_c(f->id))) {
            f->found++;
            f->ev = events[i];
            f->ev.id = f->ev.order = FC_STR_NULL; /* views die after the call */
            f->ev.city = f->ev.zone = f->ev.merchant = f->ev.customer = FC_STR_NULL;
            f->ev.rider = f->ev.reason = f->ev.by = f->ev.channel = FC_STR_NULL;
            f->ev.outcome = f->ev.proof = f->ev.currency = f->ev.category = FC_STR_NULL;
        }
    }
    return 0;
}

static int stored_count(fc_store *s, const char *id, fc_event *ev) {
    find_id f = {.id = id};
    fc_err err;
    assert_int_equal(fc_store_scan(s, look_for_id, &f, &err), FC_OK);
    if (ev != NULL) {
        *ev = f.ev;
    }
    return f.found;
}

/* ---------------------------------------------------------------------------
 * The corpus.
 */
static void test_truncated_files(void **state) {
    fixture *fx = *state;
    /* an orders CSV cut in the middle of its last row */
    const want csv[] = {{3, 10, "", "truncated last row: expected 31 fields, found 10"}};
    run_data_case(fx, "truncated_orders.csv", (counts){2, 1, 0}, csv, N(csv));
    assert_int_equal(stored_count(fx->s, "b-2:order_created", NULL), 0);
    assert_int_equal(stored_count(fx->s, "b-1:order_created", NULL), 1);
    /* a JSON Lines file cut in the middle of an object */
    const want jl[] = {{2, 45, "", "bad JSON: premature end of input"}};
    run_data_case(fx, "truncated_events.jsonl", (counts){2, 1, 0}, jl, N(jl));
    assert_int_equal(stored_count(fx->s, "t-2", NULL), 0);
}

static void test_wrong_column_counts(void **state) {
    fixture *fx = *state;
    const want w[] = {{2, 2, "", "expected 3 fields, found 2"},
                      {3, 4, "", "expected 3 fields, found 4"}};
    run_data_case(fx, "wrong_columns.csv", (counts){3, 1, 0}, w, N(w));
}

static void test_unterminated_quote(void **state) {
    fixture *fx = *state;
    /* the stray quote swallows one row only: reading resumes on line 3 */
    const want w[] = {{2, 2, "zone", "unterminated quoted field 2"}};
    run_data_case(fx, "unterminated_quote.csv", (counts){2, 1, 0}, w, N(w));
}

static void test_invalid_utf8(void **state) {
    fixture *fx = *state;
    const want csv[] = {{2, 2, "zone", "invalid UTF-8 in field 2"}};
    run_data_case(fx, "invalid_utf8.csv", (counts){2, 1, 0}, csv, N(csv));
    const want jl[] = {{1, 53, "", "invalid UTF-8"}}; /* the bad byte's column */
    run_data_case(fx, "invalid_utf8.jsonl", (counts){2, 1, 0}, jl, N(jl));
    assert_int_equal(stored_count(fx->s, "u-1", NULL), 0);
    /* The reject file shows the bad bytes as \xNN: it is valid UTF-8. */
    size_t len = 0;
    char *text = must_slurp(fx->rejects, &len);
    assert_non_null(strstr(text, "\"riyadh,caf\\xe9,office\""));
    assert_non_null(strstr(text, "\"\"rider\"\":\"\"r-\\xc3(\"\"}\""));
    size_t bad = 0;
    assert_true(fc__utf8_ok(text, len, &bad));
    free(text);
}

static void test_nul_bytes(void **state) {
    fixture *fx = *state;
    const want csv[] = {{2, 2, "zone", "NUL byte in field 2"}};
    run_data_case(fx, "nul_byte.csv", (counts){2, 1, 0}, csv, N(csv));
    /* The reject file shows the NUL as '?', keeping the line readable. */
    char *text = must_slurp(fx->rejects, NULL);
    assert_non_null(strstr(text, "riyadh,ol?aya,office"));
    free(text);
    const want jl[] = {{1, 54, "", "NUL byte in line"}};
    run_data_case(fx, "nul_byte.jsonl", (counts){2, 1, 0}, jl, N(jl));
    assert_int_equal(stored_count(fx->s, "n-1", NULL), 0);
}

/* A 10 MB field in an orders CSV and in a JSON line; a 2 MB JSON string. */
static void test_ten_megabyte_fields(void **state) {
    fixture *fx = *state;
    const size_t big = 10u << 20;
    size_t hl = 0;
    char *orders = must_slurp(DOCS_DATA "orders.csv", &hl);
    /* row 2: o-1001 with a 10 MB customer; row 3: o-1002 renamed zz-o-1002 */
    const char *row2 = strchr(orders, '\n') + 1;
    const char *row3 = strchr(row2, '\n') + 1;
    const char *row4 = strchr(row3, '\n') + 1;
    const char *cust = strstr(row2, ",c-77,");
    assert_non_null(cust);
    size_t n = hl + big + (2u << 20) + 256;
    char *buf = malloc(n);
    assert_non_null(buf);
    size_t len = (size_t)(cust + 1 - orders);
    memcpy(buf, orders, len);
    memset(buf + len, 'x', big);
    len += big;
    memcpy(buf + len, cust + 5, (size_t)(row3 - (cust + 5)));
    len += (size_t)(row3 - (cust + 5));
    memcpy(buf + len, "zz-", 3);
    len += 3;
    memcpy(buf + len, row3, (size_t)(row4 - row3));
    len += (size_t)(row4 - row3);
    assert_int_equal(fc_test_write(fx->dir, "big_field.csv", buf, len), 0);
    free(orders);
    char path[600];
    snprintf(path, sizeof path, "%s/big_field.csv", fx->dir);
    const want csv[] = {{2, 5, "customer", "field 5 is longer than 1048576 bytes"}};
    run_case(fx, path, (counts){2, 1, 0}, csv, N(csv));
    assert_int_equal(stored_count(fx->s, "zz-o-1002:order_created", NULL), 1);

    /* JSON Lines: a 10 MB line, then a 2 MB string in a short enough line */
    const char *head = "{\"id\":\"big-1\",\"type\":\"gps\",\"ts\":1772467451,\"rider\":\"";
    const char *mid = "\"}\n{\"id\":\"big-2\",\"type\":\"gps\",\"ts\":1772467451,\"rider\":\"";
    const char *end =
        "\"}\n{\"id\":\"big-3\",\"type\":\"gps\",\"ts\":1772467451,\"rider\":\"r\"}\n";
    const size_t two = 2u << 20;
    len = 0;
    memcpy(buf + len, head, strlen(head));
    len += strlen(head);
    memset(buf + len, 'y', big - 64);
    len += big - 64;
    memcpy(buf + len, mid, strlen(mid));
    len += strlen(mid);
    memset(buf + len, 'z', two);
    len += two;
    memcpy(buf + len, end, strlen(end));
    len += strlen(end);
    assert_true(len <= n);
    assert_int_equal(fc_test_write(fx->dir, "big_field.jsonl", buf, len), 0);
    free(buf);
    snprintf(path, sizeof path, "%s/big_field.jsonl", fx->dir);
    long rider_col =
        (long)strlen("{\"id\":\"big-2\",\"type\":\"gps\",\"ts\":1772467451,\"rider\":") + 1;
    const want jl[] = {{1, 1, "", "line longer than 4194304 bytes"},
                       {2, rider_col, "rider", "rider is longer than 1048576 bytes"}};
    run_case(fx, path, (counts){3, 1, 0}, jl, N(jl));
    assert_int_equal(stored_count(fx->s, "big-3", NULL), 1);
}

static void test_impossible_timestamps(void **state) {
    fixture *fx = *state;
    const want jl[] = {
        {1, 31, "ts", "impossible instant"},               /* 1999 */
        {2, 31, "ts", "day 29 does not exist in 2026-02"}, /* not a leap year */
        {3, 31, "ts", "month 13 out of range"},            /* month 13 */
        {4, 31, "ts", "clock 24:00:00 out of range"},      /* hour 24 */
        {5, 31, "ts", "impossible instant"},               /* milliseconds */
        {6, 31, "ts", "has no UTC offset"},                /* no zone to read it in */
    };
    run_data_case(fx, "impossible_times.jsonl", (counts){7, 1, 0}, jl, N(jl));
    const want csv[] = {{2, 9, "created_at", "day 30 does not exist in 2026-02"},
                        {3, 18, "delivered_at", "impossible instant"}};
    run_data_case(fx, "impossible_times.csv", (counts){2, 0, 0}, csv, N(csv));
}

static void test_reversed_timestamps(void **state) {
    fixture *fx = *state;
    /* JSON Lines: what one event says of itself */
    const want jl[] = {
        {1, 119, "to", "to is before from"},
        {2, 125, "to", "to is before from"},
        {3, 130, "promised_at",
         "promised_at 2026-03-02T18:44:11+03:00 is before ts 2026-03-02T19:04:11+03:00 (the "
         "order's creation)"},
        {4, 139, "est_ready_at",
         "est_ready_at 1772467400 (2026-03-02T16:03:20Z) is before ts 1772467451 "
         "(2026-03-02T16:04:11Z)"},
    };
    run_data_case(fx, "reversed_times.jsonl", (counts){4, 0, 0}, jl, N(jl));
    assert_int_equal(stored_count(fx->s, "rc-1", NULL), 0);

    /* One row per order: nothing before creation; the leftmost such column
     * is named. Steps of the rider's chain out of order by more than the
     * skew allowed. */
    const want csv[] = {
        {2, 10, "promised_at",
         "promised_at 2026-03-02T18:44:11+03:00 is before created_at 2026-03-02T19:04:11+03:00"},
        {3, 18, "delivered_at",
         "delivered_at 2026-03-02T18:38:00+03:00 is before created_at 2026-03-02T19:04:11+03:00"},
        {4, 11, "est_ready_at",
         "est_ready_at 2026-03-02T19:00:00+03:00 is before created_at 2026-03-02T19:04:11+03:00"},
        {5, 16, "picked_up_at",
         "picked_up_at 2026-03-02T19:05:00+03:00 is before accepted_at 2026-03-02T19:15:00+03:00 "
         "(more than the 60 s of clock skew allowed between steps)"},
        {6, 18, "delivered_at",
         "delivered_at 2026-03-02T19:31:00+03:00 is before arrived_customer_at "
         "2026-03-02T19:36:00+03:00"},
    };
    run_data_case(fx, "reversed_times.csv", (counts){5, 0, 0}, csv, N(csv));
    for (int i = 1; i <= 5; i++) {
        char id[40];
        snprintf(id, sizeof id, "rv-%d:order_created", i);
        assert_int_equal(stored_count(fx->s, id, NULL), 0);
    }
    /* Seconds of skew between steps, and a promise at the instant of
     * creation, are kept. */
    run_data_case(fx, "skewed_times.csv", (counts){2, 2, 0}, NULL, 0);
    assert_int_equal(stored_count(fx->s, "sk-1:order_delivered", NULL), 1);

    /* The Meituan preset: epoch seconds, named by the export's columns. */
    const want mt[] = {
        {2, 21, "arrive_time",
         "arrive_time 1665974300 (2022-10-17T02:38:20Z) is before platform_order_time 1665974400 "
         "(2022-10-17T02:40:00Z)"},
        {3, 20, "fetch_time", "fetch_time 1665975400 (2022-10-17T02:56:40Z) is before grab_time"},
        {4, 11, "estimate_arrived_time", "estimate_arrived_time 1665974340"},
    };
    run_case_mapped(fx, copy_in(fx, BAD_DATA, "reversed_meituan.csv"), "meituan-tsl-2024",
                    (counts){3, 0, 0}, mt, N(mt));
    assert_int_equal(stored_count(fx->s, "2002:order_created", NULL), 0);
    /* A refused waybill's zero times mean "did not happen", not 1970. */
    run_case_mapped(fx, copy_in(fx, BAD_DATA, "skewed_meituan.csv"), "meituan-tsl-2024",
                    (counts){2, 2, 0}, NULL, 0);
    assert_int_equal(stored_count(fx->s, "2005:order_created", NULL), 1);
}

static void test_unknown_event_types(void **state) {
    fixture *fx = *state;
    const want w[] = {{1, 20, "type", "unknown event type 'order_teleported'"},
                      {2, 20, "type", "unknown event type ''"},
                      {3, 20, "type", "type must be a string"},
                      {4, 0, "", "missing type"}};
    run_data_case(fx, "unknown_types.jsonl", (counts){4, 0, 0}, w, N(w));
}

/* A repeated id is counted as a duplicate and stored once: the first one
 * wins, within a file and across files. */
static void test_duplicate_ids(void **state) {
    fixture *fx = *state;
    fc_event kept;
    assert_int_equal(stored_count(fx->s, "o-2001:delivered", &kept), 1);
    int64_t delivered_at = kept.ts;
    run_data_case(fx, "duplicate_ids.jsonl", (counts){4, 2, 2}, NULL, 0);
    assert_int_equal(stored_count(fx->s, "d-1", &kept), 1);
    assert_true(kept.ts == 1772470800); /* 20:00, not the repeat's 20:05 */
    assert_int_equal(stored_count(fx->s, "o-2001:delivered", &kept), 1);
    assert_true(kept.ts == delivered_at);
    /* the same file again changes nothing */
    snapshot before = take(fx->s);
    fc_ingest_opts o = opts_for(fx);
    fc_ingest_log log;
    fc_err err;
    char path[600];
    snprintf(path, sizeof path, "%s/duplicate_ids.jsonl", fx->dir);
    assert_int_equal(fc_ingest_file(fx->s, path, &o, &log, &err), FC_OK);
    snapshot after = take(fx->s);
    assert_same_store(&before, &after);
    assert_int_equal(after.logs, before.logs);
}

/* ---------------------------------------------------------------------------
 * Out-of-order events: the same events in reverse order, and split over two
 * files given in the wrong order, fold into the same facts and KPIs.
 */
typedef struct gathered {
    uint8_t *buf;
    size_t len, cap;
} gathered;

static int gather(void *ud, fc_str record_id, fc_str order, const fc_event *events, size_t n) {
    gathered *g = ud;
    (void)record_id;
    (void)order;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(fc_event_pack(&events[i], &g->buf, &g->len, &g->cap), FC_OK);
    }
    return 0;
}

/* A fingerprint of an order's folded facts (every instant, count and
 * amount, and the final rider). */
static uint64_t facts_print(const char *db, const char *order) {
    fc_store *s = NULL;
    fc_err err;
    gathered g = {0};
    assert_int_equal(fc_store_open(db, &s, &err), FC_OK);
    assert_int_equal(fc_store_scan_order(s, fc_str_c(order), gather, &g, &err), FC_OK);
    fc_store_close(s);
    fc_event ev[64];
    size_t n = 0, pos = 0;
    while (pos < g.len) {
        size_t used = 0;
        assert_true(n < 64);
        assert_int_equal(fc_event_unpack(g.buf + pos, g.len - pos, &ev[n++], &used), FC_OK);
        pos += used;
    }
    assert_true(n > 0);
    uint32_t scratch[64];
    fc_order_facts f;
    assert_int_equal(fc_order_fold(ev, n, NULL, scratch, &f), FC_OK);
    int64_t nums[] = {f.status,
                      f.created_at,
                      f.pushed_at,
                      f.accepted_at,
                      f.arrived_merchant_at,
                      f.ready_at,
                      f.picked_up_at,
                      f.arrived_customer_at,
                      f.delivered_at,
                      f.cancelled_at,
                      f.undeliverable_at,
                      f.promised_at,
                      f.dispatch_s,
                      f.to_merchant_s,
                      f.wait_at_merchant_s,
                      f.to_customer_s,
                      f.handover_s,
                      f.delivery_s,
                      f.lateness_s,
                      f.pushes,
                      f.refusals,
                      f.reassignments,
                      f.contact_attempts,
                      f.complaints,
                      f.cs_contacts,
                      f.rating,
                      f.compensation_minor,
                      f.order_value_minor,
                      f.delivery_cost_minor,
                      f.incidents,
                      f.n_events};
    uint64_t h = fnv(1469598103934665603ull, nums, sizeof nums);
    h = fnv(h, f.rider.p, f.rider.n);
    free(g.buf);
    return h;
}

/* The lines of text, sorted (the row order of a KPI table follows the
 * order in which the store met each group). Caller frees. */
static int cmp_line(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *sorted_lines(const char *text) {
    size_t n = strlen(text);
    char *copy = malloc(n + 1), *out = malloc(n + 2);
    char *lines[256];
    size_t k = 0;
    assert_non_null(copy);
    assert_non_null(out);
    memcpy(copy, text, n + 1);
    for (char *p = copy; *p != '\0' && k < 256;) {
        char *nl = strchr(p, '\n');
        if (nl != NULL) {
            *nl = '\0';
        }
        lines[k++] = p;
        p = nl != NULL ? nl + 1 : p + strlen(p);
    }
    qsort(lines, k, sizeof lines[0], cmp_line);
    size_t len = 0;
    for (size_t i = 0; i < k; i++) {
        len += (size_t)snprintf(out + len, n + 2 - len, "%s\n", lines[i]);
    }
    free(copy);
    return out;
}

static void test_out_of_order_events(void **state) {
    fixture *fx = *state;
    char *text = must_slurp(DOCS_DATA "events.jsonl", NULL);
    char *lines[64];
    size_t n = 0;
    for (char *p = text; *p != '\0' && n < 64;) {
        char *nl = strchr(p, '\n');
        assert_non_null(nl);
        *nl = '\0';
        lines[n++] = p;
        p = nl + 1;
    }
    /* reversed, in one file */
    size_t cap = 64 * 1024, len = 0;
    char *rev = malloc(cap);
    assert_non_null(rev);
    for (size_t i = n; i-- > 0;) {
        len += (size_t)snprintf(rev + len, cap - len, "%s\n", lines[i]);
    }
    assert_int_equal(fc_test_write(fx->dir, "reversed.jsonl", rev, len), 0);
    /* split: the second half first, as its own file */
    size_t la = 0, lb = 0;
    char *first = malloc(cap), *second = malloc(cap);
    assert_non_null(first);
    assert_non_null(second);
    for (size_t i = 0; i < n; i++) {
        if (i < n / 2) {
            la += (size_t)snprintf(first + la, cap - la, "%s\n", lines[i]);
        } else {
            lb += (size_t)snprintf(second + lb, cap - lb, "%s\n", lines[i]);
        }
    }
    assert_int_equal(fc_test_write(fx->dir, "first_half.jsonl", first, la), 0);
    assert_int_equal(fc_test_write(fx->dir, "second_half.jsonl", second, lb), 0);
    free(rev);
    free(first);
    free(second);
    free(text);

    char cities[600];
    snprintf(cities, sizeof cities, "%s", copy_in(fx, DOCS_DATA, "cities.csv"));
    const char *in_order[] = {"ingest",     "--db",         "a.db", "--quiet",
                              "cities.csv", "events.jsonl", NULL};
    copy_in(fx, DOCS_DATA, "events.jsonl");
    assert_int_equal(fc_test_run(fx->dir, in_order, NULL, NULL), 0);
    const char *reversed[] = {"ingest",     "--db",           "b.db", "--quiet",
                              "cities.csv", "reversed.jsonl", NULL};
    assert_int_equal(fc_test_run(fx->dir, reversed, NULL, NULL), 0);
    const char *split[] = {"ingest",           "--db",       "c.db", "--quiet", "second_half.jsonl",
                           "first_half.jsonl", "cities.csv", NULL};
    assert_int_equal(fc_test_run(fx->dir, split, NULL, NULL), 0);

    const char *dbs[] = {"a.db", "b.db", "c.db"};
    const char *orders[] = {"o-2001", "o-2002"};
    for (size_t k = 0; k < 2; k++) {
        uint64_t want_print = 0;
        for (size_t i = 0; i < 3; i++) {
            char db[700];
            snprintf(db, sizeof db, "%s/%s", fx->dir, dbs[i]);
            uint64_t p = facts_print(db, orders[k]);
            if (i == 0) {
                want_print = p;
            } else if (p != want_print) {
                fail_msg("%s folds differently in %s", orders[k], dbs[i]);
            }
        }
    }
    /* and the KPIs of every slice agree (rows compared as a set) */
    char *want_kpi = NULL;
    for (size_t i = 0; i < 3; i++) {
        const char *kpi[] = {"kpi",   "--db", dbs[i],     "--by", "city,hour",
                             "--kpi", "all",  "--format", "csv",  NULL};
        char *out = NULL;
        assert_int_equal(fc_test_run(fx->dir, kpi, &out, NULL), 0);
        char *sorted = sorted_lines(out);
        free(out);
        if (i == 0) {
            want_kpi = sorted;
            assert_non_null(strstr(want_kpi, "riyadh,13,SAR,1,"));
        } else {
            assert_string_equal(sorted, want_kpi);
            free(sorted);
        }
    }
    free(want_kpi);
}

/* ---------------------------------------------------------------------------
 * Idempotent re-ingest, on the command line.
 */
static snapshot take_db(const char *db) {
    fc_store *s = NULL;
    fc_err err;
    assert_int_equal(fc_store_open(db, &s, &err), FC_OK);
    snapshot sn = take(s);
    fc_store_close(s);
    return sn;
}

static void test_reingest_is_idempotent(void **state) {
    fixture *fx = *state;
    fc_store_close(fx->s);
    fx->s = NULL;
    copy_in(fx, DOCS_DATA, "orders.csv");
    const char *first[] = {"ingest", "--db", "bad.db", "orders.csv", NULL};
    char *out = NULL;
    snapshot s0 = take_db(fx->db);

    /* the same file twice: already ingested, nothing changes */
    assert_int_equal(fc_test_run(fx->dir, first, &out, NULL), 0);
    assert_non_null(strstr(out, "orders.csv: already ingested (3 rows read, 3 accepted"));
    free(out);
    snapshot s1 = take_db(fx->db);
    assert_same_store(&s0, &s1);
    assert_int_equal(s1.logs, s0.logs);

    /* the same bytes under another name: the checksum says already ingested */
    copy_in(fx, DOCS_DATA, "orders.csv");
    char *text = must_slurp(DOCS_DATA "orders.csv", NULL);
    assert_int_equal(fc_test_write(fx->dir, "copy.csv", text, strlen(text)), 0);
    const char *copy[] = {"ingest", "--db", "bad.db", "copy.csv", NULL};
    out = NULL;
    assert_int_equal(fc_test_run(fx->dir, copy, &out, NULL), 0);
    assert_non_null(strstr(out, ": already ingested (3 rows read, 3 accepted"));
    free(out);
    snapshot s2 = take_db(fx->db);
    assert_same_store(&s0, &s2);
    assert_int_equal(s2.logs, s0.logs);

    /* the same rows in another order: a new file, every row a duplicate */
    char *row2 = strchr(text, '\n') + 1;
    char *row3 = strchr(row2, '\n') + 1;
    char *row4 = strchr(row3, '\n') + 1;
    char shuffled[4096];
    int sl = snprintf(shuffled, sizeof shuffled, "%.*s%s%.*s%.*s", (int)(row2 - text), text, row4,
                      (int)(row4 - row3), row3, (int)(row3 - row2), row2);
    assert_int_equal(fc_test_write(fx->dir, "shuffled.csv", shuffled, (size_t)sl), 0);
    const char *shuf[] = {"ingest", "--db", "bad.db", "shuffled.csv", NULL};
    out = NULL;
    assert_int_equal(fc_test_run(fx->dir, shuf, &out, NULL), 0);
    assert_non_null(strstr(out, "shuffled.csv: 3 rows read, 0 accepted, 3 duplicates, 0 rejected"));
    free(out);
    snapshot s3 = take_db(fx->db);
    assert_same_store(&s0, &s3);
    assert_int_equal(s3.logs, s0.logs + 1);

    /* the file extended with two new rows: only those are stored */
    char extended[4096];
    int el = snprintf(extended, sizeof extended, "%s%.*s%.*s", text, (int)(row3 - row2), row2,
                      (int)(row4 - row3), row3);
    char *p = extended + strlen(text);
    p[1] = 'x'; /* o-1001 -> ox1001 */
    char *q = strchr(p, '\n') + 1;
    q[1] = 'x'; /* o-1002 -> ox1002 */
    assert_int_equal(fc_test_write(fx->dir, "orders.csv", extended, (size_t)el), 0);
    out = NULL;
    assert_int_equal(fc_test_run(fx->dir, first, &out, NULL), 0);
    assert_non_null(strstr(out, "orders.csv: 5 rows read, 2 accepted, 3 duplicates, 0 rejected"));
    free(out);
    snapshot s4 = take_db(fx->db);
    assert_int_equal(s4.records, s0.records + 2);
    assert_int_equal(s4.events, s0.events + 8 + 3);
    /* and once more: nothing */
    out = NULL;
    assert_int_equal(fc_test_run(fx->dir, first, &out, NULL), 0);
    assert_non_null(strstr(out, "already ingested"));
    free(out);
    snapshot s5 = take_db(fx->db);
    assert_same_store(&s4, &s5);
    free(text);
}

/* ---------------------------------------------------------------------------
 * The command's contract: stdin, --max-errors, reject file columns, exit
 * statuses, --help.
 */
static void test_cli_stdin(void **state) {
    fixture *fx = *state;
    fc_store_close(fx->s);
    fx->s = NULL;
    char *in = fc_test_tmpdir(); /* a fresh store, fed JSON Lines on stdin */
    assert_non_null(in);
    const char *args[] = {"ingest", "--db", "s.db", "-", NULL};
    char *out = NULL;
    assert_int_equal(fc_test_run_stdin(in, DOCS_DATA "events.jsonl", args, &out, NULL), 0);
    assert_non_null(strstr(out, "-: 30 rows read, 30 accepted, 0 duplicates, 0 rejected"));
    free(out);
    out = NULL;
    assert_int_equal(fc_test_run_stdin(in, DOCS_DATA "events.jsonl", args, &out, NULL), 0);
    assert_non_null(strstr(out, "-: already ingested"));
    free(out);
    /* an orders export on stdin through a mapping */
    const char *mapped[] = {"ingest", "--db", "s.db", "--mapping", "meituan-tsl-2024", "-", NULL};
    out = NULL;
    assert_int_equal(fc_test_run_stdin(in, DOCS_DATA "meituan-waybills.csv", mapped, &out, NULL),
                     0);
    assert_non_null(strstr(out, "-: 7 rows read, 7 accepted"));
    free(out);
    /* rejects from stdin go to stdin.rejects.csv, file "-" */
    out = NULL;
    assert_int_equal(fc_test_run_stdin(in, BAD_DATA "unknown_types.jsonl", args, &out, NULL), 2);
    assert_non_null(strstr(out, "(see stdin.rejects.csv)"));
    free(out);
    char path[600];
    snprintf(path, sizeof path, "%s/stdin.rejects.csv", in);
    char *text = must_slurp(path, NULL);
    assert_non_null(strstr(text, "\n-,1,20,type,unknown event type 'order_teleported',"));
    free(text);
    fc_test_rmtree(in);
    free(in);
}

static void test_cli_max_errors(void **state) {
    fixture *fx = *state;
    fc_store_close(fx->s);
    fx->s = NULL;
    copy_in(fx, BAD_DATA, "impossible_times.jsonl");
    snapshot before = take_db(fx->db);
    const char *args[] = {"ingest", "--db", "bad.db", "--max-errors", "2", "impossible_times.jsonl",
                          NULL};
    char *out = NULL, *err = NULL;
    assert_int_equal(fc_test_run(fx->dir, args, &out, &err), 2);
    assert_non_null(strstr(out, "impossible_times.jsonl: 2 rows read, 0 accepted, 0 duplicates, "
                                "2 rejected"));
    assert_non_null(strstr(err, "stopped at line 2 after 2 rejected rows (max errors 2)"));
    free(out);
    free(err);
    snapshot mid = take_db(fx->db);
    assert_same_store(&before, &mid);
    char path[600];
    snprintf(path, sizeof path, "%s/impossible_times.jsonl.rejects.csv", fx->dir);
    char *text = must_slurp(path, NULL);
    assert_int_equal(strchr(text, '\n') != NULL, 1);
    size_t lines = 0;
    for (const char *p = text; *p; p++) {
        lines += *p == '\n';
    }
    assert_int_equal(lines, 3); /* header + 2 */
    free(text);
    /* without the limit, it goes on from line 3 to the end */
    const char *rest[] = {"ingest", "--db", "bad.db", "impossible_times.jsonl", NULL};
    out = NULL;
    assert_int_equal(fc_test_run(fx->dir, rest, &out, NULL), 2);
    assert_non_null(strstr(out, "impossible_times.jsonl: 7 rows read, 1 accepted, 0 duplicates, "
                                "6 rejected"));
    free(out);
    snapshot after = take_db(fx->db);
    assert_int_equal(after.records, before.records + 1);
}

/* --max-errors 0 tolerates no reject: the file stops at its first one, as
 * with --max-errors 1. */
static void test_cli_max_errors_zero(void **state) {
    fixture *fx = *state;
    fc_store_close(fx->s);
    fx->s = NULL;
    static const char text[] =
        "{\"id\":\"mz-1\",\"type\":\"gps\",\"ts\":\"2026-03-02T10:00:00+03:00\",\"rider\":\"r-"
        "101\"}\n"
        "{\"id\":\"mz-2\",\"type\":\"gps\",\"ts\":\"1999-12-31T23:59:59Z\",\"rider\":\"r-101\"}\n"
        "{\"id\":\"mz-3\",\"type\":\"gps\",\"ts\":\"2026-03-02T10:01:00+03:00\",\"rider\":\"r-"
        "101\"}\n";
    assert_int_equal(fc_test_write(fx->dir, "zero.jsonl", text, sizeof text - 1), 0);
    const char *limits[] = {"0", "1"};
    for (size_t k = 0; k < 2; k++) {
        char db[32];
        snprintf(db, sizeof db, "zero%zu.db", k);
        const char *args[] = {"ingest", "--db", db, "--max-errors", limits[k], "zero.jsonl", NULL};
        char *out = NULL, *err = NULL;
        assert_int_equal(fc_test_run(fx->dir, args, &out, &err), 2);
        assert_non_null(
            strstr(out, "zero.jsonl: 2 rows read, 1 accepted, 0 duplicates, 1 rejected"));
        char note[80];
        snprintf(note, sizeof note, "stopped at line 2 after 1 rejected row (max errors %s)",
                 limits[k]);
        if (strstr(err, note) == NULL) {
            fail_msg("'%s' lacks '%s'", err, note);
        }
        free(out);
        free(err);
        char path[600];
        snprintf(path, sizeof path, "%s/%s", fx->dir, db);
        fc_store *s = NULL;
        fc_err e;
        assert_int_equal(fc_store_open(path, &s, &e), FC_OK);
        assert_int_equal(stored_count(s, "mz-1", NULL), 1);
        assert_int_equal(stored_count(s, "mz-3", NULL), 0); /* not read */
        fc_store_close(s);
    }
}

static void test_cli_reject_file_and_exit_status(void **state) {
    fixture *fx = *state;
    fc_store_close(fx->s);
    fx->s = NULL;
    copy_in(fx, BAD_DATA, "wrong_columns.csv");
    copy_in(fx, BAD_DATA, "duplicate_ids.jsonl");
    /* only duplicates: success */
    const char *dups[] = {"ingest", "--db", "bad.db", "duplicate_ids.jsonl", NULL};
    assert_int_equal(fc_test_run(fx->dir, dups, NULL, NULL), 0);
    /* a rejected row: status 2, and the reject file's columns */
    const char *args[] = {"ingest", "--db", "bad.db", "--rejects", "out.csv", "wrong_columns.csv",
                          NULL};
    assert_int_equal(fc_test_run(fx->dir, args, NULL, NULL), 2);
    char path[600];
    snprintf(path, sizeof path, "%s/out.csv", fx->dir);
    char *text = must_slurp(path, NULL);
    assert_string_equal(text, "file,line,column,field,reason,raw\n"
                              "wrong_columns.csv,2,2,,\"expected 3 fields, found 2\","
                              "\"riyadh,olaya\"\n"
                              "wrong_columns.csv,3,4,,\"expected 3 fields, found 4\","
                              "\"riyadh,malqa,office,extra\"\n");
    free(text);
    /* a reject with a field name and a quoted raw line */
    copy_in(fx, BAD_DATA, "unknown_types.jsonl");
    const char *types[] = {
        "ingest", "--db", "bad.db", "--rejects", "out.csv", "unknown_types.jsonl", NULL};
    assert_int_equal(fc_test_run(fx->dir, types, NULL, NULL), 2);
    text = must_slurp(path, NULL);
    assert_non_null(strstr(text, "\nunknown_types.jsonl,1,20,type,unknown event type "
                                 "'order_teleported',\"{\"\"id\"\":\"\"x-1\"\","));
    free(text);
    /* a file whose kind cannot be told: status 2, nothing stored */
    snapshot before = take_db(fx->db);
    assert_int_equal(fc_test_write(fx->dir, "mystery.csv", "foo,bar\n1,2\n", 12), 0);
    const char *mystery[] = {"ingest", "--db", "bad.db", "mystery.csv", NULL};
    char *err = NULL;
    assert_int_equal(fc_test_run(fx->dir, mystery, NULL, &err), 2);
    assert_non_null(strstr(err, "mystery.csv:1: cannot tell what this file is"));
    free(err);
    snapshot after = take_db(fx->db);
    assert_same_store(&before, &after);
}

static void test_cli_help(void **state) {
    (void)state;
    const char *args[] = {"ingest", "--help", NULL};
    char *out = NULL, *err = NULL;
    assert_int_equal(fc_test_run(NULL, args, &out, &err), 0);
    const char *options[] = {"--db PATH",      "--mapping FILE|NAME", "--rejects PATH",
                             "--max-errors N", "--batch N",           "--quiet",
                             "--help",         "'-' for stdin",       "exit status",
                             "0 the same as 1"};
    for (size_t i = 0; i < N(options); i++) {
        if (strstr(out, options[i]) == NULL) {
            fail_msg("ingest --help lacks '%s'", options[i]);
        }
    }
    assert_string_equal(err, "");
    free(out);
    free(err);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_truncated_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_column_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unterminated_quote, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_utf8, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nul_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ten_megabyte_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_impossible_timestamps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reversed_timestamps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_event_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_of_order_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reingest_is_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_stdin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_max_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_max_errors_zero, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_reject_file_and_exit_status, setup, teardown),
        cmocka_unit_test(test_cli_help),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
