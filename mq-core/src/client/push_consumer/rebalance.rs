//! Rebalance: which queues of each subscribed topic this instance owns, and the hand-over
//! when that changes (stop the pull loop, commit, release; or compute the start offset,
//! lock for orderly consumption, and start pulling).
//!
//! Clustering spreads the queues over the group's live client ids (from the broker, which
//! learns them from heartbeats) with an [`AllocateStrategy`]; broadcasting takes every queue.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::process_queue::ProcessQueue;
use super::{ConsumeFrom, ConsumerInner, ListenerKind};
use crate::client::error::{ClientError, ClientResult};
use crate::protocol::MessageQueue;
use crate::protocol::body::heartbeat::MessageModel;

/// Chooses the queues one consumer of a group owns, given every queue and every consumer.
pub trait AllocateStrategy: Send + Sync + std::fmt::Debug + 'static {
    /// The queues of `all_queues` (sorted) for `client_id` among `client_ids` (sorted).
    /// Every instance runs it on the same inputs, so it must be deterministic.
    fn allocate(
        &self,
        group: &str,
        client_id: &str,
        all_queues: &[MessageQueue],
        client_ids: &[String],
    ) -> Vec<MessageQueue>;

    /// A name for logs.
    fn name(&self) -> &'static str;
}

/// RocketMQ's `AllocateMessageQueueAveragely`: contiguous, near-equal slices in id order.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllocateAveragely;

impl AllocateStrategy for AllocateAveragely {
    fn allocate(
        &self,
        _group: &str,
        client_id: &str,
        all_queues: &[MessageQueue],
        client_ids: &[String],
    ) -> Vec<MessageQueue> {
        let Some(index) = client_ids.iter().position(|c| c == client_id) else {
            return Vec::new();
        };
        let (queues, clients) = (all_queues.len(), client_ids.len());
        if queues == 0 {
            return Vec::new();
        }
        let rest = queues % clients;
        let average = if queues <= clients {
            1
        } else if rest > 0 && index < rest {
            queues / clients + 1
        } else {
            queues / clients
        };
        let start = if rest > 0 && index < rest {
            index * average
        } else {
            index * average + rest
        };
        let range = average.min(queues.saturating_sub(start));
        (0..range)
            .map(|i| all_queues[(start + i) % queues].clone())
            .collect()
    }

    fn name(&self) -> &'static str {
        "AVG"
    }
}

impl ConsumerInner {
    /// Rebalances every subscribed topic once.
    pub(crate) async fn rebalance(self: &Arc<Self>) {
        for topic in self.subscriptions.keys() {
            if let Err(e) = self.rebalance_topic(topic).await {
                tracing::debug!(group = %self.group, %topic, error = %e, "rebalance failed");
                // Try again soon rather than after a whole rebalance interval.
                self.rebalance_soon.store(true, Ordering::SeqCst);
            }
        }
    }

    async fn rebalance_topic(self: &Arc<Self>, topic: &str) -> ClientResult<()> {
        let route = self.core.routes.get(topic).await?;
        let all = route.read_queues.clone();
        let mine: Vec<MessageQueue> = match self.settings.message_model {
            MessageModel::Broadcasting => all,
            MessageModel::Clustering => {
                let masters = route.masters();
                let mut ids = self.consumer_ids(&masters).await.unwrap_or_default();
                if !ids.contains(&self.core.client_id) {
                    // A broker we have not heartbeated to yet (the topic's route just
                    // appeared, or the broker restarted): introduce ourselves and ask again.
                    self.heartbeat_all().await;
                    ids = self.consumer_ids(&masters).await?;
                }
                ids.sort();
                ids.dedup();
                self.allocate
                    .allocate(&self.group, &self.core.client_id, &all, &ids)
            }
        };
        self.apply(topic, mine.into_iter().collect()).await;
        Ok(())
    }

    /// The group's client ids from the first broker of the topic that answers.
    async fn consumer_ids(
        &self,
        masters: &std::collections::BTreeMap<String, String>,
    ) -> ClientResult<Vec<String>> {
        let mut last = ClientError::NoRoute {
            topic: self.group.clone(),
        };
        for addr in masters.values() {
            match self.core.consumer_ids(addr, &self.group).await {
                Ok(ids) => return Ok(ids),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// Makes the owned queues of `topic` exactly `wanted`.
    async fn apply(self: &Arc<Self>, topic: &str, wanted: BTreeSet<MessageQueue>) {
        let current: Vec<MessageQueue> = self
            .queues()
            .keys()
            .filter(|mq| mq.topic == topic)
            .cloned()
            .collect();
        for mq in current.iter().filter(|mq| !wanted.contains(*mq)) {
            self.release(mq).await;
        }
        let current: HashSet<MessageQueue> = current.into_iter().collect();
        for mq in wanted.into_iter().filter(|mq| !current.contains(mq)) {
            if self.cancel.is_cancelled() {
                return;
            }
            if let Err(e) = self.take(mq.clone()).await {
                tracing::debug!(group = %self.group, queue = ?mq, error = %e, "cannot take queue yet");
                self.rebalance_soon.store(true, Ordering::SeqCst);
            }
        }
    }

    /// Stops consuming `mq`: the pull loop ends, in-flight work is not committed after this,
    /// the current position is committed and (orderly) the broker lock is released.
    pub(crate) async fn release(&self, mq: &MessageQueue) {
        let Some(pq) = self.queues().remove(mq) else {
            return;
        };
        pq.drop_queue();
        // Orderly: wait for the call in progress so the next owner never overlaps with it.
        let _idle = pq.consume_lock.lock().await;
        self.commit_position(&pq);
        if let Err(e) = self
            .offsets
            .persist(&self.core, std::slice::from_ref(mq))
            .await
        {
            tracing::debug!(queue = ?mq, error = %e, "commit on release failed");
        }
        self.offsets.remove(mq);
        if self.is_orderly_clustering() {
            if let Ok(addr) = self.core.addr_of(mq).await {
                let mqs = BTreeSet::from([mq.clone()]);
                let _unlocked = self.core.unlock_batch(&addr, &self.group, mqs).await;
            }
        }
        tracing::info!(group = %self.group, queue = ?mq, "queue released");
    }

    /// Starts consuming `mq` from its committed offset (or the consume-from rule).
    async fn take(self: &Arc<Self>, mq: MessageQueue) -> ClientResult<()> {
        let locked = if self.is_orderly_clustering() {
            let addr = self.core.addr_of(&mq).await?;
            let got = self
                .core
                .lock_batch(&addr, &self.group, BTreeSet::from([mq.clone()]))
                .await?;
            if !got.contains(&mq) {
                return Err(ClientError::Broker {
                    code: 0,
                    remark: "queue locked by another instance".into(),
                });
            }
            true
        } else {
            false
        };
        let offset = self.start_offset(&mq).await?;
        let pq = Arc::new(ProcessQueue::new(mq.clone(), self.cancel.child_token()));
        pq.set_locked(locked);
        self.queues().insert(mq.clone(), Arc::clone(&pq));
        tracing::info!(group = %self.group, queue = ?mq, offset, "queue taken");
        let this = Arc::clone(self);
        let loop_pq = Arc::clone(&pq);
        self.tracker
            .spawn(async move { this.pull_loop(loop_pq, offset).await });
        if let ListenerKind::Orderly(_) = &self.listener {
            let this = Arc::clone(self);
            self.tracker
                .spawn(async move { this.orderly_loop(pq).await });
        }
        Ok(())
    }

    /// Where to start: the committed offset, else by `consume_from` (`computePullFromWhere`).
    async fn start_offset(&self, mq: &MessageQueue) -> ClientResult<i64> {
        if let Some(offset) = self.offsets.read_stored(&self.core, mq).await? {
            // A broker answers 0 for a group it has no offset for while the queue still starts
            // at 0 (RocketMQ's QueryConsumerOffsetProcessor), so Java would replay the queue
            // even under CONSUME_FROM_TIMESTAMP; an explicit start time is honoured instead.
            let unknown_start =
                offset == 0 && matches!(self.settings.consume_from, ConsumeFrom::Timestamp(_));
            if offset >= 0 && !unknown_start {
                return Ok(offset);
            }
        }
        let addr = self.core.addr_of(mq).await?;
        let retry = mq.topic.starts_with(super::RETRY_PREFIX);
        match self.settings.consume_from {
            ConsumeFrom::FirstOffset => Ok(0),
            // A retry queue is always read from its start: its messages are owed to us.
            ConsumeFrom::LastOffset if retry => Ok(0),
            ConsumeFrom::LastOffset => self.core.max_offset(&addr, mq).await,
            ConsumeFrom::Timestamp(_) if retry => self.core.max_offset(&addr, mq).await,
            ConsumeFrom::Timestamp(ts) => self.core.search_offset(&addr, mq, ts).await,
        }
    }

    /// Records the queue's committable position in the offset store (unless it has none yet).
    pub(crate) fn commit_position(&self, pq: &ProcessQueue) {
        if let Some(offset) = pq.committable() {
            self.offsets.update(&pq.mq, offset, true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queues(n: i32) -> Vec<MessageQueue> {
        (0..n).map(|i| MessageQueue::new("t", "b", i)).collect()
    }

    #[test]
    fn averagely_matches_rocketmq() {
        let ids: Vec<String> = ["a", "b", "c"].iter().map(|s| (*s).to_owned()).collect();
        let all = queues(8);
        let got: Vec<Vec<i32>> = ids
            .iter()
            .map(|id| {
                AllocateAveragely
                    .allocate("g", id, &all, &ids)
                    .iter()
                    .map(|q| q.queue_id)
                    .collect()
            })
            .collect();
        assert_eq!(got, vec![vec![0, 1, 2], vec![3, 4, 5], vec![6, 7]]);
        let more_clients: Vec<String> = (0..5).map(|i| i.to_string()).collect();
        let two = queues(2);
        assert_eq!(
            AllocateAveragely
                .allocate("g", "1", &two, &more_clients)
                .len(),
            1
        );
        assert!(
            AllocateAveragely
                .allocate("g", "4", &two, &more_clients)
                .is_empty()
        );
        assert!(
            AllocateAveragely
                .allocate("g", "zz", &two, &more_clients)
                .is_empty()
        );
    }
}
