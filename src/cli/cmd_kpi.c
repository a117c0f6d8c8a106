/*
 * fulcrum kpi: experience KPIs on any slice of the store.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "kpi/kpi.h"
#include "order/order.h"
#include "store/store.h"

static void usage(FILE *f) {
    fprintf(f, "usage: fulcrum kpi [--db PATH] [--by DIM,...] [--where DIM=V[,V]]... [--from T]\n"
               "                   [--to T] [--kpi NAME,...|all] [--settings FILE]\n"
               "                   [--format table|csv|json]\n\n"
               "Experience KPIs per group of the orders in the store.\n\n"
               "  --by DIM,...       group by these dimensions (default: city)\n"
               "  --where DIM=V,...  keep orders whose DIM is one of the values; repeat to AND\n"
               "  --from T, --to T   creation window: an instant with offset (from inclusive,\n"
               "                     to exclusive) or a date YYYY-MM-DD, the city's local day\n"
               "                     (both inclusive)\n"
               "  --kpi NAME,...     KPIs to print (default: the main ones; 'all' for every one)\n"
               "  --settings FILE    thresholds file (default: built-in settings)\n"
               "  --format F         table (default), csv or json\n\n"
               "dimensions:\n ");
    for (int d = 0; d < FC_DIM__COUNT; d++) {
        fprintf(f, " %s", fc_dim_name((fc_dim)d));
    }
    fprintf(f, "\n\nKPIs (* = shown by default; rates in percent; docs/kpis.md):\n");
    for (size_t k = 0; k < fc_kpi_count(); k++) {
        const fc_kpi_def *def = fc_kpi_at(k);
        fprintf(f, "  %c %-21s %s\n", def->main ? '*' : ' ', def->name, def->definition);
    }
}

typedef struct kpi_args {
    const char *db;
    const char *settings;
    fc_out_format format;
    fc_kpi_request req;
} kpi_args;

/* The value of option `name` at argv[*i] ("--name V" or "--name=V"), or NULL
 * when argv[*i] is not that option. *missing is set when the value is absent. */
static const char *opt_value(int argc, char **argv, int *i, const char *name, int *missing) {
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0) {
        return NULL;
    }
    if (a[n] == '=') {
        return a + n + 1;
    }
    if (a[n] != '\0') {
        return NULL;
    }
    if (*i + 1 >= argc) {
        *missing = 1;
        return NULL;
    }
    (*i)++;
    return argv[*i];
}

/* The exit status of a request setter's result, the reason printed. */
static int usage_error(int rc, const char *opt, const fc_err *err) {
    if (rc == FC_OK) {
        return FC_EXIT_OK;
    }
    if (rc == FC_ENOMEM) {
        fprintf(stderr, "fulcrum kpi: out of memory\n");
        return FC_EXIT_INTERNAL;
    }
    fprintf(stderr, "fulcrum kpi: %s: %s (see --help)\n", opt, err->msg);
    return FC_EXIT_USAGE;
}

/* Print the cube as a table: group labels, the currency when a money KPI is
 * shown, then the KPIs. */
static int print_cube(const fc_facts *t, const fc_cube *c, const fc_cube_query *q,
                      const size_t *kpis, size_t n_kpis, fc_out_format fmt, FILE *f) {
    int money = 0;
    for (size_t k = 0; k < n_kpis; k++) {
        money |= fc_kpi_at(kpis[k])->money;
    }
    size_t ncols = q->n_by + (size_t)money + n_kpis;
    const char *names[FC_DIM__COUNT + 1 + 64];
    int numeric[FC_DIM__COUNT + 1 + 64];
    size_t col = 0;
    for (size_t j = 0; j < q->n_by; j++) {
        names[col] = fc_dim_name(q->by[j]);
        numeric[col++] = 0;
    }
    if (money) {
        names[col] = "currency";
        numeric[col++] = 0;
    }
    for (size_t k = 0; k < n_kpis; k++) {
        names[col] = fc_kpi_at(kpis[k])->name;
        numeric[col++] = 1;
    }
    fc_table *tab = fc_table_new(ncols, names, numeric);
    if (tab == NULL) {
        fprintf(stderr, "fulcrum kpi: out of memory\n");
        return FC_EXIT_INTERNAL;
    }
    char cells[FC_DIM__COUNT + 1 + 64][128];
    const char *row[FC_DIM__COUNT + 1 + 64];
    size_t mixed = 0;
    size_t n_groups = fc_cube_groups(c);
    size_t *order = fc_kpi_display_order(t, c, q);
    if (order == NULL) {
        fc_table_free(tab);
        fprintf(stderr, "fulcrum kpi: out of memory\n");
        return FC_EXIT_INTERNAL;
    }
    for (size_t i = 0; i < n_groups || (n_groups == 0 && i == 0 && q->n_by == 0); i++) {
        size_t g = n_groups == 0 ? 0 : order[i];
        const fc_kpi_counts *cnt = n_groups == 0 ? fc_cube_total(c) : fc_cube_counts(c, g);
        col = 0;
        for (size_t j = 0; j < q->n_by; j++) {
            fc_facts_label(t, q->by[j], fc_cube_key(c, g, j), cells[col], sizeof cells[col]);
            col++;
        }
        if (money) {
            int cur = fc_kpi_currency(cnt);
            snprintf(cells[col], sizeof cells[col], "%s",
                     cur >= 0    ? fc_facts_currency(t, (uint32_t)cur)
                     : cur == -2 ? "mixed"
                                 : "");
            mixed += cur == -2;
            col++;
        }
        for (size_t k = 0; k < n_kpis; k++) {
            fc_kpi_format(t, cnt, kpis[k], cells[col], sizeof cells[col]);
            col++;
        }
        for (size_t x = 0; x < ncols; x++) {
            row[x] = cells[x];
        }
        if (fc_table_add(tab, row) != FC_OK) {
            free(order);
            fc_table_free(tab);
            fprintf(stderr, "fulcrum kpi: out of memory\n");
            return FC_EXIT_INTERNAL;
        }
    }
    free(order);
    fc_table_print(tab, fmt, f);
    fc_table_free(tab);
    if (mixed > 0) {
        fprintf(stderr,
                "fulcrum kpi: money KPIs left empty on %zu row%s mixing currencies; "
                "group by country or city to compare amounts\n",
                mixed, mixed == 1 ? "" : "s");
    }
    if (n_groups == 0 && q->n_by > 0) {
        fprintf(stderr, "fulcrum kpi: no orders match\n");
    }
    return FC_EXIT_OK;
}

/* Load the fact table of the store at db_path. */
static int load(const char *db_path, const char *settings_path, fc_facts **t) {
    fc_err err;
    fc_err_clear(&err);
    fc_store *s = NULL;
    fc_settings *settings = NULL;
    int rc = FC_EXIT_OK;
    if (settings_path != NULL) {
        if (fc_settings_load(settings_path, &settings, &err) != FC_OK) {
            rc = fc_cli_fail("kpi", &err);
            goto out;
        }
    }
    if (fc_store_open(db_path, &s, &err) != FC_OK) {
        rc = fc_cli_fail("kpi", &err);
        goto out;
    }
    if (fc_facts_load_store(s, settings, t, NULL, &err) != FC_OK) {
        rc = fc_cli_fail("kpi", &err);
        goto out;
    }
out:
    fc_store_close(s);
    fc_settings_free(settings);
    return rc;
}

int fc_cli_kpi_overview(const char *db_path, FILE *out) {
    fc_facts *t = NULL;
    fc_cube *c = NULL;
    fc_err err;
    fc_err_clear(&err);
    int rc = load(db_path, NULL, &t);
    if (rc != FC_EXIT_OK) {
        goto out;
    }
    fc_cube_query q;
    fc_cube_query_init(&q);
    q.n_by = 2;
    q.by[0] = FC_DIM_COUNTRY;
    q.by[1] = FC_DIM_CITY;
    if (fc_cube_build(t, &q, &c, &err) != FC_OK) {
        rc = fc_cli_fail("kpi", &err);
        goto out;
    }
    size_t kpis[64];
    size_t n = 0;
    for (size_t k = 0; k < fc_kpi_count(); k++) {
        if (fc_kpi_at(k)->main) {
            kpis[n++] = k;
        }
    }
    rc = print_cube(t, c, &q, kpis, n, FC_OUT_TABLE, out);
out:
    fc_cube_free(c);
    fc_facts_free(t);
    return rc;
}

int fc_cmd_kpi(int argc, char **argv) {
    kpi_args *a = calloc(1, sizeof *a);
    fc_facts *t = NULL;
    fc_cube *c = NULL;
    fc_err err;
    fc_err_clear(&err);
    int rc = FC_EXIT_OK;
    if (a == NULL) {
        fprintf(stderr, "fulcrum kpi: out of memory\n");
        return FC_EXIT_INTERNAL;
    }
    fc_kpi_request_init(&a->req);
    for (int i = 1; i < argc; i++) {
        int missing = 0;
        const char *v;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            goto out;
        } else if ((v = opt_value(argc, argv, &i, "--db", &missing)) != NULL) {
            a->db = v;
        } else if ((v = opt_value(argc, argv, &i, "--settings", &missing)) != NULL) {
            a->settings = v;
        } else if ((v = opt_value(argc, argv, &i, "--by", &missing)) != NULL) {
            rc = usage_error(fc_kpi_request_by(&a->req, v, &err), "--by", &err);
        } else if ((v = opt_value(argc, argv, &i, "--where", &missing)) != NULL) {
            rc = usage_error(fc_kpi_request_where(&a->req, v, &err), "--where", &err);
        } else if ((v = opt_value(argc, argv, &i, "--kpi", &missing)) != NULL) {
            rc = usage_error(fc_kpi_request_kpis(&a->req, v, &err), "--kpi", &err);
        } else if ((v = opt_value(argc, argv, &i, "--from", &missing)) != NULL) {
            rc = usage_error(fc_kpi_request_when(&a->req, v, 1, &err), "--from", &err);
        } else if ((v = opt_value(argc, argv, &i, "--to", &missing)) != NULL) {
            rc = usage_error(fc_kpi_request_when(&a->req, v, 0, &err), "--to", &err);
        } else if ((v = opt_value(argc, argv, &i, "--format", &missing)) != NULL) {
            int fmt = fc_out_format_from(v);
            if (fmt < 0) {
                fprintf(stderr, "fulcrum kpi: --format: '%s' is not table, csv or json\n", v);
                rc = FC_EXIT_USAGE;
            } else {
                a->format = (fc_out_format)fmt;
            }
        } else {
            fprintf(stderr, "fulcrum kpi: %s '%s'\n\n",
                    missing ? "missing value for" : "unknown option", argv[i]);
            usage(stderr);
            rc = FC_EXIT_USAGE;
        }
        if (rc != FC_EXIT_OK) {
            goto out;
        }
    }
    rc = load(fc_cli_db_path(a->db), a->settings, &t);
    if (rc != FC_EXIT_OK) {
        goto out;
    }
    if (fc_cube_build(t, &a->req.q, &c, &err) != FC_OK) {
        rc = fc_cli_fail("kpi", &err);
        goto out;
    }
    rc = print_cube(t, c, &a->req.q, a->req.kpis, a->req.n_kpis, a->format, stdout);
out:
    fc_cube_free(c);
    fc_facts_free(t);
    fc_kpi_request_free(&a->req);
    free(a);
    return rc;
}
