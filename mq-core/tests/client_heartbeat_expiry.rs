//! An instance that hangs (its socket stays open, its heartbeats stop) loses its queues once
//! the broker expires it, and the live instance then consumes what was sent to them.
#![allow(clippy::unwrap_used)]

mod client_support;

use std::collections::BTreeSet;
use std::time::Duration;

use client_support::{Collector, TestCluster, unique};
use mq_core::client::connection::Connection;
use mq_core::cluster::LocalCluster;
use mq_core::protocol::body::heartbeat::{ConsumerData, HeartbeatData, SubscriptionData};
use mq_core::protocol::{JsonBody, RemotingCommand};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_instance_is_expired_and_its_queues_taken_over() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = LocalCluster::builder()
        .configure(|c| {
            c.channel_expiry = Duration::from_secs(2);
            c.channel_scan_interval = Duration::from_millis(200);
        })
        .start(dir.path())
        .await
        .unwrap();
    let tc = TestCluster { cluster, dir };
    let topic = unique("Expiry");
    let group = unique("expiry_cg");
    tc.create_topic(&topic, 4).await;

    // The hung instance: one heartbeat with a client id that sorts first, then silence.
    let hung = Connection::connect(
        &tc.cluster.broker_addr().to_string(),
        Duration::from_secs(1),
        None,
    )
    .await
    .unwrap();
    let heartbeat = HeartbeatData {
        client_id: "0.0.0.0@hung".into(),
        producer_data_set: Vec::new(),
        consumer_data_set: vec![ConsumerData {
            group_name: group.clone(),
            subscription_data_set: vec![SubscriptionData {
                topic: topic.clone(),
                ..SubscriptionData::default()
            }],
            ..ConsumerData::default()
        }],
    };
    let request = RemotingCommand::request(34).with_body(heartbeat.to_json().unwrap());
    assert_eq!(
        hung.invoke(request, Duration::from_secs(2))
            .await
            .unwrap()
            .code,
        0
    );

    let collector = Collector::new();
    let live = tc
        .consumer(&group)
        .subscribe(&topic, "*")
        .start(collector.clone())
        .await
        .unwrap();
    let owned = |c: &mq_core::client::PushConsumer| {
        c.assigned_queues()
            .into_iter()
            .filter(|q| q.topic == topic)
            .count()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    // While the hung instance counts, the live one owns half of the queues.
    while owned(&live) != 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never split: {}",
            owned(&live)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tc.send_numbered(&topic, "e", 20).await;
    // After the expiry the live instance owns every queue and gets every message.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while owned(&live) != 4 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no takeover: {}",
            owned(&live)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let got: BTreeSet<String> = collector
        .wait_for(20, Duration::from_secs(20))
        .await
        .iter()
        .map(|m| String::from_utf8(m.body.to_vec()).unwrap())
        .collect();
    assert_eq!(got.len(), 20);
    assert!(
        !hung.is_closed(),
        "the hung instance's socket stayed open all along"
    );
    live.shutdown().await;
}
