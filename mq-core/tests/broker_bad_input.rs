//! Bad input never takes the broker down: garbage bytes and an oversized frame close that
//! connection only; an unknown code, a bad header, an invalid topic name and an oversized
//! message get RocketMQ error codes with a remark; other connections keep being served.
#![allow(clippy::unwrap_used)]

mod broker_common;

use std::time::Duration;

use broker_common::*;
use mq_core::cluster::LocalCluster;
use mq_core::protocol::{RemotingCommand, RequestCode, ResponseCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Writes `bytes` on a fresh connection and expects the broker to close it.
async fn expect_closed_after(addr: std::net::SocketAddr, bytes: &[u8]) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
        .await
        .expect("the broker should close the connection");
    // EOF (0) or a reset: either way no frame came back.
    assert!(matches!(read, Ok(0) | Err(_)), "unexpected answer {read:?}");
}

#[tokio::test]
async fn malformed_frames_close_only_their_connection() {
    init_logs();
    let dir = tempfile::tempdir().unwrap();
    let cluster = LocalCluster::builder()
        .configure(|c| c.max_frame_size = 64 * 1024)
        .start(dir.path())
        .await
        .unwrap();
    let healthy = Client::connect(cluster.broker_addr()).await;
    assert_eq!(
        healthy.call(send_v2("Bad", 0, b"before", "")).await.code,
        ResponseCode::SUCCESS
    );

    // A negative length, an unknown serialize type, a header longer than its frame.
    expect_closed_after(cluster.broker_addr(), &[0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0]).await;
    expect_closed_after(cluster.broker_addr(), &[0, 0, 0, 8, 7, 0, 0, 0, 1, 2, 3, 4]).await;
    expect_closed_after(
        cluster.broker_addr(),
        &[0, 0, 0, 8, 0, 0, 0, 99, 0, 0, 0, 0],
    )
    .await;
    // A JSON header that is not JSON.
    expect_closed_after(
        cluster.broker_addr(),
        &[0, 0, 0, 9, 0, 0, 0, 5, b'{', b'x', b'y', b'z', b'!'],
    )
    .await;
    // A frame announcing more than the 64 KiB limit is refused from its length prefix.
    let big =
        RemotingCommand::request(RequestCode::SEND_MESSAGE_V2).with_body(vec![0u8; 100 * 1024]);
    expect_closed_after(cluster.broker_addr(), &big.to_bytes().unwrap()).await;

    // The healthy connection was never disturbed.
    let r = healthy.call(send_v2("Bad", 0, b"after", "")).await;
    assert_eq!(
        (r.code, ext_i64(&r, "queueOffset")),
        (ResponseCode::SUCCESS, 1)
    );
    cluster.shutdown().await.unwrap();
}

#[tokio::test]
async fn bad_requests_get_typed_errors_with_remarks() {
    init_logs();
    let dir = tempfile::tempdir().unwrap();
    let cluster = LocalCluster::builder()
        .configure(|c| c.store.max_message_size = 1024)
        .start(dir.path())
        .await
        .unwrap();
    let client = Client::connect(cluster.broker_addr()).await;

    let r = client.call(RemotingCommand::request(9999)).await;
    assert_eq!(r.code, ResponseCode::REQUEST_CODE_NOT_SUPPORTED);
    assert!(r.remark.unwrap().contains("9999"));

    // A send header without its required fields.
    let r = client
        .call(RemotingCommand::request(RequestCode::SEND_MESSAGE_V2).with_ext("b", "T"))
        .await;
    assert_eq!(r.code, ResponseCode::SYSTEM_ERROR);
    assert!(r.remark.unwrap().contains("missing required field"));

    // A header field of the wrong type.
    let mut cmd = send_v2("T", 0, b"x", "");
    cmd.ext_fields.insert("e".into(), "zero".into());
    let r = client.call(cmd).await;
    assert_eq!(r.code, ResponseCode::SYSTEM_ERROR);

    for topic in ["bad topic", "bad/topic", &"x".repeat(128), ""] {
        let r = client.call(send_v2(topic, 0, b"x", "")).await;
        assert_eq!(r.code, ResponseCode::SYSTEM_ERROR, "topic {topic:?}: {r:?}");
        assert!(r.remark.unwrap().contains("topic name"));
    }

    let r = client
        .call(send_v2("SCHEDULE_TOPIC_XXXX", 0, b"x", ""))
        .await;
    assert_eq!(r.code, ResponseCode::NO_PERMISSION);

    let r = client.call(send_v2("Sized", 0, &vec![7u8; 2048], "")).await;
    assert_eq!(r.code, ResponseCode::MESSAGE_ILLEGAL);
    assert!(r.remark.unwrap().contains("max"));

    let r = client.call(send_v2("Sized", 99, b"x", "")).await;
    assert_eq!(
        r.code,
        ResponseCode::SYSTEM_ERROR,
        "queue beyond the topic's"
    );

    let r = client.call(pull("g", "NoSuchTopic", 0, 0, "*", 0)).await;
    assert_eq!(r.code, ResponseCode::TOPIC_NOT_EXIST);

    let mut bad_batch = send_batch("Sized", 0, &[b"a"]);
    bad_batch.body = vec![0, 0, 0, 99, 1].into();
    let r = client.call(bad_batch).await;
    assert_eq!(r.code, ResponseCode::MESSAGE_ILLEGAL);

    let r = client
        .call(RemotingCommand::request(RequestCode::HEART_BEAT).with_body(&b"{not json"[..]))
        .await;
    assert_eq!(r.code, ResponseCode::SYSTEM_ERROR);
    // A group whose retry topic could not exist.
    let r = client.call(heartbeat("c", "bad group", "Sized")).await;
    assert_eq!(r.code, ResponseCode::SYSTEM_ERROR);
    assert!(r.remark.unwrap().contains("bad group"));

    // After all that, the same connection still works.
    let r = client.call(send_v2("Sized", 0, b"fine", "")).await;
    assert_eq!(r.code, ResponseCode::SUCCESS);
    cluster.shutdown().await.unwrap();
}

#[tokio::test]
async fn oneway_requests_get_no_response() {
    use futures::{SinkExt, StreamExt};
    init_logs();
    let dir = tempfile::tempdir().unwrap();
    let cluster = LocalCluster::start(dir.path()).await.unwrap();
    let stream = TcpStream::connect(cluster.broker_addr()).await.unwrap();
    let mut framed =
        tokio_util::codec::Framed::new(stream, mq_core::protocol::RemotingCodec::new());
    // A oneway unknown code and a oneway offset update: neither may be answered, so the
    // first frame back is the response to the request after them.
    framed
        .send(RemotingCommand::request(4242).oneway())
        .await
        .unwrap();
    let update = RemotingCommand::request(RequestCode::UPDATE_CONSUMER_OFFSET)
        .with_ext("consumerGroup", "g")
        .with_ext("topic", "T")
        .with_ext("queueId", "0")
        .with_ext("commitOffset", "3")
        .oneway();
    framed.send(update).await.unwrap();
    let query = RemotingCommand::request(RequestCode::QUERY_CONSUMER_OFFSET)
        .with_ext("consumerGroup", "g")
        .with_ext("topic", "T")
        .with_ext("queueId", "0");
    let opaque = query.opaque;
    framed.send(query).await.unwrap();
    let first = tokio::time::timeout(Duration::from_secs(5), framed.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(first.opaque, opaque);
    assert_eq!(first.code, ResponseCode::SUCCESS);
    assert_eq!(
        first.ext("offset"),
        Some("3"),
        "the oneway commit was applied"
    );
    cluster.shutdown().await.unwrap();
}
