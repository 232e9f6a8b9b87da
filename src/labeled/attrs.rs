//! Attributes of variables and files, as format-neutral values: text, integers or floats
//! (single or double precision, kept apart so `scale_factor` stays a float32 when it was one).
//!
//! This module must not open files.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// One attribute value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum AttrValue {
    /// A string.
    Text(String),
    /// Integers (any width in the file).
    Int(Vec<i64>),
    /// Single-precision floats.
    Float32(Vec<f32>),
    /// Double-precision floats.
    Float64(Vec<f64>),
}

impl AttrValue {
    /// The values as `f64` (text gives none).
    pub fn as_f64s(&self) -> Vec<f64> {
        match self {
            AttrValue::Text(_) => vec![],
            AttrValue::Int(v) => v.iter().map(|&x| x as f64).collect(),
            AttrValue::Float32(v) => v.iter().map(|&x| f64::from(x)).collect(),
            AttrValue::Float64(v) => v.clone(),
        }
    }

    /// The text, when this is text.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            AttrValue::Text(s) => Some(s),
            _ => None,
        }
    }
}

impl fmt::Display for AttrValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn list<T: fmt::Display>(f: &mut fmt::Formatter<'_>, v: &[T]) -> fmt::Result {
            for (i, x) in v.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{x}")?;
            }
            Ok(())
        }
        match self {
            AttrValue::Text(s) => write!(f, "{s:?}"),
            AttrValue::Int(v) => list(f, v),
            AttrValue::Float32(v) => list(f, v),
            AttrValue::Float64(v) => list(f, v),
        }
    }
}

impl From<&str> for AttrValue {
    fn from(s: &str) -> Self {
        AttrValue::Text(s.to_string())
    }
}

impl From<String> for AttrValue {
    fn from(s: String) -> Self {
        AttrValue::Text(s)
    }
}

impl From<f64> for AttrValue {
    fn from(x: f64) -> Self {
        AttrValue::Float64(vec![x])
    }
}

impl From<f32> for AttrValue {
    fn from(x: f32) -> Self {
        AttrValue::Float32(vec![x])
    }
}

impl From<i64> for AttrValue {
    fn from(x: i64) -> Self {
        AttrValue::Int(vec![x])
    }
}

/// Attributes by name, in name order.
pub type Attributes = BTreeMap<String, AttrValue>;

/// Attributes that describe the stored encoding of a variable rather than its values; CF
/// decoding consumes them and decoded outputs do not carry them.
pub const ENCODING_ATTRS: &[&str] = &[
    "_FillValue",
    "missing_value",
    "scale_factor",
    "add_offset",
    "_Unsigned",
    "dtype",
];

/// Attributes the HDF5 dimension-scale and netCDF-4 machinery keeps for itself; never read
/// as user attributes and never written by hand.
pub const INTERNAL_ATTRS: &[&str] = &[
    "DIMENSION_LIST",
    "DIMENSION_LABELS",
    "REFERENCE_LIST",
    "CLASS",
    "NAME",
    "_Netcdf4Dimid",
    "_Netcdf4Coordinates",
    "_NCProperties",
];
