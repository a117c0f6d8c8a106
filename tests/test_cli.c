/*
 * The command line end to end: help on every command, usage errors, and the
 * main job (`fulcrum demo`) on a small world, run twice.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support.h"

static const char *const commands[] = {"demo", "gen", "ingest", "kpi"};

static void test_help_everywhere(void **state) {
    (void)state;
    char *out = NULL;
    const char *top[] = {"--help", NULL};
    assert_int_equal(fc_test_run(NULL, top, &out, NULL), 0);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        assert_non_null(strstr(out, commands[i]));
    }
    free(out);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        const char *args[] = {commands[i], "--help", NULL};
        out = NULL;
        assert_int_equal(fc_test_run(NULL, args, &out, NULL), 0);
        assert_non_null(strstr(out, "usage: fulcrum"));
        assert_non_null(strstr(out, commands[i]));
        free(out);
    }
}

static void test_usage_errors_exit_1(void **state) {
    (void)state;
    char *err = NULL;
    const char *none[] = {NULL};
    assert_int_equal(fc_test_run(NULL, none, NULL, &err), 1);
    assert_non_null(strstr(err, "usage"));
    free(err);
    const char *unknown[] = {"frobnicate", NULL};
    err = NULL;
    assert_int_equal(fc_test_run(NULL, unknown, NULL, &err), 1);
    assert_non_null(strstr(err, "unknown command 'frobnicate'"));
    free(err);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        const char *args[] = {commands[i], "--no-such-option", NULL};
        assert_int_equal(fc_test_run(NULL, args, NULL, NULL), 1);
    }
    const char *bad_days[] = {"demo", "--days", "zero", NULL};
    err = NULL;
    assert_int_equal(fc_test_run(NULL, bad_days, NULL, &err), 1);
    assert_non_null(strstr(err, "--days"));
    free(err);
}

/* The main job on a small world: six cities with KPIs, the injected
 * problems listed; a second run finds every file already ingested and
 * prints the same KPIs. */
static void test_demo_end_to_end(void **state) {
    (void)state;
    char *dir = fc_test_tmpdir();
    assert_non_null(dir);
    const char *args[] = {"demo",  "--days", "1",          "--scale", "small",
                          "--out", "world",  "--no-serve", NULL};
    char *out1 = NULL, *err1 = NULL;
    assert_int_equal(fc_test_run(dir, args, &out1, &err1), 0);
    const char *cities[] = {"riyadh", "dubai", "doha", "kuwait_city", "hong_kong", "sao_paulo"};
    for (size_t i = 0; i < 6; i++) {
        assert_non_null(strstr(out1, cities[i]));
    }
    assert_non_null(strstr(out1, "on_time_rate"));
    assert_non_null(strstr(out1, "KWD"));
    const char *problems[] = {"slow_merchant", "rider_shortage", "far_delivery_rider",
                              "unreachable_customers", "dispatch_outage"};
    for (size_t i = 0; i < 5; i++) {
        assert_non_null(strstr(out1, problems[i]));
    }
    /* Each problem comes with the command that shows it; one of them runs. */
    assert_non_null(strstr(out1, "--by zone,daypart --where city="));
    const char *drill = strstr(out1, "fulcrum kpi --db world/fulcrum.db --by merchant --where");
    assert_non_null(drill);
    char line[512];
    size_t len = strcspn(drill, "\n");
    assert_true(len < sizeof line);
    memcpy(line, drill, len);
    line[len] = '\0';
    const char *dargs[32];
    size_t na = 0;
    for (char *tok = strtok(line + strlen("fulcrum "), " "); tok != NULL && na < 31;
         tok = strtok(NULL, " ")) {
        dargs[na++] = tok;
    }
    dargs[na] = NULL;
    char *slice = NULL;
    assert_int_equal(fc_test_run(dir, dargs, &slice, NULL), 0);
    const char *m = strstr(out1, "merchant=");
    assert_non_null(m);
    char merchant[64];
    size_t mlen = strcspn(m + 9, " \n");
    assert_true(mlen < sizeof merchant);
    memcpy(merchant, m + 9, mlen);
    merchant[mlen] = '\0';
    assert_non_null(strstr(slice, merchant));
    assert_non_null(strstr(slice, "prep_overrun_rate"));
    free(slice);
    assert_non_null(strstr(err1, "0 rejected"));
    assert_null(strstr(err1, " 1 rejected"));

    /* The demo judges the world: the slow merchant's late orders go to the
     * merchant, and the decision it points at can be read. */
    const char *judged = strstr(strstr(out1, "slow_merchant"), "judged: ");
    assert_non_null(judged);
    assert_non_null(strstr(judged, "on late: "));
    assert_true(strstr(judged, "merchant ") < strchr(judged, '\n'));
    const char *show = strstr(judged, "fulcrum judge show --db world/fulcrum.db dec-");
    assert_non_null(show);
    char decision[128];
    size_t dlen = strcspn(show + strlen("fulcrum judge show --db world/fulcrum.db "), "\n");
    assert_true(dlen < sizeof decision);
    memcpy(decision, show + strlen("fulcrum judge show --db world/fulcrum.db "), dlen);
    decision[dlen] = '\0';
    const char *sargs[] = {"judge", "show", "--db", "world/fulcrum.db", decision, NULL};
    char *shown = NULL;
    assert_int_equal(fc_test_run(dir, sargs, &shown, NULL), 0);
    assert_non_null(strstr(shown, decision));
    assert_non_null(strstr(shown, "merchant"));
    free(shown);
    assert_non_null(strstr(err1, "unchanged 0,"));
    assert_non_null(strstr(out1, "Responsibility decisions per city"));
    assert_non_null(strstr(out1, "force_majeure"));

    char *out2 = NULL, *err2 = NULL;
    assert_int_equal(fc_test_run(dir, args, &out2, &err2), 0);
    assert_string_equal(out1, out2);
    assert_non_null(strstr(err2, "already ingested"));
    assert_non_null(strstr(err2, "recorded 0,")); /* judging again records nothing */

    /* The store the demo left is queryable by the kpi command. */
    const char *kpi[] = {"kpi", "--db", "world/fulcrum.db", "--by", "city", "--format",
                         "csv", NULL};
    char *csv = NULL;
    assert_int_equal(fc_test_run(dir, kpi, &csv, NULL), 0);
    /* Rows come in the order of their values, not of the store. */
    const char *sorted[] = {"doha", "dubai", "hong_kong", "kuwait_city", "riyadh", "sao_paulo"};
    const char *prev = csv;
    for (size_t i = 0; i < 6; i++) {
        const char *at = strstr(csv, sorted[i]);
        assert_non_null(at);
        assert_true(at >= prev);
        prev = at;
    }
    free(csv);
    free(out1);
    free(err1);
    free(out2);
    free(err2);
    fc_test_rmtree(dir);
    free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help_everywhere),
        cmocka_unit_test(test_usage_errors_exit_1),
        cmocka_unit_test(test_demo_end_to_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
