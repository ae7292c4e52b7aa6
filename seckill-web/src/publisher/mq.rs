//! [`MqOrderPublisher`]: the [`OrderPublisher`] over an mq-core [`Producer`].
//!
//! Every publish is a synchronous send (it resolves once the broker stored the message); many
//! run at once from many requests over the producer's one multiplexed connection per broker.
//! The producer's own retries (another queue, within the send timeout) happen inside `send`,
//! so `publish` resolves in at most the send timeout.

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

    /// Whether [`OrderPublisher::shutdown`] was called.
    pub fn is_shut_down(&self) -> bool {
        self.shut_down.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl OrderPublisher for MqOrderPublisher {
    async fn publish(&self, order: &OrderMessage) -> Result<PublishReceipt, PublishError> {
        let message = Message::new(self.topic.clone(), order.to_json())
            .with_tag(ORDER_TAG)
            .with_key(order.biz_key());
        let sent = self.producer.send(message).await.map_err(publish_error)?;
        if sent.status != SendStatus::SendOk {
            tracing::warn!(status = ?sent.status, msg_id = %sent.msg_id,
                "order stored on the master without a confirmed flush or replication");
        }
        Ok(receipt(sent))
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
