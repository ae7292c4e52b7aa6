//! Seed 5.5: messages are found by key, by the producer's msgId (unique key) and by the
//! broker's offset msgId; keys identify, they do not filter.
#![allow(clippy::unwrap_used)]

mod client_support;

use client_support::{TestCluster, unique};
use mq_core::client::{Admin, Message, Producer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_query_finds_the_message() {
    let tc = TestCluster::start().await;
    let topic = unique("Query");
    tc.create_topic(&topic, 4).await;
    let producer = Producer::builder(unique("query_pg"))
        .namesrv_addr(tc.namesrv())
        .start()
        .await
        .unwrap();
    let key = unique("order");
    let sent = producer
        .send(
            Message::new(&topic, "find me")
                .with_tag("TagA")
                .with_keys([key.clone(), "other".into()]),
        )
        .await
        .unwrap();
    producer
        .send(Message::new(&topic, "not me").with_key("unrelated"))
        .await
        .unwrap();

    let admin = Admin::connect(tc.namesrv()).await.unwrap();
    // The index is built as messages are stored; allow it a moment.
    let mut found = Vec::new();
    for _ in 0..50 {
        found = admin.query_msg_by_key(&topic, &key, 32).await.unwrap();
        if !found.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].body, "find me".as_bytes());
    assert_eq!(found[0].msg_id, sent.msg_id);
    assert!(found[0].keys.contains(&key));

    let by_offset_id = admin.query_msg_by_id(&sent.offset_msg_id).await.unwrap();
    assert_eq!(by_offset_id.msg_id, sent.msg_id);
    assert_eq!(by_offset_id.queue_offset, sent.queue_offset);

    let by_unique = admin
        .query_msg_by_unique_key(&topic, &sent.msg_id)
        .await
        .unwrap();
    assert_eq!(by_unique.len(), 1);
    assert_eq!(by_unique[0].offset_msg_id, sent.offset_msg_id);

    assert!(
        admin
            .query_msg_by_key(&topic, "no-such-key", 32)
            .await
            .unwrap()
            .is_empty()
    );
}
