/*
 * policy: responsibility policies as data. Loading and validating policy
 * files (YAML), inheritance base -> country -> city, versions, the rule
 * condition language, and the named order facts conditions may use.
 *
 * A policy pack is a folder of YAML files: one base policy (no `inherits`),
 * country policies (`inherits: <base id>`, `scope: {country: SA}`) and city
 * policies (`inherits: <country or base id>`, `scope: {city: riyadh}`).
 * docs/policy.md documents the format; policies/ holds the default pack.
 *
 * Loading does I/O; everything else here is pure. A loaded fc_policy and
 * fc_policy_pack are immutable and may be shared between threads.
 */
#ifndef FC_POLICY_H
#define FC_POLICY_H

#include "core/core.h"
#include "order/order.h"

/* ---------------------------------------------------------------------------
 * Named order facts: what a rule condition can read. Each fact has a name
 * (snake_case with its unit: lateness_min, delivered_far_m), a kind and a
 * value computed from an order's facts plus its context (fc_policy_input).
 * The list is fixed in code (policy.c's fact table) and printed by
 * `fulcrum policy facts`; docs/policy.md lists every fact.
 */
typedef enum fc_fact_kind {
    FC_FACT_NUM = 0, /* a number (minutes, metres, counts, 0/1 flags) */
    FC_FACT_TEXT,    /* a short word: capacity, merchant_kind, status... */
} fc_fact_kind;

/* Everything a condition may read about one order: its folded facts and the
 * context the fold does not know (from reference data and other orders). */
typedef struct fc_policy_input {
    const fc_order_facts *facts; /* required */
    fc_str country;              /* ISO 3166 code of the order's city */
    fc_str capacity;             /* rider capacity: full_time / part_time / crowd, or empty */
    fc_str merchant_kind;        /* fast_food / restaurant / grocery / pharmacy ..., or empty */
    fc_str zone_kind;            /* business_district / residential / office / mixed, or empty */
    int32_t stacked_orders;      /* other orders the rider carried between this order's
                                    pickup and delivery; FC_INT_NONE unknown */
    int32_t dispatch_outage;     /* 1 when the order was created inside a dispatch outage
                                    window known to the platform, 0 not, FC_INT_NONE unknown */
} fc_policy_input;

/* A value: number (absent when `absent` is set) or text. */
typedef struct fc_value {
    fc_fact_kind kind;
    int absent; /* the fact is unknown for this order (e.g. no pickup instant) */
    double num;
    fc_str text;
} fc_value;

/* Number of named facts, and each one's name, kind, unit ("min", "m",
 * "count", "days", "level", "", ...) and one-line description. */
size_t fc_fact_count(void);
const char *fc_fact_name(size_t i);
fc_fact_kind fc_fact_kind_of(size_t i);
const char *fc_fact_unit(size_t i);
const char *fc_fact_doc(size_t i);
/* Index of a fact by name, or -1. */
int fc_fact_find(const char *name, size_t len);
/* Value of fact i for an order. Pure. */
fc_value fc_fact_value(size_t i, const fc_policy_input *in);

/* ---------------------------------------------------------------------------
 * Conditions: a small expression language over named facts, numbers and
 * words, compiled once when the policy loads.
 *
 *   expr := or
 *   or   := and ('or' and)*
 *   and  := not ('and' not)*
 *   not  := 'not' not | cmp
 *   cmp  := sum (('<' | '<=' | '>' | '>=' | '==' | '!=') sum)?
 *         | sum 'in' '[' atom (',' atom)* ']'
 *   sum  := prod (('+' | '-') prod)*
 *   prod := unary (('*' | '/') unary)*
 *   unary:= '-' unary | atom
 *   atom := NUMBER | 'word' | "word" | NAME | NAME '(' expr ')' | 'true' | 'false' | '(' expr ')'
 *
 * NAME is a named fact, a name the policy defines under `let:` (a numeric
 * expression of facts, such as a travel allowance), or a number of the
 * policy's `values:`. Functions: known(x) is true when fact x is present;
 * min(a, b), max(a, b). A comparison with an absent operand is false (and
 * `!=` too); `not` of it is true. Type errors (a word compared with `<`,
 * a word added to a number, an unknown name) are refused at load time with
 * the file, line and column of the offending token.
 */
typedef struct fc_cond fc_cond;

/* Compile `src` (from file `file`, the condition starting at line/col, for
 * error positions). `lets` are the policy's named expressions and values
 * visible to it (may be NULL when there are none). *out is caller-freed
 * with fc_cond_free. */
typedef struct fc_policy fc_policy;
int fc_cond_compile(const char *src, const fc_policy *scope, const char *file, long line, long col,
                    fc_cond **out, fc_err *err);
void fc_cond_free(fc_cond *c); /* NULL is a no-op */

/* One comparison met while evaluating a condition: the evidence a decision
 * shows. `fact` is the left side's text as written (a fact or let name, or
 * the expression); `threshold` the right side's value; `margin` how far the
 * comparison is from flipping, in the fact's unit (>= 0; 0 when it holds or
 * fails by the smallest step). */
typedef struct fc_evidence {
    char fact[48];
    char unit[12];
    char op[4]; /* "<", "<=", ">", ">=", "==", "!=", "in" */
    fc_value value;
    fc_value threshold; /* for "in": text of the first element; see `detail` */
    int held;           /* the comparison was true */
    double margin;      /* distance to flipping, in unit; meaningful for numbers */
    char detail[64];    /* "in [crowd, part_time]" and such; "" otherwise */
    char against[48];   /* the right side as written when it is a name or an expression
                           (travel_allowance_min), "" for a literal */
    int negated;        /* under an odd number of `not`: the rule needed it false */
} fc_evidence;

#define FC_EVIDENCE_MAX 16

/* Evaluate a compiled condition for one order. Returns 1 (holds) or 0.
 * Appends every comparison evaluated (at most FC_EVIDENCE_MAX; the rest are
 * counted in *n_seen but not stored) to ev[*n_ev...]; ev, n_ev and n_seen
 * may be NULL. Words in the evidence borrow from the condition and the
 * order's facts. Pure; never allocates. */
int fc_cond_eval(const fc_cond *c, const fc_policy_input *in, fc_evidence *ev, size_t *n_ev,
                 size_t *n_seen);

/* ---------------------------------------------------------------------------
 * Policies.
 */
typedef enum fc_incident_kind {
    FC_INCIDENT_LATE = 0, /* FC_INC_LATE (severe late is judged as late, with severe_late set) */
    FC_INCIDENT_CANCELLED,
    FC_INCIDENT_UNDELIVERABLE,
    FC_INCIDENT_COMPLAINT,
    FC_INCIDENT_BAD_RATING,
    FC_INCIDENT_FAR_DELIVERY,
    FC_INCIDENT__COUNT
} fc_incident_kind;
const char *fc_incident_name(fc_incident_kind k); /* "late", "cancelled", ... */
int fc_incident_from(const char *s, size_t len);  /* -1 when unknown */

/* Languages explanations are written in. */
typedef enum fc_lang { FC_LANG_EN = 0, FC_LANG_AR, FC_LANG_ZH, FC_LANG_PT, FC_LANG__COUNT } fc_lang;
const char *fc_lang_code(fc_lang l); /* "en", "ar", "zh", "pt" */
/* Best language for an Accept-Language-like list ("ar-SA,ar;q=0.9,en;q=0.8")
 * or a bare code; FC_LANG_EN when none matches. */
fc_lang fc_lang_pick(const char *accept);

/* What a rule does to each party when it decides an order. Amounts are in
 * minor units of the policy's currency; points are score points (negative:
 * a penalty). A level name refers to the policy's `penalties:` table,
 * which gives points and money per rider capacity type. */
typedef struct fc_consequence {
    int32_t rider_points;                /* after the capacity table, 0 none */
    int64_t rider_amount_minor;          /* money penalty, 0 none */
    int64_t merchant_chargeback_minor;   /* 0 none */
    int64_t customer_compensation_minor; /* 0 none */
    int32_t suspend_days;                /* account suspension of the rider, 0 none; a decision
                                            with one always needs a human (review) */
    int warning_only;                    /* an exemption turned the penalty into a warning */
    char exemption[48];                  /* the exemption's id, "" none */
} fc_consequence;

typedef struct fc_rule {
    char id[64];
    const char *description;
    fc_incident_kind incident;
    fc_cond *when;
    fc_party liable;                     /* FC_PARTY_UNDETERMINED: send to a human */
    int review;                          /* a human must confirm even though a party is named */
    const char *penalty;                 /* level in the penalties table, NULL none */
    const char *compensate;              /* key in the compensation table, NULL none */
    const char *chargeback;              /* key in the chargeback table, NULL none */
    const char *explain[FC_LANG__COUNT]; /* templates with {placeholders} */
    long line;                           /* where the rule starts in its file */
    const char *file;
    const char *changed_file; /* the last file of the chain that changed it (== file if none) */
    long changed_line;
} fc_rule;

/* A loaded policy: its own file resolved over its parents. */
struct fc_policy; /* opaque */

const char *fc_policy_id(const fc_policy *p);
/* Version: the label, '+', and the first 12 hex digits of SHA-256 over the
 * bytes of every file of the chain, base first ("2026.11+3fa2c81b09de"). */
const char *fc_policy_version(const fc_policy *p);
const char *fc_policy_currency(const fc_policy *p); /* ISO 4217, "" when none */
/* Rules for an incident, in the order they are tried. */
size_t fc_policy_rules(const fc_policy *p, fc_incident_kind k, const fc_rule *const **out);
/* The on-time definition (absorbs the spine's settings file). */
const fc_thresholds *fc_policy_thresholds(const fc_policy *p);
/* Appeal deadlines, seconds. */
int64_t fc_policy_appeal_sla_s(const fc_policy *p, fc_party appellant);

/* More about a policy (borrowed strings, valid while the pack lives). */
const char *fc_policy_label(const fc_policy *p);
const char *fc_policy_file(const fc_policy *p);            /* the policy's own file */
const fc_policy *fc_policy_parent(const fc_policy *p);     /* NULL for the base */
const char *fc_policy_scope_country(const fc_policy *p);   /* "" when none */
const char *fc_policy_scope_city(const fc_policy *p);      /* "" when none */
int fc_policy_has_language(const fc_policy *p, fc_lang l); /* explanations required in l */
int fc_policy_auto_review(const fc_policy *p);             /* appeals: re-judge first */

/* Exemptions, in the order they are tried. */
typedef struct fc_policy_exemption {
    const char *id, *description, *when;
    int waive; /* 1 waive (nothing recorded), 0 warning */
    const char *file;
    long line;
    const char *changed_file;
    long changed_line;
} fc_policy_exemption;
size_t fc_policy_exemption_count(const fc_policy *p);
int fc_policy_exemption_at(const fc_policy *p, size_t i, fc_policy_exemption *out);

/* The value of a name an explanation may use ({name}): a fact, a let or a
 * value (on_time keys included), for one order; *unit (when not NULL) gets
 * its unit. FC_OK, or FC_ENOTFOUND when the policy knows no such name. Pure. */
int fc_policy_name_value(const fc_policy *p, const char *name, size_t len,
                         const fc_policy_input *in, fc_value *out, const char **unit);

/* Consequence of `r` for an order under this policy (capacity table,
 * compensation and chargeback amounts, exemptions). Pure. */
void fc_policy_consequence(const fc_policy *p, const fc_rule *r, const fc_policy_input *in,
                           fc_consequence *out);

/* ---------------------------------------------------------------------------
 * Packs: a folder of policy files, one policy chosen per order by scope
 * (city over country over base).
 */
typedef struct fc_policy_pack fc_policy_pack;

/* The default policy pack's folder: $FULCRUM_POLICIES when set, else the
 * policies/ folder of the source tree this binary was built from. */
const char *fc_policy_dir(void);

/* Load every *.yaml of `dir`, resolve inheritance (a missing parent, a
 * cycle, two policies of one scope are errors), compile every condition.
 * Errors carry file, line and column. *out is freed with
 * fc_policy_pack_free. */
int fc_policy_pack_load(const char *dir, fc_policy_pack **out, fc_err *err);
/* Load a single file and its parents (looked up by id as <id>.yaml in the
 * same folder): what `fulcrum policy check FILE` does. The pack holds the
 * chain's policies, base first, the file's own policy last. */
int fc_policy_load_file(const char *path, fc_policy_pack **out, fc_err *err);
/* As fc_policy_load_file / fc_policy_pack_load, collecting every error found
 * (up to max into errs; *n gets how many there were, max or not). Returns
 * FC_OK with *out set, or the first error's code with *out NULL. */
int fc_policy_check_file(const char *path, fc_err *errs, size_t max, size_t *n,
                         fc_policy_pack **out);
int fc_policy_check_dir(const char *dir, fc_err *errs, size_t max, size_t *n, fc_policy_pack **out);
void fc_policy_pack_free(fc_policy_pack *pk); /* NULL is a no-op */

/* The policy governing an order of `city` in `country` (city policy, else
 * country, else base). Never NULL for a loaded pack. */
const fc_policy *fc_policy_for(const fc_policy_pack *pk, fc_str country, fc_str city);
size_t fc_policy_pack_count(const fc_policy_pack *pk);
const fc_policy *fc_policy_pack_at(const fc_policy_pack *pk, size_t i);
/* The policy with id `id`, NULL when none. */
const fc_policy *fc_policy_pack_find(const fc_policy_pack *pk, const char *id);

#endif
