//! What a command task runs: program and arguments, environment, working directory, where
//! stdin comes from and stdout/stderr go, its time limit and its place in a job. Carried as
//! the argument bytes of a [`COMMAND_KERNEL`](super::COMMAND_KERNEL) task (postcard).
//!
//! This module must not run anything; [`CommandSpec::validate`] checks what can be checked
//! without the worker (templates), the CLI checks the rest before submitting.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::placeholders::{self, PlaceholderError};

/// One program run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandSpec {
    /// Program and arguments; placeholders allowed in every element. A program without `/`
    /// is looked up in `PATH`; a relative path is relative to `cwd`.
    pub argv: Vec<String>,
    /// Extra environment variables (the worker's environment is inherited).
    pub env: Vec<(String, String)>,
    /// Working directory; `None`: the worker's.
    pub cwd: Option<String>,
    /// File read as standard input; `None`: `/dev/null`.
    pub stdin: Option<String>,
    /// Template of the file standard output goes to (truncated); `None`: discarded.
    pub stdout: Option<String>,
    /// Template of the file standard error goes to; `None`: kept in memory for the failure
    /// message only.
    pub stderr: Option<String>,
    /// The process group is killed when the program runs longer; `None`: no limit.
    pub time_limit_ms: Option<u64>,
    /// The job this task belongs to (`%{JOB_ID}`).
    pub job_id: u64,
    /// Position of the task in its job, from 0 (`%{TASK_ID}`, `TESSERA_TASK_ID`).
    pub task_id: u64,
    /// Array index (`%{ARRAY_INDEX}`, `TESSERA_ARRAY_INDEX`); `None` for a single task.
    pub array_index: Option<i64>,
    /// The line or file name of `--each-line`/`--each-file` (`%{ENTRY}`, `TESSERA_ENTRY`).
    pub entry: Option<String>,
    /// CPUs requested (`TESSERA_CPUS` when the worker did not assign specific ones).
    pub cpus: u32,
}

/// The argument bytes of a command task are not a command.
#[derive(Debug, thiserror::Error)]
#[error("not a command task description: {0}")]
pub struct SpecDecodeError(#[from] postcard::Error);

impl CommandSpec {
    /// A command running `argv` with 1 CPU and nothing else set.
    pub fn new<S: Into<String>>(argv: impl IntoIterator<Item = S>) -> Self {
        CommandSpec {
            argv: argv.into_iter().map(Into::into).collect(),
            cpus: 1,
            ..CommandSpec::default()
        }
    }

    /// The time limit, if any.
    pub fn time_limit(&self) -> Option<Duration> {
        self.time_limit_ms.map(Duration::from_millis)
    }

    /// The task's argument bytes.
    pub fn encode(&self) -> bytes::Bytes {
        // Serialising plain strings and integers into a Vec cannot fail.
        bytes::Bytes::from(postcard::to_stdvec(self).unwrap_or_default())
    }

    /// Back from argument bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, SpecDecodeError> {
        Ok(postcard::from_bytes(bytes)?)
    }

    /// Every template (argv, output paths) uses known placeholders, and there is a program.
    pub fn validate(&self) -> Result<(), PlaceholderError> {
        for t in self
            .argv
            .iter()
            .chain(self.stdout.iter())
            .chain(self.stderr.iter())
            .chain(self.stdin.iter())
        {
            placeholders::validate(t)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_argument_bytes() {
        let mut spec = CommandSpec::new(["./sim", "--seed", "%{ARRAY_INDEX}"]);
        spec.env.push(("A".into(), "1".into()));
        spec.stdout = Some("out/%{ARRAY_INDEX}.txt".into());
        spec.time_limit_ms = Some(1500);
        spec.array_index = Some(-4);
        let back = CommandSpec::decode(&spec.encode()).unwrap();
        assert_eq!(back, spec);
        assert_eq!(back.time_limit(), Some(Duration::from_millis(1500)));
        assert!(CommandSpec::decode(b"\xff\xff\xff").is_err());
    }
}
