//! Which filesystem a directory is on (`statfs` magic numbers), and the warning a worker logs
//! when its spill directory is on a shared network filesystem or in RAM.
//!
//! It only inspects; this module must not create, move or delete anything.

use std::ffi::CString;
use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use super::error::StoreError;

/// A filesystem type as reported by `statfs(2)`'s `f_type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FsKind {
    /// ext2/ext3/ext4 (node-local).
    Ext4,
    /// XFS (node-local).
    Xfs,
    /// Btrfs (node-local).
    Btrfs,
    /// ZFS (node-local).
    Zfs,
    /// overlayfs, as in containers (node-local).
    Overlay,
    /// tmpfs: RAM-backed.
    Tmpfs,
    /// ramfs: RAM-backed.
    Ramfs,
    /// NFS (shared).
    Nfs,
    /// Lustre (shared).
    Lustre,
    /// IBM Spectrum Scale / GPFS (shared).
    Gpfs,
    /// BeeGFS (shared).
    BeeGfs,
    /// CIFS / SMB (shared).
    Cifs,
    /// SMB2/3 (shared).
    Smb2,
    /// CephFS (shared).
    Ceph,
    /// Panasas PanFS (shared).
    PanFs,
    /// AFS (shared).
    Afs,
    /// A FUSE filesystem (could be anything, e.g. sshfs).
    Fuse,
    /// Any other `f_type` magic.
    Other(u64),
}

impl FsKind {
    /// The kind for a `statfs` `f_type` magic number.
    pub fn from_magic(magic: u64) -> FsKind {
        match magic & 0xFFFF_FFFF {
            0xEF53 => FsKind::Ext4,
            0x5846_5342 => FsKind::Xfs,
            0x9123_683E => FsKind::Btrfs,
            0x2FC1_2FC1 => FsKind::Zfs,
            0x794C_7630 => FsKind::Overlay,
            0x0102_1994 => FsKind::Tmpfs,
            0x8584_58F6 => FsKind::Ramfs,
            0x6969 => FsKind::Nfs,
            0x0BD0_0BD0 => FsKind::Lustre,
            0x4750_4653 => FsKind::Gpfs,
            0x1983_0326 => FsKind::BeeGfs,
            0xFF53_4D42 | 0x517B => FsKind::Cifs,
            0xFE53_4D42 => FsKind::Smb2,
            0x00C3_6400 => FsKind::Ceph,
            0xAAD7_AAEA => FsKind::PanFs,
            0x5346_414F => FsKind::Afs,
            0x6573_5546 => FsKind::Fuse,
            other => FsKind::Other(other),
        }
    }

    /// True for network/parallel filesystems shared between nodes.
    pub fn is_shared(self) -> bool {
        matches!(
            self,
            FsKind::Nfs
                | FsKind::Lustre
                | FsKind::Gpfs
                | FsKind::BeeGfs
                | FsKind::Cifs
                | FsKind::Smb2
                | FsKind::Ceph
                | FsKind::PanFs
                | FsKind::Afs
        )
    }

    /// True for filesystems whose files live in RAM.
    pub fn is_memory_backed(self) -> bool {
        matches!(self, FsKind::Tmpfs | FsKind::Ramfs)
    }
}

impl fmt::Display for FsKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            FsKind::Ext4 => "ext4",
            FsKind::Xfs => "xfs",
            FsKind::Btrfs => "btrfs",
            FsKind::Zfs => "zfs",
            FsKind::Overlay => "overlayfs",
            FsKind::Tmpfs => "tmpfs",
            FsKind::Ramfs => "ramfs",
            FsKind::Nfs => "NFS",
            FsKind::Lustre => "Lustre",
            FsKind::Gpfs => "GPFS",
            FsKind::BeeGfs => "BeeGFS",
            FsKind::Cifs => "CIFS/SMB",
            FsKind::Smb2 => "SMB2",
            FsKind::Ceph => "CephFS",
            FsKind::PanFs => "PanFS",
            FsKind::Afs => "AFS",
            FsKind::Fuse => "FUSE",
            FsKind::Other(magic) => return write!(f, "filesystem type {magic:#x}"),
        };
        f.write_str(name)
    }
}

/// The filesystem `path` is on.
pub fn filesystem_kind(path: &Path) -> Result<FsKind, StoreError> {
    let io_err = |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    };
    let c_path = CString::new(path.as_os_str().as_bytes())
        .map_err(|e| io_err(std::io::Error::new(std::io::ErrorKind::InvalidInput, e)))?;
    // SAFETY: statfs is plain data; an all-zero value is valid and `statfs` fills it.
    let mut stat: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: c_path is NUL-terminated and `stat` is a valid, writable statfs.
    let rc = unsafe { libc::statfs(c_path.as_ptr(), &mut stat) };
    if rc != 0 {
        return Err(io_err(std::io::Error::last_os_error()));
    }
    #[allow(clippy::unnecessary_cast)]
    let magic = stat.f_type as u64;
    Ok(FsKind::from_magic(magic))
}

/// A warning to log when `path` is a poor place to spill: on a shared network filesystem or
/// in RAM. `None` when it looks node-local (or cannot be inspected).
pub fn warn_if_shared_filesystem(path: &Path) -> Option<String> {
    let kind = filesystem_kind(path).ok()?;
    spill_location_warning(path, kind)
}

/// The warning for a spill directory at `path` on a filesystem of `kind`, if any.
pub fn spill_location_warning(path: &Path, kind: FsKind) -> Option<String> {
    if kind.is_shared() {
        Some(format!(
            "the spill directory {} is on a shared network filesystem ({kind}); spilling there is \
             slow and loads the filesystem for every user. Set --local-directory to node-local \
             disk (for example $TMPDIR or /local/scratch on the compute node)",
            path.display()
        ))
    } else if kind.is_memory_backed() {
        Some(format!(
            "the spill directory {} is on {kind}, which keeps files in RAM: spilled chunks still \
             use the node's memory. Set --local-directory to node-local disk if the node has one",
            path.display()
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_numbers_map_to_kinds() {
        assert_eq!(FsKind::from_magic(0x6969), FsKind::Nfs);
        assert_eq!(FsKind::from_magic(0x0BD0_0BD0), FsKind::Lustre);
        assert_eq!(FsKind::from_magic(0x4750_4653), FsKind::Gpfs);
        assert_eq!(FsKind::from_magic(0x1983_0326), FsKind::BeeGfs);
        assert_eq!(FsKind::from_magic(0xEF53), FsKind::Ext4);
        // f_type is signed on some platforms: a sign-extended CIFS magic still matches.
        assert_eq!(
            FsKind::from_magic(0xFF53_4D42_u32 as i32 as i64 as u64),
            FsKind::Cifs
        );
        assert_eq!(FsKind::from_magic(0x1234), FsKind::Other(0x1234));
    }

    #[test]
    fn warning_names_path_and_type() {
        let p = Path::new("/home/alice/spill");
        let w = spill_location_warning(p, FsKind::Lustre).unwrap();
        assert!(
            w.contains("/home/alice/spill") && w.contains("Lustre"),
            "{w}"
        );
        assert!(w.contains("--local-directory"), "{w}");
        let w = spill_location_warning(p, FsKind::Tmpfs).unwrap();
        assert!(w.contains("RAM"), "{w}");
        assert_eq!(spill_location_warning(p, FsKind::Xfs), None);
    }

    #[test]
    fn real_directory_is_recognised() {
        let dir = tempfile::tempdir().unwrap();
        let kind = filesystem_kind(dir.path()).unwrap();
        assert_eq!(
            warn_if_shared_filesystem(dir.path()),
            spill_location_warning(dir.path(), kind)
        );
        let missing = dir.path().join("nope");
        let err = filesystem_kind(&missing).unwrap_err();
        assert!(err.to_string().contains("nope"), "{err}");
    }
}
