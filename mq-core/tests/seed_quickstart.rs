//! Seed 3.2: a producer sends messages synchronously and a push consumer receives every one,
//! with the msgId, tag, keys and body the producer sent.
#![allow(clippy::unwrap_used)]

mod client_support;

use std::time::Duration;

use client_support::{Collector, TestCluster, unique};
use mq_core::client::{Message, Producer, SendStatus};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_send_then_push_consume_receives_every_message() {
    let tc = TestCluster::start().await;
    let topic = unique("Quickstart");
    tc.create_topic(&topic, 4).await;

    let collector = Collector::new();
    let consumer = tc
        .consumer(&unique("quickstart_cg"))
        .subscribe(&topic, "*")
        .start(collector.clone())
        .await
        .unwrap();
    let owned = consumer.assigned_queues();
    assert_eq!(
        owned.iter().filter(|q| q.topic == topic).count(),
        4,
        "one instance owns every queue: {owned:?}"
    );

    let producer = Producer::builder(unique("quickstart_pg"))
        .namesrv_addr(tc.namesrv())
        .start()
        .await
        .unwrap();
    let mut sent = Vec::new();
    for i in 0..10 {
        let msg = Message::new(&topic, format!("Hello RocketMQ {i}"))
            .with_tag("TagA")
            .with_key(format!("key-{i}"));
        let result = producer.send(msg).await.unwrap();
        assert_eq!(result.status, SendStatus::SendOk);
        assert_eq!(result.queue.topic, topic);
        assert_eq!(result.msg_id.len(), 32);
        assert_eq!(result.offset_msg_id.len(), 32);
        sent.push(result);
    }
    // Round robin spreads the sends over the queues.
    let queues: std::collections::BTreeSet<i32> = sent.iter().map(|r| r.queue.queue_id).collect();
    assert_eq!(queues.len(), 4);

    let got = collector.wait_for(10, Duration::from_secs(20)).await;
    assert_eq!(got.len(), 10, "no duplicates in a quiet run");
    for (i, result) in sent.iter().enumerate() {
        let m = got.iter().find(|m| m.msg_id == result.msg_id).unwrap();
        assert_eq!(m.body, format!("Hello RocketMQ {i}").as_bytes());
        assert_eq!(m.tag.as_deref(), Some("TagA"));
        assert_eq!(m.keys, vec![format!("key-{i}")]);
        assert_eq!(m.offset_msg_id, result.offset_msg_id);
        assert_eq!(m.queue_id, result.queue.queue_id);
        assert_eq!(m.queue_offset, result.queue_offset);
        assert_eq!(m.reconsume_times, 0);
        assert!(m.store_timestamp >= m.born_timestamp - 1000);
    }
    consumer.shutdown().await;
    producer.shutdown().await;
    tc.cluster.shutdown().await.unwrap();
}
