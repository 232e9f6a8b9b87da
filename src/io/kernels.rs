//! The `tessera.io.*` kernels every Tessera process has: reading a block from files, and the
//! write kernels of `store`. Installed next to the array kernels by the kernel registry.
//!
//! This module only adapts kernel signatures.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;

use crate::io::error::IoError;
use crate::io::{source, store};
use crate::runtime::kernel::{Kernel, KernelContext, KernelError};

/// Kernel names of the I/O layer.
pub mod names {
    /// Reads one block of a file-backed array.
    pub const READ: &str = "tessera.io.read";
    /// Encodes a block and writes it under the output's lock.
    pub const STORE_LOCKED: &str = "tessera.io.store-locked";
    /// Writes a block through libhdf5's filters under the output's lock.
    pub const STORE_FILTERED: &str = "tessera.io.store-filtered";
    /// Encodes a block for the single writer.
    pub const ENCODE: &str = "tessera.io.encode";
    /// Writes every encoded chunk of one output.
    pub const WRITE_ALL: &str = "tessera.io.write-all";
}

fn adapt(f: fn(&[u8], &[Bytes]) -> Result<Bytes, IoError>) -> Kernel {
    Arc::new(move |ctx: &KernelContext<'_>, inputs: &[Bytes]| {
        f(ctx.args, inputs).map_err(|e| KernelError::new(e.to_string()))
    })
}

/// Adds the I/O kernels to a kernel registry map.
pub(crate) fn install(map: &mut HashMap<String, Kernel>) {
    map.insert(names::READ.into(), adapt(|a, _| source::read_kernel(a)));
    map.insert(names::STORE_LOCKED.into(), adapt(store::store_locked));
    map.insert(names::STORE_FILTERED.into(), adapt(store::store_filtered));
    map.insert(names::ENCODE.into(), adapt(store::encode_kernel));
    map.insert(names::WRITE_ALL.into(), adapt(store::write_all));
}
