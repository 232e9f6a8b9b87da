//! Property test: the scheduler core driven by the deterministic cluster simulator
//! (tests/support/simulation.rs) over random graphs, clients and faults.
//!
//! Every failure message starts with the simulator's seed; replay one with
//! `TESSERA_SIM_SEED=0x... cargo nextest run --test scheduler_simulation replay`.

mod support;

use proptest::prelude::*;
use support::simulation::{run, SimConfig, SimReport};

fn config_strategy() -> impl Strategy<Value = SimConfig> {
    (
        (any::<u64>(), 1u32..6, 0u32..4, 1u32..5, 1u32..4, 1u32..4),
        (
            10u32..160,
            0u32..4,
            0u32..4,
            0u32..60,
            0u32..3,
            1u32..5,
            prop_oneof![Just(1.0), Just(1.5), Just(2.0), Just(3.0)],
            prop_oneof![Just(0u64), Just(2_000u64), Just(50_000u64)],
        ),
        (
            prop_oneof![Just(0u32), Just(50), Just(100)],
            prop_oneof![Just(0u32), Just(30)],
            prop_oneof![Just(0u64), Just(500), Just(u64::MAX)],
        ),
    )
        .prop_map(
            |(
                (seed, initial_workers, late_workers, max_threads, clients, graphs_per_client),
                (
                    universe_tasks,
                    kills,
                    fail_percent,
                    release_percent,
                    scatter_keys,
                    allowed_failures,
                    saturation,
                    horizon_us,
                ),
                (lifetime_percent, spill_percent, steal_transfer_limit),
            )| SimConfig {
                seed,
                initial_workers,
                late_workers,
                max_threads,
                clients,
                graphs_per_client,
                universe_tasks,
                kills,
                fail_percent,
                release_percent,
                scatter_keys,
                allowed_failures,
                saturation,
                queue_horizon: std::time::Duration::from_micros(horizon_us),
                max_saturation: 16.0,
                lifetime_percent,
                spill_percent,
                steal_transfer_limit,
                resource_percent: if seed % 4 == 0 { 30 } else { 0 },
            },
        )
}

proptest! {
    // 300 cases by default; PROPTEST_CASES=N soaks longer.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(300),
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_clusters_deliver_exact_results(config in config_strategy()) {
        if let Err(failure) = run(&config) {
            prop_assert!(false, "{}", failure);
        }
    }
}

fn faulty(seed: u64) -> SimConfig {
    SimConfig {
        seed,
        initial_workers: 4,
        late_workers: 2,
        max_threads: 3,
        clients: 3,
        graphs_per_client: 3,
        universe_tasks: 120,
        kills: 3,
        fail_percent: 1,
        release_percent: 40,
        scatter_keys: 2,
        allowed_failures: 1 + (seed % 2) as u32,
        saturation: 2.0,
        queue_horizon: std::time::Duration::from_micros(if seed.is_multiple_of(3) {
            0
        } else {
            5_000
        }),
        max_saturation: 8.0,
        lifetime_percent: 0,
        spill_percent: 0,
        steal_transfer_limit: tessera::core::SchedulerConfig::default().steal_transfer_limit,
        resource_percent: 0,
    }
}

/// The simulator really exercises the interesting paths (otherwise the property proves little).
#[test]
fn faulty_runs_exercise_recovery_stealing_and_errors() {
    let mut total = SimReport::default();
    for seed in 0..40u64 {
        let report = run(&faulty(seed)).unwrap_or_else(|failure| panic!("{failure}"));
        total.kills += report.kills;
        total.recomputes += report.recomputes;
        total.steals_requested += report.steals_requested;
        total.steals_granted += report.steals_granted;
        total.deps_missing += report.deps_missing;
        total.key_ready += report.key_ready;
        total.key_erred += report.key_erred;
        total.killed_worker_errors += report.killed_worker_errors;
        total.late_messages += report.late_messages;
        total.releases += report.releases;
        total.locates += report.locates;
    }
    assert!(total.kills > 0, "{total:?}");
    assert!(total.recomputes > 0, "{total:?}");
    assert!(total.steals_requested > 0, "{total:?}");
    assert!(total.steals_granted > 0, "{total:?}");
    assert!(total.deps_missing > 0, "{total:?}");
    assert!(total.key_ready > 0, "{total:?}");
    assert!(total.key_erred > 0, "{total:?}");
    assert!(total.killed_worker_errors > 0, "{total:?}");
    assert!(total.late_messages > 0, "{total:?}");
    assert!(total.releases > 0, "{total:?}");
    assert!(total.locates > 0, "{total:?}");
}

/// Workers that announce lifetimes (some ending early in the run, some never) and report
/// spilled results: every invariant still holds (no task lost, each result delivered exactly
/// once) and no task is left unplaced because every worker with time left was busy or gone.
#[test]
fn walltime_and_spill_runs_keep_every_invariant() {
    let mut total = SimReport::default();
    for seed in 0..40u64 {
        let config = SimConfig {
            lifetime_percent: 60,
            spill_percent: 30,
            // Half the results (1–1,000 bytes) too big to move: tasks wait for their holders.
            steal_transfer_limit: 500,
            ..faulty(seed)
        };
        let report = run(&config).unwrap_or_else(|failure| panic!("{failure}"));
        total.timed_workers += report.timed_workers;
        total.residency_reports += report.residency_reports;
        total.kills += report.kills;
        total.steals_granted += report.steals_granted;
        total.key_ready += report.key_ready;
    }
    assert!(total.timed_workers > 0, "{total:?}");
    assert!(total.residency_reports > 0, "{total:?}");
    assert!(total.kills > 0, "{total:?}");
    assert!(total.steals_granted > 0, "{total:?}");
    assert!(total.key_ready > 0, "{total:?}");
}

/// Tasks asking for two CPUs or a GPU among one-CPU tasks, with kills, steals, failures and
/// walltimes: no worker is ever booked more GPUs than it has or more CPU units than its
/// capacity, fake workers never run more CPUs than they have, and every task still ends.
#[test]
fn resource_requests_keep_every_invariant() {
    let mut total = SimReport::default();
    for seed in 0..40u64 {
        let config = SimConfig {
            resource_percent: 40,
            lifetime_percent: if seed % 2 == 0 { 50 } else { 0 },
            ..faulty(seed)
        };
        let report = run(&config).unwrap_or_else(|failure| panic!("{failure}"));
        total.kills += report.kills;
        total.steals_granted += report.steals_granted;
        total.key_ready += report.key_ready;
        total.resource_tasks += report.resource_tasks;
    }
    assert!(total.kills > 0, "{total:?}");
    assert!(total.key_ready > 0, "{total:?}");
    assert!(total.resource_tasks > 100, "{total:?}");
}

/// Replays `TESSERA_SIM_SEED` (decimal or 0x-hex) with the faulty configuration, or a fixed
/// seed when unset.
#[test]
fn replay() {
    let seed = std::env::var("TESSERA_SIM_SEED")
        .ok()
        .and_then(|s| match s.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16).ok(),
            None => s.parse().ok(),
        })
        .unwrap_or(0x07E5_5E7A);
    let report = run(&faulty(seed)).unwrap_or_else(|failure| panic!("{failure}"));
    assert!(report.computes > 0, "{report:?}");
}

#[test]
fn regression_task_left_waiting_after_kills_and_releases() {
    let config = SimConfig {
        seed: 11756790791546785829,
        initial_workers: 1,
        late_workers: 3,
        max_threads: 2,
        clients: 2,
        graphs_per_client: 3,
        universe_tasks: 118,
        kills: 3,
        fail_percent: 0,
        release_percent: 37,
        scatter_keys: 0,
        allowed_failures: 1,
        saturation: 1.0,
        queue_horizon: std::time::Duration::ZERO,
        max_saturation: 16.0,
        lifetime_percent: 0,
        spill_percent: 0,
        steal_transfer_limit: tessera::core::SchedulerConfig::default().steal_transfer_limit,
        resource_percent: 0,
    };
    if let Err(failure) = run(&config) {
        panic!("{failure}");
    }
}
