//! The per-worker spill directory `tessera-worker-<host>-<pid>-<random>` under
//! `--local-directory`, its lock/pid file, its removal on drop, and the startup sweep that
//! removes directories left behind by dead workers on the same host.
//!
//! This module owns directories only; it must not know the file layout inside them. The sweep
//! never removes a directory whose pid is alive or whose lock is held.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::error::StoreError;

/// Prefix of every worker spill directory name.
pub const SPILL_DIR_PREFIX: &str = "tessera-worker-";
/// Name of the lock/pid file inside a spill directory.
pub const LOCK_FILE_NAME: &str = "worker.pid";

/// A worker's own spill directory; removed with everything in it when dropped.
#[derive(Debug)]
pub struct SpillDir {
    path: PathBuf,
    /// Holds an exclusive `flock` for the directory's lifetime.
    _lock: File,
}

impl SpillDir {
    /// Create a fresh spill directory under `parent` (created if missing), write the pid into
    /// its lock file and lock it.
    pub fn create(parent: &Path) -> Result<SpillDir, StoreError> {
        let create_err = |path: &Path, source| StoreError::CreateDir {
            path: path.to_path_buf(),
            source,
        };
        fs::create_dir_all(parent).map_err(|e| create_err(parent, e))?;
        let mut random = [0u8; 4];
        getrandom::fill(&mut random)
            .map_err(|e| create_err(parent, io::Error::other(e.to_string())))?;
        let name = format!(
            "{SPILL_DIR_PREFIX}{}-{}-{}",
            host_name(),
            std::process::id(),
            random
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        );
        let path = parent.join(name);
        fs::DirBuilder::new()
            .mode(0o700)
            .create(&path)
            .map_err(|e| create_err(&path, e))?;
        let lock_path = path.join(LOCK_FILE_NAME);
        let lock = OpenOptions::new()
            .create_new(true)
            .write(true)
            .mode(0o600)
            .open(&lock_path)
            .and_then(|mut f| {
                writeln!(f, "{}", std::process::id())?;
                try_lock_exclusive(&f)?;
                Ok(f)
            });
        match lock {
            Ok(lock) => Ok(SpillDir { path, _lock: lock }),
            Err(e) => {
                let _ = fs::remove_dir_all(&path);
                Err(create_err(&lock_path, e))
            }
        }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for SpillDir {
    fn drop(&mut self) {
        if let Err(e) = fs::remove_dir_all(&self.path) {
            if e.kind() != io::ErrorKind::NotFound {
                tracing::warn!(path = %self.path.display(), error = %e, "cannot remove the spill directory");
            }
        }
    }
}

/// This host's name as used in spill directory names (`/` and NUL never appear in it).
pub fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: buf is writable for its length; gethostname NUL-terminates on success.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let raw = if rc == 0 {
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        String::from_utf8_lossy(&buf[..end]).into_owned()
    } else {
        String::new()
    };
    let clean: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if clean.is_empty() {
        "localhost".to_string()
    } else {
        clean
    }
}

/// The host and pid encoded in a spill directory name, if it is one.
pub fn parse_spill_dir_name(name: &str) -> Option<(&str, u32)> {
    let rest = name.strip_prefix(SPILL_DIR_PREFIX)?;
    let mut parts = rest.rsplitn(3, '-');
    let random = parts.next()?;
    let pid = parts.next()?.parse().ok()?;
    let host = parts.next()?;
    if random.is_empty() || host.is_empty() {
        return None;
    }
    Some((host, pid))
}

/// True unless `kill(pid, 0)` says no such process (`ESRCH`).
pub fn pid_is_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return true;
    };
    if pid <= 0 {
        return true;
    }
    // SAFETY: signal 0 only checks for existence and permission.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// Remove spill directories under `parent` left by dead workers of this host: the pid in the
/// name no longer exists and nobody holds the directory's lock. Returns the removed paths.
/// Directories of other hosts, live workers, or that cannot be inspected are left alone.
pub fn clean_stale_spill_dirs(parent: &Path) -> Result<Vec<PathBuf>, StoreError> {
    let entries = match fs::read_dir(parent) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(StoreError::Io {
                path: parent.to_path_buf(),
                source,
            })
        }
    };
    let host = host_name();
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some((dir_host, pid)) = parse_spill_dir_name(name) else {
            continue;
        };
        if dir_host != host || pid_is_alive(pid) || !entry.path().is_dir() {
            continue;
        }
        let path = entry.path();
        if lock_is_held(&path.join(LOCK_FILE_NAME)) {
            continue;
        }
        match fs::remove_dir_all(&path) {
            Ok(()) => removed.push(path),
            // Another worker starting at the same time cleaned it first.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot remove a stale spill directory")
            }
        }
    }
    Ok(removed)
}

fn try_lock_exclusive(file: &File) -> io::Result<()> {
    // SAFETY: flock on a valid open descriptor.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// True when another process (e.g. in another pid namespace) holds the lock file.
fn lock_is_held(lock_path: &Path) -> bool {
    match File::open(lock_path) {
        Ok(f) => try_lock_exclusive(&f).is_err(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(
            !pid_is_alive(pid),
            "pid {pid} of a reaped child must be gone"
        );
        pid
    }

    #[test]
    fn names_round_trip_with_dashed_hosts() {
        assert_eq!(
            parse_spill_dir_name("tessera-worker-node-01-42-abcd"),
            Some(("node-01", 42))
        );
        assert_eq!(parse_spill_dir_name("tessera-worker-42-abcd"), None);
        assert_eq!(parse_spill_dir_name("other-node-42-ab"), None);
    }

    #[test]
    fn create_locks_and_drop_removes() {
        let parent = tempfile::tempdir().unwrap();
        let dir = SpillDir::create(&parent.path().join("nested")).unwrap();
        let path = dir.path().to_path_buf();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        assert_eq!(
            parse_spill_dir_name(&name),
            Some((host_name().as_str(), std::process::id()))
        );
        let pid_text = fs::read_to_string(path.join(LOCK_FILE_NAME)).unwrap();
        assert_eq!(pid_text.trim(), std::process::id().to_string());
        assert!(lock_is_held(&path.join(LOCK_FILE_NAME)));
        fs::write(path.join("chunk"), b"x").unwrap();
        drop(dir);
        assert!(!path.exists());
    }

    #[test]
    fn sweep_removes_only_dead_workers_of_this_host() {
        let parent = tempfile::tempdir().unwrap();
        let host = host_name();
        let dead = parent
            .path()
            .join(format!("{SPILL_DIR_PREFIX}{host}-{}-0001", dead_pid()));
        let other_host = parent
            .path()
            .join(format!("{SPILL_DIR_PREFIX}elsewhere-{}-0002", dead_pid()));
        let unrelated = parent.path().join("my-results");
        for d in [&dead, &other_host, &unrelated] {
            fs::create_dir(d).unwrap();
            fs::write(d.join(LOCK_FILE_NAME), b"1\n").unwrap();
        }
        let live = SpillDir::create(parent.path()).unwrap();
        let removed = clean_stale_spill_dirs(parent.path()).unwrap();
        assert_eq!(removed, vec![dead.clone()]);
        assert!(!dead.exists());
        assert!(other_host.exists() && unrelated.exists() && live.path().exists());
    }

    #[test]
    fn sweep_spares_a_dead_pid_whose_lock_is_held() {
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join(format!(
            "{SPILL_DIR_PREFIX}{}-{}-0003",
            host_name(),
            dead_pid()
        ));
        fs::create_dir(&dir).unwrap();
        let lock = File::create(dir.join(LOCK_FILE_NAME)).unwrap();
        try_lock_exclusive(&lock).unwrap();
        assert!(clean_stale_spill_dirs(parent.path()).unwrap().is_empty());
        assert!(dir.exists());
        drop(lock);
        assert_eq!(clean_stale_spill_dirs(parent.path()).unwrap(), vec![dir]);
    }
}
