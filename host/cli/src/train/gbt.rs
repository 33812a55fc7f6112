//! `host train gbt`: tabular classification/regression with gradient-boosted trees.

use anyhow::{Context, Result};
use clap::Args;
use scorekit_artifact::{Artifact, Metric, Model};
use scorekit_core::{Family, FieldKind, Schema};
use scorekit_gbt::{
    FeatureType, GbtParams, Holdout, Objective, Problem, ProblemSpec, TrainData, encode_table, metrics,
    split_rows,
};

use super::{CommonArgs, Outcome};
use crate::data::Table;
use crate::report::{Report, svg};

/// `host train gbt` arguments.
#[derive(Args)]
pub struct GbtArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Target column.
    #[arg(long)]
    pub target: String,
    /// Target label counted as positive (default: yes/true/1 when present, else the rarer label).
    #[arg(long)]
    pub positive: Option<String>,
    /// Columns to treat as categorical even if numeric (comma separated).
    #[arg(long, value_delimiter = ',')]
    pub categorical: Vec<String>,
    /// Columns to leave out of the features (comma separated).
    #[arg(long, value_delimiter = ',')]
    pub ignore: Vec<String>,
    /// First data row (1-based) of the held-out test set; rows before it train.
    #[arg(long, conflicts_with = "test_fraction")]
    pub test_from_row: Option<usize>,
    /// Fraction of rows held out for testing (seeded random split) when --test-from-row is absent.
    #[arg(long, default_value_t = 0.2)]
    pub test_fraction: f64,
    /// Number of boosting rounds (upper bound with early stopping).
    #[arg(long)]
    pub n_estimators: Option<usize>,
    /// Shrinkage.
    #[arg(long)]
    pub learning_rate: Option<f64>,
    /// Maximum tree depth.
    #[arg(long)]
    pub max_depth: Option<usize>,
    /// Maximum leaves per tree.
    #[arg(long)]
    pub max_leaves: Option<usize>,
    /// Minimum hessian sum in a child.
    #[arg(long)]
    pub min_child_weight: Option<f64>,
    /// L2 regularisation on leaf values.
    #[arg(long)]
    pub lambda: Option<f64>,
    /// Row subsampling per tree.
    #[arg(long)]
    pub subsample: Option<f64>,
    /// Column subsampling per tree.
    #[arg(long)]
    pub colsample: Option<f64>,
    /// Stop after this many rounds without validation improvement (0 = off).
    #[arg(long)]
    pub early_stopping_rounds: Option<usize>,
    /// Random seed.
    #[arg(long)]
    pub seed: Option<u64>,
}

impl GbtArgs {
    fn params(&self, objective: Objective) -> GbtParams {
        let mut p = GbtParams { objective, ..GbtParams::default() };
        if let Some(v) = self.n_estimators {
            p.n_estimators = v;
        }
        if let Some(v) = self.learning_rate {
            p.learning_rate = v;
        }
        if let Some(v) = self.max_depth {
            p.max_depth = v;
        }
        if let Some(v) = self.max_leaves {
            p.max_leaves = v;
        }
        if let Some(v) = self.min_child_weight {
            p.min_child_weight = v;
        }
        if let Some(v) = self.lambda {
            p.lambda = v;
        }
        if let Some(v) = self.subsample {
            p.subsample = v;
        }
        if let Some(v) = self.colsample {
            p.colsample = v;
        }
        if let Some(v) = self.early_stopping_rounds {
            p.early_stopping_rounds = if v == 0 { None } else { Some(v) };
        }
        if let Some(v) = self.seed {
            p.seed = v;
        }
        p
    }
}

fn encode_problem(table: &Table, args: &GbtArgs) -> Result<Problem> {
    let spec = ProblemSpec {
        target: &args.target,
        positive: args.positive.as_deref(),
        categorical: &args.categorical,
        ignore: &args.ignore,
    };
    encode_table(table, &spec).with_context(|| format!("{}", table.path.display()))
}

fn split(n: usize, args: &GbtArgs, seed: u64) -> Result<(Vec<usize>, Vec<usize>)> {
    let holdout = match args.test_from_row {
        Some(from) => Holdout::FromRow(from),
        None => Holdout::Fraction(args.test_fraction),
    };
    split_rows(n, holdout, seed).map_err(|e| anyhow::anyhow!("{e} (--test-from-row / --test-fraction)"))
}

fn gather(features: &[f64], width: usize, rows: &[usize]) -> Vec<f64> {
    rows.iter().flat_map(|&r| features[r * width..(r + 1) * width].iter().copied()).collect()
}

/// Trains and evaluates; writes artifact and report.
pub fn train(args: &GbtArgs) -> Result<Outcome> {
    let common = &args.common;
    let table = Table::read(&common.data)?;
    let problem = encode_problem(&table, args)?;
    let params = args.params(problem.objective);
    params.validate().context("invalid hyper-parameters")?;
    let width = problem.fields.len();
    let (train_rows, test_rows) = split(table.rows.len(), args, params.seed)?;

    let types: Vec<FeatureType> = problem
        .fields
        .iter()
        .map(|f| match &f.kind {
            FieldKind::Numeric => FeatureType::Numeric,
            FieldKind::Categorical { levels } => FeatureType::Categorical { n_levels: levels.len() },
        })
        .collect();
    let x_train = gather(&problem.features, width, &train_rows);
    let y_train: Vec<f64> = train_rows.iter().map(|&r| problem.target[r]).collect();
    let data = TrainData { features: &x_train, n_features: width, types: &types, target: &y_train };

    let bar = super::progress_bar(params.n_estimators as u64, "boosting", common.quiet);
    let started = std::time::Instant::now();
    let trained = scorekit_gbt::train(&data, None, &params, &mut |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })
    .context("training failed")?;
    bar.finish_and_clear();
    let train_time = started.elapsed();
    let valid_loss = trained.valid_loss;
    let trained_best = trained.best_iteration;
    let model = trained.model;

    let x_test = gather(&problem.features, width, &test_rows);
    let y_test: Vec<f64> = test_rows.iter().map(|&r| problem.target[r]).collect();
    let mut pred = vec![0.0; test_rows.len()];
    model.predict_batch(&x_test, &mut pred).context("scoring the test rows")?;

    let name = common.model_name();
    let mut report = Report::new(
        &name,
        "gbt",
        format!(
            "{} held-out rows of {} ({} training rows)",
            test_rows.len(),
            common.data.display(),
            train_rows.len()
        ),
    );
    let mut figures: Vec<(&str, f64)> = Vec::new();
    match problem.objective {
        Objective::Binary => {
            figures.push(("auc", metrics::roc_auc(&pred, &y_test)));
            figures.push(("f1", metrics::f1(&pred, &y_test)));
            figures.push(("accuracy", metrics::accuracy(&pred, &y_test)));
            figures.push(("precision", metrics::precision(&pred, &y_test)));
            figures.push(("recall", metrics::recall(&pred, &y_test)));
            figures.push(("log_loss", metrics::log_loss(&pred, &y_test)));
            let roc = metrics::roc_curve(&pred, &y_test);
            report.charts.push(
                svg::Chart {
                    title: format!("ROC curve (AUC {:.4})", figures[0].1),
                    x_label: "false positive rate".into(),
                    y_label: "true positive rate".into(),
                    lines: vec![
                        svg::Line { label: "model".into(), color: "#1f5fa8", points: roc, dashed: false },
                        svg::Line {
                            label: "chance".into(),
                            color: "#999",
                            points: vec![(0.0, 0.0), (1.0, 1.0)],
                            dashed: true,
                        },
                    ],
                    x_range: Some((0.0, 1.0)),
                    y_range: Some((0.0, 1.0)),
                    ..Default::default()
                }
                .render(),
            );
            report.charts.push(
                svg::Chart {
                    title: "Precision–recall curve (held-out rows)".into(),
                    x_label: "recall".into(),
                    y_label: "precision".into(),
                    lines: vec![svg::Line {
                        label: "model".into(),
                        color: "#1f5fa8",
                        points: metrics::pr_curve(&pred, &y_test),
                        dashed: false,
                    }],
                    hlines: vec![(
                        y_test.iter().filter(|v| **v > 0.5).count() as f64 / y_test.len().max(1) as f64,
                        "base rate".into(),
                    )],
                    x_range: Some((0.0, 1.0)),
                    y_range: Some((0.0, 1.0)),
                    ..Default::default()
                }
                .render(),
            );
            let bins = metrics::calibration_bins(&pred, &y_test, 10);
            report.charts.push(
                svg::Chart {
                    title: "Calibration: observed positive rate per 0.1-wide bin of predicted probability"
                        .into(),
                    x_label: "mean predicted probability".into(),
                    y_label: "observed positive rate".into(),
                    lines: vec![
                        svg::Line {
                            label: "model".into(),
                            color: "#1f5fa8",
                            points: bins.iter().map(|b| (b.0, b.1)).collect(),
                            dashed: false,
                        },
                        svg::Line {
                            label: "perfect".into(),
                            color: "#999",
                            points: vec![(0.0, 0.0), (1.0, 1.0)],
                            dashed: true,
                        },
                    ],
                    x_range: Some((0.0, 1.0)),
                    y_range: Some((0.0, 1.0)),
                    ..Default::default()
                }
                .render(),
            );
        }
        Objective::Regression => {
            let n = y_test.len() as f64;

            let rmse = (pred.iter().zip(&y_test).map(|(p, y)| (p - y).powi(2)).sum::<f64>() / n).sqrt();
            let mae = pred.iter().zip(&y_test).map(|(p, y)| (p - y).abs()).sum::<f64>() / n;
            figures.push(("rmse", rmse));
            figures.push(("mae", mae));
        }
    }
    if !valid_loss.is_empty() {
        report.charts.push(
            svg::Chart {
                title: format!(
                    "Learning curve: validation loss per round (early-stopping hold-out; best round {})",
                    trained_best
                ),
                x_label: "boosting round".into(),
                y_label: match problem.objective {
                    Objective::Binary => "log-loss".into(),
                    Objective::Regression => "mean squared error".into(),
                },
                lines: vec![svg::Line {
                    label: "validation".into(),
                    color: "#1f5fa8",
                    points: valid_loss.iter().enumerate().map(|(i, v)| ((i + 1) as f64, *v)).collect(),
                    dashed: false,
                }],
                ..Default::default()
            }
            .render(),
        );
    }
    let importance = model.feature_importance();
    report.charts.push(svg::bar_chart(
        "Feature importance (share of split gain)",
        &problem.fields.iter().zip(&importance).map(|(f, v)| (f.name.clone(), *v)).collect::<Vec<_>>(),
        25,
    ));
    report.metrics = figures.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    report.details = vec![
        ("trees".into(), model.n_trees().to_string()),
        ("best iteration".into(), trained_best.to_string()),
        ("training time".into(), format!("{:.1} ms", train_time.as_secs_f64() * 1e3)),
        ("parameters".into(), format!("{params:?}")),
    ];

    let schema = Schema {
        name: name.clone(),
        family: Family::Gbt,
        inputs: problem.fields,
        target: Some(args.target.clone()),
        positive_label: problem.positive,
        outputs: vec![match problem.objective {
            Objective::Binary => "probability".into(),
            Objective::Regression => "prediction".into(),
        }],
    };
    let mut artifact = Artifact::new(schema, Model::Gbt(model));
    artifact.metrics = figures.iter().map(|(k, v)| Metric { name: k.to_string(), value: *v }).collect();
    artifact.provenance = super::provenance(common, table.rows.len());
    artifact
        .provenance
        .push(("split".into(), format!("{} train / {} test rows", train_rows.len(), test_rows.len())));
    let artifact_path = super::write_artifact(&common.out, &artifact)?;
    let report_path = report.write(&common.out)?;
    let summary = figures.iter().map(|(k, v)| format!("{k} {v:.4}")).collect::<Vec<_>>().join(", ");
    Ok(Outcome { artifact_path, report_path, summary: format!("{name}: {summary}") })
}
