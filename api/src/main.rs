//! `madoguchi`: see `madoguchi --help`.

use clap::Parser;

// glibc's allocator spent a fifth of the CPU under load (contention and consolidation across
// the HTTP, runtime and SQLite threads); mimalloc is built from source by its crate, offline.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = api::cli::Cli::parse();
    match api::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("madoguchi: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
