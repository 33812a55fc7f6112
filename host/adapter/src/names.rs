//! One naming of what a model returns, used by every host's output (CSV headers, JSON keys, SQL
//! column and row labels):
//!
//! | call | values per row | names |
//! |---|---|---|
//! | score | `schema.outputs` | the schema's output names (`probability`, `score`, …) |
//! | stream step (RCF score and learn) | 4 | `score`, `grade`, `is_anomaly`, `threshold` |
//! | explain | inputs + 1 | one term per input, named as the input, then `bias` (GBT: the expected margin the contributions start from) or `total` (RCF: the score the attributions sum to) |
//!
//! In a flat table (the CLI's CSV, a conformance row) explanation terms are columns named
//! `contribution_<term>` after the score columns.

use scorekit_core::{Family, Schema};

/// Names of the values a stream step returns per reading.
pub const STREAM_OUTPUTS: [&str; 4] = ["score", "grade", "is_anomaly", "threshold"];

/// Prefix of explanation terms as flat-table columns.
pub const CONTRIBUTION_PREFIX: &str = "contribution_";

/// Names of the values a score call returns per row.
pub fn score_outputs(schema: &Schema) -> Vec<String> {
    if schema.outputs.is_empty() { vec!["score".to_string()] } else { schema.outputs.clone() }
}

/// Keys of the values of one row in a SageMaker-style JSON answer: `score` for a model with one
/// output (what the built-in algorithms answer), else the output names.
pub fn record_keys(schema: &Schema) -> Vec<String> {
    let outputs = score_outputs(schema);
    if outputs.len() == 1 { vec!["score".to_string()] } else { outputs }
}

/// The name of the term an explanation ends with: what the per-input terms add up from or to.
pub fn explanation_base(family: Family) -> &'static str {
    match family {
        Family::Gbt => "bias",
        _ => "total",
    }
}

/// Names of the explanation terms: the inputs, then [`explanation_base`].
pub fn explanation_terms(schema: &Schema) -> Vec<String> {
    let mut terms: Vec<String> = schema.inputs.iter().map(|f| f.name.clone()).collect();
    terms.push(explanation_base(schema.family).to_string());
    terms
}

/// Explanation terms as flat-table columns (`contribution_<term>`).
pub fn explanation_columns(schema: &Schema) -> Vec<String> {
    explanation_terms(schema).into_iter().map(|t| format!("{CONTRIBUTION_PREFIX}{t}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use scorekit_core::Field;

    #[test]
    fn terms_and_columns() {
        let s = Schema {
            name: "m".into(),
            family: Family::Rcf,
            inputs: vec![Field::numeric("value")],
            target: None,
            positive_label: None,
            outputs: vec![],
        };
        assert_eq!(score_outputs(&s), ["score"]);
        assert_eq!(explanation_terms(&s), ["value", "total"]);
        assert_eq!(explanation_columns(&s), ["contribution_value", "contribution_total"]);
        assert_eq!(explanation_base(Family::Gbt), "bias");
    }
}
