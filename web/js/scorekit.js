// scorekit in the page: load a model module (the very .wasm file the server and the databases
// run) and score with it in the browser, no server round trip.
//
//   import * as scorekit from '/web/scorekit.js';
//   const model = await scorekit.load('/v1/models/churn/module');
//   model.score([{ state: 'IN', account_length: 65, ... }])  // {columns, values, rows}
//
// Everything that decides an answer — cells, row shapes, CSV, names, row numbers, timestamps,
// forecast gaps, streams, errors — is the shared host layer's (Rust, compiled into
// scorekit_web_bg.wasm); this file only shapes its answers for JavaScript. Errors are `Error`s
// named `ScorekitError` with the host layer's `code` (`bad_input`, ...) and `kind` (`client`, ...).

import initGlue, * as glue from './scorekit_web.js';

let booted;
/** Loads the host layer (once); every other call awaits it. */
export function ready() {
  booted ??= initGlue({ module_or_path: new URL('./scorekit_web_bg.wasm', import.meta.url) });
  return booted;
}

async function bytesOf(src) {
  if (src instanceof Uint8Array) return src;
  if (src instanceof ArrayBuffer) return new Uint8Array(src);
  if (ArrayBuffer.isView(src)) return new Uint8Array(src.buffer, src.byteOffset, src.byteLength);
  if (typeof Blob !== 'undefined' && src instanceof Blob) return new Uint8Array(await src.arrayBuffer());
  let res = src;
  if (!(typeof Response !== 'undefined' && src instanceof Response)) {
    try {
      res = await fetch(src);
    } catch (e) {
      throw glue.loadError('unavailable', `cannot fetch the model module ${src}: ${e.message}`);
    }
  }
  if (!res.ok) throw glue.loadError('unavailable', `cannot fetch the model module ${res.url}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

/** `{columns, values, rows}`: `values` flat (row-major), `rows` one array per row. */
function table(columns, values) {
  const width = columns.length || 1;
  const rows = [];
  for (let i = 0; i < values.length; i += width) rows.push(Array.from(values.subarray(i, i + width)));
  return { columns, values, rows };
}

/**
 * Loads a model module from a URL, a `Response`, a `Blob` or bytes. Options: `name` (the alias
 * its streams are kept under; default the schema's name), `nulls` (`missing`|`error`), `absent`
 * (`error`|`missing`), `gaps` (`fill`|`refuse`) — the host layer's input policies.
 */
export async function load(src, options = {}) {
  await ready();
  const bytes = await bytesOf(src);
  let compiled;
  try {
    compiled = await WebAssembly.compile(bytes);
  } catch (e) {
    throw glue.loadError('invalid', e.message);
  }
  return new Model(new glue.Model(compiled, bytes, options));
}

/** A loaded model. */
export class Model {
  #inner;

  constructor(inner) {
    this.#inner = inner;
    const info = inner.info();
    /** The module's description: schema, family, metrics, forecaster facts (docs/abi.md). */
    this.description = JSON.parse(info.descriptionJson);
    this.schema = this.description.schema;
    this.family = this.description.family;
    this.name = info.name;
    this.sha256 = info.sha256;
    this.size = info.size;
    this.outputs = info.outputs;
    this.terms = info.terms;
  }

  /** Scores rows: an array of objects (by input name) or arrays (schema order), or CSV text. */
  score(rows) {
    return table(this.outputs, this.#inner.score(rows));
  }

  /** Explains a row or rows: per input its contribution, then `bias` (GBT) or `total` (RCF). */
  explain(rows) {
    return table(this.terms, this.#inner.explain(rows));
  }

  /**
   * Forecasts from `history` (numbers, oldest first; null or NaN for missing). Options:
   * `horizon`, `quantiles` (default deciles), `start` or `timestamps`, `gaps`, `samples`, `seed`.
   * Answers `{horizon, mean, levels, quantiles: {level: values}, samples, filled, start}`.
   */
  forecast(history, options = {}) {
    return this.#inner.forecast(history, options);
  }

  /**
   * RCF stream `key` of this model, its state kept in `store` (`localStorage` by default,
   * `sessionStorage`, or `memory`).
   */
  stream(key, { store } = {}) {
    return new Stream(book(store), this, this.#inner, key);
  }
}

const books = new Map();
let flushTimer;

function book(store) {
  const name = store ?? defaultStore();
  if (!books.has(name)) books.set(name, new glue.Streams(name));
  return books.get(name);
}

function defaultStore() {
  try {
    new glue.Streams('localStorage');
    return 'localStorage';
  } catch {
    return 'memory';
  }
}

/** Saves every changed stream now: `{saved, failed}`. */
export function flush() {
  let saved = 0, failed = 0;
  for (const b of books.values()) {
    const [s, f] = b.flush();
    saved += s;
    failed += f;
  }
  return { saved, failed };
}

function flushSoon() {
  clearTimeout(flushTimer);
  flushTimer = setTimeout(flush, 1000);
}

if (typeof addEventListener === 'function') {
  addEventListener('pagehide', flush);
  addEventListener('visibilitychange', () => document.visibilityState === 'hidden' && flush());
}

/** One RCF stream: every reading it scores, it learns. */
export class Stream {
  #book;
  #model;
  #inner;

  constructor(b, model, inner, key) {
    this.#book = b;
    this.#model = model;
    this.#inner = inner;
    this.key = key;
  }

  #run(rows, op) {
    const out = this.#book.step(this.#inner, this.key, rows, op);
    if (op !== 'score') flushSoon();
    return { ...table(Array.from(out.columns), out.values), readings: out.readings, sha256: out.sha256, notice: out.notice };
  }

  /** Scores each reading, then learns it: columns score, grade, is_anomaly, threshold. */
  step(readings) {
    return this.#run(readings, 'learn');
  }

  /** Scores readings against the current state without learning them. */
  score(readings) {
    return this.#run(readings, 'score');
  }

  /** As `step`, with each reading's attribution (per input, then `total`) before it is learned. */
  explain(readings) {
    return this.#run(readings, 'explain');
  }

  /** The stream's state as a file (the server's state-file layout): a `Uint8Array`. */
  exportState() {
    return this.#book.exportState(this.#inner, this.key);
  }

  /** Replaces the stream's state with a file from `exportState` (or a server's state dir). */
  async importState(file) {
    const bytes = file instanceof Uint8Array ? file : new Uint8Array(await new Response(file).arrayBuffer());
    return this.#book.importState(this.#inner, this.key, bytes);
  }

  /** Forgets the stream (live and saved); the next step starts from the trained state. */
  delete() {
    return this.#book.delete(this.#model.name, this.key);
  }

  /** Saves the stream's state to its store now. */
  save() {
    return this.#book.flush();
  }
}

/** CSV text as `{header, records}`, read by the host layer's CSV reader. */
export async function readCsv(text) {
  await ready();
  return glue.readCsv(text);
}

/** Timestamps (text or Unix seconds) as Unix seconds, by the host layer's one parser. */
export async function parseTimestamps(values) {
  await ready();
  return glue.parseTimestamps(values);
}
