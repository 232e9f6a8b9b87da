//! Spill layout as an append-only log: batches are appended to the active `segment-<n>.log`
//! with direct I/O (see [`super::direct_io`]; vectored buffered writes where the filesystem
//! refuses `O_DIRECT`); a segment is sealed at 256 MiB; a segment whose chunks are all
//! deleted is unlinked (the active one truncated); a segment more than half dead is a
//! compaction candidate (the chunk store moves its live chunks to a fresh active segment).
//! Hole punching (`fallocate(PUNCH_HOLE)`) was tried and rejected: on ext4 it writes back the
//! dirty pages of the range first, which made the next spills 15x slower (measured).
//!
//! It tracks byte ranges only; it must not know keys.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;

use super::direct_io::{self, AlignedBuf, BatchWriter};
use super::{write_all_vectored, DiskLocation};

/// A segment is sealed once it reaches this size.
pub const SEGMENT_LIMIT: u64 = 256 << 20;
/// The active segment is compacted once it is at least this big and more than half dead.
pub const ACTIVE_COMPACTION_MIN: u64 = 16 << 20;

pub(super) fn segment_name(id: u64) -> String {
    format!("segment-{id}.log")
}

#[derive(Debug)]
struct Segment {
    file: Arc<File>,
    /// Opened with `O_DIRECT`: batches start and end on block boundaries.
    direct: bool,
    /// Bytes appended (the file's length).
    size: u64,
    /// Bytes of chunks still stored.
    live: u64,
}

/// Append-only segment log.
#[derive(Debug)]
pub struct AppendLog {
    dir: PathBuf,
    segments: BTreeMap<u64, Segment>,
    active: Option<u64>,
    next_id: u64,
    disk_bytes: u64,
    live_bytes: u64,
    /// New segments are opened for direct I/O (until the filesystem refuses it).
    use_direct: bool,
    /// Staging buffer of direct writes, allocated on first use.
    staging: Option<AlignedBuf>,
}

impl AppendLog {
    /// A log writing into `dir`.
    pub fn new(dir: PathBuf) -> Self {
        AppendLog {
            dir,
            segments: BTreeMap::new(),
            active: None,
            next_id: 0,
            disk_bytes: 0,
            live_bytes: 0,
            use_direct: true,
            staging: None,
        }
    }

    /// A log writing into `dir` through the page cache only (no `O_DIRECT`).
    pub fn buffered(dir: PathBuf) -> Self {
        AppendLog {
            use_direct: false,
            ..AppendLog::new(dir)
        }
    }

    fn active_segment(&mut self) -> io::Result<u64> {
        if let Some(id) = self.active {
            return Ok(id);
        }
        let id = self.next_id;
        self.next_id += 1;
        let path = self.dir.join(segment_name(id));
        let direct_file = if self.use_direct {
            direct_io::create_direct(&path)?
        } else {
            None
        };
        let direct = direct_file.is_some();
        if !direct && self.use_direct {
            tracing::info!(directory = %self.dir.display(), "the spill directory's filesystem refuses direct I/O; spilling through the page cache");
            self.use_direct = false;
        }
        let file = match direct_file {
            Some(file) => file,
            None => OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&path)?,
        };
        self.segments.insert(
            id,
            Segment {
                file: Arc::new(file),
                direct,
                size: 0,
                live: 0,
            },
        );
        self.active = Some(id);
        Ok(id)
    }

    pub(super) fn write_batch(&mut self, payloads: &[Bytes]) -> io::Result<Vec<DiskLocation>> {
        match self.try_write_batch(payloads) {
            Err(e) if self.use_direct && direct_io::refused(&e) => {
                // Accepted O_DIRECT at open, refused a transfer: go on through the page cache.
                tracing::info!(directory = %self.dir.display(), error = %e, "direct I/O refused; spilling through the page cache");
                self.use_direct = false;
                if let Some(id) = self.active.take() {
                    if let Some(seg) = self.segments.get(&id) {
                        let _ = direct_io::clear_direct(&seg.file);
                    }
                }
                self.try_write_batch(payloads)
            }
            other => other,
        }
    }

    fn try_write_batch(&mut self, payloads: &[Bytes]) -> io::Result<Vec<DiskLocation>> {
        let id = self.active_segment()?;
        let needs_staging = self.segments.get(&id).is_some_and(|s| s.direct);
        if needs_staging && self.staging.is_none() {
            self.staging = Some(AlignedBuf::new(direct_io::STAGING_BYTES)?);
        }
        let Some(seg) = self.segments.get_mut(&id) else {
            return Err(io::Error::other("active segment vanished"));
        };
        let start = seg.size;
        let placed = match (seg.direct, self.staging.as_mut()) {
            (true, Some(staging)) => write_direct(&seg.file, staging, start, payloads),
            _ => write_buffered(&seg.file, start, payloads),
        };
        let (offsets, end) = match placed {
            Ok(placed) => placed,
            Err(e) => {
                // Give back whatever part of the batch reached the disk.
                let _ = seg.file.set_len(start);
                return Err(e);
            }
        };
        let locations = payloads
            .iter()
            .zip(offsets)
            .map(|(payload, offset)| DiskLocation::Log {
                segment: id,
                file: Arc::clone(&seg.file),
                direct: seg.direct,
                offset,
                len: payload.len() as u64,
            })
            .collect();
        let total = end - start;
        let live: u64 = payloads.iter().map(|p| p.len() as u64).sum();
        seg.size += total;
        seg.live += live;
        self.disk_bytes += total;
        self.live_bytes += live;
        if seg.size >= SEGMENT_LIMIT {
            self.active = None;
        }
        Ok(locations)
    }

    /// Release a payload's range; a segment left with no live chunk is deleted (the active
    /// one truncated).
    pub(super) fn free(&mut self, loc: &DiskLocation) {
        let DiskLocation::Log { segment, len, .. } = loc else {
            return;
        };
        let Some(seg) = self.segments.get_mut(segment) else {
            return;
        };
        let freed = (*len).min(seg.live);
        seg.live -= freed;
        self.live_bytes -= freed;
        if seg.live > 0 {
            return;
        }
        if self.active == Some(*segment) {
            if seg.file.set_len(0).is_ok() {
                self.disk_bytes -= seg.size;
                seg.size = 0;
            }
            return;
        }
        self.disk_bytes -= seg.size;
        self.segments.remove(segment);
        let path = self.dir.join(segment_name(*segment));
        if let Err(e) = fs::remove_file(&path) {
            tracing::warn!(path = %path.display(), error = %e, "cannot delete a spill segment");
        }
    }

    /// True while new segments are written with direct I/O.
    pub(super) fn uses_direct_io(&self) -> bool {
        self.use_direct
    }

    pub(super) fn live_bytes(&self) -> u64 {
        self.live_bytes
    }

    pub(super) fn disk_bytes(&self) -> u64 {
        self.disk_bytes
    }

    /// The most-dead segment that is more than half dead: sealed ones of any size, the active
    /// one from [`ACTIVE_COMPACTION_MIN`] bytes.
    pub(super) fn compaction_candidate(&self) -> Option<u64> {
        self.segments
            .iter()
            .filter(|(id, seg)| {
                let big_enough = Some(**id) != self.active || seg.size >= ACTIVE_COMPACTION_MIN;
                big_enough && seg.live * 2 < seg.size
            })
            .min_by(|a, b| {
                let ratio = |s: &Segment| s.live as f64 / s.size.max(1) as f64;
                ratio(a.1).total_cmp(&ratio(b.1))
            })
            .map(|(id, _)| *id)
    }

    /// Stop appending to `segment` if it is the active one (before compacting it).
    pub(super) fn seal(&mut self, segment: u64) {
        if self.active == Some(segment) {
            self.active = None;
        }
    }

    /// Seal the active segment now (tests use it to exercise compaction).
    #[cfg(test)]
    pub fn seal_active(&mut self) {
        self.active = None;
    }
}

/// Write a batch with direct I/O from `start`; returns each payload's offset and the end.
fn write_direct(
    file: &File,
    staging: &mut AlignedBuf,
    start: u64,
    payloads: &[Bytes],
) -> io::Result<(Vec<u64>, u64)> {
    let mut writer = BatchWriter::new(file, staging, start);
    let mut offsets = Vec::with_capacity(payloads.len());
    for payload in payloads {
        offsets.push(writer.append(payload)?);
    }
    Ok((offsets, writer.finish()?))
}

/// Write a batch through the page cache from `start`, payloads back to back.
fn write_buffered(file: &File, start: u64, payloads: &[Bytes]) -> io::Result<(Vec<u64>, u64)> {
    let mut handle: &File = file;
    handle.seek(SeekFrom::Start(start))?;
    write_all_vectored(file, payloads)?;
    let mut offset = start;
    let mut offsets = Vec::with_capacity(payloads.len());
    for payload in payloads {
        offsets.push(offset);
        offset += payload.len() as u64;
    }
    Ok((offsets, offset))
}
