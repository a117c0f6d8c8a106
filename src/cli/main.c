/*
 * fulcrum: one verb per job.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"appeal", fc_cmd_appeal, "appeal a decision; the reviewers' queue, verdicts and SLA"},
    {"demo", fc_cmd_demo, "generate the demo world, ingest it, print its KPIs and judge it"},
    {"gen", fc_cmd_gen, "write a deterministic synthetic delivery operation"},
    {"ingest", fc_cmd_ingest, "append events, orders or reference files to the store"},
    {"judge", fc_cmd_judge, "judge closed orders: who is responsible, recorded with evidence"},
    {"kpi", fc_cmd_kpi, "experience KPIs on any slice"},
    {"policy", fc_cmd_policy, "check responsibility policies, list facts, show a policy"},
    {"replay", fc_cmd_replay, "backtest a policy change: re-judge a period and diff"},
    {"report", fc_cmd_report, "reports over the case log: rule quality"},
    {"serve", fc_cmd_serve, "serve the store over HTTP (docs/api.md)"},
    {"token", fc_cmd_token, "create, list and revoke API tokens"},
};

static void usage(FILE *f) {
    fprintf(f, "usage: fulcrum <command> [options]\n\n"
               "Fulcrum turns delivery orders' event trails into experience KPIs and\n"
               "responsibility decisions with appeals.\n\n"
               "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
    }
    fprintf(f, "\nRun 'fulcrum <command> --help' for a command's options.\n"
               "The store is --db PATH, else $FULCRUM_DB, else ./fulcrum.db.\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return FC_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return FC_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("fulcrum 0.1.0\n");
        return FC_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[1], commands[i].name) == 0) {
            return commands[i].run(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "fulcrum: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return FC_EXIT_USAGE;
}
