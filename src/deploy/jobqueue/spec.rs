//! What a job should look like, independent of the batch system: resources per node, names,
//! paths, the worker command and the raw lines users add. [`JobSpec::validate`] rejects what
//! no system could render, naming the field at fault.
//!
//! The resource model: a job takes `nodes` nodes; on each node it asks for `cores` cores and
//! `memory` bytes and starts `processes` workers, each with `cores / processes` threads and a
//! memory limit of `memory / processes`. This module must not format directives.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::system_options::SystemOptions;

/// A job spec cannot be rendered; every message names the field (and system) at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobSpecError {
    /// A count that must be positive is zero.
    #[error("job spec: {field} must be at least 1, got 0")]
    Zero {
        /// The field at fault.
        field: &'static str,
    },
    /// Workers would get unequal thread counts.
    #[error(
        "job spec: cores ({cores}) must be a multiple of processes ({processes}) so that every \
         worker gets the same number of threads"
    )]
    CoresNotDivisible {
        /// Cores per node.
        cores: u32,
        /// Workers per node.
        processes: u32,
    },
    /// A value cannot appear in a job script.
    #[error("job spec: {field} = {value:?} is not usable: {reason}")]
    InvalidValue {
        /// The field at fault.
        field: &'static str,
        /// The offending value.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The default worker command needs the scheduler file.
    #[error(
        "job spec: scheduler_file is not set; the default worker command \
         (`tessera worker --scheduler-file …`) needs it (or set worker_command)"
    )]
    MissingSchedulerFile,
    /// The batch system has no way to express a field.
    #[error("{system}: {field} is not supported: {reason}")]
    Unsupported {
        /// The batch system.
        system: &'static str,
        /// The field at fault.
        field: &'static str,
        /// Why, and what to do instead.
        reason: &'static str,
    },
}

/// Everything needed to render one job that starts workers. Build it with struct update syntax
/// from [`JobSpec::default`] and check it with [`JobSpec::validate`] (rendering validates too).
///
/// ```
/// use std::time::Duration;
/// use tessera::deploy::jobqueue::JobSpec;
/// let spec = JobSpec {
///     cores: 8,
///     processes: 2,
///     memory: 32 << 30,
///     walltime: Some(Duration::from_secs(3600)),
///     scheduler_file: Some("/home/me/sched.json".into()),
///     ..JobSpec::default()
/// };
/// spec.validate().unwrap();
/// assert_eq!(spec.threads_per_worker(), 4);
/// assert_eq!(spec.worker_memory_limit(), 16 << 30);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobSpec {
    /// Cores per node (default 1).
    pub cores: u32,
    /// Memory per node in bytes (default 4 GiB).
    pub memory: u64,
    /// Workers per node (default 1); each gets `cores / processes` threads.
    pub processes: u32,
    /// Nodes per job (default 1); more than one starts workers with `srun` or `mpirun`.
    pub nodes: u32,
    /// Queue, partition or class.
    pub queue: Option<String>,
    /// Account or project charged.
    pub account: Option<String>,
    /// Wall-clock limit (default one hour); `None` leaves the site default.
    pub walltime: Option<Duration>,
    /// Job name (default `tessera-worker`): a letter, then letters, digits, `_`, `.`, `-`.
    pub job_name: String,
    /// Directory for the job's stdout/stderr (no spaces: directive parsers split on them).
    pub log_directory: Option<String>,
    /// Worker `--local-directory` (spill space); may use `$VARS` of the job's environment.
    pub local_directory: Option<String>,
    /// Worker `--interface` (network interface to listen on, e.g. `ib0`).
    pub interface: Option<String>,
    /// Raw directive lines appended after the generated ones; a line not starting with `#`
    /// gets the system's prefix (`--gres=gpu:1` becomes `#SBATCH --gres=gpu:1`).
    pub extra_directives: Vec<String>,
    /// A generated directive line containing any of these substrings is dropped (like
    /// dask-jobqueue's `job_directives_skip`); extra directives are never dropped.
    pub directives_skip: Vec<String>,
    /// Shell lines run before the workers (`module load …`).
    pub prologue: Vec<String>,
    /// Shell lines run after the workers exit.
    pub epilogue: Vec<String>,
    /// The script's first line (default `#!/usr/bin/env bash`).
    pub shebang: String,
    /// Arguments appended to every worker command.
    pub extra_worker_args: Vec<String>,
    /// Submit this many identical jobs as one array (where supported); 1 is a plain job.
    pub array_size: Option<u32>,
    /// The program started as worker (default `tessera`; give an absolute path when the job's
    /// `PATH` does not have it).
    pub worker_program: String,
    /// The scheduler file workers read (needed by the default worker command).
    pub scheduler_file: Option<String>,
    /// Replaces the default worker command entirely (then `scheduler_file`, `interface`,
    /// `local_directory` and the lifetime are not added; `extra_worker_args` still are).
    pub worker_command: Option<Vec<String>>,
    /// Workers get `--lifetime` = walltime minus `min(margin, walltime / 10)` so they leave
    /// cleanly before the batch system kills them (default 5 minutes; `None`: no lifetime).
    pub lifetime_margin: Option<Duration>,
    /// Variables exported before the prologue (`export NAME="value"`; `$VARS` expand).
    pub environment: Vec<(String, String)>,
    /// Site conventions per batch system.
    pub system_options: SystemOptions,
}

impl Default for JobSpec {
    fn default() -> Self {
        JobSpec {
            cores: 1,
            memory: 4 << 30,
            processes: 1,
            nodes: 1,
            queue: None,
            account: None,
            walltime: Some(Duration::from_secs(3600)),
            job_name: "tessera-worker".to_owned(),
            log_directory: None,
            local_directory: None,
            interface: None,
            extra_directives: Vec::new(),
            directives_skip: Vec::new(),
            prologue: Vec::new(),
            epilogue: Vec::new(),
            shebang: "#!/usr/bin/env bash".to_owned(),
            extra_worker_args: Vec::new(),
            array_size: None,
            worker_program: "tessera".to_owned(),
            scheduler_file: None,
            worker_command: None,
            lifetime_margin: Some(Duration::from_secs(300)),
            environment: Vec::new(),
            system_options: SystemOptions::default(),
        }
    }
}

impl JobSpec {
    /// Threads each worker runs (`cores / processes`).
    pub fn threads_per_worker(&self) -> u32 {
        self.cores / self.processes.max(1)
    }

    /// Workers the whole job starts (`nodes × processes`).
    pub fn workers_per_job(&self) -> u32 {
        self.nodes.saturating_mul(self.processes)
    }

    /// Cores the whole job asks for (`nodes × cores`).
    pub fn cores_per_job(&self) -> u32 {
        self.nodes.saturating_mul(self.cores)
    }

    /// Each worker's memory limit in bytes (`memory / processes`).
    pub fn worker_memory_limit(&self) -> u64 {
        self.memory / u64::from(self.processes.max(1))
    }

    /// The worker `--lifetime`: walltime minus `min(lifetime_margin, walltime / 10)`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tessera::deploy::jobqueue::JobSpec;
    /// let spec = JobSpec { walltime: Some(Duration::from_secs(3600)), ..JobSpec::default() };
    /// assert_eq!(spec.worker_lifetime(), Some(Duration::from_secs(3300)));
    /// let short = JobSpec { walltime: Some(Duration::from_secs(600)), ..JobSpec::default() };
    /// assert_eq!(short.worker_lifetime(), Some(Duration::from_secs(540)));
    /// ```
    pub fn worker_lifetime(&self) -> Option<Duration> {
        let walltime = self.walltime?;
        let margin = self.lifetime_margin?.min(walltime / 10);
        Some(walltime.saturating_sub(margin))
    }

    /// The number of array tasks when this is an array of more than one job.
    pub fn array_tasks(&self) -> Option<u32> {
        self.array_size.filter(|&n| n > 1)
    }

    /// Check everything every batch system needs; each renderer adds its own checks.
    pub fn validate(&self) -> Result<(), JobSpecError> {
        for (field, value) in [
            ("cores", self.cores),
            ("processes", self.processes),
            ("nodes", self.nodes),
            ("array_size", self.array_size.unwrap_or(1)),
        ] {
            if value == 0 {
                return Err(JobSpecError::Zero { field });
            }
        }
        if self.memory == 0 {
            return Err(JobSpecError::Zero { field: "memory" });
        }
        if !self.cores.is_multiple_of(self.processes) {
            return Err(JobSpecError::CoresNotDivisible {
                cores: self.cores,
                processes: self.processes,
            });
        }
        if self.walltime == Some(Duration::ZERO) {
            return Err(invalid("walltime", "0s", "must be longer than zero"));
        }
        check_job_name(&self.job_name)?;
        check_directive_word("queue", self.queue.as_deref())?;
        check_directive_word("account", self.account.as_deref())?;
        check_directive_word("log_directory", self.log_directory.as_deref())?;
        check_shell_word("local_directory", self.local_directory.as_deref())?;
        check_shell_word("interface", self.interface.as_deref())?;
        check_shell_word("scheduler_file", self.scheduler_file.as_deref())?;
        check_shell_word("worker_program", Some(&self.worker_program))?;
        for arg in &self.extra_worker_args {
            check_line("extra_worker_args", arg)?;
        }
        match &self.worker_command {
            Some(words) if words.is_empty() => {
                return Err(invalid("worker_command", "[]", "must name a program"));
            }
            Some(words) => {
                for word in words {
                    check_line("worker_command", word)?;
                }
            }
            None if self.scheduler_file.is_none() => {
                return Err(JobSpecError::MissingSchedulerFile);
            }
            None => {}
        }
        for line in &self.extra_directives {
            check_line("extra_directives", line)?;
        }
        for skip in &self.directives_skip {
            check_line("directives_skip", skip)?;
            if skip.trim().is_empty() {
                return Err(invalid(
                    "directives_skip",
                    skip,
                    "an empty entry would drop every directive",
                ));
            }
        }
        for line in self.prologue.iter().chain(&self.epilogue) {
            if line.contains('\0') {
                return Err(invalid("prologue/epilogue", line, "contains a NUL byte"));
            }
        }
        if !self.shebang.starts_with("#!") || self.shebang.contains(['\n', '\r', '\0']) {
            return Err(invalid(
                "shebang",
                &self.shebang,
                "must be one line starting with #!",
            ));
        }
        let interpreter: Vec<&str> = self.shebang[2..].split_whitespace().collect();
        if interpreter.len() > 2 && interpreter[0].ends_with("/env") && interpreter[1] != "-S" {
            // Linux hands everything after the interpreter to it as ONE argument.
            return Err(invalid(
                "shebang",
                &self.shebang,
                "Linux passes `bash -l` to env as one word (env: 'bash -l': No such file); \
                 write `#!/bin/bash -l` or `#!/usr/bin/env -S bash -l`",
            ));
        }
        for (name, value) in &self.environment {
            let mut chars = name.chars();
            let first_ok = chars
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
            if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(invalid(
                    "environment",
                    name,
                    "a variable name is a letter or _ followed by letters, digits or _",
                ));
            }
            check_line("environment", value)?;
        }
        let options = &self.system_options;
        check_directive_word(
            "system_options.sge_parallel_environment",
            Some(&options.sge_parallel_environment),
        )?;
        check_directive_word(
            "system_options.sge_memory_resource",
            Some(&options.sge_memory_resource),
        )?;
        check_directive_word("system_options.sge_shell", options.sge_shell.as_deref())?;
        if options.mpirun.is_empty() {
            return Err(invalid(
                "system_options.mpirun",
                "[]",
                "must name a launcher program",
            ));
        }
        for word in &options.mpirun {
            check_line("system_options.mpirun", word)?;
        }
        Ok(())
    }
}

fn invalid(field: &'static str, value: &str, reason: &'static str) -> JobSpecError {
    JobSpecError::InvalidValue {
        field,
        value: value.to_owned(),
        reason,
    }
}

fn check_job_name(name: &str) -> Result<(), JobSpecError> {
    let mut chars = name.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        && name.len() <= 64;
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "job_name",
            name,
            "must be 1 to 64 characters: a letter, then letters, digits, _ . or -",
        ))
    }
}

/// A value placed in a directive line: batch systems split those on whitespace and most do
/// not honour quotes.
fn check_directive_word(field: &'static str, value: Option<&str>) -> Result<(), JobSpecError> {
    let Some(value) = value else { return Ok(()) };
    if value.is_empty() {
        return Err(invalid(field, value, "is empty"));
    }
    if value
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '\'' | '\\'))
    {
        return Err(invalid(
            field,
            value,
            "must not contain spaces, quotes, backslashes or control characters \
             (it goes into a directive line)",
        ));
    }
    Ok(())
}

/// A value placed (quoted) on a shell command line.
fn check_shell_word(field: &'static str, value: Option<&str>) -> Result<(), JobSpecError> {
    let Some(value) = value else { return Ok(()) };
    if value.is_empty() {
        return Err(invalid(field, value, "is empty"));
    }
    check_line(field, value)
}

fn check_line(field: &'static str, value: &str) -> Result<(), JobSpecError> {
    if value.chars().any(|c| c.is_control() && c != '\t') {
        Err(invalid(
            field,
            value,
            "must be a single line without control characters",
        ))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> JobSpec {
        JobSpec {
            scheduler_file: Some("/tmp/s.json".into()),
            ..JobSpec::default()
        }
    }

    #[test]
    fn default_with_scheduler_file_is_valid() {
        assert_eq!(valid().validate(), Ok(()));
        assert_eq!(
            JobSpec::default().validate(),
            Err(JobSpecError::MissingSchedulerFile)
        );
    }

    #[test]
    fn zero_counts_name_the_field() {
        for field in ["cores", "processes", "nodes", "array_size", "memory"] {
            let mut spec = valid();
            match field {
                "cores" => spec.cores = 0,
                "processes" => spec.processes = 0,
                "nodes" => spec.nodes = 0,
                "array_size" => spec.array_size = Some(0),
                _ => spec.memory = 0,
            }
            let err = spec.validate().unwrap_err();
            assert_eq!(err, JobSpecError::Zero { field });
            assert!(err.to_string().contains(field));
        }
    }

    #[test]
    fn cores_must_divide_into_processes() {
        let spec = JobSpec {
            cores: 10,
            processes: 3,
            ..valid()
        };
        let err = spec.validate().unwrap_err();
        assert!(err.to_string().contains("cores (10)"), "{err}");
        assert!(err.to_string().contains("processes (3)"), "{err}");
    }

    #[test]
    fn bad_values_are_named() {
        let cases: Vec<(JobSpec, &str)> = vec![
            (
                JobSpec {
                    job_name: "1abc".into(),
                    ..valid()
                },
                "job_name",
            ),
            (
                JobSpec {
                    queue: Some("two words".into()),
                    ..valid()
                },
                "queue",
            ),
            (
                JobSpec {
                    log_directory: Some("/my logs".into()),
                    ..valid()
                },
                "log_directory",
            ),
            (
                JobSpec {
                    extra_directives: vec!["--a\n#SBATCH --b".into()],
                    ..valid()
                },
                "extra_directives",
            ),
            (
                JobSpec {
                    directives_skip: vec![String::new()],
                    ..valid()
                },
                "directives_skip",
            ),
            (
                JobSpec {
                    environment: vec![("1X".into(), "v".into())],
                    ..valid()
                },
                "environment",
            ),
            (
                JobSpec {
                    shebang: "/bin/bash".into(),
                    ..valid()
                },
                "shebang",
            ),
            (
                JobSpec {
                    walltime: Some(Duration::ZERO),
                    ..valid()
                },
                "walltime",
            ),
            (
                JobSpec {
                    worker_command: Some(vec![]),
                    ..valid()
                },
                "worker_command",
            ),
        ];
        for (spec, field) in cases {
            let err = spec.validate().unwrap_err();
            assert!(
                matches!(err, JobSpecError::InvalidValue { field: f, .. } if f == field),
                "{field}: {err}"
            );
            assert!(err.to_string().contains(field), "{err}");
        }
    }

    #[test]
    fn derived_quantities() {
        let spec = JobSpec {
            cores: 12,
            processes: 3,
            nodes: 2,
            memory: 12 << 30,
            ..valid()
        };
        assert_eq!(spec.threads_per_worker(), 4);
        assert_eq!(spec.workers_per_job(), 6);
        assert_eq!(spec.cores_per_job(), 24);
        assert_eq!(spec.worker_memory_limit(), 4 << 30);
        let no_margin = JobSpec {
            lifetime_margin: None,
            ..valid()
        };
        assert_eq!(no_margin.worker_lifetime(), None);
        let no_walltime = JobSpec {
            walltime: None,
            ..valid()
        };
        assert_eq!(no_walltime.worker_lifetime(), None);
        assert_eq!(valid().array_tasks(), None);
        let one = JobSpec {
            array_size: Some(1),
            ..valid()
        };
        assert_eq!(one.array_tasks(), None);
    }
}
