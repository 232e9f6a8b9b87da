//! `tessera top` against a running `tessera local`: one screen with `--once`, and the live
//! view in a pseudo-terminal (tmux, installed by `scripts/install.sh --with-tests`), with the
//! right worker count, refreshed while the cluster changes.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(60);

fn tmux(socket: &str, args: &[&str]) -> String {
    let out = Command::new("tmux")
        .args(["-L", socket])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run tmux");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn top_once_prints_the_workers_and_task_counts() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.json");
    let mut local = common::start_local(&file, 3, &[]);
    let f = file.to_str().unwrap();
    let out = common::run(&["top", "--scheduler-file", f, "--once"], WAIT);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("workers 3 ("), "{text}");
    let rows = text.lines().filter(|l| l.ends_with("running")).count();
    assert_eq!(rows, 3, "{text}");
    assert!(text.contains("tasks  waiting 0"), "{text}");
    let down = common::run(&["shutdown", "--scheduler-file", f], WAIT);
    assert!(down.status.success());
    let _ = local.wait();
}

#[test]
fn top_in_a_terminal_shows_the_cluster_and_refreshes() {
    if Command::new("tmux").arg("-V").output().is_err() {
        let why = "tmux is not installed (scripts/install.sh --with-tests installs it)";
        assert!(std::env::var_os("TESSERA_TEST_STRICT").is_none(), "{why}");
        eprintln!("skipped: {why}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.json");
    let mut local = common::start_local(&file, 2, &[]);
    let socket = format!("tessera-top-test-{}", std::process::id());
    let command = format!(
        "{} top --scheduler-file {}",
        env!("CARGO_BIN_EXE_tessera"),
        file.display()
    );
    tmux(
        &socket,
        &[
            "new-session",
            "-d",
            "-s",
            "top",
            "-x",
            "160",
            "-y",
            "40",
            &command,
        ],
    );
    let screen = |want: &dyn Fn(&str) -> bool| -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let s = tmux(&socket, &["capture-pane", "-p", "-t", "top"]);
            if want(&s) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "the screen never showed it:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    let first = screen(&|s| s.contains("workers 2 ("));
    assert_eq!(
        first
            .lines()
            .filter(|l| l.trim_end().ends_with("running"))
            .count(),
        2,
        "{first}"
    );
    assert!(first.contains("(Ctrl-C quits)"), "{first}");
    // The uptime moves on: the screen is redrawn.
    let up = |s: &str| s.lines().next().unwrap_or("").to_string();
    let before = up(&first);
    let later = screen(&|s| !up(s).is_empty() && up(s) != before);
    assert!(later.contains("workers 2 ("), "{later}");
    // Ctrl-C quits cleanly.
    tmux(&socket, &["send-keys", "-t", "top", "C-c"]);
    let deadline = Instant::now() + WAIT;
    while !tmux(&socket, &["list-sessions"]).is_empty() {
        assert!(Instant::now() < deadline, "top did not quit on Ctrl-C");
        std::thread::sleep(Duration::from_millis(100));
    }
    tmux(&socket, &["kill-server"]);
    let f = file.to_str().unwrap();
    let down = common::run(&["shutdown", "--scheduler-file", f], WAIT);
    assert!(down.status.success());
    let _ = local.wait();
}
