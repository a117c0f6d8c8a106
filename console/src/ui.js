// Shared building blocks of the pages: the html template tag (htm over
// preact, no build step for JSX), loading and error boxes, formatting of
// times and numbers in the chosen language, links, a sortable table and a
// definition list.
import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import htm from 'htm';
import { getLang, locale, t } from './i18n.js';

export const html = htm.bind(h);

// An arrow pointing forward in the reading direction.
export function fwd() {
  return getLang() === 'ar' ? '←' : '→';
}

// Text isolated left-to-right (ids, dates) inside text of either direction.
export function ltr(s) {
  return `\u2066${s}\u2069`;
}

export function Loading() {
  return html`<p class="loading" role="status">${t('common.loading')}</p>`;
}

// An API error as the server said it: its message and code.
export function ErrorBox({ error, onRetry }) {
  if (!error) return null;
  return html`<div class="error" role="alert">
    <strong>${t('common.error')}${error.status ? ` ${error.status}` : ''}</strong>
    ${error.code ? html` <code>${error.code}</code>` : null}
    <p>${error.message}</p>
    ${onRetry ? html`<button type="button" onClick=${onRetry}>${t('common.retry')}</button>` : null}
  </div>`;
}

// Render the states of a useApi() result: loading, error, or body(data).
export function Async({ res, children }) {
  if (res.error) return html`<${ErrorBox} error=${res.error} onRetry=${res.reload} />`;
  if (res.data === undefined) return html`<${Loading} />`;
  return children(res.data);
}

// The time now in ms, renewed every 30 s: pages showing time left re-render.
export function useNow() {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), 30000);
    return () => clearInterval(id);
  }, []);
  return now;
}

// "2026-03-04T19:30:00+03:00" (or epoch seconds) -> local date and time as
// written (the city's offset is kept: the time is shown as the city saw it).
export function fmtTime(v, withDate = true) {
  if (v === null || v === undefined || v === '') return '–';
  if (typeof v === 'number') v = new Date(v * 1000).toISOString();
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(:\d{2})?/.exec(v);
  if (!m) return String(v);
  // isolated left-to-right, so a date and time read the same inside Arabic text
  return `\u2066${withDate ? `${m[1]} ${m[2]}` : m[2]}\u2069`;
}

// Milliseconds since the epoch of an RFC 3339 string or epoch seconds.
export function toMs(v) {
  if (v === null || v === undefined || v === '') return null;
  if (typeof v === 'number') return v * 1000;
  const ms = Date.parse(v);
  return Number.isNaN(ms) ? null : ms;
}

// One Intl.NumberFormat per language, digits and sign, made on first use
// (making one is far dearer than formatting with it).
const numFormats = new Map();

// A number in the chosen language with digits decimals; sign: a + before
// positive values (changes). "–" for null, undefined and NaN.
export function fmtNum(v, digits = 0, sign = false) {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  const key = `${locale()}|${digits}|${sign}`;
  let nf = numFormats.get(key);
  if (!nf) {
    nf = new Intl.NumberFormat(locale(), {
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
      ...(sign ? { signDisplay: 'exceptZero' } : {}),
    });
    numFormats.set(key, nf);
  }
  return nf.format(v);
}

// Any JSON value as short text.
export function fmtValue(v) {
  if (v === null || v === undefined) return '–';
  if (typeof v === 'boolean') return v ? t('common.yes') : t('common.no');
  if (typeof v === 'number') return Number.isInteger(v) ? fmtNum(v) : fmtNum(v, 2);
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export function orderLink(id) {
  return id ? html`<a href=${`#/orders/${encodeURIComponent(id)}`}>${id}</a>` : '–';
}
export function riderLink(id) {
  return id ? html`<a href=${`#/riders/${encodeURIComponent(id)}`}>${id}</a>` : '–';
}
export function appealLink(id, text) {
  return id ? html`<a href=${`#/appeals/${encodeURIComponent(id)}`}>${text ?? id}</a>` : '–';
}

// Label/value pairs: rows = [[label, value], ...].
export function DefList({ rows }) {
  return html`<dl class="deflist">
    ${rows.map(([k, v]) => html`<div><dt>${k}</dt><dd>${v}</dd></div>`)}
  </dl>`;
}

// A sortable table. cols = [{key, label, num (right-aligned, sorts as a
// number), render(row) (optional)}]; rows = objects. sort = {key, dir}
// (dir 1 ascending, -1 descending) may be controlled by the caller through
// onSort; else the table keeps it.
export function sortRows(rows, cols, sort) {
  if (!sort?.key) return rows;
  const col = cols.find((c) => c.key === sort.key);
  const val = col?.sortValue ?? ((r) => r[sort.key]);
  return [...rows].sort((a, b) => {
    const x = val(a);
    const y = val(b);
    if (x === y) return 0;
    if (x === null || x === undefined) return 1;
    if (y === null || y === undefined) return -1;
    const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
    return c * sort.dir;
  });
}

export function Table({ cols, rows, sort: sortIn, onSort, empty, caption }) {
  const [own, setOwn] = useState(null);
  const sort = onSort ? sortIn : own;
  const set = onSort ?? setOwn;
  const sorted = sortRows(rows, cols, sort);
  const click = (key) =>
    set(sort?.key === key ? { key, dir: -sort.dir } : { key, dir: cols.find((c) => c.key === key)?.num ? -1 : 1 });
  if (rows.length === 0) return html`<p class="muted">${empty ?? t('common.no_rows')}</p>`;
  return html`<div class="table-wrap">
    <table>
      ${caption ? html`<caption>${caption}</caption>` : null}
      <thead>
        <tr>
          ${cols.map(
            (c) => html`<th
              class=${c.num ? 'num' : ''}
              aria-sort=${sort?.key === c.key ? (sort.dir > 0 ? 'ascending' : 'descending') : 'none'}
            >
              ${c.nosort
                ? c.label
                : html`<button type="button" class="sort" onClick=${() => click(c.key)}>
                    ${c.label}${sort?.key === c.key ? (sort.dir > 0 ? ' ▲' : ' ▼') : ''}
                  </button>`}
            </th>`,
          )}
        </tr>
      </thead>
      <tbody>
        ${sorted.map(
          (r) => html`<tr>
            ${cols.map(
              (c) => html`<td class=${c.num ? 'num' : ''}>${c.render ? c.render(r) : fmtValue(r[c.key])}</td>`,
            )}
          </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}

// Offer text as a file download.
export function download(name, text, type = 'text/csv;charset=utf-8') {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([text], { type }));
  a.download = name;
  document.body.appendChild(a);
  a.click();
  setTimeout(() => {
    URL.revokeObjectURL(a.href);
    a.remove();
  }, 0);
}

// One CSV field (RFC 4180 quoting).
export function csvField(v) {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
