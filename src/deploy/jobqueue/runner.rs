//! The thin command runner: runs the argv vectors of the pure layer (submit, status, cancel)
//! without a shell, with a timeout, and turns what goes wrong into errors a user can act on:
//! a missing command names the package or module that provides it, a refused submission
//! carries the batch system's own message verbatim.
//!
//! This module runs commands and nothing else: it must not parse their output (the batch
//! system modules do) or decide what to submit.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::system::BatchSystem;

/// A batch-system command failed.
#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    /// The program is not installed or not on `PATH`.
    #[error("{program}: command not found ({system} is not available here): {hint}")]
    NotFound {
        /// The program.
        program: String,
        /// The batch system it belongs to.
        system: BatchSystem,
        /// Which package or module provides it.
        hint: String,
    },
    /// The program ran and exited with an error; `stderr` is its own message.
    #[error("`{command}` failed ({status}): {}", message_of(stderr, stdout))]
    Failed {
        /// The command line, for the message.
        command: String,
        /// Its exit status.
        status: String,
        /// Its standard error, verbatim.
        stderr: String,
        /// Its standard output, verbatim.
        stdout: String,
    },
    /// The program did not finish in time and was killed.
    #[error("`{command}` did not finish within {timeout:?} and was killed")]
    TimedOut {
        /// The command line.
        command: String,
        /// The limit.
        timeout: Duration,
    },
    /// The program could not be started for another reason.
    #[error("cannot run {program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// Why.
        source: std::io::Error,
    },
}

fn message_of(stderr: &str, stdout: &str) -> String {
    let text = if stderr.trim().is_empty() {
        stdout.trim()
    } else {
        stderr.trim()
    };
    if text.is_empty() {
        "no message".to_owned()
    } else {
        text.to_owned()
    }
}

/// What a finished command printed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandOutput {
    /// Exit code (`None` when killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl CommandOutput {
    /// Exited with status 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }
}

/// Which package or module provides `program` of `system`.
///
/// ```
/// use tessera::deploy::jobqueue::{runner::install_hint, BatchSystem};
/// assert!(install_hint(BatchSystem::Slurm, "sbatch").contains("slurm-client"));
/// ```
pub fn install_hint(system: BatchSystem, program: &str) -> String {
    let provider = match system {
        BatchSystem::Slurm => {
            "install the SLURM client commands (Debian/Ubuntu: `apt install slurm-client`; \
             RHEL: `dnf install slurm`) or load them with `module load slurm`"
        }
        BatchSystem::Pbs => {
            "install the PBS client commands (OpenPBS: `openpbs-client`; Torque, Debian/Ubuntu: \
             `apt install torque-client`) or `module load pbs`; with SLURM's Torque wrappers, \
             point --bin-dir at their folder"
        }
        BatchSystem::Sge => {
            "install the Grid Engine client commands (Debian/Ubuntu: `apt install \
             gridengine-client`) or source `$SGE_ROOT/default/common/settings.sh`"
        }
        BatchSystem::Lsf => {
            "load LSF's environment (`source $LSF_ENVDIR/profile.lsf`) or `module load lsf`"
        }
        BatchSystem::HtCondor => {
            "install HTCondor (Debian/Ubuntu: `apt install htcondor`) or `module load htcondor`"
        }
        BatchSystem::Oar => "install the OAR user commands (Debian/Ubuntu: `apt install oar-user`)",
        BatchSystem::Moab => "load the Moab client commands (`module load moab`)",
    };
    format!("`{program}` is provided by the {system} client tools: {provider}")
}

/// Runs batch-system commands.
#[derive(Clone, Debug)]
pub struct CommandRunner {
    /// The batch system the commands belong to (for error messages).
    pub system: BatchSystem,
    /// A folder searched before `PATH` (e.g. where SLURM's Torque wrappers live).
    pub bin_dir: Option<PathBuf>,
    /// Longest a command may run (default 60 s).
    pub timeout: Duration,
}

impl CommandRunner {
    /// A runner for `system` with the default timeout and `PATH`.
    pub fn new(system: BatchSystem) -> Self {
        CommandRunner {
            system,
            bin_dir: None,
            timeout: Duration::from_secs(60),
        }
    }

    /// Run `argv` and return what it printed, whatever its exit status (status commands exit
    /// non-zero for ids they no longer know).
    pub fn run(&self, argv: &[String]) -> Result<CommandOutput, RunnerError> {
        let Some((program, args)) = argv.split_first() else {
            return Err(RunnerError::Spawn {
                program: String::new(),
                source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "empty command"),
            });
        };
        let mut command = Command::new(self.resolve(program));
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(dir) = &self.bin_dir {
            // Programs the command itself runs (`sh -c 'bsub < …'`) find the folder too.
            let path = std::env::var_os("PATH").unwrap_or_default();
            let mut joined = dir.clone().into_os_string();
            if !path.is_empty() {
                joined.push(":");
                joined.push(path);
            }
            command.env("PATH", joined);
        }
        let mut child = command.spawn().map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                RunnerError::NotFound {
                    program: program.clone(),
                    system: self.system,
                    hint: install_hint(self.system, program),
                }
            } else {
                RunnerError::Spawn {
                    program: program.clone(),
                    source,
                }
            }
        })?;
        let stdout = child.stdout.take().map(read_in_thread);
        let stderr = child.stderr.take().map(read_in_thread);
        let deadline = Instant::now() + self.timeout;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() >= deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(RunnerError::TimedOut {
                        command: argv.join(" "),
                        timeout: self.timeout,
                    });
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                Err(source) => {
                    return Err(RunnerError::Spawn {
                        program: program.clone(),
                        source,
                    })
                }
            }
        };
        let collect = |h: Option<std::thread::JoinHandle<String>>| {
            h.and_then(|h| h.join().ok()).unwrap_or_default()
        };
        Ok(CommandOutput {
            code: status.code(),
            stdout: collect(stdout),
            stderr: collect(stderr),
        })
    }

    /// Run `argv` and fail unless it exits with status 0; the error carries its messages.
    pub fn run_checked(&self, argv: &[String]) -> Result<CommandOutput, RunnerError> {
        let output = self.run(argv)?;
        if output.success() {
            Ok(output)
        } else {
            Err(RunnerError::Failed {
                command: argv.join(" "),
                status: match output.code {
                    Some(code) => format!("exit status {code}"),
                    None => "killed by a signal".to_owned(),
                },
                stderr: output.stderr,
                stdout: output.stdout,
            })
        }
    }

    fn resolve(&self, program: &str) -> PathBuf {
        if let Some(dir) = &self.bin_dir {
            if !program.contains('/') {
                let candidate = dir.join(program);
                if candidate.exists() {
                    return candidate;
                }
            }
        }
        PathBuf::from(program)
    }
}

fn read_in_thread<R: Read + Send + 'static>(mut reader: R) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = reader.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn missing_command_names_the_package() {
        let runner = CommandRunner::new(BatchSystem::Sge);
        let err = runner
            .run(&argv(&["tessera-no-such-qsub", "x"]))
            .unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, RunnerError::NotFound { .. }), "{text}");
        assert!(text.contains("gridengine-client"), "{text}");
        assert!(text.contains("tessera-no-such-qsub"), "{text}");
        for system in BatchSystem::ALL {
            assert!(install_hint(system, "x").contains(system.name()));
        }
        assert!(install_hint(BatchSystem::Oar, "oarsub").contains("oar-user"));
        assert!(install_hint(BatchSystem::Slurm, "sbatch").contains("module load slurm"));
    }

    #[test]
    fn refusal_carries_the_tools_own_message() {
        let runner = CommandRunner::new(BatchSystem::Slurm);
        let err = runner
            .run_checked(&argv(&[
                "sh",
                "-c",
                "echo 'sbatch: error: invalid partition specified: nope' >&2; exit 1",
            ]))
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("sbatch: error: invalid partition specified: nope"),
            "{text}"
        );
        assert!(text.contains("exit status 1"), "{text}");
    }

    #[test]
    fn output_and_exit_code_are_returned() {
        let runner = CommandRunner::new(BatchSystem::Slurm);
        let out = runner
            .run(&argv(&["sh", "-c", "echo out; echo err >&2; exit 3"]))
            .unwrap();
        assert_eq!(out.code, Some(3));
        assert_eq!(out.stdout, "out\n");
        assert_eq!(out.stderr, "err\n");
        assert!(!out.success());
    }

    #[test]
    fn slow_commands_time_out() {
        let runner = CommandRunner {
            timeout: Duration::from_millis(200),
            ..CommandRunner::new(BatchSystem::Pbs)
        };
        let started = Instant::now();
        let err = runner.run(&argv(&["sleep", "5"])).unwrap_err();
        assert!(matches!(err, RunnerError::TimedOut { .. }), "{err}");
        assert!(started.elapsed() < Duration::from_secs(3));
    }

    #[test]
    fn bin_dir_is_searched_first() {
        let dir = tempfile::tempdir().unwrap();
        let tool = dir.path().join("tessera-fake-qstat");
        std::fs::write(&tool, "#!/bin/sh\necho from-bin-dir\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
        let runner = CommandRunner {
            bin_dir: Some(dir.path().to_owned()),
            ..CommandRunner::new(BatchSystem::Pbs)
        };
        let out = runner.run(&argv(&["tessera-fake-qstat"])).unwrap();
        assert_eq!(out.stdout, "from-bin-dir\n");
        let out = runner
            .run(&argv(&["sh", "-c", "tessera-fake-qstat"]))
            .unwrap();
        assert_eq!(out.stdout, "from-bin-dir\n", "PATH includes the folder");
    }
}
