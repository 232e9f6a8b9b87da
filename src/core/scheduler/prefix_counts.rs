//! Task counts by state for each group of keys (the dashboard's progress per task prefix),
//! and the tasks of a small graph with their inputs (its graph page).
//!
//! One pass over the known tasks, asked for by the scheduler's driver a few times a second
//! at most and only while someone looks. It must not keep any state of its own or change
//! the scheduler's.

use std::collections::HashMap;

use super::task_store::TaskState;
use super::Scheduler;

/// Known tasks of one group, by state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StateCounts {
    /// Needed and waiting for inputs, or ready and queued at the scheduler.
    pub waiting: u64,
    /// Sent to a worker.
    pub processing: u64,
    /// Results held by workers.
    pub memory: u64,
    /// Failed, themselves or through an input.
    pub erred: u64,
    /// Known but not needed now (computed and freed, or not wanted yet).
    pub released: u64,
}

impl Scheduler {
    /// Counts of the known tasks by state, grouped by `group(key)`, largest groups first.
    /// Keys whose group would be past the `max_groups`-th distinct one are counted under
    /// `overflow`, so the answer stays bounded whatever the keys look like.
    pub fn counts_by_group(
        &self,
        group: impl Fn(&str) -> &str,
        max_groups: usize,
        overflow: &str,
    ) -> Vec<(String, StateCounts)> {
        let mut groups: HashMap<&str, StateCounts> = HashMap::new();
        let mut other = StateCounts::default();
        for task in self.tasks.live() {
            let name = group(task.key.as_str());
            let counts = if groups.len() < max_groups || groups.contains_key(name) {
                groups.entry(name).or_default()
            } else {
                &mut other
            };
            match task.state {
                TaskState::Waiting | TaskState::Ready => counts.waiting += 1,
                TaskState::Processing => counts.processing += 1,
                TaskState::Memory => counts.memory += 1,
                TaskState::Erred => counts.erred += 1,
                TaskState::Released => counts.released += 1,
                TaskState::Forgotten => {}
            }
        }
        let mut out: Vec<(String, StateCounts)> = groups
            .into_iter()
            .map(|(name, c)| (name.to_string(), c))
            .collect();
        if other != StateCounts::default() {
            out.push((overflow.to_string(), other));
        }
        out.sort_by(|a, b| total(&b.1).cmp(&total(&a.1)).then(a.0.cmp(&b.0)));
        out
    }
}

/// One known task of a small graph (see [`Scheduler::small_graph`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphNode {
    pub key: String,
    /// `waiting`, `processing`, `memory`, `erred` or `released`.
    pub state: &'static str,
    /// Indices (in the returned list) of its inputs that are known.
    pub deps: Vec<u32>,
}

impl Scheduler {
    /// Every known task with its state and inputs, if there are at most `max_tasks` of them
    /// (the dashboard draws the graph of a small submission); `None` for a larger graph.
    pub fn small_graph(&self, max_tasks: usize) -> Option<Vec<GraphNode>> {
        if self.tasks.len() > max_tasks {
            return None;
        }
        let live: Vec<&super::task_store::Task> = self.tasks.live().collect();
        let index: HashMap<&str, u32> = live
            .iter()
            .enumerate()
            .map(|(i, t)| (t.key.as_str(), i as u32))
            .collect();
        Some(
            live.iter()
                .map(|t| GraphNode {
                    key: t.key.to_string(),
                    state: match t.state {
                        TaskState::Waiting | TaskState::Ready => "waiting",
                        TaskState::Processing => "processing",
                        TaskState::Memory => "memory",
                        TaskState::Erred => "erred",
                        TaskState::Released | TaskState::Forgotten => "released",
                    },
                    deps: t
                        .deps
                        .as_slice()
                        .iter()
                        .filter_map(|d| index.get(self.tasks[*d].key.as_str()).copied())
                        .collect(),
                })
                .collect(),
        )
    }
}

fn total(c: &StateCounts) -> u64 {
    c.waiting + c.processing + c.memory + c.erred + c.released
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::core::scheduler::{task_prefix, Event};
    use crate::core::{ClientId, KernelName, TaskKey, TaskSpec, WorkerId};

    fn spec(key: &str, deps: &[&str]) -> TaskSpec {
        TaskSpec {
            key: TaskKey::new(key),
            kernel: KernelName::new("k"),
            args: Default::default(),
            deps: deps.iter().map(|d| TaskKey::new(*d)).collect(),
            resources: Default::default(),
        }
    }

    #[test]
    fn counts_follow_states_and_overflow_is_bounded() {
        let now = Instant::now();
        let mut s = Scheduler::new(Default::default());
        s.handle(
            now,
            Event::ClientJoined {
                client: ClientId(1),
            },
        );
        s.handle(
            now,
            Event::WorkerJoined {
                worker: WorkerId(1),
                nthreads: 1,
                memory_limit: None,
                lifetime: None,
                generic: Vec::new(),
            },
        );
        let tasks = vec![
            spec("load-0", &[]),
            spec("load-1", &[]),
            spec("sum-0", &["load-0", "load-1"]),
            spec("odd", &[]),
        ];
        let wanted = vec![TaskKey::new("sum-0"), TaskKey::new("odd")];
        s.handle(
            now,
            Event::GraphSubmitted {
                client: ClientId(1),
                tasks,
                wanted,
            },
        );
        let all = s.counts_by_group(task_prefix, 10, "other");
        let load = &all.iter().find(|(n, _)| n == "load").unwrap().1;
        assert_eq!(load.waiting + load.processing, 2);
        let sum = &all.iter().find(|(n, _)| n == "sum").unwrap().1;
        assert_eq!(sum.waiting, 1);
        assert_eq!(all[0].0, "load", "largest group first");
        // Two groups at most: the third distinct prefix lands in "other".
        let capped = s.counts_by_group(task_prefix, 2, "other");
        assert_eq!(capped.len(), 3);
        let other = &capped.iter().find(|(n, _)| n == "other").unwrap().1;
        assert_eq!(other.waiting + other.processing, 1);

        let graph = s.small_graph(10).unwrap();
        assert_eq!(graph.len(), 4);
        let sum = graph.iter().find(|n| n.key == "sum-0").unwrap();
        let inputs: Vec<&str> = sum
            .deps
            .iter()
            .map(|&i| graph[i as usize].key.as_str())
            .collect();
        assert_eq!(inputs, ["load-0", "load-1"]);
        assert_eq!(sum.state, "waiting");
        assert!(
            s.small_graph(3).is_none(),
            "too large a graph is not listed"
        );
    }
}
