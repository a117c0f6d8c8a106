/*
 * Helpers every command shares: the store path, error reporting, exit statuses.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli/cli.h"

const char *fc_cli_db_path(const char *flag_value) {
    if (flag_value != NULL && flag_value[0] != '\0') {
        return flag_value;
    }
    const char *env = getenv("FULCRUM_DB");
    if (env != NULL && env[0] != '\0') {
        return env;
    }
    return "fulcrum.db";
}

int fc_cli_exit_for(int code) {
    switch (code) {
    case FC_OK:
        return FC_EXIT_OK;
    case FC_EPARSE:
    case FC_ELIMIT:
    case FC_EDUP:
        return FC_EXIT_REJECTED;
    case FC_EINVAL:
    case FC_ENOTFOUND:
    case FC_ECONFLICT:
        return FC_EXIT_USAGE;
    default:
        return FC_EXIT_INTERNAL;
    }
}

int fc_cli_fail(const char *cmd, const fc_err *err) {
    char buf[1024];
    fc_err_format(err, buf, sizeof buf);
    fprintf(stderr, "fulcrum %s: %s\n", cmd, buf);
    return fc_cli_exit_for(err->code);
}

int fc_cli_stderr_tty(void) {
    return isatty(STDERR_FILENO);
}
