//! Arrays computed on a local cluster (thread workers over TCP) give the same results as the
//! in-process executor, whatever the number of workers; persisted arrays stay on the workers.

use ndarray::{ArrayD, IxDyn};
use tessera::array::{Array, DType, IndexItem, ReduceOptions};
use tessera::deploy::{LocalCluster, LocalClusterConfig};

fn cluster(workers: usize) -> LocalCluster {
    LocalCluster::start(LocalClusterConfig::new(workers, 2)).expect("local cluster")
}

fn expression() -> Array {
    let x = Array::random_normal(&[60, 50], 7, 1.0, 2.0, [16, 20]).unwrap();
    let data = ArrayD::from_shape_fn(IxDyn(&[60, 50]), |ix| (ix[0] as f64 - ix[1] as f64) * 0.25);
    let y = Array::from_ndarray(&data, [25, 25]).unwrap();
    let z = ((&x * 2.0).unwrap() + &y).unwrap().abs().unwrap();
    z.index(&[IndexItem::slice(Some(55), Some(3), -2), IndexItem::full()])
        .unwrap()
}

#[test]
fn cluster_results_equal_local_results_for_any_worker_count() {
    let e = expression();
    let local = e.compute_local().unwrap();
    let sum_local = e
        .sum(ReduceOptions::from(1))
        .unwrap()
        .compute_local()
        .unwrap();
    for workers in [1, 3] {
        let c = cluster(workers);
        let client = c.client().unwrap();
        assert_eq!(e.compute(&client).unwrap(), local, "{workers} workers");
        let s = e.sum(ReduceOptions::from(1).split_every(2)).unwrap();
        // A different tree shape (split_every) may reassociate; the same graph must not.
        let again = e
            .sum(ReduceOptions::from(1))
            .unwrap()
            .compute(&client)
            .unwrap();
        assert_eq!(again, sum_local, "{workers} workers");
        let tree = s.compute_as::<f64>(&client).unwrap();
        let want = sum_local.clone().into_typed::<f64>().unwrap();
        for (a, b) in tree.iter().zip(want.iter()) {
            assert!((a - b).abs() <= 1e-12 * b.abs().max(1.0), "{a} {b}");
        }
        c.shutdown();
    }
}

#[test]
fn persisted_arrays_gather_later() {
    let c = cluster(2);
    let client = c.client().unwrap();
    let a = Array::arange(0, 100, 1, DType::I64, 7)
        .unwrap()
        .cumsum(0)
        .unwrap();
    let p = a.persist(&client).unwrap();
    assert_eq!(p.futures().len(), a.chunks().num_chunks());
    let got = p.gather(&client).unwrap().into_typed::<i64>().unwrap();
    let want: Vec<i64> = (0..100)
        .scan(0, |s, x| {
            *s += x;
            Some(*s)
        })
        .collect();
    assert_eq!(got.as_slice().unwrap(), &want[..]);
    c.shutdown();
}

#[test]
fn kernel_errors_reach_the_client() {
    let c = cluster(1);
    let client = c.client().unwrap();
    let a = Array::from_kernel(
        "array-cluster.missing",
        bytes::Bytes::new(),
        &[4],
        DType::F64,
        2,
    )
    .unwrap();
    let e = a.compute(&client).unwrap_err().to_string();
    assert!(e.contains("array-cluster.missing"), "{e}");
    c.shutdown();
}

#[test]
fn a_graph_submitted_in_many_small_parts_gives_the_same_result() {
    let c = cluster(2);
    let client = c.client().unwrap();
    let mut x = Array::random_uniform(&[64, 64], 3, 0.0, 1.0, 8).unwrap();
    for _ in 0..60 {
        let m = x.mean(ReduceOptions::from(0)).unwrap();
        x = x.sub(&m).unwrap();
    }
    let total = x.sum(ReduceOptions::all()).unwrap();
    let g = total.graph().unwrap();
    let keys: Vec<_> = g.outputs.iter().map(|(_, k)| k.clone()).collect();
    let n_tasks = g.tasks.len();
    // About 16 KiB per part: dozens of submissions, each reading keys of earlier ones.
    let futures = client
        .submit_graph_in_parts(g.tasks, &keys, 16 << 10)
        .expect("submitted");
    let got = client.gather(&futures).expect("gathered");
    let local = total.compute_local().unwrap();
    let want = tessera::array::encode_values(&[], &local.to_f64_vec()).unwrap();
    assert!(n_tasks > 1000, "{n_tasks} tasks");
    let a = tessera::array::decode_chunk(&got[0]).unwrap();
    let b = tessera::array::decode_chunk(&want).unwrap();
    assert_eq!(a.slice::<f64>(), b.slice::<f64>());
    c.shutdown();
}
