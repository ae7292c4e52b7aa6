//! The stock-returned publisher: one task sends a [`StockReturned`] event to `--stock-topic`
//! for every goods whose Redis stock came back, so every gate clears its local sold-out flag.
//!
//! Events wait in [`StockEvents`] (a set of goods ids), so writing never waits for the broker.
//! An event that cannot be sent goes back into the set and is tried again after a pause; at
//! shutdown whatever is still pending is sent once more before the producer closes.

use std::sync::Arc;
use std::time::Duration;

use mq_core::client::{Message, Producer};
use seckill_order::StockReturned;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::error::Result;
use crate::events::StockEvents;

/// Pause after a failed send before the next attempt.
const RETRY_PAUSE: Duration = Duration::from_millis(500);

/// The running publisher.
#[derive(Debug)]
pub struct StockPublisher {
    producer: Arc<Producer>,
    topic: String,
    events: Arc<StockEvents>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl StockPublisher {
    /// Starts a producer and the task publishing `events` to `config.stock_topic`.
    pub async fn start(config: &Config, events: Arc<StockEvents>) -> Result<Self> {
        let producer = Producer::builder(config.stock_producer_group())
            .namesrv_addr(&config.namesrv_addr)
            .start()
            .await?;
        let producer = Arc::new(producer);
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(publish_loop(
            producer.clone(),
            config.stock_topic.clone(),
            events.clone(),
            stopped,
        ));
        Ok(Self {
            producer,
            topic: config.stock_topic.clone(),
            events,
            stop,
            task,
        })
    }

    /// Stops the task, sends what is still pending once, and closes the producer. Call it
    /// after the writer stopped, so no give-back comes later.
    pub async fn shutdown(self) {
        let _already_gone = self.stop.send(());
        if let Err(err) = self.task.await {
            tracing::error!(error = %err, "stock-returned publisher ended abnormally");
        }
        let pending = self.events.take_pending();
        if let Err(unsent) = publish(&self.producer, &self.topic, &pending).await {
            tracing::warn!(goods = ?unsent, "stock-returned events not sent at shutdown; gates clear their flags when they expire");
        }
        self.producer.shutdown().await;
    }
}

async fn publish_loop(
    producer: Arc<Producer>,
    topic: String,
    events: Arc<StockEvents>,
    mut stopped: oneshot::Receiver<()>,
) {
    loop {
        let batch = tokio::select! {
            biased;
            _ = &mut stopped => return,
            batch = events.next_batch() => batch,
        };
        if let Err(unsent) = publish(&producer, &topic, &batch).await {
            for goods_id in unsent {
                events.announce(goods_id);
            }
            tokio::select! {
                biased;
                _ = &mut stopped => return,
                () = tokio::time::sleep(RETRY_PAUSE) => {}
            }
        }
    }
}

/// Sends one event per goods; on the first failure answers the goods not sent.
async fn publish(
    producer: &Producer,
    topic: &str,
    batch: &[StockReturned],
) -> std::result::Result<(), Vec<i64>> {
    for (i, event) in batch.iter().enumerate() {
        let msg = Message::new(topic, event.to_json()).with_key(event.goods_id.to_string());
        match producer.send(msg).await {
            Ok(sent) => {
                tracing::debug!(goods_id = event.goods_id, msg_id = %sent.msg_id, "stock-returned event published");
            }
            Err(err) => {
                tracing::warn!(goods_id = event.goods_id, error = %err, "stock-returned event not sent; retrying");
                return Err(batch[i..].iter().map(|e| e.goods_id).collect());
            }
        }
    }
    Ok(())
}
