//! The label functions of the language (`sel`, `isel`, `slice`) and the attributes of
//! labeled arrays (`x.dims`, `x.sizes`, `x.attrs`, `x.name`, a coordinate `x.lat`, a date
//! component of a time coordinate `x.time.month`). The selection rules are those of
//! [`crate::labeled`]; this module turns program values into selectors and label errors
//! into errors pointing at the call.
//!
//! This module must not compute arrays.

use crate::array::{IndexItem, Scalar};
use crate::expr::suggest::did_you_mean;
use crate::expr::{ErrorKind, ExprError, Ident, Span};
use crate::labeled::time::Component;
use crate::labeled::{
    AttrValue, Coarsen, CoarsenBoundary, CoarsenReduce, GroupBy, GroupReduce, Label, LabelError,
    LabeledArray, Method, Rolling, RollingReduce, Selector, Weighted, WeightedReduce,
};

use super::bind::BoundArgs;
use super::convert::Spanned;
use super::labels::wrap;
use super::value::Value;

/// Call the label function bound in `args`.
pub fn call_labels(args: &BoundArgs) -> Result<Value, ExprError> {
    match args.function() {
        "slice" => {
            let part = |name: &str| args.get(name).map_or(Value::None, |v| v.value.clone());
            Ok(Value::Slice(Box::new([
                part("start"),
                part("stop"),
                part("step"),
            ])))
        }
        "sel" => {
            let x = labeled(args)?;
            let method = match args.get("method") {
                Some(m) => Some(m.to_str(&args.what("method"))?),
                None => None,
            };
            let method = Method::parse(method).map_err(|e| at(args.span(), e))?;
            let mut selectors = Vec::new();
            for (dim, value) in args.extra_keywords() {
                selectors.push((dim.as_str(), selector(dim, value)?));
            }
            x.sel(&selectors, method)
                .map(wrap)
                .map_err(|e| at(args.span(), e))
        }
        "isel" => {
            let x = labeled(args)?;
            let mut items = Vec::new();
            for (dim, value) in args.extra_keywords() {
                items.push((dim.as_str(), position(dim, value)?));
            }
            x.isel(&items).map(wrap).map_err(|e| at(args.span(), e))
        }
        "groupby" => {
            let x = labeled(args)?;
            let key = args.required("group")?;
            let key = key.to_str(&args.what("group"))?;
            x.groupby(key)
                .map(|g| Value::Groups(Box::new(g)))
                .map_err(|e| at(args.span(), e))
        }
        "resample" => {
            let x = labeled(args)?;
            let [(dim, freq)] = args.extra_keywords() else {
                return Err(ExprError::new(
                    ErrorKind::Value,
                    args.span(),
                    "resample() takes one dimension and a frequency: resample(x, time=\"MS\")",
                ));
            };
            let freq = freq.to_str(&format!("the frequency of {dim}"))?;
            x.resample(dim, freq)
                .map(|g| Value::Groups(Box::new(g)))
                .map_err(|e| at(args.span(), e))
        }
        "rolling" => {
            let x = labeled(args)?;
            let [(dim, window)] = args.extra_keywords() else {
                return Err(ExprError::new(
                    ErrorKind::Value,
                    args.span(),
                    "rolling() takes one dimension and a window: rolling(x, time=30)",
                ));
            };
            let window = count_of(window, &format!("the window along {dim}"))?;
            let center = match args.get("center") {
                Some(c) => c.to_bool(&args.what("center"))?,
                None => false,
            };
            let min_periods = match args.get("min_periods") {
                Some(m) if !matches!(m.value, Value::None) => {
                    Some(count_of(m, &args.what("min_periods"))?)
                }
                _ => None,
            };
            x.rolling(dim, window, center, min_periods)
                .map(|r| Value::Rolling(Box::new(r)))
                .map_err(|e| at(args.span(), e))
        }
        "coarsen" => {
            let x = labeled(args)?;
            let boundary = match args.get("boundary") {
                Some(b) => b.to_str(&args.what("boundary"))?,
                None => "exact",
            };
            let boundary = CoarsenBoundary::parse(boundary).map_err(|e| at(args.span(), e))?;
            let mut factors = Vec::new();
            for (dim, k) in args.extra_keywords() {
                factors.push((
                    dim.as_str(),
                    count_of(k, &format!("the block size of {dim}"))?,
                ));
            }
            x.coarsen(&factors, boundary)
                .map(|c| Value::Coarsen(Box::new(c)))
                .map_err(|e| at(args.span(), e))
        }
        "weighted" => {
            let x = labeled(args)?;
            let w = args.required("weights")?;
            let Value::Labeled(weights) = &w.value else {
                return Err(ExprError::new(
                    ErrorKind::Value,
                    w.span,
                    format!(
                        "weights must be an array with dimension names (a coordinate such as \
                         x.lat, or a function of one), not {}",
                        w.value.describe()
                    ),
                ));
            };
            Ok(Value::Weighted(Box::new(Weighted {
                array: x.clone(),
                weights: (**weights).clone(),
            })))
        }
        other => Err(ExprError::new(
            ErrorKind::UnknownFunction,
            args.span(),
            format!("{other}() is not a label function"),
        )),
    }
}

/// A reduction of groups (`groupby(x, "time.month").mean()`): sum, mean, count, var, std.
pub fn grouped_reduction(args: &BoundArgs, groups: &GroupBy) -> Result<Value, ExprError> {
    no_axis(args, "groups", "group")?;
    let ddof = ddof_of(args)?;
    let how = match args.function() {
        "sum" => GroupReduce::Sum,
        "mean" => GroupReduce::Mean,
        "count" => GroupReduce::Count,
        "var" => GroupReduce::Var(ddof),
        "std" => GroupReduce::Std(ddof),
        other => {
            return Err(ExprError::new(
                ErrorKind::Unsupported,
                args.span(),
                format!(
                    "{other}() of groups is not available yet; groups offer sum, mean, count, \
                     var and std"
                ),
            ))
        }
    };
    groups.reduce(how).map(wrap).map_err(|e| at(args.span(), e))
}

/// A reduction of moving windows (`rolling(x, time=30).mean()`): sum, mean, min, max, var,
/// std.
pub fn rolling_reduction(args: &BoundArgs, windows: &Rolling) -> Result<Value, ExprError> {
    no_axis(args, "moving windows", "window")?;
    let ddof = ddof_of(args)?;
    let how = match args.function() {
        "sum" => RollingReduce::Sum,
        "mean" => RollingReduce::Mean,
        "min" => RollingReduce::Min,
        "max" => RollingReduce::Max,
        "var" => RollingReduce::Var(ddof),
        "std" => RollingReduce::Std(ddof),
        other => {
            return Err(ExprError::new(
                ErrorKind::Unsupported,
                args.span(),
                format!(
                    "{other}() of moving windows is not available; windows offer sum, mean, \
                     min, max, var and std"
                ),
            ))
        }
    };
    windows
        .reduce(how)
        .map(wrap)
        .map_err(|e| at(args.span(), e))
}

/// A reduction of blocks (`coarsen(x, lat=2).mean()`): sum, mean, min, max.
pub fn coarsen_reduction(args: &BoundArgs, blocks: &Coarsen) -> Result<Value, ExprError> {
    no_axis(args, "blocks", "block")?;
    let how = match args.function() {
        "sum" => CoarsenReduce::Sum,
        "mean" => CoarsenReduce::Mean,
        "min" => CoarsenReduce::Min,
        "max" => CoarsenReduce::Max,
        other => {
            return Err(ExprError::new(
                ErrorKind::Unsupported,
                args.span(),
                format!(
                    "{other}() of blocks is not available; blocks offer sum, mean, min and max"
                ),
            ))
        }
    };
    blocks.reduce(how).map(wrap).map_err(|e| at(args.span(), e))
}

/// A weighted reduction (`weighted(x, w).mean(("lat", "lon"))`): sum, mean, over named
/// dimensions (all when none are given).
pub fn weighted_reduction(args: &BoundArgs, weighted: &Weighted) -> Result<Value, ExprError> {
    let how = match args.function() {
        "sum" => WeightedReduce::Sum,
        "mean" => WeightedReduce::Mean,
        other => {
            return Err(ExprError::new(
                ErrorKind::Unsupported,
                args.span(),
                format!("{other}() of weighted data is not available; it offers sum and mean"),
            ))
        }
    };
    let dims: Vec<String> = match args.get("axis") {
        None => Vec::new(),
        Some(a) => match &a.value {
            Value::None => Vec::new(),
            Value::Str(d) => vec![d.clone()],
            Value::Tuple(items) => items
                .iter()
                .map(|i| match i {
                    Value::Str(d) => Ok(d.clone()),
                    other => Err(ExprError::new(
                        ErrorKind::Value,
                        a.span,
                        format!(
                            "weighted reductions take dimension names, not {}",
                            other.describe()
                        ),
                    )),
                })
                .collect::<Result<_, _>>()?,
            other => {
                return Err(ExprError::new(
                    ErrorKind::Value,
                    a.span,
                    format!(
                        "weighted reductions take dimension names, not {}",
                        other.describe()
                    ),
                ))
            }
        },
    };
    let dims: Vec<&str> = dims.iter().map(String::as_str).collect();
    weighted
        .reduce(&dims, how)
        .map(wrap)
        .map_err(|e| at(args.span(), e))
}

/// Refuses an `axis` for a reduction of `what` (it reduces within each `within`).
fn no_axis(args: &BoundArgs, what: &str, within: &str) -> Result<(), ExprError> {
    match args.get("axis") {
        Some(_) => Err(ExprError::new(
            ErrorKind::Value,
            args.span(),
            format!(
                "{} of {what} reduces within each {within}; it takes no axis",
                args.operation()
            ),
        )),
        None => Ok(()),
    }
}

/// The `ddof` of a variance or standard deviation (0 by default).
fn ddof_of(args: &BoundArgs) -> Result<f64, ExprError> {
    match args.get("ddof") {
        Some(d) => d.to_f64(&args.what("ddof")),
        None => Ok(0.0),
    }
}

/// A whole number of at least 1 (a window, a `min_periods`); `what` names it in the error.
fn count_of(value: &Spanned, what: &str) -> Result<usize, ExprError> {
    match value.value {
        Value::Scalar(Scalar::Int(n)) if n >= 1 => Ok(n as usize),
        _ => Err(ExprError::new(
            ErrorKind::Value,
            value.span,
            format!(
                "{what} must be a whole number of at least 1, got {}",
                value.value.describe()
            ),
        )),
    }
}

/// `value.attr` on a labeled array: `None` when the name is not a label attribute.
pub fn labeled_attribute(l: &LabeledArray, attr: &Ident) -> Option<Result<Value, ExprError>> {
    let name = attr.name.as_str();
    let int = |n: usize| Value::Scalar(Scalar::Int(n as i64));
    Some(Ok(match name {
        "dims" => Value::Tuple(l.dims().iter().map(|d| Value::Str(d.clone())).collect()),
        "sizes" => Value::Dict(
            l.dims()
                .iter()
                .zip(l.array().shape())
                .map(|(d, &n)| (d.clone(), int(n)))
                .collect(),
        ),
        "attrs" => Value::Dict(
            l.attrs()
                .iter()
                .map(|(k, v)| (k.clone(), attr_value(v)))
                .collect(),
        ),
        "name" => Value::Str(l.name().to_string()),
        _ if l.coords().contains_key(name) || l.dims().iter().any(|d| d == name) => {
            return Some(l.coordinate(name).map(wrap).map_err(|e| at(attr.span, e)))
        }
        _ => {
            let component = Component::parse(name)?;
            return Some(
                l.time_component(component)
                    .map(wrap)
                    .map_err(|e| at(attr.span, e)),
            );
        }
    }))
}

/// The error for an attribute that is neither in the catalogue nor a coordinate.
pub fn unknown_attribute(name: &str, span: Span, labels: Option<&LabeledArray>) -> ExprError {
    let mut names: Vec<String> = crate::expr::ATTRIBUTES
        .iter()
        .map(|a| a.name.to_string())
        .collect();
    if labels.is_some() {
        names.extend(
            crate::expr::LABEL_ATTRIBUTES
                .iter()
                .map(|a| a.name.to_string()),
        );
    }
    let mut help = format!("attributes are: {}", names.join(", "));
    if let Some(l) = labels {
        let coords: Vec<String> = l.coords().keys().cloned().collect();
        if !coords.is_empty() {
            help.push_str(&format!("; coordinates: {}", coords.join(", ")));
        }
        names.extend(coords);
    }
    ExprError::new(
        ErrorKind::UnknownAttribute,
        span,
        format!(
            "unknown attribute \"{name}\"{}",
            did_you_mean(name, names.iter().map(String::as_str))
        ),
    )
    .with_label("not an attribute")
    .with_help(help)
}

fn attr_value(v: &AttrValue) -> Value {
    let scalars = |xs: Vec<Value>| match <[Value; 1]>::try_from(xs) {
        Ok([one]) => one,
        Err(many) => Value::Tuple(many),
    };
    match v {
        AttrValue::Text(s) => Value::Str(s.clone()),
        AttrValue::Int(xs) => scalars(xs.iter().map(|&x| Value::Scalar(Scalar::Int(x))).collect()),
        other => scalars(
            other
                .as_f64s()
                .into_iter()
                .map(|x| Value::Scalar(Scalar::Float(x)))
                .collect(),
        ),
    }
}

fn labeled(args: &BoundArgs) -> Result<&LabeledArray, ExprError> {
    let x = args.required("x")?;
    x.value.labels().ok_or_else(|| {
        x.type_error(
            &args.what("x"),
            "an array with dimension names (read with nc() or h5())",
        )
    })
}

fn at(span: Span, e: LabelError) -> ExprError {
    ExprError::new(ErrorKind::Value, span, e.to_string())
}

fn label(dim: &str, v: &Spanned) -> Result<Label, ExprError> {
    match &v.value {
        Value::Scalar(s) => Ok(Label::Number(s.as_f64())),
        Value::Str(s) => Ok(Label::Date(s.clone())),
        _ => Err(v.type_error(
            &format!("the label for {dim}"),
            "a number, a date string, a list of them or slice(start, stop)",
        )),
    }
}

fn selector(dim: &str, v: &Spanned) -> Result<Selector, ExprError> {
    let part = |value: &Value| Spanned {
        value: value.clone(),
        span: v.span,
    };
    match &v.value {
        Value::Slice(parts) => {
            if !matches!(parts[2], Value::None) {
                return Err(v.value_error(format!(
                    "{dim}: a step in a slice by label is not supported; use isel for steps"
                )));
            }
            let bound = |p: &Value| match p {
                Value::None => Ok(None),
                other => label(dim, &part(other)).map(Some),
            };
            Ok(Selector::Range(bound(&parts[0])?, bound(&parts[1])?))
        }
        Value::Tuple(items) => items
            .iter()
            .map(|i| label(dim, &part(i)))
            .collect::<Result<_, _>>()
            .map(Selector::Many),
        _ => label(dim, v).map(Selector::One),
    }
}

fn position(dim: &str, v: &Spanned) -> Result<IndexItem, ExprError> {
    let what = format!("the position along {dim}");
    let part = |value: &Value| -> Result<Option<i64>, ExprError> {
        match value {
            Value::None => Ok(None),
            Value::Scalar(Scalar::Int(i)) => Ok(Some(*i)),
            _ => Err(v.type_error(&what, "an integer or slice(start, stop, step)")),
        }
    };
    match &v.value {
        Value::Scalar(Scalar::Int(i)) => Ok(IndexItem::Int(*i)),
        Value::Slice(parts) => {
            let step = part(&parts[2])?.unwrap_or(1);
            if step == 0 {
                return Err(v.value_error(format!("{dim}: slice step cannot be zero")));
            }
            Ok(IndexItem::slice(part(&parts[0])?, part(&parts[1])?, step))
        }
        _ => Err(v.type_error(&what, "an integer or slice(start, stop, step)")),
    }
}
