//! What a host answered, and how two answers are compared.

use serde::{Deserialize, Serialize};

/// Values a host answered.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Table {
    /// Column names, in order (the host layer's names).
    pub columns: Vec<String>,
    /// One row of values per input row (or forecast step).
    pub rows: Vec<Vec<f64>>,
    /// Streams: readings learned at the end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readings: Option<u64>,
    /// Streams: per step, what happened to the state (`""`, `carried_over`, `restarted`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<String>,
}

/// A failure a host answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorOutcome {
    /// The host layer's kind (`client`, `model`, `limit`, `interrupted`, `unavailable`).
    pub kind: String,
    /// The host layer's code (`bad_input`, …), where the host reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The message.
    pub message: String,
}

/// A host's answer to a case.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Values.
    Values(Table),
    /// A failure.
    Error(ErrorOutcome),
}

/// The kind a stream notice describes.
pub fn notice_kind(notice: Option<&str>) -> String {
    match notice {
        None => String::new(),
        Some(n) if n.contains("carried over") => "carried_over".into(),
        Some(n) if n.contains("restarted") => "restarted".into(),
        Some(_) => "other".into(),
    }
}

impl Outcome {
    /// Whether `self` (a host's answer) agrees with `golden`; the reason when it does not.
    ///
    /// # Errors
    /// A description of the first difference.
    pub fn agrees(&self, golden: &Outcome) -> Result<(), String> {
        match (self, golden) {
            (Outcome::Values(got), Outcome::Values(want)) => {
                if got.columns != want.columns {
                    return Err(format!("columns {:?}, golden {:?}", got.columns, want.columns));
                }
                if got.rows.len() != want.rows.len() {
                    return Err(format!("{} rows, golden {}", got.rows.len(), want.rows.len()));
                }
                for (i, (g, w)) in got.rows.iter().zip(&want.rows).enumerate() {
                    let same = g.len() == w.len()
                        && g.iter()
                            .zip(w)
                            .all(|(a, b)| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()));
                    if !same {
                        return Err(format!("row {}: {g:?}, golden {w:?}", i + 1));
                    }
                }
                if want.readings.is_some() && got.readings.is_some() && got.readings != want.readings {
                    return Err(format!("readings {:?}, golden {:?}", got.readings, want.readings));
                }
                if !got.notices.is_empty() && got.notices != want.notices {
                    return Err(format!("notices {:?}, golden {:?}", got.notices, want.notices));
                }
                Ok(())
            }
            (Outcome::Error(got), Outcome::Error(want)) => {
                if got.kind != want.kind {
                    return Err(format!(
                        "error kind '{}' ({}), golden '{}' ({})",
                        got.kind, got.message, want.kind, want.message
                    ));
                }
                if let (Some(g), Some(w)) = (&got.code, &want.code)
                    && g != w
                {
                    return Err(format!("error code '{g}', golden '{w}'"));
                }
                if !got.message.contains(&want.message) {
                    return Err(format!(
                        "message {:?} does not contain the golden {:?}",
                        got.message, want.message
                    ));
                }
                Ok(())
            }
            (Outcome::Values(_), Outcome::Error(want)) => {
                Err(format!("values, golden is an error: {}", want.message))
            }
            (Outcome::Error(got), Outcome::Values(_)) => {
                Err(format!("error ({}: {}), golden has values", got.kind, got.message))
            }
        }
    }
}
