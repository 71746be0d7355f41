//! `tlab`: run transfer-learning suites and write paper-style tables.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use tlab_experiments::methods::METHODS;
use tlab_experiments::plot::{plot_all, ImageFormat};
use tlab_experiments::suite::Suite;
use tlab_experiments::sweep::{load_results, merge, sweep, Shard, SweepOptions};
use tlab_experiments::table::{render, Format};
use tlab_experiments::DEFAULT_SUITES;

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
    /// Worker threads (default: all cores; more than the machine's cores only with
    /// --force-threads).
    #[arg(long, global = true)]
    threads: Option<usize>,
    /// Allow --threads above the number of cores.
    #[arg(long, global = true)]
    force_threads: bool,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a suite file: only the runs with no stored row (a killed sweep resumes).
    Run {
        suite: PathBuf,
        /// Run only slice i of n (1-based), into <out>/<suite>/shard-i-of-n/; join with `tlab merge`.
        #[arg(long, value_name = "I/N")]
        shard: Option<Shard>,
        /// Discard this suite's stored rows first and run everything again.
        #[arg(long)]
        fresh: bool,
        /// Discard the stored rows of this method id first, so that only its runs (and any
        /// missing ones) execute: after a fix to one method (repeat or comma-separate).
        #[arg(long, value_name = "METHOD_ID", value_delimiter = ',')]
        redo: Vec<String>,
    },
    /// Join the shard-i-of-n/ folders of a suite's results folder into one result.
    Merge {
        /// The suite's results folder (holding shard-1-of-N/ … shard-N-of-N/).
        dir: PathBuf,
    },
    /// Render the accuracy table of a results folder (Markdown, LaTeX booktabs or CSV).
    Table {
        dir: PathBuf,
        #[arg(long, value_enum, default_value = "markdown")]
        format: Format,
        /// Write here instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Write the negative-transfer report (report.md, report.csv) of a results folder.
    Report { dir: PathBuf },
    /// Draw the plots of a results folder into <dir>/plots/.
    Plot {
        dir: PathBuf,
        /// Image formats (repeat or comma-separate).
        #[arg(long, value_enum, value_delimiter = ',', default_values = ["png", "svg"])]
        format: Vec<ImageFormat>,
    },
    /// Which recorded metrics predict negative transfer, over one or more results folders.
    Study {
        dirs: Vec<PathBuf>,
        /// Where study.md, study.csv and plots/ go.
        #[arg(long, default_value = "results/negative-transfer-study")]
        into: PathBuf,
    },
    /// Say what a suite file expands to (runs, pairs, methods) without running it.
    Describe { suite: PathBuf },
    /// List datasets, methods and learners with their parameters.
    List,
    /// Look at data files and datasets before a sweep.
    Data {
        #[command(subcommand)]
        command: DataCommand,
    },
}

#[derive(Subcommand, Debug)]
enum DataCommand {
    /// What a file holds: variables or columns, shapes, types, dense or sparse, and which
    /// look like labels (.mat, .npy, .npz, .csv, .parquet).
    Inspect { file: PathBuf },
    /// Per domain of a dataset: samples, features, class counts, classes missing, NaN/Inf,
    /// constant features, duplicate rows. DATASET is a benchmark name, a dataset file, or a
    /// suite file (its dataset).
    Check { dataset: String },
}

/// The dataset `tlab data check` names: a benchmark, a dataset description, or a suite's.
fn dataset_arg(
    arg: &str,
    data_dir: Option<&std::path::Path>,
) -> anyhow::Result<tlab_core::Dataset> {
    if let Ok(b) = tlab_core::registry::benchmark(arg) {
        let dir = tlab_core::registry::resolve_data_dir(data_dir)?;
        return Ok(b.dataset(&dir));
    }
    let path = std::path::Path::new(arg);
    let text = std::fs::read_to_string(path).map_err(|e| {
        anyhow::anyhow!(
            "{arg}: not a benchmark ({}) and not a readable file: {e}",
            tlab_core::registry::benchmark_names().join(", ")
        )
    })?;
    let value: toml::Value = toml::from_str(&text).map_err(|e| anyhow::anyhow!("{arg}: {e}"))?;
    if value.get("methods").is_some() {
        let suite = Suite::load(path)?;
        return suite.data.dataset(data_dir)?.ok_or_else(|| {
            anyhow::anyhow!("{arg}: its dataset is built into tlab (nothing to check)")
        });
    }
    let mut spec = tlab_core::DatasetSpec::parse(&text, arg)?;
    if spec.name.is_none() {
        spec.name = path.file_stem().map(|s| s.to_string_lossy().into_owned());
    }
    let base = std::path::absolute(path)?
        .parent()
        .map_or_else(|| PathBuf::from("."), std::path::Path::to_path_buf);
    Ok(tlab_core::Dataset { spec, base })
}

fn list() {
    println!("Benchmarks (read from --data-dir / TLAB_DATA):");
    for b in tlab_core::registry::benchmarks() {
        println!(
            "  {:<22} domains: {:<32} preprocess: {}",
            b.name,
            b.domain_names().join(", "),
            b.preprocess().name()
        );
    }
    println!("  your own: `dataset = \"data/mine.toml\"` or an inline `[dataset]` (README, \"Your own data\")");
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
    println!("\nLabellers for `method = \"label\"` (`labeller = {{ kind = ... }}`, no learner):");
    for (l, what) in tlab_transductive::LABELLERS {
        println!("  {l:<8} {what}");
    }
    println!("\nStrategies for `method = \"inductive\"` (`strategy = {{ kind = ... }}`; `network = {{ hidden = [256], pretrain = {{...}}, finetune = {{...}}, pretrained = \"weights.safetensors\" }}`):");
    for (s, what) in tlab_inductive::STRATEGIES {
        println!("  {s:<18} {what}");
    }
    println!("\nLearners (`learner = {{ kind = ..., ... }}`), defaults shown:");
    println!("  knn          k = 1");
    println!("  logistic     c = 1.0, max_iter = 500");
    println!("  linear-svm   c = 1.0, max_iter = 1000, tol = 1e-4");
    println!("  linear-svm-cv  c_grid = [0.001, 0.01, 0.1, 1, 10], folds = 5 (C chosen on the training rows only)");
    println!("\nUnsupervised transfer (tlab-unsupervised; no label reaches these):");
    println!("  suite `task` = classification (default) | clustering | anomaly; `score` picks the table's score");
    println!("  representation = {{ kind = ... }} on any classification/cluster/detect method, fitted on `fit_on` = source | target | both:");
    println!("    pca          dim, standardize = false");
    println!("    msda         layers = 5, noise = 0.5, lambda = 1e-5, keep_input = true (Chen et al., ICML 2012)");
    println!("    autoencoder  hidden, epochs = 50, batch = 64, lr = 1e-3, noise = 0 (> 0: denoising), sparsity = 0 (ρ > 0: sparse),");
    println!("                 sparsity_weight = 3, weight_decay = 0 (tlab-nn on dfdx; seeded by the run)");
    println!("  cluster = {{ algorithm = ... }} for `method = \"cluster\"` (k = the target's class count):");
    println!("    k-means      init = k-means++ | random | source, n_init = 10, max_iter = 300");
    println!("    gmm          reg_covar = 1e-6, n_init = 1, max_iter = 100 (full covariances)");
    println!("  detector = {{ kind = ... }} for `method = \"detect\"`; all take alarm_rate = 0.05, max_contamination = 0.05,");
    println!("  and (except reconstruction) features = {{ kind = \"pca\" | \"msda\", ... }}:");
    println!("    reconstruction  representation = {{ kind = \"pca\" | \"msda\" | \"autoencoder\", ... }}");
    println!("    gaussian     ridge = 1e-3 (Mahalanobis distance)");
    println!("    gmm          components, reg_covar = 1e-3 (negative log-likelihood)");
    println!("    knn          k = 5 (mean distance to the k nearest normal rows)");
    println!("  anomaly = {{ class = seed mod classes, target_rate = as stored, contamination = 0 }} (anomaly suites)");
    println!("\nSimilarity metrics recorded per pair (`metrics = [...]`):");
    for (m, what) in tlab_similarity::METRICS {
        println!("  {m:<12} {what}");
    }
    println!("\nLabel-aware transferability scores (few-shot runs; `metrics = [...]` too):");
    for (m, what) in tlab_similarity::TRANSFERABILITY {
        println!("  {m:<12} {what}");
    }
    println!("\nA method entry may add `grid = {{ \"learner.<param>\" = [...], \"adapter.<param>\" = [...] }}` (also representation., cluster., detector.): one column per combination.");
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

fn write_file(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    tlab_experiments::store::write_atomic(path, |f| {
        use std::io::Write;
        f.write_all(text.as_bytes())
            .map_err(|e| tlab_experiments::Error::Io {
                path: path.to_path_buf(),
                source: e,
            })
    })?;
    Ok(())
}

fn describe(suite: &Suite) {
    let pairs = suite.expand_pairs();
    let columns: usize = suite.methods.iter().map(|m| m.budgets.len()).sum();
    // Counted, not expanded: validation bounds it, and a large suite stays cheap to describe.
    let runs = pairs.len() * columns * suite.seeds.len();
    const SHOWN: usize = 40;
    let more = |n: usize| {
        if n > SHOWN {
            println!("  … and {} more", n - SHOWN);
        }
    };
    println!("suite {} — dataset `{}`", suite.name, suite.dataset_name());
    if !suite.description.is_empty() {
        println!("{}", suite.description.trim());
    }
    println!(
        "\n{} runs = {} pairs × ({} method/budget columns) × {} seeds {:?}",
        runs,
        pairs.len(),
        columns,
        suite.seeds.len(),
        suite.seeds
    );
    println!("\npairs:");
    for (s, t) in pairs.iter().take(SHOWN) {
        println!("  {}  ({s} → {t})", suite.pair_label(s, t));
    }
    more(pairs.len());
    println!("\nmethods:");
    for m in suite.methods.iter().take(SHOWN) {
        println!(
            "  {:<24} {:<18} budgets {:?}  {}",
            m.id,
            m.method.name(),
            m.budget_labels(),
            m.params_json()
        );
    }
    more(suite.methods.len());
    if !suite.metrics.is_empty() {
        println!("\nmetrics recorded per pair: {}", suite.metrics.join(", "));
    }
    if !suite.published.is_empty() {
        println!(
            "\npublished rows beside: {}",
            suite
                .published
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
}

fn init_tracing(quiet: bool) {
    // TLAB_LOG=debug (or any tracing filter) for debug output on standard error.
    let default = if quiet { "warn" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("TLAB_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .try_init();
}

fn run(cli: Cli) -> anyhow::Result<()> {
    init_tracing(cli.quiet);
    if let Some(asked) = cli.threads {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        if asked == 0 {
            anyhow::bail!("--threads 0: give at least one thread (default: all {cores} cores)");
        }
        let n = if asked > cores && !cli.force_threads {
            tracing::warn!(
                "--threads {asked} is more than this machine's {cores} cores; using {cores} (--force-threads to insist)"
            );
            cores
        } else {
            asked
        };
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .map_err(|e| anyhow::anyhow!("setting the thread count: {e}"))?;
    }
    let mut opts = SweepOptions {
        data_dir: cli.data_dir.clone(),
        quiet: cli.quiet,
        ..Default::default()
    };
    let suites = match cli.command {
        Some(Command::Data {
            command: DataCommand::Inspect { file },
        }) => {
            print!("{}", tlab_experiments::datacmd::inspect(&file)?);
            return Ok(());
        }
        Some(Command::Data {
            command: DataCommand::Check { dataset },
        }) => {
            let d = dataset_arg(&dataset, cli.data_dir.as_deref())?;
            let (report, problems) = tlab_experiments::datacmd::check(&d)?;
            print!("{report}");
            if problems > 0 {
                anyhow::bail!(
                    "{problems} problem(s) in dataset {} (listed above)",
                    d.name()
                );
            }
            return Ok(());
        }
        Some(Command::List) => {
            list();
            return Ok(());
        }
        Some(Command::Describe { suite }) => {
            describe(&Suite::load(&suite)?);
            return Ok(());
        }
        Some(Command::Merge { dir }) => {
            let (_, rows, table) = merge(&dir)?;
            println!("{table}");
            eprintln!("merged {} rows into {}", rows.len(), dir.display());
            return Ok(());
        }
        Some(Command::Table {
            dir,
            format,
            output,
        }) => {
            let (suite, rows) = load_results(&dir)?;
            let text = render(&suite, &rows, format);
            match output {
                Some(p) => write_file(&p, &text)?,
                None => print!("{text}"),
            }
            return Ok(());
        }
        Some(Command::Report { dir }) => {
            let (suite, rows) = load_results(&dir)?;
            let md = tlab_experiments::report::markdown(&suite, &rows);
            write_file(&dir.join("report.md"), &md)?;
            write_file(
                &dir.join("report.csv"),
                &tlab_experiments::report::csv(&suite, &rows),
            )?;
            println!("{md}");
            eprintln!("wrote {} (report.md, report.csv)", dir.display());
            return Ok(());
        }
        Some(Command::Study { dirs, into }) => {
            let mut points = Vec::new();
            let mut names = Vec::new();
            for d in &dirs {
                let (suite, rows) = load_results(d)?;
                points.extend(tlab_experiments::study::points(&suite, &rows));
                names.push(format!("`{}`", suite.name));
            }
            if points.is_empty() {
                anyhow::bail!(
                    "no transfer outcome with metrics in {}: the suites need `metrics = [...]`, a target-only baseline and methods with budgets ≥ 1",
                    dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", ")
                );
            }
            let scores = tlab_experiments::study::scores(&points);
            let md = tlab_experiments::study::markdown(&points, &scores, &names);
            write_file(&into.join("study.md"), &md)?;
            write_file(
                &into.join("study.csv"),
                &tlab_experiments::study::csv(&scores),
            )?;
            tlab_experiments::study::plots(&points, &scores, &into.join("plots"))?;
            println!("{md}");
            eprintln!("wrote {} (study.md, study.csv, plots/)", into.display());
            return Ok(());
        }
        Some(Command::Plot { dir, format }) => {
            let (suite, rows) = load_results(&dir)?;
            for p in plot_all(&suite, &rows, &dir.join("plots"), &format)? {
                println!("{}", p.display());
            }
            return Ok(());
        }
        Some(Command::Run {
            suite,
            shard,
            fresh,
            redo,
        }) => {
            opts.shard = shard;
            opts.fresh = fresh;
            opts.redo = redo;
            vec![Suite::load(&suite)?]
        }
        None => {
            // The built-in demo always runs afresh.
            opts.fresh = true;
            DEFAULT_SUITES
                .iter()
                .map(|(origin, text)| Suite::parse(text, origin))
                .collect::<Result<_, _>>()?
        }
    };
    for suite in &suites {
        let started = std::time::Instant::now();
        let done = sweep(suite, &cli.out, &opts)?;
        if let Some(table) = &done.table {
            println!("{table}");
        }
        eprintln!(
            "{}: {} runs done now, {} already stored; wrote {} in {:.1}s",
            suite.name,
            done.ran,
            done.reused,
            done.dir.display(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
