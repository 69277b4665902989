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
            if e.downcast_ref::<api::cli::TempFail>().is_some() {
                // EX_TEMPFAIL: the MTA keeps the message and tries again.
                std::process::ExitCode::from(75)
            } else {
                std::process::ExitCode::FAILURE
            }
        }
    }
}
