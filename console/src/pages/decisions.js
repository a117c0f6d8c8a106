// #/decisions?city=&rider=&merchant=&party=&incident=&from=&to=: the
// decisions of a slice (GET /v1/decisions, newest first, page by page),
// each linking to its order page. The explorer links here from its rows.
import { url, usePaged } from '../api.js';
import { t } from '../i18n.js';
import { ErrorBox, fmtTime, html, Loading, orderLink, riderLink, Table } from '../ui.js';

const KEYS = ['city', 'rider', 'merchant', 'party', 'incident', 'from', 'to', 'needs_review'];
const PARTIES = ['rider', 'merchant', 'customer', 'platform', 'none'];
const INCIDENTS = ['late', 'cancelled', 'undeliverable', 'complaint', 'bad_rating'];

// The columns of a list of decisions (GET /v1/decisions items, or a
// rider's); city and rider: whether to show those columns.
export function decisionCols({ city = true, rider = true } = {}) {
  return [
    { key: 'order_created_at', label: t('col.created_at'), render: (r) => fmtTime(r.order_created_at ?? r.created_at) },
    { key: 'order', label: t('col.order'), render: (r) => orderLink(r.order) },
    ...(city ? [{ key: 'city', label: t('col.city') }] : []),
    { key: 'incident', label: t('col.incident') },
    { key: 'party', label: t('col.party') },
    { key: 'outcome', label: t('col.outcome') },
    { key: 'rule', label: t('col.rule'), render: (r) => html`<code>${r.rule}</code>` },
    ...(rider ? [{ key: 'rider', label: t('col.rider'), render: (r) => riderLink(r.rider) }] : []),
    {
      key: 'needs_review',
      label: t('col.needs_review'),
      render: (r) => (r.needs_review ? html`<span class="badge warn">${t('order.needs_review')}</span>` : ''),
    },
  ];
}

export default function Decisions({ query }) {
  const filters = Object.fromEntries(KEYS.filter((k) => query.get(k)).map((k) => [k, query.get(k)]));
  const list = usePaged(url('/v1/decisions', { ...filters, limit: 50 }));
  const items = list.items ?? [];
  const set = (k, v) => {
    const q = new URLSearchParams(filters);
    if (v) q.set(k, v);
    else q.delete(k);
    location.hash = `#/decisions?${q}`;
  };
  const pick = (k, list) => html`<label>${t(`col.${k}`)}
    <select onChange=${(e) => set(k, e.currentTarget.value)}>
      <option value="">–</option>
      ${list.map((v) => html`<option value=${v} selected=${filters[k] === v}>${v}</option>`)}
    </select>
  </label>`;
  const cols = decisionCols();
  const shown = Object.entries(filters).map(([k, v]) => `${k}=${v}`).join(', ') || t('common.none');
  return html`<div class="page-head">
      <h1>${t('decisions.title')}</h1>
      <span class="muted">${t('decisions.filters', { filters: shown })}</span>
    </div>
    <div class="card row">
      ${pick('incident', INCIDENTS)} ${pick('party', PARTIES)}
      <label><input type="checkbox" checked=${filters.needs_review === '1'} onChange=${(e) => set('needs_review', e.currentTarget.checked ? '1' : '')} /> ${t('col.needs_review')}</label>
    </div>
    <${ErrorBox} error=${list.error} onRetry=${list.items === null ? list.reload : list.more} />
    <section class="card">
      ${items.length || list.busy ? html`<${Table} cols=${cols} rows=${items} />` : html`<p class="muted">${t('decisions.none')}</p>`}
      ${list.busy ? html`<${Loading} />` : null}
      ${list.next && !list.busy ? html`<button type="button" onClick=${list.more}>${t('common.more')}</button>` : null}
    </section>`;
}
