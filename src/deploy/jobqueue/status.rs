//! The shared job model: job ids as the batch system prints them and the states a job can be in.
//!
//! Every batch system's status parser maps its own state names onto [`JobState`]; this module
//! holds the vocabulary and the rules for comparing ids (array tasks and server suffixes) and for
//! combining the states of a job's array tasks. It must not know any one system's output format.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A job's id as the batch system gave it at submission (`654321`, `42.servername`,
/// `123[].server`, `Moab.77`). Pass it back unchanged to the status and cancel commands.
///
/// ```
/// use tessera::deploy::jobqueue::JobId;
/// let id = JobId::new("42.servername");
/// assert_eq!(id.as_str(), "42.servername");
/// assert_eq!(id.key(), "42");
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobId(String);

impl JobId {
    /// An id from its text.
    pub fn new(id: impl Into<String>) -> Self {
        JobId(id.into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part of the id that names the job across output formats: see [`job_key`].
    pub fn key(&self) -> &str {
        job_key(&self.0)
    }
}

impl fmt::Debug for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The part of a job id token that identifies the whole job, so that ids printed by status
/// tools can be matched with the id printed at submission.
///
/// An id starting with a digit is reduced to its leading digits: `42.servername` → `42`,
/// `123_4` and `123_[0-3]` (SLURM array tasks) → `123`, `77[2].srv` (PBS array task) → `77`,
/// `5.1-2:1` (SGE array) → `5`. Other ids (Moab's `Moab.77`) lose only an array index
/// (`Moab.77[3]` → `Moab.77`).
///
/// ```
/// use tessera::deploy::jobqueue::job_key;
/// assert_eq!(job_key("123_[0-3]"), "123");
/// assert_eq!(job_key("Moab.77[3]"), "Moab.77");
/// ```
pub fn job_key(token: &str) -> &str {
    let token = token.trim();
    let digits = token.bytes().take_while(u8::is_ascii_digit).count();
    if digits > 0 {
        return &token[..digits];
    }
    match token.find(['[', '_']) {
        Some(end) => &token[..end],
        None => token,
    }
}

/// Where a job is in its life, in the terms every batch system can be mapped onto.
///
/// A job whose id is missing from a status query's output is **not in the queue any more** (or
/// never was): most systems forget finished jobs after a while and SGE forgets them at once.
/// Status parsers therefore leave such ids out of their result instead of guessing a state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum JobState {
    /// Queued, held, suspended or being set up: no workers run yet (or not now).
    Pending,
    /// Running (including finishing steps that still hold the allocation).
    Running,
    /// Ended normally (or the system does not say how it ended).
    Finished,
    /// Ended with an error: non-zero exit, time limit, node failure, out of memory.
    Failed,
    /// Removed by a user or an administrator.
    Cancelled,
    /// The system printed a state this crate does not know.
    Unknown,
}

impl JobState {
    /// Whether the job has ended and will not run again.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobState::Finished | JobState::Failed | JobState::Cancelled
        )
    }

    /// The state of a job made of several tasks (an array) from the states of two of them:
    /// the job is as alive as its most alive task (`Running` > `Pending` > `Unknown`), and once
    /// every task has ended, a failure outweighs a cancellation, which outweighs success.
    ///
    /// ```
    /// use tessera::deploy::jobqueue::JobState;
    /// assert_eq!(JobState::Finished.combine(JobState::Running), JobState::Running);
    /// assert_eq!(JobState::Finished.combine(JobState::Failed), JobState::Failed);
    /// ```
    pub fn combine(self, other: JobState) -> JobState {
        if self.rank() >= other.rank() {
            self
        } else {
            other
        }
    }

    fn rank(self) -> u8 {
        match self {
            JobState::Running => 5,
            JobState::Pending => 4,
            JobState::Unknown => 3,
            JobState::Failed => 2,
            JobState::Cancelled => 1,
            JobState::Finished => 0,
        }
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            JobState::Pending => "pending",
            JobState::Running => "running",
            JobState::Finished => "finished",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
            JobState::Unknown => "unknown",
        };
        f.write_str(name)
    }
}

/// Collects `(id token, state)` pairs from a status tool's output into the states of the
/// requested jobs, matching tokens by [`job_key`] and combining array tasks with
/// [`JobState::combine`]. Tokens of jobs nobody asked about are dropped.
#[derive(Debug)]
pub struct StatusCollector<'a> {
    requested: &'a [JobId],
    states: std::collections::HashMap<JobId, JobState>,
}

impl<'a> StatusCollector<'a> {
    /// A collector for the states of `requested`.
    pub fn new(requested: &'a [JobId]) -> Self {
        StatusCollector {
            requested,
            states: std::collections::HashMap::new(),
        }
    }

    /// Record that the job (or array task) printed as `token` is in `state`.
    pub fn record(&mut self, token: &str, state: JobState) {
        let key = job_key(token);
        if key.is_empty() {
            return;
        }
        for id in self.requested.iter().filter(|id| id.key() == key) {
            self.states
                .entry(id.clone())
                .and_modify(|s| *s = s.combine(state))
                .or_insert(state);
        }
    }

    /// The states found, keyed by the requested ids.
    pub fn finish(self) -> std::collections::HashMap<JobId, JobState> {
        self.states
    }
}

/// States from output with one `ID STATE` pair per line (`squeue -o "%i %T"`, `bjobs -o "jobid
/// stat"`, `condor_q -af ClusterId JobStatus`): lines of any other shape, and ids `accept` rejects,
/// are skipped; array tasks are combined into their job.
pub fn parse_id_state_lines(
    stdout: &str,
    ids: &[JobId],
    state_of: fn(&str) -> JobState,
    accept: fn(&str) -> bool,
) -> std::collections::HashMap<JobId, JobState> {
    let mut collector = StatusCollector::new(ids);
    for line in stdout.lines() {
        let mut words = line.split_whitespace();
        if let (Some(id), Some(state), None) = (words.next(), words.next(), words.next()) {
            if accept(id) {
                collector.record(id, state_of(state));
            }
        }
    }
    collector.finish()
}

/// `PROGRAM ID…`: the cancel (and some status) commands, which take the ids as they were given.
pub fn command_with_ids(program: &str, ids: &[JobId]) -> Vec<String> {
    std::iter::once(program.to_owned())
        .chain(ids.iter().map(|id| id.as_str().to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_strip_arrays_and_servers() {
        assert_eq!(job_key("654321"), "654321");
        assert_eq!(job_key("654321.admin01"), "654321");
        assert_eq!(job_key("123_[0-3%2]"), "123");
        assert_eq!(job_key("123_7"), "123");
        assert_eq!(job_key("77[].server"), "77");
        assert_eq!(job_key("5.1-2:1"), "5");
        assert_eq!(job_key("Moab.12"), "Moab.12");
        assert_eq!(job_key("Moab.12[4]"), "Moab.12");
        assert_eq!(job_key("  9 "), "9");
    }

    #[test]
    fn combine_prefers_alive_then_failure() {
        use JobState::*;
        assert_eq!(Pending.combine(Running), Running);
        assert_eq!(Finished.combine(Pending), Pending);
        assert_eq!(Cancelled.combine(Failed), Failed);
        assert_eq!(Finished.combine(Cancelled), Cancelled);
        assert_eq!(Unknown.combine(Finished), Unknown);
        assert!(Failed.is_terminal() && !Pending.is_terminal() && !Unknown.is_terminal());
    }

    #[test]
    fn collector_matches_requested_only() {
        let ids = [JobId::new("10.srv"), JobId::new("11")];
        let mut c = StatusCollector::new(&ids);
        c.record("10_0", JobState::Finished);
        c.record("10_1", JobState::Running);
        c.record("12", JobState::Running);
        let states = c.finish();
        assert_eq!(states.len(), 1);
        assert_eq!(states[&ids[0]], JobState::Running);
    }
}
