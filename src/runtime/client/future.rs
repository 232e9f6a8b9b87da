//! Futures: handles on keys a client wants. While any handle on a key lives, the cluster keeps
//! its result; when the last is dropped, the client tells the scheduler to release it.

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use crate::core::TaskKey;
use crate::runtime::value::Value;

use super::{ClientError, Shared};

/// Where a key stands, as this client knows it.
#[derive(Clone, Debug, PartialEq)]
pub enum KeyStatus {
    /// Not finished yet.
    Pending,
    /// In memory on these workers.
    Ready { nbytes: u64, holders: Vec<String> },
    /// Failed; `root` is the task whose kernel failed.
    Erred { root: TaskKey, message: String },
    /// Cancelled by this client.
    Cancelled,
}

/// A handle on the future result of a task, decoded as `T` when gathered.
pub struct Future<T> {
    pub(super) key: TaskKey,
    pub(super) shared: Arc<Shared>,
    pub(super) _type: PhantomData<fn() -> T>,
}

impl<T> Future<T> {
    pub(super) fn new(key: TaskKey, shared: Arc<Shared>) -> Self {
        // The caller has already counted this handle.
        Future {
            key,
            shared,
            _type: PhantomData,
        }
    }

    /// The task's key.
    pub fn key(&self) -> &TaskKey {
        &self.key
    }

    /// Current status without waiting.
    pub fn status(&self) -> KeyStatus {
        self.shared.status(&self.key)
    }

    /// True when finished (successfully or not) or cancelled.
    pub fn done(&self) -> bool {
        !matches!(self.status(), KeyStatus::Pending)
    }

    /// Wait until done; an error if it failed or was cancelled.
    pub fn wait(&self) -> Result<(), ClientError> {
        self.shared.wait_key(&self.key, None).map(|_| ())
    }

    /// Wait up to `timeout`.
    pub fn wait_timeout(&self, timeout: Duration) -> Result<(), ClientError> {
        self.shared.wait_key(&self.key, Some(timeout)).map(|_| ())
    }

    /// Stop computing this key (unless other clients want it).
    pub fn cancel(&self) {
        self.shared.cancel(std::slice::from_ref(&self.key));
    }

    /// Reinterpret the result type.
    pub fn cast<U>(self) -> Future<U> {
        self.shared.retain(&self.key);
        Future::new(self.key.clone(), self.shared.clone())
    }
}

impl<T: Value> Future<T> {
    /// Wait for the result and fetch it from the worker holding it.
    pub fn result(&self) -> Result<T, ClientError> {
        let mut values = self.shared.gather_keys(std::slice::from_ref(&self.key))?;
        let bytes = values
            .pop()
            .ok_or(ClientError::Disconnected("no value returned".to_string()))?;
        T::decode(&bytes).map_err(|source| ClientError::Decode {
            key: self.key.clone(),
            source,
        })
    }
}

impl<T> Clone for Future<T> {
    fn clone(&self) -> Self {
        self.shared.retain(&self.key);
        Future::new(self.key.clone(), self.shared.clone())
    }
}

impl<T> Drop for Future<T> {
    fn drop(&mut self) {
        self.shared.release(&self.key);
    }
}

impl<T> std::fmt::Debug for Future<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Future({}, {:?})", self.key, self.status())
    }
}
