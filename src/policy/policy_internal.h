/*
 * Internals shared by the files of the policy module (fc__ prefix).
 */
#ifndef FC_POLICY_INTERNAL_H
#define FC_POLICY_INTERNAL_H

#include "policy/policy.h"

/* Where a piece of text (a condition, a template) sits in its file, so an
 * error at byte k of the text can name the file's line and column. `raw` is
 * the whole file (may be NULL: then columns count from line/col). */
typedef struct fc__pos {
    const char *file;
    long line, col; /* of the YAML node holding the text */
    const char *raw;
    size_t raw_len;
} fc__pos;

/* Line and column in the file of byte `offset` of `text`, the value of the
 * node at pos (plain, quoted or block scalar). */
void fc__pos_at(const fc__pos *pos, const char *text, size_t offset, long *line, long *col);

/* A name a policy defines for its conditions: a number of `values:` (or an
 * `on_time:` key) or a `let:` expression. */
typedef struct fc__named {
    const char *name;
    const char *unit; /* from the name's suffix: "min", "m", "days", ... or "" */
    int is_let;
    double value;    /* values */
    const char *src; /* let: the expression */
    fc__pos pos;     /* let: where it is written */
    fc_cond *cond;   /* let: compiled (owned by the policy) */
    int state;       /* let: 0 not compiled, 1 compiling, 2 done, -1 failed */
} fc__named;

/* The name `name` of a policy (values, on_time keys, lets), NULL when none. */
fc__named *fc__policy_lookup(const fc_policy *p, const char *name, size_t len);
/* Compile a let on first use (lets may use lets): FC_OK, or an error (a cycle
 * of lets, an error in its expression) in err. */
int fc__policy_let(const fc_policy *p, fc__named *let, fc_err *err);

/* Compile with full position information. `want_num`: the expression must be a
 * number (a let) instead of a condition. */
int fc__cond_compile(const char *src, const fc_policy *scope, const fc__pos *pos, int want_num,
                     fc_cond **out, fc_err *err);
/* Value of a numeric compiled expression (a let). */
fc_value fc__cond_num(const fc_cond *c, const fc_policy_input *in);
/* The unit of a compiled expression's result ("" when unknown). */
const char *fc__cond_unit(const fc_cond *c);

/* Unit a name's suffix implies. Static string. */
const char *fc__unit_of_name(const char *name, size_t len);

/* Words a text fact can take (NULL-terminated), NULL when any. */
const char *const *fc__fact_words(size_t i);

#endif
