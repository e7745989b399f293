// Demo mode as a new user meets it: within its first half minute the console has live alerts from
// the replay, /exec already shows a month of trends, response times and resolved incidents, and
// both pages say that the history is generated demo data.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, signIn, shots } from './harness.mjs';

const env = { server: undefined, chromium: undefined, started: 0 };

before(async () => {
  env.started = Date.now();
  env.server = await startServer();
  env.chromium = await launchBrowser();
});

after(async () => {
  await env.chromium?.close();
  await env.server?.stop();
});

test('the first live alert reaches the console within 30 s of the start, under a demo-data notice', async () => {
  const { context, page } = await signIn(env, 'analyst');
  await page.locator('[data-test=demo-notice]').waitFor();
  assert.match(await page.locator('[data-test=demo-notice]').textContent(), /^Demo data: 2,400 alerts, \d incidents and \d+ employee reports from .* are generated history/);
  const remaining = Math.max(1_000, 30_000 - (Date.now() - env.started));
  await page.locator('[data-test=tail-item]').first().waitFor({ timeout: remaining });
  console.log(`first live alert ${((Date.now() - env.started) / 1000).toFixed(1)} s after the server was started`);
  await shots(page, 'demo-soc');
  await context.close();
});

test('an executive sees a month of trends, response times and resolved incidents at once', async () => {
  const { context, page } = await signIn(env, 'executive');
  await page.goto(`${env.server.base}/exec?range=30d`);
  await page.waitForSelector('body[data-hydrated=true]');
  await page.locator('[data-test=demo-notice]').waitFor();
  const value = async (card) => (await page.locator(`[data-test=${card}] [data-test=value]`).textContent()).trim();
  assert.ok(Number((await value('kpi-alerts')).replace(/,/g, '')) >= 2_000, await value('kpi-alerts'));
  assert.doesNotMatch(await page.locator('[data-test=charts]').textContent(), /No data in this range/, 'every chart has data');
  const alertsChart = await page.locator('[data-test=charts] [role=img]').first().getAttribute('aria-label');
  assert.match(alertsChart, /Alerts per day/);
  assert.match(await value('kpi-mtta'), /\d/, 'a mean time to acknowledge');
  assert.ok(Number(await value('kpi-incidents')) >= 1, 'incidents were opened');
  assert.match(await value('kpi-mttc'), /\d/, 'and contained');
  await shots(page, 'demo-exec');
  await context.close();
});
