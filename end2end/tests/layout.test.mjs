// Every page as a user sees it, at 1440 px (desktop) and 390 px (a phone), in demo mode with its
// history: no page scrolls sideways, and no error element is shown empty (an error box appears only
// with its error). With SHOTS=<dir> each page is saved at both widths.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser, signIn } from './harness.mjs';

const env = useServerAndBrowser(before, after);

const WIDTHS = [1440, 390];
// Every route of app/src/shell.rs, by the role that opens it.
const PAGES = {
  admin: ['/soc', '/soc/incidents', '/soc/response', '/soc/reports', '/soc/rules', '/hunt', '/hunt/ioc?value=192.168.10.50', '/analyze', '/intel',
    '/playbooks', '/assets', '/models', '/admin', '/admin/notifications', '/account', '/api/docs'],
  executive: ['/exec'],
  employee: ['/report'],
};

async function check(page, path, problems) {
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 900 });
    const found = await page.evaluate(() => {
      const root = document.documentElement;
      const wide = [...document.querySelectorAll('body *')]
        .filter((el) => el.getBoundingClientRect().right > root.clientWidth + 1)
        .filter((el) => !el.closest('.panel') || getComputedStyle(el.closest('.panel')).overflowX === 'visible')
        .slice(0, 3)
        .map((el) => `${el.tagName.toLowerCase()}.${String(el.className?.baseVal ?? el.className).split(' ')[0]}`);
      const empty = [...document.querySelectorAll('.error, [role=alert]')]
        .filter((el) => el.getClientRects().length > 0 && el.textContent.trim() === '')
        .map((el) => el.outerHTML.slice(0, 120));
      return { overflow: root.scrollWidth - root.clientWidth, wide, empty };
    });
    if (found.overflow > 0) problems.push(`${path} at ${width} px scrolls sideways by ${found.overflow} px (${found.wide.join(', ')})`);
    for (const e of found.empty) problems.push(`${path} at ${width} px shows an empty error element: ${e}`);
    if (process.env.SHOTS) {
      const name = path.slice(1).replace(/[/?=]/g, '-') || 'home';
      await page.screenshot({ path: `${process.env.SHOTS}/layout-${name}-${width}.png`, fullPage: true });
    }
  }
}

for (const [role, paths] of Object.entries(PAGES)) {
  test(`${role}: every page fits 1440 px and 390 px and shows no empty error`, async () => {
    const { context, page } = await signIn(env, role);
    const problems = [];
    for (const path of paths) {
      const res = await page.goto(`${env.server.base}${path}`);
      assert.equal(res.status(), 200, path);
      // /api/docs is plain HTML (no WASM); the app's pages are checked once hydrated.
      if (!path.startsWith('/api/')) await page.waitForSelector('body[data-hydrated=true]');
      // The page's data has arrived ("Loading …" placeholders are gone).
      await page.waitForFunction(() => !/Loading/.test(document.body.innerText), null, { timeout: 15_000 });
      await check(page, path, problems);
    }
    assert.deepEqual(problems, []);
    await context.close();
  });
}

test('signed out: the login page fits both widths', async () => {
  const context = await env.chromium.browser.newContext();
  const page = await context.newPage();
  await page.goto(`${env.server.base}/login`);
  await page.waitForSelector('body[data-hydrated=true]');
  const problems = [];
  await check(page, '/login', problems);
  assert.deepEqual(problems, []);
  await context.close();
});
