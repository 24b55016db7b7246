//! The `commerce` binary: with no arguments it serves; see [`commerce::cli`].

use std::process::ExitCode;

/// mimalloc instead of the system allocator: a GraphQL response is built
/// from many small allocations, which glibc's malloc serves slowly.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    commerce::cli::run(std::env::args().skip(1).collect()).await
}
