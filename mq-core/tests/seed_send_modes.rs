//! Seed 4.2 and 4.3: async sends complete through their callbacks, oneway sends arrive
//! without acknowledgement, and many sends share one connection concurrently.
#![allow(clippy::unwrap_used)]

mod client_support;

use std::collections::BTreeSet;
use std::time::Duration;

use client_support::{Collector, TestCluster, unique};
use mq_core::client::{Message, Producer, SendStatus};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_send_calls_back_once_per_message() {
    let tc = TestCluster::start().await;
    let topic = unique("AsyncSend");
    tc.create_topic(&topic, 4).await;
    let producer = Producer::builder(unique("async_pg"))
        .namesrv_addr(tc.namesrv())
        .start()
        .await
        .unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    for i in 0..20 {
        let tx = tx.clone();
        producer.send_async(Message::new(&topic, format!("async {i}")), move |result| {
            let _ = tx.send(result);
        });
    }
    drop(tx);
    let mut ids = BTreeSet::new();
    while let Some(result) = rx.recv().await {
        let result = result.unwrap();
        assert_eq!(result.status, SendStatus::SendOk);
        ids.insert(result.msg_id);
    }
    assert_eq!(ids.len(), 20);

    let collector = Collector::new();
    let consumer = tc
        .consumer(&unique("async_cg"))
        .subscribe(&topic, "*")
        .start(collector.clone())
        .await
        .unwrap();
    let got = collector.wait_for(20, Duration::from_secs(20)).await;
    let got_ids: BTreeSet<String> = got.into_iter().map(|m| m.msg_id).collect();
    assert_eq!(got_ids, ids);
    consumer.shutdown().await;
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oneway_sends_arrive() {
    let tc = TestCluster::start().await;
    let topic = unique("Oneway");
    tc.create_topic(&topic, 2).await;
    let producer = Producer::builder(unique("oneway_pg"))
        .namesrv_addr(tc.namesrv())
        .start()
        .await
        .unwrap();
    for i in 0..10 {
        producer
            .send_oneway(Message::new(&topic, format!("oneway {i}")))
            .await
            .unwrap();
    }
    let collector = Collector::new();
    let consumer = tc
        .consumer(&unique("oneway_cg"))
        .subscribe(&topic, "*")
        .start(collector.clone())
        .await
        .unwrap();
    let got = collector.wait_for(10, Duration::from_secs(20)).await;
    let bodies: BTreeSet<String> = got
        .iter()
        .map(|m| String::from_utf8(m.body.to_vec()).unwrap())
        .collect();
    assert_eq!(bodies, (0..10).map(|i| format!("oneway {i}")).collect());
    consumer.shutdown().await;
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_sends_from_clones_all_succeed() {
    let tc = TestCluster::start().await;
    let topic = unique("Concurrent");
    tc.create_topic(&topic, 4).await;
    let producer = Producer::builder(unique("concurrent_pg"))
        .namesrv_addr(tc.namesrv())
        .start()
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for t in 0..8 {
        let producer = producer.clone();
        let topic = topic.clone();
        tasks.push(tokio::spawn(async move {
            let sends = (0..50).map(|i| producer.send(Message::new(&topic, format!("{t}-{i}"))));
            futures::future::join_all(sends).await
        }));
    }
    let mut offsets = BTreeSet::new();
    for task in tasks {
        for result in task.await.unwrap() {
            let r = result.unwrap();
            assert!(
                offsets.insert((r.queue.queue_id, r.queue_offset)),
                "offset reused"
            );
        }
    }
    assert_eq!(offsets.len(), 400);
    producer.shutdown().await;
}
