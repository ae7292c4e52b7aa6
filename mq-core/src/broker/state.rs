//! The state every request handler shares: configuration, the store, the metadata tables,
//! live clients, arrival notifications, counters, and the shutdown signal.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::BrokerConfig;
use super::consumer_groups::ClientGroups;
use super::consumer_offsets::ConsumerOffsets;
use super::delay::DelayOffsets;
use super::locks::QueueLocks;
use super::long_poll::Arrivals;
use super::processor::ProcessError;
use super::topic_config::TopicConfigs;
use crate::protocol::header::consumer::NotifyConsumerIdsChangedRequestHeader;
use crate::protocol::{RemotingCommand, RequestCode};
use crate::store::Store;

/// Message counters for GET_BROKER_RUNTIME_INFO.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    /// Messages stored since start.
    pub put_messages: AtomicU64,
    /// Messages returned by pulls since start.
    pub got_messages: AtomicU64,
    /// Pulls held by long polling right now.
    pub held_pulls: AtomicU64,
}

impl Stats {
    pub(crate) fn add(counter: &AtomicU64, n: usize) {
        counter.fetch_add(n as u64, Ordering::Relaxed);
    }
}

/// Everything a handler may touch.
#[derive(Debug)]
pub(crate) struct BrokerState {
    /// The configuration the broker runs with.
    pub config: BrokerConfig,
    /// The address clients are told to use (routes, msgIds).
    pub addr: SocketAddr,
    /// The message store.
    pub store: Arc<Store>,
    /// Topics.
    pub topics: TopicConfigs,
    /// Committed consumer offsets.
    pub offsets: ConsumerOffsets,
    /// Delay-level progress of the schedule.
    pub delay_offsets: DelayOffsets,
    /// Live producers and consumers.
    pub groups: ClientGroups,
    /// Orderly-consumption queue locks.
    pub locks: QueueLocks,
    /// Wakes held pulls.
    pub arrivals: Arc<Arrivals>,
    /// Asks the registration task to register now (a topic changed).
    pub register_now: Notify,
    /// Fires when the broker begins shutting down.
    pub shutdown: CancellationToken,
    /// Counters.
    pub stats: Stats,
    /// Start time, ms since the epoch.
    pub boot_millis: i64,
}

impl BrokerState {
    /// Builds the state around an open store and loaded metadata.
    pub(crate) fn new(
        config: BrokerConfig,
        addr: SocketAddr,
        store: Arc<Store>,
        topics: TopicConfigs,
        offsets: ConsumerOffsets,
        delay_offsets: DelayOffsets,
    ) -> Self {
        let locks = QueueLocks::new(config.lock_lease);
        Self {
            config,
            addr,
            store,
            topics,
            offsets,
            delay_offsets,
            groups: ClientGroups::default(),
            locks,
            arrivals: Arc::new(Arrivals::default()),
            register_now: Notify::new(),
            shutdown: CancellationToken::new(),
            stats: Stats::default(),
            boot_millis: now_millis(),
        }
    }

    /// Runs a store call on the blocking pool: the store does file I/O under its locks.
    pub(crate) async fn with_store<T, F>(&self, f: F) -> Result<T, ProcessError>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> T + Send + 'static,
    {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(|e| ProcessError::system(format!("store task failed: {e}")))
    }

    /// Tells every client of `group` that its membership changed, so it rebalances
    /// (NOTIFY_CONSUMER_IDS_CHANGED, oneway, on each client's own connection).
    pub(crate) fn notify_consumer_ids_changed(&self, group: &str) {
        let header = NotifyConsumerIdsChangedRequestHeader {
            consumer_group: group.to_owned(),
        };
        for channel in self.groups.consumer_channels(group) {
            let request = RemotingCommand::request_with_header(
                RequestCode::NOTIFY_CONSUMER_IDS_CHANGED,
                &header,
            )
            .oneway();
            if !channel.send_oneway(request) {
                tracing::debug!(group, addr = %channel.addr(), "could not notify a consumer: its connection is busy or gone");
            }
        }
    }

    /// A topic was created or changed: re-register with the name servers at once.
    pub(crate) fn topics_changed(&self) {
        self.register_now.notify_one();
    }
}

/// Now, ms since the epoch.
pub(crate) fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
