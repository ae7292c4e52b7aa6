//! The producer: [`Producer`] and its builder; sync, async, oneway, batch, to-queue and
//! sharded sends over one multiplexed connection per broker.
//!
//! A `Producer` is a cheap `Clone` (`Send + Sync`): clone it into as many tasks as you like and
//! their sends go out concurrently on the same connections, matched by opaque. The queue
//! choice and the retry policy live in [`kernel`].

mod kernel;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::core::{ClientConfig, ClientCore, parse_namesrv_list};
use super::error::{ClientError, ClientResult};
use super::message::Message;
use super::send_result::SendResult;
use super::validate::check_group;
use crate::protocol::MessageQueue;
use crate::protocol::body::heartbeat::{HeartbeatData, ProducerData};

/// RocketMQ's `compressMsgBodyOverHowmuch` default: bodies from 4 KiB are compressed.
pub const DEFAULT_COMPRESS_OVER: usize = 4096;
/// RocketMQ's `maxMessageSize` default: 4 MiB.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 4 * 1024 * 1024;

/// Builds a [`Producer`]; see the module docs.
#[derive(Debug, Clone)]
#[must_use]
pub struct ProducerBuilder {
    group: String,
    config: ClientConfig,
    send_timeout: Duration,
    retry_times: u32,
    max_message_size: usize,
    compress_over: usize,
}

impl ProducerBuilder {
    /// Name server addresses, `;`-separated (default `127.0.0.1:9876`).
    pub fn namesrv_addr(mut self, addrs: impl AsRef<str>) -> Self {
        self.config.namesrv_addrs = parse_namesrv_list(addrs.as_ref());
        self
    }

    /// Total time one send may take, retries included (default 3 s).
    pub fn send_timeout(mut self, timeout: Duration) -> Self {
        self.send_timeout = timeout;
        self
    }

    /// Extra attempts after a failed send, each on another queue (and broker, when there are
    /// several); default 2.
    pub fn retry_times_when_send_failed(mut self, times: u32) -> Self {
        self.retry_times = times;
        self
    }

    /// Largest body (or encoded batch) accepted, in bytes (default 4 MiB).
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// Bodies of at least this many bytes are sent zlib-compressed (default 4096, as Java's
    /// `compressMsgBodyOverHowmuch`; 0 = never). Consumers inflate them transparently.
    pub fn compress_over(mut self, bytes: usize) -> Self {
        self.compress_over = bytes;
        self
    }

    /// The instance half of the client id (default `pid#n`, unique in the process).
    pub fn instance_name(mut self, name: impl Into<String>) -> Self {
        self.config.instance_name = name.into();
        self
    }

    /// How often routes are refreshed and the producer heartbeats to its brokers (default 30 s).
    pub fn poll_namesrv_interval(mut self, every: Duration) -> Self {
        self.config.poll_namesrv_interval = every;
        self
    }

    /// Starts the producer. Nothing is fetched eagerly: routes come on the first send.
    pub async fn start(self) -> ClientResult<Producer> {
        check_group(&self.group)?;
        if self.max_message_size == 0 {
            return Err(ClientError::InvalidArgument(
                "max_message_size must be positive".into(),
            ));
        }
        self.config.validate()?;
        let inner = Arc::new(ProducerInner {
            core: ClientCore::new(self.config, None),
            group: self.group,
            send_timeout: self.send_timeout,
            retry_times: self.retry_times,
            max_message_size: self.max_message_size,
            compress_over: self.compress_over,
            next_queue: AtomicUsize::new(rand::random::<u16>().into()),
            closed: AtomicBool::new(false),
            cancel: CancellationToken::new(),
        });
        spawn_background(&inner);
        Ok(Producer { inner })
    }
}

#[derive(Debug)]
struct ProducerInner {
    core: ClientCore,
    group: String,
    send_timeout: Duration,
    retry_times: u32,
    max_message_size: usize,
    compress_over: usize,
    /// Round-robin position over a topic's write queues.
    next_queue: AtomicUsize,
    closed: AtomicBool,
    cancel: CancellationToken,
}

impl Drop for ProducerInner {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// Sends messages; see the module docs. Cheap to clone; clones share connections and routes.
#[derive(Debug, Clone)]
pub struct Producer {
    inner: Arc<ProducerInner>,
}

impl Producer {
    /// A builder for a producer of `group`.
    pub fn builder(group: impl Into<String>) -> ProducerBuilder {
        ProducerBuilder {
            group: group.into(),
            config: ClientConfig::default(),
            send_timeout: Duration::from_secs(3),
            retry_times: 2,
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            compress_over: DEFAULT_COMPRESS_OVER,
        }
    }

    /// The producer group.
    pub fn group(&self) -> &str {
        &self.inner.group
    }

    /// The client id brokers see (`ip@instance`).
    pub fn client_id(&self) -> &str {
        &self.inner.core.client_id
    }

    fn check_open(&self) -> ClientResult<()> {
        if self.inner.closed.load(Ordering::SeqCst) {
            Err(ClientError::Shutdown)
        } else {
            Ok(())
        }
    }

    /// Sends and waits until the broker stored the message, retrying on other queues.
    pub async fn send(&self, msg: Message) -> ClientResult<SendResult> {
        self.check_open()?;
        self.inner.send(&msg, kernel::Target::Any).await
    }

    /// Sends in the background and calls `callback` with the outcome (on a spawned task).
    pub fn send_async<F>(&self, msg: Message, callback: F)
    where
        F: FnOnce(ClientResult<SendResult>) + Send + 'static,
    {
        let producer = self.clone();
        tokio::spawn(async move { callback(producer.send(msg).await) });
    }

    /// Sends without waiting for the broker: returns once the request is written out.
    /// No acknowledgement, no retry.
    pub async fn send_oneway(&self, msg: Message) -> ClientResult<()> {
        self.check_open()?;
        self.inner.send_oneway(&msg).await
    }

    /// Sends messages of one topic as one batch, stored atomically in one queue.
    pub async fn send_batch(&self, msgs: Vec<Message>) -> ClientResult<SendResult> {
        self.check_open()?;
        self.inner.send_batch(msgs).await
    }

    /// Sends to one given queue (no retry on other queues).
    pub async fn send_to_queue(
        &self,
        msg: Message,
        queue: MessageQueue,
    ) -> ClientResult<SendResult> {
        self.check_open()?;
        if queue.topic != msg.topic {
            return Err(ClientError::InvalidArgument(format!(
                "queue of topic {} given for a message of topic {}",
                queue.topic, msg.topic
            )));
        }
        self.inner.send(&msg, kernel::Target::Queue(&queue)).await
    }

    /// Sends to the queue chosen by `sharding_key` (Java `hashCode` modulo the queue count),
    /// so every message with the same key lands in the same queue, in order.
    pub async fn send_orderly(&self, msg: Message, sharding_key: &str) -> ClientResult<SendResult> {
        self.check_open()?;
        self.inner
            .send(&msg, kernel::Target::Sharding(sharding_key))
            .await
    }

    /// The queues a message of `topic` may be sent to (writable brokers), sorted.
    pub async fn fetch_publish_queues(&self, topic: &str) -> ClientResult<Vec<MessageQueue>> {
        Ok(self.inner.route_for(topic).await?.write_queues.clone())
    }

    /// Stops the producer: later sends fail with [`ClientError::Shutdown`]; the brokers are
    /// told the group left; connections close.
    pub async fn shutdown(&self) {
        if self.inner.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        self.inner.cancel.cancel();
        for addr in self.inner.core.routes.known_brokers().into_values() {
            let left = self
                .inner
                .core
                .unregister_client(&addr, Some(&self.inner.group), None)
                .await;
            if let Err(e) = left {
                tracing::debug!(broker = %addr, error = %e, "unregister failed");
            }
        }
        self.inner.core.pool.close_all();
    }
}

impl ProducerInner {
    async fn heartbeat_all(&self) {
        let data = HeartbeatData {
            client_id: self.core.client_id.clone(),
            producer_data_set: vec![ProducerData {
                group_name: self.group.clone(),
            }],
            consumer_data_set: Vec::new(),
        };
        for addr in self.core.routes.known_brokers().into_values() {
            if let Err(e) = self.core.heartbeat(&addr, &data).await {
                tracing::debug!(broker = %addr, error = %e, "producer heartbeat failed");
            }
        }
    }
}

/// Refreshes routes and heartbeats every poll interval until the producer is shut down or dropped.
fn spawn_background(inner: &Arc<ProducerInner>) {
    let weak = Arc::downgrade(inner);
    let cancel = inner.cancel.clone();
    let period = inner.core.config.poll_namesrv_interval;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = cancel.cancelled() => break,
                () = tokio::time::sleep(period) => {}
            }
            let Some(inner) = weak.upgrade() else { break };
            inner.core.routes.refresh_all().await;
            inner.heartbeat_all().await;
        }
    });
}
