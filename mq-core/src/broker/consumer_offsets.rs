//! Committed consumer offsets per group, topic and queue (RocketMQ's `ConsumerOffsetManager`),
//! kept in memory and written to `config/consumerOffset.json` periodically and at shutdown.
//!
//! The file has RocketMQ's shape, `{"offsetTable":{"<topic>@<group>":{"<queueId>":offset}}}`,
//! with the queue ids quoted so it is standard JSON (fastjson reads it too).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use super::json_file;

/// The file's content.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct OffsetFile {
    offset_table: HashMap<String, BTreeMap<i32, i64>>,
}

/// The key of one (topic, group) pair, as RocketMQ spells it.
fn key(topic: &str, group: &str) -> String {
    format!("{topic}@{group}")
}

/// Splits a `topic@group` key (topics cannot contain `@`, so the first one separates).
fn split_key(key: &str) -> Option<(&str, &str)> {
    key.split_once('@')
}

/// Committed offsets, shared by every handler.
#[derive(Debug)]
pub(crate) struct ConsumerOffsets {
    path: PathBuf,
    table: Mutex<HashMap<String, BTreeMap<i32, i64>>>,
    dirty: AtomicBool,
    /// Serializes file writes (the periodic task and shutdown may overlap).
    write_lock: Mutex<()>,
}

impl ConsumerOffsets {
    /// Loads `config/consumerOffset.json` under `store_dir`, if present.
    pub(crate) fn load(store_dir: &std::path::Path) -> crate::Result<Self> {
        let path = json_file::config_dir(store_dir).join("consumerOffset.json");
        let file: OffsetFile = json_file::load(&path)?.unwrap_or_default();
        Ok(Self {
            path,
            table: Mutex::new(file.offset_table),
            dirty: AtomicBool::new(false),
            write_lock: Mutex::new(()),
        })
    }

    /// Records `offset` (the next offset to consume) for the group's queue.
    pub(crate) fn commit(&self, group: &str, topic: &str, queue_id: i32, offset: i64) {
        // Every pull commits: the key is built before the lock, not while holding it.
        let key = key(topic, group);
        self.table
            .lock()
            .entry(key)
            .or_default()
            .insert(queue_id, offset);
        self.dirty.store(true, Ordering::Release);
    }

    /// The committed offset of the group's queue, if any.
    pub(crate) fn query(&self, group: &str, topic: &str, queue_id: i32) -> Option<i64> {
        let key = key(topic, group);
        self.table
            .lock()
            .get(&key)
            .and_then(|q| q.get(&queue_id))
            .copied()
    }

    /// Every committed offset of the group on `topic`.
    pub(crate) fn queue_offsets(&self, group: &str, topic: &str) -> BTreeMap<i32, i64> {
        self.table
            .lock()
            .get(&key(topic, group))
            .cloned()
            .unwrap_or_default()
    }

    /// Topics the group has committed offsets for.
    pub(crate) fn topics_of_group(&self, group: &str) -> Vec<String> {
        let mut topics: Vec<String> = self
            .table
            .lock()
            .keys()
            .filter_map(|k| split_key(k))
            .filter(|(_, g)| *g == group)
            .map(|(t, _)| t.to_owned())
            .collect();
        topics.sort();
        topics
    }

    /// Forgets every group's offsets on `topic` (the topic was deleted).
    pub(crate) fn remove_topic(&self, topic: &str) {
        let mut table = self.table.lock();
        let before = table.len();
        table.retain(|k, _| split_key(k).is_none_or(|(t, _)| t != topic));
        if table.len() != before {
            self.dirty.store(true, Ordering::Release);
        }
    }

    /// Writes the table if it changed since the last write.
    pub(crate) fn persist(&self) -> crate::Result<()> {
        let _writer = self.write_lock.lock();
        if !self.dirty.swap(false, Ordering::AcqRel) {
            return Ok(());
        }
        let file = OffsetFile {
            offset_table: self.table.lock().clone(),
        };
        if let Err(e) = json_file::save(&self.path, &file) {
            // Still dirty: the next round tries again.
            self.dirty.store(true, Ordering::Release);
            return Err(e);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn commits_survive_a_reload() {
        let dir = tempfile::tempdir().unwrap();
        let offsets = ConsumerOffsets::load(dir.path()).unwrap();
        offsets.commit("g", "T", 1, 42);
        offsets.commit("g", "U", 0, 7);
        offsets.commit("h", "T", 1, 3);
        offsets.persist().unwrap();
        let again = ConsumerOffsets::load(dir.path()).unwrap();
        assert_eq!(again.query("g", "T", 1), Some(42));
        assert_eq!(again.query("g", "T", 2), None);
        assert_eq!(
            again.topics_of_group("g"),
            vec!["T".to_owned(), "U".to_owned()]
        );
        again.remove_topic("T");
        assert_eq!(again.query("h", "T", 1), None);
        let text = std::fs::read_to_string(dir.path().join("config/consumerOffset.json")).unwrap();
        assert!(text.contains("\"T@g\""), "{text}");
    }
}
