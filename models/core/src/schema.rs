//! What a model takes and returns; stored in every artifact and in every compiled module.

use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

/// The model families scorekit trains.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// Gradient-boosted trees: one row of features in, a probability (or value) out.
    Gbt,
    /// Random cut forest: a stream of points in, an anomaly score per point out.
    Rcf,
    /// Autoregressive quantile forecaster: a history in, a mean and quantiles per step out.
    Forecast,
}

impl Family {
    /// The lowercase name used on the command line, in file names and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Gbt => "gbt",
            Family::Rcf => "rcf",
            Family::Forecast => "forecast",
        }
    }
}

/// How one input column is read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldKind {
    /// A real number; a null or empty cell is a missing value.
    Numeric,
    /// One of a fixed list of levels, matched exactly; a number cell is matched by its text
    /// (`415` matches the level `"415"`). The level's position is the encoded feature value.
    Categorical {
        /// The levels seen in training, in encoding order.
        levels: Vec<String>,
    },
}

/// One input column of a model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Field {
    /// Column name as in the training data.
    pub name: String,
    /// How its cells are read.
    pub kind: FieldKind,
}

impl Field {
    /// A numeric column.
    pub fn numeric(name: impl Into<String>) -> Self {
        Field { name: name.into(), kind: FieldKind::Numeric }
    }

    /// A categorical column with the given levels.
    pub fn categorical(name: impl Into<String>, levels: Vec<String>) -> Self {
        Field { name: name.into(), kind: FieldKind::Categorical { levels } }
    }

    /// The level an encoded value of this field names: `x` read as a level index, a whole number
    /// in `0..levels` (what [`crate::Encoder`] writes for a level). `None` for anything else (a
    /// negative number, a fraction, NaN, an index past the levels) and for a numeric field.
    pub fn level_named_by(&self, x: f64) -> Option<&str> {
        match &self.kind {
            FieldKind::Categorical { levels } => level_index(x, levels.len()).map(|i| levels[i].as_str()),
            FieldKind::Numeric => None,
        }
    }
}

/// An encoded categorical value read as a level index: a whole number in `0..n_levels` (what
/// [`crate::Encoder`] writes for a level), else `None` (a negative number, a fraction, NaN, an
/// infinity, an index past the levels). The one reading every scorer and host uses.
#[inline]
pub fn level_index(x: f64, n_levels: usize) -> Option<usize> {
    // `as u32` saturates (NaN gives 0); the round trip rejects fractions, negatives, NaN and
    // values past `u32::MAX`, so one compare and one bound remain on the scoring path.
    let level = x as u32;
    (f64::from(level) == x && (level as usize) < n_levels).then_some(level as usize)
}

/// The contract of a trained model: its inputs in order, its outputs, and what it predicts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Schema {
    /// The model's name (e.g. `churn`).
    pub name: String,
    /// The model family.
    pub family: Family,
    /// Input columns in the order the model reads them. For RCF these are the dimensions of one
    /// stream reading; for the forecaster, the single series value.
    pub inputs: Vec<Field>,
    /// The training target column, when there is one.
    pub target: Option<String>,
    /// For binary classifiers, the target label whose probability is returned (e.g. `yes`).
    pub positive_label: Option<String>,
    /// Names of the values produced per scored row (e.g. `["probability"]`, `["score"]`).
    pub outputs: Vec<String>,
}

impl Schema {
    /// Position of the input column called `name`.
    pub fn input_index(&self, name: &str) -> Option<usize> {
        self.inputs.iter().position(|f| f.name == name)
    }

    /// Number of input columns.
    pub fn arity(&self) -> usize {
        self.inputs.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_encoded_value_names_a_level_only_as_a_whole_index_within_the_levels() {
        let plan = Field::categorical("plan", alloc::vec!["no".into(), "yes".into()]);
        assert_eq!(plan.level_named_by(0.0), Some("no"));
        assert_eq!(plan.level_named_by(1.0), Some("yes"));
        for x in [-1.0, -0.5, 0.5, 2.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert_eq!(plan.level_named_by(x), None, "value {x}");
        }
        assert_eq!(Field::numeric("x").level_named_by(0.0), None);
    }

    #[test]
    fn a_level_index_is_a_whole_number_below_the_count() {
        assert_eq!(level_index(0.0, 3), Some(0));
        assert_eq!(level_index(-0.0, 3), Some(0));
        assert_eq!(level_index(2.0, 3), Some(2));
        for x in [3.0, -1.0, 1.5, -0.5, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 4_294_967_296.0, 1e300] {
            assert_eq!(level_index(x, 3), None, "value {x}");
        }
        assert_eq!(level_index(4_294_967_295.0, usize::MAX), Some(4_294_967_295));
        assert_eq!(level_index(0.0, 0), None);
    }
}
