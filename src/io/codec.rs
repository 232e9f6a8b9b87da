//! Encoding output chunks the way HDF5's filter pipeline would — byte shuffle, then zlib
//! deflate — so workers compress in parallel and the file only receives finished chunks
//! (`H5Dwrite_chunk`). zlib is the system library libhdf5 itself uses for its deflate filter.
//!
//! This module must not open files.

use serde::{Deserialize, Serialize};

use crate::io::error::IoError;

/// The filters of an output dataset, in pipeline order: shuffle, then deflate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Codec {
    /// Byte shuffle (groups the n-th bytes of all elements; helps deflate on numbers).
    pub shuffle: bool,
    /// zlib deflate level 1–9, or no compression.
    pub deflate: Option<u8>,
}

impl Default for Codec {
    fn default() -> Self {
        Codec {
            shuffle: true,
            deflate: Some(4),
        }
    }
}

#[link(name = "z")]
extern "C" {
    fn compressBound(source_len: std::os::raw::c_ulong) -> std::os::raw::c_ulong;
    fn compress2(
        dest: *mut u8,
        dest_len: *mut std::os::raw::c_ulong,
        source: *const u8,
        source_len: std::os::raw::c_ulong,
        level: std::os::raw::c_int,
    ) -> std::os::raw::c_int;
}

/// HDF5's shuffle filter: byte `b` of element `i` goes to `b * n + i`.
pub fn shuffle(data: &[u8], itemsize: usize) -> Vec<u8> {
    if itemsize <= 1 || data.len() < itemsize {
        return data.to_vec();
    }
    let n = data.len() / itemsize;
    let mut out = vec![0u8; data.len()];
    for (i, elem) in data[..n * itemsize].chunks_exact(itemsize).enumerate() {
        for (b, &byte) in elem.iter().enumerate() {
            out[b * n + i] = byte;
        }
    }
    // Trailing bytes that do not form a whole element are copied unchanged, as HDF5 does.
    out[n * itemsize..].copy_from_slice(&data[n * itemsize..]);
    out
}

/// zlib-compresses `data` at `level` (the zlib stream HDF5's deflate filter writes).
pub fn deflate(data: &[u8], level: u8) -> Result<Vec<u8>, IoError> {
    let len = std::os::raw::c_ulong::try_from(data.len())
        .map_err(|_| IoError::Invalid(format!("chunk of {} bytes too large", data.len())))?;
    // SAFETY: compressBound is a pure function of its argument.
    let bound = unsafe { compressBound(len) };
    let mut out = vec![0u8; bound as usize];
    let mut out_len = bound;
    // SAFETY: `out` has `bound` writable bytes, `data` has `len` readable bytes.
    let rc = unsafe {
        compress2(
            out.as_mut_ptr(),
            &mut out_len,
            data.as_ptr(),
            len,
            std::os::raw::c_int::from(level.min(9)),
        )
    };
    if rc != 0 {
        return Err(IoError::Invalid(format!("zlib compress2 failed with code {rc}")));
    }
    out.truncate(out_len as usize);
    Ok(out)
}

impl Codec {
    /// Encodes one full storage chunk of raw little-endian elements.
    pub fn encode(&self, raw: Vec<u8>, itemsize: usize) -> Result<Vec<u8>, IoError> {
        let shuffled = if self.shuffle && itemsize > 1 {
            shuffle(&raw, itemsize)
        } else {
            raw
        };
        match self.deflate {
            Some(level) => deflate(&shuffled, level),
            None => Ok(shuffled),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shuffle_groups_bytes_by_position() {
        let data = [1u8, 2, 3, 4, 5, 6, 7, 8, 9];
        assert_eq!(shuffle(&data, 2), vec![1, 3, 5, 7, 2, 4, 6, 8, 9]);
        assert_eq!(shuffle(&data, 1), data.to_vec());
    }

    #[test]
    fn deflate_makes_a_zlib_stream_that_shrinks_repetitive_data() {
        let data = vec![7u8; 10_000];
        let z = deflate(&data, 4).expect("deflate");
        assert!(z.len() < 200);
        // zlib header: CM = 8 (deflate), and the header checksum is a multiple of 31.
        assert_eq!(z[0] & 0x0f, 8);
        assert_eq!((u16::from(z[0]) << 8 | u16::from(z[1])) % 31, 0);
    }
}
