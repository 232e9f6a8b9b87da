//! How much memory this node gives us: the machine's memory (`/proc/meminfo`) capped by the
//! memory limit of our control group (cgroup v2 `memory.max`, v1 `memory.limit_in_bytes`,
//! the smallest along the path to the root), and how many workers an MPI launcher started on
//! this node. `--memory-limit auto` and fractions are resolved against these figures.
//!
//! Read-only questions about the local machine; this module must not change anything.

use std::path::{Path, PathBuf};

/// Where the cgroup hierarchies are mounted on every mainstream Linux distribution.
const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// Values at or above this in cgroup v1 mean "no limit" (the kernel reports
/// `PAGE_COUNTER_MAX` rounded to pages, about 2^63).
const V1_UNLIMITED: u64 = 1 << 62;

/// Memory available to this process's node share, in bytes: `MemTotal` capped by the cgroup
/// limit. 0 if neither can be read.
pub fn node_memory_bytes() -> u64 {
    let total = meminfo_total_bytes();
    match cgroup_memory_limit() {
        Some(limit) if total == 0 || limit < total => limit,
        _ => total,
    }
}

/// `MemTotal` of `/proc/meminfo` in bytes (0 if unknown).
pub fn meminfo_total_bytes() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| parse_meminfo_total(&s))
        .unwrap_or(0)
}

/// `MemTotal` of a `/proc/meminfo` text, in bytes.
pub fn parse_meminfo_total(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kib| kib.parse::<u64>().ok())
        .map(|kib| kib * 1024)
}

/// The memory limit of this process's cgroup (v2 or v1), if it has one.
pub fn cgroup_memory_limit() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let paths = parse_proc_cgroup(&text);
    let root = Path::new(CGROUP_ROOT);
    let v2 = paths
        .unified
        .as_deref()
        .filter(|_| root.join("cgroup.controllers").exists())
        .and_then(|p| smallest_limit(root, p, "memory.max"));
    let v1 = paths
        .v1_memory
        .as_deref()
        .and_then(|p| smallest_limit(&root.join("memory"), p, "memory.limit_in_bytes"));
    match (v2, v1) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The cgroup paths of a `/proc/self/cgroup` text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CgroupPaths {
    /// The v2 (unified) path, from the `0::/path` line.
    pub unified: Option<String>,
    /// The v1 path of the `memory` controller.
    pub v1_memory: Option<String>,
}

/// Parse `/proc/self/cgroup`: lines `id:controllers:path`.
pub fn parse_proc_cgroup(text: &str) -> CgroupPaths {
    let mut paths = CgroupPaths::default();
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(id), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        if id == "0" && controllers.is_empty() {
            paths.unified = Some(path.to_string());
        } else if controllers.split(',').any(|c| c == "memory") {
            paths.v1_memory = Some(path.to_string());
        }
    }
    paths
}

/// A cgroup memory limit file's value: `max` (v2) and huge values (v1) mean no limit.
pub fn parse_limit(text: &str) -> Option<u64> {
    let value = text.trim();
    if value == "max" {
        return None;
    }
    value.parse::<u64>().ok().filter(|&v| v < V1_UNLIMITED)
}

/// The smallest limit in `file` of the cgroup `path` under `mount` and its ancestors. When
/// the path is not visible under the mount (a container with a private cgroup mount), the
/// mount's own file is used.
pub fn smallest_limit(mount: &Path, path: &str, file: &str) -> Option<u64> {
    let mut dir: PathBuf = mount.join(path.trim_start_matches('/'));
    if !dir.exists() {
        dir = mount.to_path_buf();
    }
    let mut smallest: Option<u64> = None;
    loop {
        if let Some(limit) = std::fs::read_to_string(dir.join(file))
            .ok()
            .and_then(|t| parse_limit(&t))
        {
            smallest = Some(smallest.map_or(limit, |s| s.min(limit)));
        }
        if dir == mount || !dir.pop() || !dir.starts_with(mount) {
            break;
        }
    }
    smallest
}

/// Workers on this node according to the MPI launcher (`OMPI_COMM_WORLD_LOCAL_SIZE` of Open
/// MPI, `MPI_LOCALNRANKS` of MPICH/Hydra), if it says.
pub fn launcher_ranks_on_node() -> Option<u32> {
    ["OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS"]
        .iter()
        .find_map(|name| std::env::var(name).ok()?.trim().parse::<u32>().ok())
        .filter(|&n| n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_cgroup_v2_v1_and_hybrid() {
        let v2 = parse_proc_cgroup("0::/user.slice/user-1000.slice/session-3.scope\n");
        assert_eq!(
            v2.unified.as_deref(),
            Some("/user.slice/user-1000.slice/session-3.scope")
        );
        assert_eq!(v2.v1_memory, None);
        let v1 = parse_proc_cgroup(
            "12:cpu,cpuacct:/slurm/uid_1/job_7\n9:memory:/slurm/uid_1/job_7/step_0\n1:name=systemd:/x\n",
        );
        assert_eq!(v1.v1_memory.as_deref(), Some("/slurm/uid_1/job_7/step_0"));
        assert_eq!(v1.unified, None);
        let hybrid = parse_proc_cgroup("9:memory:/a\n0::/b\n");
        assert_eq!(hybrid.v1_memory.as_deref(), Some("/a"));
        assert_eq!(hybrid.unified.as_deref(), Some("/b"));
    }

    #[test]
    fn limit_values() {
        assert_eq!(parse_limit("max\n"), None);
        assert_eq!(parse_limit("4294967296\n"), Some(4 << 30));
        assert_eq!(parse_limit("9223372036854771712\n"), None);
        assert_eq!(parse_limit("garbage"), None);
    }

    #[test]
    fn smallest_limit_walks_to_the_root() {
        let mount = tempfile::tempdir().unwrap();
        let job = mount.path().join("slurm/job_7");
        let step = job.join("step_0");
        std::fs::create_dir_all(&step).unwrap();
        std::fs::write(mount.path().join("memory.max"), "max\n").unwrap();
        std::fs::write(job.join("memory.max"), "2147483648\n").unwrap();
        std::fs::write(step.join("memory.max"), "max\n").unwrap();
        assert_eq!(
            smallest_limit(mount.path(), "/slurm/job_7/step_0", "memory.max"),
            Some(2 << 30)
        );
        // A path invisible under the mount (private cgroup namespace): the mount's own file.
        std::fs::write(mount.path().join("memory.max"), "1073741824\n").unwrap();
        assert_eq!(
            smallest_limit(mount.path(), "/elsewhere", "memory.max"),
            Some(1 << 30)
        );
        assert_eq!(smallest_limit(mount.path(), "/", "memory.none"), None);
    }

    #[test]
    fn node_memory_is_positive_and_capped_by_the_cgroup() {
        let total = meminfo_total_bytes();
        assert!(total > 0, "/proc/meminfo has MemTotal on Linux");
        let node = node_memory_bytes();
        assert!(node > 0 && node <= total);
        if let Some(limit) = cgroup_memory_limit() {
            assert_eq!(node, limit.min(total));
        }
        assert_eq!(
            parse_meminfo_total("MemTotal:       24576000 kB\nMemFree: 1 kB\n"),
            Some(24_576_000 * 1024)
        );
    }
}
