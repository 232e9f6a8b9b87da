//! CF decoding of stored values: `_FillValue` and `missing_value` become NaN, packed integers
//! are unpacked with `scale_factor` and `add_offset`. The rules follow xarray's
//! `mask_and_scale`: the result is float32 when the packing attributes are float32 (or absent)
//! and the stored integers are at most 16 bits wide, float64 otherwise. Stored values outside
//! `valid_range` (or below `valid_min`, above `valid_max`) are missing too, as CF and
//! netCDF4-python say (xarray leaves them; docs/labeled.md, "Missing values").
//!
//! This module must not open files.

use serde::{Deserialize, Serialize};

use crate::array::DType;
use crate::io::file_type::FileType;
use crate::labeled::{AttrValue, Attributes};

/// How one variable's stored values are decoded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CfDecoding {
    /// Stored values that mean "missing" (`_FillValue`, `missing_value`).
    pub masked: Vec<f64>,
    /// `scale_factor`, when present.
    pub scale: Option<f64>,
    /// `add_offset`, when present.
    pub offset: Option<f64>,
    /// The dtype of decoded values.
    pub out: DType,
    /// Stored values outside `[min, max]` are missing (`valid_range`, `valid_min`,
    /// `valid_max`); unbounded sides are infinite.
    #[serde(default)]
    pub valid: Option<(f64, f64)>,
}

fn is_f32(v: Option<&AttrValue>) -> bool {
    matches!(v, None | Some(AttrValue::Float32(_)))
}

impl CfDecoding {
    /// The decoding a variable of `stored` type with `attrs` needs, or `None` when its values
    /// are used as stored.
    pub fn from_attrs(stored: &FileType, attrs: &Attributes) -> Option<CfDecoding> {
        if *stored == FileType::Bool {
            return None;
        }
        let mut masked: Vec<f64> = Vec::new();
        for name in ["_FillValue", "missing_value"] {
            if let Some(v) = attrs.get(name) {
                for x in v.as_f64s() {
                    if !x.is_nan() && !masked.contains(&x) {
                        masked.push(x);
                    }
                }
            }
        }
        let scale_attr = attrs.get("scale_factor");
        let offset_attr = attrs.get("add_offset");
        let scale = scale_attr.and_then(|v| v.as_f64s().first().copied());
        let offset = offset_attr.and_then(|v| v.as_f64s().first().copied());
        let packed = scale.is_some() || offset.is_some();
        let first =
            |name: &str, i: usize| attrs.get(name).and_then(|v| v.as_f64s().get(i).copied());
        let valid = match (first("valid_range", 0), first("valid_range", 1)) {
            (Some(lo), Some(hi)) => Some((lo, hi)),
            _ => match (first("valid_min", 0), first("valid_max", 0)) {
                (None, None) => None,
                (lo, hi) => Some((lo.unwrap_or(f64::NEG_INFINITY), hi.unwrap_or(f64::INFINITY))),
            },
        };
        if masked.is_empty() && !packed && valid.is_none() {
            return None;
        }
        let out = match stored {
            FileType::F32 if !packed || (is_f32(scale_attr) && is_f32(offset_attr)) => DType::F32,
            FileType::F64 => DType::F64,
            t if t.is_integer()
                && t.itemsize() <= 2
                && is_f32(scale_attr)
                && is_f32(offset_attr) =>
            {
                DType::F32
            }
            _ => DType::F64,
        };
        Some(CfDecoding {
            masked,
            scale,
            offset,
            out,
            valid,
        })
    }

    /// Decodes values read as float64 in place.
    pub fn apply_f64(&self, values: &mut [f64]) {
        let scale = self.scale.unwrap_or(1.0);
        let offset = self.offset.unwrap_or(0.0);
        let packed = self.scale.is_some() || self.offset.is_some();
        let (lo, hi) = self.valid.unwrap_or((f64::NEG_INFINITY, f64::INFINITY));
        for v in values.iter_mut() {
            if self.masked.contains(v) || *v < lo || *v > hi {
                *v = f64::NAN;
            } else if packed {
                *v = *v * scale + offset;
            }
        }
    }

    /// Masks values read as float32 in place (no packing: callers use [`apply_f64`] then).
    ///
    /// [`apply_f64`]: CfDecoding::apply_f64
    pub fn mask_f32(&self, values: &mut [f32]) {
        let masked: Vec<f32> = self.masked.iter().map(|&m| m as f32).collect();
        if let Some((lo, hi)) = self.valid {
            for v in values.iter_mut() {
                if f64::from(*v) < lo || f64::from(*v) > hi {
                    *v = f32::NAN;
                }
            }
        }
        match masked.as_slice() {
            [] => {}
            [m] => {
                let m = *m;
                for v in values.iter_mut() {
                    if *v == m {
                        *v = f32::NAN;
                    }
                }
            }
            ms => {
                for v in values.iter_mut() {
                    if ms.contains(v) {
                        *v = f32::NAN;
                    }
                }
            }
        }
    }

    /// True when decoding is only masking of float32 values (no unpacking).
    pub fn is_f32_mask_only(&self, stored: &FileType) -> bool {
        *stored == FileType::F32
            && self.out == DType::F32
            && self.scale.is_none()
            && self.offset.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(list: &[(&str, AttrValue)]) -> Attributes {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn packed_int16_with_float32_attributes_decodes_to_float32() {
        let a = attrs(&[
            ("scale_factor", AttrValue::Float32(vec![0.5])),
            ("add_offset", AttrValue::Float32(vec![10.0])),
            ("_FillValue", AttrValue::Int(vec![-32767])),
        ]);
        let d = CfDecoding::from_attrs(&FileType::I16, &a).expect("decoding");
        assert_eq!(d.out, DType::F32);
        let mut v = vec![0.0, 4.0, -32767.0];
        d.apply_f64(&mut v);
        assert_eq!(v[0], 10.0);
        assert_eq!(v[1], 12.0);
        assert!(v[2].is_nan());
    }

    #[test]
    fn double_packing_or_wide_integers_give_float64() {
        let a = attrs(&[("scale_factor", AttrValue::Float64(vec![0.1]))]);
        assert_eq!(
            CfDecoding::from_attrs(&FileType::I16, &a).map(|d| d.out),
            Some(DType::F64)
        );
        let m = attrs(&[("_FillValue", AttrValue::Int(vec![-1]))]);
        assert_eq!(
            CfDecoding::from_attrs(&FileType::I32, &m).map(|d| d.out),
            Some(DType::F64)
        );
        assert_eq!(
            CfDecoding::from_attrs(&FileType::U8, &m).map(|d| d.out),
            Some(DType::F32)
        );
    }

    #[test]
    fn no_attributes_no_decoding_and_float_masks_stay_float32() {
        assert_eq!(
            CfDecoding::from_attrs(&FileType::F32, &Attributes::new()),
            None
        );
        let a = attrs(&[
            ("_FillValue", AttrValue::Float32(vec![1e20])),
            ("missing_value", AttrValue::Float32(vec![-999.0])),
        ]);
        let d = CfDecoding::from_attrs(&FileType::F32, &a).expect("decoding");
        assert!(d.is_f32_mask_only(&FileType::F32));
        let mut v = vec![1.0f32, 1e20, -999.0];
        d.mask_f32(&mut v);
        assert_eq!(v[0], 1.0);
        assert!(v[1].is_nan() && v[2].is_nan());
    }

    #[test]
    fn values_outside_the_valid_range_are_missing() {
        let a = attrs(&[("valid_range", AttrValue::Float32(vec![150.0, 350.0]))]);
        let d = CfDecoding::from_attrs(&FileType::F32, &a).expect("decoding");
        let mut v = vec![149.0f32, 150.0, 350.0, 351.0];
        d.mask_f32(&mut v);
        assert!(v[0].is_nan() && v[3].is_nan() && v[1] == 150.0 && v[2] == 350.0);
        let b = attrs(&[
            ("valid_min", AttrValue::Int(vec![0])),
            ("scale_factor", AttrValue::Float64(vec![0.5])),
        ]);
        let d = CfDecoding::from_attrs(&FileType::I16, &b).expect("decoding");
        let mut w = vec![-1.0, 4.0];
        d.apply_f64(&mut w);
        assert!(w[0].is_nan());
        assert_eq!(w[1], 2.0);
    }
}
