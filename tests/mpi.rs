//! Real OpenMPI runs (`mpirun --oversubscribe`): `tessera mpi` with an external client through
//! the scheduler file, batch-mode programs (examples/mpi_sum) that succeed, fail or panic, the
//! MPI data transport with large chunks, a world too small, a launcher mismatch, a dead worker
//! rank, and a 50-run loop that must neither hang nor spam errors.
//!
//! Every test is named `real_mpi_*` so nextest runs them one at a time (tests/README.md).

#![cfg(feature = "mpi")]

mod launch;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use launch::*;
use tessera::mpi::NodeShare;
use tessera::runtime::kernels_builtin::names;
use tessera::runtime::{Client, Task};
use tessera::units::MemoryLimit;

const JOB_TIMEOUT: Duration = Duration::from_secs(90);

fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("tessera-mpi-test-")
        .tempdir()
        .expect("tempdir")
}

fn wait_for_file(path: &Path, child: &mut std::process::Child) {
    let deadline = Instant::now() + JOB_TIMEOUT;
    while !path.exists() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "mpirun ended with {status} before writing {}",
                path.display()
            );
        }
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Run examples/mpi_sum under `mpirun -np N` with `args` and extra environment (mpirun
/// passes its environment on to the ranks of this node).
fn mpi_sum(np: u32, args: &[&str], env: &[(&str, &str)]) -> Finished {
    let mut command = mpirun(np, &example("mpi_sum"), args);
    for (k, v) in env {
        command.env(k, v);
    }
    run(command, JOB_TIMEOUT)
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

#[test]
fn real_mpi_cli_four_ranks_serve_an_external_client_through_the_scheduler_file() {
    if !have_mpirun() {
        return;
    }
    let dir = temp_dir();
    let file = dir.path().join("scheduler.json");
    let mut command = mpirun(
        4,
        &tessera_bin(),
        &["mpi", "--transport", "mpi", "--scheduler-file"],
    );
    command.arg(&file);
    let mut child = command.spawn().expect("spawn mpirun");
    wait_for_file(&file, &mut child);

    let client = Client::from_scheduler_file(&file, Duration::from_secs(30)).expect("connect");
    // The file appears only once every worker rank has registered.
    let info = client.info().expect("info");
    let mut names: Vec<String> = info.workers.iter().map(|w| w.name.clone()).collect();
    names.sort();
    assert_eq!(names, ["rank-1", "rank-2", "rank-3"]);
    // Each rank's default share of this node: 4 ranks here.
    let share = NodeShare::measure(4);
    for w in &info.workers {
        assert_eq!(w.nthreads as usize, share.nthreads(), "{w:?}");
        assert_eq!(
            w.memory_limit,
            share.memory_limit(MemoryLimit::Auto),
            "{w:?}"
        );
        // TCP for clients outside the MPI job, MPI between ranks.
        assert!(w.address.starts_with("tcp://"), "{}", w.address);
        assert!(w.address.contains(",mpi://"), "{}", w.address);
    }
    // The scheduler rank publishes its dashboard, closed without the token.
    let published = tessera::deploy::schedfile::SchedulerFile::read(&file).unwrap();
    let url = published
        .services
        .get("dashboard")
        .expect("services.dashboard");
    let host_port = url.trim_start_matches("http://").trim_end_matches('/');
    let mut http = std::net::TcpStream::connect(host_port).expect("dashboard");
    std::io::Write::write_all(&mut http, b"GET /status HTTP/1.1\r\n\r\n").unwrap();
    let mut answer = String::new();
    std::io::Read::read_to_string(&mut http, &mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    // An external client computes and gathers over TCP.
    let xs = client.map::<i64, i64>(names::INC, 0..50).expect("map");
    let total: i64 = client.gather(&xs).expect("gather").iter().sum();
    assert_eq!(total, (1..=50).sum::<i64>());
    drop(xs);
    client.shutdown_cluster();
    let done = finish(child, JOB_TIMEOUT);
    assert!(done.status.success(), "{}", done.all());
    assert!(
        !file.exists(),
        "the scheduler file is removed on a clean exit"
    );
    assert!(!done.stderr.contains("error"), "{}", done.all());
}

#[test]
fn real_mpi_cli_scheduler_rank_can_be_moved() {
    if !have_mpirun() {
        return;
    }
    let dir = temp_dir();
    let file = dir.path().join("s.json");
    let mut command = mpirun(3, &tessera_bin(), &["mpi", "--scheduler-rank", "2"]);
    command.arg("--scheduler-file").arg(&file);
    let mut child = command.spawn().expect("spawn mpirun");
    wait_for_file(&file, &mut child);
    let client = Client::from_scheduler_file(&file, Duration::from_secs(30)).expect("connect");
    let mut names: Vec<String> = client
        .info()
        .expect("info")
        .workers
        .into_iter()
        .map(|w| w.name)
        .collect();
    names.sort();
    assert_eq!(names, ["rank-0", "rank-1"]);
    let x = client
        .submit::<i64>(Task::new(names::INC).arg(1i64))
        .expect("submit");
    assert_eq!(x.result().expect("result"), 2);
    client.shutdown_cluster();
    let done = finish(child, JOB_TIMEOUT);
    assert!(done.status.success(), "{}", done.all());
}

#[test]
fn real_mpi_batch_three_and_four_ranks_succeed() {
    if !have_mpirun() {
        return;
    }
    for np in [3, 4] {
        let done = mpi_sum(np, &[], &[]);
        assert!(done.status.success(), "np={np}: {}", done.all());
        let workers = np - 2;
        assert!(
            done.stdout.contains(&format!(
                "on {workers} workers, all bytes and 6 checksums exact"
            )),
            "np={np}: {}",
            done.all()
        );
        assert_eq!(done.stderr.trim(), "", "np={np}: no error output expected");
    }
}

#[test]
fn real_mpi_batch_closure_error_is_the_exit_code_and_printed_once() {
    if !have_mpirun() {
        return;
    }
    for np in [3, 4] {
        let done = mpi_sum(np, &["--fail", "error"], &[]);
        assert_eq!(done.status.code(), Some(1), "np={np}: {}", done.all());
        assert_eq!(
            count(
                &done.stderr,
                "deliberate failure requested with --fail error"
            ),
            1,
            "np={np}: {}",
            done.all()
        );
        assert_eq!(count(&done.stderr, "tessera: error"), 1, "{}", done.all());
    }
}

#[test]
fn real_mpi_batch_panic_is_the_exit_code_and_printed_once() {
    if !have_mpirun() {
        return;
    }
    for np in [3, 4] {
        let done = mpi_sum(np, &["--fail", "panic"], &[]);
        assert_eq!(done.status.code(), Some(101), "np={np}: {}", done.all());
        assert_eq!(
            count(&done.stderr, "deliberate panic requested with --fail panic"),
            1,
            "np={np}: {}",
            done.all()
        );
    }
}

#[test]
fn real_mpi_transport_moves_large_chunks_exactly() {
    if !have_mpirun() {
        return;
    }
    let chunk = (16 << 20) + 3;
    let chunks = 4;
    let done = mpi_sum(
        4,
        &[
            "--chunks",
            &chunks.to_string(),
            "--chunk-bytes",
            &chunk.to_string(),
        ],
        &[("TESSERA_TRANSPORT", "mpi")],
    );
    assert!(done.status.success(), "{}", done.all());
    assert!(
        done.stdout.contains("all bytes and 4 checksums exact"),
        "{}",
        done.all()
    );
    // The client (rank 1) gathered every chunk over MPI.
    let received = mpi_bytes_received(&done.stdout);
    assert!(
        received >= (chunks * chunk) as u64,
        "only {received} bytes over MPI: {}",
        done.all()
    );
    // Over TCP the same run moves nothing over MPI.
    let tcp = mpi_sum(4, &["--chunks", "2", "--chunk-bytes", "1000"], &[]);
    assert!(tcp.status.success(), "{}", tcp.all());
    assert!(
        tcp.stdout.contains("received over MPI: 0 bytes"),
        "{}",
        tcp.all()
    );
}

#[test]
fn real_mpi_world_too_small_fails_clearly() {
    if !have_mpirun() {
        return;
    }
    let done = run(mpirun(1, &tessera_bin(), &["mpi"]), JOB_TIMEOUT);
    assert_eq!(done.status.code(), Some(2), "{}", done.all());
    assert!(done.stderr.contains("at least 2"), "{}", done.all());
    assert_eq!(count(&done.stderr, "needs at least"), 1, "{}", done.all());

    let done = mpi_sum(2, &[], &[]);
    assert_eq!(done.status.code(), Some(2), "{}", done.all());
    assert_eq!(count(&done.stderr, "needs at least 3"), 1, "{}", done.all());

    // Started without any launcher, the program is a world of one.
    let mut alone = std::process::Command::new(example("mpi_sum"));
    alone
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(Stdio::null());
    let done = run(alone, JOB_TIMEOUT);
    assert_eq!(done.status.code(), Some(2), "{}", done.all());
    assert!(done.stderr.contains("1 rank,"), "{}", done.all());
}

#[test]
fn real_mpi_launcher_mismatch_is_explained() {
    if !have_mpirun() {
        return;
    }
    // What a binary of one MPI sees under another MPI's launcher: a world of 1 while the
    // launcher's variables say 4. Copy 0 explains; the other copies exit quietly.
    for (rank, reports) in [("0", true), ("2", false)] {
        let mut command = std::process::Command::new(tessera_bin());
        command
            .args(["mpi"])
            .env("PMI_SIZE", "4")
            .env("PMI_RANK", rank)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .stdin(Stdio::null());
        let done = run(command, JOB_TIMEOUT);
        assert_eq!(done.status.code(), Some(2), "{}", done.all());
        assert_eq!(
            done.stderr.contains("PMI_SIZE=4"),
            reports,
            "rank {rank}: {}",
            done.all()
        );
        if reports {
            assert!(done.stderr.contains("Open MPI"), "{}", done.all());
        }
    }
}

#[test]
fn real_mpi_dead_worker_rank_ends_the_run_naming_rank_and_task() {
    if !have_mpirun() {
        return;
    }
    let dir = temp_dir();
    let file = dir.path().join("s.json");
    let mut command = mpirun(4, &tessera_bin(), &["mpi", "--nthreads", "1"]);
    command.arg("--scheduler-file").arg(&file);
    let mut child = command.spawn().expect("spawn mpirun");
    wait_for_file(&file, &mut child);
    let client = Client::from_scheduler_file(&file, Duration::from_secs(30)).expect("connect");
    let sleepers = client
        .map::<i64, i64>(names::SLEEP, [60_000i64, 60_000, 60_000])
        .expect("submit");
    let deadline = Instant::now() + Duration::from_secs(30);
    let victim = loop {
        let info = client.info().expect("info");
        let running = info.tasks.get("processing").copied().unwrap_or(0);
        if running == 3 {
            break info
                .workers
                .into_iter()
                .find(|w| w.name == "rank-2")
                .expect("rank-2 registered");
        }
        assert!(Instant::now() < deadline, "tasks never started: {info:?}");
        std::thread::sleep(Duration::from_millis(20));
    };
    // SAFETY: kill has no memory-safety preconditions.
    unsafe {
        libc::kill(victim.pid as i32, libc::SIGKILL);
    }
    let done = finish(child, Duration::from_secs(60));
    drop(sleepers);
    assert!(!done.status.success(), "{}", done.all());
    assert!(
        done.elapsed < Duration::from_secs(30),
        "took {:?}",
        done.elapsed
    );
    let text = format!("{}{}", done.stdout, done.stderr);
    assert!(text.contains("worker rank-2"), "{}", done.all());
    assert!(
        text.contains("while running tessera.sleep"),
        "{}",
        done.all()
    );
}

#[test]
fn real_mpi_batch_fifty_runs_in_a_loop_never_hang_nor_spam() {
    if !have_mpirun() {
        return;
    }
    let program = example("mpi_sum");
    let mut failures = Vec::new();
    for run_index in 0..50u32 {
        let np = 3 + run_index % 2;
        let (args, code, message): (&[&str], i32, &str) = match run_index % 3 {
            0 => (&["--chunks", "3", "--chunk-bytes", "4096"], 0, "mpi_sum ok"),
            1 => (
                &["--fail", "error"],
                1,
                "deliberate failure requested with --fail error",
            ),
            _ => (
                &["--fail", "panic"],
                101,
                "deliberate panic requested with --fail panic",
            ),
        };
        let done = run(mpirun(np, &program, args), Duration::from_secs(60));
        let text = format!("{}{}", done.stdout, done.stderr);
        if done.status.code() != Some(code) || count(&text, message) != 1 {
            failures.push(format!("run {run_index} (np={np}): {}", done.all()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of 50 runs misbehaved:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn real_mpi_cli_refuses_the_file_of_a_live_scheduler_and_every_rank_exits() {
    if !have_mpirun() {
        return;
    }
    let dir = temp_dir();
    let file = dir.path().join("taken.json");
    let mut local = std::process::Command::new(tessera_bin());
    local
        .args(["local", "--workers", "1", "--scheduler-file"])
        .arg(&file)
        .env("XDG_CONFIG_HOME", "/nonexistent-tessera-test-config")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut local = local.spawn().expect("spawn tessera local");
    wait_for_file(&file, &mut local);
    let mut command = mpirun(3, &tessera_bin(), &["mpi", "--scheduler-file"]);
    command.arg(&file);
    let done = run(command, JOB_TIMEOUT);
    let client = Client::from_scheduler_file(&file, Duration::from_secs(10));
    if let Ok(c) = &client {
        c.shutdown_cluster();
    }
    let _ = local.wait();
    assert_eq!(done.status.code(), Some(1), "{}", done.all());
    assert_eq!(
        count(&done.stderr, "belongs to a running scheduler"),
        1,
        "{}",
        done.all()
    );
    assert!(client.is_ok(), "the other cluster's file was left alone");
}

#[test]
fn real_mpi_eval_under_mpirun_runs_in_batch_mode_and_writes_netcdf() {
    if !facility(have_mpirun(), "mpirun (openmpi-bin) is not installed") {
        return;
    }
    let dir = temp_dir();
    let out = dir.path().join("colmean.nc");
    let program = "x = random((300,400), chunks=(100,100), seed=2); mean(x, axis=0)";
    let done = run(
        mpirun(
            3,
            &tessera_bin(),
            &["eval", program, "-o", &format!("{}:m", out.display())],
        ),
        Duration::from_secs(120),
    );
    assert!(done.status.success(), "{}", done.all());
    assert_eq!(
        count(&done.stdout, "wrote "),
        1,
        "one rank reports: {}",
        done.all()
    );
    // The same program on a local cluster gives the same column means as the file holds.
    let local = std::process::Command::new(tessera_bin())
        .args([
            "eval",
            &format!("nc('{}', 'm')", out.display()),
            "--output",
            "json",
        ])
        .output()
        .unwrap();
    let direct = std::process::Command::new(tessera_bin())
        .args(["eval", program, "--output", "json"])
        .output()
        .unwrap();
    assert!(
        local.status.success(),
        "{}",
        String::from_utf8_lossy(&local.stderr)
    );
    assert_eq!(local.stdout, direct.stdout);
    // A program error ends every rank with a non-zero code and is reported once.
    let bad = run(
        mpirun(
            3,
            &tessera_bin(),
            &["eval", "x = ones((3,4)); x + ones((5,))"],
        ),
        Duration::from_secs(120),
    );
    assert!(!bad.status.success());
    assert_eq!(count(&bad.stderr, "shape mismatch"), 1, "{}", bad.all());
}

#[test]
fn real_mpi_unknown_interface_exits_2_listing_the_interfaces() {
    if !have_mpirun() {
        return;
    }
    let done = run(
        mpirun(3, &tessera_bin(), &["mpi", "--interface", "nosuch0"]),
        JOB_TIMEOUT,
    );
    assert_eq!(done.status.code(), Some(2), "{}", done.all());
    assert_eq!(
        count(
            &done.stderr,
            "cannot start the scheduler: --interface nosuch0: no such network interface on this \
             host (interfaces here: "
        ),
        1,
        "{}",
        done.all()
    );
    assert!(done.stderr.contains(" lo"), "{}", done.all());
}
