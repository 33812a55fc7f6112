//! Evaluation metrics for binary scores. A label counts as positive when it is `> 0.5`; the
//! thresholded metrics call a score positive when it is `>= 0.5`.

use std::vec;
use std::vec::Vec;

fn positive(label: f64) -> bool {
    label > 0.5
}

/// Indices of `scores` sorted by decreasing score (ties in index order).
fn by_score_desc(scores: &[f64]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    idx
}

/// Area under the ROC curve (ties count half, i.e. the Mann-Whitney statistic); `NaN` unless both
/// classes occur.
pub fn roc_auc(scores: &[f64], labels: &[f64]) -> f64 {
    let idx = by_score_desc(scores);
    let n_pos = labels.iter().filter(|&&l| positive(l)).count() as f64;
    let n_neg = labels.len() as f64 - n_pos;
    if n_pos == 0.0 || n_neg == 0.0 {
        return f64::NAN;
    }
    // Walk groups of tied scores from the top; each negative in a group beats the positives
    // above it and ties half with the positives in its group.
    let (mut pos_above, mut area) = (0.0, 0.0);
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        let (mut p, mut n) = (0.0, 0.0);
        while j < idx.len() && scores[idx[j]] == scores[idx[i]] {
            if positive(labels[idx[j]]) {
                p += 1.0
            } else {
                n += 1.0
            }
            j += 1;
        }
        area += n * (pos_above + p / 2.0);
        pos_above += p;
        i = j;
    }
    area / (n_pos * n_neg)
}

/// ROC curve as `(false positive rate, true positive rate)` points, from `(0, 0)` to `(1, 1)`,
/// one point per distinct score.
pub fn roc_curve(scores: &[f64], labels: &[f64]) -> Vec<(f64, f64)> {
    let idx = by_score_desc(scores);
    let n_pos = labels.iter().filter(|&&l| positive(l)).count().max(1) as f64;
    let n_neg = (labels.len() - labels.iter().filter(|&&l| positive(l)).count()).max(1) as f64;
    let mut curve = Vec::with_capacity(idx.len() + 1);
    curve.push((0.0, 0.0));
    let (mut tp, mut fp) = (0.0, 0.0);
    for (k, &i) in idx.iter().enumerate() {
        if positive(labels[i]) {
            tp += 1.0
        } else {
            fp += 1.0
        }
        if k + 1 == idx.len() || scores[idx[k + 1]] != scores[i] {
            curve.push((fp / n_neg, tp / n_pos));
        }
    }
    curve
}

/// Precision–recall curve as `(recall, precision)` points, one per distinct score from the top
/// (the precision of the rows at or above it); empty when no row is positive.
pub fn pr_curve(scores: &[f64], labels: &[f64]) -> Vec<(f64, f64)> {
    let idx = by_score_desc(scores);
    let n_pos = labels.iter().filter(|&&l| positive(l)).count() as f64;
    if n_pos == 0.0 {
        return Vec::new();
    }
    let mut curve = Vec::with_capacity(idx.len());
    let (mut tp, mut seen) = (0.0, 0.0);
    for (k, &i) in idx.iter().enumerate() {
        seen += 1.0;
        if positive(labels[i]) {
            tp += 1.0
        }
        if k + 1 == idx.len() || scores[idx[k + 1]] != scores[i] {
            curve.push((tp / n_pos, tp / seen));
        }
    }
    curve
}

/// Reliability of probabilities: rows split into `bins` equal-width probability bins; for each
/// non-empty bin, `(mean predicted probability, observed positive rate, rows)`.
pub fn calibration_bins(p: &[f64], labels: &[f64], bins: usize) -> Vec<(f64, f64, usize)> {
    let bins = bins.max(1);
    let mut acc = vec![(0.0, 0.0, 0usize); bins];
    for (&q, &l) in p.iter().zip(labels) {
        let b = ((q.clamp(0.0, 1.0) * bins as f64) as usize).min(bins - 1);
        acc[b].0 += q;
        acc[b].1 += if positive(l) { 1.0 } else { 0.0 };
        acc[b].2 += 1;
    }
    acc.into_iter().filter(|b| b.2 > 0).map(|(s, pos, n)| (s / n as f64, pos / n as f64, n)).collect()
}

/// Counts at threshold 0.5: (true positives, false positives, true negatives, false negatives).
fn confusion(scores: &[f64], labels: &[f64]) -> (f64, f64, f64, f64) {
    let mut c = (0.0, 0.0, 0.0, 0.0);
    for (&s, &l) in scores.iter().zip(labels) {
        match (s >= 0.5, positive(l)) {
            (true, true) => c.0 += 1.0,
            (true, false) => c.1 += 1.0,
            (false, false) => c.2 += 1.0,
            (false, true) => c.3 += 1.0,
        }
    }
    c
}

/// Fraction of rows classified correctly at threshold 0.5.
pub fn accuracy(scores: &[f64], labels: &[f64]) -> f64 {
    let (tp, fp, tn, fn_) = confusion(scores, labels);
    (tp + tn) / (tp + fp + tn + fn_)
}

/// Precision of the positive class at threshold 0.5 (0 when nothing is predicted positive).
pub fn precision(scores: &[f64], labels: &[f64]) -> f64 {
    let (tp, fp, _, _) = confusion(scores, labels);
    if tp + fp == 0.0 { 0.0 } else { tp / (tp + fp) }
}

/// Recall of the positive class at threshold 0.5 (0 when there are no positives).
pub fn recall(scores: &[f64], labels: &[f64]) -> f64 {
    let (tp, _, _, fn_) = confusion(scores, labels);
    if tp + fn_ == 0.0 { 0.0 } else { tp / (tp + fn_) }
}

/// F1 of the positive class at threshold 0.5 (0 when precision and recall are both 0).
pub fn f1(scores: &[f64], labels: &[f64]) -> f64 {
    let (p, r) = (precision(scores, labels), recall(scores, labels));
    if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) }
}

/// Mean binary log-loss of probabilities `p`, clipped to `[1e-15, 1 - 1e-15]`.
pub fn log_loss(p: &[f64], labels: &[f64]) -> f64 {
    let n = labels.len().max(1) as f64;
    p.iter()
        .zip(labels)
        .map(|(&p, &l)| {
            let p = p.clamp(1e-15, 1.0 - 1e-15);
            if positive(l) { -p.ln() } else { -(1.0 - p).ln() }
        })
        .sum::<f64>()
        / n
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec;

    #[test]
    fn auc_counts_pairs_and_half_ties() {
        // Pairs (pos, neg): (0.9,0.1) win, (0.9,0.4) win, (0.4,0.1) win, (0.4,0.4) tie → 3.5 / 4.
        let s = [0.9, 0.4, 0.4, 0.1];
        let y = [1.0, 1.0, 0.0, 0.0];
        assert_eq!(roc_auc(&s, &y), 0.875);
        assert_eq!(roc_auc(&[0.1, 0.9], &[1.0, 0.0]), 0.0);
        assert!(roc_auc(&[0.1, 0.9], &[1.0, 1.0]).is_nan());
        assert_eq!(roc_curve(&s, &y), vec![(0.0, 0.0), (0.0, 0.5), (0.5, 1.0), (1.0, 1.0)]);
    }

    #[test]
    fn thresholded_metrics_by_hand() {
        let s = [0.9, 0.6, 0.2, 0.7, 0.1];
        let y = [1.0, 0.0, 1.0, 1.0, 0.0];
        // tp=2 (0.9, 0.7), fp=1 (0.6), fn=1 (0.2), tn=1 (0.1).
        assert_eq!(accuracy(&s, &y), 0.6);
        assert_eq!(precision(&s, &y), 2.0 / 3.0);
        assert_eq!(recall(&s, &y), 2.0 / 3.0);
        assert!((f1(&s, &y) - 2.0 / 3.0).abs() < 1e-15);
        assert!((log_loss(&[0.5, 0.5], &[1.0, 0.0]) - core::f64::consts::LN_2).abs() < 1e-15);
    }

    #[test]
    fn pr_curve_and_calibration_by_hand() {
        let s = [0.9, 0.4, 0.4, 0.1];
        let y = [1.0, 1.0, 0.0, 0.0];
        // Top row: 1 of 2 positives, precision 1; the tied pair adds one of each: 2/2, 2/3; all: 2/4.
        assert_eq!(pr_curve(&s, &y), vec![(0.5, 1.0), (1.0, 2.0 / 3.0), (1.0, 0.5)]);
        assert!(pr_curve(&s, &[0.0; 4]).is_empty());
        let bins = calibration_bins(&[0.05, 0.15, 0.12, 0.95], &[0.0, 1.0, 0.0, 1.0], 10);
        assert_eq!(bins.len(), 3);
        assert_eq!((bins[0].1, bins[0].2), (0.0, 1));
        assert!((bins[1].0 - 0.135).abs() < 1e-12 && bins[1].1 == 0.5 && bins[1].2 == 2);
        assert_eq!((bins[2].1, bins[2].2), (1.0, 1));
    }
}
