//! Shape operations, advanced indexing, scans, matrix products and map_blocks, computed
//! in-process and compared with eager ndarray results.

use bytes::Bytes;
use ndarray::{ArrayD, Axis, IxDyn};
use proptest::prelude::*;
use tessera::array::{decode_chunk, encode_values, Array, ArrayData, BlockArgs, DType};
use tessera::runtime::{register_kernel, KernelError};

fn case() -> impl Strategy<Value = (Vec<usize>, Vec<i64>, Vec<usize>)> {
    prop::collection::vec(1usize..6, 1..=3).prop_flat_map(|shape| {
        let n: usize = shape.iter().product();
        let chunks = shape.iter().map(|&d| 1..=d).collect::<Vec<_>>();
        (Just(shape), prop::collection::vec(-20i64..20, n), chunks)
    })
}

fn nd<T: Clone>(shape: &[usize], v: &[T]) -> ArrayD<T> {
    ArrayD::from_shape_vec(IxDyn(shape), v.to_vec()).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, rng_seed: proptest::test_runner::RngSeed::Fixed(0x7e55e7a), .. ProptestConfig::default() })]

    #[test]
    fn reshape_matches_row_major((shape, v, chunks) in case(), split in 0usize..3) {
        let x = nd(&shape, &v);
        let a = Array::from_ndarray(&x, chunks).unwrap();
        let n = v.len();
        let target: Vec<usize> = match split {
            0 => vec![n],
            1 => vec![1, n],
            _ => {
                let d = (1..=n).rev().find(|d| n % d == 0 && *d <= 3).unwrap_or(1);
                vec![d, n / d]
            }
        };
        let got = a.reshape(&target).unwrap().compute_local_as::<i64>().unwrap();
        prop_assert_eq!(got, nd(&target, &v));
    }

    #[test]
    fn take_and_compress_match((shape, v, chunks) in case(), picks in prop::collection::vec(-30i64..30, 0..8), axis in 0usize..3) {
        let x = nd(&shape, &v);
        let axis = axis % shape.len();
        let len = shape[axis] as i64;
        let picks: Vec<i64> = picks.into_iter().map(|p| p.rem_euclid(2 * len) - len).collect();
        let a = Array::from_ndarray(&x, chunks).unwrap();
        let got = a.take(&picks, axis as isize).unwrap().compute_local_as::<i64>().unwrap();
        let pos: Vec<usize> = picks.iter().map(|&p| if p < 0 { (p + len) as usize } else { p as usize }).collect();
        prop_assert_eq!(got, x.select(Axis(axis), &pos));
        let mask: Vec<bool> = (0..shape[axis]).map(|i| i % 2 == 0).collect();
        let kept: Vec<usize> = (0..shape[axis]).filter(|i| i % 2 == 0).collect();
        prop_assert_eq!(a.compress(&mask, axis as isize).unwrap().compute_local_as::<i64>().unwrap(), x.select(Axis(axis), &kept));
        let m = x.mapv(|e| e > 0);
        let want: Vec<i64> = x.iter().copied().filter(|&e| e > 0).collect();
        let got = a.masked(&m).unwrap().compute_local_as::<i64>().unwrap();
        prop_assert_eq!(got.iter().copied().collect::<Vec<_>>(), want);
    }

    #[test]
    fn cumsum_cumprod_diff_match((shape, v, chunks) in case(), axis in 0usize..3) {
        let v: Vec<i64> = v.iter().map(|e| e % 3).collect();
        let x = nd(&shape, &v);
        let axis = axis % shape.len();
        let a = Array::from_ndarray(&x, chunks).unwrap();
        let mut want = x.clone();
        want.accumulate_axis_inplace(Axis(axis), |&p, c| *c += p);
        prop_assert_eq!(a.cumsum(axis as isize).unwrap().compute_local_as::<i64>().unwrap(), want);
        let mut want = x.clone();
        want.accumulate_axis_inplace(Axis(axis), |&p, c| *c *= p);
        prop_assert_eq!(a.cumprod(axis as isize).unwrap().compute_local_as::<i64>().unwrap(), want);
        let n = shape[axis];
        let hi = x.slice_axis(Axis(axis), ndarray::Slice::from(1..n));
        let lo = x.slice_axis(Axis(axis), ndarray::Slice::from(0..n - 1));
        prop_assert_eq!(a.diff(axis as isize).unwrap().compute_local_as::<i64>().unwrap(), &hi - &lo);
    }

    #[test]
    fn matmul_matches_dot(n in 1usize..7, k in 1usize..7, m in 1usize..7, c in (1usize..4, 1usize..4, 1usize..4)) {
        let a = ndarray::Array2::from_shape_fn((n, k), |(i, j)| (i as f64 - j as f64) * 0.5);
        let b = ndarray::Array2::from_shape_fn((k, m), |(i, j)| (i * m + j) as f64 - 3.0);
        let la = Array::from_ndarray(&a.clone().into_dyn(), [c.0, c.1]).unwrap();
        let lb = Array::from_ndarray(&b.clone().into_dyn(), [c.2, c.0]).unwrap();
        let got = la.matmul(&lb).unwrap().compute_local_as::<f64>().unwrap();
        let want = a.dot(&b).into_dyn();
        for (g, w) in got.iter().zip(want.iter()) {
            prop_assert!((g - w).abs() <= 1e-12 * w.abs().max(1.0), "{} {}", g, w);
        }
        let ia = Array::from_ndarray(&a.mapv(|x| (x * 2.0) as i64).into_dyn(), [c.0, c.1]).unwrap();
        let ib = Array::from_ndarray(&b.mapv(|x| x as i64).into_dyn(), [c.2, c.0]).unwrap();
        let got = ia.matmul(&ib).unwrap().compute_local_as::<i64>().unwrap();
        let want = a.mapv(|x| (x * 2.0) as i64).dot(&b.mapv(|x| x as i64)).into_dyn();
        prop_assert_eq!(got, want);
    }
}

#[test]
fn squeeze_expand_broadcast_stack() {
    let x = ArrayD::from_shape_fn(IxDyn(&[3, 1, 4]), |ix| (ix[0] * 4 + ix[2]) as f32);
    let a = Array::from_ndarray(&x, [2, 1, 3]).unwrap();
    let s = a.squeeze(&[]).unwrap();
    assert_eq!(s.shape(), &[3, 4]);
    assert_eq!(
        s.compute_local_as::<f32>().unwrap(),
        x.clone().remove_axis(Axis(1))
    );
    let e = s.expand_dims(0).unwrap();
    assert_eq!(e.shape(), &[1, 3, 4]);
    assert_eq!(
        e.compute_local_as::<f32>().unwrap(),
        x.clone().remove_axis(Axis(1)).insert_axis(Axis(0))
    );
    let b = a.broadcast_to(&[2, 4, 1, 4]).unwrap_err();
    assert!(b.to_string().contains("broadcast"), "{b}");
    let b = a.broadcast_to(&[2, 3, 6, 4]).unwrap();
    let got = b.compute_local_as::<f32>().unwrap();
    assert_eq!(got, x.broadcast(IxDyn(&[2, 3, 6, 4])).unwrap().to_owned());
    let st = Array::stack(&[s.clone(), s.clone()], 1).unwrap();
    assert_eq!(st.shape(), &[3, 2, 4]);
    let sq = x.clone().remove_axis(Axis(1));
    let want = ndarray::stack(Axis(1), &[sq.view(), sq.view()]).unwrap();
    assert_eq!(st.compute_local_as::<f32>().unwrap(), want);
    assert!(a.squeeze(&[0]).is_err());
}

#[test]
fn map_blocks_sees_block_positions() {
    register_kernel("test.block-origin-plus", |ctx, inputs| {
        let a = BlockArgs::decode(ctx.args).map_err(|e| KernelError::new(e.to_string()))?;
        let v = decode_chunk(&inputs[0]).map_err(|e| KernelError::new(e.to_string()))?;
        let w = decode_chunk(&inputs[1]).map_err(|e| KernelError::new(e.to_string()))?;
        let xs = v.slice::<i64>().ok_or_else(|| KernelError::new("dtype"))?;
        let ys = w.slice::<i64>().ok_or_else(|| KernelError::new("dtype"))?;
        let off = a.origin[0] as i64 * 100;
        // The second input is broadcast along axis 1: one value per row.
        let cols = a.chunk_shape[1];
        let out: Vec<i64> = xs
            .iter()
            .enumerate()
            .map(|(i, x)| x + ys[i / cols] + off)
            .collect();
        encode_values(&a.chunk_shape, &out).map_err(|e| KernelError::new(e.to_string()))
    });
    let x = ArrayD::from_shape_fn(IxDyn(&[5, 4]), |ix| (ix[0] * 4 + ix[1]) as i64);
    let y = ArrayD::from_shape_fn(IxDyn(&[5, 1]), |ix| ix[0] as i64 * 1000);
    let a = Array::from_ndarray(&x, [2, 3]).unwrap();
    let b = Array::from_ndarray(&y, [3, 1]).unwrap();
    let m = Array::map_blocks(
        "test.block-origin-plus",
        Bytes::new(),
        &[&a, &b],
        DType::I64,
    )
    .unwrap();
    let got = m.compute_local_as::<i64>().unwrap();
    // Chunks were re-cut to the common refinement of [2, 2, 1] and [3, 2] along axis 0.
    assert_eq!(m.chunks().blocks(0), &[2, 1, 1, 1]);
    let origins = [0i64, 0, 2, 3, 4];
    let want = ArrayD::from_shape_fn(IxDyn(&[5, 4]), |ix| {
        x[[ix[0], ix[1]]] + y[[ix[0], 0]] + origins[ix[0]] * 100
    });
    assert_eq!(got, want);
}

#[test]
fn failing_kernels_report_the_task() {
    let a = Array::from_kernel("no.such.kernel", Bytes::new(), &[4], DType::F64, 2).unwrap();
    let e = a.compute_local().unwrap_err().to_string();
    assert!(e.contains("no kernel named no.such.kernel"), "{e}");
    let b = Array::from_data(&ArrayData::F64(ArrayD::zeros(IxDyn(&[2, 2]))), 1).unwrap();
    assert!(b
        .matmul(&Array::ones(&[3, 2], DType::F64, 2).unwrap())
        .is_err());
}
