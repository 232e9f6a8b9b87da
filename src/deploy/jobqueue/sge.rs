//! Grid Engine (Son of Grid Engine, Univa/Altair GE, OGS): `#$` scripts, `qsub -terse`,
//! `qstat`, `qdel`.
//!
//! Finished jobs vanish from `qstat` at once, so an id missing from the status output means
//! "no longer queued" (finished or failed: only `qacct` knows). Pure text in, text out; this
//! module must not run any command.

use std::collections::HashMap;
use std::path::Path;

use super::launch::{launch_lines, Launcher};
use super::resources::{hours_minutes_seconds, units_ceil, MIB};
use super::script::{assemble, directive_block};
use super::spec::{JobSpec, JobSpecError};
use super::status::{command_with_ids, JobId, JobState, StatusCollector};
use super::submit_output::{first_form_found, leading_digits, SubmitParseError};

/// The job script: `-N`, `-S` (default `/bin/bash`), `-cwd`, `-j y`, `-o dir/name.$JOB_ID.out`
/// (arrays `.$JOB_ID.$TASK_ID`), `-q`, `-P` (account), `-pe <pe> nodes×cores` (only for more
/// than one slot), `-l h_vmem=` **per slot** (memory / cores in MiB, rounded up), `-l h_rt=`,
/// `-t 1-N`, and `-V` when configured. Several nodes need a parallel environment other than
/// `smp` (whose `$pe_slots` rule keeps a job on one host).
pub fn render_script(spec: &JobSpec) -> Result<String, JobSpecError> {
    spec.validate()?;
    let options = &spec.system_options;
    if spec.nodes > 1 && options.sge_parallel_environment == "smp" {
        return Err(JobSpecError::Unsupported {
            system: "sge",
            field: "nodes",
            reason: "the `smp` parallel environment (allocation rule $pe_slots) keeps a job on \
                     one host; for several nodes choose a PE that spans hosts, e.g. --pe mpi \
                     (`qconf -spl` lists them, `qconf -sp mpi` shows the allocation rule)",
        });
    }
    let mut d = vec![format!("-N {}", spec.job_name)];
    if let Some(shell) = &options.sge_shell {
        d.push(format!("-S {shell}"));
    }
    d.push("-cwd".to_owned());
    d.push("-j y".to_owned());
    if let Some(dir) = &spec.log_directory {
        let pattern = if spec.array_tasks().is_some() {
            "$JOB_ID.$TASK_ID"
        } else {
            "$JOB_ID"
        };
        d.push(format!("-o {dir}/{}.{pattern}.out", spec.job_name));
    }
    if let Some(queue) = &spec.queue {
        d.push(format!("-q {queue}"));
    }
    if let Some(account) = &spec.account {
        d.push(format!("-P {account}"));
    }
    let slots = spec.cores_per_job();
    if slots > 1 {
        d.push(format!("-pe {} {slots}", options.sge_parallel_environment));
    }
    let per_slot = spec.memory.div_ceil(u64::from(spec.cores));
    d.push(format!(
        "-l {}={}M",
        options.sge_memory_resource,
        units_ceil(per_slot, MIB)
    ));
    if let Some(walltime) = spec.walltime {
        d.push(format!("-l h_rt={}", hours_minutes_seconds(walltime)));
    }
    if let Some(n) = spec.array_tasks() {
        d.push(format!("-t 1-{n}"));
    }
    if options.sge_export_environment {
        d.push("-V".to_owned());
    }
    let directives = directive_block("#$", d, spec);
    Ok(assemble(
        spec,
        &directives,
        &[],
        &launch_lines(spec, Launcher::Mpirun),
    ))
}

/// `qsub -terse <script>`.
pub fn submit_command(script: &Path) -> Vec<String> {
    vec![
        "qsub".to_owned(),
        "-terse".to_owned(),
        script.to_string_lossy().into_owned(),
    ]
}

/// The id from `qsub` output: `Your job 1 ("name") has been submitted`, `Your job-array
/// 3.1-4:1 ("name") has been submitted`, or the `-terse` forms `4` and `5.1-2:1`.
pub fn parse_submit_output(stdout: &str) -> Result<JobId, SubmitParseError> {
    let sentence = |line: &str| {
        let rest = line
            .strip_prefix("Your job-array ")
            .or_else(|| line.strip_prefix("Your job "))?;
        let (token, tail) = rest.split_once(' ')?;
        let id = terse_id(token)?;
        tail.ends_with("has been submitted").then_some(id)
    };
    let terse = |line: &str| terse_id(line);
    first_form_found(stdout, &[&sentence, &terse])
        .map(JobId::new)
        .ok_or_else(|| {
            SubmitParseError::new(
                "sge",
                "qsub -terse",
                "`Your job 1 (\"name\") has been submitted` or `1`",
                stdout,
            )
        })
}

/// `N` or `N.first-last:step`, giving `N`.
fn terse_id(token: &str) -> Option<String> {
    let (id, tail) = leading_digits(token)?;
    if tail.is_empty() {
        return Some(id.to_owned());
    }
    let range = tail.strip_prefix('.')?;
    let (span, step) = range.split_once(':')?;
    let (first, last) = span.split_once('-')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (digits(first) && digits(last) && digits(step)).then(|| id.to_owned())
}

/// `qstat` (the user's jobs; the ids are matched in the output).
pub fn status_command(_ids: &[JobId]) -> Vec<String> {
    vec!["qstat".to_owned()]
}

/// An SGE state code as a [`JobState`]: any `E` is an error state that needs a human
/// (failed), `d` is being deleted (cancelled), suspended (`s`, `S`, `T`) and queued/held
/// (`q`, `w`, `h`) are pending, `r`/`t` running.
pub fn job_state(code: &str) -> JobState {
    let has = |c: char| code.contains(c);
    if has('E') {
        JobState::Failed
    } else if has('d') {
        JobState::Cancelled
    } else if has('s') || has('S') || has('T') {
        JobState::Pending
    } else if has('r') || has('t') {
        JobState::Running
    } else if has('q') || has('w') || has('h') {
        JobState::Pending
    } else {
        JobState::Unknown
    }
}

/// States from the `qstat` table (`job-ID prior name user state submit/start-at queue slots
/// ja-task-ID`). Jobs not listed are no longer queued.
pub fn parse_status(stdout: &str, ids: &[JobId]) -> HashMap<JobId, JobState> {
    let mut collector = StatusCollector::new(ids);
    for line in stdout.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.len() < 5 || !words[0].bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        collector.record(words[0], job_state(words[4]));
    }
    collector.finish()
}

/// `qdel ID…`.
pub fn cancel_command(ids: &[JobId]) -> Vec<String> {
    command_with_ids("qdel", ids)
}
