/*
 * Settings: incident thresholds per country and city from a YAML file.
 *
 *   defaults:  {grace_min: 5, severe_late_min: 20, ...}
 *   countries: {SA: {grace_min: 10}}
 *   cities:    {dubai: {severe_late_min: 30}}
 *
 * Minutes in the file, seconds in fc_thresholds. Every (country, city) pair
 * named in the file is resolved at load time, so fc_settings_for only looks
 * names up and returns a pointer into the loaded object.
 */
#include <ctype.h>
#include <math.h>
#include <string.h>
#include <strings.h>

#include "order/order.h"

/* The built-in defaults; settings/default.yaml repeats them (a test keeps the
 * two equal). */
static const fc_thresholds builtin = {
    .grace_s = 5 * 60,
    .severe_late_s = 20 * 60,
    .bad_rating_max = 2,
    .far_delivery_m = 300,
    .prep_overrun_s = 5 * 60,
    .weather_severe = 2,
};

/* One settable threshold: its key in the file, where it lives, the unit
 * factor to seconds (1 for counts and metres) and the range allowed in the
 * file's unit. */
typedef struct field_spec {
    const char *key;
    size_t offset;
    int32_t to_seconds;
    double min, max;
} field_spec;

#define N_FIELDS 6
static const field_spec fields[N_FIELDS] = {
    {"grace_min", offsetof(fc_thresholds, grace_s), 60, 0, 1440},
    {"severe_late_min", offsetof(fc_thresholds, severe_late_s), 60, 0, 1440},
    {"bad_rating_max", offsetof(fc_thresholds, bad_rating_max), 1, 0, 5},
    {"far_delivery_m", offsetof(fc_thresholds, far_delivery_m), 1, 1, 100000},
    {"prep_overrun_min", offsetof(fc_thresholds, prep_overrun_s), 60, 0, 1440},
    {"weather_severe", offsetof(fc_thresholds, weather_severe), 1, 1, 3},
};

/* The fields one entry sets. */
typedef struct override {
    int32_t value[N_FIELDS];
    uint32_t set; /* bit i: fields[i] given */
} override;

struct fc_settings {
    fc_thresholds defaults;
    size_t n_countries, n_cities;
    char **countries;          /* names as written */
    fc_thresholds *by_country; /* defaults + country */
    char **cities;
    override *city_over;
    fc_thresholds *combo; /* (n_countries + 1) x n_cities: row 0 no known country,
                             row 1 + k country k; defaults + country + city */
};

static void apply(fc_thresholds *t, const override *o) {
    for (size_t i = 0; i < N_FIELDS; i++) {
        if (o->set & (1u << i)) {
            memcpy((char *)t + fields[i].offset, &o->value[i], sizeof(int32_t));
        }
    }
}

/* Name the offending key in an error already filled (err may be NULL). */
static void set_field(fc_err *err, const char *key, size_t len) {
    if (err != NULL) {
        fc_err_field(err, key, len);
    }
}

static int is_null(const fc_yaml *y) {
    return y == NULL || (y->kind == FC_YAML_SCALAR &&
                         (y->scalar == NULL || y->scalar[0] == '\0' ||
                          strcmp(y->scalar, "~") == 0 || strcmp(y->scalar, "null") == 0));
}

static const char *kind_name(const fc_yaml *y) {
    return y->kind == FC_YAML_MAP ? "a mapping" : y->kind == FC_YAML_SEQ ? "a list" : "a value";
}

/* Parse one threshold value (in the file's unit) into seconds / units. */
static int parse_value(const char *path, const field_spec *fs, const fc_yaml *v, int32_t *out,
                       fc_err *err) {
    if (v->kind != FC_YAML_SCALAR || v->scalar == NULL) {
        return fc_err_set(err, FC_EINVAL, path, v->line, v->col, "%s must be a number, not %s",
                          fs->key, kind_name(v));
    }
    fc_str text = fc_str_c(v->scalar);
    double x;
    if (fs->to_seconds == 60) {
        /* minutes may have decimals: 2.5 is 150 s */
        if (fc_parse_f64(text, &x) != FC_OK || !isfinite(x)) {
            return fc_err_set(err, FC_EINVAL, path, v->line, v->col,
                              "%s must be a number of minutes, not \"%s\"", fs->key, v->scalar);
        }
    } else {
        int64_t i;
        if (fc_parse_i64(text, &i) != FC_OK) {
            return fc_err_set(err, FC_EINVAL, path, v->line, v->col,
                              "%s must be a whole number, not \"%s\"", fs->key, v->scalar);
        }
        x = (double)i;
    }
    if (x < fs->min || x > fs->max) {
        return fc_err_set(err, FC_EINVAL, path, v->line, v->col, "%s is %s, outside %g..%g",
                          fs->key, v->scalar, fs->min, fs->max);
    }
    *out = (int32_t)llround(x * fs->to_seconds);
    return FC_OK;
}

/* Read a map of thresholds into *o. `what` names the entry in messages. */
static int parse_thresholds(const char *path, const char *what, const fc_yaml *m, override *o,
                            fc_err *err) {
    memset(o, 0, sizeof *o);
    if (is_null(m)) {
        return FC_OK;
    }
    if (m->kind != FC_YAML_MAP) {
        return fc_err_set(err, FC_EINVAL, path, m->line, m->col,
                          "%s must be a mapping of thresholds, not %s", what, kind_name(m));
    }
    for (size_t k = 0; k < m->len; k++) {
        size_t i = 0;
        while (i < N_FIELDS && strcmp(m->keys[k], fields[i].key) != 0) {
            i++;
        }
        if (i == N_FIELDS) {
            int rc = fc_err_set(err, FC_EINVAL, path, m->key_lines[k], m->key_cols[k],
                                "unknown key \"%s\" in %s (expected grace_min, severe_late_min, "
                                "bad_rating_max, far_delivery_m, prep_overrun_min or "
                                "weather_severe)",
                                m->keys[k], what);
            set_field(err, m->keys[k], strlen(m->keys[k]));
            return rc;
        }
        if (o->set & (1u << i)) {
            int rc = fc_err_set(err, FC_EINVAL, path, m->key_lines[k], m->key_cols[k],
                                "duplicate key \"%s\" in %s", m->keys[k], what);
            set_field(err, m->keys[k], strlen(m->keys[k]));
            return rc;
        }
        int rc = parse_value(path, &fields[i], m->vals[k], &o->value[i], err);
        if (rc != FC_OK) {
            set_field(err, m->keys[k], strlen(m->keys[k]));
            return rc;
        }
        o->set |= 1u << i;
    }
    return FC_OK;
}

static int find_name(char *const *names, size_t n, const char *name) {
    if (name == NULL) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcasecmp(names[i], name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

static int valid_country(const char *s) {
    return strlen(s) == 2 && isalpha((unsigned char)s[0]) && isalpha((unsigned char)s[1]);
}

/* Read a section (countries or cities): a map of name -> thresholds. Names
 * and overrides go to freshly allocated arrays (*names, *over, *n). */
static int parse_section(const char *path, const char *section, const fc_yaml *m, char ***names,
                         override **over, size_t *n, fc_err *err) {
    *names = NULL;
    *over = NULL;
    *n = 0;
    if (is_null(m)) {
        return FC_OK;
    }
    if (m->kind != FC_YAML_MAP) {
        return fc_err_set(err, FC_EINVAL, path, m->line, m->col,
                          "%s must be a mapping of names to thresholds, not %s", section,
                          kind_name(m));
    }
    if (m->len == 0) {
        return FC_OK;
    }
    *names = fc_calloc(m->len, sizeof **names);
    *over = fc_calloc(m->len, sizeof **over);
    if (*names == NULL || *over == NULL) {
        return fc_err_set(err, FC_ENOMEM, path, 0, 0, "out of memory reading %s", section);
    }
    int is_countries = strcmp(section, "countries") == 0;
    for (size_t k = 0; k < m->len; k++) {
        const char *name = m->keys[k];
        if (name[0] == '\0' || (is_countries && !valid_country(name))) {
            return fc_err_set(err, FC_EINVAL, path, m->key_lines[k], m->key_cols[k],
                              is_countries ? "country \"%s\" is not an ISO 3166 two-letter code"
                                           : "empty city name%s",
                              name);
        }
        if (find_name(*names, *n, name) >= 0) {
            return fc_err_set(err, FC_EINVAL, path, m->key_lines[k], m->key_cols[k],
                              "%s lists \"%s\" twice", section, name);
        }
        char what[160];
        snprintf(what, sizeof what, "%s entry \"%s\"", is_countries ? "country" : "city", name);
        int rc = parse_thresholds(path, what, m->vals[k], &(*over)[*n], err);
        if (rc != FC_OK) {
            return rc;
        }
        (*names)[*n] = fc_strdup(name);
        if ((*names)[*n] == NULL) {
            return fc_err_set(err, FC_ENOMEM, path, 0, 0, "out of memory reading %s", section);
        }
        (*n)++;
    }
    return FC_OK;
}

static void free_names(char **names, size_t n) {
    if (names == NULL) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        fc_free(names[i]);
    }
    fc_free(names);
}

void fc_settings_free(fc_settings *s) {
    if (s == NULL) {
        return;
    }
    free_names(s->countries, s->n_countries);
    free_names(s->cities, s->n_cities);
    fc_free(s->by_country);
    fc_free(s->city_over);
    fc_free(s->combo);
    fc_free(s);
}

fc_settings *fc_settings_default(void) {
    fc_settings *s = fc_calloc(1, sizeof *s);
    if (s != NULL) {
        s->defaults = builtin;
    }
    return s;
}

/* Resolve defaults + country + city for every pair named in the file. */
static int resolve(fc_settings *s, const override *country_over) {
    if (s->n_countries > 0) {
        s->by_country = fc_calloc(s->n_countries, sizeof *s->by_country);
        if (s->by_country == NULL) {
            return FC_ENOMEM;
        }
    }
    for (size_t c = 0; c < s->n_countries; c++) {
        s->by_country[c] = s->defaults;
        apply(&s->by_country[c], &country_over[c]);
    }
    if (s->n_cities == 0) {
        return FC_OK;
    }
    s->combo = fc_calloc((s->n_countries + 1) * s->n_cities, sizeof *s->combo);
    if (s->combo == NULL) {
        return FC_ENOMEM;
    }
    for (size_t row = 0; row <= s->n_countries; row++) {
        for (size_t c = 0; c < s->n_cities; c++) {
            fc_thresholds *t = &s->combo[row * s->n_cities + c];
            *t = row == 0 ? s->defaults : s->by_country[row - 1];
            apply(t, &s->city_over[c]);
        }
    }
    return FC_OK;
}

int fc_settings_load(const char *path, fc_settings **out, fc_err *err) {
    fc_yaml *root = NULL;
    fc_settings *s = NULL;
    char **country_names = NULL;
    override *country_over = NULL;
    size_t n_countries = 0;
    const fc_yaml *sec[3] = {NULL, NULL, NULL}; /* defaults, countries, cities */
    static const char *const sec_names[3] = {"defaults", "countries", "cities"};
    override def;
    int rc;

    *out = NULL;
    rc = fc_yaml_load_file(path, &root, err);
    if (rc != FC_OK) {
        goto out;
    }
    s = fc_settings_default();
    if (s == NULL) {
        rc = fc_err_set(err, FC_ENOMEM, path, 0, 0, "out of memory loading settings");
        goto out;
    }
    if (is_null(root)) {
        goto done; /* an empty file: the built-in defaults */
    }
    if (root->kind != FC_YAML_MAP) {
        rc = fc_err_set(err, FC_EINVAL, path, root->line, root->col,
                        "settings must be a mapping with defaults, countries and cities, not %s",
                        kind_name(root));
        goto out;
    }
    for (size_t k = 0; k < root->len; k++) {
        size_t i = 0;
        while (i < 3 && strcmp(root->keys[k], sec_names[i]) != 0) {
            i++;
        }
        if (i == 3) {
            rc = fc_err_set(err, FC_EINVAL, path, root->key_lines[k], root->key_cols[k],
                            "unknown key \"%s\" (expected defaults, countries or cities)",
                            root->keys[k]);
            set_field(err, root->keys[k], strlen(root->keys[k]));
            goto out;
        }
        if (sec[i] != NULL) {
            rc = fc_err_set(err, FC_EINVAL, path, root->key_lines[k], root->key_cols[k],
                            "duplicate key \"%s\"", root->keys[k]);
            goto out;
        }
        sec[i] = root->vals[k];
    }
    rc = parse_thresholds(path, "defaults", sec[0], &def, err);
    if (rc != FC_OK) {
        goto out;
    }
    apply(&s->defaults, &def);
    rc = parse_section(path, "countries", sec[1], &country_names, &country_over, &n_countries, err);
    if (rc != FC_OK) {
        goto out;
    }
    s->countries = country_names;
    s->n_countries = n_countries;
    country_names = NULL;
    rc = parse_section(path, "cities", sec[2], &s->cities, &s->city_over, &s->n_cities, err);
    if (rc != FC_OK) {
        goto out;
    }
    rc = resolve(s, country_over);
    if (rc != FC_OK) {
        rc = fc_err_set(err, rc, path, 0, 0, "out of memory resolving settings");
        goto out;
    }
done:
    *out = s;
    s = NULL;
    rc = FC_OK;
out:
    free_names(country_names, n_countries);
    fc_free(country_over);
    fc_settings_free(s);
    fc_yaml_free(root);
    return rc;
}

const fc_thresholds *fc_settings_for(const fc_settings *s, const char *country, const char *city) {
    if (s == NULL) {
        return &builtin;
    }
    int co = find_name(s->countries, s->n_countries, country);
    int ci = find_name(s->cities, s->n_cities, city);
    if (ci < 0) {
        return co < 0 ? &s->defaults : &s->by_country[co];
    }
    return &s->combo[(size_t)(co + 1) * s->n_cities + (size_t)ci];
}
