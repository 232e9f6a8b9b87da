//! The `tessera` command: everything happens in [`tessera::cli::main`].

/// Large allocations (chunks) on huge pages, page aligned for direct I/O (see the module).
#[global_allocator]
static ALLOCATOR: tessera::huge_page_alloc::HugePageAlloc = tessera::huge_page_alloc::HugePageAlloc;

fn main() -> std::process::ExitCode {
    tessera::cli::main()
}
