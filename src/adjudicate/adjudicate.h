/*
 * adjudicate: the judge run over the store. It reads closed orders through
 * the scan (scan.h), judges each with the policy governing it (judge.h,
 * pure), and records every decision in the case log (case.h formats) with
 * the ledger entries of its consequences. It also replays a period under
 * another policy and diffs the outcomes, and reports each rule's quality.
 *
 * Recording is idempotent: a decision's id depends on the order, incident,
 * policy version and outcome, so judging again with the same policy and the
 * same facts writes nothing. When an order's facts changed (a complaint came
 * later) and its outcome with them, the new decision names the one it
 * supersedes and the old one's ledger entries are reversed. An outcome that
 * goes back to one superseded before is reinstated under a fresh id
 * (fc_case_decision_reinstated_id); a decision whose incident the order no
 * longer has is withdrawn (FC_CASE_DECISION_WITHDRAWN) and its ledger
 * entries reversed. After a run, the decisions in force for the orders it
 * judged are exactly what the policy and the facts give now.
 *
 * Thread safety: each call uses the store connection it is given.
 */
#ifndef FC_ADJUDICATE_H
#define FC_ADJUDICATE_H

#include "case/case.h"
#include "core/core.h"
#include "judge/judge.h"
#include "policy/policy.h"
#include "scan/scan.h"
#include "store/store.h"

typedef struct fc_adj_opts {
    const fc_policy_pack *pack; /* required */
    int64_t from, to;           /* orders created in [from, to); FC_TS_NONE open */
    const char *city;           /* NULL or "": every city */
    int64_t now;                /* instant written on new entries, UTC s (the caller's clock) */
    const char *actor;          /* NULL: "judge" */
    /* Commit the run's writes at least every txn_ms milliseconds (0: every
     * few thousand entries only), so a writer running beside it (a
     * server's ingest) never waits long for the store's write lock. */
    unsigned txn_ms;
    /* fc_adj_run_orders: judge the orders named and those stacked with
     * them even when a whole run would be cheaper (a whole run reads the
     * log under one snapshot for its length; a server's judge avoids
     * that). */
    int targeted_only;
    /* Called before each write transaction a run opens and after it ends
     * (committed or rolled back), on the run's thread; may be NULL. A
     * server shares its writer mutex this way, so its other writers wait
     * on the mutex (woken when the run commits) rather than in the store's
     * busy handler (which sleeps up to 100 ms between tries). */
    void (*txn_lock)(void *ud);
    void (*txn_unlock)(void *ud);
    void *txn_ud;
    void (*progress)(void *ud, int64_t orders, int64_t records_read, int64_t records_total);
    void *progress_ud;
    /* Runs: called after each closed order judged, with its facts and its
     * decisions as recorded or found unchanged (n 0 for a good order);
     * may be NULL. */
    void (*on_order)(void *ud, const fc_order_facts *f, const fc_decision *d, size_t n);
    void *on_order_ud;
    /* Runs: called (with on_order_ud) with the policy input of each closed
     * order about to be judged: its facts and context, stacked_orders as
     * the run counted it; may be NULL. */
    void (*on_input)(void *ud, const fc_policy_input *in);
    /* Reference entities the caller keeps loaded (borrowed; a server
     * worker judging every ingest batch saves reading them each time);
     * NULL: each call reads them from the store. */
    const fc_ref *ref;
} fc_adj_opts;
void fc_adj_opts_init(fc_adj_opts *o);

typedef struct fc_adj_stats {
    int64_t orders;     /* closed orders judged */
    int64_t decisions;  /* decisions made (an order has one per incident) */
    int64_t recorded;   /* new decisions written */
    int64_t unchanged;  /* already recorded: same policy, same outcome */
    int64_t superseded; /* new decisions replacing an earlier one */
    int64_t withdrawn;  /* decisions withdrawn: the order no longer has their incident */
    int64_t ledger;     /* ledger entries written (reversals included) */
    int64_t review;     /* decisions needing a human */
    int64_t by_party[FC_PARTY__COUNT];
} fc_adj_stats;

/* Judge every closed order matching o and record the decisions (one
 * transaction per few thousand entries), and store the carry of every
 * order of the store in the carry table, in the same transactions. stats
 * may be NULL. */
int fc_adj_run(fc_store *s, const fc_adj_opts *o, fc_adj_stats *stats, fc_err *err);
/* The same for the orders named (the orders an ingest touched); orders that
 * are open, unknown or without a creation event are skipped. The decisions
 * are those a whole run would make: each named order's carry (its rider
 * and [picked_up_at, delivered_at)) replaces the one in the store's carry
 * table, the orders whose carries overlap its old or new one are judged
 * with it when it changed (their stacked orders may have), and stacked
 * orders are counted from the table, which whole runs fill (an order
 * ingested without judging enters it at the next fc_adj_run). Many orders
 * (more than 1024, and more than one in 32 of the store's records) are
 * judged by a whole run instead. docs/judge.md. */
int fc_adj_run_orders(fc_store *s, const fc_adj_opts *o, const fc_str *orders, size_t n,
                      fc_adj_stats *stats, fc_err *err);

/* The current decisions (neither superseded nor withdrawn) recorded for orders matching o
 * (o->pack may be NULL here), each handed to cb in seq order; a non-zero
 * return stops and is returned. The decision's strings are valid during
 * the call. */
typedef int (*fc_adj_decision_cb)(void *ud, const fc_case_decision *d);
int fc_adj_decisions(fc_store *s, const fc_adj_opts *o, fc_adj_decision_cb cb, void *ud,
                     fc_err *err);
/* One recorded decision by id; FC_ENOTFOUND when none. Evidence words are
 * copied into arena. */
int fc_adj_decision_get(fc_store *s, const char *id, fc_arena *arena, fc_case_decision *out,
                        fc_err *err);

/* ---------------------------------------------------------------------------
 * Replay: judge a period under a base and a candidate policy pack in one
 * scan, and diff. Nothing is written.
 */
typedef struct fc_replay_opts {
    const fc_policy_pack *base;      /* required: the policy in force */
    const fc_policy_pack *candidate; /* required: the policy to try */
    int64_t from, to;
    const char *city;
    size_t top_riders; /* riders most affected to list (0: 10) */
    void (*progress)(void *ud, int64_t orders, int64_t records_read, int64_t records_total);
    void *progress_ud;
} fc_replay_opts;

/* One row of a diff table: a rule, a liable party or a capacity type. */
typedef struct fc_replay_row {
    char key[64];      /* the rule id, party name or capacity type */
    int64_t base;      /* decisions with this key under the base */
    int64_t candidate; /* ... under the candidate */
    int64_t changed;   /* decisions with this key under the base whose outcome changed */
} fc_replay_row;

typedef struct fc_replay_rider {
    char rider[64];
    char capacity[16];
    int64_t changed;                       /* decisions about them that changed */
    int64_t points_base, points_candidate; /* rider penalty points, summed */
} fc_replay_rider;

typedef struct fc_replay_report {
    int64_t orders; /* closed orders judged */
    int64_t decisions_base, decisions_candidate;
    int64_t changed;        /* (order, incident) pairs whose liable party, rule or
                               consequence differ, appeared or disappeared */
    int64_t liable_changed; /* ... whose liable party differs */
    int64_t pairs;          /* (order, incident) pairs decided on either side */
    int64_t appeared;       /* changed pairs decided only under the candidate */
    int64_t disappeared;    /* changed pairs decided only under the base */
    /* by_rule: a decision counts under the base's rule when the base
     * decided the pair, else under the candidate's; undetermined decisions
     * under "(no rule) <incident>". Sorted by changed, descending. */
    fc_replay_row *by_rule;
    size_t n_by_rule;
    fc_replay_row *by_party; /* one per liable party */
    size_t n_by_party;
    fc_replay_row *by_capacity; /* one per rider capacity type (full_time, part_time,
                                   crowd), then "no rider" when orders without one
                                   were decided */
    size_t n_by_capacity;
    /* Totals in minor units per currency (three-letter codes), base and
     * candidate, of the decisions' consequences as the judge states them;
     * those of decisions that need review count as if confirmed. */
    struct fc_replay_money {
        char currency[4];
        int64_t penalty_base, penalty_candidate;           /* rider money penalties */
        int64_t compensation_base, compensation_candidate; /* customer */
        int64_t chargeback_base, chargeback_candidate;     /* merchant */
    } * money;
    size_t n_money;
    int64_t points_base, points_candidate; /* rider penalty points */
    /* Riders with changed decisions, most affected first (the size of the
     * change of their points, then how many of their decisions changed),
     * at most top_riders. */
    fc_replay_rider *riders;
    size_t n_riders;
} fc_replay_report;

/* Run a replay. *out is freed with fc_replay_report_free. */
int fc_replay(fc_store *s, const fc_replay_opts *o, fc_replay_report **out, fc_err *err);
void fc_replay_report_free(fc_replay_report *r); /* NULL is a no-op */

/* ---------------------------------------------------------------------------
 * Rule quality, from the recorded decisions and their appeals.
 */
typedef struct fc_rule_quality {
    char rule_id[64]; /* "" for undetermined decisions */
    fc_incident_kind incident;
    fc_party liable;
    int64_t fired;           /* current decisions made by the rule */
    int64_t appealed;        /* ... appealed */
    int64_t overturned;      /* ... overturned (auto-review or human), partials counted half
                                (rounded down; overturn_rate is exact) */
    int64_t partial;         /* appealed decisions whose verdict kept part of the penalty */
    double overturn_rate;    /* overturned (partials half) / appealed; 0 when none appealed */
    double avg_points;       /* mean rider penalty points per firing */
    double avg_amount_minor; /* mean rider money penalty per firing (mixed currencies: per
                                firing in its own currency) */
    /* Firing rate per 1000 closed orders of each rider capacity type, and
     * the spread across zones (the highest and lowest zone rates with at
     * least 50 orders, and their zones): unfair rules stand out. */
    double rate_by_capacity[4]; /* index: fc_capacity (0 unknown) */
    double zone_rate_max, zone_rate_min;
    char zone_max[64], zone_min[64];
    double capacity_ratio; /* highest / lowest rate across the capacity types with at
                              least 50 closed orders; INFINITY when the lowest is 0 and
                              the highest not; 0 when fewer than two types qualify */
    int flagged;           /* FC_RULE_FLAG_* bits; 0 not flagged */
} fc_rule_quality;

/* Why a rule is flagged. A spread across capacity types flags only rules
 * that name the rider (a penalty falling twice as often on one kind of
 * rider), once the rule fired at least FC_RULE_FLAG_MIN_FIRED times; an
 * overturn rate once at least FC_RULE_FLAG_MIN_APPEALS decisions were
 * appealed: fewer are noise. */
enum {
    FC_RULE_FLAG_CAPACITY = 1, /* capacity_ratio >= 2 */
    FC_RULE_FLAG_OVERTURN = 2, /* overturn_rate >= 0.30 */
};
#define FC_RULE_FLAG_MIN_FIRED   20
#define FC_RULE_FLAG_MIN_APPEALS 5

/* Rows for decisions of orders matching o (o->pack may be NULL), most
 * fired first. The closed orders the rates divide by come from one scan of
 * the orders matching o (decisions exist only for orders with an
 * incident, so they cannot give them). Appeals are the items of kind
 * appeal (fc_appeal_list at o->now) on those decisions; review items are
 * not appeals and are not counted. *out is caller-freed with fc_free. */
int fc_adj_quality(fc_store *s, const fc_adj_opts *o, fc_rule_quality **out, size_t *n,
                   fc_err *err);

#endif
