//! Clients: which keys each wants, and the reports they get.
//!
//! Each (client, wanted key) gets exactly one `KeyReady` (when the key first reaches memory,
//! or at once if it is already there) or one `KeyErred`. A `LocateRequested` is answered with
//! `Located` when the key is (or next lands) in memory, or `KeyErred` when it cannot be.
//! Releasing or leaving drops wants; whether tasks are then released is `lifecycle`'s call.
//! Events naming an unknown client are ignored. This module must not schedule.

use super::task_ref_list::TaskRefList;
use super::task_store::{TaskId, TaskState, Want};
use super::{Action, Scheduler};
use crate::core::task::{ClientId, TaskKey};

/// What the scheduler remembers about a connected client.
#[derive(Default)]
pub(super) struct ClientState {
    /// Tasks it wants (lazy: re-check the task's `wants`).
    pub wants: TaskRefList,
}

impl Scheduler {
    pub(super) fn on_client_joined(&mut self, client: ClientId) {
        self.clients.entry(client).or_default();
    }

    pub(super) fn on_client_left(&mut self, client: ClientId) {
        let Some(state) = self.clients.remove(&client) else {
            return;
        };
        for r in state.wants.into_entries() {
            if self.tasks.is_live(r) && self.tasks[r.id].wanted_by(client) {
                self.drop_want(r.id, client);
            }
        }
        if !self.pending_locates.is_empty() {
            self.pending_locates.retain(|_, waiting| {
                waiting.retain(|c| *c != client);
                !waiting.is_empty()
            });
        }
    }

    /// `client` no longer wants these keys (released or cancelled).
    pub(super) fn on_keys_released(&mut self, client: ClientId, keys: &[TaskKey]) {
        if !self.clients.contains_key(&client) {
            return;
        }
        for key in keys {
            let Some(id) = self.tasks.lookup(key) else {
                continue;
            };
            if self.tasks[id].wanted_by(client) {
                self.drop_want(id, client);
                if let Some(state) = self.clients.get_mut(&client) {
                    state.wants.note_removed();
                }
            }
            if let Some(waiting) = self.pending_locates.get_mut(&id) {
                waiting.retain(|c| *c != client);
                if waiting.is_empty() {
                    self.pending_locates.remove(&id);
                }
            }
        }
    }

    /// Record that `client` wants `id`; false if it already did.
    pub(super) fn add_want(&mut self, client: ClientId, id: TaskId) -> bool {
        if self.tasks[id].wanted_by(client) {
            return false;
        }
        self.tasks[id].wants.push(Want {
            client,
            reported: false,
        });
        let r = self.tasks.task_ref(id);
        let tasks = &self.tasks;
        if let Some(state) = self.clients.get_mut(&client) {
            state
                .wants
                .push(r, |e| tasks.is_live(e) && tasks[e.id].wanted_by(client));
        }
        true
    }

    fn drop_want(&mut self, id: TaskId, client: ClientId) {
        self.tasks[id].wants.retain(|w| w.client != client);
        let r = self.tasks.task_ref(id);
        self.release_checks.push(r);
    }

    /// The task is in memory: tell wanting clients not told yet, and answer locates.
    pub(super) fn report_ready(&mut self, id: TaskId) {
        let task = &mut self.tasks[id];
        for i in 0..task.wants.len() {
            let Some(want) = task.wants.get_mut(i) else {
                break;
            };
            if want.reported {
                continue;
            }
            want.reported = true;
            let client = want.client;
            self.actions.push(Action::KeyReady {
                client,
                key: task.key.clone(),
                nbytes: task.nbytes,
                holders: task.holders.as_slice().to_vec(),
            });
        }
        if self.pending_locates.is_empty() {
            return;
        }
        if let Some(waiting) = self.pending_locates.remove(&id) {
            let task = &self.tasks[id];
            for client in waiting {
                self.actions.push(Action::Located {
                    client,
                    key: task.key.clone(),
                    holders: task.holders.as_slice().to_vec(),
                });
            }
        }
    }

    /// The task erred: tell wanting clients not told yet, and answer locates.
    pub(super) fn report_erred(&mut self, id: TaskId) {
        let task = &mut self.tasks[id];
        let Some(error) = task.error.clone() else {
            return;
        };
        let mut told = Vec::new();
        for i in 0..task.wants.len() {
            let Some(want) = task.wants.get_mut(i) else {
                break;
            };
            if want.reported {
                continue;
            }
            want.reported = true;
            told.push(want.client);
            self.actions.push(Action::KeyErred {
                client: want.client,
                key: task.key.clone(),
                root: error.root.clone(),
                message: error.message.clone(),
            });
        }
        if self.pending_locates.is_empty() {
            return;
        }
        if let Some(waiting) = self.pending_locates.remove(&id) {
            for client in waiting.into_iter().filter(|c| !told.contains(c)) {
                self.actions.push(Action::KeyErred {
                    client,
                    key: self.tasks[id].key.clone(),
                    root: error.root.clone(),
                    message: error.message.clone(),
                });
            }
        }
    }

    /// Pending locates of a task that was released before reaching memory.
    #[inline]
    pub(super) fn answer_locates_of_released(&mut self, id: TaskId) {
        if !self.pending_locates.is_empty() {
            self.answer_pending_locates_of_released(id);
        }
    }

    fn answer_pending_locates_of_released(&mut self, id: TaskId) {
        if let Some(waiting) = self.pending_locates.remove(&id) {
            let key = self.tasks[id].key.clone();
            for client in waiting {
                self.actions.push(Action::KeyErred {
                    client,
                    key: key.clone(),
                    root: key.clone(),
                    message: format!(
                        "{key} was released (no client wants it) before it could be located"
                    ),
                });
            }
        }
    }

    pub(super) fn on_locate_requested(&mut self, client: ClientId, keys: Vec<TaskKey>) {
        if !self.clients.contains_key(&client) {
            return;
        }
        for key in keys {
            let Some(id) = self.tasks.lookup(&key) else {
                let message =
                    format!("{key} is not known to the scheduler (never submitted, or released)");
                self.actions.push(Action::KeyErred {
                    client,
                    root: key.clone(),
                    key,
                    message,
                });
                continue;
            };
            let task = &self.tasks[id];
            match task.state {
                TaskState::Memory => self.actions.push(Action::Located {
                    client,
                    key,
                    holders: task.holders.as_slice().to_vec(),
                }),
                TaskState::Erred => {
                    if let Some(error) = task.error.as_ref() {
                        self.actions.push(Action::KeyErred {
                            client,
                            key,
                            root: error.root.clone(),
                            message: error.message.clone(),
                        });
                    }
                }
                TaskState::Waiting | TaskState::Ready | TaskState::Processing => {
                    let waiting = self.pending_locates.entry(id).or_default();
                    if !waiting.contains(&client) {
                        waiting.push(client);
                    }
                }
                TaskState::Released | TaskState::Forgotten => {
                    let message = format!(
                        "{key} was released (no client wants it); submit it again to compute it"
                    );
                    self.actions.push(Action::KeyErred {
                        client,
                        root: key.clone(),
                        key,
                        message,
                    });
                }
            }
        }
    }
}
