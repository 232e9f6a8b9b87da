//! Several hosts on one machine (scripts/testbed.sh: `login`, `node1`, `node2` as network
//! namespaces, each with a fabric `ib0` and a management `eth0`; node2 has no default route):
//! scheduler, workers and client on different hosts with and without `--interface`, with and
//! without a default route; chunk traffic checked on the intended network with per-interface
//! byte counters; a loopback address from another host named as such; `mpirun` across hosts
//! with the TCP and MPI data transports, and batch mode.
//!
//! Tests that only start processes are `real_batch_testbed_*` (one at a time with the batch
//! tests), those that start `mpirun` are `real_mpi_testbed_*` (tests/README.md). They need
//! TESSERA_TEST_TESTBED=1 (scripts/test-env.sh sets it when the test bed is up).

mod launch;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use launch::*;

const TIMEOUT: Duration = Duration::from_secs(60);

/// `x + x.T` of a 2000 x 2000 int64 array needs chunks of one worker on the other (32 MB in
/// all); its sum is exactly 2 * (0 + 1 + ... + 3999999).
const PROGRAM: &str = "x = arange(4000000, chunks=250000).reshape((2000, 2000)); sum(x + x.T)";
const ANSWER: &str = "15999996000000";

fn testbed_up() -> bool {
    facility(
        std::env::var("TESSERA_TEST_TESTBED").is_ok_and(|v| v == "1"),
        "the multi-host test bed is not up (scripts/testbed.sh up; scripts/install.sh \
         --with-testbed)",
    )
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/testbed.sh")
}

/// `tessera ARGS` on `host`.
fn on(host: &str, args: &[&str]) -> Command {
    let mut c = Command::new(script());
    c.args(["exec", host])
        .arg(tessera_bin())
        .args(args)
        .env_remove("TESSERA_SCHEDULER_FILE")
        .env_remove("TESSERA_CONFIG")
        .env_remove("TESSERA_INTERFACE")
        .env_remove("TESSERA_HOST")
        .env("XDG_CONFIG_HOME", "/nonexistent-tessera-test-config")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// A process killed when the test ends, however it ends.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(host: &str, args: &[&str]) -> Guard {
    let mut c = on(host, args);
    c.stdout(Stdio::null()).stderr(Stdio::null());
    Guard(c.spawn().expect("spawn on the test bed"))
}

fn run_on(host: &str, args: &[&str]) -> Finished {
    run(on(host, args), TIMEOUT)
}

fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("tessera-testbed-")
        .tempdir_in("/tmp")
        .expect("tempdir in /tmp (shared by the hosts)")
}

fn wait_for(path: &Path, what: &mut Guard) {
    let deadline = Instant::now() + TIMEOUT;
    while !path.exists() {
        if let Ok(Some(status)) = what.0.try_wait() {
            panic!("ended with {status} before writing {}", path.display());
        }
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `tessera scheduler --scheduler-file FILE EXTRA…` on `host`, once its file exists.
fn scheduler_on(host: &str, file: &Path, extra: &[&str]) -> Guard {
    let mut args = vec!["scheduler", "--scheduler-file", file.to_str().unwrap()];
    args.extend(extra);
    let mut scheduler = spawn(host, &args);
    wait_for(file, &mut scheduler);
    scheduler
}

/// Each address starts with its prefix (`tcp://10.77.1.11:`), in order.
fn assert_on(addresses: &[String], prefixes: &[&str]) {
    assert_eq!(addresses.len(), prefixes.len(), "{addresses:?}");
    for (address, prefix) in addresses.iter().zip(prefixes) {
        assert!(
            address.starts_with(prefix),
            "{address} is not on {prefix}: {addresses:?}"
        );
    }
}

/// The scheduler's address in its file.
fn published(file: &Path) -> String {
    let text = std::fs::read_to_string(file).expect("scheduler file");
    let json: serde_json::Value = serde_json::from_str(&text).expect("json");
    json["address"].as_str().expect("address").to_string()
}

/// Wait until `n` workers registered; their data addresses, sorted.
fn worker_addresses(host: &str, file: &str, n: usize) -> Vec<String> {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let info = run_on(
            host,
            &["info", "--scheduler-file", file, "--output", "json"],
        );
        if info.status.success() {
            let json: serde_json::Value = serde_json::from_str(&info.stdout).expect("info json");
            let workers = json["workers"].as_array().expect("workers");
            if workers.len() == n {
                let mut addresses: Vec<String> = workers
                    .iter()
                    .map(|w| w["address"].as_str().expect("address").to_string())
                    .collect();
                addresses.sort();
                return addresses;
            }
        }
        assert!(Instant::now() < deadline, "{n} workers never registered");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Bytes received plus sent on `dev` of `host`, from `ip -s link show dev DEV`.
fn traffic(host: &str, dev: &str) -> u64 {
    let out = Command::new("ip")
        .args([
            "-n",
            &format!("tbed-{host}"),
            "-s",
            "-j",
            "link",
            "show",
            "dev",
            dev,
        ])
        .output()
        .expect("ip -s link");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("ip json");
    let stats = &json[0]["stats64"];
    stats["rx"]["bytes"].as_u64().expect("rx bytes") + stats["tx"]["bytes"].as_u64().expect("tx")
}

fn eval_on(host: &str, file: &str) -> Finished {
    let done = run_on(host, &["eval", "--scheduler-file", file, PROGRAM]);
    assert!(done.status.success(), "{}", done.all());
    assert_eq!(
        done.stdout.trim().lines().last(),
        Some(ANSWER),
        "{}",
        done.all()
    );
    done
}

fn shutdown(host: &str, file: &str) {
    let done = run_on(host, &["shutdown", "--scheduler-file", file]);
    assert!(done.status.success(), "{}", done.all());
}

#[test]
fn real_batch_testbed_three_hosts_without_flags_publish_the_default_route() {
    if !testbed_up() {
        return;
    }
    let dir = temp_dir();
    let file = dir.path().join("s.json");
    let f = file.to_str().unwrap();
    let _scheduler = scheduler_on("login", &file, &[]);
    // login's default route is on eth0: that address, never loopback
    assert!(
        published(&file).starts_with("tcp://10.77.2.10:"),
        "{}",
        published(&file)
    );
    let _w1 = spawn(
        "node1",
        &["worker", "--scheduler-file", f, "--nthreads", "1"],
    );
    // node2 has no default route: the route towards the scheduler decides (eth0)
    let _w2 = spawn(
        "node2",
        &["worker", "--scheduler-file", f, "--nthreads", "1"],
    );
    let addresses = worker_addresses("login", f, 2);
    assert_on(&addresses, &["tcp://10.77.2.11:", "tcp://10.77.2.12:"]);
    eval_on("login", f);
    shutdown("login", f);
}

#[test]
fn real_batch_testbed_no_default_route_refuses_then_interfaces_carry_the_right_traffic() {
    if !testbed_up() {
        return;
    }
    let dir = temp_dir();
    let file = dir.path().join("s.json");
    let f = file.to_str().unwrap();
    // node2: no default route, two networks: nothing to guess, one clear line, exit 2
    let refused = run_on("node2", &["scheduler", "--scheduler-file", f]);
    assert_eq!(refused.status.code(), Some(2), "{}", refused.all());
    assert_eq!(
        refused.stderr.trim(),
        "tessera: error: cannot choose the address to publish: no route towards the peers (no \
         default route) and several interfaces have addresses (ib0 10.77.1.12, eth0 \
         10.77.2.12); name the network with --interface NAME or the address with \
         --advertise-host HOST"
    );
    assert!(!file.exists());
    // The control plane on eth0, chunk data on ib0.
    let _scheduler = scheduler_on("node2", &file, &["--interface", "eth0"]);
    assert!(
        published(&file).starts_with("tcp://10.77.2.12:"),
        "{}",
        published(&file)
    );
    let worker = [
        "worker",
        "--scheduler-file",
        f,
        "--nthreads",
        "1",
        "--interface",
        "ib0",
    ];
    let _w1 = spawn("node1", &worker);
    let _w2 = spawn("login", &worker);
    let addresses = worker_addresses("node2", f, 2);
    assert_on(&addresses, &["tcp://10.77.1.10:", "tcp://10.77.1.11:"]);
    let (ib0, eth0) = (traffic("node1", "ib0"), traffic("node1", "eth0"));
    eval_on("node2", f);
    let (ib0, eth0) = (
        traffic("node1", "ib0") - ib0,
        traffic("node1", "eth0") - eth0,
    );
    // chunks of one worker went to the other: megabytes on the fabric, only control
    // messages on the management network
    assert!(ib0 > 4 << 20, "ib0 moved only {ib0} bytes (eth0 {eth0})");
    assert!(eth0 < ib0 / 8, "eth0 moved {eth0} bytes, ib0 {ib0}");
    shutdown("node2", f);
}

#[test]
fn real_batch_testbed_loopback_from_another_host_is_named_not_stale() {
    if !testbed_up() {
        return;
    }
    let dir = temp_dir();
    let file = dir.path().join("s.json");
    let f = file.to_str().unwrap();
    let _scheduler = scheduler_on("login", &file, &["--host", "127.0.0.1"]);
    let address = published(&file);
    let expected = format!(
        "tessera: error: scheduler file {f}: the scheduler on host login published loopback \
         address {address}, which cannot be reached from here; start it with --interface NAME \
         or --advertise-host HOST"
    );
    for args in [
        vec!["worker", "--scheduler-file", f, "--timeout", "10s"],
        vec!["info", "--scheduler-file", f],
    ] {
        let started = Instant::now();
        let done = run_on("node1", &args);
        assert_eq!(done.status.code(), Some(3), "{args:?}: {}", done.all());
        assert_eq!(done.stderr.trim(), expected, "{args:?}");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{args:?} took {:?}",
            started.elapsed()
        );
    }
    // On its own host the loopback address works.
    let info = run_on("login", &["info", "--scheduler-file", f]);
    assert!(info.status.success(), "{}", info.all());
    shutdown("login", f);
}

/// `mpirun` on the login host starting `ranks` on node1 and node2 through the test bed's
/// remote shell; OpenMPI's own traffic stays on eth0, its TCP byte transport on ib0.
fn mpirun_across(program: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut c = Command::new(script());
    c.args([
        "exec",
        "login",
        "mpirun",
        "--host",
        "node1:2,node2:2",
        "-np",
        "4",
    ])
    .args(["--mca", "plm_rsh_agent"])
    .arg(format!("{} rsh", script().display()))
    .args(["--mca", "oob_tcp_if_include", "eth0"])
    .args(["--mca", "btl_tcp_if_include", "ib0"])
    .args(["--mca", "btl", "self,tcp"])
    .arg(program)
    .args(args);
    job_environment(&mut c);
    for (k, v) in env {
        c.env(k, v);
    }
    c
}

fn have_tools() -> bool {
    testbed_up() && have_mpirun()
}

#[test]
fn real_mpi_testbed_cluster_across_hosts_with_tcp_and_mpi_transports() {
    if !have_tools() {
        return;
    }
    for transport in ["tcp", "mpi"] {
        let dir = temp_dir();
        let file = dir.path().join("s.json");
        let f = file.to_str().unwrap();
        let args = [
            "mpi",
            "--interface",
            "ib0",
            "--transport",
            transport,
            "--scheduler-file",
            f,
            "--nthreads",
            "1",
        ];
        let child = mpirun_across(&tessera_bin(), &args, &[])
            .spawn()
            .expect("mpirun");
        let started = Instant::now();
        while !file.exists() {
            assert!(
                started.elapsed() < TIMEOUT,
                "{transport}: no scheduler file"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        // rank 0 runs on node1: its fabric address
        assert!(
            published(&file).starts_with("tcp://10.77.1.11:"),
            "{}",
            published(&file)
        );
        let addresses = worker_addresses("login", f, 3);
        for a in &addresses {
            assert!(
                a.starts_with("tcp://10.77.1.1"),
                "{transport}: {addresses:?}"
            );
            assert_eq!(a.contains(",mpi://"), transport == "mpi", "{addresses:?}");
        }
        let ib0 = traffic("node2", "ib0");
        eval_on("login", f);
        let moved = traffic("node2", "ib0") - ib0;
        assert!(
            moved > 4 << 20,
            "{transport}: only {moved} bytes on node2's ib0"
        );
        shutdown("login", f);
        let done = finish(child, TIMEOUT);
        assert!(done.status.success(), "{transport}: {}", done.all());
    }
}

#[test]
fn real_mpi_testbed_loopback_scheduler_fails_at_once_naming_the_hosts() {
    if !have_tools() {
        return;
    }
    let dir = temp_dir();
    let file = dir.path().join("s.json");
    let args = [
        "mpi",
        "--interface",
        "lo",
        "--scheduler-file",
        file.to_str().unwrap(),
    ];
    let done = run(mpirun_across(&tessera_bin(), &args, &[]), TIMEOUT);
    assert_eq!(done.status.code(), Some(2), "{}", done.all());
    assert!(
        done.stderr.contains(
            "the scheduler on host node1 would announce the loopback address tcp://127.0.0.1:"
        ) && done.stderr.contains(
            "which ranks on other hosts cannot reach (node2: ranks 2, 3); start with --interface \
             NAME (for example the fabric's ib0) or --advertise-host HOST"
        ),
        "{}",
        done.all()
    );
    assert!(
        done.elapsed < Duration::from_secs(30),
        "took {:?}",
        done.elapsed
    );
    assert!(!file.exists());
}

#[test]
fn real_mpi_testbed_batch_mode_across_hosts() {
    if !have_tools() {
        return;
    }
    let program = example("mpi_sum");
    for transport in ["tcp", "mpi"] {
        let env = [
            ("TESSERA_INTERFACE", "ib0"),
            ("TESSERA_TRANSPORT", transport),
        ];
        let args = ["--chunks", "4", "--chunk-bytes", "1000000"];
        // the test bed's remote shell passes mpirun's environment on to every rank
        let done = run(mpirun_across(&program, &args, &env), TIMEOUT);
        assert!(done.status.success(), "{transport}: {}", done.all());
        assert!(
            done.stdout.contains(
                "mpi_sum ok: 4 chunks of 1000000 bytes on 2 workers, all bytes \
                                  and 4 checksums exact"
            ),
            "{transport}: {}",
            done.all()
        );
        let over_mpi = mpi_bytes_received(&done.stdout);
        assert_eq!(
            over_mpi >= 4_000_000,
            transport == "mpi",
            "{transport}: {over_mpi}"
        );
    }
}

/// `scripts/testbed.sh down`, `status`, `up`, `status`, `exec` as tests/README.md shows them;
/// the host's own batch systems are untouched (`scripts/batch/all.sh status` alike before and
/// after).
#[test]
fn real_batch_testbed_script_comes_down_and_up_again() {
    if !testbed_up() {
        return;
    }
    let batch_status = || {
        let out = Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/batch/all.sh"))
            .arg("status")
            .output()
            .expect("scripts/batch/all.sh status");
        // daemon lines only: load averages in the queue listing change by themselves
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.contains(": up") || l.contains(": down"))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let before = batch_status();
    let testbed = |args: &[&str]| {
        Command::new(script())
            .args(args)
            .output()
            .expect("scripts/testbed.sh")
    };
    assert!(testbed(&["down"]).status.success());
    let down = testbed(&["status"]);
    assert_eq!(down.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&down.stdout).trim(),
        "testbed: down"
    );
    let up = testbed(&["up"]);
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
    let status = testbed(&["status"]);
    assert!(status.status.success());
    let text = String::from_utf8_lossy(&status.stdout);
    for line in [
        "login: ib0 10.77.1.10/24  eth0 10.77.2.10/24   default route: 10.77.2.254",
        "node1: ib0 10.77.1.11/24  eth0 10.77.2.11/24   default route: 10.77.2.254",
        "node2: ib0 10.77.1.12/24  eth0 10.77.2.12/24   default route: none",
    ] {
        assert!(text.contains(line), "{line} missing: {text}");
    }
    let hostname = testbed(&["exec", "node2", "hostname"]);
    assert_eq!(String::from_utf8_lossy(&hostname.stdout).trim(), "node2");
    assert_eq!(batch_status(), before);
}

/// The private Slurm of the test bed (scripts/testbed.sh).
const SLURM_CONF: &str = "/run/tessera-testbed/slurm/slurm.conf";

/// `sbatch -N 2 --ntasks-per-node=2 --wait` of the srun and the mpirun job scripts on the
/// private two-node Slurm, from the login host, with the fabric named: the analysis (a
/// `tessera eval` run against the job's cluster) prints the exact answer, and the ranks are
/// on both nodes' ib0 addresses.
#[test]
fn real_batch_testbed_sbatch_two_nodes_with_the_srun_and_mpirun_scripts() {
    if !testbed_up() {
        return;
    }
    for script_name in ["slurm-srun.sbatch", "slurm-mpirun.sbatch"] {
        let dir = temp_dir();
        // the analysis is a `tessera eval` program file (the scripts run `eval -f ANALYSIS`)
        let analysis = dir.path().join("analysis.tsr");
        std::fs::write(&analysis, format!("{PROGRAM}\n")).expect("analysis program");
        let job_script = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("jobscripts")
            .join(script_name);
        let mut sbatch = Command::new(script());
        sbatch
            .args(["exec", "login", "sbatch", "--parsable", "--wait", "-N", "2"])
            .args(["--ntasks-per-node=2", "--time=5"])
            .arg(&job_script)
            .current_dir(dir.path())
            .envs(OPENMPI_ENV)
            .env("SLURM_CONF", SLURM_CONF)
            .env("TESSERA", tessera_bin())
            .env("ANALYSIS", &analysis)
            .env("TESSERA_INTERFACE", "ib0")
            .env("OMPI_MCA_btl", "self,tcp")
            .env_remove("TESSERA_SCHEDULER_FILE")
            .env_remove("TESSERA_TRANSPORT")
            .env("XDG_CONFIG_HOME", "/nonexistent-tessera-test-config")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let done = run(sbatch, Duration::from_secs(120));
        let job = done.stdout.trim().to_string();
        let output = std::fs::read_to_string(dir.path().join(format!("tessera-{job}.out")))
            .unwrap_or_default();
        assert!(
            done.status.success(),
            "{script_name}: {}\n--- job output\n{output}",
            done.all()
        );
        assert!(
            output.lines().any(|l| l.trim() == ANSWER),
            "{script_name}: no exact answer in the job output:\n{output}"
        );
        for host in ["10.77.1.11", "10.77.1.12"] {
            assert!(
                output.contains(&format!("tcp://{host}:")),
                "{script_name}: no rank on {host}:\n{output}"
            );
        }
    }
}

/// `tessera jobqueue slurm up` on the login host, whose name resolves to 127.0.1.1 there (as
/// on Debian): the scheduler file names login's routable address, the workers submitted to
/// the private Slurm register from the compute hosts, and an analysis gets the exact answer.
#[test]
fn real_batch_testbed_jobqueue_slurm_up_from_the_login_host() {
    if !testbed_up() {
        return;
    }
    let resolved = Command::new(script())
        .args(["exec", "login", "getent", "hosts", "login"])
        .output()
        .expect("getent");
    assert!(
        String::from_utf8_lossy(&resolved.stdout).starts_with("127.0.1.1"),
        "the test bed's login host must resolve its name to 127.0.1.1"
    );
    let dir = temp_dir();
    let file = dir.path().join("s.json");
    let f = file.to_str().unwrap();
    let up = |args: &[&str]| {
        let mut c = on("login", args);
        c.env("SLURM_CONF", SLURM_CONF).current_dir(dir.path());
        run(c, TIMEOUT)
    };
    let started = up(&[
        "jobqueue",
        "slurm",
        "up",
        "--workers",
        "2",
        "--memory",
        "1GiB",
        "--walltime",
        "10m",
        "--job-name",
        "tbed-jq",
        "--scheduler-file",
        f,
    ]);
    assert!(started.status.success(), "{}", started.all());
    assert!(
        published(&file).starts_with("tcp://10.77.2.10:"),
        "{}",
        published(&file)
    );
    let addresses = worker_addresses("login", f, 2);
    for a in &addresses {
        assert!(
            a.starts_with("tcp://10.77.2.11:") || a.starts_with("tcp://10.77.2.12:"),
            "{addresses:?}"
        );
    }
    eval_on("login", f);
    let down = up(&["jobqueue", "down", "--scheduler-file", f]);
    assert!(down.status.success(), "{}", down.all());
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let queued = Command::new(script())
            .args(["exec", "login", "squeue", "-h", "-n", "tbed-jq", "-o", "%i"])
            .env("SLURM_CONF", SLURM_CONF)
            .output()
            .expect("squeue");
        if String::from_utf8_lossy(&queued.stdout).trim().is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "jobs left in the queue after down"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
