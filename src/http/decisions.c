/*
 * Decisions: GET /v1/decisions/{id}, in the language the caller asks for.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_internal.h"
#include "adjudicate/adjudicate.h"
#include "case/case.h"

/* The decision's body with "explanation" and "margin_text" as the text in
 * lang (English when the policy has no text in lang), and "lang" saying
 * which. NULL on OOM. */
json_t *fc__http_decision_json(const fc_case_decision *cd, fc_lang lang) {
    if (cd->explanation[lang][0] == '\0') {
        lang = FC_LANG_EN;
    }
    char *body = NULL;
    size_t len = 0;
    if (fc_case_decision_json(cd, &body, &len) != FC_OK) {
        return NULL;
    }
    json_t *j = json_loadb(body, len, 0, NULL);
    fc_free(body);
    if (j == NULL || json_object_set_new(j, "lang", json_string(fc_lang_code(lang))) != 0 ||
        json_object_set_new(j, "explanation", json_string(cd->explanation[lang])) != 0 ||
        json_object_set_new(j, "margin_text", json_string(cd->margin_text[lang])) != 0) {
        json_decref(j);
        return NULL;
    }
    return j;
}

/* A decision id: 1 to FC_CASE_ID_MAX - 1 bytes of [A-Za-z0-9_-]. */
static int id_valid(const char *id) {
    size_t n = strlen(id);
    if (n == 0 || n >= FC_CASE_ID_MAX) {
        return 0;
    }
    return strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == n;
}

enum MHD_Result fc__http_get_decision(fc_hreq *q) {
    const char *id = q->arg[0];
    const fc_principal *p = q->p;
    if (!id_valid(id)) {
        return fc__http_send_error(q, MHD_HTTP_NOT_FOUND, FC_HTTP_ENOT_FOUND, "no such decision");
    }
    enum MHD_Result ok = MHD_NO;
    fc_err err;
    fc_err_clear(&err);
    fc_arena *arena = fc_arena_new(0);
    fc_case_decision *cd = fc_calloc(1, sizeof *cd);
    if (arena == NULL || cd == NULL) {
        ok = fc__http_send_error(q, MHD_HTTP_INTERNAL_SERVER_ERROR, FC_HTTP_EINTERNAL,
                                 "out of memory");
        goto out;
    }
    int rc = fc_adj_decision_get(q->s, id, arena, cd, &err);
    if (rc == FC_ENOTFOUND) {
        ok = fc__http_send_error(q, MHD_HTTP_NOT_FOUND, FC_HTTP_ENOT_FOUND, "no such decision");
        goto out;
    }
    if (rc != FC_OK) {
        char msg[600];
        fc_err_format(&err, msg, sizeof msg);
        ok = fc__http_send_error(q, MHD_HTTP_INTERNAL_SERVER_ERROR, FC_HTTP_EINTERNAL, msg);
        goto out;
    }
    fc_auth_resource res = {cd->country, cd->city, cd->rider, cd->merchant};
    if (!fc_auth_allows(p, FC_AUTH_READ_DECISION, &res)) {
        /* A rider or merchant must not learn that someone else's decision
         * exists: it is not found. A place-scoped role is told it is refused. */
        if (p->role == FC_ROLE_RIDER || p->role == FC_ROLE_MERCHANT) {
            ok = fc__http_send_error(q, MHD_HTTP_NOT_FOUND, FC_HTTP_ENOT_FOUND, "no such decision");
        } else {
            ok = fc__http_send_error(q, MHD_HTTP_FORBIDDEN, FC_HTTP_EFORBIDDEN,
                                     "this decision is outside the token's scope");
        }
        goto out;
    }
    fc_lang lang = fc__http_lang(q);
    if (cd->explanation[lang][0] == '\0') {
        lang = FC_LANG_EN; /* the policy has no text in that language */
    }
    json_t *j = fc__http_decision_json(cd, lang);
    if (j == NULL) {
        ok = fc__http_send_error(q, MHD_HTTP_INTERNAL_SERVER_ERROR, FC_HTTP_EINTERNAL,
                                 "out of memory");
        goto out;
    }
    ok = fc__http_send_json_hdr(q, MHD_HTTP_OK, j, MHD_HTTP_HEADER_CONTENT_LANGUAGE,
                                fc_lang_code(lang));
out:
    fc_free(cd);
    fc_arena_free(arena);
    return ok;
}
