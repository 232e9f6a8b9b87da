//! Prefix and infix operators of the language applied to values: arithmetic, comparisons and
//! logic elementwise with broadcasting (NumPy rules, weak scalars), `@` as the matrix product.
//! Two numbers give a number, computed by the same array kernels on a 0-d array so the rules
//! are the arrays' rules exactly.
//!
//! Labeled operands give labeled results where the labels agree (`super::labels`).
//!
//! Errors point at the operator. This module must not walk the syntax tree.

use crate::array::{Array, ArrayData, BinaryOp as ArrayOp, Operand, Scalar};
use crate::expr::{BinaryOp, ErrorKind, ExprError, Span, UnaryOp};

use super::convert::Spanned;
use super::failure::array_error;
use super::labels::{self, KeepAttrs};
use super::value::Value;

/// `lhs op rhs`; `op_span` is where the operator is written.
pub fn apply_binary(
    op: BinaryOp,
    lhs: &Spanned,
    rhs: &Spanned,
    op_span: Span,
) -> Result<Value, ExprError> {
    let operation = format!("`{}`", op.symbol());
    if op == BinaryOp::MatMul {
        let a = lhs.to_array(&format!("the left operand of {operation}"))?;
        let b = rhs.to_array(&format!("the right operand of {operation}"))?;
        return a
            .matmul(&b)
            .map(Value::Array)
            .map_err(|e| array_error(e, op_span, &operation));
    }
    let array_op = array_binary_op(op);
    // Groups combined with a per-group array: the array is taken back to every step.
    let back = |g: &crate::labeled::GroupBy, other: &Spanned| -> Result<Spanned, ExprError> {
        let values = other.value.labels().ok_or_else(|| {
            other.type_error(
                &format!("the operand combined with groups by {operation}"),
                &format!("an array along {}", g.name()),
            )
        })?;
        g.broadcast(values)
            .map(|l| Spanned {
                value: Value::Labeled(Box::new(l)),
                span: other.span,
            })
            .map_err(|e| ExprError::new(ErrorKind::Value, op_span, e.to_string()))
    };
    let whole = |g: &crate::labeled::GroupBy, s: &Spanned| Spanned {
        value: Value::Labeled(Box::new(g.array().clone())),
        span: s.span,
    };
    match (&lhs.value, &rhs.value) {
        (Value::Groups(g), _) => return apply_binary(op, &whole(g, lhs), &back(g, rhs)?, op_span),
        (_, Value::Groups(g)) => return apply_binary(op, &back(g, lhs)?, &whole(g, rhs), op_span),
        _ => {}
    }
    let aligned = labels::align(&[&lhs.value, &rhs.value])
        .map_err(|m| ExprError::new(ErrorKind::Value, op_span, m))?;
    if let Some(al) = aligned {
        let respan = |v: &Value, s: &Spanned| Spanned {
            value: v.clone(),
            span: s.span,
        };
        let a = operand(&respan(&al.values[0], lhs), "left", &operation)?;
        let b = operand(&respan(&al.values[1], rhs), "right", &operation)?;
        return Array::binary_op(array_op, a, b)
            .map(|r| al.relabel(r))
            .map_err(|e| array_error(e, op_span, &operation));
    }
    let a = operand(lhs, "left", &operation)?;
    let b = operand(rhs, "right", &operation)?;
    match (a, b) {
        (Operand::Scalar(x), Operand::Scalar(y)) => {
            python_int_overflow(op, x, y, op_span, &operation)?;
            // Python: an integer to a negative integer power is a float.
            let x = match (op, x, y) {
                (BinaryOp::Pow, Scalar::Int(a), Scalar::Int(b)) if b < 0 => Scalar::Float(a as f64),
                _ => x,
            };
            let folded = Array::scalar(x)
                .binary(array_op, y)
                .map_err(|e| array_error(e, op_span, &operation))?;
            fold_scalar(&folded, op_span, &operation)
        }
        (a, b) => Array::binary_op(array_op, a, b)
            .map(|r| labels::elementwise(r, &[&lhs.value, &rhs.value], KeepAttrs::None))
            .map_err(|e| array_error(e, op_span, &operation)),
    }
}

/// Two Python integers whose exact result does not fit in 64 bits: an error (Python would
/// give a big integer; wrapping it silently would be a wrong answer).
fn python_int_overflow(
    op: BinaryOp,
    x: Scalar,
    y: Scalar,
    span: Span,
    operation: &str,
) -> Result<(), ExprError> {
    let (Scalar::Int(a), Scalar::Int(b)) = (x, y) else {
        return Ok(());
    };
    let exact = match op {
        BinaryOp::Add => a.checked_add(b),
        BinaryOp::Sub => a.checked_sub(b),
        BinaryOp::Mul => a.checked_mul(b),
        BinaryOp::Pow if b >= 0 => u32::try_from(b).ok().and_then(|e| a.checked_pow(e)),
        // Python: i64::MIN // -1 overflows i64, but i64::MIN % -1 is 0.
        BinaryOp::FloorDiv if b == -1 => a.checked_neg(),
        _ => Some(0),
    };
    if exact.is_some() {
        return Ok(());
    }
    Err(ExprError::new(
        ErrorKind::Value,
        span,
        format!(
            "{operation}: the integer result of {a} {} {b} does not fit in 64 bits",
            op.symbol()
        ),
    )
    .with_help("write one operand as a float (2.0 ** 64) for a floating-point result"))
}

/// `op operand`; `span` is the whole expression.
pub fn apply_unary(op: UnaryOp, operand: &Spanned, span: Span) -> Result<Value, ExprError> {
    let operation = format!("prefix `{}`", op.symbol());
    let what = format!("the operand of {operation}");
    if op == UnaryOp::Pos {
        return match &operand.value {
            Value::Scalar(_) => Ok(operand.value.clone()),
            v if v.is_array() => Ok(operand.value.clone()),
            _ => Err(operand.type_error(&what, "an array or a number")),
        };
    }
    let is_scalar = matches!(operand.value, Value::Scalar(_));
    let x = operand.to_array(&what)?;
    let result = match op {
        UnaryOp::Neg => x.neg(),
        // `~`: bitwise on integers, logical on bool (NumPy's `invert`).
        UnaryOp::Invert => x.invert(),
        // `not`: logical, as Python's `not` of a number (NumPy's `logical_not`).
        _ => x.logical_not(),
    }
    .map_err(|e| array_error(e, span, &operation))?;
    if is_scalar {
        fold_scalar(&result, span, &operation)
    } else {
        Ok(labels::elementwise(
            result,
            &[&operand.value],
            KeepAttrs::None,
        ))
    }
}

/// The value of a 0-d array computed in this process, as a scalar.
pub fn fold_scalar(array: &Array, span: Span, operation: &str) -> Result<Value, ExprError> {
    let data = array
        .compute_local()
        .map_err(|e| array_error(e, span, operation))?;
    scalar_of(&data).map(Value::Scalar).ok_or_else(|| {
        ExprError::new(
            ErrorKind::Value,
            span,
            format!("{operation} did not give a single value"),
        )
    })
}

/// The only element of a one-element array, as a scalar.
pub fn scalar_of(data: &ArrayData) -> Option<Scalar> {
    if data.len() != 1 {
        return None;
    }
    Some(match data {
        ArrayData::Bool(a) => Scalar::Bool(*a.iter().next()?),
        ArrayData::U8(a) => Scalar::Int(i64::from(*a.iter().next()?)),
        ArrayData::I32(a) => Scalar::Int(i64::from(*a.iter().next()?)),
        ArrayData::I64(a) => Scalar::Int(*a.iter().next()?),
        ArrayData::F32(a) => Scalar::Float(f64::from(*a.iter().next()?)),
        ArrayData::F64(a) => Scalar::Float(*a.iter().next()?),
    })
}

fn operand(value: &Spanned, side: &str, operation: &str) -> Result<Operand, ExprError> {
    if let Value::Scalar(s) = &value.value {
        return Ok(Operand::Scalar(*s));
    }
    value
        .value
        .array()
        .map(|a| Operand::Array(a.clone()))
        .ok_or_else(|| {
            value.type_error(
                &format!("the {side} operand of {operation}"),
                "an array or a number",
            )
        })
}

fn array_binary_op(op: BinaryOp) -> ArrayOp {
    match op {
        // `|`/`or` and `&`/`and`: bitwise on integers, logical on bool (NumPy's operators).
        BinaryOp::Or => ArrayOp::BitOr,
        BinaryOp::And => ArrayOp::BitAnd,
        BinaryOp::Eq => ArrayOp::Eq,
        BinaryOp::Ne => ArrayOp::Ne,
        BinaryOp::Lt => ArrayOp::Lt,
        BinaryOp::Le => ArrayOp::Le,
        BinaryOp::Gt => ArrayOp::Gt,
        BinaryOp::Ge => ArrayOp::Ge,
        BinaryOp::Add => ArrayOp::Add,
        BinaryOp::Sub => ArrayOp::Sub,
        BinaryOp::Mul => ArrayOp::Mul,
        BinaryOp::Div => ArrayOp::Div,
        BinaryOp::FloorDiv => ArrayOp::FloorDiv,
        BinaryOp::Mod => ArrayOp::Rem,
        // `@` is handled before; `**` is the remaining operator.
        BinaryOp::MatMul | BinaryOp::Pow => ArrayOp::Pow,
    }
}

/// Where the operator between `lhs` and `rhs` is written: the first token after `lhs` (a run
/// of operator characters or a word such as `and`), skipping blanks and comments. Falls back
/// to the gap between the operands.
pub fn operator_span(src: &str, lhs: Span, rhs: Span) -> Span {
    let gap_start = lhs.end.min(src.len());
    let gap_end = rhs.start.clamp(gap_start, src.len());
    let Some(gap) = src.get(gap_start..gap_end) else {
        return Span::new(lhs.start, rhs.end);
    };
    let mut offset = 0;
    let bytes = gap.as_bytes();
    while offset < bytes.len() {
        match bytes[offset] {
            b' ' | b'\t' | b'\r' | b'\n' => offset += 1,
            b'#' => {
                while offset < bytes.len() && bytes[offset] != b'\n' {
                    offset += 1;
                }
            }
            _ => break,
        }
    }
    let start = offset;
    let is_word = bytes.get(start).is_some_and(u8::is_ascii_alphabetic);
    while offset < bytes.len() {
        let c = bytes[offset];
        let same_class = if is_word {
            c.is_ascii_alphabetic()
        } else {
            b"+-*/%@<>=!&|~".contains(&c)
        };
        if !same_class {
            break;
        }
        offset += 1;
    }
    if offset == start {
        return Span::new(gap_start, gap_end.max(gap_start));
    }
    Span::new(gap_start + start, gap_start + offset)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::array::DType;

    fn at(value: Value, start: usize) -> Spanned {
        Spanned {
            value,
            span: Span::new(start, start + 1),
        }
    }

    #[test]
    fn numbers_combine_like_python_scalars() {
        let two = at(Value::Scalar(Scalar::Int(2)), 0);
        let three = at(Value::Scalar(Scalar::Int(3)), 4);
        let sum = apply_binary(BinaryOp::Add, &two, &three, Span::new(2, 3)).expect("2 + 3");
        assert!(matches!(sum, Value::Scalar(Scalar::Int(5))));
        let q = apply_binary(BinaryOp::Div, &two, &three, Span::new(2, 3)).expect("2 / 3");
        assert!(matches!(q, Value::Scalar(Scalar::Float(x)) if (x - 2.0 / 3.0).abs() < 1e-15));
        let neg = apply_unary(UnaryOp::Neg, &two, Span::new(0, 2)).expect("-2");
        assert!(matches!(neg, Value::Scalar(Scalar::Int(-2))));
    }

    #[test]
    fn shape_mismatch_names_shapes_and_operator() {
        let a = Array::zeros(&[3, 4], DType::F64, 2).expect("a");
        let b = Array::zeros(&[5], DType::F64, 5).expect("b");
        let err = apply_binary(
            BinaryOp::Add,
            &at(Value::Array(a), 0),
            &at(Value::Array(b), 4),
            Span::new(2, 3),
        )
        .expect_err("(3, 4) + (5,)");
        assert_eq!(err.kind, ErrorKind::Shape);
        assert!(err.message.contains("(3, 4)") && err.message.contains("(5,)"));
        assert!(err.message.contains("`+`"), "{}", err.message);
        assert_eq!(err.span, Span::new(2, 3));
    }

    #[test]
    fn operator_span_skips_blanks_comments_and_finds_words() {
        let src = "x  +  y";
        assert_eq!(
            operator_span(src, Span::new(0, 1), Span::new(6, 7)),
            Span::new(3, 4)
        );
        let src = "(x) // y";
        assert_eq!(
            operator_span(src, Span::new(0, 3), Span::new(7, 8)),
            Span::new(4, 6)
        );
        let src = "a # c\n and b";
        assert_eq!(
            operator_span(src, Span::new(0, 1), Span::new(11, 12)),
            Span::new(7, 10)
        );
        // Spans out of range never panic.
        let s = operator_span("x", Span::new(5, 9), Span::new(2, 1));
        assert!(s.start <= s.end);
    }
}
