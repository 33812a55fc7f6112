// SVG charts drawn by the component: a bar chart of signed contributions, a two-panel series
// chart (values with flagged readings and labelled windows; scores with the threshold) and a fan
// chart (history, mean and a quantile band). No library: three charts need a few hundred lines,
// stay crisp at any zoom, print, and are readable by screen readers (role="img" + a title and a
// description written from the data).

const NS = 'http://www.w3.org/2000/svg';

function el(name, attrs = {}, parent) {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) e.setAttribute(k, v);
  if (parent) parent.appendChild(e);
  return e;
}

function svgRoot(width, height, title, desc) {
  const svg = el('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', class: 'chart' });
  const id = `c${Math.random().toString(36).slice(2, 9)}`;
  el('title', { id: `${id}-t` }, svg).textContent = title;
  el('desc', { id: `${id}-d` }, svg).textContent = desc;
  svg.setAttribute('aria-labelledby', `${id}-t ${id}-d`);
  return svg;
}

/** "Nice" tick values covering [lo, hi]. */
export function ticks(lo, hi, count = 5) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toPrecision(12));
  return out;
}

export function fmt(v) {
  const a = Math.abs(v);
  if (a >= 1e6 || (a > 0 && a < 1e-3)) return v.toExponential(1);
  if (a >= 1e4) return Math.round(v).toLocaleString('en');
  return +v.toPrecision(4) + '';
}

function scale(d0, d1, r0, r1) {
  const k = d1 === d0 ? 0 : (r1 - r0) / (d1 - d0);
  return (v) => r0 + (v - d0) * k;
}

function extent(values) {
  let lo = Infinity, hi = -Infinity;
  for (const v of values) if (Number.isFinite(v)) { if (v < lo) lo = v; if (v > hi) hi = v; }
  if (lo === Infinity) return [0, 1];
  if (lo === hi) return [lo - 1, hi + 1];
  const pad = (hi - lo) * 0.05;
  return [lo - pad, hi + pad];
}

/** A path through (xs[i], ys[i]), reduced to a min/max pair per pixel column; NaN breaks it. */
function linePath(xs, ys, sx, sy) {
  let d = '', col = NaN, lo = 0, hi = 0, pen = false;
  const flush = () => {
    if (Number.isNaN(col)) return;
    d += `${pen ? 'L' : 'M'}${col.toFixed(1)},${sy(lo).toFixed(1)}`;
    if (hi !== lo) d += `L${col.toFixed(1)},${sy(hi).toFixed(1)}`;
    pen = true;
  };
  for (let i = 0; i < xs.length; i++) {
    const y = ys[i];
    if (!Number.isFinite(y)) { flush(); col = NaN; pen = false; continue; }
    const c = Math.round(sx(xs[i]) * 2) / 2;
    if (c !== col) { flush(); col = c; lo = hi = y; } else { lo = Math.min(lo, y); hi = Math.max(hi, y); }
  }
  flush();
  return d;
}

function timeLabel(t, span) {
  const d = new Date(t * 1000);
  const iso = d.toISOString();
  return span > 3 * 86400 ? iso.slice(5, 10) : iso.slice(5, 16).replace('T', ' ');
}

function xAxis(g, xs, sx, y, isTime, count = 6) {
  const [lo, hi] = [xs[0], xs[xs.length - 1]];
  const span = hi - lo;
  let values;
  if (isTime) {
    const steps = [3600, 6 * 3600, 86400, 2 * 86400, 7 * 86400, 14 * 86400, 30 * 86400];
    const step = steps.find((s) => span / s <= count) ?? 60 * 86400;
    values = [];
    for (let t = Math.ceil(lo / step) * step; t <= hi; t += step) values.push(t);
  } else values = ticks(lo, hi, count);
  for (const v of values) {
    const x = sx(v);
    el('line', { x1: x, x2: x, y1: y, y2: y + 4, class: 'axis' }, g);
    el('text', { x, y: y + 15, 'text-anchor': 'middle', class: 'tick' }, g).textContent = isTime ? timeLabel(v, span) : fmt(v);
  }
}

function yAxis(g, lo, hi, sy, x, width) {
  for (const v of ticks(lo, hi, 4)) {
    const y = sy(v);
    el('line', { x1: x, x2: x + width, y1: y, y2: y, class: 'grid' }, g);
    el('text', { x: x - 6, y: y + 4, 'text-anchor': 'end', class: 'tick' }, g).textContent = fmt(v);
  }
}

/**
 * Horizontal bars of signed contributions, largest magnitude first. `items`: [{label, value}].
 */
export function barChart(items, { title, unit = '', width = 520 } = {}) {
  // Room for the longest label (about 6.8 px a character at 12 px).
  const row = 24, right = 70, top = 8;
  const left = Math.min(280, Math.max(120, 16 + 6.8 * Math.max(0, ...items.map((i) => i.label.length))));
  const height = top + items.length * row + 26;
  const max = Math.max(1e-12, ...items.map((i) => Math.abs(i.value)));
  const desc = items.map((i) => `${i.label}: ${i.value >= 0 ? '+' : ''}${fmt(i.value)}`).join('; ');
  const svg = svgRoot(width, height, title, `${unit ? unit + '. ' : ''}${desc}`);
  const mid = left + (width - left - right) / 2;
  const half = (width - left - right) / 2;
  el('line', { x1: mid, x2: mid, y1: top - 4, y2: top + items.length * row, class: 'axis' }, svg);
  items.forEach((item, i) => {
    const y = top + i * row;
    const w = (Math.abs(item.value) / max) * half;
    const pos = item.value >= 0;
    el('rect', { x: pos ? mid : mid - w, y: y + 4, width: Math.max(w, 1), height: row - 8, rx: 3, class: pos ? 'bar up' : 'bar down' }, svg);
    el('text', { x: left - 10, y: y + row / 2 + 4, 'text-anchor': 'end', class: 'label' }, svg).textContent = item.label;
    el('text', { x: pos ? mid + w + 5 : mid - w - 5, y: y + row / 2 + 4, 'text-anchor': pos ? 'start' : 'end', class: 'value' }, svg).textContent =
      `${pos ? '+' : '−'}${fmt(Math.abs(item.value))}`;
  });
  el('text', { x: mid, y: height - 6, 'text-anchor': 'middle', class: 'tick' }, svg).textContent = unit;
  return svg;
}

/**
 * A series and its anomaly scores. `xs` (Unix seconds when `isTime`), `values`, `scores`,
 * `thresholds`, `flagged` (booleans), `windows` ([[t0, t1]], shaded).
 */
export function seriesChart({ xs, values, scores, thresholds, flagged, windows = [], isTime = true }, { title, valueLabel = 'value', width = 900 } = {}) {
  const left = 56, right = 12, top = 10, gap = 34, h1 = 190, h2 = 110;
  const height = top + h1 + gap + h2 + 24;
  const n = xs.length;
  const nFlag = flagged.filter(Boolean).length;
  const svg = svgRoot(width, height, title,
    `${n} readings, ${nFlag} flagged as anomalies${windows.length ? `, ${windows.length} labelled windows shaded` : ''}. Top: ${valueLabel}; bottom: anomaly score and threshold.`);
  if (!n) return svg;
  const sx = scale(xs[0], xs[n - 1] === xs[0] ? xs[0] + 1 : xs[n - 1], left, width - right);
  const [v0, v1] = extent(values);
  const sy1 = scale(v0, v1, top + h1, top);
  const [s0, s1] = extent([...scores, ...thresholds]);
  const sy2 = scale(Math.min(0, s0), s1, top + h1 + gap + h2, top + h1 + gap);
  for (const [a, b] of windows) {
    const xa = Math.max(left, sx(a)), xb = Math.min(width - right, sx(b));
    if (xb > xa) el('rect', { x: xa, y: top, width: xb - xa, height: h1 + gap + h2, class: 'window' }, svg);
  }
  yAxis(svg, v0, v1, sy1, left, width - left - right);
  yAxis(svg, Math.min(0, s0), s1, sy2, left, width - left - right);
  el('path', { d: linePath(xs, values, sx, sy1), class: 'line value' }, svg);
  el('path', { d: linePath(xs, scores, sx, sy2), class: 'line score' }, svg);
  el('path', { d: linePath(xs, thresholds, sx, sy2), class: 'line threshold' }, svg);
  const dots = el('g', { class: 'flags' }, svg);
  for (let i = 0; i < n; i++) {
    if (flagged[i]) el('circle', { cx: sx(xs[i]).toFixed(1), cy: sy1(values[i]).toFixed(1), r: 3.5, class: 'flag', 'data-x': xs[i] }, dots);
  }
  xAxis(svg, xs, sx, top + h1 + gap + h2, isTime);
  el('text', { x: left + 4, y: top + 12, class: 'panel' }, svg).textContent = valueLabel;
  el('text', { x: left + 4, y: top + h1 + gap + 12, class: 'panel' }, svg).textContent = 'anomaly score · threshold';
  return svg;
}

/**
 * History and forecast: `history` {xs, ys}, forecast {xs, mean, lo, hi, loLabel, hiLabel},
 * optional `actual` {xs, ys} after the origin.
 */
export function fanChart({ history, forecast, actual, isTime = true }, { title, valueLabel = 'value', width = 900 } = {}) {
  const left = 60, right = 12, top = 10, h = 260;
  const height = top + h + 28;
  const h0 = forecast.xs.length;
  const svg = svgRoot(width, height, title,
    `${history.xs.length} past values and a forecast of ${h0} steps: mean from ${fmt(forecast.mean[0])} to ${fmt(forecast.mean[h0 - 1])}, band ${forecast.loLabel}–${forecast.hiLabel}.`);
  const xs = [...history.xs, ...forecast.xs];
  const sx = scale(xs[0], xs[xs.length - 1], left, width - right);
  const [v0, v1] = extent([...history.ys, ...forecast.lo, ...forecast.hi, ...(actual?.ys ?? [])]);
  const sy = scale(v0, v1, top + h, top);
  yAxis(svg, v0, v1, sy, left, width - left - right);
  const origin = sx(forecast.xs[0]);
  el('line', { x1: origin, x2: origin, y1: top, y2: top + h, class: 'origin' }, svg);
  let band = '';
  for (let i = 0; i < h0; i++) band += `${i ? 'L' : 'M'}${sx(forecast.xs[i]).toFixed(1)},${sy(forecast.hi[i]).toFixed(1)}`;
  for (let i = h0 - 1; i >= 0; i--) band += `L${sx(forecast.xs[i]).toFixed(1)},${sy(forecast.lo[i]).toFixed(1)}`;
  el('path', { d: band + 'Z', class: 'band' }, svg);
  el('path', { d: linePath(history.xs, history.ys, sx, sy), class: 'line value' }, svg);
  if (actual?.xs.length) el('path', { d: linePath(actual.xs, actual.ys, sx, sy), class: 'line actual' }, svg);
  const last = history.xs.length - 1;
  const meanXs = [history.xs[last], ...forecast.xs];
  const meanYs = [history.ys[last], ...forecast.mean];
  el('path', { d: linePath(meanXs, meanYs, sx, sy), class: 'line mean' }, svg);
  const steps = el('g', { class: 'steps' }, svg);
  for (let i = 0; i < h0; i++) el('circle', { cx: sx(forecast.xs[i]).toFixed(1), cy: sy(forecast.mean[i]).toFixed(1), r: 1.6, class: 'step' }, steps);
  xAxis(svg, xs, sx, top + h, isTime);
  el('text', { x: left + 4, y: top + 12, class: 'panel' }, svg).textContent = valueLabel;
  return svg;
}
