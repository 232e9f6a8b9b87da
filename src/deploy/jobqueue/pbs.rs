//! PBS (PBS Pro / OpenPBS, Torque, and SLURM's `#PBS` compatibility layer): `#PBS` scripts,
//! `qsub`, `qstat -f` (with `-x` on PBS Pro), `qdel`.
//!
//! Walltime is always written `HH:MM:SS`: SLURM's `#PBS` reader takes a bare `walltime=300`
//! as minutes where PBS means seconds. Pure text in, text out; this module must not run any
//! command.

use std::collections::HashMap;
use std::path::Path;

use super::launch::{launch_lines, Launcher};
use super::resources::{hours_minutes_seconds, pbs_size};
use super::script::{assemble, directive_block};
use super::spec::{JobSpec, JobSpecError};
use super::status::{command_with_ids, JobId, JobState, StatusCollector};
use super::submit_output::{first_form_found, is_name, leading_digits, SubmitParseError};
use super::system_options::{PbsFlavour, SystemOptions};

/// The job script. PBS Pro: `-l select=N:ncpus=C[:mpiprocs=P]:mem=M` (memory per node, see
/// [`pbs_size`]), arrays `-J 0-(N-1)`, log directories `-o dir/ -e dir/`. Torque:
/// `-l nodes=N:ppn=C` plus `-l mem=` for the whole job, arrays `-t`. SLURM wrappers: PBS Pro
/// syntax with log files `dir/name-%j.out`. All: `-N`, `-q`, `-A`, `-l walltime=HH:MM:SS`,
/// and the script starts with `cd "$PBS_O_WORKDIR"`.
pub fn render_script(spec: &JobSpec) -> Result<String, JobSpecError> {
    spec.validate()?;
    let flavour = spec.system_options.pbs_flavour;
    let mut d = vec![format!("-N {}", spec.job_name)];
    if let Some(queue) = &spec.queue {
        d.push(format!("-q {queue}"));
    }
    if let Some(account) = &spec.account {
        d.push(format!("-A {account}"));
    }
    match flavour {
        PbsFlavour::Pro | PbsFlavour::SlurmTorqueWrappers => {
            let mpiprocs = if spec.processes > 1 {
                format!(":mpiprocs={}", spec.processes)
            } else {
                String::new()
            };
            d.push(format!(
                "-l select={}:ncpus={}{mpiprocs}:mem={}",
                spec.nodes,
                spec.cores,
                pbs_size(spec.memory)
            ));
        }
        PbsFlavour::Torque => {
            d.push(format!("-l nodes={}:ppn={}", spec.nodes, spec.cores));
            d.push(format!(
                "-l mem={}",
                pbs_size(spec.memory.saturating_mul(u64::from(spec.nodes)))
            ));
        }
    }
    if let Some(walltime) = spec.walltime {
        d.push(format!("-l walltime={}", hours_minutes_seconds(walltime)));
    }
    if let Some(n) = spec.array_tasks() {
        let flag = if flavour == PbsFlavour::Torque {
            "-t"
        } else {
            "-J"
        };
        d.push(format!("{flag} 0-{}", n - 1));
    }
    if let Some(dir) = &spec.log_directory {
        if flavour == PbsFlavour::SlurmTorqueWrappers {
            let pattern = if spec.array_tasks().is_some() {
                "%A_%a"
            } else {
                "%j"
            };
            d.push(format!("-o {dir}/{}-{pattern}.out", spec.job_name));
            d.push(format!("-e {dir}/{}-{pattern}.err", spec.job_name));
        } else {
            d.push(format!("-o {dir}/"));
            d.push(format!("-e {dir}/"));
        }
    }
    let directives = directive_block("#PBS", d, spec);
    Ok(assemble(
        spec,
        &directives,
        &["cd \"${PBS_O_WORKDIR:-.}\"".to_owned()],
        &launch_lines(spec, Launcher::Mpirun),
    ))
}

/// `qsub <script>`.
pub fn submit_command(script: &Path) -> Vec<String> {
    vec!["qsub".to_owned(), script.to_string_lossy().into_owned()]
}

/// The id from `qsub` output, kept whole (`42`, `42.servername`, `123[].server`), or from
/// `Request 42.server was submitted to queue: q.` (also its historical misspelling
/// "sumbitted").
pub fn parse_submit_output(stdout: &str) -> Result<JobId, SubmitParseError> {
    let sentence = |line: &str| {
        let rest = line.strip_prefix("Request ")?;
        let (id, tail) = rest.split_once(' ')?;
        let tail_ok = tail.starts_with("was submitted to queue")
            || tail.starts_with("was sumbitted to queue");
        (tail_ok && is_pbs_id(id)).then(|| id.to_owned())
    };
    let bare = |line: &str| is_pbs_id(line).then(|| line.to_owned());
    first_form_found(stdout, &[&sentence, &bare])
        .map(JobId::new)
        .ok_or_else(|| SubmitParseError::new("pbs", "qsub", "`42.servername` or `42`", stdout))
}

/// `N`, `N.server`, `N[]`, `N[].server`, `N[3].server`.
fn is_pbs_id(text: &str) -> bool {
    let Some((_, rest)) = leading_digits(text) else {
        return false;
    };
    let rest = match rest.strip_prefix('[') {
        Some(inner) => match inner.split_once(']') {
            Some((index, after)) if index.bytes().all(|b| b.is_ascii_digit()) => after,
            _ => return false,
        },
        None => rest,
    };
    rest.is_empty() || rest.strip_prefix('.').is_some_and(is_name)
}

/// `qstat -x -f ID…` on PBS Pro (finished jobs included, with their exit status), `qstat -f
/// ID…` elsewhere.
pub fn status_command(ids: &[JobId], options: &SystemOptions) -> Vec<String> {
    let mut argv = vec!["qstat".to_owned()];
    if options.pbs_flavour == PbsFlavour::Pro {
        argv.push("-x".to_owned());
    }
    argv.push("-f".to_owned());
    argv.extend(ids.iter().map(|id| id.as_str().to_owned()));
    argv
}

/// A PBS state letter as a [`JobState`] (Torque `C` and PBS Pro `F`/`X` are finished;
/// held, waiting, moving and suspended jobs are pending; `E`xiting and array `B`egun are
/// running).
pub fn job_state(letter: &str) -> JobState {
    match letter {
        "Q" | "H" | "W" | "T" | "M" | "S" | "U" => JobState::Pending,
        "R" | "B" | "E" => JobState::Running,
        "C" | "F" | "X" => JobState::Finished,
        _ => JobState::Unknown,
    }
}

/// States from `qstat -f` blocks (`Job Id: 42.server` … `job_state = R` … `Exit_status = 1`;
/// a finished job with a non-zero exit status is failed) or from the `qstat` table
/// (`42.server  name  user  00:00:00 R queue`).
pub fn parse_status(stdout: &str, ids: &[JobId]) -> HashMap<JobId, JobState> {
    let mut collector = StatusCollector::new(ids);
    if stdout
        .lines()
        .any(|l| l.trim_start().starts_with("Job Id:"))
    {
        parse_full(stdout, &mut collector);
    } else {
        for line in stdout.lines() {
            let words: Vec<&str> = line.split_whitespace().collect();
            if words.len() < 3 {
                continue;
            }
            let letter = words[words.len() - 2];
            if letter.len() == 1 && letter.chars().all(|c| c.is_ascii_uppercase()) {
                collector.record(words[0], job_state(letter));
            }
        }
    }
    collector.finish()
}

fn parse_full(stdout: &str, collector: &mut StatusCollector<'_>) {
    let mut current: Option<(String, Option<JobState>, Option<i64>)> = None;
    let mut flush = |block: Option<(String, Option<JobState>, Option<i64>)>| {
        if let Some((id, Some(state), exit)) = block {
            let state = match exit {
                Some(code) if code != 0 && state == JobState::Finished => JobState::Failed,
                _ => state,
            };
            collector.record(&id, state);
        }
    };
    for line in stdout.lines() {
        let line = line.trim();
        if let Some(id) = line.strip_prefix("Job Id:") {
            flush(current.take());
            current = Some((id.trim().to_owned(), None, None));
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let Some(block) = current.as_mut() else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        if key.eq_ignore_ascii_case("job_state") {
            block.1 = Some(job_state(value));
        } else if key.eq_ignore_ascii_case("exit_status") {
            block.2 = value.parse().ok();
        }
    }
    flush(current.take());
}

/// `qdel ID…`.
pub fn cancel_command(ids: &[JobId]) -> Vec<String> {
    command_with_ids("qdel", ids)
}
