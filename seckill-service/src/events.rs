//! The stock-returned events waiting to be published: a set of goods ids, not a queue.
//!
//! An event only says "stock of this goods grew, clear your sold-out flag", so any number of
//! give-backs for one goods collapse into one pending event. The set is bounded by the number
//! of goods, never drops an event, and never blocks the writer when the publisher is slow or
//! the broker is down.

use std::collections::BTreeSet;
use std::sync::Mutex;

use seckill_order::StockReturned;
use tokio::sync::Notify;

/// Goods whose stock came back and that no event was published for yet.
#[derive(Debug, Default)]
pub struct StockEvents {
    pending: Mutex<BTreeSet<i64>>,
    ready: Notify,
}

impl StockEvents {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Notes that `goods_id`'s stock grew.
    pub fn announce(&self, goods_id: i64) {
        let inserted = match self.pending.lock() {
            Ok(mut pending) => pending.insert(goods_id),
            // A panic elsewhere while holding the lock left the set usable; keep going.
            Err(poisoned) => poisoned.into_inner().insert(goods_id),
        };
        if inserted {
            self.ready.notify_one();
        }
    }

    /// Takes every pending event without waiting (empty when there is none).
    pub fn take_pending(&self) -> Vec<StockReturned> {
        let taken = match self.pending.lock() {
            Ok(mut pending) => std::mem::take(&mut *pending),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        };
        taken
            .into_iter()
            .map(|goods_id| StockReturned { goods_id })
            .collect()
    }

    /// Waits until at least one event is pending and takes them all. The publisher loops on
    /// this; an event it could not send goes back with [`Self::announce`].
    pub async fn next_batch(&self) -> Vec<StockReturned> {
        loop {
            let taken = self.take_pending();
            if !taken.is_empty() {
                return taken;
            }
            self.ready.notified().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn give_backs_of_one_goods_collapse_into_one_event() {
        let events = StockEvents::new();
        events.announce(2);
        events.announce(2);
        events.announce(1);
        let batch = events.next_batch().await;
        assert_eq!(
            batch,
            vec![StockReturned { goods_id: 1 }, StockReturned { goods_id: 2 }]
        );
        assert!(events.take_pending().is_empty());
    }

    #[tokio::test]
    async fn a_waiting_publisher_wakes_on_the_next_event() {
        let events = std::sync::Arc::new(StockEvents::new());
        let waiter = tokio::spawn({
            let events = events.clone();
            async move { events.next_batch().await }
        });
        tokio::task::yield_now().await;
        events.announce(7);
        let batch = tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(batch, vec![StockReturned { goods_id: 7 }]);
    }
}
