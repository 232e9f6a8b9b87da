//! Launching real jobs from tests: finding `mpirun` and the example programs, the facility
//! check of tests/README.md (fail under `TESSERA_TEST_STRICT`, else print `skipped: <why>`),
//! and running a command with a deadline that kills its whole process group.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// OpenMPI as root, oversubscribed, without CMA (as scripts/test-env.sh sets them).
pub const OPENMPI_ENV: [(&str, &str); 4] = [
    ("OMPI_ALLOW_RUN_AS_ROOT", "1"),
    ("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1"),
    ("OMPI_MCA_rmaps_base_oversubscribe", "1"),
    ("OMPI_MCA_btl_vader_single_copy_mechanism", "none"),
];

/// True when missing facilities must fail the test (`TESSERA_TEST_STRICT=1`).
pub fn strict() -> bool {
    std::env::var("TESSERA_TEST_STRICT").is_ok_and(|v| v == "1")
}

/// A facility is missing: panic under strict mode, else print `skipped: <why>` and return
/// false (the caller returns).
pub fn facility(available: bool, why: &str) -> bool {
    if available {
        return true;
    }
    assert!(!strict(), "required facility missing: {why}");
    eprintln!("skipped: {why}");
    false
}

/// True when the batch system `system` ("slurm", "pbs", "sge") is up (`TESSERA_TEST_BATCH`,
/// set by scripts/test-env.sh); otherwise reports the missing facility.
pub fn batch_system(system: &str) -> bool {
    let up = std::env::var("TESSERA_TEST_BATCH").unwrap_or_default();
    facility(
        up.split_whitespace().any(|s| s == system),
        &format!(
            "batch system {system} is not up (TESSERA_TEST_BATCH={up:?}; start it with \
             scripts/batch/all.sh up and source scripts/test-env.sh)"
        ),
    )
}

/// A world-readable temporary directory (batch jobs may run as another user on real sites).
pub fn world_readable_dir(prefix: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .expect("tempdir");
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod 755");
    dir
}

/// `program` found on PATH.
pub fn on_path(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|candidate| candidate.is_file())
    })
}

/// True when `mpirun` can be used; otherwise reports the missing facility.
pub fn have_mpirun() -> bool {
    facility(
        on_path("mpirun").is_some(),
        "mpirun is not installed (apt-get install openmpi-bin libopenmpi-dev)",
    )
}

/// The `tessera` binary of this build.
pub fn tessera_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_tessera"))
}

/// The target profile directory of this test binary (`target/debug`).
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    // target/<profile>/deps/<test>-<hash>
    exe.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .expect("test binary lives in target/<profile>/deps")
}

/// The example program `name`, built (or found up to date) for this profile by cargo.
pub fn example(name: &str) -> PathBuf {
    // Always through cargo (a no-op when up to date): a binary left from an older build of the
    // library would speak an older protocol.
    let path = profile_dir().join("examples").join(name);
    let target_dir = profile_dir()
        .parent()
        .map(Path::to_path_buf)
        .expect("target dir");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--quiet", "--example", name])
        .env("CARGO_TARGET_DIR", &target_dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("run cargo build --example");
    assert!(status.success(), "cargo build --example {name} failed");
    assert!(path.is_file(), "{} missing after build", path.display());
    path
}

/// `mpirun -np N program args…` with the OpenMPI test environment, its own process group,
/// output captured.
pub fn mpirun(np: u32, program: &Path, args: &[&str]) -> Command {
    let mut c = Command::new("mpirun");
    c.arg("-np").arg(np.to_string()).arg(program).args(args);
    job_environment(&mut c);
    c
}

/// The environment and plumbing of a job started from a test: OpenMPI's test variables, no
/// Tessera settings of the caller, output captured, its own process group.
pub fn job_environment(c: &mut Command) {
    for (k, v) in OPENMPI_ENV {
        c.env(k, v);
    }
    c.env_remove("TESSERA_SCHEDULER_FILE")
        .env_remove("TESSERA_CONFIG")
        .env_remove("TESSERA_TRANSPORT")
        .env_remove("TESSERA_INTERFACE")
        .env("XDG_CONFIG_HOME", "/nonexistent-tessera-test-config")
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    std::os::unix::process::CommandExt::process_group(c, 0);
}

/// The bytes examples/mpi_sum says it received over MPI (its last line ends with
/// `received over MPI: N bytes`).
pub fn mpi_bytes_received(stdout: &str) -> u64 {
    stdout
        .rsplit("received over MPI: ")
        .next()
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("the example reports MPI bytes")
}

/// What a finished job printed.
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Finished {
    /// Both streams, for assertion messages.
    pub fn all(&self) -> String {
        format!(
            "status {:?}\n--- stdout\n{}--- stderr\n{}",
            self.status, self.stdout, self.stderr
        )
    }
}

/// Kill `child`'s whole process group.
pub fn kill_group(child: &Child) {
    // SAFETY: kill has no memory-safety preconditions; a negative pid names the group.
    unsafe {
        libc::kill(-(child.id() as i32), libc::SIGKILL);
    }
}

/// Wait for `child` with a deadline; on timeout kill its process group and panic with what it
/// printed (a hang is a failure).
pub fn finish(mut child: Child, timeout: Duration) -> Finished {
    let started = Instant::now();
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let read = |s: Option<std::process::ChildStdout>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut s) = s {
                let _ = std::io::Read::read_to_string(&mut s, &mut text);
            }
            text
        })
    };
    let out = read(stdout);
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut s) = stderr {
            let _ = std::io::Read::read_to_string(&mut s, &mut text);
        }
        text
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if started.elapsed() > timeout {
            kill_group(&child);
            let _ = child.wait();
            let (o, e) = (
                out.join().unwrap_or_default(),
                err.join().unwrap_or_default(),
            );
            panic!("job hung for {timeout:?} and was killed\n--- stdout\n{o}--- stderr\n{e}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let elapsed = started.elapsed();
    // mpirun's children may outlive it for a moment; never leave them behind.
    kill_group(&child);
    Finished {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
        elapsed,
    }
}

/// Run a command to completion with a deadline.
pub fn run(mut command: Command, timeout: Duration) -> Finished {
    let child = command.spawn().expect("spawn");
    finish(child, timeout)
}
