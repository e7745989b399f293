// Sign-in in a real browser: the server-rendered page without JavaScript, then the hydrated app
// with each demo role seeing its own pages and not the others.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, signIn, ROLES, PAGES, HOME, account } from './harness.mjs';

let server;
let chromium;

before(async () => {
  server = await startServer();
  chromium = await launchBrowser();
});

after(async () => {
  await chromium?.close();
  await server?.stop();
});

test('the login page renders without JavaScript, and signing in works without it', async () => {
  const context = await chromium.browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  const res = await page.goto(`${server.base}/login`);
  assert.equal(res.status(), 200);
  assert.equal(await page.locator('h1').first().textContent(), 'Sign in');
  assert.ok(await page.locator('input[name=username]').isVisible());
  assert.ok(await page.locator('input[name=password]').isVisible());
  assert.match(await page.locator('[data-test=demo-banner]').textContent(), /demo\.analyst/);
  assert.equal(await page.locator('body').getAttribute('data-hydrated'), null, 'no WASM ran');

  // A plain HTML form post: the server sets the cookie and redirects to the role's page.
  const { username, password } = account('analyst');
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', password);
  await Promise.all([page.waitForURL(`${server.base}/soc`), page.click('[data-test=login-submit]')]);
  assert.match(await page.locator('[data-test=page] h1').textContent(), /SOC console/);
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === 'af_session');
  assert.ok(session?.httpOnly, 'session cookie is HttpOnly');
  assert.equal(session.sameSite, 'Lax');
  await context.close();
});

test('a wrong password shows a clear error in the hydrated page', async () => {
  const context = await chromium.browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.base}/login`);
  await page.waitForSelector('body[data-hydrated=true]');
  await page.fill('input[name=username]', 'demo.analyst');
  await page.fill('input[name=password]', 'definitely wrong');
  await page.click('[data-test=login-submit]');
  const error = page.locator('[data-test=login-error]');
  await error.waitFor();
  assert.equal(await error.textContent(), 'Invalid username or password.');
  assert.equal(new URL(page.url()).pathname, '/login');
  await context.close();
});

for (const role of ROLES) {
  test(`${role}: signs in and sees exactly the pages of the role`, async () => {
    const context = await chromium.browser.newContext();
    const page = await context.newPage();
    const blocked = [];
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) blocked.push(`${page.url()}: ${m.text()}`);
    });
    await page.goto(`${server.base}/login`);
    await page.waitForSelector('body[data-hydrated=true]');
    const { username, password } = account(role);
    await page.fill('input[name=username]', username);
    await page.fill('input[name=password]', password);
    await Promise.all([page.waitForURL(`${server.base}${HOME[role]}`), page.click('[data-test=login-submit]')]);

    const allowed = Object.keys(PAGES).filter((p) => PAGES[p].includes(role));
    // The top bar refetches the user after sign-in; wait for its signed-in state before reading it.
    await page.locator('[data-test=logout]').waitFor();
    const nav = page.locator('nav[aria-label=Main] a');
    const hrefs = await nav.evaluateAll((links) => links.map((a) => a.getAttribute('href')));
    assert.deepEqual(hrefs, allowed, 'navigation shows the role its pages');

    for (const path of Object.keys(PAGES)) {
      const res = await page.goto(`${server.base}${path}`);
      if (PAGES[path].includes(role)) {
        assert.equal(res.status(), 200, `${path} opens for ${role}`);
        await page.locator('[data-test=page], [data-test=users]').first().waitFor();
        // Hydrates under the nonce CSP (the hydration script carries the response's nonce).
        await page.waitForSelector('body[data-hydrated=true]');
      } else {
        assert.equal(res.status(), 403, `${path} is refused to ${role}`);
        await page.locator('[data-test=forbidden]').waitFor();
      }
    }

    // Sign out from the hydrated page: back to the login page, session gone on the server.
    await page.goto(`${server.base}${HOME[role]}`);
    await page.waitForSelector('body[data-hydrated=true]');
    await Promise.all([page.waitForURL(`${server.base}/login`), page.click('[data-test=logout]')]);
    const after = await page.goto(`${server.base}${HOME[role]}`);
    assert.equal(after.status(), 401);
    assert.deepEqual(blocked, [], 'the Content-Security-Policy blocked nothing');
    await context.close();
  });
}

test('an admin creates a user in the browser, who can then sign in', async () => {
  const context = await chromium.browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.base}/login`);
  await page.waitForSelector('body[data-hydrated=true]');
  await page.fill('input[name=username]', 'demo.admin');
  await page.fill('input[name=password]', 'admin-demo-pass');
  await Promise.all([page.waitForURL(`${server.base}/soc`), page.click('[data-test=login-submit]')]);
  await page.goto(`${server.base}/admin`);
  await page.waitForSelector('body[data-hydrated=true]');
  await page.fill('#new-username', 'new.analyst');
  await page.fill('#new-display', 'New Analyst');
  await page.selectOption('#new-role', 'analyst');
  await page.fill('#new-password', 'a brand new password');
  await page.click('[data-test=create-user]');
  await page.locator('tr[data-user="new.analyst"]').waitFor();
  await context.close();

  const other = await chromium.browser.newContext();
  const p2 = await other.newPage();
  await p2.goto(`${server.base}/login`);
  await p2.waitForSelector('body[data-hydrated=true]');
  await p2.fill('input[name=username]', 'new.analyst');
  await p2.fill('input[name=password]', 'a brand new password');
  // The admin chose that password: its owner is taken to /account to choose their own first.
  await Promise.all([p2.waitForURL(`${server.base}/account`), p2.click('[data-test=login-submit]')]);
  await p2.waitForSelector('body[data-hydrated=true]');
  await p2.locator('[data-test=must-change]').waitFor();
  assert.equal(await p2.locator('nav[aria-label=Main] a').count(), 0, 'no other page is offered yet');
  assert.equal((await p2.goto(`${server.base}/soc`)).url(), `${server.base}/account`);
  await p2.waitForSelector('body[data-hydrated=true]');
  await p2.fill('#current-password', 'a brand new password');
  await p2.fill('#new-password', 'chosen by me alone');
  await p2.fill('#confirm-password', 'chosen by me not');
  await p2.click('[data-test=change-password]');
  await p2.locator('[data-test=error-confirm]', { hasText: 'not the same' }).waitFor();
  await p2.fill('#confirm-password', 'chosen by me alone');
  await p2.click('[data-test=change-password]');
  await p2.locator('[data-test=password-changed]').waitFor();
  await p2.locator('nav[aria-label=Main] a[href="/soc"]').waitFor();
  assert.equal((await p2.goto(`${server.base}/soc`)).status(), 200);
  await other.close();
});

test('an admin creates a read-only token that expires, sees it once, and revokes it', async () => {
  const { context, page, csp } = await signIn({ server, chromium }, 'admin');
  await page.goto(`${server.base}/admin`);
  await page.waitForSelector('body[data-hydrated=true]');
  await page.fill('#new-token-name', 'grafana');
  await page.selectOption('#new-token-scopes', 'read');
  await page.selectOption('#new-token-days', '90');
  await page.click('[data-test=create-token]');
  const secret = await page.locator('[data-test=new-token] code').textContent();
  assert.match(secret, /^af_[A-Za-z0-9_-]{40,}$/);
  const row = page.locator('tr[data-scopes="read"]', { hasText: 'grafana' });
  await row.waitFor();
  assert.match(await row.textContent(), /read.*Active/s);
  // The token reads alerts and may not send flows.
  const read = await fetch(`${server.base}/api/v1/alerts?limit=1`, { headers: { authorization: `Bearer ${secret}` } });
  assert.equal(read.status, 200);
  const send = await fetch(`${server.base}/api/v1/ingest/flows`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/x-ndjson' }, body: '{}' });
  assert.equal(send.status, 403);
  await row.locator('button', { hasText: 'Revoke' }).click();
  await page.locator('tr[data-scopes="read"]', { hasText: 'Revoked' }).waitFor();
  assert.equal((await fetch(`${server.base}/api/v1/alerts?limit=1`, { headers: { authorization: `Bearer ${secret}` } })).status, 401);
  assert.deepEqual(csp, []);
  await context.close();
});
