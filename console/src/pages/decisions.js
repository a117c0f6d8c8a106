import { t } from '../i18n.js';
import { html } from '../ui.js';

export default function Page() {
  return html`<section class="card"><p class="notice">${t('common.not_built')}</p></section>`;
}
