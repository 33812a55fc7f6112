//! Forecast benchmark: scorekit-forecast vs seasonal naive, augurs (MSTL + AutoETS) and the
//! statsforecast forecasts written by `statsforecast_peers.py`, on hourly vic_elec, taylor and
//! bank_calls, over rolling origins. `prep DIR` writes the hourly series; `eval DIR` runs the Rust
//! models, reads the Python forecasts and prints a Markdown table.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::time::Instant;

use augurs::ets::AutoETS;
use augurs::mstl::MSTLModel;
use augurs::prelude::*;
use scorekit_forecast::metrics::{interval_coverage, mase, weighted_quantile_loss};
use scorekit_forecast::{ForecastParams, ForecastRequest, train};

const H: usize = 48;
/// Rolling origins for the main run (statsforecast is run on these).
const WINDOWS: usize = 10;
const TRAIN_LEN: usize = 1344;
const DATA: &str = "/work/shared/data/forecast";

struct Series {
    name: &'static str,
    y: Vec<f64>,
    ts: Option<Vec<i64>>,
    /// Daily and weekly period in steps.
    periods: [usize; 2],
}

/// One model's forecast for one origin.
struct Fc {
    mean: Vec<f64>,
    q10: Vec<f64>,
    q50: Vec<f64>,
    q90: Vec<f64>,
    seconds: f64,
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DDTHH:MM:SSZ` → unix seconds.
fn parse_time(s: &str) -> i64 {
    let n = |a: usize, b: usize| s[a..b].parse::<i64>().expect("timestamp digits");
    days_from_civil(n(0, 4), n(5, 7), n(8, 10)) * 86_400 + n(11, 13) * 3600 + n(14, 16) * 60 + n(17, 19)
}

fn rows(file: &str) -> Vec<Vec<String>> {
    let text = fs::read_to_string(Path::new(DATA).join(file)).expect("data file");
    text.lines().skip(1).map(|l| l.split(',').map(str::to_string).collect()).collect()
}

fn load() -> Vec<Series> {
    // vic_elec: half-hourly UTC → hourly sums.
    let mut hourly: BTreeMap<i64, (f64, u32)> = BTreeMap::new();
    for r in rows("vic_elec.csv") {
        let e = hourly.entry(parse_time(&r[0]).div_euclid(3600)).or_default();
        e.0 += r[1].parse::<f64>().unwrap();
        e.1 += 1;
    }
    assert!(hourly.values().all(|v| v.1 == 2), "vic_elec: every hour has two half-hours");
    let vic = Series {
        name: "vic_elec",
        y: hourly.values().map(|v| v.0).collect(),
        ts: Some(hourly.keys().map(|h| h * 3600).collect()),
        periods: [24, 168],
    };
    // taylor: half-hourly from Monday 2000-06-05 00:00 (local time, labelled as UTC) → hourly sums.
    let t: Vec<f64> = rows("taylor.csv").iter().map(|r| r[1].parse::<f64>().unwrap()).collect();
    let ty: Vec<f64> = t.chunks_exact(2).map(|c| c[0] + c[1]).collect();
    let start = days_from_civil(2000, 6, 5) * 86_400;
    let taylor = Series {
        name: "taylor",
        ts: Some((0..ty.len()).map(|i| start + 3600 * i as i64).collect()),
        y: ty,
        periods: [24, 168],
    };
    // bank_calls: 5-minute counts 07:00-21:00 on weekdays → hourly sums over 07-20h (14 per day;
    // the lone 21:00 reading is dropped). Nights and weekends are absent, so the series is
    // business-hours only: daily period 14, weekly 70, and no regular timestamps.
    let mut bank: BTreeMap<(String, u32), (f64, u32)> = BTreeMap::new();
    for r in rows("bank_calls.csv") {
        let hour: u32 = r[0][11..13].parse().unwrap();
        if hour <= 20 {
            let e = bank.entry((r[0][..10].to_string(), hour)).or_default();
            e.0 += r[1].parse::<f64>().unwrap();
            e.1 += 1;
        }
    }
    assert!(bank.values().all(|v| v.1 == 12), "bank_calls: twelve 5-minute bins per hour");
    let bank =
        Series { name: "bank_calls", y: bank.values().map(|v| v.0).collect(), ts: None, periods: [14, 70] };
    vec![vic, taylor, bank]
}

fn origins(n: usize, windows: usize) -> Vec<usize> {
    (1..=windows).rev().map(|k| n - k * H).collect()
}

fn ours(s: &Series, origin: usize) -> Fc {
    let lo = origin - TRAIN_LEN;
    let now = Instant::now();
    let ts = s.ts.as_ref().map(|t| &t[lo..origin]);
    let t = train(&s.y[lo..origin], ts, &ForecastParams::default(), &mut |_, _| {}).expect("train");
    let req = ForecastRequest {
        horizon: H,
        quantiles: vec![0.1, 0.5, 0.9],
        num_samples: 0,
        seed: 0,
        start: ts.map(|t| t[0]),
    };
    let f = t.model.forecast(&s.y[lo..origin], &req).expect("forecast");
    let seconds = now.elapsed().as_secs_f64();
    let q = |i: usize| f.quantiles[i].1.clone();
    Fc { mean: f.mean.clone(), q10: q(0), q50: q(1), q90: q(2), seconds }
}

/// Seasonal naive with quantiles from its own in-sample h-step errors over the training window.
fn snaive(s: &Series, origin: usize, p: usize) -> Fc {
    let now = Instant::now();
    let y = &s.y[origin - TRAIN_LEN..origin];
    let n = y.len();
    let (mut mean, mut q10, mut q90) = (vec![], vec![], vec![]);
    for h in 1..=H {
        let back = p * h.div_ceil(p);
        let point = y[n + h - 1 - back];
        let mut errs: Vec<f64> = (back..n).map(|t| y[t] - y[t - back]).collect();
        errs.sort_by(f64::total_cmp);
        let q = |l: f64| errs[((errs.len() - 1) as f64 * l).round() as usize];
        mean.push(point);
        q10.push(point + q(0.1));
        q90.push(point + q(0.9));
    }
    let seconds = now.elapsed().as_secs_f64();
    Fc { q50: mean.clone(), mean, q10, q90, seconds }
}

fn augurs_mstl(s: &Series, origin: usize) -> Fc {
    let y = &s.y[origin - TRAIN_LEN..origin];
    let now = Instant::now();
    let model = MSTLModel::new(s.periods.to_vec(), AutoETS::non_seasonal().into_trend_model());
    let fit = model.fit(y).expect("augurs fit");
    let f = fit.predict(H, 0.8).expect("augurs predict");
    let seconds = now.elapsed().as_secs_f64();
    let iv = f.intervals.expect("intervals");
    Fc { q50: f.point.clone(), mean: f.point, q10: iv.lower, q90: iv.upper, seconds }
}

fn clone_fc(f: &Fc) -> Fc {
    Fc {
        mean: f.mean.clone(),
        q10: f.q10.clone(),
        q50: f.q50.clone(),
        q90: f.q90.clone(),
        seconds: f.seconds,
    }
}

fn read_python(dir: &Path, name: &str) -> BTreeMap<String, BTreeMap<usize, Fc>> {
    let mut out: BTreeMap<String, BTreeMap<usize, Fc>> = BTreeMap::new();
    let prefix = format!("py_{name}_");
    let mut text = String::new();
    for e in fs::read_dir(dir).unwrap().flatten() {
        let f = e.file_name().to_string_lossy().to_string();
        if f.starts_with(&prefix) && f.ends_with(".csv") {
            text.extend(fs::read_to_string(e.path()).unwrap().lines().skip(1).map(|l| format!("{l}\n")));
        }
    }
    if text.is_empty() {
        eprintln!("no statsforecast results for {name}");
    }
    for l in text.lines() {
        let c: Vec<&str> = l.split(',').collect();
        let v = |i: usize| c[i].parse::<f64>().unwrap();
        let fc = out.entry(c[0].to_string()).or_default().entry(c[1].parse().unwrap()).or_insert(Fc {
            mean: vec![],
            q10: vec![],
            q50: vec![],
            q90: vec![],
            seconds: v(7),
        });
        fc.mean.push(v(3));
        fc.q10.push(v(4));
        fc.q50.push(v(5));
        fc.q90.push(v(6));
    }
    out
}

struct Row {
    model: String,
    windows: usize,
    mase: f64,
    wql: f64,
    coverage: f64,
    ms: f64,
}

fn score(s: &Series, model: &str, fcs: &BTreeMap<usize, Fc>) -> Row {
    let (mut a, mut m, mut q10, mut q50, mut q90) = (vec![], vec![], vec![], vec![], vec![]);
    let mut mases = vec![];
    let mut secs = 0.0;
    for (&o, f) in fcs {
        let actual = &s.y[o..o + H];
        mases.push(mase(actual, &f.mean, &s.y[o - TRAIN_LEN..o], s.periods[0]).unwrap());
        a.extend_from_slice(actual);
        m.extend_from_slice(&f.mean);
        q10.extend_from_slice(&f.q10);
        q50.extend_from_slice(&f.q50);
        q90.extend_from_slice(&f.q90);
        secs += f.seconds;
    }
    let wql = weighted_quantile_loss(&a, &[(0.1, &q10), (0.5, &q50), (0.9, &q90)]).unwrap();
    Row {
        model: model.to_string(),
        windows: fcs.len(),
        mase: mases.iter().sum::<f64>() / mases.len() as f64,
        wql,
        coverage: interval_coverage(&a, &q10, &q90).unwrap(),
        ms: 1e3 * secs / fcs.len() as f64,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (mode, dir) =
        (args.get(1).map(String::as_str), Path::new(args.get(2).map_or("../out/forecast", |s| s)));
    fs::create_dir_all(dir).unwrap();
    let series = load();
    match mode {
        Some("prep") => {
            for s in &series {
                let body: String = s.y.iter().map(|v| format!("{v}\n")).collect();
                fs::write(dir.join(format!("{}.csv", s.name)), format!("y\n{body}")).unwrap();
                let o: Vec<String> = origins(s.y.len(), WINDOWS).iter().map(|o| o.to_string()).collect();
                let meta = format!(
                    "{{\"n\":{},\"origins\":[{}],\"periods\":[{},{}],\"horizon\":{H},\"train_len\":{TRAIN_LEN}}}",
                    s.y.len(),
                    o.join(","),
                    s.periods[0],
                    s.periods[1]
                );
                fs::write(dir.join(format!("{}.json", s.name)), meta).unwrap();
            }
        }
        Some("eval") => eval(&series, dir, WINDOWS, true),
        // Rust models only, over more origins: `eval-rust DIR 30`.
        Some("eval-rust") => {
            eval(&series, dir, args.get(3).and_then(|w| w.parse().ok()).unwrap_or(30), false)
        }
        Some("prof") => {
            let s = &series[1];
            let o = s.y.len() - H;
            for auto in [true, false] {
                let p = ForecastParams { auto_ridge: auto, ..ForecastParams::default() };
                let ts = s.ts.as_ref().map(|t| &t[o - TRAIN_LEN..o]);
                let now = Instant::now();
                for _ in 0..20 {
                    train(&s.y[o - TRAIN_LEN..o], ts, &p, &mut |_, _| {}).unwrap();
                }
                let a = now.elapsed().as_secs_f64() / 20.0;
                let now = Instant::now();
                for _ in 0..20 {
                    snaive(s, o, 24);
                }
                let b = now.elapsed().as_secs_f64() / 20.0;
                eprintln!("auto_ridge {auto}: train {:.1} ms, snaive {:.2} ms", a * 1e3, b * 1e3);
            }
        }
        _ => eprintln!(
            "usage: scorekit-forecast-bench prep DIR | eval DIR | eval-rust DIR [WINDOWS] | prof DIR"
        ),
    }
}

fn eval(series: &[Series], dir: &Path, windows: usize, python: bool) {
    println!(
        "| series | model | windows | MASE | wQL (0.1/0.5/0.9) | 80% coverage | fit+predict ms | time vs scorekit |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for s in series {
        let os = origins(s.y.len(), windows.min((s.y.len() - TRAIN_LEN) / H));
        let mut results: Vec<(String, BTreeMap<usize, Fc>)> = vec![];
        let run = |f: &dyn Fn(usize) -> Fc| os.iter().map(|&o| (o, f(o))).collect::<BTreeMap<_, _>>();
        results.push(("scorekit-forecast".into(), run(&|o| ours(s, o))));
        for p in s.periods {
            results.push((format!("seasonal naive {p}"), run(&|o| snaive(s, o, p))));
        }
        results.push(("augurs MSTL+AutoETS".into(), run(&|o| augurs_mstl(s, o))));
        let py = if python { read_python(dir, s.name) } else { BTreeMap::new() };
        results.extend(py.into_iter().map(|(k, v)| (format!("statsforecast {k}"), v)));
        // Peers run on fewer origins (AutoARIMA) are compared with scorekit on the same origins.
        let mut extra = vec![];
        for (m, f) in &results[1..] {
            if f.len() < os.len() {
                let same: BTreeMap<usize, Fc> = f.keys().map(|o| (*o, clone_fc(&results[0].1[o]))).collect();
                extra.push((format!("scorekit-forecast (same {} windows as {m})", f.len()), same));
            }
        }
        results.extend(extra);
        let rows: Vec<Row> = results.iter().map(|(m, f)| score(s, m, f)).collect();
        let ours_ms = rows[0].ms;
        for r in &rows {
            println!(
                "| {} | {} | {} | {:.3} | {:.4} | {:.1}% | {:.1} | {:.1}× |",
                s.name,
                r.model,
                r.windows,
                r.mase,
                r.wql,
                100.0 * r.coverage,
                r.ms,
                r.ms / ours_ms
            );
        }
        let t = train(
            &s.y[s.y.len() - H - TRAIN_LEN..s.y.len() - H],
            s.ts.as_ref().map(|t| &t[t.len() - H - TRAIN_LEN..t.len() - H]),
            &ForecastParams::default(),
            &mut |_, _| {},
        )
        .unwrap();
        eprintln!("{}: detected periods {:?}, ridge {}", s.name, t.report.seasonal_periods, t.report.ridge);
    }
}
