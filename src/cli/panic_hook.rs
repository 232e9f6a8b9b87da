//! The binary's panic hook: a panic never prints Rust's raw `thread '…' panicked at src/…`
//! text next to the clean error. A kernel's panic (under `runtime::call_kernel`) is caught and
//! reported as that task's failure, so the hook only logs it (`--log debug` shows where); any
//! other panic becomes one `tessera: internal error: …` line.
//!
//! This module must not decide exit codes or catch panics itself.

use std::panic::PanicHookInfo;

/// Replaces the default panic hook (once, at start-up).
pub fn install() {
    std::panic::set_hook(Box::new(|info: &PanicHookInfo<'_>| {
        let message = crate::runtime::panic_text(info.payload());
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let thread = std::thread::current();
        tracing::debug!(thread = thread.name(), %location, "panic: {message}");
        if let Some(line) = panic_line(crate::runtime::in_kernel(), thread.name(), &message) {
            eprintln!("{line}");
        }
    }));
}

/// What the user sees for a panic on `thread`: nothing inside a kernel (its task's failure
/// is reported), one line otherwise.
fn panic_line(in_kernel: bool, thread: Option<&str>, message: &str) -> Option<String> {
    if in_kernel {
        return None;
    }
    let first = message.lines().next().unwrap_or_default();
    Some(match thread {
        Some("main") | None => {
            format!("tessera: internal error: {first} (a bug; TESSERA_LOG=debug shows where)")
        }
        Some(name) => format!(
            "tessera: internal error in thread {name}: {first} (a bug; TESSERA_LOG=debug shows where)"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_panics_are_silent_others_one_line_never_the_raw_form() {
        assert_eq!(panic_line(true, Some("main"), "boom"), None);
        assert_eq!(panic_line(true, Some("tessera-executor-0"), "boom"), None);
        let line = panic_line(false, Some("main"), "index out of bounds\nmore").expect("a line");
        assert_eq!(
            line,
            "tessera: internal error: index out of bounds (a bug; TESSERA_LOG=debug shows where)"
        );
        let other = panic_line(false, Some("fetcher"), "boom").expect("a line");
        assert!(other.starts_with("tessera: internal error in thread fetcher: boom"));
        assert!(!line.contains("panicked at") && !other.contains("panicked at"));
    }

    #[test]
    fn a_caught_kernel_panic_is_marked_and_its_text_kept() {
        assert!(!crate::runtime::in_kernel());
        let r = crate::runtime::call_kernel(|| {
            assert!(crate::runtime::in_kernel());
            panic!("kernel {} broke", 7)
        });
        assert_eq!(r.err().as_deref(), Some("kernel 7 broke"));
        assert!(!crate::runtime::in_kernel());
    }
}
