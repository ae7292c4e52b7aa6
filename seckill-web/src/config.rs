//! The gate's settings: every one a CLI flag with an environment variable behind it (clap
//! `derive` + `env`), so `seckill-web --help` documents them all.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use mq_core::process::LogFormat;
use seckill_order::keys;
use seckill_order::message::{ORDER_TOPIC, STOCK_RETURNED_TOPIC};

use crate::publisher::PublisherSettings;
use crate::state::GateSettings;
use crate::stock_consumer::StockConsumerSettings;

/// The flash-sale HTTP gate: one atomic Redis step (dedup + stock pre-deduction), then the
/// order message to the broker; QUEUED only after the broker acknowledged it.
#[derive(Debug, Clone, Parser)]
#[command(name = "seckill-web", version, about, long_about = None)]
pub struct Config {
    /// Address the HTTP server listens on.
    #[arg(long, env = "SECKILL_WEB_LISTEN", default_value = "0.0.0.0:8081")]
    pub listen: SocketAddr,

    /// Redis holding the gate state (stock counters, dedup markers, results).
    #[arg(long, env = "REDIS_URL", default_value = "redis://127.0.0.1:6379")]
    pub redis_url: String,

    /// Name server address(es) of mq-core; `;`-separated list allowed.
    #[arg(long, env = "MQ_NAMESRV_ADDR", default_value = "127.0.0.1:9876")]
    pub namesrv_addr: String,

    /// Prefix of every Redis key (non-empty, no braces); must match seckill-service's.
    #[arg(long, env = "SECKILL_REDIS_KEY_PREFIX", default_value = keys::DEFAULT_PREFIX,
          value_parser = parse_prefix)]
    pub redis_key_prefix: String,

    /// Topic the order messages are sent to.
    #[arg(long, env = "SECKILL_ORDER_TOPIC", default_value = ORDER_TOPIC)]
    pub order_topic: String,

    /// Topic of stock-returned events, consumed in broadcasting mode to clear sold-out flags.
    #[arg(long, env = "SECKILL_STOCK_TOPIC", default_value = STOCK_RETURNED_TOPIC)]
    pub stock_topic: String,

    /// Producer group of the order messages.
    #[arg(
        long,
        env = "SECKILL_WEB_PRODUCER_GROUP",
        default_value = "seckill-web-producer"
    )]
    pub producer_group: String,

    /// Consumer group of the stock-returned broadcast (every instance gets every event).
    #[arg(
        long,
        env = "SECKILL_WEB_STOCK_GROUP",
        default_value = "seckill-web-stock"
    )]
    pub stock_consumer_group: String,

    /// Per-request timeout in milliseconds (answered 503 UNAVAILABLE). Keep it above the
    /// producer's send timeout: a place taken in Redis always ends QUEUED or given back, even
    /// after the client was answered.
    #[arg(long, env = "SECKILL_REQUEST_TIMEOUT_MS", default_value_t = 5000,
          value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub request_timeout_ms: u64,

    /// Total time one order send may take, the producer's retries included, in milliseconds.
    /// Must be below --request-timeout-ms.
    #[arg(long, env = "SECKILL_SEND_TIMEOUT_MS", default_value_t = 3000,
          value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub send_timeout_ms: u64,

    /// Extra attempts after a failed order send, each on another queue (within the send
    /// timeout).
    #[arg(long, env = "SECKILL_SEND_RETRIES", default_value_t = 2,
          value_parser = clap::value_parser!(u32).range(0..=16))]
    pub send_retries: u32,

    /// Directory under which the stock-returned consumer keeps its offsets, in a fresh
    /// subdirectory per run removed at shutdown [default: the system temp directory].
    #[arg(long, env = "SECKILL_WEB_OFFSET_DIR")]
    pub offset_dir: Option<PathBuf>,

    /// Timeout of one Redis command (and of connecting) in milliseconds.
    #[arg(long, env = "SECKILL_REDIS_TIMEOUT_MS", default_value_t = 1000,
          value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub redis_timeout_ms: u64,

    /// Requests handled at once by the gate routes; more are answered 503 at once, not queued.
    #[arg(long, env = "SECKILL_MAX_CONCURRENCY", default_value_t = 4096,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_concurrency: u64,

    /// Most gate requests one batch takes (one Redis run per goods, one broker batch send).
    /// Requests are batched only when they queue while earlier batches are in flight.
    #[arg(long, env = "SECKILL_MAX_BATCH", default_value_t = 256,
          value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub max_batch: u64,

    /// Gate batches in flight at once (1 = strictly one after the other). Two let one batch's
    /// Redis step overlap another's broker send; more only make the batches smaller.
    #[arg(long, env = "SECKILL_BATCHES_IN_FLIGHT", default_value_t = 2,
          value_parser = clap::value_parser!(u64).range(1..=64))]
    pub batches_in_flight: u64,

    /// How long a local sold-out flag lives without a stock-returned event, in milliseconds
    /// (0 = no local flag: every request asks Redis).
    #[arg(long, env = "SECKILL_SOLD_OUT_TTL_MS", default_value_t = 2000)]
    pub sold_out_ttl_ms: u64,

    /// Requests per user and second on /seckill, per instance (0 = no limit). Over it: 429.
    #[arg(long, env = "SECKILL_RATE_LIMIT_PER_USER", default_value_t = 0)]
    pub rate_limit_per_user: u32,

    /// Runtime worker threads (0 = one per CPU, tokio's default). Where the gate shares a
    /// small machine with Redis and the broker, fewer threads hand requests between cores less
    /// often: on 2 vCPUs, 1 thread took 10-15 % more /seckill requests (docs/benchmarks.md, Gate).
    #[arg(long, env = "SECKILL_WEB_WORKER_THREADS", default_value_t = 0,
          value_parser = clap::value_parser!(u16).range(0..=1024))]
    pub worker_threads: u16,

    /// How long start-up keeps retrying an unreachable Redis or name server, in milliseconds.
    #[arg(long, env = "SECKILL_STARTUP_TIMEOUT_MS", default_value_t = 10_000)]
    pub startup_timeout_ms: u64,

    /// Log line format.
    #[arg(long, env = "SECKILL_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// A multi-thread runtime with `worker_threads` workers (0 = one per CPU, tokio's default):
/// what `--worker-threads` means, for every process that hosts the gate.
pub fn runtime(worker_threads: u16) -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if worker_threads > 0 {
        builder.worker_threads(usize::from(worker_threads));
    }
    builder.enable_all().build()
}

impl Config {
    /// The async runtime this configuration asks for.
    pub fn runtime(&self) -> std::io::Result<tokio::runtime::Runtime> {
        runtime(self.worker_threads)
    }

    /// The settings the router and the gate need.
    pub fn gate_settings(&self) -> GateSettings {
        GateSettings {
            key_prefix: self.redis_key_prefix.clone(),
            request_timeout: Duration::from_millis(self.request_timeout_ms),
            max_concurrency: usize::try_from(self.max_concurrency).unwrap_or(usize::MAX),
            sold_out_ttl: Duration::from_millis(self.sold_out_ttl_ms),
            rate_limit_per_user: self.rate_limit_per_user,
            max_batch: usize::try_from(self.max_batch).unwrap_or(usize::MAX),
            batches_in_flight: usize::try_from(self.batches_in_flight).unwrap_or(usize::MAX),
        }
    }

    /// Refuses combinations of settings no single flag can check: a send that may outlast
    /// its request would answer 503 for orders that end up queued.
    pub fn validate(&self) -> Result<(), String> {
        if self.send_timeout_ms >= self.request_timeout_ms {
            return Err(format!(
                "--send-timeout-ms ({}) must be below --request-timeout-ms ({})",
                self.send_timeout_ms, self.request_timeout_ms
            ));
        }
        Ok(())
    }

    /// The order producer's settings.
    pub fn publisher_settings(&self) -> PublisherSettings {
        PublisherSettings {
            namesrv_addr: self.namesrv_addr.clone(),
            producer_group: self.producer_group.clone(),
            order_topic: self.order_topic.clone(),
            send_timeout: Duration::from_millis(self.send_timeout_ms),
            send_retries: self.send_retries,
        }
    }

    /// The stock-returned consumer's settings.
    pub fn stock_consumer_settings(&self) -> StockConsumerSettings {
        StockConsumerSettings {
            namesrv_addr: self.namesrv_addr.clone(),
            group: self.stock_consumer_group.clone(),
            topic: self.stock_topic.clone(),
            offset_dir: self.offset_dir.clone().unwrap_or_else(std::env::temp_dir),
        }
    }

    /// Timeout of one Redis command.
    pub fn redis_timeout(&self) -> Duration {
        Duration::from_millis(self.redis_timeout_ms)
    }

    /// How long start-up retries Redis.
    pub fn startup_timeout(&self) -> Duration {
        Duration::from_millis(self.startup_timeout_ms)
    }
}

fn parse_prefix(raw: &str) -> Result<String, String> {
    keys::validate_prefix(raw)
        .map(|()| raw.to_owned())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_spec() {
        let config = Config::try_parse_from(["seckill-web"]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.listen.to_string(), "0.0.0.0:8081");
        assert_eq!(config.order_topic, "seckillTopic");
        assert_eq!(config.stock_topic, "seckillStockReturned");
        assert_eq!(config.redis_key_prefix, "seckill");
        assert_eq!(config.rate_limit_per_user, 0);
        assert_eq!(config.gate_settings().sold_out_ttl, Duration::from_secs(2));
        let gate = config.gate_settings();
        assert_eq!((gate.max_batch, gate.batches_in_flight), (256, 2));
        let producer = config.publisher_settings();
        assert_eq!(
            (producer.send_timeout, producer.send_retries),
            (Duration::from_secs(3), 2)
        );
        assert_eq!(config.validate(), Ok(()));
    }

    #[test]
    fn the_runtime_has_the_threads_asked_for() {
        for (arg, expected) in [("1", 1), ("3", 3), ("0", num_cpus())] {
            let config = Config::try_parse_from(["seckill-web", "--worker-threads", arg])
                .unwrap_or_else(|e| panic!("{e}"));
            let runtime = config.runtime().unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                runtime.metrics().num_workers(),
                expected,
                "--worker-threads {arg}"
            );
        }
    }

    fn num_cpus() -> usize {
        std::thread::available_parallelism().map_or(1, usize::from)
    }

    #[test]
    fn a_send_timeout_not_below_the_request_timeout_is_refused() {
        let config = Config::try_parse_from([
            "seckill-web",
            "--request-timeout-ms",
            "3000",
            "--send-timeout-ms",
            "3000",
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        let refusal = config.validate().err().unwrap_or_default();
        assert!(refusal.contains("--send-timeout-ms"), "{refusal}");
    }

    #[test]
    fn invalid_settings_are_refused_by_the_parser() {
        for bad in [
            ["seckill-web", "--listen", "nowhere"],
            ["seckill-web", "--redis-key-prefix", "a{b}"],
            ["seckill-web", "--request-timeout-ms", "0"],
            ["seckill-web", "--max-concurrency", "-3"],
            ["seckill-web", "--max-batch", "0"],
            ["seckill-web", "--max-batch", "1025"],
            ["seckill-web", "--batches-in-flight", "0"],
            ["seckill-web", "--log-format", "xml"],
            ["seckill-web", "--worker-threads", "-1"],
            ["seckill-web", "--worker-threads", "1025"],
        ] {
            assert!(Config::try_parse_from(bad).is_err(), "{bad:?}");
        }
    }
}
