//! Jobs of command tasks from the shell, on real processes: `tessera submit` and `tessera job`
//! against a local cluster of worker processes found through its scheduler file. A 1,000-task
//! array with mixed exit codes checked file by file; bad input refused with exit code 2 and
//! nothing started; a job that outlives its client and a SIGKILLed worker.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use tessera::deploy::{LocalCluster, LocalClusterConfig};

fn cluster(dir: &Path, workers: usize, nthreads: usize) -> (LocalCluster, String) {
    let file = dir.join("scheduler.json");
    let mut config = LocalClusterConfig::new(workers, nthreads)
        .processes(PathBuf::from(env!("CARGO_BIN_EXE_tessera")));
    config.scheduler_file = Some(file.clone());
    let c = LocalCluster::start(config).expect("local cluster");
    (c, file.display().to_string())
}

/// Run `tessera ARGS` in `dir`; stdout goes through a file (a `job info` of 1,000 tasks is
/// more than a pipe holds while the process is only polled).
fn tessera(dir: &Path, args: &[&str]) -> std::process::Output {
    let captured = tempfile::NamedTempFile::new().unwrap();
    let mut cmd = common::tessera();
    cmd.current_dir(dir)
        .args(args)
        .stdout(captured.reopen().unwrap())
        .stderr(std::process::Stdio::piped());
    let mut out = common::wait_output(cmd.spawn().unwrap(), Duration::from_secs(120));
    out.stdout = std::fs::read(captured.path()).unwrap();
    out
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn job_info(dir: &Path, file: &str, job: u64) -> serde_json::Value {
    let out = tessera(
        dir,
        &[
            "job",
            "info",
            "--scheduler-file",
            file,
            &job.to_string(),
            "--output",
            "json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_thousand_task_array_with_mixed_exit_codes_is_checked_file_by_file() {
    let dir = tempfile::tempdir().unwrap();
    let (_c, file) = cluster(dir.path(), 2, 2);
    let out = tessera(
        dir.path(),
        &[
            "submit",
            "--scheduler-file",
            &file,
            "--array",
            "1-1000",
            "--wait",
            "--output",
            "json",
            "--",
            "sh",
            "-c",
            "echo out-$TESSERA_ARRAY_INDEX-%{ARRAY_INDEX}; echo err-$TESSERA_TASK_ID >&2; \
             [ $((TESSERA_ARRAY_INDEX % 10)) -ne 3 ] || [ -e fixed ] || exit 3",
        ],
    );
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    let info = job_info(dir.path(), &file, 1);
    let counts = &info["summary"]["counts"];
    assert_eq!(
        (counts["finished"].as_u64(), counts["failed"].as_u64()),
        (Some(900), Some(100))
    );
    let tasks = info["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 1000);
    for t in tasks {
        let id = t["task_id"].as_u64().unwrap();
        let index = t["array_index"].as_i64().unwrap();
        assert_eq!(index, id as i64 + 1);
        let failing = index % 10 == 3;
        assert_eq!(
            t["state"],
            if failing { "Failed" } else { "Finished" },
            "{t}"
        );
        assert_eq!(
            t["exit_code"].as_i64(),
            Some(if failing { 3 } else { 0 }),
            "{t}"
        );
        assert!(t["worker"].as_str().unwrap().starts_with("local-"), "{t}");
        assert!(t["started_ms"].as_u64().unwrap() <= t["ended_ms"].as_u64().unwrap());
        let stdout =
            std::fs::read_to_string(dir.path().join(format!("tessera-jobs/1/{id}.stdout")))
                .unwrap();
        assert_eq!(stdout, format!("out-{index}-{index}\n"));
        let stderr =
            std::fs::read_to_string(dir.path().join(format!("tessera-jobs/1/{id}.stderr")))
                .unwrap();
        assert_eq!(stderr, format!("err-{id}\n"));
    }
    // `job output` prints one task's file.
    let out = tessera(
        dir.path(),
        &[
            "job",
            "output",
            "--scheduler-file",
            &file,
            "1",
            "--task",
            "41",
        ],
    );
    assert_eq!(text(&out.stdout), "out-42-42\n");
    // The failed tasks again, now that they succeed: same indices, a new job.
    std::fs::write(dir.path().join("fixed"), "").unwrap();
    let out = tessera(
        dir.path(),
        &[
            "job",
            "resubmit",
            "--scheduler-file",
            &file,
            "1",
            "--failed",
            "--wait",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("job 2 submitted: 100 failed tasks of job 1\n"));
    let info = job_info(dir.path(), &file, 2);
    assert_eq!(info["summary"]["counts"]["finished"], 100);
    for (i, t) in info["tasks"].as_array().unwrap().iter().enumerate() {
        let index = t["array_index"].as_i64().unwrap();
        assert_eq!(index, 10 * i as i64 + 3);
        let stdout =
            std::fs::read_to_string(dir.path().join(format!("tessera-jobs/2/{i}.stdout"))).unwrap();
        assert_eq!(stdout, format!("out-{index}-{index}\n"));
    }
}

#[test]
fn bad_submissions_are_refused_with_one_line_and_exit_2_and_nothing_starts() {
    let dir = tempfile::tempdir().unwrap();
    let (_c, file) = cluster(dir.path(), 1, 2);
    std::fs::write(dir.path().join("not-exec.sh"), "#!/bin/sh\n").unwrap();
    std::fs::write(dir.path().join("a-file"), "").unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--", "./missing-program"],
            "missing-program: no such file",
        ),
        (vec!["--", "./not-exec.sh"], "not-exec.sh: not executable"),
        (vec!["--", "no-such-program-xyz"], "not found in PATH"),
        (
            vec!["--array", "5-1", "--", "true"],
            "the end is before the start",
        ),
        (vec!["--array", "1-", "--", "true"], "expected START-END"),
        (
            vec!["--", "echo", "%{INDEX}"],
            "unknown placeholder %{INDEX}",
        ),
        (
            vec!["--stdout", "a-file/%{TASK_ID}.out", "--", "true"],
            "is not a writable directory",
        ),
        (
            vec!["--cpus", "3", "--", "true"],
            "ask for 3 CPUs (it has 2); the workers have: 2 CPUs",
        ),
        (
            vec!["--resource", "gpus=1", "--", "true"],
            "1 gpus (it has 0)",
        ),
        (
            vec!["--each-file", "nothing-*.nc", "--", "true"],
            "--each-file nothing-*.nc",
        ),
        (
            vec!["--after", "77", "--", "true"],
            "--after 77: no such job",
        ),
    ];
    for (args, expected) in cases {
        let mut all = vec!["submit", "--scheduler-file", file.as_str()];
        all.extend(args.iter().copied());
        let out = tessera(dir.path(), &all);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: one line: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    let out = tessera(
        dir.path(),
        &["job", "list", "--scheduler-file", &file, "--output", "json"],
    );
    assert_eq!(text(&out.stdout).trim(), "[]", "no job was created");
    assert!(!dir.path().join("tessera-jobs").exists(), "no task started");
}

#[test]
fn a_job_outlives_its_client_and_a_killed_worker_and_every_task_ends_once() {
    let dir = tempfile::tempdir().unwrap();
    let (c, file) = cluster(dir.path(), 2, 2);
    std::fs::create_dir(dir.path().join("runs")).unwrap();
    // Each run appends "start" then, 0.1 s later, "end" to its own file.
    let out = tessera(
        dir.path(),
        &[
            "submit",
            "--scheduler-file",
            &file,
            "--array",
            "0-119",
            "--max-fails",
            "3",
            "--",
            "sh",
            "-c",
            "echo start >> runs/%{ARRAY_INDEX}; sleep 0.1; echo end >> runs/%{ARRAY_INDEX}; \
             echo done-%{ARRAY_INDEX}",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    // The submitting client is gone; kill a worker process mid-array.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while std::fs::read_dir(dir.path().join("runs")).unwrap().count() < 20 {
        assert!(std::time::Instant::now() < deadline, "the job does not run");
        std::thread::sleep(Duration::from_millis(10));
    }
    let victim = c.worker_pids()[0];
    // SAFETY: plain kill(2) of a child process of this test.
    unsafe { libc::kill(victim as i32, libc::SIGKILL) };
    let out = tessera(dir.path(), &["job", "wait", "--scheduler-file", &file, "1"]);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        c.worker_restarts() >= 1,
        "the nanny restarted the killed worker"
    );
    let info = job_info(dir.path(), &file, 1);
    assert_eq!(info["summary"]["counts"]["finished"].as_u64(), Some(120));
    let mut started_twice = 0;
    for i in 0..120 {
        let runs = std::fs::read_to_string(dir.path().join(format!("runs/{i}"))).unwrap();
        let starts = runs.lines().filter(|l| *l == "start").count();
        let ends = runs.lines().filter(|l| *l == "end").count();
        assert_eq!(ends, 1, "task {i} ended {ends} times: {runs:?}");
        started_twice += starts - 1;
        let stdout =
            std::fs::read_to_string(dir.path().join(format!("tessera-jobs/1/{i}.stdout"))).unwrap();
        assert_eq!(stdout, format!("done-{i}\n"));
    }
    // Only the runs in progress on the killed worker (2 threads) started again.
    assert!(started_twice <= 2, "{started_twice} runs started twice");
}

#[test]
fn cancelling_a_job_kills_its_running_programs() {
    let dir = tempfile::tempdir().unwrap();
    let (_c, file) = cluster(dir.path(), 1, 2);
    let out = tessera(
        dir.path(),
        &[
            "submit",
            "--scheduler-file",
            &file,
            "--array",
            "1-2",
            "--",
            "sh",
            "-c",
            "echo $$ > pid-%{ARRAY_INDEX}.tmp; mv pid-%{ARRAY_INDEX}.tmp pid-%{ARRAY_INDEX}; exec sleep 600",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let pids: Vec<i32> = (1..=2)
        .map(|i| loop {
            if let Ok(p) = std::fs::read_to_string(dir.path().join(format!("pid-{i}"))) {
                break p.trim().parse().unwrap();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "task {i} never started"
            );
            std::thread::sleep(Duration::from_millis(10));
        })
        .collect();
    let out = tessera(
        dir.path(),
        &["job", "cancel", "--scheduler-file", &file, "1"],
    );
    assert_eq!(
        text(&out.stdout),
        "job 1: 2 tasks cancelled\n",
        "{}",
        text(&out.stderr)
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while pids.iter().any(|&p| common::process_alive(p)) {
        assert!(
            std::time::Instant::now() < deadline,
            "cancelled programs still run"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = tessera(dir.path(), &["job", "wait", "--scheduler-file", &file, "1"]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "a cancelled job is not a success"
    );
    assert_eq!(
        job_info(dir.path(), &file, 1)["summary"]["counts"]["cancelled"],
        2
    );
}
