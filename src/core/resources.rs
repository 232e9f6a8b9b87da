//! Resources: what a task asks for (CPUs, memory, named generic resources such as GPUs) and
//! what a worker has. The scheduler never gives a worker more than it has of memory or of a
//! generic resource, and never more CPU units in flight than its queue capacity; the worker
//! starts a task only when the CPUs (and indices of generic resources) it needs are free.
//!
//! This module holds the data and the arithmetic of fitting; it must not place tasks.

use serde::{Deserialize, Serialize};

/// What one task needs while it runs. The default is one CPU and nothing else (every task
/// that does not say otherwise, array tasks included).
///
/// ```
/// use tessera::core::ResourceRequest;
/// let r = ResourceRequest::cpus(4).with_generic("gpus", 1);
/// assert_eq!(r.cpus, 4);
/// assert!(!r.is_default());
/// assert!(ResourceRequest::default().is_default());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ResourceRequest {
    /// CPUs (cores) the task uses at once; at least 1.
    pub cpus: u32,
    /// Bytes of memory the task needs (0: no claim).
    pub memory: u64,
    /// Named generic resources and amounts (`gpus` → 2), sorted by name, no zero amounts.
    pub generic: Vec<(String, u32)>,
    /// Pin the task's processes to the CPUs it was given.
    pub pin: bool,
    /// How long the task is declared to run (`tessera submit --time-request`): it goes to a
    /// worker with at least this much walltime left while one exists (see the scheduler's
    /// walltime placement). `None`: the duration observed for its prefix, if any, is used.
    #[serde(default)]
    pub time_request: Option<std::time::Duration>,
}

impl Default for ResourceRequest {
    fn default() -> Self {
        ResourceRequest {
            cpus: 1,
            memory: 0,
            generic: Vec::new(),
            pin: false,
            time_request: None,
        }
    }
}

impl ResourceRequest {
    /// `cpus` CPUs (at least 1) and nothing else.
    pub fn cpus(cpus: u32) -> Self {
        ResourceRequest {
            cpus: cpus.max(1),
            ..Self::default()
        }
    }

    /// Also `amount` of the generic resource `name` (kept sorted; amounts add up).
    pub fn with_generic(mut self, name: &str, amount: u32) -> Self {
        if amount > 0 {
            match self.generic.binary_search_by(|(n, _)| n.as_str().cmp(name)) {
                Ok(i) => self.generic[i].1 = self.generic[i].1.saturating_add(amount),
                Err(i) => self.generic.insert(i, (name.to_string(), amount)),
            }
        }
        self
    }

    /// Also `bytes` of memory.
    pub fn with_memory(mut self, bytes: u64) -> Self {
        self.memory = bytes;
        self
    }

    /// One CPU, nothing else, unpinned.
    #[inline]
    pub fn is_default(&self) -> bool {
        self.cpus == 1
            && self.memory == 0
            && self.generic.is_empty()
            && !self.pin
            && self.time_request.is_none()
    }

    /// Why a worker with `has` could never run this task (`None`: it could).
    pub fn unmet_by(&self, has: &WorkerResources) -> Option<String> {
        if self.cpus > has.cpus {
            return Some(format!("{} CPUs (it has {})", self.cpus, has.cpus));
        }
        if let Some(limit) = has.memory.filter(|&m| self.memory > m) {
            return Some(format!("{} bytes of memory (it has {limit})", self.memory));
        }
        for (name, amount) in &self.generic {
            let there = has.amount_of(name);
            if *amount > there {
                return Some(format!("{amount} {name} (it has {there})"));
            }
        }
        None
    }
}

/// What a worker offers to tasks.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerResources {
    /// CPUs: its thread count.
    pub cpus: u32,
    /// Bytes of memory tasks may claim; `None`: no limit.
    pub memory: Option<u64>,
    /// Named generic resources and how many of each (`gpus` → 4).
    pub generic: Vec<(String, u32)>,
}

impl WorkerResources {
    /// How many of the generic resource `name` it has.
    pub fn amount_of(&self, name: &str) -> u32 {
        self.generic
            .iter()
            .find(|(n, _)| n == name)
            .map_or(0, |(_, a)| *a)
    }

    /// A short description: `8 CPUs, 2 gpus, 16 GiB`.
    pub fn describe(&self) -> String {
        let mut parts = vec![format!("{} CPUs", self.cpus)];
        parts.extend(self.generic.iter().map(|(n, a)| format!("{a} {n}")));
        if let Some(m) = self.memory {
            parts.push(format!("{m} bytes of memory"));
        }
        parts.join(", ")
    }
}

/// Parse `name=amount` (`gpus=2`), as `--resource` takes it.
///
/// ```
/// assert_eq!(tessera::core::resources::parse_generic("gpus=2"), Ok(("gpus".to_string(), 2)));
/// assert!(tessera::core::resources::parse_generic("gpus").is_err());
/// ```
pub fn parse_generic(text: &str) -> Result<(String, u32), String> {
    let (name, amount) = text
        .split_once('=')
        .ok_or_else(|| format!("resource {text:?}: expected NAME=AMOUNT (gpus=2)"))?;
    let name = name.trim();
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(format!(
            "resource {text:?}: the name must be letters, digits, '_' or '-'"
        ));
    }
    let amount: u32 = amount
        .trim()
        .parse()
        .map_err(|_| format!("resource {text:?}: the amount must be a whole number"))?;
    Ok((name.to_string(), amount))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_name_what_a_worker_lacks() {
        let has = WorkerResources {
            cpus: 8,
            memory: Some(1000),
            generic: vec![("gpus".into(), 2)],
        };
        assert_eq!(ResourceRequest::cpus(8).unmet_by(&has), None);
        assert_eq!(
            ResourceRequest::cpus(9).unmet_by(&has).unwrap(),
            "9 CPUs (it has 8)"
        );
        let r = ResourceRequest::default()
            .with_generic("gpus", 2)
            .with_generic("fpga", 1);
        assert_eq!(r.generic[0].0, "fpga", "sorted by name");
        assert_eq!(r.unmet_by(&has).unwrap(), "1 fpga (it has 0)");
        assert_eq!(
            ResourceRequest::default()
                .with_memory(2000)
                .unmet_by(&has)
                .unwrap(),
            "2000 bytes of memory (it has 1000)"
        );
        assert_eq!(has.describe(), "8 CPUs, 2 gpus, 1000 bytes of memory");
    }
}
