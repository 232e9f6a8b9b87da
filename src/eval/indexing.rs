//! Indexing values: `x[0, 1:10:2, None, ...]` on arrays (basic indexing, lazy), one integer
//! list or array along one axis (`x[:, [0, 5]]`, a take), a boolean mask along one axis or
//! over the whole array (`x[x > 0]`), and integers or slices on tuples (`x.shape[0]`).
//!
//! Index arrays must be known to build the graph (shapes are static), so an array used as an
//! index is computed first through the [`Materialise`] function the evaluator was given.
//! Coordinates of labeled arrays are selected with the data (`super::labels`).
//! This module must not walk the syntax tree.

use ndarray::IxDyn;

use crate::array::{Array, ArrayData, ArrayError, IndexItem, Scalar};
use crate::expr::{ErrorKind, ExprError, Span};

use super::convert::Spanned;
use super::failure::array_error;
use super::labels;
use super::value::Value;

/// Computes an array that is needed as a concrete value (an index array or mask).
pub type Materialise<'a> = dyn Fn(&Array) -> Result<ArrayData, ArrayError> + 'a;

/// One evaluated item between the brackets.
#[derive(Debug)]
pub enum ItemValue {
    /// An expression: an integer, `None`, an index list/array or a mask.
    Value(Spanned),
    /// `start:stop:step`.
    Slice {
        /// Start, if written.
        start: Option<Spanned>,
        /// Stop, if written.
        stop: Option<Spanned>,
        /// Step, if written.
        step: Option<Spanned>,
        /// The whole slice.
        span: Span,
    },
    /// `...`.
    Ellipsis(Span),
}

impl ItemValue {
    fn span(&self) -> Span {
        match self {
            ItemValue::Value(v) => v.span,
            ItemValue::Slice { span, .. } | ItemValue::Ellipsis(span) => *span,
        }
    }
}

/// `target[items]`; `span` is the whole indexing expression.
pub fn apply_index(
    target: &Spanned,
    items: &[ItemValue],
    span: Span,
    materialise: &Materialise<'_>,
) -> Result<Value, ExprError> {
    match &target.value {
        Value::Tuple(t) => index_tuple(t, items, span),
        v if v.is_array() => index_array(v, items, span, materialise),
        other => Err(ExprError::new(
            ErrorKind::Type,
            target.span,
            format!("{} cannot be indexed", other.describe()),
        )
        .with_label("not an array or tuple")),
    }
}

fn index_tuple(tuple: &[Value], items: &[ItemValue], span: Span) -> Result<Value, ExprError> {
    let [item] = items else {
        return Err(ExprError::new(
            ErrorKind::Type,
            span,
            "a tuple takes one index".to_string(),
        ));
    };
    let basic = basic_item(item)?;
    let n = tuple.len() as i64;
    match basic {
        Some(IndexItem::Int(i)) => {
            let at = if i < 0 { i + n } else { i };
            usize::try_from(at)
                .ok()
                .and_then(|at| tuple.get(at))
                .cloned()
                .ok_or_else(|| {
                    ExprError::new(
                        ErrorKind::Shape,
                        item.span(),
                        format!("index {i} is out of range for a tuple of {n} items"),
                    )
                })
        }
        Some(IndexItem::Slice { start, stop, step }) => {
            let positions = slice_positions(n, start, stop, step).ok_or_else(|| {
                ExprError::new(ErrorKind::Value, item.span(), "slice step cannot be 0")
            })?;
            Ok(Value::Tuple(
                positions.into_iter().map(|p| tuple[p].clone()).collect(),
            ))
        }
        _ => Err(ExprError::new(
            ErrorKind::Type,
            item.span(),
            "a tuple is indexed by an integer or a slice",
        )),
    }
}

/// Python's `range(n)[start:stop:step]` as positions.
fn slice_positions(n: i64, start: Option<i64>, stop: Option<i64>, step: i64) -> Option<Vec<usize>> {
    if step == 0 {
        return None;
    }
    let clamp = |v: i64, lo: i64, hi: i64| {
        let v = if v < 0 { v + n } else { v };
        v.clamp(lo, hi)
    };
    let mut out = Vec::new();
    if step > 0 {
        let mut i = start.map_or(0, |s| clamp(s, 0, n));
        let end = stop.map_or(n, |s| clamp(s, 0, n));
        while i < end {
            out.push(i as usize);
            i += step;
        }
    } else {
        let mut i = start.map_or(n - 1, |s| clamp(s, -1, n - 1));
        let end = stop.map_or(-1, |s| clamp(s, -1, n - 1));
        while i > end {
            out.push(i as usize);
            i += step;
        }
    }
    Some(out)
}

/// The basic index item for `item`, or `None` when it is an advanced (list/array) index.
fn basic_item(item: &ItemValue) -> Result<Option<IndexItem>, ExprError> {
    Ok(match item {
        ItemValue::Ellipsis(_) => Some(IndexItem::Ellipsis),
        ItemValue::Slice {
            start, stop, step, ..
        } => {
            let part = |p: &Option<Spanned>, what: &str| -> Result<Option<i64>, ExprError> {
                match p {
                    None => Ok(None),
                    Some(v) if matches!(v.value, Value::None) => Ok(None),
                    Some(v) => v.to_i64(what).map(Some),
                }
            };
            let step = part(step, "a slice step")?.unwrap_or(1);
            if step == 0 {
                return Err(ExprError::new(
                    ErrorKind::Value,
                    item.span(),
                    "slice step cannot be 0",
                ));
            }
            Some(IndexItem::Slice {
                start: part(start, "a slice start")?,
                stop: part(stop, "a slice stop")?,
                step,
            })
        }
        ItemValue::Value(v) => match &v.value {
            Value::Scalar(Scalar::Int(i)) => Some(IndexItem::Int(*i)),
            Value::None => Some(IndexItem::NewAxis),
            Value::Tuple(_) => None,
            a if a.is_array() => None,
            other => {
                return Err(ExprError::new(
                    ErrorKind::Type,
                    v.span,
                    format!(
                        "an index must be an integer, a slice, None, ..., an integer list or a \
                         boolean mask, not {}",
                        other.describe()
                    ),
                ))
            }
        },
    })
}

fn index_array(
    value: &Value,
    items: &[ItemValue],
    span: Span,
    materialise: &Materialise<'_>,
) -> Result<Value, ExprError> {
    let Some(x) = value.array() else {
        return Err(ExprError::new(
            ErrorKind::Type,
            span,
            format!("{} cannot be indexed", value.describe()),
        ));
    };
    let mut basic = Vec::with_capacity(items.len());
    let mut advanced: Option<(usize, &Spanned)> = None;
    for (position, item) in items.iter().enumerate() {
        match basic_item(item)? {
            Some(b) => basic.push(b),
            None => {
                let ItemValue::Value(v) = item else {
                    continue;
                };
                if advanced.is_some() {
                    return Err(ExprError::new(
                        ErrorKind::Unsupported,
                        v.span,
                        "only one index list or mask per indexing is supported",
                    )
                    .with_help("index in two steps: x[:, [0, 2]][[1, 3]]"));
                }
                advanced = Some((position, v));
                basic.push(IndexItem::full());
            }
        }
    }
    let operation = "indexing";
    let Some((axis, selector)) = advanced else {
        return x
            .index(&basic)
            .map(|r| labels::basic_index(r, value, &basic))
            .map_err(|e| array_error(e, span, operation));
    };
    // Slices elsewhere, and integers adjacent to the list, are applied first: the list then
    // selects along the same axis of the result, which is NumPy's placement in these cases.
    let ints: Vec<usize> = (0..basic.len())
        .filter(|&i| matches!(basic[i], IndexItem::Int(_)))
        .collect();
    let lo = ints.iter().copied().chain([axis]).min().unwrap_or(axis);
    let hi = ints.iter().copied().chain([axis]).max().unwrap_or(axis);
    let supported = basic.iter().enumerate().all(|(i, b)| {
        i == axis
            || matches!(b, IndexItem::Slice { .. })
            || (matches!(b, IndexItem::Int(_)) && (lo..=hi).contains(&i))
    }) && (lo..=hi).all(|i| i == axis || ints.contains(&i));
    if !supported {
        return Err(ExprError::new(
            ErrorKind::Unsupported,
            selector.span,
            "an index list or mask can only be combined with slices and adjacent integers",
        )
        .with_help("index in two steps: x[..., 2:5][:, [0, 3]]"));
    }
    let sliced;
    let (x, value, axis) = if basic.iter().all(|b| *b == IndexItem::full()) {
        (x, value, axis)
    } else {
        let r = x
            .index(&basic)
            .map_err(|e| array_error(e, span, operation))?;
        sliced = labels::basic_index(r, value, &basic);
        let dropped = ints.iter().filter(|&&i| i < axis).count();
        let Some(x) = sliced.array() else {
            return Err(ExprError::new(
                ErrorKind::Type,
                span,
                "indexing did not give an array",
            ));
        };
        (x, &sliced, axis - dropped)
    };
    let selection = concrete(selector, materialise)?;
    let result = match selection {
        ArrayData::Bool(mask) if items.len() == 1 && mask.ndim() == x.ndim() && x.ndim() > 1 => {
            x.masked(&mask).map(Value::Array)
        }
        ArrayData::Bool(mask) if mask.ndim() == 1 => {
            let flags: Vec<bool> = mask.iter().copied().collect();
            x.compress(&flags, axis as isize)
                .map(|r| labels::compress(r, value, axis, &flags))
        }
        data if data.dtype().is_integer() && data.shape().len() == 1 => {
            let indices: Vec<i64> = data.to_f64_vec().iter().map(|&f| f as i64).collect();
            x.take(&indices, axis as isize)
                .map(|r| labels::take(r, value, axis, &indices))
        }
        data => {
            return Err(ExprError::new(
                ErrorKind::Type,
                selector.span,
                format!(
                    "an index array must be a 1-d integer array or a boolean mask, not {} of \
                     shape {}",
                    data.dtype(),
                    super::value::shape_text(data.shape())
                ),
            ))
        }
    };
    result.map_err(|e| array_error(e, span, operation))
}

/// The selector's values: a literal list of integers or booleans, or a computed array.
fn concrete(selector: &Spanned, materialise: &Materialise<'_>) -> Result<ArrayData, ExprError> {
    if let Some(a) = selector.value.array() {
        return materialise(a).map_err(|e| array_error(e, selector.span, "an index array"));
    }
    match &selector.value {
        Value::Tuple(items) => {
            if !items.is_empty()
                && items
                    .iter()
                    .all(|v| matches!(v, Value::Scalar(Scalar::Bool(_))))
            {
                let flags: Vec<bool> = items
                    .iter()
                    .map(|v| matches!(v, Value::Scalar(Scalar::Bool(true))))
                    .collect();
                let n = flags.len();
                return ndarray::ArrayD::from_shape_vec(IxDyn(&[n]), flags)
                    .map(ArrayData::Bool)
                    .map_err(|e| selector.value_error(e.to_string()));
            }
            let indices = items
                .iter()
                .map(|v| match v {
                    Value::Scalar(Scalar::Int(i)) => Ok(*i),
                    other => Err(selector.type_error(
                        "each item of an index list",
                        &format!("an integer (got {})", other.describe()),
                    )),
                })
                .collect::<Result<Vec<i64>, ExprError>>()?;
            let n = indices.len();
            ndarray::ArrayD::from_shape_vec(IxDyn(&[n]), indices)
                .map(ArrayData::I64)
                .map_err(|e| selector.value_error(e.to_string()))
        }
        other => Err(selector.type_error(
            "an index",
            &format!("a list or array, not {}", other.describe()),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tuple_slices_follow_python() {
        assert_eq!(
            slice_positions(5, None, None, -1),
            Some(vec![4, 3, 2, 1, 0])
        );
        assert_eq!(slice_positions(5, Some(1), Some(-1), 2), Some(vec![1, 3]));
        assert_eq!(
            slice_positions(5, Some(-100), Some(100), 1),
            Some(vec![0, 1, 2, 3, 4])
        );
        assert_eq!(slice_positions(5, None, None, 0), None);
    }
}
