//! Clustering across instances: two instances split a topic's queues and each message is
//! processed once; when one dies (sockets gone, no goodbye), the other takes its queues within
//! seconds and nothing is left unprocessed.
#![allow(clippy::unwrap_used)]

mod client_support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use client_support::{Collector, TestCluster, unique};
use mq_core::client::{Message, Producer, PushConsumer};

async fn wait_for_split(a: &PushConsumer, b: &PushConsumer, topic: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let qa: Vec<_> = a
            .assigned_queues()
            .into_iter()
            .filter(|q| q.topic == topic)
            .collect();
        let qb: Vec<_> = b
            .assigned_queues()
            .into_iter()
            .filter(|q| q.topic == topic)
            .collect();
        let union: BTreeSet<_> = qa.iter().chain(qb.iter()).collect();
        if qa.len() == 2 && qb.len() == 2 && union.len() == 4 {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no 2/2 split: {qa:?} {qb:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_split_the_queues_and_survive_one_dying() {
    let tc = TestCluster::start().await;
    let topic = unique("Rebalance");
    let group = unique("rebalance_cg");
    tc.create_topic(&topic, 4).await;
    let ca = Collector::new();
    let cb = Collector::new();
    let a = tc
        .consumer(&group)
        .subscribe(&topic, "*")
        .start(ca.clone())
        .await
        .unwrap();
    let b = tc
        .consumer(&group)
        .subscribe(&topic, "*")
        .start(cb.clone())
        .await
        .unwrap();
    assert_ne!(a.client_id(), b.client_id());
    wait_for_split(&a, &b, &topic).await;

    let producer = Producer::builder(unique("rebalance_pg"))
        .namesrv_addr(tc.namesrv())
        .start()
        .await
        .unwrap();
    for i in 0..40 {
        producer
            .send(Message::new(&topic, format!("first {i}")))
            .await
            .unwrap();
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while ca.len() + cb.len() < 40 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} + {} of 40",
            ca.len(),
            cb.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for m in ca.messages().iter().chain(cb.messages().iter()) {
        *seen
            .entry(String::from_utf8(m.body.to_vec()).unwrap())
            .or_default() += 1;
    }
    assert_eq!(seen.len(), 40);
    assert!(
        seen.values().all(|&n| n == 1),
        "exactly once while both live: {seen:?}"
    );
    assert!(
        ca.len() > 0 && cb.len() > 0,
        "both instances work: {} / {}",
        ca.len(),
        cb.len()
    );

    // B dies: no shutdown, its sockets just close.
    drop(b);
    let start = tokio::time::Instant::now();
    loop {
        let owned = a
            .assigned_queues()
            .into_iter()
            .filter(|q| q.topic == topic)
            .count();
        if owned == 4 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "takeover took too long: {owned} queues"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for i in 0..40 {
        producer
            .send(Message::new(&topic, format!("second {i}")))
            .await
            .unwrap();
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let bodies: BTreeSet<String> = ca
            .messages()
            .iter()
            .map(|m| String::from_utf8(m.body.to_vec()).unwrap())
            .filter(|b| b.starts_with("second"))
            .collect();
        if bodies.len() == 40 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "A has {} of the 40 later messages",
            bodies.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    a.shutdown().await;
}
