//! Loading the churn data set shared by the golden and accuracy tests.
#![allow(dead_code)]

use scorekit_gbt::FeatureType;

pub struct Churn {
    pub features: Vec<f64>,
    pub types: Vec<FeatureType>,
    pub target: Vec<f64>,
    pub n_features: usize,
}

impl Churn {
    pub fn rows(&self, from: usize, to: usize) -> (&[f64], &[f64]) {
        (&self.features[from * self.n_features..to * self.n_features], &self.target[from..to])
    }
}

const CATEGORICAL: [&str; 4] = ["state", "area_code", "international_plan", "voice_mail_plan"];

/// All 5000 rows; levels are numbered in order of first appearance; target 1 = churn "yes".
pub fn load_churn() -> Churn {
    // The project's own copy of mlc_churn (data/demo/README.md): tests must run on a clean clone.
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/demo/churn.csv");
    let text = std::fs::read_to_string(path).expect("churn data");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let n_features = header.len() - 1;
    let mut levels: Vec<Vec<String>> = vec![Vec::new(); n_features];
    let (mut features, mut target) = (Vec::new(), Vec::new());
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        for (f, cell) in cells[..n_features].iter().enumerate() {
            if CATEGORICAL.contains(&header[f]) {
                let l = &mut levels[f];
                let i = l.iter().position(|v| v == cell).unwrap_or_else(|| {
                    l.push(cell.to_string());
                    l.len() - 1
                });
                features.push(i as f64);
            } else {
                features.push(cell.parse().unwrap());
            }
        }
        target.push(if cells[n_features] == "yes" { 1.0 } else { 0.0 });
    }
    let types = (0..n_features)
        .map(|f| {
            if CATEGORICAL.contains(&header[f]) {
                FeatureType::Categorical { n_levels: levels[f].len() }
            } else {
                FeatureType::Numeric
            }
        })
        .collect();
    Churn { features, types, target, n_features }
}
