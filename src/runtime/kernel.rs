//! The kernel registry: named functions every worker can run.
//!
//! Tasks carry a kernel *name*, never a closure. Every process of a run executes the same
//! binary, so a user program registers its kernels at start-up (before starting workers or a
//! batch-mode run) and every worker finds them by name. Built-in kernels are registered on
//! first use. This module must not know about scheduling or transports.

use std::cell::Cell;
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, OnceLock, RwLock};

use bytes::Bytes;

use crate::core::TaskKey;

/// What a kernel sees besides its inputs.
pub struct KernelContext<'a> {
    /// The key of the task being run.
    pub key: &'a TaskKey,
    /// The task's argument bytes.
    pub args: &'a [u8],
    /// Where the task runs (worker name, resources given to it); `None` outside a worker.
    pub place: Option<&'a RunPlace>,
}

impl<'a> KernelContext<'a> {
    /// A context outside any worker (tests, in-process executors).
    pub fn new(key: &'a TaskKey, args: &'a [u8]) -> Self {
        KernelContext {
            key,
            args,
            place: None,
        }
    }
}

/// Where a task runs: the worker's name and the resources the worker gave it.
#[derive(Clone, Debug, Default)]
pub struct RunPlace {
    /// The worker's name.
    pub worker: String,
    /// CPU indices given to the task (empty: none in particular).
    pub cpus: Vec<u32>,
    /// Pin the task's processes to `cpus`.
    pub pin: bool,
    /// Generic resources given to the task: name and indices (`gpus` → `[0, 1]`).
    pub generic: Vec<(String, Vec<u32>)>,
    /// Set when the scheduler no longer wants the task while it runs: a kernel that can stop
    /// early (a command task kills its program) may do so.
    pub cancel: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

/// A kernel failed; the message reaches the client with the task key.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KernelError(pub String);

impl KernelError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        KernelError(message.into())
    }
}

/// A registered kernel: inputs in dependency order, result bytes out.
pub type Kernel =
    Arc<dyn Fn(&KernelContext<'_>, &[Bytes]) -> Result<Bytes, KernelError> + Send + Sync>;

fn registry() -> &'static RwLock<HashMap<String, Kernel>> {
    static REGISTRY: OnceLock<RwLock<HashMap<String, Kernel>>> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut map = HashMap::new();
        super::kernels_builtin::install(&mut map);
        super::command::install(&mut map);
        crate::array::kernels::install(&mut map);
        crate::labeled::rolling::install(&mut map);
        #[cfg(feature = "io")]
        crate::io::kernels::install(&mut map);
        RwLock::new(map)
    })
}

/// Register (or replace) a kernel under `name`.
///
/// ```
/// use bytes::Bytes;
/// tessera::runtime::register_kernel("double-bytes", |_ctx, inputs| {
///     let mut out = inputs[0].to_vec();
///     out.extend_from_slice(&inputs[0]);
///     Ok(Bytes::from(out))
/// });
/// assert!(tessera::runtime::lookup_kernel("double-bytes").is_some());
/// ```
pub fn register_kernel<F>(name: &str, kernel: F)
where
    F: Fn(&KernelContext<'_>, &[Bytes]) -> Result<Bytes, KernelError> + Send + Sync + 'static,
{
    let mut map = registry().write().unwrap_or_else(|e| e.into_inner());
    map.insert(name.to_string(), Arc::new(kernel));
}

/// The kernel registered under `name`.
pub fn lookup_kernel(name: &str) -> Option<Kernel> {
    let map = registry().read().unwrap_or_else(|e| e.into_inner());
    map.get(name).cloned()
}

/// Names of all registered kernels, sorted (for error messages).
pub fn kernel_names() -> Vec<String> {
    let map = registry().read().unwrap_or_else(|e| e.into_inner());
    let mut names: Vec<String> = map.keys().cloned().collect();
    names.sort();
    names
}

thread_local! {
    /// Set while this thread runs a kernel under [`call_kernel`].
    static IN_KERNEL: Cell<bool> = const { Cell::new(false) };
}

/// Runs a kernel call, catching its panic as `Err(message)`; while it runs, [`in_kernel`] is
/// true on this thread, so a panic hook knows the panic will be reported as the task's failure.
pub fn call_kernel<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    let outer = IN_KERNEL.replace(true);
    let result = catch_unwind(AssertUnwindSafe(f)).map_err(|p| panic_text(p.as_ref()));
    IN_KERNEL.set(outer);
    result
}

/// True while this thread runs a kernel under [`call_kernel`].
pub fn in_kernel() -> bool {
    IN_KERNEL.get()
}

/// The text of a panic's payload (`panic!("…")` gives a `&str` or a `String`).
pub fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}
