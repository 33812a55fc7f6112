// The demo page: one <scorekit-model> per served model, with the demo data of the demo models
// (GET /web/demo/… when `host serve` runs with them).
const DEMO = {
  churn: { data: '/web/demo/churn.csv', example: '11' },
  anomaly: { data: '/web/demo/machine_temperature.csv', windows: '/web/demo/machine_temperature.windows.json' },
  forecast: { data: '/web/demo/electricity_hourly.csv', 'value-label': 'demand (MW)', horizon: '48' },
};
const ORDER = { gbt: 0, rcf: 1, forecast: 2 };

async function available(url) {
  try {
    return (await fetch(url, { method: 'HEAD' })).ok;
  } catch {
    return false;
  }
}

async function main() {
  const status = document.getElementById('status');
  const main = document.getElementById('models');
  let list;
  try {
    const res = await fetch('/v1/models');
    list = (await res.json()).models;
  } catch (e) {
    status.textContent = `Cannot list the models: ${e.message}`;
    return;
  }
  if (!list.length) {
    status.textContent = 'This server serves no models yet (host serve --models DIR).';
    return;
  }
  list.sort((a, b) => (ORDER[a.family] ?? 9) - (ORDER[b.family] ?? 9) || a.name.localeCompare(b.name));
  let pending = list.length;
  const done = () => {
    pending -= 1;
    if (!pending) {
      status.textContent = `${list.length} model${list.length > 1 ? 's' : ''} loaded into this page; scoring now happens here.`;
      document.body.dataset.ready = 'true';
    }
  };
  for (const m of list) {
    const el = document.createElement('scorekit-model');
    el.setAttribute('src', `/v1/models/${encodeURIComponent(m.name)}/module`);
    el.setAttribute('name', m.name);
    el.id = `model-${m.name}`;
    for (const [k, v] of Object.entries(DEMO[m.name] ?? {})) {
      if (k !== 'data' && k !== 'windows') el.setAttribute(k, v);
      else if (await available(v)) el.setAttribute(k, v);
    }
    el.addEventListener('scorekit-ready', done, { once: true });
    el.addEventListener('scorekit-error', done, { once: true });
    main.append(el);
  }
}

main();
