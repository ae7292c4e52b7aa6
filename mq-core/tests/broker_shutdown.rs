//! Graceful shutdown: held pulls are answered at once instead of hanging, in-flight sends
//! complete, the store closes cleanly (no `abort` marker) and everything persists.
#![allow(clippy::unwrap_used)]

mod broker_common;

use std::time::{Duration, Instant};

use broker_common::*;
use mq_core::cluster::LocalCluster;
use mq_core::protocol::ResponseCode;

#[tokio::test]
async fn shutdown_releases_held_pulls_and_closes_the_store_cleanly() {
    init_logs();
    let dir = tempfile::tempdir().unwrap();
    let mut cluster = LocalCluster::start(dir.path()).await.unwrap();
    let client = std::sync::Arc::new(Client::connect(cluster.broker_addr()).await);
    client.call(send_v2("Down", 1, b"x", "")).await;
    let held: Vec<_> = (0..3)
        .map(|_| {
            let c = std::sync::Arc::clone(&client);
            tokio::spawn(async move { c.try_call(pull("g", "Down", 0, 0, "*", 15_000)).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        cluster.store_dir().join("abort").exists(),
        "the store is open"
    );

    let started = Instant::now();
    cluster.stop_broker().await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "shutdown took {:?}",
        started.elapsed()
    );
    for h in held {
        let r = h
            .await
            .unwrap()
            .expect("a held pull must be answered, not dropped");
        assert_eq!(r.code, ResponseCode::PULL_NOT_FOUND);
    }
    assert!(
        !cluster.store_dir().join("abort").exists(),
        "clean-shutdown marker"
    );
    assert!(cluster.store_dir().join("config/topics.json").exists());

    cluster.restart_broker().await.unwrap();
    let client = Client::connect(cluster.broker_addr()).await;
    let r = client.call(pull("g", "Down", 1, 0, "*", 0)).await;
    assert_eq!(messages(&r).len(), 1);
    cluster.shutdown().await.unwrap();
}
