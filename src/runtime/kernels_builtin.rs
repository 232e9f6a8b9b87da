//! Built-in kernels every Tessera binary has: constants, integer arithmetic used by the demo,
//! tests and benchmarks, deterministic pseudo-random `f64` chunks and their sums (memory and
//! spilling tests and benchmarks), and fault injection (sleep, fail, panic, exit).
//!
//! Integer values are 8-byte little-endian `i64`, `f64` values and chunks little-endian `f64`
//! (see [`crate::runtime::Value`]). This module must not depend on anything but the kernel API.

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

/// The little-endian `i64` at `offset` of `bytes`, if there are 8 bytes there.
fn le_i64(bytes: &[u8], offset: usize) -> Option<i64> {
    let slice = bytes.get(offset..offset.checked_add(8)?)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(slice);
    Some(i64::from_le_bytes(a))
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
    /// A chunk of pseudo-random `f64` in [0, 1): arguments `(seed: i64, count: i64)` as two
    /// little-endian `i64`; the same seed always gives the same values (see [`random_f64_chunk`]).
    ///
    /// [`random_f64_chunk`]: super::random_f64_chunk
    pub const RANDOM_F64: &str = "tessera.random-f64";
    /// Sum of every `f64` of every input, in input order, as one `f64` (see [`sum_f64`]).
    ///
    /// [`sum_f64`]: super::sum_f64
    pub const SUM_F64: &str = "tessera.sum-f64";
}

/// The arguments of [`names::RANDOM_F64`]: `seed` then `count`, little-endian `i64`.
pub fn random_f64_args(seed: i64, count: i64) -> Bytes {
    let mut out = Vec::with_capacity(16);
    out.extend_from_slice(&seed.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    Bytes::from(out)
}

/// `count` pseudo-random `f64` in [0, 1) from `seed` (SplitMix64, 53-bit mantissas), as
/// little-endian bytes: what [`names::RANDOM_F64`] returns. Deterministic on every machine.
///
/// ```
/// use tessera::runtime::kernels_builtin::{random_f64_chunk, sum_f64};
/// let a = random_f64_chunk(7, 1000);
/// assert_eq!(a.len(), 8000);
/// assert_eq!(a, random_f64_chunk(7, 1000));
/// let s = sum_f64(&[a]);
/// assert!(s > 400.0 && s < 600.0);
/// ```
pub fn random_f64_chunk(seed: i64, count: usize) -> Bytes {
    let mut state = (seed as u64) ^ 0x9E37_79B9_7F4A_7C15;
    let mut out = vec![0u8; count * 8];
    for slot in out.chunks_exact_mut(8) {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        let value = (z >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
        slot.copy_from_slice(&value.to_le_bytes());
    }
    Bytes::from(out)
}

/// Sum of every little-endian `f64` of every input, in order: what [`names::SUM_F64`] returns.
/// Trailing bytes that do not make a whole `f64` are ignored.
pub fn sum_f64(inputs: &[Bytes]) -> f64 {
    let mut total = 0.0f64;
    for input in inputs {
        // Four running sums (a fixed order, so the result is deterministic) let the CPU
        // pipeline the additions.
        let mut lanes = [0.0f64; 4];
        let mut quads = input.chunks_exact(32);
        for quad in &mut quads {
            for (lane, bytes) in lanes.iter_mut().zip(quad.chunks_exact(8)) {
                let mut a = [0u8; 8];
                a.copy_from_slice(bytes);
                *lane += f64::from_le_bytes(a);
            }
        }
        let mut rest = 0.0f64;
        for bytes in quads.remainder().chunks_exact(8) {
            let mut a = [0u8; 8];
            a.copy_from_slice(bytes);
            rest += f64::from_le_bytes(a);
        }
        total += ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + rest;
    }
    total
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
        names::RANDOM_F64,
        Arc::new(|ctx, _| {
            let (Some(seed), Some(count), 16) =
                (le_i64(ctx.args, 0), le_i64(ctx.args, 8), ctx.args.len())
            else {
                return Err(KernelError::new(format!(
                    "task {}: {} takes (seed, count) as two i64 (16 bytes), got {} bytes",
                    ctx.key,
                    names::RANDOM_F64,
                    ctx.args.len()
                )));
            };
            if !(0..=(1i64 << 37)).contains(&count) {
                return Err(KernelError::new(format!(
                    "task {}: invalid count {count} of random f64",
                    ctx.key
                )));
            }
            Ok(random_f64_chunk(seed, count as usize))
        }),
    );
    add(
        names::SUM_F64,
        Arc::new(|_, inputs| Ok(sum_f64(inputs).encode())),
    );
    add(
        names::TOTAL_LEN,
        Arc::new(|_, inputs| Ok((inputs.iter().map(|b| b.len() as i64).sum::<i64>()).encode())),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::TaskKey;

    fn run(name: &str, args: &[u8], inputs: &[Bytes]) -> Result<Bytes, KernelError> {
        let mut map = HashMap::new();
        install(&mut map);
        let key = TaskKey::new("t");
        let ctx = KernelContext::new(&key, args);
        map[name](&ctx, inputs)
    }

    #[test]
    fn random_chunks_are_deterministic_uniform_and_seed_dependent() {
        let a = run(names::RANDOM_F64, &random_f64_args(3, 10_000), &[]).unwrap();
        assert_eq!(a, random_f64_chunk(3, 10_000));
        assert_ne!(a, random_f64_chunk(4, 10_000));
        let values = Vec::<f64>::decode(&a).unwrap();
        assert!(values.iter().all(|v| (0.0..1.0).contains(v)));
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        assert!((mean - 0.5).abs() < 0.02, "mean {mean}");
    }

    #[test]
    fn sum_adds_every_input_in_order() {
        let a = vec![1.5f64, 2.0, 3.25, 4.0, 5.0].encode();
        let b = vec![0.25f64].encode();
        let out = run(names::SUM_F64, &[], &[a, b]).unwrap();
        assert_eq!(f64::decode(&out).unwrap(), 16.0);
        assert_eq!(
            f64::decode(&run(names::SUM_F64, &[], &[]).unwrap()).unwrap(),
            0.0
        );
    }

    #[test]
    fn bad_random_arguments_are_errors() {
        let err = run(names::RANDOM_F64, &[1, 2, 3], &[]).unwrap_err();
        assert!(err.0.contains("16 bytes"), "{err}");
        let err = run(names::RANDOM_F64, &random_f64_args(1, -5), &[]).unwrap_err();
        assert!(err.0.contains("-5"), "{err}");
    }
}
