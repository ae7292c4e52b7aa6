//! One owned queue's local state: messages pulled but not yet acknowledged by the listener,
//! the flow-control counters, and the offset that is safe to commit.
//!
//! The committable offset is the smallest offset still held (a message still being processed
//! must be redelivered after a crash), or one past the highest offset ever taken in when none
//! is held — so offsets never move past an unacknowledged message.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::client::message::MessageExt;
use crate::protocol::MessageQueue;

#[derive(Debug, Default)]
struct Held {
    /// Offset → body length of every message pulled and not yet acknowledged. Only sizes:
    /// a concurrent listener's workers own the messages themselves.
    sizes: BTreeMap<i64, usize>,
    /// Orderly mode: messages waiting for the listener.
    waiting: BTreeMap<i64, MessageExt>,
    /// Orderly mode: messages handed to the listener and not yet committed.
    consuming: BTreeMap<i64, MessageExt>,
    /// Highest offset taken in; -1 before the first.
    max_offset: i64,
}

/// The local state of one queue this consumer owns.
#[derive(Debug)]
pub(crate) struct ProcessQueue {
    pub mq: MessageQueue,
    held: Mutex<Held>,
    count: AtomicUsize,
    bytes: AtomicUsize,
    dropped: AtomicBool,
    /// Orderly clustering: whether the broker lock on this queue is held.
    locked: AtomicBool,
    /// Cancelled when the queue is dropped or the consumer stops: ends its pull loop.
    pub cancel: CancellationToken,
    /// Signalled when messages arrive (orderly consume loop waits on it).
    pub arrived: Notify,
    /// Orderly: one listener call at a time per queue.
    pub consume_lock: tokio::sync::Mutex<()>,
}

impl ProcessQueue {
    pub fn new(mq: MessageQueue, cancel: CancellationToken) -> Self {
        Self {
            mq,
            held: Mutex::new(Held {
                max_offset: -1,
                ..Held::default()
            }),
            count: AtomicUsize::new(0),
            bytes: AtomicUsize::new(0),
            dropped: AtomicBool::new(false),
            locked: AtomicBool::new(false),
            cancel,
            arrived: Notify::new(),
            consume_lock: tokio::sync::Mutex::new(()),
        }
    }

    fn held(&self) -> MutexGuard<'_, Held> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Marks the queue no longer ours: its pull loop stops and results are not committed.
    pub fn drop_queue(&self) {
        self.dropped.store(true, Ordering::SeqCst);
        self.cancel.cancel();
    }

    pub fn is_dropped(&self) -> bool {
        self.dropped.load(Ordering::SeqCst)
    }

    pub fn set_locked(&self, locked: bool) {
        self.locked.store(locked, Ordering::SeqCst);
    }

    pub fn is_locked(&self) -> bool {
        self.locked.load(Ordering::SeqCst)
    }

    /// Messages held (pulled, not acknowledged).
    pub fn count(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    /// Body bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Concurrent mode: counts pulled messages as held until acknowledged; the caller hands
    /// the messages themselves to the workers. A redelivered offset is counted once.
    pub fn hold(&self, msgs: &[MessageExt]) {
        let mut held = self.held();
        self.hold_locked(&mut held, msgs);
    }

    /// Orderly mode: holds pulled messages and keeps them for [`Self::take_ordered`].
    pub fn queue(&self, msgs: Vec<MessageExt>) {
        let mut held = self.held();
        self.hold_locked(&mut held, &msgs);
        held.waiting
            .extend(msgs.into_iter().map(|m| (m.queue_offset, m)));
        drop(held);
        self.arrived.notify_one();
    }

    fn hold_locked(&self, held: &mut Held, msgs: &[MessageExt]) {
        for m in msgs {
            held.max_offset = held.max_offset.max(m.queue_offset);
            if let Some(old) = held.sizes.insert(m.queue_offset, m.body.len()) {
                self.bytes.fetch_sub(old, Ordering::Relaxed);
            } else {
                self.count.fetch_add(1, Ordering::Relaxed);
            }
            self.bytes.fetch_add(m.body.len(), Ordering::Relaxed);
        }
    }

    /// Acknowledges messages by offset; returns the offset now safe to commit.
    pub fn remove(&self, offsets: &[i64]) -> i64 {
        let mut held = self.held();
        self.release_locked(&mut held, offsets.iter().copied());
        Self::commit_point(&held)
    }

    fn release_locked(&self, held: &mut Held, offsets: impl Iterator<Item = i64>) {
        for offset in offsets {
            if let Some(size) = held.sizes.remove(&offset) {
                self.count.fetch_sub(1, Ordering::Relaxed);
                self.bytes.fetch_sub(size, Ordering::Relaxed);
            }
        }
    }

    fn commit_point(held: &Held) -> i64 {
        let first = held.sizes.keys().next().copied();
        first.unwrap_or(held.max_offset + 1)
    }

    /// The offset safe to commit now, or `None` before anything was taken in.
    pub fn committable(&self) -> Option<i64> {
        let held = self.held();
        (held.max_offset >= 0 || !held.sizes.is_empty()).then(|| Self::commit_point(&held))
    }

    /// Orderly: moves up to `n` of the lowest offsets into the consuming set and returns them.
    pub fn take_ordered(&self, n: usize) -> Vec<MessageExt> {
        let mut held = self.held();
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let Some((offset, msg)) = held.waiting.pop_first() else {
                break;
            };
            // The listener takes its own copy; this one is for a rollback.
            held.consuming.insert(offset, msg.clone());
            out.push(msg);
        }
        out
    }

    /// Orderly: the consuming set succeeded; returns the offset now safe to commit.
    pub fn commit_ordered(&self) -> i64 {
        let mut held = self.held();
        let done = std::mem::take(&mut held.consuming);
        self.release_locked(&mut held, done.into_keys());
        Self::commit_point(&held)
    }

    /// Orderly: the consuming set failed; puts it back (with one more reconsume) to retry.
    pub fn rollback_ordered(&self) {
        let mut held = self.held();
        let back = std::mem::take(&mut held.consuming);
        for (offset, mut msg) in back {
            msg.reconsume_times += 1;
            held.waiting.insert(offset, msg);
        }
    }

    /// Records that the queue was read up to `next` (exclusive), e.g. past filtered-out
    /// messages: the commit point may pass them once everything before is acknowledged.
    pub fn skip_to(&self, next: i64) {
        let mut held = self.held();
        held.max_offset = held.max_offset.max(next - 1);
    }

    /// Orderly: whether messages wait to be consumed.
    pub fn has_pending(&self) -> bool {
        !self.held().waiting.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use std::collections::BTreeMap as Map;

    fn msg(offset: i64) -> MessageExt {
        MessageExt {
            topic: "t".into(),
            queue_id: 0,
            queue_offset: offset,
            commit_log_offset: 0,
            msg_id: String::new(),
            offset_msg_id: String::new(),
            tag: None,
            keys: Vec::new(),
            properties: Map::new(),
            body: Bytes::from_static(b"abc"),
            born_timestamp: 0,
            store_timestamp: 0,
            reconsume_times: 0,
            broker_name: "b".into(),
            flag: 0,
        }
    }

    #[test]
    fn commit_point_is_the_smallest_unacknowledged_offset() {
        let pq = ProcessQueue::new(MessageQueue::new("t", "b", 0), CancellationToken::new());
        assert_eq!(pq.committable(), None);
        pq.hold(&[msg(5), msg(6), msg(7)]);
        assert_eq!((pq.count(), pq.bytes()), (3, 9));
        pq.hold(&[msg(6)]);
        assert_eq!(
            (pq.count(), pq.bytes()),
            (3, 9),
            "a redelivered offset counts once"
        );
        assert_eq!(pq.remove(&[6]), 5);
        assert_eq!(pq.remove(&[5]), 7);
        assert_eq!(pq.remove(&[7]), 8);
        assert_eq!(pq.count(), 0);
    }

    #[test]
    fn ordered_take_rollback_and_commit() {
        let pq = ProcessQueue::new(MessageQueue::new("t", "b", 0), CancellationToken::new());
        pq.queue(vec![msg(1), msg(2)]);
        let first = pq.take_ordered(1);
        assert_eq!(first.first().map(|m| m.queue_offset), Some(1));
        assert_eq!(pq.committable(), Some(1));
        pq.rollback_ordered();
        let again = pq.take_ordered(1);
        assert_eq!(again.first().map(|m| m.reconsume_times), Some(1));
        assert_eq!(pq.commit_ordered(), 2);
    }
}
