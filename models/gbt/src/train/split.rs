//! Decisions about a labelled table that every host must make the same way: which label is the
//! positive class, and which rows are held out for testing.

use std::string::{String, ToString};
use std::vec::Vec;

use scorekit_core::rng::Rng;

use crate::error::GbtError;

/// The positive label of a binary target when the caller names none: `yes`/`true`/`1` (in any
/// usual case) when present, else the rarer of the two labels (the first in sort order on a
/// tie). `None` unless there are exactly two distinct labels.
pub fn guess_positive(labels: &[String]) -> Option<String> {
    let mut distinct: Vec<&str> = labels.iter().map(String::as_str).collect();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() != 2 {
        return None;
    }
    for p in ["yes", "Yes", "YES", "true", "True", "TRUE", "1", "1.0"] {
        if distinct.contains(&p) {
            return Some(p.to_string());
        }
    }
    let n_first = labels.iter().filter(|l| *l == distinct[0]).count();
    Some(if n_first * 2 <= labels.len() { distinct[0] } else { distinct[1] }.to_string())
}

/// How the test rows are chosen.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Holdout {
    /// Rows from this 1-based data row on are the test set (a time or file-order split).
    FromRow(usize),
    /// A seeded random share of the rows.
    Fraction(f64),
}

/// `(train rows, test rows)`, each ascending, for `n` rows.
///
/// # Errors
/// [`GbtError::InvalidParam`] for a row outside `2..=n` or a fraction outside (0, 1).
pub fn split_rows(n: usize, holdout: Holdout, seed: u64) -> Result<(Vec<usize>, Vec<usize>), GbtError> {
    match holdout {
        Holdout::FromRow(from) => {
            if from < 2 || from > n {
                return Err(GbtError::InvalidParam {
                    name: "test_from_row",
                    reason: std::format!("{from} must be between 2 and the number of data rows ({n})"),
                });
            }
            Ok(((0..from - 1).collect(), (from - 1..n).collect()))
        }
        Holdout::Fraction(f) => {
            if !(f > 0.0 && f < 1.0) {
                return Err(GbtError::InvalidParam {
                    name: "test_fraction",
                    reason: std::format!("must be in (0, 1), got {f}"),
                });
            }
            let mut idx: Vec<usize> = (0..n).collect();
            let mut rng = Rng::seed_from_u64(seed ^ 0x5EED);
            for i in (1..n).rev() {
                idx.swap(i, rng.below(i as u64 + 1) as usize);
            }
            let n_test = ((n as f64) * f).round().max(1.0) as usize;
            let mut test = idx[..n_test].to_vec();
            let mut train = idx[n_test..].to_vec();
            train.sort_unstable();
            test.sort_unstable();
            Ok((train, test))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn positive_label_guess() {
        assert_eq!(guess_positive(&s(&["no", "yes", "no"])), Some("yes".into()));
        assert_eq!(guess_positive(&s(&["a", "b", "b"])), Some("a".into()), "the rarer");
        assert_eq!(guess_positive(&s(&["b", "a", "b"])), Some("a".into()));
        assert_eq!(guess_positive(&s(&["a", "b", "a"])), Some("b".into()));
        assert_eq!(guess_positive(&s(&["a", "b", "c"])), None);
    }

    #[test]
    fn splits() {
        assert_eq!(split_rows(5, Holdout::FromRow(4), 0).unwrap(), (vec![0, 1, 2], vec![3, 4]));
        assert!(matches!(split_rows(5, Holdout::FromRow(1), 0), Err(GbtError::InvalidParam { .. })));
        assert!(matches!(split_rows(5, Holdout::Fraction(1.0), 0), Err(GbtError::InvalidParam { .. })));
        let (train, test) = split_rows(100, Holdout::Fraction(0.2), 7).unwrap();
        assert_eq!((train.len(), test.len()), (80, 20));
        let mut all: Vec<usize> = train.iter().chain(&test).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
        assert_eq!(split_rows(100, Holdout::Fraction(0.2), 7).unwrap().1, test, "seeded");
    }
}
