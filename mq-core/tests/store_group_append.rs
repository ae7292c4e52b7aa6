//! `Store::append_many`: the group write the broker uses for the sends of one connection
//! burst. Each append of a group gets dense queue offsets as if appended alone, a refused
//! append leaves the others stored, groups cross segment boundaries, and everything is
//! recovered on reopen.
#![allow(clippy::unwrap_used)]

mod store_common;

use mq_core::protocol::tag::Subscription;
use mq_core::store::{AppendMessage, GetStatus, Store};
use store_common::*;

/// Every message of `topic`/`queue` from offset 0, decoded.
fn all(store: &Store, topic: &str, queue: i32) -> Vec<mq_core::protocol::message::StoredMessage> {
    let got = store
        .get_messages(topic, queue, 0, 10_000, &Subscription::All)
        .unwrap();
    assert_eq!(got.status, GetStatus::Found);
    got.messages.iter().map(|m| decode(&m.bytes)).collect()
}

#[test]
fn a_group_gets_dense_offsets_per_queue_in_arrival_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(small_config(dir.path()));
    store.append(msg("A", 0, 100)).unwrap();
    let singles: Vec<AppendMessage> = vec![
        msg("A", 0, 0),
        msg("B", 1, 0),
        msg("A", 0, 1),
        msg("A", 1, 0),
        msg("B", 1, 1),
    ];
    let batch = vec![msg("A", 0, 2), msg("A", 0, 3)];
    let mut appends: Vec<&[AppendMessage]> = singles.iter().map(std::slice::from_ref).collect();
    appends.push(&batch);
    let results = store.append_many(&appends);
    let offsets: Vec<u64> = results
        .iter()
        .map(|r| r.as_ref().unwrap().queue_offset)
        .collect();
    assert_eq!(offsets, [1, 0, 2, 0, 1, 3]);
    // One write: the records are back to back in the CommitLog, in arrival order.
    let starts: Vec<u64> = results
        .iter()
        .flat_map(|r| r.as_ref().unwrap().commit_log_offsets.clone())
        .collect();
    assert!(starts.windows(2).all(|w| w[0] < w[1]));

    let a0 = all(&store, "A", 0);
    let bodies: Vec<String> = a0
        .iter()
        .map(|m| String::from_utf8(m.body.to_vec()).unwrap())
        .collect();
    assert_eq!(
        bodies,
        [
            "body-A-0-100",
            "body-A-0-0",
            "body-A-0-1",
            "body-A-0-2",
            "body-A-0-3"
        ]
    );
    for (i, m) in a0.iter().enumerate() {
        assert_eq!(
            m.queue_offset, i as i64,
            "stamped offset matches the queue position"
        );
    }
    assert_eq!(all(&store, "B", 1).len(), 2);
}

#[test]
fn a_refused_append_leaves_the_rest_of_its_group_stored() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = small_config(dir.path());
    config.max_message_size = 1024;
    let store = open(config);
    let too_large = AppendMessage::new("A", 0, vec![7u8; 4096]);
    let bad_topic = AppendMessage::new("bad topic", 0, b"x".to_vec());
    let group = [
        msg("A", 0, 0),
        too_large,
        msg("A", 0, 1),
        bad_topic,
        msg("A", 0, 2),
    ];
    let appends: Vec<&[AppendMessage]> = group.iter().map(std::slice::from_ref).collect();
    let results = store.append_many(&appends);
    assert!(results[1].is_err() && results[3].is_err());
    let stored: Vec<u64> = [0, 2, 4]
        .iter()
        .map(|&i| results[i].as_ref().unwrap().queue_offset)
        .collect();
    assert_eq!(stored, [0, 1, 2]);
    assert_eq!(store.max_offset("A", 0), 3);
}

#[test]
fn groups_cross_segments_and_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let mut expected = 0u64;
    {
        let store = open(small_config(dir.path()));
        // 64 KiB segments; groups of 40 ~100-byte records roll over several times.
        for round in 0..40u64 {
            let group: Vec<AppendMessage> = (0..40)
                .map(|i| msg("R", (i % 3) as i32, round * 40 + i))
                .collect();
            let appends: Vec<&[AppendMessage]> = group.iter().map(std::slice::from_ref).collect();
            for r in store.append_many(&appends) {
                r.unwrap();
                expected += 1;
            }
        }
        assert!(store.commit_log_max_offset() > 3 * 64 * 1024);
        store.flush().unwrap();
    }
    let store = open(small_config(dir.path()));
    let mut seen = 0;
    for queue in 0..3 {
        for (i, m) in all(&store, "R", queue).iter().enumerate() {
            assert_eq!(m.queue_offset, i as i64);
            assert_eq!(m.queue_id, queue);
            seen += 1;
        }
    }
    assert_eq!(seen, expected);
}
