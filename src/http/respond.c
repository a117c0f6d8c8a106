/*
 * http responses and the helpers every route shares: JSON bodies, errors,
 * the workers' store connections, languages and parameters.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http/http_internal.h"

int64_t fc__http_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

enum MHD_Result fc__http_send(fc_hreq *q, unsigned status, const char *type, const char *body,
                              size_t len, const char *hdr, const char *hval) {
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (resp == NULL) {
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (hdr != NULL) {
        MHD_add_response_header(resp, hdr, hval);
    }
    enum MHD_Result ok = MHD_queue_response(q->c, status, resp);
    MHD_destroy_response(resp);
    if (ok == MHD_YES) {
        q->r->status = status;
    }
    return ok;
}

enum MHD_Result fc__http_send_json_hdr(fc_hreq *q, unsigned status, json_t *j, const char *hdr,
                                       const char *hval) {
    if (j == NULL) {
        return fc__http_send_oom(q);
    }
    enum MHD_Result ok = MHD_NO;
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (text != NULL) {
        ok = fc__http_send(q, status, "application/json", text, strlen(text), hdr, hval);
    }
    free(text);
    return ok;
}

enum MHD_Result fc__http_send_json(fc_hreq *q, unsigned status, json_t *j) {
    return fc__http_send_json_hdr(q, status, j, NULL, NULL);
}

static json_t *error_json(const char *code, const char *msg) {
    return json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg);
}

enum MHD_Result fc__http_send_error(fc_hreq *q, unsigned status, const char *code,
                                    const char *msg) {
    json_t *j = error_json(code, msg);
    if (j == NULL) {
        return MHD_NO; /* out of memory even for the error: drop the connection */
    }
    return fc__http_send_json(q, status, j);
}

enum MHD_Result fc__http_send_errorf(fc_hreq *q, unsigned status, const char *code, const char *fmt,
                                     ...) {
    char msg[800];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return fc__http_send_error(q, status, code, msg);
}

enum MHD_Result fc__http_send_err(fc_hreq *q, const fc_err *err) {
    char msg[800];
    fc_err_format(err, msg, sizeof msg);
    switch (err->code) {
    case FC_ENOTFOUND:
        return fc__http_send_error(q, MHD_HTTP_NOT_FOUND, FC_HTTP_ENOT_FOUND, msg);
    case FC_EINVAL:
    case FC_EPARSE:
    case FC_ELIMIT:
        return fc__http_send_error(q, MHD_HTTP_BAD_REQUEST, FC_HTTP_EBAD_REQUEST, msg);
    case FC_ECONFLICT:
    case FC_EDUP:
        return fc__http_send_error(q, MHD_HTTP_CONFLICT, FC_HTTP_ECONFLICT, msg);
    case FC_ESTORE:
        return fc__http_send_error(q, MHD_HTTP_SERVICE_UNAVAILABLE, FC_HTTP_EUNAVAILABLE, msg);
    default:
        return fc__http_send_error(q, MHD_HTTP_INTERNAL_SERVER_ERROR, FC_HTTP_EINTERNAL, msg);
    }
}

enum MHD_Result fc__http_send_oom(fc_hreq *q) {
    return fc__http_send_error(q, MHD_HTTP_INTERNAL_SERVER_ERROR, FC_HTTP_EINTERNAL,
                               "out of memory");
}

enum MHD_Result fc__http_send_unauthorized(fc_hreq *q, int presented, const char *msg) {
    return fc__http_send_json_hdr(q, MHD_HTTP_UNAUTHORIZED, error_json(FC_HTTP_EUNAUTHORIZED, msg),
                                  MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                  presented ? "Bearer error=\"invalid_token\"" : "Bearer");
}

fc_store *fc__http_store(fc_http *h, fc_err *err) {
    fc_store *s = pthread_getspecific(h->key);
    if (s != NULL) {
        return s;
    }
    if (fc_store_open(h->db_path, &s, err) != FC_OK) {
        return NULL;
    }
    /* h->ckpt checkpoints: a request never waits for one. */
    if (h->ckpt != NULL && fc_store_autocheckpoint(s, 0, err) != FC_OK) {
        fc_store_close(s);
        return NULL;
    }
    pthread_mutex_lock(&h->mu);
    int rc = fc_grow((void **)&h->stores, &h->cap, h->nstores + 1, sizeof *h->stores);
    if (rc == FC_OK) {
        h->stores[h->nstores++] = s;
    }
    pthread_mutex_unlock(&h->mu);
    if (rc != FC_OK || pthread_setspecific(h->key, s) != 0) {
        if (rc == FC_OK) {
            /* registered: closed at stop; this request goes without it */
            fc_err_set(err, FC_EINTERNAL, NULL, 0, 0, "cannot keep the store connection");
            return NULL;
        }
        fc_store_close(s);
        fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory");
        return NULL;
    }
    return s;
}

fc_lang fc__http_lang(fc_hreq *q) {
    const char *accept =
        MHD_lookup_connection_value(q->c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_LANGUAGE);
    return accept != NULL ? fc_lang_pick(accept) : FC_LANG_EN;
}

const char *fc__http_param(fc_hreq *q, const char *key) {
    return MHD_lookup_connection_value(q->c, MHD_GET_ARGUMENT_KIND, key);
}

json_t *fc__http_body_json(fc_hreq *q, enum MHD_Result *sent) {
    json_error_t je;
    json_t *j = json_loadb(q->body, q->body_len, JSON_REJECT_DUPLICATES, &je);
    if (j == NULL) {
        *sent = fc__http_send_errorf(q, MHD_HTTP_BAD_REQUEST, FC_HTTP_EBAD_REQUEST,
                                     "the body is not JSON: line %d, column %d: %s", je.line,
                                     je.column, je.text);
    }
    return j;
}
