/*
 * fulcrum policy: check policy files, list the named facts conditions can
 * read, and show a policy resolved over its parents.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "policy/policy.h"

#define MAX_ERRORS 200

static void usage(FILE *f) {
    fprintf(f, "usage: fulcrum policy check FILE|FOLDER...\n"
               "       fulcrum policy facts [--format table|csv|json]\n"
               "       fulcrum policy show FILE\n\n"
               "Responsibility policies are YAML files (docs/policy.md).\n\n"
               "  check  validate each file with its parents (or a whole folder, a pack):\n"
               "         prints \"OK <id> <version>: N rules\", or every error as\n"
               "         file:line:col: reason (exit status 1)\n"
               "  facts  the named order facts a rule's condition can read, with kind, unit\n"
               "         and description\n"
               "  show   the resolved policy: rules per incident in the order they are\n"
               "         tried, each with the file and line it comes from\n\n"
               "options:\n"
               "  --format F   facts: table (default), csv or json\n"
               "  -h, --help   this help\n");
}

static void print_err(const fc_err *e) {
    if (e->line > 0) {
        fprintf(stderr, "%s:%ld:%ld: %s\n", e->file, e->line, e->col, e->msg);
    } else if (e->file[0] != '\0') {
        fprintf(stderr, "%s: %s\n", e->file, e->msg);
    } else {
        fprintf(stderr, "fulcrum policy: %s\n", e->msg);
    }
}

static size_t rule_count(const fc_policy *p) {
    size_t n = 0;
    for (int k = 0; k < FC_INCIDENT__COUNT; k++) {
        const fc_rule *const *rules;
        n += fc_policy_rules(p, (fc_incident_kind)k, &rules);
    }
    return n;
}

static int is_dir(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static int cmd_check(int argc, char **argv) {
    if (argc < 1) {
        fprintf(stderr, "fulcrum policy check: name at least one policy file\n");
        return FC_EXIT_USAGE;
    }
    static fc_err errs[MAX_ERRORS];
    int status = FC_EXIT_OK;
    for (int i = 0; i < argc; i++) {
        size_t n = 0;
        fc_policy_pack *pk = NULL;
        int dir = is_dir(argv[i]);
        int rc = dir ? fc_policy_check_dir(argv[i], errs, MAX_ERRORS, &n, &pk)
                     : fc_policy_check_file(argv[i], errs, MAX_ERRORS, &n, &pk);
        if (rc != FC_OK) {
            for (size_t k = 0; k < n && k < MAX_ERRORS; k++) {
                print_err(&errs[k]);
            }
            if (n > MAX_ERRORS) {
                fprintf(stderr, "%s: %zu more errors\n", argv[i], n - MAX_ERRORS);
            }
            status = rc == FC_ENOMEM ? FC_EXIT_INTERNAL : FC_EXIT_USAGE;
            continue;
        }
        size_t count = fc_policy_pack_count(pk);
        for (size_t k = dir ? 0 : count - 1; k < count; k++) {
            const fc_policy *p = fc_policy_pack_at(pk, k);
            printf("OK %s %s: %zu rules\n", fc_policy_id(p), fc_policy_version(p), rule_count(p));
        }
        fc_policy_pack_free(pk);
    }
    return status;
}

static int cmd_facts(int argc, char **argv) {
    fc_out_format fmt = FC_OUT_TABLE;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--format") == 0 && i + 1 < argc) {
            int f = fc_out_format_from(argv[++i]);
            if (f < 0) {
                fprintf(stderr, "fulcrum policy facts: --format: '%s' is not table, csv or json\n",
                        argv[i]);
                return FC_EXIT_USAGE;
            }
            fmt = (fc_out_format)f;
        } else if (strncmp(argv[i], "--format=", 9) == 0) {
            int f = fc_out_format_from(argv[i] + 9);
            if (f < 0) {
                fprintf(stderr, "fulcrum policy facts: --format: '%s' is not table, csv or json\n",
                        argv[i] + 9);
                return FC_EXIT_USAGE;
            }
            fmt = (fc_out_format)f;
        } else {
            fprintf(stderr, "fulcrum policy facts: unknown option '%s'\n", argv[i]);
            return FC_EXIT_USAGE;
        }
    }
    static const char *const cols[] = {"fact", "kind", "unit", "description"};
    static const int numeric[] = {0, 0, 0, 0};
    fc_table *t = fc_table_new(4, cols, numeric);
    if (t == NULL) {
        fprintf(stderr, "fulcrum policy facts: out of memory\n");
        return FC_EXIT_INTERNAL;
    }
    for (size_t i = 0; i < fc_fact_count(); i++) {
        const char *row[4] = {fc_fact_name(i),
                              fc_fact_kind_of(i) == FC_FACT_TEXT ? "word" : "number",
                              fc_fact_unit(i), fc_fact_doc(i)};
        if (fc_table_add(t, row) != FC_OK) {
            fc_table_free(t);
            fprintf(stderr, "fulcrum policy facts: out of memory\n");
            return FC_EXIT_INTERNAL;
        }
    }
    fc_table_print(t, fmt, stdout);
    fc_table_free(t);
    return FC_EXIT_OK;
}

static void print_from(const char *file, long line, const char *changed_file, long changed_line) {
    if (changed_file != NULL && (strcmp(changed_file, file) != 0 || changed_line != line)) {
        printf("      from %s:%ld, changed in %s:%ld\n", file, line, changed_file, changed_line);
    } else {
        printf("      from %s:%ld\n", file, line);
    }
}

static int cmd_show(int argc, char **argv) {
    if (argc != 1) {
        fprintf(stderr, "fulcrum policy show: name one policy file\n");
        return FC_EXIT_USAGE;
    }
    fc_policy_pack *pk = NULL;
    fc_err err;
    fc_err_clear(&err);
    if (fc_policy_load_file(argv[0], &pk, &err) != FC_OK) {
        print_err(&err);
        return err.code == FC_ENOMEM ? FC_EXIT_INTERNAL : FC_EXIT_USAGE;
    }
    const fc_policy *p = fc_policy_pack_at(pk, fc_policy_pack_count(pk) - 1);
    printf("policy %s %s\n", fc_policy_id(p), fc_policy_version(p));
    printf("  file: %s\n", fc_policy_file(p));
    printf("  chain:");
    for (const fc_policy *q = p; q != NULL; q = fc_policy_parent(q)) {
        printf(" %s%s", fc_policy_id(q), fc_policy_parent(q) != NULL ? " <-" : "");
    }
    printf("\n");
    if (fc_policy_scope_city(p)[0] != '\0') {
        printf("  scope: city %s\n", fc_policy_scope_city(p));
    } else if (fc_policy_scope_country(p)[0] != '\0') {
        printf("  scope: country %s\n", fc_policy_scope_country(p));
    } else {
        printf("  scope: everywhere (base)\n");
    }
    printf("  currency: %s\n", fc_policy_currency(p)[0] != '\0' ? fc_policy_currency(p) : "-");
    const fc_thresholds *t = fc_policy_thresholds(p);
    printf("  on_time: grace_min %g, severe_late_min %g, bad_rating_max %d, far_delivery_m %d, "
           "prep_overrun_min %g, weather_severe %d\n",
           t->grace_s / 60.0, t->severe_late_s / 60.0, t->bad_rating_max, t->far_delivery_m,
           t->prep_overrun_s / 60.0, t->weather_severe);
    printf("  appeals: rider %gh, merchant %gh, auto review %s\n",
           (double)fc_policy_appeal_sla_s(p, FC_PARTY_RIDER) / 3600.0,
           (double)fc_policy_appeal_sla_s(p, FC_PARTY_MERCHANT) / 3600.0,
           fc_policy_auto_review(p) ? "yes" : "no");
    for (int k = 0; k < FC_INCIDENT__COUNT; k++) {
        const fc_rule *const *rules;
        size_t n = fc_policy_rules(p, (fc_incident_kind)k, &rules);
        printf("\n%s (%zu rule%s)\n", fc_incident_name((fc_incident_kind)k), n, n == 1 ? "" : "s");
        for (size_t i = 0; i < n; i++) {
            const fc_rule *r = rules[i];
            printf("  %zu. %s -> %s%s\n", i + 1, r->id, fc_party_name(r->liable),
                   r->review ? " (review)" : "");
            printf("      %s\n", r->description != NULL ? r->description : "");
            if (r->penalty != NULL || r->compensate != NULL || r->chargeback != NULL) {
                printf("      consequences:%s%s%s%s%s%s\n", r->penalty ? " penalty " : "",
                       r->penalty ? r->penalty : "", r->compensate ? " compensate " : "",
                       r->compensate ? r->compensate : "", r->chargeback ? " chargeback " : "",
                       r->chargeback ? r->chargeback : "");
            }
            print_from(r->file, r->line, r->changed_file, r->changed_line);
        }
    }
    size_t nx = fc_policy_exemption_count(p);
    printf("\nexemptions (%zu)\n", nx);
    for (size_t i = 0; i < nx; i++) {
        fc_policy_exemption x;
        if (fc_policy_exemption_at(p, i, &x) != FC_OK) {
            break;
        }
        printf("  %zu. %s -> %s when %s\n", i + 1, x.id, x.waive ? "waive" : "warning", x.when);
        print_from(x.file, x.line, x.changed_file, x.changed_line);
    }
    fc_policy_pack_free(pk);
    return FC_EXIT_OK;
}

int fc_cmd_policy(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return FC_EXIT_USAGE;
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return FC_EXIT_OK;
        }
    }
    const char *sub = argv[1];
    if (strcmp(sub, "check") == 0) {
        return cmd_check(argc - 2, argv + 2);
    }
    if (strcmp(sub, "facts") == 0) {
        return cmd_facts(argc - 2, argv + 2);
    }
    if (strcmp(sub, "show") == 0) {
        return cmd_show(argc - 2, argv + 2);
    }
    fprintf(stderr, "fulcrum policy: unknown subcommand '%s'\n\n", sub);
    usage(stderr);
    return FC_EXIT_USAGE;
}
