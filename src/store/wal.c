/*
 * The write-ahead log kept short by a thread of its own.
 *
 * A connection that commits checkpoints the log itself once it passes
 * wal_autocheckpoint pages (sqlite.c sets 1024): the commit that crosses the
 * line copies the log's pages into the database file and syncs it, which
 * can take a hundred milliseconds. A server's writers turn that off
 * (fc_store_autocheckpoint(s, 0)) and a checkpointer thread, on its own
 * connection, runs PASSIVE checkpoints every few hundred milliseconds: they
 * copy what no reader still needs without taking the write lock, so writers
 * never wait for them. The log is reused from its start once a checkpoint
 * has copied all of it and the next writer begins.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "store/store_internal.h"

struct fc_store_checkpointer {
    fc_store *s; /* its own connection */
    unsigned interval_ms;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stopping; /* under mu */
    int started;
    /* Counters, under mu. */
    int64_t runs, failures;
    int wal_frames; /* the log's size in frames at the last run */
    char last_error[200];
};

int fc_store_autocheckpoint(fc_store *s, int pages, fc_err *err) {
    if (sqlite3_wal_autocheckpoint(s->db, pages < 0 ? 0 : pages) != SQLITE_OK) {
        return fc__store_fail(s, err, "setting the log's checkpoint size");
    }
    return FC_OK;
}

int fc_store_checkpoint(fc_store *s, int *wal_frames, int *copied_frames, fc_err *err) {
    int log = 0, ckpt = 0;
    int rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &ckpt);
    if (wal_frames != NULL) {
        *wal_frames = log;
    }
    if (copied_frames != NULL) {
        *copied_frames = ckpt;
    }
    /* BUSY: another checkpoint runs now; it does the work. */
    if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
        return fc__store_fail(s, err, "checkpointing the log");
    }
    return FC_OK;
}

static void *checkpointer_main(void *arg) {
    fc_store_checkpointer *c = arg;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        if (!c->stopping) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += (long)(c->interval_ms % 1000) * 1000000L;
            until.tv_sec += (time_t)(c->interval_ms / 1000) + until.tv_nsec / 1000000000L;
            until.tv_nsec %= 1000000000L;
            while (!c->stopping && pthread_cond_timedwait(&c->cv, &c->mu, &until) != ETIMEDOUT) {
            }
        }
        int last = c->stopping;
        pthread_mutex_unlock(&c->mu);
        int wal = 0;
        fc_err err;
        fc_err_clear(&err);
        int rc = fc_store_checkpoint(c->s, &wal, NULL, &err);
        pthread_mutex_lock(&c->mu);
        c->runs++;
        if (rc != FC_OK) {
            c->failures++;
            fc_err_format(&err, c->last_error, sizeof c->last_error);
        } else {
            c->wal_frames = wal;
        }
        if (last) {
            break;
        }
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

int fc_store_checkpointer_start(const char *path, unsigned interval_ms, fc_store_checkpointer **out,
                                fc_err *err) {
    *out = NULL;
    fc_store_checkpointer *c = fc_calloc(1, sizeof *c);
    if (c == NULL) {
        return fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
    }
    c->interval_ms = interval_ms > 0 ? interval_ms : 200;
    int rc = fc_store_open(path, &c->s, err);
    if (rc != FC_OK) {
        fc_free(c);
        return rc;
    }
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    if (pthread_create(&c->thread, NULL, checkpointer_main, c) != 0) {
        fc_store_checkpointer_stop(c);
        return fc_err_set(err, FC_EINTERNAL, NULL, 0, 0, "cannot start the checkpoint thread");
    }
    c->started = 1;
    *out = c;
    return FC_OK;
}

void fc_store_checkpointer_stats(fc_store_checkpointer *c, fc_store_checkpointer_info *info) {
    memset(info, 0, sizeof *info);
    if (c == NULL) {
        return;
    }
    pthread_mutex_lock(&c->mu);
    info->runs = c->runs;
    info->failures = c->failures;
    info->wal_frames = c->wal_frames;
    memcpy(info->last_error, c->last_error, sizeof info->last_error);
    pthread_mutex_unlock(&c->mu);
}

void fc_store_checkpointer_stop(fc_store_checkpointer *c) {
    if (c == NULL) {
        return;
    }
    if (c->started) {
        pthread_mutex_lock(&c->mu);
        c->stopping = 1;
        pthread_cond_signal(&c->cv);
        pthread_mutex_unlock(&c->mu);
        pthread_join(c->thread, NULL);
    }
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    fc_store_close(c->s);
    fc_free(c);
}
