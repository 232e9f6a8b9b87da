//! Spill layout with one file `chunk-<n>` per chunk.
//!
//! Simple and frees space at once, but costs a create + close + unlink per chunk. It must not
//! keep files open (a worker may hold far more spilled chunks than file descriptors).

use std::fs::{self, File};
use std::io;
use std::path::PathBuf;

use bytes::Bytes;

use super::{write_all_vectored, DiskLocation};

pub(super) fn file_name(id: u64) -> String {
    format!("chunk-{id}")
}

/// One file per chunk.
#[derive(Debug)]
pub struct FilePerChunk {
    dir: PathBuf,
    next_id: u64,
    disk_bytes: u64,
}

impl FilePerChunk {
    /// A backend writing into `dir`.
    pub fn new(dir: PathBuf) -> Self {
        FilePerChunk {
            dir,
            next_id: 0,
            disk_bytes: 0,
        }
    }

    pub(super) fn write_batch(&mut self, payloads: &[Bytes]) -> io::Result<Vec<DiskLocation>> {
        let mut written: Vec<DiskLocation> = Vec::with_capacity(payloads.len());
        for payload in payloads {
            let id = self.next_id;
            self.next_id += 1;
            let path = self.dir.join(file_name(id));
            let result = File::create(&path)
                .and_then(|f| write_all_vectored(&f, std::slice::from_ref(payload)));
            if let Err(e) = result {
                let _ = fs::remove_file(&path);
                for loc in &written {
                    let _ = fs::remove_file(loc.path(&self.dir));
                }
                return Err(e);
            }
            written.push(DiskLocation::File {
                id,
                len: payload.len() as u64,
            });
        }
        self.disk_bytes += written.iter().map(DiskLocation::payload_len).sum::<u64>();
        Ok(written)
    }

    pub(super) fn free(&mut self, loc: &DiskLocation) {
        if let DiskLocation::File { len, .. } = loc {
            let path = loc.path(&self.dir);
            if let Err(e) = fs::remove_file(&path) {
                tracing::warn!(path = %path.display(), error = %e, "cannot delete a spill file");
            }
            self.disk_bytes = self.disk_bytes.saturating_sub(*len);
        }
    }

    pub(super) fn disk_bytes(&self) -> u64 {
        self.disk_bytes
    }
}
