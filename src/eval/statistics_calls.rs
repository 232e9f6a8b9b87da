//! The statistics of the language added by issue 12: `average(x, axis, weights)` (the
//! mean when no weights are given), `cov(m, rowvar, ddof)` and `corrcoef(x, rowvar)`. Results are plain arrays. This module must not compute
//! arrays.

use crate::array::{Array, ArrayError, ReduceKind, ReduceOptions};
use crate::expr::ExprError;

use super::bind::BoundArgs;
use super::failure::array_error;
use super::value::Value;

/// Call `average` bound in `args`.
pub fn call_average(args: &BoundArgs) -> Result<Value, ExprError> {
    let fail = |e| array_error(e, args.span(), &args.operation());
    let x = args.required("x")?.to_array(&args.what("x"))?;
    let axis = match args.get("axis") {
        None => None,
        Some(a) if matches!(a.value, Value::None) => None,
        Some(a) => Some(a.to_axis(&args.what("axis"))?),
    };
    let weights = match args.get("weights") {
        None => None,
        Some(w) if matches!(w.value, Value::None) => None,
        Some(w) => Some(w.to_array(&args.what("weights"))?),
    };
    let built: Result<Array, _> = match weights {
        Some(w) => x.average(&w, axis),
        None => {
            let opts = match axis {
                None => ReduceOptions::all(),
                Some(a) => ReduceOptions::axes([a]),
            };
            // NumPy divides the sizes of data and result here: an empty result raises.
            x.reduce(ReduceKind::Mean, &opts).and_then(|m| {
                if m.size() == 0 {
                    Err(ArrayError::Shape {
                        op: "average",
                        reason: format!("the result of shape {:?} is empty", m.shape()),
                    })
                } else {
                    Ok(m)
                }
            })
        }
    };
    built.map(Value::Array).map_err(fail)
}

/// Call `cov` or `corrcoef` bound in `args`.
pub fn call_covariance(args: &BoundArgs) -> Result<Value, ExprError> {
    let fail = |e| array_error(e, args.span(), &args.operation());
    let x = args.required("x")?.to_array(&args.what("x"))?;
    let rowvar = match args.get("rowvar") {
        None => true,
        Some(r) => r.to_bool(&args.what("rowvar"))?,
    };
    let built = if args.function() == "cov" {
        let ddof = match args.get("ddof") {
            None => 1,
            Some(d) if matches!(d.value, Value::None) => 1,
            Some(d) => d.to_i64(&args.what("ddof"))?,
        };
        x.cov(rowvar, ddof)
    } else {
        x.corrcoef(rowvar)
    };
    built.map(Value::Array).map_err(fail)
}
