//! Retry and dead letters (CONSUMER_SEND_MSG_BACK), orderly-consumption locks
//! (LOCK_BATCH_MQ / UNLOCK_BATCH_MQ) and offset reset by time (INVOKE_BROKER_TO_RESET_OFFSET).
#![allow(clippy::unwrap_used)]

mod broker_common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use broker_common::*;
use mq_core::cluster::LocalCluster;
use mq_core::protocol::body::JsonBody;
use mq_core::protocol::body::admin::ResetOffsetBody;
use mq_core::protocol::body::consumer::{LockBatchRequestBody, LockBatchResponseBody};
use mq_core::protocol::header::consumer::ConsumerSendMsgBackRequestHeader;
use mq_core::protocol::message::StoredMessage;
use mq_core::protocol::{MessageQueue, RemotingCommand, RequestCode, ResponseCode};

fn send_back(msg: &StoredMessage, group: &str, delay_level: i32, max: i32) -> RemotingCommand {
    RemotingCommand::request_with_header(
        RequestCode::CONSUMER_SEND_MSG_BACK,
        &ConsumerSendMsgBackRequestHeader {
            offset: msg.commit_log_offset,
            group: group.into(),
            delay_level,
            origin_msg_id: Some("ORIGIN-ID".into()),
            origin_topic: Some("Work".into()),
            unit_mode: false,
            max_reconsume_times: Some(max),
            bname: None,
        },
    )
}

/// Waits (long polling) for the message at `offset` of the queue.
async fn next_at(client: &Client, topic: &str, offset: i64) -> (StoredMessage, Duration) {
    let started = Instant::now();
    let r = client.call(pull("G", topic, 0, offset, "*", 10_000)).await;
    assert_eq!(r.code, ResponseCode::SUCCESS, "{topic}@{offset}: {r:?}");
    (messages(&r).remove(0), started.elapsed())
}

#[tokio::test]
async fn failed_messages_are_retried_with_delay_then_dead_lettered() {
    init_logs();
    let dir = tempfile::tempdir().unwrap();
    let cluster = LocalCluster::builder()
        .delay_levels("1s 1s 1s 1s 1s 1s 1s 1s")
        .start(dir.path())
        .await
        .unwrap();
    let client = Client::connect(cluster.broker_addr()).await;
    client.call(heartbeat("c", "G", "Work")).await;
    let r = client
        .call(send_v2("Work", 0, b"job", "TAGS\u{1}t\u{2}KEYS\u{1}k"))
        .await;
    assert_eq!(r.code, ResponseCode::SUCCESS);
    let (original, _) = next_at(&client, "Work", 0).await;

    // First failure: to %RETRY%G with level 3 (1 s here), reconsumeTimes 1.
    let r = client.call(send_back(&original, "G", 0, 2)).await;
    assert_eq!(r.code, ResponseCode::SUCCESS, "{r:?}");
    let (retry1, waited) = next_at(&client, "%RETRY%G", 0).await;
    assert!(
        waited >= Duration::from_millis(900),
        "retried after {waited:?}"
    );
    assert_eq!(retry1.topic, "%RETRY%G");
    assert_eq!(retry1.reconsume_times, 1);
    assert_eq!(&retry1.body[..], b"job");
    assert_eq!(retry1.property("RETRY_TOPIC"), Some("Work"));
    assert_eq!(retry1.property("ORIGIN_MESSAGE_ID"), Some("ORIGIN-ID"));
    assert_eq!(retry1.property("TAGS"), Some("t"));
    assert_eq!(retry1.property("KEYS"), Some("k"));

    // Second failure: retried again, reconsumeTimes 2.
    client.call(send_back(&retry1, "G", 0, 2)).await;
    let (retry2, _) = next_at(&client, "%RETRY%G", 1).await;
    assert_eq!(retry2.reconsume_times, 2);
    assert_eq!(retry2.property("RETRY_TOPIC"), Some("Work"));

    // Third failure: maxReconsumeTimes (2) reached: to the DLQ at once.
    let started = Instant::now();
    let r = client.call(send_back(&retry2, "G", 0, 2)).await;
    assert_eq!(r.code, ResponseCode::SUCCESS);
    let (dead, _) = next_at(&client, "%DLQ%G", 0).await;
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "the DLQ is not delayed"
    );
    assert_eq!(dead.topic, "%DLQ%G");
    assert_eq!(dead.reconsume_times, 3);
    assert_eq!(dead.property("RETRY_TOPIC"), Some("Work"));
    assert_eq!(dead.property("DELAY"), None);

    // A negative level goes straight to the DLQ.
    client.call(send_back(&original, "G", -1, 16)).await;
    let (dead2, _) = next_at(&client, "%DLQ%G", 1).await;
    assert_eq!(&dead2.body[..], b"job");

    // A producer-side resend to the retry topic past the limit is dead-lettered too.
    let mut resend = send_header("%RETRY%G", 0, "RETRY_TOPIC\u{1}Work");
    resend.reconsume_times = Some(16);
    let cmd = RemotingCommand::request_with_header(RequestCode::SEND_MESSAGE, &resend)
        .with_body(&b"resent"[..]);
    assert_eq!(client.call(cmd).await.code, ResponseCode::SUCCESS);
    let (dead3, _) = next_at(&client, "%DLQ%G", 2).await;
    assert_eq!(&dead3.body[..], b"resent");

    // An offset that names no message is refused.
    let mut bogus = original.clone();
    bogus.commit_log_offset = 1 << 40;
    let r = client.call(send_back(&bogus, "G", 0, 16)).await;
    assert_eq!(r.code, ResponseCode::SYSTEM_ERROR);
    cluster.shutdown().await.unwrap();
}

fn lock_body(client_id: &str, queues: &[i32]) -> Vec<u8> {
    LockBatchRequestBody {
        consumer_group: "O".into(),
        client_id: client_id.into(),
        mq_set: queues
            .iter()
            .map(|q| MessageQueue::new("Ordered", "broker-a", *q))
            .collect(),
    }
    .to_json()
    .unwrap()
}

async fn lock(client: &Client, client_id: &str, queues: &[i32]) -> BTreeSet<i32> {
    let r = client
        .call(
            RemotingCommand::request(RequestCode::LOCK_BATCH_MQ)
                .with_body(lock_body(client_id, queues)),
        )
        .await;
    assert_eq!(r.code, ResponseCode::SUCCESS);
    LockBatchResponseBody::from_json(&r.body)
        .unwrap()
        .lock_ok_mq_set
        .iter()
        .map(|mq| mq.queue_id)
        .collect()
}

#[tokio::test]
async fn queue_locks_have_one_holder_and_a_lease() {
    init_logs();
    let dir = tempfile::tempdir().unwrap();
    let cluster = LocalCluster::builder()
        .configure(|c| c.lock_lease = Duration::from_millis(500))
        .start(dir.path())
        .await
        .unwrap();
    let client = Client::connect(cluster.broker_addr()).await;
    assert_eq!(lock(&client, "c1", &[0, 1]).await, BTreeSet::from([0, 1]));
    assert_eq!(lock(&client, "c2", &[1, 2]).await, BTreeSet::from([2]));
    let r = client
        .call(
            RemotingCommand::request(RequestCode::UNLOCK_BATCH_MQ).with_body(lock_body("c1", &[1])),
        )
        .await;
    assert_eq!(r.code, ResponseCode::SUCCESS);
    assert_eq!(lock(&client, "c2", &[1]).await, BTreeSet::from([1]));
    // c1 stops renewing queue 0: after the lease c2 may take it.
    assert!(lock(&client, "c2", &[0]).await.is_empty());
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(lock(&client, "c2", &[0]).await, BTreeSet::from([0]));
    cluster.shutdown().await.unwrap();
}

#[tokio::test]
async fn offsets_reset_by_time_are_committed_and_pushed_to_consumers() {
    init_logs();
    let dir = tempfile::tempdir().unwrap();
    let cluster = LocalCluster::start(dir.path()).await.unwrap();
    let mut client = Client::connect(cluster.broker_addr()).await;
    for i in 0..3 {
        client
            .call(send_v2("Reset", 0, format!("old{i}").as_bytes(), ""))
            .await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let middle = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    tokio::time::sleep(Duration::from_millis(20)).await;
    for i in 0..2 {
        client
            .call(send_v2("Reset", 0, format!("new{i}").as_bytes(), ""))
            .await;
    }
    client.call(heartbeat("c", "R", "Reset")).await;
    client.call(pull_committing("R", "Reset", 0, 5, 5)).await;
    client.drain_from_broker();

    let reset = |timestamp: i64, force: bool| {
        RemotingCommand::request(RequestCode::INVOKE_BROKER_TO_RESET_OFFSET)
            .with_ext("topic", "Reset")
            .with_ext("group", "R")
            .with_ext("timestamp", timestamp.to_string())
            .with_ext("isForce", force.to_string())
    };
    let r = client.call(reset(middle, true)).await;
    assert_eq!(r.code, ResponseCode::SUCCESS, "{r:?}");
    let body = ResetOffsetBody::from_json(&r.body).unwrap();
    assert_eq!(
        body.offset_table[&MessageQueue::new("Reset", "broker-a", 0)],
        3
    );
    let notice = client
        .next_from_broker(
            RequestCode::RESET_CONSUMER_CLIENT_OFFSET,
            Duration::from_secs(2),
        )
        .await
        .unwrap();
    assert_eq!(notice.ext("group"), Some("R"));
    let pushed = ResetOffsetBody::from_json(&notice.body).unwrap();
    assert_eq!(
        pushed.offset_table[&MessageQueue::new("Reset", "broker-a", 0)],
        3
    );

    let query = RemotingCommand::request(RequestCode::QUERY_CONSUMER_OFFSET)
        .with_ext("consumerGroup", "R")
        .with_ext("topic", "Reset")
        .with_ext("queueId", "0");
    assert_eq!(ext_i64(&client.call(query.clone()).await, "offset"), 3);

    // Without force, a reset never moves an offset forward; -1 means the end.
    client.call(reset(-1, false)).await;
    assert_eq!(ext_i64(&client.call(query.clone()).await, "offset"), 3);
    client.call(reset(-1, true)).await;
    assert_eq!(ext_i64(&client.call(query).await, "offset"), 5);
    cluster.shutdown().await.unwrap();
}
