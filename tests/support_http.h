/*
 * Test helpers for the HTTP server: a tiny HTTP/1.1 client (one request per
 * connection, "Connection: close"), and a world: a store with a small
 * judged city (tests/data/adjudicate), two more cities for the KPI routes
 * (tests/data/http), a token of every role, and a server on it on
 * 127.0.0.1 at a free port.
 */
#ifndef FC_TEST_SUPPORT_HTTP_H
#define FC_TEST_SUPPORT_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "auth/auth.h"
#include "case/case.h"
#include "http/http.h"
#include "store/store.h"

typedef struct fc_test_resp {
    int status;
    char *head; /* status line and headers */
    char *body;
} fc_test_resp;

void fc_test_resp_free(fc_test_resp *r);
/* A connected socket to 127.0.0.1:port, or -1. */
int fc_test_dial(uint16_t port);
void fc_test_send_all(int fd, const char *p, size_t n);
/* Read the whole reply into *r and close fd. */
void fc_test_read_reply(int fd, fc_test_resp *r);
/* method path with extra header lines (each ending \r\n, may be "") and a
 * body of body_len bytes (may be NULL). */
void fc_test_request(uint16_t port, const char *method, const char *path, const char *headers,
                     const char *body, size_t body_len, fc_test_resp *r);
void fc_test_get(uint16_t port, const char *path, fc_test_resp *r);
/* Assert r's body is a JSON error with this code and a message. */
void fc_test_assert_error(const fc_test_resp *r, const char *code);

typedef struct fc_test_fixture {
    char *dir;
    char db[512];
    fc_http *h;
    uint16_t port;
} fc_test_fixture;

typedef struct fc_test_world {
    fc_test_fixture f;
    fc_case_decision dec; /* a decision about a rider */
    char admin[FC_AUTH_TOKEN_LEN + 1], rider[FC_AUTH_TOKEN_LEN + 1],
        other_rider[FC_AUTH_TOKEN_LEN + 1], analyst[FC_AUTH_TOKEN_LEN + 1],
        far_analyst[FC_AUTH_TOKEN_LEN + 1], revoked[FC_AUTH_TOKEN_LEN + 1],
        sa_reviewer[FC_AUTH_TOKEN_LEN + 1], merchant[FC_AUTH_TOKEN_LEN + 1];
} fc_test_world;

/* Ingest tests/data/<name> into s (asserting no row is rejected). */
void fc_test_ingest_file(fc_store *s, const char *dir, const char *name);
/* Write text as file `name` in dir and ingest it into the store at db
 * through a connection of its own, as another process would (asserting no
 * row is rejected). */
void fc_test_ingest_text(const char *db, const char *dir, const char *name, const char *text);
/* An orders CSV (the canonical layout) of one order `order` of `city`,
 * delivered on time on 2026-03-02 (tests/data/http/kpi_orders.csv's J1),
 * into buf[0..n). */
void fc_test_order_csv(char *buf, size_t n, const char *order, const char *city);
/* Create token `name` with role and scope in s; its text into out. */
void fc_test_make_token(fc_store *s, const char *name, const char *role, const char *scope,
                        char out[FC_AUTH_TOKEN_LEN + 1]);
/* cmocka setup and teardown of a fc_test_world. */
int fc_test_world_setup(void **state);
int fc_test_world_teardown(void **state);
/* GET path with the given token (NULL: none) and extra header lines. */
void fc_test_get_as(const fc_test_world *w, const char *token, const char *path, const char *extra,
                    fc_test_resp *r);
/* method path with the given token (NULL: none) and a JSON body (NULL:
 * none). */
void fc_test_send_as(const fc_test_world *w, const char *token, const char *method,
                     const char *path, const char *json, fc_test_resp *r);

#endif
