//! The scripts in jobscripts/, submitted for real: Slurm (mpirun and srun --mpi=pmix, plus
//! the scheduler-file pattern of three separate jobs), PBS syntax through the Torque wrappers
//! over Slurm, and Grid Engine (a parallel environment, plus the three-job pattern). Each job
//! starts Tessera, runs examples/mpi_sum against it as `CLIENT` (or as a batch-mode `PROGRAM`)
//! and must finish with the analysis' success line and exit code 0. Without a reachable
//! `tessera`, every script stops at once with one line naming `TESSERA` (also under Grid
//! Engine's login shell, which resets `PATH`); two Grid Engine workers on one host with
//! `MEMORY=auto` share the node's memory instead of each claiming all of it. The documents'
//! `tessera eval` analyses run in tests/deployment_docs.rs.
//!
//! The batch systems are started by scripts/batch/*.sh (scripts/test.sh); `TESSERA_TEST_BATCH`
//! lists those that are up. Tests are named `real_batch_*`: one at a time (tests/README.md).

#![cfg(feature = "mpi")]

mod launch;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use launch::*;

const JOB_TIMEOUT: Duration = Duration::from_secs(180);

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("jobscripts")
        .join(name)
}

/// A world-readable work directory (jobs may run as another user on real sites).
fn work_dir() -> tempfile::TempDir {
    world_readable_dir("tessera-jobscript-")
}

/// A command with the OpenMPI test environment and the job's settings in its environment
/// (the scripts read TESSERA, ANALYSIS, PROGRAM, TESSERA_* from there).
fn submit_command(
    program: impl AsRef<std::ffi::OsStr>,
    dir: &Path,
    vars: &[(&str, String)],
) -> Command {
    let mut c = Command::new(program);
    c.current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in OPENMPI_ENV {
        c.env(k, v);
    }
    c.env("TESSERA", tessera_bin())
        .env("XDG_CONFIG_HOME", "/nonexistent-tessera-test-config")
        .env_remove("TESSERA_CONFIG")
        .env_remove("TESSERA_TRANSPORT")
        .env_remove("ANALYSIS")
        .env_remove("OUTPUT")
        .env_remove("CLIENT")
        .env_remove("PROGRAM");
    for (k, v) in vars {
        c.env(k, v);
    }
    c
}

fn output_of(mut command: Command) -> String {
    let out = command.output().expect("run submit command");
    assert!(
        out.status.success(),
        "submit failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Poll `check` until it gives a value or the job timeout passes.
fn until<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + JOB_TIMEOUT;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Final Slurm state and exit code of job `id` (`COMPLETED`, `0:0`).
fn slurm_final(id: &str) -> (String, String) {
    until(&format!("Slurm job {id} to end"), || {
        let out = Command::new("scontrol")
            .args(["show", "job", id])
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let field = |name: &str| {
            text.split_whitespace()
                .find_map(|w| w.strip_prefix(name).map(str::to_string))
        };
        let state = field("JobState=")?;
        if matches!(
            state.as_str(),
            "PENDING" | "RUNNING" | "CONFIGURING" | "COMPLETING"
        ) {
            return None;
        }
        Some((state, field("ExitCode=").unwrap_or_default()))
    })
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| format!("<cannot read {}: {e}>", path.display()))
}

/// examples/mpi_sum as the jobs' client (it waits for the workers the script waited for).
fn analysis_vars(dir: &Path) -> Vec<(&'static str, String)> {
    vec![
        ("CLIENT", example("mpi_sum").display().to_string()),
        (
            "TESSERA_SCHEDULER_FILE",
            dir.join("scheduler.json").display().to_string(),
        ),
    ]
}

/// Submit an sbatch script, wait for it, and return its output file's text.
fn sbatch(name: &str, dir: &Path, vars: &[(&str, String)]) -> String {
    let out = dir.join(format!("{name}.out"));
    let mut c = submit_command("sbatch", dir, vars);
    c.args(["--parsable", "--export=ALL", "-o"])
        .arg(&out)
        .arg(script(name));
    let id = output_of(c);
    let (state, exit) = slurm_final(&id);
    let text = read(&out);
    assert_eq!(
        (state.as_str(), exit.as_str()),
        ("COMPLETED", "0:0"),
        "job {id} ({name}):\n{text}"
    );
    text
}

#[test]
fn real_batch_slurm_mpirun_script_runs_cluster_and_analysis() {
    if !batch_system("slurm") {
        return;
    }
    let dir = work_dir();
    let text = sbatch(
        "slurm-mpirun.sbatch",
        dir.path(),
        &analysis_vars(dir.path()),
    );
    assert!(text.contains("rank-3"), "{text}");
    assert!(text.contains("mpi_sum ok: 6 chunks"), "{text}");
    assert!(text.contains("on 3 workers"), "{text}");
}

#[test]
fn real_batch_slurm_srun_script_runs_cli_and_batch_mode() {
    if !batch_system("slurm") {
        return;
    }
    let dir = work_dir();
    let text = sbatch("slurm-srun.sbatch", dir.path(), &analysis_vars(dir.path()));
    assert!(text.contains("mpi_sum ok: 6 chunks"), "{text}");
    // Batch mode under srun, chunk data over MPI.
    let vars = vec![
        ("PROGRAM", example("mpi_sum").display().to_string()),
        ("TESSERA_TRANSPORT", "mpi".to_string()),
    ];
    let text = sbatch("slurm-srun.sbatch", dir.path(), &vars);
    assert!(text.contains("mpi_sum ok: 6 chunks"), "{text}");
    assert!(text.contains("on 2 workers"), "{text}");
    assert!(!text.contains("received over MPI: 0 bytes"), "{text}");
}

#[test]
fn real_batch_pbs_mpirun_script_runs_cluster_and_analysis() {
    if !batch_system("pbs") {
        return;
    }
    let bin = PathBuf::from(
        std::env::var("TESSERA_TEST_PBS_BIN").unwrap_or_else(|_| "/opt/pbs-via-slurm/bin".into()),
    );
    let dir = work_dir();
    let out = dir.path().join("pbs.out");
    let mut c = submit_command(bin.join("qsub"), dir.path(), &analysis_vars(dir.path()));
    c.arg("-V")
        .arg("-o")
        .arg(&out)
        .arg(script("pbs-mpirun.pbs"));
    let id = output_of(c);
    let id = id.split('.').next().unwrap_or_default().to_string();
    // The wrappers' qstat has no exit status; the job is a Slurm job underneath.
    let (state, exit) = slurm_final(&id);
    let text = read(&out);
    assert_eq!(
        (state.as_str(), exit.as_str()),
        ("COMPLETED", "0:0"),
        "{text}"
    );
    assert!(text.contains("mpi_sum ok: 6 chunks"), "{text}");
    assert!(text.contains("on 3 workers"), "{text}");
}

/// `qsub -sync y` a Grid Engine script; returns its exit code and output.
fn sge_sync(name: &str, dir: &Path, vars: &[(&str, String)], extra: &[&str]) -> (i32, String) {
    let out = dir.join(format!("{name}.out"));
    let mut c = submit_command("/usr/bin/qsub", dir, vars);
    c.args(["-sync", "y", "-V", "-o"])
        .arg(&out)
        .args(extra)
        .arg(script(name));
    let finished = run(c, JOB_TIMEOUT);
    (finished.status.code().unwrap_or(-1), read(&out))
}

#[test]
fn real_batch_sge_mpirun_script_runs_cluster_and_analysis() {
    if !batch_system("sge") {
        return;
    }
    let dir = work_dir();
    let (code, text) = sge_sync(
        "sge-mpirun.sge",
        dir.path(),
        &analysis_vars(dir.path()),
        &[],
    );
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("mpi_sum ok: 6 chunks"), "{text}");
    assert!(text.contains("on 3 workers"), "{text}");
    // Batch mode in the same parallel environment.
    let vars = vec![("PROGRAM", example("mpi_sum").display().to_string())];
    let (code, text) = sge_sync("sge-mpirun.sge", dir.path(), &vars, &[]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("on 2 workers"), "{text}");
}

#[test]
fn real_batch_slurm_scheduler_file_pattern_of_three_jobs() {
    if !batch_system("slurm") {
        return;
    }
    let dir = work_dir();
    let d = dir.path();
    let vars = analysis_vars(d);
    let submit = |name: &str, out: &str| {
        let mut c = submit_command("sbatch", d, &vars);
        c.args(["--parsable", "--export=ALL", "-o"])
            .arg(d.join(out))
            .arg(script(name));
        output_of(c)
    };
    let scheduler = submit("slurm-scheduler.sbatch", "scheduler.out");
    let workers = submit("slurm-workers.sbatch", "worker-%a.out");
    let client = submit("slurm-client.sbatch", "client.out");
    let (state, exit) = slurm_final(&client);
    let text = read(&d.join("client.out"));
    assert_eq!(
        (state.as_str(), exit.as_str()),
        ("COMPLETED", "0:0"),
        "{text}"
    );
    assert!(text.contains("mpi_sum ok: 6 chunks"), "{text}");
    assert!(
        text.contains("worker-1") && text.contains("worker-2"),
        "{text}"
    );
    // The client's shutdown ends the scheduler and both array tasks cleanly.
    let (state, exit) = slurm_final(&scheduler);
    assert_eq!(
        (state.as_str(), exit.as_str()),
        ("COMPLETED", "0:0"),
        "{}",
        read(&d.join("scheduler.out"))
    );
    for task in 1..=2 {
        let (state, exit) = slurm_final(&format!("{workers}_{task}"));
        assert_eq!(
            (state.as_str(), exit.as_str()),
            ("COMPLETED", "0:0"),
            "{}",
            read(&d.join(format!("worker-{task}.out")))
        );
    }
}

#[test]
fn real_batch_sge_scheduler_file_pattern_of_three_jobs() {
    if !batch_system("sge") {
        return;
    }
    let dir = work_dir();
    let d = dir.path();
    let vars = analysis_vars(d);
    let submit_async = |name: &str, out: &str| {
        let mut c = submit_command("/usr/bin/qsub", d, &vars);
        c.args(["-terse", "-V", "-o"])
            .arg(d.join(out))
            .arg(script(name));
        output_of(c)
    };
    let _scheduler = submit_async("sge-scheduler.sge", "scheduler.out");
    let _workers = submit_async("sge-workers.sge", "worker-$TASK_ID.out");
    let (code, text) = sge_sync("sge-client.sge", d, &vars, &[]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("mpi_sum ok: 6 chunks"), "{text}");
    // MEMORY=auto: both workers run on this one host; together they stay within its memory.
    let node = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            let kib = m.lines().find_map(|l| l.strip_prefix("MemTotal:"))?;
            kib.split_whitespace().next()?.parse::<f64>().ok()
        })
        .expect("MemTotal")
        * 1024.0;
    let limits = [
        worker_limit(&text, "worker-1"),
        worker_limit(&text, "worker-2"),
    ];
    assert!(
        limits.iter().all(|l| *l > 0.0 && *l <= node / 2.0),
        "limits {limits:?} of a {node} byte node:\n{text}"
    );
    // After the client's shutdown the scheduler and both workers leave the queue.
    until("the scheduler and worker jobs to finish", || {
        let out = Command::new("/usr/bin/qstat").output().ok()?;
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        (!text.contains("tessera-sc") && !text.contains("tessera-wo")).then_some(())
    });
    let scheduler_log = read(&d.join("scheduler.out"));
    assert!(!scheduler_log.contains("error"), "{scheduler_log}");
}

/// Every script, run where no `tessera` can be found (or `TESSERA` names a missing file), stops
/// at once with one line on stderr naming the variable to set, exit code 127.
#[test]
fn scripts_without_tessera_stop_at_once_naming_the_variable() {
    let home = work_dir();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("jobscripts");
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("list jobscripts")
        .map(|e| e.expect("entry").path())
        .collect();
    scripts.sort();
    assert!(scripts.len() >= 10, "{scripts:?}");
    for tessera in [None, Some("/nonexistent/bin/tessera")] {
        for script in &scripts {
            let mut c = Command::new("bash");
            c.arg(script)
                .current_dir(home.path())
                .env_clear()
                .env("PATH", "/usr/bin:/bin")
                .env("HOME", home.path())
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            if let Some(path) = tessera {
                c.env("TESSERA", path);
            }
            let finished = run(c, Duration::from_secs(10));
            let name = script.file_name().expect("name").to_string_lossy();
            assert_eq!(
                finished.status.code(),
                Some(127),
                "{name}: {}",
                finished.stderr
            );
            assert!(
                finished.elapsed < Duration::from_secs(5),
                "{name} took {:?}",
                finished.elapsed
            );
            let lines: Vec<&str> = finished.stderr.lines().collect();
            assert_eq!(lines.len(), 1, "{name}: {}", finished.stderr);
            assert!(
                lines[0].starts_with(&format!("{name}: no tessera binary at "))
                    && lines[0].contains("set TESSERA to its absolute path"),
                "{}",
                lines[0]
            );
            assert!(finished.stdout.is_empty(), "{name}: {}", finished.stdout);
        }
    }
}

/// Grid Engine starts bash as a login shell whose /etc/profile resets PATH, so `qsub -V` with
/// `tessera` on the submitter's PATH but no TESSERA fails in the job, at once and clearly.
#[test]
fn real_batch_sge_login_shell_without_tessera_fails_fast_naming_the_variable() {
    if !batch_system("sge") {
        return;
    }
    let dir = work_dir();
    let bin_dir = tessera_bin().parent().expect("bin dir").to_path_buf();
    let path = std::env::join_paths(std::iter::once(bin_dir).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .expect("PATH");
    let vars = vec![("PATH", path.to_string_lossy().into_owned())];
    let out = dir.path().join("client.out");
    let mut c = submit_command("/usr/bin/qsub", dir.path(), &vars);
    c.env_remove("TESSERA")
        .args(["-sync", "y", "-V", "-o"])
        .arg(&out)
        .arg(script("sge-client.sge"));
    let finished = run(c, JOB_TIMEOUT);
    let text = read(&out);
    assert_eq!(
        finished.status.code(),
        Some(127),
        "{text}{}",
        finished.stdout
    );
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(
        text.starts_with("sge-client.sge: no tessera binary at ")
            && text.contains("set TESSERA to its absolute path"),
        "{text}"
    );
    assert!(
        finished.elapsed < Duration::from_secs(60),
        "{:?}",
        finished.elapsed
    );
}

/// The LIMIT column of `tessera info` for worker `name`, in bytes.
fn worker_limit(info: &str, name: &str) -> f64 {
    let line = info
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some(name))
        .unwrap_or_else(|| panic!("no row for {name} in:\n{info}"));
    let words: Vec<&str> = line.split_whitespace().collect();
    let value: f64 = words[4].parse().expect("a number");
    let unit = match words[5] {
        "B" => 1.0,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        other => panic!("unit {other} in {line}"),
    };
    value * unit
}
