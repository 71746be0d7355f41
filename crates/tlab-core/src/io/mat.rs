//! MATLAB v5 `.mat` files, read by our own parser of the documented format (MathWorks,
//! *MAT-File Format*, 2023): compressed (zlib) and uncompressed elements, either byte
//! order, every numeric class (double, single, int8…uint64, logical), dense and sparse
//! (CSC) matrices. Char, cell, struct and object variables are listed with the reason they
//! are skipped, never read as numbers. v7.3 files (HDF5) go to `mat73`; v4 files are
//! refused with the conversion that fixes them.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{CoreError, Result};

/// One top-level variable of a `.mat` file.
#[derive(Debug, Clone)]
pub struct MatVariable {
    pub name: String,
    /// MATLAB's class name (`double`, `single`, `int32`, `logical`, `char`, …).
    pub class: &'static str,
    pub dims: Vec<usize>,
    pub content: MatContent,
}

/// What a variable holds, as read.
#[derive(Debug, Clone)]
pub enum MatContent {
    /// Real values in MATLAB's column-major order.
    Dense(Vec<f64>),
    /// Compressed sparse columns: column `j` holds `values[jc[j]..jc[j+1]]` at rows `ir[..]`.
    Sparse {
        ir: Vec<usize>,
        jc: Vec<usize>,
        values: Vec<f64>,
    },
    /// Not numeric (char, cell, struct, object, complex): why it cannot be read.
    Skipped(String),
}

impl MatVariable {
    /// Rows and columns of a 2-D variable.
    pub fn dims2(&self) -> Option<(usize, usize)> {
        match self.dims.as_slice() {
            [r, c] => Some((*r, *c)),
            _ => None,
        }
    }

    /// `dense`, `sparse (n nonzeros)` or `skipped: why`.
    pub fn storage(&self) -> String {
        match &self.content {
            MatContent::Dense(_) => "dense".into(),
            MatContent::Sparse { values, .. } => format!("sparse, {} nonzeros", values.len()),
            MatContent::Skipped(why) => format!("skipped: {why}"),
        }
    }

    /// The values as a dense column-major buffer (a sparse matrix is expanded).
    pub fn dense_column_major(&self) -> Option<Vec<f64>> {
        match &self.content {
            MatContent::Dense(v) => Some(v.clone()),
            MatContent::Sparse { ir, jc, values } => {
                let (r, c) = self.dims2()?;
                let mut out = vec![0.0; r * c];
                for j in 0..c {
                    for p in jc[j]..jc[j + 1] {
                        out[j * r + ir[p]] += values[p];
                    }
                }
                Some(out)
            }
            MatContent::Skipped(_) => None,
        }
    }
}

/// A parsed `.mat` file: its variables in file order.
#[derive(Debug, Clone)]
pub struct MatFile {
    pub path: PathBuf,
    /// `MATLAB v5` or `MATLAB v7.3 (HDF5)`.
    pub version: &'static str,
    pub variables: Vec<MatVariable>,
}

const FORMAT: &str = "MATLAB v5 .mat";
const HDF5_SIGNATURE: &[u8] = b"\x89HDF\r\n\x1a\n";

impl MatFile {
    /// Reads and parses a whole file.
    pub fn read(path: &Path) -> Result<MatFile> {
        let bytes = super::read_regular_file(path)?;
        Self::parse(path, &bytes)
    }

    /// Parses the bytes of a file (`path` names it in errors).
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<MatFile> {
        let corrupt = |reason: String| CoreError::Corrupt {
            path: path.to_path_buf(),
            format: FORMAT,
            reason,
        };
        if bytes.starts_with(HDF5_SIGNATURE)
            || (bytes.len() >= 520 && &bytes[512..520] == HDF5_SIGNATURE)
        {
            return super::mat73::parse(path, bytes);
        }
        if bytes.len() < 128 {
            return Err(corrupt(format!(
                "{} bytes, shorter than the 128-byte header",
                bytes.len()
            )));
        }
        let big = match &bytes[126..128] {
            b"IM" => false,
            b"MI" => true,
            other => {
                let hint = if bytes.starts_with(b"MATLAB") {
                    "a MATLAB header without the v5 endian indicator".to_string()
                } else {
                    format!("found {other:?} at byte 126; a MATLAB v4 file or not a .mat file — re-save it from MATLAB with `save(f, '-v7')` or from Python with scipy.io.savemat")
                };
                return Err(corrupt(format!("no v5 endian indicator: {hint}")));
            }
        };
        let r = Bytes { big };
        let mut variables = Vec::new();
        let mut at = 128;
        while at < bytes.len() {
            let el = r
                .element(bytes, at)
                .map_err(|e| corrupt(format!("top level: {e}")))?;
            match el.kind {
                MI_COMPRESSED => {
                    let inner = inflate(el.data, big)
                        .map_err(|e| corrupt(format!("compressed element at byte {at}: {e}")))?;
                    let m = r
                        .element(&inner, 0)
                        .map_err(|e| corrupt(format!("compressed element at byte {at}: {e}")))?;
                    if m.kind != MI_MATRIX {
                        return Err(corrupt(format!(
                            "compressed element at byte {at} holds data type {}, not a matrix",
                            m.kind
                        )));
                    }
                    if let Some(v) = r
                        .matrix(m.data)
                        .map_err(|e| corrupt(format!("variable at byte {at}: {e}")))?
                    {
                        variables.push(v);
                    }
                }
                MI_MATRIX => {
                    if let Some(v) = r
                        .matrix(el.data)
                        .map_err(|e| corrupt(format!("variable at byte {at}: {e}")))?
                    {
                        variables.push(v);
                    }
                }
                other => {
                    return Err(corrupt(format!(
                        "top-level element at byte {at} has data type {other}; a v5 file holds only matrices"
                    )))
                }
            }
            at = el.next;
        }
        Ok(MatFile {
            path: path.to_path_buf(),
            version: "MATLAB v5",
            variables,
        })
    }

    /// The variable called `name`; the error lists what the file holds.
    pub fn variable(&self, name: &str) -> Result<&MatVariable> {
        self.variables
            .iter()
            .find(|v| v.name == name)
            .ok_or_else(|| CoreError::MissingVariable {
                path: self.path.clone(),
                name: name.to_string(),
                present: self.listing(),
            })
    }

    /// `name` class rows×cols (storage), one per variable.
    pub fn listing(&self) -> String {
        if self.variables.is_empty() {
            return "no variables".into();
        }
        self.variables
            .iter()
            .map(|v| {
                let dims: Vec<String> = v.dims.iter().map(|d| d.to_string()).collect();
                format!(
                    "`{}` {} {} ({})",
                    v.name,
                    v.class,
                    dims.join("×"),
                    v.storage()
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// A numeric 2-D variable as (rows, cols, column-major values); sparse is expanded.
    pub fn matrix(&self, name: &str) -> Result<(usize, usize, Vec<f64>)> {
        let v = self.variable(name)?;
        let context = format!("{} `{name}`", self.path.display());
        if let MatContent::Skipped(why) = &v.content {
            return Err(CoreError::Shape {
                context,
                detail: format!("is {}, which cannot be read as numbers ({why})", v.class),
            });
        }
        let (r, c) = v.dims2().ok_or_else(|| CoreError::Shape {
            context: context.clone(),
            detail: format!("expected a 2-D matrix, found dimensions {:?}", v.dims),
        })?;
        if r.checked_mul(c).is_none_or(|n| n > MAX_DENSE_ENTRIES) {
            return Err(CoreError::Shape {
                context,
                detail: format!(
                    "is a {r}×{c} sparse matrix; read as dense it would not fit in memory (more than {MAX_DENSE_ENTRIES} entries) — reduce it (e.g. select features) before loading"
                ),
            });
        }
        let data = v.dense_column_major().expect("numeric content");
        Ok((r, c, data))
    }
}

const MI_INT8: u32 = 1;
const MI_UINT8: u32 = 2;
const MI_INT16: u32 = 3;
const MI_UINT16: u32 = 4;
const MI_INT32: u32 = 5;
const MI_UINT32: u32 = 6;
const MI_SINGLE: u32 = 7;
const MI_DOUBLE: u32 = 9;
const MI_INT64: u32 = 12;
const MI_UINT64: u32 = 13;
const MI_MATRIX: u32 = 14;
const MI_COMPRESSED: u32 = 15;

/// The largest decompressed variable accepted (a tag's size field is 32 bits anyway).
const MAX_INFLATED: u64 = 1 << 32;

/// The most entries a sparse matrix may expand to when read as dense (32 GiB of f64).
pub const MAX_DENSE_ENTRIES: usize = 1 << 32;

/// Inflates a compressed element, reading no more than the size its inner tag declares (so
/// a damaged or hostile stream cannot allocate without bound).
fn inflate(data: &[u8], big: bool) -> std::result::Result<Vec<u8>, String> {
    let damaged = |e: std::io::Error| format!("zlib stream is damaged ({e})");
    let mut z = flate2::read::ZlibDecoder::new(data);
    let mut out = vec![0u8; 8];
    z.read_exact(&mut out).map_err(damaged)?;
    let word = |b: &[u8]| {
        let w = [b[0], b[1], b[2], b[3]];
        if big {
            u32::from_be_bytes(w)
        } else {
            u32::from_le_bytes(w)
        }
    };
    let declared = if word(&out) >> 16 != 0 {
        0 // a small element: its data is in the tag
    } else {
        u64::from(word(&out[4..])).min(MAX_INFLATED)
    };
    z.take(declared).read_to_end(&mut out).map_err(damaged)?;
    Ok(out)
}

struct Element<'a> {
    kind: u32,
    data: &'a [u8],
    next: usize,
}

struct Bytes {
    big: bool,
}

impl Bytes {
    fn u32(&self, b: &[u8]) -> u32 {
        let w = [b[0], b[1], b[2], b[3]];
        if self.big {
            u32::from_be_bytes(w)
        } else {
            u32::from_le_bytes(w)
        }
    }

    /// The element whose tag starts at `at`: small (data in the tag) or regular (padded
    /// to 8 bytes, except compressed elements, which are not padded).
    fn element<'a>(&self, buf: &'a [u8], at: usize) -> std::result::Result<Element<'a>, String> {
        if at + 8 > buf.len() {
            return Err(format!("truncated: element tag at byte {at} is cut short"));
        }
        let first = self.u32(&buf[at..]);
        if first >> 16 != 0 {
            let size = (first >> 16) as usize;
            if size > 4 {
                return Err(format!(
                    "small element at byte {at} claims {size} bytes (at most 4)"
                ));
            }
            return Ok(Element {
                kind: first & 0xffff,
                data: &buf[at + 4..at + 4 + size],
                next: at + 8,
            });
        }
        let size = self.u32(&buf[at + 4..]) as usize;
        let start = at + 8;
        let end = start
            .checked_add(size)
            .filter(|&e| e <= buf.len())
            .ok_or_else(|| {
                format!(
                    "truncated: the element at byte {at} needs {} bytes, {} are left",
                    size + 8,
                    buf.len() - at
                )
            })?;
        let next = if first == MI_COMPRESSED {
            end
        } else {
            end.div_ceil(8) * 8
        };
        Ok(Element {
            kind: first,
            data: &buf[start..end],
            next: next.min(buf.len()),
        })
    }

    fn numbers(&self, kind: u32, b: &[u8]) -> std::result::Result<Vec<f64>, String> {
        macro_rules! conv {
            ($t:ty, $n:expr) => {{
                if !b.len().is_multiple_of($n) {
                    return Err(format!(
                        "{} bytes of {} are not a whole number of values",
                        b.len(),
                        stringify!($t)
                    ));
                }
                b.chunks_exact($n)
                    .map(|c| {
                        let a: [u8; $n] = c.try_into().expect("chunk size");
                        (if self.big {
                            <$t>::from_be_bytes(a)
                        } else {
                            <$t>::from_le_bytes(a)
                        }) as f64
                    })
                    .collect()
            }};
        }
        Ok(match kind {
            MI_INT8 => conv!(i8, 1),
            MI_UINT8 => conv!(u8, 1),
            MI_INT16 => conv!(i16, 2),
            MI_UINT16 => conv!(u16, 2),
            MI_INT32 => conv!(i32, 4),
            MI_UINT32 => conv!(u32, 4),
            MI_SINGLE => conv!(f32, 4),
            MI_DOUBLE => conv!(f64, 8),
            MI_INT64 => conv!(i64, 8),
            MI_UINT64 => conv!(u64, 8),
            other => return Err(format!("data type {other} is not numeric")),
        })
    }

    fn indices(&self, kind: u32, b: &[u8], what: &str) -> std::result::Result<Vec<usize>, String> {
        self.numbers(kind, b)?
            .into_iter()
            .map(|v| {
                if v >= 0.0 && v.fract() == 0.0 {
                    Ok(v as usize)
                } else {
                    Err(format!(
                        "sparse {what} index {v} is not a non-negative integer"
                    ))
                }
            })
            .collect()
    }

    /// A matrix element's content; `None` for an empty placeholder.
    fn matrix(&self, m: &[u8]) -> std::result::Result<Option<MatVariable>, String> {
        if m.is_empty() {
            return Ok(None);
        }
        let flags = self.element(m, 0)?;
        if flags.kind != MI_UINT32 || flags.data.len() != 8 {
            return Err("the array-flags subelement is malformed".into());
        }
        let word = self.u32(flags.data);
        let class_id = word & 0xff;
        let complex = word & 0x800 != 0;
        let logical = word & 0x200 != 0;
        let dims_el = self.element(m, flags.next)?;
        let dims: Vec<usize> = self
            .numbers(dims_el.kind, dims_el.data)?
            .into_iter()
            .map(|d| d.max(0.0) as usize)
            .collect();
        let name_el = self.element(m, dims_el.next)?;
        let name = String::from_utf8_lossy(name_el.data).into_owned();
        let class = if logical {
            "logical"
        } else {
            class_name(class_id)
        };
        let skipped = |why: &str| MatContent::Skipped(why.to_string());
        let content = match class_id {
            1 => skipped("a cell array"),
            2 => skipped("a struct"),
            3 => skipped("an object"),
            4 => skipped("text (char)"),
            5 => {
                let ir_el = self.element(m, name_el.next)?;
                let jc_el = self.element(m, ir_el.next)?;
                let ir = self.indices(ir_el.kind, ir_el.data, "row")?;
                let jc = self.indices(jc_el.kind, jc_el.data, "column")?;
                let [r, c] = dims[..] else {
                    return Err(format!("sparse `{name}` is not 2-D"));
                };
                if jc.len() != c + 1 || jc.windows(2).any(|w| w[0] > w[1]) {
                    return Err(format!(
                        "sparse `{name}`: {} column pointers for {c} columns, or not ascending",
                        jc.len()
                    ));
                }
                let nnz = jc[c];
                if nnz > ir.len() || ir[..nnz].iter().any(|&i| i >= r) {
                    return Err(format!("sparse `{name}`: row indices out of range"));
                }
                let values = if jc_el.next < m.len() {
                    let pr = self.element(m, jc_el.next)?;
                    let mut v = self.numbers(pr.kind, pr.data)?;
                    if complex {
                        return Ok(Some(MatVariable {
                            name,
                            class,
                            dims,
                            content: skipped("complex; real features are expected"),
                        }));
                    }
                    if v.len() < nnz {
                        return Err(format!(
                            "sparse `{name}`: {} values for {nnz} entries",
                            v.len()
                        ));
                    }
                    v.truncate(nnz);
                    v
                } else {
                    vec![1.0; nnz] // logical sparse arrays may omit their values
                };
                MatContent::Sparse {
                    ir: ir[..nnz].to_vec(),
                    jc,
                    values,
                }
            }
            6..=15 => {
                if complex {
                    skipped("complex; real features are expected")
                } else {
                    let re = self.element(m, name_el.next)?;
                    let v = self.numbers(re.kind, re.data)?;
                    let want = dims
                        .iter()
                        .try_fold(1usize, |a, &d| a.checked_mul(d))
                        .ok_or_else(|| {
                            format!("`{name}` declares impossible dimensions {dims:?}")
                        })?;
                    if v.len() != want {
                        return Err(format!(
                            "`{name}` declares {dims:?} ({want} values) but holds {}",
                            v.len()
                        ));
                    }
                    MatContent::Dense(v)
                }
            }
            16 => skipped("a function handle"),
            _ => skipped("an opaque MATLAB object"),
        };
        Ok(Some(MatVariable {
            name,
            class,
            dims,
            content,
        }))
    }
}

fn class_name(id: u32) -> &'static str {
    match id {
        1 => "cell",
        2 => "struct",
        3 => "object",
        4 => "char",
        5 => "double",
        6 => "double",
        7 => "single",
        8 => "int8",
        9 => "uint8",
        10 => "int16",
        11 => "uint16",
        12 => "int32",
        13 => "uint32",
        14 => "int64",
        15 => "uint64",
        16 => "function_handle",
        _ => "opaque",
    }
}
