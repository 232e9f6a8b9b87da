//! A rank's share of its node: memory and cores divided by the ranks on that node, so that
//! `--memory-limit auto` and the default `--nthreads` do not give every rank the whole node.
//!
//! Memory is the node's `MemTotal` capped by this process's cgroup limit (v2 `memory.max` or
//! v1 `memory.limit_in_bytes`, the smallest along the cgroup's ancestors), because batch
//! systems confine jobs with cgroups. Cores are the CPUs this process may run on (its affinity
//! set, which launchers narrow when they bind ranks) shared by the ranks bound to the same set,
//! and capped by a cgroup CPU quota shared by all ranks of the node. This module reads `/proc`
//! and `/sys/fs/cgroup`; it must not call MPI (the caller passes the ranks on the node).

use std::path::{Path, PathBuf};

use crate::units::MemoryLimit;

/// cgroup v1 reports "no limit" as a huge number (`PAGE_COUNTER_MAX` pages).
const NO_LIMIT_ABOVE: u64 = 1 << 60;

/// One rank's share of its node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeShare {
    /// Ranks of this MPI world on this node.
    pub ranks_on_node: u32,
    /// Memory of the node available to the job: `MemTotal` capped by the cgroup limit.
    pub memory: u64,
    /// CPUs in this process's affinity set.
    pub affinity_cpus: usize,
    /// CPUs online on the node.
    pub online_cpus: usize,
    /// What the standard library says this process may use (affinity and cgroup quota).
    pub available_cpus: usize,
}

impl NodeShare {
    /// Measure this node for a process that shares it with `ranks_on_node - 1` other ranks.
    pub fn measure(ranks_on_node: u32) -> NodeShare {
        let available_cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let online_cpus = online_cpus().unwrap_or(available_cpus).max(1);
        NodeShare {
            ranks_on_node: ranks_on_node.max(1),
            memory: node_memory(),
            affinity_cpus: affinity_cpus().unwrap_or(online_cpus).max(1),
            online_cpus,
            available_cpus,
        }
    }

    /// Default task threads of one rank.
    ///
    /// ```
    /// use tessera::mpi::node::NodeShare;
    /// // 4 unbound ranks on a 64-core node: 16 threads each
    /// let node = NodeShare { ranks_on_node: 4, memory: 0, affinity_cpus: 64,
    ///                        online_cpus: 64, available_cpus: 64 };
    /// assert_eq!(node.nthreads(), 16);
    /// // the launcher bound each rank to one core: 1 thread each
    /// let bound = NodeShare { affinity_cpus: 1, available_cpus: 1, ..node };
    /// assert_eq!(bound.nthreads(), 1);
    /// ```
    pub fn nthreads(&self) -> usize {
        let ranks = self.ranks_on_node.max(1) as usize;
        let online = self.online_cpus.max(1);
        let affinity = self.affinity_cpus.clamp(1, online);
        // Ranks sharing our affinity set, assuming the launcher spread them evenly.
        let sharing = (ranks * affinity).div_ceil(online).clamp(1, ranks);
        let per_set = affinity / sharing;
        // A CPU quota below the affinity set is the job's, shared by all its ranks here.
        let per_quota = if self.available_cpus < affinity {
            self.available_cpus / ranks
        } else {
            usize::MAX
        };
        per_set.min(per_quota).max(1)
    }

    /// Bytes one rank may use under `limit` (`auto`: the node's share per rank).
    ///
    /// ```
    /// use tessera::mpi::node::NodeShare;
    /// use tessera::units::MemoryLimit;
    /// let node = NodeShare { ranks_on_node: 4, memory: 64 << 30, affinity_cpus: 8,
    ///                        online_cpus: 8, available_cpus: 8 };
    /// assert_eq!(node.memory_limit(MemoryLimit::Auto), Some(16 << 30));
    /// assert_eq!(node.memory_limit(MemoryLimit::Unlimited), None);
    /// ```
    pub fn memory_limit(&self, limit: MemoryLimit) -> Option<u64> {
        limit.resolve(self.memory, self.ranks_on_node)
    }
}

/// The node's memory available to this process: `MemTotal` capped by its cgroup's limit.
pub fn node_memory() -> u64 {
    let total = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| mem_total(&text))
        .unwrap_or(0);
    match cgroup_memory_limit() {
        Some(limit) if total == 0 || limit < total => limit,
        _ => total,
    }
}

fn mem_total(meminfo: &str) -> Option<u64> {
    meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kib| kib.parse::<u64>().ok())
        .map(|kib| kib * 1024)
}

/// The memory limit of this process's cgroup (the smallest along its ancestors), if any.
pub fn cgroup_memory_limit() -> Option<u64> {
    let membership = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    cgroup_limit_from(&membership, Path::new("/sys/fs/cgroup"))
}

/// The limit for the cgroups listed in `membership` (the text of `/proc/self/cgroup`) under the
/// cgroup file system mounted at `root`.
fn cgroup_limit_from(membership: &str, root: &Path) -> Option<u64> {
    let mut limits = Vec::new();
    for line in membership.lines() {
        let mut fields = line.splitn(3, ':');
        let (Some(_id), Some(controllers), Some(path)) =
            (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let relative = path.trim_start_matches('/');
        if controllers.is_empty() {
            // cgroup v2 (unified): memory.max along the path
            limits.extend(smallest_along(&root.join(relative), root, "memory.max"));
            let unified = root.join("unified");
            limits.extend(smallest_along(
                &unified.join(relative),
                &unified,
                "memory.max",
            ));
        } else if controllers.split(',').any(|c| c == "memory") {
            let hierarchy = root.join("memory");
            limits.extend(smallest_along(
                &hierarchy.join(relative),
                &hierarchy,
                "memory.limit_in_bytes",
            ));
        }
    }
    limits.into_iter().min()
}

/// The smallest limit in `file` from `dir` up to `top` (inclusive). In a container the path in
/// `/proc/self/cgroup` may not exist under the mount; then the mount's own file counts.
fn smallest_along(dir: &Path, top: &Path, file: &str) -> Option<u64> {
    let mut smallest: Option<u64> = None;
    let mut current: PathBuf = dir.to_path_buf();
    loop {
        if let Some(limit) = read_limit(&current.join(file)) {
            smallest = Some(smallest.map_or(limit, |s| s.min(limit)));
        }
        if current == top || !current.starts_with(top) {
            break;
        }
        if !current.pop() {
            break;
        }
    }
    smallest
}

fn read_limit(file: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(file).ok()?;
    let value = text.trim();
    if value == "max" {
        return None;
    }
    value.parse::<u64>().ok().filter(|v| *v < NO_LIMIT_ABOVE)
}

fn online_cpus() -> Option<usize> {
    // SAFETY: sysconf has no memory-safety preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    usize::try_from(n).ok().filter(|n| *n > 0)
}

fn affinity_cpus() -> Option<usize> {
    // SAFETY: a zeroed cpu_set_t is valid; sched_getaffinity writes at most its size.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return None;
        }
        usize::try_from(libc::CPU_COUNT(&set))
            .ok()
            .filter(|n| *n > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(ranks: u32, affinity: usize, online: usize, available: usize) -> NodeShare {
        NodeShare {
            ranks_on_node: ranks,
            memory: 0,
            affinity_cpus: affinity,
            online_cpus: online,
            available_cpus: available,
        }
    }

    #[test]
    fn threads_divide_the_cores_between_ranks() {
        assert_eq!(node(4, 2, 2, 2).nthreads(), 1); // this machine, oversubscribed
        assert_eq!(node(2, 64, 64, 64).nthreads(), 32);
        assert_eq!(node(3, 64, 64, 64).nthreads(), 21);
        // bound to a socket of 16 cores, 8 ranks per node of 32 cores: 4 per socket
        assert_eq!(node(8, 16, 32, 16).nthreads(), 4);
        // a cgroup quota of 8 CPUs for the whole job on a 64-core node, 4 ranks
        assert_eq!(node(4, 64, 64, 8).nthreads(), 2);
        // one rank alone gets everything it may use
        assert_eq!(node(1, 64, 64, 64).nthreads(), 64);
    }

    #[test]
    fn memory_auto_is_divided_by_ranks_on_node() {
        let mut share = node(3, 1, 1, 1);
        share.memory = 30 << 30;
        assert_eq!(share.memory_limit(MemoryLimit::Auto), Some(10 << 30));
        assert_eq!(
            share.memory_limit(MemoryLimit::Bytes(1 << 30)),
            Some(1 << 30)
        );
    }

    #[test]
    fn meminfo_total_is_read_in_bytes() {
        let text = "MemTotal:       24683376 kB\nMemFree:        1 kB\n";
        assert_eq!(mem_total(text), Some(24683376 * 1024));
        assert_eq!(mem_total("nothing"), None);
    }

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn cgroup_v2_takes_the_smallest_limit_along_the_path() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        write(&r.join("job/memory.max"), "8589934592\n");
        write(&r.join("job/step/memory.max"), "max\n");
        write(&r.join("job/step/task/memory.max"), "max\n");
        assert_eq!(
            cgroup_limit_from("0::/job/step/task\n", r),
            Some(8589934592)
        );
        assert_eq!(cgroup_limit_from("0::/other\n", r), None);
    }

    #[test]
    fn cgroup_v1_memory_controller_is_used_and_huge_means_none() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        write(
            &r.join("memory/slurm/uid_0/job_7/memory.limit_in_bytes"),
            "4294967296\n",
        );
        write(
            &r.join("memory/memory.limit_in_bytes"),
            "9223372036854771712\n",
        );
        let membership = "12:cpu,cpuacct:/slurm/uid_0/job_7\n5:memory:/slurm/uid_0/job_7\n";
        assert_eq!(cgroup_limit_from(membership, r), Some(4294967296));
        assert_eq!(cgroup_limit_from("5:memory:/\n", r), None);
        assert_eq!(cgroup_limit_from("garbage\n\n", r), None);
    }

    #[test]
    fn this_machine_reports_something_sane() {
        let share = NodeShare::measure(2);
        assert!(share.memory > 0);
        assert!(share.affinity_cpus >= 1 && share.online_cpus >= 1);
        assert!(share.nthreads() >= 1);
        assert!(share.nthreads() <= share.available_cpus.max(1));
    }
}
