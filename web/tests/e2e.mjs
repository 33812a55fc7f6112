// End-to-end tests of the browser host in real headless Chromium (Debian's /usr/bin/chromium,
// driven by playwright-core): the demo page of `host serve`, with the demo models.
//   node web/tests/e2e.mjs HOST_BINARY WORK_DIR SHOTS_DIR
// WORK_DIR holds the demo models (trained there on first use). Prints one line per check and a
// closing `N passed, N failed`; exits 1 on any failure.

import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const [bin, work, shots] = process.argv.slice(2);
if (!bin || !work || !shots) {
  console.error('usage: node web/tests/e2e.mjs HOST_BINARY WORK_DIR SHOTS_DIR');
  process.exit(2);
}
mkdirSync(shots, { recursive: true });
const models = join(work, 'models');
mkdirSync(models, { recursive: true });

let passed = 0, failed = 0;
function check(name, ok, detail = '') {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? ` — ${detail}` : ''}`);
}

// The seed example row (README, PostgreSQL docs): area_code spelled as the demo model's schema
// spells its levels.
const SEED = ['IN', '65', 'area_code_415', 'no', 'no', '0', '129.1', '137', '21.95', '228.5', '83', '19.42', '208.8', '111', '9.4', '12.7', '6', '3.43', '4'];

function startServer() {
  const child = spawn(bin, ['serve', '--models', models, '--demo', '--no-state', '--port', '0', '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d;
      const m = /listening on (\S+)/.exec(buf);
      if (m) resolve({ child, base: m[1].startsWith('http') ? m[1] : `http://${m[1]}` });
    });
    child.on('exit', (code) => reject(new Error(`host serve exited (${code}) before listening: ${buf}`)));
  });
}

/** What `host score` answers for one CSV row of the churn model (the reference). */
function hostScore(row) {
  const header = JSON.parse(execFileSync(bin, ['inspect', join(models, 'churn.wasm'), '--json'])).schema.inputs.map((f) => f.name);
  const dir = mkdtempSync(join(tmpdir(), 'scorekit-e2e-'));
  const csv = join(dir, 'row.csv');
  writeFileSync(csv, `${header.join(',')}\n${row.join(',')}\n`);
  const out = execFileSync(bin, ['score', join(models, 'churn.wasm'), '--input', csv]).toString().trim().split('\n');
  const cols = out[0].split(',');
  return out[1].split(',')[cols.indexOf('probability')];
}

const { child, base } = await startServer();
let serverAlive = true;
let browser;
try {
  // A fresh profile every run (Playwright passes it as --user-data-dir).
  browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'scorekit-chromium-')), {
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
  });
  const page = await browser.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  const requests = [];
  page.on('request', (r) => requests.push(r.url()));
  // The module endpoint: the very file in the models directory, its SHA-256 as the ETag.
  const mod = await fetch(`${base}/v1/models/churn/module`);
  const bytes = Buffer.from(await mod.arrayBuffer());
  const sha = createHash('sha256').update(bytes).digest('hex');
  const again = await fetch(`${base}/v1/models/churn/module`, { headers: { 'if-none-match': mod.headers.get('etag') } });
  const missing = await fetch(`${base}/v1/models/nosuch/module`);
  const noAsset = await fetch(`${base}/web/nosuch.js`);
  check('GET /v1/models/churn/module: the module file, ETag its SHA-256, 304 when unchanged, 404 for an unknown model or asset',
    bytes.equals(readFileSync(join(models, 'churn.wasm'))) && mod.headers.get('etag') === `"${sha}"` && mod.headers.get('content-type') === 'application/wasm'
      && again.status === 304 && missing.status === 404 && noAsset.status === 404,
    `${bytes.length} bytes, etag ${mod.headers.get('etag')}, then ${again.status}, ${missing.status}, ${noAsset.status}`);
  const t0 = Date.now();
  await page.goto(`${base}/`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 180_000 });
  check('the demo page loads all three models', (await page.locator('scorekit-model').count()) === 3, `in ${Date.now() - t0} ms`);
  const churn = page.locator('#model-churn');
  const anomaly = page.locator('#model-anomaly');
  const forecast = page.locator('#model-forecast');
  for (const [name, el] of [['churn', churn], ['anomaly', anomaly], ['forecast', forecast]]) {
    check(`${name}: no load error`, (await el.locator('.error:not(:empty)').count()) === 0, await el.locator('.error').allTextContents().then((t) => t.join(' ')));
  }
  await page.screenshot({ path: join(shots, 'page.png'), fullPage: true });

  // Classifier: the seed row, typed into the form, scores exactly what `host score` says.
  const inputs = JSON.parse(execFileSync(bin, ['inspect', join(models, 'churn.wasm'), '--json'])).schema.inputs;
  async function fillRow(values) {
    for (const [i, f] of inputs.entries()) {
      const control = churn.locator(`[name="${f.name}"]`);
      if (f.kind?.categorical) await control.selectOption(values[i]);
      else await control.fill(values[i]);
    }
  }
  await fillRow(SEED);
  const expected = hostScore(SEED);
  const shown = await churn.locator('output[data-score]').getAttribute('data-score');
  check('churn: the seed row scores what host score says, to the last digit', shown !== '' && Number(shown) === Number(expected), `page ${shown}, host score ${expected}`);
  const bars = await churn.locator('svg rect.bar').count();
  check('churn: a bar chart of the top TreeSHAP contributions', bars >= 3 && bars <= 8, `${bars} bars`);
  await churn.screenshot({ path: join(shots, 'churn.png') });

  // Invalid input: an inline message next to the field, and no score.
  await churn.locator('[name="account_length"]').fill('sixty');
  const msg = (await churn.locator('[name="account_length"] + .msg').textContent()) ?? '';
  const invalid = await churn.locator('[name="account_length"]').getAttribute('aria-invalid');
  const noScore = await churn.locator('output[data-score]').getAttribute('data-score');
  check('churn: invalid input shows an inline message at its field and no score', msg.includes('sixty') && invalid === 'true' && noScore === '', `message "${msg}", score "${noScore}"`);
  await churn.screenshot({ path: join(shots, 'churn-invalid.png') });
  await churn.locator('[name="account_length"]').fill('65');

  // Anomaly: the demo series, streamed through the model in the page, is flagged inside its
  // labelled windows.
  const windows = JSON.parse(readFileSync(new URL('../../data/demo/machine_temperature.windows.json', import.meta.url)));
  const bounds = windows.map(([a, b]) => [Date.parse(a.replace(' ', 'T') + 'Z') / 1000, Date.parse(b.replace(' ', 'T') + 'Z') / 1000]);
  const flags = (await anomaly.locator('circle.flag').evaluateAll((cs) => cs.map((c) => Number(c.dataset.x))));
  const inWindow = bounds.map(([a, b]) => flags.filter((x) => x >= a && x <= b).length);
  const shaded = await anomaly.locator('rect.window').count();
  check('anomaly: the chart flags readings inside most labelled windows of the demo series',
    inWindow.filter((n) => n > 0).length >= Math.ceil(windows.length / 2) && shaded === windows.length,
    `${flags.length} flagged; per window ${inWindow.join(', ')}; ${shaded} windows shaded`);
  // The same readings `host score` flags, streaming the same series through the same module
  // (a generous deadline: a 4096-reading chunk can take over the default 1 s beside Chromium on a
  // loaded 2-core machine).
  const series = readFileSync(new URL('../../data/demo/machine_temperature.csv', import.meta.url), 'utf8').trim().split('\n');
  const scored = execFileSync(bin, ['score', join(models, 'anomaly.wasm'), '--deadline-ms', '60000', '--input', fileURLToPath(new URL('../../data/demo/machine_temperature.csv', import.meta.url))], { maxBuffer: 1 << 28 }).toString().trim().split('\n');
  const flagAt = scored[0].split(',').indexOf('is_anomaly');
  const hostFlags = scored.slice(1).flatMap((l, i) => (l.split(',')[flagAt] === '1' ? [Date.parse(series[i + 1].split(',')[0].replace(' ', 'T') + 'Z') / 1000] : []));
  check('anomaly: the page flags exactly the readings host score flags', hostFlags.length > 0 && JSON.stringify(hostFlags) === JSON.stringify(flags),
    `page ${flags.length}, host score ${hostFlags.length}`);
  await anomaly.screenshot({ path: join(shots, 'anomaly.png') });

  // Forecaster: the horizon set with the keyboard; the fan chart has that many steps.
  const horizon = forecast.locator('input[type="range"]').first();
  await horizon.focus();
  await page.keyboard.press('Home');
  for (let i = 0; i < 23; i++) await page.keyboard.press('ArrowRight');
  const steps = await forecast.locator('svg .steps circle').count();
  const band = await forecast.locator('svg path.band').count();
  check('forecast: the fan chart renders the requested horizon (24, set by keyboard)', steps === 24 && band === 1, `${steps} steps, ${band} band`);
  await forecast.screenshot({ path: join(shots, 'forecast.png') });

  // Offline: stop the server; the page keeps scoring.
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  serverAlive = false;
  const reachable = await page.evaluate(async () => { try { await fetch('/ping'); return true; } catch { return false; } });
  check('the server is stopped', !reachable);
  const before = requests.length;
  const changed = [...SEED];
  changed[18] = '1';
  await churn.locator('[name="number_customer_service_calls"]').fill('1');
  const offline = await churn.locator('output[data-score]').getAttribute('data-score');
  const expectedOffline = hostScore(changed);
  check('offline: the form still scores, exactly as host score', offline !== '' && Number(offline) === Number(expectedOffline), `page ${offline}, host score ${expectedOffline}`);
  const count = async () => Number((await anomaly.locator('.summary strong').first().textContent()).replaceAll(',', ''));
  const readingsBefore = await count();
  await anomaly.locator('form.row input').fill('140');
  await anomaly.locator('form.row button').click();
  const readingsAfter = await count();
  check('offline: a pushed reading is scored by the stream', readingsAfter === readingsBefore + 1, `${readingsBefore} → ${readingsAfter} readings`);
  await horizon.focus();
  await page.keyboard.press('End');
  const stepsAfter = await forecast.locator('svg .steps circle').count();
  check('offline: the horizon can still be changed (48)', stepsAfter === 48, `${stepsAfter} steps`);
  check('offline: nothing was fetched after the server stopped', requests.length === before, `${requests.length - before} requests`);
  await page.screenshot({ path: join(shots, 'page-offline.png'), fullPage: true });
  check('no uncaught errors in the page', pageErrors.length === 0, pageErrors.join(' | '));
} catch (e) {
  check('the end-to-end run', false, e.stack);
} finally {
  await browser?.close();
  if (serverAlive) child.kill('SIGTERM');
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
