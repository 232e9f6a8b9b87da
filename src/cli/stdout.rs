//! Results on stdout. `println!` panics when the reader has gone away (`tessera eval … | head`);
//! [`print_line`] (through the `outln!` macro) instead ends the command quietly with exit code 0,
//! as ripgrep and the coreutils do: the reader has all it wanted. It must not be used for
//! diagnostics (those go to stderr).

use std::fmt;
use std::io::Write;

/// Write one line to stdout; exit the process with 0 if stdout is a closed pipe.
pub fn print_line(args: fmt::Arguments<'_>) {
    print_with_end(args, b"\n");
}

/// Write text (already ending in a newline, if it should) to stdout, as [`print_line`] does.
pub fn print_text(text: &str) {
    print_with_end(format_args!("{text}"), b"");
}

fn print_with_end(args: fmt::Arguments<'_>, end: &[u8]) {
    let mut out = std::io::stdout().lock();
    let written = out.write_fmt(args).and_then(|()| out.write_all(end));
    if let Err(e) = written.and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("tessera: error: cannot write to stdout: {e}");
        std::process::exit(1);
    }
}

/// `println!` for results: see [`print_line`].
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cli::stdout::print_line(format_args!($($arg)*))
    };
}
pub(crate) use outln;
