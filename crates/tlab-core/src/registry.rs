//! Named benchmarks read from a data directory (`--data-dir` or `TLAB_DATA`), each with its
//! files, their sha1 (from the data README), where each domain lives in them, and the
//! preprocessing protocol the published numbers use.

use std::path::{Path, PathBuf};

use crate::domain::LabeledDomain;
use crate::error::{CoreError, Result};
use crate::io::{verify_sha1, MatSpec, SampleAxis};
use crate::preprocess::Preprocess;

/// One domain of a benchmark: its file and where its samples are.
#[derive(Debug, Clone, Copy)]
pub struct DomainSource {
    pub name: &'static str,
    /// The letter the papers use in pair names (C→A, U→M).
    pub short: &'static str,
    pub file: &'static str,
    pub sha1: &'static str,
    pub features: &'static str,
    pub labels: &'static str,
    pub samples: SampleAxis,
    pub label_base: usize,
}

/// A benchmark: its domains, default protocol and citation.
#[derive(Debug, Clone, Copy)]
pub struct Benchmark {
    pub name: &'static str,
    pub domains: &'static [DomainSource],
    pub preprocess: Preprocess,
    pub citation: &'static str,
}

const fn surf(
    name: &'static str,
    short: &'static str,
    file: &'static str,
    sha1: &'static str,
) -> DomainSource {
    DomainSource {
        name,
        short,
        file,
        sha1,
        features: "fts",
        labels: "labels",
        samples: SampleAxis::Rows,
        label_base: 1,
    }
}

const fn src_of(
    name: &'static str,
    short: &'static str,
    file: &'static str,
    sha1: &'static str,
) -> DomainSource {
    DomainSource {
        name,
        short,
        file,
        sha1,
        features: "X_src",
        labels: "Y_src",
        samples: SampleAxis::Columns,
        label_base: 1,
    }
}

const fn review(
    name: &'static str,
    short: &'static str,
    file: &'static str,
    sha1: &'static str,
) -> DomainSource {
    DomainSource {
        name,
        short,
        file,
        sha1,
        features: "fts",
        labels: "labels",
        samples: SampleAxis::Rows,
        label_base: 0,
    }
}

/// Every named benchmark. MNIST-USPS and COIL ship each domain twice (as `X_src` of one
/// file and `X_tar` of the other, byte-identical); each domain is read from the file where
/// it is the source.
pub const BENCHMARKS: &[Benchmark] = &[
    Benchmark {
        name: "office-caltech-surf",
        domains: &[
            surf("amazon", "A", "office_caltech10_surf/amazon_SURF_L10.mat", "e0e403b9026eeb347f085e1ce00a91f669aeda0c"),
            surf("caltech", "C", "office_caltech10_surf/Caltech10_SURF_L10.mat", "c55ad7fbd777dcef92edf2e671e3a50e02b93b04"),
            surf("dslr", "D", "office_caltech10_surf/dslr_SURF_L10.mat", "8288ffc0035febcbe53cf56287ff19ef1529551f"),
            surf("webcam", "W", "office_caltech10_surf/webcam_SURF_L10.mat", "fedcabc3c74127904472023d4aee0e97369d907a"),
        ],
        preprocess: Preprocess::SumThenZscore,
        citation: "Gong, Shi, Sha, Grauman, Geodesic Flow Kernel for Unsupervised Domain Adaptation, CVPR 2012 (SURF features); images from Saenko et al., ECCV 2010 and Caltech-256",
    },
    Benchmark {
        name: "mnist-usps",
        domains: &[
            src_of("mnist", "M", "mnist_usps/MNIST_vs_USPS.mat", "e37474a61aad1baf77604cf468f59aa4fe21bc4a"),
            src_of("usps", "U", "mnist_usps/USPS_vs_MNIST.mat", "a1dbbcb42b8df55992d61df09a66a4f915b71eda"),
        ],
        preprocess: Preprocess::L2Rows,
        citation: "Long, Wang, Ding, Sun, Yu, Transfer Feature Learning with Joint Distribution Adaptation, ICCV 2013 (release of 2000 MNIST + 1800 USPS digits)",
    },
    Benchmark {
        name: "coil20",
        domains: &[
            src_of("coil1", "COIL1", "coil20/COIL_1.mat", "5b9175c27d000c88ddad10952b4d251cca0704c0"),
            src_of("coil2", "COIL2", "coil20/COIL_2.mat", "92fa5e58eeb39cf676ad94c0f9195f5b61fcb753"),
        ],
        preprocess: Preprocess::L2Rows,
        citation: "Long et al., ICCV 2013 (release of COIL20 split into two halves of 720 images)",
    },
    Benchmark {
        name: "amazon-reviews",
        domains: &[
            review("books", "B", "amazon_review_400/books_400.mat", "da54ff8e4080112ea897eed2020c8db9bb53ec48"),
            review("dvd", "D", "amazon_review_400/dvd_400.mat", "a17796ce8e66171b39828edc85a4c0ba0236893e"),
            review("elec", "E", "amazon_review_400/elec_400.mat", "a1abd581020ec1364e0235f150223660675876dd"),
            review("kitchen", "K", "amazon_review_400/kitchen_400.mat", "08a116b7915053379063b57c1fbf8a516cd00490"),
        ],
        preprocess: Preprocess::SumThenZscore,
        citation: "Blitzer, Dredze, Pereira, ACL 2007, in the 400-feature form of Chen et al., ICML 2012",
    },
];

/// Every file the benchmarks ship with the variables it holds (for integrity checks):
/// (relative path, sha1, [(features, labels, sample axis, label base)]).
pub fn all_files() -> Vec<(&'static str, &'static str, Vec<MatSpec>)> {
    let mut out: Vec<(&'static str, &'static str, Vec<MatSpec>)> = Vec::new();
    for b in BENCHMARKS {
        for d in b.domains {
            let mut specs = vec![d.spec()];
            if d.features == "X_src" {
                specs.push(MatSpec {
                    features: "X_tar".into(),
                    labels: "Y_tar".into(),
                    ..d.spec()
                });
            }
            out.push((d.file, d.sha1, specs));
        }
    }
    out
}

impl DomainSource {
    pub fn spec(&self) -> MatSpec {
        MatSpec {
            features: self.features.into(),
            labels: self.labels.into(),
            samples: self.samples,
            label_base: self.label_base,
        }
    }
}

impl Benchmark {
    pub fn domain(&self, name: &str) -> Result<&DomainSource> {
        self.domains
            .iter()
            .find(|d| d.name == name)
            .ok_or_else(|| CoreError::Unknown {
                kind: "domain",
                name: format!("{name} (benchmark {})", self.name),
                known: self
                    .domains
                    .iter()
                    .map(|d| d.name)
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// Loads one domain: checks the file's sha1, reads it, applies `preprocess` (the
    /// benchmark's protocol when `None`).
    pub fn load(
        &self,
        data_dir: &Path,
        domain: &str,
        preprocess: Option<Preprocess>,
    ) -> Result<LabeledDomain> {
        let d = self.domain(domain)?;
        let path = data_dir.join(d.file);
        verify_sha1(&path, d.sha1)?;
        let dom = d.spec().load(&path, d.name)?;
        let x = preprocess
            .unwrap_or(self.preprocess)
            .apply(dom.x().to_owned());
        dom.with_features(x)
    }
}

/// Looks a benchmark up by name.
pub fn benchmark(name: &str) -> Result<&'static Benchmark> {
    BENCHMARKS
        .iter()
        .find(|b| b.name == name)
        .ok_or_else(|| CoreError::Unknown {
            kind: "benchmark",
            name: name.to_string(),
            known: BENCHMARKS
                .iter()
                .map(|b| b.name)
                .collect::<Vec<_>>()
                .join(", "),
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
