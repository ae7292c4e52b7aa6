//! Delayed delivery (RocketMQ's `ScheduleMessageService`): a message with property `DELAY`
//! is stored in `SCHEDULE_TOPIC_XXXX`, queue `level - 1`, with its real topic and queue in
//! `REAL_TOPIC`/`REAL_QID`; the store writes its due time into the ConsumeQueue tag-code slot.
//! One task per level reads its queue in order and re-puts each message to its real topic
//! once the due time has passed — never before. Each level's progress is kept in
//! `config/delayOffset.json`, written after every delivered batch and at shutdown, so a
//! restart neither loses a delayed message nor delivers it twice (a kill -9 between the
//! re-put and the write may deliver once more: at-least-once).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use super::json_file;
use super::state::{BrokerState, now_millis};
use crate::protocol::message::{
    PROPERTY_DELAY_TIME_LEVEL, PROPERTY_REAL_QUEUE_ID, PROPERTY_REAL_TOPIC, Properties,
    StoredMessageRef, parse_properties, properties_to_string,
};
use crate::protocol::tag::Subscription;
use crate::store::{AppendMessage, GetStatus, SCHEDULE_TOPIC};

/// Entries one scan reads.
const SCAN_BATCH: usize = 32;
/// Pause after a failed re-put before trying the same message again.
const RETRY_PAUSE: Duration = Duration::from_secs(1);

/// The file's content: level → next queue offset to deliver.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct DelayFile {
    offset_table: BTreeMap<i32, i64>,
}

/// Per-level delivery progress.
#[derive(Debug)]
pub(crate) struct DelayOffsets {
    path: PathBuf,
    table: Mutex<BTreeMap<i32, i64>>,
    dirty: AtomicBool,
    write_lock: Mutex<()>,
}

impl DelayOffsets {
    /// Loads `config/delayOffset.json` under `store_dir`, if present.
    pub(crate) fn load(store_dir: &Path) -> crate::Result<Self> {
        let path = json_file::config_dir(store_dir).join("delayOffset.json");
        let file: DelayFile = json_file::load(&path)?.unwrap_or_default();
        Ok(Self {
            path,
            table: Mutex::new(file.offset_table),
            dirty: AtomicBool::new(false),
            write_lock: Mutex::new(()),
        })
    }

    /// The next queue offset of `level` to deliver.
    pub(crate) fn get(&self, level: i32) -> u64 {
        self.table
            .lock()
            .get(&level)
            .map_or(0, |o| u64::try_from(*o).unwrap_or(0))
    }

    fn set(&self, level: i32, offset: u64) {
        self.table
            .lock()
            .insert(level, i64::try_from(offset).unwrap_or(i64::MAX));
        self.dirty.store(true, Ordering::Release);
    }

    /// Writes the table if it changed since the last write.
    pub(crate) fn persist(&self) -> crate::Result<()> {
        let _writer = self.write_lock.lock();
        if !self.dirty.swap(false, Ordering::AcqRel) {
            return Ok(());
        }
        let file = DelayFile {
            offset_table: self.table.lock().clone(),
        };
        if let Err(e) = json_file::save(&self.path, &file) {
            self.dirty.store(true, Ordering::Release);
            return Err(e);
        }
        Ok(())
    }
}

/// If `properties` ask for a delay (`DELAY` > 0), retargets the message to the schedule
/// topic: level clamped to the configured levels, `REAL_TOPIC`/`REAL_QID` recorded, queue
/// `level - 1`. Answers whether it did.
pub(crate) fn schedule_if_delayed(
    msg: &mut AppendMessage,
    properties: &mut Properties,
    levels: usize,
) -> bool {
    let level = properties
        .get(PROPERTY_DELAY_TIME_LEVEL)
        .and_then(|l| l.trim().parse::<i64>().ok())
        .unwrap_or(0);
    if level <= 0 || levels == 0 || msg.topic == SCHEDULE_TOPIC {
        return false;
    }
    // A level beyond the table means the longest delay, as RocketMQ clamps it.
    let level = usize::try_from(level).unwrap_or(levels).min(levels);
    properties.insert(PROPERTY_DELAY_TIME_LEVEL.to_owned(), level.to_string());
    properties.insert(PROPERTY_REAL_TOPIC.to_owned(), msg.topic.clone());
    properties.insert(PROPERTY_REAL_QUEUE_ID.to_owned(), msg.queue_id.to_string());
    msg.topic = SCHEDULE_TOPIC.to_owned();
    msg.queue_id = i32::try_from(level - 1).unwrap_or(0);
    msg.properties = properties_to_string(properties);
    true
}

/// Spawns one delivery task per delay level on `tracker`.
pub(crate) fn spawn(state: &Arc<BrokerState>, tracker: &tokio_util::task::TaskTracker) {
    let levels = state.config.store.delay_levels.len();
    for level in 1..=levels {
        let state = Arc::clone(state);
        tracker.spawn(async move {
            let level = i32::try_from(level).unwrap_or(i32::MAX);
            run_level(&state, level).await;
        });
    }
}

/// Delivers one level's queue in order until shutdown.
async fn run_level(state: &Arc<BrokerState>, level: i32) {
    let queue_id = level - 1;
    let token = state.shutdown.clone();
    let mut offset = state.delay_offsets.get(level);
    // Subscribed once, before the first read, so no arrival is missed.
    let mut arrivals = state.arrivals.subscribe(SCHEDULE_TOPIC, queue_id);
    loop {
        if token.is_cancelled() {
            return;
        }
        let read = state
            .with_store(move |s| {
                s.get_messages(
                    SCHEDULE_TOPIC,
                    queue_id,
                    offset,
                    SCAN_BATCH,
                    &Subscription::All,
                )
            })
            .await;
        let found = match read {
            Ok(Ok(found)) => found,
            Ok(Err(e)) => {
                tracing::warn!(level, offset, error = %e, "reading the delay queue failed");
                pause(&token, RETRY_PAUSE).await;
                continue;
            }
            Err(e) => {
                tracing::warn!(level, error = %e.remark, "reading the delay queue failed");
                pause(&token, RETRY_PAUSE).await;
                continue;
            }
        };
        match found.status {
            GetStatus::Found => {}
            GetStatus::OffsetTooSmall | GetStatus::OffsetOverflowBadly => {
                // Retention removed entries, or the store was replaced: follow the queue.
                tracing::warn!(
                    level,
                    offset,
                    next = found.next_begin_offset,
                    "delay offset corrected"
                );
                offset = found.next_begin_offset;
                state.delay_offsets.set(level, offset);
                continue;
            }
            GetStatus::MessageWasRemoving | GetStatus::NoMatchedMessage => {
                offset = found.next_begin_offset.max(offset);
                state.delay_offsets.set(level, offset);
                continue;
            }
            _ => {
                // Nothing to deliver: sleep until the next message for this level arrives.
                let current = state.store.max_offset(SCHEDULE_TOPIC, queue_id);
                if current <= offset {
                    tokio::select! {
                        () = token.cancelled() => return,
                        _ = arrivals.changed() => {}
                    }
                }
                continue;
            }
        }
        let mut delivered_any = false;
        for m in found.messages {
            let due = m.tags_code;
            let now = now_millis();
            if due > now {
                // Entries of one level are in due order: nothing later is due either.
                let wait = Duration::from_millis(u64::try_from(due - now).unwrap_or(0));
                pause(&token, wait).await;
                break;
            }
            match deliver(state, &m.bytes).await {
                Ok(()) => {
                    offset = m.queue_offset + 1;
                    state.delay_offsets.set(level, offset);
                    delivered_any = true;
                }
                Err(e) => {
                    tracing::warn!(level, offset = m.queue_offset, error = %e, "delivering a delayed message failed; retrying");
                    pause(&token, RETRY_PAUSE).await;
                    break;
                }
            }
        }
        if delivered_any {
            if let Err(e) = state.delay_offsets.persist() {
                tracing::warn!(error = %e, "writing delayOffset.json failed");
            }
        }
    }
}

/// Sleeps `d` unless shutdown comes first.
async fn pause(token: &tokio_util::sync::CancellationToken, d: Duration) {
    tokio::select! {
        () = token.cancelled() => {}
        () = tokio::time::sleep(d) => {}
    }
}

/// Re-puts a due message to its real topic and queue, durably; a record that cannot be
/// read back as a delayed message is logged and skipped (it can never be delivered).
async fn deliver(state: &Arc<BrokerState>, record: &[u8]) -> Result<(), String> {
    let msg = match StoredMessageRef::decode(record) {
        Ok(Some((msg, _))) => msg,
        Ok(None) | Err(_) => {
            tracing::error!("a delayed record does not decode; skipped");
            return Ok(());
        }
    };
    let mut properties = parse_properties(msg.properties);
    let real_topic = properties.get(PROPERTY_REAL_TOPIC).cloned();
    let real_queue = properties
        .get(PROPERTY_REAL_QUEUE_ID)
        .and_then(|q| q.parse::<i32>().ok());
    let (Some(topic), Some(queue_id)) = (real_topic, real_queue) else {
        tracing::error!(
            offset = msg.commit_log_offset,
            "a delayed message has no REAL_TOPIC/REAL_QID; skipped"
        );
        return Ok(());
    };
    // REAL_* stay on the copy, as in RocketMQ; DELAY goes so it is not scheduled again.
    properties.remove(PROPERTY_DELAY_TIME_LEVEL);
    let append = AppendMessage {
        topic,
        queue_id,
        flag: msg.flag,
        sys_flag: msg.sys_flag,
        born_timestamp: msg.born_timestamp,
        born_host: msg.born_host,
        reconsume_times: msg.reconsume_times,
        prepared_transaction_offset: 0,
        body: bytes::Bytes::copy_from_slice(msg.body),
        properties: properties_to_string(&properties),
    };
    let result = state
        .with_store(move |s| s.append(append))
        .await
        .map_err(|e| e.remark)?
        .map_err(|e| e.to_string())?;
    state
        .store
        .wait_durable(result.end_offset)
        .await
        .map_err(|e| e.to_string())?;
    super::state::Stats::add(&state.stats.put_messages, 1);
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn delayed_messages_go_to_their_level_s_queue() {
        let mut msg = AppendMessage::new("T", 3, &b"x"[..]);
        let mut props = parse_properties("DELAY\u{1}40\u{2}TAGS\u{1}a");
        assert!(schedule_if_delayed(&mut msg, &mut props, 18));
        assert_eq!((msg.topic.as_str(), msg.queue_id), (SCHEDULE_TOPIC, 17));
        let stored = parse_properties(&msg.properties);
        assert_eq!(stored.get("REAL_TOPIC").map(String::as_str), Some("T"));
        assert_eq!(stored.get("REAL_QID").map(String::as_str), Some("3"));
        assert_eq!(stored.get("DELAY").map(String::as_str), Some("18"));

        let mut plain = AppendMessage::new("T", 0, &b"x"[..]);
        let mut none = parse_properties("DELAY\u{1}0");
        assert!(!schedule_if_delayed(&mut plain, &mut none, 18));
        assert_eq!(plain.topic, "T");
    }

    #[test]
    fn progress_survives_a_reload() {
        let dir = tempfile::tempdir().unwrap();
        let d = DelayOffsets::load(dir.path()).unwrap();
        d.set(2, 5);
        d.persist().unwrap();
        assert_eq!(DelayOffsets::load(dir.path()).unwrap().get(2), 5);
        assert_eq!(DelayOffsets::load(dir.path()).unwrap().get(3), 0);
    }
}
