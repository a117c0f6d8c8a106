// The console's entry: the route table on location.hash, the header (pages,
// the caller, the language switch) and the start (check the token, then
// show the page). A page is a module exporting a component that receives
// {params, query, me}: params the ":name" segments of its route, query the
// parameters after "?" in the hash (URLSearchParams), me the caller of
// GET /v1/me ({name, role, scope}).
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { getMe, getToken, homeOf, loadMe, ownId, setToken } from './api.js';
import { applyLang, getLang, onLang, setLang, t } from './i18n.js';
import { ErrorBox, html, Loading } from './ui.js';
import Login from './pages/login.js';
import Overview from './pages/overview.js';
import Kpi from './pages/kpi.js';
import Decisions from './pages/decisions.js';
import Order from './pages/order.js';
import Appeals from './pages/appeals.js';
import Appeal from './pages/appeal.js';
import Rider from './pages/rider.js';

// One line per route: the hash path template and its page.
const routes = [
  ['login', Login],
  ['overview', Overview],
  ['kpi', Kpi],
  ['decisions', Decisions],
  ['orders/:id', Order],
  ['appeals', Appeals],
  ['appeals/:id', Appeal],
  ['riders/:id', Rider],
];

// "#/orders/o-1?x=1" -> {path: "orders/o-1", query}.
function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const i = raw.indexOf('?');
  return {
    path: i < 0 ? raw : raw.slice(0, i),
    query: new URLSearchParams(i < 0 ? '' : raw.slice(i + 1)),
  };
}

function match(path) {
  const segs = path.split('/').filter(Boolean);
  for (const [tpl, page] of routes) {
    const ts = tpl.split('/');
    if (ts.length !== segs.length) continue;
    const params = {};
    let ok = true;
    for (let i = 0; i < ts.length && ok; i++) {
      if (ts[i].startsWith(':')) params[ts[i].slice(1)] = decodeURIComponent(segs[i]);
      else ok = ts[i] === segs[i];
    }
    if (ok) return { page, params };
  }
  return null;
}

function Header({ me, path }) {
  const [open, setOpen] = useState(false);
  const nav = [];
  if (me && me.role !== 'rider' && me.role !== 'merchant') {
    nav.push(['overview', t('nav.overview')], ['kpi', t('nav.kpi')], ['decisions', t('nav.decisions')]);
  }
  if (me && me.role !== 'analyst') nav.push(['appeals', t('nav.appeals')]);
  if (me?.role === 'rider' && ownId(me)) nav.unshift([`riders/${ownId(me)}`, me.name]);
  const logout = () => {
    setToken('');
    location.hash = '#/login';
  };
  return html`<header class="top">
    <a class="brand" href=${homeOf(me)}>${t('app.name')}</a>
    ${me
      ? html`<button type="button" class="menu-toggle" aria-expanded=${open} onClick=${() => setOpen(!open)}>
          ${t('nav.menu')}
        </button>`
      : null}
    <nav class=${open ? 'open' : ''} onClick=${() => setOpen(false)}>
      ${nav.map(
        ([p, label]) => html`<a href=${`#/${p}`} class=${path.split('/')[0] === p.split('/')[0] ? 'active' : ''}>${label}</a>`,
      )}
    </nav>
    <div class="who">
      ${me ? html`<span class="me" title=${me.scope}>${me.name} · ${t(`role.${me.role}`)}</span>` : null}
      <button
        type="button"
        class="lang"
        title=${t('lang.switch_title')}
        lang=${getLang() === 'ar' ? 'en' : 'ar'}
        onClick=${() => setLang(getLang() === 'ar' ? 'en' : 'ar')}
      >
        ${t('lang.switch')}
      </button>
      ${me ? html`<button type="button" class="link" onClick=${logout}>${t('nav.logout')}</button>` : null}
    </div>
  </header>`;
}

function App() {
  const [, setTick] = useState(0);
  const [loc, setLoc] = useState(parseHash());
  const [me, setMe] = useState(getMe());
  const [err, setErr] = useState(null);
  useEffect(() => {
    const onHash = () => {
      setLoc(parseHash());
      setMe(getMe());
    };
    window.addEventListener('hashchange', onHash);
    const off = onLang(() => setTick((n) => n + 1));
    return () => {
      window.removeEventListener('hashchange', onHash);
      off();
    };
  }, []);
  // A stored token is checked once at start (and after a login).
  useEffect(() => {
    if (loc.path === 'login' || me || !getToken()) return;
    loadMe().then(
      (m) => {
        setErr(null);
        setMe(m);
      },
      (e) => setErr(e),
    );
  }, [loc.path, me]);

  let body;
  const needLogin = loc.path !== 'login' && !getToken();
  if (needLogin) {
    const q = loc.query.toString();
    const next = loc.path ? `#/login?next=${encodeURIComponent(`/${loc.path}${q ? `?${q}` : ''}`)}` : '#/login';
    setTimeout(() => {
      if (!location.hash.startsWith('#/login')) location.hash = next; // a refused token redirected already
    }, 0);
    body = html`<${Loading} />`;
  } else if (loc.path === '') {
    if (me) {
      setTimeout(() => {
        location.hash = homeOf(me);
      }, 0);
    }
    body = err ? html`<${ErrorBox} error=${err} />` : html`<${Loading} />`;
  } else {
    const m = match(loc.path);
    if (!m) body = html`<p class="error">${t('common.not_found', { path: loc.path })}</p>`;
    else if (loc.path !== 'login' && !me) body = err ? html`<${ErrorBox} error=${err} />` : html`<${Loading} />`;
    else {
      const Page = m.page;
      body = html`<${Page} key=${loc.path} params=${m.params} query=${loc.query} me=${me} />`;
    }
  }
  return html`<${Header} me=${me} path=${loc.path} />
    <main id="main">${body}</main>`;
}

applyLang();
if (getLang() !== document.documentElement.lang) setLang(getLang());
render(html`<${App} />`, document.getElementById('app'));
