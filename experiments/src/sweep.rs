//! Sweeps that survive being killed, shards, and merging shards.
//!
//! A suite's results folder (`<out>/<suite>/`, or `<out>/<suite>/shard-i-of-n/` for a shard)
//! holds:
//! - `suite.toml`: the text of the suite that produced the rows;
//! - `runs.jsonl`: the journal, append-only while a sweep runs: one JSON row per finished
//!   run, written with a single `write` and flushed before the run counts as done;
//! - `runs.parquet`, `runs.csv`, `table.md`: written (each atomically) once every run of
//!   the folder's slice has a row; the journal is then removed.
//!
//! A restarted sweep reads `runs.parquet` and the journal, drops a last journal line that a
//! kill cut short, and runs only the runs with no row, so a sweep killed at any instant
//! loses at most the runs in flight and never writes a duplicate row.

use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::error::{Error, Result};
use crate::runner::{execute_prepared, expand, prepare, progress_bar, Prepared, Run, RunKey};
use crate::store::{read_parquet_rows, write_atomic, write_rows, Row};
use crate::suite::{strip_resolved, Suite, RESOLVED_MARKER};

/// `--shard i/n`: the `i`-th (1-based) of `n` deterministic slices of a sweep's runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// Run `r` (in expansion order) belongs to shard `r mod n + 1`: every shard gets every
    /// pair and method in turn, so shards take about the same time.
    pub fn contains(&self, run_index: usize) -> bool {
        run_index % self.count == self.index - 1
    }

    pub fn folder(&self) -> String {
        format!("shard-{}-of-{}", self.index, self.count)
    }

    fn parse_folder(name: &str) -> Option<Shard> {
        let rest = name.strip_prefix("shard-")?;
        let (i, n) = rest.split_once("-of-")?;
        let s = Shard {
            index: i.parse().ok()?,
            count: n.parse().ok()?,
        };
        (s.index >= 1 && s.index <= s.count).then_some(s)
    }
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let bad = || format!("--shard {s:?}: expected i/n with 1 ≤ i ≤ n, e.g. 3/8");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count): (usize, usize) = (
            i.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

/// How a sweep runs.
#[derive(Debug, Clone, Default)]
pub struct SweepOptions {
    pub data_dir: Option<PathBuf>,
    pub quiet: bool,
    pub shard: Option<Shard>,
    /// Discard stored rows and start over.
    pub fresh: bool,
    /// Method ids whose stored rows are discarded first (after a fix to one method), so
    /// that only their runs, and any missing ones, execute.
    pub redo: Vec<String>,
}

/// What a sweep did.
#[derive(Debug)]
pub struct SweepOutcome {
    pub dir: PathBuf,
    /// Every row of the folder's slice, in run order.
    pub rows: Vec<Row>,
    /// Runs executed now.
    pub ran: usize,
    /// Runs whose rows were already stored.
    pub reused: usize,
    /// The Markdown table written as `table.md` (none for a shard).
    pub table: Option<String>,
}

/// The append-only journal of finished runs (`runs.jsonl`).
pub struct Journal {
    path: PathBuf,
    file: Mutex<File>,
}

impl Journal {
    pub const FILE: &'static str = "runs.jsonl";

    /// Opens (creating) `dir/runs.jsonl` and returns it with the rows it holds. A last line
    /// without its newline (a write cut short by a kill) is dropped and cut from the file;
    /// any other line that does not parse is an error naming the line.
    pub fn open(dir: &Path) -> Result<(Journal, Vec<Row>)> {
        let path = dir.join(Self::FILE);
        let io = |e| Error::Io {
            path: path.clone(),
            source: e,
        };
        std::fs::create_dir_all(dir).map_err(|e| Error::Io {
            path: dir.to_path_buf(),
            source: e,
        })?;
        let text = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io(e)),
        };
        let complete = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        if complete < text.len() {
            tracing::warn!(
                "{}: dropping a last line cut short ({} bytes); its run will be redone",
                path.display(),
                text.len() - complete
            );
            let f = OpenOptions::new().write(true).open(&path).map_err(io)?;
            f.set_len(complete as u64).map_err(io)?;
            f.sync_all().map_err(io)?;
        }
        let mut rows = Vec::new();
        for (i, line) in text[..complete].split(|&b| b == b'\n').enumerate() {
            if line.is_empty() {
                continue;
            }
            let row: Row = serde_json::from_slice(line).map_err(|e| Error::Data {
                path: path.clone(),
                detail: format!(
                    "line {} is not a result row ({e}); the journal is damaged — move it away to rerun those runs",
                    i + 1
                ),
            })?;
            rows.push(row);
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io)?;
        Ok((
            Journal {
                path,
                file: Mutex::new(file),
            },
            rows,
        ))
    }

    /// Appends one row as one line, in one `write`, and flushes it to the OS.
    pub fn append(&self, row: &Row) -> Result<()> {
        let mut line = serde_json::to_vec(row).map_err(|e| Error::Store(e.to_string()))?;
        line.push(b'\n');
        let mut f = self.file.lock().unwrap_or_else(|p| p.into_inner());
        f.write_all(&line)
            .and_then(|_| f.flush())
            .map_err(|e| Error::Io {
                path: self.path.clone(),
                source: e,
            })
    }
}

fn remove_if_present(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::Io {
            path: path.to_path_buf(),
            source: e,
        }),
        _ => Ok(()),
    }
}

/// Writes the suite text beside its rows.
fn write_text(path: &Path, text: &str) -> Result<()> {
    write_atomic(path, |f| {
        f.write_all(text.as_bytes()).map_err(|e| Error::Io {
            path: path.to_path_buf(),
            source: e,
        })
    })
}

/// An error unless every id in `ids` names one of the suite's methods.
fn check_method_ids(suite: &Suite, ids: &[String]) -> Result<()> {
    match ids
        .iter()
        .find(|id| !suite.methods.iter().any(|m| &m.id == *id))
    {
        None => Ok(()),
        Some(bad) => {
            let known: Vec<&str> = suite.methods.iter().map(|m| m.id.as_str()).collect();
            Err(Error::Store(format!(
                "--redo {bad:?}: suite {:?} has no method with that id (its ids: {})",
                suite.name,
                known.join(", ")
            )))
        }
    }
}

/// The stored rows less those of the methods `ids`; when any are dropped, `dir/runs.parquet`
/// and `runs.csv` are rewritten without them (atomically, so a kill leaves either the old
/// files or the new ones and the next run redoes what is missing). Rows a killed `--redo`
/// run already journaled are not touched.
fn forget_methods(dir: &Path, stored: Vec<Row>, ids: &[String]) -> Result<Vec<Row>> {
    let before = stored.len();
    let kept: Vec<Row> = stored
        .into_iter()
        .filter(|r| !ids.contains(&r.method))
        .collect();
    if kept.len() < before {
        tracing::info!(dir = %dir.display(), dropped = before - kept.len(), "redo");
        write_rows(dir, &kept)?;
    }
    Ok(kept)
}

/// The rows of a finished sweep stored in `dir` (`runs.parquet`); `Journal::open` reads the
/// journal.
fn stored_rows(dir: &Path) -> Result<Vec<Row>> {
    let parquet = dir.join("runs.parquet");
    if parquet.is_file() {
        read_parquet_rows(&parquet)
    } else {
        Ok(Vec::new())
    }
}

/// Keeps the first row of each run; errors on a row of another suite or of a run this suite
/// does not define (the suite changed: the user decides with `--fresh`).
fn index_rows(
    suite: &Suite,
    dir: &Path,
    rows: Vec<Row>,
    wanted: &HashMap<RunKey, usize>,
) -> Result<HashMap<RunKey, Row>> {
    let mut out: HashMap<RunKey, Row> = HashMap::new();
    let mut foreign = Vec::new();
    for r in rows {
        if r.suite != suite.name || !wanted.contains_key(&r.key()) {
            foreign.push(r);
            continue;
        }
        // A row without a metric the suite now asks for is not done: it runs again (and
        // its stored row is replaced), so adding a metric to a suite fills it in.
        let complete = suite.metrics.iter().all(|m| {
            r.metrics.contains_key(m)
                || (r.budget == 0 && tlab_similarity::TRANSFERABILITY.iter().any(|(n, _)| n == m))
        });
        if complete {
            out.entry(r.key()).or_insert(r);
        }
    }
    if let Some(r) = foreign.first() {
        return Err(Error::Store(format!(
            "{} holds {} row(s) that this suite does not define (e.g. suite {:?}, {}→{}, method {:?}, params {}, \
             budget {}, seed {}): the suite changed since they were written. Rerun with --fresh to discard them, \
             or write to another --out",
            dir.display(),
            foreign.len(),
            r.suite,
            r.source,
            r.target,
            r.method,
            r.params,
            r.budget,
            r.seed
        )));
    }
    Ok(out)
}

/// The rows of `done` sorted by their run's index in the suite's expansion.
fn in_run_order(done: HashMap<RunKey, Row>, wanted: &HashMap<RunKey, usize>) -> Vec<Row> {
    let mut ordered: Vec<(usize, Row)> = done.into_iter().map(|(k, r)| (wanted[&k], r)).collect();
    ordered.sort_by_key(|(i, _)| *i);
    ordered.into_iter().map(|(_, r)| r).collect()
}

/// The folder a suite (or one of its shards) writes to under `out`.
pub fn folder(suite: &Suite, out: &Path, shard: Option<Shard>) -> PathBuf {
    let dir = out.join(&suite.name);
    match shard {
        Some(s) => dir.join(s.folder()),
        None => dir,
    }
}

/// Runs what is missing of a suite (or of one shard of it) and writes its folder.
pub fn sweep(suite: &Suite, out: &Path, opts: &SweepOptions) -> Result<SweepOutcome> {
    let dir = folder(suite, out, opts.shard);
    let all = expand(suite);
    let runs: Vec<&Run<'_>> = all
        .iter()
        .filter(|r| opts.shard.is_none_or(|s| s.contains(r.index)))
        .collect();
    let wanted: HashMap<RunKey, usize> = runs.iter().map(|r| (r.key(), r.index)).collect();
    check_method_ids(suite, &opts.redo)?;
    if let Some(s) = opts.shard {
        if s.index > all.len() {
            return Err(Error::Suite {
                origin: suite.name.clone(),
                detail: format!(
                    "shard {}/{} is empty: the suite has {} runs, so at most {} shards hold any",
                    s.index,
                    s.count,
                    all.len(),
                    all.len()
                ),
            });
        }
    }
    // With no folder yet, the data is loaded first: a dataset that fails to load leaves
    // nothing behind.
    let created = !dir.exists();
    let mut prepared = if !created {
        None
    } else {
        Some(prepare(suite, &runs, opts.data_dir.as_deref())?)
    };
    let lock = FolderLock::take(&dir)?;
    if opts.fresh {
        for f in [Journal::FILE, "runs.parquet", "runs.csv", "table.md"] {
            remove_if_present(&dir.join(f))?;
        }
    }
    let mut rows = stored_rows(&dir)?;
    if !opts.redo.is_empty() {
        rows = forget_methods(&dir, rows, &opts.redo)?;
    }
    let (journal, journaled) = Journal::open(&dir)?;
    rows.extend(journaled);
    let mut done = index_rows(suite, &dir, rows, &wanted)?;
    let copy = dir.join("suite.toml");
    // The copy of the suite beside stored rows says what they were computed from.
    let stored_copy = (!done.is_empty())
        .then(|| std::fs::read_to_string(&copy).ok())
        .flatten();
    if let Some(old) = &stored_copy {
        check_same_settings(&copy, old, suite)?;
    }
    let todo: Vec<&Run<'_>> = runs
        .iter()
        .copied()
        .filter(|r| !done.contains_key(&r.key()))
        .collect();
    if prepared.is_none() && !todo.is_empty() {
        prepared = Some(prepare(suite, &todo, opts.data_dir.as_deref())?);
    }
    match &prepared {
        Some(p) => {
            if let Some(old) = &stored_copy {
                check_same_data(&copy, old, &|path| recorded_sha1(p, path))?;
            }
            write_text(&copy, &resolved_text(suite, p))?;
        }
        None => {
            if let Some(old) = &stored_copy {
                check_same_data(&copy, old, &|path| tlab_core::io::sha1_hex(path).ok())?;
            }
            if !copy.exists() {
                write_text(&copy, &suite.text)?;
            }
        }
    }
    let reused = runs.len() - todo.len();
    tracing::info!(
        dir = %dir.display(),
        total = runs.len(),
        reused,
        todo = todo.len(),
        "sweep"
    );
    let prefix = match opts.shard {
        Some(s) => format!("{} {}/{}", suite.name, s.index, s.count),
        None => suite.name.clone(),
    };
    let bar = progress_bar(&prefix, runs.len(), reused, opts.quiet);
    let fresh_rows = match &prepared {
        Some(p) => execute_prepared(suite, p, &todo, &bar, &|row| journal.append(row)),
        None => Ok(Vec::new()),
    };
    bar.finish_and_clear();
    let fresh_rows = match fresh_rows {
        Ok(r) => r,
        Err(e) => {
            let kept = std::fs::metadata(dir.join(Journal::FILE)).map_or(0, |m| m.len()) > 0;
            if kept || !done.is_empty() {
                return Err(Error::Stopped(format!(
                    "{e}\n(finished runs are kept in {}; fix the cause and run the same command again to do only what is missing)",
                    dir.join(Journal::FILE).display()
                )));
            }
            // Nothing was computed: leave nothing behind (the folder, if this run made it).
            drop(journal);
            if created {
                drop(lock);
                let _ = std::fs::remove_dir_all(&dir);
            } else {
                let _ = std::fs::remove_file(dir.join(Journal::FILE));
            }
            return Err(Error::Stopped(format!(
                "{e}\n(no run finished; nothing was stored)"
            )));
        }
    };
    let ran = fresh_rows.len();
    for r in fresh_rows {
        done.insert(r.key(), r);
    }
    let rows = in_run_order(done, &wanted);
    write_rows(&dir, &rows)?;
    let table = opts
        .shard
        .is_none()
        .then(|| crate::table::markdown(suite, &rows));
    if let Some(t) = &table {
        write_text(&dir.join("table.md"), t)?;
    }
    drop(journal);
    remove_if_present(&dir.join(Journal::FILE))?;
    drop(lock);
    Ok(SweepOutcome {
        dir,
        rows,
        ran,
        reused,
        table,
    })
}

/// An exclusive lock on a results folder while a sweep writes it (`.lock`, an OS file
/// lock: released when the process ends, however it ends, so a killed sweep never blocks
/// its own resumption). A second `tlab run` into the same folder is refused, not raced.
pub struct FolderLock {
    file: File,
}

impl Drop for FolderLock {
    fn drop(&mut self) {
        // Unlock explicitly: a child process spawned meanwhile may briefly hold a copy of
        // the descriptor (until its exec closes it), which would keep a lock that is only
        // released by closing.
        let _ = self.file.unlock();
    }
}

impl FolderLock {
    pub fn take(dir: &Path) -> Result<FolderLock> {
        std::fs::create_dir_all(dir).map_err(|e| Error::Io {
            path: dir.to_path_buf(),
            source: e,
        })?;
        let path = dir.join(".lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::Io {
                path: path.clone(),
                source: e,
            })?;
        match file.try_lock() {
            Ok(()) => {
                let mut f = &file;
                let _ = f.set_len(0);
                let _ = writeln!(f, "pid {}", std::process::id());
                Ok(FolderLock { file })
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                let holder = std::fs::read_to_string(&path).unwrap_or_default();
                Err(Error::Data {
                    path: dir.to_path_buf(),
                    detail: format!(
                        "another tlab run is writing this folder ({}); wait for it to finish, or give this run another --out",
                        holder.trim()
                    ),
                })
            }
            Err(std::fs::TryLockError::Error(e)) => Err(Error::Io { path, source: e }),
        }
    }
}

/// Refuses stored rows computed under other suite-level settings than the suite's now
/// (the dataset, its preprocessing, the built-in data seed, the task): they are not in a
/// row's key, so they are compared with the copy of the suite stored beside the rows.
fn check_same_settings(copy: &Path, old_text: &str, suite: &Suite) -> Result<()> {
    let (Ok(old), Ok(new)) = (
        toml::from_str::<toml::Value>(strip_resolved(old_text)),
        toml::from_str::<toml::Value>(strip_resolved(&suite.text)),
    ) else {
        return Ok(());
    };
    let mut changed = Vec::new();
    for key in ["dataset", "preprocess", "data_seed", "task", "anomaly"] {
        let (a, b) = (old.get(key), new.get(key));
        if a != b {
            let show =
                |v: Option<&toml::Value>| v.map_or("(absent)".to_string(), |v| v.to_string());
            changed.push(format!("`{key}` was {}, now {}", show(a), show(b)));
        }
    }
    if changed.is_empty() {
        return Ok(());
    }
    Err(Error::Data {
        path: copy.to_path_buf(),
        detail: format!(
            "the stored rows were computed under other settings: {}; rerun with --fresh to recompute them, or give this suite another `name`",
            changed.join("; ")
        ),
    })
}

/// The sha1 of a file the prepared data read (described data has absolute paths).
fn recorded_sha1(prepared: &Prepared, path: &Path) -> Option<String> {
    prepared
        .files
        .iter()
        .find(|f| f.path == path)
        .map(|f| f.sha1.clone())
}

/// The suite text with the data it was computed from appended: the dataset description
/// with absolute paths, every file's sha1 and the class set, under [`RESOLVED_MARKER`].
fn resolved_text(suite: &Suite, prepared: &Prepared) -> String {
    let text = strip_resolved(&suite.text);
    let Some(spec) = suite.data.spec() else {
        return text.to_string();
    };
    let mut spec = spec.clone();
    let base = prepared.base.clone().unwrap_or_default();
    // A registered benchmark keeps its paths relative to the data directory, so the copy
    // says the same on every machine; its sha1 pins are already in the description. A
    // user's description was resolved against an absolute base, so its paths are absolute.
    let relative = matches!(suite.data, crate::suite::DataSource::Registered(_));
    for d in spec.domains.iter_mut().filter(|_| !relative) {
        d.file = base.join(&d.file);
        if let Some(s) = recorded_sha1(prepared, &d.file) {
            d.sha1 = Some(s);
        }
        if let Some(l) = &d.labels_file {
            let l = base.join(l);
            if let Some(s) = recorded_sha1(prepared, &l) {
                d.labels_sha1 = Some(s);
            }
            d.labels_file = Some(l);
        }
    }
    if spec.name.is_none() {
        spec.name = Some(suite.dataset_name());
    }
    spec.classes = Some(prepared.classes.clone());
    #[derive(serde::Serialize)]
    struct Block<'a> {
        resolved_dataset: &'a tlab_core::DatasetSpec,
    }
    let block = toml::to_string(&Block {
        resolved_dataset: &spec,
    })
    .expect("a dataset description serialises");
    format!(
        "{}\n\n{RESOLVED_MARKER}\n{block}",
        text.trim_end_matches('\n')
    )
}

/// Refuses stored rows computed from other data than the current files: a file the
/// recorded block beside them (`old`, the stored copy's text) lists by absolute path whose
/// sha1 differs now. `current` gives a file's sha1 now (from the files just read, or by
/// hashing the file when nothing else needs reading); `None` when it is not there.
fn check_same_data(
    copy: &Path,
    old: &str,
    current: &dyn Fn(&Path) -> Option<String>,
) -> Result<()> {
    #[derive(serde::Deserialize)]
    struct Block {
        resolved_dataset: Option<tlab_core::DatasetSpec>,
    }
    let Some(spec) = toml::from_str::<Block>(old)
        .ok()
        .and_then(|b| b.resolved_dataset)
    else {
        return Ok(());
    };
    let pinned = spec.domains.iter().flat_map(|d| {
        [
            Some((&d.file, &d.sha1)),
            d.labels_file.as_ref().map(|l| (l, &d.labels_sha1)),
        ]
        .into_iter()
        .flatten()
    });
    for (path, sha) in pinned {
        // A registered benchmark's paths are relative: its pins fix the bytes.
        let Some(sha) = sha.as_deref().filter(|_| path.is_absolute()) else {
            continue;
        };
        match current(path) {
            Some(now) if now != sha => {
                return Err(Error::Data {
                    path: path.clone(),
                    detail: format!(
                        "data problem: this file changed since the rows stored in {} were computed (sha1 was {sha}, now {now}); rerun with --fresh to recompute every run on the new data, or restore the old file",
                        copy.parent().map_or_else(|| copy.display().to_string(), |p| p.display().to_string()),
                    ),
                });
            }
            Some(_) => {}
            None => tracing::warn!(
                "{}: the data of the stored rows is no longer there; the rows are kept as computed",
                path.display()
            ),
        }
    }
    Ok(())
}

/// Reads a results folder: its suite (from `suite.toml`) and its rows (`runs.parquet`).
pub fn load_results(dir: &Path) -> Result<(Suite, Vec<Row>)> {
    let toml = dir.join("suite.toml");
    if !toml.is_file() {
        return Err(Error::Data {
            path: dir.to_path_buf(),
            detail: "not a results folder of `tlab run` (no suite.toml)".into(),
        });
    }
    let suite = Suite::load(&toml)?;
    let parquet = dir.join("runs.parquet");
    if !parquet.is_file() {
        let hint = if dir.join(Journal::FILE).is_file() {
            "the sweep has not finished (runs.jsonl is there): run it again to complete it"
        } else if has_shards(dir) {
            "it holds shards: join them with `tlab merge` first"
        } else {
            "no runs.parquet"
        };
        return Err(Error::Data {
            path: dir.to_path_buf(),
            detail: hint.into(),
        });
    }
    let rows = read_parquet_rows(&parquet)?;
    Ok((suite, rows))
}

fn shard_folders(dir: &Path) -> Result<Vec<(Shard, PathBuf)>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::Io {
        path: dir.to_path_buf(),
        source: e,
    })?;
    let mut out = Vec::new();
    for e in entries.flatten() {
        if let Some(s) = e.file_name().to_str().and_then(Shard::parse_folder) {
            if e.path().is_dir() {
                out.push((s, e.path()));
            }
        }
    }
    out.sort_by_key(|(s, _)| (s.count, s.index));
    Ok(out)
}

fn has_shards(dir: &Path) -> bool {
    shard_folders(dir).is_ok_and(|v| !v.is_empty())
}

/// Joins the `shard-i-of-n/` folders under `dir` (every one of `1..=n`, each finished, all
/// from the same suite text) into `dir/runs.parquet`, `runs.csv` and `table.md`, rows in
/// the order an unsharded sweep writes them. Returns the suite, the rows and the table.
pub fn merge(dir: &Path) -> Result<(Suite, Vec<Row>, String)> {
    let shards = shard_folders(dir)?;
    let bad = |detail: String| Error::Data {
        path: dir.to_path_buf(),
        detail,
    };
    let Some((first, _)) = shards.first() else {
        return Err(bad(
            "no shard-i-of-n folders here (write them with `tlab run SUITE --shard i/n --out …`)"
                .into(),
        ));
    };
    let n = first.count;
    if let Some((s, _)) = shards.iter().find(|(s, _)| s.count != n) {
        return Err(bad(format!(
            "shards of different splits: {} beside {}",
            s.folder(),
            first.folder()
        )));
    }
    let present: HashSet<usize> = shards.iter().map(|(s, _)| s.index).collect();
    let missing: Vec<String> = (1..=n)
        .filter(|i| !present.contains(i))
        .map(|i| format!("{i}/{n}"))
        .collect();
    if !missing.is_empty() {
        return Err(bad(format!(
            "shard(s) {} missing: run `tlab run SUITE --shard i/{n}` for each",
            missing.join(", ")
        )));
    }
    let mut text: Option<String> = None;
    let mut all_rows = Vec::new();
    for (s, path) in &shards {
        let t = std::fs::read_to_string(path.join("suite.toml")).map_err(|e| Error::Io {
            path: path.join("suite.toml"),
            source: e,
        })?;
        match &text {
            None => text = Some(t),
            Some(t0) if *t0 != t => {
                return Err(bad(format!(
                    "{} was run from a different suite text than shard 1/{n}",
                    s.folder()
                )))
            }
            Some(_) => {}
        }
        let (_, rows) = load_results(path).map_err(|e| {
            bad(format!(
                "shard {}/{n} is not finished ({e}); rerun `tlab run SUITE --shard {}/{n}`",
                s.index, s.index
            ))
        })?;
        all_rows.extend(rows);
    }
    let text = text.expect("at least one shard");
    let suite = Suite::parse(
        &text,
        &dir.join("shard-1-of-N/suite.toml").display().to_string(),
    )?;
    let runs = expand(&suite);
    let wanted: HashMap<RunKey, usize> = runs.iter().map(|r| (r.key(), r.index)).collect();
    let mut seen: HashMap<RunKey, Row> = HashMap::new();
    for r in all_rows {
        let key = r.key();
        if !wanted.contains_key(&key) {
            return Err(bad(format!(
                "a shard holds a row this suite does not define ({}→{} {} seed {})",
                r.source, r.target, r.method, r.seed
            )));
        }
        if seen.insert(key, r.clone()).is_some() {
            return Err(bad(format!(
                "two shards hold the same run ({}→{} {} seed {})",
                r.source, r.target, r.method, r.seed
            )));
        }
    }
    if seen.len() != runs.len() {
        return Err(bad(format!(
            "the shards hold {} of the suite's {} runs",
            seen.len(),
            runs.len()
        )));
    }
    let rows = in_run_order(seen, &wanted);
    write_text(&dir.join("suite.toml"), &text)?;
    write_rows(dir, &rows)?;
    let table = crate::table::markdown(&suite, &rows);
    write_text(&dir.join("table.md"), &table)?;
    Ok((suite, rows, table))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_parsing_and_slices_partition_the_runs() {
        assert_eq!(
            "2/3".parse::<Shard>().unwrap(),
            Shard { index: 2, count: 3 }
        );
        for bad in ["0/3", "4/3", "x/3", "3", "1/0"] {
            let e = bad.parse::<Shard>().unwrap_err();
            assert!(e.contains("i/n"), "{e}");
        }
        let shards: Vec<Shard> = (1..=3).map(|i| Shard { index: i, count: 3 }).collect();
        for r in 0..20 {
            assert_eq!(shards.iter().filter(|s| s.contains(r)).count(), 1);
        }
        assert_eq!(Shard::parse_folder("shard-2-of-3"), Some(shards[1]));
        assert_eq!(Shard::parse_folder("shard-4-of-3"), None);
    }

    #[test]
    fn a_cut_last_line_is_dropped_and_a_damaged_line_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let row = |seed| Row {
            suite: "s".into(),
            dataset: "d".into(),
            source: "a".into(),
            target: "b".into(),
            method: "m".into(),
            method_kind: "source-only".into(),
            learner: "1nn".into(),
            params: "{}".into(),
            seed,
            budget: 0,
            accuracy: 100.0 / 3.0,
            macro_f1: 0.1 + 0.2,
            n_scored: 3,
            fit_seconds: 1e-7,
            predict_seconds: 0.0,
            metrics: [("mmd".to_string(), 1.0 / 7.0)].into_iter().collect(),
            scores: Default::default(),
        };
        {
            let (j, rows) = Journal::open(dir.path()).unwrap();
            assert!(rows.is_empty());
            j.append(&row(1)).unwrap();
            j.append(&row(2)).unwrap();
        }
        let path = dir.path().join(Journal::FILE);
        let full = std::fs::read(&path).unwrap();
        let mut cut = full.clone();
        cut.extend_from_slice(&full[..20]);
        std::fs::write(&path, &cut).unwrap();
        let (_, rows) = Journal::open(dir.path()).unwrap();
        // Floats come back bit for bit.
        assert_eq!(rows, vec![row(1), row(2)]);
        assert_eq!(std::fs::read(&path).unwrap(), full);
        let mut damaged = full[..10].to_vec();
        damaged.extend_from_slice(b"\n");
        damaged.extend_from_slice(&full);
        std::fs::write(&path, &damaged).unwrap();
        let e = Journal::open(dir.path()).err().unwrap().to_string();
        assert!(e.contains("line 1"), "{e}");
    }
}
