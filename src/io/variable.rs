//! What the client learns about a dataset or variable without reading its data: shape,
//! stored type, storage chunks, dimension names, attributes and (small, 1-D) coordinates.
//!
//! This module must not open files.

use crate::io::file_type::FileType;
use crate::labeled::Attributes;
use crate::labeled::Coordinate;

/// The description of one dataset or variable.
#[derive(Clone, Debug)]
pub(crate) struct VarInfo {
    /// Shape of the stored array.
    pub shape: Vec<usize>,
    /// Stored element type.
    pub stored: FileType,
    /// Storage chunk shape, `None` for contiguous storage.
    pub storage_chunks: Option<Vec<usize>>,
    /// One name per axis (`dim_0`, ... when the file has none).
    pub dims: Vec<String>,
    /// The variable's attributes.
    pub attrs: Attributes,
    /// Coordinate variables of its dimensions, by dimension name.
    pub coords: Vec<(String, Coordinate)>,
}

pub(crate) use crate::labeled::default_dims;

/// Runs `$body` with `$t` bound to the Rust element type of a [`DType`].
macro_rules! with_dtype {
    ($dtype:expr, $t:ident => $body:expr) => {
        match $dtype {
            $crate::array::DType::Bool => {
                type $t = bool;
                $body
            }
            $crate::array::DType::U8 => {
                type $t = u8;
                $body
            }
            $crate::array::DType::I32 => {
                type $t = i32;
                $body
            }
            $crate::array::DType::I64 => {
                type $t = i64;
                $body
            }
            $crate::array::DType::F32 => {
                type $t = f32;
                $body
            }
            $crate::array::DType::F64 => {
                type $t = f64;
                $body
            }
        }
    };
}
pub(crate) use with_dtype;
