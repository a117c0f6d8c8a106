/*
 * fulcrum token: create, list and revoke the API tokens of the store
 * (docs/access.md). A token's text is printed once, at creation; the store
 * keeps only its hash.
 */
#include <stdio.h>
#include <string.h>
#include <sodium.h>
#include <time.h>

#include "auth/auth.h"
#include "cli/cli.h"
#include "core/core.h"
#include "store/store.h"

static void usage(FILE *f) {
    fprintf(f, "usage: fulcrum token create --name NAME --role ROLE [--scope SCOPE] [--db PATH]\n"
               "       fulcrum token list [--format table|csv|json] [--db PATH]\n"
               "       fulcrum token revoke NAME [--db PATH]\n\n"
               "API tokens for the HTTP API (docs/access.md).\n\n"
               "  create  make a token and print it on stdout: it is shown only this once,\n"
               "          the store keeps only its hash\n"
               "  list    every token with role, scope and dates (never the secret)\n"
               "  revoke  the token stops working at once; it stays listed\n\n"
               "options:\n"
               "  --name NAME    1 to 63 characters of A-Z a-z 0-9 . _ -\n"
               "  --role ROLE    admin, analyst, reviewer, rider or merchant\n"
               "  --scope SCOPE  comma-separated: * (admin, the default for admin),\n"
               "                 country:CC and city:ID (analyst, reviewer), rider:ID\n"
               "                 (rider), merchant:ID (merchant)\n"
               "  --db PATH      the store (else $FULCRUM_DB, else ./fulcrum.db)\n"
               "  --format F     list: table (default), csv or json\n"
               "  -h, --help     this help\n");
}

/* "YYYY-MM-DDTHH:MM:SSZ" of instant t into buf, "" for 0. */
static void format_instant(int64_t t, char *buf, size_t cap) {
    buf[0] = '\0';
    if (t == 0) {
        return;
    }
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) != NULL) {
        strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
}

static int cmd_create(int argc, char **argv) {
    const char *db = NULL, *name = NULL, *role_text = NULL, *scope = NULL;
    const fc_cli_optdef defs[] = {
        {"--db", &db}, {"--name", &name}, {"--role", &role_text}, {"--scope", &scope}};
    fc_out_format fmt;
    int parsed = fc_cli_parse_opts("token create", argc, argv, defs, sizeof defs / sizeof defs[0],
                                   usage, &fmt);
    if (parsed != FC_EXIT_OK) {
        return parsed < 0 ? FC_EXIT_OK : parsed;
    }
    if (!fc_auth_name_valid(name)) {
        fprintf(stderr, "fulcrum token create: --name: 1 to %d characters of A-Z a-z 0-9 . _ -\n",
                FC_AUTH_NAME_MAX - 1);
        return FC_EXIT_USAGE;
    }
    fc_role role = fc_role_from(role_text);
    if (role == FC_ROLE_NONE) {
        fprintf(stderr, "fulcrum token create: --role: admin, analyst, reviewer, rider or "
                        "merchant\n");
        return FC_EXIT_USAGE;
    }
    if (scope == NULL && role == FC_ROLE_ADMIN) {
        scope = "*";
    }
    fc_err err;
    fc_err_clear(&err);
    fc_principal p;
    if (fc_auth_parse_scope(role, scope, &p, &err) != FC_OK) {
        fprintf(stderr, "fulcrum token create: --scope: %s\n", err.msg);
        return FC_EXIT_USAGE;
    }
    char token[FC_AUTH_TOKEN_LEN + 1];
    uint8_t hash[FC_AUTH_HASH_BYTES];
    if (fc_auth_token_new(token, hash) != FC_OK) {
        fprintf(stderr, "fulcrum token create: the random source is not available\n");
        return FC_EXIT_INTERNAL;
    }
    fc_token t;
    memset(&t, 0, sizeof t);
    snprintf(t.name, sizeof t.name, "%s", name);
    snprintf(t.role, sizeof t.role, "%s", fc_role_name(role));
    snprintf(t.scope, sizeof t.scope, "%s", scope);
    t.created_at = (int64_t)time(NULL);
    fc_store *s = NULL;
    int rc = FC_EXIT_OK;
    if (fc_store_open(fc_cli_db_path(db), &s, &err) != FC_OK ||
        fc_store_token_create(s, &t, hash, NULL, &err) != FC_OK) {
        rc = err.code == FC_EDUP ? FC_EXIT_USAGE : fc_cli_exit_for(err.code);
        fprintf(stderr, "fulcrum token create: %s\n", err.msg);
        goto out;
    }
    printf("%s\n", token);
    fprintf(stderr,
            "token '%s' (%s, %s) created. It is shown only this once: keep it now; the store "
            "keeps only its hash.\n",
            t.name, t.role, t.scope);
out:
    sodium_memzero(token, sizeof token);
    fc_store_close(s);
    return rc;
}

static int cmd_list(int argc, char **argv) {
    const char *db = NULL;
    const fc_cli_optdef defs[] = {{"--db", &db}};
    fc_out_format fmt;
    int parsed = fc_cli_parse_opts("token list", argc, argv, defs, sizeof defs / sizeof defs[0],
                                   usage, &fmt);
    if (parsed != FC_EXIT_OK) {
        return parsed < 0 ? FC_EXIT_OK : parsed;
    }
    static const char *const names[] = {"name", "role", "scope", "created", "last_used", "revoked"};
    fc_err err;
    fc_err_clear(&err);
    fc_store *s = NULL;
    fc_token *rows = NULL;
    size_t n = 0;
    fc_table *tbl = NULL;
    int rc = FC_EXIT_OK;
    if (fc_store_open(fc_cli_db_path(db), &s, &err) != FC_OK ||
        fc_store_token_list(s, &rows, &n, &err) != FC_OK) {
        rc = fc_cli_fail("token list", &err);
        goto out;
    }
    tbl = fc_table_new(sizeof names / sizeof names[0], names, NULL);
    if (tbl == NULL) {
        rc = FC_EXIT_INTERNAL;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        char created[32], used[32], revoked[32];
        format_instant(rows[i].created_at, created, sizeof created);
        format_instant(rows[i].last_used_at, used, sizeof used);
        format_instant(rows[i].revoked_at, revoked, sizeof revoked);
        const char *cells[] = {rows[i].name, rows[i].role, rows[i].scope, created, used, revoked};
        if (fc_table_add(tbl, cells) != FC_OK) {
            rc = FC_EXIT_INTERNAL;
            goto out;
        }
    }
    fc_table_print(tbl, fmt, stdout);
out:
    fc_table_free(tbl);
    fc_free(rows);
    fc_store_close(s);
    return rc;
}

static int cmd_revoke(int argc, char **argv) {
    const char *db = NULL, *name = NULL;
    /* The name comes first: "revoke NAME --db PATH". */
    if (argc >= 2 && argv[1][0] != '-') {
        name = argv[1];
        argc--;
        argv++;
    }
    const fc_cli_optdef defs[] = {{"--db", &db}, {"--name", &name}};
    fc_out_format fmt;
    int parsed = fc_cli_parse_opts("token revoke", argc, argv, defs, sizeof defs / sizeof defs[0],
                                   usage, &fmt);
    if (parsed != FC_EXIT_OK) {
        return parsed < 0 ? FC_EXIT_OK : parsed;
    }
    if (name == NULL || name[0] == '\0') {
        fprintf(stderr, "fulcrum token revoke: name the token to revoke\n");
        return FC_EXIT_USAGE;
    }
    fc_err err;
    fc_err_clear(&err);
    fc_store *s = NULL;
    int rc = FC_EXIT_OK;
    if (fc_store_open(fc_cli_db_path(db), &s, &err) != FC_OK ||
        fc_store_token_revoke(s, name, (int64_t)time(NULL), &err) != FC_OK) {
        rc = err.code == FC_ENOTFOUND ? FC_EXIT_USAGE : fc_cli_exit_for(err.code);
        fprintf(stderr, "fulcrum token revoke: %s\n", err.msg);
        goto out;
    }
    fprintf(stderr, "token '%s' revoked\n", name);
out:
    fc_store_close(s);
    return rc;
}

int fc_cmd_token(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? FC_EXIT_USAGE : FC_EXIT_OK;
    }
    if (strcmp(argv[1], "create") == 0) {
        return cmd_create(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "list") == 0) {
        return cmd_list(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "revoke") == 0) {
        return cmd_revoke(argc - 1, argv + 1);
    }
    fprintf(stderr, "fulcrum token: unknown subcommand '%s' (create, list, revoke)\n", argv[1]);
    return FC_EXIT_USAGE;
}
