//! The cases of `cases.json`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value as Json;

/// What a case asks a host to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// Score rows.
    Score,
    /// Explain rows.
    Explain,
    /// Stream steps: score each reading, then learn it.
    Stream,
    /// One stream step that also explains each reading against the state before it.
    StreamExplain,
    /// Score readings against the trained state without learning.
    ScoreOnly,
    /// Forecast from a history.
    Forecast,
}

/// The input policy a case runs under (absent: the hosts' shared default).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// `missing` or `error`.
    pub nulls: Option<String>,
    /// `error` or `missing`.
    pub absent: Option<String>,
}

impl Policy {
    /// Whether this is the default policy.
    pub fn is_default(&self) -> bool {
        self.nulls.as_deref().unwrap_or("missing") == "missing"
            && self.absent.as_deref().unwrap_or("error") == "error"
    }
}

/// One step of a stream case.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamStep {
    /// The module version serving the stream at this step (a fixture name: `anomaly`,
    /// `anomaly_rebuilt` — the same trained model in another module — or `anomaly_retrained`).
    pub module: String,
    /// Readings, as rows.
    pub rows: Vec<Json>,
}

/// A forecast request.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForecastCase {
    /// History values (numbers, or null for missing).
    pub values: Vec<Json>,
    /// Timestamps of the values (strings or Unix seconds), when the case has them.
    pub timestamps: Option<Vec<Json>>,
    /// Steps ahead (absent: the model's horizon).
    pub horizon: Option<u32>,
    /// Quantile levels.
    pub quantiles: Vec<f64>,
    /// `fill` or `refuse` (absent: the default, `fill`).
    pub gaps: Option<String>,
}

/// A change to one row of a repeated input.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Patch {
    /// Row number, from 1.
    pub row: usize,
    /// Keys and their new values.
    pub set: serde_json::Map<String, Json>,
}

/// One conformance case.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Unique name; the golden file is `golden/<id>.json`.
    pub id: String,
    /// What the case pins down, in a sentence.
    pub why: String,
    /// Fixture model (`churn`, `anomaly`, `forecast`).
    pub model: String,
    /// What to do.
    pub op: Op,
    /// Input rows (JSON: objects keyed by input name, or arrays in schema order).
    #[serde(default)]
    pub rows: Vec<Json>,
    /// Repeat `rows` cyclically to this many rows (a big input without a big case file).
    pub repeat: Option<usize>,
    /// Then change some keys of one row (numbered from 1).
    pub patch: Option<Patch>,
    /// Input as a CSV text with a header line instead of `rows` (CSV-specific cases).
    pub csv: Option<String>,
    /// Input policy.
    #[serde(default)]
    pub policy: Policy,
    /// Stream steps (ops `stream`): each step's readings, under the module version of the step.
    #[serde(default)]
    pub steps: Vec<StreamStep>,
    /// Forecast request (op `forecast`).
    pub forecast: Option<ForecastCase>,
    /// Hosts that skip this case, each with the reason.
    #[serde(default)]
    pub skip: BTreeMap<String, String>,
}

impl Case {
    /// Why `host` skips this case, if it does.
    pub fn skipped_by(&self, host: &str) -> Option<&str> {
        self.skip.get(host).map(String::as_str)
    }

    /// The input rows: `rows`, repeated and patched as the case says.
    pub fn input_rows(&self) -> Vec<Json> {
        let mut rows = match self.repeat {
            Some(n) if !self.rows.is_empty() => self.rows.iter().cycle().take(n).cloned().collect(),
            _ => self.rows.clone(),
        };
        if let Some(p) = &self.patch
            && let Some(Json::Object(o)) = rows.get_mut(p.row.saturating_sub(1))
        {
            for (k, v) in &p.set {
                o.insert(k.clone(), v.clone());
            }
        }
        rows
    }

    /// The input rows as a JSON Lines text (one row per line).
    pub fn rows_as_json_lines(&self) -> String {
        self.input_rows().iter().map(|r| format!("{r}\n")).collect()
    }
}

/// The suite's directory.
pub fn suite_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Reads `cases.json`.
///
/// # Panics
/// On an unreadable or malformed case list, or duplicate ids: the suite itself is broken.
pub fn load_cases() -> Vec<Case> {
    let text = std::fs::read_to_string(suite_dir().join("cases.json")).expect("cases.json");
    let cases: Vec<Case> = serde_json::from_str(&text).expect("cases.json is a list of cases");
    let mut ids: Vec<&str> = cases.iter().map(|c| c.id.as_str()).collect();
    ids.sort_unstable();
    let n = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), n, "duplicate case ids in cases.json");
    cases
}
