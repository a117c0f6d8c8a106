/*
 * appeal: filing, auto-review, the review queue and verdicts (appeal.h).
 *
 * Auto-review reads the evidence that can be events (a call log as
 * contact_attempt events, GPS points as gps events) into the order's events,
 * folds and judges the order again under the policy version that made the
 * decision, and overturns when the same incident no longer holds the
 * appellant's party liable. It never overturns a decision carrying a
 * suspension, nor one whose re-judged outcome needs a human (no rule was
 * conclusive, or the rule asks for review): those join the queue. Photos
 * and statements are proof only a person weighs.
 *
 * Money and points move only through ledger entries: an overturn reverses
 * the appellant's entries of the decision that took effect (the rider's
 * penalty, the merchant's chargeback; the customer's compensation stands),
 * a partial verdict reverses the share not kept, and upholding a review
 * item writes the decision's entries, now confirmed.
 */
#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "appeal/appeal_internal.h"
#include "judge/judge.h"
#include "scan/scan.h"

#define STATEMENT_MAX 4000
#define ITEMS_MAX     64
#define LEDGER_MAX    32

/* "<prefix>" + 24 hex digits of SHA-256 over the parts, each followed by a
 * NUL so that ("ab", "c") and ("a", "bc") differ. */
static void hashed_id(const char *prefix, const char *const *parts, size_t n, char *out,
                      size_t cap) {
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    for (size_t i = 0; i < n; i++) {
        crypto_hash_sha256_update(&st, (const unsigned char *)parts[i], strlen(parts[i]) + 1);
    }
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&st, h);
    static const char hex[] = "0123456789abcdef";
    char digits[25];
    for (size_t i = 0; i < 12; i++) {
        digits[2 * i] = hex[h[i] >> 4];
        digits[2 * i + 1] = hex[h[i] & 15];
    }
    digits[24] = '\0';
    snprintf(out, cap, "%s%s", prefix, digits);
}

void fc_appeal_id(const char *decision, fc_party appellant, const char *appellant_id,
                  char out[FC_CASE_ID_MAX]) {
    const char *parts[] = {decision, fc_party_name(appellant), appellant_id};
    hashed_id("apl-", parts, 3, out, FC_CASE_ID_MAX);
}

/* The policy that made the decision, exactly that version; NULL when the
 * pack no longer has it (*why says so). */
static const fc_policy *decision_policy(const fc_policy_pack *pk, const fc_case_decision *cd,
                                        char *why, size_t why_cap) {
    const fc_policy *p = pk != NULL ? fc_policy_pack_find(pk, cd->d.policy_id) : NULL;
    if (p == NULL) {
        snprintf(why, why_cap, "policy %s is no longer in the policy pack", cd->d.policy_id);
        return NULL;
    }
    if (strcmp(fc_policy_version(p), cd->d.policy_version) != 0) {
        snprintf(why, why_cap,
                 "the decision was made under policy %s version %s; the pack now has version %s",
                 cd->d.policy_id, cd->d.policy_version, fc_policy_version(p));
        return NULL;
    }
    return p;
}

/* The deadline's length for `who` under the decision's policy id (any
 * version), else the policy governing the order's city now. */
static int64_t sla_s(const fc_policy_pack *pk, const fc_case_decision *cd, fc_party who) {
    if (pk == NULL) {
        return 72 * 3600;
    }
    const fc_policy *p = fc_policy_pack_find(pk, cd->d.policy_id);
    if (p == NULL) {
        p = fc_policy_for(pk, fc_str_c(cd->country), fc_str_c(cd->city));
    }
    return fc_policy_appeal_sla_s(p, who);
}

/* ---------------------------------------------------------------------------
 * Writing entries.
 */
static void entry_for(fc_case_entry *e, const fc_case_decision *cd, fc_case_type type,
                      const char *id, const char *appeal, const char *actor, int64_t ts,
                      const char *body) {
    memset(e, 0, sizeof *e);
    e->id = fc_str_c(id);
    e->type = type;
    e->ts = ts;
    e->order = fc_str_c(cd->order);
    e->decision = fc_str_c(cd->id);
    e->appeal = fc_str_c(appeal);
    e->city = fc_str_c(cd->city);
    e->rider = fc_str_c(cd->rider);
    e->merchant = fc_str_c(cd->merchant);
    e->actor = fc_str_c(actor);
    e->body = fc_str_c(body);
}

/* Dump o (consumed) for a body; NULL on OOM. Free with free(). */
static char *dump(json_t *o) {
    char *s = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    return s;
}

static int put(json_t *o, const char *key, json_t *v) {
    return v == NULL || json_object_set_new(o, key, v) != 0;
}

static int append_ledger(fc_store *s, const fc_case_decision *cd, const fc_ledger_entry *le,
                         const char *actor, int64_t ts, fc_err *err) {
    char *body = NULL;
    size_t len = 0;
    if (fc_case_ledger_json(le, &body, &len) != FC_OK) {
        return fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory writing a ledger entry");
    }
    fc_case_entry e;
    entry_for(&e, cd, FC_CASE_LEDGER, le->id, "", actor, ts, body);
    int rc = fc_store_case_append(s, &e, -1, NULL, NULL, err);
    fc_free(body);
    return rc;
}

/* The decision's ledger entries as stored: those that took effect (what is
 * left of each, once fc_case_ledger_left has run) and their reversals. */
typedef struct ledger_read {
    fc_ledger_entry in_effect[LEDGER_MAX];
    size_t n;
    int reversed[LEDGER_MAX];
    fc_ledger_entry rev[LEDGER_MAX];
    size_t n_rev;
    fc_err *err;
} ledger_read;

static int ledger_cb(void *ud, const fc_case_entry *e) {
    ledger_read *lr = ud;
    if (e->type != FC_CASE_LEDGER) {
        return FC_OK;
    }
    fc_ledger_entry le;
    int rc = fc_case_ledger_parse(e->body, &le, lr->err);
    if (rc != FC_OK) {
        return rc;
    }
    if (le.kind == FC_LEDGER_REVERSAL) {
        if (lr->n_rev < LEDGER_MAX) {
            lr->rev[lr->n_rev++] = le;
        }
    } else if (lr->n < LEDGER_MAX) {
        lr->in_effect[lr->n++] = le;
    }
    return FC_OK;
}

/* Reverse what is left of the entries of the decision that took effect and
 * burden `party` (its penalty or chargeback), keeping keep_percent of it:
 * another item of the same decision (its review item, another appeal) may
 * have undone a share already. cause is the item's id. */
static int reverse_party(fc_store *s, const fc_case_decision *cd, fc_party party, const char *cause,
                         int keep_percent, const char *actor, int64_t ts, fc_err *err) {
    ledger_read *lr = fc_calloc(1, sizeof *lr);
    if (lr == NULL) {
        return fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory reading the ledger");
    }
    lr->err = err;
    fc_case_filter f;
    fc_case_filter_init(&f);
    f.type = FC_CASE_LEDGER;
    f.decision = fc_str_c(cd->id);
    int rc = fc_store_case_scan(s, &f, ledger_cb, lr, err);
    if (rc == FC_OK) {
        fc_case_ledger_left(lr->in_effect, lr->n, lr->rev, lr->n_rev, lr->reversed);
    }
    for (size_t i = 0; rc == FC_OK && i < lr->n; i++) {
        const fc_ledger_entry *le = &lr->in_effect[i];
        if (le->party != party ||
            (le->kind != FC_LEDGER_PENALTY && le->kind != FC_LEDGER_CHARGEBACK)) {
            continue;
        }
        if (lr->reversed[i] && le->points == 0 && le->amount_minor == 0) {
            continue; /* undone already (a warning's withdrawal included) */
        }
        fc_ledger_entry rev;
        fc_case_ledger_reverse(le, cause, keep_percent, &rev);
        if (rev.points == 0 && rev.amount_minor == 0 && !le->warning_only) {
            continue; /* nothing left to undo */
        }
        rc = append_ledger(s, cd, &rev, actor, ts, err);
    }
    fc_free(lr);
    return rc;
}

/* ---------------------------------------------------------------------------
 * Filing.
 */
/* Whether a position is given (both coordinates) and in range. */
static int geo_in_range(const fc_appeal_item *it) {
    return it->lat_e6 != FC_GEO_NONE && it->lng_e6 != FC_GEO_NONE && it->lat_e6 >= -90000000 &&
           it->lat_e6 <= 90000000 && it->lng_e6 >= -180000000 && it->lng_e6 <= 180000000;
}

const char *fc_appeal_item_problem(const fc_appeal_item *it) {
    const char *why = NULL;
    size_t tlen = it->text != NULL ? strlen(it->text) : 0;
    if (tlen > STATEMENT_MAX || (tlen > 0 && !fc_utf8_valid(it->text, tlen, NULL))) {
        why = "its text must be UTF-8 of at most 4000 bytes";
    }
    switch (it->kind) {
    case FC_APPEAL_ITEM_TEXT:
        if (tlen == 0) {
            why = "a text item needs its text";
        }
        break;
    case FC_APPEAL_ITEM_PHOTO:
        if (tlen == 0 || tlen > 128) {
            why = "a photo item needs the photo's id (at most 128 bytes)";
        } else if ((it->lat_e6 != FC_GEO_NONE || it->lng_e6 != FC_GEO_NONE) && !geo_in_range(it)) {
            why = "a photo's position needs a latitude and longitude in range";
        }
        break;
    case FC_APPEAL_ITEM_GPS:
        if (it->ts == FC_TS_NONE) {
            why = "a GPS point needs its instant";
        } else if (!geo_in_range(it)) {
            why = "a GPS point needs a latitude and longitude in range";
        }
        break;
    case FC_APPEAL_ITEM_CALL:
        if (it->ts == FC_TS_NONE) {
            why = "a call needs its instant";
        } else if (it->outcome == NULL || it->outcome[0] == '\0' || strlen(it->outcome) > 32) {
            why = "a call needs its outcome (no_answer, busy, reached, voicemail ...)";
        } else if (it->duration_s != FC_INT_NONE &&
                   (it->duration_s < 0 || it->duration_s > 4 * 3600)) {
            why = "a call's duration must be 0 to 14400 seconds";
        }
        break;
    default:
        why = "unknown kind of evidence";
    }
    return why;
}

static int check_filing(const fc_appeal_filing *f, fc_err *err) {
    if (f->appellant != FC_PARTY_RIDER && f->appellant != FC_PARTY_MERCHANT) {
        return fc_err_set(err, FC_EINVAL, NULL, 0, 0, "only a rider or a merchant can appeal");
    }
    if (f->appellant_id == NULL || f->appellant_id[0] == '\0') {
        return fc_err_set(err, FC_EINVAL, NULL, 0, 0, "name the appellant");
    }
    size_t len = f->statement != NULL ? strlen(f->statement) : 0;
    if (len == 0) {
        return fc_err_set(err, FC_EINVAL, NULL, 0, 0, "an appeal needs a statement");
    }
    if (len > STATEMENT_MAX || !fc_utf8_valid(f->statement, len, NULL)) {
        return fc_err_set(err, FC_EINVAL, NULL, 0, 0,
                          "the statement must be UTF-8 text of at most %d bytes", STATEMENT_MAX);
    }
    if (f->n_items > ITEMS_MAX || (f->n_items > 0 && f->items == NULL)) {
        return fc_err_set(err, FC_EINVAL, NULL, 0, 0, "at most %d evidence items", ITEMS_MAX);
    }
    for (size_t i = 0; i < f->n_items; i++) {
        const char *why = fc_appeal_item_problem(&f->items[i]);
        if (why != NULL) {
            return fc_err_set(err, FC_EINVAL, NULL, 0, 0, "evidence item %zu: %s", i + 1, why);
        }
    }
    return FC_OK;
}

static json_t *item_json(const fc_appeal_item *it) {
    json_t *o = json_object();
    if (o == NULL) {
        return NULL;
    }
    int bad = put(o, "kind", json_string(fc_appeal_item_kind_name(it->kind)));
    if (it->text != NULL && it->text[0] != '\0') {
        bad |= put(o, "text", json_string(it->text));
    }
    if (it->ts != FC_TS_NONE) {
        bad |= put(o, "ts", json_integer((json_int_t)it->ts));
    }
    if (it->lat_e6 != FC_GEO_NONE && it->lng_e6 != FC_GEO_NONE &&
        (it->kind == FC_APPEAL_ITEM_GPS || it->kind == FC_APPEAL_ITEM_PHOTO)) {
        bad |= put(o, "lat_e6", json_integer(it->lat_e6));
        bad |= put(o, "lng_e6", json_integer(it->lng_e6));
    }
    if (it->kind == FC_APPEAL_ITEM_CALL) {
        bad |= put(o, "outcome", json_string(it->outcome));
        if (it->duration_s != FC_INT_NONE) {
            bad |= put(o, "duration_s", json_integer(it->duration_s));
        }
    }
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* The body of a filing: an appeal (f given) or a review item (f NULL). */
static char *filing_body(const fc_case_decision *cd, const fc_appeal_filing *f, int64_t due_at,
                         int64_t sla) {
    json_t *o = json_object();
    if (o == NULL) {
        return NULL;
    }
    int bad = 0;
    bad |= put(o, "kind", json_string(f != NULL ? "appeal" : "review"));
    bad |= put(o, "decision", json_string(cd->id));
    bad |= put(o, "incident", json_string(fc_incident_name(cd->d.incident)));
    bad |= put(o, "liable", json_string(fc_party_name(cd->d.liable)));
    bad |= put(o, "rule", json_string(cd->d.rule_id));
    bad |= put(o, "policy", json_string(cd->d.policy_id));
    bad |= put(o, "policy_version", json_string(cd->d.policy_version));
    bad |= put(o, "appellant", json_string(f != NULL ? fc_party_name(f->appellant) : ""));
    bad |= put(o, "appellant_id", json_string(f != NULL ? f->appellant_id : ""));
    bad |= put(o, "statement", json_string(f != NULL ? f->statement : ""));
    json_t *items = json_array();
    bad |= items == NULL;
    for (size_t i = 0; items != NULL && f != NULL && i < f->n_items; i++) {
        json_t *it = item_json(&f->items[i]);
        bad |= it == NULL || json_array_append_new(items, it) != 0;
    }
    bad |= put(o, "items", items);
    bad |= put(o, "sla_s", json_integer((json_int_t)sla));
    bad |= put(o, "due_at", json_integer((json_int_t)due_at));
    bad |= put(o, "sanction", json_boolean(cd->d.consequence.suspend_days > 0));
    bad |= put(o, "suspend_days", json_integer(cd->d.consequence.suspend_days));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return dump(o);
}

/* What the re-judging found. */
typedef struct rejudge {
    const fc_case_decision *cd;
    const fc_policy *p;
    int found;            /* the order was visited */
    int has_incident;     /* the same incident is still decided */
    fc_case_decision now; /* the new decision of that incident */
    int rc;
} rejudge;

static int rejudge_cb(void *ud, const fc_scan_order *o) {
    rejudge *r = ud;
    fc_policy_input in = *o->input;
    in.stacked_orders = r->cd->stacked_orders;
    fc_decision d[FC_JUDGE_MAX_DECISIONS];
    size_t n = 0;
    r->found = 1;
    r->rc = fc_judge(r->p, &in, FC_LANG_EN, d, FC_JUDGE_MAX_DECISIONS, &n);
    for (size_t i = 0; r->rc == FC_OK && i < n; i++) {
        if (d[i].incident == r->cd->d.incident) {
            r->has_incident = 1;
            fc_case_decision_make(r->p, &in, &d[i], &r->now);
        }
    }
    return 0;
}

/* Auto-review of appeal `a` filed on decision cd: writes its REVIEWED entry
 * (and the reversals when it overturns) in one transaction, conditional on
 * nothing having happened to the appeal since `a->last_seq`. */
static int auto_review(fc_store *s, const fc_policy_pack *pk, const fc_case_decision *cd,
                       const fc_appeal_filing *f, const fc_appeal *a, int64_t now, fc_err *err) {
    char reason[1024] = "";
    const char *outcome = "queued";
    rejudge *rj = fc_calloc(1, sizeof *rj);
    fc_event *extra = fc_calloc(ITEMS_MAX, sizeof *extra);
    char(*ev_ids)[FC_CASE_ID_MAX + 32] = fc_calloc(ITEMS_MAX, sizeof *ev_ids);
    json_t *used = json_array(), *not_used = json_array();
    char *body = NULL;
    int rc = FC_OK;
    if (rj == NULL || extra == NULL || ev_ids == NULL || used == NULL || not_used == NULL) {
        rc = fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory in auto-review");
        goto out;
    }
    const fc_policy *p = decision_policy(pk, cd, reason, sizeof reason);
    if (p != NULL && !fc_policy_auto_review(p)) {
        goto out; /* the policy wants every appeal in front of a person */
    }
    size_t n_extra = 0, n_outside = 0;
    for (size_t i = 0; i < f->n_items; i++) {
        const fc_appeal_item *it = &f->items[i];
        const char *why = NULL;
        if (it->kind == FC_APPEAL_ITEM_TEXT || it->kind == FC_APPEAL_ITEM_PHOTO) {
            why = "only a person weighs it";
        } else if (it->ts < cd->created_at ||
                   (cd->closed_at != FC_TS_NONE &&
                    it->ts > cd->closed_at +
                                 (it->kind == FC_APPEAL_ITEM_GPS ? FC_DOOR_GPS_AFTER_S : 0))) {
            /* A position a few minutes after delivery still tells where
             * the rider stood (door_gps_m reads that long). */
            why = "outside the order's life (created to closed; positions to 5 min after)";
            n_outside++;
        }
        if (why != NULL) {
            json_t *x = json_object();
            if (x == NULL || put(x, "item", json_integer((json_int_t)i + 1)) ||
                put(x, "why", json_string(why)) || json_array_append_new(not_used, x) != 0) {
                rc = fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory in auto-review");
                goto out;
            }
            continue;
        }
        fc_event *e = &extra[n_extra];
        fc_event_init(e);
        snprintf(ev_ids[n_extra], sizeof ev_ids[n_extra], "%s:%zu", a->id, i + 1);
        e->id = fc_str_c(ev_ids[n_extra]);
        e->type = it->kind == FC_APPEAL_ITEM_CALL ? FC_EV_CONTACT_ATTEMPT : FC_EV_GPS;
        e->ts = it->ts;
        e->order = fc_str_c(cd->order);
        e->city = fc_str_c(cd->city);
        e->rider = fc_str_c(cd->rider);
        if (it->kind == FC_APPEAL_ITEM_CALL) {
            e->channel = fc_str_c("call");
            e->outcome = fc_str_c(it->outcome);
        } else {
            e->lat_e6 = it->lat_e6;
            e->lng_e6 = it->lng_e6;
        }
        n_extra++;
        if (json_array_append_new(used, json_integer((json_int_t)i + 1)) != 0) {
            rc = fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory in auto-review");
            goto out;
        }
    }
    if (p == NULL) {
        /* reason says which version is gone */
    } else if (cd->d.consequence.suspend_days > 0) {
        snprintf(reason, sizeof reason,
                 "the decision carries a %d-day suspension: only a person decides",
                 (int)cd->d.consequence.suspend_days);
    } else if (n_extra == 0 && n_outside > 0) {
        char from[32], to[32];
        fc_time_format_utc(cd->created_at, from, sizeof from);
        fc_time_format_utc(cd->closed_at, to, sizeof to);
        snprintf(reason, sizeof reason,
                 "%zu call(s) or GPS point(s) fall outside the order's life (%s to %s; positions "
                 "up to 5 min after): they cannot change the facts, a person decides",
                 n_outside, from, to);
    } else if (n_extra == 0) {
        snprintf(reason, sizeof reason,
                 "no evidence that can be read as events (calls, GPS points): a person decides");
    } else {
        rj->cd = cd;
        rj->p = p;
        fc_scan_opts so;
        fc_scan_opts_init(&so);
        so.policies = pk;
        rc = fc_scan_order_one(s, &so, fc_str_c(cd->order), extra, n_extra, rejudge_cb, rj, err);
        if (rc == FC_OK) {
            rc = rj->rc;
        }
        if (rc == FC_ENOTFOUND) {
            rc = FC_OK;
            snprintf(reason, sizeof reason, "the order's events are not in the store");
        } else if (rc != FC_OK) {
            goto out;
        } else if (!rj->has_incident) {
            outcome = "overturned";
            snprintf(reason, sizeof reason,
                     "with the new evidence the order has no %s incident any more",
                     fc_incident_name(cd->d.incident));
        } else if (rj->now.d.review) {
            snprintf(reason, sizeof reason,
                     "re-judged with the new evidence: %s (rule %s) needs a person",
                     fc_party_name(rj->now.d.liable),
                     rj->now.d.rule_id[0] != '\0' ? rj->now.d.rule_id : "none");
        } else if (rj->now.d.liable != a->appellant) {
            outcome = "overturned";
            snprintf(reason, sizeof reason,
                     "re-judged with the new evidence: %s liable (rule %s), no longer the %s",
                     fc_party_name(rj->now.d.liable), rj->now.d.rule_id,
                     fc_party_name(a->appellant));
        } else {
            snprintf(reason, sizeof reason,
                     "re-judged with the new evidence: still %s liable (rule %s)",
                     fc_party_name(rj->now.d.liable), rj->now.d.rule_id);
        }
    }
    json_t *o = json_object();
    int bad = o == NULL;
    if (o != NULL) {
        bad |= put(o, "outcome", json_string(outcome));
        bad |= put(o, "reason", json_string(reason));
        bad |= put(o, "policy", json_string(cd->d.policy_id));
        bad |= put(o, "policy_version", json_string(cd->d.policy_version));
        bad |= json_object_set(o, "used", used) != 0;
        bad |= json_object_set(o, "not_used", not_used) != 0;
        if (rj->has_incident) {
            json_t *r = json_object();
            bad |= r == NULL;
            if (r != NULL) {
                bad |= put(r, "decision", json_string(rj->now.id));
                bad |= put(r, "liable", json_string(fc_party_name(rj->now.d.liable)));
                bad |= put(r, "rule", json_string(rj->now.d.rule_id));
                bad |= put(r, "review", json_boolean(rj->now.d.review));
                bad |= put(r, "explanation", json_string(rj->now.explanation[FC_LANG_EN]));
                bad |= put(r, "margin", json_string(rj->now.margin_text[FC_LANG_EN]));
            }
            bad |= put(o, "rejudged", r);
        } else {
            bad |= put(o, "rejudged", json_null());
        }
    }
    body = bad ? NULL : dump(o);
    if (bad) {
        json_decref(o);
    }
    if (body == NULL) {
        rc = fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory in auto-review");
        goto out;
    }
    char id[FC_CASE_ID_MAX + 32];
    snprintf(id, sizeof id, "%s%s", a->id, FC__APPEAL_REVIEWED_SUFFIX);
    fc_case_entry e;
    entry_for(&e, cd, FC_CASE_APPEAL_REVIEWED, id, a->id, "auto-review", now, body);
    rc = fc_store_begin(s, err);
    if (rc != FC_OK) {
        goto out;
    }
    int dup = 0;
    rc = fc_store_case_append(s, &e, a->last_seq, &dup, NULL, err);
    if (rc == FC_OK && !dup && strcmp(outcome, "overturned") == 0) {
        rc = reverse_party(s, cd, a->appellant, a->id, 0, "auto-review", now, err);
    }
    if (rc == FC_OK) {
        rc = fc_store_end(s, err);
    } else {
        fc_store_rollback(s);
        if (rc == FC_ECONFLICT) {
            rc = FC_OK; /* someone acted on the appeal first: their entry stands */
        }
    }
out:
    free(body);
    json_decref(used);
    json_decref(not_used);
    fc_free(ev_ids);
    fc_free(extra);
    fc_free(rj);
    return rc;
}

/* The decision of the same order that supersedes `id`, if any, into by. */
int fc_appeal_file(fc_store *s, const fc_policy_pack *pk, const fc_appeal_filing *f, int64_t now,
                   const char *actor, fc_appeal *out, fc_err *err) {
    fc_arena *arena = fc_arena_new(0);
    fc_case_decision *cd = fc_calloc(1, sizeof *cd);
    char *body = NULL;
    int rc = FC_OK;
    fc_appeal a;
    fc__appeal_init(&a);
    if (arena == NULL || cd == NULL) {
        rc = fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory filing an appeal");
        goto out;
    }
    if (f == NULL || f->decision == NULL || f->decision[0] == '\0') {
        rc = fc_err_set(err, FC_EINVAL, NULL, 0, 0, "name the decision appealed");
        goto out;
    }
    rc = check_filing(f, err);
    if (rc != FC_OK) {
        goto out;
    }
    int64_t recorded_at = 0;
    rc = fc__appeal_decision(s, f->decision, arena, cd, &recorded_at, err);
    if (rc != FC_OK) {
        goto out;
    }
    const char *own = f->appellant == FC_PARTY_RIDER ? cd->rider : cd->merchant;
    if (strcmp(own, f->appellant_id) != 0) {
        rc = fc_err_set(err, FC_EINVAL, NULL, 0, 0,
                        "%s %s is not the %s of decision %s; only they can appeal it",
                        fc_party_name(f->appellant), f->appellant_id, fc_party_name(f->appellant),
                        cd->id);
        goto out;
    }
    if (cd->d.liable != f->appellant) {
        rc = fc_err_set(err, FC_EINVAL, NULL, 0, 0,
                        "decision %s holds the %s liable, not the %s: there is nothing to appeal",
                        cd->id, fc_party_name(cd->d.liable), fc_party_name(f->appellant));
        goto out;
    }
    /* A decision the judge replaced since (the order's facts or the
     * policy changed) is no longer in force: the one that replaced it is
     * what to appeal; a withdrawn one holds nobody liable any more. */
    char by[FC_CASE_ID_MAX];
    rc = fc__appeal_replaced_by(s, cd->id, cd->order, by, err);
    if (rc != FC_OK) {
        goto out;
    }
    if (strncmp(by, "wdr-", 4) == 0) {
        rc = fc_err_set(err, FC_EINVAL, NULL, 0, 0,
                        "decision %s was withdrawn (%s: the order no longer has the incident): "
                        "there is nothing to appeal",
                        cd->id, by);
        goto out;
    }
    if (by[0] != '\0') {
        rc = fc_err_set(err, FC_EINVAL, NULL, 0, 0,
                        "decision %s was superseded by %s (the order's facts or the policy "
                        "changed): appeal that one",
                        cd->id, by);
        goto out;
    }
    char id[FC_CASE_ID_MAX];
    fc_appeal_id(cd->id, f->appellant, f->appellant_id, id);

    fc_appeal_filing stored = *f;
    rc = fc_appeal_get(s, id, now, &a, err);
    if (rc == FC_OK) {
        /* Filed before: a resumed auto-review reads what was filed then. */
        fc_appeal_case c;
        rc = fc_appeal_load(s, id, now, arena, &c, err);
        if (rc != FC_OK) {
            goto out;
        }
        stored.statement = c.statement;
        stored.items = c.items;
        stored.n_items = c.n_items;
    } else if (rc == FC_ENOTFOUND) {
        int64_t sla = sla_s(pk, cd, f->appellant);
        body = filing_body(cd, f, now + sla, sla);
        if (body == NULL) {
            rc = fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory filing an appeal");
            goto out;
        }
        fc_case_entry e;
        entry_for(&e, cd, FC_CASE_APPEAL_FILED, id, id, actor != NULL ? actor : f->appellant_id,
                  now, body);
        rc = fc_store_case_append(s, &e, 0, NULL, NULL, err);
        if (rc != FC_OK && rc != FC_ECONFLICT) {
            goto out; /* a conflict: the same filing went in at the same time */
        }
        rc = fc_appeal_get(s, id, now, &a, err);
    }
    if (rc != FC_OK) {
        goto out;
    }
    /* A filing whose auto-review never ran (or was cut short) gets it now. */
    if (!a.auto_reviewed && a.state == FC_APPEAL_PENDING && a.last_seq > 0) {
        const fc_policy *p = pk != NULL ? fc_policy_pack_find(pk, cd->d.policy_id) : NULL;
        if (p == NULL || fc_policy_auto_review(p)) {
            rc = auto_review(s, pk, cd, &stored, &a, now, err);
            if (rc == FC_OK) {
                rc = fc_appeal_get(s, id, now, &a, err);
            }
        }
    }
out:
    if (out != NULL) {
        *out = a;
    }
    free(body);
    fc_free(cd);
    fc_arena_free(arena);
    return rc;
}

/* ---------------------------------------------------------------------------
 * The review queue.
 */
typedef struct review_scan {
    fc_dict *queued;             /* review item ids already filed */
    char (*ids)[FC_CASE_ID_MAX]; /* decisions in force needing review, newest first */
    size_t n, cap;
    fc_err *err;
} review_scan;

static int queued_cb(void *ud, const fc_case_entry *e) {
    review_scan *r = ud;
    return fc_dict_intern(r->queued, e->id) < 0
               ? fc_err_set(r->err, FC_ENOMEM, NULL, 0, 0, "out of memory")
               : FC_OK;
}

static int needs_review_cb(void *ud, const fc_case_entry *e, int superseded) {
    review_scan *r = ud;
    (void)superseded; /* the query asked for decisions in force only */
    if (e->id.n >= FC_CASE_ID_MAX) {
        return FC_OK;
    }
    if (fc_grow((void **)&r->ids, &r->cap, r->n + 1, sizeof *r->ids) != FC_OK) {
        return fc_err_set(r->err, FC_ENOMEM, NULL, 0, 0, "out of memory");
    }
    fc_str_cpy(r->ids[r->n++], FC_CASE_ID_MAX, e->id);
    return FC_OK;
}

int fc_appeal_queue_reviews(fc_store *s, const fc_policy_pack *pk, int64_t now, size_t *added,
                            fc_err *err) {
    review_scan r = {fc_dict_new(), NULL, 0, 0, err};
    fc_arena *arena = fc_arena_new(0);
    fc_case_decision *cd = fc_calloc(1, sizeof *cd);
    size_t n_added = 0;
    int in_batch = 0;
    int rc = FC_OK;
    if (r.queued == NULL || arena == NULL || cd == NULL) {
        rc = fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory queueing reviews");
        goto out;
    }
    fc_case_filter f;
    fc_case_filter_init(&f);
    f.type = FC_CASE_APPEAL_FILED;
    rc = fc_store_case_scan(s, &f, queued_cb, &r, err);
    if (rc != FC_OK) {
        goto out;
    }
    /* The decisions needing review still in force: superseded and withdrawn
     * ones are left to the store. */
    fc_case_decision_query dq;
    fc_case_decision_query_init(&dq);
    dq.review = 1;
    dq.current_only = 1;
    rc = fc_store_case_decisions(s, &dq, needs_review_cb, &r, err);
    if (rc != FC_OK) {
        goto out;
    }
    rc = fc_store_begin(s, err);
    in_batch = rc == FC_OK;
    for (size_t i = r.n; rc == FC_OK && i-- > 0;) { /* oldest first */
        const char *dec = r.ids[i];
        char id[FC_CASE_ID_MAX];
        hashed_id("rev-", &dec, 1, id, sizeof id);
        if (fc_dict_find(r.queued, fc_str_c(id)) >= 0) {
            continue;
        }
        int64_t recorded_at = 0;
        fc_arena_reset(arena);
        rc = fc__appeal_decision(s, dec, arena, cd, &recorded_at, err);
        if (rc != FC_OK) {
            break;
        }
        int64_t sla = sla_s(pk, cd, FC_PARTY_PLATFORM);
        char *body = filing_body(cd, NULL, recorded_at + sla, sla);
        if (body == NULL) {
            rc = fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory queueing reviews");
            break;
        }
        fc_case_entry e;
        entry_for(&e, cd, FC_CASE_APPEAL_FILED, id, id, "review-queue", now, body);
        int dup = 0;
        rc = fc_store_case_append(s, &e, -1, &dup, NULL, err);
        free(body);
        n_added += rc == FC_OK && !dup;
    }
    if (in_batch) {
        if (rc == FC_OK) {
            rc = fc_store_end(s, err);
        } else {
            fc_store_rollback(s);
        }
    }
out:
    if (added != NULL) {
        *added = rc == FC_OK ? n_added : 0;
    }
    fc_dict_free(r.queued);
    fc_free(r.ids);
    fc_free(cd);
    fc_arena_free(arena);
    return rc;
}

/* ---------------------------------------------------------------------------
 * Verdicts.
 */
static int check_verdict(const fc_appeal_verdict *v, fc_err *err) {
    if (v == NULL || (unsigned)v->verdict > FC_VERDICT_PARTIAL) {
        return fc_err_set(err, FC_EINVAL, NULL, 0, 0, "the verdict is uphold, overturn or partial");
    }
    size_t len = v->reason != NULL ? strlen(v->reason) : 0;
    if (len == 0 || len > STATEMENT_MAX || !fc_utf8_valid(v->reason, len, NULL)) {
        return fc_err_set(err, FC_EINVAL, NULL, 0, 0,
                          "a verdict needs a reason (UTF-8, at most %d bytes)", STATEMENT_MAX);
    }
    if (v->reviewer == NULL || v->reviewer[0] == '\0' || strlen(v->reviewer) > 63) {
        return fc_err_set(err, FC_EINVAL, NULL, 0, 0,
                          "a verdict needs the reviewer's name (at most 63 bytes)");
    }
    if (v->verdict == FC_VERDICT_PARTIAL && (v->keep_percent < 1 || v->keep_percent > 99)) {
        return fc_err_set(err, FC_EINVAL, NULL, 0, 0,
                          "a partial verdict keeps 1 to 99 percent of the penalty");
    }
    return FC_OK;
}

/* The ledger entries a verdict on item `a` implies, inside the open batch. */
static int verdict_ledger(fc_store *s, const fc_appeal *a, const fc_appeal_verdict *v,
                          const fc_case_decision *cd, int64_t now, fc_err *err) {
    if (a->kind == FC_APPEAL_KIND_APPEAL) {
        if (v->verdict == FC_VERDICT_UPHOLD) {
            return FC_OK;
        }
        int keep = v->verdict == FC_VERDICT_PARTIAL ? v->keep_percent : 0;
        return reverse_party(s, cd, a->appellant, a->id, keep, v->reviewer, now, err);
    }
    /* A review item: the decision's entries never took effect. */
    if (v->verdict == FC_VERDICT_OVERTURN) {
        return FC_OK;
    }
    fc_ledger_entry le[8];
    size_t n = fc_case_ledger_for(cd, 1, le, 8);
    int rc = FC_OK;
    for (size_t i = 0; rc == FC_OK && i < n; i++) {
        rc = append_ledger(s, cd, &le[i], v->reviewer, now, err);
    }
    if (rc == FC_OK && v->verdict == FC_VERDICT_PARTIAL) {
        rc = reverse_party(s, cd, cd->d.liable, a->id, v->keep_percent, v->reviewer, now, err);
    }
    return rc;
}

int fc_appeal_decide(fc_store *s, const char *id, const fc_appeal_verdict *v, int64_t expect_seq,
                     int64_t now, fc_appeal *out, fc_err *err) {
    fc_arena *arena = fc_arena_new(0);
    fc_case_decision *cd = fc_calloc(1, sizeof *cd);
    char *body = NULL;
    int in_batch = 0;
    fc_appeal a;
    fc__appeal_init(&a);
    int rc = FC_OK;
    if (arena == NULL || cd == NULL) {
        rc = fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory deciding an appeal");
        goto out;
    }
    rc = check_verdict(v, err);
    if (rc != FC_OK) {
        goto out;
    }
    /* The write lock first: what is read below cannot change before the
     * verdict is written. */
    rc = fc_store_begin(s, err);
    if (rc != FC_OK) {
        goto out;
    }
    in_batch = 1;
    rc = fc_appeal_get(s, id, now, &a, err);
    if (rc != FC_OK) {
        goto out;
    }
    if (a.last_seq != expect_seq) {
        rc = fc_err_set(err, FC_ECONFLICT, NULL, 0, 0,
                        "%s changed since it was read (someone else acted on it first); "
                        "it is now %s",
                        id, fc_appeal_state_name(a.state));
        goto out;
    }
    /* Not pending any more: someone (a reviewer, auto-review, the judge
     * superseding or withdrawing the decision) changed it first. */
    if (a.state == FC_APPEAL_MOOT) {
        rc = fc_err_set(err, FC_ECONFLICT, NULL, 0, 0,
                        "%s is moot: decision %s is no longer in force (%s %s), nothing is left "
                        "to decide",
                        id, a.decision,
                        strncmp(a.replaced_by, "wdr-", 4) == 0 ? "withdrawn by" : "superseded by",
                        a.replaced_by);
        goto out;
    }
    if (a.state != FC_APPEAL_PENDING) {
        rc = fc_err_set(err, FC_ECONFLICT, NULL, 0, 0, "%s is already decided (%s by %s)", id,
                        fc_appeal_state_name(a.state), a.decided_by);
        goto out;
    }
    if (v->verdict == FC_VERDICT_PARTIAL && a.sanction) {
        rc = fc_err_set(err, FC_EINVAL, NULL, 0, 0,
                        "%s carries a suspension: uphold or overturn it, a share cannot be kept",
                        id);
        goto out;
    }
    rc = fc__appeal_decision(s, a.decision, arena, cd, NULL, err);
    if (rc != FC_OK) {
        goto out;
    }
    json_t *o = json_object();
    int bad = o == NULL;
    if (o != NULL) {
        bad |= put(o, "verdict", json_string(fc_verdict_name(v->verdict)));
        bad |= put(o, "reason", json_string(v->reason));
        bad |= put(o, "reviewer", json_string(v->reviewer));
        bad |= put(o, "keep_percent",
                   json_integer(v->verdict == FC_VERDICT_PARTIAL ? v->keep_percent : 0));
        bad |= put(o, "due_at", json_integer((json_int_t)a.due_at));
        bad |= put(o, "late", json_boolean(now > a.due_at));
    }
    body = bad ? NULL : dump(o);
    if (bad) {
        json_decref(o);
    }
    if (body == NULL) {
        rc = fc_err_set(err, FC_ENOMEM, NULL, 0, 0, "out of memory deciding an appeal");
        goto out;
    }
    char eid[FC_CASE_ID_MAX + 32];
    snprintf(eid, sizeof eid, "%s%s", a.id, FC__APPEAL_DECIDED_SUFFIX);
    fc_case_entry e;
    entry_for(&e, cd, FC_CASE_APPEAL_DECIDED, eid, a.id, v->reviewer, now, body);
    int dup = 0;
    rc = fc_store_case_append(s, &e, expect_seq, &dup, NULL, err);
    if (rc == FC_OK && dup) {
        rc = fc_err_set(err, FC_ECONFLICT, NULL, 0, 0, "%s was decided by someone else first", id);
    }
    if (rc != FC_OK) {
        goto out;
    }
    rc = verdict_ledger(s, &a, v, cd, now, err);
    if (rc != FC_OK) {
        goto out;
    }
    rc = fc_store_end(s, err);
    in_batch = 0;
    if (rc == FC_OK) {
        rc = fc_appeal_get(s, id, now, &a, err);
    }
out:
    if (in_batch) {
        fc_store_rollback(s);
    }
    if (out != NULL) {
        *out = a;
    }
    free(body);
    fc_free(cd);
    fc_arena_free(arena);
    return rc;
}
