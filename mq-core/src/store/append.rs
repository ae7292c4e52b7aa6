//! The write path behind [`Store::append`] and [`Store::append_batch`].
//!
//! Records are encoded outside the writer lock; under it the CommitLog write and the
//! ConsumeQueue dispatch happen together, so queue offsets are dense and a queue's entries
//! appear in CommitLog order. Appends that arrive together (a broker connection's burst of
//! sends) share the lock and one `pwrite` ([`Store::append_many`]). Listeners and the flusher are told after the lock is released;
//! the index thread polls on its own (waking it per append would cost a syscall each).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::commit_log::frame::BLANK_LEN;
use super::commit_log::writer::EncodedBatch;
use super::consume_queue::{ConsumeQueue, CqEntry};
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

    /// Validates and encodes one append (a message or an atomic batch), outside any lock.
    fn encode(&self, msgs: &[AppendMessage]) -> Result<EncodedBatch> {
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
        // Checked here, before the lock, so one oversized append never fails its group.
        let segment_size = self.log.files.segment_size();
        if batch.len() + BLANK_LEN > segment_size {
            return Err(StoreError::LargerThanSegment {
                size: batch.len(),
                segment_size,
            });
        }
        Ok(batch)
    }

    /// Appends each of `appends` (a message or an atomic batch each) under one writer lock
    /// and with one CommitLog write; answers one result per append, in order. An append
    /// refused before the write (bad topic, too large) does not affect the others.
    fn append_group(&self, appends: &[&[AppendMessage]]) -> Vec<Result<AppendResult>> {
        let mut results: Vec<Option<Result<AppendResult>>> = std::iter::repeat_with(|| None)
            .take(appends.len())
            .collect();
        let mut encoded = Vec::with_capacity(appends.len());
        for (i, msgs) in appends.iter().enumerate() {
            match self.check_writable().and_then(|()| self.encode(msgs)) {
                Ok(batch) => encoded.push((i, batch)),
                Err(e) => results[i] = Some(Err(e)),
            }
        }
        let store_host = self.config.store_host;
        let mut end_offset = None;
        // Allocated (and freed) outside the lock: it is held by every appender in turn.
        let mut placing = Vec::with_capacity(encoded.len());
        let mut batches = Vec::with_capacity(encoded.len());
        let mut first_offsets = Vec::with_capacity(encoded.len());
        // The queues this group appends to, with the next offset it gives each.
        let mut queues: Vec<(Arc<ConsumeQueue>, u64)> = Vec::with_capacity(encoded.len());
        {
            let mut writer = self.writer.lock();
            for (i, batch) in encoded {
                let first = &appends[i][0];
                // Checked again under the lock: close() may have run meanwhile.
                let cq = self
                    .check_writable()
                    .and_then(|()| self.queues.get_or_create(&first.topic, first.queue_id));
                let cq = match cq {
                    Ok(cq) => cq,
                    Err(e) => {
                        results[i] = Some(Err(e));
                        continue;
                    }
                };
                let count = appends[i].len() as u64;
                let first_offset = match queues.iter_mut().find(|(q, _)| Arc::ptr_eq(q, &cq)) {
                    Some((_, next)) => std::mem::replace(next, *next + count),
                    None => {
                        let max = cq.max_offset();
                        queues.push((Arc::clone(&cq), max + count));
                        max
                    }
                };
                placing.push((i, cq));
                batches.push(batch);
                first_offsets.push(first_offset);
            }
            let now = self.config.clock.now_millis();
            let (placed, mut failure) =
                writer.append_group(&self.log, &mut batches, &first_offsets, now);
            let unwritten = failure.as_ref().map(ToString::to_string);
            // The placed appends are a prefix, so pushing their entries in order gives each
            // the queue offsets it was stamped with.
            for (k, (i, cq)) in placing.drain(..).enumerate() {
                let Some(placement) = placed.get(k) else {
                    results[i] = Some(Err(failure.take().unwrap_or_else(|| StoreError::Io {
                        path: self.log.files.dir().to_path_buf(),
                        source: std::io::Error::other(format!(
                            "not written: an earlier append of its group failed: {}",
                            unwritten.as_deref().unwrap_or("unknown error")
                        )),
                    })));
                    continue;
                };
                let (batch, msgs) = (&batches[k], appends[i]);
                let entries: Vec<CqEntry> = batch
                    .slots
                    .iter()
                    .zip(msgs)
                    .map(|(slot, m)| CqEntry {
                        commit_log_offset: placement.start + slot.at as u64,
                        size: slot.size,
                        tags_code: entry_tags_code(
                            &m.topic,
                            &m.properties,
                            now,
                            &self.config.delay_levels,
                        ),
                    })
                    .collect();
                cq.push(&entries);
                end_offset = Some(placement.end);
                results[i] = Some(Ok(AppendResult {
                    commit_log_offsets: batch
                        .slots
                        .iter()
                        .map(|s| placement.start + s.at as u64)
                        .collect(),
                    queue_offset: first_offsets[k],
                    end_offset: placement.end,
                    wrote_bytes: placement.end - placement.start,
                    store_timestamp: now,
                    store_host,
                }));
            }
        }

        for (cq, _) in &queues {
            if cq.tail_is_large() {
                // No fsync here: that waits for the checkpoint, off the append path. A failed
                // tail write is retried by the checkpoint; the appends themselves succeeded.
                if let Err(e) = cq.write_tail() {
                    tracing::warn!(error = %e, "writing a ConsumeQueue tail failed");
                }
            }
            // Told even if the queue's appends were all cut by an I/O error: a long poll woken
            // for nothing new simply waits again.
            if let Some(listener) = self.listener.read().as_ref() {
                (listener.0)(&cq.topic, cq.queue_id, cq.max_offset());
            }
        }
        if let Some(end) = end_offset {
            self.flusher.appended(end);
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or(Err(StoreError::Closed)))
            .collect()
    }
}

impl Store {
    /// Appends one message: written to the CommitLog (page cache) and its ConsumeQueue, visible
    /// to pulls, listeners told. Does not wait for fsync: see [`Store::wait_durable`].
    pub fn append(&self, msg: AppendMessage) -> Result<AppendResult> {
        self.append_batch(std::slice::from_ref(&msg))
    }

    /// Appends a batch atomically: one topic and queue, contiguous records and queue offsets;
    /// after a crash either all of it is recovered or none.
    pub fn append_batch(&self, msgs: &[AppendMessage]) -> Result<AppendResult> {
        let mut results = self.inner.append_group(&[msgs]);
        results.pop().unwrap_or(Err(StoreError::EmptyBatch))
    }

    /// Appends several independent appends (each a message or an atomic batch, any topics
    /// and queues) under one writer lock with one CommitLog write: what the broker does with
    /// the sends that arrive together on a connection. Answers one result per append, in
    /// order; each is visible to pulls and listeners as with [`Store::append`].
    pub fn append_many(&self, appends: &[&[AppendMessage]]) -> Vec<Result<AppendResult>> {
        self.inner.append_group(appends)
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
