//! The `commerce` binary: with no arguments it serves; see [`commerce::cli`].

use std::process::ExitCode;

/// mimalloc instead of the system allocator: a GraphQL response is built
/// from many small allocations, and glibc's malloc took a fifth of the
/// server's CPU in the nested-read benchmark (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    commerce::cli::run(std::env::args().skip(1).collect()).await
}
