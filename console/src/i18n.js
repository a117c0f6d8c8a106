// Strings of the console in English and Arabic. Every visible string goes
// through t("key") or t("key", {name: value}) ("{name}" is replaced). A key
// missing in Arabic falls back to English, a key missing in both shows the
// key itself (so a forgotten string is visible, never blank).
//
// The language is remembered in localStorage ("fulcrum.lang"); setLang()
// sets <html lang dir>, and api.js sends it as Accept-Language so the
// server's explanations come in the same language. Listeners registered
// with onLang() are called after a change (main.js re-renders the app).

const strings = {
  en: {
    'app.name': 'Fulcrum',
    'nav.overview': 'Overview',
    'nav.kpi': 'KPI explorer',
    'nav.decisions': 'Decisions',
    'nav.appeals': 'Appeals',
    'nav.logout': 'Log out',
    'nav.menu': 'Menu',
    'lang.switch': 'العربية',
    'lang.switch_title': 'Switch to Arabic',
    'common.loading': 'Loading…',
    'common.error': 'Error',
    'common.retry': 'Retry',
    'common.none': 'None',
    'common.more': 'Load more',
    'common.yes': 'yes',
    'common.no': 'no',
    'common.apply': 'Apply',
    'common.from': 'From',
    'common.to': 'To',
    'common.not_found': 'Page not found: {path}',
    'common.download_csv': 'Download CSV',
    'common.rows': '{n} rows',
    'common.no_rows': 'No rows match.',
    'error.network': 'The server could not be reached: {message}',
    'error.bad_json': 'The server answered {status} without a JSON body.',
    'login.title': 'Sign in',
    'login.help':
      'Paste an API token. An administrator makes one with: fulcrum token create --name NAME --role ROLE --scope SCOPE',
    'login.token': 'API token',
    'login.submit': 'Sign in',
    'login.checking': 'Checking…',
    'login.expired': 'Your token was refused: sign in again.',
    'login.empty': 'Paste a token first.',
    'login.session_note': 'The token is kept in this tab only (sessionStorage) and sent as a Bearer token.',
    'role.admin': 'admin',
    'role.analyst': 'analyst',
    'role.reviewer': 'reviewer',
    'role.rider': 'rider',
    'role.merchant': 'merchant',
    'overview.title': 'Overview',
    'overview.period': 'Period {from} – {to}, compared with {pfrom} – {pto}',
    'overview.no_data': 'No orders in the store for your places.',
    'overview.ranking': 'On-time rate by city, lowest first',
    'overview.explore': 'Explore {city}',
    'overview.trend': '{kpi} by day',
    'overview.vs_prev': 'vs previous period',
    'overview.better': 'better',
    'overview.worse': 'worse',
    'overview.same': 'no change',
    'overview.lowest': 'lowest',
    'overview.low': 'low',
    'overview.prev_empty': 'no data in the previous period',
    'overview.tile_hint': 'Click a tile to chart it',
    'kpi.title': 'KPI explorer',
    'kpi.kpis': 'KPIs',
    'kpi.by': 'Slice by',
    'kpi.by_none': '(none)',
    'kpi.where': 'Filters',
    'kpi.add_filter': 'Add filter',
    'kpi.remove': 'Remove',
    'kpi.values': 'values, comma-separated',
    'kpi.period': 'Period',
    'kpi.chart': 'Chart',
    'kpi.chart_kpi': 'Chart KPI',
    'kpi.line': 'Line',
    'kpi.bar': 'Bar',
    'kpi.decisions': 'Decisions',
    'kpi.share': 'The address of this page holds the whole view: copy it to share.',
    'kpi.too_many_series': 'The chart shows the first {n} series.',
    'kpi.currency': 'Currency',
    'decisions.title': 'Decisions',
    'decisions.filters': 'Filters: {filters}',
    'decisions.none': 'No decisions match.',
    'col.id': 'Decision',
    'col.order': 'Order',
    'col.city': 'City',
    'col.incident': 'Incident',
    'col.party': 'Party',
    'col.outcome': 'Outcome',
    'col.rule': 'Rule',
    'col.rider': 'Rider',
    'col.merchant': 'Merchant',
    'col.needs_review': 'Needs review',
    'col.created_at': 'Created',
    'col.state': 'State',
    'col.due_at': 'Due',
    'col.fact': 'Fact',
    'col.value': 'Value',
    'col.unit': 'Unit',
    'col.op': 'Test',
    'col.threshold': 'Threshold',
    'col.held': 'Held',
    'col.margin': 'Margin',
    'order.title': 'Order {id}',
    'order.summary': 'Summary',
    'order.timeline': 'Timeline',
    'order.timeline_help': 'Each mark is an event; the red line is the promised time; the shaded part is late.',
    'order.promised': 'promised',
    'order.late_by': 'late by {min} min',
    'order.on_time': 'on time',
    'order.facts': 'Facts',
    'order.decisions': 'Decisions',
    'order.no_decisions': 'No decision on this order.',
    'order.appeals': 'Appeals',
    'order.no_appeals': 'No appeal on this order.',
    'order.events': 'Events',
    'order.facts_unknown': '{n} facts without a value',
    'order.superseded': 'superseded',
    'order.needs_review': 'needs review',
    'order.explanation': 'Explanation',
    'order.evidence': 'Evidence',
    'order.margin': 'Margin',
    'order.rule': 'Rule',
    'order.policy': 'Policy',
    'order.consequence': 'Consequence',
    'order.appeal_link': 'Appeal {id} ({state})',
    'field.city': 'City',
    'field.zone': 'Zone',
    'field.merchant': 'Merchant',
    'field.rider': 'Rider',
    'field.capacity': 'Capacity',
    'field.status': 'Status',
    'field.created_at': 'Created',
    'field.promised_at': 'Promised',
    'field.delivered_at': 'Delivered',
    'field.cancelled_at': 'Cancelled',
    'field.late_min': 'Late (min)',
    'unit.min': 'min',
    'unit.pp': 'pp',
  },
  ar: {
    'app.name': 'فلكرم',
    'nav.overview': 'نظرة عامة',
    'nav.kpi': 'مستكشف المؤشرات',
    'nav.decisions': 'القرارات',
    'nav.appeals': 'الاعتراضات',
    'nav.logout': 'تسجيل الخروج',
    'nav.menu': 'القائمة',
    'lang.switch': 'English',
    'lang.switch_title': 'التبديل إلى الإنجليزية',
    'common.loading': 'جارٍ التحميل…',
    'common.error': 'خطأ',
    'common.retry': 'إعادة المحاولة',
    'common.none': 'لا شيء',
    'common.more': 'عرض المزيد',
    'common.yes': 'نعم',
    'common.no': 'لا',
    'common.apply': 'تطبيق',
    'common.from': 'من',
    'common.to': 'إلى',
    'common.not_found': 'الصفحة غير موجودة: {path}',
    'common.download_csv': 'تنزيل CSV',
    'common.rows': '{n} صفوف',
    'common.no_rows': 'لا توجد صفوف مطابقة.',
    'error.network': 'تعذّر الوصول إلى الخادم: {message}',
    'error.bad_json': 'أجاب الخادم بالرمز {status} دون محتوى JSON.',
    'login.title': 'تسجيل الدخول',
    'login.help':
      'الصق رمز وصول. يُنشئه المسؤول بالأمر: fulcrum token create --name NAME --role ROLE --scope SCOPE',
    'login.token': 'رمز الوصول',
    'login.submit': 'دخول',
    'login.checking': 'جارٍ التحقق…',
    'login.expired': 'رُفض رمزك: سجّل الدخول من جديد.',
    'login.empty': 'الصق رمزًا أولًا.',
    'login.session_note': 'يُحفظ الرمز في هذه النافذة فقط (sessionStorage) ويُرسل كرمز Bearer.',
    'role.admin': 'مسؤول',
    'role.analyst': 'محلل',
    'role.reviewer': 'مراجع',
    'role.rider': 'مندوب',
    'role.merchant': 'تاجر',
    'overview.title': 'نظرة عامة',
    'overview.period': 'الفترة {from} – {to}، مقارنة بـ {pfrom} – {pto}',
    'overview.no_data': 'لا توجد طلبات في المخزن لأماكنك.',
    'overview.ranking': 'نسبة التوصيل في الوقت حسب المدينة، الأدنى أولًا',
    'overview.explore': 'استكشاف {city}',
    'overview.trend': '{kpi} حسب اليوم',
    'overview.vs_prev': 'مقارنة بالفترة السابقة',
    'overview.better': 'أفضل',
    'overview.worse': 'أسوأ',
    'overview.same': 'دون تغيير',
    'overview.lowest': 'الأدنى',
    'overview.low': 'منخفض',
    'overview.prev_empty': 'لا بيانات في الفترة السابقة',
    'overview.tile_hint': 'انقر على مؤشر لرسمه',
    'kpi.title': 'مستكشف المؤشرات',
    'kpi.kpis': 'المؤشرات',
    'kpi.by': 'التقسيم حسب',
    'kpi.by_none': '(بدون)',
    'kpi.where': 'عوامل التصفية',
    'kpi.add_filter': 'إضافة عامل تصفية',
    'kpi.remove': 'إزالة',
    'kpi.values': 'القيم، مفصولة بفواصل',
    'kpi.period': 'الفترة',
    'kpi.chart': 'الرسم',
    'kpi.chart_kpi': 'مؤشر الرسم',
    'kpi.line': 'خطي',
    'kpi.bar': 'أعمدة',
    'kpi.decisions': 'القرارات',
    'kpi.share': 'عنوان هذه الصفحة يحفظ العرض كاملًا: انسخه لمشاركته.',
    'kpi.too_many_series': 'يعرض الرسم أول {n} سلاسل.',
    'kpi.currency': 'العملة',
    'decisions.title': 'القرارات',
    'decisions.filters': 'عوامل التصفية: {filters}',
    'decisions.none': 'لا توجد قرارات مطابقة.',
    'col.id': 'القرار',
    'col.order': 'الطلب',
    'col.city': 'المدينة',
    'col.incident': 'الحادثة',
    'col.party': 'الطرف',
    'col.outcome': 'النتيجة',
    'col.rule': 'القاعدة',
    'col.rider': 'المندوب',
    'col.merchant': 'التاجر',
    'col.needs_review': 'يحتاج مراجعة',
    'col.created_at': 'التاريخ',
    'col.state': 'الحالة',
    'col.due_at': 'الموعد النهائي',
    'col.fact': 'الحقيقة',
    'col.value': 'القيمة',
    'col.unit': 'الوحدة',
    'col.op': 'الاختبار',
    'col.threshold': 'الحد',
    'col.held': 'تحقق',
    'col.margin': 'الهامش',
    'order.title': 'الطلب {id}',
    'order.summary': 'ملخص',
    'order.timeline': 'الخط الزمني',
    'order.timeline_help': 'كل علامة حدث؛ الخط الأحمر هو الوقت الموعود؛ الجزء المظلل متأخر.',
    'order.promised': 'الموعد',
    'order.late_by': 'متأخر {min} دقيقة',
    'order.on_time': 'في الوقت',
    'order.facts': 'الحقائق',
    'order.decisions': 'القرارات',
    'order.no_decisions': 'لا يوجد قرار على هذا الطلب.',
    'order.appeals': 'الاعتراضات',
    'order.no_appeals': 'لا يوجد اعتراض على هذا الطلب.',
    'order.events': 'الأحداث',
    'order.facts_unknown': '{n} حقائق دون قيمة',
    'order.superseded': 'مستبدل',
    'order.needs_review': 'يحتاج مراجعة',
    'order.explanation': 'التفسير',
    'order.evidence': 'الأدلة',
    'order.margin': 'الهامش',
    'order.rule': 'القاعدة',
    'order.policy': 'السياسة',
    'order.consequence': 'العاقبة',
    'order.appeal_link': 'الاعتراض {id} ({state})',
    'field.city': 'المدينة',
    'field.zone': 'المنطقة',
    'field.merchant': 'التاجر',
    'field.rider': 'المندوب',
    'field.capacity': 'نوع الدوام',
    'field.status': 'الحالة',
    'field.created_at': 'الإنشاء',
    'field.promised_at': 'الموعد',
    'field.delivered_at': 'التسليم',
    'field.cancelled_at': 'الإلغاء',
    'field.late_min': 'التأخير (دقيقة)',
    'unit.min': 'دقيقة',
    'unit.pp': 'نقطة',
  },
};

const KEY = 'fulcrum.lang';
const listeners = new Set();

function stored() {
  try {
    const l = localStorage.getItem(KEY);
    return l === 'ar' || l === 'en' ? l : 'en';
  } catch {
    return 'en';
  }
}

let current = stored();

// The language in use: "en" or "ar".
export function getLang() {
  return current;
}

// Set <html lang dir> to the language in use (called at start and on change).
export function applyLang() {
  const root = document.documentElement;
  root.lang = current;
  root.dir = current === 'ar' ? 'rtl' : 'ltr';
  document.title = t('app.name');
}

// Switch language, remember it, and tell the listeners.
export function setLang(l) {
  current = l === 'ar' ? 'ar' : 'en';
  try {
    localStorage.setItem(KEY, current);
  } catch {
    /* private mode: the choice lasts this page only */
  }
  applyLang();
  for (const f of listeners) f(current);
}

// Call f(lang) after every change; returns the function that stops it.
export function onLang(f) {
  listeners.add(f);
  return () => listeners.delete(f);
}

// The string of key in the language in use, "{name}" replaced from vars.
export function t(key, vars) {
  let s = strings[current][key] ?? strings.en[key] ?? key;
  if (vars) {
    s = s.replace(/\{(\w+)\}/g, (m, k) => (vars[k] !== undefined ? String(vars[k]) : m));
  }
  return s;
}

// Add strings (used by kpis.js for the catalog's labels): {en:{...}, ar:{...}}.
export function addStrings(more) {
  for (const l of Object.keys(more)) Object.assign(strings[l], more[l]);
}

// The locale for numbers and dates: Arabic text with Latin digits, so figures
// read the same in both languages and match the API's numbers.
export function locale() {
  return current === 'ar' ? 'ar-u-nu-latn' : 'en-GB';
}
