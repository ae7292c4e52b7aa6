//! The gate's answers decided in Redis before any publish: DUPLICATE and SOLD_OUT, by GET and
//! POST, with the stock and the dedup marker left exactly as they were.
#![allow(clippy::unwrap_used)]

mod common;

use axum::http::StatusCode;
use common::Fixture;
use seckill_order::gate::{self, TakeOutcome};

#[tokio::test]
async fn a_user_holding_a_place_is_answered_duplicate_without_touching_stock() {
    let fx = Fixture::new("duplicate").await;
    fx.warm(1, 5).await;
    let mut redis = fx.redis.clone();
    let taken = gate::take(&mut redis, &fx.keys(1), 42, "r42")
        .await
        .unwrap();
    assert_eq!(taken, TakeOutcome::Taken { stock_left: 4 });

    let (status, body) = fx.get("/seckill?goodsId=1&userId=42").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "DUPLICATE");
    assert_eq!(
        (body["goodsId"].as_i64(), body["userId"].as_i64()),
        (Some(1), Some(42))
    );
    let (status, body) = fx.post_form("/seckill", "goodsId=1&userId=42").await;
    assert_eq!(
        (status, &body["status"]),
        (StatusCode::OK, &"DUPLICATE".into())
    );
    // Query and form parameters combine on POST.
    let (_, body) = fx.post_form("/seckill?goodsId=1", "userId=42").await;
    assert_eq!(body["status"], "DUPLICATE");

    assert_eq!(fx.stock(1).await, Some(4), "a duplicate never takes stock");
    let (_, body) = fx.get("/seckill/result?goodsId=1&userId=42").await;
    assert_eq!(body["status"], "PENDING", "the place is still held");
    fx.cleanup().await;
}

#[tokio::test]
async fn no_stock_left_is_sold_out_and_leaves_no_marker() {
    let fx = Fixture::new("sold-out").await;
    fx.warm(2, 0).await;
    for user in 1..=3 {
        let (status, body) = fx.get(&format!("/seckill?goodsId=2&userId={user}")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["status"], "SOLD_OUT", "{body}");
    }
    assert_eq!(fx.stock(2).await, Some(0), "stock never goes below zero");
    let mut redis = fx.redis.clone();
    let buyers: i64 = redis::cmd("HLEN")
        .arg(&fx.keys(2).results)
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(buyers, 0, "a sold-out answer holds no place");
    let (_, body) = fx.get("/seckill/result?goodsId=2&userId=1").await;
    assert_eq!(body["status"], "NONE");
    fx.cleanup().await;
}
