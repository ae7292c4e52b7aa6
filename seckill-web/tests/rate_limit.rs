//! The optional per-user rate limit: off by default, and when on, N requests per user and
//! second on `/seckill`, then a JSON 429 with Retry-After.
#![allow(clippy::unwrap_used)]

mod common;

use axum::http::StatusCode;
use common::Fixture;

#[tokio::test]
async fn over_the_limit_a_user_gets_429_and_others_are_unaffected() {
    let fx = Fixture::with("rate", |s| s.rate_limit_per_user = 2).await;
    fx.warm(1, 0).await;
    for _ in 0..2 {
        let (_, body) = fx.get("/seckill?goodsId=1&userId=9").await;
        assert_eq!(body["status"], "SOLD_OUT");
    }
    let (status, body) = fx.get("/seckill?goodsId=1&userId=9").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["status"], "RATE_LIMITED");
    let (_, body) = fx.get("/seckill?goodsId=1&userId=10").await;
    assert_eq!(
        body["status"], "SOLD_OUT",
        "another user has a budget of their own"
    );
    let (status, _) = fx.get("/seckill/result?goodsId=1&userId=9").await;
    assert_eq!(
        status,
        StatusCode::OK,
        "polling results is not rate limited"
    );
    fx.cleanup().await;
}

#[tokio::test]
async fn no_limit_by_default() {
    let fx = Fixture::new("rate-off").await;
    fx.warm(1, 0).await;
    for _ in 0..50 {
        let (status, _) = fx.get("/seckill?goodsId=1&userId=9").await;
        assert_eq!(status, StatusCode::OK);
    }
    fx.cleanup().await;
}
