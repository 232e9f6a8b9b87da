//! Job-queue clusters on the real batch systems of the test machine (one-node SLURM, Son of
//! Grid Engine, PBS syntax through SLURM's Torque wrappers): scale up, compute, scale to zero
//! with nothing left queued; the owner killed with SIGKILL; adaptive scaling; a walltime drain
//! that loses no result. Names contain `real_batch_` so they run one at a time (tests/README.md).
//! Also bad input through the CLI: refused submissions, impossible requests, bad walltimes.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tessera::deploy::jobqueue::cluster::JobQueueCluster;
use tessera::deploy::jobqueue::manager::ManagerConfig;
use tessera::deploy::jobqueue::runner::CommandRunner;
use tessera::deploy::jobqueue::{BatchSystem, JobId, JobSpec, JobState, PbsFlavour, SystemOptions};
use tessera::protocol::ScaleTarget;
use tessera::runtime::kernels_builtin::names;
use tessera::runtime::{Client, Task};

/// The batch system, or `None` after printing why it is skipped (a failure under
/// `TESSERA_TEST_STRICT`).
fn available(system: &str) -> bool {
    let up = std::env::var("TESSERA_TEST_BATCH").unwrap_or_default();
    if up.split_whitespace().any(|s| s == system) {
        return true;
    }
    let why = format!("{system} is not up (TESSERA_TEST_BATCH={up:?}; run scripts/batch/*-up.sh)");
    assert!(
        std::env::var_os("TESSERA_TEST_STRICT").is_none(),
        "TESSERA_TEST_STRICT: {why}"
    );
    eprintln!("skipped: {why}");
    false
}

fn system_of(name: &str) -> BatchSystem {
    match name {
        "slurm" => BatchSystem::Slurm,
        "pbs" => BatchSystem::Pbs,
        _ => BatchSystem::Sge,
    }
}

fn bin_dir(name: &str) -> Option<PathBuf> {
    (name == "pbs").then(|| {
        PathBuf::from(
            std::env::var("TESSERA_TEST_PBS_BIN")
                .unwrap_or_else(|_| "/opt/pbs-via-slurm/bin".into()),
        )
    })
}

fn config(name: &str, dir: &Path, walltime: Duration) -> ManagerConfig {
    let spec = JobSpec {
        cores: 1,
        memory: 2 << 30,
        walltime: Some(walltime),
        job_name: format!("tq-{name}"),
        log_directory: Some(dir.join("jobs").to_string_lossy().into_owned()),
        worker_program: env!("CARGO_BIN_EXE_tessera").to_owned(),
        system_options: SystemOptions {
            pbs_flavour: PbsFlavour::SlurmTorqueWrappers,
            ..SystemOptions::default()
        },
        // SGE turns h_vmem into `ulimit -v`, which thread stacks and allocator arenas exceed.
        directives_skip: if name == "sge" {
            vec!["h_vmem".into()]
        } else {
            vec![]
        },
        ..JobSpec::default()
    };
    let mut config =
        ManagerConfig::new(system_of(name), spec, dir.join("s.json"), dir.join("jobs"));
    config.listen_host = "127.0.0.1".into();
    config.bin_dir = bin_dir(name);
    config.poll_interval = Duration::from_millis(500);
    config.interval = Duration::from_millis(500);
    config.retire_timeout = Duration::from_secs(20);
    config
}

/// Our jobs that the batch system still has queued or running.
fn active_jobs(name: &str, ids: &[JobId]) -> Vec<JobId> {
    if ids.is_empty() {
        return vec![];
    }
    let system = system_of(name);
    let options = SystemOptions {
        pbs_flavour: PbsFlavour::SlurmTorqueWrappers,
        ..SystemOptions::default()
    };
    let runner = CommandRunner {
        bin_dir: bin_dir(name),
        ..CommandRunner::new(system)
    };
    let out = runner
        .run(&system.status_command(ids, &options))
        .expect("status command runs");
    let states = system.parse_status(&out.stdout, ids);
    ids.iter()
        .filter(|id| {
            matches!(
                states.get(*id),
                Some(JobState::Pending | JobState::Running | JobState::Unknown)
            )
        })
        .cloned()
        .collect()
}

fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?}: {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn job_ids(cluster: &mut JobQueueCluster) -> Vec<JobId> {
    cluster
        .status()
        .expect("status")
        .jobs
        .iter()
        .map(|j| JobId::new(j.id.clone()))
        .collect()
}

/// Scale to 3 workers, run a computation, scale to 0: none of our jobs stays in the queue.
fn scale_compute_scale_to_zero(name: &str) {
    if !available(name) {
        return;
    }
    let dir = common::temp_dir();
    let config = config(name, dir.path(), Duration::from_secs(600));
    let program = Path::new(env!("CARGO_BIN_EXE_tessera"));
    let mut cluster =
        JobQueueCluster::start(config, program, Duration::from_secs(30)).expect("cluster starts");
    let client = cluster.client(Duration::from_secs(10)).expect("client");
    let started = Instant::now();
    cluster.scale(3).expect("scale 3");
    client
        .wait_for_workers(3, Duration::from_secs(45))
        .expect("3 workers connect");
    eprintln!(
        "{name}: scale 3 -> 3 workers registered in {:.2?}",
        started.elapsed()
    );
    let ids = job_ids(&mut cluster);
    assert_eq!(ids.len(), 3, "three jobs of one worker each");
    let info = client.info().expect("info");
    assert!(info.workers.iter().all(|w| w.name.starts_with("jobqueue-")));
    let incs = client.map::<i64, i64>(names::INC, 0..60).expect("map");
    let total = client
        .submit::<i64>(incs.iter().fold(Task::new(names::ADD), |t, f| t.input(f)))
        .expect("submit");
    assert_eq!(total.result().expect("result"), (1..=60).sum::<i64>());
    let busy: Vec<u64> = client
        .info()
        .expect("info")
        .workers
        .iter()
        .map(|w| w.metrics.completed)
        .collect();
    eprintln!("{name}: tasks per worker {busy:?}");
    cluster.scale(0).expect("scale 0");
    wait_until(
        "no job of ours queued or running after scale 0",
        Duration::from_secs(40),
        || active_jobs(name, &ids).is_empty(),
    );
    wait_until("workers gone", Duration::from_secs(10), || {
        client.info().map(|i| i.workers.is_empty()).unwrap_or(false)
    });
    client.close();
    cluster.close().expect("close");
    assert!(
        !dir.path().join("s.json").exists(),
        "scheduler file removed"
    );
}

#[test]
fn real_batch_slurm_scale_compute_scale_to_zero() {
    scale_compute_scale_to_zero("slurm");
}

#[test]
fn real_batch_sge_scale_compute_scale_to_zero() {
    scale_compute_scale_to_zero("sge");
}

#[test]
fn real_batch_pbs_scale_compute_scale_to_zero() {
    scale_compute_scale_to_zero("pbs");
}

/// The owning client is killed with SIGKILL: the manager cancels every job.
#[test]
fn real_batch_slurm_sigkill_of_owner_cancels_its_jobs() {
    if !available("slurm") {
        return;
    }
    let dir = common::temp_dir();
    let file = dir.path().join("s.json");
    let mut owner = common::tessera()
        .args(["jobqueue", "slurm", "up", "--attach", "--workers", "2"])
        .args([
            "--host",
            "127.0.0.1",
            "--memory",
            "1GiB",
            "--walltime",
            "10m",
        ])
        .args(["--poll-interval", "500ms", "--job-name", "tq-kill"])
        .arg("--scheduler-file")
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tessera jobqueue up --attach");
    common::wait_for_file(&file, Duration::from_secs(30));
    let client = Client::from_scheduler_file(&file, Duration::from_secs(10)).expect("client");
    client
        .wait_for_workers(2, Duration::from_secs(45))
        .expect("2 workers");
    client.close();
    // The manager's scheduler serves a dashboard; `tessera top` reads it.
    let top = common::run(
        &["top", "--once", "--scheduler-file", file.to_str().unwrap()],
        Duration::from_secs(20),
    );
    let screen = String::from_utf8_lossy(&top.stdout);
    assert!(
        top.status.success() && screen.contains("workers 2 ("),
        "{top:?}"
    );
    // Its jobs are on the dashboard (the `jobqueue` panel of the view).
    let published = tessera::deploy::schedfile::SchedulerFile::read(&file).expect("file");
    let url = published.services.get("dashboard").expect("a dashboard");
    let token = tessera::dashboard::dashboard_token(&published.secret().expect("secret"));
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let body =
            tessera::dashboard::client::fetch_report_data(url, &token, Duration::from_secs(10))
                .expect("the dashboard's view");
        let view: serde_json::Value = serde_json::from_str(&body).expect("json");
        let jobs = view["panels"]["jobqueue"]["jobs"]
            .as_array()
            .map_or(0, |j| j.len());
        if jobs == 2 {
            assert_eq!(view["panels"]["jobqueue"]["system"], "slurm", "{view}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "jobs never on the dashboard: {view}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let out = common::run(
        &[
            "jobqueue",
            "status",
            "--output",
            "json",
            "--scheduler-file",
            file.to_str().unwrap(),
        ],
        Duration::from_secs(20),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let ids: Vec<JobId> = status["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .map(|j| JobId::new(j["id"].as_str().expect("id")))
        .collect();
    assert_eq!(ids.len(), 2);
    common::signal(&owner, libc::SIGKILL);
    let _ = owner.wait();
    wait_until(
        "jobs cancelled after the owner was killed",
        Duration::from_secs(30),
        || active_jobs("slurm", &ids).is_empty(),
    );
    wait_until("scheduler file removed", Duration::from_secs(10), || {
        !file.exists()
    });
}

/// Adaptive: a backlog of sleeping tasks brings workers up to the maximum; idle, they go.
#[test]
fn real_batch_slurm_adaptive_up_under_backlog_down_when_idle() {
    if !available("slurm") {
        return;
    }
    let dir = common::temp_dir();
    let mut config = config("slurm", dir.path(), Duration::from_secs(600));
    config.initial = ScaleTarget::Adaptive {
        minimum: 0,
        maximum: 3,
    };
    config.wait_count = 2;
    config.target_duration = Duration::from_secs(2);
    let program = Path::new(env!("CARGO_BIN_EXE_tessera"));
    let mut cluster =
        JobQueueCluster::start(config, program, Duration::from_secs(30)).expect("cluster");
    let status = cluster.status().expect("status");
    assert!(
        status.jobs.is_empty(),
        "idle adaptive cluster starts no job"
    );
    let client = cluster.client(Duration::from_secs(10)).expect("client");
    let seeds = client.map::<i64, i64>(names::INC, 0..40).expect("map");
    let slow: Vec<_> = seeds
        .iter()
        .map(|s| {
            client
                .submit::<i64>(Task::new(names::SLEEP).arg(500i64).input(s))
                .expect("submit")
        })
        .collect();
    // The backlog (20 s of work, 2 s target) asks for the maximum; on a loaded machine the
    // work may finish before the third job starts, so require two connected workers.
    let (mut most_jobs, mut most_workers) = (0, 0);
    wait_until(
        "the backlog asks for 3 jobs and 2 workers connect",
        Duration::from_secs(45),
        || {
            if let Ok(s) = cluster.status() {
                most_jobs = most_jobs.max(s.desired_jobs);
                most_workers = most_workers.max(s.workers);
            }
            most_jobs >= 3 && most_workers >= 2
        },
    );
    let results = client.gather(&slow).expect("gather");
    assert_eq!(results, (1..=40).collect::<Vec<i64>>());
    let ids: Vec<JobId> = job_ids(&mut cluster);
    drop(slow);
    drop(seeds);
    wait_until("idle workers retired", Duration::from_secs(40), || {
        client.info().map(|i| i.workers.is_empty()).unwrap_or(false)
    });
    wait_until("idle jobs gone", Duration::from_secs(30), || {
        active_jobs("slurm", &ids).is_empty()
    });
    let status = cluster.status().expect("status");
    assert_eq!(status.consecutive_failures, 0, "{status:?}");
    client.close();
    cluster.close().expect("close");
}

/// A short job's worker reaches its lifetime: its results move to the replacement worker the
/// manager started in time, and nothing is recomputed.
#[test]
fn real_batch_slurm_walltime_drain_loses_no_result() {
    if !available("slurm") {
        return;
    }
    let dir = common::temp_dir();
    // Lifetime = 20 s - min(5 m, 2 s) = 18 s; the replacement is due half-way.
    let config = config("slurm", dir.path(), Duration::from_secs(20));
    let program = Path::new(env!("CARGO_BIN_EXE_tessera"));
    let mut cluster =
        JobQueueCluster::start(config, program, Duration::from_secs(30)).expect("cluster");
    let client = cluster.client(Duration::from_secs(10)).expect("client");
    cluster.scale(1).expect("scale 1");
    client
        .wait_for_workers(1, Duration::from_secs(30))
        .expect("first worker");
    let first = client.info().expect("info").workers[0].clone();
    let results = client.map::<i64, i64>(names::INC, 0..25).expect("map");
    client
        .wait(&results, Some(Duration::from_secs(30)))
        .expect("computed");
    let computed = |c: &Client| c.info().expect("info").tasks.get("completed").copied();
    assert_eq!(computed(&client), Some(25));
    wait_until(
        "the first worker retired at its lifetime",
        Duration::from_secs(45),
        || {
            client
                .info()
                .map(|i| i.workers.iter().all(|w| w.id != first.id) && !i.workers.is_empty())
                .unwrap_or(false)
        },
    );
    let values = client.gather(&results).expect("gather after the drain");
    assert_eq!(values, (1..=25).collect::<Vec<i64>>());
    assert_eq!(computed(&client), Some(25), "no result was recomputed");
    client.close();
    cluster.close().expect("close");
}

/// A submission the batch system refuses: its own message, exit 1, nothing queued.
#[test]
fn real_batch_slurm_refused_submission_shows_sbatch_message() {
    if !available("slurm") {
        return;
    }
    let dir = common::temp_dir();
    let file = dir.path().join("s.json");
    let out = common::run(
        &[
            "jobqueue",
            "slurm",
            "up",
            "--workers",
            "1",
            "--host",
            "127.0.0.1",
            "--queue",
            "no-such-partition",
            "--job-name",
            "tq-refused",
            "--scheduler-file",
            file.to_str().unwrap(),
        ],
        Duration::from_secs(60),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("invalid partition"), "{stderr}");
    assert!(!file.exists());
    let queued = std::process::Command::new("squeue")
        .args(["-h", "-n", "tq-refused", "-o", "%i"])
        .output()
        .expect("squeue");
    assert!(String::from_utf8_lossy(&queued.stdout).trim().is_empty());
    // More cores than the node has: refused too (EnforcePartLimits).
    let out = common::run(
        &[
            "jobqueue",
            "slurm",
            "up",
            "--workers",
            "1",
            "--host",
            "127.0.0.1",
            "--cores",
            "64",
            "--job-name",
            "tq-refused",
            "--scheduler-file",
            file.to_str().unwrap(),
        ],
        Duration::from_secs(60),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("sbatch: error"), "{stderr}");
}

/// A missing submit command names its package; invalid walltimes are usage errors.
#[test]
fn bad_input_is_a_clear_error() {
    let dir = common::temp_dir();
    let file = dir.path().join("s.json");
    let out = common::tessera()
        .args([
            "jobqueue",
            "lsf",
            "up",
            "--workers",
            "1",
            "--host",
            "127.0.0.1",
        ])
        .arg("--scheduler-file")
        .arg(&file)
        .env("PATH", "/nonexistent")
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("bsub: command not found"), "{stderr}");
    assert!(stderr.contains("module load lsf"), "{stderr}");
    for walltime in ["0s", "-5m", "ten minutes"] {
        let flag = format!("--walltime={walltime}");
        let out = common::run(
            &["jobqueue", "slurm", "script", &flag],
            Duration::from_secs(20),
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{walltime}: {stderr}");
        assert!(stderr.contains("walltime"), "{walltime}: {stderr}");
    }
    let out = common::run(
        &[
            "jobqueue",
            "sge",
            "script",
            "--cores",
            "3",
            "--processes",
            "2",
        ],
        Duration::from_secs(20),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("multiple of processes"));
}

/// `script` prints the job script without submitting; a config table per system applies.
#[test]
fn script_prints_and_config_tables_apply_per_system() {
    let dir = common::temp_dir();
    let config = dir.path().join("tessera.toml");
    std::fs::write(
        &config,
        "[jobqueue.slurm]\nqueue = \"batch\"\ncores = 8\nmemory = \"32GiB\"\n\
         job-directive = [\"--gres=gpu:1\"]\n[jobqueue.sge]\nqueue = \"all.q\"\n",
    )
    .unwrap();
    let out = common::tessera()
        .args(["jobqueue", "slurm", "script", "--walltime", "2h"])
        .arg("--config")
        .arg(&config)
        .output()
        .expect("run");
    let script = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for line in [
        "#SBATCH -p batch",
        "#SBATCH --cpus-per-task=8",
        "#SBATCH --mem=32768M",
        "#SBATCH -t 02:00:00",
        "#SBATCH --gres=gpu:1",
        "--lifetime 6900s",
    ] {
        assert!(script.contains(line), "{line} missing:\n{script}");
    }
    let out = common::tessera()
        .args(["jobqueue", "sge", "script"])
        .arg("--config")
        .arg(&config)
        .output()
        .expect("run");
    let script = String::from_utf8_lossy(&out.stdout);
    assert!(script.contains("#$ -q all.q"), "{script}");
    assert!(!script.contains("gpu"), "{script}");
    // Environment beats the file.
    let out = common::tessera()
        .args(["jobqueue", "slurm", "script"])
        .arg("--config")
        .arg(&config)
        .env("TESSERA_JOB_QUEUE", "debug")
        .output()
        .expect("run");
    assert!(String::from_utf8_lossy(&out.stdout).contains("#SBATCH -p debug"));
}
