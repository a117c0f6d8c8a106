/*
 * judge: responsibility decisions for bad orders, from an order's facts and
 * a policy. For each incident of a closed order the judge tries the policy's
 * rules for that incident in order; the first whose condition holds decides
 * the liable party and the consequences. When none holds, the decision is
 * `undetermined` and goes to a human.
 *
 * Every decision carries its evidence (each fact used, its value, the
 * threshold it was compared to), the explanation rendered in the reader's
 * language, and the counterfactual margin: what would have changed the
 * outcome ("4.0 min over the travel allowance").
 *
 * fc_judge is pure and deterministic: no I/O, no clock, no globals, no
 * allocation. The same facts and policy always give the same decisions.
 */
#ifndef FC_JUDGE_H
#define FC_JUDGE_H

#include "core/core.h"
#include "order/order.h"
#include "policy/policy.h"

typedef struct fc_decision {
    fc_incident_kind incident;
    int severe;       /* a late order beyond the severe threshold */
    fc_party liable;  /* FC_PARTY_UNDETERMINED when no rule held */
    int review;       /* needs a human (undetermined, or the rule says so) */
    char rule_id[64]; /* "" when undetermined */
    char policy_id[64];
    char policy_version[40];
    fc_consequence consequence;
    char currency[4];
    fc_evidence evidence[FC_EVIDENCE_MAX]; /* entries past n_evidence are unspecified */
    size_t n_evidence;
    /* The counterfactual margin: the comparison of the deciding rule closest
     * to flipping (or, when undetermined, of the rule closest to holding). */
    char margin_fact[48];
    double margin; /* in margin_unit */
    char margin_unit[12];
    char margin_text[160]; /* rendered in the decision's language */
    fc_lang lang;
    char explanation[768]; /* the rule's template with its placeholders filled */
} fc_decision;

#define FC_JUDGE_MAX_DECISIONS FC_INCIDENT__COUNT

/* Judge one order: one decision per incident it has (none for a good or
 * open order). Writes at most `max` decisions into out and their count to
 * *n. Returns FC_OK, or FC_EINVAL when in->facts is NULL. Pure. */
int fc_judge(const fc_policy *p, const fc_policy_input *in, fc_lang lang, fc_decision *out,
             size_t max, size_t *n);

/* Render a decision's explanation again in another language (the evidence
 * and margin are language-free). Pure. */
void fc_judge_explain(const fc_policy *p, const fc_policy_input *in, fc_decision *d, fc_lang lang);

#endif
