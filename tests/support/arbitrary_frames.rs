//! Proptest strategies for protocol frames: every kind of message field (keys, kernel
//! arguments, dependency lists, nested metrics, optional values) and raw payloads.

use std::collections::BTreeMap;

use bytes::Bytes;
use proptest::collection::{btree_map, vec};
use proptest::option;
use proptest::prelude::*;
use tessera::core::{KernelName, ResourceRequest, TaskKey, TaskSpec};
use tessera::protocol::{
    ClusterInfo, ComputeTask, Frame, MemoryThresholds, Message, WorkerInfo, WorkerMetrics,
    WorkerRegistration,
};

pub fn task_key() -> impl Strategy<Value = TaskKey> {
    "[a-z0-9\\-\\(\\), ]{0,24}".prop_map(TaskKey::new)
}

fn keys() -> impl Strategy<Value = Vec<TaskKey>> {
    vec(task_key(), 0..6)
}

fn text() -> impl Strategy<Value = String> {
    "\\PC{0,32}"
}

fn blob() -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..64).prop_map(Bytes::from)
}

fn task_spec() -> impl Strategy<Value = TaskSpec> {
    (task_key(), "[a-z_.]{1,16}", blob(), keys()).prop_map(|(key, kernel, args, deps)| TaskSpec {
        key,
        kernel: KernelName::new(kernel),
        args,
        deps,
        resources: Default::default(),
    })
}

fn compute_task() -> impl Strategy<Value = ComputeTask> {
    (
        task_key(),
        "[a-z_.]{1,16}",
        blob(),
        vec((task_key(), any::<u64>(), vec(text(), 0..3)), 0..4),
        any::<u64>(),
        resources(),
    )
        .prop_map(
            |(key, kernel, args, deps, priority, resources)| ComputeTask {
                key,
                kernel: KernelName::new(kernel),
                args,
                deps,
                priority,
                resources,
            },
        )
}

fn resources() -> impl Strategy<Value = ResourceRequest> {
    (
        1u32..64,
        any::<u64>(),
        vec((text(), any::<u32>()), 0..3),
        any::<bool>(),
    )
        .prop_map(|(cpus, memory, generic, pin)| ResourceRequest {
            cpus,
            memory,
            generic,
            pin,
            time_request: (cpus % 2 == 0).then(|| std::time::Duration::from_millis(memory >> 8)),
        })
}

fn metrics() -> impl Strategy<Value = WorkerMetrics> {
    (
        any::<u64>(),
        any::<u64>(),
        any::<u64>(),
        any::<u32>(),
        any::<u32>(),
        any::<u64>(),
        spill_metrics(),
    )
        .prop_map(
            |(memory_bytes, rss_bytes, stored_keys, executing, ready, completed, spill)| {
                WorkerMetrics {
                    memory_bytes,
                    rss_bytes,
                    stored_keys,
                    executing,
                    ready,
                    completed,
                    ..spill
                }
            },
        )
}

/// The memory and spill fields of the metrics (finite rates, so values compare equal).
fn spill_metrics() -> impl Strategy<Value = WorkerMetrics> {
    (
        (any::<u64>(), any::<u64>(), any::<u64>(), any::<u64>()),
        (any::<u64>(), 0.0..1e12f64, any::<u64>(), 0.0..1e12f64),
        (any::<u64>(), any::<bool>(), any::<bool>(), 0.0..1e9f64),
    )
        .prop_map(|(a, b, c)| WorkerMetrics {
            memory_chunks: a.0,
            spilled_bytes: a.1,
            spilled_chunks: a.2,
            spill_disk_bytes: a.3,
            spill_written_bytes: b.0,
            spill_bytes_per_second: b.1,
            unspill_read_bytes: b.2,
            unspill_bytes_per_second: b.3,
            peak_rss_bytes: c.0,
            paused: c.1,
            disk_full: c.2,
            cpu_seconds: c.3,
            ..WorkerMetrics::default()
        })
}

fn registration() -> impl Strategy<Value = WorkerRegistration> {
    (
        text(),
        text(),
        any::<u32>(),
        any::<u32>(),
        option::of(any::<u64>()),
        text(),
        option::of(0.0f64..1e9),
        vec((text(), any::<u32>()), 0..3),
    )
        .prop_map(
            |(
                name,
                host,
                pid,
                nthreads,
                memory_limit,
                data_address,
                remaining_lifetime_secs,
                resources,
            )| {
                WorkerRegistration {
                    name,
                    host,
                    pid,
                    nthreads,
                    memory_limit,
                    data_address,
                    remaining_lifetime_secs,
                    resources,
                    memory_thresholds: MemoryThresholds {
                        target: Some(0.6),
                        spill: None,
                        pause: Some(0.8),
                        terminate: Some(0.95),
                    },
                }
            },
        )
}

fn cluster_info() -> impl Strategy<Value = ClusterInfo> {
    let worker = (
        any::<u32>(),
        text(),
        any::<u32>(),
        option::of(any::<u64>()),
        metrics(),
        option::of(0.0f64..1e7),
    )
        .prop_map(
            |(id, name, pid, memory_limit, metrics, remaining_lifetime_secs)| WorkerInfo {
                id,
                host: format!("{name}.host"),
                address: format!("tcp://{name}:1"),
                name,
                pid,
                nthreads: 4,
                memory_limit,
                memory_thresholds: MemoryThresholds::default(),
                metrics,
                remaining_lifetime_secs,
            },
        );
    (
        text(),
        0.0f64..1e9,
        any::<u32>(),
        vec(worker, 0..3),
        btree_map(text(), any::<u64>(), 0..4),
    )
        .prop_map(
            |(scheduler_address, uptime_secs, clients, workers, tasks): (
                String,
                f64,
                u32,
                Vec<WorkerInfo>,
                BTreeMap<String, u64>,
            )| ClusterInfo {
                scheduler_address,
                uptime_secs,
                clients,
                workers,
                tasks,
                dashboard: None,
            },
        )
}

/// Any message; `payloads` is how many payloads the frame holds (for payload indices).
pub fn message(payloads: u32) -> impl Strategy<Value = Message> {
    let index = 0..payloads.max(1);
    prop_oneof![
        registration().prop_map(Message::RegisterWorker),
        (task_key(), any::<u64>(), any::<u64>(), any::<u32>()).prop_map(
            |(key, nbytes, compute_micros, thread)| Message::TaskFinished {
                key,
                nbytes,
                compute_micros,
                thread,
                input_read_micros: compute_micros / 2,
                transfer_micros: compute_micros / 3,
                transfer_bytes: nbytes / 2,
            }
        ),
        (task_key(), text()).prop_map(|(key, error)| Message::TaskFailed { key, error }),
        (task_key(), keys()).prop_map(|(key, missing)| Message::DepsMissing { key, missing }),
        (task_key(), any::<bool>()).prop_map(|(key, stolen)| Message::StealReply { key, stolen }),
        metrics().prop_map(Message::Heartbeat),
        (any::<bool>(), any::<bool>())
            .prop_map(|(paused, disk_full)| Message::WorkerStatus { paused, disk_full }),
        any::<u32>().prop_map(|id| Message::Welcome { id }),
        compute_task().prop_map(Message::Compute),
        keys().prop_map(|keys| Message::Free { keys }),
        task_key().prop_map(|key| Message::Steal { key }),
        text().prop_map(|reason| Message::Shutdown { reason }),
        text().prop_map(|name| Message::RegisterClient { name }),
        (vec(task_spec(), 0..5), keys())
            .prop_map(|(tasks, wanted)| Message::SubmitGraph { tasks, wanted }),
        keys().prop_map(|keys| Message::ReleaseKeys { keys }),
        keys().prop_map(|keys| Message::Cancel { keys }),
        keys().prop_map(|keys| Message::Locate { keys }),
        (text(), vec((task_key(), any::<u64>()), 0..4))
            .prop_map(|(address, keys)| Message::Scattered { address, keys }),
        Just(Message::InfoRequest),
        Just(Message::ShutdownCluster),
        (task_key(), any::<u64>(), vec(text(), 0..3)).prop_map(|(key, nbytes, holders)| {
            Message::KeyReady {
                key,
                nbytes,
                holders,
            }
        }),
        (task_key(), task_key(), text()).prop_map(|(key, root, error)| Message::KeyErred {
            key,
            root,
            error
        }),
        (task_key(), vec(text(), 0..3))
            .prop_map(|(key, holders)| Message::Located { key, holders }),
        cluster_info().prop_map(Message::Info),
        keys().prop_map(|keys| Message::GetData { keys }),
        (task_key(), index.clone()).prop_map(|(key, payload)| Message::Data { key, payload }),
        task_key().prop_map(|key| Message::DataMissing { key }),
        (task_key(), index).prop_map(|(key, payload)| Message::PutData { key, payload }),
        (task_key(), any::<u64>()).prop_map(|(key, nbytes)| Message::PutDataAck { key, nbytes }),
        (keys(), keys())
            .prop_map(|(to_disk, to_memory)| Message::ResidencyChanged { to_disk, to_memory }),
    ]
}

/// A raw payload, from empty to a few KiB.
pub fn payload() -> impl Strategy<Value = Bytes> {
    prop_oneof![
        Just(Bytes::new()),
        vec(any::<u8>(), 1..8).prop_map(Bytes::from),
        vec(any::<u8>(), 0..4096).prop_map(Bytes::from),
    ]
}

/// A frame of up to 8 messages and up to 4 payloads that the messages refer to.
pub fn frame() -> impl Strategy<Value = Frame> {
    vec(payload(), 0..4).prop_flat_map(|payloads| {
        let count = payloads.len() as u32;
        vec(message(count), 0..8).prop_map(move |messages| Frame {
            messages,
            payloads: payloads.clone(),
        })
    })
}
