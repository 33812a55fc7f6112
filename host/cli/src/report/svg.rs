//! Small dependency-free SVG charts for the evaluation reports: line charts with bands, shaded
//! x-ranges and reference lines, and horizontal bar charts. Hand-written rather than `plotters`
//! because the reports need no fonts or raster backends, and the output is deterministic text.

use std::fmt::Write;

const W: f64 = 760.0;
const H: f64 = 300.0;
const LEFT: f64 = 60.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 28.0;
const BOTTOM: f64 = 36.0;
/// Long series are thinned to this many points (keeping each bucket's min and max).
const MAX_POINTS: usize = 1500;

/// One line of (x, y) points.
pub struct Line {
    pub label: String,
    pub color: &'static str,
    pub points: Vec<(f64, f64)>,
    pub dashed: bool,
}

/// A filled band between `lo` and `hi` at each x.
pub struct Band {
    pub label: String,
    pub color: &'static str,
    pub points: Vec<(f64, f64, f64)>,
}

/// A line chart.
#[derive(Default)]
pub struct Chart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub lines: Vec<Line>,
    pub bands: Vec<Band>,
    /// Shaded x-ranges (e.g. labelled anomaly windows).
    pub spans: Vec<(f64, f64)>,
    /// Horizontal reference lines (y, label).
    pub hlines: Vec<(f64, String)>,
    /// Fixed ranges; computed from the data when `None`.
    pub x_range: Option<(f64, f64)>,
    pub y_range: Option<(f64, f64)>,
    /// x values are days since 1970-01-01: label ticks as dates.
    pub x_dates: bool,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn thin(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    if points.len() <= MAX_POINTS {
        return points.to_vec();
    }
    let bucket = points.len().div_ceil(MAX_POINTS / 2);
    let mut out = Vec::with_capacity(MAX_POINTS + 2);
    for chunk in points.chunks(bucket) {
        let (mut lo, mut hi) = (chunk[0], chunk[0]);
        for p in chunk {
            if p.1 < lo.1 {
                lo = *p;
            }
            if p.1 > hi.1 {
                hi = *p;
            }
        }
        if lo.0 <= hi.0 {
            out.extend([lo, hi]);
        } else {
            out.extend([hi, lo]);
        }
    }
    out
}

fn fmt_tick(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if !(1e-3..1e5).contains(&a) {
        format!("{v:.2e}")
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.3}").trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

impl Chart {
    fn x_tick(&self, x: f64) -> String {
        if !self.x_dates {
            return fmt_tick(x);
        }
        chrono::DateTime::from_timestamp((x * 86_400.0) as i64, 0)
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_else(|| fmt_tick(x))
    }

    fn ranges(&self) -> ((f64, f64), (f64, f64)) {
        let mut xs = (f64::INFINITY, f64::NEG_INFINITY);
        let mut ys = (f64::INFINITY, f64::NEG_INFINITY);
        let mut see = |x: f64, y: f64| {
            if x.is_finite() && y.is_finite() {
                xs = (xs.0.min(x), xs.1.max(x));
                ys = (ys.0.min(y), ys.1.max(y));
            }
        };
        for l in &self.lines {
            l.points.iter().for_each(|&(x, y)| see(x, y));
        }
        for b in &self.bands {
            b.points.iter().for_each(|&(x, lo, hi)| {
                see(x, lo);
                see(x, hi)
            });
        }
        for (y, _) in &self.hlines {
            if y.is_finite() {
                ys = (ys.0.min(*y), ys.1.max(*y));
            }
        }
        let fix = |r: (f64, f64)| {
            if !r.0.is_finite() {
                (0.0, 1.0)
            } else if r.0 == r.1 {
                (r.0 - 1.0, r.1 + 1.0)
            } else {
                r
            }
        };
        (self.x_range.unwrap_or(fix(xs)), self.y_range.unwrap_or(fix(ys)))
    }

    /// Renders the chart as an inline `<svg>` element.
    pub fn render(&self) -> String {
        let ((x0, x1), (y0, y1)) = self.ranges();
        let pw = W - LEFT - RIGHT;
        let ph = H - TOP - BOTTOM;
        let sx = |x: f64| LEFT + (x - x0) / (x1 - x0) * pw;
        let sy = |y: f64| TOP + ph - (y - y0) / (y1 - y0) * ph;
        let mut s = String::new();
        let _ = write!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" height="{H}" font-family="sans-serif" font-size="11">"#
        );
        let _ = write!(
            s,
            r#"<text x="{LEFT}" y="16" font-size="13" font-weight="bold">{}</text>"#,
            esc(&self.title)
        );
        for &(a, b) in &self.spans {
            let (a, b) = (sx(a.max(x0)), sx(b.min(x1)));
            if b > a {
                let _ = write!(
                    s,
                    r##"<rect x="{a:.1}" y="{TOP}" width="{:.1}" height="{ph}" fill="#f4c7c3" opacity="0.6"/>"##,
                    b - a
                );
            }
        }
        for i in 0..=4 {
            let fy = y0 + (y1 - y0) * i as f64 / 4.0;
            let fx = x0 + (x1 - x0) * i as f64 / 4.0;
            let _ = write!(
                s,
                r##"<line x1="{LEFT}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
                LEFT + pw,
                sy(fy),
                sy(fy),
                LEFT - 4.0,
                sy(fy) + 4.0,
                fmt_tick(fy)
            );
            let _ = write!(
                s,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                sx(fx),
                TOP + ph + 14.0,
                self.x_tick(fx)
            );
        }
        for b in &self.bands {
            if b.points.is_empty() {
                continue;
            }
            let mut d = String::new();
            for (i, &(x, lo, _)) in b.points.iter().enumerate() {
                let _ = write!(d, "{}{:.1},{:.1} ", if i == 0 { "M" } else { "L" }, sx(x), sy(lo));
            }
            for &(x, _, hi) in b.points.iter().rev() {
                let _ = write!(d, "L{:.1},{:.1} ", sx(x), sy(hi));
            }
            let _ = write!(s, r#"<path d="{d}Z" fill="{}" opacity="0.3"/>"#, b.color);
        }
        for (y, label) in &self.hlines {
            let _ = write!(
                s,
                r##"<line x1="{LEFT}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="#900" stroke-dasharray="4 3"/><text x="{:.1}" y="{:.1}" text-anchor="end" fill="#900">{}</text>"##,
                LEFT + pw,
                sy(*y),
                sy(*y),
                LEFT + pw,
                sy(*y) - 3.0,
                esc(label)
            );
        }
        for l in &self.lines {
            let pts = thin(&l.points);
            let mut d = String::new();
            for (i, &(x, y)) in pts.iter().filter(|p| p.1.is_finite()).enumerate() {
                let _ = write!(d, "{}{:.1},{:.1} ", if i == 0 { "M" } else { "L" }, sx(x), sy(y));
            }
            let dash = if l.dashed { r#" stroke-dasharray="5 3""# } else { "" };
            let _ = write!(s, r#"<path d="{d}" fill="none" stroke="{}" stroke-width="1.3"{dash}/>"#, l.color);
        }
        let mut lx = LEFT + 8.0;
        for (label, color) in self
            .lines
            .iter()
            .map(|l| (&l.label, l.color))
            .chain(self.bands.iter().map(|b| (&b.label, b.color)))
        {
            if label.is_empty() {
                continue;
            }
            let _ = write!(
                s,
                r#"<rect x="{lx:.1}" y="{:.1}" width="10" height="10" fill="{color}"/><text x="{:.1}" y="{:.1}">{}</text>"#,
                TOP + 4.0,
                lx + 14.0,
                TOP + 13.0,
                esc(label)
            );
            lx += 24.0 + 6.5 * label.chars().count() as f64;
        }
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            LEFT + pw / 2.0,
            H - 4.0,
            esc(&self.x_label)
        );
        let _ = write!(
            s,
            r#"<text transform="translate(12 {:.1}) rotate(-90)" text-anchor="middle">{}</text>"#,
            TOP + ph / 2.0,
            esc(&self.y_label)
        );
        s.push_str("</svg>");
        s
    }
}

/// A horizontal bar chart of (label, value), largest first, at most `max_bars`.
pub fn bar_chart(title: &str, bars: &[(String, f64)], max_bars: usize) -> String {
    let mut bars: Vec<_> = bars.iter().filter(|b| b.1.is_finite()).cloned().collect();
    bars.sort_by(|a, b| b.1.total_cmp(&a.1));
    bars.truncate(max_bars);
    let row = 18.0;
    let height = TOP + row * bars.len() as f64 + 12.0;
    let label_w = 190.0;
    let max = bars.iter().map(|b| b.1.abs()).fold(0.0, f64::max).max(1e-12);
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {height}" width="{W}" height="{height}" font-family="sans-serif" font-size="11"><text x="8" y="16" font-size="13" font-weight="bold">{}</text>"#,
        esc(title)
    );
    for (i, (label, v)) in bars.iter().enumerate() {
        let y = TOP + row * i as f64;
        let w = (W - label_w - 80.0) * v.abs() / max;
        let _ = write!(
            s,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text><rect x="{label_w}" y="{:.1}" width="{w:.1}" height="{:.1}" fill="#4a78b5"/><text x="{:.1}" y="{:.1}">{}</text>"##,
            label_w - 6.0,
            y + 12.0,
            esc(label),
            y + 2.0,
            row - 4.0,
            label_w + w + 4.0,
            y + 12.0,
            fmt_tick(*v)
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_lines_bands_and_spans_inside_the_plot() {
        let chart = Chart {
            title: "t <1>".into(),
            lines: vec![Line {
                label: "a".into(),
                color: "red",
                points: vec![(0.0, 0.0), (1.0, 2.0)],
                dashed: false,
            }],
            bands: vec![Band {
                label: "80%".into(),
                color: "blue",
                points: vec![(0.0, -1.0, 1.0), (1.0, 1.0, 3.0)],
            }],
            spans: vec![(0.2, 0.4)],
            hlines: vec![(1.5, "thr".into())],
            ..Default::default()
        };
        let svg = chart.render();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("t &lt;1&gt;"));
        assert!(svg.contains("<rect") && svg.contains("opacity=\"0.3\"") && svg.contains("thr"));
    }

    #[test]
    fn thins_long_series_keeping_extremes() {
        let pts: Vec<(f64, f64)> =
            (0..100_000).map(|i| (i as f64, if i == 777 { 1e6 } else { 0.0 })).collect();
        let t = thin(&pts);
        assert!(t.len() <= MAX_POINTS + 2);
        assert!(t.iter().any(|p| p.1 == 1e6));
    }

    #[test]
    fn bars_are_sorted_and_capped() {
        let svg = bar_chart("imp", &[("a".into(), 0.1), ("b".into(), 0.7), ("c".into(), 0.2)], 2);
        assert!(svg.find(">b<").unwrap() < svg.find(">c<").unwrap());
        assert!(!svg.contains(">a<"));
    }
}
