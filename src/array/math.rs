//! The loops behind elementwise operations: tight loops over typed slices (written so LLVM can
//! vectorise them), one dispatch on dtype per block, never per element.
//!
//! This module must not decide typing (see `ops`) and must not allocate.

use crate::array::block::{with_slice, Block, Slice};
use crate::array::ops::{BinaryOp, UnaryOp};

/// `a op b` bitwise on the bits of an integer.
#[inline(always)]
fn int_bits<I>(a: I, b: I, op: BinaryOp) -> I
where
    I: std::ops::BitAnd<Output = I> + std::ops::BitOr<Output = I> + std::ops::BitXor<Output = I>,
{
    match op {
        BinaryOp::BitAnd => a & b,
        BinaryOp::BitOr => a | b,
        _ => a ^ b,
    }
}

/// Numeric element types (not bool): the arithmetic kernels are generic over these.
pub(crate) trait Num: Copy + PartialOrd + Default + Send + Sync + 'static {
    fn add(self, o: Self) -> Self;
    fn sub(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
    fn div(self, o: Self) -> Self;
    fn floor_div(self, o: Self) -> Self;
    fn rem(self, o: Self) -> Self;
    fn pow(self, o: Self) -> Self;
    fn neg(self) -> Self;
    fn abs(self) -> Self;
    fn minimum(self, o: Self) -> Self;
    fn maximum(self, o: Self) -> Self;
    fn is_nan(self) -> bool;
    /// Bitwise and/or/xor/not (integers; the typing rules never ask floats for them).
    fn bits(self, o: Self, op: BinaryOp) -> Self;
    fn invert(self) -> Self;
    /// The float-only binary functions (arctan2, hypot, float_power) and `fmod`; integers
    /// only ever get `fmod` (C's truncated remainder, by zero 0).
    fn float_binary(self, o: Self, op: BinaryOp) -> Self;
    fn from_i64(x: i64) -> Self;
    fn to_f64(self) -> f64;
}

/// Float element types: the math functions are generic over these.
pub(crate) trait Float: Num {
    fn unary_math(self, op: UnaryOp) -> Self;
}

macro_rules! float_num {
    ($t:ty) => {
        impl Num for $t {
            #[inline(always)]
            fn add(self, o: Self) -> Self {
                self + o
            }
            #[inline(always)]
            fn sub(self, o: Self) -> Self {
                self - o
            }
            #[inline(always)]
            fn mul(self, o: Self) -> Self {
                self * o
            }
            #[inline(always)]
            fn div(self, o: Self) -> Self {
                self / o
            }
            /// NumPy's `npy_floor_divide`: the quotient of `divmod`, so `1.0 // 0.1` is 9
            /// (as in Python) and `x // inf` is 0 or -1.
            #[inline(always)]
            fn floor_div(self, o: Self) -> Self {
                if o == 0.0 {
                    return self / o;
                }
                let m = self % o;
                let mut div = (self - m) / o;
                if m != 0.0 && ((o < 0.0) != (m < 0.0)) {
                    div -= 1.0;
                }
                if div != 0.0 {
                    let f = div.floor();
                    if div - f > 0.5 {
                        f + 1.0
                    } else {
                        f
                    }
                } else {
                    (0.0 as $t).copysign(self / o)
                }
            }
            /// NumPy's `npy_remainder`: the remainder of `divmod`, with the sign of `o`
            /// (`-5 % inf` is inf, `x % 0` is NaN).
            #[inline(always)]
            fn rem(self, o: Self) -> Self {
                let r = self % o;
                if o == 0.0 {
                    r
                } else if r != 0.0 {
                    if (o < 0.0) != (r < 0.0) {
                        r + o
                    } else {
                        r
                    }
                } else {
                    (0.0 as $t).copysign(o)
                }
            }
            #[inline(always)]
            fn pow(self, o: Self) -> Self {
                self.powf(o)
            }
            #[inline(always)]
            fn neg(self) -> Self {
                -self
            }
            #[inline(always)]
            fn abs(self) -> Self {
                self.abs()
            }
            #[inline(always)]
            fn minimum(self, o: Self) -> Self {
                if self.is_nan() || self <= o {
                    self
                } else {
                    o
                }
            }
            #[inline(always)]
            fn maximum(self, o: Self) -> Self {
                if self.is_nan() || self >= o {
                    self
                } else {
                    o
                }
            }
            #[inline(always)]
            fn is_nan(self) -> bool {
                self.is_nan()
            }
            #[inline(always)]
            fn bits(self, o: Self, op: BinaryOp) -> Self {
                <$t>::from_bits(int_bits(self.to_bits(), o.to_bits(), op))
            }
            #[inline(always)]
            fn invert(self) -> Self {
                <$t>::from_bits(!self.to_bits())
            }
            #[inline(always)]
            fn float_binary(self, o: Self, op: BinaryOp) -> Self {
                match op {
                    BinaryOp::Arctan2 => self.atan2(o),
                    BinaryOp::Hypot => self.hypot(o),
                    BinaryOp::FloatPower => self.powf(o),
                    _ => self % o,
                }
            }
            #[inline(always)]
            fn from_i64(x: i64) -> Self {
                x as $t
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
        }

        impl Float for $t {
            #[inline(always)]
            fn unary_math(self, op: UnaryOp) -> Self {
                match op {
                    UnaryOp::Sqrt => self.sqrt(),
                    UnaryOp::Exp => self.exp(),
                    UnaryOp::Log => self.ln(),
                    UnaryOp::Log10 => self.log10(),
                    UnaryOp::Sin => self.sin(),
                    UnaryOp::Cos => self.cos(),
                    UnaryOp::Tan => self.tan(),
                    UnaryOp::Tanh => self.tanh(),
                    UnaryOp::Floor => self.floor(),
                    UnaryOp::Ceil => self.ceil(),
                    UnaryOp::Round => self.round_ties_even(),
                    UnaryOp::Neg => -self,
                    UnaryOp::Abs => self.abs(),
                    UnaryOp::NanToNum {
                        nan,
                        posinf,
                        neginf,
                    } => {
                        if self.is_nan() {
                            nan as $t
                        } else if self == <$t>::INFINITY {
                            posinf as $t
                        } else if self == <$t>::NEG_INFINITY {
                            neginf as $t
                        } else {
                            self
                        }
                    }
                    UnaryOp::Invert => self.invert(),
                    UnaryOp::Sign => {
                        if self > 0.0 {
                            1.0
                        } else if self < 0.0 {
                            -1.0
                        } else if self == 0.0 {
                            0.0
                        } else {
                            self
                        }
                    }
                    UnaryOp::Square => self * self,
                    UnaryOp::Cbrt => self.cbrt(),
                    UnaryOp::Log1p => self.ln_1p(),
                    UnaryOp::Expm1 => self.exp_m1(),
                    UnaryOp::Log2 => self.log2(),
                    UnaryOp::Exp2 => self.exp2(),
                    UnaryOp::Arcsin => self.asin(),
                    UnaryOp::Arccos => self.acos(),
                    UnaryOp::Arctan => self.atan(),
                    UnaryOp::Sinh => self.sinh(),
                    UnaryOp::Cosh => self.cosh(),
                    UnaryOp::Arcsinh => self.asinh(),
                    UnaryOp::Arccosh => self.acosh(),
                    UnaryOp::Arctanh => self.atanh(),
                    UnaryOp::Trunc => self.trunc(),
                    UnaryOp::Deg2rad => self.to_radians(),
                    UnaryOp::Rad2deg => self.to_degrees(),
                    UnaryOp::IsInf => self,
                    UnaryOp::Not | UnaryOp::IsNan | UnaryOp::IsFinite => self,
                }
            }
        }
    };
}
float_num!(f64);
float_num!(f32);

macro_rules! int_num {
    ($t:ty, $signed:expr) => {
        #[allow(unused_comparisons)]
        impl Num for $t {
            #[inline(always)]
            fn add(self, o: Self) -> Self {
                self.wrapping_add(o)
            }
            #[inline(always)]
            fn sub(self, o: Self) -> Self {
                self.wrapping_sub(o)
            }
            #[inline(always)]
            fn mul(self, o: Self) -> Self {
                self.wrapping_mul(o)
            }
            #[inline(always)]
            fn div(self, o: Self) -> Self {
                self.floor_div(o)
            }
            #[inline(always)]
            fn floor_div(self, o: Self) -> Self {
                if o == 0 {
                    return 0;
                }
                let q = self.wrapping_div(o);
                if $signed && self.wrapping_rem(o) != 0 && ((self < 0) != (o < (0 as $t))) {
                    q.wrapping_sub(1)
                } else {
                    q
                }
            }
            #[inline(always)]
            fn rem(self, o: Self) -> Self {
                if o == 0 {
                    return 0;
                }
                let r = self.wrapping_rem(o);
                if $signed && r != 0 && ((r < 0) != (o < (0 as $t))) {
                    r.wrapping_add(o)
                } else {
                    r
                }
            }
            #[inline(always)]
            fn pow(self, o: Self) -> Self {
                if $signed && o < (0 as $t) {
                    // The integer part of 1 / self^|o|.
                    return match self as i64 {
                        1 => 1,
                        -1 => {
                            if (o as i64) % 2 == 0 {
                                1
                            } else {
                                self
                            }
                        }
                        _ => 0,
                    };
                }
                let mut base = self;
                let mut e = o as u64;
                let mut acc: $t = 1;
                while e > 0 {
                    if e & 1 == 1 {
                        acc = acc.wrapping_mul(base);
                    }
                    base = base.wrapping_mul(base);
                    e >>= 1;
                }
                acc
            }
            #[inline(always)]
            fn neg(self) -> Self {
                self.wrapping_neg()
            }
            #[inline(always)]
            fn abs(self) -> Self {
                if $signed && self < (0 as $t) {
                    self.wrapping_neg()
                } else {
                    self
                }
            }
            #[inline(always)]
            fn minimum(self, o: Self) -> Self {
                if self <= o {
                    self
                } else {
                    o
                }
            }
            #[inline(always)]
            fn maximum(self, o: Self) -> Self {
                if self >= o {
                    self
                } else {
                    o
                }
            }
            #[inline(always)]
            fn is_nan(self) -> bool {
                false
            }
            #[inline(always)]
            fn bits(self, o: Self, op: BinaryOp) -> Self {
                int_bits(self, o, op)
            }
            #[inline(always)]
            fn invert(self) -> Self {
                !self
            }
            #[inline(always)]
            fn float_binary(self, o: Self, _op: BinaryOp) -> Self {
                if o == 0 {
                    0
                } else {
                    self.wrapping_rem(o)
                }
            }
            #[inline(always)]
            fn from_i64(x: i64) -> Self {
                x as $t
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
        }
    };
}
int_num!(i64, true);
int_num!(i32, true);
int_num!(u8, false);

#[inline(always)]
fn zip2<A: Copy, B: Copy, O>(a: &[A], b: &[B], out: &mut [O], f: impl Fn(A, B) -> O) {
    let n = out.len().min(a.len()).min(b.len());
    let (a, b, out) = (&a[..n], &b[..n], &mut out[..n]);
    for i in 0..n {
        out[i] = f(a[i], b[i]);
    }
}

#[inline(always)]
fn map1<A: Copy, O>(a: &[A], out: &mut [O], f: impl Fn(A) -> O) {
    let n = out.len().min(a.len());
    let (a, out) = (&a[..n], &mut out[..n]);
    for i in 0..n {
        out[i] = f(a[i]);
    }
}

fn arith<T: Num>(op: BinaryOp, a: &[T], b: &[T], out: &mut [T]) {
    match op {
        BinaryOp::Add => zip2(a, b, out, T::add),
        BinaryOp::Sub => zip2(a, b, out, T::sub),
        BinaryOp::Mul => zip2(a, b, out, T::mul),
        BinaryOp::Div => zip2(a, b, out, T::div),
        BinaryOp::FloorDiv => zip2(a, b, out, T::floor_div),
        BinaryOp::Rem => zip2(a, b, out, T::rem),
        BinaryOp::Pow => zip2(a, b, out, T::pow),
        BinaryOp::Minimum => zip2(a, b, out, T::minimum),
        BinaryOp::Maximum => zip2(a, b, out, T::maximum),
        BinaryOp::BitAnd | BinaryOp::BitOr | BinaryOp::BitXor => {
            zip2(a, b, out, |x, y| x.bits(y, op))
        }
        BinaryOp::Arctan2 | BinaryOp::Hypot | BinaryOp::Fmod | BinaryOp::FloatPower => {
            zip2(a, b, out, |x, y| x.float_binary(y, op))
        }
        _ => {}
    }
}

fn compare<T: Copy + PartialOrd>(op: BinaryOp, a: &[T], b: &[T], out: &mut [bool]) {
    match op {
        BinaryOp::Eq => zip2(a, b, out, |x, y| x == y),
        BinaryOp::Ne => zip2(a, b, out, |x, y| x != y),
        BinaryOp::Lt => zip2(a, b, out, |x, y| x < y),
        BinaryOp::Le => zip2(a, b, out, |x, y| x <= y),
        BinaryOp::Gt => zip2(a, b, out, |x, y| x > y),
        BinaryOp::Ge => zip2(a, b, out, |x, y| x >= y),
        _ => {}
    }
}

fn bool_binary(op: BinaryOp, a: &[bool], b: &[bool], out: &mut [bool]) {
    match op {
        BinaryOp::And | BinaryOp::BitAnd | BinaryOp::Minimum => zip2(a, b, out, |x, y| x & y),
        BinaryOp::Or | BinaryOp::BitOr | BinaryOp::Maximum => zip2(a, b, out, |x, y| x | y),
        BinaryOp::Xor | BinaryOp::BitXor => zip2(a, b, out, |x, y| x ^ y),
        _ => compare(op, a, b, out),
    }
}

/// `out[..n] = a op b` for operands of one dtype; `Err` names a dtype combination the typing
/// rules never produce.
pub(crate) fn binary(
    op: BinaryOp,
    a: Slice<'_>,
    b: Slice<'_>,
    out: &mut Block,
) -> Result<(), String> {
    macro_rules! num_arms {
        ($($v:ident),*) => {
            match (a, b, out) {
                $(
                    (Slice::$v(a), Slice::$v(b), Block::$v(o)) => arith(op, a, b, o),
                    (Slice::$v(a), Slice::$v(b), Block::Bool(o)) => compare(op, a, b, o),
                )*
                (Slice::Bool(a), Slice::Bool(b), Block::Bool(o)) => bool_binary(op, a, b, o),
                (a, b, o) => {
                    return Err(format!(
                        "{} of {} and {} into {}",
                        op.name(),
                        a.dtype(),
                        b.dtype(),
                        o.dtype()
                    ))
                }
            }
        };
    }
    num_arms!(U8, I32, I64, F32, F64);
    Ok(())
}

fn float_unary<T: Float>(op: UnaryOp, a: &[T], out: &mut [T]) {
    match op {
        UnaryOp::Sqrt => map1(a, out, |x| x.unary_math(UnaryOp::Sqrt)),
        UnaryOp::Neg => map1(a, out, |x| x.neg()),
        UnaryOp::Abs => map1(a, out, |x| x.abs()),
        UnaryOp::Floor => map1(a, out, |x| x.unary_math(UnaryOp::Floor)),
        UnaryOp::Ceil => map1(a, out, |x| x.unary_math(UnaryOp::Ceil)),
        other => map1(a, out, |x| x.unary_math(other)),
    }
}

fn int_unary<T: Num>(op: UnaryOp, a: &[T], out: &mut [T]) {
    match op {
        UnaryOp::Neg => map1(a, out, T::neg),
        UnaryOp::Abs => map1(a, out, T::abs),
        UnaryOp::Invert => map1(a, out, T::invert),
        UnaryOp::Square => map1(a, out, |x| x.mul(x)),
        UnaryOp::Sign => {
            let (zero, one) = (T::from_i64(0), T::from_i64(1));
            let minus = T::from_i64(-1);
            map1(a, out, |x| {
                if x > zero {
                    one
                } else if x < zero {
                    minus
                } else {
                    zero
                }
            })
        }
        _ => map1(a, out, |x| x),
    }
}

/// `out[..n] = op(a)`; `Err` names a dtype combination the typing rules never produce.
pub(crate) fn unary(op: UnaryOp, a: Slice<'_>, out: &mut Block) -> Result<(), String> {
    match (op, a, out) {
        (UnaryOp::IsNan, a, Block::Bool(o)) => with_slice!(a, s => map1(s, o, is_nan_any)),
        (UnaryOp::IsFinite, a, Block::Bool(o)) => with_slice!(a, s => map1(s, o, is_finite_any)),
        (UnaryOp::IsInf, a, Block::Bool(o)) => {
            with_slice!(a, s => map1(s, o, |x| !is_finite_any(x) && !is_nan_any(x)))
        }
        (UnaryOp::Not | UnaryOp::Invert, Slice::Bool(a), Block::Bool(o)) => map1(a, o, |x| !x),
        (op, Slice::F64(a), Block::F64(o)) => float_unary(op, a, o),
        (op, Slice::F32(a), Block::F32(o)) => float_unary(op, a, o),
        (op, Slice::I64(a), Block::I64(o)) => int_unary(op, a, o),
        (op, Slice::I32(a), Block::I32(o)) => int_unary(op, a, o),
        (op, Slice::U8(a), Block::U8(o)) => int_unary(op, a, o),
        (op, a, o) => return Err(format!("{} of {} into {}", op.name(), a.dtype(), o.dtype())),
    }
    Ok(())
}

/// NaN test for any element type (false for integers and bool).
pub(crate) trait MaybeNan: Copy {
    fn nan(self) -> bool;
    fn finite(self) -> bool;
}
macro_rules! maybe_nan {
    (float $($t:ty),*) => {$(
        impl MaybeNan for $t {
            #[inline(always)]
            fn nan(self) -> bool { self.is_nan() }
            #[inline(always)]
            fn finite(self) -> bool { self.is_finite() }
        }
    )*};
    (exact $($t:ty),*) => {$(
        impl MaybeNan for $t {
            #[inline(always)]
            fn nan(self) -> bool { false }
            #[inline(always)]
            fn finite(self) -> bool { true }
        }
    )*};
}
maybe_nan!(float f64, f32);
maybe_nan!(exact i64, i32, u8, bool);

#[inline(always)]
fn is_nan_any<T: MaybeNan>(x: T) -> bool {
    x.nan()
}

#[inline(always)]
fn is_finite_any<T: MaybeNan>(x: T) -> bool {
    x.finite()
}

/// `out[..n] = cond ? a : b` for `a`, `b` of one dtype.
pub(crate) fn select(
    cond: &[bool],
    a: Slice<'_>,
    b: Slice<'_>,
    out: &mut Block,
) -> Result<(), String> {
    macro_rules! arms {
        ($($v:ident),*) => {
            match (a, b, out) {
                $((Slice::$v(a), Slice::$v(b), Block::$v(o)) => {
                    let n = o.len().min(a.len()).min(b.len()).min(cond.len());
                    for i in 0..n {
                        o[i] = if cond[i] { a[i] } else { b[i] };
                    }
                })*
                (a, b, o) => return Err(format!("where of {} and {} into {}", a.dtype(), b.dtype(), o.dtype())),
            }
        };
    }
    arms!(Bool, U8, I32, I64, F32, F64);
    Ok(())
}

/// Conversion of one element type into another with NumPy's `astype` semantics (floats to
/// integers truncate and saturate, NaN becomes 0; non-zero is true).
pub(crate) trait CastTo<O> {
    fn cast(self) -> O;
}
macro_rules! cast_num {
    ($($s:ty),*) => {$(
        impl CastTo<f64> for $s { #[inline(always)] fn cast(self) -> f64 { self as f64 } }
        impl CastTo<f32> for $s { #[inline(always)] fn cast(self) -> f32 { self as f32 } }
        impl CastTo<i64> for $s { #[inline(always)] fn cast(self) -> i64 { self as i64 } }
        impl CastTo<i32> for $s { #[inline(always)] fn cast(self) -> i32 { self as i32 } }
        impl CastTo<u8> for $s { #[inline(always)] fn cast(self) -> u8 { self as u8 } }
        impl CastTo<bool> for $s { #[inline(always)] fn cast(self) -> bool { self != (0 as $s) } }
    )*};
}
cast_num!(f64, f32, i64, i32, u8);
impl<O> CastTo<O> for bool
where
    u8: CastTo<O>,
{
    #[inline(always)]
    fn cast(self) -> O {
        u8::from(self).cast()
    }
}

fn cast_into<
    S: Copy + CastTo<f64> + CastTo<f32> + CastTo<i64> + CastTo<i32> + CastTo<u8> + CastTo<bool>,
>(
    a: &[S],
    out: &mut Block,
) {
    match out {
        Block::F64(o) => map1(a, o, |x| x.cast()),
        Block::F32(o) => map1(a, o, |x| x.cast()),
        Block::I64(o) => map1(a, o, |x| x.cast()),
        Block::I32(o) => map1(a, o, |x| x.cast()),
        Block::U8(o) => map1(a, o, |x| x.cast()),
        Block::Bool(o) => map1(a, o, |x| x.cast()),
    }
}

/// `out[..n] = a as out's dtype`.
pub(crate) fn cast(a: Slice<'_>, out: &mut Block) {
    with_slice!(a, s => cast_into(s, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_modulo_and_floor_division() {
        assert_eq!((-7i64).rem(3), 2);
        assert_eq!(7i64.rem(-3), -2);
        assert_eq!((-7i64).floor_div(2), -4);
        assert_eq!(7i64.floor_div(0), 0);
        assert_eq!(7i64.rem(0), 0);
        assert_eq!((-7.5f64).rem(2.0), 0.5);
        assert_eq!(i64::MIN.floor_div(-1), i64::MIN);
        assert_eq!(200u8.rem(7), 4);
    }

    #[test]
    fn integer_powers() {
        assert_eq!(Num::pow(3i64, 4), 81);
        assert_eq!(Num::pow(2i32, -1), 0);
        assert_eq!(Num::pow(-1i64, -3), -1);
        assert_eq!(Num::pow(2u8, 9), 0);
    }

    #[test]
    fn nan_propagating_minimum() {
        assert!(Num::minimum(f64::NAN, 1.0).is_nan());
        assert!(Num::minimum(1.0f64, f64::NAN).is_nan());
        assert_eq!(Num::maximum(1.0f64, 2.0), 2.0);
    }

    #[test]
    fn casts_follow_astype() {
        let mut out = Block::new(crate::array::DType::I32, 4);
        cast(Slice::F64(&[1.9, -1.9, f64::NAN, 1e20]), &mut out);
        match out {
            Block::I32(v) => assert_eq!(v, vec![1, -1, 0, i32::MAX]),
            _ => unreachable!(),
        }
        let mut out = Block::new(crate::array::DType::Bool, 3);
        cast(Slice::F64(&[0.0, f64::NAN, -2.0]), &mut out);
        match out {
            Block::Bool(v) => assert_eq!(v, vec![false, true, true]),
            _ => unreachable!(),
        }
    }
}
