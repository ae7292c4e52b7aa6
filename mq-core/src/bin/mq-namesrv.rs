//! `mq-namesrv`: the name server binary. Parses settings, binds, and hands over to
//! [`mq_core::namesrv::run`] until Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use mq_core::namesrv::{self, NamesrvConfig};
use mq_core::process::{LogFormat, init_tracing, shutdown_signal};

/// mimalloc: the request path allocates many small header strings (see docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// RocketMQ-compatible name server: broker registry and topic routes.
#[derive(Debug, Parser)]
#[command(name = "mq-namesrv", version, about)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "MQ_NAMESRV_LISTEN", default_value = "127.0.0.1:9876")]
    listen: SocketAddr,

    /// Drop a broker from routes after this many ms without a registration.
    #[arg(long, env = "MQ_NAMESRV_BROKER_TIMEOUT_MS", default_value_t = 120_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    broker_timeout_ms: u64,

    /// How often to look for expired brokers, in ms.
    #[arg(long, env = "MQ_NAMESRV_SCAN_INTERVAL_MS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    scan_interval_ms: u64,

    /// Maximum number of connections served at once.
    #[arg(long, env = "MQ_NAMESRV_MAX_CONNECTIONS", default_value_t = 1024,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    max_connections: u64,

    /// Close a connection idle for this many ms.
    #[arg(long, env = "MQ_NAMESRV_IDLE_TIMEOUT_MS", default_value_t = 120_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    idle_timeout_ms: u64,

    /// Log line format.
    #[arg(long, env = "MQ_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

fn main() -> ExitCode {
    let args = Args::parse();
    init_tracing(args.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("mq-namesrv: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(serve(args))
}

async fn serve(args: Args) -> ExitCode {
    let listener = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("mq-namesrv: cannot listen on {}: {e}", args.listen);
            return ExitCode::FAILURE;
        }
    };
    let config = NamesrvConfig {
        broker_timeout: Duration::from_millis(args.broker_timeout_ms),
        scan_interval: Duration::from_millis(args.scan_interval_ms),
        max_connections: usize::try_from(args.max_connections).unwrap_or(usize::MAX),
        idle_timeout: Duration::from_millis(args.idle_timeout_ms),
        ..NamesrvConfig::default()
    };
    match namesrv::run(listener, config, shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mq-namesrv: {e}");
            ExitCode::FAILURE
        }
    }
}
