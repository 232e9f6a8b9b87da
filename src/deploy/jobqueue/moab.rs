//! Moab: `#MSUB` scripts (PBS-like resource lists), `msub`, `showq`, `canceljob`.
//!
//! Pure text in, text out; this module must not run any command.

use std::collections::HashMap;
use std::path::Path;

use super::launch::{launch_lines, Launcher};
use super::resources::{hours_minutes_seconds, pbs_size};
use super::script::{assemble, directive_block};
use super::spec::{JobSpec, JobSpecError};
use super::status::{command_with_ids, JobId, JobState, StatusCollector};
use super::submit_output::{first_form_found, leading_digits, SubmitParseError};

/// The job script: `-N`, `-q`, `-A`, `-l nodes=N:ppn=C,walltime=HH:MM:SS,pmem=…` (`pmem` is
/// per processor: memory / cores, rounded up like PBS sizes), `-o dir/ -e dir/`, arrays
/// `-t name[0-(N-1)]`; the script starts in the submit directory.
pub fn render_script(spec: &JobSpec) -> Result<String, JobSpecError> {
    spec.validate()?;
    let mut d = vec![format!("-N {}", spec.job_name)];
    if let Some(queue) = &spec.queue {
        d.push(format!("-q {queue}"));
    }
    if let Some(account) = &spec.account {
        d.push(format!("-A {account}"));
    }
    let mut resources = format!("-l nodes={}:ppn={}", spec.nodes, spec.cores);
    if let Some(walltime) = spec.walltime {
        resources.push_str(&format!(",walltime={}", hours_minutes_seconds(walltime)));
    }
    let per_processor = spec.memory.div_ceil(u64::from(spec.cores));
    resources.push_str(&format!(",pmem={}", pbs_size(per_processor)));
    d.push(resources);
    if let Some(dir) = &spec.log_directory {
        d.push(format!("-o {dir}/"));
        d.push(format!("-e {dir}/"));
    }
    if let Some(n) = spec.array_tasks() {
        d.push(format!("-t {}[0-{}]", spec.job_name, n - 1));
    }
    let directives = directive_block("#MSUB", d, spec);
    Ok(assemble(
        spec,
        &directives,
        &["cd \"${PBS_O_WORKDIR:-${MOAB_SUBMITDIR:-.}}\"".to_owned()],
        &launch_lines(spec, Launcher::Mpirun),
    ))
}

/// `msub <script>`.
pub fn submit_command(script: &Path) -> Vec<String> {
    vec!["msub".to_owned(), script.to_string_lossy().into_owned()]
}

/// The id `msub` prints on a line of its own, usually after an empty line: `12345` or
/// `Moab.12345`.
pub fn parse_submit_output(stdout: &str) -> Result<JobId, SubmitParseError> {
    let bare = |line: &str| {
        let digits_part = match line.split_once('.') {
            Some((prefix, rest))
                if prefix.starts_with(|c: char| c.is_ascii_alphabetic())
                    && prefix
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-')) =>
            {
                rest
            }
            Some(_) => return None,
            None => line,
        };
        let (_, tail) = leading_digits(digits_part)?;
        tail.is_empty().then(|| line.to_owned())
    };
    first_form_found(stdout, &[&bare])
        .map(JobId::new)
        .ok_or_else(|| SubmitParseError::new("moab", "msub", "`12345`", stdout))
}

/// `showq` (all visible jobs; the ids are matched in the output).
pub fn status_command(_ids: &[JobId]) -> Vec<String> {
    vec!["showq".to_owned()]
}

/// A Moab state as a [`JobState`].
pub fn job_state(name: &str) -> JobState {
    match name {
        "Idle" | "Hold" | "UserHold" | "SystemHold" | "BatchHold" | "Deferred" | "Blocked"
        | "NotQueued" | "Staged" | "Suspended" => JobState::Pending,
        "Running" | "Starting" => JobState::Running,
        "Completed" => JobState::Finished,
        "Removed" | "Canceling" => JobState::Cancelled,
        "Vacated" => JobState::Failed,
        _ => JobState::Unknown,
    }
}

/// States from `showq` tables (`12345  user  Running  8  00:59:30  Mon Nov 24 10:00:00`) or
/// from `checkjob` output (`job 12345` … `State: Running`).
pub fn parse_status(stdout: &str, ids: &[JobId]) -> HashMap<JobId, JobState> {
    let mut collector = StatusCollector::new(ids);
    let mut checkjob_id: Option<String> = None;
    for line in stdout.lines() {
        let trimmed = line.trim();
        if let Some(id) = trimmed.strip_prefix("job ") {
            checkjob_id = Some(id.trim().to_owned());
            continue;
        }
        if let Some(state) = trimmed.strip_prefix("State:") {
            if let (Some(id), Some(name)) = (&checkjob_id, state.split_whitespace().next()) {
                collector.record(id, job_state(name));
            }
            continue;
        }
        let words: Vec<&str> = trimmed.split_whitespace().collect();
        let is_row = words.len() >= 4
            && words[0].bytes().last().is_some_and(|b| b.is_ascii_digit())
            && words[2].starts_with(|c: char| c.is_ascii_uppercase());
        if is_row {
            collector.record(words[0], job_state(words[2]));
        }
    }
    collector.finish()
}

/// `canceljob ID…`.
pub fn cancel_command(ids: &[JobId]) -> Vec<String> {
    command_with_ids("canceljob", ids)
}
