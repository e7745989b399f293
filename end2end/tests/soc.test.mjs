// /soc in a real browser, against a demo server that replays recorded CIC-IDS2017 traffic through
// the pipeline: an analyst sees an alert arrive live, opens it, acknowledges and resolves it and the
// history shows both; keyboard triage; the console without JavaScript; an employee is refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser, signIn, signInWithoutJs, shots } from './harness.mjs';

const env = useServerAndBrowser(before, after);

test('an analyst sees a replayed alert arrive live, opens it, acknowledges and resolves it', async () => {
  const { server } = env;
  const { context, page, dialogs } = await signIn(env, 'analyst');
  assert.equal(new URL(page.url()).pathname, '/soc');
  await page.locator('[data-test=live-state]', { hasText: 'Live' }).waitFor({ timeout: 30_000 });
  // The replay feeds the pipeline; the live tail fills without a reload.
  const item = page.locator('[data-test=tail-item]').first();
  await item.waitFor({ timeout: 90_000 });
  const id = await item.getAttribute('data-alert-id');
  assert.ok(Number(id) > 0);
  // The queue was fetched again by the stream too (no reload happened: still hydrated, same page).
  await page.locator('[data-test=queue] tr[data-alert-id]').first().waitFor({ timeout: 30_000 });
  await page.click('[data-test=live-toggle]');
  await page.locator('[data-test=live-state]', { hasText: 'Paused' }).waitFor();

  // The locator `first()` is evaluated again at each use: the tail may have put another alert first
  // before it was paused, so open the alert by the id read above.
  await page.locator(`[data-test=tail-item][data-alert-id="${id}"] a`).first().click();
  const detail = page.locator(`[data-test=alert-detail] header[data-alert-id="${id}"]`);
  await detail.waitFor();
  assert.match(await page.locator('[data-test=why-headline]').textContent(), /classifier|models|signature|pattern of connections/);
  await page.locator('[data-test=playbook] [data-test=step]').first().waitFor();

  // The alert may have been acknowledged already if it is new; it is new here (nobody touched it).
  await page.click('[data-test=acknowledge]');
  await page.locator('[data-test=detail-status][data-status=acknowledged]').waitFor();
  // A triage action re-fetches the detail and renders it again: wait for that render (its history
  // shows the action) before typing into its form, or the note can be typed into the old form.
  await page.locator('[data-test=history-entry][data-action=acknowledge]').waitFor();
  await page.fill('[data-test=resolve-note]', 'Blocked at the edge firewall');
  await page.click('[data-test=resolve]');
  await page.locator('[data-test=detail-status][data-status=resolved]').waitFor();
  await page.locator('[data-test=history-entry][data-action=resolve]').waitFor();
  const history = await page.locator('[data-test=history-entry]').evaluateAll((els) => els.map((e) => e.getAttribute('data-action')));
  assert.deepEqual(history.filter((a) => a === 'acknowledge' || a === 'resolve'), ['acknowledge', 'resolve']);
  assert.match(await page.locator('[data-test=history]').textContent(), /demo\.analyst resolved: Blocked at the edge firewall/);

  // Ticking off a playbook step is remembered and written to the history.
  await page.locator('[data-test=playbook] [data-test=step]').first().click();
  await page.locator('[data-test=playbook] [data-test=step][data-done=true]').first().waitFor();
  await page.locator('[data-test=history-entry][data-action=step_done]').waitFor();
  assert.deepEqual(dialogs, []);
  await context.close();
});

test('keyboard triage: j moves, a acknowledges, x selects, Esc clears', async () => {
  const { server } = env;
  const { context, page } = await signIn(env, 'responder');
  await page.goto(`${server.base}/soc?status=new&sort=newest`);
  await page.waitForSelector('body[data-hydrated=true]');
  // Two new alerts at least: acknowledging one takes it out of this "new" queue, and `x` then
  // needs a row left under the cursor.
  await page.locator('[data-test=queue] tr[data-alert-id]').nth(1).waitFor({ timeout: 90_000 });
  await page.click('[data-test=live-toggle]');
  await page.locator('[data-test=live-state]', { hasText: 'Paused' }).waitFor();
  await page.locator('body').click({ position: { x: 1, y: 1 } });

  await page.keyboard.press('j');
  const cursor = page.locator('[data-test=queue] tr.cursor');
  await cursor.waitFor();
  const first = await cursor.getAttribute('data-alert-id');
  await page.keyboard.press('j');
  await page.keyboard.press('k');
  assert.equal(await page.locator('[data-test=queue] tr.cursor').getAttribute('data-alert-id'), first, 'k comes back');
  await page.keyboard.press('a');
  await page.locator('[data-test=triage-result]', { hasText: `Alert #${first} is now acknowledged.` }).waitFor();

  await page.keyboard.press('x');
  await page.locator('[data-test=bulk-bar]', { hasText: '1 selected' }).waitFor();
  await page.keyboard.press('Escape');
  await page.locator('[data-test=bulk-bar]').waitFor({ state: 'detached' });

  await page.keyboard.press('/');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'soc-q', '/ focuses the search');
  await page.keyboard.type('port scan');
  await page.keyboard.press('Enter');
  await page.waitForURL(/q=port(\+|%20)scan/);
  await context.close();
});

test('traffic analytics: rates, protocol and service mix, and a top talker that filters the queue', async () => {
  const { server } = env;
  const { context, page } = await signIn(env, 'analyst');
  await page.waitForSelector('body[data-hydrated=true]');
  const traffic = page.locator('[data-test=traffic]');
  await traffic.waitFor();
  // The replay's flows reach the aggregates; the section is fetched again while traffic flows.
  const source = page.locator('[data-test=top-sources] table a').first();
  await source.waitFor({ timeout: 90_000 });
  assert.match(await page.locator('[data-test=traffic-summary]').textContent(), /^[\d,]+ flows in the range \([\d.,]+ a (second|minute) on average\), [\d,]+ of them alerting/);
  for (const chart of ['traffic-rate', 'traffic-protocols', 'traffic-services']) {
    const svg = page.locator(`[data-test=${chart}] .chart-svg svg`);
    await svg.waitFor();
    assert.ok((await svg.boundingBox()).width > 200, `${chart} is drawn`);
  }
  assert.match(await page.locator('[data-test=traffic-rate] [role=img]').getAttribute('aria-label'), /Flows per second/);
  assert.match(await page.locator('[data-test=traffic-protocols] [role=img]').getAttribute('aria-label'), /tcp/);
  await page.locator('[data-test=top-destinations] table a').first().waitFor();
  for (const width of [1440, 390]) {
    await page.setViewportSize({ width, height: 900 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `no horizontal scrolling at ${width} px (${overflow} px too wide)`);
  }
  await page.setViewportSize({ width: 1280, height: 720 });
  await page.locator('[data-test=traffic]').scrollIntoViewIfNeeded();
  await shots(page, 'soc-traffic');

  // A talker filters the queue by its address.
  const ip = (await source.textContent()).trim();
  await Promise.all([page.waitForURL((u) => u.searchParams.get('src_ip') === ip), source.click()]);
  assert.equal(await page.locator('[data-test=filters] input[name=src_ip]').inputValue(), ip);
  await context.close();
});

test('the console works without JavaScript and refuses employees', async () => {
  const { server } = env;
  // Sign in with scripts off, then /soc: the queue and maps are in the HTML.
  const { context, page } = await signInWithoutJs(env, 'analyst');
  await page.locator('[data-test=traffic-map] svg').waitFor();
  await page.locator('[data-test=origins-map] svg').waitFor();
  assert.ok(await page.locator('[data-test=queue-summary]').count() === 1);
  // A filter is a plain GET form.
  await page.selectOption('#soc-status', 'all');
  await Promise.all([page.waitForURL(/status=all/), page.click('[data-test=apply-filters]')]);
  await page.locator('[data-test=queue-summary]').waitFor();
  await context.close();

  const employee = await signIn(env, 'employee');
  const res = await employee.page.goto(`${server.base}/soc`);
  assert.equal(res.status(), 403);
  await employee.page.locator('[data-test=forbidden]').waitFor();
  const api = await employee.page.evaluate(async () => (await fetch('/api/v1/stream')).status);
  assert.equal(api, 403, 'the live stream refuses employees too');
  await employee.context.close();
});
