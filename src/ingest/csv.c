/*
 * RFC 4180 tokenizer: quoted fields, doubled quotes, CRLF or LF line ends,
 * line ends inside quotes (counted, so error lines stay right), a last row
 * without a line end. Works on the caller's buffer in place: a field is a
 * view into it, except a quoted field holding doubled quotes, which is
 * unescaped into the tokenizer's scratch.
 *
 * Lenient on one point: a quote inside an unquoted field is kept as a
 * literal character (many exports write 12" pizza).
 */
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#elif defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "ingest/reader_internal.h"

#define FC__NOT_SCRATCH UINT32_MAX

void fc__csv_init(fc__csv *c, const char *buf, size_t n, char delim) {
    memset(c, 0, sizeof *c);
    c->buf = buf;
    c->n = n;
    c->line = 1;
    c->delim = delim;
#if defined(__x86_64__) && defined(__GNUC__)
    c->wide = __builtin_cpu_supports("avx2");
#endif
    for (int i = 0x80; i < 256; i++) {
        c->stop[i] = 1;
        c->qstop[i] = 1;
    }
    c->stop[0] = c->qstop[0] = 1;
    c->stop[(unsigned char)delim] = 1;
    c->stop['\n'] = c->stop['\r'] = 1;
    c->qstop['"'] = c->qstop['\n'] = 1;
    /* a UTF-8 byte order mark at the very start is not data */
    if (n >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) {
        c->pos = 3;
    }
}

void fc__csv_free(fc__csv *c) {
    fc_free(c->fields);
    fc_free(c->scratch_off);
    fc_free(c->field_line);
    fc_free(c->scratch);
    memset(c, 0, sizeof *c);
}

/* Room for one more field. */
static int add_field(fc__csv *c, fc_str v, uint32_t soff, long line) {
    if (c->nfields == c->cap_fields) {
        size_t cap = c->cap_fields, c2, c3;
        if (fc_grow((void **)&c->fields, &cap, c->nfields + 1, sizeof *c->fields) != FC_OK) {
            return FC_ENOMEM;
        }
        c2 = c->cap_fields;
        if (fc_grow((void **)&c->scratch_off, &c2, cap, sizeof *c->scratch_off) != FC_OK) {
            return FC_ENOMEM;
        }
        c3 = c->cap_fields;
        if (fc_grow((void **)&c->field_line, &c3, cap, sizeof *c->field_line) != FC_OK) {
            return FC_ENOMEM;
        }
        c->cap_fields = cap < c2 ? (cap < c3 ? cap : c3) : (c2 < c3 ? c2 : c3);
    }
    c->fields[c->nfields] = v;
    c->scratch_off[c->nfields] = soff;
    c->field_line[c->nfields] = line;
    c->nfields++;
    return FC_OK;
}

/* Unescape the doubled quotes of p[0..n) into scratch; *off receives the
 * offset of the copy. */
static int unescape(fc__csv *c, const char *p, size_t n, uint32_t *off, size_t *out_n) {
    if (c->scratch_len + n > c->scratch_cap) {
        char *old = c->scratch;
        if (fc_grow((void **)&c->scratch, &c->scratch_cap, c->scratch_len + n, 1) != FC_OK) {
            return FC_ENOMEM;
        }
        if (c->scratch != old) {
            for (size_t i = 0; i < c->nfields; i++) {
                if (c->scratch_off[i] != FC__NOT_SCRATCH) {
                    c->fields[i].p = c->scratch + c->scratch_off[i];
                }
            }
        }
    }
    char *d = c->scratch + c->scratch_len;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        d[k++] = p[i];
        if (p[i] == '"') {
            i++; /* skip the second quote of the pair */
        }
    }
    *off = (uint32_t)c->scratch_len;
    c->scratch_len += k;
    *out_n = k;
    return FC_OK;
}

/* Offset from p of the first byte in b[p..n) that ends a plain run of an
 * unquoted field (the delimiter, CR, LF, NUL or any byte >= 0x80), or of
 * the end of the 16-byte-aligned stretch scanned when none does. Sixteen
 * bytes at a time; the caller finishes with the byte table. */
static inline size_t plain_run(const fc__csv *c, const char *b, size_t p, size_t n) {
    size_t q = p;
#if defined(__SSE2__)
    const __m128i delim = _mm_set1_epi8(c->delim);
    const __m128i lf = _mm_set1_epi8('\n');
    const __m128i cr = _mm_set1_epi8('\r');
    const __m128i nul = _mm_setzero_si128();
    while (q + 16 <= n) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(b + q));
        __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, delim), _mm_cmpeq_epi8(v, lf)),
                                   _mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, nul)));
        /* movemask also takes the high bit of every byte: UTF-8 stops too */
        unsigned m = (unsigned)_mm_movemask_epi8(_mm_or_si128(hit, v));
        if (m != 0) {
            return q + (size_t)__builtin_ctz(m) - p;
        }
        q += 16;
    }
#else
    (void)c;
    (void)b;
    (void)n;
#endif
    return q - p;
}

/* One block of a plain row (see plain_row) at b[q..): dm has a bit per
 * delimiter, sm per special byte (line ends, quote, NUL, >= 0x80). Emits the
 * fields that end in it. Returns 1 when the row ended there (fields,
 * *row_end, c->pos, c->line set), 0 to go on with the next block, -1 when
 * the general loop must read the row. scratch_off is not written: only the
 * general loop reads it, for the row it is reading. */
static inline int plain_block(fc__csv *c, size_t q, uint64_t dm, uint64_t sm, size_t *k,
                              size_t *start, size_t *row_end) {
    const char *b = c->buf;
    if (sm != 0) {
        dm &= (sm & (0 - sm)) - 1; /* the delimiters before the first special byte */
    }
    while (dm != 0) {
        size_t at = q + (size_t)__builtin_ctzll(dm);
        if (*k == c->cap_fields || at - *start > FC_FIELD_MAX_BYTES) {
            return -1;
        }
        c->fields[*k] = fc_str_make(b + *start, at - *start);
        c->field_line[*k] = c->line;
        (*k)++;
        *start = at + 1;
        dm &= dm - 1;
    }
    if (sm == 0) {
        return 0;
    }
    size_t x = q + (size_t)__builtin_ctzll(sm), next;
    if (b[x] == '\n') {
        next = x + 1;
    } else if (b[x] == '\r' && x + 1 < c->n && b[x + 1] == '\n') {
        next = x + 2;
    } else {
        return -1;
    }
    if (*k == c->cap_fields || x - *start > FC_FIELD_MAX_BYTES) {
        return -1;
    }
    c->fields[*k] = fc_str_make(b + *start, x - *start);
    c->field_line[*k] = c->line;
    c->nfields = *k + 1;
    *row_end = x;
    c->pos = next;
    c->line++;
    return 1;
}

#if defined(__x86_64__) && defined(__GNUC__)
#define FC__WIDE 1
/* plain_row, 32 bytes at a time (AVX2). */
__attribute__((target("avx2"))) static int plain_row_wide(fc__csv *c, size_t p, size_t *row_end) {
    const char *b = c->buf;
    size_t k = 0, start = p, q = p;
    const __m256i delim = _mm256_set1_epi8(c->delim);
    const __m256i lf = _mm256_set1_epi8('\n');
    const __m256i cr = _mm256_set1_epi8('\r');
    const __m256i quote = _mm256_set1_epi8('"');
    const __m256i nul = _mm256_setzero_si256();
    while (q + 32 <= c->n) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(b + q));
        uint32_t dm = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, delim));
        __m256i special = _mm256_or_si256(
            _mm256_or_si256(_mm256_cmpeq_epi8(v, lf), _mm256_cmpeq_epi8(v, cr)),
            _mm256_or_si256(_mm256_cmpeq_epi8(v, quote), _mm256_cmpeq_epi8(v, nul)));
        uint32_t sm = (uint32_t)_mm256_movemask_epi8(_mm256_or_si256(special, v));
        int r = plain_block(c, q, dm, sm, &k, &start, row_end);
        if (r != 0) {
            return r > 0;
        }
        q += 32;
    }
    return 0;
}
#endif

/* A whole row of plain fields at once: no quote, NUL, byte >= 0x80 or CR
 * other than in a CRLF, and a line end within the buffer. Sixteen (or
 * thirty-two) bytes at a time, with a bit mask of the delimiters in each.
 * Returns 1 with the fields, *row_end, c->pos and c->line set; 0 when the
 * row is anything else (or the field array is full), having changed
 * nothing the general loop relies on: it then reads the row. */
static int plain_row(fc__csv *c, size_t p, size_t *row_end) {
    if ((unsigned char)c->delim >= 0x80) {
        return 0;
    }
#ifdef FC__WIDE
    if (c->wide) {
        return plain_row_wide(c, p, row_end);
    }
#endif
#if defined(__SSE2__)
    const char *b = c->buf;
    size_t k = 0, start = p, q = p;
    const __m128i delim = _mm_set1_epi8(c->delim);
    const __m128i lf = _mm_set1_epi8('\n');
    const __m128i cr = _mm_set1_epi8('\r');
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i nul = _mm_setzero_si128();
    while (q + 16 <= c->n) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(b + q));
        unsigned dm = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, delim));
        __m128i special =
            _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, lf), _mm_cmpeq_epi8(v, cr)),
                         _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, nul)));
        unsigned sm = (unsigned)_mm_movemask_epi8(_mm_or_si128(special, v));
        int r = plain_block(c, q, dm, sm, &k, &start, row_end);
        if (r != 0) {
            return r > 0;
        }
        q += 16;
    }
#else
    (void)p;
    (void)row_end;
#endif
    return 0;
}

/* Remember the first error of a row; later ones are ignored. */
#define ROW_ERR(code_, line_, col_, ...)                                                           \
    do {                                                                                           \
        if (rc == 0) {                                                                             \
            rc = fc_err_set(err, code_, source, line_, col_, __VA_ARGS__);                         \
        }                                                                                          \
    } while (0)

int fc__csv_row(fc__csv *c, const char *source, long *row_line, size_t *row_start, size_t *row_end,
                fc_err *err) {
    const char *b = c->buf;
    const size_t n = c->n;
    size_t p = c->pos;
    int rc = 0;

    /* blank lines are skipped */
    while (p < n && (b[p] == '\n' || (b[p] == '\r' && p + 1 < n && b[p + 1] == '\n'))) {
        p += b[p] == '\r' ? 2 : 1;
        c->line++;
    }
    if (p >= n) {
        c->pos = n;
        return 0;
    }
    *row_start = p;
    *row_line = c->line;
    c->nfields = 0;
    c->scratch_len = 0;
    if (plain_row(c, p, row_end)) {
        return 1;
    }

    for (;;) {
        long fline = c->line;
        long fno = (long)c->nfields + 1;
        size_t fstart = p, flen;
        uint32_t soff = FC__NOT_SCRATCH;
        fc_str v;

        if (p < n && b[p] == '"') {
            int doubled = 0;
            size_t q = p + 1;
            for (;;) {
                while (q < n && !c->qstop[(unsigned char)b[q]]) {
                    q++;
                }
                if (q >= n) {
                    break;
                }
                unsigned char ch = (unsigned char)b[q];
                if (ch == '"') {
                    if (q + 1 < n && b[q + 1] == '"') {
                        doubled = 1;
                        q += 2;
                        continue;
                    }
                    break;
                }
                if (ch == '\n') {
                    c->line++;
                    q++;
                } else if (ch == 0) {
                    ROW_ERR(FC_EPARSE, c->line, fno, "NUL byte in field %ld", fno);
                    q++;
                } else {
                    size_t k = fc__utf8_seq((const unsigned char *)b + q, n - q);
                    if (k == 0) {
                        ROW_ERR(FC_EPARSE, c->line, fno, "invalid UTF-8 in field %ld", fno);
                        k = 1;
                    }
                    q += k;
                }
            }
            if (q >= n) {
                /* Unterminated: resume on the line after the row's first line,
                 * so one stray quote does not swallow the rest of the file. */
                const char *nl = memchr(b + *row_start, '\n', n - *row_start);
                rc = fc_err_set(err, FC_EPARSE, source, fline, fno,
                                "unterminated quoted field %ld (opened here, never closed)", fno);
                c->line = *row_line + 1;
                c->pos = nl != NULL ? (size_t)(nl - b) + 1 : n;
                *row_end = nl != NULL ? (size_t)(nl - b) : n;
                if (*row_end > *row_start && b[*row_end - 1] == '\r') {
                    (*row_end)--;
                }
                return rc;
            }
            flen = q - (p + 1);
            if (doubled) {
                size_t un = 0;
                if (unescape(c, b + p + 1, flen, &soff, &un) != FC_OK) {
                    ROW_ERR(FC_ENOMEM, fline, fno, "out of memory");
                    soff = FC__NOT_SCRATCH;
                    v = fc_str_make(b + p + 1, 0);
                } else {
                    v = fc_str_make(c->scratch + soff, un);
                }
            } else {
                v = fc_str_make(b + p + 1, flen);
            }
            p = q + 1;
            if (p < n && b[p] != c->delim && b[p] != '\n' &&
                !(b[p] == '\r' && (p + 1 == n || b[p + 1] == '\n'))) {
                ROW_ERR(FC_EPARSE, c->line, fno,
                        "unexpected character after the closing quote of field %ld", fno);
                while (p < n && b[p] != c->delim && b[p] != '\n') {
                    p++;
                }
            }
        } else {
            for (;;) {
                p += plain_run(c, b, p, n);
                while (p < n && !c->stop[(unsigned char)b[p]]) {
                    p++;
                }
                if (p >= n) {
                    break;
                }
                unsigned char ch = (unsigned char)b[p];
                if (ch == (unsigned char)c->delim || ch == '\n') {
                    break;
                }
                if (ch == '\r') {
                    if (p + 1 == n || b[p + 1] == '\n') {
                        break;
                    }
                    p++; /* a lone CR is data */
                } else if (ch == 0) {
                    ROW_ERR(FC_EPARSE, c->line, fno, "NUL byte in field %ld", fno);
                    p++;
                } else {
                    size_t k = fc__utf8_seq((const unsigned char *)b + p, n - p);
                    if (k == 0) {
                        ROW_ERR(FC_EPARSE, c->line, fno, "invalid UTF-8 in field %ld", fno);
                        k = 1;
                    }
                    p += k;
                }
            }
            v = fc_str_make(b + fstart, p - fstart);
            flen = p - fstart;
        }
        if (flen > FC_FIELD_MAX_BYTES) {
            ROW_ERR(FC_ELIMIT, fline, fno, "field %ld is longer than %u bytes", fno,
                    (unsigned)FC_FIELD_MAX_BYTES);
            v.n = 0;
        }
        if (add_field(c, v, soff, fline) != FC_OK) {
            ROW_ERR(FC_ENOMEM, fline, fno, "out of memory");
        }
        if (p < n && b[p] == c->delim) {
            p++;
            continue;
        }
        /* end of row: LF, CRLF, lone CR at the end, or end of input */
        *row_end = p;
        if (p < n && b[p] == '\r') {
            p++;
        }
        if (p < n && b[p] == '\n') {
            p++;
            c->line++;
        }
        break;
    }
    c->pos = p;
    return rc == 0 ? 1 : rc;
}
