// /hunt in Chromium: an analyst hunts the flows the demo replay stored, pivots on an address, reads a
// bad term's error, and does the same with JavaScript off (plain GET forms and links).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser, signIn, signInWithoutJs } from './harness.mjs';

const env = useServerAndBrowser(before, after);

/** Waits until a hunt for everything of the last day finds stored flows (the replay feeds them). */
async function waitForFlows(page, base) {
  for (let i = 0; i < 90; i++) {
    await page.goto(`${base}/hunt?q=${encodeURIComponent('since:24h')}`);
    const rows = await page.locator('[data-test=hunt-flows] tr[data-flow]').count();
    if (rows > 0) return;
    await page.waitForTimeout(1000);
  }
  assert.fail('no stored flow appeared within 90 s');
}

test('an analyst hunts stored flows, pivots on an address and is told what a bad term allows', async () => {
  const { server } = env;
  const { context, page, dialogs, csp } = await signIn(env, 'analyst');
  await waitForFlows(page, server.base);
  await page.waitForSelector('body[data-hydrated=true]');
  const summary = await page.locator('[data-test=hunt-summary]').textContent();
  assert.match(summary, /flows? matched/);
  await page.locator('[data-test=hunt-histogram] rect').first().waitFor();
  // The canonical text is shown back in the box.
  assert.equal(await page.inputValue('#hunt-q'), 'since:24h');
  // Pivot: the first row's source address becomes the hunt.
  const src = page.locator('[data-test=hunt-flows] tr[data-flow] td:nth-child(2) a').first();
  const address = (await src.textContent()).trim();
  await Promise.all([page.waitForURL(/q=ip/, { waitUntil: 'commit' }), src.click()]);
  await page.waitForSelector('body[data-hydrated=true]');
  assert.equal(await page.inputValue('#hunt-q'), `ip:${address}`);
  // The results follow (the previous ones stay on screen while the new ones load).
  await page.waitForFunction((addr) => {
    const rows = [...document.querySelectorAll('[data-test=hunt-flows] tr[data-flow]')];
    return rows.length > 0 && rows.every((r) => (r.children[1].textContent + ' ' + r.children[2].textContent).includes(addr));
  }, address, { timeout: 15_000 });
  // The CSV export is there and guarded.
  const csv = await context.request.get(`${server.base}${await page.getAttribute('[data-test=hunt-export]', 'href')}`);
  assert.equal(csv.status(), 200);
  assert.match(await csv.text(), /^time_utc,src,sport,dst,dport/);
  // A bad term is named with what its key allows; the good terms still run.
  await page.fill('#hunt-q', 'dport:99999 since:24h');
  await Promise.all([page.waitForURL(/dport/, { waitUntil: 'commit' }), page.click('[data-test=hunt-submit]')]);
  await page.waitForSelector('body[data-hydrated=true]');
  const errors = await page.locator('[data-test=hunt-errors]').textContent();
  assert.match(errors, /99999/);
  assert.equal(await page.inputValue('#hunt-q'), 'dport:99999 since:24h', 'the typed text stays to be fixed');
  await page.locator('[data-test=hunt-summary]').waitFor();
  assert.deepEqual(dialogs, []);
  assert.deepEqual(csp, []);
  await context.close();
});

test('the hunt works without JavaScript: the form is a GET and the pivots are links', async () => {
  const { server } = env;
  const { context, page } = await signInWithoutJs(env, 'responder');
  await waitForFlows(page, server.base);
  await page.fill('#hunt-q', 'since:24h -dport:53');
  await Promise.all([page.waitForURL(/q=since/), page.click('[data-test=hunt-submit]')]);
  await page.locator('[data-test=hunt-summary]').waitFor();
  const ports = await page.locator('[data-test=hunt-flows] tr[data-flow] td:nth-child(4)').allTextContents();
  assert.ok(ports.length > 0 && ports.every((p) => p.trim() !== '53'), `${ports}`);
  await context.close();
});
