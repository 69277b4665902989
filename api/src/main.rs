//! `madoguchi`: see `madoguchi --help`.

use clap::Parser;

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
