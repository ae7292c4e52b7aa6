//! Graceful shutdown: a listener call in progress finishes before `shutdown` returns, its
//! offset is committed, nothing is delivered afterwards, and the group has left the broker.
#![allow(clippy::unwrap_used)]

mod client_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use client_support::{TestCluster, unique};
use mq_core::client::{Admin, ClientError, ConsumeResult, Message, Producer, listener_fn};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_calls_in_progress_and_commits() {
    let tc = TestCluster::start().await;
    let topic = unique("Shutdown");
    let group = unique("shutdown_cg");
    tc.create_topic(&topic, 1).await;
    let started = Arc::new(AtomicUsize::new(0));
    let finished = Arc::new(AtomicUsize::new(0));
    let (s, f) = (Arc::clone(&started), Arc::clone(&finished));
    let consumer = tc
        .consumer(&group)
        .subscribe(&topic, "*")
        .consume_thread_max(1)
        .start(listener_fn(move |_msgs| {
            let (s, f) = (Arc::clone(&s), Arc::clone(&f));
            async move {
                s.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(500)).await;
                f.fetch_add(1, Ordering::SeqCst);
                ConsumeResult::Success
            }
        }))
        .await
        .unwrap();
    let producer = Producer::builder(unique("shutdown_pg"))
        .namesrv_addr(tc.namesrv())
        .start()
        .await
        .unwrap();
    for i in 0..10 {
        producer
            .send(Message::new(&topic, format!("s{i}")))
            .await
            .unwrap();
    }
    while started.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    consumer.shutdown().await;
    let done = finished.load(Ordering::SeqCst);
    assert!(
        done >= 1,
        "the call in progress finished before shutdown returned"
    );
    assert_eq!(
        started.load(Ordering::SeqCst),
        done,
        "no call was left half-way"
    );
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(
        started.load(Ordering::SeqCst),
        done,
        "nothing delivered after shutdown"
    );

    let admin = Admin::connect(tc.namesrv()).await.unwrap();
    let progress = admin.consumer_progress(&group, Some(&topic)).await.unwrap();
    let committed: i64 = progress.iter().map(|q| q.consumer_offset).sum();
    assert_eq!(
        committed, done as i64,
        "exactly the finished messages are committed"
    );
    let connection = admin.consumer_connection(&group).await;
    assert!(
        matches!(connection, Err(ClientError::Broker { code: 206, .. })),
        "the group left the broker: {connection:?}"
    );

    producer.shutdown().await;
    assert!(matches!(
        producer.send(Message::new(&topic, "late")).await,
        Err(ClientError::Shutdown)
    ));
}
