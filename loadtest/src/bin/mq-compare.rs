//! `mq-compare`: the same produce and consume workloads against mq-core (ASYNC_FLUSH and
//! SYNC_FLUSH) and NATS JetStream, RabbitMQ and Redis Streams (SPEC §6); see
//! [`loadtest::compare`]. This file only parses the command line.

use std::process::ExitCode;

use clap::Parser;
use loadtest::compare::{self, CompareArgs};

/// mimalloc: the request path allocates many small header strings (see docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mq-core against its peers: produce with acknowledgement, drain, end-to-end latency.
/// Writes docs/benchmarks/mq-compare.{md,svg}; --json prints SPEC §6 lines.
#[derive(Debug, Parser)]
#[command(name = "mq-compare", version, about, long_about = None)]
struct Cli {
    #[command(flatten)]
    args: CompareArgs,
    /// Internal: serve a name server and broker with this flush type (the run's mq-core
    /// systems are served by child processes started this way).
    #[arg(long, hide = true, requires = "serve_store_dir")]
    serve_mq_cluster: Option<String>,
    /// Internal: the store directory of --serve-mq-cluster.
    #[arg(long, hide = true)]
    serve_store_dir: Option<std::path::PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Warnings only, unless RUST_LOG says otherwise: stdout carries the figures.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _already_set = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    if let (Some(flush), Some(dir)) = (&cli.serve_mq_cluster, &cli.serve_store_dir) {
        return match compare::mqcore::serve_cluster(flush, dir) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("mq-compare: serving mq-core: {error:#}");
                ExitCode::FAILURE
            }
        };
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("mq-compare: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(compare::run(cli.args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("mq-compare: {error}");
            ExitCode::FAILURE
        }
    }
}
