// #/appeals: the reviewers' queue. The pending items of the caller's places
// ordered by SLA deadline (GET /v1/appeals?state=pending: the server sorts
// them by due_at), each with the time left or "breached"; filters on kind,
// city and breached kept in the hash (#/appeals?kind=review&city=doha&breached=1);
// the items no longer pending below (GET /v1/appeals?state=decided, newest
// verdict first), both a page at a time. A row opens #/appeals/ID.
//
// Also the strings and small pieces the appeal and rider pages share: the
// state badge, the time left and the appeal list's columns.
import { url, usePaged } from '../api.js';
import { addStrings, t } from '../i18n.js';
import { appealLink, ErrorBox, fmtTime, html, Loading, orderLink, Table, toMs, useNow } from '../ui.js';

addStrings({
  en: {
    'appeals.title': 'Appeals queue',
    'appeals.help': 'Pending items of your places, the nearest deadline first. Open one to read the evidence and decide.',
    'appeals.pending_h': 'Pending',
    'appeals.pending': 'Pending ({n})',
    'appeals.pending_more': 'Pending (first {n})',
    'appeals.decided': 'Decided',
    'appeals.none_pending': 'Nothing pending: the queue is empty.',
    'appeals.none_decided': 'Nothing decided yet.',
    'appeals.kind': 'Kind',
    'appeals.kind_all': 'All',
    'appeals.kind.appeal': 'appeal',
    'appeals.kind.review': 'review',
    'appeals.city': 'City',
    'appeals.city_all': 'all cities',
    'appeals.breached_only': 'Breached only',
    'appeals.clear': 'Clear filters',
    'appeals.breached': 'breached',
    'appeals.left': '{t} left',
    'appeals.overdue': 'overdue by {t}',
    'appeals.auto': 'auto-reviewed',
    'appeals.state.pending': 'pending',
    'appeals.state.overturned': 'overturned',
    'appeals.state.upheld': 'upheld',
    'appeals.state.partial': 'partial',
    'appeals.state.moot': 'moot',
    'col.appeal': 'Item',
    'col.kind': 'Kind',
    'col.appellant': 'Appellant',
    'col.filed_at': 'Filed',
    'col.time_left': 'Time left',
    'col.decided_by': 'Decided by',
    'col.decided_at': 'Decided',
    'col.sla': 'Deadline',
    'appeals.met': 'met',
    'dur.d': '{d}d {h}h',
    'dur.h': '{h}h {m}m',
    'dur.m': '{m}m',
  },
  ar: {
    'appeals.title': 'قائمة الاعتراضات',
    'appeals.help': 'البنود المعلّقة في نطاقك، الأقرب موعدًا أولًا. افتح بندًا لقراءة الأدلة واتخاذ القرار.',
    'appeals.pending_h': 'معلّقة',
    'appeals.pending': 'معلّقة ({n})',
    'appeals.pending_more': 'معلّقة (أول {n})',
    'appeals.decided': 'تم البت فيها',
    'appeals.none_pending': 'لا شيء معلّق: القائمة فارغة.',
    'appeals.none_decided': 'لم يُبت في أي بند بعد.',
    'appeals.kind': 'النوع',
    'appeals.kind_all': 'الكل',
    'appeals.kind.appeal': 'اعتراض',
    'appeals.kind.review': 'مراجعة',
    'appeals.city': 'المدينة',
    'appeals.city_all': 'كل المدن',
    'appeals.breached_only': 'المتجاوزة للمهلة فقط',
    'appeals.clear': 'مسح المرشحات',
    'appeals.breached': 'تجاوز المهلة',
    'appeals.left': 'متبقٍ {t}',
    'appeals.overdue': 'متأخر {t}',
    'appeals.auto': 'مراجعة آلية',
    'appeals.state.pending': 'معلّق',
    'appeals.state.overturned': 'أُلغي القرار',
    'appeals.state.upheld': 'أُيّد القرار',
    'appeals.state.partial': 'جزئي',
    'appeals.state.moot': 'لم يعد قائمًا',
    'col.appeal': 'البند',
    'col.kind': 'النوع',
    'col.appellant': 'المعترض',
    'col.filed_at': 'تاريخ التقديم',
    'col.time_left': 'الوقت المتبقي',
    'col.decided_by': 'صاحب القرار',
    'col.decided_at': 'تاريخ البت',
    'col.sla': 'المهلة',
    'appeals.met': 'ضمن المهلة',
    'dur.d': '{d} يوم {h} س',
    'dur.h': '{h} س {m} د',
    'dur.m': '{m} د',
  },
});

// A duration in milliseconds as "2d 5h", "5h 12m" or "12m".
export function fmtDuration(ms) {
  const min = Math.max(0, Math.floor(ms / 60000));
  const d = Math.floor(min / 1440);
  const h = Math.floor((min % 1440) / 60);
  const m = min % 60;
  if (d > 0) return t('dur.d', { d, h });
  if (h > 0) return t('dur.h', { h, m });
  return t('dur.m', { m });
}

// The state of an item as a coloured badge.
export function StateBadge({ state }) {
  const cls = { pending: 'warn', overturned: 'good', upheld: 'bad', partial: 'warn' }[state] ?? '';
  return html`<span class="badge ${cls}" data-state=${state}>${t(`appeals.state.${state}`)}</span>`;
}

// Time to the SLA deadline of a pending item, or "breached" (the server's
// flag, so that the page and the API agree on it).
export function TimeLeft({ item, now }) {
  const due = toMs(item.due_at);
  if (item.state !== 'pending') {
    return item.breached ? html`<span class="badge bad">${t('appeals.breached')}</span>` : '–';
  }
  if (item.breached || (due !== null && due <= now)) {
    return html`<span class="badge bad" title=${fmtTime(item.due_at)}>
      ${t('appeals.breached')}${due !== null ? ` · ${t('appeals.overdue', { t: fmtDuration(now - due) })}` : ''}
    </span>`;
  }
  if (due === null) return '–';
  const ms = due - now;
  return html`<span class=${ms < 3600000 ? 'badge warn' : ''} title=${fmtTime(item.due_at)}>
    ${t('appeals.left', { t: fmtDuration(ms) })}
  </span>`;
}

// The columns of a list of appeals (GET /v1/appeals items).
const nowrap = (v) => html`<span style="white-space:nowrap">${v}</span>`;

// brief: only what every list of appeals has (the rider page's).
export function appealCols(now, { decided = false, city = true, brief = false } = {}) {
  if (brief) {
    return [
      { key: 'id', label: t('col.appeal'), render: (r) => appealLink(r.id) },
      { key: 'state', label: t('col.state'), render: (r) => html`<${StateBadge} state=${r.state} />` },
      { key: 'order', label: t('col.order'), render: (r) => orderLink(r.order) },
      { key: 'filed_at', label: t('col.filed_at'), render: (r) => fmtTime(r.filed_at) },
      { key: 'due_at', label: t('col.due_at'), render: (r) => fmtTime(r.due_at) },
      { key: 'decided_by', label: t('col.decided_by'), render: (r) => r.decided_by || '–' },
      {
        key: 'time_left',
        label: t('col.time_left'),
        sortValue: (r) => toMs(r.due_at),
        render: (r) => html`<${TimeLeft} item=${r} now=${now} />`,
      },
    ];
  }
  const cols = [
    { key: 'id', label: t('col.appeal'), render: (r) => nowrap(appealLink(r.id)) },
    { key: 'kind', label: t('col.kind'), render: (r) => t(`appeals.kind.${r.kind}`) },
    { key: 'order', label: t('col.order'), render: (r) => nowrap(orderLink(r.order)) },
  ];
  // Every pending item is pending: the state says something only once decided.
  if (decided) cols.splice(2, 0, { key: 'state', label: t('col.state'), render: (r) => html`<${StateBadge} state=${r.state} />` });
  if (city) cols.push({ key: 'city', label: t('col.city') });
  cols.push(
    { key: 'incident', label: t('col.incident'), render: (r) => r.incident ?? '–' },
    { key: 'rule', label: t('col.rule'), render: (r) => (r.rule ? html`<code>${r.rule}</code>` : '–') },
    {
      key: 'appellant',
      label: t('col.appellant'),
      render: (r) => (r.appellant ? `${r.appellant}${r.appellant_id ? ` ${r.appellant_id}` : ''}` : '–'),
    },
    { key: 'due_at', label: t('col.due_at'), render: (r) => nowrap(fmtTime(r.due_at)) },
  );
  if (decided) {
    cols.push(
      { key: 'decided_by', label: t('col.decided_by'), render: (r) => r.decided_by || '–' },
      { key: 'decided_at', label: t('col.decided_at'), render: (r) => nowrap(fmtTime(r.decided_at)) },
      {
        key: 'breached',
        label: t('col.sla'),
        render: (r) => (r.breached ? html`<span class="badge bad">${t('appeals.breached')}</span>` : t('appeals.met')),
      },
    );
  } else {
    cols.push({
      key: 'time_left',
      label: t('col.time_left'),
      sortValue: (r) => toMs(r.due_at),
      render: (r) => nowrap(html`<${TimeLeft} item=${r} now=${now} />`),
    });
  }
  return cols;
}

// The queue's filters from the hash's query.
function filtersOf(query) {
  return {
    kind: query.get('kind') || '',
    city: query.get('city') || '',
    breached: query.get('breached') === '1',
  };
}

function setFilters(f) {
  const q = new URLSearchParams();
  if (f.kind) q.set('kind', f.kind);
  if (f.city) q.set('city', f.city);
  if (f.breached) q.set('breached', '1');
  const s = q.toString();
  location.hash = s ? `#/appeals?${s}` : '#/appeals';
}

// Cities seen in the queue so far: the city filter offers them.
const citiesSeen = new Set();

// A click anywhere on a row opens its item (the id's link), as the link does.
export function openRow(e) {
  if (e.target.closest('a, button, input, select')) return;
  const a = e.target.closest('tr')?.querySelector('a[href^="#/appeals/"]');
  if (a) location.hash = a.getAttribute('href');
}

function PageList({ res, cols, empty }) {
  if (res.error) return html`<${ErrorBox} error=${res.error} />`;
  if (res.items === null) return html`<${Loading} />`;
  return html`<${Table} cols=${cols} rows=${res.items} empty=${empty} />
    ${res.next
      ? html`<p><button type="button" disabled=${res.busy} onClick=${res.more}>${t('common.more')}</button></p>`
      : null}`;
}

export default function Appeals({ query }) {
  const f = filtersOf(query);
  const now = useNow();
  const common = { kind: f.kind, city: f.city, breached: f.breached ? 1 : '' };
  const pending = usePaged(url('/v1/appeals', { state: 'pending', ...common, limit: 50 }));
  // The items no longer pending, newest verdict first (moot ones after), a
  // page at a time.
  const decided = usePaged(url('/v1/appeals', { state: 'decided', ...common, limit: 50 }));
  for (const it of [...(pending.items ?? []), ...(decided.items ?? [])]) if (it.city) citiesSeen.add(it.city);
  if (f.city) citiesSeen.add(f.city);

  const n = pending.items?.length ?? 0;
  return html`<section>
    <div class="page-head"><h1>${t('appeals.title')}</h1></div>
    <p class="muted">${t('appeals.help')}</p>
    <form class="card row filters" onSubmit=${(e) => e.preventDefault()} aria-label=${t('kpi.where')}>
      <label class="row" style="gap:6px">${t('appeals.kind')}
        <select name="kind" value=${f.kind} onChange=${(e) => setFilters({ ...f, kind: e.currentTarget.value })}>
          <option value="">${t('appeals.kind_all')}</option>
          <option value="appeal">${t('appeals.kind.appeal')}</option>
          <option value="review">${t('appeals.kind.review')}</option>
        </select>
      </label>
      <label class="row" style="gap:6px">${t('appeals.city')}
        <select name="city" value=${f.city} onChange=${(e) => setFilters({ ...f, city: e.currentTarget.value })}>
          <option value="">${t('appeals.city_all')}</option>
          ${[...citiesSeen].sort().map((c) => html`<option value=${c}>${c}</option>`)}
        </select>
      </label>
      <label class="row" style="gap:6px">
        <input
          type="checkbox"
          name="breached"
          checked=${f.breached}
          onChange=${(e) => setFilters({ ...f, breached: e.currentTarget.checked })}
        />
        ${t('appeals.breached_only')}
      </label>
      ${f.kind || f.city || f.breached
        ? html`<button type="button" class="link" onClick=${() => setFilters({})}>${t('appeals.clear')}</button>`
        : null}
    </form>
    <section class="card" id="pending" aria-labelledby="pending-h">
      <h2 id="pending-h">
        ${pending.items === null ? t('appeals.pending_h') : t(pending.next ? 'appeals.pending_more' : 'appeals.pending', { n })}
      </h2>
      <div onClick=${openRow}>
        <${PageList} res=${pending} cols=${appealCols(now, { city: !f.city })} empty=${t('appeals.none_pending')} />
      </div>
    </section>
    <section class="card" id="decided" aria-labelledby="decided-h">
      <h2 id="decided-h">${t('appeals.decided')}</h2>
      <div onClick=${openRow}>
        <${PageList}
          res=${decided}
          cols=${appealCols(now, { decided: true, city: !f.city })}
          empty=${t('appeals.none_decided')}
        />
      </div>
    </section>
  </section>`;
}
