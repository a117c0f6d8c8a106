/*
 * cli: the `fulcrum` commands. Each command is `int fc_cmd_<name>(int argc,
 * char **argv)` with argv[0] the command name, returning the process exit
 * status: 0 success, 1 usage or configuration error, 2 input rejected (some
 * or all rows), 3 internal or storage error. Messages go to stderr, results
 * to stdout.
 */
#ifndef FC_CLI_H
#define FC_CLI_H

#include <stdio.h>

#include "adjudicate/adjudicate.h"
#include "core/core.h"

enum { FC_EXIT_OK = 0, FC_EXIT_USAGE = 1, FC_EXIT_REJECTED = 2, FC_EXIT_INTERNAL = 3 };

int fc_cmd_gen(int argc, char **argv);
int fc_cmd_ingest(int argc, char **argv);
int fc_cmd_kpi(int argc, char **argv);
int fc_cmd_demo(int argc, char **argv);
int fc_cmd_policy(int argc, char **argv);
int fc_cmd_appeal(int argc, char **argv);
int fc_cmd_judge(int argc, char **argv);
int fc_cmd_replay(int argc, char **argv);
int fc_cmd_report(int argc, char **argv);
int fc_cmd_serve(int argc, char **argv);
int fc_cmd_token(int argc, char **argv);

/* Print the KPI overview per country and city of the store at db_path (the
 * main KPIs, as a table) to out; returns an exit status (errors on stderr). */
int fc_cli_kpi_overview(const char *db_path, FILE *out);

/* The store path: --db value when given, else $FULCRUM_DB, else ./fulcrum.db. */
const char *fc_cli_db_path(const char *flag_value);

/* Print an error as "fulcrum <cmd>: file:line:col: reason" to stderr and
 * return the exit status that fits its code. */
int fc_cli_fail(const char *cmd, const fc_err *err);

/* "ADDR:PORT" or "[ADDR6]:PORT" (a --listen value) into addr (a buffer of
 * addrsz bytes) and *port: FC_OK or FC_EINVAL. */
int fc_cli_parse_listen(const char *s, char *addr, size_t addrsz, uint16_t *port);

/* Serve the store over HTTP with o until SIGINT or SIGTERM, then stop
 * gracefully (fc_http_stop). The stop signals are blocked before the
 * workers start, so only this thread receives them; the old mask is put
 * back before returning. When the port is taken and pick_free_port is set,
 * a free port is picked (and said on stderr). Once listening, announce(ud,
 * url) is called with url "http://ADDR:PORT" (IPv6 in brackets), then
 * stdout is flushed. Returns an exit status; errors on stderr as
 * "fulcrum <cmd>: ...". */
struct fc_http_opts;
int fc_cli_serve_until_signal(const char *cmd, struct fc_http_opts *o, int pick_free_port,
                              void (*announce)(void *ud, const char *url), void *ud);

/* Exit status for an fc_status: usage/config errors 1, input errors 2,
 * storage and internal errors 3. */
int fc_cli_exit_for(int code);

/* ---------------------------------------------------------------------------
 * Output of rows as a table (for people), CSV or JSON (for pipes).
 */
typedef enum fc_out_format { FC_OUT_TABLE = 0, FC_OUT_CSV, FC_OUT_JSON } fc_out_format;
/* Parse "table", "csv", "json"; -1 when unknown. */
int fc_out_format_from(const char *s);

typedef struct fc_table fc_table;
/* A table with `ncols` named columns; numeric columns are right-aligned in
 * table form and unquoted numbers in JSON. */
fc_table *fc_table_new(size_t ncols, const char *const *names, const int *numeric);
void fc_table_free(fc_table *t);
/* Add a row of ncols C strings (copied). An empty string in a numeric column
 * is printed as "" in tables/CSV and null in JSON. FC_OK or FC_ENOMEM. */
int fc_table_add(fc_table *t, const char *const *cells);
size_t fc_table_rows(const fc_table *t);
/* Print in the given format to f. */
void fc_table_print(const fc_table *t, fc_out_format fmt, FILE *f);

/* Is stderr a terminal (progress bars only then)? */
int fc_cli_stderr_tty(void);

/* ---------------------------------------------------------------------------
 * Options shared by commands.
 */
/* Options with a value: "--name V" or "--name=V" sets *value. */
typedef struct fc_cli_optdef {
    const char *name; /* "--db" */
    const char **value;
} fc_cli_optdef;
/* Parse argv[1..argc) against defs[0..n), and --format into *fmt (table
 * when absent). Returns FC_EXIT_OK, FC_EXIT_USAGE (an unknown argument, a
 * missing value or an unknown format: said on stderr as "fulcrum <cmd>:
 * ..."), or -1 when -h or --help was given: print_usage(stdout) was called;
 * the command ends with FC_EXIT_OK. */
int fc_cli_parse_opts(const char *cmd, int argc, char **argv, const fc_cli_optdef *defs, size_t n,
                      void (*print_usage)(FILE *f), fc_out_format *fmt);

/* A period's --from / --to text (either NULL) into instants (FC_TS_NONE
 * when absent): an instant with offset as given, a date YYYY-MM-DD the
 * local day of `city` (store s's reference data) when one is named, else
 * the UTC day; --to's day is included. Returns an exit status (errors on
 * stderr, prefixed "fulcrum <cmd>"). */
struct fc_store;
int fc_cli_period(const char *cmd, struct fc_store *s, const char *city, const char *from,
                  const char *to, int64_t *from_ts, int64_t *to_ts);

/* Judge the closed orders of store s with o (o->pack set; progress and
 * on_order are set here), print the decisions per city and liable party
 * to out in fmt and the run's counts (recorded, unchanged...) to summary.
 * Returns an exit status (errors on stderr). */
int fc_cli_judge_store(fc_store *s, fc_adj_opts *o, fc_out_format fmt, FILE *out, FILE *summary);

#endif
