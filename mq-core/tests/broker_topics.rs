//! Topic administration and name-server registration: create, list, stats, delete; auto-create
//! on first send and its refusal when disabled; the broker's route appears on the name server
//! at start and on topic creation, and disappears when the broker stops.
#![allow(clippy::unwrap_used)]

mod broker_common;

use std::time::{Duration, Instant};

use broker_common::*;
use mq_core::cluster::LocalCluster;
use mq_core::protocol::body::JsonBody;
use mq_core::protocol::body::admin::TopicStatsTable;
use mq_core::protocol::body::broker_register::TopicConfigSerializeWrapper;
use mq_core::protocol::body::route::TopicRouteData;
use mq_core::protocol::header::admin::CreateTopicRequestHeader;
use mq_core::protocol::{MessageQueue, RemotingCommand, RequestCode, ResponseCode};

fn create_topic(topic: &str, queues: i32) -> RemotingCommand {
    RemotingCommand::request_with_header(
        RequestCode::UPDATE_AND_CREATE_TOPIC,
        &CreateTopicRequestHeader {
            topic: topic.into(),
            default_topic: "TBW102".into(),
            read_queue_nums: queues,
            write_queue_nums: queues,
            perm: 6,
            topic_filter_type: "SINGLE_TAG".into(),
            topic_sys_flag: Some(0),
            order: false,
        },
    )
}

fn route_request(topic: &str) -> RemotingCommand {
    RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC).with_ext("topic", topic)
}

/// Polls the name server until the topic's route satisfies `ok` (or 10 s pass).
async fn wait_route(
    namesrv: &Client,
    topic: &str,
    ok: impl Fn(&RemotingCommand) -> bool,
) -> RemotingCommand {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = namesrv.call(route_request(topic)).await;
        if ok(&r) || Instant::now() > deadline {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn create_list_stats_delete_and_the_route() {
    init_logs();
    let dir = tempfile::tempdir().unwrap();
    let mut cluster = LocalCluster::start(dir.path()).await.unwrap();
    let client = Client::connect(cluster.broker_addr()).await;
    let namesrv = Client::connect(cluster.namesrv_addr()).await;

    let r = client.call(create_topic("Admin", 8)).await;
    assert_eq!(r.code, ResponseCode::SUCCESS, "{r:?}");
    let r = client
        .call(RemotingCommand::request(RequestCode::GET_ALL_TOPIC_CONFIG))
        .await;
    let all = TopicConfigSerializeWrapper::from_json(&r.body).unwrap();
    let admin = &all.topic_config_table["Admin"];
    assert_eq!(
        (admin.read_queue_nums, admin.write_queue_nums, admin.perm),
        (8, 8, 6)
    );
    assert!(all.topic_config_table.contains_key("TBW102"));
    assert!(all.topic_config_table.contains_key("SCHEDULE_TOPIC_XXXX"));

    // The route reaches the name server without waiting for the 30 s re-registration.
    let r = wait_route(&namesrv, "Admin", |r| r.code == ResponseCode::SUCCESS).await;
    assert_eq!(r.code, ResponseCode::SUCCESS, "{r:?}");
    let route = TopicRouteData::from_json(&r.body).unwrap();
    assert_eq!(route.queue_datas[0].broker_name, "broker-a");
    assert_eq!(route.queue_datas[0].write_queue_nums, 8);
    let addr = route.broker_datas[0].master_addr().unwrap().to_owned();
    assert_eq!(addr, cluster.broker_addr().to_string());

    for q in [0, 7, 7] {
        assert_eq!(
            client.call(send_v2("Admin", q, b"x", "")).await.code,
            ResponseCode::SUCCESS
        );
    }
    let r = client
        .call(
            RemotingCommand::request(RequestCode::GET_TOPIC_STATS_INFO).with_ext("topic", "Admin"),
        )
        .await;
    assert_eq!(r.code, ResponseCode::SUCCESS);
    let stats = TopicStatsTable::from_json(&r.body).unwrap();
    assert_eq!(stats.offset_table.len(), 8);
    let q7 = stats.offset_table[&MessageQueue::new("Admin", "broker-a", 7)];
    assert_eq!((q7.min_offset, q7.max_offset), (0, 2));
    assert!(q7.last_update_timestamp > 0);
    let r = client
        .call(RemotingCommand::request(RequestCode::GET_TOPIC_STATS_INFO).with_ext("topic", "Nope"))
        .await;
    assert_eq!(r.code, ResponseCode::TOPIC_NOT_EXIST);

    // System topics and bad names are refused.
    assert_eq!(
        client.call(create_topic("TBW102", 4)).await.code,
        ResponseCode::SYSTEM_ERROR
    );
    assert_eq!(
        client.call(create_topic("a b", 4)).await.code,
        ResponseCode::SYSTEM_ERROR
    );

    let r = client
        .call(
            RemotingCommand::request(RequestCode::DELETE_TOPIC_IN_BROKER)
                .with_ext("topic", "Admin"),
        )
        .await;
    assert_eq!(r.code, ResponseCode::SUCCESS);
    assert_eq!(
        client.call(pull("g", "Admin", 0, 0, "*", 0)).await.code,
        ResponseCode::TOPIC_NOT_EXIST
    );

    // Stopping the broker unregisters it: its routes go at once.
    drop(client);
    cluster.stop_broker().await.unwrap();
    let r = wait_route(&namesrv, "TBW102", |r| {
        r.code == ResponseCode::TOPIC_NOT_EXIST
    })
    .await;
    assert_eq!(r.code, ResponseCode::TOPIC_NOT_EXIST, "{r:?}");
    // And restarting registers it again.
    cluster.restart_broker().await.unwrap();
    let r = wait_route(&namesrv, "TBW102", |r| r.code == ResponseCode::SUCCESS).await;
    assert_eq!(r.code, ResponseCode::SUCCESS);
    cluster.shutdown().await.unwrap();
}

#[tokio::test]
async fn auto_create_on_first_send_and_its_refusal_when_disabled() {
    init_logs();
    let dir = tempfile::tempdir().unwrap();
    let cluster = LocalCluster::start(dir.path()).await.unwrap();
    let client = Client::connect(cluster.broker_addr()).await;
    let r = client.call(send_v2("Auto", -1, b"x", "")).await;
    assert_eq!(r.code, ResponseCode::SUCCESS, "{r:?}");
    assert!(
        (0..4).contains(&ext_i64(&r, "queueId")),
        "the broker picks one of 4 queues"
    );
    let namesrv = Client::connect(cluster.namesrv_addr()).await;
    let r = wait_route(&namesrv, "Auto", |r| r.code == ResponseCode::SUCCESS).await;
    assert_eq!(
        TopicRouteData::from_json(&r.body).unwrap().queue_datas[0].read_queue_nums,
        4
    );
    cluster.shutdown().await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let cluster = LocalCluster::builder()
        .auto_create_topic(false)
        .start(dir.path())
        .await
        .unwrap();
    let client = Client::connect(cluster.broker_addr()).await;
    let r = client.call(send_v2("Manual", 0, b"x", "")).await;
    assert_eq!(r.code, ResponseCode::TOPIC_NOT_EXIST);
    assert!(r.remark.unwrap().contains("Manual"));
    let r = client
        .call(RemotingCommand::request(RequestCode::GET_ALL_TOPIC_CONFIG))
        .await;
    let all = TopicConfigSerializeWrapper::from_json(&r.body).unwrap();
    assert!(
        !all.topic_config_table.contains_key("TBW102"),
        "no auto-create route advertised"
    );
    assert_eq!(
        client.call(create_topic("Manual", 2)).await.code,
        ResponseCode::SUCCESS
    );
    assert_eq!(
        client.call(send_v2("Manual", 1, b"x", "")).await.code,
        ResponseCode::SUCCESS
    );
    cluster.shutdown().await.unwrap();
}
