//! The `tessera` command: parse arguments, run, map errors to exit codes.
fn main() {}
