//! OAR: `#OAR` scripts, `oarsub -S`, `oarstat -s`, `oardel`.
//!
//! OAR has no memory request: the memory reaches the workers only (as `--memory-limit`), so
//! choose nodes with enough memory through the queue or resource properties in
//! `extra_directives` (`-p "memnode > 32000"`). Arrays are not supported here (each array job
//! gets its own id). Pure text in, text out; this module must not run any command.

use std::collections::HashMap;
use std::path::Path;

use super::launch::{launch_lines, Launcher};
use super::resources::hours_minutes_seconds;
use super::script::{assemble, directive_block};
use super::spec::{JobSpec, JobSpecError};
use super::status::{command_with_ids, JobId, JobState, StatusCollector};
use super::submit_output::{first_form_found, leading_digits, SubmitParseError};

/// The job script: `-n`, `-q`, `--project` (account), `-l /nodes=N/core=C,walltime=HH:MM:SS`,
/// `-O/-E dir/name.%jobid%.out|err`. Multi-node jobs point Open MPI's `mpirun` at
/// `$OAR_NODEFILE` and `oarsh`.
pub fn render_script(spec: &JobSpec) -> Result<String, JobSpecError> {
    spec.validate()?;
    if spec.array_tasks().is_some() {
        return Err(JobSpecError::Unsupported {
            system: "oar",
            field: "array_size",
            reason: "OAR array jobs get one id each; submit separate jobs",
        });
    }
    let mut d = vec![format!("-n {}", spec.job_name)];
    if let Some(queue) = &spec.queue {
        d.push(format!("-q {queue}"));
    }
    if let Some(account) = &spec.account {
        d.push(format!("--project {account}"));
    }
    let mut resources = format!("-l /nodes={}/core={}", spec.nodes, spec.cores);
    if let Some(walltime) = spec.walltime {
        resources.push_str(&format!(",walltime={}", hours_minutes_seconds(walltime)));
    }
    d.push(resources);
    if let Some(dir) = &spec.log_directory {
        d.push(format!("-O {dir}/{}.%jobid%.out", spec.job_name));
        d.push(format!("-E {dir}/{}.%jobid%.err", spec.job_name));
    }
    let directives = directive_block("#OAR", d, spec);
    let setup = if spec.nodes > 1 {
        vec![
            "export OMPI_MCA_plm_rsh_agent=oarsh".to_owned(),
            "export OMPI_MCA_orte_default_hostfile=\"$OAR_NODEFILE\"".to_owned(),
        ]
    } else {
        Vec::new()
    };
    Ok(assemble(
        spec,
        &directives,
        &setup,
        &launch_lines(spec, Launcher::Mpirun),
    ))
}

/// `oarsub -S <script>` (the script must be executable; `-S` reads its `#OAR` lines).
pub fn submit_command(script: &Path) -> Vec<String> {
    vec![
        "oarsub".to_owned(),
        "-S".to_owned(),
        script.to_string_lossy().into_owned(),
    ]
}

/// The id from the `OAR_JOB_ID=123456` line (admission-rule messages may precede it).
pub fn parse_submit_output(stdout: &str) -> Result<JobId, SubmitParseError> {
    let assignment = |line: &str| {
        let (id, tail) = leading_digits(line.strip_prefix("OAR_JOB_ID=")?)?;
        tail.is_empty().then(|| id.to_owned())
    };
    first_form_found(stdout, &[&assignment])
        .map(JobId::new)
        .ok_or_else(|| SubmitParseError::new("oar", "oarsub -S", "`OAR_JOB_ID=123456`", stdout))
}

/// `oarstat -s -j ID …`.
pub fn status_command(ids: &[JobId]) -> Vec<String> {
    let mut argv = vec!["oarstat".to_owned(), "-s".to_owned()];
    for id in ids {
        argv.extend(["-j".to_owned(), id.as_str().to_owned()]);
    }
    argv
}

/// An OAR state as a [`JobState`].
pub fn job_state(name: &str) -> JobState {
    match name {
        "Waiting" | "Hold" | "toLaunch" | "toAckReservation" | "Suspended" | "Resuming" => {
            JobState::Pending
        }
        "Launching" | "Running" | "Finishing" => JobState::Running,
        "Terminated" => JobState::Finished,
        "Error" | "toError" => JobState::Failed,
        _ => JobState::Unknown,
    }
}

/// States from `oarstat -s` lines (`123456: Running`).
pub fn parse_status(stdout: &str, ids: &[JobId]) -> HashMap<JobId, JobState> {
    let mut collector = StatusCollector::new(ids);
    for line in stdout.lines() {
        if let Some((id, state)) = line.trim().split_once(':') {
            let id = id.trim();
            if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) {
                collector.record(id, job_state(state.trim()));
            }
        }
    }
    collector.finish()
}

/// `oardel ID…`.
pub fn cancel_command(ids: &[JobId]) -> Vec<String> {
    command_with_ids("oardel", ids)
}
