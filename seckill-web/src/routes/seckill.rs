//! `GET|POST /seckill?goodsId&userId`: the gate. Local checks first (rate limit, sold-out
//! flag), then the request joins the [`crate::coalescer`]'s next batch: one atomic Redis step
//! per goods, then the order messages in one broker batch; `QUEUED` only once the broker
//! acknowledged it, and a place whose message failed is given back before answering `503`.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::coalescer::Coalescer;
use crate::error::AppError;
use crate::extract::GoodsUser;
use crate::metrics;
use crate::routes::answer;
use crate::state::AppState;

pub use crate::coalescer::GateAnswer;

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
    Coalescer::submit(&state, ids).await
}
