/*
 * gen: the demo world. A deterministic synthetic delivery operation in six
 * cities (reference files, one row per order, extra events as JSON Lines,
 * weather) with injected problems written to a ground-truth file.
 *
 * The same options give byte-identical files: the generator has its own
 * pseudo-random generator (xoshiro256** seeded through splitmix64), reads no
 * clock and no global state. Time zones come from the system's tzdata.
 *
 * Files written into the output folder, in the order they are meant to be
 * ingested (fc_gen_file): cities.csv, zones.csv, merchants.csv, riders.csv,
 * orders.csv (the canonical "fulcrum-orders" layout), events.jsonl, and
 * ground_truth.json (not an input: the injected problems, for checking).
 *
 * Thread safety: fc_gen_world is re-entrant (no globals); two calls must not
 * write into the same folder at once.
 */
#ifndef FC_GEN_H
#define FC_GEN_H

#include <stdint.h>
#include <stdio.h>

#include "core/core.h"

#define FC_GEN_MAX_CITIES  8
#define FC_GEN_MAX_DAYS    366
#define FC_GEN_SCALE_SMALL 0.04 /* "--scale small": about 2,000 orders a day */

typedef struct fc_gen_opts {
    uint64_t seed;      /* same seed, same world */
    int32_t days;       /* number of local days, 1..FC_GEN_MAX_DAYS */
    int32_t start_date; /* first local day, days since 1970-01-01 */
    double scale;       /* 1.0 = default size (~50,000 orders a day); (0, 20] */
    int progress;       /* draw progress on stderr */
} fc_gen_opts;

/* Defaults: seed 1, 7 days from 2026-03-02 (a Monday), scale 1, no progress. */
void fc_gen_opts_init(fc_gen_opts *o);

/* Parse a --scale value: "small", "medium" (0.25), "default" (1), "large" (3)
 * or a decimal number in (0, 20]. FC_OK or FC_EINVAL. */
int fc_gen_scale_parse(const char *s, double *out);

/* What one generation produced. */
typedef struct fc_gen_summary {
    size_t n_cities;
    char city[FC_GEN_MAX_CITIES][32];       /* city ids, in file order */
    int64_t city_orders[FC_GEN_MAX_CITIES]; /* orders per city */
    int64_t orders;                         /* rows of orders.csv */
    int64_t events;                         /* lines of events.jsonl */
    int64_t zones, merchants, riders;
    int n_problems; /* problems in ground_truth.json */
} fc_gen_summary;

/* Generate the world into folder `dir` (created when missing; its parent must
 * exist). Every file is written to a temporary name and renamed when complete,
 * so a failed run leaves no half-written file under a final name. *sum (may be
 * NULL) receives counts. Returns FC_OK, FC_EINVAL for bad options, FC_EIO when
 * a file cannot be written, FC_ENOTFOUND when a city's time zone is missing
 * from tzdata, FC_ENOMEM; err says which and where. */
int fc_gen_world(const char *dir, const fc_gen_opts *o, fc_gen_summary *sum, fc_err *err);

/* File names of the world in ingest order: i = 0 .. ; NULL past the last one.
 * ground_truth.json is not listed (it is not an input). Static strings. */
const char *fc_gen_file(size_t i);

#endif
