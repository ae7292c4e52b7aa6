//! The local sold-out flag: after Redis said SOLD_OUT the gate answers SOLD_OUT without Redis,
//! until a stock-returned event clears the flag or the flag expires.
//!
//! Proof that Redis is not asked: the goods' keys are deleted after the first SOLD_OUT, so a
//! request that reached Redis would be answered 404 NOT_FOUND.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use axum::http::StatusCode;
use common::Fixture;
use seckill_order::StockReturned;
use seckill_web::on_stock_returned;

#[tokio::test]
async fn sold_out_is_answered_locally_until_stock_returns() {
    let fx = Fixture::with("flag", |s| s.sold_out_ttl = Duration::from_secs(60)).await;
    fx.warm(1, 0).await;
    let (_, body) = fx.get("/seckill?goodsId=1&userId=1").await;
    assert_eq!(body["status"], "SOLD_OUT");

    fx.forget(1).await;
    for user in 2..=4 {
        let (status, body) = fx.get(&format!("/seckill?goodsId=1&userId={user}")).await;
        assert_eq!(
            (status, &body["status"]),
            (StatusCode::OK, &"SOLD_OUT".into()),
            "{body}"
        );
    }
    let (_, body) = fx.get("/seckill?goodsId=2&userId=1").await;
    assert_eq!(body["status"], "NOT_FOUND", "the flag is per goods");

    on_stock_returned(&fx.state.sold_out_flags(), StockReturned { goods_id: 1 });
    let (status, body) = fx.get("/seckill?goodsId=1&userId=5").await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "after the event Redis is asked: {body}"
    );

    let metrics = fx.get_text("/metrics").await;
    assert!(
        metrics.contains("seckill_sold_out_flag_hits_total"),
        "{metrics}"
    );
    fx.cleanup().await;
}

#[tokio::test]
async fn the_flag_expires_as_a_safety_net() {
    let fx = Fixture::with("flag-ttl", |s| s.sold_out_ttl = Duration::from_millis(150)).await;
    fx.warm(1, 0).await;
    let (_, body) = fx.get("/seckill?goodsId=1&userId=1").await;
    assert_eq!(body["status"], "SOLD_OUT");
    fx.forget(1).await;
    let (_, body) = fx.get("/seckill?goodsId=1&userId=2").await;
    assert_eq!(body["status"], "SOLD_OUT", "flag still fresh");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, body) = fx.get("/seckill?goodsId=1&userId=3").await;
    assert_eq!(
        body["status"], "NOT_FOUND",
        "expired flag: Redis asked again"
    );
    fx.cleanup().await;
}

#[tokio::test]
async fn a_zero_ttl_sends_every_request_to_redis() {
    let fx = Fixture::with("flag-off", |s| s.sold_out_ttl = Duration::ZERO).await;
    fx.warm(1, 0).await;
    let (_, body) = fx.get("/seckill?goodsId=1&userId=1").await;
    assert_eq!(body["status"], "SOLD_OUT");
    fx.forget(1).await;
    let (_, body) = fx.get("/seckill?goodsId=1&userId=2").await;
    assert_eq!(body["status"], "NOT_FOUND");
    fx.cleanup().await;
}
