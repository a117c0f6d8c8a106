/*
 * What several benchmarks share: a store holding a generated demo world.
 */
#ifndef FC_BENCH_WORLD_H
#define FC_BENCH_WORLD_H

#include "gen/gen.h"

/* Generate the demo world of `go` into dir/world, ingest its files into the
 * store at db (as `fulcrum ingest --no-judge` would), remove the files, and
 * print one "store: ..." line with the seconds each step took. On failure,
 * print "<bench>: <what>: <why>" and exit 1. */
void fc_bench_world_store(const char *bench, const char *dir, const char *db,
                          const fc_gen_opts *go);

#endif
