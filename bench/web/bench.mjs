// Benchmark of the browser host (a script, not a test; figures in docs/web.md):
//   node bench/web/bench.mjs HOST_BINARY [ROWS=5000] [REPEAT=5]
// Starts `host serve` with the demo models (trained into a scratch directory), opens the demo
// page's scripts in headless Chromium (Debian's, through web/node_modules/playwright-core) and
// reports, in one run on one machine:
//   * bytes shipped: the page's scripts and the host layer's glue (raw and gzip -9), and the model module;
//   * time to first score: a fresh page, import scorekit.js, fetch + compile + check the churn
//     module, score one row (median of REPEAT fresh pages);
//   * rows/s scoring ROWS churn rows in the page (one call, rows as objects), against the same
//     module in `host score` (CSV in and out, process start included, and the same with
//     `--explain` off: both score every row in the module), best of REPEAT.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../../web/package.json', import.meta.url));
const { chromium } = require('playwright-core');
const [bin, rowsArg = '5000', repeatArg = '5'] = process.argv.slice(2);
if (!bin) {
  console.error('usage: node bench/web/bench.mjs HOST_BINARY [ROWS] [REPEAT]');
  process.exit(2);
}
const ROWS = Number(rowsArg), REPEAT = Number(repeatArg);
const work = mkdtempSync(join(tmpdir(), 'scorekit-bench-web-'));
const models = join(work, 'models');

const child = spawn(bin, ['serve', '--models', models, '--demo', '--no-state', '--port', '0', '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'inherit'] });
const base = await new Promise((resolve, reject) => {
  let buf = '';
  child.stdout.on('data', (d) => {
    buf += d;
    const m = /listening on (\S+)/.exec(buf);
    if (m) resolve(m[1].startsWith('http') ? m[1] : `http://${m[1]}`);
  });
  child.on('exit', (code) => reject(new Error(`host serve exited (${code}): ${buf}`)));
});

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (n) => Math.round(n).toLocaleString('en');
try {
  // Bytes: what the demo page loads besides the demo data.
  console.log('bytes shipped (raw / gzip -9):');
  let raw = 0, gz = 0;
  for (const f of ['scorekit.js', 'scorekit-model.js', 'charts.js', 'scorekit_web.js', 'scorekit_web_bg.wasm']) {
    const body = Buffer.from(await (await fetch(`${base}/web/${f}`)).arrayBuffer());
    const z = gzipSync(body, { level: 9 }).length;
    raw += body.length;
    gz += z;
    console.log(`  ${f.padEnd(22)} ${fmt(body.length).padStart(9)} / ${fmt(z).padStart(8)}`);
  }
  console.log(`  ${'JS + glue Wasm'.padEnd(22)} ${fmt(raw).padStart(9)} / ${fmt(gz).padStart(8)}`);
  const module = Buffer.from(await (await fetch(`${base}/v1/models/churn/module`)).arrayBuffer());
  console.log(`  ${'churn.wasm (the model)'.padEnd(22)} ${fmt(module.length).padStart(9)} / ${fmt(gzipSync(module, { level: 9 }).length).padStart(8)}`);

  // The rows: the first ROWS rows of the demo churn data (repeated if it has fewer).
  const csv = readFileSync(new URL('../../data/demo/churn.csv', import.meta.url), 'utf8').trim().split('\n');
  const header = csv[0].split(',');
  const inputs = JSON.parse(execFileSync(bin, ['inspect', join(models, 'churn.wasm'), '--json'])).schema.inputs.map((f) => f.name);
  const lines = Array.from({ length: ROWS }, (_, i) => csv[1 + (i % (csv.length - 1))]);
  const objects = lines.map((l) => {
    const cells = l.split(',');
    return Object.fromEntries(inputs.map((name) => [name, cells[header.indexOf(name)]]));
  });
  const input = join(work, 'rows.csv');
  writeFileSync(input, `${inputs.join(',')}\n${lines.map((l) => { const c = l.split(','); return inputs.map((n) => c[header.indexOf(n)]).join(','); }).join('\n')}\n`);

  const browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'scorekit-bench-chromium-')), {
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const firsts = [];
    let pageRates = [], pageScores;
    for (let r = 0; r < REPEAT; r++) {
      const page = await browser.newPage();
      await page.goto(`${base}/ping`);
      const out = await page.evaluate(async ({ row, objects }) => {
        const t0 = performance.now();
        const sk = await import('/web/scorekit.js');
        const m = await sk.load('/v1/models/churn/module');
        m.score([row]);
        const first = performance.now() - t0;
        const t1 = performance.now();
        const s = m.score(objects);
        const batch = performance.now() - t1;
        return { first, batch, scores: Array.from(s.values) };
      }, { row: objects[0], objects });
      firsts.push(out.first);
      pageRates.push(ROWS / (out.batch / 1000));
      pageScores = out.scores;
      await page.close();
    }
    const hostRates = [];
    let hostOut;
    for (let r = 0; r < REPEAT; r++) {
      const t0 = process.hrtime.bigint();
      hostOut = execFileSync(bin, ['score', join(models, 'churn.wasm'), '--input', input], { maxBuffer: 1 << 28 }).toString();
      hostRates.push(ROWS / (Number(process.hrtime.bigint() - t0) / 1e9));
    }
    const outLines = hostOut.trim().split('\n');
    const at = outLines[0].split(',').indexOf('probability');
    const hostScores = outLines.slice(1).map((l) => Number(l.split(',')[at]));
    const same = hostScores.length === pageScores.length && hostScores.every((v, i) => v === pageScores[i]);
    const page = Math.max(...pageRates), host = Math.max(...hostRates);
    console.log(`time to first score (a new page: import, fetch + compile + check the module, one row): first ${firsts[0].toFixed(1)} ms, median ${median(firsts).toFixed(1)} ms of ${REPEAT} (later pages share the profile's HTTP and code caches)`);
    console.log(`scoring ${fmt(ROWS)} churn rows, best of ${REPEAT}:`);
    console.log(`  in the page (rows as objects, one call)    ${fmt(page).padStart(10)} rows/s`);
    console.log(`  host score (CSV file, process included)    ${fmt(host).padStart(10)} rows/s`);
    console.log(`  page / host score                          ${(page / host).toFixed(2)}x`);
    console.log(`  same scores, bit for bit: ${same}`);
  } finally {
    await browser.close();
  }
} finally {
  child.kill('SIGTERM');
}
