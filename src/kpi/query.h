/*
 * kpi query: a cube query and a KPI list built from text (the --by, --where,
 * --from, --to and --kpi of `fulcrum kpi`, the parameters of GET /v1/kpi),
 * and the display order of a cube's groups. Shared by the CLI and the HTTP
 * server so both answer the same question the same way.
 *
 * Thread safety: a request is used by one thread; the functions are
 * re-entrant.
 */
#ifndef FC_KPI_QUERY_H
#define FC_KPI_QUERY_H

#include "kpi/kpi.h"

#define FC_KPI_REQ_MAX_FILTERS 32  /* where clauses */
#define FC_KPI_REQ_MAX_VALUES  256 /* values of one where clause */
#define FC_KPI_REQ_MAX_KPIS    64  /* KPIs asked */

/* A query from text. Owns copies of the filter values (free with
 * fc_kpi_request_free); q.filters points into it, so it is not copied by
 * value once a filter is added. */
typedef struct fc_kpi_request {
    fc_cube_query q;
    fc_kpi_filter filters[FC_KPI_REQ_MAX_FILTERS];
    char *text[FC_KPI_REQ_MAX_FILTERS]; /* owned copies of the where values */
    char *values[FC_KPI_REQ_MAX_FILTERS][FC_KPI_REQ_MAX_VALUES];
    size_t kpis[FC_KPI_REQ_MAX_KPIS]; /* catalog indices, in output order */
    size_t n_kpis;
} fc_kpi_request;

/* Defaults: grouped by city, no filter, open window, the main KPIs. */
void fc_kpi_request_init(fc_kpi_request *r);
/* Release the filter values. r may then be initialised again. */
void fc_kpi_request_free(fc_kpi_request *r);

/* Each setter returns FC_OK, or FC_EINVAL with err->msg saying why (without
 * the parameter's name, which the caller adds) and r unchanged in meaning. */

/* "city,hour": group by these dimensions, in order (empty parts skipped;
 * "" means one group, the whole selection). */
int fc_kpi_request_by(fc_kpi_request *r, const char *list, fc_err *err);
/* "city=riyadh,jeddah": add a filter, ANDed with the others. */
int fc_kpi_request_where(fc_kpi_request *r, const char *spec, fc_err *err);
/* "on_time_rate,late_rate" or "all". */
int fc_kpi_request_kpis(fc_kpi_request *r, const char *list, fc_err *err);
/* The window's start (is_from) or end: a date or an instant
 * (fc_kpi_parse_when). */
int fc_kpi_request_when(fc_kpi_request *r, const char *when, int is_from, fc_err *err);

/* Group indices of c (built from t under q) in display order: words
 * (cities, zones, merchants...) alphabetically; hours, dates, weekdays,
 * dayparts, weather and statuses in their natural order. Caller frees with
 * free(); NULL on OOM. */
size_t *fc_kpi_display_order(const fc_facts *t, const fc_cube *c, const fc_cube_query *q);

#endif
