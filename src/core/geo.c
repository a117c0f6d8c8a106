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

/* Points at most this far apart in latitude and in longitude (0.5 degree,
 * about 55 km) take the short path of fc_geo_distance_round_m. */
#define FC__GEO_SHORT_E6 500000

/* How close to a half metre the short path's distance may come before the
 * exact formula decides the rounding. The short path and the haversine
 * formula differ by a few units in the last place of the result (under
 * 1e-10 m at 55 km); the margin is ten thousand times that. */
#define FC__GEO_HALF_MARGIN_M 1e-6

int32_t fc_geo_distance_round_m(int32_t lat1_e6, int32_t lng1_e6, int32_t lat2_e6,
                                int32_t lng2_e6) {
    int64_t dlat_e6 = (int64_t)lat2_e6 - lat1_e6, dlng_e6 = (int64_t)lng2_e6 - lng1_e6;
    if (dlat_e6 >= -FC__GEO_SHORT_E6 && dlat_e6 <= FC__GEO_SHORT_E6 &&
        dlng_e6 >= -FC__GEO_SHORT_E6 && dlng_e6 <= FC__GEO_SHORT_E6) {
        /* The haversine formula with its half-angle sines and the arcsine
         * as Taylor series (arguments under 0.007 rad: the first omitted
         * terms are below 1e-17 relative) and cos(phi1) cos(phi2) as
         * cos^2(mid) - sin^2(dphi / 2): one cosine instead of five calls. */
        const double rad = M_PI / 180.0 / 1e6;
        double hp = (double)dlat_e6 * (rad / 2), hl = (double)dlng_e6 * (rad / 2);
        double hp2 = hp * hp, hl2 = hl * hl;
        double sp = hp * (1.0 - hp2 * (1.0 / 6) * (1.0 - hp2 * (1.0 / 20)));
        double sl = hl * (1.0 - hl2 * (1.0 / 6) * (1.0 - hl2 * (1.0 / 20)));
        double cm = cos(((double)lat1_e6 + (double)lat2_e6) * (rad / 2));
        double a = sp * sp + (cm * cm - sp * sp) * sl * sl;
        double x = sqrt(a);
        double m = 2.0 * FC_EARTH_RADIUS_M * x *
                   (1.0 + a * (1.0 / 6) * (1.0 + a * (9.0 / 20) * (1.0 + a * (25.0 / 42))));
        int32_t whole = (int32_t)m; /* m >= 0: truncation is the floor */
        double frac = m - whole;
        if (frac < 0.5 - FC__GEO_HALF_MARGIN_M) {
            return whole;
        }
        if (frac > 0.5 + FC__GEO_HALF_MARGIN_M) {
            return whole + 1;
        }
    }
    return (int32_t)lround(fc_geo_distance_m(lat1_e6, lng1_e6, lat2_e6, lng2_e6));
}
