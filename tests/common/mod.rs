//! Shared test support: spawning the real `tessera` binary and waiting on files and processes;
//! the test Python (`TESSERA_TEST_PYTHON`) and skipping when a facility is missing.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

pub mod naps;

/// The `tessera` binary built for these tests.
pub fn tessera() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tessera"));
    c.env_remove("TESSERA_SCHEDULER_FILE")
        .env_remove("TESSERA_CONFIG")
        .env("XDG_CONFIG_HOME", "/nonexistent-tessera-test-config")
        .stdin(Stdio::null());
    c
}

/// Run `tessera ARGS` to completion with a deadline.
pub fn run(args: &[&str], timeout: Duration) -> Output {
    let child = tessera()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tessera");
    wait_output(child, timeout)
}

/// Run `tessera ARGS` in directory `dir` to completion with a deadline.
pub fn run_in(dir: &Path, args: &[&str], timeout: Duration) -> Output {
    let child = tessera()
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tessera");
    wait_output(child, timeout)
}

/// Wait for a child with a deadline; kill it and panic on timeout.
pub fn wait_output(mut child: Child, timeout: Duration) -> Output {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(_status) = child.try_wait().expect("try_wait") {
            return child.wait_with_output().expect("output");
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "process did not finish within {timeout:?}; stderr:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Wait for a child's exit status with a deadline (kills it and panics on timeout).
pub fn wait_status(child: &mut Child, timeout: Duration) -> ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("process {} did not exit within {timeout:?}", child.id());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Wait until `path` exists.
pub fn wait_for_file(path: &Path, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "{} did not appear",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A temp directory that is removed at the end of the test.
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("tessera-test-")
        .tempdir()
        .expect("tempdir")
}

/// `dir/name` as a String.
pub fn path_in(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}

/// Send a signal to a process.
pub fn signal(child: &Child, sig: i32) {
    // SAFETY: kill has no memory-safety preconditions.
    unsafe {
        libc::kill(child.id() as i32, sig);
    }
}

/// Write `bytes` to `path` as a file only its owner can read (mode 0600, replacing any file),
/// as scheduler files must be.
pub fn write_private(path: &Path, bytes: &[u8]) {
    use std::os::unix::fs::OpenOptionsExt;
    let _ = std::fs::remove_file(path);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .expect("create private file");
    std::io::Write::write_all(&mut f, bytes).expect("write private file");
}

/// A child process killed (SIGKILL) and reaped when dropped, so a failing test leaves no
/// scheduler or worker behind; use it as a `Child`.
pub struct ProcessGuard(pub Child);

impl std::ops::Deref for ProcessGuard {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for ProcessGuard {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for ProcessGuard {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// `tessera local --workers N [extra…] --scheduler-file FILE` (output discarded); returns
/// once the file exists.
pub fn start_local(file: &Path, workers: usize, extra: &[&str]) -> Child {
    let child = tessera()
        .args(["local", "--workers", &workers.to_string()])
        .args(extra)
        .arg("--scheduler-file")
        .arg(file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn tessera local");
    wait_for_file(file, Duration::from_secs(60));
    child
}

/// `tessera scheduler` on 127.0.0.1 writing `file`; returns once the file exists.
pub fn start_scheduler(file: &std::path::Path) -> ProcessGuard {
    let child = tessera()
        .args(["scheduler", "--host", "127.0.0.1", "--scheduler-file"])
        .arg(file)
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn scheduler");
    wait_for_file(file, Duration::from_secs(20));
    ProcessGuard(child)
}

/// `tessera worker --nthreads 1 --name NAME` joining through `file`.
pub fn start_worker(file: &std::path::Path, name: &str) -> ProcessGuard {
    let child = tessera()
        .args([
            "worker",
            "--nthreads",
            "1",
            "--name",
            name,
            "--scheduler-file",
        ])
        .arg(file)
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn worker");
    ProcessGuard(child)
}

/// Reports a missing facility: fails under `TESSERA_TEST_STRICT`, else prints `skipped: why`.
pub fn skip(why: &str) {
    assert!(
        std::env::var_os("TESSERA_TEST_STRICT").is_none(),
        "TESSERA_TEST_STRICT: {why}"
    );
    eprintln!("skipped: {why}");
}

/// The test Python (numpy, h5py, netCDF4, cftime, xarray), or `None` after [`skip`].
pub fn python() -> Option<PathBuf> {
    match std::env::var_os("TESSERA_TEST_PYTHON") {
        Some(p) if Path::new(&p).exists() => Some(PathBuf::from(p)),
        _ => {
            skip("TESSERA_TEST_PYTHON is not set (scripts/install.sh --with-python; . scripts/test-env.sh)");
            None
        }
    }
}

/// Runs `script` with the test Python and these arguments; its standard output (panics
/// with both outputs when it fails).
pub fn run_python(py: &Path, script: &str, args: &[&Path]) -> String {
    let out = Command::new(py)
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "python failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Splits a documented command line into words (single quotes group, as the shell does).
pub fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut in_word = false;
    for c in line.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                in_word = true;
            }
            ' ' if !quoted => {
                if in_word {
                    words.push(std::mem::take(&mut current));
                    in_word = false;
                }
            }
            _ => {
                current.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(current);
    }
    words
}

/// Runs every ```` ```console ```` block of `text` (a `$ tessera ...` line, then what it
/// prints) in `dir` (a fresh temporary directory per example when `None`), and checks the
/// output: stdout on success, stderr with exit code 2 on failure. The number of examples.
pub fn run_doc_examples(text: &str, doc: &str, dir: Option<&Path>, timeout: Duration) -> usize {
    let mut examples = 0;
    for block in text.split("```console\n").skip(1) {
        let block = block.split("```").next().expect("a closed block");
        let mut lines = block.lines();
        let command = lines.next().expect("a command line");
        let command = command.strip_prefix("$ ").expect("commands start with $");
        let expected: String = lines.map(|l| format!("{l}\n")).collect();
        let words = shell_words(command);
        assert_eq!(words[0], "tessera", "{command}");
        let fresh = temp_dir();
        let child = tessera()
            .args(&words[1..])
            .current_dir(dir.unwrap_or(fresh.path()))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn tessera");
        let out = wait_output(child, timeout);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let shown = if out.status.success() {
            String::from_utf8_lossy(&out.stdout).into_owned()
        } else {
            assert_eq!(out.status.code(), Some(2), "{command}: {stderr}");
            stderr
        };
        assert_eq!(shown, expected, "{doc} example `{command}`");
        examples += 1;
    }
    examples
}
/// The process is running (a zombie only waiting to be reaped counts as dead).
pub fn process_alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z'),
        Err(_) => false,
    }
}
