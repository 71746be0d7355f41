//! Paper-style tables from stored rows: rows are pairs, columns are methods (× budgets),
//! mean ± std over seeds, the best per row in bold (the oracle, an in-domain reference, is
//! never a candidate), an average row, and the published number beside ours with our
//! difference (Δ = ours − published) where the suite names one. Rendered as Markdown,
//! LaTeX (booktabs) or CSV from one computed [`Table`].

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::methods::MethodKind;
use crate::store::Row;
use crate::suite::{pair_key, Suite};

/// Mean and sample standard deviation (0 for one value).
pub fn mean_std(v: &[f64]) -> (f64, f64) {
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

/// The output formats of `tlab table`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Markdown,
    Latex,
    Csv,
}

impl Format {
    pub fn extension(self) -> &'static str {
        match self {
            Format::Markdown => "md",
            Format::Latex => "tex",
            Format::Csv => "csv",
        }
    }
}

/// One method column.
#[derive(Debug, Clone)]
pub struct Column {
    pub id: String,
    pub budget: u64,
    pub title: String,
    /// Candidates for "best in row" (every method but the oracle).
    pub competes: bool,
    pub published: bool,
}

/// One cell: mean and std over seeds, and how many seeds.
#[derive(Debug, Clone, Copy)]
pub struct Cell {
    pub mean: f64,
    pub std: f64,
    pub n: usize,
}

/// The computed table.
#[derive(Debug, Clone)]
pub struct Table {
    pub columns: Vec<Column>,
    /// Pair labels in suite order.
    pub pairs: Vec<String>,
    /// `cells[pair][column]`.
    pub cells: Vec<Vec<Option<Cell>>>,
    /// `published[pair][column]` (None where not published).
    pub published: Vec<Vec<Option<f64>>>,
    /// Mean over pairs of each column (only when every pair has a value).
    pub average: Vec<Option<f64>>,
    pub published_average: Vec<Option<f64>>,
    pub multi_seed: bool,
}

fn best(values: impl Iterator<Item = (usize, Option<f64>)>, columns: &[Column]) -> Option<f64> {
    values
        .filter(|(c, _)| columns[*c].competes)
        .filter_map(|(_, v)| v)
        .map(|v| (v * 100.0).round() / 100.0)
        .fold(None, |a: Option<f64>, v| Some(a.map_or(v, |a| a.max(v))))
}

/// Whether `v` is the (rounded) best of its row.
fn is_best(v: f64, best: Option<f64>) -> bool {
    best.is_some_and(|b| (v * 100.0).round() / 100.0 == b)
}

impl Table {
    pub fn new(suite: &Suite, rows: &[Row]) -> Table {
        let mut acc: BTreeMap<(String, String, String, u64), Vec<f64>> = BTreeMap::new();
        for r in rows {
            acc.entry((
                r.source.clone(),
                r.target.clone(),
                r.method.clone(),
                r.budget,
            ))
            .or_default()
            .push(suite.score_of(r));
        }
        let mut columns = Vec::new();
        for m in &suite.methods {
            for &k in &m.budgets {
                let title = if m.budgets.len() > 1 {
                    format!("{} (k={})", m.id, tlab_core::budget_label(k as u64))
                } else {
                    m.id.clone()
                };
                columns.push(Column {
                    id: m.id.clone(),
                    budget: k as u64,
                    title,
                    competes: m.method != MethodKind::Oracle,
                    published: suite.published.contains_key(&m.id),
                });
            }
        }
        let pairs = suite.expand_pairs();
        let mut cells = Vec::new();
        let mut published = Vec::new();
        for (s, t) in &pairs {
            let mut row = Vec::new();
            let mut prow = Vec::new();
            for c in &columns {
                row.push(
                    acc.get(&(s.clone(), t.clone(), c.id.clone(), c.budget))
                        .map(|v| {
                            let (mean, std) = mean_std(v);
                            Cell {
                                mean,
                                std,
                                n: v.len(),
                            }
                        }),
                );
                prow.push(
                    suite
                        .published
                        .get(&c.id)
                        .and_then(|p| p.values.get(&pair_key(s, t)).copied()),
                );
            }
            cells.push(row);
            published.push(prow);
        }
        let n = pairs.len();
        let column_mean = |f: &dyn Fn(usize) -> Option<f64>| -> Option<f64> {
            let v: Vec<f64> = (0..n).filter_map(f).collect();
            (v.len() == n && n > 0).then(|| mean_std(&v).0)
        };
        let average = (0..columns.len())
            .map(|c| column_mean(&|p| cells[p][c].map(|x| x.mean)))
            .collect();
        let published_average = (0..columns.len())
            .map(|c| column_mean(&|p| published[p][c]))
            .collect();
        Table {
            pairs: pairs.iter().map(|(s, t)| suite.pair_label(s, t)).collect(),
            columns,
            cells,
            published,
            average,
            published_average,
            multi_seed: suite.seeds.len() > 1,
        }
    }

    fn row_best(&self, p: usize) -> Option<f64> {
        best(
            self.cells[p].iter().map(|c| c.map(|c| c.mean)).enumerate(),
            &self.columns,
        )
    }

    fn average_best(&self) -> Option<f64> {
        best(self.average.iter().copied().enumerate(), &self.columns)
    }
}

/// Renders the table of the suite's score (accuracy, NMI, AUROC, …) in `format`.
pub fn render(suite: &Suite, rows: &[Row], format: Format) -> String {
    let t = Table::new(suite, rows);
    match format {
        Format::Markdown => render_markdown(suite, &t),
        Format::Latex => render_latex(suite, &t),
        Format::Csv => render_csv(&t),
    }
}

/// The Markdown table (what `tlab run` writes as `table.md`).
pub fn markdown(suite: &Suite, rows: &[Row]) -> String {
    render(suite, rows, Format::Markdown)
}

/// How one output format writes bold, ±, a missing value and a pair label.
struct CellStyle {
    bold: fn(String) -> String,
    pm: &'static str,
    dash: &'static str,
    label: fn(&str) -> String,
}

/// The cells of every pair row and of the average row, in `style`.
fn body(t: &Table, style: &CellStyle, average: &str) -> (Vec<Vec<String>>, Vec<String>) {
    let bold = |s: String, b: bool| if b { (style.bold)(s) } else { s };
    let dash = || style.dash.to_string();
    let mut rows = Vec::new();
    for (p, label) in t.pairs.iter().enumerate() {
        let b = t.row_best(p);
        let mut cells = vec![(style.label)(label)];
        for (ci, c) in t.columns.iter().enumerate() {
            let ours = t.cells[p][ci];
            cells.push(match ours {
                Some(x) => {
                    let s = if t.multi_seed {
                        format!("{:.2} {} {:.2}", x.mean, style.pm, x.std)
                    } else {
                        format!("{:.2}", x.mean)
                    };
                    bold(s, c.competes && is_best(x.mean, b))
                }
                None => dash(),
            });
            if c.published {
                match t.published[p][ci] {
                    Some(v) => {
                        cells.push(format!("{v:.2}"));
                        cells.push(ours.map_or_else(dash, |m| delta(m.mean - v)));
                    }
                    None => cells.extend([dash(), dash()]),
                }
            }
        }
        rows.push(cells);
    }
    let b = t.average_best();
    let mut avg = vec![average.to_string()];
    for (ci, c) in t.columns.iter().enumerate() {
        avg.push(t.average[ci].map_or_else(dash, |m| {
            bold(format!("{m:.2}"), c.competes && is_best(m, b))
        }));
        if c.published {
            match (t.average[ci], t.published_average[ci]) {
                (Some(ours), Some(p)) => {
                    avg.push(format!("{p:.2}"));
                    avg.push(delta(ours - p));
                }
                _ => avg.extend([dash(), dash()]),
            }
        }
    }
    (rows, avg)
}

fn render_markdown(suite: &Suite, t: &Table) -> String {
    let mut head = vec!["pair".to_string()];
    for c in &t.columns {
        head.push(c.title.clone());
        if c.published {
            head.push(format!("{} (published)", c.title));
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
        "Target {}, dataset `{}`, seeds {:?}{}; best per row in bold (the oracle is not a candidate).\n",
        suite.score_label(),
        suite.dataset_name(),
        suite.seeds,
        if t.multi_seed {
            ", mean ± std over seeds"
        } else {
            ""
        }
    );
    let _ = writeln!(out, "| {} |", head.join(" | "));
    let _ = writeln!(out, "|{}|", vec!["---"; head.len()].join("|"));
    let style = CellStyle {
        bold: |s| format!("**{s}**"),
        pm: "±",
        dash: "–",
        label: |l| l.to_string(),
    };
    let (rows, avg) = body(t, &style, "**average**");
    for cells in rows {
        let _ = writeln!(out, "| {} |", cells.join(" | "));
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
            m.model_name(),
            m.budget_labels(),
            m.params_json()
        );
    }
    out
}

/// Escapes LaTeX's special characters in text.
pub fn latex_escape(s: &str) -> String {
    let mut out = String::new();
    for ch in s.chars() {
        match ch {
            '\\' => out.push_str("\\textbackslash{}"),
            '&' | '%' | '$' | '#' | '_' | '{' | '}' => {
                out.push('\\');
                out.push(ch);
            }
            '~' => out.push_str("\\textasciitilde{}"),
            '^' => out.push_str("\\textasciicircum{}"),
            '→' => out.push_str("$\\to$"),
            'Δ' => out.push_str("$\\Delta$"),
            '±' => out.push_str("$\\pm$"),
            _ => out.push(ch),
        }
    }
    out
}

fn render_latex(suite: &Suite, t: &Table) -> String {
    let mut head = vec!["Pair".to_string()];
    for c in &t.columns {
        head.push(latex_escape(&c.title));
        if c.published {
            head.push(format!("{} (pub.)", latex_escape(&c.title)));
            head.push("$\\Delta$".into());
        }
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "% generated by `tlab table --format latex`; needs \\usepackage{{booktabs}}"
    );
    let _ = writeln!(out, "\\begin{{table}}[t]\n\\centering\\small");
    let _ = writeln!(
        out,
        "\\caption{{{}: target {} (\\%){}; best per row in bold.}}",
        latex_escape(&suite.name),
        latex_escape(suite.score_label().trim_end_matches(" (%)")),
        if t.multi_seed {
            format!(", mean $\\pm$ std over {} seeds", suite.seeds.len())
        } else {
            String::new()
        }
    );
    let _ = writeln!(out, "\\label{{tab:{}}}", suite.name);
    let _ = writeln!(out, "\\begin{{tabular}}{{l{}}}", "r".repeat(head.len() - 1));
    let _ = writeln!(out, "\\toprule");
    let _ = writeln!(out, "{} \\\\", head.join(" & "));
    let _ = writeln!(out, "\\midrule");
    let style = CellStyle {
        bold: |s| format!("\\textbf{{{s}}}"),
        pm: "$\\pm$",
        dash: "--",
        label: latex_escape,
    };
    let (rows, avg) = body(t, &style, "Average");
    for cells in rows {
        let _ = writeln!(out, "{} \\\\", cells.join(" & "));
    }
    let _ = writeln!(out, "\\midrule");
    let _ = writeln!(out, "{} \\\\", avg.join(" & "));
    let _ = writeln!(out, "\\bottomrule\n\\end{{tabular}}\n\\end{{table}}");
    out
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Long form, one line per (pair, column), the average as pair `average`.
fn render_csv(t: &Table) -> String {
    let mut out = String::from("pair,method,budget,mean,std,n_seeds,best,published,delta\n");
    let opt = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.4}"));
    for (p, label) in t.pairs.iter().enumerate() {
        let b = t.row_best(p);
        for (ci, c) in t.columns.iter().enumerate() {
            let x = t.cells[p][ci];
            let pubv = t.published[p][ci];
            let _ = writeln!(
                out,
                "{},{},{},{},{},{},{},{},{}",
                csv_field(label),
                csv_field(&c.id),
                tlab_core::budget_label(c.budget),
                opt(x.map(|x| x.mean)),
                opt(x.map(|x| x.std)),
                x.map_or(0, |x| x.n),
                x.is_some_and(|x| c.competes && is_best(x.mean, b)),
                opt(pubv),
                opt(x.zip(pubv).map(|(x, p)| x.mean - p)),
            );
        }
    }
    let b = t.average_best();
    for (ci, c) in t.columns.iter().enumerate() {
        let a = t.average[ci];
        let pa = t.published_average[ci];
        let _ = writeln!(
            out,
            "average,{},{},{},,,{},{},{}",
            csv_field(&c.id),
            tlab_core::budget_label(c.budget),
            opt(a),
            a.is_some_and(|a| c.competes && is_best(a, b)),
            opt(pa),
            opt(a.zip(pa).map(|(a, p)| a - p)),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn suite() -> Suite {
        Suite::parse(
            r#"
name = "t_x"
dataset = "synthetic"
pairs = [["blobs:shift=0", "blobs:shift=2"], ["blobs:shift=0", "blobs:shift=4"]]
seeds = [0, 1]
[[methods]]
id = "a"
method = "source-only"
learner = { kind = "knn" }
[[methods]]
id = "b"
method = "source-only"
learner = { kind = "logistic" }
[[methods]]
id = "o"
method = "oracle"
learner = { kind = "knn" }
budgets = [1]
[published.a]
citation = "x"
values = { "blobs:shift=0->blobs:shift=2" = 50.0, "blobs:shift=0->blobs:shift=4" = 40.0 }
"#,
            "t",
        )
        .unwrap()
    }

    fn row(t: &str, m: &str, budget: u64, seed: u64, acc: f64) -> Row {
        Row::example("t_x", ("blobs:shift=0", t), m, budget, seed, acc)
    }

    fn rows() -> Vec<Row> {
        let (p, q) = ("blobs:shift=2", "blobs:shift=4");
        vec![
            row(p, "a", 0, 0, 60.0),
            row(p, "a", 0, 1, 62.0),
            row(p, "b", 0, 0, 70.0),
            row(p, "b", 0, 1, 70.0),
            row(p, "o", 1, 0, 99.0),
            row(p, "o", 1, 1, 99.0),
            row(q, "a", 0, 0, 45.0),
            row(q, "a", 0, 1, 45.0),
            row(q, "b", 0, 0, 30.0),
            row(q, "b", 0, 1, 32.0),
            row(q, "o", 1, 0, 98.0),
            row(q, "o", 1, 1, 98.0),
        ]
    }

    #[test]
    fn markdown_bolds_the_best_non_oracle_and_averages() {
        let md = markdown(&suite(), &rows());
        assert!(
            md.contains("| blobs:shift=0→blobs:shift=2 | 61.00 ± 1.41 | 50.00 | +11.00 | **70.00 ± 0.00** | 99.00 ± 0.00 |"),
            "{md}"
        );
        assert!(
            md.contains("| blobs:shift=0→blobs:shift=4 | **45.00 ± 0.00** | 40.00 | +5.00 | 31.00 ± 1.41 | 98.00 ± 0.00 |"),
            "{md}"
        );
        // Averages: a = 53.00, b = 50.50, oracle 98.50 (not bold); published 45.00.
        assert!(
            md.contains("| **average** | **53.00** | 45.00 | +8.00 | 50.50 | 98.50 |"),
            "{md}"
        );
    }

    #[test]
    fn latex_is_booktabs_and_escaped() {
        let tex = render(&suite(), &rows(), Format::Latex);
        assert!(tex.contains("\\toprule") && tex.contains("\\bottomrule"));
        assert!(tex.contains("\\label{tab:t_x}"));
        assert!(tex.contains("\\caption{t\\_x"));
        assert!(tex.contains("blobs:shift=0$\\to$blobs:shift=2 & 61.00 $\\pm$ 1.41 & 50.00 & +11.00 & \\textbf{70.00 $\\pm$ 0.00} & 99.00 $\\pm$ 0.00 \\\\"), "{tex}");
        assert!(
            tex.contains("Average & \\textbf{53.00} & 45.00 & +8.00 & 50.50 & 98.50 \\\\"),
            "{tex}"
        );
        assert_eq!(tex.matches(" & ").count() % 5, 0);
    }

    #[test]
    fn csv_long_form() {
        let csv = render(&suite(), &rows(), Format::Csv);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 1 + 2 * 3 + 3);
        assert_eq!(
            lines[1],
            "blobs:shift=0→blobs:shift=2,a,0,61.0000,1.4142,2,false,50.0000,11.0000"
        );
        assert_eq!(
            lines[2],
            "blobs:shift=0→blobs:shift=2,b,0,70.0000,0.0000,2,true,,"
        );
        assert_eq!(lines[7], "average,a,0,53.0000,,,true,45.0000,8.0000");
    }
}
