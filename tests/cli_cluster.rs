//! Real processes: `tessera scheduler` and `tessera worker` found through a scheduler file,
//! a client running a graph while a worker is SIGKILLed, authentication refusal, and errors
//! for bad scheduler files.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::*;
use tessera::core::{TaskKey, TaskSpec};
use tessera::runtime::kernels_builtin::names;
use tessera::runtime::{Client, Value};

#[test]
fn graph_survives_a_worker_killed_mid_run() {
    let dir = temp_dir();
    let file = path_in(&dir, "s.json");
    let mut scheduler = start_scheduler(&file);
    let mut w1 = start_worker(&file, "w1");
    let mut w2 = start_worker(&file, "w2");
    let client = Client::from_scheduler_file(&file, Duration::from_secs(20)).unwrap();
    client.wait_for_workers(2, Duration::from_secs(20)).unwrap();

    // 40 leaves of 50 ms each, then a sum: ~1 s of work on 2 workers.
    let mut tasks = Vec::new();
    let mut leaves = Vec::new();
    for i in 0..40i64 {
        let inc = TaskKey::new(format!("inc-{i}"));
        tasks.push(TaskSpec::new(inc.clone(), names::INC, i.encode(), vec![]));
        let slow = TaskKey::new(format!("slow-{i}"));
        tasks.push(TaskSpec::new(
            slow.clone(),
            names::SLEEP,
            50i64.encode(),
            vec![inc],
        ));
        leaves.push(slow);
    }
    let total = TaskKey::new("total");
    tasks.push(TaskSpec::new(
        total.clone(),
        names::ADD,
        bytes::Bytes::new(),
        leaves,
    ));
    let future = client
        .submit_graph(tasks, std::slice::from_ref(&total))
        .unwrap()
        .remove(0);

    std::thread::sleep(Duration::from_millis(400));
    signal(&w1, libc::SIGKILL);
    let killed = wait_status(&mut w1, Duration::from_secs(5));
    assert!(!killed.success());

    let result = i64::decode(&client.gather(&[future]).unwrap()[0]).unwrap();
    assert_eq!(result, (1..=40).sum::<i64>());

    client.shutdown_cluster();
    assert!(wait_status(&mut w2, Duration::from_secs(20)).success());
    assert!(wait_status(&mut scheduler, Duration::from_secs(20)).success());
    assert!(
        !file.exists(),
        "the scheduler removes its file on clean exit"
    );
}

#[test]
fn a_client_with_the_wrong_secret_is_refused_and_logged() {
    let dir = temp_dir();
    let file = path_in(&dir, "s.json");
    let scheduler = tessera()
        .args([
            "--log",
            "warn",
            "scheduler",
            "--host",
            "127.0.0.1",
            "--scheduler-file",
        ])
        .arg(&file)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_file(&file, Duration::from_secs(20));

    // Same address, another secret.
    let mut doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    doc["secret"] = serde_json::Value::String("ab".repeat(32));
    let forged = path_in(&dir, "forged.json");
    write_private(&forged, doc.to_string().as_bytes());
    let out = run(
        &[
            "info",
            "--timeout",
            "5s",
            "--scheduler-file",
            forged.to_str().unwrap(),
        ],
        Duration::from_secs(30),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "stderr: {stderr}");
    assert!(stderr.contains("authentication"), "stderr: {stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one-line error: {stderr}");

    // The real secret still works; then stop and check the refusal was logged.
    let ok = run(
        &[
            "info",
            "--output",
            "json",
            "--scheduler-file",
            file.to_str().unwrap(),
        ],
        Duration::from_secs(30),
    );
    assert!(ok.status.success());
    let info: serde_json::Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert!(info["scheduler_address"]
        .as_str()
        .unwrap()
        .starts_with("tcp://127.0.0.1:"));

    let down = run(
        &["shutdown", "--scheduler-file", file.to_str().unwrap()],
        Duration::from_secs(30),
    );
    assert!(
        down.status.success(),
        "{}",
        String::from_utf8_lossy(&down.stderr)
    );
    let out = wait_output(scheduler, Duration::from_secs(20));
    assert!(out.status.success());
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("refused"), "scheduler log: {log}");
}

#[test]
fn a_stale_scheduler_file_is_recognised() {
    let dir = temp_dir();
    let file = path_in(&dir, "s.json");
    let mut scheduler = start_scheduler(&file);
    let saved = std::fs::read(&file).unwrap();
    signal(&scheduler, libc::SIGKILL);
    wait_status(&mut scheduler, Duration::from_secs(5));
    // SIGKILL leaves the file behind (restore it in case).
    write_private(&file, &saved);
    let out = run(
        &[
            "info",
            "--timeout",
            "3s",
            "--scheduler-file",
            file.to_str().unwrap(),
        ],
        Duration::from_secs(30),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("stale"), "{stderr}");
}

#[test]
fn bad_scheduler_files_give_one_line_errors() {
    let dir = temp_dir();
    let corrupt = path_in(&dir, "corrupt.json");
    write_private(&corrupt, b"{not json");
    let missing = path_in(&dir, "missing.json");
    for (file, expect) in [(&corrupt, "corrupt.json"), (&missing, "missing.json")] {
        let out = run(
            &[
                "info",
                "--timeout",
                "300ms",
                "--scheduler-file",
                file.to_str().unwrap(),
            ],
            Duration::from_secs(30),
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{stderr}");
        assert!(stderr.contains(expect), "{stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    }
}

#[test]
fn bad_flags_exit_2_with_the_flag_named() {
    for (args, needle) in [
        (
            vec!["worker", "--scheduler-file", "x", "--memory-limit", "4XB"],
            "4XB",
        ),
        (
            vec!["worker", "--scheduler-file", "x", "--timeout", "soon"],
            "soon",
        ),
        (vec!["local", "--workers", "0"], "--workers"),
    ] {
        let out = run(&args, Duration::from_secs(30));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
}

#[test]
fn an_unknown_interface_or_advertise_host_is_a_usage_error() {
    let dir = temp_dir();
    let file = path_in(&dir, "s.json");
    let file = file.to_str().unwrap();
    // The interfaces that exist, as the kernel lists them.
    let interfaces: Vec<String> = std::fs::read_dir("/sys/class/net")
        .expect("/sys/class/net")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    for args in [
        vec![
            "scheduler",
            "--interface",
            "nosuch0",
            "--scheduler-file",
            file,
        ],
        vec![
            "worker",
            "--interface",
            "nosuch0",
            "--scheduler-file",
            file,
            "--timeout",
            "5s",
        ],
    ] {
        if args[0] == "worker" {
            // The worker reads the scheduler file first: give it a live scheduler.
            let _ = std::fs::remove_file(file);
        }
        let _scheduler = (args[0] == "worker").then(|| start_scheduler(std::path::Path::new(file)));
        let out = run(&args, Duration::from_secs(30));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        assert!(
            stderr.contains("--interface nosuch0: no such network interface on this host"),
            "{stderr}"
        );
        for name in &interfaces {
            assert!(stderr.contains(name.as_str()), "{name} missing: {stderr}");
        }
    }
    // No scheduler at all: the worker does not wait for the file to find its flags wrong.
    let _ = std::fs::remove_file(file);
    for (flag, value, needle) in [
        ("--interface", "nosuch0", "no such network interface"),
        ("--host", "no-such-host.invalid", "cannot resolve"),
        ("--advertise-host", "no-such-host.invalid", "cannot resolve"),
    ] {
        let started = std::time::Instant::now();
        let out = run(
            &[
                "worker",
                flag,
                value,
                "--scheduler-file",
                file,
                "--timeout",
                "20s",
            ],
            Duration::from_secs(30),
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flag}: {stderr}");
        assert!(
            stderr.contains(needle) && stderr.contains(flag),
            "{flag}: {stderr}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{flag}: the worker waited for the scheduler file before checking its flags"
        );
    }
    let _ = std::fs::remove_file(file);
    for args in [
        vec!["scheduler", "--scheduler-file", file],
        // refused before any job is submitted
        vec![
            "jobqueue",
            "slurm",
            "up",
            "--workers",
            "1",
            "--scheduler-file",
            file,
        ],
    ] {
        let mut args = args.clone();
        args.extend(["--advertise-host", "no-such-host.invalid"]);
        let out = run(&args, Duration::from_secs(30));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(
            stderr.trim(),
            "tessera: error: --advertise-host no-such-host.invalid: cannot resolve this host \
             name to an address"
        );
        assert!(!std::path::Path::new(file).exists());
    }
}

#[test]
fn a_port_in_use_is_reported() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let dir = temp_dir();
    let file = path_in(&dir, "s.json");
    let out = run(
        &[
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            &port,
            "--scheduler-file",
            file.to_str().unwrap(),
        ],
        Duration::from_secs(30),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr.contains(&port) && stderr.contains("in use"),
        "{stderr}"
    );
}

#[test]
fn demo_runs_and_checks_its_answer() {
    let out = run(
        &[
            "demo",
            "--workload",
            "tasks",
            "--tasks",
            "3000",
            "--output",
            "json",
        ],
        Duration::from_secs(120),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["ok"], serde_json::Value::Bool(true));
    assert_eq!(summary["result"].as_i64(), Some(3000 * 3001 / 2));
}

#[test]
fn array_demo_runs_and_checks_its_answer() {
    let out = run(
        &[
            "demo", "--rows", "3000", "--cols", "700", "--chunk", "500", "--output", "json",
        ],
        Duration::from_secs(120),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["workload"], "array");
    assert_eq!(summary["ok"], serde_json::Value::Bool(true));
    assert_eq!(summary["shape"], serde_json::json!([3000, 700]));
    assert_eq!(summary["chunks"].as_u64(), Some(6 * 2));
    assert!(summary["tasks"].as_u64().unwrap() > 12);
    assert!(
        summary["max_relative_difference_to_local"]
            .as_f64()
            .unwrap()
            < 1e-10
    );
}
