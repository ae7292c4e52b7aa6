//! The store's public API end to end: append, pull with tag filters, offsets, time search,
//! msgId and key look-ups, limits, listeners and both flush modes.
#![allow(clippy::unwrap_used)]

mod store_common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use mq_core::protocol::tag::{Subscription, tag_code};
use mq_core::store::{AppendMessage, GetStatus, ManualClock, StoreError};
use store_common::*;

#[test]
fn store_can_be_shared_across_threads_and_tasks() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<mq_core::store::Store>();
}

#[test]
fn append_then_pull_in_rocketmq_layout() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(small_config(dir.path()));
    for n in 0..10 {
        let r = store.append(msg("T", 1, n)).unwrap();
        assert_eq!(r.queue_offset, n);
        assert_eq!(r.commit_log_offsets.len(), 1);
    }
    assert_eq!(
        (store.min_offset("T", 1), store.max_offset("T", 1)),
        (0, 10)
    );
    let got = store
        .get_messages("T", 1, 3, 4, &Subscription::All)
        .unwrap();
    assert_eq!(got.status, GetStatus::Found);
    assert_eq!(got.next_begin_offset, 7);
    for (i, m) in got.messages.iter().enumerate() {
        let d = decode(&m.bytes);
        assert_eq!(d.queue_offset, 3 + i as i64);
        assert_eq!(d.commit_log_offset as u64, m.commit_log_offset);
        assert_eq!(d.topic, "T");
        assert_eq!(d.queue_id, 1);
        assert_eq!(&d.body[..], format!("body-T-1-{}", 3 + i).as_bytes());
        assert_eq!(d.store_host, store.config().store_host);
        assert!(
            mq_core::protocol::message::StoredMessageRef::decode(&m.bytes)
                .unwrap()
                .unwrap()
                .0
                .body_crc_ok()
        );
    }
    assert_eq!(
        store
            .get_messages("T", 1, 10, 4, &Subscription::All)
            .unwrap()
            .status,
        GetStatus::OffsetOverflowOne
    );
    assert_eq!(
        store
            .get_messages("T", 1, 11, 4, &Subscription::All)
            .unwrap()
            .status,
        GetStatus::OffsetOverflowBadly
    );
    assert_eq!(
        store
            .get_messages("T", 2, 0, 4, &Subscription::All)
            .unwrap()
            .status,
        GetStatus::NoMatchedLogicQueue
    );
}

#[test]
fn tag_filter_uses_queue_codes() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(small_config(dir.path()));
    for n in 0..30 {
        store.append(msg("T", 0, n)).unwrap();
    }
    let sub = Subscription::parse("tag1 || tag2");
    let got = store.get_messages("T", 0, 0, 100, &sub).unwrap();
    assert_eq!(got.messages.len(), 20);
    assert!(
        got.messages
            .iter()
            .all(|m| m.tags_code == tag_code("tag1") || m.tags_code == tag_code("tag2"))
    );
    assert_eq!(got.next_begin_offset, 30);
    let none = store
        .get_messages("T", 0, 0, 100, &Subscription::parse("nope"))
        .unwrap();
    assert_eq!(none.status, GetStatus::NoMatchedMessage);
    assert_eq!(none.next_begin_offset, 30);
}

#[test]
fn batch_is_contiguous_and_seen_as_individual_messages() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(small_config(dir.path()));
    store.append(msg("B", 0, 0)).unwrap();
    let batch: Vec<AppendMessage> = (1..6).map(|n| msg("B", 0, n)).collect();
    let r = store.append_batch(&batch).unwrap();
    assert_eq!(r.queue_offset, 1);
    assert_eq!(r.commit_log_offsets.len(), 5);
    assert_eq!(r.msg_ids().len(), 5);
    let got = store
        .get_messages("B", 0, 0, 10, &Subscription::All)
        .unwrap();
    let bodies: Vec<_> = got.messages.iter().map(|m| decode(&m.bytes).body).collect();
    assert_eq!(bodies.len(), 6);
    assert_eq!(&bodies[5][..], b"body-B-0-5");
    let mixed = vec![msg("B", 0, 1), msg("B", 1, 2)];
    assert!(matches!(
        store.append_batch(&mixed),
        Err(StoreError::InvalidMessage(_))
    ));
    assert!(matches!(
        store.append_batch(&[]),
        Err(StoreError::EmptyBatch)
    ));
}

#[test]
fn limits_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = small_config(dir.path());
    cfg.max_message_size = 1000;
    cfg.max_batch_size = 2000;
    let store = open(cfg);
    let big = AppendMessage::new("T", 0, vec![0u8; 1000]);
    assert!(matches!(
        store.append(big),
        Err(StoreError::MessageTooLarge { max: 1000, .. })
    ));
    let batch: Vec<_> = (0..10)
        .map(|_| AppendMessage::new("T", 0, vec![0u8; 500]))
        .collect();
    assert!(matches!(
        store.append_batch(&batch),
        Err(StoreError::BatchTooLarge { max: 2000, .. })
    ));
    assert!(matches!(
        store.append(AppendMessage::new("a/b", 0, "x")),
        Err(StoreError::InvalidMessage(_))
    ));
    assert!(matches!(
        store.append(AppendMessage::new("T", -1, "x")),
        Err(StoreError::InvalidMessage(_))
    ));
    // Nothing above was stored.
    assert_eq!(store.max_offset("T", 0), 0);
}

#[test]
fn msg_id_and_key_lookups() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(small_config(dir.path()));
    let mut ids = Vec::new();
    for n in 0..50 {
        ids.push(store.append(msg("K", (n % 2) as i32, n)).unwrap().msg_ids()[0].clone());
    }
    let rec = store.get_by_offset_msg_id(&ids[7]).unwrap().unwrap();
    assert_eq!(&decode(&rec).body[..], b"body-K-1-7");
    assert!(matches!(
        store.get_by_offset_msg_id("xyz"),
        Err(StoreError::BadMsgId(_))
    ));
    wait_indexed(&store, Duration::from_secs(10));
    let found = store.query_by_key("K", "key7", 10, 0, i64::MAX).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(&decode(&found[0]).body[..], b"body-K-1-7");
    // `common` is on every message: the newest N come back, newest first.
    let common = store.query_by_key("K", "common", 5, 0, i64::MAX).unwrap();
    let bodies: Vec<_> = common
        .iter()
        .map(|r| String::from_utf8(decode(r).body.to_vec()).unwrap())
        .collect();
    assert_eq!(
        bodies,
        [
            "body-K-1-49",
            "body-K-0-48",
            "body-K-1-47",
            "body-K-0-46",
            "body-K-1-45"
        ]
    );
    assert!(
        store
            .query_by_key("other", "key7", 10, 0, i64::MAX)
            .unwrap()
            .is_empty()
    );
    let uniq = store
        .query_by_uniq_key("K", &format!("U{:030}", 33))
        .unwrap()
        .unwrap();
    assert_eq!(&decode(&uniq).body[..], b"body-K-1-33");
}

#[test]
fn offset_for_timestamp_uses_store_time() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(1_000_000));
    let mut cfg = small_config(dir.path());
    cfg.clock = clock.clone();
    let store = open(cfg);
    for n in 0..20 {
        store.append(msg("T", 0, n)).unwrap();
        clock.advance(1000);
    }
    // Message n was stored at 1_000_000 + n·1000.
    assert_eq!(store.offset_for_timestamp("T", 0, 0).unwrap(), 0);
    assert_eq!(store.offset_for_timestamp("T", 0, 1_005_000).unwrap(), 5);
    assert_eq!(store.offset_for_timestamp("T", 0, 1_005_001).unwrap(), 6);
    assert_eq!(store.offset_for_timestamp("T", 0, 9_000_000).unwrap(), 20);
    assert_eq!(
        store.store_timestamp_at("T", 0, 3).unwrap(),
        Some(1_003_000)
    );
}

#[test]
fn listener_hears_every_append() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(small_config(dir.path()));
    let last = Arc::new(AtomicU64::new(0));
    let l = Arc::clone(&last);
    store.set_arrival_listener(Arc::new(move |topic: &str, qid: i32, max: u64| {
        assert_eq!((topic, qid), ("L", 3));
        l.store(max, Ordering::SeqCst);
    }));
    store.append(msg("L", 3, 0)).unwrap();
    assert_eq!(last.load(Ordering::SeqCst), 1);
    store
        .append_batch(&[msg("L", 3, 1), msg("L", 3, 2)])
        .unwrap();
    assert_eq!(last.load(Ordering::SeqCst), 3);
}

#[test]
fn sync_flush_acknowledges_after_fsync() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(sync_config(dir.path()));
    let r = store.put_blocking(msg("S", 0, 0)).unwrap();
    assert!(r.end_offset > 0);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let r = store.put(msg("S", 0, 1)).await.unwrap();
        store.wait_durable(r.end_offset).await.unwrap();
    });
    store.close().unwrap();
    assert!(matches!(
        store.append(msg("S", 0, 2)),
        Err(StoreError::Closed)
    ));
}
