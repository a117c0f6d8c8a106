// #/kpi: the KPI explorer. The whole view lives in the address, so it can be
// shared: kpi=a,b  by=d1[,d2]  where=DIM=V[,V] (repeated)  from=  to=
// sort=KEY:asc|desc  chart=line|bar  ck=KPI (the charted KPI). A table
// (sortable), a chart and a CSV of exactly the table; rows of a slice by
// city, rider or merchant link to the decisions of that slice.
import { url, useApi } from '../api.js';
import { Chart } from '../chart.js';
import { t } from '../i18n.js';
import { DIMS, dimLabel, fmtKpi, kpiLabel, KPIS } from '../kpis.js';
import { Async, csvField, download, fwd, html, sortRows, Table } from '../ui.js';

const DEFAULT_KPIS = ['orders', 'on_time_rate', 'late_rate', 'cancel_rate', 'complaint_rate', 'csat'];
const MAX_SERIES = 8;
// Dimensions whose values follow an order: their lines join the points.
const ORDERED = ['date', 'hour', 'weekday', 'daypart'];

// The view's state from the hash query.
export function readState(query) {
  const list = (k) => (query.get(k) ?? '').split(',').filter(Boolean);
  const kpis = query.has('kpi') ? list('kpi') : DEFAULT_KPIS;
  const by = query.has('by') ? list('by').slice(0, 2) : ['city'];
  const where = query.getAll('where').filter((w) => w.includes('='));
  const [sk, sd] = (query.get('sort') ?? '').split(':');
  return {
    kpis,
    by,
    where,
    from: query.get('from') ?? '',
    to: query.get('to') ?? '',
    sort: sk ? { key: sk, dir: sd === 'desc' ? -1 : 1 } : null,
    chart: query.get('chart') === 'bar' ? 'bar' : 'line',
    ck: kpis.includes(query.get('ck')) ? query.get('ck') : kpis[0],
  };
}

function writeState(s) {
  const q = new URLSearchParams();
  q.set('kpi', s.kpis.join(','));
  q.set('by', s.by.join(','));
  for (const w of s.where) q.append('where', w);
  if (s.from) q.set('from', s.from);
  if (s.to) q.set('to', s.to);
  if (s.sort) q.set('sort', `${s.sort.key}:${s.sort.dir > 0 ? 'asc' : 'desc'}`);
  if (s.chart !== 'line') q.set('chart', s.chart);
  if (s.ck && s.ck !== s.kpis[0]) q.set('ck', s.ck);
  return `#/kpi?${q}`;
}

// The decisions of one row's slice: its city, rider or merchant, the
// view's city filter when the row has no city, and its date when it has one,
// else the view's period.
function decisionsHref(row, s) {
  const q = new URLSearchParams();
  for (const d of ['city', 'rider', 'merchant']) {
    if (row[d] !== undefined && row[d] !== 'none') q.set(d, row[d]);
  }
  if (!q.has('city')) {
    const w = s.where.find((x) => x.startsWith('city=') && !x.includes(','));
    if (w) q.set('city', w.slice(5));
  }
  if (row.date) {
    q.set('from', row.date);
    q.set('to', row.date);
  } else {
    if (s.from) q.set('from', s.from);
    if (s.to) q.set('to', s.to);
  }
  return `#/decisions?${q}`;
}

function Controls({ s, go }) {
  // The cities of the caller's places, offered in the filter inputs.
  const cities = useApi(url('/v1/kpi', { by: 'city', kpi: 'orders' })).data?.rows.map((r) => r.city) ?? [];
  const setKpi = (name, on) => {
    const kpis = on ? KPIS.map((k) => k.name).filter((k) => k === name || s.kpis.includes(k)) : s.kpis.filter((k) => k !== name);
    if (kpis.length) go({ ...s, kpis });
  };
  const setBy = (i, v) => {
    const by = [...s.by];
    if (v) by[i] = v;
    else by.splice(i, 1);
    go({ ...s, by: [...new Set(by.filter(Boolean))], sort: null });
  };
  const setWhere = (i, dim, vals) => {
    const where = [...s.where];
    where[i] = `${dim}=${vals}`;
    go({ ...s, where: where.filter((w) => !w.endsWith('=')) });
  };
  const dimOptions = (cur, none) => html`
    ${none ? html`<option value="">${t('kpi.by_none')}</option>` : null}
    ${DIMS.map((d) => html`<option value=${d} selected=${d === cur}>${dimLabel(d)}</option>`)}
  `;
  return html`<form class="controls card" onSubmit=${(e) => e.preventDefault()}>
    <datalist id="kpi-cities">${cities.map((c) => html`<option value=${c} />`)}</datalist>
    <details class="kpi-box" open=${window.matchMedia('(min-width: 721px)').matches}>
      <summary>${t('kpi.kpis')} (${s.kpis.length})</summary>
      <div class="kpi-picks">
        ${KPIS.map(
          (k) => html`<label>
            <input type="checkbox" name="kpi" value=${k.name} checked=${s.kpis.includes(k.name)} onChange=${(e) => setKpi(k.name, e.currentTarget.checked)} />
            ${' '}${kpiLabel(k.name)}
          </label>`,
        )}
      </div>
    </details>
    <div class="row">
      <fieldset>
        <legend>${t('kpi.by')}</legend>
        <div class="row">
          <select name="by1" aria-label=${t('kpi.by')} onChange=${(e) => setBy(0, e.currentTarget.value)}>
            ${dimOptions(s.by[0], true)}
          </select>
          ${s.by[0]
            ? html`<select name="by2" aria-label=${t('kpi.by')} onChange=${(e) => setBy(1, e.currentTarget.value)}>
                ${dimOptions(s.by[1], true)}
              </select>`
            : null}
        </div>
      </fieldset>
      <fieldset>
        <legend>${t('kpi.period')}</legend>
        <div class="row">
          <label>${t('common.from')} <input type="date" name="from" value=${s.from} onChange=${(e) => go({ ...s, from: e.currentTarget.value })} /></label>
          <label>${t('common.to')} <input type="date" name="to" value=${s.to} onChange=${(e) => go({ ...s, to: e.currentTarget.value })} /></label>
        </div>
      </fieldset>
    </div>
    <fieldset>
      <legend>${t('kpi.where')}</legend>
      ${s.where.map((w, i) => {
        const [dim, vals] = [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)];
        return html`<div class="filter-row" key=${w}>
          <select aria-label=${t('kpi.where')} onChange=${(e) => setWhere(i, e.currentTarget.value, vals)}>${dimOptions(dim, false)}</select>
          <input
            type="text"
            dir="ltr"
            list=${dim === 'city' ? 'kpi-cities' : undefined}
            value=${vals}
            placeholder=${t('kpi.values')}
            aria-label=${t('kpi.values')}
            onChange=${(e) => setWhere(i, dim, e.currentTarget.value.replace(/\s+/g, ''))}
          />
          <button type="button" onClick=${() => go({ ...s, where: s.where.filter((_, j) => j !== i) })}>${t('kpi.remove')}</button>
        </div>`;
      })}
      <div class="filter-row">
        <select id="new-dim" aria-label=${t('kpi.where')}>${dimOptions('city', false)}</select>
        <input id="new-vals" type="text" dir="ltr" list="kpi-cities" placeholder=${t('kpi.values')} aria-label=${t('kpi.values')} />
        <button
          type="button"
          onClick=${() => {
            const v = document.getElementById('new-vals').value.replace(/\s+/g, '');
            if (v) go({ ...s, where: [...s.where, `${document.getElementById('new-dim').value}=${v}`] });
          }}
        >
          ${t('kpi.add_filter')}
        </button>
      </div>
    </fieldset>
  </form>`;
}

function Results({ s, data, go }) {
  const rows = data.rows;
  const by = data.by;
  const kpis = data.kpis;
  const hasCurrency = rows.some((r) => r.currency !== undefined);
  const cols = [
    ...by.map((d) => ({ key: d, label: dimLabel(d) })),
    ...(hasCurrency ? [{ key: 'currency', label: t('kpi.currency') }] : []),
    ...kpis.map((k) => ({ key: k, label: kpiLabel(k), num: true, render: (r) => fmtKpi(k, r[k], r.currency) })),
  ];
  const oneCity = s.where.some((w) => w.startsWith('city=') && !w.includes(','));
  const linkable = oneCity || by.some((d) => d === 'city' || d === 'rider' || d === 'merchant');
  const shown = linkable
    ? [...cols, { key: '_dec', label: t('kpi.decisions'), nosort: true, render: (r) => html`<a href=${decisionsHref(r, s)}>${t('kpi.decisions')} ${fwd()}</a>` }]
    : cols;
  const csv = () => {
    const lines = [cols.map((c) => csvField(c.key)).join(',')];
    for (const r of sortRows(rows, cols, s.sort)) lines.push(cols.map((c) => csvField(r[c.key])).join(','));
    download(`fulcrum-kpi-${by.join('-') || 'all'}.csv`, `${lines.join('\r\n')}\r\n`);
  };

  // The chart: the first dimension along x; with a second dimension, one
  // series per value of it (the first MAX_SERIES); the charted KPI.
  let chart = null;
  if (by.length > 0 && rows.length > 0 && kpis.includes(s.ck)) {
    const xs = [...new Set(rows.map((r) => r[by[0]]))];
    // The charted value of each (x, group) pair, the first row's when several.
    const at = new Map();
    for (const r of rows) {
      const k = JSON.stringify([r[by[0]], by.length > 1 ? r[by[1]] : null]);
      if (!at.has(k)) at.set(k, r[s.ck] ?? null);
    }
    const value = (x, g) => at.get(JSON.stringify([x, g])) ?? null;
    let series;
    let clipped = false;
    if (by.length === 1) series = [{ label: kpiLabel(s.ck), values: xs.map((x) => value(x, null)) }];
    else {
      const groups = [...new Set(rows.map((r) => r[by[1]]))];
      clipped = groups.length > MAX_SERIES;
      series = groups.slice(0, MAX_SERIES).map((g) => ({ label: g, values: xs.map((x) => value(x, g)) }));
    }
    const money = rows.find((r) => r.currency)?.currency;
    chart = html`<section class="card">
      <div class="row">
        <h2>${t('kpi.chart')}</h2>
        <label>${t('kpi.chart_kpi')}
          <select onChange=${(e) => go({ ...s, ck: e.currentTarget.value })}>
            ${kpis.map((k) => html`<option value=${k} selected=${k === s.ck}>${kpiLabel(k)}</option>`)}
          </select>
        </label>
        <button type="button" aria-pressed=${s.chart === 'line'} onClick=${() => go({ ...s, chart: 'line' })}>${t('kpi.line')}</button>
        <button type="button" aria-pressed=${s.chart === 'bar'} onClick=${() => go({ ...s, chart: 'bar' })}>${t('kpi.bar')}</button>
      </div>
      <${Chart}
        labels=${xs}
        series=${series}
        kind=${s.chart}
        connect=${ORDERED.includes(by[0])}
        height=${260}
        fmt=${(v) => fmtKpi(s.ck, v, money)}
      />
      ${clipped ? html`<p class="muted small">${t('kpi.too_many_series', { n: MAX_SERIES })}</p>` : null}
    </section>`;
  }

  return html`${chart}
    <section class="card">
      <div class="row">
        <h2>${t('common.rows', { n: rows.length })}</h2>
        <button type="button" onClick=${csv} disabled=${rows.length === 0}>${t('common.download_csv')}</button>
      </div>
      <${Table}
        cols=${shown}
        rows=${rows}
        sort=${s.sort}
        onSort=${(sort) => go({ ...s, sort })}
      />
    </section>`;
}

export default function Kpi({ query }) {
  const s = readState(query);
  const go = (next) => {
    location.hash = writeState(next);
  };
  let path = url('/v1/kpi', { by: s.by.join(','), where: s.where, from: s.from, to: s.to, kpi: s.kpis.join(',') });
  if (s.by.length === 0) path += `${path.includes('?') ? '&' : '?'}by=`; // one row: the whole selection
  const res = useApi(path);
  return html`<div class="page-head">
      <h1>${t('kpi.title')}</h1>
      <span class="muted small">${t('kpi.share')}</span>
    </div>
    <${Controls} s=${s} go=${go} />
    <${Async} res=${res}>${(data) => html`<${Results} s=${s} data=${data} go=${go} />`}<//>`;
}

