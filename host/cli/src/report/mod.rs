//! Evaluation reports written next to every trained artifact: `NAME.report.json` (figures for
//! machines) and `NAME.report.html` (the same figures with charts, for people).

pub mod svg;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;

/// A report under construction.
#[derive(Serialize)]
pub struct Report {
    /// Model name.
    pub model: String,
    /// Family name.
    pub family: &'static str,
    /// What the figures were measured on (data file, split).
    pub evaluated_on: String,
    /// Figures, in display order.
    pub metrics: Vec<(String, f64)>,
    /// Extra facts (hyper-parameters, timings).
    pub details: Vec<(String, String)>,
    /// Rendered charts (inline SVG); not in the JSON.
    #[serde(skip)]
    pub charts: Vec<String>,
}

impl Report {
    /// An empty report for `model`.
    pub fn new(model: &str, family: &'static str, evaluated_on: String) -> Self {
        Report { model: model.into(), family, evaluated_on, metrics: vec![], details: vec![], charts: vec![] }
    }

    /// Writes `DIR/NAME.report.json` and `DIR/NAME.report.html`; returns the HTML path.
    ///
    /// # Errors
    /// The files cannot be written.
    pub fn write(&self, dir: &Path) -> Result<PathBuf> {
        let json_path = dir.join(format!("{}.report.json", self.model));
        let json = serde_json::to_string_pretty(self).expect("report serialises");
        std::fs::write(&json_path, json).with_context(|| format!("cannot write {}", json_path.display()))?;
        let html_path = dir.join(format!("{}.report.html", self.model));
        std::fs::write(&html_path, self.html())
            .with_context(|| format!("cannot write {}", html_path.display()))?;
        Ok(html_path)
    }

    fn html(&self) -> String {
        let esc = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;");
        let mut rows = String::new();
        for (k, v) in &self.metrics {
            rows.push_str(&format!("<tr><th>{}</th><td>{v:.4}</td></tr>", esc(k)));
        }
        let mut details = String::new();
        for (k, v) in &self.details {
            details.push_str(&format!("<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(v)));
        }
        format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>{m} — scorekit report</title>\
             <style>body{{font-family:sans-serif;max-width:800px;margin:2em auto}}th{{text-align:left;padding-right:1em}}\
             td{{font-family:monospace}}svg{{display:block;margin:1em 0}}</style></head><body>\
             <h1>{m} <small>({f})</small></h1><p>Evaluated on {e}</p><h2>Metrics</h2><table>{rows}</table>\
             {charts}<h2>Details</h2><table>{details}</table></body></html>",
            m = esc(&self.model),
            f = self.family,
            e = esc(&self.evaluated_on),
            charts = self.charts.join("\n"),
        )
    }
}
