//! Opening files as lazy labeled arrays: [`from_hdf5`], [`from_netcdf`] and their
//! `_with` forms taking [`ReadOptions`], for one file, a glob, or a list of files
//! concatenated along a dimension.
//!
//! The client reads only metadata (shape, type, storage chunks, attributes, 1-D
//! coordinates); the data is read by `tessera.io.read` tasks on the workers, and graph
//! culling keeps unneeded chunks unread. This module must not read data blocks.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::array::{Array, ArrayData, ChunkSpec};
use crate::io::cf::CfDecoding;
use crate::io::chunking::default_spec;
use crate::io::error::IoError;
use crate::io::format::Format;
use crate::io::glob::{expand_glob, is_pattern};
use crate::io::kernels::names;
use crate::io::source::{ReadArgs, SourceFile};
use crate::io::variable::VarInfo;
use crate::io::{hdf5_file, netcdf_file};
use crate::labeled::ENCODING_ATTRS;
use crate::labeled::{Coordinate, LabeledArray};

/// How files are read.
///
/// ```
/// use tessera::io::ReadOptions;
/// let o = ReadOptions::new().chunks([10, 100, 100]).raw().concat_dim("time");
/// # let _ = o;
/// ```
#[derive(Clone, Debug, Default)]
pub struct ReadOptions {
    chunks: Option<ChunkSpec>,
    decode_cf: Option<bool>,
    concat_dim: Option<String>,
}

impl ReadOptions {
    /// Defaults: storage-aligned chunks; CF decoding for NetCDF, raw values for HDF5; files
    /// concatenated along their first dimension.
    pub fn new() -> Self {
        ReadOptions::default()
    }

    /// Explicit chunks (blocks never straddle two files of a multi-file input).
    pub fn chunks(mut self, chunks: impl Into<ChunkSpec>) -> Self {
        self.chunks = Some(chunks.into());
        self
    }

    /// Values as stored: no masking, no unpacking (encoding attributes are kept).
    pub fn raw(mut self) -> Self {
        self.decode_cf = Some(false);
        self
    }

    /// Apply CF decoding (`_FillValue`, `missing_value`, `scale_factor`, `add_offset`) —
    /// the default for NetCDF; opt in for HDF5 files that carry these attributes.
    pub fn decode_cf(mut self, on: bool) -> Self {
        self.decode_cf = Some(on);
        self
    }

    /// The dimension multi-file inputs are concatenated along (default: the first).
    pub fn concat_dim(mut self, dim: &str) -> Self {
        self.concat_dim = Some(dim.to_string());
        self
    }
}

/// Dataset `dataset` of the HDF5 file `path` (or of every file matching a glob, concatenated).
///
/// ```no_run
/// let t = tessera::io::from_hdf5("era5.h5", "/t2m").unwrap();
/// let clim = t.reduce_dims(tessera::array::ReduceKind::Mean, &["dim_0"]).unwrap();
/// # let _ = clim;
/// ```
pub fn from_hdf5(path: impl AsRef<Path>, dataset: &str) -> Result<LabeledArray, IoError> {
    from_hdf5_with(path, dataset, &ReadOptions::new())
}

/// [`from_hdf5`] with options.
pub fn from_hdf5_with(
    path: impl AsRef<Path>,
    dataset: &str,
    opts: &ReadOptions,
) -> Result<LabeledArray, IoError> {
    open(Format::Hdf5, &resolve(path.as_ref())?, dataset, opts)
}

/// Variable `variable` of the NetCDF file `path` (or of every file matching a glob,
/// concatenated), CF-decoded.
pub fn from_netcdf(path: impl AsRef<Path>, variable: &str) -> Result<LabeledArray, IoError> {
    from_netcdf_with(path, variable, &ReadOptions::new())
}

/// [`from_netcdf`] with options.
pub fn from_netcdf_with(
    path: impl AsRef<Path>,
    variable: &str,
    opts: &ReadOptions,
) -> Result<LabeledArray, IoError> {
    open(Format::NetCdf, &resolve(path.as_ref())?, variable, opts)
}

/// A list of files of one format concatenated along a dimension (xarray's
/// `open_mfdataset`, `cdo mergetime`): every other dimension, the type and the dimension
/// names must agree with the first file.
pub fn open_files(
    format: Format,
    files: &[PathBuf],
    name: &str,
    opts: &ReadOptions,
) -> Result<LabeledArray, IoError> {
    open(format, files, name, opts)
}

fn resolve(path: &Path) -> Result<Vec<PathBuf>, IoError> {
    let s = path.display().to_string();
    if is_pattern(&s) && !path.exists() {
        expand_glob(&s)
    } else {
        Ok(vec![path.to_path_buf()])
    }
}

fn inspect(format: Format, path: &str, name: &str) -> Result<VarInfo, IoError> {
    match format {
        Format::Hdf5 => hdf5_file::inspect(path, name),
        Format::NetCdf => netcdf_file::inspect(path, name),
    }
}

fn open(
    format: Format,
    files: &[PathBuf],
    name: &str,
    opts: &ReadOptions,
) -> Result<LabeledArray, IoError> {
    let paths: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
    let first_path = paths.first().ok_or_else(|| IoError::NoFiles {
        pattern: "(empty list)".into(),
    })?;
    let first = inspect(format, first_path, name)?;
    let raw_dtype = first
        .stored
        .array_dtype()
        .map_err(|hint| IoError::UnsupportedType {
            path: first_path.clone(),
            name: name.into(),
            found: first.stored.to_string(),
            hint,
        })?;
    let axis = match (&opts.concat_dim, paths.len()) {
        (_, 1) => 0,
        (Some(d), _) => first.dims.iter().position(|x| x == d).ok_or_else(|| {
            IoError::Invalid(format!(
                "{first_path}: {name} has no dimension {d} to concatenate along (it has {})",
                first.dims.join(", ")
            ))
        })?,
        (None, _) if first.shape.is_empty() => {
            return Err(IoError::Invalid(format!(
                "{first_path}: {name} is a scalar; several files cannot be concatenated"
            )))
        }
        (None, _) => 0,
    };
    let mut infos = vec![first.clone()];
    for p in &paths[1..] {
        let info = inspect(format, p, name)?;
        let mismatch = |reason: String| IoError::Mismatch {
            path: p.clone(),
            first: first_path.clone(),
            name: name.into(),
            reason,
        };
        if info.stored != first.stored {
            return Err(mismatch(format!(
                "has type {}, the first file {}",
                info.stored, first.stored
            )));
        }
        if info.dims != first.dims {
            return Err(mismatch(format!(
                "has dimensions ({}), the first file ({})",
                info.dims.join(", "),
                first.dims.join(", ")
            )));
        }
        for (a, (&n, &m)) in info.shape.iter().zip(&first.shape).enumerate() {
            if a != axis && n != m {
                return Err(mismatch(format!(
                    "has {} = {n}, the first file {m}",
                    first.dims[a]
                )));
            }
        }
        infos.push(info);
    }
    if let [a, b, ..] = infos.as_slice() {
        repeated_coordinate(a, b, axis).map_or(Ok(()), |dim| {
            Err(IoError::Mismatch {
                path: paths[1].clone(),
                first: first_path.clone(),
                name: name.into(),
                reason: format!(
                    "has the same {dim} coordinate as the first file: concatenating the files \
                     along {dim} would repeat it (a variable without the dimension the files \
                     split, such as time); read it from one file, or name the dimension with \
                     concat_dim"
                ),
            })
        })?;
    }
    let mut source_files = Vec::new();
    let mut start = 0;
    for (p, info) in paths.iter().zip(&infos) {
        let len = info.shape.get(axis).copied().unwrap_or(1);
        source_files.push(SourceFile {
            path: p.clone(),
            start,
            len,
        });
        start += len;
    }
    let mut shape = first.shape.clone();
    if let Some(s) = shape.get_mut(axis) {
        *s = start;
    }
    let decode = if opts.decode_cf.unwrap_or(format == Format::NetCdf) {
        CfDecoding::from_attrs(&first.stored, &first.attrs)
    } else {
        None
    };
    let read = ReadArgs {
        format,
        name: name.to_string(),
        files: source_files,
        axis,
        stored: first.stored.clone(),
        decode,
    };
    let dtype = read.out_dtype()?;
    let spec = default_spec(
        opts.chunks.clone(),
        &first.shape,
        first.storage_chunks.as_deref(),
        raw_dtype.itemsize(),
    );
    let grid = spec.resolve(&shape, dtype)?;
    let mut blocks: Vec<Vec<usize>> = (0..shape.len()).map(|a| grid.blocks(a).to_vec()).collect();
    if paths.len() > 1 && !shape.is_empty() {
        blocks[axis] = match &opts.chunks {
            // Explicit block lists are honoured, only cut at file ends.
            Some(ChunkSpec::Blocks(_)) => {
                let bounds: Vec<usize> = read.files.iter().map(|f| f.start + f.len).collect();
                split_at_bounds(&blocks[axis], &bounds)
            }
            // Otherwise every file is chunked on its own, like open_mfdataset.
            _ => {
                let size = blocks[axis].first().copied().unwrap_or(1).max(1);
                per_file_blocks(&read.files, size)
            }
        };
    }
    let args = postcard::to_allocvec(&read)
        .map_err(|e| IoError::Invalid(format!("cannot encode read arguments: {e}")))?;
    let array = Array::from_kernel(names::READ, args, &shape, dtype, ChunkSpec::Blocks(blocks))?;
    let mut attrs = first.attrs.clone();
    if read.decode.is_some() {
        // Decoded values need no unpacking; `_FillValue` stays, so that writing the data
        // back stores missing values (NaN) as the input's fill value (xarray keeps it in
        // `encoding` for the same purpose).
        attrs.retain(|k, _| k == "_FillValue" || !ENCODING_ATTRS.contains(&k.as_str()));
    }
    let coords = concat_coords(&infos, &first, axis, paths.len() > 1);
    let short = name.rsplit('/').next().unwrap_or(name);
    Ok(LabeledArray::from_parts(
        array,
        short,
        first.dims.clone(),
        coords,
        attrs,
    ))
}

/// Blocks of `size` restarting at every file.
fn per_file_blocks(files: &[SourceFile], size: usize) -> Vec<usize> {
    let mut out = Vec::new();
    for f in files {
        let mut left = f.len;
        while left > 0 {
            out.push(left.min(size));
            left -= left.min(size);
        }
    }
    if out.is_empty() {
        out.push(0);
    }
    out
}

/// Block sizes split so no block crosses one of the `bounds` (cumulative file ends).
fn split_at_bounds(blocks: &[usize], bounds: &[usize]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut pos = 0;
    let mut b = 0;
    for &len in blocks {
        let end = pos + len;
        let mut at = pos;
        while b < bounds.len() && bounds[b] <= at {
            b += 1;
        }
        while b < bounds.len() && bounds[b] < end {
            out.push(bounds[b] - at);
            at = bounds[b];
            b += 1;
        }
        out.push(end - at);
        pos = end;
    }
    out.retain(|&x| x > 0);
    if out.is_empty() {
        out.push(0);
    }
    out
}

/// The dimension along which the files would be concatenated, when two files have the same
/// coordinate values along it (the variable does not have the dimension the files split).
fn repeated_coordinate(a: &VarInfo, b: &VarInfo, axis: usize) -> Option<String> {
    let dim = a.dims.get(axis)?;
    let coord = |i: &VarInfo| {
        i.coords
            .iter()
            .find(|(d, _)| d == dim)
            .map(|(_, c)| c.values.clone())
    };
    let (x, y) = (coord(a)?, coord(b)?);
    (x == y).then(|| dim.clone())
}

/// Time coordinates of several files in different units (`days since 2001-01-01` in one,
/// `days since 2002-01-01` in the next): the values of all of them in the first file's units,
/// or `None` when the units agree (or are not CF time units in one calendar).
fn reencoded_times(parts: &[&Coordinate]) -> Option<Vec<f64>> {
    use crate::labeled::time::CfTime;
    let encoding = |c: &Coordinate| {
        let text = |k: &str| c.attrs.get(k).and_then(|v| v.as_text()).map(str::to_string);
        (text("units"), text("calendar"))
    };
    let first = encoding(parts[0]);
    if parts.iter().all(|c| encoding(c) == first) {
        return None;
    }
    let cf = |c: &Coordinate| {
        let (units, calendar) = encoding(c);
        CfTime::parse(&units?, calendar.as_deref()).ok()
    };
    let target = cf(parts[0])?;
    let mut out = Vec::new();
    for c in parts {
        let t = cf(c).filter(|t| t.calendar == target.calendar)?;
        for v in c.values.to_f64_vec() {
            out.push(target.encode_instant(t.instant(v).ok()?));
        }
    }
    Some(out)
}

fn concat_coords(
    infos: &[VarInfo],
    first: &VarInfo,
    axis: usize,
    many: bool,
) -> BTreeMap<String, Coordinate> {
    let mut coords: BTreeMap<String, Coordinate> = first.coords.iter().cloned().collect();
    if !many {
        return coords;
    }
    let Some(dim) = first.dims.get(axis) else {
        return coords;
    };
    let parts: Option<Vec<&Coordinate>> = infos
        .iter()
        .map(|i| i.coords.iter().find(|(d, _)| d == dim).map(|(_, c)| c))
        .collect();
    coords.remove(dim);
    if let Some(parts) = parts {
        if let Some(values) = reencoded_times(&parts) {
            coords.insert(
                dim.clone(),
                Coordinate {
                    values: crate::labeled::coordinate_data(&values),
                    attrs: parts[0].attrs.clone(),
                },
            );
            return coords;
        }
        let dtype = parts[0].values.dtype();
        if parts.iter().all(|c| c.values.dtype() == dtype) {
            let views: Result<Vec<Array>, _> = parts
                .iter()
                .map(|c| Array::from_data(&c.values, c.values.len().max(1)))
                .collect();
            let joined = views
                .and_then(|v| Array::concatenate(&v, 0))
                .and_then(|a| a.compute_local());
            if let Ok(values) = joined {
                coords.insert(
                    dim.clone(),
                    Coordinate {
                        values,
                        attrs: parts[0].attrs.clone(),
                    },
                );
            }
        }
    }
    coords
}

/// The values of a small in-memory 1-D array (used by tests and the CLI).
pub fn coordinate_values(c: &Coordinate) -> Vec<f64> {
    let v: &ArrayData = &c.values;
    v.to_f64_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_split_at_file_ends() {
        assert_eq!(split_at_bounds(&[5, 5], &[3, 10]), vec![3, 2, 5]);
        assert_eq!(split_at_bounds(&[10], &[4, 8, 10]), vec![4, 4, 2]);
        assert_eq!(split_at_bounds(&[4, 4], &[4, 8]), vec![4, 4]);
    }
}
