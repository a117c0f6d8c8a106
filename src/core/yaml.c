/*
 * YAML documents over libyaml's event parser: a small tree of scalars, maps
 * and sequences, each node with its 1-based line and column.
 *
 * Deliberately strict, because these files are settings and policies:
 * aliases are refused (no hidden sharing, no "billion laughs"), duplicate
 * keys are refused, map keys must be scalars, only one document per file,
 * and nesting is limited to FC_YAML_MAX_DEPTH.
 */
#include "core/core.h"

#include <errno.h>
#include <string.h>
#include <yaml.h>

#define FC_YAML_MAX_DEPTH 64
#define FC_YAML_MAX_FILE  (64L * 1024 * 1024)

typedef struct fc__yp {
    yaml_parser_t parser;
    const char *name; /* file name for errors */
    fc_err *err;
    const char *buf; /* the input, to place reader errors (byte offsets) */
    size_t n;
} fc__yp;

void fc_yaml_free(fc_yaml *y) {
    if (y == NULL) {
        return;
    }
    fc_free(y->scalar);
    if (y->kind == FC_YAML_MAP && y->keys != NULL) {
        for (size_t i = 0; i < y->len; i++) {
            fc_free(y->keys[i]);
        }
    }
    if (y->vals != NULL) {
        for (size_t i = 0; i < y->len; i++) {
            fc_yaml_free(y->vals[i]);
        }
    }
    fc_free(y->keys);
    fc_free(y->key_lines);
    fc_free(y->key_cols);
    fc_free(y->vals);
    fc_free(y);
}

static int fc__yerr_at(fc__yp *yp, int code, const yaml_mark_t *mark, const char *what) {
    return fc_err_set(yp->err, code, yp->name, (long)mark->line + 1, (long)mark->column + 1, "%s",
                      what);
}

/* Turn a libyaml parser error into an fc_err with file:line:col. */
static int fc__yerr_parser(fc__yp *yp) {
    yaml_parser_t *p = &yp->parser;
    if (p->error == YAML_MEMORY_ERROR) {
        return fc_err_set(yp->err, FC_ENOMEM, yp->name, 0, 0, "out of memory parsing YAML");
    }
    const char *problem = p->problem != NULL ? p->problem : "malformed YAML";
    yaml_mark_t mark = p->problem_mark;
    if (p->error == YAML_READER_ERROR) {
        /* The reader reports a byte offset, not a mark: find its line. */
        size_t off = p->problem_offset < yp->n ? p->problem_offset : yp->n;
        mark.line = 0;
        mark.column = 0;
        for (size_t i = 0; i < off; i++) {
            if (yp->buf[i] == '\n') {
                mark.line++;
                mark.column = 0;
            } else if (((unsigned char)yp->buf[i] & 0xC0) != 0x80) {
                mark.column++;
            }
        }
        return fc_err_set(yp->err, FC_EPARSE, yp->name, (long)mark.line + 1, (long)mark.column + 1,
                          "%s", problem);
    }
    if (p->context != NULL) {
        return fc_err_set(yp->err, FC_EPARSE, yp->name, (long)mark.line + 1, (long)mark.column + 1,
                          "%s %s (opened at line %ld, column %ld)", problem, p->context,
                          (long)p->context_mark.line + 1, (long)p->context_mark.column + 1);
    }
    return fc_err_set(yp->err, FC_EPARSE, yp->name, (long)mark.line + 1, (long)mark.column + 1,
                      "%s", problem);
}

static int fc__next(fc__yp *yp, yaml_event_t *ev) {
    if (!yaml_parser_parse(&yp->parser, ev)) {
        return fc__yerr_parser(yp);
    }
    return FC_OK;
}

static fc_yaml *fc__node_new(fc_yaml_kind kind, const yaml_mark_t *mark) {
    fc_yaml *y = fc_calloc(1, sizeof *y);
    if (y == NULL) {
        return NULL;
    }
    y->kind = kind;
    y->line = (long)mark->line + 1;
    y->col = (long)mark->column + 1;
    return y;
}

static int fc__node(fc__yp *yp, yaml_event_t *ev, int depth, fc_yaml **out);

/* Read the items of a sequence or the pairs of a map until its end event. */
static int fc__children(fc__yp *yp, fc_yaml *y, int depth) {
    size_t cap = 0, kcap = 0, lcap = 0, ccap = 0;
    int rc = FC_OK;
    for (;;) {
        yaml_event_t ev;
        rc = fc__next(yp, &ev);
        if (rc != FC_OK) {
            return rc;
        }
        if (ev.type == YAML_SEQUENCE_END_EVENT || ev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&ev);
            return FC_OK;
        }
        if (y->kind == FC_YAML_MAP) {
            if (ev.type != YAML_SCALAR_EVENT) {
                rc = fc__yerr_at(yp, FC_EPARSE, &ev.start_mark,
                                 ev.type == YAML_ALIAS_EVENT ? "aliases (*name) are not supported"
                                                             : "a map key must be a plain value");
                yaml_event_delete(&ev);
                return rc;
            }
            const char *key = (const char *)ev.data.scalar.value;
            size_t keylen = ev.data.scalar.length;
            for (size_t i = 0; i < y->len; i++) {
                if (strlen(y->keys[i]) == keylen && memcmp(y->keys[i], key, keylen) == 0) {
                    char what[160];
                    snprintf(what, sizeof what, "duplicate key '%.*s' (first at line %ld)",
                             (int)(keylen > 100 ? 100 : keylen), key, y->key_lines[i]);
                    rc = fc__yerr_at(yp, FC_EPARSE, &ev.start_mark, what);
                    yaml_event_delete(&ev);
                    return rc;
                }
            }
            if (fc_grow((void **)&y->keys, &kcap, y->len + 1, sizeof(char *)) != FC_OK ||
                fc_grow((void **)&y->key_lines, &lcap, y->len + 1, sizeof(long)) != FC_OK ||
                fc_grow((void **)&y->key_cols, &ccap, y->len + 1, sizeof(long)) != FC_OK ||
                fc_grow((void **)&y->vals, &cap, y->len + 1, sizeof(fc_yaml *)) != FC_OK) {
                yaml_event_delete(&ev);
                return fc_err_set(yp->err, FC_ENOMEM, yp->name, 0, 0, "out of memory");
            }
            char *k = fc_strndup(key, keylen);
            long kline = (long)ev.start_mark.line + 1, kcol = (long)ev.start_mark.column + 1;
            yaml_event_delete(&ev);
            if (k == NULL) {
                return fc_err_set(yp->err, FC_ENOMEM, yp->name, 0, 0, "out of memory");
            }
            rc = fc__next(yp, &ev);
            if (rc != FC_OK) {
                fc_free(k);
                return rc;
            }
            fc_yaml *val = NULL;
            rc = fc__node(yp, &ev, depth + 1, &val);
            if (rc != FC_OK) {
                fc_free(k);
                return rc;
            }
            y->keys[y->len] = k;
            y->key_lines[y->len] = kline;
            y->key_cols[y->len] = kcol;
            y->vals[y->len] = val;
            y->len++;
        } else {
            if (fc_grow((void **)&y->vals, &cap, y->len + 1, sizeof(fc_yaml *)) != FC_OK) {
                yaml_event_delete(&ev);
                return fc_err_set(yp->err, FC_ENOMEM, yp->name, 0, 0, "out of memory");
            }
            fc_yaml *item = NULL;
            rc = fc__node(yp, &ev, depth + 1, &item);
            if (rc != FC_OK) {
                return rc;
            }
            y->vals[y->len++] = item;
        }
    }
}

/* Build the node that starts with event ev (consumed). */
static int fc__node(fc__yp *yp, yaml_event_t *ev, int depth, fc_yaml **out) {
    int rc = FC_OK;
    fc_yaml *y = NULL;
    *out = NULL;
    if (depth > FC_YAML_MAX_DEPTH) {
        rc = fc__yerr_at(yp, FC_ELIMIT, &ev->start_mark, "nested too deeply");
        goto out;
    }
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        y = fc__node_new(FC_YAML_SCALAR, &ev->start_mark);
        if (y == NULL || (y->scalar = fc_strndup((const char *)ev->data.scalar.value,
                                                 ev->data.scalar.length)) == NULL) {
            rc = fc_err_set(yp->err, FC_ENOMEM, yp->name, 0, 0, "out of memory");
            goto out;
        }
        if (strlen(y->scalar) != ev->data.scalar.length) {
            rc = fc__yerr_at(yp, FC_EPARSE, &ev->start_mark, "a value contains a NUL character");
            goto out;
        }
        y->len = ev->data.scalar.length;
        break;
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        y = fc__node_new(ev->type == YAML_SEQUENCE_START_EVENT ? FC_YAML_SEQ : FC_YAML_MAP,
                         &ev->start_mark);
        if (y == NULL) {
            rc = fc_err_set(yp->err, FC_ENOMEM, yp->name, 0, 0, "out of memory");
            goto out;
        }
        rc = fc__children(yp, y, depth);
        if (rc != FC_OK) {
            goto out;
        }
        break;
    case YAML_ALIAS_EVENT:
        rc = fc__yerr_at(yp, FC_EPARSE, &ev->start_mark,
                         "aliases (*name) are not supported; repeat the value instead");
        goto out;
    default:
        rc = fc__yerr_at(yp, FC_EPARSE, &ev->start_mark, "unexpected YAML structure");
        goto out;
    }
    *out = y;
    y = NULL;
out:
    yaml_event_delete(ev);
    fc_yaml_free(y);
    return rc;
}

int fc_yaml_load_buf(const char *name, const char *buf, size_t n, fc_yaml **out, fc_err *err) {
    int rc = FC_OK;
    fc__yp yp;
    fc_yaml *root = NULL;
    yaml_event_t ev;
    *out = NULL;
    yp.name = name != NULL ? name : "";
    yp.err = err;
    yp.buf = buf;
    yp.n = n;
    if (!yaml_parser_initialize(&yp.parser)) {
        return fc_err_set(err, FC_ENOMEM, yp.name, 0, 0, "out of memory");
    }
    yaml_parser_set_input_string(&yp.parser, (const unsigned char *)buf, n);
    /* STREAM-START, then DOCUMENT-START or STREAM-END for an empty file. */
    rc = fc__next(&yp, &ev);
    if (rc != FC_OK) {
        goto out;
    }
    yaml_event_delete(&ev);
    rc = fc__next(&yp, &ev);
    if (rc != FC_OK) {
        goto out;
    }
    if (ev.type == YAML_STREAM_END_EVENT) {
        /* An empty file is an empty map. */
        yaml_event_delete(&ev);
        yaml_mark_t start = {0, 0, 0};
        root = fc__node_new(FC_YAML_MAP, &start);
        if (root == NULL) {
            rc = fc_err_set(err, FC_ENOMEM, yp.name, 0, 0, "out of memory");
        }
        goto out;
    }
    yaml_event_delete(&ev); /* DOCUMENT-START */
    rc = fc__next(&yp, &ev);
    if (rc != FC_OK) {
        goto out;
    }
    rc = fc__node(&yp, &ev, 0, &root);
    if (rc != FC_OK) {
        goto out;
    }
    rc = fc__next(&yp, &ev); /* DOCUMENT-END */
    if (rc != FC_OK) {
        goto out;
    }
    yaml_event_delete(&ev);
    rc = fc__next(&yp, &ev);
    if (rc != FC_OK) {
        goto out;
    }
    if (ev.type != YAML_STREAM_END_EVENT) {
        rc = fc__yerr_at(&yp, FC_EPARSE, &ev.start_mark,
                         "more than one YAML document; use one file per document");
        yaml_event_delete(&ev);
        goto out;
    }
    yaml_event_delete(&ev);
out:
    yaml_parser_delete(&yp.parser);
    if (rc != FC_OK) {
        fc_yaml_free(root);
        return rc;
    }
    *out = root;
    return FC_OK;
}

int fc_yaml_load_file(const char *path, fc_yaml **out, fc_err *err) {
    int rc = FC_OK;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return fc_err_set(err, FC_EIO, path, 0, 0, "cannot open: %s", strerror(errno));
    }
    for (;;) {
        if (fc_grow((void **)&buf, &cap, len + 65536, 1) != FC_OK) {
            rc = fc_err_set(err, FC_ENOMEM, path, 0, 0, "out of memory reading the file");
            goto out;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            break;
        }
        if ((long)len > FC_YAML_MAX_FILE) {
            rc = fc_err_set(err, FC_ELIMIT, path, 0, 0, "file larger than %ld bytes",
                            FC_YAML_MAX_FILE);
            goto out;
        }
    }
    if (ferror(f)) {
        rc = fc_err_set(err, FC_EIO, path, 0, 0, "read error: %s", strerror(errno));
        goto out;
    }
    rc = fc_yaml_load_buf(path, buf, len, out, err);
out:
    fclose(f);
    fc_free(buf);
    return rc;
}

const fc_yaml *fc_yaml_get(const fc_yaml *y, const char *key) {
    if (y == NULL || y->kind != FC_YAML_MAP || key == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < y->len; i++) {
        if (strcmp(y->keys[i], key) == 0) {
            return y->vals[i];
        }
    }
    return NULL;
}
