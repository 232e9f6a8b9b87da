//! HTCondor: a submit description (`condor_submit`) plus a wrapper script holding the worker
//! command, `condor_q -af ClusterId JobStatus`, `condor_rm`.
//!
//! The vanilla universe runs each job on one machine and has no queues: multi-node jobs and a
//! `queue` are rejected. `account` becomes `accounting_group`, walltime `+MaxRuntime` (seconds;
//! honoured where the pool's policy reads it). Pure text in, text out; this module must not run
//! any command.

use std::collections::HashMap;
use std::path::Path;

use super::launch::{launch_lines, Launcher};
use super::resources::{seconds_ceil, units_ceil, MIB};
use super::script::{assemble, directive_block};
use super::spec::{JobSpec, JobSpecError};
use super::status::{command_with_ids, parse_id_state_lines, JobId, JobState};
use super::submit_output::{first_form_found, leading_digits, SubmitParseError};

fn check(spec: &JobSpec) -> Result<(), JobSpecError> {
    spec.validate()?;
    if spec.nodes > 1 {
        return Err(JobSpecError::Unsupported {
            system: "htcondor",
            field: "nodes",
            reason: "a vanilla-universe job runs on one machine; submit more jobs instead",
        });
    }
    if spec.queue.is_some() {
        return Err(JobSpecError::Unsupported {
            system: "htcondor",
            field: "queue",
            reason: "HTCondor has no queues; select machines with a `requirements = …` \
                     line in extra_directives",
        });
    }
    Ok(())
}

/// The wrapper script the submit description runs: environment, prologue, workers, epilogue
/// (no directives; those are in [`render_submit_description`]).
pub fn render_script(spec: &JobSpec) -> Result<String, JobSpecError> {
    check(spec)?;
    Ok(assemble(
        spec,
        &[],
        &[],
        &launch_lines(spec, Launcher::Mpirun),
    ))
}

/// The submit description running `script_path`: `universe = vanilla`, `executable`,
/// `batch_name`, `request_cpus`, `request_memory` (MiB rounded up), `+MaxRuntime`,
/// `accounting_group`, `output`/`error` (`name.$(Cluster).$(Process)`), `log`, extra lines,
/// then `queue N` (N = array size, default 1).
pub fn render_submit_description(
    spec: &JobSpec,
    script_path: &str,
) -> Result<String, JobSpecError> {
    check(spec)?;
    if script_path.is_empty() || script_path.chars().any(char::is_control) {
        return Err(JobSpecError::InvalidValue {
            field: "script_path",
            value: script_path.to_owned(),
            reason: "must be a non-empty single-line path",
        });
    }
    let mut d = vec![
        "universe = vanilla".to_owned(),
        format!("executable = {script_path}"),
        format!("batch_name = {}", spec.job_name),
        format!("request_cpus = {}", spec.cores),
        format!("request_memory = {}MB", units_ceil(spec.memory, MIB)),
    ];
    if let Some(walltime) = spec.walltime {
        d.push(format!("+MaxRuntime = {}", seconds_ceil(walltime)));
    }
    if let Some(account) = &spec.account {
        d.push(format!("accounting_group = {account}"));
    }
    let prefix = match &spec.log_directory {
        Some(dir) => format!("{dir}/{}", spec.job_name),
        None => spec.job_name.clone(),
    };
    d.push(format!("output = {prefix}.$(Cluster).$(Process).out"));
    d.push(format!("error = {prefix}.$(Cluster).$(Process).err"));
    d.push(format!("log = {prefix}.$(Cluster).log"));
    let mut lines = directive_block("", d, spec);
    lines.push(format!("queue {}", spec.array_tasks().unwrap_or(1)));
    let mut text = lines.join("\n");
    text.push('\n');
    Ok(text)
}

/// `condor_submit <submit description>`.
pub fn submit_command(submit_description: &Path) -> Vec<String> {
    vec![
        "condor_submit".to_owned(),
        submit_description.to_string_lossy().into_owned(),
    ]
}

/// The cluster id from `1 job(s) submitted to cluster 3417.` or the `-terse` form
/// `3417.0 - 3417.3`.
pub fn parse_submit_output(stdout: &str) -> Result<JobId, SubmitParseError> {
    let sentence = |line: &str| {
        let (_, rest) = leading_digits(line)?;
        let rest = rest.strip_prefix(" job(s) submitted to cluster ")?;
        let (id, tail) = leading_digits(rest)?;
        (tail == "." || tail.is_empty()).then(|| id.to_owned())
    };
    let terse = |line: &str| {
        let (first, last) = line.split_once(" - ")?;
        fn proc_id(s: &str) -> Option<&str> {
            let (cluster, rest) = leading_digits(s)?;
            let (_, end) = leading_digits(rest.strip_prefix('.')?)?;
            end.is_empty().then_some(cluster)
        }
        let cluster = proc_id(first)?;
        (proc_id(last)? == cluster).then(|| cluster.to_owned())
    };
    first_form_found(stdout, &[&sentence, &terse])
        .map(JobId::new)
        .ok_or_else(|| {
            SubmitParseError::new(
                "htcondor",
                "condor_submit",
                "`1 job(s) submitted to cluster 3417.`",
                stdout,
            )
        })
}

/// `condor_q ID… -af ClusterId JobStatus`.
pub fn status_command(ids: &[JobId]) -> Vec<String> {
    let mut command = command_with_ids("condor_q", ids);
    command.extend(["-af", "ClusterId", "JobStatus"].map(str::to_owned));
    command
}

/// An HTCondor `JobStatus` number as a [`JobState`]: 0 unexpanded, 1 idle, 5 held and
/// 7 suspended are pending; 2 running and 6 transferring output are running; 3 removed is
/// cancelled; 4 completed is finished.
pub fn job_state(code: &str) -> JobState {
    match code {
        "0" | "1" | "5" | "7" => JobState::Pending,
        "2" | "6" => JobState::Running,
        "3" => JobState::Cancelled,
        "4" => JobState::Finished,
        _ => JobState::Unknown,
    }
}

/// States from `condor_q -af ClusterId JobStatus` lines (`3417 2`); the processes of a cluster
/// are combined. Completed jobs leave `condor_q` (they are in `condor_history`).
pub fn parse_status(stdout: &str, ids: &[JobId]) -> HashMap<JobId, JobState> {
    parse_id_state_lines(stdout, ids, job_state, |id| {
        id.bytes().all(|b| b.is_ascii_digit())
    })
}

/// `condor_rm ID…`.
pub fn cancel_command(ids: &[JobId]) -> Vec<String> {
    command_with_ids("condor_rm", ids)
}
