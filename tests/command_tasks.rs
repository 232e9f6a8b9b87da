//! Command tasks on real processes: a local cluster runs programs through the
//! `tessera.command` kernel; outputs are read back file by file, failures carry stderr, time
//! limits kill the whole process group.

mod common;

use std::path::Path;
use std::time::Duration;

use tessera::deploy::{LocalCluster, LocalClusterConfig};
use tessera::runtime::command::{CommandSpec, COMMAND_KERNEL};
use tessera::runtime::{Client, ClientError, Future, Task};

fn cluster(workers: usize, nthreads: usize) -> LocalCluster {
    LocalCluster::start(LocalClusterConfig::new(workers, nthreads)).expect("local cluster")
}

fn submit(client: &Client, spec: &CommandSpec) -> Future<i64> {
    client
        .submit::<i64>(Task::new(COMMAND_KERNEL).args_bytes(spec.encode()))
        .expect("submit")
}

fn sh(script: &str) -> CommandSpec {
    CommandSpec::new(["/bin/sh", "-c", script])
}

#[test]
fn array_of_programs_writes_outputs_named_by_placeholders_with_task_environment() {
    let dir = tempfile::tempdir().unwrap();
    let c = cluster(2, 2);
    let client = c.client().unwrap();
    let input = dir.path().join("in.txt");
    std::fs::write(&input, "from stdin\n").unwrap();
    let futures: Vec<_> = (0..40i64)
        .map(|i| {
            let mut spec = sh(
                "echo \"$TESSERA_TASK_ID $TESSERA_ARRAY_INDEX $TESSERA_CPUS $GREETING $1\"; cat; \
                 echo err-$TESSERA_ARRAY_INDEX >&2",
            );
            spec.argv.extend(["sh".into(), "arg-%{ARRAY_INDEX}".into()]);
            spec.job_id = 7;
            spec.task_id = i as u64;
            spec.array_index = Some(i + 100);
            spec.env.push(("GREETING".into(), "hi".into()));
            spec.cwd = Some(dir.path().to_str().unwrap().into());
            spec.stdin = Some("in.txt".into());
            spec.stdout = Some("out/%{JOB_ID}/%{ARRAY_INDEX}.out".into());
            spec.stderr = Some("out/%{JOB_ID}/%{TASK_ID}.err".into());
            submit(&client, &spec)
        })
        .collect();
    assert_eq!(client.gather(&futures).unwrap(), vec![0i64; 40]);
    for i in 0..40i64 {
        let out =
            std::fs::read_to_string(dir.path().join(format!("out/7/{}.out", i + 100))).unwrap();
        assert_eq!(
            out,
            format!("{i} {} 1 hi arg-{}\nfrom stdin\n", i + 100, i + 100)
        );
        let err = std::fs::read_to_string(dir.path().join(format!("out/7/{i}.err"))).unwrap();
        assert_eq!(err, format!("err-{}\n", i + 100));
    }
}

#[test]
fn a_failing_program_fails_its_task_with_exit_code_and_last_stderr_lines() {
    let c = cluster(1, 2);
    let client = c.client().unwrap();
    let failing = submit(
        &client,
        &sh("for i in $(seq 1 30); do echo line-$i >&2; done; exit 3"),
    );
    let missing = submit(&client, &CommandSpec::new(["./no-such-program-here"]));
    let fine = submit(&client, &sh("exit 0"));
    let Err(ClientError::TaskFailed { message, .. }) = failing.result() else {
        panic!("exit 3 must fail the task");
    };
    assert!(message.contains("exited with code 3"), "{message}");
    assert!(
        message.contains("line-21\n") && message.ends_with("line-30"),
        "{message}"
    );
    assert!(
        !message.contains("line-20\n"),
        "only the last lines: {message}"
    );
    let Err(ClientError::TaskFailed { message, .. }) = missing.result() else {
        panic!("a missing program must fail");
    };
    assert!(
        message.contains("cannot start `./no-such-program-here`"),
        "{message}"
    );
    assert_eq!(fine.result().unwrap(), 0);
}

fn wait_for_file(path: &Path) -> String {
    for _ in 0..500 {
        if let Ok(s) = std::fs::read_to_string(path) {
            if s.ends_with('\n') {
                return s;
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("{} never written", path.display());
}

#[test]
fn a_time_limit_kills_the_whole_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let c = cluster(1, 1);
    let client = c.client().unwrap();
    let pids = dir.path().join("pids");
    let mut spec = sh("sleep 60 & echo $$ $! > pids.tmp; mv pids.tmp pids; wait");
    spec.cwd = Some(dir.path().to_str().unwrap().into());
    spec.time_limit_ms = Some(500);
    let started = std::time::Instant::now();
    let task = submit(&client, &spec);
    let Err(ClientError::TaskFailed { message, .. }) = task.result() else {
        panic!("the time limit must fail the task");
    };
    let elapsed = started.elapsed();
    assert!(
        message.contains("exceeded its time limit of 500ms"),
        "{message}"
    );
    assert!(elapsed < Duration::from_secs(20), "{elapsed:?}");
    let pids: Vec<i32> = wait_for_file(&pids)
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect();
    assert_eq!(pids.len(), 2);
    for _ in 0..200 {
        if !pids.iter().any(|&p| common::process_alive(p)) {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    for p in pids {
        assert!(
            !common::process_alive(p),
            "process {p} of the group survived the time limit"
        );
    }
    // The worker carries on.
    assert_eq!(submit(&client, &sh("true")).result().unwrap(), 0);
}

/// Intervals `[start, end)` in nanoseconds with a weight, as the tasks wrote them.
fn intervals(dir: &Path, prefix: &str) -> Vec<(u128, u128, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if !name.starts_with(prefix) {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let fields: Vec<&str> = text.split_whitespace().collect();
        assert_eq!(fields.len(), 3, "{name}: {text:?}");
        out.push((
            fields[0].parse().unwrap(),
            fields[1].parse().unwrap(),
            fields[2].to_string(),
        ));
    }
    out
}

/// The most of `weight` busy at once over the intervals.
fn peak(intervals: &[(u128, u128, u32)]) -> u32 {
    let mut edges: Vec<(u128, i64)> = Vec::new();
    for &(s, e, w) in intervals {
        edges.push((s, i64::from(w)));
        edges.push((e, -i64::from(w)));
    }
    // Ends before starts at the same instant.
    edges.sort_by_key(|&(t, d)| (t, d));
    let (mut busy, mut most) = (0i64, 0i64);
    for (_, d) in edges {
        busy += d;
        most = most.max(busy);
    }
    most as u32
}

const STAMPED: &str = "s=$(date +%s%N); sleep 0.3; echo $s $(date +%s%N) \"$TESSERA_CPUS/$TESSERA_CPU_LIST/$CUDA_VISIBLE_DEVICES\" > $1.tmp; mv $1.tmp $1";

#[test]
fn tasks_run_as_many_at_once_as_their_cpus_fit_and_never_more() {
    let dir = tempfile::tempdir().unwrap();
    // One worker of 4 CPUs: four 1-CPU tasks or two 2-CPU tasks at once.
    let c = cluster(1, 4);
    let client = c.client().unwrap();
    let mut futures = Vec::new();
    for i in 0..12 {
        let cpus = if i % 3 == 0 { 2 } else { 1 };
        let mut spec = sh(STAMPED);
        spec.argv.extend(["sh".into(), format!("t{i}-{cpus}")]);
        spec.cwd = Some(dir.path().to_str().unwrap().into());
        spec.cpus = cpus;
        futures.push(
            client
                .submit::<i64>(
                    Task::new(COMMAND_KERNEL)
                        .args_bytes(spec.encode())
                        .resources(tessera::core::ResourceRequest::cpus(cpus)),
                )
                .unwrap(),
        );
    }
    assert_eq!(client.gather(&futures).unwrap(), vec![0; 12]);
    let runs = intervals(dir.path(), "t");
    assert_eq!(runs.len(), 12);
    let mut weighted = Vec::new();
    for (s, e, env) in &runs {
        let mut parts = env.split('/');
        let cpus: u32 = parts.next().unwrap().parse().unwrap();
        let list: Vec<u32> = parts
            .next()
            .unwrap()
            .split(',')
            .map(|c| c.parse().unwrap())
            .collect();
        assert_eq!(
            list.len() as u32,
            cpus,
            "TESSERA_CPU_LIST matches TESSERA_CPUS: {env}"
        );
        weighted.push((*s, *e, cpus));
    }
    assert_eq!(weighted.iter().filter(|w| w.2 == 2).count(), 4);
    let most = peak(&weighted);
    assert!(
        most <= 4,
        "{most} CPUs busy at once on a 4-CPU worker: {runs:?}"
    );
    assert!(most >= 3, "tasks ran one by one: {runs:?}");
}

#[test]
fn generic_resources_are_given_by_index_and_never_shared() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = LocalClusterConfig::new(1, 4);
    config.worker_resources = vec![("gpus".into(), 2)];
    let c = LocalCluster::start(config).unwrap();
    let client = c.client().unwrap();
    let futures: Vec<Future<i64>> = (0..6)
        .map(|i| {
            let mut spec = sh(STAMPED);
            spec.argv.extend(["sh".into(), format!("g{i}")]);
            spec.cwd = Some(dir.path().to_str().unwrap().into());
            client
                .submit::<i64>(
                    Task::new(COMMAND_KERNEL)
                        .args_bytes(spec.encode())
                        .resources(
                            tessera::core::ResourceRequest::default().with_generic("gpus", 1),
                        ),
                )
                .unwrap()
        })
        .collect();
    assert_eq!(client.gather(&futures).unwrap(), vec![0; 6]);
    let runs = intervals(dir.path(), "g");
    assert_eq!(runs.len(), 6);
    for gpu in ["0", "1"] {
        let on: Vec<(u128, u128, u32)> = runs
            .iter()
            .filter(|r| r.2.ends_with(&format!("/{gpu}")))
            .map(|r| (r.0, r.1, 1))
            .collect();
        assert!(!on.is_empty(), "GPU {gpu} never used: {runs:?}");
        assert_eq!(peak(&on), 1, "GPU {gpu} shared: {runs:?}");
    }
    let all: Vec<(u128, u128, u32)> = runs.iter().map(|r| (r.0, r.1, 1)).collect();
    assert_eq!(peak(&all), 2, "two GPUs, two tasks at once: {runs:?}");
}
