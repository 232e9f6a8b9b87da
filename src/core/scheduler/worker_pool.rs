//! The connected workers: capacity, tasks in flight, data held, and a load index.
//!
//! The load index holds the workers that have a free slot (fewer tasks in flight than their
//! capacity) by tasks per thread then worker id, so "the least-loaded worker with room" is
//! found and kept up to date with a few bit operations per task. This module keeps bookkeeping only: it
//! must not decide placement or emit actions.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::fast_hash::FastMap;
use super::load_index::LoadIndex;
use super::ready_queue::ReadyQueue;
use super::task_ref_list::TaskRefList;
use super::task_store::TaskId;
use crate::core::task::{TaskKey, WorkerId};

/// Dense index of a connected worker (recycled after the worker leaves).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) struct WorkerSlot(pub u32);

/// One connected worker.
pub(super) struct Worker {
    pub id: WorkerId,
    pub nthreads: u32,
    /// Tasks it may have in flight at once (adapts between `base_capacity` and a maximum
    /// with the worker's completion rate; see `SchedulerConfig::queue_horizon`).
    pub capacity: u32,
    /// `ceil(nthreads * saturation)`.
    pub base_capacity: u32,
    /// Completion-rate measurement: window start, when it may close (start + window),
    /// completions in it, smoothed tasks/s.
    rate_window: Option<Instant>,
    rate_window_end: Option<Instant>,
    rate_count: u32,
    rate: f64,
    /// Bytes it may hold; the memory tasks may claim (`resource_fit`).
    pub memory_limit: Option<u64>,
    /// Memory claimed by its tasks in flight.
    pub memory_used: u64,
    /// Generic resources it has, by name index (`resource_fit`), and those given out.
    pub generic_total: Vec<u32>,
    pub generic_used: Vec<u32>,
    /// CPUs beyond one per task of its tasks in flight: `processing.len() + extra_cpus` CPU
    /// units are in flight.
    pub extra_cpus: u32,
    /// Tasks sent to it and not finished; a task knows its position here.
    pub processing: Vec<TaskId>,
    /// Tasks whose result it holds (lazy: re-check `holders`).
    pub held: TaskRefList,
    pub held_bytes: u64,
    /// Ready tasks that hold most of their input bytes here.
    pub preferred: ReadyQueue,
    /// Live entries of `preferred`.
    pub preferred_live: u32,
    /// Outstanding steal requests to it.
    pub stealing: u32,
    /// Keys to free on it, flushed as one `Free` action.
    pub pending_frees: Vec<TaskKey>,
    /// Leaving gracefully: it takes no new tasks (see `retirement`).
    pub retiring: bool,
    /// Its memory is high: it gets no new task (it has no free slot) until resumed.
    pub paused: bool,
    /// When it stops taking tasks (its job's walltime or lifetime); `None`: no known end.
    pub ends_at: Option<Instant>,
}

impl Worker {
    /// Tasks it runs at once: beyond this, tasks wait in its local queue.
    #[inline]
    pub(super) fn busy_limit(&self) -> usize {
        self.nthreads.min(self.capacity) as usize
    }

    /// It may receive another task.
    #[inline]
    pub(super) fn has_free_slot(&self) -> bool {
        !self.retiring && !self.paused && self.in_flight() < self.capacity as usize
    }

    /// CPU units of the tasks sent to it and not finished (a one-CPU task is one unit).
    #[inline]
    pub(super) fn in_flight(&self) -> usize {
        self.processing.len() + self.extra_cpus as usize
    }

    /// Tasks queued on it beyond its threads and not already asked back. A paused worker
    /// starts nothing: every task it holds may be waiting (it refuses those it has started),
    /// so all of them count; otherwise a paused one-thread worker's queued task would wait
    /// for its resume forever (disk full) while other workers sit idle.
    #[inline]
    pub(super) fn stealable_excess(&self) -> usize {
        let running = if self.paused { 0 } else { self.busy_limit() };
        self.in_flight()
            .saturating_sub(running + self.stealing as usize)
    }

    fn load_key(&self) -> LoadKey {
        let load = ((self.in_flight() as u64) << 20) / u64::from(self.nthreads.max(1));
        (load, self.id.0)
    }

    fn is_overloaded(&self) -> bool {
        self.in_flight() > if self.paused { 0 } else { self.busy_limit() }
    }
}

/// (tasks per thread in 1/2^20 units, worker id).
type LoadKey = (u64, u32);

/// Load of one unit per thread in [`LoadKey`] units: a worker below it has an idle thread.
pub(super) const FULL_THREADS_LOAD: u64 = 1 << 20;

/// All connected workers.
#[derive(Default)]
pub(super) struct WorkerPool {
    slots: Vec<Option<Worker>>,
    vacant: Vec<WorkerSlot>,
    by_id: FastMap<WorkerId, WorkerSlot>,
    with_room: LoadIndex,
    overloaded: usize,
    count: usize,
    /// End times of the workers that take tasks (not retiring) and have a known end, with
    /// how many workers end at each.
    end_times: BTreeMap<Instant, u32>,
    /// Workers that take tasks (not retiring) and have no known end.
    endless: usize,
    /// Connected workers with a known end (retiring or not).
    timed: usize,
    /// Workers with room taken out of the load index for one `fill` round (see [`WorkerPool::hide`]).
    hidden: Vec<WorkerSlot>,
}

impl WorkerPool {
    /// No workers.
    pub(super) fn new() -> Self {
        WorkerPool::default()
    }

    /// Register a worker; `None` if the id is already connected.
    pub(super) fn add(
        &mut self,
        id: WorkerId,
        nthreads: u32,
        memory_limit: Option<u64>,
        saturation: f64,
        ends_at: Option<Instant>,
    ) -> Option<WorkerSlot> {
        if self.by_id.contains_key(&id) {
            return None;
        }
        let nthreads = nthreads.max(1);
        let wanted = (f64::from(nthreads) * saturation).ceil();
        let capacity = if wanted.is_finite() && wanted >= 1.0 {
            wanted.min(f64::from(u32::MAX)) as u32
        } else {
            1
        };
        let worker = Worker {
            id,
            nthreads,
            capacity,
            base_capacity: capacity,
            rate_window: None,
            rate_window_end: None,
            rate_count: 0,
            rate: 0.0,
            memory_limit,
            memory_used: 0,
            generic_total: Vec::new(),
            generic_used: Vec::new(),
            extra_cpus: 0,
            processing: Vec::new(),
            held: TaskRefList::default(),
            held_bytes: 0,
            preferred: ReadyQueue::new(),
            preferred_live: 0,
            stealing: 0,
            pending_frees: Vec::new(),
            retiring: false,
            paused: false,
            ends_at,
        };
        self.count_end(worker.ends_at, true);
        if worker.ends_at.is_some() {
            self.timed += 1;
        }
        let slot = match self.vacant.pop() {
            Some(slot) => {
                self.slots[slot.0 as usize] = Some(worker);
                slot
            }
            None => {
                self.slots.push(Some(worker));
                WorkerSlot((self.slots.len() - 1) as u32)
            }
        };
        self.by_id.insert(id, slot);
        self.count += 1;
        self.refresh(slot, false);
        Some(slot)
    }

    /// Unregister a worker and hand back its state.
    pub(super) fn remove(&mut self, slot: WorkerSlot) -> Option<Worker> {
        let worker = self.slots.get_mut(slot.0 as usize)?.take()?;
        self.with_room.leave(slot.0);
        if worker.is_overloaded() {
            self.overloaded -= 1;
        }
        self.by_id.remove(&worker.id);
        self.vacant.push(slot);
        self.count -= 1;
        if !worker.retiring {
            self.count_end(worker.ends_at, false);
        }
        if worker.ends_at.is_some() {
            self.timed -= 1;
        }
        Some(worker)
    }

    /// Add (or, with `joins` false, remove) a worker that takes tasks to the end-time books.
    fn count_end(&mut self, ends_at: Option<Instant>, joins: bool) {
        match (ends_at, joins) {
            (None, true) => self.endless += 1,
            (None, false) => self.endless -= 1,
            (Some(end), true) => *self.end_times.entry(end).or_default() += 1,
            (Some(end), false) => {
                if let Some(n) = self.end_times.get_mut(&end) {
                    *n -= 1;
                    if *n == 0 {
                        self.end_times.remove(&end);
                    }
                }
            }
        }
    }

    /// Connected workers with a known end time (retiring ones included).
    #[inline]
    pub(super) fn timed(&self) -> usize {
        self.timed
    }

    /// Some worker that takes tasks (not retiring) has no known end.
    pub(super) fn any_lasts_forever(&self) -> bool {
        self.endless > 0
    }

    /// Some worker that takes tasks (not retiring) does so at least until `deadline`.
    pub(super) fn any_lasts_until(&self, deadline: Instant) -> bool {
        self.endless > 0
            || self
                .end_times
                .last_key_value()
                .is_some_and(|(&end, _)| end >= deadline)
    }

    /// The slot of a connected worker.
    #[inline]
    pub(super) fn slot_of(&self, id: WorkerId) -> Option<WorkerSlot> {
        self.by_id.get(&id).copied()
    }

    /// The worker in `slot`, if connected.
    #[inline]
    pub(super) fn get(&self, slot: WorkerSlot) -> Option<&Worker> {
        self.slots.get(slot.0 as usize).and_then(Option::as_ref)
    }

    /// The worker in `slot`, mutable, if connected.
    #[inline]
    pub(super) fn get_mut(&mut self, slot: WorkerSlot) -> Option<&mut Worker> {
        self.slots.get_mut(slot.0 as usize).and_then(Option::as_mut)
    }

    /// Number of connected workers.
    pub(super) fn len(&self) -> usize {
        self.count
    }

    /// Number of workers with more tasks in flight than threads.
    pub(super) fn overloaded(&self) -> usize {
        self.overloaded
    }

    /// Connected workers in slot order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (WorkerSlot, &Worker)> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, w)| w.as_ref().map(|w| (WorkerSlot(i as u32), w)))
    }

    /// Record a task sent to the worker, using `extra_cpus` CPUs beyond one; returns its
    /// position in the worker's list.
    pub(super) fn push_processing(
        &mut self,
        slot: WorkerSlot,
        task: TaskId,
        extra_cpus: u32,
    ) -> u32 {
        let worker = &mut self[slot];
        let was_overloaded = worker.is_overloaded();
        worker.processing.push(task);
        worker.extra_cpus += extra_cpus;
        let position = (worker.processing.len() - 1) as u32;
        self.refresh(slot, was_overloaded);
        position
    }

    /// Remove the task at `position` (which used `extra_cpus` CPUs beyond one) from the
    /// worker's list; returns the task moved into its place (whose position must be
    /// updated), if any.
    pub(super) fn swap_remove_processing(
        &mut self,
        slot: WorkerSlot,
        position: u32,
        extra_cpus: u32,
    ) -> Option<TaskId> {
        let worker = &mut self[slot];
        let was_overloaded = worker.is_overloaded();
        worker.extra_cpus = worker.extra_cpus.saturating_sub(extra_cpus);
        let position = position as usize;
        let moved = if position < worker.processing.len() {
            worker.processing.swap_remove(position);
            worker.processing.get(position).copied()
        } else {
            None
        };
        self.refresh(slot, was_overloaded);
        moved
    }

    /// Leave the worker in `slot` out of [`WorkerPool::least_loaded_with_room`] until
    /// [`WorkerPool::unhide_all`] (or until its load changes): it has room, but nothing it
    /// may take now.
    pub(super) fn hide(&mut self, slot: WorkerSlot) {
        self.with_room.remove(slot.0);
        self.hidden.push(slot);
    }

    /// Put the workers left out by [`WorkerPool::hide`] back.
    pub(super) fn unhide_all(&mut self) {
        if self.hidden.is_empty() {
            return;
        }
        for slot in std::mem::take(&mut self.hidden) {
            if self.get(slot).is_some() {
                let overloaded = self[slot].is_overloaded();
                self.refresh(slot, overloaded);
            }
        }
    }

    /// Mark a worker as retiring: it leaves the index of workers with room.
    pub(super) fn set_retiring(&mut self, slot: WorkerSlot) {
        let was_overloaded = self[slot].is_overloaded();
        if !self[slot].retiring {
            self.count_end(self[slot].ends_at, false);
        }
        self[slot].retiring = true;
        self.refresh(slot, was_overloaded);
    }

    /// Pause or resume a worker (memory pressure): a paused worker has no free slot.
    pub(super) fn set_paused(&mut self, id: WorkerId, paused: bool) {
        let Some(slot) = self.slot_of(id) else {
            return;
        };
        if self[slot].paused != paused {
            let was_overloaded = self[slot].is_overloaded();
            self[slot].paused = paused;
            self.refresh(slot, was_overloaded);
        }
    }

    /// Bring the load index and the overloaded count up to date after the worker in `slot`
    /// changed its tasks in flight or its capacity (`was_overloaded`: before the change).
    fn refresh(&mut self, slot: WorkerSlot, was_overloaded: bool) {
        let worker = &self[slot];
        let overloaded = worker.is_overloaded();
        if worker.has_free_slot() {
            let (load, id) = worker.load_key();
            self.with_room.set(slot.0, load, id);
        } else {
            self.with_room.remove(slot.0);
        }
        match (was_overloaded, overloaded) {
            (false, true) => self.overloaded += 1,
            (true, false) => self.overloaded -= 1,
            _ => {}
        }
    }

    /// Count a completion on the worker in `slot` at `now` and adapt its capacity: enough tasks to keep it
    /// busy for `horizon` at its measured rate, between its base capacity and
    /// `nthreads * max_saturation`. Never shrinks below the tasks it already has.
    pub(super) fn record_completion(
        &mut self,
        slot: WorkerSlot,
        now: Instant,
        horizon: Duration,
        max_saturation: f64,
    ) {
        const WINDOW: Duration = Duration::from_millis(20);
        if self.get(slot).is_none() || horizon.is_zero() {
            return;
        }
        let worker = &mut self[slot];
        let start = *worker.rate_window.get_or_insert(now);
        worker.rate_count += 1;
        // One comparison per completion: the window's end is computed once per window (an end
        // beyond the clock's range, stored as `start`, never comes).
        let end = *worker
            .rate_window_end
            .get_or_insert_with(|| start.checked_add(WINDOW).unwrap_or(start));
        if now < end || end == start {
            return;
        }
        let elapsed = now.saturating_duration_since(start);
        let measured = f64::from(worker.rate_count) / elapsed.as_secs_f64();
        worker.rate = if worker.rate == 0.0 {
            measured
        } else {
            0.5 * worker.rate + 0.5 * measured
        };
        worker.rate_window = Some(now);
        worker.rate_window_end = None;
        worker.rate_count = 0;
        let most = (f64::from(worker.nthreads) * max_saturation).ceil();
        let wanted = (worker.rate * horizon.as_secs_f64()).ceil().min(most);
        let target = if wanted.is_finite() {
            (wanted as u32).max(worker.base_capacity)
        } else {
            worker.base_capacity
        };
        let target = target.max(worker.in_flight().min(u32::MAX as usize) as u32);
        if target != worker.capacity {
            let was_overloaded = worker.is_overloaded();
            worker.capacity = target;
            self.refresh(slot, was_overloaded);
        }
    }

    /// The least-loaded worker with a free slot (ties: lowest worker id).
    #[inline]
    pub(super) fn least_loaded_with_room(&self) -> Option<WorkerSlot> {
        self.with_room.first().map(WorkerSlot)
    }

    /// The least-loaded worker with a free slot other than `except`.
    pub(super) fn least_loaded_with_room_except(&self, except: WorkerSlot) -> Option<WorkerSlot> {
        self.with_room.first_except(except.0).map(WorkerSlot)
    }

    /// Workers with a free slot, in no particular order, with their load key.
    pub(super) fn with_room(&self) -> impl Iterator<Item = (u64, WorkerSlot)> + '_ {
        self.with_room
            .iter()
            .map(|(load, slot)| (load, WorkerSlot(slot)))
    }
}

impl std::ops::Index<WorkerSlot> for WorkerPool {
    type Output = Worker;
    #[inline]
    fn index(&self, slot: WorkerSlot) -> &Worker {
        match self.slots.get(slot.0 as usize) {
            Some(Some(worker)) => worker,
            _ => unreachable!("scheduler bookkeeping referenced a vacant worker slot"),
        }
    }
}

impl std::ops::IndexMut<WorkerSlot> for WorkerPool {
    #[inline]
    fn index_mut(&mut self, slot: WorkerSlot) -> &mut Worker {
        match self.slots.get_mut(slot.0 as usize) {
            Some(Some(worker)) => worker,
            _ => unreachable!("scheduler bookkeeping referenced a vacant worker slot"),
        }
    }
}
