//! Element types of arrays and NumPy's promotion rules between them.
//!
//! [`DType`] names the six element types Tessera arrays hold; [`Scalar`] is a "weak" Python-like
//! scalar operand (NEP 50: the array's dtype wins within a kind). This module must not know
//! about chunks, graphs or kernels.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The element type of an array.
///
/// ```
/// use tessera::array::DType;
/// assert_eq!(DType::I32.promote(DType::F32), DType::F64);
/// assert_eq!(DType::U8.promote(DType::I32), DType::I32);
/// assert_eq!(DType::F64.itemsize(), 8);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum DType {
    /// Booleans, stored as one byte 0 or 1.
    Bool,
    /// Unsigned 8-bit integers.
    U8,
    /// Signed 32-bit integers.
    I32,
    /// Signed 64-bit integers.
    I64,
    /// IEEE 754 single precision.
    F32,
    /// IEEE 754 double precision.
    F64,
}

/// The kind of a dtype, ordered bool < integer < float (NumPy's kind hierarchy).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum DTypeKind {
    /// `Bool`.
    Bool,
    /// `U8`, `I32`, `I64`.
    Integer,
    /// `F32`, `F64`.
    Float,
}

impl DType {
    /// All dtypes, in promotion-lattice order.
    pub const ALL: [DType; 6] = [
        DType::Bool,
        DType::U8,
        DType::I32,
        DType::I64,
        DType::F32,
        DType::F64,
    ];

    /// Bytes per element.
    pub fn itemsize(self) -> usize {
        match self {
            DType::Bool | DType::U8 => 1,
            DType::I32 | DType::F32 => 4,
            DType::I64 | DType::F64 => 8,
        }
    }

    /// The NumPy-style name (`float64`, `int32`, `bool`, ...).
    pub fn name(self) -> &'static str {
        match self {
            DType::Bool => "bool",
            DType::U8 => "uint8",
            DType::I32 => "int32",
            DType::I64 => "int64",
            DType::F32 => "float32",
            DType::F64 => "float64",
        }
    }

    /// The dtype's kind.
    pub fn kind(self) -> DTypeKind {
        match self {
            DType::Bool => DTypeKind::Bool,
            DType::U8 | DType::I32 | DType::I64 => DTypeKind::Integer,
            DType::F32 | DType::F64 => DTypeKind::Float,
        }
    }

    /// True for `F32` and `F64`.
    pub fn is_float(self) -> bool {
        self.kind() == DTypeKind::Float
    }

    /// True for `U8`, `I32`, `I64`.
    pub fn is_integer(self) -> bool {
        self.kind() == DTypeKind::Integer
    }

    /// The one-byte code used in the chunk wire header.
    pub fn code(self) -> u8 {
        match self {
            DType::Bool => 0,
            DType::U8 => 1,
            DType::I32 => 2,
            DType::I64 => 3,
            DType::F32 => 4,
            DType::F64 => 5,
        }
    }

    /// The dtype for a wire-header code.
    pub fn from_code(code: u8) -> Option<DType> {
        DType::ALL.iter().copied().find(|d| d.code() == code)
    }

    /// The dtype of `a op b` for two arrays (NumPy `result_type` for these six types).
    ///
    /// bool < uint8 < int32 < int64 within integers; any integer wider than 8 bits with
    /// float32 gives float64 (float32 cannot hold int32 exactly); uint8 with float32 stays
    /// float32.
    pub fn promote(self, other: DType) -> DType {
        use DType::*;
        if self == other {
            return self;
        }
        let (lo, hi) = if self <= other {
            (self, other)
        } else {
            (other, self)
        };
        match (lo, hi) {
            (Bool, x) => x,
            (U8, x) => x,
            (I32, I64) => I64,
            (I32, F32) | (I64, F32) => F64,
            (_, F64) => F64,
            (a, b) => a.max(b),
        }
    }

    /// The dtype of `array op scalar` where the scalar is "weak" (NEP 50): the array's dtype
    /// wins unless the scalar's kind is higher (an int array with a float scalar gives
    /// float64, a bool array with an int scalar gives int64).
    pub fn promote_scalar(self, scalar: Scalar) -> DType {
        let skind = scalar.kind();
        if self.kind() >= skind {
            self
        } else {
            match skind {
                DTypeKind::Float => DType::F64,
                DTypeKind::Integer => DType::I64,
                DTypeKind::Bool => self,
            }
        }
    }

    /// `(min, max)` of an integer dtype as `i64` (`None` for bool and floats).
    pub fn int_range(self) -> Option<(i64, i64)> {
        match self {
            DType::U8 => Some((0, i64::from(u8::MAX))),
            DType::I32 => Some((i64::from(i32::MIN), i64::from(i32::MAX))),
            DType::I64 => Some((i64::MIN, i64::MAX)),
            _ => None,
        }
    }

    /// The float type math functions (sqrt, exp, true division, mean) compute in:
    /// `F32` stays `F32`, everything else becomes `F64`.
    pub fn float_for_math(self) -> DType {
        if self == DType::F32 {
            DType::F32
        } else {
            DType::F64
        }
    }

    /// The dtype sums and products of this dtype produce: integers and bool give `I64`,
    /// floats keep their type.
    pub fn sum_dtype(self) -> DType {
        if self.is_float() {
            self
        } else {
            DType::I64
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A scalar operand: a Python-like "weak" number whose kind, not width, takes part in
/// promotion.
///
/// ```
/// use tessera::array::{DType, Scalar};
/// assert_eq!(DType::F32.promote_scalar(Scalar::from(2.5)), DType::F32);
/// assert_eq!(DType::I32.promote_scalar(Scalar::from(2.5)), DType::F64);
/// assert_eq!(DType::I32.promote_scalar(Scalar::from(7i64)), DType::I32);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Scalar {
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
}

impl Scalar {
    /// The scalar's kind.
    pub fn kind(self) -> DTypeKind {
        match self {
            Scalar::Bool(_) => DTypeKind::Bool,
            Scalar::Int(_) => DTypeKind::Integer,
            Scalar::Float(_) => DTypeKind::Float,
        }
    }

    /// The dtype a lone scalar gets (bool, int64 or float64).
    pub fn default_dtype(self) -> DType {
        match self {
            Scalar::Bool(_) => DType::Bool,
            Scalar::Int(_) => DType::I64,
            Scalar::Float(_) => DType::F64,
        }
    }

    /// The value as f64 (`true` is 1).
    pub fn as_f64(self) -> f64 {
        match self {
            Scalar::Bool(b) => f64::from(u8::from(b)),
            Scalar::Int(i) => i as f64,
            Scalar::Float(x) => x,
        }
    }

    /// The value as i64 (floats truncate toward zero and saturate, NaN is 0).
    pub fn as_i64(self) -> i64 {
        match self {
            Scalar::Bool(b) => i64::from(b),
            Scalar::Int(i) => i,
            Scalar::Float(x) => x as i64,
        }
    }

    /// The value as bool (non-zero is true; NaN is true, as in NumPy).
    pub fn as_bool(self) -> bool {
        match self {
            Scalar::Bool(b) => b,
            Scalar::Int(i) => i != 0,
            Scalar::Float(x) => x != 0.0,
        }
    }
}

impl From<f64> for Scalar {
    fn from(x: f64) -> Self {
        Scalar::Float(x)
    }
}

impl From<f32> for Scalar {
    fn from(x: f32) -> Self {
        Scalar::Float(f64::from(x))
    }
}

impl From<i64> for Scalar {
    fn from(x: i64) -> Self {
        Scalar::Int(x)
    }
}

impl From<i32> for Scalar {
    fn from(x: i32) -> Self {
        Scalar::Int(i64::from(x))
    }
}

impl From<u8> for Scalar {
    fn from(x: u8) -> Self {
        Scalar::Int(i64::from(x))
    }
}

impl From<bool> for Scalar {
    fn from(x: bool) -> Self {
        Scalar::Bool(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn promotion_is_symmetric_and_idempotent() {
        for a in DType::ALL {
            assert_eq!(a.promote(a), a);
            for b in DType::ALL {
                assert_eq!(a.promote(b), b.promote(a), "{a} {b}");
                let p = a.promote(b);
                assert!(p.kind() >= a.kind() && p.kind() >= b.kind());
            }
        }
    }

    #[test]
    fn promotion_matches_numpy_table() {
        use DType::*;
        let table = [
            (Bool, U8, U8),
            (Bool, F32, F32),
            (U8, I32, I32),
            (U8, I64, I64),
            (U8, F32, F32),
            (I32, I64, I64),
            (I32, F32, F64),
            (I64, F32, F64),
            (I64, F64, F64),
            (F32, F64, F64),
        ];
        for (a, b, want) in table {
            assert_eq!(a.promote(b), want, "{a} with {b}");
        }
    }

    #[test]
    fn weak_scalars_follow_nep50() {
        assert_eq!(DType::U8.promote_scalar(Scalar::Int(300)), DType::U8);
        assert_eq!(DType::Bool.promote_scalar(Scalar::Int(1)), DType::I64);
        assert_eq!(DType::Bool.promote_scalar(Scalar::Float(1.0)), DType::F64);
        assert_eq!(DType::F32.promote_scalar(Scalar::Int(1)), DType::F32);
        assert_eq!(DType::I64.promote_scalar(Scalar::Bool(true)), DType::I64);
    }

    #[test]
    fn codes_round_trip() {
        for d in DType::ALL {
            assert_eq!(DType::from_code(d.code()), Some(d));
        }
        assert_eq!(DType::from_code(99), None);
    }
}
