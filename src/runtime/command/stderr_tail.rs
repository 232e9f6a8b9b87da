//! The last lines of a program's standard error, for the failure message of a command task:
//! kept in a bounded buffer while the program writes to a pipe, or read from the end of the
//! file it wrote. This module must not start or stop processes.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// Bytes of standard error kept (the failure message shows the last lines of them).
pub const TAIL_BYTES: usize = 4096;
/// Lines of standard error a failure message shows.
pub const TAIL_LINES: usize = 10;

/// Read `reader` to its end, keeping only the last [`TAIL_BYTES`] bytes.
pub fn keep_tail(mut reader: impl Read) -> Vec<u8> {
    let mut kept = Vec::with_capacity(TAIL_BYTES);
    let mut buf = [0u8; 8192];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                kept.extend_from_slice(&buf[..n]);
                if kept.len() > 2 * TAIL_BYTES {
                    kept.drain(..kept.len() - TAIL_BYTES);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    if kept.len() > TAIL_BYTES {
        kept.drain(..kept.len() - TAIL_BYTES);
    }
    kept
}

/// The last [`TAIL_BYTES`] bytes of the file at `path` (empty when it cannot be read).
pub fn file_tail(path: &Path) -> Vec<u8> {
    let Ok(mut file) = std::fs::File::open(path) else {
        return Vec::new();
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let start = len.saturating_sub(TAIL_BYTES as u64);
    if file.seek(SeekFrom::Start(start)).is_err() {
        return Vec::new();
    }
    keep_tail(file)
}

/// The last [`TAIL_LINES`] non-empty lines of `bytes` (lossy UTF-8), joined by newlines.
pub fn last_lines(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_the_end_of_a_long_stream_and_its_last_lines() {
        let text: String = (0..5000).map(|i| format!("line {i}\n")).collect();
        let tail = keep_tail(text.as_bytes());
        assert_eq!(tail.len(), TAIL_BYTES);
        assert!(text.ends_with(std::str::from_utf8(&tail).unwrap()));
        let last = last_lines(&tail);
        assert_eq!(last.lines().count(), TAIL_LINES);
        assert!(last.starts_with("line 4990") && last.ends_with("line 4999"));
        assert_eq!(last_lines(b"\n\nonly\n\n"), "only");
    }

    #[test]
    fn reads_the_end_of_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("err");
        std::fs::write(&path, "a\nb\n".repeat(3000)).unwrap();
        assert_eq!(file_tail(&path).len(), TAIL_BYTES);
        assert!(file_tail(&dir.path().join("missing")).is_empty());
    }
}
