/*
 * Internals shared by the ingest readers (csv.c, jsonl.c, mapping.c,
 * reader.c). Not part of the public interface.
 */
#ifndef FC_READER_INTERNAL_H
#define FC_READER_INTERNAL_H

#include "ingest/ingest.h"

/* Instants outside [2000-01-01, 2100-01-01) are impossible. */
#define FC__TS_MIN 946684800LL
#define FC__TS_MAX 4102444800LL
/* Clock skew tolerated between two lifecycle steps of one row whose order
 * is certain (picked up before delivered, ...): the steps are stamped by
 * different devices. Nothing may be before the order's creation. */
#define FC__STEP_SKEW_S 60

/* ---------------------------------------------------------------------------
 * RFC 4180 tokenizer over a borrowed buffer. Field views point into the
 * buffer, or into the tokenizer's scratch for quoted fields with doubled
 * quotes; they stay valid until the next row.
 */
typedef struct fc__csv {
    const char *buf;
    size_t n;
    size_t pos; /* next byte to read */
    long line;  /* physical line of buf[pos], 1-based */
    char delim;
    int wide;           /* the processor has 32-byte vectors (AVX2) */
    uint8_t stop[256];  /* bytes that end a plain run in an unquoted field */
    uint8_t qstop[256]; /* bytes that end a plain run in a quoted field */
    fc_str *fields;
    uint32_t *scratch_off; /* offset into scratch, UINT32_MAX when in buf */
    long *field_line;      /* physical line where each field starts */
    size_t nfields, cap_fields;
    char *scratch;
    size_t scratch_len, scratch_cap;
} fc__csv;

void fc__csv_init(fc__csv *c, const char *buf, size_t n, char delim);
void fc__csv_free(fc__csv *c);
/* Read the next row: 1 with c->fields filled, 0 at the end of input, or a
 * negative status with err filled (line of the offending field, col its
 * 1-based field number). *row_line is the line the row starts on, *row_start
 * and *row_end delimit its text (without the line end); after an error the
 * tokenizer has skipped the bad row. Blank lines are skipped. */
int fc__csv_row(fc__csv *c, const char *source, long *row_line, size_t *row_start, size_t *row_end,
                fc_err *err);

/* ---------------------------------------------------------------------------
 * Value parsing shared by the JSON and CSV readers.
 */
/* Fast ISO 8601 parse of the fixed layouts exports use (date, 'T' or space,
 * clock, optional fraction, optional Z or offset), falling back to
 * fc_time_parse_iso. Without an offset the time is local to tz (UTC when
 * NULL). */
int fc__time_iso(fc_str s, const fc_tz *tz, int64_t *out, fc_err *err);
/* The last date parsed by fc__time_iso_fast, so that the many times of one
 * day skip the calendar arithmetic. Zero-initialise before first use. */
typedef struct fc__date_cache {
    char key[10]; /* "YYYY-MM-DD" */
    int valid;
    int64_t days; /* days since 1970-01-01 of key */
} fc__date_cache;
/* The layouts nearly every export writes: "YYYY-MM-DDTHH:MM:SS+HH:MM" (or
 * -HH:MM, or a space for T) and "YYYY-MM-DDTHH:MM:SSZ". Returns 1 with *out
 * set when s is one of them and valid, else 0: then fc__time_iso gives the
 * answer or the error, so results and messages never depend on this path. */
int fc__time_iso_fast(fc_str s, fc__date_cache *dc, int64_t *out);
/* Does ISO text carry an offset or Z? */
int fc__iso_has_offset(fc_str s);
/* Decimal degrees ("-24.123456") to microdegrees, rounding past 6 decimals. */
int fc__parse_deg_e6(fc_str s, int32_t *out);
/* Decimal amount in major units to minor units with `decimals` decimals;
 * more decimals than that is FC_EPARSE. */
int fc__parse_money(fc_str s, int decimals, int64_t *out);
/* Whole int64 ("-12", no spaces). */
int fc__parse_int(fc_str s, int64_t *out);
/* Range check of a value of event field `field` (index into the event field
 * table) on an event of type t: NULL when fine, else the reason (static string). */
const char *fc__field_range(fc_event_type t, int field, int64_t v);
/* The same check split in two for hot loops: the field's range class,
 * resolved once, then the check of a value against it. */
enum {
    FC__RC_NONE = 0, /* strings, unknown fields */
    FC__RC_TIME,
    FC__RC_MONEY,
    FC__RC_LAT,
    FC__RC_LNG,
    FC__RC_SCORE,
    FC__RC_SEVERITY,
    FC__RC_PREBOOK,
    FC__RC_COUNT /* other integers: 0 .. INT32_MAX - 1 */
};
int fc__field_range_class(int field);
const char *fc__range_check(int cls, fc_event_type t, int64_t v);
/* Length of the valid UTF-8 sequence starting at p (at most avail bytes),
 * 0 when invalid (overlong, surrogate, beyond U+10FFFF, truncated). */
size_t fc__utf8_seq(const unsigned char *p, size_t avail);
/* Is s valid UTF-8 without NUL? *bad receives the offset of the first bad
 * byte. */
int fc__utf8_ok(const char *s, size_t n, size_t *bad);

/* ---------------------------------------------------------------------------
 * Mappings applied to rows.
 */
typedef struct fc__binding fc__binding; /* a mapping bound to one header */
/* Bind m to a CSV header (fields[0..n)); FC_EINVAL naming the mapping file's
 * line and column when the mapping uses a column the header lacks. */
int fc__mapping_bind(const fc_mapping *m, const fc_str *header, size_t n, const char *source,
                     fc__binding **out, fc_err *err);
void fc__binding_free(fc__binding *b);
char fc__mapping_delim(const fc_mapping *m);
/* Expand one row (fields[0..n), n equal to the header's count) into rec's
 * id, order and events. `line_of` gives each field's line. Views point into
 * the row or the binding's scratch, valid until the next call. */
int fc__mapping_apply(fc__binding *b, const fc_ref *ref, const fc_str *fields,
                      const long *field_line, size_t n, const char *source, fc_record *rec,
                      fc_err *err);
/* The canonical orders header ("order_id,city,..."), static. */
const char *fc__canonical_header(void);

/* ---------------------------------------------------------------------------
 * JSON Lines.
 */
typedef struct fc__jsonl fc__jsonl;
int fc__jsonl_new(fc__jsonl **out);
void fc__jsonl_free(fc__jsonl *j);
/* Parse one line (without its line end) into rec->events[0]. */
int fc__jsonl_line(fc__jsonl *j, const char *p, size_t n, const char *source, long line,
                   fc_record *rec, fc_err *err);

#endif
