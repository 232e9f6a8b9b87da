//! HDF5 files through the `hdf5` crate (hdf5-metno, system libhdf5): describing a dataset,
//! reading a hyperslab, creating an output file, and writing chunks — already encoded
//! (`H5Dwrite_chunk`) or through the library's filter pipeline.
//!
//! Every call into libhdf5 goes through the crate's process-wide lock; parallelism comes from
//! several processes. This module must not decide which process writes when (see `store`).

use std::collections::BTreeMap;
use std::path::Path;

use hdf5::types::{FloatSize, IntSize, TypeDescriptor, VarLenAscii, VarLenUnicode};
use hdf5::{Dataset, File, Hyperslab, Location, Selection, SliceOrIndex};
use ndarray::IxDyn;

use crate::array::{ArrayData, ChunkView, DType};
use crate::io::dimension_scales;
use crate::io::error::IoError;
use crate::io::file_type::FileType;
use crate::io::output::OutputPlan;
use crate::io::raw_chunks;
use crate::io::variable::{default_dims, with_dtype, VarInfo};
use crate::labeled::Coordinate;
use crate::labeled::{AttrValue, Attributes, INTERNAL_ATTRS};

const FORMAT: &str = "HDF5";

/// Opens `path` for reading, with a precise error for missing, unreadable or corrupt files.
pub(crate) fn open(path: &str) -> Result<File, IoError> {
    check_readable(path)?;
    File::open(path).map_err(|e| IoError::Open {
        path: path.into(),
        format: FORMAT,
        reason: e.to_string(),
    })
}

/// Fails with [`IoError::NotFound`] or [`IoError::PermissionDenied`] before a library call
/// would give a vaguer message.
pub(crate) fn check_readable(path: &str) -> Result<(), IoError> {
    std::fs::File::open(path)
        .map(|_| ())
        .map_err(|e| IoError::from_os(path, &e, "open"))
}

fn dataset(file: &File, path: &str, name: &str) -> Result<Dataset, IoError> {
    if !name.is_empty() && file.link_exists(name) {
        if let Ok(ds) = file.dataset(name) {
            return Ok(ds);
        }
    }
    let mut available = Vec::new();
    list_datasets(file, &mut available);
    Err(IoError::MissingVariable {
        path: path.into(),
        what: "dataset",
        name: name.into(),
        available,
    })
}

fn list_datasets(group: &hdf5::Group, out: &mut Vec<String>) {
    if out.len() > 100 {
        return;
    }
    if let Ok(ds) = group.datasets() {
        out.extend(ds.iter().map(|d| d.name()));
    }
    if let Ok(groups) = group.groups() {
        for g in groups {
            list_datasets(&g, out);
        }
    }
}

fn file_type(desc: &TypeDescriptor) -> FileType {
    match desc {
        TypeDescriptor::Boolean => FileType::Bool,
        TypeDescriptor::Integer(IntSize::U1) => FileType::I8,
        TypeDescriptor::Integer(IntSize::U2) => FileType::I16,
        TypeDescriptor::Integer(IntSize::U4) => FileType::I32,
        TypeDescriptor::Integer(IntSize::U8) => FileType::I64,
        TypeDescriptor::Unsigned(IntSize::U1) => FileType::U8,
        TypeDescriptor::Unsigned(IntSize::U2) => FileType::U16,
        TypeDescriptor::Unsigned(IntSize::U4) => FileType::U32,
        TypeDescriptor::Unsigned(IntSize::U8) => FileType::U64,
        TypeDescriptor::Float(FloatSize::U4) => FileType::F32,
        TypeDescriptor::Float(FloatSize::U8) => FileType::F64,
        other => FileType::Other(format!("{other}")),
    }
}

fn read_attr(attr: &hdf5::Attribute) -> Option<AttrValue> {
    let dtype = attr.dtype().ok()?;
    let desc = dtype.to_descriptor().ok()?;
    match desc {
        TypeDescriptor::Integer(_) | TypeDescriptor::Unsigned(_) => {
            attr.read_raw::<i64>().ok().map(AttrValue::Int)
        }
        TypeDescriptor::Float(FloatSize::U4) => attr.read_raw::<f32>().ok().map(AttrValue::Float32),
        TypeDescriptor::Float(_) => attr.read_raw::<f64>().ok().map(AttrValue::Float64),
        TypeDescriptor::VarLenUnicode => {
            let v = attr.read_raw::<VarLenUnicode>().ok()?;
            text(v.iter().map(|s| s.as_str().to_string()).collect())
        }
        TypeDescriptor::VarLenAscii => {
            let v = attr.read_raw::<VarLenAscii>().ok()?;
            text(v.iter().map(|s| s.as_str().to_string()).collect())
        }
        TypeDescriptor::FixedAscii(n) | TypeDescriptor::FixedUnicode(n) => {
            let count = attr.size();
            let mut buf = vec![0u8; n * count];
            let ok = hdf5::sync::sync(|| {
                // SAFETY: the buffer holds `count` elements of the attribute's own type.
                unsafe { hdf5_sys::h5a::H5Aread(attr.id(), dtype.id(), buf.as_mut_ptr().cast()) }
            });
            if ok < 0 {
                return None;
            }
            text(
                buf.chunks(n.max(1))
                    .map(|c| {
                        let end = c.iter().position(|&b| b == 0).unwrap_or(c.len());
                        String::from_utf8_lossy(&c[..end]).trim_end().to_string()
                    })
                    .collect(),
            )
        }
        _ => None,
    }
}

fn text(v: Vec<String>) -> Option<AttrValue> {
    match v.len() {
        0 => None,
        1 => v.into_iter().next().map(AttrValue::Text),
        _ => Some(AttrValue::Text(v.join("\n"))),
    }
}

fn read_attrs(loc: &Location) -> (Attributes, Option<Vec<String>>) {
    let mut attrs = Attributes::new();
    let mut labels = None;
    for name in loc.attr_names().unwrap_or_default() {
        let Ok(attr) = loc.attr(&name) else { continue };
        if name == "DIMENSION_LABELS" {
            if let Ok(v) = attr.read_raw::<VarLenAscii>() {
                labels = Some(v.iter().map(|s| s.as_str().to_string()).collect());
            } else if let Ok(v) = attr.read_raw::<VarLenUnicode>() {
                labels = Some(v.iter().map(|s| s.as_str().to_string()).collect());
            }
            continue;
        }
        if INTERNAL_ATTRS.contains(&name.as_str()) {
            continue;
        }
        if let Some(v) = read_attr(&attr) {
            attrs.insert(name, v);
        }
    }
    (attrs, labels)
}

/// True for the datasets netCDF-4 creates for dimensions without a coordinate variable
/// (their values are not coordinates).
fn is_netcdf_phony_dimension(ds: &Dataset) -> bool {
    ds.attr("NAME")
        .ok()
        .and_then(|a| read_attr(&a))
        .and_then(|v| v.as_text().map(str::to_string))
        .is_some_and(|t| t.starts_with("This is a netCDF dimension but not a netCDF variable"))
}

/// Describes dataset `name` of `path`: dimension names from `DIMENSION_LABELS`, else from
/// the attached dimension scales, else `dim_0, dim_1, ...`; coordinates from the attached
/// scales, else root datasets named after the dimensions.
pub(crate) fn inspect(path: &str, name: &str) -> Result<VarInfo, IoError> {
    let file = open(path)?;
    let ds = dataset(&file, path, name)?;
    let stored = ds
        .dtype()
        .and_then(|t| t.to_descriptor())
        .map(|d| file_type(&d))
        .map_err(|e| IoError::Read {
            path: path.into(),
            name: name.into(),
            reason: e.to_string(),
        })?;
    let shape = ds.shape();
    let (attrs, labels) = read_attrs(&ds);
    // Dimension scales attached to the axes (netCDF-4 files, h5py's `dims[i].attach_scale`).
    let own_path = ds.name();
    let scales: Vec<Option<String>> = (0..shape.len())
        .map(|a| dimension_scales::attached_scale(&ds, a).filter(|p| *p != own_path))
        .collect();
    let scale_dims: Vec<String> = scales
        .iter()
        .filter_map(|p| p.as_deref())
        .map(|p| p.rsplit('/').next().unwrap_or(p).to_string())
        .collect();
    let distinct = (0..scale_dims.len()).all(|i| !scale_dims[..i].contains(&scale_dims[i]));
    let dims = match labels {
        Some(l) if l.len() == shape.len() && l.iter().all(|s| !s.is_empty()) => l,
        _ if scale_dims.len() == shape.len() && distinct && !shape.is_empty() => scale_dims,
        _ => default_dims(shape.len()),
    };
    let mut coords = Vec::new();
    for (axis, dim) in dims.iter().enumerate() {
        let coord_path = match &scales[axis] {
            Some(p) => p.clone(),
            None if dim.starts_with("dim_") => continue,
            None => dim.clone(),
        };
        if !file.link_exists(&coord_path) {
            continue;
        }
        let Ok(c) = file.dataset(&coord_path) else {
            continue;
        };
        if c.shape() != [shape[axis]] || is_netcdf_phony_dimension(&c) {
            continue;
        }
        let Ok(ft) = c
            .dtype()
            .and_then(|t| t.to_descriptor())
            .map(|d| file_type(&d))
        else {
            continue;
        };
        let Ok(dtype) = ft.array_dtype() else {
            continue;
        };
        let values = with_dtype!(dtype, T => c.read_dyn::<T>().map(ArrayData::from));
        if let Ok(values) = values {
            let (cattrs, _) = read_attrs(&c);
            coords.push((
                dim.clone(),
                Coordinate {
                    values,
                    attrs: cattrs,
                },
            ));
        }
    }
    Ok(VarInfo {
        shape,
        stored,
        storage_chunks: ds.chunk(),
        dims,
        attrs,
        coords,
    })
}

fn selection(origin: &[usize], shape: &[usize]) -> Selection {
    let slab: Vec<SliceOrIndex> = origin
        .iter()
        .zip(shape)
        .map(|(&o, &n)| SliceOrIndex::from(o..o + n))
        .collect();
    Selection::from(Hyperslab::from(slab))
}

/// Reads the hyperslab at `origin` of `shape` from dataset `name`, converted to `dtype`.
pub(crate) fn read_block(
    path: &str,
    name: &str,
    dtype: DType,
    origin: &[usize],
    shape: &[usize],
) -> Result<ArrayData, IoError> {
    let file = open(path)?;
    let ds = dataset(&file, path, name)?;
    let err = |e: hdf5::Error| IoError::Read {
        path: path.into(),
        name: name.into(),
        reason: format!("hyperslab at {origin:?} of shape {shape:?}: {e}"),
    };
    if shape.is_empty() {
        return with_dtype!(dtype, T => ds.read_dyn::<T>().map(ArrayData::from)).map_err(err);
    }
    if let Some(data) = raw_chunks::read(&ds, dtype, origin, shape)? {
        return Ok(data);
    }
    let sel = selection(origin, shape);
    with_dtype!(dtype, T => ds
        .read_slice::<T, _, IxDyn>(sel)
        .map(ArrayData::from))
    .map_err(err)
}

/// Reads a block of a NetCDF-4 variable through HDF5 raw chunks when the file is HDF5-based
/// and the variable's dataset `/name` has the variable's shape; `None` otherwise.
pub(crate) fn read_block_raw_only(
    path: &str,
    name: &str,
    dtype: DType,
    origin: &[usize],
    shape: &[usize],
    full_shape: &[usize],
) -> Option<ArrayData> {
    const SIGNATURE: &[u8; 8] = b"\x89HDF\r\n\x1a\n";
    let mut head = [0u8; 8];
    let ok = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head))
        .is_ok();
    if !ok || &head != SIGNATURE {
        return None;
    }
    let file = File::open(path).ok()?;
    let ds = file
        .dataset(&format!("/{}", name.trim_start_matches('/')))
        .ok()?;
    if ds.shape() != full_shape {
        return None;
    }
    raw_chunks::read(&ds, dtype, origin, shape).ok().flatten()
}

fn write_attr(loc: &Location, name: &str, value: &AttrValue) -> hdf5::Result<()> {
    if loc.attr_names()?.iter().any(|n| n == name) {
        loc.delete_attr(name)?;
    }
    match value {
        AttrValue::Text(s) => {
            let v: VarLenUnicode = s.parse().unwrap_or_default();
            loc.new_attr::<VarLenUnicode>()
                .create(name)?
                .write_scalar(&v)
        }
        AttrValue::Int(v) => write_vec(loc, name, v),
        AttrValue::Float32(v) => write_vec(loc, name, v),
        AttrValue::Float64(v) => write_vec(loc, name, v),
    }
}

fn write_vec<T: hdf5::H5Type>(loc: &Location, name: &str, v: &[T]) -> hdf5::Result<()> {
    if v.len() == 1 {
        loc.new_attr::<T>().create(name)?.write_scalar(&v[0])
    } else {
        loc.new_attr::<T>()
            .shape(v.len())
            .create(name)?
            .write_raw(v)
    }
}

/// Creates the output file `path` for `plan`: the (empty, chunked, filtered) dataset,
/// coordinate datasets named after the dimensions (at the root, attached to the dataset as
/// HDF5 dimension scales), `DIMENSION_LABELS`, attributes and the file's `history`.
/// Dimensions without a coordinate get no scale: their name is in `DIMENSION_LABELS` only.
/// With `fresh` false the dataset is added to the file another output of it created; a
/// coordinate scale already there is shared (the caller checked that the values agree).
pub(crate) fn create(path: &Path, plan: &OutputPlan, fresh: bool) -> Result<(), IoError> {
    let p = path.display().to_string();
    let werr = |e: hdf5::Error| IoError::Write {
        path: p.clone(),
        name: plan.name.clone(),
        reason: e.to_string(),
    };
    let file = if fresh {
        File::create(path)
    } else {
        File::open_rw(path)
    }
    .map_err(werr)?;
    with_dtype!(plan.dtype, T => {
        let mut b = file.new_dataset::<T>().shape(plan.shape.clone());
        if !plan.shape.is_empty() && plan.chunk.iter().all(|&c| c > 0) {
            b = b.chunk(plan.chunk.clone());
            let mut filters = Vec::new();
            if plan.codec.shuffle {
                filters.push(hdf5::filters::Filter::Shuffle);
            }
            if let Some(level) = plan.codec.deflate {
                filters.push(hdf5::filters::Filter::Deflate(level));
            }
            b = b.set_filters(&filters);
        }
        b.create(plan.name.as_str()).map_err(werr)?
    });
    let ds = file.dataset(&plan.name).map_err(werr)?;
    for (k, v) in &plan.attrs {
        write_attr(&ds, k, v).map_err(werr)?;
    }
    if !plan.shape.is_empty() {
        let labels: Vec<VarLenAscii> = plan
            .dims
            .iter()
            .map(|d| VarLenAscii::from_ascii(d).unwrap_or_default())
            .collect();
        ds.new_attr::<VarLenAscii>()
            .shape(labels.len())
            .create("DIMENSION_LABELS")
            .and_then(|a| a.write_raw(&labels))
            .map_err(werr)?;
    }
    let scale_err = |name: &str, reason: String| IoError::Write {
        path: p.clone(),
        name: name.to_string(),
        reason,
    };
    let own_dim = plan.name.trim_start_matches('/');
    if plan.dims.len() == 1 && plan.dims[0] == own_dim {
        // The dataset is itself a coordinate variable (e.g. `/lat` over `lat`).
        dimension_scales::set_scale(&ds, own_dim).map_err(|e| scale_err(own_dim, e))?;
    }
    let taken: BTreeMap<&str, ()> = [(plan.name.as_str(), ())].into_iter().collect();
    for (dim, c) in &plan.coords {
        let Some(axis) = plan.dims.iter().position(|d| d == dim) else {
            continue;
        };
        if taken.contains_key(dim.as_str()) || dim == own_dim {
            continue;
        }
        if file.link_exists(dim) {
            // A scale laid out by another output of this file: share it.
            if let Ok(cds) = file.dataset(dim) {
                if cds.attr("CLASS").is_ok() {
                    dimension_scales::attach_scale(&ds, &cds, axis)
                        .map_err(|e| scale_err(dim, e))?;
                }
            }
            continue;
        }
        let cds = with_dtype!(c.values.dtype(), T => {
            let v = c.values.clone().into_typed::<T>().map_err(|e| IoError::Write {
                path: p.clone(),
                name: dim.clone(),
                reason: e.to_string(),
            })?;
            file.new_dataset_builder()
                .with_data(&v)
                .create(dim.as_str())
                .map_err(werr)?
        });
        for (k, val) in &c.attrs {
            write_attr(&cds, k, val).map_err(werr)?;
        }
        dimension_scales::set_scale(&cds, dim).map_err(|e| scale_err(dim, e))?;
        dimension_scales::attach_scale(&ds, &cds, axis).map_err(|e| scale_err(dim, e))?;
    }
    if fresh {
        for (k, v) in &plan.global_attrs {
            write_attr(&file, k, v).map_err(werr)?;
        }
    }
    drop(ds);
    file.close().map_err(werr)
}

/// Opens an output file for writing chunks.
pub(crate) fn open_rw(path: &str) -> Result<File, IoError> {
    File::open_rw(path).map_err(|e| IoError::Write {
        path: path.into(),
        name: "(open for writing)".into(),
        reason: e.to_string(),
    })
}

/// Writes already-encoded chunks `(chunk origin, bytes)` into dataset `name` of an open file
/// with `H5Dwrite_chunk` (filter mask 0: every filter of the dataset was applied).
pub(crate) fn write_encoded_chunks(
    file: &File,
    path: &str,
    name: &str,
    chunks: &[(Vec<u64>, &[u8])],
) -> Result<(), IoError> {
    let ds = file.dataset(name).map_err(|e| IoError::Write {
        path: path.into(),
        name: name.into(),
        reason: e.to_string(),
    })?;
    for (origin, bytes) in chunks {
        let rc = hdf5::sync::sync(|| {
            // SAFETY: `origin` has one entry per dataset dimension and `bytes` outlives the
            // call; libhdf5 copies the buffer.
            unsafe {
                hdf5_sys::h5d::H5Dwrite_chunk(
                    ds.id(),
                    hdf5_sys::h5p::H5P_DEFAULT,
                    0,
                    origin.as_ptr(),
                    bytes.len(),
                    bytes.as_ptr().cast(),
                )
            }
        });
        if rc < 0 {
            return Err(IoError::Write {
                path: path.into(),
                name: name.into(),
                reason: format!(
                    "H5Dwrite_chunk at {origin:?} failed{}",
                    last_os_error_note()
                ),
            });
        }
    }
    drop(ds);
    Ok(())
}

/// Writes one block through the library's filter pipeline (compression in this process,
/// under the library lock).
pub(crate) fn write_block_filtered(
    file: &File,
    path: &str,
    name: &str,
    origin: &[usize],
    block: &ChunkView<'_>,
) -> Result<(), IoError> {
    let err = |e: String| IoError::Write {
        path: path.into(),
        name: name.into(),
        reason: e,
    };
    let ds = file.dataset(name).map_err(|e| err(e.to_string()))?;
    let sel = selection(origin, &block.shape);
    with_dtype!(block.dtype(), T => {
        let v = block.array_view::<T>().map_err(|e| err(e.to_string()))?;
        ds.write_slice(&v, sel).map_err(|e| err(e.to_string()))
    })
}

/// Closes a file, reporting errors of the final flush (disk full shows up here).
pub(crate) fn close(file: File, path: &str) -> Result<(), IoError> {
    file.close().map_err(|e| IoError::Write {
        path: path.into(),
        name: "(close)".into(),
        reason: format!("{e}{}", last_os_error_note()),
    })
}

fn last_os_error_note() -> String {
    let e = std::io::Error::last_os_error();
    match e.raw_os_error() {
        Some(0) | None => String::new(),
        Some(_) => format!(" (last system error: {e})"),
    }
}
