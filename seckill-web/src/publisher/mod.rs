//! The seam between the gate and the message queue: [`OrderPublisher`] sends one order message,
//! or the orders of one gate batch as one broker batch, and resolves only once the broker
//! acknowledged them (or definitely failed).
//!
//! The gate holds it as `Arc<dyn OrderPublisher>`: the plain mq-core producer ([`mq`]) is one
//! implementation, transactional messages (half message + local Redis step) will be another.

pub mod mq;

pub use mq::{MqOrderPublisher, PublisherSettings};

use async_trait::async_trait;
use seckill_order::OrderMessage;

/// Where the broker stored an acknowledged order message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishReceipt {
    /// The broker-assigned message id (RocketMQ's `msgId`).
    pub msg_id: String,
    /// The broker that stored the message.
    pub broker_name: String,
    /// The queue of the topic the message went to.
    pub queue_id: i32,
    /// The message's offset in that queue.
    pub queue_offset: i64,
    /// `false` when the broker stored the message but reported that its flush to disk or its
    /// replication did not finish in time (SYNC_FLUSH or a synchronous master). The message is
    /// on the master, so it still counts as queued: giving the place back would turn it into
    /// an order without stock.
    pub durable: bool,
}

/// Why an order message was not acknowledged, after the producer's own retries.
///
/// Every variant makes the gate give the user's place back and answer `503`; the variants
/// exist for logs and metrics, and to tell the ambiguous case apart.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// No acknowledgement within the send timeout. Ambiguous: the broker may still have
    /// stored the message; the order writer's dedup and MySQL's stock floor absorb that case.
    #[error("send timed out")]
    Timeout,
    /// The broker answered and refused the message (e.g. topic not allowed, message illegal,
    /// store full). Not stored.
    #[error("broker refused the message (code {code}): {remark}")]
    Rejected {
        /// The broker's response code.
        code: i32,
        /// The broker's explanation.
        remark: String,
    },
    /// No broker could be reached or no route to the topic exists: not stored. A connection
    /// that closed while the send awaited its answer also lands here, and is ambiguous like
    /// [`Self::Timeout`].
    #[error("no broker reachable: {0}")]
    Unreachable(String),
    /// The publisher is shutting down and takes no new messages. Not stored.
    #[error("publisher is shut down")]
    ShutDown,
    /// Any other client failure (protocol, I/O, invalid argument).
    #[error("{0}")]
    Other(String),
}

impl PublishError {
    /// A short label for metrics (`outcome` of the publish histogram).
    pub fn label(&self) -> &'static str {
        match self {
            Self::Timeout => "timeout",
            Self::Rejected { .. } => "rejected",
            Self::Unreachable(_) => "unreachable",
            Self::ShutDown => "shut_down",
            Self::Other(_) => "error",
        }
    }
}

/// Sends order messages for the gate.
///
/// Contract for implementations:
/// - `publish` resolves `Ok` only after the broker stored the message (a sync or multiplexed
///   async send, never oneway), with topic, tag [`seckill_order::message::ORDER_TAG`], key
///   [`OrderMessage::biz_key`] and body [`OrderMessage::to_json`];
/// - `publish_batch` does the same for many orders at once, all or nothing: `Ok` only once the
///   broker stored every one of them (each still its own message, with its own key and body),
///   `Err` when none was stored — or, as for `publish`, when the outcome is ambiguous (a
///   timeout), which the order writer's dedup and MySQL's stock floor absorb;
/// - both resolve in bounded time (the producer's send timeout and retries) — the gate never
///   cancels them, because cancelling between the Redis step and the answer would leak stock;
/// - many calls run concurrently (`&self`, no lock held across the send).
#[async_trait]
pub trait OrderPublisher: Send + Sync + 'static {
    /// Sends `order` and waits for the broker's acknowledgement.
    async fn publish(&self, order: &OrderMessage) -> Result<PublishReceipt, PublishError>;

    /// Sends `orders` as one batch and waits for the broker's acknowledgement of all of them.
    /// Answers one receipt per order, in order; an empty batch is answered at once.
    async fn publish_batch(
        &self,
        orders: &[OrderMessage],
    ) -> Result<Vec<PublishReceipt>, PublishError>;

    /// Stops the producer after the HTTP server drained: later `publish` calls fail with
    /// [`PublishError::ShutDown`].
    async fn shutdown(&self);
}
