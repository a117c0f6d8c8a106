/*
 * Monotonic clock for progress reports and benchmarks (never in the pure
 * core).
 */
#include "core/core.h"

#include <time.h>

double fc_now_mono(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
