//! The two push consumers of the service, both clustering (instances share the queues):
//!
//! - the **order consumer** (`--consumer-group`, topic `--order-topic`): each listener call
//!   hands its messages to the [`Batcher`] and answers when their batch committed — so the
//!   consumer moves (and later commits) the offset only past orders that are in MySQL. A
//!   transient failure answers "reconsume later": the broker redelivers through
//!   `%RETRY%<group>` and, after `--max-reconsume-times`, moves the message to
//!   `%DLQ%<group>`.
//! - the **dead-letter handler** (group `<consumer_group>-dlq`, topic `%DLQ%<consumer_group>`):
//!   settles each dead letter with [`OrderWriter::write_dead_letters`] — the stock goes back
//!   in Redis and the user reads `FAILED`, unless the order was written after all.
//!
//! Both start from the first offset when their group has none committed: an order queued
//! before the first instance started is owed like any other.

use std::sync::Arc;

use mq_core::client::{
    ConsumeFrom, ConsumeResult, MessageExt, MessageListener, MessageModel, PushConsumer,
    PushConsumerBuilder, listener_fn,
};

use crate::batcher::{Batcher, Consumed};
use crate::config::Config;
use crate::error::Result;
use crate::incoming::IncomingOrder;
use crate::service::Service;
use crate::writer::OrderWriter;

/// Listener calls at once of the dead-letter handler: dead letters are rare and settled one
/// by one, so a few calls are plenty.
const DLQ_CONSUME_THREADS: usize = 4;

/// The running order consumer and dead-letter handler.
#[derive(Debug)]
pub struct Consumers {
    orders: PushConsumer,
    dead_letters: PushConsumer,
}

impl Consumers {
    /// Starts both consumers over `service`'s batcher and writer.
    pub async fn start(config: &Config, service: &Service) -> Result<Self> {
        let orders = builder(config, config.consumer_group.clone())
            .subscribe(config.order_topic.clone(), "*")
            .consume_thread_max(to_usize(config.consume_threads))
            .consume_message_batch_max_size(to_usize(config.consume_batch))
            .start(order_listener(service.batcher.clone()))
            .await?;
        let dead_letters = builder(config, config.dlq_group())
            .subscribe(config.dlq_topic(), "*")
            .consume_thread_max(DLQ_CONSUME_THREADS)
            .consume_message_batch_max_size(to_usize(config.consume_batch))
            .start(dead_letter_listener(service.writer.clone()))
            .await;
        let dead_letters = match dead_letters {
            Ok(consumer) => consumer,
            Err(err) => {
                orders.shutdown().await;
                return Err(err.into());
            }
        };
        tracing::info!(group = %config.consumer_group, topic = %config.order_topic,
            dlq_group = %config.dlq_group(), dlq_topic = %config.dlq_topic(), "consuming");
        Ok(Self {
            orders,
            dead_letters,
        })
    }

    /// Stops pulling, waits for the listener calls in progress (their batches commit), and
    /// commits the offsets of both consumers. Messages pulled but not yet handed to a
    /// listener stay unacknowledged: the broker delivers them again to whoever owns the
    /// queue next.
    pub async fn shutdown(&self) {
        tokio::join!(self.orders.shutdown(), self.dead_letters.shutdown());
    }
}

/// The settings both consumers share.
fn builder(config: &Config, group: String) -> PushConsumerBuilder {
    PushConsumer::builder(group)
        .namesrv_addr(&config.namesrv_addr)
        .message_model(MessageModel::Clustering)
        .consume_from(ConsumeFrom::FirstOffset)
        .pull_batch_size(i32::try_from(config.pull_batch).unwrap_or(i32::MAX))
        .max_reconsume_times(i32::try_from(config.max_reconsume_times).unwrap_or(i32::MAX))
        .rebalance_interval(config.rebalance_interval())
        .persist_interval(config.offset_commit_interval())
}

fn to_usize(n: u32) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// What the writer is handed for consumed messages: the producer's msgId (the same on every
/// redelivery), the body and the retry count.
pub fn incoming(msgs: Vec<MessageExt>) -> Vec<IncomingOrder> {
    msgs.into_iter()
        .map(|m| IncomingOrder::new(m.msg_id, m.body, m.reconsume_times))
        .collect()
}

/// The consumer's answer for a listener call.
pub fn consume_result(consumed: Consumed) -> ConsumeResult {
    match consumed {
        Consumed::Done => ConsumeResult::Success,
        Consumed::RetryLater => ConsumeResult::ReconsumeLater,
    }
}

/// Order messages → batches; the call returns once its messages' batches committed.
fn order_listener(batcher: Batcher) -> impl MessageListener {
    listener_fn(move |msgs: Vec<MessageExt>| {
        let batcher = batcher.clone();
        async move { consume_result(batcher.submit(incoming(msgs)).await) }
    })
}

/// Dead letters → refused and compensated (or recognised as already ordered).
fn dead_letter_listener(writer: Arc<OrderWriter>) -> impl MessageListener {
    listener_fn(move |msgs: Vec<MessageExt>| {
        let writer = writer.clone();
        async move {
            for m in &msgs {
                tracing::warn!(msg_id = %m.msg_id, reconsume_times = m.reconsume_times,
                    "dead letter: retries exhausted; settling it as a failed order");
            }
            let outcome = writer.write_dead_letters(incoming(msgs)).await;
            consume_result(Consumed::from_fates(&outcome.fates))
        }
    })
}
