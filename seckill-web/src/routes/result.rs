//! `GET /seckill/result?goodsId&userId`: where a user's order stands (the seed's "check your
//! orders later"): `PENDING`, `SUCCESS` with its `orderSn`, `FAILED`, or `NONE`.

use std::time::Instant;

use axum::extract::State;
use axum::response::Response;
use seckill_order::{OrderResult, result};
use serde_json::json;

use crate::error::AppError;
use crate::extract::GoodsUser;
use crate::metrics;
use crate::routes::answer;
use crate::state::AppState;

/// Reads the user's result from Redis; `503` when Redis cannot answer.
pub async fn result(State(state): State<AppState>, ids: GoodsUser) -> Result<Response, AppError> {
    let keys = state.keys(ids.goods_id)?;
    let mut redis = state.redis.clone();
    let started = Instant::now();
    let outcome = result::get(&mut redis, &keys, ids.user_id).await;
    metrics::redis_step("result", started, outcome.is_ok());
    let stored = outcome?;
    let order_sn = match &stored {
        OrderResult::Success { order_sn } => Some(order_sn.as_str()),
        _ => None,
    };
    let status = stored.status();
    Ok(answer(
        status,
        json!({
        "status": status,
        "goodsId": ids.goods_id,
        "userId": ids.user_id,
        "orderSn": order_sn,
        }),
    ))
}
