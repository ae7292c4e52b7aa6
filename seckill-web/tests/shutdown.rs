//! Graceful shutdown in layers: on the signal the server stops accepting, answers the requests
//! in flight (their order messages included), and only then shuts the publisher down.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::{Fixture, black_hole, publisher_to_nowhere};
use seckill_order::OrderMessage;
use seckill_web::{AppState, GateSettings, OrderPublisher, PublishError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: gate\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}

#[tokio::test]
async fn shutdown_answers_the_request_in_flight_then_stops_the_publisher() {
    // A hung Redis keeps the gate request in flight for the Redis timeout (500 ms).
    let port = black_hole().await;
    let redis = seckill_web::server::redis_connection(
        &format!("redis://127.0.0.1:{port}"),
        Duration::from_millis(500),
    )
    .unwrap();
    let publisher = publisher_to_nowhere().await;
    let settings = GateSettings {
        key_prefix: "test-web-shutdown".into(),
        ..GateSettings::default()
    };
    let state = AppState::new(redis, publisher.clone(), settings).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(seckill_web::server::serve(listener, state, async {
        let _ = stopped.await;
    }));

    assert!(
        http_get(addr, "/healthz")
            .await
            .contains(r#"{"status":"UP"}"#)
    );
    let in_flight = tokio::spawn(http_get(addr, "/seckill?goodsId=1&userId=1"));
    tokio::time::sleep(Duration::from_millis(150)).await;
    stop.send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        !publisher.is_shut_down(),
        "the publisher outlives requests in flight"
    );

    let answer = in_flight.await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains(r#""status":"UNAVAILABLE""#), "{answer}");
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(publisher.is_shut_down());
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "no longer accepting"
    );
}

#[tokio::test]
async fn shutdown_with_sends_in_flight_loses_no_order() {
    let fx = Fixture::new("shutdown-sends").await;
    fx.warm(1, 10_000).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(seckill_web::server::serve(
        listener,
        fx.state.clone(),
        async {
            let _ = stopped.await;
        },
    ));

    // Many buyers at once; the signal comes as soon as the first of them is answered, so
    // the others are between their Redis step and the broker's acknowledgement.
    let signalled = Arc::new(AtomicBool::new(false));
    let (first_tx, first_rx) = tokio::sync::mpsc::channel::<()>(1);
    let mut requests = Vec::new();
    for user in 1..=300_i64 {
        let signalled = signalled.clone();
        let first_tx = first_tx.clone();
        requests.push(tokio::spawn(async move {
            let answer = try_http_get(addr, &format!("/seckill?goodsId=1&userId={user}")).await;
            let after_signal = signalled.load(Ordering::SeqCst);
            let _ = first_tx.try_send(());
            (user, answer, after_signal)
        }));
    }
    drop(first_tx);
    let mut first_rx = first_rx;
    first_rx.recv().await;
    signalled.store(true, Ordering::SeqCst);
    stop.send(()).unwrap();

    let mut queued = BTreeSet::new();
    let mut answered_after_signal = 0;
    for request in requests {
        let (user, answer, after_signal) = request.await.unwrap();
        // A connection the server never took is refused or closed unanswered: that request
        // took nothing (checked against Redis below). Every answered one must be QUEUED.
        let Some(answer) = answer else { continue };
        assert!(answer.starts_with("HTTP/1.1 200"), "user {user}: {answer}");
        assert!(
            answer.contains(r#""status":"QUEUED""#),
            "user {user}: {answer}"
        );
        queued.insert(user);
        if after_signal {
            answered_after_signal += 1;
        }
    }
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(
        answered_after_signal > 0,
        "no request was still in flight at the signal"
    );

    // The producer went last: a publish now is refused, and every QUEUED answer has its message.
    assert!(fx.publisher.is_shut_down());
    let late = OrderMessage {
        goods_id: 1,
        user_id: 99_999,
        request_id: "late".into(),
        timestamp: 0,
    };
    assert!(matches!(
        fx.publisher.publish(&late).await,
        Err(PublishError::ShutDown)
    ));
    let stored = fx.mq.orders_by_key(&fx.topic).await;
    let stored_users: BTreeSet<i64> = stored
        .values()
        .map(|m| OrderMessage::from_json(&m.body).unwrap().user_id)
        .collect();
    assert_eq!(
        stored_users, queued,
        "every QUEUED order is in the broker, no other"
    );
    let buyers: BTreeSet<i64> = fx.buyers(1).await.into_iter().collect();
    assert_eq!(buyers, queued, "no place held without its message");
    assert_eq!(fx.stock(1).await, Some(10_000 - queued.len() as i64));
    fx.cleanup().await;
}

/// One GET over a fresh connection; `None` when the server refused or closed it unanswered.
async fn try_http_get(addr: std::net::SocketAddr, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(addr).await.ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: gate\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await.ok()?;
    (!response.is_empty()).then_some(response)
}
