/*
 * auth: a presented token against the token store (auth.h).
 */
#include <string.h>

#include "auth/auth.h"
#include "store/store.h"

int fc_auth_check_token(fc_store *s, const char *text, size_t n, int64_t now, fc_principal *p,
                        fc_token *t, int *ok, fc_err *err) {
    *ok = 0;
    if (!fc_auth_token_wellformed(text, n)) {
        return FC_OK;
    }
    uint8_t hash[FC_AUTH_HASH_BYTES];
    int rc = fc_auth_token_hash(text, n, hash);
    if (rc != FC_OK) {
        return fc_err_set(err, rc, "", 0, 0, "libsodium cannot be initialised");
    }
    fc_token row;
    int found = 0;
    rc = fc_store_token_find(s, hash, &row, &found, err);
    if (rc != FC_OK || !found) {
        return rc;
    }
    fc_err parse_err;
    if (fc_auth_parse_scope(fc_role_from(row.role), row.scope, p, &parse_err) != FC_OK) {
        return FC_OK; /* a row this code did not write: refuse it */
    }
    if (now - row.last_used_at >= FC_AUTH_TOUCH_EVERY_S) {
        rc = fc_store_token_touch(s, row.id, now, err);
        if (rc != FC_OK) {
            return rc;
        }
        row.last_used_at = now;
    }
    if (t != NULL) {
        *t = row;
    }
    *ok = 1;
    return FC_OK;
}
