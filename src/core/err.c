/*
 * Errors: status names and the fc_err detail record.
 */
#include "core/core.h"

#include <string.h>

const char *fc_strerror(int code) {
    switch (code) {
    case FC_OK:
        return "ok";
    case FC_ENOMEM:
        return "out of memory";
    case FC_EIO:
        return "input/output error";
    case FC_EPARSE:
        return "parse error";
    case FC_EINVAL:
        return "invalid value";
    case FC_ESTORE:
        return "store error";
    case FC_ENOTFOUND:
        return "not found";
    case FC_EDUP:
        return "duplicate";
    case FC_ELIMIT:
        return "limit exceeded";
    case FC_ECONFLICT:
        return "conflict";
    case FC_EINTERNAL:
        return "internal error";
    default:
        return "unknown error";
    }
}

void fc_err_clear(fc_err *err) {
    if (err == NULL) {
        return;
    }
    err->code = FC_OK;
    err->file[0] = '\0';
    err->line = 0;
    err->col = 0;
    err->field[0] = '\0';
    err->msg[0] = '\0';
}

/* Copy a C string into a fixed buffer, truncating. */
static void fc__copy(char *dst, size_t dstsz, const char *src, size_t n) {
    if (n >= dstsz) {
        n = dstsz - 1;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

int fc_err_set(fc_err *err, int code, const char *file, long line, long col, const char *fmt, ...) {
    if (err == NULL) {
        return code;
    }
    err->code = code;
    if (file != NULL) {
        fc__copy(err->file, sizeof err->file, file, strlen(file));
    } else {
        err->file[0] = '\0';
    }
    err->line = line;
    err->col = col;
    err->field[0] = '\0';
    err->msg[0] = '\0';
    if (fmt != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

void fc_err_field(fc_err *err, const char *field, size_t field_len) {
    if (err == NULL) {
        return;
    }
    if (field == NULL) {
        err->field[0] = '\0';
        return;
    }
    fc__copy(err->field, sizeof err->field, field, field_len);
}

/* Append to buf at *pos, keeping it NUL-terminated and never overrunning. */
static void fc__append(char *buf, size_t bufsz, size_t *pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void fc__append(char *buf, size_t bufsz, size_t *pos, const char *fmt, ...) {
    if (*pos >= bufsz) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(buf + *pos, bufsz - *pos, fmt, ap);
    va_end(ap);
    if (k < 0) {
        return;
    }
    *pos += (size_t)k;
    if (*pos >= bufsz) {
        *pos = bufsz;
    }
}

void fc_err_format(const fc_err *err, char *buf, size_t bufsz) {
    if (buf == NULL || bufsz == 0) {
        return;
    }
    buf[0] = '\0';
    if (err == NULL) {
        return;
    }
    size_t pos = 0;
    int located = 0;
    if (err->file[0] != '\0') {
        fc__append(buf, bufsz, &pos, "%s:", err->file);
        located = 1;
    }
    if (err->line > 0) {
        fc__append(buf, bufsz, &pos, "%ld:", err->line);
        located = 1;
        if (err->col > 0) {
            fc__append(buf, bufsz, &pos, "%ld:", err->col);
        }
    } else if (err->col > 0) {
        fc__append(buf, bufsz, &pos, "col %ld:", err->col);
        located = 1;
    }
    if (located) {
        fc__append(buf, bufsz, &pos, " ");
    }
    if (err->field[0] != '\0') {
        fc__append(buf, bufsz, &pos, "%s: ", err->field);
    }
    if (err->msg[0] != '\0') {
        fc__append(buf, bufsz, &pos, "%s", err->msg);
    } else {
        fc__append(buf, bufsz, &pos, "%s", fc_strerror(err->code));
    }
}
