//! Task specs for the scheduler's own unit tests (test builds only): keys from strings and
//! tasks of a dummy kernel with dependencies by key. Nothing here runs anything.

use bytes::Bytes;

use crate::core::task::{KernelName, TaskKey, TaskSpec};

/// A key from a string.
pub(super) fn key(s: &str) -> TaskKey {
    TaskKey::new(s)
}

/// Task `k` of kernel `k`, no arguments, depending on `deps`.
pub(super) fn task(k: &str, deps: &[&str]) -> TaskSpec {
    TaskSpec {
        key: key(k),
        kernel: KernelName::new("k"),
        args: Bytes::new(),
        deps: deps.iter().map(|d| key(d)).collect(),
        resources: Default::default(),
    }
}
