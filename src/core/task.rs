//! Task identity and task descriptions: what the client submits and the scheduler schedules.
//!
//! A task is data, never a closure: a kernel name (every process of a run executes the same
//! binary, so every worker can look the kernel up), opaque argument bytes, and the keys of the
//! tasks whose results it consumes. This module must not know how tasks are executed or moved.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::resources::ResourceRequest;

/// The name of a task and of its result, unique within a cluster. Cheap to clone.
///
/// ```
/// use tessera::core::TaskKey;
/// let k = TaskKey::new("sum-3");
/// assert_eq!(k.as_str(), "sum-3");
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaskKey(Arc<str>);

impl TaskKey {
    /// A key from any string.
    pub fn new(name: impl AsRef<str>) -> Self {
        TaskKey(Arc::from(name.as_ref()))
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for TaskKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", &*self.0)
    }
}

impl fmt::Display for TaskKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for TaskKey {
    fn from(s: &str) -> Self {
        TaskKey::new(s)
    }
}

impl From<String> for TaskKey {
    fn from(s: String) -> Self {
        TaskKey(Arc::from(s))
    }
}

/// The registered name of a kernel (a function every worker can run).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct KernelName(Arc<str>);

impl KernelName {
    /// A kernel name from any string.
    pub fn new(name: impl AsRef<str>) -> Self {
        KernelName(Arc::from(name.as_ref()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for KernelName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", &*self.0)
    }
}

impl fmt::Display for KernelName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One task of a graph as submitted by a client.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskSpec {
    /// The task's key (and the key of its result).
    pub key: TaskKey,
    /// The kernel the worker runs.
    pub kernel: KernelName,
    /// Kernel arguments, opaque to the scheduler.
    pub args: Bytes,
    /// Keys whose results are the kernel's inputs, in argument order.
    pub deps: Vec<TaskKey>,
    /// What the task needs while it runs (default: one CPU).
    #[serde(default)]
    pub resources: ResourceRequest,
}

impl TaskSpec {
    /// A task running `kernel` on the results of `deps` with argument bytes `args`.
    pub fn new(
        key: impl Into<TaskKey>,
        kernel: &str,
        args: impl Into<Bytes>,
        deps: Vec<TaskKey>,
    ) -> Self {
        TaskSpec {
            key: key.into(),
            kernel: KernelName::new(kernel),
            args: args.into(),
            deps,
            resources: ResourceRequest::default(),
        }
    }

    /// The same task asking for `resources`.
    pub fn with_resources(mut self, resources: ResourceRequest) -> Self {
        self.resources = resources;
        self
    }
}

/// Identifies a connected worker within one scheduler's lifetime (never reused).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct WorkerId(pub u32);

/// Identifies a connected client within one scheduler's lifetime (never reused).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ClientId(pub u32);

impl fmt::Display for WorkerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "worker-{}", self.0)
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "client-{}", self.0)
    }
}
