//! The `confab` binary.

/// mimalloc instead of the system allocator: webhook handling allocates many small, short-lived
/// buffers on several threads, where glibc's malloc/free was about a sixth of the ingest profile.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    confab_server::cli::main()
}
