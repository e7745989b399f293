// /exec in a real browser. Alerts are sent through the ingest API first (Suricata EVE alerts at
// chosen times, replay off): 3 in the last 24 hours, 8 in the last 7 days, 11 in the last 30 days.
// An executive switches ranges and the figures change without a page load; with JavaScript off the
// figures, charts and range links work as plain pages; printed, the dashboard is one A4 page; no
// triage control is reachable and /soc is refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, signIn, signInWithoutJs, account } from './harness.mjs';

const env = { server: undefined, chromium: undefined };
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

// Sends EVE alert events through the ingest API with a fresh token made by the demo admin.
async function seed(base) {
  const { username, password } = account('admin');
  const login = await fetch(`${base}/api/auth/login`, { method: 'POST', body: new URLSearchParams({ username, password }) });
  assert.equal(login.status, 200, 'admin signs in');
  const cookie = login.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const created = await fetch(`${base}/api/admin/create_api_token`, { method: 'POST', headers: { cookie }, body: new URLSearchParams({ name: 'e2e-exec', scopes: 'ingest', expires_in_days: '1' }) });
  assert.equal(created.status, 200, 'token created');
  const { secret } = await created.json();
  const now = Date.now();
  const ages = [2 * HOUR, 3 * HOUR, 4 * HOUR, 3 * DAY, 3 * DAY, 4 * DAY, 4 * DAY, 5 * DAY, 10 * DAY, 11 * DAY, 20 * DAY];
  const lines = ages.map((age, i) => JSON.stringify({
    timestamp: new Date(now - age).toISOString().replace('Z', '+0000'),
    event_type: 'alert',
    src_ip: `45.33.${i}.${10 + i}`,
    src_port: 40000 + i,
    dest_ip: `10.0.5.${i + 1}`,
    dest_port: 22,
    proto: 'TCP',
    alert: { signature_id: 2001219 + i, signature: 'ET SCAN Potential SSH Scan', category: 'Attempted Information Leak', severity: 2 },
  }));
  const res = await fetch(`${base}/api/v1/ingest/suricata`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/x-ndjson' },
    body: lines.join('\n'),
  });
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  assert.equal(body.alerts, ages.length, JSON.stringify(body));
}

before(async () => {
  // Exact counts: without demo mode's generated history (demo.test.mjs checks that history).
  env.server = await startServer({ AF_REPLAY__AUTOSTART: 'false', AF_DEMO_HISTORY: 'false' });
  env.chromium = await launchBrowser();
  await seed(env.server.base);
});

after(async () => {
  await env.chromium?.close();
  await env.server?.stop();
});

const alertsValue = (page) => page.locator('[data-test=kpi-alerts] [data-test=value]');

async function waitForAlerts(page, expected) {
  await page.waitForFunction(
    (want) => document.querySelector('[data-test=kpi-alerts] [data-test=value]')?.textContent === want,
    expected,
  );
}

test('an executive switches ranges and the figures and charts change without a page load', async () => {
  const { context, page, dialogs } = await signIn(env, 'executive');
  assert.equal(new URL(page.url()).pathname, '/exec');
  assert.equal(await alertsValue(page).textContent(), '8', '7 days by default');
  assert.match(await page.locator('[data-test=kpi-alerts] [data-test=change]').textContent(), /vs previous 7 days/);
  const altBefore = await page.locator('[data-test=charts] .chart-svg').first().getAttribute('aria-label');
  assert.match(altBefore, /^Alerts per day: /);
  await page.evaluate(() => { window.__stillTheSamePage = true; });

  await page.click('[data-test=range-switch] [data-range="24h"]');
  await page.waitForURL(/\/exec\?range=24h$/);
  await waitForAlerts(page, '3');
  assert.equal(await page.locator('[data-range="24h"]').getAttribute('aria-current'), 'page');
  assert.equal(await page.locator('[data-range="7d"]').getAttribute('aria-current'), null);
  const altAfter = await page.locator('[data-test=charts] .chart-svg').first().getAttribute('aria-label');
  assert.match(altAfter, /^Alerts per hour: .*total 3 /, 'the chart was drawn again for the new range');
  assert.match(await page.locator('[data-test=period]').textContent(), /Last 24 hours/);
  assert.equal(await page.locator('[data-test=export]').getAttribute('href'), '/exec/export.csv?range=24h');

  await page.click('[data-test=range-switch] [data-range="30d"]');
  await waitForAlerts(page, '11');
  assert.equal(await page.evaluate(() => window.__stillTheSamePage), true, 'the router switched ranges without reloading');
  assert.equal(await page.locator('[data-test=charts] figure.chart .chart-svg svg').count(), 7);
  for (const label of await page.locator('[data-test=charts] .chart-svg').evaluateAll((els) => els.map((e) => e.getAttribute('aria-label')))) {
    assert.ok(label && label.length > 20, `every chart has a text alternative: ${label}`);
  }
  await page.locator('[data-test=country-map] svg.world-map').waitFor();

  // Nothing on the page triages alerts, the SOC is not in the navigation, and the server refuses both.
  assert.equal(await page.getByRole('button', { name: /acknowledge|resolve|assign|false positive|reopen/i }).count(), 0);
  assert.equal(await page.locator('nav[aria-label=Main] a[href="/soc"]').count(), 0);
  const triage = await page.evaluate(async () => (await fetch('/api/alerts/triage', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'ids=1&action=resolve&note=&assignee=',
  })).status);
  assert.equal(triage, 403);
  const soc = await page.goto(`${env.server.base}/soc`);
  assert.equal(soc.status(), 403);
  await page.locator('[data-test=forbidden]').waitFor();
  assert.deepEqual(dialogs, []);
  await context.close();
});

test('with JavaScript disabled the figures, charts and range links work as plain pages', async () => {
  const { context, page } = await signInWithoutJs(env, 'executive');
  assert.equal(await page.locator('body').getAttribute('data-hydrated'), null, 'no WASM ran');
  assert.equal(await alertsValue(page).textContent(), '8');
  assert.equal(await page.locator('[data-test=charts] figure.chart .chart-svg svg').count(), 7, 'charts drawn on the server');
  assert.ok(await page.locator('[data-test=definitions]').isVisible());
  assert.equal(await page.locator('.print-button').isVisible(), false, 'printing needs the browser menu without JavaScript');
  await Promise.all([page.waitForURL(/\/exec\?range=24h$/), page.click('[data-range="24h"]')]);
  assert.equal(await alertsValue(page).textContent(), '3');
  await Promise.all([page.waitForURL(/\/exec\?range=30d$/), page.click('[data-range="30d"]')]);
  assert.equal(await alertsValue(page).textContent(), '11');
  await context.close();
});

test('printed, the dashboard is a one-page report without the controls', async () => {
  const { context, page } = await signIn(env, 'executive');
  await page.goto(`${env.server.base}/exec?range=30d`);
  await page.waitForSelector('body[data-hydrated=true]');
  await page.emulateMedia({ media: 'print' });
  assert.equal(await page.locator('.topbar').isVisible(), false);
  assert.equal(await page.locator('[data-test=range-switch]').isVisible(), false);
  assert.equal(await page.locator('[data-test=export]').isVisible(), false);
  assert.ok(await page.locator('[data-test=kpi-mttr]').isVisible());
  const pdf = await page.pdf({ format: 'A4', printBackground: true });
  const pages = (pdf.toString('latin1').match(/\/Type\s*\/Page[^s]/g) ?? []).length;
  assert.equal(pages, 1, 'one A4 page');
  await context.close();
});
