//! [`MqOrderPublisher`]: the [`OrderPublisher`] over an mq-core [`Producer`].
//!
//! Every publish is a synchronous send (it resolves once the broker stored the message); many
//! run at once over the producer's one multiplexed connection per broker. A gate batch goes
//! out as one broker batch (`SEND_BATCH_MESSAGE`: one topic, one queue, stored atomically, each
//! message keeping its own key and body), so the broker's round trip and append are paid once
//! per batch. The producer's own retries (another queue, within the send timeout) happen
//! inside `send` / `send_batch`, so a publish resolves in at most the send timeout.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use mq_core::client::{ClientError, Message, Producer, SendResult, SendStatus};
use seckill_order::OrderMessage;
use seckill_order::message::ORDER_TAG;

use super::{OrderPublisher, PublishError, PublishReceipt};
use crate::server::StartupError;

/// Pause between start-up attempts to reach the name server.
const RETRY_PAUSE: Duration = Duration::from_millis(500);

/// What the order producer needs (see [`crate::Config::publisher_settings`]).
#[derive(Debug, Clone)]
pub struct PublisherSettings {
    /// Name server address(es), `;`-separated.
    pub namesrv_addr: String,
    /// Producer group.
    pub producer_group: String,
    /// Topic of the order messages.
    pub order_topic: String,
    /// Total time one send may take, the producer's retries included.
    pub send_timeout: Duration,
    /// Extra attempts after a failed send, each on another queue.
    pub send_retries: u32,
}

/// Sends order messages through an mq-core producer.
#[derive(Debug)]
pub struct MqOrderPublisher {
    producer: Producer,
    topic: String,
    shut_down: AtomicBool,
}

impl MqOrderPublisher {
    /// Starts the producer and waits until the name server routes the order topic to a
    /// broker (or, for a topic not created yet, routes the auto-create topic), retrying for
    /// at most `budget`: a gate that could not queue a single order must not start.
    pub async fn connect(
        settings: &PublisherSettings,
        budget: Duration,
    ) -> Result<Self, StartupError> {
        let publisher = Self::start(settings)
            .await
            .map_err(|source| StartupError::Mq {
                what: "cannot start the order producer",
                source,
            })?;
        if let Err(error) = publisher.wait_until_routed(settings, budget).await {
            publisher.producer.shutdown().await;
            return Err(error);
        }
        Ok(publisher)
    }

    /// Starts the producer without contacting anything: routes are fetched by the first
    /// publish. [`Self::connect`] is what a gate starts with.
    pub async fn start(settings: &PublisherSettings) -> Result<Self, ClientError> {
        let producer = Producer::builder(&settings.producer_group)
            .namesrv_addr(&settings.namesrv_addr)
            .send_timeout(settings.send_timeout)
            .retry_times_when_send_failed(settings.send_retries)
            .start()
            .await?;
        Ok(Self {
            producer,
            topic: settings.order_topic.clone(),
            shut_down: AtomicBool::new(false),
        })
    }

    /// Asks for the order topic's route until one answers with a writable queue.
    async fn wait_until_routed(
        &self,
        settings: &PublisherSettings,
        budget: Duration,
    ) -> Result<(), StartupError> {
        let started = Instant::now();
        let mut attempts = 0;
        loop {
            attempts += 1;
            // Bounded per attempt too: a name server that accepts and never answers must not
            // stretch the start-up budget by the client's own request timeout.
            let left = budget.saturating_sub(started.elapsed()).max(RETRY_PAUSE);
            let outcome =
                tokio::time::timeout(left, self.producer.fetch_publish_queues(&self.topic)).await;
            let last = match outcome {
                Ok(Ok(queues)) if !queues.is_empty() => {
                    tracing::info!(topic = %self.topic, queues = queues.len(), "order topic routed");
                    return Ok(());
                }
                Ok(Ok(_)) => format!("no writable queue for topic {}", self.topic),
                Ok(Err(error)) => error.to_string(),
                Err(_elapsed) => "no answer from the name server".to_owned(),
            };
            if started.elapsed() + RETRY_PAUSE >= budget {
                return Err(StartupError::MqUnreachable {
                    namesrv: settings.namesrv_addr.clone(),
                    topic: self.topic.clone(),
                    attempts,
                    waited: started.elapsed(),
                    last,
                });
            }
            tracing::warn!(namesrv = %settings.namesrv_addr, error = %last, "no route to the order topic yet; retrying");
            tokio::time::sleep(RETRY_PAUSE).await;
        }
    }

    /// The broker message of `order`: its own key and JSON body, the order tag.
    fn message(&self, order: &OrderMessage) -> Message {
        Message::new(self.topic.clone(), order.to_json())
            .with_tag(ORDER_TAG)
            .with_key(order.biz_key())
    }

    /// Whether [`OrderPublisher::shutdown`] was called.
    pub fn is_shut_down(&self) -> bool {
        self.shut_down.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl OrderPublisher for MqOrderPublisher {
    async fn publish(&self, order: &OrderMessage) -> Result<PublishReceipt, PublishError> {
        let sent = self
            .producer
            .send(self.message(order))
            .await
            .map_err(publish_error)?;
        warn_if_not_durable(&sent);
        Ok(receipt(sent))
    }

    async fn publish_batch(
        &self,
        orders: &[OrderMessage],
    ) -> Result<Vec<PublishReceipt>, PublishError> {
        if orders.is_empty() {
            return Ok(Vec::new());
        }
        let messages = orders.iter().map(|order| self.message(order)).collect();
        let sent = self
            .producer
            .send_batch(messages)
            .await
            .map_err(publish_error)?;
        warn_if_not_durable(&sent);
        Ok(batch_receipts(sent, orders.len()))
    }

    async fn shutdown(&self) {
        self.shut_down.store(true, Ordering::SeqCst);
        self.producer.shutdown().await;
    }
}

/// The receipt of a stored message. Every [`SendStatus`] means the master stored it; only
/// [`SendStatus::SendOk`] also confirms the flush / replication the broker was set up for.
fn receipt(sent: SendResult) -> PublishReceipt {
    PublishReceipt {
        msg_id: sent.msg_id,
        broker_name: sent.queue.broker_name,
        queue_id: sent.queue.queue_id,
        queue_offset: sent.queue_offset,
        durable: sent.status == SendStatus::SendOk,
    }
}

fn warn_if_not_durable(sent: &SendResult) {
    if sent.status != SendStatus::SendOk {
        tracing::warn!(status = ?sent.status, msg_id = %sent.msg_id,
            "orders stored on the master without a confirmed flush or replication");
    }
}

/// One receipt per message of a stored batch of `count`: the batch went to one queue at
/// consecutive offsets from the first one, and its ids are comma-joined in send order.
fn batch_receipts(sent: SendResult, count: usize) -> Vec<PublishReceipt> {
    let ids: Vec<&str> = sent.msg_id.split(',').collect();
    (0..count)
        .map(|i| PublishReceipt {
            // A count that does not match (never seen) keeps the joined ids: a log field.
            msg_id: if ids.len() == count {
                ids[i].to_owned()
            } else {
                sent.msg_id.clone()
            },
            broker_name: sent.queue.broker_name.clone(),
            queue_id: sent.queue.queue_id,
            queue_offset: sent.queue_offset + i64::try_from(i).unwrap_or(i64::MAX),
            durable: sent.status == SendStatus::SendOk,
        })
        .collect()
}

/// The gate's view of a client failure (after the producer's retries).
fn publish_error(error: ClientError) -> PublishError {
    match error {
        ClientError::Timeout => PublishError::Timeout,
        ClientError::Broker { code, remark } => PublishError::Rejected { code, remark },
        ClientError::Connect { .. }
        | ClientError::ConnectionClosed { .. }
        | ClientError::NoRoute { .. } => PublishError::Unreachable(error.to_string()),
        ClientError::Shutdown => PublishError::ShutDown,
        other => PublishError::Other(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use mq_core::client::MessageQueue;

    use super::*;

    #[test]
    fn client_failures_map_to_publish_errors() {
        assert!(matches!(
            publish_error(ClientError::Timeout),
            PublishError::Timeout
        ));
        assert!(matches!(
            publish_error(ClientError::broker(14, Some("disk full".into()))),
            PublishError::Rejected { code: 14, ref remark } if remark == "disk full"
        ));
        for unreachable in [
            ClientError::Connect {
                addr: "a:1".into(),
                reason: "refused".into(),
            },
            ClientError::ConnectionClosed { addr: "a:1".into() },
            ClientError::NoRoute { topic: "t".into() },
        ] {
            assert!(matches!(
                publish_error(unreachable),
                PublishError::Unreachable(_)
            ));
        }
        assert!(matches!(
            publish_error(ClientError::Shutdown),
            PublishError::ShutDown
        ));
        assert!(matches!(
            publish_error(ClientError::InvalidArgument("x".into())),
            PublishError::Other(_)
        ));
    }

    #[test]
    fn a_stored_batch_gives_each_order_its_id_and_offset() {
        let sent = SendResult {
            status: SendStatus::SendOk,
            msg_id: "a,b,c".into(),
            offset_msg_id: "x,y,z".into(),
            queue: MessageQueue::new("seckillTopic", "broker-a", 1),
            queue_offset: 40,
        };
        let receipts = batch_receipts(sent, 3);
        let seen: Vec<(&str, i64)> = receipts
            .iter()
            .map(|r| (r.msg_id.as_str(), r.queue_offset))
            .collect();
        assert_eq!(seen, vec![("a", 40), ("b", 41), ("c", 42)]);
        assert!(receipts.iter().all(|r| r.durable && r.queue_id == 1));
    }

    #[test]
    fn only_send_ok_is_durable_but_every_status_is_a_receipt() {
        let sent = |status| SendResult {
            status,
            msg_id: "id".into(),
            offset_msg_id: "off".into(),
            queue: MessageQueue::new("seckillTopic", "broker-a", 2),
            queue_offset: 7,
        };
        let ok = receipt(sent(SendStatus::SendOk));
        assert_eq!(
            (
                ok.broker_name.as_str(),
                ok.queue_id,
                ok.queue_offset,
                ok.durable
            ),
            ("broker-a", 2, 7, true)
        );
        for status in [
            SendStatus::FlushDiskTimeout,
            SendStatus::FlushSlaveTimeout,
            SendStatus::SlaveNotAvailable,
        ] {
            assert!(!receipt(sent(status)).durable);
        }
    }
}
