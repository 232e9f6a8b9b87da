//! Fused elementwise programs: a small op list that one task interprets over its output chunk,
//! a cache-sized block at a time, so chains of elementwise operations never materialise
//! intermediate chunks.
//!
//! Registers are typed blocks reused for every block of the chunk; inputs addressed exactly
//! like the output are read in place (no copy). Generators (constants, ranges, eye, random
//! numbers) compute values from global element positions, so their values never depend on the
//! chunking. This module must not know about graph nodes or task keys.

use serde::{Deserialize, Serialize};

use crate::array::block::{Block, Slice};
use crate::array::dtype::{DType, Scalar};
use crate::array::math::{self, CastTo};
use crate::array::ops::{BinaryOp, UnaryOp};
use crate::array::walker::{Layout, Strided};

/// Elements per evaluation block (16 KiB of f64 per register).
pub const BLOCK_ELEMS: usize = 2048;

/// Values computed from an element's global position; every generator is a pure function of
/// `(parameters, flat index)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Generator {
    /// The same value everywhere.
    Full(Scalar),
    /// `start + i · step` along a 1-d array (exact in int64 when both are integers).
    Arange {
        /// First value.
        start: Scalar,
        /// Step between values.
        step: Scalar,
    },
    /// `num` values from `start` to `stop` (NumPy's `linspace`).
    Linspace {
        /// First value.
        start: f64,
        /// Last value (included when `endpoint`).
        stop: f64,
        /// Number of values.
        num: u64,
        /// Whether `stop` is the last value.
        endpoint: bool,
    },
    /// Ones on the `k`-th diagonal of a matrix with `ncols` columns.
    Eye {
        /// Diagonal offset (positive: above the main diagonal).
        k: i64,
        /// Number of columns.
        ncols: u64,
    },
    /// Uniform on `[low, high)`.
    Uniform {
        /// Stream seed.
        seed: u64,
        /// Lower bound.
        low: f64,
        /// Upper bound (excluded).
        high: f64,
    },
    /// Normal with `mean` and standard deviation `std`.
    Normal {
        /// Stream seed.
        seed: u64,
        /// Mean.
        mean: f64,
        /// Standard deviation.
        std: f64,
    },
}

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

#[inline(always)]
fn splitmix_finalize(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// 64 random bits for element `index` of the stream `seed` (SplitMix64 keyed by the seed:
/// a counter-based generator, so any element can be computed without the others).
#[inline(always)]
pub fn random_bits(seed: u64, index: u64) -> u64 {
    let key = splitmix_finalize(seed ^ 0x5851_F42D_4C95_7F2D);
    splitmix_finalize(key.wrapping_add(index.wrapping_add(1).wrapping_mul(GOLDEN)))
}

/// Uniform on `[0, 1)` with 53 random bits for element `index` of stream `seed`.
#[inline(always)]
pub fn uniform01(seed: u64, index: u64) -> f64 {
    bits_to_unit(random_bits(seed, index))
}

/// The top 53 bits as a float in `[0, 1)`. They fit an `i64`, whose conversion is one
/// instruction (an unsigned one is a branchy sequence on x86-64).
#[inline(always)]
fn bits_to_unit(bits: u64) -> f64 {
    ((bits >> 11) as i64) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// `out[k] = a + (first + k) · b` for positions below 2^53, where the positions are exact
/// as floats: they are kept as floats, eight lanes at a time, instead of converted one by one
/// (bit-identical to converting each).
fn fill_arange_contiguous<T: GenTarget>(out: &mut [T], a: f64, b: f64, first: u64) {
    const LANES: [f64; 8] = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0];
    let mut base = first as f64;
    let mut eights = out.chunks_exact_mut(8);
    for group in &mut eights {
        for (o, lane) in group.iter_mut().zip(LANES) {
            *o = T::from_f64(a + (base + lane) * b);
        }
        base += 8.0;
    }
    for (o, lane) in eights.into_remainder().iter_mut().zip(LANES) {
        *o = T::from_f64(a + (base + lane) * b);
    }
}

/// [`fill_uniform_contiguous`] for float64, with 8-wide 64-bit multiplies and conversions
/// where the CPU has AVX-512DQ (checked at run time); bit-identical either way.
fn fill_uniform_f64(out: &mut [f64], seed: u64, low: f64, high: f64, first: u64) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512dq")
        {
            // SAFETY: the CPU supports the features the function is compiled for (checked
            // just above); the function itself is safe code.
            unsafe { fill_uniform_f64_avx512(out, seed, low, high, first) };
            return;
        }
    }
    fill_uniform_contiguous(out, seed, low, high, first);
}

/// The same loop compiled for AVX-512DQ.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq")]
fn fill_uniform_f64_avx512(out: &mut [f64], seed: u64, low: f64, high: f64, first: u64) {
    fill_uniform_contiguous(out, seed, low, high, first);
}

/// `out[k] = low + (high - low) · uniform01(seed, first + k)`: the same values as
/// [`uniform01`], with the key hoisted and the counter advanced by addition.
#[inline(always)]
fn fill_uniform_contiguous<T: GenTarget>(
    out: &mut [T],
    seed: u64,
    low: f64,
    high: f64,
    first: u64,
) {
    let key = splitmix_finalize(seed ^ 0x5851_F42D_4C95_7F2D);
    let scale = high - low;
    let mut counter = key.wrapping_add(first.wrapping_add(1).wrapping_mul(GOLDEN));
    for o in out.iter_mut() {
        *o = T::from_f64(low + scale * bits_to_unit(splitmix_finalize(counter)));
        counter = counter.wrapping_add(GOLDEN);
    }
}

/// Standard normal for element `index` of stream `seed` (Box–Muller over two counters).
#[inline(always)]
pub fn standard_normal(seed: u64, index: u64) -> f64 {
    let u1 = uniform01(seed, index.wrapping_mul(2));
    let u2 = uniform01(seed, index.wrapping_mul(2).wrapping_add(1));
    (-2.0 * (1.0 - u1).ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

trait GenTarget: Copy {
    fn from_f64(x: f64) -> Self;
    fn from_i64(x: i64) -> Self;
    fn from_bool(x: bool) -> Self;
}
impl<T: Copy> GenTarget for T
where
    f64: CastTo<T>,
    i64: CastTo<T>,
    bool: CastTo<T>,
{
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        x.cast()
    }
    #[inline(always)]
    fn from_i64(x: i64) -> Self {
        x.cast()
    }
    #[inline(always)]
    fn from_bool(x: bool) -> Self {
        x.cast()
    }
}

impl Generator {
    /// Short name used in task keys.
    pub fn name(&self) -> &'static str {
        match self {
            Generator::Full(_) => "full",
            Generator::Arange { .. } => "arange",
            Generator::Linspace { .. } => "linspace",
            Generator::Eye { .. } => "eye",
            Generator::Uniform { .. } => "random_uniform",
            Generator::Normal { .. } => "random_normal",
        }
    }

    /// `out[k] = value(first + k · step)`.
    fn fill<T: GenTarget>(&self, out: &mut [T], first: u64, step: u64, integer_dtype: bool) {
        let at = |k: usize| first.wrapping_add(k as u64 * step);
        match *self {
            Generator::Full(s) => {
                let v = match s {
                    Scalar::Bool(b) => T::from_bool(b),
                    Scalar::Int(i) => T::from_i64(i),
                    Scalar::Float(x) => T::from_f64(x),
                };
                out.fill(v);
            }
            Generator::Arange { start, step: d } => {
                if let (true, Scalar::Int(a), Scalar::Int(b)) = (integer_dtype, start, d) {
                    for (k, o) in out.iter_mut().enumerate() {
                        *o = T::from_i64(a.wrapping_add((at(k) as i64).wrapping_mul(b)));
                    }
                } else if step == 1 && first.saturating_add(out.len() as u64) < (1u64 << 53) {
                    fill_arange_contiguous(out, start.as_f64(), d.as_f64(), first);
                } else {
                    let (a, b) = (start.as_f64(), d.as_f64());
                    for (k, o) in out.iter_mut().enumerate() {
                        // Positions are below 2^63: the signed conversion is exact and one
                        // instruction.
                        *o = T::from_f64(a + (at(k) as i64) as f64 * b);
                    }
                }
            }
            Generator::Linspace {
                start,
                stop,
                num,
                endpoint,
            } => {
                let div = if endpoint { num.saturating_sub(1) } else { num };
                let delta = if div > 0 {
                    (stop - start) / div as f64
                } else {
                    0.0
                };
                for (k, o) in out.iter_mut().enumerate() {
                    let i = at(k);
                    let v = if endpoint && num > 1 && i == num - 1 {
                        stop
                    } else {
                        start + i as f64 * delta
                    };
                    *o = T::from_f64(v);
                }
            }
            Generator::Eye { k: diag, ncols } => {
                let ncols = ncols.max(1);
                for (k, o) in out.iter_mut().enumerate() {
                    let g = at(k);
                    let (row, col) = ((g / ncols) as i64, (g % ncols) as i64);
                    *o = T::from_bool(col - row == diag);
                }
            }
            Generator::Uniform { seed, low, high } if step == 1 => {
                fill_uniform_contiguous(out, seed, low, high, first);
            }
            Generator::Uniform { seed, low, high } => {
                for (k, o) in out.iter_mut().enumerate() {
                    *o = T::from_f64(low + (high - low) * uniform01(seed, at(k)));
                }
            }
            Generator::Normal { seed, mean, std } => {
                for (k, o) in out.iter_mut().enumerate() {
                    *o = T::from_f64(mean + std * standard_normal(seed, at(k)));
                }
            }
        }
    }

    /// Fills a typed block with values at positions `first + k · step`.
    pub(crate) fn fill_block(&self, out: &mut Block, at: usize, len: usize, first: u64, step: u64) {
        let int = out.dtype().is_integer();
        if let (Generator::Uniform { seed, low, high }, Block::F64(v), 1) = (self, &mut *out, step)
        {
            fill_uniform_f64(&mut v[at..at + len], *seed, *low, *high, first);
            return;
        }
        match out {
            Block::Bool(v) => self.fill(&mut v[at..at + len], first, step, int),
            Block::U8(v) => self.fill(&mut v[at..at + len], first, step, int),
            Block::I32(v) => self.fill(&mut v[at..at + len], first, step, int),
            Block::I64(v) => self.fill(&mut v[at..at + len], first, step, int),
            Block::F32(v) => self.fill(&mut v[at..at + len], first, step, int),
            Block::F64(v) => self.fill(&mut v[at..at + len], first, step, int),
        }
    }
}

/// One instruction; its result is the register with the instruction's index.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Instr {
    /// Task input `input`, addressed by per-task map `map`.
    Load {
        /// Index into the task's inputs.
        input: u32,
        /// Index into the task's maps.
        map: u32,
        /// The input's dtype.
        dtype: DType,
    },
    /// Generated values, addressed by per-task map `map` (global flat indices).
    Gen {
        /// The generator.
        gen: Generator,
        /// Index into the task's maps.
        map: u32,
        /// Result dtype.
        dtype: DType,
    },
    /// A constant.
    Const {
        /// The value.
        value: Scalar,
        /// Its dtype.
        dtype: DType,
    },
    /// Conversion of register `src`.
    Cast {
        /// Source register.
        src: u32,
        /// Result dtype.
        dtype: DType,
    },
    /// `op(src)`.
    Unary {
        /// Operation.
        op: UnaryOp,
        /// Source register.
        src: u32,
        /// Result dtype.
        dtype: DType,
    },
    /// `op(a, b)` (operands of one dtype).
    Binary {
        /// Operation.
        op: BinaryOp,
        /// Left register.
        a: u32,
        /// Right register.
        b: u32,
        /// Result dtype.
        dtype: DType,
    },
    /// `cond ? a : b`.
    Where {
        /// Bool register.
        cond: u32,
        /// Register chosen where true.
        a: u32,
        /// Register chosen where false.
        b: u32,
        /// Result dtype.
        dtype: DType,
    },
}

impl Instr {
    /// The dtype of the instruction's result.
    pub fn dtype(&self) -> DType {
        match self {
            Instr::Load { dtype, .. }
            | Instr::Gen { dtype, .. }
            | Instr::Const { dtype, .. }
            | Instr::Cast { dtype, .. }
            | Instr::Unary { dtype, .. }
            | Instr::Binary { dtype, .. }
            | Instr::Where { dtype, .. } => *dtype,
        }
    }
}

/// A fused elementwise program; the last instruction's register is the result.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Program {
    /// Instructions in evaluation order (operands refer to earlier instructions).
    pub instrs: Vec<Instr>,
}

impl Program {
    /// The result dtype.
    pub fn dtype(&self) -> Option<DType> {
        self.instrs.last().map(Instr::dtype)
    }

    /// Checks that every operand refers to an earlier instruction and every map exists.
    pub fn validate(&self, maps: usize, inputs: usize) -> Result<(), String> {
        if self.instrs.is_empty() {
            return Err("empty program".into());
        }
        for (i, ins) in self.instrs.iter().enumerate() {
            let regs: Vec<u32> = match ins {
                Instr::Load { input, map, .. } => {
                    if *input as usize >= inputs || *map as usize >= maps {
                        return Err(format!(
                            "instruction {i} reads input {input} / map {map} of {inputs} / {maps}"
                        ));
                    }
                    vec![]
                }
                Instr::Gen { map, .. } => {
                    if *map as usize >= maps {
                        return Err(format!("instruction {i} uses map {map} of {maps}"));
                    }
                    vec![]
                }
                Instr::Const { .. } => vec![],
                Instr::Cast { src, .. } | Instr::Unary { src, .. } => vec![*src],
                Instr::Binary { a, b, .. } => vec![*a, *b],
                Instr::Where { cond, a, b, .. } => vec![*cond, *a, *b],
            };
            if let Some(r) = regs.iter().find(|&&r| r as usize >= i) {
                return Err(format!(
                    "instruction {i} reads register {r} before it exists"
                ));
            }
        }
        Ok(())
    }
}

/// Interprets a program over one output chunk, block by block.
pub(crate) struct Evaluator<'a> {
    instrs: &'a [Instr],
    inputs: Vec<Slice<'a>>,
    layout: Layout,
    direct: Vec<bool>,
    /// Registers whose values do not depend on the position (constants, `Full` generators and
    /// operations on them only): computed once, on the first block, for every block.
    constant: Vec<bool>,
    constants_ready: bool,
    block_len: usize,
    regs: Vec<Block>,
}

/// Which registers of `instrs` are loop-invariant (see [`Evaluator`]).
fn invariant_registers(instrs: &[Instr]) -> Vec<bool> {
    let mut constant: Vec<bool> = Vec::with_capacity(instrs.len());
    for ins in instrs {
        let is = |r: &u32| constant.get(*r as usize).copied().unwrap_or(false);
        let c = match ins {
            Instr::Const { .. } => true,
            Instr::Gen { gen, .. } => matches!(gen, Generator::Full(_)),
            Instr::Load { .. } => false,
            Instr::Cast { src, .. } | Instr::Unary { src, .. } => is(src),
            Instr::Binary { a, b, .. } => is(a) && is(b),
            Instr::Where { cond, a, b, .. } => is(cond) && is(a) && is(b),
        };
        constant.push(c);
    }
    constant
}

fn max_offset(shape: &[usize], map: &Strided) -> u64 {
    map.base
        + shape
            .iter()
            .zip(&map.strides)
            .map(|(&d, &s)| (d.saturating_sub(1)) as u64 * s)
            .sum::<u64>()
}

fn gather(
    src: Slice<'_>,
    out: &mut Block,
    at: usize,
    len: usize,
    offset: u64,
    step: u64,
) -> Result<(), String> {
    macro_rules! arms {
        ($($v:ident),*) => {
            match (src, out) {
                $((Slice::$v(s), Block::$v(o)) => {
                    let o = &mut o[at..at + len];
                    let off = offset as usize;
                    match step {
                        1 => o.copy_from_slice(&s[off..off + len]),
                        0 => o.fill(s[off]),
                        st => {
                            for (k, x) in o.iter_mut().enumerate() {
                                *x = s[off + k * st as usize];
                            }
                        }
                    }
                })*
                (s, o) => return Err(format!("load of {} into {}", s.dtype(), o.dtype())),
            }
        };
    }
    arms!(Bool, U8, I32, I64, F32, F64);
    Ok(())
}

impl<'a> Evaluator<'a> {
    /// Prepares evaluation of `program` over an output chunk of `shape`, with one map per
    /// leaf slot and the task's decoded inputs.
    pub(crate) fn new(
        program: &'a Program,
        shape: &[usize],
        maps: &[Strided],
        inputs: Vec<Slice<'a>>,
    ) -> Result<Evaluator<'a>, String> {
        program.validate(maps.len(), inputs.len())?;
        for (m, map) in maps.iter().enumerate() {
            if map.strides.len() != shape.len() {
                return Err(format!(
                    "map {m} has {} strides for {} axes",
                    map.strides.len(),
                    shape.len()
                ));
            }
        }
        let layout = Layout::new(shape, maps);
        let total = layout.total();
        let mut direct = vec![false; program.instrs.len()];
        let mut regs = Vec::with_capacity(program.instrs.len());
        for (i, ins) in program.instrs.iter().enumerate() {
            let len = BLOCK_ELEMS.min(total.max(1));
            if let Instr::Load { input, map, dtype } = ins {
                let src = inputs[*input as usize];
                if src.dtype() != *dtype {
                    return Err(format!(
                        "input {input} has dtype {}, program expects {dtype}",
                        src.dtype()
                    ));
                }
                if total > 0 && max_offset(shape, &maps[*map as usize]) >= src.len() as u64 {
                    return Err(format!(
                        "input {input} has {} elements, too few for an output chunk of shape {shape:?}",
                        src.len()
                    ));
                }
                direct[i] = layout.is_identity(*map as usize) && src.len() == total;
            }
            let mut block = Block::new(ins.dtype(), if direct[i] { 0 } else { len });
            if let Instr::Const { value, .. } = ins {
                Generator::Full(*value).fill_block(&mut block, 0, len, 0, 0);
            }
            regs.push(block);
        }
        Ok(Evaluator {
            instrs: &program.instrs,
            inputs,
            layout,
            direct,
            constant: invariant_registers(&program.instrs),
            constants_ready: false,
            block_len: BLOCK_ELEMS.min(total.max(1)),
            regs,
        })
    }

    /// Number of output elements.
    pub(crate) fn total(&self) -> usize {
        self.layout.total()
    }

    /// Evaluates the output positions `start..start + len` (`len <= BLOCK_ELEMS`) and returns
    /// the result values.
    pub(crate) fn eval(&mut self, start: usize, len: usize) -> Result<Slice<'_>, String> {
        if !self.constants_ready {
            // Loop-invariant registers, once, over a whole register (every block reads a
            // prefix of them).
            if self.layout.total() > 0 {
                self.run(0, self.block_len, true)?;
            }
            self.constants_ready = true;
        }
        self.run(start, len, false)?;
        let instrs = self.instrs;
        let last = instrs.len() - 1;
        Ok(if self.direct[last] {
            match &instrs[last] {
                Instr::Load { input, .. } => self.inputs[*input as usize].sub(start, len),
                _ => self.regs[last].slice(len),
            }
        } else {
            self.regs[last].slice(len)
        })
    }

    /// Runs the instructions whose invariance is `constants` over positions
    /// `start..start + len`.
    fn run(&mut self, start: usize, len: usize, constants: bool) -> Result<(), String> {
        let instrs = self.instrs;
        for (i, ins) in instrs.iter().enumerate() {
            if self.direct[i] || self.constant[i] != constants {
                continue;
            }
            let (done, rest) = self.regs.split_at_mut(i);
            let out = &mut rest[0];
            let inputs = &self.inputs;
            let direct = &self.direct;
            let operand = |r: u32| -> Slice<'_> {
                let r = r as usize;
                if direct[r] {
                    match &instrs[r] {
                        Instr::Load { input, .. } => inputs[*input as usize].sub(start, len),
                        _ => done[r].slice(len),
                    }
                } else {
                    done[r].slice(len)
                }
            };
            match ins {
                Instr::Load { input, map, .. } => {
                    let src = inputs[*input as usize];
                    let map = *map as usize;
                    let step = self.layout.inner_stride(map);
                    let mut res = Ok(());
                    self.layout.for_each_segment(start, len, |p, n, offs| {
                        if res.is_ok() {
                            res = gather(src, out, p - start, n, offs[map], step);
                        }
                    });
                    res?;
                }
                Instr::Gen { gen, map, .. } => {
                    let map = *map as usize;
                    let step = self.layout.inner_stride(map);
                    self.layout.for_each_segment(start, len, |p, n, offs| {
                        gen.fill_block(out, p - start, n, offs[map], step);
                    });
                }
                Instr::Const { .. } => {}
                Instr::Cast { src, .. } => math::cast(operand(*src), out),
                Instr::Unary { op, src, .. } => math::unary(*op, operand(*src), out)?,
                Instr::Binary { op, a, b, .. } => math::binary(*op, operand(*a), operand(*b), out)?,
                Instr::Where { cond, a, b, .. } => {
                    let c = match operand(*cond) {
                        Slice::Bool(c) => c,
                        other => return Err(format!("where condition of dtype {}", other.dtype())),
                    };
                    math::select(c, operand(*a), operand(*b), out)?
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contiguous_uniform_fill_gives_the_per_element_values() {
        for (seed, first) in [(0u64, 0u64), (7, 12_345), (u64::MAX, u64::MAX - 3)] {
            let mut fast = vec![0.0f64; 37];
            fill_uniform_contiguous(&mut fast, seed, -2.0, 3.0, first);
            let mut dispatched = vec![0.0f64; 37];
            fill_uniform_f64(&mut dispatched, seed, -2.0, 3.0, first);
            assert_eq!(fast, dispatched);
            for (k, v) in fast.iter().enumerate() {
                let slow = -2.0 + 5.0 * uniform01(seed, first.wrapping_add(k as u64));
                assert_eq!(v.to_bits(), slow.to_bits(), "seed {seed} element {k}");
            }
        }
    }

    #[test]
    fn contiguous_arange_fill_gives_the_per_element_values() {
        let gen = Generator::Arange {
            start: Scalar::Float(0.25),
            step: Scalar::Float(-1.5),
        };
        for first in [0u64, 3, (1u64 << 52) + 1] {
            let mut fast = Block::new(DType::F64, 21);
            gen.fill_block(&mut fast, 0, 21, first, 1);
            let fast = match fast.slice(21) {
                Slice::F64(v) => v.to_vec(),
                other => panic!("{other:?}"),
            };
            for (k, v) in fast.iter().enumerate() {
                let expected = 0.25 + ((first + k as u64) as i64) as f64 * -1.5;
                assert_eq!(v.to_bits(), expected.to_bits(), "first {first} element {k}");
            }
        }
    }

    #[test]
    fn random_streams_are_deterministic_and_distinct() {
        assert_eq!(random_bits(1, 5), random_bits(1, 5));
        assert_ne!(random_bits(1, 5), random_bits(2, 5));
        assert_ne!(random_bits(1, 5), random_bits(1, 6));
        let n = 20_000u64;
        let mean: f64 = (0..n).map(|i| uniform01(7, i)).sum::<f64>() / n as f64;
        assert!((mean - 0.5).abs() < 0.01, "{mean}");
        let m: f64 = (0..n).map(|i| standard_normal(7, i)).sum::<f64>() / n as f64;
        let v: f64 = (0..n).map(|i| standard_normal(7, i).powi(2)).sum::<f64>() / n as f64;
        assert!(m.abs() < 0.03 && (v - 1.0).abs() < 0.05, "{m} {v}");
    }

    #[test]
    fn program_fuses_load_and_constants_without_copying_the_input() {
        let x: Vec<f64> = (0..10).map(f64::from).collect();
        let program = Program {
            instrs: vec![
                Instr::Load {
                    input: 0,
                    map: 0,
                    dtype: DType::F64,
                },
                Instr::Const {
                    value: Scalar::Float(2.0),
                    dtype: DType::F64,
                },
                Instr::Binary {
                    op: BinaryOp::Mul,
                    a: 0,
                    b: 1,
                    dtype: DType::F64,
                },
                Instr::Const {
                    value: Scalar::Float(1.0),
                    dtype: DType::F64,
                },
                Instr::Binary {
                    op: BinaryOp::Add,
                    a: 2,
                    b: 3,
                    dtype: DType::F64,
                },
            ],
        };
        let maps = vec![Strided::row_major(&[2, 5], &[false, false])];
        let mut ev = Evaluator::new(&program, &[2, 5], &maps, vec![Slice::F64(&x)]).unwrap();
        assert!(ev.direct[0]);
        match ev.eval(3, 5).unwrap() {
            Slice::F64(v) => assert_eq!(v, &[7.0, 9.0, 11.0, 13.0, 15.0]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_programs_are_refused() {
        let p = Program {
            instrs: vec![Instr::Cast {
                src: 0,
                dtype: DType::F64,
            }],
        };
        assert!(p.validate(0, 0).is_err());
        let p = Program {
            instrs: vec![Instr::Load {
                input: 1,
                map: 0,
                dtype: DType::F64,
            }],
        };
        assert!(p.validate(1, 1).is_err());
        assert!(Program::default().validate(0, 0).is_err());
    }
}
