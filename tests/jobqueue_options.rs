//! Job-queue options that match dask-jobqueue's: extra arguments of the submit and cancel
//! commands (also through `sh -c` for LSF on stdin, run by a real shell), the shebang, SGE's
//! parallel environment, the HTCondor submit description printed by `script`, named profiles,
//! and, on the real Slurm, `up --interface --port` with submit/cancel extras and `scale --cores`
//! / `scale --memory` (named `real_batch_*`: one at a time, tests/README.md).

mod common;
mod launch;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use tessera::deploy::jobqueue::{BatchSystem, JobId, JobSpec, SystemOptions};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn spec() -> JobSpec {
    JobSpec {
        scheduler_file: Some("/home/me/s.json".into()),
        ..JobSpec::default()
    }
}

#[test]
fn submit_and_cancel_extras_go_before_the_script_and_the_ids() {
    let options = SystemOptions {
        submit_command_extra: vec!["--reservation=r1".into(), "-x".into()],
        cancel_command_extra: vec!["--signal=TERM".into()],
        ..SystemOptions::default()
    };
    let ids = [JobId::new("12"), JobId::new("13")];
    let path = Path::new("/w/job.sh");
    for system in BatchSystem::ALL {
        let plain = system.submit_command(path, &SystemOptions::default());
        let argv = system.submit_command(path, &options);
        let mut expected = plain.clone();
        let at = expected.len() - 1;
        expected.splice(at..at, ["--reservation=r1".to_owned(), "-x".to_owned()]);
        assert_eq!(argv, expected, "{system}");
        let cancel = system.cancel_command(&ids, &options);
        assert_eq!(cancel[1], "--signal=TERM", "{system}: {cancel:?}");
        assert_eq!(&cancel[2..], ["12", "13"], "{system}: {cancel:?}");
    }
}

/// LSF reading `#BSUB` lines from stdin: `sh -c 'bsub "$@" < "$0"' S EXTRA…`, run by a real
/// shell against a `bsub` that reports its arguments and its stdin.
#[test]
fn lsf_on_stdin_passes_the_script_on_stdin_and_the_extras_as_arguments() {
    let dir = common::temp_dir();
    let bsub = dir.path().join("bsub");
    std::fs::write(
        &bsub,
        "#!/bin/sh\necho \"args: $*\"\necho \"stdin: $(head -n 1)\"\n",
    )
    .expect("write bsub");
    std::fs::set_permissions(&bsub, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let script = dir.path().join("job with space.sh");
    std::fs::write(&script, "#BSUB -J tessera-worker\necho hi\n").expect("write script");
    let options = SystemOptions {
        lsf_submit_on_stdin: true,
        submit_command_extra: vec!["-app".into(), "big mem".into()],
        ..SystemOptions::default()
    };
    let argv = BatchSystem::Lsf.submit_command(&script, &options);
    let path = format!(
        "{}:{}",
        dir.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new(&argv[0])
        .args(&argv[1..])
        .env("PATH", path)
        .output()
        .expect("run sh");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "args: -app big mem\nstdin: #BSUB -J tessera-worker\n"
    );
}

#[test]
fn the_shebang_is_one_that_linux_can_run() {
    let login = JobSpec {
        shebang: "#!/bin/bash -l".into(),
        ..spec()
    };
    let script = BatchSystem::Slurm.render_script(&login).expect("render");
    assert!(script.starts_with("#!/bin/bash -l\n"), "{script}");
    for ok in [
        "#!/usr/bin/env -S bash -l",
        "#!/usr/bin/env bash",
        "#!/bin/sh",
    ] {
        let spec = JobSpec {
            shebang: ok.into(),
            ..spec()
        };
        assert!(spec.validate().is_ok(), "{ok}");
    }
    let env_l = JobSpec {
        shebang: "#!/usr/bin/env bash -l".into(),
        ..spec()
    };
    let e = env_l.validate().expect_err("env with two words");
    assert!(e.to_string().contains("#!/bin/bash -l"), "{e}");
}

#[test]
fn sge_spans_hosts_only_with_a_parallel_environment_other_than_smp() {
    let two_nodes = JobSpec {
        nodes: 2,
        cores: 4,
        ..spec()
    };
    let e = BatchSystem::Sge
        .render_script(&two_nodes)
        .expect_err("smp cannot span hosts");
    assert!(e.to_string().contains("--pe mpi"), "{e}");
    let mut mpi = two_nodes.clone();
    mpi.system_options.sge_parallel_environment = "mpi".into();
    let script = BatchSystem::Sge.render_script(&mpi).expect("mpi PE");
    assert!(script.contains("#$ -pe mpi 8\n"), "{script}");
    // The CLI flag and its alias.
    let out = common::run(
        &[
            "jobqueue", "sge", "script", "--nodes", "2", "--cores", "4", "--pe", "mpi",
        ],
        Duration::from_secs(20),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("#$ -pe mpi 8\n"));
    let out = common::run(
        &["jobqueue", "sge", "script", "--nodes", "2", "--cores", "4"],
        Duration::from_secs(20),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

#[test]
fn htcondor_script_prints_the_submit_description_and_its_executable() {
    let out = common::run(
        &[
            "jobqueue", "htcondor", "script", "--cores", "2", "--memory", "3GiB",
        ],
        Duration::from_secs(20),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let printed = text(&out.stdout);
    let description = printed
        .split("# ==> tessera-worker.sh: the executable it runs <==\n")
        .collect::<Vec<_>>();
    assert_eq!(description.len(), 2, "{printed}");
    let (sub, script) = (description[0], description[1]);
    assert!(sub.starts_with(
        "# ==> tessera-worker.sh.sub: the submit description (condor_submit tessera-worker.sh.sub) <==\n"
    ));
    for line in [
        "universe = vanilla",
        "executable = tessera-worker.sh",
        "request_cpus = 2",
        "request_memory = 3072MB",
        "queue 1",
    ] {
        assert!(sub.lines().any(|l| l == line), "{line} missing:\n{sub}");
    }
    assert!(script.starts_with("#!/usr/bin/env bash\n"), "{script}");
    assert!(script.contains(" worker --scheduler-file "), "{script}");
}

#[test]
fn options_reachable_only_from_rust_before_are_flags_and_config_keys() {
    let dir = common::temp_dir();
    let config = dir.path().join("tessera.toml");
    std::fs::write(
        &config,
        "[jobqueue.lsf]\nlsf-unit = \"gb\"\nlsf-submit-on-stdin = true\n\
         [jobqueue.big]\nnodes = 2\ncores = 4\nmpirun = \"mpiexec -n {np} -ppn {ppn}\"\n\
         worker-command = \"/opt/bin/my-worker --fast\"\nshebang = \"#!/bin/bash -l\"\n",
    )
    .expect("write config");
    let run = |args: &[&str]| {
        let out = common::tessera()
            .arg("--config")
            .arg(&config)
            .args(args)
            .output()
            .expect("run");
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        text(&out.stdout)
    };
    let lsf = run(&["jobqueue", "lsf", "script", "--memory", "8GiB"]);
    assert!(lsf.contains("#BSUB -M 8\n"), "{lsf}");
    let big = run(&["jobqueue", "pbs", "script", "--profile", "big"]);
    assert!(big.starts_with("#!/bin/bash -l\n"), "{big}");
    assert!(
        big.contains("mpiexec -n 2 -ppn 1 /opt/bin/my-worker --fast"),
        "{big}"
    );
    let flags = run(&[
        "jobqueue",
        "moab",
        "script",
        "--worker-command",
        "/opt/w  --x",
        "--epilogue",
        "echo finished",
    ]);
    assert!(flags.contains("\n/opt/w --x"), "{flags}");
    assert!(flags.trim_end().ends_with("echo finished"), "{flags}");
    // Mistakes are usage errors naming the flag.
    for (args, needle) in [
        (
            &["jobqueue", "lsf", "script", "--lsf-unit", "pb"][..],
            "--lsf-unit",
        ),
        (
            &["jobqueue", "slurm", "script", "--mpirun", " "][..],
            "--mpirun",
        ),
        (
            &["jobqueue", "slurm", "script", "--profile", "none"][..],
            "--profile none",
        ),
    ] {
        let out = common::tessera()
            .arg("--config")
            .arg(&config)
            .args(args)
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            text(&out.stderr).contains(needle),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    let out = common::run(
        &[
            "jobqueue",
            "slurm",
            "up",
            "--scheduler-file",
            "/tmp/x.json",
            "--interface",
            "nonexistent0",
        ],
        Duration::from_secs(20),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("--interface nonexistent0") && err.contains("lo"),
        "{err}"
    );
}

/// A non-loopback interface with an IPv4 address, and that address.
fn non_loopback_interface() -> (String, String) {
    let out = Command::new("ip")
        .args(["-o", "-4", "addr", "show"])
        .output()
        .expect("ip addr");
    text(&out.stdout)
        .lines()
        .find_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            let (name, address) = (words.get(1)?, words.get(3)?);
            let ip = address.split('/').next()?;
            (*name != "lo").then(|| (name.to_string(), ip.to_string()))
        })
        .expect("a non-loopback IPv4 interface")
}

/// Runs `tessera jobqueue down` when dropped, so a failed test leaves no jobs.
struct Down(PathBuf);

impl Drop for Down {
    fn drop(&mut self) {
        let _ = common::tessera()
            .args(["jobqueue", "down", "--scheduler-file"])
            .arg(&self.0)
            .output();
    }
}

fn status(file: &Path) -> serde_json::Value {
    let out = common::tessera()
        .args(["jobqueue", "status", "--output", "json", "--scheduler-file"])
        .arg(file)
        .output()
        .expect("status");
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("status JSON")
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// `up --interface IF --port P` publishes IF's address and port; the submit extra reaches
/// sbatch (the jobs carry the comment); `scale --cores` and `scale --memory` ask for the
/// workers that many threads or bytes need; `down` (with a cancel extra) leaves no job.
#[test]
fn real_batch_slurm_interface_port_extras_and_scaling_by_cores_and_memory() {
    if !launch::batch_system("slurm") {
        return;
    }
    let (interface, ip) = non_loopback_interface();
    let port = std::net::TcpListener::bind("0.0.0.0:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let dir = common::temp_dir();
    let file = dir.path().join("s.json");
    let out = common::tessera()
        .args([
            "jobqueue", "slurm", "up", "--cores", "2", "--memory", "1GiB",
        ])
        .args(["--walltime", "10m", "--interface", &interface])
        .args(["--port", &port.to_string()])
        .args(["--submit-command-extra=--comment=tessera-parity"])
        .args(["--cancel-command-extra=--quiet", "--scheduler-file"])
        .arg(&file)
        .output()
        .expect("up");
    let _down = Down(file.clone());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let published: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("scheduler file"))
            .expect("JSON");
    assert_eq!(
        published["address"].as_str(),
        Some(format!("tcp://{ip}:{port}").as_str()),
        "{published}"
    );

    // 3 cores at 2 threads per worker: 2 workers, one per job.
    let scale = |args: &[&str]| {
        let out = common::tessera()
            .args(["jobqueue", "scale"])
            .args(args)
            .arg("--scheduler-file")
            .arg(&file)
            .output()
            .expect("scale");
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    };
    scale(&["--cores", "3"]);
    wait_for("2 workers for 3 cores", || status(&file)["workers"] == 2);
    let s = status(&file);
    assert_eq!(s["target"], serde_json::json!({ "Workers": 2 }), "{s}");
    let id = s["jobs"][0]["id"].as_str().expect("a job id").to_owned();
    let job = Command::new("scontrol")
        .args(["show", "job", &id])
        .output()
        .expect("scontrol");
    assert!(
        text(&job.stdout).contains("Comment=tessera-parity"),
        "{}",
        text(&job.stdout)
    );
    // 2.5 GiB at 1 GiB per worker: 3 workers.
    scale(&["--memory", "2560MiB"]);
    wait_for("3 workers for 2.5 GiB", || status(&file)["workers"] == 3);
    let out = common::tessera()
        .args(["jobqueue", "down", "--scheduler-file"])
        .arg(&file)
        .output()
        .expect("down");
    assert!(out.status.success(), "{}", text(&out.stderr));
    wait_for("no job of the cluster left", || {
        let q = Command::new("squeue")
            .args(["-h", "-o", "%k"])
            .output()
            .expect("squeue");
        !text(&q.stdout).contains("tessera-parity")
    });
}
