//! [`PushConsumerBuilder`]: the consumer's settings, checked and turned into a running
//! [`PushConsumer`] (subscriptions parsed, retry topic added, offset store chosen).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::offset_store::OffsetStore;
use super::{
    AllocateAveragely, AllocateStrategy, ConsumeFrom, ConsumerInner, ListenerKind, MessageListener,
    OrderlyListener, PushConsumer, RETRY_PREFIX, Settings, Sub, service,
};
use crate::client::core::{ClientConfig, ClientCore, now_ms, parse_namesrv_list};
use crate::client::error::{ClientError, ClientResult};
use crate::client::validate::{check_group, check_topic};
use crate::protocol::body::heartbeat::MessageModel;

/// Builds a [`PushConsumer`].
#[derive(Debug, Clone)]
#[must_use]
pub struct PushConsumerBuilder {
    group: String,
    config: ClientConfig,
    settings: Settings,
    subscriptions: Vec<(String, String)>,
    allocate: Arc<dyn AllocateStrategy>,
}

impl PushConsumerBuilder {
    /// A builder with RocketMQ's defaults.
    pub(super) fn new(group: String) -> Self {
        Self {
            group,
            config: ClientConfig::default(),
            settings: Settings {
                message_model: MessageModel::Clustering,
                consume_from: ConsumeFrom::LastOffset,
                consume_thread_max: 20,
                consume_batch_max: 1,
                pull_batch_size: 32,
                max_reconsume_times: 16,
                pull_threshold_for_queue: 1000,
                pull_threshold_size_for_queue: 100 * 1024 * 1024,
                rebalance_interval: Duration::from_secs(20),
                persist_interval: Duration::from_secs(5),
                suspend_timeout: Duration::from_secs(15),
                suspend_current_queue_time: Duration::from_secs(1),
                pull_delay_on_error: Duration::from_secs(1),
                offset_store_dir: None,
            },
            subscriptions: Vec::new(),
            allocate: Arc::new(AllocateAveragely),
        }
    }

    /// Name server addresses, `;`-separated (default `127.0.0.1:9876`).
    pub fn namesrv_addr(mut self, addrs: impl AsRef<str>) -> Self {
        self.config.namesrv_addrs = parse_namesrv_list(addrs.as_ref());
        self
    }
    /// Subscribes to `topic` with `expression` (`*` or `tagA || tagB`); call once per topic.
    pub fn subscribe(mut self, topic: impl Into<String>, expression: impl Into<String>) -> Self {
        self.subscriptions.push((topic.into(), expression.into()));
        self
    }
    /// Clustering (default: each message to one instance) or broadcasting (to every instance).
    pub fn message_model(mut self, model: MessageModel) -> Self {
        self.settings.message_model = model;
        self
    }
    /// Where a group with no committed offset starts (default the last offset).
    pub fn consume_from(mut self, from: ConsumeFrom) -> Self {
        self.settings.consume_from = from;
        self
    }
    /// Most listener calls at once (default 20).
    pub fn consume_thread_max(mut self, n: usize) -> Self {
        self.settings.consume_thread_max = n.max(1);
        self
    }
    /// Most messages per listener call (default 1).
    pub fn consume_message_batch_max_size(mut self, n: usize) -> Self {
        self.settings.consume_batch_max = n.max(1);
        self
    }
    /// Most messages per pull (default 32).
    pub fn pull_batch_size(mut self, n: i32) -> Self {
        self.settings.pull_batch_size = n.max(1);
        self
    }
    /// Retries before a message goes to `%DLQ%<group>` (default 16).
    pub fn max_reconsume_times(mut self, n: i32) -> Self {
        self.settings.max_reconsume_times = n;
        self
    }
    /// Stop pulling a queue while this many of its messages are unacknowledged (default 1000).
    pub fn pull_threshold_for_queue(mut self, n: usize) -> Self {
        self.settings.pull_threshold_for_queue = n.max(1);
        self
    }
    /// Stop pulling a queue while this many body bytes are unacknowledged (default 100 MiB).
    pub fn pull_threshold_size_for_queue(mut self, bytes: usize) -> Self {
        self.settings.pull_threshold_size_for_queue = bytes.max(1);
        self
    }
    /// Directory of the local offset file (broadcasting); default `./.mq_offsets`.
    pub fn offset_store_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.settings.offset_store_dir = Some(dir.into());
        self
    }
    /// The instance half of the client id (default `pid#n`, unique in the process).
    pub fn instance_name(mut self, name: impl Into<String>) -> Self {
        self.config.instance_name = name.into();
        self
    }
    /// Heartbeat period (default 30 s; the broker drops a client after 120 s of silence).
    pub fn heartbeat_interval(mut self, every: Duration) -> Self {
        self.config.heartbeat_interval = every;
        self
    }
    /// Rebalance period (default 20 s; membership changes also trigger one at once).
    pub fn rebalance_interval(mut self, every: Duration) -> Self {
        self.settings.rebalance_interval = every;
        self
    }
    /// Offset commit period (default 5 s).
    pub fn persist_interval(mut self, every: Duration) -> Self {
        self.settings.persist_interval = every;
        self
    }
    /// Route refresh period (default 30 s).
    pub fn poll_namesrv_interval(mut self, every: Duration) -> Self {
        self.config.poll_namesrv_interval = every;
        self
    }
    /// How long the broker may hold an empty pull (default 15 s).
    pub fn suspend_timeout(mut self, timeout: Duration) -> Self {
        self.settings.suspend_timeout = timeout;
        self
    }
    /// Orderly: pause after `SuspendCurrentQueueAMoment` (default 1 s).
    pub fn suspend_current_queue_time(mut self, pause: Duration) -> Self {
        self.settings.suspend_current_queue_time = pause;
        self
    }
    /// The queue allocation strategy (default [`AllocateAveragely`]).
    pub fn allocate_strategy(mut self, strategy: impl AllocateStrategy) -> Self {
        self.allocate = Arc::new(strategy);
        self
    }

    /// Starts consuming with a concurrent listener.
    pub async fn start(self, listener: impl MessageListener) -> ClientResult<PushConsumer> {
        self.start_with(ListenerKind::Concurrent(Arc::new(listener)))
            .await
    }

    /// Starts consuming with an orderly listener (each queue in order, one call at a time).
    pub async fn start_orderly(self, listener: impl OrderlyListener) -> ClientResult<PushConsumer> {
        self.start_with(ListenerKind::Orderly(Arc::new(listener)))
            .await
    }

    async fn start_with(self, listener: ListenerKind) -> ClientResult<PushConsumer> {
        check_group(&self.group)?;
        if self.subscriptions.is_empty() {
            return Err(ClientError::InvalidArgument("no topic subscribed".into()));
        }
        let mut subscriptions = BTreeMap::new();
        for (topic, expression) in &self.subscriptions {
            check_topic(topic)?;
            subscriptions.insert(topic.clone(), Sub::new(topic, expression));
        }
        let broadcasting = self.settings.message_model == MessageModel::Broadcasting;
        if !broadcasting {
            // Failed messages come back on the group's retry topic; RocketMQ subscribes it silently.
            let retry = format!("{RETRY_PREFIX}{}", self.group);
            subscriptions
                .entry(retry.clone())
                .or_insert_with(|| Sub::new(&retry, "*"));
        }
        let offsets = if broadcasting {
            let dir = self
                .settings
                .offset_store_dir
                .clone()
                .unwrap_or_else(|| PathBuf::from(".mq_offsets"));
            let file = dir
                .join(&self.config.instance_name)
                .join(&self.group)
                .join("offsets.json");
            OffsetStore::local(&self.group, file)?
        } else {
            OffsetStore::remote(&self.group)
        };
        self.config.validate()?;
        let workers = self.settings.consume_thread_max;
        let inner = Arc::new_cyclic(|weak| {
            let handler = Arc::new(service::ConsumerRequestHandler::new(weak.clone()));
            ConsumerInner {
                group: self.group,
                core: ClientCore::new(self.config, Some(handler)),
                settings: self.settings,
                subscriptions,
                listener,
                offsets,
                queues: Mutex::new(HashMap::new()),
                workers: Arc::new(Semaphore::new(workers)),
                rebalance_now: Notify::new(),
                rebalance_soon: AtomicBool::new(false),
                cancel: CancellationToken::new(),
                tracker: TaskTracker::new(),
                allocate: self.allocate,
                started_at: now_ms(),
                closed: AtomicBool::new(false),
                subscription_conflict: Mutex::new(None),
            }
        });
        service::start(&inner).await;
        Ok(PushConsumer { inner })
    }
}
