// /admin/notifications in Chromium: an admin creates a signed webhook channel (its key is shown
// once) and a rule, sends a test, and sees the delivery's outcome (the receiver here is a closed
// port, so the first attempt fails with the reason and a retry is planned). With SHOTS=<dir> the
// page is saved at desktop and phone width.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser, signIn, shots } from './harness.mjs';

const env = useServerAndBrowser(before, after);

test('an admin creates a webhook channel and a rule, sends a test and sees its outcome', async () => {
  const { server } = env;
  const { context, page, dialogs } = await signIn(env, 'admin');
  await page.goto(`${server.base}/admin`);
  await page.click('[data-test=tab-notifications]');
  await page.waitForURL(/\/admin\/notifications$/);
  await page.waitForSelector('body[data-hydrated=true]');
  await page.locator('[data-test=no-channels]').waitFor();

  await page.click('[data-test=new-channel] summary');
  await page.fill('[data-test=channel-name]', 'SOC webhook');
  await page.selectOption('[data-test=channel-kind]', 'webhook');
  await page.fill('[data-test=channel-target]', 'http://127.0.0.1:9/anomalyforge');
  await page.click('[data-test=create-channel]');
  const key = await page.locator('[data-test=channel-secret]').textContent();
  assert.match(key.trim(), /^[0-9a-f]{64}$/, 'the signing key is shown once');
  await page.locator('[data-test=channels] tr[data-channel]').first().waitFor();

  await page.click('[data-test=new-rule] summary');
  await page.selectOption('[data-test=rule-event]', 'incident_opened');
  await page.click('[data-test=create-rule]');
  await page.locator('[data-test=rules] td', { hasText: 'Incident opened from high severity' }).waitFor();

  await page.click('[data-test=test-channel]');
  await page.locator('[data-test=test-queued]').waitFor();
  // The worker tries within a second; the port is closed, so the outcome names the failure.
  for (let i = 0; i < 30; i++) {
    await page.reload();
    if (await page.locator('[data-test=deliveries] tr[data-event=test] td', { hasText: 'attempt 1 failed' }).count()) break;
    await page.waitForTimeout(500);
  }
  const outcome = await page.locator('[data-test=deliveries] tr[data-event=test] td').last().textContent();
  assert.match(outcome, /attempt 1 failed: cannot reach the webhook: connection failed; next try/);
  await shots(page, 'notifications');
  assert.deepEqual(dialogs, []);
  await context.close();
});
