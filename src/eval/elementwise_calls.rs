//! The elementwise functions of the language: math functions, `round`, `clip`,
//! `minimum`/`maximum`, `isnan`/`isfinite`, `nan_to_num`, `where`, `astype`. Applied to numbers
//! only, they give a number (computed by the array kernels on a 0-d array). Labeled inputs
//! give labeled results where the labels agree (`super::labels`); only `astype` keeps
//! (descriptive) attributes.
//!
//! This module must not compute arrays, except folding 0-d results into numbers.

use crate::array::{Array, ArrayError, BinaryOp, Operand};
use crate::expr::{ErrorKind, ExprError};

use super::bind::BoundArgs;
use super::convert::Spanned;
use super::failure::array_error;
use super::labels::{self, KeepAttrs};
use super::operators::fold_scalar;
use super::value::Value;

/// Call the elementwise function bound in `args`.
pub fn call_elementwise(args: &BoundArgs) -> Result<Value, ExprError> {
    let operation = args.operation();
    // Several labeled operands (`where(c, x, y)`, `maximum(x, y)`) line up by name.
    let names = ["condition", "x", "y"];
    let present: Vec<&str> = names
        .into_iter()
        .filter(|n| args.get(n).is_some())
        .collect();
    let values: Vec<&Value> = present
        .iter()
        .filter_map(|n| args.get(n))
        .map(|a| &a.value)
        .collect();
    let aligned =
        labels::align(&values).map_err(|m| ExprError::new(ErrorKind::Value, args.span(), m))?;
    let mut all_scalar = true;
    let mut operand = |name: &str| -> Result<Operand, ExprError> {
        let given = args.required(name)?;
        let replaced = aligned.as_ref().and_then(|al| {
            present.iter().position(|n| *n == name).map(|i| Spanned {
                value: al.values[i].clone(),
                span: given.span,
            })
        });
        let arg = replaced.as_ref().unwrap_or(given);
        let op = to_operand(arg, &args.what(name))?;
        all_scalar &= matches!(op, Operand::Scalar(_));
        Ok(op)
    };
    let result: Result<Array, ArrayError> = match args.function() {
        "minimum" | "maximum" => {
            let op = if args.function() == "minimum" {
                BinaryOp::Minimum
            } else {
                BinaryOp::Maximum
            };
            let (x, y) = (operand("x")?, operand("y")?);
            Array::binary_op(op, lift(x), y)
        }
        "where" => {
            let cond = operand("condition")?;
            let (x, y) = (operand("x")?, operand("y")?);
            Array::where_(&lift_array(cond), x, y)
        }
        name => {
            let x = lift_array(operand("x")?);
            unary_like(name, &x, args)?
        }
    };
    let result = result.map_err(|e| array_error(e, args.span(), &operation))?;
    if all_scalar && result.ndim() == 0 {
        fold_scalar(&result, args.span(), &operation)
    } else if let Some(al) = &aligned {
        Ok(al.relabel(result))
    } else {
        let inputs: Vec<&Value> = ["condition", "x", "y", "min", "max"]
            .iter()
            .filter_map(|name| args.get(name))
            .map(|arg| &arg.value)
            .collect();
        let attrs = if args.function() == "astype" {
            KeepAttrs::Descriptive
        } else {
            KeepAttrs::None
        };
        Ok(labels::elementwise(result, &inputs, attrs))
    }
}

fn unary_like(
    name: &str,
    x: &Array,
    args: &BoundArgs,
) -> Result<Result<Array, ArrayError>, ExprError> {
    Ok(match name {
        "abs" => x.abs(),
        "sqrt" => x.sqrt(),
        "exp" => x.exp(),
        "log" => x.log(),
        "log10" => x.log10(),
        "sin" => x.sin(),
        "cos" => x.cos(),
        "tan" => x.tan(),
        "tanh" => x.tanh(),
        "floor" => x.floor(),
        "ceil" => x.ceil(),
        "isnan" => x.isnan(),
        "isfinite" => x.isfinite(),
        "round" => round(x, args)?,
        "clip" => clip(x, args)?,
        "nan_to_num" => nan_to_num(x, args)?,
        "astype" => {
            let dtype = args.required("dtype")?.to_dtype(&args.what("dtype"))?;
            Ok(x.astype(dtype))
        }
        other => {
            return Err(ExprError::new(
                ErrorKind::UnknownFunction,
                args.span(),
                format!("{other}() is not an elementwise function"),
            ))
        }
    })
}

/// `round(x, decimals)`: NumPy scales by 10^decimals, rounds half to even, scales back.
fn round(x: &Array, args: &BoundArgs) -> Result<Result<Array, ArrayError>, ExprError> {
    let decimals = match args.get("decimals") {
        Some(d) => d.to_i64(&args.what("decimals"))?,
        None => 0,
    };
    if decimals == 0 || !x.dtype().is_float() {
        return Ok(x.round());
    }
    let exponent = i32::try_from(decimals).map_err(|_| {
        args.required("decimals")
            .map(|d| d.value_error(format!("decimals {decimals} is out of range")))
            .unwrap_or_else(|e| e)
    })?;
    let scale = 10f64.powi(exponent);
    Ok((|| x.mul(scale)?.round()?.div(scale))())
}

fn clip(x: &Array, args: &BoundArgs) -> Result<Result<Array, ArrayError>, ExprError> {
    let bound = |name: &str| -> Result<Option<Operand>, ExprError> {
        args.get(name)
            .map(|b| to_operand(b, &args.what(name)))
            .transpose()
    };
    let (lo, hi) = (bound("min")?, bound("max")?);
    Ok((|| {
        let mut out = x.clone();
        if let Some(hi) = hi {
            out = out.minimum(hi)?;
        }
        if let Some(lo) = lo {
            out = out.maximum(lo)?;
        }
        Ok(out)
    })())
}

fn nan_to_num(x: &Array, args: &BoundArgs) -> Result<Result<Array, ArrayError>, ExprError> {
    let number = |name: &str| -> Result<Option<f64>, ExprError> {
        args.get(name)
            .map(|v| v.to_f64(&args.what(name)))
            .transpose()
    };
    let (lo, hi) = if x.dtype() == crate::array::DType::F32 {
        (f64::from(f32::MIN), f64::from(f32::MAX))
    } else {
        (f64::MIN, f64::MAX)
    };
    let nan = number("nan")?.unwrap_or(0.0);
    let posinf = number("posinf")?.unwrap_or(hi);
    let neginf = number("neginf")?.unwrap_or(lo);
    Ok(x.nan_to_num_with(nan, posinf, neginf))
}

fn to_operand(arg: &Spanned, what: &str) -> Result<Operand, ExprError> {
    if let Value::Scalar(s) = &arg.value {
        return Ok(Operand::Scalar(*s));
    }
    arg.value
        .array()
        .map(|a| Operand::Array(a.clone()))
        .ok_or_else(|| arg.type_error(what, "an array or a number"))
}

/// An operand as an array operand: a scalar becomes a 0-d array of its default dtype.
fn lift(op: Operand) -> Operand {
    Operand::Array(lift_array(op))
}

fn lift_array(op: Operand) -> Array {
    match op {
        Operand::Array(a) => a,
        Operand::Scalar(s) => Array::scalar(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::array::Scalar;
    use crate::expr::{lookup_function, Span};

    fn call(name: &str, positional: Vec<Value>) -> Result<Value, ExprError> {
        let spec = lookup_function(name).expect("known function");
        let positional = positional
            .into_iter()
            .map(|value| Spanned {
                value,
                span: Span::new(0, 1),
            })
            .collect();
        call_elementwise(&BoundArgs::bind(spec, positional, vec![], Span::new(0, 1))?)
    }

    #[test]
    fn numbers_in_give_numbers_out() {
        let v = call("sqrt", vec![Value::Scalar(Scalar::Int(16))]).expect("sqrt(16)");
        assert!(matches!(v, Value::Scalar(Scalar::Float(x)) if x == 4.0));
        let v = call(
            "maximum",
            vec![Value::Scalar(Scalar::Int(2)), Value::Scalar(Scalar::Int(7))],
        )
        .expect("maximum(2, 7)");
        assert!(matches!(v, Value::Scalar(Scalar::Int(7))));
    }

    #[test]
    fn arrays_stay_lazy_and_strings_are_refused() {
        let x = Array::ones(&[4], crate::array::DType::F64, 2).expect("ones");
        let v = call("exp", vec![Value::Array(x)]).expect("exp(x)");
        assert!(v.is_array());
        let err = call("exp", vec![Value::Str("a".into())]).expect_err("exp('a')");
        assert_eq!(err.kind, ErrorKind::Type);
    }
}
