//! Plain-old-data element views over bytes, and 64-byte aligned buffers that become `Bytes`.
//!
//! This is the only module of the array layer with `unsafe` code. It reinterprets byte slices
//! as slices of the primitive numeric types (`f64`, `f32`, `i64`, `i32`, `u8`), for which every
//! bit pattern is a valid value, and only after checking alignment and length; `bool` is never
//! reinterpreted (not every byte is a valid `bool`). It must not know chunk headers or dtypes.

use std::mem::size_of;

use bytes::Bytes;

mod sealed {
    pub trait Sealed {}
}

/// A primitive number type every bit pattern of which is a valid value.
///
/// # Safety
/// Implemented only here, for types without padding and without invalid bit patterns.
pub unsafe trait Pod: Copy + Send + Sync + Default + 'static + sealed::Sealed {
    /// The value from little-endian bytes (`bytes.len() == size_of::<Self>()`).
    fn from_le_slice(bytes: &[u8]) -> Self;
    /// The value's little-endian bytes appended to `out`.
    fn to_le_into(self, out: &mut [u8]);
    /// Converts between native and little-endian byte order (identity on little-endian).
    fn native_to_le(self) -> Self;
}

macro_rules! pod {
    ($($t:ty),*) => {$(
        impl sealed::Sealed for $t {}
        // SAFETY: primitive numeric type: no padding, every bit pattern valid.
        unsafe impl Pod for $t {
            fn from_le_slice(bytes: &[u8]) -> Self {
                let mut a = [0u8; size_of::<$t>()];
                a.copy_from_slice(bytes);
                <$t>::from_le_bytes(a)
            }
            fn to_le_into(self, out: &mut [u8]) {
                out.copy_from_slice(&self.to_le_bytes());
            }
            fn native_to_le(self) -> Self {
                <$t>::from_le_bytes(self.to_ne_bytes())
            }
        }
    )*};
}
pod!(f64, f32, i64, i32, u8);

/// `bytes` as a slice of `T` without copying, when the target is little-endian, `bytes` is
/// aligned for `T` and its length is a multiple of `T`'s size; `None` otherwise.
pub fn try_cast_slice<T: Pod>(bytes: &[u8]) -> Option<&[T]> {
    if cfg!(target_endian = "big") || !bytes.len().is_multiple_of(size_of::<T>()) {
        return None;
    }
    if bytes.as_ptr().align_offset(std::mem::align_of::<T>()) != 0 {
        return None;
    }
    // SAFETY: T is Pod (every bit pattern valid, no padding); we only accept the split when the
    // whole input lands in the aligned middle part, so no byte is reinterpreted out of bounds.
    let (prefix, middle, suffix) = unsafe { bytes.align_to::<T>() };
    if prefix.is_empty() && suffix.is_empty() {
        Some(middle)
    } else {
        None
    }
}

/// `bytes` decoded as little-endian `T`s into a new vector (the fallback for misaligned input).
pub fn copy_le_slice<T: Pod>(bytes: &[u8]) -> Vec<T> {
    bytes
        .chunks_exact(size_of::<T>())
        .map(T::from_le_slice)
        .collect()
}

/// One 64-byte, 64-aligned unit of storage.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([u8; 64]);

/// A zero-initialised byte buffer whose start is 64-byte aligned; frozen into [`Bytes`]
/// without copying.
pub struct AlignedBuf {
    lines: Vec<Line>,
    len: usize,
}

impl AlignedBuf {
    /// A zeroed buffer of `len` bytes.
    pub fn zeroed(len: usize) -> Self {
        AlignedBuf {
            lines: vec![Line([0; 64]); len.div_ceil(64)],
            len,
        }
    }

    /// The buffer's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        // SAFETY: `lines` holds at least `len` initialised bytes (u8 has no invalid values).
        unsafe { std::slice::from_raw_parts(self.lines.as_ptr().cast::<u8>(), self.len) }
    }

    /// The buffer's bytes, mutable.
    pub fn as_bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `as_bytes`, and we hold `&mut self`.
        unsafe { std::slice::from_raw_parts_mut(self.lines.as_mut_ptr().cast::<u8>(), self.len) }
    }

    /// `count` elements of `T` starting at byte `offset`, which must be a multiple of 64;
    /// `None` when the range is out of bounds or misaligned.
    pub fn typed_mut<T: Pod>(&mut self, offset: usize, count: usize) -> Option<&mut [T]> {
        if !offset.is_multiple_of(64) {
            return None;
        }
        let end = offset.checked_add(count.checked_mul(size_of::<T>())?)?;
        let bytes = self.as_bytes_mut().get_mut(offset..end)?;
        // SAFETY: T is Pod; the region starts 64-aligned (buffer start + multiple of 64) and
        // holds exactly `count` elements; we only accept an empty prefix and suffix.
        let (prefix, middle, suffix) = unsafe { bytes.align_to_mut::<T>() };
        if prefix.is_empty() && suffix.is_empty() {
            Some(middle)
        } else {
            None
        }
    }

    /// The buffer as `Bytes`, without copying; the data stay 64-aligned.
    pub fn freeze(self) -> Bytes {
        Bytes::from_owner(self)
    }
}

impl AsRef<[u8]> for AlignedBuf {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_buffer_gives_zero_copy_views() {
        let mut buf = AlignedBuf::zeroed(64 + 3 * 8);
        let xs = buf.typed_mut::<f64>(64, 3).expect("aligned region");
        xs.copy_from_slice(&[1.5, -2.0, 3.25]);
        let bytes = buf.freeze();
        assert_eq!(bytes.len(), 88);
        let view = try_cast_slice::<f64>(&bytes[64..]).expect("aligned view");
        assert_eq!(view, &[1.5, -2.0, 3.25]);
    }

    #[test]
    fn misaligned_bytes_are_refused_and_copied() {
        let mut raw = [0u8; 8 * 4 + 1];
        for (i, x) in [1.0f64, 2.0, 3.0, 4.0].iter().enumerate() {
            raw[1 + 8 * i..1 + 8 * (i + 1)].copy_from_slice(&x.to_le_bytes());
        }
        // One of raw[0..] and raw[1..] is misaligned for f64.
        let (a, b) = (&raw[0..32], &raw[1..33]);
        let aligned_a = a.as_ptr().align_offset(8) == 0;
        let misaligned = if aligned_a { b } else { a };
        assert!(try_cast_slice::<f64>(misaligned).is_none());
        assert_eq!(copy_le_slice::<f64>(&raw[1..33]), vec![1.0, 2.0, 3.0, 4.0]);
    }

    #[test]
    fn wrong_length_is_refused() {
        let buf = AlignedBuf::zeroed(64 + 7);
        assert!(try_cast_slice::<f64>(&buf.as_bytes()[64..]).is_none());
        let mut buf = AlignedBuf::zeroed(70);
        assert!(buf.typed_mut::<f64>(64, 1).is_none());
        assert!(buf.typed_mut::<f64>(8, 1).is_none());
    }
}
