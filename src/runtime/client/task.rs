//! Building one task for [`Client::submit`](super::Client::submit): kernel, arguments, inputs.

use bytes::Bytes;

use crate::core::{ResourceRequest, TaskKey};
use crate::runtime::value::Value;

use super::future::Future;

/// A task to submit: `Task::new("kernel").arg(3i64).input(&x)`.
#[derive(Clone, Debug)]
pub struct Task {
    pub(crate) kernel: String,
    pub(crate) args: Bytes,
    pub(crate) inputs: Vec<TaskKey>,
    pub(crate) key: Option<TaskKey>,
    pub(crate) resources: ResourceRequest,
}

impl Task {
    /// A task running the registered kernel `kernel`.
    pub fn new(kernel: &str) -> Self {
        Task {
            kernel: kernel.to_string(),
            args: Bytes::new(),
            inputs: Vec::new(),
            key: None,
            resources: ResourceRequest::default(),
        }
    }

    /// Set the argument bytes from a value.
    pub fn arg<V: Value>(mut self, value: V) -> Self {
        self.args = value.encode();
        self
    }

    /// Set the raw argument bytes.
    pub fn args_bytes(mut self, args: impl Into<Bytes>) -> Self {
        self.args = args.into();
        self
    }

    /// Add the result of `future` as the next input.
    pub fn input<T>(mut self, future: &Future<T>) -> Self {
        self.inputs.push(future.key().clone());
        self
    }

    /// Add an input by key (a key submitted earlier by this client).
    pub fn input_key(mut self, key: TaskKey) -> Self {
        self.inputs.push(key);
        self
    }

    /// What the task needs while it runs (default: one CPU): `ResourceRequest::cpus(4)`.
    pub fn resources(mut self, resources: ResourceRequest) -> Self {
        self.resources = resources;
        self
    }

    /// Give the task an explicit key (default: `<kernel>-<client>-<counter>`).
    pub fn key(mut self, key: impl Into<TaskKey>) -> Self {
        self.key = Some(key.into());
        self
    }
}
