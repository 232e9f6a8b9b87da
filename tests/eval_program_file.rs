//! `tessera eval -f FILE` and `-f -`: a program read from a file or stdin (several lines,
//! `#` comments) gives the same result as the same program on the command line, and a mistake
//! in it is reported with `--> FILE:LINE:COLUMN` above the caret, exit code 2.

mod common;

use std::io::Write;
use std::process::{Output, Stdio};
use std::time::Duration;

use common::*;

const TIMEOUT: Duration = Duration::from_secs(120);

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn eval_stdin(program: &str, args: &[&str]) -> Output {
    let mut child = tessera()
        .arg("eval")
        .args(["-f", "-"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tessera");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(program.as_bytes())
        .expect("write the program");
    wait_output(child, TIMEOUT)
}

const PROGRAM: &str = "\
# column means of a seeded field, doubled
x = random((40, 6), chunks=(16, 3), seed=7)   # 40 rows

y = x * 2
y.mean(axis=0)
";

#[test]
fn a_program_file_gives_the_same_result_as_the_argument() {
    let dir = temp_dir();
    let file = path_in(&dir, "columns.tsr");
    std::fs::write(&file, PROGRAM).expect("write the program");
    let from_file = run(
        &[
            "eval",
            "-f",
            file.to_str().expect("utf-8"),
            "--output",
            "json",
        ],
        TIMEOUT,
    );
    assert!(from_file.status.success(), "{}", text(&from_file.stderr));
    let inline = run(
        &[
            "eval",
            "x = random((40, 6), chunks=(16, 3), seed=7); y = x * 2; y.mean(axis=0)",
            "--output",
            "json",
        ],
        TIMEOUT,
    );
    assert!(inline.status.success(), "{}", text(&inline.stderr));
    assert_eq!(text(&from_file.stdout), text(&inline.stdout));
    let doc: serde_json::Value =
        serde_json::from_str(text(&from_file.stdout).trim()).expect("one JSON document");
    assert_eq!(doc["shape"], serde_json::json!([6]));

    let from_stdin = eval_stdin(PROGRAM, &["--output", "json"]);
    assert!(from_stdin.status.success(), "{}", text(&from_stdin.stderr));
    assert_eq!(text(&from_stdin.stdout), text(&inline.stdout));
}

#[test]
fn a_mistake_names_the_file_line_and_column_with_a_caret() {
    let dir = temp_dir();
    let file = path_in(&dir, "bad.tsr");
    std::fs::write(&file, "# bad\nx = ones((3, 4), chunks=2)\nm = meen(x)\nm\n").expect("write");
    let out = run(&["eval", "-f", file.to_str().expect("utf-8")], TIMEOUT);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert!(
        lines[0].starts_with("error: unknown function \"meen\""),
        "{err}"
    );
    assert_eq!(lines[1], format!(" --> {}:3:5", file.display()), "{err}");
    let source = lines
        .iter()
        .position(|l| *l == "3 | m = meen(x)")
        .expect("line 3");
    assert_eq!(lines[source + 1].find('^'), Some(8), "{err}");

    // An evaluation error (shapes) is located the same way; stdin is named <stdin>.
    let out = eval_stdin("a = ones((3, 4))\n\na * ones(5)\n", &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.starts_with("error: shape mismatch in `*`"), "{err}");
    assert_eq!(err.lines().nth(1), Some(" --> <stdin>:3:3"), "{err}");
}

#[test]
fn a_missing_file_or_two_programs_is_a_usage_error() {
    let out = run(&["eval", "-f", "/nonexistent/analysis.tsr"], TIMEOUT);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("-f /nonexistent/analysis.tsr: cannot read the program file"),
        "{err}"
    );

    let out = run(
        &["eval", "1 + 1", "-f", "/nonexistent/analysis.tsr"],
        TIMEOUT,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("cannot be used with"),
        "{}",
        text(&out.stderr)
    );
    let out = run(&["eval"], TIMEOUT);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("-f <FILE>"),
        "{}",
        text(&out.stderr)
    );
}
