//! `tlab`: run transfer-learning suites and write paper-style tables.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use tlab_experiments::methods::METHODS;
use tlab_experiments::suite::Suite;
use tlab_experiments::{run_and_write, DEFAULT_SUITES};

#[derive(Parser, Debug)]
#[command(
    name = "tlab",
    version,
    about = "Transfer-learning experiments: sweeps, baselines, paper-style tables"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Where result folders are written.
    #[arg(long, global = true, default_value = "results")]
    out: PathBuf,
    /// Benchmark data directory (else TLAB_DATA).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// No progress bar.
    #[arg(long, global = true)]
    quiet: bool,
    /// Worker threads (default: all cores).
    #[arg(long, global = true)]
    threads: Option<usize>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a suite file (with no command, the built-in default suite runs).
    Run { suite: PathBuf },
    /// List datasets, methods and learners with their parameters.
    List,
}

fn list() {
    println!("Benchmarks (read from --data-dir / TLAB_DATA):");
    for b in tlab_core::registry::BENCHMARKS {
        let d: Vec<&str> = b.domains.iter().map(|d| d.name).collect();
        println!(
            "  {:<22} domains: {:<32} preprocess: {}",
            b.name,
            d.join(", "),
            b.preprocess.name()
        );
    }
    println!("\nBuilt-in datasets (no download):");
    println!("  synthetic   domains `family:param=value[,n=N]`:");
    for (f, p, what) in tlab_core::synthetic::SYNTHETIC_FAMILIES {
        println!("    {f:<10} {p:<10} {what}");
    }
    println!("  digits      UCI digits 1797×64, source and target from disjoint halves; domains:");
    for (t, what) in tlab_core::synthetic::DIGIT_TRANSFORMS {
        println!("    {t:<12} {what}");
    }
    println!("\nMethods (`method = ...`):");
    for (m, what) in METHODS {
        println!("  {:<18} {what}", m.name());
    }
    println!(
        "\nAdapters for `method = \"adapt\"` (`adapter = {{ kind = ..., ... }}`), defaults shown:"
    );
    for (a, what) in tlab_transductive::ADAPTERS {
        println!("  {a:<8} {what}");
    }
    println!("\nReweighters for `method = \"reweight\"` (`reweighter = {{ kind = ... }}`):");
    for (r, what) in tlab_transductive::REWEIGHTERS {
        println!("  {r:<18} {what}");
    }
    println!("\nLearners (`learner = {{ kind = ..., ... }}`), defaults shown:");
    println!("  knn          k = 1");
    println!("  logistic     c = 1.0, max_iter = 500");
    println!("  linear-svm   c = 1.0, max_iter = 1000, tol = 1e-4");
    println!("  linear-svm-cv  c_grid = [0.001, 0.01, 0.1, 1, 10], folds = 5 (C chosen on the training rows only)");
    println!("\nPreprocessing (`preprocess = ...`):");
    for p in tlab_core::Preprocess::ALL {
        println!("  {}", p.name());
    }
}

fn main() -> std::process::ExitCode {
    match run(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // One line, no backtrace: our errors already carry their cause in the message.
            eprintln!("error: {e}");
            std::process::ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    if let Some(n) = cli.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .map_err(|e| anyhow::anyhow!("setting the thread count: {e}"))?;
    }
    let suites = match &cli.command {
        Some(Command::List) => {
            list();
            return Ok(());
        }
        Some(Command::Run { suite }) => vec![Suite::load(suite)?],
        None => DEFAULT_SUITES
            .iter()
            .map(|(origin, text)| Suite::parse(text, origin))
            .collect::<Result<_, _>>()?,
    };
    for suite in &suites {
        let started = std::time::Instant::now();
        let (dir, table) = run_and_write(suite, cli.data_dir.as_deref(), &cli.out, cli.quiet)?;
        println!("{table}");
        eprintln!(
            "wrote {} (runs.parquet, runs.csv, table.md) in {:.1}s",
            dir.display(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
