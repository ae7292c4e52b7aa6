//! The write path behind [`Store::append`] and [`Store::append_batch`].
//!
//! Records are encoded outside the writer lock; under it the CommitLog write and the
//! ConsumeQueue dispatch happen together, so queue offsets are dense and a queue's entries
//! appear in CommitLog order. Listeners and the flusher are told after the lock is released;
//! the index thread polls on its own (waking it per append would cost a syscall each).

use std::sync::atomic::Ordering;

use super::commit_log::writer::EncodedBatch;
use super::consume_queue::CqEntry;
use super::dispatch::entry_tags_code;
use super::error::{Result, StoreError};
use super::{AppendMessage, AppendResult, Inner, Store};
use crate::protocol::message::{MAX_TOPIC_LEN, StoredMessageRef};

/// Checks a topic name the way RocketMQ's broker does; it also names a directory.
pub(crate) fn validate_topic(topic: &str) -> Result<()> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '%' | '|' | '_' | '-');
    if topic.is_empty() || topic.len() > MAX_TOPIC_LEN || !topic.chars().all(ok_char) {
        return Err(StoreError::InvalidMessage(format!(
            "topic {topic:?} must be 1-{MAX_TOPIC_LEN} characters of [%|a-zA-Z0-9_-]"
        )));
    }
    Ok(())
}

impl Inner {
    fn check_writable(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(StoreError::Closed);
        }
        let full = self.disk_full.load(Ordering::Acquire);
        if full != 0 {
            return Err(StoreError::DiskFull {
                used_percent: f64::from_bits(full) * 100.0,
                limit_percent: self.config.disk_full_ratio * 100.0,
            });
        }
        if let Some(e) = self.flusher.failure() {
            return Err(StoreError::FlushFailed(e));
        }
        Ok(())
    }

    fn append_messages(&self, msgs: &[AppendMessage]) -> Result<AppendResult> {
        self.check_writable()?;
        let Some(first) = msgs.first() else {
            return Err(StoreError::EmptyBatch);
        };
        let (topic, queue_id) = (first.topic.as_str(), first.queue_id);
        validate_topic(topic)?;
        if queue_id < 0 {
            return Err(StoreError::InvalidMessage(format!(
                "queue id {queue_id} is negative"
            )));
        }
        let store_host = self.config.store_host;
        let mut batch = EncodedBatch::default();
        for m in msgs {
            if m.topic != topic || m.queue_id != queue_id {
                return Err(StoreError::InvalidMessage(
                    "a batch must target one topic and one queue".into(),
                ));
            }
            let view = StoredMessageRef {
                queue_id,
                flag: m.flag,
                queue_offset: 0,
                commit_log_offset: 0,
                sys_flag: m.sys_flag,
                born_timestamp: m.born_timestamp,
                born_host: m.born_host,
                store_timestamp: 0,
                store_host,
                reconsume_times: m.reconsume_times,
                prepared_transaction_offset: m.prepared_transaction_offset,
                body_crc: 0,
                body: &m.body,
                topic,
                properties: &m.properties,
            };
            let size = view.encoded_len();
            if size > self.config.max_message_size {
                return Err(StoreError::MessageTooLarge {
                    size,
                    max: self.config.max_message_size,
                });
            }
            batch.push(&view)?;
        }
        if msgs.len() > 1 && batch.buf.len() > self.config.max_batch_size {
            return Err(StoreError::BatchTooLarge {
                size: batch.buf.len(),
                max: self.config.max_batch_size,
            });
        }

        let (placement, first_queue_offset, new_max, store_timestamp, cq) = {
            let mut writer = self.writer.lock();
            // Checked again under the lock: close() may have run meanwhile.
            self.check_writable()?;
            let cq = self.queues.get_or_create(topic, queue_id)?;
            let first_queue_offset = cq.max_offset();
            let now = self.config.clock.now_millis();
            let placement = writer.append(&self.log, &mut batch, first_queue_offset, now)?;
            let entries: Vec<CqEntry> = batch
                .slots
                .iter()
                .zip(msgs)
                .map(|(slot, m)| CqEntry {
                    commit_log_offset: placement.start + slot.at as u64,
                    size: slot.size,
                    tags_code: entry_tags_code(
                        topic,
                        &m.properties,
                        now,
                        &self.config.delay_levels,
                    ),
                })
                .collect();
            let new_max = cq.push(&entries);
            (placement, first_queue_offset, new_max, now, cq)
        };

        if cq.tail_is_large() {
            // No fsync here: that waits for the checkpoint, off the append path.
            cq.write_tail()?;
        }
        if let Some(listener) = self.listener.read().as_ref() {
            (listener.0)(topic, queue_id, new_max);
        }
        self.flusher.appended(placement.end);
        Ok(AppendResult {
            commit_log_offsets: batch
                .slots
                .iter()
                .map(|s| placement.start + s.at as u64)
                .collect(),
            queue_offset: first_queue_offset,
            end_offset: placement.end,
            wrote_bytes: placement.end - placement.start,
            store_timestamp,
            store_host,
        })
    }
}

impl Store {
    /// Appends one message: written to the CommitLog (page cache) and its ConsumeQueue, visible
    /// to pulls, listeners told. Does not wait for fsync: see [`Store::wait_durable`].
    pub fn append(&self, msg: AppendMessage) -> Result<AppendResult> {
        self.inner.append_messages(std::slice::from_ref(&msg))
    }

    /// Appends a batch atomically: one topic and queue, contiguous records and queue offsets;
    /// after a crash either all of it is recovered or none.
    pub fn append_batch(&self, msgs: &[AppendMessage]) -> Result<AppendResult> {
        self.inner.append_messages(msgs)
    }

    /// Resolves when the CommitLog is durable up to `end_offset` (an [`AppendResult::end_offset`]):
    /// after the group-commit fsync in SYNC_FLUSH, at once in ASYNC_FLUSH. Never blocks the runtime.
    pub async fn wait_durable(&self, end_offset: u64) -> Result<()> {
        self.inner.flusher.wait(end_offset).await
    }

    /// Blocking form of [`Store::wait_durable`].
    pub fn wait_durable_blocking(&self, end_offset: u64) -> Result<()> {
        self.inner.flusher.wait_blocking(end_offset)
    }

    /// Appends and, in SYNC_FLUSH, blocks until durable (for tests, tools and benchmarks).
    pub fn put_blocking(&self, msg: AppendMessage) -> Result<AppendResult> {
        let r = self.append(msg)?;
        self.wait_durable_blocking(r.end_offset)?;
        Ok(r)
    }

    /// [`Store::append_batch`], then in SYNC_FLUSH blocks until durable.
    pub fn put_batch_blocking(&self, msgs: &[AppendMessage]) -> Result<AppendResult> {
        let r = self.append_batch(msgs)?;
        self.wait_durable_blocking(r.end_offset)?;
        Ok(r)
    }

    /// Appends and awaits durability per the flush mode (the broker's send path).
    pub async fn put(&self, msg: AppendMessage) -> Result<AppendResult> {
        let r = self.append(msg)?;
        self.wait_durable(r.end_offset).await?;
        Ok(r)
    }

    /// Forces an fsync of everything written so far and waits for it.
    pub fn flush(&self) -> Result<()> {
        let outcome = super::flush::flush_log(&self.inner);
        let failed = outcome.as_ref().err().map(ToString::to_string);
        self.inner.flusher.publish(outcome);
        match failed {
            Some(e) => Err(StoreError::FlushFailed(e)),
            None => Ok(()),
        }
    }
}
