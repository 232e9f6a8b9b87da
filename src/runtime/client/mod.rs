//! The client: connects to a scheduler (by address or scheduler file), submits tasks and
//! graphs, and gets results back as typed futures fetched directly from the workers.
//!
//! One reader thread applies the scheduler's notices (ready, erred, located, info) to shared
//! state; callers wait on a condition variable. This module must not schedule anything.

mod future;
#[cfg(feature = "dashboard")]
mod report;
mod task;

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;

pub use future::{Future, KeyStatus};
pub use task::Task;

use crate::core::{KernelName, TaskKey, TaskSpec};
use crate::deploy::{SchedulerFile, SchedulerFileError};
use crate::protocol::job_control::{JobReply, JobRequest, JobSubmission};
use crate::protocol::{ClusterInfo, Frame, Message, Secret};
use crate::runtime::peer_pool::PeerPool;
use crate::runtime::value::{DecodeError, Value};
use crate::transport::{Address, Connection, FrameSender, TransportError};

/// A client operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot connect to the scheduler: {0}")]
    Connect(#[source] TransportError),
    #[error(transparent)]
    SchedulerFile(#[from] SchedulerFileError),
    #[error("task {key} failed: {message}{}", root_note(key, root))]
    TaskFailed {
        key: TaskKey,
        root: TaskKey,
        message: String,
    },
    #[error("task {key} was cancelled")]
    Cancelled { key: TaskKey },
    #[error("disconnected from the scheduler: {0}")]
    Disconnected(String),
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The scheduler refused a request (a job no worker could run, an unknown job...).
    #[error("{0}")]
    Refused(String),
    /// The scheduler has no workers left and none joined within its grace period.
    #[error("{0}")]
    NoWorkers(String),
    #[error("cannot fetch {key} from its workers: {reason}")]
    Fetch { key: TaskKey, reason: String },
    #[error("result of {key}: {source}")]
    Decode {
        key: TaskKey,
        #[source]
        source: DecodeError,
    },
    #[error("cannot start client thread: {0}")]
    Thread(#[from] std::io::Error),
    #[error("cannot write the performance report: {0}")]
    Report(String),
}

fn root_note(key: &TaskKey, root: &TaskKey) -> String {
    if key == root {
        String::new()
    } else {
        format!(" (in its dependency {root})")
    }
}

/// What one data server returned for a batch of keys.
type FetchResult = Result<HashMap<TaskKey, Option<Bytes>>, TransportError>;

struct KeyRecord {
    refs: usize,
    status: KeyStatus,
}

#[derive(Default)]
struct State {
    keys: HashMap<TaskKey, KeyRecord>,
    info: Option<(u64, ClusterInfo)>,
    info_replies: u64,
    /// Answers to job requests, in order (one request at a time, see `Client::job_request`).
    job_replies: std::collections::VecDeque<JobReply>,
    /// A job request is in flight.
    job_busy: bool,
    closed: Option<String>,
    /// Why waits fail: the scheduler said it has no workers (until it says they are back).
    no_workers: Option<String>,
}

pub(crate) struct Shared {
    sender: FrameSender,
    state: Mutex<State>,
    changed: Condvar,
    peers: PeerPool,
    tag: String,
    counter: AtomicU64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn send(&self, message: Message) {
        let _ = self.sender.send(Frame::single(message));
    }

    /// Wait (up to `wait`) until `ready` finds what it looks for in the state; an error when
    /// the connection closes or the time is up.
    fn wait_until<'a, T>(
        &'a self,
        mut st: MutexGuard<'a, State>,
        wait: Duration,
        mut ready: impl FnMut(&mut State) -> Option<T>,
    ) -> Result<(MutexGuard<'a, State>, T), ClientError> {
        let deadline = Instant::now() + wait;
        loop {
            if let Some(found) = ready(&mut st) {
                return Ok((st, found));
            }
            if let Some(reason) = &st.closed {
                return Err(ClientError::Disconnected(reason.clone()));
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(ClientError::Timeout(wait));
            }
            st = self
                .changed
                .wait_timeout(st, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    pub(crate) fn status(&self, key: &TaskKey) -> KeyStatus {
        self.lock()
            .keys
            .get(key)
            .map(|r| r.status.clone())
            .unwrap_or(KeyStatus::Pending)
    }

    pub(crate) fn retain(&self, key: &TaskKey) {
        if let Some(r) = self.lock().keys.get_mut(key) {
            r.refs += 1;
        }
    }

    pub(crate) fn release(&self, key: &TaskKey) {
        let mut st = self.lock();
        let gone = match st.keys.get_mut(key) {
            Some(r) => {
                r.refs -= 1;
                r.refs == 0
            }
            None => false,
        };
        if gone {
            st.keys.remove(key);
            let closed = st.closed.is_some();
            drop(st);
            if !closed {
                self.send(Message::ReleaseKeys {
                    keys: vec![key.clone()],
                });
            }
        }
    }

    /// Count a new handle on `key`, creating its record.
    fn track(&self, st: &mut State, key: &TaskKey, status: KeyStatus) {
        st.keys
            .entry(key.clone())
            .and_modify(|r| r.refs += 1)
            .or_insert(KeyRecord { refs: 1, status });
    }

    pub(crate) fn cancel(&self, keys: &[TaskKey]) {
        {
            let mut st = self.lock();
            for k in keys {
                if let Some(r) = st.keys.get_mut(k) {
                    if r.status == KeyStatus::Pending {
                        r.status = KeyStatus::Cancelled;
                    }
                }
            }
        }
        self.changed.notify_all();
        self.send(Message::Cancel {
            keys: keys.to_vec(),
        });
    }

    /// Wait until `key` is done; its holders when ready.
    pub(crate) fn wait_key(
        &self,
        key: &TaskKey,
        timeout: Option<Duration>,
    ) -> Result<(u64, Vec<String>), ClientError> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut st = self.lock();
        loop {
            let status = st
                .keys
                .get(key)
                .map(|r| r.status.clone())
                .unwrap_or(KeyStatus::Pending);
            match status {
                KeyStatus::Ready { nbytes, holders } => return Ok((nbytes, holders)),
                KeyStatus::Erred { root, message } => {
                    return Err(ClientError::TaskFailed {
                        key: key.clone(),
                        root,
                        message,
                    })
                }
                KeyStatus::Cancelled => return Err(ClientError::Cancelled { key: key.clone() }),
                KeyStatus::Pending => {}
            }
            if let Some(reason) = &st.closed {
                return Err(ClientError::Disconnected(reason.clone()));
            }
            if let Some(reason) = &st.no_workers {
                return Err(ClientError::NoWorkers(reason.clone()));
            }
            st = match deadline {
                None => self.changed.wait(st).unwrap_or_else(|e| e.into_inner()),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return Err(ClientError::Timeout(timeout.unwrap_or_default()));
                    }
                    self.changed
                        .wait_timeout(st, d - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
            };
        }
    }

    /// Wait for every key and fetch their values, in order.
    pub(crate) fn gather_keys(&self, keys: &[TaskKey]) -> Result<Vec<Bytes>, ClientError> {
        let mut values: HashMap<TaskKey, Bytes> = HashMap::with_capacity(keys.len());
        let mut todo: Vec<TaskKey> = keys.to_vec();
        todo.sort();
        todo.dedup();
        for round in 0..5 {
            let mut by_holder: HashMap<String, Vec<TaskKey>> = HashMap::new();
            for key in &todo {
                let (_, holders) = self.wait_key(key, None)?;
                let pick = holders.get(round % holders.len().max(1)).cloned();
                match pick {
                    Some(h) => by_holder.entry(h).or_default().push(key.clone()),
                    None => by_holder
                        .entry(String::new())
                        .or_default()
                        .push(key.clone()),
                }
            }
            let mut missing = Vec::new();
            let results: Vec<(Vec<TaskKey>, FetchResult)> = std::thread::scope(|s| {
                let handles: Vec<_> = by_holder
                    .into_iter()
                    .map(|(holder, ks)| {
                        s.spawn(move || {
                            if holder.is_empty() {
                                return (ks, Ok(HashMap::new()));
                            }
                            let r = self.peers.get(&holder, &ks);
                            (ks, r)
                        })
                    })
                    .collect();
                handles.into_iter().filter_map(|h| h.join().ok()).collect()
            });
            let mut last_error = String::new();
            for (ks, r) in results {
                match r {
                    Ok(mut got) => {
                        for k in ks {
                            match got.remove(&k).flatten() {
                                Some(v) => {
                                    values.insert(k, v);
                                }
                                None => missing.push(k),
                            }
                        }
                    }
                    Err(e) => {
                        last_error = e.to_string();
                        missing.extend(ks);
                    }
                }
            }
            if missing.is_empty() {
                return Ok(keys
                    .iter()
                    .map(|k| values.get(k).cloned().unwrap_or_default())
                    .collect());
            }
            // Ask the scheduler where they are now (recomputed if lost).
            {
                let mut st = self.lock();
                for k in &missing {
                    if let Some(r) = st.keys.get_mut(k) {
                        if matches!(r.status, KeyStatus::Ready { .. }) {
                            r.status = KeyStatus::Pending;
                        }
                    }
                }
            }
            tracing::debug!(missing = missing.len(), error = %last_error, "re-locating keys");
            self.send(Message::Locate {
                keys: missing.clone(),
            });
            todo = missing;
        }
        Err(ClientError::Fetch {
            key: todo.first().cloned().unwrap_or_else(|| TaskKey::new("?")),
            reason: "no worker could provide it after 5 attempts".into(),
        })
    }

    fn next_key(&self, kernel: &str) -> TaskKey {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        TaskKey::new(format!("{kernel}-{}-{n}", self.tag))
    }
}

/// A connection to a Tessera cluster.
///
/// ```no_run
/// use tessera::runtime::{Client, Task};
/// let client = Client::from_scheduler_file("s.json".as_ref(), std::time::Duration::from_secs(30))?;
/// let x = client.submit::<i64>(Task::new("tessera.inc").arg(41i64))?;
/// assert_eq!(x.result()?, 42);
/// # Ok::<(), tessera::runtime::ClientError>(())
/// ```
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
    address: String,
    /// The cluster secret (the performance report opens the dashboard with a token derived
    /// from it).
    #[cfg_attr(not(feature = "dashboard"), allow(dead_code))]
    secret: Secret,
}

impl Client {
    /// Connect to the scheduler at `address`, proving `secret`.
    pub fn connect(address: &Address, secret: &Secret) -> Result<Client, ClientError> {
        Self::connect_timeout(address, secret, Duration::from_secs(10))
    }

    /// Connect, retrying refused connections up to `timeout`.
    pub fn connect_timeout(
        address: &Address,
        secret: &Secret,
        timeout: Duration,
    ) -> Result<Client, ClientError> {
        let name = format!("{}:{}", crate::deploy::hostname(), std::process::id());
        Self::connect_as(address, secret, timeout, &name)
    }

    /// Connect and register under `name` (shown in logs; the scheduler can be told to stop
    /// when the client of a given name leaves, as MPI batch mode does).
    pub fn connect_as(
        address: &Address,
        secret: &Secret,
        timeout: Duration,
        name: &str,
    ) -> Result<Client, ClientError> {
        let conn = Connection::connect(address, secret, timeout).map_err(ClientError::Connect)?;
        let (sender, mut receiver) = conn.split();
        sender
            .send(Frame::single(Message::RegisterClient {
                name: name.to_string(),
            }))
            .map_err(ClientError::Connect)?;
        match receiver.recv() {
            Ok(Some(f)) if matches!(f.messages.first(), Some(Message::Welcome { .. })) => {}
            Ok(Some(f)) => {
                return Err(ClientError::Disconnected(format!(
                    "unexpected registration reply {:?}",
                    f.messages.first()
                )))
            }
            Ok(None) => {
                return Err(ClientError::Disconnected(
                    "closed during registration".into(),
                ))
            }
            Err(e) => return Err(ClientError::Connect(e)),
        }
        let mut tag = [0u8; 4];
        let _ = getrandom::fill(&mut tag);
        let shared = Arc::new(Shared {
            sender,
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            peers: PeerPool::new(secret.clone(), Duration::from_secs(10)),
            tag: tag.iter().map(|b| format!("{b:02x}")).collect(),
            counter: AtomicU64::new(0),
        });
        {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("tessera-client".into())
                .spawn(move || {
                    let reason = loop {
                        match receiver.recv() {
                            Ok(Some(frame)) => {
                                if let Some(reason) = apply(&shared, frame) {
                                    break reason;
                                }
                            }
                            Ok(None) => break "the scheduler closed the connection".to_string(),
                            Err(e) => break e.to_string(),
                        }
                    };
                    shared.lock().closed = Some(reason);
                    shared.changed.notify_all();
                })?;
        }
        Ok(Client {
            shared,
            address: address.to_string(),
            secret: secret.clone(),
        })
    }

    /// Connect through a scheduler file, waiting up to `timeout` for it to appear.
    pub fn from_scheduler_file(path: &Path, timeout: Duration) -> Result<Client, ClientError> {
        let file = SchedulerFile::wait(path, timeout)?;
        let address = file.address()?;
        let secret = file.secret()?;
        match Client::connect_timeout(&address, &secret, Duration::from_secs(5)) {
            Err(ClientError::Connect(e)) => {
                // Tell a dead scheduler's leftover file from a network problem.
                file.check_alive()?;
                Err(ClientError::Connect(e))
            }
            other => other,
        }
    }

    /// The scheduler's address.
    pub fn scheduler_address(&self) -> &str {
        &self.address
    }

    /// Submit one task.
    pub fn submit<T>(&self, task: Task) -> Result<Future<T>, ClientError> {
        let key = task
            .key
            .clone()
            .unwrap_or_else(|| self.shared.next_key(&task.kernel));
        let spec = TaskSpec {
            key: key.clone(),
            kernel: KernelName::new(&task.kernel),
            args: task.args,
            deps: task.inputs,
            resources: task.resources,
        };
        let mut futures = self.submit_graph(vec![spec], std::slice::from_ref(&key))?;
        Ok(futures.remove(0).cast())
    }

    /// Run `kernel` once per argument, as independent tasks, in one submission.
    pub fn map<T, A: Value>(
        &self,
        kernel: &str,
        args: impl IntoIterator<Item = A>,
    ) -> Result<Vec<Future<T>>, ClientError> {
        let tasks: Vec<TaskSpec> = args
            .into_iter()
            .map(|a| TaskSpec {
                key: self.shared.next_key(kernel),
                kernel: KernelName::new(kernel),
                args: a.encode(),
                deps: Vec::new(),
                resources: Default::default(),
            })
            .collect();
        let wanted: Vec<TaskKey> = tasks.iter().map(|t| t.key.clone()).collect();
        Ok(self
            .submit_graph(tasks, &wanted)?
            .into_iter()
            .map(Future::cast)
            .collect())
    }

    /// Submit a graph and get futures on the `wanted` keys (in that order). A graph whose
    /// description is larger than [`SUBMIT_PART_BYTES`] goes in several frames
    /// ([`Client::submit_graph_in_parts`]), so no legal graph is "too large to send".
    pub fn submit_graph(
        &self,
        tasks: Vec<TaskSpec>,
        wanted: &[TaskKey],
    ) -> Result<Vec<Future<Bytes>>, ClientError> {
        self.submit_graph_in_parts(tasks, wanted, SUBMIT_PART_BYTES)
    }

    /// [`Client::submit_graph`] with the parts bounded to about `part_bytes` each: tasks in
    /// dependency order are cut into consecutive parts; a part's tasks that later parts read
    /// are wanted while the rest is submitted (so the scheduler keeps them) and released once
    /// every part is in.
    pub fn submit_graph_in_parts(
        &self,
        tasks: Vec<TaskSpec>,
        wanted: &[TaskKey],
        part_bytes: usize,
    ) -> Result<Vec<Future<Bytes>>, ClientError> {
        let parts = split_submission(tasks, wanted, part_bytes);
        let last = parts.len().saturating_sub(1);
        let mut bridges = Vec::new();
        for (i, (part, bridge)) in parts.into_iter().enumerate() {
            if i == last {
                let futures = self.submit_one(part, wanted);
                drop(bridges);
                return futures;
            }
            bridges.extend(self.submit_one(part, &bridge)?);
        }
        self.submit_one(Vec::new(), wanted)
    }

    fn submit_one(
        &self,
        tasks: Vec<TaskSpec>,
        wanted: &[TaskKey],
    ) -> Result<Vec<Future<Bytes>>, ClientError> {
        let futures = {
            let mut st = self.shared.lock();
            if let Some(reason) = &st.closed {
                return Err(ClientError::Disconnected(reason.clone()));
            }
            wanted
                .iter()
                .map(|k| {
                    self.shared.track(&mut st, k, KeyStatus::Pending);
                    Future::new(k.clone(), self.shared.clone())
                })
                .collect()
        };
        self.shared
            .sender
            .send(Frame::single(Message::SubmitGraph {
                tasks,
                wanted: wanted.to_vec(),
            }))
            .map_err(|e| ClientError::Disconnected(e.to_string()))?;
        Ok(futures)
    }

    /// Wait for all futures and fetch their values, in order.
    pub fn gather<T: Value>(&self, futures: &[Future<T>]) -> Result<Vec<T>, ClientError> {
        let keys: Vec<TaskKey> = futures.iter().map(|f| f.key.clone()).collect();
        let values = self.shared.gather_keys(&keys)?;
        keys.into_iter()
            .zip(values)
            .map(|(key, b)| T::decode(&b).map_err(|source| ClientError::Decode { key, source }))
            .collect()
    }

    /// Submit a graph, wait, and fetch the `wanted` results (the futures are dropped after).
    pub fn compute(
        &self,
        tasks: Vec<TaskSpec>,
        wanted: &[TaskKey],
    ) -> Result<Vec<Bytes>, ClientError> {
        let futures = self.submit_graph(tasks, wanted)?;
        self.gather(&futures)
    }

    /// Put values on the workers (round robin) and get futures on them.
    pub fn scatter<T: Value>(&self, values: Vec<T>) -> Result<Vec<Future<T>>, ClientError> {
        let info = self.info()?;
        if info.workers.is_empty() {
            return Err(ClientError::Disconnected(
                "cannot scatter: the cluster has no workers".into(),
            ));
        }
        let mut per_worker: Vec<Vec<(TaskKey, Bytes)>> = vec![Vec::new(); info.workers.len()];
        let mut keys = Vec::with_capacity(values.len());
        for (i, v) in values.iter().enumerate() {
            let key = self.shared.next_key("scatter");
            keys.push(key.clone());
            per_worker[i % info.workers.len()].push((key, v.encode()));
        }
        let mut futures = Vec::with_capacity(keys.len());
        for (w, items) in info.workers.iter().zip(per_worker) {
            if items.is_empty() {
                continue;
            }
            let acked =
                self.shared
                    .peers
                    .put(&w.address, items)
                    .map_err(|e| ClientError::Fetch {
                        key: TaskKey::new("scatter"),
                        reason: format!("worker {}: {e}", w.address),
                    })?;
            {
                let mut st = self.shared.lock();
                for (k, nbytes) in &acked {
                    self.shared.track(
                        &mut st,
                        k,
                        KeyStatus::Ready {
                            nbytes: *nbytes,
                            holders: vec![w.address.clone()],
                        },
                    );
                }
            }
            self.shared.send(Message::Scattered {
                address: w.address.clone(),
                keys: acked.clone(),
            });
            for (k, _) in acked {
                futures.push((k.clone(), Future::new(k, self.shared.clone())));
            }
        }
        // Return in the caller's order.
        let mut by_key: HashMap<TaskKey, Future<T>> = futures.into_iter().collect();
        keys.iter()
            .map(|k| {
                by_key.remove(k).ok_or_else(|| ClientError::Fetch {
                    key: k.clone(),
                    reason: "the worker did not acknowledge it".into(),
                })
            })
            .collect()
    }

    /// Cancel these futures' tasks.
    pub fn cancel<T>(&self, futures: &[Future<T>]) {
        let keys: Vec<TaskKey> = futures.iter().map(|f| f.key.clone()).collect();
        self.shared.cancel(&keys);
    }

    /// Wait until every future is done (or `timeout`); failed tasks are not an error here.
    pub fn wait<T>(
        &self,
        futures: &[Future<T>],
        timeout: Option<Duration>,
    ) -> Result<(), ClientError> {
        let deadline = timeout.map(|t| Instant::now() + t);
        for f in futures {
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            match self.shared.wait_key(&f.key, left) {
                Ok(_)
                | Err(ClientError::TaskFailed { .. })
                | Err(ClientError::Cancelled { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Iterate over futures in the order they finish.
    pub fn as_completed<T>(&self, futures: Vec<Future<T>>) -> AsCompleted<T> {
        AsCompleted {
            shared: self.shared.clone(),
            pending: futures,
        }
    }

    /// Ask the scheduler for workers and task counts.
    pub fn info(&self) -> Result<ClusterInfo, ClientError> {
        let target = {
            let mut st = self.shared.lock();
            st.info_replies += 1;
            st.info_replies
        };
        self.shared.send(Message::InfoRequest);
        let wait = Duration::from_secs(30);
        let st = self.shared.lock();
        let (_state, info) = self.shared.wait_until(st, wait, |st| {
            st.info
                .as_ref()
                .filter(|(seq, _)| *seq >= target)
                .map(|(_, info)| info.clone())
        })?;
        Ok(info)
    }

    /// Send a job request (submit, list, info, cancel) and wait for the scheduler's answer.
    /// Requests from several threads take turns.
    pub fn job_request(&self, request: JobRequest) -> Result<JobReply, ClientError> {
        const WAIT: Duration = Duration::from_secs(60);
        let mut st = self.shared.lock();
        while st.job_busy {
            st = self
                .shared
                .changed
                .wait_timeout(st, Duration::from_millis(50))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        st.job_busy = true;
        st.job_replies.clear();
        drop(st);
        self.shared.send(Message::JobRequest(request));
        let st = self.shared.lock();
        let (mut st, result) = match self
            .shared
            .wait_until(st, WAIT, |st| st.job_replies.pop_front())
        {
            Ok((st, reply)) => (st, Ok(reply)),
            Err(e) => (self.shared.lock(), Err(e)),
        };
        st.job_busy = false;
        self.shared.changed.notify_all();
        result
    }

    /// Submit a job of command tasks (see [`crate::protocol::job_control::JobSubmission`]);
    /// returns the job id. The scheduler owns the job: it runs on if this client leaves.
    pub fn submit_command(&self, job: JobSubmission) -> Result<u64, ClientError> {
        match self.job_request(JobRequest::Submit(Box::new(job)))? {
            JobReply::Submitted { job, .. } => Ok(job),
            JobReply::Refused(why) => Err(ClientError::Refused(why)),
            other => Err(ClientError::Refused(format!("unexpected answer {other:?}"))),
        }
    }

    /// Wait until at least `n` workers are connected.
    pub fn wait_for_workers(&self, n: usize, timeout: Duration) -> Result<(), ClientError> {
        let deadline = Instant::now() + timeout;
        loop {
            if self.info()?.workers.len() >= n {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(ClientError::Timeout(timeout));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Retire these workers (ids from [`Client::info`]) gracefully: they get no new tasks,
    /// their results are copied to other workers, then they exit.
    pub fn retire_workers(&self, workers: Vec<u32>) {
        self.shared.send(Message::RetireWorkers { workers });
    }

    /// Stop the scheduler and all its workers.
    pub fn shutdown_cluster(&self) {
        self.shared.send(Message::ShutdownCluster);
    }

    /// True while connected.
    pub fn is_connected(&self) -> bool {
        self.shared.lock().closed.is_none()
    }

    /// Disconnect (pending futures become errors).
    pub fn close(&self) {
        self.shared.peers.close();
        self.shared.sender.close();
    }
}

/// Iterator returned by [`Client::as_completed`].
pub struct AsCompleted<T> {
    shared: Arc<Shared>,
    pending: Vec<Future<T>>,
}

impl<T> Iterator for AsCompleted<T> {
    type Item = Future<T>;
    fn next(&mut self) -> Option<Future<T>> {
        if self.pending.is_empty() {
            return None;
        }
        let mut st = self.shared.lock();
        loop {
            let pos = self.pending.iter().position(|f| {
                !matches!(
                    st.keys.get(&f.key).map(|r| &r.status),
                    Some(KeyStatus::Pending) | None
                )
            });
            if let Some(i) = pos {
                drop(st);
                return Some(self.pending.swap_remove(i));
            }
            if st.closed.is_some() {
                drop(st);
                return Some(self.pending.swap_remove(0));
            }
            st = self
                .shared
                .changed
                .wait(st)
                .unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// Apply one frame from the scheduler; `Some(reason)` when told to shut down.
fn apply(shared: &Shared, frame: Frame) -> Option<String> {
    let mut stop = None;
    {
        let mut st = shared.lock();
        for message in frame.messages {
            match message {
                Message::KeyReady {
                    key,
                    nbytes,
                    holders,
                } => {
                    if let Some(r) = st.keys.get_mut(&key) {
                        if r.status != KeyStatus::Cancelled {
                            r.status = KeyStatus::Ready { nbytes, holders };
                        }
                    }
                }
                Message::Located { key, holders } => {
                    if let Some(r) = st.keys.get_mut(&key) {
                        if r.status == KeyStatus::Pending {
                            r.status = KeyStatus::Ready { nbytes: 0, holders };
                        }
                    }
                }
                Message::KeyErred { key, root, error } => {
                    if let Some(r) = st.keys.get_mut(&key) {
                        r.status = KeyStatus::Erred {
                            root,
                            message: error,
                        };
                    }
                }
                Message::Info(info) => {
                    let seq = st.info_replies;
                    st.info = Some((seq, info));
                }
                Message::JobReply(reply) => st.job_replies.push_back(reply),
                Message::Shutdown { reason } => {
                    stop = Some(format!("the cluster shut down ({reason})"));
                }
                Message::NoWorkers { reason } => st.no_workers = Some(reason),
                Message::WorkersBack => st.no_workers = None,
                other => tracing::debug!(?other, "client ignores unexpected message"),
            }
        }
    }
    shared.changed.notify_all();
    stop
}

/// About how many bytes of task descriptions one submission frame carries (well under the
/// frame limit, `protocol::frame_codec::MAX_CONTROL_LEN`).
pub const SUBMIT_PART_BYTES: usize = 64 << 20;

/// Bytes a task adds to a submission frame, about.
fn task_bytes(t: &TaskSpec) -> usize {
    t.key.as_str().len()
        + t.kernel.as_str().len()
        + t.args.len()
        + t.deps.iter().map(|d| d.as_str().len() + 2).sum::<usize>()
        + 16
}

/// `tasks` (dependency order) cut into parts of about `part_bytes`, each with the keys that
/// must stay wanted until the later parts are in: the part's keys that a later part reads, and
/// the finally `wanted` keys it holds.
/// One part (and no bridge) when everything fits.
fn split_submission(
    tasks: Vec<TaskSpec>,
    wanted: &[TaskKey],
    part_bytes: usize,
) -> Vec<(Vec<TaskSpec>, Vec<TaskKey>)> {
    let total: usize = tasks.iter().map(task_bytes).sum();
    if total <= part_bytes {
        return vec![(tasks, Vec::new())];
    }
    let mut parts: Vec<Vec<TaskSpec>> = vec![Vec::new()];
    let mut size = 0;
    for t in tasks {
        let b = task_bytes(&t);
        if size + b > part_bytes && !parts.last().is_some_and(Vec::is_empty) {
            parts.push(Vec::new());
            size = 0;
        }
        size += b;
        if let Some(p) = parts.last_mut() {
            p.push(t);
        }
    }
    // Keys read by a later part than their own.
    let mut part_of: std::collections::HashMap<&TaskKey, usize> = std::collections::HashMap::new();
    for (i, p) in parts.iter().enumerate() {
        for t in p {
            part_of.insert(&t.key, i);
        }
    }
    let mut bridges: Vec<std::collections::BTreeSet<TaskKey>> =
        vec![Default::default(); parts.len()];
    for key in wanted {
        if let Some(&j) = part_of.get(key) {
            bridges[j].insert(key.clone());
        }
    }
    for (i, p) in parts.iter().enumerate() {
        for t in p {
            for d in &t.deps {
                if let Some(&j) = part_of.get(d) {
                    if j < i {
                        bridges[j].insert(d.clone());
                    }
                }
            }
        }
    }
    parts
        .into_iter()
        .zip(bridges)
        .map(|(p, b)| (p, b.into_iter().collect()))
        .collect()
}

#[cfg(test)]
mod split_tests {
    use super::*;

    fn task(key: &str, deps: &[&str]) -> TaskSpec {
        TaskSpec::new(
            key,
            "k",
            Bytes::from(vec![0u8; 100]),
            deps.iter().map(|d| TaskKey::new(*d)).collect(),
        )
    }

    #[test]
    fn small_graphs_go_whole_and_big_ones_bridge_the_keys_later_parts_read() {
        let tasks = vec![
            task("a", &[]),
            task("b", &["a"]),
            task("c", &["a", "b"]),
            task("d", &["c"]),
        ];
        let wanted = [TaskKey::new("d"), TaskKey::new("b")];
        let whole = split_submission(tasks.clone(), &wanted, 1 << 20);
        assert_eq!(whole.len(), 1);
        assert!(whole[0].1.is_empty());
        let parts = split_submission(tasks, &wanted, 150);
        assert_eq!(parts.len(), 4);
        let keys = |v: &[TaskKey]| v.iter().map(|k| k.as_str().to_string()).collect::<Vec<_>>();
        assert_eq!(keys(&parts[0].1), ["a"]);
        assert_eq!(keys(&parts[1].1), ["b"]);
        assert_eq!(keys(&parts[2].1), ["c"]);
        assert_eq!(keys(&parts[3].1), ["d"]);
    }
}
