//! The `commerce` binary: with no arguments it serves; see [`commerce::cli`].

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    commerce::cli::run(std::env::args().skip(1).collect()).await
}
