//! Turning program values into the parameters of array functions: integers, shapes, axes,
//! dtypes, chunk specifications and boundary modes, each failure an [`ExprError`] pointing at
//! the argument and naming what was expected and what was given.
//!
//! This module must not evaluate expressions or build arrays.

use crate::array::{Array, AxisChunks, Boundary, ChunkSpec, DType, Scalar};
use crate::expr::{ErrorKind, ExprError, Span};

use super::value::Value;

/// A value with the source span it was written at.
#[derive(Clone, Debug)]
pub struct Spanned {
    /// The value.
    pub value: Value,
    /// Where its expression is in the source.
    pub span: Span,
}

impl Spanned {
    /// A wrong-kind error: `{what} must be {expected}, not {value}`.
    pub fn type_error(&self, what: &str, expected: &str) -> ExprError {
        ExprError::new(
            ErrorKind::Type,
            self.span,
            format!("{what} must be {expected}, not {}", self.value.describe()),
        )
        .with_label(format!("expected {expected}"))
    }

    /// A bad-value error at this argument.
    pub fn value_error(&self, message: impl Into<String>) -> ExprError {
        ExprError::new(ErrorKind::Value, self.span, message)
    }

    /// An integer (booleans are not accepted; floats only when they are whole numbers
    /// written as integers is not NumPy's behaviour either, so they are refused).
    pub fn to_i64(&self, what: &str) -> Result<i64, ExprError> {
        match self.value {
            Value::Scalar(Scalar::Int(i)) => Ok(i),
            _ => Err(self.type_error(what, "an integer")),
        }
    }

    /// An array; a number becomes a 0-d array.
    pub fn to_array(&self, what: &str) -> Result<Array, ExprError> {
        match &self.value {
            Value::Scalar(s) => Ok(Array::scalar(*s)),
            other => other
                .array()
                .cloned()
                .ok_or_else(|| self.type_error(what, "an array or a number")),
        }
    }

    /// A non-negative integer.
    pub fn to_usize(&self, what: &str) -> Result<usize, ExprError> {
        let i = self.to_i64(what)?;
        usize::try_from(i)
            .map_err(|_| self.value_error(format!("{what} must not be negative, got {i}")))
    }

    /// A number (integers and booleans convert).
    pub fn to_f64(&self, what: &str) -> Result<f64, ExprError> {
        match self.value {
            Value::Scalar(s) => Ok(s.as_f64()),
            _ => Err(self.type_error(what, "a number")),
        }
    }

    /// A number as a weak scalar.
    pub fn to_scalar(&self, what: &str) -> Result<Scalar, ExprError> {
        match self.value {
            Value::Scalar(s) => Ok(s),
            _ => Err(self.type_error(what, "a number")),
        }
    }

    /// `true` or `false`.
    pub fn to_bool(&self, what: &str) -> Result<bool, ExprError> {
        match self.value {
            Value::Scalar(Scalar::Bool(b)) => Ok(b),
            _ => Err(self.type_error(what, "true or false")),
        }
    }

    /// A string.
    pub fn to_str(&self, what: &str) -> Result<&str, ExprError> {
        match &self.value {
            Value::Str(s) => Ok(s),
            _ => Err(self.type_error(what, "a string")),
        }
    }

    /// A shape: one length or a tuple of lengths.
    pub fn to_shape(&self, what: &str) -> Result<Vec<usize>, ExprError> {
        match &self.value {
            Value::Scalar(Scalar::Int(_)) => Ok(vec![self.to_usize(what)?]),
            Value::Tuple(items) => items
                .iter()
                .map(|v| self.part(v).to_usize(&format!("each length of {what}")))
                .collect(),
            _ => Err(self.type_error(what, "a length or a tuple of lengths")),
        }
    }

    /// A shape in which one length may be -1 (inferred), as `reshape` takes it.
    pub fn to_shape_with_unknown(&self, what: &str) -> Result<Vec<i64>, ExprError> {
        let lengths: Vec<i64> = match &self.value {
            Value::Scalar(Scalar::Int(i)) => vec![*i],
            Value::Tuple(items) => items
                .iter()
                .map(|v| self.part(v).to_i64(&format!("each length of {what}")))
                .collect::<Result<_, _>>()?,
            _ => return Err(self.type_error(what, "a length or a tuple of lengths")),
        };
        if lengths.iter().any(|&n| n < -1) || lengths.iter().filter(|&&n| n == -1).count() > 1 {
            return Err(self.value_error(format!(
                "{what} must hold lengths of at least 0, with at most one -1, got {lengths:?}"
            )));
        }
        Ok(lengths)
    }

    /// Axes: `None` (all), one axis, or a tuple of axes.
    pub fn to_axes(&self, what: &str) -> Result<Option<Vec<isize>>, ExprError> {
        match &self.value {
            Value::None => Ok(None),
            Value::Scalar(Scalar::Int(i)) => Ok(Some(vec![*i as isize])),
            Value::Tuple(items) => items
                .iter()
                .map(|v| Ok(self.part(v).to_i64(&format!("each axis of {what}"))? as isize))
                .collect::<Result<Vec<_>, ExprError>>()
                .map(Some),
            _ => Err(self.type_error(what, "an axis, a tuple of axes or None")),
        }
    }

    /// One axis (negative counts from the end).
    pub fn to_axis(&self, what: &str) -> Result<isize, ExprError> {
        Ok(self.to_i64(what)? as isize)
    }

    /// A dtype given by name: `"f64"`, `"float64"`, `"i32"`, `"uint8"`, `"bool"`, ...
    pub fn to_dtype(&self, what: &str) -> Result<DType, ExprError> {
        let name = self.to_str(what)?;
        parse_dtype(name).ok_or_else(|| {
            self.value_error(format!("unknown dtype {name:?}"))
                .with_help(
                    "dtypes are bool, u8 (uint8), i32 (int32), i64 (int64), f32 (float32), \
                 f64 (float64)",
                )
        })
    }

    /// A chunk specification: `"auto"`, one block length, or per axis a length, `-1` or
    /// `None` (whole axis), `"auto"`, or a tuple of explicit block lengths. `ndim` is the
    /// number of axes of the array being chunked.
    pub fn to_chunks(&self, what: &str, ndim: usize) -> Result<ChunkSpec, ExprError> {
        match &self.value {
            Value::Str(s) if s == "auto" => Ok(ChunkSpec::Auto),
            Value::None | Value::Scalar(Scalar::Int(-1)) => {
                Ok(ChunkSpec::PerAxis(vec![AxisChunks::Full; ndim]))
            }
            Value::Scalar(Scalar::Int(_)) => Ok(ChunkSpec::Uniform(self.positive(what)?)),
            Value::Tuple(items) if items.iter().all(|v| matches!(v, Value::Tuple(_))) => {
                let blocks = items
                    .iter()
                    .map(|v| self.part(v).to_shape(&format!("the blocks of {what}")))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(ChunkSpec::Blocks(blocks))
            }
            Value::Tuple(items) => items
                .iter()
                .map(|v| match v {
                    Value::None | Value::Scalar(Scalar::Int(-1)) => Ok(AxisChunks::Full),
                    Value::Str(s) if s == "auto" => Ok(AxisChunks::Auto),
                    _ => Ok(AxisChunks::Size(self.part(v).positive(what)?)),
                })
                .collect::<Result<Vec<_>, ExprError>>()
                .map(ChunkSpec::PerAxis),
            _ => Err(self.type_error(
                what,
                "a block length, a tuple of block lengths per axis, or \"auto\"",
            )),
        }
    }

    /// How `map_overlap` extends chunks at the array's edges.
    pub fn to_boundary(&self, what: &str) -> Result<Boundary, ExprError> {
        match &self.value {
            Value::Scalar(s) => Ok(Boundary::Constant(s.as_f64())),
            Value::None => Ok(Boundary::None),
            Value::Str(s) => match s.as_str() {
                "none" => Ok(Boundary::None),
                "periodic" => Ok(Boundary::Periodic),
                "reflect" => Ok(Boundary::Reflect),
                "nearest" => Ok(Boundary::Nearest),
                other => Err(self
                    .value_error(format!("unknown boundary {other:?}"))
                    .with_help(
                    "boundaries are \"none\", \"periodic\", \"reflect\", \"nearest\" or a number",
                )),
            },
            _ => Err(self.type_error(what, "a boundary name or a number")),
        }
    }

    fn positive(&self, what: &str) -> Result<usize, ExprError> {
        match self.to_usize(what)? {
            0 => Err(self.value_error(format!("{what} must be at least 1"))),
            n => Ok(n),
        }
    }

    /// An item of this value (a tuple element), reported at the same span.
    fn part(&self, value: &Value) -> Spanned {
        Spanned {
            value: value.clone(),
            span: self.span,
        }
    }
}

/// The dtype called `name` (short or NumPy spelling).
///
/// ```
/// use tessera::array::DType;
/// use tessera::eval::parse_dtype;
/// assert_eq!(parse_dtype("f8"), Some(DType::F64));
/// assert_eq!(parse_dtype("int32"), Some(DType::I32));
/// assert_eq!(parse_dtype("complex"), None);
/// ```
pub fn parse_dtype(name: &str) -> Option<DType> {
    Some(match name {
        "bool" | "b1" => DType::Bool,
        "u8" | "uint8" | "u1" => DType::U8,
        "i32" | "int32" | "i4" => DType::I32,
        "i64" | "int64" | "i8" | "int" => DType::I64,
        "f32" | "float32" | "f4" => DType::F32,
        "f64" | "float64" | "f8" | "float" => DType::F64,
        _ => return None,
    })
}

/// The short dtype name used in JSON output: `f64`, `f32`, `i64`, `i32`, `u8`, `bool`.
pub fn short_dtype_name(dtype: DType) -> &'static str {
    match dtype {
        DType::Bool => "bool",
        DType::U8 => "u8",
        DType::I32 => "i32",
        DType::I64 => "i64",
        DType::F32 => "f32",
        DType::F64 => "f64",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(value: Value) -> Spanned {
        Spanned {
            value,
            span: Span::new(0, 1),
        }
    }

    #[test]
    fn shapes_axes_and_chunks_convert() {
        let t = Value::Tuple(vec![
            Value::Scalar(Scalar::Int(3)),
            Value::Scalar(Scalar::Int(4)),
        ]);
        assert_eq!(at(t.clone()).to_shape("shape").expect("shape"), vec![3, 4]);
        assert_eq!(
            at(t.clone()).to_axes("axis").expect("axes"),
            Some(vec![3, 4])
        );
        assert_eq!(at(Value::None).to_axes("axis").expect("none"), None);
        assert_eq!(
            at(t).to_chunks("chunks", 2).expect("chunks"),
            ChunkSpec::PerAxis(vec![AxisChunks::Size(3), AxisChunks::Size(4)])
        );
        let mixed = Value::Tuple(vec![Value::None, Value::Str("auto".into())]);
        assert_eq!(
            at(mixed).to_chunks("chunks", 2).expect("mixed"),
            ChunkSpec::PerAxis(vec![AxisChunks::Full, AxisChunks::Auto])
        );
    }

    #[test]
    fn wrong_kinds_name_what_was_expected_and_given() {
        let err = at(Value::Str("x".into()))
            .to_i64("axis of sum()")
            .expect_err("a string is not an integer");
        assert_eq!(err.kind, ErrorKind::Type);
        assert_eq!(
            err.message,
            "axis of sum() must be an integer, not the string \"x\""
        );
        let err = at(Value::Scalar(Scalar::Int(-2)))
            .to_shape("shape")
            .expect_err("negative");
        assert!(
            err.message.contains("must not be negative"),
            "{}",
            err.message
        );
        let err = at(Value::Str("complex".into()))
            .to_dtype("dtype")
            .expect_err("unknown dtype");
        assert!(err.help.is_some_and(|h| h.contains("f64")));
    }
}
