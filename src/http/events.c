/*
 * Events: POST /v1/events, batched ingest over HTTP.
 *
 * The body is a JSON array of canonical events, {"events":[...]}, or JSON
 * Lines. Whatever its shape, the events reach the store through the ingest
 * pipeline's JSON Lines reader, so validation, reject reasons and
 * deduplication are exactly those of `fulcrum ingest`. An array
 * is turned into JSON Lines by finding each element's bytes (a structural
 * scan: strings, brackets and commas, nothing of the events' meaning) and
 * writing each on a line of its own; a row's error is then mapped back to
 * its index in the array and its line and column in the body.
 *
 * The store has one writer: a batch is read on the request's thread
 * (fc_ingest_prepare), then written under h->events_mu (fc_ingest_write),
 * one batch at a time; readers go on meanwhile (WAL). Right after its
 * commit, still under the mutex, a batch's orders are queued for the
 * background judge (judge.c), so the queue follows the commit order; the
 * answer does not wait for the judge unless judge=wait asks it to.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/http_internal.h"
#include "ingest/ingest.h"

#define MAX_EVENTS 10000 /* events in one batch */

static int is_ws(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static size_t skip_ws(const char *p, size_t n, size_t i) {
    while (i < n && is_ws(p[i])) {
        i++;
    }
    return i;
}

/* One past the end of the JSON string starting at p[i] ('"'), or 0 when it
 * does not end. */
static size_t string_end(const char *p, size_t n, size_t i) {
    for (i++; i < n; i++) {
        if (p[i] == '\\') {
            i++;
        } else if (p[i] == '"') {
            return i + 1;
        }
    }
    return 0;
}

/* One past the end of the JSON value starting at p[i]: objects and arrays
 * by their brackets (strings skipped), scalars up to the next delimiter. 0
 * when it is not one structurally. What is inside is the reader's to judge. */
static size_t value_end(const char *p, size_t n, size_t i) {
    if (i >= n) {
        return 0;
    }
    if (p[i] == '"') {
        return string_end(p, n, i);
    }
    if (p[i] != '{' && p[i] != '[') {
        size_t k = i;
        while (k < n && !is_ws(p[k]) && p[k] != ',' && p[k] != ']' && p[k] != '}' && p[k] != '[' &&
               p[k] != '{' && p[k] != '"' && p[k] != ':') {
            k++;
        }
        return k > i ? k : 0;
    }
    size_t depth = 0;
    while (i < n) {
        char c = p[i];
        if (c == '"') {
            i = string_end(p, n, i);
            if (i == 0) {
                return 0;
            }
            continue;
        }
        if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (--depth == 0) {
                return i + 1;
            }
        }
        i++;
    }
    return 0;
}

/* Where one element of an array body lies: body[start..end). */
typedef struct elem_span {
    size_t start, end;
} elem_span;

/* A batch: the body and the JSON Lines the reader reads. */
typedef struct batch {
    const char *body; /* borrowed: the request body */
    size_t body_len;
    int array;     /* the events came as an array (spans below), else as JSON Lines */
    elem_span *el; /* array: where element i lies in the body */
    size_t n, cap; /* elements (array) or rows (JSON Lines) */
    char *lines;   /* array: the elements one per line; NULL for JSON Lines */
    size_t lines_len;
    const char *input; /* what the reader reads: lines, or the body */
    size_t input_len;
} batch;

static void batch_free(batch *b) {
    fc_free(b->el);
    fc_free(b->lines);
}

/* The elements of the array at body[i] ('['): their spans into b; *after
 * is one past its ']'. FC_OK, FC_ENOMEM, or FC_EINVAL with msg. */
static int scan_array(batch *b, size_t i, size_t *after, char *msg, size_t msgsz) {
    const char *p = b->body;
    size_t n = b->body_len;
    i = skip_ws(p, n, i + 1);
    if (i < n && p[i] == ']') {
        *after = i + 1;
        return FC_OK;
    }
    for (;;) {
        i = skip_ws(p, n, i);
        if (i >= n || p[i] != '{') {
            snprintf(msg, msgsz, "element %zu of the array is not an object", b->n);
            return FC_EINVAL;
        }
        size_t e = value_end(p, n, i);
        if (e == 0) {
            snprintf(msg, msgsz, "element %zu of the array does not end", b->n);
            return FC_EINVAL;
        }
        if (b->n == MAX_EVENTS) {
            snprintf(msg, msgsz, "more than %d events in one batch", MAX_EVENTS);
            return FC_EINVAL;
        }
        if (fc_grow((void **)&b->el, &b->cap, b->n + 1, sizeof *b->el) != FC_OK) {
            return FC_ENOMEM;
        }
        b->el[b->n++] = (elem_span){i, e};
        b->lines_len += e - i + 1;
        i = skip_ws(p, n, e);
        if (i < n && p[i] == ',') {
            i++;
            continue;
        }
        if (i < n && p[i] == ']') {
            *after = i + 1;
            return FC_OK;
        }
        snprintf(msg, msgsz, "expected ',' or ']' after element %zu of the array", b->n - 1);
        return FC_EINVAL;
    }
}

/* Whether the body is one object {"events":[...], ...}: 1 with the array's
 * elements in b, 0 when it is not that (b untouched), or a negative status
 * with msg. */
static int scan_wrapper(batch *b, size_t i, char *msg, size_t msgsz) {
    const char *p = b->body;
    size_t n = b->body_len;
    int found = 0;
    i = skip_ws(p, n, i + 1);
    if (i < n && p[i] == '}') {
        return 0;
    }
    for (;;) {
        i = skip_ws(p, n, i);
        if (i >= n || p[i] != '"') {
            return found ? (snprintf(msg, msgsz, "the body is not one JSON object"), FC_EINVAL) : 0;
        }
        size_t ke = string_end(p, n, i);
        if (ke == 0) {
            return 0;
        }
        int is_events = ke - i == 8 && memcmp(p + i, "\"events\"", 8) == 0;
        i = skip_ws(p, n, ke);
        if (i >= n || p[i] != ':') {
            return 0;
        }
        i = skip_ws(p, n, i + 1);
        size_t ve;
        if (is_events && i < n && p[i] == '[' && !found) {
            int rc = scan_array(b, i, &ve, msg, msgsz);
            if (rc != FC_OK) {
                return rc;
            }
            found = 1;
        } else {
            ve = value_end(p, n, i);
            if (ve == 0) {
                return found ? (snprintf(msg, msgsz, "the body is not one JSON object"), FC_EINVAL)
                             : 0;
            }
        }
        i = skip_ws(p, n, ve);
        if (i < n && p[i] == ',') {
            i++;
            continue;
        }
        if (i < n && p[i] == '}' && skip_ws(p, n, i + 1) == n) {
            return found;
        }
        return found ? (snprintf(msg, msgsz, "the body is not one JSON object"), FC_EINVAL) : 0;
    }
}

/* The array's elements, one per line: JSON whitespace inside an element
 * (the only place a raw line end can be) becomes a space, so each byte
 * keeps its column. */
static int make_lines(batch *b) {
    b->lines = fc_malloc(b->lines_len + 1);
    if (b->lines == NULL) {
        return FC_ENOMEM;
    }
    char *w = b->lines;
    for (size_t k = 0; k < b->n; k++) {
        size_t s = b->el[k].start;
        size_t e = b->el[k].end;
        memcpy(w, b->body + s, e - s);
        for (char *c = w; (c = memchr(c, '\n', (size_t)(w + (e - s) - c))) != NULL;) {
            *c = ' ';
        }
        for (char *c = w; (c = memchr(c, '\r', (size_t)(w + (e - s) - c))) != NULL;) {
            *c = ' ';
        }
        w += e - s;
        *w++ = '\n';
    }
    b->input = b->lines;
    b->input_len = (size_t)(w - b->lines);
    return FC_OK;
}

/* Whether a line holds a row (the reader skips blank ones). */
static int line_has_row(const char *p, size_t len) {
    for (size_t k = 0; k < len; k++) {
        if (p[k] != ' ' && p[k] != '\t' && p[k] != '\r') {
            return 1;
        }
    }
    return 0;
}

/* JSON Lines: count the rows. */
static int scan_lines(batch *b, char *msg, size_t msgsz) {
    const char *p = b->body, *end = b->body + b->body_len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
        if (line_has_row(p, len) && ++b->n > MAX_EVENTS) {
            snprintf(msg, msgsz, "more than %d events in one batch", MAX_EVENTS);
            return FC_EINVAL;
        }
        p += len + (nl != NULL);
    }
    b->input = b->body;
    b->input_len = b->body_len;
    return FC_OK;
}

/* Whether the request says its body is JSON Lines. */
static int says_json_lines(fc_hreq *q) {
    const char *ct =
        MHD_lookup_connection_value(q->c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (ct == NULL) {
        return 0;
    }
    static const char *const types[] = {"application/x-ndjson", "application/ndjson",
                                        "application/jsonl", "application/x-jsonlines",
                                        "application/jsonlines"};
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        size_t len = strlen(types[k]);
        if (strncasecmp(ct, types[k], len) == 0 && (ct[len] == '\0' || ct[len] == ';')) {
            return 1;
        }
    }
    return 0;
}

/* Read the body's shape into b. FC_OK, FC_ENOMEM, or FC_EINVAL with msg
 * (the body is not events at all, or too many). */
static int batch_read(fc_hreq *q, batch *b, char *msg, size_t msgsz) {
    b->body = q->body;
    b->body_len = q->body_len;
    size_t i = skip_ws(b->body, b->body_len, 0);
    if (i == b->body_len) {
        snprintf(msg, msgsz, "the body is empty: send a JSON array of events or JSON Lines");
        return FC_EINVAL;
    }
    char c = b->body[i];
    if (!says_json_lines(q)) {
        int rc = FC_OK;
        if (c == '[') {
            size_t after = 0;
            rc = scan_array(b, i, &after, msg, msgsz);
            if (rc == FC_OK && skip_ws(b->body, b->body_len, after) != b->body_len) {
                snprintf(msg, msgsz, "the body goes on after the array");
                rc = FC_EINVAL;
            }
            b->array = 1;
        } else if (c == '{') {
            rc = scan_wrapper(b, i, msg, msgsz);
            if (rc == 1) {
                b->array = 1;
                rc = FC_OK;
            }
        } else {
            snprintf(msg, msgsz,
                     "the body is not JSON: an array of events, {\"events\":[...]} "
                     "or JSON Lines (Content-Type: application/x-ndjson)");
            return FC_EINVAL;
        }
        if (rc != FC_OK) {
            return rc;
        }
        if (b->array) {
            return make_lines(b);
        }
    } else if (c != '{') {
        snprintf(msg, msgsz, "the body is not JSON Lines: its first row is not a JSON object");
        return FC_EINVAL;
    }
    return scan_lines(b, msg, msgsz);
}

/* ---------------------------------------------------------------------------
 * The answer's errors: the rejects of the log, in input order, placed in
 * the body. A cursor walks the body once, as the rejects come in order.
 */
typedef struct placer {
    const batch *b;
    json_t *errors;
    size_t pos;     /* body offset the cursor is at */
    long line;      /* its line, 1-based */
    size_t line_at; /* where that line begins */
    size_t index;   /* JSON Lines: rows before the cursor's line */
    int failed;
} placer;

/* Move the cursor forward to body offset `to`, counting lines. */
static void advance_to(placer *pl, size_t to) {
    const char *p = pl->b->body;
    while (pl->pos < to) {
        const char *nl = memchr(p + pl->pos, '\n', to - pl->pos);
        if (nl == NULL) {
            pl->pos = to;
            break;
        }
        pl->line++;
        pl->pos = (size_t)(nl - p) + 1;
        pl->line_at = pl->pos;
    }
}

/* JSON Lines: move the cursor to the start of line `line`, counting rows. */
static void advance_to_line(placer *pl, long line) {
    const char *p = pl->b->body, *end = p + pl->b->body_len;
    while (pl->line < line && pl->pos < pl->b->body_len) {
        const char *at = p + pl->pos;
        const char *nl = memchr(at, '\n', (size_t)(end - at));
        size_t len = nl != NULL ? (size_t)(nl - at) : (size_t)(end - at);
        pl->index += (size_t)line_has_row(at, len);
        pl->pos += len + (nl != NULL);
        pl->line++;
    }
}

static int place_reject(void *ud, const fc_err *why, fc_str raw) {
    (void)raw;
    placer *pl = ud;
    json_int_t index, line, col;
    if (pl->b->array) {
        size_t k = why->line >= 1 && (size_t)why->line <= pl->b->n ? (size_t)why->line - 1 : 0;
        size_t at = pl->b->el[k].start + (why->col > 0 ? (size_t)why->col - 1 : 0);
        advance_to(pl, at);
        index = (json_int_t)k;
        line = pl->line;
        col = (json_int_t)(at - pl->line_at) + 1;
    } else {
        advance_to_line(pl, why->line);
        index = (json_int_t)pl->index;
        line = why->line;
        col = why->col;
    }
    json_t *e = json_pack("{s:I,s:I,s:o,s:o,s:s}", "index", index, "line", line, "column",
                          col > 0 ? json_integer(col) : json_null(), "field",
                          why->field[0] != '\0' ? json_string(why->field) : json_null(), "reason",
                          why->msg);
    if (e == NULL || json_array_append_new(pl->errors, e) != 0) {
        pl->failed = 1;
        return FC_ENOMEM;
    }
    return 0;
}

/* ---------------------------------------------------------------------------
 * The orders a batch touched, for the background judge (judge.c).
 */
typedef struct touched {
    fc_dict *orders;
    int64_t calls; /* records stored that name an order */
} touched;

static int on_order(void *ud, fc_str order) {
    touched *t = ud;
    t->calls++;
    return fc_dict_intern(t->orders, order) < 0 ? FC_ENOMEM : 0;
}

/* The judge query parameter. */
typedef enum judge_mode { JUDGE_OFF, JUDGE_QUEUE, JUDGE_WAIT } judge_mode;

static const char *const judge_names[] = {"off", "queued", "done"};

enum MHD_Result fc__http_post_events(fc_hreq *q) {
    fc_http *h = q->h;
    char msg[400];
    enum MHD_Result ok;
    batch b;
    touched t = {NULL};
    json_t *errors = NULL;
    fc_ingest_batch *prep = NULL;
    memset(&b, 0, sizeof b);
    if (!fc_auth_allows(q->p, FC_AUTH_INGEST, NULL)) {
        return fc__http_send_errorf(q, MHD_HTTP_FORBIDDEN, FC_HTTP_EFORBIDDEN,
                                    "the %s role may not ingest events", fc_role_name(q->p->role));
    }
    const char *jp = fc__http_param(q, "judge");
    judge_mode judge = JUDGE_QUEUE;
    if (jp != NULL && strcmp(jp, "0") == 0) {
        judge = JUDGE_OFF;
    } else if (jp != NULL && strcmp(jp, "wait") == 0) {
        judge = JUDGE_WAIT;
    } else if (jp != NULL && strcmp(jp, "1") != 0) {
        return fc__http_send_error(q, MHD_HTTP_BAD_REQUEST, FC_HTTP_EBAD_REQUEST,
                                   "judge: 1 (queue), wait or 0");
    }
    int rc = batch_read(q, &b, msg, sizeof msg);
    if (rc != FC_OK) {
        ok = rc == FC_EINVAL
                 ? fc__http_send_error(q, MHD_HTTP_BAD_REQUEST, FC_HTTP_EBAD_REQUEST, msg)
                 : fc__http_send_oom(q);
        goto out;
    }
    t.orders = fc_dict_new();
    errors = json_array();
    if (t.orders == NULL || errors == NULL) {
        ok = fc__http_send_oom(q);
        goto out;
    }
    char source[sizeof q->t->name + 8];
    snprintf(source, sizeof source, "http:%s", q->t->name);
    fc_ingest_opts o;
    memset(&o, 0, sizeof o);
    o.max_errors = -1;
    o.quiet = 1;
    o.on_order = on_order;
    o.on_order_ud = &t;
    fc_ingest_log log;
    fc_err err;
    fc_err_clear(&err);
    int64_t judged = 0;
    int jrc = FC_OK;
    uint64_t ticket = 0;

    /* Read on this thread; only the writing waits for the store's writer. */
    rc = fc_ingest_prepare(source, b.input, b.input_len, &o, &prep, &err);
    if (rc != FC_OK) {
        ok = fc__http_send_err(q, &err);
        goto out;
    }
    pthread_mutex_lock(&h->events_mu);
    if (h->events_stopping) {
        /* The server is stopping: its answer could be lost, so nothing is
         * stored (the client retries elsewhere or later). */
        pthread_mutex_unlock(&h->events_mu);
        ok = fc__http_send_error(q, MHD_HTTP_SERVICE_UNAVAILABLE, FC_HTTP_EUNAVAILABLE,
                                 "the server is stopping: nothing was stored; retry");
        goto out;
    }
    rc = fc_ingest_write(q->s, prep, &o, &log, &err);
    if (rc == FC_OK && log.accepted > 0) {
        /* Queued in commit order (still under events_mu). Records that name
         * no order (weather, platform incidents) change the facts of many
         * orders: every order is judged again. A batch with judge=0 is only
         * counted, so the judge's mark passes over it. */
        jrc = fc__http_judge_queue(h, judge != JUDGE_OFF ? t.orders : NULL, log.accepted,
                                   judge != JUDGE_OFF && log.accepted > t.calls, &ticket);
    }
    pthread_mutex_unlock(&h->events_mu);
    if (rc == FC_OK && log.accepted > 0) {
        fc__http_store_changed(h);
    }
    if (rc != FC_OK) {
        ok = fc__http_send_err(q, &err);
        goto out;
    }
    char jmsg[400] = "";
    judge_mode answered = judge;
    if (jrc != FC_OK) {
        snprintf(jmsg, sizeof jmsg,
                 "out of memory queueing the orders: the judge finds them "
                 "in the store at its next run");
        answered = JUDGE_QUEUE;
    } else if (judge != JUDGE_OFF && log.accepted == 0) {
        answered = JUDGE_WAIT; /* nothing new stored: nothing to judge */
    } else if (judge == JUDGE_WAIT &&
               fc__http_judge_wait(h, ticket, &judged, jmsg, sizeof jmsg) != FC_OK) {
        answered = JUDGE_QUEUE; /* kept: the judge tries again */
    }

    placer pl = {.b = &b, .errors = errors, .line = 1};
    /* The rejects as the batch read them: the ones just written with the
     * log, without reading them back. */
    if (log.rejected > 0 && fc_ingest_batch_rejects(prep, place_reject, &pl) != FC_OK) {
        ok = fc__http_send_oom(q);
        goto out;
    }
    json_t *j =
        json_pack("{s:I,s:I,s:I,s:I,s:I,s:O,s:I,s:s}", "ingest_id", (json_int_t)log.id, "received",
                  (json_int_t)log.rows_read, "accepted", (json_int_t)log.accepted, "duplicates",
                  (json_int_t)log.duplicates, "rejected", (json_int_t)log.rejected, "errors",
                  errors, "judged", (json_int_t)judged, "judge", judge_names[answered]);
    if (j != NULL && jmsg[0] != '\0') {
        /* The batch is stored; only the judging failed, and is tried again. */
        if (json_object_set_new(j, "judge_error", json_string(jmsg)) != 0) {
            json_decref(j);
            j = NULL;
        }
    }
    ok = fc__http_send_json(q, MHD_HTTP_OK, j);
out:
    fc_ingest_batch_free(prep);
    json_decref(errors);
    fc_dict_free(t.orders);
    batch_free(&b);
    return ok;
}
