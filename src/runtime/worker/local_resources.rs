//! The worker's own books of its resources: which CPU indices, how much memory and which
//! indices of each generic resource (GPUs...) are free. A task starts only when what it asked
//! for is free; it gets specific indices (for pinning and `CUDA_VISIBLE_DEVICES`) and gives
//! them back when it ends. This module must not choose which task runs.

use crate::core::ResourceRequest;

/// What one running task was given.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Grant {
    pub cpus: Vec<u32>,
    pub memory: u64,
    pub generic: Vec<(String, Vec<u32>)>,
}

/// Free resources of a worker.
#[derive(Debug, Default)]
pub struct LocalResources {
    /// Free CPU indices, lowest last (taken from the end).
    free_cpus: Vec<u32>,
    /// Memory tasks may still claim; `None`: no limit.
    memory_free: Option<u64>,
    /// Free indices per generic resource.
    generic: Vec<(String, Vec<u32>)>,
}

impl LocalResources {
    /// `cpus` CPUs, `memory` bytes (`None`: unlimited) and the generic resources given.
    /// The CPU indices are the first `cpus` CPUs this process may run on (its affinity mask,
    /// as set by `mpirun`/`srun` binding), so pinned tasks of several workers on one node do
    /// not share cores; beyond the mask, or without one, indices count on from there.
    pub fn new(cpus: u32, memory: Option<u64>, generic: &[(String, u32)]) -> Self {
        let cpus = cpus.max(1) as usize;
        let mut ids = allowed_cpus();
        ids.truncate(cpus);
        let mut next = ids.last().map_or(0, |&c| c + 1);
        while ids.len() < cpus {
            ids.push(next);
            next += 1;
        }
        ids.reverse();
        LocalResources {
            free_cpus: ids,
            memory_free: memory,
            generic: generic
                .iter()
                .map(|(name, amount)| (name.clone(), (0..*amount).rev().collect()))
                .collect(),
        }
    }

    /// Take what `request` needs, if it is all free now.
    pub fn try_take(&mut self, request: &ResourceRequest) -> Option<Grant> {
        let cpus = request.cpus.max(1) as usize;
        if cpus > self.free_cpus.len() {
            return None;
        }
        if request.is_default() {
            return self.free_cpus.pop().map(|c| Grant {
                cpus: vec![c],
                ..Grant::default()
            });
        }
        if self.memory_free.is_some_and(|free| request.memory > free) {
            return None;
        }
        for (name, amount) in &request.generic {
            let free = self
                .generic
                .iter()
                .find(|(n, _)| n == name)
                .map_or(0, |(_, f)| f.len());
            if *amount as usize > free {
                return None;
            }
        }
        let mut grant = Grant {
            cpus: self.free_cpus.split_off(self.free_cpus.len() - cpus),
            memory: request.memory,
            generic: Vec::with_capacity(request.generic.len()),
        };
        grant.cpus.sort_unstable();
        if let Some(free) = &mut self.memory_free {
            *free -= request.memory;
        }
        for (name, amount) in &request.generic {
            if let Some((_, free)) = self.generic.iter_mut().find(|(n, _)| n == name) {
                let mut taken = free.split_off(free.len() - *amount as usize);
                taken.sort_unstable();
                grant.generic.push((name.clone(), taken));
            }
        }
        Some(grant)
    }

    /// Give back what a finished task was granted.
    pub fn give_back(&mut self, grant: Grant) {
        self.free_cpus.extend(grant.cpus);
        self.free_cpus.sort_unstable_by(|a, b| b.cmp(a));
        if let Some(free) = &mut self.memory_free {
            *free += grant.memory;
        }
        for (name, indices) in grant.generic {
            if let Some((_, free)) = self.generic.iter_mut().find(|(n, _)| *n == name) {
                free.extend(indices);
                free.sort_unstable_by(|a, b| b.cmp(a));
            }
        }
    }
}

/// The CPUs this process may run on, ascending (empty when unknown).
fn allowed_cpus() -> Vec<u32> {
    // SAFETY: a zeroed cpu_set_t is valid; sched_getaffinity writes at most its size.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return Vec::new();
        }
        (0..libc::CPU_SETSIZE as usize)
            .filter(|&c| libc::CPU_ISSET(c, &set))
            .map(|c| c as u32)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eight_cpus_take_eight_single_tasks_or_two_four_cpu_tasks() {
        let mut r = LocalResources::new(8, None, &[("gpus".into(), 2)]);
        let singles: Vec<Grant> = (0..8)
            .map(|_| r.try_take(&ResourceRequest::default()).unwrap())
            .collect();
        assert!(r.try_take(&ResourceRequest::default()).is_none());
        for g in singles {
            r.give_back(g);
        }
        let a = r.try_take(&ResourceRequest::cpus(4)).unwrap();
        let b = r.try_take(&ResourceRequest::cpus(4)).unwrap();
        let mut all: Vec<u32> = a.cpus.iter().chain(&b.cpus).copied().collect();
        all.sort_unstable();
        all.dedup();
        assert_eq!(
            (a.cpus.len(), b.cpus.len(), all.len()),
            (4, 4, 8),
            "{a:?} {b:?}"
        );
        assert!(r.try_take(&ResourceRequest::default()).is_none());
        r.give_back(a);
        let gpu = ResourceRequest::cpus(2).with_generic("gpus", 2);
        let g = r.try_take(&gpu).unwrap();
        assert_eq!(g.generic, vec![("gpus".to_string(), vec![0, 1])]);
        assert!(r
            .try_take(&ResourceRequest::default().with_generic("gpus", 1))
            .is_none());
        assert!(r
            .try_take(&ResourceRequest::default().with_generic("fpga", 1))
            .is_none());
        r.give_back(g);
        assert!(r.try_take(&gpu).is_some());
    }

    #[test]
    fn memory_is_claimed_and_given_back() {
        let mut r = LocalResources::new(4, Some(100), &[]);
        let a = r
            .try_take(&ResourceRequest::default().with_memory(60))
            .unwrap();
        assert!(r
            .try_take(&ResourceRequest::default().with_memory(60))
            .is_none());
        r.give_back(a);
        assert!(r
            .try_take(&ResourceRequest::default().with_memory(60))
            .is_some());
    }
}
