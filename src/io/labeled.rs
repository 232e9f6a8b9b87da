//! [`LabeledArray`]: an [`Array`] with the metadata a file gives it — a variable name, one
//! dimension name per axis, 1-D coordinate values per dimension, and attributes — carried
//! through the operations where the result is unambiguous:
//!
//! - reductions over named dimensions drop those dimensions and their coordinates;
//! - basic indexing slices the coordinates with the data (an integer index drops the
//!   dimension, a new axis gets a fresh name);
//! - shape-preserving operations ([`LabeledArray::map`]) keep dimensions and coordinates.
//!
//! Attributes describe the stored values (`units`, `long_name`, ...): like xarray's default,
//! they survive indexing only. Coordinates are small and live in the client's memory; the data
//! stays lazy. This module must not open files.

use std::collections::BTreeMap;

use crate::array::{Array, ArrayData, ArrayError, IndexItem, ReduceKind, ReduceOptions};
use crate::io::attrs::{AttrValue, Attributes};
use crate::io::error::IoError;
use crate::io::variable::default_dims;

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
/// use tessera::io::LabeledArray;
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
    pub fn with_dims(mut self, dims: &[&str]) -> Result<LabeledArray, IoError> {
        if dims.len() != self.array.ndim() {
            return Err(IoError::Invalid(format!(
                "{} dimension names for an array of {} dimensions",
                dims.len(),
                self.array.ndim()
            )));
        }
        for (i, d) in dims.iter().enumerate() {
            if dims[..i].contains(d) {
                return Err(IoError::Invalid(format!("dimension name {d} repeated")));
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
    ) -> Result<LabeledArray, IoError> {
        let axis = self.axis_of(dim)?;
        if values.shape() != [self.array.shape()[axis]] {
            return Err(IoError::Invalid(format!(
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
    pub fn axis_of(&self, dim: &str) -> Result<usize, IoError> {
        self.dims.iter().position(|d| d == dim).ok_or_else(|| {
            IoError::Invalid(format!(
                "{} has no dimension {dim} (it has {})",
                self.name,
                self.dims.join(", ")
            ))
        })
    }

    /// Builds labels from parts (used by the readers).
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
    /// dimensions and their coordinates are dropped, and so are the attributes.
    pub fn reduce_dims(&self, kind: ReduceKind, dims: &[&str]) -> Result<LabeledArray, IoError> {
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
    pub fn reduce_axes(&self, kind: ReduceKind, axes: &[usize]) -> Result<LabeledArray, IoError> {
        let opts = ReduceOptions::axes(axes.iter().map(|&a| a as isize));
        let array = self.array.reduce(kind, &opts)?;
        let keep: Vec<usize> = (0..self.dims.len()).filter(|a| !axes.contains(a)).collect();
        let dims: Vec<String> = keep.iter().map(|&a| self.dims[a].clone()).collect();
        let coords = self
            .coords
            .iter()
            .filter(|(d, _)| dims.contains(d))
            .map(|(d, c)| (d.clone(), c.clone()))
            .collect();
        Ok(LabeledArray {
            array,
            name: self.name.clone(),
            dims,
            coords,
            attrs: Attributes::new(),
        })
    }

    /// Basic indexing; coordinates are sliced the same way and attributes kept.
    pub fn index(&self, items: &[IndexItem]) -> Result<LabeledArray, IoError> {
        let array = self.array.index(items)?;
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
                        coords.insert(
                            dim.clone(),
                            Coordinate {
                                values,
                                attrs: c.attrs.clone(),
                            },
                        );
                    }
                    dims.push(dim);
                    axis += 1;
                }
            }
        }
        Ok(LabeledArray {
            array,
            name: self.name.clone(),
            dims,
            coords,
            attrs: self.attrs.clone(),
        })
    }

    /// A shape-preserving operation on the data (arithmetic, casts, masking, rechunking):
    /// dimensions and coordinates are kept, attributes dropped. A result of another shape
    /// gets default dimension names and no coordinates.
    pub fn map(
        &self,
        f: impl FnOnce(&Array) -> Result<Array, ArrayError>,
    ) -> Result<LabeledArray, IoError> {
        let array = f(&self.array)?;
        if array.shape() == self.array.shape() {
            Ok(LabeledArray {
                array,
                name: self.name.clone(),
                dims: self.dims.clone(),
                coords: self.coords.clone(),
                attrs: Attributes::new(),
            })
        } else {
            Ok(LabeledArray::new(array, &self.name))
        }
    }
}

/// One item per input axis or new axis: the ellipsis expanded and missing trailing axes
/// filled with full slices.
fn expand_items(items: &[IndexItem], ndim: usize) -> Result<Vec<IndexItem>, IoError> {
    let consuming = items
        .iter()
        .filter(|i| matches!(i, IndexItem::Int(_) | IndexItem::Slice { .. }))
        .count();
    let fill = ndim
        .checked_sub(consuming)
        .ok_or_else(|| IoError::Invalid(format!("{consuming} indices for {ndim} dimensions")))?;
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
    fn reduction_drops_the_dimension_its_coordinate_and_attributes() {
        let m = labeled()
            .reduce_dims(ReduceKind::Mean, &["time"])
            .expect("mean");
        assert_eq!(m.dims(), ["lat"]);
        assert_eq!(m.coords().keys().collect::<Vec<_>>(), ["lat"]);
        assert!(m.attrs().is_empty());
        assert!(labeled().reduce_dims(ReduceKind::Mean, &["depth"]).is_err());
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
