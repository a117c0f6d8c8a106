/*
 * Policy files: reading, inheritance and merging, validation, versions,
 * packs and the choice of a policy for an order.
 *
 * A policy is resolved from its chain of files, base first: each file's
 * sections are applied over what its parents set (maps key by key, rules and
 * exemptions by id). Values keep pointers to the YAML nodes they came from,
 * so every error names the file, line and column of the text at fault, and
 * the pack keeps every file's tree and bytes for its lifetime.
 *
 * Loading collects every error it can (each rule, each key is checked on its
 * own) instead of stopping at the first; fc_policy_check_file returns them.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "policy/policy_internal.h"

/* ---------------------------------------------------------------------------
 * Files.
 */
typedef struct rawfile {
    char *path;
    char *bytes;
    size_t len;
    fc_yaml *doc;
    const char *id;     /* `policy:` */
    const char *parent; /* `inherits:`, NULL for a base */
    const fc_yaml *parent_node;
    const fc_yaml *id_node;
} rawfile;

/* A value and where it was written. */
typedef struct fld {
    const fc_yaml *n; /* NULL: not set */
    const rawfile *rf;
} fld;

/* One key of a map section (values, let, on_time, penalties flattened as
 * "level/capacity/field", compensation, chargeback, appeals). */
typedef struct kv {
    char key[96];
    fld v;
    const fc_yaml *key_node_map; /* the map holding the key, for its position */
    size_t key_index;
} kv;

typedef struct kvs {
    kv *a;
    size_t n, cap;
} kvs;

enum { CAP_FULL_TIME, CAP_PART_TIME, CAP_CROWD, CAP_DEFAULT, CAP__COUNT };
static const char *const capacity_names[CAP__COUNT] = {"full_time", "part_time", "crowd",
                                                       "default"};

typedef struct rule_rec {
    fc_rule r; /* first: a const fc_rule * is a rule_rec * */
    fld id, description, when, liable, review, penalty, compensate, chargeback, disabled;
    fld explain[FC_LANG__COUNT];
    const fc_yaml *explain_map; /* last explain map given (for "missing language" errors) */
    const rawfile *explain_rf;
    const rawfile *origin_rf; /* file that first defined the rule */
    long origin_line;
    const rawfile *changed_rf; /* file that changed it last (origin when never) */
    long changed_line;
    int is_disabled;
    /* resolved at finalize */
    int penalty_level; /* index in levels, -1 none */
    int64_t compensate_minor, chargeback_minor;
} rule_rec;

typedef struct rule_list {
    rule_rec *a;
    size_t n, cap;
} rule_list;

typedef struct exemption {
    char id[64];
    fld idf, description, when, effect, disabled;
    const rawfile *origin_rf;
    long origin_line;
    const rawfile *changed_rf;
    long changed_line;
    int is_disabled;
    fc_cond *cond;
    int waive;
} exemption;

typedef struct exemption_list {
    exemption *a;
    size_t n, cap;
} exemption_list;

typedef struct level {
    char name[64];
    int32_t points[CAP__COUNT];
    int64_t amount_minor[CAP__COUNT];
    int32_t suspend_days[CAP__COUNT]; /* account suspension, 0 none */
    unsigned set;                     /* bit per capacity */
} level;

typedef struct amount {
    char key[64];
    int64_t minor;
} amount;

struct fc_policy {
    const rawfile *rf;
    const fc_policy *parent;
    const char *id;
    char label[48];
    char version[64];
    char currency[4];
    char scope_country[8];
    char scope_city[64];
    fld scope;
    unsigned langs; /* bit per fc_lang */
    fc_thresholds thr;
    /* merged sections, before resolution */
    fld label_f, currency_f, languages_f;
    kvs on_time, values, lets, penalties, compensation, chargeback, appeals;
    rule_list rules[FC_INCIDENT__COUNT];
    exemption_list exemptions;
    /* resolved */
    fc__named *names;
    size_t n_names;
    level *levels;
    size_t n_levels;
    amount *comp, *charge;
    size_t n_comp, n_charge;
    const fc_rule **pub[FC_INCIDENT__COUNT];
    size_t n_pub[FC_INCIDENT__COUNT];
    int64_t sla_s[FC_PARTY__COUNT];
    int auto_review;
    int resolved; /* 0 no, 1 in progress, 2 done, -1 failed */
};

struct fc_policy_pack {
    rawfile **files;
    size_t n_files;
    fc_policy **pols;
    size_t n;
    const fc_policy *base;
};

/* Error collection. */
typedef struct loader {
    fc_err *errs;
    size_t max, n;
    int first_code;
    fc_err first;
} loader;

static int lerr(loader *ld, int code, const char *file, long line, long col, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static int lerr(loader *ld, int code, const char *file, long line, long col, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fc_err e;
    fc_err_set(&e, code, file, line, col, "%s", msg);
    if (ld->n == 0) {
        ld->first = e;
        ld->first_code = code;
    }
    if (ld->n < ld->max && ld->errs != NULL) {
        ld->errs[ld->n] = e;
    }
    ld->n++;
    return code;
}

/* Keep an error already filled in an fc_err (from the YAML reader or the
 * condition compiler). */
static int lkeep(loader *ld, const fc_err *e) {
    return lerr(ld, e->code != FC_OK ? e->code : FC_EINVAL, e->file, e->line, e->col, "%s", e->msg);
}

static int at(loader *ld, const fld *f, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int at(loader *ld, const fld *f, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return lerr(ld, FC_EINVAL, f->rf != NULL ? f->rf->path : "", f->n != NULL ? f->n->line : 0,
                f->n != NULL ? f->n->col : 0, "%s", msg);
}

static int at_key(loader *ld, const rawfile *rf, const fc_yaml *map, size_t k, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int at_key(loader *ld, const rawfile *rf, const fc_yaml *map, size_t k, const char *fmt,
                  ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return lerr(ld, FC_EINVAL, rf->path, map->key_lines[k], map->key_cols[k], "%s", msg);
}

static fld mk(const fc_yaml *n, const rawfile *rf) {
    fld f = {n, rf};
    return f;
}

static fc__pos pos_of(const fld *f) {
    fc__pos p = {f->rf->path, f->n->line, f->n->col, f->rf->bytes, f->rf->len};
    return p;
}

static const char *kind_name(const fc_yaml *y) {
    return y->kind == FC_YAML_MAP ? "a mapping" : y->kind == FC_YAML_SEQ ? "a list" : "a value";
}

static int is_scalar(const fc_yaml *y) {
    return y != NULL && y->kind == FC_YAML_SCALAR && y->scalar != NULL;
}

static int want_scalar(loader *ld, const fld *f, const char *what) {
    if (!is_scalar(f->n)) {
        return at(ld, f, "%s must be a value, not %s", what, kind_name(f->n));
    }
    return FC_OK;
}

static int want_map(loader *ld, const fld *f, const char *what) {
    if (f->n->kind != FC_YAML_MAP) {
        return at(ld, f, "%s must be a mapping (key: value lines), not %s", what, kind_name(f->n));
    }
    return FC_OK;
}

static int parse_bool(const char *s, int *out) {
    if (strcmp(s, "true") == 0 || strcmp(s, "yes") == 0) {
        *out = 1;
        return FC_OK;
    }
    if (strcmp(s, "false") == 0 || strcmp(s, "no") == 0) {
        *out = 0;
        return FC_OK;
    }
    return FC_EPARSE;
}

static int want_bool(loader *ld, const fld *f, const char *what, int *out) {
    int rc = want_scalar(ld, f, what);
    if (rc == FC_OK && parse_bool(f->n->scalar, out) != FC_OK) {
        rc = at(ld, f, "%s must be true or false, not \"%s\"", what, f->n->scalar);
    }
    return rc;
}

static int want_number(loader *ld, const fld *f, const char *what, double lo, double hi,
                       double *out) {
    int rc = want_scalar(ld, f, what);
    if (rc != FC_OK) {
        return rc;
    }
    double x;
    if (fc_parse_f64(fc_str_c(f->n->scalar), &x) != FC_OK || !isfinite(x)) {
        return at(ld, f, "%s must be a number, not \"%s\"", what, f->n->scalar);
    }
    if (x < lo || x > hi) {
        return at(ld, f, "%s is %s, outside %g..%g", what, f->n->scalar, lo, hi);
    }
    *out = x;
    return FC_OK;
}

static int valid_name(const char *s, int allow_dot_dash) {
    if (s[0] == '\0') {
        return 0;
    }
    for (const char *p = s; *p != '\0'; p++) {
        int ok = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' ||
                 (allow_dot_dash && (*p == '.' || *p == '-'));
        if (!ok) {
            return 0;
        }
    }
    return !(s[0] >= '0' && s[0] <= '9') || allow_dot_dash;
}

static int kv_set(kvs *m, const char *key, fld v, const fc_yaml *map, size_t k) {
    for (size_t i = 0; i < m->n; i++) {
        if (strcmp(m->a[i].key, key) == 0) {
            m->a[i].v = v;
            m->a[i].key_node_map = map;
            m->a[i].key_index = k;
            return FC_OK;
        }
    }
    if (fc_grow((void **)&m->a, &m->cap, m->n + 1, sizeof *m->a) != FC_OK) {
        return FC_ENOMEM;
    }
    kv *e = &m->a[m->n++];
    memset(e, 0, sizeof *e);
    snprintf(e->key, sizeof e->key, "%s", key);
    e->v = v;
    e->key_node_map = map;
    e->key_index = k;
    return FC_OK;
}

static const kv *kv_get(const kvs *m, const char *key) {
    for (size_t i = 0; i < m->n; i++) {
        if (strcmp(m->a[i].key, key) == 0) {
            return &m->a[i];
        }
    }
    return NULL;
}

static int kv_copy(kvs *dst, const kvs *src) {
    if (src->n == 0) {
        return FC_OK;
    }
    dst->a = fc_malloc(src->n * sizeof *dst->a);
    if (dst->a == NULL) {
        return FC_ENOMEM;
    }
    memcpy(dst->a, src->a, src->n * sizeof *dst->a);
    dst->n = dst->cap = src->n;
    return FC_OK;
}

/* ---------------------------------------------------------------------------
 * The on-time definition: the spine's settings keys, same ranges.
 */
typedef struct on_time_spec {
    const char *key;
    size_t offset;
    int32_t to_seconds;
    double min, max;
} on_time_spec;

#define N_ON_TIME 6
static const on_time_spec on_time_keys[N_ON_TIME] = {
    {"grace_min", offsetof(fc_thresholds, grace_s), 60, 0, 1440},
    {"severe_late_min", offsetof(fc_thresholds, severe_late_s), 60, 0, 1440},
    {"bad_rating_max", offsetof(fc_thresholds, bad_rating_max), 1, 0, 5},
    {"far_delivery_m", offsetof(fc_thresholds, far_delivery_m), 1, 1, 100000},
    {"prep_overrun_min", offsetof(fc_thresholds, prep_overrun_s), 60, 0, 1440},
    {"weather_severe", offsetof(fc_thresholds, weather_severe), 1, 1, 3},
};

static const char *const top_keys[] = {"policy",     "label",     "inherits",     "scope",
                                       "currency",   "languages", "on_time",      "values",
                                       "let",        "penalties", "compensation", "chargeback",
                                       "exemptions", "appeals",   "rules",        NULL};

static const char *const rule_keys[] = {
    "id",     "description", "when",     "liable", "penalty", "compensate", "chargeback",
    "review", "explain",     "disabled", "before", "after",   NULL};

static const char *const exemption_keys[] = {"id",       "description", "when",  "effect",
                                             "disabled", "before",      "after", NULL};

static const char *const appeal_keys[] = {"rider_h", "merchant_h", "customer_h", "auto_review",
                                          NULL};

static int in_list(const char *s, const char *const *list) {
    for (size_t i = 0; list[i] != NULL; i++) {
        if (strcmp(s, list[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

static void join(const char *const *list, char *buf, size_t bufsz) {
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; list[i] != NULL; i++) {
        int n = snprintf(buf + used, bufsz - used, "%s%s", i ? ", " : "", list[i]);
        if (n < 0 || (size_t)n >= bufsz - used) {
            return;
        }
        used += (size_t)n;
    }
}

static int unknown_key(loader *ld, const rawfile *rf, const fc_yaml *map, size_t k,
                       const char *where, const char *const *allowed) {
    char list[400];
    join(allowed, list, sizeof list);
    return at_key(ld, rf, map, k, "unknown key \"%s\" in %s (expected one of: %s)", map->keys[k],
                  where, list);
}

/* ---------------------------------------------------------------------------
 * Reading files.
 */
static void rawfile_free(rawfile *rf) {
    if (rf == NULL) {
        return;
    }
    fc_yaml_free(rf->doc);
    fc_free(rf->bytes);
    fc_free(rf->path);
    fc_free(rf);
}

static int read_all(const char *path, char **out, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return errno == ENOENT ? FC_ENOTFOUND : FC_EIO;
    }
    int rc = FC_ENOMEM;
    size_t cap = 4096, n = 0;
    char *buf = fc_malloc(cap);
    while (buf != NULL) {
        if (n + 1 >= cap) {
            char *g = fc_realloc(buf, cap * 2);
            if (g == NULL) {
                break;
            }
            buf = g;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - 1 - n, f);
        n += got;
        if (got == 0) {
            rc = ferror(f) ? FC_EIO : FC_OK;
            break;
        }
    }
    fclose(f);
    if (rc != FC_OK) {
        fc_free(buf);
        return rc;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return FC_OK;
}

/* Read and parse one policy file; its id and parent. */
static int rawfile_load(loader *ld, const char *path, rawfile **out) {
    *out = NULL;
    rawfile *rf = fc_calloc(1, sizeof *rf);
    if (rf == NULL || (rf->path = fc_strdup(path)) == NULL) {
        rawfile_free(rf);
        return lerr(ld, FC_ENOMEM, path, 0, 0, "out of memory");
    }
    int rc = read_all(path, &rf->bytes, &rf->len);
    if (rc != FC_OK) {
        rawfile_free(rf);
        return lerr(ld, rc, path, 0, 0, "%s",
                    rc == FC_ENOTFOUND ? "no such file" : strerror(errno));
    }
    fc_err e;
    fc_err_clear(&e);
    if (fc_yaml_load_buf(path, rf->bytes, rf->len, &rf->doc, &e) != FC_OK) {
        lkeep(ld, &e);
        rawfile_free(rf);
        return e.code;
    }
    if (rf->doc->kind != FC_YAML_MAP) {
        rc = lerr(ld, FC_EINVAL, path, rf->doc->line, rf->doc->col,
                  "a policy file is a mapping of keys (policy:, rules: ...), not %s",
                  kind_name(rf->doc));
        rawfile_free(rf);
        return rc;
    }
    const fc_yaml *id = fc_yaml_get(rf->doc, "policy");
    if (id == NULL) {
        rc = lerr(ld, FC_EINVAL, path, 1, 1, "missing key \"policy\" (the policy's id)");
        rawfile_free(rf);
        return rc;
    }
    fld idf = mk(id, rf);
    if (!is_scalar(id) || !valid_name(id->scalar, 1)) {
        rc = at(ld, &idf, "policy id must be lower-case letters, digits, '_', '.' or '-', not %s",
                is_scalar(id) ? id->scalar : kind_name(id));
        rawfile_free(rf);
        return rc;
    }
    rf->id = id->scalar;
    rf->id_node = id;
    const fc_yaml *inh = fc_yaml_get(rf->doc, "inherits");
    if (inh != NULL) {
        fld f = mk(inh, rf);
        if (!is_scalar(inh) || !valid_name(inh->scalar, 1)) {
            rc = at(ld, &f, "inherits must name a policy id, not %s",
                    is_scalar(inh) ? inh->scalar : kind_name(inh));
            rawfile_free(rf);
            return rc;
        }
        rf->parent = inh->scalar;
        rf->parent_node = inh;
    }
    *out = rf;
    return FC_OK;
}

/* ---------------------------------------------------------------------------
 * Applying one file over a policy.
 */
static int apply_map(loader *ld, const rawfile *rf, const fc_yaml *m, const char *section, kvs *dst,
                     int numbers) {
    fld f = mk(m, rf);
    int rc = want_map(ld, &f, section);
    if (rc != FC_OK) {
        return rc;
    }
    int bad = FC_OK;
    for (size_t k = 0; k < m->len; k++) {
        fld v = mk(m->vals[k], rf);
        if (!valid_name(m->keys[k], 0)) {
            bad = at_key(ld, rf, m, k,
                         "\"%s\" in %s is not a name (lower-case letters, digits and '_')",
                         m->keys[k], section);
            continue;
        }
        if (numbers) {
            double x;
            if (want_number(ld, &v, m->keys[k], -1e12, 1e12, &x) != FC_OK) {
                bad = FC_EINVAL;
                continue;
            }
        } else if (want_scalar(ld, &v, m->keys[k]) != FC_OK) {
            bad = FC_EINVAL;
            continue;
        }
        if (kv_set(dst, m->keys[k], v, m, k) != FC_OK) {
            return lerr(ld, FC_ENOMEM, rf->path, 0, 0, "out of memory");
        }
    }
    return bad;
}

static int apply_penalties(loader *ld, const rawfile *rf, const fc_yaml *m, kvs *dst) {
    fld f = mk(m, rf);
    int rc = want_map(ld, &f, "penalties");
    if (rc != FC_OK) {
        return rc;
    }
    for (size_t k = 0; k < m->len; k++) {
        const fc_yaml *lv = m->vals[k];
        fld lf = mk(lv, rf);
        if (!valid_name(m->keys[k], 0)) {
            at_key(ld, rf, m, k, "penalty level \"%s\" is not a name", m->keys[k]);
            continue;
        }
        char what[128];
        snprintf(what, sizeof what, "penalty level %s", m->keys[k]);
        if (want_map(ld, &lf, what) != FC_OK) {
            continue;
        }
        char key[96];
        snprintf(key, sizeof key, "%s", m->keys[k]);
        if (kv_set(dst, key, lf, m, k) != FC_OK) {
            return lerr(ld, FC_ENOMEM, rf->path, 0, 0, "out of memory");
        }
        for (size_t c = 0; c < lv->len; c++) {
            size_t cap = 0;
            while (cap < CAP__COUNT && strcmp(lv->keys[c], capacity_names[cap]) != 0) {
                cap++;
            }
            if (cap == CAP__COUNT) {
                at_key(ld, rf, lv, c,
                       "unknown capacity \"%s\" in penalty level %s (expected full_time, "
                       "part_time, crowd or default)",
                       lv->keys[c], m->keys[k]);
                continue;
            }
            const fc_yaml *cv = lv->vals[c];
            fld cf = mk(cv, rf);
            snprintf(what, sizeof what, "%s.%s", m->keys[k], lv->keys[c]);
            if (want_map(ld, &cf, what) != FC_OK) {
                continue;
            }
            for (size_t j = 0; j < cv->len; j++) {
                fld vf = mk(cv->vals[j], rf);
                if (strcmp(cv->keys[j], "points") == 0) {
                    double x;
                    if (want_number(ld, &vf, "points", -1000, 1000, &x) != FC_OK) {
                        continue;
                    }
                    if (x != floor(x)) {
                        at(ld, &vf, "points must be a whole number, not %s", cv->vals[j]->scalar);
                        continue;
                    }
                } else if (strcmp(cv->keys[j], "amount") == 0) {
                    if (want_scalar(ld, &vf, "amount") != FC_OK) {
                        continue;
                    }
                } else if (strcmp(cv->keys[j], "suspend_days") == 0) {
                    double x;
                    if (want_number(ld, &vf, "suspend_days", 0, 365, &x) != FC_OK) {
                        continue;
                    }
                    if (x != floor(x)) {
                        at(ld, &vf, "suspend_days must be a whole number of days, not %s",
                           cv->vals[j]->scalar);
                        continue;
                    }
                } else {
                    at_key(ld, rf, cv, j,
                           "unknown key \"%s\" in penalty %s (expected points, amount or "
                           "suspend_days)",
                           cv->keys[j], what);
                    continue;
                }
                snprintf(key, sizeof key, "%s/%s/%s", m->keys[k], lv->keys[c], cv->keys[j]);
                if (kv_set(dst, key, vf, cv, j) != FC_OK) {
                    return lerr(ld, FC_ENOMEM, rf->path, 0, 0, "out of memory");
                }
            }
        }
    }
    return FC_OK;
}

static rule_rec *find_rule(fc_policy *p, const char *id, int *incident, size_t *index) {
    for (int k = 0; k < FC_INCIDENT__COUNT; k++) {
        for (size_t i = 0; i < p->rules[k].n; i++) {
            if (strcmp(p->rules[k].a[i].r.id, id) == 0) {
                *incident = k;
                *index = i;
                return &p->rules[k].a[i];
            }
        }
    }
    return NULL;
}

/* Move element `from` of an array to position `to` (after removal). */
static void move_elem(void *arr, size_t elem, size_t from, size_t to, size_t n) {
    if (from == to || n == 0) {
        return;
    }
    unsigned char tmp[sizeof(rule_rec) > sizeof(exemption) ? sizeof(rule_rec) : sizeof(exemption)];
    unsigned char *a = arr;
    memcpy(tmp, a + from * elem, elem);
    if (from < to) {
        memmove(a + from * elem, a + (from + 1) * elem, (to - from) * elem);
    } else {
        memmove(a + (to + 1) * elem, a + to * elem, (from - to) * elem);
    }
    memcpy(a + to * elem, tmp, elem);
}

/* Position for an entry with before:/after: among `ids` (n entries, the
 * entry itself at `self` or n when new). Returns the final index or -1 when
 * the named id is not there. */
static long place(const fc_yaml *entry, const char *(*id_at)(const void *, size_t),
                  const void *list, size_t n, size_t self, const fc_yaml **bad) {
    const fc_yaml *before = fc_yaml_get(entry, "before"), *after = fc_yaml_get(entry, "after");
    const fc_yaml *which = before != NULL ? before : after;
    *bad = which;
    if (which == NULL || !is_scalar(which)) {
        return self < n ? (long)self : (long)n;
    }
    for (size_t i = 0; i < n; i++) {
        if (i != self && strcmp(id_at(list, i), which->scalar) == 0) {
            size_t target = before != NULL ? i : i + 1;
            if (self < n && self < target) {
                target--; /* the entry leaves its old place first */
            }
            *bad = NULL;
            return (long)target;
        }
    }
    return -1;
}

static const char *rule_id_at(const void *list, size_t i) {
    return ((const rule_list *)list)->a[i].r.id;
}

static const char *exemption_id_at(const void *list, size_t i) {
    return ((const exemption_list *)list)->a[i].id;
}

static int check_keys(loader *ld, const rawfile *rf, const fc_yaml *m, const char *where,
                      const char *const *allowed) {
    int rc = FC_OK;
    for (size_t k = 0; k < m->len; k++) {
        if (!in_list(m->keys[k], allowed)) {
            rc = unknown_key(ld, rf, m, k, where, allowed);
        }
    }
    if (fc_yaml_get(m, "before") != NULL && fc_yaml_get(m, "after") != NULL) {
        for (size_t k = 0; k < m->len; k++) {
            if (strcmp(m->keys[k], "after") == 0) {
                rc = at_key(ld, rf, m, k, "give before: or after:, not both");
            }
        }
    }
    return rc;
}

static int apply_rule(loader *ld, fc_policy *p, const rawfile *rf, int incident, const fc_yaml *e) {
    fld ef = mk(e, rf);
    if (want_map(ld, &ef, "a rule") != FC_OK) {
        return FC_EINVAL;
    }
    if (check_keys(ld, rf, e, "a rule", rule_keys) != FC_OK) {
        return FC_EINVAL;
    }
    const fc_yaml *idn = fc_yaml_get(e, "id");
    if (idn == NULL) {
        return at(ld, &ef, "a rule needs an id");
    }
    fld idf = mk(idn, rf);
    if (!is_scalar(idn) || !valid_name(idn->scalar, 1) || strlen(idn->scalar) >= 64) {
        return at(ld, &idf,
                  "rule id must be lower-case letters, digits, '_', '.' or '-' (at "
                  "most 63), not %s",
                  is_scalar(idn) ? idn->scalar : kind_name(idn));
    }
    int k_old;
    size_t i_old;
    rule_list *list = &p->rules[incident];
    rule_rec *rec = find_rule(p, idn->scalar, &k_old, &i_old);
    if (rec != NULL && rec->changed_rf == rf) {
        return at(ld, &idf, "duplicate rule id \"%s\" (first at line %ld)", idn->scalar,
                  rec->changed_line);
    }
    if (rec != NULL && k_old != incident) {
        return at(ld, &idf, "rule \"%s\" is a %s rule in %s; it cannot move to %s", idn->scalar,
                  fc_incident_name((fc_incident_kind)k_old), rec->origin_rf->path,
                  fc_incident_name((fc_incident_kind)incident));
    }
    const fc_yaml *dis = fc_yaml_get(e, "disabled");
    int disabled = 0;
    if (dis != NULL) {
        fld df = mk(dis, rf);
        if (want_bool(ld, &df, "disabled", &disabled) != FC_OK) {
            return FC_EINVAL;
        }
    }
    if (rec == NULL && disabled) {
        return at(ld, &idf, "rule \"%s\" is disabled but no parent policy defines it", idn->scalar);
    }
    size_t self = rec != NULL ? i_old : list->n;
    const fc_yaml *bad = NULL;
    long to = place(e, rule_id_at, list, list->n, self, &bad);
    if (to < 0) {
        fld bf = mk(bad, rf);
        return at(ld, &bf, "%s names rule \"%s\", which is not a %s rule above or in a parent",
                  fc_yaml_get(e, "before") != NULL ? "before:" : "after:", bad->scalar,
                  fc_incident_name((fc_incident_kind)incident));
    }
    if (bad != NULL) {
        fld bf = mk(bad, rf);
        return at(ld, &bf, "before:/after: must name a rule id, not %s", kind_name(bad));
    }
    if (rec == NULL) {
        if (fc_grow((void **)&list->a, &list->cap, list->n + 1, sizeof *list->a) != FC_OK) {
            return lerr(ld, FC_ENOMEM, rf->path, 0, 0, "out of memory");
        }
        rec = &list->a[list->n];
        memset(rec, 0, sizeof *rec);
        snprintf(rec->r.id, sizeof rec->r.id, "%s", idn->scalar);
        rec->r.incident = (fc_incident_kind)incident;
        rec->origin_rf = rf;
        rec->origin_line = e->line;
        self = list->n;
        list->n++;
    }
    rec->changed_rf = rf;
    rec->changed_line = e->line;
    rec->id = idf;
    rec->is_disabled = disabled;
    struct {
        const char *key;
        fld *dst;
    } fields[] = {{"description", &rec->description}, {"when", &rec->when},
                  {"liable", &rec->liable},           {"review", &rec->review},
                  {"penalty", &rec->penalty},         {"compensate", &rec->compensate},
                  {"chargeback", &rec->chargeback}};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        const fc_yaml *v = fc_yaml_get(e, fields[i].key);
        if (v != NULL) {
            *fields[i].dst = mk(v, rf);
        }
    }
    const fc_yaml *ex = fc_yaml_get(e, "explain");
    if (ex != NULL) {
        fld xf = mk(ex, rf);
        if (want_map(ld, &xf, "explain") == FC_OK) {
            rec->explain_map = ex;
            rec->explain_rf = rf;
            for (size_t k = 0; k < ex->len; k++) {
                int l = -1;
                for (int j = 0; j < FC_LANG__COUNT; j++) {
                    if (strcmp(ex->keys[k], fc_lang_code((fc_lang)j)) == 0) {
                        l = j;
                    }
                }
                if (l < 0) {
                    at_key(ld, rf, ex, k,
                           "unknown language \"%s\" in explain (expected en, ar, "
                           "zh or pt)",
                           ex->keys[k]);
                    continue;
                }
                rec->explain[l] = mk(ex->vals[k], rf);
            }
        }
    }
    move_elem(list->a, sizeof *list->a, self, (size_t)to, list->n);
    return FC_OK;
}

static int apply_rules(loader *ld, fc_policy *p, const rawfile *rf, const fc_yaml *m) {
    fld f = mk(m, rf);
    if (want_map(ld, &f, "rules") != FC_OK) {
        return FC_EINVAL;
    }
    int rc = FC_OK;
    for (size_t k = 0; k < m->len; k++) {
        int inc = fc_incident_from(m->keys[k], strlen(m->keys[k]));
        if (inc < 0) {
            rc = at_key(ld, rf, m, k,
                        "unknown incident \"%s\" under rules (expected late, cancelled, "
                        "undeliverable, complaint, bad_rating or far_delivery)",
                        m->keys[k]);
            continue;
        }
        const fc_yaml *seq = m->vals[k];
        if (is_scalar(seq) && seq->scalar[0] == '\0') {
            continue; /* an empty list */
        }
        if (seq->kind != FC_YAML_SEQ) {
            fld sf = mk(seq, rf);
            rc = at(ld, &sf, "rules of %s must be a list (lines starting with \"- \"), not %s",
                    m->keys[k], kind_name(seq));
            continue;
        }
        for (size_t i = 0; i < seq->len; i++) {
            int r = apply_rule(ld, p, rf, inc, seq->vals[i]);
            if (r == FC_ENOMEM) {
                return r;
            }
            if (r != FC_OK) {
                rc = r;
            }
        }
    }
    return rc;
}

static int apply_exemption(loader *ld, fc_policy *p, const rawfile *rf, const fc_yaml *e) {
    fld ef = mk(e, rf);
    if (want_map(ld, &ef, "an exemption") != FC_OK ||
        check_keys(ld, rf, e, "an exemption", exemption_keys) != FC_OK) {
        return FC_EINVAL;
    }
    const fc_yaml *idn = fc_yaml_get(e, "id");
    if (idn == NULL) {
        return at(ld, &ef, "an exemption needs an id");
    }
    fld idf = mk(idn, rf);
    if (!is_scalar(idn) || !valid_name(idn->scalar, 1) || strlen(idn->scalar) >= 48) {
        return at(ld, &idf,
                  "exemption id must be lower-case letters, digits, '_', '.' or '-' "
                  "(at most 47), not %s",
                  is_scalar(idn) ? idn->scalar : kind_name(idn));
    }
    exemption_list *list = &p->exemptions;
    exemption *x = NULL;
    size_t self = list->n;
    for (size_t i = 0; i < list->n; i++) {
        if (strcmp(list->a[i].id, idn->scalar) == 0) {
            x = &list->a[i];
            self = i;
        }
    }
    if (x != NULL && x->changed_rf == rf) {
        return at(ld, &idf, "duplicate exemption id \"%s\" (first at line %ld)", idn->scalar,
                  x->changed_line);
    }
    int disabled = 0;
    const fc_yaml *dis = fc_yaml_get(e, "disabled");
    if (dis != NULL) {
        fld df = mk(dis, rf);
        if (want_bool(ld, &df, "disabled", &disabled) != FC_OK) {
            return FC_EINVAL;
        }
    }
    if (x == NULL && disabled) {
        return at(ld, &idf, "exemption \"%s\" is disabled but no parent policy defines it",
                  idn->scalar);
    }
    const fc_yaml *bad = NULL;
    long to = place(e, exemption_id_at, list, list->n, self, &bad);
    if (to < 0) {
        fld bf = mk(bad, rf);
        return at(ld, &bf, "%s names exemption \"%s\", which is not above or in a parent",
                  fc_yaml_get(e, "before") != NULL ? "before:" : "after:", bad->scalar);
    }
    if (x == NULL) {
        if (fc_grow((void **)&list->a, &list->cap, list->n + 1, sizeof *list->a) != FC_OK) {
            return lerr(ld, FC_ENOMEM, rf->path, 0, 0, "out of memory");
        }
        x = &list->a[list->n];
        memset(x, 0, sizeof *x);
        snprintf(x->id, sizeof x->id, "%s", idn->scalar);
        x->origin_rf = rf;
        x->origin_line = e->line;
        self = list->n++;
    }
    x->changed_rf = rf;
    x->changed_line = e->line;
    x->idf = idf;
    x->is_disabled = disabled;
    const fc_yaml *v;
    if ((v = fc_yaml_get(e, "description")) != NULL) {
        x->description = mk(v, rf);
    }
    if ((v = fc_yaml_get(e, "when")) != NULL) {
        x->when = mk(v, rf);
    }
    if ((v = fc_yaml_get(e, "effect")) != NULL) {
        x->effect = mk(v, rf);
    }
    move_elem(list->a, sizeof *list->a, self, (size_t)to, list->n);
    return FC_OK;
}

static int apply_file(loader *ld, fc_policy *p, const rawfile *rf) {
    const fc_yaml *d = rf->doc;
    int rc = FC_OK;
    for (size_t k = 0; k < d->len; k++) {
        if (!in_list(d->keys[k], top_keys)) {
            rc = unknown_key(ld, rf, d, k, "a policy", top_keys);
        }
    }
    const fc_yaml *v;
    if ((v = fc_yaml_get(d, "label")) != NULL) {
        p->label_f = mk(v, rf);
    }
    if ((v = fc_yaml_get(d, "currency")) != NULL) {
        p->currency_f = mk(v, rf);
    }
    if ((v = fc_yaml_get(d, "languages")) != NULL) {
        p->languages_f = mk(v, rf);
    }
    struct {
        const char *key;
        kvs *dst;
        int numbers;
    } maps[] = {{"on_time", &p->on_time, 1},
                {"values", &p->values, 1},
                {"let", &p->lets, 0},
                {"compensation", &p->compensation, 0},
                {"chargeback", &p->chargeback, 0},
                {"appeals", &p->appeals, 0}};
    for (size_t i = 0; i < sizeof maps / sizeof maps[0]; i++) {
        if ((v = fc_yaml_get(d, maps[i].key)) != NULL) {
            int r = apply_map(ld, rf, v, maps[i].key, maps[i].dst, maps[i].numbers);
            if (r == FC_ENOMEM) {
                return r;
            }
            rc = r != FC_OK ? r : rc;
        }
    }
    if ((v = fc_yaml_get(d, "penalties")) != NULL) {
        int r = apply_penalties(ld, rf, v, &p->penalties);
        if (r == FC_ENOMEM) {
            return r;
        }
        rc = r != FC_OK ? r : rc;
    }
    if ((v = fc_yaml_get(d, "exemptions")) != NULL) {
        if (v->kind != FC_YAML_SEQ) {
            fld f = mk(v, rf);
            if (!(is_scalar(v) && v->scalar[0] == '\0')) {
                rc = at(ld, &f, "exemptions must be a list (lines starting with \"- \"), not %s",
                        kind_name(v));
            }
        } else {
            for (size_t i = 0; i < v->len; i++) {
                int r = apply_exemption(ld, p, rf, v->vals[i]);
                if (r == FC_ENOMEM) {
                    return r;
                }
                rc = r != FC_OK ? r : rc;
            }
        }
    }
    if ((v = fc_yaml_get(d, "rules")) != NULL) {
        int r = apply_rules(ld, p, rf, v);
        if (r == FC_ENOMEM) {
            return r;
        }
        rc = r != FC_OK ? r : rc;
    }
    return rc;
}

/* ---------------------------------------------------------------------------
 * Resolution: from merged sections to the values the judge reads.
 */
fc__named *fc__policy_lookup(const fc_policy *p, const char *name, size_t len) {
    for (size_t i = 0; i < p->n_names; i++) {
        if (strlen(p->names[i].name) == len && memcmp(p->names[i].name, name, len) == 0) {
            return &p->names[i];
        }
    }
    return NULL;
}

int fc__policy_let(const fc_policy *p, fc__named *let, fc_err *err) {
    (void)p;
    if (let->state == 2) {
        return FC_OK;
    }
    if (let->state == 1) {
        return fc_err_set(err, FC_ELIMIT, let->pos.file, let->pos.line, let->pos.col,
                          "let \"%s\" uses itself", let->name);
    }
    if (let->state == -1) {
        return fc_err_set(err, FC_EINVAL, let->pos.file, let->pos.line, let->pos.col,
                          "let \"%s\" has an error", let->name);
    }
    /* The policy is still being built while its lets compile on first use;
     * the names table is the only thing that changes. */
    let->state = 1;
    int rc = fc__cond_compile(let->src, p, &let->pos, 1, &let->cond, err);
    let->state = rc == FC_OK ? 2 : -1;
    return rc;
}

static int add_name(fc_policy *p, size_t *cap, const char *name, const char *unit, double value,
                    int is_let) {
    if (fc_grow((void **)&p->names, cap, p->n_names + 1, sizeof *p->names) != FC_OK) {
        return FC_ENOMEM;
    }
    fc__named *nm = &p->names[p->n_names++];
    memset(nm, 0, sizeof *nm);
    nm->name = name;
    nm->unit = unit;
    nm->value = value;
    nm->is_let = is_let;
    return FC_OK;
}

static int money_of(loader *ld, const fc_policy *p, const fld *f, const char *what,
                    int64_t *minor) {
    if (want_scalar(ld, f, what) != FC_OK) {
        return FC_EINVAL;
    }
    if (p->currency[0] == '\0') {
        return at(ld, f,
                  "%s is an amount of money, but the policy has no currency (add "
                  "currency: XXX, e.g. SAR)",
                  what);
    }
    int rc = fc_money_parse(fc_str_c(f->n->scalar), p->currency, minor);
    if (rc == FC_OK && *minor < 0) {
        return at(ld, f, "%s must not be negative", what);
    }
    if (rc != FC_OK) {
        int dec = fc_currency_decimals(p->currency);
        const char *dot = strchr(f->n->scalar, '.');
        if (dot != NULL && strspn(f->n->scalar, "0123456789.") == strlen(f->n->scalar) &&
            (int)strlen(dot + 1) > dec) {
            return at(ld, f, "%s %s has more decimals than %s has (%d)", what, f->n->scalar,
                      p->currency, dec);
        }
        return at(ld, f, "%s must be an amount like 5.00, not \"%s\"", what, f->n->scalar);
    }
    return FC_OK;
}

static const char *const party_words[] = {"rider",         "merchant",     "customer", "platform",
                                          "force_majeure", "undetermined", NULL};

/* Check an explanation template's placeholders. */
static int check_template(loader *ld, fc_policy *p, const fld *f) {
    const char *s = f->n->scalar;
    fc__pos pos = pos_of(f);
    for (size_t i = 0; s[i] != '\0'; i++) {
        if (s[i] != '{') {
            continue;
        }
        size_t j = i + 1;
        while (s[j] != '\0' && s[j] != '}' && s[j] != '{') {
            j++;
        }
        long line, col;
        fc__pos_at(&pos, s, i, &line, &col);
        if (s[j] != '}') {
            return lerr(ld, FC_EINVAL, pos.file, line, col,
                        "placeholder opened with { is not closed with }");
        }
        const char *name = s + i + 1;
        size_t n = j - i - 1;
        static const char *const special[] = {"threshold", "margin", "rule", "policy", NULL};
        int ok = fc_fact_find(name, n) >= 0 || fc__policy_lookup(p, name, n) != NULL;
        for (size_t k = 0; !ok && special[k] != NULL; k++) {
            ok = strlen(special[k]) == n && memcmp(special[k], name, n) == 0;
        }
        if (!ok) {
            return lerr(ld, FC_EINVAL, pos.file, line, col,
                        "unknown placeholder {%.*s}: not a fact, a let, a value, threshold, "
                        "margin, rule or policy",
                        (int)n, name);
        }
        i = j;
    }
    return FC_OK;
}

static int resolve_names(loader *ld, fc_policy *p) {
    size_t cap = 0;
    int rc = FC_OK;
    /* on_time keys: as values, and under on_time. */
    for (size_t i = 0; i < N_ON_TIME; i++) {
        int32_t v;
        memcpy(&v, (const char *)&p->thr + on_time_keys[i].offset, sizeof v);
        double x = (double)v / on_time_keys[i].to_seconds;
        static char dotted[N_ON_TIME][32];
        if (dotted[i][0] == '\0') {
            snprintf(dotted[i], sizeof dotted[i], "on_time.%s", on_time_keys[i].key);
        }
        const char *unit = fc__unit_of_name(on_time_keys[i].key, strlen(on_time_keys[i].key));
        if (add_name(p, &cap, dotted[i], unit, x, 0) != FC_OK) {
            return FC_ENOMEM;
        }
        if (fc_fact_find(on_time_keys[i].key, strlen(on_time_keys[i].key)) < 0 &&
            add_name(p, &cap, on_time_keys[i].key, unit, x, 0) != FC_OK) {
            return FC_ENOMEM;
        }
    }
    for (size_t i = 0; i < p->values.n; i++) {
        const kv *e = &p->values.a[i];
        if (fc_fact_find(e->key, strlen(e->key)) >= 0 ||
            fc__policy_lookup(p, e->key, strlen(e->key)) != NULL) {
            rc = at_key(ld, e->v.rf, e->key_node_map, e->key_index,
                        "value \"%s\" has the name of a fact or an on_time key; choose another",
                        e->key);
            continue;
        }
        double x = 0;
        fc_parse_f64(fc_str_c(e->v.n->scalar), &x);
        if (add_name(p, &cap, e->key, fc__unit_of_name(e->key, strlen(e->key)), x, 0) != FC_OK) {
            return FC_ENOMEM;
        }
    }
    for (size_t i = 0; i < p->lets.n; i++) {
        const kv *e = &p->lets.a[i];
        if (fc_fact_find(e->key, strlen(e->key)) >= 0 ||
            fc__policy_lookup(p, e->key, strlen(e->key)) != NULL) {
            rc = at_key(ld, e->v.rf, e->key_node_map, e->key_index,
                        "let \"%s\" has the name of a fact or a value; choose another", e->key);
            continue;
        }
        if (add_name(p, &cap, e->key, fc__unit_of_name(e->key, strlen(e->key)), 0, 1) != FC_OK) {
            return FC_ENOMEM;
        }
        fc__named *nm = &p->names[p->n_names - 1];
        nm->src = e->v.n->scalar;
        nm->pos = pos_of(&e->v);
    }
    for (size_t i = 0; i < p->n_names; i++) {
        fc__named *nm = &p->names[i];
        if (nm->is_let && nm->state == 0) {
            fc_err e;
            fc_err_clear(&e);
            if (fc__policy_let(p, nm, &e) != FC_OK) {
                if (e.code == FC_ENOMEM) {
                    return FC_ENOMEM;
                }
                rc = lkeep(ld, &e);
            }
        }
    }
    return rc;
}

static int resolve_scalars(loader *ld, fc_policy *p) {
    int rc = FC_OK;
    /* label */
    if (p->label_f.n == NULL) {
        rc = lerr(ld, FC_EINVAL, p->rf->path, 1, 1,
                  "missing key \"label\" (the version label, e.g. \"2026.11\")");
    } else if (want_scalar(ld, &p->label_f, "label") == FC_OK) {
        const char *l = p->label_f.n->scalar;
        if (l[0] == '\0' || strlen(l) >= sizeof p->label || strpbrk(l, " +\t") != NULL) {
            rc = at(ld, &p->label_f, "label must be 1 to %zu characters without spaces or '+'",
                    sizeof p->label - 1);
        } else {
            snprintf(p->label, sizeof p->label, "%s", l);
        }
    } else {
        rc = FC_EINVAL;
    }
    /* currency */
    if (p->currency_f.n != NULL) {
        if (want_scalar(ld, &p->currency_f, "currency") != FC_OK) {
            rc = FC_EINVAL;
        } else if (fc_currency_decimals(p->currency_f.n->scalar) < 0 ||
                   strlen(p->currency_f.n->scalar) != 3) {
            rc = at(ld, &p->currency_f, "currency must be an ISO 4217 code like SAR, not \"%s\"",
                    p->currency_f.n->scalar);
        } else {
            snprintf(p->currency, sizeof p->currency, "%s", p->currency_f.n->scalar);
        }
    }
    /* languages */
    p->langs = 1u << FC_LANG_EN;
    if (p->languages_f.n != NULL) {
        const fc_yaml *l = p->languages_f.n;
        if (l->kind != FC_YAML_SEQ || l->len == 0) {
            rc = at(ld, &p->languages_f, "languages must be a list like [en, ar, zh, pt]");
        } else {
            p->langs = 0;
            for (size_t i = 0; i < l->len; i++) {
                fld f = mk(l->vals[i], p->languages_f.rf);
                int found = -1;
                for (int j = 0; j < FC_LANG__COUNT && is_scalar(l->vals[i]); j++) {
                    if (strcmp(l->vals[i]->scalar, fc_lang_code((fc_lang)j)) == 0) {
                        found = j;
                    }
                }
                if (found < 0) {
                    rc = at(ld, &f, "unknown language %s (expected en, ar, zh or pt)",
                            is_scalar(l->vals[i]) ? l->vals[i]->scalar : "");
                    continue;
                }
                p->langs |= 1u << found;
            }
        }
    }
    /* scope: the file's own */
    const fc_yaml *sc = fc_yaml_get(p->rf->doc, "scope");
    if (sc != NULL) {
        p->scope = mk(sc, p->rf);
        if (p->rf->parent == NULL) {
            rc = at(ld, &p->scope,
                    "the base policy (no inherits) has no scope: it applies "
                    "everywhere");
        } else if (want_map(ld, &p->scope, "scope") != FC_OK) {
            rc = FC_EINVAL;
        } else {
            for (size_t k = 0; k < sc->len; k++) {
                fld v = mk(sc->vals[k], p->rf);
                if (strcmp(sc->keys[k], "country") == 0 && is_scalar(sc->vals[k]) &&
                    strlen(sc->vals[k]->scalar) == 2) {
                    snprintf(p->scope_country, sizeof p->scope_country, "%s", sc->vals[k]->scalar);
                } else if (strcmp(sc->keys[k], "city") == 0 && is_scalar(sc->vals[k]) &&
                           sc->vals[k]->scalar[0] != '\0' &&
                           strlen(sc->vals[k]->scalar) < sizeof p->scope_city) {
                    snprintf(p->scope_city, sizeof p->scope_city, "%s", sc->vals[k]->scalar);
                } else if (strcmp(sc->keys[k], "country") == 0 ||
                           strcmp(sc->keys[k], "city") == 0) {
                    rc = at(ld, &v, "scope %s must be %s", sc->keys[k],
                            sc->keys[k][1] == 'o' ? "a two-letter country code like SA"
                                                  : "a city id like riyadh");
                } else {
                    static const char *const scope_keys[] = {"country", "city", NULL};
                    rc = unknown_key(ld, p->rf, sc, k, "scope", scope_keys);
                }
            }
            if (p->scope_country[0] == '\0' && p->scope_city[0] == '\0' && rc == FC_OK) {
                rc = at(ld, &p->scope, "scope needs country: XX or city: name");
            }
        }
    } else if (p->rf->parent != NULL) {
        const fc_yaml *inh = p->rf->parent_node;
        fld f = mk(inh, p->rf);
        rc = at(ld, &f, "a policy that inherits needs a scope: {country: XX} or {city: name}");
    }
    /* on_time */
    p->thr = *fc_settings_for(NULL, NULL, NULL);
    for (size_t i = 0; i < p->on_time.n; i++) {
        const kv *e = &p->on_time.a[i];
        size_t j = 0;
        while (j < N_ON_TIME && strcmp(e->key, on_time_keys[j].key) != 0) {
            j++;
        }
        if (j == N_ON_TIME) {
            static const char *const names[] = {"grace_min",
                                                "severe_late_min",
                                                "bad_rating_max",
                                                "far_delivery_m",
                                                "prep_overrun_min",
                                                "weather_severe",
                                                NULL};
            rc = unknown_key(ld, e->v.rf, e->key_node_map, e->key_index, "on_time", names);
            continue;
        }
        double x;
        if (want_number(ld, &e->v, e->key, on_time_keys[j].min, on_time_keys[j].max, &x) != FC_OK) {
            rc = FC_EINVAL;
            continue;
        }
        if (on_time_keys[j].to_seconds == 1 && x != floor(x)) {
            rc = at(ld, &e->v, "%s must be a whole number, not %s", e->key, e->v.n->scalar);
            continue;
        }
        int32_t v = (int32_t)llround(x * on_time_keys[j].to_seconds);
        memcpy((char *)&p->thr + on_time_keys[j].offset, &v, sizeof v);
    }
    /* appeals */
    double h[3] = {24, 72, 72};
    p->auto_review = 1;
    for (size_t i = 0; i < p->appeals.n; i++) {
        const kv *e = &p->appeals.a[i];
        if (!in_list(e->key, appeal_keys)) {
            rc = unknown_key(ld, e->v.rf, e->key_node_map, e->key_index, "appeals", appeal_keys);
            continue;
        }
        if (strcmp(e->key, "auto_review") == 0) {
            if (want_bool(ld, &e->v, e->key, &p->auto_review) != FC_OK) {
                rc = FC_EINVAL;
            }
            continue;
        }
        int which = e->key[0] == 'r' ? 0 : e->key[0] == 'm' ? 1 : 2;
        if (want_number(ld, &e->v, e->key, 0, 8760, &h[which]) != FC_OK) {
            rc = FC_EINVAL;
        }
    }
    for (int i = 0; i < FC_PARTY__COUNT; i++) {
        p->sla_s[i] = llround(h[1] * 3600);
    }
    p->sla_s[FC_PARTY_RIDER] = llround(h[0] * 3600);
    p->sla_s[FC_PARTY_MERCHANT] = llround(h[1] * 3600);
    p->sla_s[FC_PARTY_CUSTOMER] = llround(h[2] * 3600);
    return rc;
}

static int resolve_money(loader *ld, fc_policy *p) {
    int rc = FC_OK;
    /* penalty levels */
    for (size_t i = 0; i < p->penalties.n; i++) {
        const kv *e = &p->penalties.a[i];
        if (strchr(e->key, '/') != NULL) {
            continue;
        }
        level *grown = fc_realloc(p->levels, (p->n_levels + 1) * sizeof *p->levels);
        if (grown == NULL) {
            return FC_ENOMEM;
        }
        p->levels = grown;
        level *lv = &p->levels[p->n_levels++];
        memset(lv, 0, sizeof *lv);
        snprintf(lv->name, sizeof lv->name, "%.63s", e->key);
        for (size_t c = 0; c < CAP__COUNT; c++) {
            char key[128];
            snprintf(key, sizeof key, "%s/%s/points", e->key, capacity_names[c]);
            const kv *pt = kv_get(&p->penalties, key);
            snprintf(key, sizeof key, "%s/%s/amount", e->key, capacity_names[c]);
            const kv *am = kv_get(&p->penalties, key);
            snprintf(key, sizeof key, "%s/%s/suspend_days", e->key, capacity_names[c]);
            const kv *sd = kv_get(&p->penalties, key);
            if (sd != NULL) {
                double x = 0;
                fc_parse_f64(fc_str_c(sd->v.n->scalar), &x);
                lv->suspend_days[c] = (int32_t)x;
                lv->set |= 1u << c;
            }
            if (pt != NULL) {
                double x = 0;
                fc_parse_f64(fc_str_c(pt->v.n->scalar), &x);
                lv->points[c] = (int32_t)x;
                lv->set |= 1u << c;
            }
            if (am != NULL) {
                char what[128];
                snprintf(what, sizeof what, "penalty %s.%s amount", e->key, capacity_names[c]);
                if (money_of(ld, p, &am->v, what, &lv->amount_minor[c]) != FC_OK) {
                    rc = FC_EINVAL;
                }
                lv->set |= 1u << c;
            }
        }
    }
    struct {
        const kvs *src;
        amount **dst;
        size_t *n;
        const char *what;
    } tables[] = {{&p->compensation, &p->comp, &p->n_comp, "compensation"},
                  {&p->chargeback, &p->charge, &p->n_charge, "chargeback"}};
    for (size_t t = 0; t < 2; t++) {
        if (tables[t].src->n == 0) {
            continue;
        }
        *tables[t].dst = fc_calloc(tables[t].src->n, sizeof **tables[t].dst);
        if (*tables[t].dst == NULL) {
            return FC_ENOMEM;
        }
        for (size_t i = 0; i < tables[t].src->n; i++) {
            const kv *e = &tables[t].src->a[i];
            amount *a = &(*tables[t].dst)[(*tables[t].n)++];
            snprintf(a->key, sizeof a->key, "%.63s", e->key);
            char what[128];
            snprintf(what, sizeof what, "%s %s", tables[t].what, e->key);
            if (money_of(ld, p, &e->v, what, &a->minor) != FC_OK) {
                rc = FC_EINVAL;
            }
        }
    }
    return rc;
}

static int find_amount(const amount *a, size_t n, const char *key) {
    for (size_t i = 0; i < n; i++) {
        if (strcmp(a[i].key, key) == 0) {
            return (int)i;
        }
    }
    return -1;
}

static int resolve_rule(loader *ld, fc_policy *p, rule_rec *rec) {
    int rc = FC_OK;
    fc_rule *r = &rec->r;
    r->file = rec->origin_rf->path;
    r->line = rec->origin_line;
    r->changed_file = rec->changed_rf->path;
    r->changed_line = rec->changed_line;
    rec->penalty_level = -1;
    fld idf = rec->id;
    if (rec->description.n == NULL) {
        rc = at(ld, &idf, "rule \"%s\" has no description", r->id);
    } else if (want_scalar(ld, &rec->description, "description") == FC_OK) {
        r->description = rec->description.n->scalar;
    } else {
        rc = FC_EINVAL;
    }
    if (rec->when.n == NULL) {
        rc = at(ld, &idf, "rule \"%s\" has no when (its condition)", r->id);
    } else if (want_scalar(ld, &rec->when, "when") != FC_OK) {
        rc = FC_EINVAL;
    } else {
        fc__pos pos = pos_of(&rec->when);
        fc_err e;
        fc_err_clear(&e);
        if (fc__cond_compile(rec->when.n->scalar, p, &pos, 0, &r->when, &e) != FC_OK) {
            if (e.code == FC_ENOMEM) {
                return FC_ENOMEM;
            }
            rc = lkeep(ld, &e);
        }
    }
    if (rec->liable.n == NULL) {
        rc = at(ld, &idf, "rule \"%s\" has no liable party", r->id);
    } else if (want_scalar(ld, &rec->liable, "liable") != FC_OK) {
        rc = FC_EINVAL;
    } else if (!in_list(rec->liable.n->scalar, party_words)) {
        rc = at(ld, &rec->liable,
                "unknown party \"%s\" (expected rider, merchant, customer, platform, "
                "force_majeure or undetermined)",
                rec->liable.n->scalar);
    } else {
        r->liable = fc_party_from(fc_str_c(rec->liable.n->scalar));
    }
    r->review = 0;
    if (rec->review.n != NULL && want_bool(ld, &rec->review, "review", &r->review) != FC_OK) {
        rc = FC_EINVAL;
    }
    if (rec->penalty.n != NULL && want_scalar(ld, &rec->penalty, "penalty") == FC_OK) {
        const char *name = rec->penalty.n->scalar;
        for (size_t i = 0; i < p->n_levels; i++) {
            if (strcmp(p->levels[i].name, name) == 0) {
                rec->penalty_level = (int)i;
            }
        }
        if (rec->penalty_level < 0) {
            rc = at(ld, &rec->penalty, "unknown penalty level \"%s\" (not under penalties:)", name);
        }
        r->penalty = name;
    }
    struct {
        fld *f;
        const char **dst;
        const amount *table;
        size_t n;
        int64_t *minor;
        const char *what;
    } keyed[] = {{&rec->compensate, &r->compensate, p->comp, p->n_comp, &rec->compensate_minor,
                  "compensation"},
                 {&rec->chargeback, &r->chargeback, p->charge, p->n_charge, &rec->chargeback_minor,
                  "chargeback"}};
    for (size_t t = 0; t < 2; t++) {
        *keyed[t].minor = 0;
        if (keyed[t].f->n == NULL || want_scalar(ld, keyed[t].f, keyed[t].what) != FC_OK) {
            continue;
        }
        int i = find_amount(keyed[t].table, keyed[t].n, keyed[t].f->n->scalar);
        if (i < 0) {
            rc = at(ld, keyed[t].f, "unknown %s key \"%s\" (not under %s:)", keyed[t].what,
                    keyed[t].f->n->scalar, keyed[t].what);
            continue;
        }
        *keyed[t].dst = keyed[t].f->n->scalar;
        *keyed[t].minor = keyed[t].table[i].minor;
    }
    for (int l = 0; l < FC_LANG__COUNT; l++) {
        r->explain[l] = NULL;
        fld *x = &rec->explain[l];
        if (x->n == NULL) {
            if (p->langs & (1u << l)) {
                if (rec->explain_map != NULL) {
                    fld mf = mk(rec->explain_map, rec->explain_rf);
                    rc = at(ld, &mf,
                            "rule \"%s\": explain has no \"%s\" text (the policy's "
                            "languages need it)",
                            r->id, fc_lang_code((fc_lang)l));
                } else {
                    rc = at(ld, &idf, "rule \"%s\" has no explain (texts per language)", r->id);
                    break;
                }
            }
            continue;
        }
        if (want_scalar(ld, x, "an explanation") != FC_OK) {
            rc = FC_EINVAL;
            continue;
        }
        size_t bad;
        if (!fc_utf8_valid(x->n->scalar, strlen(x->n->scalar), &bad)) {
            rc = at(ld, x, "the %s explanation is not valid UTF-8 (byte %zu)",
                    fc_lang_code((fc_lang)l), bad + 1);
            continue;
        }
        if (check_template(ld, p, x) != FC_OK) {
            rc = FC_EINVAL;
            continue;
        }
        r->explain[l] = x->n->scalar;
    }
    return rc;
}

static int resolve_exemption(loader *ld, fc_policy *p, exemption *x) {
    int rc = FC_OK;
    if (x->when.n == NULL) {
        rc = at(ld, &x->idf, "exemption \"%s\" has no when", x->id);
    } else if (want_scalar(ld, &x->when, "when") == FC_OK) {
        fc__pos pos = pos_of(&x->when);
        fc_err e;
        fc_err_clear(&e);
        if (fc__cond_compile(x->when.n->scalar, p, &pos, 0, &x->cond, &e) != FC_OK) {
            if (e.code == FC_ENOMEM) {
                return FC_ENOMEM;
            }
            rc = lkeep(ld, &e);
        }
    } else {
        rc = FC_EINVAL;
    }
    if (x->effect.n == NULL) {
        rc = at(ld, &x->idf, "exemption \"%s\" has no effect (warning or waive)", x->id);
    } else if (want_scalar(ld, &x->effect, "effect") == FC_OK) {
        if (strcmp(x->effect.n->scalar, "warning") == 0) {
            x->waive = 0;
        } else if (strcmp(x->effect.n->scalar, "waive") == 0) {
            x->waive = 1;
        } else {
            rc = at(ld, &x->effect, "unknown effect \"%s\" (expected warning or waive)",
                    x->effect.n->scalar);
        }
    } else {
        rc = FC_EINVAL;
    }
    if (x->description.n != NULL && want_scalar(ld, &x->description, "description") != FC_OK) {
        rc = FC_EINVAL;
    }
    return rc;
}

static void policy_free(fc_policy *p) {
    if (p == NULL) {
        return;
    }
    for (size_t i = 0; i < p->n_names; i++) {
        fc_cond_free(p->names[i].cond);
    }
    fc_free(p->names);
    for (int k = 0; k < FC_INCIDENT__COUNT; k++) {
        for (size_t i = 0; i < p->rules[k].n; i++) {
            fc_cond_free(p->rules[k].a[i].r.when);
        }
        fc_free(p->rules[k].a);
        fc_free(p->pub[k]);
    }
    for (size_t i = 0; i < p->exemptions.n; i++) {
        fc_cond_free(p->exemptions.a[i].cond);
    }
    fc_free(p->exemptions.a);
    kvs *maps[] = {&p->on_time,      &p->values,     &p->lets,   &p->penalties,
                   &p->compensation, &p->chargeback, &p->appeals};
    for (size_t i = 0; i < sizeof maps / sizeof maps[0]; i++) {
        fc_free(maps[i]->a);
    }
    fc_free(p->levels);
    fc_free(p->comp);
    fc_free(p->charge);
    fc_free(p);
}

/* Copy a parent's merged sections into a new child (compiled parts are not
 * copied: the child compiles its own against its own names). */
static int inherit(fc_policy *p, const fc_policy *parent) {
    p->label_f = parent->label_f;
    p->currency_f = parent->currency_f;
    p->languages_f = parent->languages_f;
    const kvs *src[] = {&parent->on_time,   &parent->values,       &parent->lets,
                        &parent->penalties, &parent->compensation, &parent->chargeback,
                        &parent->appeals};
    kvs *dst[] = {&p->on_time,      &p->values,     &p->lets,   &p->penalties,
                  &p->compensation, &p->chargeback, &p->appeals};
    for (size_t i = 0; i < sizeof dst / sizeof dst[0]; i++) {
        if (kv_copy(dst[i], src[i]) != FC_OK) {
            return FC_ENOMEM;
        }
    }
    for (int k = 0; k < FC_INCIDENT__COUNT; k++) {
        const rule_list *s = &parent->rules[k];
        if (s->n == 0) {
            continue;
        }
        p->rules[k].a = fc_malloc(s->n * sizeof *s->a);
        if (p->rules[k].a == NULL) {
            return FC_ENOMEM;
        }
        memcpy(p->rules[k].a, s->a, s->n * sizeof *s->a);
        p->rules[k].n = p->rules[k].cap = s->n;
        for (size_t i = 0; i < s->n; i++) {
            p->rules[k].a[i].r.when = NULL;
        }
    }
    if (parent->exemptions.n > 0) {
        p->exemptions.a = fc_malloc(parent->exemptions.n * sizeof *p->exemptions.a);
        if (p->exemptions.a == NULL) {
            return FC_ENOMEM;
        }
        memcpy(p->exemptions.a, parent->exemptions.a,
               parent->exemptions.n * sizeof *p->exemptions.a);
        p->exemptions.n = p->exemptions.cap = parent->exemptions.n;
        for (size_t i = 0; i < p->exemptions.n; i++) {
            p->exemptions.a[i].cond = NULL;
        }
    }
    return FC_OK;
}

/* The version: label + 12 hex digits of SHA-256 over the chain's bytes,
 * base first. */
static void make_version(fc_policy *p) {
    const rawfile *chain[64];
    size_t n = 0;
    for (const fc_policy *q = p; q != NULL && n < 64; q = q->parent) {
        chain[n++] = q->rf;
    }
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    while (n-- > 0) {
        crypto_hash_sha256_update(&st, (const unsigned char *)chain[n]->bytes,
                                  (unsigned long long)chain[n]->len);
    }
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&st, h);
    char hex[13];
    for (size_t i = 0; i < 6; i++) {
        snprintf(hex + 2 * i, 3, "%02x", h[i]);
    }
    snprintf(p->version, sizeof p->version, "%s+%s", p->label, hex);
}

/* Build the resolved policy of file rf over its (resolved) parent. */
static int build_policy(loader *ld, const rawfile *rf, const fc_policy *parent, fc_policy **out) {
    *out = NULL;
    fc_policy *p = fc_calloc(1, sizeof *p);
    if (p == NULL) {
        return lerr(ld, FC_ENOMEM, rf->path, 0, 0, "out of memory");
    }
    p->rf = rf;
    p->id = rf->id;
    p->parent = parent;
    size_t before = ld->n;
    int rc = parent != NULL ? inherit(p, parent) : FC_OK;
    if (rc == FC_OK) {
        rc = apply_file(ld, p, rf);
    }
    if (rc != FC_ENOMEM) {
        rc = resolve_scalars(ld, p);
    }
    if (rc != FC_ENOMEM) {
        rc = resolve_money(ld, p);
    }
    if (rc != FC_ENOMEM) {
        rc = resolve_names(ld, p);
    }
    for (int k = 0; k < FC_INCIDENT__COUNT && rc != FC_ENOMEM; k++) {
        for (size_t i = 0; i < p->rules[k].n && rc != FC_ENOMEM; i++) {
            rule_rec *rec = &p->rules[k].a[i];
            if (!rec->is_disabled) {
                rc = resolve_rule(ld, p, rec);
            }
        }
    }
    for (size_t i = 0; i < p->exemptions.n && rc != FC_ENOMEM; i++) {
        if (!p->exemptions.a[i].is_disabled) {
            rc = resolve_exemption(ld, p, &p->exemptions.a[i]);
        }
    }
    for (int k = 0; k < FC_INCIDENT__COUNT && rc != FC_ENOMEM; k++) {
        p->pub[k] = fc_calloc(p->rules[k].n + 1, sizeof *p->pub[k]);
        if (p->pub[k] == NULL) {
            rc = FC_ENOMEM;
            break;
        }
        for (size_t i = 0; i < p->rules[k].n; i++) {
            if (!p->rules[k].a[i].is_disabled) {
                p->pub[k][p->n_pub[k]++] = &p->rules[k].a[i].r;
            }
        }
    }
    if (rc == FC_ENOMEM) {
        policy_free(p);
        return lerr(ld, FC_ENOMEM, rf->path, 0, 0, "out of memory");
    }
    make_version(p);
    if (ld->n > before) {
        policy_free(p);
        return ld->first_code != FC_OK ? ld->first_code : FC_EINVAL;
    }
    *out = p;
    return FC_OK;
}

/* ---------------------------------------------------------------------------
 * Packs.
 */
void fc_policy_pack_free(fc_policy_pack *pk) {
    if (pk == NULL) {
        return;
    }
    for (size_t i = 0; i < pk->n; i++) {
        policy_free(pk->pols[i]);
    }
    fc_free(pk->pols);
    for (size_t i = 0; i < pk->n_files; i++) {
        rawfile_free(pk->files[i]);
    }
    fc_free(pk->files);
    fc_free(pk);
}

static int pack_add_file(fc_policy_pack *pk, rawfile *rf) {
    rawfile **g = fc_realloc(pk->files, (pk->n_files + 1) * sizeof *g);
    if (g == NULL) {
        return FC_ENOMEM;
    }
    pk->files = g;
    pk->files[pk->n_files++] = rf;
    return FC_OK;
}

static rawfile *pack_file(const fc_policy_pack *pk, const char *id) {
    for (size_t i = 0; i < pk->n_files; i++) {
        if (strcmp(pk->files[i]->id, id) == 0) {
            return pk->files[i];
        }
    }
    return NULL;
}

static fc_policy *pack_policy(const fc_policy_pack *pk, const rawfile *rf) {
    for (size_t i = 0; i < pk->n; i++) {
        if (pk->pols[i]->rf == rf) {
            return pk->pols[i];
        }
    }
    return NULL;
}

/* Resolve file rf (and its parents first) into the pack. `depth` guards
 * against cycles. */
static int resolve_file(loader *ld, fc_policy_pack *pk, rawfile *rf, size_t depth,
                        fc_policy **out) {
    *out = pack_policy(pk, rf);
    if (*out != NULL) {
        return FC_OK;
    }
    const fc_policy *parent = NULL;
    if (rf->parent != NULL) {
        fld pf = mk(rf->parent_node, rf);
        rawfile *prf = pack_file(pk, rf->parent);
        if (prf == NULL) {
            return at(ld, &pf,
                      "missing parent: no policy \"%s\" (looked for %s.yaml next to "
                      "this file)",
                      rf->parent, rf->parent);
        }
        /* walk the chain upwards looking for rf again */
        const rawfile *q = prf;
        for (size_t steps = 0; q != NULL && steps <= pk->n_files; steps++) {
            if (q == rf) {
                return at(ld, &pf, "inheritance cycle: %s inherits %s, which leads back to %s",
                          rf->id, rf->parent, rf->id);
            }
            q = q->parent != NULL ? pack_file(pk, q->parent) : NULL;
        }
        if (depth > 16) {
            return at(ld, &pf, "inheritance deeper than 16 levels");
        }
        fc_policy *pp;
        int rc = resolve_file(ld, pk, prf, depth + 1, &pp);
        if (rc != FC_OK) {
            return rc;
        }
        parent = pp;
    }
    fc_policy *p;
    int rc = build_policy(ld, rf, parent, &p);
    if (rc != FC_OK) {
        return rc;
    }
    fc_policy **g = fc_realloc(pk->pols, (pk->n + 1) * sizeof *g);
    if (g == NULL) {
        policy_free(p);
        return lerr(ld, FC_ENOMEM, rf->path, 0, 0, "out of memory");
    }
    pk->pols = g;
    pk->pols[pk->n++] = p;
    *out = p;
    return FC_OK;
}

/* Two policies with one scope; the base is the unscoped one. */
static int check_scopes(loader *ld, fc_policy_pack *pk) {
    int rc = FC_OK;
    for (size_t i = 0; i < pk->n; i++) {
        const fc_policy *a = pk->pols[i];
        if (a->rf->parent == NULL && pk->base == NULL) {
            pk->base = a;
        }
        for (size_t j = 0; j < i; j++) {
            const fc_policy *b = pk->pols[j];
            if (strcasecmp(a->scope_country, b->scope_country) == 0 &&
                strcasecmp(a->scope_city, b->scope_city) == 0) {
                const fld *where = a->scope.n != NULL ? &a->scope : NULL;
                fld idf = mk(a->rf->id_node, a->rf);
                char what[128];
                if (a->scope_city[0] != '\0') {
                    snprintf(what, sizeof what, "city %s", a->scope_city);
                } else if (a->scope_country[0] != '\0') {
                    snprintf(what, sizeof what, "country %s", a->scope_country);
                } else {
                    snprintf(what, sizeof what, "everywhere (both are base policies)");
                }
                rc = at(ld, where != NULL ? where : &idf,
                        "policies %s (%s) and %s (%s) have the same scope: %s", b->id, b->rf->path,
                        a->id, a->rf->path, what);
            }
        }
    }
    return rc;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int finish(loader *ld, fc_policy_pack *pk, fc_policy_pack **out, fc_err *err) {
    if (ld->n > 0) {
        if (err != NULL) {
            *err = ld->first;
        }
        fc_policy_pack_free(pk);
        return ld->first_code != FC_OK ? ld->first_code : FC_EINVAL;
    }
    *out = pk;
    return FC_OK;
}

static int pack_load_dir(const char *dir, fc_policy_pack **out, loader *ld) {
    *out = NULL;
    fc_policy_pack *pk = fc_calloc(1, sizeof *pk);
    if (pk == NULL) {
        return lerr(ld, FC_ENOMEM, dir, 0, 0, "out of memory");
    }
    DIR *d = opendir(dir);
    if (d == NULL) {
        fc_policy_pack_free(pk);
        return lerr(ld, errno == ENOENT ? FC_ENOTFOUND : FC_EIO, dir, 0, 0,
                    "cannot open the policy folder: %s", strerror(errno));
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = FC_OK;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len < 6 || strcmp(de->d_name + len - 5, ".yaml") != 0 || de->d_name[0] == '.') {
            continue;
        }
        if (fc_grow((void **)&names, &cap, n + 1, sizeof *names) != FC_OK ||
            (names[n] = fc_strdup(de->d_name)) == NULL) {
            rc = FC_ENOMEM;
            break;
        }
        n++;
    }
    closedir(d);
    if (rc == FC_OK && n > 0) {
        qsort(names, n, sizeof *names, cmp_str);
    }
    for (size_t i = 0; i < n && rc != FC_ENOMEM; i++) {
        size_t plen = strlen(dir) + strlen(names[i]) + 2;
        char *path = fc_malloc(plen);
        if (path == NULL) {
            rc = FC_ENOMEM;
            break;
        }
        snprintf(path, plen, "%s/%s", dir, names[i]);
        rawfile *rf;
        int r = rawfile_load(ld, path, &rf);
        fc_free(path);
        if (r != FC_OK) {
            rc = r;
            continue;
        }
        rawfile *dup = pack_file(pk, rf->id);
        if (dup != NULL) {
            fld f = mk(rf->id_node, rf);
            rc = at(ld, &f, "policy \"%s\" is also defined in %s", rf->id, dup->path);
        }
        if (pack_add_file(pk, rf) != FC_OK) {
            rawfile_free(rf);
            rc = FC_ENOMEM;
        }
    }
    for (size_t i = 0; i < n; i++) {
        fc_free(names[i]);
    }
    fc_free(names);
    if (rc == FC_ENOMEM) {
        fc_policy_pack_free(pk);
        return lerr(ld, FC_ENOMEM, dir, 0, 0, "out of memory");
    }
    if (ld->n == 0 && pk->n_files == 0) {
        lerr(ld, FC_ENOTFOUND, dir, 0, 0, "no *.yaml policy files in the folder");
    }
    if (ld->n == 0) {
        for (size_t i = 0; i < pk->n_files; i++) {
            fc_policy *p;
            if (resolve_file(ld, pk, pk->files[i], 0, &p) == FC_ENOMEM) {
                break;
            }
        }
    }
    if (ld->n == 0) {
        check_scopes(ld, pk);
        if (ld->n == 0 && pk->base == NULL) {
            lerr(ld, FC_EINVAL, dir, 0, 0, "no base policy (a policy without inherits:)");
        }
    }
    *out = pk;
    return FC_OK;
}

int fc_policy_pack_load(const char *dir, fc_policy_pack **out, fc_err *err) {
    fc_err_clear(err);
    loader ld = {NULL, 0, 0, FC_OK, {0}};
    fc_policy_pack *pk = NULL;
    pack_load_dir(dir, &pk, &ld);
    if (pk == NULL) {
        if (err != NULL) {
            *err = ld.first;
        }
        return ld.first_code != FC_OK ? ld.first_code : FC_EINVAL;
    }
    return finish(&ld, pk, out, err);
}

static int load_chain(const char *path, fc_policy_pack **out, loader *ld) {
    *out = NULL;
    fc_policy_pack *pk = fc_calloc(1, sizeof *pk);
    if (pk == NULL) {
        return lerr(ld, FC_ENOMEM, path, 0, 0, "out of memory");
    }
    *out = pk;
    rawfile *rf;
    int rc = rawfile_load(ld, path, &rf);
    if (rc != FC_OK) {
        return rc;
    }
    if (pack_add_file(pk, rf) != FC_OK) {
        rawfile_free(rf);
        return lerr(ld, FC_ENOMEM, path, 0, 0, "out of memory");
    }
    /* the folder of the file */
    const char *slash = strrchr(path, '/');
    size_t dlen = slash != NULL ? (size_t)(slash - path) : 0;
    rawfile *cur = rf;
    while (cur->parent != NULL) {
        if (pack_file(pk, cur->parent) != NULL) {
            break; /* a cycle: resolve_file reports it */
        }
        size_t plen = dlen + strlen(cur->parent) + 8;
        char *ppath = fc_malloc(plen);
        if (ppath == NULL) {
            return lerr(ld, FC_ENOMEM, path, 0, 0, "out of memory");
        }
        if (slash != NULL) {
            snprintf(ppath, plen, "%.*s/%s.yaml", (int)dlen, path, cur->parent);
        } else {
            snprintf(ppath, plen, "%s.yaml", cur->parent);
        }
        struct stat sb;
        if (stat(ppath, &sb) != 0) {
            fc_free(ppath);
            fld pf = mk(cur->parent_node, cur);
            return at(ld, &pf,
                      "missing parent: no policy \"%s\" (looked for %s.yaml next to "
                      "this file)",
                      cur->parent, cur->parent);
        }
        rawfile *prf;
        rc = rawfile_load(ld, ppath, &prf);
        fc_free(ppath);
        if (rc != FC_OK) {
            return rc;
        }
        if (strcmp(prf->id, cur->parent) != 0) {
            fld f = mk(prf->id_node, prf);
            rc = at(ld, &f, "this file is %s.yaml but its policy id is \"%s\"", cur->parent,
                    prf->id);
            rawfile_free(prf);
            return rc;
        }
        if (pack_add_file(pk, prf) != FC_OK) {
            rawfile_free(prf);
            return lerr(ld, FC_ENOMEM, path, 0, 0, "out of memory");
        }
        cur = prf;
    }
    fc_policy *p;
    rc = resolve_file(ld, pk, rf, 0, &p);
    if (rc == FC_OK) {
        /* the file's own policy last */
        for (size_t i = 0; i < pk->n; i++) {
            if (pk->pols[i] == p && i + 1 != pk->n) {
                pk->pols[i] = pk->pols[pk->n - 1];
                pk->pols[pk->n - 1] = p;
            }
        }
        for (size_t i = 0; i < pk->n; i++) {
            if (pk->pols[i]->rf->parent == NULL) {
                pk->base = pk->pols[i];
            }
        }
    }
    return rc;
}

int fc_policy_load_file(const char *path, fc_policy_pack **out, fc_err *err) {
    fc_err_clear(err);
    loader ld = {NULL, 0, 0, FC_OK, {0}};
    fc_policy_pack *pk = NULL;
    load_chain(path, &pk, &ld);
    return finish(&ld, pk, out, err);
}

int fc_policy_check_file(const char *path, fc_err *errs, size_t max, size_t *n,
                         fc_policy_pack **out) {
    loader ld = {errs, max, 0, FC_OK, {0}};
    fc_policy_pack *pk = NULL;
    *out = NULL;
    load_chain(path, &pk, &ld);
    *n = ld.n;
    if (ld.n > 0) {
        fc_policy_pack_free(pk);
        return ld.first_code != FC_OK ? ld.first_code : FC_EINVAL;
    }
    *out = pk;
    return FC_OK;
}

int fc_policy_check_dir(const char *dir, fc_err *errs, size_t max, size_t *n,
                        fc_policy_pack **out) {
    loader ld = {errs, max, 0, FC_OK, {0}};
    fc_policy_pack *pk = NULL;
    *out = NULL;
    pack_load_dir(dir, &pk, &ld);
    *n = ld.n;
    if (ld.n > 0) {
        fc_policy_pack_free(pk);
        return ld.first_code != FC_OK ? ld.first_code : FC_EINVAL;
    }
    *out = pk;
    return FC_OK;
}

const fc_policy *fc_policy_for(const fc_policy_pack *pk, fc_str country, fc_str city) {
    const fc_policy *by_country = NULL;
    for (size_t i = 0; i < pk->n; i++) {
        const fc_policy *p = pk->pols[i];
        if (p->scope_city[0] != '\0') {
            if (city.n == strlen(p->scope_city) &&
                strncasecmp(city.p, p->scope_city, city.n) == 0 &&
                (p->scope_country[0] == '\0' ||
                 (country.n == strlen(p->scope_country) &&
                  strncasecmp(country.p, p->scope_country, country.n) == 0))) {
                return p;
            }
        } else if (p->scope_country[0] != '\0' && country.n == strlen(p->scope_country) &&
                   strncasecmp(country.p, p->scope_country, country.n) == 0) {
            by_country = p;
        }
    }
    if (by_country != NULL) {
        return by_country;
    }
    return pk->base != NULL ? pk->base : pk->n > 0 ? pk->pols[0] : NULL;
}

size_t fc_policy_pack_count(const fc_policy_pack *pk) {
    return pk->n;
}

const fc_policy *fc_policy_pack_at(const fc_policy_pack *pk, size_t i) {
    return i < pk->n ? pk->pols[i] : NULL;
}

const fc_policy *fc_policy_pack_find(const fc_policy_pack *pk, const char *id) {
    for (size_t i = 0; i < pk->n; i++) {
        if (strcmp(pk->pols[i]->id, id) == 0) {
            return pk->pols[i];
        }
    }
    return NULL;
}

/* ---------------------------------------------------------------------------
 * Accessors.
 */
const char *fc_policy_id(const fc_policy *p) {
    return p->id;
}

const char *fc_policy_version(const fc_policy *p) {
    return p->version;
}

const char *fc_policy_label(const fc_policy *p) {
    return p->label;
}

const char *fc_policy_currency(const fc_policy *p) {
    return p->currency;
}

const char *fc_policy_file(const fc_policy *p) {
    return p->rf->path;
}

const fc_policy *fc_policy_parent(const fc_policy *p) {
    return p->parent;
}

const char *fc_policy_scope_country(const fc_policy *p) {
    return p->scope_country;
}

const char *fc_policy_scope_city(const fc_policy *p) {
    return p->scope_city;
}

int fc_policy_has_language(const fc_policy *p, fc_lang l) {
    return (unsigned)l < (unsigned)FC_LANG__COUNT && (p->langs & (1u << l)) != 0;
}

size_t fc_policy_rules(const fc_policy *p, fc_incident_kind k, const fc_rule *const **out) {
    if ((unsigned)k >= (unsigned)FC_INCIDENT__COUNT) {
        *out = NULL;
        return 0;
    }
    *out = p->pub[k];
    return p->n_pub[k];
}

const fc_thresholds *fc_policy_thresholds(const fc_policy *p) {
    return &p->thr;
}

int64_t fc_policy_appeal_sla_s(const fc_policy *p, fc_party appellant) {
    return (unsigned)appellant < (unsigned)FC_PARTY__COUNT ? p->sla_s[appellant]
                                                           : p->sla_s[FC_PARTY_MERCHANT];
}

int fc_policy_auto_review(const fc_policy *p) {
    return p->auto_review;
}

size_t fc_policy_exemption_count(const fc_policy *p) {
    size_t n = 0;
    for (size_t i = 0; i < p->exemptions.n; i++) {
        n += !p->exemptions.a[i].is_disabled;
    }
    return n;
}

int fc_policy_exemption_at(const fc_policy *p, size_t i, fc_policy_exemption *out) {
    for (size_t k = 0; k < p->exemptions.n; k++) {
        const exemption *x = &p->exemptions.a[k];
        if (x->is_disabled) {
            continue;
        }
        if (i-- == 0) {
            out->id = x->id;
            out->description = x->description.n != NULL ? x->description.n->scalar : "";
            out->when = x->when.n->scalar;
            out->waive = x->waive;
            out->file = x->origin_rf->path;
            out->line = x->origin_line;
            out->changed_file = x->changed_rf->path;
            out->changed_line = x->changed_line;
            return FC_OK;
        }
    }
    return FC_ENOTFOUND;
}

static int capacity_index(fc_str capacity) {
    for (int c = 0; c < CAP_DEFAULT; c++) {
        if (fc_str_eqc(capacity, capacity_names[c])) {
            return c;
        }
    }
    return -1;
}

void fc_policy_consequence(const fc_policy *p, const fc_rule *r, const fc_policy_input *in,
                           fc_consequence *out) {
    memset(out, 0, sizeof *out);
    const rule_rec *rec = (const rule_rec *)r;
    out->customer_compensation_minor = rec->compensate_minor;
    out->merchant_chargeback_minor = rec->chargeback_minor;
    if (r->liable != FC_PARTY_RIDER) {
        return;
    }
    if (rec->penalty_level >= 0) {
        const level *lv = &p->levels[rec->penalty_level];
        int c = capacity_index(in->capacity);
        if (c < 0 || !(lv->set & (1u << c))) {
            c = (lv->set & (1u << CAP_DEFAULT)) ? CAP_DEFAULT : CAP_FULL_TIME;
        }
        out->rider_points = lv->points[c];
        out->rider_amount_minor = lv->amount_minor[c];
        out->suspend_days = lv->suspend_days[c];
    }
    for (size_t i = 0; i < p->exemptions.n; i++) {
        const exemption *x = &p->exemptions.a[i];
        if (x->is_disabled || x->cond == NULL || !fc_cond_eval(x->cond, in, NULL, NULL, NULL)) {
            continue;
        }
        out->rider_points = 0;
        out->rider_amount_minor = 0;
        out->suspend_days = 0;
        out->warning_only = !x->waive;
        snprintf(out->exemption, sizeof out->exemption, "%.47s", x->id);
        break;
    }
}

int fc_policy_name_value(const fc_policy *p, const char *name, size_t len,
                         const fc_policy_input *in, fc_value *out, const char **unit) {
    int f = fc_fact_find(name, len);
    if (f >= 0) {
        *out = fc_fact_value((size_t)f, in);
        if (unit != NULL) {
            *unit = fc_fact_unit((size_t)f);
        }
        return FC_OK;
    }
    const fc__named *nm = fc__policy_lookup(p, name, len);
    if (nm == NULL) {
        return FC_ENOTFOUND;
    }
    if (nm->is_let) {
        *out = fc__cond_num(nm->cond, in);
    } else {
        fc_value v = {FC_FACT_NUM, 0, nm->value, FC_STR_NULL};
        *out = v;
    }
    if (unit != NULL) {
        *unit = nm->unit[0] != '\0' || !nm->is_let ? nm->unit : fc__cond_unit(nm->cond);
    }
    return FC_OK;
}

#ifndef FC_SOURCE_DIR
#define FC_SOURCE_DIR "."
#endif

const char *fc_policy_dir(void) {
    const char *env = getenv("FULCRUM_POLICIES");
    if (env != NULL && env[0] != '\0') {
        return env;
    }
    return FC_SOURCE_DIR "/policies";
}
