//! Seed 3.4: consumer progress shows the broker offset, the committed offset and the lag per
//! queue; the lag falls to 0 once the consumer has caught up and committed.
#![allow(clippy::unwrap_used)]

mod client_support;

use std::time::Duration;

use client_support::{Collector, TestCluster, unique};
use mq_core::client::{Admin, Message};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lag_falls_to_zero_as_the_consumer_catches_up() {
    let tc = TestCluster::start().await;
    let topic = unique("Progress");
    let group = unique("progress_cg");
    tc.create_topic(&topic, 2).await;
    let admin = Admin::connect(tc.namesrv()).await.unwrap();

    // Register the group with a consumer that has not consumed anything yet... by starting
    // it after the sends with FirstOffset, the whole backlog is lag.
    let producer = tc.send_numbered(&topic, "m", 20).await;
    let status = admin.topic_status(&topic).await.unwrap();
    assert_eq!(status.len(), 2);
    assert_eq!(status.iter().map(|q| q.max - q.min).sum::<i64>(), 20);

    let collector = Collector::new();
    let consumer = tc
        .consumer(&group)
        .subscribe(&topic, "*")
        .start(collector.clone())
        .await
        .unwrap();
    collector.wait_for(20, Duration::from_secs(20)).await;

    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let progress = admin.consumer_progress(&group, Some(&topic)).await.unwrap();
        let lag: i64 = progress.iter().map(|q| q.lag).sum();
        let broker: i64 = progress.iter().map(|q| q.broker_offset).sum();
        if progress.len() == 2 && lag == 0 {
            assert_eq!(broker, 20);
            assert!(
                progress
                    .iter()
                    .all(|q| q.consumer_offset == q.broker_offset)
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "lag still {lag}: {progress:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // New messages while the consumer is stopped show up as lag again.
    consumer.shutdown().await;
    for i in 0..5 {
        producer
            .send(Message::new(&topic, format!("late{i}")))
            .await
            .unwrap();
    }
    let progress = admin.consumer_progress(&group, Some(&topic)).await.unwrap();
    assert_eq!(progress.iter().map(|q| q.lag).sum::<i64>(), 5);
}
