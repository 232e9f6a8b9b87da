//! The job journal on real processes: a scheduler (`tessera scheduler --journal`) SIGKILLed in
//! the middle of an array and restarted on its journal resumes the job; tasks the journal
//! recorded as finished are not run again; a foreign journal is refused and left untouched.

mod common;

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

struct Procs(Vec<Child>);

impl Drop for Procs {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn spawn(dir: &Path, args: &[&str]) -> Child {
    common::tessera()
        .current_dir(dir)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn start_cluster(dir: &Path, procs: &mut Procs) {
    let _ = std::fs::remove_file(dir.join("s.json"));
    procs.0.push(spawn(
        dir,
        &[
            "scheduler",
            "--scheduler-file",
            "s.json",
            "--journal",
            "journal",
        ],
    ));
    for i in 0..2 {
        procs.0.push(spawn(
            dir,
            &[
                "worker",
                "--scheduler-file",
                "s.json",
                "--nthreads",
                "2",
                "--name",
                &format!("w{i}"),
            ],
        ));
    }
}

fn run(dir: &Path, args: &[&str]) -> std::process::Output {
    let child = common::tessera()
        .current_dir(dir)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    common::wait_output(child, Duration::from_secs(120))
}

fn ends(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("runs"))
        .unwrap()
        .filter_map(|e| std::fs::read_to_string(e.unwrap().path()).ok())
        .filter(|t| t.contains("end"))
        .count()
}

#[test]
fn a_scheduler_killed_mid_array_resumes_from_its_journal_without_rerunning_finished_tasks() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("runs")).unwrap();
    let mut procs = Procs(Vec::new());
    start_cluster(d, &mut procs);
    let out = run(
        d,
        &[
            "submit",
            "--scheduler-file",
            "s.json",
            "--array",
            "0-59",
            "--",
            "sh",
            "-c",
            "echo start >> runs/%{ARRAY_INDEX}; sleep 0.1; echo end >> runs/%{ARRAY_INDEX}",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while ends(d) < 20 {
        assert!(Instant::now() < deadline, "the job does not run");
        std::thread::sleep(Duration::from_millis(10));
    }
    procs.0[0].kill().unwrap();
    procs.0[0].wait().unwrap();
    // The workers lose their scheduler and exit (their programs die with them).
    for w in &mut procs.0[1..] {
        common::wait_status(w, Duration::from_secs(30));
    }
    let journal = std::fs::read_to_string(d.join("journal")).unwrap();
    let finished: Vec<u64> = journal
        .lines()
        .skip(1)
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|r| r["Ended"]["state"] == "Finished")
        .map(|r| r["Ended"]["task"].as_u64().unwrap())
        .collect();
    assert!(finished.len() >= 10, "{journal}");
    assert!(
        finished.len() < 60,
        "the kill came after the end: {journal}"
    );
    procs.0.clear();
    start_cluster(d, &mut procs);
    let out = run(d, &["job", "wait", "--scheduler-file", "s.json", "1"]);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut rerun = 0;
    for i in 0..60u64 {
        let runs = std::fs::read_to_string(d.join(format!("runs/{i}"))).unwrap();
        let starts = runs.lines().filter(|l| *l == "start").count();
        let ends = runs.lines().filter(|l| *l == "end").count();
        assert!(ends >= 1, "task {i} never ended: {runs:?}");
        if finished.contains(&i) {
            assert_eq!(
                (starts, ends),
                (1, 1),
                "task {i} was journaled finished, yet ran again"
            );
        } else {
            rerun += starts - 1;
        }
    }
    // Runs in progress at the kill, or finished but not yet synced, ran again: at most the
    // 4 threads' worth plus one round of reports.
    eprintln!(
        "{} tasks journaled finished before the kill; {rerun} runs started again",
        finished.len()
    );
    assert!(rerun <= 8, "{rerun} runs again");
}

#[test]
fn a_foreign_or_corrupt_journal_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (name, content, expected) in [
        ("foreign", "hello\n", "not a Tessera job journal"),
        (
            "corrupt",
            "tessera-journal 1\n{nonsense}\n",
            "corrupt journal at line 2",
        ),
    ] {
        std::fs::write(d.join(name), content).unwrap();
        let out = run(
            d,
            &["scheduler", "--scheduler-file", "s.json", "--journal", name],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains(expected), "{stderr}");
        assert_eq!(std::fs::read_to_string(d.join(name)).unwrap(), content);
        assert!(!d.join("s.json").exists());
    }
}
