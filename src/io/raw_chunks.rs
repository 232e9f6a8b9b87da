//! Reading a block by fetching the raw stored chunks (`H5Dread_chunk`, under libhdf5's
//! process-wide lock: it is only file I/O) and decoding them here (inflate with libdeflate,
//! unshuffle: outside the lock, so threads of one worker decode in parallel), then copying
//! each chunk's part of the block into place.
//!
//! Used when the stored type is exactly the array dtype in little-endian order and the
//! filters are shuffle and/or deflate; anything else (type conversion, other filters,
//! unallocated chunks, partially filtered chunks) returns `None` and the caller reads through
//! libhdf5's own pipeline. This module must not open files.

use hdf5::filters::Filter;
use hdf5::Dataset;
use hdf5_sys::h5::{herr_t, hsize_t};
use hdf5_sys::h5i::hid_t;

use crate::array::{ArrayData, DType};
use crate::io::codec::{inflate_into, unshuffle, unshuffle_into};
use crate::io::error::IoError;
use crate::io::file_type::FileType;

extern "C" {
    // libhdf5 ≥ 1.10.2; not in the hdf5-sys bindings.
    fn H5Dget_chunk_storage_size(
        dset_id: hid_t,
        offset: *const hsize_t,
        chunk_nbytes: *mut hsize_t,
    ) -> herr_t;
}

/// How stored chunks of a dataset are encoded, when this module can decode them.
struct Pipeline {
    chunk: Vec<usize>,
    shuffle: bool,
    deflate: bool,
    itemsize: usize,
}

fn pipeline(ds: &Dataset, dtype: DType) -> Option<Pipeline> {
    if dtype == DType::Bool {
        return None;
    }
    let chunk = ds.chunk()?;
    let t = ds.dtype().ok()?;
    let stored = match t.to_descriptor().ok()? {
        hdf5::types::TypeDescriptor::Integer(s) => match s as usize {
            4 => FileType::I32,
            8 => FileType::I64,
            _ => return None,
        },
        hdf5::types::TypeDescriptor::Unsigned(s) if s as usize == 1 => FileType::U8,
        hdf5::types::TypeDescriptor::Float(s) => match s as usize {
            4 => FileType::F32,
            8 => FileType::F64,
            _ => return None,
        },
        _ => return None,
    };
    if stored.array_dtype().ok()? != dtype || stored.itemsize() != dtype.itemsize() {
        return None;
    }
    if dtype.itemsize() > 1 && t.byte_order() != hdf5::datatype::ByteOrder::LittleEndian {
        return None;
    }
    let (shuffle, deflate) = match ds.filters().as_slice() {
        [] => (false, false),
        [Filter::Shuffle] => (true, false),
        [Filter::Deflate(_)] => (false, true),
        [Filter::Shuffle, Filter::Deflate(_)] => (true, true),
        _ => return None,
    };
    Some(Pipeline {
        chunk,
        shuffle,
        deflate,
        itemsize: dtype.itemsize(),
    })
}

/// Copies the part of a decoded chunk (shape `chunk`, at `chunk_origin`) that lies in the
/// block (shape `shape`, at `origin`) into `out`, both row-major, `itemsize` bytes per element.
fn copy_overlap(
    src: &[u8],
    chunk: &[usize],
    chunk_origin: &[usize],
    out: &mut [u8],
    shape: &[usize],
    origin: &[usize],
    itemsize: usize,
) {
    let nd = shape.len();
    let lo: Vec<usize> = (0..nd).map(|a| origin[a].max(chunk_origin[a])).collect();
    let hi: Vec<usize> = (0..nd)
        .map(|a| (origin[a] + shape[a]).min(chunk_origin[a] + chunk[a]))
        .collect();
    if (0..nd).any(|a| lo[a] >= hi[a]) {
        return;
    }
    let mut src_stride = vec![1usize; nd];
    let mut dst_stride = vec![1usize; nd];
    for a in (0..nd.saturating_sub(1)).rev() {
        src_stride[a] = src_stride[a + 1] * chunk[a + 1];
        dst_stride[a] = dst_stride[a + 1] * shape[a + 1];
    }
    let run = (hi[nd - 1] - lo[nd - 1]) * itemsize;
    let mut idx = lo.clone();
    loop {
        let s: usize = (0..nd)
            .map(|a| (idx[a] - chunk_origin[a]) * src_stride[a])
            .sum();
        let d: usize = (0..nd).map(|a| (idx[a] - origin[a]) * dst_stride[a]).sum();
        out[d * itemsize..d * itemsize + run]
            .copy_from_slice(&src[s * itemsize..s * itemsize + run]);
        // Next row: advance the axes before the last.
        let mut a = nd - 1;
        loop {
            if a == 0 {
                return;
            }
            a -= 1;
            idx[a] += 1;
            if idx[a] < hi[a] {
                break;
            }
            idx[a] = lo[a];
        }
    }
}

/// Reads the block at `origin` of `shape` from raw chunks, or `None` when the dataset's
/// layout needs libhdf5's own pipeline.
pub(crate) fn read(
    ds: &Dataset,
    dtype: DType,
    origin: &[usize],
    shape: &[usize],
) -> Result<Option<ArrayData>, IoError> {
    if shape.is_empty() || shape.contains(&0) {
        return Ok(None);
    }
    let Some(p) = pipeline(ds, dtype) else {
        return Ok(None);
    };
    let nd = shape.len();
    if p.chunk.len() != nd || p.chunk.contains(&0) {
        return Ok(None);
    }
    let total: usize = shape.iter().product();
    let mut out = vec![0u8; total * p.itemsize];
    let chunk_bytes = p.chunk.iter().product::<usize>() * p.itemsize;
    let first: Vec<usize> = (0..nd).map(|a| origin[a] / p.chunk[a]).collect();
    let last: Vec<usize> = (0..nd)
        .map(|a| (origin[a] + shape[a] - 1) / p.chunk[a])
        .collect();
    let mut ci = first.clone();
    let mut decoded = vec![0u8; chunk_bytes];
    let origin: Vec<usize> = origin.to_vec();
    let shape: Vec<usize> = shape.to_vec();
    loop {
        let chunk_origin: Vec<usize> = (0..nd).map(|a| ci[a] * p.chunk[a]).collect();
        let offset: Vec<hsize_t> = chunk_origin.iter().map(|&o| o as hsize_t).collect();
        let raw = hdf5::sync::sync(|| -> Option<Vec<u8>> {
            let mut nbytes: hsize_t = 0;
            // SAFETY: `offset` has one entry per dimension; `nbytes` is written.
            let rc = unsafe { H5Dget_chunk_storage_size(ds.id(), offset.as_ptr(), &mut nbytes) };
            if rc < 0 || nbytes == 0 {
                return None;
            }
            let mut buf = vec![0u8; nbytes as usize];
            let mut mask: u32 = 0;
            // SAFETY: `buf` holds the chunk's stored size, as libhdf5 requires.
            let rc = unsafe {
                hdf5_sys::h5d::H5Dread_chunk(
                    ds.id(),
                    hdf5_sys::h5p::H5P_DEFAULT,
                    offset.as_ptr(),
                    &mut mask,
                    buf.as_mut_ptr().cast(),
                )
            };
            (rc >= 0 && mask == 0).then_some(buf)
        });
        let Some(raw) = raw else {
            return Ok(None);
        };
        if !p.deflate && raw.len() != chunk_bytes {
            return Ok(None);
        }
        // The block is exactly this chunk: decode straight into the output.
        let exact = chunk_origin == origin && p.chunk == shape;
        match (p.deflate, p.shuffle, exact) {
            (true, false, true) => inflate_into(&raw, &mut out)?,
            (true, true, true) => {
                inflate_into(&raw, &mut decoded)?;
                unshuffle_into(&decoded, p.itemsize, &mut out);
            }
            (false, true, true) => unshuffle_into(&raw, p.itemsize, &mut out),
            (false, false, true) => out.copy_from_slice(&raw),
            (deflate, shuffle, false) => {
                let mut plain: &[u8] = &raw;
                if deflate {
                    inflate_into(&raw, &mut decoded)?;
                    plain = &decoded;
                }
                let unshuffled;
                if shuffle {
                    unshuffled = unshuffle(plain, p.itemsize);
                    plain = &unshuffled;
                }
                copy_overlap(
                    plain,
                    &p.chunk,
                    &chunk_origin,
                    &mut out,
                    &shape,
                    &origin,
                    p.itemsize,
                );
            }
        }
        // Next chunk index within [first, last].
        let mut a = nd;
        loop {
            if a == 0 {
                return finish(dtype, &shape, &out).map(Some);
            }
            a -= 1;
            ci[a] += 1;
            if ci[a] <= last[a] {
                break;
            }
            ci[a] = first[a];
        }
    }
}

fn finish(dtype: DType, shape: &[usize], bytes: &[u8]) -> Result<ArrayData, IoError> {
    use crate::array::pod::copy_le_slice;
    let dim = ndarray::IxDyn(shape);
    let bad = |e: ndarray::ShapeError| IoError::Invalid(e.to_string());
    Ok(match dtype {
        DType::U8 => {
            ArrayData::from(ndarray::ArrayD::from_shape_vec(dim, bytes.to_vec()).map_err(bad)?)
        }
        DType::I32 => ArrayData::from(
            ndarray::ArrayD::from_shape_vec(dim, copy_le_slice::<i32>(bytes)).map_err(bad)?,
        ),
        DType::I64 => ArrayData::from(
            ndarray::ArrayD::from_shape_vec(dim, copy_le_slice::<i64>(bytes)).map_err(bad)?,
        ),
        DType::F32 => ArrayData::from(
            ndarray::ArrayD::from_shape_vec(dim, copy_le_slice::<f32>(bytes)).map_err(bad)?,
        ),
        DType::F64 => ArrayData::from(
            ndarray::ArrayD::from_shape_vec(dim, copy_le_slice::<f64>(bytes)).map_err(bad)?,
        ),
        DType::Bool => {
            return Err(IoError::Invalid(
                "booleans are not read from raw chunks".into(),
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlap_copies_only_the_shared_region() {
        // A 4×4 chunk at (4, 4) holding 0..16; a 3×6 block at (5, 2).
        let src: Vec<u8> = (0..16).collect();
        let mut out = vec![255u8; 18];
        copy_overlap(&src, &[4, 4], &[4, 4], &mut out, &[3, 6], &[5, 2], 1);
        // Block rows 5,6,7 × cols 2..8; the chunk covers cols 4..8 → block cols 2..6.
        assert_eq!(&out[0..6], &[255, 255, 4, 5, 6, 7]);
        assert_eq!(&out[6..12], &[255, 255, 8, 9, 10, 11]);
        assert_eq!(&out[12..18], &[255, 255, 12, 13, 14, 15]);
    }
}
