//! The name server in-process, spoken to over TCP with the codec: registration, routes,
//! expiry, admin lists, robustness against garbage, unknown codes.
#![cfg(feature = "broker")]
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use mq_core::namesrv::{self, NamesrvConfig};
use mq_core::protocol::body::JsonBody;
use mq_core::protocol::body::admin::{ClusterInfo, TopicList};
use mq_core::protocol::body::broker_register::{
    DataVersion, RegisterBrokerBody, TopicConfig, TopicConfigSerializeWrapper,
};
use mq_core::protocol::body::route::TopicRouteData;
use mq_core::protocol::header::namesrv::{
    DeleteTopicFromNamesrvRequestHeader, GetRouteInfoRequestHeader, KvConfigKeyRequestHeader,
    PutKvConfigRequestHeader, RegisterBrokerRequestHeader, UnRegisterBrokerRequestHeader,
};
use mq_core::protocol::{RemotingCodec, RemotingCommand, RequestCode, ResponseCode, SerializeType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio_util::codec::Framed;

struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<mq_core::Result<()>>,
}

impl Server {
    async fn start(config: NamesrvConfig) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(namesrv::run(listener, config, stopped));
        Self {
            addr,
            stop: Some(stop),
            task,
        }
    }

    async fn client(&self) -> Framed<TcpStream, RemotingCodec> {
        Framed::new(
            TcpStream::connect(self.addr).await.unwrap(),
            RemotingCodec::new(),
        )
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }
}

async fn call(
    conn: &mut Framed<TcpStream, RemotingCodec>,
    request: RemotingCommand,
) -> RemotingCommand {
    let opaque = request.opaque;
    conn.send(request).await.unwrap();
    let response = tokio::time::timeout(Duration::from_secs(5), conn.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(response.is_response());
    assert_eq!(response.opaque, opaque);
    response
}

fn register_request(addr: &str, topics: &[(&str, i32)], counter: i64) -> RemotingCommand {
    let body = RegisterBrokerBody {
        topic_config_serialize_wrapper: TopicConfigSerializeWrapper {
            topic_config_table: topics
                .iter()
                .map(|(t, n)| ((*t).to_owned(), TopicConfig::new(*t, *n)))
                .collect(),
            data_version: DataVersion {
                timestamp: 1_700_000_000_000,
                counter,
            },
        },
        filter_server_list: vec![],
    }
    .to_json()
    .unwrap();
    let header = RegisterBrokerRequestHeader {
        broker_name: "broker-a".into(),
        broker_addr: addr.into(),
        cluster_name: "DefaultCluster".into(),
        ha_server_addr: "127.0.0.1:10912".into(),
        broker_id: 0,
        compressed: false,
        body_crc32: Some((crc32fast::hash(&body) & 0x7FFF_FFFF) as i32),
    };
    RemotingCommand::request_with_header(RequestCode::REGISTER_BROKER, &header).with_body(body)
}

fn route_request(topic: &str) -> RemotingCommand {
    RemotingCommand::request_with_header(
        RequestCode::GET_ROUTEINFO_BY_TOPIC,
        &GetRouteInfoRequestHeader {
            topic: topic.into(),
            accept_standard_json_only: None,
        },
    )
}

fn fast_expiry() -> NamesrvConfig {
    NamesrvConfig {
        broker_timeout: Duration::from_millis(1000),
        scan_interval: Duration::from_millis(50),
        ..NamesrvConfig::default()
    }
}

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
async fn garbage_on_one_connection_does_not_disturb_another() {
    let server = Server::start(NamesrvConfig::default()).await;
    let mut good = server.client().await;
    assert_eq!(
        call(
            &mut good,
            register_request("127.0.0.1:10911", &[("Orders", 4)], 1)
        )
        .await
        .code,
        0
    );

    // An HTTP request is an absurd length prefix: the server closes that connection.
    let mut bad = TcpStream::connect(server.addr).await.unwrap();
    bad.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(Duration::from_secs(5), bad.read(&mut buf))
        .await
        .unwrap();
    assert!(
        matches!(read, Ok(0) | Err(_)),
        "server should close the garbage connection"
    );

    // A well-framed but undecodable JSON header: closed too.
    let mut bad = TcpStream::connect(server.addr).await.unwrap();
    bad.write_all(&[0, 0, 0, 9, 0, 0, 0, 5, b'{', b'{', b'{', b'{', b'{'])
        .await
        .unwrap();
    let read = tokio::time::timeout(Duration::from_secs(5), bad.read(&mut buf))
        .await
        .unwrap();
    assert!(matches!(read, Ok(0) | Err(_)));

    let route = call(&mut good, route_request("Orders")).await;
    assert_eq!(route.code, ResponseCode::SUCCESS);
    server.stop().await;
}

#[tokio::test]
async fn unknown_code_and_bad_headers_get_error_responses() {
    let server = Server::start(NamesrvConfig::default()).await;
    let mut conn = server.client().await;
    let unknown = call(&mut conn, RemotingCommand::request(9999)).await;
    assert_eq!(unknown.code, ResponseCode::REQUEST_CODE_NOT_SUPPORTED);
    assert_eq!(
        unknown.remark.as_deref(),
        Some(" request type 9999 not supported")
    );
    // A broker-side code is not served by the name server either.
    let send = call(
        &mut conn,
        RemotingCommand::request(RequestCode::SEND_MESSAGE_V2),
    )
    .await;
    assert_eq!(send.code, ResponseCode::REQUEST_CODE_NOT_SUPPORTED);
    // Missing required header field: SYSTEM_ERROR naming it, connection stays usable.
    let no_topic = call(
        &mut conn,
        RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC),
    )
    .await;
    assert_eq!(no_topic.code, ResponseCode::SYSTEM_ERROR);
    assert!(no_topic.remark.unwrap().contains("topic"));
    // A CRC mismatch is refused like Java does.
    let mut bad_crc = register_request("127.0.0.1:10911", &[("Orders", 4)], 1);
    bad_crc.ext_fields.insert("bodyCrc32".into(), "1".into());
    let refused = call(&mut conn, bad_crc).await;
    assert_eq!(
        (refused.code, refused.remark.as_deref()),
        (ResponseCode::SYSTEM_ERROR, Some("crc32 not match"))
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
async fn oneway_requests_get_no_response() {
    let server = Server::start(NamesrvConfig::default()).await;
    let mut conn = server.client().await;
    conn.send(register_request("127.0.0.1:10911", &[("Orders", 4)], 1).oneway())
        .await
        .unwrap();
    // The next frame on the connection answers the route query, not the oneway register.
    let route = call(&mut conn, route_request("Orders")).await;
    assert_eq!(route.code, ResponseCode::SUCCESS);
    server.stop().await;
}

#[tokio::test]
async fn connection_limit_holds_extra_clients_until_a_slot_frees() {
    let config = NamesrvConfig {
        max_connections: 1,
        ..NamesrvConfig::default()
    };
    let server = Server::start(config).await;
    let mut first = server.client().await;
    assert_eq!(
        call(&mut first, route_request("T")).await.code,
        ResponseCode::TOPIC_NOT_EXIST
    );

    let mut second = server.client().await;
    second.send(route_request("T")).await.unwrap();
    let early = tokio::time::timeout(Duration::from_millis(300), second.next()).await;
    assert!(
        early.is_err(),
        "second client served while the only slot is taken"
    );

    drop(first);
    let late = tokio::time::timeout(Duration::from_secs(5), second.next())
        .await
        .unwrap();
    assert_eq!(late.unwrap().unwrap().code, ResponseCode::TOPIC_NOT_EXIST);
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
