//! The paper-style Markdown table: rows are pairs, columns are methods (mean ± std over
//! seeds), an average row, and the published number beside ours, with our difference (Δ =
//! ours − published), where the suite names one.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::store::Row;
use crate::suite::{pair_key, Suite};

fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = if v.len() > 1 {
        v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (mean, var.sqrt())
}

/// A signed difference to two decimals; one that rounds to zero prints as `0.00`, unsigned.
fn delta(d: f64) -> String {
    if d.abs() < 0.005 {
        "0.00".into()
    } else {
        format!("{d:+.2}")
    }
}

/// A column: a method id and, for methods with several budgets, the budget.
fn columns(suite: &Suite) -> Vec<(String, usize, String)> {
    let mut out = Vec::new();
    for m in &suite.methods {
        for &k in &m.budgets {
            let title = if m.budgets.len() > 1 {
                format!("{} (k={k})", m.id)
            } else {
                m.id.clone()
            };
            out.push((m.id.clone(), k, title));
        }
    }
    out
}

/// Renders the accuracy table.
pub fn markdown(suite: &Suite, rows: &[Row]) -> String {
    let mut acc: BTreeMap<(String, String, String, u64), Vec<f64>> = BTreeMap::new();
    for r in rows {
        acc.entry((
            r.source.clone(),
            r.target.clone(),
            r.method.clone(),
            r.budget,
        ))
        .or_default()
        .push(r.accuracy);
    }
    let cols = columns(suite);
    let pairs = suite.expand_pairs();
    let multi_seed = suite.seeds.len() > 1;
    let mut head = vec!["pair".to_string()];
    for (id, _, title) in &cols {
        head.push(title.clone());
        if suite.published.contains_key(id) {
            head.push(format!("{title} (published)"));
            head.push("Δ".to_string());
        }
    }
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n", suite.name);
    if !suite.description.is_empty() {
        let _ = writeln!(out, "{}\n", suite.description.trim());
    }
    let _ = writeln!(
        out,
        "Target accuracy (%), dataset `{}`, seeds {:?}{}.\n",
        suite.dataset,
        suite.seeds,
        if multi_seed {
            ", mean ± std over seeds"
        } else {
            ""
        }
    );
    let _ = writeln!(out, "| {} |", head.join(" | "));
    let _ = writeln!(out, "|{}|", vec!["---"; head.len()].join("|"));
    let mut col_means: Vec<Vec<f64>> = vec![Vec::new(); cols.len()];
    let mut pub_means: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for (s, t) in &pairs {
        let mut cells = vec![suite.pair_label(s, t)];
        for (ci, (id, k, _)) in cols.iter().enumerate() {
            let mut ours = None;
            match acc.get(&(s.clone(), t.clone(), id.clone(), *k as u64)) {
                Some(v) => {
                    let (m, sd) = mean_std(v);
                    ours = Some(m);
                    col_means[ci].push(m);
                    cells.push(if multi_seed {
                        format!("{m:.2} ± {sd:.2}")
                    } else {
                        format!("{m:.2}")
                    });
                }
                None => cells.push("–".into()),
            }
            if let Some(p) = suite.published.get(id) {
                match p.values.get(&pair_key(s, t)) {
                    Some(v) => {
                        pub_means.entry(id.clone()).or_default().push(*v);
                        cells.push(format!("{v:.2}"));
                        cells.push(ours.map_or("–".into(), |m| delta(m - v)));
                    }
                    None => cells.extend(["–".to_string(), "–".to_string()]),
                }
            }
        }
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    let mut avg = vec!["**average**".to_string()];
    for (ci, (id, _, _)) in cols.iter().enumerate() {
        let v = &col_means[ci];
        avg.push(if v.len() == pairs.len() && !v.is_empty() {
            format!("**{:.2}**", mean_std(v).0)
        } else {
            "–".into()
        });
        if suite.published.contains_key(id) {
            let p = pub_means.get(id).map(Vec::as_slice).unwrap_or(&[]);
            let complete = p.len() == pairs.len() && v.len() == pairs.len() && !v.is_empty();
            if complete {
                let (ours, published) = (mean_std(v).0, mean_std(p).0);
                avg.push(format!("**{published:.2}**"));
                avg.push(format!("**{}**", delta(ours - published)));
            } else {
                avg.extend(["–".to_string(), "–".to_string()]);
            }
        }
    }
    let _ = writeln!(out, "| {} |", avg.join(" | "));
    if !suite.published.is_empty() {
        let _ = writeln!(out, "\nPublished numbers:");
        for (id, p) in &suite.published {
            let _ = writeln!(out, "- {id}: {}", p.citation);
        }
    }
    let _ = writeln!(out, "\nMethods:");
    for m in &suite.methods {
        let _ = writeln!(
            out,
            "- {}: `{}`{} with {}, budgets {:?} labels per class; parameters `{}`",
            m.id,
            m.method.name(),
            m.adapter
                .as_ref()
                .map_or(String::new(), |a| format!(" ({})", a.kind())),
            m.learner.short_name(),
            m.budgets,
            m.params_json()
        );
    }
    out
}
