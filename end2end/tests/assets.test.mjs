// /assets in a real browser: an analyst adds an asset, edits it in place, imports CSV with one bad
// row (named by its line, the rest imported), and markup in a field stays text.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser, signIn } from './harness.mjs';

const env = useServerAndBrowser(before, after);

test('an analyst adds, edits and imports assets', async () => {
  const { server } = env;
  const { context, page, dialogs } = await signIn(env, 'analyst');
  await page.goto(`${server.base}/assets`);
  await page.waitForSelector('body[data-hydrated=true]');

  // Add: a wrong criticality cannot be chosen, so try a wrong address first.
  await page.fill('#new-ip', '10.9.0.300');
  await page.click('[data-test=add-asset]');
  await page.locator('[data-test=asset-error]', { hasText: 'not an IPv4 or IPv6 address' }).waitFor();
  const markup = '<img src=x onerror=alert(1)>';
  await page.fill('#new-ip', '10.9.0.5');
  await page.fill('#new-owner', markup);
  await page.selectOption('#new-criticality', 'critical');
  await page.fill('#new-tags', 'PCI, prod');
  await page.click('[data-test=add-asset]');
  const row = page.locator('[data-test=assets] tr[data-asset="10.9.0.5"]');
  await row.waitFor();
  assert.match(await row.textContent(), /critical/);
  assert.match(await row.textContent(), /pci, prod/);
  assert.equal(await page.locator('[data-test=assets] img').count(), 0, 'the owner is text');

  // Edit in place.
  await row.locator('[data-test=edit-asset]').click();
  await row.locator('input[name="asset[owner]"]').fill('Payments team');
  await row.locator('select[name="asset[criticality]"]').selectOption('high');
  await row.locator('[data-test=save-asset]').click();
  await page.locator('[data-test=assets] tr[data-asset="10.9.0.5"]', { hasText: 'Payments team' }).waitFor();
  assert.match(await page.locator('[data-test=assets] tr[data-asset="10.9.0.5"]').textContent(), /high/);

  // Import: the bad row is named by its line; the good ones arrive.
  await page.fill('#import-csv', 'ip,owner,criticality\n10.9.0.6,Web,low\n10.9.0.7,Ops,urgent\n10.9.0.8,DB,high\n');
  await page.click('[data-test=import-submit]');
  await page.locator('[data-test=import-result]', { hasText: '2 added, 0 updated, 1 skipped' }).waitFor();
  assert.match(await page.locator('[data-test=import-rejected]').textContent(), /Line 3: criticality/);
  await page.locator('[data-test=assets] tr[data-asset="10.9.0.8"]').waitFor();
  assert.deepEqual(dialogs, [], 'no script ran');
  await context.close();
});
