/* Placeholder until the command lands. */
#include <stdio.h>

#include "cli/cli.h"

int fc_cmd_gen(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "fulcrum gen: not built yet\n");
    return FC_EXIT_INTERNAL;
}
