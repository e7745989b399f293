// Incidents in a real browser, against the demo server's replayed traffic: a responder selects
// alerts in the queue with the keyboard and opens an incident of them with `i`, follows the link,
// contains it, blocks an address it involves, and sees both in the timeline; without JavaScript, a comment posted from
// the incident page lands in the timeline too. With SHOTS=<dir> the pages are saved at desktop and
// phone width.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser, signIn, signInWithoutJs, shots } from './harness.mjs';

// The incidents are the ones these tests open: without demo mode's generated history (and its
// resolved incidents), which demo.test.mjs checks.
const env = useServerAndBrowser(before, after, { AF_DEMO_HISTORY: 'false' });
let incident;

test('a responder opens an incident from the queue by keyboard, contains it and sees it in the timeline', async () => {
  const { server } = env;
  const { context, page, dialogs } = await signIn(env, 'responder');
  await page.goto(`${server.base}/soc?status=new&sort=newest`);
  await page.waitForSelector('body[data-hydrated=true]');
  await page.locator('[data-test=queue] tr[data-alert-id]').nth(1).waitFor({ timeout: 90_000 });
  await page.click('[data-test=live-toggle]');
  await page.locator('[data-test=live-state]', { hasText: 'Paused' }).waitFor();
  await page.locator('body').click({ position: { x: 1, y: 1 } });

  // j x j x: two alerts selected; i opens an incident of them.
  await page.keyboard.press('j');
  const cursor = page.locator('[data-test=queue] tr.cursor');
  await cursor.waitFor();
  const first = await cursor.getAttribute('data-alert-id');
  await page.keyboard.press('x');
  await page.keyboard.press('j');
  const second = await page.locator('[data-test=queue] tr.cursor').getAttribute('data-alert-id');
  assert.notEqual(first, second);
  await page.keyboard.press('x');
  await page.locator('[data-test=bulk-bar]', { hasText: '2 selected' }).waitFor();
  await shots(page, 'incident-bulk-bar');
  await page.keyboard.press('i');
  const result = page.locator('[data-test=incident-result]');
  await result.waitFor();
  assert.match(await result.textContent(), /Incident #\d+: 2 alerts added\./);
  await page.locator('[data-test=bulk-bar]').waitFor({ state: 'detached' });
  // The queue now links both alerts to the incident.
  await page.locator(`[data-test=queue] tr[data-alert-id="${first}"] [data-test=alert-incident]`).waitFor();

  await page.click('[data-test=incident-result] [data-test=open-incident]');
  await page.waitForURL(/\/soc\/incidents\?incident=\d+/);
  incident = new URL(page.url()).searchParams.get('incident');
  const detail = page.locator(`[data-test=incident-detail] header[data-incident="${incident}"]`);
  await detail.waitFor();
  const alertIds = await page.locator('[data-test=incident-alerts] tr[data-alert-id]').evaluateAll((els) => els.map((e) => e.getAttribute('data-alert-id')));
  assert.deepEqual(alertIds.sort(), [first, second].sort());
  await page.locator('[data-test=timeline-entry][data-kind=created]').waitFor();
  await page.locator(`[data-test=incidents] tr[data-incident="${incident}"]`).waitFor();

  await page.fill('[data-test=contain-note]', 'Isolated the host from the network');
  await page.click('[data-test=contain]');
  await page.locator('[data-test=incident-status][data-status=contained]').waitFor();
  const entry = page.locator('[data-test=timeline-entry][data-kind=contain]');
  await entry.waitFor();
  assert.match(await entry.textContent(), /demo\.responder · Contained: Isolated the host from the network/);
  assert.match(await page.locator('[data-test=incident-result]').textContent(), new RegExp(`Incident #${incident} is contained\\.`));

  // Act on it: block the first external address the incident involves, for 24 hours.
  await page.click('[data-test=respond-form] summary');
  await page.selectOption('[data-test=respond-kind]', 'block');
  const target = await page.locator('[data-test=addresses] code').first().textContent();
  await page.fill('[data-test=respond-target]', target);
  await page.fill('[data-test=respond-reason]', 'Brute-force source');
  await page.click('[data-test=respond-submit]');
  await page.locator('[data-test=respond] [data-test=action][data-kind=block][data-state=active]').waitFor();
  const acted = page.locator('[data-test=timeline-entry][data-kind=action]');
  await acted.waitFor();
  assert.match(await acted.textContent(), new RegExp(`Block ${target.replaceAll('.', '\\.')} for 24 hours \\(action #\\d+\\): Brute-force source`));
  await shots(page, 'incident-detail');
  assert.deepEqual(dialogs, []);
  await context.close();
});

test('without JavaScript the incident page lists, opens and takes a comment', async () => {
  const { server } = env;
  assert.ok(incident, 'the first test opened an incident');
  const { context, page } = await signInWithoutJs(env, 'analyst');
  await page.goto(`${server.base}/soc/incidents?incident=${incident}`);
  await page.locator(`[data-test=incidents] tr[data-incident="${incident}"][data-status=contained]`).waitFor();
  await page.locator('[data-test=timeline-entry][data-kind=contain]').waitFor();
  // The comment form is closed <details>; without JavaScript it opens by its summary.
  await page.click('[data-test=incident-commands] details:has([data-test=comment]) summary');
  await page.fill('[data-test=comment-note]', 'Checked the proxy logs: no exfiltration');
  await Promise.all([page.waitForNavigation(), page.click('[data-test=comment]')]);
  await page.goto(`${server.base}/soc/incidents?incident=${incident}`);
  const entry = page.locator('[data-test=timeline-entry][data-kind=comment]');
  await entry.waitFor();
  assert.match(await entry.textContent(), /Checked the proxy logs: no exfiltration/);
  // The filters are a GET form: resolved incidents only leaves this one out.
  await page.selectOption('#inc-status', 'resolved');
  await Promise.all([page.waitForNavigation(), page.click('[data-test=filter-incidents]')]);
  assert.match(page.url(), /status=resolved/);
  await page.locator('[data-test=incidents-empty]').waitFor();
  await shots(page, 'incidents-nojs');
  await context.close();
});

test('without JavaScript a responder lifts a block on /soc/response and the feed loses it', async () => {
  const { server } = env;
  const { context, page } = await signInWithoutJs(env, 'responder');
  await page.goto(`${server.base}/soc/response`);
  const active = page.locator('[data-test=active-actions] [data-test=action][data-kind=block]').first();
  await active.waitFor();
  const id = await active.getAttribute('data-action-id');
  const feed = await context.request.get(`${server.base}/api/v1/blocklist`);
  const listed = (await feed.text()).trim().split('\n');
  assert.ok(listed.length >= 1 && listed[0] !== '', 'the session reads the feed');
  await shots(page, 'response-nojs');
  await active.locator('[data-test=lift-note]').fill('False alarm after review');
  await Promise.all([page.waitForNavigation(), active.locator('[data-test=lift-action]').click()]);
  await page.goto(`${server.base}/soc/response`);
  await page.locator(`[data-test=ended-actions] [data-action-id="${id}"][data-state=lifted]`).waitFor();
  assert.match(await page.locator(`[data-test=ended-actions] [data-action-id="${id}"]`).textContent(), /False alarm after review/);
  const after = await (await context.request.get(`${server.base}/api/v1/blocklist`)).text();
  assert.equal(after.trim().split('\n').filter(Boolean).length, listed.length - 1);
  await context.close();
});

test('the API reference at /api/docs renders the OpenAPI document without script and fits a phone', async () => {
  const { server, chromium } = env;
  const context = await chromium.browser.newContext();
  const page = await context.newPage();
  const scripts = [];
  page.on('request', (r) => { if (r.resourceType() === 'script') scripts.push(r.url()); });
  await page.goto(`${server.base}/api/docs`);
  await page.locator('[data-test=operation][data-path="/api/v1/incidents/{id}"]').waitFor();
  await page.locator('#schema-Incident').waitFor();
  const spec = await (await context.request.get(`${server.base}/api/openapi.json`)).json();
  const operations = Object.values(spec.paths).reduce((n, item) => n + Object.keys(item).length, 0);
  assert.equal(await page.locator('[data-test=operation]').count(), operations, 'one section per operation');
  assert.deepEqual(scripts, []);
  for (const width of [1440, 390]) {
    await page.setViewportSize({ width, height: 900 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `no horizontal overflow at ${width}px (${overflow}px)`);
  }
  await shots(page, 'api-docs');
  await context.close();
});
