//! The native core: `scorekit-host` over the fixture artifacts, no module and no process. It is
//! the reference host: `SCOREKIT_BLESS=1` writes its answers as the golden outcomes.

use std::sync::Arc;

use scorekit_host::formats::{csv, json};
use scorekit_host::native::NativeScorer;
use scorekit_host::streams::{BookConfig, MemoryStore, StepOp, StreamBook};
use scorekit_host::{
    AbsentInputs, BatchBuilder, ForecastQuery, Gaps, History, HostError, InputPolicy, NullInputs, Rows,
    Scorer, SharedScorer, names,
};
use serde_json::Value as Json;

use super::{Host, quantile_column};
use crate::case::{Case, Op, Policy};
use crate::fixtures::Fixtures;
use crate::outcome::{ErrorOutcome, Outcome, Table, notice_kind};

/// The native host.
#[derive(Default)]
pub struct NativeHost;

fn error(e: HostError) -> Outcome {
    Outcome::Error(ErrorOutcome {
        kind: e.kind().as_str().into(),
        code: Some(e.code.as_str().into()),
        message: e.message,
    })
}

/// The host-layer policy of a case.
pub fn input_policy(p: &Policy) -> InputPolicy {
    InputPolicy {
        nulls: p
            .nulls
            .as_deref()
            .map_or(NullInputs::default(), |s| NullInputs::parse(s).expect("case policy")),
        absent: p
            .absent
            .as_deref()
            .map_or(AbsentInputs::default(), |s| AbsentInputs::parse(s).expect("case policy")),
    }
}

fn batch(scorer: &dyn Scorer, case: &Case, rows: &[Json]) -> Result<Rows, HostError> {
    let mut b = BatchBuilder::new(scorer.info().schema(), input_policy(&case.policy));
    match &case.csv {
        Some(text) => csv::push_body(&mut b, text.as_bytes(), csv::Header::Present)?,
        None => {
            for r in rows {
                json::push_row(&mut b, r)?;
            }
        }
    }
    Ok(b.finish())
}

fn scorer(fx: &Fixtures, name: &str) -> SharedScorer {
    Arc::new(NativeScorer::new(fx.artifact(name).clone()))
}

fn stream_row(s: &scorekit_host::RcfStep) -> Vec<f64> {
    vec![s.score, s.grade, if s.is_anomaly { 1.0 } else { 0.0 }, s.threshold]
}

impl NativeHost {
    fn answer(case: &Case, fx: &Fixtures) -> Result<Table, HostError> {
        let main = scorer(fx, &case.model);
        let schema = main.info().schema().clone();
        match case.op {
            Op::Score => {
                let rows = batch(&*main, case, &case.input_rows())?;
                let cols = names::score_outputs(&schema);
                let v = main.score(&rows)?;
                Ok(Table {
                    rows: v.chunks(cols.len()).map(<[f64]>::to_vec).collect(),
                    columns: cols,
                    ..Table::default()
                })
            }
            Op::Explain => {
                let rows = batch(&*main, case, &case.input_rows())?;
                let cols = names::explanation_terms(&schema);
                let v = main.explain(&rows)?;
                Ok(Table {
                    rows: v.chunks(cols.len()).map(<[f64]>::to_vec).collect(),
                    columns: cols,
                    ..Table::default()
                })
            }
            Op::ScoreOnly => {
                let rows = batch(&*main, case, &case.input_rows())?;
                let v = main.score(&rows)?;
                Ok(Table {
                    columns: vec!["score".into()],
                    rows: v.into_iter().map(|x| vec![x]).collect(),
                    ..Table::default()
                })
            }
            Op::Stream | Op::StreamExplain => {
                let book = StreamBook::new(Arc::new(MemoryStore::new()), BookConfig::default());
                let steps: Vec<(String, Vec<Json>)> = if case.steps.is_empty() {
                    vec![(case.model.clone(), case.input_rows())]
                } else {
                    case.steps.iter().map(|s| (s.module.clone(), s.rows.clone())).collect()
                };
                let op = if case.op == Op::StreamExplain { StepOp::LearnExplained } else { StepOp::Learn };
                let mut t = Table {
                    columns: names::STREAM_OUTPUTS.iter().map(|s| s.to_string()).collect(),
                    ..Table::default()
                };
                if op == StepOp::LearnExplained {
                    t.columns.extend(names::explanation_terms(&schema));
                }
                let w = schema.inputs.len() + 1;
                for (module, rows) in steps {
                    let s = scorer(fx, &module);
                    let batch = batch(&*s, case, &rows)?;
                    let out = book.step(&s, &case.model, "conformance", &batch, op)?;
                    for (i, step) in out.steps.iter().enumerate() {
                        let mut r = stream_row(step);
                        if op == StepOp::LearnExplained {
                            r.extend_from_slice(&out.explanations[i * w..(i + 1) * w]);
                        }
                        t.rows.push(r);
                    }
                    t.readings = Some(out.readings);
                    t.notices.push(notice_kind(out.notice.as_deref()));
                }
                Ok(t)
            }
            Op::Forecast => {
                let f = case.forecast.as_ref().expect("a forecast case has 'forecast'");
                let values = json::history_values(&f.values)?;
                let history = match &f.timestamps {
                    Some(ts) => {
                        let ts = json::timestamps(&Json::Array(ts.clone()), "timestamps")?;
                        let gaps =
                            f.gaps.as_deref().map_or(Gaps::default(), |g| Gaps::parse(g).expect("case gaps"));
                        History::timed(&ts, &values, main.info().description.period_seconds, gaps)?
                    }
                    None => History::untimed(values, None)?,
                };
                let query = ForecastQuery {
                    horizon: f.horizon.unwrap_or(0),
                    quantiles: f.quantiles.clone(),
                    num_samples: 0,
                    seed: 0,
                    start: None,
                };
                let fc = main.forecast(&history, &query)?;
                let mut columns = vec!["step".to_string(), "mean".to_string()];
                columns.extend(fc.quantiles.iter().map(|(q, _)| quantile_column(*q)));
                let rows = (0..fc.mean.len())
                    .map(|i| {
                        let mut r = vec![(i + 1) as f64, fc.mean[i]];
                        r.extend(fc.quantiles.iter().map(|(_, v)| v[i]));
                        r
                    })
                    .collect();
                Ok(Table { columns, rows, ..Table::default() })
            }
        }
    }
}

impl Host for NativeHost {
    fn name(&self) -> &'static str {
        "native"
    }

    fn run(&mut self, case: &Case, fx: &Fixtures) -> Outcome {
        match Self::answer(case, fx) {
            Ok(t) => Outcome::Values(t),
            Err(e) => error(e),
        }
    }
}
