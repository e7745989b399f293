// Responsiveness of the SOC console under a stream of alerts (not a test: a measurement, run by
// scripts/bench-soc-live.sh). A server replays recorded flows with deduplication off, so every
// detection is a new alert event; an analyst keeps /soc open in Chromium for SECONDS seconds while
//   - a second EventSource in the page counts the alert events the stream delivers per second,
//   - a PerformanceObserver records every long task (main thread busy > 50 ms),
//   - every second the analyst presses j and we time until the cursor row is highlighted.
// Prints one JSON object.
import { startServer, launchBrowser, account } from '../tests/harness.mjs';

const seconds = Number(process.env.SECONDS_MAX ?? 30);
const server = await startServer({
  AF_DEDUP_WINDOW_SECS: '0',
  AF_REPLAY__SPEED: process.env.REPLAY_SPEED ?? '600',
  AF_REPLAY__MAX_FLOWS_PER_SECOND: '2000',
});
const { browser, close } = await launchBrowser();
const page = await (await browser.newContext({ viewport: { width: 1600, height: 1000 } })).newPage();
await page.goto(`${server.base}/login`);
await page.waitForSelector('body[data-hydrated=true]');
const { username, password } = account('analyst');
await page.fill('input[name=username]', username);
await page.fill('input[name=password]', password);
await Promise.all([page.waitForURL(`${server.base}/soc`), page.click('[data-test=login-submit]')]);
await page.waitForSelector('body[data-hydrated=true]');
await page.locator('[data-test=queue] tr[data-alert-id]').first().waitFor({ timeout: 120_000 });

await page.evaluate(() => {
  window.__bench = { events: 0, longTasks: [] };
  new EventSource('/api/v1/stream').addEventListener('alert', () => { window.__bench.events += 1; });
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) window.__bench.longTasks.push(e.duration);
  }).observe({ type: 'longtask', buffered: false });
});

const keyLatencies = [];
const started = Date.now();
while (Date.now() - started < seconds * 1000) {
  await page.waitForTimeout(1000);
  const before = await page.evaluate(() => document.querySelector('[data-test=queue] tr.cursor')?.getAttribute('data-alert-id') ?? null);
  const t0 = Date.now();
  await page.keyboard.press(keyLatencies.length % 10 === 9 ? 'k' : 'j');
  await page.waitForFunction(
    (prev) => {
      const cur = document.querySelector('[data-test=queue] tr.cursor');
      return cur && cur.getAttribute('data-alert-id') !== prev;
    },
    before,
    { timeout: 5000, polling: 'raf' },
  ).catch(() => {});
  keyLatencies.push(Date.now() - t0);
}
const result = await page.evaluate(() => window.__bench);
const sorted = (a) => [...a].sort((x, y) => x - y);
const pct = (a, q) => (a.length ? sorted(a)[Math.min(a.length - 1, Math.floor(q * a.length))] : 0);
console.log(JSON.stringify({
  seconds,
  alert_events_per_second: Math.round(result.events / seconds),
  tail_items: await page.locator('[data-test=tail-item]').count(),
  long_tasks: result.longTasks.length,
  long_task_max_ms: Math.round(Math.max(0, ...result.longTasks)),
  long_task_total_ms: Math.round(result.longTasks.reduce((a, b) => a + b, 0)),
  keypress_to_cursor_ms: { p50: pct(keyLatencies, 0.5), p95: pct(keyLatencies, 0.95), max: Math.max(...keyLatencies) },
}));
await close();
await server.stop();
