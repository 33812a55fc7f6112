//! The module's description: the JSON of the `scorekit.schema` custom section, also returned by
//! op `SCHEMA`. It records every fact a host needs before its first call (schema, family,
//! forecaster horizon and sampling period, ABI minor version), so that no host has to probe a
//! module to learn how to call it.

use alloc::string::String;
use alloc::vec::Vec;

use scorekit_core::{Family, Metric, Schema};
use serde::{Deserialize, Serialize};

/// ABI minor version written by this crate's guest: 1 = the rows header's `row_base` field is
/// honoured (rows in messages are numbered from `row_base + 1`); 2 = the module also exports
/// [`crate::exports::CALL_SLOT`], so a steady call is one Wasm entry. Modules without the field
/// are minor 0 and require `row_base = 0`.
pub const ABI_MINOR: u32 = 2;

/// The JSON of the `scorekit.schema` custom section (see `docs/abi.md`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Description {
    /// ABI major version of the module.
    pub abi: i32,
    /// ABI minor version (absent in modules compiled before it was recorded: 0).
    #[serde(default)]
    pub abi_minor: u32,
    /// Model family.
    pub family: Family,
    /// Artifact format number.
    pub format: u32,
    /// Inputs, outputs, name.
    pub schema: Schema,
    /// Training metrics.
    pub metrics: Vec<Metric>,
    /// Provenance pairs.
    pub provenance: Vec<(String, String)>,
    /// Hex SHA-256 of the artifact's binary encoding inside the module.
    pub artifact_sha256: String,
    /// Hex SHA-256 of the trained model alone (weights and, for RCF, the trained stream state),
    /// without schema, metrics or provenance: two modules with the same value hold the same
    /// trained model (absent in older modules: empty).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub model_sha256: String,
    /// Forecasters: the longest horizon one request may ask for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_horizon: Option<u32>,
    /// Forecasters: how many past values the model reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_length: Option<u32>,
    /// Forecasters: the shortest history accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_history: Option<u32>,
    /// Forecasters trained with timestamps: the sampling period in seconds. Hosts check a
    /// scoring history's spacing against it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_seconds: Option<i64>,
    /// Forecasters: whether a request must carry the history's start time (calendar features).
    #[serde(default, skip_serializing_if = "core::ops::Not::not")]
    pub requires_start: bool,
}

impl Description {
    /// Whether the module numbers rows in messages from the request's `row_base`.
    pub fn honours_row_base(&self) -> bool {
        self.abi_minor >= 1
    }

    /// Whether the module exports [`crate::exports::CALL_SLOT`] (minor 2), which a host may use
    /// instead of calling `scorekit_input`, `scorekit_output_ptr` and `scorekit_output_len`.
    pub fn has_call_slot(&self) -> bool {
        self.abi_minor >= 2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_descriptions_still_read_with_defaults() {
        let old = r#"{"abi":1,"family":"gbt","format":1,"schema":{"name":"t","family":"gbt","inputs":[],"target":null,"positive_label":null,"outputs":["y"]},"metrics":[],"provenance":[],"artifact_sha256":"00"}"#;
        let d: Description = serde_json::from_str(old).unwrap();
        assert_eq!((d.abi_minor, d.max_horizon, d.requires_start), (0, None, false));
        assert!(!d.honours_row_base());
    }
}
