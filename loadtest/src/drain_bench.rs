//! `seckill-bench drain` (SPEC §6): orders/s seckill-service's consumer and writer put into
//! MySQL from a queued backlog, next to the raw ceiling of the same MySQL measured in the same
//! run (the same number of order rows in 1,000-row multi-row transactions,
//! [`seckill_service::bench::raw_insert_ceiling`]).
//!
//! The run: a fresh database (created, migrated, dropped at the end), a broker (a
//! `LocalCluster` in a temp dir, or `--namesrv`), Redis under a key prefix of its own with one
//! gate take per user (so results and markers are as seckill-web leaves them), `--orders`
//! order messages queued in batches; then the service's real start-up path
//! ([`Service::start`] and [`Consumers::start`]) drains them, timed from the consumers' start
//! until the goods' MySQL stock reaches 0 — the moment the last order committed.

use std::str::FromStr;
use std::time::{Duration, Instant};

use clap::Parser;
use futures::future::try_join_all;
use mq_core::client::{Admin, Message, Producer};
use mq_core::cluster::LocalCluster;
use seckill_order::message::ORDER_TAG;
use seckill_order::{GoodsKeys, OrderMessage, gate};
use seckill_service::bench::{RawCeiling, raw_insert_ceiling};
use seckill_service::config::{self, Config};
use seckill_service::consumer::Consumers;
use seckill_service::service::Service;
use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions};
use sqlx::{ConnectOptions, Executor};

use crate::error::{Error, Result};
use crate::spec_line::{self, SpecLine, verdict};

/// The figure the writer is held to: at least this share of the raw ceiling.
pub const TARGET_RATIO: f64 = 0.25;
const BENCH_NAME: &str = "seckill-bench drain";
const REFERENCE_NAME: &str = "multi-row inserts, 1,000 per transaction";
/// The goods every order is for (seeded by the migrations).
const GOODS_ID: i64 = 1;
/// Messages per batch send while queueing the backlog, and batch sends in flight.
const SEND_BATCH: usize = 256;
const SENDS_IN_FLIGHT: usize = 4;
/// How often the drain's end is looked for (one primary-key read).
const POLL_EVERY: Duration = Duration::from_millis(10);

/// Options of `seckill-bench drain`.
#[derive(Debug, Clone, Parser)]
pub struct DrainArgs {
    /// Orders queued and drained.
    #[arg(short = 'n', long, default_value_t = 100_000,
          value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub orders: u64,

    /// Use the broker behind this name server instead of starting one in this process.
    #[arg(long, env = "MQ_NAMESRV_ADDR")]
    pub namesrv: Option<String>,

    /// MySQL server (its database part is ignored: the bench creates and drops its own).
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "mysql://seckill:seckill@127.0.0.1:3306/seckill"
    )]
    pub database_url: String,

    /// Redis (the bench's keys get a prefix of their own and are deleted afterwards).
    #[arg(long, env = "REDIS_URL", default_value = "redis://127.0.0.1:6379")]
    pub redis_url: String,

    /// Queues of the bench's order topic.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(i32).range(1..=64))]
    pub queues: i32,

    /// The writer's most messages per transaction (seckill-service --batch-max).
    #[arg(long, default_value_t = config::DEFAULT_BATCH_MAX)]
    pub batch_max: u32,

    /// Listener calls at once (seckill-service --consume-threads).
    #[arg(long, default_value_t = config::DEFAULT_CONSUME_THREADS)]
    pub consume_threads: u32,

    /// Messages per listener call (seckill-service --consume-batch).
    #[arg(long, default_value_t = config::DEFAULT_CONSUME_BATCH)]
    pub consume_batch: u32,

    /// Keep the bench's database instead of dropping it (to look at the rows).
    #[arg(long)]
    pub keep_database: bool,

    /// Print one SPEC §6 JSON object per line and scenario instead of text.
    #[arg(long)]
    pub json: bool,
}

/// What one run measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DrainReport {
    /// Orders drained.
    pub orders: u64,
    /// From the consumers' start until the last order committed.
    pub drained_in: Duration,
    /// `orders / drained_in`.
    pub orders_per_sec: f64,
    /// The raw ceiling of the same database, measured right after.
    pub ceiling: RawCeiling,
}

impl DrainReport {
    /// Writer orders/s ÷ raw rows/s.
    pub fn ratio(&self) -> f64 {
        spec_line::ratio(self.orders_per_sec, self.ceiling.rows_per_sec)
    }
}

/// Runs the benchmark and prints its figures.
pub async fn run(args: DrainArgs) -> Result<()> {
    let report = measure(&args).await?;
    print(&args, &report)
}

/// Sets up, drains, measures the ceiling and cleans up; the figures of one run.
pub async fn measure(args: &DrainArgs) -> Result<DrainReport> {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let id = id.get(..12).unwrap_or(&id).to_owned();
    let scratch = ScratchDatabase::create(&args.database_url, &format!("bench_drain_{id}")).await?;
    let names = Names::new(&id);
    let outcome = on_a_broker(args, &scratch, &names).await;
    forget_redis(&args.redis_url, &names.prefix).await;
    if args.keep_database {
        eprintln!("seckill-bench drain: kept database {}", scratch.name);
    } else {
        scratch.drop_it().await?;
    }
    outcome
}

/// Runs the drain on `--namesrv`'s broker, or on a LocalCluster started (and stopped) here.
async fn on_a_broker(
    args: &DrainArgs,
    scratch: &ScratchDatabase,
    names: &Names,
) -> Result<DrainReport> {
    if let Some(namesrv) = &args.namesrv {
        return drain_and_ceiling(args, scratch, namesrv, names).await;
    }
    let dir = tempfile::tempdir()?;
    let cluster = LocalCluster::builder()
        .production_index_sizes()
        .start(dir.path())
        .await
        .map_err(|e| process("broker", e))?;
    let namesrv = cluster.namesrv_addr().to_string();
    let outcome = drain_and_ceiling(args, scratch, &namesrv, names).await;
    if let Err(e) = cluster.shutdown().await {
        tracing::warn!(error = %e, "local cluster did not stop cleanly");
    }
    outcome
}

/// The bench's own names: topic, group and Redis prefix.
struct Names {
    order_topic: String,
    stock_topic: String,
    group: String,
    prefix: String,
}

impl Names {
    fn new(id: &str) -> Self {
        Self {
            order_topic: format!("bench-drain-orders-{id}"),
            stock_topic: format!("bench-drain-stock-{id}"),
            group: format!("bench-drain-{id}"),
            prefix: format!("bench-drain-{id}"),
        }
    }
}

async fn drain_and_ceiling(
    args: &DrainArgs,
    scratch: &ScratchDatabase,
    namesrv: &str,
    names: &Names,
) -> Result<DrainReport> {
    let orders = i64::try_from(args.orders)
        .map_err(|_| Error::Config(format!("--orders {} is too large", args.orders)))?;
    let pool = MySqlPoolOptions::new()
        .max_connections(4)
        .connect(&scratch.url)
        .await?;
    seckill_service::db::MIGRATOR
        .run(&pool)
        .await
        .map_err(|e| process("migrations", e))?;
    sqlx::query("UPDATE goods SET stocks = ? WHERE id = ?")
        .bind(orders)
        .bind(GOODS_ID)
        .execute(&pool)
        .await?;
    take_places(&args.redis_url, &names.prefix, orders).await?;
    queue_orders(namesrv, args, names, orders).await?;

    let config = service_config(args, scratch, namesrv, names)?;
    let service = Service::start(&config)
        .await
        .map_err(|e| process("seckill-service", e))?;
    let started = Instant::now();
    let consumers = match Consumers::start(&config, &service).await {
        Ok(consumers) => consumers,
        Err(e) => {
            service.shutdown().await;
            return Err(process("seckill-service", e));
        }
    };
    let drained = wait_for_stock_zero(&pool).await;
    let drained_in = started.elapsed();
    consumers.shutdown().await;
    service.shutdown().await;
    drained?;

    let written: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM order_records")
        .fetch_one(&pool)
        .await?;
    if written != orders {
        return Err(Error::Config(format!(
            "{written} orders written for {orders} queued: the drain is wrong, not slow"
        )));
    }
    let ceiling = raw_insert_ceiling(&pool, args.orders).await?;
    pool.close().await;
    Ok(DrainReport {
        orders: args.orders,
        drained_in,
        orders_per_sec: args.orders as f64 / drained_in.as_secs_f64().max(f64::EPSILON),
        ceiling,
    })
}

/// The service as the binary would be configured, on the bench's database, broker and names.
fn service_config(
    args: &DrainArgs,
    scratch: &ScratchDatabase,
    namesrv: &str,
    names: &Names,
) -> Result<Config> {
    let flags = [
        ("--database-url", scratch.url.clone()),
        ("--redis-url", args.redis_url.clone()),
        ("--namesrv-addr", namesrv.to_owned()),
        ("--redis-key-prefix", names.prefix.clone()),
        ("--order-topic", names.order_topic.clone()),
        ("--stock-topic", names.stock_topic.clone()),
        ("--consumer-group", names.group.clone()),
        ("--batch-max", args.batch_max.to_string()),
        ("--consume-threads", args.consume_threads.to_string()),
        ("--consume-batch", args.consume_batch.to_string()),
        ("--listen", "127.0.0.1:0".to_owned()),
    ];
    let argv = std::iter::once("seckill-service".to_owned())
        .chain(flags.into_iter().flat_map(|(k, v)| [k.to_owned(), v]));
    Config::try_parse_from(argv).map_err(|e| Error::Config(e.to_string()))
}

/// One gate take per user, as seckill-web does before it queues the order.
async fn take_places(redis_url: &str, prefix: &str, orders: i64) -> Result<()> {
    let client = redis::Client::open(redis_url)?;
    let conn = redis::aio::ConnectionManager::new(client).await?;
    let keys = GoodsKeys::new(prefix, GOODS_ID)?;
    gate::warm(&mut conn.clone(), &keys, orders, true).await?;
    let users: Vec<i64> = (1..=orders).collect();
    for chunk in users.chunks(2_000) {
        try_join_all(chunk.iter().map(|user| {
            let mut conn = conn.clone();
            let keys = &keys;
            async move { gate::take(&mut conn, keys, *user, &format!("drain-{user}")).await }
        }))
        .await?;
    }
    Ok(())
}

async fn forget_redis(redis_url: &str, prefix: &str) {
    let forgotten = async {
        let client = redis::Client::open(redis_url)?;
        let mut conn = client.get_multiplexed_async_connection().await?;
        let keys = GoodsKeys::new(prefix, GOODS_ID)?;
        let _deleted: i64 = redis::cmd("DEL")
            .arg(&keys.all()[..])
            .query_async(&mut conn)
            .await?;
        Ok::<(), Error>(())
    };
    if let Err(e) = forgotten.await {
        tracing::warn!(error = %e, "could not delete the bench's Redis keys");
    }
}

/// Creates the topic and queues `orders` order messages in batches.
async fn queue_orders(namesrv: &str, args: &DrainArgs, names: &Names, orders: i64) -> Result<()> {
    Admin::connect(namesrv)
        .await?
        .create_topic(&names.order_topic, args.queues)
        .await?;
    let producer = Producer::builder(format!("{}-producer", names.group))
        .namesrv_addr(namesrv)
        .start()
        .await?;
    let born = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let users: Vec<i64> = (1..=orders).collect();
    let mut sent = Ok(());
    for group in users.chunks(SEND_BATCH * SENDS_IN_FLIGHT) {
        let sends = group.chunks(SEND_BATCH).map(|batch| {
            let msgs: Vec<Message> = batch
                .iter()
                .map(|user| order_message(&names.order_topic, *user, born))
                .collect();
            producer.send_batch(msgs)
        });
        if let Err(e) = try_join_all(sends).await {
            sent = Err(e.into());
            break;
        }
    }
    producer.shutdown().await;
    sent
}

fn order_message(topic: &str, user_id: i64, born: i64) -> Message {
    let order = OrderMessage {
        goods_id: GOODS_ID,
        user_id,
        request_id: format!("bench-{user_id}"),
        timestamp: born,
    };
    Message::new(topic, order.to_json())
        .with_tag(ORDER_TAG)
        .with_key(order.biz_key())
}

/// Waits until the goods' MySQL stock is 0: every order committed.
async fn wait_for_stock_zero(pool: &MySqlPool) -> Result<()> {
    loop {
        let stock: i32 = sqlx::query_scalar("SELECT stocks FROM goods WHERE id = ?")
            .bind(GOODS_ID)
            .fetch_one(pool)
            .await?;
        if stock == 0 {
            return Ok(());
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// A database of the bench's own on the server of `--database-url`.
struct ScratchDatabase {
    name: String,
    url: String,
    server: MySqlPool,
}

impl ScratchDatabase {
    async fn create(server_url: &str, name: &str) -> Result<Self> {
        let options = MySqlConnectOptions::from_str(server_url)?;
        let server = MySqlPoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone().database("mysql"))
            .await?;
        // The name is made of [a-z0-9_] only: safe to format into the statement.
        server
            .execute(format!("CREATE DATABASE `{name}`").as_str())
            .await?;
        let url = options.database(name).to_url_lossy().to_string();
        Ok(Self {
            name: name.to_owned(),
            url,
            server,
        })
    }

    async fn drop_it(self) -> Result<()> {
        self.server
            .execute(format!("DROP DATABASE `{}`", self.name).as_str())
            .await?;
        self.server.close().await;
        Ok(())
    }
}

fn process(component: &'static str, err: impl std::fmt::Display) -> Error {
    Error::Process {
        component,
        reason: err.to_string(),
    }
}

fn print(args: &DrainArgs, report: &DrainReport) -> Result<()> {
    let ratio = report.ratio();
    if args.json {
        SpecLine::new(
            BENCH_NAME,
            format!(
                "{} queued orders, {} queues, batch {}, {}x{} in flight",
                report.orders,
                args.queues,
                args.batch_max,
                args.consume_threads,
                args.consume_batch
            ),
            (report.orders_per_sec, "orders/s"),
            (report.ceiling.rows_per_sec, REFERENCE_NAME),
        )
        .print()?;
    } else {
        println!(
            "seckill-bench drain: {} orders queued on {} queues (batch {}, {} x {} in flight)",
            report.orders, args.queues, args.batch_max, args.consume_threads, args.consume_batch
        );
        println!(
            "  writer       {:>10.0} orders/s  ({} orders in {:.2} s)",
            report.orders_per_sec,
            report.orders,
            report.drained_in.as_secs_f64()
        );
        println!(
            "  raw ceiling  {:>10.0} rows/s    ({} rows in {:.2} s, {REFERENCE_NAME})",
            report.ceiling.rows_per_sec,
            report.ceiling.rows,
            report.ceiling.elapsed.as_secs_f64()
        );
        println!(
            "  ratio {ratio:.3} ({} the target ≥ {TARGET_RATIO})",
            verdict(ratio, TARGET_RATIO)
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_spec_run() {
        let args = DrainArgs::try_parse_from(["drain"]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(args.orders, 100_000);
        assert_eq!(args.batch_max, config::DEFAULT_BATCH_MAX);
        assert_eq!(args.consume_threads * args.consume_batch, 2048);
        assert!(DrainArgs::try_parse_from(["drain", "--orders", "0"]).is_err());
    }

    #[test]
    fn the_ratio_is_writer_over_ceiling() {
        let report = DrainReport {
            orders: 10,
            drained_in: Duration::from_secs(1),
            orders_per_sec: 250.0,
            ceiling: RawCeiling {
                rows: 10,
                elapsed: Duration::from_secs(1),
                rows_per_sec: 1000.0,
            },
        };
        assert!((report.ratio() - 0.25).abs() < 1e-9);
    }
}
