//! Damaged files: a cut or corrupted CommitLog tail is truncated to the last valid record and
//! appends continue; a deleted ConsumeQueue file is rebuilt; corruption read at runtime is a
//! typed error naming the file and offset.
#![allow(clippy::unwrap_used)]

mod store_common;

use std::fs::{self, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use mq_core::protocol::tag::Subscription;
use mq_core::store::{Store, StoreError};
use store_common::{decode, msg, small_config};

fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

fn newest_segment(root: &Path) -> PathBuf {
    segments(&root.join("commitlog")).pop().unwrap()
}

fn bodies(store: &Store, topic: &str, q: i32) -> Vec<String> {
    let mut out = Vec::new();
    let mut offset = store.min_offset(topic, q);
    loop {
        let got = store
            .get_messages(topic, q, offset, 32, &Subscription::All)
            .unwrap();
        if got.messages.is_empty() {
            return out;
        }
        for m in got.messages {
            out.push(String::from_utf8(decode(&m.bytes).body.to_vec()).unwrap());
            offset = m.queue_offset + 1;
        }
    }
}

fn expected(topic: &str, q: i32, range: std::ops::Range<u64>) -> Vec<String> {
    range.map(|n| format!("body-{topic}-{q}-{n}")).collect()
}

/// Writes `n` messages to T/0 and closes the store cleanly.
fn fill(dir: &Path, n: u64) {
    let store = Store::open(small_config(dir)).unwrap();
    for i in 0..n {
        store.append(msg("T", 0, i)).unwrap();
    }
    store.close().unwrap();
}

#[test]
fn cut_tail_is_truncated_and_appends_continue() {
    for cut in [1u64, 7, 30] {
        let dir = tempfile::tempdir().unwrap();
        fill(dir.path(), 20);
        let seg = newest_segment(dir.path());
        let len = fs::metadata(&seg).unwrap().len();
        OpenOptions::new()
            .write(true)
            .open(&seg)
            .unwrap()
            .set_len(len - cut)
            .unwrap();

        let store = Store::open(small_config(dir.path())).unwrap();
        assert_eq!(
            store.max_offset("T", 0),
            19,
            "cut {cut}: the torn record is gone"
        );
        assert_eq!(bodies(&store, "T", 0), expected("T", 0, 0..19));
        let r = store.append(msg("T", 0, 19)).unwrap();
        assert_eq!(r.queue_offset, 19);
        store.close().unwrap();
        drop(store);
        let store = Store::open(small_config(dir.path())).unwrap();
        assert_eq!(bodies(&store, "T", 0), expected("T", 0, 0..20));
    }
}

#[test]
fn corrupt_last_record_is_dropped_after_clean_and_unclean_stops() {
    for unclean in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        fill(dir.path(), 20);
        let seg = newest_segment(dir.path());
        let len = fs::metadata(&seg).unwrap().len();
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&seg)
            .unwrap();
        // A byte inside the last record's properties (the trailer is the last 8 bytes).
        let mut b = [0u8; 1];
        f.read_exact_at(&mut b, len - 12).unwrap();
        f.write_all_at(&[b[0] ^ 0xFF], len - 12).unwrap();
        if unclean {
            fs::File::create(dir.path().join("abort")).unwrap();
        }
        let store = Store::open(small_config(dir.path())).unwrap();
        assert_eq!(
            bodies(&store, "T", 0),
            expected("T", 0, 0..19),
            "unclean={unclean}"
        );
        assert_eq!(store.append(msg("T", 0, 99)).unwrap().queue_offset, 19);
    }
}

#[test]
fn garbage_after_the_tail_is_cut_after_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    fill(dir.path(), 10);
    let seg = newest_segment(dir.path());
    let len = fs::metadata(&seg).unwrap().len();
    // A half-written record header past the end, as a crash mid-write leaves it.
    let f = OpenOptions::new().write(true).open(&seg).unwrap();
    f.write_all_at(&[0, 0, 1, 0, 0xDA, 0xA3, 0x20, 0xA7, 1, 2, 3], len)
        .unwrap();
    fs::File::create(dir.path().join("abort")).unwrap();
    let store = Store::open(small_config(dir.path())).unwrap();
    assert_eq!(bodies(&store, "T", 0), expected("T", 0, 0..10));
    drop(store);
    assert_eq!(fs::metadata(&seg).unwrap().len(), len);
}

#[test]
fn a_torn_batch_is_dropped_whole() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(small_config(dir.path())).unwrap();
    store.append(msg("T", 0, 0)).unwrap();
    store
        .append_batch(&[msg("T", 0, 1), msg("T", 0, 2), msg("T", 0, 3)])
        .unwrap();
    store.close().unwrap();
    drop(store);
    let seg = newest_segment(dir.path());
    let len = fs::metadata(&seg).unwrap().len();
    // Cut into the batch's last record only.
    OpenOptions::new()
        .write(true)
        .open(&seg)
        .unwrap()
        .set_len(len - 20)
        .unwrap();
    fs::File::create(dir.path().join("abort")).unwrap();
    let store = Store::open(small_config(dir.path())).unwrap();
    assert_eq!(
        bodies(&store, "T", 0),
        expected("T", 0, 0..1),
        "no half batch survives"
    );
}

#[test]
fn deleted_consume_queue_files_are_rebuilt() {
    for victim in ["last", "middle", "all"] {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(small_config(dir.path())).unwrap();
        // 64 entries per queue file: 200 messages make 4 files; another queue interleaves.
        for i in 0..200 {
            store.append(msg("T", 0, i)).unwrap();
            store.append(msg("U", 1, i)).unwrap();
        }
        store.close().unwrap();
        drop(store);
        let qdir = dir.path().join("consumequeue/T/0");
        let files = segments(&qdir);
        assert_eq!(files.len(), 4);
        match victim {
            "last" => fs::remove_file(&files[3]).unwrap(),
            "middle" => fs::remove_file(&files[1]).unwrap(),
            _ => fs::remove_dir_all(&qdir).unwrap(),
        }
        let store = Store::open(small_config(dir.path())).unwrap();
        assert_eq!(store.max_offset("T", 0), 200, "victim {victim}");
        assert_eq!(
            bodies(&store, "T", 0),
            expected("T", 0, 0..200),
            "victim {victim}"
        );
        assert_eq!(bodies(&store, "U", 1), expected("U", 1, 0..200));
        assert_eq!(store.append(msg("T", 0, 200)).unwrap().queue_offset, 200);
    }
}

#[test]
fn corruption_found_while_reading_names_file_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(small_config(dir.path())).unwrap();
    let mut offsets = Vec::new();
    for i in 0..5 {
        offsets.push(store.append(msg("T", 0, i)).unwrap().commit_log_offsets[0]);
    }
    store.close().unwrap();
    drop(store);
    // Overwrite the magic code of record 2 while the store is closed cleanly.
    let seg = newest_segment(dir.path());
    OpenOptions::new()
        .write(true)
        .open(&seg)
        .unwrap()
        .write_all_at(&[0, 0, 0, 0], offsets[2] + 4)
        .unwrap();
    let store = Store::open(small_config(dir.path())).unwrap();
    let err = store
        .get_messages("T", 0, 2, 1, &Subscription::All)
        .unwrap_err();
    match err {
        StoreError::Corrupt { path, offset, .. } => {
            assert_eq!(path, seg);
            assert_eq!(offset, offsets[2]);
        }
        other => panic!("expected Corrupt, got {other}"),
    }
    // Records before it still read.
    assert_eq!(
        store
            .get_messages("T", 0, 0, 2, &Subscription::All)
            .unwrap()
            .messages
            .len(),
        2
    );
}
