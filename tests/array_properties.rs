//! Property tests of the array layer: random compositions of operations, shapes and chunkings
//! computed with the in-process executor and compared with eager ndarray results.
//!
//! Tolerance: elementwise results must be bit-identical (the same operations run in the same
//! order); f64 sums, means and variances agree to a relative 1e-12 (reassociation only).

use std::collections::HashSet;

use ndarray::{ArrayD, Axis, IxDyn, Zip};
use proptest::prelude::*;
use tessera::array::{Array, DType, IndexItem, ReduceOptions};

fn shape_strategy() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(1usize..7, 1..=3)
}

/// A shape, values, and two different chunkings of it.
fn array_case() -> impl Strategy<Value = (Vec<usize>, Vec<f64>, Vec<usize>, Vec<usize>)> {
    shape_strategy().prop_flat_map(|shape| {
        let n: usize = shape.iter().product();
        let chunks = shape.iter().map(|&d| 1..=d).collect::<Vec<_>>();
        (
            Just(shape.clone()),
            prop::collection::vec(-8.0f64..8.0, n),
            chunks.clone(),
            chunks,
        )
    })
}

fn nd(shape: &[usize], v: &[f64]) -> ArrayD<f64> {
    ArrayD::from_shape_vec(IxDyn(shape), v.to_vec()).unwrap()
}

fn same(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b
}

fn zip_with(a: &ArrayD<f64>, b: &ArrayD<f64>, f: impl Fn(f64, f64) -> f64) -> ArrayD<f64> {
    let shape = tessera::array::broadcast_shapes(a.shape(), b.shape()).unwrap();
    let (a, b) = (
        a.broadcast(IxDyn(&shape)).unwrap(),
        b.broadcast(IxDyn(&shape)).unwrap(),
    );
    Zip::from(&a).and(&b).map_collect(|&x, &y| f(x, y))
}

#[derive(Clone, Debug)]
enum Expr {
    X,
    Y,
    Scalar(f64),
    Unary(u8, Box<Expr>),
    Binary(u8, Box<Expr>, Box<Expr>),
    Where(Box<Expr>, Box<Expr>, Box<Expr>),
}

fn expr_strategy() -> impl Strategy<Value = Expr> {
    let leaf = prop_oneof![
        Just(Expr::X),
        Just(Expr::Y),
        (-3.0f64..3.0).prop_map(Expr::Scalar)
    ];
    leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            (0u8..7, inner.clone()).prop_map(|(o, e)| Expr::Unary(o, Box::new(e))),
            (0u8..6, inner.clone(), inner.clone()).prop_map(|(o, a, b)| Expr::Binary(
                o,
                Box::new(a),
                Box::new(b)
            )),
            (inner.clone(), inner.clone(), inner).prop_map(|(c, a, b)| Expr::Where(
                Box::new(c),
                Box::new(a),
                Box::new(b)
            )),
        ]
    })
}

fn unary_eager(o: u8, x: f64) -> f64 {
    match o {
        0 => -x,
        1 => x.abs(),
        2 => x.sin(),
        3 => x.tanh(),
        4 => x.floor(),
        5 => x.sqrt(),
        _ => x.round_ties_even(),
    }
}

fn binary_eager(o: u8, x: f64, y: f64) -> f64 {
    match o {
        0 => x + y,
        1 => x - y,
        2 => x * y,
        3 => x / y,
        4 => {
            if x.is_nan() || x <= y {
                x
            } else {
                y
            }
        }
        _ => {
            if x.is_nan() || x >= y {
                x
            } else {
                y
            }
        }
    }
}

/// Either an array or a scalar, for both the lazy and the eager side.
enum Lazy {
    A(Array),
    S(f64),
}

fn lazy(e: &Expr, x: &Array, y: &Array) -> Lazy {
    match e {
        Expr::X => Lazy::A(x.clone()),
        Expr::Y => Lazy::A(y.clone()),
        Expr::Scalar(s) => Lazy::S(*s),
        Expr::Unary(o, a) => match lazy(a, x, y) {
            Lazy::S(s) => Lazy::S(unary_eager(*o, s)),
            Lazy::A(a) => Lazy::A(
                match o {
                    0 => a.neg(),
                    1 => a.abs(),
                    2 => a.sin(),
                    3 => a.tanh(),
                    4 => a.floor(),
                    5 => a.sqrt(),
                    _ => a.round(),
                }
                .unwrap(),
            ),
        },
        Expr::Binary(o, a, b) => match (lazy(a, x, y), lazy(b, x, y)) {
            (Lazy::S(p), Lazy::S(q)) => Lazy::S(binary_eager(*o, p, q)),
            (Lazy::A(p), Lazy::S(q)) => Lazy::A(bin(*o, &p, q.into())),
            (Lazy::S(p), Lazy::A(q)) => Lazy::A(bin(*o, &Array::scalar(p), (&q).into())),
            (Lazy::A(p), Lazy::A(q)) => Lazy::A(bin(*o, &p, (&q).into())),
        },
        Expr::Where(c, a, b) => {
            let cond = match lazy(c, x, y) {
                Lazy::A(c) => c.gt(0.0).unwrap(),
                Lazy::S(s) => Array::scalar(s > 0.0),
            };
            let op = |l: Lazy| match l {
                Lazy::A(a) => tessera::array::Operand::from(a),
                Lazy::S(s) => tessera::array::Operand::from(s),
            };
            Lazy::A(Array::where_(&cond, op(lazy(a, x, y)), op(lazy(b, x, y))).unwrap())
        }
    }
}

fn bin(o: u8, a: &Array, b: tessera::array::Operand) -> Array {
    match o {
        0 => a.add(b),
        1 => a.sub(b),
        2 => a.mul(b),
        3 => a.div(b),
        4 => a.minimum(b),
        _ => a.maximum(b),
    }
    .unwrap()
}

fn eager(e: &Expr, x: &ArrayD<f64>, y: &ArrayD<f64>) -> ArrayD<f64> {
    let scalar = |s: f64| ArrayD::from_elem(IxDyn(&[]), s);
    match e {
        Expr::X => x.clone(),
        Expr::Y => y.clone(),
        Expr::Scalar(s) => scalar(*s),
        Expr::Unary(o, a) => eager(a, x, y).mapv(|v| unary_eager(*o, v)),
        Expr::Binary(o, a, b) => zip_with(&eager(a, x, y), &eager(b, x, y), |p, q| {
            binary_eager(*o, p, q)
        }),
        Expr::Where(c, a, b) => {
            let (c, a, b) = (eager(c, x, y), eager(a, x, y), eager(b, x, y));
            let shape = tessera::array::broadcast_shapes(c.shape(), a.shape()).unwrap();
            let shape = tessera::array::broadcast_shapes(&shape, b.shape()).unwrap();
            let (c, a, b) = (
                c.broadcast(IxDyn(&shape)).unwrap().to_owned(),
                a.broadcast(IxDyn(&shape)).unwrap().to_owned(),
                b.broadcast(IxDyn(&shape)).unwrap().to_owned(),
            );
            Zip::from(&c)
                .and(&a)
                .and(&b)
                .map_collect(|&c, &a, &b| if c > 0.0 { a } else { b })
        }
    }
}

/// An eager reduction of the values of one output position.
type Reference = Box<dyn Fn(&[f64]) -> f64>;

fn reduce_ref(x: &ArrayD<f64>, axes: &[usize], f: impl Fn(&[f64]) -> f64) -> ArrayD<f64> {
    // Move reduced axes last, flatten them, apply f per kept position.
    let nd = x.ndim();
    let kept: Vec<usize> = (0..nd).filter(|a| !axes.contains(a)).collect();
    let mut order = kept.clone();
    order.extend(axes);
    let p = x.view().permuted_axes(IxDyn(&order));
    let kshape: Vec<usize> = kept.iter().map(|&a| x.shape()[a]).collect();
    let rn: usize = axes.iter().map(|&a| x.shape()[a]).product();
    let flat: Vec<f64> = p.iter().copied().collect();
    let vals: Vec<f64> = flat.chunks(rn.max(1)).map(&f).collect();
    let vals = if rn == 0 {
        vec![f(&[]); kshape.iter().product()]
    } else {
        vals
    };
    ArrayD::from_shape_vec(IxDyn(&kshape), vals).unwrap()
}

fn close(a: f64, b: f64) -> bool {
    same(a, b) || (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1.0)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, rng_seed: proptest::test_runner::RngSeed::Fixed(0x7e55e7a), .. ProptestConfig::default() })]

    #[test]
    fn fused_expressions_match_eager(
        (shape, v, c1, c2) in array_case(),
        e in expr_strategy(),
        ybcast in prop::collection::vec(any::<bool>(), 3),
    ) {
        let xe = nd(&shape, &v);
        // y: same data reversed, some axes collapsed to length 1 (broadcast), other chunking.
        let yshape: Vec<usize> = shape.iter().zip(&ybcast).map(|(&d, &b)| if b { 1 } else { d }).collect();
        let yv: Vec<f64> = (0..yshape.iter().product::<usize>()).map(|i| v[v.len() - 1 - i % v.len()] * 0.5).collect();
        let ye = nd(&yshape, &yv);
        let ychunks: Vec<usize> = c2.iter().zip(&yshape).map(|(&c, &d)| c.min(d)).collect();
        let x = Array::from_ndarray(&xe, c1.clone()).unwrap();
        let y = Array::from_ndarray(&ye, ychunks).unwrap();
        let want = eager(&e, &xe, &ye);
        if let Lazy::A(a) = lazy(&e, &x, &y) {
            let g = a.graph().unwrap();
            let fused = g.tasks.iter().filter(|t| t.kernel.as_str() == "tessera.array.fused").count();
            let inputs = g.tasks.len() - fused;
            prop_assert!(fused <= a.chunks().num_chunks());
            prop_assert!(inputs <= x.chunks().num_chunks() + y.chunks().num_chunks() + 2 * a.chunks().num_chunks());
            let got = a.compute_local_as::<f64>().unwrap();
            let want = want.broadcast(IxDyn(got.shape())).unwrap().to_owned();
            prop_assert_eq!(got.shape(), want.shape());
            for (g, w) in got.iter().zip(want.iter()) {
                prop_assert!(same(*g, *w), "{} vs {}", g, w);
            }
        }
    }

    #[test]
    fn reductions_match_eager(
        (shape, v, c1, _c2) in array_case(),
        axes_mask in prop::collection::vec(any::<bool>(), 3),
        kind in 0u8..7,
        split in 2usize..5,
        keep in any::<bool>(),
    ) {
        let xe = nd(&shape, &v);
        let x = Array::from_ndarray(&xe, c1).unwrap();
        let axes: Vec<usize> = (0..shape.len()).filter(|&a| axes_mask[a]).collect();
        let axes = if axes.is_empty() { vec![0] } else { axes };
        let opts = ReduceOptions::axes(axes.iter().map(|&a| a as isize)).keepdims(keep).split_every(split);
        let n = axes.iter().map(|&a| shape[a]).product::<usize>() as f64;
        let (lazy, reference): (Array, Reference) = match kind {
            0 => (x.sum(opts).unwrap(), Box::new(|s: &[f64]| s.iter().sum())),
            1 => (x.mean(opts).unwrap(), Box::new(move |s: &[f64]| s.iter().sum::<f64>() / n)),
            2 => (x.min(opts).unwrap(), Box::new(|s: &[f64]| s.iter().copied().fold(f64::INFINITY, f64::min))),
            3 => (x.max(opts).unwrap(), Box::new(|s: &[f64]| s.iter().copied().fold(f64::NEG_INFINITY, f64::max))),
            4 => (x.var(opts, 0.0).unwrap(), Box::new(move |s: &[f64]| {
                let m = s.iter().sum::<f64>() / n;
                s.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / n
            })),
            5 => (x.prod(opts).unwrap(), Box::new(|s: &[f64]| s.iter().product())),
            _ => (x.count_nonzero(opts).unwrap().astype(DType::F64), Box::new(|s: &[f64]| s.iter().filter(|&&v| v != 0.0).count() as f64)),
        };
        let g = lazy.graph().unwrap();
        prop_assert!(g.tasks.iter().all(|t| t.deps.len() <= split.max(1) || t.kernel.as_str() != "tessera.array.reduce-combine"));
        let got = lazy.compute_local_as::<f64>().unwrap();
        let mut want = reduce_ref(&xe, &axes, reference);
        if keep {
            for &a in &axes {
                want = want.insert_axis(Axis(a));
            }
        }
        prop_assert_eq!(got.shape(), want.shape());
        for (g, w) in got.iter().zip(want.iter()) {
            // Variance: sums of squares reassociate; allow a little more for var.
            let ok = if kind == 4 { (g - w).abs() <= 1e-10 * w.abs().max(1.0) } else { close(*g, *w) };
            prop_assert!(ok, "{} vs {}", g, w);
        }
    }

    #[test]
    fn argmin_argmax_match_eager((shape, v, c1, _c2) in array_case(), axis in 0usize..3, max in any::<bool>()) {
        // Quantise to create ties: the first occurrence must win.
        let v: Vec<f64> = v.iter().map(|x| x.round()).collect();
        let xe = nd(&shape, &v);
        let axis = axis % shape.len();
        let x = Array::from_ndarray(&xe, c1).unwrap();
        let lazy = if max { x.argmax(axis).unwrap() } else { x.argmin(axis).unwrap() };
        let got = lazy.compute_local_as::<i64>().unwrap();
        let want = reduce_ref(&xe, &[axis], |s| {
            let mut best = 0;
            for (i, &x) in s.iter().enumerate() {
                if (max && x > s[best]) || (!max && x < s[best]) {
                    best = i;
                }
            }
            best as f64
        });
        prop_assert_eq!(got.mapv(|i| i as f64), want);
    }

    #[test]
    fn slicing_matches_python_and_culls(
        (shape, v, c1, _c2) in array_case(),
        items in prop::collection::vec((prop::option::of(-9i64..9), prop::option::of(-9i64..9), prop_oneof![-3i64..=-1, 1i64..=3], any::<bool>(), -8i64..8), 3),
    ) {
        let xe = nd(&shape, &v);
        let x = Array::from_ndarray(&xe, c1.clone()).unwrap();
        let mut index = Vec::new();
        let mut picks: Vec<Option<Vec<usize>>> = Vec::new();
        for (a, &(start, stop, step, is_int, i)) in items.iter().take(shape.len()).enumerate() {
            let n = shape[a] as i64;
            if is_int && i >= -n && i < n {
                index.push(IndexItem::Int(i));
                picks.push(Some(vec![(if i < 0 { i + n } else { i }) as usize]));
                continue;
            }
            index.push(IndexItem::slice(start, stop, step));
            let r: Vec<usize> = python_range(start, stop, step, shape[a]);
            picks.push(Some(r));
        }
        let y = x.index(&index).unwrap();
        let mut want = xe.clone();
        for (a, p) in picks.iter().enumerate() {
            want = want.select(Axis(a), p.as_ref().unwrap());
        }
        // Integer-indexed axes are dropped.
        let mut dropped = 0;
        for (a, it) in index.iter().enumerate() {
            if let IndexItem::Int(_) = it {
                want = want.index_axis_move(Axis(a - dropped), 0);
                dropped += 1;
            }
        }
        let got = y.compute_local_as::<f64>().unwrap();
        prop_assert_eq!(got, want);
        // Only chunks holding a selected element are in the graph.
        let touched: HashSet<Vec<usize>> = {
            let per_axis: Vec<Vec<usize>> = picks.iter().enumerate().map(|(a, p)| {
                let mut b: Vec<usize> = p.as_ref().unwrap().iter().map(|&i| i / c1[a]).collect();
                b.sort_unstable();
                b.dedup();
                b
            }).collect();
            let mut acc = vec![vec![]];
            for b in per_axis {
                acc = acc.into_iter().flat_map(|p: Vec<usize>| b.iter().map(move |&i| { let mut q = p.clone(); q.push(i); q })).collect();
            }
            acc.into_iter().collect()
        };
        let g = y.graph().unwrap();
        let consts = g.tasks.iter().filter(|t| t.kernel.as_str() == "tessera.array.chunk").count();
        let empty = picks.iter().any(|p| p.as_ref().unwrap().is_empty());
        if !empty {
            prop_assert_eq!(consts, touched.len());
        }
    }

    #[test]
    fn rechunk_and_elementwise_on_different_chunkings((shape, v, c1, c2) in array_case()) {
        let xe = nd(&shape, &v);
        let a = Array::from_ndarray(&xe, c1).unwrap();
        let b = Array::from_ndarray(&xe, c2.clone()).unwrap();
        let r = a.rechunk(c2).unwrap().compute_local_as::<f64>().unwrap();
        prop_assert_eq!(&r, &xe);
        let s = a.add(&b).unwrap().compute_local_as::<f64>().unwrap();
        prop_assert_eq!(s, xe.mapv(|v| v + v));
    }

    #[test]
    fn integer_arithmetic_follows_python(vals in prop::collection::vec(-50i64..50, 1..20), d in -7i64..7, chunk in 1usize..6) {
        let xe = ArrayD::from_shape_vec(IxDyn(&[vals.len()]), vals.clone()).unwrap();
        let x = Array::from_ndarray(&xe, chunk).unwrap();
        let fd = x.floor_div(d).unwrap().compute_local_as::<i64>().unwrap();
        let md = x.rem(d).unwrap().compute_local_as::<i64>().unwrap();
        for (i, &v) in vals.iter().enumerate() {
            if d == 0 {
                prop_assert_eq!(fd[i], 0);
                prop_assert_eq!(md[i], 0);
            } else {
                prop_assert_eq!(fd[i], v.div_euclid(d) - if d < 0 && v.rem_euclid(d) != 0 { 1 } else { 0 });
                prop_assert_eq!(fd[i] * d + md[i], v);
                prop_assert!(md[i] == 0 || (md[i] < 0) == (d < 0));
            }
        }
        let t = x.div(2).unwrap();
        prop_assert_eq!(t.dtype(), DType::F64);
        let t = t.compute_local_as::<f64>().unwrap();
        for (i, &v) in vals.iter().enumerate() {
            prop_assert_eq!(t[i], v as f64 / 2.0);
        }
    }
}

fn python_range(start: Option<i64>, stop: Option<i64>, step: i64, len: usize) -> Vec<usize> {
    let n = len as i64;
    let (lo, hi) = if step > 0 { (0, n) } else { (-1, n - 1) };
    let fix = |v: Option<i64>, d: i64| match v {
        None => d,
        Some(v) => (if v < 0 { v + n } else { v }).clamp(lo, hi),
    };
    let s = fix(start, if step > 0 { 0 } else { n - 1 });
    let e = fix(stop, if step > 0 { n } else { -1 });
    let mut out = Vec::new();
    let mut i = s;
    while (step > 0 && i < e) || (step < 0 && i > e) {
        out.push(i as usize);
        i += step;
    }
    out
}
