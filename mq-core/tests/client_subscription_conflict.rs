//! Two instances of one group with different subscriptions (seed 9 warns against it): each
//! notices the other's subscription within a few heartbeats, and the broker's per-client
//! subscriptions let the admin API and `mqadmin consumerConnection` name both instances —
//! with both on ONE broker, where the group's own table only holds the last heartbeat's.
#![allow(clippy::unwrap_used)]

mod client_support;

use std::time::Duration;

use client_support::{Collector, TestCluster, mqadmin_ok, unique};
use mq_core::client::Admin;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn differing_subscriptions_are_reported() {
    let tc = TestCluster::start().await;
    let topic = unique("Conflict");
    let group = unique("conflict_cg");
    tc.create_topic(&topic, 2).await;
    let consistent_group = unique("other_cg");
    let start = |group: &str, expr: &str| {
        tc.consumer(group)
            .subscribe(&topic, expr)
            .start(Collector::new())
    };
    let a = start(&group, "tagA").await.unwrap();
    let same = start(&consistent_group, "tagA").await.unwrap();
    let same_too = start(&consistent_group, "tagA").await.unwrap();
    let b = start(&group, "tagB").await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while a.subscription_conflict().is_none() && b.subscription_conflict().is_none() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no conflict reported"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let report = a
        .subscription_conflict()
        .or_else(|| b.subscription_conflict())
        .unwrap();
    assert!(report.contains(&topic), "{report}");
    assert!(
        same.subscription_conflict().is_none() && same_too.subscription_conflict().is_none(),
        "instances that subscribe alike never conflict"
    );

    let admin = Admin::connect(tc.namesrv()).await.unwrap();
    let info = admin.consumer_connection(&group).await.unwrap();
    assert_eq!(info.connections.len(), 2, "{info:?}");
    assert!(!info.subscriptions_consistent);
    let conflict = info.conflicts.iter().find(|c| c.topic == topic).unwrap();
    assert_eq!(conflict.expressions["tagA"], [a.client_id()]);
    assert_eq!(conflict.expressions["tagB"], [b.client_id()]);
    assert_eq!(info.conflicts.len(), 1, "the retry topic agrees: {info:?}");
    assert_eq!(
        info.subscriptions_by_client[b.client_id()][&topic].sub_string,
        "tagB"
    );
    let consistent = admin.consumer_connection(&consistent_group).await.unwrap();
    assert_eq!(consistent.connections.len(), 2, "{consistent:?}");
    assert!(consistent.conflicts.is_empty() && consistent.subscriptions_consistent);

    let ns = tc.namesrv();
    let json = mqadmin_ok(&ns, &["consumerConnection", "-g", &group]).await;
    let conflicts = json["conflicts"].as_array().unwrap();
    assert_eq!(conflicts.len(), 1, "{json}");
    assert_eq!(conflicts[0]["topic"], Value::from(topic.clone()));
    assert_eq!(conflicts[0]["expressions"]["tagA"][0], a.client_id());
    assert_eq!(conflicts[0]["expressions"]["tagB"][0], b.client_id());
    let by_client = &json["subscriptionsByClient"];
    assert_eq!(by_client[a.client_id()][&topic]["subString"], "tagA");
    assert_eq!(by_client[b.client_id()][&topic]["subString"], "tagB");
    let json = mqadmin_ok(&ns, &["consumerConnection", "-g", &consistent_group]).await;
    assert_eq!(json["conflicts"], Value::Array(Vec::new()), "{json}");
    for c in [a, b, same, same_too] {
        c.shutdown().await;
    }
}
