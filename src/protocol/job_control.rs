//! Messages of the job layer: a client submits a job of command tasks, lists jobs, asks about
//! one, cancels one. The scheduler owns jobs (they survive the client disconnecting). This
//! module is data only; it must not know sockets or how jobs are kept.

use serde::{Deserialize, Serialize};

use crate::core::ResourceRequest;
use crate::runtime::command::CommandSpec;

/// What the tasks of a job iterate over.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobEntries {
    /// One task.
    Single,
    /// `--array START-END[:STEP]`, both ends included.
    Range { start: i64, end: i64, step: i64 },
    /// `--each-line FILE`: one task per line (`%{ENTRY}`, `%{ARRAY_INDEX}` = line number
    /// from 0).
    Lines(Vec<String>),
    /// `--each-file GLOB`: one task per matching file (`%{ENTRY}`).
    Files(Vec<String>),
    /// Chosen tasks of another job (`tessera job resubmit`): each one's array index and entry.
    Listed(Vec<(Option<i64>, Option<String>)>),
}

impl JobEntries {
    /// Number of tasks.
    pub fn len(&self) -> u64 {
        match self {
            JobEntries::Single => 1,
            JobEntries::Range { start, end, step } => {
                if end < start || *step <= 0 {
                    0
                } else {
                    ((*end as i128 - *start as i128) / *step as i128 + 1) as u64
                }
            }
            JobEntries::Lines(v) | JobEntries::Files(v) => v.len() as u64,
            JobEntries::Listed(v) => v.len() as u64,
        }
    }

    /// True when there is no task.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Array index and entry of task `i` (from 0).
    pub fn task(&self, i: u64) -> (Option<i64>, Option<&str>) {
        match self {
            JobEntries::Single => (None, None),
            JobEntries::Range { start, step, .. } => (
                Some(start.saturating_add((i as i64).saturating_mul(*step))),
                None,
            ),
            JobEntries::Lines(v) | JobEntries::Files(v) => {
                (Some(i as i64), v.get(i as usize).map(String::as_str))
            }
            JobEntries::Listed(v) => v
                .get(i as usize)
                .map_or((None, None), |(index, entry)| (*index, entry.as_deref())),
        }
    }

    /// The entries of the tasks `ids` (positions from 0) of a job with these entries.
    pub fn subset(&self, ids: &[u64]) -> JobEntries {
        JobEntries::Listed(
            ids.iter()
                .map(|&i| {
                    let (index, entry) = self.task(i);
                    (index, entry.map(str::to_string))
                })
                .collect(),
        )
    }
}

/// A job as submitted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobSubmission {
    /// Shown by `tessera job list` (default: the program name).
    pub name: String,
    /// The command of every task; placeholders are filled per task.
    pub command: CommandSpec,
    pub entries: JobEntries,
    pub resources: ResourceRequest,
    /// A task whose program fails is run again until it failed this many times (≥ 1).
    pub max_fails: u32,
    /// Jobs that must end successfully before this one's tasks start.
    pub after: Vec<u64>,
}

/// Client → scheduler.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobRequest {
    Submit(Box<JobSubmission>),
    List,
    Info { job: u64 },
    Cancel { job: u64 },
}

/// Where one task of a job is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaskState {
    Waiting,
    Running,
    Finished,
    Failed,
    Cancelled,
}

impl TaskState {
    /// Lower-case name (`running`).
    pub fn name(self) -> &'static str {
        match self {
            TaskState::Waiting => "waiting",
            TaskState::Running => "running",
            TaskState::Finished => "finished",
            TaskState::Failed => "failed",
            TaskState::Cancelled => "cancelled",
        }
    }

    /// Finished, failed or cancelled.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            TaskState::Finished | TaskState::Failed | TaskState::Cancelled
        )
    }
}

/// Counts of a job's tasks by state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobCounts {
    pub waiting: u64,
    pub running: u64,
    pub finished: u64,
    pub failed: u64,
    pub cancelled: u64,
}

impl JobCounts {
    pub fn total(&self) -> u64 {
        self.waiting + self.running + self.finished + self.failed + self.cancelled
    }

    /// Every task has ended.
    pub fn done(&self) -> bool {
        self.waiting == 0 && self.running == 0
    }

    /// `finished`, `failed`, `cancelled` (once every task ended) or `running`/`waiting`.
    pub fn state(&self) -> &'static str {
        if !self.done() {
            if self.running > 0 || self.finished + self.failed > 0 {
                "running"
            } else {
                "waiting"
            }
        } else if self.cancelled > 0 {
            "cancelled"
        } else if self.failed > 0 {
            "failed"
        } else {
            "finished"
        }
    }
}

/// One job in `tessera job list`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobSummary {
    pub id: u64,
    pub name: String,
    pub counts: JobCounts,
    /// Unix milliseconds.
    pub submitted_ms: u64,
}

/// One task in `tessera job info`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskDetail {
    pub task_id: u64,
    pub array_index: Option<i64>,
    pub state: TaskState,
    /// Runs started (more than one after a retry or a lost worker).
    pub attempts: u32,
    /// Exit code of the last run, when it exited.
    pub exit_code: Option<i32>,
    /// Name of the worker of the last run.
    pub worker: Option<String>,
    /// When the last run was sent to its worker and when it ended (Unix milliseconds).
    pub started_ms: Option<u64>,
    pub ended_ms: Option<u64>,
    /// Why the last run failed.
    pub error: Option<String>,
}

/// A job in `tessera job info`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobDetail {
    pub summary: JobSummary,
    pub submission: JobSubmission,
    pub tasks: Vec<TaskDetail>,
}

/// Scheduler → client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobReply {
    Submitted {
        job: u64,
        tasks: u64,
    },
    /// The request cannot be carried out (one line saying why).
    Refused(String),
    List(Vec<JobSummary>),
    Info(Box<JobDetail>),
    Cancelled {
        job: u64,
        tasks: u64,
    },
}
