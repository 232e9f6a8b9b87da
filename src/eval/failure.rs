//! How errors of the array layer become [`ExprError`]s that point at the program text: a
//! broadcast failure names both shapes and the operation, other shape problems and bad values
//! keep the array layer's message.
//!
//! This module only translates errors; it must not decide what is an error.

use crate::array::ArrayError;
use crate::expr::{ErrorKind, ExprError, Span};

use super::value::shape_text;

/// `error` from the array layer while applying `operation` (e.g. `` `+` `` or `sum()`),
/// reported at `span`.
pub fn array_error(error: ArrayError, span: Span, operation: &str) -> ExprError {
    match error {
        ArrayError::Broadcast {
            left,
            right,
            axis,
            a,
            b,
        } => ExprError::new(
            ErrorKind::Shape,
            span,
            format!(
                "shape mismatch in {operation}: shapes {} and {} cannot be broadcast together",
                shape_text(&left),
                shape_text(&right)
            ),
        )
        .with_label(format!("lengths {a} and {b} on axis {axis} from the right"))
        .with_help(
            "shapes are compared from the last axis: each pair of lengths must be equal, or \
             one of them 1",
        ),
        ArrayError::Shape { op, reason } => ExprError::new(
            ErrorKind::Shape,
            span,
            format!("shape mismatch in {operation}: {op}: {reason}"),
        ),
        ArrayError::AxisOutOfRange { .. }
        | ArrayError::RepeatedAxis { .. }
        | ArrayError::BadChunks { .. }
        | ArrayError::IndexOutOfBounds { .. }
        | ArrayError::BadIndex(_) => {
            ExprError::new(ErrorKind::Shape, span, format!("{operation}: {error}"))
        }
        other => ExprError::new(ErrorKind::Value, span, format!("{operation}: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_errors_name_both_shapes_and_the_operation() {
        let e = ArrayError::Broadcast {
            left: vec![3, 4],
            right: vec![5],
            axis: 0,
            a: 4,
            b: 5,
        };
        let err = array_error(e, Span::new(2, 3), "`+`");
        assert_eq!(err.kind, ErrorKind::Shape);
        assert_eq!(
            err.message,
            "shape mismatch in `+`: shapes (3, 4) and (5,) cannot be broadcast together"
        );
    }
}
