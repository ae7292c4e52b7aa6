//! The name server: broker registry and topic routes, served over the remoting protocol.
//!
//! | file | owns |
//! |---|---|
//! | `server.rs` | [`run`]: accept loop, connection limit, per-connection framing, expiry scan, shutdown |
//! | `processor.rs` | one handler per request code |
//! | `routes.rs` | [`RouteTable`]: live brokers, clusters, topic queues (`RouteInfoManager`) |
//! | `kv.rs` | the in-memory KV config (`ORDER_TOPIC_CONFIG` ...) |
//!
//! Brokers register every 30 s; a broker silent for [`NamesrvConfig::broker_timeout`] is
//! dropped from routes by a periodic scan.

mod kv;
mod processor;
mod routes;
mod server;

use std::time::Duration;

pub use kv::NAMESPACE_ORDER_TOPIC_CONFIG;
pub use routes::{BrokerId, RegisterOutcome, RouteTable};
pub use server::run;

use crate::protocol::frame::DEFAULT_MAX_FRAME_SIZE;

/// Name-server settings.
#[derive(Debug, Clone)]
pub struct NamesrvConfig {
    /// A broker that has not re-registered for this long is dropped (RocketMQ: 120 s).
    pub broker_timeout: Duration,
    /// How often expired brokers are looked for (RocketMQ: 10 s).
    pub scan_interval: Duration,
    /// Connections served at once; further clients wait in the accept queue.
    pub max_connections: usize,
    /// Largest frame accepted or sent, length prefix included.
    pub max_frame_size: usize,
    /// A connection with no request for this long is closed (Netty's all-idle: 120 s).
    pub idle_timeout: Duration,
}

impl Default for NamesrvConfig {
    fn default() -> Self {
        Self {
            broker_timeout: Duration::from_secs(120),
            scan_interval: Duration::from_secs(10),
            max_connections: 1024,
            max_frame_size: DEFAULT_MAX_FRAME_SIZE,
            idle_timeout: Duration::from_secs(120),
        }
    }
}
