// #/overview[?from=YYYY-MM-DD&to=YYYY-MM-DD]: for each city of the caller's
// places, KPI tiles over the period (default: the last 7 days of data, the
// last date found with GET /v1/kpi?by=date) with the change against the
// previous period of the same length, and a trend by day. Cities come
// lowest on-time rate first, with a ranking on top; each links to the
// explorer filtered on it.
import { useState } from 'preact/hooks';
import { url, useApi } from '../api.js';
import { Chart } from '../chart.js';
import { t } from '../i18n.js';
import { fmtKpi, kpiChange, kpiDef, kpiLabel } from '../kpis.js';
import { ErrorBox, fwd, html, Loading, ltr } from '../ui.js';

export const TILE_KPIS = ['orders', 'on_time_rate', 'late_rate', 'cancel_rate', 'complaint_rate', 'csat', 'cpo'];

// Whole days between two YYYY-MM-DD dates, and a date moved by n days.
function dayNum(d) {
  const [y, m, dd] = d.split('-').map(Number);
  return Date.UTC(y, m - 1, dd) / 86400000;
}
export function addDays(d, n) {
  return new Date((dayNum(d) + n) * 86400000).toISOString().slice(0, 10);
}
const isDate = (s) => /^\d{4}-\d{2}-\d{2}$/.test(s ?? '');

// The explorer's address for one city over a period.
export function explorerHref(city, from, to, kpi = 'on_time_rate') {
  const q = new URLSearchParams({ kpi: `${kpi},orders,late_rate`, by: 'date', where: `city=${city}`, from, to });
  return `#/kpi?${q}`;
}

function Change({ name, cur, prev }) {
  const c = kpiChange(name, cur, prev);
  if (!c) return html`<span class="change same" title=${t('overview.prev_empty')}>–</span>`;
  const arrow = c.up ? '▲' : c.down ? '▼' : '●';
  const word = c.tone === 'better' ? t('overview.better') : c.tone === 'worse' ? t('overview.worse') : t('overview.same');
  return html`<span class=${`change ${c.tone}`} title=${`${t('overview.vs_prev')}: ${word}`}>
    <span aria-hidden="true">${arrow}</span> ${c.text} <span class="sr">${word}</span>
  </span>`;
}

function Ranking({ cities, cur, low, from, to }) {
  const vals = cities.map((c) => cur[c]?.on_time_rate).filter((v) => v != null);
  const lo = Math.max(0, Math.floor(Math.min(...vals)) - 5);
  return html`<section class="card">
    <h2>${t('overview.ranking')}</h2>
    <div class="ranking">
      ${cities.map((c) => {
        const v = cur[c]?.on_time_rate;
        const pct = v == null ? 0 : ((v - lo) / (100 - lo)) * 100;
        return html`<div class=${`bar-row ${low.has(c) ? 'low' : ''}`} data-city=${c}>
          <a href=${explorerHref(c, from, to)}>${c}</a>
          <div class="track"><div class="fill" style=${`inline-size:${pct.toFixed(1)}%`}></div></div>
          <span class="num">${fmtKpi('on_time_rate', v)}${low.has(c) ? html` <span class="badge bad">${c === cities[0] ? t('overview.lowest') : t('overview.low')}</span>` : null}</span>
        </div>`;
      })}
    </div>
  </section>`;
}

function CityCard({ city, cur, prev, trend, low, from, to }) {
  const [pick, setPick] = useState('on_time_rate');
  // A previous period with under a tenth of this one's orders is not a
  // comparison (the store began during it): no change is shown.
  const pv = prev && cur && (prev.orders ?? 0) >= (cur.orders ?? 0) / 10 ? prev : null;
  const days = trend.filter((r) => r.city === city);
  const labels = days.map((r) => r.date);
  return html`<section class="card city-card" data-city=${city}>
    <h2>
      <span>${city}</span>
      <span class="muted small">${fmtKpi('orders', cur?.orders)} ${kpiLabel('orders')}</span>
      <a class="explore" href=${explorerHref(city, from, to, pick === 'orders' ? 'on_time_rate' : pick)}>
        ${t('overview.explore', { city })} ${fwd()}
      </a>
    </h2>
    <div class="tiles">
      ${TILE_KPIS.map(
        (k) => html`<button
          type="button"
          class=${`tile ${pick === k ? 'selected' : ''} ${k === 'on_time_rate' && low ? 'alert' : ''}`}
          data-kpi=${k}
          data-value=${cur?.[k] ?? ''}
          aria-pressed=${pick === k}
          title=${t('overview.tile_hint')}
          onClick=${() => setPick(k)}
        >
          <span class="label">${kpiLabel(k)}</span>
          <span class="value">${fmtKpi(k, cur?.[k], cur?.currency)}</span>
          <${Change} name=${k} cur=${cur?.[k]} prev=${pv?.[k]} />
        </button>`,
      )}
    </div>
    ${labels.length > 0
      ? html`<${Chart}
          labels=${labels}
          series=${[{ label: kpiLabel(pick), values: days.map((r) => r[pick] ?? null) }]}
          kind=${kpiDef(pick).unit === 'count' ? 'bar' : 'line'}
          height=${170}
          title=${t('overview.trend', { kpi: kpiLabel(pick) })}
          fmt=${(v) => fmtKpi(pick, v, cur?.currency)}
        />`
      : null}
  </section>`;
}

function Period({ from, to }) {
  const go = (e) => {
    e.preventDefault();
    const f = e.currentTarget.elements;
    location.hash = `#/overview?${new URLSearchParams({ from: f.from.value, to: f.to.value })}`;
  };
  return html`<form class="row" onSubmit=${go}>
    <label>${t('common.from')} <input type="date" name="from" value=${from} /></label>
    <label>${t('common.to')} <input type="date" name="to" value=${to} /></label>
    <button type="submit">${t('common.apply')}</button>
  </form>`;
}

function Body({ from, to }) {
  const n = dayNum(to) - dayNum(from) + 1;
  const pto = addDays(from, -1);
  const pfrom = addDays(pto, -(n - 1));
  const kpi = TILE_KPIS.join(',');
  const cur = useApi(url('/v1/kpi', { by: 'city', from, to, kpi }));
  const prev = useApi(url('/v1/kpi', { by: 'city', from: pfrom, to: pto, kpi }));
  const trend = useApi(url('/v1/kpi', { by: 'city,date', from: pfrom, to, kpi }));
  const err = cur.error || prev.error || trend.error;
  if (err) return html`<${ErrorBox} error=${err} onRetry=${() => [cur, prev, trend].forEach((r) => r.reload())} />`;
  if (!cur.data || !prev.data || !trend.data) return html`<${Loading} />`;
  const byCity = (rows) => Object.fromEntries(rows.map((r) => [r.city, r]));
  const c = byCity(cur.data.rows);
  const p = byCity(prev.data.rows);
  const cities = Object.keys(c).sort((a, b) => (c[a].on_time_rate ?? 101) - (c[b].on_time_rate ?? 101));
  if (cities.length === 0) return html`<p class="notice">${t('overview.no_data')}</p>`;
  // Low: the lowest city, and any city 1 point or more under the median (none
  // when there is a single city: nothing to compare with).
  const rates = cities.map((x) => c[x].on_time_rate).filter((v) => v != null);
  const median = rates.length ? rates[Math.floor(rates.length / 2)] : null;
  const low = new Set(
    cities.length < 2 ? [] : cities.filter((x, i) => i === 0 || (median != null && c[x].on_time_rate <= median - 1)),
  );
  return html`
    <p class="muted" data-from=${from} data-to=${to}>
      ${t('overview.period', { from: ltr(from), to: ltr(to), pfrom: ltr(pfrom), pto: ltr(pto) })}
    </p>
    ${cities.length > 1 ? html`<${Ranking} cities=${cities} cur=${c} low=${low} from=${from} to=${to} />` : null}
    <div class="grid2">
      ${cities.map(
        (x) => html`<${CityCard}
          key=${x}
          city=${x}
          cur=${c[x]}
          prev=${p[x]}
          trend=${trend.data.rows}
          low=${low.has(x)}
          from=${from}
          to=${to}
        />`,
      )}
    </div>
  `;
}

export default function Overview({ query }) {
  const qf = query.get('from');
  const qt = query.get('to');
  const given = isDate(qf) && isDate(qt) && qf <= qt;
  const dates = useApi(given ? null : url('/v1/kpi', { by: 'date', kpi: 'orders' }));
  let from = qf;
  let to = qt;
  let body = null;
  if (!given) {
    // Days with data: a day with under 1% of the busiest day's orders is the
    // spill of a time zone, not a day of data.
    const rows = dates.data?.rows ?? [];
    const peak = Math.max(0, ...rows.map((r) => r.orders ?? 0));
    const days = rows.filter((r) => r.orders > 0 && r.orders >= peak / 100).map((r) => r.date).sort();
    const last = days[days.length - 1];
    if (dates.error) body = html`<${ErrorBox} error=${dates.error} onRetry=${dates.reload} />`;
    else if (!dates.data) body = html`<${Loading} />`;
    else if (!last) body = html`<p class="notice">${t('overview.no_data')}</p>`;
    else {
      // The last 7 days, or half the days held when under two weeks, so that
      // a previous period of the same length has data to compare with.
      const span = dayNum(last) - dayNum(days[0]) + 1;
      to = last;
      from = addDays(last, -(Math.max(1, Math.min(7, Math.floor(span / 2))) - 1));
    }
  }
  if (!body) body = html`<${Body} from=${from} to=${to} />`;
  return html`<div class="page-head">
      <h1>${t('overview.title')}</h1>
      ${from && to ? html`<${Period} from=${from} to=${to} />` : null}
    </div>
    ${body}`;
}
