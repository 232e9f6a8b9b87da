//! The elementwise operations arrays support and their typing rules: which dtype an operation
//! computes in and which dtype it returns (NumPy's rules, with the differences documented in
//! `docs/arrays.md`).
//!
//! This module must not contain the loops that compute them (see `math`).

use serde::{Deserialize, Serialize};

use crate::array::dtype::DType;
use crate::array::error::ArrayError;

/// A one-operand elementwise operation.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum UnaryOp {
    /// `-x` (wrapping for integers).
    Neg,
    /// `|x|` (wrapping for the smallest integer).
    Abs,
    /// Square root.
    Sqrt,
    /// e to the power x.
    Exp,
    /// Natural logarithm.
    Log,
    /// Base-10 logarithm.
    Log10,
    /// Sine.
    Sin,
    /// Cosine.
    Cos,
    /// Tangent.
    Tan,
    /// Hyperbolic tangent.
    Tanh,
    /// Round down.
    Floor,
    /// Round up.
    Ceil,
    /// Round half to even (NumPy's `round`).
    Round,
    /// Logical not.
    Not,
    /// Bitwise not of integers, logical not of bool (NumPy's `~`).
    Invert,
    /// True where NaN.
    IsNan,
    /// True where neither NaN nor infinite.
    IsFinite,
    /// Sign: -1, 0 or 1 (NaN stays NaN).
    Sign,
    /// `x * x`.
    Square,
    /// Cube root.
    Cbrt,
    /// `log(1 + x)`, accurate near 0.
    Log1p,
    /// `exp(x) - 1`, accurate near 0.
    Expm1,
    /// Base-2 logarithm.
    Log2,
    /// 2 to the power x.
    Exp2,
    /// Inverse sine.
    Arcsin,
    /// Inverse cosine.
    Arccos,
    /// Inverse tangent.
    Arctan,
    /// Hyperbolic sine.
    Sinh,
    /// Hyperbolic cosine.
    Cosh,
    /// Inverse hyperbolic sine.
    Arcsinh,
    /// Inverse hyperbolic cosine.
    Arccosh,
    /// Inverse hyperbolic tangent.
    Arctanh,
    /// Round toward zero.
    Trunc,
    /// Degrees to radians.
    Deg2rad,
    /// Radians to degrees.
    Rad2deg,
    /// True where +inf or -inf.
    IsInf,
    /// NaN, +inf and -inf replaced by the given values.
    NanToNum {
        /// Replacement for NaN.
        nan: f64,
        /// Replacement for +inf.
        posinf: f64,
        /// Replacement for -inf.
        neginf: f64,
    },
}

/// A two-operand elementwise operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BinaryOp {
    /// `a + b`.
    Add,
    /// `a - b`.
    Sub,
    /// `a * b`.
    Mul,
    /// True division `a / b` (integers give float64).
    Div,
    /// Floor division `a // b` (integer division by zero gives 0).
    FloorDiv,
    /// `a % b` with the sign of `b` (Python); integer modulo by zero gives 0.
    Rem,
    /// `a ** b`.
    Pow,
    /// Elementwise minimum, NaN-propagating.
    Minimum,
    /// Elementwise maximum, NaN-propagating.
    Maximum,
    /// `a == b`.
    Eq,
    /// `a != b`.
    Ne,
    /// `a < b`.
    Lt,
    /// `a <= b`.
    Le,
    /// `a > b`.
    Gt,
    /// `a >= b`.
    Ge,
    /// Logical and (non-zero is true).
    And,
    /// Logical or (non-zero is true).
    Or,
    /// Logical exclusive or (non-zero is true).
    Xor,
    /// `atan2(a, b)`: the angle of the point (b, a).
    Arctan2,
    /// `sqrt(a² + b²)` without overflow.
    Hypot,
    /// C's `fmod`: remainder with the sign of `a` (integer by zero gives 0).
    Fmod,
    /// `a ** b` in float64.
    FloatPower,
    /// Bitwise and of integers, logical and of bool (NumPy's `&`).
    BitAnd,
    /// Bitwise or of integers, logical or of bool (NumPy's `|`).
    BitOr,
    /// Bitwise exclusive or of integers, logical of bool (NumPy's `^`).
    BitXor,
}

impl UnaryOp {
    /// Short name used in task keys and messages.
    pub fn name(&self) -> &'static str {
        match self {
            UnaryOp::Neg => "neg",
            UnaryOp::Abs => "abs",
            UnaryOp::Sqrt => "sqrt",
            UnaryOp::Exp => "exp",
            UnaryOp::Log => "log",
            UnaryOp::Log10 => "log10",
            UnaryOp::Sin => "sin",
            UnaryOp::Cos => "cos",
            UnaryOp::Tan => "tan",
            UnaryOp::Tanh => "tanh",
            UnaryOp::Floor => "floor",
            UnaryOp::Ceil => "ceil",
            UnaryOp::Round => "round",
            UnaryOp::Not => "logical_not",
            UnaryOp::Invert => "invert",
            UnaryOp::IsNan => "isnan",
            UnaryOp::IsFinite => "isfinite",
            UnaryOp::Sign => "sign",
            UnaryOp::Square => "square",
            UnaryOp::Cbrt => "cbrt",
            UnaryOp::Log1p => "log1p",
            UnaryOp::Expm1 => "expm1",
            UnaryOp::Log2 => "log2",
            UnaryOp::Exp2 => "exp2",
            UnaryOp::Arcsin => "arcsin",
            UnaryOp::Arccos => "arccos",
            UnaryOp::Arctan => "arctan",
            UnaryOp::Sinh => "sinh",
            UnaryOp::Cosh => "cosh",
            UnaryOp::Arcsinh => "arcsinh",
            UnaryOp::Arccosh => "arccosh",
            UnaryOp::Arctanh => "arctanh",
            UnaryOp::Trunc => "trunc",
            UnaryOp::Deg2rad => "deg2rad",
            UnaryOp::Rad2deg => "rad2deg",
            UnaryOp::IsInf => "isinf",
            UnaryOp::NanToNum { .. } => "nan_to_num",
        }
    }

    /// True for the float math functions (integers are converted to float first).
    pub fn is_float_math(&self) -> bool {
        matches!(
            self,
            UnaryOp::Sqrt
                | UnaryOp::Exp
                | UnaryOp::Log
                | UnaryOp::Log10
                | UnaryOp::Sin
                | UnaryOp::Cos
                | UnaryOp::Tan
                | UnaryOp::Tanh
                | UnaryOp::Cbrt
                | UnaryOp::Log1p
                | UnaryOp::Expm1
                | UnaryOp::Log2
                | UnaryOp::Exp2
                | UnaryOp::Arcsin
                | UnaryOp::Arccos
                | UnaryOp::Arctan
                | UnaryOp::Sinh
                | UnaryOp::Cosh
                | UnaryOp::Arcsinh
                | UnaryOp::Arccosh
                | UnaryOp::Arctanh
                | UnaryOp::Deg2rad
                | UnaryOp::Rad2deg
        )
    }

    /// `(operand dtype, result dtype)` for an input of `dtype`, or `None` when the operation
    /// is the identity for that dtype (rounding or NaN handling of integers).
    pub fn typing(&self, dtype: DType) -> Result<Option<(DType, DType)>, ArrayError> {
        let op = self.name();
        Ok(match self {
            UnaryOp::Neg => {
                if dtype == DType::Bool {
                    return Err(ArrayError::UnsupportedDType { op, dtype });
                }
                Some((dtype, dtype))
            }
            UnaryOp::Abs => {
                if dtype == DType::Bool || dtype == DType::U8 {
                    None
                } else {
                    Some((dtype, dtype))
                }
            }
            UnaryOp::Sign => {
                if dtype == DType::Bool {
                    return Err(ArrayError::UnsupportedDType { op, dtype });
                }
                Some((dtype, dtype))
            }
            UnaryOp::Square => {
                // NumPy gives int8 for bool; the nearest dtype here is uint8.
                let d = if dtype == DType::Bool {
                    DType::U8
                } else {
                    dtype
                };
                Some((d, d))
            }
            UnaryOp::Floor
            | UnaryOp::Ceil
            | UnaryOp::Round
            | UnaryOp::Trunc
            | UnaryOp::NanToNum { .. } => {
                if dtype.is_float() {
                    Some((dtype, dtype))
                } else {
                    None
                }
            }
            UnaryOp::Not => Some((DType::Bool, DType::Bool)),
            UnaryOp::Invert => {
                if dtype.is_float() {
                    return Err(ArrayError::UnsupportedDType { op, dtype });
                }
                Some((dtype, dtype))
            }
            UnaryOp::IsNan | UnaryOp::IsFinite | UnaryOp::IsInf => {
                if dtype.is_float() {
                    Some((dtype, DType::Bool))
                } else {
                    // Constant results; the caller builds them without computing.
                    Some((dtype, DType::Bool))
                }
            }
            _ => {
                let f = dtype.float_for_math();
                Some((f, f))
            }
        })
    }
}

impl BinaryOp {
    /// Short name used in task keys and messages.
    pub fn name(&self) -> &'static str {
        match self {
            BinaryOp::Add => "add",
            BinaryOp::Sub => "sub",
            BinaryOp::Mul => "mul",
            BinaryOp::Div => "truediv",
            BinaryOp::FloorDiv => "floordiv",
            BinaryOp::Rem => "mod",
            BinaryOp::Pow => "pow",
            BinaryOp::Minimum => "minimum",
            BinaryOp::Maximum => "maximum",
            BinaryOp::Eq => "eq",
            BinaryOp::Ne => "ne",
            BinaryOp::Lt => "lt",
            BinaryOp::Le => "le",
            BinaryOp::Gt => "gt",
            BinaryOp::Ge => "ge",
            BinaryOp::And => "logical_and",
            BinaryOp::Or => "logical_or",
            BinaryOp::Xor => "logical_xor",
            BinaryOp::Arctan2 => "arctan2",
            BinaryOp::Hypot => "hypot",
            BinaryOp::Fmod => "fmod",
            BinaryOp::FloatPower => "float_power",
            BinaryOp::BitAnd => "bitwise_and",
            BinaryOp::BitOr => "bitwise_or",
            BinaryOp::BitXor => "bitwise_xor",
        }
    }

    /// True for comparisons (result bool, operands in their common dtype).
    pub fn is_comparison(&self) -> bool {
        matches!(
            self,
            BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge
        )
    }

    /// True for logical operations (operands converted to bool).
    pub fn is_logical(&self) -> bool {
        matches!(self, BinaryOp::And | BinaryOp::Or | BinaryOp::Xor)
    }

    /// True for the bitwise operations (integers and bool only).
    pub fn is_bitwise(&self) -> bool {
        matches!(self, BinaryOp::BitAnd | BinaryOp::BitOr | BinaryOp::BitXor)
    }

    /// `(operand dtype, result dtype)` for operands whose common dtype is `common`.
    pub fn typing(&self, common: DType) -> Result<(DType, DType), ArrayError> {
        if self.is_bitwise() {
            if common.is_float() {
                return Err(ArrayError::UnsupportedDType {
                    op: self.name(),
                    dtype: common,
                });
            }
            return Ok((common, common));
        }
        if self.is_comparison() {
            return Ok((common, DType::Bool));
        }
        if self.is_logical() {
            return Ok((DType::Bool, DType::Bool));
        }
        match self {
            BinaryOp::Div | BinaryOp::Arctan2 | BinaryOp::Hypot => {
                let f = common.float_for_math();
                Ok((f, f))
            }
            BinaryOp::FloatPower => Ok((DType::F64, DType::F64)),
            BinaryOp::Minimum | BinaryOp::Maximum => Ok((common, common)),
            _ if common == DType::Bool => Err(ArrayError::UnsupportedDType {
                op: self.name(),
                dtype: common,
            }),
            _ => Ok((common, common)),
        }
    }
}
