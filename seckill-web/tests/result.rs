//! `/seckill/result`: each stored result maps to its status, SUCCESS with its order number.
#![allow(clippy::unwrap_used)]

mod common;

use axum::http::StatusCode;
use common::Fixture;
use seckill_order::gate::{self, GiveBack};
use seckill_order::result;

#[tokio::test]
async fn each_stored_result_is_reported() {
    let fx = Fixture::new("result").await;
    fx.warm(1, 10).await;
    let keys = fx.keys(1);
    let mut redis = fx.redis.clone();

    let (status, body) = fx.get("/seckill/result?goodsId=1&userId=1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "NONE");
    assert!(body["orderSn"].is_null());

    gate::take(&mut redis, &keys, 1, "r1").await.unwrap();
    let (_, body) = fx.get("/seckill/result?goodsId=1&userId=1").await;
    assert_eq!(body["status"], "PENDING");

    result::record_success(&mut redis, &keys, 1, "SN-0001")
        .await
        .unwrap();
    let (_, body) = fx.get("/seckill/result?goodsId=1&userId=1").await;
    assert_eq!(body["status"], "SUCCESS");
    assert_eq!(body["orderSn"], "SN-0001");
    assert_eq!(
        (body["goodsId"].as_i64(), body["userId"].as_i64()),
        (Some(1), Some(1))
    );

    gate::take(&mut redis, &keys, 2, "r2").await.unwrap();
    gate::give_back(&mut redis, &keys, 2, GiveBack::Failed)
        .await
        .unwrap();
    let (_, body) = fx.get("/seckill/result?goodsId=1&userId=2").await;
    assert_eq!(body["status"], "FAILED");
    assert_eq!(
        fx.stock(1).await,
        Some(9),
        "the failed order's unit came back"
    );
    fx.cleanup().await;
}
