//! The name server under bad input and load: garbage bytes, unknown codes, bad headers,
//! oneway requests, the connection limit.
#![cfg(feature = "broker")]
#![allow(clippy::unwrap_used)]

mod namesrv_support;

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use mq_core::namesrv::NamesrvConfig;
use mq_core::protocol::{RemotingCommand, RequestCode, ResponseCode};
use namesrv_support::{Server, call, register_request, route_request};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

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
