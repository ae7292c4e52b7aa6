//! Retry and dead letters (seed 7): a failing message comes back through `%RETRY%<group>` with
//! `reconsume_times` 0, 1, 2, then lands in `%DLQ%<group>`; resending it delivers it again.
//! Panics count as failures. Delayed messages wait for their level.
#![allow(clippy::unwrap_used)]

mod client_support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use client_support::{Collector, TestCluster, unique};
use mq_core::client::{Admin, ConsumeResult, Message, MessageExt, Producer, listener_fn};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_deliveries_then_the_dlq_then_resend() {
    let tc = TestCluster::start_with_delays("1s 1s 1s 1s 1s").await;
    let topic = unique("Retry");
    let group = unique("retry_cg");
    tc.create_topic(&topic, 2).await;
    let deliveries: Arc<Mutex<Vec<MessageExt>>> = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&deliveries);
    let fail_until_resent = listener_fn(move |msgs: Vec<MessageExt>| {
        let seen = Arc::clone(&seen);
        async move {
            // The first three deliveries fail; the one after the resend succeeds.
            let resent = seen.lock().unwrap().len() >= 3;
            seen.lock().unwrap().extend(msgs.clone());
            if resent {
                return ConsumeResult::Success;
            }
            // Alternate the two failure kinds: an explicit verdict and a panic.
            if seen.lock().unwrap().len() % 2 == 0 {
                panic!("listener failure injected by the test");
            }
            ConsumeResult::ReconsumeLater
        }
    });
    let consumer = tc
        .consumer(&group)
        .subscribe(&topic, "*")
        .max_reconsume_times(2)
        .start(fail_until_resent)
        .await
        .unwrap();
    let producer = Producer::builder(unique("retry_pg"))
        .namesrv_addr(tc.namesrv())
        .start()
        .await
        .unwrap();
    let sent = producer
        .send(
            Message::new(&topic, "doomed")
                .with_tag("TagR")
                .with_key("K-doomed"),
        )
        .await
        .unwrap();

    let deadline = Instant::now() + Duration::from_secs(40);
    while deliveries.lock().unwrap().len() < 3 {
        assert!(
            Instant::now() < deadline,
            "{:?}",
            deliveries.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let admin = Admin::connect(tc.namesrv()).await.unwrap();
    let mut dead = Vec::new();
    while dead.is_empty() {
        assert!(Instant::now() < deadline, "nothing reached the DLQ");
        dead = admin.dlq_messages(&group, 10).await.unwrap_or_default();
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // No fourth delivery: the third failure went to the DLQ.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let got = deliveries.lock().unwrap().clone();
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(
        got.iter().map(|m| m.reconsume_times).collect::<Vec<_>>(),
        vec![0, 1, 2]
    );
    for m in &got {
        assert_eq!(
            m.topic, topic,
            "the original topic is restored for the listener"
        );
        assert_eq!(m.body, "doomed".as_bytes());
        assert_eq!(m.tag.as_deref(), Some("TagR"));
    }
    assert_eq!(got[0].msg_id, sent.msg_id);
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].body, "doomed".as_bytes());

    // Resend: it comes back once more and succeeds.
    let resent = admin.resend_dlq(&group, &[]).await.unwrap();
    assert_eq!(resent.len(), 1);
    while deliveries.lock().unwrap().len() < 4 {
        assert!(
            Instant::now() < deadline + Duration::from_secs(20),
            "resent message never came back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let again = deliveries.lock().unwrap()[3].clone();
    assert_eq!(again.body, "doomed".as_bytes());
    assert_eq!(again.topic, topic);
    consumer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delayed_message_waits_for_its_level() {
    let tc = TestCluster::start_with_delays("1s 2s 1s").await;
    let topic = unique("Delay");
    tc.create_topic(&topic, 2).await;
    let collector = Collector::new();
    let consumer = tc
        .consumer(&unique("delay_cg"))
        .subscribe(&topic, "*")
        .start(collector.clone())
        .await
        .unwrap();
    let producer = Producer::builder(unique("delay_pg"))
        .namesrv_addr(tc.namesrv())
        .start()
        .await
        .unwrap();
    let start = Instant::now();
    producer
        .send(Message::new(&topic, "later").with_delay_level(2))
        .await
        .unwrap();
    producer.send(Message::new(&topic, "now")).await.unwrap();
    let first = collector.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(first[0].body, "now".as_bytes());
    let both = collector.wait_for(2, Duration::from_secs(10)).await;
    assert_eq!(both[1].body, "later".as_bytes());
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_secs(2),
        "delivered early: {waited:?}"
    );
    assert!(
        waited < Duration::from_secs(5),
        "delivered late: {waited:?}"
    );
    consumer.shutdown().await;
}
