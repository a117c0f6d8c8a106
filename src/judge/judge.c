/*
 * The judge: for each incident of a closed order, the first rule of the
 * policy whose condition holds decides; its evidence, the counterfactual
 * margin and the explanation are filled in the reader's language.
 *
 * Pure: no I/O, no allocation, no globals but the constant message tables
 * below. Every buffer is a fixed array of fc_decision or on the stack.
 */
#include <math.h>
#include <stddef.h>
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

/* Cut the text s[0..n) (NUL-terminated) back to a UTF-8 boundary, after a
 * copy may have split a multi-byte character. */
static void trim_utf8(char *s, size_t n) {
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

static const char *unit_word(const char *unit, fc_lang lang) {
    for (size_t i = 0; i < sizeof unit_table / sizeof unit_table[0]; i++) {
        if (strcmp(unit_table[i].unit, unit) == 0) {
            return unit_table[i].word[lang];
        }
    }
    return unit;
}

/* Decimals a number is shown with: one for minutes, none for metres,
 * counts, days and levels, two for anything else that is not whole (money in
 * major units); -1 for "none, unless the value is not whole" (then two).
 * `unit` may be "" and `name` is the fact or let name (its suffix tells the
 * unit when `unit` is empty). */
static int decimals_of(const char *unit, const char *name) {
    switch (unit[0]) {
    case '\0': {
        size_t n = strlen(name);
        if (n >= 4 && memcmp(name + n - 4, "_min", 4) == 0) {
            return 1;
        }
        if ((n >= 2 && memcmp(name + n - 2, "_m", 2) == 0) ||
            (n >= 5 && memcmp(name + n - 5, "_days", 5) == 0)) {
            return 0;
        }
        return -1;
    }
    case 'm':
        if (strcmp(unit, "min") == 0) {
            return 1;
        }
        return strcmp(unit, "m") == 0 ? 0 : -1;
    case 'c':
        return strcmp(unit, "count") == 0 ? 0 : -1;
    case 'd':
        return strcmp(unit, "days") == 0 ? 0 : -1;
    case 'l':
        return strcmp(unit, "level") == 0 ? 0 : -1;
    case 's':
        return strcmp(unit, "stars") == 0 || strcmp(unit, "score") == 0 ? 0 : -1;
    case '0':
        return strcmp(unit, "0/1") == 0 ? 0 : -1;
    default:
        return -1;
    }
}

/* Print v with `dec` decimals (0..2) as printf's "%.*f" would, into buf
 * (at least 32 bytes); returns the length. Values far from a rounding tie
 * are printed by hand; ties and huge values go through snprintf, which
 * rounds the exact binary value. "-0" and "-0.0" are printed without the
 * sign (a "-0.00" keeps it, as it always did). */
static size_t print_fixed(double v, int dec, char *buf, size_t bufsz) {
    static const double scale[3] = {1, 10, 100};
    double x = v * scale[dec];
    double frac = x - floor(x);
    int n;
    if (!(fabs(x) < 1e9) || fabs(frac - 0.5) < 1e-6) {
        n = snprintf(buf, bufsz, "%.*f", dec, v);
    } else {
        int neg = x < 0;
        long long r = llround(neg ? -x : x);
        if (neg && r == 0 && dec < 2) {
            neg = 0;
        }
        /* Digits from the last, the point after `dec` of them, then at
         * least one whole digit. */
        char tmp[32];
        size_t k = 0;
        for (int i = 0; i < dec || r > 0 || k <= (size_t)dec; i++) {
            if (i == dec && dec > 0) {
                tmp[k++] = '.';
            }
            tmp[k++] = (char)('0' + r % 10);
            r /= 10;
        }
        if (neg) {
            tmp[k++] = '-';
        }
        size_t len = k < bufsz ? k : bufsz - 1;
        for (size_t i = 0; i < len; i++) {
            buf[i] = tmp[k - 1 - i];
        }
        buf[len] = '\0';
        return len;
    }
    if (n > 0 && (strcmp(buf, "-0.0") == 0 || strcmp(buf, "-0") == 0)) {
        memmove(buf, buf + 1, (size_t)n);
        n--;
    }
    return n < 0 ? 0 : (size_t)n >= bufsz ? bufsz - 1 : (size_t)n;
}

/* Format a number the way explanations show it (decimals_of); returns the
 * length written to buf (at least 32 bytes). */
static size_t format_number(double v, const char *unit, const char *name, char *buf, size_t bufsz) {
    if (v == 0) {
        v = 0; /* no "-0.0" */
    }
    int dec = decimals_of(unit, name);
    if (dec < 0) {
        dec = v == floor(v) ? 0 : 2;
    }
    return print_fixed(v, dec, buf, bufsz);
}

static size_t format_value(const fc_value *v, const char *unit, const char *name, char *buf,
                           size_t bufsz) {
    if (v->absent) {
        buf[0] = '-';
        buf[1] = '\0';
        return 1;
    }
    if (v->kind == FC_FACT_TEXT) {
        fc_str_cpy(buf, bufsz, v->text);
        return strlen(buf);
    }
    return format_number(v->num, unit, name, buf, bufsz);
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

/* A text being written into a fixed buffer: bytes past the capacity are
 * dropped, and the end is cut back to a UTF-8 boundary when it is closed. */
typedef struct outbuf {
    char *p;
    size_t n, cap; /* cap includes the NUL */
} outbuf;

/* Append n bytes, as many as fit; returns 0 when some did not. */
static int put(outbuf *o, const char *s, size_t n) {
    size_t room = o->cap - 1 - o->n;
    int whole = n <= room;
    if (!whole) {
        n = room;
    }
    memcpy(o->p + o->n, s, n);
    o->n += n;
    return whole;
}

static void close_out(outbuf *o) {
    o->p[o->n] = '\0';
    trim_utf8(o->p, o->n);
}

/* Fill a message of the tables above: "{c}" is replaced by vals[i] (of
 * length lens[i]) where keys[i] == c; other text is copied. The result is cut
 * at a UTF-8 boundary when it does not fit. */
static void fill(char *dst, size_t cap, const char *tmpl, const char *keys, const char *const *vals,
                 const size_t *lens) {
    outbuf o = {dst, 0, cap};
    const char *s = tmpl;
    while (*s != '\0' && o.n + 1 < cap) {
        const char *brace = strchr(s, '{');
        if (brace == NULL) {
            put(&o, s, strlen(s));
            break;
        }
        put(&o, s, (size_t)(brace - s));
        s = brace;
        const char *k = s[1] != '\0' && s[2] == '}' ? strchr(keys, s[1]) : NULL;
        if (k != NULL) {
            put(&o, vals[k - keys], lens[k - keys]);
            s += 3;
        } else {
            put(&o, s, 1);
            s++;
        }
    }
    close_out(&o);
}

static void render_margin_text(const verdict *v, fc_decision *d, fc_lang lang) {
    d->margin_text[0] = '\0';
    if (!v->has_margin) {
        if (v->margin_from_closest || v->rule == NULL) {
            copy_text(d->margin_text, sizeof d->margin_text, margin_none[lang]);
        }
        return;
    }
    const fc_evidence *e = &v->margin_ev;
    char mu[64], t[32];
    size_t nm = format_number(d->margin, e->unit, e->fact, mu, 32);
    size_t nt = format_number(e->threshold.num, e->unit, e->fact, t, sizeof t);
    /* The margin with its unit ("4.0 min"; a count has no unit word). */
    const char *u = unit_word(e->unit, lang);
    size_t nu = strlen(u);
    if (nu > 0 && nu < sizeof mu - 2 - nm) {
        mu[nm++] = ' ';
        memcpy(mu + nm, u, nu);
        nm += nu;
        mu[nm] = '\0';
    }
    const char *r = v->closest ? v->closest->id : "";
    const char *vals[4] = {mu, e->fact, t, r};
    size_t lens[4] = {nm, strlen(e->fact), nt, strlen(r)};
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
    fill(d->margin_text, sizeof d->margin_text, tmpl, "mftr", vals, lens);
}

/* "id@version" of the policy into buf; returns the length. */
static size_t policy_ref(const fc_policy *p, char *buf, size_t bufsz) {
    outbuf o = {buf, 0, bufsz};
    const char *id = fc_policy_id(p), *ver = fc_policy_version(p);
    put(&o, id, strlen(id));
    put(&o, "@", 1);
    put(&o, ver, strlen(ver));
    close_out(&o);
    return o.n;
}

static int is_word(const char *name, size_t len, const char *word, size_t wlen) {
    return len == wlen && memcmp(name, word, len) == 0;
}

/* Value of a placeholder name for the template into buf (at least 128
 * bytes). Returns its length, or -1 when the name is unknown. */
static long resolve(const fc_policy *p, const fc_policy_input *in, const verdict *v,
                    const fc_decision *d, const char *name, size_t len, char *buf, size_t bufsz) {
    char key[64];
    if (len == 0 || len >= sizeof key) {
        return -1;
    }
    memcpy(key, name, len);
    key[len] = '\0';
    if (is_word(key, len, "rule", 4)) {
        copy_text(buf, bufsz, d->rule_id);
        return (long)strlen(buf);
    }
    if (is_word(key, len, "policy", 6)) {
        return (long)policy_ref(p, buf, bufsz);
    }
    int margin = is_word(key, len, "margin", 6);
    if (margin || is_word(key, len, "threshold", 9)) {
        if (!v->has_margin) {
            buf[0] = '-';
            buf[1] = '\0';
            return 1;
        }
        const fc_evidence *e = &v->margin_ev;
        return (long)format_number(margin ? d->margin : e->threshold.num, e->unit, e->fact, buf,
                                   bufsz);
    }
    int fi = fc_fact_find(key, len);
    if (fi >= 0) {
        fc_value fv = fc_fact_value((size_t)fi, in);
        return (long)format_value(&fv, fc_fact_unit((size_t)fi), key, buf, bufsz);
    }
    /* A let or a value a comparison of the decision's evidence has on
     * either side: the value it was judged with. */
    for (size_t i = 0; i < d->n_evidence; i++) {
        const fc_evidence *e = &d->evidence[i];
        if (strcmp(e->fact, key) == 0) {
            return (long)format_value(&e->value, e->unit, key, buf, bufsz);
        }
        if (strcmp(e->against, key) == 0) {
            return (long)format_value(&e->threshold, e->unit, key, buf, bufsz);
        }
    }
    /* A let or a value no comparison touched: computed for this order. */
    fc_value nv;
    const char *unit = NULL;
    if (fc_policy_name_value(p, key, len, in, &nv, &unit) == FC_OK) {
        return (long)format_value(&nv, unit ? unit : "", key, buf, bufsz);
    }
    return -1;
}

/* Fill {placeholders} of tmpl into d->explanation. A name the policy does
 * not know is left as written, braces included (the loader refuses unknown
 * names). A value that does not fit ends the text before it. */
static void render_template(const fc_policy *p, const fc_policy_input *in, const verdict *v,
                            fc_decision *d, const char *tmpl) {
    outbuf o = {d->explanation, 0, sizeof d->explanation};
    const char *s = tmpl;
    while (*s != '\0' && o.n + 1 < o.cap) {
        const char *brace = strchr(s, '{');
        if (brace == NULL) {
            put(&o, s, strlen(s));
            break;
        }
        if (!put(&o, s, (size_t)(brace - s))) {
            break;
        }
        s = brace;
        const char *close = strchr(s + 1, '}');
        char val[128];
        long k = close != NULL
                     ? resolve(p, in, v, d, s + 1, (size_t)(close - s - 1), val, sizeof val)
                     : -1;
        if (k >= 0) {
            if ((size_t)k >= o.cap - o.n) {
                break;
            }
            put(&o, val, (size_t)k);
            s = close + 1;
            continue;
        }
        put(&o, s, 1);
        s++;
    }
    close_out(&o);
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
    const char *inc = incident_words[d->incident][lang];
    const char *vals[3] = {pv, inc, d->margin_text};
    size_t lens[3] = {policy_ref(p, pv, sizeof pv), strlen(inc), strlen(d->margin_text)};
    fill(d->explanation, sizeof d->explanation, undetermined_text[lang], "pix", vals, lens);
}

/* Append evidence to the decision, as much as fits. */
static void add_evidence(fc_decision *d, const fc_evidence *ev, size_t n) {
    for (size_t i = 0; i < n && d->n_evidence < FC_EVIDENCE_MAX; i++) {
        d->evidence[d->n_evidence++] = ev[i];
    }
}

/* The closest of rules[0..n) to holding (none of them holds), with its
 * evidence into ev (FC_EVIDENCE_MAX) and its count into *n_ev. */
static const fc_rule *closest_rule(const fc_policy_input *in, const fc_rule *const *rules, size_t n,
                                   fc_evidence *ev, size_t *n_ev) {
    fc_evidence cur[FC_EVIDENCE_MAX];
    closeness best = {0, 0, 0};
    const fc_rule *closest = NULL;
    *n_ev = 0;
    for (size_t i = 0; i < n; i++) {
        size_t n_cur = 0, n_seen = 0;
        (void)fc_cond_eval(rules[i]->when, in, cur, &n_cur, &n_seen);
        closeness c = measure(cur, n_cur);
        if (closest == NULL || closer(&c, &best)) {
            closest = rules[i];
            best = c;
            *n_ev = n_cur;
            memcpy(ev, cur, n_cur * sizeof cur[0]);
        }
    }
    return closest;
}

/* Judge one incident into *d (fully overwritten) and describe the verdict
 * for rendering. The rules are tried without evidence; only the deciding
 * rule is evaluated again with it (and, when no party is named, the rules
 * before it, to find the closest). */
static void judge_incident(const fc_policy *p, const fc_policy_input *in, fc_incident_kind k,
                           int severe, fc_decision *d, verdict *v) {
    /* Everything but the evidence array is zeroed (its entries past
     * n_evidence are left as they were: 4 KiB not worth clearing). */
    memset(d, 0, offsetof(fc_decision, evidence));
    memset(&d->n_evidence, 0, sizeof *d - offsetof(fc_decision, n_evidence));
    memset(v, 0, sizeof *v);
    d->incident = k;
    d->severe = severe;
    d->liable = FC_PARTY_UNDETERMINED;
    copy_text(d->policy_id, sizeof d->policy_id, fc_policy_id(p));
    copy_text(d->policy_version, sizeof d->policy_version, fc_policy_version(p));
    copy_text(d->currency, sizeof d->currency, fc_policy_currency(p));

    const fc_rule *const *rules = NULL;
    size_t n_rules = fc_policy_rules(p, k, &rules);
    size_t at = n_rules;
    for (size_t i = 0; i < n_rules; i++) {
        if (fc_cond_eval(rules[i]->when, in, NULL, NULL, NULL)) {
            at = i;
            break;
        }
    }

    fc_evidence ev[FC_EVIDENCE_MAX];
    if (at < n_rules) {
        const fc_rule *decider = rules[at];
        size_t n_ev = 0, n_seen = 0;
        (void)fc_cond_eval(decider->when, in, ev, &n_ev, &n_seen);
        v->rule = decider;
        d->liable = decider->liable;
        d->review = decider->review || decider->liable == FC_PARTY_UNDETERMINED;
        copy_text(d->rule_id, sizeof d->rule_id, decider->id);
        fc_policy_consequence(p, decider, in, &d->consequence);
        /* An account sanction is never applied without a human. */
        d->review = d->review || d->consequence.suspend_days > 0;
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
     * what the closest rule before it missed by, and its evidence is shown
     * too. */
    if (d->liable == FC_PARTY_UNDETERMINED && !v->has_margin) {
        size_t n_best = 0;
        v->closest = closest_rule(in, rules, at, ev, &n_best);
        v->margin_from_closest = v->closest != NULL || at == n_rules;
        if (v->closest != NULL) {
            add_evidence(d, ev, n_best);
            long m = pick_margin(ev, n_best, 0);
            if (m >= 0) {
                v->margin_ev = ev[m];
                v->has_margin = 1;
            }
        }
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
