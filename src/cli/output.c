/*
 * Rows out: an aligned table for people, CSV (RFC 4180) or JSON for pipes.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

struct fc_table {
    size_t ncols;
    char **names; /* ncols column names */
    int *numeric; /* ncols flags */
    char **cells; /* rows * ncols, row-major, owned */
    size_t rows, cap;
};

int fc_out_format_from(const char *s) {
    if (s == NULL) {
        return -1;
    }
    if (strcmp(s, "table") == 0) {
        return FC_OUT_TABLE;
    }
    if (strcmp(s, "csv") == 0) {
        return FC_OUT_CSV;
    }
    if (strcmp(s, "json") == 0) {
        return FC_OUT_JSON;
    }
    return -1;
}

fc_table *fc_table_new(size_t ncols, const char *const *names, const int *numeric) {
    fc_table *t = fc_calloc(1, sizeof *t);
    if (t == NULL) {
        return NULL;
    }
    t->ncols = ncols;
    t->names = fc_calloc(ncols ? ncols : 1, sizeof *t->names);
    t->numeric = fc_calloc(ncols ? ncols : 1, sizeof *t->numeric);
    if (t->names == NULL || t->numeric == NULL) {
        fc_table_free(t);
        return NULL;
    }
    for (size_t i = 0; i < ncols; i++) {
        t->names[i] = fc_strdup(names[i]);
        if (t->names[i] == NULL) {
            fc_table_free(t);
            return NULL;
        }
        t->numeric[i] = numeric != NULL ? numeric[i] : 0;
    }
    return t;
}

void fc_table_free(fc_table *t) {
    if (t == NULL) {
        return;
    }
    for (size_t i = 0; i < t->rows * t->ncols; i++) {
        fc_free(t->cells[i]);
    }
    for (size_t i = 0; t->names != NULL && i < t->ncols; i++) {
        fc_free(t->names[i]);
    }
    fc_free(t->cells);
    fc_free(t->names);
    fc_free(t->numeric);
    fc_free(t);
}

int fc_table_add(fc_table *t, const char *const *cells) {
    size_t need = (t->rows + 1) * t->ncols;
    if (fc_grow((void **)&t->cells, &t->cap, need, sizeof *t->cells) != FC_OK) {
        return FC_ENOMEM;
    }
    char **row = t->cells + t->rows * t->ncols;
    for (size_t i = 0; i < t->ncols; i++) {
        row[i] = fc_strdup(cells[i] != NULL ? cells[i] : "");
        if (row[i] == NULL) {
            for (size_t j = 0; j < i; j++) {
                fc_free(row[j]);
            }
            return FC_ENOMEM;
        }
    }
    t->rows++;
    return FC_OK;
}

size_t fc_table_rows(const fc_table *t) {
    return t->rows;
}

/* Display width of UTF-8 text: code points, not bytes. */
static size_t text_width(const char *s) {
    size_t w = 0;
    for (; *s; s++) {
        if (((unsigned char)*s & 0xC0) != 0x80) {
            w++;
        }
    }
    return w;
}

static void print_padded(FILE *f, const char *s, size_t width, int right) {
    size_t w = text_width(s);
    size_t pad = width > w ? width - w : 0;
    if (right) {
        fprintf(f, "%*s%s", (int)pad, "", s);
    } else {
        fprintf(f, "%s%*s", s, (int)pad, "");
    }
}

static void print_table(const fc_table *t, FILE *f) {
    size_t widths[256];
    size_t nc = t->ncols < 256 ? t->ncols : 256;
    for (size_t c = 0; c < nc; c++) {
        widths[c] = text_width(t->names[c]);
        for (size_t r = 0; r < t->rows; r++) {
            size_t w = text_width(t->cells[r * t->ncols + c]);
            if (w > widths[c]) {
                widths[c] = w;
            }
        }
    }
    for (size_t c = 0; c < nc; c++) {
        if (c > 0) {
            fputs("  ", f);
        }
        print_padded(f, t->names[c], widths[c], t->numeric[c]);
    }
    fputc('\n', f);
    for (size_t c = 0; c < nc; c++) {
        if (c > 0) {
            fputs("  ", f);
        }
        for (size_t i = 0; i < widths[c]; i++) {
            fputc('-', f);
        }
    }
    fputc('\n', f);
    for (size_t r = 0; r < t->rows; r++) {
        for (size_t c = 0; c < nc; c++) {
            if (c > 0) {
                fputs("  ", f);
            }
            print_padded(f, t->cells[r * t->ncols + c], widths[c], t->numeric[c]);
        }
        fputc('\n', f);
    }
}

static void print_csv_cell(FILE *f, const char *s) {
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') {
            fputc('"', f);
        }
        fputc(*s, f);
    }
    fputc('"', f);
}

static void print_csv(const fc_table *t, FILE *f) {
    for (size_t c = 0; c < t->ncols; c++) {
        if (c > 0) {
            fputc(',', f);
        }
        print_csv_cell(f, t->names[c]);
    }
    fputc('\n', f);
    for (size_t r = 0; r < t->rows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            if (c > 0) {
                fputc(',', f);
            }
            print_csv_cell(f, t->cells[r * t->ncols + c]);
        }
        fputc('\n', f);
    }
}

static void print_json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            fputc('\\', f);
            fputc(ch, f);
        } else if (ch < 0x20) {
            fprintf(f, "\\u%04x", ch);
        } else {
            fputc(ch, f);
        }
    }
    fputc('"', f);
}

static void print_json(const fc_table *t, FILE *f) {
    fputs("[", f);
    for (size_t r = 0; r < t->rows; r++) {
        fputs(r == 0 ? "\n  {" : ",\n  {", f);
        for (size_t c = 0; c < t->ncols; c++) {
            const char *cell = t->cells[r * t->ncols + c];
            if (c > 0) {
                fputs(", ", f);
            }
            print_json_string(f, t->names[c]);
            fputs(": ", f);
            if (t->numeric[c] && cell[0] == '\0') {
                fputs("null", f);
            } else if (t->numeric[c]) {
                fputs(cell, f);
            } else {
                print_json_string(f, cell);
            }
        }
        fputs("}", f);
    }
    fputs(t->rows ? "\n]\n" : "]\n", f);
}

void fc_table_print(const fc_table *t, fc_out_format fmt, FILE *f) {
    switch (fmt) {
    case FC_OUT_CSV:
        print_csv(t, f);
        break;
    case FC_OUT_JSON:
        print_json(t, f);
        break;
    default:
        print_table(t, f);
        break;
    }
}
