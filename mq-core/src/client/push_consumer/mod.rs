//! The push consumer: [`PushConsumer`] and its builder. Messages are pulled with long polling
//! and pushed to a listener on a bounded worker pool.
//!
//! | module | owns |
//! |---|---|
//! | `builder` | [`PushConsumerBuilder`]: settings, checks, start-up |
//! | `listener` | the listener traits, results and closure adapters |
//! | `rebalance` | queue ownership: allocation, take-over, release |
//! | `pull_loop` | one long-polling pull loop per owned queue, with flow control |
//! | `process_queue` | one owned queue's unacknowledged messages and committable offset |
//! | `consume` | the worker pool: concurrent and orderly listener calls, retry via send-back |
//! | `offset_store` | offsets in memory, persisted to the broker or a local file |
//! | `service` | heartbeat, rebalance, route and offset-persist timers; server requests |

mod builder;
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

pub use builder::PushConsumerBuilder;
pub use listener::{
    ConsumeResult, ListenerFn, MessageListener, OrderlyListener, OrderlyListenerFn, OrderlyResult,
    listener_fn, orderly_listener_fn,
};
pub use rebalance::{AllocateAveragely, AllocateStrategy};

use self::offset_store::OffsetStore;
use self::process_queue::ProcessQueue;
use super::core::{ClientCore, now_ms};
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
        PushConsumerBuilder::new(group.into())
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
