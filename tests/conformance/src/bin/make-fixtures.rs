//! Trains the conformance suite's small fixture models from the project's demo data and writes
//! them to `tests/conformance/models/`. They are committed, so the golden outputs depend on the
//! scoring code only, never on training:
//!
//! ```sh
//! cargo run --release -p scorekit-conformance --bin make-fixtures
//! SCOREKIT_BLESS=1 cargo test --release -p scorekit-conformance   # then re-bless the goldens
//! ```
//!
//! * `churn`: gradient-boosted trees (25 trees) on the demo churn table, with `area_code` levels
//!   spelled as numbers (`"408"`, `"415"`, `"510"`) so numbers-as-categories can be tested.
//! * `anomaly`, `anomaly_retrained`: random cut forests (20 trees × 32 samples, shingle 4) on two
//!   stretches of the demo machine temperature series.
//! * `forecast`: the quantile forecaster on 1,500 hours of the demo electricity demand, trained
//!   with timestamps (so it records its sampling period and uses calendar features).

use std::path::PathBuf;

use anyhow::{Context, Result};
use scorekit_artifact::{Artifact, Model};
use scorekit_core::{Cell, Family, Field, FieldKind, Schema, encode_row};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read_csv(name: &str) -> Result<(Vec<String>, Vec<Vec<String>>)> {
    let path = root().join("data/demo").join(name);
    let mut r = csv::Reader::from_path(&path).with_context(|| path.display().to_string())?;
    let header = r.headers()?.iter().map(String::from).collect();
    let rows =
        r.records().map(|rec| rec.map(|r| r.iter().map(String::from).collect())).collect::<Result<_, _>>()?;
    Ok((header, rows))
}

fn churn() -> Result<Artifact> {
    let (header, mut rows) = read_csv("churn.csv")?;
    let area = header.iter().position(|h| h == "area_code").context("area_code column")?;
    for r in &mut rows {
        r[area] = r[area].trim_start_matches("area_code_").to_string();
    }
    let target = header.iter().position(|h| h == "churn").context("churn column")?;
    let categorical = ["state", "area_code", "international_plan", "voice_mail_plan"];
    let inputs: Vec<Field> = header
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != target)
        .map(|(i, h)| {
            if categorical.contains(&h.as_str()) {
                let mut levels: Vec<String> = rows.iter().map(|r| r[i].clone()).collect();
                levels.sort();
                levels.dedup();
                Field::categorical(h.clone(), levels)
            } else {
                Field::numeric(h.clone())
            }
        })
        .collect();
    let n = inputs.len();
    let train_rows = 3333;
    let mut features = vec![0.0; train_rows * n];
    for (r, out) in rows[..train_rows].iter().zip(features.chunks_mut(n)) {
        let cells: Vec<Cell<'_>> =
            r.iter().enumerate().filter(|(i, _)| *i != target).map(|(_, v)| Cell::Text(v)).collect();
        encode_row(&inputs, &cells, 1, out)?;
    }
    let labels: Vec<f64> =
        rows[..train_rows].iter().map(|r| if r[target] == "yes" { 1.0 } else { 0.0 }).collect();
    let types: Vec<scorekit_gbt::FeatureType> = inputs
        .iter()
        .map(|f| match &f.kind {
            FieldKind::Numeric => scorekit_gbt::FeatureType::Numeric,
            FieldKind::Categorical { levels } => {
                scorekit_gbt::FeatureType::Categorical { n_levels: levels.len() }
            }
        })
        .collect();
    let data = scorekit_gbt::TrainData { features: &features, n_features: n, types: &types, target: &labels };
    let params =
        scorekit_gbt::GbtParams { n_estimators: 25, early_stopping_rounds: None, ..Default::default() };
    let trained = scorekit_gbt::train(&data, None, &params, &mut |_, _| {})?;
    let schema = Schema {
        name: "churn".into(),
        family: Family::Gbt,
        inputs,
        target: Some("churn".into()),
        positive_label: Some("yes".into()),
        outputs: vec!["probability".into()],
    };
    let mut a = Artifact::new(schema, Model::Gbt(trained.model));
    a.provenance
        .push(("fixture".into(), "tests/conformance make-fixtures: data/demo/churn.csv rows 1-3333".into()));
    Ok(a)
}

fn temperatures() -> Result<Vec<f64>> {
    let (_, rows) = read_csv("machine_temperature.csv")?;
    rows.iter().map(|r| Ok(r[1].parse::<f64>()?)).collect()
}

fn anomaly(seed: u64, from: usize) -> Result<Artifact> {
    let values = temperatures()?;
    let config = scorekit_rcf::RcfConfig {
        dimensions: 1,
        shingle_size: 4,
        num_trees: 20,
        sample_size: 32,
        seed,
        ..Default::default()
    };
    let model = scorekit_rcf::train(&values[from..from + 1000], config, |_, _| {})?;
    let schema = Schema {
        name: "anomaly".into(),
        family: Family::Rcf,
        inputs: vec![Field::numeric("value")],
        target: None,
        positive_label: None,
        outputs: vec!["score".into()],
    };
    let mut a = Artifact::new(schema, Model::Rcf(model));
    a.provenance.push((
        "fixture".into(),
        format!("machine_temperature.csv readings {from}..{}, seed {seed}", from + 1000),
    ));
    Ok(a)
}

fn forecast() -> Result<Artifact> {
    let (_, rows) = read_csv("electricity_hourly.csv")?;
    let n = 1500;
    let y: Vec<f64> = rows[..n].iter().map(|r| r[1].parse::<f64>()).collect::<Result<_, _>>()?;
    let ts: Vec<i64> = rows[..n]
        .iter()
        .map(|r| scorekit_host::parse_timestamp(&r[0]).map_err(anyhow::Error::msg))
        .collect::<Result<_>>()?;
    let params = scorekit_forecast::ForecastParams { horizon: 24, ..Default::default() };
    let trained = scorekit_forecast::train(&y, Some(&ts), &params, &mut |_, _| {})?;
    let schema = Schema {
        name: "forecast".into(),
        family: Family::Forecast,
        inputs: vec![Field::numeric("demand_mw")],
        target: Some("demand_mw".into()),
        positive_label: None,
        outputs: vec!["mean".into()],
    };
    let mut a = Artifact::new(schema, Model::Forecast(trained.model));
    a.provenance.push(("fixture".into(), "electricity_hourly.csv hours 1-1500".into()));
    Ok(a)
}

fn main() -> Result<()> {
    let dir = root().join("tests/conformance/models");
    std::fs::create_dir_all(&dir)?;
    let fixtures = [
        ("churn", churn()?),
        ("anomaly", anomaly(7, 0)?),
        ("anomaly_retrained", anomaly(8, 1000)?),
        ("forecast", forecast()?),
    ];
    for (name, artifact) in fixtures {
        let path = dir.join(format!("{name}.model.json"));
        std::fs::write(&path, artifact.to_json()).with_context(|| path.display().to_string())?;
        println!("wrote {} ({} bytes)", path.display(), std::fs::metadata(&path)?.len());
    }
    Ok(())
}
