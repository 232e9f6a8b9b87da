//! The shape functions of the language: `transpose`, `reshape` (one length may be -1),
//! `squeeze`, `expand_dims`, `concatenate`, `stack`, `broadcast_to`, `rechunk`, the scans
//! `cumsum`/`cumprod` (over the flattened array when no axis is given), `diff`, `matmul`,
//! `tensordot` and `map_overlap` with a kernel registered in the binary.
//!
//! Labels (`super::labels`): `transpose` permutes the dimensions, `squeeze` drops and
//! `expand_dims` adds one, `rechunk` keeps everything, the same-shape `cumsum`/`cumprod`
//! along an axis and `map_overlap` keep dimensions and coordinates; the others give plain
//! arrays.
//!
//! This module must not compute arrays.

use bytes::Bytes;

use crate::array::{Array, ArrayError};
use crate::expr::{ErrorKind, ExprError};
use crate::runtime::kernel::lookup_kernel;

use super::bind::BoundArgs;
use super::failure::array_error;
use super::labels::{self, KeepAttrs};
use super::value::Value;

/// Call the shape function bound in `args`.
pub fn call_shape(args: &BoundArgs) -> Result<Value, ExprError> {
    let fail = |e| array_error(e, args.span(), &args.operation());
    match args.function() {
        "concatenate" | "stack" => join(args)?.map(Value::Array).map_err(fail),
        "matmul" | "tensordot" => product(args)?.map(Value::Array).map_err(fail),
        "expand_dims" => expand_dims(args),
        "flip" | "roll" | "swapaxes" | "moveaxis" | "repeat" | "tile" | "pad" | "triu" | "tril"
        | "ravel" | "take" | "vstack" | "hstack" | "digitize" | "searchsorted" | "isin"
        | "meshgrid" => super::manipulation_calls::call_manipulation(args),
        name => {
            let input = args.required("x")?;
            let x = input.to_array(&args.what("x"))?;
            let (built, relabel) = single(name, &x, args)?;
            let result = built.map_err(fail)?;
            Ok(match relabel {
                Relabel::Permute(perm) => labels::permute(result, &input.value, &perm),
                Relabel::Squeeze(axes) => labels::squeeze(result, &input.value, &axes),
                Relabel::Elementwise(attrs) => labels::elementwise(result, &[&input.value], attrs),
                Relabel::Drop => Value::Array(result),
            })
        }
    }
}

type Built = Result<Array, ArrayError>;

/// `expand_dims(x, axis)` with one axis or a tuple of them (positions in the result): the
/// axes are inserted one at a time in increasing order, so labels follow each step.
fn expand_dims(args: &BoundArgs) -> Result<Value, ExprError> {
    let fail = |e| array_error(e, args.span(), &args.operation());
    let input = args.required("x")?;
    let x = input.to_array(&args.what("x"))?;
    let axes = match args.get("axis") {
        None => vec![0],
        Some(a) => a.to_axes(&args.what("axis"))?.unwrap_or_default(),
    };
    let nd = x.ndim() + axes.len();
    let mut positions = crate::array::reduce_axes(&axes, nd).map_err(fail)?;
    positions.sort_unstable();
    let mut value = input.value.clone();
    for at in positions {
        let current = value.array().cloned().unwrap_or_else(|| x.clone());
        let result = current.expand_dims(at as isize).map_err(fail)?;
        value = labels::expand_dims(result, &value, at);
    }
    Ok(value)
}

/// How the labels of `x` carry over to the result of a one-array shape function.
enum Relabel {
    /// Result axis `i` is input axis `perm[i]`.
    Permute(Vec<usize>),
    /// These input axes (of length one) are gone.
    Squeeze(Vec<usize>),
    /// Same shape (or plain when it is not), attributes as given.
    Elementwise(KeepAttrs),
    /// No labels.
    Drop,
}

fn axis_or(args: &BoundArgs, name: &str, default: isize) -> Result<isize, ExprError> {
    match args.get(name) {
        Some(a) => a.to_axis(&args.what(name)),
        None => Ok(default),
    }
}

fn single(name: &str, x: &Array, args: &BoundArgs) -> Result<(Built, Relabel), ExprError> {
    let relabel = match name {
        "rechunk" => Relabel::Elementwise(KeepAttrs::All),
        "map_overlap" => Relabel::Elementwise(KeepAttrs::None),
        "cumsum" | "cumprod" | "nancumsum" | "nancumprod" if args.get("axis").is_some() => {
            Relabel::Elementwise(KeepAttrs::None)
        }
        "squeeze" => {
            let nd = x.ndim() as isize;
            let axes: Vec<usize> = match args.get("axis") {
                None => (0..x.ndim()).filter(|&a| x.shape()[a] == 1).collect(),
                Some(axis) => axis
                    .to_axes(&args.what("axis"))?
                    .unwrap_or_default()
                    .iter()
                    .map(|&a| if a < 0 { a + nd } else { a })
                    .filter_map(|a| usize::try_from(a).ok())
                    .collect(),
            };
            Relabel::Squeeze(axes)
        }
        _ => Relabel::Drop,
    };
    if name == "transpose" {
        let perm: Vec<usize> = match args.get("axes") {
            None => (0..x.ndim()).rev().collect(),
            Some(axes) => {
                let what = args.what("axes");
                let axes = axes.to_axes(&what)?.unwrap_or_default();
                let nd = x.ndim() as isize;
                axes.iter()
                    .map(|&a| if a < 0 { a + nd } else { a })
                    .map(|a| usize::try_from(a).unwrap_or(usize::MAX))
                    .collect()
            }
        };
        return Ok((x.permute(&perm), Relabel::Permute(perm)));
    }
    let built = match name {
        "reshape" => {
            let shape = args.required("shape")?;
            let lengths = shape.to_shape_with_unknown(&args.what("shape"))?;
            let known: usize = lengths
                .iter()
                .filter(|&&n| n >= 0)
                .map(|&n| n as usize)
                .product();
            let resolved: Vec<usize> = lengths
                .iter()
                .map(|&n| {
                    if n >= 0 {
                        n as usize
                    } else {
                        x.size().checked_div(known).unwrap_or(0)
                    }
                })
                .collect();
            x.reshape(&resolved)
        }
        "squeeze" => match args.get("axis") {
            None => x.squeeze(&[]),
            Some(axis) => {
                let axes = axis.to_axes(&args.what("axis"))?.unwrap_or_default();
                if axes.is_empty() {
                    Ok(x.clone())
                } else {
                    x.squeeze(&axes)
                }
            }
        },
        "broadcast_to" => {
            let shape = args.required("shape")?.to_shape(&args.what("shape"))?;
            x.broadcast_to(&shape)
        }
        "sort" | "argsort" => {
            if args.is_explicit_none("axis") {
                return Ok((x.ravel().and_then(|r| r.sorted_by(name, 0)), Relabel::Drop));
            }
            let axis = match args.get("axis") {
                Some(a) => a.to_axis(&args.what("axis"))?,
                None => -1,
            };
            x.sorted_by(name, axis)
        }
        "rechunk" => {
            let chunks = args
                .required("chunks")?
                .to_chunks(&args.what("chunks"), x.ndim())?;
            x.rechunk(chunks)
        }
        "cumsum" | "cumprod" | "nancumsum" | "nancumprod" => {
            let prod = name.ends_with("cumprod");
            // nancumsum/nancumprod: NaN counts as the identity (0 or 1).
            let x = if name.starts_with("nan") && x.dtype().is_float() {
                match x
                    .isnan()
                    .and_then(|nan| Array::where_(&nan, i64::from(prod), x))
                {
                    Ok(a) => a,
                    Err(e) => return Ok((Err(e), Relabel::Drop)),
                }
            } else {
                x.clone()
            };
            let x = match args.get("dtype") {
                Some(d) => x.astype(d.to_dtype(&args.what("dtype"))?),
                None => x,
            };
            let scan = |a: &Array, axis: isize| {
                if prod {
                    a.cumprod(axis)
                } else {
                    a.cumsum(axis)
                }
            };
            match args.get("axis") {
                Some(axis) => scan(&x, axis.to_axis(&args.what("axis"))?),
                None => x.ravel().and_then(|flat| scan(&flat, 0)),
            }
        }
        "diff" => {
            let n = match args.get("n") {
                Some(n) => n.to_usize(&args.what("n"))?,
                None => 1,
            };
            let axis = axis_or(args, "axis", -1)?;
            (0..n).try_fold(x.clone(), |acc, _| acc.diff(axis))
        }
        "map_overlap" => map_overlap(x, args)?,
        other => {
            return Err(ExprError::new(
                ErrorKind::UnknownFunction,
                args.span(),
                format!("{other}() is not a shape function"),
            ))
        }
    };
    Ok((built, relabel))
}

fn join(args: &BoundArgs) -> Result<Built, ExprError> {
    let arrays_arg = args.required("arrays")?;
    let what = args.what("arrays");
    let Value::Tuple(items) = &arrays_arg.value else {
        return Err(arrays_arg.type_error(&what, "a tuple or list of arrays"));
    };
    let arrays = items
        .iter()
        .map(|v| {
            super::convert::Spanned {
                value: v.clone(),
                span: arrays_arg.span,
            }
            .to_array(&format!("each item of {what}"))
        })
        .collect::<Result<Vec<Array>, ExprError>>()?;
    let axis = axis_or(args, "axis", 0)?;
    Ok(if args.function() == "stack" {
        Array::stack(&arrays, axis)
    } else {
        Array::concatenate(&arrays, axis)
    })
}

fn product(args: &BoundArgs) -> Result<Built, ExprError> {
    let x = args.required("x")?.to_array(&args.what("x"))?;
    let y = args.required("y")?.to_array(&args.what("y"))?;
    if args.function() == "matmul" {
        return Ok(x.matmul(&y));
    }
    let Some(a) = args.get("axes") else {
        return Ok(x.tensordot_n(&y, 2));
    };
    let what = args.what("axes");
    let bad = || {
        a.value_error(format!(
            "{what} must be a number of axes or a pair of axis lists ((a1, a2), (b1, b2)), got {}",
            a.value.describe()
        ))
    };
    match &a.value {
        Value::Scalar(_) => Ok(x.tensordot_n(&y, a.to_usize(&what)?)),
        Value::Tuple(pair) if pair.len() == 2 => {
            let side = |v: &Value| -> Result<Vec<isize>, ExprError> {
                super::convert::Spanned {
                    value: v.clone(),
                    span: a.span,
                }
                .to_axes(&what)?
                .ok_or_else(bad)
            };
            let (xa, ya) = (side(&pair[0])?, side(&pair[1])?);
            Ok(x.tensordot_axes(&y, &xa, &ya))
        }
        _ => Err(bad()),
    }
}

fn map_overlap(x: &Array, args: &BoundArgs) -> Result<Built, ExprError> {
    let function = args.required("function")?;
    let kernel = function.to_str(&args.what("function"))?;
    if lookup_kernel(kernel).is_none() {
        return Err(function
            .value_error(format!("no kernel called {kernel:?} is registered"))
            .with_help("map_overlap applies a kernel registered by name in the binary"));
    }
    let depth_arg = args.required("depth")?;
    let depth = depth_arg.to_shape(&args.what("depth"))?;
    let depth = if depth.len() == 1 && x.ndim() != 1 {
        vec![depth[0]; x.ndim()]
    } else {
        depth
    };
    let boundary = match args.get("boundary") {
        Some(b) => b.to_boundary(&args.what("boundary"))?,
        None => crate::array::Boundary::Reflect,
    };
    let trim = match args.get("trim") {
        Some(t) => t.to_bool(&args.what("trim"))?,
        None => true,
    };
    Ok(if trim {
        x.map_overlap(kernel, Bytes::new(), &depth, boundary, x.dtype())
    } else {
        x.overlap(&depth, boundary)
            .and_then(|o| Array::map_blocks(kernel, Bytes::new(), &[&o], x.dtype()))
    })
}
