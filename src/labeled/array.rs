//! [`LabeledArray`]: an [`Array`] with the metadata a file gives it — a variable name, one
//! dimension name per axis, 1-D coordinate values per dimension, and attributes — carried
//! through the operations where the result is unambiguous:
//!
//! - reductions over named dimensions drop those dimensions and their coordinates;
//! - basic indexing slices the coordinates with the data (an integer index drops the
//!   dimension, a new axis gets a fresh name); taking positions or masking along one axis
//!   selects that coordinate the same way;
//! - transposing permutes the dimensions; squeezing drops length-one ones;
//! - shape-preserving operations ([`LabeledArray::map`]) keep dimensions and coordinates;
//! - elementwise operations on several labeled arrays keep the labels when they agree
//!   ([`LabeledArray::broadcast`]).
//!
//! The `after_*` methods give the labels of a result the caller computed from this array's
//! data (the expression evaluator computes with plain arrays and relabels). Which attributes
//! stay is decided in `attr_rules`. Coordinates are small and live in the client's memory;
//! the data stays lazy. This module must not open files.

use std::collections::BTreeMap;

use crate::array::{Array, ArrayData, ArrayError, IndexItem, ReduceKind, ReduceOptions};
use crate::labeled::attr_rules::{after_cast, after_reduction};
use crate::labeled::attrs::{AttrValue, Attributes};
use crate::labeled::default_dims;
use crate::labeled::error::LabelError;

/// Values along one dimension (in memory), with their attributes (`units`, `calendar`, ...).
#[derive(Clone, Debug, PartialEq)]
pub struct Coordinate {
    /// The 1-D values.
    pub values: ArrayData,
    /// Attributes of the coordinate variable.
    pub attrs: Attributes,
}

/// An array with a name, dimension names, coordinates and attributes.
///
/// ```
/// use tessera::array::{Array, DType, ReduceKind};
/// use tessera::labeled::LabeledArray;
/// let a = Array::ones(&[4, 3], DType::F64, 2).unwrap();
/// let t = LabeledArray::new(a, "tas").with_dims(&["time", "lat"]).unwrap();
/// let m = t.reduce_dims(ReduceKind::Mean, &["time"]).unwrap();
/// assert_eq!(m.dims(), ["lat"]);
/// assert_eq!(m.array().shape(), &[3]);
/// ```
#[derive(Clone, Debug)]
pub struct LabeledArray {
    array: Array,
    name: String,
    dims: Vec<String>,
    coords: BTreeMap<String, Coordinate>,
    attrs: Attributes,
}

impl LabeledArray {
    /// `array` named `name`, with dimensions `dim_0, dim_1, ...` and no coordinates.
    pub fn new(array: Array, name: &str) -> LabeledArray {
        LabeledArray {
            dims: default_dims(array.ndim()),
            array,
            name: name.to_string(),
            coords: BTreeMap::new(),
            attrs: Attributes::new(),
        }
    }

    /// The same array with these dimension names (one per axis, all different).
    pub fn with_dims(mut self, dims: &[&str]) -> Result<LabeledArray, LabelError> {
        if dims.len() != self.array.ndim() {
            return Err(LabelError::Invalid(format!(
                "{} dimension names for an array of {} dimensions",
                dims.len(),
                self.array.ndim()
            )));
        }
        for (i, d) in dims.iter().enumerate() {
            if dims[..i].contains(d) {
                return Err(LabelError::Invalid(format!("dimension name {d} repeated")));
            }
        }
        let renamed: BTreeMap<String, Coordinate> = self
            .dims
            .iter()
            .zip(dims)
            .filter_map(|(old, new)| self.coords.get(old).map(|c| (new.to_string(), c.clone())))
            .collect();
        self.dims = dims.iter().map(|d| d.to_string()).collect();
        self.coords = renamed;
        Ok(self)
    }

    /// The same array with coordinate `values` along dimension `dim`.
    pub fn with_coord(
        mut self,
        dim: &str,
        values: ArrayData,
        attrs: Attributes,
    ) -> Result<LabeledArray, LabelError> {
        let axis = self.axis_of(dim)?;
        if values.shape() != [self.array.shape()[axis]] {
            return Err(LabelError::Invalid(format!(
                "coordinate {dim} has shape {:?}, dimension {dim} has length {}",
                values.shape(),
                self.array.shape()[axis]
            )));
        }
        self.coords
            .insert(dim.to_string(), Coordinate { values, attrs });
        Ok(self)
    }

    /// The same array with attribute `name` set.
    pub fn with_attr(mut self, name: &str, value: impl Into<AttrValue>) -> LabeledArray {
        self.attrs.insert(name.to_string(), value.into());
        self
    }

    /// The same array with these attributes (replacing all).
    pub fn with_attrs(mut self, attrs: Attributes) -> LabeledArray {
        self.attrs = attrs;
        self
    }

    /// The same array under another name.
    pub fn renamed(mut self, name: &str) -> LabeledArray {
        self.name = name.to_string();
        self
    }

    /// The lazy data.
    pub fn array(&self) -> &Array {
        &self.array
    }

    /// The lazy data, without the labels.
    pub fn into_array(self) -> Array {
        self.array
    }

    /// The variable name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Dimension names, one per axis.
    pub fn dims(&self) -> &[String] {
        &self.dims
    }

    /// Coordinates by dimension name.
    pub fn coords(&self) -> &BTreeMap<String, Coordinate> {
        &self.coords
    }

    /// Attributes.
    pub fn attrs(&self) -> &Attributes {
        &self.attrs
    }

    /// Mutable attributes.
    pub fn attrs_mut(&mut self) -> &mut Attributes {
        &mut self.attrs
    }

    /// The axis of dimension `dim`.
    pub fn axis_of(&self, dim: &str) -> Result<usize, LabelError> {
        self.dims.iter().position(|d| d == dim).ok_or_else(|| {
            LabelError::Invalid(format!(
                "{} has no dimension {dim} (it has {})",
                self.name,
                self.dims.join(", ")
            ))
        })
    }

    /// Builds labels from parts (used by the readers).
    #[cfg(feature = "io")]
    pub(crate) fn from_parts(
        array: Array,
        name: &str,
        dims: Vec<String>,
        coords: BTreeMap<String, Coordinate>,
        attrs: Attributes,
    ) -> LabeledArray {
        LabeledArray {
            array,
            name: name.to_string(),
            dims,
            coords,
            attrs,
        }
    }

    /// A reduction over the named dimensions (all of them when `dims` is empty); the reduced
    /// dimensions and their coordinates are dropped, the attributes follow
    /// [`after_reduction`](crate::labeled::after_reduction).
    pub fn reduce_dims(&self, kind: ReduceKind, dims: &[&str]) -> Result<LabeledArray, LabelError> {
        let axes: Vec<usize> = if dims.is_empty() {
            (0..self.dims.len()).collect()
        } else {
            dims.iter()
                .map(|d| self.axis_of(d))
                .collect::<Result<_, _>>()?
        };
        self.reduce_axes(kind, &axes)
    }

    /// A reduction over axes by number; like [`LabeledArray::reduce_dims`].
    pub fn reduce_axes(
        &self,
        kind: ReduceKind,
        axes: &[usize],
    ) -> Result<LabeledArray, LabelError> {
        let opts = ReduceOptions::axes(axes.iter().map(|&a| a as isize));
        let array = self.array.reduce(kind, &opts)?;
        Ok(self.after_reduce(array, kind, axes, false))
    }

    /// The labels of `result`, the reduction `kind` of this array over `axes` (each below
    /// the rank): the reduced dimensions are dropped (kept with length one under
    /// `keepdims`), their coordinates dropped, the attributes as
    /// [`after_reduction`](crate::labeled::after_reduction) says.
    pub fn after_reduce(
        &self,
        result: Array,
        kind: ReduceKind,
        axes: &[usize],
        keepdims: bool,
    ) -> LabeledArray {
        let reduced: Vec<String> = (0..self.dims.len())
            .filter(|a| axes.contains(a))
            .map(|a| self.dims[a].clone())
            .collect();
        let dims: Vec<String> = if keepdims {
            self.dims.clone()
        } else {
            self.dims
                .iter()
                .filter(|d| !reduced.contains(d))
                .cloned()
                .collect()
        };
        let coords = self
            .coords
            .iter()
            .filter(|(d, _)| !reduced.contains(d))
            .map(|(d, c)| (d.clone(), c.clone()))
            .collect();
        self.relabeled(
            result,
            dims,
            coords,
            after_reduction(kind, &self.attrs, &reduced),
        )
    }

    /// Basic indexing; coordinates are sliced the same way and attributes kept.
    pub fn index(&self, items: &[IndexItem]) -> Result<LabeledArray, LabelError> {
        let array = self.array.index(items)?;
        self.after_index(array, items)
    }

    /// The labels of `result`, this array indexed by `items` (basic indexing): coordinates
    /// sliced like the data, an integer drops its dimension, a new axis gets a fresh name
    /// (`new_axis_0`, ...); attributes kept.
    pub fn after_index(
        &self,
        result: Array,
        items: &[IndexItem],
    ) -> Result<LabeledArray, LabelError> {
        let per_axis = expand_items(items, self.dims.len())?;
        let mut dims = Vec::new();
        let mut coords = BTreeMap::new();
        let mut axis = 0;
        let mut fresh = 0;
        for item in per_axis {
            match item {
                IndexItem::NewAxis => {
                    let mut name = format!("new_axis_{fresh}");
                    while self.dims.contains(&name) || dims.contains(&name) {
                        fresh += 1;
                        name = format!("new_axis_{fresh}");
                    }
                    fresh += 1;
                    dims.push(name);
                }
                IndexItem::Int(_) => axis += 1,
                slice => {
                    let dim = self.dims[axis].clone();
                    if let Some(c) = self.coords.get(&dim) {
                        let values = Array::from_data(&c.values, c.values.len().max(1))?
                            .index(&[slice])?
                            .compute_local()?;
                        coords.insert(dim.clone(), c.with_values(values));
                    }
                    dims.push(dim);
                    axis += 1;
                }
            }
        }
        let attrs = self.attrs.clone();
        Ok(self.relabeled(result, dims, coords, attrs))
    }

    /// The labels of `result`, this array with its axes permuted (`result` axis `i` is axis
    /// `perm[i]` here); coordinates and attributes kept.
    pub fn after_permute(&self, result: Array, perm: &[usize]) -> Result<LabeledArray, LabelError> {
        let dims = perm
            .iter()
            .map(|&a| {
                self.dims.get(a).cloned().ok_or_else(|| {
                    LabelError::Invalid(format!("axis {a} of a permutation out of range"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(self.relabeled(result, dims, self.coords.clone(), self.attrs.clone()))
    }

    /// The labels of `result`, this array with the positions `indices` (negative counts
    /// from the end) taken along `axis`: that coordinate is taken too; attributes kept.
    pub fn after_take(
        &self,
        result: Array,
        axis: usize,
        indices: &[i64],
    ) -> Result<LabeledArray, LabelError> {
        self.after_select(result, axis, |a| a.take(indices, 0))
    }

    /// The labels of `result`, this array with the positions where `mask` is true kept
    /// along `axis`: that coordinate is masked too; attributes kept.
    pub fn after_compress(
        &self,
        result: Array,
        axis: usize,
        mask: &[bool],
    ) -> Result<LabeledArray, LabelError> {
        self.after_select(result, axis, |a| a.compress(mask, 0))
    }

    fn after_select(
        &self,
        result: Array,
        axis: usize,
        select: impl FnOnce(&Array) -> Result<Array, ArrayError>,
    ) -> Result<LabeledArray, LabelError> {
        let dim = self
            .dims
            .get(axis)
            .ok_or_else(|| LabelError::Invalid(format!("axis {axis} out of range")))?;
        let mut coords = self.coords.clone();
        if let Some(c) = self.coords.get(dim) {
            let values =
                select(&Array::from_data(&c.values, c.values.len().max(1))?)?.compute_local()?;
            coords.insert(dim.clone(), c.with_values(values));
        }
        let dims = self.dims.clone();
        Ok(self.relabeled(result, dims, coords, self.attrs.clone()))
    }

    /// The labels of `result`, this array without the (length-one) `axes`: their dimensions
    /// and coordinates dropped; attributes kept.
    pub fn after_squeeze(&self, result: Array, axes: &[usize]) -> LabeledArray {
        let gone: Vec<&String> = axes.iter().filter_map(|&a| self.dims.get(a)).collect();
        let dims = self
            .dims
            .iter()
            .filter(|d| !gone.contains(d))
            .cloned()
            .collect();
        let coords = self
            .coords
            .iter()
            .filter(|(d, _)| !gone.contains(d))
            .map(|(d, c)| (d.clone(), c.clone()))
            .collect();
        self.relabeled(result, dims, coords, self.attrs.clone())
    }

    /// The labels of `result`, this array with a new length-one axis at `axis` (of the
    /// result): a fresh dimension name; coordinates and attributes kept.
    pub fn after_expand_dims(&self, result: Array, axis: usize) -> LabeledArray {
        let mut fresh = 0;
        let mut name = format!("new_axis_{fresh}");
        while self.dims.contains(&name) {
            fresh += 1;
            name = format!("new_axis_{fresh}");
        }
        let mut dims = self.dims.clone();
        dims.insert(axis.min(dims.len()), name);
        self.relabeled(result, dims, self.coords.clone(), self.attrs.clone())
    }

    /// The labels of `result`, a value-by-value function of this array: of the same shape,
    /// dimensions and coordinates are kept and attributes as `attrs` says; of another shape,
    /// `dim_0, dim_1, ...` and nothing else.
    pub fn after_elementwise(&self, result: Array, attrs: KeepAttrs) -> LabeledArray {
        if result.shape() != self.array.shape() {
            return LabeledArray::new(result, &self.name);
        }
        let attrs = match attrs {
            KeepAttrs::All => self.attrs.clone(),
            KeepAttrs::Descriptive => after_cast(&self.attrs),
            KeepAttrs::None => Attributes::new(),
        };
        self.relabeled(result, self.dims.clone(), self.coords.clone(), attrs)
    }

    /// The labels of `result`, computed elementwise (with broadcasting) from `inputs`, when
    /// they are unambiguous: `result` has the shape of one of the inputs, and every input,
    /// aligned from the last axis as broadcasting aligns them, has the same dimension names
    /// and, where both have a coordinate of the same length, the same coordinate values.
    /// Inputs without labels (numbers, plain arrays) are left out by the caller: they
    /// broadcast into the labeled shape without changing what its axes are. `None` when the
    /// labels conflict. Attributes are dropped.
    pub fn broadcast(result: Array, inputs: &[&LabeledArray]) -> Option<LabeledArray> {
        let model = inputs.iter().find(|l| l.array.shape() == result.shape())?;
        let n = model.dims.len();
        for other in inputs {
            let m = other.dims.len();
            if m > n {
                return None;
            }
            for (i, dim) in other.dims.iter().enumerate() {
                let axis = n - m + i;
                if &model.dims[axis] != dim {
                    return None;
                }
                if let (Some(a), Some(b)) = (model.coords.get(dim), other.coords.get(dim)) {
                    if a.values.len() == b.values.len() && a.values != b.values {
                        return None;
                    }
                }
            }
        }
        Some(model.after_elementwise(result, KeepAttrs::None))
    }

    /// True when there is nothing to carry: default dimension names, no coordinates, no
    /// attributes.
    pub fn is_bare(&self) -> bool {
        self.coords.is_empty()
            && self.attrs.is_empty()
            && self.dims == default_dims(self.dims.len())
    }

    fn relabeled(
        &self,
        array: Array,
        dims: Vec<String>,
        coords: BTreeMap<String, Coordinate>,
        attrs: Attributes,
    ) -> LabeledArray {
        if dims.len() != array.ndim() {
            // The caller's result does not match the operation: labels would be wrong.
            return LabeledArray::new(array, &self.name);
        }
        let coords = coords
            .into_iter()
            .filter(|(d, c)| {
                dims.iter()
                    .position(|x| x == d)
                    .is_some_and(|a| c.values.shape() == [array.shape()[a]])
            })
            .collect();
        LabeledArray {
            array,
            name: self.name.clone(),
            dims,
            coords,
            attrs,
        }
    }

    /// A shape-preserving operation on the data (arithmetic, casts, masking, rechunking):
    /// dimensions and coordinates are kept, attributes dropped. A result of another shape
    /// gets default dimension names and no coordinates.
    pub fn map(
        &self,
        f: impl FnOnce(&Array) -> Result<Array, ArrayError>,
    ) -> Result<LabeledArray, LabelError> {
        let array = f(&self.array)?;
        Ok(self.after_elementwise(array, KeepAttrs::None))
    }
}

/// What a shape-preserving operation does to the attributes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeepAttrs {
    /// Values unchanged (rechunking, the identity): every attribute stays.
    All,
    /// A cast: the descriptive attributes stay, the encoding ones go
    /// ([`after_cast`](crate::labeled::after_cast)).
    Descriptive,
    /// Values changed (arithmetic, math functions): no attribute stays.
    None,
}

impl Coordinate {
    fn with_values(&self, values: ArrayData) -> Coordinate {
        Coordinate {
            values,
            attrs: self.attrs.clone(),
        }
    }
}

/// One item per input axis or new axis: the ellipsis expanded and missing trailing axes
/// filled with full slices.
fn expand_items(items: &[IndexItem], ndim: usize) -> Result<Vec<IndexItem>, LabelError> {
    let consuming = items
        .iter()
        .filter(|i| matches!(i, IndexItem::Int(_) | IndexItem::Slice { .. }))
        .count();
    let fill = ndim
        .checked_sub(consuming)
        .ok_or_else(|| LabelError::Invalid(format!("{consuming} indices for {ndim} dimensions")))?;
    let mut out = Vec::new();
    let mut expanded = false;
    for it in items {
        if let IndexItem::Ellipsis = it {
            out.extend(std::iter::repeat_n(IndexItem::full(), fill));
            expanded = true;
        } else {
            out.push(*it);
        }
    }
    if !expanded {
        out.extend(std::iter::repeat_n(IndexItem::full(), fill));
    }
    Ok(out)
}

impl From<Array> for LabeledArray {
    fn from(array: Array) -> Self {
        LabeledArray::new(array, "data")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::array::DType;

    fn labeled() -> LabeledArray {
        let a = Array::arange(0, 24, 1, DType::F64, 5)
            .and_then(|a| a.reshape(&[4, 6]))
            .expect("array");
        let time = ArrayData::from(ndarray::arr1(&[10i64, 20, 30, 40]).into_dyn());
        let lat = ArrayData::from(ndarray::arr1(&[0.0f64, 1., 2., 3., 4., 5.]).into_dyn());
        LabeledArray::new(a, "t")
            .with_dims(&["time", "lat"])
            .and_then(|l| l.with_coord("time", time, Attributes::new()))
            .and_then(|l| l.with_coord("lat", lat, Attributes::new()))
            .map(|l| l.with_attr("units", "K"))
            .expect("labels")
    }

    #[test]
    fn reduction_drops_the_dimension_and_its_coordinate_and_keeps_valid_attributes() {
        let m = labeled()
            .reduce_dims(ReduceKind::Mean, &["time"])
            .expect("mean");
        assert_eq!(m.dims(), ["lat"]);
        assert_eq!(m.coords().keys().collect::<Vec<_>>(), ["lat"]);
        assert_eq!(m.attrs().get("units"), Some(&AttrValue::from("K")));
        assert_eq!(
            m.attrs().get("cell_methods"),
            Some(&AttrValue::from("time: mean"))
        );
        let a = labeled()
            .reduce_dims(ReduceKind::ArgMax, &["lat"])
            .expect("argmax");
        assert!(a.attrs().is_empty());
        assert!(labeled().reduce_dims(ReduceKind::Mean, &["depth"]).is_err());
        // keepdims keeps the dimension (length one) but not its coordinate.
        let x = labeled();
        let kept = x
            .array()
            .reduce(ReduceKind::Mean, &ReduceOptions::axes([0]).keepdims(true))
            .expect("keepdims");
        let k = x.after_reduce(kept, ReduceKind::Mean, &[0], true);
        assert_eq!(k.dims(), ["time", "lat"]);
        assert_eq!(k.coords().keys().collect::<Vec<_>>(), ["lat"]);
    }

    #[test]
    fn transpose_take_mask_squeeze_and_expand_follow_the_axes() {
        let x = labeled();
        let t = x.after_permute(x.array().t(), &[1, 0]).expect("permute");
        assert_eq!(t.dims(), ["lat", "time"]);
        assert_eq!(t.coords().len(), 2);
        let taken = x.array().take(&[3, -1, 0], 1).expect("take");
        let tk = x.after_take(taken, 1, &[3, -1, 0]).expect("take labels");
        assert_eq!(tk.coords()["lat"].values.to_f64_vec(), vec![3.0, 5.0, 0.0]);
        let mask = [true, false, false, true];
        let masked = x.array().compress(&mask, 0).expect("compress");
        let m = x.after_compress(masked, 0, &mask).expect("mask labels");
        assert_eq!(m.coords()["time"].values.to_f64_vec(), vec![10.0, 40.0]);
        let one = x
            .index(&[IndexItem::slice(Some(0), Some(1), 1)])
            .expect("first");
        let sq = one.after_squeeze(one.array().squeeze(&[0]).expect("squeeze"), &[0]);
        assert_eq!(sq.dims(), ["lat"]);
        assert_eq!(sq.attrs().get("units"), Some(&AttrValue::from("K")));
        let ex = x.after_expand_dims(x.array().expand_dims(1).expect("expand"), 1);
        assert_eq!(ex.dims(), ["time", "new_axis_0", "lat"]);
    }

    #[test]
    fn broadcasting_keeps_labels_that_agree_and_drops_conflicting_ones() {
        let x = labeled();
        let clim = x.reduce_axes(ReduceKind::Mean, &[0]).expect("mean");
        let anomaly = (x.array() - clim.array()).expect("subtract");
        let a = LabeledArray::broadcast(anomaly.clone(), &[&x, &clim]).expect("agree");
        assert_eq!(a.dims(), ["time", "lat"]);
        assert_eq!(a.coords().len(), 2);
        assert!(a.attrs().is_empty());
        let renamed = x.clone().with_dims(&["time", "lon"]).expect("rename");
        assert!(LabeledArray::broadcast(anomaly.clone(), &[&x, &renamed]).is_none());
        let other = ArrayData::from(ndarray::arr1(&[9.0f64, 1., 2., 3., 4., 5.]).into_dyn());
        let moved = x
            .clone()
            .with_coord("lat", other, Attributes::new())
            .expect("coord");
        assert!(LabeledArray::broadcast(anomaly, &[&x, &moved]).is_none());
    }

    #[test]
    fn slicing_slices_coordinates_and_an_integer_drops_the_dimension() {
        let s = labeled()
            .index(&[IndexItem::slice(Some(1), None, 2), IndexItem::Int(3)])
            .expect("index");
        assert_eq!(s.dims(), ["time"]);
        assert_eq!(s.coords()["time"].values.to_f64_vec(), vec![20.0, 40.0]);
        assert_eq!(s.attrs().get("units"), Some(&AttrValue::from("K")));
        let n = labeled()
            .index(&[IndexItem::NewAxis, IndexItem::Ellipsis])
            .expect("newaxis");
        assert_eq!(n.dims(), ["new_axis_0", "time", "lat"]);
    }

    #[test]
    fn shape_preserving_maps_keep_coordinates() {
        let k = labeled().map(|a| a + 1.0).expect("map");
        assert_eq!(k.dims(), ["time", "lat"]);
        assert_eq!(k.coords().len(), 2);
        let r = labeled().map(|a| a.reshape(&[24])).expect("reshape");
        assert_eq!(r.dims(), ["dim_0"]);
        assert!(r.coords().is_empty());
    }
}
