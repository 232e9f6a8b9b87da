//! Labels through a program: arrays read with `h5()`/`nc()` carry dimension names,
//! coordinates and attributes ([`Value::Labeled`]); each operation of the evaluator, which
//! computes with plain arrays, gives its result the labels [`crate::labeled`] says stay true
//! (see the rules there), or none. A labeled result with nothing left to carry (names
//! `dim_0, dim_1, ...`, no coordinates, no attributes) becomes a plain array.
//!
//! This module only adapts values to the label layer; it must not build arrays.

use crate::array::{Array, IndexItem, ReduceKind};
pub use crate::labeled::KeepAttrs;
use crate::labeled::LabeledArray;

use super::value::Value;

/// A value for labels `l`: plain when there is nothing to carry.
pub fn wrap(l: LabeledArray) -> Value {
    if l.is_bare() {
        Value::Array(l.into_array())
    } else {
        Value::Labeled(Box::new(l))
    }
}

fn relabel(
    result: Array,
    input: &Value,
    f: impl FnOnce(&LabeledArray, Array) -> Option<LabeledArray>,
) -> Value {
    match input.labels() {
        Some(l) => match f(l, result.clone()) {
            Some(out) => wrap(out),
            None => Value::Array(result),
        },
        None => Value::Array(result),
    }
}

/// The result of an elementwise operation on `inputs`.
pub fn elementwise(result: Array, inputs: &[&Value], attrs: KeepAttrs) -> Value {
    let labeled: Vec<&LabeledArray> = inputs.iter().filter_map(|v| v.labels()).collect();
    match labeled.as_slice() {
        [] => Value::Array(result),
        [one] => wrap(one.after_elementwise(result, attrs)),
        many => match LabeledArray::broadcast(result.clone(), many) {
            Some(l) => wrap(l),
            None => Value::Array(result),
        },
    }
}

/// Operands of an elementwise operation lined up by dimension name (two or more labeled).
pub struct AlignedValues {
    /// The operands in order: labeled ones replaced by their aligned data.
    pub values: Vec<Value>,
    aligned: crate::labeled::Aligned,
    name: String,
}

impl AlignedValues {
    /// The labeled result of an operation on [`AlignedValues::values`].
    pub fn relabel(&self, result: Array) -> Value {
        match self.aligned.label(result.clone(), &self.name) {
            Ok(l) => wrap(l),
            Err(_) => Value::Array(result),
        }
    }
}

/// `values` lined up by dimension name when two or more are labeled (`None` otherwise);
/// the error names the dimension whose lengths or coordinates disagree.
pub fn align(values: &[&Value]) -> Result<Option<AlignedValues>, String> {
    let labeled: Vec<&LabeledArray> = values.iter().filter_map(|v| v.labels()).collect();
    if labeled.len() < 2 {
        return Ok(None);
    }
    let aligned = crate::labeled::align(&labeled).map_err(|e| e.to_string())?;
    let mut k = 0;
    let values = values
        .iter()
        .map(|v| match v.labels() {
            Some(_) => {
                k += 1;
                aligned
                    .arrays
                    .get(k - 1)
                    .cloned()
                    .map_or_else(|| (*v).clone(), Value::Array)
            }
            None => (*v).clone(),
        })
        .collect();
    Ok(Some(AlignedValues {
        values,
        name: labeled[0].name().to_string(),
        aligned,
    }))
}

/// The result of the reduction `kind` of `input` over `axes` (`None`: all).
pub fn reduction(
    result: Array,
    input: &Value,
    kind: ReduceKind,
    axes: Option<&[isize]>,
    keepdims: bool,
) -> Value {
    relabel(result, input, |l, r| {
        // An axis the array does not have drops the labels (never mislabels them).
        let axes: Vec<usize> = match axes {
            None => (0..l.dims().len()).collect(),
            Some(a) => crate::array::reduce_axes(a, l.dims().len()).ok()?,
        };
        Some(l.after_reduce(r, kind, &axes, keepdims))
    })
}

/// The result of basic indexing of `input` by `items`.
pub fn basic_index(result: Array, input: &Value, items: &[IndexItem]) -> Value {
    relabel(result, input, |l, r| l.after_index(r, items).ok())
}

/// The result of taking `indices` along `axis` of `input`.
pub fn take(result: Array, input: &Value, axis: usize, indices: &[i64]) -> Value {
    relabel(result, input, |l, r| l.after_take(r, axis, indices).ok())
}

/// The result of keeping the positions where `mask` is true along `axis` of `input`.
pub fn compress(result: Array, input: &Value, axis: usize, mask: &[bool]) -> Value {
    relabel(result, input, |l, r| l.after_compress(r, axis, mask).ok())
}

/// The result of permuting the axes of `input` (`perm[i]` is the input axis of result
/// axis `i`).
pub fn permute(result: Array, input: &Value, perm: &[usize]) -> Value {
    relabel(result, input, |l, r| l.after_permute(r, perm).ok())
}

/// The result of dropping the length-one `axes` of `input`.
pub fn squeeze(result: Array, input: &Value, axes: &[usize]) -> Value {
    relabel(result, input, |l, r| Some(l.after_squeeze(r, axes)))
}

/// The result of inserting a length-one axis at `axis` (of the result) into `input`.
pub fn expand_dims(result: Array, input: &Value, axis: usize) -> Value {
    relabel(result, input, |l, r| Some(l.after_expand_dims(r, axis)))
}

/// The axis of dimension `name` of `input`, or why there is none.
pub fn axis_of_dim(input: &Value, name: &str) -> Result<usize, String> {
    match input.labels() {
        Some(l) => l.axis_of(name).map_err(|_| {
            format!(
                "the array has no dimension {name:?}; its dimensions are {}",
                l.dims().join(", ")
            )
        }),
        None => Err(format!(
            "dimension {name:?} given by name, but the array has no dimension names \
             (only arrays read with h5() or nc() have them)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::array::{ArrayData, DType};
    use crate::eval::Evaluator;
    use crate::expr::parse_program_with;
    use crate::labeled::{AttrValue, Attributes};

    /// t(time=4, lat=3) with coordinates and `units = "K"`; u(y=4, x=3) with other names.
    fn run(src: &str) -> Result<Value, crate::expr::ExprError> {
        let a = Array::arange(0, 12, 1, DType::F64, 5)
            .and_then(|a| a.reshape(&[4, 3]))
            .expect("array");
        let time = ArrayData::from(ndarray::arr1(&[0.0f64, 6., 12., 18.]).into_dyn());
        let lat = ArrayData::from(ndarray::arr1(&[-10.0f64, 0., 10.]).into_dyn());
        let t = LabeledArray::new(a.clone(), "t")
            .with_dims(&["time", "lat"])
            .and_then(|l| l.with_coord("time", time, Attributes::new()))
            .and_then(|l| l.with_coord("lat", lat, Attributes::new()))
            .expect("labels")
            .with_attr("units", "K")
            .with_attr("scale_factor", 1.0);
        let u = LabeledArray::new(a, "u")
            .with_dims(&["y", "x"])
            .expect("labels");
        let program = parse_program_with(src, &["t", "u"])?;
        let mut ev = Evaluator::new(src);
        ev.bind("t", Value::Labeled(Box::new(t)));
        ev.bind("u", Value::Labeled(Box::new(u)));
        ev.run(&program)
    }

    fn labels_of(src: &str) -> LabeledArray {
        match run(src) {
            Ok(Value::Labeled(l)) => *l,
            Ok(other) => panic!("{src}: not labeled: {}", other.describe()),
            Err(e) => panic!("{src}: {e}"),
        }
    }

    fn coord(l: &LabeledArray, dim: &str) -> Vec<f64> {
        l.coords()[dim].values.to_f64_vec()
    }

    #[test]
    fn reductions_drop_the_dimension_by_number_or_name() {
        for src in [
            "mean(t, 0)",
            "t.mean(axis=\"time\")",
            "mean(t, (\"time\",))",
        ] {
            let m = labels_of(src);
            assert_eq!(m.dims(), ["lat"], "{src}");
            assert_eq!(coord(&m, "lat"), vec![-10.0, 0.0, 10.0]);
            assert_eq!(m.attrs().get("units"), Some(&AttrValue::from("K")));
            assert_eq!(
                m.attrs().get("cell_methods"),
                Some(&AttrValue::from("time: mean"))
            );
            assert!(!m.attrs().contains_key("scale_factor"));
        }
        let k = labels_of("t.max(axis=-1, keepdims=true)");
        assert_eq!(k.dims(), ["time", "lat"]);
        assert!(!k.coords().contains_key("lat"));
        let err = run("mean(t, \"depth\")").expect_err("no such dimension");
        assert!(err.message.contains("time, lat"), "{}", err.message);
        let err = run("mean(ones((2, 2)), \"time\")").expect_err("no names");
        assert!(
            err.message.contains("no dimension names"),
            "{}",
            err.message
        );
        assert!(matches!(run("argmax(t, 0)"), Ok(Value::Labeled(_))));
    }

    #[test]
    fn indexing_transposing_and_selecting_carry_the_coordinates() {
        let s = labels_of("t[1:3, ::2]");
        assert_eq!(coord(&s, "time"), vec![6.0, 12.0]);
        assert_eq!(coord(&s, "lat"), vec![-10.0, 10.0]);
        assert_eq!(s.attrs().get("units"), Some(&AttrValue::from("K")));
        assert_eq!(labels_of("t[-1]").dims(), ["lat"]);
        assert_eq!(labels_of("t.T").dims(), ["lat", "time"]);
        assert_eq!(labels_of("transpose(t, (1, 0))").dims(), ["lat", "time"]);
        assert_eq!(coord(&labels_of("t[:, [2, 0]]"), "lat"), vec![10.0, -10.0]);
        let masked = labels_of("t[[true, false, false, true]]");
        assert_eq!(coord(&masked, "time"), vec![0.0, 18.0]);
        assert_eq!(labels_of("t[None]").dims(), ["new_axis_0", "time", "lat"]);
        assert_eq!(labels_of("squeeze(t[:1])").dims(), ["lat"]);
        assert!(matches!(run("t[t > 3]"), Ok(Value::Array(_))));
        assert!(matches!(run("reshape(t, (12,))"), Ok(Value::Array(_))));
    }

    #[test]
    fn elementwise_results_keep_labels_that_agree_and_drop_conflicts() {
        let a = labels_of("t - t.mean(axis=0, keepdims=true)");
        assert_eq!(a.dims(), ["time", "lat"]);
        assert_eq!(coord(&a, "time").len(), 4);
        assert!(a.attrs().is_empty());
        assert_eq!(labels_of("sqrt(t * 2 + ones(3))").dims(), ["time", "lat"]);
        assert_eq!(labels_of("where(t > 3, t, nan)").dims(), ["time", "lat"]);
        let cast = labels_of("t.astype(\"f32\")");
        assert_eq!(cast.attrs().get("units"), Some(&AttrValue::from("K")));
        assert!(!cast.attrs().contains_key("scale_factor"));
        assert_eq!(labels_of("rechunk(t, 2)").attrs().len(), 2);
        // Operands line up by dimension name, as in xarray: other dimensions give an outer
        // product, the same dimensions in another order are transposed.
        assert_eq!(labels_of("t + u").dims(), ["time", "lat", "y", "x"]);
        assert_eq!(labels_of("t + u").array().shape(), &[4, 3, 4, 3]);
        let tr = labels_of("t - t.T");
        assert_eq!(tr.dims(), ["time", "lat"]);
        assert_eq!(
            tr.array().compute_local().expect("zeros").to_f64_vec(),
            vec![0.0; 12]
        );
        assert_eq!(labels_of("t.mean(\"time\") - t.T").dims(), ["lat", "time"]);
        assert_eq!(labels_of("where(t.T > 3, t, 0)").dims(), ["lat", "time"]);
        // Coordinates that disagree are an error naming the dimension.
        let err = run("t + t[::-1]").expect_err("reversed time");
        assert!(
            err.message.contains("dimension time disagree"),
            "{}",
            err.message
        );
        let err = run("maximum(t, t[1:])").expect_err("shorter time");
        assert!(
            err.message.contains("dimension time has length 4"),
            "{}",
            err.message
        );
    }
}
