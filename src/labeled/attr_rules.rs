//! Which attributes of a variable stay true of a result computed from it.
//!
//! - Moving values without changing them (indexing, transposing, rechunking) keeps every
//!   attribute.
//! - A cast keeps the descriptive attributes but not the encoding ones (`_FillValue`,
//!   `scale_factor`, `add_offset`, xarray's `dtype`, ...): they describe the stored type.
//! - A reduction giving a value in the same units — `mean`, `min`, `max`, `sum`, `std` and
//!   their NaN-skipping forms — keeps the descriptive attributes (`units`, `long_name`,
//!   `standard_name`, ...) and records itself in CF's `cell_methods` (`"time: mean"`);
//!   `var` does the same without `units` (they are squared). `sum` and `std` also drop the
//!   value ranges (`valid_range`, `valid_min`, `valid_max`, `actual_range`), which their
//!   results can leave. Other reductions (`prod`, `argmax`, `any`, `count_nonzero`, ...)
//!   keep nothing.
//! - Arithmetic and other elementwise functions keep nothing (xarray's default).
//!
//! This module must not open files or touch arrays.

use crate::array::ReduceKind;
use crate::labeled::attrs::{AttrValue, Attributes, ENCODING_ATTRS};

/// Attributes bounding the values, which a sum or a spread can leave.
pub const RANGE_ATTRS: &[&str] = &["valid_range", "valid_min", "valid_max", "actual_range"];

/// The attributes of a cast of a variable with `attrs`: all but the encoding ones.
pub fn after_cast(attrs: &Attributes) -> Attributes {
    let mut out = attrs.clone();
    out.retain(|k, _| !ENCODING_ATTRS.contains(&k.as_str()));
    out
}

/// The CF `cell_methods` word of a reduction, when its result is in the input's units (or,
/// for the variance, in their square).
fn cell_method(kind: ReduceKind) -> Option<&'static str> {
    Some(match kind {
        ReduceKind::Mean | ReduceKind::NanMean => "mean",
        ReduceKind::Min | ReduceKind::NanMin => "minimum",
        ReduceKind::Max | ReduceKind::NanMax => "maximum",
        ReduceKind::Sum | ReduceKind::NanSum => "sum",
        ReduceKind::Std { .. } | ReduceKind::NanStd { .. } => "standard_deviation",
        ReduceKind::Var { .. } | ReduceKind::NanVar { .. } => "variance",
        _ => return None,
    })
}

/// The attributes of the reduction `kind` over the dimensions `dims` of a variable with
/// `attrs` (see the module documentation).
///
/// ```
/// use tessera::array::ReduceKind;
/// use tessera::labeled::{after_reduction, AttrValue, Attributes};
/// let mut a = Attributes::new();
/// a.insert("units".into(), AttrValue::from("K"));
/// a.insert("valid_max".into(), AttrValue::from(400.0));
/// let m = after_reduction(ReduceKind::Mean, &a, &["time".to_string()]);
/// assert_eq!(m.get("units"), Some(&AttrValue::from("K")));
/// assert_eq!(m.get("cell_methods"), Some(&AttrValue::from("time: mean")));
/// let s = after_reduction(ReduceKind::Std { ddof: 0.0 }, &a, &["time".to_string()]);
/// assert!(s.get("valid_max").is_none());
/// assert!(after_reduction(ReduceKind::ArgMax, &a, &["time".to_string()]).is_empty());
/// ```
pub fn after_reduction(kind: ReduceKind, attrs: &Attributes, dims: &[String]) -> Attributes {
    let Some(method) = cell_method(kind) else {
        return Attributes::new();
    };
    let mut out = after_cast(attrs);
    let leaves_range = matches!(
        kind,
        ReduceKind::Sum
            | ReduceKind::NanSum
            | ReduceKind::Std { .. }
            | ReduceKind::NanStd { .. }
            | ReduceKind::Var { .. }
            | ReduceKind::NanVar { .. }
    );
    if leaves_range {
        out.retain(|k, _| !RANGE_ATTRS.contains(&k.as_str()));
    }
    if matches!(kind, ReduceKind::Var { .. } | ReduceKind::NanVar { .. }) {
        out.remove("units");
    }
    if !dims.is_empty() {
        let mut text: String = dims.iter().map(|d| format!("{d}: ")).collect();
        text.push_str(method);
        let previous = out.get("cell_methods").and_then(AttrValue::as_text);
        let joined = match previous {
            Some(p) if !p.trim().is_empty() => format!("{} {text}", p.trim()),
            _ => text,
        };
        out.insert("cell_methods".into(), AttrValue::Text(joined));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs() -> Attributes {
        let mut a = Attributes::new();
        a.insert("units".into(), AttrValue::from("K"));
        a.insert("long_name".into(), AttrValue::from("air temperature"));
        a.insert("scale_factor".into(), AttrValue::from(0.5));
        a.insert("valid_range".into(), AttrValue::Float64(vec![150.0, 350.0]));
        a.insert("cell_methods".into(), AttrValue::from("area: mean"));
        a
    }

    #[test]
    fn means_keep_descriptions_drop_encoding_and_extend_cell_methods() {
        let dims = vec!["time".to_string(), "lon".to_string()];
        let m = after_reduction(ReduceKind::NanMean, &attrs(), &dims);
        assert_eq!(m.get("units"), Some(&AttrValue::from("K")));
        assert!(m.contains_key("valid_range"));
        assert!(!m.contains_key("scale_factor"));
        assert_eq!(
            m.get("cell_methods"),
            Some(&AttrValue::from("area: mean time: lon: mean"))
        );
    }

    #[test]
    fn spreads_and_sums_drop_ranges_variance_drops_units_others_keep_nothing() {
        let dims = vec!["time".to_string()];
        let v = after_reduction(ReduceKind::Var { ddof: 1.0 }, &attrs(), &dims);
        assert!(!v.contains_key("units") && !v.contains_key("valid_range"));
        assert_eq!(
            v.get("long_name"),
            Some(&AttrValue::from("air temperature"))
        );
        let s = after_reduction(ReduceKind::Sum, &attrs(), &dims);
        assert!(s.contains_key("units") && !s.contains_key("valid_range"));
        for kind in [ReduceKind::Prod, ReduceKind::CountNonzero, ReduceKind::Any] {
            assert!(after_reduction(kind, &attrs(), &dims).is_empty());
        }
        let c = after_cast(&attrs());
        assert!(!c.contains_key("scale_factor") && c.contains_key("units"));
    }
}
