/*
 * `fulcrum demo` serving: on a small world it queues pending work, prints
 * the address and the demo's tokens (which work, each with its role), serves
 * until SIGTERM, and a second run revokes the first run's tokens.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "support.h"
#include "support_http.h"

/* What one run printed. */
typedef struct run {
    pid_t pid;
    FILE *out;
    unsigned port;
    char admin[64], reviewer[64], rider[64];
    char text[65536];
} run;

/* The token after "label token" on a line of r->text, into tok. */
static void token_after(const run *r, const char *label, char *tok, size_t cap) {
    const char *at = strstr(r->text, label);
    assert_non_null(at);
    const char *fc = strstr(at, "fc_");
    assert_non_null(fc);
    size_t n = strcspn(fc, " \n");
    assert_true(n < cap);
    memcpy(tok, fc, n);
    tok[n] = '\0';
}

/* Start the demo in dir and read its output up to the end of the welcome. */
static void start(const char *dir, run *r) {
    memset(r, 0, sizeof *r);
    int p[2];
    assert_int_equal(pipe(p), 0);
    r->pid = fork();
    assert_true(r->pid >= 0);
    if (r->pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        if (chdir(dir) != 0) {
            _exit(127);
        }
        execl(fc_test_binary(), "fulcrum", "demo", "--days", "1", "--scale", "small", "--out",
              "world", "--listen", "127.0.0.1:0", (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    r->out = fdopen(p[0], "r");
    assert_non_null(r->out);
    char line[1024];
    int bars = 0;
    while (bars < 2 && fgets(line, sizeof line, r->out) != NULL) {
        size_t len = strlen(r->text);
        snprintf(r->text + len, sizeof r->text - len, "%s", line);
        bars += strncmp(line, "=====", 5) == 0;
    }
    assert_int_equal(bars, 2);
    const char *open = strstr(r->text, "open  http://127.0.0.1:");
    assert_non_null(open);
    assert_int_equal(sscanf(open, "open  http://127.0.0.1:%u/", &r->port), 1);
    token_after(r, "admin token", r->admin, sizeof r->admin);
    token_after(r, "reviewer token", r->reviewer, sizeof r->reviewer);
    token_after(r, "rider token", r->rider, sizeof r->rider);
}

static void stop(run *r) {
    assert_int_equal(kill(r->pid, SIGTERM), 0);
    int st = 0;
    assert_int_equal(waitpid(r->pid, &st, 0), r->pid);
    fclose(r->out);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

/* GET path with token; returns the status, the body into *body. */
static int get(const run *r, const char *token, const char *path, char **body) {
    char hdr[128];
    snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", token);
    fc_test_resp resp;
    fc_test_request((uint16_t)r->port, "GET", path, hdr, NULL, 0, &resp);
    int status = resp.status;
    if (body != NULL) {
        *body = strdup(resp.body != NULL ? resp.body : "");
    }
    fc_test_resp_free(&resp);
    return status;
}

static void test_demo_serves_with_tokens(void **state) {
    (void)state;
    char *dir = fc_test_tmpdir();
    assert_non_null(dir);
    run *r1 = calloc(1, sizeof *r1), *r2 = calloc(1, sizeof *r2);
    start(dir, r1);
    /* The queue holds pending rider appeals in more than one city; the
     * text says what to click. */
    const char *q = strstr(r1->text, "rider appeal(s) filed (");
    assert_non_null(q);
    assert_non_null(strchr(q, ','));
    assert_non_null(strstr(r1->text, "waiting for a person"));
    assert_non_null(strstr(r1->text, "What to click:"));
    assert_non_null(strstr(r1->text, "Appeals:"));
    char *body = NULL;
    assert_int_equal(get(r1, r1->admin, "/v1/me", &body), 200);
    assert_non_null(strstr(body, "\"demo-admin\""));
    assert_non_null(strstr(body, "\"admin\""));
    free(body);
    assert_int_equal(get(r1, r1->reviewer, "/v1/me", &body), 200);
    assert_non_null(strstr(body, "\"reviewer\""));
    assert_non_null(strstr(body, "country:"));
    free(body);
    assert_int_equal(get(r1, r1->rider, "/v1/me", &body), 200);
    assert_non_null(strstr(body, "\"rider\""));
    free(body);
    assert_int_equal(get(r1, r1->admin, "/v1/kpi?by=city&kpi=on_time_rate", &body), 200);
    assert_non_null(strstr(body, "riyadh"));
    free(body);
    stop(r1);

    /* Again on the same store: new tokens, the old ones revoked. */
    start(dir, r2);
    assert_string_not_equal(r1->admin, r2->admin);
    assert_int_equal(get(r2, r1->admin, "/v1/me", NULL), 401);
    assert_int_equal(get(r2, r1->reviewer, "/v1/me", NULL), 401);
    assert_int_equal(get(r2, r2->admin, "/v1/me", &body), 200);
    assert_non_null(strstr(body, "\"demo-admin-2\""));
    free(body);
    assert_non_null(strstr(r2->text, "0 decision(s) newly queued")); /* idempotent */
    stop(r2);
    free(r1);
    free(r2);
    fc_test_rmtree(dir);
    free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_demo_serves_with_tokens),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
