//! The service's settings: every one a CLI flag with an environment variable behind it.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use mq_core::client::push_consumer::DLQ_PREFIX;
use mq_core::client::{check_group, check_topic};
use mq_core::process::LogFormat;

/// Most messages per MySQL transaction. Measured with `seckill-bench drain` on the 2-core
/// development machine: 512 drained about 1.3× as many orders/s as 256, and bigger batches
/// gained little while holding the goods row lock longer.
pub const DEFAULT_BATCH_MAX: u32 = 512;
/// Order-consumer listener calls at once.
pub const DEFAULT_CONSUME_THREADS: u32 = 64;
/// Messages per listener call: 64 × 32 = 2,048 in flight, four batches' worth.
pub const DEFAULT_CONSUME_BATCH: u32 = 32;

/// seckill-service: consumes order messages and writes them to MySQL exactly once, gives stock
/// back when an order cannot be made, and serves the order centre and admin HTTP API.
#[derive(Debug, Clone, Parser)]
#[command(name = "seckill-service", version, about, long_about = None)]
pub struct Config {
    /// Address the HTTP API listens on.
    #[arg(long, env = "SECKILL_SERVICE_LISTEN", default_value = "0.0.0.0:8082")]
    pub listen: SocketAddr,

    /// MySQL/MariaDB URL; migrations are applied at start-up.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "mysql://seckill:seckill@127.0.0.1:3306/seckill"
    )]
    pub database_url: String,

    /// Redis URL holding the gate's stock counters and results.
    #[arg(long, env = "REDIS_URL", default_value = "redis://127.0.0.1:6379")]
    pub redis_url: String,

    /// Name server address(es), `;`-separated.
    #[arg(long, env = "MQ_NAMESRV_ADDR", default_value = "127.0.0.1:9876")]
    pub namesrv_addr: String,

    /// Prefix of every Redis key (must match seckill-web's).
    #[arg(long, env = "SECKILL_REDIS_KEY_PREFIX", default_value = seckill_order::keys::DEFAULT_PREFIX)]
    pub redis_key_prefix: String,

    /// Topic the order messages arrive on.
    #[arg(long, env = "SECKILL_ORDER_TOPIC", default_value = seckill_order::message::ORDER_TOPIC)]
    pub order_topic: String,

    /// Topic stock-returned events are published on (gates consume it in broadcasting mode).
    #[arg(long, env = "SECKILL_STOCK_TOPIC", default_value = seckill_order::message::STOCK_RETURNED_TOPIC)]
    pub stock_topic: String,

    /// Consumer group; its instances share the order topic's queues (clustering).
    #[arg(
        long,
        env = "SECKILL_CONSUMER_GROUP",
        default_value = "seckill-service-group"
    )]
    pub consumer_group: String,

    /// Most messages written in one MySQL transaction.
    #[arg(long, env = "SECKILL_BATCH_MAX", default_value_t = DEFAULT_BATCH_MAX,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub batch_max: u32,

    /// How long a batch waits for more messages before it is written, in milliseconds.
    #[arg(long, env = "SECKILL_BATCH_LINGER_MS", default_value_t = 5,
          value_parser = clap::value_parser!(u64).range(0..=10_000))]
    pub batch_linger_ms: u64,

    /// Business keys the bloom filter is sized for (orders expected over the filter's life).
    #[arg(long, env = "SECKILL_BLOOM_EXPECTED_ITEMS", default_value_t = 1_000_000,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000_000))]
    pub bloom_expected_items: u64,

    /// False-positive rate the bloom filter is sized for at its expected items (0 < p < 1).
    #[arg(long, env = "SECKILL_BLOOM_FP_RATE", default_value_t = 0.001, value_parser = parse_fp_rate)]
    pub bloom_fp_rate: f64,

    /// Most order-consumer listener calls at once. Calls × messages per call should be
    /// several times `--batch-max`, or batches cannot fill.
    #[arg(long, env = "SECKILL_CONSUME_THREADS", default_value_t = DEFAULT_CONSUME_THREADS,
          value_parser = clap::value_parser!(u32).range(1..=1_024))]
    pub consume_threads: u32,

    /// Most messages per listener call.
    #[arg(long, env = "SECKILL_CONSUME_BATCH", default_value_t = DEFAULT_CONSUME_BATCH,
          value_parser = clap::value_parser!(u32).range(1..=1_024))]
    pub consume_batch: u32,

    /// Most messages per pull request.
    #[arg(long, env = "SECKILL_PULL_BATCH", default_value_t = 32,
          value_parser = clap::value_parser!(u32).range(1..=1_024))]
    pub pull_batch: u32,

    /// Redeliveries of a message answered "reconsume later" before the broker moves it to
    /// `%DLQ%<group>`, where the dead-letter handler gives its stock back.
    #[arg(long, env = "SECKILL_MAX_RECONSUME_TIMES", default_value_t = 16,
          value_parser = clap::value_parser!(u32).range(0..=64))]
    pub max_reconsume_times: u32,

    /// How often the consumers re-check queue ownership and pick up new queues (such as
    /// the retry and dead-letter topics, which appear with their first message), in ms.
    #[arg(long, env = "SECKILL_REBALANCE_INTERVAL_MS", default_value_t = 20_000,
          value_parser = clap::value_parser!(u64).range(100..=600_000))]
    pub rebalance_interval_ms: u64,

    /// How often acknowledged offsets are committed to the broker, in ms (they are also
    /// committed at shutdown; after a crash, what was not committed is redelivered and
    /// recognised as duplicates).
    #[arg(long, env = "SECKILL_OFFSET_COMMIT_INTERVAL_MS", default_value_t = 5_000,
          value_parser = clap::value_parser!(u64).range(100..=600_000))]
    pub offset_commit_interval_ms: u64,

    /// Most MySQL connections in the pool.
    #[arg(long, env = "SECKILL_DB_MAX_CONNECTIONS", default_value_t = 16,
          value_parser = clap::value_parser!(u32).range(1..=1_000))]
    pub db_max_connections: u32,

    /// How long a statement waits for a row lock (`innodb_lock_wait_timeout` of every
    /// connection) before its batch gives up and is redelivered, in seconds.
    #[arg(long, env = "SECKILL_DB_LOCK_WAIT_TIMEOUT_SECS", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..=3_600))]
    pub db_lock_wait_timeout_secs: u32,

    /// How long start-up keeps retrying MySQL and Redis before it gives up, in seconds.
    #[arg(long, env = "SECKILL_CONNECT_TIMEOUT_SECS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=3_600))]
    pub connect_timeout_secs: u64,

    /// Log line format.
    #[arg(long, env = "SECKILL_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

impl Config {
    /// The batch linger as a duration.
    pub fn batch_linger(&self) -> Duration {
        Duration::from_millis(self.batch_linger_ms)
    }

    /// The consumers' rebalance period.
    pub fn rebalance_interval(&self) -> Duration {
        Duration::from_millis(self.rebalance_interval_ms)
    }

    /// The consumers' offset commit period.
    pub fn offset_commit_interval(&self) -> Duration {
        Duration::from_millis(self.offset_commit_interval_ms)
    }

    /// The group of the dead-letter handler: `<consumer_group>-dlq`. It needs a group of its
    /// own, because a group's consumers must all subscribe the same topics.
    pub fn dlq_group(&self) -> String {
        format!("{}-dlq", self.consumer_group)
    }

    /// The dead-letter topic of the order consumer's group: `%DLQ%<consumer_group>`.
    pub fn dlq_topic(&self) -> String {
        format!("{DLQ_PREFIX}{}", self.consumer_group)
    }

    /// The producer group of the stock-returned publisher.
    pub fn stock_producer_group(&self) -> String {
        format!("{}-stock", self.consumer_group)
    }

    /// The start-up retry budget as a duration.
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_secs(self.connect_timeout_secs)
    }

    /// Checks what clap cannot: the key prefix must be able to stand before a hash tag.
    pub fn validate(&self) -> Result<(), String> {
        seckill_order::keys::validate_prefix(&self.redis_key_prefix).map_err(|e| e.to_string())?;
        for (name, value) in [
            ("--order-topic", &self.order_topic),
            ("--stock-topic", &self.stock_topic),
            ("--consumer-group", &self.consumer_group),
        ] {
            if value.trim().is_empty() {
                return Err(format!("{name} must not be empty"));
            }
        }
        for (name, topic) in [
            ("--order-topic", &self.order_topic),
            ("--stock-topic", &self.stock_topic),
            ("--consumer-group", &self.dlq_topic()),
        ] {
            check_topic(topic).map_err(|e| format!("{name}: {e}"))?;
        }
        check_group(&self.dlq_group()).map_err(|e| format!("--consumer-group: {e}"))?;
        Ok(())
    }
}

fn parse_fp_rate(raw: &str) -> Result<f64, String> {
    let rate: f64 = raw
        .parse()
        .map_err(|_| format!("{raw:?} is not a number"))?;
    if rate > 0.0 && rate < 1.0 {
        Ok(rate)
    } else {
        Err(format!("{rate} is not between 0 and 1 (exclusive)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Config, clap::Error> {
        Config::try_parse_from(std::iter::once("seckill-service").chain(args.iter().copied()))
    }

    #[test]
    fn defaults_match_the_spec() {
        let config = parse(&[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.listen.port(), 8082);
        assert_eq!(config.batch_max, 512);
        assert_eq!(config.batch_linger(), Duration::from_millis(5));
        assert_eq!(config.consumer_group, "seckill-service-group");
        assert_eq!(config.order_topic, "seckillTopic");
        assert_eq!(config.consume_threads * config.consume_batch, 2048);
        assert!(config.consume_threads * config.consume_batch >= 4 * config.batch_max);
        assert_eq!(config.dlq_group(), "seckill-service-group-dlq");
        assert_eq!(config.dlq_topic(), "%DLQ%seckill-service-group");
        assert!(config.validate().is_ok());
    }

    #[test]
    fn bad_values_are_refused_by_the_parser() {
        assert!(parse(&["--bloom-fp-rate", "1.5"]).is_err());
        assert!(parse(&["--bloom-fp-rate", "x"]).is_err());
        assert!(parse(&["--batch-max", "0"]).is_err());
        assert!(parse(&["--consume-threads", "0"]).is_err());
        assert!(parse(&["--rebalance-interval-ms", "5"]).is_err());
        assert!(parse(&["--listen", "nowhere"]).is_err());
    }

    #[test]
    fn names_the_broker_would_refuse_are_refused() {
        for args in [
            ["--order-topic", "orders!"],
            ["--stock-topic", "a b"],
            ["--consumer-group", "g/1"],
        ] {
            let config = parse(&args).unwrap_or_else(|e| panic!("{e}"));
            assert!(config.validate().is_err(), "{args:?}");
        }
    }

    #[test]
    fn a_prefix_with_braces_is_refused() {
        let config = parse(&["--redis-key-prefix", "a{b"]).unwrap_or_else(|e| panic!("{e}"));
        assert!(config.validate().is_err());
    }
}
