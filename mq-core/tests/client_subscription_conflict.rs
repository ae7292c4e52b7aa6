//! Two instances of one group with different subscriptions (seed 9 warns against it): each
//! notices the other's subscription within a few heartbeats.
#![allow(clippy::unwrap_used)]

mod client_support;

use std::time::Duration;

use client_support::{Collector, TestCluster, unique};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn differing_subscriptions_are_reported() {
    let tc = TestCluster::start().await;
    let topic = unique("Conflict");
    let group = unique("conflict_cg");
    tc.create_topic(&topic, 2).await;
    let a = tc
        .consumer(&group)
        .subscribe(&topic, "tagA")
        .start(Collector::new())
        .await
        .unwrap();
    let same = tc
        .consumer(&unique("other_cg"))
        .subscribe(&topic, "tagA")
        .start(Collector::new())
        .await
        .unwrap();
    let b = tc
        .consumer(&group)
        .subscribe(&topic, "tagB")
        .start(Collector::new())
        .await
        .unwrap();
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
        same.subscription_conflict().is_none(),
        "a group alone never conflicts"
    );
    for c in [a, b, same] {
        c.shutdown().await;
    }
}
