//! NAB's scoring rules, ported from numenta/NAB `nab/sweeper.py` and `nab/runner.py`:
//! scaled-sigmoid rewards relative to labelled windows, first detection per window counts,
//! 15 % probationary period (capped at 750 rows), one threshold per profile optimised over the
//! whole corpus by sweeping every distinct anomaly score, normalised so that the null detector
//! scores 0 and a detector hitting every window at its start scores 100.

/// Cost matrix of a NAB profile.
#[derive(Clone, Copy, Debug)]
pub struct Profile {
    pub name: &'static str,
    pub tp: f64,
    pub fp: f64,
    pub fn_: f64,
}

pub const PROFILES: [Profile; 3] = [
    Profile { name: "standard", tp: 1.0, fp: 0.11, fn_: 1.0 },
    Profile { name: "reward_low_FP_rate", tp: 1.0, fp: 0.22, fn_: 1.0 },
    Profile { name: "reward_low_FN_rate", tp: 1.0, fp: 0.11, fn_: 2.0 },
];

/// One scorable row: anomaly score, weighted sweep score, window id (`None` outside windows).
#[derive(Clone, Copy, Debug)]
pub struct Point {
    pub score: f64,
    pub sweep: f64,
    pub window: Option<usize>,
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

pub fn scaled_sigmoid(pos: f64) -> f64 {
    if pos >= 3.0 { -1.0 } else { 2.0 * sigmoid(-5.0 * pos) - 1.0 }
}

pub fn probationary_length(n: usize) -> f64 {
    (0.15 * n as f64).floor().min(0.15 * 5000.0)
}

/// `calcSweepScore`: windows are (first row, last row) index pairs, sorted; `window_base` makes
/// window ids unique across files. Probationary rows are dropped (NAB filters them out).
pub fn sweep(scores: &[f64], windows: &[(usize, usize)], window_base: usize, p: &Profile) -> Vec<Point> {
    let max_tp = scaled_sigmoid(-1.0);
    let prob = probationary_length(scores.len());
    let mut out = Vec::with_capacity(scores.len());
    let mut next = 0;
    let mut cur: Option<(usize, usize, f64)> = None; // (id, right index, width)
    let mut prev: Option<(usize, f64)> = None; // (right index, width)
    for (i, &s) in scores.iter().enumerate() {
        if next < windows.len() && i == windows[next].0 {
            let (l, r) = windows[next];
            cur = Some((window_base + next, r, (r - l + 1) as f64));
            next += 1;
        }
        let (sweep, window) = match cur {
            Some((id, r, w)) => {
                let pos = -((r as f64) - i as f64 + 1.0) / w;
                (scaled_sigmoid(pos) * p.tp / max_tp, Some(id))
            }
            None => {
                let pos = match prev {
                    None => 3.0,
                    Some((r, w)) => (r as f64 - i as f64).abs() / (w - 1.0),
                };
                (scaled_sigmoid(pos) * p.fp, None)
            }
        };
        if (i as f64) >= prob {
            out.push(Point { score: s, sweep, window });
        }
        if let Some((_, r, w)) = cur
            && i == r
        {
            prev = Some((r, w));
            cur = None;
        }
    }
    out
}

/// `calcScoreByThreshold` over a (combined) list: returns (threshold, score) pairs, thresholds
/// descending, starting from 1.1 … as NAB does (the first entry detects nothing above 1.1).
pub fn scores_by_threshold(points: &[Point], n_windows: usize, p: &Profile) -> Vec<(f64, f64)> {
    let mut sorted: Vec<&Point> = points.iter().collect();
    sorted.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut window_best = vec![f64::NAN; n_windows];
    // Windows with at least one scorable row start at -fnWeight.
    let mut total = 0.0;
    for pt in points {
        if let Some(w) = pt.window
            && window_best[w].is_nan()
        {
            window_best[w] = -p.fn_;
            total -= p.fn_;
        }
    }
    let mut out = Vec::new();
    let mut cur = 1.1;
    for pt in sorted {
        if pt.score != cur {
            out.push((cur, total));
            cur = pt.score;
        }
        match pt.window {
            None => total += pt.sweep,
            Some(w) => {
                if pt.sweep > window_best[w] {
                    total += pt.sweep - window_best[w];
                    window_best[w] = pt.sweep;
                }
            }
        }
    }
    out.push((cur, total));
    out
}

/// The best (threshold, raw score) of a sweep.
pub fn best(sweep: &[(f64, f64)]) -> (f64, f64) {
    sweep.iter().copied().fold((f64::NAN, f64::NEG_INFINITY), |a, b| if b.1 > a.1 { b } else { a })
}

/// Normalised NAB score: 100·(raw − null)/(perfect − null), perfect = tpWeight · all windows.
pub fn normalise(raw: f64, null: f64, total_windows: usize, p: &Profile) -> f64 {
    let perfect = total_windows as f64 * p.tp;
    100.0 * (raw - null) / (perfect - null)
}
