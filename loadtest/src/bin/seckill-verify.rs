//! `seckill-verify`: after a load run, waits for the queue to drain and checks SPEC §4's
//! invariants per goods against MySQL, Redis and the broker. Exit status: 0 all hold,
//! 1 a violation (named), 2 the check could not run.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use loadtest::stack::{DEFAULT_DATABASE_URL, DEFAULT_REDIS_URL};
use loadtest::verify::{self, DEFAULT_CONSUMER_GROUP, VerifyConfig};

/// Checks the seckill invariants after a run: orders = min(S, U); no duplicate orders;
/// MySQL stock = S - orders >= 0; every QUEUED user has one order or a FAILED result with the
/// stock returned; Redis agrees with MySQL.
#[derive(Debug, Parser)]
#[command(name = "seckill-verify", version, about, long_about = None)]
struct Cli {
    /// MySQL holding goods and order_records.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    database_url: String,

    /// Redis holding the gate state.
    #[arg(long, env = "REDIS_URL", default_value = DEFAULT_REDIS_URL)]
    redis_url: String,

    /// Prefix of the services' Redis keys.
    #[arg(long, env = "SECKILL_REDIS_KEY_PREFIX", default_value = seckill_order::keys::DEFAULT_PREFIX)]
    redis_key_prefix: String,

    /// Name server, asked for the consumer lag while waiting for the drain.
    #[arg(long, env = "MQ_NAMESRV_ADDR", default_value = "127.0.0.1:9876")]
    namesrv_addr: String,

    /// Do not wait for the drain (no broker needed); PENDING results then show as violations.
    #[arg(long)]
    no_drain: bool,

    /// How long to wait for consumer lag 0 and no PENDING result, in seconds.
    #[arg(long, default_value_t = 60)]
    drain_timeout_secs: u64,

    /// seckill-service's consumer group.
    #[arg(long, env = "SECKILL_CONSUMER_GROUP", default_value = DEFAULT_CONSUMER_GROUP)]
    consumer_group: String,

    /// The order topic.
    #[arg(long, env = "SECKILL_ORDER_TOPIC", default_value = seckill_order::message::ORDER_TOPIC)]
    order_topic: String,

    /// The run's load log (JSON lines from seckill-load): who asked and who heard QUEUED.
    #[arg(long)]
    load_log: Option<PathBuf>,

    /// Initial stock of a goods, GOODS=S (repeatable); default MySQL stock + orders.
    #[arg(long, value_parser = parse_initial_stock)]
    initial_stock: Vec<(i64, i64)>,

    /// Only these goods (comma-separated); default every goods on sale or in the load log.
    #[arg(long, value_delimiter = ',')]
    goods: Option<Vec<i64>>,

    /// Print the report as one JSON document.
    #[arg(long)]
    json: bool,
}

fn parse_initial_stock(s: &str) -> Result<(i64, i64), String> {
    let (g, n) = s
        .split_once('=')
        .ok_or_else(|| format!("expected GOODS=S, got {s:?}"))?;
    let goods: i64 = g
        .trim()
        .parse()
        .map_err(|_| format!("bad goods id in {s:?}"))?;
    let stock: i64 = n
        .trim()
        .parse()
        .map_err(|_| format!("bad stock in {s:?}"))?;
    if goods <= 0 || stock < 0 {
        return Err(format!("goods must be positive and stock >= 0 in {s:?}"));
    }
    Ok((goods, stock))
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = VerifyConfig {
        database_url: cli.database_url,
        redis_url: cli.redis_url,
        redis_key_prefix: cli.redis_key_prefix,
        namesrv_addr: (!cli.no_drain).then_some(cli.namesrv_addr),
        consumer_group: cli.consumer_group,
        order_topic: cli.order_topic,
        drain_timeout: Duration::from_secs(cli.drain_timeout_secs),
        load_log: cli.load_log,
        initial_stock: cli.initial_stock.into_iter().collect::<BTreeMap<_, _>>(),
        goods: cli.goods,
    };
    match verify::verify(&config).await {
        Ok(report) => {
            if cli.json {
                println!("{}", report.to_json());
            } else {
                print!("{}", report.to_table());
            }
            if report.ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("seckill-verify: {e}");
            ExitCode::from(2)
        }
    }
}
