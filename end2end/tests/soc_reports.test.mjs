// The SOC's sub-pages and the replay panel in a real browser:
// - /soc/reports: an employee reports an IP with markup as its description; an analyst sees it as
//   text (no element, no dialog), confirms it with a note; the employee sees "confirmed" and the note
//   on /report; an employee opening /soc/reports gets 403.
// - /soc/rules: create (a bad address named first), expire, delete after a confirmation.
// - /admin: the replay of recorded CIC-IDS2017 traffic is started, sped up and stopped.
// - Without JavaScript (what the server renders before the WASM arrives) the forms still work.
// The server runs with ingest on (models loaded) and the replay configured but not started
// (AF_REPLAY__AUTOSTART=false), so the test decides when it runs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser, signIn, signInWithoutJs } from './harness.mjs';

const env = useServerAndBrowser(before, after, { AF_INGEST: 'true', AF_REPLAY__AUTOSTART: 'false' });
const markup = '<img src=x onerror=alert(1)>';

test('an analyst confirms an employee report shown as text; the employee sees the decision', async () => {
  const { server } = env;
  const employee = await signIn(env, 'employee');
  await employee.page.fill('#report-indicator', '203.0.113.88');
  await employee.page.check('#report-category-phishing');
  await employee.page.fill('#report-description', markup);
  await employee.page.click('[data-test=send-report]');
  await employee.page.locator('[data-test=report-sent]').waitFor();

  // Employees cannot open the SOC's queue: the server answers 403 and shows no report.
  const refused = await employee.page.goto(`${server.base}/soc/reports`);
  assert.equal(refused.status(), 403);
  await employee.page.locator('[data-test=forbidden]').waitFor();
  assert.equal(await employee.page.locator('article.case').count(), 0);

  const analyst = await signIn(env, 'analyst');
  await analyst.page.goto(`${server.base}/soc/reports`);
  await analyst.page.waitForSelector('body[data-hydrated=true]');
  await analyst.page.locator('[data-test=new-reports]', { hasText: '1 new' }).waitFor();
  const item = analyst.page.locator('article.case[data-indicator="203.0.113.88"]');
  await item.waitFor();
  assert.equal(await item.getAttribute('data-status'), 'new');
  assert.equal(await item.locator('[data-test=case-reporters]').textContent(), '1 report from 1 person: Demo employee');
  await item.locator('[data-test=descriptions] summary').click();
  assert.equal(await item.locator('[data-test=description]').textContent(), markup, 'the description is text');
  assert.equal(await analyst.page.locator('[data-test=report-queue] img').count(), 0, 'no element was created from it');

  // Confirm with a note: it leaves the open queue and is listed as confirmed.
  const note = 'Thanks! It was phishing; we blocked it for everyone. <b>not bold</b>';
  await item.locator('textarea[name=note]').fill(note);
  await item.locator('[data-test=to-confirmed]').click();
  await analyst.page.locator('[data-test=decide-done]', { hasText: '203.0.113.88 is now confirmed' }).waitFor();
  await item.waitFor({ state: 'detached' });
  await analyst.page.click('[data-filter=confirmed]');
  const confirmed = analyst.page.locator('article.case[data-indicator="203.0.113.88"][data-status=confirmed]');
  await confirmed.waitFor();
  assert.equal(await confirmed.locator('[data-test=case-note]').textContent(), note);
  assert.match(await confirmed.locator('[data-test=case-decision]').textContent(), /^Confirmed by Demo analyst, /);

  // The employee sees the decision and the note, as text.
  await employee.page.goto(`${server.base}/report`);
  await employee.page.waitForSelector('body[data-hydrated=true]');
  const row = employee.page.locator('[data-test=my-reports] tr', { hasText: '203.0.113.88' });
  await row.waitFor();
  assert.equal(await row.locator('[data-test=report-status]').getAttribute('data-status'), 'confirmed');
  assert.match(await row.locator('[data-test=report-status]').textContent(), /Confirmed as a threat/);
  assert.equal(await row.locator('[data-test=soc-note]').textContent(), `The security team says: ${note}`);
  assert.equal(await employee.page.locator('[data-test=my-reports] img, [data-test=my-reports] b').count(), 0);
  assert.deepEqual([...employee.dialogs, ...analyst.dialogs], [], 'no script ran');
  await employee.context.close();
  await analyst.context.close();
});

test('a responder creates, expires and deletes a suppression rule', async () => {
  const { server } = env;
  const { context, page, dialogs } = await signIn(env, 'responder');
  await page.goto(`${server.base}/soc/rules`);
  await page.waitForSelector('body[data-hydrated=true]');
  await page.locator('[data-test=no-active-rules]').waitFor();

  // A mistyped address is named next to its field; nothing is created.
  await page.fill('#rule-src', '203.0.113.x');
  await page.selectOption('#rule-threat', 'port_scan');
  await page.fill('#rule-reason', `Weekly scan by IT ${markup}`);
  await page.click('[data-test=create-rule]');
  await page.locator('[data-test=error-src_ip]', { hasText: 'is not an IPv4 or IPv6 address' }).waitFor();
  assert.equal(await page.locator('[data-test=active-rules] tr[data-rule]').count(), 0);

  await page.fill('#rule-src', '203.0.113.99');
  await page.fill('#rule-hours', '24');
  await page.click('[data-test=create-rule]');
  await page.locator('[data-test=rule-done]', { hasText: 'source 203.0.113.99 · type port_scan' }).waitFor();
  const active = page.locator('[data-test=active-rules] tr', { hasText: '203.0.113.99' });
  await active.waitFor();
  assert.match(await active.textContent(), /Weekly scan by IT <img src=x onerror=alert\(1\)>/, 'the reason is text');
  assert.equal(await active.locator('[data-test=rule-hits]').textContent(), '0');

  // Expire now: it moves to the expired rules, keeping its record.
  await active.locator('[data-test=expire-rule]').click();
  const expired = page.locator('[data-test=expired-rules] tr', { hasText: '203.0.113.99' });
  await expired.waitFor();
  await page.locator('[data-test=no-active-rules]').waitFor();
  assert.equal(await expired.locator('[data-test=expire-rule]').count(), 0);

  // Delete asks first; confirming removes it.
  await expired.locator('[data-test=delete-rule]').click();
  await expired.locator('[data-test=confirm-delete]').click();
  await page.locator('[data-test=rule-done]', { hasText: 'Rule deleted.' }).waitFor();
  // The notice comes with the server's answer; the list re-renders from its refetch just after.
  await page.waitForFunction(
    () => ![...document.querySelectorAll('tr[data-rule]')].some((r) => r.textContent.includes('203.0.113.99')),
    null,
    { timeout: 10_000 },
  );
  assert.equal(await page.locator('tr[data-rule]', { hasText: '203.0.113.99' }).count(), 0);
  assert.equal(await page.locator('img').count(), 0);
  assert.deepEqual(dialogs, [], 'no script ran');
  await context.close();
});

test('an admin starts the replay of recorded traffic, changes its speed and stops it', async () => {
  const { server } = env;
  const { context, page } = await signIn(env, 'admin');
  await page.goto(`${server.base}/admin`);
  await page.waitForSelector('body[data-hydrated=true]');
  const panel = page.locator('[data-test=replay]');
  assert.match(await panel.textContent(), /CIC-IDS2017/, 'the panel says what is replayed');
  assert.match(await panel.textContent(), /None of it is your network's traffic/);
  const state = panel.locator('[data-test=replay-state]');
  assert.equal(await state.getAttribute('data-running'), 'false');

  await panel.locator('[data-test=replay-toggle]').click();
  await panel.locator('[data-test=replay-state][data-running=true]').waitFor({ timeout: 60_000 });
  // While it runs the panel refreshes itself: flows sent goes up without a reload.
  await page.waitForFunction(() => Number(document.querySelector('[data-test=replay-sent]')?.textContent) > 0, null, { timeout: 30_000 });

  // A speed that is not a number is named; a valid one is applied.
  await panel.locator('#replay-speed').fill('fast');
  await panel.locator('[data-test=replay-set-speed]').click();
  await panel.locator('[data-test=replay-error]', { hasText: '`fast` is not a number' }).waitFor();
  await panel.locator('#replay-speed').fill('120');
  await panel.locator('[data-test=replay-set-speed]').click();
  await panel.locator('[data-test=replay-speed]', { hasText: '120×' }).waitFor();

  await panel.locator('[data-test=replay-toggle]').click();
  await panel.locator('[data-test=replay-state][data-running=false]').waitFor();
  await context.close();
});

test('without JavaScript an analyst decides about a report and creates a rule', async () => {
  const { server } = env;
  const { context, page } = await signInWithoutJs(env, 'analyst');

  // Anyone may report, the analyst too; the queue shows it after a plain form post.
  await page.goto(`${server.base}/report`);
  await page.fill('#report-indicator', '198.51.100.77');
  await page.check('#report-category-scanning');
  await page.fill('#report-description', 'Probes our VPN every night');
  await Promise.all([page.waitForURL(`${server.base}/report`), page.click('[data-test=send-report]')]);
  await page.goto(`${server.base}/soc/reports`);
  const item = page.locator('article.case[data-indicator="198.51.100.77"]');
  assert.equal(await item.getAttribute('data-status'), 'new');
  await item.locator('textarea[name=note]').fill('We are looking into it.');
  await Promise.all([page.waitForURL(`${server.base}/soc/reports`), item.locator('[data-test=to-investigating]').click()]);
  const after = page.locator('article.case[data-indicator="198.51.100.77"]');
  assert.equal(await after.getAttribute('data-status'), 'investigating');
  assert.equal(await after.locator('[data-test=case-note]').textContent(), 'We are looking into it.');

  await page.goto(`${server.base}/soc/rules`);
  await page.fill('#rule-asset', '10.1.2.3');
  await page.fill('#rule-reason', 'Backup server, noisy at night');
  await Promise.all([page.waitForURL(`${server.base}/soc/rules`), page.click('[data-test=create-rule]')]);
  assert.match(await page.locator('[data-test=active-rules]').textContent(), /asset 10\.1\.2\.3/);
  assert.equal(await page.locator('body').getAttribute('data-hydrated'), null, 'no WASM ran');
  await context.close();
});
