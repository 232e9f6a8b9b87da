//! Faults injected into real `tessera scheduler` / `tessera worker` / `tessera eval`
//! processes on loopback: a hung (SIGSTOPped) worker, a cluster whose workers are all gone,
//! a FIFO at the scheduler-file path, bad CLI values. Each test names the finding of the
//! fault probe (issue 17) it guards.

mod common;

use std::fs::File;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::*;
use tessera::core::{TaskKey, TaskSpec};
use tessera::runtime::kernels_builtin::names;
use tessera::runtime::{Client, Value};

/// `tessera scheduler` on 127.0.0.1 writing `file`, with `extra` flags; its log goes to
/// `log` (a file, so a chatty log never fills a pipe).
fn scheduler_with(file: &Path, log: &Path, extra: &[&str]) -> ProcessGuard {
    let child = tessera()
        .args(["scheduler", "--host", "127.0.0.1", "--scheduler-file"])
        .arg(file)
        .args(extra)
        .stderr(File::create(log).expect("scheduler log"))
        .spawn()
        .expect("spawn scheduler");
    wait_for_file(file, Duration::from_secs(20));
    ProcessGuard(child)
}

/// `tessera worker --nthreads 1 --name NAME` joining through `file`, log to `log`.
fn worker_logged(file: &Path, name: &str, log: &Path) -> ProcessGuard {
    let child = tessera()
        .args(["worker", "--nthreads", "1", "--name", name])
        .arg("--scheduler-file")
        .arg(file)
        .stderr(File::create(log).expect("worker log"))
        .spawn()
        .expect("spawn worker");
    ProcessGuard(child)
}

fn read_log(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Finding: a SIGSTOPped worker stalled the computation. Another worker's fetch from it sat in
/// a socket read forever, even after the scheduler dropped the stopped worker. Now the scheduler
/// tells the remaining workers the peer is gone and their fetches from it are cancelled (and
/// every peer fetch has an idle timeout): the result is exact and arrives long before SIGCONT.
#[test]
fn a_stopped_worker_is_dropped_and_the_result_arrives_before_sigcont() {
    let dir = temp_dir();
    let file = path_in(&dir, "s.json");
    let _scheduler = scheduler_with(
        &file,
        &path_in(&dir, "scheduler.log"),
        &["--worker-timeout", "5s"],
    );
    let mut workers: Vec<ProcessGuard> = (1..=3)
        .map(|i| {
            let name = format!("w{i}");
            worker_logged(&file, &name, &path_in(&dir, &format!("{name}.log")))
        })
        .collect();
    let client = Client::from_scheduler_file(&file, Duration::from_secs(20)).unwrap();
    client.wait_for_workers(3, Duration::from_secs(20)).unwrap();

    // Phase 1: 30 leaves spread over the three workers, all in memory before the stop.
    let n = 30i64;
    let leaves: Vec<TaskKey> = (0..n).map(|i| TaskKey::new(format!("leaf-{i}"))).collect();
    let tasks: Vec<TaskSpec> = (0..n)
        .map(|i| TaskSpec::new(leaves[i as usize].clone(), names::INC, i.encode(), vec![]))
        .collect();
    let leaf_futures = client.submit_graph(tasks, &leaves).unwrap();
    for f in &leaf_futures {
        f.wait_timeout(Duration::from_secs(30)).unwrap();
    }

    // Sums of leaf pairs: the ones placed away from an input's holder fetch it from a peer.
    let pair_sums = |client: &Client, pairs: &[(i64, i64)]| {
        let sums: Vec<TaskKey> = pairs
            .iter()
            .map(|(a, b)| TaskKey::new(format!("pair-{a}-{b}")))
            .collect();
        let tasks: Vec<TaskSpec> = pairs
            .iter()
            .zip(&sums)
            .map(|((a, b), key)| {
                TaskSpec::new(
                    key.clone(),
                    names::ADD,
                    bytes::Bytes::new(),
                    vec![leaves[*a as usize].clone(), leaves[*b as usize].clone()],
                )
            })
            .collect();
        client.submit_graph(tasks, &sums).unwrap()
    };
    // Phase 1b: the workers fetch from each other once, so each holds an open connection to
    // every peer's data server (a new connection to a stopped peer fails its handshake; the
    // hang was on a connection already open).
    let warm: Vec<(i64, i64)> = (0..n).map(|i| (i, (i + 1) % n)).collect();
    let warm_futures = pair_sums(&client, &warm);
    for f in &warm_futures {
        f.wait_timeout(Duration::from_secs(30)).unwrap();
    }

    // Phase 2: stop the worker holding most leaves, then ask for other sums: the ones placed
    // on the other two fetch inputs held by the stopped one over those open connections.
    let mut held: std::collections::HashMap<String, usize> = Default::default();
    for f in &leaf_futures {
        if let tessera::runtime::KeyStatus::Ready { holders, .. } = f.status() {
            for h in holders {
                *held.entry(h).or_default() += 1;
            }
        }
    }
    let (busiest, leaves_held) = held.into_iter().max_by_key(|(_, n)| *n).unwrap();
    assert!(leaves_held >= 3, "{leaves_held} leaves on {busiest}");
    let pid = client
        .info()
        .unwrap()
        .workers
        .into_iter()
        .find(|w| w.address == busiest)
        .expect("holder registered")
        .pid;
    let victim = workers.iter().position(|w| w.id() == pid).unwrap();
    workers.swap(0, victim);
    signal(&workers[0], libc::SIGSTOP);
    let stopped_at = Instant::now();
    let pairs: Vec<(i64, i64)> = (0..n).map(|i| (i, (i * 7 + 3) % n)).collect();
    let futures = pair_sums(&client, &pairs);
    let (tx, rx) = mpsc::channel();
    let gatherer = std::thread::spawn(move || {
        let got = client.gather(&futures).map(|values| {
            values
                .iter()
                .map(|v| i64::decode(v).unwrap())
                .collect::<Vec<_>>()
        });
        let _ = tx.send(got);
        client
    });
    // SIGCONT would come at 60 s; the answer must come well before.
    let got = rx.recv_timeout(Duration::from_secs(40));
    let elapsed = stopped_at.elapsed();
    signal(&workers[0], libc::SIGCONT);
    let got = got.unwrap_or_else(|_| {
        for w in &workers {
            signal(w, libc::SIGKILL);
        }
        panic!(
            "no result 40 s after SIGSTOP (worker-timeout 5 s); scheduler log:\n{}\nw2 log:\n{}",
            read_log(&path_in(&dir, "scheduler.log")),
            read_log(&path_in(&dir, "w2.log"))
        )
    });
    let expected: Vec<i64> = pairs.iter().map(|(a, b)| (a + 1) + (b + 1)).collect();
    assert_eq!(got.unwrap(), expected);
    eprintln!("result {elapsed:?} after SIGSTOP");
    assert!(
        elapsed < Duration::from_secs(25),
        "result took {elapsed:?} after SIGSTOP"
    );
    // Inputs on the stopped worker were needed: nothing could finish before it was dropped.
    assert!(
        elapsed >= Duration::from_secs(4),
        "result {elapsed:?} after SIGSTOP: the stopped worker's data was not needed"
    );
    let client = gatherer.join().unwrap();
    client.shutdown_cluster();
    for w in workers.iter_mut().skip(1) {
        wait_status(w, Duration::from_secs(20));
    }
}

/// Finding: when every worker of a `tessera scheduler` cluster had gone, the client waited for
/// ever and printed nothing. Now, after `--no-workers-grace` without a worker, `tessera eval`
/// exits 1 with one line saying so, and the scheduler logs the grace period it grants.
#[test]
fn eval_on_a_cluster_whose_workers_all_left_exits_with_a_clear_line() {
    let dir = temp_dir();
    let file = path_in(&dir, "s.json");
    let scheduler_log = path_in(&dir, "scheduler.log");
    let _scheduler = scheduler_with(&file, &scheduler_log, &["--no-workers-grace", "3s"]);
    let mut worker = worker_logged(&file, "only", &path_in(&dir, "w.log"));
    let client = Client::from_scheduler_file(&file, Duration::from_secs(20)).unwrap();
    client.wait_for_workers(1, Duration::from_secs(20)).unwrap();
    client.close();

    // Thousands of tasks: far more than the worker finishes before it is killed.
    let eval = tessera()
        .args([
            "eval",
            "sum(random((40000, 40000), chunks=(200, 200), seed=1))",
            "--scheduler-file",
        ])
        .arg(&file)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn eval");
    std::thread::sleep(Duration::from_millis(800));
    signal(&worker, libc::SIGKILL);
    wait_status(&mut worker, Duration::from_secs(5));
    let killed_at = Instant::now();
    let out = wait_output(eval, Duration::from_secs(30));
    let waited = killed_at.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line expected: {stderr}");
    assert!(
        lines[0].contains("no workers for 3s while") && lines[0].contains("--no-workers-grace"),
        "{stderr}"
    );
    assert!(
        waited >= Duration::from_secs(3),
        "told before the grace: {waited:?}"
    );
    eprintln!("eval exited {waited:?} after the last worker was killed");
    let log = read_log(&scheduler_log);
    assert!(
        log.contains("clients are told in 3s unless a worker joins"),
        "scheduler log: {log}"
    );
}

fn make_fifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: c is a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
}

/// Finding: a FIFO at the scheduler-file path hung `info`, `worker`, `eval` and `scheduler`
/// in open(), ignoring `--timeout` and SIGTERM. Now the type is checked before opening: the
/// clients give up after `--timeout` naming the FIFO, the scheduler replaces it, and one
/// SIGTERM ends a command still waiting for its scheduler file.
#[test]
fn a_fifo_at_the_scheduler_file_path_hangs_nothing() {
    let dir = temp_dir();
    let fifo = path_in(&dir, "s.json");
    make_fifo(&fifo);
    let fifo_arg = fifo.to_str().unwrap();
    for args in [
        vec!["info", "--scheduler-file", fifo_arg, "--timeout", "1s"],
        vec!["worker", "--scheduler-file", fifo_arg, "--timeout", "1s"],
        vec![
            "eval",
            "1 + 1",
            "--scheduler-file",
            fifo_arg,
            "--timeout",
            "1s",
        ],
    ] {
        let started = Instant::now();
        let out = run(&args, Duration::from_secs(15));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {stderr}");
        assert!(
            stderr.contains("is not a regular file (a FIFO)") && stderr.contains(fifo_arg),
            "{args:?}: {stderr}"
        );
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
        assert!(started.elapsed() < Duration::from_secs(8), "{args:?}");
    }

    // One SIGTERM ends a worker still waiting for a usable scheduler file.
    let mut worker = ProcessGuard(
        tessera()
            .args(["worker", "--scheduler-file", fifo_arg, "--timeout", "60s"])
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_millis(500));
    signal(&worker, libc::SIGTERM);
    let status = wait_status(&mut worker, Duration::from_secs(5));
    assert_eq!(status.code(), Some(130));

    // The scheduler replaces the FIFO with its file and stops on SIGTERM.
    let log = path_in(&dir, "scheduler.log");
    let mut scheduler = scheduler_with(&fifo, &log, &[]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !std::fs::metadata(&fifo).is_ok_and(|m| m.is_file()) {
        assert!(Instant::now() < deadline, "{}", read_log(&log));
        std::thread::sleep(Duration::from_millis(20));
    }
    signal(&scheduler, libc::SIGTERM);
    assert!(wait_status(&mut scheduler, Duration::from_secs(10)).success());
}

/// Finding: a world-writable scheduler-file directory without the sticky bit (mode 0777)
/// gave no warning, yet anyone there can replace the file.
#[test]
fn a_world_writable_directory_without_sticky_bit_is_warned_about() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir();
    let open_dir = path_in(&dir, "open");
    std::fs::create_dir(&open_dir).unwrap();
    std::fs::set_permissions(&open_dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let file = open_dir.join("s.json");
    let log = path_in(&dir, "scheduler.log");
    let mut scheduler = scheduler_with(&file, &log, &[]);
    let out = run(
        &["info", "--scheduler-file", file.to_str().unwrap()],
        Duration::from_secs(20),
    );
    let warning = "writable by everyone without the sticky bit (mode 0777)";
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains(warning), "info: {stderr}");
    signal(&scheduler, libc::SIGTERM);
    assert!(wait_status(&mut scheduler, Duration::from_secs(10)).success());
    assert!(read_log(&log).contains(warning), "{}", read_log(&log));

    // The sticky bit (as on /tmp) silences it.
    std::fs::set_permissions(&open_dir, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let mut scheduler = scheduler_with(&file, &log, &[]);
    signal(&scheduler, libc::SIGTERM);
    assert!(wait_status(&mut scheduler, Duration::from_secs(10)).success());
    assert!(!read_log(&log).contains(warning), "{}", read_log(&log));
}

/// Findings: `--memory-limit 1.5` was taken as 2 bytes, `--nthreads 99999999999` started
/// threads until EAGAIN, `--worker-timeout 0s` dropped every worker at once. Each is now a
/// usage error (exit 2) naming the flag, before anything starts.
#[test]
fn impossible_cli_values_are_refused_naming_the_flag() {
    for (args, flag, says) in [
        (
            vec![
                "worker",
                "--scheduler-file",
                "/nonexistent/s.json",
                "--memory-limit",
                "1.5",
            ],
            "--memory-limit",
            "example: 1.5GiB",
        ),
        (
            vec![
                "worker",
                "--scheduler-file",
                "/nonexistent/s.json",
                "--nthreads",
                "99999999999",
            ],
            "--nthreads",
            "more than the 4096",
        ),
        (
            vec!["local", "--nthreads", "5000"],
            "--nthreads",
            "more than the 4096",
        ),
        (
            vec![
                "scheduler",
                "--scheduler-file",
                "/nonexistent/s.json",
                "--worker-timeout",
                "0s",
            ],
            "--worker-timeout",
            "longer than 0",
        ),
    ] {
        let out = run(&args, Duration::from_secs(10));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(flag) && stderr.contains(says),
            "{args:?}: {stderr}"
        );
    }
}

/// Finding: with an unreadable home every command failed on the config file. A config file at
/// the default place that cannot be read is now one warning, and the command goes on.
#[test]
fn an_unreadable_default_config_file_is_a_warning() {
    let dir = temp_dir();
    // HOME is a regular file, so $HOME/.config/tessera/tessera.toml cannot be read (ENOTDIR;
    // a mode-000 home would not stop root).
    let home = path_in(&dir, "home");
    std::fs::write(&home, "not a directory").unwrap();
    let out = tessera()
        .env_remove("XDG_CONFIG_HOME")
        .env("HOME", &home)
        .args(["eval", "1 + 1", "--local", "1"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim().lines().last(),
        Some("2")
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("warning: cannot read the config file")
            && stderr.contains("going on without it"),
        "{stderr}"
    );
}

fn scheduler_socket(file: &Path) -> std::net::SocketAddr {
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let address = json["address"].as_str().unwrap();
    address.trim_start_matches("tcp://").parse().unwrap()
}

fn thread_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .count()
}

/// Finding: 500 connections that send nothing grew the scheduler to 508 threads (one per
/// connection before the handshake), and each refused handshake wrote a WARN line (2,674
/// during the probe). Now at most 128 connections wait for their handshake (more are closed)
/// and refusals are logged at most once per 10 s with the count left out.
#[test]
fn silent_and_garbage_connections_cost_bounded_threads_and_log_lines() {
    use std::io::Write;
    let dir = temp_dir();
    let file = path_in(&dir, "s.json");
    let log = path_in(&dir, "scheduler.log");
    let scheduler = scheduler_with(&file, &log, &[]);
    let address = scheduler_socket(&file);
    let before = thread_count(scheduler.id());

    let silent: Vec<std::net::TcpStream> = (0..400)
        .filter_map(|_| std::net::TcpStream::connect(address).ok())
        .collect();
    assert!(silent.len() >= 300, "only {} connections", silent.len());
    std::thread::sleep(Duration::from_secs(1));
    let during = thread_count(scheduler.id());
    eprintln!(
        "scheduler threads: {before} before, {during} with {} silent connections",
        silent.len()
    );
    assert!(
        during <= before + 128 + 8,
        "{during} threads with {} silent connections (before: {before})",
        silent.len()
    );
    drop(silent);

    for _ in 0..200 {
        if let Ok(mut s) = std::net::TcpStream::connect(address) {
            let _ = s.write_all(b"GET / HTTP/1.0\r\n\r\n0123456789abcdef0123456789abcdef");
        }
    }
    // Once the attack is over, the cluster answers.
    std::thread::sleep(Duration::from_millis(500));
    let out = run(
        &[
            "info",
            "--scheduler-file",
            file.to_str().unwrap(),
            "--timeout",
            "20s",
        ],
        Duration::from_secs(30),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = read_log(&log);
    let warnings = text.lines().filter(|l| l.contains("WARN")).count();
    eprintln!("{warnings} WARN lines after 400 silent and 200 garbage connections");
    assert!(warnings <= 4, "{warnings} WARN lines:\n{text}");
    assert!(text.contains("not_logged="), "{text}");
}

/// Finding: a worker started while a stale scheduler file was still there kept retrying the
/// old address; when a new scheduler replaced the file it never joined, and exited 3 after
/// `--timeout` (with a scheduler job and worker jobs submitted together, workers that start
/// first were lost). Now it reads the file again between attempts and joins the new scheduler.
#[test]
fn a_worker_started_on_a_stale_file_joins_the_scheduler_that_replaces_it() {
    let dir = temp_dir();
    let file = path_in(&dir, "s.json");
    let log = path_in(&dir, "old.log");
    let mut old = scheduler_with(&file, &log, &[]);
    signal(&old, libc::SIGKILL);
    wait_status(&mut old, Duration::from_secs(5));
    assert!(file.exists(), "SIGKILL leaves the file behind");

    let worker_log = path_in(&dir, "w.log");
    let mut worker = ProcessGuard(
        tessera()
            .args([
                "worker",
                "--nthreads",
                "1",
                "--timeout",
                "30s",
                "--scheduler-file",
            ])
            .arg(&file)
            .stderr(File::create(&worker_log).unwrap())
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_secs(2));
    let stale = std::fs::read_to_string(&file).unwrap();
    let _new = scheduler_with(&file, &path_in(&dir, "new.log"), &[]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::fs::read_to_string(&file).is_ok_and(|text| text == stale) {
        assert!(
            Instant::now() < deadline,
            "the new scheduler did not replace the file"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let started = Instant::now();
    let client = Client::from_scheduler_file(&file, Duration::from_secs(20)).unwrap();
    client
        .wait_for_workers(1, Duration::from_secs(20))
        .unwrap_or_else(|e| panic!("{e}; worker log:\n{}", read_log(&worker_log)));
    eprintln!(
        "the worker joined {:?} after the new scheduler started",
        started.elapsed()
    );
    client.shutdown_cluster();
    assert!(
        wait_status(&mut worker, Duration::from_secs(20)).success(),
        "{}",
        read_log(&worker_log)
    );
}

/// Finding: an HDF5/NetCDF file that cannot be opened printed four lines (the error and a
/// caret block under the call) where one line naming the file is promised. A program mistake
/// keeps its caret.
#[cfg(feature = "io")]
#[test]
fn an_input_file_that_cannot_be_opened_is_one_line_naming_it() {
    let dir = temp_dir();
    let garbage = path_in(&dir, "garbage.nc");
    std::fs::write(&garbage, b"not a netcdf file").expect("write");
    let missing = path_in(&dir, "missing.nc");
    let glob = path_in(&dir, "none-*.nc");
    let cases = [
        (format!("sum(nc({:?}, \"tas\"))", missing), missing.clone()),
        (format!("sum(nc({:?}, \"tas\"))", garbage), garbage.clone()),
        (format!("sum(h5({:?}, \"/x\"))", garbage), garbage.clone()),
        (format!("sum(nc({:?}, \"tas\"))", glob), glob.clone()),
    ];
    let program_file = path_in(&dir, "prog.tes");
    for (program, file) in &cases {
        std::fs::write(&program_file, format!("# reads one file\n{program}\n")).expect("write");
        let inline = tessera().args(["eval", program]).output().expect("eval");
        let from_file = tessera()
            .args(["eval", "-f"])
            .arg(&program_file)
            .output()
            .expect("eval -f");
        for out in [inline, from_file] {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
            assert_eq!(lines.len(), 1, "one line expected for {program}: {stderr}");
            assert!(
                lines[0].starts_with("error: ") && lines[0].contains(file.to_str().expect("utf-8")),
                "{stderr}"
            );
            assert_eq!(out.status.code(), Some(2), "{stderr}");
        }
    }
    // A mistake in the program still points at it.
    let out = tessera()
        .args(["eval", "sum(nc(1, \"tas\"))"])
        .output()
        .expect("eval");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains('^'), "{stderr}");
}
