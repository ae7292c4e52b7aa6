//! The `seckill-web` binary: parses the configuration and runs the gate.
//!
//! Start-up: settings → Redis → the order producer (with a route to the order topic) →
//! state and listener → the stock-returned consumer → serve until SIGTERM / Ctrl-C → drain →
//! producer shut down (by `serve`) → consumer shut down. Every failure is one line on stderr
//! and a non-zero exit.

use std::process::ExitCode;

use std::sync::Arc;

use clap::Parser;
use mq_core::process::{init_tracing, shutdown_signal};
use seckill_web::server::{self, StartupError};
use seckill_web::{Config, MqOrderPublisher, OrderPublisher, StockConsumer};

/// mimalloc: the request path allocates many small header strings (see docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let config = Config::parse();
    init_tracing(config.log_format);
    let runtime = match config.runtime() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("seckill-web: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("seckill-web: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(config: Config) -> anyhow::Result<()> {
    config.validate().map_err(StartupError::InvalidSetting)?;
    // Redis is checked first so a misconfigured deployment fails with the clearest line.
    let _redis = server::connect_redis(
        &config.redis_url,
        config.redis_timeout(),
        config.startup_timeout(),
    )
    .await?;
    let publisher =
        MqOrderPublisher::connect(&config.publisher_settings(), config.startup_timeout()).await?;
    let publisher = Arc::new(publisher);
    let (listener, state) = match server::prepare(&config, publisher.clone()).await {
        Ok(prepared) => prepared,
        Err(error) => {
            publisher.shutdown().await;
            return Err(error.into());
        }
    };
    let consumer =
        match StockConsumer::start(&config.stock_consumer_settings(), state.sold_out_flags()).await
        {
            Ok(consumer) => consumer,
            Err(error) => {
                publisher.shutdown().await;
                return Err(error.into());
            }
        };
    // `serve` drains the requests and gate tasks, then shuts the publisher down.
    let served = server::serve(listener, state, shutdown_signal()).await;
    consumer.shutdown().await;
    Ok(served?)
}
