/*
 * ingest: the pipeline from an input file to the store.
 *
 * One file is read whole (mmap, or stdin slurped), checksummed, and its rows
 * appended in batches. Each batch is one store transaction that also saves
 * the ingest log's counters and resume point, so a run killed at any moment
 * resumes from the last commit and ends with exactly the store an
 * uninterrupted run makes (docs/ingest.md).
 *
 * The checksum (which says whether the file is new, done or to be resumed)
 * is computed on a second thread while the rows are already being read into
 * the first transaction, under a new log; nothing is committed before it is
 * known. When it names a log that exists, the transaction is rolled back and
 * the file goes the way that log says (skip, or resume from its point).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ingest/ingest.h"
#include "ingest/reader_internal.h"

#define DEFAULT_BATCH_ROWS 50000
#define PROGRESS_EVERY_S   0.2

/* The whole input: mapped, slurped from a stream, or empty. */
typedef struct input {
    const char *buf;
    size_t n;
    void *map;  /* mmap'ed region, when mapped */
    char *heap; /* slurped bytes, when read from a stream */
} input;

static void input_free(input *in) {
    if (in->map != NULL) {
        munmap(in->map, in->n);
    }
    fc_free(in->heap);
    memset(in, 0, sizeof *in);
}

/* Read all of fd into in->heap. */
static int slurp(int fd, const char *name, input *in, fc_err *err) {
    size_t cap = 0, len = 0;
    char *buf = NULL;
    for (;;) {
        if (fc_grow((void **)&buf, &cap, len + 65536, 1) != FC_OK) {
            fc_free(buf);
            return fc_err_set(err, FC_ENOMEM, name, 0, 0, "out of memory reading the input");
        }
        ssize_t got = read(fd, buf + len, cap - len);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got < 0) {
            fc_free(buf);
            return fc_err_set(err, FC_EIO, name, 0, 0, "cannot read: %s", strerror(errno));
        }
        if (got == 0) {
            break;
        }
        len += (size_t)got;
    }
    in->heap = buf;
    in->buf = buf != NULL ? buf : "";
    in->n = len;
    return FC_OK;
}

/* Load `path` ("-" is stdin): a regular file is mapped, anything else read. */
static int input_load(const char *path, input *in, fc_err *err) {
    memset(in, 0, sizeof *in);
    if (strcmp(path, "-") == 0) {
        return slurp(STDIN_FILENO, "-", in, err);
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return fc_err_set(err, FC_EIO, path, 0, 0, "cannot open: %s", strerror(errno));
    }
    int rc = FC_OK;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        rc = fc_err_set(err, FC_EIO, path, 0, 0, "cannot stat: %s", strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = slurp(fd, path, in, err);
        goto out;
    }
    if (st.st_size == 0) {
        in->buf = "";
        goto out;
    }
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
        rc = fc_err_set(err, FC_EIO, path, 0, 0, "cannot map: %s", strerror(errno));
        goto out;
    }
    madvise(map, (size_t)st.st_size, MADV_SEQUENTIAL);
    in->map = map;
    in->buf = map;
    in->n = (size_t)st.st_size;
out:
    close(fd);
    return rc;
}

/* The checksum of the input, computed on its own thread. */
typedef struct hasher {
    const char *buf; /* borrowed: the input, alive until hash_wait returns */
    size_t n;
    char hex[65]; /* hex SHA-256 once done */
    atomic_int done;
    int running; /* a thread was started and not joined yet */
    pthread_t thread;
} hasher;

static void hash_compute(hasher *h) {
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, (const unsigned char *)h->buf, h->n);
    sodium_bin2hex(h->hex, sizeof h->hex, digest, sizeof digest);
    atomic_store(&h->done, 1);
}

static void *hash_main(void *arg) {
    hash_compute(arg);
    return NULL;
}

/* Start hashing buf[0..n) (on this thread when a thread cannot start). */
static int hash_start(hasher *h, const char *buf, size_t n, fc_err *err) {
    memset(h, 0, sizeof *h);
    atomic_init(&h->done, 0);
    h->buf = buf;
    h->n = n;
    if (sodium_init() < 0) {
        return fc_err_set(err, FC_EINTERNAL, NULL, 0, 0, "libsodium failed to start");
    }
    if (pthread_create(&h->thread, NULL, hash_main, h) == 0) {
        h->running = 1;
    } else {
        hash_compute(h);
    }
    return FC_OK;
}

static int hash_ready(hasher *h) {
    return atomic_load(&h->done);
}

/* Wait for the checksum; safe to call more than once. */
static void hash_wait(hasher *h) {
    if (h->running) {
        pthread_join(h->thread, NULL);
        h->running = 0;
    }
}

/* ---------------------------------------------------------------------------
 * Reject file: CSV "file,line,column,field,reason,raw".
 */
/* Write p[0..n) as text a reader of the reject file can take: NUL bytes
 * (which would cut the line for many readers) as '?', bytes that are not
 * valid UTF-8 as \xNN (so the file is valid UTF-8), the rest as is. */
static void put_text(FILE *f, const char *p, size_t n, int quoted) {
    for (size_t i = 0; i < n;) {
        unsigned char ch = (unsigned char)p[i];
        if (ch < 0x80) {
            if (quoted && ch == '"') {
                fputc('"', f);
            }
            fputc(ch == '\0' ? '?' : ch, f);
            i++;
            continue;
        }
        size_t k = fc__utf8_seq((const unsigned char *)p + i, n - i);
        if (k == 0) {
            fprintf(f, "\\x%02x", ch);
            i++;
        } else {
            fwrite(p + i, 1, k, f);
            i += k;
        }
    }
}

static void csv_field(FILE *f, const char *p, size_t n) {
    int quote = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == ',' || p[i] == '"' || p[i] == '\n' || p[i] == '\r') {
            quote = 1;
            break;
        }
    }
    if (quote) {
        fputc('"', f);
    }
    put_text(f, p, n, quote);
    if (quote) {
        fputc('"', f);
    }
}

static int write_reject(void *ud, const fc_err *why, fc_str raw) {
    FILE *f = ud;
    csv_field(f, why->file, strlen(why->file));
    fprintf(f, ",%ld,%ld,", why->line, why->col);
    csv_field(f, why->field, strlen(why->field));
    fputc(',', f);
    csv_field(f, why->msg, strlen(why->msg));
    fputc(',', f);
    csv_field(f, raw.p != NULL ? raw.p : "", raw.n);
    fputc('\n', f);
    return ferror(f) ? FC_EIO : 0;
}

/* Write the rejects of `log` (all of them, from the store) to the reject
 * file. An explicit path is appended to (one file for many inputs, header
 * once); the default path, next to the input, is rewritten, and removed when
 * the input has no rejects. */
static int write_reject_file(fc_store *s, const char *path, const fc_ingest_opts *o,
                             const fc_ingest_log *log, char *used, size_t usedsz, fc_err *err) {
    used[0] = '\0';
    int append = o->reject_path != NULL && o->reject_path[0] != '\0';
    char dest[1024];
    if (append) {
        snprintf(dest, sizeof dest, "%s", o->reject_path);
    } else if (strcmp(path, "-") == 0) {
        snprintf(dest, sizeof dest, "stdin.rejects.csv");
    } else {
        snprintf(dest, sizeof dest, "%s.rejects.csv", path);
    }
    if (log->rejected == 0) {
        if (!append) {
            unlink(dest);
        }
        return FC_OK;
    }
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp", dest);
    FILE *f = fopen(append ? dest : tmp, append ? "a" : "w");
    if (f == NULL) {
        return fc_err_set(err, FC_EIO, dest, 0, 0, "cannot write the reject file: %s",
                          strerror(errno));
    }
    if (ftell(f) == 0) {
        fputs("file,line,column,field,reason,raw\n", f);
    }
    int rc = fc_store_rejects(s, log->id, write_reject, f, err);
    if (rc == FC_EIO) {
        fc_err_set(err, FC_EIO, dest, 0, 0, "cannot write the reject file");
    }
    if (fclose(f) != 0 && rc == FC_OK) {
        rc = fc_err_set(err, FC_EIO, dest, 0, 0, "cannot write the reject file: %s",
                        strerror(errno));
    }
    if (rc == FC_OK && !append && rename(tmp, dest) != 0) {
        rc = fc_err_set(err, FC_EIO, dest, 0, 0, "cannot write the reject file: %s",
                        strerror(errno));
    }
    if (rc != FC_OK && !append) {
        unlink(tmp);
    }
    if (rc == FC_OK) {
        snprintf(used, usedsz, "%s", dest);
    }
    return rc;
}

/* ---------------------------------------------------------------------------
 * Progress bar (stderr, only when the caller says it is a terminal).
 */
typedef struct progress {
    int on;
    double t0, last;
    int64_t rows0; /* rows_read when this run started (resume) */
    int64_t bytes0;
    size_t total;
} progress;

static void progress_draw(progress *p, const char *path, int64_t bytes, int64_t rows, int force) {
    if (!p->on) {
        return;
    }
    double now = fc_now_mono();
    if (!force && now - p->last < PROGRESS_EVERY_S) {
        return;
    }
    p->last = now;
    double secs = now - p->t0;
    double frac = p->total > 0 ? (double)bytes / (double)p->total : 1.0;
    double rate = secs > 0 ? (double)(rows - p->rows0) / secs : 0.0;
    double bps = secs > 0 ? (double)(bytes - p->bytes0) / secs : 0.0;
    double eta = bps > 0 ? (double)((int64_t)p->total - bytes) / bps : 0.0;
    char bar[31];
    int filled = (int)(frac * 30.0);
    for (int i = 0; i < 30; i++) {
        bar[i] = i < filled ? '#' : '.';
    }
    bar[30] = '\0';
    fprintf(stderr, "\r%.40s [%s] %3d%% %.1f/%.1f MB %.0f rows/s ETA %.0f s\x1b[K", path, bar,
            (int)(frac * 100.0), (double)bytes / 1e6, (double)p->total / 1e6, rate, eta);
    fflush(stderr);
}

static void progress_end(progress *p) {
    if (p->on) {
        fputs("\r\x1b[K", stderr);
        fflush(stderr);
    }
}

/* ---------------------------------------------------------------------------
 * Rows.
 */
typedef struct run {
    fc_store *s;
    const char *path;
    const fc_ingest_opts *o;
    size_t batch_rows;
    fc_ingest_log *log;
    fc_mapping *m; /* o->mapping loaded, NULL when none */
    fc_ref *ref;
    fc_reader *rd;
    fc_record *rec;
    progress prog;
    hasher *hash;
    int resolved; /* the checksum is known and names no existing log */
    /* Order ids of the records newly stored by the open batch, handed to
     * o->on_order once it commits (writer thread only). */
    char *touched;       /* the ids, one after another */
    size_t touched_len;  /* bytes used in touched */
    size_t touched_cap;  /* bytes allocated */
    size_t *touched_end; /* end of each id in touched */
    size_t n_touched, touched_end_cap;
    int caller_stopped; /* o->on_order returned non-zero: the status is the caller's */
} run;

#define RESTART 1 /* the checksum names an existing log: start over with it */

/* Remember that the open batch newly stored a record of `order` (nothing
 * when no callback wants it, or the record names no order). FC_ENOMEM when
 * memory runs out. */
static int touched_add(run *r, fc_str order) {
    if (r->o->on_order == NULL || order.n == 0) {
        return FC_OK;
    }
    if (fc_grow((void **)&r->touched, &r->touched_cap, r->touched_len + order.n, 1) != FC_OK ||
        fc_grow((void **)&r->touched_end, &r->touched_end_cap, r->n_touched + 1,
                sizeof *r->touched_end) != FC_OK) {
        return FC_ENOMEM;
    }
    memcpy(r->touched + r->touched_len, order.p, order.n);
    r->touched_len += order.n;
    r->touched_end[r->n_touched++] = r->touched_len;
    return FC_OK;
}

/* Forget the open batch's orders (it was rolled back, or they were told). */
static void touched_clear(run *r) {
    r->touched_len = 0;
    r->n_touched = 0;
}

static void touched_free(run *r) {
    fc_free(r->touched);
    fc_free(r->touched_end);
    r->touched = NULL;
    r->touched_end = NULL;
    r->touched_cap = r->touched_end_cap = 0;
    touched_clear(r);
}

/* After a commit: hand every order the batch newly stored to o->on_order,
 * in input order. FC_OK, or the callback's non-zero status (err says so;
 * the orders after it are not told). */
static int touched_tell(run *r, fc_err *err) {
    int rc = FC_OK;
    size_t at = 0;
    for (size_t i = 0; i < r->n_touched && rc == FC_OK; i++) {
        fc_str order = fc_str_make(r->touched + at, r->touched_end[i] - at);
        at = r->touched_end[i];
        rc = r->o->on_order(r->o->on_order_ud, order);
        if (rc != FC_OK) {
            r->caller_stopped = 1;
            fc_err_set(err, rc, r->path, (long)r->log->resume_line, 0,
                       "stopped by the order callback (status %d) at order %.*s", rc,
                       (int)(order.n < 200 ? order.n : 200), order.p);
        }
    }
    touched_clear(r);
    return rc;
}

/* Before the first commit of a log created ahead of its checksum: wait for
 * the checksum and look it up. FC_OK when the file is new (the log takes
 * the checksum and the batch may commit), RESTART when a log of that
 * checksum exists (the caller rolls back), or an error. With `wait` 0 and
 * the checksum not ready, FC_OK with r->resolved still 0. */
static int resolve(run *r, int wait, fc_err *err) {
    if (r->resolved) {
        return FC_OK;
    }
    if (!wait && !hash_ready(r->hash)) {
        return FC_OK;
    }
    hash_wait(r->hash);
    fc_ingest_log found_log;
    int found = 0;
    int rc = fc_store_ingest_find(r->s, r->hash->hex, r->log->kind, &found_log, &found, err);
    if (rc != FC_OK) {
        return rc;
    }
    if (found) {
        return RESTART;
    }
    memcpy(r->log->checksum, r->hash->hex, sizeof r->log->checksum);
    r->resolved = 1;
    return FC_OK;
}

/* Validate a reference entity against fc_ref and store it. A validation
 * failure fills `why` and returns 1 (reject the row); store errors are
 * returned negative in err. */
static int put_entity(run *r, const fc_record *rec, fc_err *why, fc_err *err) {
    int rc = FC_OK;
    fc_err_clear(why);
    switch (rec->kind) {
    case FC_INPUT_CITIES: {
        const fc_city *c = &rec->ent.city;
        rc = fc_ref_put_city(r->ref, c->city, c->country, c->tz_name, c->currency, why);
        if (rc == FC_OK) {
            return fc_store_put_city(r->s, c, err);
        }
        break;
    }
    case FC_INPUT_ZONES:
        rc = fc_ref_put_zone(r->ref, rec->ent.zone.city, rec->ent.zone.zone, rec->ent.zone.kind,
                             why);
        if (rc == FC_OK) {
            return fc_store_put_zone(r->s, &rec->ent.zone, err);
        }
        break;
    case FC_INPUT_MERCHANTS:
        rc = fc_ref_put_merchant(r->ref, &rec->ent.merchant, why);
        if (rc == FC_OK) {
            return fc_store_put_merchant(r->s, &rec->ent.merchant, err);
        }
        break;
    case FC_INPUT_RIDERS:
        rc = fc_ref_put_rider(r->ref, &rec->ent.rider, why);
        if (rc == FC_OK) {
            return fc_store_put_rider(r->s, &rec->ent.rider, err);
        }
        break;
    default:
        return fc_err_set(err, FC_EINTERNAL, r->path, rec->line, 0, "not an entity record");
    }
    if (rc == FC_ENOMEM) {
        *err = *why;
        return rc;
    }
    /* The reader positions its own errors; ours come from fc_ref. */
    if (why->file[0] == '\0') {
        fc_str_cpy(why->file, sizeof why->file, fc_str_c(r->path));
    }
    if (why->line == 0) {
        why->line = rec->line;
    }
    return 1;
}

/* Has a file with `rejected` rejects (over the whole file) reached
 * o->max_errors? The limit is the reject that stops the file: 0 tolerates
 * none, the same as 1; below 0 there is no limit. */
static int limit_reached(const fc_ingest_opts *o, int64_t rejected) {
    return o->max_errors >= 0 && rejected >= (o->max_errors > 0 ? o->max_errors : 1);
}

/* The log's note of a file stopped by max_errors. */
static void stop_note(char *note, size_t notesz, int64_t line, int64_t rejected, long max_errors) {
    snprintf(note, notesz, "stopped at line %lld after %lld rejected row%s (max errors %ld)",
             (long long)line, (long long)rejected, rejected == 1 ? "" : "s", max_errors);
}

static int reject_row(run *r, fc_err *why, fc_err *err) {
    if (why->file[0] == '\0') {
        fc_str_cpy(why->file, sizeof why->file, fc_str_c(r->path));
    }
    if (why->line == 0) {
        why->line = r->rec->line;
    }
    r->log->rejected++;
    return fc_store_reject(r->s, r->log->id, why, r->rec->raw, err);
}

/* Read every remaining row, committing every batch_rows rows. The batch
 * is already open. Returns FC_OK (log DONE), FC_ELIMIT (max_errors reached,
 * log STOPPED, committed), RESTART (see resolve; rolled back) or an error
 * (the open batch rolled back). */
static int run_rows(run *r, fc_err *err) {
    fc_ingest_log *log = r->log;
    fc_record *rec = r->rec;
    size_t in_batch = 0;
    int rc = FC_OK;
    for (;;) {
        fc_err why;
        fc_err_clear(&why);
        int64_t rejected_before = log->rejected;
        int got = fc_reader_next(r->rd, rec, &why);
        if (got == 0) {
            break;
        }
        log->rows_read++;
        if (got < 0) {
            if (got == FC_ENOMEM || got == FC_EINTERNAL) {
                *err = why;
                rc = got;
                goto fail;
            }
            rc = reject_row(r, &why, err);
        } else if (rec->kind == FC_INPUT_EVENTS || rec->kind == FC_INPUT_ORDERS) {
            int dup = 0;
            rc = fc_store_append(r->s, log->id, rec->id, rec->order, rec->events, rec->n_events,
                                 &dup, err);
            if (rc == FC_OK) {
                if (dup) {
                    log->duplicates++;
                } else {
                    log->accepted++;
                    rc = touched_add(r, rec->order);
                    if (rc != FC_OK) {
                        fc_err_set(err, rc, r->path, rec->line, 0,
                                   "out of memory noting the orders stored");
                    }
                }
            }
        } else {
            rc = put_entity(r, rec, &why, err);
            if (rc == 1) {
                rc = reject_row(r, &why, err);
            } else if (rc == FC_OK) {
                log->accepted++;
            }
        }
        if (rc != FC_OK) {
            goto fail;
        }
        log->resume_offset = rec->offset_end;
        log->resume_line = rec->line;
        progress_draw(&r->prog, r->path, log->resume_offset, log->rows_read, 0);
        /* Counted over the whole file, resumed runs included, so a killed
         * and resumed run stops at the same row as an uninterrupted one. */
        if (log->rejected > rejected_before && limit_reached(r->o, log->rejected)) {
            rc = resolve(r, 1, err);
            if (rc != FC_OK) {
                goto fail;
            }
            log->state = FC_INGEST_STOPPED;
            log->finished_at = (int64_t)time(NULL);
            stop_note(log->note, sizeof log->note, log->resume_line, log->rejected,
                      r->o->max_errors);
            rc = fc_store_commit(r->s, log, err);
            if (rc == FC_OK) {
                rc = touched_tell(r, err);
            }
            if (rc != FC_OK) {
                return rc;
            }
            return fc_err_set(err, FC_ELIMIT, r->path, (long)log->resume_line, 0, "%s", log->note);
        }
        if (++in_batch >= r->batch_rows) {
            /* Until the checksum is known the batch keeps growing. */
            rc = resolve(r, 0, err);
            if (rc != FC_OK) {
                goto fail;
            }
            if (!r->resolved) {
                continue;
            }
            rc = fc_store_commit(r->s, log, err);
            if (rc == FC_OK) {
                rc = touched_tell(r, err);
            }
            if (rc == FC_OK) {
                rc = fc_store_begin(r->s, err);
            }
            if (rc != FC_OK) {
                return rc;
            }
            in_batch = 0;
        }
    }
    rc = resolve(r, 1, err);
    if (rc != FC_OK) {
        goto fail;
    }
    log->state = FC_INGEST_DONE;
    log->finished_at = (int64_t)time(NULL);
    log->note[0] = '\0';
    rc = fc_store_commit(r->s, log, err);
    return rc == FC_OK ? touched_tell(r, err) : rc;
fail:
    fc_store_rollback(r->s);
    touched_clear(r);
    return rc;
}

/* ---------------------------------------------------------------------------
 * Records through a writer thread. The main thread reads rows and packs
 * their events into chunks; a writer thread, the only user of the store
 * while a file's rows are read, dedupes and appends the records, records the
 * rejects and commits the batches with the log. The two hand chunks to each
 * other through a small ring, so parsing one chunk overlaps writing the one
 * before. Every dedupe decision is made by the writer, in input order, so a
 * duplicate of a record still in the writer's hands is found like any other.
 */
#define RING_CHUNKS  3
#define CHUNK_ROWS   4096
#define CHUNK_BYTES  (2u << 20)
#define REJECT_BYTES 1024 /* raw text kept of a rejected row, as the store keeps */

typedef struct packed_rec {
    size_t id_at, id_n;         /* record id in chunk bytes */
    size_t order_at, order_n;   /* order id in chunk bytes */
    size_t events_at, events_n; /* packed events in chunk bytes */
    size_t n_events;
} packed_rec;

typedef struct packed_reject {
    fc_err why;
    size_t raw_at, raw_n; /* raw text in chunk bytes */
} packed_reject;

enum { CHUNK_MORE = 0, CHUNK_DONE, CHUNK_STOPPED };

/* Consecutive rows of the input, with the parser's counters after the last. */
typedef struct chunk {
    packed_rec *recs;
    size_t n_recs, recs_cap;
    packed_reject *rejects;
    size_t n_rejects, rejects_cap;
    uint8_t *bytes;
    size_t n_bytes, bytes_cap;
    int64_t rows_read, rejected;        /* over the whole file, as the log counts */
    int64_t resume_offset, resume_line; /* just past the chunk's last row */
    int commit;                         /* a batch ends with this chunk */
    int end;                            /* CHUNK_DONE: the input ends; CHUNK_STOPPED: max errors */
    char note[sizeof((fc_ingest_log *)0)->note]; /* with CHUNK_STOPPED */
} chunk;

typedef struct writer {
    run *r;
    pthread_mutex_t mu;
    pthread_cond_t queued; /* a chunk was queued, or the parser gave up */
    pthread_cond_t freed;  /* a chunk was written, or the writer ended */
    chunk ring[RING_CHUNKS];
    size_t head;   /* the chunk the writer takes next */
    size_t n_full; /* queued chunks, from head (the one being written included) */
    int abandon;   /* the parser failed: roll back and end */
    int ended;     /* the writer has ended; rc and err say how */
    int rc;        /* FC_OK (log DONE), FC_ELIMIT (STOPPED), RESTART or an error */
    fc_err err;
} writer;

static void chunk_free(chunk *c) {
    fc_free(c->recs);
    fc_free(c->rejects);
    fc_free(c->bytes);
    memset(c, 0, sizeof *c);
}

static void chunk_reset(chunk *c) {
    c->n_recs = c->n_rejects = c->n_bytes = 0;
    c->commit = 0;
    c->end = CHUNK_MORE;
    c->note[0] = '\0';
}

/* Copy p[0..n) to the chunk's bytes; *at is where. */
static int chunk_bytes(chunk *c, const void *p, size_t n, size_t *at) {
    if (fc_grow((void **)&c->bytes, &c->bytes_cap, c->n_bytes + n, 1) != FC_OK) {
        return FC_ENOMEM;
    }
    *at = c->n_bytes;
    if (n > 0) {
        memcpy(c->bytes + c->n_bytes, p, n);
    }
    c->n_bytes += n;
    return FC_OK;
}

/* Pack a read record (its events, id and order) into the chunk. */
static int chunk_add_record(chunk *c, const fc_record *rec) {
    if (fc_grow((void **)&c->recs, &c->recs_cap, c->n_recs + 1, sizeof *c->recs) != FC_OK) {
        return FC_ENOMEM;
    }
    packed_rec *pr = &c->recs[c->n_recs];
    pr->events_at = c->n_bytes;
    for (size_t i = 0; i < rec->n_events; i++) {
        int rc = fc_event_pack(&rec->events[i], &c->bytes, &c->n_bytes, &c->bytes_cap);
        if (rc != FC_OK) {
            return rc;
        }
    }
    pr->events_n = c->n_bytes - pr->events_at;
    pr->n_events = rec->n_events;
    pr->id_n = rec->id.n;
    pr->order_n = rec->order.n;
    if (chunk_bytes(c, rec->id.p, rec->id.n, &pr->id_at) != FC_OK ||
        chunk_bytes(c, rec->order.p, rec->order.n, &pr->order_at) != FC_OK) {
        return FC_ENOMEM;
    }
    c->n_recs++;
    return FC_OK;
}

static int chunk_add_reject(chunk *c, const fc_err *why, fc_str raw) {
    if (fc_grow((void **)&c->rejects, &c->rejects_cap, c->n_rejects + 1, sizeof *c->rejects) !=
        FC_OK) {
        return FC_ENOMEM;
    }
    packed_reject *pj = &c->rejects[c->n_rejects];
    pj->why = *why;
    pj->raw_n = raw.n < REJECT_BYTES ? raw.n : REJECT_BYTES;
    if (chunk_bytes(c, raw.p, pj->raw_n, &pj->raw_at) != FC_OK) {
        return FC_ENOMEM;
    }
    c->n_rejects++;
    return FC_OK;
}

static fc_str chunk_str(const chunk *c, size_t at, size_t n) {
    return fc_str_make(n > 0 ? (const char *)c->bytes + at : "", n);
}

/* Write one chunk inside the open batch, and commit when it ends a batch
 * (once the checksum is known), or the file. Returns FC_OK to go on, or how
 * the writer ends: FC_OK after CHUNK_DONE, FC_ELIMIT (committed), RESTART or
 * an error (both rolled back). *end is set when the writer ends. */
static int write_chunk(run *r, const chunk *c, int *commit_due, int *end, fc_err *err) {
    fc_ingest_log *log = r->log;
    int rc = FC_OK;
    *end = c->end != CHUNK_MORE;
    for (size_t i = 0; i < c->n_recs; i++) {
        const packed_rec *pr = &c->recs[i];
        int dup = 0;
        rc =
            fc_store_append_packed(r->s, log->id, chunk_str(c, pr->id_at, pr->id_n),
                                   chunk_str(c, pr->order_at, pr->order_n),
                                   c->bytes + pr->events_at, pr->events_n, pr->n_events, &dup, err);
        if (rc != FC_OK) {
            goto fail;
        }
        if (dup) {
            log->duplicates++;
        } else {
            log->accepted++;
            rc = touched_add(r, chunk_str(c, pr->order_at, pr->order_n));
            if (rc != FC_OK) {
                fc_err_set(err, rc, r->path, 0, 0, "out of memory noting the orders stored");
                goto fail;
            }
        }
    }
    for (size_t i = 0; i < c->n_rejects; i++) {
        const packed_reject *pj = &c->rejects[i];
        rc = fc_store_reject(r->s, log->id, &pj->why, chunk_str(c, pj->raw_at, pj->raw_n), err);
        if (rc != FC_OK) {
            goto fail;
        }
    }
    log->rows_read = c->rows_read;
    log->rejected = c->rejected;
    log->resume_offset = c->resume_offset;
    log->resume_line = c->resume_line;
    if (c->end != CHUNK_MORE) {
        rc = resolve(r, 1, err);
        if (rc != FC_OK) {
            goto fail;
        }
        log->state = c->end == CHUNK_DONE ? FC_INGEST_DONE : FC_INGEST_STOPPED;
        log->finished_at = (int64_t)time(NULL);
        memcpy(log->note, c->note, sizeof log->note);
        rc = fc_store_commit(r->s, log, err);
        if (rc == FC_OK) {
            rc = touched_tell(r, err);
        }
        if (rc == FC_OK && c->end == CHUNK_STOPPED) {
            rc = fc_err_set(err, FC_ELIMIT, r->path, (long)log->resume_line, 0, "%s", log->note);
        }
        return rc;
    }
    if (c->commit) {
        *commit_due = 1;
    }
    if (*commit_due) {
        /* Until the checksum is known the batch keeps growing. */
        rc = resolve(r, 0, err);
        if (rc != FC_OK) {
            goto fail;
        }
        if (r->resolved) {
            rc = fc_store_commit(r->s, log, err);
            if (rc == FC_OK) {
                rc = touched_tell(r, err);
            }
            if (rc == FC_OK) {
                rc = fc_store_begin(r->s, err);
            }
            if (rc != FC_OK) {
                *end = 1;
                return rc;
            }
            *commit_due = 0;
        }
    }
    return FC_OK;
fail:
    *end = 1;
    fc_store_rollback(r->s);
    touched_clear(r);
    return rc;
}

static void *writer_main(void *arg) {
    writer *w = arg;
    int commit_due = 0;
    int rc = FC_OK;
    fc_err err;
    fc_err_clear(&err);
    for (;;) {
        pthread_mutex_lock(&w->mu);
        while (w->n_full == 0 && !w->abandon) {
            pthread_cond_wait(&w->queued, &w->mu);
        }
        int abandon = w->abandon;
        pthread_mutex_unlock(&w->mu);
        if (abandon) {
            fc_store_rollback(w->r->s);
            touched_clear(w->r);
            rc = FC_EINTERNAL; /* the parser's error is the one reported */
            break;
        }
        int end = 0;
        rc = write_chunk(w->r, &w->ring[w->head], &commit_due, &end, &err);
        pthread_mutex_lock(&w->mu);
        w->head = (w->head + 1) % RING_CHUNKS;
        w->n_full--;
        pthread_cond_signal(&w->freed);
        pthread_mutex_unlock(&w->mu);
        if (end) {
            break;
        }
    }
    pthread_mutex_lock(&w->mu);
    w->rc = rc;
    w->err = err;
    w->ended = 1;
    pthread_cond_signal(&w->freed);
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* The next chunk for the parser to fill, NULL when the writer has ended. */
static chunk *writer_take(writer *w) {
    pthread_mutex_lock(&w->mu);
    while (w->n_full == RING_CHUNKS && !w->ended) {
        pthread_cond_wait(&w->freed, &w->mu);
    }
    chunk *c = w->ended ? NULL : &w->ring[(w->head + w->n_full) % RING_CHUNKS];
    pthread_mutex_unlock(&w->mu);
    if (c != NULL) {
        chunk_reset(c);
    }
    return c;
}

static void writer_queue(writer *w) {
    pthread_mutex_lock(&w->mu);
    w->n_full++;
    pthread_cond_signal(&w->queued);
    pthread_mutex_unlock(&w->mu);
}

/* The parser's own counters (the log belongs to the writer meanwhile). */
typedef struct parse_state {
    int64_t rows_read, rejected;        /* over the whole file, as the log counts */
    int64_t resume_offset, resume_line; /* just past the last row read */
    size_t in_batch;                    /* rows since the last batch ended */
} parse_state;

static void parse_state_init(parse_state *ps, const fc_ingest_log *log) {
    ps->rows_read = log->rows_read;
    ps->rejected = log->rejected;
    ps->resume_offset = log->resume_offset;
    ps->resume_line = log->resume_line;
    ps->in_batch = 0;
}

/* Read one row of a records input into chunk c. *end is CHUNK_MORE, or
 * CHUNK_DONE at the end of the input, CHUNK_STOPPED at max_errors (c->note
 * says so). Sets c->commit when the row ends a batch of r->batch_rows.
 * FC_OK, or FC_ENOMEM / FC_EINTERNAL with perr (nothing more is read). */
static int parse_row(run *r, chunk *c, parse_state *ps, int *end, fc_err *perr) {
    fc_record *rec = r->rec;
    fc_err why;
    fc_err_clear(&why);
    *end = CHUNK_MORE;
    int got = fc_reader_next(r->rd, rec, &why);
    if (got == 0) {
        *end = CHUNK_DONE;
        return FC_OK;
    }
    ps->rows_read++;
    if (got == FC_ENOMEM || got == FC_EINTERNAL) {
        *perr = why;
        return got;
    }
    int added;
    if (got < 0) {
        if (why.file[0] == '\0') {
            fc_str_cpy(why.file, sizeof why.file, fc_str_c(r->path));
        }
        if (why.line == 0) {
            why.line = rec->line;
        }
        ps->rejected++;
        added = chunk_add_reject(c, &why, rec->raw);
    } else {
        added = chunk_add_record(c, rec);
    }
    if (added != FC_OK) {
        return fc_err_set(perr, added, r->path, rec->line, 0, "out of memory packing a record");
    }
    ps->resume_offset = rec->offset_end;
    ps->resume_line = rec->line;
    progress_draw(&r->prog, r->path, ps->resume_offset, ps->rows_read, 0);
    /* Counted over the whole file, resumed runs included, so a killed and
     * resumed run stops at the same row as an uninterrupted one. */
    if (got < 0 && limit_reached(r->o, ps->rejected)) {
        *end = CHUNK_STOPPED;
        stop_note(c->note, sizeof c->note, ps->resume_line, ps->rejected, r->o->max_errors);
    }
    if (*end == CHUNK_MORE && ++ps->in_batch >= r->batch_rows) {
        c->commit = 1;
        ps->in_batch = 0;
    }
    return FC_OK;
}

/* Close chunk c: the parser's counters after its last row, and how the
 * input goes on. */
static void chunk_close(chunk *c, const parse_state *ps, int end) {
    c->rows_read = ps->rows_read;
    c->rejected = ps->rejected;
    c->resume_offset = ps->resume_offset;
    c->resume_line = ps->resume_line;
    c->end = end;
}

/* Read every remaining row of a records input (events or orders) and hand
 * them to a writer thread. The batch is already open; the writer owns the
 * store until it ends. Returns as run_rows. */
static int run_records(run *r, fc_err *err) {
    writer *w = fc_calloc(1, sizeof *w);
    if (w == NULL) {
        fc_store_rollback(r->s);
        return fc_err_set(err, FC_ENOMEM, r->path, 0, 0, "out of memory");
    }
    w->r = r;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->queued, NULL);
    pthread_cond_init(&w->freed, NULL);
    parse_state ps;
    parse_state_init(&ps, r->log);
    int rc = FC_OK;
    fc_err perr; /* the parser's own failure */
    fc_err_clear(&perr);
    pthread_t thread;
    if (pthread_create(&thread, NULL, writer_main, w) != 0) {
        fc_store_rollback(r->s);
        rc = fc_err_set(err, FC_EINTERNAL, r->path, 0, 0, "cannot start the writer thread");
        goto out;
    }
    chunk *c = writer_take(w);
    while (c != NULL) {
        int end = CHUNK_MORE;
        rc = parse_row(r, c, &ps, &end, &perr);
        if (rc != FC_OK) {
            break;
        }
        if (end == CHUNK_MORE && !c->commit && c->n_recs + c->n_rejects < CHUNK_ROWS &&
            c->n_bytes < CHUNK_BYTES) {
            continue;
        }
        chunk_close(c, &ps, end);
        writer_queue(w);
        if (end != CHUNK_MORE) {
            break;
        }
        c = writer_take(w);
    }
    if (rc != FC_OK) {
        pthread_mutex_lock(&w->mu);
        w->abandon = 1;
        pthread_cond_signal(&w->queued);
        pthread_mutex_unlock(&w->mu);
    }
    pthread_join(thread, NULL);
    if (rc != FC_OK) {
        *err = perr;
    } else {
        rc = w->rc;
        if (rc != FC_OK) {
            *err = w->err;
        }
    }
out:
    for (size_t i = 0; i < RING_CHUNKS; i++) {
        chunk_free(&w->ring[i]);
    }
    pthread_cond_destroy(&w->freed);
    pthread_cond_destroy(&w->queued);
    pthread_mutex_destroy(&w->mu);
    fc_free(w);
    return rc;
}

/* Read the rows of the open batch's input: records through the writer
 * thread, reference entities on this thread. */
static int read_rows(run *r, fc_err *err) {
    fc_input_kind kind = fc_reader_kind(r->rd);
    if (kind == FC_INPUT_EVENTS || kind == FC_INPUT_ORDERS) {
        return run_records(r, err);
    }
    return run_rows(r, err);
}

/* One summary line for `path`, the file as the caller gave it. An input
 * already ingested also names the source its log was made from when that
 * was another name (a copy, or the same file under another path), after the
 * counters so that "NAME: already ingested (" reads the same either way. */
static void summary(FILE *out, const char *path, const fc_ingest_log *log, int already,
                    const char *rejects, double secs) {
    if (already) {
        int other = strcmp(path, log->source) != 0;
        fprintf(out,
                "%s: already ingested (%lld rows read, %lld accepted, %lld duplicates, %lld "
                "rejected)%s%s; sha256 %.12s\n",
                path, (long long)log->rows_read, (long long)log->accepted,
                (long long)log->duplicates, (long long)log->rejected, other ? " as " : "",
                other ? log->source : "", log->checksum);
    } else {
        fprintf(out,
                "%s: %lld rows read, %lld accepted, %lld duplicates, %lld rejected%s%s%s; "
                "sha256 %.12s; %.2f s\n",
                path, (long long)log->rows_read, (long long)log->accepted,
                (long long)log->duplicates, (long long)log->rejected,
                rejects[0] != '\0' ? " (see " : "", rejects, rejects[0] != '\0' ? ")" : "",
                log->checksum, secs);
    }
    fflush(out);
}

/* Open the reader over the input and name the log's kind. */
static int open_reader(const char *path, const input *in, const fc_mapping *m, const fc_ref *ref,
                       fc_reader **rd, fc_ingest_log *log, fc_err *err) {
    int rc = fc_reader_open(path, in->buf, in->n, m, ref, rd, err);
    if (rc != FC_OK) {
        return rc;
    }
    fc_input_kind kind = fc_reader_kind(*rd);
    if (kind == FC_INPUT_ORDERS) {
        snprintf(log->kind, sizeof log->kind, "orders:%s",
                 m != NULL ? fc_mapping_name(m) : "fulcrum-orders");
    } else {
        snprintf(log->kind, sizeof log->kind, "%s", fc_input_kind_name(kind));
    }
    return FC_OK;
}

/* The first pass over a file whose checksum is not known yet: a new log and
 * its rows in a transaction that commits only once the checksum is known to
 * be new. RESTART (rolled back) when it is not. */
static int run_ahead(run *r, fc_err *err) {
    fc_ingest_log *log = r->log;
    log->started_at = (int64_t)time(NULL);
    int rc = fc_store_begin(r->s, err);
    if (rc != FC_OK) {
        return rc;
    }
    rc = fc_store_ingest_create(r->s, log, err);
    if (rc != FC_OK) {
        fc_store_rollback(r->s);
        return rc;
    }
    return read_rows(r, err);
}

/* Set r up to read `in` from src into s: the mapping o names, a record, the
 * reference entities of s (when need_ref: events alone need none) and the
 * reader. run_close frees what it made, also after a failure. */
static int run_open(run *r, fc_store *s, const char *src, const fc_ingest_opts *o, input *in,
                    hasher *hash, fc_ingest_log *log, int need_ref, fc_err *err) {
    r->s = s;
    r->path = src;
    r->o = o;
    r->log = log;
    r->hash = hash;
    if (o->mapping != NULL && o->mapping[0] != '\0') {
        int rc = fc_mapping_load(o->mapping, &r->m, err);
        if (rc != FC_OK) {
            return rc;
        }
    }
    r->ref = fc_ref_new();
    r->rec = fc_malloc(sizeof *r->rec);
    if (r->ref == NULL || r->rec == NULL) {
        return fc_err_set(err, FC_ENOMEM, src, 0, 0, "out of memory");
    }
    if (need_ref || r->m != NULL) {
        int rc = fc_store_load_ref(s, r->ref, err);
        if (rc != FC_OK) {
            return rc;
        }
    }
    return open_reader(src, in, r->m, r->ref, &r->rd, log, err);
}

static void run_close(run *r) {
    touched_free(r);
    fc_reader_free(r->rd);
    fc_free(r->rec);
    fc_ref_free(r->ref);
    fc_mapping_free(r->m);
}

int fc_ingest_file(fc_store *s, const char *path, const fc_ingest_opts *opts, fc_ingest_log *log,
                   fc_err *err) {
    fc_ingest_opts defaults = {.max_errors = -1};
    const fc_ingest_opts *o = opts != NULL ? opts : &defaults;
    double t0 = fc_now_mono();
    input in = {0};
    hasher hash;
    int already = 0;
    char rejects[1024] = "";
    run r;
    int rc;

    memset(&r, 0, sizeof r);
    memset(&hash, 0, sizeof hash);
    memset(log, 0, sizeof *log);
    fc_err_clear(err);
    fc_str_cpy(log->source, sizeof log->source, fc_str_c(path));
    rc = input_load(path, &in, err);
    if (rc != FC_OK) {
        goto out;
    }
    rc = hash_start(&hash, in.buf, in.n, err);
    if (rc != FC_OK) {
        goto out;
    }
    rc = run_open(&r, s, path, o, &in, &hash, log, 1, err);
    if (rc != FC_OK) {
        goto out;
    }
    r.batch_rows = o->batch_rows > 0 ? o->batch_rows : DEFAULT_BATCH_ROWS;
    r.prog.on = o->progress;
    r.prog.t0 = r.prog.last = t0;
    r.prog.total = in.n;
    if (!hash_ready(&hash)) {
        rc = run_ahead(&r, err);
        if (rc != RESTART || r.caller_stopped) {
            progress_end(&r.prog);
            if (rc != FC_OK && rc != FC_ELIMIT) {
                goto out;
            }
            goto report;
        }
        /* The checksum names a log: read the file again the way it says. */
        fc_reader_free(r.rd);
        r.rd = NULL;
        char kind[sizeof log->kind];
        memcpy(kind, log->kind, sizeof kind);
        memset(log, 0, sizeof *log);
        fc_str_cpy(log->source, sizeof log->source, fc_str_c(path));
        memcpy(log->kind, kind, sizeof kind);
        rc = open_reader(path, &in, r.m, r.ref, &r.rd, log, err);
        if (rc != FC_OK) {
            goto out;
        }
    }
    hash_wait(&hash);
    memcpy(log->checksum, hash.hex, sizeof log->checksum);
    r.resolved = 1;

    fc_ingest_log found_log;
    int found = 0;
    rc = fc_store_ingest_find(s, log->checksum, log->kind, &found_log, &found, err);
    if (rc != FC_OK) {
        goto out;
    }
    if (found && found_log.state == FC_INGEST_DONE) {
        *log = found_log;
        already = 1;
        goto report;
    }
    if (found) {
        /* Resume: keep the log's id, counters and resume point; the source
         * is what this run was given. */
        char source[sizeof log->source];
        memcpy(source, log->source, sizeof source);
        *log = found_log;
        memcpy(log->source, source, sizeof source);
        log->state = FC_INGEST_RUNNING;
        log->note[0] = '\0';
        if (log->resume_offset > 0) {
            rc = fc_reader_seek(r.rd, log->resume_offset, (long)log->resume_line);
            if (rc != FC_OK) {
                fc_err_set(err, rc, path, (long)log->resume_line, 0, "cannot resume at byte %lld",
                           (long long)log->resume_offset);
                goto out;
            }
        }
    } else {
        log->started_at = (int64_t)time(NULL);
        rc = fc_store_ingest_create(s, log, err);
        if (rc != FC_OK) {
            goto out;
        }
    }

    r.prog.rows0 = log->rows_read;
    r.prog.bytes0 = log->resume_offset;
    rc = fc_store_begin(s, err);
    if (rc == FC_OK) {
        rc = read_rows(&r, err);
    }
    progress_end(&r.prog);
    if (rc != FC_OK && rc != FC_ELIMIT) {
        goto out;
    }

report:;
    fc_err werr;
    fc_err_clear(&werr);
    int wrc = write_reject_file(s, path, o, log, rejects, sizeof rejects, &werr);
    if (!o->quiet) {
        summary(o->summary != NULL ? o->summary : stdout, path, log, already, rejects,
                fc_now_mono() - t0);
    }
    if (wrc != FC_OK && rc == FC_OK) {
        *err = werr;
        rc = wrc;
    }
out:
    hash_wait(&hash); /* the thread reads the input: stop it before unmapping */
    run_close(&r);
    input_free(&in);
    return rc;
}

/* ---------------------------------------------------------------------------
 * Batches read apart from the store, then written.
 */
struct fc_ingest_batch {
    chunk c;           /* every row of the input, read */
    fc_ingest_log log; /* source, kind, checksum, started_at */
};

void fc_ingest_batch_free(fc_ingest_batch *b) {
    if (b != NULL) {
        chunk_free(&b->c);
        fc_free(b);
    }
}

/* Index of the first byte of buf[0..n) that is not blank (n when none). */
static size_t first_nonblank(const char *buf, size_t n) {
    size_t i = 0;
    while (i < n && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n')) {
        i++;
    }
    return i;
}

/* The SHA-256 of buf[0..n) as the log keeps it. */
static int checksum(const char *buf, size_t n, char hex[65], fc_err *err) {
    if (sodium_init() < 0) {
        return fc_err_set(err, FC_EINTERNAL, NULL, 0, 0, "libsodium failed to start");
    }
    hasher hash;
    memset(&hash, 0, sizeof hash);
    hash.buf = buf;
    hash.n = n;
    hash_compute(&hash);
    memcpy(hex, hash.hex, sizeof hash.hex);
    return FC_OK;
}

int fc_ingest_prepare(const char *source, const char *buf, size_t n, const fc_ingest_opts *opts,
                      fc_ingest_batch **out, fc_err *err) {
    fc_ingest_opts o = {.max_errors = -1};
    if (opts != NULL) {
        o = *opts;
    }
    o.mapping = NULL;
    o.progress = 0;
    input in = {.buf = n > 0 ? buf : "", .n = n};
    run r;
    int rc;
    memset(&r, 0, sizeof r);
    fc_err_clear(err);
    *out = NULL;
    fc_ingest_batch *b = fc_calloc(1, sizeof *b);
    if (b == NULL) {
        return fc_err_set(err, FC_ENOMEM, source, 0, 0, "out of memory");
    }
    fc_ingest_log *log = &b->log;
    fc_str_cpy(log->source, sizeof log->source, fc_str_c(source));
    log->started_at = (int64_t)time(NULL);
    size_t first = first_nonblank(in.buf, in.n);
    if (first < in.n && in.buf[first] != '{') {
        rc = fc_err_set(err, FC_EINVAL, source, 1, 1,
                        "only JSON Lines events are read apart from the store");
        goto out;
    }
    rc = checksum(in.buf, in.n, log->checksum, err);
    if (rc != FC_OK) {
        goto out;
    }
    rc = run_open(&r, NULL, log->source, &o, &in, NULL, log, 0, err);
    if (rc != FC_OK) {
        goto out;
    }
    r.batch_rows = SIZE_MAX;
    parse_state ps;
    parse_state_init(&ps, log);
    int end = CHUNK_MORE;
    while (end == CHUNK_MORE) {
        rc = parse_row(&r, &b->c, &ps, &end, err);
        if (rc != FC_OK) {
            goto out;
        }
    }
    chunk_close(&b->c, &ps, end);
out:
    run_close(&r);
    if (rc != FC_OK) {
        fc_ingest_batch_free(b);
        return rc;
    }
    *out = b;
    return FC_OK;
}

int fc_ingest_batch_rejects(const fc_ingest_batch *b, fc_store_reject_cb cb, void *ud) {
    for (size_t i = 0; i < b->c.n_rejects; i++) {
        const packed_reject *pj = &b->c.rejects[i];
        int rc = cb(ud, &pj->why, chunk_str(&b->c, pj->raw_at, pj->raw_n));
        if (rc != 0) {
            return rc;
        }
    }
    return FC_OK;
}

int fc_ingest_write(fc_store *s, const fc_ingest_batch *b, const fc_ingest_opts *opts,
                    fc_ingest_log *log, fc_err *err) {
    fc_ingest_opts defaults = {.max_errors = -1};
    const fc_ingest_opts *o = opts != NULL ? opts : &defaults;
    run r;
    memset(&r, 0, sizeof r);
    fc_err_clear(err);
    *log = b->log;
    r.s = s;
    r.path = b->log.source;
    r.o = o;
    r.log = log;
    r.resolved = 1; /* never skipped or resumed by checksum */
    r.batch_rows = SIZE_MAX;
    int rc = fc_store_begin(s, err);
    if (rc != FC_OK) {
        return rc;
    }
    rc = fc_store_ingest_create(s, log, err);
    if (rc != FC_OK) {
        fc_store_rollback(s);
        return rc;
    }
    int commit_due = 0, end = 0;
    rc = write_chunk(&r, &b->c, &commit_due, &end, err);
    touched_free(&r);
    return rc;
}

int fc_ingest_buffer(fc_store *s, const char *source, const char *buf, size_t n,
                     const fc_ingest_opts *opts, fc_ingest_log *log, fc_err *err) {
    fc_ingest_opts defaults = {.max_errors = -1};
    const fc_ingest_opts *o = opts != NULL ? opts : &defaults;
    input in = {.buf = n > 0 ? buf : "", .n = n};
    run r;
    int rc;

    memset(&r, 0, sizeof r);
    memset(log, 0, sizeof *log);
    fc_err_clear(err);
    fc_str_cpy(log->source, sizeof log->source, fc_str_c(source));
    size_t first = first_nonblank(in.buf, in.n);
    int events = first == in.n || in.buf[first] == '{';
    if (events && o->batch_rows == 0 && (o->mapping == NULL || o->mapping[0] == '\0')) {
        /* Events in one transaction: read, then written. */
        fc_ingest_batch *b = NULL;
        rc = fc_ingest_prepare(source, buf, n, o, &b, err);
        if (rc == FC_OK) {
            rc = fc_ingest_write(s, b, o, log, err);
        }
        fc_ingest_batch_free(b);
        return rc;
    }
    rc = checksum(in.buf, in.n, log->checksum, err);
    if (rc != FC_OK) {
        return rc;
    }
    /* Events need no reference entities: skip loading them. */
    rc = run_open(&r, s, source, o, &in, NULL, log, !events, err);
    if (rc != FC_OK) {
        goto out;
    }
    r.batch_rows = o->batch_rows > 0 ? o->batch_rows : SIZE_MAX;
    r.resolved = 1; /* never skipped or resumed by checksum */
    log->started_at = (int64_t)time(NULL);
    rc = fc_store_begin(s, err);
    if (rc != FC_OK) {
        goto out;
    }
    rc = fc_store_ingest_create(s, log, err);
    if (rc != FC_OK) {
        fc_store_rollback(s);
        goto out;
    }
    rc = run_rows(&r, err);
out:
    run_close(&r);
    return rc;
}
