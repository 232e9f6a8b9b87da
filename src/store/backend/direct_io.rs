//! Direct I/O (`O_DIRECT`) for spill segments: batches are written from the chunks' own memory
//! when it is page aligned (through a reused aligned staging buffer otherwise) at block-aligned
//! file offsets, and chunks are read back into fresh page-aligned buffers, so spilled data
//! never goes through the page cache.
//!
//! Why (measured, benches/README.md W4): buffered spill writes cost a copy into the page cache
//! and, once a few GB are dirty, are throttled to the kernel's write-back speed (0.4–0.8 GB/s
//! here, where `dd oflag=direct` writes 2.0–2.5 GB/s); and the page cache they fill competes
//! with the workers for the very memory spilling is meant to free (under a batch system it is
//! charged to the job).
//!
//! Layout rules: every batch starts at a [`BLOCK`]-aligned offset and ends padded with zeros
//! to the next block; a chunk of at least [`ALIGN_CHUNK_MIN`] bytes starts on a block boundary
//! (so it can be written and read without a copy); smaller chunks are packed. Reading a range
//! reads the blocks that cover it and returns the range as a `Bytes` view of that buffer.
//!
//! This module moves bytes between buffers and files; it must not know keys or segments.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::os::unix::io::AsRawFd;
use std::path::Path;

use bytes::Bytes;

/// File offsets and lengths of direct transfers are multiples of this (enough for every
/// device with logical blocks of up to 4 KiB).
pub const BLOCK: usize = 4096;
/// Chunks at least this big start on a block boundary; smaller ones are packed.
pub const ALIGN_CHUNK_MIN: usize = 1 << 20;
/// Size of the staging buffer that collects small chunks and misaligned memory.
pub const STAGING_BYTES: usize = 8 << 20;
/// Most bytes handed to one direct `pwrite`/`pread` of a chunk's own memory.
const DIRECT_CALL_BYTES: usize = 32 << 20;
/// Buffers at least this big are advised to use transparent huge pages.
const HUGE_PAGE_MIN: usize = 4 << 20;

/// A page-aligned anonymous memory buffer (its own `mmap`), released on drop.
pub struct AlignedBuf {
    ptr: std::ptr::NonNull<u8>,
    len: usize,
}

// SAFETY: the buffer is plain memory owned by this value; shared access is read-only.
unsafe impl Send for AlignedBuf {}
// SAFETY: as above; `&AlignedBuf` only gives `&[u8]`.
unsafe impl Sync for AlignedBuf {}

impl AlignedBuf {
    /// A zero-filled buffer of `len` bytes (at least one page is mapped).
    pub fn new(len: usize) -> io::Result<AlignedBuf> {
        let map_len = len.max(1);
        // SAFETY: anonymous private mapping; the result is checked.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                map_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        if map_len >= HUGE_PAGE_MIN {
            // Best effort: fewer page faults and TLB misses for big chunks.
            // SAFETY: advice on the mapping just created.
            unsafe {
                libc::madvise(ptr, map_len, libc::MADV_HUGEPAGE);
            }
        }
        let ptr = std::ptr::NonNull::new(ptr.cast::<u8>())
            .ok_or_else(|| io::Error::other("mmap returned null"))?;
        Ok(AlignedBuf { ptr, len })
    }

    /// The buffer's bytes.
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: `ptr` maps at least `len` bytes for the lifetime of `self`.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    /// The buffer's bytes, writable.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as in `as_slice`, and `&mut self` is exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl AsRef<[u8]> for AlignedBuf {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly the mapping created in `new`.
        unsafe {
            libc::munmap(self.ptr.as_ptr().cast(), self.len.max(1));
        }
    }
}

impl std::fmt::Debug for AlignedBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AlignedBuf({} bytes)", self.len)
    }
}

fn round_up(n: u64) -> u64 {
    n.div_ceil(BLOCK as u64) * BLOCK as u64
}

fn is_aligned(ptr: *const u8) -> bool {
    (ptr as usize).is_multiple_of(BLOCK)
}

/// Open (create, exclusively) a segment file for direct I/O; `Ok(None)` when the filesystem
/// refuses `O_DIRECT` (tmpfs, some network filesystems): the caller then uses buffered I/O.
pub fn create_direct(path: &Path) -> io::Result<Option<File>> {
    match OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_DIRECT)
        .open(path)
    {
        Ok(file) => Ok(Some(file)),
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
            let _ = std::fs::remove_file(path);
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// True when `e` says the file or buffer does not suit direct I/O.
pub fn refused(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::EINVAL)
}

/// Writes one batch into a direct-I/O file from a block-aligned offset.
pub struct BatchWriter<'a> {
    file: &'a File,
    staging: &'a mut AlignedBuf,
    /// File offset of the staging buffer's first byte (block aligned).
    pos: u64,
    /// Bytes in the staging buffer.
    fill: usize,
}

impl<'a> BatchWriter<'a> {
    /// A writer appending at `start` (must be block aligned) through `staging`
    /// ([`STAGING_BYTES`] long).
    pub fn new(file: &'a File, staging: &'a mut AlignedBuf, start: u64) -> Self {
        debug_assert!(start.is_multiple_of(BLOCK as u64));
        BatchWriter {
            file,
            staging,
            pos: start,
            fill: 0,
        }
    }

    /// Append `payload`; returns its file offset.
    pub fn append(&mut self, payload: &[u8]) -> io::Result<u64> {
        if payload.len() >= ALIGN_CHUNK_MIN && self.fill > 0 {
            self.flush_padded()?;
        }
        let offset = self.pos + self.fill as u64;
        let mut rest = payload;
        while !rest.is_empty() {
            if self.fill == 0 && rest.len() >= BLOCK && is_aligned(rest.as_ptr()) {
                // Straight from the chunk's memory: no copy.
                let n = (rest.len() - rest.len() % BLOCK).min(DIRECT_CALL_BYTES);
                self.file.write_all_at(&rest[..n], self.pos)?;
                self.pos += n as u64;
                rest = &rest[n..];
                continue;
            }
            let room = STAGING_BYTES - self.fill;
            let n = room.min(rest.len());
            self.staging.as_mut_slice()[self.fill..self.fill + n].copy_from_slice(&rest[..n]);
            self.fill += n;
            rest = &rest[n..];
            if self.fill == STAGING_BYTES {
                self.file.write_all_at(self.staging.as_slice(), self.pos)?;
                self.pos += STAGING_BYTES as u64;
                self.fill = 0;
            }
        }
        Ok(offset)
    }

    /// Write what is staged, padded with zeros to a whole block; returns the end offset (the
    /// next batch's start).
    pub fn finish(mut self) -> io::Result<u64> {
        self.flush_padded()?;
        Ok(self.pos)
    }

    fn flush_padded(&mut self) -> io::Result<()> {
        if self.fill == 0 {
            return Ok(());
        }
        let padded = round_up(self.fill as u64) as usize;
        self.staging.as_mut_slice()[self.fill..padded].fill(0);
        self.file
            .write_all_at(&self.staging.as_slice()[..padded], self.pos)?;
        self.pos += padded as u64;
        self.fill = 0;
        Ok(())
    }
}

/// Read `len` bytes at `offset` of a direct-I/O file: the covering blocks are read into one
/// fresh aligned buffer, returned as a view without a copy.
pub fn read_range(file: &File, offset: u64, len: u64) -> io::Result<Bytes> {
    if len == 0 {
        return Ok(Bytes::new());
    }
    let start = offset - offset % BLOCK as u64;
    let end = round_up(offset + len);
    let total = usize::try_from(end - start).map_err(io::Error::other)?;
    let mut buf = AlignedBuf::new(total)?;
    let mut done = 0usize;
    while done < total {
        let n = (total - done).min(DIRECT_CALL_BYTES);
        let got = match file.read_at(&mut buf.as_mut_slice()[done..done + n], start + done as u64) {
            Ok(got) => got,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if got == 0 {
            break;
        }
        done += got;
    }
    let head = (offset - start) as usize;
    let want = head + len as usize;
    if done < want {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("read {} of {want} bytes", done),
        ));
    }
    Ok(Bytes::from_owner(buf).slice(head..want))
}

/// Stop using direct I/O on `file` (a filesystem that accepted `O_DIRECT` at open but refuses
/// a transfer): later reads and writes go through the page cache.
pub fn clear_direct(file: &File) -> io::Result<()> {
    let fd = file.as_raw_fd();
    // SAFETY: plain fcntl calls on a descriptor we own.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_DIRECT) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(n: usize, seed: u8) -> Vec<u8> {
        (0..n)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    }

    #[test]
    fn batches_round_trip_aligned_and_misaligned_memory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seg");
        let Some(file) = create_direct(&path).unwrap() else {
            // The test directory's filesystem has no O_DIRECT: nothing to test here.
            return;
        };
        let mut staging = AlignedBuf::new(STAGING_BYTES).unwrap();
        // A big chunk in aligned memory (written without a copy), a small one, a big one from a
        // misaligned slice, and one bigger than the staging buffer.
        let mut big_aligned = AlignedBuf::new(3 * ALIGN_CHUNK_MIN + 100).unwrap();
        big_aligned
            .as_mut_slice()
            .copy_from_slice(&pattern(3 * ALIGN_CHUNK_MIN + 100, 1));
        let small = pattern(1000, 2);
        let misaligned_src = pattern(ALIGN_CHUNK_MIN + 17, 3);
        let misaligned = &misaligned_src[1..];
        let huge = pattern(STAGING_BYTES + 5000, 4);
        let payloads: Vec<&[u8]> = vec![big_aligned.as_slice(), &small, misaligned, &huge];
        let mut writer = BatchWriter::new(&file, &mut staging, 0);
        let offsets: Vec<u64> = payloads.iter().map(|p| writer.append(p).unwrap()).collect();
        let end = writer.finish().unwrap();
        assert_eq!(end % BLOCK as u64, 0);
        assert_eq!(offsets[0], 0);
        assert_eq!(offsets[2] % BLOCK as u64, 0, "big chunks start on a block");
        assert_eq!(file.metadata().unwrap().len(), end);
        for (payload, offset) in payloads.iter().zip(&offsets) {
            let back = read_range(&file, *offset, payload.len() as u64).unwrap();
            assert_eq!(&back[..], *payload);
        }
        // A second batch continues at the first one's end.
        let mut writer = BatchWriter::new(&file, &mut staging, end);
        let at = writer.append(&small).unwrap();
        assert_eq!(at, end);
        writer.finish().unwrap();
        assert_eq!(&read_range(&file, at, 1000).unwrap()[..], &small[..]);
    }

    #[test]
    fn reading_past_the_end_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let Some(file) = create_direct(&dir.path().join("seg")).unwrap() else {
            return;
        };
        let mut staging = AlignedBuf::new(STAGING_BYTES).unwrap();
        let mut writer = BatchWriter::new(&file, &mut staging, 0);
        writer.append(&[7u8; 10]).unwrap();
        writer.finish().unwrap();
        let err = read_range(&file, 0, 3 * BLOCK as u64).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }
}
