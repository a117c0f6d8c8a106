/*
 * Internals shared by the appeal module's files: appeal.c (names, the
 * state folded from case entries, listings, the reviewer's screen, SLA) and
 * review.c (filing, auto-review, the review queue, verdicts and their ledger
 * entries). Nothing outside src/appeal/ includes this.
 */
#ifndef FC_APPEAL_INTERNAL_H
#define FC_APPEAL_INTERNAL_H

#include "appeal/appeal.h"

/* Ids of an item's own entries (besides the filing, whose id is the item's). */
#define FC__APPEAL_REVIEWED_SUFFIX ":auto-review"
#define FC__APPEAL_DECIDED_SUFFIX  ":decided"

/* The recorded decision `id` (its DECISION entry), evidence words copied
 * into arena; *recorded_at (may be NULL) gets the entry's ts. FC_ENOTFOUND
 * when none. */
int fc__appeal_decision(fc_store *s, const char *id, fc_arena *arena, fc_case_decision *out,
                        int64_t *recorded_at, fc_err *err);

/* What replaced decision `id` of `order`: the id of the decision that
 * superseded it, or of the withdrawal that withdrew it, into out; "" when it
 * is still in force. */
int fc__appeal_replaced_by(fc_store *s, const char *id, const char *order, char out[FC_CASE_ID_MAX],
                           fc_err *err);

/* Start an item's state: every field empty, pending, nothing decided. */
void fc__appeal_init(fc_appeal *a);
/* Apply one of the item's entries (FILED, REVIEWED, VIEWED, DECIDED), in
 * seq order, to its state. FC_EPARSE on a body that is not what its type
 * says. */
int fc__appeal_apply(fc_appeal *a, const fc_case_entry *e, fc_err *err);
/* Compute what depends on `now` (breached). */
void fc__appeal_finish(fc_appeal *a, int64_t now);

/* The filing's statement and items from a FILED body, strings copied into
 * arena. */
int fc__appeal_filing_parse(fc_str body, fc_arena *arena, const char **statement,
                            fc_appeal_item **items, size_t *n_items, fc_err *err);

/* Copy a view into a bounded C string (truncating). */
void fc__appeal_copy(char *dst, size_t cap, fc_str s);

#endif
