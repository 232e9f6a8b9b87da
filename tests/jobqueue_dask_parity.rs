//! Our job scripts next to dask-jobqueue's for the same parameters, directive by directive.
//!
//! For two parameter sets (8 cores, 2 workers, 32 GiB, 2 h, queue and account; 1 core, 4 GiB,
//! 30 min) and each batch system, dask-jobqueue (from `TESSERA_TEST_PYTHON`, installed by
//! `scripts/install.sh --with-python`) renders its job script and `tessera jobqueue SYSTEM
//! script` renders ours. Every directive line of either must be the same in the other, or be
//! listed in [`DIFFERENCES`] (a dask line and what we write instead, with why) or
//! [`ADDITIONS`] (a line only we write, with why). docs/jobqueue.md shows the same table.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// A dask-jobqueue line (a trailing `*` matches any rest) and our line instead (`None`: we
/// write nothing for it), with the reason.
const DIFFERENCES: &[(&str, &str, Option<&str>, &str)] = &[
    ("slurm", "#SBATCH -n 1", Some("#SBATCH -n 2"), "one Slurm task per worker, started by srun, where dask runs one task with --nworkers"),
    ("slurm", "#SBATCH --cpus-per-task=8", Some("#SBATCH --cpus-per-task=4"), "cores per task = threads per worker (same reason)"),
    ("slurm", "#SBATCH --mem=32G", Some("#SBATCH --mem=32768M"), "the same amount; MiB rounded up, so sizes that are not whole GiB are never under-asked"),
    ("slurm", "#SBATCH --mem=4G", Some("#SBATCH --mem=4096M"), "the same amount, in MiB"),
    ("pbs", "#PBS -l select=1:ncpus=8:mem=32GB", Some("#PBS -l select=1:ncpus=8:mpiprocs=2:mem=32gb"), "mpiprocs = workers per node, so the launcher starts one process per worker; PBS reads gb and GB alike (2^30)"),
    ("pbs", "#PBS -l select=1:ncpus=1:mem=4096MB", Some("#PBS -l select=1:ncpus=1:mem=4gb"), "the same 4 GiB, written in whole gb"),
    ("lsf", "#BSUB -P \"proj42\"", Some("#BSUB -P proj42"), "LSF reads both; our values cannot contain spaces (validated)"),
    ("lsf", "#BSUB -M 34359739", Some("#BSUB -M 32768"), "dask writes kilobytes of 1000 bytes; LSF units are powers of 1024 and LSF_UNIT_FOR_LIMITS is per site (--lsf-unit, default MB)"),
    ("lsf", "#BSUB -M 4294968", Some("#BSUB -M 4096"), "as above"),
    ("moab", "#PBS -N tessera-worker", Some("#MSUB -N tessera-worker"), "msub reads #MSUB lines natively; dask's MoabJob reuses its PBS renderer"),
    ("moab", "#PBS -q batch", Some("#MSUB -q batch"), "as above"),
    ("moab", "#PBS -A proj42", Some("#MSUB -A proj42"), "as above"),
    ("moab", "#PBS -l select=1:ncpus=8:mem=32GB", Some("#MSUB -l nodes=1:ppn=8,walltime=02:00:00,pmem=4gb"), "Moab's resource syntax (nodes:ppn, pmem per processor); select= is PBS Pro's"),
    ("moab", "#PBS -l walltime=02:00:00", Some("#MSUB -l nodes=1:ppn=8,walltime=02:00:00,pmem=4gb"), "the walltime is in the same -l list"),
    ("moab", "#PBS -l select=1:ncpus=1:mem=4096MB", Some("#MSUB -l nodes=1:ppn=1,walltime=00:30:00,pmem=4gb"), "as above"),
    ("moab", "#PBS -l walltime=00:30:00", Some("#MSUB -l nodes=1:ppn=1,walltime=00:30:00,pmem=4gb"), "as above"),
    ("htcondor", "MY.DaskWorkerName = *", None, "the manager names workers (--name jobqueue-N)"),
    ("htcondor", "RequestCpus = MY.DaskWorkerCores", Some("request_cpus = 8"), "the same value written directly (HTCondor keywords ignore case)"),
    ("htcondor", "RequestMemory = floor(MY.DaskWorkerMemory / 1048576)", Some("request_memory = 32768MB"), "the same MiB written directly"),
    ("htcondor", "RequestDisk = floor(MY.DaskWorkerDisk / 1024)", None, "no disk request (dask requires one); workers spill to --local-directory"),
    ("htcondor", "MY.JobId = *", None, "used by dask only to name workers"),
    ("htcondor", "MY.DaskWorkerCores = 8", None, "an input of dask's RequestCpus expression"),
    ("htcondor", "MY.DaskWorkerMemory = 34359738368", None, "an input of dask's RequestMemory expression"),
    ("htcondor", "MY.DaskWorkerDisk = *", None, "an input of dask's RequestDisk expression"),
    ("htcondor", "Arguments = *", Some("executable = tessera-worker.sh"), "the worker command is a script of its own (printed after the description), not quoted into Arguments"),
    ("htcondor", "Executable = /bin/sh", Some("executable = tessera-worker.sh"), "as above"),
    ("htcondor", "Queue", Some("queue 1"), "the number of jobs stated (array_size)"),
];

/// Lines only we write (a trailing `*` matches any rest), with the reason.
const ADDITIONS: &[(&str, &str, &str)] = &[
    ("slurm", "#SBATCH -N 1", "the nodes of the job stated (--nodes)"),
    ("slurm", "#SBATCH --ntasks-per-node=*", "workers per node, for srun"),
    ("sge", "#$ -S /bin/bash", "a queue in posix_compliant mode would otherwise run the script with its default shell"),
    ("sge", "#$ -pe smp 8", "the slots the worker threads use; dask leaves them to resource_spec (one slot)"),
    ("sge", "#$ -l h_vmem=*", "memory per slot as Grid Engine counts it; dask leaves memory to resource_spec (--sge-memory-resource, --directive-skip to drop)"),
    ("lsf", "#BSUB -R \"rusage[mem=*", "reserves the memory where the site schedules on rusage; -M alone only limits"),
    ("lsf", "#BSUB -R \"span[hosts=1]\"", "one host per job for one core too (dask writes it only for several)"),
    ("htcondor", "universe = vanilla", "stated rather than left to the pool's default"),
    ("htcondor", "+MaxRuntime = *", "the walltime, where the pool's policy reads it (dask's HTCondorJob has none)"),
    ("htcondor", "output = *", "job logs named after the job (--log-directory)"),
    ("htcondor", "error = *", "as above"),
    ("htcondor", "log = *", "as above"),
];

const DASK: &str = r#"
import json, sys
import warnings
warnings.simplefilter("ignore")
from dask_jobqueue.slurm import SLURMJob
from dask_jobqueue.pbs import PBSJob
from dask_jobqueue.sge import SGEJob
from dask_jobqueue.lsf import LSFJob
from dask_jobqueue.oar import OARJob
from dask_jobqueue.moab import MoabJob
from dask_jobqueue.htcondor import HTCondorJob
systems = {"slurm": SLURMJob, "pbs": PBSJob, "sge": SGEJob, "lsf": LSFJob, "oar": OARJob, "moab": MoabJob, "htcondor": HTCondorJob}
sets = {
    "big": dict(cores=8, processes=2, memory="32GiB", walltime="02:00:00", queue="batch", account="proj42"),
    "small": dict(cores=1, processes=1, memory="4GiB", walltime="00:30:00"),
}
out = {}
for name, cls in systems.items():
    for set_name, params in sets.items():
        kw = dict(params, name="tessera-worker", job_name="tessera-worker")
        if name in ("sge", "lsf", "oar") and "account" in kw:
            kw["project"] = kw.pop("account")
        if name == "lsf":
            kw["walltime"] = kw["walltime"][:5]
        if name == "htcondor":
            if set_name != "big":
                continue
            for k in ("queue", "account", "walltime"):
                kw.pop(k, None)
            kw["disk"] = "1GB"
        script = cls(scheduler="tcp://127.0.0.1:8786", **kw).job_script()
        out[f"{name} {set_name}"] = script
json.dump(out, sys.stdout)
"#;

fn python() -> Option<PathBuf> {
    let strict = std::env::var_os("TESSERA_TEST_STRICT").is_some();
    let skip = |why: &str| {
        assert!(!strict, "TESSERA_TEST_STRICT: {why}");
        eprintln!("skipped: {why}");
        None
    };
    let Some(py) = std::env::var_os("TESSERA_TEST_PYTHON").map(PathBuf::from) else {
        return skip("TESSERA_TEST_PYTHON is not set (scripts/install.sh --with-python)");
    };
    let ok = Command::new(&py)
        .args(["-c", "import dask_jobqueue"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        return skip(
            "dask-jobqueue is missing in TESSERA_TEST_PYTHON (scripts/install.sh --with-python)",
        );
    }
    Some(py)
}

fn ours(system: &str, set: &str) -> String {
    let mut args = vec!["jobqueue", system, "script", "--job-name", "tessera-worker"];
    match set {
        "big" => args.extend([
            "--cores",
            "8",
            "--processes",
            "2",
            "--memory",
            "32GiB",
            "--walltime",
            "2h",
            "--queue",
            "batch",
            "--account",
            "proj42",
        ]),
        _ => args.extend(["--cores", "1", "--memory", "4GiB", "--walltime", "30m"]),
    }
    if system == "htcondor" {
        args.retain(|a| !["--queue", "batch", "--account", "proj42"].contains(a));
    }
    let out = common::run(&args, Duration::from_secs(30));
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The directive lines of a script: for HTCondor the submit description's lines, otherwise the
/// lines starting with the system's prefix.
fn directives(system: &str, script: &str, dask: bool) -> Vec<String> {
    let lines = script.lines().map(str::trim_end);
    if system == "htcondor" {
        let description = if dask {
            script
        } else {
            script
                .split("# ==> tessera-worker.sh:")
                .next()
                .unwrap_or_default()
        };
        return description
            .lines()
            .map(str::trim_end)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_owned)
            .collect();
    }
    let prefix = match system {
        "slurm" => "#SBATCH",
        "pbs" => "#PBS",
        "sge" => "#$",
        "lsf" => "#BSUB",
        "oar" => "#OAR",
        _ => "#MSUB",
    };
    let prefix = if dask && system == "moab" {
        "#PBS"
    } else {
        prefix
    };
    lines
        .filter(|l| l.starts_with(prefix))
        .map(str::to_owned)
        .collect()
}

fn matches(pattern: &str, line: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => line.starts_with(prefix),
        None => line == pattern,
    }
}

#[test]
fn directives_match_dask_jobqueue_line_by_line_or_differ_for_a_stated_reason() {
    let Some(py) = python() else { return };
    let out = Command::new(&py)
        .args(["-c", DASK])
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let scripts: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&out.stdout).expect("JSON from the dask script");
    assert_eq!(scripts.len(), 13, "{:?}", scripts.keys());
    let mut used: BTreeSet<String> = BTreeSet::new();
    let mut identical = 0;
    for (key, dask_script) in &scripts {
        let (system, set) = key.split_once(' ').expect("system and set");
        let theirs = directives(system, dask_script.as_str().expect("text"), true);
        let ours_text = ours(system, set);
        let ours = directives(system, &ours_text, false);
        assert!(!theirs.is_empty() && !ours.is_empty(), "{key}");
        let mut accounted: BTreeSet<&str> = BTreeSet::new();
        for line in &theirs {
            if ours.contains(line) {
                accounted.insert(line);
                identical += 1;
                continue;
            }
            let difference = DIFFERENCES
                .iter()
                .find(|(s, pattern, _, _)| *s == system && matches(pattern, line))
                .unwrap_or_else(|| {
                    panic!("{key}: dask writes {line:?}, we do not and no reason is listed\nours:\n{ours_text}")
                });
            used.insert(format!("{system} {}", difference.1));
            if let Some(instead) = difference.2 {
                assert!(
                    ours.iter().any(|l| l == instead),
                    "{key}: instead of {line:?} we should write {instead:?}\nours:\n{ours_text}"
                );
                accounted.insert(instead);
            }
        }
        for line in &ours {
            if accounted.contains(line.as_str()) {
                continue;
            }
            let addition = ADDITIONS
                .iter()
                .find(|(s, pattern, _)| *s == system && matches(pattern, line))
                .unwrap_or_else(|| {
                    panic!("{key}: we write {line:?}, dask does not and no reason is listed\ndask:\n{}", dask_script.as_str().unwrap_or_default())
                });
            used.insert(format!("{system} {}", addition.1));
        }
    }
    // Every listed difference still happens (a stale entry would hide nothing, but mislead).
    for (system, pattern, _, _) in DIFFERENCES {
        assert!(
            used.contains(&format!("{system} {pattern}")),
            "unused difference {system} {pattern:?}"
        );
    }
    for (system, pattern, _) in ADDITIONS {
        assert!(
            used.contains(&format!("{system} {pattern}")),
            "unused addition {system} {pattern:?}"
        );
    }
    assert!(identical >= 25, "only {identical} identical lines");
}
