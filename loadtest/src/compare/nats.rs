//! NATS JetStream through `async-nats`: a file-storage stream per scenario, acknowledged
//! publishes (many in flight on one connection), a pull consumer with explicit acks.

use std::sync::Arc;

use async_nats::jetstream::{self, consumer, stream};
use bytes::Bytes;
use futures::StreamExt;

use super::peer::{Channel, Consumer, Peer, PeerError, PeerResult, Sink, err};

/// NATS JetStream, connected.
#[derive(Debug, Clone)]
pub struct Nats {
    js: jetstream::Context,
}

impl Nats {
    /// Connects to `url` (e.g. `nats://127.0.0.1:4222`).
    pub async fn connect(url: &str) -> PeerResult<Self> {
        let client = async_nats::ConnectOptions::new()
            .connection_timeout(std::time::Duration::from_secs(3))
            .connect(url)
            .await
            .map_err(|e| err("connect", e))?;
        // No account-info probe: its reply shape differs between server versions (2.9 vs
        // this client); a server without JetStream fails the first stream creation instead.
        Ok(Self {
            js: jetstream::new(client),
        })
    }
}

impl Peer for Nats {
    type Channel = Subject;

    async fn open(&self, name: &str) -> PeerResult<Subject> {
        self.js
            .create_stream(stream::Config {
                name: name.to_owned(),
                subjects: vec![name.to_owned()],
                storage: stream::StorageType::File,
                ..Default::default()
            })
            .await
            .map_err(|e| err("create stream", e))?;
        Ok(Subject {
            js: self.js.clone(),
            name: name.to_owned(),
        })
    }
}

/// One stream (and its one subject, of the same name).
#[derive(Debug, Clone)]
pub struct Subject {
    js: jetstream::Context,
    name: String,
}

impl Channel for Subject {
    async fn send(&self, body: Bytes) -> PeerResult<()> {
        let ack = self
            .js
            .publish(self.name.clone(), body)
            .await
            .map_err(|e| err("publish", e))?;
        ack.await.map_err(|e| err("publish ack", e))?;
        Ok(())
    }

    async fn consume(&self, sink: Arc<Sink>) -> PeerResult<Consumer> {
        let stream = self
            .js
            .get_stream(&self.name)
            .await
            .map_err(|e| err("get stream", e))?;
        let pull = stream
            .create_consumer(consumer::pull::Config {
                ack_policy: consumer::AckPolicy::Explicit,
                deliver_policy: consumer::DeliverPolicy::All,
                ..Default::default()
            })
            .await
            .map_err(|e| err("create consumer", e))?;
        let mut messages = pull.messages().await.map_err(|e| err("messages", e))?;
        Ok(Consumer::spawn(move |mut stopped| async move {
            loop {
                tokio::select! {
                    _ = &mut stopped => return Ok(()),
                    next = messages.next() => match next {
                        Some(Ok(msg)) => {
                            sink.on_message(&msg.payload);
                            msg.ack().await.map_err(|e| err("ack", e))?;
                        }
                        Some(Err(e)) => return Err(err("next message", e)),
                        None => return Err(PeerError("message stream ended".into())),
                    },
                }
            }
        }))
    }

    async fn remove(self) -> PeerResult<()> {
        self.js
            .delete_stream(&self.name)
            .await
            .map_err(|e| err("delete stream", e))?;
        Ok(())
    }
}
