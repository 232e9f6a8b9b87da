//! Overlapping blocks: extended chunks hold the right neighbours and boundary values, trimming
//! undoes the extension, and map_overlap runs a stencil across chunk borders.

use bytes::Bytes;
use ndarray::{ArrayD, IxDyn};
use proptest::prelude::*;
use tessera::array::{decode_chunk, encode_values, Array, BlockArgs, Boundary, DType};
use tessera::runtime::{register_kernel, KernelError};

fn boundary_strategy() -> impl Strategy<Value = Boundary> {
    prop_oneof![
        Just(Boundary::None),
        Just(Boundary::Periodic),
        Just(Boundary::Reflect),
        Just(Boundary::Nearest),
        (-5.0f64..5.0).prop_map(Boundary::Constant),
    ]
}

/// The value an extended position `g` takes on an axis of length `n`; `None`: no value
/// (no extension, or a constant).
fn source(g: i64, n: i64, b: Boundary) -> Option<usize> {
    if (0..n).contains(&g) {
        return Some(g as usize);
    }
    match b {
        Boundary::Periodic => Some(g.rem_euclid(n) as usize),
        Boundary::Reflect => Some(if g < 0 { -g - 1 } else { 2 * n - 1 - g } as usize),
        Boundary::Nearest => Some(g.clamp(0, n - 1) as usize),
        _ => None,
    }
}

fn extension(b: Boundary, block: usize, nblocks: usize, depth: usize) -> (usize, usize) {
    let l = if block > 0 || b != Boundary::None {
        depth
    } else {
        0
    };
    let r = if block + 1 < nblocks || b != Boundary::None {
        depth
    } else {
        0
    };
    (l, r)
}

fn neighbour_sum_kernel() {
    register_kernel("test.neighbour-sum-1d", |ctx, inputs| {
        let a = BlockArgs::decode(ctx.args).map_err(|e| KernelError::new(e.to_string()))?;
        let v = decode_chunk(&inputs[0]).map_err(|e| KernelError::new(e.to_string()))?;
        let x = v.slice::<f64>().ok_or_else(|| KernelError::new("dtype"))?;
        let n = x.len();
        let out: Vec<f64> = (0..n)
            .map(|i| {
                let l = if i > 0 { x[i - 1] } else { 0.0 };
                let r = if i + 1 < n { x[i + 1] } else { 0.0 };
                l + x[i] + r
            })
            .collect();
        encode_values(&a.chunk_shape, &out).map_err(|e| KernelError::new(e.to_string()))
    });
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, rng_seed: proptest::test_runner::RngSeed::Fixed(0x7e55e7a), .. ProptestConfig::default() })]

    #[test]
    fn extended_chunks_hold_neighbours_and_trim_restores(
        n in 2usize..9, m in 2usize..9, c0 in 2usize..5, c1 in 2usize..5,
        d0 in 0usize..3, d1 in 0usize..3, b in boundary_strategy(),
    ) {
        let (c0, c1) = (c0.min(n), c1.min(m));
        let x = ArrayD::from_shape_fn(IxDyn(&[n, m]), |ix| (ix[0] * 10 + ix[1]) as f64);
        let a = Array::from_ndarray(&x, [c0, c1]).unwrap();
        let (d0, d1) = (d0.min(c0).min(n % c0 + if n % c0 == 0 { c0 } else { 0 }), d1.min(c1).min(m % c1 + if m % c1 == 0 { c1 } else { 0 }));
        let o = a.overlap(&[d0, d1], b).unwrap();
        let got = o.compute_local_as::<f64>().unwrap();
        let fill = if let Boundary::Constant(c) = b { c } else { 0.0 };
        let grid = o.chunks().clone();
        let (nb0, nb1) = (a.chunks().blocks(0).len(), a.chunks().blocks(1).len());
        let (s0, s1) = (a.chunks().offsets(0), a.chunks().offsets(1));
        for idx in grid.chunk_indices() {
            let origin = grid.chunk_origin(&idx);
            let cs = grid.chunk_shape(&idx);
            let (l0, _) = extension(b, idx[0], nb0, d0);
            let (l1, _) = extension(b, idx[1], nb1, d1);
            for i in 0..cs[0] {
                for j in 0..cs[1] {
                    let g0 = s0[idx[0]] as i64 - l0 as i64 + i as i64;
                    let g1 = s1[idx[1]] as i64 - l1 as i64 + j as i64;
                    let want = match (source(g0, n as i64, b), source(g1, m as i64, b)) {
                        (Some(p), Some(q)) => x[[p, q]],
                        _ => fill,
                    };
                    prop_assert_eq!(got[[origin[0] + i, origin[1] + j]], want, "chunk {:?} at {},{}", idx, i, j);
                }
            }
        }
        let t = o.trim_overlap(&[d0, d1], b).unwrap();
        prop_assert_eq!(t.chunks(), a.chunks());
        prop_assert_eq!(t.compute_local_as::<f64>().unwrap(), x);
    }

    #[test]
    fn map_overlap_stencil_matches_eager(n in 3usize..20, c in 2usize..6, b in boundary_strategy(), seed in 0u64..100) {
        neighbour_sum_kernel();
        let c = c.min(n);
        let x = Array::random_uniform(&[n], seed, -1.0, 1.0, c).unwrap();
        let xe = x.compute_local_as::<f64>().unwrap();
        let got = x.map_overlap("test.neighbour-sum-1d", Bytes::new(), &[1], b, DType::F64).unwrap();
        prop_assert_eq!(got.chunks(), x.chunks());
        let got = got.compute_local_as::<f64>().unwrap();
        let fill = if let Boundary::Constant(c) = b { c } else { 0.0 };
        let at = |g: i64| match source(g, n as i64, b) { Some(p) => xe[p], None => fill };
        for i in 0..n {
            let want = at(i as i64 - 1) + xe[i] + at(i as i64 + 1);
            prop_assert!((got[i] - want).abs() < 1e-12, "{} {} at {}", got[i], want, i);
        }
    }
}

#[test]
fn depth_larger_than_chunks_is_refused() {
    let a = Array::zeros(&[10], DType::F64, 3).unwrap();
    let e = a.overlap(&[2], Boundary::Periodic).unwrap_err().to_string();
    assert!(e.contains("depth 2 on axis 0"), "{e}");
    assert!(a.overlap(&[1, 1], Boundary::None).is_err());
}
