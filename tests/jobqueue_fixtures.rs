//! Runs the job-queue output parsers over the fixture corpus in `tests/fixtures/jobqueue/`:
//! `submit/<system>/<case>.out` with the expected id (or `ERROR`) in `<case>.expected`, and
//! `status/<system>/<case>.out` with `<requested id> <state|absent>` lines in `<case>.expected`.
//! Fixtures named `observed_*` were captured from real SLURM 22.05, SGE 8.1.9 and SLURM's
//! Torque wrappers on the development machine.

use std::fs;
use std::path::{Path, PathBuf};

use tessera::deploy::jobqueue::{BatchSystem, JobId, JobState};

fn fixture_dir(kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/jobqueue")
        .join(kind)
}

/// `(system, case name, output, expected)` for every case under `kind`.
fn cases(kind: &str) -> Vec<(BatchSystem, String, String, String)> {
    let mut found = Vec::new();
    let mut systems: Vec<PathBuf> = fs::read_dir(fixture_dir(kind))
        .expect("fixture directory")
        .map(|e| e.expect("dir entry").path())
        .collect();
    systems.sort();
    for dir in systems {
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .expect("utf-8 name");
        let system: BatchSystem = name
            .parse()
            .expect("fixture directory named after a system");
        let mut outs: Vec<PathBuf> = fs::read_dir(&dir)
            .expect("system directory")
            .map(|e| e.expect("dir entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "out"))
            .collect();
        outs.sort();
        for out in outs {
            let expected_path = out.with_extension("expected");
            let expected = fs::read_to_string(&expected_path)
                .unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()));
            let output = fs::read_to_string(&out).expect("fixture output");
            let case = out
                .file_stem()
                .and_then(|s| s.to_str())
                .expect("name")
                .to_owned();
            found.push((system, case, output, expected));
        }
    }
    found
}

fn parse_state(word: &str) -> Option<JobState> {
    Some(match word {
        "pending" => JobState::Pending,
        "running" => JobState::Running,
        "finished" => JobState::Finished,
        "failed" => JobState::Failed,
        "cancelled" => JobState::Cancelled,
        "unknown" => JobState::Unknown,
        "absent" => return None,
        other => panic!("unknown expected state {other:?}"),
    })
}

#[test]
fn every_submit_fixture_gives_its_expected_id() {
    let cases = cases("submit");
    let mut failures = Vec::new();
    for system in BatchSystem::ALL {
        let n = cases.iter().filter(|c| c.0 == system).count();
        assert!(n >= 3, "{system}: only {n} submit fixtures");
    }
    for (system, case, output, expected) in &cases {
        let expected = expected.trim();
        let got = system.parse_submit_output(output);
        match (expected, &got) {
            ("ERROR", Err(err)) => {
                // The error must quote what the tool printed.
                let first_line = output.lines().map(str::trim).find(|l| !l.is_empty());
                if let Some(line) = first_line {
                    if !err.to_string().contains(line) {
                        failures.push(format!(
                            "{system}/{case}: error does not quote output: {err}"
                        ));
                    }
                }
            }
            ("ERROR", Ok(id)) => {
                failures.push(format!("{system}/{case}: expected an error, got {id}"))
            }
            (want, Ok(id)) if id.as_str() == want => {}
            (want, got) => failures.push(format!("{system}/{case}: expected {want}, got {got:?}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_status_fixture_gives_its_expected_states() {
    let cases = cases("status");
    let mut failures = Vec::new();
    for system in BatchSystem::ALL {
        assert!(
            cases.iter().any(|c| c.0 == system),
            "{system}: no status fixtures"
        );
    }
    for (system, case, output, expected) in &cases {
        let wanted: Vec<(JobId, Option<JobState>)> = expected
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let (id, state) = l.trim().split_once(' ').expect("`id state` line");
                (JobId::new(id), parse_state(state.trim()))
            })
            .collect();
        let ids: Vec<JobId> = wanted.iter().map(|(id, _)| id.clone()).collect();
        let states = system.parse_status(output, &ids);
        for (id, want) in &wanted {
            let got = states.get(id).copied();
            if got != *want {
                failures.push(format!(
                    "{system}/{case}: {id}: expected {want:?}, got {got:?}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

proptest::proptest! {
    /// Parsers never panic, whatever a wrapper prints, and a submit parser's id always appears
    /// in the output it came from.
    #[test]
    fn parsers_never_panic(output in "(\\PC{0,20}|[0-9 .;:<>\\[\\]_-]{0,12}|\\n){0,8}") {
        let ids = [JobId::new("12"), JobId::new("Moab.3"), JobId::new("4.srv")];
        for system in BatchSystem::ALL {
            if let Ok(id) = system.parse_submit_output(&output) {
                proptest::prop_assert!(output.contains(id.as_str()), "{system}: {id} not in {output:?}");
            }
            let states = system.parse_status(&output, &ids);
            proptest::prop_assert!(states.keys().all(|k| ids.contains(k)));
        }
    }
}
