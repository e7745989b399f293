// Starts a real AnomalyForge server (demo mode, fresh SQLite database in a temporary directory)
// and Debian's Chromium through playwright-core. Used by every browser test.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import net from 'node:net';
import { chromium } from 'playwright-core';

const root = resolve(import.meta.dirname, '..', '..');

function freePort() {
  return new Promise((ok, fail) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

export async function startServer(extraEnv = {}) {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'af-e2e-'));
  const bin = process.env.AF_SERVER_BIN ? resolve(root, process.env.AF_SERVER_BIN) : join(root, 'target', 'debug', 'anomalyforge-server');
  const proc = spawn(bin, [], {
    cwd: root,
    env: {
      ...process.env,
      AF_BIND: `127.0.0.1:${port}`,
      AF_DATA_DIR: dataDir,
      AF_DEMO: 'true',
      AF_SITE_ROOT: join(root, 'target', 'site'),
      RUST_LOG: process.env.RUST_LOG ?? 'warn',
      ...extraEnv,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`server exited with ${proc.exitCode}`);
    try {
      const res = await fetch(`${base}/healthz`);
      if (res.ok) break;
    } catch { /* not up yet */ }
    if (Date.now() > deadline) throw new Error('server did not become healthy within 30 s');
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    base,
    async stop() {
      proc.kill('SIGTERM');
      await new Promise((r) => (proc.exitCode !== null ? r() : proc.once('exit', r)));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

// playwright-core's launch() gives Chromium a fresh temporary profile (user-data dir) each time.
export async function launchBrowser() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
  return {
    browser,
    async close() {
      await browser.close();
    },
  };
}

// The demo accounts (see src/auth.rs bootstrap): demo.<role> / <role>-demo-pass.
export const ROLES = ['admin', 'analyst', 'responder', 'executive', 'employee'];
export const account = (role) => ({ username: `demo.${role}`, password: `${role}-demo-pass` });

// What each role may open (mirrors src/pages.rs; the test checks the UI against it).
export const PAGES = {
  '/soc': ['admin', 'analyst', 'responder'],
  '/hunt': ['admin', 'analyst', 'responder'],
  '/analyze': ['admin', 'analyst', 'responder'],
  '/intel': ['admin', 'analyst', 'responder'],
  '/playbooks': ['admin', 'analyst', 'responder'],
  '/report': ['admin', 'analyst', 'responder', 'executive', 'employee'],
  '/exec': ['admin', 'executive'],
  '/assets': ['admin', 'analyst'],
  '/models': ['admin', 'analyst'],
  '/admin': ['admin'],
};
export const HOME = { admin: '/soc', analyst: '/soc', responder: '/soc', executive: '/exec', employee: '/report' };

// Registers before/after hooks that start the demo server (with `extraEnv` added to its environment)
// and Chromium for a test file, and returns an object whose `server` and `chromium` are set once they run.
export function useServerAndBrowser(before, after, extraEnv = {}) {
  const ctx = { server: undefined, chromium: undefined };
  before(async () => {
    ctx.server = await startServer(extraEnv);
    ctx.chromium = await launchBrowser();
  });
  after(async () => {
    await ctx.chromium?.close();
    await ctx.server?.stop();
  });
  return ctx;
}

// A fresh browser context signed in as `role` through the login form, on the role's start page
// and hydrated. `dialogs` collects the message of every dialog (each is dismissed): a test that
// shows markup asserts it stays empty.
export async function signIn(env, role) {
  const { server, chromium } = env;
  const context = await chromium.browser.newContext();
  const page = await context.newPage();
  const dialogs = [];
  page.on('dialog', async (d) => {
    dialogs.push(d.message());
    await d.dismiss();
  });
  // Anything the Content-Security-Policy blocked (an inline script without the nonce, say).
  const csp = [];
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) csp.push(m.text());
  });
  await page.goto(`${server.base}/login`);
  await page.waitForSelector('body[data-hydrated=true]');
  const { username, password } = account(role);
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', password);
  await Promise.all([page.waitForURL(`${server.base}${HOME[role]}`), page.click('[data-test=login-submit]')]);
  await page.waitForSelector('body[data-hydrated=true]');
  return { context, page, dialogs, csp };
}

/** Signs `role` in through the plain login form in a context with JavaScript off (no WASM runs). */
export async function signInWithoutJs(env, role) {
  const { server, chromium } = env;
  const context = await chromium.browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(`${server.base}/login`);
  const { username, password } = account(role);
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', password);
  await Promise.all([page.waitForURL(`${server.base}${HOME[role]}`), page.click('[data-test=login-submit]')]);
  return { context, page };
}

// With SHOTS=<dir>, saves the page as <name>-desktop.png (1440 px) and <name>-phone.png (390 px),
// whole pages, then puts the viewport back.
export async function shots(page, name) {
  if (!process.env.SHOTS) return;
  for (const [tag, w, h] of [['desktop', 1440, 900], ['phone', 390, 844]]) {
    await page.setViewportSize({ width: w, height: h });
    await page.screenshot({ path: `${process.env.SHOTS}/${name}-${tag}.png`, fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 720 });
}
