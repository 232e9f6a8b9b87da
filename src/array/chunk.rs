//! The wire form of one chunk, and of a bundle of chunks (reduction partials).
//!
//! A chunk is a header followed by raw little-endian elements:
//!
//! ```text
//! offset 0   magic "TSACHNK1"
//! offset 8   dtype code (u8), ndim (u8), 6 reserved zero bytes
//! offset 16  shape: ndim × u64 little-endian
//! padding to the data offset = 16 + 8·ndim rounded up to a multiple of 64
//! data       product(shape) × itemsize bytes (bool: one byte 0 or 1)
//! ```
//!
//! Decoding borrows the elements without copying when the buffer is aligned for the element
//! type (chunks this module encodes are 64-byte aligned in memory); otherwise it copies. This
//! module must not know about graphs or kernels.

use std::borrow::Cow;

use bytes::Bytes;
use ndarray::{ArrayD, ArrayViewD, IxDyn};

use crate::array::data::{ArrayData, Element};
use crate::array::dtype::DType;
use crate::array::error::ArrayError;
use crate::array::pod::{copy_le_slice, try_cast_slice, AlignedBuf, Pod};

/// First 8 bytes of every encoded chunk.
pub const CHUNK_MAGIC: [u8; 8] = *b"TSACHNK1";
/// First 8 bytes of every encoded bundle of chunks.
pub const BUNDLE_MAGIC: [u8; 8] = *b"TSABNDL1";
/// Largest number of dimensions a chunk may have.
pub const MAX_NDIM: usize = 64;
/// Largest chunk kernels will build (64 GiB): larger requests are refused, not attempted.
pub const MAX_CHUNK_BYTES: usize = 1 << 36;

/// Byte offset of the element data in a chunk of `ndim` dimensions.
pub fn data_offset(ndim: usize) -> usize {
    (16 + 8 * ndim).div_ceil(64) * 64
}

/// The elements of a decoded chunk: borrowed when aligned, owned when copied.
#[derive(Clone, Debug, PartialEq)]
pub enum ChunkValues<'a> {
    /// `bool` elements (always copied out of the byte form).
    Bool(Cow<'a, [bool]>),
    /// `u8` elements.
    U8(Cow<'a, [u8]>),
    /// `i32` elements.
    I32(Cow<'a, [i32]>),
    /// `i64` elements.
    I64(Cow<'a, [i64]>),
    /// `f32` elements.
    F32(Cow<'a, [f32]>),
    /// `f64` elements.
    F64(Cow<'a, [f64]>),
}

/// Runs `$body` with `$s` bound to the `&[T]` inside a [`ChunkValues`].
#[macro_export]
#[doc(hidden)]
macro_rules! with_chunk_values {
    ($values:expr, $s:ident => $body:expr) => {
        match $values {
            $crate::array::ChunkValues::Bool(c) => {
                let $s: &[bool] = &c[..];
                $body
            }
            $crate::array::ChunkValues::U8(c) => {
                let $s: &[u8] = &c[..];
                $body
            }
            $crate::array::ChunkValues::I32(c) => {
                let $s: &[i32] = &c[..];
                $body
            }
            $crate::array::ChunkValues::I64(c) => {
                let $s: &[i64] = &c[..];
                $body
            }
            $crate::array::ChunkValues::F32(c) => {
                let $s: &[f32] = &c[..];
                $body
            }
            $crate::array::ChunkValues::F64(c) => {
                let $s: &[f64] = &c[..];
                $body
            }
        }
    };
}

impl ChunkValues<'_> {
    /// The element type.
    pub fn dtype(&self) -> DType {
        match self {
            ChunkValues::Bool(_) => DType::Bool,
            ChunkValues::U8(_) => DType::U8,
            ChunkValues::I32(_) => DType::I32,
            ChunkValues::I64(_) => DType::I64,
            ChunkValues::F32(_) => DType::F32,
            ChunkValues::F64(_) => DType::F64,
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        with_chunk_values!(self, s => s.len())
    }

    /// True when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when the elements are borrowed from the encoded bytes (no copy was made).
    pub fn is_borrowed(&self) -> bool {
        match self {
            ChunkValues::Bool(c) => matches!(c, Cow::Borrowed(_)),
            ChunkValues::U8(c) => matches!(c, Cow::Borrowed(_)),
            ChunkValues::I32(c) => matches!(c, Cow::Borrowed(_)),
            ChunkValues::I64(c) => matches!(c, Cow::Borrowed(_)),
            ChunkValues::F32(c) => matches!(c, Cow::Borrowed(_)),
            ChunkValues::F64(c) => matches!(c, Cow::Borrowed(_)),
        }
    }
}

/// A decoded chunk: shape plus elements in row-major order.
#[derive(Clone, Debug, PartialEq)]
pub struct ChunkView<'a> {
    /// The chunk's shape.
    pub shape: Vec<usize>,
    /// The chunk's elements.
    pub values: ChunkValues<'a>,
}

impl ChunkView<'_> {
    /// The element type.
    pub fn dtype(&self) -> DType {
        self.values.dtype()
    }

    /// The elements as `&[T]` when `T` is the chunk's element type.
    pub fn slice<T: Element>(&self) -> Option<&[T]> {
        T::chunk_slice(&self.values)
    }

    /// A typed n-d view when `T` is the chunk's element type.
    pub fn array_view<T: Element>(&self) -> Result<ArrayViewD<'_, T>, ArrayError> {
        let s = self.slice::<T>().ok_or(ArrayError::DTypeMismatch {
            actual: self.dtype(),
            requested: T::DTYPE,
        })?;
        ArrayViewD::from_shape(IxDyn(&self.shape), s).map_err(|e| ArrayError::Decode(e.to_string()))
    }

    /// An owned copy as [`ArrayData`].
    pub fn to_data(&self) -> Result<ArrayData, ArrayError> {
        let shape = IxDyn(&self.shape);
        let err = |e: ndarray::ShapeError| ArrayError::Decode(e.to_string());
        Ok(match &self.values {
            ChunkValues::Bool(c) => {
                ArrayData::Bool(ArrayD::from_shape_vec(shape, c.to_vec()).map_err(err)?)
            }
            ChunkValues::U8(c) => {
                ArrayData::U8(ArrayD::from_shape_vec(shape, c.to_vec()).map_err(err)?)
            }
            ChunkValues::I32(c) => {
                ArrayData::I32(ArrayD::from_shape_vec(shape, c.to_vec()).map_err(err)?)
            }
            ChunkValues::I64(c) => {
                ArrayData::I64(ArrayD::from_shape_vec(shape, c.to_vec()).map_err(err)?)
            }
            ChunkValues::F32(c) => {
                ArrayData::F32(ArrayD::from_shape_vec(shape, c.to_vec()).map_err(err)?)
            }
            ChunkValues::F64(c) => {
                ArrayData::F64(ArrayD::from_shape_vec(shape, c.to_vec()).map_err(err)?)
            }
        })
    }
}

fn read_u64(bytes: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&bytes[..8]);
    u64::from_le_bytes(a)
}

fn pod_values<T: Pod>(data: &[u8]) -> Cow<'_, [T]> {
    match try_cast_slice::<T>(data) {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(copy_le_slice::<T>(data)),
    }
}

/// The dtype and shape in a chunk header, and the byte length the whole chunk must have.
pub fn decode_header(bytes: &[u8]) -> Result<(DType, Vec<usize>, usize), ArrayError> {
    if bytes.len() < 16 || bytes[0..8] != CHUNK_MAGIC {
        return Err(ArrayError::Decode(format!(
            "not a chunk ({} bytes, magic {:?})",
            bytes.len(),
            &bytes[..bytes.len().min(8)]
        )));
    }
    let dtype = DType::from_code(bytes[8])
        .ok_or_else(|| ArrayError::Decode(format!("unknown dtype code {}", bytes[8])))?;
    let ndim = usize::from(bytes[9]);
    if ndim > MAX_NDIM {
        return Err(ArrayError::Decode(format!(
            "{ndim} dimensions (at most {MAX_NDIM})"
        )));
    }
    let offset = data_offset(ndim);
    if bytes.len() < offset {
        return Err(ArrayError::Decode(format!(
            "header of {ndim} dimensions needs {offset} bytes, got {}",
            bytes.len()
        )));
    }
    let mut shape = Vec::with_capacity(ndim);
    let mut count: usize = 1;
    for i in 0..ndim {
        let d = read_u64(&bytes[16 + 8 * i..24 + 8 * i]);
        let d =
            usize::try_from(d).map_err(|_| ArrayError::Decode(format!("axis {i} has size {d}")))?;
        count = count
            .checked_mul(d)
            .ok_or_else(|| ArrayError::Decode(format!("shape {shape:?}×{d} overflows")))?;
        shape.push(d);
    }
    let total = count
        .checked_mul(dtype.itemsize())
        .and_then(|n| n.checked_add(offset))
        .ok_or_else(|| ArrayError::Decode(format!("shape {shape:?} overflows")))?;
    Ok((dtype, shape, total))
}

/// Decodes a chunk, borrowing its elements when the bytes are aligned.
///
/// ```
/// use tessera::array::{decode_chunk, encode_chunk, ArrayData};
/// let a = ArrayData::from(ndarray::arr2(&[[1i32, 2], [3, 4]]).into_dyn());
/// let bytes = encode_chunk(&a);
/// let view = decode_chunk(&bytes).unwrap();
/// assert!(view.values.is_borrowed());
/// assert_eq!(view.to_data().unwrap(), a);
/// ```
pub fn decode_chunk(bytes: &[u8]) -> Result<ChunkView<'_>, ArrayError> {
    let (dtype, shape, total) = decode_header(bytes)?;
    if bytes.len() != total {
        return Err(ArrayError::Decode(format!(
            "{dtype} chunk of shape {shape:?} needs {total} bytes, got {}",
            bytes.len()
        )));
    }
    let data = &bytes[data_offset(shape.len())..];
    let values = match dtype {
        DType::Bool => ChunkValues::Bool(Cow::Owned(data.iter().map(|&b| b != 0).collect())),
        DType::U8 => ChunkValues::U8(Cow::Borrowed(data)),
        DType::I32 => ChunkValues::I32(pod_values(data)),
        DType::I64 => ChunkValues::I64(pod_values(data)),
        DType::F32 => ChunkValues::F32(pod_values(data)),
        DType::F64 => ChunkValues::F64(pod_values(data)),
    };
    Ok(ChunkView { shape, values })
}

/// Builds one encoded chunk in a 64-byte aligned buffer, block by block.
pub struct ChunkWriter {
    buf: AlignedBuf,
    dtype: DType,
    len: usize,
    offset: usize,
}

impl ChunkWriter {
    /// A zero-filled chunk of `dtype` and `shape`.
    pub fn new(dtype: DType, shape: &[usize]) -> Result<ChunkWriter, ArrayError> {
        if shape.len() > MAX_NDIM {
            return Err(ArrayError::Shape {
                op: "encode chunk",
                reason: format!("{} dimensions (at most {MAX_NDIM})", shape.len()),
            });
        }
        let len = shape
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .ok_or_else(|| ArrayError::Shape {
                op: "encode chunk",
                reason: format!("shape {shape:?} overflows"),
            })?;
        let offset = data_offset(shape.len());
        let bytes = len
            .checked_mul(dtype.itemsize())
            .filter(|&b| b <= MAX_CHUNK_BYTES)
            .ok_or_else(|| ArrayError::Shape {
                op: "encode chunk",
                reason: format!(
                    "a {dtype} chunk of shape {shape:?} exceeds {MAX_CHUNK_BYTES} bytes"
                ),
            })?;
        let mut buf = AlignedBuf::zeroed(offset + bytes);
        let head = buf.as_bytes_mut();
        head[0..8].copy_from_slice(&CHUNK_MAGIC);
        head[8] = dtype.code();
        head[9] = shape.len() as u8;
        for (i, &d) in shape.iter().enumerate() {
            head[16 + 8 * i..24 + 8 * i].copy_from_slice(&(d as u64).to_le_bytes());
        }
        Ok(ChunkWriter {
            buf,
            dtype,
            len,
            offset,
        })
    }

    /// Number of elements of the chunk.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the chunk has no elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Writes `values` at element position `start`.
    pub fn write<T: Element>(&mut self, start: usize, values: &[T]) -> Result<(), ArrayError> {
        if T::DTYPE != self.dtype {
            return Err(ArrayError::DTypeMismatch {
                actual: self.dtype,
                requested: T::DTYPE,
            });
        }
        if start + values.len() > self.len {
            return Err(ArrayError::Shape {
                op: "encode chunk",
                reason: format!(
                    "writing {} elements at {start} into a chunk of {}",
                    values.len(),
                    self.len
                ),
            });
        }
        T::write_wire(values, &mut self.buf, self.offset, self.len, start);
        Ok(())
    }

    /// The finished chunk bytes (no copy).
    pub fn finish(self) -> Bytes {
        self.buf.freeze()
    }
}

/// Writes a slice of Pod elements into the data region of an aligned buffer.
pub(crate) fn write_pod<T: Pod>(
    values: &[T],
    buf: &mut AlignedBuf,
    offset: usize,
    total: usize,
    start: usize,
) {
    if let Some(dst) = buf.typed_mut::<T>(offset, total) {
        let dst = &mut dst[start..start + values.len()];
        dst.copy_from_slice(values);
        if cfg!(target_endian = "big") {
            for x in dst.iter_mut() {
                *x = x.native_to_le();
            }
        }
    }
}

/// Encodes a typed slice of row-major elements with `shape`.
pub fn encode_values<T: Element>(shape: &[usize], values: &[T]) -> Result<Bytes, ArrayError> {
    let mut w = ChunkWriter::new(T::DTYPE, shape)?;
    if w.len() != values.len() {
        return Err(ArrayError::Shape {
            op: "encode chunk",
            reason: format!(
                "shape {shape:?} needs {} elements, got {}",
                w.len(),
                values.len()
            ),
        });
    }
    w.write(0, values)?;
    Ok(w.finish())
}

fn encode_typed<T: Element>(a: &ArrayD<T>) -> Bytes {
    let mut w = match ChunkWriter::new(T::DTYPE, a.shape()) {
        Ok(w) => w,
        // Arrays with more than MAX_NDIM axes cannot be built by this crate's kernels.
        Err(_) => return Bytes::new(),
    };
    match a.as_slice() {
        Some(s) => T::write_wire(s, &mut w.buf, w.offset, w.len, 0),
        None => {
            let v: Vec<T> = a.iter().copied().collect();
            T::write_wire(&v, &mut w.buf, w.offset, w.len, 0);
        }
    }
    w.finish()
}

/// Encodes an array (any memory layout) as a chunk.
pub fn encode_chunk(data: &ArrayData) -> Bytes {
    crate::with_array_data!(data, a => encode_typed(a))
}

/// Encodes a typed array view as a chunk.
pub fn encode_view<T: Element>(a: &ArrayViewD<'_, T>) -> Result<Bytes, ArrayError> {
    match a.as_slice() {
        Some(s) => encode_values(a.shape(), s),
        None => {
            let v: Vec<T> = a.iter().copied().collect();
            encode_values(a.shape(), &v)
        }
    }
}

/// Bundles several encoded chunks into one buffer, each starting 64-byte aligned.
pub fn encode_bundle(parts: &[Bytes]) -> Bytes {
    let head = (16 + 8 * parts.len()).div_ceil(64) * 64;
    let mut offsets = Vec::with_capacity(parts.len());
    let mut end = head;
    for p in parts {
        offsets.push(end);
        end += p.len().div_ceil(64) * 64;
    }
    let mut buf = AlignedBuf::zeroed(end);
    let b = buf.as_bytes_mut();
    b[0..8].copy_from_slice(&BUNDLE_MAGIC);
    b[8..16].copy_from_slice(&(parts.len() as u64).to_le_bytes());
    for (i, (p, &off)) in parts.iter().zip(&offsets).enumerate() {
        b[16 + 8 * i..24 + 8 * i].copy_from_slice(&(p.len() as u64).to_le_bytes());
        b[off..off + p.len()].copy_from_slice(p);
    }
    buf.freeze()
}

/// The parts of a bundle, borrowed.
pub fn decode_bundle(bytes: &[u8]) -> Result<Vec<&[u8]>, ArrayError> {
    if bytes.len() < 16 || bytes[0..8] != BUNDLE_MAGIC {
        return Err(ArrayError::Decode(format!(
            "not a chunk bundle ({} bytes)",
            bytes.len()
        )));
    }
    let n = read_u64(&bytes[8..16]) as usize;
    if n > 1 << 20 || bytes.len() < 16 + 8 * n {
        return Err(ArrayError::Decode(format!(
            "bundle of {n} parts in {} bytes",
            bytes.len()
        )));
    }
    let mut off = (16usize + 8 * n).div_ceil(64) * 64;
    let mut parts = Vec::with_capacity(n);
    for i in 0..n {
        let len = read_u64(&bytes[16 + 8 * i..24 + 8 * i]) as usize;
        let part = bytes.get(off..off.saturating_add(len)).ok_or_else(|| {
            ArrayError::Decode(format!("bundle part {i} of {len} bytes is cut off"))
        })?;
        parts.push(part);
        off = off.saturating_add(len.div_ceil(64) * 64);
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(dtype: DType) -> ArrayData {
        let shape = IxDyn(&[2, 3]);
        let f = |i: usize| i as f64 * 1.5 - 2.0;
        match dtype {
            DType::Bool => {
                ArrayData::Bool(ArrayD::from_shape_fn(shape, |ix| (ix[0] + ix[1]) % 2 == 0))
            }
            DType::U8 => ArrayData::U8(ArrayD::from_shape_fn(shape, |ix| {
                (ix[0] * 3 + ix[1]) as u8 * 40
            })),
            DType::I32 => ArrayData::I32(ArrayD::from_shape_fn(shape, |ix| {
                ix[0] as i32 * -7 + ix[1] as i32
            })),
            DType::I64 => ArrayData::I64(ArrayD::from_shape_fn(shape, |ix| {
                (ix[0] as i64) << 40 | ix[1] as i64
            })),
            DType::F32 => ArrayData::F32(ArrayD::from_shape_fn(shape, |ix| {
                f(ix[0] * 3 + ix[1]) as f32
            })),
            DType::F64 => ArrayData::F64(ArrayD::from_shape_fn(shape, |ix| f(ix[0] * 3 + ix[1]))),
        }
    }

    #[test]
    fn every_dtype_round_trips_and_borrows_when_aligned() {
        for dtype in DType::ALL {
            let a = sample(dtype);
            let bytes = encode_chunk(&a);
            assert_eq!(bytes.len(), 64 + 6 * dtype.itemsize());
            assert_eq!(bytes.as_ptr().align_offset(64), 0);
            let view = decode_chunk(&bytes).unwrap();
            assert_eq!(view.shape, vec![2, 3]);
            assert_eq!(view.to_data().unwrap(), a);
            if dtype != DType::Bool {
                assert!(view.values.is_borrowed(), "{dtype}");
            }
        }
    }

    #[test]
    fn misaligned_buffers_decode_by_copy() {
        for dtype in [DType::I32, DType::I64, DType::F32, DType::F64] {
            let a = sample(dtype);
            let bytes = encode_chunk(&a);
            let mut shifted = vec![0u8; bytes.len() + 1];
            shifted[1..].copy_from_slice(&bytes);
            let view = decode_chunk(&shifted[1..]).unwrap();
            assert!(!view.values.is_borrowed(), "{dtype}");
            assert_eq!(view.to_data().unwrap(), a);
        }
    }

    #[test]
    fn zero_dimensional_and_empty_chunks_round_trip() {
        let a = ArrayData::F64(ArrayD::from_elem(IxDyn(&[]), 4.5));
        assert_eq!(
            decode_chunk(&encode_chunk(&a)).unwrap().to_data().unwrap(),
            a
        );
        let e = ArrayData::I64(ArrayD::zeros(IxDyn(&[3, 0])));
        assert_eq!(
            decode_chunk(&encode_chunk(&e)).unwrap().to_data().unwrap(),
            e
        );
    }

    #[test]
    fn non_standard_layouts_encode_in_logical_order() {
        let a = ndarray::arr2(&[[1.0f64, 2.0], [3.0, 4.0]])
            .reversed_axes()
            .into_dyn();
        let bytes = encode_chunk(&ArrayData::F64(a.clone()));
        let back = decode_chunk(&bytes).unwrap().to_data().unwrap();
        assert_eq!(back, ArrayData::F64(a));
    }

    #[test]
    fn corrupt_chunks_are_errors_not_panics() {
        let good = encode_chunk(&sample(DType::F64));
        assert!(decode_chunk(&good[..good.len() - 1]).is_err());
        assert!(decode_chunk(&good[..10]).is_err());
        let mut bad = good.to_vec();
        bad[8] = 77;
        assert!(decode_chunk(&bad).is_err());
        let mut bad = good.to_vec();
        bad[9] = 200;
        assert!(decode_chunk(&bad).is_err());
        let mut bad = good.to_vec();
        bad[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(decode_chunk(&bad).is_err());
        assert!(decode_chunk(b"").is_err());
    }

    #[test]
    fn bundles_round_trip_with_aligned_parts() {
        let parts = vec![
            encode_chunk(&sample(DType::F64)),
            encode_chunk(&sample(DType::I64)),
        ];
        let b = encode_bundle(&parts);
        let back = decode_bundle(&b).unwrap();
        assert_eq!(back.len(), 2);
        for (p, q) in parts.iter().zip(&back) {
            assert_eq!(&p[..], *q);
            assert!(decode_chunk(q).unwrap().values.is_borrowed());
        }
        assert!(decode_bundle(&b[..20]).is_err());
    }
}
