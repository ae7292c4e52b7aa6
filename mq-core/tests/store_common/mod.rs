//! Helpers shared by the store tests: configs for small stores and message builders.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mq_core::protocol::message::{StoredMessage, StoredMessageRef};
use mq_core::store::{AppendMessage, FlushDiskType, Store, StoreConfig};

/// A config with tiny files, so tests cross segment boundaries quickly.
pub fn small_config(dir: &Path) -> StoreConfig {
    let mut c = StoreConfig::new(dir);
    c.commit_log_segment_size = 64 * 1024;
    c.consume_queue_entries_per_file = 64;
    c.index_hash_slots = 512;
    c.index_max_entries = 2048;
    c
}

/// Same, with SYNC_FLUSH.
pub fn sync_config(dir: &Path) -> StoreConfig {
    let mut c = small_config(dir);
    c.flush_disk_type = FlushDiskType::SyncFlush;
    c
}

/// A message with a tag, keys and a body derived from `n`.
pub fn msg(topic: &str, queue_id: i32, n: u64) -> AppendMessage {
    AppendMessage::new(
        topic,
        queue_id,
        format!("body-{topic}-{queue_id}-{n}").into_bytes(),
    )
    .with_properties(format!(
        "TAGS\u{1}tag{}\u{2}KEYS\u{1}key{n} common\u{2}UNIQ_KEY\u{1}U{n:030}",
        n % 3
    ))
}

/// Decodes one stored record.
pub fn decode(bytes: &[u8]) -> StoredMessage {
    let (m, len) = StoredMessageRef::decode(bytes).unwrap().unwrap();
    assert_eq!(len, bytes.len());
    m.to_owned_message()
}

/// Opens a store, panicking with the error if it fails.
pub fn open(config: StoreConfig) -> Arc<Store> {
    Arc::new(Store::open(config).unwrap())
}

/// Re-runs this test executable as a child that runs only the test `entry` (which does its
/// work when `env` is set), with `env` = `dir` and stdout piped: a process to `kill -9`.
pub fn spawn_child(entry: &str, env: &str, dir: &Path) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", entry, "--nocapture", "--test-threads=1"])
        .env(env, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Waits until the index has caught up with the CommitLog, failing after `within`.
pub fn wait_indexed(store: &Store, within: Duration) {
    let deadline = Instant::now() + within;
    while store.indexed_offset() < store.commit_log_max_offset() {
        assert!(Instant::now() < deadline, "the index did not catch up");
        std::thread::sleep(Duration::from_millis(5));
    }
}
