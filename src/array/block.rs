//! Typed working buffers for kernels: [`Block`] (owned, reused across blocks of a chunk) and
//! [`Slice`] (a borrowed typed slice of any dtype).
//!
//! Kernels evaluate a chunk a cache-sized block at a time; these are the registers of that
//! evaluation. This module must not know about programs, graphs or the wire form.

use crate::array::chunk::ChunkValues;
use crate::array::dtype::DType;

/// An owned typed buffer.
#[derive(Clone, Debug)]
pub(crate) enum Block {
    Bool(Vec<bool>),
    U8(Vec<u8>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    F32(Vec<f32>),
    F64(Vec<f64>),
}

/// A borrowed typed slice.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Slice<'a> {
    Bool(&'a [bool]),
    U8(&'a [u8]),
    I32(&'a [i32]),
    I64(&'a [i64]),
    F32(&'a [f32]),
    F64(&'a [f64]),
}

/// Runs `$body` with `$s` bound to the typed `&[T]` of a [`Slice`].
macro_rules! with_slice {
    ($slice:expr, $s:ident => $body:expr) => {
        match $slice {
            $crate::array::block::Slice::Bool($s) => $body,
            $crate::array::block::Slice::U8($s) => $body,
            $crate::array::block::Slice::I32($s) => $body,
            $crate::array::block::Slice::I64($s) => $body,
            $crate::array::block::Slice::F32($s) => $body,
            $crate::array::block::Slice::F64($s) => $body,
        }
    };
}
pub(crate) use with_slice;

impl Block {
    /// A zeroed buffer of `len` elements of `dtype`.
    pub(crate) fn new(dtype: DType, len: usize) -> Block {
        match dtype {
            DType::Bool => Block::Bool(vec![false; len]),
            DType::U8 => Block::U8(vec![0; len]),
            DType::I32 => Block::I32(vec![0; len]),
            DType::I64 => Block::I64(vec![0; len]),
            DType::F32 => Block::F32(vec![0.0; len]),
            DType::F64 => Block::F64(vec![0.0; len]),
        }
    }

    /// The first `len` elements.
    pub(crate) fn slice(&self, len: usize) -> Slice<'_> {
        match self {
            Block::Bool(v) => Slice::Bool(&v[..len]),
            Block::U8(v) => Slice::U8(&v[..len]),
            Block::I32(v) => Slice::I32(&v[..len]),
            Block::I64(v) => Slice::I64(&v[..len]),
            Block::F32(v) => Slice::F32(&v[..len]),
            Block::F64(v) => Slice::F64(&v[..len]),
        }
    }

    /// The element type.
    pub(crate) fn dtype(&self) -> DType {
        match self {
            Block::Bool(_) => DType::Bool,
            Block::U8(_) => DType::U8,
            Block::I32(_) => DType::I32,
            Block::I64(_) => DType::I64,
            Block::F32(_) => DType::F32,
            Block::F64(_) => DType::F64,
        }
    }
}

impl<'a> Slice<'a> {
    /// The element type.
    pub(crate) fn dtype(&self) -> DType {
        match self {
            Slice::Bool(_) => DType::Bool,
            Slice::U8(_) => DType::U8,
            Slice::I32(_) => DType::I32,
            Slice::I64(_) => DType::I64,
            Slice::F32(_) => DType::F32,
            Slice::F64(_) => DType::F64,
        }
    }

    /// Number of elements.
    pub(crate) fn len(&self) -> usize {
        with_slice!(self, s => s.len())
    }

    /// The elements `start..start + len`.
    pub(crate) fn sub(&self, start: usize, len: usize) -> Slice<'a> {
        match *self {
            Slice::Bool(s) => Slice::Bool(&s[start..start + len]),
            Slice::U8(s) => Slice::U8(&s[start..start + len]),
            Slice::I32(s) => Slice::I32(&s[start..start + len]),
            Slice::I64(s) => Slice::I64(&s[start..start + len]),
            Slice::F32(s) => Slice::F32(&s[start..start + len]),
            Slice::F64(s) => Slice::F64(&s[start..start + len]),
        }
    }

    /// The slice of decoded chunk values.
    pub(crate) fn of_values(values: &'a ChunkValues<'_>) -> Slice<'a> {
        match values {
            ChunkValues::Bool(c) => Slice::Bool(c),
            ChunkValues::U8(c) => Slice::U8(c),
            ChunkValues::I32(c) => Slice::I32(c),
            ChunkValues::I64(c) => Slice::I64(c),
            ChunkValues::F32(c) => Slice::F32(c),
            ChunkValues::F64(c) => Slice::F64(c),
        }
    }
}
