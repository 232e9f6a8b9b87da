//! The manipulation functions of the language (issue 12): `flip`, `roll`, `swapaxes`,
//! `moveaxis`, `repeat`, `tile`, `pad`, `triu`, `tril`, `ravel`, `take` (integer positions
//! given in the program), `zeros_like`, `ones_like`,
//! `full_like`, `vstack` and `hstack`, and the searches against values written in the program
//! (`digitize`, `searchsorted`, `isin`), each a call of the Rust API in
//! `crate::array::manipulation`. Results are plain arrays (labels are dropped).
//!
//! This module must not compute arrays.

use crate::array::{Array, PadMode, Scalar};
use crate::expr::{ErrorKind, ExprError};

use super::bind::BoundArgs;
use super::convert::Spanned;
use super::failure::array_error;
use super::value::Value;

/// Call the manipulation function bound in `args`.
pub fn call_manipulation(args: &BoundArgs) -> Result<Value, ExprError> {
    let fail = |e| array_error(e, args.span(), &args.operation());
    let built = match args.function() {
        "meshgrid" => return meshgrid(args),
        "searchsorted" => {
            let sorted = scalar_list(args, "a")?;
            let v = args.required("v")?.to_array(&args.what("v"))?;
            let right = second_choice(args, "side", ["left", "right"])?;
            v.searchsorted_into(&sorted, right)
        }
        "vstack" | "hstack" => {
            let arrays = array_list(args)?;
            if args.function() == "vstack" {
                Array::vstack(&arrays)
            } else {
                Array::hstack(&arrays)
            }
        }
        name => {
            let x = args.required("x")?.to_array(&args.what("x"))?;
            single(name, &x, args)?
        }
    };
    built.map(Value::Array).map_err(fail)
}

fn single(
    name: &str,
    x: &Array,
    args: &BoundArgs,
) -> Result<Result<Array, crate::array::ArrayError>, ExprError> {
    let axis_opt = |param: &str| -> Result<Option<isize>, ExprError> {
        match args.get(param) {
            None => Ok(None),
            Some(a) if matches!(a.value, Value::None) => Ok(None),
            Some(a) => a.to_axis(&args.what(param)).map(Some),
        }
    };
    let dtype = |param: &str| -> Result<Option<crate::array::DType>, ExprError> {
        match args.get(param) {
            None => Ok(None),
            Some(d) if matches!(d.value, Value::None) => Ok(None),
            Some(d) => d.to_dtype(&args.what(param)).map(Some),
        }
    };
    Ok(match name {
        "flip" => match args.get("axis") {
            None => x.flip(None),
            Some(a) => {
                let axes = a.to_axes(&args.what("axis"))?;
                x.flip(axes.as_deref())
            }
        },
        "roll" => {
            let shift = args.required("shift")?.to_i64(&args.what("shift"))?;
            x.roll(shift, axis_opt("axis")?)
        }
        "swapaxes" => {
            let a = args.required("axis1")?.to_axis(&args.what("axis1"))?;
            let b = args.required("axis2")?.to_axis(&args.what("axis2"))?;
            x.swapaxes(a, b)
        }
        "moveaxis" => {
            let axes = |p: &str| -> Result<Vec<isize>, ExprError> {
                Ok(args
                    .required(p)?
                    .to_axes(&args.what(p))?
                    .unwrap_or_default())
            };
            x.moveaxis(&axes("source")?, &axes("destination")?)
        }
        "repeat" => {
            let n = args.required("repeats")?.to_usize(&args.what("repeats"))?;
            x.repeat(n, axis_opt("axis")?)
        }
        "tile" => {
            let reps = args.required("reps")?.to_shape(&args.what("reps"))?;
            x.tile(&reps)
        }
        "pad" => {
            let widths = pad_widths(args, x.ndim())?;
            let mode = match args.get("mode") {
                None => "constant",
                Some(m) => m.to_str(&args.what("mode"))?,
            };
            let mode = match mode {
                "constant" => PadMode::Constant(match args.get("constant_values") {
                    None => Scalar::Int(0),
                    Some(v) => v.to_scalar(&args.what("constant_values"))?,
                }),
                "edge" => PadMode::Edge,
                "reflect" => PadMode::Reflect,
                "wrap" => PadMode::Wrap,
                other => {
                    let m = args.get("mode").expect("mode was given");
                    return Err(m.value_error(format!(
                        "{} must be \"constant\", \"edge\", \"reflect\" or \"wrap\", got {other:?}",
                        args.what("mode")
                    )));
                }
            };
            x.pad(&widths, mode)
        }
        "triu" | "tril" => {
            let k = match args.get("k") {
                None => 0,
                Some(k) => k.to_i64(&args.what("k"))?,
            };
            x.triangle(k, name == "triu")
        }
        "ravel" => x.ravel(),
        "digitize" => {
            let bins = scalar_list(args, "bins")?;
            let right = match args.get("right") {
                None => false,
                Some(r) => r.to_bool(&args.what("right"))?,
            };
            x.digitize(&bins, right)
        }
        "isin" => x.isin(&scalar_list(args, "test_elements")?),
        "take" => take(x, args)?,
        "zeros_like" => x.full_like(Scalar::Int(0), dtype("dtype")?),
        "ones_like" => x.full_like(Scalar::Int(1), dtype("dtype")?),
        "full_like" => {
            let v = args
                .required("fill_value")?
                .to_scalar(&args.what("fill_value"))?;
            x.full_like(v, dtype("dtype")?)
        }
        other => {
            return Err(ExprError::new(
                ErrorKind::UnknownFunction,
                args.span(),
                format!("{other}() is not a manipulation function"),
            ))
        }
    })
}

/// The arrays of a tuple or list argument `arrays`.
fn array_list(args: &BoundArgs) -> Result<Vec<Array>, ExprError> {
    let arg = args.required("arrays")?;
    let what = args.what("arrays");
    let Value::Tuple(items) = &arg.value else {
        return Err(arg.type_error(&what, "a tuple or list of arrays"));
    };
    items
        .iter()
        .map(|v| {
            Spanned {
                value: v.clone(),
                span: arg.span,
            }
            .to_array(&format!("each item of {what}"))
        })
        .collect()
}

/// `pad_width` as NumPy takes it: `w`, `(before, after)`, `((before, after),)` or one pair
/// (or one width) per axis.
fn pad_widths(args: &BoundArgs, ndim: usize) -> Result<Vec<(usize, usize)>, ExprError> {
    let arg = args.required("pad_width")?;
    let what = args.what("pad_width");
    let bad = || {
        arg.value_error(format!(
            "{what} must be a width, a (before, after) pair or one of them per axis ({ndim}), got {}",
            arg.value.describe()
        ))
    };
    let part = |v: &Value| Spanned {
        value: v.clone(),
        span: arg.span,
    };
    // One entry: a width or a pair.
    let pair = |v: &Value| -> Result<(usize, usize), ExprError> {
        match v {
            Value::Tuple(p) if p.len() == 2 => {
                Ok((part(&p[0]).to_usize(&what)?, part(&p[1]).to_usize(&what)?))
            }
            Value::Tuple(p) if p.len() == 1 => {
                let w = part(&p[0]).to_usize(&what)?;
                Ok((w, w))
            }
            Value::Scalar(_) => {
                let w = part(v).to_usize(&what)?;
                Ok((w, w))
            }
            _ => Err(bad()),
        }
    };
    let entries: Vec<(usize, usize)> = match &arg.value {
        Value::Tuple(items) if items.iter().any(|v| matches!(v, Value::Tuple(_))) => {
            items.iter().map(pair).collect::<Result<_, _>>()?
        }
        other => vec![pair(other)?],
    };
    match entries.len() {
        1 => Ok(vec![entries[0]; ndim]),
        n if n == ndim => Ok(entries),
        _ => Err(bad()),
    }
}

/// `take(x, indices, axis=None)`: one position drops the axis, a list of positions keeps it
/// (NumPy's `take`); the positions must be written in the program (a lazy array of positions
/// would have to be computed first).
fn take(x: &Array, args: &BoundArgs) -> Result<Result<Array, crate::array::ArrayError>, ExprError> {
    let arg = args.required("indices")?;
    let what = args.what("indices");
    let (x, axis) = match args.get("axis") {
        None => (x.ravel(), 0),
        Some(a) if matches!(a.value, Value::None) => (x.ravel(), 0),
        Some(a) => (Ok(x.clone()), a.to_axis(&args.what("axis"))?),
    };
    let x = match x {
        Ok(x) => x,
        Err(e) => return Ok(Err(e)),
    };
    Ok(match &arg.value {
        Value::Scalar(_) => {
            let i = arg.to_i64(&what)?;
            match crate::array::reduce_axes(&[axis], x.ndim()) {
                Ok(a) => {
                    let items: Vec<crate::array::IndexItem> = (0..x.ndim())
                        .map(|d| {
                            if d == a[0] {
                                crate::array::IndexItem::Int(i)
                            } else {
                                crate::array::IndexItem::full()
                            }
                        })
                        .collect();
                    x.index(&items)
                }
                Err(e) => Err(e),
            }
        }
        Value::Tuple(items) => {
            let idx = items
                .iter()
                .map(|v| {
                    Spanned {
                        value: v.clone(),
                        span: arg.span,
                    }
                    .to_i64(&format!("each position of {what}"))
                })
                .collect::<Result<Vec<i64>, _>>()?;
            x.take(&idx, axis)
        }
        _ => {
            return Err(arg.type_error(
                &what,
                "a position or a list of positions written in the program",
            ))
        }
    })
}

/// A list of numbers written in the program (one number is a list of one).
fn scalar_list(args: &BoundArgs, name: &str) -> Result<Vec<Scalar>, ExprError> {
    let arg = args.required(name)?;
    let what = args.what(name);
    match &arg.value {
        Value::Scalar(s) => Ok(vec![*s]),
        Value::Tuple(items) => items
            .iter()
            .map(|v| {
                Spanned {
                    value: v.clone(),
                    span: arg.span,
                }
                .to_scalar(&format!("each value of {what}"))
            })
            .collect(),
        _ => Err(arg.type_error(&what, "a list of numbers written in the program")),
    }
}

/// `meshgrid(x, y=None, z=None, *, indexing="xy")`: a tuple of coordinate arrays.
fn meshgrid(args: &BoundArgs) -> Result<Value, ExprError> {
    let fail = |e| array_error(e, args.span(), &args.operation());
    let mut arrays = Vec::new();
    for name in ["x", "y", "z"] {
        if let Some(a) = args.get(name) {
            arrays.push(a.to_array(&args.what(name))?);
        }
    }
    let ij = second_choice(args, "indexing", ["xy", "ij"])?;
    let grids = Array::meshgrid(&arrays, ij).map_err(fail)?;
    Ok(Value::Tuple(grids.into_iter().map(Value::Array).collect()))
}

/// Whether the string argument `name` is the second of its two `choices` (absent: the first).
fn second_choice(args: &BoundArgs, name: &str, choices: [&str; 2]) -> Result<bool, ExprError> {
    let Some(arg) = args.get(name) else {
        return Ok(false);
    };
    match arg.to_str(&args.what(name))? {
        c if c == choices[0] => Ok(false),
        c if c == choices[1] => Ok(true),
        other => Err(arg.value_error(format!(
            "{} must be {:?} or {:?}, got {other:?}",
            args.what(name),
            choices[0],
            choices[1]
        ))),
    }
}
