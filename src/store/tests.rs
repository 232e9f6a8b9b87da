//! Tests of the chunk store against real files in temporary directories.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;

use super::*;
use crate::core::memory::{MemoryAction, MemoryConfig, MemoryEvent, MemoryManager, SpillFailure};
use crate::core::TaskKey;

fn k(name: &str) -> TaskKey {
    TaskKey::new(name)
}

fn open(
    parent: &Path,
    layout: SpillLayout,
    compression: Compression,
    max_spill: Option<u64>,
) -> ChunkStore {
    ChunkStore::open(StoreConfig {
        local_directory: parent.to_path_buf(),
        max_spill,
        compression,
        layout,
    })
    .unwrap()
}

/// Deterministic pseudo-random doubles (incompressible).
fn random_f64_bytes(n: usize, seed: u64) -> Bytes {
    let mut x = seed | 1;
    let mut v = Vec::with_capacity(n * 8);
    for _ in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&((x >> 11) as f64 * 1e-3).to_le_bytes());
    }
    Bytes::from(v)
}

/// Bytes a direct-I/O batch of `n` payload bytes takes on disk.
fn padded(n: u64) -> u64 {
    n.div_ceil(4096) * 4096
}

fn files_in(dir: &Path) -> usize {
    std::fs::read_dir(dir).unwrap().count()
}

#[test]
fn put_spill_get_round_trips_exactly_in_every_configuration() {
    for layout in [
        SpillLayout::AppendLog,
        SpillLayout::AppendLogBuffered,
        SpillLayout::FilePerChunk,
    ] {
        for compression in [Compression::Off, Compression::Lz4] {
            let parent = tempfile::tempdir().unwrap();
            let store = open(parent.path(), layout, compression, None);
            let values = [
                ("rand", random_f64_bytes(50_000, 7)),
                ("zeros", Bytes::from(vec![0u8; 300_000])),
                ("small", Bytes::from_static(b"abc")),
                ("empty", Bytes::new()),
            ];
            for (name, v) in &values {
                store.put(k(name), v.clone());
            }
            let keys: Vec<TaskKey> = values.iter().map(|(n, _)| k(n)).collect();
            let report = store.spill(&keys);
            assert_eq!(
                (report.spilled, report.failed),
                (4, 0),
                "{layout:?} {compression:?}"
            );
            let m = store.metrics();
            assert_eq!(
                (m.memory_chunks, m.spilled_chunks, m.memory_bytes),
                (0, 4, 0)
            );
            assert_eq!(
                m.compressed_chunks,
                u64::from(compression == Compression::Lz4)
            );
            if store.spills_with_direct_io() {
                // Batches end on a block boundary.
                assert_eq!(m.disk_bytes, padded(report.bytes_written), "{layout:?}");
            } else {
                assert!(m.disk_bytes > 0 && m.disk_bytes == report.bytes_written);
            }
            // A peer read leaves the chunk on disk; get() brings it back.
            for (name, v) in &values {
                assert_eq!(&store.read(&k(name)).unwrap(), v);
                assert_eq!(store.residency(&k(name)), Some(Residency::Disk));
                assert_eq!(&store.get(&k(name)).unwrap(), v);
                assert_eq!(store.residency(&k(name)), Some(Residency::Memory));
            }
            let m = store.metrics();
            assert_eq!(
                (m.spilled_chunks, m.unspill_count, m.disk_bytes),
                (0, 4, 0),
                "{layout:?}"
            );
        }
    }
}

#[test]
fn events_describe_every_change() {
    let parent = tempfile::tempdir().unwrap();
    let store = open(
        parent.path(),
        SpillLayout::AppendLog,
        Compression::Off,
        None,
    );
    store.put(k("a"), Bytes::from(vec![1u8; 10]));
    store.spill(&[k("a"), k("missing")]);
    store.get(&k("a")).unwrap();
    store.get(&k("a")).unwrap();
    assert!(store.remove(&k("a")));
    assert!(!store.remove(&k("a")));
    assert!(matches!(store.get(&k("a")), Err(StoreError::Missing(_))));
    assert_eq!(
        store.drain_events(),
        vec![
            MemoryEvent::Stored {
                key: k("a"),
                nbytes: 10
            },
            MemoryEvent::Spilled {
                key: k("a"),
                nbytes_on_disk: 10
            },
            MemoryEvent::Unspilled { key: k("a") },
            MemoryEvent::Accessed { key: k("a") },
            MemoryEvent::Removed { key: k("a") },
        ]
    );
    assert!(store.drain_events().is_empty());
}

#[test]
fn gets_are_served_while_a_spill_write_is_in_progress() {
    let parent = tempfile::tempdir().unwrap();
    let store = Arc::new(open(
        parent.path(),
        SpillLayout::AppendLog,
        Compression::Off,
        None,
    ));
    let spilled = random_f64_bytes(10_000, 1);
    let other = random_f64_bytes(10_000, 2);
    store.put(k("spilled"), spilled.clone());
    store.put(k("other"), other.clone());
    // Hold the backend as a slow disk write would.
    let backend = store.hold_backend();
    let spiller = {
        let store = Arc::clone(&store);
        std::thread::spawn(move || store.spill(&[k("spilled")]))
    };
    // The spill claims its chunk before it waits for the backend.
    while store.residency(&k("spilled")) != Some(Residency::Spilling) {
        std::thread::yield_now();
    }
    assert_eq!(store.get(&k("other")).unwrap(), other);
    assert_eq!(store.get(&k("spilled")).unwrap(), spilled);
    assert_eq!(store.read(&k("spilled")).unwrap(), spilled);
    assert!(!spiller.is_finished());
    drop(backend);
    assert_eq!(spiller.join().unwrap().spilled, 1);
    assert_eq!(store.residency(&k("spilled")), Some(Residency::Disk));
    assert_eq!(store.get(&k("spilled")).unwrap(), spilled);
}

#[test]
fn replacing_or_removing_during_a_spill_keeps_the_new_state() {
    let parent = tempfile::tempdir().unwrap();
    let store = Arc::new(open(
        parent.path(),
        SpillLayout::AppendLog,
        Compression::Off,
        None,
    ));
    store.put(k("a"), Bytes::from(vec![1u8; 100]));
    store.put(k("b"), Bytes::from(vec![2u8; 100]));
    let backend = store.hold_backend();
    let spiller = {
        let store = Arc::clone(&store);
        std::thread::spawn(move || store.spill(&[k("a"), k("b")]))
    };
    while store.residency(&k("b")) != Some(Residency::Spilling) {
        std::thread::yield_now();
    }
    store.put(k("a"), Bytes::from(vec![9u8; 50]));
    assert!(store.remove(&k("b")));
    drop(backend);
    let report = spiller.join().unwrap();
    assert_eq!(report.spilled, 0);
    assert_eq!(store.get(&k("a")).unwrap(), Bytes::from(vec![9u8; 50]));
    assert!(!store.contains(&k("b")));
    let m = store.metrics();
    assert_eq!((m.memory_bytes, m.spilled_chunks, m.disk_bytes), (50, 0, 0));
}

#[test]
fn max_spill_cap_keeps_chunks_in_memory() {
    let parent = tempfile::tempdir().unwrap();
    let store = open(
        parent.path(),
        SpillLayout::AppendLog,
        Compression::Off,
        Some(25_000),
    );
    for i in 0..4 {
        store.put(k(&format!("c{i}")), random_f64_bytes(1_000, i + 1)); // 8000 B each
    }
    store.drain_events();
    let keys: Vec<TaskKey> = (0..4).map(|i| k(&format!("c{i}"))).collect();
    let report = store.spill(&keys);
    assert_eq!((report.spilled, report.failed), (3, 1));
    assert_eq!(store.residency(&k("c3")), Some(Residency::Memory));
    assert_eq!(store.get(&k("c3")).unwrap(), random_f64_bytes(1_000, 4));
    let failures: Vec<_> = store
        .drain_events()
        .into_iter()
        .filter(|e| {
            matches!(
                e,
                MemoryEvent::SpillFailed {
                    reason: SpillFailure::CapReached { max_spill: 25_000 },
                    ..
                }
            )
        })
        .collect();
    assert_eq!(failures.len(), 1);
    // Freeing a spilled chunk makes room again.
    store.remove(&k("c0"));
    assert_eq!(store.spill(&[k("c3")]).spilled, 1);
}

/// A real full filesystem: a 1 MiB tmpfs mounted for the test. Mounting needs root (or
/// CAP_SYS_ADMIN); where that is refused the same assertions run against a `max_spill` cap of
/// the same size, and the test says so on stderr.
#[test]
fn full_disk_keeps_chunks_in_memory() {
    let parent = tempfile::tempdir().unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(parent.path())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let cap = if mounted {
        None
    } else {
        eprintln!("mount of a 1 MiB tmpfs not permitted: testing ENOSPC via a 1 MiB max_spill cap");
        Some(1 << 20)
    };
    let result = std::panic::catch_unwind(|| {
        let store = open(parent.path(), SpillLayout::AppendLog, Compression::Off, cap);
        let values: Vec<Bytes> = (0..6).map(|i| random_f64_bytes(32_768, i + 11)).collect(); // 256 KiB
        let keys: Vec<TaskKey> = (0..6).map(|i| k(&format!("c{i}"))).collect();
        for (key, v) in keys.iter().zip(&values) {
            store.put(key.clone(), v.clone());
        }
        store.drain_events();
        let mut failures = Vec::new();
        for key in &keys {
            store.spill(std::slice::from_ref(key));
            failures.extend(store.drain_events().into_iter().filter_map(|e| match e {
                MemoryEvent::SpillFailed { reason, .. } => Some(reason),
                _ => None,
            }));
        }
        assert!(!failures.is_empty(), "a 1 MiB disk cannot take 1.5 MiB");
        if mounted {
            assert!(
                matches!(&failures[0], SpillFailure::NoSpace { message } if message.contains("No space")),
                "{failures:?}"
            );
        } else {
            assert!(matches!(failures[0], SpillFailure::CapReached { .. }));
        }
        // Nothing is lost: every chunk reads back exactly, from memory or disk.
        for (key, v) in keys.iter().zip(&values) {
            assert_eq!(&store.read(key).unwrap(), v);
        }
        assert!(store.metrics().memory_chunks >= failures.len());
        drop(store);
    });
    if mounted {
        let _ = std::process::Command::new("umount")
            .arg(parent.path())
            .status();
    }
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

#[test]
fn drop_removes_the_spill_directory() {
    let parent = tempfile::tempdir().unwrap();
    let store = open(
        parent.path(),
        SpillLayout::FilePerChunk,
        Compression::Off,
        None,
    );
    store.put(k("a"), Bytes::from(vec![5u8; 1000]));
    store.spill(&[k("a")]);
    let dir = store.directory().to_path_buf();
    assert!(dir.starts_with(parent.path()));
    assert_eq!(files_in(&dir), 2, "lock file + one chunk file");
    drop(store);
    assert!(!dir.exists());
    assert_eq!(files_in(parent.path()), 0);
}

#[test]
fn log_segments_are_reclaimed_and_compacted() {
    for layout in [SpillLayout::AppendLog, SpillLayout::AppendLogBuffered] {
        log_segments_are_reclaimed_and_compacted_with(layout);
    }
}

fn log_segments_are_reclaimed_and_compacted_with(layout: SpillLayout) {
    let parent = tempfile::tempdir().unwrap();
    let store = open(parent.path(), layout, Compression::Off, None);
    // Each spill call is one batch; direct I/O pads a batch to a whole block.
    let batch = |n: u64| {
        if store.spills_with_direct_io() {
            padded(n)
        } else {
            n
        }
    };
    let value = |i: u64| random_f64_bytes(1_000, i + 100);
    for i in 0..8 {
        store.put(k(&format!("c{i}")), value(i));
    }
    let keys: Vec<TaskKey> = (0..8).map(|i| k(&format!("c{i}"))).collect();
    store.spill(&keys[..4]);
    store.seal_active_segment();
    store.spill(&keys[4..]);
    store.seal_active_segment();
    assert_eq!(files_in(store.directory()), 3, "lock + two segments");
    // All of segment 0 gone: its file is unlinked.
    for key in &keys[..4] {
        store.remove(key);
    }
    assert_eq!(files_in(store.directory()), 2);
    // Segment 1 three-quarters dead: the next spill compacts it into a new segment.
    for key in &keys[4..7] {
        store.remove(key);
    }
    assert_eq!(store.metrics().disk_bytes, batch(4 * 8000));
    store.put(k("new"), value(50));
    store.spill(&[k("new")]);
    assert_eq!(files_in(store.directory()), 2, "lock + the active segment");
    assert_eq!(store.metrics().disk_bytes, 2 * batch(8000));
    assert_eq!(store.get(&k("c7")).unwrap(), value(7));
    assert_eq!(store.get(&k("new")).unwrap(), value(50));
}

#[test]
fn a_mostly_dead_active_segment_is_compacted() {
    for layout in [SpillLayout::AppendLog, SpillLayout::AppendLogBuffered] {
        a_mostly_dead_active_segment_is_compacted_with(layout);
    }
}

fn a_mostly_dead_active_segment_is_compacted_with(layout: SpillLayout) {
    let parent = tempfile::tempdir().unwrap();
    let store = open(parent.path(), layout, Compression::Off, None);
    let tail = if store.spills_with_direct_io() {
        4096 // the tiny chunk's batch is padded to a block
    } else {
        10
    };
    let big = |i: u64| random_f64_bytes(1 << 20, i + 1); // 8 MiB each
    let keys: Vec<TaskKey> = (0..3).map(|i| k(&format!("c{i}"))).collect();
    for (i, key) in keys.iter().enumerate() {
        store.put(key.clone(), big(i as u64));
    }
    store.spill(&keys);
    store.remove(&keys[0]);
    store.remove(&keys[1]);
    let m = store.metrics();
    assert_eq!((m.disk_bytes, m.live_disk_bytes), (24 << 20, 8 << 20));
    store.put(k("tiny"), Bytes::from_static(b"0123456789"));
    store.spill(&[k("tiny")]);
    let m = store.metrics();
    assert_eq!(
        (m.disk_bytes, m.live_disk_bytes),
        ((8 << 20) + tail, (8 << 20) + 10)
    );
    assert_eq!(
        files_in(store.directory()),
        2,
        "lock + the new active segment"
    );
    assert_eq!(store.get(&keys[2]).unwrap(), big(2));
    assert_eq!(
        store.get(&k("tiny")).unwrap(),
        Bytes::from_static(b"0123456789")
    );
}

#[test]
fn spill_writer_and_memory_manager_work_together() {
    let parent = tempfile::tempdir().unwrap();
    let store = Arc::new(open(
        parent.path(),
        SpillLayout::AppendLog,
        Compression::Lz4,
        None,
    ));
    let (tx, rx) = std::sync::mpsc::channel();
    let writer = SpillWriter::start(Arc::clone(&store), move |r| {
        let _ = tx.send(r);
    })
    .unwrap();
    let mut mm = MemoryManager::new(MemoryConfig {
        limit: Some(100_000),
        ..MemoryConfig::default()
    })
    .unwrap();
    let now = std::time::Instant::now();
    let mut spill_jobs = 0;
    for i in 0..20u64 {
        store.put(k(&format!("c{i}")), random_f64_bytes(1_000, i + 1)); // 8000 B each
                                                                        // The worker's loop: store events into the manager, spill actions to the writer,
                                                                        // completions back as events.
        let mut events = store.drain_events();
        while !events.is_empty() {
            for ev in events.drain(..) {
                mm.handle(now, ev);
            }
            for action in mm.drain_actions().collect::<Vec<_>>() {
                if let MemoryAction::Spill { keys, .. } = action {
                    writer.submit(keys).unwrap();
                    rx.recv().unwrap();
                    spill_jobs += 1;
                    events.extend(store.drain_events());
                }
            }
        }
    }
    assert!(spill_jobs >= 10, "{spill_jobs}");
    assert!(!mm.is_paused());
    writer.shutdown();
    let (mm_m, st_m) = (mm.metrics(), store.metrics());
    assert!(mm_m.memory_bytes <= 60_000, "{mm_m:?}");
    assert_eq!(mm_m.memory_bytes, st_m.memory_bytes);
    assert_eq!(mm_m.spilled_chunks, st_m.spilled_chunks);
    assert_eq!(mm_m.spilled_disk_bytes, st_m.live_disk_bytes);
    // The coldest chunks went to disk.
    assert_eq!(store.residency(&k("c0")), Some(Residency::Disk));
    assert_eq!(store.residency(&k("c19")), Some(Residency::Memory));
    for i in 0..20u64 {
        assert_eq!(
            store.read(&k(&format!("c{i}"))).unwrap(),
            random_f64_bytes(1_000, i + 1)
        );
    }
}
