//! A self-contained HTML report of a generation: the JSON report as tables, and inline SVG
//! plots — real against synthetic histograms per column (bars of label shares), a tail QQ plot
//! per numeric column (quantiles 0.5 … 0.999), and autocorrelations for series. No scripts, no
//! external resources: the file opens anywhere and can be archived with the run.

use crate::table::{Role, Table, Values};
use std::fmt::Write;

const WIDTH: f64 = 360.0;
const HEIGHT: f64 = 200.0;
const MARGIN: f64 = 34.0;
const REAL: &str = "#3b6ea5";
const SYNTHETIC: &str = "#d9822b";
/// Columns plotted at most.
const MAX_COLUMNS: usize = 16;

/// A series column with its real and its synthetic paths.
pub type SeriesPlot = (String, Vec<Vec<f64>>, Vec<Vec<f64>>);

/// The report page. `series` holds, per series column, the real and synthetic paths.
pub fn html(
    title: &str,
    report: &serde_json::Value,
    real: &Table,
    synthetic: &Table,
    series: &[SeriesPlot],
) -> String {
    let mut page = String::new();
    let _ = write!(
        page,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title><style>\
         body{{font:14px system-ui,sans-serif;margin:2em;color:#222}}h1{{font-size:1.4em}}\
         .plots{{display:flex;flex-wrap:wrap;gap:12px}}figure{{margin:0;border:1px solid #ddd;padding:6px}}\
         figcaption{{font-weight:600}}table{{border-collapse:collapse}}td,th{{border:1px solid #ddd;padding:2px 8px;text-align:left}}\
         .real{{color:{REAL}}}.synthetic{{color:{SYNTHETIC}}}pre{{background:#f6f6f6;padding:1em;overflow:auto;max-height:30em}}</style></head><body>\
         <h1>{t}</h1><p><span class=\"real\">■ real</span> <span class=\"synthetic\">■ synthetic</span></p>",
        t = escape(title)
    );
    if let Some(object) = report.as_object() {
        page.push_str("<table>");
        for (key, value) in object {
            if value.is_object() || value.is_array() {
                continue;
            }
            let _ = write!(page, "<tr><th>{}</th><td>{}</td></tr>", escape(key), escape(&value.to_string()));
        }
        page.push_str("</table>");
    }
    page.push_str("<h2>Columns</h2><div class=\"plots\">");
    for column in real.columns.iter().filter(|c| c.role != Role::Id).take(MAX_COLUMNS) {
        let Some(other) = synthetic.position(&column.name).map(|p| &synthetic.columns[p]) else { continue };
        match (&column.values, &other.values) {
            (Values::Numbers { values: a, .. }, Values::Numbers { values: b, .. }) => {
                let a: Vec<f64> = a.iter().flatten().copied().filter(|v| v.is_finite()).collect();
                let b: Vec<f64> = b.iter().flatten().copied().filter(|v| v.is_finite()).collect();
                // Heavy-tailed positive columns read better on a log scale.
                let mut sorted = a.clone();
                sorted.sort_by(f64::total_cmp);
                let heavy = sorted.first().is_some_and(|v| *v > 0.0)
                    && crate::eval::quantile_sorted(&sorted, 0.99)
                        > 50.0 * crate::eval::quantile_sorted(&sorted, 0.5);
                if heavy && b.iter().all(|v| *v > 0.0) {
                    let log = |v: &[f64]| v.iter().map(|x| x.log10()).collect::<Vec<_>>();
                    figure(
                        &mut page,
                        &format!("{} — histogram (log10)", column.name),
                        &histogram(&log(&a), &log(&b)),
                    );
                } else {
                    figure(&mut page, &format!("{} — histogram", column.name), &histogram(&a, &b));
                }
                figure(&mut page, &format!("{} — tail QQ", column.name), &tail_qq(&a, &b));
            }
            _ => {
                let a: Vec<Option<String>> = (0..column.len()).map(|r| column.text(r)).collect();
                let b: Vec<Option<String>> = (0..other.len()).map(|r| other.text(r)).collect();
                figure(&mut page, &format!("{} — shares", column.name), &bars(&a, &b));
            }
        }
    }
    page.push_str("</div>");
    if !series.is_empty() {
        page.push_str("<h2>Series</h2><div class=\"plots\">");
        for (name, a, b) in series {
            figure(&mut page, &format!("{name} — autocorrelation"), &autocorrelation(a, b));
            let flat =
                |s: &[Vec<f64>]| s.iter().flatten().copied().filter(|v| v.is_finite()).collect::<Vec<_>>();
            figure(&mut page, &format!("{name} — tail QQ"), &tail_qq(&flat(a), &flat(b)));
        }
        page.push_str("</div>");
    }
    let _ = write!(
        page,
        "<h2>Report</h2><pre>{}</pre></body></html>",
        escape(&serde_json::to_string_pretty(report).unwrap_or_default())
    );
    page
}

fn figure(page: &mut String, caption: &str, svg: &str) {
    let _ = write!(page, "<figure><figcaption>{}</figcaption>{svg}</figure>", escape(caption));
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn number(v: f64) -> String {
    if v.abs() >= 1e5 || (v != 0.0 && v.abs() < 1e-2) {
        format!("{v:.2e}")
    } else {
        format!("{v:.3}").trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

/// An SVG canvas with axes over [x0, x1] × [y0, y1]; `draw` gets a point mapper.
fn canvas(
    x: (f64, f64),
    y: (f64, f64),
    draw: impl FnOnce(&mut String, &dyn Fn(f64, f64) -> (f64, f64)),
) -> String {
    let (x0, x1) = if x.1 > x.0 { x } else { (x.0 - 0.5, x.0 + 0.5) };
    let (y0, y1) = if y.1 > y.0 { y } else { (y.0 - 0.5, y.0 + 0.5) };
    let map = move |a: f64, b: f64| {
        (
            MARGIN + (a - x0) / (x1 - x0) * (WIDTH - 2.0 * MARGIN),
            HEIGHT - MARGIN + -(b - y0) / (y1 - y0) * (HEIGHT - 2.0 * MARGIN),
        )
    };
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" font-size=\"10\">"
    );
    let (ax, ay) = map(x0, y0);
    let (bx, by) = map(x1, y1);
    let _ = write!(
        svg,
        "<path d=\"M{ax:.1} {by:.1}V{ay:.1}H{bx:.1}\" fill=\"none\" stroke=\"#888\"/>\
         <text x=\"{ax:.1}\" y=\"{:.1}\">{}</text><text x=\"{bx:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\
         <text x=\"{:.1}\" y=\"{ay:.1}\" text-anchor=\"end\">{}</text><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
        ay + 12.0,
        number(x0),
        ay + 12.0,
        number(x1),
        ax - 3.0,
        number(y0),
        ax - 3.0,
        by + 8.0,
        number(y1)
    );
    draw(&mut svg, &map);
    svg.push_str("</svg>");
    svg
}

fn polyline(svg: &mut String, points: &[(f64, f64)], colour: &str, map: &dyn Fn(f64, f64) -> (f64, f64)) {
    let path: Vec<String> = points
        .iter()
        .map(|&(a, b)| {
            let (x, y) = map(a, b);
            format!("{x:.1},{y:.1}")
        })
        .collect();
    let _ = write!(
        svg,
        "<polyline points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.5\"/>",
        path.join(" ")
    );
}

/// Densities over 30 shared bins, as step lines.
fn histogram(a: &[f64], b: &[f64]) -> String {
    let (lo, hi) = a.iter().chain(b).fold((f64::MAX, f64::MIN), |(l, h), v| (l.min(*v), h.max(*v)));
    if lo > hi {
        return canvas((0.0, 1.0), (0.0, 1.0), |_, _| {});
    }
    let bins = 30;
    let width = if hi > lo { (hi - lo) / bins as f64 } else { 1.0 };
    let shares = |values: &[f64]| {
        let mut counts = vec![0.0; bins];
        for v in values {
            counts[(((v - lo) / width) as usize).min(bins - 1)] += 1.0;
        }
        let n = values.len().max(1) as f64;
        counts.iter().map(|c| c / n).collect::<Vec<f64>>()
    };
    let (sa, sb) = (shares(a), shares(b));
    let top = sa.iter().chain(&sb).copied().fold(0.0, f64::max);
    let steps = |s: &[f64]| {
        let mut points = Vec::new();
        for (k, v) in s.iter().enumerate() {
            points.push((lo + k as f64 * width, *v));
            points.push((lo + (k + 1) as f64 * width, *v));
        }
        points
    };
    canvas((lo, lo + bins as f64 * width), (0.0, top), |svg, map| {
        polyline(svg, &steps(&sa), REAL, map);
        polyline(svg, &steps(&sb), SYNTHETIC, map);
    })
}

/// Synthetic against real quantiles from the median to q99.9, with the diagonal.
fn tail_qq(a: &[f64], b: &[f64]) -> String {
    let sort = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v
    };
    let (a, b) = (sort(a), sort(b));
    if a.is_empty() || b.is_empty() {
        return canvas((0.0, 1.0), (0.0, 1.0), |_, _| {});
    }
    let levels = [0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.975, 0.99, 0.995, 0.999];
    let points: Vec<(f64, f64)> = levels
        .iter()
        .map(|&p| (crate::eval::quantile_sorted(&a, p), crate::eval::quantile_sorted(&b, p)))
        .collect();
    let lo = points.iter().map(|p| p.0.min(p.1)).fold(f64::MAX, f64::min);
    let hi = points.iter().map(|p| p.0.max(p.1)).fold(f64::MIN, f64::max);
    canvas((lo, hi), (lo, hi), |svg, map| {
        polyline(svg, &[(lo, lo), (hi, hi)], "#aaa", map);
        for &(x, y) in &points {
            let (px, py) = map(x, y);
            let _ = write!(svg, "<circle cx=\"{px:.1}\" cy=\"{py:.1}\" r=\"3\" fill=\"{SYNTHETIC}\"/>");
        }
    })
}

/// Shares of the 15 most frequent real labels, side by side.
fn bars(a: &[Option<String>], b: &[Option<String>]) -> String {
    let count = |values: &[Option<String>]| {
        let mut counts: std::collections::HashMap<String, f64> = Default::default();
        for v in values {
            *counts.entry(v.clone().unwrap_or_else(|| "(null)".into())).or_default() += 1.0;
        }
        let n = values.len().max(1) as f64;
        counts.values_mut().for_each(|c| *c /= n);
        counts
    };
    let (ca, cb) = (count(a), count(b));
    let mut labels: Vec<(&String, &f64)> = ca.iter().collect();
    labels.sort_by(|x, y| y.1.total_cmp(x.1).then(x.0.cmp(y.0)));
    labels.truncate(15);
    let top = labels
        .iter()
        .map(|l| *l.1)
        .chain(labels.iter().map(|l| *cb.get(l.0).unwrap_or(&0.0)))
        .fold(0.0, f64::max);
    let k = labels.len().max(1) as f64;
    canvas((0.0, k), (0.0, top), |svg, map| {
        for (i, (label, share)) in labels.iter().enumerate() {
            for (offset, value, colour) in
                [(0.1, **share, REAL), (0.5, *cb.get(*label).unwrap_or(&0.0), SYNTHETIC)]
            {
                let (x, y) = map(i as f64 + offset, value);
                let (_, base) = map(0.0, 0.0);
                let (x2, _) = map(i as f64 + offset + 0.4, 0.0);
                let _ = write!(
                    svg,
                    "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{colour}\"><title>{}: {value:.4}</title></rect>",
                    x2 - x,
                    (base - y).max(0.0),
                    escape(label)
                );
            }
        }
    })
}

/// Autocorrelation at lags 1 … 20 of real and synthetic paths.
fn autocorrelation(a: &[Vec<f64>], b: &[Vec<f64>]) -> String {
    let acf = |series: &[Vec<f64>]| -> Vec<(f64, f64)> {
        let all: Vec<f64> = series.iter().flatten().copied().collect();
        let mean = all.iter().sum::<f64>() / all.len().max(1) as f64;
        let denominator: f64 = all.iter().map(|v| (v - mean).powi(2)).sum();
        (0..=20)
            .map(|lag| {
                let numerator: f64 = series
                    .iter()
                    .map(|s| (lag..s.len()).map(|t| (s[t] - mean) * (s[t - lag] - mean)).sum::<f64>())
                    .sum();
                (lag as f64, if denominator > 0.0 { numerator / denominator } else { 0.0 })
            })
            .collect()
    };
    let (ra, rb) = (acf(a), acf(b));
    let lo = ra.iter().chain(&rb).map(|p| p.1).fold(0.0, f64::min);
    canvas((0.0, 20.0), (lo, 1.0), |svg, map| {
        polyline(svg, &[(0.0, 0.0), (20.0, 0.0)], "#ccc", map);
        polyline(svg, &ra, REAL, map);
        polyline(svg, &rb, SYNTHETIC, map);
    })
}
