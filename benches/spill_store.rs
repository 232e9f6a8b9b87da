//! Spill throughput of the chunk store: one-file-per-chunk vs append-only log, small vs large
//! chunks, LZ4 vs raw on compressible (zeros) and incompressible (random f64) data, and a
//! 1 GiB spill with and without `syncfs` to compare with `dd`.
//!
//! Run with e.g. `cargo bench --bench spill_store -- --warm-up-time 1 --measurement-time 5`.
//! Set `TESSERA_BENCH_DIR` to bench another directory than `$TMPDIR`.

use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use tessera::core::TaskKey;
use tessera::store::{ChunkStore, Compression, SpillLayout, StoreConfig};

fn bench_dir() -> PathBuf {
    std::env::var_os("TESSERA_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
}

fn random_f64(bytes: usize, seed: u64) -> Bytes {
    let mut x = seed | 1;
    let mut v = Vec::with_capacity(bytes);
    while v.len() < bytes {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&((x >> 11) as f64 * 1e-3).to_le_bytes());
    }
    v.truncate(bytes);
    Bytes::from(v)
}

fn store(layout: SpillLayout, compression: Compression) -> ChunkStore {
    ChunkStore::open(StoreConfig {
        local_directory: bench_dir(),
        max_spill: None,
        compression,
        layout,
    })
    .expect("spill directory")
}

fn syncfs(store: &ChunkStore) {
    let dir = std::fs::File::open(store.directory()).expect("open spill dir");
    // SAFETY: syncfs on a valid descriptor.
    unsafe { libc::syncfs(dir.as_raw_fd()) };
}

/// Time spilling `chunks` (put before, removed after, both untimed).
fn spill_time(store: &ChunkStore, chunks: &[Bytes], sync: bool) -> Duration {
    let keys: Vec<TaskKey> = (0..chunks.len())
        .map(|i| TaskKey::new(format!("c{i}")))
        .collect();
    for (k, c) in keys.iter().zip(chunks) {
        store.put(k.clone(), c.clone());
    }
    let start = Instant::now();
    let report = store.spill(&keys);
    if sync {
        syncfs(store);
    }
    let elapsed = start.elapsed();
    assert_eq!(report.spilled, chunks.len());
    for k in &keys {
        store.remove(k);
    }
    store.drain_events();
    elapsed
}

fn layouts(c: &mut Criterion) {
    let mut group = c.benchmark_group("spill_layout");
    group.sample_size(10);
    let total = 64 << 20;
    for chunk in [16 << 10, 256 << 10, 4 << 20] {
        let chunks: Vec<Bytes> = (0..total / chunk)
            .map(|i| random_f64(chunk, i as u64 + 1))
            .collect();
        group.throughput(Throughput::Bytes(total as u64));
        for layout in [SpillLayout::FilePerChunk, SpillLayout::AppendLog] {
            let s = store(layout, Compression::Off);
            group.bench_with_input(
                BenchmarkId::new(format!("{layout:?}"), format!("{}KiB", chunk >> 10)),
                &chunks,
                |b, chunks| b.iter_custom(|n| (0..n).map(|_| spill_time(&s, chunks, false)).sum()),
            );
        }
    }
    group.finish();
}

fn read_back(c: &mut Criterion) {
    let mut group = c.benchmark_group("read_spilled");
    group.sample_size(10);
    let total = 64 << 20;
    let chunk = 256 << 10;
    let chunks: Vec<Bytes> = (0..total / chunk)
        .map(|i| random_f64(chunk, i as u64 + 1))
        .collect();
    let keys: Vec<TaskKey> = (0..chunks.len())
        .map(|i| TaskKey::new(format!("c{i}")))
        .collect();
    group.throughput(Throughput::Bytes(total as u64));
    for layout in [SpillLayout::FilePerChunk, SpillLayout::AppendLog] {
        let s = store(layout, Compression::Off);
        for (k, c) in keys.iter().zip(&chunks) {
            s.put(k.clone(), c.clone());
        }
        s.spill(&keys);
        group.bench_function(BenchmarkId::new(format!("{layout:?}"), "256KiB"), |b| {
            b.iter(|| {
                keys.iter()
                    .map(|k| s.read(k).map(|b| b.len()).unwrap_or(0))
                    .sum::<usize>()
            })
        });
    }
    group.finish();
}

fn compression(c: &mut Criterion) {
    let mut group = c.benchmark_group("spill_compression");
    group.sample_size(10);
    let total = 64 << 20;
    let chunk = 4 << 20;
    let zeros: Vec<Bytes> = (0..total / chunk)
        .map(|_| Bytes::from(vec![0u8; chunk]))
        .collect();
    let random: Vec<Bytes> = (0..total / chunk)
        .map(|i| random_f64(chunk, i as u64 + 1))
        .collect();
    group.throughput(Throughput::Bytes(total as u64));
    for (data_name, data) in [("zeros", &zeros), ("random_f64", &random)] {
        for compression in [Compression::Off, Compression::Lz4] {
            let s = store(SpillLayout::AppendLog, compression);
            group.bench_with_input(
                BenchmarkId::new(format!("{compression:?}"), data_name),
                data,
                |b, chunks| b.iter_custom(|n| (0..n).map(|_| spill_time(&s, chunks, false)).sum()),
            );
        }
    }
    group.finish();
}

/// 1 GiB in 4 MiB random chunks: compare with `dd bs=1M count=1024 conv=fdatasync`.
fn one_gib(c: &mut Criterion) {
    let mut group = c.benchmark_group("spill_1GiB");
    group.sample_size(10);
    let total = 1 << 30;
    let chunk = 4 << 20;
    let chunks: Vec<Bytes> = (0..total / chunk)
        .map(|i| random_f64(chunk, i as u64 + 1))
        .collect();
    group.throughput(Throughput::Bytes(total as u64));
    let s = store(SpillLayout::AppendLog, Compression::Lz4);
    for sync in [false, true] {
        let name = if sync { "spill+syncfs" } else { "spill" };
        group.bench_function(name, |b| {
            b.iter_custom(|n| (0..n).map(|_| spill_time(&s, &chunks, sync)).sum())
        });
    }
    group.finish();
}

criterion_group!(benches, layouts, read_back, compression, one_gib);
criterion_main!(benches);
