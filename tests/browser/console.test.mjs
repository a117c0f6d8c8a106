// The console in a real browser: Debian's chromium, headless, driven by
// playwright-core, against `fulcrum serve` on 127.0.0.1 over a small judged
// world. Run by CTest (test "browser") as `node tests/browser/console.test.mjs`
// with FC_BINARY set to the built fulcrum; it builds nothing itself.
//
// Needs: node, console/node_modules (scripts/console.sh), console/dist
// (scripts/console.sh) and /usr/bin/chromium (scripts/deps.sh test). A
// missing piece is a failure with a message saying what to run, never a skip.
//
// Environment: FC_BINARY (required), FC_SOURCE_DIR (default: two folders up),
// FULCRUM_CONSOLE (default: console/dist), FC_CHROMIUM (default
// /usr/bin/chromium), FC_ARTIFACTS (screenshots; default
// build/asan/browser-artifacts).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = process.env.FC_SOURCE_DIR || resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const binary = process.env.FC_BINARY || '';
const dist = process.env.FULCRUM_CONSOLE || join(root, 'console', 'dist');
const chromiumPath = process.env.FC_CHROMIUM || '/usr/bin/chromium';
const artifacts = process.env.FC_ARTIFACTS || join(root, 'build', 'asan', 'browser-artifacts');
const modules = join(root, 'console', 'node_modules');

// Every piece the test needs, checked before anything starts.
const missing = [];
if (!binary || !existsSync(binary)) missing.push(`the fulcrum binary (FC_BINARY='${binary}'): build it first`);
if (!existsSync(join(modules, 'playwright-core'))) missing.push(`${modules}/playwright-core: run scripts/console.sh`);
if (!existsSync(join(dist, 'index.html'))) missing.push(`${dist}/index.html: run scripts/console.sh`);
if (!existsSync(chromiumPath)) missing.push(`${chromiumPath}: run scripts/deps.sh test (installs Debian's chromium)`);
if (missing.length > 0) {
  console.error(`browser test: cannot run, missing:\n  ${missing.join('\n  ')}`);
  process.exit(1);
}

const { chromium } = createRequire(join(root, 'console', 'package.json'))('playwright-core');

const TIMEOUT_MS = 15000; // one step of a scenario (a page, an answer)
const REVIEWER = 'qa-reviewer';
const RIDER_CITY = 'doha';

const world = {}; // dir, db, tokens, rider, decision, appeal, base
let server = null;
let browser = null;

// Run the fulcrum binary; its stdout.
function fulcrum(...args) {
  return execFileSync(binary, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function token(name, role, scope) {
  return fulcrum('token', 'create', '--db', world.db, '--name', name, '--role', role, '--scope', scope).trim();
}

// Start `fulcrum serve` on a free port; resolves to its base address, read
// from the first line it prints.
function startServer() {
  return new Promise((resolveStart, rejectStart) => {
    const p = spawn(binary, ['serve', '--db', world.db, '--listen', '127.0.0.1:0', '--threads', '4'], {
      env: { ...process.env, FULCRUM_CONSOLE: dist },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    server = { proc: p, stderr: '', exit: new Promise((r) => p.on('exit', (code, sig) => r({ code, sig }))) };
    p.stderr.on('data', (d) => {
      server.stderr += d;
    });
    let out = '';
    const timer = setTimeout(() => rejectStart(new Error(`fulcrum serve printed no address: ${server.stderr}`)), TIMEOUT_MS);
    p.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolveStart(m[1]);
      }
    });
    p.on('exit', (code) => {
      clearTimeout(timer);
      rejectStart(new Error(`fulcrum serve exited (${code}): ${server.stderr}`));
    });
  });
}

// The API as a client other than the browser sees it.
async function api(tok, path, opts = {}) {
  const res = await fetch(world.base + path, {
    method: opts.method || 'GET',
    headers: {
      Authorization: `Bearer ${tok}`,
      Accept: 'application/json',
      ...(opts.body ? { 'Content-Type': 'application/json' } : {}),
    },
    body: opts.body ? JSON.stringify(opts.body) : undefined,
  });
  const text = await res.text();
  assert.equal(res.status, opts.status ?? 200, `${path}: ${text}`);
  return JSON.parse(text);
}

async function shot(page, name) {
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
}

// A fresh browser context (its own sessionStorage and localStorage) with the
// console signed in as tok: through the login page (form), or with the token
// put where the login page keeps it (sessionStorage), which is quicker.
async function signIn(tok, name, { form = true } = {}) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  ctx.setDefaultTimeout(TIMEOUT_MS);
  const page = await ctx.newPage();
  page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
  if (form) {
    await page.goto(`${world.base}/#/login`);
    await page.locator('input#token').fill(tok);
    await page.locator('form button[type=submit]').click();
  } else {
    await ctx.addInitScript((t) => sessionStorage.setItem('fulcrum.token', t), tok);
    await page.goto(`${world.base}/#/`);
  }
  await page.locator('header .me', { hasText: name }).waitFor();
  return { ctx, page };
}

before(async () => {
  const t0 = Date.now();
  mkdirSync(artifacts, { recursive: true });
  world.dir = mkdtempSync(join(tmpdir(), 'fulcrum-browser-'));
  world.db = join(world.dir, 'fulcrum.db');
  const gen = join(world.dir, 'world');
  // Two small days of the six cities (about 4,000 orders).
  fulcrum('gen', '--seed', '3', '--days', '2', '--scale', 'small', '--out', gen);
  const files = ['cities.csv', 'zones.csv', 'merchants.csv', 'riders.csv', 'orders.csv', 'events.jsonl'];
  fulcrum('ingest', '--no-judge', '--quiet', '--db', world.db, ...files.map((f) => join(gen, f)));
  fulcrum('judge', '--db', world.db, '--city', RIDER_CITY); // the pages under test are Doha's
  fulcrum('appeal', 'queue-reviews', '--db', world.db);

  // A rider of the city with a decision naming it, and its appeal: a pending
  // item in the reviewer's country.
  const decisions = JSON.parse(
    fulcrum('judge', 'list', '--db', world.db, '--city', RIDER_CITY, '--party', 'rider', '--format', 'json'),
  );
  const dec = decisions.find((d) => d.incident === 'late') ?? decisions[0];
  assert.ok(dec, `no rider decision in ${RIDER_CITY}`);
  world.rider = dec.rider;
  world.decision = dec.decision;
  world.order = dec.order;
  const filed = fulcrum(
    'appeal', 'file', dec.decision, '--as', `rider:${dec.rider}`, '--db', world.db,
    '--statement', 'The restaurant kept me waiting twenty minutes for the food.',
  );
  world.appeal = /appeal (apl-[0-9a-f]+)/.exec(filed)?.[1];
  assert.ok(world.appeal, `no appeal id in: ${filed}`);

  world.tokens = {
    admin: token('browser-admin', 'admin', '*'),
    reviewer: token(REVIEWER, 'reviewer', 'country:QA'),
    rider: token('browser-rider', 'rider', `rider:${world.rider}`),
  };
  console.log(`# world ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  world.base = await startServer();
  browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    // launch() gives every run a fresh temporary user data dir.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  console.log(`# server and browser up in ${((Date.now() - t0) / 1000).toFixed(1)} s; screenshots in ${artifacts}`);
});

after(async () => {
  if (browser) await browser.close();
  if (server) {
    server.proc.kill('SIGTERM');
    const killer = setTimeout(() => server.proc.kill('SIGKILL'), 20000);
    const { code, sig } = await server.exit;
    clearTimeout(killer);
    if (code !== 0) console.error(server.stderr);
    assert.equal(code, 0, `fulcrum serve stopped with ${code ?? sig}`);
  }
  if (world.dir) rmSync(world.dir, { recursive: true, force: true });
});

test('log in with a token: the header names the caller', async () => {
  const { ctx, page } = await signIn(world.tokens.admin, 'browser-admin');
  assert.match(await page.locator('header .me').innerText(), /browser-admin · admin/);
  await shot(page, '01-login');
  await ctx.close();
});

test('the overview: a city tile shows the number the API gives for the same period', async () => {
  const { ctx, page } = await signIn(world.tokens.admin, 'browser-admin', { form: false });
  await page.waitForURL(/#\/overview/); // an admin's home is the overview
  const period = page.locator('[data-from][data-to]');
  await period.waitFor();
  const from = await period.getAttribute('data-from');
  const to = await period.getAttribute('data-to');
  const card = page.locator(`.city-card[data-city=${RIDER_CITY}]`);
  await card.locator('[data-kpi=on_time_rate] .value').waitFor();
  const kpi = await api(world.tokens.admin, `/v1/kpi?by=city&from=${from}&to=${to}&kpi=orders,on_time_rate`);
  const row = kpi.rows.find((r) => r.city === RIDER_CITY);
  assert.ok(row && row.orders > 0, `no orders in ${RIDER_CITY} from ${from} to ${to}`);
  const nf = (d) => new Intl.NumberFormat('en-GB', { minimumFractionDigits: d, maximumFractionDigits: d });
  assert.equal(
    (await card.locator('[data-kpi=on_time_rate] .value').innerText()).trim(),
    `${nf(1).format(row.on_time_rate)}%`,
  );
  assert.equal((await card.locator('[data-kpi=orders] .value').innerText()).trim(), nf(0).format(row.orders));
  await shot(page, '02-overview');
  await ctx.close();
});

test('an order page from the decisions of a city: the timeline against the promise and the decision', async () => {
  const { ctx, page } = await signIn(world.tokens.admin, 'browser-admin', { form: false });
  await page.goto(`${world.base}/#/decisions?city=${RIDER_CITY}&party=rider`);
  const link = page.locator('main table').getByRole('link', { name: /^[A-Z]{3}-\d{8}-\d+$/ }).first();
  const orderId = (await link.innerText()).trim();
  await link.click();
  await page.waitForURL(new RegExp(`#/orders/${orderId}$`));
  const o = await api(world.tokens.admin, `/v1/orders/${orderId}`);
  await page.locator('.timeline svg').waitFor();
  // The promised time is a vertical line on the axis (no area: attached, not "visible").
  await page.locator('.timeline svg line.promise').waitFor({ state: 'attached' });
  assert.equal(await page.locator('.timeline svg circle.mark').count(), o.timeline.length);
  for (const d of o.decisions.filter((x) => !x.superseded)) {
    const box = page.locator(`.decision[data-decision=${d.id}]`);
    await box.locator('.explanation').waitFor();
    assert.ok(await box.getByText(d.rule).count(), `rule ${d.rule} not shown`);
  }
  await shot(page, '03-order');
  await ctx.close();
});

test('decide an appeal as the reviewer: it leaves the pending queue and the API names the reviewer', async () => {
  const { ctx, page } = await signIn(world.tokens.reviewer, REVIEWER);
  await page.waitForURL(/#\/appeals$/); // a reviewer's home is the queue
  // A click on the row (not only on the id's link) opens the item.
  const row = page.locator('#pending tr', { has: page.getByRole('link', { name: world.appeal }) });
  await row.locator('td').nth(1).click();
  await page.waitForURL(new RegExp(`#/appeals/${world.appeal}$`));
  await page.locator('.statement').getByText('kept me waiting').waitFor();
  await page.locator('.decision .explanation').waitFor();
  await page.locator('.timeline svg').waitFor();
  await page.locator('input[name=verdict][value=overturn]').check();
  await page.locator('textarea[name=reason]').fill('The merchant log shows the food was ready twenty minutes late.');
  await shot(page, '04-appeal-decide');
  await page.locator('form.decide button[type=submit]').click();
  await page.locator('.notice[role=status]').waitFor();
  await page.locator('.page-head [data-state=overturned]').waitFor();
  await shot(page, '05-appeal-decided');

  // The decided list is one paged request (state=decided), not one per state.
  const listed = [];
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.pathname === '/v1/appeals') listed.push(u.searchParams.get('state'));
  });
  await page.locator('a[href="#/appeals"]').first().click();
  await page.locator('#pending table').waitFor();
  await page.locator('#decided').getByRole('link', { name: world.appeal }).waitFor();
  assert.deepEqual([...listed].sort(), ['decided', 'pending']);
  assert.equal(await page.locator('#pending').getByRole('link', { name: world.appeal }).count(), 0);
  await shot(page, '06-queue-after');
  await ctx.close();

  const { appeal } = await api(world.tokens.admin, `/v1/appeals/${world.appeal}`);
  assert.equal(appeal.state, 'overturned');
  assert.equal(appeal.decided_by, REVIEWER);
  const queue = await api(world.tokens.reviewer, '/v1/appeals?state=pending&limit=500');
  assert.ok(!queue.items.some((it) => it.id === world.appeal), 'the decided appeal is still pending');
});

test('a verdict that comes second is refused: the page says someone decided first and shows the new state', async () => {
  const queue = await api(world.tokens.reviewer, '/v1/appeals?state=pending&kind=review&limit=1');
  assert.equal(queue.items.length, 1, 'no pending review item in the reviewer country');
  const id = queue.items[0].id;
  const { ctx, page } = await signIn(world.tokens.reviewer, REVIEWER, { form: false });
  await page.goto(`${world.base}/#/appeals/${id}`);
  await page.locator('input[name=verdict][value=uphold]').check();
  await page.locator('textarea[name=reason]').fill('Confirmed from the order log.');
  // Another reviewer decides first, from the page's last_seq on.
  const seen = await api(world.tokens.admin, `/v1/appeals/${id}`);
  await api(world.tokens.admin, `/v1/appeals/${id}/decision`, {
    method: 'POST',
    body: { verdict: 'overturn', reason: 'Decided elsewhere first.', expect_seq: seen.appeal.last_seq },
  });
  await page.locator('form.decide button[type=submit]').click();
  await page.locator('.error[role=alert]').waitFor();
  await page.locator('.page-head [data-state=overturned]').waitFor();
  assert.equal(await page.locator('form.decide').count(), 0);
  await shot(page, '07-appeal-conflict');
  await ctx.close();
  const after = await api(world.tokens.admin, `/v1/appeals/${id}`);
  assert.equal(after.appeal.decided_by, 'browser-admin');
});

test('switch to Arabic: the page turns right-to-left and the explanation comes in Arabic', async () => {
  const { ctx, page } = await signIn(world.tokens.admin, 'browser-admin', { form: false });
  await page.goto(`${world.base}/#/appeals/${world.appeal}`);
  const explanation = page.locator('.decision .explanation');
  await explanation.waitFor();
  assert.doesNotMatch(await explanation.innerText(), /[\u0600-\u06ff]/);
  await page.locator('header button.lang').click();
  await page.waitForFunction(() => document.documentElement.dir === 'rtl' && document.documentElement.lang === 'ar');
  await page.locator('.decision .explanation[lang=ar]').waitFor();
  assert.match(await explanation.innerText(), /[\u0600-\u06ff]{3}/);
  await shot(page, '08-arabic-appeal');
  await ctx.close();
});

test('a half-written verdict survives a language switch (the page reloads the item, which records a view)', async () => {
  const queue = await api(world.tokens.reviewer, '/v1/appeals?state=pending&kind=review&limit=1');
  assert.equal(queue.items.length, 1, 'no pending review item in the reviewer country');
  const id = queue.items[0].id;
  const { ctx, page } = await signIn(world.tokens.reviewer, REVIEWER, { form: false });
  // The item's answer has its decision and order: the page asks for neither.
  const asked = [];
  page.on('request', (r) => /\/v1\/(decisions|orders)\//.test(r.url()) && asked.push(r.url()));
  await page.goto(`${world.base}/#/appeals/${id}`);
  await page.locator('.decision .explanation').waitFor();
  await page.locator('.timeline svg').waitFor();
  await page.locator('input[name=verdict][value=partial]').check();
  await page.locator('input[name=keep_percent]').fill('30');
  await page.locator('textarea[name=reason]').fill('Half written before the switch');
  // Views are recorded once a second per reviewer: the reload's is another.
  await new Promise((r) => setTimeout(r, 1100));
  const reloaded = page.waitForResponse((r) => r.url().endsWith(`/v1/appeals/${id}`) && r.status() === 200);
  await page.locator('header button.lang').click();
  await reloaded;
  await page.locator('.decision .explanation[lang=ar]').waitFor();
  const { appeal } = await api(world.tokens.admin, `/v1/appeals/${id}`);
  const views = appeal.history.filter((e) => e.type === 'appeal_viewed' && e.actor === REVIEWER);
  assert.ok(views.length >= 2, 'the reload recorded no view (last_seq did not move): the test proves nothing');
  assert.equal(await page.locator('textarea[name=reason]').inputValue(), 'Half written before the switch');
  assert.ok(await page.locator('input[name=verdict][value=partial]').isChecked());
  assert.equal(await page.locator('input[name=keep_percent]').inputValue(), '30');
  assert.deepEqual(asked, []);
  await ctx.close();
});

test('"More" then a filter change: the list holds only the new filter\'s rows', async () => {
  const { ctx, page } = await signIn(world.tokens.admin, 'browser-admin', { form: false });
  // Pages of 10 (the city has fewer than the page's 50), and the next page
  // answers late: the filter changes while it is on its way.
  let release;
  const held = new Promise((r) => {
    release = r;
  });
  let asked = 0;
  await page.route(/\/v1\/decisions\?/, async (route) => {
    const small = route.request().url().replace('limit=50', 'limit=10');
    if (small.includes('cursor=')) {
      asked += 1;
      await held;
    }
    await route.continue({ url: small }).catch(() => {});
  });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${world.base}/#/decisions?city=${RIDER_CITY}`);
  await page.locator('main table tbody tr').first().waitFor();
  await page.getByRole('button', { name: 'Load more' }).click();
  while (asked === 0) await new Promise((r) => setTimeout(r, 20));
  const first = page.waitForResponse((r) => r.url().includes('party=customer') && !r.url().includes('cursor='));
  await page.goto(`${world.base}/#/decisions?city=${RIDER_CITY}&party=customer`);
  await first;
  release();
  await new Promise((r) => setTimeout(r, 1000)); // the late page has had its chance
  const parties = await page.locator('main table tbody tr td:nth-child(5)').allInnerTexts();
  assert.ok(parties.length > 0);
  assert.deepEqual([...new Set(parties.map((p) => p.trim()))], ['customer']);
  assert.deepEqual(errors, []);
  await ctx.close();
});

test('a rider lands on its own page: its decisions, its appeal and the score placeholder', async () => {
  const { ctx, page } = await signIn(world.tokens.rider, 'browser-rider');
  await page.waitForURL(new RegExp(`#/riders/${world.rider}$`));
  await page.locator('.rider h1').getByText(world.rider).waitFor();
  await page.locator('.rider .score .notice').waitFor(); // score and tier come with the assessment
  await page.locator('.rider').getByRole('link', { name: world.order }).first().waitFor();
  const row = page.locator('.rider tr', { has: page.getByRole('link', { name: world.appeal }) });
  await row.locator('[data-state]').waitFor();
  const { appeal } = await api(world.tokens.rider, `/v1/appeals/${world.appeal}`);
  assert.equal(await row.locator('[data-state]').getAttribute('data-state'), appeal.state);
  assert.equal(await page.locator('header nav').getByText('Overview').count(), 0);
  await shot(page, '09-rider');
  await ctx.close();
});
