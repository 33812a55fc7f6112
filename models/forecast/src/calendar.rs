//! Calendar one-hots from unix time. Computed at the forecast origin (the last observed step):
//! since every horizon step has its own weights, an origin one-hot lets step `h` learn the
//! effect of the calendar slot `h` steps later without a separate design per step.

/// Number of calendar features for a series sampled every `period_seconds`.
pub(crate) fn calendar_width(period_seconds: i64) -> usize {
    let mut w = 0;
    if period_seconds < 86_400 {
        w += 24;
    }
    if period_seconds < 7 * 86_400 {
        w += 7;
    }
    w
}

/// Writes the one-hots for unix time `t` into `out` (length [`calendar_width`]).
pub(crate) fn calendar_features(t: i64, period_seconds: i64, out: &mut [f64]) {
    for v in out.iter_mut() {
        *v = 0.0;
    }
    let secs_of_day = t.rem_euclid(86_400);
    let days = t.div_euclid(86_400);
    let mut k = 0;
    if period_seconds < 86_400 {
        out[(secs_of_day / 3600) as usize] = 1.0;
        k = 24;
    }
    if period_seconds < 7 * 86_400 {
        // 1970-01-01 was a Thursday; 0 = Monday.
        out[k + (days + 3).rem_euclid(7) as usize] = 1.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hour_and_weekday_of_a_known_time() {
        // 2024-01-01 13:00 UTC was a Monday.
        let t = 1_704_114_000;
        let mut out = [0.0; 31];
        calendar_features(t, 3600, &mut out);
        assert_eq!(out[13], 1.0);
        assert_eq!(out[24], 1.0);
        assert_eq!(out.iter().sum::<f64>(), 2.0);
        assert_eq!(calendar_width(86_400), 7);
        assert_eq!(calendar_width(7 * 86_400), 0);
    }
}
