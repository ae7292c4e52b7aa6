//! Seed 4.5: a batch of three messages is stored in one queue and consumed as three messages.
#![allow(clippy::unwrap_used)]

mod client_support;

use std::time::Duration;

use client_support::{Collector, TestCluster, unique};
use mq_core::client::{ClientError, Message, Producer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_of_three_arrives_as_three_messages_in_one_queue() {
    let tc = TestCluster::start().await;
    let topic = unique("Batch");
    tc.create_topic(&topic, 4).await;
    let producer = Producer::builder(unique("batch_pg"))
        .namesrv_addr(tc.namesrv())
        .start()
        .await
        .unwrap();
    let batch = (0..3)
        .map(|i| {
            Message::new(&topic, format!("batch {i}"))
                .with_tag("TagA")
                .with_key(format!("OrderID00{i}"))
        })
        .collect();
    let result = producer.send_batch(batch).await.unwrap();
    let ids: Vec<&str> = result.msg_id.split(',').collect();
    assert_eq!(ids.len(), 3);

    let collector = Collector::new();
    let consumer = tc
        .consumer(&unique("batch_cg"))
        .subscribe(&topic, "*")
        .start(collector.clone())
        .await
        .unwrap();
    let mut got = collector.wait_for(3, Duration::from_secs(20)).await;
    got.sort_by_key(|m| m.queue_offset);
    assert_eq!(got.len(), 3);
    for (i, m) in got.iter().enumerate() {
        assert_eq!(
            m.queue_id, result.queue.queue_id,
            "one queue for the whole batch"
        );
        assert_eq!(
            m.queue_offset,
            result.queue_offset + i as i64,
            "consecutive offsets"
        );
        assert_eq!(m.body, format!("batch {i}").as_bytes());
        assert_eq!(m.msg_id, ids[i]);
        assert_eq!(m.keys, vec![format!("OrderID00{i}")]);
    }
    consumer.shutdown().await;
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_rules_are_checked_before_sending() {
    let tc = TestCluster::start().await;
    let topic = unique("BatchRules");
    let producer = Producer::builder(unique("batch_rules_pg"))
        .namesrv_addr(tc.namesrv())
        .max_message_size(1024)
        .start()
        .await
        .unwrap();
    let big: Vec<Message> = (0..3)
        .map(|_| Message::new(&topic, vec![b'x'; 400]))
        .collect();
    assert!(matches!(
        producer.send_batch(big).await,
        Err(ClientError::MessageTooLarge { max: 1024, .. })
    ));
    let mixed = vec![Message::new(&topic, "a"), Message::new("Other", "b")];
    assert!(matches!(
        producer.send_batch(mixed).await,
        Err(ClientError::InvalidArgument(_))
    ));
    let delayed = vec![Message::new(&topic, "a").with_delay_level(2)];
    assert!(matches!(
        producer.send_batch(delayed).await,
        Err(ClientError::InvalidArgument(_))
    ));
    assert!(matches!(
        producer.send_batch(Vec::new()).await,
        Err(ClientError::InvalidArgument(_))
    ));
}
