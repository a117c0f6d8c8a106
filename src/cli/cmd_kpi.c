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

#define MAX_FILTERS 32
#define MAX_VALUES  256

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

/* Split "a,b,c" in place into parts (views into s). Returns the count or -1
 * when there are more than max. */
static int split(char *s, char **parts, int max) {
    int n = 0;
    char *p = s;
    while (1) {
        char *comma = strchr(p, ',');
        if (n == max) {
            return -1;
        }
        parts[n++] = p;
        if (comma == NULL) {
            break;
        }
        *comma = '\0';
        p = comma + 1;
    }
    return n;
}

typedef struct kpi_args {
    const char *db;
    const char *settings;
    fc_out_format format;
    fc_cube_query q;
    fc_kpi_filter filters[MAX_FILTERS];
    char *values[MAX_FILTERS][MAX_VALUES];
    size_t kpis[64];
    size_t n_kpis;
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

static int set_by(kpi_args *a, char *list) {
    char *parts[FC_DIM__COUNT + 1];
    int n = split(list, parts, FC_DIM__COUNT);
    if (n < 0) {
        fprintf(stderr, "fulcrum kpi: --by: too many dimensions\n");
        return FC_EXIT_USAGE;
    }
    a->q.n_by = 0;
    for (int k = 0; k < n; k++) {
        if (parts[k][0] == '\0') {
            continue;
        }
        int d = fc_dim_from(fc_str_c(parts[k]));
        if (d < 0) {
            fprintf(stderr, "fulcrum kpi: --by: unknown dimension '%s' (see --help)\n", parts[k]);
            return FC_EXIT_USAGE;
        }
        a->q.by[a->q.n_by++] = (fc_dim)d;
    }
    return FC_EXIT_OK;
}

static int add_where(kpi_args *a, char *spec) {
    if (a->q.n_filters == MAX_FILTERS) {
        fprintf(stderr, "fulcrum kpi: --where: at most %d filters\n", MAX_FILTERS);
        return FC_EXIT_USAGE;
    }
    char *eq = strchr(spec, '=');
    if (eq == NULL || eq == spec || eq[1] == '\0') {
        fprintf(stderr, "fulcrum kpi: --where wants DIM=VALUE[,VALUE], got '%s'\n", spec);
        return FC_EXIT_USAGE;
    }
    *eq = '\0';
    int d = fc_dim_from(fc_str_c(spec));
    if (d < 0) {
        fprintf(stderr, "fulcrum kpi: --where: unknown dimension '%s' (see --help)\n", spec);
        return FC_EXIT_USAGE;
    }
    size_t k = a->q.n_filters;
    int n = split(eq + 1, a->values[k], MAX_VALUES);
    if (n < 0) {
        fprintf(stderr, "fulcrum kpi: --where: at most %d values\n", MAX_VALUES);
        return FC_EXIT_USAGE;
    }
    a->filters[k].dim = (fc_dim)d;
    a->filters[k].values = (const char *const *)a->values[k];
    a->filters[k].n_values = (size_t)n;
    a->q.n_filters++;
    a->q.filters = a->filters;
    return FC_EXIT_OK;
}

static int set_kpis(kpi_args *a, char *list) {
    a->n_kpis = 0;
    if (strcmp(list, "all") == 0) {
        for (size_t k = 0; k < fc_kpi_count(); k++) {
            a->kpis[a->n_kpis++] = k;
        }
        return FC_EXIT_OK;
    }
    char *parts[64];
    int n = split(list, parts, 64);
    if (n < 0) {
        fprintf(stderr, "fulcrum kpi: --kpi: too many KPIs\n");
        return FC_EXIT_USAGE;
    }
    for (int i = 0; i < n; i++) {
        int k = fc_kpi_find(fc_str_c(parts[i]));
        if (k < 0) {
            fprintf(stderr, "fulcrum kpi: --kpi: unknown KPI '%s' (see --help)\n", parts[i]);
            return FC_EXIT_USAGE;
        }
        a->kpis[a->n_kpis++] = (size_t)k;
    }
    return FC_EXIT_OK;
}

static int set_when(kpi_args *a, const char *v, int is_from) {
    int64_t ts;
    int32_t date;
    fc_err err;
    fc_err_clear(&err);
    if (fc_kpi_parse_when(v, &ts, &date, &err) != FC_OK) {
        fprintf(stderr, "fulcrum kpi: %s: %s\n", is_from ? "--from" : "--to", err.msg);
        return FC_EXIT_USAGE;
    }
    if (is_from) {
        a->q.from = ts;
        a->q.from_date = date;
    } else {
        a->q.to = ts;
        a->q.to_date = date;
    }
    return FC_EXIT_OK;
}

static void default_kpis(kpi_args *a) {
    a->n_kpis = 0;
    for (size_t k = 0; k < fc_kpi_count(); k++) {
        if (fc_kpi_at(k)->main) {
            a->kpis[a->n_kpis++] = k;
        }
    }
}

/* Rows are printed in the order of their group values: words (cities,
 * zones, merchants...) alphabetically, hours, dates, weekdays, dayparts and
 * levels in their natural order; never in the order the store happened to
 * hold them. */
static int dim_sorts_by_label(fc_dim d) {
    switch (d) {
    case FC_DIM_HOUR:
    case FC_DIM_DAYPART:
    case FC_DIM_DATE:
    case FC_DIM_WEEKDAY:
    case FC_DIM_WEATHER:
    case FC_DIM_STATUS:
        return 0;
    default:
        return 1;
    }
}

#define SORT_LABEL_MAX 96

typedef struct sort_row {
    size_t g;
    const fc_cube_query *q;
    const fc_cube *c;
    char (*labels)[SORT_LABEL_MAX]; /* q->n_by labels */
} sort_row;

static int cmp_rows(const void *pa, const void *pb) {
    const sort_row *a = pa, *b = pb;
    for (size_t j = 0; j < a->q->n_by; j++) {
        int r;
        if (dim_sorts_by_label(a->q->by[j])) {
            r = strcmp(a->labels[j], b->labels[j]);
        } else {
            uint32_t x = fc_cube_key(a->c, a->g, j), y = fc_cube_key(b->c, b->g, j);
            r = x < y ? -1 : x > y;
        }
        if (r != 0) {
            return r;
        }
    }
    return a->g < b->g ? -1 : a->g > b->g;
}

/* Group indices of c in display order (caller frees); NULL on OOM. */
static size_t *display_order(const fc_facts *t, const fc_cube *c, const fc_cube_query *q) {
    size_t n = fc_cube_groups(c);
    size_t *order = malloc((n > 0 ? n : 1) * sizeof *order);
    sort_row *rows = malloc((n > 0 ? n : 1) * sizeof *rows);
    char(*labels)[SORT_LABEL_MAX] = malloc((n * q->n_by > 0 ? n * q->n_by : 1) * sizeof *labels);
    if (order == NULL || rows == NULL || labels == NULL) {
        free(order);
        free(rows);
        free(labels);
        return NULL;
    }
    for (size_t g = 0; g < n; g++) {
        rows[g].g = g;
        rows[g].q = q;
        rows[g].c = c;
        rows[g].labels = labels + g * q->n_by;
        for (size_t j = 0; j < q->n_by; j++) {
            fc_facts_label(t, q->by[j], fc_cube_key(c, g, j), rows[g].labels[j], SORT_LABEL_MAX);
        }
    }
    qsort(rows, n, sizeof *rows, cmp_rows);
    for (size_t g = 0; g < n; g++) {
        order[g] = rows[g].g;
    }
    free(rows);
    free(labels);
    return order;
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
    size_t *order = display_order(t, c, q);
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
    fc_cube_query_init(&a->q);
    a->q.n_by = 1;
    a->q.by[0] = FC_DIM_CITY;
    default_kpis(a);
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
            rc = set_by(a, (char *)v);
        } else if ((v = opt_value(argc, argv, &i, "--where", &missing)) != NULL) {
            rc = add_where(a, (char *)v);
        } else if ((v = opt_value(argc, argv, &i, "--kpi", &missing)) != NULL) {
            rc = set_kpis(a, (char *)v);
        } else if ((v = opt_value(argc, argv, &i, "--from", &missing)) != NULL) {
            rc = set_when(a, v, 1);
        } else if ((v = opt_value(argc, argv, &i, "--to", &missing)) != NULL) {
            rc = set_when(a, v, 0);
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
    if (fc_cube_build(t, &a->q, &c, &err) != FC_OK) {
        rc = fc_cli_fail("kpi", &err);
        goto out;
    }
    rc = print_cube(t, c, &a->q, a->kpis, a->n_kpis, a->format, stdout);
out:
    fc_cube_free(c);
    fc_facts_free(t);
    free(a);
    return rc;
}
