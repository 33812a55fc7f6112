//! Forecast benchmark: scorekit-forecast (local and global mode) vs seasonal naive, augurs
//! (MSTL + AutoETS) and the statsforecast forecasts written by `statsforecast_peers.py`, over
//! rolling origins of the series in `data.rs` (roles dev / eval / heldout). `prep DIR` writes the
//! series and origins; `eval DIR ROLES` runs the Rust models, reads the Python forecasts and prints
//! a Markdown table.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use augurs::ets::AutoETS;
use augurs::mstl::MSTLModel;
use augurs::prelude::*;
use scorekit_forecast::metrics::{interval_coverage, mase, weighted_quantile_loss};
use scorekit_forecast::{ForecastParams, ForecastRequest, train, train_global};

mod data;

use data::{H, Series, TRAIN_LEN, slug};

/// One model's forecast for one origin.
struct Fc {
    mean: Vec<f64>,
    q10: Vec<f64>,
    q50: Vec<f64>,
    q90: Vec<f64>,
    seconds: f64,
}

/// scorekit's settings: the defaults, or `FC_*` overrides when exploring on the dev series.
fn params() -> ForecastParams {
    let mut p = ForecastParams::default();
    let env = |k: &str| std::env::var(k).ok();
    if let Some(v) = env("FC_LONG_MEANS") {
        p.long_means = v.parse().unwrap();
    }
    if let Some(v) = env("FC_SHORT_MEANS") {
        p.short_means = v.parse().unwrap();
    }
    if let Some(v) = env("FC_BASELINE_MEAN") {
        p.baseline_mean = v == "1";
    }
    if let Some(v) = env("FC_CONTEXT") {
        p.context_length = v.parse().unwrap();
    }
    if let Some(v) = env("FC_PROFILE") {
        p.profile_seasons = v.parse().unwrap();
    }
    if let Some(v) = env("FC_BIAS") {
        p.bias_correction = v.parse().unwrap();
    }
    if let Some(v) = env("FC_CALIBRATE") {
        p.calibrate_intervals = v == "1";
    }
    if let Some(v) = env("FC_NAIVE") {
        p.naive_candidates = v == "1";
    }
    if let Some(v) = env("FC_RIDGE") {
        p.ridge = v.parse().unwrap();
    }
    p
}

fn ours(s: &Series, origin: usize) -> Fc {
    let lo = origin - TRAIN_LEN;
    let now = Instant::now();
    let ts = s.ts.as_ref().map(|t| &t[lo..origin]);
    let t = train(&s.y[lo..origin], ts, &params(), &mut |_, _| {}).expect("train");
    let req = ForecastRequest {
        horizon: H,
        quantiles: vec![0.1, 0.5, 0.9],
        num_samples: 0,
        seed: 0,
        start: ts.map(|t| t[0]),
    };
    let f = t.model.forecast(&s.y[lo..origin], &req).expect("forecast");
    let seconds = now.elapsed().as_secs_f64();
    if std::env::var("FC_DEBUG").is_ok() {
        eprintln!(
            "{} @{origin}: periods {:?} ridge {} naive {:?} profile weight {} interval scale {}",
            s.name,
            t.report.seasonal_periods,
            t.report.ridge,
            t.report.seasonal_naive,
            t.report.profile_weight,
            t.report.interval_scale
        );
    }
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

fn read_python(dir: &Path, name: &str) -> BTreeMap<String, BTreeMap<usize, Fc>> {
    let mut out: BTreeMap<String, BTreeMap<usize, Fc>> = BTreeMap::new();
    let prefix = format!("py_{}_", slug(name));
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

/// Global mode: one model fitted at each origin on the same-time training windows of every
/// series of the group (each window scaled by its own level), scoring this series.
fn ours_global(s: &Series, group: &[&Series], origin: usize) -> Option<Fc> {
    let ts = s.ts.as_ref()?;
    let (t0, t1) = (ts[origin - TRAIN_LEN], ts[origin]);
    let mut members: Vec<(&[f64], Option<&[i64]>)> = Vec::new();
    for g in group {
        let gts = g.ts.as_ref()?;
        let Some(lo) = gts.iter().position(|&t| t == t0) else { continue };
        if lo + TRAIN_LEN > gts.len() || gts[lo + TRAIN_LEN] != t1 {
            continue;
        }
        let w = &g.y[lo..lo + TRAIN_LEN];
        if w.iter().all(|v| v.is_finite()) {
            members.push((w, Some(&gts[lo..lo + TRAIN_LEN])));
        }
    }
    if members.len() < 2 {
        return None;
    }
    let now = Instant::now();
    let t = train_global(&members, &params(), &mut |_, _| {}).expect("train global");
    let lo = origin - TRAIN_LEN;
    let req = ForecastRequest {
        horizon: H,
        quantiles: vec![0.1, 0.5, 0.9],
        num_samples: 0,
        seed: 0,
        start: Some(ts[lo]),
    };
    let f = t.model.forecast(&s.y[lo..origin], &req).expect("forecast");
    let seconds = now.elapsed().as_secs_f64();
    let q = |i: usize| f.quantiles[i].1.clone();
    Some(Fc { mean: f.mean.clone(), q10: q(0), q50: q(1), q90: q(2), seconds })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (mode, dir) =
        (args.get(1).map(String::as_str), Path::new(args.get(2).map_or("../out/forecast", |s| s)));
    fs::create_dir_all(dir).unwrap();
    let tsdata = std::env::var("TSDATA").ok().map(PathBuf::from);
    let series = data::load(tsdata.as_deref());
    let roles: Vec<&str> = args.get(3).map_or(vec!["eval", "heldout"], |r| r.split(',').collect());
    match mode {
        Some("prep") => {
            for s in &series {
                let body: String = s.y.iter().map(|v| format!("{v}\n")).collect();
                let name = slug(&s.name);
                fs::write(dir.join(format!("{name}.csv")), format!("y\n{body}")).unwrap();
                let o: Vec<String> = s.origins.iter().map(|o| o.to_string()).collect();
                let meta = format!(
                    "{{\"name\":\"{}\",\"role\":\"{}\",\"n\":{},\"origins\":[{}],\"periods\":[{},{}],\"horizon\":{H},\"train_len\":{TRAIN_LEN}}}",
                    s.name,
                    s.role,
                    s.y.len(),
                    o.join(","),
                    s.periods[0],
                    s.periods[1]
                );
                fs::write(dir.join(format!("{name}.json")), meta).unwrap();
            }
        }
        Some("eval") => eval(&series, dir, &roles, true),
        Some("eval-rust") => eval(&series, dir, &roles, false),
        _ => eprintln!("usage: scorekit-forecast-bench prep DIR | eval DIR [ROLES] | eval-rust DIR [ROLES]"),
    }
}

fn eval(series: &[Series], dir: &Path, roles: &[&str], python: bool) {
    println!(
        "| role | series | model | windows | MASE | wQL (0.1/0.5/0.9) | 80% coverage | fit+predict ms | time vs scorekit |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut wins = (0, 0);
    for s in series.iter().filter(|s| roles.contains(&s.role)) {
        let os = &s.origins;
        let mut results: Vec<(String, BTreeMap<usize, Fc>)> = vec![];
        let run = |f: &dyn Fn(usize) -> Fc| os.iter().map(|&o| (o, f(o))).collect::<BTreeMap<_, _>>();
        results.push(("scorekit-forecast".into(), run(&|o| ours(s, o))));
        if let Some(g) = s.group {
            let group: Vec<&Series> = series.iter().filter(|x| x.group == Some(g)).collect();
            let global: BTreeMap<usize, Fc> =
                os.iter().filter_map(|&o| ours_global(s, &group, o).map(|f| (o, f))).collect();
            if global.len() == os.len() {
                results.push((format!("scorekit-forecast global ({} series)", group.len()), global));
            }
        }
        let n_ours = results.len();
        for p in s.periods {
            results.push((format!("seasonal naive {p}"), run(&|o| snaive(s, o, p))));
        }
        results.push(("augurs MSTL+AutoETS".into(), run(&|o| augurs_mstl(s, o))));
        let py = if python { read_python(dir, &s.name) } else { BTreeMap::new() };
        results.extend(
            py.into_iter()
                .filter(|(_, v)| v.len() == os.len())
                .map(|(k, v)| (format!("statsforecast {k}"), v)),
        );
        let rows: Vec<Row> = results.iter().map(|(m, f)| score(s, m, f)).collect();
        let ours_ms = rows[0].ms;
        let best_peer = |f: fn(&Row) -> f64| rows[n_ours..].iter().map(f).fold(f64::INFINITY, f64::min);
        let (bm, bw) = (best_peer(|r| r.mase), best_peer(|r| r.wql));
        for r in &rows {
            println!(
                "| {} | {} | {} | {} | {:.3} | {:.4} | {:.1}% | {:.1} | {:.1}× |",
                s.role,
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
        let lead = rows[0].mase < bm && rows[0].wql < bw;
        wins.0 += lead as usize;
        wins.1 += 1;
        eprintln!(
            "{}: scorekit MASE {:.3} wQL {:.4} cov {:.1}% | best peer MASE {bm:.3} wQL {bw:.4} | {}",
            s.name,
            rows[0].mase,
            rows[0].wql,
            100.0 * rows[0].coverage,
            if lead { "LEADS" } else { "behind" }
        );
    }
    eprintln!("scorekit leads (MASE and wQL) on {} of {} series", wins.0, wins.1);
}
