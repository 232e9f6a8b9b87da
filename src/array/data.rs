//! In-memory array values: [`ArrayData`] (an owned n-d array of any dtype) and the
//! [`Element`] trait tying Rust element types to [`DType`]s.
//!
//! This module must not know about chunk wire formats, graphs or clusters.

use std::fmt::Debug;

use ndarray::{ArrayD, ArrayViewD, IxDyn};

use crate::array::chunk::{write_pod, ChunkValues};
use crate::array::dtype::{DType, Scalar};
use crate::array::error::ArrayError;
use crate::array::pod::AlignedBuf;

mod sealed {
    pub trait Sealed {}
    impl Sealed for f64 {}
    impl Sealed for f32 {}
    impl Sealed for i64 {}
    impl Sealed for i32 {}
    impl Sealed for u8 {}
    impl Sealed for bool {}
}

/// A Rust element type with a Tessera [`DType`]: `f64`, `f32`, `i64`, `i32`, `u8`, `bool`.
pub trait Element:
    Copy + Send + Sync + Default + PartialEq + Debug + 'static + sealed::Sealed
{
    /// The dtype of this element type.
    const DTYPE: DType;
    /// Wraps a typed array.
    fn into_data(array: ArrayD<Self>) -> ArrayData;
    /// Unwraps a typed array, or gives the data back when the dtype differs.
    fn from_data(data: ArrayData) -> Result<ArrayD<Self>, ArrayData>;
    /// A typed view when the dtype matches.
    fn view_data(data: &ArrayData) -> Option<ArrayViewD<'_, Self>>;
    /// The value as a scalar operand.
    fn to_scalar(self) -> Scalar;
    /// The elements of decoded chunk values when their dtype is this type.
    fn chunk_slice<'b>(values: &'b ChunkValues<'_>) -> Option<&'b [Self]>;
    /// Wraps owned elements as chunk values.
    fn owned_values(values: Vec<Self>) -> ChunkValues<'static>;
    /// Writes elements in wire form into the data region (`offset`, `total` elements) of an
    /// aligned chunk buffer, at element position `start`.
    #[doc(hidden)]
    fn write_wire(values: &[Self], buf: &mut AlignedBuf, offset: usize, total: usize, start: usize);
}

/// An owned n-dimensional array of any of the six dtypes: the untyped result of a compute.
///
/// ```
/// use tessera::array::{ArrayData, DType};
/// let d = ArrayData::from(ndarray::arr1(&[1.0f64, 2.0]).into_dyn());
/// assert_eq!(d.dtype(), DType::F64);
/// assert_eq!(d.shape(), &[2]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum ArrayData {
    /// `bool` elements.
    Bool(ArrayD<bool>),
    /// `u8` elements.
    U8(ArrayD<u8>),
    /// `i32` elements.
    I32(ArrayD<i32>),
    /// `i64` elements.
    I64(ArrayD<i64>),
    /// `f32` elements.
    F32(ArrayD<f32>),
    /// `f64` elements.
    F64(ArrayD<f64>),
}

/// Runs `$body` with `$a` bound to the typed array inside an [`ArrayData`] (by value,
/// reference or mutable reference, following the expression).
#[macro_export]
#[doc(hidden)]
macro_rules! with_array_data {
    ($data:expr, $a:ident => $body:expr) => {
        match $data {
            $crate::array::ArrayData::Bool($a) => $body,
            $crate::array::ArrayData::U8($a) => $body,
            $crate::array::ArrayData::I32($a) => $body,
            $crate::array::ArrayData::I64($a) => $body,
            $crate::array::ArrayData::F32($a) => $body,
            $crate::array::ArrayData::F64($a) => $body,
        }
    };
}

impl ArrayData {
    /// The element type.
    pub fn dtype(&self) -> DType {
        match self {
            ArrayData::Bool(_) => DType::Bool,
            ArrayData::U8(_) => DType::U8,
            ArrayData::I32(_) => DType::I32,
            ArrayData::I64(_) => DType::I64,
            ArrayData::F32(_) => DType::F32,
            ArrayData::F64(_) => DType::F64,
        }
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        with_array_data!(self, a => a.shape())
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        with_array_data!(self, a => a.len())
    }

    /// True when the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A zero-filled array of `dtype` and `shape`.
    pub fn zeros(dtype: DType, shape: &[usize]) -> ArrayData {
        let sh = IxDyn(shape);
        match dtype {
            DType::Bool => ArrayData::Bool(ArrayD::from_elem(sh, false)),
            DType::U8 => ArrayData::U8(ArrayD::zeros(sh)),
            DType::I32 => ArrayData::I32(ArrayD::zeros(sh)),
            DType::I64 => ArrayData::I64(ArrayD::zeros(sh)),
            DType::F32 => ArrayData::F32(ArrayD::zeros(sh)),
            DType::F64 => ArrayData::F64(ArrayD::zeros(sh)),
        }
    }

    /// The typed array, or an error naming both dtypes.
    pub fn into_typed<T: Element>(self) -> Result<ArrayD<T>, ArrayError> {
        let actual = self.dtype();
        T::from_data(self).map_err(|_| ArrayError::DTypeMismatch {
            actual,
            requested: T::DTYPE,
        })
    }

    /// Every element converted to `f64` (bool is 0/1), in logical (row-major) order.
    pub fn to_f64_vec(&self) -> Vec<f64> {
        match self {
            ArrayData::Bool(a) => a.iter().map(|&b| f64::from(u8::from(b))).collect(),
            ArrayData::U8(a) => a.iter().map(|&x| f64::from(x)).collect(),
            ArrayData::I32(a) => a.iter().map(|&x| f64::from(x)).collect(),
            ArrayData::I64(a) => a.iter().map(|&x| x as f64).collect(),
            ArrayData::F32(a) => a.iter().map(|&x| f64::from(x)).collect(),
            ArrayData::F64(a) => a.iter().copied().collect(),
        }
    }
}

macro_rules! element {
    (@write bool, $values:ident, $buf:ident, $offset:ident, $total:ident, $start:ident) => {{
        let _ = $total;
        let dst = &mut $buf.as_bytes_mut()[$offset + $start..$offset + $start + $values.len()];
        for (d, &v) in dst.iter_mut().zip($values) {
            *d = u8::from(v);
        }
    }};
    (@write $t:ty, $values:ident, $buf:ident, $offset:ident, $total:ident, $start:ident) => {
        write_pod::<$t>($values, $buf, $offset, $total, $start)
    };
    ($t:tt, $variant:ident, $dtype:expr, $scalar:expr) => {
        impl Element for $t {
            const DTYPE: DType = $dtype;
            fn into_data(array: ArrayD<Self>) -> ArrayData {
                ArrayData::$variant(array)
            }
            fn from_data(data: ArrayData) -> Result<ArrayD<Self>, ArrayData> {
                match data {
                    ArrayData::$variant(a) => Ok(a),
                    other => Err(other),
                }
            }
            fn view_data(data: &ArrayData) -> Option<ArrayViewD<'_, Self>> {
                match data {
                    ArrayData::$variant(a) => Some(a.view()),
                    _ => None,
                }
            }
            fn to_scalar(self) -> Scalar {
                #[allow(clippy::redundant_closure_call)]
                ($scalar)(self)
            }
            fn chunk_slice<'b>(values: &'b ChunkValues<'_>) -> Option<&'b [Self]> {
                match values {
                    ChunkValues::$variant(c) => Some(&c[..]),
                    _ => None,
                }
            }
            fn owned_values(values: Vec<Self>) -> ChunkValues<'static> {
                ChunkValues::$variant(std::borrow::Cow::Owned(values))
            }
            fn write_wire(values: &[Self], buf: &mut AlignedBuf, offset: usize, total: usize, start: usize) {
                element!(@write $t, values, buf, offset, total, start)
            }
        }

        impl From<ArrayD<$t>> for ArrayData {
            fn from(a: ArrayD<$t>) -> Self {
                ArrayData::$variant(a)
            }
        }
    };
}

element!(f64, F64, DType::F64, Scalar::Float);
element!(f32, F32, DType::F32, |x: f32| Scalar::Float(f64::from(x)));
element!(i64, I64, DType::I64, Scalar::Int);
element!(i32, I32, DType::I32, |x: i32| Scalar::Int(i64::from(x)));
element!(u8, U8, DType::U8, |x: u8| Scalar::Int(i64::from(x)));
element!(bool, Bool, DType::Bool, Scalar::Bool);

/// Runs `$body` with the type alias `$T` set to the Rust element type of a [`DType`].
#[macro_export]
#[doc(hidden)]
macro_rules! dispatch_dtype {
    ($dtype:expr, $T:ident => $body:expr) => {
        match $dtype {
            $crate::array::DType::Bool => {
                type $T = bool;
                $body
            }
            $crate::array::DType::U8 => {
                type $T = u8;
                $body
            }
            $crate::array::DType::I32 => {
                type $T = i32;
                $body
            }
            $crate::array::DType::I64 => {
                type $T = i64;
                $body
            }
            $crate::array::DType::F32 => {
                type $T = f32;
                $body
            }
            $crate::array::DType::F64 => {
                type $T = f64;
                $body
            }
        }
    };
}
