//! Client membership: heartbeats register consumers and producers, group members are told
//! (NOTIFY_CONSUMER_IDS_CHANGED on their own connection) when someone joins, leaves, closes
//! its connection or stops sending heartbeats; connection list and consume stats for admins.
#![allow(clippy::unwrap_used)]

mod broker_common;

use std::time::Duration;

use broker_common::*;
use mq_core::cluster::LocalCluster;
use mq_core::protocol::body::JsonBody;
use mq_core::protocol::body::admin::{ConsumeStats, ConsumerConnection};
use mq_core::protocol::body::consumer::GetConsumerListByGroupResponseBody;
use mq_core::protocol::{MessageQueue, RemotingCommand, RequestCode, ResponseCode};

const NOTIFY: i32 = RequestCode::NOTIFY_CONSUMER_IDS_CHANGED;

fn consumer_list(group: &str) -> RemotingCommand {
    RemotingCommand::request(RequestCode::GET_CONSUMER_LIST_BY_GROUP)
        .with_ext("consumerGroup", group)
}

async fn ids(client: &Client, group: &str) -> Option<Vec<String>> {
    let r = client.call(consumer_list(group)).await;
    (r.code == ResponseCode::SUCCESS).then(|| {
        GetConsumerListByGroupResponseBody::from_json(&r.body)
            .unwrap()
            .consumer_id_list
    })
}

#[tokio::test]
async fn members_are_told_of_joins_leaves_and_closed_connections() {
    init_logs();
    let dir = tempfile::tempdir().unwrap();
    let cluster = LocalCluster::start(dir.path()).await.unwrap();
    let mut c1 = Client::connect(cluster.broker_addr()).await;
    let mut c2 = Client::connect(cluster.broker_addr()).await;
    let admin = Client::connect(cluster.broker_addr()).await;

    assert_eq!(
        c1.call(heartbeat("c1", "G", "T")).await.code,
        ResponseCode::SUCCESS
    );
    assert!(
        c1.next_from_broker(NOTIFY, Duration::from_secs(2))
            .await
            .is_some()
    );
    assert_eq!(ids(&admin, "G").await, Some(vec!["c1".to_owned()]));

    c2.call(heartbeat("c2", "G", "T")).await;
    let notice = c1
        .next_from_broker(NOTIFY, Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!(notice.ext("consumerGroup"), Some("G"));
    assert!(notice.is_oneway());
    assert_eq!(
        ids(&admin, "G").await,
        Some(vec!["c1".to_owned(), "c2".to_owned()])
    );
    c2.drain_from_broker();

    // A repeated heartbeat changes nothing and notifies nobody.
    c2.call(heartbeat("c2", "G", "T")).await;
    assert!(
        c1.next_from_broker(NOTIFY, Duration::from_millis(300))
            .await
            .is_none()
    );

    // The retry topic of the group exists now.
    let r = admin.call(pull("G", "%RETRY%G", 0, 0, "*", 0)).await;
    assert_eq!(r.code, ResponseCode::PULL_NOT_FOUND);

    let r = admin
        .call(
            RemotingCommand::request(RequestCode::GET_CONSUMER_CONNECTION_LIST)
                .with_ext("consumerGroup", "G"),
        )
        .await;
    assert_eq!(r.code, ResponseCode::SUCCESS);
    let conns = ConsumerConnection::from_json(&r.body).unwrap();
    assert_eq!(conns.connection_set.len(), 2);
    assert_eq!(conns.connection_set[0].language, "RUST");
    assert!(conns.subscription_table.contains_key("T"));

    // c2's connection closes: c1 hears of it.
    drop(c2);
    let notice = c1.next_from_broker(NOTIFY, Duration::from_secs(5)).await;
    assert!(
        notice.is_some(),
        "no notification after a connection closed"
    );
    assert_eq!(ids(&admin, "G").await, Some(vec!["c1".to_owned()]));

    let r = c1
        .call(
            RemotingCommand::request(RequestCode::UNREGISTER_CLIENT)
                .with_ext("clientID", "c1")
                .with_ext("consumerGroup", "G"),
        )
        .await;
    assert_eq!(r.code, ResponseCode::SUCCESS);
    assert_eq!(ids(&admin, "G").await, None);
    let r = admin.call(consumer_list("G")).await;
    assert!(r.remark.unwrap().contains("no consumer for this group"));
    let r = admin
        .call(
            RemotingCommand::request(RequestCode::GET_CONSUMER_CONNECTION_LIST)
                .with_ext("consumerGroup", "G"),
        )
        .await;
    assert_eq!(r.code, ResponseCode::CONSUMER_NOT_ONLINE);
    cluster.shutdown().await.unwrap();
}

#[tokio::test]
async fn silent_clients_expire() {
    init_logs();
    let dir = tempfile::tempdir().unwrap();
    let cluster = LocalCluster::builder()
        .configure(|c| {
            c.channel_expiry = Duration::from_millis(400);
            c.channel_scan_interval = Duration::from_millis(100);
        })
        .start(dir.path())
        .await
        .unwrap();
    let mut quiet = Client::connect(cluster.broker_addr()).await;
    let mut alive = Client::connect(cluster.broker_addr()).await;
    quiet.call(heartbeat("quiet", "E", "T")).await;
    alive.call(heartbeat("alive", "E", "T")).await;
    quiet.drain_from_broker();
    alive.drain_from_broker();
    // Only `alive` keeps sending heartbeats.
    let mut expired = false;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        alive.call(heartbeat("alive", "E", "T")).await;
        if ids(&alive, "E").await == Some(vec!["alive".to_owned()]) {
            expired = true;
            break;
        }
    }
    assert!(expired, "the silent client was not expired");
    assert!(
        alive
            .next_from_broker(NOTIFY, Duration::from_secs(1))
            .await
            .is_some()
    );
    cluster.shutdown().await.unwrap();
}

#[tokio::test]
async fn consume_stats_report_broker_and_consumer_offsets() {
    init_logs();
    let dir = tempfile::tempdir().unwrap();
    let cluster = LocalCluster::start(dir.path()).await.unwrap();
    let client = Client::connect(cluster.broker_addr()).await;
    for q in [0, 0, 0, 1] {
        client.call(send_v2("Progress", q, b"x", "")).await;
    }
    client.call(heartbeat("c", "P", "Progress")).await;
    client.call(pull_committing("P", "Progress", 0, 0, 2)).await;
    let r = client
        .call(
            RemotingCommand::request(RequestCode::GET_CONSUME_STATS).with_ext("consumerGroup", "P"),
        )
        .await;
    assert_eq!(r.code, ResponseCode::SUCCESS);
    let stats = ConsumeStats::from_json(&r.body).unwrap();
    let q0 = stats.offset_table[&MessageQueue::new("Progress", "broker-a", 0)];
    assert_eq!((q0.broker_offset, q0.consumer_offset), (3, 2));
    assert!(q0.last_timestamp > 0);
    let q1 = stats.offset_table[&MessageQueue::new("Progress", "broker-a", 1)];
    assert_eq!((q1.broker_offset, q1.consumer_offset), (1, 0));
    let r = client
        .call(
            RemotingCommand::request(RequestCode::GET_CONSUME_STATS)
                .with_ext("consumerGroup", "P")
                .with_ext("topic", "Progress"),
        )
        .await;
    assert_eq!(
        ConsumeStats::from_json(&r.body).unwrap().offset_table.len(),
        4
    );
    cluster.shutdown().await.unwrap();
}
