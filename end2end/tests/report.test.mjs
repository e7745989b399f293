// /report in a real browser: an employee reports an address whose description is markup; it is shown
// as text, nothing runs, and the report is listed with its status.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser, signIn } from './harness.mjs';

const env = useServerAndBrowser(before, after);

test('an employee reports an IP; markup in the description is shown as text and runs nothing', async () => {
  const { context, page, dialogs } = await signIn(env, 'employee');

  // A typo first: the message names the problem in plain words, next to the field.
  await page.fill('#report-indicator', '203.0.113.x');
  await page.check('#report-category-scanning');
  await page.fill('#report-description', 'It keeps knocking');
  await page.click('[data-test=send-report]');
  await page.locator('[data-test=error-indicator]', { hasText: 'like 203.0.113.7' }).waitFor();

  const markup = '<img src=x onerror=alert(1)>';
  await page.fill('#report-indicator', '203.0.113.77');
  await page.fill('#report-description', markup);
  await page.click('[data-test=send-report]');
  await page.locator('[data-test=report-sent]').waitFor();
  const row = page.locator('[data-test=my-reports] tr', { hasText: '203.0.113.77' });
  await row.waitFor();
  assert.equal(await row.locator('td.prose').textContent(), markup, 'the description is text');
  assert.equal(await page.locator('[data-test=my-reports] img').count(), 0, 'no element was created from it');
  assert.equal(await row.locator('[data-test=report-status]').getAttribute('data-status'), 'new');

  // After a reload (server-rendered) it is still text and nothing ran.
  await page.reload();
  await page.waitForSelector('body[data-hydrated=true]');
  assert.equal(await page.locator('[data-test=my-reports] img').count(), 0);
  assert.deepEqual(dialogs, [], 'no script ran');
  await context.close();
});
