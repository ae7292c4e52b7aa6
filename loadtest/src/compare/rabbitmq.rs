//! RabbitMQ through `lapin`: a durable classic queue per scenario, persistent messages
//! (delivery mode 2) published with confirms on one channel shared by every concurrent send,
//! a consumer with a prefetch window and a manual ack per message.

use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Connection, ConnectionProperties};

use super::peer::{Channel, Consumer, Peer, PeerError, PeerResult, Sink, err};

/// Unacknowledged deliveries the consumer may hold.
const PREFETCH: u16 = 1000;

/// RabbitMQ, connected.
#[derive(Debug)]
pub struct RabbitMq {
    conn: Arc<Connection>,
}

impl RabbitMq {
    /// Connects to `url` (e.g. `amqp://guest:guest@127.0.0.1:5672/%2f`).
    pub async fn connect(url: &str) -> PeerResult<Self> {
        let conn = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            Connection::connect(url, ConnectionProperties::default()),
        )
        .await
        .map_err(|e| err("connect", e))?
        .map_err(|e| err("connect", e))?;
        Ok(Self {
            conn: Arc::new(conn),
        })
    }

    /// Closes the connection.
    pub async fn close(self) -> PeerResult<()> {
        self.conn
            .close(200, "bye".into())
            .await
            .map_err(|e| err("close", e))
    }
}

impl Peer for RabbitMq {
    type Channel = Queue;

    async fn open(&self, name: &str) -> PeerResult<Queue> {
        let channel = self
            .conn
            .create_channel()
            .await
            .map_err(|e| err("channel", e))?;
        channel
            .queue_declare(
                name.into(),
                QueueDeclareOptions {
                    durable: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .map_err(|e| err("declare queue", e))?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(|e| err("confirm select", e))?;
        Ok(Queue {
            conn: Arc::clone(&self.conn),
            channel,
            name: name.to_owned(),
        })
    }
}

/// One durable queue and the confirm-mode channel publishing to it.
#[derive(Debug, Clone)]
pub struct Queue {
    conn: Arc<Connection>,
    channel: lapin::Channel,
    name: String,
}

impl Channel for Queue {
    async fn send(&self, body: Bytes) -> PeerResult<()> {
        let confirm = self
            .channel
            .basic_publish(
                "".into(),
                self.name.as_str().into(),
                BasicPublishOptions::default(),
                &body,
                BasicProperties::default().with_delivery_mode(2),
            )
            .await
            .map_err(|e| err("publish", e))?
            .await
            .map_err(|e| err("confirm", e))?;
        if confirm.is_ack() {
            Ok(())
        } else {
            Err(PeerError("publish: nacked".into()))
        }
    }

    async fn consume(&self, sink: Arc<Sink>) -> PeerResult<Consumer> {
        let channel = self
            .conn
            .create_channel()
            .await
            .map_err(|e| err("channel", e))?;
        channel
            .basic_qos(PREFETCH, BasicQosOptions::default())
            .await
            .map_err(|e| err("qos", e))?;
        let mut deliveries = channel
            .basic_consume(
                self.name.as_str().into(),
                "".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(|e| err("consume", e))?;
        Ok(Consumer::spawn(move |mut stopped| async move {
            let outcome = loop {
                tokio::select! {
                    _ = &mut stopped => break Ok(()),
                    next = deliveries.next() => match next {
                        Some(Ok(delivery)) => {
                            sink.on_message(&delivery.data);
                            if let Err(e) = delivery.ack(BasicAckOptions::default()).await {
                                break Err(err("ack", e));
                            }
                        }
                        Some(Err(e)) => break Err(err("delivery", e)),
                        None => break Err(PeerError("consumer cancelled".into())),
                    },
                }
            };
            let _closed = channel.close(200, "done".into()).await;
            outcome
        }))
    }

    async fn remove(self) -> PeerResult<()> {
        self.channel
            .queue_delete(self.name.as_str().into(), QueueDeleteOptions::default())
            .await
            .map_err(|e| err("delete queue", e))?;
        self.channel
            .close(200, "done".into())
            .await
            .map_err(|e| err("close channel", e))
    }
}
