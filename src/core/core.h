/*
 * core: errors, allocation, string views, hashing, arenas, interning,
 * time and time zones, money, and a small YAML document tree.
 *
 * Thread safety: every function here is re-entrant. The allocation fault
 * injection hook (fc_alloc_fail_after) is a test-only global and must be set
 * before threads start. Time-zone objects are immutable once loaded and may be
 * shared between threads.
 */
#ifndef FC_CORE_H
#define FC_CORE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---------------------------------------------------------------------------
 * Errors. 0 is success, negative values are errors.
 */
typedef enum fc_status {
    FC_OK = 0,
    FC_ENOMEM = -1,    /* out of memory */
    FC_EIO = -2,       /* a file or stream could not be read or written */
    FC_EPARSE = -3,    /* malformed input (CSV, JSON, YAML, time, number) */
    FC_EINVAL = -4,    /* well-formed but invalid value or usage */
    FC_ESTORE = -5,    /* the store failed */
    FC_ENOTFOUND = -6, /* a named thing does not exist */
    FC_EDUP = -7,      /* duplicate (id, name) */
    FC_ELIMIT = -8,    /* a size or count limit was exceeded */
    FC_EINTERNAL = -9, /* a bug: an invariant did not hold */
    FC_ECONFLICT = -10 /* someone else changed it first (a concurrent write) */
} fc_status;

/* Detail for the user: where and why. file may be empty; line and col are
 * 1-based, 0 when unknown. */
typedef struct fc_err {
    int code;       /* an fc_status */
    char file[256]; /* input file name, "-" for stdin, "" when none */
    long line;      /* 1-based line, 0 when unknown */
    long col;       /* 1-based column (CSV: field number; text: byte), 0 unknown */
    char field[64]; /* field or column name, "" when none */
    char msg[512];  /* the reason, one sentence, no trailing newline */
} fc_err;

/* Short name of a status ("out of memory", "parse error", ...). Static string. */
const char *fc_strerror(int code);

/* Reset err to "no error". err may be NULL (then nothing happens). */
void fc_err_clear(fc_err *err);

/* Fill err (when not NULL) and return code, so callers can write
 * `return fc_err_set(err, FC_EPARSE, file, line, col, "bad %s", x);`.
 * file may be NULL. */
int fc_err_set(fc_err *err, int code, const char *file, long line, long col, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* Set the field name of an error already filled. */
void fc_err_field(fc_err *err, const char *field, size_t field_len);

/* Render "file:line:col: field: reason" into buf (always NUL-terminated). */
void fc_err_format(const fc_err *err, char *buf, size_t bufsz);

/* ---------------------------------------------------------------------------
 * Allocation. Long-lived objects go through these so tests can make the Nth
 * allocation fail and prove the error paths.
 */
void *fc_malloc(size_t n);
void *fc_calloc(size_t count, size_t size);
void *fc_realloc(void *p, size_t n);
void fc_free(void *p);                     /* NULL is a no-op */
char *fc_strdup(const char *s);            /* caller frees; NULL on OOM */
char *fc_strndup(const char *s, size_t n); /* caller frees; NULL on OOM */

/* Test hook: after `n` more successful allocations, every allocation fails.
 * A negative n disables the hook (the default). */
void fc_alloc_fail_after(long n);

/* Growable array helper: make room for `need` elements in *arr (capacity in
 * *cap, element size `elem`). Returns FC_OK or FC_ENOMEM (array unchanged). */
int fc_grow(void **arr, size_t *cap, size_t need, size_t elem);

/* ---------------------------------------------------------------------------
 * String views: borrowed, not NUL-terminated.
 */
typedef struct fc_str {
    const char *p;
    uint32_t n;
} fc_str;

#define FC_STR_NULL ((fc_str){NULL, 0})
static inline fc_str fc_str_make(const char *p, size_t n) {
    fc_str s = {p, (uint32_t)n};
    return s;
}
fc_str fc_str_c(const char *cstr);          /* view of a C string (NULL -> empty) */
int fc_str_eq(fc_str a, fc_str b);          /* byte equality */
int fc_str_eqc(fc_str a, const char *cstr); /* equality with a C string */
int fc_str_cmp(fc_str a, fc_str b);         /* memcmp order, shorter first */
fc_str fc_str_trim(fc_str s);               /* strip ASCII spaces and tabs */
/* Copy into buf as a C string, truncating; returns buf. */
char *fc_str_cpy(char *buf, size_t bufsz, fc_str s);

/* Checked numeric parsing of a whole view (no trailing garbage, no spaces).
 * Return FC_OK or FC_EPARSE (out of range included). */
int fc_parse_i64(fc_str s, int64_t *out);
int fc_parse_f64(fc_str s, double *out);

/* Is s valid UTF-8 (no overlongs, no surrogates, no NUL)? On failure *bad_at
 * (when not NULL) receives the byte offset of the first bad byte. */
int fc_utf8_valid(const char *s, size_t n, size_t *bad_at);

/* ---------------------------------------------------------------------------
 * Hashing. 64-bit, seeded, stable across runs and machines (stored on disk).
 */
uint64_t fc_hash64(const void *p, size_t n, uint64_t seed);
static inline uint64_t fc_hash_str(fc_str s) {
    return fc_hash64(s.p, s.n, 0);
}

/* ---------------------------------------------------------------------------
 * Arena: many small allocations freed at once (per batch, per request).
 */
typedef struct fc_arena fc_arena;
fc_arena *fc_arena_new(size_t block_size);   /* NULL on OOM; 0 -> 64 KiB */
void *fc_arena_alloc(fc_arena *a, size_t n); /* 16-aligned; NULL on OOM */
char *fc_arena_strndup(fc_arena *a, const char *s, size_t n);
fc_str fc_arena_str(fc_arena *a, fc_str s); /* copy a view; {NULL,0} on OOM */
void fc_arena_reset(fc_arena *a);           /* forget everything, keep first block */
void fc_arena_free(fc_arena *a);            /* NULL is a no-op */

/* ---------------------------------------------------------------------------
 * Dictionary: interns strings to dense ids 0, 1, 2, ... (dictionary-encoded
 * dimensions, entity lookup). Copies the bytes it keeps.
 */
typedef struct fc_dict fc_dict;
fc_dict *fc_dict_new(void);    /* NULL on OOM */
void fc_dict_free(fc_dict *d); /* NULL is a no-op */
/* Id of s, adding it when absent. Returns the id (>= 0) or FC_ENOMEM. */
int64_t fc_dict_intern(fc_dict *d, fc_str s);
/* Id of s or -1 when absent. */
int64_t fc_dict_find(const fc_dict *d, fc_str s);
/* Split interning, for callers that look up several keys at once: hash each
 * key, prefetch its slot, then intern with the hash, so the cache misses of
 * the keys overlap. h must be fc_dict_hash(s); results as fc_dict_intern. */
uint64_t fc_dict_hash(fc_str s);
void fc_dict_prefetch(const fc_dict *d, uint64_t h);
int64_t fc_dict_intern_h(fc_dict *d, fc_str s, uint64_t h);
/* The string of an id (borrowed, valid until the dict is freed; NUL-terminated). */
fc_str fc_dict_get(const fc_dict *d, uint32_t id);
uint32_t fc_dict_count(const fc_dict *d);

/* ---------------------------------------------------------------------------
 * Time. Instants are int64 Unix seconds UTC. FC_TS_NONE means absent.
 */
#define FC_TS_NONE INT64_MIN

/* Civil date <-> days since 1970-01-01 (proleptic Gregorian). */
int64_t fc_days_from_civil(int64_t y, unsigned m, unsigned d);
void fc_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);

/* An IANA time zone loaded from the system's TZif files (tzdata). */
typedef struct fc_tz fc_tz;
/* Load zone `name` ("Asia/Riyadh", "UTC"). FC_ENOTFOUND when unknown. */
int fc_tz_load(const char *name, fc_tz **out, fc_err *err);
void fc_tz_free(fc_tz *tz); /* NULL is a no-op */
const char *fc_tz_name(const fc_tz *tz);
/* UTC offset in seconds in force at instant t. */
int32_t fc_tz_offset(const fc_tz *tz, int64_t t);
/* Local civil time -> instant. For a time in a gap (spring forward) the
 * offset before the gap is used; in an overlap, the first occurrence. */
int64_t fc_tz_to_utc(const fc_tz *tz, int64_t local_seconds);

/* Local calendar parts of an instant. */
typedef struct fc_localtime {
    int32_t date;    /* local days since 1970-01-01 */
    uint8_t hour;    /* 0-23 */
    uint8_t minute;  /* 0-59 */
    uint8_t weekday; /* 0 = Monday ... 6 = Sunday (ISO) */
} fc_localtime;
fc_localtime fc_tz_local(const fc_tz *tz, int64_t t);

/* Parse ISO 8601: "2026-03-01T12:30:00Z", "...+03:00", "2026-03-01 12:30:00",
 * fractional seconds ignored. Without an offset the time is local to `tz`
 * (UTC when tz is NULL). Returns FC_OK or FC_EPARSE with err->col the 1-based
 * byte where it went wrong (err may be NULL). */
int fc_time_parse_iso(fc_str s, const fc_tz *tz, int64_t *out, fc_err *err);
/* Parse with a strptime-like format of %Y %m %d %H %M %S %y %b %j %% and
 * literal characters; local to tz (UTC when NULL). Also %f (fractional
 * digits, ignored) and %z (an offset, which then wins over tz); %b takes the
 * English month name or its three-letter abbreviation, any case. Errors as
 * for fc_time_parse_iso; an unknown directive is FC_EINVAL. */
int fc_time_parse_fmt(fc_str s, const char *fmt, const fc_tz *tz, int64_t *out, fc_err *err);
/* Format an instant as "2026-03-01T12:30:00Z" (buf >= 21 bytes). */
void fc_time_format_utc(int64_t t, char *buf, size_t bufsz);
/* Format as local "2026-03-01T15:30:00+03:00" (buf >= 26 bytes). */
void fc_time_format_local(const fc_tz *tz, int64_t t, char *buf, size_t bufsz);

/* ---------------------------------------------------------------------------
 * Money: int64 minor units of an ISO 4217 currency.
 */
/* Decimals of a currency code (KWD, BHD, OMR, JOD 3; JPY, KRW 0; others 2).
 * -1 when the code is not three upper-case letters. */
int fc_currency_decimals(const char *code);
/* Format minor units: fc_money_format(12345, "KWD") -> "12.345". */
void fc_money_format(int64_t minor, const char *code, char *buf, size_t bufsz);
/* Parse a decimal amount ("12.5") into minor units of the currency; more
 * decimals than the currency has is FC_EPARSE (no silent rounding), except
 * trailing zeros ("1500.00" JPY), which change nothing. FC_EINVAL for a bad
 * currency code. */
int fc_money_parse(fc_str s, const char *code, int64_t *out_minor);

/* ---------------------------------------------------------------------------
 * Geography.
 */
/* Great-circle distance in metres between two points in microdegrees. */
double fc_geo_distance_m(int32_t lat1_e6, int32_t lng1_e6, int32_t lat2_e6, int32_t lng2_e6);
/* fc_geo_distance_m rounded to the nearest metre (halves away from zero, as
 * lround), always the same value; for points under half a degree apart it
 * needs one cosine instead of five transcendental calls. */
int32_t fc_geo_distance_round_m(int32_t lat1_e6, int32_t lng1_e6, int32_t lat2_e6, int32_t lng2_e6);

/* ---------------------------------------------------------------------------
 * YAML documents (libyaml), with line and column of every node, for
 * settings, mappings and policies.
 */
typedef enum fc_yaml_kind { FC_YAML_SCALAR, FC_YAML_MAP, FC_YAML_SEQ } fc_yaml_kind;
typedef struct fc_yaml fc_yaml;
struct fc_yaml {
    fc_yaml_kind kind;
    long line, col; /* 1-based position of the node in the file */
    char *scalar;   /* FC_YAML_SCALAR: the text (NUL-terminated) */
    size_t len;     /* MAP: number of pairs; SEQ: number of items */
    char **keys;    /* MAP: keys */
    long *key_lines, *key_cols;
    fc_yaml **vals; /* MAP: values; SEQ: items */
};
/* Parse a whole file (path) or buffer. Errors carry file, line and column.
 * Refused with FC_EPARSE: syntax errors, aliases, duplicate keys, non-scalar
 * keys, more than one document; FC_ELIMIT beyond 64 levels of nesting. An
 * empty file is an empty map. *out is caller-freed with fc_yaml_free. */
int fc_yaml_load_file(const char *path, fc_yaml **out, fc_err *err);
int fc_yaml_load_buf(const char *name, const char *buf, size_t n, fc_yaml **out, fc_err *err);
void fc_yaml_free(fc_yaml *y); /* NULL is a no-op */
/* Value of key in a map, NULL when absent or y is not a map. Borrowed. */
const fc_yaml *fc_yaml_get(const fc_yaml *y, const char *key);

/* ---------------------------------------------------------------------------
 * Small helpers for the command line and logs.
 */
/* Monotonic clock in seconds (for progress and benchmarks only; never in the
 * pure core). */
double fc_now_mono(void);

#endif
