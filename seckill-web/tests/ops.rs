//! `/healthz` and `/metrics`: cheap liveness and the Prometheus text with the gate's series.
#![allow(clippy::unwrap_used)]

mod common;

use axum::http::StatusCode;
use common::Fixture;

#[tokio::test]
async fn healthz_answers_up() {
    let fx = Fixture::new("healthz").await;
    let (status, body) = fx.get("/healthz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "UP");
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status_and_time_redis() {
    let fx = Fixture::new("metrics").await;
    fx.warm(1, 0).await;
    fx.get("/seckill?goodsId=1&userId=1").await;
    fx.get("/seckill?goodsId=1&userId=x").await;
    fx.get("/seckill/result?goodsId=1&userId=1").await;

    let text = fx.get_text("/metrics").await;
    for series in [
        r#"seckill_http_requests_total{path="/seckill",status="SOLD_OUT"}"#,
        r#"seckill_http_requests_total{path="/seckill",status="BAD_REQUEST"}"#,
        r#"seckill_http_requests_total{path="/seckill/result",status="NONE"}"#,
        r#"seckill_redis_duration_seconds_bucket{op="take",outcome="ok""#,
        r#"seckill_redis_duration_seconds_bucket{op="result",outcome="ok""#,
        "seckill_http_requests_in_flight",
        "# TYPE seckill_http_request_duration_seconds histogram",
    ] {
        assert!(text.contains(series), "missing {series} in:\n{text}");
    }
    fx.cleanup().await;
}
