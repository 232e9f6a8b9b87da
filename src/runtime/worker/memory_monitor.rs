//! The worker's memory monitor: feeds the chunk store's events and RSS samples to the
//! [`MemoryManager`] and carries out what it decides — spill jobs go to the [`SpillWriter`]
//! thread, pause/resume stop and restart the executors and are reported to the scheduler,
//! terminate stops the worker with the manager's message, a full disk is reported.
//!
//! It runs on its own thread (every [`SAMPLE_INTERVAL`], or sooner when woken, e.g. by a
//! finished spill) and, without the RSS sample, on an executor thread right after each result
//! is stored, so a fast producer is paused before it starts its next task. Besides pausing,
//! executors are held back while stored chunks exceed the spill threshold and spills are still
//! being written (back-pressure: a task producing faster than the disk absorbs waits for the
//! disk instead of piling results up towards the terminate threshold). It also counts
//! *transient* bytes — spilled chunks read for a task or a peer, inputs being fetched — which
//! RSS-triggered spilling leaves out and which make other transient reads wait for room under
//! pause ([`MemoryMonitor::wait_for_room`]). This module must not decide what to spill or
//! when (the memory manager does) and must not write chunks itself (the spill writer does).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::core::memory::{
    human_bytes, MemoryAction, MemoryConfig, MemoryConfigError, MemoryManager,
};
use crate::core::scheduler::task_prefix;
use crate::core::TaskKey;
use crate::protocol::{Frame, Message};
use crate::store::{ChunkStore, SpillWriter, StoreError};
use crate::transport::FrameSender;

use super::metrics::process_rss_bytes;
use super::state::WorkerState;

/// How often the monitor thread samples the process's RSS.
pub const SAMPLE_INTERVAL: Duration = Duration::from_millis(50);
/// How often [`MemoryMonitor::wait_for_room`] looks again.
const ROOM_POLL: Duration = Duration::from_millis(10);
/// Longest wait for memory before a transient buffer is read or fetched anyway.
pub const ROOM_WAIT: Duration = Duration::from_secs(2);

struct Inner {
    manager: MemoryManager,
    /// Last `(paused, disk_full)` sent to the scheduler.
    reported: (bool, bool),
    /// Executors are held (paused, or waiting for spills to catch up).
    holding: bool,
    /// Results spilled or read back, reported to the scheduler after each step.
    residency: super::residency::ResidencyReport,
}

/// See the module docs. Shared by the monitor thread and the executors.
pub struct MemoryMonitor {
    inner: Mutex<Inner>,
    store: Arc<ChunkStore>,
    state: Arc<WorkerState>,
    writer: Mutex<Option<SpillWriter>>,
    to_scheduler: FrameSender,
    wake: Mutex<Sender<()>>,
    terminated: Mutex<Option<String>>,
    limited: bool,
    sample_rss: bool,
    target_bytes: Option<u64>,
    spill_bytes: Option<u64>,
    /// Bytes of spilled chunks running tasks read without unspilling them.
    transient_bytes: AtomicU64,
    /// Bytes being spilled, as of the last step.
    spilling_bytes: AtomicU64,
    /// Bytes being fetched from peers.
    incoming_bytes: AtomicU64,
    /// Expected output bytes of the running tasks (see [`MemoryMonitor::task_starting`]).
    running_bytes: AtomicU64,
    /// The last result size of each task prefix: what a task of that prefix is expected to add.
    output_sizes: Mutex<HashMap<String, u64>>,
    pause_bytes: Option<u64>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Why the memory monitor could not start.
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    /// The memory thresholds are invalid.
    #[error(transparent)]
    Config(#[from] MemoryConfigError),
    /// The spill writer thread could not start.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl MemoryMonitor {
    /// A monitor for `state`'s store under `config`, with its spill writer thread started.
    /// Without `sample_rss` only the stored bytes are compared with the thresholds.
    /// Returns the receiver the monitor thread waits on (see [`MemoryMonitor::run`]).
    pub fn start(
        config: MemoryConfig,
        sample_rss: bool,
        state: Arc<WorkerState>,
        to_scheduler: FrameSender,
    ) -> Result<(Arc<MemoryMonitor>, Receiver<()>), MonitorError> {
        let manager = MemoryManager::new(config)?;
        let (wake_tx, wake_rx) = mpsc::channel();
        let store = state.store.clone();
        let writer_wake = wake_tx.clone();
        let writer = SpillWriter::start(store.clone(), move |_report| {
            release_freed_memory();
            let _ = writer_wake.send(());
        })?;
        let limited = manager.config().limit.is_some();
        let target_bytes = manager.levels().target;
        let spill_bytes = manager.levels().spill;
        let pause_bytes = manager.levels().pause;
        Ok((
            Arc::new(MemoryMonitor {
                inner: Mutex::new(Inner {
                    manager,
                    reported: (false, false),
                    holding: false,
                    residency: Default::default(),
                }),
                store,
                state,
                writer: Mutex::new(Some(writer)),
                to_scheduler,
                wake: Mutex::new(wake_tx),
                terminated: Mutex::new(None),
                limited,
                sample_rss,
                target_bytes,
                spill_bytes,
                transient_bytes: AtomicU64::new(0),
                spilling_bytes: AtomicU64::new(0),
                incoming_bytes: AtomicU64::new(0),
                running_bytes: AtomicU64::new(0),
                output_sizes: Mutex::new(HashMap::new()),
                pause_bytes,
            }),
            wake_rx,
        ))
    }

    /// The monitor thread: sample (when `sample_rss`) and act every [`SAMPLE_INTERVAL`] or
    /// when woken, until [`MemoryMonitor::shutdown`].
    pub fn run(&self, wake: Receiver<()>) {
        loop {
            match wake.recv_timeout(SAMPLE_INTERVAL) {
                Ok(()) | Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
            while wake.try_recv().is_ok() {}
            if lock(&self.writer).is_none() {
                return;
            }
            let sample = self.sample_rss.then(|| {
                // Buffers counted before and after the RSS reading were part of it.
                let before = self.transient_bytes.load(Ordering::Relaxed);
                let rss = process_rss_bytes();
                let after = self.transient_bytes.load(Ordering::Relaxed);
                (rss, before.min(after))
            });
            self.step(sample);
        }
    }

    /// Account for results just stored (no RSS sample): called by an executor after each
    /// task, so pausing happens before it takes the next one. A no-op without a memory limit
    /// (the monitor thread then drains the store's events on its own).
    pub fn after_task(&self) {
        if self.limited {
            self.step(None);
        }
    }

    /// Wake the monitor thread now (new data arrived from a peer or a client).
    pub fn poke(&self) {
        let _ = lock(&self.wake).send(());
    }

    /// True when reading a spilled chunk of `nbytes` back into memory keeps the stored bytes
    /// at or under target; otherwise the chunk should be read without unspilling it (it would
    /// only be spilled again at once).
    pub fn room_to_unspill(&self, nbytes: u64) -> bool {
        match self.target_bytes {
            Some(target) => self.store.metrics().memory_bytes + nbytes <= target,
            None => true,
        }
    }

    /// A running task read a spilled chunk of `nbytes` for itself (reported to the memory
    /// manager as `transient_bytes` of its RSS samples); undo with
    /// [`MemoryMonitor::transient_released`] when the task ends.
    pub fn transient_read(&self, nbytes: u64) {
        self.transient_bytes.fetch_add(nbytes, Ordering::Relaxed);
    }

    /// The buffers counted by [`MemoryMonitor::transient_read`] are gone.
    pub fn transient_released(&self, nbytes: u64) {
        self.transient_bytes.fetch_sub(nbytes, Ordering::Relaxed);
    }

    /// False while a transient buffer of `nbytes` (a spilled chunk read for a task or a peer,
    /// inputs fetched from one) should wait: the stored chunks, the transient buffers and it
    /// would exceed the pause threshold, and memory is about to be freed — transient buffers
    /// other than the caller's own (`own` bytes) exist, or spills are being written. Otherwise
    /// waiting would only stall the worker (the stored chunks are the spill thresholds'
    /// business).
    pub fn room_for_transient(&self, nbytes: u64, own: u64) -> bool {
        let Some(pause) = self.pause_bytes else {
            return true;
        };
        let transient = self.transient_bytes.load(Ordering::Relaxed);
        let freeing = transient > own || self.spilling_bytes.load(Ordering::Relaxed) > 0;
        !freeing || self.store.metrics().memory_bytes + transient + nbytes <= pause
    }

    /// `nbytes` of inputs are about to be fetched: target spilling makes room for them now
    /// (undo with [`MemoryMonitor::incoming_done`] once they are stored).
    pub fn incoming(&self, nbytes: u64) {
        self.incoming_bytes.fetch_add(nbytes, Ordering::Relaxed);
        if self.limited {
            self.step(None);
        }
    }

    /// A task is about to run: count the size of the last result of its prefix as memory it
    /// is about to add (pause and target spilling see it at once, so other threads do not
    /// start tasks on top of it). Returns the bytes counted, for [`MemoryMonitor::task_ended`].
    pub fn task_starting(&self, key: &TaskKey) -> u64 {
        let expected = lock(&self.output_sizes)
            .get(task_prefix(key.as_str()))
            .copied()
            .unwrap_or(0);
        self.running_bytes.fetch_add(expected, Ordering::Relaxed);
        if self.limited && expected > 0 {
            self.step(None);
        }
        expected
    }

    /// The task counted by [`MemoryMonitor::task_starting`] ended, producing `produced` bytes
    /// (if it produced a result): later tasks of its prefix are expected to produce as much.
    pub fn task_ended(&self, key: &TaskKey, expected: u64, produced: Option<u64>) {
        self.running_bytes.fetch_sub(expected, Ordering::Relaxed);
        if let Some(n) = produced {
            let prefix = task_prefix(key.as_str());
            let mut sizes = lock(&self.output_sizes);
            match sizes.get_mut(prefix) {
                Some(size) => *size = n,
                None => {
                    sizes.insert(prefix.to_owned(), n);
                }
            }
        }
    }

    /// The inputs announced with [`MemoryMonitor::incoming`] are stored (or dropped).
    pub fn incoming_done(&self, nbytes: u64) {
        self.incoming_bytes.fetch_sub(nbytes, Ordering::Relaxed);
    }

    /// Wait until [`MemoryMonitor::room_for_transient`] says `nbytes` fit, at most
    /// [`ROOM_WAIT`] (then go on anyway: a peer or a task must not wait for ever on memory
    /// held elsewhere).
    pub fn wait_for_room(&self, nbytes: u64, own: u64) {
        let deadline = Instant::now() + ROOM_WAIT;
        while !self.room_for_transient(nbytes, own) && Instant::now() < deadline {
            std::thread::sleep(ROOM_POLL);
        }
    }

    /// `(paused, disk_full)` as last reported to the scheduler.
    pub fn reported_status(&self) -> (bool, bool) {
        lock(&self.inner).reported
    }

    /// Why the worker terminated itself, if it did.
    pub fn termination(&self) -> Option<String> {
        lock(&self.terminated).clone()
    }

    /// Stop the spill writer (finishing queued jobs) and make the monitor thread return.
    pub fn shutdown(&self) {
        let writer = lock(&self.writer).take();
        drop(writer);
        self.poke();
    }

    /// `rss`: a fresh `(RSS, transient bytes)` sample, if any.
    fn step(&self, rss: Option<(u64, u64)>) {
        let now = Instant::now();
        let mut inner = lock(&self.inner);
        // Incoming first: a fetched chunk stops being incoming before it is stored.
        inner.manager.handle(
            now,
            crate::core::memory::MemoryEvent::Incoming {
                nbytes: self.incoming_bytes.load(Ordering::Relaxed),
            },
        );
        inner.manager.handle(
            now,
            crate::core::memory::MemoryEvent::Running {
                nbytes: self.running_bytes.load(Ordering::Relaxed),
            },
        );
        for event in self.store.drain_events() {
            inner.residency.observe(&event);
            inner.manager.handle(now, event);
        }
        inner.residency.flush(&self.to_scheduler);
        let sample = match rss {
            Some((rss_bytes, transient_bytes)) => crate::core::memory::MemoryEvent::RssSample {
                rss_bytes,
                transient_bytes,
            },
            None => crate::core::memory::MemoryEvent::Tick,
        };
        inner.manager.handle(now, sample);
        let actions: Vec<MemoryAction> = inner.manager.drain_actions().collect();
        if actions
            .iter()
            .any(|a| matches!(a, MemoryAction::Spill { .. }))
        {
            let m = inner.manager.metrics();
            tracing::debug!(
                rss = ?m.rss_bytes,
                managed = m.memory_bytes,
                spilling = m.spilling_bytes,
                transient = ?rss.map(|(_, t)| t),
                "memory when spilling"
            );
        }
        for action in actions {
            self.carry_out(action);
        }
        // A full disk alone does not stop the scheduler: chunks that cannot be spilled stay in
        // memory, and once memory reaches the pause threshold the worker pauses as usual.
        let m = inner.manager.metrics();
        self.spilling_bytes
            .store(m.spilling_bytes, Ordering::Relaxed);
        // Back-pressure: above the spill threshold with spills still being written, a new
        // task would add its result on top of the chunks waiting for the disk; wait for them.
        let spill_behind = self
            .spill_bytes
            .is_some_and(|level| m.memory_bytes > level && m.spilling_bytes > 0);
        let hold = (m.paused || spill_behind) && !m.terminated;
        if hold != inner.holding {
            inner.holding = hold;
            self.hold_executors(hold);
        }
        let status = (m.paused, m.disk_full);
        if status != inner.reported && !m.terminated {
            inner.reported = status;
            let message = Message::WorkerStatus {
                paused: status.0,
                disk_full: status.1,
            };
            if let Err(e) = self.to_scheduler.send(Frame::single(message)) {
                tracing::debug!(error = %e, "cannot report the memory status to the scheduler");
            }
        }
    }

    fn carry_out(&self, action: MemoryAction) {
        match action {
            MemoryAction::Spill { keys, cause } => {
                tracing::debug!(chunks = keys.len(), ?cause, "spilling");
                let submitted = match lock(&self.writer).as_ref() {
                    Some(writer) => writer.submit(keys),
                    None => Err(StoreError::WriterStopped),
                };
                if let Err(e) = submitted {
                    tracing::error!(error = %e, "cannot spill");
                }
            }
            MemoryAction::Pause {
                memory_bytes,
                pause_bytes,
            } => {
                tracing::warn!(
                    memory = %human_bytes(memory_bytes),
                    pause = %human_bytes(pause_bytes),
                    "worker paused: memory above the pause threshold; no new task starts until \
                     it falls"
                );
            }
            MemoryAction::Resume { memory_bytes } => {
                tracing::info!(memory = %human_bytes(memory_bytes), "worker resumed");
            }
            MemoryAction::Terminate { reason } => self.terminate(reason),
            MemoryAction::DiskFull { reason } => tracing::warn!("{reason}"),
            MemoryAction::DiskAvailable => tracing::info!("spilling to disk works again"),
            MemoryAction::Warn { message } => tracing::warn!("{message}"),
        }
    }

    fn hold_executors(&self, hold: bool) {
        self.state.tasks().paused = hold;
        if !hold {
            self.state.work_available.notify_all();
        }
    }

    fn terminate(&self, reason: String) {
        tracing::error!("{reason}");
        *lock(&self.terminated) = Some(reason);
        self.state.tasks().stopping = true;
        self.state.work_available.notify_all();
        // The control thread sees the connection end and reports the termination.
        self.to_scheduler.close();
    }
}

/// Give memory freed by spilling back to the operating system (glibc keeps freed heap memory
/// otherwise, and RSS would not fall).
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory of the allocator's arenas.
    unsafe {
        libc::malloc_trim(0);
    }
}
