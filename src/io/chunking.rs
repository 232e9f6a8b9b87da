//! Default chunks for file-backed arrays: multiples of the file's storage chunks, grown until
//! the next doubling would pass the automatic target size, so every array chunk reads whole
//! storage chunks (each storage chunk is decompressed by exactly one task).
//!
//! This module must not open files.

use crate::array::{ChunkSpec, DEFAULT_AUTO_CHUNK_BYTES};

/// Array chunk sizes for `shape`, given the file's storage chunks (`None` for contiguous
/// storage: then the automatic chunking is used) and the element size.
///
/// ```
/// use tessera::io::storage_aligned_chunks;
/// let c = storage_aligned_chunks(&[400, 1000, 1000], Some(&[40, 250, 250]), 4, 128 << 20);
/// assert!(c.iter().zip([40, 250, 250]).all(|(&c, s)| c % s == 0 || c == 1000 || c == 400));
/// assert!(c.iter().product::<usize>() * 4 <= 128 << 20);
/// ```
pub fn storage_aligned_chunks(
    shape: &[usize],
    storage: Option<&[usize]>,
    itemsize: usize,
    target_bytes: u64,
) -> Vec<usize> {
    let Some(storage) = storage.filter(|s| s.len() == shape.len()) else {
        return Vec::new();
    };
    let mut sizes: Vec<usize> = storage
        .iter()
        .zip(shape)
        .map(|(&s, &n)| s.clamp(1, n.max(1)))
        .collect();
    let bytes = |s: &[usize]| s.iter().map(|&x| x as u64).product::<u64>() * itemsize as u64;
    let mut done = vec![false; shape.len()];
    loop {
        // Grow the axis whose chunk covers the smallest fraction of it.
        let pick = (0..shape.len())
            .filter(|&a| !done[a] && sizes[a] < shape[a])
            .min_by(|&a, &b| {
                let fa = sizes[a] as f64 / shape[a] as f64;
                let fb = sizes[b] as f64 / shape[b] as f64;
                fa.total_cmp(&fb).then(b.cmp(&a))
            });
        let Some(a) = pick else { break };
        let mut trial = sizes.clone();
        trial[a] = (sizes[a] * 2).min(shape[a]);
        if bytes(&trial) <= target_bytes {
            sizes = trial;
        } else {
            done[a] = true;
        }
    }
    sizes
}

/// The chunk request for a file-backed array: the caller's, or storage-aligned defaults.
pub(crate) fn default_spec(
    requested: Option<ChunkSpec>,
    shape: &[usize],
    storage: Option<&[usize]>,
    itemsize: usize,
) -> ChunkSpec {
    if let Some(spec) = requested {
        return spec;
    }
    let sizes = storage_aligned_chunks(shape, storage, itemsize, DEFAULT_AUTO_CHUNK_BYTES);
    if sizes.is_empty() {
        ChunkSpec::Auto
    } else {
        ChunkSpec::from(sizes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_storage_multiples_below_the_target() {
        let c = storage_aligned_chunks(&[400, 1000, 1000], Some(&[40, 250, 250]), 4, 128 << 20);
        let b: usize = c.iter().product::<usize>() * 4;
        assert!(b <= 128 << 20 && b > 32 << 20, "{c:?}");
        for (x, s) in c.iter().zip([40, 250, 250]) {
            assert_eq!(x % s, 0, "{c:?}");
        }
    }

    #[test]
    fn big_storage_chunks_are_kept_and_contiguous_data_has_no_storage_hint() {
        assert_eq!(
            storage_aligned_chunks(&[10, 10], Some(&[10, 10]), 8, 16),
            vec![10, 10]
        );
        assert!(storage_aligned_chunks(&[10, 10], None, 8, 1 << 20).is_empty());
        assert_eq!(default_spec(None, &[10, 10], None, 8), ChunkSpec::Auto);
    }

    #[test]
    fn small_arrays_become_one_chunk() {
        assert_eq!(
            storage_aligned_chunks(&[7, 30], Some(&[2, 4]), 8, 128 << 20),
            vec![7, 30]
        );
    }
}
