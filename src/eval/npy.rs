//! NumPy's `.npy` format, version 1.0, for results too large to print: the magic
//! `\x93NUMPY`, version bytes, a little-endian u16 header length, a Python dict literal
//! (`descr` such as `'<f8'`, `fortran_order: False`, `shape`) padded with spaces so the data
//! starts at a multiple of 64 bytes, then the elements in row-major order, little-endian.
//!
//! This module writes files; it must not compute arrays.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::array::{ArrayData, DType};

/// Writing a `.npy` file failed.
#[derive(Debug, thiserror::Error)]
pub enum NpyError {
    /// The file could not be created or written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The header would not fit the 16-bit length of format 1.0.
    #[error("the .npy header for shape {0:?} is too long")]
    HeaderTooLong(Vec<usize>),
}

/// NumPy's type string for `dtype`: `<f8`, `<f4`, `<i8`, `<i4`, `|u1`, `|b1`.
pub fn descr(dtype: DType) -> &'static str {
    match dtype {
        DType::Bool => "|b1",
        DType::U8 => "|u1",
        DType::I32 => "<i4",
        DType::I64 => "<i8",
        DType::F32 => "<f4",
        DType::F64 => "<f8",
    }
}

/// The magic, version, header length and header of a `.npy` 1.0 file.
///
/// ```
/// use tessera::array::DType;
/// let h = tessera::eval::npy::header(DType::F64, &[3, 4]).unwrap();
/// assert_eq!(&h[..8], b"\x93NUMPY\x01\x00");
/// assert_eq!(h.len() % 64, 0);
/// assert!(String::from_utf8_lossy(&h).contains("'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }"));
/// ```
pub fn header(dtype: DType, shape: &[usize]) -> Result<Vec<u8>, NpyError> {
    let dict = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}",
        descr(dtype),
        super::value::shape_text(shape)
    );
    // magic (6) + version (2) + length (2) + dict + padding + '\n' ≡ 0 (mod 64)
    let unpadded = 10 + dict.len() + 1;
    let padding = (64 - unpadded % 64) % 64;
    let len = dict.len() + padding + 1;
    let len16 = u16::try_from(len).map_err(|_| NpyError::HeaderTooLong(shape.to_vec()))?;
    let mut out = Vec::with_capacity(10 + len);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&len16.to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.extend(std::iter::repeat_n(b' ', padding));
    out.push(b'\n');
    Ok(out)
}

/// Write `data` to `path` as a `.npy` 1.0 file; returns the bytes written. The file is
/// written under a temporary name next to `path` (`.<name>.tessera-<pid>`) and renamed to
/// `path` only when complete, so a failed write leaves no partial file under `path`.
pub fn write_npy(path: &Path, data: &ArrayData) -> Result<u64, NpyError> {
    let io = |source| NpyError::Io {
        path: path.to_path_buf(),
        source,
    };
    let name = path
        .file_name()
        .ok_or_else(|| io(std::io::Error::other("not a file name")))?;
    let tmp = path.with_file_name(format!(
        ".{}.tessera-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let written = write_npy_to(&tmp, data).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        match e {
            NpyError::Io { source, .. } => io(source),
            other => other,
        }
    })?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(e)
    })?;
    Ok(written)
}

fn write_npy_to(path: &Path, data: &ArrayData) -> Result<u64, NpyError> {
    let io = |source| NpyError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::create(path).map_err(io)?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let head = header(data.dtype(), data.shape())?;
    out.write_all(&head).map_err(io)?;
    let mut written = head.len() as u64;
    macro_rules! elements {
        ($a:expr, $to_bytes:expr) => {{
            for x in $a.iter() {
                let bytes = $to_bytes(*x);
                out.write_all(&bytes).map_err(io)?;
                written += bytes.len() as u64;
            }
        }};
    }
    match data {
        ArrayData::Bool(a) => elements!(a, |b: bool| [u8::from(b)]),
        ArrayData::U8(a) => elements!(a, |x: u8| [x]),
        ArrayData::I32(a) => elements!(a, i32::to_le_bytes),
        ArrayData::I64(a) => elements!(a, i64::to_le_bytes),
        ArrayData::F32(a) => elements!(a, f32::to_le_bytes),
        ArrayData::F64(a) => elements!(a, f64::to_le_bytes),
    }
    out.flush().map_err(io)?;
    out.get_ref().sync_all().map_err(io)?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_aligned_and_describe_dtype_and_shape() {
        for dtype in DType::ALL {
            for shape in [vec![], vec![5], vec![2, 3, 4], vec![100_000, 100_000]] {
                let h = header(dtype, &shape).expect("header fits");
                assert_eq!(h.len() % 64, 0);
                assert_eq!(h.last(), Some(&b'\n'));
                let len = u16::from_le_bytes([h[8], h[9]]) as usize;
                assert_eq!(len + 10, h.len());
                let text = String::from_utf8(h[10..].to_vec()).expect("ascii");
                assert!(text.contains(descr(dtype)));
                assert!(text.contains(&super::super::value::shape_text(&shape)));
            }
        }
    }

    #[test]
    fn file_holds_header_then_little_endian_elements() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a.npy");
        let data = ArrayData::from(ndarray::arr1(&[1i32, -2]).into_dyn());
        let n = write_npy(&path, &data).expect("written");
        let bytes = std::fs::read(&path).expect("read back");
        assert_eq!(n as usize, bytes.len());
        assert_eq!(
            &bytes[bytes.len() - 8..],
            &[1, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff]
        );
        let missing = write_npy(Path::new("/nonexistent-dir/x.npy"), &data);
        assert!(missing
            .expect_err("no such directory")
            .to_string()
            .contains("/nonexistent-dir/x.npy"));
    }
}
