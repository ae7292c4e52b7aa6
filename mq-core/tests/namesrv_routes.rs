//! The name server in-process, spoken to over TCP with the codec: registration, routes,
//! expiry, admin lists, KV config, Java-shaped JSON frames.
#![cfg(feature = "broker")]
#![allow(clippy::unwrap_used)]

mod namesrv_support;

use std::time::Duration;

use futures::StreamExt;
use mq_core::namesrv::NamesrvConfig;
use mq_core::protocol::body::JsonBody;
use mq_core::protocol::body::admin::{ClusterInfo, TopicList};
use mq_core::protocol::body::route::TopicRouteData;
use mq_core::protocol::header::namesrv::{
    DeleteTopicFromNamesrvRequestHeader, KvConfigKeyRequestHeader, PutKvConfigRequestHeader,
    UnRegisterBrokerRequestHeader,
};
use mq_core::protocol::{RemotingCodec, RemotingCommand, RequestCode, ResponseCode, SerializeType};
use namesrv_support::{Server, call, fast_expiry, register_request, route_request};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

#[tokio::test]
async fn registered_broker_serves_routes_with_queue_counts() {
    let server = Server::start(NamesrvConfig::default()).await;
    let mut conn = server.client().await;
    let reg = call(
        &mut conn,
        register_request("127.0.0.1:10911", &[("Orders", 4), ("Audit", 2)], 1),
    )
    .await;
    assert_eq!(reg.code, ResponseCode::SUCCESS, "{:?}", reg.remark);

    for (topic, queues) in [("Orders", 4), ("Audit", 2)] {
        let resp = call(&mut conn, route_request(topic)).await;
        assert_eq!(resp.code, ResponseCode::SUCCESS);
        let route = TopicRouteData::from_json(&resp.body).unwrap();
        assert_eq!(route.queue_datas.len(), 1);
        let queue = &route.queue_datas[0];
        assert_eq!(
            (
                queue.broker_name.as_str(),
                queue.read_queue_nums,
                queue.write_queue_nums
            ),
            ("broker-a", queues, queues)
        );
        assert_eq!(route.broker_datas[0].master_addr(), Some("127.0.0.1:10911"));
        assert_eq!(route.broker_datas[0].cluster, "DefaultCluster");
    }

    let missing = call(&mut conn, route_request("Nope")).await;
    assert_eq!(missing.code, ResponseCode::TOPIC_NOT_EXIST);
    assert!(missing.remark.unwrap().contains("Nope"));

    let cluster = call(
        &mut conn,
        RemotingCommand::request(RequestCode::GET_BROKER_CLUSTER_INFO),
    )
    .await;
    let cluster = ClusterInfo::from_json(&cluster.body).unwrap();
    assert!(cluster.cluster_addr_table["DefaultCluster"].contains("broker-a"));

    let topics = call(
        &mut conn,
        RemotingCommand::request(RequestCode::GET_ALL_TOPIC_LIST_FROM_NAMESERVER),
    )
    .await;
    let topics = TopicList::from_json(&topics.body).unwrap();
    assert_eq!(
        topics
            .topic_list
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        ["Audit", "Orders"]
    );

    let delete = RemotingCommand::request_with_header(
        RequestCode::DELETE_TOPIC_IN_NAMESRV,
        &DeleteTopicFromNamesrvRequestHeader {
            topic: "Audit".into(),
            cluster_name: None,
        },
    );
    assert_eq!(call(&mut conn, delete).await.code, ResponseCode::SUCCESS);
    assert_eq!(
        call(&mut conn, route_request("Audit")).await.code,
        ResponseCode::TOPIC_NOT_EXIST
    );

    let unregister = RemotingCommand::request_with_header(
        RequestCode::UNREGISTER_BROKER,
        &UnRegisterBrokerRequestHeader {
            broker_name: "broker-a".into(),
            broker_addr: "127.0.0.1:10911".into(),
            cluster_name: "DefaultCluster".into(),
            broker_id: 0,
        },
    );
    assert_eq!(
        call(&mut conn, unregister).await.code,
        ResponseCode::SUCCESS
    );
    assert_eq!(
        call(&mut conn, route_request("Orders")).await.code,
        ResponseCode::TOPIC_NOT_EXIST
    );
    server.stop().await;
}

#[tokio::test]
async fn silent_broker_expires_but_a_heartbeating_one_stays() {
    let server = Server::start(fast_expiry()).await;
    let mut conn = server.client().await;
    assert_eq!(
        call(
            &mut conn,
            register_request("127.0.0.1:10911", &[("Orders", 4)], 1)
        )
        .await
        .code,
        0
    );
    // Re-register (heartbeat) for longer than the timeout: the route must survive.
    // Margins are wide (150 ms beats, 1 s timeout) because CI machines are shared and slow.
    for _ in 0..12 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert_eq!(
            call(
                &mut conn,
                register_request("127.0.0.1:10911", &[("Orders", 4)], 1)
            )
            .await
            .code,
            0
        );
    }
    assert_eq!(
        call(&mut conn, route_request("Orders")).await.code,
        ResponseCode::SUCCESS
    );
    // Then fall silent past the timeout plus a scan.
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let gone = call(&mut conn, route_request("Orders")).await;
    assert_eq!(gone.code, ResponseCode::TOPIC_NOT_EXIST);
    let cluster = call(
        &mut conn,
        RemotingCommand::request(RequestCode::GET_BROKER_CLUSTER_INFO),
    )
    .await;
    assert!(
        ClusterInfo::from_json(&cluster.body)
            .unwrap()
            .broker_addr_table
            .is_empty()
    );
    server.stop().await;
}

#[tokio::test]
async fn json_requests_get_json_responses_and_kv_config_works() {
    let server = Server::start(NamesrvConfig::default()).await;
    let mut conn = server.client().await;
    let key = KvConfigKeyRequestHeader {
        namespace: "ORDER_TOPIC_CONFIG".into(),
        key: "Orders".into(),
    };
    let get = RemotingCommand::request_with_header(RequestCode::GET_KV_CONFIG, &key)
        .with_serialize_type(SerializeType::Json);
    let missing = call(&mut conn, get.clone()).await;
    assert_eq!(missing.code, ResponseCode::QUERY_NOT_FOUND);
    assert_eq!(missing.serialize_type, SerializeType::Json);

    let put = PutKvConfigRequestHeader {
        namespace: "ORDER_TOPIC_CONFIG".into(),
        key: "Orders".into(),
        value: "broker-a:4".into(),
    };
    let put = RemotingCommand::request_with_header(RequestCode::PUT_KV_CONFIG, &put);
    assert_eq!(call(&mut conn, put).await.code, ResponseCode::SUCCESS);
    let found = call(&mut conn, get.with_opaque(12345)).await;
    assert_eq!(
        (found.code, found.ext("value")),
        (ResponseCode::SUCCESS, Some("broker-a:4"))
    );

    // The order config shows up in the topic's route.
    assert_eq!(
        call(
            &mut conn,
            register_request("127.0.0.1:10911", &[("Orders", 4)], 1)
        )
        .await
        .code,
        0
    );
    let route = call(&mut conn, route_request("Orders")).await;
    let route = TopicRouteData::from_json(&route.body).unwrap();
    assert_eq!(route.order_topic_conf.as_deref(), Some("broker-a:4"));
    server.stop().await;
}

#[tokio::test]
async fn java_shaped_json_registration_is_understood() {
    use bytes::BufMut;
    let server = Server::start(NamesrvConfig::default()).await;
    // Header and body as a 4.9.8 Java broker writes them (fastjson, alphabetical keys).
    let header = br#"{"code":103,"extFields":{"brokerAddr":"10.0.0.7:10911","brokerId":"0","brokerName":"broker-j","clusterName":"DefaultCluster","compressed":"false","haServerAddr":"10.0.0.7:10912"},"flag":0,"language":"JAVA","opaque":0,"serializeTypeCurrentRPC":"JSON","version":409}"#;
    let body = br#"{"filterServerList":[],"topicConfigSerializeWrapper":{"dataVersion":{"counter":7,"timestamp":1700000000000},"topicConfigTable":{"JavaTopic":{"order":false,"perm":6,"readQueueNums":8,"topicFilterType":"SINGLE_TAG","topicName":"JavaTopic","topicSysFlag":0,"writeQueueNums":8}}}}"#;
    let mut frame = bytes::BytesMut::new();
    frame.put_i32((4 + header.len() + body.len()) as i32);
    frame.put_u32(header.len() as u32);
    frame.put_slice(header);
    frame.put_slice(body);
    let mut raw = TcpStream::connect(server.addr).await.unwrap();
    raw.write_all(&frame).await.unwrap();
    let mut conn = Framed::new(raw, RemotingCodec::new());
    let reg = tokio::time::timeout(Duration::from_secs(5), conn.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(
        (reg.code, reg.opaque, reg.serialize_type),
        (0, 0, SerializeType::Json)
    );

    let route = call(
        &mut conn,
        route_request("JavaTopic").with_serialize_type(SerializeType::Json),
    )
    .await;
    assert_eq!(route.serialize_type, SerializeType::Json);
    let route = TopicRouteData::from_json(&route.body).unwrap();
    assert_eq!(route.queue_datas[0].read_queue_nums, 8);
    assert_eq!(route.broker_datas[0].master_addr(), Some("10.0.0.7:10911"));
    server.stop().await;
}
