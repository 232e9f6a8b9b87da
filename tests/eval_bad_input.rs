//! The bad-input corpus of `tessera eval`: impossible shapes, integer overflow, huge and deeply
//! nested programs, garbage bytes. Every program must be refused by the real binary with a
//! short message and exit code 2 (4 for a task failure): no abort, no panic text, no echo of
//! a huge literal, within 10 s and 1 GB of peak RSS (`getrusage` of the reaped children).

mod common;

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;

/// Peak RSS in KiB of every child reaped so far.
fn children_peak_rss_kib() -> i64 {
    // SAFETY: getrusage writes into the zeroed struct we pass; no other memory is touched.
    unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage.ru_maxrss
    }
}

fn corpus() -> Vec<(String, OsString)> {
    let mut programs: Vec<String> = Vec::new();
    // Impossible shapes.
    for k in 7..=18 {
        programs.push(format!("zeros((10**{k}, 10**{k}))"));
        programs.push(format!("ones((10**{k}, 10**{k}, 10**{k})).shape"));
    }
    for e in [31, 32, 40, 48, 62, 63] {
        programs.push(format!("ones((2**{e}, 2**{e})).size"));
        programs.push(format!("sum(random((2**{e}, 2**{e})))"));
    }
    for n in ["10**8", "10**9", "10**10"] {
        programs.push(format!("sum(random(({n}, {n})))"));
        programs.push(format!("mean(ones(({n}, {n}), chunks=1000))"));
        programs.push(format!("eye({n}) @ eye({n})"));
    }
    programs.extend(
        [
            "zeros((-1,))",
            "zeros((3, -4))",
            "ones((2**32, 1)) + ones((1, 2**32))",
            "ones((10**6,)).reshape((7, -1))",
            "ones((4,)).reshape((-1, -1))",
            "broadcast_to(ones((3,)), (10**10, 10**10))",
            "linspace(0, 1, 10**19)",
            "arange(0, 10**18, 1e-9)",
            "full((2**40, 2**40), 1)",
            "random((10**5, 10**5), chunks=1)",
            "sum(ones((10**5, 10**5), chunks=10))",
            "tensordot(ones((10**5, 10**5)), ones((10**5, 10**5)), axes=0)",
            "ones((3, 4)) @ ones((5, 6))",
            "matmul(ones(()), ones((3,)))",
            "expand_dims(ones((2,)), (0, 0))",
            "ones((3,))[[5, 0]]",
            "ones((3, 3))[[0, 1], 1, [0]]",
            "sum(ones((3,)), axis=7)",
            // Issue 12 manipulation and statistics families.
            "repeat(ones((10**6,)), 10**12)",
            "tile(ones((10**6,)), 10**12)",
            "tile(ones((3,)), (2**40, 2**40))",
            "pad(ones((3,)), 10**18, mode=\"wrap\")",
            "pad(ones((3,)), 2**62)",
            "pad(ones((3,)), (1, 2, 3))",
            "pad(ones((3,)), 1, mode=\"median\")",
            "pad(zeros((0,)), 1, mode=\"edge\")",
            "roll(ones((3,)), 1, axis=4)",
            "flip(ones((3,)), 2)",
            "moveaxis(ones((2, 3)), (0, 1), 0)",
            "swapaxes(ones((2, 3)), 0, 9)",
            "triu(ones((3,)))",
            "tril(ones((10**10, 10**10)), 2)",
            "take(ones((3,)), [3])",
            "take(ones((3,)), ones((2,)))",
            "vstack((ones((2, 3)), ones((2, 4))))",
            "hstack(ones((3,)))",
            "full_like(ones((3,)), \"x\")",
            "logspace(0, 1, 10**19)",
            "average(ones((3,)), weights=ones((4,)))",
            "average(ones((3, 4)), axis=5, weights=ones((4,)))",
            "average(zeros((0,)), weights=zeros((0,)))",
            "cov(ones((2, 3, 4)))",
            "corrcoef(ones((10**10, 10**10)))",
            "nanvar(ones((3,)), axis=3)",
            "digitize(arange(5), [3, 1])",
            "searchsorted([2, 1], arange(5))",
            "isin(arange(5), [nan])",
            "isin(arange(5), arange(3))",
            "min(zeros((0, 3)))",
            "nanmax(zeros((0,)))",
            "argmax(zeros((2, 0)), axis=1)",
            "ones((3,)).astype(\"complex512\")",
            "rechunk(ones((10,)), 0)",
            "ones((10,), chunks=(1, 2, 3))",
        ]
        .map(String::from),
    );
    // Overflow of Python integers and of integer dtypes.
    programs.extend(
        [
            "2**64",
            "2**63",
            "9223372036854775807 + 1",
            "-9223372036854775807 - 2",
            "3 * 2**62",
            "(-2)**63 * -1",
            "18446744073709551616",
            "99999999999999999999999999",
            "arange(3).astype(\"uint8\") + 300",
            "arange(3).astype(\"uint8\") - -1",
            "arange(3).astype(\"uint8\") * 256",
            "arange(3).astype(\"int32\") * 3000000000",
            "arange(3).astype(\"int32\") + 2**31",
            "arange(3).astype(\"int32\") // -2147483649",
            "minimum(arange(3).astype(\"uint8\"), 1000)",
            "clip(arange(3).astype(\"uint8\"), 300, 400)",
            "arange(3).astype(\"uint8\") & 256",
            "1.5 & 2",
            "~ones((3,))",
            "round(arange(3.0), 10**12)",
        ]
        .map(String::from),
    );
    // Huge programs (an error at the end of a long line) and deep nesting.
    let big_list: String = (0..15_000).map(|i| format!("{i}, ")).collect();
    programs.push(format!("x = [{big_list}]; sum(x, axis=5)"));
    programs.push(format!("x = [{big_list}]; y"));
    programs.push(format!("[{big_list}] +"));
    programs.push(format!("\"{}", "a".repeat(100_000)));
    programs.push(format!("{} y", "x = 1; ".repeat(15_000)));
    programs.push(format!(
        "x = ones((3,)); {}sum(x, axis=9)",
        "x = x + 1; ".repeat(10_000)
    ));
    for depth in [33, 100, 1_000, 10_000, 20_000] {
        programs.push(format!("{}1{}", "(".repeat(depth), ")".repeat(depth)));
        programs.push(format!("{}1", "-".repeat(depth)));
        programs.push(format!("{}1", "~".repeat(depth)));
        programs.push(format!("{}1{}", "[".repeat(depth), "]".repeat(depth)));
        programs.push(format!(
            "{}ones((3,)){}",
            "abs(".repeat(depth),
            ")".repeat(depth)
        ));
        programs.push(format!("ones((3,)){}", "[0]".repeat(depth)));
        programs.push(format!("1{}", " ** 2".repeat(depth)));
        programs.push(format!("{}1", "not ".repeat(depth)));
    }
    programs.push("(".repeat(50_000));
    programs.push(")".repeat(50_000));
    // Garbage.
    programs.extend(
        [
            "",
            ";",
            ";;;",
            "= 1",
            "x =",
            "x = = 1",
            "1 +",
            "@",
            "\u{1}",
            "\u{7f}\u{1b}[2J",
            "¿qué?",
            "∑(x)",
            "x = 1; x(2)",
            "ones((3,))()",
            "'unterminated",
            "1e999999 + x",
            "0x",
            "1__0",
            "ones((3,)).nope",
            "ones((3,)).shape.shape",
            "sum(",
            "sum(,)",
            "f(x=1, x=2)",
            "ones(shape=(3,), shape=(3,))",
            "import numpy",
            "lambda x: x",
            "x = 1\n  y = 2",
            "ones((3,)) ; ; ones",
            "{1: 2}",
            "x if y else z",
        ]
        .map(String::from),
    );
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    for n in 0..30 {
        let len = 1 + (n * 37) % 400;
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                // Printable ASCII and punctuation, no NUL (argv cannot hold it).
                32 + (seed % 95) as u8
            })
            .collect();
        programs.push(String::from_utf8(bytes).expect("ascii"));
    }
    let mut out: Vec<(String, OsString)> = programs
        .into_iter()
        .map(|p| {
            let shown: String = p.chars().take(60).collect();
            (shown, OsString::from(p))
        })
        .collect();
    // Bytes that are not UTF-8.
    for bytes in [
        vec![0xff, 0xfe, 0x31],
        vec![b'1', b'+', 0xc3],
        vec![0x80; 64],
        vec![b'x', b'=', 0xed, 0xa0, 0x80],
    ] {
        out.push((format!("{bytes:?}"), OsString::from_vec(bytes)));
    }
    out
}

#[test]
fn every_bad_program_is_refused_cleanly_quickly_and_small() {
    let corpus = corpus();
    assert!(corpus.len() >= 150, "{} programs", corpus.len());
    let mut failures = Vec::new();
    for (shown, program) in &corpus {
        let started = Instant::now();
        let child = tessera()
            .args(["eval", "--output", "json", "--"])
            .arg(program)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn tessera");
        let out = wait_output(child, Duration::from_secs(30));
        let took = started.elapsed();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let code = out.status.code();
        let lines: Vec<&str> = stderr.lines().collect();
        let mut problems = Vec::new();
        if !matches!(code, Some(2) | Some(4)) {
            problems.push(format!("exit {code:?}"));
        }
        if stderr.contains("panicked") || stderr.contains("stack backtrace") {
            problems.push("panic text".to_string());
        }
        if !lines
            .first()
            .is_some_and(|l| l.starts_with("error:") || l.starts_with("tessera: error:"))
        {
            problems.push("no error line first".to_string());
        }
        if lines.len() > 16 || lines.iter().any(|l| l.chars().count() > 400) {
            problems.push(format!(
                "{} lines, longest {} characters",
                lines.len(),
                lines.iter().map(|l| l.chars().count()).max().unwrap_or(0)
            ));
        }
        if took > Duration::from_secs(10) {
            problems.push(format!("took {took:?}"));
        }
        let peak = children_peak_rss_kib();
        if peak > 1 << 20 {
            problems.push(format!("peak RSS {peak} KiB"));
        }
        if !problems.is_empty() {
            let first: String = lines.first().unwrap_or(&"").chars().take(200).collect();
            failures.push(format!(
                "{shown:?}: {}; stderr: {first}",
                problems.join(", ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} bad programs were not refused cleanly:\n{}",
        failures.len(),
        corpus.len(),
        failures.join("\n")
    );
}
