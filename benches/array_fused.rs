//! Array layer micro-benchmarks, run in-process (no cluster): the fused elementwise program
//! feeding a tree reduction (`sum(ones * 2 + 1)`), and a fused chain over in-memory data.
//! Elements per second are reported as throughput.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tessera::array::{Array, DType, ReduceOptions};

fn fused_sum(c: &mut Criterion) {
    let n = 4000usize;
    let mut g = c.benchmark_group("array");
    g.throughput(Throughput::Elements((n * n) as u64));
    g.sample_size(10);
    g.bench_function("sum(ones*2+1) 4000x4000 chunks 1000", |b| {
        b.iter(|| {
            let a = Array::ones(&[n, n], DType::F64, [1000, 1000]).unwrap();
            let s = ((&a * 2.0).unwrap() + 1.0)
                .unwrap()
                .sum(ReduceOptions::all())
                .unwrap();
            let v = s.compute_local_as::<f64>().unwrap();
            assert_eq!(v.sum(), 3.0 * (n * n) as f64);
        })
    });
    let x = Array::random_uniform(&[n, n], 1, 0.0, 1.0, [1000, 1000]).unwrap();
    let data = x.compute_local().unwrap();
    let a = Array::from_data(&data, [1000, 1000]).unwrap();
    g.bench_function("sum(sqrt(x*2+1)) in-memory 4000x4000", |b| {
        b.iter(|| {
            let y = ((&a * 2.0).unwrap() + 1.0).unwrap().sqrt().unwrap();
            y.sum(ReduceOptions::all())
                .unwrap()
                .compute_local()
                .unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, fused_sum);
criterion_main!(benches);
