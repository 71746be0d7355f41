//! The registered benchmarks: dataset descriptions shipped in the binary
//! (`crates/tlab-core/datasets/*.toml`), read like any user's description, with their files
//! relative to the data directory (`--data-dir` or `TLAB_DATA`) and pinned by sha1 (from
//! the data README).

use std::path::{Path, PathBuf};

use crate::dataset::{Dataset, DatasetSpec};
use crate::domain::LabeledDomain;
use crate::error::{CoreError, Result};
use crate::preprocess::Preprocess;

/// (name, description text) of every shipped benchmark.
pub const SHIPPED: &[(&str, &str)] = &[
    (
        "office-caltech-surf",
        include_str!("../datasets/office-caltech-surf.toml"),
    ),
    ("mnist-usps", include_str!("../datasets/mnist-usps.toml")),
    ("coil20", include_str!("../datasets/coil20.toml")),
    (
        "amazon-reviews",
        include_str!("../datasets/amazon-reviews.toml"),
    ),
];

/// A registered benchmark: its shipped description.
#[derive(Debug, Clone)]
pub struct Benchmark {
    pub name: &'static str,
    pub spec: DatasetSpec,
}

impl Benchmark {
    /// The benchmark's protocol.
    pub fn preprocess(&self) -> Preprocess {
        self.spec.preprocess.unwrap_or_default()
    }

    /// The description with its files under `data_dir`.
    pub fn dataset(&self, data_dir: &Path) -> Dataset {
        Dataset {
            spec: self.spec.clone(),
            base: data_dir.to_path_buf(),
        }
    }

    /// Loads one domain: checks the file's sha1, reads it, applies `preprocess` (the
    /// benchmark's protocol when `None`).
    pub fn load(
        &self,
        data_dir: &Path,
        domain: &str,
        preprocess: Option<Preprocess>,
    ) -> Result<LabeledDomain> {
        let mut loaded = self.dataset(data_dir).load(&[domain], preprocess, None)?;
        Ok(loaded.domains.remove(0))
    }

    /// The names of its domains, in order.
    pub fn domain_names(&self) -> Vec<String> {
        self.spec.domain_names()
    }
}

/// Every registered benchmark.
pub fn benchmarks() -> Vec<Benchmark> {
    SHIPPED
        .iter()
        .map(|(name, text)| Benchmark {
            name,
            spec: DatasetSpec::parse(text, name).expect("shipped descriptions parse (tested)"),
        })
        .collect()
}

/// The names of the registered benchmarks.
pub fn benchmark_names() -> Vec<&'static str> {
    SHIPPED.iter().map(|(n, _)| *n).collect()
}

/// Looks a benchmark up by name.
pub fn benchmark(name: &str) -> Result<Benchmark> {
    benchmarks()
        .into_iter()
        .find(|b| b.name == name)
        .ok_or_else(|| CoreError::Unknown {
            kind: "benchmark",
            name: name.to_string(),
            known: benchmark_names().join(", "),
        })
}

/// The data directory: the explicit one if given, else `TLAB_DATA`; it must exist.
pub fn resolve_data_dir(explicit: Option<&Path>) -> Result<PathBuf> {
    let dir =
        match explicit {
            Some(p) => p.to_path_buf(),
            None => match std::env::var_os("TLAB_DATA") {
                Some(v) => PathBuf::from(v),
                None => return Err(CoreError::invalid(
                    "data_dir",
                    "unset",
                    "a directory holding the benchmark folders: pass --data-dir or set TLAB_DATA",
                )),
            },
        };
    if !dir.is_dir() {
        return Err(CoreError::io(
            &dir,
            std::io::Error::new(std::io::ErrorKind::NotFound, "data directory not found"),
        ));
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_shipped_description_parses_with_unique_short_names() {
        for b in super::benchmarks() {
            let shorts: std::collections::HashSet<_> =
                b.spec.domains.iter().map(|d| d.short.clone()).collect();
            assert_eq!(shorts.len(), b.spec.domains.len(), "{}", b.name);
            assert!(
                b.spec.domains.iter().all(|d| d.sha1.is_some()),
                "{}",
                b.name
            );
        }
    }
}
