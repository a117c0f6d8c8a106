/*
 * kpi query: cube queries and KPI lists from text, and the display order
 * of a cube's groups.
 */
#include "kpi/kpi.h"

#include <stdlib.h>
#include <string.h>

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

void fc_kpi_request_init(fc_kpi_request *r) {
    memset(r, 0, sizeof *r);
    fc_cube_query_init(&r->q);
    r->q.n_by = 1;
    r->q.by[0] = FC_DIM_CITY;
    for (size_t k = 0; k < fc_kpi_count() && r->n_kpis < FC_KPI_REQ_MAX_KPIS; k++) {
        if (fc_kpi_at(k)->main) {
            r->kpis[r->n_kpis++] = k;
        }
    }
}

void fc_kpi_request_free(fc_kpi_request *r) {
    for (size_t k = 0; k < FC_KPI_REQ_MAX_FILTERS; k++) {
        fc_free(r->text[k]);
        r->text[k] = NULL;
    }
    r->q.n_filters = 0;
}

int fc_kpi_request_by(fc_kpi_request *r, const char *list, fc_err *err) {
    char *copy = fc_strdup(list);
    char *parts[FC_DIM__COUNT + 1];
    fc_dim by[FC_DIM__COUNT];
    size_t n_by = 0;
    int rc = FC_OK;
    if (copy == NULL) {
        return fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
    }
    int n = split(copy, parts, FC_DIM__COUNT);
    if (n < 0) {
        rc = fc_err_set(err, FC_EINVAL, NULL, 0, 0, "too many dimensions");
        goto out;
    }
    for (int k = 0; k < n; k++) {
        if (parts[k][0] == '\0') {
            continue;
        }
        int d = fc_dim_from(fc_str_c(parts[k]));
        if (d < 0) {
            rc = fc_err_set(err, FC_EINVAL, NULL, 0, 0, "unknown dimension '%.64s'", parts[k]);
            goto out;
        }
        by[n_by++] = (fc_dim)d;
    }
    memcpy(r->q.by, by, n_by * sizeof *by);
    r->q.n_by = n_by;
out:
    fc_free(copy);
    return rc;
}

int fc_kpi_request_where(fc_kpi_request *r, const char *spec, fc_err *err) {
    size_t k = r->q.n_filters;
    if (k == FC_KPI_REQ_MAX_FILTERS) {
        return fc_err_set(err, FC_EINVAL, NULL, 0, 0, "at most %d filters", FC_KPI_REQ_MAX_FILTERS);
    }
    const char *eq = strchr(spec, '=');
    if (eq == NULL || eq == spec || eq[1] == '\0') {
        return fc_err_set(err, FC_EINVAL, NULL, 0, 0, "wants DIM=VALUE[,VALUE], got '%.64s'", spec);
    }
    char *copy = fc_strdup(spec);
    if (copy == NULL) {
        return fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
    }
    copy[eq - spec] = '\0';
    int d = fc_dim_from(fc_str_c(copy));
    if (d < 0) {
        fc_err_set(err, FC_EINVAL, NULL, 0, 0, "unknown dimension '%.64s'", copy);
        fc_free(copy);
        return FC_EINVAL;
    }
    int n = split(copy + (eq - spec) + 1, r->values[k], FC_KPI_REQ_MAX_VALUES);
    if (n < 0) {
        fc_free(copy);
        return fc_err_set(err, FC_EINVAL, NULL, 0, 0, "at most %d values", FC_KPI_REQ_MAX_VALUES);
    }
    r->text[k] = copy;
    r->filters[k].dim = (fc_dim)d;
    r->filters[k].values = (const char *const *)r->values[k];
    r->filters[k].n_values = (size_t)n;
    r->q.n_filters = k + 1;
    r->q.filters = r->filters;
    return FC_OK;
}

int fc_kpi_request_kpis(fc_kpi_request *r, const char *list, fc_err *err) {
    size_t kpis[FC_KPI_REQ_MAX_KPIS];
    size_t n_kpis = 0;
    if (strcmp(list, "all") == 0) {
        for (size_t k = 0; k < fc_kpi_count() && n_kpis < FC_KPI_REQ_MAX_KPIS; k++) {
            kpis[n_kpis++] = k;
        }
    } else {
        char *copy = fc_strdup(list);
        char *parts[FC_KPI_REQ_MAX_KPIS];
        if (copy == NULL) {
            return fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
        }
        int n = split(copy, parts, FC_KPI_REQ_MAX_KPIS);
        if (n < 0) {
            fc_free(copy);
            return fc_err_set(err, FC_EINVAL, NULL, 0, 0, "too many KPIs");
        }
        for (int i = 0; i < n; i++) {
            int k = fc_kpi_find(fc_str_c(parts[i]));
            if (k < 0) {
                fc_err_set(err, FC_EINVAL, NULL, 0, 0, "unknown KPI '%.64s'", parts[i]);
                fc_free(copy);
                return FC_EINVAL;
            }
            kpis[n_kpis++] = (size_t)k;
        }
        fc_free(copy);
    }
    memcpy(r->kpis, kpis, n_kpis * sizeof *kpis);
    r->n_kpis = n_kpis;
    return FC_OK;
}

int fc_kpi_request_when(fc_kpi_request *r, const char *when, int is_from, fc_err *err) {
    int64_t ts;
    int32_t date;
    if (fc_kpi_parse_when(when, &ts, &date, err) != FC_OK) {
        err->code = FC_EINVAL;
        return FC_EINVAL;
    }
    if (is_from) {
        r->q.from = ts;
        r->q.from_date = date;
    } else {
        r->q.to = ts;
        r->q.to_date = date;
    }
    return FC_OK;
}

/* Words sort by label; the other dimensions by value id, their natural
 * order. */
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

size_t *fc_kpi_display_order(const fc_facts *t, const fc_cube *c, const fc_cube_query *q) {
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
