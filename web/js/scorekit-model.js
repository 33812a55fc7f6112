// <scorekit-model src="churn.wasm"> — a model module, scored in the page, rendered by family:
//   gbt       a form from the schema (numbers; selects with the known levels), the score live as
//             you type, a bar chart of the top TreeSHAP contributions;
//   rcf       a series (CSV pasted or loaded, or points pushed) streamed through the model: the
//             values with flagged readings and labelled windows, the score with its threshold;
//   forecast  history, mean and the p10–p90 band (a fan chart), the horizon adjustable.
// Attributes: src (the module), name (alias for streams), data (CSV: example rows or the series),
// windows (JSON [[start, end]] of labelled anomaly windows), example (row of `data` to show first).
// Every value shown comes from scorekit.js (the host layer); this file only draws.

import * as scorekit from './scorekit.js';
import { barChart, fanChart, fmt, seriesChart } from './charts.js';

const STYLE = `
:host { display: block; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d2433; }
* { box-sizing: border-box; }
.card { background: #fff; border: 1px solid #e3e7ef; border-radius: 14px; padding: 20px 22px; box-shadow: 0 1px 3px rgb(20 30 60 / 6%); }
header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 10px 14px; margin-bottom: 14px; }
h2 { margin: 0; font-size: 1.35rem; }
.badge { font-size: .75rem; font-weight: 600; letter-spacing: .04em; text-transform: uppercase; padding: 2px 9px; border-radius: 999px; background: #eef2ff; color: #3d4fc4; }
.meta { color: #667085; font-size: .85rem; }
code { font: .82rem ui-monospace, SFMono-Regular, Menlo, monospace; }
.grid { display: grid; grid-template-columns: minmax(280px, 1fr) minmax(300px, 1.2fr); gap: 22px; }
@media (max-width: 820px) { .grid { grid-template-columns: 1fr; } }
form.inputs { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 8px 12px; }
.field { display: flex; flex-direction: column; gap: 2px; min-width: 0; }
label { font-size: .78rem; color: #475467; font-weight: 550; }
input, select, textarea, button { font: inherit; font-size: .9rem; }
input, select, textarea { border: 1px solid #cfd5e1; border-radius: 7px; padding: 5px 8px; background: #fbfcfe; color: inherit; width: 100%; }
input:focus-visible, select:focus-visible, textarea:focus-visible, button:focus-visible { outline: 3px solid #8aa0ff; outline-offset: 1px; }
[aria-invalid="true"] { border-color: #d92d20; background: #fff6f5; }
.msg { color: #b42318; font-size: .75rem; min-height: 0; }
.msg:empty { display: none; }
button { border: 1px solid #3d4fc4; background: #3d4fc4; color: #fff; border-radius: 7px; padding: 5px 12px; cursor: pointer; }
button.quiet { background: #fff; color: #3d4fc4; }
.row { display: flex; flex-wrap: wrap; gap: 8px 14px; align-items: end; margin: 10px 0; }
.row .field { min-width: 130px; }
.result { display: flex; flex-direction: column; gap: 6px; }
.big { font-size: 3rem; font-weight: 700; line-height: 1; letter-spacing: -.02em; font-variant-numeric: tabular-nums; }
.big.high { color: #c4320a; } .big.low { color: #067647; }
.gauge { height: 10px; border-radius: 99px; background: #eaecf0; overflow: hidden; }
.gauge > div { height: 100%; background: linear-gradient(90deg, #12b76a, #f79009 55%, #d92d20); border-radius: 99px; transition: width .15s; }
.exact { font: .8rem ui-monospace, monospace; color: #475467; }
.error { color: #b42318; background: #fff6f5; border: 1px solid #fecdca; border-radius: 8px; padding: 8px 12px; }
.error:empty { display: none; }
.summary { margin: 6px 0 10px; color: #344054; }
.summary strong { font-variant-numeric: tabular-nums; }
svg.chart { width: 100%; height: auto; display: block; }
svg .axis { stroke: #98a2b3; } svg .grid { stroke: #eef0f4; }
svg .tick { fill: #667085; font-size: 11px; } svg .label { fill: #344054; font-size: 12px; } svg .value { fill: #475467; font-size: 11px; }
svg .panel { fill: #475467; font-size: 11px; font-weight: 600; }
svg .bar.up { fill: #f97066; } svg .bar.down { fill: #53b1fd; }
svg .line { fill: none; stroke-width: 1.3; stroke-linejoin: round; }
svg .line.value { stroke: #344054; } svg .line.score { stroke: #6172f3; } svg .line.threshold { stroke: #f79009; stroke-dasharray: 4 3; }
svg .line.mean { stroke: #3d4fc4; stroke-width: 2; } svg .line.actual { stroke: #98a2b3; stroke-dasharray: 3 3; }
svg .band { fill: #6172f3; opacity: .2; } svg .origin { stroke: #98a2b3; stroke-dasharray: 2 3; }
svg .step { fill: #3d4fc4; } svg .flag { fill: #d92d20; stroke: #fff; stroke-width: 1; } svg .window { fill: #fedf89; opacity: .45; }
.legend { display: flex; flex-wrap: wrap; gap: 14px; font-size: .8rem; color: #475467; margin-top: 4px; }
.legend i { display: inline-block; width: 14px; height: 3px; vertical-align: middle; margin-right: 5px; border-radius: 2px; }
details { margin-top: 10px; } summary { cursor: pointer; color: #3d4fc4; font-size: .9rem; }
table { border-collapse: collapse; font-size: .8rem; margin-top: 6px; font-variant-numeric: tabular-nums; }
td, th { padding: 2px 10px; text-align: right; border-bottom: 1px solid #f0f1f4; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
`;

let uid = 0;

function h(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c);
  return e;
}

function field(label, control, msgId) {
  const id = control.id || (control.id = `f${++uid}`);
  return h('div', { class: 'field' }, h('label', { for: id, text: label }), control, msgId ? h('small', { class: 'msg', id: msgId }) : null);
}

async function fetchText(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res.text();
}

/** The column a model message names (`row 1, column 'x': …`), for putting it next to its field. */
function columnOf(message) {
  return /column '([^']+)'/.exec(message)?.[1];
}

export class ScorekitModel extends HTMLElement {
  #root;
  #started = false;
  model = null;

  constructor() {
    super();
    this.#root = this.attachShadow({ mode: 'open' });
  }

  connectedCallback() {
    if (this.#started) return;
    this.#started = true;
    this.#load();
  }

  async #load() {
    const card = h('section', { class: 'card', 'aria-busy': 'true' }, h('p', { class: 'meta', text: `Loading ${this.getAttribute('src')} …` }));
    this.#root.replaceChildren(h('style', { text: STYLE }), card);
    try {
      const options = this.hasAttribute('name') ? { name: this.getAttribute('name') } : {};
      this.model = await scorekit.load(this.getAttribute('src'), options);
      const m = this.model;
      const kind = { gbt: 'classifier', rcf: 'anomaly detector', forecast: 'forecaster' }[m.family] ?? m.family;
      card.replaceChildren(
        h('header', {},
          h('h2', { text: m.schema.name }),
          h('span', { class: 'badge', text: `${m.family} · ${kind}` }),
          h('span', { class: 'meta' }, h('code', { title: `module SHA-256 ${m.sha256}`, text: `sha256 ${m.sha256.slice(0, 12)}…` }), ` · ${(m.size / 1024).toFixed(0)} KB, scored in this page`)),
      );
      const body = h('div');
      card.append(body);
      if (m.family === 'gbt') await this.#classifier(body);
      else if (m.family === 'rcf') await this.#anomaly(body);
      else if (m.family === 'forecast') await this.#forecaster(body);
      card.removeAttribute('aria-busy');
      this.dispatchEvent(new CustomEvent('scorekit-ready', { bubbles: true }));
    } catch (e) {
      card.replaceChildren(h('p', { class: 'error', role: 'alert', text: `${e.name === 'ScorekitError' ? `${e.code}: ` : ''}${e.message}` }));
      card.removeAttribute('aria-busy');
      this.dispatchEvent(new CustomEvent('scorekit-error', { bubbles: true, detail: e }));
    }
  }

  // ---- classifier ----------------------------------------------------------------------------

  async #classifier(body) {
    const m = this.model;
    const controls = new Map();
    const form = h('form', { class: 'inputs', 'aria-label': `inputs of ${m.schema.name}`, onsubmit: (e) => e.preventDefault() });
    for (const f of m.schema.inputs) {
      const msgId = `m${++uid}`;
      let control;
      if (f.kind?.categorical) {
        control = h('select', { name: f.name, 'aria-describedby': msgId },
          h('option', { value: '', text: '(missing)' }),
          f.kind.categorical.levels.map((l) => h('option', { value: l, text: l })));
      } else {
        control = h('input', { name: f.name, type: 'text', inputmode: 'decimal', autocomplete: 'off', spellcheck: 'false', 'aria-describedby': msgId, placeholder: 'missing' });
      }
      controls.set(f.name, { control, msg: null, msgId });
      form.append(field(f.name.replaceAll('_', ' '), control, msgId));
    }
    for (const c of controls.values()) c.msg = form.querySelector(`#${c.msgId}`);
    const positive = m.schema.positive_label;
    const what = m.schema.target ? `P(${m.schema.target}${positive ? ` = ${positive}` : ''})` : m.outputs[0];
    const big = h('div', { class: 'big', text: '—' });
    const gauge = h('div', { class: 'gauge', role: 'presentation' }, h('div', { style: 'width:0%' }));
    const exact = h('output', { class: 'exact', 'data-score': '', 'aria-label': `${m.outputs[0]}, exact` });
    const problem = h('p', { class: 'error', role: 'alert' });
    const bars = h('figure', { style: 'margin:8px 0 0' });
    const result = h('div', { class: 'result', 'aria-live': 'polite' },
      h('div', { class: 'meta', text: what }), big, gauge, exact, problem, bars);

    const read = () => {
      const row = {};
      for (const [name, { control }] of controls) {
        const v = control.value.trim();
        row[name] = v === '' ? null : v;
      }
      return row;
    };
    const update = () => {
      for (const c of controls.values()) { c.msg.textContent = ''; c.control.removeAttribute('aria-invalid'); }
      problem.textContent = '';
      try {
        const row = read();
        const p = m.score([row]).values[0];
        const ex = m.explain([row]);
        big.textContent = `${(p * 100).toFixed(1)}%`;
        big.className = `big ${p >= 0.5 ? 'high' : 'low'}`;
        gauge.firstChild.style.width = `${(p * 100).toFixed(1)}%`;
        exact.value = String(p);
        exact.textContent = `${m.outputs[0]} = ${p}`;
        exact.dataset.score = String(p);
        const terms = ex.columns;
        const base = terms[terms.length - 1];
        const items = terms.slice(0, -1).map((t, i) => ({ label: t.replaceAll('_', ' '), value: ex.values[i] }))
          .filter((i) => i.value !== 0).sort((a, b) => Math.abs(b.value) - Math.abs(a.value)).slice(0, 8);
        bars.replaceChildren(
          barChart(items, { title: `Top contributions to ${what}`, unit: `TreeSHAP, log-odds (${base} ${fmt(ex.values[terms.length - 1])})` }),
          h('figcaption', { class: 'meta', text: `Red pushes ${what} up, blue pushes it down; the ${base} and all terms sum to the log-odds.` }));
      } catch (e) {
        big.textContent = '—';
        big.className = 'big';
        gauge.firstChild.style.width = '0%';
        exact.value = '';
        exact.textContent = '';
        exact.dataset.score = '';
        bars.replaceChildren();
        const c = controls.get(columnOf(e.message));
        if (c) {
          c.msg.textContent = e.message.replace(/^row \d+, column '[^']+': /, '');
          c.control.setAttribute('aria-invalid', 'true');
        } else problem.textContent = e.message;
      }
    };
    form.addEventListener('input', update);
    form.addEventListener('change', update);

    const parts = [form];
    const data = this.getAttribute('data');
    if (data) {
      const { header, records } = await scorekit.readCsv(await fetchText(data));
      const fill = (i) => {
        const rec = records[i];
        for (const [name, { control }] of controls) {
          const at = header.indexOf(name);
          if (at >= 0) control.value = rec[at] ?? '';
        }
        update();
      };
      const pick = h('input', { type: 'number', min: 1, max: records.length, value: this.getAttribute('example') ?? 1, style: 'width:7em' });
      parts.unshift(h('div', { class: 'row' },
        field(`example row of ${data.split('/').pop()} (1–${records.length})`, pick),
        h('button', { type: 'button', class: 'quiet', text: 'Load example', onclick: () => fill(Math.min(records.length, Math.max(1, +pick.value || 1)) - 1) })));
      fill(Math.min(records.length, Math.max(1, +pick.value || 1)) - 1);
    } else update();
    body.append(h('div', { class: 'grid' }, h('div', {}, ...parts), result));
  }

  // ---- anomaly detector ----------------------------------------------------------------------

  async #anomaly(body) {
    const m = this.model;
    const input = m.schema.inputs[0].name;
    const stream = m.stream(this.getAttribute('stream') ?? `page-${m.schema.name}`);
    const state = { xs: [], values: [], scores: [], thresholds: [], flagged: [], isTime: false, windows: [] };
    const summary = h('p', { class: 'summary', 'aria-live': 'polite' });
    const problem = h('p', { class: 'error', role: 'alert' });
    const figure = h('figure', { style: 'margin:0' });
    const flaggedTable = h('tbody');

    const draw = () => {
      const n = state.xs.length;
      const nFlag = state.flagged.filter(Boolean).length;
      const hit = state.windows.filter(([a, b]) => state.xs.some((x, i) => state.flagged[i] && x >= a && x <= b)).length;
      summary.replaceChildren(
        h('strong', { text: n.toLocaleString('en') }), ' readings · ',
        h('strong', { text: nFlag.toLocaleString('en') }), ' flagged',
        state.windows.length ? ` · labelled windows with a flag: ${hit} of ${state.windows.length}` : '');
      figure.replaceChildren(
        seriesChart(state, { title: `${m.schema.name}: ${input} and anomaly score`, valueLabel: input }),
        h('div', { class: 'legend' },
          h('span', {}, h('i', { style: 'background:#344054' }), input),
          h('span', {}, h('i', { style: 'background:#d92d20;height:7px;width:7px;border-radius:50%' }), 'flagged'),
          h('span', {}, h('i', { style: 'background:#6172f3' }), 'score'),
          h('span', {}, h('i', { style: 'background:#f79009' }), 'threshold'),
          state.windows.length ? h('span', {}, h('i', { style: 'background:#fedf89;height:10px' }), 'labelled window') : null));
      const rows = [];
      for (let i = 0; i < n && rows.length < 200; i++) {
        if (!state.flagged[i]) continue;
        const x = state.isTime ? new Date(state.xs[i] * 1000).toISOString().slice(0, 16).replace('T', ' ') : state.xs[i];
        rows.push(h('tr', {}, h('td', { text: x }), h('td', { text: fmt(state.values[i]) }), h('td', { text: fmt(state.scores[i]) }), h('td', { text: fmt(state.thresholds[i]) })));
      }
      flaggedTable.replaceChildren(...rows);
    };
    const take = (result, xs, values) => {
      const w = result.columns.length;
      for (let i = 0; i < xs.length; i++) {
        state.xs.push(xs[i]);
        state.values.push(values[i]);
        state.scores.push(result.values[i * w]);
        state.flagged.push(result.values[i * w + 2] === 1);
        state.thresholds.push(result.values[i * w + 3]);
      }
    };
    const load = async (text) => {
      problem.textContent = '';
      try {
        const { header, records } = await scorekit.readCsv(text);
        const at = header.indexOf(input);
        if (at < 0) throw new Error(`the CSV has no column '${input}' (columns: ${header.join(', ')})`);
        const values = records.map((r) => Number(r[at]));
        let xs = records.map((_, i) => i + 1);
        let isTime = false;
        const tcol = this.getAttribute('time-column') ?? header.find((c, i) => i !== at && !m.schema.inputs.some((f) => f.name === c));
        if (tcol && header.includes(tcol)) {
          try {
            xs = Array.from(await scorekit.parseTimestamps(records.map((r) => r[header.indexOf(tcol)])));
            isTime = true;
          } catch { /* not timestamps: readings are numbered */ }
        }
        stream.delete();
        const result = stream.step(text);
        Object.assign(state, { xs: [], values: [], scores: [], thresholds: [], flagged: [], isTime });
        take(result, xs, values);
        draw();
      } catch (e) {
        problem.textContent = e.message;
      }
    };

    const paste = h('textarea', { rows: 4, placeholder: `${input}\n1.5\n1.7\n…  (a header naming '${input}'; an optional timestamp column)` });
    const file = h('input', { type: 'file', accept: '.csv,text/csv' });
    file.addEventListener('change', async () => file.files[0] && load(await file.files[0].text()));
    const point = h('input', { type: 'text', inputmode: 'decimal', autocomplete: 'off' });
    const pushForm = h('form', { class: 'row', onsubmit: (e) => {
      e.preventDefault();
      problem.textContent = '';
      try {
        const result = stream.step([{ [input]: point.value }]);
        const n = state.xs.length;
        const step = n > 1 ? state.xs[n - 1] - state.xs[n - 2] : 1;
        take(result, [n ? state.xs[n - 1] + step : 1], [Number(point.value)]);
        draw();
        point.select();
      } catch (err) {
        problem.textContent = err.message;
      }
    } }, field(`push a reading (${input})`, point), h('button', { type: 'submit', text: 'Push' }));
    const stateFile = h('input', { type: 'file', accept: '.state,application/octet-stream' });
    stateFile.addEventListener('change', async () => {
      if (!stateFile.files[0]) return;
      try {
        const info = await stream.importState(stateFile.files[0]);
        problem.textContent = '';
        summary.textContent = `Loaded a state of ${info.readings.toLocaleString('en')} readings (module ${info.sha256.slice(0, 12)}…): the next reading continues from it.`;
      } catch (e) {
        problem.textContent = e.message;
      }
    });
    const controls = h('div', {},
      h('div', { class: 'row' }, pushForm,
        h('button', { type: 'button', class: 'quiet', text: 'Download state', onclick: () => {
          try {
            const bytes = stream.exportState();
            const a = h('a', { href: URL.createObjectURL(new Blob([bytes])), download: `${m.name}-${stream.key}.state` });
            a.click();
            setTimeout(() => URL.revokeObjectURL(a.href), 1000);
          } catch (e) { problem.textContent = e.message; }
        } }),
        field('load a state file', stateFile)),
      h('details', {}, h('summary', { text: 'Score another series (paste or load CSV)' }),
        field('series CSV', paste),
        h('div', { class: 'row' }, h('button', { type: 'button', text: 'Score pasted series', onclick: () => load(paste.value) }), field('or load a CSV file', file))));
    body.append(controls, problem, summary, figure,
      h('details', {}, h('summary', { text: 'Flagged readings (first 200)' }),
        h('table', {}, h('thead', {}, h('tr', {}, ['when', input, 'score', 'threshold'].map((t) => h('th', { text: t })))), flaggedTable)));

    const windows = this.getAttribute('windows');
    if (windows) {
      const list = JSON.parse(await fetchText(windows));
      const ts = Array.from(await scorekit.parseTimestamps(list.flat()));
      state.windows = list.map((_, i) => [ts[2 * i], ts[2 * i + 1]]);
    }
    const data = this.getAttribute('data');
    if (data) await load(await fetchText(data));
    else draw();
  }

  // ---- forecaster ----------------------------------------------------------------------------

  async #forecaster(body) {
    const m = this.model;
    const d = m.description;
    const maxH = d.max_horizon ?? 24;
    const series = { xs: [], ys: [], stamps: [], isTime: false };
    const horizon = h('input', { type: 'range', min: 1, max: maxH, value: +(this.getAttribute('horizon') ?? maxH) });
    const horizonOut = h('output', {});
    const origin = h('input', { type: 'range', min: 1, max: 1, value: 1 });
    const originOut = h('output', {});
    const summary = h('p', { class: 'summary', 'aria-live': 'polite' });
    const problem = h('p', { class: 'error', role: 'alert' });
    const figure = h('figure', { style: 'margin:0' });
    const tbody = h('tbody');
    const shown = 7 * 24;

    const draw = () => {
      problem.textContent = '';
      const n = series.ys.length;
      if (!n) { summary.textContent = 'No history yet: load or paste a series.'; return; }
      const o = +origin.value;
      const H = +horizon.value;
      const period = d.period_seconds ?? (series.isTime && n > 1 ? series.xs[1] - series.xs[0] : 1);
      horizonOut.textContent = `${H} step${H > 1 ? 's' : ''}${series.isTime ? ` (${fmtSpan(H * period)})` : ''}`;
      originOut.textContent = series.isTime ? new Date(series.xs[o - 1] * 1000).toISOString().slice(0, 16).replace('T', ' ') : `value ${o}`;
      const from = Math.max(0, o - Math.max(d.min_history ?? 0, 1000));
      try {
        const options = { horizon: H, quantiles: [0.1, 0.5, 0.9] };
        if (series.isTime) options.timestamps = series.stamps.slice(from, o);
        const f = m.forecast(series.ys.slice(from, o), options);
        const last = series.xs[o - 1];
        const fxs = Array.from({ length: f.horizon }, (_, i) => last + (i + 1) * period);
        const [lo, mid, hi] = f.levels;
        const view = Math.max(0, o - shown);
        figure.replaceChildren(
          fanChart({
            history: { xs: series.xs.slice(view, o), ys: series.ys.slice(view, o) },
            forecast: { xs: fxs, mean: Array.from(f.mean), lo: Array.from(f.quantiles[lo]), hi: Array.from(f.quantiles[hi]), loLabel: `p${+lo * 100}`, hiLabel: `p${+hi * 100}` },
            actual: o < n ? { xs: series.xs.slice(o - 1, o + f.horizon), ys: series.ys.slice(o - 1, o + f.horizon) } : null,
            isTime: series.isTime,
          }, { title: `${m.schema.name}: forecast of ${f.horizon} steps`, valueLabel: this.getAttribute('value-label') ?? 'value' }),
          h('div', { class: 'legend' },
            h('span', {}, h('i', { style: 'background:#344054' }), 'history'),
            h('span', {}, h('i', { style: 'background:#3d4fc4' }), 'mean'),
            h('span', {}, h('i', { style: 'background:#6172f3;opacity:.35;height:10px' }), `p${+lo * 100}–p${+hi * 100}`),
            o < n ? h('span', {}, h('i', { style: 'background:#98a2b3' }), 'what happened') : null));
        summary.replaceChildren('Mean over the next ', h('strong', { text: `${f.horizon}` }), ` steps: ${fmt(Math.min(...f.mean))} to ${fmt(Math.max(...f.mean))}; p10–p90 band ${fmt(f.quantiles[lo][0])}–${fmt(f.quantiles[hi][0])} at the first step`, f.filled ? ` (${f.filled} missing steps filled)` : '', '.');
        tbody.replaceChildren(...fxs.map((x, i) => h('tr', {},
          h('td', { text: series.isTime ? new Date(x * 1000).toISOString().slice(0, 16).replace('T', ' ') : i + 1 }),
          h('td', { text: fmt(f.quantiles[lo][i]) }), h('td', { text: fmt(f.mean[i]) }), h('td', { text: fmt(f.quantiles[mid][i]) }), h('td', { text: fmt(f.quantiles[hi][i]) }))));
      } catch (e) {
        figure.replaceChildren();
        tbody.replaceChildren();
        summary.textContent = '';
        problem.textContent = e.message;
      }
    };
    const load = async (text) => {
      problem.textContent = '';
      try {
        const { header, records } = await scorekit.readCsv(text);
        const vcol = this.getAttribute('value-column') ?? header[header.length - 1];
        const vi = header.indexOf(vcol);
        const ti = header.findIndex((c, i) => i !== vi);
        series.ys = records.map((r) => (r[vi] === '' ? NaN : Number(r[vi])));
        series.isTime = false;
        series.xs = records.map((_, i) => i + 1);
        if (ti >= 0) {
          try {
            series.stamps = records.map((r) => r[ti]);
            series.xs = Array.from(await scorekit.parseTimestamps(series.stamps));
            series.isTime = true;
          } catch { /* no timestamps: values are numbered */ }
        }
        if (!this.hasAttribute('value-label')) this.setAttribute('value-label', vcol);
        origin.min = Math.min(series.ys.length, Math.max(1, d.min_history ?? 1));
        origin.max = series.ys.length;
        origin.value = series.ys.length;
        draw();
      } catch (e) {
        problem.textContent = e.message;
      }
    };
    horizon.addEventListener('input', draw);
    origin.addEventListener('input', draw);
    const paste = h('textarea', { rows: 4, placeholder: 'timestamp,value\n2014-01-01T00:00:00Z,7460\n…' });
    const file = h('input', { type: 'file', accept: '.csv,text/csv' });
    file.addEventListener('change', async () => file.files[0] && load(await file.files[0].text()));
    body.append(
      h('div', { class: 'row' },
        h('div', { class: 'field', style: 'min-width:240px' }, h('label', { for: horizon.id = `f${++uid}`, text: 'horizon' }), horizon, horizonOut),
        h('div', { class: 'field', style: 'min-width:240px' }, h('label', { for: origin.id = `f${++uid}`, text: 'forecast from' }), origin, originOut)),
      problem, summary, figure,
      h('details', {}, h('summary', { text: 'Forecast table' }),
        h('table', {}, h('thead', {}, h('tr', {}, ['when', 'p10', 'mean', 'p50', 'p90'].map((t) => h('th', { text: t })))), tbody)),
      h('details', {}, h('summary', { text: 'Forecast another series (paste or load CSV)' }),
        field('series CSV (timestamp, value)', paste),
        h('div', { class: 'row' }, h('button', { type: 'button', text: 'Forecast pasted series', onclick: () => load(paste.value) }), field('or load a CSV file', file))));
    const data = this.getAttribute('data');
    if (data) await load(await fetchText(data));
    else draw();
  }
}

function fmtSpan(seconds) {
  if (seconds % 86400 === 0) return `${seconds / 86400} d`;
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  return `${Math.round(seconds / 60)} min`;
}

customElements.define('scorekit-model', ScorekitModel);
