//! Flow control: with a stuck listener the consumer stops pulling once a queue's local backlog
//! passes its threshold, and drains everything once the listener moves again.
#![allow(clippy::unwrap_used)]

mod client_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use client_support::{TestCluster, unique};
use mq_core::client::{ConsumeResult, Message, Producer, listener_fn};
use tokio::sync::Semaphore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_listener_bounds_the_local_backlog() {
    let tc = TestCluster::start().await;
    let topic = unique("Flow");
    tc.create_topic(&topic, 1).await;
    let gate = Arc::new(Semaphore::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let (g, d) = (Arc::clone(&gate), Arc::clone(&done));
    let consumer = tc
        .consumer(&unique("flow_cg"))
        .subscribe(&topic, "*")
        .consume_thread_max(1)
        .pull_batch_size(5)
        .pull_threshold_for_queue(10)
        .start(listener_fn(move |msgs| {
            let (g, d) = (Arc::clone(&g), Arc::clone(&d));
            async move {
                // Blocks until the test opens the gate.
                g.acquire().await.unwrap().forget();
                d.fetch_add(msgs.len(), Ordering::SeqCst);
                ConsumeResult::Success
            }
        }))
        .await
        .unwrap();
    let producer = Producer::builder(unique("flow_pg"))
        .namesrv_addr(tc.namesrv())
        .start()
        .await
        .unwrap();
    for i in 0..200 {
        producer
            .send(Message::new(&topic, format!("f{i}")))
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let held = consumer.backlog();
    // Below the threshold it pulls once more: at most threshold - 1 + one pull batch.
    assert!(held > 0 && held <= 14, "backlog {held}");
    gate.add_permits(1000);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while done.load(Ordering::SeqCst) < 200 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} of 200",
            done.load(Ordering::SeqCst)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(consumer.backlog(), 0);
    consumer.shutdown().await;
}
