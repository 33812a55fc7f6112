//! Small real models of each family, trained on the project's demo data (`data/demo`, which a
//! clean clone has), for the guest tests.
#![allow(dead_code, missing_docs)]

use scorekit_artifact::{Artifact, Model};
use scorekit_core::{Cell, Family, Field, Schema, encode_row};

pub fn data(rel: &str) -> String {
    format!("{}/../../data/demo/{rel}", env!("CARGO_MANIFEST_DIR"))
}

/// The churn table as text cells: (header, rows).
pub fn churn_table() -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(data("churn.csv")).unwrap();
    let header = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r.records().map(|rec| rec.unwrap().iter().map(String::from).collect()).collect();
    (header, rows)
}

pub const CATEGORICAL: [&str; 4] = ["state", "area_code", "international_plan", "voice_mail_plan"];

/// A GBT churn model trained on the first 3,333 rows (60 trees: fast, still a real ensemble),
/// and the input rows of all 5,000 as cells (without the target).
pub fn churn() -> (Artifact, Vec<Vec<String>>) {
    let (header, rows) = churn_table();
    let target = header.iter().position(|h| h == "churn").unwrap();
    let inputs: Vec<Field> = header
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != target)
        .map(|(i, h)| {
            if CATEGORICAL.contains(&h.as_str()) {
                let mut levels: Vec<String> = rows.iter().map(|r| r[i].clone()).collect();
                levels.sort();
                levels.dedup();
                Field::categorical(h.clone(), levels)
            } else {
                Field::numeric(h.clone())
            }
        })
        .collect();
    let schema = Schema {
        name: "churn".into(),
        family: Family::Gbt,
        inputs: inputs.clone(),
        target: Some("churn".into()),
        positive_label: Some("yes".into()),
        outputs: vec!["probability".into()],
    };
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().enumerate().filter(|(i, _)| *i != target).map(|(_, v)| v.clone()).collect())
        .collect();
    let n = inputs.len();
    let train_rows = 3333;
    let mut features = vec![0.0; train_rows * n];
    for (r, out) in cells[..train_rows].iter().zip(features.chunks_mut(n)) {
        let c: Vec<Cell<'_>> = r.iter().map(|s| Cell::Text(s)).collect();
        encode_row(&inputs, &c, 0, out).unwrap();
    }
    let labels: Vec<f64> =
        rows[..train_rows].iter().map(|r| if r[target] == "yes" { 1.0 } else { 0.0 }).collect();
    let types: Vec<scorekit_gbt::FeatureType> = inputs
        .iter()
        .map(|f| match &f.kind {
            scorekit_core::FieldKind::Numeric => scorekit_gbt::FeatureType::Numeric,
            scorekit_core::FieldKind::Categorical { levels } => {
                scorekit_gbt::FeatureType::Categorical { n_levels: levels.len() }
            }
        })
        .collect();
    let data = scorekit_gbt::TrainData { features: &features, n_features: n, types: &types, target: &labels };
    let params = scorekit_gbt::GbtParams { n_estimators: 60, ..Default::default() };
    let trained = scorekit_gbt::train(&data, None, &params, &mut |_, _| {}).unwrap();
    let mut a = Artifact::new(schema, Model::Gbt(trained.model));
    a.metrics.push(scorekit_artifact::Metric { name: "auc".into(), value: 0.9 });
    a.provenance.push(("data".into(), "mlc_churn.csv".into()));
    (a, cells)
}

/// Readings of one NAB series.
pub fn machine_temperature() -> Vec<f64> {
    let mut r = csv::Reader::from_path(data("machine_temperature.csv")).unwrap();
    r.records().map(|rec| rec.unwrap()[1].parse().unwrap()).collect()
}

/// An RCF model (30 trees × 64, shingle 8) that has streamed the first 2,000 readings.
pub fn anomaly() -> Artifact {
    let values = machine_temperature();
    let config = scorekit_rcf::RcfConfig {
        dimensions: 1,
        shingle_size: 8,
        num_trees: 30,
        sample_size: 64,
        seed: 11,
        ..Default::default()
    };
    let model = scorekit_rcf::train(&values[..2000], config, |_, _| {}).unwrap();
    let schema = Schema {
        name: "anomaly".into(),
        family: Family::Rcf,
        inputs: vec![Field::numeric("value")],
        target: None,
        positive_label: None,
        outputs: vec!["score".into()],
    };
    Artifact::new(schema, Model::Rcf(model))
}

/// Hourly electricity demand (Victoria, 2014).
pub fn electricity() -> Vec<f64> {
    let mut r = csv::Reader::from_path(data("electricity_hourly.csv")).unwrap();
    r.records().map(|rec| rec.unwrap()[1].parse().unwrap()).collect()
}

/// A forecaster trained on the first 2,000 hours of electricity demand (no calendar features).
pub fn forecaster() -> Artifact {
    let y = electricity();
    let params = scorekit_forecast::ForecastParams { calendar: false, ..Default::default() };
    let trained = scorekit_forecast::train(&y[..2000], None, &params, &mut |_, _| {}).unwrap();
    let schema = Schema {
        name: "demand".into(),
        family: Family::Forecast,
        inputs: vec![Field::numeric("demand_mw")],
        target: Some("demand_mw".into()),
        positive_label: None,
        outputs: vec!["mean".into()],
    };
    Artifact::new(schema, Model::Forecast(trained.model))
}
