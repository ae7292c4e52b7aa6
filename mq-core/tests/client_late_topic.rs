//! A consumer started before its topic exists starts consuming soon after the topic appears
//! (auto-created by the first send), without waiting for its 20 s / 30 s timers.
#![allow(clippy::unwrap_used)]

mod client_support;

use std::time::Duration;

use client_support::{Collector, TestCluster, unique};
use mq_core::client::{ConsumeFrom, Message, Producer, PushConsumer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_topic_created_after_the_consumer_is_picked_up() {
    let tc = TestCluster::start().await;
    let topic = unique("Late");
    let collector = Collector::new();
    // Default timers except the route poll: the topic's route is what must be noticed.
    let consumer = PushConsumer::builder(unique("late_cg"))
        .namesrv_addr(tc.namesrv())
        .subscribe(&topic, "*")
        .consume_from(ConsumeFrom::FirstOffset)
        .start(collector.clone())
        .await
        .unwrap();
    assert!(consumer.assigned_queues().iter().all(|q| q.topic != topic));
    let producer = Producer::builder(unique("late_pg"))
        .namesrv_addr(tc.namesrv())
        .start()
        .await
        .unwrap();
    // No topic yet: the producer sends on the auto-create route and the broker creates it.
    let first = producer.send(Message::new(&topic, "first")).await.unwrap();
    assert_eq!(first.queue.topic, topic);
    let got = collector.wait_for(1, Duration::from_secs(15)).await;
    assert_eq!(got[0].body, "first".as_bytes());
    consumer.shutdown().await;
}
