/*
 * Helpers every command shares: the store path, error reporting, exit statuses,
 * serving until a stop signal.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "http/http.h"

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

int fc_cli_serve_until_signal(const char *cmd, fc_http_opts *o, int pick_free_port,
                              void (*announce)(void *ud, const char *url), void *ud) {
    sigset_t stop, old;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, &old);
    fc_err err;
    fc_err_clear(&err);
    fc_http *h = NULL;
    int rc = fc_http_start(o, &h, &err);
    if (rc == FC_EIO && pick_free_port && o->port != 0) {
        fprintf(stderr,
                "fulcrum %s: port %u of %s is taken (another server?); serving on a free "
                "port instead\n",
                cmd, (unsigned)o->port, o->listen_addr);
        o->port = 0;
        fc_err_clear(&err);
        rc = fc_http_start(o, &h, &err);
    }
    if (rc != FC_OK) {
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        return fc_cli_fail(cmd, &err);
    }
    char url[128];
    snprintf(url, sizeof url,
             strchr(o->listen_addr, ':') != NULL ? "http://[%s]:%u" : "http://%s:%u",
             o->listen_addr, (unsigned)fc_http_port(h));
    announce(ud, url);
    fflush(stdout);
    int sig = 0;
    sigwait(&stop, &sig);
    fprintf(stderr, "fulcrum %s: %s: stopping the server\n", cmd,
            sig == SIGINT ? "SIGINT" : "SIGTERM");
    fc_http_stop(h);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return FC_EXIT_OK;
}
