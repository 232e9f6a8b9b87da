//! Built-in kernels every Tessera binary has: constants, integer arithmetic used by the demo,
//! tests and benchmarks, and fault injection (sleep, fail, panic, exit).
//!
//! Integer values are 8-byte little-endian `i64` (see [`crate::runtime::Value`]). This module
//! must not depend on anything but the kernel API.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::kernel::{Kernel, KernelContext, KernelError};
use super::value::Value;

fn int_input(ctx: &KernelContext<'_>, inputs: &[Bytes], i: usize) -> Result<i64, KernelError> {
    let b = inputs.get(i).ok_or_else(|| {
        KernelError::new(format!(
            "task {} expects input {i}, got {}",
            ctx.key,
            inputs.len()
        ))
    })?;
    i64::decode(b).map_err(|e| KernelError::new(format!("task {} input {i}: {e}", ctx.key)))
}

fn int_args(ctx: &KernelContext<'_>) -> Result<i64, KernelError> {
    let b = Bytes::copy_from_slice(ctx.args);
    i64::decode(&b).map_err(|e| KernelError::new(format!("task {} arguments: {e}", ctx.key)))
}

/// Kernel names, for callers that build graphs of built-ins.
pub mod names {
    /// Returns its argument bytes.
    pub const CONST: &str = "tessera.const";
    /// `i64` input (or argument when there is no input) plus one.
    pub const INC: &str = "tessera.inc";
    /// Sum of all `i64` inputs.
    pub const ADD: &str = "tessera.add";
    /// Returns its first input after sleeping `args` (i64) milliseconds.
    pub const SLEEP: &str = "tessera.sleep";
    /// Fails with its argument bytes as message.
    pub const FAIL: &str = "tessera.fail";
    /// Panics with its argument bytes as message.
    pub const PANIC: &str = "tessera.panic";
    /// A zero-filled buffer of `args` (i64) bytes.
    pub const ZEROS: &str = "tessera.zeros";
    /// Sum of the lengths of its inputs, as i64.
    pub const TOTAL_LEN: &str = "tessera.total-len";
}

pub(super) fn install(map: &mut HashMap<String, Kernel>) {
    let mut add = |name: &str, k: Kernel| {
        map.insert(name.to_string(), k);
    };
    add(
        names::CONST,
        Arc::new(|ctx, _| Ok(Bytes::copy_from_slice(ctx.args))),
    );
    add(
        names::INC,
        Arc::new(|ctx, inputs| {
            let v = if inputs.is_empty() {
                int_args(ctx)?
            } else {
                int_input(ctx, inputs, 0)?
            };
            Ok(v.wrapping_add(1).encode())
        }),
    );
    add(
        names::ADD,
        Arc::new(|ctx, inputs| {
            let mut total = 0i64;
            for i in 0..inputs.len() {
                total = total.wrapping_add(int_input(ctx, inputs, i)?);
            }
            Ok(total.encode())
        }),
    );
    add(
        names::SLEEP,
        Arc::new(|ctx, inputs| {
            let ms = int_args(ctx)?.max(0) as u64;
            std::thread::sleep(Duration::from_millis(ms));
            Ok(inputs.first().cloned().unwrap_or_default())
        }),
    );
    add(
        names::FAIL,
        Arc::new(|ctx, _| {
            Err(KernelError::new(
                String::from_utf8_lossy(ctx.args).into_owned(),
            ))
        }),
    );
    add(
        names::PANIC,
        Arc::new(|ctx, _| panic!("{}", String::from_utf8_lossy(ctx.args))),
    );
    add(
        names::ZEROS,
        Arc::new(|ctx, _| {
            let n = int_args(ctx)?;
            if !(0..=(1i64 << 40)).contains(&n) {
                return Err(KernelError::new(format!("{}: invalid size {n}", ctx.key)));
            }
            Ok(Bytes::from(vec![0u8; n as usize]))
        }),
    );
    add(
        names::TOTAL_LEN,
        Arc::new(|_, inputs| Ok((inputs.iter().map(|b| b.len() as i64).sum::<i64>()).encode())),
    );
}
