//! Broadcasting (seed 9.3): every instance of a broadcasting group gets every message, with its
//! own local offsets; a clustering group beside it gets each message once.
#![allow(clippy::unwrap_used)]

mod client_support;

use std::collections::BTreeSet;
use std::time::Duration;

use client_support::{Collector, TestCluster, unique};
use mq_core::client::MessageModel;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_broadcast_instance_gets_every_message() {
    let tc = TestCluster::start().await;
    let topic = unique("Broadcast");
    tc.create_topic(&topic, 4).await;
    let bgroup = unique("broadcast_cg");
    let offsets = tempfile::tempdir().unwrap();
    let b1 = Collector::new();
    let b2 = Collector::new();
    let c1 = Collector::new();
    let c2 = Collector::new();
    let broadcast = |c: &Collector| {
        tc.consumer(&bgroup)
            .subscribe(&topic, "*")
            .message_model(MessageModel::Broadcasting)
            .offset_store_dir(offsets.path())
            .start(c.clone())
    };
    let x1 = broadcast(&b1).await.unwrap();
    let x2 = broadcast(&b2).await.unwrap();
    let cgroup = unique("clustering_cg");
    let y1 = tc
        .consumer(&cgroup)
        .subscribe(&topic, "*")
        .start(c1.clone())
        .await
        .unwrap();
    let y2 = tc
        .consumer(&cgroup)
        .subscribe(&topic, "*")
        .start(c2.clone())
        .await
        .unwrap();
    // Both broadcast instances own all four queues.
    assert_eq!(x1.assigned_queues().len(), 4);
    assert_eq!(x2.assigned_queues().len(), 4);

    tc.send_numbered(&topic, "b", 20).await;
    let all: BTreeSet<String> = (0..20).map(|i| format!("b{i}")).collect();
    for c in [&b1, &b2] {
        let got: BTreeSet<String> = c
            .wait_for(20, Duration::from_secs(20))
            .await
            .iter()
            .map(|m| String::from_utf8(m.body.to_vec()).unwrap())
            .collect();
        assert_eq!(got, all);
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while c1.len() + c2.len() < 20 {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        c1.len() + c2.len(),
        20,
        "the clustering group gets each message once"
    );

    // Broadcast offsets are the instance's own: a file each under the offset dir.
    x1.shutdown().await;
    x2.shutdown().await;
    let files: Vec<_> = walk(offsets.path());
    assert_eq!(files.len(), 2, "{files:?}");
    y1.shutdown().await;
    y2.shutdown().await;
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    out
}
