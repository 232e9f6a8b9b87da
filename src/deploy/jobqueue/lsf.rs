//! IBM Spectrum LSF: `#BSUB` scripts, `bsub`, `bjobs -o "jobid stat"`, `bkill`.
//!
//! Bare memory numbers are read in `LSF_UNIT_FOR_LIMITS` (see
//! [`LsfUnit`](super::system_options::LsfUnit)). Pure text in, text out; this module must not
//! run any command.

use std::collections::HashMap;
use std::path::Path;

use super::launch::{launch_lines, Launcher};
use super::resources::{hours_minutes_ceil, units_ceil};
use super::script::{assemble, directive_block};
use super::spec::{JobSpec, JobSpecError};
use super::status::{command_with_ids, parse_id_state_lines, JobId, JobState};
use super::submit_output::{first_form_found, leading_digits, SubmitParseError};
use super::system_options::SystemOptions;

/// The job script: `-J name` (arrays `-J "name[1-N]"`), `-o/-e dir/name.%J.out` (arrays
/// `%J_%I`), `-q`, `-P` (account), `-n nodes×cores`, `-R "span[hosts=1]"` (one node) or
/// `-R "span[ptile=cores]"`, `-M` (memory per node in the site unit, rounded up),
/// `-R "rusage[mem=…]"` (per node, or per slot when configured), `-W HH:MM` (rounded up).
pub fn render_script(spec: &JobSpec) -> Result<String, JobSpecError> {
    spec.validate()?;
    let options = &spec.system_options;
    let mut d = Vec::new();
    match spec.array_tasks() {
        Some(n) => d.push(format!("-J \"{}[1-{n}]\"", spec.job_name)),
        None => d.push(format!("-J {}", spec.job_name)),
    }
    if let Some(dir) = &spec.log_directory {
        let pattern = if spec.array_tasks().is_some() {
            "%J_%I"
        } else {
            "%J"
        };
        d.push(format!("-o {dir}/{}.{pattern}.out", spec.job_name));
        d.push(format!("-e {dir}/{}.{pattern}.err", spec.job_name));
    }
    if let Some(queue) = &spec.queue {
        d.push(format!("-q {queue}"));
    }
    if let Some(account) = &spec.account {
        d.push(format!("-P {account}"));
    }
    d.push(format!("-n {}", spec.cores_per_job()));
    if spec.nodes == 1 {
        d.push("-R \"span[hosts=1]\"".to_owned());
    } else {
        d.push(format!("-R \"span[ptile={}]\"", spec.cores));
    }
    let unit = options.lsf_unit.bytes();
    d.push(format!("-M {}", units_ceil(spec.memory, unit)));
    let reserved = if options.lsf_memory_per_slot {
        spec.memory.div_ceil(u64::from(spec.cores))
    } else {
        spec.memory
    };
    d.push(format!("-R \"rusage[mem={}]\"", units_ceil(reserved, unit)));
    if let Some(walltime) = spec.walltime {
        d.push(format!("-W {}", hours_minutes_ceil(walltime)));
    }
    let directives = directive_block("#BSUB", d, spec);
    Ok(assemble(
        spec,
        &directives,
        &[],
        &launch_lines(spec, Launcher::Mpirun),
    ))
}

/// `bsub <script>`, or `sh -c 'bsub "$@" < "$0"' <script>` when the site's LSF reads `#BSUB`
/// lines only from stdin (arguments after the script go to `bsub`).
pub fn submit_command(script: &Path, options: &SystemOptions) -> Vec<String> {
    let script = script.to_string_lossy().into_owned();
    if options.lsf_submit_on_stdin {
        ["sh", "-c", "bsub \"$@\" < \"$0\""]
            .map(str::to_owned)
            .into_iter()
            .chain([script])
            .collect()
    } else {
        vec!["bsub".to_owned(), script]
    }
}

/// The id from `Job <654321> is submitted to default queue <normal>.`
pub fn parse_submit_output(stdout: &str) -> Result<JobId, SubmitParseError> {
    let sentence = |line: &str| {
        let rest = line.strip_prefix("Job <")?;
        let (id, tail) = leading_digits(rest)?;
        tail.starts_with("> is submitted to").then(|| id.to_owned())
    };
    first_form_found(stdout, &[&sentence])
        .map(JobId::new)
        .ok_or_else(|| {
            SubmitParseError::new(
                "lsf",
                "bsub",
                "`Job <123> is submitted to queue <normal>.`",
                stdout,
            )
        })
}

/// `bjobs -a -noheader -o "jobid stat" ID…`.
pub fn status_command(ids: &[JobId]) -> Vec<String> {
    ["bjobs", "-a", "-noheader", "-o", "jobid stat"]
        .map(str::to_owned)
        .into_iter()
        .chain(ids.iter().map(|id| id.as_str().to_owned()))
        .collect()
}

/// An LSF status as a [`JobState`]. `EXIT` covers both failures and `bkill` (failed).
pub fn job_state(name: &str) -> JobState {
    match name {
        "PEND" | "PSUSP" | "USUSP" | "SSUSP" | "WAIT" | "PROV" => JobState::Pending,
        "RUN" => JobState::Running,
        "DONE" => JobState::Finished,
        "EXIT" | "ZOMBI" => JobState::Failed,
        _ => JobState::Unknown,
    }
}

/// States from `bjobs -noheader -o "jobid stat"` lines (`654321 RUN`); array elements share
/// the job id and are combined.
pub fn parse_status(stdout: &str, ids: &[JobId]) -> HashMap<JobId, JobState> {
    parse_id_state_lines(stdout, ids, job_state, |_| true)
}

/// `bkill ID…`.
pub fn cancel_command(ids: &[JobId]) -> Vec<String> {
    command_with_ids("bkill", ids)
}
