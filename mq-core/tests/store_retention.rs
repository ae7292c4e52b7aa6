//! Retention with tiny segments and an injected clock, and the disk-full guard with an
//! injected disk-usage reading.
#![allow(clippy::unwrap_used)]

mod store_common;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mq_core::protocol::tag::Subscription;
use mq_core::store::{
    AppendMessage, FixedDiskUsage, GetStatus, ManualClock, Store, StoreConfig, StoreError,
};
use store_common::decode;

const HOUR: i64 = 3_600_000;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// The first instant at `hour` UTC that is at least `after` ms from now.
fn at_hour_after(after: i64, hour: i64) -> i64 {
    let t = now_ms() + after;
    let day = t - t.rem_euclid(24 * HOUR);
    let candidate = day + hour * HOUR + 60_000;
    if candidate >= t {
        candidate
    } else {
        candidate + 24 * HOUR
    }
}

fn setup(dir: &std::path::Path) -> (StoreConfig, Arc<ManualClock>, Arc<FixedDiskUsage>) {
    let clock = Arc::new(ManualClock::new(now_ms()));
    let disk = Arc::new(FixedDiskUsage::new(0.10));
    let mut c = StoreConfig::new(dir);
    c.commit_log_segment_size = 4096;
    c.consume_queue_entries_per_file = 8;
    c.index_hash_slots = 64;
    c.index_max_entries = 16;
    c.file_reserved_time = Duration::from_secs(72 * 3600);
    c.delete_when = vec![4];
    // Housekeeping is driven by the test.
    c.housekeeping_interval = Duration::from_secs(3600);
    c.clock = clock.clone();
    c.disk_usage = disk.clone();
    (c, clock, disk)
}

fn fill(store: &Store, n: u64) {
    for i in 0..n {
        let body = format!("{i:0>500}");
        store
            .append(AppendMessage::new("T", 0, body).with_properties(format!("KEYS\u{1}k{i}")))
            .unwrap();
    }
}

fn segment_count(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir.join("commitlog")).unwrap().count()
}

#[test]
fn expired_segments_go_at_the_delete_hour_and_reads_below_min_say_offset_moved() {
    let dir = tempfile::tempdir().unwrap();
    let (cfg, clock, _disk) = setup(dir.path());
    let store = Store::open(cfg).unwrap();
    fill(&store, 100);
    let before = segment_count(dir.path());
    assert!(before > 10, "{before} segments");

    // Expired, but not at the delete hour and the disk is nearly empty: kept.
    clock.set(at_hour_after(73 * HOUR, 5));
    let r = store.run_housekeeping().unwrap();
    assert_eq!(r.segments_deleted, 0);
    // At the delete hour but not yet expired: kept.
    clock.set(at_hour_after(HOUR, 4).min(at_hour_after(0, 4)));
    assert_eq!(store.run_housekeeping().unwrap().segments_deleted, 0);
    // Expired and at the delete hour: all but the newest go.
    clock.set(at_hour_after(73 * HOUR, 4));
    let r = store.run_housekeeping().unwrap();
    assert_eq!(r.segments_deleted, before - 1);
    assert_eq!(segment_count(dir.path()), 1);
    assert!(r.commit_log_min_offset > 0);

    let min = store.min_offset("T", 0);
    assert!(min > 0 && min < 100, "min {min}");
    assert_eq!(store.max_offset("T", 0), 100);
    let moved = store
        .get_messages("T", 0, 0, 10, &Subscription::All)
        .unwrap();
    assert_eq!(moved.status, GetStatus::OffsetTooSmall);
    assert_eq!(moved.next_begin_offset, min);
    assert_eq!(moved.min_offset, min);
    let got = store
        .get_messages("T", 0, min, 10, &Subscription::All)
        .unwrap();
    assert_eq!(got.status, GetStatus::Found);
    assert_eq!(
        &decode(&got.messages[0].bytes).body[..],
        format!("{min:0>500}").as_bytes()
    );
    // The ConsumeQueue files below the new min went too.
    let cq_files = std::fs::read_dir(dir.path().join("consumequeue/T/0"))
        .unwrap()
        .count();
    assert!(cq_files <= 2, "{cq_files} queue files left");
    // Appends continue, and the state survives a restart.
    assert_eq!(
        store
            .append(AppendMessage::new("T", 0, "after"))
            .unwrap()
            .queue_offset,
        100
    );
    store.close().unwrap();
    drop(store);
    let (cfg, _, _) = setup(dir.path());
    let store = Store::open(cfg).unwrap();
    assert_eq!(store.min_offset("T", 0), min);
    assert_eq!(store.max_offset("T", 0), 101);
}

#[test]
fn disk_pressure_deletes_expired_segments_at_any_hour_and_forcibly_above_the_clean_ratio() {
    let dir = tempfile::tempdir().unwrap();
    let (cfg, clock, disk) = setup(dir.path());
    let store = Store::open(cfg).unwrap();
    fill(&store, 100);
    let before = segment_count(dir.path());
    // Not expired, wrong hour, pressure only: nothing is old enough.
    clock.set(at_hour_after(HOUR, 5));
    disk.set(0.80);
    assert_eq!(store.run_housekeeping().unwrap().segments_deleted, 0);
    // Above the forcible ratio: the oldest go though not expired, a bounded number per run.
    disk.set(0.87);
    let r = store.run_housekeeping().unwrap();
    assert_eq!(r.segments_deleted, 10);
    assert_eq!(segment_count(dir.path()), before - 10);
    // Pressure and expired, at a non-delete hour: the rest go.
    disk.set(0.80);
    clock.set(at_hour_after(73 * HOUR, 5));
    let r = store.run_housekeeping().unwrap();
    assert_eq!(r.segments_deleted, before - 11);
}

#[test]
fn appends_are_refused_above_the_disk_full_ratio() {
    let dir = tempfile::tempdir().unwrap();
    let (cfg, _clock, disk) = setup(dir.path());
    let store = Store::open(cfg).unwrap();
    fill(&store, 3);
    disk.set(0.95);
    let r = store.run_housekeeping().unwrap();
    assert!(r.disk_full);
    match store.append(AppendMessage::new("T", 0, "x")) {
        Err(StoreError::DiskFull {
            used_percent,
            limit_percent,
        }) => {
            assert!((used_percent - 95.0).abs() < 1e-9);
            assert!((limit_percent - 90.0).abs() < 1e-9);
        }
        other => panic!("expected DiskFull, got {other:?}"),
    }
    // Reads still work while full.
    assert_eq!(
        store
            .get_messages("T", 0, 0, 10, &Subscription::All)
            .unwrap()
            .messages
            .len(),
        3
    );
    disk.set(0.50);
    assert!(!store.run_housekeeping().unwrap().disk_full);
    assert_eq!(
        store
            .append(AppendMessage::new("T", 0, "x"))
            .unwrap()
            .queue_offset,
        3
    );
}
