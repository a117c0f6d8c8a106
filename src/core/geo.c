/*
 * Geography: great-circle distance.
 */
#include "core/core.h"

#include <math.h>

/* Mean Earth radius (IUGG), metres. */
#define FC_EARTH_RADIUS_M 6371008.8

double fc_geo_distance_m(int32_t lat1_e6, int32_t lng1_e6, int32_t lat2_e6, int32_t lng2_e6) {
    const double rad = M_PI / 180.0 / 1e6;
    double phi1 = lat1_e6 * rad, phi2 = lat2_e6 * rad;
    double dphi = (double)((int64_t)lat2_e6 - lat1_e6) * rad;
    double dlam = (double)((int64_t)lng2_e6 - lng1_e6) * rad;
    /* Haversine: well conditioned for the short distances of deliveries. */
    double a =
        sin(dphi / 2) * sin(dphi / 2) + cos(phi1) * cos(phi2) * sin(dlam / 2) * sin(dlam / 2);
    if (a > 1.0) {
        a = 1.0;
    }
    return 2.0 * FC_EARTH_RADIUS_M * asin(sqrt(a));
}
