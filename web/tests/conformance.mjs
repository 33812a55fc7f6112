// The browser host of the conformance suite (tests/conformance/src/hosts/browser.rs runs it):
// serves web/dist (what host serve embeds) and the suite's modules on a loopback port, opens one headless
// Chromium page, runs every case there with /web/scorekit.js, and prints the raw answers as one
// JSON array on stdout (the Rust side turns them into outcomes and compares them with the
// golden ones).
//   node web/tests/conformance.mjs DIR     DIR/cases.json, DIR/modules/NAME.wasm

import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const dir = process.argv[2];
const web = fileURLToPath(new URL('..', import.meta.url));
const cases = JSON.parse(await readFile(join(dir, 'cases.json'), 'utf8'));
const TYPES = { js: 'text/javascript', wasm: 'application/wasm', html: 'text/html' };

const server = createServer(async (req, res) => {
  const path = new URL(req.url, 'http://x').pathname;
  const name = path.split('/').pop();
  const candidates = path === '/' ? [join(web, 'demo', 'blank.html')]
    : path.startsWith('/web/') ? [join(web, 'dist', name)]
    : path.startsWith('/modules/') ? [join(dir, 'modules', name)] : [];
  for (const file of candidates) {
    try {
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': TYPES[file.split('.').pop()] ?? 'application/octet-stream' });
      res.end(body);
      return;
    } catch { /* next */ }
  }
  res.writeHead(404).end();
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}`;

// A fresh profile every run (Playwright passes it as --user-data-dir).
const browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'scorekit-conformance-')), {
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage();
  await page.goto(`${base}/`);
  const answers = await page.evaluate(async (cases) => {
    const sk = await import('/web/scorekit.js');
    const loaded = new Map();
    const model = async (module, policy, name) => {
      const key = JSON.stringify([module, policy, name]);
      if (!loaded.has(key)) loaded.set(key, await sk.load(`/modules/${module}.wasm`, { ...policy, name }));
      return loaded.get(key);
    };
    const out = [];
    for (const c of cases) {
      try {
        if (c.op === 'score' || c.op === 'explain') {
          const m = await model(c.model, c.policy, c.model);
          const t = m[c.op](c.csv ?? c.rows);
          out.push({ ok: { columns: t.columns, rows: t.rows }, sha256: [m.sha256] });
        } else if (c.op === 'score_only') {
          const m = await model(c.model, c.policy, c.model);
          const t = m.stream(c.id, { store: 'memory' }).score(c.rows);
          out.push({ ok: { columns: t.columns, rows: t.rows }, sha256: [m.sha256] });
        } else if (c.op === 'stream' || c.op === 'stream_explain') {
          const steps = c.steps.length ? c.steps : [{ module: c.model, rows: c.rows }];
          const done = [];
          for (const s of steps) {
            const m = await model(s.module, c.policy, c.model);
            const stream = m.stream(c.id, { store: 'memory' });
            const t = c.op === 'stream' ? stream.step(s.rows) : stream.explain(s.rows);
            done.push({ columns: t.columns, rows: t.rows, readings: t.readings, notice: t.notice, sha256: t.sha256, module: m.sha256 });
          }
          out.push({ ok: { steps: done }, sha256: done.map((d) => d.module) });
        } else if (c.op === 'forecast') {
          const m = await model(c.model, c.policy, c.model);
          const f = c.forecast;
          const opts = { quantiles: f.quantiles };
          if (f.horizon != null) opts.horizon = f.horizon;
          if (f.timestamps) opts.timestamps = f.timestamps;
          if (f.gaps) opts.gaps = f.gaps;
          const r = m.forecast(f.values, opts);
          out.push({ ok: { mean: Array.from(r.mean), quantiles: r.levels.map((l) => Array.from(r.quantiles[l])) }, sha256: [m.sha256] });
        } else out.push({ harness: `unknown op ${c.op}` });
      } catch (e) {
        out.push(e.name === 'ScorekitError' ? { error: { code: e.code, kind: e.kind, message: e.message } } : { harness: `${e.name}: ${e.message}` });
      }
    }
    return out;
  }, cases);
  process.stdout.write(JSON.stringify(answers));
} finally {
  await browser.close();
  server.close();
}
