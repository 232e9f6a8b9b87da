//! SLURM: `#SBATCH` scripts, `sbatch --parsable`, `squeue -t all`, `scancel`.
//!
//! Pure text in, text out; this module must not run any command.

use std::collections::HashMap;
use std::path::Path;

use super::launch::{launch_lines, Launcher};
use super::resources::{slurm_time, units_ceil, MIB};
use super::script::{assemble, directive_block};
use super::spec::{JobSpec, JobSpecError};
use super::status::{command_with_ids, parse_id_state_lines, JobId, JobState};
use super::submit_output::{first_form_found, is_name, leading_digits, SubmitParseError};

/// The job script: `-J`, `-o/-e` (`%j`, arrays `%A_%a`), `-p`, `-A`, `-N`, `-n`,
/// `--ntasks-per-node`, `--cpus-per-task`, `--mem` (MiB per node, rounded up), `-t`,
/// `--array=0-(N-1)`; workers start with `srun` when the job has more than one.
pub fn render_script(spec: &JobSpec) -> Result<String, JobSpecError> {
    spec.validate()?;
    let mut d = vec![format!("-J {}", spec.job_name)];
    if let Some(dir) = &spec.log_directory {
        let pattern = if spec.array_tasks().is_some() {
            "%A_%a"
        } else {
            "%j"
        };
        d.push(format!("-o {dir}/{}-{pattern}.out", spec.job_name));
        d.push(format!("-e {dir}/{}-{pattern}.err", spec.job_name));
    }
    if let Some(queue) = &spec.queue {
        d.push(format!("-p {queue}"));
    }
    if let Some(account) = &spec.account {
        d.push(format!("-A {account}"));
    }
    d.push(format!("-N {}", spec.nodes));
    d.push(format!("-n {}", spec.workers_per_job()));
    d.push(format!("--ntasks-per-node={}", spec.processes));
    d.push(format!("--cpus-per-task={}", spec.threads_per_worker()));
    d.push(format!("--mem={}M", units_ceil(spec.memory, MIB)));
    if let Some(walltime) = spec.walltime {
        d.push(format!("-t {}", slurm_time(walltime)));
    }
    if let Some(n) = spec.array_tasks() {
        d.push(format!("--array=0-{}", n - 1));
    }
    let directives = directive_block("#SBATCH", d, spec);
    Ok(assemble(
        spec,
        &directives,
        &[],
        &launch_lines(spec, Launcher::Srun),
    ))
}

/// `sbatch --parsable <script>`.
pub fn submit_command(script: &Path) -> Vec<String> {
    vec![
        "sbatch".to_owned(),
        "--parsable".to_owned(),
        script.to_string_lossy().into_owned(),
    ]
}

/// The id from `sbatch` output: `Submitted batch job N` (optionally after `sbatch: `, optionally
/// followed by ` on cluster C`), or a bare `N` / `N;cluster` line (`--parsable`; the cluster is
/// dropped).
pub fn parse_submit_output(stdout: &str) -> Result<JobId, SubmitParseError> {
    let sentence = |line: &str| {
        let rest = line.strip_prefix("sbatch: ").unwrap_or(line);
        let rest = rest.strip_prefix("Submitted batch job ")?;
        let (id, tail) = leading_digits(rest)?;
        let tail_ok = tail.is_empty() || tail.strip_prefix(" on cluster ").is_some_and(is_name);
        tail_ok.then(|| id.to_owned())
    };
    let parsable = |line: &str| {
        let (id, tail) = leading_digits(line)?;
        let tail_ok = tail.is_empty() || tail.strip_prefix(';').is_some_and(is_name);
        tail_ok.then(|| id.to_owned())
    };
    first_form_found(stdout, &[&sentence, &parsable])
        .map(JobId::new)
        .ok_or_else(|| {
            SubmitParseError::new(
                "slurm",
                "sbatch --parsable",
                "`Submitted batch job 123` or `123`",
                stdout,
            )
        })
}

/// `squeue -h -t all -j ID,ID -o "%i %T"` (all states, so finished jobs show for `MinJobAge`).
pub fn status_command(ids: &[JobId]) -> Vec<String> {
    let mut argv: Vec<String> = ["squeue", "-h", "-t", "all"].map(str::to_owned).to_vec();
    if !ids.is_empty() {
        let list: Vec<&str> = ids.iter().map(JobId::as_str).collect();
        argv.extend(["-j".to_owned(), list.join(",")]);
    }
    argv.extend(["-o".to_owned(), "%i %T".to_owned()]);
    argv
}

/// A SLURM state name (`%T`) as a [`JobState`].
pub fn job_state(name: &str) -> JobState {
    match name {
        "PENDING" | "CONFIGURING" | "REQUEUED" | "REQUEUE_HOLD" | "REQUEUE_FED"
        | "RESV_DEL_HOLD" | "SUSPENDED" | "STOPPED" => JobState::Pending,
        "RUNNING" | "COMPLETING" | "RESIZING" | "SIGNALING" | "STAGE_OUT" => JobState::Running,
        "COMPLETED" => JobState::Finished,
        "FAILED" | "TIMEOUT" | "NODE_FAIL" | "OUT_OF_MEMORY" | "BOOT_FAIL" | "DEADLINE"
        | "PREEMPTED" | "SPECIAL_EXIT" => JobState::Failed,
        "CANCELLED" | "REVOKED" => JobState::Cancelled,
        other if other.starts_with("CANCELLED") => JobState::Cancelled,
        _ => JobState::Unknown,
    }
}

/// States from `squeue -o "%i %T"` lines (`123 RUNNING`, `123_4 COMPLETED`,
/// `123_[5-9] PENDING`); array tasks are combined into their job.
pub fn parse_status(stdout: &str, ids: &[JobId]) -> HashMap<JobId, JobState> {
    parse_id_state_lines(stdout, ids, job_state, |_| true)
}

/// `scancel ID…`.
pub fn cancel_command(ids: &[JobId]) -> Vec<String> {
    command_with_ids("scancel", ids)
}
