//! The `seckill-web` binary: parses the configuration and runs the gate.

use std::process::ExitCode;

use clap::Parser;
use mq_core::process::init_tracing;
use seckill_web::Config;

fn main() -> ExitCode {
    let config = Config::parse();
    init_tracing(config.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
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
    // Redis is checked first so a misconfigured deployment fails with the clearest line.
    let _redis = seckill_web::server::connect_redis(
        &config.redis_url,
        config.redis_timeout(),
        config.startup_timeout(),
    )
    .await?;
    // The mq-core producer (the OrderPublisher implementation) and the broadcasting
    // stock-returned consumer are wired in by the next step of issue 6:
    //   let publisher = Arc::new(MqOrderPublisher::start(&config).await?);
    //   let (listener, state) = server::prepare(&config, publisher).await?;
    //   let consumer = <broadcast consumer calling on_stock_returned(&state.sold_out_flags(), ..)>;
    //   server::serve(listener, state, shutdown_signal()).await?; consumer.shutdown().await;
    anyhow::bail!(
        "the mq-core order publisher is not wired in yet (namesrv {}); refusing to start a gate \
         that could not queue orders",
        config.namesrv_addr
    )
}
