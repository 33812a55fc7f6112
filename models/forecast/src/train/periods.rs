//! Seasonal period detection from the autocorrelation function.

#![allow(clippy::needless_range_loop)]

use std::vec::Vec;

/// Autocorrelation of the mean-centred series for lags `0..=max_lag`.
pub(crate) fn acf(y: &[f64], max_lag: usize) -> Vec<f64> {
    let n = y.len();
    let mean = y.iter().sum::<f64>() / n as f64;
    let c: Vec<f64> = y.iter().map(|v| v - mean).collect();
    let var = c.iter().map(|v| v * v).sum::<f64>();
    (0..=max_lag.min(n - 1))
        .map(|k| if var > 0.0 { c[k..].iter().zip(&c).map(|(a, b)| a * b).sum::<f64>() / var } else { 0.0 })
        .collect()
}

/// Up to two periods: the lag with the strongest autocorrelation peak, plus either a shorter
/// period dividing it or a longer multiple where the ACF rises again (e.g. 168 on top of 24 for
/// hourly data with a weekly pattern). Periods longer than a third of the series are not
/// considered, so at least three seasons back every estimate.
pub fn detect_periods(y: &[f64]) -> Vec<usize> {
    let max_lag = (y.len() / 3).min(1000);
    if max_lag < 4 {
        return Vec::new();
    }
    let r = acf(y, max_lag + 1);
    let is_peak = |k: usize| k >= 2 && k < r.len() - 1 && r[k] > r[k - 1] && r[k] >= r[k + 1] && r[k] > 0.2;
    let peaks: Vec<usize> = (2..r.len() - 1).filter(|&k| is_peak(k)).collect();
    let Some(&p1) = peaks.iter().max_by(|a, b| r[**a].total_cmp(&r[**b])) else {
        return Vec::new();
    };
    // A peak within one step of an exact divisor or multiple counts (periods of real series drift).
    let near_peak = |k: usize| {
        (k.saturating_sub(1)..=k + 1)
            .filter(|&j| j < r.len() && is_peak(j))
            .max_by(|a, b| r[*a].total_cmp(&r[*b]))
    };
    let mut second: Option<usize> = None;
    let mut best = f64::NEG_INFINITY;
    for d in 2..=p1 / 2 {
        if p1 % d == 0
            && let Some(j) = near_peak(p1 / d)
            && r[j] > 0.3
            && r[j] > best
        {
            best = r[j];
            second = Some(j);
        }
    }
    if second.is_none() {
        for m in 2..=max_lag / p1 {
            if let Some(j) = near_peak(m * p1) {
                let prev = r[(m - 1) * p1];
                if r[j] > prev + 0.01 && r[j] > best {
                    best = r[j];
                    second = Some(j);
                }
            }
        }
    }
    let mut out = Vec::from([p1]);
    out.extend(second);
    out.sort_unstable();
    out.dedup();
    out
}

/// The seasonal periods a model is built with when none are given.
///
/// With a sampling period from timestamps the calendar decides: one day and one week in steps
/// (24 and 168 hourly, 48 and 336 half-hourly), each kept only when at least three of its seasons
/// fit in the shortest series; the ACF is not trusted here because on a few weeks of data it
/// finds neighbours of the true period (40/43 instead of 48) or misses the week. Without
/// timestamps the ACF's choice ([`detect_periods`]) stands unless its shortest period is within
/// 10 % of an hourly or half-hourly day (24 or 48 steps): then that day is used, plus its week
/// when the week's seasonal-naive error over the most recent third of the data is the smaller.
pub fn choose_periods(ys: &[Vec<f64>], period_seconds: Option<i64>) -> Vec<usize> {
    let shortest = ys.iter().map(Vec::len).min().unwrap_or(0);
    let fits = |p: usize| p >= 2 && 3 * p <= shortest;
    if let Some(ps) = period_seconds
        && ps > 0
        && 86_400 % ps == 0
        && 86_400 / ps >= 2
    {
        let day = (86_400 / ps) as usize;
        return [day, 7 * day].into_iter().filter(|&p| fits(p)).collect();
    }
    if period_seconds.is_some_and(|ps| ps >= 86_400) {
        let week = (7 * 86_400 / period_seconds.unwrap_or(1)) as usize;
        if period_seconds.is_some_and(|ps| 7 * 86_400 % ps == 0) && fits(week) {
            return Vec::from([week]);
        }
    }
    let longest = ys.iter().max_by_key(|y| y.len()).map_or(&[][..], |y| y.as_slice());
    let acf = detect_periods(longest);
    // The ACF on a few weeks finds neighbours of a calendar day (40/43 for 48) or misses the
    // week: a shortest period within 10 % of 24 or 48 steps snaps to that day, and its week is
    // added when its seasonal-naive error is smaller than the day's.
    let Some(&shortest_found) = acf.first() else { return acf };
    let Some(day) = [24usize, 48].into_iter().find(|&d| shortest_found.abs_diff(d) * 10 <= d) else {
        return acf;
    };
    if !fits(day) {
        return acf;
    }
    let error = |p: usize| -> f64 {
        let (mut total, mut count) = (0.0, 0usize);
        for y in ys {
            let from = (y.len() - y.len() / 3).max(p);
            for t in from..y.len() {
                total += (y[t] - y[t - p]).abs();
                count += 1;
            }
        }
        if count == 0 { f64::INFINITY } else { total / count as f64 }
    };
    if fits(7 * day) && error(7 * day) < error(day) { Vec::from([day, 7 * day]) } else { Vec::from([day]) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_daily_period_of_a_sine() {
        let y: Vec<f64> = (0..600).map(|t| (t as f64 * core::f64::consts::TAU / 24.0).sin()).collect();
        assert_eq!(detect_periods(&y)[0], 24);
    }

    #[test]
    fn finds_daily_and_weekly() {
        let y: Vec<f64> = (0..2000)
            .map(|t| {
                let day = (t as f64 * core::f64::consts::TAU / 24.0).sin();
                let weekend = if (t / 24) % 7 >= 5 { -1.5 } else { 0.0 };
                day + weekend
            })
            .collect();
        assert_eq!(detect_periods(&y), [24, 168]);
    }

    #[test]
    fn calendar_decides_when_the_sampling_period_is_known() {
        let y: Vec<f64> = (0..1344).map(|t| (t as f64 * core::f64::consts::TAU / 43.0).sin()).collect();
        assert_eq!(choose_periods(core::slice::from_ref(&y), Some(3600)), [24, 168]);
        assert_eq!(choose_periods(core::slice::from_ref(&y), Some(1800)), [48, 336]);
        // Too short for three weeks: the day only.
        assert_eq!(choose_periods(&[y[..400].to_vec()], Some(3600)), [24]);
    }

    #[test]
    fn without_timestamps_the_best_seasonal_naive_wins() {
        // Half-hourly: daily 48 and a weekend dip; the ACF alone may settle on a neighbour.
        let mut rng = scorekit_core::rng::Rng::seed_from_u64(5);
        let y: Vec<f64> = (0..1344)
            .map(|t| {
                let day = (t as f64 * core::f64::consts::TAU / 48.0).sin();
                let weekend = if (t / 48) % 7 >= 5 { -1.5 } else { 0.0 };
                day + weekend + 0.1 * rng.next_normal()
            })
            .collect();
        assert_eq!(choose_periods(&[y], None), [48, 336]);
        let noise: Vec<f64> = (0..1344).map(|_| rng.next_normal()).collect();
        assert!(choose_periods(&[noise], None).is_empty());
    }

    #[test]
    fn white_noise_like_series_has_no_strong_period() {
        let mut rng = scorekit_core::rng::Rng::seed_from_u64(3);
        let y: Vec<f64> = (0..500).map(|_| rng.next_normal()).collect();
        assert!(detect_periods(&y).is_empty());
    }
}
