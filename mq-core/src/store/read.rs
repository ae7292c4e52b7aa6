//! The read path behind [`Store`]: pulls by queue offset, offsets, time search, msgId and key look-ups.

use bytes::Bytes;

use super::error::Result;
use super::{FoundMessage, GetResult, GetStatus, Store};
use crate::protocol::message::{
    KEY_SEPARATOR, PROPERTY_KEYS, PROPERTY_UNIQ_KEY, StoredMessageRef, property,
    store_timestamp_pos,
};
use crate::protocol::msg_id::decode_offset_msg_id;
use crate::protocol::tag::Subscription;

/// Most ConsumeQueue entries one pull inspects while filtering (RocketMQ: 16,000).
const MAX_FILTER_SCAN: usize = 16_000;
/// Entries read from a ConsumeQueue at once.
const CQ_READ_BATCH: usize = 256;

impl Store {
    /// Up to `max_count` messages of (`topic`, `queue_id`) from queue offset `offset` whose tag
    /// matches `filter` (by tag code, without reading non-matching records), at most
    /// `max_pull_bytes` (but always one message if any matches).
    pub fn get_messages(
        &self,
        topic: &str,
        queue_id: i32,
        offset: u64,
        max_count: usize,
        filter: &Subscription,
    ) -> Result<GetResult> {
        let inner = &self.inner;
        let Some(cq) = inner.queues.get(topic, queue_id) else {
            return Ok(GetResult {
                status: GetStatus::NoMatchedLogicQueue,
                messages: Vec::new(),
                next_begin_offset: 0,
                min_offset: 0,
                max_offset: 0,
            });
        };
        let (min, max) = (cq.min_offset(), cq.max_offset());
        let answer = |status, next| GetResult {
            status,
            messages: Vec::new(),
            next_begin_offset: next,
            min_offset: min,
            max_offset: max,
        };
        if max == 0 {
            return Ok(answer(GetStatus::NoMessageInQueue, 0));
        }
        if offset < min {
            return Ok(answer(GetStatus::OffsetTooSmall, min));
        }
        if offset == max {
            return Ok(answer(GetStatus::OffsetOverflowOne, offset));
        }
        if offset > max {
            return Ok(answer(
                GetStatus::OffsetOverflowBadly,
                if min == 0 { min } else { max },
            ));
        }
        let log_min = inner.log.min_offset();
        let mut messages = Vec::new();
        let mut bytes = 0usize;
        let mut next = offset;
        let mut scanned = 0usize;
        let mut removed = 0usize;
        let scan_limit = MAX_FILTER_SCAN.max(max_count);
        'outer: while messages.len() < max_count && scanned < scan_limit {
            let entries = cq.entries(next, CQ_READ_BATCH.min(scan_limit - scanned))?;
            if entries.is_empty() {
                break;
            }
            for e in entries {
                if messages.len() >= max_count {
                    break 'outer;
                }
                scanned += 1;
                if e.size == 0 || e.commit_log_offset < log_min {
                    removed += 1;
                    next += 1;
                    continue;
                }
                if !filter.matches_code(e.tags_code) {
                    next += 1;
                    continue;
                }
                if !messages.is_empty() && bytes + e.size as usize > inner.config.max_pull_bytes {
                    break 'outer;
                }
                let Some(record) = inner.log.read_record(e.commit_log_offset, e.size)? else {
                    removed += 1;
                    next += 1;
                    continue;
                };
                bytes += record.len();
                messages.push(FoundMessage {
                    queue_offset: next,
                    commit_log_offset: e.commit_log_offset,
                    tags_code: e.tags_code,
                    bytes: record,
                });
                next += 1;
            }
        }
        let status = if !messages.is_empty() {
            GetStatus::Found
        } else if removed > 0 {
            GetStatus::MessageWasRemoving
        } else {
            GetStatus::NoMatchedMessage
        };
        Ok(GetResult {
            status,
            messages,
            next_begin_offset: next,
            min_offset: min,
            max_offset: max,
        })
    }

    /// The queue's first readable offset (0 if the queue does not exist).
    pub fn min_offset(&self, topic: &str, queue_id: i32) -> u64 {
        self.inner
            .queues
            .get(topic, queue_id)
            .map_or(0, |q| q.min_offset())
    }

    /// The queue's next offset, one past its last message (0 if the queue does not exist).
    pub fn max_offset(&self, topic: &str, queue_id: i32) -> u64 {
        self.inner
            .queues
            .get(topic, queue_id)
            .map_or(0, |q| q.max_offset())
    }

    /// Topics that have at least one queue, sorted.
    pub fn topics(&self) -> Vec<String> {
        self.inner.queues.topics()
    }

    /// Queue ids of `topic` that exist in the store, sorted.
    pub fn queue_ids(&self, topic: &str) -> Vec<i32> {
        self.inner.queues.queue_ids(topic)
    }

    /// The CommitLog's oldest offset still stored.
    pub fn commit_log_min_offset(&self) -> u64 {
        self.inner.log.min_offset()
    }

    /// The CommitLog's end (where the next record goes).
    pub fn commit_log_max_offset(&self) -> u64 {
        self.inner.log.written()
    }

    /// STORETIMESTAMP of the message at `offset` of the queue, if it is still stored.
    pub fn store_timestamp_at(
        &self,
        topic: &str,
        queue_id: i32,
        offset: u64,
    ) -> Result<Option<i64>> {
        let Some(cq) = self.inner.queues.get(topic, queue_id) else {
            return Ok(None);
        };
        if offset < cq.min_offset() {
            return Ok(None);
        }
        let Some(e) = cq.entry(offset)? else {
            return Ok(None);
        };
        self.store_timestamp_of(e.commit_log_offset, e.size)
    }

    fn store_timestamp_of(&self, commit_log_offset: u64, size: u32) -> Result<Option<i64>> {
        let Some(rec) = self.inner.log.read_record(commit_log_offset, size)? else {
            return Ok(None);
        };
        let sys_flag = i32::from_be_bytes([rec[36], rec[37], rec[38], rec[39]]);
        let pos = store_timestamp_pos(sys_flag);
        let mut ts = [0u8; 8];
        ts.copy_from_slice(&rec[pos..pos + 8]);
        Ok(Some(i64::from_be_bytes(ts)))
    }

    /// The first queue offset whose message was stored at or after `timestamp_ms`
    /// (the max offset if none was; the min if all were). Binary search, O(log n) reads.
    pub fn offset_for_timestamp(
        &self,
        topic: &str,
        queue_id: i32,
        timestamp_ms: i64,
    ) -> Result<u64> {
        let Some(cq) = self.inner.queues.get(topic, queue_id) else {
            return Ok(0);
        };
        let log_min = self.inner.log.min_offset();
        // Entries whose record was deleted count as older than any time asked for.
        cq.partition_point(|e| {
            if e.commit_log_offset < log_min {
                return Ok(false);
            }
            Ok(self
                .store_timestamp_of(e.commit_log_offset, e.size)?
                .is_some_and(|ts| ts >= timestamp_ms))
        })
    }

    /// The record at a CommitLog offset (e.g. the original of a message sent back for retry).
    pub fn read_message(&self, commit_log_offset: u64) -> Result<Option<Bytes>> {
        Ok(self
            .inner
            .log
            .read_record_at(commit_log_offset)?
            .map(|r| r.bytes))
    }

    /// The record named by an offset msgId (store host + CommitLog offset; the host is not
    /// checked, since a broker may be reached by several addresses).
    pub fn get_by_offset_msg_id(&self, msg_id: &str) -> Result<Option<Bytes>> {
        let (_host, offset) = decode_offset_msg_id(msg_id)?;
        match u64::try_from(offset) {
            Ok(offset) => self.read_message(offset),
            Err(_) => Ok(None),
        }
    }

    /// The newest (at most `max`) records of `topic` whose `KEYS` contain `key` or whose
    /// `UNIQ_KEY` is `key`, stored within `[begin_ms, end_ms]`, newest first.
    ///
    /// Answers nothing when indexing is disabled. Messages appended in the last moments may
    /// not be indexed yet (the index follows the writer on its own thread).
    pub fn query_by_key(
        &self,
        topic: &str,
        key: &str,
        max: usize,
        begin_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<Bytes>> {
        let Some(index) = &self.inner.index else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        // Ask for more than needed: collisions and stale entries are dropped below.
        for phys in index.lookup(
            &format!("{topic}#{key}"),
            max.saturating_mul(2).max(max + 8),
            begin_ms,
            end_ms,
        )? {
            if out.len() >= max {
                break;
            }
            let Some(rec) = self.inner.log.read_record_at(phys)? else {
                continue;
            };
            let Ok(Some((msg, _))) = StoredMessageRef::decode(&rec.bytes) else {
                continue;
            };
            let has_key = property(msg.properties, PROPERTY_KEYS)
                .is_some_and(|ks| ks.split(KEY_SEPARATOR).any(|k| k == key))
                || property(msg.properties, PROPERTY_UNIQ_KEY) == Some(key);
            if msg.topic == topic && has_key && (begin_ms..=end_ms).contains(&msg.store_timestamp) {
                out.push(rec.bytes.clone());
            }
        }
        Ok(out)
    }

    /// The record of `topic` whose `UNIQ_KEY` (the client-side msgId) is `uniq_key`.
    pub fn query_by_uniq_key(&self, topic: &str, uniq_key: &str) -> Result<Option<Bytes>> {
        for rec in self.query_by_key(topic, uniq_key, 4, 0, i64::MAX)? {
            if let Ok(Some((msg, _))) = StoredMessageRef::decode(&rec) {
                if property(msg.properties, PROPERTY_UNIQ_KEY) == Some(uniq_key) {
                    return Ok(Some(rec));
                }
            }
        }
        Ok(None)
    }

    /// How far the index has caught up with the CommitLog (tests and admin tools).
    pub fn indexed_offset(&self) -> u64 {
        self.inner.index.as_ref().map_or(0, |i| i.indexed_to())
    }
}
