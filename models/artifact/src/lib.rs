//! The trained-model artifact: what `host train` writes and `host compile` turns into a module.
//!
//! An [`Artifact`] is the schema, the family's model (weights and, for RCF, streaming state) and
//! the training metrics, under a format number. It has two encodings of the same value:
//! JSON for files people look at (`*.model.json`) and a compact binary (magic + format +
//! postcard) that the Wasm guest decodes at start-up. Both refuse a format this build does not
//! know rather than misread it.
#![no_std]
#![deny(missing_docs)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod absent;
pub mod ops;

use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

pub use absent::Absent;
pub use ops::{OpsError, STREAM_OUTPUTS};
pub use scorekit_abi::Description;
pub use scorekit_core::{Family, Metric, Schema};
#[cfg(feature = "forecast")]
pub use scorekit_forecast::ForecastModel;
#[cfg(feature = "gbt")]
pub use scorekit_gbt::GbtModel;
#[cfg(feature = "rcf")]
pub use scorekit_rcf::RcfModel;

/// The artifact format this build writes and reads. Bump it whenever a serialised type changes
/// shape; add a migration in [`Artifact::from_json`] if old files must stay readable.
///
/// 2: forecaster (profile blend, global mode) and RCF (threshold settings in the model) changes.
/// 3: GBT models store the feature importance instead of per-node gains (JSON), and postcard
/// holds them in a compact form (threshold table, integer covers); older GBT JSON files still
/// load.
/// 4: RCF postcard (modules, stream checkpoints) writes the point store as indices into a table
/// of distinct values and child references without the leaf bit; the JSON is unchanged.
/// 5: RCF postcard writes the forest as one compact, lossless bit stream (points as windows of
/// the readings, cuts as positions between their children's values, sorted gap-coded sampler
/// weights; `scorekit_rcf::RcfModel`), numbered canonically on load; the JSON is unchanged, and
/// format-4 postcard RCF state (stream checkpoints) still loads.
pub const FORMAT_VERSION: u32 = 5;

/// Whether JSON of `format` for a `family` model still loads: GBT files of every earlier format
/// (their JSON only gained the importance; per-node gains still load); RCF and forecaster files
/// from format 2 on (formats 3 to 5 changed only GBT JSON and RCF postcard). Only JSON reading
/// (native, `std`) asks; a guest reads postcard alone.
#[cfg(feature = "std")]
fn json_format_readable(format: u32, family: Family) -> bool {
    let oldest = match family {
        Family::Gbt => 1,
        Family::Rcf | Family::Forecast => 2,
    };
    (oldest..=FORMAT_VERSION).contains(&format)
}

/// Leading bytes of the binary encoding.
pub const BINARY_MAGIC: &[u8; 8] = b"SKMODEL\0";

/// A trained model of any family, with everything needed to score it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Artifact {
    /// Format number, [`FORMAT_VERSION`] when written by this build.
    pub format: u32,
    /// Inputs, outputs, family, name.
    pub schema: Schema,
    /// Held-out evaluation figures recorded at training time (name, value).
    pub metrics: Vec<Metric>,
    /// Free-form provenance: data file, row counts, hyper-parameters, scorekit version.
    pub provenance: Vec<(String, String)>,
    /// The family's trained model.
    pub model: Model,
}

/// The family-specific trained model. A build without a family (a guest built for another
/// family) keeps its variant, holding [`Absent`], so that the encoding of the others is the same.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(
    not(all(feature = "gbt", feature = "rcf", feature = "forecast")),
    allow(clippy::large_enum_variant)
)]
pub enum Model {
    /// Gradient-boosted trees.
    #[cfg(feature = "gbt")]
    Gbt(GbtModel),
    /// Gradient-boosted trees (not in this build).
    #[cfg(not(feature = "gbt"))]
    Gbt(Absent),
    /// Random cut forest with its streaming state.
    #[cfg(feature = "rcf")]
    Rcf(RcfModel),
    /// Random cut forest (not in this build).
    #[cfg(not(feature = "rcf"))]
    Rcf(Absent),
    /// Quantile forecaster.
    #[cfg(feature = "forecast")]
    Forecast(ForecastModel),
    /// Quantile forecaster (not in this build).
    #[cfg(not(feature = "forecast"))]
    Forecast(Absent),
}

impl Model {
    /// The family of this model.
    pub fn family(&self) -> Family {
        match self {
            Model::Gbt(_) => Family::Gbt,
            Model::Rcf(_) => Family::Rcf,
            Model::Forecast(_) => Family::Forecast,
        }
    }
}

/// Why an artifact could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArtifactError {
    /// The bytes do not start with [`BINARY_MAGIC`].
    #[error("not a scorekit model artifact (bad magic)")]
    BadMagic,
    /// The artifact was written by a format this build does not read.
    #[error("artifact format {found} is not supported (this build reads format {supported})")]
    UnsupportedFormat {
        /// Format number found in the artifact.
        found: u32,
        /// Format number this build reads.
        supported: u32,
    },
    /// The binary body is malformed.
    #[error("corrupt model artifact: {0}")]
    Corrupt(String),
    /// The JSON is malformed.
    #[cfg(feature = "std")]
    #[error("invalid model artifact JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// Schema family and model family disagree.
    #[error("artifact schema says family '{schema}' but holds a '{model}' model")]
    FamilyMismatch {
        /// Family in the schema.
        schema: &'static str,
        /// Family of the model.
        model: &'static str,
    },
    /// The artifact holds a model of a family this build leaves out (a guest built for another
    /// family).
    #[error("artifact holds a {0} model, but this build does not contain the {0} family")]
    FamilyNotBuilt(&'static str),
}

/// Whether this build contains `family` (native builds have every family).
pub fn family_built(family: Family) -> bool {
    match family {
        Family::Gbt => cfg!(feature = "gbt"),
        Family::Rcf => cfg!(feature = "rcf"),
        Family::Forecast => cfg!(feature = "forecast"),
    }
}

impl Artifact {
    /// Wraps a freshly trained model under the current format.
    pub fn new(schema: Schema, model: Model) -> Self {
        Artifact { format: FORMAT_VERSION, schema, metrics: Vec::new(), provenance: Vec::new(), model }
    }

    /// The metric called `name`, if recorded.
    pub fn metric(&self, name: &str) -> Option<f64> {
        self.metrics.iter().find(|m| m.name == name).map(|m| m.value)
    }

    fn check(self) -> Result<Self, ArtifactError> {
        if self.format != FORMAT_VERSION {
            return Err(ArtifactError::UnsupportedFormat { found: self.format, supported: FORMAT_VERSION });
        }
        #[cfg(feature = "forecast")]
        if let Model::Forecast(m) = &self.model {
            m.check().map_err(|e| ArtifactError::Corrupt(alloc::format!("{e}")))?;
        }
        if self.schema.family != self.model.family() {
            return Err(ArtifactError::FamilyMismatch {
                schema: self.schema.family.as_str(),
                model: self.model.family().as_str(),
            });
        }
        Ok(self)
    }

    /// Compact binary encoding: magic, format (u32 LE), postcard body. Deterministic: the same
    /// artifact always gives the same bytes, which makes compiled modules hash-stable.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1024);
        out.extend_from_slice(BINARY_MAGIC);
        out.extend_from_slice(&self.format.to_le_bytes());
        // Serialising plain data into a Vec cannot fail.
        let body = postcard::to_allocvec(self).expect("postcard encoding of an in-memory artifact");
        out.extend_from_slice(&body);
        out
    }

    /// Decodes [`Artifact::to_bytes`] output.
    ///
    /// # Errors
    /// [`ArtifactError::BadMagic`], [`ArtifactError::UnsupportedFormat`] (checked before the body
    /// is decoded), [`ArtifactError::Corrupt`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ArtifactError> {
        if bytes.len() < 12 || &bytes[..8] != BINARY_MAGIC {
            return Err(ArtifactError::BadMagic);
        }
        let format = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
        if format != FORMAT_VERSION {
            return Err(ArtifactError::UnsupportedFormat { found: format, supported: FORMAT_VERSION });
        }
        let corrupt = |e: postcard::Error| ArtifactError::Corrupt(alloc::format!("{e}"));
        // The schema comes before the model: read it first, so that a model of a family this
        // build leaves out is named as such instead of failing somewhere inside its fields.
        #[derive(Deserialize)]
        struct Head {
            _format: u32,
            schema: Schema,
        }
        let (head, _) = postcard::take_from_bytes::<Head>(&bytes[12..]).map_err(corrupt)?;
        if !family_built(head.schema.family) {
            return Err(ArtifactError::FamilyNotBuilt(head.schema.family.as_str()));
        }
        let artifact: Artifact = postcard::from_bytes(&bytes[12..]).map_err(corrupt)?;
        artifact.check()
    }

    /// Pretty JSON, for `*.model.json` files.
    #[cfg(feature = "std")]
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("JSON encoding of an in-memory artifact")
    }

    /// Reads JSON written by [`Artifact::to_json`], checking the format number first so that a
    /// newer file gets a clear refusal instead of a field-by-field parse error.
    ///
    /// # Errors
    /// [`ArtifactError::Json`], [`ArtifactError::UnsupportedFormat`],
    /// [`ArtifactError::FamilyMismatch`].
    #[cfg(feature = "std")]
    pub fn from_json(text: &str) -> Result<Self, ArtifactError> {
        #[derive(Deserialize)]
        struct Envelope {
            format: u32,
            // Absent in a file that is no artifact at all: its format is judged alone then
            // (and the full parse below names what is missing).
            #[serde(default)]
            schema: Option<Head>,
        }
        #[derive(Deserialize)]
        struct Head {
            family: Family,
        }
        let env: Envelope = serde_json::from_str(text)?;
        let readable = match env.schema {
            Some(head) => json_format_readable(env.format, head.family),
            None => (1..=FORMAT_VERSION).contains(&env.format),
        };
        if !readable {
            return Err(ArtifactError::UnsupportedFormat { found: env.format, supported: FORMAT_VERSION });
        }
        let mut artifact: Artifact = serde_json::from_str(text)?;
        // An older file that still loads is now in this format (it is written back as such).
        artifact.format = FORMAT_VERSION;
        artifact.check()
    }
}

impl Artifact {
    /// The description a module of this artifact carries (`scorekit.schema` section, op SCHEMA):
    /// every fact a host needs before calling it, including the hex SHA-256 of
    /// [`Artifact::to_bytes`] that ties the module to this artifact, and that of the trained
    /// model alone (what decides whether a stream's state can carry over a redeploy).
    pub fn description(&self) -> Description {
        use sha2::Digest;
        let forecaster = self.forecaster_facts();
        let hex = |bytes: &[u8]| {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            let mut s = String::with_capacity(64);
            for b in sha2::Sha256::digest(bytes) {
                s.push(HEX[(b >> 4) as usize] as char);
                s.push(HEX[(b & 15) as usize] as char);
            }
            s
        };
        let artifact_sha256 = hex(&self.to_bytes());
        let model_sha256 = postcard::to_allocvec(&self.model).map(|b| hex(&b)).unwrap_or_default();
        Description {
            abi: scorekit_abi::ABI_VERSION,
            abi_minor: scorekit_abi::ABI_MINOR,
            family: self.schema.family,
            format: self.format,
            schema: self.schema.clone(),
            metrics: self.metrics.clone(),
            provenance: self.provenance.clone(),
            artifact_sha256,
            model_sha256,
            max_horizon: forecaster.map(|f| f.max_horizon),
            context_length: forecaster.map(|f| f.context_length),
            min_history: forecaster.map(|f| f.min_history),
            period_seconds: forecaster.and_then(|f| f.period_seconds),
            requires_start: forecaster.is_some_and(|f| f.requires_start),
        }
    }

    /// What a host must know about a forecaster before calling it (`None` for other families).
    fn forecaster_facts(&self) -> Option<ForecasterFacts> {
        match &self.model {
            #[cfg(feature = "forecast")]
            Model::Forecast(m) => Some(ForecasterFacts {
                max_horizon: m.max_horizon() as u32,
                context_length: m.context_length() as u32,
                min_history: m.min_history() as u32,
                period_seconds: m.period_seconds(),
                requires_start: m.uses_calendar(),
            }),
            _ => None,
        }
    }
}

#[derive(Clone, Copy)]
struct ForecasterFacts {
    max_horizon: u32,
    context_length: u32,
    min_history: u32,
    period_seconds: Option<i64>,
    requires_start: bool,
}
