//! Performance reports: `tessera eval … --report FILE` and `Client::performance_report`
//! write one HTML file that headless Chromium opens offline with no console error and no
//! network request, showing the task stream, time per prefix, workers, memory and the
//! program (screenshot under target/tmp/dashboard/report.png).

mod browser;
mod common;

use std::time::Duration;

use tessera::deploy::{LocalCluster, LocalClusterConfig};
use tessera::runtime::kernels_builtin::names;

const WAIT: Duration = Duration::from_secs(120);

#[test]
fn eval_report_opens_offline_in_chromium_with_the_task_stream_and_the_program() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.html");
    // The command of README.md, as written.
    let program = "x = random((2000, 2000), chunks=500, seed=1); std(x - x.mean(axis=0))";
    let out = common::run_in(
        dir.path(),
        &["eval", program, "--report", "report.html"],
        WAIT,
    );
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("performance report written to report.html"),
        "{said}"
    );
    assert!(out.status.success(), "{out:?}");
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(
        html.contains("std(x - x.mean(axis=0))"),
        "the program is in the report"
    );
    assert!(
        !html.contains("src=\"http") && !html.contains("href=\"http"),
        "no external script or style"
    );

    let Some(chromium) = browser::require_chromium() else {
        return;
    };
    let mut b = browser::Browser::start(chromium);
    let url = format!("file://{}", report.display());
    let tab = b.open(&url);
    let wait = Duration::from_secs(30);
    b.wait_for(
        &tab,
        "document.querySelectorAll('#report-tasks rect.task').length > 0",
        wait,
        "tasks in the report's task stream",
    );
    let rows = b.eval(
        &tab,
        "document.querySelectorAll('#report-status tr[data-prefix]').length",
    );
    assert!(rows.as_u64().unwrap() >= 2, "several task prefixes: {rows}");
    let done = b.eval(
        &tab,
        "Number(document.getElementById('report-tasks-done').textContent)",
    );
    assert!(
        done.as_f64().unwrap() >= 16.0,
        "at least the 16 chunks: {done}"
    );
    let workers = b.eval(
        &tab,
        "document.querySelectorAll('#report-workers tr[data-worker-id]').length",
    );
    assert_eq!(workers, 2, "the local cluster's two workers");
    let program_shown = b.eval(
        &tab,
        "document.getElementById('report-program').textContent",
    );
    assert_eq!(program_shown, program);
    b.screenshot(
        &tab,
        &std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dashboard/report.png"),
    );
    let errors = b.errors();
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    let requests: Vec<String> = b
        .requested_urls()
        .into_iter()
        .filter(|u| u != &url && !u.starts_with("data:") && u != "about:blank")
        .collect();
    assert!(requests.is_empty(), "the report requested {requests:?}");
}

#[test]
fn client_performance_report_covers_the_tasks_just_computed() {
    let cluster = LocalCluster::start(LocalClusterConfig::new(2, 1)).unwrap();
    let client = cluster.client().unwrap();
    let xs = client.map::<i64, i64>(names::INC, 0..300).unwrap();
    assert_eq!(client.gather(&xs).unwrap().len(), 300);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("perf.html");
    client.performance_report(&path).unwrap();
    let html = std::fs::read_to_string(&path).unwrap();
    let start = html
        .find("<script id=\"report-data\" type=\"application/json\">")
        .unwrap();
    let data = &html[start..];
    let data = &data[data.find('>').unwrap() + 1..data.find("</script>").unwrap()];
    let json: serde_json::Value = serde_json::from_str(&data.replace("<\\/", "</")).unwrap();
    let events = json["events"].as_array().unwrap();
    assert_eq!(
        events.len(),
        300,
        "every task of the map, none missing at the end"
    );
    let prefix = events[0]["prefix"].as_str().unwrap();
    assert!(prefix.starts_with("tessera.inc"), "{prefix}");
    assert!(!path.with_file_name(".perf.html.tmp").exists());
}

#[test]
fn a_report_is_refused_up_front_where_it_cannot_be_written_or_without_a_dashboard() {
    let out = common::run(
        &["eval", "1 + 1", "--report", "/nonexistent-dir/r.html"],
        WAIT,
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--report /nonexistent-dir/r.html: directory /nonexistent-dir does not exist"),
        "{err}"
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.json");
    let mut local = common::start_local(&file, 1, &["--no-dashboard"]);
    let report = dir.path().join("r.html");
    let f = file.to_str().unwrap();
    let out = common::run(
        &[
            "eval",
            "sum(ones(10, chunks=5))",
            "--scheduler-file",
            f,
            "--report",
            report.to_str().unwrap(),
        ],
        WAIT,
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("runs no dashboard"), "{err}");
    assert!(!report.exists());
    assert!(common::run(&["shutdown", "--scheduler-file", f], WAIT)
        .status
        .success());
    let _ = local.wait();
}
