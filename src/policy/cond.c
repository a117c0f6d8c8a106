/*
 * The condition language: tokenizer, recursive-descent parser to a flat
 * array of nodes in post-order (every node after its operands), type
 * checking at compile time, and evaluation in one pass over the array with
 * a fixed-size value stack: no recursion, no allocation.
 *
 * Lets are inlined: a let's compiled nodes are copied into the condition
 * that uses it, so a compiled condition needs nothing but the facts.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "policy/policy_internal.h"

#define MAX_NODES 256 /* per compiled expression, lets included */

typedef enum node_op {
    N_NUM,   /* constant number */
    N_TEXT,  /* constant word */
    N_FACT,  /* named fact `ref` */
    N_NEG,   /* -a */
    N_ADD,   /* a + b */
    N_SUB,   /* a - b */
    N_MUL,   /* a * b */
    N_DIV,   /* a / b (absent when b is 0) */
    N_MIN,   /* min(a, b) */
    N_MAX,   /* max(a, b) */
    N_KNOWN, /* known(a) */
    N_CMP,   /* a <cmp> b */
    N_IN,    /* a in items[ref .. ref + count) */
    N_FLAG,  /* a 0/1 fact used as a condition: a == 1 */
    N_AND,
    N_OR,
    N_NOT,
    N_TRUE,
    N_FALSE,
} node_op;

typedef enum cmp_op { C_LT, C_LE, C_GT, C_GE, C_EQ, C_NE } cmp_op;
static const char *const cmp_text[] = {"<", "<=", ">", ">=", "==", "!="};

typedef enum vtype { T_NUM, T_TEXT, T_BOOL } vtype;

typedef struct node {
    uint8_t op;    /* node_op */
    uint8_t type;  /* vtype of the result */
    uint8_t cmp;   /* N_CMP: cmp_op */
    uint8_t neg;   /* inside an odd number of `not` */
    uint16_t a, b; /* operands (indices of earlier nodes) */
    uint16_t count;
    uint32_t ref;     /* N_FACT: fact index; N_IN: first item */
    uint32_t label;   /* N_CMP, N_IN, N_FLAG: offset in pool of the left side as written */
    uint32_t against; /* N_CMP: offset in pool of the right side when not a literal */
    uint32_t unit;    /* offset in pool of the comparison's unit */
    uint32_t detail;  /* N_IN: offset in pool of "in [a, b]" */
    double num;       /* N_NUM */
    fc_str text;      /* N_TEXT (points into pool after compile) */
} node;

typedef struct item {
    int is_text;
    double num;
    uint32_t text_off, text_len; /* in pool */
} item;

struct fc_cond {
    node *nodes;
    size_t n;
    item *items;
    size_t n_items;
    char *pool;
    size_t pool_len;
    fc_evidence *tmpl; /* per comparison, its evidence with the words filled in */
    size_t n_tmpl;
    int is_num;    /* a numeric expression (a let) rather than a condition */
    uint32_t unit; /* pool offset of the result's unit */
};

/* ---------------------------------------------------------------------------
 * Positions.
 */
static int is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

void fc__pos_at(const fc__pos *pos, const char *text, size_t offset, long *line, long *col) {
    *line = pos->line;
    *col = pos->col;
    if (pos->raw == NULL || pos->line <= 0) {
        /* No file text: count within the text itself. */
        long l = pos->line, c = pos->col;
        for (size_t i = 0; i < offset && text[i] != '\0'; i++) {
            if (text[i] == '\n') {
                l++;
                c = 1;
            } else {
                c++;
            }
        }
        *line = l;
        *col = c;
        return;
    }
    /* Find the node's byte in the file. */
    size_t at = 0;
    long l = 1;
    while (at < pos->raw_len && l < pos->line) {
        if (pos->raw[at++] == '\n') {
            l++;
        }
    }
    at += (size_t)(pos->col - 1);
    if (at >= pos->raw_len) {
        return;
    }
    long c = pos->col;
    char first = pos->raw[at];
    if (first == '|' || first == '>') {
        while (at < pos->raw_len && pos->raw[at] != '\n') {
            at++;
        }
    } else if (first == '"' || first == '\'') {
        at++;
        c++;
    }
    /* Walk the text and the file together: the text's non-space bytes appear
     * in the file in the same order; spaces and line breaks may differ
     * (folding, indentation). */
    size_t k = 0;
    for (;;) {
        while (k < offset && is_space(text[k])) {
            k++;
        }
        while (at < pos->raw_len && is_space(pos->raw[at])) {
            if (pos->raw[at] == '\n') {
                l++;
                c = 1;
            } else {
                c++;
            }
            at++;
        }
        if (k >= offset || at >= pos->raw_len || text[k] == '\0') {
            break;
        }
        if (pos->raw[at] == '\\' && text[k] != '\\') {
            at++; /* an escape in a double-quoted scalar */
            c++;
        }
        k++;
        at++;
        c++;
    }
    *line = l;
    *col = c;
}

/* ---------------------------------------------------------------------------
 * Tokens.
 */
typedef enum tok_kind {
    K_END,
    K_NUM,
    K_STR,
    K_NAME,
    K_OP, /* one of + - * / ( ) [ ] , < <= > >= == != */
} tok_kind;

typedef struct token {
    tok_kind kind;
    size_t at, len; /* bytes of the source */
    double num;
} token;

typedef struct parser {
    const char *src;
    size_t len;
    const fc__pos *pos;
    const fc_policy *scope;
    fc_err *err;
    token tok;
    size_t next; /* byte after the current token */
    node nodes[MAX_NODES];
    size_t n;
    /* per node, while compiling */
    size_t start[MAX_NODES], end[MAX_NODES]; /* source bytes of the subexpression */
    const char *unit[MAX_NODES];
    int literal[MAX_NODES]; /* a constant written as such */
    item items[MAX_NODES];
    size_t n_items;
    char pool[4096];
    size_t pool_len;
} parser;

static int fail_at(parser *ps, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail_at(parser *ps, size_t at, const char *fmt, ...) {
    long line, col;
    fc__pos_at(ps->pos, ps->src, at, &line, &col);
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return fc_err_set(ps->err, FC_EINVAL, ps->pos->file, line, col, "%s", msg);
}

static int is_name_start(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_name_char(char c) {
    return is_name_start(c) || (c >= '0' && c <= '9') || c == '.';
}

static int lex(parser *ps) {
    size_t i = ps->next;
    while (i < ps->len && is_space(ps->src[i])) {
        i++;
    }
    token *t = &ps->tok;
    t->at = i;
    t->len = 0;
    t->num = 0;
    if (i >= ps->len) {
        t->kind = K_END;
        ps->next = i;
        return FC_OK;
    }
    char c = ps->src[i];
    if ((c >= '0' && c <= '9') ||
        (c == '.' && i + 1 < ps->len && ps->src[i + 1] >= '0' && ps->src[i + 1] <= '9')) {
        size_t j = i;
        int dots = 0;
        while (j < ps->len && ((ps->src[j] >= '0' && ps->src[j] <= '9') || ps->src[j] == '.')) {
            dots += ps->src[j] == '.';
            j++;
        }
        if (dots > 1 || (j < ps->len && is_name_start(ps->src[j]))) {
            while (j < ps->len && is_name_char(ps->src[j])) {
                j++;
            }
            return fail_at(ps, i, "\"%.*s\" is not a number", (int)(j - i), ps->src + i);
        }
        if (fc_parse_f64(fc_str_make(ps->src + i, j - i), &t->num) != FC_OK) {
            return fail_at(ps, i, "\"%.*s\" is not a number", (int)(j - i), ps->src + i);
        }
        t->kind = K_NUM;
        t->len = j - i;
    } else if (is_name_start(c)) {
        size_t j = i;
        while (j < ps->len && is_name_char(ps->src[j])) {
            j++;
        }
        t->kind = K_NAME;
        t->len = j - i;
    } else if (c == '\'' || c == '"') {
        size_t j = i + 1;
        while (j < ps->len && ps->src[j] != c) {
            j++;
        }
        if (j >= ps->len) {
            return fail_at(ps, i, "the word opened here is not closed with %c", c);
        }
        t->kind = K_STR;
        t->len = j + 1 - i;
    } else {
        static const char *const two[] = {"<=", ">=", "==", "!="};
        t->kind = K_OP;
        t->len = 0;
        for (size_t k = 0; k < 4; k++) {
            if (i + 1 < ps->len && ps->src[i] == two[k][0] && ps->src[i + 1] == two[k][1]) {
                t->len = 2;
            }
        }
        if (t->len == 0) {
            if (strchr("+-*/()[],<>", c) != NULL) {
                t->len = 1;
            } else if (c == '=') {
                return fail_at(ps, i, "\"=\" is not a comparison: write == for \"equals\"");
            } else if (c == '&' || c == '|' || c == '!') {
                return fail_at(ps, i, "\"%c\" is not part of the language: write and, or, not", c);
            } else {
                return fail_at(ps, i, "unexpected character \"%c\"", c);
            }
        }
    }
    ps->next = i + t->len;
    return FC_OK;
}

static int tok_is(const parser *ps, const char *s) {
    size_t n = strlen(s);
    return (ps->tok.kind == K_OP || ps->tok.kind == K_NAME) && ps->tok.len == n &&
           memcmp(ps->src + ps->tok.at, s, n) == 0;
}

static const char *tok_desc(const parser *ps, char *buf, size_t bufsz) {
    if (ps->tok.kind == K_END) {
        snprintf(buf, bufsz, "the end of the condition");
    } else {
        snprintf(buf, bufsz, "\"%.*s\"", (int)(ps->tok.len > 40 ? 40 : ps->tok.len),
                 ps->src + ps->tok.at);
    }
    return buf;
}

static int expect(parser *ps, const char *s, const char *what) {
    if (!tok_is(ps, s)) {
        char buf[64];
        return fail_at(ps, ps->tok.at, "expected %s, found %s", what,
                       tok_desc(ps, buf, sizeof buf));
    }
    return lex(ps);
}

/* ---------------------------------------------------------------------------
 * Building nodes.
 */
static uint32_t pool_add(parser *ps, const char *s, size_t n) {
    if (ps->pool_len + n + 1 > sizeof ps->pool) {
        n = 0; /* the pool is full: the label is empty rather than an error */
        if (ps->pool_len + 1 > sizeof ps->pool) {
            return (uint32_t)(ps->pool_len - 1);
        }
    }
    uint32_t off = (uint32_t)ps->pool_len;
    memcpy(ps->pool + ps->pool_len, s, n);
    ps->pool[ps->pool_len + n] = '\0';
    ps->pool_len += n + 1;
    return off;
}

static int add_node(parser *ps, node_op op, vtype type, size_t start, size_t end, long *out) {
    if (ps->n >= MAX_NODES) {
        return fail_at(ps, start, "the condition is too long (at most %d terms, lets included)",
                       MAX_NODES);
    }
    node *nd = &ps->nodes[ps->n];
    memset(nd, 0, sizeof *nd);
    nd->op = (uint8_t)op;
    nd->type = (uint8_t)type;
    ps->start[ps->n] = start;
    ps->end[ps->n] = end;
    ps->unit[ps->n] = "";
    ps->literal[ps->n] = 0;
    *out = (long)ps->n++;
    return FC_OK;
}

static const char *type_name(vtype t) {
    return t == T_NUM ? "a number" : t == T_TEXT ? "a word" : "a condition";
}

static int need_type(parser *ps, long i, vtype want, const char *ctx) {
    vtype have = (vtype)ps->nodes[i].type;
    if (have == want) {
        return FC_OK;
    }
    return fail_at(ps, ps->start[i], "%s needs %s, not %s (\"%.*s\")", ctx, type_name(want),
                   type_name(have), (int)(ps->end[i] - ps->start[i]), ps->src + ps->start[i]);
}

/* A number used where a condition is expected: allowed for 0/1 facts. */
static int as_condition(parser *ps, long *i, const char *ctx) {
    node *nd = &ps->nodes[*i];
    if (nd->type == T_BOOL) {
        return FC_OK;
    }
    if (nd->type == T_NUM && nd->op == N_FACT && strcmp(fc_fact_unit(nd->ref), "0/1") == 0) {
        long f;
        int rc = add_node(ps, N_FLAG, T_BOOL, ps->start[*i], ps->end[*i], &f);
        if (rc != FC_OK) {
            return rc;
        }
        node *fl = &ps->nodes[f];
        fl->a = (uint16_t)*i;
        fl->label = pool_add(ps, fc_fact_name(nd->ref), strlen(fc_fact_name(nd->ref)));
        fl->unit = pool_add(ps, "", 0);
        *i = f;
        return FC_OK;
    }
    if (nd->type == T_NUM) {
        return fail_at(ps, ps->start[*i],
                       "%s needs a condition, but \"%.*s\" is a number: compare it (for "
                       "example \"%.*s > 0\")",
                       ctx, (int)(ps->end[*i] - ps->start[*i]), ps->src + ps->start[*i],
                       (int)(ps->end[*i] - ps->start[*i]), ps->src + ps->start[*i]);
    }
    return need_type(ps, *i, T_BOOL, ctx);
}

static int parse_or(parser *ps, long *out);
static int parse_sum(parser *ps, long *out);

/* Copy a compiled let's nodes into the expression being built. */
static int inline_let(parser *ps, const fc_cond *let, size_t at, size_t end, long *out) {
    if (ps->n + let->n > MAX_NODES) {
        return fail_at(ps, at, "the condition is too long (at most %d terms, lets included)",
                       MAX_NODES);
    }
    size_t base = ps->n;
    for (size_t i = 0; i < let->n; i++) {
        node nd = let->nodes[i];
        nd.a = (uint16_t)(nd.a + base);
        nd.b = (uint16_t)(nd.b + base);
        ps->nodes[ps->n] = nd;
        ps->start[ps->n] = at;
        ps->end[ps->n] = end;
        ps->unit[ps->n] = "";
        ps->literal[ps->n] = 0;
        ps->n++;
    }
    *out = (long)(ps->n - 1);
    return FC_OK;
}

static int parse_name(parser *ps, long *out) {
    token t = ps->tok;
    const char *name = ps->src + t.at;
    int rc = lex(ps);
    if (rc != FC_OK) {
        return rc;
    }
    /* functions */
    int is_known = t.len == 5 && memcmp(name, "known", 5) == 0;
    int is_min = t.len == 3 && memcmp(name, "min", 3) == 0;
    int is_max = t.len == 3 && memcmp(name, "max", 3) == 0;
    if ((is_known || is_min || is_max) && tok_is(ps, "(")) {
        if ((rc = lex(ps)) != FC_OK) {
            return rc;
        }
        long a, b = -1;
        if ((rc = parse_sum(ps, &a)) != FC_OK) {
            return rc;
        }
        if (is_known) {
            if (ps->nodes[a].type == T_BOOL) {
                return need_type(ps, a, T_NUM, "known()");
            }
        } else {
            if ((rc = need_type(ps, a, T_NUM, is_min ? "min()" : "max()")) != FC_OK ||
                (rc = expect(ps, ",", "\",\" between the two numbers")) != FC_OK ||
                (rc = parse_sum(ps, &b)) != FC_OK ||
                (rc = need_type(ps, b, T_NUM, is_min ? "min()" : "max()")) != FC_OK) {
                return rc;
            }
        }
        size_t end = ps->tok.at + ps->tok.len;
        if ((rc = expect(ps, ")", "\")\"")) != FC_OK) {
            return rc;
        }
        rc = add_node(ps,
                      is_known ? N_KNOWN
                      : is_min ? N_MIN
                               : N_MAX,
                      is_known ? T_BOOL : T_NUM, t.at, end, out);
        if (rc != FC_OK) {
            return rc;
        }
        ps->nodes[*out].a = (uint16_t)a;
        ps->nodes[*out].b = (uint16_t)(b < 0 ? a : b);
        ps->unit[*out] = ps->unit[a][0] != '\0' || b < 0 ? ps->unit[a] : ps->unit[b];
        return FC_OK;
    }
    if (t.len == 4 && memcmp(name, "true", 4) == 0) {
        return add_node(ps, N_TRUE, T_BOOL, t.at, t.at + t.len, out);
    }
    if (t.len == 5 && memcmp(name, "false", 5) == 0) {
        return add_node(ps, N_FALSE, T_BOOL, t.at, t.at + t.len, out);
    }
    int f = fc_fact_find(name, t.len);
    if (f >= 0) {
        rc = add_node(ps, N_FACT, fc_fact_kind_of((size_t)f) == FC_FACT_TEXT ? T_TEXT : T_NUM, t.at,
                      t.at + t.len, out);
        if (rc == FC_OK) {
            ps->nodes[*out].ref = (uint32_t)f;
            ps->unit[*out] = fc_fact_unit((size_t)f);
        }
        return rc;
    }
    fc__named *nm = ps->scope != NULL ? fc__policy_lookup(ps->scope, name, t.len) : NULL;
    if (nm != NULL && !nm->is_let) {
        rc = add_node(ps, N_NUM, T_NUM, t.at, t.at + t.len, out);
        if (rc == FC_OK) {
            ps->nodes[*out].num = nm->value;
            ps->unit[*out] = nm->unit;
        }
        return rc;
    }
    if (nm != NULL) {
        fc_err sub;
        fc_err_clear(&sub);
        if (fc__policy_let(ps->scope, nm, &sub) != FC_OK) {
            if (nm->state == 1 || sub.code == FC_ELIMIT) {
                return fail_at(ps, t.at, "let \"%.*s\" uses itself (through %s)", (int)t.len, name,
                               nm->name);
            }
            if (ps->err != NULL) {
                *ps->err = sub;
            }
            return sub.code != FC_OK ? sub.code : FC_EINVAL;
        }
        rc = inline_let(ps, nm->cond, t.at, t.at + t.len, out);
        if (rc == FC_OK) {
            ps->unit[*out] = nm->unit[0] != '\0' ? nm->unit : fc__cond_unit(nm->cond);
        }
        return rc;
    }
    /* A bare word may stand for itself where a word is compared (capacity ==
     * crowd); parse_cmp turns this marker into a word or reports the name. */
    rc = add_node(ps, N_TEXT, T_TEXT, t.at, t.at + t.len, out);
    if (rc == FC_OK) {
        ps->nodes[*out].text = fc_str_make(name, t.len);
        ps->nodes[*out].label = pool_add(ps, name, t.len);
        ps->nodes[*out].count = 1; /* marker: a bare, unknown name */
        ps->literal[*out] = 1;
    }
    return rc;
}

static int unknown_name(parser *ps, long i) {
    return fail_at(ps, ps->start[i],
                   "unknown name \"%.*s\": not a fact, a let or a value (fulcrum policy facts "
                   "lists the facts)",
                   (int)(ps->end[i] - ps->start[i]), ps->src + ps->start[i]);
}

/* A bare unknown name is only allowed as a word compared to a word. */
static int check_bare(parser *ps, long i) {
    if (ps->nodes[i].op == N_TEXT && ps->nodes[i].count == 1) {
        return unknown_name(ps, i);
    }
    return FC_OK;
}

static int parse_atom(parser *ps, long *out) {
    token t = ps->tok;
    int rc;
    if (t.kind == K_NUM) {
        if ((rc = add_node(ps, N_NUM, T_NUM, t.at, t.at + t.len, out)) != FC_OK) {
            return rc;
        }
        ps->nodes[*out].num = t.num;
        ps->literal[*out] = 1;
        return lex(ps);
    }
    if (t.kind == K_STR) {
        if ((rc = add_node(ps, N_TEXT, T_TEXT, t.at, t.at + t.len, out)) != FC_OK) {
            return rc;
        }
        ps->nodes[*out].text = fc_str_make(ps->src + t.at + 1, t.len - 2);
        ps->nodes[*out].label = pool_add(ps, ps->src + t.at + 1, t.len - 2);
        ps->literal[*out] = 1;
        return lex(ps);
    }
    if (t.kind == K_NAME) {
        static const char *const reserved[] = {"and", "or", "not", "in"};
        for (size_t k = 0; k < 4; k++) {
            if (tok_is(ps, reserved[k])) {
                return fail_at(ps, t.at, "expected a fact, a number or \"(\", found \"%s\"",
                               reserved[k]);
            }
        }
        return parse_name(ps, out);
    }
    if (tok_is(ps, "(")) {
        if ((rc = lex(ps)) != FC_OK || (rc = parse_or(ps, out)) != FC_OK) {
            return rc;
        }
        size_t end = ps->tok.at + ps->tok.len;
        if ((rc = expect(ps, ")", "\")\" to close the \"(\"")) != FC_OK) {
            return rc;
        }
        ps->start[*out] = t.at;
        ps->end[*out] = end;
        return FC_OK;
    }
    char buf[64];
    return fail_at(ps, t.at, "expected a fact, a number or \"(\", found %s",
                   tok_desc(ps, buf, sizeof buf));
}

static int parse_unary(parser *ps, long *out) {
    if (tok_is(ps, "-")) {
        size_t at = ps->tok.at;
        long a;
        int rc = lex(ps);
        if (rc != FC_OK || (rc = parse_unary(ps, &a)) != FC_OK ||
            (rc = check_bare(ps, a)) != FC_OK || (rc = need_type(ps, a, T_NUM, "\"-\"")) != FC_OK) {
            return rc;
        }
        if ((rc = add_node(ps, N_NEG, T_NUM, at, ps->end[a], out)) != FC_OK) {
            return rc;
        }
        ps->nodes[*out].a = (uint16_t)a;
        ps->unit[*out] = ps->unit[a];
        ps->literal[*out] = ps->literal[a];
        return FC_OK;
    }
    return parse_atom(ps, out);
}

static int arith(parser *ps, long a, long b, size_t op_at, char op, long *out) {
    int rc;
    const node *na = &ps->nodes[a], *nb = &ps->nodes[b];
    if ((rc = check_bare(ps, a)) != FC_OK || (rc = check_bare(ps, b)) != FC_OK) {
        return rc;
    }
    if (na->type != T_NUM || nb->type != T_NUM) {
        long bad = na->type != T_NUM ? a : b;
        return fail_at(ps, op_at, "\"%c\" needs numbers on both sides, but \"%.*s\" is %s", op,
                       (int)(ps->end[bad] - ps->start[bad]), ps->src + ps->start[bad],
                       type_name((vtype)ps->nodes[bad].type));
    }
    node_op nop = op == '+' ? N_ADD : op == '-' ? N_SUB : op == '*' ? N_MUL : N_DIV;
    if ((rc = add_node(ps, nop, T_NUM, ps->start[a], ps->end[b], out)) != FC_OK) {
        return rc;
    }
    ps->nodes[*out].a = (uint16_t)a;
    ps->nodes[*out].b = (uint16_t)b;
    const char *ua = ps->unit[a], *ub = ps->unit[b];
    if (nop == N_ADD || nop == N_SUB) {
        ps->unit[*out] = ua[0] != '\0' ? ua : ub;
    } else {
        ps->unit[*out] = ub[0] == '\0' ? ua : ua[0] == '\0' && nop == N_MUL ? ub : "";
    }
    return FC_OK;
}

static int parse_prod(parser *ps, long *out) {
    int rc = parse_unary(ps, out);
    while (rc == FC_OK && (tok_is(ps, "*") || tok_is(ps, "/"))) {
        char op = ps->src[ps->tok.at];
        size_t op_at = ps->tok.at;
        long b;
        if ((rc = lex(ps)) != FC_OK || (rc = parse_unary(ps, &b)) != FC_OK) {
            return rc;
        }
        rc = arith(ps, *out, b, op_at, op, out);
    }
    return rc;
}

static int parse_sum(parser *ps, long *out) {
    int rc = parse_prod(ps, out);
    while (rc == FC_OK && (tok_is(ps, "+") || tok_is(ps, "-"))) {
        char op = ps->src[ps->tok.at];
        size_t op_at = ps->tok.at;
        long b;
        if ((rc = lex(ps)) != FC_OK || (rc = parse_prod(ps, &b)) != FC_OK) {
            return rc;
        }
        rc = arith(ps, *out, b, op_at, op, out);
    }
    return rc;
}

/* A word compared with a text fact: check it is one the fact can take. */
static int check_word(parser *ps, long fact_node, long word_node) {
    const node *f = &ps->nodes[fact_node], *w = &ps->nodes[word_node];
    if (f->op != N_FACT || w->op != N_TEXT) {
        return FC_OK;
    }
    const char *const *words = fc__fact_words(f->ref);
    if (words == NULL) {
        return FC_OK;
    }
    for (size_t k = 0; words[k] != NULL; k++) {
        if (fc_str_eqc(w->text, words[k])) {
            return FC_OK;
        }
    }
    char list[200] = "";
    size_t used = 0;
    for (size_t k = 0; words[k] != NULL && words[k][0] != '\0'; k++) {
        int n = snprintf(list + used, sizeof list - used, "%s%s", k ? ", " : "", words[k]);
        if (n < 0 || (size_t)n >= sizeof list - used) {
            break;
        }
        used += (size_t)n;
    }
    return fail_at(ps, ps->start[word_node], "%s is never \"%.*s\" (it is one of: %s)",
                   fc_fact_name(f->ref), (int)w->text.n, w->text.p, list);
}

static void set_label(parser *ps, node *nd, long left, long right) {
    size_t n = ps->end[left] - ps->start[left];
    if (n > 47) {
        n = 47;
    }
    nd->label = pool_add(ps, ps->src + ps->start[left], n);
    if (right >= 0 && !ps->literal[right]) {
        size_t m = ps->end[right] - ps->start[right];
        nd->against = pool_add(ps, ps->src + ps->start[right], m > 47 ? 47 : m);
    } else {
        nd->against = pool_add(ps, "", 0);
    }
    const char *u = ps->unit[left][0] != '\0' ? ps->unit[left] : right >= 0 ? ps->unit[right] : "";
    nd->unit = pool_add(ps, u, strlen(u) > 11 ? 11 : strlen(u));
}

static int parse_in(parser *ps, long left, long *out) {
    size_t in_at = ps->tok.at;
    int rc = lex(ps);
    if (rc != FC_OK || (rc = expect(ps, "[", "\"[\" to open the list")) != FC_OK) {
        return rc;
    }
    if ((rc = check_bare(ps, left)) != FC_OK) {
        return rc;
    }
    vtype lt = (vtype)ps->nodes[left].type;
    if (lt == T_BOOL) {
        return fail_at(ps, in_at, "\"in\" needs a number or a word on its left, not a condition");
    }
    size_t first = ps->n_items;
    char detail[64];
    size_t dlen = (size_t)snprintf(detail, sizeof detail, "in [");
    for (;;) {
        token t = ps->tok;
        item it = {0, 0, 0, 0};
        if (t.kind == K_NUM || (tok_is(ps, "-") && lt == T_NUM)) {
            int neg = 0;
            if (tok_is(ps, "-")) {
                neg = 1;
                if ((rc = lex(ps)) != FC_OK) {
                    return rc;
                }
                if (ps->tok.kind != K_NUM) {
                    return fail_at(ps, ps->tok.at, "expected a number after \"-\"");
                }
            }
            if (lt != T_NUM) {
                return fail_at(ps, t.at, "the list holds a number, but \"%.*s\" is a word",
                               (int)(ps->end[left] - ps->start[left]), ps->src + ps->start[left]);
            }
            it.num = neg ? -ps->tok.num : ps->tok.num;
        } else if (t.kind == K_STR || t.kind == K_NAME) {
            if (lt != T_TEXT) {
                if (t.kind == K_NAME) {
                    return fail_at(ps, t.at,
                                   "a list after \"in\" holds numbers or words, not "
                                   "names (\"%.*s\")",
                                   (int)t.len, ps->src + t.at);
                }
                return fail_at(ps, t.at, "the list holds a word, but \"%.*s\" is a number",
                               (int)(ps->end[left] - ps->start[left]), ps->src + ps->start[left]);
            }
            size_t off = t.kind == K_STR ? t.at + 1 : t.at;
            size_t len = t.kind == K_STR ? t.len - 2 : t.len;
            /* check the word like a comparison would */
            long w;
            if ((rc = add_node(ps, N_TEXT, T_TEXT, t.at, t.at + t.len, &w)) != FC_OK) {
                return rc;
            }
            ps->nodes[w].text = fc_str_make(ps->src + off, len);
            rc = check_word(ps, left, w);
            ps->n--; /* the node was only for the check */
            if (rc != FC_OK) {
                return rc;
            }
            it.is_text = 1;
            it.text_off = pool_add(ps, ps->src + off, len);
            it.text_len = (uint32_t)len;
        } else {
            char buf[64];
            return fail_at(ps, t.at, "expected a number or a word in the list, found %s",
                           tok_desc(ps, buf, sizeof buf));
        }
        if (ps->n_items >= MAX_NODES) {
            return fail_at(ps, t.at, "the list is too long");
        }
        ps->items[ps->n_items++] = it;
        size_t shown = t.kind == K_STR ? t.len - 2 : t.len;
        const char *sp = t.kind == K_STR ? ps->src + t.at + 1 : ps->src + t.at;
        if (dlen < sizeof detail) {
            int w = snprintf(detail + dlen, sizeof detail - dlen, "%s%.*s",
                             ps->n_items - 1 > first ? ", " : "", (int)shown, sp);
            dlen += w > 0 ? (size_t)w : 0;
        }
        if ((rc = lex(ps)) != FC_OK) {
            return rc;
        }
        if (tok_is(ps, ",")) {
            if ((rc = lex(ps)) != FC_OK) {
                return rc;
            }
            continue;
        }
        break;
    }
    size_t end = ps->tok.at + ps->tok.len;
    if ((rc = expect(ps, "]", "\",\" or \"]\" in the list")) != FC_OK) {
        return rc;
    }
    if (dlen + 1 < sizeof detail) {
        detail[dlen++] = ']';
        detail[dlen] = '\0';
    } else {
        memcpy(detail + sizeof detail - 5, "...]", 5);
        dlen = sizeof detail - 1;
    }
    if ((rc = add_node(ps, N_IN, T_BOOL, ps->start[left], end, out)) != FC_OK) {
        return rc;
    }
    node *nd = &ps->nodes[*out];
    nd->a = (uint16_t)left;
    nd->ref = (uint32_t)first;
    nd->count = (uint16_t)(ps->n_items - first);
    nd->detail = pool_add(ps, detail, dlen);
    set_label(ps, nd, left, -1);
    return FC_OK;
}

static int parse_cmp(parser *ps, long *out) {
    long a;
    int rc = parse_sum(ps, &a);
    if (rc != FC_OK) {
        return rc;
    }
    if (tok_is(ps, "in")) {
        return parse_in(ps, a, out);
    }
    int op = -1;
    for (int k = 0; k < 6; k++) {
        if (ps->tok.kind == K_OP && tok_is(ps, cmp_text[k])) {
            op = k;
        }
    }
    if (op < 0) {
        *out = a;
        return check_bare(ps, a);
    }
    size_t op_at = ps->tok.at;
    long b;
    if ((rc = lex(ps)) != FC_OK || (rc = parse_sum(ps, &b)) != FC_OK) {
        return rc;
    }
    node *na = &ps->nodes[a], *nb = &ps->nodes[b];
    int bare_a = na->op == N_TEXT && na->count == 1, bare_b = nb->op == N_TEXT && nb->count == 1;
    /* a bare name is a word only opposite a word fact */
    if (bare_a && (bare_b || nb->type != T_TEXT)) {
        return unknown_name(ps, a);
    }
    if (bare_b && na->type != T_TEXT) {
        return unknown_name(ps, b);
    }
    if (na->type == T_BOOL || nb->type == T_BOOL) {
        long bad = na->type == T_BOOL ? a : b;
        return fail_at(ps, op_at, "\"%s\" compares numbers or words, not conditions (\"%.*s\")",
                       cmp_text[op], (int)(ps->end[bad] - ps->start[bad]),
                       ps->src + ps->start[bad]);
    }
    if (na->type != nb->type) {
        return fail_at(ps, op_at, "\"%s\" compares a word with a number (\"%.*s\" and \"%.*s\")",
                       cmp_text[op], (int)(ps->end[a] - ps->start[a]), ps->src + ps->start[a],
                       (int)(ps->end[b] - ps->start[b]), ps->src + ps->start[b]);
    }
    if (na->type == T_TEXT && op != C_EQ && op != C_NE) {
        return fail_at(ps, op_at,
                       "a word (\"%.*s\") cannot be compared with \"%s\": words take == or != "
                       "only",
                       (int)(ps->end[a] - ps->start[a]), ps->src + ps->start[a], cmp_text[op]);
    }
    if (na->type == T_TEXT) {
        if ((rc = check_word(ps, a, b)) != FC_OK || (rc = check_word(ps, b, a)) != FC_OK) {
            return rc;
        }
        ps->nodes[a].count = 0;
        ps->nodes[b].count = 0;
    }
    if ((rc = add_node(ps, N_CMP, T_BOOL, ps->start[a], ps->end[b], out)) != FC_OK) {
        return rc;
    }
    node *nd = &ps->nodes[*out];
    nd->a = (uint16_t)a;
    nd->b = (uint16_t)b;
    nd->cmp = (uint8_t)op;
    set_label(ps, nd, a, b);
    return FC_OK;
}

static int parse_not(parser *ps, long *out) {
    if (tok_is(ps, "not") && ps->tok.kind == K_NAME) {
        size_t at = ps->tok.at;
        long a;
        int rc = lex(ps);
        if (rc != FC_OK || (rc = parse_not(ps, &a)) != FC_OK ||
            (rc = as_condition(ps, &a, "\"not\"")) != FC_OK) {
            return rc;
        }
        if ((rc = add_node(ps, N_NOT, T_BOOL, at, ps->end[a], out)) != FC_OK) {
            return rc;
        }
        ps->nodes[*out].a = (uint16_t)a;
        return FC_OK;
    }
    return parse_cmp(ps, out);
}

static int parse_logic(parser *ps, long *out, const char *word, int (*sub)(parser *, long *),
                       node_op op) {
    int rc = sub(ps, out);
    while (rc == FC_OK && tok_is(ps, word) && ps->tok.kind == K_NAME) {
        long b;
        char ctx[16];
        snprintf(ctx, sizeof ctx, "\"%s\"", word);
        if ((rc = as_condition(ps, out, ctx)) != FC_OK || (rc = lex(ps)) != FC_OK ||
            (rc = sub(ps, &b)) != FC_OK || (rc = as_condition(ps, &b, ctx)) != FC_OK) {
            return rc;
        }
        long a = *out;
        if ((rc = add_node(ps, op, T_BOOL, ps->start[a], ps->end[b], out)) != FC_OK) {
            return rc;
        }
        ps->nodes[*out].a = (uint16_t)a;
        ps->nodes[*out].b = (uint16_t)b;
    }
    return rc;
}

static int parse_and(parser *ps, long *out) {
    return parse_logic(ps, out, "and", parse_not, N_AND);
}

static int parse_or(parser *ps, long *out) {
    return parse_logic(ps, out, "or", parse_and, N_OR);
}

/* ---------------------------------------------------------------------------
 * Compile.
 */
static void copy_label(char *dst, size_t dstsz, const char *src) {
    size_t n = strlen(src);
    if (n >= dstsz) {
        n = dstsz - 1;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}
const char *fc__unit_of_name(const char *name, size_t len) {
    static const struct {
        const char *suffix, *unit;
    } suffixes[] = {{"_min", "min"}, {"_m", "m"}, {"_days", "days"},
                    {"_h", "h"},     {"_s", "s"}, {"_count", "count"}};
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        size_t n = strlen(suffixes[i].suffix);
        if (len > n && memcmp(name + len - n, suffixes[i].suffix, n) == 0) {
            return suffixes[i].unit;
        }
    }
    return "";
}

int fc__cond_compile(const char *src, const fc_policy *scope, const fc__pos *pos, int want_num,
                     fc_cond **out, fc_err *err) {
    *out = NULL;
    fc_cond *c = NULL;
    parser *ps = fc_calloc(1, sizeof *ps);
    int rc = FC_ENOMEM;
    if (ps == NULL) {
        goto out;
    }
    ps->src = src != NULL ? src : "";
    ps->len = strlen(ps->src);
    ps->pos = pos;
    ps->scope = scope;
    ps->err = err;
    pool_add(ps, "", 0);
    long root;
    if ((rc = lex(ps)) != FC_OK) {
        goto out;
    }
    if (ps->tok.kind == K_END) {
        rc = fail_at(ps, 0, "the %s is empty", want_num ? "expression" : "condition");
        goto out;
    }
    if ((rc = want_num ? parse_sum(ps, &root) : parse_or(ps, &root)) != FC_OK) {
        goto out;
    }
    if (ps->tok.kind != K_END) {
        char buf[64];
        rc = fail_at(ps, ps->tok.at, "expected %s, found %s",
                     want_num ? "an operator (+ - * /) or the end"
                              : "\"and\", \"or\", a comparison or the end",
                     tok_desc(ps, buf, sizeof buf));
        goto out;
    }
    if (want_num) {
        if ((rc = check_bare(ps, root)) != FC_OK ||
            (rc = need_type(ps, root, T_NUM, "a let")) != FC_OK) {
            goto out;
        }
    } else if ((rc = as_condition(ps, &root, "a rule's \"when\"")) != FC_OK) {
        goto out;
    }
    if ((size_t)root + 1 != ps->n) {
        rc = fc_err_set(err, FC_EINTERNAL, pos->file, pos->line, pos->col,
                        "condition root is not the last node");
        goto out;
    }
    /* which comparisons sit under an odd number of `not` */
    for (size_t i = ps->n; i-- > 0;) {
        node *nd = &ps->nodes[i];
        uint8_t neg = (uint8_t)(nd->neg ^ (nd->op == N_NOT));
        switch ((node_op)nd->op) {
        case N_ADD:
        case N_SUB:
        case N_MUL:
        case N_DIV:
        case N_MIN:
        case N_MAX:
        case N_CMP:
        case N_AND:
        case N_OR:
            ps->nodes[nd->b].neg = neg;
            ps->nodes[nd->a].neg = neg;
            break;
        case N_NEG:
        case N_KNOWN:
        case N_IN:
        case N_FLAG:
        case N_NOT:
            ps->nodes[nd->a].neg = neg;
            break;
        default:
            break;
        }
    }
    rc = FC_ENOMEM;
    c = fc_calloc(1, sizeof *c);
    if (c == NULL) {
        goto out;
    }
    uint32_t unit = pool_add(ps, ps->unit[root], strlen(ps->unit[root]));
    c->nodes = fc_malloc(ps->n * sizeof *c->nodes);
    c->items = fc_malloc((ps->n_items + 1) * sizeof *c->items);
    c->pool = fc_malloc(ps->pool_len);
    if (c->nodes == NULL || c->items == NULL || c->pool == NULL) {
        goto out;
    }
    c->n = ps->n;
    c->n_items = ps->n_items;
    c->pool_len = ps->pool_len;
    c->is_num = want_num;
    c->unit = unit;
    memcpy(c->pool, ps->pool, ps->pool_len);
    memcpy(c->items, ps->items, ps->n_items * sizeof *c->items);
    memcpy(c->nodes, ps->nodes, ps->n * sizeof *c->nodes);
    /* words point into the pool, not the source */
    for (size_t i = 0; i < c->n; i++) {
        node *nd = &c->nodes[i];
        if (nd->op == N_TEXT) {
            nd->text = fc_str_make(c->pool + nd->label, nd->text.n);
        }
    }
    /* Evidence templates: the words of each comparison, copied once here
     * rather than at every evaluation. */
    for (size_t i = 0; i < c->n; i++) {
        node_op op = (node_op)c->nodes[i].op;
        c->n_tmpl += op == N_CMP || op == N_IN || op == N_FLAG;
    }
    c->tmpl = fc_calloc(c->n_tmpl + 1, sizeof *c->tmpl);
    if (c->tmpl == NULL) {
        goto out;
    }
    for (size_t i = 0, t = 0; i < c->n; i++) {
        node *nd = &c->nodes[i];
        if (nd->op != N_CMP && nd->op != N_IN && nd->op != N_FLAG) {
            continue;
        }
        fc_evidence *e = &c->tmpl[t];
        copy_label(e->fact, sizeof e->fact, c->pool + nd->label);
        copy_label(e->unit, sizeof e->unit, c->pool + nd->unit);
        copy_label(e->op, sizeof e->op,
                   nd->op == N_IN     ? "in"
                   : nd->op == N_FLAG ? "=="
                                      : cmp_text[nd->cmp]);
        copy_label(e->detail, sizeof e->detail, nd->op == N_IN ? c->pool + nd->detail : "");
        copy_label(e->against, sizeof e->against, nd->op == N_CMP ? c->pool + nd->against : "");
        e->negated = nd->neg;
        nd->label = (uint32_t)t++; /* from here on: the template's index */
    }
    *out = c;
    c = NULL;
    rc = FC_OK;
out:
    fc_cond_free(c);
    fc_free(ps);
    return rc;
}

int fc_cond_compile(const char *src, const fc_policy *scope, const char *file, long line, long col,
                    fc_cond **out, fc_err *err) {
    fc__pos pos = {file, line, col, NULL, 0};
    return fc__cond_compile(src, scope, &pos, 0, out, err);
}

void fc_cond_free(fc_cond *c) {
    if (c == NULL) {
        return;
    }
    fc_free(c->nodes);
    fc_free(c->items);
    fc_free(c->pool);
    fc_free(c->tmpl);
    fc_free(c);
}

const char *fc__cond_unit(const fc_cond *c) {
    return c->pool + c->unit;
}

/* ---------------------------------------------------------------------------
 * Evaluate.
 */
typedef struct slot {
    double num;
    fc_str text;
    uint8_t absent;
    uint8_t truth;
} slot;

static fc_value to_value(const slot *s, vtype t) {
    fc_value v;
    v.kind = t == T_TEXT ? FC_FACT_TEXT : FC_FACT_NUM;
    v.absent = s->absent;
    v.num = s->num;
    v.text = s->text;
    return v;
}

static void record(const fc_cond *c, const node *nd, const slot *a, const fc_value *threshold,
                   int held, double margin, fc_evidence *ev, size_t *n_ev, size_t *n_seen) {
    if (n_seen != NULL) {
        (*n_seen)++;
    }
    if (ev == NULL || n_ev == NULL || *n_ev >= FC_EVIDENCE_MAX) {
        return;
    }
    fc_evidence *e = &ev[(*n_ev)++];
    *e = c->tmpl[nd->label];
    e->value = to_value(a, (vtype)c->nodes[nd->a].type);
    e->threshold = *threshold;
    e->held = held;
    e->margin = margin;
}

static int compare(cmp_op op, const slot *a, const slot *b, vtype t, double *margin) {
    if (t == T_TEXT) {
        int eq = fc_str_eq(a->text, b->text);
        *margin = 0;
        return op == C_EQ ? eq : !eq;
    }
    double d = fabs(a->num - b->num);
    switch (op) {
    case C_LT:
        *margin = d;
        return a->num < b->num;
    case C_LE:
        *margin = d;
        return a->num <= b->num;
    case C_GT:
        *margin = d;
        return a->num > b->num;
    case C_GE:
        *margin = d;
        return a->num >= b->num;
    case C_EQ:
        *margin = a->num == b->num ? 0 : d;
        return a->num == b->num;
    case C_NE:
        *margin = a->num != b->num ? d : 0;
        return a->num != b->num;
    }
    return 0;
}

/* Run the nodes; the result is in slots[n - 1]. */
static void run(const fc_cond *c, const fc_policy_input *in, slot *v, fc_evidence *ev, size_t *n_ev,
                size_t *n_seen) {
    for (size_t i = 0; i < c->n; i++) {
        const node *nd = &c->nodes[i];
        slot *s = &v[i];
        const slot *a = &v[nd->a], *b = &v[nd->b];
        s->num = 0;
        s->text = FC_STR_NULL;
        s->absent = 0;
        s->truth = 0;
        switch ((node_op)nd->op) {
        case N_NUM:
            s->num = nd->num;
            break;
        case N_TEXT:
            s->text = nd->text;
            break;
        case N_FACT: {
            fc_value fv = fc_fact_value(nd->ref, in);
            s->num = fv.num;
            s->text = fv.text;
            s->absent = (uint8_t)fv.absent;
            break;
        }
        case N_NEG:
            s->absent = a->absent;
            s->num = -a->num;
            break;
        case N_ADD:
        case N_SUB:
        case N_MUL:
        case N_DIV:
        case N_MIN:
        case N_MAX:
            s->absent = a->absent || b->absent;
            if (s->absent) {
                break;
            }
            switch ((node_op)nd->op) {
            case N_ADD:
                s->num = a->num + b->num;
                break;
            case N_SUB:
                s->num = a->num - b->num;
                break;
            case N_MUL:
                s->num = a->num * b->num;
                break;
            case N_DIV:
                s->absent = b->num == 0;
                s->num = s->absent ? 0 : a->num / b->num;
                break;
            case N_MIN:
                s->num = a->num < b->num ? a->num : b->num;
                break;
            default:
                s->num = a->num > b->num ? a->num : b->num;
                break;
            }
            break;
        case N_KNOWN:
            s->truth = !a->absent && (c->nodes[nd->a].type != T_TEXT || a->text.n > 0);
            break;
        case N_CMP: {
            vtype t = (vtype)c->nodes[nd->a].type;
            fc_value thr = to_value(b, t);
            double margin = 0;
            int held = 0;
            if (!a->absent && !b->absent) {
                held = compare((cmp_op)nd->cmp, a, b, t, &margin);
            }
            s->truth = (uint8_t)held;
            record(c, nd, a, &thr, held, margin, ev, n_ev, n_seen);
            break;
        }
        case N_IN: {
            vtype t = (vtype)c->nodes[nd->a].type;
            int held = 0;
            double margin = 0;
            fc_value thr = {t == T_TEXT ? FC_FACT_TEXT : FC_FACT_NUM, 0, 0, FC_STR_NULL};
            for (size_t k = 0; k < nd->count; k++) {
                const item *it = &c->items[nd->ref + k];
                if (k == 0) {
                    thr.num = it->num;
                    thr.text = fc_str_make(c->pool + it->text_off, it->text_len);
                }
                if (a->absent) {
                    continue;
                }
                if (t == T_TEXT) {
                    held |= fc_str_eq(a->text, fc_str_make(c->pool + it->text_off, it->text_len));
                } else {
                    double d = fabs(a->num - it->num);
                    held |= d == 0;
                    margin = k == 0 || d < margin ? d : margin;
                }
            }
            if (held || t == T_TEXT || a->absent) {
                margin = 0;
            }
            s->truth = (uint8_t)held;
            record(c, nd, a, &thr, held, margin, ev, n_ev, n_seen);
            break;
        }
        case N_FLAG: {
            fc_value one = {FC_FACT_NUM, 0, 1, FC_STR_NULL};
            int held = !a->absent && a->num != 0;
            s->truth = (uint8_t)held;
            record(c, nd, a, &one, held, a->absent ? 0 : fabs(a->num - 1), ev, n_ev, n_seen);
            break;
        }
        case N_AND:
            s->truth = a->truth && b->truth;
            break;
        case N_OR:
            s->truth = a->truth || b->truth;
            break;
        case N_NOT:
            s->truth = !a->truth;
            break;
        case N_TRUE:
            s->truth = 1;
            break;
        case N_FALSE:
            break;
        }
    }
}

int fc_cond_eval(const fc_cond *c, const fc_policy_input *in, fc_evidence *ev, size_t *n_ev,
                 size_t *n_seen) {
    if (c == NULL || c->n == 0 || in == NULL || in->facts == NULL) {
        return 0;
    }
    slot v[MAX_NODES];
    run(c, in, v, ev, n_ev, n_seen);
    return v[c->n - 1].truth;
}

fc_value fc__cond_num(const fc_cond *c, const fc_policy_input *in) {
    fc_value out = {FC_FACT_NUM, 1, 0, FC_STR_NULL};
    if (c == NULL || c->n == 0 || in == NULL || in->facts == NULL) {
        return out;
    }
    slot v[MAX_NODES];
    run(c, in, v, NULL, NULL, NULL);
    out.absent = v[c->n - 1].absent;
    out.num = v[c->n - 1].num;
    return out;
}
