//! Send (V1, V2, batch) and pull against an in-process broker with raw frames: messages come
//! back in order with dense offsets, in RocketMQ's stored layout; long polling answers a held
//! pull within milliseconds of a send; tag filters apply on the broker.
#![allow(clippy::unwrap_used)]

mod broker_common;

use std::time::{Duration, Instant};

use broker_common::*;
use mq_core::cluster::LocalCluster;
use mq_core::protocol::ResponseCode;
use mq_core::protocol::msg_id::decode_offset_msg_id;

#[tokio::test]
async fn single_v2_and_batch_sends_pull_back_in_order() {
    init_logs();
    let dir = tempfile::tempdir().unwrap();
    let cluster = LocalCluster::start(dir.path()).await.unwrap();
    let client = Client::connect(cluster.broker_addr()).await;

    let r = client
        .call(send_v1("OrderT", 1, b"m0", "TAGS\u{1}a\u{2}KEYS\u{1}k0"))
        .await;
    assert_eq!(r.code, ResponseCode::SUCCESS, "{r:?}");
    assert_eq!((ext_i64(&r, "queueId"), ext_i64(&r, "queueOffset")), (1, 0));
    let (host, _) = decode_offset_msg_id(r.ext("msgId").unwrap()).unwrap();
    assert_eq!(
        host,
        cluster.broker_addr(),
        "msgId carries the advertised address"
    );
    assert_eq!(r.ext("MSG_REGION"), Some("DefaultRegion"));

    let r = client.call(send_v2("OrderT", 1, b"m1", "TAGS\u{1}b")).await;
    assert_eq!(
        (r.code, ext_i64(&r, "queueOffset")),
        (ResponseCode::SUCCESS, 1)
    );

    let r = client
        .call(send_batch("OrderT", 1, &[b"m2", b"m3", b"m4"]))
        .await;
    assert_eq!(r.code, ResponseCode::SUCCESS, "{r:?}");
    assert_eq!(ext_i64(&r, "queueOffset"), 2);
    assert_eq!(r.ext("msgId").unwrap().split(',').count(), 3);

    let r = client.call(pull("g", "OrderT", 1, 0, "*", 0)).await;
    assert_eq!(r.code, ResponseCode::SUCCESS, "{r:?}");
    let got = messages(&r);
    let bodies: Vec<&[u8]> = got.iter().map(|m| &m.body[..]).collect();
    assert_eq!(bodies, vec![&b"m0"[..], b"m1", b"m2", b"m3", b"m4"]);
    let offsets: Vec<i64> = got.iter().map(|m| m.queue_offset).collect();
    assert_eq!(offsets, vec![0, 1, 2, 3, 4]);
    assert!(got.iter().all(|m| m.topic == "OrderT" && m.queue_id == 1));
    assert_eq!(got[0].property("KEYS"), Some("k0"));
    assert_eq!(got[0].property("CLUSTER"), Some("DefaultCluster"));
    assert_eq!(
        got[2].property("UNIQ_KEY"),
        Some(format!("BATCH{:027}", 0).as_str())
    );
    assert_eq!(
        got[2].property("WAIT"),
        Some("true"),
        "batch-level properties are kept"
    );
    assert_eq!(ext_i64(&r, "nextBeginOffset"), 5);
    assert_eq!((ext_i64(&r, "minOffset"), ext_i64(&r, "maxOffset")), (0, 5));
    assert_eq!(ext_i64(&r, "suggestWhichBrokerId"), 0);

    // At the end: nothing new; beyond it: offset moved.
    let r = client.call(pull("g", "OrderT", 1, 5, "*", 0)).await;
    assert_eq!(
        (r.code, ext_i64(&r, "nextBeginOffset")),
        (ResponseCode::PULL_NOT_FOUND, 5)
    );
    let r = client.call(pull("g", "OrderT", 1, 9, "*", 0)).await;
    assert_eq!(r.code, ResponseCode::PULL_OFFSET_MOVED);

    cluster.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_held_pull_is_answered_within_milliseconds_of_a_send() {
    init_logs();
    let dir = tempfile::tempdir().unwrap();
    let cluster = LocalCluster::start(dir.path()).await.unwrap();
    let consumer = Client::connect(cluster.broker_addr()).await;
    let producer = Client::connect(cluster.broker_addr()).await;
    // Create the topic so the pull is accepted, then pull at the end of queue 0.
    let r = producer
        .call(send_v2("LongPoll", 1, b"other queue", ""))
        .await;
    assert_eq!(r.code, ResponseCode::SUCCESS);

    let held = tokio::spawn(async move {
        let r = consumer
            .call(pull("g", "LongPoll", 0, 0, "*", 15_000))
            .await;
        (r, Instant::now())
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !held.is_finished(),
        "an empty pull with the suspend flag is held"
    );
    let sent_at = Instant::now();
    let r = producer.call(send_v2("LongPoll", 0, b"wake up", "")).await;
    assert_eq!(r.code, ResponseCode::SUCCESS);
    let (r, answered_at) = held.await.unwrap();
    let latency = answered_at.duration_since(sent_at);
    assert_eq!(r.code, ResponseCode::SUCCESS, "{r:?}");
    assert_eq!(&messages(&r)[0].body[..], b"wake up");
    assert!(
        latency < Duration::from_millis(100),
        "delivered after {latency:?}"
    );
    cluster.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_idle_held_pull_times_out_with_pull_not_found_and_sends_pass_it() {
    init_logs();
    let dir = tempfile::tempdir().unwrap();
    let cluster = LocalCluster::builder()
        .long_poll_timeout(Duration::from_millis(700))
        .start(dir.path())
        .await
        .unwrap();
    let client = std::sync::Arc::new(Client::connect(cluster.broker_addr()).await);
    let r = client.call(send_v2("Idle", 1, b"x", "")).await;
    assert_eq!(r.code, ResponseCode::SUCCESS);

    let c = std::sync::Arc::clone(&client);
    let started = Instant::now();
    let held = tokio::spawn(async move { c.call(pull("g", "Idle", 0, 0, "*", 15_000)).await });
    // A send on the same connection is not stuck behind the held pull.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let send_started = Instant::now();
    let r = client.call(send_v2("Idle", 2, b"y", "")).await;
    assert_eq!(r.code, ResponseCode::SUCCESS);
    assert!(send_started.elapsed() < Duration::from_millis(500));
    assert!(!held.is_finished());

    let r = held.await.unwrap();
    let waited = started.elapsed();
    assert_eq!(r.code, ResponseCode::PULL_NOT_FOUND, "{r:?}");
    assert_eq!(ext_i64(&r, "nextBeginOffset"), 0);
    assert!(
        waited >= Duration::from_millis(650),
        "answered after {waited:?}"
    );
    assert!(waited < Duration::from_secs(5), "answered after {waited:?}");
    cluster.shutdown().await.unwrap();
}

#[tokio::test]
async fn tag_filter_applies_on_the_broker_and_while_holding() {
    init_logs();
    let dir = tempfile::tempdir().unwrap();
    let cluster = LocalCluster::start(dir.path()).await.unwrap();
    let client = std::sync::Arc::new(Client::connect(cluster.broker_addr()).await);
    for (i, tag) in ["a", "b", "c", "a", "b"].iter().enumerate() {
        let r = client
            .call(send_v2(
                "Tags",
                0,
                format!("{tag}{i}").as_bytes(),
                &format!("TAGS\u{1}{tag}"),
            ))
            .await;
        assert_eq!(r.code, ResponseCode::SUCCESS);
    }
    let r = client.call(pull("g", "Tags", 0, 0, "a || c", 0)).await;
    assert_eq!(r.code, ResponseCode::SUCCESS);
    let bodies: Vec<String> = messages(&r)
        .iter()
        .map(|m| String::from_utf8(m.body.to_vec()).unwrap())
        .collect();
    assert_eq!(bodies, vec!["a0", "c2", "a3"]);
    assert_eq!(
        ext_i64(&r, "nextBeginOffset"),
        5,
        "non-matching tail skipped"
    );

    // Nothing matching after offset 4: PULL_RETRY_IMMEDIATELY with the offset moved on.
    let r = client.call(pull("g", "Tags", 0, 4, "c", 0)).await;
    assert_eq!(
        (r.code, ext_i64(&r, "nextBeginOffset")),
        (ResponseCode::PULL_RETRY_IMMEDIATELY, 5)
    );

    // A held pull ignores a non-matching arrival and wakes for the matching one.
    let c = std::sync::Arc::clone(&client);
    let held = tokio::spawn(async move { c.call(pull("g", "Tags", 0, 5, "c", 10_000)).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    client.call(send_v2("Tags", 0, b"b5", "TAGS\u{1}b")).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !held.is_finished(),
        "a non-matching message does not answer the pull"
    );
    client.call(send_v2("Tags", 0, b"c6", "TAGS\u{1}c")).await;
    let r = held.await.unwrap();
    assert_eq!(r.code, ResponseCode::SUCCESS);
    let got = messages(&r);
    assert_eq!(
        (got.len(), &got[0].body[..], got[0].queue_offset),
        (1, &b"c6"[..], 6)
    );
    assert_eq!(ext_i64(&r, "nextBeginOffset"), 7);
    cluster.shutdown().await.unwrap();
}

#[tokio::test]
async fn pipelined_requests_beyond_the_in_flight_limit_are_all_answered() {
    init_logs();
    let dir = tempfile::tempdir().unwrap();
    let cluster = LocalCluster::builder()
        .configure(|c| c.max_inflight_per_connection = 4)
        .start(dir.path())
        .await
        .unwrap();
    let client = std::sync::Arc::new(Client::connect(cluster.broker_addr()).await);
    let calls = (0..200).map(|i| {
        let c = std::sync::Arc::clone(&client);
        tokio::spawn(async move {
            c.call(send_v2("Pipe", 0, format!("{i}").as_bytes(), ""))
                .await
        })
    });
    let mut offsets = Vec::new();
    for call in calls {
        let r = call.await.unwrap();
        assert_eq!(r.code, ResponseCode::SUCCESS);
        offsets.push(ext_i64(&r, "queueOffset"));
    }
    offsets.sort_unstable();
    assert_eq!(
        offsets,
        (0..200).collect::<Vec<i64>>(),
        "every send stored once"
    );
    cluster.shutdown().await.unwrap();
}
