/*
 * ingest: the pipeline and the `fulcrum ingest` command, on real SQLite files
 * in a fresh temp folder. Includes the kill -9 recovery test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "ingest/ingest.h"
#include "store/store.h"
#include "support.h"

static const char *const orders_header =
    "order_id,city,zone,merchant,customer,rider,category,prebook,created_at,promised_at,"
    "est_ready_at,pushed_at,accepted_at,arrived_merchant_at,ready_at,picked_up_at,"
    "arrived_customer_at,delivered_at,cancelled_at,cancelled_by,cancel_reason,merchant_lat,"
    "merchant_lng,customer_lat,customer_lng,delivered_lat,delivered_lng,distance_m,order_value,"
    "delivery_cost,currency\n";

typedef struct fixture {
    char dir[64];
    char db[128];
    fc_store *s;
} fixture;

static int setup(void **state) {
    fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    char *dir = fc_test_tmpdir();
    assert_non_null(dir);
    snprintf(fx->dir, sizeof fx->dir, "%s", dir);
    free(dir);
    snprintf(fx->db, sizeof fx->db, "%s/t.db", fx->dir);
    fc_err err;
    assert_int_equal(fc_store_open(fx->db, &fx->s, &err), FC_OK);
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    fixture *fx = *state;
    fc_store_close(fx->s);
    fc_test_rmtree(fx->dir);
    free(fx);
    return 0;
}

static const char *data_path(const char *name) {
    static char buf[512];
    snprintf(buf, sizeof buf, "%s/ingest/%s", FC_TEST_DATA, name);
    return buf;
}

/* Copy a fixture into the temp folder (so reject files land there). */
static void copy_fixture(const fixture *fx, const char *name, char *out, size_t outsz) {
    snprintf(out, outsz, "%s/%s", fx->dir, name);
    assert_int_equal(fc_test_copy(data_path(name), fx->dir, name), 0);
}

static int count_lines(const char *text) {
    int n = 0;
    for (const char *p = text; *p != '\0'; p++) {
        n += *p == '\n';
    }
    return n;
}

static fc_ingest_opts quiet_opts(void) {
    fc_ingest_opts o = {.max_errors = -1, .quiet = 1};
    return o;
}

static void counts(fc_store *s, int64_t *records, int64_t *events) {
    fc_err err;
    assert_int_equal(fc_store_counts(s, records, events, &err), FC_OK);
}

/* ---------------------------------------------------------------------------
 * Pipeline.
 */
static void test_jsonl_exact_counters(void **state) {
    fixture *fx = *state;
    char path[256];
    copy_fixture(fx, "events.jsonl", path, sizeof path);
    fc_ingest_opts o = quiet_opts();
    fc_ingest_log log;
    fc_err err;
    assert_int_equal(fc_ingest_file(fx->s, path, &o, &log, &err), FC_OK);
    assert_string_equal(log.kind, "events");
    assert_int_equal(log.state, FC_INGEST_DONE);
    assert_int_equal(log.rows_read, 6);
    assert_int_equal(log.accepted, 5);
    assert_int_equal(log.duplicates, 1);
    assert_int_equal(log.rejected, 0);
    assert_int_equal(strlen(log.checksum), 64);
    int64_t records, events;
    counts(fx->s, &records, &events);
    assert_int_equal(records, 5);
    assert_int_equal(events, 5);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(log.resume_offset, st.st_size);
    /* No rejects: no reject file. */
    char rej[300];
    snprintf(rej, sizeof rej, "%s.rejects.csv", path);
    assert_int_not_equal(access(rej, F_OK), 0);
}

typedef struct types_seen {
    int n;
    fc_event_type types[FC_RECORD_MAX_EVENTS];
    int64_t amount_minor;
    int64_t cost_minor;
} types_seen;

static int keep_types(void *ud, fc_str record_id, fc_str order, const fc_event *events, size_t n) {
    types_seen *ts = ud;
    (void)record_id, (void)order;
    for (size_t i = 0; i < n && ts->n < FC_RECORD_MAX_EVENTS; i++) {
        ts->types[ts->n++] = events[i].type;
        if (events[i].type == FC_EV_ORDER_CREATED) {
            ts->amount_minor = events[i].amount_minor;
        }
        if (events[i].type == FC_EV_ORDER_DELIVERED) {
            ts->cost_minor = events[i].cost_minor;
        }
    }
    return 0;
}

static int has_type(const types_seen *ts, fc_event_type t) {
    for (int i = 0; i < ts->n; i++) {
        if (ts->types[i] == t) {
            return 1;
        }
    }
    return 0;
}

static void test_csv_exact_counters(void **state) {
    fixture *fx = *state;
    char path[256];
    copy_fixture(fx, "orders.csv", path, sizeof path);
    fc_ingest_opts o = quiet_opts();
    fc_ingest_log log;
    fc_err err;
    assert_int_equal(fc_ingest_file(fx->s, path, &o, &log, &err), FC_OK);
    assert_string_equal(log.kind, "orders:fulcrum-orders");
    assert_int_equal(log.rows_read, 3);
    assert_int_equal(log.accepted, 3);
    assert_int_equal(log.duplicates, 0);
    assert_int_equal(log.rejected, 0);
    int64_t records, events;
    counts(fx->s, &records, &events);
    assert_int_equal(records, 3);
    assert_int_equal(events, 8 + 3 + 4);

    types_seen ts = {0};
    assert_int_equal(fc_store_scan_order(fx->s, fc_str_c("o2"), keep_types, &ts, &err), FC_OK);
    assert_int_equal(ts.n, 3);
    assert_true(has_type(&ts, FC_EV_ORDER_CREATED));
    assert_true(has_type(&ts, FC_EV_ORDER_CANCELLED));
    assert_false(has_type(&ts, FC_EV_ORDER_DELIVERED));
    types_seen kw = {0};
    assert_int_equal(fc_store_scan_order(fx->s, fc_str_c("o3"), keep_types, &kw, &err), FC_OK);
    assert_int_equal(kw.n, 4);
    assert_int_equal(kw.amount_minor, 3250); /* KWD has 3 decimals */
    assert_int_equal(kw.cost_minor, 750);
}

static void test_reference_files(void **state) {
    fixture *fx = *state;
    const char *names[] = {"cities.csv", "zones.csv", "merchants.csv", "riders.csv"};
    const char *kinds[] = {"cities", "zones", "merchants", "riders"};
    const int64_t accepted[] = {2, 3, 2, 2};
    fc_ingest_opts o = quiet_opts();
    for (int i = 0; i < 4; i++) {
        char path[256];
        copy_fixture(fx, names[i], path, sizeof path);
        fc_ingest_log log;
        fc_err err;
        assert_int_equal(fc_ingest_file(fx->s, path, &o, &log, &err), FC_OK);
        assert_string_equal(log.kind, kinds[i]);
        assert_int_equal(log.accepted, accepted[i]);
        assert_int_equal(log.rejected, i == 0 ? 1 : 0); /* a city with an unknown zone */
    }
    fc_ref *ref = fc_ref_new();
    fc_err err;
    assert_int_equal(fc_store_load_ref(fx->s, ref, &err), FC_OK);
    assert_int_equal(fc_ref_city_count(ref), 2);
    assert_null(fc_ref_city(ref, fc_str_c("atlantis")));
    assert_non_null(fc_ref_zone(ref, fc_str_c("kuwait_city"), fc_str_c("salmiya")));
    assert_int_equal(fc_ref_merchant_count(ref), 2);
    const fc_rider *r2 = fc_ref_rider(ref, fc_str_c("r2"));
    assert_non_null(r2);
    assert_int_equal(r2->capacity, FC_CAP_CROWD);
    fc_ref_free(ref);

    /* The reject names the city's row and why. */
    char rej[300];
    snprintf(rej, sizeof rej, "%s/cities.csv.rejects.csv", fx->dir);
    char *text = fc_test_slurp(rej, NULL);
    assert_non_null(text);
    assert_int_equal(count_lines(text), 2);
    assert_non_null(strstr(text, ",4,"));
    assert_non_null(strstr(text, "Atlantis/Nowhere"));
    free(text);
}

static void test_reingest_is_idempotent(void **state) {
    fixture *fx = *state;
    char path[256];
    copy_fixture(fx, "orders.csv", path, sizeof path);
    fc_ingest_opts o = quiet_opts();
    fc_ingest_log first, second;
    fc_err err;
    assert_int_equal(fc_ingest_file(fx->s, path, &o, &first, &err), FC_OK);
    int64_t r1, e1;
    counts(fx->s, &r1, &e1);

    assert_int_equal(fc_ingest_file(fx->s, path, &o, &second, &err), FC_OK);
    assert_int_equal(second.id, first.id); /* the same log: nothing new */
    assert_int_equal(second.state, FC_INGEST_DONE);
    assert_int_equal(second.accepted, first.accepted);
    assert_int_equal(second.duplicates, 0);
    int64_t r2, e2;
    counts(fx->s, &r2, &e2);
    assert_int_equal(r2, r1);
    assert_int_equal(e2, e1);
    fc_ingest_log *list = NULL;
    size_t n = 0;
    assert_int_equal(fc_store_ingest_list(fx->s, &list, &n, &err), FC_OK);
    assert_int_equal(n, 1);
    fc_free(list);

    /* A changed file sharing two ids: a new log counting the duplicates. */
    char *text = fc_test_slurp(path, NULL);
    char *o2 = strstr(text, "\no2,");
    assert_non_null(o2);
    char changed[300];
    snprintf(changed, sizeof changed, "%s/changed.csv", fx->dir);
    FILE *f = fopen(changed, "wb");
    assert_non_null(f);
    fputs(text, f);
    const char *rest = strchr(o2 + 1, ','); /* o2's row under a new id */
    fprintf(f, "o9%.*s", (int)(strchr(rest, '\n') + 1 - rest), rest);
    fclose(f);
    free(text);
    fc_ingest_log third;
    assert_int_equal(fc_ingest_file(fx->s, changed, &o, &third, &err), FC_OK);
    assert_int_not_equal(third.id, first.id);
    assert_int_equal(third.rows_read, 4);
    assert_int_equal(third.duplicates, 3);
    assert_int_equal(third.accepted, 1);
    counts(fx->s, &r2, &e2);
    assert_int_equal(r2, r1 + 1);
}

static void test_bad_file_keeps_good_rows_and_rejects(void **state) {
    fixture *fx = *state;
    char path[256];
    copy_fixture(fx, "bad_orders.csv", path, sizeof path);
    fc_ingest_opts o = quiet_opts();
    fc_ingest_log log;
    fc_err err;
    assert_int_equal(fc_ingest_file(fx->s, path, &o, &log, &err), FC_OK);
    assert_int_equal(log.rows_read, 6);
    assert_int_equal(log.accepted, 3);
    assert_int_equal(log.rejected, 3);
    assert_int_equal(log.state, FC_INGEST_DONE);
    int64_t records, events;
    counts(fx->s, &records, &events);
    assert_int_equal(records, 3);

    char rej[300];
    snprintf(rej, sizeof rej, "%s.rejects.csv", path);
    char *text = fc_test_slurp(rej, NULL);
    assert_non_null(text);
    assert_int_equal(count_lines(text), 4);
    assert_true(strncmp(text, "file,line,column,field,reason,raw\n", 34) == 0);
    /* Each reject: the file, its line, the column of the bad field. */
    char expect[400];
    snprintf(expect, sizeof expect, "\n%s,3,9,", path);
    assert_non_null(strstr(text, expect)); /* bad created_at */
    snprintf(expect, sizeof expect, "\n%s,4,", path);
    assert_non_null(strstr(text, expect)); /* too few columns */
    snprintf(expect, sizeof expect, "\n%s,6,22,", path);
    assert_non_null(strstr(text, expect));      /* latitude out of range */
    assert_non_null(strstr(text, "b2,riyadh")); /* the raw row */
    free(text);
}

static void test_max_errors_stops_the_file(void **state) {
    fixture *fx = *state;
    char path[256];
    copy_fixture(fx, "bad_orders.csv", path, sizeof path);
    fc_ingest_opts o = quiet_opts();
    o.max_errors = 2;
    fc_ingest_log log;
    fc_err err;
    assert_int_equal(fc_ingest_file(fx->s, path, &o, &log, &err), FC_ELIMIT);
    assert_int_equal(err.code, FC_ELIMIT);
    assert_int_equal(log.state, FC_INGEST_STOPPED);
    assert_int_equal(log.rejected, 2);
    assert_int_equal(log.accepted, 1); /* b1 stays; b4 and later were not read */
    assert_int_equal(log.rows_read, 3);
    assert_int_equal(log.resume_line, 4);
    assert_non_null(strstr(log.note, "max errors"));
    int64_t records, events;
    counts(fx->s, &records, &events);
    assert_int_equal(records, 1);
    fc_ingest_log stored;
    int found = 0;
    assert_int_equal(fc_store_ingest_find(fx->s, log.checksum, log.kind, &stored, &found, &err),
                     FC_OK);
    assert_int_equal(found, 1);
    assert_int_equal(stored.state, FC_INGEST_STOPPED);
    assert_string_equal(stored.note, log.note);
    char rej[300];
    snprintf(rej, sizeof rej, "%s.rejects.csv", path);
    char *text = fc_test_slurp(rej, NULL);
    assert_non_null(text);
    assert_int_equal(count_lines(text), 3);
    free(text);

    /* Without the limit, a re-run goes on from where it stopped. */
    o.max_errors = -1;
    assert_int_equal(fc_ingest_file(fx->s, path, &o, &log, &err), FC_OK);
    assert_int_equal(log.state, FC_INGEST_DONE);
    assert_int_equal(log.rows_read, 6);
    assert_int_equal(log.accepted, 3);
    assert_int_equal(log.rejected, 3);
    counts(fx->s, &records, &events);
    assert_int_equal(records, 3);
}

static void test_small_batches_give_same_counts(void **state) {
    fixture *fx = *state;
    char path[256];
    copy_fixture(fx, "events.jsonl", path, sizeof path);
    fc_ingest_opts o = quiet_opts();
    o.batch_rows = 1;
    fc_ingest_log log;
    fc_err err;
    assert_int_equal(fc_ingest_file(fx->s, path, &o, &log, &err), FC_OK);
    assert_int_equal(log.accepted, 5);
    assert_int_equal(log.duplicates, 1);
}

/* What the on_order callback saw. */
typedef struct told {
    const char *db; /* the store's file, opened afresh to see what is committed */
    int n;          /* orders told */
    char orders[16][16];
    int not_committed; /* an order told before its records were committed */
    int stop_after;    /* return FC_ECONFLICT once this many were told; 0 never */
} told;

static int tell_order(void *ud, fc_str order) {
    told *t = ud;
    if (t->n < 16) {
        snprintf(t->orders[t->n], sizeof t->orders[t->n], "%.*s", (int)order.n, order.p);
    }
    t->n++;
    /* Another connection sees only committed rows. */
    fc_store *other = NULL;
    fc_err err;
    types_seen ts = {0};
    if (fc_store_open(t->db, &other, &err) != FC_OK ||
        fc_store_scan_order(other, order, keep_types, &ts, &err) != FC_OK || ts.n == 0) {
        t->not_committed++;
    }
    fc_store_close(other);
    return t->stop_after > 0 && t->n >= t->stop_after ? FC_ECONFLICT : 0;
}

static void test_on_order_tells_newly_stored_orders(void **state) {
    fixture *fx = *state;
    char path[256];
    copy_fixture(fx, "events.jsonl", path, sizeof path);
    told t = {.db = fx->db};
    fc_ingest_opts o = quiet_opts();
    o.batch_rows = 2; /* several commits */
    o.on_order = tell_order;
    o.on_order_ud = &t;
    fc_ingest_log log;
    fc_err err;
    assert_int_equal(fc_ingest_file(fx->s, path, &o, &log, &err), FC_OK);
    /* ev-1, ev-2, ev-3, ev-5 name order A1; ev-4 (weather) names none; the
     * second ev-2 is a duplicate. */
    assert_int_equal(log.accepted, 5);
    assert_int_equal(log.duplicates, 1);
    assert_int_equal(t.n, 4);
    for (int i = 0; i < 4; i++) {
        assert_string_equal(t.orders[i], "A1");
    }
    assert_int_equal(t.not_committed, 0);

    /* A re-run of the same file stores nothing, and tells nothing. */
    t.n = 0;
    assert_int_equal(fc_ingest_file(fx->s, path, &o, &log, &err), FC_OK);
    assert_int_equal(t.n, 0);

    /* Another file repeating stored events tells only the new one. */
    static const char more[] =
        "{\"id\":\"ev-2\",\"type\":\"order_accepted\",\"ts\":1772467500,\"order\":\"A1\","
        "\"rider\":\"r1\"}\n"
        "{\"id\":\"ev-9\",\"type\":\"order_created\",\"ts\":\"2026-03-02T19:05:00+03:00\","
        "\"order\":\"B7\",\"city\":\"riyadh\",\"zone\":\"olaya\",\"merchant\":\"m1\","
        "\"customer\":\"c2\",\"promised_at\":\"2026-03-02T19:45:00+03:00\","
        "\"category\":\"food\",\"amount\":10,\"currency\":\"SAR\"}\n";
    char more_path[256];
    snprintf(more_path, sizeof more_path, "%s/more.jsonl", fx->dir);
    FILE *f = fopen(more_path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(more, 1, sizeof more - 1, f), sizeof more - 1);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(fc_ingest_file(fx->s, more_path, &o, &log, &err), FC_OK);
    assert_int_equal(log.duplicates, 1);
    assert_int_equal(log.accepted, 1);
    assert_int_equal(t.n, 1);
    assert_string_equal(t.orders[0], "B7");
    assert_int_equal(t.not_committed, 0);
}

static void test_on_order_csv_rows_and_stop(void **state) {
    fixture *fx = *state;
    char path[256];
    copy_fixture(fx, "orders.csv", path, sizeof path);
    told t = {.db = fx->db, .stop_after = 2};
    fc_ingest_opts o = quiet_opts();
    o.batch_rows = 2;
    o.on_order = tell_order;
    o.on_order_ud = &t;
    fc_ingest_log log;
    fc_err err;
    /* The callback's status stops the ingest and is returned. */
    assert_int_equal(fc_ingest_file(fx->s, path, &o, &log, &err), FC_ECONFLICT);
    assert_int_equal(err.code, FC_ECONFLICT);
    assert_non_null(strstr(err.msg, "order callback"));
    assert_int_equal(t.n, 2);
    assert_string_equal(t.orders[0], "o1");
    assert_string_equal(t.orders[1], "o2");
    assert_int_equal(t.not_committed, 0);
    /* The batch that held o1 and o2 stayed committed. Until the checksum is
     * known a batch keeps growing, so that batch may hold o3 too. */
    int64_t records, events;
    counts(fx->s, &records, &events);
    assert_true(records == 2 || records == 3);

    /* A re-run tells only orders stored by it: o3 when the first run's batch
     * ended before it, else nothing. */
    t.n = 0;
    t.stop_after = 0;
    assert_int_equal(fc_ingest_file(fx->s, path, &o, &log, &err), FC_OK);
    assert_int_equal(log.state, FC_INGEST_DONE);
    assert_int_equal(log.accepted, 3);
    assert_int_equal(t.n, (int)(3 - records));
    if (t.n == 1) {
        assert_string_equal(t.orders[0], "o3");
    }
    counts(fx->s, &records, &events);
    assert_int_equal(records, 3);
}

static void test_missing_file_is_an_error(void **state) {
    fixture *fx = *state;
    char path[256];
    snprintf(path, sizeof path, "%s/nope.csv", fx->dir);
    fc_ingest_opts o = quiet_opts();
    fc_ingest_log log;
    fc_err err;
    assert_int_equal(fc_ingest_file(fx->s, path, &o, &log, &err), FC_EIO);
    assert_string_equal(err.file, path);
}

/* ---------------------------------------------------------------------------
 * The command.
 */
/* Start `fulcrum` with args (NULL-terminated) in dir, stdin from in_path
 * (NULL: /dev/null), output discarded. Returns the pid. */
static pid_t spawn(const char *dir, const char *in_path, const char *const *args) {
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (chdir(dir) != 0) {
            _exit(127);
        }
        int in = open(in_path != NULL ? in_path : "/dev/null", O_RDONLY);
        int out = open("/dev/null", O_WRONLY);
        if (in < 0 || out < 0) {
            _exit(127);
        }
        dup2(in, 0);
        dup2(out, 1);
        dup2(out, 2);
        char *argv[32];
        int n = 0;
        argv[n++] = (char *)fc_test_binary();
        for (int i = 0; args[i] != NULL && n < 31; i++) {
            argv[n++] = (char *)args[i];
        }
        argv[n] = NULL;
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

static int wait_status(pid_t pid) {
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int run_cli(const char *dir, const char *in_path, const char *const *args) {
    return fc_test_run_stdin(dir, in_path, args, NULL, NULL);
}

static void test_cli_exit_statuses(void **state) {
    fixture *fx = *state;
    fc_store_close(fx->s);
    fx->s = NULL;
    char good[256], bad[256], cities[256];
    copy_fixture(fx, "orders.csv", good, sizeof good);
    copy_fixture(fx, "bad_orders.csv", bad, sizeof bad);
    copy_fixture(fx, "cities.csv", cities, sizeof cities);

    const char *help[] = {"ingest", "--help", NULL};
    assert_int_equal(run_cli(fx->dir, NULL, help), 0);
    const char *ok[] = {"ingest", "--db", fx->db, good, NULL};
    assert_int_equal(run_cli(fx->dir, NULL, ok), 0);
    /* Again: already ingested, still a success. */
    assert_int_equal(run_cli(fx->dir, NULL, ok), 0);
    const char *rejected[] = {"ingest", "--db", fx->db, "--quiet", bad, NULL};
    assert_int_equal(run_cli(fx->dir, NULL, rejected), 2);
    const char *limit[] = {"ingest", "--db", fx->db, "--max-errors", "1", cities, NULL};
    assert_int_equal(run_cli(fx->dir, NULL, limit), 2);
    const char *unknown[] = {"ingest", "--db", fx->db, "--frobnicate", good, NULL};
    assert_int_equal(run_cli(fx->dir, NULL, unknown), 1);
    const char *no_files[] = {"ingest", "--db", fx->db, NULL};
    assert_int_equal(run_cli(fx->dir, NULL, no_files), 1);
    const char *missing[] = {"ingest", "--db", fx->db, "no-such-file.csv", NULL};
    assert_int_equal(run_cli(fx->dir, NULL, missing), 1);
    const char *bad_count[] = {"ingest", "--db", fx->db, "--max-errors", "x", good, NULL};
    assert_int_equal(run_cli(fx->dir, NULL, bad_count), 1);
    char nodb[300];
    snprintf(nodb, sizeof nodb, "%s/no/such/dir/x.db", fx->dir);
    const char *storage[] = {"ingest", "--db", nodb, good, NULL};
    assert_int_equal(run_cli(fx->dir, NULL, storage), 3);
}

static void test_cli_stdin_and_reference_first(void **state) {
    fixture *fx = *state;
    fc_store_close(fx->s);
    fx->s = NULL;
    char bad[256], cities[256], zones[256], orders[256];
    copy_fixture(fx, "bad_orders.csv", bad, sizeof bad);
    copy_fixture(fx, "cities.csv", cities, sizeof cities);
    copy_fixture(fx, "zones.csv", zones, sizeof zones);
    copy_fixture(fx, "orders.csv", orders, sizeof orders);

    /* stdin: rejects go to stdin.rejects.csv in the working folder. */
    const char *from_stdin[] = {"ingest", "--db", fx->db, "-", NULL};
    assert_int_equal(run_cli(fx->dir, bad, from_stdin), 2);
    char rej[300];
    snprintf(rej, sizeof rej, "%s/stdin.rejects.csv", fx->dir);
    char *text = fc_test_slurp(rej, NULL);
    assert_non_null(text);
    assert_int_equal(count_lines(text), 4);
    assert_non_null(strstr(text, "\n-,3,9,"));
    free(text);

    /* Given in any order, reference files go first, cities before zones;
     * one --rejects file collects every file's rejects. */
    char all_rej[300];
    snprintf(all_rej, sizeof all_rej, "%s/all.rejects.csv", fx->dir);
    const char *mixed[] = {"ingest", "--db", fx->db, "--rejects", all_rej,
                           orders,   zones,  cities, NULL};
    assert_int_equal(run_cli(fx->dir, NULL, mixed), 2); /* atlantis */
    fc_err err;
    assert_int_equal(fc_store_open(fx->db, &fx->s, &err), FC_OK);
    fc_ingest_log *list = NULL;
    size_t n = 0;
    assert_int_equal(fc_store_ingest_list(fx->s, &list, &n, &err), FC_OK);
    assert_int_equal(n, 4);
    /* newest first: orders, zones, cities, then the stdin one */
    assert_string_equal(list[0].kind, "orders:fulcrum-orders");
    assert_string_equal(list[1].kind, "zones");
    assert_string_equal(list[2].kind, "cities");
    assert_string_equal(list[3].source, "-");
    assert_int_equal(list[3].rejected, 3);
    fc_free(list);
    text = fc_test_slurp(all_rej, NULL);
    assert_non_null(text);
    assert_int_equal(count_lines(text), 2);
    assert_non_null(strstr(text, "cities.csv,4,"));
    free(text);
}

/* ---------------------------------------------------------------------------
 * kill -9 recovery.
 */

/* A canonical digest of a store: every record with its events (as JSON),
 * every ingest log's counters, state and resume point, every reject. Wall
 * clock times are left out. */
typedef struct digest {
    crypto_hash_sha256_state h;
    char *json;
    size_t len, cap;
} digest;

static void dig(digest *d, const void *p, size_t n) {
    crypto_hash_sha256_update(&d->h, p, n);
    crypto_hash_sha256_update(&d->h, (const unsigned char *)"\x1f", 1);
}

static int dig_record(void *ud, fc_str record_id, fc_str order, const fc_event *events, size_t n) {
    digest *d = ud;
    dig(d, record_id.p, record_id.n);
    dig(d, order.p, order.n);
    for (size_t i = 0; i < n; i++) {
        d->len = 0;
        assert_int_equal(fc_event_to_json(&events[i], &d->json, &d->len, &d->cap), FC_OK);
        dig(d, d->json, d->len);
    }
    return 0;
}

static int dig_reject(void *ud, const fc_err *why, fc_str raw) {
    digest *d = ud;
    char buf[1024];
    fc_err_format(why, buf, sizeof buf);
    dig(d, buf, strlen(buf));
    dig(d, raw.p, raw.n);
    return 0;
}

static void store_digest(const char *db, char hex[65], int64_t *accepted, int *state) {
    fc_store *s = NULL;
    fc_err err;
    assert_int_equal(fc_store_open(db, &s, &err), FC_OK);
    digest d = {0};
    crypto_hash_sha256_init(&d.h);
    assert_int_equal(fc_store_scan(s, dig_record, &d, &err), FC_OK);
    fc_ingest_log *list = NULL;
    size_t n = 0;
    assert_int_equal(fc_store_ingest_list(s, &list, &n, &err), FC_OK);
    assert_true(n <= 1);
    for (size_t i = 0; i < n; i++) {
        char line[1024];
        snprintf(line, sizeof line, "%lld %s %s %s %d %lld %lld %lld %lld %lld %lld %s",
                 (long long)list[i].id, list[i].source, list[i].checksum, list[i].kind,
                 (int)list[i].state, (long long)list[i].rows_read, (long long)list[i].accepted,
                 (long long)list[i].rejected, (long long)list[i].duplicates,
                 (long long)list[i].resume_offset, (long long)list[i].resume_line, list[i].note);
        dig(&d, line, strlen(line));
        assert_int_equal(fc_store_rejects(s, list[i].id, dig_reject, &d, &err), FC_OK);
    }
    /* Killed before its log row was created: nothing to compare yet. */
    *accepted = n > 0 ? list[0].accepted : -1;
    *state = n > 0 ? (int)list[0].state : -1;
    fc_free(list);
    unsigned char out[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&d.h, out);
    sodium_bin2hex(hex, 65, out, sizeof out);
    free(d.json);
    fc_store_close(s);
}

/* ISO local time in +03:00 of instant t. */
static void iso3(int64_t t, char *buf, size_t bufsz) {
    time_t local = (time_t)(t + 3 * 3600);
    struct tm tm;
    gmtime_r(&local, &tm);
    strftime(buf, bufsz, "%Y-%m-%dT%H:%M:%S+03:00", &tm);
}

/* `rows` orders; every 997th has a bad time (rejected), every 1009th repeats
 * an earlier id (duplicate). */
static void write_big_orders(const char *path, long rows) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(orders_header, f);
    for (long i = 0; i < rows; i++) {
        int64_t t = 1772400000 + i * 3;
        char c[32], p[32], a[32], k[32], d[32];
        iso3(t, c, sizeof c);
        iso3(t + 2400, p, sizeof p);
        iso3(t + 60, a, sizeof a);
        iso3(t + 900, k, sizeof k);
        iso3(t + 2000 + i % 700, d, sizeof d);
        long id = i % 1009 == 1008 ? i - 500 : i;
        fprintf(f,
                "k%07ld,riyadh,olaya,m%ld,c%ld,r%ld,food,0,%s,%s,,,%s,,,%s,,%s,,,,24.713000,"
                "46.675000,24.723000,46.687000,24.723100,46.687000,%ld,42.50,7.25,SAR\n",
                id, i % 300, i % 5000, i % 400, i % 997 == 996 ? "not-a-time" : c, p, a, k, d,
                1000 + i % 4000);
    }
    assert_int_equal(fclose(f), 0);
}

static void test_kill9_recovery_gives_identical_store(void **state) {
    fixture *fx = *state;
    fc_store_close(fx->s);
    fx->s = NULL;
    assert_true(sodium_init() >= 0);
    const long rows = 200000;
    char input[256], db_ref[256], db_kill[256], rej_ref[256], rej_kill[256];
    snprintf(input, sizeof input, "%s/big.csv", fx->dir);
    snprintf(db_ref, sizeof db_ref, "%s/ref.db", fx->dir);
    snprintf(db_kill, sizeof db_kill, "%s/kill.db", fx->dir);
    snprintf(rej_ref, sizeof rej_ref, "%s/ref.rejects.csv", fx->dir);
    snprintf(rej_kill, sizeof rej_kill, "%s/kill.rejects.csv", fx->dir);
    write_big_orders(input, rows);

    /* The uninterrupted run, timed to place the kills. Without judging:
     * the kills are to land in the ingest, not in the judging after it. */
    const char *ref_args[] = {"ingest",     "--db",      db_ref,  "--batch", "1000", "--quiet",
                              "--no-judge", "--rejects", rej_ref, input,     NULL};
    double t0 = fc_now_mono();
    assert_int_equal(run_cli(fx->dir, NULL, ref_args), 2);
    double full_s = fc_now_mono() - t0;

    const char *kill_args[] = {"ingest",     "--db",      db_kill,  "--batch", "1000", "--quiet",
                               "--no-judge", "--rejects", rej_kill, input,     NULL};
    const double fractions[] = {0.15, 0.3, 0.2, 0.35, 0.25, 0.4};
    int interrupted = 0;
    int64_t last_accepted = -1;
    for (size_t i = 0; i < sizeof fractions / sizeof fractions[0]; i++) {
        pid_t pid = spawn(fx->dir, NULL, kill_args);
        struct timespec ts;
        double delay = full_s * fractions[i];
        ts.tv_sec = (time_t)delay;
        ts.tv_nsec = (long)((delay - (double)ts.tv_sec) * 1e9);
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int status = wait_status(pid);
        if (status != 128 + SIGKILL || access(db_kill, F_OK) != 0) {
            continue; /* finished (or not started) before the kill */
        }
        char hex[65];
        int64_t accepted = 0;
        int st = 0;
        store_digest(db_kill, hex, &accepted, &st);
        if (st == FC_INGEST_RUNNING && accepted > last_accepted) {
            interrupted++;
            last_accepted = accepted;
        }
    }
    /* The kills must have landed mid-ingest, with progress between them. */
    assert_true(interrupted >= 3);
    assert_int_equal(run_cli(fx->dir, NULL, kill_args), 2);

    char h_ref[65], h_kill[65];
    int64_t acc_ref, acc_kill;
    int st_ref, st_kill;
    store_digest(db_ref, h_ref, &acc_ref, &st_ref);
    store_digest(db_kill, h_kill, &acc_kill, &st_kill);
    assert_int_equal(st_ref, FC_INGEST_DONE);
    assert_int_equal(st_kill, FC_INGEST_DONE);
    assert_int_equal(acc_ref, acc_kill);
    assert_true(acc_ref > rows - rows / 997 - rows / 1009 - 2);
    assert_string_equal(h_kill, h_ref);

    /* The reject files (written from the store at the end) match too. */
    char *a = fc_test_slurp(rej_ref, NULL);
    char *b = fc_test_slurp(rej_kill, NULL);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(count_lines(a), 1 + rows / 997);
    assert_string_equal(a, b);
    free(a);
    free(b);
}

/* The summary of a copy of an ingested file names the copy, as given, and
 * the source it matched. */
static void test_already_ingested_names_the_given_file(void **state) {
    fixture *fx = *state;
    char orig[256], copy[256], expect[700];
    copy_fixture(fx, "orders.csv", orig, sizeof orig);
    snprintf(copy, sizeof copy, "%s/copy.csv", fx->dir);
    char *text = fc_test_slurp(orig, NULL);
    assert_non_null(text);
    FILE *f = fopen(copy, "wb");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
    free(text);

    char *out = NULL;
    size_t out_n = 0;
    FILE *mem = open_memstream(&out, &out_n);
    assert_non_null(mem);
    fc_ingest_opts o = {.max_errors = -1, .summary = mem};
    fc_ingest_log log;
    fc_err err;
    assert_int_equal(fc_ingest_file(fx->s, orig, &o, &log, &err), FC_OK);
    assert_int_equal(fc_ingest_file(fx->s, copy, &o, &log, &err), FC_OK);
    assert_int_equal(fc_ingest_file(fx->s, orig, &o, &log, &err), FC_OK);
    assert_int_equal(fclose(mem), 0);
    assert_int_equal(count_lines(out), 3);
    /* Second line: the copy, as given, then the original it matched. */
    char *second = strchr(out, '\n') + 1;
    snprintf(expect, sizeof expect, "%s: already ingested (", copy);
    assert_memory_equal(second, expect, strlen(expect));
    snprintf(expect, sizeof expect, " rejected) as %s; sha256 ", orig);
    char *second_end = strchr(second, '\n');
    char *as = strstr(second, expect);
    assert_non_null(as);
    assert_true(as < second_end);
    /* Third line: the original again, under its own name: no "as". */
    char *third = second_end + 1;
    snprintf(expect, sizeof expect, "%s: already ingested (", orig);
    assert_memory_equal(third, expect, strlen(expect));
    assert_null(strstr(third, " as "));
    free(out);
}

/* Orders whose duplicates sit a few rows after their first (still being
 * written when they are read), batches committed every few rows or not
 * before the end: the counters are exact and both stores are the same. */
static void test_duplicates_in_flight_are_found(void **state) {
    fixture *fx = *state;
    fc_store_close(fx->s);
    fx->s = NULL;
    assert_true(sodium_init() >= 0);
    const long rows = 12000;
    char input[256], db_a[256], db_b[256];
    snprintf(input, sizeof input, "%s/dups.csv", fx->dir);
    snprintf(db_a, sizeof db_a, "%s/a.db", fx->dir);
    snprintf(db_b, sizeof db_b, "%s/b.db", fx->dir);
    char base[256];
    snprintf(base, sizeof base, "%s/base.csv", fx->dir);
    write_big_orders(base, rows);
    /* Every 50th row twice in a row, then the first 300 rows again:
     * duplicates of a record still being written, and of the first batch. */
    char *text = fc_test_slurp(base, NULL);
    assert_non_null(text);
    FILE *f = fopen(input, "wb");
    assert_non_null(f);
    fputs(orders_header, f);
    const char *first = strchr(text, '\n') + 1;
    const char *row = first;
    for (long i = 0; i < rows + 300; i++) {
        if (i == rows) {
            row = first;
        }
        const char *end = strchr(row, '\n') + 1;
        for (int k = 0; k < (i < rows && i % 50 == 0 ? 2 : 1); k++) {
            assert_int_equal(fwrite(row, 1, (size_t)(end - row), f), (size_t)(end - row));
        }
        row = end;
    }
    assert_int_equal(fclose(f), 0);
    free(text);
    /* Expected counts, as write_big_orders lays the rows out (a bad time
     * every 997th row, row i repeating row i - 500 every 1009th). */
    int64_t read = 0, rejected = 0, duplicates = 0;
    char *seen = calloc((size_t)rows, 1);
    assert_non_null(seen);
    for (long i = 0; i < rows + 300; i++) {
        long src = i < rows ? i : i - rows;
        for (int k = 0; k < (i < rows && i % 50 == 0 ? 2 : 1); k++) {
            long id = src % 1009 == 1008 ? src - 500 : src;
            read++;
            if (src % 997 == 996) {
                rejected++;
            } else if (seen[id]) {
                duplicates++;
            } else {
                seen[id] = 1;
            }
        }
    }
    free(seen);
    assert_true(duplicates > 300);
    const char *dbs[] = {db_a, db_b};
    const size_t batches[] = {7, 1000000};
    char hex[2][65];
    for (int k = 0; k < 2; k++) {
        fc_store *s = NULL;
        fc_err err;
        assert_int_equal(fc_store_open(dbs[k], &s, &err), FC_OK);
        fc_ingest_opts o = quiet_opts();
        o.batch_rows = batches[k];
        fc_ingest_log log;
        assert_int_equal(fc_ingest_file(s, input, &o, &log, &err), FC_OK);
        assert_int_equal(log.rows_read, read);
        assert_int_equal(log.rejected, rejected);
        assert_int_equal(log.duplicates, duplicates);
        assert_int_equal(log.accepted, read - rejected - duplicates);
        int64_t records = 0, events = 0;
        assert_int_equal(fc_store_counts(s, &records, &events, &err), FC_OK);
        assert_int_equal(records, log.accepted);
        fc_store_close(s);
        int64_t accepted = 0;
        int st = 0;
        store_digest(dbs[k], hex[k], &accepted, &st);
        assert_int_equal(st, FC_INGEST_DONE);
    }
    assert_string_equal(hex[0], hex[1]);
}

/* A store error on the writer reaches the caller with its message, and the
 * store is left as before. */
static void test_writer_error_reaches_the_caller(void **state) {
    fixture *fx = *state;
    char path[256];
    snprintf(path, sizeof path, "%s/ids.jsonl", fx->dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    /* Three hash-colliding ids in a key space of one bit: the third has no
     * key left. */
    for (int i = 0; i < 3; i++) {
        fprintf(f,
                "{\"id\":\"e%d\",\"type\":\"order_created\",\"ts\":\"2026-03-02T10:00:00Z\","
                "\"order\":\"o%d\",\"city\":\"riyadh\"}\n",
                i, i);
    }
    assert_int_equal(fclose(f), 0);
    fc_store_test_key_bits(fx->s, 1);
    fc_ingest_opts o = quiet_opts();
    fc_ingest_log log;
    fc_err err;
    fc_err_clear(&err);
    int rc = fc_ingest_file(fx->s, path, &o, &log, &err);
    assert_int_equal(rc, FC_ELIMIT);
    assert_int_equal(err.code, FC_ELIMIT);
    assert_non_null(strstr(err.msg, "key space is full"));
    int64_t records = -1, events = -1;
    assert_int_equal(fc_store_counts(fx->s, &records, &events, &err), FC_OK);
    assert_int_equal(records, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_jsonl_exact_counters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_csv_exact_counters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reference_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reingest_is_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_file_keeps_good_rows_and_rejects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_errors_stops_the_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_small_batches_give_same_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_on_order_tells_newly_stored_orders, setup, teardown),
        cmocka_unit_test_setup_teardown(test_on_order_csv_rows_and_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_file_is_an_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_exit_statuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_stdin_and_reference_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_already_ingested_names_the_given_file, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_duplicates_in_flight_are_found, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writer_error_reaches_the_caller, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kill9_recovery_gives_identical_store, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
