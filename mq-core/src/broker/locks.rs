//! Queue locks for orderly consumption (RocketMQ's `RebalanceLockManager`): per consumer
//! group and queue, one client holds the lock for a lease; it renews by locking again, and
//! a lock not renewed within the lease may be taken by another client of the group.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::time::Instant;

use crate::protocol::MessageQueue;

#[derive(Debug)]
struct Lock {
    client_id: String,
    renewed: Instant,
}

/// Every group's queue locks.
#[derive(Debug)]
pub(crate) struct QueueLocks {
    lease: Duration,
    groups: Mutex<HashMap<String, HashMap<MessageQueue, Lock>>>,
}

impl QueueLocks {
    /// Locks that expire `lease` after their last renewal.
    pub(crate) fn new(lease: Duration) -> Self {
        Self {
            lease,
            groups: Mutex::new(HashMap::new()),
        }
    }

    /// Locks (or renews) each queue for `client_id` where it is free, expired or already
    /// the client's; answers the queues the client now holds.
    pub(crate) fn lock(
        &self,
        group: &str,
        client_id: &str,
        queues: &BTreeSet<MessageQueue>,
        now: Instant,
    ) -> BTreeSet<MessageQueue> {
        let mut groups = self.groups.lock();
        let table = groups.entry(group.to_owned()).or_default();
        let mut locked = BTreeSet::new();
        for mq in queues {
            let free = match table.get(mq) {
                None => true,
                Some(l) => {
                    l.client_id == client_id
                        || now.saturating_duration_since(l.renewed) > self.lease
                }
            };
            if free {
                if let Some(previous) = table.get(mq).filter(|l| l.client_id != client_id) {
                    tracing::info!(group, queue = ?mq, from = %previous.client_id, to = client_id, "expired queue lock taken over");
                }
                table.insert(
                    mq.clone(),
                    Lock {
                        client_id: client_id.to_owned(),
                        renewed: now,
                    },
                );
                locked.insert(mq.clone());
            }
        }
        locked
    }

    /// Releases the queues `client_id` holds among `queues`; others' locks are left alone.
    pub(crate) fn unlock(&self, group: &str, client_id: &str, queues: &BTreeSet<MessageQueue>) {
        let mut groups = self.groups.lock();
        if let Some(table) = groups.get_mut(group) {
            for mq in queues {
                if table.get(mq).is_some_and(|l| l.client_id == client_id) {
                    table.remove(mq);
                }
            }
            if table.is_empty() {
                groups.remove(group);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_per_queue_until_the_lease_runs_out() {
        let locks = QueueLocks::new(Duration::from_secs(60));
        let q: BTreeSet<MessageQueue> = [
            MessageQueue::new("T", "b", 0),
            MessageQueue::new("T", "b", 1),
        ]
        .into_iter()
        .collect();
        let t0 = Instant::now();
        assert_eq!(locks.lock("g", "c1", &q, t0), q);
        assert!(
            locks
                .lock("g", "c2", &q, t0 + Duration::from_secs(30))
                .is_empty()
        );
        assert_eq!(
            locks.lock("g", "c1", &q, t0 + Duration::from_secs(30)),
            q,
            "renewal"
        );
        assert_eq!(locks.lock("h", "c2", &q, t0), q, "groups are independent");
        assert_eq!(
            locks.lock("g", "c2", &q, t0 + Duration::from_secs(91)),
            q,
            "expired"
        );
        locks.unlock("g", "c1", &q);
        assert!(
            locks
                .lock("g", "c1", &q, t0 + Duration::from_secs(92))
                .is_empty()
        );
        locks.unlock("g", "c2", &q);
        assert_eq!(locks.lock("g", "c1", &q, t0 + Duration::from_secs(93)), q);
    }
}
