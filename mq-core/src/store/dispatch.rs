//! From CommitLog records to ConsumeQueue entries: what an entry holds and how the queues are
//! (re)built from the log.
//!
//! At runtime the append path dispatches inline, right after its write, so long polling hears
//! of a message within microseconds; the index is fed by its own thread ([`super::index`]).
//! After a crash, recovery re-dispatches the records past the checkpoint with
//! [`redispatch`], which skips entries a queue already has: the log is the source of truth.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::Inner;
use super::commit_log::reader::{Scan, ScannedRecord, Scanner};
use super::consume_queue::{CqEntry, Put};
use super::error::{Result, StoreError};
use super::index::Index;
use super::queues::ConsumeQueues;
use crate::protocol::message::{
    KEY_SEPARATOR, PROPERTY_DELAY_TIME_LEVEL, PROPERTY_KEYS, PROPERTY_TAGS, PROPERTY_UNIQ_KEY,
    StoredMessageRef, property,
};
use crate::protocol::tag::tag_code;

/// The topic of delayed messages; its ConsumeQueue tag code holds the due time (RocketMQ).
pub const SCHEDULE_TOPIC: &str = "SCHEDULE_TOPIC_XXXX";

/// The tag code of a record's ConsumeQueue entry.
///
/// Normally the hash of `TAGS`; in [`SCHEDULE_TOPIC`] the due time in ms (store time + the
/// delay of level `DELAY`), which the delay service scans for without reading the log.
pub(crate) fn entry_tags_code(
    topic: &str,
    properties: &str,
    store_timestamp: i64,
    delay_levels: &[Duration],
) -> i64 {
    if topic == SCHEDULE_TOPIC {
        if let Some(level) =
            property(properties, PROPERTY_DELAY_TIME_LEVEL).and_then(|l| l.parse::<usize>().ok())
        {
            if !delay_levels.is_empty() && level > 0 {
                let delay = delay_levels[level.min(delay_levels.len()) - 1];
                return store_timestamp
                    .saturating_add(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX));
            }
        }
    }
    property(properties, PROPERTY_TAGS).map_or(0, tag_code)
}

/// Decodes a scanned record (whose trailer was verified) into the message view.
pub(crate) fn decode_scanned<'a>(
    rec: &'a ScannedRecord,
    path_hint: &std::path::Path,
) -> Result<StoredMessageRef<'a>> {
    match StoredMessageRef::decode(&rec.bytes) {
        Ok(Some((msg, _))) => Ok(msg),
        Ok(None) => Err(StoreError::corrupt(
            path_hint,
            rec.offset,
            "record shorter than its TOTALSIZE",
        )),
        Err(e) => Err(StoreError::corrupt(path_hint, rec.offset, e.to_string())),
    }
}

/// Selects queues by (topic, queue id).
pub(crate) type QueueFilter<'a> = dyn Fn(&str, i32) -> bool + 'a;

/// Re-adds a record's ConsumeQueue entry if its queue lacks it; `filter` limits the queues.
///
/// Answers what happened, and the queue (topic, id) concerned.
pub(crate) fn redispatch(
    queues: &ConsumeQueues,
    rec: &ScannedRecord,
    delay_levels: &[Duration],
    log_dir: &std::path::Path,
    filter: Option<&QueueFilter<'_>>,
) -> Result<Option<(Put, String, i32)>> {
    let msg = decode_scanned(rec, log_dir)?;
    if filter.is_some_and(|f| !f(msg.topic, msg.queue_id)) {
        return Ok(None);
    }
    let (Ok(queue_offset), true) = (u64::try_from(msg.queue_offset), msg.queue_id >= 0) else {
        return Err(StoreError::corrupt(
            log_dir,
            rec.offset,
            "negative queue offset or queue id",
        ));
    };
    let entry = CqEntry {
        commit_log_offset: rec.offset,
        size: rec.bytes.len() as u32,
        tags_code: entry_tags_code(msg.topic, msg.properties, msg.store_timestamp, delay_levels),
    };
    let cq = queues.get_or_create(msg.topic, msg.queue_id)?;
    Ok(Some((
        cq.put_rebuilt(queue_offset, entry),
        msg.topic.to_owned(),
        msg.queue_id,
    )))
}

/// How long the index thread sleeps when it has caught up.
const INDEX_POLL: Duration = Duration::from_millis(5);

/// The index thread: indexes every record's keys and UNIQ_KEY behind the writer.
///
/// It reads back what the writer wrote (page-cache hot), so the index can always be rebuilt
/// the same way after a crash. It polls every few milliseconds instead of being woken per
/// append: key queries tolerate that delay, and batches of records index more cheaply.
pub(crate) fn run_indexer(inner: &Inner) {
    let Some(index) = &inner.index else { return };
    while !inner.closed.load(Ordering::Acquire) {
        let written = inner.log.written();
        let from = index.indexed_to().max(inner.log.min_offset());
        if from < written {
            if let Err(e) = index_range(inner, index, from, written) {
                tracing::error!(error = %e, from, "indexing failed; retrying in a second");
                std::thread::park_timeout(Duration::from_secs(1));
            }
        } else {
            std::thread::park_timeout(INDEX_POLL);
        }
    }
}

/// Indexes the records in `[from, to)`.
pub(crate) fn index_range(inner: &Inner, index: &Index, from: u64, to: u64) -> Result<()> {
    let log_dir = inner.log.files.dir();
    let mut scanner = Scanner::new(&inner.log, from, to);
    let mut key = String::new();
    loop {
        match scanner.next()? {
            Scan::Record(rec) => {
                let msg = decode_scanned(&rec, log_dir)?;
                let keys = property(msg.properties, PROPERTY_KEYS)
                    .into_iter()
                    .flat_map(|k| k.split(KEY_SEPARATOR));
                let uniq = property(msg.properties, PROPERTY_UNIQ_KEY);
                for k in keys.chain(uniq).filter(|k| !k.is_empty()) {
                    key.clear();
                    key.push_str(msg.topic);
                    key.push('#');
                    key.push_str(k);
                    index.add(&key, rec.offset, msg.store_timestamp)?;
                }
                index.set_indexed_to(rec.end());
            }
            Scan::End => return Ok(()),
            Scan::Invalid { offset, reason } => {
                return Err(StoreError::corrupt(log_dir, offset, reason));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_topic_codes_are_due_times() {
        let levels = [Duration::from_secs(1), Duration::from_secs(5)];
        assert_eq!(
            entry_tags_code(SCHEDULE_TOPIC, "DELAY\u{1}2", 1000, &levels),
            6000
        );
        assert_eq!(
            entry_tags_code(SCHEDULE_TOPIC, "DELAY\u{1}99", 1000, &levels),
            6000
        );
        assert_eq!(
            entry_tags_code("T", "TAGS\u{1}TagA", 1000, &levels),
            tag_code("TagA")
        );
        assert_eq!(entry_tags_code("T", "", 1000, &levels), 0);
    }
}
