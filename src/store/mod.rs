//! The worker's chunk store: chunk bytes in memory, spilled to node-local disk when the
//! memory manager asks.
//!
//! - [`ChunkStore`]: thread-safe `put` / `get` (unspills) / `read` (for peers, no unspill) /
//!   `remove` / `spill`, recording [`crate::core::memory::MemoryEvent`]s for the worker to feed
//!   to its [`crate::core::memory::MemoryManager`].
//! - [`SpillWriter`]: a background thread running spill jobs off the executor.
//! - [`SpillDir`], [`clean_stale_spill_dirs`]: the per-worker directory
//!   `tessera-worker-<host>-<pid>-<random>` under `--local-directory`, with a locked pid file,
//!   removed on drop; a startup sweep removes those of dead workers on the same host.
//! - [`filesystem_kind`], [`warn_if_shared_filesystem`]: refuse silence when spilling to NFS,
//!   Lustre, GPFS, BeeGFS, SMB, CephFS... or to RAM (tmpfs).
//!
//! # On-disk layout: an append-only log (measured)
//!
//! Two layouts were implemented and measured with `benches/spill_store.rs` (64 MiB of random
//! `f64` per spill call, ext4 on a virtio disk, 2 shared cores, page cache, no fsync; median
//! throughput, ±20% run-to-run noise):
//!
//! | chunk size | one file per chunk | append-only log |
//! | --- | --- | --- |
//! | 16 KiB | 53 MiB/s | 4.6 GiB/s |
//! | 256 KiB | 225 MiB/s | 3.2 GiB/s |
//! | 4 MiB | 1.6 GiB/s | 4.3 GiB/s |
//! | read back, 256 KiB | 10 GiB/s | 22 GiB/s |
//!
//! The log wins at every size: it saves a file create, close and later unlink per chunk, writes
//! a batch with large sequential writes, and never needs one inode or descriptor per chunk. It
//! is the default ([`SpillLayout::AppendLog`]); [`SpillLayout::FilePerChunk`] stays selectable.
//!
//! The default log writes and reads with direct I/O (`O_DIRECT`, see `backend/direct_io.rs`):
//! in the W4 benchmark (2 workers spilling 160 MB chunks at once) buffered writes ran at
//! 0.43–0.52 GB/s per worker, throttled to the kernel's write-back speed once a few GB were
//! dirty, and direct ones at 1.5–2.4 GB/s; read-back of a 160 MB chunk went from 0.33–0.9 GB/s
//! (fresh buffer, page faults, copy) to 1.6–2.0 GB/s. [`SpillLayout::AppendLogBuffered`]
//! keeps the page cache (and is what a filesystem refusing `O_DIRECT` gets).
//! Space is reclaimed by unlinking segments whose chunks are all gone, truncating the active
//! segment when it empties, and compacting a segment that is more than half dead (its live
//! chunks are appended to a fresh segment). Punching holes (`fallocate(PUNCH_HOLE)`) for deleted
//! chunks was tried and rejected: on ext4 it writes back the range's dirty pages first, which
//! made the following spills of small chunks 15x slower (4.9 GiB/s → 0.3 GiB/s). `max_spill`
//! therefore limits the bytes of stored chunks; the files may briefly hold up to about twice
//! that before compaction.
//!
//! A 1 GiB spill (4 MiB chunks) runs at 3.0 GiB/s into the page cache and 1.3 GiB/s including
//! `syncfs`; on the same directory `dd bs=1M count=1024` gives 3.3–5.2 GB/s without sync,
//! 1.7–2.2 GB/s with `conv=fdatasync`, and 2.0–2.2 GB/s with `oflag=direct conv=fdatasync`.
//!
//! # Compression
//!
//! With [`Compression::Lz4`] (default) each chunk is LZ4-compressed (block format, `lz4_flex`)
//! only when that shrinks it by at least 25%; a 64 KiB sample is tried first, so
//! incompressible data (random `f64`) costs one sample compression per chunk and is written from
//! the original buffer without a copy. Measured (4 MiB chunks, log): zeros 3.4 GiB/s raw →
//! 21 GiB/s with LZ4; random `f64` 3.2 GiB/s raw, 5.2 GiB/s with LZ4 on (no slowdown within
//! noise: the sample is rejected and the chunk is written raw).
//!
//! # Reading spilled chunks for peers
//!
//! [`ChunkStore::read`] returns a spilled chunk as `Bytes` without moving it back into
//! memory: one exactly-sized buffer is allocated and filled by a single positioned read (plus
//! the decoded buffer when the chunk was compressed), then handed over as `Bytes` without a
//! copy. [`ChunkStore::get`] does the same and keeps the chunk in memory again (unspill).
//!
//! # Failure
//!
//! A full disk (`ENOSPC`, `EDQUOT`) or reaching `max_spill` makes the chunk's spill fail: it
//! stays in memory (never lost) and a `SpillFailed` event tells the memory manager to stop
//! spilling. A failed batch write is truncated away.
//!
//! This module stores and moves bytes; it must not decide what to spill or when.

mod backend;
mod chunk_store;
mod codec;
mod error;
mod filesystem;
mod spill_dir;
mod spill_writer;

pub use backend::SpillLayout;
pub use chunk_store::{ChunkStore, Residency, SpillReport, StoreConfig, StoreMetrics};
pub use codec::Compression;
pub use error::StoreError;
pub use filesystem::{filesystem_kind, spill_location_warning, warn_if_shared_filesystem, FsKind};
pub use spill_dir::{clean_stale_spill_dirs, host_name, SpillDir};
pub use spill_writer::SpillWriter;

#[cfg(test)]
mod tests;
