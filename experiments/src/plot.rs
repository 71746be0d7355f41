//! Plots of a results folder (`tlab plot`), PNG and SVG through plotters:
//! - `bars`: grouped bars per pair (one bar per table column), mean ± std over seeds;
//! - `budget`: accuracy versus target labels per class for every method with two or more
//!   budgets, averaged over pairs, with a 95% confidence band across seeds;
//! - `gain-vs-<metric>`: per pair, the gain of each transfer method over its reference
//!   baseline (see [`crate::report`]) against a similarity metric recorded in the rows,
//!   Spearman's ρ in the title.
//!
//! Text is drawn with DejaVu Sans compiled into the binary (ab_glyph), so PNGs render the
//! same on a machine without fontconfig or any font installed; SVGs name `sans-serif`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::{Error, Result};
use crate::stats::{mean_ci95, spearman};
use crate::store::Row;
use crate::suite::Suite;
use crate::table::{mean_std, Table};

static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
static REGISTER: Once = Once::new();

pub(crate) fn register_font() {
    REGISTER.call_once(|| {
        for style in [FontStyle::Normal, FontStyle::Bold] {
            // The bytes are a valid TrueType font compiled in; failure would be a build defect.
            plotters::style::register_font("sans-serif", style, FONT)
                .unwrap_or_else(|_| panic!("the embedded DejaVu Sans does not parse"));
        }
    });
}

/// Output image formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ImageFormat {
    Png,
    Svg,
}

type DrawResult<T> = std::result::Result<T, String>;

fn e<E: std::fmt::Debug>(err: E) -> String {
    format!("{err:?}")
}

/// Draws `f` into `path` (`.png` or `.svg`) through a temporary file and a rename.
pub(crate) fn render(
    path: &Path,
    size: (u32, u32),
    f: &dyn Fn(&DrawingArea<SVGBackend<'_>, Shift>) -> DrawResult<()>,
    g: &dyn Fn(&DrawingArea<BitMapBackend<'_>, Shift>) -> DrawResult<()>,
) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|err| Error::Io {
        path: dir.to_path_buf(),
        source: err,
    })?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("plot");
    // The bitmap encoder picks the format from the extension: keep it on the temporary name.
    let tmp = dir.join(format!(".tmp-{name}"));
    let is_svg = path.extension().is_some_and(|x| x == "svg");
    let drawn = if is_svg {
        let root = SVGBackend::new(&tmp, size).into_drawing_area();
        f(&root).and_then(|_| root.present().map_err(e))
    } else {
        let root = BitMapBackend::new(&tmp, size).into_drawing_area();
        g(&root).and_then(|_| root.present().map_err(e))
    };
    if let Err(detail) = drawn {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::Data {
            path: path.to_path_buf(),
            detail: format!("drawing failed: {detail}"),
        });
    }
    std::fs::rename(&tmp, path).map_err(|err| Error::Io {
        path: path.to_path_buf(),
        source: err,
    })
}

#[macro_export]
#[doc(hidden)]
macro_rules! both_backends {
    ($path:expr, $size:expr, $draw:expr) => {
        $crate::plot::render(
            $path,
            $size,
            &|root: &DrawingArea<SVGBackend<'_>, Shift>| $draw(root),
            &|root: &DrawingArea<BitMapBackend<'_>, Shift>| $draw(root),
        )
    };
}

fn color(i: usize) -> RGBColor {
    // Colour-blind-safe (Okabe–Ito) first, then plotters' palette.
    const OI: [RGBColor; 8] = [
        RGBColor(0, 114, 178),
        RGBColor(230, 159, 0),
        RGBColor(0, 158, 115),
        RGBColor(204, 121, 167),
        RGBColor(86, 180, 233),
        RGBColor(213, 94, 0),
        RGBColor(240, 228, 66),
        RGBColor(0, 0, 0),
    ];
    if i < OI.len() {
        OI[i]
    } else {
        let c = Palette99::pick(i).to_rgba();
        RGBColor(c.0, c.1, c.2)
    }
}

/// Grouped bars: pairs along x, one bar per table column.
fn draw_bars<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    suite: &Suite,
    t: &Table,
) -> DrawResult<()> {
    root.fill(&WHITE).map_err(e)?;
    let (w, _) = root.dim_in_pixel();
    let (root, legend) = root.split_horizontally(w.saturating_sub(230));
    let root = &root;
    legend_box(
        &legend,
        &t.columns
            .iter()
            .enumerate()
            .map(|(i, c)| (c.title.clone(), color(i)))
            .collect::<Vec<_>>(),
    )?;
    let n = t.pairs.len();
    let m = t.columns.len().max(1);
    let top = t
        .cells
        .iter()
        .flatten()
        .flatten()
        .map(|c| c.mean + c.std)
        .fold(0.0f64, f64::max);
    let ymax = (top * 1.05).clamp(10.0, 100.0);
    let labels = t.pairs.clone();
    let fmt = move |x: &f64| {
        let i = x.round();
        if (x - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < labels.len() {
            labels[i as usize].clone()
        } else {
            String::new()
        }
    };
    let mut chart = ChartBuilder::on(root)
        .caption(
            format!(
                "{}: target {} per pair (mean ± std over seeds)",
                suite.name,
                suite.score_label().trim_end_matches(" (%)")
            ),
            ("sans-serif", 22),
        )
        .margin(12)
        .x_label_area_size(if n > 6 { 70 } else { 40 })
        .y_label_area_size(55)
        .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), 0f64..ymax)
        .map_err(e)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(n + 1)
        .x_label_formatter(&fmt)
        .x_label_style(("sans-serif", 13))
        .y_desc(suite.score_label())
        .y_label_formatter(&|v| format!("{v:.0}"))
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(e)?;
    let width = 0.8 / m as f64;
    for (ci, col) in t.columns.iter().enumerate() {
        let c = color(ci);
        let mut rects = Vec::new();
        let mut whiskers = Vec::new();
        for p in 0..n {
            if let Some(cell) = t.cells[p][ci] {
                let x0 = p as f64 - 0.4 + ci as f64 * width;
                rects.push(Rectangle::new(
                    [(x0, 0.0), (x0 + width * 0.92, cell.mean)],
                    c.filled(),
                ));
                if cell.std > 0.0 {
                    let xm = x0 + width * 0.46;
                    whiskers.push(PathElement::new(
                        vec![(xm, cell.mean - cell.std), (xm, cell.mean + cell.std)],
                        BLACK.stroke_width(1),
                    ));
                }
            }
        }
        let _ = col;
        chart.draw_series(rects).map_err(e)?;
        chart.draw_series(whiskers).map_err(e)?;
    }
    Ok(())
}

/// A legend in its own area (beside the chart, so it never covers the data).
fn legend_box<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[(String, RGBColor)],
) -> DrawResult<()> {
    let style = ("sans-serif", 13).into_font().color(&BLACK);
    for (i, (label, c)) in entries.iter().enumerate() {
        let y = 60 + 22 * i as i32;
        area.draw(&Rectangle::new([(8, y - 6), (22, y + 6)], c.filled()))
            .map_err(e)?;
        area.draw(&Text::new(label.clone(), (28, y - 7), style.clone()))
            .map_err(e)?;
    }
    Ok(())
}

/// One curve of the budget plot: budget → (mean over pairs, 95% CI half-width over seeds).
type Curve = Vec<(f64, f64, f64)>;

/// The x position of the "all labels" budget: 1.5 × the largest finite budget of the suite.
fn all_labels_x(suite: &Suite) -> f64 {
    let max = suite
        .methods
        .iter()
        .flat_map(|m| m.budgets.iter())
        .filter(|&&k| k != tlab_core::ALL_LABELS)
        .fold(1usize, |a, &k| a.max(k));
    (max as f64 * 1.5).ceil()
}

fn budget_curves(suite: &Suite, rows: &[Row]) -> Vec<(String, Curve)> {
    let mut out = Vec::new();
    let x_all = all_labels_x(suite);
    for m in suite.methods.iter().filter(|m| m.budgets.len() >= 2) {
        let mut curve = Vec::new();
        for &k in &m.budgets {
            let x = if k == tlab_core::ALL_LABELS {
                x_all
            } else {
                k as f64
            };
            // Per seed: the mean over pairs; then the CI across seeds.
            let mut per_seed: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
            for r in rows
                .iter()
                .filter(|r| r.method == m.id && r.budget == k as u64)
            {
                per_seed.entry(r.seed).or_default().push(suite.score_of(r));
            }
            let v: Vec<f64> = per_seed.values().map(|a| mean_std(a).0).collect();
            if !v.is_empty() {
                let (mean, ci) = mean_ci95(&v);
                curve.push((x, mean, if ci.is_finite() { ci } else { 0.0 }));
            }
        }
        if curve.len() >= 2 {
            out.push((m.id.clone(), curve));
        }
    }
    out
}

fn draw_budget<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    suite: &Suite,
    curves: &[(String, Curve)],
) -> DrawResult<()> {
    root.fill(&WHITE).map_err(e)?;
    let xmax = curves
        .iter()
        .flat_map(|(_, c)| c.iter().map(|p| p.0))
        .fold(1.0f64, f64::max);
    let (lo, hi) = curves
        .iter()
        .flat_map(|(_, c)| c.iter().map(|p| (p.1 - p.2, p.1 + p.2)))
        .fold((100.0f64, 0.0f64), |(a, b), (l, h)| (a.min(l), b.max(h)));
    let pad = ((hi - lo) * 0.1).max(1.0);
    let mut chart = ChartBuilder::on(root)
        .caption(
            format!(
                "{}: accuracy vs target labels per class (mean over pairs, 95% CI over seeds)",
                suite.name
            ),
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(55)
        .build_cartesian_2d(
            0f64..xmax * 1.05,
            (lo - pad).max(0.0)..(hi + pad).min(100.0),
        )
        .map_err(e)?;
    let has_all = suite
        .methods
        .iter()
        .any(|m| m.budgets.contains(&tlab_core::ALL_LABELS));
    let x_desc = if has_all {
        format!(
            "target labels per class (at {:.0}: all labels, a fifth of each class held out)",
            all_labels_x(suite)
        )
    } else {
        "target labels per class".to_string()
    };
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(suite.score_label())
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| format!("{v:.0}"))
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(e)?;
    for (i, (name, curve)) in curves.iter().enumerate() {
        let c = color(i);
        let mut band: Vec<(f64, f64)> = curve.iter().map(|p| (p.0, p.1 + p.2)).collect();
        band.extend(curve.iter().rev().map(|p| (p.0, p.1 - p.2)));
        chart
            .draw_series(std::iter::once(Polygon::new(band, c.mix(0.2).filled())))
            .map_err(e)?;
        chart
            .draw_series(LineSeries::new(
                curve.iter().map(|p| (p.0, p.1)),
                c.stroke_width(2),
            ))
            .map_err(e)?
            .label(name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], c.stroke_width(2)));
        chart
            .draw_series(curve.iter().map(|p| Circle::new((p.0, p.1), 3, c.filled())))
            .map_err(e)?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 13))
        .position(SeriesLabelPosition::LowerRight)
        .draw()
        .map_err(e)?;
    Ok(())
}

/// Points of a gain-vs-metric scatter: (method, metric value, gain) per pair and budget.
pub fn gain_points(suite: &Suite, rows: &[Row], metric: &str) -> Vec<(String, f64, f64)> {
    let value = crate::study::metric_means(rows);
    crate::report::lines(suite, rows)
        .into_iter()
        .filter_map(|l| {
            let g = l.vs_target_only.or(l.vs_source_only)?;
            let x = *value
                .get(&(l.source.clone(), l.target.clone(), l.budget))?
                .get(metric)?;
            Some((
                format!("{} (k={})", l.method, tlab_core::budget_label(l.budget)),
                x,
                g.mean,
            ))
        })
        .collect()
}

pub(crate) fn draw_scatter<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    name: &str,
    metric: &str,
    points: &[(String, f64, f64)],
) -> DrawResult<()> {
    root.fill(&WHITE).map_err(e)?;
    let mut seen: Vec<&str> = Vec::new();
    for p in points {
        if !seen.contains(&p.0.as_str()) {
            seen.push(p.0.as_str());
        }
    }
    let (w, _) = root.dim_in_pixel();
    let (root, legend) = root.split_horizontally(w.saturating_sub(230));
    let root = &root;
    legend_box(
        &legend,
        &seen
            .iter()
            .enumerate()
            .map(|(i, m)| (m.to_string(), color(i)))
            .collect::<Vec<_>>(),
    )?;
    let xs: Vec<f64> = points.iter().map(|p| p.1).collect();
    let ys: Vec<f64> = points.iter().map(|p| p.2).collect();
    let rho = spearman(&xs, &ys);
    let (x0, x1) = xs
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), &x| (a.min(x), b.max(x)));
    let (y0, y1) = ys
        .iter()
        .fold((0.0f64, 0.0f64), |(a, b), &y| (a.min(y), b.max(y)));
    let (xp, yp) = (
        ((x1 - x0) * 0.08).max(x1.abs() * 1e-3),
        ((y1 - y0) * 0.1).max(1.0),
    );
    let scale = x0.abs().max(x1.abs());
    let xfmt = move |v: &f64| {
        if scale != 0.0 && !(0.01..1e4).contains(&scale) {
            format!("{v:.2e}")
        } else {
            format!("{v:.3}")
        }
    };
    let mut chart = ChartBuilder::on(root)
        .caption(
            format!(
                "{}: gain vs {metric} (Spearman ρ = {:.2}, n = {})",
                name,
                rho,
                points.len()
            ),
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(55)
        .build_cartesian_2d((x0 - xp)..(x1 + xp), (y0 - yp)..(y1 + yp))
        .map_err(e)?;
    chart
        .configure_mesh()
        .x_desc(metric)
        .x_label_formatter(&xfmt)
        .y_desc("gain over reference baseline (points)")
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(e)?;
    chart
        .draw_series(std::iter::once(PathElement::new(
            vec![(x0 - xp, 0.0), (x1 + xp, 0.0)],
            BLACK.mix(0.5).stroke_width(1),
        )))
        .map_err(e)?;
    for (i, m) in seen.iter().enumerate() {
        let c = color(i);
        chart
            .draw_series(
                points
                    .iter()
                    .filter(|p| p.0 == *m)
                    .map(|p| Circle::new((p.1, p.2), 4, c.filled())),
            )
            .map_err(e)?;
    }
    Ok(())
}

/// Writes every plot the rows support into `dir` in each of `formats`; returns the files.
pub fn plot_all(
    suite: &Suite,
    rows: &[Row],
    dir: &Path,
    formats: &[ImageFormat],
) -> Result<Vec<PathBuf>> {
    register_font();
    let mut written = Vec::new();
    let t = Table::new(suite, rows);
    let ext = |f: &ImageFormat| match f {
        ImageFormat::Png => "png",
        ImageFormat::Svg => "svg",
    };
    let width =
        (300 + 90 * t.pairs.len() as u32 * (t.columns.len() as u32).max(1) / 3).clamp(900, 2400);
    for f in formats {
        let path = dir.join(format!("bars.{}", ext(f)));
        both_backends!(&path, (width, 520), |root| draw_bars(root, suite, &t))?;
        written.push(path);
    }
    let curves = budget_curves(suite, rows);
    if !curves.is_empty() {
        for f in formats {
            let path = dir.join(format!("budget.{}", ext(f)));
            both_backends!(&path, (900, 560), |root| draw_budget(root, suite, &curves))?;
            written.push(path);
        }
    }
    let mut metrics: Vec<String> = rows
        .iter()
        .flat_map(|r| r.metrics.keys().cloned())
        .collect();
    metrics.sort();
    metrics.dedup();
    for metric in metrics {
        let points = gain_points(suite, rows, &metric);
        let (lo, hi) = points
            .iter()
            .fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.1), b.max(p.1)));
        // A metric that does not vary across pairs (e.g. the linear MMD after per-domain
        // z-scoring, which zeroes every domain mean) has nothing to rank.
        if points.len() < 2 || hi - lo <= 1e-12 * hi.abs().max(1e-12) {
            tracing::info!("{metric}: constant across pairs here; no gain-vs-{metric} plot");
            continue;
        }
        for f in formats {
            let path = dir.join(format!("gain-vs-{metric}.{}", ext(f)));
            both_backends!(&path, (1130, 600), |root| draw_scatter(
                root,
                &suite.name,
                &metric,
                &points
            ))?;
            written.push(path);
        }
    }
    Ok(written)
}
