//! Clean shutdown, 100 times out of 100: `tessera local` stopped by `tessera shutdown`, by
//! SIGINT and by SIGTERM; every process exits 0 with no error output.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::*;

fn start_local(file: &std::path::Path) -> std::process::Child {
    let child = tessera()
        .args(["local", "--workers", "2", "--scheduler-file"])
        .arg(file)
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn local");
    wait_for_file(file, Duration::from_secs(20));
    child
}

fn assert_clean(out: std::process::Output, round: usize, how: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "round {round} ({how}): {:?}\n{stderr}",
        out.status
    );
    let noisy: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.contains("local cluster ready"))
        .collect();
    assert!(
        noisy.is_empty(),
        "round {round} ({how}): error spam:\n{stderr}"
    );
}

#[test]
fn shutdown_command_stops_everything_100_times() {
    let dir = temp_dir();
    for round in 0..100 {
        let file = path_in(&dir, &format!("s{round}.json"));
        let local = start_local(&file);
        let down = run(
            &["shutdown", "--scheduler-file", file.to_str().unwrap()],
            Duration::from_secs(20),
        );
        assert!(
            down.status.success(),
            "round {round}: {}",
            String::from_utf8_lossy(&down.stderr)
        );
        assert_clean(
            wait_output(local, Duration::from_secs(20)),
            round,
            "shutdown",
        );
        assert!(!file.exists(), "round {round}: scheduler file left behind");
    }
}

#[test]
fn sigint_and_sigterm_stop_everything_cleanly() {
    let dir = temp_dir();
    for round in 0..20 {
        let file = path_in(&dir, &format!("s{round}.json"));
        let local = start_local(&file);
        let sig = if round % 2 == 0 {
            libc::SIGINT
        } else {
            libc::SIGTERM
        };
        signal(&local, sig);
        assert_clean(wait_output(local, Duration::from_secs(20)), round, "signal");
        assert!(!file.exists(), "round {round}: scheduler file left behind");
    }
}
