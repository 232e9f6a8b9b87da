//! NetCDF files through the `netcdf` crate (system libnetcdf): describing a variable (at the
//! root or in a group, `grp/sub/var`) with its dimensions, coordinate variables and
//! attributes, reading a hyperslab, and creating an output file (groups, dimensions,
//! coordinates, attributes, the empty chunked and compressed variable). Chunks of a NetCDF-4 output are then written through HDF5 (`hdf5_file`): a
//! NetCDF-4 file is an HDF5 file, and its variable `v` is the dataset `/v`.
//!
//! This module must not decide which process writes when (see `store`).

use std::path::Path;

use netcdf::types::{FloatType, IntType, NcVariableType};
use netcdf::AttributeValue;

use crate::array::{ArrayData, DType};
use crate::io::error::IoError;
use crate::io::file_type::FileType;
use crate::io::hdf5_file::check_readable;
use crate::io::output::OutputPlan;
use crate::io::variable::{with_dtype, VarInfo};
use crate::labeled::Coordinate;
use crate::labeled::{AttrValue, Attributes, INTERNAL_ATTRS};

const FORMAT: &str = "NetCDF";

fn open(path: &str) -> Result<netcdf::File, IoError> {
    check_readable(path)?;
    netcdf::open(path).map_err(|e| IoError::Open {
        path: path.into(),
        format: FORMAT,
        reason: e.to_string(),
    })
}

/// `grp/sub/var` (a leading `/` optional) as the group path (`""` for the root) and the
/// variable's own name.
fn split_group(name: &str) -> (&str, &str) {
    let full = name.trim_start_matches('/');
    match full.rsplit_once('/') {
        Some((group, stem)) => (group, stem),
        None => ("", full),
    }
}

/// `name` inside `group` (`""` is the root).
fn join_group(group: &str, name: &str) -> String {
    if group.is_empty() {
        name.to_string()
    } else {
        format!("{group}/{name}")
    }
}

/// Longest name netCDF accepts (`NC_MAX_NAME`); longer ones cannot exist in a file.
const MAX_NAME: usize = 256;

/// True when every group of the path `group` exists (`""`, the root, always does).
fn group_exists(file: &netcdf::File, group: &str) -> bool {
    group.is_empty()
        || (group
            .split('/')
            .all(|g| !g.is_empty() && g.len() <= MAX_NAME)
            && matches!(file.group(group), Ok(Some(_))))
}

/// The length of dimension `dim` defined in `group` itself: libnetcdf's lookup by name also
/// finds a parent group's dimension, which an output in a group must not share.
fn own_dimension_len(file: &netcdf::File, group: &str, dim: &str) -> Option<usize> {
    if group.is_empty() {
        return file.dimensions().find(|d| d.name() == dim).map(|d| d.len());
    }
    let g = file.group(group).ok()??;
    let len = g.dimensions().find(|d| d.name() == dim).map(|d| d.len());
    len
}

/// Every group of the file as a path (`a`, `a/b`), depth first; at most about 100.
fn group_paths(file: &netcdf::File) -> Vec<String> {
    fn walk(group: &netcdf::Group<'_>, prefix: &str, out: &mut Vec<String>) {
        for g in group.groups() {
            if out.len() > 100 {
                return;
            }
            let path = join_group(prefix, &g.name());
            out.push(path.clone());
            walk(&g, &path, out);
        }
    }
    let mut out = Vec::new();
    if let Ok(groups) = file.groups() {
        for g in groups {
            if out.len() > 100 {
                break;
            }
            let path = g.name();
            out.push(path.clone());
            walk(&g, &path, &mut out);
        }
    }
    out
}

/// Variable `name` of the file: a root variable (`tas`) or one in a group (`grp/sub/tas`).
fn variable<'f>(
    file: &'f netcdf::File,
    path: &str,
    name: &str,
) -> Result<netcdf::Variable<'f>, IoError> {
    let (group, stem) = split_group(name);
    if !group_exists(file, group) {
        return Err(IoError::MissingGroup {
            path: path.into(),
            group: group.into(),
            available: group_paths(file),
        });
    }
    let found = if stem.is_empty() || stem.len() > MAX_NAME {
        None
    } else {
        file.variable(&join_group(group, stem))
    };
    found.ok_or_else(|| {
        let available = if group.is_empty() {
            file.variables().map(|v| v.name()).collect()
        } else {
            match file.group(group) {
                Ok(Some(g)) => g
                    .variables()
                    .map(|v| join_group(group, &v.name()))
                    .collect(),
                _ => Vec::new(),
            }
        };
        IoError::MissingVariable {
            path: path.into(),
            what: "variable",
            name: name.into(),
            available,
        }
    })
}

/// The coordinate variable of dimension `dim` seen from `group`: a 1-D variable named after
/// the dimension in the group or the nearest enclosing one (netCDF's scoping of dimensions).
fn coordinate_variable<'f>(
    file: &'f netcdf::File,
    group: &str,
    dim: &str,
) -> Option<netcdf::Variable<'f>> {
    let mut scope = Some(group);
    while let Some(g) = scope {
        if let Some(v) = file.variable(&join_group(g, dim)) {
            return Some(v);
        }
        scope = match g.rsplit_once('/') {
            Some((parent, _)) => Some(parent),
            None if g.is_empty() => None,
            None => Some(""),
        };
    }
    None
}

fn attr_value(v: AttributeValue) -> Option<AttrValue> {
    use AttributeValue as A;
    let ints = |v: Vec<i64>| Some(AttrValue::Int(v));
    match v {
        A::Uchar(x) => ints(vec![i64::from(x)]),
        A::Uchars(x) => ints(x.into_iter().map(i64::from).collect()),
        A::Schar(x) => ints(vec![i64::from(x)]),
        A::Schars(x) => ints(x.into_iter().map(i64::from).collect()),
        A::Ushort(x) => ints(vec![i64::from(x)]),
        A::Ushorts(x) => ints(x.into_iter().map(i64::from).collect()),
        A::Short(x) => ints(vec![i64::from(x)]),
        A::Shorts(x) => ints(x.into_iter().map(i64::from).collect()),
        A::Uint(x) => ints(vec![i64::from(x)]),
        A::Uints(x) => ints(x.into_iter().map(i64::from).collect()),
        A::Int(x) => ints(vec![i64::from(x)]),
        A::Ints(x) => ints(x.into_iter().map(i64::from).collect()),
        A::Ulonglong(x) => ints(vec![x as i64]),
        A::Ulonglongs(x) => ints(x.into_iter().map(|y| y as i64).collect()),
        A::Longlong(x) => ints(vec![x]),
        A::Longlongs(x) => ints(x),
        A::Float(x) => Some(AttrValue::Float32(vec![x])),
        A::Floats(x) => Some(AttrValue::Float32(x)),
        A::Double(x) => Some(AttrValue::Float64(vec![x])),
        A::Doubles(x) => Some(AttrValue::Float64(x)),
        A::Str(s) => Some(AttrValue::Text(s)),
        A::Strs(s) => Some(AttrValue::Text(s.join("\n"))),
    }
}

fn read_attrs(var: &netcdf::Variable<'_>) -> Attributes {
    var.attributes()
        .filter(|a| !INTERNAL_ATTRS.contains(&a.name()))
        .filter_map(|a| {
            let name = a.name().to_string();
            a.value().ok().and_then(attr_value).map(|v| (name, v))
        })
        .collect()
}

fn file_type(t: &NcVariableType, attrs: &Attributes) -> FileType {
    let is_bool = attrs.get("dtype").and_then(|v| v.as_text()) == Some("bool");
    match t {
        NcVariableType::Int(IntType::I8 | IntType::U8) if is_bool => FileType::Bool,
        NcVariableType::Int(IntType::I8) => FileType::I8,
        NcVariableType::Int(IntType::U8) => FileType::U8,
        NcVariableType::Int(IntType::I16) => FileType::I16,
        NcVariableType::Int(IntType::U16) => FileType::U16,
        NcVariableType::Int(IntType::I32) => FileType::I32,
        NcVariableType::Int(IntType::U32) => FileType::U32,
        NcVariableType::Int(IntType::I64) => FileType::I64,
        NcVariableType::Int(IntType::U64) => FileType::U64,
        NcVariableType::Float(FloatType::F32) => FileType::F32,
        NcVariableType::Float(FloatType::F64) => FileType::F64,
        NcVariableType::Char => FileType::Other("char".into()),
        NcVariableType::String => FileType::Other("string".into()),
        NcVariableType::Compound(c) => FileType::Other(format!("compound {}", c.name)),
        NcVariableType::Enum(e) => FileType::Other(format!("enum {}", e.name)),
        NcVariableType::Opaque(o) => FileType::Other(format!("opaque {}", o.name)),
        NcVariableType::Vlen(v) => FileType::Other(format!("vlen {}", v.name)),
    }
}

fn read_values(
    var: &netcdf::Variable<'_>,
    dtype: DType,
    origin: &[usize],
    shape: &[usize],
) -> Result<ArrayData, String> {
    let ext = (origin, shape);
    let dim = ndarray::IxDyn(shape);
    let shaped = |e: ndarray::ShapeError| e.to_string();
    if dtype == DType::Bool {
        let v: Vec<u8> = var.get_values::<u8, _>(ext).map_err(|e| e.to_string())?;
        let b: Vec<bool> = v.into_iter().map(|x| x != 0).collect();
        return ndarray::ArrayD::from_shape_vec(dim, b)
            .map(ArrayData::from)
            .map_err(shaped);
    }
    with_dtype!(dtype, T => {
        read_typed::<T>(var, ext, dim)
    })
}

fn read_typed<T: NcRead>(
    var: &netcdf::Variable<'_>,
    ext: (&[usize], &[usize]),
    dim: ndarray::IxDyn,
) -> Result<ArrayData, String> {
    T::read(var, ext, dim)
}

/// Element types read through netCDF-C's conversions.
trait NcRead {
    fn read(
        var: &netcdf::Variable<'_>,
        ext: (&[usize], &[usize]),
        dim: ndarray::IxDyn,
    ) -> Result<ArrayData, String>;
}

impl NcRead for bool {
    fn read(
        _: &netcdf::Variable<'_>,
        _: (&[usize], &[usize]),
        _: ndarray::IxDyn,
    ) -> Result<ArrayData, String> {
        Err("booleans are read as bytes".into())
    }
}

macro_rules! nc_read {
    ($($t:ty),*) => {$(
        impl NcRead for $t {
            fn read(
                var: &netcdf::Variable<'_>,
                ext: (&[usize], &[usize]),
                dim: ndarray::IxDyn,
            ) -> Result<ArrayData, String> {
                let v: Vec<$t> = var.get_values::<$t, _>(ext).map_err(|e| e.to_string())?;
                ndarray::ArrayD::from_shape_vec(dim, v)
                    .map(ArrayData::from)
                    .map_err(|e| e.to_string())
            }
        }
    )*};
}
nc_read!(u8, i32, i64, f32, f64);

/// Describes variable `name` of `path`.
pub(crate) fn inspect(path: &str, name: &str) -> Result<VarInfo, IoError> {
    let file = open(path)?;
    let var = variable(&file, path, name)?;
    let attrs = read_attrs(&var);
    let stored = file_type(&var.vartype(), &attrs);
    let dims: Vec<String> = var.dimensions().iter().map(|d| d.name()).collect();
    let shape: Vec<usize> = var.dimensions().iter().map(|d| d.len()).collect();
    let storage_chunks = var.chunking().ok().flatten();
    let (group, stem) = split_group(name);
    let mut coords = Vec::new();
    for (axis, dim) in dims.iter().enumerate() {
        if dim.len() > MAX_NAME {
            continue;
        }
        let Some(c) = coordinate_variable(&file, group, dim) else {
            continue;
        };
        let cdims: Vec<String> = c.dimensions().iter().map(|d| d.name()).collect();
        if cdims != [dim.clone()] || dim == stem {
            continue;
        }
        let cattrs = read_attrs(&c);
        let Ok(dtype) = file_type(&c.vartype(), &cattrs).array_dtype() else {
            continue;
        };
        if let Ok(values) = read_values(&c, dtype, &[0], &[shape[axis]]) {
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
        storage_chunks,
        dims,
        attrs,
        coords,
    })
}

/// Reads the hyperslab at `origin` of `shape` of variable `name`, converted to `dtype`.
pub(crate) fn read_block(
    path: &str,
    name: &str,
    dtype: DType,
    origin: &[usize],
    shape: &[usize],
) -> Result<ArrayData, IoError> {
    let file = open(path)?;
    let var = variable(&file, path, name)?;
    read_values(&var, dtype, origin, shape).map_err(|reason| IoError::Read {
        path: path.into(),
        name: name.into(),
        reason: format!("hyperslab at {origin:?} of shape {shape:?}: {reason}"),
    })
}

fn put_attr(var: &mut netcdf::VariableMut<'_>, name: &str, v: &AttrValue) -> netcdf::Result<()> {
    match v {
        AttrValue::Text(s) => var.put_attribute(name, s.as_str()).map(|_| ()),
        AttrValue::Int(x) if x.len() == 1 => var.put_attribute(name, x[0]).map(|_| ()),
        AttrValue::Int(x) => var.put_attribute(name, x.clone()).map(|_| ()),
        AttrValue::Float32(x) if x.len() == 1 => var.put_attribute(name, x[0]).map(|_| ()),
        AttrValue::Float32(x) => var.put_attribute(name, x.clone()).map(|_| ()),
        AttrValue::Float64(x) if x.len() == 1 => var.put_attribute(name, x[0]).map(|_| ()),
        AttrValue::Float64(x) => var.put_attribute(name, x.clone()).map(|_| ()),
    }
}

fn global_attr(file: &mut netcdf::FileMut, name: &str, v: &AttrValue) -> netcdf::Result<()> {
    match v {
        AttrValue::Text(s) => file.add_attribute(name, s.as_str()).map(|_| ()),
        AttrValue::Int(x) => file.add_attribute(name, x.clone()).map(|_| ()),
        AttrValue::Float32(x) => file.add_attribute(name, x.clone()).map(|_| ()),
        AttrValue::Float64(x) => file.add_attribute(name, x.clone()).map(|_| ()),
    }
}

/// Adds variable `name` of `dtype` over `dims` (booleans as bytes with xarray's
/// `dtype = "bool"`); floats get `_FillValue = NaN` unless `fill` gives one.
fn add_var<'f>(
    file: &'f mut netcdf::FileMut,
    name: &str,
    dtype: DType,
    dims: &[&str],
    fill: Option<f64>,
) -> netcdf::Result<netcdf::VariableMut<'f>> {
    let mut var = match dtype {
        DType::Bool => {
            let mut v = file.add_variable::<i8>(name, dims)?;
            v.put_attribute("dtype", "bool")?;
            v
        }
        DType::U8 => file.add_variable::<u8>(name, dims)?,
        DType::I32 => file.add_variable::<i32>(name, dims)?,
        DType::I64 => file.add_variable::<i64>(name, dims)?,
        DType::F32 => file.add_variable::<f32>(name, dims)?,
        DType::F64 => file.add_variable::<f64>(name, dims)?,
    };
    match (dtype, fill) {
        (DType::F32, f) => var.set_fill_value(f.unwrap_or(f64::NAN) as f32)?,
        (DType::F64, f) => var.set_fill_value(f.unwrap_or(f64::NAN))?,
        (DType::U8, Some(f)) => var.set_fill_value(f as u8)?,
        (DType::I32, Some(f)) => var.set_fill_value(f as i32)?,
        (DType::I64, Some(f)) => var.set_fill_value(f as i64)?,
        _ => {}
    }
    Ok(var)
}

fn put_coord(var: &mut netcdf::VariableMut<'_>, values: &ArrayData) -> netcdf::Result<()> {
    match values {
        ArrayData::Bool(a) => {
            let v: Vec<i8> = a.iter().map(|&b| i8::from(b)).collect();
            var.put_values(&v, ..)
        }
        ArrayData::U8(a) => var.put_values(&a.iter().copied().collect::<Vec<_>>(), ..),
        ArrayData::I32(a) => var.put_values(&a.iter().copied().collect::<Vec<_>>(), ..),
        ArrayData::I64(a) => var.put_values(&a.iter().copied().collect::<Vec<_>>(), ..),
        ArrayData::F32(a) => var.put_values(&a.iter().copied().collect::<Vec<_>>(), ..),
        ArrayData::F64(a) => var.put_values(&a.iter().copied().collect::<Vec<_>>(), ..),
    }
}

/// Creates the NetCDF-4 output file `path` for `plan` (`fresh`), or adds the variable of
/// `plan` to it (`!fresh`: another output of the same file laid it out first). A variable in a
/// group (`grp/sub/v`) gets the groups, and its dimensions and coordinate variables are defined
/// in its own group; dimensions and coordinate variables already in the file are shared (the
/// caller checked that their lengths and values agree).
pub(crate) fn create(path: &Path, plan: &OutputPlan, fresh: bool) -> Result<(), IoError> {
    let p = path.display().to_string();
    let werr = |what: &str, e: netcdf::Error| IoError::Write {
        path: p.clone(),
        name: what.to_string(),
        reason: e.to_string(),
    };
    let (group, name) = split_group(&plan.name);
    let full = join_group(group, name);
    let mut file = if fresh {
        netcdf::create(path)
    } else {
        netcdf::append(path)
    }
    .map_err(|e| werr(&full, e))?;
    if !group.is_empty() && !group_exists(&file, group) {
        file.add_group(group).map_err(|e| werr(group, e))?;
    }
    for (dim, len) in plan.dims.iter().zip(&plan.shape) {
        let qualified = join_group(group, dim);
        if own_dimension_len(&file, group, dim).is_none() {
            file.add_dimension(&qualified, *len)
                .map_err(|e| werr(dim, e))?;
        }
    }
    for (dim, c) in &plan.coords {
        if dim == name
            || !plan.dims.contains(dim)
            || file.variable(&join_group(group, dim)).is_some()
        {
            continue;
        }
        let fill = c
            .attrs
            .get("_FillValue")
            .and_then(|v| v.as_f64s().first().copied());
        let coord = join_group(group, dim);
        let mut var = add_var(&mut file, &coord, c.values.dtype(), &[dim.as_str()], fill)
            .map_err(|e| werr(&coord, e))?;
        for (k, v) in &c.attrs {
            if k == "_FillValue" || (k == "dtype" && c.values.dtype() == DType::Bool) {
                continue;
            }
            put_attr(&mut var, k, v).map_err(|e| werr(&coord, e))?;
        }
        put_coord(&mut var, &c.values).map_err(|e| werr(&coord, e))?;
    }
    let dims: Vec<&str> = plan.dims.iter().map(String::as_str).collect();
    let fill = plan
        .attrs
        .get("_FillValue")
        .and_then(|v| v.as_f64s().first().copied());
    let mut var = add_var(&mut file, &full, plan.dtype, &dims, fill).map_err(|e| werr(&full, e))?;
    if !plan.shape.is_empty() {
        var.set_chunking(&plan.chunk).map_err(|e| werr(&full, e))?;
        if plan.codec.deflate.is_some() || plan.codec.shuffle {
            let level = plan.codec.deflate.map_or(0, i32::from);
            var.set_compression(level, plan.codec.shuffle)
                .map_err(|e| werr(&full, e))?;
        }
    }
    for (k, v) in &plan.attrs {
        if k == "_FillValue" || (k == "dtype" && plan.dtype == DType::Bool) {
            continue;
        }
        put_attr(&mut var, k, v).map_err(|e| werr(&full, e))?;
    }
    if fresh {
        for (k, v) in &plan.global_attrs {
            global_attr(&mut file, k, v).map_err(|e| werr(k, e))?;
        }
    }
    file.close().map_err(|e| werr(&full, e))
}
