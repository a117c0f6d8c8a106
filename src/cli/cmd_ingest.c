/*
 * fulcrum ingest: append events, one-row-per-order exports and reference
 * files to the store (docs/ingest.md).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <time.h>

#include "adjudicate/adjudicate.h"
#include "cli/cli.h"
#include "ingest/ingest.h"
#include "store/store.h"

#define PEEK_BYTES 65536

static void help(FILE *f) {
    fprintf(f, "usage: fulcrum ingest [options] FILE...\n"
               "\n"
               "Append files to the store: JSON Lines events, one-row-per-order CSV exports\n"
               "(through a column mapping) and reference CSV files (cities, zones, merchants,\n"
               "riders). FILE may be '-' for stdin. Reference files are ingested first,\n"
               "whatever their place on the command line. A file already ingested is skipped;\n"
               "an interrupted one is resumed. After each file, the closed orders it touched\n"
               "are judged and the decisions recorded, as 'fulcrum judge' does.\n"
               "\n"
               "options:\n"
               "  --db PATH           the store (default $FULCRUM_DB, else ./fulcrum.db)\n"
               "  --mapping FILE|NAME column mapping for order exports (a YAML file or a preset\n"
               "                      such as fulcrum-orders, meituan-tsl-2024); without it the\n"
               "                      kind of each file is detected\n"
               "  --rejects PATH      write every file's rejected rows to PATH (default: next\n"
               "                      to each input, FILE.rejects.csv; stdin.rejects.csv for -)\n"
               "  --max-errors N      stop a file at its Nth rejected row, 0 the same as 1 (the\n"
               "                      rows before it stay)\n"
               "  --batch N           rows per transaction (default 50000)\n"
               "  --policies DIR      the policy pack closed orders are judged under (default:\n"
               "                      the shipped policies/)\n"
               "  --no-judge          do not judge the closed orders the files touched\n"
               "  --quiet             no summary lines\n"
               "  --help              this text\n"
               "\n"
               "exit status: 0 every row accepted (duplicates are fine), 1 usage error,\n"
               "2 some rows rejected, 3 storage or internal error.\n");
}

static int usage_error(const char *fmt, const char *arg) {
    fprintf(stderr, "fulcrum ingest: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nRun 'fulcrum ingest --help' for the options.\n");
    return FC_EXIT_USAGE;
}

/* Parse a non-negative integer option value. */
static int parse_count(const char *s, long *out) {
    int64_t v = 0;
    if (fc_parse_i64(fc_str_c(s), &v) != FC_OK || v < 0 || v > 1000000000000LL) {
        return -1;
    }
    *out = (long)v;
    return 0;
}

/* Sort rank of a file: reference files first, in dependency order. Only the
 * file's head is read; stdin and undetectable files rank last. */
static int file_rank(const char *path) {
    if (strcmp(path, "-") == 0) {
        return 4;
    }
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return 4;
    }
    char *buf = malloc(PEEK_BYTES);
    int rank = 4;
    if (buf == NULL) {
        fclose(f);
        return rank;
    }
    size_t n = fread(buf, 1, PEEK_BYTES, f);
    fclose(f);
    /* Only whole lines, so the reader sees a header and complete rows. */
    while (n > 0 && buf[n - 1] != '\n') {
        n--;
    }
    fc_reader *rd = NULL;
    fc_err err;
    if (n > 0 && fc_reader_open(path, buf, n, NULL, NULL, &rd, &err) == FC_OK) {
        switch (fc_reader_kind(rd)) {
        case FC_INPUT_CITIES:
            rank = 0;
            break;
        case FC_INPUT_ZONES:
            rank = 1;
            break;
        case FC_INPUT_MERCHANTS:
            rank = 2;
            break;
        case FC_INPUT_RIDERS:
            rank = 3;
            break;
        default:
            rank = 4;
            break;
        }
    }
    fc_reader_free(rd);
    free(buf);
    return rank;
}

/* The orders an ingest touched, each once. Filled on the ingest's writer
 * thread, read on this one once fc_ingest_file has returned. */
typedef struct touched {
    fc_dict *orders;
    int64_t calls; /* records stored that name an order */
} touched;

static int on_order(void *ud, fc_str order) {
    touched *t = ud;
    t->calls++;
    return fc_dict_intern(t->orders, order) < 0 ? FC_ENOMEM : 0;
}

/* Judge the closed orders among those touched and print one line. With
 * `all` (the file stored records that name no order: weather, platform
 * incidents, which change the facts of every order of their window), every
 * closed order is judged again. Returns an exit status. */
static int judge_touched(fc_store *s, const char *policies, fc_policy_pack **pack, touched *t,
                         int all, int quiet) {
    uint32_t n = fc_dict_count(t->orders);
    if (n == 0 && !all) {
        return FC_EXIT_OK;
    }
    fc_err err;
    fc_err_clear(&err);
    if (*pack == NULL) {
        const char *dir = policies != NULL ? policies : fc_policy_dir();
        if (fc_policy_pack_load(dir, pack, &err) != FC_OK) {
            fprintf(stderr, "fulcrum ingest: judging: policies %s:\n", dir);
            fc_cli_fail("ingest", &err);
            return FC_EXIT_USAGE;
        }
    }
    fc_str *ids = fc_malloc(((size_t)n + 1) * sizeof *ids);
    if (ids == NULL) {
        fprintf(stderr, "fulcrum ingest: out of memory judging\n");
        return FC_EXIT_INTERNAL;
    }
    for (uint32_t i = 0; i < n; i++) {
        ids[i] = fc_dict_get(t->orders, i);
    }
    fc_adj_opts o;
    fc_adj_opts_init(&o);
    o.pack = *pack;
    o.now = (int64_t)time(NULL);
    fc_adj_stats st;
    int rc = all ? fc_adj_run(s, &o, &st, &err) : fc_adj_run_orders(s, &o, ids, n, &st, &err);
    fc_free(ids);
    if (rc != FC_OK) {
        return fc_cli_fail("ingest", &err);
    }
    if (!quiet) {
        printf("judged %lld closed orders: %lld decisions, %lld new\n", (long long)st.orders,
               (long long)st.decisions, (long long)st.recorded);
    }
    return FC_EXIT_OK;
}

int fc_cmd_ingest(int argc, char **argv) {
    const char *db_flag = NULL;
    const char *mapping = NULL;
    const char *rejects = NULL;
    long max_errors = -1;
    long batch = 0;
    int quiet = 0;
    int no_judge = 0;
    const char *policies = NULL;
    fc_policy_pack *pack = NULL;
    touched seen = {NULL};
    const char **files = NULL;
    int *ranks = NULL;
    size_t nfiles = 0;
    fc_store *s = NULL;
    int status = FC_EXIT_OK;

    files = calloc((size_t)argc + 1, sizeof *files);
    ranks = calloc((size_t)argc + 1, sizeof *ranks);
    if (files == NULL || ranks == NULL) {
        fprintf(stderr, "fulcrum ingest: out of memory\n");
        status = FC_EXIT_INTERNAL;
        goto out;
    }
    int only_files = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (only_files || a[0] != '-' || strcmp(a, "-") == 0) {
            files[nfiles++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_files = 1;
            continue;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            help(stdout);
            goto out;
        }
        if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
            quiet = 1;
            continue;
        }
        if (strcmp(a, "--no-judge") == 0) {
            no_judge = 1;
            continue;
        }
        const char *eq = strchr(a, '=');
        size_t name_len = eq != NULL ? (size_t)(eq - a) : strlen(a);
        const char *val = eq != NULL ? eq + 1 : (i + 1 < argc ? argv[i + 1] : NULL);
        const char *const valued[] = {"--db",         "--mapping", "--rejects",
                                      "--max-errors", "--batch",   "--policies"};
        int which = -1;
        for (int k = 0; k < 6; k++) {
            if (strlen(valued[k]) == name_len && strncmp(a, valued[k], name_len) == 0) {
                which = k;
            }
        }
        if (which < 0) {
            status = usage_error("unknown option '%s'", a);
            goto out;
        }
        if (val == NULL) {
            status = usage_error("option '%s' needs a value", a);
            goto out;
        }
        if (eq == NULL) {
            i++;
        }
        switch (which) {
        case 0:
            db_flag = val;
            break;
        case 1:
            mapping = val;
            break;
        case 2:
            rejects = val;
            break;
        case 5:
            policies = val;
            break;
        case 3:
            if (parse_count(val, &max_errors) != 0) {
                status = usage_error("--max-errors needs a count, not '%s'", val);
                goto out;
            }
            break;
        default:
            if (parse_count(val, &batch) != 0 || batch == 0) {
                status = usage_error("--batch needs a positive count, not '%s'", val);
                goto out;
            }
            break;
        }
    }
    if (nfiles == 0) {
        status = usage_error("%s", "no input files (use '-' for stdin)");
        goto out;
    }
    size_t n_stdin = 0;
    for (size_t i = 0; i < nfiles; i++) {
        if (strcmp(files[i], "-") == 0) {
            n_stdin++;
        } else if (access(files[i], R_OK) != 0) {
            fprintf(stderr, "fulcrum ingest: %s: cannot read: %s\n", files[i], strerror(errno));
            status = FC_EXIT_USAGE;
            goto out;
        }
    }
    if (n_stdin > 1) {
        status = usage_error("%s", "'-' (stdin) may be given once");
        goto out;
    }

    /* Reference files first (stable: the rest keep their order). */
    for (size_t i = 0; i < nfiles; i++) {
        ranks[i] = file_rank(files[i]);
    }
    for (size_t i = 1; i < nfiles; i++) {
        for (size_t j = i; j > 0 && ranks[j - 1] > ranks[j]; j--) {
            int r = ranks[j];
            ranks[j] = ranks[j - 1];
            ranks[j - 1] = r;
            const char *f = files[j];
            files[j] = files[j - 1];
            files[j - 1] = f;
        }
    }

    fc_err err;
    fc_err_clear(&err);
    const char *db = fc_cli_db_path(db_flag);
    if (fc_store_open(db, &s, &err) != FC_OK) {
        status = fc_cli_fail("ingest", &err);
        goto out;
    }
    if (rejects != NULL) {
        /* One reject file for the whole call: start it empty. */
        FILE *f = fopen(rejects, "w");
        if (f == NULL) {
            fprintf(stderr, "fulcrum ingest: %s: cannot write: %s\n", rejects, strerror(errno));
            status = FC_EXIT_USAGE;
            goto out;
        }
        fclose(f);
    }

    fc_ingest_opts opts;
    memset(&opts, 0, sizeof opts);
    opts.reject_path = rejects;
    opts.max_errors = max_errors;
    opts.progress = !quiet && fc_cli_stderr_tty();
    opts.batch_rows = (size_t)batch;
    opts.quiet = quiet;
    if (!no_judge) {
        opts.on_order = on_order;
        opts.on_order_ud = &seen;
    }
    for (size_t i = 0; i < nfiles; i++) {
        if (!no_judge) {
            fc_dict_free(seen.orders);
            seen.orders = fc_dict_new();
            seen.calls = 0;
            if (seen.orders == NULL) {
                fprintf(stderr, "fulcrum ingest: out of memory\n");
                status = FC_EXIT_INTERNAL;
                break;
            }
        }
        fc_ingest_log log;
        /* A mapping describes order exports; reference files keep their own
         * layouts. */
        opts.mapping = ranks[i] < 4 ? NULL : mapping;
        fc_err_clear(&err);
        int rc = fc_ingest_file(s, files[i], &opts, &log, &err);
        int file_status = FC_EXIT_OK;
        if (rc != FC_OK) {
            file_status = fc_cli_fail("ingest", &err);
            if (rc == FC_ELIMIT) {
                file_status = FC_EXIT_REJECTED;
            }
        } else if (log.rejected > 0) {
            file_status = FC_EXIT_REJECTED;
        }
        if (file_status > status) {
            status = file_status;
        }
        if (file_status == FC_EXIT_INTERNAL) {
            break; /* the store failed: do not go on with other files */
        }
        /* What the file stored is judged even when some rows were
         * rejected; a file that failed as a whole stored nothing new. */
        if (!no_judge && (rc == FC_OK || rc == FC_ELIMIT)) {
            int all = strcmp(log.kind, "events") == 0 && log.accepted > seen.calls;
            int judged = judge_touched(s, policies, &pack, &seen, all, quiet);
            if (judged > status) {
                status = judged;
            }
            if (judged != FC_EXIT_OK) {
                break;
            }
        }
    }
out:
    fc_dict_free(seen.orders);
    fc_policy_pack_free(pack);
    fc_store_close(s);
    free(files);
    free(ranks);
    return status;
}
