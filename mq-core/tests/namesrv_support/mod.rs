//! Shared helpers for the name-server tests: an in-process server on 127.0.0.1:0 and a
//! framed client.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use mq_core::namesrv::{self, NamesrvConfig};
use mq_core::protocol::body::JsonBody;
use mq_core::protocol::body::broker_register::{
    DataVersion, RegisterBrokerBody, TopicConfig, TopicConfigSerializeWrapper,
};
use mq_core::protocol::header::namesrv::{GetRouteInfoRequestHeader, RegisterBrokerRequestHeader};
use mq_core::protocol::{RemotingCodec, RemotingCommand, RequestCode};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio_util::codec::Framed;

pub struct Server {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<mq_core::Result<()>>,
}

impl Server {
    pub async fn start(config: NamesrvConfig) -> Self {
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

    pub async fn client(&self) -> Framed<TcpStream, RemotingCodec> {
        Framed::new(
            TcpStream::connect(self.addr).await.unwrap(),
            RemotingCodec::new(),
        )
    }

    pub async fn stop(mut self) {
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

pub async fn call(
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

pub fn register_request(addr: &str, topics: &[(&str, i32)], counter: i64) -> RemotingCommand {
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

pub fn route_request(topic: &str) -> RemotingCommand {
    RemotingCommand::request_with_header(
        RequestCode::GET_ROUTEINFO_BY_TOPIC,
        &GetRouteInfoRequestHeader {
            topic: topic.into(),
            accept_standard_json_only: None,
        },
    )
}

pub fn fast_expiry() -> NamesrvConfig {
    NamesrvConfig {
        broker_timeout: Duration::from_millis(1000),
        scan_interval: Duration::from_millis(50),
        ..NamesrvConfig::default()
    }
}
