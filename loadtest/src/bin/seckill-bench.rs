//! `seckill-bench`: the seckill application's benchmarks (SPEC §6), one subcommand each.
//!
//! - `gate`: `/seckill` req/s and p99 under oha against `/healthz` of the same process
//!   ([`loadtest::gate_bench`]).
//! - `drain`: orders/s seckill-service writes to MySQL from a queued backlog against
//!   1,000-row multi-row inserts of the same rows ([`loadtest::drain_bench`]).

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use loadtest::drain_bench::{self, DrainArgs};
use loadtest::gate_bench::{self, GateArgs};

/// mimalloc: the request path allocates many small header strings (see docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Benchmarks of the seckill application; each prints SPEC §6 JSON lines with --json.
#[derive(Debug, Parser)]
#[command(name = "seckill-bench", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,

    /// Runtime worker threads of this process, which hosts the gate, broker and service of
    /// `--local` runs (0 = one per CPU, tokio's default), as `seckill-web --worker-threads`.
    #[arg(
        long,
        global = true,
        env = "SECKILL_BENCH_WORKER_THREADS",
        default_value_t = 0,
        value_parser = clap::value_parser!(u16).range(0..=1024)
    )]
    worker_threads: u16,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// /seckill req/s and p99 under oha, stock never running out, against /healthz.
    Gate(GateArgs),
    /// Orders/s written to MySQL from a queued backlog, against raw multi-row inserts.
    Drain(DrainArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logs();
    let runtime = match seckill_web::config::runtime(cli.worker_threads) {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("seckill-bench: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = match cli.command {
        Command::Gate(args) => runtime.block_on(gate_bench::run(args)),
        Command::Drain(args) => runtime.block_on(drain_bench::run(args)),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("seckill-bench: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Warnings and errors only, unless `RUST_LOG` says otherwise: stdout carries the figures.
fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _already_set = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
