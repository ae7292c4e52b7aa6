//! The push consumer: [`PushConsumer`] and its builder. Messages are pulled with long polling
//! and pushed to a listener on a bounded worker pool.
//!
//! | module | owns |
//! |---|---|
//! | `listener` | the listener traits, results and closure adapters |
//! | `rebalance` | queue ownership: allocation, take-over, release |
//! | `pull_loop` | one long-polling pull loop per owned queue, with flow control |
//! | `process_queue` | one owned queue's unacknowledged messages and committable offset |
//! | `consume` | the worker pool: concurrent and orderly listener calls, retry via send-back |
//! | `offset_store` | offsets in memory, persisted to the broker or a local file |
//! | `service` | heartbeat, rebalance, route and offset-persist timers; server requests |

mod consume;
mod listener;
mod offset_store;
mod process_queue;
mod pull_loop;
mod rebalance;
mod service;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use listener::{
    ConsumeResult, ListenerFn, MessageListener, OrderlyListener, OrderlyListenerFn, OrderlyResult,
    listener_fn, orderly_listener_fn,
};
pub use rebalance::{AllocateAveragely, AllocateStrategy};

use self::offset_store::OffsetStore;
use self::process_queue::ProcessQueue;
use super::core::{ClientConfig, ClientCore, now_ms, parse_namesrv_list};
use super::error::{ClientError, ClientResult};
use super::validate::{check_group, check_topic};
use crate::protocol::MessageQueue;
use crate::protocol::body::heartbeat::{MessageModel, SubscriptionData};
use crate::protocol::tag::Subscription;

/// Prefix of a group's retry topic (`%RETRY%<group>`).
pub const RETRY_PREFIX: &str = "%RETRY%";
/// Prefix of a group's dead-letter topic (`%DLQ%<group>`).
pub const DLQ_PREFIX: &str = "%DLQ%";

/// Where a group with no committed offset starts on a queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ConsumeFrom {
    /// At the end: only messages stored from now on (RocketMQ's default).
    #[default]
    LastOffset,
    /// At the oldest message still stored.
    FirstOffset,
    /// At the first message stored at or after this time (ms since the epoch).
    Timestamp(i64),
}

/// Consumer settings (the builder's knobs).
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub message_model: MessageModel,
    pub consume_from: ConsumeFrom,
    pub consume_thread_max: usize,
    pub consume_batch_max: usize,
    pub pull_batch_size: i32,
    pub max_reconsume_times: i32,
    pub pull_threshold_for_queue: usize,
    pub pull_threshold_size_for_queue: usize,
    pub rebalance_interval: Duration,
    pub persist_interval: Duration,
    pub suspend_timeout: Duration,
    pub suspend_current_queue_time: Duration,
    pub pull_delay_on_error: Duration,
    pub offset_store_dir: Option<PathBuf>,
}

/// One subscribed topic: what the broker is told and what the client re-checks.
#[derive(Debug, Clone)]
pub(crate) struct Sub {
    pub data: SubscriptionData,
    pub filter: Subscription,
}

impl Sub {
    fn new(topic: &str, expression: &str) -> Self {
        let filter = Subscription::parse(expression);
        let (tags_set, code_set) = match &filter {
            Subscription::All => Default::default(),
            Subscription::Tags { tags, codes } => (
                tags.iter().cloned().collect(),
                codes.iter().copied().collect(),
            ),
        };
        let data = SubscriptionData {
            topic: topic.to_owned(),
            sub_string: filter.expression(),
            tags_set,
            code_set,
            sub_version: now_ms(),
            ..SubscriptionData::default()
        };
        Self { data, filter }
    }
}

/// The listener a consumer was started with.
#[derive(Clone)]
pub(crate) enum ListenerKind {
    Concurrent(Arc<dyn MessageListener>),
    Orderly(Arc<dyn OrderlyListener>),
}

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

/// The shared state of a running push consumer.
pub(crate) struct ConsumerInner {
    pub group: String,
    pub core: ClientCore,
    pub settings: Settings,
    pub subscriptions: BTreeMap<String, Sub>,
    pub listener: ListenerKind,
    pub offsets: OffsetStore,
    pub queues: Mutex<HashMap<MessageQueue, Arc<ProcessQueue>>>,
    pub workers: Arc<Semaphore>,
    pub rebalance_now: Notify,
    /// A queue could not be taken (locked elsewhere, broker down): rebalance again soon.
    pub rebalance_soon: AtomicBool,
    pub cancel: CancellationToken,
    pub tracker: TaskTracker,
    pub allocate: Arc<dyn AllocateStrategy>,
    pub started_at: i64,
    pub closed: AtomicBool,
    /// The last subscription difference seen between this instance and another of the group.
    pub subscription_conflict: Mutex<Option<String>>,
}

impl ConsumerInner {
    pub(crate) fn queues(&self) -> MutexGuard<'_, HashMap<MessageQueue, Arc<ProcessQueue>>> {
        self.queues.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn is_orderly_clustering(&self) -> bool {
        matches!(self.listener, ListenerKind::Orderly(_))
            && self.settings.message_model == MessageModel::Clustering
    }
}

/// A running push consumer; see the module docs.
pub struct PushConsumer {
    inner: Arc<ConsumerInner>,
}

impl std::fmt::Debug for PushConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushConsumer")
            .field("group", &self.inner.group)
            .field("client_id", &self.inner.core.client_id)
            .finish_non_exhaustive()
    }
}

impl PushConsumer {
    /// A builder for a consumer of `group`.
    pub fn builder(group: impl Into<String>) -> PushConsumerBuilder {
        PushConsumerBuilder {
            group: group.into(),
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

    /// The consumer group.
    pub fn group(&self) -> &str {
        &self.inner.group
    }

    /// The client id brokers list for this instance (`ip@instance`).
    pub fn client_id(&self) -> &str {
        &self.inner.core.client_id
    }

    /// The queues this instance owns right now, sorted.
    pub fn assigned_queues(&self) -> Vec<MessageQueue> {
        let mut mqs: Vec<_> = self.inner.queues().keys().cloned().collect();
        mqs.sort();
        mqs
    }

    /// The last difference seen between this instance's subscriptions and another instance's
    /// of the same group (checked every heartbeat), if any.
    pub fn subscription_conflict(&self) -> Option<String> {
        self.inner
            .subscription_conflict
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Messages pulled and not yet acknowledged by the listener, over every owned queue
    /// (bounded per queue by the flow-control thresholds).
    pub fn backlog(&self) -> usize {
        self.inner.queues().values().map(|pq| pq.count()).sum()
    }

    /// Runs a rebalance now instead of waiting for the timer.
    pub fn trigger_rebalance(&self) {
        self.inner.rebalance_now.notify_one();
    }

    /// Stops pulling, waits for listener calls in progress, commits offsets and leaves the group.
    pub async fn shutdown(&self) {
        service::shutdown(&self.inner).await;
    }
}

impl Drop for PushConsumer {
    fn drop(&mut self) {
        // Without an explicit shutdown the background tasks must still stop.
        if !self.inner.closed.load(Ordering::SeqCst) {
            self.inner.cancel.cancel();
        }
    }
}
