//! The broker server: [`BrokerConfig`] and [`run`], which serves RocketMQ 4.x clients from a
//! [`Store`](crate::store::Store) — send, pull with long polling, offsets, heartbeats, admin,
//! query, retry/DLQ, delayed delivery and orderly-consumption locks.
//!
//! # Layout
//!
//! | file | owns |
//! |---|---|
//! | `mod.rs` | [`BrokerConfig`] and its defaults |
//! | `server.rs` | [`run`]: start-up, accept loop (a semaphore bounds connections), background tasks, layered shutdown |
//! | `state.rs` | the state every request handler shares |
//! | `connection.rs` | one connection: framing, concurrent in-flight requests, the client channel |
//! | `response_writer.rs` | a connection's outgoing side: responses written in place, queued only while the socket is busy |
//! | `processor/` | one file per request family; `processor/mod.rs` routes a code to its handler |
//! | `long_poll.rs` | arrival notifications that wake held pulls |
//! | `topic_config.rs` | the topic table (`topics.json`), name rules, system topics, auto-create |
//! | `consumer_offsets.rs` | committed offsets per group and queue (`consumerOffset.json`) |
//! | `consumer_groups.rs` | live producer and consumer clients, subscriptions, channel expiry |
//! | `namesrv_registration.rs` | REGISTER_BROKER / UNREGISTER_BROKER with every name server |
//! | `delay.rs` | the delay-level schedule (`SCHEDULE_TOPIC_XXXX` → real topic, `delayOffset.json`) |
//! | `retry.rs` | CONSUMER_SEND_MSG_BACK: `%RETRY%<group>` and `%DLQ%<group>` |
//! | `locks.rs` | per group and queue locks with a lease (LOCK_BATCH_MQ / UNLOCK_BATCH_MQ) |
//! | `json_file.rs` | the metadata files' atomic write (temp file, fsync, rename) |
//!
//! Metadata lives next to the store: `{store.dir}/config/{topics,consumerOffset,delayOffset}.json`.

mod connection;
mod consumer_groups;
mod consumer_offsets;
mod delay;
mod json_file;
mod locks;
mod long_poll;
mod namesrv_registration;
mod processor;
mod response_writer;
mod retry;
mod server;
mod state;
mod topic_config;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub use server::run;
pub use topic_config::{DEFAULT_TOPIC, validate_topic_name};

use crate::protocol::frame::DEFAULT_MAX_FRAME_SIZE;
use crate::store::{StoreConfig, parse_delay_levels};

/// Default store directory (`MQ_STORE_DIR`).
pub const DEFAULT_STORE_DIR: &str = "./data/broker";

/// Everything [`run`] needs. Start from [`BrokerConfig::new`] (RocketMQ's defaults) and
/// change fields; the store's own settings (directory, flush type, delay levels, message
/// size) live in [`BrokerConfig::store`].
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// Broker name; a master and its slaves share it (`brokerName`, default `broker-a`).
    pub broker_name: String,
    /// Cluster name (`brokerClusterName`, default `DefaultCluster`).
    pub cluster_name: String,
    /// 0 = master (the only role served so far).
    pub broker_id: i64,
    /// Name servers (`host:port`) to register with; empty = no registration.
    pub namesrv_addrs: Vec<String>,
    /// Address clients are told to connect to (routes, msgIds). `None` = the listener's
    /// address, which must then be a concrete IP (not 0.0.0.0).
    pub advertise_addr: Option<SocketAddr>,
    /// The message store's settings; `store.store_host` is overwritten with the advertised
    /// address at start.
    pub store: StoreConfig,
    /// Create unknown topics on first send (`autoCreateTopicEnable`, default true).
    pub auto_create_topic: bool,
    /// Queue count of auto-created topics when the producer does not ask for one (its
    /// `defaultTopicQueueNums`, 4 in every client); capped by TBW102's 8 queues.
    pub default_topic_queue_nums: i32,
    /// Longest time an empty pull is held (long polling); requests asking for longer are
    /// capped. Java push consumers ask for 15 s.
    pub long_poll_timeout: Duration,
    /// Connections served at once; further clients wait in the accept queue.
    pub max_connections: usize,
    /// Requests of one connection processed concurrently; the connection stops reading
    /// while that many are in flight.
    pub max_inflight_per_connection: usize,
    /// Largest frame accepted or sent, length prefix included (RocketMQ: 16 MiB).
    pub max_frame_size: usize,
    /// A client not heard from for this long is dropped from its groups (RocketMQ: 120 s).
    pub channel_expiry: Duration,
    /// How often expired clients are looked for (RocketMQ: 10 s).
    pub channel_scan_interval: Duration,
    /// A connection with no request for this long is closed (RocketMQ: 120 s).
    pub idle_timeout: Duration,
    /// How often the broker re-registers with the name servers (RocketMQ: 30 s).
    pub register_interval: Duration,
    /// Timeout of one registration call (RocketMQ: 6 s).
    pub register_timeout: Duration,
    /// How often consumer and delay offsets are written to disk (RocketMQ: 5 s).
    pub offset_persist_interval: Duration,
    /// SYNC_FLUSH: answer FLUSH_DISK_TIMEOUT when the fsync takes longer (RocketMQ: 5 s).
    pub sync_flush_timeout: Duration,
    /// Retries before a message goes to the DLQ when the client does not say (RocketMQ: 16).
    pub max_reconsume_times: i32,
    /// Queues of `%RETRY%<group>` topics (RocketMQ: 1).
    pub retry_queue_nums: i32,
    /// How long a queue lock lasts without renewal (RocketMQ: 60 s).
    pub lock_lease: Duration,
}

impl BrokerConfig {
    /// RocketMQ's defaults, with the store in `store_dir`.
    pub fn new(store_dir: impl Into<PathBuf>) -> Self {
        Self {
            broker_name: "broker-a".to_owned(),
            cluster_name: "DefaultCluster".to_owned(),
            broker_id: 0,
            namesrv_addrs: Vec::new(),
            advertise_addr: None,
            store: StoreConfig::new(store_dir),
            auto_create_topic: true,
            default_topic_queue_nums: 4,
            long_poll_timeout: Duration::from_secs(15),
            max_connections: 1024,
            max_inflight_per_connection: 256,
            max_frame_size: DEFAULT_MAX_FRAME_SIZE,
            channel_expiry: Duration::from_secs(120),
            channel_scan_interval: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(120),
            register_interval: Duration::from_secs(30),
            register_timeout: Duration::from_secs(6),
            offset_persist_interval: Duration::from_secs(5),
            sync_flush_timeout: Duration::from_secs(5),
            max_reconsume_times: 16,
            retry_queue_nums: 1,
            lock_lease: Duration::from_secs(60),
        }
    }

    /// Sets the delay levels from a `messageDelayLevel` string (`1s 5s 10s 30s 1m …`).
    pub fn with_delay_levels(mut self, levels: &str) -> crate::Result<Self> {
        let parsed = parse_delay_levels(levels)?;
        if parsed.is_empty() {
            return Err(crate::Error::InvalidArgument(
                "delay levels: at least one level is needed".into(),
            ));
        }
        self.store.delay_levels = parsed;
        Ok(self)
    }

    /// Parses a `;`-separated name-server list (`MQ_NAMESRV_ADDR`), ignoring empty parts.
    pub fn parse_namesrv_addrs(list: &str) -> Vec<String> {
        list.split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// Checks the values against each other; [`run`] calls it.
    pub fn validate(&self) -> crate::Result<()> {
        let bad = |m: String| Err(crate::Error::InvalidArgument(m));
        if let Err(reason) = validate_topic_name(&self.broker_name) {
            return bad(format!("broker name: {reason}"));
        }
        if let Err(reason) = validate_topic_name(&self.cluster_name) {
            return bad(format!("cluster name: {reason}"));
        }
        if self.broker_id != 0 {
            return bad(format!(
                "broker id {}: only masters (0) are supported",
                self.broker_id
            ));
        }
        if !(1..=1024).contains(&self.default_topic_queue_nums) {
            return bad(format!(
                "default topic queue count {} is not within 1-1024",
                self.default_topic_queue_nums
            ));
        }
        if self.max_connections == 0 || self.max_inflight_per_connection == 0 {
            return bad("max connections and max in-flight requests must be positive".into());
        }
        if self.max_frame_size < 1024 {
            return bad(format!(
                "max frame size {} is below 1024 bytes",
                self.max_frame_size
            ));
        }
        if self.store.delay_levels.is_empty() {
            return bad("delay levels: at least one level is needed".into());
        }
        for (name, d) in [
            ("long poll timeout", self.long_poll_timeout),
            ("channel expiry", self.channel_expiry),
            ("channel scan interval", self.channel_scan_interval),
            ("idle timeout", self.idle_timeout),
            ("register interval", self.register_interval),
            ("register timeout", self.register_timeout),
            ("offset persist interval", self.offset_persist_interval),
            ("lock lease", self.lock_lease),
        ] {
            if d.is_zero() {
                return bad(format!("{name} must be positive"));
            }
        }
        self.store.validate()?;
        Ok(())
    }
}

impl Default for BrokerConfig {
    fn default() -> Self {
        Self::new(DEFAULT_STORE_DIR)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_rocketmq_s_and_valid() {
        let c = BrokerConfig::default();
        assert_eq!(c.broker_name, "broker-a");
        assert_eq!(c.cluster_name, "DefaultCluster");
        assert!(c.auto_create_topic);
        assert_eq!(c.store.delay_levels.len(), 18);
        assert!(c.validate().is_ok());
    }

    #[test]
    fn delay_levels_and_namesrv_list_parse() {
        let c = BrokerConfig::default().with_delay_levels("1s 2s 3s");
        assert_eq!(c.map(|c| c.store.delay_levels.len()).ok(), Some(3));
        assert!(BrokerConfig::default().with_delay_levels("").is_err());
        assert!(BrokerConfig::default().with_delay_levels("1x").is_err());
        assert_eq!(
            BrokerConfig::parse_namesrv_addrs(" a:1; ;b:2;"),
            vec!["a:1".to_owned(), "b:2".to_owned()]
        );
    }

    #[test]
    fn bad_names_are_refused() {
        let c = BrokerConfig {
            broker_name: "bad name".into(),
            ..BrokerConfig::default()
        };
        assert!(c.validate().is_err());
    }
}
