/* Placeholder until the command lands. */
#include <stdio.h>

#include "cli/cli.h"

int fc_cmd_kpi(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "fulcrum kpi: not built yet\n");
    return FC_EXIT_INTERNAL;
}
