/*
 * The background judge: POST /v1/events queues the orders a batch stored,
 * and one thread judges them, several batches per run, on its own store
 * connection, so no request waits for the judge (unless it asks to).
 *
 * Nothing queued is ever lost. The store keeps the mark "judged_seq": every
 * record with seq <= it has had its orders judged (or was posted with
 * judge=0). A take of the queue happens under events_mu, where it reads the
 * highest record seq M: every batch this server committed up to M is in
 * the queue then. If the records between the last take and M are more than
 * this server stored (another process wrote some, or a batch's orders
 * could not be queued), their orders are read from the store and judged
 * too. After a successful run the mark moves to M; a failed run puts its
 * orders back and tries again later (backing off). At start the records
 * after the mark are judged (a crash or a kill between a commit and its
 * judging, or records `fulcrum ingest --no-judge` wrote meanwhile); a store
 * without the mark yet gets it at its highest seq (a store `fulcrum ingest`
 * wrote is judged already). docs/internals/background-judge.md has the
 * whole design.
 */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "adjudicate/adjudicate.h"
#include "http/http_internal.h"

/* The judge thread's nice value (requests run at 0): the lowest, so the
 * judge takes what the requests leave, and still moves under full load. */
#define JUDGE_NICE 19
/* The longest the judge holds the store's write lock at a time, in ms. */
#define JUDGE_TXN_MS 20
/* Orders judged per fc_adj_run_orders call. */
#define JUDGE_PIECE 2048

#define DEBOUNCE_NS    (200 * 1000000LL)  /* batches gathered into one run */
#define FULL_ORDERS    5000u              /* ... unless this many orders wait */
#define IDLE_CHECK_NS  (5 * 1000000000LL) /* look for records others wrote */
#define BACKOFF_MIN_NS (250 * 1000000LL)
#define BACKOFF_MAX_NS (30 * 1000000000LL)
#define WHOLE_RECORDS  200000 /* more unqueued records than this: one whole run */

/* at_ns (fc__http_now_ns's clock, CLOCK_MONOTONIC) for
 * pthread_cond_timedwait on a condition made with that clock. */
static struct timespec mono_at(int64_t at_ns) {
    struct timespec ts;
    ts.tv_sec = (time_t)(at_ns / 1000000000LL);
    ts.tv_nsec = (long)(at_ns % 1000000000LL);
    return ts;
}

/* Intern every id of `from` into `to`. FC_ENOMEM when memory runs out. */
static int merge(fc_dict *to, const fc_dict *from) {
    uint32_t n = fc_dict_count(from);
    for (uint32_t i = 0; i < n; i++) {
        if (fc_dict_intern(to, fc_dict_get(from, i)) < 0) {
            return FC_ENOMEM;
        }
    }
    return FC_OK;
}

static int queued(const fc__http_judge *j) {
    return fc_dict_count(j->pending) > 0 || j->pending_all || j->records_since > 0;
}

int fc__http_judge_queue(fc_http *h, const fc_dict *orders, int64_t records, int all,
                         uint64_t *ticket) {
    fc__http_judge *j = &h->judge;
    pthread_mutex_lock(&j->mu);
    int rc = orders != NULL ? merge(j->pending, orders) : FC_OK;
    /* Counted even when the orders did not all fit: the take then finds
     * fewer records queued than stored and reads them from the store. */
    j->records_since += rc == FC_OK ? records : 0;
    j->pending_all |= all;
    if (j->since_ns == 0) {
        j->since_ns = fc__http_now_ns();
    }
    *ticket = j->taken + 1;
    pthread_cond_signal(&j->wake);
    pthread_mutex_unlock(&j->mu);
    return rc;
}

int fc__http_judge_wait(fc_http *h, uint64_t ticket, int64_t *judged, char *msg, size_t msgsz) {
    fc__http_judge *j = &h->judge;
    int rc = FC_OK;
    *judged = 0;
    pthread_mutex_lock(&j->mu);
    j->hurry = 1;
    pthread_cond_signal(&j->wake);
    while (j->done < ticket && j->failed < ticket && !j->ended && !j->broken) {
        pthread_cond_wait(&j->ran, &j->mu);
    }
    if (j->done >= ticket) {
        size_t k = ticket % FC__JUDGE_RECENT;
        *judged = j->recent[k].take == ticket ? j->recent[k].orders : 0;
    } else {
        snprintf(msg, msgsz, "%s", j->ended && j->msg[0] == '\0' ? "the server stopped" : j->msg);
        rc = FC_ESTORE;
    }
    pthread_mutex_unlock(&j->mu);
    return rc;
}

void fc__http_judge_stats_get(fc_http *h, fc__http_judge_stats *out) {
    fc__http_judge *j = &h->judge;
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&j->mu);
    out->queued_orders = (int64_t)fc_dict_count(j->pending) + j->running_orders;
    out->queued_all = j->pending_all || j->running_all;
    int64_t oldest = j->running_ns != 0 ? j->running_ns : j->since_ns;
    out->lag_s = oldest != 0 ? (double)(fc__http_now_ns() - oldest) / 1e9 : 0.0;
    out->runs = j->runs;
    out->failures = j->failures;
    out->orders_judged = j->orders_judged;
    out->mark = j->mark;
    pthread_mutex_unlock(&j->mu);
}

/* ---------------------------------------------------------------------------
 * The thread.
 */

/* What the thread keeps between runs. */
typedef struct judger {
    fc_http *h;
    fc_store *s;      /* its own connection; NULL until it opens */
    int64_t seen_seq; /* records up to it are judged or queued */
    int64_t backoff_ns;
    int64_t retry_at_ns;   /* no run before (monotonic; 0: none) */
    int64_t idle_check_ns; /* next look at the store when nothing is queued */
} judger;

/* One take: what a run judges. */
typedef struct take {
    uint64_t ticket;
    fc_dict *orders;
    int all;
    int64_t ours;     /* records this server stored since the previous take */
    int64_t since_ns; /* when its oldest batch was queued */
    int64_t max_seq;  /* the highest record seq at the take */
} take;

static void log_failure(const char *what, const fc_err *err) {
    char msg[400];
    fc_err_format(err, msg, sizeof msg);
    fprintf(stderr, "fulcrum: background judge: %s: %s\n", what, msg);
}

/* Note a failure (counted, logged, its message kept for waiters) and back
 * off before the next try. Under j->mu. */
static void failed_locked(judger *g, const char *what, const fc_err *err) {
    fc__http_judge *j = &g->h->judge;
    j->failures++;
    fc_err_format(err, j->msg, sizeof j->msg);
    log_failure(what, err);
    g->backoff_ns = g->backoff_ns == 0 ? BACKOFF_MIN_NS : g->backoff_ns * 2;
    if (g->backoff_ns > BACKOFF_MAX_NS) {
        g->backoff_ns = BACKOFF_MAX_NS;
    }
    g->retry_at_ns = fc__http_now_ns() + g->backoff_ns;
}

/* Open the store and read the mark (setting it at the highest seq when the
 * store has none). Under events_mu, so no batch commits meanwhile. */
static int open_store(judger *g, fc_err *err) {
    fc_http *h = g->h;
    fc__http_judge *j = &h->judge;
    int rc = fc_store_open(h->db_path, &g->s, err);
    if (rc != FC_OK) {
        return rc;
    }
    int64_t mark = 0, max_seq = 0;
    int found = 0;
    pthread_mutex_lock(&h->events_mu);
    rc = fc_store_mark_get(g->s, FC__JUDGE_MARK, &mark, &found, err);
    if (rc == FC_OK) {
        rc = fc_store_max_seq(g->s, &max_seq, err);
    }
    if (rc == FC_OK && !found) {
        mark = max_seq;
        rc = fc_store_mark_set(g->s, FC__JUDGE_MARK, mark, err);
    }
    if (rc == FC_OK) {
        /* Batches queued before now are within max_seq: the first take reads
         * (mark, its own max] from the store, them included. */
        g->seen_seq = mark;
        pthread_mutex_lock(&j->mu);
        j->records_since = 0;
        j->mark = mark;
        j->broken = 0;
        if (max_seq > mark && j->since_ns == 0) {
            j->since_ns = fc__http_now_ns(); /* catch-up: a take is due */
        }
        pthread_mutex_unlock(&j->mu);
    }
    pthread_mutex_unlock(&h->events_mu);
    if (rc != FC_OK) {
        fc_store_close(g->s);
        g->s = NULL;
    }
    return rc;
}

/* Take the queue: under events_mu (no commit between reading the highest
 * seq and swapping), then j->mu. */
static int take_queue(judger *g, fc_dict *spare, take *t, fc_err *err) {
    fc_http *h = g->h;
    fc__http_judge *j = &h->judge;
    pthread_mutex_lock(&h->events_mu);
    int rc = fc_store_max_seq(g->s, &t->max_seq, err);
    if (rc == FC_OK) {
        pthread_mutex_lock(&j->mu);
        t->orders = j->pending;
        j->pending = spare;
        t->all = j->pending_all;
        t->ours = j->records_since;
        t->since_ns = j->since_ns;
        j->pending_all = 0;
        j->records_since = 0;
        j->since_ns = 0;
        j->hurry = 0;
        t->ticket = ++j->taken;
        j->running_ns = t->since_ns;
        j->running_orders = fc_dict_count(t->orders);
        j->running_all = t->all;
        pthread_mutex_unlock(&j->mu);
    }
    pthread_mutex_unlock(&h->events_mu);
    return rc;
}

static int add_order(void *ud, int64_t seq, fc_str order) {
    (void)seq;
    take *t = ud;
    if (order.n == 0) {
        t->all = 1;
        return FC_OK;
    }
    return fc_dict_intern(t->orders, order) < 0 ? FC_ENOMEM : FC_OK;
}

/* Records in (seen_seq, max_seq] this server did not queue: add their
 * orders to the take (a whole run when there are very many). */
static int add_unqueued(judger *g, take *t, fc_err *err) {
    int64_t unqueued = t->max_seq - g->seen_seq - t->ours;
    if (unqueued <= 0 || t->all) {
        return FC_OK;
    }
    if (unqueued > WHOLE_RECORDS) {
        t->all = 1;
        return FC_OK;
    }
    int rc = fc_store_orders_after(g->s, g->seen_seq, t->max_seq, add_order, t, err);
    if (rc == FC_ENOMEM) {
        return fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory reading unjudged records");
    }
    return rc;
}

/* The judge's write transactions take the events route's writer mutex:
 * a batch being posted waits on it, not in SQLite's busy handler. */
static void writer_lock(void *ud) {
    pthread_mutex_lock(&((fc_http *)ud)->events_mu);
}

static void writer_unlock(void *ud) {
    pthread_mutex_unlock(&((fc_http *)ud)->events_mu);
}

static void stats_add(fc_adj_stats *to, const fc_adj_stats *a) {
    to->orders += a->orders;
    to->decisions += a->decisions;
    to->recorded += a->recorded;
    to->unchanged += a->unchanged;
    to->superseded += a->superseded;
    to->withdrawn += a->withdrawn;
    to->ledger += a->ledger;
    to->review += a->review;
    for (int k = 0; k < FC_PARTY__COUNT; k++) {
        to->by_party[k] += a->by_party[k];
    }
}

/* Judge a take and move the mark. */
static int run_take(judger *g, take *t, fc_adj_stats *st, fc_err *err) {
    fc_http *h = g->h;
    int rc = add_unqueued(g, t, err);
    if (rc != FC_OK) {
        return rc;
    }
    uint32_t n = fc_dict_count(t->orders);
    memset(st, 0, sizeof *st);
    if (n == 0 && !t->all && t->max_seq == g->seen_seq) {
        return FC_OK; /* nothing came */
    }
    if (n > 0 || t->all) {
        fc_str *ids = fc_malloc(((size_t)n + 1) * sizeof *ids);
        if (ids == NULL) {
            return fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory judging");
        }
        for (uint32_t i = 0; i < n; i++) {
            ids[i] = fc_dict_get(t->orders, i);
        }
        fc_adj_opts o;
        fc_adj_opts_init(&o);
        o.pack = h->pack;
        o.now = (int64_t)time(NULL);
        o.txn_ms = JUDGE_TXN_MS; /* a batch being posted waits at most about this long */
        /* Never a whole run for a take, however big: a whole run reads the
         * log under one snapshot for its length, and the log cannot be
         * reused behind it meanwhile. Pieces of JUDGE_PIECE orders keep
         * each call's memory and snapshot short. */
        o.targeted_only = 1;
        o.txn_lock = writer_lock;
        o.txn_unlock = writer_unlock;
        o.txn_ud = h;
        if (t->all) {
            rc = fc_adj_run(g->s, &o, st, err);
        }
        for (uint32_t at = 0; !t->all && at < n && rc == FC_OK; at += JUDGE_PIECE) {
            fc_adj_stats piece;
            rc = fc_adj_run_orders(g->s, &o, ids + at, n - at < JUDGE_PIECE ? n - at : JUDGE_PIECE,
                                   &piece, err);
            if (rc == FC_OK) {
                stats_add(st, &piece);
            }
        }
        fc_free(ids);
        if (rc != FC_OK) {
            return rc;
        }
        if (st->recorded + st->superseded + st->withdrawn + st->ledger > 0) {
            fc__http_store_changed(h);
        }
    }
    return fc_store_mark_set(g->s, FC__JUDGE_MARK, t->max_seq, err);
}

/* After a run: counts, the mark, waiters told; a failed take's orders go
 * back to the queue. */
static void finish_take(judger *g, take *t, int rc, const fc_adj_stats *st, const fc_err *err) {
    fc__http_judge *j = &g->h->judge;
    pthread_mutex_lock(&j->mu);
    j->running_ns = 0;
    j->running_orders = 0;
    j->running_all = 0;
    if (rc == FC_OK) {
        int ran = fc_dict_count(t->orders) > 0 || t->all;
        j->runs += (uint64_t)ran;
        j->orders_judged += st->orders;
        j->done = t->ticket;
        j->recent[t->ticket % FC__JUDGE_RECENT].take = t->ticket;
        j->recent[t->ticket % FC__JUDGE_RECENT].orders = st->orders;
        j->mark = t->max_seq;
        g->seen_seq = t->max_seq;
        g->backoff_ns = 0;
        g->retry_at_ns = 0;
        j->msg[0] = '\0';
    } else {
        /* Kept: the orders back in the queue, the records counted again
         * (the next take's arithmetic on seen_seq stays right). */
        if (merge(j->pending, t->orders) != FC_OK) {
            t->ours = 0; /* the next take reads them from the store instead */
        }
        j->pending_all |= t->all;
        j->records_since += t->ours;
        if (j->since_ns == 0 || (t->since_ns != 0 && t->since_ns < j->since_ns)) {
            j->since_ns = t->since_ns != 0 ? t->since_ns : fc__http_now_ns();
        }
        j->failed = t->ticket;
        char what[80];
        snprintf(what, sizeof what, "judging %u order%s%s (kept for the next try)",
                 fc_dict_count(t->orders), fc_dict_count(t->orders) == 1 ? "" : "s",
                 t->all ? " and every order" : "");
        failed_locked(g, what, err);
    }
    pthread_cond_broadcast(&j->ran);
    pthread_mutex_unlock(&j->mu);
}

/* Wait until there is something to do: the stop, a store to open, a
 * queue whose debounce passed (or that is full, or that a request waits
 * for), or the idle look at the store. Under j->mu. */
static void wait_for_work(judger *g) {
    fc__http_judge *j = &g->h->judge;
    for (;;) {
        int64_t now = fc__http_now_ns();
        if (j->stopping) {
            return; /* one last try, whatever the back-off */
        }
        int64_t until;
        if (g->retry_at_ns > now) {
            until = g->retry_at_ns;
        } else if (g->s == NULL) {
            return;
        } else if (queued(j)) {
            until = j->since_ns + DEBOUNCE_NS;
            if (j->hurry || fc_dict_count(j->pending) >= FULL_ORDERS || now >= until) {
                return;
            }
        } else if (now >= g->idle_check_ns) {
            return;
        } else {
            until = g->idle_check_ns;
        }
        struct timespec ts = mono_at(until);
        pthread_cond_timedwait(&j->wake, &j->mu, &ts);
    }
}

/* One turn of the thread once woken: open the store, or take the queue
 * and judge it. NULL when it went well (or the run's own failure was
 * already noted by finish_take), else what failed, with err. */
static const char *turn(judger *g, fc_dict **spare, fc_err *err) {
    if (g->s == NULL) {
        return open_store(g, err) != FC_OK ? "opening the store" : NULL;
    }
    g->idle_check_ns = fc__http_now_ns() + IDLE_CHECK_NS;
    if (*spare == NULL && (*spare = fc_dict_new()) == NULL) {
        fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
        return "taking the queue";
    }
    take t;
    memset(&t, 0, sizeof t);
    if (take_queue(g, *spare, &t, err) != FC_OK) {
        return "reading the highest record";
    }
    *spare = NULL;
    fc_adj_stats st;
    int rc = run_take(g, &t, &st, err);
    finish_take(g, &t, rc, &st, err);
    fc_dict_free(t.orders);
    return NULL;
}

static void *judge_main(void *arg) {
    /* Requests first: when the CPU is short, batches are answered and the
     * judge catches up as it eases (fulcrum_judge_lag_seconds shows by how
     * much it is behind). Raising a thread's nice needs no privilege. */
    (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), JUDGE_NICE);
    judger g = {.h = arg};
    fc__http_judge *j = &g.h->judge;
    fc_dict *spare = NULL;
    for (;;) {
        pthread_mutex_lock(&j->mu);
        wait_for_work(&g);
        int stopping = j->stopping;
        pthread_mutex_unlock(&j->mu);
        fc_err err;
        fc_err_clear(&err);
        int opened = g.s != NULL;
        const char *failed = turn(&g, &spare, &err);
        if (failed != NULL) {
            pthread_mutex_lock(&j->mu);
            j->broken = g.s == NULL;
            failed_locked(&g, failed, &err);
            pthread_cond_broadcast(&j->ran);
            pthread_mutex_unlock(&j->mu);
        }
        /* Once stopping: the store opened (if it was not) and one take,
         * which held all there was (every request was answered before it);
         * a failure leaves the mark behind for the next start. */
        if (stopping && (opened || failed != NULL)) {
            break;
        }
    }
    fc_dict_free(spare);
    fc_store_close(g.s);
    pthread_mutex_lock(&j->mu);
    j->ended = 1;
    pthread_cond_broadcast(&j->ran);
    pthread_mutex_unlock(&j->mu);
    return NULL;
}

int fc__http_judge_init(fc_http *h, fc_err *err) {
    fc__http_judge *j = &h->judge;
    j->mark = -1;
    j->pending = fc_dict_new();
    if (j->pending == NULL) {
        return fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
    }
    pthread_mutex_init(&j->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&j->wake, &ca);
    pthread_cond_init(&j->ran, &ca);
    pthread_condattr_destroy(&ca);
    return FC_OK;
}

int fc__http_judge_start(fc_http *h, fc_err *err) {
    fc__http_judge *j = &h->judge;
    if (pthread_create(&j->thread, NULL, judge_main, h) != 0) {
        return fc_err_set(err, FC_EINTERNAL, NULL, 0, 0, "cannot start the judge's thread");
    }
    j->started = 1;
    return FC_OK;
}

void fc__http_judge_stop(fc_http *h) {
    fc__http_judge *j = &h->judge;
    if (j->pending == NULL) {
        return; /* never started */
    }
    if (j->started) {
        pthread_mutex_lock(&j->mu);
        j->stopping = 1;
        pthread_cond_signal(&j->wake);
        pthread_mutex_unlock(&j->mu);
        pthread_join(j->thread, NULL);
        j->started = 0;
    }
    pthread_cond_destroy(&j->wake);
    pthread_cond_destroy(&j->ran);
    pthread_mutex_destroy(&j->mu);
    fc_dict_free(j->pending);
    j->pending = NULL;
}
