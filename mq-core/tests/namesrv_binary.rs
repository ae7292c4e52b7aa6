//! The real `mq-namesrv` binary: configuration from the environment, a route round trip over
//! TCP, clean exit on SIGTERM, and one-line failures for bad settings.
#![cfg(all(feature = "broker", unix))]
#![allow(clippy::unwrap_used)]

use std::net::{SocketAddr, TcpListener as StdListener};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use mq_core::protocol::body::JsonBody;
use mq_core::protocol::body::broker_register::{RegisterBrokerBody, TopicConfig};
use mq_core::protocol::body::route::TopicRouteData;
use mq_core::protocol::header::namesrv::{GetRouteInfoRequestHeader, RegisterBrokerRequestHeader};
use mq_core::protocol::{RemotingCodec, RemotingCommand, RequestCode, ResponseCode};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

const BIN: &str = env!("CARGO_BIN_EXE_mq-namesrv");

fn free_addr() -> SocketAddr {
    StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

fn spawn(addr: SocketAddr) -> Child {
    Command::new(BIN)
        .env("MQ_NAMESRV_LISTEN", addr.to_string())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

async fn connect(addr: SocketAddr) -> Framed<TcpStream, RemotingCodec> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match TcpStream::connect(addr).await {
            Ok(stream) => return Framed::new(stream, RemotingCodec::new()),
            Err(e) if Instant::now() > deadline => panic!("mq-namesrv did not come up: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

async fn call(
    conn: &mut Framed<TcpStream, RemotingCodec>,
    req: RemotingCommand,
) -> RemotingCommand {
    conn.send(req).await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), conn.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap()
}

fn wait_exit(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("mq-namesrv did not exit within {within:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test]
async fn binary_serves_routes_and_exits_zero_on_sigterm() {
    let addr = free_addr();
    let mut child = spawn(addr);
    let mut conn = connect(addr).await;

    let mut body = RegisterBrokerBody::default();
    body.topic_config_serialize_wrapper
        .topic_config_table
        .insert("Orders".into(), TopicConfig::new("Orders", 3));
    let header = RegisterBrokerRequestHeader {
        broker_name: "broker-a".into(),
        broker_addr: "127.0.0.1:10911".into(),
        cluster_name: "DefaultCluster".into(),
        ha_server_addr: "127.0.0.1:10912".into(),
        broker_id: 0,
        compressed: false,
        body_crc32: None,
    };
    let register = RemotingCommand::request_with_header(RequestCode::REGISTER_BROKER, &header)
        .with_body(body.to_json().unwrap());
    assert_eq!(call(&mut conn, register).await.code, ResponseCode::SUCCESS);

    let route = RemotingCommand::request_with_header(
        RequestCode::GET_ROUTEINFO_BY_TOPIC,
        &GetRouteInfoRequestHeader {
            topic: "Orders".into(),
            accept_standard_json_only: None,
        },
    );
    let route = call(&mut conn, route).await;
    assert_eq!(route.code, ResponseCode::SUCCESS);
    let route = TopicRouteData::from_json(&route.body).unwrap();
    assert_eq!(route.queue_datas[0].write_queue_nums, 3);
    drop(conn);

    let kill = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(kill.success());
    let status = wait_exit(&mut child, Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{status:?}");
}

fn run_with(envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.stdin(Stdio::null()).output().unwrap()
}

#[test]
fn bad_listen_address_fails_with_a_clear_message() {
    let out = run_with(&[("MQ_NAMESRV_LISTEN", "not-an-address")]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not-an-address"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn zero_broker_timeout_is_refused() {
    let out = run_with(&[
        ("MQ_NAMESRV_LISTEN", "127.0.0.1:0"),
        ("MQ_NAMESRV_BROKER_TIMEOUT_MS", "0"),
    ]);
    assert!(!out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}

#[test]
fn occupied_port_exits_non_zero_with_one_line() {
    let taken = StdListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = run_with(&[("MQ_NAMESRV_LISTEN", &addr), ("RUST_LOG", "off")]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("mq-namesrv: cannot listen on"),
        "{stderr}"
    );
}

#[test]
fn logs_written_to_a_pipe_carry_no_colour_codes() {
    use std::io::{BufRead, BufReader};
    let addr = free_addr();
    let mut child = Command::new(BIN)
        .env("MQ_NAMESRV_LISTEN", addr.to_string())
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(line.contains("name server listening"), "{line:?}");
    assert!(
        !line.contains('\u{1b}'),
        "escape codes in a piped log: {line:?}"
    );
}
