//! The `tessera` command: everything happens in [`tessera::cli::main`]. The binary alone binds
//! libhdf5 and libnetcdf lazily (see [`lazy_libraries`]).
mod lazy_libraries;

fn main() -> std::process::ExitCode {
    tessera::cli::main()
}
