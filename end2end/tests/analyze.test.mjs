// /analyze in Chromium: an analyst uploads a Zeek conn.log (gzip) with a command-and-control beacon in
// it, watches the progress, reads the report (charts, the beacon finding, the riskiest flows), changes
// the scatter's axes, downloads the scored rows and the HTML report (which opens standalone, loading
// nothing), and imports the file as alerts, which then carry the file's name.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useServerAndBrowser, signIn, shots } from './harness.mjs';

const env = useServerAndBrowser(before, after);

/** A conn.log: 10.0.0.5 calls 66.63.168.35:8443 every minute for two hours, among ordinary web traffic. */
function connLog() {
  const fields = ['ts', 'uid', 'id.orig_h', 'id.orig_p', 'id.resp_h', 'id.resp_p', 'proto', 'service', 'duration',
    'orig_bytes', 'resp_bytes', 'conn_state', 'local_orig', 'local_resp', 'missed_bytes', 'history', 'orig_pkts',
    'orig_ip_bytes', 'resp_pkts', 'resp_ip_bytes', 'tunnel_parents'];
  const lines = ['#separator \\x09', `#fields\t${fields.join('\t')}`];
  const t0 = Math.floor(Date.now() / 1000) - 3 * 3600; // recent, so its alerts are in the last day
  for (let i = 0; i < 120; i++) {
    const ts = t0 + i * 60;
    lines.push([`${ts}.000000`, `Cb${i}`, '10.0.0.5', 40000 + i, '66.63.168.35', 8443, 'tcp', '-', '0.35', 310, 1200, 'SF',
      'T', 'F', 0, 'ShADadFf', 6, 630, 5, 1460, '-'].join('\t'));
    // Ordinary browsing between the beacons.
    for (let j = 0; j < 150; j++) {
      const k = i * 150 + j;
      lines.push([`${ts + 0.3 * j + 1}`, `Cw${k}`, `10.0.0.${20 + (k % 40)}`, 20000 + (k % 40000), `93.184.${k % 200}.${k % 250}`,
        443, 'tcp', 'ssl', `${(k % 17) / 3 + 0.1}`, 500 + (k % 3000), 20000 + (k % 90000), 'SF', 'T', 'F', 0, 'ShADadFf',
        8 + (k % 9), 1400 + (k % 3000), 20 + (k % 30), 30000 + (k % 90000), '-'].join('\t'));
    }
  }
  lines.push('this line is not a conn.log record');
  return lines.join('\n') + '\n';
}

test('an analyst analyses a file, reads the report, downloads it and imports it as alerts', async () => {
  const { server } = env;
  const dir = mkdtempSync(join(tmpdir(), 'af-analyze-'));
  const file = join(dir, 'branch-office.conn.log.gz');
  writeFileSync(file, gzipSync(connLog()));
  const { context, page, dialogs, csp } = await signIn(env, 'analyst');
  await page.goto(`${server.base}/analyze`);
  await page.waitForSelector('body[data-hydrated=true]');
  await page.locator('[data-test=analyses-empty]').waitFor();
  assert.match(await page.locator('[data-test=analyze-limits]').textContent(), /Up to .* a file/);
  await shots(page, 'analyze-empty');
  // Slow the upload so the progress is seen, and remember whether it was.
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 20, downloadThroughput: -1, uploadThroughput: 200 * 1024 });
  await page.evaluate(() => {
    window.__progress = [];
    new MutationObserver(() => {
      const p = document.querySelector('[data-test=analyze-progress]');
      if (p) window.__progress.push(p.textContent);
    }).observe(document.body, { childList: true, subtree: true, characterData: true });
  });
  await page.setInputFiles('[data-test=analyze-file]', file);
  await Promise.all([page.waitForURL(/\/analyze\/\d+$/, { timeout: 60_000 }), page.click('[data-test=analyze-submit]')]);
  const progress = await page.evaluate(() => window.__progress);
  assert.ok(progress.some((t) => /Reading and scoring: \d+ %/.test(t)), `progress shown: ${progress.slice(0, 5)}`);
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });

  // The report.
  await page.locator('[data-test=report-title]').waitFor();
  assert.match(await page.locator('[data-test=report-title]').textContent(), /branch-office\.conn\.log\.gz/);
  const figures = await page.locator('[data-test=report-figures]').textContent();
  assert.match(figures, /Records read\s*18,121/);
  assert.match(figures, /Rejected\s*1/);
  assert.ok(await page.locator('.chart-svg svg').count() >= 5, 'the charts are drawn');
  const findings = await page.locator('[data-test=findings]').textContent();
  assert.match(findings, /Command-and-control beacon/);
  assert.ok(await page.locator('[data-test=risky-row]').count() > 0);
  assert.match(await page.locator('[data-test=rejected]').textContent(), /line 18123/);
  assert.match(await page.locator('[data-test=model-comparison]').textContent(), /drift/);
  // The scatter follows the chosen axes.
  const before = await page.locator('[data-test=scatter] [role=img]').getAttribute('aria-label');
  await page.selectOption('[data-test=scatter-y]', 'Flow Bytes/s');
  await page.waitForFunction((b) => document.querySelector('[data-test=scatter] [role=img]').getAttribute('aria-label') !== b, before);
  assert.match(await page.locator('[data-test=scatter] [role=img]').getAttribute('aria-label'), /Flow Bytes\/s/);
  await shots(page, 'analyze-report');

  // Downloads: the scored rows, and the HTML report.
  const [csv] = await Promise.all([page.waitForEvent('download'), page.click('[data-test=download-csv]')]);
  const rows = readFileSync(await csv.path(), 'utf8').trim().split('\n');
  assert.match(rows[0], /^line,timestamp,src_ip,src_port,dst_ip/);
  assert.equal(rows.length, 18_120 + 1, 'every scored flow and the header');
  const [html] = await Promise.all([page.waitForEvent('download'), page.click('[data-test=download-html]')]);
  const htmlPath = join(dir, 'report.html');
  await html.saveAs(htmlPath);
  // It opens standalone: no request leaves the file, and the charts are in it.
  const offline = await env.chromium.browser.newContext();
  const requests = [];
  await offline.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('file://')) return route.continue();
    requests.push(url);
    return route.abort();
  });
  const standalone = await offline.newPage();
  await standalone.goto(`file://${htmlPath}`);
  assert.match(await standalone.title(), /branch-office\.conn\.log\.gz/);
  assert.ok(await standalone.locator('figure svg').count() >= 5);
  assert.match(await standalone.locator('body').textContent(), /Command-and-control beacon/);
  assert.deepEqual(requests, [], 'the report loads nothing');
  await shots(standalone, 'analyze-html-report');
  await offline.close();

  // Import as alerts: the beacon becomes an alert that names the file.
  await page.click('[data-test=import-alerts]');
  await page.locator('[data-test=import-state]', { hasText: /yes: \d+ alerts new/ }).waitFor({ timeout: 60_000 });
  await page.goto(`${server.base}/soc?range=24h&q=66.63.168.35`);
  await page.waitForSelector('body[data-hydrated=true]');
  const row = page.locator('[data-test=queue] tr[data-alert-id]', { hasText: 'beacon' }).first();
  await row.waitFor({ timeout: 30_000 });
  await row.locator('a').first().click();
  await page.locator('[data-test=detail-origin]').waitFor();
  assert.match(await page.locator('[data-test=detail-origin]').textContent(), /branch-office\.conn\.log\.gz/);

  // The list names it, imported.
  await page.goto(`${server.base}/analyze`);
  await page.waitForSelector('body[data-hydrated=true]');
  assert.match(await page.locator('[data-test=analysis-row]').first().textContent(), /branch-office\.conn\.log\.gz.*yes: \d+ alerts new/s);
  await shots(page, 'analyze-list');
  assert.deepEqual(dialogs, []);
  assert.deepEqual(csp, []);
  await context.close();
});

test('a file the analyser cannot read is answered with why, and nothing is kept', async () => {
  const { server } = env;
  const dir = mkdtempSync(join(tmpdir(), 'af-analyze-'));
  const file = join(dir, 'notes.txt');
  writeFileSync(file, 'meeting notes\nnothing to see\n');
  const { context, page } = await signIn(env, 'responder');
  await page.goto(`${server.base}/analyze`);
  await page.waitForSelector('body[data-hydrated=true]');
  await page.setInputFiles('[data-test=analyze-file]', file);
  await page.click('[data-test=analyze-submit]');
  const error = page.locator('[data-test=analyze-error]');
  await error.waitFor();
  assert.match(await error.textContent(), /cannot tell the file's format/);
  await page.locator('[data-test=analyses-empty]').waitFor();
  await shots(page, 'analyze-error');
  await context.close();
});
