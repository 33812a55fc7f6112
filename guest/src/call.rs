//! `scorekit_call`: decode the request, run the operation through `scorekit_artifact::ops`,
//! encode the response or the error message.

use alloc::format;
use alloc::string::{String, ToString};

use scorekit_abi::{op, status};
use scorekit_artifact::Artifact;
use scorekit_artifact::ops::OpsError;
use scorekit_core::Encoder;

use crate::state::{Output, State, payload};

/// A failed call: status and message.
struct Fail(i32, String);

impl From<scorekit_abi::WireError> for Fail {
    fn from(e: scorekit_abi::WireError) -> Self {
        Fail(status::BAD_INPUT, format!("malformed request: {e}"))
    }
}

impl From<OpsError> for Fail {
    fn from(e: OpsError) -> Self {
        let code = match e {
            OpsError::Unsupported { .. } => status::UNSUPPORTED,
            _ => status::BAD_INPUT,
        };
        Fail(code, e.to_string())
    }
}

pub fn call(st: &mut State, op: i32, len: i32) -> i32 {
    let result = match st.input_bytes(len) {
        Some(req) => dispatch(st, op, req),
        None => Err(Fail(status::BAD_INPUT, format!("request length {len} exceeds the input buffer"))),
    };
    let code = match result {
        Ok(()) => status::OK,
        Err(Fail(code, msg)) => {
            let mut b = st.take_bytes();
            b.extend_from_slice(msg.as_bytes());
            st.out = Output::Bytes(b);
            code
        }
    };
    st.publish_output();
    code
}

fn parts() -> Result<(&'static [u8], &'static [u8]), Fail> {
    let p = payload().ok_or_else(|| {
        Fail(status::INTERNAL, "this is the bare scorekit guest: no model was compiled into it".to_string())
    })?;
    scorekit_abi::payload::decode(p)
        .map_err(|e| Fail(status::INTERNAL, format!("corrupt model payload: {e}")))
}

fn artifact(st: &mut State) -> Result<&mut Artifact, Fail> {
    Ok(loaded(st)?.0)
}

/// The artifact, decoded on first use, and its level index, built with it.
fn loaded(st: &mut State) -> Result<(&mut Artifact, &Encoder), Fail> {
    if st.artifact.is_none() {
        let (_, bytes) = parts()?;
        let a = Artifact::from_bytes(bytes)
            .map_err(|e| Fail(status::INTERNAL, format!("model inside the module: {e}")))?;
        st.encoder = Some(a.encoder());
        st.artifact = Some(a);
    }
    match (st.artifact.as_mut(), st.encoder.as_ref()) {
        (Some(a), Some(e)) => Ok((a, e)),
        _ => Err(Fail(status::INTERNAL, "model not loaded".to_string())),
    }
}

fn dispatch(st: &mut State, op: i32, req: &'static [u8]) -> Result<(), Fail> {
    match op {
        op::SCHEMA => {
            let (json, _) = parts()?;
            let mut b = st.take_bytes();
            b.extend_from_slice(json);
            st.out = Output::Bytes(b);
        }
        op::SCORE | op::RCF_SCORE | op::EXPLAIN | op::RCF_UPDATE | op::RCF_SCORE_UPDATE => {
            let mut out = st.take_values();
            // The instance's rows buffer, put back after the call: a steady call allocates nothing.
            let mut rows = core::mem::take(&mut st.rows);
            let (a, encoder) = loaded(st)?;
            let first_row = a.decode_rows_into(req, Some(encoder), &mut rows)?;
            match op {
                op::EXPLAIN => a.explain(&rows, &mut out)?,
                op::RCF_UPDATE => a.update(&rows, first_row)?,
                op::RCF_SCORE_UPDATE => a.score_update(&rows, first_row, &mut out)?,
                op::RCF_SCORE if a.model.family() != scorekit_artifact::Family::Rcf => {
                    return Err(Fail(
                        status::UNSUPPORTED,
                        format!(
                            "operation 'rcf_score' is not supported by a {} model",
                            a.model.family().as_str()
                        ),
                    ));
                }
                #[cfg(feature = "gbt")]
                _ => a.score_with(&rows, &mut out, crate::trees::margins)?,
                #[cfg(not(feature = "gbt"))]
                _ => a.score(&rows, &mut out)?,
            }
            st.out = Output::Values(out);
            st.rows = rows;
        }
        op::FORECAST => forecast(st, req)?,
        op::STATE_EXPORT => {
            let bytes = artifact(st)?.export_state()?;
            st.out = Output::Bytes(bytes);
        }
        op::STATE_IMPORT => {
            artifact(st)?.import_state(req)?;
            st.out = Output::Bytes(st.take_bytes());
        }
        op::STATE_RESET => {
            st.artifact = None;
            st.encoder = None;
            artifact(st)?;
            st.out = Output::Bytes(st.take_bytes());
        }
        other => return Err(Fail(status::UNSUPPORTED, format!("unknown operation {other}"))),
    }
    Ok(())
}

#[cfg(feature = "forecast")]
fn forecast(st: &mut State, req: &'static [u8]) -> Result<(), Fail> {
    use scorekit_abi::{ForecastOutput, ForecastQuery};
    let (q, history) = ForecastQuery::decode(req)?;
    let request = scorekit_forecast::ForecastRequest {
        horizon: q.horizon as usize,
        quantiles: q.quantiles,
        num_samples: q.num_samples as usize,
        seed: q.seed,
        start: q.start,
    };
    let f = artifact(st)?.forecast(&history, &request)?;
    let out = ForecastOutput { mean: f.mean, quantiles: f.quantiles, samples: f.samples };
    let mut b = st.take_bytes();
    out.write(&mut b).map_err(|e| Fail(status::INTERNAL, format!("encoding the forecast: {e}")))?;
    st.out = Output::Bytes(b);
    Ok(())
}

/// A guest built without forecasters holds a model of another family: same answer as
/// `Artifact::forecast` gives it.
#[cfg(not(feature = "forecast"))]
fn forecast(st: &mut State, req: &'static [u8]) -> Result<(), Fail> {
    scorekit_abi::ForecastQuery::decode(req)?;
    let family = artifact(st)?.model.family().as_str();
    Err(OpsError::Unsupported { operation: "forecast", family }.into())
}
