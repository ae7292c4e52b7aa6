//! The key index on disk: its slot table written out in coalesced runs survives a reopen, and
//! after `kill -9` (long before the index's periodic persist) every acknowledged key is found
//! again once the indexer has re-read the CommitLog from the index's last persisted point.
#![allow(clippy::unwrap_used)]

mod store_common;

use std::io::{BufRead, BufReader, Write};
use std::time::Duration;

use mq_core::store::{AppendMessage, Store, StoreConfig};
use store_common::{small_config, spawn_child, wait_indexed};

const CHILD_ENV: &str = "STORE_INDEX_CRASH_CHILD";
/// Re-indexing a crashed child's hundreds of thousands of records takes seconds.
const INDEX_CATCH_UP: Duration = Duration::from_secs(20);

/// 300,000 slots are 293 pages of 1,024: more than one write's worth (256 pages).
fn wide_index_config(dir: &std::path::Path) -> StoreConfig {
    let mut c = small_config(dir);
    c.index_hash_slots = 300_000;
    c.index_max_entries = 100_000;
    c
}

fn keyed(n: u64) -> AppendMessage {
    AppendMessage::new("K", (n % 4) as i32, format!("body-{n}").into_bytes())
        .with_properties(format!("KEYS\u{1}key-{n}"))
}

fn assert_found(store: &Store, keys: std::ops::Range<u64>) {
    for n in keys {
        let found = store
            .query_by_key("K", &format!("key-{n}"), 4, 0, i64::MAX)
            .unwrap();
        assert_eq!(found.len(), 1, "key-{n}");
    }
}

#[test]
fn keys_survive_reopen_whether_dirty_slot_pages_are_scattered_or_contiguous() {
    let dir = tempfile::tempdir().unwrap();
    // 40 keys dirty scattered pages; 6,000 more dirty nearly all 293 pages, written as one
    // run of 256 pages and one of 37.
    for (round, keys) in [(0, 0..40), (1, 40..6_040)] {
        let store = Store::open(wide_index_config(dir.path())).unwrap();
        for n in keys.clone() {
            store.append(keyed(n)).unwrap();
        }
        wait_indexed(&store, INDEX_CATCH_UP);
        store.close().unwrap();
        let store = Store::open(wide_index_config(dir.path())).unwrap();
        assert_found(&store, 0..keys.end);
        store.close().unwrap();
        eprintln!("round {round}: {} keys found after reopen", keys.end);
    }
}

/// Child entry point: appends keyed messages and prints how many were acknowledged.
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let store = Store::open(wide_index_config(std::path::Path::new(&dir))).unwrap();
    let mut out = std::io::stdout();
    for n in 0u64.. {
        store.append(keyed(n)).unwrap();
        writeln!(out, "ACK {n}").unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn acknowledged_keys_are_found_after_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = spawn_child("crash_child", CHILD_ENV, dir.path());
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut acked = 0u64;
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(n) = line.strip_prefix("ACK ") {
                acked = n.parse::<u64>().unwrap() + 1;
            }
        }
        acked
    });
    // Long enough for several checkpoints, far short of the index's 10 s persist interval.
    std::thread::sleep(Duration::from_millis(1_500));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let acked = reader.join().unwrap();
    assert!(acked > 0, "the child acknowledged nothing");

    let store = Store::open(wide_index_config(dir.path())).unwrap();
    wait_indexed(&store, INDEX_CATCH_UP);
    assert_found(&store, 0..acked);
    eprintln!("{acked} acknowledged keys found after kill -9");
    store.close().unwrap();
}
