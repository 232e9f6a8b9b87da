//! The elementwise functions of the language: math functions, `round`, `clip`,
//! `minimum`/`maximum`, `isnan`/`isfinite`, `nan_to_num`, `where`, `astype`. Applied to numbers
//! only, they give a number (computed by the array kernels on a 0-d array). Labeled inputs
//! give labeled results where the labels agree (`super::labels`); only `astype` keeps
//! (descriptive) attributes.
//!
//! This module must not compute arrays, except folding 0-d results into numbers.

use crate::array::{Array, ArrayError, BinaryOp, DType, Operand, UnaryOp};
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
        "isclose" | "allclose" => {
            let (x, y) = (operand("x")?, operand("y")?);
            let number = |name: &str, default: f64| -> Result<f64, ExprError> {
                args.get(name)
                    .map_or(Ok(default), |v| v.to_f64(&args.what(name)))
            };
            let (rtol, atol) = (number("rtol", 1e-5)?, number("atol", 1e-8)?);
            let equal_nan = match args.get("equal_nan") {
                Some(v) => v.to_bool(&args.what("equal_nan"))?,
                None => false,
            };
            let close = lift_array(x).isclose(y, rtol, atol, equal_nan);
            if args.function() == "allclose" {
                close.and_then(|c| c.all(crate::array::ReduceOptions::all()))
            } else {
                close
            }
        }
        name if binary_function(name).is_some() => {
            let op = binary_function(name).unwrap_or(BinaryOp::Add);
            let (x, y) = (operand("x")?, operand("y")?);
            // A number next to an array stays a weak scalar (NumPy 2); two numbers are
            // computed on a 0-d array.
            match (&x, &y) {
                (Operand::Scalar(_), Operand::Scalar(_)) => Array::binary_op(op, lift(x), y),
                _ => Array::binary_op(op, x, y),
            }
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

/// The array operation of a two-operand elementwise function.
fn binary_function(name: &str) -> Option<BinaryOp> {
    Some(match name {
        "minimum" => BinaryOp::Minimum,
        "maximum" => BinaryOp::Maximum,
        "arctan2" => BinaryOp::Arctan2,
        "hypot" => BinaryOp::Hypot,
        "fmod" => BinaryOp::Fmod,
        "remainder" => BinaryOp::Rem,
        "power" => BinaryOp::Pow,
        "float_power" => BinaryOp::FloatPower,
        _ => return None,
    })
}

/// The array operation of a one-operand math function.
fn unary_function(name: &str) -> Option<UnaryOp> {
    Some(match name {
        "abs" => UnaryOp::Abs,
        "sqrt" => UnaryOp::Sqrt,
        "exp" => UnaryOp::Exp,
        "log" => UnaryOp::Log,
        "log10" => UnaryOp::Log10,
        "sin" => UnaryOp::Sin,
        "cos" => UnaryOp::Cos,
        "tan" => UnaryOp::Tan,
        "tanh" => UnaryOp::Tanh,
        "floor" => UnaryOp::Floor,
        "ceil" => UnaryOp::Ceil,
        "isnan" => UnaryOp::IsNan,
        "isfinite" => UnaryOp::IsFinite,
        "sign" => UnaryOp::Sign,
        "square" => UnaryOp::Square,
        "cbrt" => UnaryOp::Cbrt,
        "log1p" => UnaryOp::Log1p,
        "expm1" => UnaryOp::Expm1,
        "log2" => UnaryOp::Log2,
        "exp2" => UnaryOp::Exp2,
        "arcsin" => UnaryOp::Arcsin,
        "arccos" => UnaryOp::Arccos,
        "arctan" => UnaryOp::Arctan,
        "sinh" => UnaryOp::Sinh,
        "cosh" => UnaryOp::Cosh,
        "arcsinh" => UnaryOp::Arcsinh,
        "arccosh" => UnaryOp::Arccosh,
        "arctanh" => UnaryOp::Arctanh,
        "trunc" => UnaryOp::Trunc,
        "deg2rad" => UnaryOp::Deg2rad,
        "rad2deg" => UnaryOp::Rad2deg,
        "isinf" => UnaryOp::IsInf,
        _ => return None,
    })
}

fn unary_like(
    name: &str,
    x: &Array,
    args: &BoundArgs,
) -> Result<Result<Array, ArrayError>, ExprError> {
    if let Some(op) = unary_function(name) {
        return Ok(x.unary(op));
    }
    Ok(match name {
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
    if decimals != 0 && x.dtype() == DType::Bool {
        return Ok(Err(ArrayError::UnsupportedDType {
            op: "round with decimals",
            dtype: DType::Bool,
        }));
    }
    if decimals == 0 || (decimals > 0 && !x.dtype().is_float()) {
        return Ok(x.round());
    }
    let exponent = i32::try_from(decimals.unsigned_abs())
        .ok()
        .filter(|&e| e <= 400)
        .ok_or_else(|| {
            args.required("decimals")
                .map(|d| d.value_error(format!("decimals {decimals} is out of range")))
                .unwrap_or_else(|e| e)
        })?;
    let scale = 10f64.powi(exponent);
    if decimals > 0 {
        return Ok((|| x.mul(scale)?.round()?.div(scale))());
    }
    // Negative decimals, as NumPy: divide by 10^-decimals, round half to even, multiply back
    // (integers through float64, then back to their dtype).
    let dtype = x.dtype();
    Ok((|| Ok(x.div(scale)?.round()?.mul(scale)?.astype(dtype)))())
}

fn clip(x: &Array, args: &BoundArgs) -> Result<Result<Array, ArrayError>, ExprError> {
    let bound = |name: &str| -> Result<Option<Operand>, ExprError> {
        args.get(name)
            .map(|b| to_operand(b, &args.what(name)))
            .transpose()
    };
    let (lo, hi) = (bound("min")?, bound("max")?);
    Ok(x.clip_bounds(lo, hi))
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
