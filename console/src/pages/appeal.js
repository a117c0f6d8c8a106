// Placeholder: this page is built on the console's foundation (main.js
// routes #/appeals/ID here; api.js, i18n.js and ui.js give the API client,
// strings and building blocks).
import { t } from '../i18n.js';
import { html } from '../ui.js';

export default function Placeholder() {
  return html`<section class="card"><p class="notice">${t('common.not_built')}</p></section>`;
}
