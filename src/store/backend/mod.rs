//! Where spilled chunk bytes live on disk: one file per chunk, or an append-only log of
//! segment files with compaction. Both write whole batches with large sequential writes and
//! read a chunk back with one positioned read into one buffer.
//!
//! Backends only place and free byte ranges; they must not know keys, memory accounting or
//! compression (the chunk store owns those). Writes are all-or-nothing per batch.

mod append_log;
mod direct_io;
mod file_per_chunk;

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;

pub use append_log::AppendLog;
pub use file_per_chunk::FilePerChunk;

/// How spilled chunks are laid out in the spill directory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SpillLayout {
    /// `chunk-<n>` per chunk; deleting a chunk unlinks its file.
    FilePerChunk,
    /// `segment-<n>.log` files written append-only with direct I/O (`O_DIRECT`, bypassing
    /// the page cache; through it where the filesystem refuses); space of deleted chunks is
    /// reclaimed when a segment empties or by compacting mostly-dead segments. The default
    /// (see `store` docs).
    #[default]
    AppendLog,
    /// The append-only log, always through the page cache (no `O_DIRECT`).
    AppendLogBuffered,
}

/// Where one spilled payload is.
#[derive(Clone, Debug)]
pub enum DiskLocation {
    /// A whole file `chunk-<id>`.
    File {
        /// File number.
        id: u64,
        /// Payload length.
        len: u64,
    },
    /// A range of a log segment.
    Log {
        /// Segment number.
        segment: u64,
        /// The open segment (stays readable even after the segment is deleted).
        file: Arc<File>,
        /// Written with direct I/O: read back the same way.
        direct: bool,
        /// Start of the payload.
        offset: u64,
        /// Payload length.
        len: u64,
    },
}

impl DiskLocation {
    /// Payload length in bytes.
    pub fn payload_len(&self) -> u64 {
        match self {
            DiskLocation::File { len, .. } | DiskLocation::Log { len, .. } => *len,
        }
    }

    /// The file holding the payload, for messages.
    pub fn path(&self, dir: &Path) -> PathBuf {
        match self {
            DiskLocation::File { id, .. } => dir.join(file_per_chunk::file_name(*id)),
            DiskLocation::Log { segment, .. } => dir.join(append_log::segment_name(*segment)),
        }
    }

    /// True when both denote the same stored range.
    pub fn same_place(&self, other: &DiskLocation) -> bool {
        match (self, other) {
            (DiskLocation::File { id: a, .. }, DiskLocation::File { id: b, .. }) => a == b,
            (
                DiskLocation::Log {
                    segment: a,
                    offset: oa,
                    ..
                },
                DiskLocation::Log {
                    segment: b,
                    offset: ob,
                    ..
                },
            ) => a == b && oa == ob,
            _ => false,
        }
    }
}

/// Read a payload into one buffer (with direct I/O: the covering blocks into a page-aligned
/// one, the payload a view of it). Needs no backend lock.
pub fn read_location(dir: &Path, loc: &DiskLocation) -> io::Result<Bytes> {
    let len = usize::try_from(loc.payload_len()).map_err(io::Error::other)?;
    match loc {
        DiskLocation::Log {
            file,
            direct: true,
            offset,
            ..
        } => match direct_io::read_range(file, *offset, len as u64) {
            Err(e) if direct_io::refused(&e) => {
                direct_io::clear_direct(file)?;
                direct_io::read_range(file, *offset, len as u64)
            }
            other => other,
        },
        DiskLocation::Log { file, offset, .. } => {
            let mut buf = vec![0u8; len];
            file.read_exact_at(&mut buf, *offset)?;
            Ok(Bytes::from(buf))
        }
        DiskLocation::File { .. } => {
            let mut buf = vec![0u8; len];
            File::open(loc.path(dir))?.read_exact_at(&mut buf, 0)?;
            Ok(Bytes::from(buf))
        }
    }
}

/// The spill backend in use (a closed set, so no generic parameter spreads).
#[derive(Debug)]
pub enum SpillBackend {
    /// One file per chunk.
    FilePerChunk(FilePerChunk),
    /// Append-only segment log.
    AppendLog(AppendLog),
}

impl SpillBackend {
    /// A backend of `layout` writing into `dir`.
    pub fn new(layout: SpillLayout, dir: PathBuf) -> Self {
        match layout {
            SpillLayout::FilePerChunk => SpillBackend::FilePerChunk(FilePerChunk::new(dir)),
            SpillLayout::AppendLog => SpillBackend::AppendLog(AppendLog::new(dir)),
            SpillLayout::AppendLogBuffered => SpillBackend::AppendLog(AppendLog::buffered(dir)),
        }
    }

    /// Write all payloads; on error nothing of the batch is kept.
    pub fn write_batch(&mut self, payloads: &[Bytes]) -> io::Result<Vec<DiskLocation>> {
        match self {
            SpillBackend::FilePerChunk(b) => b.write_batch(payloads),
            SpillBackend::AppendLog(b) => b.write_batch(payloads),
        }
    }

    /// Release a payload's space (best effort; errors are logged).
    pub fn free(&mut self, loc: &DiskLocation) {
        match self {
            SpillBackend::FilePerChunk(b) => b.free(loc),
            SpillBackend::AppendLog(b) => b.free(loc),
        }
    }

    /// Bytes the backend's files take (for the log: including dead ranges not yet reclaimed).
    pub fn disk_bytes(&self) -> u64 {
        match self {
            SpillBackend::FilePerChunk(b) => b.disk_bytes(),
            SpillBackend::AppendLog(b) => b.disk_bytes(),
        }
    }

    /// Bytes of stored (not deleted) payloads: what `max_spill` limits.
    pub fn live_bytes(&self) -> u64 {
        match self {
            SpillBackend::FilePerChunk(b) => b.disk_bytes(),
            SpillBackend::AppendLog(b) => b.live_bytes(),
        }
    }

    /// True when spills bypass the page cache (`O_DIRECT`).
    pub fn uses_direct_io(&self) -> bool {
        match self {
            SpillBackend::FilePerChunk(_) => false,
            SpillBackend::AppendLog(b) => b.uses_direct_io(),
        }
    }

    /// Stop appending to `segment` (before compacting it).
    pub fn seal(&mut self, segment: u64) {
        if let SpillBackend::AppendLog(b) = self {
            b.seal(segment);
        }
    }

    /// A log segment worth compacting (mostly dead), if any.
    pub fn compaction_candidate(&self) -> Option<u64> {
        match self {
            SpillBackend::FilePerChunk(_) => None,
            SpillBackend::AppendLog(b) => b.compaction_candidate(),
        }
    }
}

/// Most bytes handed to one `writev` call. Measured (160 MB chunks of random `f64`, ext4,
/// page cache): one call per chunk ran at 0.8–1.1 GB/s in most runs, 4 MiB calls at
/// 3.2–4.4 GB/s in the same runs (a huge write is throttled as one big dirtying burst).
const WRITE_CALL_BYTES: usize = 4 << 20;

/// Write `payloads` to `file` from its current position with vectored writes of at most
/// [`WRITE_CALL_BYTES`] each.
fn write_all_vectored(mut file: &File, payloads: &[Bytes]) -> io::Result<()> {
    use std::io::{IoSlice, Write};
    let pieces: Vec<&[u8]> = payloads
        .iter()
        .flat_map(|p| p.chunks(WRITE_CALL_BYTES))
        .collect();
    let mut start = 0;
    while start < pieces.len() {
        let mut end = start;
        let mut total = 0;
        while end < pieces.len() && (end == start || total + pieces[end].len() <= WRITE_CALL_BYTES)
        {
            total += pieces[end].len();
            end += 1;
        }
        let mut slices: Vec<IoSlice<'_>> =
            pieces[start..end].iter().map(|p| IoSlice::new(p)).collect();
        let mut bufs = &mut slices[..];
        while !bufs.is_empty() {
            match file.write_vectored(bufs) {
                Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero)),
                Ok(n) => IoSlice::advance_slices(&mut bufs, n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        start = end;
    }
    Ok(())
}
