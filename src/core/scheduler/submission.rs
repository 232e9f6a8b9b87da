//! Graph submissions and scattered data: creating tasks and registering what clients want.
//!
//! New tasks are created from a [`plan_submission`] plan, dependencies first, each with the
//! priority of its depth-first position (after every earlier graph). Keys the scheduler already
//! knows are reused as they are (no recomputation). A task whose dependency is neither in the
//! graph nor known, or that closes a cycle, errs with a message naming the key at fault; a
//! wanted key that is nowhere gets a `KeyErred`. This module must not place tasks.

use std::sync::Arc;

use bytes::Bytes;

use super::graph_order::{plan_submission, KeySource};
use super::inline_vec::InlineVec;
use super::key_index::key_hash;
use super::task_store::{TaskError, TaskId, TaskState};
use super::{Action, Scheduler};
use crate::core::task::{ClientId, KernelName, TaskKey, TaskSpec, WorkerId};

const NOT_CREATED: TaskId = TaskId(u32::MAX);

impl Scheduler {
    pub(super) fn on_graph_submitted(
        &mut self,
        client: ClientId,
        mut specs: Vec<TaskSpec>,
        wanted: &[TaskKey],
    ) {
        if !self.clients.contains_key(&client) {
            return;
        }
        let plan = plan_submission(&specs, wanted, |key, hash| {
            self.tasks.lookup_hashed(key, hash)
        });
        let base = self.next_priority;
        self.next_priority += plan.order.len() as u64;
        let mut created = vec![NOT_CREATED; specs.len()];
        self.tasks.reserve(plan.order.len());
        // Fields are moved out of the specs (leaving cheap placeholders), and each spec's
        // dependency list is dropped while it is still in cache: no reference count of a key
        // or kernel is touched twice, and no second pass over the specs is needed.
        let placeholder_key = TaskKey::new("");
        let placeholder_kernel = KernelName::new("");

        for (position, &index) in plan.order.iter().enumerate() {
            let spec = &mut specs[index as usize];
            let key = std::mem::replace(&mut spec.key, placeholder_key.clone());
            let kernel = std::mem::replace(&mut spec.kernel, placeholder_kernel.clone());
            let args = std::mem::take(&mut spec.args);
            let dep_keys = std::mem::take(&mut spec.deps);
            let id = self.tasks.insert(
                key,
                plan.hashes[index as usize],
                Some(kernel),
                args,
                base + position as u64,
                TaskState::Released,
            );
            created[index as usize] = id;
            if !spec.resources.is_default() {
                self.tasks[id].request = self.requests.intern(&spec.resources);
            }
            let mut deps: InlineVec<TaskId, 4> = InlineVec::new();
            let mut problem: Option<String> = None;
            for (source, dep_key) in plan.deps_of(index, dep_keys.len()).iter().zip(&dep_keys) {
                let resolved = match *source {
                    KeySource::Known(dep) => Some(dep),
                    KeySource::New(j) => Some(created[j as usize]).filter(|d| *d != NOT_CREATED),
                    KeySource::Missing => {
                        problem.get_or_insert_with(|| {
                            format!(
                                "dependency {dep_key} of task {} is neither in the submitted \
                                 graph nor known to the scheduler",
                                self.tasks[id].key
                            )
                        });
                        None
                    }
                    KeySource::Cycle => None,
                };
                match resolved {
                    Some(dep) => deps.push(dep),
                    None => {
                        problem.get_or_insert_with(|| {
                            let key = &self.tasks[id].key;
                            format!(
                                "dependency cycle: task {key} depends on {dep_key}, which \
                                 depends on {key}"
                            )
                        });
                    }
                }
            }
            drop(dep_keys);
            let r = self.tasks.task_ref(id);
            for &dep in deps.as_slice() {
                let task = &mut self.tasks[dep];
                task.dependents.push(r);
                task.live_dependents += 1;
            }
            self.tasks[id].deps = deps;
            if let Some(message) = problem {
                self.tasks.set_state(id, TaskState::Erred);
                let root = self.tasks[id].key.clone();
                self.tasks[id].error = Some(Arc::new(TaskError { root, message }));
            }
        }
        drop(specs);

        if let Some(state) = self.clients.get_mut(&client) {
            state.wants.reserve(wanted.len());
        }
        for (key, source) in wanted.iter().zip(&plan.wanted) {
            let id = match *source {
                KeySource::Known(id) => id,
                KeySource::New(j) if created[j as usize] != NOT_CREATED => created[j as usize],
                _ => {
                    self.actions.push(Action::KeyErred {
                        client,
                        key: key.clone(),
                        root: key.clone(),
                        message: format!(
                            "wanted key {key} is neither in the submitted graph nor known to the \
                             scheduler"
                        ),
                    });
                    continue;
                }
            };
            self.want_and_report(client, id);
        }
    }

    /// Register a want and report (or start computing) accordingly.
    fn want_and_report(&mut self, client: ClientId, id: TaskId) {
        if !self.add_want(client, id) {
            return;
        }
        match self.tasks[id].state {
            TaskState::Memory => self.report_ready(id),
            TaskState::Erred => self.report_erred(id),
            TaskState::Released => self.ensure_computing(id),
            _ => {}
        }
    }

    pub(super) fn on_data_scattered(
        &mut self,
        client: ClientId,
        worker: WorkerId,
        keys: Vec<(TaskKey, u64)>,
    ) {
        if !self.clients.contains_key(&client) {
            return;
        }
        let Some(slot) = self.workers.slot_of(worker) else {
            for (key, _) in keys {
                self.actions.push(Action::KeyErred {
                    client,
                    root: key.clone(),
                    message: format!("{key} was scattered to {worker}, which is not connected"),
                    key,
                });
            }
            return;
        };
        for (key, nbytes) in keys {
            let hash = key_hash(key.as_str());
            let id = match self.tasks.lookup_hashed(&key, hash) {
                Some(id) => {
                    match self.tasks[id].state {
                        TaskState::Memory => self.add_holder(id, slot),
                        TaskState::Erred => self.queue_free(slot, key),
                        _ => self.enter_memory(id, slot, nbytes),
                    }
                    id
                }
                None => {
                    let priority = self.next_priority;
                    self.next_priority += 1;
                    let id = self.tasks.insert(
                        key,
                        hash,
                        None,
                        Bytes::new(),
                        priority,
                        TaskState::Released,
                    );
                    self.enter_memory(id, slot, nbytes);
                    id
                }
            };
            self.want_and_report(client, id);
        }
    }
}
