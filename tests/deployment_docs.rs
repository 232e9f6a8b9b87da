//! The deployment documents run as written: every fenced block of docs/deployment-slurm.md,
//! docs/deployment-pbs.md, docs/deployment-sge.md and docs/jobqueue.md marked
//! ```` ```sh test=SYSTEM ```` runs with bash on this host's real batch system (`test=any`: no
//! batch system needed), in a fresh directory holding a `jobscripts` link to
//! the repository's scripts, with the built `tessera` first on `PATH` (as after `cargo
//! install`; for PBS, the Torque wrappers' folder too). A following ```` ```text expected ````
//! block lists lines its output must contain. A document without such blocks fails.
//!
//! Batch jobs a failing block leaves behind (they are found by their working directory) are
//! cancelled. Tests are named `real_batch_*`: one at a time (tests/README.md).

#![cfg(feature = "mpi")]

mod launch;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use launch::*;

const BLOCK_TIMEOUT: Duration = Duration::from_secs(300);

/// A command block of a document and the lines its output must contain.
struct Block {
    line: usize,
    script: String,
    expected: Vec<String>,
}

/// The blocks of `markdown` marked ```` ```sh test=SYSTEM ````, each with the lines of the
/// ```` ```text expected ```` block right after it (if any).
fn blocks(markdown: &str, system: &str) -> Vec<Block> {
    let lines: Vec<&str> = markdown.lines().collect();
    let marker = format!("```sh test={system}");
    let mut out: Vec<Block> = Vec::new();
    // Whether the last fenced block was one of ours (an expected block then belongs to it).
    let mut last_ours = false;
    let mut i = 0;
    while i < lines.len() {
        let fence = lines[i].trim_end();
        if !fence.starts_with("```") {
            i += 1;
            continue;
        }
        let start = i + 1;
        let end = (start..lines.len())
            .find(|&j| lines[j].trim_end() == "```")
            .unwrap_or_else(|| panic!("the code block at line {} is not closed", i + 1));
        let body = &lines[start..end];
        if fence == marker {
            out.push(Block {
                line: i + 1,
                script: body.join("\n") + "\n",
                expected: Vec::new(),
            });
            last_ours = true;
        } else if fence == "```text expected" && last_ours {
            if let Some(block) = out.last_mut() {
                block.expected.extend(body.iter().map(|l| l.to_string()));
            }
            last_ours = false;
        } else {
            last_ours = false;
        }
        i = end + 1;
    }
    out
}

/// Cancels the batch jobs still running in a directory when dropped.
struct JobsIn(PathBuf);

impl Drop for JobsIn {
    fn drop(&mut self) {
        let dir = self.0.display().to_string();
        if let Ok(out) = Command::new("squeue").args(["-h", "-o", "%i %Z"]).output() {
            for line in String::from_utf8_lossy(&out.stdout).lines() {
                if let Some((id, work_dir)) = line.split_once(' ') {
                    if work_dir.trim() == dir {
                        let _ = Command::new("scancel").arg(id).status();
                    }
                }
            }
        }
        if let Ok(out) = Command::new("/usr/bin/qstat").output() {
            let text = String::from_utf8_lossy(&out.stdout).to_string();
            for id in text.lines().filter_map(|l| l.split_whitespace().next()) {
                if !id.bytes().all(|b| b.is_ascii_digit()) {
                    continue;
                }
                let Ok(job) = Command::new("/usr/bin/qstat").args(["-j", id]).output() else {
                    continue;
                };
                let job = String::from_utf8_lossy(&job.stdout).to_string();
                let cwd = job
                    .lines()
                    .find_map(|l| l.strip_prefix("cwd:"))
                    .map(str::trim);
                if cwd == Some(dir.as_str()) {
                    let _ = Command::new("/usr/bin/qdel").arg(id).status();
                }
            }
        }
    }
}

/// Run every tested block of `doc` on `system`, each in its own directory.
fn run_document(doc: &str, system: &str, extra_path: &[PathBuf]) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs").join(doc);
    let markdown = std::fs::read_to_string(&path).expect("read the document");
    let blocks = blocks(&markdown, system);
    assert!(!blocks.is_empty(), "{doc} has no ```sh test={system} block");
    let bin_dir = tessera_bin()
        .parent()
        .expect("the binary's folder")
        .to_path_buf();
    let mut search = vec![bin_dir];
    search.extend(extra_path.iter().cloned());
    search.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    let path_var = std::env::join_paths(search).expect("PATH");
    for block in blocks {
        let dir = world_readable_dir("tessera-doc-");
        std::os::unix::fs::symlink(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("jobscripts"),
            dir.path().join("jobscripts"),
        )
        .expect("link jobscripts");
        let _cleanup = JobsIn(dir.path().to_path_buf());
        let mut c = Command::new("bash");
        c.args(["-e", "-o", "pipefail", "-c", &block.script])
            .current_dir(dir.path())
            .env("PATH", &path_var)
            .env("XDG_CONFIG_HOME", "/nonexistent-tessera-test-config")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for name in [
            "TESSERA",
            "TESSERA_CONFIG",
            "TESSERA_SCHEDULER_FILE",
            "TESSERA_TRANSPORT",
            "TESSERA_INTERFACE",
            "ANALYSIS",
            "OUTPUT",
            "CLIENT",
            "PROGRAM",
        ] {
            c.env_remove(name);
        }
        for (k, v) in OPENMPI_ENV {
            c.env(k, v);
        }
        let out = run(c, BLOCK_TIMEOUT);
        let stdout = &out.stdout;
        let logs: String = std::fs::read_dir(dir.path())
            .expect("list the directory")
            .filter_map(Result::ok)
            .filter(|e| {
                let name = e.file_name().to_string_lossy().to_string();
                name.ends_with(".out") || name.contains(".o")
            })
            .map(|e| {
                format!(
                    "--- {}:\n{}",
                    e.file_name().to_string_lossy(),
                    std::fs::read_to_string(e.path()).unwrap_or_default()
                )
            })
            .collect();
        let context = format!(
            "{doc} block at line {}:\n{}\nstdout:\n{stdout}\nstderr:\n{}\njob logs:\n{logs}",
            block.line, block.script, out.stderr
        );
        assert!(out.status.success(), "failed: {context}");
        for line in &block.expected {
            assert!(
                stdout.lines().any(|l| l.trim_end() == line),
                "output lacks {line:?}: {context}"
            );
        }
    }
}

#[test]
fn blocks_and_expected_output_are_found() {
    let doc = "x\n```sh test=slurm\necho a\necho b\n```\n\n```text expected\na\n```\n\
               ```sh test=sge\necho c\n```\n```sh\nnot tested\n```\n";
    let slurm = blocks(doc, "slurm");
    assert_eq!(slurm.len(), 1);
    assert_eq!(slurm[0].script, "echo a\necho b\n");
    assert_eq!(slurm[0].expected, ["a"]);
    assert_eq!(slurm[0].line, 2);
    let sge = blocks(doc, "sge");
    assert_eq!(sge.len(), 1);
    assert!(sge[0].expected.is_empty());
    assert!(blocks(doc, "pbs").is_empty());
}

#[test]
fn real_batch_deployment_slurm_document_runs_as_written() {
    if batch_system("slurm") {
        run_document("deployment-slurm.md", "slurm", &[]);
    }
}

#[test]
fn real_batch_deployment_pbs_document_runs_as_written() {
    if batch_system("pbs") {
        let bin = PathBuf::from(
            std::env::var("TESSERA_TEST_PBS_BIN")
                .unwrap_or_else(|_| "/opt/pbs-via-slurm/bin".into()),
        );
        run_document("deployment-pbs.md", "pbs", &[bin]);
    }
}

#[test]
fn real_batch_deployment_sge_document_runs_as_written() {
    if batch_system("sge") {
        run_document("deployment-sge.md", "sge", &[]);
    }
}

#[test]
fn jobqueue_document_blocks_that_need_no_batch_system_run_as_written() {
    run_document("jobqueue.md", "any", &[]);
}

#[test]
fn real_batch_jobqueue_document_runs_as_written_on_slurm() {
    if batch_system("slurm") {
        run_document("jobqueue.md", "slurm", &[]);
    }
}
