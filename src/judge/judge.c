/*
 * The judge: for each incident of a closed order, the first rule of the
 * policy whose condition holds decides; its evidence, the counterfactual
 * margin and the explanation are filled in the reader's language.
 *
 * Pure: no I/O, no allocation, no globals but the constant message tables
 * below. Every buffer is a fixed array of fc_decision or on the stack.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "judge/judge.h"

/* ---------------------------------------------------------------------------
 * The judge's own words, per language (fc_lang order: en, ar, zh, pt).
 */

/* What an incident is called in a sentence. */
static const char *const incident_words[FC_INCIDENT__COUNT][FC_LANG__COUNT] = {
    [FC_INCIDENT_LATE] = {"late delivery", "تأخر التوصيل", "延误送达", "atraso na entrega"},
    [FC_INCIDENT_CANCELLED] = {"cancellation", "إلغاء الطلب", "订单取消", "cancelamento"},
    [FC_INCIDENT_UNDELIVERABLE] = {"failed delivery", "تعذر التسليم", "无法送达",
                                   "entrega não realizada"},
    [FC_INCIDENT_COMPLAINT] = {"complaint", "شكوى", "投诉", "reclamação"},
    [FC_INCIDENT_BAD_RATING] = {"low rating", "تقييم منخفض", "差评", "avaliação baixa"},
    [FC_INCIDENT_FAR_DELIVERY] = {"delivery marked far from the address",
                                  "تسليم مسجل بعيدًا عن العنوان", "标记送达位置远离地址",
                                  "entrega marcada longe do endereço"},
};

/* Units as read in a sentence; a unit not listed is printed as it is. */
typedef struct unit_words {
    const char *unit;
    const char *word[FC_LANG__COUNT];
} unit_words;

static const unit_words unit_table[] = {
    {"min", {"min", "دقيقة", "分钟", "min"}},
    {"m", {"m", "م", "米", "m"}},
    {"days", {"days", "يوم", "天", "dias"}},
    {"count", {"", "", "", ""}},
    {"level", {"level", "درجة", "级", "nível"}},
    {"stars", {"stars", "نجوم", "星", "estrelas"}},
    {"score", {"", "", "", ""}},
    {"0/1", {"", "", "", ""}},
    {"money", {"", "", "", ""}},
};

/* Margin sentences: {m} margin with its unit, {f} fact, {t} threshold, {r} the
 * closest rule. */
static const char *const margin_over[FC_LANG__COUNT] = {
    "{m} over {f} threshold {t}",
    "{m} فوق حد {f} البالغ {t}",
    "{f} 超出阈值 {t} 共 {m}",
    "{m} acima do limite de {f} ({t})",
};
static const char *const margin_under[FC_LANG__COUNT] = {
    "{m} under {f} threshold {t}",
    "{m} تحت حد {f} البالغ {t}",
    "{f} 低于阈值 {t} 共 {m}",
    "{m} abaixo do limite de {f} ({t})",
};
/* An equality or list membership that held ("dispatch_outage equals 1"). */
static const char *const margin_equals[FC_LANG__COUNT] = {
    "{f} equals {t}",
    "{f} يساوي {t}",
    "{f} 等于 {t}",
    "{f} igual a {t}",
};
static const char *const margin_at[FC_LANG__COUNT] = {
    "{f} exactly at threshold {t}",
    "{f} عند الحد {t} تمامًا",
    "{f} 正好等于阈值 {t}",
    "{f} exatamente no limite ({t})",
};
/* When undetermined: what the closest rule missed by. */
static const char *const margin_missed[FC_LANG__COUNT] = {
    "closest rule {r} missed by {m} on {f} (threshold {t})",
    "أقرب قاعدة هي {r} وفاتتها بفارق {m} في {f} (الحد {t})",
    "最接近的规则 {r} 在 {f} 上相差 {m}(阈值 {t})",
    "a regra mais próxima, {r}, falhou por {m} em {f} (limite {t})",
};
/* Undetermined with no comparison to point at. */
static const char *const margin_none[FC_LANG__COUNT] = {
    "no rule came close to holding",
    "لم تقترب أي قاعدة من الانطباق",
    "没有规则接近成立",
    "nenhuma regra chegou perto de se aplicar",
};
/* The explanation of an undetermined decision: {p} policy id@version, {i}
 * the incident in words, {x} the margin text. */
static const char *const undetermined_text[FC_LANG__COUNT] = {
    "No rule of policy {p} could decide this {i} with the data we have: {x}. A person will "
    "review it; nobody is penalised until then.",
    "لم تتمكن أي قاعدة في السياسة {p} من البت في حالة {i} هذه بالبيانات المتوفرة: {x}. "
    "سيراجعها موظف، ولن يُعاقب أحد قبل ذلك.",
    "政策 {p} 中没有规则能根据现有数据判定这次{i}:{x}。将由人工审核,审核前不会处罚任何人。",
    "Nenhuma regra da política {p} conseguiu decidir este caso de {i} com os dados "
    "disponíveis: {x}. Uma pessoa vai analisá-lo; ninguém é penalizado até lá.",
};

/* ---------------------------------------------------------------------------
 * Small helpers.
 */

/* Copy a C string into a fixed buffer, truncated at a UTF-8 boundary. */
static void copy_text(char *dst, size_t dstsz, const char *src) {
    if (dstsz == 0) {
        return;
    }
    size_t n = src ? strlen(src) : 0;
    if (n >= dstsz) {
        n = dstsz - 1;
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80) {
            n--;
        }
    }
    if (n > 0) {
        memcpy(dst, src, n);
    }
    dst[n] = '\0';
}

/* Cut a NUL-terminated buffer back to a UTF-8 boundary (after snprintf may
 * have split a multi-byte character). */
static void trim_utf8(char *s) {
    size_t n = strlen(s);
    size_t i = n;
    /* Walk back over continuation bytes to the last lead byte. */
    while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80) {
        i--;
    }
    if (i == 0) {
        return;
    }
    unsigned char lead = (unsigned char)s[i - 1];
    size_t want = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    if (n - (i - 1) < want) {
        s[i - 1] = '\0';
    }
}

/* Fill a message of the tables above: "{c}" is replaced by vals[i] where
 * keys[i] == c; other text is copied. The result is cut at a UTF-8 boundary
 * when it does not fit. */
static void fill(char *dst, size_t cap, const char *tmpl, const char *keys,
                 const char *const *vals) {
    size_t o = 0;
    for (const char *s = tmpl; *s != '\0' && o + 1 < cap;) {
        const char *k = s[0] == '{' && s[1] != '\0' && s[2] == '}' ? strchr(keys, s[1]) : NULL;
        if (k != NULL) {
            const char *val = vals[k - keys];
            size_t n = strlen(val);
            if (o + n >= cap) {
                n = cap - 1 - o;
            }
            memcpy(dst + o, val, n);
            o += n;
            s += 3;
            continue;
        }
        dst[o++] = *s++;
    }
    dst[o] = '\0';
    trim_utf8(dst);
}

static const char *unit_word(const char *unit, fc_lang lang) {
    for (size_t i = 0; i < sizeof unit_table / sizeof unit_table[0]; i++) {
        if (strcmp(unit_table[i].unit, unit) == 0) {
            return unit_table[i].word[lang];
        }
    }
    return unit;
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

/* Format a number the way explanations show it: one decimal for minutes,
 * none for metres, counts, days and levels, two decimals for anything else
 * that is not whole (money in major units). `unit` may be "" and `name` is
 * the fact or let name (its suffix tells the unit when `unit` is empty). */
static void format_number(double v, const char *unit, const char *name, char *buf, size_t bufsz) {
    int minutes = strcmp(unit, "min") == 0 || (unit[0] == '\0' && ends_with(name, "_min"));
    int whole = strcmp(unit, "m") == 0 || strcmp(unit, "count") == 0 || strcmp(unit, "days") == 0 ||
                strcmp(unit, "level") == 0 || strcmp(unit, "stars") == 0 ||
                strcmp(unit, "score") == 0 || strcmp(unit, "0/1") == 0 ||
                (unit[0] == '\0' && (ends_with(name, "_m") || ends_with(name, "_days")));
    if (v == 0) {
        v = 0; /* no "-0.0" */
    }
    if (minutes) {
        snprintf(buf, bufsz, "%.1f", v);
    } else if (whole || v == floor(v)) {
        snprintf(buf, bufsz, "%.0f", v);
    } else {
        snprintf(buf, bufsz, "%.2f", v);
    }
    if (strcmp(buf, "-0.0") == 0 || strcmp(buf, "-0") == 0) {
        copy_text(buf, bufsz, buf + 1);
    }
}

static void format_value(const fc_value *v, const char *unit, const char *name, char *buf,
                         size_t bufsz) {
    if (v->absent) {
        copy_text(buf, bufsz, "-");
    } else if (v->kind == FC_FACT_TEXT) {
        fc_str_cpy(buf, bufsz, v->text);
    } else {
        format_number(v->num, unit, name, buf, bufsz);
    }
}

/* Is this comparison numeric on both sides, so its margin means something? */
static int numeric(const fc_evidence *e) {
    return e->value.kind == FC_FACT_NUM && !e->value.absent && e->threshold.kind == FC_FACT_NUM &&
           !e->threshold.absent && strcmp(e->op, "in") != 0;
}

/* Is the comparison an ordering (<, <=, >, >=)? Its margin is a distance
 * along a scale; an equality on a 0/1 flag only says "was it set". */
static int ordered(const fc_evidence *e) {
    return e->op[0] == '<' || e->op[0] == '>';
}

/* Did the comparison go the way the rule needed (true, or false under a
 * `not`)? */
static int went_right(const fc_evidence *e) {
    return (e->held != 0) != (e->negated != 0);
}

/* ---------------------------------------------------------------------------
 * One incident.
 */

/* How close a rule that did not hold came to holding: fewest failing
 * comparisons, then the smallest total margin of the failing ones. Margins
 * of different comparisons are in different units (minutes, metres,
 * counts), so each is added relative to its threshold (a 1 min miss on a
 * 10 min threshold counts as 0.1), and a failing comparison no small change
 * flips (an absent value, a word, a 0/1 flag) ranks after every numeric
 * miss. */
typedef struct closeness {
    size_t failing;      /* comparisons that failed (at least 1 for a failed rule) */
    size_t categorical;  /* of those, how many no small change flips */
    double total_margin; /* sum of the numeric failing margins, relative to thresholds */
} closeness;

static closeness measure(const fc_evidence *ev, size_t n) {
    closeness c = {0, 0, 0};
    for (size_t i = 0; i < n; i++) {
        if (went_right(&ev[i])) {
            continue;
        }
        c.failing++;
        if (!numeric(&ev[i]) || !ordered(&ev[i])) {
            c.categorical++;
        } else {
            c.total_margin += ev[i].margin / fmax(fabs(ev[i].threshold.num), 1.0);
        }
    }
    if (c.failing == 0) {
        c.failing = 1;
    }
    return c;
}

static int closer(const closeness *a, const closeness *b) {
    if (a->failing != b->failing) {
        return a->failing < b->failing;
    }
    if (a->categorical != b->categorical) {
        return a->categorical < b->categorical;
    }
    return a->total_margin < b->total_margin;
}

/* The comparison a margin is taken from: among ev[0..n) that went the way
 * the rule needed (want 1) or not (want 0) and are numeric, the smallest margin, orderings before
 * equalities; -1 when none. Ties keep the first. */
static long pick_margin(const fc_evidence *ev, size_t n, int want) {
    long best = -1;
    for (size_t i = 0; i < n; i++) {
        if (went_right(&ev[i]) != (want != 0) || !numeric(&ev[i])) {
            continue;
        }
        if (best < 0 || ordered(&ev[i]) > ordered(&ev[best]) ||
            (ordered(&ev[i]) == ordered(&ev[best]) && ev[i].margin < ev[best].margin)) {
            best = (long)i;
        }
    }
    return best;
}

/* Everything the language-dependent rendering needs besides the decision. */
typedef struct verdict {
    const fc_rule *rule;     /* the deciding rule, NULL when none held */
    const fc_rule *closest;  /* undetermined: the rule closest to holding */
    fc_evidence margin_ev;   /* the comparison the margin comes from */
    int has_margin;          /* margin_ev is set */
    int margin_from_closest; /* the margin is what the closest rule missed by */
} verdict;

static void render_margin_text(const verdict *v, fc_decision *d, fc_lang lang) {
    d->margin_text[0] = '\0';
    if (!v->has_margin) {
        if (v->margin_from_closest || v->rule == NULL) {
            copy_text(d->margin_text, sizeof d->margin_text, margin_none[lang]);
        }
        return;
    }
    const fc_evidence *e = &v->margin_ev;
    char m[32], t[32];
    format_number(d->margin, e->unit, e->fact, m, sizeof m);
    format_number(e->threshold.num, e->unit, e->fact, t, sizeof t);
    /* The margin with its unit ("4.0 min"; a count has no unit word). */
    char mu[64];
    const char *u = unit_word(e->unit, lang);
    snprintf(mu, sizeof mu, u[0] != '\0' ? "%s %s" : "%s", m, u);
    const char *vals[4] = {mu, e->fact, t, v->closest ? v->closest->id : ""};
    const char *tmpl = margin_at[lang];
    if (v->margin_from_closest) {
        tmpl = margin_missed[lang];
    } else if (!ordered(e)) {
        tmpl = margin_equals[lang];
    } else if (e->value.num > e->threshold.num) {
        tmpl = margin_over[lang];
    } else if (e->value.num < e->threshold.num) {
        tmpl = margin_under[lang];
    }
    fill(d->margin_text, sizeof d->margin_text, tmpl, "mftr", vals);
}

/* Value of a placeholder name for the template. Returns 1 when found. */
static int resolve(const fc_policy *p, const fc_policy_input *in, const verdict *v,
                   const fc_decision *d, const char *name, size_t len, char *buf, size_t bufsz) {
    char key[64];
    if (len == 0 || len >= sizeof key) {
        return 0;
    }
    memcpy(key, name, len);
    key[len] = '\0';
    if (strcmp(key, "rule") == 0) {
        copy_text(buf, bufsz, d->rule_id);
        return 1;
    }
    if (strcmp(key, "policy") == 0) {
        snprintf(buf, bufsz, "%s@%s", fc_policy_id(p), fc_policy_version(p));
        return 1;
    }
    if (strcmp(key, "margin") == 0 || strcmp(key, "threshold") == 0) {
        if (!v->has_margin) {
            copy_text(buf, bufsz, "-");
        } else if (key[0] == 'm') {
            format_number(d->margin, v->margin_ev.unit, v->margin_ev.fact, buf, bufsz);
        } else {
            format_number(v->margin_ev.threshold.num, v->margin_ev.unit, v->margin_ev.fact, buf,
                          bufsz);
        }
        return 1;
    }
    int fi = fc_fact_find(key, len);
    if (fi >= 0) {
        fc_value fv = fc_fact_value((size_t)fi, in);
        format_value(&fv, fc_fact_unit((size_t)fi), key, buf, bufsz);
        return 1;
    }
    /* A let or a value: its value is known when a comparison of the
     * decision's evidence has it on either side. */
    for (size_t i = 0; i < d->n_evidence; i++) {
        const fc_evidence *e = &d->evidence[i];
        if (strcmp(e->fact, key) == 0) {
            format_value(&e->value, e->unit, key, buf, bufsz);
            return 1;
        }
        if (strcmp(e->against, key) == 0) {
            format_value(&e->threshold, e->unit, key, buf, bufsz);
            return 1;
        }
    }
    return 0;
}

/* Fill {placeholders} of tmpl into d->explanation. An unresolved name is
 * left as written, braces included (the loader refuses unknown names, so
 * this only happens for a let that no comparison evaluated). */
static void render_template(const fc_policy *p, const fc_policy_input *in, const verdict *v,
                            fc_decision *d, const char *tmpl) {
    size_t cap = sizeof d->explanation, o = 0;
    char *out = d->explanation;
    for (const char *s = tmpl; *s != '\0' && o + 1 < cap;) {
        const char *close = s[0] == '{' ? strchr(s + 1, '}') : NULL;
        char val[128];
        if (close != NULL &&
            resolve(p, in, v, d, s + 1, (size_t)(close - s - 1), val, sizeof val)) {
            size_t k = strlen(val);
            if (o + k >= cap) {
                break;
            }
            memcpy(out + o, val, k);
            o += k;
            s = close + 1;
            continue;
        }
        out[o++] = *s++;
    }
    out[o] = '\0';
    trim_utf8(out);
}

static void render(const fc_policy *p, const fc_policy_input *in, const verdict *v, fc_decision *d,
                   fc_lang lang) {
    d->lang = lang;
    render_margin_text(v, d, lang);
    if (v->rule != NULL) {
        const char *tmpl =
            v->rule->explain[lang] ? v->rule->explain[lang] : v->rule->explain[FC_LANG_EN];
        render_template(p, in, v, d, tmpl ? tmpl : "");
        return;
    }
    char pv[128];
    snprintf(pv, sizeof pv, "%s@%s", fc_policy_id(p), fc_policy_version(p));
    const char *vals[3] = {pv, incident_words[d->incident][lang], d->margin_text};
    fill(d->explanation, sizeof d->explanation, undetermined_text[lang], "pix", vals);
}

/* Append evidence to the decision, as much as fits. */
static void add_evidence(fc_decision *d, const fc_evidence *ev, size_t n) {
    for (size_t i = 0; i < n && d->n_evidence < FC_EVIDENCE_MAX; i++) {
        d->evidence[d->n_evidence++] = ev[i];
    }
}

/* Judge one incident into *d (fully overwritten) and describe the verdict
 * for rendering. */
static void judge_incident(const fc_policy *p, const fc_policy_input *in, fc_incident_kind k,
                           int severe, fc_decision *d, verdict *v) {
    memset(d, 0, sizeof *d);
    memset(v, 0, sizeof *v);
    d->incident = k;
    d->severe = severe;
    d->liable = FC_PARTY_UNDETERMINED;
    copy_text(d->policy_id, sizeof d->policy_id, fc_policy_id(p));
    copy_text(d->policy_version, sizeof d->policy_version, fc_policy_version(p));
    copy_text(d->currency, sizeof d->currency, fc_policy_currency(p));

    const fc_rule *const *rules = NULL;
    size_t n_rules = fc_policy_rules(p, k, &rules);

    fc_evidence ev[FC_EVIDENCE_MAX], best_ev[FC_EVIDENCE_MAX];
    size_t n_best = 0;
    closeness best = {0, 0, 0};
    const fc_rule *decider = NULL;
    size_t n_ev = 0;
    for (size_t i = 0; i < n_rules; i++) {
        const fc_rule *r = rules[i];
        size_t n_seen = 0;
        n_ev = 0;
        int holds = fc_cond_eval(r->when, in, ev, &n_ev, &n_seen);
        if (holds) {
            decider = r;
            break;
        }
        closeness c = measure(ev, n_ev);
        if (v->closest == NULL || closer(&c, &best)) {
            v->closest = r;
            best = c;
            n_best = n_ev;
            memcpy(best_ev, ev, n_ev * sizeof ev[0]);
        }
    }

    if (decider != NULL) {
        v->rule = decider;
        d->liable = decider->liable;
        d->review = decider->review || decider->liable == FC_PARTY_UNDETERMINED;
        copy_text(d->rule_id, sizeof d->rule_id, decider->id);
        fc_policy_consequence(p, decider, in, &d->consequence);
        add_evidence(d, ev, n_ev);
        long m = pick_margin(ev, n_ev, 1);
        if (m >= 0) {
            v->margin_ev = ev[m];
            v->has_margin = 1;
        }
    } else {
        d->review = 1;
    }

    /* Undetermined (no rule held, or a catch-all named nobody): the margin is
     * what the closest rule missed by, and its evidence is shown too. */
    if (d->liable == FC_PARTY_UNDETERMINED && v->closest != NULL && !v->has_margin) {
        v->margin_from_closest = 1;
        add_evidence(d, best_ev, n_best);
        long m = pick_margin(best_ev, n_best, 0);
        if (m >= 0) {
            v->margin_ev = best_ev[m];
            v->has_margin = 1;
        }
    } else if (d->liable == FC_PARTY_UNDETERMINED && decider == NULL) {
        v->margin_from_closest = 1;
    }

    if (v->has_margin) {
        copy_text(d->margin_fact, sizeof d->margin_fact, v->margin_ev.fact);
        copy_text(d->margin_unit, sizeof d->margin_unit, v->margin_ev.unit);
        d->margin = v->margin_ev.margin;
    }
}

/* The incidents of an order under the policy's on-time definition, in the
 * order decisions are listed. */
static size_t incidents_of(const fc_policy *p, const fc_order_facts *f,
                           fc_incident_kind kinds[FC_INCIDENT__COUNT], int *severe) {
    uint32_t bits = fc_order_incidents(f, fc_policy_thresholds(p));
    static const struct {
        uint32_t bit;
        fc_incident_kind kind;
    } map[FC_INCIDENT__COUNT] = {
        {FC_INC_LATE, FC_INCIDENT_LATE},
        {FC_INC_CANCELLED, FC_INCIDENT_CANCELLED},
        {FC_INC_UNDELIVERABLE, FC_INCIDENT_UNDELIVERABLE},
        {FC_INC_COMPLAINT, FC_INCIDENT_COMPLAINT},
        {FC_INC_BAD_RATING, FC_INCIDENT_BAD_RATING},
        {FC_INC_FAR_DELIVERY, FC_INCIDENT_FAR_DELIVERY},
    };
    size_t n = 0;
    for (size_t i = 0; i < FC_INCIDENT__COUNT; i++) {
        if (bits & map[i].bit) {
            kinds[n++] = map[i].kind;
        }
    }
    *severe = (bits & FC_INC_SEVERE_LATE) != 0;
    return n;
}

int fc_judge(const fc_policy *p, const fc_policy_input *in, fc_lang lang, fc_decision *out,
             size_t max, size_t *n) {
    if (n != NULL) {
        *n = 0;
    }
    if (p == NULL || in == NULL || in->facts == NULL || n == NULL || (out == NULL && max > 0)) {
        return FC_EINVAL;
    }
    if ((unsigned)lang >= FC_LANG__COUNT) {
        lang = FC_LANG_EN;
    }
    if (in->facts->status == FC_ORDER_OPEN) {
        return FC_OK;
    }
    fc_incident_kind kinds[FC_INCIDENT__COUNT];
    int severe = 0;
    size_t n_kinds = incidents_of(p, in->facts, kinds, &severe);
    for (size_t i = 0; i < n_kinds && *n < max; i++) {
        verdict v;
        fc_decision *d = &out[*n];
        judge_incident(p, in, kinds[i], kinds[i] == FC_INCIDENT_LATE && severe, d, &v);
        render(p, in, &v, d, lang);
        (*n)++;
    }
    return FC_OK;
}

void fc_judge_explain(const fc_policy *p, const fc_policy_input *in, fc_decision *d, fc_lang lang) {
    if (p == NULL || in == NULL || in->facts == NULL || d == NULL ||
        (unsigned)d->incident >= FC_INCIDENT__COUNT) {
        return;
    }
    if ((unsigned)lang >= FC_LANG__COUNT) {
        lang = FC_LANG_EN;
    }
    /* Judging is deterministic, so judging the incident again reproduces the
     * verdict; only the language-dependent texts are taken from it. */
    fc_decision again;
    verdict v;
    judge_incident(p, in, d->incident, d->severe, &again, &v);
    render(p, in, &v, &again, lang);
    d->lang = lang;
    memcpy(d->margin_text, again.margin_text, sizeof d->margin_text);
    memcpy(d->explanation, again.explanation, sizeof d->explanation);
}
