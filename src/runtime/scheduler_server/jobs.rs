//! The scheduler server's job handler: `JobRequest`s from clients go to the [`JobBook`], the
//! book's tasks go to the core under a job owner that no connection holds (so jobs survive
//! their client), and the core's reports on job keys come back to the book. Thin: every
//! decision is in the book or the core; this module must not decide placement.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use std::path::{Path, PathBuf};

use super::Server;
use crate::core::TaskSpec;
use crate::core::{Action, ClientId, Event, WorkerResources};
use crate::jobs::journal::{self, JournalError, JournalRecord, JOURNAL_HEADER};
use crate::jobs::{JobBook, JobEffects};
use crate::protocol::job_control::{JobReply, JobRequest, JobSubmission};
use crate::protocol::Message;

/// The client id that owns every job's tasks (never given to a connection).
const JOB_OWNER: ClientId = ClientId(u32::MAX);

/// The server's job state.
#[derive(Default)]
pub(super) struct JobsState {
    book: JobBook,
    owner_joined: bool,
    /// Names of the workers job tasks ran on (kept after they leave).
    worker_names: std::collections::HashMap<u32, String>,
    /// Effects not yet handed to the core.
    pending: JobEffects,
    /// Where submissions and ended tasks are recorded (`--journal`).
    journal: Option<JournalFile>,
}

/// The journal file: records appended as they happen, written out and synced once per round
/// of the central thread.
struct JournalFile {
    path: PathBuf,
    out: std::io::BufWriter<std::fs::File>,
    dirty: bool,
}

impl JobsState {
    pub(super) fn new() -> Self {
        JobsState {
            book: JobBook::new(),
            ..JobsState::default()
        }
    }

    /// Jobs from the journal at `path` (created when missing); the tasks still to run are
    /// submitted once the server runs. A foreign or corrupt journal is an error and is left
    /// untouched.
    pub(super) fn with_journal(path: &Path) -> Result<(JobsState, Vec<TaskSpec>), String> {
        let shown = path.display().to_string();
        let text = match std::fs::read(path) {
            Ok(bytes) => String::from_utf8(bytes).map_err(|_| {
                JournalError::Foreign {
                    path: shown.clone(),
                }
                .to_string()
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(format!("--journal {shown}: {e}")),
        };
        let records = journal::parse(&text, &shown).map_err(|e| e.to_string())?;
        let mut state = JobsState::new();
        let specs = state.book.restore(records, unix_ms());
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| format!("--journal {shown}: {e}"))?;
        if text.is_empty() {
            use std::io::Write;
            writeln!(file, "{JOURNAL_HEADER}")
                .and_then(|()| file.sync_data())
                .map_err(|e| format!("--journal {shown}: {e}"))?;
        } else if !text.ends_with('\n') {
            // A torn last record: start the next one on its own line.
            use std::io::Write;
            file.write_all(b"\n")
                .map_err(|e| format!("--journal {shown}: {e}"))?;
        }
        state.journal = Some(JournalFile {
            path: path.to_path_buf(),
            out: std::io::BufWriter::new(file),
            dirty: false,
        });
        Ok((state, specs))
    }

    fn record(&mut self, record: &JournalRecord) {
        if let Some(j) = &mut self.journal {
            use std::io::Write;
            if let Err(e) = j.out.write_all(journal::encode(record).as_bytes()) {
                tracing::error!(path = %j.path.display(), error = %e, "cannot append to the journal");
            }
            j.dirty = true;
        }
    }
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl Server {
    /// Answer a client's job request.
    pub(super) fn on_job_request(&mut self, client: ClientId, request: JobRequest, now: Instant) {
        let reply = match request {
            JobRequest::Submit(submission) => self.submit_job(*submission, now),
            JobRequest::List => JobReply::List(self.jobs.book.list()),
            JobRequest::Info { job } => {
                let names = &self.jobs.worker_names;
                match self.jobs.book.detail(job, |w| names.get(&w).cloned()) {
                    Some(detail) => JobReply::Info(Box::new(detail)),
                    None => JobReply::Refused(format!("no job {job} on this scheduler")),
                }
            }
            JobRequest::Cancel { job } => match self.jobs.book.cancel(job, unix_ms()) {
                Some(effects) => {
                    let tasks = effects.cancel.len() as u64;
                    self.merge_job_effects(effects);
                    self.apply_job_effects(now);
                    JobReply::Cancelled { job, tasks }
                }
                None => JobReply::Refused(format!("no job {job} on this scheduler")),
            },
        };
        self.queue_for_client(client, Message::JobReply(reply));
    }

    fn submit_job(&mut self, submission: JobSubmission, now: Instant) -> JobReply {
        if let Err(e) = submission.command.validate() {
            return JobReply::Refused(e.to_string());
        }
        if submission.command.argv.is_empty() {
            return JobReply::Refused("the job has no program to run".into());
        }
        if submission.entries.is_empty() {
            return JobReply::Refused("the job has no tasks (empty array or file list)".into());
        }
        if let Some(unknown) = submission
            .after
            .iter()
            .find(|&&j| !self.jobs.book.list().iter().any(|s| s.id == j))
        {
            return JobReply::Refused(format!("--after {unknown}: no such job"));
        }
        if let Some(why) = self.unsatisfiable(&submission) {
            return JobReply::Refused(why);
        }
        if !self.jobs.owner_joined {
            self.jobs.owner_joined = true;
            self.core
                .handle(now, Event::ClientJoined { client: JOB_OWNER });
        }
        let tasks = submission.entries.len();
        let (job, specs) = self.jobs.book.submit(submission, unix_ms());
        if let Some(record) = self.jobs.book.submitted_record(job) {
            self.jobs.record(&record);
        }
        self.jobs.pending.submit.extend(specs);
        self.apply_job_effects(now);
        JobReply::Submitted { job, tasks }
    }

    /// Why no connected worker could ever run the job's tasks (`None`: one can, or no worker
    /// is connected yet).
    fn unsatisfiable(&self, submission: &JobSubmission) -> Option<String> {
        let mut has: Vec<WorkerResources> = self
            .workers
            .values()
            .map(|w| WorkerResources {
                cpus: w.registration.nthreads,
                memory: w.registration.memory_limit,
                generic: w.registration.resources.clone(),
            })
            .collect();
        if has.is_empty() {
            return None;
        }
        let request = &submission.resources;
        let reasons: Vec<String> = has.iter().filter_map(|w| request.unmet_by(w)).collect();
        if reasons.len() < has.len() {
            return None;
        }
        has.sort_by_key(|w| std::cmp::Reverse(w.cpus));
        has.dedup();
        let cluster: Vec<String> = has.iter().map(WorkerResources::describe).collect();
        Some(format!(
            "no worker can run these tasks: they ask for {}; the workers have: {}",
            reasons[0],
            cluster.join("; ")
        ))
    }

    /// Look at an action of the core: reports on job keys go to the book (true: consumed);
    /// assignments of job tasks are noted (and carried out as usual).
    pub(super) fn job_action(&mut self, action: &Action) -> bool {
        match action {
            Action::KeyReady { client, key, .. } if *client == JOB_OWNER => {
                let effects = self.jobs.book.on_finished(key, unix_ms());
                self.merge_job_effects(effects);
                true
            }
            Action::KeyErred {
                client,
                key,
                message,
                ..
            } if *client == JOB_OWNER => {
                let effects = self.jobs.book.on_failed(key, message, unix_ms());
                self.merge_job_effects(effects);
                true
            }
            Action::Located { client, .. } => *client == JOB_OWNER,
            Action::Compute { worker, key, .. } if self.jobs.owner_joined => {
                if crate::jobs::is_job_key(key) {
                    if let Some(conn) = self.workers.get(worker) {
                        self.jobs
                            .worker_names
                            .entry(worker.0)
                            .or_insert_with(|| conn.registration.name.clone());
                    }
                    self.jobs.book.on_assigned(key, worker.0, unix_ms());
                }
                false
            }
            _ => false,
        }
    }

    fn merge_job_effects(&mut self, effects: JobEffects) {
        for record in &effects.ended {
            self.jobs.record(record);
        }
        let pending = &mut self.jobs.pending;
        pending.submit.extend(effects.submit);
        pending.release.extend(effects.release);
        pending.cancel.extend(effects.cancel);
    }

    /// Submit the tasks a journal left to run (at start).
    pub(super) fn resume_jobs(&mut self, specs: Vec<TaskSpec>) {
        let now = Instant::now();
        if !self.jobs.owner_joined {
            self.jobs.owner_joined = true;
            self.core
                .handle(now, Event::ClientJoined { client: JOB_OWNER });
        }
        tracing::info!(tasks = specs.len(), "resuming jobs from the journal");
        self.jobs.pending.submit.extend(specs);
        self.apply_job_effects(now);
    }

    /// Write out and sync what this round added to the journal (one sync per round).
    pub(super) fn sync_journal(&mut self) {
        if let Some(j) = &mut self.jobs.journal {
            if j.dirty {
                use std::io::Write;
                j.dirty = false;
                if let Err(e) = j.out.flush().and_then(|()| j.out.get_ref().sync_data()) {
                    tracing::error!(path = %j.path.display(), error = %e, "cannot sync the journal");
                }
            }
        }
    }

    /// Hand what the book asked for to the core; true when there was something.
    pub(super) fn apply_job_effects(&mut self, now: Instant) -> bool {
        let effects = std::mem::take(&mut self.jobs.pending);
        let any =
            !(effects.submit.is_empty() && effects.release.is_empty() && effects.cancel.is_empty());
        if !effects.release.is_empty() {
            self.core.handle(
                now,
                Event::KeysReleased {
                    client: JOB_OWNER,
                    keys: effects.release,
                },
            );
        }
        if !effects.cancel.is_empty() {
            self.core.handle(
                now,
                Event::CancelRequested {
                    client: JOB_OWNER,
                    keys: effects.cancel,
                },
            );
        }
        if !effects.submit.is_empty() {
            let wanted = effects.submit.iter().map(|t| t.key.clone()).collect();
            self.core.handle(
                now,
                Event::GraphSubmitted {
                    client: JOB_OWNER,
                    tasks: effects.submit,
                    wanted,
                },
            );
        }
        any
    }
}
