//! An exclusive lock on a lock file next to an output, held while one process opens the
//! output, writes chunks and closes it. Open-file-description locks (`F_OFD_SETLKW`) exclude
//! other threads and processes alike and travel over NFSv4 and Lustre (mounted with `flock`)
//! as POSIX locks; kernels without them fall back to `flock`.
//!
//! This module must not know what is written under the lock.

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::path::Path;

use crate::io::error::IoError;

/// A held exclusive lock; released when dropped.
pub(crate) struct FileLock {
    _file: File,
}

impl FileLock {
    /// Waits for and takes the exclusive lock on `path` (created if missing).
    pub(crate) fn exclusive(path: &Path) -> Result<FileLock, IoError> {
        let shown = path.display().to_string();
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| IoError::from_os(&shown, &e, "lock file"))?;
        let fd = file.as_raw_fd();
        // SAFETY: an all-zero flock struct is valid; the fields set describe the whole file.
        let mut fl: libc::flock = unsafe { std::mem::zeroed() };
        fl.l_type = libc::F_WRLCK as libc::c_short;
        fl.l_whence = libc::SEEK_SET as libc::c_short;
        loop {
            // SAFETY: `fd` is open for the lifetime of `file`; `fl` is a valid flock struct.
            let rc = unsafe { libc::fcntl(fd, libc::F_OFD_SETLKW, &fl) };
            if rc == 0 {
                return Ok(FileLock { _file: file });
            }
            let e = std::io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EINTR) => continue,
                Some(libc::EINVAL) => break,
                _ => return Err(IoError::from_os(&shown, &e, "lock file")),
            }
        }
        loop {
            // SAFETY: as above; flock on an open descriptor.
            let rc = unsafe { libc::flock(fd, libc::LOCK_EX) };
            if rc == 0 {
                return Ok(FileLock { _file: file });
            }
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EINTR) {
                return Err(IoError::from_os(&shown, &e, "lock file"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[test]
    fn lock_excludes_other_threads() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.lock");
        let inside = Arc::new(AtomicUsize::new(0));
        let max_inside = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (path, inside, max_inside) = (path.clone(), inside.clone(), max_inside.clone());
                std::thread::spawn(move || {
                    for _ in 0..50 {
                        let _l = FileLock::exclusive(&path).expect("lock");
                        let n = inside.fetch_add(1, Ordering::SeqCst) + 1;
                        max_inside.fetch_max(n, Ordering::SeqCst);
                        std::thread::yield_now();
                        inside.fetch_sub(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("thread");
        }
        assert_eq!(max_inside.load(Ordering::SeqCst), 1);
    }
}
