//! The runtime end to end in one process: a local cluster of thread workers over real TCP
//! (and the in-process transport), a client with futures.

use std::time::Duration;

use bytes::Bytes;
use tessera::deploy::{LocalCluster, LocalClusterConfig};
use tessera::runtime::kernels_builtin::names;
use tessera::runtime::{register_kernel, ClientError, KernelError, Task, Value};

fn cluster(workers: usize, nthreads: usize) -> LocalCluster {
    LocalCluster::start(LocalClusterConfig::new(workers, nthreads)).expect("local cluster")
}

#[test]
fn map_and_gather_return_every_result_in_order() {
    let c = cluster(2, 2);
    let client = c.client().unwrap();
    let futures = client.map::<i64, i64>(names::INC, 0..1000).unwrap();
    let values = client.gather(&futures).unwrap();
    assert_eq!(values, (1..=1000).collect::<Vec<i64>>());
}

#[test]
fn dependent_tasks_see_their_inputs() {
    let c = cluster(2, 1);
    let client = c.client().unwrap();
    let mut x = client
        .submit::<i64>(Task::new(names::INC).arg(0i64))
        .unwrap();
    for _ in 0..200 {
        x = client
            .submit::<i64>(Task::new(names::INC).input(&x))
            .unwrap();
    }
    assert_eq!(x.result().unwrap(), 201);

    let a = client
        .submit::<i64>(Task::new(names::INC).arg(10i64))
        .unwrap();
    let b = client
        .submit::<i64>(Task::new(names::INC).arg(20i64))
        .unwrap();
    let s = client
        .submit::<i64>(Task::new(names::ADD).input(&a).input(&b).input(&a))
        .unwrap();
    assert_eq!(s.result().unwrap(), 11 + 21 + 11);
}

#[test]
fn tree_reduction_over_a_graph_is_exact() {
    let c = cluster(3, 1);
    let client = c.client().unwrap();
    let n = 4096usize;
    let (tasks, root) = tessera::runtime::sum_tree::inc_sum_tree(n, 2, "tree");
    let out = client.compute(tasks, &[root]).unwrap();
    let n = n as i64;
    assert_eq!(i64::decode(&out[0]).unwrap(), n * (n + 1) / 2);
}

#[test]
fn a_failing_task_reports_its_key_and_message_and_dependents_name_the_root() {
    let c = cluster(2, 1);
    let client = c.client().unwrap();
    let bad = client
        .submit::<i64>(
            Task::new(names::FAIL)
                .args_bytes("disk on fire")
                .key("bad-task"),
        )
        .unwrap();
    match bad.result() {
        Err(ClientError::TaskFailed { key, root, message }) => {
            assert_eq!(key.as_str(), "bad-task");
            assert_eq!(root.as_str(), "bad-task");
            assert_eq!(message, "disk on fire");
        }
        other => panic!("expected TaskFailed, got {other:?}"),
    }
    let child = client
        .submit::<i64>(Task::new(names::INC).input(&bad).key("child"))
        .unwrap();
    match child.result() {
        Err(e @ ClientError::TaskFailed { .. }) => {
            let text = e.to_string();
            assert!(
                text.contains("child") && text.contains("bad-task"),
                "{text}"
            );
        }
        other => panic!("expected TaskFailed, got {other:?}"),
    }
}

#[test]
fn a_panicking_kernel_fails_its_task_and_the_worker_survives() {
    let c = cluster(1, 1);
    let client = c.client().unwrap();
    let p = client
        .submit::<i64>(Task::new(names::PANIC).args_bytes("boom").key("panicky"))
        .unwrap();
    let err = p.result().unwrap_err();
    assert!(err.to_string().contains("panicked: boom"), "{err}");
    let ok = client
        .submit::<i64>(Task::new(names::INC).arg(1i64))
        .unwrap();
    assert_eq!(ok.result().unwrap(), 2);
    assert_eq!(client.info().unwrap().workers.len(), 1);
}

#[test]
fn user_kernels_registered_in_this_process_run_on_thread_workers() {
    register_kernel("test.square", |ctx, inputs| {
        let v = if inputs.is_empty() {
            i64::decode(&Bytes::copy_from_slice(ctx.args))
        } else {
            i64::decode(&inputs[0])
        }
        .map_err(|e| KernelError::new(e.to_string()))?;
        Ok((v * v).encode())
    });
    let c = cluster(2, 1);
    let client = c.client().unwrap();
    let fs = client.map::<i64, i64>("test.square", [3, 4, 5]).unwrap();
    assert_eq!(client.gather(&fs).unwrap(), vec![9, 16, 25]);
    let unknown = client.submit::<i64>(Task::new("test.nope")).unwrap();
    assert!(unknown
        .result()
        .unwrap_err()
        .to_string()
        .contains("unknown kernel"));
}

#[test]
fn scattered_data_feeds_tasks() {
    let c = cluster(2, 1);
    let client = c.client().unwrap();
    let xs = client.scatter(vec![5i64, 7, 11]).unwrap();
    let total = client
        .submit::<i64>(
            Task::new(names::ADD)
                .input(&xs[0])
                .input(&xs[1])
                .input(&xs[2]),
        )
        .unwrap();
    assert_eq!(total.result().unwrap(), 23);
    assert_eq!(client.gather(&xs).unwrap(), vec![5, 7, 11]);
}

#[test]
fn as_completed_yields_every_future_once() {
    let c = cluster(2, 1);
    let client = c.client().unwrap();
    let fs: Vec<_> = [30i64, 1, 10]
        .iter()
        .map(|ms| {
            client
                .submit::<i64>(Task::new(names::SLEEP).arg(*ms))
                .unwrap()
        })
        .collect();
    let keys: std::collections::HashSet<String> = fs.iter().map(|f| f.key().to_string()).collect();
    let done: Vec<_> = client.as_completed(fs).collect();
    assert_eq!(done.len(), 3);
    let seen: std::collections::HashSet<String> =
        done.iter().map(|f| f.key().to_string()).collect();
    assert_eq!(seen, keys);
    assert!(done.iter().all(|f| f.done()));
}

#[test]
fn cancelled_futures_report_cancellation() {
    let c = cluster(1, 1);
    let client = c.client().unwrap();
    let blocker = client
        .submit::<i64>(Task::new(names::SLEEP).arg(300i64))
        .unwrap();
    let later = client
        .submit::<i64>(Task::new(names::INC).input(&blocker))
        .unwrap();
    later.cancel();
    assert!(matches!(later.result(), Err(ClientError::Cancelled { .. })));
    blocker.wait().unwrap();
}

#[test]
fn released_results_are_freed_on_the_workers() {
    let c = cluster(2, 1);
    let client = c.client().unwrap();
    let fs = client
        .map::<Bytes, i64>(names::ZEROS, vec![1 << 20; 8])
        .unwrap();
    client.wait(&fs, Some(Duration::from_secs(30))).unwrap();
    let stored = |client: &tessera::runtime::Client| -> u64 {
        client
            .info()
            .unwrap()
            .workers
            .iter()
            .map(|w| w.metrics.memory_bytes)
            .sum()
    };
    // Heartbeats carry the figures; wait for one to show the data.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while stored(&client) < 8 << 20 {
        assert!(std::time::Instant::now() < deadline, "data never showed up");
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(fs);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while stored(&client) != 0 {
        assert!(std::time::Instant::now() < deadline, "data was never freed");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn in_process_transport_cluster_runs_graphs() {
    let mut config = LocalClusterConfig::new(2, 1);
    config.listen = tessera::transport::Address::InProc("test-inproc-cluster".into());
    let c = LocalCluster::start(config).unwrap();
    let client = c.client().unwrap();
    let a = client
        .submit::<i64>(Task::new(names::INC).arg(1i64))
        .unwrap();
    let b = client
        .submit::<i64>(Task::new(names::INC).input(&a))
        .unwrap();
    assert_eq!(b.result().unwrap(), 3);
}

#[test]
fn a_silent_connection_does_not_hold_up_other_clients() {
    let c = cluster(1, 1);
    let tessera::transport::Address::Tcp(addr) = c.address() else {
        panic!("local clusters listen on TCP by default");
    };
    // Connects and never says a word (the handshake waits up to 10 s for it).
    let _silent = std::net::TcpStream::connect(addr).unwrap();
    let t = std::time::Instant::now();
    let client = c.client().unwrap();
    let x = client
        .submit::<i64>(Task::new(names::INC).arg(1i64))
        .unwrap();
    assert_eq!(x.result().unwrap(), 2);
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "took {:?}",
        t.elapsed()
    );
}
