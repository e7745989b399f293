// /intel and the IOC check in Chromium: an analyst imports a list naming an address the demo replay
// talked to (a bad line is named, the rest imports, the retro-hunt finds the stored flows), checks the
// address, and an admin disables the source; the IOC check and the indicator filter also work with
// JavaScript off. With SHOTS=<dir> the pages are saved at desktop and phone width.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser, signIn, signInWithoutJs } from './harness.mjs';

const env = useServerAndBrowser(before, after);
let listed; // the address the import lists

async function shot(page, name) {
  if (!process.env.SHOTS) return;
  for (const [w, h, tag] of [[1440, 1000, 'desktop'], [390, 844, 'phone']]) {
    await page.setViewportSize({ width: w, height: h });
    await page.screenshot({ path: `${process.env.SHOTS}/${name}-${tag}.png`, fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 720 });
}

/** An outside address of a stored flow (the replay feeds them), found through the hunt. */
async function storedDestination(page, base) {
  for (let i = 0; i < 90; i++) {
    await page.goto(`${base}/hunt?q=${encodeURIComponent('since:24h -dst:10.0.0.0/8 -dst:192.168.0.0/16 -dst:172.16.0.0/12')}`);
    const cells = page.locator('[data-test=hunt-flows] tr[data-flow] td:nth-child(3) a');
    if ((await cells.count()) > 0) return (await cells.first().textContent()).trim();
    await page.waitForTimeout(1000);
  }
  assert.fail('no stored flow to an outside address appeared within 90 s');
}

test('an analyst imports a list, reads what was rejected and what the retro-hunt found, and checks the address', async () => {
  const { server } = env;
  const { context, page, dialogs, csp } = await signIn(env, 'analyst');
  listed = await storedDestination(page, server.base);
  await page.goto(`${server.base}/intel`);
  await page.waitForSelector('body[data-hydrated=true]');
  await page.locator('[data-test=intel-sources] tr[data-source=employee-reports]').waitFor();
  assert.equal(await page.locator('[data-test=source-disable]').count(), 0, 'an analyst does not manage sources');
  await page.fill('#intel-source', 'e2e-feed');
  await page.fill('#intel-confidence', '80');
  await page.fill('#intel-text', `# test feed\n${listed}\nnot an indicator!!\n10.99.0.0/16\nphish.example\n`);
  await page.click('[data-test=intel-import-submit]');
  const result = page.locator('[data-test=intel-import-result]');
  await result.waitFor({ timeout: 20_000 });
  const text = await result.textContent();
  assert.match(text, /3 new, 0 updated, 1 rejected/, text);
  assert.match(await page.locator('[data-test=intel-rejected]').textContent(), /line 3/);
  const retro = await page.locator('[data-test=intel-retro]').textContent();
  const flows = Number((retro.match(/: ([\d,]+) flows? matched/) ?? [])[1]?.replace(/,/g, ''));
  assert.ok(flows > 0, `the retro-hunt finds the stored flows: ${retro}`);
  // The source is listed with its hits, the indicators with theirs.
  const row = page.locator('[data-test=intel-sources] tr[data-source=e2e-feed]');
  await row.waitFor();
  assert.ok(Number((await row.locator('[data-test=source-hits]').textContent()).replace(/,/g, '')) >= flows);
  await page.locator(`[data-test=intel-indicator-table] tr[data-indicator="${listed}"]`).waitFor();
  await shot(page, 'intel');
  // The IOC check of the address: listed, alerted on, seen in the flows.
  await page.goto(`${server.base}/hunt/ioc?value=${encodeURIComponent(listed)}`);
  await page.waitForSelector('body[data-hydrated=true]');
  assert.match(await page.locator('[data-test=ioc-verdict]').textContent(), /Listed as malicious by e2e-feed \(80 % confidence\)/);
  assert.match(await page.locator('[data-test=ioc-alerts] h2').textContent(), /Alerts \([1-9]/);
  assert.match(await page.locator('[data-test=ioc-flow-count]').textContent(), /^[1-9][\d,]* flows? from or to it/);
  // For an address the check is its host page: peers and ports, flows over time.
  assert.match(await page.locator('[data-test=ioc-value]').textContent(), /^Host /);
  assert.ok((await page.locator('[data-test=ioc-contacted-by] tbody tr').count()) > 0, 'who talked to it');
  await page.locator('[data-test=ioc-flows] [data-test=hunt-histogram]').waitFor();
  await shot(page, 'ioc');
  // The hunt for the address lists its flows and its alerts, links the host page and sorts by a column.
  await page.goto(`${server.base}/hunt?q=${encodeURIComponent(`ip:${listed}`)}`);
  await page.waitForSelector('body[data-hydrated=true]');
  await page.locator('[data-test=hunt-host] a').waitFor();
  const alertRows = page.locator('[data-test=hunt-alert-table] tr[data-alert]');
  await alertRows.first().waitFor();
  assert.match(await alertRows.allTextContents().then((t) => t.join(' ')), /Threat-intel match/);
  const alertCsv = await context.request.get(`${server.base}${await page.getAttribute('[data-test=hunt-alert-export]', 'href')}`);
  assert.equal(alertCsv.status(), 200);
  assert.match(await alertCsv.text(), new RegExp(`^id,first_seen_utc,[^\\n]*\\r\\n\\d+,[^\\n]*intel_match[^\\n]*${listed.replace(/\./g, '\\.')}`));
  await Promise.all([page.waitForURL(/sort=risk/, { waitUntil: 'commit' }), page.click('[data-test=sort-risk]')]);
  await page.waitForSelector('body[data-hydrated=true]');
  await page.locator('[data-test=hunt-flows] tr[data-flow]').first().waitFor();
  assert.match(await page.locator('[data-test=sort-risk]').textContent(), /↓/);
  await shot(page, 'hunt-alerts');
  assert.deepEqual(dialogs, []);
  assert.deepEqual(csp, []);
  await context.close();
});

test('an admin disables the source and expires an indicator', async () => {
  const { server } = env;
  const { context, page } = await signIn(env, 'admin');
  await page.goto(`${server.base}/intel?text=${encodeURIComponent('10.99')}`);
  await page.waitForSelector('body[data-hydrated=true]');
  const indicator = page.locator('[data-test=intel-indicator-table] tr[data-indicator="10.99.0.0/16"]');
  await indicator.locator('[data-test=indicator-expire]').click();
  await page.locator('[data-test=intel-changed]').waitFor();
  await page.waitForFunction(() => document.querySelector('tr[data-indicator="10.99.0.0/16"] [data-test=indicator-state]')?.textContent === 'expired');
  const source = page.locator('[data-test=intel-sources] tr[data-source=e2e-feed]');
  await source.locator('[data-test=source-disable]').click();
  await page.waitForFunction(() => /disabled/.test(document.querySelector('[data-test=intel-changed]')?.textContent ?? ''));
  await source.locator('[data-test=source-enable]').waitFor();
  await shot(page, 'intel-admin');
  await context.close();
});

test('the IOC check and the indicator filter work without JavaScript', async () => {
  const { server } = env;
  const { context, page } = await signInWithoutJs(env, 'responder');
  await page.goto(`${server.base}/hunt`);
  await Promise.all([page.waitForURL(/\/hunt\/ioc/), page.click('[data-test=ioc-link]')]);
  await page.fill('#ioc-value', 'PHISH.example.');
  await Promise.all([page.waitForURL(/value=/), page.click('[data-test=ioc-submit]')]);
  assert.match(await page.locator('[data-test=ioc-value]').textContent(), /^phish\.example — domain/);
  assert.match(await page.locator('[data-test=ioc-intel] h2').textContent(), /Intel \(1\)/);
  await page.fill('#ioc-value', 'no such thing');
  await Promise.all([page.waitForURL(/value=no/), page.click('[data-test=ioc-submit]')]);
  assert.match(await page.locator('[data-test=panel-error]').textContent(), /'no such thing' is neither an IP address/);
  // The host page of the listed address, without JavaScript too.
  await page.goto(`${server.base}/hunt/ioc?value=${encodeURIComponent(listed)}`);
  assert.match(await page.locator('[data-test=ioc-value]').textContent(), /^Host /);
  assert.ok((await page.locator('[data-test=ioc-contacted-by] tbody tr').count()) > 0, 'who talked to it');
  await page.goto(`${server.base}/intel`);
  await page.fill('#intel-q', 'phish');
  await Promise.all([page.waitForURL(/text=phish/), page.click('[data-test=intel-filter] button[type=submit]')]);
  assert.match(await page.locator('[data-test=intel-count]').textContent(), /^1 indicator;/);
  await context.close();
});
