//! docs/commands.md runs as written: its walkthrough's shell blocks, in order, in one bash
//! script (a local cluster in the background, jobs submitted, inspected, cancelled, then
//! shut down), with the `tessera` under test first in `PATH`; then what they wrote is checked.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

fn walkthrough() -> String {
    let docs = include_str!("../docs/commands.md");
    let section = docs
        .split("## Walkthrough")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("docs/commands.md has a Walkthrough section");
    let mut script = String::new();
    for block in section.split("```sh\n").skip(1) {
        script.push_str(block.split("```").next().expect("a closed block"));
    }
    script
}

#[test]
fn the_walkthrough_of_docs_commands_md_runs_as_written() {
    let script = walkthrough();
    assert!(script.lines().count() >= 15, "{script}");
    let dir = tempfile::tempdir().unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_tessera")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new("bash");
    cmd.args(["-e", "-c", &script])
        .current_dir(dir.path())
        .env("PATH", path)
        .env_remove("TESSERA_SCHEDULER_FILE")
        .env_remove("TESSERA_CONFIG")
        .env("XDG_CONFIG_HOME", "/nonexistent-tessera-test-config")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Its own process group: whatever it leaves behind is killed below.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let child = cmd.spawn().unwrap();
    let pgid = child.id() as i32;
    let out = common::wait_output(child, Duration::from_secs(180));
    // SAFETY: kill(2) of the process group this test created.
    unsafe { libc::kill(-pgid, libc::SIGKILL) };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("seed 1 on 2 CPUs\n"), "{stdout}");
    let read = |p: &str| std::fs::read_to_string(dir.path().join(p)).unwrap();
    assert_eq!(read("tessera-jobs/2/99.stdout"), "seed 100 on 2 CPUs\n");
    assert_eq!(read("tessera-jobs/3/1.stdout"), "beta\n");
    let data = dir.path().join("data");
    assert_eq!(
        read("out/1.txt"),
        format!("0 {}\n", data.join("b.nc").display())
    );
    assert_eq!(read("tessera-jobs/5/0.stdout"), "after job 4\n");
    let job2: serde_json::Value = serde_json::from_str(&read("job2.json")).unwrap();
    assert_eq!(job2["summary"]["counts"]["finished"], 100);
    assert_eq!(
        job2["tasks"][0]["worker"]
            .as_str()
            .map(|w| w.starts_with("local-")),
        Some(true)
    );
    let jobs: serde_json::Value = serde_json::from_str(&read("jobs.json")).unwrap();
    let states: Vec<(u64, u64, u64)> = jobs
        .as_array()
        .unwrap()
        .iter()
        .map(|j| {
            let c = &j["counts"];
            (
                j["id"].as_u64().unwrap(),
                c["finished"].as_u64().unwrap(),
                c["cancelled"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        states,
        vec![
            (1, 1, 0),
            (2, 100, 0),
            (3, 2, 0),
            (4, 2, 0),
            (5, 1, 0),
            (6, 0, 4)
        ]
    );
}
