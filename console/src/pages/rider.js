// #/riders/ID: one rider (GET /v1/riders/ID): who, the summary counts, the
// decisions naming the rider (each linked to its order page), the rider's
// appeals with their state and deadline, and the score and tier, which come
// with the rider assessment: until then a placeholder says so. A rider's
// token lands here on its own page (homeOf in api.js).
import { useApi } from '../api.js';
import { addStrings, t } from '../i18n.js';
import { Async, DefList, fmtNum, html, Table, useNow } from '../ui.js';
import { appealCols, openRow } from './appeals.js';
import { decisionCols } from './decisions.js';

addStrings({
  en: {
    'rider.title': 'Rider {id}',
    'rider.summary': 'Summary',
    'rider.orders': 'Orders',
    'rider.decisions': 'Decisions',
    'rider.liable': 'Liable',
    'rider.appeals': 'Appeals',
    'rider.overturned': 'Appeals overturned',
    'rider.score': 'Score and tier',
    'rider.score_pending': 'Score and tier: coming with rider assessment.',
    'rider.score_value': 'Score',
    'rider.tier': 'Tier',
    'rider.no_decisions': 'No decision names this rider.',
    'rider.no_appeals': 'No appeal filed.',
    'rider.first': 'The first {n} are shown.',
    'rider.name': 'Name',
  },
  ar: {
    'rider.title': 'المندوب {id}',
    'rider.summary': 'ملخص',
    'rider.orders': 'الطلبات',
    'rider.decisions': 'القرارات',
    'rider.liable': 'مسؤول',
    'rider.appeals': 'الاعتراضات',
    'rider.overturned': 'اعتراضات أُلغي قرارها',
    'rider.score': 'الدرجة والفئة',
    'rider.score_pending': 'الدرجة والفئة: تأتي مع تقييم المندوبين.',
    'rider.score_value': 'الدرجة',
    'rider.tier': 'الفئة',
    'rider.no_decisions': 'لا يوجد قرار يخص هذا المندوب.',
    'rider.no_appeals': 'لم يُقدَّم أي اعتراض.',
    'rider.first': 'تظهر أول {n}.',
    'rider.name': 'الاسم',
  },
});

function Tile({ label, value }) {
  return html`<div class="tile">
    <span class="label">${label}</span>
    <span class="value">${fmtNum(value)}</span>
  </div>`;
}

function RiderBody({ data }) {
  const now = useNow();
  const r = data.rider ?? {};
  const s = data.summary ?? {};
  const decisions = data.decisions ?? [];
  const appeals = data.appeals ?? [];
  return html`<div class="page-head">
      <h1>${t('rider.title', { id: r.id })}</h1>
      ${r.name ? html`<span class="muted">${r.name}</span>` : null}
    </div>
    <section class="card">
      <${DefList}
        rows=${[
          [t('field.city'), r.city ?? '–'],
          [t('field.capacity'), r.capacity ?? '–'],
        ]}
      />
    </section>
    <section aria-label=${t('rider.summary')} class="tiles">
      <${Tile} label=${t('rider.orders')} value=${s.orders} />
      <${Tile} label=${t('rider.decisions')} value=${s.decisions} />
      <${Tile} label=${t('rider.liable')} value=${s.liable} />
      <${Tile} label=${t('rider.appeals')} value=${s.appeals} />
      <${Tile} label=${t('rider.overturned')} value=${s.appeals_overturned} />
    </section>
    <section class="card score" aria-labelledby="score-h">
      <h2 id="score-h">${t('rider.score')}</h2>
      ${data.score === null || data.score === undefined
        ? html`<p class="notice">${t('rider.score_pending')}</p>`
        : html`<${DefList}
            rows=${[
              [t('rider.score_value'), fmtNum(data.score, 1)],
              [t('rider.tier'), data.tier ?? '–'],
            ]}
          />`}
    </section>
    <section class="card" aria-labelledby="rdec-h">
      <h2 id="rdec-h">${t('rider.decisions')}</h2>
      <${Table} cols=${decisionCols({ city: false, rider: false })} rows=${decisions} empty=${t('rider.no_decisions')} />
      ${s.decisions > decisions.length ? html`<p class="muted small">${t('rider.first', { n: decisions.length })}</p>` : null}
    </section>
    <section class="card" aria-labelledby="rapl-h">
      <h2 id="rapl-h">${t('rider.appeals')}</h2>
      <div onClick=${openRow}>
        <${Table} cols=${appealCols(now, { brief: true })} rows=${appeals} empty=${t('rider.no_appeals')} />
      </div>
      ${s.appeals > appeals.length ? html`<p class="muted small">${t('rider.first', { n: appeals.length })}</p>` : null}
    </section>`;
}

export default function Rider({ params }) {
  const res = useApi(`/v1/riders/${encodeURIComponent(params.id)}`);
  return html`<section class="rider">
    <${Async} res=${res}>${(data) => html`<${RiderBody} data=${data} />`}<//>
  </section>`;
}
