//! The array kernels never panic on malformed arguments or inputs: they return errors that
//! name the task.

use std::panic::{catch_unwind, AssertUnwindSafe};

use bytes::Bytes;
use proptest::prelude::*;
use tessera::array::kernels::names;
use tessera::array::{encode_chunk, Array, ArrayData, DType};
use tessera::core::TaskKey;
use tessera::runtime::{lookup_kernel, KernelContext};

const KERNELS: [&str; 12] = [
    names::CHUNK,
    names::FUSED,
    names::REDUCE_PARTIAL,
    names::REDUCE_COMBINE,
    names::SLICE,
    names::ASSEMBLE,
    names::PERMUTE,
    names::TAKE,
    names::FLAT_ASSEMBLE,
    names::SCAN,
    names::MATMUL,
    names::OVERLAP,
];

fn valid_chunk(k: u8) -> Bytes {
    let a = ndarray::ArrayD::from_shape_fn(ndarray::IxDyn(&[2, 3]), |ix| {
        (ix[0] + ix[1] + k as usize) as f64
    });
    encode_chunk(&ArrayData::F64(a))
}

/// Real arguments of every kernel, taken from lowered graphs.
fn real_args() -> Vec<(String, Bytes)> {
    let x =
        Array::from_ndarray(&ndarray::ArrayD::<f64>::zeros(ndarray::IxDyn(&[4, 4])), 2).unwrap();
    let graphs = [
        x.sum(0).unwrap(),
        (&x + 1.0).unwrap(),
        x.t(),
        x.take(&[1, 0], 1).unwrap(),
        x.reshape(&[16]).unwrap(),
        x.cumsum(0).unwrap(),
        x.matmul(&x).unwrap(),
        x.overlap(&[1, 1], tessera::array::Boundary::Periodic)
            .unwrap(),
        x.rechunk(3).unwrap(),
        x.index(&[tessera::array::IndexItem::Int(1)]).unwrap(),
    ];
    graphs
        .iter()
        .flat_map(|a| a.graph().unwrap().tasks)
        .map(|t| (t.kernel.as_str().to_string(), t.args))
        .collect()
}

fn run(kernel: &str, args: &[u8], inputs: &[Bytes]) -> Result<(), String> {
    let k = lookup_kernel(kernel).ok_or("missing kernel")?;
    let key = TaskKey::new("fuzz-1");
    let ctx = KernelContext::new(&key, args);
    match catch_unwind(AssertUnwindSafe(|| k(&ctx, inputs))) {
        Err(_) => Err(format!("{kernel} panicked")),
        Ok(Err(e)) => {
            assert!(e.to_string().contains("fuzz-1"), "{e}");
            Ok(())
        }
        Ok(Ok(_)) => Ok(()),
    }
}

#[test]
fn every_kernel_is_installed() {
    for k in KERNELS {
        assert!(lookup_kernel(k).is_some(), "{k}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, rng_seed: proptest::test_runner::RngSeed::Fixed(0x7e55e7a), .. ProptestConfig::default() })]

    #[test]
    fn random_arguments_and_inputs_never_panic(
        kernel in 0usize..KERNELS.len(),
        args in prop::collection::vec(any::<u8>(), 0..64),
        inputs in prop::collection::vec(prop_oneof![
            prop::collection::vec(any::<u8>(), 0..80).prop_map(Bytes::from),
            (0u8..4).prop_map(valid_chunk),
        ], 0..4),
    ) {
        prop_assert!(run(KERNELS[kernel], &args, &inputs).is_ok());
    }

    #[test]
    fn real_arguments_with_wrong_inputs_never_panic(
        pick in any::<prop::sample::Index>(),
        flip in any::<prop::sample::Index>(),
        n in 0usize..4,
        garbage in prop::collection::vec(any::<u8>(), 0..80),
    ) {
        let all = real_args();
        let (kernel, args) = &all[pick.index(all.len())];
        // Inputs: valid chunks of the wrong shape, or garbage.
        let inputs: Vec<Bytes> = (0..n).map(|i| if i % 2 == 0 { valid_chunk(i as u8) } else { Bytes::from(garbage.clone()) }).collect();
        prop_assert!(run(kernel, args, &inputs).is_ok());
        // Arguments with one byte changed.
        let mut bad = args.to_vec();
        if !bad.is_empty() {
            let i = flip.index(bad.len());
            bad[i] ^= 0x5a;
        }
        prop_assert!(run(kernel, &bad, &inputs).is_ok());
    }
}

#[test]
fn absurd_chunk_sizes_are_refused() {
    let e = tessera::array::ChunkWriter::new(DType::F64, &[1 << 30, 1 << 30])
        .err()
        .unwrap();
    assert!(e.to_string().contains("exceeds"), "{e}");
}
