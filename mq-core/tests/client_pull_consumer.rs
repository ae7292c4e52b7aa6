//! The pull consumer: explicit queues and offsets, tag filtering, committed offsets.
#![allow(clippy::unwrap_used)]

mod client_support;

use std::time::{Duration, Instant};

use client_support::{TestCluster, unique};
use mq_core::client::{Message, Producer, PullConsumer, PullStatus};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pulls_from_a_queue_and_offset_and_commits() {
    let tc = TestCluster::start().await;
    let topic = unique("Pull");
    tc.create_topic(&topic, 2).await;
    let producer = Producer::builder(unique("pull_pg"))
        .namesrv_addr(tc.namesrv())
        .start()
        .await
        .unwrap();
    let pull = PullConsumer::builder(unique("pull_cg"))
        .namesrv_addr(tc.namesrv())
        .start()
        .await
        .unwrap();
    let queues = pull.fetch_queues(&topic).await.unwrap();
    assert_eq!(queues.len(), 2);
    let mq = queues[1].clone();
    for i in 0..10 {
        let tag = if i % 2 == 0 { "even" } else { "odd" };
        producer
            .send_to_queue(
                Message::new(&topic, format!("m{i}")).with_tag(tag),
                mq.clone(),
            )
            .await
            .unwrap();
    }
    assert_eq!(pull.min_offset(&mq).await.unwrap(), 0);
    assert_eq!(pull.max_offset(&mq).await.unwrap(), 10);

    let all = pull.pull(&mq, "*", 3, 4).await.unwrap();
    assert_eq!(all.status, PullStatus::Found);
    let offsets: Vec<i64> = all.messages.iter().map(|m| m.queue_offset).collect();
    assert_eq!(offsets, vec![3, 4, 5, 6]);
    assert_eq!(all.next_begin_offset, 7);
    assert_eq!(all.messages[0].body, "m3".as_bytes());

    let odd = pull.pull(&mq, "odd", 0, 32).await.unwrap();
    assert!(odd.messages.iter().all(|m| m.tag.as_deref() == Some("odd")));
    assert_eq!(odd.messages.len(), 5);

    let empty = pull.pull(&mq, "*", 10, 32).await.unwrap();
    assert_eq!(empty.status, PullStatus::NoNewMsg);
    assert_eq!(empty.next_begin_offset, 10);

    // A long-polling pull returns as soon as a message arrives.
    let waiter = pull.pull_wait(&mq, "*", 10, 32, Duration::from_secs(10));
    let sender = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        producer
            .send_to_queue(Message::new(&topic, "late"), mq.clone())
            .await
            .unwrap();
    };
    let start = Instant::now();
    let (late, ()) = tokio::join!(waiter, sender);
    let late = late.unwrap();
    assert_eq!(late.status, PullStatus::Found);
    assert_eq!(late.messages[0].body, "late".as_bytes());
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );

    // No commit yet: -1, or 0 when the queue still starts at 0 (RocketMQ answers 0 then).
    assert!([-1, 0].contains(&pull.fetch_committed_offset(&mq).await.unwrap()));
    pull.commit_offset(&mq, 7).await.unwrap();
    assert_eq!(pull.fetch_committed_offset(&mq).await.unwrap(), 7);
}
