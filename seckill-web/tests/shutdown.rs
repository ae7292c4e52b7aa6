//! Graceful shutdown in layers: on the signal the server stops accepting, answers the request
//! in flight, and only then shuts the publisher down.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::{PublishMustNotBeReached, black_hole};
use seckill_web::{AppState, GateSettings};
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
    let publisher = Arc::new(PublishMustNotBeReached::default());
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
        !publisher.shut_down.load(Ordering::SeqCst),
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
    assert!(publisher.shut_down.load(Ordering::SeqCst));
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "no longer accepting"
    );
}
