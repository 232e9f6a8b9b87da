//! Resource fitting: which worker can take a task that asks for more than one CPU, memory or
//! a generic resource, and the books of what each worker has given out.
//!
//! Requests are interned (id 0 is the default request: one CPU, nothing else), so a task
//! carries a `u32` and the default path costs one comparison. CPUs count as units in flight
//! against the worker's queue capacity (like tasks; the worker starts a task only when its
//! CPUs are free); memory and generic resources are never given out beyond what the worker
//! has. This module must not choose between workers or emit actions.

use super::fast_hash::FastMap;
use super::task_store::{TaskId, TaskState};
use super::worker_pool::WorkerSlot;
use super::Scheduler;
use crate::core::resources::ResourceRequest;

/// A request in the scheduler's terms: generic resources by name index.
#[derive(Debug, Default)]
pub(super) struct Resolved {
    pub cpus: u32,
    pub memory: u64,
    pub generic: Vec<(usize, u32)>,
}

/// Interned requests and generic resource names.
pub(super) struct Requests {
    table: Vec<ResourceRequest>,
    resolved: Vec<Resolved>,
    index: FastMap<ResourceRequest, u32>,
    names: Vec<String>,
    /// The longest declared duration (`time_request`) of any request seen.
    longest_declared: std::time::Duration,
}

impl Default for Requests {
    fn default() -> Self {
        Requests {
            table: vec![ResourceRequest::default()],
            resolved: vec![Resolved {
                cpus: 1,
                ..Resolved::default()
            }],
            index: FastMap::default(),
            names: Vec::new(),
            longest_declared: std::time::Duration::ZERO,
        }
    }
}

impl Requests {
    /// The id of a request (0 for the default one).
    #[inline]
    pub(super) fn intern(&mut self, request: &ResourceRequest) -> u32 {
        if request.is_default() {
            return 0;
        }
        if let Some(&id) = self.index.get(request) {
            return id;
        }
        let generic = request
            .generic
            .iter()
            .map(|(name, amount)| (self.name_index(name), *amount))
            .collect();
        let id = self.table.len() as u32;
        if let Some(declared) = request.time_request {
            self.longest_declared = self.longest_declared.max(declared);
        }
        self.resolved.push(Resolved {
            cpus: request.cpus.max(1),
            memory: request.memory,
            generic,
        });
        self.table.push(request.clone());
        self.index.insert(request.clone(), id);
        id
    }

    /// The index of a generic resource name (new names get the next index).
    pub(super) fn name_index(&mut self, name: &str) -> usize {
        match self.names.iter().position(|n| n == name) {
            Some(i) => i,
            None => {
                self.names.push(name.to_string());
                self.names.len() - 1
            }
        }
    }

    /// The request with this id.
    #[inline]
    pub(super) fn get(&self, id: u32) -> &ResourceRequest {
        &self.table[id as usize]
    }

    /// The declared duration of the request with this id (`--time-request`), if any.
    #[inline]
    pub(super) fn declared(&self, id: u32) -> Option<std::time::Duration> {
        if id == 0 {
            return None;
        }
        self.table[id as usize].time_request
    }

    /// The longest declared duration of any request seen (zero when none).
    pub(super) fn longest_declared(&self) -> std::time::Duration {
        self.longest_declared
    }

    /// CPUs beyond the first of the request with this id.
    #[inline]
    pub(super) fn extra_cpus(&self, id: u32) -> u32 {
        self.resolved[id as usize].cpus - 1
    }
}

impl Scheduler {
    /// Generic resource amounts by name index, from a worker's `(name, amount)` list.
    pub(super) fn generic_totals(&mut self, generic: &[(String, u32)]) -> Vec<u32> {
        let mut totals = Vec::new();
        for (name, amount) in generic {
            let i = self.requests.name_index(name);
            if totals.len() <= i {
                totals.resize(i + 1, 0);
            }
            totals[i] += amount;
        }
        totals
    }

    /// The worker in `slot` can take the task now as far as its resources go (the default
    /// request always fits a worker with a free slot).
    #[inline]
    pub(super) fn fits(&self, id: TaskId, slot: WorkerSlot) -> bool {
        let request = self.tasks[id].request;
        request == 0 || self.fits_request(request, slot)
    }

    fn fits_request(&self, request: u32, slot: WorkerSlot) -> bool {
        let Some(w) = self.workers.get(slot) else {
            return false;
        };
        let r = &self.requests.resolved[request as usize];
        r.cpus <= w.nthreads
            && w.in_flight() + r.cpus as usize <= (w.capacity as usize).max(r.cpus as usize)
            && (r.memory == 0
                || w.memory_limit
                    .is_none_or(|limit| w.memory_used.saturating_add(r.memory) <= limit))
            && r.generic.iter().all(|&(i, amount)| {
                let total = w.generic_total.get(i).copied().unwrap_or(0);
                let used = w.generic_used.get(i).copied().unwrap_or(0);
                used + amount <= total
            })
    }

    /// Book the memory and generic resources of a task sent to `slot` (CPUs are booked by
    /// the worker pool with the task).
    pub(super) fn reserve_resources(&mut self, id: TaskId, slot: WorkerSlot) {
        self.book(id, slot, true);
    }

    /// Give back what [`Scheduler::reserve_resources`] booked.
    pub(super) fn release_resources(&mut self, id: TaskId, slot: WorkerSlot) {
        self.book(id, slot, false);
    }

    fn book(&mut self, id: TaskId, slot: WorkerSlot, take: bool) {
        let request = self.tasks[id].request;
        if request == 0 {
            return;
        }
        let r = &self.requests.resolved[request as usize];
        let Some(w) = self.workers.get_mut(slot) else {
            return;
        };
        if take {
            w.memory_used = w.memory_used.saturating_add(r.memory);
        } else {
            w.memory_used = w.memory_used.saturating_sub(r.memory);
        }
        for &(i, amount) in &r.generic {
            if w.generic_used.len() <= i {
                w.generic_used.resize(i + 1, 0);
            }
            let used = &mut w.generic_used[i];
            *used = if take {
                used.saturating_add(amount)
            } else {
                used.saturating_sub(amount)
            };
        }
    }
}

impl Scheduler {
    /// CPUs requested by the ready and processing tasks together (one for a task with the
    /// default request): what an autoscaler has to provide. One pass over the known tasks,
    /// for status requests, never on the placement path; no pass at all while every task
    /// has the default one-CPU request (array work: the counts are kept per state).
    pub fn requested_cpus(&self) -> u64 {
        if self.requests.resolved.len() == 1 {
            let busy = self.tasks.count(TaskState::Ready) + self.tasks.count(TaskState::Processing);
            return busy as u64;
        }
        self.tasks
            .live()
            .filter(|t| matches!(t.state, TaskState::Ready | TaskState::Processing))
            .map(|t| u64::from(self.requests.resolved[t.request as usize].cpus))
            .sum()
    }
}
