//! `GET|POST /seckill?goodsId&userId`: the gate. Local checks first (rate limit, sold-out
//! flag), then one atomic Redis step, then the order message; `QUEUED` only once the broker
//! acknowledged it, and a place whose message failed is given back before answering `503`.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use seckill_order::gate::{self, GiveBack, TakeOutcome};
use seckill_order::{GoodsKeys, OrderMessage};
use serde_json::json;
use tracing::Instrument;

use crate::error::AppError;
use crate::extract::GoodsUser;
use crate::metrics;
use crate::routes::answer;
use crate::state::AppState;

/// Pauses before the give-back attempts after a failed publish: a Redis blip should not leak
/// stock, but a request must not wait long for its 503 either.
const GIVE_BACK_PAUSES: [Duration; 3] = [
    Duration::ZERO,
    Duration::from_millis(50),
    Duration::from_millis(250),
];

/// What the gate decided (the `200` answers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GateAnswer {
    /// The broker acknowledged the order message.
    Queued {
        /// The ids asked for.
        ids: GoodsUser,
        /// The order message's request id (for support and logs).
        request_id: String,
    },
    /// The user already holds a place for this goods.
    Duplicate(GoodsUser),
    /// No stock left.
    SoldOut(GoodsUser),
}

impl IntoResponse for GateAnswer {
    fn into_response(self) -> Response {
        let (status, ids, request_id) = match self {
            Self::Queued { ids, request_id } => ("QUEUED", ids, Some(request_id)),
            Self::Duplicate(ids) => ("DUPLICATE", ids, None),
            Self::SoldOut(ids) => ("SOLD_OUT", ids, None),
        };
        let mut body = json!({ "status": status, "goodsId": ids.goods_id, "userId": ids.user_id });
        if let (Some(id), Some(map)) = (request_id, body.as_object_mut()) {
            map.insert("requestId".into(), id.into());
        }
        answer(status, body)
    }
}

/// The gate handler.
pub async fn seckill(
    State(state): State<AppState>,
    ids: GoodsUser,
) -> Result<GateAnswer, AppError> {
    let span = tracing::Span::current();
    span.record("goods_id", ids.goods_id);
    span.record("user_id", ids.user_id);
    if let Some(limit) = &state.rate_limit {
        if !limit.allow(ids.user_id) {
            return Err(AppError::RateLimited {
                retry_after_secs: 1,
            });
        }
    }
    if state.sold_out.is_sold_out(ids.goods_id) {
        metrics::sold_out_flag_hit();
        return Ok(GateAnswer::SoldOut(ids));
    }
    let keys = state.keys(ids.goods_id)?;
    // Detached on purpose: if the client goes away or the request times out, dropping this
    // future between the Redis step and the publish (or the give-back) would leak the place.
    // The task always runs to QUEUED or given back; shutdown waits for it.
    let task = state
        .tasks
        .spawn(take_and_publish(state.clone(), keys, ids).instrument(span));
    task.await
        .map_err(|e| AppError::Internal(format!("gate task failed: {e}")))?
}

async fn take_and_publish(
    state: AppState,
    keys: GoodsKeys,
    ids: GoodsUser,
) -> Result<GateAnswer, AppError> {
    let seen = state.sold_out.observe();
    let request_id = uuid::Uuid::now_v7().to_string();
    let mut redis = state.redis.clone();
    let started = Instant::now();
    let taken = gate::take(&mut redis, &keys, ids.user_id, &request_id).await;
    metrics::redis_step("take", started, taken.is_ok());
    let taken = match taken {
        Ok(taken) => taken,
        Err(error) => {
            // The script may have run with only its answer lost (a timeout): undo this
            // request's place, if it took one, so no unit is held for an order never sent.
            // In the background: Redis is failing, so the undo may wait out its own timeouts,
            // and the caller's 503 must not wait for them (shutdown still waits for the task).
            let undo_state = state.clone();
            state.tasks.spawn(async move {
                give_back(&undo_state, &keys, ids, &request_id).await;
            });
            return Err(error.into());
        }
    };
    match taken {
        TakeOutcome::NotFound => Err(AppError::GoodsNotFound {
            goods_id: ids.goods_id,
        }),
        TakeOutcome::Duplicate => Ok(GateAnswer::Duplicate(ids)),
        TakeOutcome::SoldOut => {
            state.sold_out.mark_sold_out(ids.goods_id, seen);
            Ok(GateAnswer::SoldOut(ids))
        }
        TakeOutcome::Taken { stock_left } => {
            if stock_left == 0 {
                // This request took the last unit: spare the next ones the round trip. A
                // failed publish below gives the unit back and clears the flag again.
                state.sold_out.mark_sold_out(ids.goods_id, seen);
            }
            publish_or_give_back(&state, &keys, ids, request_id).await
        }
    }
}

async fn publish_or_give_back(
    state: &AppState,
    keys: &GoodsKeys,
    ids: GoodsUser,
    request_id: String,
) -> Result<GateAnswer, AppError> {
    let order = OrderMessage {
        goods_id: ids.goods_id,
        user_id: ids.user_id,
        request_id,
        timestamp: unix_millis(),
    };
    let started = Instant::now();
    match state.publisher.publish(&order).await {
        Ok(receipt) => {
            metrics::publish(
                started,
                if receipt.durable {
                    "ok"
                } else {
                    "ok_not_durable"
                },
            );
            tracing::debug!(msg_id = %receipt.msg_id, request_id = %order.request_id, "queued");
            Ok(GateAnswer::Queued {
                ids,
                request_id: order.request_id,
            })
        }
        Err(error) => {
            metrics::publish(started, error.label());
            give_back(state, keys, ids, &order.request_id).await;
            Err(AppError::Publish(error))
        }
    }
}

/// Returns the place request `request_id` took, if it took one (its message was not
/// acknowledged, or its take's answer was lost). The give-back is idempotent and scoped to
/// the request, so retrying after an ambiguous Redis error cannot return the unit twice nor
/// undo a place another request holds.
async fn give_back(state: &AppState, keys: &GoodsKeys, ids: GoodsUser, request_id: &str) {
    let mut redis = state.redis.clone();
    for pause in GIVE_BACK_PAUSES {
        tokio::time::sleep(pause).await;
        let started = Instant::now();
        let returned =
            gate::give_back_request(&mut redis, keys, ids.user_id, request_id, GiveBack::Forget)
                .await;
        metrics::redis_step("give_back", started, returned.is_ok());
        match returned {
            Ok(_) => {
                state.sold_out.clear(ids.goods_id);
                return;
            }
            Err(error) => tracing::warn!(%error, "give-back failed; retrying"),
        }
    }
    metrics::give_back_failed();
    tracing::error!(
        goods_id = ids.goods_id,
        user_id = ids.user_id,
        "place not given back after a failed publish: one unit of stock is held for nobody"
    );
}

fn unix_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
