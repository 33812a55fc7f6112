//! The churn CSV as row-major f64 features (categorical columns as level index in order of first
//! appearance), target 1.0 = churn "yes".

use scorekit_gbt::FeatureType;

pub const CATEGORICAL: [&str; 4] = ["state", "area_code", "international_plan", "voice_mail_plan"];

pub struct Churn {
    pub names: Vec<String>,
    pub features: Vec<f64>,
    pub types: Vec<FeatureType>,
    pub target: Vec<f64>,
    pub n_features: usize,
}

impl Churn {
    pub fn load(path: &str) -> Churn {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
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
            .map(|f| match CATEGORICAL.contains(&header[f]) {
                true => FeatureType::Categorical { n_levels: levels[f].len() },
                false => FeatureType::Numeric,
            })
            .collect();
        let names = header[..n_features].iter().map(|s| s.to_string()).collect();
        Churn { names, features, types, target, n_features }
    }

    /// Rows `from..to` as (features, target).
    pub fn rows(&self, from: usize, to: usize) -> (Vec<f64>, Vec<f64>) {
        (self.features[from * self.n_features..to * self.n_features].to_vec(), self.target[from..to].to_vec())
    }

    /// Selected rows as (features, target).
    pub fn select(&self, idx: &[usize]) -> (Vec<f64>, Vec<f64>) {
        let nf = self.n_features;
        let mut x = Vec::with_capacity(idx.len() * nf);
        for &i in idx {
            x.extend_from_slice(&self.features[i * nf..(i + 1) * nf]);
        }
        (x, idx.iter().map(|&i| self.target[i]).collect())
    }
}
