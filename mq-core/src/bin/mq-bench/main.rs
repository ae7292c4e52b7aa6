//! `mq-bench`: mq-core's benchmarks, one subcommand per file (`store` here; `produce`,
//! `consume` and `e2e` join as their own files). This file only parses and dispatches.

mod consume;
mod e2e;
mod produce;
mod report;
mod seconds;
mod store;
mod takeover;

use clap::{Parser, Subcommand};

/// mimalloc: the request path allocates many small header strings (see docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Sync-send throughput and latency against a broker (`--local` for an in-process one).
    Produce(produce::ProduceArgs),
    /// Push-consumer throughput draining a backlog, with 1..n instances.
    Consume(consume::ConsumeArgs),
    /// End-to-end latency (send to listener) at a fixed send rate.
    E2e(e2e::E2eArgs),
    /// The instance `consume --takeover` makes fail, run as its child process.
    #[command(hide = true)]
    TakeoverVictim(takeover::VictimArgs),
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
        Command::Produce(args) => produce::run(&args),
        Command::Consume(args) => consume::run(&args),
        Command::E2e(args) => e2e::run(&args),
        Command::TakeoverVictim(args) => takeover::victim(&args),
    }
}
