//! `seckill-load`: drives `GET /seckill` at a local gate with many concurrent requests over a
//! set of goods and users, retrying 503s like a buyer would, and writes every answer to a load
//! log (JSON lines) for `seckill-verify --load-log`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use loadtest::driver::{self, LoadConfig};
use loadtest::load_log::LoadLogWriter;

/// Sends a bounded flash-sale load to a gate on this machine and logs every answer.
#[derive(Debug, Parser)]
#[command(name = "seckill-load", version, about, long_about = None)]
struct Cli {
    /// The gate (this machine only).
    #[arg(long, env = "SECKILL_WEB_URL", default_value = "http://127.0.0.1:8081")]
    url: String,
    /// Goods ids, picked uniformly per request (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "1,2,3")]
    goods: Vec<i64>,
    /// Distinct users; ids are first-user ..= first-user + users - 1.
    #[arg(long, default_value_t = 1000)]
    users: u64,
    /// The first user id (use a fresh range to sell again to new buyers).
    #[arg(long, default_value_t = 1)]
    first_user: i64,
    /// Requests to send (retries not counted).
    #[arg(long, default_value_t = 10_000)]
    requests: u64,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Start at most this many requests per second (default: as fast as answers come).
    #[arg(long)]
    rate: Option<f64>,
    /// Stop sending new requests after this many seconds.
    #[arg(long, default_value_t = 120)]
    max_duration_secs: u64,
    /// Retry a request answered 503 / not answered for up to this many seconds (0 = never).
    #[arg(long, default_value_t = 30)]
    retry_for_secs: u64,
    /// Seed of the goods/user choice.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Where the load log goes.
    #[arg(long, default_value = "target/loadtest/load.jsonl")]
    log: PathBuf,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("seckill-load: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = LoadConfig {
        base_url: cli.url,
        goods: cli.goods,
        users: cli.users,
        first_user: cli.first_user,
        requests: cli.requests,
        concurrency: cli.concurrency,
        rate_per_sec: cli.rate,
        max_duration: Duration::from_secs(cli.max_duration_secs),
        retry_for: Duration::from_secs(cli.retry_for_secs),
        seed: cli.seed,
        ..LoadConfig::default()
    };
    config.validate()?;
    let (sink, writer) = LoadLogWriter::create(&cli.log).await?;
    let summary = driver::run(config, Some(sink)).await?;
    let records = writer.finish().await?;
    if cli.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        println!("{summary}");
    }
    eprintln!(
        "load log: {} ({records} records); check it with: seckill-verify --load-log {}",
        cli.log.display(),
        cli.log.display()
    );
    Ok(())
}
