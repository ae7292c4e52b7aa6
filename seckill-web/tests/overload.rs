//! Redis down or hung, too many requests, too slow a request: every case is a JSON 503
//! UNAVAILABLE with Retry-After, never a hang and never dependency text in the answer.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{app_with_redis, black_hole, closed_port, send, send_raw};

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

#[tokio::test]
async fn redis_unreachable_is_503_on_both_gate_endpoints() {
    let port = closed_port().await;
    let app = app_with_redis(&format!("redis://127.0.0.1:{port}"), |_| {}).await;
    for uri in [
        "/seckill?goodsId=1&userId=1",
        "/seckill/result?goodsId=1&userId=1",
    ] {
        let (status, headers, body) = send_raw(&app, get(uri)).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{uri}");
        assert!(headers.contains_key(header::RETRY_AFTER));
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["status"], "UNAVAILABLE", "{body}");
        let message = body["message"].as_str().unwrap();
        assert!(!message.contains("127.0.0.1") && !message.contains(&port.to_string()));
    }
    // Liveness does not depend on Redis.
    let (status, _) = send(&app, get("/healthz")).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_hung_redis_is_503_within_the_redis_timeout() {
    let port = black_hole().await;
    let app = app_with_redis(&format!("redis://127.0.0.1:{port}"), |_| {}).await;
    let started = Instant::now();
    let (status, body) = send(&app, get("/seckill?goodsId=1&userId=1")).await;
    assert_eq!(
        (status, &body["status"]),
        (StatusCode::SERVICE_UNAVAILABLE, &"UNAVAILABLE".into())
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn requests_past_the_concurrency_limit_are_shed_with_503() {
    let port = black_hole().await;
    let app = app_with_redis(&format!("redis://127.0.0.1:{port}"), |s| {
        s.max_concurrency = 1
    })
    .await;
    // The first request holds the only slot while it waits on the hung Redis.
    let holder = tokio::spawn({
        let app = app.clone();
        async move { send(&app, get("/seckill?goodsId=1&userId=1")).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let (status, headers, body) = send_raw(&app, get("/seckill/result?goodsId=1&userId=2")).await;
    assert!(
        started.elapsed() < Duration::from_millis(200),
        "shed at once, not queued"
    );
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(headers.contains_key(header::RETRY_AFTER));
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["status"], "UNAVAILABLE");
    assert!(
        body["message"].as_str().unwrap().contains("too many"),
        "{body}"
    );
    // Operations endpoints stay outside the limit.
    let (status, _) = send(&app, get("/healthz")).await;
    assert_eq!(status, StatusCode::OK);

    let (status, body) = holder.await.unwrap();
    assert_eq!(
        (status, &body["status"]),
        (StatusCode::SERVICE_UNAVAILABLE, &"UNAVAILABLE".into())
    );
}

#[tokio::test]
async fn a_request_past_its_timeout_is_503() {
    let port = black_hole().await;
    let app = app_with_redis(&format!("redis://127.0.0.1:{port}"), |s| {
        s.request_timeout = Duration::from_millis(100)
    })
    .await;
    let started = Instant::now();
    let (status, body) = send(&app, get("/seckill?goodsId=1&userId=1")).await;
    assert!(
        started.elapsed() < Duration::from_millis(450),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["status"], "UNAVAILABLE");
    assert!(
        body["message"].as_str().unwrap().contains("timed out"),
        "{body}"
    );
}
