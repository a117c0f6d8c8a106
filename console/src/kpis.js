// The KPI catalog and the dimensions as the console shows them (the same
// names as GET /v1/kpi and docs/kpis.md): each KPI's unit, its direction
// (+1: higher is better, -1: lower is better, 0: neither) and its label in
// both languages; formatting of KPI values.
import { addStrings, t } from './i18n.js';
import { fmtNum } from './ui.js';

// name, unit (count | rate | minutes | money | score), direction, main, en, ar
const catalog = [
  ['orders', 'count', 0, 1, 'Orders', 'الطلبات'],
  ['on_time_rate', 'rate', 1, 1, 'On-time rate', 'نسبة التوصيل في الوقت'],
  ['late_rate', 'rate', -1, 1, 'Late rate', 'نسبة التأخير'],
  ['severe_late_rate', 'rate', -1, 0, 'Severe late rate', 'نسبة التأخير الشديد'],
  ['delivery_min_mean', 'minutes', -1, 0, 'Delivery time, mean', 'متوسط مدة التوصيل'],
  ['delivery_min_p50', 'minutes', -1, 1, 'Delivery time, median', 'وسيط مدة التوصيل'],
  ['delivery_min_p90', 'minutes', -1, 1, 'Delivery time, p90', 'مدة التوصيل، المئين 90'],
  ['cancel_rate', 'rate', -1, 1, 'Cancel rate', 'نسبة الإلغاء'],
  ['cancel_rate_customer', 'rate', -1, 0, 'Cancelled by customer', 'ألغاه العميل'],
  ['cancel_rate_merchant', 'rate', -1, 0, 'Cancelled by merchant', 'ألغاه التاجر'],
  ['cancel_rate_rider', 'rate', -1, 0, 'Cancelled by rider', 'ألغاه المندوب'],
  ['cancel_rate_platform', 'rate', -1, 0, 'Cancelled by platform', 'ألغته المنصة'],
  ['cancel_rate_other', 'rate', -1, 0, 'Cancelled, other', 'إلغاء، أخرى'],
  ['complaint_rate', 'rate', -1, 1, 'Complaint rate', 'نسبة الشكاوى'],
  ['bad_rating_rate', 'rate', -1, 0, 'Bad rating rate', 'نسبة التقييم السيئ'],
  ['csat', 'rate', 1, 1, 'CSAT', 'رضا العملاء'],
  ['push_completion_rate', 'rate', 1, 0, 'Push completion', 'اكتمال الإسناد'],
  ['refusal_rate', 'rate', -1, 0, 'Refusal rate', 'نسبة الرفض'],
  ['merchant_wait_min', 'minutes', -1, 0, 'Wait at merchant', 'الانتظار لدى التاجر'],
  ['prep_overrun_rate', 'rate', -1, 0, 'Prep overrun rate', 'نسبة تجاوز وقت التحضير'],
  ['undeliverable_rate', 'rate', -1, 0, 'Undeliverable rate', 'نسبة تعذّر التسليم'],
  ['cs_contact_rate', 'rate', -1, 0, 'Customer-service contact rate', 'نسبة التواصل مع خدمة العملاء'],
  ['cpo', 'money', -1, 1, 'Cost per order', 'التكلفة لكل طلب'],
  ['exception_loss_rate', 'rate', -1, 0, 'Exception loss rate', 'نسبة خسائر الاستثناءات'],
  ['nps', 'score', 1, 1, 'NPS', 'صافي نقاط الترويج'],
];

// The dimensions GET /v1/kpi accepts, with labels.
const dims = [
  ['country', 'Country', 'الدولة'],
  ['city', 'City', 'المدينة'],
  ['zone', 'Zone', 'المنطقة'],
  ['zone_kind', 'Zone kind', 'نوع المنطقة'],
  ['hour', 'Hour', 'الساعة'],
  ['daypart', 'Daypart', 'فترة اليوم'],
  ['date', 'Date', 'التاريخ'],
  ['weekday', 'Weekday', 'يوم الأسبوع'],
  ['merchant', 'Merchant', 'التاجر'],
  ['merchant_kind', 'Merchant kind', 'نوع التاجر'],
  ['brand', 'Brand', 'العلامة'],
  ['rider', 'Rider', 'المندوب'],
  ['capacity', 'Capacity', 'نوع الدوام'],
  ['category', 'Category', 'الفئة'],
  ['weather', 'Weather', 'الطقس'],
  ['status', 'Status', 'الحالة'],
];

export const KPIS = catalog.map(([name, unit, dir, main]) => ({ name, unit, dir, main: !!main }));
export const DIMS = dims.map(([name]) => name);
const byName = Object.fromEntries(KPIS.map((k) => [k.name, k]));

{
  const en = {};
  const ar = {};
  for (const [name, , , , e, a] of catalog) {
    en[`kpi.name.${name}`] = e;
    ar[`kpi.name.${name}`] = a;
  }
  for (const [name, e, a] of dims) {
    en[`dim.${name}`] = e;
    ar[`dim.${name}`] = a;
  }
  addStrings({ en, ar });
}

// The KPI named name ({name, unit, dir, main}); an unknown one is a count.
export function kpiDef(name) {
  return byName[name] ?? { name, unit: 'count', dir: 0, main: false };
}

export function kpiLabel(name) {
  return t(`kpi.name.${name}`);
}

export function dimLabel(name) {
  return t(`dim.${name}`);
}

// A KPI value as GET /v1/kpi answers it (rates in percent) for display.
export function fmtKpi(name, v, currency) {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  switch (kpiDef(name).unit) {
    case 'rate':
      return `${fmtNum(v, 1)}%`;
    case 'minutes':
      return `${fmtNum(v, 1)} ${t('unit.min')}`;
    case 'money':
      return currency && currency !== 'mixed' ? `${fmtNum(v, 2)} ${currency}` : fmtNum(v, 2);
    default:
      return fmtNum(v, 0);
  }
}

// The change from prev to cur of KPI name: {delta, text, tone} where tone is
// "better", "worse" or "same" by the KPI's direction ("same" for neutral
// KPIs and for no change), and text the signed difference (percentage points
// for rates, a relative change for counts and money).
export function kpiChange(name, cur, prev) {
  if (cur == null || prev == null) return null;
  const def = kpiDef(name);
  const delta = cur - prev;
  let text;
  let size;
  if (def.unit === 'rate') {
    text = `${fmtNum(delta, 1, true)} ${t('unit.pp')}`;
    size = Math.abs(delta) >= 0.05 ? delta : 0;
  } else if (def.unit === 'minutes' || def.unit === 'score') {
    text = def.unit === 'minutes' ? `${fmtNum(delta, 1, true)} ${t('unit.min')}` : fmtNum(delta, 0, true);
    size = Math.abs(delta) >= 0.05 ? delta : 0;
  } else {
    const rel = prev !== 0 ? (delta / prev) * 100 : 0;
    text = `${fmtNum(rel, 1, true)}%`;
    size = Math.abs(rel) >= 0.05 ? rel : 0;
  }
  let tone = 'same';
  if (size !== 0 && def.dir !== 0) tone = size * def.dir > 0 ? 'better' : 'worse';
  return { delta, text, tone, up: size > 0, down: size < 0 };
}
