//! Class ids as stored (integers with any base and gaps, or text), and the one class set
//! of a dataset that maps them to `0..k` the same way in every domain.

use std::collections::BTreeSet;

use ndarray::Array1;
use serde::{Deserialize, Serialize};

use crate::error::{CoreError, Result};

/// A class as the file names it: an integer id or a text label. Integers sort before text,
/// integers numerically, text by its bytes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ClassId {
    Int(i64),
    Text(String),
}

impl ClassId {
    /// An integer when the text is one, else the text.
    pub fn parse(s: &str) -> ClassId {
        s.parse::<i64>()
            .map_or_else(|_| ClassId::Text(s.to_string()), ClassId::Int)
    }
}

impl std::fmt::Display for ClassId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClassId::Int(i) => write!(f, "{i}"),
            ClassId::Text(s) => write!(f, "{s}"),
        }
    }
}

/// Numeric labels as class ids: each must be a whole number (MATLAB stores them as doubles).
pub fn class_ids_from_f64(context: &str, raw: &[f64]) -> Result<Vec<ClassId>> {
    raw.iter()
        .enumerate()
        .map(|(i, &v)| {
            if v.is_finite() && v.fract() == 0.0 && v.abs() < 9.0e15 {
                Ok(ClassId::Int(v as i64))
            } else {
                Err(CoreError::Label {
                    context: context.to_string(),
                    detail: format!(
                        "{v} at position {i}: labels must be whole numbers (class ids), not features — check that `labels` names the label variable"
                    ),
                })
            }
        })
        .collect()
}

/// The sorted union of the classes in several label lists.
pub fn class_set<'a>(lists: impl IntoIterator<Item = &'a [ClassId]>) -> Vec<ClassId> {
    let mut set = BTreeSet::new();
    for l in lists {
        set.extend(l.iter().cloned());
    }
    set.into_iter().collect()
}

/// Each label's position in `classes` (which must hold it).
pub fn encode(context: &str, labels: &[ClassId], classes: &[ClassId]) -> Result<Array1<usize>> {
    labels
        .iter()
        .enumerate()
        .map(|(i, c)| {
            classes.binary_search(c).map_err(|_| CoreError::Label {
                context: context.to_string(),
                detail: format!(
                    "{c} at position {i} is not one of the dataset's classes ({})",
                    list(classes)
                ),
            })
        })
        .collect()
}

/// A short listing of classes for messages.
pub fn list(classes: &[ClassId]) -> String {
    let shown: Vec<String> = classes.iter().take(20).map(|c| c.to_string()).collect();
    if classes.len() > 20 {
        format!("{}, … ({} classes)", shown.join(", "), classes.len())
    } else {
        shown.join(", ")
    }
}
