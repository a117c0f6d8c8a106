/*
 * The web console's static files (src/http/static.c) over a real server on
 * 127.0.0.1: a temporary console folder named by FULCRUM_CONSOLE, content
 * types, cache headers, 304 on a matching ETag, the gzip copy to clients
 * that take it, traversal refused, no token needed, a rebuilt file served at
 * once, 503 when the console is not built.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http/http.h"
#include "support.h"
#include "support_http.h"

#define INDEX_HTML "<!doctype html><title>Fulcrum</title><script src=\"/assets/main-ABCD1234.js\">"
#define MAIN_JS    "console.log('fulcrum');\n"
#define PLAIN_CSS  "body{margin:0}\n"
#define SECRET     "do-not-serve-this"

typedef struct fx {
    char *dir;
    char console[512];
    fc_http *h;
    uint16_t port;
} fx;

static int setup(void **state) {
    fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->dir = fc_test_tmpdir();
    assert_non_null(f->dir);
    snprintf(f->console, sizeof f->console, "%s/console", f->dir);
    char assets[600];
    snprintf(assets, sizeof assets, "%s/assets", f->console);
    assert_int_equal(mkdir(f->console, 0755), 0);
    assert_int_equal(mkdir(assets, 0755), 0);
    assert_int_equal(fc_test_write(f->console, "index.html", INDEX_HTML, strlen(INDEX_HTML)), 0);
    assert_int_equal(fc_test_write(assets, "main-ABCD1234.js", MAIN_JS, strlen(MAIN_JS)), 0);
    assert_int_equal(fc_test_write(assets, "plain.css", PLAIN_CSS, strlen(PLAIN_CSS)), 0);
    assert_int_equal(fc_test_write(assets, "font-0123ABCD.woff2", "wOF2", 4), 0);
    assert_int_equal(fc_test_write(assets, ".hidden.js", SECRET, strlen(SECRET)), 0);
    assert_int_equal(fc_test_write(f->dir, "secret.txt", SECRET, strlen(SECRET)), 0);
    assert_int_equal(setenv("FULCRUM_CONSOLE", f->console, 1), 0);

    char db[600];
    snprintf(db, sizeof db, "%s/static.db", f->dir);
    fc_http_opts o;
    memset(&o, 0, sizeof o);
    o.db_path = db;
    fc_err err;
    assert_int_equal(fc_http_start(&o, &f->h, &err), FC_OK);
    f->port = fc_http_port(f->h);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fx *f = *state;
    fc_http_stop(f->h);
    unsetenv("FULCRUM_CONSOLE");
    fc_test_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* The value of header name in r (case-insensitive name), copied into out;
 * "" when absent. */
static void header(const fc_test_resp *r, const char *name, char *out, size_t outsz) {
    out[0] = '\0';
    size_t n = strlen(name);
    for (const char *p = r->head; p != NULL && *p != '\0';) {
        const char *eol = strstr(p, "\r\n");
        size_t len = eol != NULL ? (size_t)(eol - p) : strlen(p);
        if (len > n + 1 && strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            while (*v == ' ') {
                v++;
            }
            size_t vlen = len - (size_t)(v - p);
            snprintf(out, outsz, "%.*s", (int)vlen, v);
            return;
        }
        p = eol != NULL ? eol + 2 : NULL;
    }
}

static void assert_header(const fc_test_resp *r, const char *name, const char *want) {
    char got[512];
    header(r, name, got, sizeof got);
    assert_string_equal(got, want);
}

static void get_with(const fx *f, const char *path, const char *headers, fc_test_resp *r) {
    fc_test_request(f->port, "GET", path, headers, NULL, 0, r);
}

/* The ETag of GET path (asserted to be a quoted tag). */
static void etag_of(const fx *f, const char *path, char *out, size_t outsz) {
    fc_test_resp r;
    fc_test_get(f->port, path, &r);
    assert_int_equal(r.status, 200);
    header(&r, "ETag", out, outsz);
    fc_test_resp_free(&r);
    assert_true(out[0] == '"' && strlen(out) > 2);
}

static void test_index_served_open_and_revalidated(void **state) {
    fx *f = *state;
    fc_test_resp r;
    fc_test_get(f->port, "/", &r); /* no Authorization header: an open route */
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, INDEX_HTML);
    assert_header(&r, "Content-Type", "text/html; charset=utf-8");
    assert_header(&r, "Cache-Control", "no-cache");
    assert_header(&r, "X-Content-Type-Options", "nosniff");
    char csp[512];
    header(&r, "Content-Security-Policy", csp, sizeof csp);
    assert_non_null(strstr(csp, "default-src 'self'"));
    char etag[128];
    header(&r, "ETag", etag, sizeof etag);
    assert_true(etag[0] == '"' && strlen(etag) > 2);
    fc_test_resp_free(&r);

    /* HEAD answers the headers alone */
    fc_test_request(f->port, "HEAD", "/", "", NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "");
    assert_header(&r, "Content-Type", "text/html; charset=utf-8");
    fc_test_resp_free(&r);
}

static void test_asset_content_types_and_cache(void **state) {
    fx *f = *state;
    fc_test_resp r;
    fc_test_get(f->port, "/assets/main-ABCD1234.js", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, MAIN_JS);
    assert_header(&r, "Content-Type", "text/javascript; charset=utf-8");
    assert_header(&r, "Cache-Control", "public, max-age=31536000, immutable");
    char len[32];
    header(&r, "Content-Length", len, sizeof len);
    assert_int_equal(strtol(len, NULL, 10), (long)strlen(MAIN_JS));
    fc_test_resp_free(&r);

    /* a name without a content hash may change: revalidated every time */
    fc_test_get(f->port, "/assets/plain.css", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, PLAIN_CSS);
    assert_header(&r, "Content-Type", "text/css; charset=utf-8");
    assert_header(&r, "Cache-Control", "no-cache");
    fc_test_resp_free(&r);

    fc_test_get(f->port, "/assets/font-0123ABCD.woff2", &r);
    assert_int_equal(r.status, 200);
    assert_header(&r, "Content-Type", "font/woff2");
    fc_test_resp_free(&r);

    fc_test_get(f->port, "/assets/missing-ABCD1234.js", &r);
    assert_int_equal(r.status, 404);
    fc_test_assert_error(&r, "not_found");
    fc_test_resp_free(&r);
}

static void test_etag_gives_304(void **state) {
    fx *f = *state;
    fc_test_resp r;
    char etag[128];
    etag_of(f, "/assets/main-ABCD1234.js", etag, sizeof etag);

    char h[512];
    snprintf(h, sizeof h, "If-None-Match: %s\r\n", etag);
    get_with(f, "/assets/main-ABCD1234.js", h, &r);
    assert_int_equal(r.status, 304);
    assert_string_equal(r.body, "");
    assert_header(&r, "ETag", etag);
    assert_header(&r, "Cache-Control", "public, max-age=31536000, immutable");
    fc_test_resp_free(&r);

    /* weak comparison, in a list */
    snprintf(h, sizeof h, "If-None-Match: \"other\", W/%s\r\n", etag);
    get_with(f, "/assets/main-ABCD1234.js", h, &r);
    assert_int_equal(r.status, 304);
    fc_test_resp_free(&r);

    get_with(f, "/assets/main-ABCD1234.js", "If-None-Match: \"stale\"\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, MAIN_JS);
    fc_test_resp_free(&r);

    /* index.html too */
    etag_of(f, "/", etag, sizeof etag);
    snprintf(h, sizeof h, "If-None-Match: %s\r\n", etag);
    get_with(f, "/", h, &r);
    assert_int_equal(r.status, 304);
    assert_header(&r, "Cache-Control", "no-cache");
    fc_test_resp_free(&r);

    /* the revalidations are counted as 304s in the metrics, not as "other" */
    for (int i = 0; i < 500 && fc_http_requests(f->h) < 6; i++) {
        usleep(10000);
    }
    assert_int_equal(fc_http_requests(f->h), 6);
    get_with(f, "/metrics", "", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(
        r.body,
        "fulcrum_http_requests_total{route=\"/assets/{*}\",method=\"GET\",status=\"304\"} 2\n"));
    assert_non_null(strstr(
        r.body, "fulcrum_http_requests_total{route=\"/\",method=\"GET\",status=\"304\"} 1\n"));
    fc_test_resp_free(&r);
}

static void test_rebuilt_file_served_at_once(void **state) {
    fx *f = *state;
    fc_test_resp r;
    char etag[128];
    etag_of(f, "/", etag, sizeof etag);

    const char *next = "<!doctype html><title>Fulcrum, rebuilt</title>";
    assert_int_equal(fc_test_write(f->console, "index.html", next, strlen(next)), 0);
    char h[512];
    snprintf(h, sizeof h, "If-None-Match: %s\r\n", etag);
    get_with(f, "/", h, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, next);
    char etag2[128];
    header(&r, "ETag", etag2, sizeof etag2);
    assert_string_not_equal(etag, etag2);
    fc_test_resp_free(&r);
    assert_int_equal(fc_test_write(f->console, "index.html", INDEX_HTML, strlen(INDEX_HTML)), 0);
}

static void test_gzip_copy_when_taken(void **state) {
    fx *f = *state;
    char assets[600];
    snprintf(assets, sizeof assets, "%s/assets", f->console);
    /* the content of the copy does not matter to the server: a marker */
    const char *gz = "GZIP-COPY-OF-MAIN";
    assert_int_equal(fc_test_write(assets, "main-ABCD1234.js.gz", gz, strlen(gz)), 0);
    char plain_tag[128];
    etag_of(f, "/assets/main-ABCD1234.js", plain_tag, sizeof plain_tag);

    fc_test_resp r;
    get_with(f, "/assets/main-ABCD1234.js", "Accept-Encoding: br, gzip, deflate\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, gz);
    assert_header(&r, "Content-Encoding", "gzip");
    assert_header(&r, "Content-Type", "text/javascript; charset=utf-8");
    assert_header(&r, "Vary", "Accept-Encoding");
    assert_header(&r, "Cache-Control", "public, max-age=31536000, immutable");
    char gz_tag[128];
    header(&r, "ETag", gz_tag, sizeof gz_tag);
    assert_string_not_equal(gz_tag, plain_tag); /* another representation, another tag */
    fc_test_resp_free(&r);

    char h[512];
    snprintf(h, sizeof h, "Accept-Encoding: gzip\r\nIf-None-Match: %s\r\n", gz_tag);
    get_with(f, "/assets/main-ABCD1234.js", h, &r);
    assert_int_equal(r.status, 304);
    fc_test_resp_free(&r);

    /* refused (q=0) or not asked: the file itself */
    get_with(f, "/assets/main-ABCD1234.js", "Accept-Encoding: gzip;q=0, identity\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, MAIN_JS);
    assert_header(&r, "Content-Encoding", "");
    assert_header(&r, "Vary", "Accept-Encoding");
    fc_test_resp_free(&r);
    fc_test_get(f->port, "/assets/main-ABCD1234.js", &r);
    assert_string_equal(r.body, MAIN_JS);
    fc_test_resp_free(&r);

    /* a file without a copy is sent as it is */
    get_with(f, "/assets/plain.css", "Accept-Encoding: gzip\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, PLAIN_CSS);
    assert_header(&r, "Content-Encoding", "");
    fc_test_resp_free(&r);
}

static void test_traversal_refused(void **state) {
    fx *f = *state;
    const char *paths[] = {
        "/assets/../secret.txt",
        "/assets/../../secret.txt",
        "/assets/%2e%2e/secret.txt",
        "/assets/%2E%2E/%2E%2E/secret.txt",
        "/assets/x/../../secret.txt",
        "/assets/..%2fsecret.txt",
        "/assets//etc/passwd",
        "/assets/%2fetc%2fpasswd",
        "/assets/.hidden.js",
        "/assets/./main-ABCD1234.js",
        "/assets/",
        "/assets",
        "/assets/a\\..\\secret.txt",
    };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        fc_test_resp r;
        fc_test_get(f->port, paths[i], &r);
        if (r.status != 404) {
            print_error("%s: status %d\n", paths[i], r.status);
        }
        assert_int_equal(r.status, 404);
        assert_null(strstr(r.body, SECRET));
        fc_test_assert_error(&r, "not_found");
        fc_test_resp_free(&r);
    }
    /* a folder is not a file */
    char sub[700];
    snprintf(sub, sizeof sub, "%s/assets/sub", f->console);
    assert_int_equal(mkdir(sub, 0755), 0);
    fc_test_resp r;
    fc_test_get(f->port, "/assets/sub", &r);
    assert_int_equal(r.status, 404);
    fc_test_resp_free(&r);
}

static void test_missing_console_is_503(void **state) {
    fx *f = *state;
    char missing[600];
    snprintf(missing, sizeof missing, "%s/not-built", f->dir);
    assert_int_equal(setenv("FULCRUM_CONSOLE", missing, 1), 0);
    fc_test_resp r;
    fc_test_get(f->port, "/", &r);
    assert_int_equal(r.status, 503);
    fc_test_assert_error(&r, "unavailable");
    assert_non_null(strstr(r.body, "scripts/console.sh"));
    fc_test_resp_free(&r);
    fc_test_get(f->port, "/assets/main-ABCD1234.js", &r);
    assert_int_equal(r.status, 503);
    fc_test_assert_error(&r, "unavailable");
    fc_test_resp_free(&r);
    /* the other routes are unaffected */
    fc_test_get(f->port, "/health", &r);
    assert_int_equal(r.status, 200);
    fc_test_resp_free(&r);
    assert_int_equal(setenv("FULCRUM_CONSOLE", f->console, 1), 0);
    fc_test_get(f->port, "/", &r);
    assert_int_equal(r.status, 200);
    fc_test_resp_free(&r);
}

static void test_post_not_allowed(void **state) {
    fx *f = *state;
    fc_test_resp r;
    fc_test_request(f->port, "POST", "/", "Content-Length: 0\r\n", NULL, 0, &r);
    assert_int_equal(r.status, 405);
    fc_test_assert_error(&r, "method_not_allowed");
    fc_test_resp_free(&r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_index_served_open_and_revalidated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_asset_content_types_and_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_etag_gives_304, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rebuilt_file_served_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gzip_copy_when_taken, setup, teardown),
        cmocka_unit_test_setup_teardown(test_traversal_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_console_is_503, setup, teardown),
        cmocka_unit_test_setup_teardown(test_post_not_allowed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
