//! `mq-bench`: mq-core's benchmarks, one subcommand per file (`store` here; `produce`,
//! `consume` and `e2e` join as their own files). This file only parses and dispatches.

mod report;
mod store;

use clap::{Parser, Subcommand};

/// Benchmarks of mq-core; `--json` prints one SPEC §6 line per scenario.
#[derive(Debug, Parser)]
#[command(name = "mq-bench", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Store append throughput (1 KiB; 1, 8, 64 appenders; ASYNC_FLUSH and SYNC_FLUSH) next to
    /// raw file writes measured in the same run.
    Store(store::StoreArgs),
}

fn main() -> anyhow::Result<()> {
    // Logs go to stderr (stdout carries the results) and default to warnings only.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Store(args) => store::run(&args),
    }
}
