//! `seckill-chaos`: SPEC §4.4 as a command. Starts a stack of its own (free ports, scratch
//! database, fresh Redis key prefix), sends a paced load, `kill -9`s seckill-service and later
//! the broker mid-sale, restarts each, lets the load finish, then runs the invariant checker
//! with the run's load log. Exit status 0 when every invariant holds, 1 on a violation.
//! Everything it created is removed afterwards unless `--keep`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use loadtest::chaos::{self, ChaosStep};
use loadtest::driver::LoadConfig;
use loadtest::load_log::LoadLogWriter;
use loadtest::stack::{
    Component, DEFAULT_DATABASE_URL, DEFAULT_REDIS_URL, Sandbox, target_profile_dir,
};
use loadtest::verify;

/// Kill -9 seckill-service and the broker during a flash sale, restart them, verify.
#[derive(Debug, Parser)]
#[command(name = "seckill-chaos", version, about, long_about = None)]
struct Cli {
    /// MySQL server whose user may create databases (a scratch database is made there).
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    database_url: String,
    /// Redis (keys go under a fresh prefix).
    #[arg(long, env = "REDIS_URL", default_value = DEFAULT_REDIS_URL)]
    redis_url: String,
    /// Stock of goods 1 for the run (goods 2 and 3 keep the seed's 10 and 100).
    #[arg(long, default_value_t = 5000)]
    stock: i64,
    /// Distinct users (more than the stock, so the sale sells out).
    #[arg(long, default_value_t = 8000)]
    users: u64,
    /// Requests per second (paced, so the kills land mid-sale).
    #[arg(long, default_value_t = 500.0)]
    rate: f64,
    /// Length of the load, seconds.
    #[arg(long, default_value_t = 20)]
    duration_secs: u64,
    /// Requests in flight at most.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// When seckill-service is killed, seconds after the load started.
    #[arg(long, default_value_t = 4)]
    kill_service_at: u64,
    /// When the broker is killed, seconds after the load started.
    #[arg(long, default_value_t = 10)]
    kill_broker_at: u64,
    /// How long each killed process stays down, seconds (above the gate's 3 s send timeout,
    /// so orders sent while the broker is down are answered 503 and their places given back).
    #[arg(long, default_value_t = 5)]
    down_secs: u64,
    /// Keep the run's directory (logs, broker store, load log) afterwards.
    #[arg(long)]
    keep: bool,
    /// Print the verify report as JSON.
    #[arg(long)]
    json: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("seckill-chaos: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let bin_dir = target_profile_dir()?;
    let work_root = bin_dir
        .parent()
        .map_or_else(|| PathBuf::from("target"), PathBuf::from)
        .join("chaos");
    println!(
        "seckill-chaos: starting a stack of its own under {}",
        work_root.display()
    );
    let mut sandbox = Sandbox::start(
        &bin_dir,
        &work_root,
        &cli.database_url,
        &cli.redis_url,
        Vec::new(),
    )
    .await?;
    println!(
        "seckill-chaos: stack up (web {}, database {}, key prefix {}); logs in {}",
        sandbox.stack.spec().web_url(),
        sandbox.database.name,
        sandbox.redis_key_prefix,
        sandbox.stack.spec().log_dir().display()
    );
    sandbox.set_stock(1, cli.stock).await?;
    let initial_stock = sandbox.mysql_stocks().await?;

    let load = LoadConfig {
        base_url: sandbox.stack.spec().web_url(),
        goods: vec![1, 2, 3],
        users: cli.users,
        requests: (cli.rate * cli.duration_secs as f64) as u64,
        concurrency: cli.concurrency,
        rate_per_sec: Some(cli.rate),
        max_duration: Duration::from_secs(cli.duration_secs + 30),
        ..LoadConfig::default()
    };
    let steps = [
        ChaosStep {
            at: Duration::from_secs(cli.kill_service_at),
            component: Component::Service,
            down_for: Duration::from_secs(cli.down_secs),
        },
        ChaosStep {
            at: Duration::from_secs(cli.kill_broker_at),
            component: Component::Broker,
            down_for: Duration::from_secs(cli.down_secs),
        },
    ];
    let log_path = sandbox.work_dir.join("load.jsonl");
    let (sink, writer) = LoadLogWriter::create(&log_path).await?;
    let outcome = chaos::run(&mut sandbox.stack, load, &steps, Some(sink)).await;
    let records = writer.finish().await?;
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(e) => {
            eprintln!(
                "seckill-chaos: {e}; files kept in {}",
                sandbox.work_dir.display()
            );
            sandbox.cleanup(true).await?;
            return Ok(ExitCode::from(2));
        }
    };
    for event in &outcome.events {
        println!("  {:>6.1} s  {}", event.at_secs, event.what);
    }
    println!("load: {}", outcome.load);
    println!("load log: {} ({records} records)", log_path.display());

    let mut config = sandbox.verify_config(Some(log_path));
    config.initial_stock = initial_stock;
    let report = verify::verify(&config).await?;
    if cli.json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.to_table());
    }
    let keep = cli.keep || !report.ok;
    if keep {
        println!(
            "seckill-chaos: files kept in {}",
            sandbox.work_dir.display()
        );
    }
    sandbox.cleanup(keep).await?;
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
