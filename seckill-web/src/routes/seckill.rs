//! `GET|POST /seckill?goodsId&userId`: the gate. Local checks first (rate limit, sold-out
//! flag), then the request joins the [`crate::coalescer`]'s next batch: one atomic Redis step
//! per goods, then the order messages in one broker batch; `QUEUED` only once the broker
//! acknowledged it, and a place whose message failed is given back before answering `503`.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

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
        let body = AnswerBody {
            status,
            goods_id: ids.goods_id,
            user_id: ids.user_id,
            request_id,
        };
        answer(status, body)
    }
}

/// The JSON of a gate answer, serialised straight from this struct: the hottest answer of the
/// service is built without an intermediate `serde_json::Value` map.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AnswerBody {
    status: &'static str,
    goods_id: i64,
    user_id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<String>,
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
