//! The one call surface of a model, whatever runs it: a local module in wasmtime
//! ([`crate::local`]), a trained artifact natively ([`crate::native`]), the browser's own
//! WebAssembly, a remote endpoint. Hosts hold `Arc<dyn Scorer>` ([`SharedScorer`]) and never name
//! what is behind it.

use std::sync::{Arc, OnceLock};

use scorekit_abi::values::RcfStep;
use scorekit_abi::{Description, ForecastOutput, ForecastQuery, Rows};
use scorekit_core::{Encoder, Family, Schema};

use crate::error::HostResult;
use crate::history::History;

/// `Send + Sync` where threads exist; nothing on `wasm32` (the browser's JavaScript objects are
/// single-threaded, and the browser host implements [`Scorer`] over them).
#[cfg(not(target_arch = "wasm32"))]
pub trait MaybeSendSync: Send + Sync {}
#[cfg(not(target_arch = "wasm32"))]
impl<T: Send + Sync + ?Sized> MaybeSendSync for T {}
/// `Send + Sync` where threads exist; nothing on `wasm32`.
#[cfg(target_arch = "wasm32")]
pub trait MaybeSendSync {}
#[cfg(target_arch = "wasm32")]
impl<T: ?Sized> MaybeSendSync for T {}

/// `Send` where threads exist; nothing on `wasm32`.
#[cfg(not(target_arch = "wasm32"))]
pub trait MaybeSend: Send {}
#[cfg(not(target_arch = "wasm32"))]
impl<T: Send + ?Sized> MaybeSend for T {}
/// `Send` where threads exist; nothing on `wasm32`.
#[cfg(target_arch = "wasm32")]
pub trait MaybeSend {}
#[cfg(target_arch = "wasm32")]
impl<T: ?Sized> MaybeSend for T {}

/// What identifies a model and how to call it.
#[derive(Clone, Debug)]
pub struct ModelInfo {
    /// Lowercase hex SHA-256 of the module file: the model version's identity. (A native
    /// artifact has no module; its identity is `artifact:` + the artifact's hash.)
    pub sha256: String,
    /// Size in bytes of the module (or artifact encoding).
    pub size: usize,
    /// The module's description: schema, family, forecaster facts.
    pub description: Description,
    /// The inputs' level matching, built on first use ([`ModelInfo::levels`]).
    levels: OnceLock<Encoder>,
}

/// Two infos are equal when they describe the same model (the level index follows from it).
impl PartialEq for ModelInfo {
    fn eq(&self, other: &Self) -> bool {
        (&self.sha256, self.size, &self.description) == (&other.sha256, other.size, &other.description)
    }
}

impl ModelInfo {
    /// The info of the model with this identity, size and description.
    pub fn new(sha256: String, size: usize, description: Description) -> Self {
        ModelInfo { sha256, size, description, levels: OnceLock::new() }
    }

    /// The model's own level matching for its inputs (scorekit-core's [`Encoder`], as the
    /// module builds it from the same schema), built once per loaded model: with it a
    /// [`crate::BatchBuilder`] sends rows already encoded (see [`crate::BatchBuilder::for_model`]).
    pub fn levels(&self) -> &Encoder {
        self.levels.get_or_init(|| Encoder::new(&self.description.schema.inputs))
    }

    /// Inputs, outputs, family and the model's own name.
    pub fn schema(&self) -> &Schema {
        &self.description.schema
    }

    /// The model family.
    pub fn family(&self) -> Family {
        self.description.family
    }

    /// The longest forecast horizon (forecasters).
    pub fn max_horizon(&self) -> Option<u32> {
        self.description.max_horizon
    }
}

/// A loaded model: stateless calls, safe to share between request threads.
pub trait Scorer: MaybeSendSync {
    /// Identity and description.
    fn info(&self) -> &ModelInfo;

    /// Scores a batch: `n_rows × score_outputs` values, row-major (GBT: probability or value;
    /// RCF: anomaly score of each reading after the trained state, which does not change).
    ///
    /// # Errors
    /// A [`crate::HostError`] naming the problem (rows from the batch's row base + 1).
    fn score(&self, rows: &Rows) -> HostResult<Vec<f64>>;

    /// Explains a batch: `n_rows × (n_inputs + 1)` values (see [`crate::names`]).
    ///
    /// # Errors
    /// As [`Scorer::score`].
    fn explain(&self, rows: &Rows) -> HostResult<Vec<f64>>;

    /// Forecasts from `history` (a forecaster). `query.horizon` 0 = the model's own horizon;
    /// `query.start` is ignored in favour of `history.start`.
    ///
    /// # Errors
    /// As [`Scorer::score`].
    fn forecast(&self, history: &History, query: &ForecastQuery) -> HostResult<ForecastOutput>;

    /// Opens a stream (RCF): state of its own, starting from the trained state.
    ///
    /// # Errors
    /// Unsupported family, or no instance can be created.
    fn open_stream(&self) -> HostResult<Box<dyn StreamScorer>>;

    /// Whether a call may wait on the network (a remote endpoint behind it): a host must never
    /// run such a call on an event-loop thread, however cheap its earlier calls were.
    fn waits_on_network(&self) -> bool {
        false
    }

    /// The body a SageMaker endpoint answers a `text/csv` request of `rows` with (`Accept:
    /// text/csv`), as text: what Aurora's `aws_sagemaker.invoke_endpoint` returns. A remote
    /// endpoint's body comes back as it was sent, unparsed; any other scorer scores and writes
    /// the body `host serve` writes ([`crate::formats::csv::write_answer`]).
    ///
    /// # Errors
    /// As [`Scorer::score`]; a remote body that is not UTF-8 text.
    fn csv_answer(&self, rows: &Rows) -> HostResult<String> {
        let values = self.score(rows)?;
        let info = self.info();
        Ok(crate::formats::csv::write_answer(
            &values,
            info.family(),
            crate::names::score_outputs(info.schema()).len(),
        ))
    }

    /// Each row's own [`Scorer::csv_answer`] for a batch of `rows`, from as few calls as the
    /// scorer can make: what a host that batches row-by-row calls (PostgreSQL's batched
    /// `invoke_endpoint`) gives each row. A local scorer scores once and writes each row's body; a
    /// remote one sends the rows in requests and splits each answer into its rows
    /// ([`crate::formats::csv::split_answer`]).
    ///
    /// # Errors
    /// As [`Scorer::csv_answer`]; a remote answer that does not hold one answer per row.
    fn csv_answers(&self, rows: &Rows) -> HostResult<Vec<String>> {
        let values = self.score(rows)?;
        let info = self.info();
        let width = crate::names::score_outputs(info.schema()).len().max(1);
        Ok(values
            .chunks(width)
            .map(|row| crate::formats::csv::write_answer(row, info.family(), width))
            .collect())
    }

    /// What this scorer counts about itself, for a host's metrics: a composed scorer (a policy
    /// over a local module and a remote endpoint) reports its calls, fallbacks, circuit breaker
    /// and shadow agreement here. Plain scorers count nothing.
    fn stats(&self) -> Vec<Stat> {
        Vec::new()
    }
}

/// A scorer shared between threads.
pub type SharedScorer = Arc<dyn Scorer>;

/// Whether a [`Stat`] only grows or goes up and down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatKind {
    /// Only grows (Prometheus `counter`).
    Counter,
    /// Goes up and down (Prometheus `gauge`).
    Gauge,
}

/// One number a scorer reports about itself ([`Scorer::stats`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Stat {
    /// Metric name without a host prefix, e.g. `remote_calls_total`.
    pub name: &'static str,
    /// One line saying what it counts.
    pub help: &'static str,
    /// Counter or gauge.
    pub kind: StatKind,
    /// Labels besides the model's name, e.g. `("outcome", "throttled")`.
    pub labels: Vec<(&'static str, String)>,
    /// The value.
    pub value: f64,
}

/// What serves each model name when that is more than its local module: a remote endpoint, a
/// fallback or shadow policy (`policy::Policies`, feature `remote`). Hosts that load modules by
/// name (the server's registry, `host score`, the SQL plugins) hand every module they load to
/// [`Backends::scorer`] and serve what it returns.
pub trait Backends: MaybeSendSync {
    /// The scorer that answers for model `name`, given its local module (`None`: there is none).
    /// `Ok(None)`: nothing serves `name`.
    ///
    /// # Errors
    /// A [`crate::HostError`] naming why `name` cannot be served as configured.
    fn scorer(&self, name: &str, local: Option<SharedScorer>) -> HostResult<Option<SharedScorer>>;

    /// Names that may be served without a local module (their policy can answer remotely).
    fn remote_names(&self) -> Vec<String>;
}

/// One RCF stream: state that learns from every reading it scores.
pub trait StreamScorer: MaybeSend {
    /// Scores each reading, then learns it.
    ///
    /// # Errors
    /// A [`crate::HostError`]; readings before a bad one have been learned.
    fn score_update(&mut self, rows: &Rows) -> HostResult<Vec<RcfStep>>;

    /// Scores readings against the current state without learning: one value per row.
    ///
    /// # Errors
    /// As [`StreamScorer::score_update`].
    fn score(&mut self, rows: &Rows) -> HostResult<Vec<f64>>;

    /// Explains readings against the current state without learning (attribution per input,
    /// then the total).
    ///
    /// # Errors
    /// As [`StreamScorer::score_update`].
    fn explain(&mut self, rows: &Rows) -> HostResult<Vec<f64>>;

    /// The state as opaque bytes.
    ///
    /// # Errors
    /// A [`crate::HostError`] (the stream's state was lost).
    fn export_state(&mut self) -> HostResult<Vec<u8>>;

    /// Bytes of memory the live stream holds (what the stream book's memory bound counts).
    fn footprint(&self) -> usize {
        0
    }

    /// Replaces the state with bytes from [`StreamScorer::export_state`] (of this model or one of
    /// the same shape). On failure the current state is kept.
    ///
    /// # Errors
    /// A [`crate::HostError`] ([`crate::Code::BadInput`] for a state of another shape).
    fn import_state(&mut self, state: &[u8]) -> HostResult<()>;
}

/// The SHA-256 of `bytes` as lowercase hex, as every host names a module (listings, pins, ETags).
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// A SHA-256 digest as lowercase hex (the text [`parse_sha256_hex`] reads back).
pub fn digest_hex(digest: &[u8; 32]) -> String {
    hex::encode(digest)
}

/// The SHA-256 a pin names (`pinned_sha256` of [`ModuleLoader::load`]) from its 64 hex digits,
/// either case; `None` for any other text.
pub fn parse_sha256_hex(text: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(out)
}

/// Loads module bytes into a scorer (the server's registry, the SQL plugins' caches).
pub trait ModuleLoader: MaybeSendSync {
    /// Validates and loads a module, optionally pinned to a SHA-256.
    ///
    /// # Errors
    /// [`crate::Code::InvalidModule`] naming why.
    fn load(&self, bytes: &[u8], pinned_sha256: Option<[u8; 32]>) -> HostResult<SharedScorer>;
}

#[cfg(test)]
mod tests {
    use super::{digest_hex, parse_sha256_hex, sha256_hex};

    #[test]
    fn a_pin_is_exactly_64_hex_digits() {
        let digits = "00ff10AB".repeat(8);
        let sha = parse_sha256_hex(&digits).expect("64 digits");
        assert_eq!(&sha[..4], &[0x00, 0xff, 0x10, 0xab]);
        assert_eq!(sha[31], 0xab);
        for bad in [
            &digits[..63],
            &format!("{digits}0"),
            "",
            &format!("+f{}", &digits[2..]),
            &format!("é{}", &digits[2..]),
        ] {
            assert_eq!(parse_sha256_hex(bad), None, "{bad:?}");
        }
        assert_eq!(digest_hex(&sha), digits.to_ascii_lowercase());
        // The SHA-256 of "abc" (FIPS 180-2's first example).
        let abc = sha256_hex(b"abc");
        assert_eq!(abc, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(parse_sha256_hex(&abc).map(|d| digest_hex(&d)), Some(abc));
    }
}
