//! The scheduler's book of jobs: submissions become task specs (one command task per entry,
//! key `tessera.job-<job>-<task>-<attempt>`), reports of the core become per-task states,
//! a failed task is run again until `max_fails`, jobs wait for the jobs they come `after`.
//! Pure: times are passed in as Unix milliseconds; it must not do I/O.

use std::collections::BTreeMap;

use crate::core::{TaskKey, TaskSpec};
use crate::protocol::job_control::{
    JobCounts, JobDetail, JobSubmission, JobSummary, TaskDetail, TaskState,
};
use crate::runtime::command::COMMAND_KERNEL;

use super::journal::JournalRecord;

const KEY_PREFIX: &str = "tessera.job-";

/// What the driver must do after a report: submit these tasks (to the core, for the job
/// owner), release these keys (ended tasks whose result nobody needs).
#[derive(Debug, Default, PartialEq)]
pub struct JobEffects {
    pub submit: Vec<TaskSpec>,
    pub release: Vec<TaskKey>,
    pub cancel: Vec<TaskKey>,
    /// Tasks that ended, for the journal.
    pub ended: Vec<JournalRecord>,
}

struct TaskRecord {
    state: TaskState,
    attempts: u32,
    exit_code: Option<i32>,
    worker: Option<u32>,
    started_ms: Option<u64>,
    ended_ms: Option<u64>,
    error: Option<Box<str>>,
}

struct Job {
    submission: JobSubmission,
    submitted_ms: u64,
    tasks: Vec<TaskRecord>,
    counts: JobCounts,
    /// Waiting for jobs of `after` to finish: no task submitted yet.
    held: bool,
}

/// Every job of this scheduler.
#[derive(Default)]
pub struct JobBook {
    jobs: BTreeMap<u64, Job>,
    next_id: u64,
}

/// The key of one run of one task.
pub fn task_key(job: u64, task: u64, attempt: u32) -> TaskKey {
    TaskKey::new(format!("{KEY_PREFIX}{job}-{task}-{attempt}"))
}

/// The key is one of a job's tasks.
pub fn is_job_key(key: &TaskKey) -> bool {
    key.as_str().starts_with(KEY_PREFIX)
}

/// `(job, task, attempt)` of a key made by [`task_key`].
pub fn parse_key(key: &TaskKey) -> Option<(u64, u64, u32)> {
    let rest = key.as_str().strip_prefix(KEY_PREFIX)?;
    let mut parts = rest.splitn(3, '-');
    let job = parts.next()?.parse().ok()?;
    let task = parts.next()?.parse().ok()?;
    let attempt = parts.next()?.parse().ok()?;
    Some((job, task, attempt))
}

/// The count of tasks in `state`.
fn counter(counts: &mut JobCounts, state: TaskState) -> &mut u64 {
    match state {
        TaskState::Waiting => &mut counts.waiting,
        TaskState::Running => &mut counts.running,
        TaskState::Finished => &mut counts.finished,
        TaskState::Failed => &mut counts.failed,
        TaskState::Cancelled => &mut counts.cancelled,
    }
}

/// The exit code in a command task's failure message, if it exited.
fn exit_code_of(message: &str) -> Option<i32> {
    let at = message.find(" exited with code ")? + " exited with code ".len();
    let digits: String = message[at..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '-')
        .collect();
    digits.parse().ok()
}

impl JobBook {
    /// No jobs; the first gets id 1.
    pub fn new() -> Self {
        JobBook {
            jobs: BTreeMap::new(),
            next_id: 1,
        }
    }

    /// Record a job; returns its id and the tasks to submit now (none while it waits for
    /// the jobs it comes after, or when one of those failed: then its tasks are cancelled).
    pub fn submit(&mut self, submission: JobSubmission, now_ms: u64) -> (u64, Vec<TaskSpec>) {
        let mut effects = JobEffects::default();
        let id = self.insert(submission, now_ms, &mut effects, true);
        (id, effects.submit)
    }

    /// The journal record of a job's submission.
    pub fn submitted_record(&self, id: u64) -> Option<JournalRecord> {
        let job = self.jobs.get(&id)?;
        Some(JournalRecord::Submitted {
            job: id,
            submitted_ms: job.submitted_ms,
            submission: Box::new(job.submission.clone()),
        })
    }

    fn insert(
        &mut self,
        submission: JobSubmission,
        now_ms: u64,
        effects: &mut JobEffects,
        start: bool,
    ) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let n = submission.entries.len();
        let tasks = (0..n)
            .map(|_| TaskRecord {
                state: TaskState::Waiting,
                attempts: 0,
                exit_code: None,
                worker: None,
                started_ms: None,
                ended_ms: None,
                error: None,
            })
            .collect();
        let counts = JobCounts {
            waiting: n,
            ..JobCounts::default()
        };
        self.jobs.insert(
            id,
            Job {
                submission,
                submitted_ms: now_ms,
                tasks,
                counts,
                held: true,
            },
        );
        if start {
            self.start_if_ready(id, now_ms, effects);
        }
        id
    }

    /// The jobs a job comes after: all finished (`Some(true)`), one failed or cancelled or
    /// unknown (`Some(false)`), or some still going (`None`).
    fn after_state(&self, id: u64) -> Option<bool> {
        let job = &self.jobs[&id];
        let mut all = true;
        for before in &job.submission.after {
            match self.jobs.get(before) {
                None => return Some(false),
                Some(b) if !b.counts.done() => all = false,
                Some(b) if b.counts.finished != b.counts.total() => return Some(false),
                Some(_) => {}
            }
        }
        all.then_some(true)
    }

    fn start_if_ready(&mut self, id: u64, now_ms: u64, effects: &mut JobEffects) {
        match self.after_state(id) {
            None => {}
            Some(true) => {
                let job = self.jobs.get_mut(&id).expect("job exists");
                job.held = false;
                for task in 0..job.tasks.len() as u64 {
                    if !job.tasks[task as usize].state.is_terminal() {
                        effects.submit.push(Self::spec(id, job, task));
                    }
                }
            }
            Some(false) => {
                let job = self.jobs.get_mut(&id).expect("job exists");
                job.held = false;
                for task in 0..job.tasks.len() as u64 {
                    if job.tasks[task as usize].state.is_terminal() {
                        continue;
                    }
                    Self::set_state(job, task, TaskState::Cancelled);
                    let t = &mut job.tasks[task as usize];
                    t.ended_ms = Some(now_ms);
                    t.error = Some("a job it comes after (--after) did not finish".into());
                    effects.ended.push(Self::ended_record(id, task, t));
                }
            }
        }
    }

    fn ended_record(job: u64, task: u64, t: &TaskRecord) -> JournalRecord {
        JournalRecord::Ended {
            job,
            task,
            state: t.state,
            exit_code: t.exit_code,
            ended_ms: t.ended_ms.unwrap_or(0),
        }
    }

    /// Rebuild the book from a journal's records; returns the tasks to submit (those that had
    /// not ended, of jobs free to run).
    pub fn restore(&mut self, records: Vec<JournalRecord>, now_ms: u64) -> Vec<TaskSpec> {
        for record in records {
            match record {
                JournalRecord::Submitted {
                    job,
                    submitted_ms,
                    submission,
                } => {
                    self.next_id = job;
                    let mut ignored = JobEffects::default();
                    self.insert(*submission, submitted_ms, &mut ignored, false);
                }
                JournalRecord::Ended {
                    job,
                    task,
                    state,
                    exit_code,
                    ended_ms,
                } => {
                    let Some(j) = self.jobs.get_mut(&job) else {
                        continue;
                    };
                    if j.tasks
                        .get(task as usize)
                        .is_none_or(|t| t.state.is_terminal())
                    {
                        continue;
                    }
                    Self::set_state(j, task, state);
                    let t = &mut j.tasks[task as usize];
                    t.exit_code = exit_code;
                    t.ended_ms = Some(ended_ms);
                }
            }
        }
        let mut effects = JobEffects::default();
        let ids: Vec<u64> = self.jobs.keys().copied().collect();
        for id in ids {
            self.start_if_ready(id, now_ms, &mut effects);
        }
        effects.submit
    }

    /// The task spec of the next run of `task`.
    fn spec(id: u64, job: &mut Job, task: u64) -> TaskSpec {
        let record = &mut job.tasks[task as usize];
        record.attempts += 1;
        let (array_index, entry) = job.submission.entries.task(task);
        let mut command = job.submission.command.clone();
        command.job_id = id;
        command.task_id = task;
        command.array_index = array_index;
        command.entry = entry.map(str::to_string);
        command.cpus = job.submission.resources.cpus;
        TaskSpec::new(
            task_key(id, task, record.attempts),
            COMMAND_KERNEL,
            command.encode(),
            Vec::new(),
        )
        .with_resources(job.submission.resources.clone())
    }

    /// The record of the current run of `key` (`None` for a stale or foreign key).
    fn record(&mut self, key: &TaskKey) -> Option<(u64, u64, &mut Job)> {
        let (id, task, attempt) = parse_key(key)?;
        let job = self.jobs.get_mut(&id)?;
        let record = job.tasks.get(task as usize)?;
        (record.attempts == attempt).then_some((id, task, job))
    }

    /// Like `record`, for a task that has not ended.
    fn unended(&mut self, key: &TaskKey) -> Option<(u64, u64, &mut Job)> {
        self.record(key)
            .filter(|(_, task, job)| !job.tasks[*task as usize].state.is_terminal())
    }

    fn set_state(job: &mut Job, task: u64, state: TaskState) {
        let record = &mut job.tasks[task as usize];
        *counter(&mut job.counts, record.state) -= 1;
        *counter(&mut job.counts, state) += 1;
        record.state = state;
    }

    /// The core sent a run of `key` to a worker.
    pub fn on_assigned(&mut self, key: &TaskKey, worker: u32, now_ms: u64) {
        if let Some((_, task, job)) = self.unended(key) {
            Self::set_state(job, task, TaskState::Running);
            let record = &mut job.tasks[task as usize];
            record.worker = Some(worker);
            record.started_ms = Some(now_ms);
        }
    }

    /// A run of `key` succeeded.
    pub fn on_finished(&mut self, key: &TaskKey, now_ms: u64) -> JobEffects {
        let mut effects = JobEffects::default();
        effects.release.push(key.clone());
        let Some((id, task, job)) = self.unended(key) else {
            return effects;
        };
        Self::set_state(job, task, TaskState::Finished);
        let record = &mut job.tasks[task as usize];
        record.ended_ms = Some(now_ms);
        record.exit_code = Some(0);
        record.error = None;
        effects.ended.push(Self::ended_record(id, task, record));
        let done = job.counts.done();
        if done {
            self.job_ended(id, now_ms, &mut effects);
        }
        effects
    }

    /// A run of `key` failed: run it again (new key) or fail the task.
    pub fn on_failed(&mut self, key: &TaskKey, message: &str, now_ms: u64) -> JobEffects {
        let mut effects = JobEffects::default();
        effects.release.push(key.clone());
        let Some((id, task, job)) = self.unended(key) else {
            return effects;
        };
        let record = &mut job.tasks[task as usize];
        record.exit_code = exit_code_of(message);
        record.error = Some(message.into());
        record.ended_ms = Some(now_ms);
        if record.attempts < job.submission.max_fails.max(1) {
            Self::set_state(job, task, TaskState::Waiting);
            effects.submit.push(Self::spec(id, job, task));
            return effects;
        }
        Self::set_state(job, task, TaskState::Failed);
        effects
            .ended
            .push(Self::ended_record(id, task, &job.tasks[task as usize]));
        if job.counts.done() {
            self.job_ended(id, now_ms, &mut effects);
        }
        effects
    }

    /// Cancel a job's unfinished tasks; `None` when the job is unknown.
    pub fn cancel(&mut self, id: u64, now_ms: u64) -> Option<JobEffects> {
        let job = self.jobs.get_mut(&id)?;
        let mut effects = JobEffects::default();
        for task in 0..job.tasks.len() as u64 {
            let record = &job.tasks[task as usize];
            if record.state.is_terminal() {
                continue;
            }
            if !job.held {
                effects.cancel.push(task_key(id, task, record.attempts));
            }
            Self::set_state(job, task, TaskState::Cancelled);
            let record = &mut job.tasks[task as usize];
            record.ended_ms = Some(now_ms);
            effects.ended.push(Self::ended_record(id, task, record));
        }
        job.held = false;
        self.job_ended(id, now_ms, &mut effects);
        Some(effects)
    }

    /// A job ended: start (or cancel) the jobs waiting for it.
    fn job_ended(&mut self, _id: u64, now_ms: u64, effects: &mut JobEffects) {
        let held: Vec<u64> = self
            .jobs
            .iter()
            .filter(|(_, j)| j.held)
            .map(|(&id, _)| id)
            .collect();
        for id in held {
            self.start_if_ready(id, now_ms, effects);
        }
    }

    /// Jobs by id.
    pub fn list(&self) -> Vec<JobSummary> {
        self.jobs
            .iter()
            .map(|(&id, job)| Self::summary(id, job))
            .collect()
    }

    fn summary(id: u64, job: &Job) -> JobSummary {
        JobSummary {
            id,
            name: job.submission.name.clone(),
            counts: job.counts.clone(),
            submitted_ms: job.submitted_ms,
        }
    }

    /// One job with every task; `worker_name` names worker ids.
    pub fn detail(
        &self,
        id: u64,
        worker_name: impl Fn(u32) -> Option<String>,
    ) -> Option<JobDetail> {
        let job = self.jobs.get(&id)?;
        let tasks = job
            .tasks
            .iter()
            .enumerate()
            .map(|(i, r)| TaskDetail {
                task_id: i as u64,
                array_index: job.submission.entries.task(i as u64).0,
                state: r.state,
                attempts: r.attempts,
                exit_code: r.exit_code,
                worker: r.worker.and_then(&worker_name),
                started_ms: r.started_ms,
                ended_ms: r.ended_ms,
                error: r.error.as_deref().map(str::to_string),
            })
            .collect();
        Some(JobDetail {
            summary: Self::summary(id, job),
            submission: job.submission.clone(),
            tasks,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::ResourceRequest;
    use crate::protocol::job_control::JobEntries;
    use crate::runtime::command::CommandSpec;

    fn submission(entries: JobEntries, max_fails: u32, after: Vec<u64>) -> JobSubmission {
        JobSubmission {
            name: "sim".into(),
            command: CommandSpec::new(["./sim", "%{ARRAY_INDEX}"]),
            entries,
            resources: ResourceRequest::cpus(2),
            max_fails,
            after,
        }
    }

    #[test]
    fn an_array_becomes_command_tasks_and_failures_are_retried_up_to_max_fails() {
        let mut book = JobBook::new();
        let (id, specs) = book.submit(
            submission(
                JobEntries::Range {
                    start: 10,
                    end: 12,
                    step: 1,
                },
                2,
                vec![],
            ),
            1000,
        );
        assert_eq!(id, 1);
        assert_eq!(specs.len(), 3);
        assert_eq!(specs[1].key.as_str(), "tessera.job-1-1-1");
        assert_eq!(specs[1].resources.cpus, 2);
        let cmd = CommandSpec::decode(&specs[1].args).unwrap();
        assert_eq!(
            (cmd.job_id, cmd.task_id, cmd.array_index, cmd.cpus),
            (1, 1, Some(11), 2)
        );
        for s in &specs {
            book.on_assigned(&s.key, 4, 1001);
        }
        assert!(book.on_finished(&specs[0].key, 1002).submit.is_empty());
        let retry = book.on_failed(&specs[1].key, "`./sim` exited with code 3", 1003);
        assert_eq!(retry.submit.len(), 1);
        assert_eq!(retry.submit[0].key.as_str(), "tessera.job-1-1-2");
        // A late report of the first run changes nothing.
        assert!(book.on_finished(&specs[1].key, 1004).submit.is_empty());
        let again = book.on_failed(&retry.submit[0].key, "`./sim` exited with code 4", 1005);
        assert!(again.submit.is_empty());
        book.on_finished(&specs[2].key, 1006);
        let d = book.detail(1, |w| Some(format!("w{w}"))).unwrap();
        assert_eq!(d.summary.counts.state(), "failed");
        assert_eq!((d.summary.counts.finished, d.summary.counts.failed), (2, 1));
        let t = &d.tasks[1];
        assert_eq!(
            (t.state, t.attempts, t.exit_code),
            (TaskState::Failed, 2, Some(4))
        );
        assert_eq!(d.tasks[0].worker.as_deref(), Some("w4"));
        assert_eq!(d.tasks[2].array_index, Some(12));
    }

    #[test]
    fn jobs_after_others_wait_and_are_cancelled_when_those_fail() {
        let mut book = JobBook::new();
        let (a, specs) = book.submit(submission(JobEntries::Single, 1, vec![]), 0);
        let (b, held) = book.submit(submission(JobEntries::Single, 1, vec![a]), 0);
        assert!(held.is_empty());
        let (c, _) = book.submit(submission(JobEntries::Single, 1, vec![b]), 0);
        let effects = book.on_finished(&specs[0].key, 5);
        assert_eq!(effects.submit.len(), 1, "b starts");
        let b_key = effects.submit[0].key.clone();
        let effects = book.on_failed(&b_key, "`x` exited with code 1", 6);
        assert!(effects.submit.is_empty());
        assert_eq!(book.list()[2].counts.state(), "cancelled", "c follows b");
        assert_eq!(book.list()[2].id, c);
        let cancelled = book.cancel(a, 7).unwrap();
        assert!(cancelled.cancel.is_empty(), "nothing left to cancel");
        assert!(book.cancel(99, 7).is_none());
    }

    #[test]
    fn keys_parse_back_and_foreign_keys_are_ignored() {
        assert_eq!(parse_key(&task_key(3, 14, 2)), Some((3, 14, 2)));
        assert_eq!(parse_key(&TaskKey::new("tessera.inc-1")), None);
        assert_eq!(exit_code_of("`a` exited with code 127; last"), Some(127));
        assert_eq!(exit_code_of("killed by signal 9"), None);
    }
}
