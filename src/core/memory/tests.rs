//! Unit tests of the memory manager with a fake clock and fake RSS samples.

use super::*;

const LIMIT: u64 = 1000;

fn k(name: &str) -> TaskKey {
    TaskKey::new(name)
}

struct Harness {
    mm: MemoryManager,
    t0: Instant,
    now: Instant,
}

impl Harness {
    fn new(cfg: MemoryConfig) -> Self {
        let t0 = Instant::now();
        Harness {
            mm: MemoryManager::new(cfg).unwrap(),
            t0,
            now: t0,
        }
    }

    fn limited() -> Self {
        Self::new(MemoryConfig {
            limit: Some(LIMIT),
            ..MemoryConfig::default()
        })
    }

    fn at_ms(&mut self, ms: u64) -> &mut Self {
        self.now = self.t0 + Duration::from_millis(ms);
        self
    }

    fn ev(&mut self, e: MemoryEvent) -> Vec<MemoryAction> {
        self.mm.handle(self.now, e);
        self.mm.drain_actions().collect()
    }

    fn store(&mut self, key: &str, nbytes: u64) -> Vec<MemoryAction> {
        self.ev(MemoryEvent::Stored {
            key: k(key),
            nbytes,
        })
    }

    fn rss(&mut self, rss_bytes: u64) -> Vec<MemoryAction> {
        self.ev(MemoryEvent::RssSample {
            rss_bytes,
            transient_bytes: 0,
        })
    }

    fn spilled(&mut self, key: &str, nbytes_on_disk: u64) -> Vec<MemoryAction> {
        self.ev(MemoryEvent::Spilled {
            key: k(key),
            nbytes_on_disk,
        })
    }
}

fn spill_keys(actions: &[MemoryAction]) -> Vec<(Vec<String>, SpillCause)> {
    actions
        .iter()
        .filter_map(|a| match a {
            MemoryAction::Spill { keys, cause } => {
                Some((keys.iter().map(|k| k.to_string()).collect(), *cause))
            }
            _ => None,
        })
        .collect()
}

fn warnings(actions: &[MemoryAction]) -> usize {
    actions
        .iter()
        .filter(|a| matches!(a, MemoryAction::Warn { .. }))
        .count()
}

#[test]
fn target_spills_least_recently_used_after_touches() {
    let mut h = Harness::limited();
    for name in ["a", "b", "c", "d", "e"] {
        assert!(h.store(name, 100).is_empty());
    }
    h.ev(MemoryEvent::Accessed { key: k("a") });
    h.ev(MemoryEvent::Accessed { key: k("b") });
    // 600 is not above target (600); 700 is: spill the LRU chunk, now "c".
    assert!(h.store("f", 100).is_empty());
    let actions = h.store("g", 100);
    assert_eq!(
        spill_keys(&actions),
        vec![(vec!["c".to_string()], SpillCause::Target)]
    );
    // A big chunk pushes several out, in LRU order.
    let actions = h.store("h", 250);
    assert_eq!(
        spill_keys(&actions),
        vec![(vec!["d".into(), "e".into(), "a".into()], SpillCause::Target)]
    );
    let m = h.mm.metrics();
    assert_eq!(m.memory_bytes, 950);
    assert_eq!(m.spilling_bytes, 400);
    assert!(h.spilled("c", 40).is_empty());
    let m = h.mm.metrics();
    assert_eq!(
        (m.spilled_chunks, m.spilled_bytes, m.spilled_disk_bytes),
        (1, 100, 40)
    );
    assert_eq!(m.memory_bytes, 850);
    assert_eq!(m.spill_count, 1);
}

#[test]
fn no_double_spill_while_confirmations_are_pending() {
    let mut h = Harness::limited();
    h.store("a", 300);
    h.store("b", 300);
    let first = h.store("c", 100);
    assert_eq!(
        spill_keys(&first),
        vec![(vec!["a".into()], SpillCause::Target)]
    );
    // Unrelated events before the confirmation must not ask for "a" again or for more.
    assert!(h.ev(MemoryEvent::Tick).is_empty());
    assert!(h.ev(MemoryEvent::Accessed { key: k("b") }).is_empty());
}

#[test]
fn unspill_makes_chunk_most_recent_and_may_push_others_out() {
    let mut h = Harness::limited();
    h.store("a", 300);
    h.store("b", 200);
    let actions = h.store("c", 200);
    assert_eq!(spill_keys(&actions)[0].0, vec!["a".to_string()]);
    h.spilled("a", 300);
    // Reading "a" back: 700 in memory again, LRU is now "b".
    let actions = h.ev(MemoryEvent::Unspilled { key: k("a") });
    assert_eq!(spill_keys(&actions)[0].0, vec!["b".to_string()]);
    let m = h.mm.metrics();
    assert_eq!(
        (m.unspill_count, m.spilled_chunks, m.spilled_disk_bytes),
        (1, 0, 0)
    );
}

#[test]
fn removed_or_restored_during_spill_ignores_the_confirmation() {
    let mut h = Harness::limited();
    h.store("a", 300);
    h.store("b", 300);
    h.store("c", 100);
    h.ev(MemoryEvent::Removed { key: k("a") });
    assert!(h.spilled("a", 300).is_empty());
    let m = h.mm.metrics();
    assert_eq!(
        (m.memory_bytes, m.spilled_chunks, m.spilling_bytes),
        (400, 0, 0)
    );
    h.store("d", 300);
    h.ev(MemoryEvent::Stored {
        key: k("b"),
        nbytes: 10,
    });
    h.spilled("b", 300);
    assert_eq!(h.mm.metrics().spilled_chunks, 0);
}

#[test]
fn rss_spill_batches_are_spaced_and_capped() {
    let mut h = Harness::new(MemoryConfig {
        limit: Some(LIMIT),
        target: None,
        ..MemoryConfig::default()
    });
    for i in 0..10 {
        h.store(&format!("c{i}"), 50);
    }
    // RSS 900 > spill 700: goal is the spill level (target disabled): need 200, but one batch
    // is capped at 10% of the limit = 100 bytes = 2 chunks.
    let actions = h.at_ms(0).rss(900);
    assert_eq!(
        spill_keys(&actions),
        vec![(vec!["c0".into(), "c1".into()], SpillCause::Rss)]
    );
    h.spilled("c0", 50);
    h.spilled("c1", 50);
    // Effective (900 → 800): next batch only after the interval.
    assert!(spill_keys(&h.at_ms(10).rss(800)).is_empty());
    assert!(spill_keys(&h.at_ms(50).rss(800)).is_empty());
    let actions = h.at_ms(110).rss(800);
    assert_eq!(
        spill_keys(&actions)[0].0,
        vec!["c2".to_string(), "c3".to_string()]
    );
}

#[test]
fn transient_input_buffers_do_not_trigger_rss_spills_but_count_for_pause() {
    let mut h = Harness::limited();
    for i in 0..5 {
        h.store(&format!("c{i}"), 100); // 500 managed, under target 600
    }
    // A task reads a spilled 250-byte chunk for itself: RSS 790 > spill 700, but without the
    // transient buffer it is 540: nothing to spill.
    let sample = |rss_bytes, transient_bytes| MemoryEvent::RssSample {
        rss_bytes,
        transient_bytes,
    };
    assert!(spill_keys(&h.at_ms(0).ev(sample(790, 250))).is_empty());
    // Events between samples do not pair a stale RSS with another transient figure.
    assert!(spill_keys(&h.at_ms(5).ev(MemoryEvent::Tick)).is_empty());
    // Pause still sees the whole RSS.
    let actions = h.at_ms(10).ev(sample(850, 250));
    assert!(spill_keys(&actions).is_empty());
    assert!(actions
        .iter()
        .any(|a| matches!(a, MemoryAction::Pause { .. })));
    // Once the task has ended, the same RSS spills.
    let actions = h.at_ms(20).ev(sample(790, 0));
    assert_eq!(spill_keys(&actions)[0].1, SpillCause::Rss);
}

#[test]
fn target_spilling_makes_room_for_chunks_being_fetched() {
    let mut h = Harness::limited();
    for i in 0..5 {
        h.store(&format!("c{i}"), 100); // 500 managed, under target 600
    }
    // 250 bytes are being fetched: 750 > 600, the two oldest make room before they arrive.
    let actions = h.ev(MemoryEvent::Incoming { nbytes: 250 });
    assert_eq!(
        spill_keys(&actions),
        vec![(vec!["c0".into(), "c1".into()], SpillCause::Target)]
    );
    // Stored and no longer incoming: nothing more to spill (300 + 250 under target).
    h.ev(MemoryEvent::Incoming { nbytes: 0 });
    assert!(spill_keys(&h.store("fetched", 250)).is_empty());
}

#[test]
fn ineffective_rss_spills_back_off_and_warn_rate_limited() {
    let mut h = Harness::new(MemoryConfig {
        limit: Some(LIMIT),
        target: None,
        ..MemoryConfig::default()
    });
    for i in 0..13 {
        h.store(&format!("c{i}"), 50);
    }
    let mut t = 0;
    let mut batches = 0;
    let mut warns = 0;
    let mut gaps = Vec::new();
    let mut last_batch_at = 0;
    // RSS stays at 900 whatever is spilled (unmanaged memory); drive for 5 s of fake time.
    while t < 5_000 {
        let actions = h.at_ms(t).rss(900);
        warns += warnings(&actions);
        for (keys, cause) in spill_keys(&actions) {
            assert_eq!(cause, SpillCause::Rss);
            batches += 1;
            gaps.push(t - last_batch_at);
            last_batch_at = t;
            for key in keys {
                h.spilled(&key, 50);
            }
        }
        t += 10;
    }
    // Back-off doubles: 100, 200, 400, 800, 1600 ms... so only a handful of batches in 5 s,
    // never "spill everything in a loop".
    assert!(batches <= 6, "{batches} batches, gaps {gaps:?}");
    assert!(gaps.windows(2).skip(1).all(|w| w[1] >= w[0]), "{gaps:?}");
    assert!(h.mm.metrics().memory_bytes > 0);
    assert_eq!(warns, 1, "one warning per warning_interval");
}

#[test]
fn unmanaged_memory_warning_when_nothing_left_to_spill() {
    let mut h = Harness::limited();
    let actions = h.at_ms(0).rss(750);
    assert_eq!(warnings(&actions), 1);
    assert!(spill_keys(&actions).is_empty());
    assert_eq!(warnings(&h.at_ms(1_000).rss(760)), 0);
    assert_eq!(warnings(&h.at_ms(31_000).rss(760)), 1);
    assert_eq!(h.mm.metrics().unmanaged_bytes, Some(760));
}

#[test]
fn pause_and_resume_with_hysteresis() {
    let mut h = Harness::new(MemoryConfig {
        limit: Some(LIMIT),
        spill: None,
        ..MemoryConfig::default()
    });
    assert!(h.rss(790).is_empty());
    let actions = h.rss(810);
    assert_eq!(
        actions,
        vec![MemoryAction::Pause {
            memory_bytes: 810,
            pause_bytes: 800
        }]
    );
    assert!(h.mm.is_paused());
    // Hovering around pause and between resume (700) and pause: no flapping.
    for rss in [790, 820, 760, 701, 850] {
        assert!(h.rss(rss).is_empty(), "rss {rss}");
    }
    assert_eq!(h.rss(699), vec![MemoryAction::Resume { memory_bytes: 699 }]);
    assert!(h.rss(790).is_empty());
    assert_eq!(h.rss(801).len(), 1);
    assert_eq!(h.mm.metrics().pause_count, 2);
}

#[test]
fn managed_bytes_alone_can_pause() {
    let mut h = Harness::new(MemoryConfig {
        limit: Some(LIMIT),
        target: None,
        spill: None,
        ..MemoryConfig::default()
    });
    h.store("a", 500);
    let actions = h.store("b", 400);
    assert!(matches!(
        actions[..],
        [MemoryAction::Pause {
            memory_bytes: 900,
            ..
        }]
    ));
    let actions = h.ev(MemoryEvent::Removed { key: k("b") });
    assert_eq!(actions, vec![MemoryAction::Resume { memory_bytes: 500 }]);
}

#[test]
fn terminate_once_with_reason_then_silent() {
    let mut h = Harness::limited();
    h.rss(850);
    let actions = h.rss(960);
    let [MemoryAction::Terminate { reason }] = &actions[..] else {
        panic!("expected a terminate, got {actions:?}");
    };
    assert!(reason.contains("terminate threshold"), "{reason}");
    assert!(reason.contains("--memory-limit"), "{reason}");
    assert!(h.rss(990).is_empty());
    assert!(h.store("x", 10).is_empty());
    assert!(h.mm.metrics().terminated);
}

#[test]
fn disabled_thresholds_never_fire() {
    let mut h = Harness::new(MemoryConfig {
        limit: Some(LIMIT),
        target: None,
        spill: None,
        pause: None,
        terminate: None,
        ..MemoryConfig::default()
    });
    h.store("a", 900);
    assert!(h.rss(999).is_empty());
    assert!(h.rss(5_000).is_empty());
    let mut unlimited = Harness::new(MemoryConfig::default());
    assert!(unlimited.store("a", u64::MAX / 4).is_empty());
    assert!(unlimited.rss(u64::MAX / 2).is_empty());
    assert_eq!(unlimited.mm.metrics().memory_bytes, u64::MAX / 4);
}

#[test]
fn max_spill_cap_stops_spilling_until_space_is_freed() {
    let mut h = Harness::new(MemoryConfig {
        limit: Some(LIMIT),
        max_spill: Some(200),
        ..MemoryConfig::default()
    });
    h.store("a", 200);
    h.store("b", 200);
    h.store("c", 200);
    assert_eq!(spill_keys(&h.store("d", 200))[0].0, vec!["a".to_string()]);
    h.spilled("a", 100);
    assert_eq!(spill_keys(&h.store("e", 200))[0].0, vec!["b".to_string()]);
    h.spilled("b", 100);
    // The cap is reached: storing more asks for no spill but reports the disk full, once.
    let actions = h.store("f", 10);
    assert!(spill_keys(&actions).is_empty());
    assert!(
        matches!(&actions[..], [MemoryAction::DiskFull { reason }] if reason.contains("max_spill=200"))
    );
    assert!(h.mm.metrics().disk_full);
    let actions = h.at_ms(60_000).store("g", 10);
    assert!(actions.is_empty(), "{actions:?}");
    // Deleting a spilled chunk frees disk: spilling resumes at once.
    let actions = h.ev(MemoryEvent::Removed { key: k("a") });
    assert_eq!(actions[0], MemoryAction::DiskAvailable);
    assert_eq!(spill_keys(&actions)[0].0, vec!["c".to_string()]);
}

#[test]
fn spill_failure_keeps_chunk_and_retries_later() {
    let mut h = Harness::limited();
    h.store("a", 300);
    h.store("b", 300);
    let actions = h.at_ms(0).store("c", 100);
    assert_eq!(spill_keys(&actions)[0].0, vec!["a".to_string()]);
    let reason = SpillFailure::NoSpace {
        message: "/scratch/x: No space left on device".into(),
    };
    let actions = h.ev(MemoryEvent::SpillFailed {
        key: k("a"),
        reason,
    });
    assert!(
        matches!(&actions[..], [MemoryAction::DiskFull { reason }] if reason.contains("/scratch/x"))
    );
    let m = h.mm.metrics();
    assert_eq!(
        (m.memory_bytes, m.spill_failures, m.spilling_bytes),
        (700, 1, 0)
    );
    // No retry before disk_full_retry (10 s)...
    assert!(spill_keys(&h.at_ms(5_000).ev(MemoryEvent::Tick)).is_empty());
    // ...then the same chunk, still the coldest, is tried again.
    let actions = h.at_ms(10_000).ev(MemoryEvent::Tick);
    assert_eq!(spill_keys(&actions)[0].0, vec!["a".to_string()]);
    let actions = h.spilled("a", 300);
    assert_eq!(actions, vec![MemoryAction::DiskAvailable]);
}

/// Paused (900 of 1000 bytes stored) with the spill of `a` failed on a read-only directory.
fn paused_with_spilling_impossible() -> Harness {
    let mut h = Harness::limited();
    h.store("a", 300);
    h.store("b", 300);
    h.at_ms(0).store("c", 300);
    let actions = h.ev(MemoryEvent::SpillFailed {
        key: k("a"),
        reason: SpillFailure::Io {
            message: "/scratch/ro/a.spill: Permission denied".into(),
        },
    });
    assert!(
        matches!(&actions[..], [MemoryAction::DiskFull { .. }]),
        "{actions:?}"
    );
    assert!(h.mm.is_paused());
    h
}

fn terminate_reason(actions: &[MemoryAction]) -> Option<&str> {
    actions.iter().find_map(|a| match a {
        MemoryAction::Terminate { reason } => Some(reason.as_str()),
        _ => None,
    })
}

#[test]
fn paused_with_spilling_impossible_terminates_after_the_timeout_naming_the_directory() {
    let mut h = paused_with_spilling_impossible();
    let actions = h.at_ms(59_000).ev(MemoryEvent::Tick);
    assert_eq!(terminate_reason(&actions), None, "{actions:?}");
    let actions = h.at_ms(60_000).ev(MemoryEvent::Tick);
    let reason = terminate_reason(&actions).expect("terminates after 60 s");
    assert!(reason.contains("/scratch/ro"), "{reason}");
    assert!(h.mm.metrics().terminated);
}

#[test]
fn a_freed_chunk_restarts_the_disk_full_timeout() {
    let mut h = paused_with_spilling_impossible();
    h.at_ms(50_000).ev(MemoryEvent::Removed { key: k("c") });
    h.at_ms(50_100).store("c", 300);
    assert!(h.mm.is_paused());
    let actions = h.at_ms(100_000).ev(MemoryEvent::Tick);
    assert_eq!(terminate_reason(&actions), None, "{actions:?}");
    let actions = h.at_ms(110_100).ev(MemoryEvent::Tick);
    assert!(terminate_reason(&actions).is_some(), "{actions:?}");
}

#[test]
fn no_disk_full_timeout_waits_for_ever() {
    let mut h = Harness::new(MemoryConfig {
        limit: Some(LIMIT),
        disk_full_timeout: None,
        ..MemoryConfig::default()
    });
    h.store("a", 300);
    h.store("b", 300);
    h.at_ms(0).store("c", 300);
    h.ev(MemoryEvent::SpillFailed {
        key: k("a"),
        reason: SpillFailure::Io {
            message: "/scratch/ro: Permission denied".into(),
        },
    });
    let actions = h.at_ms(3_600_000).ev(MemoryEvent::Tick);
    assert_eq!(terminate_reason(&actions), None, "{actions:?}");
}

#[test]
fn running_tasks_expected_outputs_pause_and_spill_before_they_land() {
    let mut h = Harness::limited();
    // 500 of 1000 stored: under target (600) and pause (800).
    let actions = h.store("a", 250);
    assert!(actions.is_empty(), "{actions:?}");
    let actions = h.store("b", 250);
    assert!(actions.is_empty(), "{actions:?}");
    // Two threads start tasks expected to produce 200 bytes each: 900 with them.
    let actions = h.ev(MemoryEvent::Running { nbytes: 400 });
    assert!(
        actions.iter().any(|a| matches!(
            a,
            MemoryAction::Pause {
                memory_bytes: 900,
                ..
            }
        )),
        "{actions:?}"
    );
    // Target spilling makes room for them now: 300 bytes over target, the coldest first.
    assert_eq!(
        spill_keys(&actions)[0].0,
        vec!["a".to_string(), "b".to_string()]
    );
    // Without running tasks the same memory neither pauses nor spills.
    let mut idle = Harness::limited();
    idle.store("a", 250);
    let actions = idle.store("b", 250);
    assert!(actions.is_empty(), "{actions:?}");
    assert!(!idle.mm.is_paused());
}
