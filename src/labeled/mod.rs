//! Labeled arrays: what xarray is to dask.array, this module is to [`crate::array`]. An
//! [`Array`](crate::array::Array) with a variable name, one dimension name per axis, 1-D
//! coordinates per dimension and attributes ([`LabeledArray`]), the rules saying which labels
//! stay true of a result computed from it, and which attributes survive which operation
//! (`attr_rules`).
//!
//! Which labels a result keeps (the rules `tessera eval` and the Rust API share):
//!
//! - elementwise operations (operators, math functions, `where`, ...) on several labeled
//!   operands line them up by dimension name first (`align`): the result has the union of
//!   their dimensions, and lengths or coordinates that disagree are an error naming the
//!   dimension. With one labeled operand, numbers and plain arrays broadcasting into its
//!   shape do not change what its axes are. Attributes are dropped, except by casts (the
//!   descriptive ones stay) and rechunking (all stay);
//! - reductions drop the reduced dimensions and their coordinates (`keepdims` keeps the
//!   dimensions, with length one, without coordinates); attributes as [`after_reduction`]
//!   says (`units` stay for a mean, `cell_methods` records it);
//! - indexing slices coordinates with the data (an integer drops the dimension); an index
//!   list or a one-axis mask selects that coordinate too; a whole-array mask drops the labels;
//! - transposing permutes the dimensions, squeezing drops length-one dimensions, expanding
//!   adds one;
//! - everything else (reshape, concatenate, matmul, ...) gives a plain array.
//!
//! [`crate::io`] builds labeled arrays from files and writes them back; [`crate::eval`]
//! carries them through `tessera eval` programs. Coordinates are small and live in the
//! client's memory; the data stays lazy. This module must not open files or evaluate
//! expressions.

mod align;
mod array;
mod attr_rules;
mod attrs;
mod coarsen;
mod error;
mod groupby;
pub(crate) mod rolling;
mod select;
pub mod time;
mod weighted;

pub use align::{align, Aligned};
pub use array::{Coordinate, KeepAttrs, LabeledArray};
pub use attr_rules::{after_cast, after_reduction, RANGE_ATTRS};
pub use attrs::{AttrValue, Attributes, ENCODING_ATTRS, INTERNAL_ATTRS};
pub use coarsen::{Coarsen, CoarsenBoundary, CoarsenReduce};
pub use error::LabelError;
pub use groupby::{GroupBy, GroupReduce};
pub use rolling::{Rolling, RollingReduce};
pub use select::{coordinate_data, Label, Method, Selector};
pub use weighted::{Weighted, WeightedReduce};

/// Default dimension names `dim_0, dim_1, ...` (xarray's).
pub fn default_dims(ndim: usize) -> Vec<String> {
    (0..ndim).map(|i| format!("dim_{i}")).collect()
}
