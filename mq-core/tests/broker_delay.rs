//! Delayed messages: a level-2 message (2 s with shortened levels) arrives no earlier than
//! 2 s after it was sent and promptly after that, in its real topic and queue; pending
//! delayed messages survive a graceful restart and a kill -9, and none is delivered twice.
#![allow(clippy::unwrap_used)]

mod broker_common;

use std::time::{Duration, Instant};

use broker_common::*;
use mq_core::cluster::{LocalCluster, ProcessCluster};
use mq_core::protocol::ResponseCode;
use mq_core::protocol::message::StoredMessage;

const LEVELS: &str = "1s 2s 3s";

/// Every message of the queue from offset 0.
async fn all(client: &Client, topic: &str, queue: i32) -> Vec<StoredMessage> {
    let r = client.call(pull("check", topic, queue, 0, "*", 0)).await;
    if r.code == ResponseCode::SUCCESS {
        messages(&r)
    } else {
        Vec::new()
    }
}

#[tokio::test]
async fn level_two_arrives_after_two_seconds_not_before() {
    init_logs();
    let dir = tempfile::tempdir().unwrap();
    let cluster = LocalCluster::builder()
        .delay_levels(LEVELS)
        .start(dir.path())
        .await
        .unwrap();
    let client = std::sync::Arc::new(Client::connect(cluster.broker_addr()).await);
    // Create the topic first so the pull below can wait on it.
    client.call(send_v2("Later", 0, b"plain", "")).await;

    let c = std::sync::Arc::clone(&client);
    let held = tokio::spawn(async move {
        let r = c.call(pull("g", "Later", 1, 0, "*", 10_000)).await;
        (r, Instant::now())
    });
    let sent = Instant::now();
    let r = client
        .call(send_v2(
            "Later",
            1,
            b"delayed",
            "DELAY\u{1}2\u{2}TAGS\u{1}t",
        ))
        .await;
    assert_eq!(r.code, ResponseCode::SUCCESS, "{r:?}");
    let (r, arrived) = held.await.unwrap();
    assert_eq!(r.code, ResponseCode::SUCCESS, "{r:?}");
    let waited = arrived.duration_since(sent);
    assert!(
        waited >= Duration::from_secs(2),
        "delivered early, after {waited:?}"
    );
    assert!(
        waited < Duration::from_millis(3500),
        "delivered late, after {waited:?}"
    );
    let got = messages(&r);
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert_eq!(
        (m.topic.as_str(), m.queue_id, &m.body[..]),
        ("Later", 1, &b"delayed"[..])
    );
    assert_eq!(m.property("REAL_TOPIC"), Some("Later"));
    assert_eq!(m.property("REAL_QID"), Some("1"));
    assert_eq!(m.property("TAGS"), Some("t"));
    assert_eq!(m.property("DELAY"), None);

    // A level beyond the table waits the longest level (3 s).
    let sent = Instant::now();
    client
        .call(send_v2("Later", 2, b"clamped", "DELAY\u{1}99"))
        .await;
    let c = std::sync::Arc::clone(&client);
    let r = c.call(pull("g", "Later", 2, 0, "*", 10_000)).await;
    assert_eq!(r.code, ResponseCode::SUCCESS);
    assert!(sent.elapsed() >= Duration::from_secs(3));
    cluster.shutdown().await.unwrap();
}

#[tokio::test]
async fn pending_delays_survive_a_restart_and_none_arrives_twice() {
    init_logs();
    let dir = tempfile::tempdir().unwrap();
    let mut cluster = LocalCluster::builder()
        .delay_levels(LEVELS)
        .start(dir.path())
        .await
        .unwrap();
    let client = Client::connect(cluster.broker_addr()).await;
    // One delivered before the restart, one still pending across it.
    client
        .call(send_v2("Restart", 0, b"early", "DELAY\u{1}1"))
        .await;
    let sent_late = Instant::now();
    client
        .call(send_v2("Restart", 0, b"late", "DELAY\u{1}3"))
        .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before: Vec<_> = all(&client, "Restart", 0).await;
    assert_eq!(before.len(), 1, "the 1 s message was delivered");
    drop(client);

    cluster.restart_broker().await.unwrap();
    let client = Client::connect(cluster.broker_addr()).await;
    let r = client.call(pull("g", "Restart", 0, 1, "*", 10_000)).await;
    assert_eq!(r.code, ResponseCode::SUCCESS, "{r:?}");
    assert!(sent_late.elapsed() >= Duration::from_secs(3));
    assert_eq!(&messages(&r)[0].body[..], b"late");
    // Give a duplicate every chance to show up.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let bodies: Vec<Vec<u8>> = all(&client, "Restart", 0)
        .await
        .iter()
        .map(|m| m.body.to_vec())
        .collect();
    assert_eq!(bodies, vec![b"early".to_vec(), b"late".to_vec()]);
    cluster.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_delays_survive_kill_9() {
    init_logs();
    let dir = tempfile::tempdir().unwrap();
    let mut cluster = ProcessCluster::builder()
        .delay_levels(LEVELS)
        .flush_disk_type(mq_core::store::FlushDiskType::SyncFlush)
        .start_processes(env!("CARGO_BIN_EXE_mq-broker"), dir.path())
        .await
        .unwrap();
    let client = Client::connect(cluster.broker_addr()).await;
    client
        .call(send_v2("Killed", 0, b"first", "DELAY\u{1}1"))
        .await;
    tokio::time::sleep(Duration::from_millis(1600)).await;
    assert_eq!(all(&client, "Killed", 0).await.len(), 1);
    let sent = Instant::now();
    client
        .call(send_v2("Killed", 0, b"second", "DELAY\u{1}2"))
        .await;
    drop(client);
    cluster.kill_broker().await.unwrap();

    cluster.start_broker().await.unwrap();
    let client = Client::connect(cluster.broker_addr()).await;
    let r = client.call(pull("g", "Killed", 0, 1, "*", 10_000)).await;
    assert_eq!(r.code, ResponseCode::SUCCESS, "{r:?}");
    assert_eq!(&messages(&r)[0].body[..], b"second");
    assert!(sent.elapsed() >= Duration::from_secs(2));
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let bodies: Vec<Vec<u8>> = all(&client, "Killed", 0)
        .await
        .iter()
        .map(|m| m.body.to_vec())
        .collect();
    assert_eq!(
        bodies,
        vec![b"first".to_vec(), b"second".to_vec()],
        "none twice"
    );
    drop(client);
    cluster.shutdown().await.unwrap();
}
