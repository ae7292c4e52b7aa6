//! The client: multiplexed connections, routes, producer, push and pull consumers, admin.
//!
//! | module | owns |
//! |---|---|
//! | [`connection`] | one TCP stream carrying many requests, matched by opaque; server-initiated requests |
//! | `pool` | one connection per address, reopened with back-off |
//! | `route` | topic routes from the name servers, cached and refreshed |
//! | `core` | what every client shares: settings, client id, pool, routes |
//! | `broker_api` | typed broker requests (offsets, pull, heartbeat, send-back, locks) |
//! | [`producer`] | [`Producer`]: sync, async, oneway, batch, to-queue and sharded sends |
//! | [`push_consumer`] | [`PushConsumer`]: rebalance, long-polling pull loops, worker pool, offsets |
//! | `pull_consumer` | [`PullConsumer`]: explicit queues and offsets |
//! | `admin` | [`Admin`]: cluster, topics, progress, queries, offset reset (used by `mqadmin`) |
//! | `message`, `send_result`, `pull_result` | the application's message and result types |
//! | `validate`, `uniq_id` | checks before sending; the producer-made `UNIQ_KEY` |
//! | `error` | [`ClientError`] |
//!
//! Everything is async (tokio). A client opens one connection per broker and name server and
//! shares it between every concurrent request of that client.

mod admin;
mod broker_api;
pub mod connection;
mod core;
mod error;
mod message;
mod pool;
pub mod producer;
mod pull_consumer;
mod pull_result;
pub mod push_consumer;
mod route;
mod send_result;
mod uniq_id;
mod validate;

pub use admin::{
    Admin, BrokerInfo, ConsumerConnectionInfo, QueueProgress, QueueStatus, ResetOffsetResult,
    TopicSpec,
};
pub use core::DEFAULT_NAMESRV_ADDR;
pub use error::{ClientError, ClientResult};
pub use message::{Message, MessageExt};
pub use producer::{Producer, ProducerBuilder};
pub use pull_consumer::{PullConsumer, PullConsumerBuilder};
pub use pull_result::{PullResult, PullStatus};
pub use push_consumer::{
    AllocateAveragely, AllocateStrategy, ConsumeFrom, ConsumeResult, MessageListener,
    OrderlyListener, OrderlyResult, PushConsumer, PushConsumerBuilder, listener_fn,
    orderly_listener_fn,
};
pub use route::TopicRoute;
pub use send_result::{SendResult, SendStatus};
pub use validate::{check_group, check_topic};

pub use crate::protocol::MessageQueue;
pub use crate::protocol::body::heartbeat::MessageModel;
pub use crate::protocol::body::subscription_conflict::SubscriptionConflict;
