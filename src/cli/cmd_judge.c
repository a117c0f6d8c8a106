/*
 * fulcrum judge: judge the closed orders of the store and record the
 * decisions (docs/judge.md); `judge show` reads one order's decisions in
 * the rider's words, `judge list` lists decisions in force.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adjudicate/adjudicate.h"
#include "case/case.h"
#include "cli/cli.h"
#include "kpi/kpi.h"
#include "store/store.h"

/* ---------------------------------------------------------------------------
 * Options.
 */
typedef struct judge_args {
    const char *db, *policies, *from, *to, *city, *format, *lang;
    const char *party, *rule, *rider, *limit;
    const char *target; /* show: the order or decision */
    int help;
} judge_args;

static int usage_error(const char *sub, const char *fmt, const char *arg) {
    fprintf(stderr, "fulcrum judge%s%s: ", sub[0] ? " " : "", sub);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nRun 'fulcrum judge%s%s --help' for the options.\n", sub[0] ? " " : "", sub);
    return FC_EXIT_USAGE;
}

/* Parse argv[1..) into a; `allowed` lists the valued options the
 * subcommand takes ("db policies from ..."). One positional argument is
 * taken into a->target when `positional` is set. */
static int parse_args(const char *sub, int argc, char **argv, const char *allowed, int positional,
                      judge_args *a) {
    static const char *const names[] = {"db",   "policies", "from", "to",    "city", "format",
                                        "lang", "party",    "rule", "rider", "limit"};
    const char **slots[] = {&a->db,   &a->policies, &a->from, &a->to,    &a->city, &a->format,
                            &a->lang, &a->party,    &a->rule, &a->rider, &a->limit};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            a->help = 1;
            return FC_EXIT_OK;
        }
        if (arg[0] != '-' || arg[1] != '-') {
            if (positional && a->target == NULL) {
                a->target = arg;
                continue;
            }
            return usage_error(sub, "unexpected argument '%s'", arg);
        }
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t len = eq != NULL ? (size_t)(eq - name) : strlen(name);
        int which = -1;
        for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
            if (strlen(names[k]) == len && strncmp(name, names[k], len) == 0) {
                /* Only the options this subcommand takes. */
                const char *at = strstr(allowed, names[k]);
                while (at != NULL &&
                       ((at != allowed && at[-1] != ' ') || (at[len] != ' ' && at[len] != '\0'))) {
                    at = strstr(at + 1, names[k]);
                }
                if (at != NULL) {
                    which = (int)k;
                }
            }
        }
        if (which < 0) {
            return usage_error(sub, "unknown option '%s'", arg);
        }
        const char *val = eq != NULL ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (val == NULL) {
            return usage_error(sub, "option '%s' needs a value", arg);
        }
        *slots[which] = val;
    }
    return FC_EXIT_OK;
}

/* --from / --to into instants: an instant with its offset, or a date (the
 * local day of --city when the store knows its zone, else the UTC day; the
 * --to day is included). */
static int parse_period(const char *sub, fc_store *s, const judge_args *a, int64_t *from,
                        int64_t *to) {
    *from = FC_TS_NONE;
    *to = FC_TS_NONE;
    const char *texts[2] = {a->from, a->to};
    int64_t *outs[2] = {from, to};
    fc_ref *ref = NULL;
    int status = FC_EXIT_OK;
    for (int i = 0; i < 2; i++) {
        if (texts[i] == NULL) {
            continue;
        }
        int64_t ts;
        int32_t date;
        fc_err err;
        fc_err_clear(&err);
        if (fc_kpi_parse_when(texts[i], &ts, &date, &err) != FC_OK) {
            fprintf(stderr, "fulcrum judge%s%s: %s: %s\n", sub[0] ? " " : "", sub,
                    i == 0 ? "--from" : "--to", err.msg);
            status = FC_EXIT_USAGE;
            goto out;
        }
        if (ts != FC_TS_NONE) {
            *outs[i] = ts;
            continue;
        }
        int64_t day = (int64_t)date + (i == 1 ? 1 : 0);
        *outs[i] = day * 86400;
        if (a->city != NULL && a->city[0] != '\0') {
            if (ref == NULL) {
                ref = fc_ref_new();
                if (ref == NULL || fc_store_load_ref(s, ref, &err) != FC_OK) {
                    status = fc_cli_fail("judge", &err);
                    goto out;
                }
            }
            const fc_city *c = fc_ref_city(ref, fc_str_c(a->city));
            if (c != NULL && c->tz != NULL) {
                *outs[i] = fc_tz_to_utc(c->tz, day * 86400);
            }
        }
    }
out:
    fc_ref_free(ref);
    return status;
}

static int open_store(const judge_args *a, fc_store **s) {
    fc_err err;
    fc_err_clear(&err);
    if (fc_store_open(fc_cli_db_path(a->db), s, &err) != FC_OK) {
        return fc_cli_fail("judge", &err);
    }
    return FC_EXIT_OK;
}

static int load_pack(const judge_args *a, fc_policy_pack **pack) {
    fc_err err;
    fc_err_clear(&err);
    const char *dir = a->policies != NULL ? a->policies : fc_policy_dir();
    if (fc_policy_pack_load(dir, pack, &err) != FC_OK) {
        fprintf(stderr, "fulcrum judge: policies %s:\n", dir);
        fc_cli_fail("judge", &err);
        return FC_EXIT_USAGE; /* a policy pack that does not load is configuration */
    }
    return FC_EXIT_OK;
}

static int parse_format(const char *sub, const judge_args *a, fc_out_format *fmt) {
    *fmt = FC_OUT_TABLE;
    if (a->format != NULL) {
        int f = fc_out_format_from(a->format);
        if (f < 0) {
            return usage_error(sub, "--format is table, csv or json, not '%s'", a->format);
        }
        *fmt = (fc_out_format)f;
    }
    return FC_EXIT_OK;
}

/* ---------------------------------------------------------------------------
 * fulcrum judge: the run.
 */
static void help_run(FILE *f) {
    fprintf(f, "usage: fulcrum judge [options]\n"
               "       fulcrum judge show ORDER|DECISION [--lang en|ar|zh|pt]\n"
               "       fulcrum judge list [filters]\n"
               "\n"
               "Judge every closed order of the store under the policy pack: for each\n"
               "incident (late, cancelled, complaint...) decide who is responsible, with the\n"
               "evidence and the explanation, and record the decision and its penalties,\n"
               "chargebacks and compensations in the case log. Judging again changes nothing\n"
               "unless an order's facts or the policy changed; then the new decision\n"
               "supersedes the old one and the old one's ledger entries are reversed (an\n"
               "outcome rolled back to is recorded again), and a decision whose incident the\n"
               "order no longer has is withdrawn, its ledger entries reversed too.\n"
               "Prints the decisions of the orders judged by city and liable party, and a\n"
               "summary.\n"
               "\n"
               "options:\n"
               "  --db PATH         the store (default $FULCRUM_DB, else ./fulcrum.db)\n"
               "  --policies DIR    the policy pack (default: the shipped policies/)\n"
               "  --from WHEN       orders created at or after WHEN (YYYY-MM-DD or an instant\n"
               "                    with offset, 2026-03-01T10:00:00+03:00)\n"
               "  --to WHEN         orders created before WHEN (a date: that day included)\n"
               "  --city CITY       only this city\n"
               "  --format FMT      table (default), csv or json\n"
               "  --help            this text\n"
               "\n"
               "'fulcrum judge show --help' and 'fulcrum judge list --help' for the others.\n"
               "exit status: 0 done, 1 usage or policy error, 3 storage or internal error.\n");
}

typedef struct progress_state {
    double last;
} progress_state;

static void progress(void *ud, int64_t orders, int64_t read, int64_t total) {
    progress_state *p = ud;
    double now = fc_now_mono();
    if (now - p->last < 0.2 && read < total) {
        return;
    }
    p->last = now;
    if (total > 0) {
        fprintf(stderr, "\rjudging: %" PRId64 " orders, %3d%% of the log", orders,
                (int)(100 * read / total));
    } else {
        fprintf(stderr, "\rjudging: %" PRId64 " orders", orders);
    }
    fflush(stderr);
}

/* The run's decisions per city. */
typedef struct city_row {
    char city[64];
    int64_t judged; /* closed orders the run judged */
    int64_t decisions, review;
    int64_t by_party[FC_PARTY__COUNT];
} city_row;

typedef struct tally {
    city_row *rows;
    size_t n, cap;
} tally;

/* The row of a city, added when new; NULL on OOM. */
static city_row *tally_row(tally *t, fc_str city) {
    char name[64];
    fc_str_cpy(name, sizeof name, city);
    for (size_t i = 0; i < t->n; i++) {
        if (strcmp(t->rows[i].city, name) == 0) {
            return &t->rows[i];
        }
    }
    if (fc_grow((void **)&t->rows, &t->cap, t->n + 1, sizeof *t->rows) != FC_OK) {
        return NULL;
    }
    city_row *row = &t->rows[t->n++];
    memset(row, 0, sizeof *row);
    memcpy(row->city, name, sizeof name);
    return row;
}

/* A run's closed orders and their decisions, per city (an out-of-memory
 * row is left out of the table, never out of the run). */
static void tally_order(void *ud, const fc_order_facts *f, const fc_decision *d, size_t n) {
    city_row *row = tally_row(ud, f->city);
    if (row == NULL) {
        return;
    }
    row->judged++;
    for (size_t i = 0; i < n; i++) {
        row->decisions++;
        row->review += d[i].review != 0;
        if ((unsigned)d[i].liable < FC_PARTY__COUNT) {
            row->by_party[d[i].liable]++;
        }
    }
}

static int cmp_city(const void *a, const void *b) {
    return strcmp(((const city_row *)a)->city, ((const city_row *)b)->city);
}

static const fc_party table_parties[] = {FC_PARTY_RIDER,         FC_PARTY_MERCHANT,
                                         FC_PARTY_CUSTOMER,      FC_PARTY_PLATFORM,
                                         FC_PARTY_FORCE_MAJEURE, FC_PARTY_UNDETERMINED};
#define N_TABLE_PARTIES (sizeof table_parties / sizeof table_parties[0])

static void print_by_city(tally *t, fc_out_format fmt, FILE *out) {
    const char *names[4 + N_TABLE_PARTIES];
    int numeric[4 + N_TABLE_PARTIES];
    size_t nc = 0;
    names[nc] = "city";
    numeric[nc++] = 0;
    names[nc] = "orders judged";
    numeric[nc++] = 1;
    names[nc] = "decisions";
    numeric[nc++] = 1;
    for (size_t k = 0; k < N_TABLE_PARTIES; k++) {
        names[nc] = fc_party_name(table_parties[k]);
        numeric[nc++] = 1;
    }
    names[nc] = "review";
    numeric[nc++] = 1;
    fc_table *tb = fc_table_new(nc, names, numeric);
    if (tb == NULL) {
        return;
    }
    qsort(t->rows, t->n, sizeof *t->rows, cmp_city);
    city_row total;
    memset(&total, 0, sizeof total);
    char cells[4 + N_TABLE_PARTIES][24];
    const char *row[4 + N_TABLE_PARTIES];
    int64_t total_orders = 0;
    for (size_t i = 0; i <= t->n; i++) {
        const city_row *r = i < t->n ? &t->rows[i] : &total;
        if (i == t->n && t->n < 2) {
            break; /* a total of one city says nothing more */
        }
        int64_t orders = i < t->n ? r->judged : total_orders;
        size_t c = 0;
        row[c++] = i < t->n ? r->city : "total";
        snprintf(cells[c], sizeof cells[c], "%" PRId64, orders);
        row[c] = cells[c];
        c++;
        snprintf(cells[c], sizeof cells[c], "%" PRId64, r->decisions);
        row[c] = cells[c];
        c++;
        for (size_t k = 0; k < N_TABLE_PARTIES; k++) {
            snprintf(cells[c], sizeof cells[c], "%" PRId64, r->by_party[table_parties[k]]);
            row[c] = cells[c];
            c++;
        }
        snprintf(cells[c], sizeof cells[c], "%" PRId64, r->review);
        row[c] = cells[c];
        c++;
        fc_table_add(tb, row);
        if (i < t->n) {
            total_orders += orders;
            total.decisions += r->decisions;
            total.review += r->review;
            for (int k = 0; k < FC_PARTY__COUNT; k++) {
                total.by_party[k] += r->by_party[k];
            }
        }
    }
    fc_table_print(tb, fmt, out);
    fc_table_free(tb);
}

static void tally_free(tally *t) {
    fc_free(t->rows);
}

int fc_cli_judge_store(fc_store *s, fc_adj_opts *o, fc_out_format fmt, FILE *out, FILE *summary) {
    tally t = {NULL, 0, 0};
    int status = FC_EXIT_OK;
    progress_state ps = {0};
    int tty = fc_cli_stderr_tty();
    if (tty) {
        o->progress = progress;
        o->progress_ud = &ps;
    }
    o->on_order = tally_order;
    o->on_order_ud = &t;
    fc_adj_stats st;
    fc_err err;
    fc_err_clear(&err);
    int rc = fc_adj_run(s, o, &st, &err);
    if (tty) {
        fprintf(stderr, "\r%60s\r", "");
    }
    if (rc != FC_OK) {
        status = fc_cli_fail("judge", &err);
        goto out;
    }
    print_by_city(&t, fmt, out);
    fprintf(summary,
            "%sjudged %" PRId64 " closed orders: %" PRId64 " decisions (%" PRId64
            " need review); recorded %" PRId64 ", unchanged %" PRId64 ", superseded %" PRId64
            ", withdrawn %" PRId64 ", ledger entries %" PRId64 "\n",
            summary == out && fmt == FC_OUT_TABLE ? "\n" : "", st.orders, st.decisions, st.review,
            st.recorded, st.unchanged, st.superseded, st.withdrawn, st.ledger);
out:
    tally_free(&t);
    return status;
}

static int judge_run(int argc, char **argv) {
    judge_args a;
    memset(&a, 0, sizeof a);
    fc_store *s = NULL;
    fc_policy_pack *pack = NULL;
    int status = parse_args("", argc, argv, "db policies from to city format", 0, &a);
    if (status != FC_EXIT_OK || a.help) {
        if (a.help) {
            help_run(stdout);
        }
        return status;
    }
    fc_out_format fmt;
    if ((status = parse_format("", &a, &fmt)) != FC_EXIT_OK ||
        (status = load_pack(&a, &pack)) != FC_EXIT_OK || (status = open_store(&a, &s)) != 0) {
        goto out;
    }
    fc_adj_opts o;
    fc_adj_opts_init(&o);
    o.pack = pack;
    o.city = a.city;
    o.now = (int64_t)time(NULL);
    if ((status = parse_period("", s, &a, &o.from, &o.to)) != FC_EXIT_OK) {
        goto out;
    }
    status = fc_cli_judge_store(s, &o, fmt, stdout, fmt == FC_OUT_TABLE ? stdout : stderr);
out:
    fc_store_close(s);
    fc_policy_pack_free(pack);
    return status;
}

/* ---------------------------------------------------------------------------
 * fulcrum judge show.
 */
static void help_show(FILE *f) {
    fprintf(f, "usage: fulcrum judge show ORDER|DECISION [options]\n"
               "\n"
               "Print each decision in force about an order (or one decision by its id,\n"
               "dec-...) in plain words: the incident, who is responsible and by which rule,\n"
               "the explanation, what would have changed it, every piece of evidence, the\n"
               "consequence, the policy and version, and the ledger entries it made.\n"
               "\n"
               "options:\n"
               "  --db PATH         the store (default $FULCRUM_DB, else ./fulcrum.db)\n"
               "  --lang LANG       en (default), ar, zh or pt\n"
               "  --policies DIR    the policy pack, for the rules' descriptions\n"
               "  --help            this text\n"
               "\n"
               "exit status: 0 shown, 1 usage error or nothing found, 3 storage error.\n");
}

/* Labels of `judge show`, per language. */
enum {
    L_ORDER,
    L_DECISION,
    L_LIABLE,
    L_RULE,
    L_WHY,
    L_MARGIN,
    L_EVIDENCE,
    L_HELD,
    L_NOT_HELD,
    L_CONSEQUENCE,
    L_NONE,
    L_REVIEW,
    L_POLICY,
    L_LEDGER,
    L_SUPERSEDES,
    L__COUNT
};
static const char *const labels[FC_LANG__COUNT][L__COUNT] = {
    {"Order", "Decision", "Responsible", "Rule", "Why", "What would have changed it", "Evidence",
     "held", "did not hold", "Consequence", "none",
     "A person reviews this decision before it counts", "Policy", "Ledger", "Replaces"},
    {"الطلب", "القرار", "المسؤول", "القاعدة", "السبب", "ما الذي كان سيغير القرار", "الأدلة", "تحقق",
     "لم يتحقق", "النتيجة", "لا شيء", "يراجع موظف هذا القرار قبل أن يُحتسب", "السياسة",
     "السجل المالي", "يحل محل"},
    {"订单", "判定", "责任方", "规则", "原因", "怎样会改变结果", "证据", "成立", "不成立",
     "处理结果", "无", "此判定须经人工审核后才生效", "政策", "账目", "取代"},
    {"Pedido", "Decisão", "Responsável", "Regra", "Por quê", "O que teria mudado a decisão",
     "Evidências", "verdadeiro", "falso", "Consequência", "nenhuma",
     "Uma pessoa revisa esta decisão antes de ela valer", "Política", "Lançamentos", "Substitui"},
};

static void print_value(const fc_value *v, FILE *f) {
    if (v->absent) {
        fputs("(unknown)", f);
    } else if (v->kind == FC_FACT_TEXT) {
        fprintf(f, "%.*s", (int)v->text.n, v->text.p != NULL ? v->text.p : "");
    } else if (v->num == (double)(int64_t)v->num) {
        fprintf(f, "%" PRId64, (int64_t)v->num);
    } else {
        fprintf(f, "%.1f", v->num);
    }
}

/* Words of `judge show` that name things, per language: the parties, the
 * incidents, and the consequences (each a printf format). */
static const char *const party_words[FC_LANG__COUNT][FC_PARTY__COUNT] = {
    {"", "rider", "merchant", "customer", "platform", "force majeure (nobody)",
     "undetermined (a person decides)"},
    {"", "المندوب", "المطعم", "العميل", "المنصة", "قوة قاهرة (لا أحد)", "غير محدد (يقرر موظف)"},
    {"", "骑手", "商家", "顾客", "平台", "不可抗力(无责任方)", "待定(由人工判定)"},
    {"", "entregador", "estabelecimento", "cliente", "plataforma", "força maior (ninguém)",
     "indeterminado (uma pessoa decide)"},
};
static const char *const incident_words[FC_LANG__COUNT][FC_INCIDENT__COUNT] = {
    {"late", "cancelled", "undeliverable", "complaint", "bad rating",
     "delivered far from the door"},
    {"تأخير", "إلغاء", "تعذر التسليم", "شكوى", "تقييم سيئ", "تسليم بعيد عن الباب"},
    {"超时", "取消", "无法送达", "投诉", "差评", "远离门口送达"},
    {"atraso", "cancelamento", "não entregue", "reclamação", "avaliação ruim",
     "entregue longe da porta"},
};
enum { C_POINTS, C_FINE, C_SUSPEND, C_WARNING, C_CHARGEBACK, C_COMPENSATION, C_SEVERE, C__COUNT };
static const char *const consequence_words[FC_LANG__COUNT][C__COUNT] = {
    {"rider %+d points", "rider fined %s %s", "rider suspended %d days",
     "a warning only (exemption %s)", "merchant charged back %s %s", "customer compensated %s %s",
     "severe"},
    {"المندوب %+d نقاط", "غرامة على المندوب %s %s", "إيقاف المندوب %d أيام", "إنذار فقط (إعفاء %s)",
     "خصم من المطعم %s %s", "تعويض للعميل %s %s", "شديد"},
    {"骑手 %+d 分", "骑手罚款 %s %s", "骑手停单 %d 天", "仅警告(豁免 %s)", "向商家扣款 %s %s",
     "顾客获赔 %s %s", "严重"},
    {"entregador %+d pontos", "multa ao entregador %s %s", "entregador suspenso por %d dias",
     "apenas advertência (isenção %s)", "estorno cobrado do estabelecimento %s %s",
     "cliente compensado %s %s", "grave"},
};

static void print_money(const char *fmt, int64_t minor, const char *cur, FILE *f, int *first) {
    char buf[48];
    fc_money_format(minor, cur, buf, sizeof buf);
    fputs(*first ? "" : "; ", f);
    fprintf(f, fmt, buf, cur);
    *first = 0;
}

static void print_consequence(const fc_case_decision *cd, fc_lang lang, FILE *f) {
    const fc_consequence *c = &cd->d.consequence;
    const char *cur = cd->d.currency;
    const char *const *W = consequence_words[lang];
    int first = 1;
    fprintf(f, "  %s: ", labels[lang][L_CONSEQUENCE]);
    if (c->rider_points != 0) {
        fprintf(f, W[C_POINTS], (int)c->rider_points);
        first = 0;
    }
    if (c->rider_amount_minor != 0) {
        print_money(W[C_FINE], c->rider_amount_minor, cur, f, &first);
    }
    if (c->suspend_days > 0) {
        fputs(first ? "" : "; ", f);
        fprintf(f, W[C_SUSPEND], (int)c->suspend_days);
        first = 0;
    }
    if (c->warning_only) {
        fputs(first ? "" : "; ", f);
        fprintf(f, W[C_WARNING], c->exemption);
        first = 0;
    }
    if (c->merchant_chargeback_minor != 0) {
        print_money(W[C_CHARGEBACK], c->merchant_chargeback_minor, cur, f, &first);
    }
    if (c->customer_compensation_minor != 0) {
        print_money(W[C_COMPENSATION], c->customer_compensation_minor, cur, f, &first);
    }
    fprintf(f, "%s\n", first ? labels[lang][L_NONE] : "");
}

typedef struct ledger_print {
    FILE *f;
    int n;
} ledger_print;

static int print_ledger_entry(void *ud, const fc_case_entry *e) {
    ledger_print *lp = ud;
    fc_ledger_entry le;
    fc_err err;
    if (fc_case_ledger_parse(e->body, &le, &err) != FC_OK) {
        return FC_OK; /* not a ledger body this version reads: skip it */
    }
    char amounts[96] = "";
    size_t len = 0;
    if (le.points != 0) {
        len += (size_t)snprintf(amounts, sizeof amounts, " %+d points", (int)le.points);
    }
    if (le.amount_minor != 0 && len < sizeof amounts) {
        char buf[40];
        fc_money_format(le.amount_minor, le.currency, buf, sizeof buf);
        snprintf(amounts + len, sizeof amounts - len, " %s %s", buf, le.currency);
    }
    fprintf(lp->f, "    %-13s %s %s:%s%s\n", fc_ledger_kind_name(le.kind), fc_party_name(le.party),
            le.party_id, amounts, le.warning_only ? " (warning)" : "");
    if (le.kind == FC_LEDGER_REVERSAL) {
        fprintf(lp->f, "    %-13s undoes %s, because of %s\n", "", le.reverses, le.cause);
    }
    lp->n++;
    return FC_OK;
}

static const fc_rule *find_rule(const fc_policy_pack *pack, const fc_decision *d) {
    if (pack == NULL || d->rule_id[0] == '\0') {
        return NULL;
    }
    const fc_policy *p = fc_policy_pack_find(pack, d->policy_id);
    if (p == NULL) {
        return NULL;
    }
    const fc_rule *const *rules = NULL;
    size_t n = fc_policy_rules(p, d->incident, &rules);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(rules[i]->id, d->rule_id) == 0) {
            return rules[i];
        }
    }
    return NULL;
}

static void show_decision(fc_store *s, const fc_policy_pack *pack, const fc_case_decision *cd,
                          fc_lang lang, FILE *f) {
    const fc_decision *d = &cd->d;
    const char *const *L = labels[lang];
    fprintf(f, "%s %s: %s%s%s%s\n", L[L_DECISION], cd->id, incident_words[lang][d->incident],
            d->severe ? " (" : "", d->severe ? consequence_words[lang][C_SEVERE] : "",
            d->severe ? ")" : "");
    fprintf(f, "  %s: %s\n", L[L_LIABLE], party_words[lang][d->liable]);
    const fc_rule *r = find_rule(pack, d);
    if (d->rule_id[0] != '\0') {
        fprintf(f, "  %s: %s%s%s\n", L[L_RULE], d->rule_id, r != NULL ? " - " : "",
                r != NULL && r->description != NULL ? r->description : "");
    }
    const char *why = cd->explanation[lang][0] != '\0' ? cd->explanation[lang] : d->explanation;
    const char *margin = cd->margin_text[lang][0] != '\0' ? cd->margin_text[lang] : d->margin_text;
    fprintf(f, "  %s: %s\n", L[L_WHY], why);
    if (margin[0] != '\0') {
        fprintf(f, "  %s: %s\n", L[L_MARGIN], margin);
    }
    if (d->n_evidence > 0) {
        fprintf(f, "  %s:\n", L[L_EVIDENCE]);
    }
    for (size_t i = 0; i < d->n_evidence; i++) {
        const fc_evidence *e = &d->evidence[i];
        fprintf(f, "    %s = ", e->fact);
        print_value(&e->value, f);
        fprintf(f, "%s%s vs %s ", e->unit[0] ? " " : "", e->unit, e->op);
        if (e->detail[0] != '\0') {
            fputs(e->detail, f);
        } else {
            print_value(&e->threshold, f);
        }
        if (e->against[0] != '\0') {
            fprintf(f, " (%s)", e->against);
        }
        fprintf(f, ": %s%s\n", e->held ? L[L_HELD] : L[L_NOT_HELD],
                e->negated ? " (the rule needed it not to)" : "");
    }
    print_consequence(cd, lang, f);
    if (d->review) {
        fprintf(f, "  %s\n", L[L_REVIEW]);
    }
    fprintf(f, "  %s: %s %s\n", L[L_POLICY], d->policy_id, d->policy_version);
    if (cd->supersedes[0] != '\0') {
        fprintf(f, "  %s: %s\n", L[L_SUPERSEDES], cd->supersedes);
    }
    fprintf(f, "  %s:\n", L[L_LEDGER]);
    fc_case_filter lf;
    fc_case_filter_init(&lf);
    lf.type = FC_CASE_LEDGER;
    lf.decision = fc_str_c(cd->id);
    ledger_print lp = {f, 0};
    fc_err err;
    (void)fc_store_case_scan(s, &lf, print_ledger_entry, &lp, &err);
    if (lp.n == 0) {
        fprintf(f, "    %s\n", L[L_NONE]);
    }
}

static void print_order_line(const fc_case_decision *cd, fc_lang lang) {
    printf("%s %s · %s · rider %s · merchant %s\n", labels[lang][L_ORDER], cd->order, cd->city,
           cd->rider[0] ? cd->rider : "-", cd->merchant[0] ? cd->merchant : "-");
}

/* The decisions of one order, current ones only. */
typedef struct order_decisions {
    fc_dict *superseded;
    fc_arena *arena;
    fc_case_decision *cd;
    fc_store *s;
    const fc_policy_pack *pack;
    fc_lang lang;
    int pass, shown;
    fc_err *err;
    char withdrawn[FC_CASE_ID_MAX]; /* the last withdrawal met, "" none */
    char withdrawn_decision[FC_CASE_ID_MAX];
    char reason[256];
} order_decisions;

/* A withdrawal of the order (or the decision) shown: that decision is no
 * longer in force. */
static int withdrawal_visit(void *ud, const fc_case_entry *e) {
    order_decisions *od = ud;
    fc_case_withdrawal w;
    int rc = fc_case_withdrawal_parse(e->body, &w, od->err);
    if (rc != FC_OK) {
        return rc;
    }
    if (fc_dict_intern(od->superseded, fc_str_c(w.decision)) < 0) {
        return FC_ENOMEM;
    }
    snprintf(od->withdrawn, sizeof od->withdrawn, "%s", w.id);
    snprintf(od->withdrawn_decision, sizeof od->withdrawn_decision, "%s", w.decision);
    snprintf(od->reason, sizeof od->reason, "%s", w.reason);
    return FC_OK;
}

static int order_visit(void *ud, const fc_case_entry *e) {
    order_decisions *od = ud;
    fc_arena_reset(od->arena);
    int rc = fc_case_decision_parse(e->body, od->arena, od->cd, od->err);
    if (rc != FC_OK) {
        return rc;
    }
    if (od->pass == 0) {
        if (od->cd->supersedes[0] != '\0' &&
            fc_dict_intern(od->superseded, fc_str_c(od->cd->supersedes)) < 0) {
            return FC_ENOMEM;
        }
        return FC_OK;
    }
    if (fc_dict_find(od->superseded, e->id) >= 0) {
        return FC_OK;
    }
    if (od->shown == 0) {
        print_order_line(od->cd, od->lang);
    }
    fputc('\n', stdout);
    show_decision(od->s, od->pack, od->cd, od->lang, stdout);
    od->shown++;
    return FC_OK;
}

static int judge_show(int argc, char **argv) {
    judge_args a;
    memset(&a, 0, sizeof a);
    int status = parse_args("show", argc, argv, "db lang policies", 1, &a);
    if (status != FC_EXIT_OK || a.help) {
        if (a.help) {
            help_show(stdout);
        }
        return status;
    }
    if (a.target == NULL) {
        return usage_error("show", "%s", "name an order or a decision (dec-...)");
    }
    fc_lang lang = FC_LANG_EN;
    if (a.lang != NULL) {
        int found = -1;
        for (int l = 0; l < FC_LANG__COUNT; l++) {
            if (strcmp(a.lang, fc_lang_code((fc_lang)l)) == 0) {
                found = l;
            }
        }
        if (found < 0) {
            return usage_error("show", "--lang is en, ar, zh or pt, not '%s'", a.lang);
        }
        lang = (fc_lang)found;
    }
    fc_store *s = NULL;
    fc_policy_pack *pack = NULL;
    order_decisions od;
    memset(&od, 0, sizeof od);
    fc_err err;
    fc_err_clear(&err);
    /* The rules' descriptions come from the pack; without one, ids only. */
    const char *dir = a.policies != NULL ? a.policies : fc_policy_dir();
    if (fc_policy_pack_load(dir, &pack, &err) != FC_OK) {
        if (a.policies != NULL) {
            fc_cli_fail("judge show", &err);
            return FC_EXIT_USAGE;
        }
        pack = NULL;
    }
    if ((status = open_store(&a, &s)) != FC_EXIT_OK) {
        goto out;
    }
    od.superseded = fc_dict_new();
    od.arena = fc_arena_new(0);
    od.cd = fc_malloc(sizeof *od.cd);
    if (od.superseded == NULL || od.arena == NULL || od.cd == NULL) {
        fprintf(stderr, "fulcrum judge show: out of memory\n");
        status = FC_EXIT_INTERNAL;
        goto out;
    }
    od.s = s;
    od.pack = pack;
    od.lang = lang;
    od.err = &err;
    int rc;
    if (strncmp(a.target, "dec-", 4) == 0) {
        rc = fc_adj_decision_get(s, a.target, od.arena, od.cd, &err);
        if (rc == FC_OK) {
            print_order_line(od.cd, lang);
            fputc('\n', stdout);
            show_decision(s, pack, od.cd, lang, stdout);
            fc_case_filter f;
            fc_case_filter_init(&f);
            f.type = FC_CASE_DECISION_WITHDRAWN;
            f.decision = fc_str_c(a.target);
            rc = fc_store_case_scan(s, &f, withdrawal_visit, &od, &err);
        }
        if (rc == FC_OK && od.withdrawn[0] != '\0') {
            printf("\nwithdrawn by %s: %s\n", od.withdrawn, od.reason);
        }
    } else {
        fc_case_filter f;
        fc_case_filter_init(&f);
        f.type = FC_CASE_DECISION;
        f.order = fc_str_c(a.target);
        rc = fc_store_case_scan(s, &f, order_visit, &od, &err);
        if (rc == FC_OK) {
            f.type = FC_CASE_DECISION_WITHDRAWN;
            rc = fc_store_case_scan(s, &f, withdrawal_visit, &od, &err);
            f.type = FC_CASE_DECISION;
        }
        od.pass = 1;
        if (rc == FC_OK) {
            rc = fc_store_case_scan(s, &f, order_visit, &od, &err);
        }
        if (rc == FC_OK && od.shown == 0 && od.withdrawn[0] != '\0') {
            printf("order %s: no decision in force; %s was withdrawn by %s: %s\n", a.target,
                   od.withdrawn_decision, od.withdrawn, od.reason);
        } else if (rc == FC_OK && od.shown == 0) {
            rc = fc_err_set(&err, FC_ENOTFOUND, NULL, 0, 0,
                            "no decision about order %s (a good or open order has none; run "
                            "'fulcrum judge' first)",
                            a.target);
        }
    }
    if (rc == FC_ENOTFOUND) {
        fprintf(stderr, "fulcrum judge show: %s\n", err.msg);
        status = FC_EXIT_USAGE;
    } else if (rc != FC_OK) {
        status = fc_cli_fail("judge show", &err);
    }
out:
    fc_dict_free(od.superseded);
    fc_arena_free(od.arena);
    fc_free(od.cd);
    fc_store_close(s);
    fc_policy_pack_free(pack);
    return status;
}

/* ---------------------------------------------------------------------------
 * fulcrum judge list.
 */
static void help_list(FILE *f) {
    fprintf(f, "usage: fulcrum judge list [options]\n"
               "\n"
               "List the decisions in force (neither superseded nor withdrawn), in the order\n"
               "they were recorded.\n"
               "\n"
               "options:\n"
               "  --db PATH         the store (default $FULCRUM_DB, else ./fulcrum.db)\n"
               "  --city CITY       only this city\n"
               "  --party PARTY     only decisions naming this party (rider, merchant,\n"
               "                    customer, platform, force_majeure, undetermined)\n"
               "  --rule RULE       only decisions of this rule\n"
               "  --rider RIDER     only decisions about this rider's orders\n"
               "  --from WHEN       orders created at or after WHEN\n"
               "  --to WHEN         orders created before WHEN (a date: that day included)\n"
               "  --limit N         at most N rows\n"
               "  --format FMT      table (default), csv or json\n"
               "  --help            this text\n"
               "\n"
               "exit status: 0 listed, 1 usage error, 3 storage error.\n");
}

typedef struct lister {
    fc_table *t;
    fc_party party;
    const char *rule, *rider;
    int64_t limit, n;
} lister;

static int list_add(void *ud, const fc_case_decision *cd) {
    lister *l = ud;
    const fc_decision *d = &cd->d;
    if (l->party != FC_PARTY_NONE && d->liable != l->party) {
        return FC_OK;
    }
    if (l->rule != NULL && strcmp(l->rule, d->rule_id) != 0) {
        return FC_OK;
    }
    if (l->rider != NULL && strcmp(l->rider, cd->rider) != 0) {
        return FC_OK;
    }
    if (l->limit >= 0 && l->n >= l->limit) {
        return 1; /* enough rows */
    }
    char created[32], points[16], comp[40], margin[24];
    fc_time_format_utc(cd->created_at, created, sizeof created);
    snprintf(points, sizeof points, "%d", (int)d->consequence.rider_points);
    fc_money_format(d->consequence.customer_compensation_minor, d->currency, comp, sizeof comp);
    snprintf(margin, sizeof margin, "%.1f", d->margin);
    const char *row[] = {cd->id,
                         cd->order,
                         cd->city,
                         created,
                         fc_incident_name(d->incident),
                         fc_party_name(d->liable),
                         d->rule_id,
                         cd->rider,
                         d->review ? "yes" : "no",
                         points,
                         comp,
                         d->currency,
                         d->margin_fact,
                         d->margin_fact[0] ? margin : ""};
    l->n++;
    return fc_table_add(l->t, row) == FC_OK ? FC_OK : FC_ENOMEM;
}

static int judge_list(int argc, char **argv) {
    judge_args a;
    memset(&a, 0, sizeof a);
    int status =
        parse_args("list", argc, argv, "db city party rule rider from to limit format", 0, &a);
    if (status != FC_EXIT_OK || a.help) {
        if (a.help) {
            help_list(stdout);
        }
        return status;
    }
    fc_out_format fmt;
    if ((status = parse_format("list", &a, &fmt)) != FC_EXIT_OK) {
        return status;
    }
    lister l = {NULL, FC_PARTY_NONE, a.rule, a.rider, -1, 0};
    if (a.party != NULL) {
        l.party = fc_party_from(fc_str_c(a.party));
        if (l.party == FC_PARTY_NONE) {
            return usage_error("list", "unknown party '%s'", a.party);
        }
    }
    if (a.limit != NULL) {
        if (fc_parse_i64(fc_str_c(a.limit), &l.limit) != FC_OK || l.limit < 0) {
            return usage_error("list", "--limit needs a count, not '%s'", a.limit);
        }
    }
    fc_store *s = NULL;
    if ((status = open_store(&a, &s)) != FC_EXIT_OK) {
        return status;
    }
    fc_adj_opts o;
    fc_adj_opts_init(&o);
    o.city = a.city;
    if ((status = parse_period("list", s, &a, &o.from, &o.to)) != FC_EXIT_OK) {
        goto out;
    }
    static const char *const cols[] = {
        "decision", "order",  "city",   "created",      "incident", "liable",      "rule",
        "rider",    "review", "points", "compensation", "currency", "margin_fact", "margin"};
    static const int numeric[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 1};
    l.t = fc_table_new(sizeof cols / sizeof cols[0], cols, numeric);
    if (l.t == NULL) {
        fprintf(stderr, "fulcrum judge list: out of memory\n");
        status = FC_EXIT_INTERNAL;
        goto out;
    }
    fc_err err;
    fc_err_clear(&err);
    int rc = fc_adj_decisions(s, &o, list_add, &l, &err);
    if (rc == FC_ENOMEM) {
        fc_err_set(&err, rc, NULL, 0, 0, "out of memory");
    }
    if (rc < 0) {
        status = fc_cli_fail("judge list", &err);
        goto out;
    }
    fc_table_print(l.t, fmt, stdout);
out:
    fc_table_free(l.t);
    fc_store_close(s);
    return status;
}

int fc_cmd_judge(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "show") == 0) {
        return judge_show(argc - 1, argv + 1);
    }
    if (argc >= 2 && strcmp(argv[1], "list") == 0) {
        return judge_list(argc - 1, argv + 1);
    }
    return judge_run(argc, argv);
}
