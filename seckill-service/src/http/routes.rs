//! The handlers: each reads its parameters strictly (a bad one is a 400, never a 500) and
//! answers JSON with a stable `status` field.

use std::collections::HashMap;
use std::time::Duration;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};

use super::{AppError, AppState};
use crate::warmup;

/// How long `/healthz` waits for each dependency.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(2);

type Params = Result<Query<HashMap<String, String>>, QueryRejection>;

fn params(query: Params) -> Result<HashMap<String, String>, AppError> {
    query
        .map(|Query(map)| map)
        .map_err(|e| AppError::BadRequest(format!("malformed query string: {e}")))
}

fn positive_id(params: &HashMap<String, String>, name: &str) -> Result<i64, AppError> {
    let raw = params
        .get(name)
        .ok_or_else(|| AppError::BadRequest(format!("{name} is required")))?;
    match raw.trim().parse::<i64>() {
        Ok(id) if id > 0 => Ok(id),
        _ => Err(AppError::BadRequest(format!(
            "{name} must be a positive 64-bit integer, got {raw:?}"
        ))),
    }
}

fn flag(params: &HashMap<String, String>, name: &str) -> Result<bool, AppError> {
    match params
        .get(name)
        .map(|v| v.trim().to_ascii_lowercase())
        .as_deref()
    {
        None | Some("false" | "0") => Ok(false),
        Some("" | "true" | "1") => Ok(true),
        Some(other) => Err(AppError::BadRequest(format!(
            "{name} must be true or false, got {other:?}"
        ))),
    }
}

#[derive(Debug, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
struct OrderView {
    order_sn: String,
    goods_id: i64,
    create_time: String,
}

/// `GET /orders?userId=` — the user's orders, newest first.
pub(super) async fn orders(
    State(state): State<AppState>,
    query: Params,
) -> Result<Json<Value>, AppError> {
    let user_id = positive_id(&params(query)?, "userId")?;
    let orders: Vec<OrderView> = sqlx::query_as(
        "SELECT order_sn, goods_id, DATE_FORMAT(create_time, '%Y-%m-%dT%H:%i:%s.%f') AS create_time \
         FROM order_records WHERE user_id = ? ORDER BY create_time DESC, id DESC LIMIT 1000",
    )
    .bind(user_id)
    .fetch_all(&state.pool)
    .await?;
    Ok(Json(
        json!({"status": "OK", "userId": user_id, "orders": orders}),
    ))
}

#[derive(Debug, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
struct GoodsRow {
    id: i64,
    goods_name: Option<String>,
    price: Option<String>,
    stocks: i64,
    spike: i64,
}

/// `GET /goods` — every goods with its MySQL stock and the gate's Redis stock side by side.
pub(super) async fn goods(State(state): State<AppState>) -> Result<Json<Value>, AppError> {
    let rows: Vec<GoodsRow> = sqlx::query_as(
        "SELECT CAST(id AS SIGNED) AS id, goods_name, CAST(price AS CHAR) AS price, \
         CAST(stocks AS SIGNED) AS stocks, CAST(spike AS SIGNED) AS spike FROM goods ORDER BY id",
    )
    .fetch_all(&state.pool)
    .await?;
    let mut redis = state.redis.clone();
    let mut goods = Vec::with_capacity(rows.len());
    for row in rows {
        let keys = seckill_order::GoodsKeys::new(&state.prefix, row.id)?;
        let redis_stock = seckill_order::gate::stock(&mut redis, &keys).await?;
        goods.push(json!({
            "id": row.id,
            "goodsName": row.goods_name,
            "price": row.price,
            "spike": row.spike == 1,
            "mysqlStock": row.stocks,
            "redisStock": redis_stock,
        }));
    }
    Ok(Json(json!({"status": "OK", "goods": goods})))
}

/// `POST /admin/warmup[?overwrite=true]` — copies MySQL stock into Redis.
pub(super) async fn warmup(
    State(state): State<AppState>,
    query: Params,
) -> Result<Json<Value>, AppError> {
    let overwrite = flag(&params(query)?, "overwrite")?;
    let warmed = warmup::warm_all(&state.pool, &state.redis, &state.prefix, overwrite).await?;
    Ok(Json(
        json!({"status": "OK", "overwrite": overwrite, "goods": warmed}),
    ))
}

/// `GET /healthz` — 200 when MySQL and Redis both answer, else 503 naming the one that did not.
pub(super) async fn healthz(State(state): State<AppState>) -> Response {
    let mysql = tokio::time::timeout(
        HEALTH_TIMEOUT,
        sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&state.pool),
    )
    .await
    .is_ok_and(|r| r.is_ok());
    let mut conn = state.redis.clone();
    let redis = tokio::time::timeout(
        HEALTH_TIMEOUT,
        redis::cmd("PING").query_async::<String>(&mut conn),
    )
    .await
    .is_ok_and(|r| r.is_ok());
    let up = |ok: bool| if ok { "UP" } else { "DOWN" };
    let status = if mysql && redis {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if mysql && redis { "UP" } else { "UNAVAILABLE" },
        "mysql": up(mysql),
        "redis": up(redis),
    });
    (status, Json(body)).into_response()
}

/// `GET /metrics` — Prometheus text.
pub(super) async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

pub(super) async fn not_found() -> AppError {
    AppError::NotFound
}
