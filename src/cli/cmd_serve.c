/*
 * fulcrum serve: run the HTTP server until SIGINT or SIGTERM.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "http/http.h"

static void usage(FILE *f) {
    fprintf(f, "usage: fulcrum serve [--db PATH] [--listen ADDR:PORT] [--threads N]\n"
               "                     [--policies DIR] [--body-limit BYTES]\n\n"
               "Serve the store over HTTP until SIGINT or SIGTERM, then stop gracefully:\n"
               "no new connections, requests in flight finish. The first line printed is\n"
               "the address listened on.\n\n"
               "  --db PATH            the store (default $FULCRUM_DB, else ./fulcrum.db)\n"
               "  --listen ADDR:PORT   numeric address and port (default 127.0.0.1:8080);\n"
               "                       IPv6 as [::1]:8080; port 0 picks a free one\n"
               "  --threads N          worker threads, each with its own store connection\n"
               "                       (default 2)\n"
               "  --policies DIR       the policy pack appeals are reviewed under (default:\n"
               "                       the shipped policies/)\n"
               "  --body-limit BYTES   largest request body (default 1048576; larger: 413)\n"
               "  -h, --help           this help\n\n"
               "docs/api.md lists the routes.\n");
}

int fc_cli_parse_listen(const char *s, char *addr, size_t addrsz, uint16_t *port) {
    const char *colon;
    const char *a = s;
    size_t alen;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (close == NULL || close[1] != ':') {
            return FC_EINVAL;
        }
        a = s + 1;
        alen = (size_t)(close - a);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL) {
            return FC_EINVAL;
        }
        alen = (size_t)(colon - s);
    }
    int64_t p = 0;
    if (alen == 0 || alen >= addrsz || fc_parse_i64(fc_str_c(colon + 1), &p) != FC_OK || p < 0 ||
        p > 65535) {
        return FC_EINVAL;
    }
    fc_str_cpy(addr, addrsz, fc_str_make(a, alen));
    *port = (uint16_t)p;
    return FC_OK;
}

static void announce(void *ud, const char *url) {
    (void)ud;
    printf("listening on %s\n", url);
}

int fc_cmd_serve(int argc, char **argv) {
    const char *db = NULL, *listen = "127.0.0.1:8080", *threads = NULL, *policies = NULL;
    const char *body_limit = NULL;
    const fc_cli_optdef defs[] = {{"--db", &db},
                                  {"--listen", &listen},
                                  {"--threads", &threads},
                                  {"--policies", &policies},
                                  {"--body-limit", &body_limit}};
    fc_out_format fmt;
    int st =
        fc_cli_parse_opts("serve", argc, argv, defs, sizeof defs / sizeof defs[0], usage, &fmt);
    if (st != FC_EXIT_OK) {
        return st < 0 ? FC_EXIT_OK : st;
    }
    fc_http_opts o;
    memset(&o, 0, sizeof o);
    char addr[64];
    if (fc_cli_parse_listen(listen, addr, sizeof addr, &o.port) != FC_OK) {
        fprintf(stderr, "fulcrum serve: --listen '%s' is not ADDR:PORT\n", listen);
        return FC_EXIT_USAGE;
    }
    o.listen_addr = addr;
    if (threads != NULL) {
        int64_t n = 0;
        if (fc_parse_i64(fc_str_c(threads), &n) != FC_OK || n < 1 || n > 256) {
            fprintf(stderr, "fulcrum serve: --threads '%s' is not a number from 1 to 256\n",
                    threads);
            return FC_EXIT_USAGE;
        }
        o.threads = (unsigned)n;
    }
    o.db_path = fc_cli_db_path(db);
    o.policy_dir = policies;
    if (body_limit != NULL) {
        int64_t n = 0;
        if (fc_parse_i64(fc_str_c(body_limit), &n) != FC_OK || n < 1 || n > (1LL << 32)) {
            fprintf(stderr,
                    "fulcrum serve: --body-limit '%s' is not a number of bytes from 1 to %lld\n",
                    body_limit, 1LL << 32);
            return FC_EXIT_USAGE;
        }
        o.body_limit_bytes = (size_t)n;
    }

    return fc_cli_serve_until_signal("serve", &o, 0, announce, NULL);
}
