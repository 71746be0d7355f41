//! Which similarity metrics predict negative transfer (`tlab study DIR…`).
//!
//! From finished results folders whose suites record `metrics` and include a target-only
//! baseline: every (pair, method, budget ≥ 1) line of the report (see [`crate::report`])
//! gives a gain over target-only (mean over seeds) — negative = negative transfer — and
//! the pair's metric values. Per metric: Spearman's ρ and Kendall's τ-b between metric and
//! gain, and the AUROC of the metric as a score for "this transfer is negative" (above
//! 0.5: larger values flag harm; below 0.5: the metric points the wrong way), pooled over
//! all folders and within each folder (metrics are on each benchmark's own scale, so the
//! within-folder numbers are the fairer ones). Writes `study.md`, `study.csv` and one
//! pooled gain-vs-metric scatter per metric.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;
use tlab_similarity::stats::{auroc, kendall_tau_b, spearman};

use crate::error::Result;
use crate::plot::{draw_scatter, register_font, ImageFormat};
use crate::report;
use crate::store::Row;
use crate::suite::Suite;

/// One transfer outcome with the metrics of its pair.
#[derive(Debug, Clone)]
pub struct Point {
    pub suite: String,
    pub label: String,
    pub gain: f64,
    pub metrics: BTreeMap<String, f64>,
}

/// (source, target, budget).
pub type RunGroup = (String, String, u64);

/// Each metric's mean over the rows of a (source, target, budget): divergences are the
/// same in every row of a pair; the label-aware scores change with the seed's labelled
/// rows and the budget, so they are averaged over seeds like the gains.
pub fn metric_means(rows: &[Row]) -> BTreeMap<RunGroup, BTreeMap<String, f64>> {
    let mut sums: BTreeMap<RunGroup, BTreeMap<String, (f64, usize)>> = BTreeMap::new();
    for r in rows {
        let e = sums
            .entry((r.source.clone(), r.target.clone(), r.budget))
            .or_default();
        for (m, v) in &r.metrics {
            let s = e.entry(m.clone()).or_default();
            s.0 += v;
            s.1 += 1;
        }
    }
    sums.into_iter()
        .map(|(k, m)| {
            (
                k,
                m.into_iter().map(|(n, (s, c))| (n, s / c as f64)).collect(),
            )
        })
        .collect()
}

/// The gains over target-only of every transfer method at budgets ≥ 1, with metrics.
pub fn points(suite: &Suite, rows: &[Row]) -> Vec<Point> {
    let by_key = metric_means(rows);
    report::lines(suite, rows)
        .into_iter()
        .filter_map(|l| {
            let g = l.vs_target_only?;
            let m = by_key.get(&(l.source.clone(), l.target.clone(), l.budget))?;
            Some(Point {
                suite: suite.name.clone(),
                label: format!(
                    "{} {} k={}",
                    l.pair,
                    l.method,
                    tlab_core::budget_label(l.budget)
                ),
                gain: g.mean,
                metrics: m.clone(),
            })
        })
        .collect()
}

/// One metric's predictive scores.
#[derive(Debug, Clone)]
pub struct Scores {
    pub metric: String,
    pub n: usize,
    pub negatives: usize,
    pub spearman: f64,
    pub kendall: f64,
    pub auroc: f64,
    /// Per folder: (suite, n, ρ, AUROC).
    pub within: Vec<(String, usize, f64, f64)>,
}

/// Whether larger values mean *more* transferable (the label-aware scores), so that the
/// study negates them: after that, for every metric, larger = farther = expected harm.
pub fn higher_is_better(metric: &str) -> bool {
    tlab_similarity::TRANSFERABILITY
        .iter()
        .any(|(n, _)| *n == metric)
        && !tlab_similarity::LABEL_AWARE_DISTANCES.contains(&metric)
}

fn score(points: &[&Point], metric: &str) -> (usize, usize, f64, f64, f64) {
    let sign = if higher_is_better(metric) { -1.0 } else { 1.0 };
    let (x, y): (Vec<f64>, Vec<f64>) = points
        .iter()
        .filter_map(|p| p.metrics.get(metric).map(|v| (sign * *v, p.gain)))
        .unzip();
    let neg: Vec<bool> = y.iter().map(|g| *g < 0.0).collect();
    (
        x.len(),
        neg.iter().filter(|b| **b).count(),
        spearman(&x, &y),
        kendall_tau_b(&x, &y),
        auroc(&x, &neg),
    )
}

/// Scores every metric present in the points, best AUROC first.
pub fn scores(points: &[Point]) -> Vec<Scores> {
    let metrics: BTreeSet<&String> = points.iter().flat_map(|p| p.metrics.keys()).collect();
    let suites: BTreeSet<&String> = points.iter().map(|p| &p.suite).collect();
    let all: Vec<&Point> = points.iter().collect();
    let mut out: Vec<Scores> = metrics
        .into_iter()
        .map(|m| {
            let (n, negatives, rho, tau, auc) = score(&all, m);
            let within = suites
                .iter()
                .map(|s| {
                    let sub: Vec<&Point> = points.iter().filter(|p| &p.suite == *s).collect();
                    let (n, _, rho, _, auc) = score(&sub, m);
                    ((*s).clone(), n, rho, auc)
                })
                .collect();
            Scores {
                metric: if higher_is_better(m) {
                    format!("−{m}")
                } else {
                    m.clone()
                },
                n,
                negatives,
                spearman: rho,
                kendall: tau,
                auroc: auc,
                within,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        let key = |s: &Scores| if s.auroc.is_nan() { -1.0 } else { s.auroc };
        key(b).total_cmp(&key(a))
    });
    out
}

fn f2(v: f64) -> String {
    if v.is_nan() {
        "–".into()
    } else {
        format!("{v:.2}")
    }
}

fn verdict(s: &Scores) -> &'static str {
    if s.auroc.is_nan() {
        "cannot tell (no negative or no positive transfer)"
    } else if s.auroc >= 0.7 {
        "predicts harm well"
    } else if s.auroc >= 0.6 {
        "weak predictor"
    } else if s.auroc > 0.4 {
        "no better than chance"
    } else {
        "points the wrong way"
    }
}

/// The study as Markdown.
pub fn markdown(points: &[Point], scores: &[Scores], sources: &[String]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Which similarity metrics predict negative transfer\n"
    );
    let _ = writeln!(
        out,
        "From {}. Each point is one (pair, method, target labels per class ≥ 1): the gain in \
         accuracy over the target-only baseline trained from scratch on the same labels (mean \
         over seeds); negative = negative transfer. {} points, {} negative. ρ and τ: rank \
         correlation of the metric with the gain (a useful divergence has ρ < 0: the farther \
         the domains, the smaller the gain; the label-aware transferability scores, where larger \
         means more transferable, enter negated, shown as −leep etc., so the same reading holds). AUROC: the metric as a score for \"this transfer \
         hurts\" (1 = perfect, 0.5 = chance, < 0.5 = backwards). Pooled numbers mix benchmarks \
         whose metrics live on different scales; the within-suite columns do not.\n",
        sources.join(", "),
        points.len(),
        points.iter().filter(|p| p.gain < 0.0).count()
    );
    let suites: Vec<String> = scores
        .first()
        .map(|s| s.within.iter().map(|w| w.0.clone()).collect())
        .unwrap_or_default();
    let _ = write!(
        out,
        "| rank | metric | n | negative | Spearman ρ | Kendall τ | AUROC | verdict |"
    );
    for s in &suites {
        let _ = write!(out, " {s}: ρ / AUROC |");
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "|{}", "---|".repeat(8 + suites.len()));
    for (i, s) in scores.iter().enumerate() {
        let _ = write!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            i + 1,
            s.metric,
            s.n,
            s.negatives,
            f2(s.spearman),
            f2(s.kendall),
            f2(s.auroc),
            verdict(s)
        );
        for w in &s.within {
            let _ = write!(out, " {} / {} (n={}) |", f2(w.2), f2(w.3), w.1);
        }
        let _ = writeln!(out);
    }
    out
}

/// The scores as CSV.
pub fn csv(scores: &[Scores]) -> String {
    let mut out = String::from("metric,scope,n,negatives,spearman,kendall,auroc\n");
    for s in scores {
        let _ = writeln!(
            out,
            "{},pooled,{},{},{},{},{}",
            s.metric, s.n, s.negatives, s.spearman, s.kendall, s.auroc
        );
        for w in &s.within {
            let _ = writeln!(out, "{},{},{},,{},,{}", s.metric, w.0, w.1, w.2, w.3);
        }
    }
    out
}

/// Pooled gain-vs-metric scatters, points coloured by suite.
pub fn plots(points: &[Point], scores: &[Scores], dir: &Path) -> Result<Vec<PathBuf>> {
    register_font();
    let mut written = Vec::new();
    for s in scores {
        let raw = s.metric.trim_start_matches('−');
        let pts: Vec<(String, f64, f64)> = points
            .iter()
            .filter_map(|p| p.metrics.get(raw).map(|v| (p.suite.clone(), *v, p.gain)))
            .collect();
        if pts.len() < 2 {
            continue;
        }
        for f in [ImageFormat::Png, ImageFormat::Svg] {
            let ext = if f == ImageFormat::Png { "png" } else { "svg" };
            let path = dir.join(format!("gain-vs-{raw}.{ext}"));
            crate::both_backends!(&path, (1130, 600), |root| draw_scatter(
                root,
                "all suites",
                raw,
                &pts
            ))?;
            written.push(path);
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(suite: &str, gain: f64, good: f64, bad: f64) -> Point {
        Point {
            suite: suite.into(),
            label: String::new(),
            gain,
            metrics: [("good".to_string(), good), ("bad".to_string(), bad)]
                .into_iter()
                .collect(),
        }
    }

    #[test]
    fn a_divergence_that_tracks_harm_ranks_first() {
        // `good` grows as the gain falls (ρ = −1, AUROC = 1); `bad` is backwards.
        let pts = vec![
            p("a", 5.0, 0.1, 3.0),
            p("a", 2.0, 0.2, 2.0),
            p("a", -1.0, 0.3, 1.5),
            p("b", -4.0, 0.9, 1.0),
            p("b", 1.0, 0.25, 2.5),
        ];
        let s = scores(&pts);
        assert_eq!(s[0].metric, "good");
        assert_eq!((s[0].n, s[0].negatives), (5, 2));
        assert!((s[0].spearman + 1.0).abs() < 1e-12);
        assert!((s[0].kendall + 1.0).abs() < 1e-12);
        assert!((s[0].auroc - 1.0).abs() < 1e-12);
        assert_eq!(s[1].metric, "bad");
        assert!(s[1].auroc < 0.5);
        assert_eq!(s[0].within[0].0, "a");
        assert_eq!(s[0].within[0].1, 3);
        let md = markdown(&pts, &s, &["x".into()]);
        assert!(
            md.contains("| 1 | good | 5 | 2 | -1.00 | -1.00 | 1.00 | predicts harm well |"),
            "{md}"
        );
        assert_eq!(csv(&s).lines().count(), 1 + 2 * 3);
    }
}
