//! The values a `tessera eval` program computes with: lazy arrays (plain, or labeled with the
//! dimension names, coordinates and attributes of the file they came from), weak scalars,
//! strings, `None` and tuples (lists are tuples too), and how they are described in messages.
//!
//! This module is plain data and formatting; it must not evaluate expressions or compute
//! arrays.

use crate::array::{Array, Scalar};

/// A value of a running program.
#[derive(Clone, Debug)]
pub enum Value {
    /// A lazy chunked array.
    Array(Array),
    /// A lazy chunked array with dimension names, coordinates and attributes (read from a
    /// file, or computed from one where the labels stay unambiguous; see `eval::labels`).
    Labeled(Box<crate::labeled::LabeledArray>),
    /// A number or boolean (a weak scalar in arithmetic with arrays).
    Scalar(Scalar),
    /// A string, e.g. a dtype name or a file path.
    Str(String),
    /// `None`.
    None,
    /// `(a, b)` or `[a, b]`.
    Tuple(Vec<Value>),
    /// `slice(start, stop, step)`: a range for `sel`/`isel` (`None` leaves a side open).
    Slice(Box<[Value; 3]>),
    /// Values by name, in order: `x.sizes`, `x.attrs`.
    Dict(Vec<(String, Value)>),
    /// An array split into groups (`groupby`, `resample`), waiting for a reduction or an
    /// operator.
    Groups(Box<crate::labeled::GroupBy>),
    /// An array seen through moving windows (`rolling`), waiting for a reduction.
    Rolling(Box<crate::labeled::Rolling>),
    /// An array cut into blocks (`coarsen`), waiting for a reduction.
    Coarsen(Box<crate::labeled::Coarsen>),
    /// An array with weights (`weighted`), waiting for a reduction.
    Weighted(Box<crate::labeled::Weighted>),
}

impl Value {
    /// What the value is, for error messages: `an array of shape (3, 4) and dtype float64`,
    /// `the integer 3`, `a string "f8"`, `None`, `a tuple of 2 items`.
    pub fn describe(&self) -> String {
        match self {
            Value::Array(a) => format!(
                "an array of shape {} and dtype {}",
                shape_text(a.shape()),
                a.dtype()
            ),
            Value::Labeled(l) => format!(
                "an array of shape {} and dtype {} (dimensions {})",
                shape_text(l.array().shape()),
                l.array().dtype(),
                l.dims().join(", ")
            ),
            Value::Scalar(Scalar::Bool(b)) => format!("the boolean {b}"),
            Value::Scalar(Scalar::Int(i)) => format!("the integer {i}"),
            Value::Scalar(Scalar::Float(x)) => format!("the number {x}"),
            Value::Str(s) => format!("the string {s:?}"),
            Value::None => "None".to_string(),
            Value::Tuple(items) => match items.len() {
                1 => "a tuple of 1 item".to_string(),
                n => format!("a tuple of {n} items"),
            },
            Value::Slice(_) => "a slice".to_string(),
            Value::Dict(items) => format!("a mapping of {} names", items.len()),
            Value::Groups(g) => format!(
                "{} split into {} groups by {}",
                g.array().name(),
                g.labels().len(),
                g.name()
            ),
            Value::Rolling(r) => format!(
                "{} in moving windows of {} along {}",
                r.array().name(),
                r.window(),
                r.dim()
            ),
            Value::Coarsen(_) => "an array cut into blocks (coarsen)".to_string(),
            Value::Weighted(w) => format!("{} with weights", w.array.name()),
        }
    }

    /// True for arrays, labeled or not.
    pub fn is_array(&self) -> bool {
        self.array().is_some()
    }

    /// The lazy array of an array value, labeled or not.
    pub fn array(&self) -> Option<&Array> {
        match self {
            Value::Array(a) => Some(a),
            Value::Labeled(l) => Some(l.array()),
            _ => None,
        }
    }

    /// The labels of a labeled array.
    pub fn labels(&self) -> Option<&crate::labeled::LabeledArray> {
        match self {
            Value::Labeled(l) => Some(l),
            _ => None,
        }
    }
}

/// A shape written as Python writes a tuple: `(3, 4)`, `(5,)`, `()`.
///
/// ```
/// use tessera::eval::shape_text;
/// assert_eq!(shape_text(&[3, 4]), "(3, 4)");
/// assert_eq!(shape_text(&[5]), "(5,)");
/// assert_eq!(shape_text(&[]), "()");
/// ```
pub fn shape_text(shape: &[usize]) -> String {
    match shape {
        [] => "()".to_string(),
        [n] => format!("({n},)"),
        _ => {
            let parts: Vec<String> = shape.iter().map(usize::to_string).collect();
            format!("({})", parts.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::array::DType;

    #[test]
    fn descriptions_name_shape_dtype_and_value() {
        let a = Array::zeros(&[3, 4], DType::F32, 2).expect("zeros");
        assert_eq!(
            Value::Array(a).describe(),
            "an array of shape (3, 4) and dtype float32"
        );
        assert_eq!(Value::Scalar(Scalar::Int(3)).describe(), "the integer 3");
        assert_eq!(Value::Str("x".into()).describe(), "the string \"x\"");
        assert_eq!(
            Value::Tuple(vec![Value::None]).describe(),
            "a tuple of 1 item"
        );
    }
}
