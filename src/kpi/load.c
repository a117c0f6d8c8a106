/*
 * Loading the fact table from the store: a scan of every order
 * (scan/scan.h, docs/internals/scan.md tells how it reads the log) whose
 * visitor appends each folded order to the table.
 */
#include "kpi/kpi_internal.h"
#include "scan/scan.h"

typedef struct kpi_sink {
    fc_facts *t;
    int64_t added, not_added;
    fc_err *err;
} kpi_sink;

static int add_order(void *ud, const fc_scan_order *o) {
    kpi_sink *k = ud;
    int added = 0;
    int rc = fc_facts_add(k->t, o->facts, o->ref, o->thresholds, &added, k->err);
    if (rc != FC_OK) {
        return rc;
    }
    if (added) {
        k->added++;
    } else {
        k->not_added++;
    }
    return FC_OK;
}

/* The scan visits every order again: start from an empty table. */
static int restart(void *ud) {
    kpi_sink *k = ud;
    fc_facts_free(k->t);
    k->t = fc_facts_new();
    k->added = k->not_added = 0;
    return k->t != NULL ? FC_OK : fc_err_set(k->err, FC_ENOMEM, NULL, 0, 0, "out of memory");
}

int fc_facts_load_store(fc_store *s, const fc_settings *settings, fc_facts **out,
                        fc_kpi_load_stats *stats, fc_err *err) {
    kpi_sink k = {.t = fc_facts_new(), .err = err};
    *out = NULL;
    if (k.t == NULL) {
        return fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
    }
    fc_scan_opts o;
    fc_scan_opts_init(&o);
    o.settings = settings;
    o.restart = restart;
    fc_scan_stats st;
    int rc = fc_scan_orders(s, &o, add_order, &k, &st, err);
    if (rc != FC_OK) {
        fc_facts_free(k.t);
        return rc;
    }
    fc_facts_seal(k.t);
    *out = k.t;
    if (stats != NULL) {
        *stats = (fc_kpi_load_stats){.records = st.records,
                                     .events = st.events,
                                     .orders = k.added,
                                     .skipped = st.skipped + k.not_added,
                                     .weather = st.weather};
    }
    return FC_OK;
}
