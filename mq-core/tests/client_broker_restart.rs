//! A broker restart during a stream of sync sends: the producer reconnects and retries, every
//! acknowledged message is consumed afterwards (duplicates allowed, losses not), and the
//! consumer carries on from where it was instead of starting over.
#![allow(clippy::unwrap_used)]

mod client_support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use client_support::{Collector, TestCluster, unique};
use mq_core::client::{Message, Producer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_messages_survive_a_broker_restart() {
    let mut tc = TestCluster::start().await;
    let topic = unique("Restart");
    tc.create_topic(&topic, 4).await;
    let collector = Collector::new();
    let consumer = tc
        .consumer(&unique("restart_cg"))
        .subscribe(&topic, "*")
        .start(collector.clone())
        .await
        .unwrap();
    let producer = Producer::builder(unique("restart_pg"))
        .namesrv_addr(tc.namesrv())
        .start()
        .await
        .unwrap();

    let (acked_tx, mut acked_rx) = tokio::sync::mpsc::unbounded_channel();
    let sender = {
        let producer = producer.clone();
        let topic = topic.clone();
        tokio::spawn(async move {
            let mut failed = 0;
            for i in 0..400 {
                let body = format!("m{i}");
                match producer.send(Message::new(&topic, body.clone())).await {
                    Ok(_) => acked_tx.send(body).unwrap(),
                    Err(_) => failed += 1,
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            failed
        })
    };
    // Let part of the stream through, then restart the broker under it.
    while collector.len() < 100 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let before_restart = collector.len();
    tc.cluster.restart_broker().await.unwrap();
    let failed = sender.await.unwrap();

    let mut acked = BTreeSet::new();
    while let Ok(body) = acked_rx.try_recv() {
        acked.insert(body);
    }
    assert!(
        acked.len() >= 300,
        "most sends succeed around a restart: {} acked, {failed} failed",
        acked.len()
    );

    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let got: BTreeSet<String> = collector
            .messages()
            .iter()
            .map(|m| String::from_utf8(m.body.to_vec()).unwrap())
            .collect();
        let missing: Vec<_> = acked.difference(&got).collect();
        if missing.is_empty() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "lost {} acknowledged: {missing:?}",
            missing.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Carried on from its position: nothing was delivered more than twice, and the backlog
    // before the restart was not replayed wholesale.
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for m in collector.messages() {
        *counts
            .entry(String::from_utf8(m.body.to_vec()).unwrap())
            .or_default() += 1;
    }
    let duplicates: usize = counts.values().map(|c| c - 1).sum();
    assert!(counts.values().all(|&c| c <= 2), "{counts:?}");
    assert!(
        duplicates < before_restart,
        "{duplicates} duplicates of {before_restart} consumed before the restart"
    );
    consumer.shutdown().await;
    producer.shutdown().await;
}
