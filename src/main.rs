//! The `tessera` command: everything happens in [`tessera::cli::main`]. The binary alone binds
//! libhdf5, libhdf5_hl and libnetcdf lazily (see [`lazy_libraries`]) and puts large allocations
//! on huge pages.
mod lazy_libraries;

/// Large allocations (chunks) on huge pages, page aligned for direct I/O (see the module).
#[global_allocator]
static ALLOCATOR: tessera::huge_page_alloc::HugePageAlloc = tessera::huge_page_alloc::HugePageAlloc;

fn main() -> std::process::ExitCode {
    tessera::cli::main()
}
