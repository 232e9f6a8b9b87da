//! The batch systems and the one place that dispatches to their renderers and parsers.
//!
//! `BatchSystem::Slurm.render_script(&spec)`, `.submit_command(path, &options)`,
//! `.parse_submit_output(stdout)`, `.status_command(ids, &options)`, `.parse_status(stdout,
//! ids)`, `.cancel_command(ids, &options)`: all pure. The caller (a thin runner) executes the argv
//! vectors, without a shell, and feeds their stdout back. This module must not run commands.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::spec::{JobSpec, JobSpecError};
use super::status::{JobId, JobState};
use super::submit_output::SubmitParseError;
use super::system_options::SystemOptions;
use super::{htcondor, lsf, moab, oar, pbs, sge, slurm};

/// A batch system (job queue) that can start workers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BatchSystem {
    /// SLURM (`sbatch`).
    Slurm,
    /// PBS Pro / OpenPBS / Torque (`qsub`); see [`PbsFlavour`](super::PbsFlavour).
    Pbs,
    /// (Son of / Univa / Altair) Grid Engine (`qsub`).
    Sge,
    /// IBM Spectrum LSF (`bsub`).
    Lsf,
    /// HTCondor (`condor_submit`).
    HtCondor,
    /// OAR (`oarsub`).
    Oar,
    /// Moab (`msub`).
    Moab,
}

/// The name given to a system that is not known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown batch system {0:?}: expected one of slurm, pbs, sge, lsf, htcondor, oar, moab")]
pub struct UnknownBatchSystem(pub String);

impl FromStr for BatchSystem {
    type Err = UnknownBatchSystem;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "slurm" => Ok(BatchSystem::Slurm),
            "pbs" | "pbspro" | "openpbs" | "torque" => Ok(BatchSystem::Pbs),
            "sge" | "gridengine" | "uge" | "oge" => Ok(BatchSystem::Sge),
            "lsf" => Ok(BatchSystem::Lsf),
            "htcondor" | "condor" => Ok(BatchSystem::HtCondor),
            "oar" => Ok(BatchSystem::Oar),
            "moab" => Ok(BatchSystem::Moab),
            _ => Err(UnknownBatchSystem(s.to_owned())),
        }
    }
}

impl fmt::Display for BatchSystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One file to write before submitting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobFile {
    /// Where to write it.
    pub path: PathBuf,
    /// Its text.
    pub contents: String,
    /// Whether to make it executable (mode 0755 rather than 0644).
    pub executable: bool,
}

/// Everything to write for one submission, and the file to hand to the submit command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderedJob {
    /// The files, in the order to write them.
    pub files: Vec<JobFile>,
    /// The path to pass to [`BatchSystem::submit_command`].
    pub submit_path: PathBuf,
}

impl BatchSystem {
    /// Every system, in a stable order.
    pub const ALL: [BatchSystem; 7] = [
        BatchSystem::Slurm,
        BatchSystem::Pbs,
        BatchSystem::Sge,
        BatchSystem::Lsf,
        BatchSystem::HtCondor,
        BatchSystem::Oar,
        BatchSystem::Moab,
    ];

    /// The lowercase name (`slurm`, `pbs`, `sge`, `lsf`, `htcondor`, `oar`, `moab`).
    pub fn name(self) -> &'static str {
        match self {
            BatchSystem::Slurm => "slurm",
            BatchSystem::Pbs => "pbs",
            BatchSystem::Sge => "sge",
            BatchSystem::Lsf => "lsf",
            BatchSystem::HtCondor => "htcondor",
            BatchSystem::Oar => "oar",
            BatchSystem::Moab => "moab",
        }
    }

    /// The prefix of this system's directive lines (`#SBATCH`); empty for HTCondor, whose
    /// directives are submit-description lines.
    pub fn directive_prefix(self) -> &'static str {
        match self {
            BatchSystem::Slurm => "#SBATCH",
            BatchSystem::Pbs => "#PBS",
            BatchSystem::Sge => "#$",
            BatchSystem::Lsf => "#BSUB",
            BatchSystem::HtCondor => "",
            BatchSystem::Oar => "#OAR",
            BatchSystem::Moab => "#MSUB",
        }
    }

    /// The job script (for HTCondor: the wrapper script the submit description runs; see
    /// [`BatchSystem::render_job`] for both files). Validates the spec first.
    ///
    /// ```
    /// use tessera::deploy::jobqueue::{BatchSystem, JobSpec};
    /// let spec = JobSpec { scheduler_file: Some("s.json".into()), ..JobSpec::default() };
    /// let script = BatchSystem::Slurm.render_script(&spec).unwrap();
    /// assert!(script.contains("#SBATCH --mem=4096M"));
    /// ```
    pub fn render_script(self, spec: &JobSpec) -> Result<String, JobSpecError> {
        match self {
            BatchSystem::Slurm => slurm::render_script(spec),
            BatchSystem::Pbs => pbs::render_script(spec),
            BatchSystem::Sge => sge::render_script(spec),
            BatchSystem::Lsf => lsf::render_script(spec),
            BatchSystem::HtCondor => htcondor::render_script(spec),
            BatchSystem::Oar => oar::render_script(spec),
            BatchSystem::Moab => moab::render_script(spec),
        }
    }

    /// The files to write for one submission, the script going to `script_path` (HTCondor adds
    /// its submit description at `<script_path>.sub`, which is then the file to submit).
    pub fn render_job(
        self,
        spec: &JobSpec,
        script_path: &Path,
    ) -> Result<RenderedJob, JobSpecError> {
        let script = JobFile {
            path: script_path.to_owned(),
            contents: self.render_script(spec)?,
            executable: true,
        };
        if self != BatchSystem::HtCondor {
            return Ok(RenderedJob {
                files: vec![script],
                submit_path: script_path.to_owned(),
            });
        }
        let Some(script_text) = script_path.to_str() else {
            return Err(JobSpecError::InvalidValue {
                field: "script_path",
                value: script_path.to_string_lossy().into_owned(),
                reason: "must be valid UTF-8 to appear in a submit description",
            });
        };
        let mut submit_name = script_path.as_os_str().to_owned();
        submit_name.push(".sub");
        let submit_path = PathBuf::from(submit_name);
        let description = JobFile {
            path: submit_path.clone(),
            contents: htcondor::render_submit_description(spec, script_text)?,
            executable: false,
        };
        Ok(RenderedJob {
            files: vec![script, description],
            submit_path,
        })
    }

    /// The argv that submits `submit_path` (see [`RenderedJob::submit_path`]); its stdout goes
    /// to [`BatchSystem::parse_submit_output`].
    /// `options.submit_command_extra` goes before the script (LSF on stdin: after `bsub`).
    pub fn submit_command(self, submit_path: &Path, options: &SystemOptions) -> Vec<String> {
        let mut argv = match self {
            BatchSystem::Slurm => slurm::submit_command(submit_path),
            BatchSystem::Pbs => pbs::submit_command(submit_path),
            BatchSystem::Sge => sge::submit_command(submit_path),
            BatchSystem::Lsf => lsf::submit_command(submit_path, options),
            BatchSystem::HtCondor => htcondor::submit_command(submit_path),
            BatchSystem::Oar => oar::submit_command(submit_path),
            BatchSystem::Moab => moab::submit_command(submit_path),
        };
        let extra = options.submit_command_extra.iter().cloned();
        if self == BatchSystem::Lsf && options.lsf_submit_on_stdin {
            // `sh -c 'bsub "$@" < "$0"' S EXTRA…`: arguments after the script reach bsub.
            argv.extend(extra);
        } else {
            // Every other form ends with the script.
            let at = argv.len() - 1;
            argv.splice(at..at, extra);
        }
        argv
    }

    /// The job id in the submit command's stdout.
    ///
    /// ```
    /// use tessera::deploy::jobqueue::BatchSystem;
    /// let id = BatchSystem::Slurm
    ///     .parse_submit_output("Welcome to Cluster X (2048 nodes)\nSubmitted batch job 777\n")
    ///     .unwrap();
    /// assert_eq!(id.as_str(), "777");
    /// ```
    pub fn parse_submit_output(self, stdout: &str) -> Result<JobId, SubmitParseError> {
        match self {
            BatchSystem::Slurm => slurm::parse_submit_output(stdout),
            BatchSystem::Pbs => pbs::parse_submit_output(stdout),
            BatchSystem::Sge => sge::parse_submit_output(stdout),
            BatchSystem::Lsf => lsf::parse_submit_output(stdout),
            BatchSystem::HtCondor => htcondor::parse_submit_output(stdout),
            BatchSystem::Oar => oar::parse_submit_output(stdout),
            BatchSystem::Moab => moab::parse_submit_output(stdout),
        }
    }

    /// The argv that reports the state of `ids` (pass at least one id: some tools list every
    /// job without). Its stdout goes to [`BatchSystem::parse_status`]. A non-zero exit status
    /// with ids the tool no longer knows is normal (SLURM after `MinJobAge`, PBS rc 153).
    pub fn status_command(self, ids: &[JobId], options: &SystemOptions) -> Vec<String> {
        match self {
            BatchSystem::Slurm => slurm::status_command(ids),
            BatchSystem::Pbs => pbs::status_command(ids, options),
            BatchSystem::Sge => sge::status_command(ids),
            BatchSystem::Lsf => lsf::status_command(ids),
            BatchSystem::HtCondor => htcondor::status_command(ids),
            BatchSystem::Oar => oar::status_command(ids),
            BatchSystem::Moab => moab::status_command(ids),
        }
    }

    /// The states of those of `ids` that appear in the status command's stdout. An id missing
    /// from the result is **not in the queue** (finished and forgotten, or never known);
    /// callers decide what that means (SGE forgets finished jobs at once).
    pub fn parse_status(self, stdout: &str, ids: &[JobId]) -> HashMap<JobId, JobState> {
        match self {
            BatchSystem::Slurm => slurm::parse_status(stdout, ids),
            BatchSystem::Pbs => pbs::parse_status(stdout, ids),
            BatchSystem::Sge => sge::parse_status(stdout, ids),
            BatchSystem::Lsf => lsf::parse_status(stdout, ids),
            BatchSystem::HtCondor => htcondor::parse_status(stdout, ids),
            BatchSystem::Oar => oar::parse_status(stdout, ids),
            BatchSystem::Moab => moab::parse_status(stdout, ids),
        }
    }

    /// The argv that cancels `ids`, with `options.cancel_command_extra` before the ids.
    pub fn cancel_command(self, ids: &[JobId], options: &SystemOptions) -> Vec<String> {
        let mut argv = match self {
            BatchSystem::Slurm => slurm::cancel_command(ids),
            BatchSystem::Pbs => pbs::cancel_command(ids),
            BatchSystem::Sge => sge::cancel_command(ids),
            BatchSystem::Lsf => lsf::cancel_command(ids),
            BatchSystem::HtCondor => htcondor::cancel_command(ids),
            BatchSystem::Oar => oar::cancel_command(ids),
            BatchSystem::Moab => moab::cancel_command(ids),
        };
        argv.splice(1..1, options.cancel_command_extra.iter().cloned());
        argv
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for system in BatchSystem::ALL {
            assert_eq!(system.name().parse::<BatchSystem>(), Ok(system));
        }
        assert_eq!("Condor".parse::<BatchSystem>(), Ok(BatchSystem::HtCondor));
        let err = "pbs2".parse::<BatchSystem>().unwrap_err();
        assert!(err.to_string().contains("\"pbs2\""));
    }

    #[test]
    fn htcondor_job_has_two_files() {
        let spec = JobSpec {
            scheduler_file: Some("s.json".into()),
            ..JobSpec::default()
        };
        let job = BatchSystem::HtCondor
            .render_job(&spec, Path::new("/tmp/w/job.sh"))
            .unwrap();
        assert_eq!(job.files.len(), 2);
        assert_eq!(job.submit_path, Path::new("/tmp/w/job.sh.sub"));
        assert!(job.files[1]
            .contents
            .contains("executable = /tmp/w/job.sh\n"));
        let slurm = BatchSystem::Slurm
            .render_job(&spec, Path::new("/tmp/w/job.sh"))
            .unwrap();
        assert_eq!(slurm.files.len(), 1);
        assert_eq!(slurm.submit_path, Path::new("/tmp/w/job.sh"));
    }
}
