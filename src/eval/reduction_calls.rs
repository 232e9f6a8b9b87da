//! The reductions of the language (`sum`, `mean`, `std`, `argmax`, `nansum`, ...) with
//! `axis` (an axis, a tuple of axes, or None for all), `keepdims`, `split_every` and, for
//! `var`/`std`, `ddof`.
//!
//! This module must not compute arrays, except folding the reduction of a number.

use crate::array::{ReduceKind, ReduceOptions};
use crate::expr::{ErrorKind, ExprError};

use super::bind::BoundArgs;
use super::failure::array_error;
use super::operators::fold_scalar;
use super::value::Value;

/// Call the reduction bound in `args`.
pub fn call_reduction(args: &BoundArgs) -> Result<Value, ExprError> {
    let input = args.required("x")?;
    let x = input.to_array(&args.what("x"))?;
    let ddof = match args.get("ddof") {
        Some(d) => d.to_f64(&args.what("ddof"))?,
        None => 0.0,
    };
    let kind = reduce_kind(args, ddof)?;
    let mut opts = match args.get("axis") {
        Some(axis) => match axis.to_axes(&args.what("axis"))? {
            Some(axes) => ReduceOptions::axes(axes),
            None => ReduceOptions::all(),
        },
        None => ReduceOptions::all(),
    };
    if let Some(keep) = args.get("keepdims") {
        opts = opts.keepdims(keep.to_bool(&args.what("keepdims"))?);
    }
    if let Some(split) = args.get("split_every") {
        let n = split.to_usize(&args.what("split_every"))?;
        if n < 2 {
            return Err(split.value_error(format!(
                "{} must be at least 2, got {n}",
                args.what("split_every")
            )));
        }
        opts = opts.split_every(n);
    }
    let reduced = x
        .reduce(kind, &opts)
        .map_err(|e| array_error(e, args.span(), &args.operation()))?;
    if matches!(input.value, Value::Scalar(_)) && reduced.ndim() == 0 {
        fold_scalar(&reduced, args.span(), &args.operation())
    } else {
        Ok(Value::Array(reduced))
    }
}

fn reduce_kind(args: &BoundArgs, ddof: f64) -> Result<ReduceKind, ExprError> {
    Ok(match args.function() {
        "sum" => ReduceKind::Sum,
        "prod" => ReduceKind::Prod,
        "min" => ReduceKind::Min,
        "max" => ReduceKind::Max,
        "mean" => ReduceKind::Mean,
        "var" => ReduceKind::Var { ddof },
        "std" => ReduceKind::Std { ddof },
        "any" => ReduceKind::Any,
        "all" => ReduceKind::All,
        "argmin" => ReduceKind::ArgMin,
        "argmax" => ReduceKind::ArgMax,
        "nansum" => ReduceKind::NanSum,
        "nanmean" => ReduceKind::NanMean,
        "nanmin" => ReduceKind::NanMin,
        "nanmax" => ReduceKind::NanMax,
        "count_nonzero" => ReduceKind::CountNonzero,
        other => {
            return Err(ExprError::new(
                ErrorKind::UnknownFunction,
                args.span(),
                format!("{other}() is not a reduction"),
            ))
        }
    })
}
