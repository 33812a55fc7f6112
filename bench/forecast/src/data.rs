//! The benchmark's series and their forecast origins, by role:
//! - `dev`: where settings are chosen (older windows of the classic series, taylor half-hourly);
//! - `eval`: the classic table (last 10 windows of vic_elec, taylor, bank_calls);
//! - `heldout`: series nobody tuned on (pedestrian counts, NYC taxi, French load, French and
//!   Belgian prices), read only to report.
//!
//! Every window is 1,344 training steps + 48 forecast steps, contiguous in time: gaps of at most
//! 3 steps are filled by linear interpolation (documented in docs/eval-forecast.md), longer gaps
//! end a stretch and no window crosses them.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

pub const H: usize = 48;
pub const TRAIN_LEN: usize = 1344;
const SHARED: &str = "/work/shared/data";

/// (unix seconds, value) pairs in time order.
type Points = Vec<(i64, f64)>;

pub struct Series {
    pub name: String,
    pub role: &'static str,
    /// Series sharing a group are trained together in global mode.
    pub group: Option<&'static str>,
    pub y: Vec<f64>,
    pub ts: Option<Vec<i64>>,
    /// Daily and weekly period in steps.
    pub periods: [usize; 2],
    pub origins: Vec<usize>,
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DD?HH:MM:SS…` → unix seconds (UTC).
pub fn parse_time(s: &str) -> i64 {
    let n = |a: usize, b: usize| s[a..b].parse::<i64>().expect("timestamp digits");
    days_from_civil(n(0, 4), n(5, 7), n(8, 10)) * 86_400 + n(11, 13) * 3600 + n(14, 16) * 60 + n(17, 19)
}

fn rows(path: &Path) -> Vec<Vec<String>> {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines().skip(1).map(|l| l.split(',').map(str::to_string).collect()).collect()
}

/// Regular series from (time, value) pairs sorted by time: short gaps (≤ 3 steps) interpolated,
/// longer gaps kept as NaN runs (windows never cross them).
fn regular(points: &[(i64, f64)], step: i64) -> (Vec<f64>, Vec<i64>) {
    let (mut y, mut ts) = (Vec::new(), Vec::new());
    for &(t, v) in points {
        if let Some(&last) = ts.last() {
            let missing = (t - last) / step - 1;
            let prev: f64 = *y.last().unwrap();
            for k in 1..=missing {
                let fill =
                    if missing <= 3 { prev + (v - prev) * k as f64 / (missing + 1) as f64 } else { f64::NAN };
                y.push(fill);
                ts.push(last + k * step);
            }
        }
        y.push(v);
        ts.push(t);
    }
    (y, ts)
}

/// The last `n` non-overlapping origins ending no later than `last_end` whose training window
/// and horizon hold no NaN.
fn clean_origins(y: &[f64], n: usize, last_end: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut end = last_end.min(y.len());
    while out.len() < n && end >= TRAIN_LEN + H {
        let o = end - H;
        if y[o - TRAIN_LEN..end].iter().all(|v| v.is_finite()) {
            out.push(o);
            end -= H;
        } else {
            end -= 1;
        }
    }
    out.reverse();
    out
}

fn from_time(ts: &[i64], t: i64) -> usize {
    ts.iter().position(|&x| x >= t).expect("time inside the series")
}

fn ymd(y: i64, m: i64, d: i64) -> i64 {
    days_from_civil(y, m, d) * 86_400
}

pub fn load(tsdata: Option<&Path>) -> Vec<Series> {
    let shared = Path::new(SHARED);
    let mut out = Vec::new();
    // vic_elec: half-hourly UTC → hourly sums.
    let mut hourly: BTreeMap<i64, (f64, u32)> = BTreeMap::new();
    for r in rows(&shared.join("forecast/vic_elec.csv")) {
        let e = hourly.entry(parse_time(&r[0]).div_euclid(3600)).or_default();
        e.0 += r[1].parse::<f64>().unwrap();
        e.1 += 1;
    }
    assert!(hourly.values().all(|v| v.1 == 2), "vic_elec: every hour has two half-hours");
    let vy: Vec<f64> = hourly.values().map(|v| v.0).collect();
    let vts: Vec<i64> = hourly.keys().map(|h| h * 3600).collect();
    let n = vy.len();
    out.push(Series {
        name: "vic_elec".into(),
        role: "eval",
        group: None,
        origins: clean_origins(&vy, 10, n),
        y: vy.clone(),
        ts: Some(vts.clone()),
        periods: [24, 168],
    });
    out.push(Series {
        name: "vic_elec (dev windows)".into(),
        role: "dev",
        group: None,
        origins: clean_origins(&vy, 20, n - 10 * H),
        y: vy.clone(),
        ts: Some(vts.clone()),
        periods: [24, 168],
    });
    // Holiday regimes for choosing settings: vic_elec over Christmas and New Year 2012 and 2013
    // (10 windows from 19 December each), a year or more before the eval windows.
    for year in [2012, 2013] {
        let xmas = from_time(&vts, ymd(year, 12, 19)) + 10 * H;
        out.push(Series {
            name: format!("vic_elec Christmas {year} (dev windows)"),
            role: "dev",
            group: None,
            origins: clean_origins(&vy, 10, xmas),
            y: vy.clone(),
            ts: Some(vts.clone()),
            periods: [24, 168],
        });
    }
    // taylor: half-hourly from Monday 2000-06-05 00:00 (local time, labelled as UTC).
    let t: Vec<f64> =
        rows(&shared.join("forecast/taylor.csv")).iter().map(|r| r[1].parse::<f64>().unwrap()).collect();
    let start = ymd(2000, 6, 5);
    let ty: Vec<f64> = t.chunks_exact(2).map(|c| c[0] + c[1]).collect();
    let tts: Vec<i64> = (0..ty.len()).map(|i| start + 3600 * i as i64).collect();
    let n = ty.len();
    out.push(Series {
        name: "taylor".into(),
        role: "eval",
        group: None,
        origins: clean_origins(&ty, 10, n),
        y: ty.clone(),
        ts: Some(tts.clone()),
        periods: [24, 168],
    });
    out.push(Series {
        name: "taylor (dev windows)".into(),
        role: "dev",
        group: None,
        origins: clean_origins(&ty, 4, n - 10 * H),
        y: ty,
        ts: Some(tts),
        periods: [24, 168],
    });
    // taylor half-hourly, the windows before the hourly eval period (dev for 48/336).
    let t30: Vec<i64> = (0..t.len()).map(|i| start + 1800 * i as i64).collect();
    let n30 = t.len();
    out.push(Series {
        name: "taylor half-hourly (dev windows)".into(),
        role: "dev",
        group: None,
        origins: clean_origins(&t, 20, n30 - 20 * H),
        y: t,
        ts: Some(t30),
        periods: [48, 336],
    });
    // bank_calls: 5-minute counts 07:00-21:00 on weekdays → hourly sums over 07-20h (14 a day).
    let mut bank: BTreeMap<(String, u32), (f64, u32)> = BTreeMap::new();
    for r in rows(&shared.join("forecast/bank_calls.csv")) {
        let hour: u32 = r[0][11..13].parse().unwrap();
        if hour <= 20 {
            let e = bank.entry((r[0][..10].to_string(), hour)).or_default();
            e.0 += r[1].parse::<f64>().unwrap();
            e.1 += 1;
        }
    }
    assert!(bank.values().all(|v| v.1 == 12), "bank_calls: twelve 5-minute bins per hour");
    let by: Vec<f64> = bank.values().map(|v| v.0).collect();
    let n = by.len();
    out.push(Series {
        name: "bank_calls".into(),
        role: "eval",
        group: None,
        origins: clean_origins(&by, 10, n),
        y: by.clone(),
        ts: None,
        periods: [14, 70],
    });
    out.push(Series {
        name: "bank_calls (dev windows)".into(),
        role: "dev",
        group: None,
        origins: clean_origins(&by, 9, n - 10 * H),
        y: by,
        ts: None,
        periods: [14, 70],
    });

    // Held out. NYC taxi passengers, 30-minute (NAB corpus): the last 10 windows (January 2015,
    // with the 26-27 January blizzard) and 10 windows from 19 December 2014 (Christmas, New Year).
    let taxi: Vec<(i64, f64)> = rows(&shared.join("anomaly/nab/data/realKnownCause/nyc_taxi.csv"))
        .iter()
        .map(|r| (parse_time(&r[0]), r[1].parse().unwrap()))
        .collect();
    let (xy, xts) = regular(&taxi, 1800);
    let n = xy.len();
    let xmas = from_time(&xts, ymd(2014, 12, 19)) + 10 * H;
    out.push(Series {
        name: "nyc_taxi 30-min, January".into(),
        role: "heldout",
        group: None,
        origins: clean_origins(&xy, 10, n),
        y: xy.clone(),
        ts: Some(xts.clone()),
        periods: [48, 336],
    });
    out.push(Series {
        name: "nyc_taxi 30-min, Christmas".into(),
        role: "heldout",
        group: None,
        origins: clean_origins(&xy, 10, xmas),
        y: xy,
        ts: Some(xts),
        periods: [48, 336],
    });
    let Some(tsdata) = tsdata else { return out };
    // Melbourne pedestrian counts (hourly, four sensors; ends 31 Dec 2016: Christmas included).
    let mut sensors: BTreeMap<String, Vec<(i64, f64)>> = BTreeMap::new();
    for r in rows(&tsdata.join("fpp3/pedestrian.csv")) {
        sensors.entry(r[0].clone()).or_default().push((parse_time(&r[1]), r[4].parse().unwrap()));
    }
    for (name, pts) in sensors {
        let (y, ts) = regular(&pts, 3600);
        let n = y.len();
        out.push(Series {
            name: format!("pedestrian {name}"),
            role: "heldout",
            group: Some("pedestrian"),
            origins: clean_origins(&y, 10, n),
            y,
            ts: Some(ts),
            periods: [24, 168],
        });
    }
    // French and Belgian day-ahead prices and system load (hourly, 2015-01-01 … 2016-10-31).
    let mut epf: BTreeMap<String, (Points, Points)> = BTreeMap::new();
    for r in rows(&tsdata.join("fpppy/EPF_FR_BE.csv")) {
        let e = epf.entry(r[0].clone()).or_default();
        let t = parse_time(&r[1]);
        e.0.push((t, r[2].parse().unwrap()));
        e.1.push((t, r[4].parse().unwrap()));
    }
    for (zone, (price, load)) in epf {
        let (py, pts) = regular(&price, 3600);
        let n = py.len();
        out.push(Series {
            name: format!("{zone} price, October"),
            role: "heldout",
            group: Some("epf price"),
            origins: clean_origins(&py, 10, n),
            y: py,
            ts: Some(pts),
            periods: [24, 168],
        });
        // The BE rows of this data set carry the French load as their exogenous column: one
        // load series, not two.
        if zone != "FR" {
            continue;
        }
        let (ly, lts) = regular(&load, 3600);
        let n = ly.len();
        let xmas = from_time(&lts, ymd(2015, 12, 19)) + 10 * H;
        out.push(Series {
            name: format!("{zone} load, October"),
            role: "heldout",
            group: None,
            origins: clean_origins(&ly, 10, n),
            y: ly.clone(),
            ts: Some(lts.clone()),
            periods: [24, 168],
        });
        out.push(Series {
            name: format!("{zone} load, Christmas"),
            role: "heldout",
            group: None,
            origins: clean_origins(&ly, 10, xmas),
            y: ly,
            ts: Some(lts),
            periods: [24, 168],
        });
    }
    out
}

/// File-name form of a series name.
pub fn slug(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect()
}
