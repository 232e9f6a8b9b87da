//! Fetcher threads: bring a task's missing inputs from the peers holding them, directly
//! (never through the scheduler), then queue the task. Inputs that no holder can provide are
//! reported to the scheduler as `DepsMissing`. A fetch first asks the memory manager to make room
//! for the inputs (target spilling counts them as if stored), waits (up to [`super::memory_monitor::ROOM_WAIT`]) while the
//! inputs would take the worker above its pause threshold, and counts as transient memory
//! until they are stored.
//!
//! This module must not run kernels.

use std::collections::HashMap;
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};

use crate::core::TaskKey;
use crate::protocol::{Frame, Message};
use crate::runtime::peer_pool::PeerPool;
use crate::transport::FrameSender;

use super::memory_monitor::MemoryMonitor;
use super::state::{Phase, WorkerState};

/// Fetch inputs for tasks arriving on `jobs` until the channel closes.
pub fn run_fetcher(
    state: Arc<WorkerState>,
    jobs: Arc<Mutex<Receiver<TaskKey>>>,
    peers: Arc<PeerPool>,
    own_address: String,
    to_scheduler: FrameSender,
    prefetch_limit: usize,
    monitor: &MemoryMonitor,
) {
    loop {
        let key = {
            let rx = jobs.lock().unwrap_or_else(|e| e.into_inner());
            match rx.recv() {
                Ok(k) => k,
                Err(_) => return,
            }
        };
        // Bring inputs in only when they will be used soon: while the worker is paused
        // (memory high) or already has `prefetch_limit` tasks ready to run, wait. Fetching
        // ahead of that only fills memory (and, with deep queues, overruns the limit).
        let deps = {
            let mut tasks = state.tasks();
            loop {
                if tasks.stopping {
                    return;
                }
                let ready = tasks
                    .entries
                    .values()
                    .filter(|e| e.phase == Phase::Ready)
                    .count();
                if !tasks.paused && ready < prefetch_limit {
                    break;
                }
                // Its own condition variable: waiting on the executors' one would take
                // `notify_one` wake-ups meant for an executor (a lost wake-up, a stalled task).
                // The timeout covers resuming from a pause.
                tasks = state
                    .fetch_room
                    .wait_timeout(tasks, std::time::Duration::from_millis(10))
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
            match tasks.entries.get(&key) {
                Some(e) if e.phase == Phase::Fetching => e.task.deps.clone(),
                _ => continue, // stolen or freed meanwhile
            }
        };
        // Group the inputs we lack by the holder we will ask first.
        let mut missing_now: Vec<(TaskKey, Vec<String>)> = {
            let data = state.data();
            deps.iter()
                .filter(|(k, _, _)| !data.contains(k))
                .map(|(k, _, holders)| {
                    let hs = holders
                        .iter()
                        .filter(|h| **h != own_address)
                        .cloned()
                        .collect();
                    (k.clone(), hs)
                })
                .collect()
        };
        let incoming: u64 = deps
            .iter()
            .filter(|(k, _, _)| missing_now.iter().any(|(m, _)| m == k))
            .map(|(_, nbytes, _)| *nbytes)
            .sum();
        if incoming > 0 {
            monitor.incoming(incoming);
            monitor.wait_for_room(incoming, 0);
        }
        monitor.transient_read(incoming);
        let fetch_started = std::time::Instant::now();
        let mut fetched = HashMap::new();
        let mut attempt = 0;
        while !missing_now.is_empty() && attempt < 4 {
            let mut by_holder: HashMap<String, Vec<TaskKey>> = HashMap::new();
            let mut unreachable = Vec::new();
            for (k, holders) in &missing_now {
                match holders.get(attempt) {
                    Some(h) => by_holder.entry(h.clone()).or_default().push(k.clone()),
                    None => unreachable.push((k.clone(), holders.clone())),
                }
            }
            let mut still = unreachable;
            for (holder, keys) in by_holder {
                match peers.get(&holder, &keys) {
                    Ok(mut got) => {
                        for k in keys {
                            match got.remove(&k).flatten() {
                                Some(v) => {
                                    fetched.insert(k, v);
                                }
                                None => {
                                    let hs = missing_now
                                        .iter()
                                        .find(|(m, _)| *m == k)
                                        .map(|(_, h)| h.clone())
                                        .unwrap_or_default();
                                    still.push((k, hs));
                                }
                            }
                        }
                    }
                    Err(e) => {
                        tracing::debug!(%holder, error = %e, "fetch from peer failed");
                        for k in keys {
                            let hs = missing_now
                                .iter()
                                .find(|(m, _)| *m == k)
                                .map(|(_, h)| h.clone())
                                .unwrap_or_default();
                            still.push((k, hs));
                        }
                    }
                }
            }
            missing_now = still;
            attempt += 1;
        }
        // Deliver what we have; report what we could not get. No longer incoming: about to be
        // stored (counted once it is; counting both would spill one chunk too many).
        monitor.incoming_done(incoming);
        let mut tasks = state.tasks();
        let alive = matches!(tasks.entries.get(&key), Some(e) if e.phase == Phase::Fetching);
        {
            let mut data = state.data();
            if alive && missing_now.is_empty() {
                for (k, _, _) in &deps {
                    match fetched.remove(k) {
                        Some(v) => data.insert_replica(k.clone(), v),
                        None => data.retain_replica(k),
                    }
                }
            }
        }
        // Stored now (or dropped): no longer transient.
        monitor.transient_released(incoming);
        if !alive {
            continue;
        }
        if missing_now.is_empty() {
            if let Some(e) = tasks.entries.get_mut(&key) {
                e.transfer = fetch_started.elapsed();
                e.transfer_bytes = incoming;
            }
            tasks.make_ready(&key);
            drop(tasks);
            state.work_available.notify_one();
        } else {
            tasks.entries.remove(&key);
            drop(tasks);
            let missing = missing_now.into_iter().map(|(k, _)| k).collect();
            if to_scheduler
                .send(Frame::single(Message::DepsMissing { key, missing }))
                .is_err()
            {
                return;
            }
        }
    }
}
