//! Random appends and batches across topics and queues, with close/reopen at random points:
//! every read equals what was written and queue offsets stay dense.
#![allow(clippy::unwrap_used)]

mod store_common;

use std::collections::BTreeMap;

use mq_core::protocol::tag::Subscription;
use mq_core::store::{AppendMessage, GetStatus, Store, StoreConfig};
use proptest::prelude::*;
use store_common::decode;

const TOPICS: [&str; 3] = ["alpha", "beta", "%RETRY%group"];

#[derive(Debug, Clone)]
enum Op {
    Append {
        topic: usize,
        queue: i32,
        body: Vec<u8>,
        tag: Option<u8>,
    },
    Batch {
        topic: usize,
        queue: i32,
        bodies: Vec<Vec<u8>>,
    },
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..3usize, 0..3i32, prop::collection::vec(any::<u8>(), 0..400), prop::option::of(0..4u8))
            .prop_map(|(topic, queue, body, tag)| Op::Append { topic, queue, body, tag }),
        2 => (0..3usize, 0..3i32, prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 1..6))
            .prop_map(|(topic, queue, bodies)| Op::Batch { topic, queue, bodies }),
        1 => Just(Op::Reopen),
    ]
}

fn config(dir: &std::path::Path) -> StoreConfig {
    let mut c = StoreConfig::new(dir);
    // Tiny files: segments roll every few records, queue files every 8 entries.
    c.commit_log_segment_size = 4096;
    c.consume_queue_entries_per_file = 8;
    c.index_hash_slots = 64;
    c.index_max_entries = 64;
    c
}

fn message(topic: &str, queue: i32, body: &[u8], tag: Option<u8>) -> AppendMessage {
    let props = tag.map(|t| format!("TAGS\u{1}t{t}")).unwrap_or_default();
    AppendMessage::new(topic, queue, body.to_vec()).with_properties(props)
}

/// What was written: (topic index, queue) → (body, properties) per queue offset.
type Model = BTreeMap<(usize, i32), Vec<(Vec<u8>, String)>>;

/// Reads every queue back and compares it with the model.
fn check(store: &Store, model: &Model) {
    for ((topic, queue), expected) in model {
        let topic = TOPICS[*topic];
        assert_eq!(store.min_offset(topic, *queue), 0);
        assert_eq!(
            store.max_offset(topic, *queue),
            expected.len() as u64,
            "{topic}/{queue}"
        );
        let mut offset = 0u64;
        while offset < expected.len() as u64 {
            let got = store
                .get_messages(topic, *queue, offset, 7, &Subscription::All)
                .unwrap();
            assert_eq!(got.status, GetStatus::Found);
            for m in &got.messages {
                let d = decode(&m.bytes);
                assert_eq!(m.queue_offset, offset, "offsets are dense");
                assert_eq!(d.queue_offset as u64, offset);
                assert_eq!((d.topic.as_str(), d.queue_id), (topic, *queue));
                let (body, props) = &expected[offset as usize];
                assert_eq!(&d.body[..], &body[..]);
                assert_eq!(&d.properties, props);
                offset += 1;
            }
            assert_eq!(got.next_begin_offset, offset);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn reads_equal_writes_across_reopens(ops in prop::collection::vec(op(), 1..60)) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(config(dir.path())).unwrap();
        let mut model = Model::new();
        for op in ops {
            match op {
                Op::Append { topic, queue, body, tag } => {
                    let m = message(TOPICS[topic], queue, &body, tag);
                    let props = m.properties.clone();
                    let q = model.entry((topic, queue)).or_default();
                    let r = store.append(m).unwrap();
                    prop_assert_eq!(r.queue_offset, q.len() as u64);
                    q.push((body, props));
                }
                Op::Batch { topic, queue, bodies } => {
                    let msgs: Vec<_> = bodies.iter().map(|b| message(TOPICS[topic], queue, b, None)).collect();
                    let q = model.entry((topic, queue)).or_default();
                    let r = store.append_batch(&msgs).unwrap();
                    prop_assert_eq!(r.queue_offset, q.len() as u64);
                    q.extend(bodies.into_iter().map(|b| (b, String::new())));
                }
                Op::Reopen => {
                    store.close().unwrap();
                    drop(store);
                    store = Store::open(config(dir.path())).unwrap();
                    check(&store, &model);
                }
            }
        }
        check(&store, &model);
        store.close().unwrap();
        drop(store);
        let store = Store::open(config(dir.path())).unwrap();
        check(&store, &model);
    }
}
