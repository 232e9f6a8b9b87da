//! Spill layout as an append-only log: batches are appended to the active `segment-<n>.log`
//! with one vectored write; a segment is sealed at 256 MiB; a segment whose chunks are all
//! deleted is unlinked (the active one truncated); a deleted chunk inside a segment gets its
//! blocks back by punching a hole (`fallocate(PUNCH_HOLE)`, ext4/xfs/btrfs/tmpfs); where that is
//! unsupported, a sealed segment that is more than half dead is a compaction candidate (the
//! chunk store moves its live chunks to the active one).
//!
//! It tracks byte ranges only; it must not know keys.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;

use super::{write_all_vectored, DiskLocation};

/// A segment is sealed once it reaches this size.
pub const SEGMENT_LIMIT: u64 = 256 << 20;

pub(super) fn segment_name(id: u64) -> String {
    format!("segment-{id}.log")
}

#[derive(Debug)]
struct Segment {
    file: Arc<File>,
    /// Bytes appended (the file's length).
    size: u64,
    /// Bytes of chunks still stored.
    live: u64,
    /// Bytes of deleted chunks whose space was given back by punching a hole.
    punched: u64,
}

/// Append-only segment log.
#[derive(Debug)]
pub struct AppendLog {
    dir: PathBuf,
    segments: BTreeMap<u64, Segment>,
    active: Option<u64>,
    next_id: u64,
    disk_bytes: u64,
    punch_holes: bool,
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
            punch_holes: true,
        }
    }

    fn active_segment(&mut self) -> io::Result<u64> {
        if let Some(id) = self.active {
            return Ok(id);
        }
        let id = self.next_id;
        self.next_id += 1;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(self.dir.join(segment_name(id)))?;
        self.segments.insert(
            id,
            Segment {
                file: Arc::new(file),
                size: 0,
                live: 0,
                punched: 0,
            },
        );
        self.active = Some(id);
        Ok(id)
    }

    pub(super) fn write_batch(&mut self, payloads: &[Bytes]) -> io::Result<Vec<DiskLocation>> {
        let id = self.active_segment()?;
        let Some(seg) = self.segments.get_mut(&id) else {
            return Err(io::Error::other("active segment vanished"));
        };
        let start = seg.size;
        let mut file: &File = &seg.file;
        let written = file
            .seek(SeekFrom::Start(start))
            .and_then(|_| write_all_vectored(&seg.file, payloads));
        if let Err(e) = written {
            // Give back whatever part of the batch reached the disk.
            let _ = seg.file.set_len(start);
            return Err(e);
        }
        let mut offset = start;
        let mut locations = Vec::with_capacity(payloads.len());
        for payload in payloads {
            let len = payload.len() as u64;
            locations.push(DiskLocation::Log {
                segment: id,
                file: Arc::clone(&seg.file),
                offset,
                len,
            });
            offset += len;
        }
        let total = offset - start;
        seg.size += total;
        seg.live += total;
        self.disk_bytes += total;
        if seg.size >= SEGMENT_LIMIT {
            self.active = None;
        }
        Ok(locations)
    }

    pub(super) fn free(&mut self, loc: &DiskLocation) {
        let DiskLocation::Log {
            segment,
            offset,
            len,
            ..
        } = loc
        else {
            return;
        };
        let Some(seg) = self.segments.get_mut(segment) else {
            return;
        };
        seg.live = seg.live.saturating_sub(*len);
        if seg.live == 0 {
            let on_disk = seg.size - seg.punched;
            if self.active == Some(*segment) {
                if seg.file.set_len(0).is_ok() {
                    self.disk_bytes -= on_disk;
                    seg.size = 0;
                    seg.punched = 0;
                }
                return;
            }
            self.disk_bytes -= on_disk;
            self.segments.remove(segment);
            let path = self.dir.join(segment_name(*segment));
            if let Err(e) = fs::remove_file(&path) {
                tracing::warn!(path = %path.display(), error = %e, "cannot delete a spill segment");
            }
            return;
        }
        if self.punch_holes && punch_hole(&seg.file, *offset, *len) {
            seg.punched += len;
            self.disk_bytes -= len;
        }
    }

    pub(super) fn disk_bytes(&self) -> u64 {
        self.disk_bytes
    }

    pub(super) fn compaction_candidate(&self) -> Option<u64> {
        self.segments
            .iter()
            .filter(|(id, seg)| Some(**id) != self.active && seg.live * 2 < seg.size - seg.punched)
            .min_by(|a, b| {
                let ratio = |s: &Segment| s.live as f64 / (s.size - s.punched).max(1) as f64;
                ratio(a.1).total_cmp(&ratio(b.1))
            })
            .map(|(id, _)| *id)
    }

    /// Seal the active segment now (tests use it to exercise compaction).
    #[cfg(test)]
    pub fn seal_active(&mut self) {
        self.active = None;
    }

    /// Behave like a filesystem without hole punching (tests of compaction).
    #[cfg(test)]
    pub fn disable_hole_punching(&mut self) {
        self.punch_holes = false;
    }
}

/// Give a deleted range's blocks back to the filesystem (`FALLOC_FL_PUNCH_HOLE`); false where
/// the filesystem does not support it (then compaction reclaims the space).
fn punch_hole(file: &File, offset: u64, len: u64) -> bool {
    use std::os::fd::AsRawFd;
    let (Ok(offset), Ok(len)) = (libc::off_t::try_from(offset), libc::off_t::try_from(len)) else {
        return false;
    };
    if len == 0 {
        return true;
    }
    // SAFETY: fallocate on a valid descriptor; KEEP_SIZE leaves the file length (and so every
    // other chunk's offset) unchanged.
    let rc = unsafe {
        libc::fallocate(
            file.as_raw_fd(),
            libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
            offset,
            len,
        )
    };
    rc == 0
}
