//! Lining labeled operands up by dimension name before an elementwise operation, as xarray
//! does: the result has the first operand's dimensions, then those of the others it lacks,
//! in their order; each operand is transposed into that order and given length-one axes for
//! the dimensions it does not have, so positional broadcasting then pairs axes by name.
//!
//! A dimension shared by two operands must have the same length (or length one without a
//! coordinate, as a `keepdims` reduction leaves it), and where both have a coordinate the
//! values must be equal: otherwise the error names the dimension. xarray would instead
//! intersect the coordinates (an inner join) and silently drop the steps that differ; a
//! misaligned grid is far more often a mistake than an intended join.
//!
//! This module must not compute arrays (transposing and reshaping are lazy).

use std::collections::BTreeMap;

use crate::array::Array;

use super::array::{Coordinate, LabeledArray};
use super::error::LabelError;

/// Operands lined up by name, and the labels their result gets.
#[derive(Debug)]
pub struct Aligned {
    /// Each operand's data, transposed and expanded to the result's dimensions.
    pub arrays: Vec<Array>,
    /// The result's dimension names.
    pub dims: Vec<String>,
    /// The result's coordinates.
    pub coords: BTreeMap<String, Coordinate>,
}

impl Aligned {
    /// The labels of `result`, computed elementwise from the aligned arrays (named after
    /// the first operand, no attributes).
    pub fn label(&self, result: Array, name: &str) -> Result<LabeledArray, LabelError> {
        let dims: Vec<&str> = self.dims.iter().map(String::as_str).collect();
        let mut out = LabeledArray::new(result, name).with_dims(&dims)?;
        for (dim, c) in &self.coords {
            let axis = out.axis_of(dim)?;
            if out.array().shape()[axis] == c.values.len() {
                out = out.with_coord(dim, c.values.clone(), c.attrs.clone())?;
            }
        }
        Ok(out)
    }
}

/// Lines `inputs` up by dimension name (see the module documentation).
pub fn align(inputs: &[&LabeledArray]) -> Result<Aligned, LabelError> {
    let mut dims: Vec<String> = Vec::new();
    let mut sizes: BTreeMap<String, usize> = BTreeMap::new();
    let mut coords: BTreeMap<String, Coordinate> = BTreeMap::new();
    for l in inputs {
        for (axis, dim) in l.dims().iter().enumerate() {
            let n = l.array().shape()[axis];
            let coord = l.coords().get(dim);
            match sizes.get(dim).copied() {
                None => {
                    dims.push(dim.clone());
                    sizes.insert(dim.clone(), n);
                }
                Some(m) if m == n => {}
                Some(1) if !coords.contains_key(dim) => {
                    sizes.insert(dim.clone(), n);
                }
                Some(_) if n == 1 && coord.is_none() => {}
                Some(m) => {
                    return Err(LabelError::Invalid(format!(
                        "dimension {dim} has length {m} in one operand and {n} in {}; \
                         select the same steps first (sel/isel)",
                        l.name()
                    )))
                }
            }
            if let Some(c) = coord {
                match coords.get(dim) {
                    Some(seen) if seen.values != c.values => {
                        return Err(LabelError::Invalid(format!(
                            "the coordinates of dimension {dim} disagree between the operands \
                             ({}); select matching steps (sel) before combining them",
                            differs(&seen.values.to_f64_vec(), &c.values.to_f64_vec())
                        )))
                    }
                    Some(_) => {}
                    None => {
                        coords.insert(dim.clone(), c.clone());
                    }
                }
            }
        }
    }
    let arrays = inputs
        .iter()
        .map(|l| expand_to(l, &dims))
        .collect::<Result<_, _>>()?;
    Ok(Aligned {
        arrays,
        dims,
        coords,
    })
}

/// `l`'s data with its axes in the order of `dims` and length-one axes for the others.
fn expand_to(l: &LabeledArray, dims: &[String]) -> Result<Array, LabelError> {
    let order: Vec<usize> = dims
        .iter()
        .filter_map(|d| l.dims().iter().position(|x| x == d))
        .collect();
    let mut a = if order.iter().enumerate().all(|(i, &o)| i == o) {
        l.array().clone()
    } else {
        l.array().permute(&order)?
    };
    for (axis, d) in dims.iter().enumerate() {
        if !l.dims().contains(d) {
            a = a.expand_dims(axis as isize)?;
        }
    }
    Ok(a)
}

/// Where two coordinates first differ, for the message.
fn differs(a: &[f64], b: &[f64]) -> String {
    if a.len() != b.len() {
        return format!("{} values against {}", a.len(), b.len());
    }
    match a.iter().zip(b).position(|(x, y)| x != y) {
        Some(i) => format!("at position {i}: {} against {}", a[i], b[i]),
        None => "equal values, different types".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::array::DType;
    use crate::labeled::{coordinate_data, Attributes};

    fn grid(dims: &[&str], shape: &[usize]) -> LabeledArray {
        let n: usize = shape.iter().product();
        let a = Array::arange(0, n as i64, 1, DType::F64, 4)
            .and_then(|a| a.reshape(shape))
            .expect("array");
        let mut l = LabeledArray::new(a, "v").with_dims(dims).expect("dims");
        for (d, &len) in dims.iter().zip(shape) {
            let values: Vec<f64> = (0..len).map(|i| i as f64 * 10.0).collect();
            l = l
                .with_coord(d, coordinate_data(&values), Attributes::new())
                .expect("coord");
        }
        l
    }

    #[test]
    fn operands_line_up_by_name_and_disagreements_name_the_dimension() {
        let x = grid(&["time", "lat"], &[4, 3]);
        let y = grid(&["lat", "time"], &[3, 4]);
        let a = align(&[&x, &y]).expect("same dims, other order");
        assert_eq!(a.dims, ["time", "lat"]);
        assert_eq!(a.arrays[1].shape(), &[4, 3]);
        let z = grid(&["lon"], &[5]);
        let b = align(&[&x, &z]).expect("outer");
        assert_eq!(b.dims, ["time", "lat", "lon"]);
        assert_eq!(b.arrays[0].shape(), &[4, 3, 1]);
        assert_eq!(b.arrays[1].shape(), &[1, 1, 5]);
        let short = grid(&["lat"], &[2]);
        let err = align(&[&x, &short]).expect_err("lengths differ");
        assert!(
            err.to_string().contains("dimension lat has length 3"),
            "{err}"
        );
        let shifted = x
            .clone()
            .with_coord(
                "lat",
                coordinate_data(&[0.0, 10.0, 25.0]),
                Attributes::new(),
            )
            .expect("coord");
        let err = align(&[&x, &shifted]).expect_err("coordinates differ");
        assert!(err.to_string().contains("dimension lat disagree"), "{err}");
        assert!(
            err.to_string().contains("position 2: 20 against 25"),
            "{err}"
        );
    }
}
