//! Writing computed results for people and programs: a text block (shape, dtype, values in
//! nested brackets) and a JSON document `{"shape": [...], "dtype": "f64", "data": [...]}` in
//! which NaN and infinities are the strings `"nan"`, `"inf"` and `"-inf"`.
//!
//! This module formats; it must not compute or do I/O.

use ndarray::{ArrayViewD, Axis};
use serde_json::{json, Value as Json};

use crate::array::{ArrayData, Scalar};

use super::convert::short_dtype_name;
use super::value::shape_text;

/// The JSON document for `data`.
///
/// ```
/// use tessera::array::ArrayData;
/// let d = ArrayData::from(ndarray::arr1(&[1.5f64, f64::NAN, f64::NEG_INFINITY]).into_dyn());
/// let j = tessera::eval::render_json(&d);
/// assert_eq!(j.to_string(), r#"{"data":[1.5,"nan","-inf"],"dtype":"f64","shape":[3]}"#);
/// ```
pub fn render_json(data: &ArrayData) -> Json {
    let values = match data {
        ArrayData::Bool(a) => nested(a.view(), &|&b| Json::Bool(b)),
        ArrayData::U8(a) => nested(a.view(), &|&x| json!(x)),
        ArrayData::I32(a) => nested(a.view(), &|&x| json!(x)),
        ArrayData::I64(a) => nested(a.view(), &|&x| json!(x)),
        ArrayData::F32(a) => nested(a.view(), &|&x| float_json(f64::from(x))),
        ArrayData::F64(a) => nested(a.view(), &|&x| float_json(x)),
    };
    json!({
        "shape": data.shape(),
        "dtype": short_dtype_name(data.dtype()),
        "data": values,
    })
}

/// The text form: `shape (2, 3), dtype float64` and the values.
///
/// ```
/// use tessera::array::ArrayData;
/// let d = ArrayData::from(ndarray::arr2(&[[1i64, 2], [3, 4]]).into_dyn());
/// assert_eq!(tessera::eval::render_human(&d), "shape (2, 2), dtype int64\n[[1, 2],\n [3, 4]]\n");
/// ```
pub fn render_human(data: &ArrayData) -> String {
    let body = match data {
        ArrayData::Bool(a) => text(a.view(), &|b: &bool| b.to_string(), 0),
        ArrayData::U8(a) => text(a.view(), &|x: &u8| x.to_string(), 0),
        ArrayData::I32(a) => text(a.view(), &|x: &i32| x.to_string(), 0),
        ArrayData::I64(a) => text(a.view(), &|x: &i64| x.to_string(), 0),
        ArrayData::F32(a) => text(a.view(), &|x: &f32| float_text(f64::from(*x)), 0),
        ArrayData::F64(a) => text(a.view(), &|x: &f64| float_text(*x), 0),
    };
    format!(
        "shape {}, dtype {}\n{body}\n",
        shape_text(data.shape()),
        data.dtype()
    )
}

/// A lone scalar as 0-d data (bool, int64 or float64).
pub fn scalar_data(s: Scalar) -> ArrayData {
    let shape = ndarray::IxDyn(&[]);
    match s {
        Scalar::Bool(b) => ArrayData::Bool(ndarray::ArrayD::from_elem(shape, b)),
        Scalar::Int(i) => ArrayData::I64(ndarray::ArrayD::from_elem(shape, i)),
        Scalar::Float(x) => ArrayData::F64(ndarray::ArrayD::from_elem(shape, x)),
    }
}

fn float_json(x: f64) -> Json {
    if x.is_nan() {
        Json::String("nan".into())
    } else if x.is_infinite() {
        Json::String(if x > 0.0 { "inf" } else { "-inf" }.into())
    } else {
        json!(x)
    }
}

fn float_text(x: f64) -> String {
    if x.is_nan() {
        "nan".into()
    } else if x.is_infinite() {
        if x > 0.0 { "inf" } else { "-inf" }.into()
    } else {
        format!("{x:?}")
    }
}

fn nested<T>(view: ArrayViewD<'_, T>, element: &dyn Fn(&T) -> Json) -> Json {
    if view.ndim() == 0 {
        return view.iter().next().map_or(Json::Null, element);
    }
    Json::Array(
        view.axis_iter(Axis(0))
            .map(|sub| nested(sub, element))
            .collect(),
    )
}

fn text<T>(view: ArrayViewD<'_, T>, element: &dyn Fn(&T) -> String, depth: usize) -> String {
    if view.ndim() == 0 {
        return view.iter().next().map_or_else(String::new, element);
    }
    let parts: Vec<String> = view
        .axis_iter(Axis(0))
        .map(|sub| text(sub, element, depth + 1))
        .collect();
    let separator = if view.ndim() == 1 {
        ", ".to_string()
    } else {
        format!(",\n{}", " ".repeat(depth + 1))
    };
    format!("[{}]", parts.join(&separator))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_d_and_nested_results() {
        let s = scalar_data(Scalar::Float(f64::INFINITY));
        assert_eq!(
            render_json(&s).to_string(),
            r#"{"data":"inf","dtype":"f64","shape":[]}"#
        );
        assert_eq!(render_human(&s), "shape (), dtype float64\ninf\n");
        let b = ArrayData::from(ndarray::arr3(&[[[true], [false]]]).into_dyn());
        assert_eq!(render_json(&b)["data"].to_string(), "[[[true],[false]]]");
        assert_eq!(
            render_human(&b),
            "shape (1, 2, 1), dtype bool\n[[[true],\n  [false]]]\n"
        );
    }
}
