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
//! Two layouts were implemented and measured with `benches/spill_store.rs` (ext4 on a virtual
//! disk, 2 cores; see `benches/README.md` for the figures): one file per chunk, and an
//! append-only log of 256 MiB segments written with one vectored `write` per batch. For large
//! chunks (≥ 1 MiB) both reach the same page-cache-bound throughput; for small chunks
//! (≤ 64 KiB) the log is several times faster because it saves a file create, close and later
//! unlink per chunk, and it never needs one file descriptor or inode per chunk. The log is the
//! default ([`SpillLayout::AppendLog`]); space is reclaimed by unlinking segments whose chunks
//! are all gone, truncating the active segment when it empties, and compacting a sealed segment
//! that is more than half dead (its live chunks are appended to the active segment). The
//! one-file-per-chunk layout remains selectable ([`SpillLayout::FilePerChunk`]).
//!
//! # Compression
//!
//! With [`Compression::Lz4`] (default) each chunk is LZ4-compressed (block format, `lz4_flex`)
//! only when that shrinks it by at least 25%; a 64 KiB sample is tried first, so
//! incompressible data (random `f64`) costs one sample compression, and is written from the
//! original buffer without a copy. Compressible data (masks, zeros, constant fields) is written
//! and read many times faster.
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
