//! The read kernel: one task per array chunk reads its hyperslab from the file(s) on the
//! worker that runs it — never on the client — converts it to the array dtype and applies CF
//! decoding. A multi-file array is one source whose files sit end to end along one axis; the
//! chunk grid never lets a chunk straddle two files.
//!
//! This module must not build graphs (see `open`).

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::array::{encode_chunk, ArrayData, BlockArgs, DType};
use crate::io::cf::CfDecoding;
use crate::io::error::IoError;
use crate::io::file_type::FileType;
use crate::io::format::Format;
use crate::io::{hdf5_file, netcdf_file};

/// One file of a source and where it sits along the concatenation axis.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct SourceFile {
    /// File path as given (workers must see the same path).
    pub path: String,
    /// First position of this file along the concatenation axis.
    pub start: usize,
    /// Its length along that axis.
    pub len: usize,
}

/// Everything a read task needs besides the block position.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct ReadArgs {
    pub format: Format,
    /// Dataset path or variable name.
    pub name: String,
    pub files: Vec<SourceFile>,
    /// The axis files are concatenated along (0 for a single file).
    pub axis: usize,
    /// Stored element type (the same in every file).
    pub stored: FileType,
    /// CF decoding, when applied.
    pub decode: Option<CfDecoding>,
}

impl ReadArgs {
    /// The dtype values are read from the library as before decoding.
    fn read_dtype(&self) -> Result<DType, IoError> {
        let raw = self
            .stored
            .array_dtype()
            .map_err(|hint| IoError::UnsupportedType {
                path: self
                    .files
                    .first()
                    .map(|f| f.path.clone())
                    .unwrap_or_default(),
                name: self.name.clone(),
                found: self.stored.to_string(),
                hint,
            })?;
        Ok(match &self.decode {
            None => raw,
            Some(d) if d.is_f32_mask_only(&self.stored) => DType::F32,
            Some(_) => DType::F64,
        })
    }

    /// The dtype of the array's values.
    pub(crate) fn out_dtype(&self) -> Result<DType, IoError> {
        match &self.decode {
            Some(d) => Ok(d.out),
            None => self.read_dtype(),
        }
    }
}

/// Reads one block (`BlockArgs` around postcard-encoded [`ReadArgs`]) as an encoded chunk.
pub(crate) fn read_kernel(args: &[u8]) -> Result<Bytes, IoError> {
    let block = BlockArgs::decode(args)?;
    let read: ReadArgs = postcard::from_bytes(&block.user)
        .map_err(|e| IoError::Invalid(format!("read task arguments: {e}")))?;
    let data = read_block(&read, &block.origin, &block.chunk_shape, &block.array_shape)?;
    if data.dtype() != block.dtype {
        return Err(IoError::Invalid(format!(
            "read {} values for a {} array",
            data.dtype(),
            block.dtype
        )));
    }
    Ok(encode_chunk(&data))
}

fn read_block(
    read: &ReadArgs,
    origin: &[usize],
    shape: &[usize],
    array_shape: &[usize],
) -> Result<ArrayData, IoError> {
    let mut local = origin.to_vec();
    let file = if shape.is_empty() {
        read.files
            .first()
            .ok_or_else(|| IoError::Invalid("a source without files".into()))?
    } else {
        let pos = origin[read.axis];
        let f = read
            .files
            .iter()
            .find(|f| pos >= f.start && pos < f.start + f.len.max(1))
            .ok_or_else(|| IoError::Invalid(format!("no file holds position {pos}")))?;
        if pos + shape[read.axis] > f.start + f.len {
            return Err(IoError::Invalid(format!(
                "block at {origin:?} of shape {shape:?} straddles the end of {}",
                f.path
            )));
        }
        local[read.axis] = pos - f.start;
        f
    };
    let dtype = read.read_dtype()?;
    let mut data = match read.format {
        Format::Hdf5 => hdf5_file::read_block(&file.path, &read.name, dtype, &local, shape)?,
        Format::NetCdf => {
            // A NetCDF-4 file is an HDF5 file: its raw chunks decode outside the library
            // lock. Classic files, and layouts the raw path cannot decode, go through
            // libnetcdf.
            let mut file_shape = array_shape.to_vec();
            if let Some(n) = file_shape.get_mut(read.axis) {
                *n = file.len;
            }
            match hdf5_file::read_block_raw_only(
                &file.path,
                &read.name,
                dtype,
                &local,
                shape,
                &file_shape,
            ) {
                Some(data) => data,
                None => netcdf_file::read_block(&file.path, &read.name, dtype, &local, shape)?,
            }
        }
    };
    if let Some(d) = &read.decode {
        data = match data {
            ArrayData::F32(mut a) if d.out == DType::F32 && d.is_f32_mask_only(&read.stored) => {
                if let Some(s) = a.as_slice_mut() {
                    d.mask_f32(s);
                }
                ArrayData::F32(a)
            }
            ArrayData::F64(mut a) => {
                if let Some(s) = a.as_slice_mut() {
                    d.apply_f64(s);
                }
                match d.out {
                    DType::F32 => ArrayData::F32(a.mapv(|x| x as f32)),
                    _ => ArrayData::F64(a),
                }
            }
            other => other,
        };
    }
    Ok(data)
}
