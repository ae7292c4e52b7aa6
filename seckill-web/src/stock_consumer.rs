//! The stock-returned consumer: a broadcasting [`PushConsumer`] of the stock topic whose
//! listener clears this instance's sold-out flag of the goods in each [`StockReturned`] event.
//!
//! Broadcasting because every gate instance keeps its own flags: each instance must see every
//! event. Offsets are kept by the instance in a directory of its own that is removed at
//! shutdown: the flags live in memory, so a restarted gate has none to clear and nothing to
//! catch up on. It starts at the last offset.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use mq_core::client::{
    Admin, ClientError, ConsumeFrom, ConsumeResult, MessageExt, MessageListener, MessageModel,
    PushConsumer,
};
use seckill_order::StockReturned;
use tempfile::TempDir;

use crate::server::StartupError;
use crate::sold_out::{SoldOutFlags, on_stock_returned};

/// Queues of the stock topic when the gate creates it (RocketMQ's `defaultTopicQueueNums`).
const STOCK_TOPIC_QUEUES: i32 = 4;

/// What the stock-returned consumer needs (see [`crate::Config::stock_consumer_settings`]).
#[derive(Debug, Clone)]
pub struct StockConsumerSettings {
    /// Name server address(es), `;`-separated.
    pub namesrv_addr: String,
    /// Consumer group (broadcasting: every instance of the group gets every event).
    pub group: String,
    /// Topic of the stock-returned events.
    pub topic: String,
    /// Directory under which this instance's offset directory is made.
    pub offset_dir: PathBuf,
}

/// A running stock-returned consumer.
#[derive(Debug)]
pub struct StockConsumer {
    consumer: PushConsumer,
    /// Removed when the consumer is dropped, after [`Self::shutdown`] wrote its last offsets.
    offsets: TempDir,
}

impl StockConsumer {
    /// Makes sure the stock topic exists, then starts consuming it into `flags`. Returns once
    /// the consumer owns the topic's queues, so every event published after that is seen.
    pub async fn start(
        settings: &StockConsumerSettings,
        flags: Arc<SoldOutFlags>,
    ) -> Result<Self, StartupError> {
        let mq = |what| move |source| StartupError::Mq { what, source };
        ensure_topic(settings)
            .await
            .map_err(mq("cannot create the stock-returned topic"))?;
        let offsets = std::fs::create_dir_all(&settings.offset_dir)
            .and_then(|()| {
                tempfile::Builder::new()
                    .prefix("seckill-web-stock-")
                    .tempdir_in(&settings.offset_dir)
            })
            .map_err(|source| StartupError::OffsetDir {
                dir: settings.offset_dir.clone(),
                source,
            })?;
        let consumer = PushConsumer::builder(&settings.group)
            .namesrv_addr(&settings.namesrv_addr)
            .subscribe(&settings.topic, "*")
            .message_model(MessageModel::Broadcasting)
            .consume_from(ConsumeFrom::LastOffset)
            .offset_store_dir(offsets.path())
            .start(StockReturnedListener { flags })
            .await
            .map_err(mq("cannot start the stock-returned consumer"))?;
        tracing::info!(topic = %settings.topic, queues = consumer.assigned_queues().len(),
            "stock-returned consumer started");
        Ok(Self { consumer, offsets })
    }

    /// The queues consumed now (every queue of the topic, once routed).
    pub fn assigned_queues(&self) -> usize {
        self.consumer.assigned_queues().len()
    }

    /// Stops pulling, lets a listener call in progress finish and leaves the group.
    pub async fn shutdown(self) {
        self.consumer.shutdown().await;
        if let Err(error) = self.offsets.close() {
            tracing::debug!(%error, "offset directory not removed");
        }
    }
}

/// Creates the stock topic when no name server routes it yet. Without it the consumer would
/// own no queue until the topic appeared and a later rebalance found it, and would then start
/// after the first events (at the last offset).
async fn ensure_topic(settings: &StockConsumerSettings) -> Result<(), ClientError> {
    let admin = Admin::connect(&settings.namesrv_addr).await?;
    match admin.topic_route(&settings.topic).await {
        Ok(route) if !route.queue_datas.is_empty() => Ok(()),
        Ok(_) | Err(ClientError::NoRoute { .. }) => {
            tracing::info!(topic = %settings.topic, "creating the stock-returned topic");
            admin
                .create_topic(&settings.topic, STOCK_TOPIC_QUEUES)
                .await
        }
        Err(error) => Err(error),
    }
}

/// Clears the sold-out flag of each event's goods. A body that is not a [`StockReturned`] is
/// logged and acknowledged: broadcast messages are never retried, and the flag's expiry
/// covers a lost event anyway.
#[derive(Debug)]
struct StockReturnedListener {
    flags: Arc<SoldOutFlags>,
}

#[async_trait]
impl MessageListener for StockReturnedListener {
    async fn consume(&self, msgs: Vec<MessageExt>) -> ConsumeResult {
        for msg in msgs {
            match StockReturned::from_json(&msg.body) {
                Ok(event) => on_stock_returned(&self.flags, event),
                Err(error) => tracing::warn!(msg_id = %msg.msg_id, %error,
                    "stock-returned message is not a StockReturned event; skipped"),
            }
        }
        ConsumeResult::Success
    }
}
