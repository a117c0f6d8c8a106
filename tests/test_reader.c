/* ingest readers: JSON Lines, RFC 4180 CSV, mappings and presets, reference
 * CSVs, and the bad-input corpus in tests/data/reader/. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ingest/ingest.h"

#define DATA FC_TEST_DATA "/reader/"

static char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)len + 1);
    assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
    buf[len] = '\0';
    fclose(f);
    *n = (size_t)len;
    return buf;
}

/* A fresh temporary folder, removed by rmtmp. */
static char tmpdir[64];
static void mktmp(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/fc_reader_XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
}
static void rmtmp(const char *file) {
    char p[256];
    snprintf(p, sizeof p, "%s/%s", tmpdir, file);
    unlink(p);
    rmdir(tmpdir);
}
static const char *write_tmp(const char *file, const char *text) {
    static char p[256];
    snprintf(p, sizeof p, "%s/%s", tmpdir, file);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return p;
}

static const fc_event *find_event(const fc_record *rec, fc_event_type t) {
    for (size_t i = 0; i < rec->n_events; i++) {
        if (rec->events[i].type == t) {
            return &rec->events[i];
        }
    }
    return NULL;
}

static void assert_str(fc_str s, const char *want) {
    char buf[256];
    fc_str_cpy(buf, sizeof buf, s);
    assert_string_equal(buf, want);
}

static void assert_err(const fc_err *err, const char *fragment, long line, long col) {
    if (strstr(err->msg, fragment) == NULL) {
        fail_msg("error '%s' lacks '%s'", err->msg, fragment);
    }
    assert_int_equal(err->line, line);
    assert_int_equal(err->col, col);
}

/* ---------------------------------------------------------------------------
 * JSON Lines.
 */
static void test_jsonl_every_event_type_parses(void **state) {
    (void)state;
    char buf[8192];
    size_t n = 0;
    for (int t = 1; t < FC_EV__COUNT; t++) {
        const char *name = fc_event_type_name((fc_event_type)t);
        n += (size_t)snprintf(buf + n, sizeof buf - n,
                              "{\"id\":\"e%d\",\"type\":\"%s\",\"ts\":1772467451%s%s}\n", t, name,
                              fc_event_type_has_order((fc_event_type)t) ? ",\"order\":\"o-1\"" : "",
                              t == FC_EV_WEATHER  ? ",\"city\":\"riyadh\",\"severity\":2"
                              : t == FC_EV_RATING ? ",\"score\":4"
                              : t == FC_EV_PLATFORM_INCIDENT
                                  ? ",\"city\":\"riyadh\",\"from\":1772467000,\"to\":1772468000,"
                                    "\"reason\":\"dispatch_outage\""
                                  : "");
    }
    fc_reader *r;
    fc_err err;
    fc_record rec;
    assert_int_equal(fc_reader_open("events.jsonl", buf, n, NULL, NULL, &r, &err), FC_OK);
    assert_int_equal(fc_reader_kind(r), FC_INPUT_EVENTS);
    for (int t = 1; t < FC_EV__COUNT; t++) {
        int rc = fc_reader_next(r, &rec, &err);
        if (rc != 1) {
            fail_msg("type %s: %s", fc_event_type_name((fc_event_type)t), err.msg);
        }
        assert_int_equal(rec.n_events, 1);
        assert_int_equal(rec.events[0].type, t);
        assert_int_equal(rec.line, t);
        assert_true(rec.events[0].ts == 1772467451);
        if (fc_event_type_has_order((fc_event_type)t)) {
            assert_str(rec.order, "o-1");
        }
    }
    assert_int_equal(fc_reader_next(r, &rec, &err), 0);
    fc_reader_free(r);
}

static void test_jsonl_fields_convert(void **state) {
    (void)state;
    const char *line =
        "{\"id\":\"c1\",\"type\":\"order_created\",\"ts\":\"2026-03-02T19:04:11+03:00\","
        "\"order\":\"o-1\",\"city\":\"kuwait-city\",\"zone\":\"salmiya\",\"merchant\":\"m-1\","
        "\"customer\":\"c-1\",\"category\":\"food\",\"prebook\":true,"
        "\"promised_at\":1772469251,\"est_ready_at\":\"2026-03-02T16:20:00Z\","
        "\"amount\":\"3.250\",\"currency\":\"KWD\",\"customer_lat\":29.3391,"
        "\"customer_lng\":48.076,\"merchant_lat\":-23.5505201,\"merchant_lng\":48.08,"
        "\"distance_m\":2200,\"promise_prep_s\":900,\"promise_travel_s\":600,"
        "\"future_field\":{\"nested\":[1,2]}}\n"
        "{\"id\":\"k1\",\"type\":\"compensation\",\"ts\":1772469251,\"order\":\"o-1\","
        "\"amount\":12.5,\"currency\":\"SAR\",\"by\":\"platform\",\"reason\":\"late\"}\n";
    fc_reader *r;
    fc_err err;
    fc_record rec;
    assert_int_equal(fc_reader_open("e.jsonl", line, strlen(line), NULL, NULL, &r, &err), FC_OK);
    assert_int_equal(fc_reader_next(r, &rec, &err), 1);
    const fc_event *e = &rec.events[0];
    assert_str(rec.id, "c1");
    assert_true(e->ts == 1772467451);
    assert_true(e->est_ready_at == 1772468400);
    assert_true(e->promised_at == 1772469251);
    assert_true(e->amount_minor == 3250);
    assert_str(e->currency, "KWD");
    assert_int_equal(e->prebook, 1);
    assert_int_equal(e->customer_lat_e6, 29339100);
    assert_int_equal(e->merchant_lat_e6, -23550520);
    assert_int_equal(e->distance_m, 2200);
    assert_int_equal(e->promise_travel_s, 600);
    assert_str(e->zone, "salmiya");
    assert_int_equal(fc_reader_next(r, &rec, &err), 1);
    assert_true(rec.events[0].amount_minor == 1250);
    assert_str(rec.events[0].by, "platform");
    assert_int_equal(fc_reader_next(r, &rec, &err), 0);
    fc_reader_free(r);
}

typedef struct jcase {
    const char *fragment; /* NULL: the line is accepted */
    const char *needle;   /* the offending value's text; NULL: use col */
    long col;
} jcase;

static void test_jsonl_bad_corpus(void **state) {
    (void)state;
    const jcase cases[] = {
        {NULL, NULL, 0},
        {"unknown event type 'order_teleported'", "\"order_teleported\"", 0},
        {"missing id", NULL, 0},
        {"score must be an integer", "\"five\"", 0},
        {"rating score out of range 1-5", "6}", 0},
        {"impossible instant", "\"1900", 0},
        {"does not exist", "\"2026-02-30", 0},
        {"latitude out of range", "91.5", 0},
        {"missing order", NULL, 0},
        {"severity out of range 0-3", "5}", 0},
        {"bad JSON", NULL, -1},
        {"no UTC offset", "\"2026-03-02T19:04:11\"", 0},
        {NULL, NULL, 0},
        {"at most 3 decimals for KWD", "1.2345", 0},
        {"invalid UTF-8", NULL, 11},
        {"NUL byte", NULL, -2},
        {"score out of range 0-10", "11}", 0},
        {"order must be a string", "42}", 0},
    };
    size_t n;
    char *buf = slurp(DATA "bad_events.jsonl", &n);
    fc_reader *r;
    fc_err err;
    fc_record rec;
    assert_int_equal(fc_reader_open("bad_events.jsonl", buf, n, NULL, NULL, &r, &err), FC_OK);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fc_err_clear(&err);
        int rc = fc_reader_next(r, &rec, &err);
        assert_int_equal(rec.line, (long)i + 1);
        if (cases[i].fragment == NULL) {
            if (rc != 1) {
                fail_msg("line %zu: %s", i + 1, err.msg);
            }
            continue;
        }
        if (rc >= 0) {
            fail_msg("line %zu accepted, expected '%s'", i + 1, cases[i].fragment);
        }
        long col = cases[i].col;
        if (cases[i].needle != NULL) {
            const char *at = strstr(rec.raw.p, cases[i].needle);
            assert_non_null(at);
            col = (long)(at - rec.raw.p) + 1;
        } else if (col == -2) {
            col = (long)((const char *)memchr(rec.raw.p, 0, rec.raw.n) - rec.raw.p) + 1;
        } else if (col == -1) {
            col = err.col; /* jansson's position; only require one */
            assert_true(col > 0);
        }
        assert_string_equal(err.file, "bad_events.jsonl");
        assert_err(&err, cases[i].fragment, (long)i + 1, col);
    }
    assert_int_equal(fc_reader_next(r, &rec, &err), 0);
    fc_reader_free(r);
    free(buf);
}

/* ---------------------------------------------------------------------------
 * The canonical orders layout (fulcrum-orders preset), detected.
 */
static void check_canonical(const char *file) {
    size_t n;
    char *buf = slurp(file, &n);
    fc_reader *r;
    fc_err err;
    fc_record rec;
    assert_int_equal(fc_reader_open("orders.csv", buf, n, NULL, NULL, &r, &err), FC_OK);
    assert_int_equal(fc_reader_kind(r), FC_INPUT_ORDERS);

    int rc = fc_reader_next(r, &rec, &err);
    if (rc != 1) {
        fail_msg("%s", err.msg);
    }
    assert_int_equal(rec.line, 2);
    assert_str(rec.id, "o-1");
    assert_str(rec.order, "o-1");
    assert_int_equal(rec.n_events, 8);
    const fc_event *c = find_event(&rec, FC_EV_ORDER_CREATED);
    assert_non_null(c);
    assert_str(c->id, "o-1:order_created");
    assert_true(c->ts == 1772467451);
    assert_true(c->promised_at == 1772467451 + 35 * 60 + 49);
    assert_str(c->city, "riyadh");
    assert_str(c->zone, "olaya");
    assert_str(c->merchant, "m-1");
    assert_str(c->customer, "c-1");
    assert_str(c->category, "food");
    assert_int_equal(c->prebook, 0);
    assert_true(c->amount_minor == 4250);
    assert_str(c->currency, "SAR");
    assert_int_equal(c->merchant_lat_e6, 24711000);
    assert_int_equal(c->customer_lng_e6, 46680000);
    assert_int_equal(c->distance_m, 2100);
    assert_null(c->rider.p); /* the rider belongs to the rider's steps */
    const fc_event *a = find_event(&rec, FC_EV_ORDER_ACCEPTED);
    assert_str(a->rider, "r-1");
    assert_str(a->id, "o-1:order_accepted");
    assert_null(a->merchant.p);
    const fc_event *d = find_event(&rec, FC_EV_ORDER_DELIVERED);
    assert_true(d->ts == 1772467451 + 32 * 60 + 49);
    assert_int_equal(d->lat_e6, 24720100);
    assert_int_equal(d->lng_e6, 46680200);
    assert_true(d->cost_minor == 975);
    assert_str(d->currency, "SAR");
    assert_null(find_event(&rec, FC_EV_ORDER_CANCELLED));

    rc = fc_reader_next(r, &rec, &err);
    if (rc != 1) {
        fail_msg("%s", err.msg);
    }
    assert_int_equal(rec.line, 3);
    assert_int_equal(rec.n_events, 2);
    c = find_event(&rec, FC_EV_ORDER_CREATED);
    assert_true(c->amount_minor == 3250);
    assert_int_equal(c->prebook, 1);
    assert_true(c->est_ready_at == FC_TS_NONE);
    const fc_event *x = find_event(&rec, FC_EV_ORDER_CANCELLED);
    assert_str(x->by, "customer");
    assert_str(x->reason, "changed mind, \"too slow\"");
    assert_true(x->cost_minor == 500);
    assert_true(x->ts == c->ts + 600);
    assert_int_equal(fc_reader_next(r, &rec, &err), 0);
    fc_reader_free(r);
    free(buf);
}

static void test_canonical_orders_detected(void **state) {
    (void)state;
    check_canonical(DATA "orders_ok.csv");
}

static void test_canonical_orders_crlf_and_last_row_without_newline(void **state) {
    (void)state;
    check_canonical(DATA "orders_crlf.csv");
}

/* ---------------------------------------------------------------------------
 * Meituan INFORMS TSL 2024 waybills.
 */
static void test_meituan_refused_then_accepted(void **state) {
    (void)state;
    const char *csv =
        "order_id,waybill_id,dt,da_id,sender_lat,sender_lng,recipient_lat,recipient_lng,poi_id,"
        "platform_order_time,estimate_arrived_time,estimate_meal_prepare_time,order_push_time,"
        "dispatch_time,courier_id,grab_lat,grab_lng,is_courier_grabbed,grab_time,fetch_time,"
        "arrive_time,is_prebook,is_weekend\n"
        "1001,5001,20221017,12,45887000,126627000,45890000,126630000,777,1665974400,1665976200,"
        "1665975300,1665974410,1665974440,88,0,0,0,0,0,0,0,0\n"
        "1001,5002,20221017,12,45887000,126627000,45890000,126630000,777,1665974400,1665976200,"
        "1665975300,1665974410,1665974500,99,45886000,126626000,1,1665974520,1665975400,"
        "1665976000,0,0\n";
    fc_mapping *m;
    fc_reader *r;
    fc_err err;
    fc_record rec;
    if (fc_mapping_load("meituan-tsl-2024", &m, &err) != FC_OK) {
        fail_msg("%s:%ld:%ld: %s", err.file, err.line, err.col, err.msg);
    }
    assert_string_equal(fc_mapping_name(m), "meituan-tsl-2024");
    assert_int_equal(fc_reader_open("waybills.csv", csv, strlen(csv), m, NULL, &r, &err), FC_OK);

    /* the refused waybill: created, pushed to courier 88, refused */
    int rc = fc_reader_next(r, &rec, &err);
    if (rc != 1) {
        fail_msg("%s", err.msg);
    }
    assert_str(rec.id, "5001");
    assert_str(rec.order, "1001");
    assert_int_equal(rec.n_events, 3);
    const fc_event *c = find_event(&rec, FC_EV_ORDER_CREATED);
    assert_str(c->id, "1001:order_created");
    assert_true(c->ts == 1665974400);
    assert_true(c->promised_at == 1665976200);
    assert_true(c->est_ready_at == 1665975300);
    assert_str(c->zone, "12");
    assert_str(c->merchant, "777");
    assert_int_equal(c->merchant_lat_e6, 45887000);
    assert_int_equal(c->customer_lng_e6, 126630000);
    assert_int_equal(c->prebook, 0); /* 0 is an answer here, not absent */
    const fc_event *p = find_event(&rec, FC_EV_ORDER_PUSHED);
    assert_str(p->rider, "88");
    assert_true(p->ts == 1665974440);
    const fc_event *f = find_event(&rec, FC_EV_ORDER_REFUSED);
    assert_non_null(f);
    assert_str(f->rider, "88");
    assert_str(f->id, "5001:order_refused");
    assert_str(f->reason, "not_grabbed");
    assert_null(find_event(&rec, FC_EV_ORDER_ACCEPTED));
    assert_null(find_event(&rec, FC_EV_ORDER_DELIVERED));

    /* the re-dispatched waybill of the same order, grabbed by courier 99 */
    rc = fc_reader_next(r, &rec, &err);
    if (rc != 1) {
        fail_msg("%s", err.msg);
    }
    assert_str(rec.id, "5002");
    assert_str(rec.order, "1001");
    assert_int_equal(rec.n_events, 5);
    c = find_event(&rec, FC_EV_ORDER_CREATED);
    assert_str(c->id, "1001:order_created"); /* same event id: one creation */
    const fc_event *a = find_event(&rec, FC_EV_ORDER_ACCEPTED);
    assert_str(a->rider, "99");
    assert_true(a->ts == 1665974520);
    assert_int_equal(a->lat_e6, 45886000);
    assert_int_equal(a->lng_e6, 126626000);
    assert_true(find_event(&rec, FC_EV_ORDER_PICKED_UP)->ts == 1665975400);
    const fc_event *d = find_event(&rec, FC_EV_ORDER_DELIVERED);
    assert_true(d->ts == 1665976000);
    assert_str(d->rider, "99");
    assert_null(find_event(&rec, FC_EV_ORDER_REFUSED));
    assert_int_equal(fc_reader_next(r, &rec, &err), 0);
    fc_reader_free(r);
    fc_mapping_free(m);
}

/* ---------------------------------------------------------------------------
 * A mapping of one's own: date + clock columns, a zone, absent values,
 * scaling, minor units, conditions, an id template, another delimiter.
 */
static const char *acme_mapping = "name: acme-export\n"
                                  "delimiter: \";\"\n"
                                  "timezone: Asia/Riyadh\n"
                                  "time_format: \"%d/%m/%Y %H:%M\"\n"
                                  "absent: [\"\", \"-\", \"NULL\"]\n"
                                  "record_id: Order No\n"
                                  "order: Order No\n"
                                  "fields:\n"
                                  "  city: {value: riyadh}\n"
                                  "  merchant: Store\n"
                                  "  customer: {column: Customer, absent: [\"\", guest]}\n"
                                  "  distance_m: {column: Distance km, scale: 1000}\n"
                                  "  customer_lat: {column: Lat e6, scale: 1e-6}\n"
                                  "  customer_lng: {column: Lng e6, scale: 1e-6}\n"
                                  "  amount: {column: Total fils, unit: minor}\n"
                                  "  currency: {value: KWD}\n"
                                  "events:\n"
                                  "  - type: order_created\n"
                                  "    time: {date: Order Date, clock: Order Time}\n"
                                  "  - type: order_delivered\n"
                                  "    time: Delivered\n"
                                  "    when: {column: Status, equals: [delivered, DELIVERED]}\n"
                                  "  - type: order_cancelled\n"
                                  "    time: Delivered\n"
                                  "    id: \"acme-{order}-cancel\"\n"
                                  "    when: {column: Status, equals: cancelled}\n"
                                  "    fields:\n"
                                  "      by: {value: customer}\n";

static void test_mapping_date_clock_absent_scaling(void **state) {
    (void)state;
    const char *csv = "Order No;Store;Customer;Order Date;Order Time;Delivered;Status;Distance "
                      "km;Lat e6;Lng e6;Total fils\n"
                      "A-1;s-1;guest;02/03/2026;19:04;02/03/2026 19:40;delivered;2.5;24711000;"
                      "46674000;3250\n"
                      "A-2;s-2;c-9;02/03/2026;20:00;-;open;-;NULL;;1000\n"
                      "A-3;s-1;c-1;02/03/2026;21:00;02/03/2026 21:10;cancelled;1;24711000;"
                      "46674000;500\n";
    fc_mapping *m;
    fc_reader *r;
    fc_err err;
    fc_record rec;
    mktmp();
    const char *path = write_tmp("acme.yaml", acme_mapping);
    if (fc_mapping_load(path, &m, &err) != FC_OK) {
        fail_msg("%s:%ld:%ld: %s", err.file, err.line, err.col, err.msg);
    }
    rmtmp("acme.yaml");
    assert_string_equal(fc_mapping_name(m), "acme-export");
    assert_int_equal(fc_reader_open("acme.csv", csv, strlen(csv), m, NULL, &r, &err), FC_OK);

    int rc = fc_reader_next(r, &rec, &err);
    if (rc != 1) {
        fail_msg("%ld:%ld %s", err.line, err.col, err.msg);
    }
    assert_int_equal(rec.n_events, 2);
    const fc_event *c = find_event(&rec, FC_EV_ORDER_CREATED);
    assert_true(c->ts == 1772467440); /* 19:04 in Riyadh (+03:00) */
    assert_str(c->city, "riyadh");
    assert_null(c->customer.p); /* "guest" means absent for this column */
    assert_int_equal(c->distance_m, 2500);
    assert_int_equal(c->customer_lat_e6, 24711000);
    assert_true(c->amount_minor == 3250);
    assert_str(c->currency, "KWD");
    assert_true(find_event(&rec, FC_EV_ORDER_DELIVERED)->ts == 1772469600);

    rc = fc_reader_next(r, &rec, &err);
    if (rc != 1) {
        fail_msg("%ld:%ld %s", err.line, err.col, err.msg);
    }
    assert_int_equal(rec.n_events, 1);
    c = &rec.events[0];
    assert_str(c->customer, "c-9");
    assert_int_equal(c->distance_m, FC_INT_NONE);
    assert_int_equal(c->customer_lat_e6, FC_GEO_NONE);
    assert_int_equal(c->customer_lng_e6, FC_GEO_NONE);

    rc = fc_reader_next(r, &rec, &err);
    if (rc != 1) {
        fail_msg("%ld:%ld %s", err.line, err.col, err.msg);
    }
    assert_int_equal(rec.n_events, 2);
    const fc_event *x = find_event(&rec, FC_EV_ORDER_CANCELLED);
    assert_str(x->id, "acme-A-3-cancel");
    assert_str(x->by, "customer");
    assert_true(x->ts == 1772475000);
    assert_int_equal(fc_reader_next(r, &rec, &err), 0);
    fc_reader_free(r);
    fc_mapping_free(m);
}

static void test_mapping_value_errors_name_the_column(void **state) {
    (void)state;
    const char *csv = "Order No;Store;Customer;Order Date;Order Time;Delivered;Status;Distance "
                      "km;Lat e6;Lng e6;Total fils\n"
                      "A-1;s-1;c;30/02/2026;19:04;-;open;1;1;1;1\n"
                      "A-2;s-1;c;01/03/1900;19:04;-;open;1;1;1;1\n"
                      "A-3;s-1;c;01/03/2026;19:04;-;open;1;95000000;1;1\n"
                      "A-4;s-1;c;01/03/2026;19:04;-;open;x;1;1;1\n"
                      ";s-1;c;01/03/2026;19:04;-;open;1;1;1;1\n";
    fc_mapping *m;
    fc_reader *r;
    fc_err err;
    fc_record rec;
    mktmp();
    const char *path = write_tmp("acme.yaml", acme_mapping);
    assert_int_equal(fc_mapping_load(path, &m, &err), FC_OK);
    rmtmp("acme.yaml");
    assert_int_equal(fc_reader_open("acme.csv", csv, strlen(csv), m, NULL, &r, &err), FC_OK);
    assert_true(fc_reader_next(r, &rec, &err) < 0);
    assert_err(&err, "bad time", 2, 4);
    assert_string_equal(err.field, "Order Date");
    assert_true(fc_reader_next(r, &rec, &err) < 0);
    assert_err(&err, "impossible instant", 3, 4);
    assert_true(fc_reader_next(r, &rec, &err) < 0);
    assert_err(&err, "latitude out of range", 4, 9);
    assert_true(fc_reader_next(r, &rec, &err) < 0);
    assert_err(&err, "bad number", 5, 8);
    assert_true(fc_reader_next(r, &rec, &err) < 0);
    assert_err(&err, "empty record id", 6, 1);
    assert_int_equal(fc_reader_next(r, &rec, &err), 0);
    fc_reader_free(r);
    fc_mapping_free(m);
}

typedef struct mcase {
    const char *yaml;
    const char *fragment;
    long line, col;
} mcase;

static void test_mapping_errors_name_line_and_column(void **state) {
    (void)state;
    const char *tail = "events:\n  - {type: order_created, time: t}\n";
    char text[1024];
    const mcase cases[] = {
        {"record_id: a\norder: a\nfields:\n  colour: b\n", "unknown field 'colour'", 4, 3},
        {"record_id: a\norder: a\ntime_format: \"%Y-%q\"\n", "bad time format", 3, 0},
        {"record_id: a\norder: a\ntimezone: Mars/Olympus\n", "bad time zone", 3, 11},
        {"record_id: a\norder: a\nfields:\n  city: {column: c, frobnicate: 1}\n",
         "unknown option 'frobnicate'", 4, 21},
        {"record_id: a\norder: a\nsheet: 1\n", "unknown key 'sheet'", 3, 1},
    };
    mktmp();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fc_mapping *m = NULL;
        fc_err err;
        snprintf(text, sizeof text, "%s%s", cases[i].yaml, tail);
        const char *path = write_tmp("bad.yaml", text);
        int rc = fc_mapping_load(path, &m, &err);
        assert_true(rc < 0);
        assert_null(m);
        assert_non_null(strstr(err.file, "bad.yaml"));
        if (strstr(err.msg, cases[i].fragment) == NULL) {
            fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, cases[i].fragment);
        }
        assert_int_equal(err.line, cases[i].line);
        if (cases[i].col != 0) {
            assert_int_equal(err.col, cases[i].col);
        }
    }
    /* an unknown event type, at its value */
    {
        fc_mapping *m = NULL;
        fc_err err;
        const char *path =
            write_tmp("bad.yaml",
                      "record_id: a\norder: a\nevents:\n  - type: order_teleported\n    time: t\n");
        assert_true(fc_mapping_load(path, &m, &err) < 0);
        assert_err(&err, "unknown event type 'order_teleported'", 4, 11);
    }
    /* a column the CSV header lacks: named at the mapping's line and column */
    {
        fc_mapping *m = NULL;
        fc_reader *r = NULL;
        fc_err err;
        const char *path = write_tmp("bad.yaml", "record_id: a\norder: a\nfields:\n  city: "
                                                 "town\nevents:\n  - {type: order_created, "
                                                 "time: t}\n");
        assert_int_equal(fc_mapping_load(path, &m, &err), FC_OK);
        const char *csv = "a,t\nx,2026-03-02T19:04:11Z\n";
        assert_true(fc_reader_open("in.csv", csv, strlen(csv), m, NULL, &r, &err) < 0);
        assert_null(r);
        assert_non_null(strstr(err.file, "bad.yaml"));
        assert_err(&err, "column 'town' is not in the header of in.csv", 4, 9);
        fc_mapping_free(m);
    }
    /* a preset that does not exist */
    {
        fc_mapping *m = NULL;
        fc_err err;
        assert_int_equal(fc_mapping_load("no-such-preset", &m, &err), FC_ENOTFOUND);
    }
    rmtmp("bad.yaml");
}

/* %z reads the row's own offset (then no zone is needed, not even the
 * city's) and %f the fraction of a second, which is dropped. */
static void test_mapping_offset_and_fraction(void **state) {
    (void)state;
    fc_mapping *m;
    fc_reader *r;
    fc_err err;
    fc_record rec;
    mktmp();
    const char *path =
        write_tmp("zf.yaml", "record_id: id\norder: id\ntimezone: city\n"
                             "time_format: \"%d/%m/%Y %H:%M:%S.%f %z\"\nfields:\n"
                             "  city: city\n"
                             "  promised_at: {column: p, format: \"%Y%m%d%H%M%S%z\"}\n"
                             "events:\n"
                             "  - {type: order_created, time: t}\n");
    if (fc_mapping_load(path, &m, &err) != FC_OK) {
        fail_msg("%s:%ld:%ld: %s", err.file, err.line, err.col, err.msg);
    }
    rmtmp("zf.yaml");
    const char *csv = "id,city,t,p\n"
                      "1,riyadh,02/03/2026 19:04:11.250 +0300,20260302194411+03:00\n"
                      "2,riyadh,02/03/2026 16:04:11.9 Z,20260302164411Z\n"
                      "3,riyadh,02/03/2026 19:04:11.250 AST,20260302194411+03:00\n"
                      "4,riyadh,02/03/2026 19:04:11 +0300,20260302194411+03:00\n";
    /* No reference data: the offsets are enough. */
    assert_int_equal(fc_reader_open("zf.csv", csv, strlen(csv), m, NULL, &r, &err), FC_OK);
    for (int i = 0; i < 2; i++) {
        int rc = fc_reader_next(r, &rec, &err);
        if (rc != 1) {
            fail_msg("row %d: %ld:%ld %s", i + 1, err.line, err.col, err.msg);
        }
        assert_true(rec.events[0].ts == 1772467451);
        assert_true(rec.events[0].promised_at == 1772467451 + 2400);
    }
    assert_true(fc_reader_next(r, &rec, &err) < 0); /* a zone name is not an offset */
    assert_err(&err, "bad UTC offset", 4, 3);
    assert_string_equal(err.field, "t");
    assert_true(fc_reader_next(r, &rec, &err) < 0); /* the fraction is missing */
    assert_err(&err, "expected '.'", 5, 3);
    assert_int_equal(fc_reader_next(r, &rec, &err), 0);
    fc_reader_free(r);
    fc_mapping_free(m);
}

/* A mapping that takes the time zone from the row's city needs reference
 * data for times without an offset. */
static void test_mapping_zone_from_city(void **state) {
    (void)state;
    fc_mapping *m;
    fc_reader *r;
    fc_err err;
    fc_record rec;
    fc_ref *ref = fc_ref_new();
    assert_int_equal(fc_ref_put_city(ref, "riyadh", "SA", "Asia/Riyadh", "SAR", &err), FC_OK);
    mktmp();
    const char *path = write_tmp("z.yaml", "record_id: id\norder: id\ntimezone: city\n"
                                           "time_format: \"%Y-%m-%d %H:%M\"\nfields:\n"
                                           "  city: city\nevents:\n"
                                           "  - {type: order_created, time: t}\n");
    assert_int_equal(fc_mapping_load(path, &m, &err), FC_OK);
    rmtmp("z.yaml");
    const char *csv = "id,city,t\n1,riyadh,2026-03-02 19:04\n2,dubai,2026-03-02 19:04\n";
    assert_int_equal(fc_reader_open("z.csv", csv, strlen(csv), m, ref, &r, &err), FC_OK);
    assert_int_equal(fc_reader_next(r, &rec, &err), 1);
    assert_true(rec.events[0].ts == 1772467440);
    assert_true(fc_reader_next(r, &rec, &err) < 0);
    assert_err(&err, "no time zone for city 'dubai'", 3, 3);
    fc_reader_free(r);
    fc_mapping_free(m);
    fc_ref_free(ref);
}

/* ---------------------------------------------------------------------------
 * RFC 4180 and the bad-input corpus.
 */
typedef struct rcase {
    const char *fragment; /* NULL: accepted */
    long line, col;
    const char *field; /* the field the reject names; NULL: not checked */
} rcase;

static void run_corpus(const char *file, const rcase *cases, size_t n_cases) {
    char path[512];
    size_t n;
    snprintf(path, sizeof path, DATA "%s", file);
    char *buf = slurp(path, &n);
    fc_reader *r;
    fc_err err;
    fc_record rec;
    if (fc_reader_open(file, buf, n, NULL, NULL, &r, &err) != FC_OK) {
        fail_msg("%s: %s", file, err.msg);
    }
    for (size_t i = 0; i < n_cases; i++) {
        fc_err_clear(&err);
        int rc = fc_reader_next(r, &rec, &err);
        if (cases[i].fragment == NULL) {
            if (rc != 1) {
                fail_msg("%s row %zu: %s", file, i + 1, err.msg);
            }
            assert_int_equal(rec.line, cases[i].line);
            continue;
        }
        if (rc >= 0) {
            fail_msg("%s row %zu accepted; expected '%s'", file, i + 1, cases[i].fragment);
        }
        assert_string_equal(err.file, file);
        assert_err(&err, cases[i].fragment, cases[i].line, cases[i].col);
        if (cases[i].field != NULL) {
            assert_string_equal(err.field, cases[i].field);
        }
    }
    assert_int_equal(fc_reader_next(r, &rec, &err), 0);
    fc_reader_free(r);
    free(buf);
}

static void test_corpus_truncated_file(void **state) {
    (void)state;
    const rcase c[] = {{NULL, 2, 0, NULL},
                       {"truncated last row: expected 31 fields, found 9", 3, 9, NULL}};
    run_corpus("truncated.csv", c, 2);
}

static void test_corpus_wrong_column_count(void **state) {
    (void)state;
    const rcase c[] = {{"expected 31 fields, found 32", 2, 32, NULL},
                       {"expected 31 fields, found 20", 3, 20, NULL},
                       {NULL, 4, 0, NULL}};
    run_corpus("wrong_columns.csv", c, 3);
}

static void test_corpus_unterminated_quote(void **state) {
    (void)state;
    const rcase c[] = {{"unterminated quoted field 2", 2, 2, "zone"}, {NULL, 3, 0, NULL}};
    run_corpus("unterminated_quote.csv", c, 2);
}

static void test_corpus_invalid_utf8(void **state) {
    (void)state;
    const rcase c[] = {{"invalid UTF-8 in field 2", 2, 2, "zone"}, {NULL, 3, 0, NULL}};
    run_corpus("invalid_utf8.csv", c, 2);
}

static void test_corpus_nul_byte(void **state) {
    (void)state;
    const rcase c[] = {{"NUL byte in field 3", 2, 3, "kind"}, {NULL, 3, 0, NULL}};
    run_corpus("nul_byte.csv", c, 2);
}

static void test_corpus_ten_megabyte_field(void **state) {
    (void)state;
    const size_t big = 10u << 20;
    const char *head = "city,zone,kind\nriyadh,";
    const char *tail = ",office\nriyadh,malqa,office\n";
    size_t n = strlen(head) + big + strlen(tail);
    char *buf = malloc(n);
    memcpy(buf, head, strlen(head));
    memset(buf + strlen(head), 'x', big);
    memcpy(buf + strlen(head) + big, tail, strlen(tail));
    fc_reader *r;
    fc_err err;
    fc_record rec;
    assert_int_equal(fc_reader_open("big.csv", buf, n, NULL, NULL, &r, &err), FC_OK);
    assert_int_equal(fc_reader_next(r, &rec, &err), FC_ELIMIT);
    assert_err(&err, "field 2 is longer than 1048576 bytes", 2, 2);
    assert_string_equal(err.field, "zone"); /* the column's name from the header */
    assert_int_equal(fc_reader_next(r, &rec, &err), 1);
    assert_int_equal(rec.line, 3);
    assert_string_equal(rec.ent.zone.zone, "malqa");
    assert_int_equal(fc_reader_next(r, &rec, &err), 0);
    fc_reader_free(r);
    free(buf);
}

static void test_quoted_newlines_keep_line_numbers(void **state) {
    (void)state;
    size_t n;
    char *buf = slurp(DATA "quoted_newlines.csv", &n);
    fc_reader *r;
    fc_err err;
    fc_record rec;
    assert_int_equal(fc_reader_open("q.csv", buf, n, NULL, NULL, &r, &err), FC_OK);
    assert_int_equal(fc_reader_kind(r), FC_INPUT_MERCHANTS);
    assert_int_equal(fc_reader_next(r, &rec, &err), 1);
    assert_int_equal(rec.line, 2);
    assert_string_equal(rec.ent.merchant.brand, "Al \"Baik\"\nRiyadh\nbranch");
    assert_int_equal(rec.ent.merchant.lat_e6, FC_GEO_NONE);
    int64_t resume = rec.offset_end;
    assert_int_equal(fc_reader_next(r, &rec, &err), 1);
    assert_int_equal(rec.line, 5);
    assert_string_equal(rec.ent.merchant.merchant, "m-2");
    assert_string_equal(rec.ent.merchant.brand, "");
    assert_int_equal(fc_reader_next(r, &rec, &err), 0);
    fc_reader_free(r);

    /* resuming after the multi-line row gives the same next row and line */
    assert_int_equal(fc_reader_open("q.csv", buf, n, NULL, NULL, &r, &err), FC_OK);
    assert_int_equal(fc_reader_seek(r, resume, 2), FC_OK);
    assert_int_equal(fc_reader_next(r, &rec, &err), 1);
    assert_int_equal(rec.line, 5);
    assert_string_equal(rec.ent.merchant.merchant, "m-2");
    fc_reader_free(r);
    free(buf);
}

static void test_jsonl_seek(void **state) {
    (void)state;
    const char *text = "{\"id\":\"a\",\"type\":\"gps\",\"ts\":1772467451,\"rider\":\"r\"}\n\n"
                       "{\"id\":\"b\",\"type\":\"gps\",\"ts\":1772467452,\"rider\":\"r\"}\n";
    fc_reader *r;
    fc_err err;
    fc_record rec;
    assert_int_equal(fc_reader_open("g", text, strlen(text), NULL, NULL, &r, &err), FC_OK);
    assert_int_equal(fc_reader_next(r, &rec, &err), 1);
    int64_t resume = rec.offset_end;
    fc_reader_free(r);
    assert_int_equal(fc_reader_open("g", text, strlen(text), NULL, NULL, &r, &err), FC_OK);
    assert_int_equal(fc_reader_seek(r, resume, 1), FC_OK);
    assert_int_equal(fc_reader_next(r, &rec, &err), 1);
    assert_str(rec.id, "b");
    assert_int_equal(rec.line, 3);
    fc_reader_free(r);
}

/* ---------------------------------------------------------------------------
 * Reference CSVs.
 */
static void test_reference_files(void **state) {
    (void)state;
    const rcase cities[] = {
        {NULL, 2, 0, NULL}, {NULL, 3, 0, NULL}, {"bad currency 'SARS'", 4, 4, "currency"}};
    run_corpus("cities.csv", cities, 3);
    const rcase zones[] = {{NULL, 2, 0, NULL}, {"unknown zone kind 'suburb'", 3, 3, "kind"}};
    run_corpus("zones.csv", zones, 2);
    const rcase merchants[] = {
        {NULL, 2, 0, NULL}, {NULL, 3, 0, NULL}, {"bad latitude '95.0'", 4, 6, "lat"}};
    run_corpus("merchants.csv", merchants, 3);
    const rcase riders[] = {{NULL, 2, 0, NULL},
                            {NULL, 3, 0, NULL},
                            {"unknown capacity 'weekend'", 4, 3, "capacity"},
                            {"bad start_date '2026-02-30'", 5, 5, "start_date"}};
    run_corpus("riders.csv", riders, 4);

    const char *csv = "rider,city,capacity,fleet,start_date\nr-1,riyadh,full_time,,2025-01-15\n"
                      "country,city,tz,currency\n";
    fc_reader *r;
    fc_err err;
    fc_record rec;
    assert_int_equal(fc_reader_open("riders.csv", csv, strlen(csv), NULL, NULL, &r, &err), FC_OK);
    assert_int_equal(fc_reader_kind(r), FC_INPUT_RIDERS);
    assert_int_equal(fc_reader_next(r, &rec, &err), 1);
    assert_int_equal(rec.ent.rider.start_date, 20103);
    assert_int_equal(rec.ent.rider.capacity, FC_CAP_FULL_TIME);
    assert_string_equal(rec.ent.rider.fleet, "");
    assert_str(rec.id, "r-1");
    fc_reader_free(r);

    csv = "country,city,tz,currency\nKW,kuwait-city,Asia/Kuwait,KWD\n";
    assert_int_equal(fc_reader_open("c.csv", csv, strlen(csv), NULL, NULL, &r, &err), FC_OK);
    assert_int_equal(fc_reader_next(r, &rec, &err), 1);
    assert_string_equal(rec.ent.city.tz_name, "Asia/Kuwait");
    assert_string_equal(rec.ent.city.currency, "KWD");
    assert_null(rec.ent.city.tz);
    fc_reader_free(r);
}

static void test_unknown_layout_is_explained(void **state) {
    (void)state;
    const char *csv = "foo,bar\n1,2\n";
    fc_reader *r = NULL;
    fc_err err;
    assert_int_equal(fc_reader_open("x.csv", csv, strlen(csv), NULL, NULL, &r, &err), FC_EPARSE);
    assert_null(r);
    assert_non_null(strstr(err.msg, "header 'foo,bar'"));
    assert_non_null(strstr(err.msg, "--mapping"));
    assert_string_equal(fc_input_kind_name(FC_INPUT_MERCHANTS), "merchants");
    assert_string_equal(fc_input_kind_name(FC_INPUT_EVENTS), "events");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jsonl_every_event_type_parses),
        cmocka_unit_test(test_jsonl_fields_convert),
        cmocka_unit_test(test_jsonl_bad_corpus),
        cmocka_unit_test(test_canonical_orders_detected),
        cmocka_unit_test(test_canonical_orders_crlf_and_last_row_without_newline),
        cmocka_unit_test(test_meituan_refused_then_accepted),
        cmocka_unit_test(test_mapping_date_clock_absent_scaling),
        cmocka_unit_test(test_mapping_value_errors_name_the_column),
        cmocka_unit_test(test_mapping_errors_name_line_and_column),
        cmocka_unit_test(test_mapping_offset_and_fraction),
        cmocka_unit_test(test_mapping_zone_from_city),
        cmocka_unit_test(test_corpus_truncated_file),
        cmocka_unit_test(test_corpus_wrong_column_count),
        cmocka_unit_test(test_corpus_unterminated_quote),
        cmocka_unit_test(test_corpus_invalid_utf8),
        cmocka_unit_test(test_corpus_nul_byte),
        cmocka_unit_test(test_corpus_ten_megabyte_field),
        cmocka_unit_test(test_quoted_newlines_keep_line_numbers),
        cmocka_unit_test(test_jsonl_seek),
        cmocka_unit_test(test_reference_files),
        cmocka_unit_test(test_unknown_layout_is_explained),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
