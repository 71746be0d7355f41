//! The negative-transfer view of a sweep (`tlab report`): per pair, method and budget, the
//! gain over the source-only baseline and over the target-only (from-scratch) baseline,
//! each paired by seed, with a 95% Student-t confidence interval across seeds, and the
//! runs that transferred negatively.
//!
//! Baselines: the suite's `source-only` method (budget 0) and its `target-only` method at
//! the same budget; where a suite has several, the one with the same learner, else the
//! first in suite order. A run transferred negatively when it scored below the target-only
//! baseline of its seed and budget (the from-scratch learner on the same labels); in the
//! unsupervised setting (budget 0) there is no target-only run, and the comparison is with
//! source-only (adaptation that hurt).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;

use crate::methods::MethodKind;
use crate::stats::mean_ci95;
use crate::store::Row;
use crate::suite::{MethodEntry, Suite, Task};

/// A gain with its interval.
#[derive(Debug, Clone, Copy)]
pub struct Gain {
    pub mean: f64,
    /// Half-width of the 95% CI (NaN with one seed).
    pub ci: f64,
    pub n: usize,
}

impl Gain {
    fn from(v: &[f64]) -> Option<Gain> {
        if v.is_empty() {
            return None;
        }
        let (mean, ci) = mean_ci95(v);
        Some(Gain {
            mean,
            ci,
            n: v.len(),
        })
    }
}

/// One (pair, method, budget) line of the report.
#[derive(Debug, Clone)]
pub struct Line {
    pub source: String,
    pub target: String,
    pub pair: String,
    pub method: String,
    pub budget: u64,
    pub accuracy: f64,
    pub vs_source_only: Option<Gain>,
    pub vs_target_only: Option<Gain>,
    /// Seeds whose run fell below its reference baseline.
    pub negative_seeds: Vec<u64>,
    /// `negative` (the 95% CI lies below 0), `negative?` (mean below 0, CI spans 0),
    /// `positive`, `positive?` likewise, `none` (identical in every seed), or `–` with no
    /// baseline.
    pub verdict: &'static str,
    /// Which baseline the verdict uses.
    pub reference: String,
}

fn pick_baseline<'a>(
    suite: &'a Suite,
    kind: MethodKind,
    m: &MethodEntry,
) -> Option<&'a MethodEntry> {
    let of_kind: Vec<&MethodEntry> = suite
        .methods
        .iter()
        .filter(|b| b.method == kind && b.representation.is_none())
        .collect();
    of_kind
        .iter()
        .find(|b| b.learner == m.learner)
        .or(of_kind.first())
        .copied()
}

fn verdict(g: &Gain) -> &'static str {
    let (lo, hi) = (g.mean - g.ci, g.mean + g.ci);
    if g.mean == 0.0 && (g.ci == 0.0 || g.ci.is_nan()) {
        "none"
    } else if g.ci.is_finite() && hi < 0.0 {
        "negative"
    } else if g.mean < 0.0 {
        "negative?"
    } else if g.ci.is_finite() && lo > 0.0 {
        "positive"
    } else {
        "positive?"
    }
}

/// Computes the report's lines in suite order (pairs, then methods, then budgets).
pub fn lines(suite: &Suite, rows: &[Row]) -> Vec<Line> {
    let acc: HashMap<(&str, &str, &str, u64, u64), f64> = rows
        .iter()
        .map(|r| {
            (
                (
                    r.source.as_str(),
                    r.target.as_str(),
                    r.method.as_str(),
                    r.budget,
                    r.seed,
                ),
                suite.score_of(r),
            )
        })
        .collect();
    let mut out = Vec::new();
    for (s, t) in suite.expand_pairs() {
        for m in &suite.methods {
            // A baseline kind with a representation is a transfer method (e.g. source-only
            // on mSDA features), judged against the same baseline on the raw features.
            if (m.representation.is_none()
                && matches!(
                    m.method,
                    MethodKind::SourceOnly | MethodKind::TargetOnly | MethodKind::Oracle
                ))
                || m.method == MethodKind::Oracle
                || suite.reference.as_ref() == Some(&m.id)
            {
                continue;
            }
            // Clustering and anomaly suites name their no-transfer baseline (`reference`);
            // it takes the source-only column.
            let src = match suite.task {
                Task::Classification => pick_baseline(suite, MethodKind::SourceOnly, m),
                _ => suite
                    .reference
                    .as_ref()
                    .and_then(|r| suite.methods.iter().find(|b| &b.id == r)),
            };
            // A classification suite may name its from-scratch reference (e.g. the same
            // network trained on the target labels only); else the target-only method.
            let tgt = match (&suite.task, &suite.reference) {
                (Task::Classification, Some(r)) => suite.methods.iter().find(|b| &b.id == r),
                _ => pick_baseline(suite, MethodKind::TargetOnly, m),
            };
            for &k in &m.budgets {
                let k = k as u64;
                let (mut accs, mut gs, mut gt, mut neg) = (vec![], vec![], vec![], vec![]);
                for &seed in &suite.seeds {
                    let Some(&a) = acc.get(&(s.as_str(), t.as_str(), m.id.as_str(), k, seed))
                    else {
                        continue;
                    };
                    accs.push(a);
                    let base_s = src
                        .and_then(|b| acc.get(&(s.as_str(), t.as_str(), b.id.as_str(), 0, seed)));
                    let base_t = tgt
                        .and_then(|b| acc.get(&(s.as_str(), t.as_str(), b.id.as_str(), k, seed)));
                    if let Some(b) = base_s {
                        gs.push(a - b);
                    }
                    if let Some(b) = base_t {
                        gt.push(a - b);
                    }
                    if let Some(b) = base_t.or(base_s) {
                        if a < *b {
                            neg.push(seed);
                        }
                    }
                }
                if accs.is_empty() {
                    continue;
                }
                let (vs_s, vs_t) = (Gain::from(&gs), Gain::from(&gt));
                let (v, reference) = match (&vs_t, &vs_s) {
                    (Some(g), _) => (verdict(g), "target-only".to_string()),
                    (None, Some(g)) => (verdict(g), baseline_name(suite).to_string()),
                    _ => ("–", "–".to_string()),
                };
                out.push(Line {
                    pair: suite.pair_label(&s, &t),
                    source: s.clone(),
                    target: t.clone(),
                    method: m.id.clone(),
                    budget: k,
                    accuracy: accs.iter().sum::<f64>() / accs.len() as f64,
                    vs_source_only: vs_s,
                    vs_target_only: vs_t,
                    negative_seeds: neg,
                    verdict: v,
                    reference,
                });
            }
        }
    }
    out
}

/// What the first gain column compares with: source-only, or the suite's `reference`.
fn baseline_name(suite: &Suite) -> &str {
    match (suite.task, &suite.reference) {
        (Task::Classification, _) | (_, None) => "source-only",
        (_, Some(r)) => r,
    }
}

fn fmt_gain(g: &Option<Gain>) -> String {
    match g {
        None => "–".into(),
        Some(g) if g.ci.is_finite() => format!("{:+.2} ± {:.2}", g.mean, g.ci),
        Some(g) => format!("{:+.2}", g.mean),
    }
}

/// The report as Markdown.
pub fn markdown(suite: &Suite, rows: &[Row]) -> String {
    let lines = lines(suite, rows);
    let mut out = String::new();
    let _ = writeln!(out, "# {}: negative-transfer report\n", suite.name);
    let _ = writeln!(
        out,
        "Gain = method {score} − baseline {score} (points), paired by seed; ± is the half-width of the \
         95% Student-t confidence interval over the {} seed(s) {:?}. A run transferred **negatively** when it \
         scored below the target-only (from-scratch) baseline of its seed and budget, or, in the unsupervised \
         setting (k = 0, no target labels), below {base}. Verdict: `negative` = the whole interval is \
         below 0; `negative?` = mean below 0 but the interval spans 0 (or one seed).\n",
        suite.seeds.len(),
        suite.seeds,
        score = suite.score_name(),
        base = baseline_name(suite),
    );
    if lines.is_empty() {
        let _ = writeln!(
            out,
            "No transfer methods beside the baselines in this suite: nothing to report."
        );
        return out;
    }
    // Summary per method and budget.
    // (suite order, method, budget) → (pairs, negative, negative or mean below 0, gains)
    type Tally = (usize, usize, usize, Vec<f64>);
    let mut per: BTreeMap<(usize, String, u64), Tally> = BTreeMap::new();
    let order: HashMap<&str, usize> = suite
        .methods
        .iter()
        .enumerate()
        .map(|(i, m)| (m.id.as_str(), i))
        .collect();
    for l in &lines {
        let e = per
            .entry((order[l.method.as_str()], l.method.clone(), l.budget))
            .or_default();
        e.0 += 1;
        if l.verdict == "negative" {
            e.1 += 1;
        }
        if l.verdict.starts_with("negative") {
            e.2 += 1;
        }
        if let Some(g) = l.vs_target_only.or(l.vs_source_only) {
            e.3.push(g.mean);
        }
    }
    let _ = writeln!(out, "## Summary\n");
    let _ = writeln!(
        out,
        "| method | k | pairs | mean gain vs reference | negative (CI below 0) | negative or mean below 0 |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    for ((_, m, k), (n, sig, any, g)) in &per {
        let mg = if g.is_empty() {
            "–".into()
        } else {
            format!("{:+.2}", g.iter().sum::<f64>() / g.len() as f64)
        };
        let k = tlab_core::budget_label(*k);
        let _ = writeln!(out, "| {m} | {k} | {n} | {mg} | {sig} | {any} |");
    }
    let _ = writeln!(out, "\n## Per pair\n");
    let _ = writeln!(
        out,
        "| pair | method | k | {} | gain vs {} | gain vs target-only | verdict (vs) | negative seeds |",
        suite.score_name(),
        baseline_name(suite)
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|");
    for l in &lines {
        let seeds = if l.negative_seeds.is_empty() {
            "–".to_string()
        } else {
            format!("{:?}", l.negative_seeds)
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.2} | {} | {} | {} ({}) | {} |",
            l.pair,
            l.method,
            tlab_core::budget_label(l.budget),
            l.accuracy,
            fmt_gain(&l.vs_source_only),
            fmt_gain(&l.vs_target_only),
            l.verdict,
            l.reference,
            seeds
        );
    }
    out
}

/// The report's lines as CSV (one per pair, method and budget).
pub fn csv(suite: &Suite, rows: &[Row]) -> String {
    let mut out = String::from(
        "source,target,method,budget,accuracy,gain_vs_source_only,ci95_vs_source_only,gain_vs_target_only,ci95_vs_target_only,n_seeds,verdict,reference,negative_seeds\n",
    );
    let f = |v: Option<f64>| {
        v.filter(|v| v.is_finite())
            .map_or(String::new(), |v| format!("{v:.4}"))
    };
    for l in lines(suite, rows) {
        let n = l.vs_target_only.or(l.vs_source_only).map_or(0, |g| g.n);
        let _ = writeln!(
            out,
            "{},{},{},{},{:.4},{},{},{},{},{},{},{},{}",
            l.source,
            l.target,
            l.method,
            tlab_core::budget_label(l.budget),
            l.accuracy,
            f(l.vs_source_only.map(|g| g.mean)),
            f(l.vs_source_only.map(|g| g.ci)),
            f(l.vs_target_only.map(|g| g.mean)),
            f(l.vs_target_only.map(|g| g.ci)),
            n,
            l.verdict,
            l.reference,
            l.negative_seeds
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUITE: &str = r#"
name = "r"
dataset = "synthetic"
pairs = [["blobs:shift=0", "blobs:shift=2"]]
seeds = [0, 1, 2]
[[methods]]
id = "src"
method = "source-only"
learner = { kind = "logistic" }
[[methods]]
id = "tgt"
method = "target-only"
learner = { kind = "logistic" }
budgets = [3]
[[methods]]
id = "both"
method = "source-and-target"
learner = { kind = "logistic" }
budgets = [3]
[[methods]]
id = "sa"
method = "adapt"
adapter = { kind = "sa", dim = 2 }
learner = { kind = "logistic" }
"#;

    fn row(m: &str, k: u64, seed: u64, acc: f64) -> Row {
        Row::example("r", ("blobs:shift=0", "blobs:shift=2"), m, k, seed, acc)
    }

    #[test]
    fn gains_are_paired_by_seed_with_t_intervals() {
        let suite = Suite::parse(SUITE, "r").unwrap();
        let rows = vec![
            row("src", 0, 0, 50.0),
            row("src", 0, 1, 50.0),
            row("src", 0, 2, 50.0),
            row("tgt", 3, 0, 60.0),
            row("tgt", 3, 1, 70.0),
            row("tgt", 3, 2, 80.0),
            // Below target-only in every seed by 1, 2, 3 points.
            row("both", 3, 0, 59.0),
            row("both", 3, 1, 68.0),
            row("both", 3, 2, 77.0),
            // Unsupervised: above source-only by 1, 1, 4 points.
            row("sa", 0, 0, 51.0),
            row("sa", 0, 1, 51.0),
            row("sa", 0, 2, 54.0),
        ];
        let l = lines(&suite, &rows);
        assert_eq!(l.len(), 2);
        let both = &l[0];
        let g = both.vs_target_only.unwrap();
        // scipy: stats.t.interval(0.95, 2, loc=-2, scale=stats.sem([-1, -2, -3])) = (-4.4841, 0.4841)
        assert!((g.mean + 2.0).abs() < 1e-12);
        assert!((g.ci - 2.4841377118437).abs() < 1e-5, "{}", g.ci);
        assert_eq!(both.verdict, "negative?");
        assert_eq!(both.reference, "target-only");
        assert_eq!(both.negative_seeds, vec![0, 1, 2]);
        let gs = both.vs_source_only.unwrap();
        assert!((gs.mean - 18.0).abs() < 1e-12);
        let sa = &l[1];
        assert!(sa.vs_target_only.is_none());
        assert_eq!(sa.reference, "source-only");
        assert!((sa.vs_source_only.unwrap().mean - 2.0).abs() < 1e-12);
        assert!(sa.negative_seeds.is_empty());
        let md = markdown(&suite, &rows);
        assert!(md.contains("| both | 3 | 1 | -2.00 | 0 | 1 |"), "{md}");
        let c = csv(&suite, &rows);
        assert_eq!(c.lines().count(), 3);
        assert!(
            c.lines()
                .nth(1)
                .unwrap()
                .ends_with(",3,negative?,target-only,0 1 2"),
            "{c}"
        );
    }
}
