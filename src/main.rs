//! The `tessera` command: everything happens in [`tessera::cli::main`].
fn main() -> std::process::ExitCode {
    tessera::cli::main()
}
