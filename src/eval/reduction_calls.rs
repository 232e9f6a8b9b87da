//! The reductions of the language (`sum`, `mean`, `std`, `argmax`, `nansum`, ...) with
//! `axis` (an axis, a tuple of axes, or None for all; for arrays read from files also a
//! dimension name or a tuple of names, `mean(x, "time")`), `keepdims`, `split_every` and,
//! for `var`/`std`, `ddof`. The reduced dimensions leave the labels (`super::labels`).
//!
//! This module must not compute arrays, except folding the reduction of a number.

use crate::array::{Array, BinaryOp, Operand, ReduceKind, ReduceOptions};
use crate::expr::{ErrorKind, ExprError};

use super::bind::BoundArgs;
use super::convert::Spanned;
use super::failure::array_error;
use super::labels;
use super::operators::fold_scalar;
use super::value::Value;

/// Call the reduction bound in `args`.
pub fn call_reduction(args: &BoundArgs) -> Result<Value, ExprError> {
    if args.function() == "average" {
        return super::statistics_calls::call_average(args);
    }
    if matches!(args.function(), "cov" | "corrcoef") {
        return super::statistics_calls::call_covariance(args);
    }
    if let Some((skip_nan, percent)) = quantile_function(args.function()) {
        return call_quantile(args, skip_nan, percent);
    }
    let input = args.required("x")?;
    if let Value::Groups(groups) = &input.value {
        return super::label_calls::grouped_reduction(args, groups);
    }
    if let Value::Rolling(windows) = &input.value {
        return super::label_calls::rolling_reduction(args, windows);
    }
    if let Value::Coarsen(blocks) = &input.value {
        return super::label_calls::coarsen_reduction(args, blocks);
    }
    if let Value::Weighted(weighted) = &input.value {
        return super::label_calls::weighted_reduction(args, weighted);
    }
    let mut x = input.to_array(&args.what("x"))?;
    if args.function() == "count" {
        // The values that are not missing: `x == x` is false only for NaN.
        x = Array::binary_op(BinaryOp::Eq, Operand::from(x.clone()), Operand::from(x))
            .map_err(|e| array_error(e, args.span(), &args.operation()))?;
    }
    let ddof = match args.get("ddof") {
        Some(d) => d.to_f64(&args.what("ddof"))?,
        None => 0.0,
    };
    let skipna = match args.get("skipna") {
        Some(v) => Some(v.to_bool(&args.what("skipna"))?),
        None => None,
    };
    let kind = missing_values(
        reduce_kind(args, ddof)?,
        x.dtype().is_float(),
        input.value.labels().is_some(),
        skipna,
    );
    let axes = match args.get("axis") {
        Some(axis) => axes_of(axis, &input.value, &args.what("axis"))?,
        None => None,
    };
    let mut opts = match &axes {
        Some(axes) => ReduceOptions::axes(axes.iter().copied()),
        None => ReduceOptions::all(),
    };
    let keepdims = match args.get("keepdims") {
        Some(keep) => keep.to_bool(&args.what("keepdims"))?,
        None => false,
    };
    opts = opts.keepdims(keepdims);
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
    let reduced = match args.function() {
        "nanprod" => x.nanprod(opts),
        "ptp" => x.ptp(opts),
        _ => x.reduce(kind, &opts),
    }
    .map_err(|e| array_error(e, args.span(), &args.operation()))?;
    if matches!(input.value, Value::Scalar(_)) && reduced.ndim() == 0 {
        fold_scalar(&reduced, args.span(), &args.operation())
    } else {
        Ok(labels::reduction(
            reduced,
            &input.value,
            kind,
            axes.as_deref(),
            keepdims,
        ))
    }
}

/// `(skip NaN, q in percent)` of the quantile functions.
fn quantile_function(name: &str) -> Option<(bool, bool)> {
    Some(match name {
        "median" | "quantile" => (false, false),
        "nanmedian" | "nanquantile" => (true, false),
        "percentile" => (false, true),
        "nanpercentile" => (true, true),
        _ => return None,
    })
}

/// `median`, `quantile`, `percentile` and their NaN-skipping forms (one axis or all).
fn call_quantile(args: &BoundArgs, skip_nan: bool, percent: bool) -> Result<Value, ExprError> {
    let input = args.required("x")?;
    let x = input.to_array(&args.what("x"))?;
    let (q, several) = match args.get("q") {
        None => (vec![0.5], false),
        Some(q) => match &q.value {
            Value::Scalar(s) => (vec![s.as_f64()], false),
            Value::Tuple(items) => (
                items
                    .iter()
                    .map(|v| match v {
                        Value::Scalar(s) => Ok(s.as_f64()),
                        other => Err(q.type_error(
                            &args.what("q"),
                            &format!("numbers (got {})", other.describe()),
                        )),
                    })
                    .collect::<Result<Vec<f64>, ExprError>>()?,
                true,
            ),
            Value::Array(a) if a.ndim() <= 1 && a.size() <= 10_000 => {
                let data = a
                    .compute_local()
                    .map_err(|e| array_error(e, q.span, &args.what("q")))?;
                (data.to_f64_vec(), a.ndim() == 1)
            }
            _ => {
                return Err(q.type_error(&args.what("q"), "a number or a list of numbers"));
            }
        },
    };
    let q: Vec<f64> = if percent {
        q.iter().map(|p| p / 100.0).collect()
    } else {
        q
    };
    let axis = match args.get("axis") {
        None => None,
        Some(a) => match axes_of(a, &input.value, &args.what("axis"))? {
            None => None,
            Some(axes) if axes.len() == 1 => Some(axes[0]),
            Some(_) => {
                return Err(a.value_error(format!("{} must be one axis or None", args.what("axis"))))
            }
        },
    };
    let fail = |e| array_error(e, args.span(), &args.operation());
    // A list of quantiles is a float64 array in NumPy, so the result is float64.
    let x = if several && x.dtype() == crate::array::DType::F32 {
        x.astype(crate::array::DType::F64)
    } else {
        x
    };
    let median = matches!(args.function(), "median" | "nanmedian");
    let mut result = if median {
        x.median(axis, skip_nan)
    } else {
        x.quantile(&q, axis, skip_nan)
    }
    .map_err(fail)?;
    if several && q.len() == 1 {
        // One quantile asked as a list keeps its axis, as in NumPy.
        result = result.expand_dims(0).map_err(fail)?;
    }
    if matches!(input.value, Value::Scalar(_)) && result.ndim() == 0 {
        fold_scalar(&result, args.span(), &args.operation())
    } else {
        Ok(Value::Array(result))
    }
}

/// The axes `axis` names: numbers, or dimension names of a labeled `x` (`"time"`,
/// `("lat", "lon")`); `None` for all axes.
fn axes_of(axis: &Spanned, x: &Value, what: &str) -> Result<Option<Vec<isize>>, ExprError> {
    let by_name = |name: &str| -> Result<isize, ExprError> {
        labels::axis_of_dim(x, name)
            .map(|a| a as isize)
            .map_err(|msg| axis.value_error(msg))
    };
    match &axis.value {
        Value::Str(name) => Ok(Some(vec![by_name(name)?])),
        Value::Tuple(items)
            if !items.is_empty() && items.iter().all(|v| matches!(v, Value::Str(_))) =>
        {
            items
                .iter()
                .map(|v| match v {
                    Value::Str(name) => by_name(name),
                    _ => Err(axis.type_error(what, "dimension names")),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some)
        }
        _ => axis.to_axes(what),
    }
}

/// The rule for missing values (docs/labeled.md, "Missing values"): on float data read from
/// a file (labeled), `sum`, `mean`, `min`, `max`, `std` and `var` skip NaN unless
/// `skipna=false`, as xarray does; on plain arrays they keep NumPy's semantics (NaN
/// propagates) unless `skipna=true`. Other reductions and integer data are unaffected.
fn missing_values(
    kind: ReduceKind,
    float: bool,
    labeled: bool,
    skipna: Option<bool>,
) -> ReduceKind {
    if !float || !skipna.unwrap_or(labeled) {
        return kind;
    }
    match kind {
        ReduceKind::Sum => ReduceKind::NanSum,
        ReduceKind::Mean => ReduceKind::NanMean,
        ReduceKind::Min => ReduceKind::NanMin,
        ReduceKind::Max => ReduceKind::NanMax,
        ReduceKind::Std { ddof } => ReduceKind::NanStd { ddof },
        ReduceKind::Var { ddof } => ReduceKind::NanVar { ddof },
        other => other,
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
        "nanvar" => ReduceKind::NanVar { ddof },
        "nanstd" => ReduceKind::NanStd { ddof },
        "count_nonzero" | "count" => ReduceKind::CountNonzero,
        // Composites: their labels follow the reduction they are built on.
        "nanprod" => ReduceKind::Prod,
        "ptp" => ReduceKind::Max,
        other => {
            return Err(ExprError::new(
                ErrorKind::UnknownFunction,
                args.span(),
                format!("{other}() is not a reduction"),
            ))
        }
    })
}
