//! The one error type of the HTTP API: status codes in one `match`, and no SQL or Redis text
//! shown to clients (it is logged instead).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppError {
    /// A parameter is missing or malformed.
    #[error("{0}")]
    BadRequest(String),
    /// No such route.
    #[error("not found")]
    NotFound,
    /// MySQL or Redis could not answer.
    #[error(transparent)]
    Unavailable(#[from] crate::Error),
}

impl From<sqlx::Error> for AppError {
    fn from(err: sqlx::Error) -> Self {
        Self::Unavailable(err.into())
    }
}

impl From<seckill_order::Error> for AppError {
    fn from(err: seckill_order::Error) -> Self {
        Self::Unavailable(err.into())
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, body) = match &self {
            Self::BadRequest(message) => (
                StatusCode::BAD_REQUEST,
                json!({"status": "BAD_REQUEST", "message": message}),
            ),
            Self::NotFound => (StatusCode::NOT_FOUND, json!({"status": "NOT_FOUND"})),
            Self::Unavailable(err) => {
                tracing::warn!(error = %err, "request failed: dependency unavailable");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    json!({"status": "UNAVAILABLE"}),
                )
            }
        };
        (status, Json(body)).into_response()
    }
}
