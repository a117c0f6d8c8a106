// #/orders/ID: one order as the judge saw it (GET /v1/orders/ID): the event
// timeline drawn against the promise, the facts with their units, each
// decision (GET /v1/decisions/ID, in the chosen language) with its rule,
// party, outcome, explanation, evidence and margin, and links to appeals.
// Timeline, Facts and Decision are exported for the other pages.
import { useApi } from '../api.js';
import { t } from '../i18n.js';
import { appealLink, Async, DefList, ErrorBox, fmtTime, fmtValue, html, Loading, riderLink, Table, toMs } from '../ui.js';

const BAD = /cancel|undeliver|return|complaint|refus|fail/;
const GOOD = /delivered/;

// The offset of an RFC 3339 string in ms ("+03:00" -> 10800000; Z -> 0).
function offsetMs(s) {
  const m = /([+-])(\d{2}):(\d{2})$/.exec(s ?? '');
  return m ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) * 60000 : 0;
}
function clock(ms, off) {
  return new Date(ms + off).toISOString().slice(11, 16);
}

// The events on a time axis from creation to close; the promise as a
// vertical line, the late part shaded. compact: fewer label rows.
export function Timeline({ order, events, compact = false }) {
  const t0 = toMs(order.created_at) ?? toMs(events[0]?.ts);
  const promised = toMs(order.promised_at);
  const done = toMs(order.delivered_at) ?? toMs(order.closed_at) ?? toMs(order.cancelled_at);
  const times = events.map((e) => toMs(e.ts)).filter((x) => x !== null);
  if (t0 === null || times.length === 0) return html`<p class="muted">${t('common.none')}</p>`;
  const t1 = Math.max(t0 + 60000, ...times, promised ?? 0, done ?? 0);
  const off = offsetMs(order.created_at);
  const W = 1000;
  const padL = 20;
  const padR = 60;
  const x = (ms) => padL + ((ms - t0) / (t1 - t0)) * (W - padL - padR);
  // Labels go in rows above the axis; each takes the lowest row where it
  // does not overlap the one before it.
  const rowsEnd = [];
  const marks = events
    .map((e) => ({ e, ms: toMs(e.ts) }))
    .filter((m) => m.ms !== null)
    .map((m) => {
      const label = `${m.e.type.replace(/_/g, ' ')} ${clock(m.ms, off)}`;
      const w = label.length * 6.1 + 8;
      const xm = x(m.ms);
      const end = xm + w > W ? 'end' : 'start'; // near the right edge: the label reads leftwards
      const start = end === 'end' ? xm - w : xm;
      let row = rowsEnd.findIndex((e) => e < start);
      if (row < 0 || (compact && row > 3)) {
        row = compact && rowsEnd.length >= 4 ? rowsEnd.indexOf(Math.min(...rowsEnd)) : rowsEnd.length;
      }
      rowsEnd[row] = start + w;
      return { ...m, label, xm, row, end };
    });
  const rowH = 16;
  const top = 26;
  const axisY = top + rowsEnd.length * rowH + 14;
  const H = axisY + 30;
  // ticks: a step giving 5 to 10 of them
  const spanMin = (t1 - t0) / 60000;
  const step = [1, 2, 5, 10, 15, 30, 60, 120, 240, 720, 1440].find((s) => spanMin / s <= 10) ?? 2880;
  const ticks = [];
  for (let m = Math.ceil((t0 + off) / (step * 60000)) * step * 60000 - off; m <= t1; m += step * 60000) ticks.push(m);
  const late = promised !== null && done !== null && done > promised;
  return html`<div class="timeline">
    <svg viewBox=${`0 0 ${W} ${H}`} role="img" aria-label=${t('order.timeline')}>
      ${done !== null ? html`<rect class="span" x=${x(t0)} y=${top - 8} width=${Math.max(1, x(done) - x(t0))} height=${axisY - top + 8} />` : null}
      ${late ? html`<rect class="late" x=${x(promised)} y=${top - 8} width=${Math.max(1, x(done) - x(promised))} height=${axisY - top + 8} />` : null}
      <line class="axis" x1=${padL} x2=${W - padR + 10} y1=${axisY} y2=${axisY} />
      ${ticks.map(
        (m) => html`<g class="tick">
          <line class="axis" x1=${x(m)} x2=${x(m)} y1=${axisY} y2=${axisY + 5} />
          <text x=${x(m)} y=${axisY + 18} text-anchor="middle">${clock(m, off)}</text>
        </g>`,
      )}
      ${promised !== null
        ? html`<g>
            <line class="promise" x1=${x(promised)} x2=${x(promised)} y1=${8} y2=${axisY + 6} />
            <text class="label" x=${x(promised) + 4} y=${16} fill="#b42318">
              ${t('order.promised')} ${clock(promised, off)}${late ? ` · ${t('order.late_by', { min: ((done - promised) / 60000).toFixed(1) })}` : ''}
            </text>
          </g>`
        : null}
      ${marks.map((m) => {
        const y = top + (rowsEnd.length - 1 - m.row) * rowH + 10;
        const cls = BAD.test(m.e.type) ? 'bad' : GOOD.test(m.e.type) ? 'good' : '';
        return html`<g>
          <title>${m.e.type} ${fmtTime(m.e.ts)}${m.e.actor ? ` · ${m.e.actor}` : ''}</title>
          <line class="stem" x1=${m.xm} x2=${m.xm} y1=${y + 3} y2=${axisY} />
          <circle class=${`mark ${cls}`} cx=${m.xm} cy=${axisY} r="5" />
          <text class="label" x=${m.end === 'end' ? m.xm - 3 : m.xm + 3} y=${y} text-anchor=${m.end}>${m.label}</text>
        </g>`;
      })}
    </svg>
  </div>`;
}

// The judge's facts with their units: the known ones, then the others folded.
export function Facts({ facts, units }) {
  const all = Object.entries(facts ?? {});
  const row = ([k, v]) => ({ fact: k, value: v, unit: units?.[k] ?? '' });
  const known = all.filter(([, v]) => v !== null).map(row);
  const unknown = all.filter(([, v]) => v === null).map(([k]) => k);
  const cols = [
    { key: 'fact', label: t('col.fact'), render: (r) => html`<code>${r.fact}</code>` },
    { key: 'value', label: t('col.value'), num: true },
    { key: 'unit', label: t('col.unit') },
  ];
  return html`<${Table} cols=${cols} rows=${known} />
    ${unknown.length
      ? html`<details class="small muted"><summary>${t('order.facts_unknown', { n: unknown.length })}</summary>${unknown.join(', ')}</details>`
      : null}`;
}

// One decision in full (GET /v1/decisions/ID): summary is the line of the
// order or list it came from (shown while the full one loads). data: the
// full decision when the caller already has it (GET /v1/appeals/ID gives
// it): then nothing is fetched.
export function Decision({ id, summary, data, appeals = [] }) {
  const res = useApi(data ? null : `/v1/decisions/${encodeURIComponent(id)}`);
  const d = data ?? res.data;
  const s = { ...(summary ?? {}), ...(d ?? {}) };
  const party = s.liable ?? s.party;
  const ev = d?.evidence ?? [];
  const evCols = [
    { key: 'fact', label: t('col.fact'), render: (r) => html`<code>${r.fact}</code>` },
    { key: 'value', label: t('col.value'), num: true, render: (r) => `${fmtValue(r.value)}${r.unit && r.unit !== '0/1' ? ` ${r.unit}` : ''}` },
    { key: 'op', label: t('col.op'), render: (r) => html`<code>${r.negated ? 'not ' : ''}${r.op}</code>` },
    { key: 'threshold', label: t('col.threshold'), num: true, render: (r) => r.detail || fmtValue(r.threshold) },
    { key: 'held', label: t('col.held'), render: (r) => html`<span class=${r.held ? 'held-yes' : 'held-no'}>${fmtValue(r.held)}</span>` },
    { key: 'margin', label: t('col.margin'), num: true, render: (r) => fmtValue(r.margin) },
  ];
  return html`<article class="decision" data-decision=${id}>
    <h3 class="row">
      <code>${id}</code>
      <span class="badge">${s.incident}</span>
      <span class=${`badge ${s.outcome && s.outcome !== 'none' ? 'warn' : ''}`}>${party ?? '–'} · ${s.outcome ?? '–'}</span>
      ${summary?.superseded ? html`<span class="badge">${t('order.superseded')}</span>` : null}
      ${s.needs_review || s.review ? html`<span class="badge bad">${t('order.needs_review')}</span>` : null}
    </h3>
    <${DefList}
      rows=${[
        [t('order.rule'), html`<code>${s.rule ?? '–'}</code>`],
        [t('col.party'), party ?? '–'],
        [t('col.outcome'), s.outcome ?? '–'],
        [t('order.policy'), d ? `${d.policy} ${d.policy_version}` : '–'],
        ...(s.rider ? [[t('col.rider'), riderLink(s.rider)]] : []),
      ]}
    />
    ${res.error ? html`<${ErrorBox} error=${res.error} onRetry=${res.reload} />` : null}
    ${!d && !res.error ? html`<${Loading} />` : null}
    ${d
      ? html`<p class="explanation" lang=${d.lang} dir=${d.lang === 'ar' ? 'rtl' : 'ltr'}>
            <span class="sr">${t('order.explanation')}: </span>${d.explanation}
          </p>
          ${d.margin_text ? html`<p class="small"><strong>${t('order.margin')}:</strong> <span lang=${d.lang}>${d.margin_text}</span></p>` : null}
          ${ev.length ? html`<h4>${t('order.evidence')}</h4><${Table} cols=${evCols} rows=${ev} />` : null}`
      : null}
    ${appeals.length
      ? html`<p class="row">${appeals.map((a) => appealLink(a.id, t('order.appeal_link', { id: a.id, state: a.state })))}</p>`
      : null}
  </article>`;
}

export default function Order({ params }) {
  const res = useApi(`/v1/orders/${encodeURIComponent(params.id)}`);
  return html`<${Async} res=${res}>
    ${({ order: o, facts, fact_units: units, timeline, decisions = [], appeals = [] }) => html`
      <div class="page-head">
        <h1>${t('order.title', { id: o.id })}</h1>
        <span class="badge">${o.status}</span>
        ${o.on_time === true ? html`<span class="badge good">${t('order.on_time')}</span>` : null}
        ${o.on_time === false ? html`<span class="badge bad">${t('order.late_by', { min: o.late_min })}</span>` : null}
      </div>
      <section class="card">
        <h2>${t('order.summary')}</h2>
        <${DefList}
          rows=${[
            [t('field.city'), `${o.city} (${o.country ?? '–'})`],
            [t('field.zone'), o.zone ?? '–'],
            [t('field.merchant'), o.merchant ? html`${o.merchant} <span class="muted">${o.merchant_kind ?? ''}</span>` : '–'],
            [t('field.rider'), o.rider ? html`${riderLink(o.rider)} <span class="muted">${o.capacity ?? ''}</span>` : '–'],
            [t('field.created_at'), fmtTime(o.created_at)],
            [t('field.promised_at'), fmtTime(o.promised_at)],
            [t('field.delivered_at'), fmtTime(o.delivered_at)],
            [t('field.cancelled_at'), fmtTime(o.cancelled_at)],
          ]}
        />
      </section>
      <section class="card">
        <h2>${t('order.timeline')}</h2>
        <p class="muted small">${t('order.timeline_help')}</p>
        <${Timeline} order=${o} events=${timeline} />
        <details>
          <summary>${t('order.events')} (${timeline.length})</summary>
          <${Table}
            cols=${[
              { key: 'ts', label: t('col.created_at'), render: (e) => fmtTime(e.ts) },
              { key: 'type', label: t('order.events'), render: (e) => html`<code>${e.type}</code>` },
              { key: 'actor', label: t('col.party') },
            ]}
            rows=${timeline}
          />
        </details>
      </section>
      <section class="card">
        <h2>${t('order.decisions')}</h2>
        ${decisions.length === 0 ? html`<p class="muted">${t('order.no_decisions')}</p>` : null}
        ${decisions.map(
          (d) => html`<${Decision} key=${d.id} id=${d.id} summary=${d} appeals=${appeals.filter((a) => a.decision === d.id)} />`,
        )}
      </section>
      <section class="card">
        <h2>${t('order.appeals')}</h2>
        ${appeals.length === 0
          ? html`<p class="muted">${t('order.no_appeals')}</p>`
          : html`<${Table}
              cols=${[
                { key: 'id', label: t('order.appeals'), render: (a) => appealLink(a.id) },
                { key: 'decision', label: t('col.id'), render: (a) => html`<code>${a.decision}</code>` },
                { key: 'state', label: t('col.state') },
                { key: 'due_at', label: t('col.due_at'), render: (a) => fmtTime(a.due_at) },
              ]}
              rows=${appeals}
            />`}
      </section>
      <section class="card">
        <h2>${t('order.facts')}</h2>
        <${Facts} facts=${facts} units=${units} />
      </section>
    `}
  <//>`;
}
