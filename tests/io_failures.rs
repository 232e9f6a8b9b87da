//! Failures of the environment: no permission to read or write, and a disk that fills up
//! while writing. Each gives a clear error naming the file, leaves nothing under the failed
//! output's final name, and leaves the other outputs of the same run intact.
//!
//! The disk-full test mounts a small tmpfs (root only); the permission test drops file-system
//! privileges of its own thread with `setfsuid` when run as root. Where that is impossible the
//! test prints `skipped: <why>` (a failure under `TESSERA_TEST_STRICT`).
#![cfg(feature = "io")]

use std::path::{Path, PathBuf};
use std::process::Command;

use tessera::array::Array;
use tessera::io::{
    from_hdf5, to_hdf5, write_outputs, IoError, LabeledArray, Output, OutputTarget, WriteOptions,
};

fn skip(why: &str) {
    assert!(
        std::env::var_os("TESSERA_TEST_STRICT").is_none(),
        "TESSERA_TEST_STRICT: {why}"
    );
    eprintln!("skipped: {why}");
}

/// A tmpfs of `size` mounted on a fresh directory, unmounted on drop.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        ok.then_some(SmallDisk { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("read_dir")
        .filter_map(|e| e.ok()?.file_name().to_str().map(str::to_string))
        .collect();
    v.sort();
    v
}

#[test]
fn disk_full_while_writing_fails_cleanly_and_other_outputs_survive() {
    let Some(disk) = SmallDisk::mount("512k") else {
        skip("cannot mount a tmpfs (needs root) to fill a disk");
        return;
    };
    let elsewhere = tempfile::tempdir().expect("tempdir");
    // 4 MiB of incompressible values: cannot fit in 512 KiB.
    let big = Array::random_uniform(&[512, 1024], 3, 0.0, 1.0, [64, 1024]).expect("array");
    let small = Array::random_uniform(&[64, 64], 4, 0.0, 1.0, [32, 32]).expect("array");
    let outputs = vec![
        Output {
            data: LabeledArray::new(big.clone(), "big"),
            target: OutputTarget::parse(&format!("{}/big.h5", disk.path().display())).expect("t"),
        },
        Output {
            data: LabeledArray::new(small.clone(), "small"),
            target: OutputTarget::parse(&format!("{}/small.nc", elsewhere.path().display()))
                .expect("t"),
        },
        Output {
            data: LabeledArray::new(big, "big"),
            target: OutputTarget::parse(&format!("{}/big.nc", disk.path().display())).expect("t"),
        },
    ];
    let results = write_outputs(&outputs, &WriteOptions::new().deflate(None), None);
    for i in [0, 2] {
        let e = results[i].as_ref().expect_err("disk full");
        let msg = e.to_string();
        assert!(msg.contains("big."), "{msg}");
        assert!(!msg.contains(".tessera-"), "temporary name leaked: {msg}");
    }
    assert!(results[1].is_ok(), "{:?}", results[1]);
    assert_eq!(
        names(disk.path()),
        Vec::<String>::new(),
        "partial output left on the full disk"
    );
    let back = tessera::io::from_netcdf(elsewhere.path().join("small.nc"), "small").expect("small");
    assert_eq!(
        back.array().compute_local().expect("read"),
        small.compute_local().expect("compute")
    );
}

/// Runs `f` with this thread's file-system identity set to `nobody` (root loses its
/// permission overrides for file access), or `None` when that cannot be done.
fn as_nobody<T>(f: impl FnOnce() -> T) -> Option<T> {
    // SAFETY: getuid has no preconditions.
    if unsafe { libc::getuid() } != 0 {
        return Some(f());
    }
    // SAFETY: setfsuid changes only this thread's file-system uid; restored below.
    let old = unsafe { libc::setfsuid(65534) };
    // SAFETY: as above; a second call returns the current fsuid.
    if unsafe { libc::setfsuid(65534) } != 65534 {
        // SAFETY: restore.
        unsafe { libc::setfsuid(old as libc::uid_t) };
        return None;
    }
    let r = f();
    // SAFETY: restore root's fsuid (and with it the file capabilities).
    unsafe { libc::setfsuid(old as libc::uid_t) };
    Some(r)
}

#[test]
fn no_permission_to_read_or_write_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let x = LabeledArray::new(
        Array::ones(&[4, 4], tessera::array::DType::F64, 2).expect("a"),
        "x",
    );
    let secret = dir.path().join("secret.h5");
    to_hdf5(&x, &secret, "x", &WriteOptions::new(), None).expect("write");
    let locked_dir: PathBuf = dir.path().join("locked");
    std::fs::create_dir(&locked_dir).expect("mkdir");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o000)).expect("chmod");
    std::fs::set_permissions(&locked_dir, std::fs::Permissions::from_mode(0o555)).expect("chmod");
    let outcome = as_nobody(|| {
        let read = from_hdf5(&secret, "x").map(|_| ());
        let write = to_hdf5(
            &x,
            locked_dir.join("out.h5"),
            "x",
            &WriteOptions::new(),
            None,
        );
        (read, write)
    });
    let Some((read, write)) = outcome else {
        skip("cannot drop file-system privileges (setfsuid)");
        return;
    };
    let e = read.expect_err("unreadable file");
    assert!(matches!(e, IoError::PermissionDenied { .. }), "{e}");
    assert!(
        e.to_string().contains("secret.h5: permission denied"),
        "{e}"
    );
    let e = write.expect_err("unwritable directory");
    assert!(e.to_string().contains("out.h5"), "{e}");
    assert!(names(&locked_dir).is_empty());
}
