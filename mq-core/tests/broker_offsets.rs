//! Consumer offsets and queue offsets: commits (explicit and piggybacked on a pull) are
//! queried back and survive a broker restart; min/max offsets, search by time and the
//! earliest store time answer as RocketMQ does.
#![allow(clippy::unwrap_used)]

mod broker_common;

use broker_common::*;
use mq_core::cluster::LocalCluster;
use mq_core::protocol::{RemotingCommand, RequestCode, ResponseCode};

fn query_offset(group: &str, topic: &str, queue_id: i32) -> RemotingCommand {
    RemotingCommand::request(RequestCode::QUERY_CONSUMER_OFFSET)
        .with_ext("consumerGroup", group)
        .with_ext("topic", topic)
        .with_ext("queueId", queue_id.to_string())
}

fn update_offset(group: &str, topic: &str, queue_id: i32, offset: i64) -> RemotingCommand {
    RemotingCommand::request(RequestCode::UPDATE_CONSUMER_OFFSET)
        .with_ext("consumerGroup", group)
        .with_ext("topic", topic)
        .with_ext("queueId", queue_id.to_string())
        .with_ext("commitOffset", offset.to_string())
}

fn queue_request(code: i32, topic: &str, queue_id: i32) -> RemotingCommand {
    RemotingCommand::request(code)
        .with_ext("topic", topic)
        .with_ext("queueId", queue_id.to_string())
}

#[tokio::test]
async fn committed_offsets_survive_a_restart() {
    init_logs();
    let dir = tempfile::tempdir().unwrap();
    let mut cluster = LocalCluster::start(dir.path()).await.unwrap();
    let client = Client::connect(cluster.broker_addr()).await;
    for i in 0..10 {
        let r = client
            .call(send_v2("Off", 0, format!("m{i}").as_bytes(), ""))
            .await;
        assert_eq!(r.code, ResponseCode::SUCCESS);
    }
    // A group that never committed starts at 0 while the queue still begins at 0.
    let r = client.call(query_offset("fresh", "Off", 0)).await;
    assert_eq!((r.code, ext_i64(&r, "offset")), (ResponseCode::SUCCESS, 0));

    let r = client.call(update_offset("g1", "Off", 0, 7)).await;
    assert_eq!(r.code, ResponseCode::SUCCESS);
    // The commit piggybacked on a pull (sysFlag bit 0x1).
    let r = client.call(pull_committing("g2", "Off", 0, 4, 4)).await;
    assert_eq!(r.code, ResponseCode::SUCCESS);
    assert_eq!(messages(&r).len(), 6);
    for (group, want) in [("g1", 7), ("g2", 4)] {
        let r = client.call(query_offset(group, "Off", 0)).await;
        assert_eq!(
            (r.code, ext_i64(&r, "offset")),
            (ResponseCode::SUCCESS, want)
        );
    }
    drop(client);

    cluster.restart_broker().await.unwrap();
    let client = Client::connect(cluster.broker_addr()).await;
    for (group, want) in [("g1", 7), ("g2", 4)] {
        let r = client.call(query_offset(group, "Off", 0)).await;
        assert_eq!(
            (r.code, ext_i64(&r, "offset")),
            (ResponseCode::SUCCESS, want),
            "{group}"
        );
    }
    // And the messages are still there, offsets continuing densely.
    let r = client.call(send_v2("Off", 0, b"m10", "")).await;
    assert_eq!(ext_i64(&r, "queueOffset"), 10);
    let file =
        std::fs::read_to_string(cluster.store_dir().join("config/consumerOffset.json")).unwrap();
    assert!(file.contains("Off@g1"), "{file}");
    cluster.shutdown().await.unwrap();
}

#[tokio::test]
async fn queue_offsets_and_times() {
    init_logs();
    let dir = tempfile::tempdir().unwrap();
    let cluster = LocalCluster::start(dir.path()).await.unwrap();
    let client = Client::connect(cluster.broker_addr()).await;

    let r = client
        .call(queue_request(
            RequestCode::GET_EARLIEST_MSG_STORETIME,
            "Times",
            0,
        ))
        .await;
    assert_eq!(
        (r.code, ext_i64(&r, "timestamp")),
        (ResponseCode::SUCCESS, -1)
    );

    let before = now_ms();
    for i in 0..3 {
        client
            .call(send_v2("Times", 0, format!("a{i}").as_bytes(), ""))
            .await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let middle = now_ms();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    for i in 0..2 {
        client
            .call(send_v2("Times", 0, format!("b{i}").as_bytes(), ""))
            .await;
    }

    let r = client
        .call(queue_request(RequestCode::GET_MAX_OFFSET, "Times", 0))
        .await;
    assert_eq!(ext_i64(&r, "offset"), 5);
    let r = client
        .call(queue_request(RequestCode::GET_MIN_OFFSET, "Times", 0))
        .await;
    assert_eq!(ext_i64(&r, "offset"), 0);
    let r = client
        .call(queue_request(RequestCode::GET_MAX_OFFSET, "Times", 3))
        .await;
    assert_eq!(ext_i64(&r, "offset"), 0, "an empty queue");

    let search = |ts: i64| {
        queue_request(RequestCode::SEARCH_OFFSET_BY_TIMESTAMP, "Times", 0)
            .with_ext("timestamp", ts.to_string())
    };
    assert_eq!(ext_i64(&client.call(search(middle)).await, "offset"), 3);
    assert_eq!(
        ext_i64(&client.call(search(before - 1000)).await, "offset"),
        0
    );
    assert_eq!(
        ext_i64(&client.call(search(now_ms() + 60_000)).await, "offset"),
        5
    );

    let r = client
        .call(queue_request(
            RequestCode::GET_EARLIEST_MSG_STORETIME,
            "Times",
            0,
        ))
        .await;
    let earliest = ext_i64(&r, "timestamp");
    assert!(
        (before..middle).contains(&earliest),
        "{earliest} not in {before}..{middle}"
    );
    cluster.shutdown().await.unwrap();
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}
