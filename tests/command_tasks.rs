//! Command tasks on real processes: a local cluster runs programs through the
//! `tessera.command` kernel; outputs are read back file by file, failures carry stderr, time
//! limits kill the whole process group.

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

fn alive(pid: i32) -> bool {
    // A zombie is dead for our purpose (it only waits for its parent to reap it).
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z'),
        Err(_) => false,
    }
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
        if !pids.iter().any(|&p| alive(p)) {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    for p in pids {
        assert!(
            !alive(p),
            "process {p} of the group survived the time limit"
        );
    }
    // The worker carries on.
    assert_eq!(submit(&client, &sh("true")).result().unwrap(), 0);
}
