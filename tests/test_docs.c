/*
 * The examples of docs/formats.md and docs/mapping.md, run for real: every
 * example file under tests/data/docs/ appears verbatim in its page and
 * ingests with the fulcrum binary into a fresh store with nothing rejected;
 * the walkthrough's commands print what the page says they print; and the
 * Meituan preset turns handwritten waybills into the orders, refusals and
 * KPIs the page describes.
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
#include "order/order.h"
#include "store/store.h"
#include "support.h"

#define DOCS_DATA FC_TEST_DATA "/docs/"
#define DOCS_DIR  FC_SOURCE_DIR "/docs/"

static char *must_slurp(const char *path) {
    char *text = fc_test_slurp(path, NULL);
    if (text == NULL) {
        fail_msg("cannot read %s", path);
    }
    return text;
}

/* Copy tests/data/docs/<name> into dir, so reject files land there. */
static void copy_in(const char *dir, const char *name) {
    char src[512];
    snprintf(src, sizeof src, DOCS_DATA "%s", name);
    char *text = must_slurp(src);
    assert_int_equal(fc_test_write(dir, name, text, strlen(text)), 0);
    free(text);
}

/* The contents of an example file appear verbatim in a page. */
static void assert_in_doc(const char *doc, const char *page, const char *name) {
    char src[512];
    snprintf(src, sizeof src, DOCS_DATA "%s", name);
    char *text = must_slurp(src);
    if (strstr(doc, text) == NULL) {
        fail_msg("docs/%s does not show tests/data/docs/%s verbatim", page, name);
    }
    free(text);
}

static void assert_contains(const char *hay, const char *needle) {
    if (hay == NULL || strstr(hay, needle) == NULL) {
        fail_msg("'%s' not found in:\n%s", needle, hay != NULL ? hay : "(null)");
    }
}

static void test_examples_appear_verbatim_in_the_docs(void **state) {
    (void)state;
    char *formats = must_slurp(DOCS_DIR "formats.md");
    const char *in_formats[] = {"cities.csv", "zones.csv",  "merchants.csv",
                                "riders.csv", "orders.csv", "events.jsonl"};
    for (size_t i = 0; i < sizeof in_formats / sizeof in_formats[0]; i++) {
        assert_in_doc(formats, "formats.md", in_formats[i]);
    }
    char *mapping = must_slurp(DOCS_DIR "mapping.md");
    const char *in_mapping[] = {"souq-export.csv", "souq-mapping.yaml",    "souq.rejects",
                                "souq.kpi",        "meituan-waybills.csv", "meituan.kpi"};
    for (size_t i = 0; i < sizeof in_mapping / sizeof in_mapping[0]; i++) {
        assert_in_doc(mapping, "mapping.md", in_mapping[i]);
    }
    /* The README links both pages. */
    char *readme = must_slurp(FC_SOURCE_DIR "/README.md");
    assert_contains(readme, "(docs/formats.md)");
    assert_contains(readme, "(docs/mapping.md)");
    /* Options the pages use exist in the command's help. */
    char *help = NULL;
    const char *args[] = {"ingest", "--help", NULL};
    assert_int_equal(fc_test_run(NULL, args, &help, NULL), 0);
    assert_contains(help, "--mapping FILE|NAME");
    assert_contains(help, "meituan-tsl-2024");
    assert_contains(help, "--rejects PATH");
    assert_contains(help, "--max-errors N");
    free(help);
    free(readme);
    free(mapping);
    free(formats);
}

/* ---------------------------------------------------------------------------
 * Reading a store back.
 */

/* Every event of one order, packed (their strings live in buf). */
typedef struct packed {
    uint8_t *buf;
    size_t len, cap;
    size_t n_records;
} packed;

static int pack_record(void *ud, fc_str record_id, fc_str order, const fc_event *events, size_t n) {
    packed *p = ud;
    (void)record_id;
    (void)order;
    p->n_records++;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(fc_event_pack(&events[i], &p->buf, &p->len, &p->cap), FC_OK);
    }
    return 0;
}

typedef struct order_view {
    packed p;
    fc_event ev[64];
    size_t n;
    fc_order_facts facts;
} order_view;

/* Load and fold one order of the store at db. */
static void fold_order(const char *db, const char *order, order_view *v) {
    fc_store *s = NULL;
    fc_err err;
    memset(v, 0, sizeof *v);
    assert_int_equal(fc_store_open(db, &s, &err), FC_OK);
    assert_int_equal(fc_store_scan_order(s, fc_str_c(order), pack_record, &v->p, &err), FC_OK);
    fc_store_close(s);
    size_t pos = 0;
    while (pos < v->p.len) {
        size_t used = 0;
        assert_true(v->n < 64);
        assert_int_equal(fc_event_unpack(v->p.buf + pos, v->p.len - pos, &v->ev[v->n], &used),
                         FC_OK);
        pos += used;
        v->n++;
    }
    uint32_t scratch[64];
    assert_int_equal(fc_order_fold(v->ev, v->n, NULL, scratch, &v->facts), FC_OK);
}

static void order_view_free(order_view *v) {
    fc_free(v->p.buf);
}

static const fc_event *event_by_id(const order_view *v, const char *id) {
    for (size_t i = 0; i < v->n; i++) {
        if (fc_str_eq(v->ev[i].id, fc_str_c(id))) {
            return &v->ev[i];
        }
    }
    return NULL;
}

static int has_event(const order_view *v, const char *id) {
    return event_by_id(v, id) != NULL;
}

static void assert_str(fc_str s, const char *want) {
    if (!fc_str_eq(s, fc_str_c(want))) {
        fail_msg("'%.*s' != '%s'", (int)s.n, s.p != NULL ? s.p : "", want);
    }
}

/* ---------------------------------------------------------------------------
 * docs/formats.md.
 */
static void test_formats_examples_ingest(void **state) {
    (void)state;
    char *dir = fc_test_tmpdir();
    assert_non_null(dir);
    const char *files[] = {"cities.csv", "zones.csv",  "merchants.csv",
                           "riders.csv", "orders.csv", "events.jsonl"};
    for (size_t i = 0; i < 6; i++) {
        copy_in(dir, files[i]);
    }
    /* The command of the page, files in its order. */
    const char *args[] = {"ingest",        "--db",       "example.db", "cities.csv",   "zones.csv",
                          "merchants.csv", "riders.csv", "orders.csv", "events.jsonl", NULL};
    char *out = NULL, *err = NULL;
    int rc = fc_test_run(dir, args, &out, &err);
    if (rc != 0) {
        fail_msg("exit %d\n%s%s", rc, out, err);
    }
    assert_contains(out, "cities.csv: 2 rows read, 2 accepted, 0 duplicates, 0 rejected;");
    assert_contains(out, "zones.csv: 4 rows read, 4 accepted, 0 duplicates, 0 rejected;");
    assert_contains(out, "merchants.csv: 3 rows read, 3 accepted, 0 duplicates, 0 rejected;");
    assert_contains(out, "riders.csv: 3 rows read, 3 accepted, 0 duplicates, 0 rejected;");
    assert_contains(out, "orders.csv: 3 rows read, 3 accepted, 0 duplicates, 0 rejected;");
    assert_contains(out, "events.jsonl: 30 rows read, 30 accepted, 0 duplicates, 0 rejected;");
    free(out);
    free(err);

    char db[512];
    snprintf(db, sizeof db, "%s/example.db", dir);
    fc_store *s = NULL;
    fc_err e;
    assert_int_equal(fc_store_open(db, &s, &e), FC_OK);
    int64_t records = 0, events = 0;
    assert_int_equal(fc_store_counts(s, &records, &events, &e), FC_OK);
    assert_int_equal(records, 3 + 30);
    assert_int_equal(events, 8 + 3 + 4 + 30); /* "the first row makes 8 events, ..." */
    fc_ref *ref = fc_ref_new();
    assert_int_equal(fc_store_load_ref(s, ref, &e), FC_OK);
    assert_int_equal(fc_ref_city_count(ref), 2);
    assert_int_equal(fc_ref_zone_count(ref), 4);
    assert_int_equal(fc_ref_merchant_count(ref), 3);
    assert_int_equal(fc_ref_rider_count(ref), 3);
    const fc_merchant *mezze = fc_ref_merchant(ref, fc_str_c("m-mezze-3"));
    assert_non_null(mezze);
    assert_string_equal(mezze->brand, "Mezze, Grill & Co");
    assert_int_equal(mezze->lat_e6, FC_GEO_NONE);
    assert_int_equal(fc_ref_rider(ref, fc_str_c("r-201"))->capacity, FC_CAP_CROWD);
    assert_int_equal(fc_ref_rider(ref, fc_str_c("r-201"))->start_date, INT32_MIN);
    assert_int_equal(fc_ref_zone(ref, fc_str_c("kuwait_city"), fc_str_c("sharq"))->kind,
                     FC_ZONE_OFFICE);
    fc_ref_free(ref);
    fc_store_close(s);

    /* Money in the currency's decimals; three ways of writing a time. */
    order_view v;
    fold_order(db, "o-1003", &v);
    assert_true(v.facts.order_value_minor == 3250); /* 3.250 KWD */
    assert_true(v.facts.delivery_cost_minor == 750);
    order_view_free(&v);
    fold_order(db, "o-2002", &v);
    assert_true(v.facts.order_value_minor == 12125); /* 12.125 KWD as a JSON number */
    assert_int_equal(v.facts.status, FC_ORDER_UNDELIVERABLE);
    assert_int_equal(v.facts.contact_attempts, 1);
    order_view_free(&v);
    fold_order(db, "o-2001", &v);
    assert_int_equal(v.n, 18);
    assert_int_equal(v.facts.status, FC_ORDER_DELIVERED);
    assert_true(v.facts.created_at == 1772445600); /* 13:00 +03:00 */
    assert_true(event_by_id(&v, "o-2001:accept-2")->ts == 1772445900);
    assert_true(event_by_id(&v, "o-2001:at-merchant")->ts == 1772446440); /* 10:14Z */
    assert_int_equal(v.facts.pushes, 3); /* two pushes and an assignment */
    assert_int_equal(v.facts.refusals, 1);
    assert_int_equal(v.facts.reassignments, 1);
    assert_str(v.facts.rider, "r-102");
    assert_true(v.facts.compensation_minor == 1000);
    assert_true(v.facts.delivery_cost_minor == 900);
    assert_int_equal(v.facts.rating, 2);
    assert_true(v.facts.incidents & FC_INC_COMPLAINT);
    order_view_free(&v);

    /* "3 Riyadh orders and 2 Kuwait City orders" */
    const char *kpi[] = {"kpi",   "--db",   "example.db", "--by", "city",
                         "--kpi", "orders", "--format",   "csv",  NULL};
    out = NULL;
    assert_int_equal(fc_test_run(dir, kpi, &out, NULL), 0);
    assert_contains(out, "riyadh,3\n");
    assert_contains(out, "kuwait_city,2\n");
    free(out);
    fc_test_rmtree(dir);
    free(dir);
}

/* ---------------------------------------------------------------------------
 * docs/mapping.md: the walkthrough.
 */

/* The summary line printed for a file, without its timing (the part after
 * the last "; "), must be what the page shows. */
static void assert_summary_in_doc(const char *doc, const char *out) {
    const char *end = strrchr(out, ';');
    assert_non_null(end);
    size_t n = (size_t)(end - out) + 1;
    char *line = malloc(n + 1);
    assert_non_null(line);
    memcpy(line, out, n);
    line[n] = '\0';
    if (strstr(doc, line) == NULL) {
        fail_msg("docs/mapping.md does not show the summary '%s'", line);
    }
    free(line);
}

static void test_walkthrough(void **state) {
    (void)state;
    char *doc = must_slurp(DOCS_DIR "mapping.md");
    char *dir = fc_test_tmpdir();
    assert_non_null(dir);
    copy_in(dir, "cities.csv");
    copy_in(dir, "souq-export.csv");
    copy_in(dir, "souq-mapping.yaml");

    const char *step2a[] = {"ingest", "--db", "souq.db", "cities.csv", NULL};
    assert_int_equal(fc_test_run(dir, step2a, NULL, NULL), 0);
    const char *step2b[] = {"ingest",          "--db", "souq.db", "--mapping", "souq-mapping.yaml",
                            "souq-export.csv", NULL};
    char *out = NULL;
    assert_int_equal(fc_test_run(dir, step2b, &out, NULL), 2); /* "exits with status 2" */
    assert_contains(out, "souq-export.csv: 5 rows read, 4 accepted, 0 duplicates, 1 rejected "
                         "(see souq-export.csv.rejects.csv); sha256 868bcaa34ef9;");
    assert_summary_in_doc(doc, out);
    free(out);

    /* Step 3: the reject file, byte for byte. */
    char path[512];
    snprintf(path, sizeof path, "%s/souq-export.csv.rejects.csv", dir);
    char *rejects = must_slurp(path);
    char *want = must_slurp(DOCS_DATA "souq.rejects");
    assert_string_equal(rejects, want);
    assert_contains(rejects, "file,line,column,field,reason,raw\n");
    assert_contains(rejects, "souq-export.csv,6,4,Order Date,bad time '31/02/2026 19:30'");
    free(rejects);
    free(want);

    /* Step 4: the KPIs, byte for byte. */
    const char *step4[] = {
        "kpi",      "--db", "souq.db", "--kpi", "orders,on_time_rate,late_rate,cancel_rate,cpo",
        "--format", "csv",  NULL};
    out = NULL;
    assert_int_equal(fc_test_run(dir, step4, &out, NULL), 0);
    want = must_slurp(DOCS_DATA "souq.kpi");
    assert_string_equal(out, want);
    assert_contains(out, "riyadh,SAR,4,66.7,33.3,25.0,6.67\n");
    free(want);
    free(out);

    /* What the mapping made of the rows. */
    char db[512];
    snprintf(db, sizeof db, "%s/souq.db", dir);
    order_view v;
    fold_order(db, "SQ-501", &v);
    assert_int_equal(v.n, 3);
    assert_true(v.facts.created_at == 1772443860); /* 02/03/2026 12:31 in Riyadh */
    assert_true(v.facts.delivered_at == 1772445720);
    assert_true(v.facts.order_value_minor == 3800);
    assert_true(v.facts.delivery_cost_minor == 650);
    assert_str(v.facts.rider, "r-101");
    const fc_event *d = event_by_id(&v, "SQ-501:order_delivered");
    assert_non_null(d);
    assert_int_equal(d->lat_e6, 24723000);
    assert_int_equal(d->lng_e6, 46687000);
    order_view_free(&v);
    fold_order(db, "SQ-503", &v);
    assert_int_equal(v.n, 2); /* "-": no pickup, no delivery */
    assert_int_equal(v.facts.status, FC_ORDER_CANCELLED);
    assert_int_equal(v.facts.cancelled_by, FC_PARTY_CUSTOMER);
    assert_true(v.facts.cancelled_at == 1772446440); /* 2026-03-02 13:14 local */
    assert_null(v.facts.customer.p);
    order_view_free(&v);
    fold_order(db, "SQ-502", &v);
    assert_true(v.facts.lateness_s == 26 * 60);
    assert_true(v.facts.incidents & FC_INC_LATE);
    order_view_free(&v);
    fold_order(db, "SQ-505", &v);
    assert_int_equal(v.n, 0); /* rejected: nothing stored */
    order_view_free(&v);

    /* A mistake in the mapping, as the page shows it. */
    char *yaml = must_slurp(DOCS_DATA "souq-mapping.yaml");
    char *at = strstr(yaml, "rider: Rider ID\n");
    assert_non_null(at);
    memcpy(at, "rider: Rider   \n", 16);
    assert_int_equal(fc_test_write(dir, "broken.yaml", yaml, strlen(yaml)), 0);
    free(yaml);
    const char *broken[] = {"ingest",          "--db", "souq.db", "--mapping", "broken.yaml",
                            "souq-export.csv", NULL};
    char *err = NULL;
    assert_int_equal(fc_test_run(dir, broken, NULL, &err), 1); /* "the exit status is then 1" */
    assert_contains(err, "broken.yaml:16:10: column 'Rider' is not in the header of "
                         "souq-export.csv");
    assert_contains(doc, "souq-mapping.yaml:16:10: column 'Rider' is not in the header of "
                         "souq-export.csv");
    free(err);
    free(doc);
    fc_test_rmtree(dir);
    free(dir);
}

/* ---------------------------------------------------------------------------
 * The Meituan INFORMS TSL 2024 preset on handwritten waybills.
 */
static void test_meituan_waybills(void **state) {
    (void)state;
    char *dir = fc_test_tmpdir();
    assert_non_null(dir);
    copy_in(dir, "meituan-waybills.csv");
    const char *ingest[] = {
        "ingest", "--db", "meituan.db", "--mapping", "meituan-tsl-2024", "meituan-waybills.csv",
        NULL};
    char *out = NULL;
    assert_int_equal(fc_test_run(dir, ingest, &out, NULL), 0);
    assert_contains(out, "meituan-waybills.csv: 7 rows read, 7 accepted, 0 duplicates, 0 "
                         "rejected;");
    free(out);
    const char *kpi[] = {"kpi",
                         "--db",
                         "meituan.db",
                         "--kpi",
                         "orders,on_time_rate,late_rate,delivery_min_mean,push_completion_rate,"
                         "refusal_rate",
                         "--format",
                         "csv",
                         NULL};
    out = NULL;
    assert_int_equal(fc_test_run(dir, kpi, &out, NULL), 0);
    char *want = must_slurp(DOCS_DATA "meituan.kpi");
    assert_string_equal(out, want);
    /* 4 orders; 2 of 3 deliveries on time; mean (1600 + 3600 + 1500) s / 3;
     * 3 of 4 pushed orders accepted; 4 refusals of 7 pushes. */
    assert_contains(out, "meituan-tsl,4,66.7,33.3,37.2,75.0,57.1\n");
    free(want);
    free(out);

    char db[512];
    snprintf(db, sizeof db, "%s/meituan.db", dir);
    fc_store *s = NULL;
    fc_err e;
    assert_int_equal(fc_store_open(db, &s, &e), FC_OK);
    int64_t records = 0, events = 0;
    assert_int_equal(fc_store_counts(s, &records, &events, &e), FC_OK);
    fc_store_close(s);
    assert_int_equal(records, 7); /* one record per waybill */
    assert_int_equal(events, 3 + 5 + 5 + 3 + 3 + 5 + 3);

    /* Order 1001: waybill 5001 refused by courier 88, 5002 grabbed by 99. */
    order_view v;
    fold_order(db, "1001", &v);
    assert_int_equal(v.p.n_records, 2);
    assert_int_equal(v.facts.n_duplicates, 1); /* the creation, once per waybill */
    assert_int_equal(v.facts.status, FC_ORDER_DELIVERED);
    assert_int_equal(v.facts.pushes, 2);
    assert_int_equal(v.facts.refusals, 1);
    assert_str(v.facts.rider, "99");
    assert_str(v.facts.zone, "12");
    assert_str(v.facts.merchant, "777");
    assert_str(v.facts.city, "meituan-tsl");
    assert_true(v.facts.created_at == 1665974400);
    assert_true(v.facts.promised_at == 1665976200);
    assert_true(v.facts.est_ready_at == 1665975300);
    assert_true(v.facts.accepted_at == 1665974520);
    assert_true(v.facts.picked_up_at == 1665975400);
    assert_true(v.facts.delivered_at == 1665976000);
    assert_int_equal(v.facts.delivery_s, 1600);
    assert_int_equal(v.facts.prebook, 0); /* 0 is an answer for is_prebook */
    const fc_event *refused = event_by_id(&v, "5001:order_refused");
    assert_non_null(refused);
    assert_str(refused->rider, "88");
    assert_str(refused->reason, "not_grabbed");
    assert_true(refused->ts == 1665974440);
    /* Zero times are absent: the refused waybill made no acceptance, pickup
     * or delivery; its zero grab point is no point. */
    assert_false(has_event(&v, "5001:order_accepted"));
    assert_false(has_event(&v, "5001:order_picked_up"));
    assert_false(has_event(&v, "5001:order_delivered"));
    assert_int_equal(event_by_id(&v, "5001:order_pushed")->lat_e6, FC_GEO_NONE);
    /* Coordinates times 1e6, exactly. */
    const fc_event *created = event_by_id(&v, "1001:order_created");
    assert_non_null(created);
    assert_int_equal(created->merchant_lat_e6, 45887000);
    assert_int_equal(created->merchant_lng_e6, 126627000);
    assert_int_equal(created->customer_lat_e6, 45890000);
    assert_int_equal(created->customer_lng_e6, 126630000);
    const fc_event *grab = event_by_id(&v, "5002:order_accepted");
    assert_int_equal(grab->lat_e6, 45886000);
    assert_int_equal(grab->lng_e6, 126626000);
    order_view_free(&v);

    /* Order 1002: delivered 30 minutes after the estimate: late and severe. */
    fold_order(db, "1002", &v);
    assert_int_equal(v.facts.lateness_s, 1800);
    assert_true(v.facts.incidents & FC_INC_LATE);
    assert_true(v.facts.incidents & FC_INC_SEVERE_LATE);
    order_view_free(&v);

    /* Order 1003: three waybills, two refusals, then courier 73. */
    fold_order(db, "1003", &v);
    assert_int_equal(v.p.n_records, 3);
    assert_int_equal(v.facts.n_duplicates, 2);
    assert_int_equal(v.facts.pushes, 3);
    assert_int_equal(v.facts.refusals, 2);
    assert_str(v.facts.rider, "73");
    assert_int_equal(v.facts.status, FC_ORDER_DELIVERED);
    assert_true(v.facts.accepted_at == 1665981150);
    assert_int_equal(v.facts.dispatch_s, 150);
    assert_int_equal(v.facts.delivery_s, 1500);
    assert_int_equal(v.facts.incidents & FC_INC_LATE, 0);
    created = event_by_id(&v, "1003:order_created");
    assert_int_equal(created->merchant_lat_e6, 45912345);
    assert_int_equal(created->merchant_lng_e6, 126654321);
    assert_int_equal(created->customer_lat_e6, 45923456);
    assert_int_equal(created->customer_lng_e6, 126665432);
    order_view_free(&v);

    /* Order 1004: prebooked, refused, never grabbed: open. */
    fold_order(db, "1004", &v);
    assert_int_equal(v.facts.status, FC_ORDER_OPEN);
    assert_int_equal(v.facts.refusals, 1);
    assert_int_equal(v.facts.prebook, 1);
    assert_true(v.facts.accepted_at == FC_TS_NONE);
    order_view_free(&v);

    /* The same waybills again in another file, in reverse order: every
     * waybill is a duplicate and the KPIs do not move. */
    char *text = must_slurp(DOCS_DATA "meituan-waybills.csv");
    char *lines[16];
    size_t n = 0;
    for (char *p = strtok(text, "\n"); p != NULL && n < 16; p = strtok(NULL, "\n")) {
        lines[n++] = p;
    }
    char rev[4096];
    size_t len = (size_t)snprintf(rev, sizeof rev, "%s\n", lines[0]);
    for (size_t i = n - 1; i >= 1; i--) {
        len += (size_t)snprintf(rev + len, sizeof rev - len, "%s\n", lines[i]);
    }
    assert_int_equal(fc_test_write(dir, "again.csv", rev, len), 0);
    free(text);
    const char *again[] = {"ingest",           "--db",      "meituan.db", "--mapping",
                           "meituan-tsl-2024", "again.csv", NULL};
    out = NULL;
    assert_int_equal(fc_test_run(dir, again, &out, NULL), 0);
    assert_contains(out, "again.csv: 7 rows read, 0 accepted, 7 duplicates, 0 rejected;");
    free(out);
    out = NULL;
    assert_int_equal(fc_test_run(dir, kpi, &out, NULL), 0);
    assert_contains(out, "meituan-tsl,4,66.7,33.3,37.2,75.0,57.1\n");
    free(out);
    fc_test_rmtree(dir);
    free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_examples_appear_verbatim_in_the_docs),
        cmocka_unit_test(test_formats_examples_ingest),
        cmocka_unit_test(test_walkthrough),
        cmocka_unit_test(test_meituan_waybills),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
