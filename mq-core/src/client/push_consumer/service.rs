//! The consumer's background work and lifecycle: start-up (routes, heartbeat, first
//! rebalance), the heartbeat / rebalance / route / offset-persist / lock-renew timers, the
//! answers to broker-initiated requests, and the graceful shutdown.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use async_trait::async_trait;

use super::ConsumerInner;
use crate::client::connection::{ServerRequestHandler, not_supported};
use crate::protocol::body::admin::ResetOffsetBody;
use crate::protocol::body::heartbeat::{
    ConsumeFromWhere, ConsumeType, ConsumerData, HeartbeatData,
};
use crate::protocol::code::{RequestCode, ResponseCode};
use crate::protocol::header::offset::ResetOffsetRequestHeader;
use crate::protocol::{JsonBody, MessageQueue, RemotingCommand};

/// Orderly lock renewal period (RocketMQ's 20 s; the broker lease is 60 s).
const LOCK_RENEW_INTERVAL: Duration = Duration::from_secs(20);
/// Rebalance delay after a queue could not be taken.
const REBALANCE_RETRY: Duration = Duration::from_secs(1);

/// Routes, heartbeat and a first rebalance, then the timers.
pub(crate) async fn start(inner: &Arc<ConsumerInner>) {
    inner.refresh_routes().await;
    inner.heartbeat_all().await;
    inner.rebalance().await;
    spawn_timer(
        inner,
        inner.core.config.heartbeat_interval,
        |c| async move {
            // Before our own heartbeat: the broker still holds the last other instance's view.
            c.check_subscriptions().await;
            c.heartbeat_all().await;
        },
    );
    spawn_timer(
        inner,
        inner.core.config.poll_namesrv_interval,
        |c| async move {
            c.refresh_routes().await;
        },
    );
    spawn_timer(inner, inner.settings.persist_interval, |c| async move {
        c.persist_all().await;
    });
    if inner.is_orderly_clustering() {
        spawn_timer(inner, LOCK_RENEW_INTERVAL, |c| async move {
            c.renew_locks().await;
        });
    }
    let this = Arc::clone(inner);
    inner.tracker.spawn(async move {
        loop {
            let wait = if this.rebalance_soon.swap(false, Ordering::SeqCst) {
                REBALANCE_RETRY
            } else {
                this.settings.rebalance_interval
            };
            tokio::select! {
                () = this.cancel.cancelled() => break,
                () = this.rebalance_now.notified() => {}
                () = tokio::time::sleep(wait) => {}
            }
            this.rebalance().await;
        }
    });
}

fn spawn_timer<F, Fut>(inner: &Arc<ConsumerInner>, every: Duration, job: F)
where
    F: Fn(Arc<ConsumerInner>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let this = Arc::clone(inner);
    inner.tracker.spawn(async move {
        loop {
            tokio::select! {
                () = this.cancel.cancelled() => break,
                () = tokio::time::sleep(every) => {}
            }
            job(Arc::clone(&this)).await;
        }
    });
}

/// Stops pulling, lets listener calls in progress finish, commits, unlocks and unregisters.
pub(crate) async fn shutdown(inner: &Arc<ConsumerInner>) {
    if inner.closed.swap(true, Ordering::SeqCst) {
        return;
    }
    inner.cancel.cancel();
    inner.tracker.close();
    inner.tracker.wait().await;
    let pqs: Vec<_> = inner.queues().drain().map(|(_, pq)| pq).collect();
    for pq in &pqs {
        inner.commit_position(pq);
    }
    let mqs: Vec<MessageQueue> = pqs.iter().map(|pq| pq.mq.clone()).collect();
    if let Err(e) = inner.offsets.persist(&inner.core, &mqs).await {
        tracing::warn!(group = %inner.group, error = %e, "final offset commit failed");
    }
    if inner.is_orderly_clustering() {
        for (addr, set) in inner.by_broker(&mqs).await {
            let _unlocked = inner.core.unlock_batch(&addr, &inner.group, set).await;
        }
    }
    for addr in inner.core.routes.known_brokers().into_values() {
        if let Err(e) = inner
            .core
            .unregister_client(&addr, None, Some(&inner.group))
            .await
        {
            tracing::debug!(broker = %addr, error = %e, "unregister failed");
        }
    }
    inner.core.pool.close_all();
}

impl ConsumerInner {
    async fn refresh_routes(&self) {
        for topic in self.subscriptions.keys() {
            if let Err(e) = self.core.routes.refresh(topic).await {
                tracing::debug!(%topic, error = %e, "no route yet");
            }
        }
    }

    fn heartbeat_data(&self) -> HeartbeatData {
        let consume_from_where = match self.settings.consume_from {
            super::ConsumeFrom::LastOffset => ConsumeFromWhere::ConsumeFromLastOffset,
            super::ConsumeFrom::FirstOffset => ConsumeFromWhere::ConsumeFromFirstOffset,
            super::ConsumeFrom::Timestamp(_) => ConsumeFromWhere::ConsumeFromTimestamp,
        };
        HeartbeatData {
            client_id: self.core.client_id.clone(),
            producer_data_set: Vec::new(),
            consumer_data_set: vec![ConsumerData {
                group_name: self.group.clone(),
                consume_type: ConsumeType::ConsumePassively,
                message_model: self.settings.message_model,
                consume_from_where,
                subscription_data_set: self
                    .subscriptions
                    .values()
                    .map(|s| s.data.clone())
                    .collect(),
                unit_mode: false,
            }],
        }
    }

    /// Heartbeats to every broker of the subscribed topics.
    pub(crate) async fn heartbeat_all(&self) {
        let data = self.heartbeat_data();
        for addr in self.core.routes.known_brokers().into_values() {
            if let Err(e) = self.core.heartbeat(&addr, &data).await {
                tracing::debug!(broker = %addr, error = %e, "heartbeat failed");
            }
        }
    }

    /// Compares the group's subscriptions as the broker last heard them (from any instance)
    /// with ours; instances that subscribe differently steal each other's messages, which
    /// RocketMQ's docs warn about, so it is logged and kept for [`super::PushConsumer::subscription_conflict`].
    async fn check_subscriptions(&self) {
        let Some(addr) = self.core.routes.known_brokers().into_values().next() else {
            return;
        };
        let Ok(info) = self.core.consumer_connection(&addr, &self.group).await else {
            return;
        };
        let mut differences = Vec::new();
        for (topic, sub) in &self.subscriptions {
            match info.subscription_table.get(topic) {
                Some(theirs) if theirs.sub_string != sub.data.sub_string => {
                    differences.push(format!(
                        "{topic}: ours {:?}, another instance {:?}",
                        sub.data.sub_string, theirs.sub_string
                    ))
                }
                None if !info.subscription_table.is_empty() => {
                    differences.push(format!("{topic}: not subscribed by another instance"));
                }
                _ => {}
            }
        }
        for topic in info.subscription_table.keys() {
            if !self.subscriptions.contains_key(topic) {
                differences.push(format!(
                    "{topic}: subscribed by another instance, not by us"
                ));
            }
        }
        if differences.is_empty() {
            return;
        }
        let conflict = differences.join("; ");
        let mut last = self
            .subscription_conflict
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if last.as_deref() != Some(conflict.as_str()) {
            tracing::warn!(group = %self.group, %conflict, "subscriptions differ between instances of the group");
            *last = Some(conflict);
        }
    }

    /// Commits every owned queue's position.
    async fn persist_all(&self) {
        let pqs: Vec<_> = self.queues().values().cloned().collect();
        for pq in &pqs {
            self.commit_position(pq);
        }
        let mqs: Vec<MessageQueue> = pqs.iter().map(|pq| pq.mq.clone()).collect();
        let _logged_inside = self.offsets.persist(&self.core, &mqs).await;
    }

    async fn by_broker(&self, mqs: &[MessageQueue]) -> BTreeMap<String, BTreeSet<MessageQueue>> {
        let mut out: BTreeMap<String, BTreeSet<MessageQueue>> = BTreeMap::new();
        for mq in mqs {
            if let Ok(addr) = self.core.addr_of(mq).await {
                out.entry(addr).or_default().insert(mq.clone());
            }
        }
        out
    }

    /// Orderly: renews the broker locks of owned queues; a queue whose lock was lost pauses.
    async fn renew_locks(&self) {
        let pqs: Vec<_> = self.queues().values().cloned().collect();
        let mqs: Vec<MessageQueue> = pqs.iter().map(|pq| pq.mq.clone()).collect();
        for (addr, set) in self.by_broker(&mqs).await {
            match self.core.lock_batch(&addr, &self.group, set.clone()).await {
                Ok(held) => {
                    for pq in pqs.iter().filter(|pq| set.contains(&pq.mq)) {
                        pq.set_locked(held.contains(&pq.mq));
                    }
                }
                Err(e) => tracing::debug!(broker = %addr, error = %e, "lock renewal failed"),
            }
        }
    }

    /// RESET_CONSUMER_CLIENT_OFFSET: drop the topic's owned queues, commit the new offsets,
    /// and rebalance so pulling restarts from them.
    async fn reset_offsets(&self, topic: &str, table: BTreeMap<MessageQueue, i64>) {
        for (mq, offset) in table.iter().filter(|(mq, _)| mq.topic == topic) {
            let pq = self.queues().remove(mq);
            if let Some(pq) = &pq {
                pq.drop_queue();
                let _idle = pq.consume_lock.lock().await;
            }
            self.offsets.update(mq, *offset, false);
            if let Err(e) = self
                .offsets
                .persist(&self.core, std::slice::from_ref(mq))
                .await
            {
                tracing::warn!(queue = ?mq, error = %e, "reset offset commit failed");
            }
            self.offsets.remove(mq);
        }
        tracing::info!(group = %self.group, %topic, queues = table.len(), "offsets reset");
        self.rebalance_now.notify_one();
    }

    fn running_info(&self) -> serde_json::Value {
        let subs: Vec<_> = self.subscriptions.values().map(|s| &s.data).collect();
        serde_json::json!({
            "properties": {
                "PROP_CONSUME_TYPE": "CONSUME_PASSIVELY",
                "PROP_CONSUMER_START_TIMESTAMP": self.started_at.to_string(),
                "PROP_THREADPOOL_CORE_SIZE": self.settings.consume_thread_max.to_string(),
                "PROP_CLIENT_VERSION": "mq-core",
                "PROP_CONSUMEORDERLY": self.is_orderly_clustering().to_string(),
            },
            "subscriptionSet": subs,
            "mqTable": {},
            "statusTable": {},
        })
    }
}

/// Answers what brokers ask a consumer: membership changes, offset resets, running info.
pub(crate) struct ConsumerRequestHandler {
    inner: Weak<ConsumerInner>,
}

impl ConsumerRequestHandler {
    pub(crate) fn new(inner: Weak<ConsumerInner>) -> Self {
        Self { inner }
    }
}

#[async_trait]
impl ServerRequestHandler for ConsumerRequestHandler {
    async fn handle(&self, request: RemotingCommand, peer: &str) -> Option<RemotingCommand> {
        let Some(inner) = self.inner.upgrade() else {
            return Some(not_supported(&request));
        };
        match request.code {
            RequestCode::NOTIFY_CONSUMER_IDS_CHANGED => {
                tracing::debug!(group = %inner.group, broker = %peer, "consumer ids changed");
                inner.rebalance_now.notify_one();
                None
            }
            RequestCode::RESET_CONSUMER_CLIENT_OFFSET => {
                let parsed = request
                    .decode_header::<ResetOffsetRequestHeader>()
                    .ok()
                    .zip(ResetOffsetBody::from_json(&request.body).ok());
                let code = match parsed {
                    Some((header, body)) if header.group == inner.group => {
                        inner.reset_offsets(&header.topic, body.offset_table).await;
                        ResponseCode::SUCCESS
                    }
                    Some(_) => ResponseCode::SUCCESS,
                    None => ResponseCode::SYSTEM_ERROR,
                };
                Some(RemotingCommand::response_to(&request, code))
            }
            RequestCode::GET_CONSUMER_RUNNING_INFO => {
                let body = serde_json::to_vec(&inner.running_info()).unwrap_or_default();
                Some(RemotingCommand::response_to(&request, ResponseCode::SUCCESS).with_body(body))
            }
            _ => Some(not_supported(&request)),
        }
    }
}
