//! The element types files hold and the array dtype each one is read as: exact types map to
//! themselves, narrower integers without an array dtype of their own widen losslessly
//! (`int8`, `int16`, `uint16` → `int32`; `uint32` → `int64`), and the rest (`uint64`,
//! strings, compounds, ...) are refused with a hint.
//!
//! This module must not open files.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::array::DType;

/// The element type of a dataset or variable as stored in the file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FileType {
    /// Booleans (HDF5 enum FALSE/TRUE as h5py writes them, or xarray's `dtype = "bool"` bytes).
    Bool,
    /// Signed 8-bit integers.
    I8,
    /// Unsigned 8-bit integers.
    U8,
    /// Signed 16-bit integers.
    I16,
    /// Unsigned 16-bit integers.
    U16,
    /// Signed 32-bit integers.
    I32,
    /// Unsigned 32-bit integers.
    U32,
    /// Signed 64-bit integers.
    I64,
    /// Unsigned 64-bit integers.
    U64,
    /// Single precision.
    F32,
    /// Double precision.
    F64,
    /// Anything else, described.
    Other(String),
}

impl fmt::Display for FileType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            FileType::Bool => "bool",
            FileType::I8 => "int8",
            FileType::U8 => "uint8",
            FileType::I16 => "int16",
            FileType::U16 => "uint16",
            FileType::I32 => "int32",
            FileType::U32 => "uint32",
            FileType::I64 => "int64",
            FileType::U64 => "uint64",
            FileType::F32 => "float32",
            FileType::F64 => "float64",
            FileType::Other(s) => s,
        };
        f.write_str(s)
    }
}

impl FileType {
    /// The array dtype values of this type are read as, or why there is none.
    pub fn array_dtype(&self) -> Result<DType, &'static str> {
        Ok(match self {
            FileType::Bool => DType::Bool,
            FileType::U8 => DType::U8,
            FileType::I8 | FileType::I16 | FileType::U16 | FileType::I32 => DType::I32,
            FileType::U32 | FileType::I64 => DType::I64,
            FileType::F32 => DType::F32,
            FileType::F64 => DType::F64,
            FileType::U64 => {
                return Err("uint64 does not fit int64; convert the file, e.g. with ncap2 or h5py")
            }
            FileType::Other(_) => {
                return Err("only numeric and boolean datasets can be read as arrays")
            }
        })
    }

    /// Bytes per stored element (0 for unknown types).
    pub fn itemsize(&self) -> usize {
        match self {
            FileType::Bool | FileType::I8 | FileType::U8 => 1,
            FileType::I16 | FileType::U16 => 2,
            FileType::I32 | FileType::U32 | FileType::F32 => 4,
            FileType::I64 | FileType::U64 | FileType::F64 => 8,
            FileType::Other(_) => 0,
        }
    }

    /// True for integer types.
    pub fn is_integer(&self) -> bool {
        matches!(
            self,
            FileType::I8
                | FileType::U8
                | FileType::I16
                | FileType::U16
                | FileType::I32
                | FileType::U32
                | FileType::I64
                | FileType::U64
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrow_integers_widen_and_uint64_is_refused() {
        assert_eq!(FileType::I16.array_dtype(), Ok(DType::I32));
        assert_eq!(FileType::U16.array_dtype(), Ok(DType::I32));
        assert_eq!(FileType::U32.array_dtype(), Ok(DType::I64));
        assert_eq!(FileType::F32.array_dtype(), Ok(DType::F32));
        assert!(FileType::U64.array_dtype().is_err());
        assert!(FileType::Other("string".into()).array_dtype().is_err());
    }
}
