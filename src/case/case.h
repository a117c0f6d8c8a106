/*
 * case: what the case log's decision and ledger entries say, and their JSON
 * bodies. The store keeps entries (store.h: fc_case_entry); this module
 * gives them meaning: a judge's decision as recorded (with its context,
 * evidence, margin and explanation in every language of its policy), and
 * the ledger entries a decision's consequences make (penalty points and
 * money for the rider, a chargeback for the merchant, a compensation for the
 * customer) and the compensating entries that undo them when a decision is
 * superseded or overturned. History is never edited: a reversal is a new
 * entry with the opposite amounts that names the entry it reverses.
 *
 * docs/internals/case-log.md documents every body, field by field.
 *
 * Pure: encoding and decoding only (jansson), no I/O, no clock.
 */
#ifndef FC_CASE_H
#define FC_CASE_H

#include "core/core.h"
#include "judge/judge.h"
#include "order/order.h"
#include "policy/policy.h"

/* ---------------------------------------------------------------------------
 * Decisions as recorded.
 */
#define FC_CASE_ID_MAX 96

/* A decision with what it concerns. The fc_decision's evidence words
 * (fc_value.text) point into `arena` of fc_case_decision_parse, or into the
 * order's facts when made by fc_case_decision_make. */
typedef struct fc_case_decision {
    char id[FC_CASE_ID_MAX]; /* "dec-" + 24 hex digits, see fc_case_decision_id */
    char order[64], city[64], zone[64], rider[64], merchant[64];
    char country[4];
    char capacity[16];      /* the rider's capacity type, "" unknown */
    char merchant_kind[32]; /* "" unknown */
    int64_t created_at;     /* the order's creation instant, UTC s */
    int64_t closed_at;      /* the order's closing instant, UTC s */
    int32_t stacked_orders; /* context the judge used, FC_INT_NONE unknown */
    int32_t dispatch_outage;
    fc_decision d; /* incident, liable, rule, policy and version, consequence,
                      evidence, margin; d.explanation in d.lang */
    char explanation[FC_LANG__COUNT][768]; /* every language the policy has, "" others */
    char margin_text[FC_LANG__COUNT][160];
    char supersedes[FC_CASE_ID_MAX]; /* the decision of the same order and incident it
                                        replaces (facts changed since), "" none */
    char outcome[FC_CASE_ID_MAX];    /* the outcome's id (fc_case_decision_id): the same as id,
                                        except for a reinstated outcome (see
                                        fc_case_decision_reinstated_id); "" read as id */
} fc_case_decision;

/* The decision's id: "dec-" and 24 hex digits of SHA-256 over the order id,
 * the incident, the policy id and version, the liable party, the rule, the
 * review flag, the severe flag and the consequence. The same order judged
 * under the same policy with the same outcome always gets the same id, so
 * re-judging records nothing new; any change of outcome gets a new id. */
void fc_case_decision_id(const fc_decision *d, fc_str order, char out[FC_CASE_ID_MAX]);

/* The id of an outcome reinstated: an order's outcome goes back to one
 * recorded before and superseded since (a policy rolled back, facts that
 * flipped back), whose own id is taken. "dec-" and 24 hex digits of SHA-256
 * over the outcome id and the decision the reinstated one supersedes, so
 * that judging again finds it, and each reinstatement gets its own. */
void fc_case_decision_reinstated_id(const char *outcome, const char *supersedes,
                                    char out[FC_CASE_ID_MAX]);

/* Fill *out from a judge's decision and the order it is about (in: the
 * policy input the judge read), rendering the explanation and margin in
 * every language the policy has (fc_judge_explain). Sets out->id. Pure. */
void fc_case_decision_make(const fc_policy *p, const fc_policy_input *in, const fc_decision *d,
                           fc_case_decision *out);

/* Encode as the JSON body of a decision entry; *out is caller-freed with
 * fc_free (NUL-terminated, *len bytes). FC_OK or FC_ENOMEM. */
int fc_case_decision_json(const fc_case_decision *cd, char **out, size_t *len);
/* Decode a decision entry's body. Strings of the evidence are copied into
 * `arena` (caller owned). FC_EPARSE (err says which field) on a body that is
 * not a decision. */
int fc_case_decision_parse(fc_str body, fc_arena *arena, fc_case_decision *out, fc_err *err);

/* ---------------------------------------------------------------------------
 * Fields of a body read without decoding it: decoding every decision of a
 * large log costs seconds, a search costs little. The bodies of the case log
 * are compact JSON (this module's and the appeal module's writers), and a
 * quote inside a JSON string is always escaped, so `"key":` can only be the
 * key itself; ask only for top-level fields no nested object repeats.
 */
/* Where `pat` (e.g. "\"review\":true") first occurs in body, NULL when it
 * does not. Pure. */
const char *fc_case_body_find(fc_str body, const char *pat);
/* The text value of the top-level string field `key` (a view into body, up
 * to the value's closing quote: for ids and names, which hold no escaped
 * quote), FC_STR_NULL when absent or not a string. Pure. */
fc_str fc_case_body_text(fc_str body, const char *key);

/* ---------------------------------------------------------------------------
 * Withdrawals: a decision in force whose incident the order no longer has
 * when judged again (a policy raised a threshold; a new event shows the
 * incident did not happen). The withdrawal is its own entry
 * (FC_CASE_DECISION_WITHDRAWN); the decision's ledger entries are reversed
 * with the withdrawal as their cause. A decision is withdrawn at most once.
 */
typedef struct fc_case_withdrawal {
    char id[FC_CASE_ID_MAX];       /* "wdr-" + 24 hex digits, see fc_case_withdrawal_id */
    char decision[FC_CASE_ID_MAX]; /* the decision withdrawn */
    char order[64];
    fc_incident_kind incident; /* the incident the order no longer has */
    char policy_id[64];        /* the policy that judged the order without it */
    char policy_version[40];
    char reason[256]; /* why, in words */
} fc_case_withdrawal;

/* "wdr-" and 24 hex digits of SHA-256 over the decision id: one withdrawal
 * per decision. */
void fc_case_withdrawal_id(const char *decision, char out[FC_CASE_ID_MAX]);
int fc_case_withdrawal_json(const fc_case_withdrawal *w, char **out, size_t *len);
/* FC_EPARSE (err says which field) on a body that is not a withdrawal. */
int fc_case_withdrawal_parse(fc_str body, fc_case_withdrawal *out, fc_err *err);

/* ---------------------------------------------------------------------------
 * The ledger.
 */
typedef enum fc_ledger_kind {
    FC_LEDGER_PENALTY = 0,  /* rider: points and/or money (negative amounts) */
    FC_LEDGER_REWARD,       /* rider: points and/or money (positive) */
    FC_LEDGER_CHARGEBACK,   /* merchant: money charged back (negative) */
    FC_LEDGER_COMPENSATION, /* customer: money paid (positive) */
    FC_LEDGER_REVERSAL,     /* undoes another entry: its amounts negated */
    FC_LEDGER__COUNT
} fc_ledger_kind;
const char *fc_ledger_kind_name(fc_ledger_kind k); /* "penalty", ... */

typedef struct fc_ledger_entry {
    char id[FC_CASE_ID_MAX + 32]; /* "<decision id>:<kind>:<party>" or, for a reversal,
                                     "<reversed id>:rev:<cause id>" */
    fc_ledger_kind kind;
    fc_party party;       /* rider, merchant, customer */
    char party_id[64];    /* rider or merchant id; the order id for a customer */
    int32_t points;       /* score points, 0 none */
    int64_t amount_minor; /* money in minor units, 0 none */
    char currency[4];
    char decision[FC_CASE_ID_MAX];      /* the decision that caused it */
    char reverses[FC_CASE_ID_MAX + 32]; /* REVERSAL: the entry undone */
    char cause[FC_CASE_ID_MAX];         /* what made it: the decision, or for a reversal the appeal
                                           or superseding decision */
    int warning_only;                   /* a penalty an exemption turned into a warning */
} fc_ledger_entry;

/* The entries a decision's consequence makes, at most 4 (rider penalty,
 * merchant chargeback, customer compensation). A decision needing review
 * takes effect only once a human confirms it: with `confirmed` 0 it makes
 * none. Returns how many were written into out[0..max). Pure.
 * Signs are as the party sees them: a rider's points as the consequence
 * states them and the fine negated (PENALTY; positive points or a negative
 * fine make a REWARD), a chargeback negative, a compensation positive. A
 * warning an exemption made is a PENALTY of nothing with warning_only set,
 * so that it is on record; only a rider named liable gets an entry. */
size_t fc_case_ledger_for(const fc_case_decision *cd, int confirmed, fc_ledger_entry *out,
                          size_t max);
/* The reversal of e caused by `cause` (an appeal id or a decision id).
 * `keep_percent` (0..100, clamped) keeps that share of the amounts (a
 * partial verdict), rounded toward zero: the reversal undoes the rest, so
 * e plus its reversal is exactly the kept share. When "<e id>:rev:<cause>"
 * does not fit the id, 24 hex digits of SHA-256 of the cause stand for the
 * cause in it. Pure. */
void fc_case_ledger_reverse(const fc_ledger_entry *e, const char *cause, int keep_percent,
                            fc_ledger_entry *out);
/* What is left of a decision's ledger entries after their reversals: for
 * each e[i] (an entry that is not a reversal), the amounts of every
 * reversal in rev[0..n_rev) that names it (`reverses` is e[i]'s id) are
 * added to its own, so that e[i] becomes the share of it still in force
 * (nothing, once fully undone). reversed[i] (reversed may be NULL) is set
 * to 1 when at least one reversal names e[i], else 0: a warning is worth
 * nothing whether undone or not. Reversals naming no entry of e are
 * ignored. Every reader of a ledger (a superseded decision, a verdict)
 * goes through this, so that they all agree on what is left. Pure. */
void fc_case_ledger_left(fc_ledger_entry *e, size_t n, const fc_ledger_entry *rev, size_t n_rev,
                         int *reversed);
int fc_case_ledger_json(const fc_ledger_entry *e, char **out, size_t *len);
int fc_case_ledger_parse(fc_str body, fc_ledger_entry *out, fc_err *err);

#endif
