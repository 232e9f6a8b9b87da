//! The write kernels: what a worker does with a computed block of an output.
//!
//! - `store-locked`: encode (shuffle + deflate, in parallel on every worker), then under the
//!   output's exclusive lock open the file, `H5Dwrite_chunk`, close.
//! - `encode` + `write-all`: encode on the workers; one task writes every encoded chunk.
//! - `store-filtered`: under the lock, write the block through libhdf5's filters.
//!
//! Every kernel returns the number of bytes it wrote (8 bytes, little-endian). This module
//! must not build graphs (see `write`).

use std::path::Path;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::array::chunk::{data_offset, decode_header};
use crate::array::decode_chunk;
use crate::io::codec::Codec;
use crate::io::error::IoError;
use crate::io::file_lock::FileLock;
use crate::io::hdf5_file;

/// Arguments of the per-block store and encode kernels.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct StoreArgs {
    /// The (temporary) output file.
    pub file: String,
    /// The lock file.
    pub lock: String,
    /// HDF5 dataset path.
    pub dataset: String,
    /// Origin of the block (a multiple of the storage chunk).
    pub origin: Vec<usize>,
    /// Storage chunk shape (empty: contiguous dataset).
    pub chunk: Vec<usize>,
    pub codec: Codec,
}

/// Arguments of the single-writer kernel: the origin of each input, in input order.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct WriterArgs {
    pub file: String,
    pub dataset: String,
    pub origins: Vec<Vec<usize>>,
}

fn count(n: usize) -> Bytes {
    Bytes::copy_from_slice(&(n as u64).to_le_bytes())
}

fn decode_args<T: for<'de> Deserialize<'de>>(args: &[u8]) -> Result<T, IoError> {
    postcard::from_bytes(args).map_err(|e| IoError::Invalid(format!("write task arguments: {e}")))
}

fn one_input<'a>(inputs: &'a [Bytes], what: &str) -> Result<&'a Bytes, IoError> {
    match inputs {
        [b] => Ok(b),
        _ => Err(IoError::Invalid(format!(
            "{what} takes one input block, got {}",
            inputs.len()
        ))),
    }
}

/// Copies a block's raw elements into a zero-padded buffer of the full storage chunk shape.
fn pad(raw: &[u8], block: &[usize], chunk: &[usize], itemsize: usize) -> Vec<u8> {
    let total: usize = chunk.iter().product::<usize>() * itemsize;
    if block == chunk {
        return raw.to_vec();
    }
    let mut out = vec![0u8; total];
    let nd = block.len();
    let row = block[nd - 1] * itemsize;
    if row == 0 || block.contains(&0) {
        return out;
    }
    // Strides (in elements) of the chunk.
    let mut stride = vec![1usize; nd];
    for a in (0..nd - 1).rev() {
        stride[a] = stride[a + 1] * chunk[a + 1];
    }
    let rows: usize = block[..nd - 1].iter().product();
    let mut idx = vec![0usize; nd.saturating_sub(1)];
    for r in 0..rows {
        let dst: usize = idx.iter().zip(&stride).map(|(&i, &s)| i * s).sum::<usize>() * itemsize;
        out[dst..dst + row].copy_from_slice(&raw[r * row..(r + 1) * row]);
        for a in (0..idx.len()).rev() {
            idx[a] += 1;
            if idx[a] < block[a] {
                break;
            }
            idx[a] = 0;
        }
    }
    out
}

/// Encodes one computed block as a stored chunk.
fn encode(block: &[u8], args: &StoreArgs) -> Result<Vec<u8>, IoError> {
    let (dtype, shape, total) = decode_header(block)?;
    if block.len() < total {
        return Err(IoError::Invalid(format!(
            "block of {} bytes, header says {total}",
            block.len()
        )));
    }
    if shape.len() != args.chunk.len() || shape.iter().zip(&args.chunk).any(|(b, c)| b > c) {
        return Err(IoError::Invalid(format!(
            "block of shape {shape:?} does not fit storage chunk {:?}",
            args.chunk
        )));
    }
    let raw = &block[data_offset(shape.len())..total];
    let padded = pad(raw, &shape, &args.chunk, dtype.itemsize());
    args.codec.encode(padded, dtype.itemsize())
}

fn origin_u64(origin: &[usize]) -> Vec<u64> {
    origin.iter().map(|&o| o as u64).collect()
}

/// `tessera.io.store-locked`.
pub(crate) fn store_locked(args: &[u8], inputs: &[Bytes]) -> Result<Bytes, IoError> {
    let a: StoreArgs = decode_args(args)?;
    let block = one_input(inputs, "store")?;
    if a.chunk.is_empty() {
        return store_filtered_with(&a, block);
    }
    let encoded = encode(block, &a)?;
    let _lock = FileLock::exclusive(Path::new(&a.lock))?;
    let file = hdf5_file::open_rw(&a.file)?;
    hdf5_file::write_encoded_chunks(
        &file,
        &a.file,
        &a.dataset,
        &[(origin_u64(&a.origin), &encoded)],
    )?;
    hdf5_file::close(file, &a.file)?;
    Ok(count(encoded.len()))
}

/// `tessera.io.encode`: the encoded chunk bytes.
pub(crate) fn encode_kernel(args: &[u8], inputs: &[Bytes]) -> Result<Bytes, IoError> {
    let a: StoreArgs = decode_args(args)?;
    let block = one_input(inputs, "encode")?;
    Ok(Bytes::from(encode(block, &a)?))
}

/// `tessera.io.write-all`: writes every encoded input chunk in one open of the file.
pub(crate) fn write_all(args: &[u8], inputs: &[Bytes]) -> Result<Bytes, IoError> {
    let a: WriterArgs = decode_args(args)?;
    if a.origins.len() != inputs.len() {
        return Err(IoError::Invalid(format!(
            "{} origins for {} chunks",
            a.origins.len(),
            inputs.len()
        )));
    }
    let chunks: Vec<(Vec<u64>, &[u8])> = a
        .origins
        .iter()
        .zip(inputs)
        .map(|(o, b)| (origin_u64(o), &b[..]))
        .collect();
    let file = hdf5_file::open_rw(&a.file)?;
    hdf5_file::write_encoded_chunks(&file, &a.file, &a.dataset, &chunks)?;
    hdf5_file::close(file, &a.file)?;
    Ok(count(inputs.iter().map(|b| b.len()).sum()))
}

/// `tessera.io.store-filtered`.
pub(crate) fn store_filtered(args: &[u8], inputs: &[Bytes]) -> Result<Bytes, IoError> {
    let a: StoreArgs = decode_args(args)?;
    store_filtered_with(&a, one_input(inputs, "store")?)
}

fn store_filtered_with(a: &StoreArgs, block: &Bytes) -> Result<Bytes, IoError> {
    let view = decode_chunk(block)?;
    let _lock = FileLock::exclusive(Path::new(&a.lock))?;
    let file = hdf5_file::open_rw(&a.file)?;
    hdf5_file::write_block_filtered(&file, &a.file, &a.dataset, &a.origin, &view)?;
    hdf5_file::close(file, &a.file)?;
    Ok(count(block.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edge_blocks_are_padded_row_by_row() {
        // A 2×2 block of u8 into a 3×3 chunk.
        let out = pad(&[1, 2, 3, 4], &[2, 2], &[3, 3], 1);
        assert_eq!(out, vec![1, 2, 0, 3, 4, 0, 0, 0, 0]);
        // 3-d, 2-byte items.
        let raw: Vec<u8> = (1..=8).collect();
        let out = pad(&raw, &[2, 1, 2], &[2, 2, 2], 2);
        assert_eq!(out.len(), 16);
        assert_eq!(&out[0..4], &[1, 2, 3, 4]);
        assert_eq!(&out[8..12], &[5, 6, 7, 8]);
        assert!(out[4..8].iter().chain(&out[12..16]).all(|&b| b == 0));
    }
}
