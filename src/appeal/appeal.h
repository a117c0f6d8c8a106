/*
 * appeal: the human side of responsibility decisions, over the case log.
 *
 * A rider or merchant appeals a decision with new evidence (a statement,
 * GPS points, photos referenced by id, call logs). Auto-review comes first
 * (when the policy allows it): the evidence that can be read as events (a
 * call log as contact attempts, GPS points as positions) is added to the
 * order's events, the order is folded and judged again under the policy
 * that made the decision, and when the appellant is no longer liable the
 * appeal is overturned on its own. Everything else joins the human queue,
 * ordered by SLA deadline (the policy's appeal deadline for the appellant's
 * party, counted from filing). So do decisions that need review (no rule was
 * conclusive, or the rule asks for a human): they are queue items of kind
 * "review" until a human confirms or overturns them. An account sanction (a
 * suspension) is never lifted or applied without a human.
 *
 * A reviewer opens an item (what evidence was shown is recorded), then
 * decides: uphold, overturn, or partial (keep a share of the penalty), with a
 * written reason. Every step is a case-log entry with who and when; money
 * and points move only through compensating ledger entries (case.h). Two
 * reviewers deciding one item at once: one wins, the other gets
 * FC_ECONFLICT and nothing is written for it.
 *
 * Deadlines come from the policy; an item decided after its deadline, or
 * still pending past it, has breached its SLA (fc_appeal_sla reports them).
 *
 * Thread safety: functions use the store connection they are given.
 */
#ifndef FC_APPEAL_H
#define FC_APPEAL_H

#include "case/case.h"
#include "core/core.h"
#include "policy/policy.h"
#include "store/store.h"

typedef enum fc_appeal_kind {
    FC_APPEAL_KIND_APPEAL = 0, /* a rider or merchant appealed a decision */
    FC_APPEAL_KIND_REVIEW,     /* a decision that needs a human before it takes effect */
} fc_appeal_kind;

typedef enum fc_appeal_state {
    FC_APPEAL_PENDING = 0, /* waiting for a human */
    FC_APPEAL_OVERTURNED,  /* the decision no longer holds (by auto-review or a human) */
    FC_APPEAL_UPHELD,      /* the decision stands (a review item: confirmed) */
    FC_APPEAL_PARTIAL,     /* the decision stands with part of its penalty */
    FC_APPEAL_MOOT,        /* still pending when its decision stopped being in force (the judge
                              superseded or withdrew it): nothing left to decide; derived when
                              the item is read, no entry records it */
    FC_APPEAL__COUNT
} fc_appeal_state;
const char *fc_appeal_state_name(fc_appeal_state s); /* "pending", "overturned", ... */
int fc_appeal_state_from(const char *s);             /* -1 when unknown */

/* One piece of new evidence. */
typedef enum fc_appeal_item_kind {
    FC_APPEAL_ITEM_TEXT = 0, /* a written account */
    FC_APPEAL_ITEM_GPS,      /* a position at an instant */
    FC_APPEAL_ITEM_PHOTO,    /* a photo stored elsewhere, referenced by id */
    FC_APPEAL_ITEM_CALL,     /* a call the rider made to the customer */
    FC_APPEAL_ITEM__COUNT
} fc_appeal_item_kind;
const char *fc_appeal_item_kind_name(fc_appeal_item_kind k); /* "text", "gps", "photo", "call" */
int fc_appeal_item_kind_from(const char *s);                 /* -1 when unknown (or NULL) */

typedef struct fc_appeal_item {
    fc_appeal_item_kind kind;
    const char *text;       /* TEXT: the account; PHOTO: the photo's id; CALL: a note or NULL */
    int64_t ts;             /* GPS, PHOTO, CALL: when, UTC s; FC_TS_NONE unknown */
    int32_t lat_e6, lng_e6; /* GPS (and PHOTO when geotagged): FC_GEO_NONE unknown */
    const char *outcome;    /* CALL: no_answer, busy, reached, voicemail ... */
    int32_t duration_s;     /* CALL: ring or talk time, FC_INT_NONE unknown */
} fc_appeal_item;

/* NULL when evidence item it is well formed (what fc_appeal_file accepts),
 * else what is wrong with it, a static string: a text item needs its text,
 * a photo its id (and a position, when given, in range), a GPS point its
 * instant and a position in range, a call its instant, its outcome and a
 * duration (when given) of 0 to 14400 s. Pure. */
const char *fc_appeal_item_problem(const fc_appeal_item *it);

/* What an appellant files. Borrowed for the call. */
typedef struct fc_appeal_filing {
    const char *decision;     /* the decision appealed (its id); required */
    fc_party appellant;       /* FC_PARTY_RIDER or FC_PARTY_MERCHANT */
    const char *appellant_id; /* must be the decision's rider / merchant */
    const char *statement;    /* why, in the appellant's words; required, at most 4000 bytes */
    const fc_appeal_item *items;
    size_t n_items; /* at most 64 */
} fc_appeal_filing;

/* An item's state, folded from its case entries. */
typedef struct fc_appeal {
    char id[FC_CASE_ID_MAX]; /* "apl-..." for an appeal, "rev-..." for a review item */
    fc_appeal_kind kind;
    char decision[FC_CASE_ID_MAX];
    char order[64], city[64], rider[64], merchant[64];
    fc_incident_kind incident;
    fc_party liable; /* what the decision said */
    char rule_id[64];
    fc_party appellant; /* FC_PARTY_NONE for a review item */
    char appellant_id[64];
    fc_appeal_state state;
    int64_t filed_at;    /* UTC s */
    int64_t due_at;      /* the SLA deadline */
    int64_t decided_at;  /* FC_TS_NONE while pending */
    int auto_reviewed;   /* auto-review ran */
    int auto_overturned; /* ... and overturned it */
    int sanction;        /* the decision carries a suspension: only a human decides */
    int keep_percent;    /* PARTIAL: share of the penalty kept */
    char decided_by[64]; /* "auto-review" or the reviewer; "" pending */
    char reason[1024];   /* the verdict's reason, "" pending */
    int64_t last_seq;    /* highest seq of its entries: what fc_appeal_decide expects */
    int breached;        /* decided after due_at, or pending past `now` */
    size_t n_items;      /* evidence items filed */
    char replaced_by[FC_CASE_ID_MAX]; /* MOOT: the decision that superseded the item's, or the
                                         withdrawal ("wdr-...") that withdrew it; "" else */
} fc_appeal;

/* The id of the appeal of `decision` by `appellant` (its party and id):
 * "apl-" and 24 hex digits, the same every time, so that a caller can look
 * the appeal up before or after filing it. Pure. */
void fc_appeal_id(const char *decision, fc_party appellant, const char *appellant_id,
                  char out[FC_CASE_ID_MAX]);

/* File an appeal (FC_CASE_APPEAL_FILED), then auto-review it when the
 * decision's policy allows (FC_CASE_APPEAL_REVIEWED; when it overturns, the
 * reversing ledger entries too). `actor` is who filed it (the token's
 * identity or the appellant). Filing the same decision again by the same
 * appellant returns the existing appeal (idempotent; what was filed first
 * stands, and an auto-review cut short runs now). FC_ENOTFOUND: no such
 * decision; FC_EINVAL: the appellant is not the decision's rider or
 * merchant, the decision does not hold the appellant's party liable
 * (nothing to appeal), a later decision superseded it (the order's facts
 * changed: appeal that one), the statement is empty or too long, an item is
 * malformed (err names the item). *out gets the appeal's state after
 * auto-review.
 *
 * Auto-review overturns only when the re-judged decision of the same
 * incident is conclusive (needs no review) and names another party, or the
 * incident is gone; it queues when the decision carries a suspension, the
 * re-judged outcome needs a person, no evidence can be read as events, the
 * decision's policy version is no longer in `pk`, or the order's events are
 * not in the store, saying why in the entry. Calls and GPS points outside
 * the order's life (created to closed) are not read. */
int fc_appeal_file(fc_store *s, const fc_policy_pack *pk, const fc_appeal_filing *f, int64_t now,
                   const char *actor, fc_appeal *out, fc_err *err);

/* Put every stored decision needing review that is not yet in the queue
 * into it (kind REVIEW, deadline from the policy's `platform` appeal SLA,
 * counted from the decision). Returns FC_OK; *added (may be NULL) gets the
 * count. Idempotent. */
int fc_appeal_queue_reviews(fc_store *s, const fc_policy_pack *pk, int64_t now, size_t *added,
                            fc_err *err);

/* Which items a listing returns. */
typedef struct fc_appeal_query {
    int state;            /* -1 any, else an fc_appeal_state */
    int kind;             /* -1 any, else an fc_appeal_kind */
    const char *city;     /* NULL any */
    const char *rider;    /* NULL any */
    const char *merchant; /* NULL any */
    int breached_only;    /* only items that breached their SLA at `now` */
    int decided_only;     /* only items no longer pending: decided (newest verdict first), then
                             moot ones (no verdict) */
    size_t limit;         /* 0: no limit */
} fc_appeal_query;
void fc_appeal_query_init(fc_appeal_query *q);

/* Items matching q at instant `now`, pending ones first by deadline (the
 * queue), then decided ones, newest first. *out is caller-freed with fc_free. */
int fc_appeal_list(fc_store *s, const fc_appeal_query *q, int64_t now, fc_appeal **out, size_t *n,
                   fc_err *err);
/* The order of fc_appeal_list, as strcmp answers: pending items first by
 * deadline, then filing instant; then the others, latest decided first;
 * ties by id. Reads only state, due_at, filed_at, decided_at and id, so a
 * page's last item is enough to resume a listing after it (keyset pages). */
int fc_appeal_queue_cmp(const fc_appeal *a, const fc_appeal *b);
/* One item by id; FC_ENOTFOUND when none. */
int fc_appeal_get(fc_store *s, const char *id, int64_t now, fc_appeal *out, fc_err *err);

/* Everything a reviewer sees about an item, for `appeal show`: the item,
 * the decision (with evidence, margin, explanation), the filing's statement
 * and items, and the history of its case entries. Strings point into
 * `arena` (caller owned). */
typedef struct fc_appeal_case {
    fc_appeal appeal;
    fc_case_decision decision;
    const char *statement;
    fc_appeal_item *items; /* n_items of them */
    size_t n_items;
    fc_case_entry *history; /* every entry of the item and of its decision, in seq order */
    size_t n_history;
} fc_appeal_case;
int fc_appeal_load(fc_store *s, const char *id, int64_t now, fc_arena *arena, fc_appeal_case *out,
                   fc_err *err);
/* Record that `reviewer` opened the item and which evidence was shown
 * (FC_CASE_APPEAL_VIEWED). */
int fc_appeal_viewed(fc_store *s, const fc_appeal_case *c, const char *reviewer, int64_t now,
                     fc_err *err);
/* The same, and c stays what fc_appeal_load would now read: the view joins
 * c->history (its strings in arena, c's) and c->appeal.last_seq is its seq,
 * so the screen needs no second load. */
int fc_appeal_view(fc_store *s, fc_appeal_case *c, const char *reviewer, int64_t now,
                   fc_arena *arena, fc_err *err);

typedef enum fc_verdict {
    FC_VERDICT_UPHOLD = 0,
    FC_VERDICT_OVERTURN,
    FC_VERDICT_PARTIAL,
} fc_verdict;
const char *fc_verdict_name(fc_verdict v); /* "uphold", "overturn", "partial" */
int fc_verdict_from(const char *s);        /* -1 when unknown */

typedef struct fc_appeal_verdict {
    fc_verdict verdict;
    const char *reason;   /* required, at most 4000 bytes */
    const char *reviewer; /* required */
    int keep_percent;     /* PARTIAL: 1..99 of the penalty kept */
} fc_appeal_verdict;

/* Decide a pending item (FC_CASE_APPEAL_DECIDED) and write the ledger
 * entries it implies, all in one transaction: an overturn reverses the
 * decision's entries that took effect and burden the appellant (the
 * rider's penalty, the merchant's chargeback; the customer's compensation
 * stands), a partial reverses the share not kept, upholding a review item
 * makes the decision's entries (confirmed), a partial on a review item
 * makes them and reverses the liable party's share not kept. expect_seq is
 * the item's last_seq as the reviewer saw it: when another entry came since
 * (another reviewer decided, or opened it), nothing is written and
 * FC_ECONFLICT is returned. FC_ECONFLICT too when the item is no longer
 * pending: someone changed it first (err says it is already decided, and
 * how and by whom; or that it is moot: its decision is no longer in force,
 * and what replaced it). FC_EINVAL when the verdict is malformed, or it is
 * a partial verdict on a decision that carries a suspension (a suspension
 * is upheld or lifted, never split). *out (may be NULL) gets the new
 * state. */
int fc_appeal_decide(fc_store *s, const char *id, const fc_appeal_verdict *v, int64_t expect_seq,
                     int64_t now, fc_appeal *out, fc_err *err);

/* SLA report: one row per city and kind of appellant (rider, merchant,
 * review). */
typedef struct fc_appeal_sla_row {
    char city[64];
    char who[16]; /* "rider", "merchant", "review" */
    int64_t filed, decided, pending;
    int64_t auto_overturned;
    int64_t breached_decided; /* decided after the deadline */
    int64_t breached_pending; /* pending past the deadline at `now` */
    double median_decide_h;   /* filing to verdict, hours; NAN when none decided */
    int64_t worst_overdue_s;  /* the longest a pending item is past its deadline, 0 none */
    int64_t moot;             /* left the queue undecided: their decision is no longer in force
                                 (neither decided nor pending, never breached) */
} fc_appeal_sla_row;
/* Rows for items filed in [from, to) (FC_TS_NONE open), by city then who.
 * *out is caller-freed with fc_free. */
int fc_appeal_sla(fc_store *s, int64_t from, int64_t to, int64_t now, fc_appeal_sla_row **out,
                  size_t *n, fc_err *err);

#endif
