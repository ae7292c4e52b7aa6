//! The seckill-service binary: reads its configuration and runs the service until Ctrl-C or
//! SIGTERM. Every failure ends in one line on stderr and a non-zero exit.

use std::process::ExitCode;

use clap::Parser;
use mq_core::process::{init_tracing, shutdown_signal};
use seckill_service::config::Config;

/// mimalloc: the request path allocates many small header strings (see docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let config = Config::parse();
    init_tracing(config.log_format);
    match seckill_service::service::run(config, shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("seckill-service: {err}");
            ExitCode::FAILURE
        }
    }
}
