//! Datasets described as data: each domain names its file(s) and how to read them. The
//! registered benchmarks are descriptions of this kind shipped in the binary
//! (`datasets/*.toml`); a user's own data is described the same way, inline in a suite or
//! in a dataset file. One path for all data: read each file (sha1 checked when pinned,
//! always recorded), orient its samples, map every domain's class ids through one class
//! set, apply the protocol.

use std::path::{Path, PathBuf};

use ndarray::{Array2, ShapeBuilder};
use serde::{Deserialize, Serialize};

use crate::domain::LabeledDomain;
use crate::error::{CoreError, Result};
use crate::io::{self, ClassId, ColumnSelection, FileFormat, MatFile};
use crate::preprocess::Preprocess;

/// Whether a stored matrix holds one sample per row or one per column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SampleAxis {
    Rows,
    Columns,
}

/// A dataset: its domains and the protocol its numbers use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub citation: Option<String>,
    /// The default preprocessing (a suite's `preprocess` overrides it); none when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preprocess: Option<Preprocess>,
    /// The class set, as stored ids, when known in advance: then only the domains a run
    /// needs are read. Otherwise it is the union of every domain's labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classes: Option<Vec<ClassId>>,
    pub domains: Vec<DomainSpec>,
}

/// Features as a variable name (MAT, NPZ) or a list of columns (CSV, Parquet).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FeatureRef {
    Variable(String),
    Columns(Vec<String>),
}

/// One domain: where its features and labels are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainSpec {
    pub name: String,
    /// The letter the papers use in pair names (C→A).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short: Option<String>,
    /// The features' file, relative to the description (or the data directory for the
    /// shipped benchmarks).
    pub file: PathBuf,
    /// Inferred from the extension when absent (.mat, .npy, .npz, .csv/.tsv, .parquet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<FileFormat>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha1: Option<String>,
    /// MAT/NPZ: the features variable. CSV/Parquet: the feature columns (default: every
    /// column but the label).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<FeatureRef>,
    /// CSV/Parquet: the feature columns are those whose name starts with this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature_prefix: Option<String>,
    /// The labels variable (MAT, NPZ) or column (CSV, Parquet), in `file` or `labels_file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<String>,
    /// Labels in another file (NPY: the whole array; MAT/NPZ/CSV: `labels` names them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels_file: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels_sha1: Option<String>,
    /// MAT/NPY/NPZ: whether samples are rows or columns; inferred when the label count
    /// decides it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub samples: Option<SampleAxis>,
    /// CSV: the field separator (default `,`; `\t` for .tsv).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
}

/// A file that was read and its sha1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    pub domain: String,
    pub path: PathBuf,
    pub sha1: String,
}

/// Reads Parquet tables (the experiments crate owns polars): the selected feature columns
/// as f64 and the label column as class ids.
pub trait TableReader: Sync {
    fn read_table(
        &self,
        path: &Path,
        features: &ColumnSelection,
        label: &str,
    ) -> Result<(Array2<f64>, Vec<ClassId>)>;
}

/// A domain as read, before its classes are mapped: samples as rows.
#[derive(Debug, Clone)]
pub struct RawDomain {
    pub name: String,
    pub x: Array2<f64>,
    pub labels: Vec<ClassId>,
    pub files: Vec<FileRecord>,
    /// Where the features came from (`file` `variable`), for messages.
    pub origin: String,
}

impl DomainSpec {
    fn format(&self) -> Result<FileFormat> {
        self.format
            .or_else(|| FileFormat::of(&self.file))
            .ok_or_else(|| self.bad(format!(
                "cannot tell the format of {} from its extension: add `format = \"mat\" | \"npy\" | \"npz\" | \"csv\" | \"parquet\"`",
                self.file.display()
            )))
    }

    fn bad(&self, detail: String) -> CoreError {
        CoreError::Dataset {
            origin: format!("domain `{}`", self.name),
            detail,
        }
    }

    fn need<'a>(&self, v: &'a Option<String>, key: &str, what: &str) -> Result<&'a str> {
        v.as_deref()
            .ok_or_else(|| self.bad(format!("`{key}` is missing: name {what}")))
    }

    fn variable(&self) -> Result<&str> {
        match &self.features {
            Some(FeatureRef::Variable(v)) => Ok(v),
            Some(FeatureRef::Columns(_)) => Err(self.bad(
                "`features` is a list of columns, but this file holds named variables: give one name".into(),
            )),
            None => Err(self.bad(
                "`features` is missing: name the variable holding the features (`tlab data inspect FILE` lists them)".into(),
            )),
        }
    }

    fn columns(&self) -> Result<ColumnSelection> {
        Ok(match (&self.features, &self.feature_prefix) {
            (Some(_), Some(_)) => {
                return Err(self.bad("give `features` or `feature_prefix`, not both".into()))
            }
            (Some(FeatureRef::Columns(c)), None) => ColumnSelection::Named(c.clone()),
            (Some(FeatureRef::Variable(c)), None) => ColumnSelection::Named(vec![c.clone()]),
            (None, Some(p)) => ColumnSelection::Prefix(p.clone()),
            (None, None) => ColumnSelection::AllButLabel,
        })
    }

    fn check_keys(&self, format: FileFormat) -> Result<()> {
        let table = matches!(format, FileFormat::Csv | FileFormat::Parquet);
        if !table && self.feature_prefix.is_some() {
            return Err(self.bad("`feature_prefix` is for CSV and Parquet tables".into()));
        }
        if table && (self.samples.is_some() || self.labels_file.is_some()) {
            return Err(self.bad(
                "a table has one sample per row and its labels in a column: drop `samples` / `labels_file`, name the column in `labels`".into(),
            ));
        }
        if self.delimiter.is_some() && format != FileFormat::Csv {
            return Err(self.bad("`delimiter` is for CSV files".into()));
        }
        if self.labels_sha1.is_some() && self.labels_file.is_none() {
            return Err(self.bad("`labels_sha1` without `labels_file`".into()));
        }
        Ok(())
    }

    fn delimiter(&self) -> Result<u8> {
        match self.delimiter.as_deref() {
            None if self.file.extension().is_some_and(|e| e == "tsv") => Ok(b'\t'),
            None => Ok(b','),
            Some("\\t") | Some("\t") => Ok(b'\t'),
            Some(d) if d.len() == 1 && d.is_ascii() => Ok(d.as_bytes()[0]),
            Some(d) => Err(self.bad(format!("`delimiter` = {d:?}: one ASCII character"))),
        }
    }

    /// Reads the domain's features and labels, files relative to `base` (values as stored:
    /// not yet checked finite, so `tlab data check` can count what is wrong).
    pub fn read(&self, base: &Path, tables: Option<&dyn TableReader>) -> Result<RawDomain> {
        let format = self.format()?;
        self.check_keys(format)?;
        let path = base.join(&self.file);
        let mut files = Vec::new();
        let mut record = |p: &Path, sha1: String, pinned: &Option<String>| -> Result<()> {
            if let Some(want) = pinned {
                io::check_sha1(p, want, &sha1)?;
            }
            files.push(FileRecord {
                domain: self.name.clone(),
                path: p.to_path_buf(),
                sha1,
            });
            Ok(())
        };
        // (values, rows, cols, column-major?, origin) of the stored features
        let (stored, labels, origin) = match format {
            FileFormat::Mat => {
                let bytes = read_recorded(&path, &self.sha1, &mut record)?;
                let mat = MatFile::parse(&path, &bytes)?;
                let var = self.variable()?;
                let (r, c, v) = mat.matrix(var)?;
                let labels = match &self.labels_file {
                    None => {
                        let l = self.need(&self.labels, "labels", "the labels variable")?;
                        mat_labels(&mat, l)?
                    }
                    Some(_) => self.labels_from_file(base, &mut record)?,
                };
                (
                    Stored {
                        r,
                        c,
                        v,
                        col_major: true,
                    },
                    labels,
                    format!("{} `{var}`", path.display()),
                )
            }
            FileFormat::Npy => {
                let bytes = read_recorded(&path, &self.sha1, &mut record)?;
                if self.features.is_some() || self.labels_file.is_none() {
                    return Err(self.bad(
                        "an .npy file holds one array: drop `features` and give the labels as `labels_file = \"labels.npy\"`".into(),
                    ));
                }
                let a = io::parse_npy(&path, "", &bytes)?;
                let m = a.matrix(&path, "")?;
                let labels = self.labels_from_file(base, &mut record)?;
                let (r, c) = m.dim();
                (
                    Stored {
                        r,
                        c,
                        v: m.into_raw_vec_and_offset().0,
                        col_major: false,
                    },
                    labels,
                    path.display().to_string(),
                )
            }
            FileFormat::Npz => {
                let bytes = read_recorded(&path, &self.sha1, &mut record)?;
                let var = self.variable()?;
                let members = io::read_npz_bytes(&path, &bytes)?;
                let a = io::npz_member(&path, &members, var)?;
                let m = a.matrix(&path, &format!(" `{var}`"))?;
                let labels = match &self.labels_file {
                    None => {
                        let l = self.need(&self.labels, "labels", "the labels array")?;
                        npz_labels(&path, &members, l)?
                    }
                    Some(_) => self.labels_from_file(base, &mut record)?,
                };
                let (r, c) = m.dim();
                (
                    Stored {
                        r,
                        c,
                        v: m.into_raw_vec_and_offset().0,
                        col_major: false,
                    },
                    labels,
                    format!("{} `{var}`", path.display()),
                )
            }
            FileFormat::Csv | FileFormat::Parquet => {
                record(&path, io::sha1_hex(&path)?, &self.sha1)?;
                let label = self.need(&self.labels, "labels", "the label column")?;
                let sel = self.columns()?;
                let (x, labels) = if format == FileFormat::Csv {
                    io::read_csv(&path, self.delimiter()?, &sel, label)?
                } else {
                    let reader = tables.ok_or_else(|| {
                        self.bad("Parquet files are read by the `tlab` binary (tlab-experiments), not by tlab-core alone".into())
                    })?;
                    reader.read_table(&path, &sel, label)?
                };
                return Ok(RawDomain {
                    name: self.name.clone(),
                    x,
                    labels,
                    files,
                    origin: path.display().to_string(),
                });
            }
        };
        let x = self.orient(stored, labels.len(), &origin)?;
        Ok(RawDomain {
            name: self.name.clone(),
            x,
            labels,
            files,
            origin,
        })
    }

    fn labels_from_file(&self, base: &Path, record: &mut Recorder<'_>) -> Result<Vec<ClassId>> {
        let file = self.labels_file.as_ref().expect("caller checked");
        let path = base.join(file);
        let format = FileFormat::of(&path).ok_or_else(|| {
            self.bad(format!(
                "`labels_file` {}: use .npy, .mat, .npz or .csv",
                path.display()
            ))
        })?;
        match format {
            FileFormat::Npy => {
                let bytes = read_recorded(&path, &self.labels_sha1, record)?;
                let v = io::parse_npy(&path, "", &bytes)?.vector(&path, "")?;
                io::class_ids_from_f64(&path.display().to_string(), v.as_slice().expect("contiguous"))
            }
            FileFormat::Mat => {
                let bytes = read_recorded(&path, &self.labels_sha1, record)?;
                let l = self.need(&self.labels, "labels", "the labels variable in `labels_file`")?;
                mat_labels(&MatFile::parse(&path, &bytes)?, l)
            }
            FileFormat::Npz => {
                let bytes = read_recorded(&path, &self.labels_sha1, record)?;
                let l = self.need(&self.labels, "labels", "the labels array in `labels_file`")?;
                let members = io::read_npz_bytes(&path, &bytes)?;
                npz_labels(&path, &members, l)
            }
            FileFormat::Csv => {
                record(&path, io::sha1_hex(&path)?, &self.labels_sha1)?;
                let l = self.need(&self.labels, "labels", "the label column of `labels_file`")?;
                io::read_csv_column(&path, b',', l)
            }
            FileFormat::Parquet => Err(self.bad(
                "`labels_file` as Parquet: put the labels in a column of the features' table instead".into(),
            )),
        }
    }

    /// Samples as rows: from the stated axis, or the one the label count decides.
    fn orient(&self, s: Stored, n: usize, origin: &str) -> Result<Array2<f64>> {
        let axis = match self.samples {
            Some(a) => {
                let count = if a == SampleAxis::Rows { s.r } else { s.c };
                if count != n {
                    return Err(CoreError::Shape {
                        context: origin.to_string(),
                        detail: format!(
                            "is {}×{} with samples = {:?}, so {count} samples, but there are {n} labels",
                            s.r, s.c, a
                        ),
                    });
                }
                a
            }
            None => match (s.r == n, s.c == n) {
                (true, false) => SampleAxis::Rows,
                (false, true) => SampleAxis::Columns,
                (true, true) => {
                    return Err(CoreError::Shape {
                        context: origin.to_string(),
                        detail: format!(
                            "is {0}×{0} with {0} labels: say which axis holds the samples with `samples = \"rows\"` or `samples = \"columns\"`",
                            n
                        ),
                    })
                }
                (false, false) => {
                    return Err(CoreError::Shape {
                        context: origin.to_string(),
                        detail: format!(
                            "is {}×{} but there are {n} labels: neither axis matches (wrong variable, or labels of another domain?)",
                            s.r, s.c
                        ),
                    })
                }
            },
        };
        // (r, c) in the stored order; samples as rows in the result.
        let m = if s.col_major {
            Array2::from_shape_vec((s.r, s.c).f(), s.v)
        } else {
            Array2::from_shape_vec((s.r, s.c), s.v)
        }
        .expect("sizes checked by the readers");
        let m = match axis {
            SampleAxis::Rows => m,
            SampleAxis::Columns => m.reversed_axes(),
        };
        Ok(if m.is_standard_layout() {
            m
        } else {
            m.as_standard_layout().into_owned()
        })
    }
}

/// Records a file read (its path, its sha1, the pin it must match).
type Recorder<'a> = dyn FnMut(&Path, String, &Option<String>) -> Result<()> + 'a;

struct Stored {
    r: usize,
    c: usize,
    v: Vec<f64>,
    col_major: bool,
}

fn mat_labels(mat: &MatFile, name: &str) -> Result<Vec<ClassId>> {
    let (r, c, v) = mat.matrix(name)?;
    if r != 1 && c != 1 {
        return Err(CoreError::Shape {
            context: format!("{} `{name}`", mat.path.display()),
            detail: format!("labels must be a vector (n×1 or 1×n), found {r}×{c}"),
        });
    }
    io::class_ids_from_f64(&format!("{} `{name}`", mat.path.display()), &v)
}

/// The labels array `name` of an `.npz`'s members, as class ids.
fn npz_labels(path: &Path, members: &[(String, io::NpyArray)], name: &str) -> Result<Vec<ClassId>> {
    let v = io::npz_member(path, members, name)?.vector(path, &format!(" `{name}`"))?;
    io::class_ids_from_f64(
        &format!("{} `{name}`", path.display()),
        v.as_slice().expect("contiguous"),
    )
}

/// A file's bytes, recorded with their sha1 (checked against `pinned` when given).
fn read_recorded(
    path: &Path,
    pinned: &Option<String>,
    record: &mut Recorder<'_>,
) -> Result<Vec<u8>> {
    let bytes = io::read_regular_file(path)?;
    record(path, io::sha1_of(&bytes), pinned)?;
    Ok(bytes)
}

/// A dataset description with the directory its relative paths start from.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    pub spec: DatasetSpec,
    pub base: PathBuf,
}

/// The domains a suite needs, mapped through the dataset's class set, with every file read.
#[derive(Debug, Clone)]
pub struct LoadedDataset {
    pub classes: Vec<ClassId>,
    pub domains: Vec<LabeledDomain>,
    pub files: Vec<FileRecord>,
}

impl DatasetSpec {
    /// Parses a description (TOML); `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<DatasetSpec> {
        let spec: DatasetSpec = toml::from_str(text).map_err(|e| CoreError::Dataset {
            origin: origin.to_string(),
            detail: e.to_string(),
        })?;
        spec.validate().map_err(|detail| CoreError::Dataset {
            origin: origin.to_string(),
            detail,
        })?;
        Ok(spec)
    }

    /// Names unique and usable, at least one domain, sha1s well formed.
    pub fn validate(&self) -> std::result::Result<(), String> {
        if self.domains.is_empty() {
            return Err("no domains: add `[[domains]]` entries (name, file, …)".into());
        }
        let mut seen = std::collections::HashSet::new();
        for d in &self.domains {
            if d.name.is_empty() || d.name.contains("->") || d.name.chars().any(char::is_control) {
                return Err(format!(
                    "domain name {:?}: give a non-empty name without `->`",
                    d.name
                ));
            }
            if !seen.insert(&d.name) {
                return Err(format!("domain `{}` appears twice", d.name));
            }
            for s in [&d.sha1, &d.labels_sha1].into_iter().flatten() {
                if s.len() != 40 || !s.chars().all(|c| c.is_ascii_hexdigit()) {
                    return Err(format!(
                        "domain `{}`: sha1 {s:?} is not 40 hex digits (`sha1sum FILE` prints it)",
                        d.name
                    ));
                }
            }
        }
        if let Some(c) = &self.classes {
            if c.len() < 2 {
                return Err("`classes` lists fewer than two classes".into());
            }
        }
        Ok(())
    }

    pub fn domain_names(&self) -> Vec<String> {
        self.domains.iter().map(|d| d.name.clone()).collect()
    }
}

impl Dataset {
    pub fn name(&self) -> &str {
        self.spec.name.as_deref().unwrap_or("dataset")
    }

    pub fn domain(&self, name: &str) -> Result<&DomainSpec> {
        self.spec
            .domains
            .iter()
            .find(|d| d.name == name)
            .ok_or_else(|| CoreError::Unknown {
                kind: "domain",
                name: format!("{name} (dataset {})", self.name()),
                known: self.spec.domain_names().join(", "),
            })
    }

    /// Every domain read as stored (no class mapping, no preprocessing).
    pub fn read_all(&self, tables: Option<&dyn TableReader>) -> Result<Vec<RawDomain>> {
        self.spec
            .domains
            .iter()
            .map(|d| d.read(&self.base, tables))
            .collect()
    }

    /// Loads the `wanted` domains (in that order), each preprocessed by `preprocess` (the
    /// dataset's protocol when `None`), with labels mapped through the class set.
    pub fn load(
        &self,
        wanted: &[&str],
        preprocess: Option<Preprocess>,
        tables: Option<&dyn TableReader>,
    ) -> Result<LoadedDataset> {
        for w in wanted {
            self.domain(w)?;
        }
        let raws: Vec<RawDomain> = match &self.spec.classes {
            Some(_) => wanted
                .iter()
                .map(|w| self.domain(w)?.read(&self.base, tables))
                .collect::<Result<_>>()?,
            None => self.read_all(tables)?,
        };
        let classes = match &self.spec.classes {
            Some(c) => {
                let mut c = c.clone();
                c.sort();
                c.dedup();
                c
            }
            None => io::class_set(raws.iter().map(|r| r.labels.as_slice())),
        };
        let pre = preprocess.or(self.spec.preprocess).unwrap_or_default();
        let mut files = Vec::new();
        let mut by_name: std::collections::HashMap<String, RawDomain> =
            std::collections::HashMap::new();
        for mut r in raws {
            files.append(&mut r.files);
            if wanted.contains(&r.name.as_str()) {
                by_name.insert(r.name.clone(), r);
            }
        }
        let mut domains = Vec::new();
        for w in wanted {
            // A domain asked for twice is handed out twice (a copy only then).
            let raw = match by_name.remove(*w) {
                Some(r) => r,
                None => {
                    let d: &LabeledDomain = domains
                        .iter()
                        .find(|d: &&LabeledDomain| d.name() == *w)
                        .expect("read above");
                    domains.push(d.clone());
                    continue;
                }
            };
            crate::domain::check_finite(&raw.origin, raw.x.view())?;
            let y = io::encode(&raw.origin, &raw.labels, &classes)?;
            let x = pre.apply(raw.x);
            let d = LabeledDomain::new(raw.name.clone(), x, y, classes.len()).map_err(|e| {
                CoreError::Dataset {
                    origin: raw.origin.clone(),
                    detail: e.to_string(),
                }
            })?;
            domains.push(d);
        }
        Ok(LoadedDataset {
            classes,
            domains,
            files,
        })
    }
}
