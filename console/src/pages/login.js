// #/login: paste an API token; GET /v1/me checks it, then the caller's home
// page (or the page asked for, ?next=) opens and the header shows the
// caller's name and role.
import { useState } from 'preact/hooks';
import { homeOf, loadMe, setToken } from '../api.js';
import { t } from '../i18n.js';
import { ErrorBox, html } from '../ui.js';

export default function Login({ query }) {
  const [tok, setTok] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const submit = async (e) => {
    e.preventDefault();
    const v = tok.trim();
    if (!v) {
      setError({ message: t('login.empty') });
      return;
    }
    setBusy(true);
    setError(null);
    setToken(v);
    try {
      const me = await loadMe();
      const next = query.get('next');
      location.hash = next && !next.startsWith('/login') ? `#${next}` : homeOf(me);
    } catch (err) {
      setToken('');
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return html`<section class="login card">
    <h1>${t('login.title')}</h1>
    ${query.get('expired') ? html`<p class="notice">${t('login.expired')}</p>` : null}
    <p class="muted">${t('login.help')}</p>
    <form onSubmit=${submit}>
      <label for="token">${t('login.token')}</label>
      <input
        id="token"
        name="token"
        type="password"
        autocomplete="off"
        spellcheck="false"
        dir="ltr"
        value=${tok}
        onInput=${(e) => setTok(e.currentTarget.value)}
        placeholder="fc_…"
      />
      <button type="submit" class="primary" disabled=${busy}>
        ${busy ? t('login.checking') : t('login.submit')}
      </button>
    </form>
    <${ErrorBox} error=${error} />
    <p class="muted small">${t('login.session_note')}</p>
  </section>`;
}
