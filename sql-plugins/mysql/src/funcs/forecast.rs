//! `scorekit_forecast(model, history [, timestamps [, configuration]])` → STRING: a forecast as
//! DeepAR writes one prediction (`scorekit_host::formats::deepar`):
//! `{"mean":[…],"quantiles":{"0.1":[…],"0.5":[…],"0.9":[…]}}` (and `"samples"` when asked for).
//!
//! * `history`: the values, oldest first, as text of comma-separated numbers
//!   (`GROUP_CONCAT(value ORDER BY ts)`) or a JSON array (`JSON_ARRAYAGG(value ORDER BY ts)`,
//!   which keeps NULLs; `GROUP_CONCAT` skips them). An empty field, `NA`, `NaN` or `?` is a
//!   missing value; the host layer's rule decides, as everywhere.
//! * `timestamps` (or NULL): one per value, comma-separated (`GROUP_CONCAT(ts ORDER BY ts)`) or
//!   a JSON array — text in any form the host layer's parser reads, or Unix seconds. With them the
//!   history is checked against the model's sampling period (`History::timed`): in order, no
//!   duplicates, gaps filled with missing values or refused (`gaps`).
//! * `configuration` (constant JSON): DeepAR's `configuration` (`prediction_length`,
//!   `quantiles`, `output_types`, `num_samples`, `seed`) plus `start` (the first value's time,
//!   without timestamps) and `gaps` (`fill`/`refuse`; default the configured `forecast_gaps`).

use scorekit_host::formats::{deepar, json};
use scorekit_host::{time, Family, Gaps, History, HostError, HostResult, Value};
use serde_json::Value as Json;
use udf::prelude::*;

use super::explain::MAX_JSON;
use super::{bind, check_count, init_done, run, Bound, Failed};
use crate::args::{self, Want};

const OPTIONS: [&str; 7] =
    ["prediction_length", "quantiles", "output_types", "num_samples", "seed", "start", "gaps"];

/// `scorekit_forecast(model, history [, timestamps [, configuration]])`.
#[derive(Debug)]
pub struct ScorekitForecast {
    bound: Bound,
    configuration: deepar::Configuration,
    start: Option<i64>,
    gaps: Gaps,
    out: String,
    failed: Failed,
}

/// Text split at commas, each field a value (the host layer decides what it is).
fn fields(text: &str) -> Vec<Value<'_>> {
    if text.trim().is_empty() {
        return Vec::new();
    }
    text.split(',').map(Value::Text).collect()
}

fn history_values(text: &str) -> HostResult<Vec<f64>> {
    if text.trim_start().starts_with('[') {
        let Json::Array(items) = json::parse(text.as_bytes())? else {
            return Err(HostError::bad_input("history: a JSON history must be an array"));
        };
        return json::history_values(&items).map_err(|e| e.context("history"));
    }
    scorekit_host::history_values(&fields(text)).map_err(|e| e.context("history"))
}

fn timestamps(text: &str) -> HostResult<Vec<i64>> {
    if text.trim_start().starts_with('[') {
        return json::timestamps(&json::parse(text.as_bytes())?, "timestamps")
            .map_err(|e| e.context("timestamps"));
    }
    time::timestamps(&fields(text)).map_err(|e| e.context("timestamps"))
}

fn configuration(
    text: Option<&str>,
    default_gaps: Gaps,
) -> HostResult<(deepar::Configuration, Option<i64>, Gaps)> {
    let Some(text) = text else { return Ok((deepar::Configuration::default(), None, default_gaps)) };
    let doc = json::parse(text.as_bytes()).map_err(|e| e.context("configuration"))?;
    let Json::Object(o) = &doc else {
        return Err(HostError::bad_input("configuration must be a JSON object"));
    };
    if let Some(k) = o.keys().find(|k| !OPTIONS.contains(&k.as_str())) {
        return Err(HostError::bad_input(format!(
            "configuration: unknown key '{k}' (keys: {})",
            OPTIONS.join(", ")
        )));
    }
    let start = match o.get("start") {
        None | Some(Json::Null) => None,
        Some(Json::String(s)) => Some(
            time::parse_timestamp(s)
                .map_err(|e| HostError::bad_input(format!("configuration: 'start': {e}")))?,
        ),
        Some(Json::Number(n)) => Some(n.as_i64().ok_or_else(|| {
            HostError::bad_input(format!(
                "configuration: 'start' must be a timestamp or Unix seconds, got {n}"
            ))
        })?),
        Some(other) => {
            return Err(HostError::bad_input(format!(
                "configuration: 'start' must be a timestamp string, got {other}"
            )))
        }
    };
    let gaps = match o.get("gaps") {
        None => default_gaps,
        Some(Json::String(g)) => {
            Gaps::parse(g).map_err(|e| HostError::bad_input(format!("configuration: 'gaps': {e}")))?
        }
        Some(other) => {
            return Err(HostError::bad_input(format!("configuration: 'gaps' must be a string, got {other}")))
        }
    };
    let c = deepar::configuration(Some(&doc)).map_err(|e| e.context("configuration"))?;
    Ok((c, start, gaps))
}

impl ScorekitForecast {
    fn forecast(&mut self, args: &ArgList<'_, Process>) -> HostResult<()> {
        let values = history_values(args::text(args, 1, "history")?)?;
        let ts = match args.get(2).map(|a| a.value()) {
            None | Some(SqlResult::String(None)) => None,
            Some(_) => Some(timestamps(args::text(args, 2, "timestamps")?)?),
        };
        let info = self.bound.loaded.scorer.info();
        let history = match ts {
            Some(ts) => History::timed(&ts, &values, info.description.period_seconds, self.gaps)?,
            None => History::untimed(values, self.start)?,
        };
        let out = self.bound.loaded.scorer.forecast(&history, &self.configuration.query())?;
        self.out.clear();
        deepar::write_prediction(&mut self.out, &self.configuration, &out);
        Ok(())
    }
}

#[register]
impl BasicUdf for ScorekitForecast {
    type Returns<'a> = Option<&'a str>;

    fn init(cfg: &UdfCfg<Init>, args: &ArgList<Init>) -> Result<Self, String> {
        init_done((|| {
            check_count(args, "scorekit_forecast(model, history [, timestamps [, configuration]])", 2..=4)?;
            let (bound, p) = bind(args, 0)?;
            let family = bound.loaded.scorer.info().family();
            if family != Family::Forecast {
                return Err(bound.error(HostError::new(
                    scorekit_host::Code::Unsupported,
                    format!("is a {} model: scorekit_forecast needs a forecast model", family.as_str()),
                )));
            }
            args::check(args, 1, "history", Want::Text)?;
            if args.len() > 2 {
                args::check(args, 2, "timestamps", Want::Text)?;
            }
            let text = if args.len() > 3 { Some(args::const_text(args, 3, "configuration")?) } else { None };
            let (configuration, start, gaps) =
                configuration(text.as_deref(), p.settings.gaps).map_err(|e| bound.error(e))?;
            cfg.set_maybe_null(true);
            cfg.set_max_len(MAX_JSON);
            Ok(ScorekitForecast {
                bound,
                configuration,
                start,
                gaps,
                out: String::new(),
                failed: Failed::default(),
            })
        })())
    }

    fn process<'a>(
        &'a mut self,
        _cfg: &UdfCfg<Process>,
        args: &ArgList<Process>,
        _error: Option<NonZeroU8>,
    ) -> Result<Self::Returns<'a>, ProcessError> {
        let this = &mut *self;
        match run(|| this.forecast(args)) {
            Ok(()) => Ok(Some(self.out.as_str())),
            Err(e) => Err(self.failed.fail(&self.bound.reference, &e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histories_and_timestamps_as_text_or_json() {
        assert_eq!(history_values("1,2.5, 3").unwrap(), vec![1.0, 2.5, 3.0]);
        let v = history_values("[1, null, \"NaN\", 4]").unwrap();
        assert!(v[1].is_nan() && v[2].is_nan() && v[3] == 4.0);
        assert!(history_values("1,,3").unwrap()[1].is_nan());
        let e = history_values("1,abc").unwrap_err();
        assert_eq!(e.message, "history: row 2: a history value must be a number, got 'abc'");
        assert_eq!(
            timestamps("2014-03-04 12:00:00,2014-03-04 13:00:00").unwrap(),
            vec![1393934400, 1393938000]
        );
        assert_eq!(
            timestamps("[1393934400, \"2014-03-04T13:00:00Z\"]").unwrap(),
            vec![1393934400, 1393938000]
        );
        assert!(timestamps("2014-02-31 00:00:00").unwrap_err().message.starts_with("timestamps: row 1"));
        let (c, start, gaps) = configuration(
            Some(
                r#"{"prediction_length": 6, "quantiles": ["0.5"], "start": "2014-03-04", "gaps": "refuse"}"#,
            ),
            Gaps::Fill,
        )
        .unwrap();
        assert_eq!((c.prediction_length, start, gaps), (Some(6), Some(1393891200), Gaps::Refuse));
        let e = configuration(Some(r#"{"quantile": ["0.5"]}"#), Gaps::Fill).unwrap_err();
        assert!(e.message.contains("unknown key 'quantile'"), "{}", e.message);
    }
}
