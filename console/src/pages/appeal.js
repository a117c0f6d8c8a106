// #/appeals/ID: one queue item on one screen. The appellant's statement and
// evidence, the decision appealed (rule, party, outcome, explanation in the
// chosen language, evidence, margin), the order's facts and a compact
// timeline, the item's history, and the decide form (uphold, overturn,
// partial with the share kept; a reason is required) that POSTs
// /v1/appeals/ID/decision with the last_seq the reviewer saw: a 409 means
// someone decided first, and the page says so and reloads.
import { useState } from 'preact/hooks';
import { api, useApi } from '../api.js';
import { addStrings, t } from '../i18n.js';
import { Async, DefList, ErrorBox, fmtNum, fmtTime, fmtValue, html, orderLink, riderLink } from '../ui.js';
import { StateBadge, TimeLeft } from './appeals.js';
import { Decision, Facts, Timeline } from './order.js';

addStrings({
  en: {
    'appeal.title': '{kind} {id}',
    'appeal.kind.appeal': 'Appeal',
    'appeal.kind.review': 'Review',
    'appeal.statement': 'Statement',
    'appeal.no_statement': 'A decision that needs a person: no appellant, no statement.',
    'appeal.items': 'Evidence filed',
    'appeal.no_items': 'No evidence item filed.',
    'appeal.item.text': 'text',
    'appeal.item.gps': 'GPS point',
    'appeal.item.photo': 'photo',
    'appeal.item.call': 'call',
    'appeal.decision': 'Decision appealed',
    'appeal.order': 'Order',
    'appeal.no_order': "The order's events are not in the store.",
    'appeal.timeline': 'Timeline',
    'appeal.history': 'History',
    'appeal.decide': 'Decide',
    'appeal.verdict': 'Verdict',
    'appeal.verdict.uphold': 'Uphold: the decision stands',
    'appeal.verdict.overturn': 'Overturn: the decision no longer holds',
    'appeal.verdict.partial': 'Partial: keep part of the penalty',
    'appeal.keep_percent': 'Share of the penalty kept (%)',
    'appeal.reason': 'Reason (required; the appellant and the audit trail see it)',
    'appeal.submit': 'Record the verdict',
    'appeal.submitting': 'Recording…',
    'appeal.reason_empty': 'Write the reason for the verdict.',
    'appeal.keep_bad': 'The share kept is a whole number from 1 to 99.',
    'appeal.conflict':
      'Someone else decided this item first, or it changed since you opened it. The page now shows its latest state.',
    'appeal.decided_ok': 'Verdict recorded.',
    'appeal.decided': 'Verdict',
    'appeal.decided_by': 'Decided by',
    'appeal.decided_at': 'Decided',
    'appeal.kept': 'Kept',
    'appeal.filed_by': 'Filed by',
    'appeal.filed_at': 'Filed',
    'appeal.due_at': 'Deadline',
    'appeal.sla': 'Time left',
    'appeal.auto_review': 'Auto-review',
    'appeal.auto_overturned': 'overturned it',
    'appeal.auto_queued': 'ran; a person decides',
    'appeal.auto_none': 'did not run',
    'appeal.sanction': 'This decision carries a suspension: only a person applies or lifts it.',
    'appeal.moot': 'The decision is no longer in force ({by}): nothing is left to decide.',
    'appeal.not_reviewer': 'Only a reviewer of this place or an administrator decides.',
    'appeal.points': '{n} points',
    'appeal.rider_amount': 'rider {amount}',
    'appeal.chargeback': 'merchant chargeback {amount}',
    'appeal.compensation': 'customer compensation {amount}',
    'appeal.suspend': 'suspension {n} days',
    'appeal.warning': 'warning only',
    'appeal.no_consequence': 'no consequence',
    'col.seq': '#',
    'col.type': 'Entry',
    'col.actor': 'By',
    'col.at': 'When',
    'col.summary': 'What',
  },
  ar: {
    'appeal.title': '{kind} {id}',
    'appeal.kind.appeal': 'اعتراض',
    'appeal.kind.review': 'مراجعة',
    'appeal.statement': 'الإفادة',
    'appeal.no_statement': 'قرار يحتاج إلى شخص: لا معترض ولا إفادة.',
    'appeal.items': 'الأدلة المقدّمة',
    'appeal.no_items': 'لم يُقدَّم أي دليل.',
    'appeal.item.text': 'نص',
    'appeal.item.gps': 'موقع GPS',
    'appeal.item.photo': 'صورة',
    'appeal.item.call': 'مكالمة',
    'appeal.decision': 'القرار المعترض عليه',
    'appeal.order': 'الطلب',
    'appeal.no_order': 'أحداث الطلب غير موجودة في المخزن.',
    'appeal.timeline': 'التسلسل الزمني',
    'appeal.history': 'السجل',
    'appeal.decide': 'اتخاذ القرار',
    'appeal.verdict': 'الحكم',
    'appeal.verdict.uphold': 'تأييد: يبقى القرار',
    'appeal.verdict.overturn': 'إلغاء: لم يعد القرار قائمًا',
    'appeal.verdict.partial': 'جزئي: إبقاء جزء من الجزاء',
    'appeal.keep_percent': 'نسبة الجزاء المُبقاة (%)',
    'appeal.reason': 'السبب (مطلوب؛ يراه المعترض ويُحفظ في سجل التدقيق)',
    'appeal.submit': 'تسجيل الحكم',
    'appeal.submitting': 'جارٍ التسجيل…',
    'appeal.reason_empty': 'اكتب سبب الحكم.',
    'appeal.keep_bad': 'النسبة المُبقاة عدد صحيح من 1 إلى 99.',
    'appeal.conflict': 'بتّ شخص آخر في هذا البند أولًا، أو تغيّر منذ فتحته. تعرض الصفحة الآن حالته الأخيرة.',
    'appeal.decided_ok': 'سُجّل الحكم.',
    'appeal.decided': 'الحكم',
    'appeal.decided_by': 'صاحب القرار',
    'appeal.decided_at': 'تاريخ البت',
    'appeal.kept': 'المُبقى',
    'appeal.filed_by': 'المقدِّم',
    'appeal.filed_at': 'تاريخ التقديم',
    'appeal.due_at': 'الموعد النهائي',
    'appeal.sla': 'الوقت المتبقي',
    'appeal.auto_review': 'المراجعة الآلية',
    'appeal.auto_overturned': 'ألغت القرار',
    'appeal.auto_queued': 'جرت؛ ويبت فيه شخص',
    'appeal.auto_none': 'لم تجرِ',
    'appeal.sanction': 'يتضمن هذا القرار إيقافًا: لا يطبقه أو يرفعه إلا شخص.',
    'appeal.moot': 'لم يعد القرار ساريًا ({by}): لم يبق ما يُبت فيه.',
    'appeal.not_reviewer': 'لا يبت إلا مراجع لهذا النطاق أو مسؤول.',
    'appeal.points': '{n} نقاط',
    'appeal.rider_amount': 'المندوب {amount}',
    'appeal.chargeback': 'خصم على التاجر {amount}',
    'appeal.compensation': 'تعويض العميل {amount}',
    'appeal.suspend': 'إيقاف {n} أيام',
    'appeal.warning': 'تنبيه فقط',
    'appeal.no_consequence': 'بلا أثر',
    'col.seq': '#',
    'col.type': 'القيد',
    'col.actor': 'بواسطة',
    'col.at': 'الوقت',
    'col.summary': 'البيان',
  },
});

// Minor units of a currency as text ("1000" QAR -> "10.00 QAR").
function money(minor, currency) {
  let digits = 2;
  try {
    digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits;
  } catch {
    /* unknown code: two decimals */
  }
  return `${fmtNum(minor / 10 ** digits, digits)} ${currency ?? ''}`.trim();
}

// What a decision's consequence does, in words.
function consequenceText(d) {
  const c = d.consequence ?? {};
  const parts = [];
  if (c.rider_points) parts.push(t('appeal.points', { n: c.rider_points }));
  if (c.rider_amount_minor) parts.push(t('appeal.rider_amount', { amount: money(c.rider_amount_minor, d.currency) }));
  if (c.merchant_chargeback_minor)
    parts.push(t('appeal.chargeback', { amount: money(c.merchant_chargeback_minor, d.currency) }));
  if (c.customer_compensation_minor)
    parts.push(t('appeal.compensation', { amount: money(c.customer_compensation_minor, d.currency) }));
  if (c.suspend_days) parts.push(t('appeal.suspend', { n: c.suspend_days }));
  if (c.warning_only) parts.push(t('appeal.warning'));
  if (c.exemption) parts.push(c.exemption);
  return parts.length ? parts.join(' · ') : t('appeal.no_consequence');
}

// One evidence item of the appellant.
function Item({ it }) {
  const where =
    it.lat !== undefined && it.lat !== null ? html` · <span class="mono">${it.lat}, ${it.lng}</span>` : null;
  return html`<li>
    <span class="badge">${t(`appeal.item.${it.kind}`)}</span>
    ${it.ts ? html` <span class="mono">${fmtTime(it.ts)}</span>` : null}
    ${it.kind === 'call'
      ? html` · ${it.outcome ?? '–'}${it.duration_s !== undefined && it.duration_s !== null ? ` · ${it.duration_s} s` : ''}`
      : null}
    ${where} ${it.text ? html`<div>${it.text}</div>` : null}
  </li>`;
}

// The order of the item as GET /v1/appeals/ID gives it ({order, facts,
// fact_units, timeline}); null when its events are not in the store.
function OrderBox({ id, o }) {
  return html`<section class="card" aria-labelledby="order-h">
    <h2 id="order-h">${t('appeal.order')} ${orderLink(id)}</h2>
    ${o
      ? html`
          <${DefList}
            rows=${[
              [t('field.status'), o.order.status],
              [t('field.zone'), o.order.zone],
              [t('field.merchant'), o.order.merchant],
              [t('field.rider'), riderLink(o.order.rider)],
              [t('field.created_at'), fmtTime(o.order.created_at)],
              [t('field.promised_at'), fmtTime(o.order.promised_at)],
              [t('field.delivered_at'), fmtTime(o.order.delivered_at ?? o.order.cancelled_at)],
              [t('field.late_min'), fmtValue(o.order.late_min)],
            ]}
          />
          <h3 style="margin-block-start:12px">${t('appeal.timeline')}</h3>
          <${Timeline} order=${o.order} events=${o.timeline ?? []} compact=${true} />
          <details style="margin-block-start:12px">
            <summary>${t('order.facts')}</summary>
            <${Facts} facts=${o.facts} units=${o.fact_units} />
          </details>
        `
      : html`<p class="muted">${t('appeal.no_order')}</p>`}
  </section>`;
}

// The verdict form. Keyed on the item, not on last_seq: every reload (a
// language switch refetches; each reviewer read records a view) raises
// last_seq, and what the reviewer has written must survive it. The
// last_seq sent is the one of the latest answer, read at submit.
function DecideForm({ appeal, onDone }) {
  const [verdict, setVerdict] = useState('');
  const [keep, setKeep] = useState('50');
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const submit = async (e) => {
    e.preventDefault();
    if (!verdict) return;
    if (!reason.trim()) {
      setError({ message: t('appeal.reason_empty') });
      return;
    }
    const body = { verdict, reason: reason.trim(), expect_seq: appeal.last_seq };
    if (verdict === 'partial') {
      const k = Number(keep);
      if (!Number.isInteger(k) || k < 1 || k > 99) {
        setError({ message: t('appeal.keep_bad') });
        return;
      }
      body.keep_percent = k;
    }
    setBusy(true);
    setError(null);
    try {
      await api(`/v1/appeals/${encodeURIComponent(appeal.id)}/decision`, { method: 'POST', body });
      onDone('ok');
    } catch (err) {
      if (err.status === 409) onDone('conflict');
      else setError(err);
    } finally {
      setBusy(false);
    }
  };
  return html`<form class="decide" onSubmit=${submit}>
    <fieldset style="border:none;padding:0;margin:0">
      <legend style="font-weight:600">${t('appeal.verdict')}</legend>
      ${['uphold', 'overturn', 'partial'].map(
        (v) => html`<label style="display:block;padding-block:3px">
          <input
            type="radio"
            name="verdict"
            value=${v}
            checked=${verdict === v}
            onChange=${() => setVerdict(v)}
          />
          ${' '}${t(`appeal.verdict.${v}`)}
        </label>`,
      )}
    </fieldset>
    ${verdict === 'partial'
      ? html`<label style="display:block;margin-block:8px"
          >${t('appeal.keep_percent')}
          <input
            type="number"
            name="keep_percent"
            min="1"
            max="99"
            step="1"
            value=${keep}
            style="inline-size:6em;margin-inline-start:8px"
            onInput=${(e) => setKeep(e.currentTarget.value)}
        /></label>`
      : null}
    <label style="display:block;margin-block:8px" for="reason">${t('appeal.reason')}</label>
    <textarea
      id="reason"
      name="reason"
      rows="3"
      maxlength="1000"
      required
      style="inline-size:100%;font:inherit"
      value=${reason}
      onInput=${(e) => setReason(e.currentTarget.value)}
    ></textarea>
    <p>
      <button type="submit" class="primary" disabled=${busy || !verdict}>
        ${busy ? t('appeal.submitting') : t('appeal.submit')}
      </button>
    </p>
    <${ErrorBox} error=${error} />
  </form>`;
}

function AppealBody({ data, me, reload, notice, setNotice }) {
  const a = data.appeal;
  const d = data.decision;
  const now = Date.now();
  const mayDecide = me && (me.role === 'admin' || me.role === 'reviewer');
  const auto = a.auto_overturned ? t('appeal.auto_overturned') : a.auto_reviewed ? t('appeal.auto_queued') : t('appeal.auto_none');
  const done = (what) => {
    setNotice(what);
    reload();
  };
  return html`<div class="page-head">
      <h1 style="overflow-wrap:anywhere">${t('appeal.title', { kind: t(`appeal.kind.${a.kind}`), id: a.id })}</h1>
      <${StateBadge} state=${a.state} />
      ${a.state === 'pending' || a.breached ? html`<${TimeLeft} item=${a} now=${now} />` : null}
    </div>
    ${notice === 'conflict' ? html`<p class="error" role="alert">${t('appeal.conflict')}</p>` : null}
    ${notice === 'ok' ? html`<p class="notice" role="status">${t('appeal.decided_ok')}</p>` : null}
    ${a.sanction ? html`<p class="notice">${t('appeal.sanction')}</p>` : null}
    ${a.state === 'moot' ? html`<p class="notice">${t('appeal.moot', { by: a.replaced_by ?? '' })}</p>` : null}
    <section class="card">
      <${DefList}
        rows=${[
          [t('col.order'), orderLink(a.order)],
          [t('col.city'), a.city],
          [t('col.incident'), a.incident ?? d?.incident],
          [t('appeal.filed_by'), a.appellant ? `${a.appellant}${a.appellant_id ? ` ${a.appellant_id}` : ''}` : '–'],
          [t('appeal.filed_at'), fmtTime(a.filed_at)],
          [t('appeal.due_at'), fmtTime(a.due_at)],
          [t('appeal.auto_review'), auto],
          ...(a.state !== 'pending'
            ? [
                [t('appeal.decided_by'), a.decided_by ?? '–'],
                [t('appeal.decided_at'), fmtTime(a.decided_at)],
                ...(a.keep_percent !== null && a.keep_percent !== undefined
                  ? [[t('appeal.kept'), `${a.keep_percent}%`]]
                  : []),
              ]
            : []),
        ]}
      />
      ${a.reason ? html`<p><strong>${t('appeal.decided')}:</strong> <span dir="auto">${a.reason}</span></p>` : null}
    </section>
    <div class="grid2">
      <section class="card" style="min-inline-size:0" aria-labelledby="statement-h">
        <h2 id="statement-h">${t('appeal.statement')}</h2>
        ${a.statement ? html`<blockquote class="statement" dir="auto" style="margin:0;white-space:pre-wrap">${a.statement}</blockquote>` : html`<p class="muted">${t('appeal.no_statement')}</p>`}
        <h3 style="margin-block-start:12px">${t('appeal.items')}</h3>
        ${a.items?.length
          ? html`<ul style="padding-inline-start:18px">${a.items.map((it) => html`<${Item} it=${it} />`)}</ul>`
          : html`<p class="muted">${t('appeal.no_items')}</p>`}
        ${a.state === 'pending'
          ? html`<h2 style="margin-block-start:16px">${t('appeal.decide')}</h2>
              ${mayDecide
                ? html`<${DecideForm} key=${a.id} appeal=${a} onDone=${done} />`
                : html`<p class="muted">${t('appeal.not_reviewer')}</p>`}`
          : null}
      </section>
      <section class="card" style="min-inline-size:0" aria-labelledby="decision-h">
        <h2 id="decision-h">${t('appeal.decision')}</h2>
        ${d ? html`<p><strong>${t('order.consequence')}:</strong> ${consequenceText(d)}</p>` : null}
        <${Decision} id=${a.decision} data=${d ?? undefined} summary=${{ incident: a.incident, party: a.liable, rule: a.rule, rider: a.rider }} />
      </section>
    </div>
    <${OrderBox} id=${a.order} o=${data.order} />
    <section class="card" aria-labelledby="history-h">
      <h2 id="history-h">${t('appeal.history')}</h2>
      <div class="table-wrap">
        <table class="history">
          <thead>
            <tr>
              <th class="num">${t('col.seq')}</th>
              <th>${t('col.at')}</th>
              <th>${t('col.type')}</th>
              <th>${t('col.actor')}</th>
              <th>${t('col.summary')}</th>
            </tr>
          </thead>
          <tbody>
            ${(a.history ?? []).map(
              (h) => html`<tr>
                <td class="num">${h.seq}</td>
                <td class="mono">${fmtTime(h.at)}</td>
                <td>${h.type}</td>
                <td>${h.actor}</td>
                <td dir="auto">${h.summary}</td>
              </tr>`,
            )}
          </tbody>
        </table>
      </div>
    </section>`;
}

export default function Appeal({ params, me }) {
  const res = useApi(`/v1/appeals/${encodeURIComponent(params.id)}`);
  const [notice, setNotice] = useState(null);
  return html`<section class="appeal">
    <p><a href="#/appeals">${t('appeals.title')}</a></p>
    <${Async} res=${res}>
      ${(data) => html`<${AppealBody} data=${data} me=${me} reload=${res.reload} notice=${notice} setNotice=${setNotice} />`}
    <//>
  </section>`;
}
