/*
 * Test helpers for the HTTP server (support_http.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "adjudicate/adjudicate.h"
#include "ingest/ingest.h"
#include "policy/policy.h"
#include "support.h"
#include "support_http.h"

void fc_test_resp_free(fc_test_resp *r) {
    free(r->head);
    free(r->body);
    memset(r, 0, sizeof *r);
}

/* A connected socket to 127.0.0.1:port, or -1. */
int fc_test_dial(uint16_t port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

void fc_test_send_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) {
            return; /* the server closed early (a refused body): the reply is read next */
        }
        p += w;
        n -= (size_t)w;
    }
}

/* Read the whole reply (the server closes: requests say Connection: close). */
void fc_test_read_reply(int fd, fc_test_resp *r) {
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    for (;;) {
        if (len + 1 >= cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        ssize_t n = recv(fd, buf + len, cap - len - 1, 0);
        if (n <= 0) {
            break;
        }
        len += (size_t)n;
    }
    buf[len] = '\0';
    close(fd);
    memset(r, 0, sizeof *r);
    char *end = strstr(buf, "\r\n\r\n");
    assert_non_null(end);
    r->head = strndup(buf, (size_t)(end - buf));
    r->body = strdup(end + 4);
    assert_int_equal(sscanf(buf, "HTTP/1.1 %d", &r->status), 1);
    free(buf);
}

/* method path with extra header lines (each ending \r\n, may be "") and a
 * body of body_len bytes (may be NULL). */
void fc_test_request(uint16_t port, const char *method, const char *path, const char *headers,
                     const char *body, size_t body_len, fc_test_resp *r) {
    int fd = fc_test_dial(port);
    assert_true(fd >= 0);
    char head[1024];
    int n = snprintf(head, sizeof head,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s\r\n", method,
                     path, headers);
    assert_true(n > 0 && (size_t)n < sizeof head);
    fc_test_send_all(fd, head, (size_t)n);
    if (body != NULL) {
        fc_test_send_all(fd, body, body_len);
    }
    fc_test_read_reply(fd, r);
}

void fc_test_get(uint16_t port, const char *path, fc_test_resp *r) {
    fc_test_request(port, "GET", path, "", NULL, 0, r);
}

/* The error code of a JSON error body. */
void fc_test_assert_error(const fc_test_resp *r, const char *code) {
    json_error_t je;
    json_t *j = json_loads(r->body, 0, &je);
    assert_non_null(j);
    const char *got = json_string_value(json_object_get(json_object_get(j, "error"), "code"));
    assert_non_null(got);
    assert_string_equal(got, code);
    assert_non_null(json_string_value(json_object_get(json_object_get(j, "error"), "message")));
    json_decref(j);
}

void fc_test_ingest_file(fc_store *s, const char *dir, const char *name) {
    char path[512], rejects[600];
    snprintf(path, sizeof path, "%s/%s", FC_TEST_DATA, name);
    snprintf(rejects, sizeof rejects, "%s/rejects.csv", dir);
    fc_ingest_opts o;
    memset(&o, 0, sizeof o);
    o.quiet = 1;
    o.max_errors = -1;
    o.reject_path = rejects;
    fc_ingest_log log;
    fc_err err;
    assert_int_equal(fc_ingest_file(s, path, &o, &log, &err), FC_OK);
    assert_int_equal(log.rejected, 0);
}

void fc_test_ingest_text(const char *db, const char *dir, const char *name, const char *text) {
    assert_int_equal(fc_test_write(dir, name, text, strlen(text)), 0);
    char path[700], rejects[700];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(rejects, sizeof rejects, "%s/%s.rejects.csv", dir, name);
    fc_store *s = NULL;
    fc_err err;
    assert_int_equal(fc_store_open(db, &s, &err), FC_OK);
    fc_ingest_opts o;
    memset(&o, 0, sizeof o);
    o.quiet = 1;
    o.max_errors = -1;
    o.reject_path = rejects;
    fc_ingest_log log;
    int rc = fc_ingest_file(s, path, &o, &log, &err);
    fc_store_close(s);
    if (rc != FC_OK) {
        fail_msg("ingest %s: %s", name, err.msg);
    }
    assert_int_equal(log.rejected, 0);
}

void fc_test_order_csv(char *buf, size_t n, const char *order, const char *city) {
    int len = snprintf(
        buf, n,
        "order_id,city,zone,merchant,customer,rider,category,prebook,created_at,promised_at,"
        "est_ready_at,pushed_at,accepted_at,arrived_merchant_at,ready_at,picked_up_at,"
        "arrived_customer_at,delivered_at,cancelled_at,cancelled_by,cancel_reason,"
        "merchant_lat,merchant_lng,customer_lat,customer_lng,delivered_lat,delivered_lng,"
        "distance_m,order_value,delivery_cost,currency\n"
        "%s,%s,center,m1,c1,r-%s,food,0,"
        "2026-03-02T10:00:00+03:00,2026-03-02T10:30:00+03:00,2026-03-02T10:12:00+03:00,"
        "2026-03-02T10:00:30+03:00,2026-03-02T10:01:00+03:00,2026-03-02T10:10:00+03:00,"
        "2026-03-02T10:12:00+03:00,2026-03-02T10:13:00+03:00,2026-03-02T10:24:00+03:00,"
        "2026-03-02T10:25:00+03:00,,,,"
        "24.700000,46.680000,24.710000,46.690000,24.710000,46.690000,2000,50.00,10.00,SAR\n",
        order, city, order);
    assert_true(len > 0 && (size_t)len < n);
}

void fc_test_make_token(fc_store *s, const char *name, const char *role, const char *scope,
                        char out[FC_AUTH_TOKEN_LEN + 1]) {
    uint8_t hash[FC_AUTH_HASH_BYTES];
    assert_int_equal(fc_auth_token_new(out, hash), FC_OK);
    fc_token t;
    memset(&t, 0, sizeof t);
    snprintf(t.name, sizeof t.name, "%s", name);
    snprintf(t.role, sizeof t.role, "%s", role);
    snprintf(t.scope, sizeof t.scope, "%s", scope);
    t.created_at = 1772400000;
    fc_err err;
    assert_int_equal(fc_store_token_create(s, &t, hash, NULL, &err), FC_OK);
}

static int keep_rider_decision(void *ud, const fc_case_decision *d) {
    fc_test_world *w = ud;
    if (w->dec.id[0] == '\0' && d->rider[0] != '\0' && d->explanation[FC_LANG_AR][0] != '\0') {
        w->dec = *d;
    }
    return 0;
}

int fc_test_world_setup(void **state) {
    fc_test_world *w = calloc(1, sizeof *w);
    assert_non_null(w);
    w->f.dir = fc_test_tmpdir();
    assert_non_null(w->f.dir);
    snprintf(w->f.db, sizeof w->f.db, "%s/http.db", w->f.dir);
    fc_err err;
    fc_store *s = NULL;
    assert_int_equal(fc_store_open(w->f.db, &s, &err), FC_OK);
    fc_test_ingest_file(s, w->f.dir, "adjudicate/cities.csv");
    fc_test_ingest_file(s, w->f.dir, "adjudicate/riders.csv");
    fc_test_ingest_file(s, w->f.dir, "adjudicate/orders.csv");
    fc_test_ingest_file(s, w->f.dir, "adjudicate/complaint_rider.jsonl");
    fc_policy_pack *pack = NULL;
    assert_int_equal(fc_policy_pack_load(FC_SOURCE_DIR "/policies", &pack, &err), FC_OK);
    fc_adj_opts o;
    fc_adj_opts_init(&o);
    o.pack = pack;
    o.now = 1772400000;
    assert_int_equal(fc_adj_run(s, &o, NULL, &err), FC_OK);
    assert_int_equal(fc_adj_decisions(s, &o, keep_rider_decision, w, &err), FC_OK);
    assert_true(w->dec.id[0] != '\0');
    assert_string_equal(w->dec.city, "riyadh");
    fc_policy_pack_free(pack);
    /* two more cities, in two countries, for the KPI routes */
    fc_test_ingest_file(s, w->f.dir, "http/kpi_cities.csv");
    fc_test_ingest_file(s, w->f.dir, "http/kpi_orders.csv");

    char scope[128];
    fc_test_make_token(s, "root", "admin", "*", w->admin);
    snprintf(scope, sizeof scope, "rider:%s", w->dec.rider);
    fc_test_make_token(s, "the-rider", "rider", scope, w->rider);
    fc_test_make_token(s, "other-rider", "rider", "rider:nobody", w->other_rider);
    fc_test_make_token(s, "riyadh-analyst", "analyst", "city:riyadh", w->analyst);
    fc_test_make_token(s, "doha-analyst", "analyst", "city:doha,country:QA", w->far_analyst);
    fc_test_make_token(s, "gone", "admin", "*", w->revoked);
    fc_test_make_token(s, "sa-reviewer", "reviewer", "country:SA", w->sa_reviewer);
    fc_test_make_token(s, "a-merchant", "merchant", "merchant:m1", w->merchant);
    assert_int_equal(fc_store_token_revoke(s, "gone", 1772400001, &err), FC_OK);
    fc_store_close(s);

    fc_http_opts ho;
    memset(&ho, 0, sizeof ho);
    ho.db_path = w->f.db;
    assert_int_equal(fc_http_start(&ho, &w->f.h, &err), FC_OK);
    w->f.port = fc_http_port(w->f.h);
    *state = w;
    return 0;
}

int fc_test_world_teardown(void **state) {
    fc_test_world *w = *state;
    fc_http_stop(w->f.h);
    fc_test_rmtree(w->f.dir);
    free(w->f.dir);
    free(w);
    return 0;
}

/* GET path with the given token (NULL: none) and extra header lines. */
void fc_test_get_as(const fc_test_world *w, const char *token, const char *path, const char *extra,
                    fc_test_resp *r) {
    char headers[512];
    if (token != NULL) {
        snprintf(headers, sizeof headers, "Authorization: Bearer %s\r\n%s", token, extra);
    } else {
        snprintf(headers, sizeof headers, "%s", extra);
    }
    fc_test_request(w->f.port, "GET", path, headers, NULL, 0, r);
}

void fc_test_send_as(const fc_test_world *w, const char *token, const char *method,
                     const char *path, const char *json, fc_test_resp *r) {
    char headers[512];
    snprintf(headers, sizeof headers, "%s%s%s%sContent-Length: %zu\r\n",
             token != NULL ? "Authorization: Bearer " : "", token != NULL ? token : "",
             token != NULL ? "\r\n" : "", json != NULL ? "Content-Type: application/json\r\n" : "",
             json != NULL ? strlen(json) : (size_t)0);
    fc_test_request(w->f.port, method, path, headers, json, json != NULL ? strlen(json) : 0, r);
}
