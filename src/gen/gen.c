/*
 * The demo world generator. See gen.h for the contract and docs/demo.md for
 * what the world contains and how it is calibrated.
 *
 * Structure: build the reference world (cities, zones, merchants, riders) and
 * choose the injected problems from one random stream; then, day by day and
 * city by city, draw the orders of each local hour and simulate each one's
 * lifecycle from its own stream, writing its orders.csv row and its extra
 * events as soon as it is complete. Nothing is allocated per order: rows are
 * formatted into one large buffer per file and flushed in big writes.
 */
#include "gen/gen.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "event/event.h"

/* ---------------------------------------------------------------------------
 * Random numbers: xoshiro256** seeded through splitmix64. One stream for the
 * reference world, one per (city, day) for the orders, so a city-day's orders
 * do not depend on how many draws another city made.
 */
typedef struct rng {
    uint64_t s[4];
} rng;

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void rng_seed(rng *r, uint64_t seed, uint64_t stream) {
    uint64_t x = seed ^ (stream * 0xD1B54A32D192ED03ull);
    for (int i = 0; i < 4; i++) {
        r->s[i] = splitmix64(&x);
    }
}

static uint64_t rotl(uint64_t x, int k) {
    return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(rng *r) {
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* Uniform in [0, 1). */
static double rng_unit(rng *r) {
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

static int rng_chance(rng *r, double p) {
    return rng_unit(r) < p;
}

/* Uniform integer in [lo, hi]. */
static int64_t rng_range(rng *r, int64_t lo, int64_t hi) {
    if (hi <= lo) {
        return lo;
    }
    uint64_t span = (uint64_t)(hi - lo) + 1;
    return lo + (int64_t)(rng_next(r) % span);
}

static double rng_normal(rng *r) {
    double u1 = ((double)(rng_next(r) >> 11) + 1.0) * 0x1.0p-53; /* (0, 1] */
    double u2 = rng_unit(r);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/* Log-normal with the given mean and standard deviation (not of the log). */
static double rng_lognormal(rng *r, double mean, double sd) {
    double s2 = log(1.0 + (sd * sd) / (mean * mean));
    double mu = log(mean) - 0.5 * s2;
    return exp(mu + sqrt(s2) * rng_normal(r));
}

static int64_t rng_poisson(rng *r, double lambda) {
    if (lambda <= 0.0) {
        return 0;
    }
    if (lambda > 30.0) {
        double x = floor(lambda + sqrt(lambda) * rng_normal(r) + 0.5);
        return x < 0.0 ? 0 : (int64_t)x;
    }
    double limit = exp(-lambda), p = 1.0;
    int64_t k = 0;
    do {
        k++;
        p *= rng_unit(r);
    } while (p > limit);
    return k - 1;
}

/* Index drawn from weights w[0..n). */
static size_t rng_pick(rng *r, const double *w, size_t n) {
    double total = 0.0;
    for (size_t i = 0; i < n; i++) {
        total += w[i];
    }
    double x = rng_unit(r) * total;
    for (size_t i = 0; i < n; i++) {
        if (x < w[i]) {
            return i;
        }
        x -= w[i];
    }
    return n - 1;
}

/* ---------------------------------------------------------------------------
 * The world's fixed description: cities, their zones, kinds, brands, curves.
 */
enum { ZK_BUSINESS = 0, ZK_RESIDENTIAL, ZK_OFFICE, ZK_MIXED, ZK__COUNT };
static const char *const zone_kind_names[ZK__COUNT] = {"business_district", "residential", "office",
                                                       "mixed"};

enum { MK_FAST_FOOD = 0, MK_RESTAURANT, MK_GROCERY, MK_PHARMACY, MK_CAFE, MK__COUNT };
static const char *const merchant_kind_names[MK__COUNT] = {"fast_food", "restaurant", "grocery",
                                                           "pharmacy", "cafe"};
static const char *const merchant_kind_category[MK__COUNT] = {"food", "food", "grocery", "pharmacy",
                                                              "food"};
/* Share of merchants of each kind, preparation minutes (mean, sd) of the
 * kind, share of merchants that belong to a chain, order value relative to
 * the city's mean. Together the mix gives a preparation mean of about 17 min
 * with a standard deviation of about 9 (the Grubhub calibration). */
static const double merchant_kind_share[MK__COUNT] = {0.24, 0.44, 0.10, 0.07, 0.15};
static const double prep_mean_min[MK__COUNT] = {13.0, 26.0, 17.0, 8.5, 7.5};
static const double prep_sd_min[MK__COUNT] = {4.5, 9.0, 6.0, 3.0, 3.0};
static const double chain_share[MK__COUNT] = {0.8, 0.25, 0.7, 0.7, 0.6};
static const double value_factor[MK__COUNT] = {0.75, 1.15, 1.5, 0.85, 0.45};

static const char *const brands[MK__COUNT][4] = {
    {"burger_hub", "crispy_chicken", "shawarma_corner", "pizza_piazza"},
    {"spice_route", "dragon_wok", "grill_house", "mezze_table"},
    {"fresh_mart", "daily_basket", "fresh_mart", "daily_basket"},
    {"care_pharmacy", "wellness_rx", "care_pharmacy", "wellness_rx"},
    {"bean_street", "daily_grind", "bean_street", "daily_grind"},
};

enum { CAP_FULL_TIME = 0, CAP_PART_TIME, CAP_CROWD, CAP__COUNT };
static const char *const capacity_names[CAP__COUNT] = {"full_time", "part_time", "crowd"};
static const double capacity_share[CAP__COUNT] = {0.35, 0.35, 0.30};

/* Orders by local hour (relative): lunch peak 11-13, dinner peak 17-20 with
 * the dinner peak about 2.3 times the lunch peak (DoorDash calibration). */
static const double hour_weight[24] = {2.0, 1.2, 0.7, 0.4,  0.3,  0.3, 0.6, 1.2,
                                       1.8, 2.2, 3.0, 4.5,  5.0,  4.2, 3.0, 2.6,
                                       3.5, 6.5, 9.5, 11.5, 10.0, 7.0, 4.5, 3.0};

typedef struct zone_def {
    const char *zone;
    int kind;
    double east_km, north_km; /* centre relative to the city centre */
} zone_def;

typedef struct city_def {
    const char *city, *country, *tz, *currency, *code;
    int decimals;
    double lat, lng;
    double orders_per_day;         /* an ordinary weekday at scale 1 */
    uint8_t weekend;               /* bit per weekday, 0 = Monday */
    double value_mean;             /* order value, major units */
    double cost_base, cost_per_km; /* delivery cost to the platform, major units */
    int value_step_minor;          /* prices are multiples of this */
    const zone_def *zones;
    size_t n_zones;
} city_def;

static const zone_def riyadh_zones[] = {
    {"olaya", ZK_BUSINESS, 0.0, 1.0},         {"kafd", ZK_OFFICE, 2.5, 5.0},
    {"al_malaz", ZK_RESIDENTIAL, 5.0, -2.0},  {"al_nakheel", ZK_RESIDENTIAL, -2.5, 6.0},
    {"al_yasmin", ZK_RESIDENTIAL, 1.0, 12.0}, {"al_murabba", ZK_MIXED, 2.0, -4.0},
    {"al_sulimaniyah", ZK_MIXED, -1.0, 3.5},  {"diplomatic_quarter", ZK_OFFICE, -7.0, 0.5},
};
static const zone_def dubai_zones[] = {
    {"downtown", ZK_BUSINESS, 0.0, 0.0},        {"business_bay", ZK_OFFICE, 1.5, -1.5},
    {"dubai_marina", ZK_MIXED, -22.0, -14.0},   {"jlt", ZK_OFFICE, -20.0, -15.5},
    {"al_barsha", ZK_RESIDENTIAL, -14.0, -9.0}, {"deira", ZK_MIXED, 9.0, 9.0},
    {"jumeirah", ZK_RESIDENTIAL, -5.0, 2.0},    {"mirdif", ZK_RESIDENTIAL, 15.0, 3.0},
};
static const zone_def doha_zones[] = {
    {"west_bay", ZK_BUSINESS, 1.0, 3.0},        {"msheireb", ZK_OFFICE, 0.0, 0.0},
    {"al_sadd", ZK_MIXED, -3.0, -1.0},          {"the_pearl", ZK_RESIDENTIAL, 4.0, 9.0},
    {"al_waab", ZK_RESIDENTIAL, -6.0, -5.0},    {"lusail", ZK_MIXED, 3.0, 14.0},
    {"al_rayyan", ZK_RESIDENTIAL, -11.0, -2.0}, {"old_airport", ZK_MIXED, 3.5, -4.0},
};
static const zone_def kuwait_zones[] = {
    {"sharq", ZK_BUSINESS, 0.5, 0.5},           {"qibla", ZK_OFFICE, -1.0, 0.0},
    {"salmiya", ZK_MIXED, 11.0, -5.0},          {"hawally", ZK_MIXED, 6.0, -4.0},
    {"jabriya", ZK_RESIDENTIAL, 7.0, -8.0},     {"mishref", ZK_RESIDENTIAL, 6.0, -12.0},
    {"farwaniya", ZK_RESIDENTIAL, -3.0, -13.0}, {"shuwaikh", ZK_OFFICE, -5.0, -2.0},
};
static const zone_def hong_kong_zones[] = {
    {"central", ZK_BUSINESS, 0.0, 0.0},     {"admiralty", ZK_OFFICE, 1.0, -0.3},
    {"wan_chai", ZK_MIXED, 2.0, -0.4},      {"causeway_bay", ZK_MIXED, 3.5, -0.5},
    {"mong_kok", ZK_MIXED, 2.5, 3.5},       {"tsim_sha_tsui", ZK_BUSINESS, 2.0, 1.5},
    {"sha_tin", ZK_RESIDENTIAL, 5.0, 10.5}, {"tseung_kwan_o", ZK_RESIDENTIAL, 10.5, 2.0},
    {"kwun_tong", ZK_OFFICE, 8.0, 2.8},
};
static const zone_def sao_paulo_zones[] = {
    {"paulista", ZK_BUSINESS, 0.0, 0.0},     {"faria_lima", ZK_OFFICE, -3.0, -1.5},
    {"vila_olimpia", ZK_OFFICE, -3.0, -4.0}, {"pinheiros", ZK_MIXED, -3.5, 0.5},
    {"moema", ZK_RESIDENTIAL, -0.5, -5.0},   {"vila_mariana", ZK_RESIDENTIAL, 1.0, -3.0},
    {"santana", ZK_RESIDENTIAL, 2.0, 9.0},   {"tatuape", ZK_MIXED, 9.0, 2.0},
};

#define N_ZONES(a) (sizeof(a) / sizeof((a)[0]))
static const city_def city_defs[] = {
    {"riyadh", "SA", "Asia/Riyadh", "SAR", "RUH", 2, 24.6990, 46.6850, 10700.0, 0x30, 68.0, 9.0,
     1.2, 50, riyadh_zones, N_ZONES(riyadh_zones)},
    {"dubai", "AE", "Asia/Dubai", "AED", "DXB", 2, 25.1972, 55.2744, 8200.0, 0x30, 72.0, 9.5, 1.3,
     50, dubai_zones, N_ZONES(dubai_zones)},
    {"doha", "QA", "Asia/Qatar", "QAR", "DOH", 2, 25.2854, 51.5310, 2900.0, 0x30, 75.0, 10.0, 1.3,
     50, doha_zones, N_ZONES(doha_zones)},
    {"kuwait_city", "KW", "Asia/Kuwait", "KWD", "KWI", 3, 29.3759, 47.9774, 3700.0, 0x30, 5.6, 0.75,
     0.11, 50, kuwait_zones, N_ZONES(kuwait_zones)},
    {"hong_kong", "HK", "Asia/Hong_Kong", "HKD", "HKG", 2, 22.2810, 114.1580, 8600.0, 0x60, 145.0,
     28.0, 4.5, 50, hong_kong_zones, N_ZONES(hong_kong_zones)},
    {"sao_paulo", "BR", "America/Sao_Paulo", "BRL", "SAO", 2, -23.5614, -46.6559, 7000.0, 0x60,
     62.0, 7.5, 1.1, 10, sao_paulo_zones, N_ZONES(sao_paulo_zones)},
};
#define N_CITIES (sizeof city_defs / sizeof city_defs[0])

/* Weather that recurs in the world: per city (and zone, when set) a kind of
 * weather at a local hour for some hours, once a week on a day drawn from the
 * seed. */
typedef struct weather_def {
    const char *city, *zone, *kind;
    int severity, start_hour, hours;
} weather_def;
static const weather_def weather_defs[] = {
    {"riyadh", NULL, "sandstorm", 3, 14, 5},   {"riyadh", NULL, "dust", 1, 9, 4},
    {"dubai", NULL, "fog", 1, 5, 4},           {"doha", "the_pearl", "fog", 1, 5, 3},
    {"kuwait_city", NULL, "dust", 2, 12, 6},   {"hong_kong", NULL, "heavy_rain", 2, 16, 6},
    {"hong_kong", NULL, "rainstorm", 3, 9, 3}, {"sao_paulo", NULL, "heavy_rain", 2, 17, 4},
    {"sao_paulo", NULL, "rain", 1, 13, 3},
};
#define N_WEATHER_DEFS (sizeof weather_defs / sizeof weather_defs[0])
#define MAX_WEATHER    512

static const char *const fleets[] = {"in_house", "swift_fleet", "roadrunners"};

static const char *const files[] = {"cities.csv", "zones.csv",  "merchants.csv",
                                    "riders.csv", "orders.csv", "events.jsonl"};
#define GROUND_TRUTH "ground_truth.json"

static const char orders_header[] =
    "order_id,city,zone,merchant,customer,rider,category,prebook,created_at,promised_at,"
    "est_ready_at,pushed_at,accepted_at,arrived_merchant_at,ready_at,picked_up_at,"
    "arrived_customer_at,delivered_at,cancelled_at,cancelled_by,cancel_reason,merchant_lat,"
    "merchant_lng,customer_lat,customer_lng,delivered_lat,delivered_lng,distance_m,order_value,"
    "delivery_cost,currency\n";

/* ---------------------------------------------------------------------------
 * The generated world.
 */
typedef struct g_zone {
    size_t city;
    const zone_def *def;
    int32_t lat_e6, lng_e6;
    size_t m0, m1;       /* merchants [m0, m1) */
    size_t r0, r1;       /* riders living here [r0, r1) */
    double demand;       /* relative size */
    int64_t last_accept; /* dinner stacking: last acceptance in the zone */
    size_t last_rider;
    int last_stack; /* orders the last rider carries */
} g_zone;

typedef struct g_merchant {
    char id[16];
    size_t city, zone;
    int kind;
    const char *brand;
    int32_t lat_e6, lng_e6;
    double popularity;  /* cumulative within its zone (for picking) */
    double prep_factor; /* this merchant's speed relative to its kind */
} g_merchant;

typedef struct g_rider {
    char id[16];
    size_t city, zone;
    int capacity;
    const char *fleet;
    int32_t start_date;
    uint32_t shift_hours; /* bit h: on shift in local hour h of the current day */
} g_rider;

typedef struct g_city {
    const city_def *def;
    fc_tz *tz;
    size_t z0, z1; /* zones [z0, z1) */
    size_t r0, r1; /* riders [r0, r1) */
    int64_t customers;
    int64_t orders;
} g_city;

typedef struct g_weather {
    size_t city;
    const char *zone; /* NULL: whole city */
    const char *kind;
    int severity;
    int64_t from, to;
} g_weather;

typedef struct id_list {
    char (*ids)[24];
    size_t n, cap;
} id_list;

enum { P_SLOW_MERCHANT = 0, P_RIDER_SHORTAGE, P_FAR_DELIVERY, P_UNREACHABLE, P_OUTAGE, P__COUNT };

typedef struct problems {
    size_t city[P__COUNT];
    size_t slow_merchant;
    size_t shortage_zone;               /* dinner, every day */
    int shortage_from_h, shortage_to_h; /* local hours [from, to) */
    size_t far_rider;
    size_t unreachable_zone;
    int64_t unreachable_from, unreachable_to;
    int64_t outage_from, outage_to;
    id_list affected[P__COUNT];
} problems;

typedef struct out_file {
    FILE *f;
    char *buf;
    size_t len, cap;
    char tmp_path[4096], path[4096];
    int failed;
} out_file;

typedef struct world {
    const fc_gen_opts *o;
    g_city cities[N_CITIES];
    g_zone *zones;
    size_t n_zones;
    g_merchant *merchants;
    size_t n_merchants;
    g_rider *riders;
    size_t n_riders;
    g_weather weather[MAX_WEATHER];
    size_t n_weather;
    problems pb;
    out_file orders, events;
    int64_t n_orders, n_events;
    int64_t period_from, period_to; /* UTC bounds of the whole world */
} world;

/* ---------------------------------------------------------------------------
 * Buffered output.
 */
#define OUT_BUF  (1u << 20)
#define OUT_ROOM 8192 /* a row or event line is always shorter */

static int out_open(out_file *w, const char *dir, const char *name, fc_err *err) {
    memset(w, 0, sizeof *w);
    int n1 = snprintf(w->path, sizeof w->path, "%s/%s", dir, name);
    int n2 = snprintf(w->tmp_path, sizeof w->tmp_path, "%s/.%s.tmp", dir, name);
    if (n1 < 0 || n2 < 0 || (size_t)n2 >= sizeof w->tmp_path) {
        return fc_err_set(err, FC_EINVAL, dir, 0, 0, "output folder name too long");
    }
    w->buf = fc_malloc(OUT_BUF);
    if (w->buf == NULL) {
        return fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory for output buffers");
    }
    w->cap = OUT_BUF;
    w->f = fopen(w->tmp_path, "wb");
    if (w->f == NULL) {
        fc_free(w->buf);
        w->buf = NULL;
        return fc_err_set(err, FC_EIO, w->tmp_path, 0, 0, "cannot create: %s", strerror(errno));
    }
    return FC_OK;
}

static void out_flush(out_file *w) {
    if (w->len > 0 && !w->failed && fwrite(w->buf, 1, w->len, w->f) != w->len) {
        w->failed = 1;
    }
    w->len = 0;
}

/* Room for one more row: the write pointer. */
static char *out_room(out_file *w) {
    if (w->cap - w->len < OUT_ROOM) {
        out_flush(w);
    }
    return w->buf + w->len;
}

static void out_commit(out_file *w, const char *end) {
    w->len = (size_t)(end - w->buf);
}

static void out_puts(out_file *w, const char *s) {
    char *p = out_room(w);
    size_t n = strlen(s);
    memcpy(p, s, n);
    out_commit(w, p + n);
}

/* Flush, close and rename into place. On any failure the temporary file is
 * removed and FC_EIO returned. Safe on a file never opened. */
static int out_close(out_file *w, int keep, fc_err *err) {
    int rc = FC_OK;
    if (w->f == NULL) {
        goto out;
    }
    out_flush(w);
    if (fclose(w->f) != 0) {
        w->failed = 1;
    }
    w->f = NULL;
    if (!keep) {
        remove(w->tmp_path);
        goto out;
    }
    if (w->failed) {
        remove(w->tmp_path);
        rc = fc_err_set(err, FC_EIO, w->path, 0, 0, "write failed");
        goto out;
    }
    if (rename(w->tmp_path, w->path) != 0) {
        rc =
            fc_err_set(err, FC_EIO, w->path, 0, 0, "cannot rename into place: %s", strerror(errno));
        remove(w->tmp_path);
    }
out:
    fc_free(w->buf);
    w->buf = NULL;
    return rc;
}

/* Field formatting straight into the row buffer. */
static char *put_s(char *p, const char *s) {
    while (*s) {
        *p++ = *s++;
    }
    return p;
}

static char *put_u(char *p, uint64_t v, int min_digits) {
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v > 0);
    while (n < min_digits) {
        tmp[n++] = '0';
    }
    while (n > 0) {
        *p++ = tmp[--n];
    }
    return p;
}

static char *put_i(char *p, int64_t v) {
    if (v < 0) {
        *p++ = '-';
        return put_u(p, (uint64_t)0 - (uint64_t)v, 1);
    }
    return put_u(p, (uint64_t)v, 1);
}

/* Microdegrees as decimal degrees with 6 decimals. */
static char *put_coord(char *p, int32_t e6) {
    int64_t v = e6;
    if (v < 0) {
        *p++ = '-';
        v = -v;
    }
    p = put_u(p, (uint64_t)(v / 1000000), 1);
    *p++ = '.';
    return put_u(p, (uint64_t)(v % 1000000), 6);
}

/* Minor units as a decimal amount with the currency's decimals. */
static char *put_money(char *p, int64_t minor, int decimals) {
    int64_t div = 1;
    for (int i = 0; i < decimals; i++) {
        div *= 10;
    }
    if (minor < 0) {
        *p++ = '-';
        minor = -minor;
    }
    p = put_u(p, (uint64_t)(minor / div), 1);
    if (decimals > 0) {
        *p++ = '.';
        p = put_u(p, (uint64_t)(minor % div), decimals);
    }
    return p;
}

static int64_t floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* ISO 8601 local time with the offset in force: 2026-03-02T19:04:11+03:00. */
static char *put_time(char *p, const fc_tz *tz, int64_t t) {
    int32_t off = fc_tz_offset(tz, t);
    int64_t local = t + off;
    int64_t days = floor_div(local, 86400);
    int64_t sod = local - days * 86400;
    int64_t y;
    unsigned mo, d;
    fc_civil_from_days(days, &y, &mo, &d);
    p = put_u(p, (uint64_t)y, 4);
    *p++ = '-';
    p = put_u(p, mo, 2);
    *p++ = '-';
    p = put_u(p, d, 2);
    *p++ = 'T';
    p = put_u(p, (uint64_t)(sod / 3600), 2);
    *p++ = ':';
    p = put_u(p, (uint64_t)(sod / 60 % 60), 2);
    *p++ = ':';
    p = put_u(p, (uint64_t)(sod % 60), 2);
    if (off < 0) {
        *p++ = '-';
        off = -off;
    } else {
        *p++ = '+';
    }
    p = put_u(p, (uint64_t)(off / 3600), 2);
    *p++ = ':';
    return put_u(p, (uint64_t)(off / 60 % 60), 2);
}

/* A time column: empty when absent. */
static char *put_time_col(char *p, const fc_tz *tz, int64_t t) {
    if (t != FC_TS_NONE) {
        p = put_time(p, tz, t);
    }
    *p++ = ',';
    return p;
}

/* "2026-03-02T16:04:11Z" into buf (at least 21 bytes). */
static void format_utc(int64_t t, char *buf) {
    int64_t days = floor_div(t, 86400);
    int64_t sod = t - days * 86400;
    int64_t y;
    unsigned mo, d;
    fc_civil_from_days(days, &y, &mo, &d);
    char *p = put_u(buf, (uint64_t)y, 4);
    *p++ = '-';
    p = put_u(p, mo, 2);
    *p++ = '-';
    p = put_u(p, d, 2);
    *p++ = 'T';
    p = put_u(p, (uint64_t)(sod / 3600), 2);
    *p++ = ':';
    p = put_u(p, (uint64_t)(sod / 60 % 60), 2);
    *p++ = ':';
    p = put_u(p, (uint64_t)(sod % 60), 2);
    *p++ = 'Z';
    *p = '\0';
}

/* ---------------------------------------------------------------------------
 * Geography.
 */
static int32_t to_e6(double deg) {
    return (int32_t)lround(deg * 1e6);
}

/* The point `metres` away from (lat, lng) on `bearing` radians (flat-earth
 * approximation, good to a few metres at city scale). */
static void geo_offset(int32_t lat_e6, int32_t lng_e6, double metres, double bearing,
                       int32_t *out_lat, int32_t *out_lng) {
    double lat = lat_e6 / 1e6;
    double dn = metres * cos(bearing), de = metres * sin(bearing);
    double dlat = dn / 111320.0;
    double dlng = de / (111320.0 * cos(lat * M_PI / 180.0));
    *out_lat = to_e6(lat + dlat);
    *out_lng = to_e6(lng_e6 / 1e6 + dlng);
}

/* ---------------------------------------------------------------------------
 * Building the reference world.
 */
static double zone_hour_factor(int kind, int hour, int weekend) {
    int lunch = hour >= 11 && hour <= 14;
    int evening = hour >= 17 && hour <= 22;
    int night = hour <= 5;
    switch (kind) {
    case ZK_OFFICE:
    case ZK_BUSINESS:
        if (weekend) {
            return kind == ZK_OFFICE ? 0.45 : 0.9;
        }
        return lunch ? 1.7 : evening ? 0.75 : night ? 0.4 : 1.0;
    case ZK_RESIDENTIAL:
        return (lunch ? 0.75 : evening ? 1.3 : 1.0) * (weekend ? 1.35 : 1.0);
    default:
        return weekend ? 1.2 : 1.0;
    }
}

static int city_index(const char *name) {
    for (size_t i = 0; i < N_CITIES; i++) {
        if (strcmp(city_defs[i].city, name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

/* Sizes of the reference world for these options. */
static size_t n_merchants_of(const city_def *c, double scale) {
    double n = c->orders_per_day * scale / 35.0;
    return n < 48.0 ? 48 : (size_t)n;
}
static size_t n_riders_of(const city_def *c, double scale) {
    double n = c->orders_per_day * scale / 18.0;
    return n < 48.0 ? 48 : (size_t)n;
}

static int build_world(world *w, rng *r, fc_err *err) {
    const fc_gen_opts *o = w->o;
    size_t nz = 0, nm = 0, nr = 0;
    for (size_t c = 0; c < N_CITIES; c++) {
        nz += city_defs[c].n_zones;
        nm += n_merchants_of(&city_defs[c], o->scale);
        nr += n_riders_of(&city_defs[c], o->scale);
    }
    w->zones = fc_calloc(nz, sizeof *w->zones);
    w->merchants = fc_calloc(nm, sizeof *w->merchants);
    w->riders = fc_calloc(nr, sizeof *w->riders);
    if (w->zones == NULL || w->merchants == NULL || w->riders == NULL) {
        return fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory for the world");
    }
    for (size_t c = 0; c < N_CITIES; c++) {
        const city_def *cd = &city_defs[c];
        g_city *gc = &w->cities[c];
        gc->def = cd;
        int rc = fc_tz_load(cd->tz, &gc->tz, err);
        if (rc != FC_OK) {
            return rc;
        }
        gc->customers = (int64_t)(cd->orders_per_day * o->scale * 3.0) + 500;

        /* Zones: a relative size each, residential and mixed zones larger. */
        gc->z0 = w->n_zones;
        double demand_total = 0.0;
        for (size_t i = 0; i < cd->n_zones; i++) {
            g_zone *z = &w->zones[w->n_zones++];
            z->city = c;
            z->def = &cd->zones[i];
            z->lat_e6 = to_e6(cd->lat + z->def->north_km / 111.32);
            z->lng_e6 = to_e6(cd->lng + z->def->east_km / (111.32 * cos(cd->lat * M_PI / 180.0)));
            z->demand = (z->def->kind == ZK_RESIDENTIAL || z->def->kind == ZK_MIXED ? 1.3 : 0.9) *
                        (0.8 + 0.4 * rng_unit(r));
            z->last_accept = FC_TS_NONE;
            demand_total += z->demand;
        }
        gc->z1 = w->n_zones;

        /* Merchants: spread over zones by demand; the first five of a city
         * cover every kind. Popularity is heavy-tailed (a few merchants take
         * many orders); chains are more popular. */
        size_t m_city = n_merchants_of(cd, o->scale);
        size_t made = 0;
        for (size_t zi = gc->z0; zi < gc->z1; zi++) {
            g_zone *z = &w->zones[zi];
            size_t want = zi + 1 == gc->z1
                              ? m_city - made
                              : (size_t)floor((double)m_city * z->demand / demand_total + 0.5);
            if (want < 6) {
                want = 6;
            }
            if (made + want > m_city) {
                want = m_city - made;
            }
            z->m0 = w->n_merchants;
            double cum = 0.0;
            for (size_t k = 0; k < want; k++) {
                g_merchant *m = &w->merchants[w->n_merchants];
                snprintf(m->id, sizeof m->id, "%c%c%c-m%04zu", cd->code[0] + 32, cd->code[1] + 32,
                         cd->code[2] + 32, w->n_merchants - w->zones[gc->z0].m0 + 1);
                m->city = c;
                m->zone = zi;
                m->kind = k < MK__COUNT ? (int)k : (int)rng_pick(r, merchant_kind_share, MK__COUNT);
                m->brand =
                    rng_chance(r, chain_share[m->kind]) ? brands[m->kind][rng_range(r, 0, 3)] : "";
                geo_offset(z->lat_e6, z->lng_e6, 1500.0 * sqrt(rng_unit(r)),
                           2.0 * M_PI * rng_unit(r), &m->lat_e6, &m->lng_e6);
                double pop = rng_lognormal(r, 1.0, 1.3) * (m->brand[0] ? 1.5 : 1.0);
                cum += pop;
                m->popularity = cum;
                m->prep_factor = rng_lognormal(r, 1.0, 0.15);
                w->n_merchants++;
            }
            z->m1 = w->n_merchants;
            made += want;
        }

        /* Riders: spread over zones by demand, each with a capacity type, a
         * fleet and a start date (about 10% joined in the last 30 days, 25%
         * within the year, the rest earlier). */
        gc->r0 = w->n_riders;
        size_t r_city = n_riders_of(cd, o->scale);
        size_t r_made = 0;
        for (size_t zi = gc->z0; zi < gc->z1; zi++) {
            g_zone *z = &w->zones[zi];
            size_t want = zi + 1 == gc->z1
                              ? r_city - r_made
                              : (size_t)floor((double)r_city * z->demand / demand_total + 0.5);
            if (r_made + want > r_city) {
                want = r_city - r_made;
            }
            z->r0 = w->n_riders;
            for (size_t k = 0; k < want; k++) {
                g_rider *rd = &w->riders[w->n_riders];
                snprintf(rd->id, sizeof rd->id, "%c%c%c-r%04zu", cd->code[0] + 32, cd->code[1] + 32,
                         cd->code[2] + 32, w->n_riders - gc->r0 + 1);
                rd->city = c;
                rd->zone = zi;
                rd->capacity = (int)rng_pick(r, capacity_share, CAP__COUNT);
                rd->fleet = rd->capacity == CAP_CROWD
                                ? ""
                                : fleets[rng_range(r, rd->capacity == CAP_FULL_TIME ? 0 : 1, 2)];
                double u = rng_unit(r);
                int64_t ago = u < 0.10   ? rng_range(r, 1, 29)
                              : u < 0.35 ? rng_range(r, 30, 364)
                                         : rng_range(r, 365, 2200);
                rd->start_date = (int32_t)(o->start_date - ago);
                w->n_riders++;
            }
            z->r1 = w->n_riders;
            r_made += want;
        }
        gc->r1 = w->n_riders;
    }
    return FC_OK;
}

/* The UTC instant of local civil time `sec_of_day` on local day `day`. */
static int64_t local_instant(const g_city *c, int64_t day, int64_t sec_of_day) {
    return fc_tz_to_utc(c->tz, day * 86400 + sec_of_day);
}

static void choose_problems(world *w, rng *r) {
    problems *pb = &w->pb;
    const fc_gen_opts *o = w->o;
    /* A different city for each problem; the outage in one of the four
     * big cities so that it is visible even in a small world. */
    size_t perm[N_CITIES];
    for (size_t i = 0; i < N_CITIES; i++) {
        perm[i] = i;
    }
    for (size_t i = N_CITIES - 1; i > 0; i--) {
        size_t j = (size_t)rng_range(r, 0, (int64_t)i);
        size_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    size_t big = 0;
    while (city_defs[perm[big]].orders_per_day < 5000.0) {
        big++;
    }
    pb->city[P_OUTAGE] = perm[big];
    perm[big] = perm[N_CITIES - 1];
    for (int p = 0; p < P_OUTAGE; p++) {
        pb->city[p] = perm[p];
    }

    /* Slow merchant: the most popular restaurant of a busy zone. */
    const g_city *c = &w->cities[pb->city[P_SLOW_MERCHANT]];
    size_t best = SIZE_MAX;
    double best_pop = -1.0;
    for (size_t zi = c->z0; zi < c->z1; zi++) {
        const g_zone *z = &w->zones[zi];
        for (size_t m = z->m0; m < z->m1; m++) {
            double pop =
                w->merchants[m].popularity - (m > z->m0 ? w->merchants[m - 1].popularity : 0.0);
            if (w->merchants[m].kind == MK_RESTAURANT && pop > best_pop) {
                best_pop = pop;
                best = m;
            }
        }
    }
    pb->slow_merchant = best;

    /* Rider shortage: a residential or mixed zone, 18:00-21:00 local daily. */
    c = &w->cities[pb->city[P_RIDER_SHORTAGE]];
    do {
        pb->shortage_zone = (size_t)rng_range(r, (int64_t)c->z0, (int64_t)c->z1 - 1);
    } while (w->zones[pb->shortage_zone].def->kind != ZK_RESIDENTIAL &&
             w->zones[pb->shortage_zone].def->kind != ZK_MIXED);
    pb->shortage_from_h = 18;
    pb->shortage_to_h = 21;

    /* Far-delivery rider: a full-time rider of the city (works every day). */
    c = &w->cities[pb->city[P_FAR_DELIVERY]];
    do {
        pb->far_rider = (size_t)rng_range(r, (int64_t)c->r0, (int64_t)c->r1 - 1);
    } while (w->riders[pb->far_rider].capacity != CAP_FULL_TIME);
    w->riders[pb->far_rider].start_date = (int32_t)(o->start_date - rng_range(r, 400, 900));

    /* Unreachable customers: a residential zone, one evening of 3 hours. */
    c = &w->cities[pb->city[P_UNREACHABLE]];
    do {
        pb->unreachable_zone = (size_t)rng_range(r, (int64_t)c->z0, (int64_t)c->z1 - 1);
    } while (w->zones[pb->unreachable_zone].def->kind != ZK_RESIDENTIAL);
    int64_t day = o->start_date + rng_range(r, 0, o->days - 1);
    pb->unreachable_from = local_instant(c, day, 19 * 3600);
    pb->unreachable_to = pb->unreachable_from + 3 * 3600;

    /* Dispatch outage: 45-90 minutes starting between 19:00 and 20:00 local. */
    c = &w->cities[pb->city[P_OUTAGE]];
    day = o->start_date + rng_range(r, 0, o->days - 1);
    pb->outage_from = local_instant(c, day, 19 * 3600 + rng_range(r, 0, 12) * 300);
    pb->outage_to = pb->outage_from + rng_range(r, 9, 18) * 300;
}

static void choose_weather(world *w, rng *r) {
    const fc_gen_opts *o = w->o;
    int weeks = (o->days + 6) / 7;
    for (size_t i = 0; i < N_WEATHER_DEFS; i++) {
        const weather_def *wd = &weather_defs[i];
        int ci = city_index(wd->city);
        for (int k = 0; k < weeks && w->n_weather < MAX_WEATHER && ci >= 0; k++) {
            int span = o->days - 7 * k < 7 ? o->days - 7 * k : 7;
            int64_t day = o->start_date + 7 * k + rng_range(r, 0, span - 1);
            g_weather *g = &w->weather[w->n_weather++];
            g->city = (size_t)ci;
            g->zone = wd->zone;
            g->kind = wd->kind;
            g->severity = wd->severity;
            g->from = local_instant(&w->cities[ci], day,
                                    (int64_t)wd->start_hour * 3600 + rng_range(r, 0, 3) * 900);
            g->to = g->from + (int64_t)wd->hours * 3600 + rng_range(r, 0, 4) * 900;
        }
    }
}

/* Highest weather severity at t in a city and zone. */
static int weather_at(const world *w, size_t city, const char *zone, int64_t t) {
    int sev = 0;
    for (size_t i = 0; i < w->n_weather; i++) {
        const g_weather *g = &w->weather[i];
        if (g->city == city && t >= g->from && t < g->to &&
            (g->zone == NULL || strcmp(g->zone, zone) == 0) && g->severity > sev) {
            sev = g->severity;
        }
    }
    return sev;
}

/* On-shift hours of every rider for one local day: full-time riders most
 * days for 9-10 hours from late morning, part-time riders a lunch or a dinner
 * block, crowd riders now and then for 2-3 hours (mostly at peaks). */
static void plan_shifts(world *w, rng *r) {
    for (size_t i = 0; i < w->n_riders; i++) {
        g_rider *rd = &w->riders[i];
        int start = 0, hours = 0;
        if (i == w->pb.far_rider) {
            start = 10;
            hours = 13;
        } else if (rd->capacity == CAP_FULL_TIME) {
            if (rng_chance(r, 0.85)) {
                start = (int)rng_range(r, 9, 13);
                hours = (int)rng_range(r, 9, 10);
            }
        } else if (rd->capacity == CAP_PART_TIME) {
            if (rng_chance(r, 0.65)) {
                start = rng_chance(r, 0.35) ? (int)rng_range(r, 10, 11) : (int)rng_range(r, 16, 18);
                hours = (int)rng_range(r, 4, 5);
            }
        } else if (rng_chance(r, 0.4)) {
            start = rng_chance(r, 0.3) ? (int)rng_range(r, 11, 12) : (int)rng_range(r, 17, 19);
            hours = (int)rng_range(r, 2, 3);
        }
        uint32_t mask = 0;
        for (int h = start; h < start + hours && hours > 0; h++) {
            mask |= 1u << (h % 24);
        }
        rd->shift_hours = mask;
    }
}

/* A rider on shift at `hour` for an order in zone zi; mostly local riders. */
static size_t pick_rider(world *w, rng *r, size_t zi, int hour) {
    const g_zone *z = &w->zones[zi];
    const g_city *c = &w->cities[z->city];
    uint32_t bit = 1u << hour;
    if (z->r1 > z->r0 && rng_chance(r, 0.8)) {
        for (int k = 0; k < 12; k++) {
            size_t i = (size_t)rng_range(r, (int64_t)z->r0, (int64_t)z->r1 - 1);
            if (w->riders[i].shift_hours & bit) {
                return i;
            }
        }
    }
    for (int k = 0; k < 24; k++) {
        size_t i = (size_t)rng_range(r, (int64_t)c->r0, (int64_t)c->r1 - 1);
        if (w->riders[i].shift_hours & bit) {
            return i;
        }
    }
    return (size_t)rng_range(r, (int64_t)c->r0, (int64_t)c->r1 - 1);
}

static int id_push(id_list *l, const char *id) {
    if (fc_grow((void **)&l->ids, &l->cap, l->n + 1, sizeof l->ids[0]) != FC_OK) {
        return FC_ENOMEM;
    }
    size_t n = strlen(id);
    if (n >= sizeof l->ids[0]) {
        n = sizeof l->ids[0] - 1;
    }
    memcpy(l->ids[l->n], id, n);
    l->ids[l->n][n] = '\0';
    l->n++;
    return FC_OK;
}

/* ---------------------------------------------------------------------------
 * One order's lifecycle.
 */
#define MAX_EXTRA 16

/* An event of the order that its row cannot hold. */
typedef struct extra_ev {
    const char *type;
    int64_t ts;
    size_t rider; /* SIZE_MAX: none */
    const char *reason, *by, *category, *channel, *outcome;
    int64_t amount_minor; /* FC_MONEY_NONE: none */
    int32_t score;        /* FC_INT_NONE: none */
    int32_t lat_e6, lng_e6;
} extra_ev;

typedef struct g_order {
    char id[24];
    size_t city, zone, merchant, rider; /* rider SIZE_MAX: none */
    int64_t customer;
    int prebook;
    int64_t slot; /* when the order is for: created, or a prebooked slot */
    int64_t created, promised, est_ready, pushed, accepted, arrived_merchant, ready, picked_up,
        arrived_customer, delivered, cancelled;
    const char *cancelled_by, *cancel_reason;
    int32_t customer_lat_e6, customer_lng_e6, delivered_lat_e6, delivered_lng_e6;
    int32_t distance_m;
    int64_t value_minor, cost_minor;
    extra_ev extra[MAX_EXTRA];
    size_t n_extra;
} g_order;

static extra_ev *add_extra(g_order *g, const char *type, int64_t ts) {
    if (g->n_extra >= MAX_EXTRA) {
        return NULL;
    }
    extra_ev *e = &g->extra[g->n_extra++];
    memset(e, 0, sizeof *e);
    e->type = type;
    e->ts = ts;
    e->rider = SIZE_MAX;
    e->amount_minor = FC_MONEY_NONE;
    e->score = FC_INT_NONE;
    e->lat_e6 = FC_GEO_NONE;
    e->lng_e6 = FC_GEO_NONE;
    return e;
}

static const char *pick_str(rng *r, const char *const *v, size_t n) {
    return v[rng_range(r, 0, (int64_t)n - 1)];
}
#define PICK(r, arr) pick_str((r), (arr), sizeof(arr) / sizeof((arr)[0]))

static const char *const refusal_reasons[] = {"too_far", "busy", "low_fare", "no_response"};
static const char *const reassign_reasons[] = {"rider_delayed", "vehicle_issue",
                                               "rider_unavailable"};
static const char *const customer_cancel_reasons[] = {"changed_mind", "ordered_by_mistake",
                                                      "long_wait"};
static const char *const merchant_cancel_reasons[] = {"item_unavailable", "too_busy",
                                                      "store_closed"};
static const char *const rider_cancel_reasons[] = {"vehicle_issue", "accident", "unsafe_location"};
static const char *const platform_cancel_reasons[] = {"payment_failed", "fraud_suspected"};
/* Complaint categories other than late and not_received, with weights. */
static const char *const complaint_other_cats[] = {
    "missing_item", "wrong_item", "food_quality", "damaged", "rider_behaviour", "other"};
static const double complaint_other_w[] = {0.30, 0.15, 0.25, 0.12, 0.06, 0.12};

static int64_t round_up_minute(int64_t t) {
    return (t + 59) / 60 * 60;
}

/* Minor units of a major amount. */
static int64_t minor_of(double major, int decimals) {
    return (int64_t)llround(major * pow(10.0, decimals));
}

/* Simulate one order placed at `t` (UTC) in zone zi. Fills *g. */
static void simulate(world *w, rng *r, g_order *g, size_t zi, int64_t t, int hour) {
    problems *pb = &w->pb;
    const g_zone *z = &w->zones[zi];
    g_zone *zw = &w->zones[zi];
    const g_city *c = &w->cities[z->city];
    const city_def *cd = c->def;

    /* Merchant by popularity within the zone. */
    double x = rng_unit(r) * w->merchants[z->m1 - 1].popularity;
    size_t lo = z->m0, hi = z->m1 - 1;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (w->merchants[mid].popularity <= x) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    const g_merchant *m = &w->merchants[lo];
    g->merchant = lo;
    g->city = z->city;
    g->zone = zi;
    g->customer = rng_range(r, 1, c->customers);
    g->rider = SIZE_MAX;
    g->n_extra = 0;
    g->cancelled = g->pushed = g->accepted = g->arrived_merchant = g->ready = g->picked_up =
        g->arrived_customer = g->delivered = FC_TS_NONE;
    g->cancelled_by = g->cancel_reason = NULL;
    g->delivered_lat_e6 = g->delivered_lng_e6 = FC_GEO_NONE;

    int dinner = hour >= 17 && hour <= 20;
    int severity = weather_at(w, z->city, z->def->zone, t);
    int slow = lo == pb->slow_merchant;
    int shortage = z->city == pb->city[P_RIDER_SHORTAGE] && zi == pb->shortage_zone &&
                   hour >= pb->shortage_from_h && hour < pb->shortage_to_h;
    int unreachable =
        zi == pb->unreachable_zone && t >= pb->unreachable_from && t < pb->unreachable_to;
    int outage = z->city == pb->city[P_OUTAGE] && t >= pb->outage_from && t < pb->outage_to;

    /* Prebooked orders (2%) were placed 1-4 hours ahead for this slot. */
    g->prebook = rng_chance(r, 0.02);
    g->slot = t;
    g->created = g->prebook ? t - rng_range(r, 4, 16) * 900 : t;

    /* Value and route. */
    double value = rng_lognormal(r, cd->value_mean * value_factor[m->kind],
                                 0.55 * cd->value_mean * value_factor[m->kind]);
    int64_t step = cd->value_step_minor;
    g->value_minor = (minor_of(value, cd->decimals) + step / 2) / step * step;
    if (g->value_minor < step) {
        g->value_minor = step;
    }
    double route_m = rng_lognormal(r, 2200.0, 1100.0);
    route_m = route_m < 300.0 ? 300.0 : route_m > 9000.0 ? 9000.0 : route_m;
    g->distance_m = (int32_t)lround(route_m);
    geo_offset(m->lat_e6, m->lng_e6, route_m / 1.3, 2.0 * M_PI * rng_unit(r), &g->customer_lat_e6,
               &g->customer_lng_e6);

    /* Preparation: the merchant's estimate is its usual time; the actual
     * varies around it. The slow merchant takes far longer than it says. */
    double prep_mean = prep_mean_min[m->kind] * m->prep_factor;
    double prep_min = rng_lognormal(r, prep_mean, prep_sd_min[m->kind] * m->prep_factor);
    if (dinner) {
        prep_min *= 1.1;
    }
    if (slow) {
        prep_min = prep_min * 1.8 + (double)rng_range(r, 6, 15);
    }
    int64_t est_prep_s = (int64_t)lround(prep_mean * 1.05) * 60;
    int64_t prep_s = (int64_t)lround(prep_min * 60.0);
    if (prep_s < 90) {
        prep_s = 90;
    }
    g->est_ready = t + est_prep_s;
    g->ready = t + prep_s;

    /* The promise: preparation (or the time a rider needs to get there) plus
     * a travel allowance at 16 km/h and handover, plus a buffer. */
    int64_t promise_prep_s = est_prep_s > 14 * 60 ? est_prep_s : 14 * 60;
    int64_t promise_travel_s = (int64_t)(route_m / (16000.0 / 3600.0)) + 6 * 60;
    g->promised = round_up_minute(t + promise_prep_s + 3 * 60 + promise_travel_s + 13 * 60);

    /* Dispatch: batches every 30-60 s; riders may refuse; the order waits
     * for the outage to end; a zone short of riders waits long. */
    int64_t now = t + rng_range(r, 15, 75);
    if (outage) {
        now = pb->outage_to + rng_range(r, 60, 900);
    }
    g->pushed = now;
    int refusals = 0;
    double p_refuse = shortage ? 0.0 : dinner ? 0.14 : 0.08;
    if (shortage) {
        refusals = (int)rng_range(r, 2, 6);
    } else {
        while (refusals < 5 && rng_chance(r, p_refuse)) {
            refusals++;
        }
    }
    for (int i = 0; i < refusals; i++) {
        size_t who = pick_rider(w, r, zi, hour);
        now += shortage ? rng_range(r, 120, 300) : rng_range(r, 30, 120);
        extra_ev *e = add_extra(g, "order_refused", now);
        if (e != NULL) {
            e->rider = who;
            e->reason =
                shortage ? (rng_chance(r, 0.6) ? "too_far" : "busy") : PICK(r, refusal_reasons);
        }
    }
    now += rng_range(r, 10, 60);
    if (shortage) {
        now += rng_range(r, 5, 18) * 60;
    }

    /* Stacking: at dinner a rider who just took an order in the zone often
     * takes the next one too, and delivers it after the first. */
    int stacked = 0;
    if (dinner && !shortage && zw->last_accept != FC_TS_NONE && now - zw->last_accept < 300 &&
        zw->last_stack < 3 && rng_chance(r, 0.45)) {
        g->rider = zw->last_rider;
        stacked = zw->last_stack;
        zw->last_stack++;
    } else {
        g->rider = pick_rider(w, r, zi, hour);
        zw->last_rider = g->rider;
        zw->last_stack = 1;
    }
    zw->last_accept = now;
    g->accepted = now;
    const g_rider *rd = &w->riders[g->rider];
    int64_t tenure_days = (int64_t)floor_div(t, 86400) - rd->start_date;

    /* A reassignment now and then: the first rider is released and another
     * accepts. */
    if (!shortage && !stacked && rng_chance(r, 0.015)) {
        size_t first = g->rider;
        extra_ev *e = add_extra(g, "order_accepted", now);
        if (e != NULL) {
            e->rider = first;
        }
        now += rng_range(r, 120, 480);
        e = add_extra(g, "order_reassigned", now);
        if (e != NULL) {
            e->rider = first;
            e->reason = PICK(r, reassign_reasons);
        }
        g->rider = pick_rider(w, r, zi, hour);
        rd = &w->riders[g->rider];
        now += rng_range(r, 30, 120);
        g->accepted = now;
    }

    /* To the merchant, wait, pick up. */
    double to_merchant_min = shortage ? rng_lognormal(r, 18.0, 6.0) : rng_lognormal(r, 13.5, 5.5);
    if (stacked) {
        to_merchant_min = rng_lognormal(r, 3.0, 1.5);
    }
    g->arrived_merchant = g->accepted + (int64_t)lround(to_merchant_min * 60.0);
    int64_t pickup_from = g->arrived_merchant > g->ready ? g->arrived_merchant : g->ready;
    g->picked_up = pickup_from + rng_range(r, 90, 270);

    /* To the customer: about 19 km/h, slower in weather and for new riders;
     * new riders also lose their way more often. */
    double speed_kmh = rng_lognormal(r, 19.0, 4.0) / (1.0 + 0.3 * severity);
    double p_lost = 0.01;
    if (tenure_days < 30) {
        speed_kmh *= 0.75;
        p_lost = 0.5;
    } else if (tenure_days < 365) {
        p_lost = 0.06;
    } else {
        speed_kmh *= 1.1;
    }
    int64_t travel_s = (int64_t)(route_m / 1000.0 / speed_kmh * 3600.0) + rng_range(r, 60, 180);
    if (rng_chance(r, p_lost)) {
        travel_s += rng_range(r, 5, 20) * 60;
    }
    if (stacked) {
        travel_s += (int64_t)stacked * rng_range(r, 240, 540); /* earlier drops first */
    }
    g->arrived_customer = g->picked_up + travel_s;
    int64_t handover_s = rng_range(r, 90, 300);
    now = g->arrived_customer;

    /* At the door: usually straight in; sometimes a call; unreachable
     * customers do not answer and the order becomes undeliverable. */
    int undeliverable = 0;
    int no_answer = unreachable ? rng_chance(r, 0.8) : rng_chance(r, 0.003);
    if (no_answer) {
        int attempts = (int)rng_range(r, 2, 3);
        undeliverable = unreachable ? rng_chance(r, 0.85) : rng_chance(r, 0.6);
        for (int i = 0; i < attempts; i++) {
            now += rng_range(r, 60, 180);
            extra_ev *e = add_extra(g, "contact_attempt", now);
            if (e != NULL) {
                e->rider = g->rider;
                e->channel = i == 1 ? "sms" : "call";
                e->outcome = (!undeliverable && i == attempts - 1) ? "reached" : "no_answer";
                e->lat_e6 = g->customer_lat_e6;
                e->lng_e6 = g->customer_lng_e6;
            }
        }
        now += rng_range(r, 180, 600);
        if (undeliverable) {
            extra_ev *e = add_extra(g, "order_undeliverable", now);
            if (e != NULL) {
                e->rider = g->rider;
                e->by = "customer";
                e->reason = "customer_unreachable";
                e->lat_e6 = g->customer_lat_e6;
                e->lng_e6 = g->customer_lng_e6;
            }
        }
    } else if (rng_chance(r, 0.07)) {
        now += rng_range(r, 20, 90);
        extra_ev *e = add_extra(g, "contact_attempt", now);
        if (e != NULL) {
            e->rider = g->rider;
            e->channel = "call";
            e->outcome = "reached";
            e->lat_e6 = g->customer_lat_e6;
            e->lng_e6 = g->customer_lng_e6;
        }
        handover_s += rng_range(r, 60, 180);
    }
    if (!undeliverable) {
        g->delivered = now + handover_s;
        geo_offset(g->customer_lat_e6, g->customer_lng_e6, 5.0 + 35.0 * rng_unit(r),
                   2.0 * M_PI * rng_unit(r), &g->delivered_lat_e6, &g->delivered_lng_e6);
        if (g->rider == pb->far_rider) {
            /* Marks the order delivered on the way, far from the door. */
            g->arrived_customer = FC_TS_NONE;
            g->delivered = g->picked_up + travel_s * 6 / 10;
            geo_offset(g->customer_lat_e6, g->customer_lng_e6, (double)rng_range(r, 500, 3000),
                       2.0 * M_PI * rng_unit(r), &g->delivered_lat_e6, &g->delivered_lng_e6);
        } else if (g->arrived_customer != FC_TS_NONE && g->id[strlen(g->id) - 1] == '7') {
            /* One order in ten sends the rider's GPS ping at the door (15 m
             * north of it) as the rider arrives: the fact door_gps_m. Picked
             * by id, not drawn, so that the world's draws stay the same. */
            extra_ev *e = add_extra(g, "gps", g->arrived_customer);
            if (e != NULL) {
                e->rider = g->rider;
                e->lat_e6 = g->customer_lat_e6 + 135;
                e->lng_e6 = g->customer_lng_e6;
            }
        }
    } else {
        g->delivered = FC_TS_NONE;
    }

    /* Cancellations: the earliest that applies wins. */
    int64_t cancel_at = FC_TS_NONE;
    const char *by = NULL, *why = NULL;
    int64_t wait_push = g->pushed - t;
    int64_t wait_accept = g->accepted - t;
    if (outage && wait_push > 12 * 60 && rng_chance(r, 0.45)) {
        cancel_at = t + rng_range(r, 8 * 60, wait_push - 60);
        by = "customer";
        why = "long_wait";
    } else if (shortage && wait_accept > 15 * 60 && rng_chance(r, 0.2)) {
        cancel_at = t + rng_range(r, 12 * 60, wait_accept - 30);
        by = rng_chance(r, 0.7) ? "customer" : "platform";
        why = by[0] == 'c' ? "long_wait" : "no_rider_available";
    } else {
        double u = rng_unit(r);
        if (u < 0.018) {
            cancel_at = t + rng_range(r, 2 * 60, 25 * 60);
            by = "customer";
            why = PICK(r, customer_cancel_reasons);
        } else if (u < 0.026) {
            cancel_at = t + rng_range(r, 2 * 60, 12 * 60);
            by = "merchant";
            why = PICK(r, merchant_cancel_reasons);
        } else if (u < 0.029) {
            cancel_at = g->accepted + rng_range(r, 60, 600);
            by = "rider";
            why = PICK(r, rider_cancel_reasons);
        } else if (u < 0.032) {
            cancel_at = t + rng_range(r, 30, 180);
            by = "platform";
            why = PICK(r, platform_cancel_reasons);
        }
    }
    if (cancel_at != FC_TS_NONE && cancel_at < g->picked_up) {
        g->cancelled = cancel_at;
        g->cancelled_by = by;
        g->cancel_reason = why;
        int64_t *steps[] = {&g->pushed, &g->accepted, &g->arrived_merchant, &g->ready};
        for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
            if (*steps[i] != FC_TS_NONE && *steps[i] >= cancel_at) {
                *steps[i] = FC_TS_NONE;
            }
        }
        if (strcmp(by, "merchant") == 0) {
            g->ready = FC_TS_NONE;
        }
        g->picked_up = g->arrived_customer = g->delivered = FC_TS_NONE;
        g->delivered_lat_e6 = g->delivered_lng_e6 = FC_GEO_NONE;
        /* Drop the extra events after the cancellation. */
        size_t keep = 0;
        for (size_t i = 0; i < g->n_extra; i++) {
            if (g->extra[i].ts < cancel_at) {
                g->extra[keep++] = g->extra[i];
            }
        }
        g->n_extra = keep;
        if (g->accepted == FC_TS_NONE) {
            g->rider = SIZE_MAX;
        }
        undeliverable = 0;
    }

    /* What the delivery cost the platform: rider pay by distance, more at
     * dinner and in bad weather; half when cancelled after acceptance. */
    double cost = cd->cost_base + cd->cost_per_km * route_m / 1000.0;
    cost *= (dinner ? 1.15 : 1.0) * (1.0 + 0.1 * severity);
    if (g->cancelled != FC_TS_NONE) {
        cost = g->accepted != FC_TS_NONE ? cost * 0.5 : 0.0;
    }
    g->cost_minor = minor_of(cost, cd->decimals);

    /* After delivery: ratings, complaints, compensation, contacts, surveys.
     * Late orders rate about 2.1 stars against 3.8 (Olist). */
    if (g->delivered == FC_TS_NONE) {
        if (undeliverable && rng_chance(r, 0.4)) {
            extra_ev *e = add_extra(g, "cs_contact", now + rng_range(r, 300, 1800));
            if (e != NULL) {
                e->by = "customer";
                e->channel = "chat";
                e->category = "not_received";
            }
        }
        return;
    }
    int64_t late_s = g->delivered - g->promised;
    int late = late_s > 0;
    int far = g->rider == pb->far_rider;
    int64_t after = g->delivered;
    const char *complaint = NULL;
    if (far && rng_chance(r, 0.45)) {
        complaint = "not_received";
    } else {
        double p =
            0.02 + (late ? 0.08 : 0.0) + (late_s > 20 * 60 ? 0.08 : 0.0) + (slow ? 0.03 : 0.0);
        if (rng_chance(r, p)) {
            complaint = late && rng_chance(r, 0.6)
                            ? "late"
                            : complaint_other_cats[rng_pick(r, complaint_other_w, 6)];
        }
    }
    if (complaint != NULL) {
        int64_t ts = after + rng_range(r, 120, 3600);
        extra_ev *e = add_extra(g, "complaint", ts);
        if (e != NULL) {
            e->by = "customer";
            e->category = complaint;
            e->channel = "app";
        }
        if (rng_chance(r, 0.7)) {
            e = add_extra(g, "cs_contact", ts + rng_range(r, 30, 600));
            if (e != NULL) {
                e->by = "customer";
                e->channel = rng_chance(r, 0.8) ? "chat" : "call";
                e->category = complaint;
            }
        }
        double share = 0.0;
        if (strcmp(complaint, "not_received") == 0) {
            share = rng_chance(r, 0.85) ? 1.0 : 0.0;
        } else if (strcmp(complaint, "rider_behaviour") != 0 && strcmp(complaint, "other") != 0 &&
                   rng_chance(r, 0.75)) {
            share = strcmp(complaint, "late") == 0      ? 0.1 + 0.1 * rng_unit(r)
                    : strcmp(complaint, "damaged") == 0 ? 0.5 + 0.5 * rng_unit(r)
                                                        : 0.2 + 0.4 * rng_unit(r);
        }
        if (share > 0.0) {
            e = add_extra(g, "compensation", ts + rng_range(r, 300, 3600));
            if (e != NULL) {
                e->by = "platform";
                e->reason = complaint;
                e->amount_minor = (int64_t)llround((double)g->value_minor * share);
            }
        }
    } else if (late_s > 15 * 60 && rng_chance(r, 0.25)) {
        extra_ev *e = add_extra(g, "compensation", after + rng_range(r, 300, 3600));
        if (e != NULL) {
            e->by = "platform";
            e->reason = "late";
            e->amount_minor = g->value_minor / 10;
        }
    }
    if (complaint == NULL && late_s > 10 * 60 && rng_chance(r, 0.15)) {
        extra_ev *e = add_extra(g, "cs_contact", g->promised + rng_range(r, 300, 900));
        if (e != NULL) {
            e->by = "customer";
            e->channel = "chat";
            e->category = "where_is_my_order";
        }
    }
    if (rng_chance(r, far && complaint != NULL ? 0.8 : 0.35)) {
        static const double on_time_w[5] = {0.13, 0.08, 0.12, 0.22, 0.45};
        static const double late_w[5] = {0.50, 0.18, 0.12, 0.08, 0.12};
        int score = complaint != NULL && strcmp(complaint, "not_received") == 0
                        ? 1
                        : 1 + (int)rng_pick(r, late ? late_w : on_time_w, 5);
        extra_ev *e = add_extra(g, "rating", after + rng_range(r, 300, 7200));
        if (e != NULL) {
            e->by = "customer";
            e->score = score;
        }
    }
    if (rng_chance(r, 0.04)) {
        /* NPS answers: mostly promoters when on time, detractors when late. */
        static const double on_time_nps[11] = {0.01, 0.0,  0.01, 0.01, 0.02, 0.03,
                                               0.05, 0.12, 0.20, 0.25, 0.30};
        static const double late_nps[11] = {0.10, 0.06, 0.08, 0.10, 0.12, 0.14,
                                            0.12, 0.12, 0.08, 0.05, 0.03};
        int score = (int)rng_pick(r, late ? late_nps : on_time_nps, 11);
        extra_ev *e = add_extra(g, "survey_response", after + rng_range(r, 3600, 86400));
        if (e != NULL) {
            e->by = "customer";
            e->score = score;
        }
    }
}

/* ---------------------------------------------------------------------------
 * Writing an order.
 */
static char *put_customer(char *p, const city_def *cd, int64_t customer) {
    *p++ = (char)(cd->code[0] + 32);
    *p++ = (char)(cd->code[1] + 32);
    *p++ = (char)(cd->code[2] + 32);
    p = put_s(p, "-c");
    return put_u(p, (uint64_t)customer, 6);
}

static void write_row(world *w, const g_order *g) {
    const g_city *c = &w->cities[g->city];
    const city_def *cd = c->def;
    const fc_tz *tz = c->tz;
    const g_merchant *m = &w->merchants[g->merchant];
    char *p = out_room(&w->orders);
    p = put_s(p, g->id);
    *p++ = ',';
    p = put_s(p, cd->city);
    *p++ = ',';
    p = put_s(p, w->zones[g->zone].def->zone);
    *p++ = ',';
    p = put_s(p, m->id);
    *p++ = ',';
    p = put_customer(p, cd, g->customer);
    *p++ = ',';
    if (g->rider != SIZE_MAX) {
        p = put_s(p, w->riders[g->rider].id);
    }
    *p++ = ',';
    p = put_s(p, merchant_kind_category[m->kind]);
    *p++ = ',';
    *p++ = g->prebook ? '1' : '0';
    *p++ = ',';
    p = put_time_col(p, tz, g->created);
    p = put_time_col(p, tz, g->promised);
    p = put_time_col(p, tz, g->est_ready);
    p = put_time_col(p, tz, g->pushed);
    p = put_time_col(p, tz, g->accepted);
    p = put_time_col(p, tz, g->arrived_merchant);
    p = put_time_col(p, tz, g->ready);
    p = put_time_col(p, tz, g->picked_up);
    p = put_time_col(p, tz, g->arrived_customer);
    p = put_time_col(p, tz, g->delivered);
    p = put_time_col(p, tz, g->cancelled);
    if (g->cancelled_by != NULL) {
        p = put_s(p, g->cancelled_by);
        *p++ = ',';
        p = put_s(p, g->cancel_reason);
    } else {
        *p++ = ',';
    }
    *p++ = ',';
    p = put_coord(p, m->lat_e6);
    *p++ = ',';
    p = put_coord(p, m->lng_e6);
    *p++ = ',';
    p = put_coord(p, g->customer_lat_e6);
    *p++ = ',';
    p = put_coord(p, g->customer_lng_e6);
    *p++ = ',';
    if (g->delivered_lat_e6 != FC_GEO_NONE) {
        p = put_coord(p, g->delivered_lat_e6);
        *p++ = ',';
        p = put_coord(p, g->delivered_lng_e6);
    } else {
        *p++ = ',';
    }
    *p++ = ',';
    p = put_i(p, g->distance_m);
    *p++ = ',';
    p = put_money(p, g->value_minor, cd->decimals);
    *p++ = ',';
    p = put_money(p, g->cost_minor, cd->decimals);
    *p++ = ',';
    p = put_s(p, cd->currency);
    *p++ = '\n';
    out_commit(&w->orders, p);
    w->n_orders++;
}

/* JSON helpers: every value written here is one of the generator's own
 * identifiers or names, plain ASCII without quotes or backslashes. */
static char *put_jstr(char *p, const char *key, const char *v) {
    *p++ = ',';
    *p++ = '"';
    p = put_s(p, key);
    p = put_s(p, "\":\"");
    p = put_s(p, v);
    *p++ = '"';
    return p;
}

static char *put_jkey(char *p, const char *key) {
    *p++ = ',';
    *p++ = '"';
    p = put_s(p, key);
    *p++ = '"';
    *p++ = ':';
    return p;
}

static char *put_jtime(char *p, const char *key, const fc_tz *tz, int64_t t) {
    p = put_jkey(p, key);
    *p++ = '"';
    p = put_time(p, tz, t);
    *p++ = '"';
    return p;
}

static void write_extras(world *w, const g_order *g) {
    const g_city *c = &w->cities[g->city];
    const city_def *cd = c->def;
    for (size_t i = 0; i < g->n_extra; i++) {
        const extra_ev *e = &g->extra[i];
        /* Ids are "<order>:<type>:<n>", n counting events of that type. */
        unsigned nth = 1;
        for (size_t k = 0; k < i; k++) {
            nth += strcmp(g->extra[k].type, e->type) == 0;
        }
        char *p = out_room(&w->events);
        p = put_s(p, "{\"id\":\"");
        p = put_s(p, g->id);
        *p++ = ':';
        p = put_s(p, e->type);
        *p++ = ':';
        p = put_u(p, nth, 1);
        *p++ = '"';
        p = put_jstr(p, "type", e->type);
        p = put_jtime(p, "ts", c->tz, e->ts);
        p = put_jstr(p, "order", g->id);
        p = put_jstr(p, "city", cd->city);
        p = put_jstr(p, "zone", w->zones[g->zone].def->zone);
        if (e->rider != SIZE_MAX) {
            p = put_jstr(p, "rider", w->riders[e->rider].id);
        }
        if (e->reason != NULL) {
            p = put_jstr(p, "reason", e->reason);
        }
        if (e->by != NULL) {
            p = put_jstr(p, "by", e->by);
        }
        if (e->category != NULL) {
            p = put_jstr(p, "category", e->category);
        }
        if (e->channel != NULL) {
            p = put_jstr(p, "channel", e->channel);
        }
        if (e->outcome != NULL) {
            p = put_jstr(p, "outcome", e->outcome);
        }
        if (e->amount_minor != FC_MONEY_NONE) {
            p = put_jkey(p, "amount");
            p = put_money(p, e->amount_minor, cd->decimals);
            p = put_jstr(p, "currency", cd->currency);
        }
        if (e->score != FC_INT_NONE) {
            p = put_jkey(p, "score");
            p = put_i(p, e->score);
        }
        if (e->lat_e6 != FC_GEO_NONE) {
            p = put_jkey(p, "lat");
            p = put_coord(p, e->lat_e6);
            p = put_jkey(p, "lng");
            p = put_coord(p, e->lng_e6);
        }
        *p++ = '}';
        *p++ = '\n';
        out_commit(&w->events, p);
        w->n_events++;
    }
}

static void write_weather(world *w) {
    for (size_t i = 0; i < w->n_weather; i++) {
        const g_weather *g = &w->weather[i];
        const g_city *c = &w->cities[g->city];
        char *p = out_room(&w->events);
        p = put_s(p, "{\"id\":\"wx-");
        p = put_s(p, c->def->city);
        *p++ = '-';
        p = put_u(p, i + 1, 3);
        *p++ = '"';
        p = put_jstr(p, "type", "weather");
        p = put_jtime(p, "ts", c->tz, g->from);
        p = put_jstr(p, "city", c->def->city);
        if (g->zone != NULL) {
            p = put_jstr(p, "zone", g->zone);
        }
        p = put_jstr(p, "category", g->kind);
        p = put_jtime(p, "from", c->tz, g->from);
        p = put_jtime(p, "to", c->tz, g->to);
        p = put_jkey(p, "severity");
        p = put_i(p, g->severity);
        *p++ = '}';
        *p++ = '\n';
        out_commit(&w->events, p);
        w->n_events++;
    }
}

/* The injected dispatch outage as the platform knows it: one
 * platform_incident event of its city (the ground-truth file lists the
 * orders it hit). */
static void write_incidents(world *w) {
    const problems *pb = &w->pb;
    const g_city *c = &w->cities[pb->city[P_OUTAGE]];
    char *p = out_room(&w->events);
    p = put_s(p, "{\"id\":\"inc-");
    p = put_s(p, c->def->city);
    p = put_s(p, "-dispatch-outage\"");
    p = put_jstr(p, "type", "platform_incident");
    p = put_jtime(p, "ts", c->tz, pb->outage_from);
    p = put_jstr(p, "city", c->def->city);
    p = put_jtime(p, "from", c->tz, pb->outage_from);
    p = put_jtime(p, "to", c->tz, pb->outage_to);
    p = put_jstr(p, "reason", "dispatch_outage");
    *p++ = '}';
    *p++ = '\n';
    out_commit(&w->events, p);
    w->n_events++;
}

/* Record the order under every problem it belongs to. */
static int note_problems(world *w, const g_order *g) {
    problems *pb = &w->pb;
    int rc = FC_OK;
    int64_t t = g->slot;
    const g_city *c = &w->cities[g->city];
    if (g->merchant == pb->slow_merchant) {
        rc |= id_push(&pb->affected[P_SLOW_MERCHANT], g->id);
    }
    if (g->zone == pb->shortage_zone) {
        fc_localtime lt = fc_tz_local(c->tz, t);
        if (lt.hour >= pb->shortage_from_h && lt.hour < pb->shortage_to_h) {
            rc |= id_push(&pb->affected[P_RIDER_SHORTAGE], g->id);
        }
    }
    if (g->rider == pb->far_rider && g->delivered != FC_TS_NONE) {
        rc |= id_push(&pb->affected[P_FAR_DELIVERY], g->id);
    }
    if (g->zone == pb->unreachable_zone && t >= pb->unreachable_from && t < pb->unreachable_to) {
        rc |= id_push(&pb->affected[P_UNREACHABLE], g->id);
    }
    if (g->city == pb->city[P_OUTAGE] && t >= pb->outage_from && t < pb->outage_to) {
        rc |= id_push(&pb->affected[P_OUTAGE], g->id);
    }
    return rc == FC_OK ? FC_OK : FC_ENOMEM;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* All orders of one city on one local day. */
static int gen_city_day(world *w, size_t ci, int32_t day_index, int64_t **times, size_t *times_cap,
                        fc_err *err) {
    const fc_gen_opts *o = w->o;
    g_city *c = &w->cities[ci];
    const city_def *cd = c->def;
    int64_t day = o->start_date + day_index;
    int weekday = (int)((day % 7 + 7 + 3) % 7); /* 1970-01-01 was a Thursday */
    int weekend = (cd->weekend >> weekday) & 1;
    rng r;
    rng_seed(&r, o->seed, 1000u + (uint64_t)day_index * 64u + ci);
    /* Weekends are busier; each day varies by a few percent. */
    double day_noise = (0.95 + 0.1 * rng_unit(&r)) * (weekend ? 1.15 : 1.0);
    double hour_total = 0.0;
    for (int h = 0; h < 24; h++) {
        hour_total += hour_weight[h];
    }
    int64_t y;
    unsigned mo, d;
    fc_civil_from_days(day, &y, &mo, &d);
    char prefix[16];
    snprintf(prefix, sizeof prefix, "%s-%04lld%02u%02u-", cd->code, (long long)y, mo, d);
    size_t nz = c->z1 - c->z0;
    double zone_w[16];
    int64_t seq = 0;
    g_order g;

    for (int h = 0; h < 24; h++) {
        int64_t hour_start = local_instant(c, day, (int64_t)h * 3600);
        /* Expected orders of the hour in each zone (weather adds demand). */
        double expected = 0.0;
        for (size_t k = 0; k < nz; k++) {
            const g_zone *z = &w->zones[c->z0 + k];
            int sev = weather_at(w, ci, z->def->zone, hour_start + 1800);
            zone_w[k] = z->demand * zone_hour_factor(z->def->kind, h, weekend) * (1.0 + 0.1 * sev);
            expected += zone_w[k];
        }
        double mean_zone = expected / (double)nz;
        double lambda =
            cd->orders_per_day * o->scale * day_noise * hour_weight[h] / hour_total * mean_zone;
        size_t n = (size_t)rng_poisson(&r, lambda);
        if (fc_grow((void **)times, times_cap, n + 1, sizeof **times) != FC_OK) {
            return fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
        }
        for (size_t i = 0; i < n; i++) {
            (*times)[i] = hour_start + rng_range(&r, 0, 3599);
        }
        qsort(*times, n, sizeof **times, cmp_i64);
        for (size_t i = 0; i < n; i++) {
            size_t zi = c->z0 + rng_pick(&r, zone_w, nz);
            memset(&g, 0, offsetof(g_order, extra));
            seq++;
            *put_u(put_s(g.id, prefix), (uint64_t)seq, 6) = '\0';
            simulate(w, &r, &g, zi, (*times)[i], h);
            write_row(w, &g);
            write_extras(w, &g);
            if (note_problems(w, &g) != FC_OK) {
                return fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
            }
        }
    }
    c->orders += seq;
    return FC_OK;
}

/* ---------------------------------------------------------------------------
 * Reference files and the ground truth.
 */
static int write_reference(world *w, const char *dir, fc_err *err) {
    out_file f;
    int rc = FC_OK;
    char line[512];

    rc = out_open(&f, dir, files[0], err);
    if (rc != FC_OK) {
        return rc;
    }
    out_puts(&f, "country,city,tz,currency\n");
    for (size_t c = 0; c < N_CITIES; c++) {
        const city_def *cd = &city_defs[c];
        snprintf(line, sizeof line, "%s,%s,%s,%s\n", cd->country, cd->city, cd->tz, cd->currency);
        out_puts(&f, line);
    }
    rc = out_close(&f, 1, err);
    if (rc != FC_OK) {
        return rc;
    }

    rc = out_open(&f, dir, files[1], err);
    if (rc != FC_OK) {
        return rc;
    }
    out_puts(&f, "city,zone,kind\n");
    for (size_t i = 0; i < w->n_zones; i++) {
        const g_zone *z = &w->zones[i];
        snprintf(line, sizeof line, "%s,%s,%s\n", city_defs[z->city].city, z->def->zone,
                 zone_kind_names[z->def->kind]);
        out_puts(&f, line);
    }
    rc = out_close(&f, 1, err);
    if (rc != FC_OK) {
        return rc;
    }

    rc = out_open(&f, dir, files[2], err);
    if (rc != FC_OK) {
        return rc;
    }
    out_puts(&f, "merchant,city,zone,kind,brand,lat,lng\n");
    for (size_t i = 0; i < w->n_merchants; i++) {
        const g_merchant *m = &w->merchants[i];
        char *p = out_room(&f);
        p = put_s(p, m->id);
        *p++ = ',';
        p = put_s(p, city_defs[m->city].city);
        *p++ = ',';
        p = put_s(p, w->zones[m->zone].def->zone);
        *p++ = ',';
        p = put_s(p, merchant_kind_names[m->kind]);
        *p++ = ',';
        p = put_s(p, m->brand);
        *p++ = ',';
        p = put_coord(p, m->lat_e6);
        *p++ = ',';
        p = put_coord(p, m->lng_e6);
        *p++ = '\n';
        out_commit(&f, p);
    }
    rc = out_close(&f, 1, err);
    if (rc != FC_OK) {
        return rc;
    }

    rc = out_open(&f, dir, files[3], err);
    if (rc != FC_OK) {
        return rc;
    }
    out_puts(&f, "rider,city,capacity,fleet,start_date\n");
    for (size_t i = 0; i < w->n_riders; i++) {
        const g_rider *rd = &w->riders[i];
        int64_t y;
        unsigned mo, d;
        fc_civil_from_days(rd->start_date, &y, &mo, &d);
        snprintf(line, sizeof line, "%s,%s,%s,%s,%04lld-%02u-%02u\n", rd->id,
                 city_defs[rd->city].city, capacity_names[rd->capacity], rd->fleet, (long long)y,
                 mo, d);
        out_puts(&f, line);
    }
    return out_close(&f, 1, err);
}

static json_t *jwindow(int64_t from, int64_t to) {
    char a[32], b[32];
    format_utc(from, a);
    format_utc(to, b);
    return json_pack("{s:s, s:s}", "from", a, "to", b);
}

/* The whole generated period of one city (its local days) as a window. */
static json_t *city_period(const world *w, size_t city) {
    const g_city *c = &w->cities[city];
    return jwindow(local_instant(c, w->o->start_date, 0),
                   local_instant(c, (int64_t)w->o->start_date + w->o->days, 0));
}

static json_t *jids(const id_list *l) {
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < l->n; i++) {
        if (json_array_append_new(arr, json_string(l->ids[i])) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

static int write_ground_truth(world *w, const char *dir, fc_err *err) {
    const problems *pb = &w->pb;
    const fc_gen_opts *o = w->o;
    int rc = FC_OK;
    char path[4096], tmp[4096], date[16];
    json_t *root = NULL, *list = NULL;
    snprintf(path, sizeof path, "%s/%s", dir, GROUND_TRUTH);
    snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, GROUND_TRUTH);
    int64_t y;
    unsigned mo, d;
    fc_civil_from_days(o->start_date, &y, &mo, &d);
    snprintf(date, sizeof date, "%04lld-%02u-%02u", (long long)y, mo, d);

    list = json_array();
    root = json_pack("{s:s, s:o, s:s, s:i, s:f, s:o}", "generator", "fulcrum gen", "seed",
                     o->seed <= (uint64_t)INT64_MAX ? json_integer((json_int_t)o->seed)
                                                    : json_real((double)o->seed),
                     "start", date, "days", (int)o->days, "scale", o->scale, "period",
                     jwindow(w->period_from, w->period_to));
    if (list == NULL || root == NULL) {
        rc = fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
        goto out;
    }

    const g_merchant *m = &w->merchants[pb->slow_merchant];
    json_array_append_new(
        list,
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:s}", "type", "slow_merchant", "city",
                  city_defs[m->city].city, "zone", w->zones[m->zone].def->zone, "merchant", m->id,
                  "kind", merchant_kind_names[m->kind], "window", city_period(w, m->city), "orders",
                  jids(&pb->affected[P_SLOW_MERCHANT]), "description",
                  "prepares about 1.8 times its estimate plus 6-15 minutes, every day, so "
                  "its orders wait at the merchant and run late"));

    const g_city *sc = &w->cities[pb->city[P_RIDER_SHORTAGE]];
    json_t *windows = json_array();
    for (int32_t k = 0; windows != NULL && k < o->days; k++) {
        int64_t day = o->start_date + k;
        json_array_append_new(windows, jwindow(local_instant(sc, day, pb->shortage_from_h * 3600),
                                               local_instant(sc, day, pb->shortage_to_h * 3600)));
    }
    json_array_append_new(
        list,
        json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:s}", "type", "rider_shortage", "city",
                  sc->def->city, "zone", w->zones[pb->shortage_zone].def->zone, "window",
                  jwindow(local_instant(sc, o->start_date, pb->shortage_from_h * 3600),
                          local_instant(sc, o->start_date + o->days - 1, pb->shortage_to_h * 3600)),
                  "windows", windows, "orders", jids(&pb->affected[P_RIDER_SHORTAGE]),
                  "description",
                  "every day 18:00-21:00 local: 2-6 refusals per order, acceptance 5-18 minutes "
                  "late, riders come from far, some orders cancelled for the wait"));

    const g_rider *rd = &w->riders[pb->far_rider];
    json_array_append_new(
        list,
        json_pack("{s:s, s:s, s:s, s:o, s:o, s:s}", "type", "far_delivery_rider", "city",
                  city_defs[rd->city].city, "rider", rd->id, "window", city_period(w, rd->city),
                  "orders", jids(&pb->affected[P_FAR_DELIVERY]), "description",
                  "marks orders delivered 500-3000 m from the customer's point, early; "
                  "about 45% of them draw a not_received complaint"));

    const g_city *uc = &w->cities[pb->city[P_UNREACHABLE]];
    json_array_append_new(
        list, json_pack("{s:s, s:s, s:s, s:o, s:o, s:s}", "type", "unreachable_customers", "city",
                        uc->def->city, "zone", w->zones[pb->unreachable_zone].def->zone, "window",
                        jwindow(pb->unreachable_from, pb->unreachable_to), "orders",
                        jids(&pb->affected[P_UNREACHABLE]), "description",
                        "customers do not answer (2-3 contact attempts with no_answer); most of "
                        "these orders end undeliverable"));

    const g_city *oc = &w->cities[pb->city[P_OUTAGE]];
    json_array_append_new(
        list, json_pack("{s:s, s:s, s:o, s:o, s:s}", "type", "dispatch_outage", "city",
                        oc->def->city, "window", jwindow(pb->outage_from, pb->outage_to), "orders",
                        jids(&pb->affected[P_OUTAGE]), "description",
                        "no order is pushed to riders until the window ends (then 1-15 minutes of "
                        "backlog); about 45% of the waiting customers cancel"));

    if (json_array_size(list) != P__COUNT) {
        rc = fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory building the ground truth");
        goto out;
    }
    json_object_set_new(root, "problems", list);
    list = NULL;
    if (json_dump_file(root, tmp, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0) {
        remove(tmp);
        rc = fc_err_set(err, FC_EIO, tmp, 0, 0, "cannot write");
        goto out;
    }
    if (rename(tmp, path) != 0) {
        remove(tmp);
        rc = fc_err_set(err, FC_EIO, path, 0, 0, "cannot rename into place: %s", strerror(errno));
    }
out:
    json_decref(list);
    json_decref(root);
    return rc;
}

/* ---------------------------------------------------------------------------
 * Public functions.
 */
void fc_gen_opts_init(fc_gen_opts *o) {
    memset(o, 0, sizeof *o);
    o->seed = 1;
    o->days = 7;
    o->start_date = (int32_t)fc_days_from_civil(2026, 3, 2);
    o->scale = 1.0;
}

int fc_gen_scale_parse(const char *s, double *out) {
    static const struct {
        const char *name;
        double scale;
    } names[] = {{"small", FC_GEN_SCALE_SMALL}, {"medium", 0.25}, {"default", 1.0}, {"large", 3.0}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(s, names[i].name) == 0) {
            *out = names[i].scale;
            return FC_OK;
        }
    }
    double v;
    if (fc_parse_f64(fc_str_c(s), &v) != FC_OK || !(v > 0.0 && v <= 20.0)) {
        return FC_EINVAL;
    }
    *out = v;
    return FC_OK;
}

const char *fc_gen_file(size_t i) {
    return i < sizeof files / sizeof files[0] ? files[i] : NULL;
}

int fc_gen_world(const char *dir, const fc_gen_opts *o, fc_gen_summary *sum, fc_err *err) {
    int rc = FC_OK;
    world *w = NULL;
    int64_t *times = NULL;
    size_t times_cap = 0;

    if (o->days < 1 || o->days > FC_GEN_MAX_DAYS) {
        return fc_err_set(err, FC_EINVAL, NULL, 0, 0, "days must be 1-%d, not %d", FC_GEN_MAX_DAYS,
                          (int)o->days);
    }
    if (!(o->scale > 0.0 && o->scale <= 20.0)) {
        return fc_err_set(err, FC_EINVAL, NULL, 0, 0, "scale must be in (0, 20]");
    }
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        return fc_err_set(err, FC_EIO, dir, 0, 0, "cannot create the folder: %s", strerror(errno));
    }
    w = fc_calloc(1, sizeof *w);
    if (w == NULL) {
        return fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
    }
    w->o = o;
    rng r;
    rng_seed(&r, o->seed, 0);
    rc = build_world(w, &r, err);
    if (rc != FC_OK) {
        goto out;
    }
    choose_problems(w, &r);
    choose_weather(w, &r);
    w->period_from = INT64_MAX;
    w->period_to = INT64_MIN;
    for (size_t c = 0; c < N_CITIES; c++) {
        int64_t a = local_instant(&w->cities[c], o->start_date, 0);
        int64_t b = local_instant(&w->cities[c], (int64_t)o->start_date + o->days, 0);
        w->period_from = a < w->period_from ? a : w->period_from;
        w->period_to = b > w->period_to ? b : w->period_to;
    }

    rc = write_reference(w, dir, err);
    if (rc != FC_OK) {
        goto out;
    }
    rc = out_open(&w->orders, dir, files[4], err);
    if (rc != FC_OK) {
        goto out;
    }
    rc = out_open(&w->events, dir, files[5], err);
    if (rc != FC_OK) {
        goto out;
    }
    out_puts(&w->orders, orders_header);
    write_weather(w);
    write_incidents(w);

    for (int32_t d = 0; d < o->days; d++) {
        rng shifts;
        rng_seed(&shifts, o->seed, 500u + (uint64_t)d);
        plan_shifts(w, &shifts);
        for (size_t c = 0; c < N_CITIES; c++) {
            if (o->progress) {
                fprintf(stderr, "\rgen: day %d/%d %-12s %10lld orders", (int)d + 1, (int)o->days,
                        city_defs[c].city, (long long)w->n_orders);
                fflush(stderr);
            }
            rc = gen_city_day(w, c, d, &times, &times_cap, err);
            if (rc != FC_OK) {
                goto out;
            }
        }
    }
    if (o->progress) {
        fprintf(stderr, "\r%60s\r", "");
    }
    rc = out_close(&w->orders, 1, err);
    if (rc == FC_OK) {
        rc = out_close(&w->events, 1, err);
    }
    if (rc != FC_OK) {
        goto out;
    }
    rc = write_ground_truth(w, dir, err);
    if (rc != FC_OK) {
        goto out;
    }
    if (sum != NULL) {
        memset(sum, 0, sizeof *sum);
        sum->n_cities = N_CITIES;
        for (size_t c = 0; c < N_CITIES; c++) {
            snprintf(sum->city[c], sizeof sum->city[c], "%s", city_defs[c].city);
            sum->city_orders[c] = w->cities[c].orders;
        }
        sum->orders = w->n_orders;
        sum->events = w->n_events;
        sum->zones = (int64_t)w->n_zones;
        sum->merchants = (int64_t)w->n_merchants;
        sum->riders = (int64_t)w->n_riders;
        sum->n_problems = P__COUNT;
    }
out:
    if (w != NULL) {
        out_close(&w->orders, 0, NULL);
        out_close(&w->events, 0, NULL);
        for (size_t c = 0; c < N_CITIES; c++) {
            fc_tz_free(w->cities[c].tz);
        }
        for (int p = 0; p < P__COUNT; p++) {
            fc_free(w->pb.affected[p].ids);
        }
        fc_free(w->zones);
        fc_free(w->merchants);
        fc_free(w->riders);
        fc_free(w);
    }
    fc_free(times);
    return rc;
}
