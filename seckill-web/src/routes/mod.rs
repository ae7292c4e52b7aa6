//! The HTTP handlers, one file per endpoint family: the gate, the result poll, and the
//! operational endpoints (health, metrics).

pub mod health;
pub mod metrics;
pub mod result;
pub mod seckill;

use axum::Json;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::metrics::StatusLabel;

/// A `200` JSON answer whose `status` field also labels the request in the metrics.
pub(crate) fn answer(status: &'static str, body: impl Serialize) -> Response {
    let mut response = Json(body).into_response();
    response.extensions_mut().insert(StatusLabel(status));
    response
}
