//! The multiplexed connection against a scripted server: responses matched by opaque in any
//! order, a timed-out request does not disturb the others, server-initiated requests are
//! answered, and a closed socket fails every waiting request.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use mq_core::client::ClientError;
use mq_core::client::connection::{Connection, ServerRequestHandler};
use mq_core::protocol::{RemotingCodec, RemotingCommand, SerializeType};
use tokio::net::TcpListener;
use tokio_util::codec::Framed;

/// A server that answers each request with its code in the remark, in reverse arrival order
/// per batch of `batch`, using JSON headers (the client must read both kinds).
async fn reversing_server(batch: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut framed = Framed::new(stream, RemotingCodec::new());
        let mut held = Vec::new();
        while let Some(Ok(request)) = framed.next().await {
            held.push(request);
            if held.len() == batch {
                for r in held.drain(..).rev() {
                    let response = RemotingCommand::response_to(&r, 0)
                        .with_remark(r.ext("i").unwrap_or("").to_owned())
                        .with_serialize_type(SerializeType::Json);
                    framed.send(&response).await.unwrap();
                }
            }
        }
    });
    addr
}

#[tokio::test]
async fn responses_are_matched_by_opaque_in_any_order() {
    let addr = reversing_server(100).await;
    let conn = Connection::connect(&addr, Duration::from_secs(1), None)
        .await
        .unwrap();
    let calls = (0..100).map(|i| {
        let conn = conn.clone();
        async move {
            let request = RemotingCommand::request(34).with_ext("i", i.to_string());
            let response = conn.invoke(request, Duration::from_secs(5)).await.unwrap();
            assert_eq!(response.remark.as_deref(), Some(i.to_string().as_str()));
        }
    });
    futures::future::join_all(calls).await;
}

#[tokio::test]
async fn a_timed_out_request_leaves_the_others_working() {
    // Answers only once it holds two requests: the first alone times out.
    let addr = reversing_server(2).await;
    let conn = Connection::connect(&addr, Duration::from_secs(1), None)
        .await
        .unwrap();
    let lonely = conn
        .invoke(
            RemotingCommand::request(34).with_ext("i", "late"),
            Duration::from_millis(200),
        )
        .await;
    assert!(matches!(lonely, Err(ClientError::Timeout)));
    // The late answer to the first arrives now and is dropped; the second gets its own.
    let second = conn
        .invoke(
            RemotingCommand::request(34).with_ext("i", "second"),
            Duration::from_secs(2),
        )
        .await
        .unwrap();
    assert_eq!(second.remark.as_deref(), Some("second"));
    assert!(!conn.is_closed());
}

#[tokio::test]
async fn closing_the_socket_fails_waiting_requests() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut framed = Framed::new(stream, RemotingCodec::new());
        let _first = framed.next().await;
        // Hang up without answering.
    });
    let conn = Connection::connect(&addr, Duration::from_secs(1), None)
        .await
        .unwrap();
    let result = conn
        .invoke(RemotingCommand::request(34), Duration::from_secs(5))
        .await;
    assert!(
        matches!(result, Err(ClientError::ConnectionClosed { .. })),
        "{result:?}"
    );
    assert!(conn.is_closed());
}

struct Echo;

#[async_trait::async_trait]
impl ServerRequestHandler for Echo {
    async fn handle(&self, request: RemotingCommand, _peer: &str) -> Option<RemotingCommand> {
        Some(RemotingCommand::response_to(&request, 0).with_remark("handled"))
    }
}

#[tokio::test]
async fn server_initiated_requests_are_answered() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut framed = Framed::new(stream, RemotingCodec::new());
        let mut remarks = Vec::new();
        // One request the handler answers, one oneway (no answer expected).
        framed
            .send(&RemotingCommand::request(307).with_opaque(900))
            .await
            .unwrap();
        framed
            .send(&RemotingCommand::request(40).with_opaque(901).oneway())
            .await
            .unwrap();
        let answer = framed.next().await.unwrap().unwrap();
        remarks.push((answer.opaque, answer.remark));
        tx.send(remarks).unwrap();
    });
    let _conn = Connection::connect(&addr, Duration::from_secs(1), Some(Arc::new(Echo)))
        .await
        .unwrap();
    let remarks = tokio::time::timeout(Duration::from_secs(5), rx)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(remarks, vec![(900, Some("handled".to_owned()))]);

    // Without a handler the client says the code is not supported.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut framed = Framed::new(stream, RemotingCodec::new());
        framed
            .send(&RemotingCommand::request(307).with_opaque(7))
            .await
            .unwrap();
        framed.next().await.unwrap().unwrap()
    });
    let _plain = Connection::connect(&addr, Duration::from_secs(1), None)
        .await
        .unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((answer.opaque, answer.code), (7, 3));
}

#[tokio::test]
async fn connecting_to_nothing_is_a_connect_error() {
    let err = Connection::connect("127.0.0.1:1", Duration::from_secs(1), None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ClientError::Connect { ref addr, .. } if addr == "127.0.0.1:1"),
        "{err}"
    );
}
