//! Receive buffers for large MPI payloads. Touching fresh memory costs page faults — on a
//! virtual machine about as much as the transfer itself (64 MiB: ~40 ms of faults against
//! ~5 ms of copying) — so large buffers are recycled: a payload handed out as `Bytes` returns
//! its buffer to a small pool when the last reference is dropped (a fetched input after its
//! task ran, a gathered chunk after use), and the next payload of a similar size reuses it.
//! Fresh large buffers ask for transparent huge pages, which cuts the faults 512-fold.
//!
//! This module must not call MPI; it only owns memory.

use std::sync::{Mutex, PoisonError};

use bytes::Bytes;

/// Payloads smaller than this use ordinary allocations.
const POOLED_FROM: usize = 1 << 20;
/// Idle pooled memory kept at most, per process.
const POOL_LIMIT: usize = 256 << 20;
/// A pooled buffer is reused for a payload when at most this much larger (in quarters).
const SLACK_QUARTERS: usize = 1;
/// Ask for huge pages from this size on.
const HUGE_FROM: usize = 4 << 20;

struct Pool {
    buffers: Vec<Vec<u8>>,
    bytes: usize,
}

static POOL: Mutex<Pool> = Mutex::new(Pool {
    buffers: Vec::new(),
    bytes: 0,
});

/// An empty buffer with room for `len` bytes.
pub(super) fn allocate(len: usize) -> Vec<u8> {
    if len >= POOLED_FROM {
        let mut pool = POOL.lock().unwrap_or_else(PoisonError::into_inner);
        let fits =
            |b: &Vec<u8>| b.capacity() >= len && b.capacity() <= len + len / 4 * SLACK_QUARTERS;
        let best = pool
            .buffers
            .iter()
            .enumerate()
            .filter(|(_, b)| fits(b))
            .min_by_key(|(_, b)| b.capacity())
            .map(|(i, _)| i);
        if let Some(i) = best {
            let mut buffer = pool.buffers.swap_remove(i);
            pool.bytes -= buffer.capacity();
            buffer.clear();
            return buffer;
        }
    }
    let mut buffer = Vec::with_capacity(len);
    if len >= HUGE_FROM {
        advise_huge_pages(&mut buffer);
    }
    buffer
}

/// Hand a filled buffer out as `Bytes`; large ones come back to the pool when dropped.
pub(super) fn into_bytes(buffer: Vec<u8>) -> Bytes {
    if buffer.capacity() >= POOLED_FROM {
        Bytes::from_owner(Recycled(buffer))
    } else {
        Bytes::from(buffer)
    }
}

/// Owner of a pooled buffer inside `Bytes`.
struct Recycled(Vec<u8>);

impl AsRef<[u8]> for Recycled {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for Recycled {
    fn drop(&mut self) {
        let buffer = std::mem::take(&mut self.0);
        let mut pool = POOL.lock().unwrap_or_else(PoisonError::into_inner);
        if pool.bytes + buffer.capacity() <= POOL_LIMIT {
            pool.bytes += buffer.capacity();
            pool.buffers.push(buffer);
        }
    }
}

/// `madvise(MADV_HUGEPAGE)` on the 2 MiB-aligned part of the buffer's memory.
fn advise_huge_pages(buffer: &mut Vec<u8>) {
    const HUGE: usize = 2 << 20;
    let start = buffer.as_mut_ptr() as usize;
    let end = start + buffer.capacity();
    let aligned = start.div_ceil(HUGE) * HUGE;
    if end > aligned + HUGE {
        let len = (end - aligned) / HUGE * HUGE;
        // SAFETY: the range lies inside the buffer's allocation; madvise only changes how the
        // kernel backs it and fails harmlessly when huge pages are unavailable.
        unsafe {
            libc::madvise(aligned as *mut libc::c_void, len, libc::MADV_HUGEPAGE);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_buffers_come_back_and_are_reused() {
        let len = 3 << 20;
        let mut buffer = allocate(len);
        buffer.resize(len, 7);
        let pointer = buffer.as_ptr();
        let bytes = into_bytes(buffer);
        assert_eq!(bytes.len(), len);
        assert!(bytes.iter().all(|b| *b == 7));
        let view = bytes.slice(10..20);
        drop(bytes);
        // Still referenced through the slice: not back in the pool yet.
        assert_eq!(view.len(), 10);
        drop(view);
        let again = allocate(len - 5);
        assert_eq!(again.as_ptr(), pointer, "the buffer was recycled");
        assert!(again.is_empty() && again.capacity() >= len - 5);
    }

    #[test]
    fn small_buffers_are_plain() {
        let mut buffer = allocate(100);
        buffer.extend_from_slice(&[1; 100]);
        let bytes = into_bytes(buffer);
        assert_eq!(&bytes[..], &[1; 100][..]);
    }
}
