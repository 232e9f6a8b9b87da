//! Worker memory management as a pure state machine: `handle(now, event)`, then
//! `drain_actions()`.
//!
//! It tracks every stored chunk (in memory, being spilled, or on disk) in least-recently-used
//! order, the last RSS sample, and decides when to spill, pause, resume or terminate, following
//! dask.distributed's thresholds (fractions of the memory limit, each can be disabled):
//!
//! - **target** (0.60): managed bytes (plus chunks about to arrive from peers,
//!   [`MemoryEvent::Incoming`], and the running tasks' expected outputs) above it → spill LRU chunks until below it;
//! - **spill** (0.70): RSS above it → spill LRU chunks in batches until RSS is under target
//!   (RSS here leaves out the spilled chunks running tasks read for themselves: those buffers
//!   go away when the tasks end, see [`MemoryEvent::RssSample`]);
//! - **pause** (0.80): memory plus the running tasks' expected outputs
//!   ([`MemoryEvent::Running`]) above it → pause; resume below `pause - resume_margin`;
//! - **terminate** (0.95): memory above it → terminate with a clear reason.
//!
//! Hysteresis: resume happens well below pause; RSS-triggered spills are batched (at most 10% of
//! the limit each), spaced by `spill_interval`, and when a batch did not lower RSS by at least
//! half its size (unmanaged memory, heap fragmentation) the interval doubles up to
//! `max_spill_backoff` with a rate-limited warning instead of spilling everything in a loop.
//! A failed spill (disk full, `max_spill`) leaves the chunk in memory, stops spilling and asks
//! the worker to report it; spilling is retried when disk space is freed or after
//! `disk_full_retry`. A worker that stays paused with spilling impossible and frees no chunk
//! for `disk_full_timeout` (a full, read-only or deleted spill directory) terminates with a
//! reason naming the cause, so its work moves to other workers or the client hears of it
//! instead of waiting for ever.
//!
//! This module must not do I/O, read the clock or spawn threads: the worker passes `now`,
//! carries out the [`MemoryAction`]s and reports back with [`MemoryEvent`]s.
//!
//! ```
//! use std::time::Instant;
//! use tessera::core::memory::{MemoryAction, MemoryConfig, MemoryEvent, MemoryManager};
//! use tessera::core::TaskKey;
//!
//! let cfg = MemoryConfig { limit: Some(1000), ..MemoryConfig::default() };
//! let mut mm = MemoryManager::new(cfg).unwrap();
//! let now = Instant::now();
//! mm.handle(now, MemoryEvent::Stored { key: TaskKey::new("a"), nbytes: 400 });
//! mm.handle(now, MemoryEvent::Stored { key: TaskKey::new("b"), nbytes: 400 });
//! let actions: Vec<_> = mm.drain_actions().collect();
//! assert!(matches!(&actions[0], MemoryAction::Spill { keys, .. } if keys == &[TaskKey::new("a")]));
//! ```

mod action;
mod config;
mod event;
mod lru;
mod metrics;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

pub use action::{MemoryAction, SpillCause};
pub use config::{ByteLevels, MemoryConfig, MemoryConfigError};
pub use event::{MemoryEvent, SpillFailure};
pub use lru::LruOrder;
pub use metrics::MemoryMetrics;

use crate::core::task::TaskKey;

/// Largest RSS-triggered spill batch as a fraction of the limit.
const RSS_BATCH_FRACTION: f64 = 0.10;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum WarningKind {
    UnmanagedMemory,
    IneffectiveSpill,
    SpillStopped,
}

struct SpilledChunk {
    nbytes: u64,
    disk_bytes: u64,
}

/// An RSS-triggered batch whose effect on RSS is still to be judged.
struct RssBatch {
    rss_before: u64,
    outstanding: HashSet<TaskKey>,
    confirmed_bytes: u64,
}

struct DiskFull {
    since: Instant,
    /// The latest failure, naming the directory.
    reason: String,
}

/// The memory manager of one worker. See the module docs.
pub struct MemoryManager {
    config: MemoryConfig,
    levels: ByteLevels,
    /// Chunks in memory that are not being spilled, LRU first.
    lru: LruOrder,
    /// Chunks in memory whose spill was requested: key → nbytes.
    spilling: HashMap<TaskKey, u64>,
    spilling_bytes: u64,
    spilled: HashMap<TaskKey, SpilledChunk>,
    spilled_bytes: u64,
    spilled_disk_bytes: u64,
    rss: Option<u64>,
    /// Of the last RSS sample, spilled chunks read by running tasks without unspilling.
    transient_bytes: u64,
    /// Chunks being fetched from peers (see `Incoming`).
    incoming_bytes: u64,
    /// Expected output bytes of the running tasks (see [`MemoryEvent::Running`]).
    running_bytes: u64,
    paused: bool,
    terminated: bool,
    disk_full: Option<DiskFull>,
    /// Since when the worker has been paused with spilling impossible and no chunk freed.
    stuck_since: Option<Instant>,
    next_rss_spill_at: Option<Instant>,
    rss_backoff: Duration,
    rss_batch: Option<RssBatch>,
    last_warning: HashMap<WarningKind, Instant>,
    spill_count: u64,
    unspill_count: u64,
    spill_failures: u64,
    pause_count: u64,
    actions: Vec<MemoryAction>,
}

impl MemoryManager {
    /// A manager with no chunks, after validating `config`.
    pub fn new(config: MemoryConfig) -> Result<Self, MemoryConfigError> {
        config.validate()?;
        Ok(MemoryManager {
            levels: config.byte_levels(),
            rss_backoff: config.spill_interval,
            config,
            lru: LruOrder::new(),
            spilling: HashMap::new(),
            spilling_bytes: 0,
            spilled: HashMap::new(),
            spilled_bytes: 0,
            spilled_disk_bytes: 0,
            rss: None,
            transient_bytes: 0,
            incoming_bytes: 0,
            running_bytes: 0,
            paused: false,
            terminated: false,
            disk_full: None,
            stuck_since: None,
            next_rss_spill_at: None,
            rss_batch: None,
            last_warning: HashMap::new(),
            spill_count: 0,
            unspill_count: 0,
            spill_failures: 0,
            pause_count: 0,
            actions: Vec::new(),
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &MemoryConfig {
        &self.config
    }

    /// The thresholds in bytes.
    pub fn levels(&self) -> ByteLevels {
        self.levels
    }

    /// True while the worker should not start new tasks.
    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// Feed one event. Actions accumulate until drained.
    pub fn handle(&mut self, now: Instant, event: MemoryEvent) {
        if self.terminated {
            return;
        }
        match event {
            MemoryEvent::Stored { key, nbytes } => {
                self.forget(&key);
                self.lru.insert_most_recent(key, nbytes);
            }
            MemoryEvent::Accessed { key } => {
                self.lru.touch(&key);
            }
            MemoryEvent::Removed { key } => {
                // Progress: whatever it held is being consumed.
                self.stuck_since = None;
                self.forget(&key)
            }
            MemoryEvent::Spilled {
                key,
                nbytes_on_disk,
            } => self.on_spilled(key, nbytes_on_disk),
            MemoryEvent::Unspilled { key } => self.on_unspilled(key),
            MemoryEvent::SpillFailed { key, reason } => self.on_spill_failed(now, key, reason),
            MemoryEvent::RssSample {
                rss_bytes,
                transient_bytes,
            } => {
                self.rss = Some(rss_bytes);
                self.transient_bytes = transient_bytes.min(rss_bytes);
                self.judge_rss_batch(now, rss_bytes - self.transient_bytes);
            }
            MemoryEvent::Incoming { nbytes } => self.incoming_bytes = nbytes,
            MemoryEvent::Running { nbytes } => self.running_bytes = nbytes,
            MemoryEvent::Tick => {}
        }
        self.evaluate(now);
    }

    /// Take the actions produced so far, in the order they must be carried out.
    pub fn drain_actions(&mut self) -> std::vec::Drain<'_, MemoryAction> {
        self.actions.drain(..)
    }

    /// Current figures.
    pub fn metrics(&self) -> MemoryMetrics {
        let memory_bytes = self.memory_bytes();
        MemoryMetrics {
            limit: self.config.limit,
            memory_bytes,
            memory_chunks: self.lru.len() + self.spilling.len(),
            spilling_bytes: self.spilling_bytes,
            spilled_bytes: self.spilled_bytes,
            spilled_disk_bytes: self.spilled_disk_bytes,
            spilled_chunks: self.spilled.len(),
            rss_bytes: self.rss,
            unmanaged_bytes: self.rss.map(|r| r.saturating_sub(memory_bytes)),
            paused: self.paused,
            disk_full: self.disk_full.is_some(),
            terminated: self.terminated,
            spill_count: self.spill_count,
            unspill_count: self.unspill_count,
            spill_failures: self.spill_failures,
            pause_count: self.pause_count,
        }
    }

    /// Bytes of stored chunks in memory (including those being spilled).
    fn memory_bytes(&self) -> u64 {
        self.lru.total_bytes() + self.spilling_bytes
    }

    /// The measure compared with pause and terminate: RSS, never below the managed bytes.
    fn process_memory(&self) -> u64 {
        self.rss.unwrap_or(0).max(self.memory_bytes())
    }

    /// Drop every trace of `key`.
    fn forget(&mut self, key: &TaskKey) {
        self.lru.remove(key);
        if let Some(n) = self.spilling.remove(key) {
            self.spilling_bytes -= n;
        }
        if let Some(batch) = &mut self.rss_batch {
            batch.outstanding.remove(key);
        }
        if let Some(chunk) = self.spilled.remove(key) {
            self.spilled_bytes -= chunk.nbytes;
            self.spilled_disk_bytes -= chunk.disk_bytes;
            self.disk_space_freed();
        }
    }

    fn on_spilled(&mut self, key: TaskKey, disk_bytes: u64) {
        let Some(nbytes) = self.spilling.remove(&key) else {
            // Removed or re-stored meanwhile: the store has already dropped the file.
            return;
        };
        self.spilling_bytes -= nbytes;
        self.spilled_bytes += nbytes;
        self.spilled_disk_bytes += disk_bytes;
        self.spilled
            .insert(key.clone(), SpilledChunk { nbytes, disk_bytes });
        self.spill_count += 1;
        if let Some(batch) = &mut self.rss_batch {
            if batch.outstanding.remove(&key) {
                batch.confirmed_bytes += nbytes;
            }
        }
        if self.disk_full.take().is_some() {
            self.actions.push(MemoryAction::DiskAvailable);
        }
    }

    fn on_unspilled(&mut self, key: TaskKey) {
        let Some(chunk) = self.spilled.remove(&key) else {
            return;
        };
        self.spilled_bytes -= chunk.nbytes;
        self.spilled_disk_bytes -= chunk.disk_bytes;
        self.unspill_count += 1;
        self.lru.insert_most_recent(key, chunk.nbytes);
        self.disk_space_freed();
    }

    fn on_spill_failed(&mut self, now: Instant, key: TaskKey, reason: SpillFailure) {
        let Some(nbytes) = self.spilling.remove(&key) else {
            return;
        };
        self.spilling_bytes -= nbytes;
        self.spill_failures += 1;
        if let Some(batch) = &mut self.rss_batch {
            batch.outstanding.remove(&key);
        }
        // Back at the cold end: it is still the best candidate once spilling works again.
        self.lru.insert_least_recent(key, nbytes);
        self.stop_spilling(now, reason.to_string());
    }

    fn stop_spilling(&mut self, now: Instant, reason: String) {
        if self.disk_full.is_none() {
            self.actions.push(MemoryAction::DiskFull {
                reason: format!(
                    "spilling to disk stopped ({reason}); chunks stay in memory and the worker \
                     can take no more work beyond what fits"
                ),
            });
        } else {
            self.warn(
                now,
                WarningKind::SpillStopped,
                format!("spilling to disk still impossible: {reason}"),
            );
        }
        self.disk_full = Some(DiskFull { since: now, reason });
    }

    fn disk_space_freed(&mut self) {
        let below_cap = self
            .config
            .max_spill
            .is_none_or(|cap| self.spilled_disk_bytes < cap);
        if below_cap && self.disk_full.take().is_some() {
            self.actions.push(MemoryAction::DiskAvailable);
        }
    }

    /// True when spill requests may be sent now.
    fn may_spill(&mut self, now: Instant) -> bool {
        if let Some(cap) = self.config.max_spill {
            if self.spilled_disk_bytes >= cap {
                if self.disk_full.is_none() {
                    self.stop_spilling(
                        now,
                        SpillFailure::CapReached { max_spill: cap }.to_string(),
                    );
                }
                return false;
            }
        }
        match &self.disk_full {
            Some(full) => now.saturating_duration_since(full.since) >= self.config.disk_full_retry,
            None => true,
        }
    }

    /// `rss`: the RSS without the transient bytes.
    fn judge_rss_batch(&mut self, now: Instant, rss: u64) {
        let settled = self
            .rss_batch
            .as_ref()
            .is_some_and(|b| b.outstanding.is_empty());
        if !settled {
            return;
        }
        let Some(batch) = self.rss_batch.take() else {
            return;
        };
        let freed = batch.rss_before.saturating_sub(rss);
        if batch.confirmed_bytes > 0 && freed < batch.confirmed_bytes / 2 {
            self.rss_backoff = (self.rss_backoff * 2).min(self.config.max_spill_backoff);
            self.warn(
                now,
                WarningKind::IneffectiveSpill,
                format!(
                    "spilling {} to disk lowered the worker's RSS by only {} (now {}); the \
                     memory is held outside the chunk store (heap fragmentation, leaks, or memory \
                     not returned to the OS); next RSS-triggered spill in {:?}",
                    human_bytes(batch.confirmed_bytes),
                    human_bytes(freed),
                    human_bytes(rss),
                    self.rss_backoff
                ),
            );
        } else {
            self.rss_backoff = self.config.spill_interval;
        }
        self.next_rss_spill_at = Some(now + self.rss_backoff);
    }

    fn evaluate(&mut self, now: Instant) {
        let memory = self.process_memory();
        if let Some(terminate) = self.levels.terminate {
            if memory > terminate {
                self.terminate(memory, terminate);
                return;
            }
        }
        // Pause counts what the running tasks are about to add.
        self.evaluate_pause(memory.saturating_add(self.running_bytes));
        self.spill_to_target(now);
        self.spill_for_rss(now);
        self.give_up_when_stuck(now);
    }

    /// Terminate after `disk_full_timeout` paused with spilling impossible and no chunk freed.
    fn give_up_when_stuck(&mut self, now: Instant) {
        let Some(full) = self.disk_full.as_ref().filter(|_| self.paused) else {
            self.stuck_since = None;
            return;
        };
        let since = *self.stuck_since.get_or_insert(now);
        let Some(timeout) = self.config.disk_full_timeout else {
            return;
        };
        if now.saturating_duration_since(since) >= timeout {
            let reason = format!(
                "spilling to disk impossible ({}) for {:?} while the worker is paused at {} \
                 with no chunk freed; stopping the worker so its work moves elsewhere. Free \
                 space in or fix the spill directory (--local-directory), or raise --memory-limit",
                full.reason,
                timeout,
                human_bytes(self.process_memory())
            );
            self.terminated = true;
            self.actions.push(MemoryAction::Terminate { reason });
        }
    }

    fn terminate(&mut self, memory: u64, terminate: u64) {
        let limit = self.config.limit.unwrap_or(0);
        let reason = format!(
            "worker memory {} exceeds the terminate threshold {} ({:.0}% of the {} memory \
             limit); stopping the worker. Raise --memory-limit, use smaller chunks, or run more \
             workers",
            human_bytes(memory),
            human_bytes(terminate),
            self.config.terminate.unwrap_or(0.0) * 100.0,
            human_bytes(limit)
        );
        self.terminated = true;
        self.actions.push(MemoryAction::Terminate { reason });
    }

    fn evaluate_pause(&mut self, memory: u64) {
        let (Some(pause), Some(resume)) = (self.levels.pause, self.levels.resume) else {
            return;
        };
        if !self.paused && memory > pause {
            self.paused = true;
            self.pause_count += 1;
            self.actions.push(MemoryAction::Pause {
                memory_bytes: memory,
                pause_bytes: pause,
            });
        } else if self.paused && memory < resume {
            self.paused = false;
            self.actions.push(MemoryAction::Resume {
                memory_bytes: memory,
            });
        }
    }

    /// Managed bytes above target: spill LRU chunks until the rest fits under target.
    fn spill_to_target(&mut self, now: Instant) {
        let Some(target) = self.levels.target else {
            return;
        };
        let wanted = self.lru.total_bytes() + self.incoming_bytes + self.running_bytes;
        if wanted <= target || self.lru.is_empty() || !self.may_spill(now) {
            return;
        }
        let excess = wanted - target;
        let keys = self.pick_lru(excess, u64::MAX);
        self.request_spill(keys, SpillCause::Target);
    }

    /// RSS above the spill threshold: spill a batch towards target, respecting the interval.
    fn spill_for_rss(&mut self, now: Instant) {
        let (Some(spill), Some(rss)) = (self.levels.spill, self.rss) else {
            return;
        };
        let rss = rss.saturating_sub(self.transient_bytes);
        if rss <= spill || self.rss_batch.is_some() {
            return;
        }
        if self.next_rss_spill_at.is_some_and(|at| now < at) {
            return;
        }
        let goal = self.levels.target.unwrap_or(spill);
        let need = rss.saturating_sub(goal).saturating_sub(self.spilling_bytes);
        if need == 0 {
            return;
        }
        if self.lru.is_empty() {
            self.next_rss_spill_at = Some(now + self.config.spill_interval);
            if self.spilling.is_empty() {
                let unmanaged = rss.saturating_sub(self.memory_bytes());
                self.warn(
                    now,
                    WarningKind::UnmanagedMemory,
                    format!(
                        "worker RSS {} is above the spill threshold {} but no chunk is left in \
                         memory to spill; unmanaged memory is {} (kernel buffers, heap \
                         fragmentation or a leak in a kernel)",
                        human_bytes(rss),
                        human_bytes(spill),
                        human_bytes(unmanaged)
                    ),
                );
            }
            return;
        }
        if !self.may_spill(now) {
            return;
        }
        let batch_cap = (self.config.limit.unwrap_or(u64::MAX) as f64 * RSS_BATCH_FRACTION) as u64;
        let keys = self.pick_lru(need, batch_cap.max(1));
        self.rss_batch = Some(RssBatch {
            rss_before: rss,
            outstanding: keys.iter().cloned().collect(),
            confirmed_bytes: 0,
        });
        self.next_rss_spill_at = Some(now + self.rss_backoff);
        self.request_spill(keys, SpillCause::Rss);
    }

    /// LRU keys totalling at least `need` bytes, stopping once `cap` bytes would be exceeded
    /// (always at least one key).
    fn pick_lru(&self, need: u64, cap: u64) -> Vec<TaskKey> {
        let mut picked = Vec::new();
        let mut total = 0u64;
        for (key, nbytes) in self.lru.iter_least_recent() {
            if total >= need || (!picked.is_empty() && total + nbytes > cap) {
                break;
            }
            total += nbytes;
            picked.push(key.clone());
        }
        picked
    }

    fn request_spill(&mut self, keys: Vec<TaskKey>, cause: SpillCause) {
        if keys.is_empty() {
            return;
        }
        for key in &keys {
            if let Some(n) = self.lru.remove(key) {
                self.spilling_bytes += n;
                self.spilling.insert(key.clone(), n);
            }
        }
        self.actions.push(MemoryAction::Spill { keys, cause });
    }

    fn warn(&mut self, now: Instant, kind: WarningKind, message: String) {
        let due = self
            .last_warning
            .get(&kind)
            .is_none_or(|&at| now.saturating_duration_since(at) >= self.config.warning_interval);
        if due {
            self.last_warning.insert(kind, now);
            self.actions.push(MemoryAction::Warn { message });
        }
    }
}

/// Bytes as people read them: `512 B`, `1.5 MiB`, `3.0 GiB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests;
