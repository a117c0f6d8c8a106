// The API client: every call goes through api(). It sends the token kept in
// sessionStorage as "Authorization: Bearer", the language as
// Accept-Language, and turns every answer that is not 2xx into an ApiError
// carrying the server's {"error":{"code","message"}} (ErrorBox in ui.js
// shows it). A 401 forgets the token and sends the user to #/login.
import { useEffect, useRef, useState } from 'preact/hooks';
import { getLang, t } from './i18n.js';

const TOKEN = 'fulcrum.token';

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status; // HTTP status, 0 when the server could not be reached
    this.code = code; // the API's stable code (not_found, forbidden, ...)
  }
}

export function getToken() {
  try {
    return sessionStorage.getItem(TOKEN) || '';
  } catch {
    return '';
  }
}

export function setToken(tok) {
  try {
    if (tok) sessionStorage.setItem(TOKEN, tok);
    else sessionStorage.removeItem(TOKEN);
  } catch {
    /* storage refused: the token lasts until the page closes */
  }
  me = null;
}

// The caller ({name, role, scope}) once GET /v1/me answered; null before.
let me = null;
export function getMe() {
  return me;
}

// GET /v1/me with the stored token; resolves to the caller or throws.
export async function loadMe() {
  me = await api('/v1/me');
  return me;
}

// The rider or merchant id of a rider/merchant scope ("rider:r-1" -> "r-1").
export function ownId(who) {
  const m = /^(rider|merchant):(.+)$/.exec(who?.scope ?? '');
  return m ? m[2] : null;
}

// Where a caller lands: riders on their own page, reviewers on the queue,
// the others on the overview.
export function homeOf(me) {
  if (me?.role === 'rider' && ownId(me)) return `#/riders/${encodeURIComponent(ownId(me))}`;
  if (me?.role === 'reviewer') return '#/appeals';
  return '#/overview';
}

// Call the API. path: "/v1/..." with its query; opts: {method, body (an
// object, sent as JSON), signal, expect (statuses besides 2xx that are not
// errors)}. Resolves to the parsed JSON body.
export async function api(path, opts = {}) {
  const headers = { Accept: 'application/json', 'Accept-Language': getLang() };
  const tok = getToken();
  if (tok) headers.Authorization = `Bearer ${tok}`;
  let body;
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  let res;
  try {
    res = await fetch(path, { method: opts.method || 'GET', headers, body, signal: opts.signal });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', t('error.network', { message: e.message }));
  }
  let data = null;
  const text = await res.text();
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (res.status === 401) {
    setToken('');
    if (!location.hash.startsWith('#/login')) {
      const back = location.hash && location.hash !== '#/' ? location.hash.slice(1) : '';
      location.hash = back ? `#/login?next=${encodeURIComponent(back)}&expired=1` : '#/login?expired=1';
    }
  }
  if (!res.ok) {
    const err = data?.error;
    throw new ApiError(
      res.status,
      err?.code ?? 'http',
      err?.message ?? t('error.bad_json', { status: res.status }),
    );
  }
  if (data === null && text) throw new ApiError(res.status, 'bad_json', t('error.bad_json', { status: res.status }));
  return data;
}

// Build "/v1/x?a=1&b=2" from a path and an object of parameters; null,
// undefined and "" values are left out, arrays repeat the parameter.
export function url(path, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === null || v === undefined || v === '') continue;
    if (Array.isArray(v)) v.forEach((x) => x !== '' && q.append(k, x));
    else q.append(k, String(v));
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

// A hook for pages: the answer of GET path as {data, error, loading,
// reload}. path null fetches nothing. The call is made again when the path
// or the language changes (explanations come in the chosen language).
export function useApi(path) {
  const [state, setState] = useState({ loading: !!path });
  const [n, setN] = useState(0);
  const lang = getLang();
  useEffect(() => {
    if (!path) {
      setState({ loading: false });
      return undefined;
    }
    const ctl = new AbortController();
    setState((s) => ({ data: s.data, loading: true }));
    api(path, { signal: ctl.signal }).then(
      (data) => setState({ data, loading: false }),
      (error) => {
        if (error.name !== 'AbortError') setState({ error, loading: false });
      },
    );
    return () => ctl.abort();
  }, [path, lang, n]);
  return { ...state, reload: () => setN((x) => x + 1) };
}

// A hook for lists answered a page at a time ({items, next}): GET path on
// load, then more() asks for the page after the last one (cursor=next) and
// appends it. Gives {items (null until the first page), next, error, busy,
// more, reload}. A change of path (a filter) aborts every call of the old
// list, the first page's and more()'s alike, so no old page lands in the
// new list.
export function usePaged(path) {
  const [st, setSt] = useState({ items: null, next: null, error: null, busy: true });
  const [n, setN] = useState(0);
  const ctlRef = useRef(null);
  useEffect(() => {
    const ctl = new AbortController();
    ctlRef.current = ctl;
    setSt({ items: null, next: null, error: null, busy: true });
    api(path, { signal: ctl.signal }).then(
      (d) => setSt({ items: d.items, next: d.next ?? null, error: null, busy: false }),
      (e) => e.name !== 'AbortError' && setSt({ items: null, next: null, error: e, busy: false }),
    );
    return () => ctl.abort();
  }, [path, n]);
  const more = () => {
    const ctl = ctlRef.current;
    if (!ctl || ctl.signal.aborted || !st.next || st.busy) return;
    setSt((s) => ({ ...s, busy: true }));
    const sep = path.includes('?') ? '&' : '?';
    api(`${path}${sep}cursor=${encodeURIComponent(st.next)}`, { signal: ctl.signal }).then(
      (d) => {
        if (ctl.signal.aborted) return;
        setSt((s) => ({ items: [...(s.items ?? []), ...d.items], next: d.next ?? null, error: null, busy: false }));
      },
      (e) => e.name !== 'AbortError' && !ctl.signal.aborted && setSt((s) => ({ ...s, error: e, busy: false })),
    );
  };
  return { ...st, more, reload: () => setN((x) => x + 1) };
}
