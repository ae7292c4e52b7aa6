//! The broker down: a request that took a place gets 503 UNAVAILABLE and the place is given
//! back (stock and dedup marker exactly as before, result NONE); once the broker is back the
//! same request is QUEUED.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use common::Fixture;

#[tokio::test]
async fn a_stopped_broker_gives_503_and_leaves_redis_as_it_was() {
    let mut fx = Fixture::new("broker-down").await;
    fx.warm(1, 3).await;
    // One order before the stop, so the producer holds a live route and connection.
    let (_, body) = fx.get("/seckill?goodsId=1&userId=1").await;
    assert_eq!(body["status"], "QUEUED", "{body}");
    let stock_before = fx.stock(1).await;
    let buyers_before = fx.buyers(1).await;
    assert_eq!((stock_before, buyers_before.clone()), (Some(2), vec![1]));

    fx.mq.cluster.stop_broker().await.unwrap();
    for user in 2..=4 {
        let started = Instant::now();
        let (status, body) = fx.get(&format!("/seckill?goodsId=1&userId={user}")).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert_eq!(body["status"], "UNAVAILABLE", "{body}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "bounded by the send timeout"
        );
        assert_eq!(fx.stock(1).await, stock_before, "stock given back");
        assert_eq!(fx.buyers(1).await, buyers_before, "dedup marker given back");
        let (_, result) = fx
            .get(&format!("/seckill/result?goodsId=1&userId={user}"))
            .await;
        assert_eq!(result["status"], "NONE", "{result}");
    }
    let metrics = fx.get_text("/metrics").await;
    assert!(
        metrics.contains(r#"seckill_http_requests_total{path="/seckill",status="UNAVAILABLE"}"#),
        "{metrics}"
    );

    fx.mq.cluster.restart_broker().await.unwrap();
    // The producer reconnects with back-off: retry the same user until it is queued. Every
    // answer before that must still be a clean 503 with the place given back.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = fx.get("/seckill?goodsId=1&userId=2").await;
        if body["status"] == "QUEUED" {
            break;
        }
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert_eq!(fx.stock(1).await, stock_before);
        assert!(
            Instant::now() < deadline,
            "not queued 30 s after the restart"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (_, body) = fx.get("/seckill?goodsId=1&userId=3").await;
    assert_eq!(body["status"], "QUEUED", "{body}");
    assert_eq!(fx.stock(1).await, Some(0));
    assert_eq!(fx.buyers(1).await, vec![1, 2, 3]);
    let keys: Vec<String> = fx.mq.orders_by_key(&fx.topic).await.into_keys().collect();
    assert_eq!(keys, vec!["1-1", "1-2", "1-3"]);
    fx.cleanup().await;
}
