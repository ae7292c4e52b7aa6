//! Typed errors: invalid names and sizes are refused before anything is sent; an unreachable
//! or silent peer gives Connect or Timeout within the configured time.
#![allow(clippy::unwrap_used)]

mod client_support;

use std::time::{Duration, Instant};

use client_support::{TestCluster, unique};
use mq_core::client::{ClientError, Message, Producer, PushConsumer};

#[tokio::test]
async fn invalid_topics_and_sizes_are_refused_before_sending() {
    // No cluster needed: validation happens first.
    let producer = Producer::builder("errors_pg")
        .namesrv_addr("127.0.0.1:1")
        .max_message_size(1024)
        .start()
        .await
        .unwrap();
    for topic in ["", "has space", "dot.ted", &"t".repeat(128)] {
        let err = producer.send(Message::new(topic, "x")).await.unwrap_err();
        assert!(
            matches!(err, ClientError::InvalidArgument(_)),
            "{topic:?}: {err}"
        );
    }
    let err = producer
        .send(Message::new("T", vec![0u8; 1025]))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::MessageTooLarge {
                size: 1025,
                max: 1024
            }
        ),
        "{err}"
    );
    let err = producer.send(Message::new("T", "")).await.unwrap_err();
    assert!(matches!(err, ClientError::InvalidArgument(_)), "{err}");
    let err = producer
        .send(Message::new("SCHEDULE_TOPIC_XXXX", "x"))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::InvalidArgument(_)), "{err}");

    assert!(matches!(
        Producer::builder("bad group!").start().await,
        Err(ClientError::InvalidArgument(_))
    ));
    assert!(matches!(
        PushConsumer::builder("g")
            .subscribe("bad topic", "*")
            .start(client_support::Collector::new())
            .await,
        Err(ClientError::InvalidArgument(_))
    ));
    assert!(matches!(
        PushConsumer::builder("g")
            .start(client_support::Collector::new())
            .await,
        Err(ClientError::InvalidArgument(_))
    ));
}

#[tokio::test]
async fn a_refused_connection_is_a_connect_error() {
    let producer = Producer::builder("errors_pg2")
        .namesrv_addr("127.0.0.1:1")
        .start()
        .await
        .unwrap();
    let err = producer.send(Message::new("T", "x")).await.unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Connect { .. } | ClientError::NoRoute { .. }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn a_silent_peer_times_out_within_the_send_timeout() {
    // Accepts connections (the kernel's backlog does) but never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = silent.local_addr().unwrap().to_string();
    let producer = Producer::builder("errors_pg3")
        .namesrv_addr(&addr)
        .send_timeout(Duration::from_millis(500))
        .start()
        .await
        .unwrap();
    let start = Instant::now();
    let err = producer.send(Message::new("T", "x")).await.unwrap_err();
    // The route lookup is what times out here (the name server is the silent peer).
    assert!(matches!(err, ClientError::Timeout), "{err}");
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    drop(silent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_broker_refusal_is_a_typed_broker_error() {
    let tc = TestCluster::start().await;
    let producer = Producer::builder(unique("errors_pg4"))
        .namesrv_addr(tc.namesrv())
        .send_timeout(Duration::from_secs(3))
        .start()
        .await
        .unwrap();
    // Above the broker's 4 MiB limit but allowed by this producer: the broker refuses it
    // with MESSAGE_ILLEGAL (13), which is not retried.
    let topic = unique("Refused");
    tc.create_topic(&topic, 1).await;
    let big = Producer::builder(unique("errors_pg5"))
        .namesrv_addr(tc.namesrv())
        .max_message_size(8 * 1024 * 1024)
        // Raw, so the broker sees all 5 MiB (compressed, this body would fit).
        .compress_over(0)
        .start()
        .await
        .unwrap();
    let err = big
        .send(Message::new(&topic, vec![b'x'; 5 * 1024 * 1024]))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Broker { code: 13, .. }), "{err}");
    // The connection is still usable afterwards.
    producer.send(Message::new(&topic, "small")).await.unwrap();
}
