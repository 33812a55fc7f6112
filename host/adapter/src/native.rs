//! [`Scorer`] over a trained artifact, run natively: `host score NAME.model.json` and the
//! conformance suite's reference host. It calls the very functions the guest calls
//! (`scorekit_artifact::ops`, including decoding the rows request), so it answers bit for bit
//! like a module of the same artifact.

use scorekit_abi::values::RcfStep;
use scorekit_abi::{ForecastOutput, ForecastQuery, Rows};
use scorekit_artifact::{Artifact, Model, OpsError};
use scorekit_core::Encoder;
use scorekit_forecast::ForecastRequest;

use crate::error::{Code, HostError, HostResult};
use crate::history::History;
use crate::scorer::{ModelInfo, Scorer, StreamScorer};

/// The one mapping of native operation failures to the host layer's codes (the guest maps the
/// same errors to the same ABI statuses).
pub fn host_error(e: OpsError) -> HostError {
    let code = match &e {
        OpsError::Unsupported { .. } => Code::Unsupported,
        _ => Code::BadInput,
    };
    HostError::new(code, e.to_string())
}

/// A trained artifact as a [`Scorer`].
#[derive(Debug)]
pub struct NativeScorer {
    info: ModelInfo,
    artifact: Artifact,
    /// The artifact's level index, built once (the guest keeps one per instance too).
    encoder: Encoder,
}

impl NativeScorer {
    /// Wraps an artifact. Its identity is `artifact:` + the hex SHA-256 of its binary encoding
    /// (the `artifact_sha256` every module compiled from it records).
    pub fn new(artifact: Artifact) -> Self {
        let description = artifact.description();
        let info = ModelInfo::new(
            format!("artifact:{}", description.artifact_sha256),
            artifact.to_bytes().len(),
            description,
        );
        let encoder = artifact.encoder();
        NativeScorer { info, artifact, encoder }
    }

    /// The artifact.
    pub fn artifact(&self) -> &Artifact {
        &self.artifact
    }
}

fn decode(a: &Artifact, encoder: &Encoder, rows: &Rows) -> HostResult<(Vec<f64>, usize)> {
    a.decode_rows_with(rows.as_bytes(), encoder).map_err(host_error)
}

impl Scorer for NativeScorer {
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn score(&self, rows: &Rows) -> HostResult<Vec<f64>> {
        let (encoded, _) = decode(&self.artifact, &self.encoder, rows)?;
        let mut out = Vec::with_capacity(rows.n_rows());
        self.artifact.score(&encoded, &mut out).map_err(host_error)?;
        Ok(out)
    }

    fn explain(&self, rows: &Rows) -> HostResult<Vec<f64>> {
        let (encoded, _) = decode(&self.artifact, &self.encoder, rows)?;
        let mut out = Vec::new();
        self.artifact.explain(&encoded, &mut out).map_err(host_error)?;
        Ok(out)
    }

    fn forecast(&self, history: &History, query: &ForecastQuery) -> HostResult<ForecastOutput> {
        let request = ForecastRequest {
            horizon: query.horizon as usize,
            quantiles: query.quantiles.clone(),
            num_samples: query.num_samples as usize,
            seed: query.seed,
            start: history.start,
        };
        let f = self.artifact.forecast(&history.values, &request).map_err(host_error)?;
        Ok(ForecastOutput { mean: f.mean, quantiles: f.quantiles, samples: f.samples })
    }

    fn open_stream(&self) -> HostResult<Box<dyn StreamScorer>> {
        match &self.artifact.model {
            Model::Rcf(_) => {
                let footprint = self.artifact.export_state().map_or(0, |s| s.len());
                Ok(Box::new(NativeStream {
                    artifact: self.artifact.clone(),
                    encoder: self.encoder.clone(),
                    footprint,
                }))
            }
            other => Err(HostError::new(
                Code::Unsupported,
                format!("operation 'stream' is not supported by a {} model", other.family().as_str()),
            )),
        }
    }
}

/// A stream over its own copy of the artifact (the RCF model is the state).
struct NativeStream {
    artifact: Artifact,
    /// The level index of the artifact's inputs (a stream never changes its schema).
    encoder: Encoder,
    /// The forest's encoded size when the stream opened: close to what it holds in memory
    /// (a forest's size is fixed by its configuration).
    footprint: usize,
}

impl NativeStream {
    fn with<T>(&mut self, f: impl FnOnce(&mut Artifact, &Encoder) -> HostResult<T>) -> HostResult<T> {
        f(&mut self.artifact, &self.encoder)
    }
}

impl StreamScorer for NativeStream {
    fn score_update(&mut self, rows: &Rows) -> HostResult<Vec<RcfStep>> {
        self.with(|a, enc| {
            let (encoded, first_row) = decode(a, enc, rows)?;
            let mut out = Vec::new();
            a.score_update(&encoded, first_row, &mut out).map_err(host_error)?;
            Ok(out
                .chunks_exact(4)
                .map(|v| RcfStep { score: v[0], grade: v[1], is_anomaly: v[2] != 0.0, threshold: v[3] })
                .collect())
        })
    }

    fn score(&mut self, rows: &Rows) -> HostResult<Vec<f64>> {
        self.with(|a, enc| {
            let (encoded, _) = decode(a, enc, rows)?;
            let mut out = Vec::new();
            a.score(&encoded, &mut out).map_err(host_error)?;
            Ok(out)
        })
    }

    fn explain(&mut self, rows: &Rows) -> HostResult<Vec<f64>> {
        self.with(|a, enc| {
            let (encoded, _) = decode(a, enc, rows)?;
            let mut out = Vec::new();
            a.explain(&encoded, &mut out).map_err(host_error)?;
            Ok(out)
        })
    }

    fn export_state(&mut self) -> HostResult<Vec<u8>> {
        self.with(|a, _| a.export_state().map_err(host_error))
    }

    fn import_state(&mut self, state: &[u8]) -> HostResult<()> {
        self.with(|a, _| a.import_state(state).map_err(host_error))
    }

    fn footprint(&self) -> usize {
        self.footprint
    }
}
