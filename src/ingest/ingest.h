/*
 * ingest: readers for JSON Lines events, one-row-per-order CSV through a
 * column mapping, and reference-entity CSV; and the pipeline that validates,
 * dedupes and appends them to the store with a reject file and an ingest log.
 *
 * Readers are pure parsers over a caller-owned buffer. The pipeline does the
 * I/O (files, stdin, reject file, progress bar).
 *
 * Thread safety: a reader or mapping is used by one thread at a time; a
 * loaded mapping is read-only and may be shared.
 */
#ifndef FC_INGEST_H
#define FC_INGEST_H

#include <stdio.h>

#include "core/core.h"
#include "event/event.h"
#include "ref/ref.h"
#include "store/store.h"

typedef enum fc_input_kind {
    FC_INPUT_EVENTS = 0, /* JSON Lines, one canonical event per line */
    FC_INPUT_ORDERS,     /* CSV, one row per order (or waybill) through a mapping */
    FC_INPUT_CITIES,     /* CSV: country,city,tz,currency */
    FC_INPUT_ZONES,      /* CSV: city,zone,kind */
    FC_INPUT_MERCHANTS,  /* CSV: merchant,city,zone,kind,brand[,lat,lng] */
    FC_INPUT_RIDERS,     /* CSV: rider,city,capacity,fleet,start_date */
} fc_input_kind;
const char *fc_input_kind_name(fc_input_kind k); /* "events", "orders", "cities", ... */

#define FC_RECORD_MAX_EVENTS 32
#define FC_FIELD_MAX_BYTES   (1u << 20) /* a longer field rejects its row */

/* One input unit. Views and entity strings point into the input buffer or the
 * reader's scratch memory and stay valid until the next fc_reader_next. */
typedef struct fc_record {
    fc_input_kind kind;
    long line;          /* 1-based line where the row starts */
    int64_t offset_end; /* byte offset just past the row (resume point) */
    fc_str raw;         /* the row's text, without the line end */
    fc_str id;          /* record id: event id, or the row key of an orders CSV */
    fc_str order;       /* order id, empty for entities and city-level events */
    size_t n_events;
    fc_event events[FC_RECORD_MAX_EVENTS];
    union {
        fc_city city; /* tz is NULL here: fc_ref_put_city loads it */
        fc_zone zone;
        fc_merchant merchant;
        fc_rider rider;
    } ent;
} fc_record;

/* ---------------------------------------------------------------------------
 * Column mappings for one-row-per-order CSV (docs/mapping.md).
 */
typedef struct fc_mapping fc_mapping;
/* Load a mapping from a YAML file, or a shipped preset by name
 * ("fulcrum-orders", "meituan-tsl-2024"; looked up in the mappings folder).
 * Errors name the file, line and column of the offending entry. */
int fc_mapping_load(const char *path_or_preset, fc_mapping **out, fc_err *err);
void fc_mapping_free(fc_mapping *m); /* NULL is a no-op */
const char *fc_mapping_name(const fc_mapping *m);
/* The folder presets are read from: $FULCRUM_MAPPINGS, else the installed or
 * source `mappings/` folder. */
const char *fc_mapping_dir(void);

/* ---------------------------------------------------------------------------
 * Readers.
 */
typedef struct fc_reader fc_reader;
/* Open a reader over buf[0..n) (borrowed; must outlive the reader), called
 * `source` in errors. With a mapping the input is an orders CSV; without,
 * the kind is detected: JSON Lines when the first non-blank byte is '{', else
 * a CSV whose header matches a reference layout or the canonical orders
 * layout (the "fulcrum-orders" preset). `ref` (may be NULL) gives city time
 * zones to mappings that take the zone from the city. FC_EPARSE when the
 * kind cannot be told (err says why and what to pass). */
int fc_reader_open(const char *source, const char *buf, size_t n, const fc_mapping *m,
                   const fc_ref *ref, fc_reader **out, fc_err *err);
void fc_reader_free(fc_reader *r); /* NULL is a no-op */
fc_input_kind fc_reader_kind(const fc_reader *r);
/* Continue from a resume point (byte offset just past a row, and its line). */
int fc_reader_seek(fc_reader *r, int64_t offset, long line);
/* Read the next record. Returns 1 with *rec filled, 0 at the end of input, or
 * a negative fc_status when the row is rejected: err names file, line, column
 * and reason, rec->raw / line / offset_end are set, and the next call goes on
 * with the following row. */
int fc_reader_next(fc_reader *r, fc_record *rec, fc_err *err);

/* ---------------------------------------------------------------------------
 * The pipeline.
 */
typedef struct fc_ingest_opts {
    const char *mapping;     /* path or preset, NULL to detect the kind */
    const char *reject_path; /* reject file; NULL: "<db>.rejects.csv" */
    long max_errors;         /* stop a file at its max_errors-th reject (0 tolerates
                                none: the same as 1); < 0: no limit */
    int progress;            /* draw a progress bar on stderr */
    size_t batch_rows;       /* rows per transaction, 0 = default */
    int quiet;               /* no summary lines */
    FILE *summary;           /* where summary lines go; NULL: stdout */
    /* Called once for each newly stored record (not a duplicate) that names
     * an order, after the batch holding it committed, with the order's id
     * (valid during the call): lets a caller judge the orders an ingest
     * touched. A non-zero return stops the ingest with that status. NULL:
     * not called.
     * The orders of one batch are told in input order, once per record (an
     * order with several new records is told several times), on the thread
     * that writes the store, while no batch is open: the callback may read
     * the store but must not open a batch. When it stops the ingest, the
     * batch stays committed and the orders after the one that stopped it
     * are not told, then or on a re-run (which resumes after that batch). */
    int (*on_order)(void *ud, fc_str order);
    void *on_order_ud;
} fc_ingest_opts;

/* Ingest one file (or "-" for stdin) into the store: parse, validate, dedupe
 * by record id, append in batches, log rejects. A file already fully ingested
 * (same checksum and kind) is reported and skipped; an interrupted one is
 * resumed from its last committed batch. *log receives the file's ingest log.
 * Returns FC_OK even when rows were rejected (see log->rejected); an error
 * only when the file could not be ingested at all or max_errors was hit
 * (FC_ELIMIT). */
int fc_ingest_file(fc_store *s, const char *path, const fc_ingest_opts *opts, fc_ingest_log *log,
                   fc_err *err);

/* Ingest buf[0..n) (borrowed), an input as fc_reader_open detects it (JSON
 * Lines events when its first non-blank byte is '{'), into the store on the
 * calling thread: for inputs that arrive whole in memory (an HTTP request
 * body). Records are deduped by id as fc_ingest_file does, with the same
 * validation and reject reasons (err-style file/line/column/field, `source`
 * as the file name), kept with the log (fc_store_rejects). Every call makes
 * a new log row named `source` whose checksum is the SHA-256 of the buffer;
 * a buffer is never skipped or resumed by checksum (re-sending the same
 * records stores nothing new: they are counted as duplicates). The rows are
 * one transaction unless opts->batch_rows is set; opts->on_order is told
 * after the commit; reject_path, progress, quiet and summary are ignored.
 * Returns as fc_ingest_file: FC_OK even when rows were rejected (see
 * log->rejected), FC_ELIMIT when max_errors was hit (the rows before it
 * committed), or an error with nothing committed. */
int fc_ingest_buffer(fc_store *s, const char *source, const char *buf, size_t n,
                     const fc_ingest_opts *opts, fc_ingest_log *log, fc_err *err);

/* fc_ingest_buffer in two steps, for a server that reads batches on many
 * threads and writes them on one: fc_ingest_prepare reads and checks
 * buf[0..n) (borrowed; JSON Lines events only) without the store: every
 * row parsed, validated and packed, rejects noted with their file (source),
 * line, column, field and reason, max_errors applied, the checksum taken.
 * FC_EINVAL when the input is not JSON Lines events (reference rows and
 * order exports need the store's reference entities: fc_ingest_buffer);
 * opts->mapping and the file-only options are ignored. *out is freed with
 * fc_ingest_batch_free.
 * fc_ingest_write then stores it as fc_ingest_buffer does after reading:
 * one transaction, a new log row (started_at is when it was prepared),
 * records deduped by id, rejects kept with the log, opts->on_order told
 * after the commit. Returns as fc_ingest_buffer. A batch may be written
 * once, or again into another store. */
typedef struct fc_ingest_batch fc_ingest_batch;
int fc_ingest_prepare(const char *source, const char *buf, size_t n, const fc_ingest_opts *opts,
                      fc_ingest_batch **out, fc_err *err);
int fc_ingest_write(fc_store *s, const fc_ingest_batch *b, const fc_ingest_opts *opts,
                    fc_ingest_log *log, fc_err *err);
void fc_ingest_batch_free(fc_ingest_batch *b); /* NULL is a no-op */
/* The rows a prepared batch rejects, in input order, each handed to cb as
 * fc_store_rejects hands the rows kept with the log (the same reasons, the
 * same raw text); a non-zero return stops and is returned. */
int fc_ingest_batch_rejects(const fc_ingest_batch *b, fc_store_reject_cb cb, void *ud);

#endif
