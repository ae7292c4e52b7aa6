//! Seed 5.2-5.3: tag filtering. Group A subscribed to `vip` receives only vip messages;
//! group B subscribed to `vip || svip` receives both kinds and nothing else.
#![allow(clippy::unwrap_used)]

mod client_support;

use std::time::Duration;

use client_support::{Collector, TestCluster, unique};
use mq_core::client::{Message, Producer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_filter_by_tag() {
    let tc = TestCluster::start().await;
    let topic = unique("Tags");
    tc.create_topic(&topic, 4).await;
    let producer = Producer::builder(unique("tags_pg"))
        .namesrv_addr(tc.namesrv())
        .start()
        .await
        .unwrap();
    for (i, tag) in ["vip", "svip", "normal", "vip", "svip", "normal"]
        .iter()
        .enumerate()
    {
        producer
            .send(Message::new(&topic, format!("{tag} {i}")).with_tag(*tag))
            .await
            .unwrap();
    }
    // An untagged message matches only `*`.
    producer
        .send(Message::new(&topic, "untagged"))
        .await
        .unwrap();

    let a = Collector::new();
    let b = Collector::new();
    let all = Collector::new();
    let ca = tc
        .consumer(&unique("group_a"))
        .subscribe(&topic, "vip")
        .start(a.clone())
        .await
        .unwrap();
    let cb = tc
        .consumer(&unique("group_b"))
        .subscribe(&topic, "vip || svip")
        .start(b.clone())
        .await
        .unwrap();
    let call = tc
        .consumer(&unique("group_all"))
        .subscribe(&topic, "*")
        .start(all.clone())
        .await
        .unwrap();

    all.wait_for(7, Duration::from_secs(20)).await;
    let got_a = a.wait_for(2, Duration::from_secs(20)).await;
    let got_b = b.wait_for(4, Duration::from_secs(20)).await;
    // Give stray deliveries a moment to show up before asserting their absence.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got_a = if a.len() > got_a.len() {
        a.messages()
    } else {
        got_a
    };
    let got_b = if b.len() > got_b.len() {
        b.messages()
    } else {
        got_b
    };
    assert_eq!(got_a.len(), 2);
    assert!(got_a.iter().all(|m| m.tag.as_deref() == Some("vip")));
    assert_eq!(got_b.len(), 4);
    assert!(
        got_b
            .iter()
            .all(|m| matches!(m.tag.as_deref(), Some("vip" | "svip")))
    );
    assert_eq!(all.len(), 7);
    for c in [ca, cb, call] {
        c.shutdown().await;
    }
}
