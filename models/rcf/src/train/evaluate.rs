//! How a stream's flags are judged against labels: point-wise precision/recall/F1 for data where
//! every reading is labelled, and NAB-style windows for data labelled with anomaly windows.

/// Point-wise counts and rates of flags against 0/1 labels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PointMetrics {
    /// Flagged and labelled anomalous.
    pub true_positives: usize,
    /// Flagged, labelled normal.
    pub false_positives: usize,
    /// Not flagged, labelled anomalous.
    pub false_negatives: usize,
    /// tp / (tp + fp), 0 when nothing was flagged.
    pub precision: f64,
    /// tp / (tp + fn), 0 when nothing is labelled.
    pub recall: f64,
    /// Harmonic mean of precision and recall, 0 when both are 0.
    pub f1: f64,
}

/// Compares `flags` with `labels` reading by reading (the shorter length counts).
pub fn point_metrics(flags: &[bool], labels: &[bool]) -> PointMetrics {
    let (mut tp, mut fp, mut fneg) = (0, 0, 0);
    for (f, l) in flags.iter().zip(labels) {
        match (f, l) {
            (true, true) => tp += 1,
            (true, false) => fp += 1,
            (false, true) => fneg += 1,
            (false, false) => {}
        }
    }
    let ratio = |a: usize, b: usize| if a + b > 0 { a as f64 / (a + b) as f64 } else { 0.0 };
    let (precision, recall) = (ratio(tp, fp), ratio(tp, fneg));
    let f1 = if precision + recall > 0.0 { 2.0 * precision * recall / (precision + recall) } else { 0.0 };
    PointMetrics { true_positives: tp, false_positives: fp, false_negatives: fneg, precision, recall, f1 }
}

/// Flags against labelled time windows `[start, end]` (inclusive, Unix seconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowMetrics {
    /// Windows labelled.
    pub windows: usize,
    /// Windows with at least one flag inside.
    pub detected: usize,
    /// Flags outside every window.
    pub flags_outside: usize,
}

/// Counts detected windows and flags outside them; `times[i]` is the time of `flags[i]`.
pub fn window_metrics(times: &[i64], flags: &[bool], windows: &[(i64, i64)]) -> WindowMetrics {
    let inside = |t: i64| windows.iter().any(|(a, b)| t >= *a && t <= *b);
    let flagged: std::vec::Vec<i64> = times.iter().zip(flags).filter(|(_, f)| **f).map(|(t, _)| *t).collect();
    WindowMetrics {
        windows: windows.len(),
        detected: windows.iter().filter(|(a, b)| flagged.iter().any(|t| t >= a && t <= b)).count(),
        flags_outside: flagged.iter().filter(|t| !inside(**t)).count(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn point_metrics_by_hand() {
        let flags = [true, true, false, false, true];
        let labels = [true, false, true, false, true];
        let m = point_metrics(&flags, &labels);
        assert_eq!((m.true_positives, m.false_positives, m.false_negatives), (2, 1, 1));
        assert!((m.precision - 2.0 / 3.0).abs() < 1e-12 && (m.recall - 2.0 / 3.0).abs() < 1e-12);
        assert!((m.f1 - 2.0 / 3.0).abs() < 1e-12);
        let none = point_metrics(&[false; 3], &[false; 3]);
        assert_eq!((none.precision, none.recall, none.f1), (0.0, 0.0, 0.0));
    }

    #[test]
    fn window_metrics_by_hand() {
        let times = [10, 20, 30, 40, 50];
        let flags = [false, true, true, false, true];
        let m = window_metrics(&times, &flags, &[(15, 25), (35, 45), (50, 60)]);
        assert_eq!(m, WindowMetrics { windows: 3, detected: 2, flags_outside: 1 });
    }
}
