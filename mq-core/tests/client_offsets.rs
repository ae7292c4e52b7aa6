//! Offsets (seed 10.1.3): a reset to the earliest time replays for a running consumer; a reset
//! to now skips the backlog; a new group can start from a timestamp.
#![allow(clippy::unwrap_used)]

mod client_support;

use std::time::Duration;

use client_support::{Collector, TestCluster, unique};
use mq_core::client::{Admin, ConsumeFrom, Message, Producer};

async fn send(producer: &Producer, topic: &str, prefix: &str, n: usize) {
    for i in 0..n {
        producer
            .send(Message::new(topic, format!("{prefix}{i}")))
            .await
            .unwrap();
    }
}

fn bodies(c: &Collector) -> Vec<String> {
    c.messages()
        .iter()
        .map(|m| String::from_utf8(m.body.to_vec()).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_to_earliest_replays_and_reset_to_now_skips_the_backlog() {
    let tc = TestCluster::start().await;
    let topic = unique("Reset");
    let group = unique("reset_cg");
    tc.create_topic(&topic, 2).await;
    let admin = Admin::connect(tc.namesrv()).await.unwrap();
    let producer = Producer::builder(unique("reset_pg"))
        .namesrv_addr(tc.namesrv())
        .start()
        .await
        .unwrap();

    let first = Collector::new();
    let consumer = tc
        .consumer(&group)
        .subscribe(&topic, "*")
        .start(first.clone())
        .await
        .unwrap();
    send(&producer, &topic, "a", 5).await;
    first.wait_for(5, Duration::from_secs(20)).await;

    // Running consumer: the reset reaches it and it replays from the start.
    let reset = admin
        .reset_offset_by_time(&group, &topic, 0, true)
        .await
        .unwrap();
    assert!(reset.consumers_notified);
    assert!(reset.offsets.iter().all(|(_, o)| *o == 0), "{reset:?}");
    first.wait_for(10, Duration::from_secs(20)).await;
    consumer.shutdown().await;

    // Stopped consumer with a backlog: reset to now, and only newer messages arrive.
    send(&producer, &topic, "backlog", 6).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
        + 1;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let reset = admin
        .reset_offset_by_time(&group, &topic, now, true)
        .await
        .unwrap();
    assert_eq!(reset.offsets.len(), 2);
    let progress = admin.consumer_progress(&group, Some(&topic)).await.unwrap();
    assert_eq!(
        progress.iter().map(|q| q.lag).sum::<i64>(),
        0,
        "{progress:?}"
    );

    let second = Collector::new();
    let consumer = tc
        .consumer(&group)
        .subscribe(&topic, "*")
        .start(second.clone())
        .await
        .unwrap();
    send(&producer, &topic, "fresh", 1).await;
    second.wait_for(1, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(bodies(&second), vec!["fresh0".to_owned()]);
    consumer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_group_can_start_from_a_timestamp() {
    let tc = TestCluster::start().await;
    let topic = unique("FromTime");
    tc.create_topic(&topic, 2).await;
    let producer = Producer::builder(unique("time_pg"))
        .namesrv_addr(tc.namesrv())
        .start()
        .await
        .unwrap();
    send(&producer, &topic, "old", 5).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let cut = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    tokio::time::sleep(Duration::from_millis(50)).await;
    send(&producer, &topic, "new", 5).await;

    let collector = Collector::new();
    let consumer = tc
        .consumer(&unique("time_cg"))
        .subscribe(&topic, "*")
        .consume_from(ConsumeFrom::Timestamp(cut))
        .start(collector.clone())
        .await
        .unwrap();
    collector.wait_for(5, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut got = bodies(&collector);
    got.sort();
    assert_eq!(got, (0..5).map(|i| format!("new{i}")).collect::<Vec<_>>());
    consumer.shutdown().await;
}
