//! Command tasks on workers started by `tessera jobqueue slurm up --adapt` on the real SLURM of
//! the test setup: an array submitted to an empty adaptive cluster brings workers up and runs
//! to completion, each task's output checked. Skipped (with the reason) when SLURM is not up,
//! unless TESSERA_TEST_STRICT=1. Names contain `real_batch_` so nextest runs them one at a time.

mod common;

use std::process::Stdio;
use std::time::Duration;

fn slurm_up() -> bool {
    let up = std::env::var("TESSERA_TEST_BATCH").unwrap_or_default();
    if up.split_whitespace().any(|s| s == "slurm") {
        return true;
    }
    common::skip(&format!(
        "slurm is not up (TESSERA_TEST_BATCH={up:?}; run scripts/batch/*-up.sh)"
    ));
    false
}

#[test]
fn real_batch_slurm_adapt_runs_a_command_array_to_completion() {
    if !slurm_up() {
        return;
    }
    let dir = common::temp_dir();
    let file = dir.path().join("s.json");
    let f = file.to_str().unwrap();
    // Killed on a failed assertion too (its jobs are then cancelled by its watchdog).
    let mut owner = common::ProcessGuard(
        common::tessera()
            .args(["jobqueue", "slurm", "up", "--attach", "--adapt"])
            .args(["--minimum", "0", "--maximum", "2", "--cores", "2"])
            .args([
                "--host",
                "127.0.0.1",
                "--memory",
                "1GiB",
                "--walltime",
                "10m",
            ])
            .args(["--poll-interval", "500ms", "--job-name", "tq-cmd-adapt"])
            .args(["--scheduler-file", f])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn tessera jobqueue slurm up --adapt"),
    );
    common::wait_for_file(&file, Duration::from_secs(30));
    // No worker yet: the array waits, the autoscaler sees 2-CPU tasks and submits jobs.
    let out = common::run_in(
        dir.path(),
        &[
            "submit",
            "--scheduler-file",
            f,
            "--array",
            "1-24",
            "--cpus",
            "2",
            "--time-request",
            "1m",
            "--stdout",
            "out/%{ARRAY_INDEX}.txt",
            "--wait",
            "--",
            "sh",
            "-c",
            "sleep 0.2; echo index %{ARRAY_INDEX} cpus $TESSERA_CPUS",
        ],
        Duration::from_secs(240),
    );
    assert!(
        out.status.success(),
        "submit --wait: {:?}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    for i in 1..=24 {
        let text = std::fs::read_to_string(dir.path().join(format!("out/{i}.txt")))
            .unwrap_or_else(|e| panic!("out/{i}.txt: {e}"));
        assert_eq!(text, format!("index {i} cpus 2\n"));
    }
    let info = common::run(
        &[
            "job",
            "info",
            "--scheduler-file",
            f,
            "1",
            "--output",
            "json",
        ],
        Duration::from_secs(20),
    );
    assert!(info.status.success(), "{info:?}");
    let job: serde_json::Value = serde_json::from_slice(&info.stdout).expect("json");
    let tasks = job["tasks"].as_array().expect("tasks");
    assert_eq!(tasks.len(), 24, "{job}");
    for t in tasks {
        assert_eq!(t["state"], "Finished", "{t}");
        let worker = t["worker"].as_str().unwrap_or_default();
        assert!(
            worker.starts_with("jobqueue-"),
            "ran on a worker of a batch job: {t}"
        );
    }
    let down = common::run(
        &["jobqueue", "down", "--scheduler-file", f],
        Duration::from_secs(60),
    );
    assert!(
        down.status.success(),
        "jobqueue down: {}",
        String::from_utf8_lossy(&down.stderr)
    );
    let status = common::wait_status(&mut owner, Duration::from_secs(60));
    assert!(status.success(), "jobqueue up --attach: {status:?}");
}
