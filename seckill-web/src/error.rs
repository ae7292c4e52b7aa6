//! The one error type of the gate's HTTP answers: every non-2xx answer is an [`AppError`], and
//! its status code and JSON body are decided in one `match` here.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::metrics::StatusLabel;
use crate::publisher::PublishError;

/// Why a request was not answered with a gate outcome.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppError {
    /// The parameters are missing, malformed, repeated or out of range (400).
    #[error("{0}")]
    BadRequest(String),
    /// The goods is not on sale: Redis has no stock counter for it (404).
    #[error("goods {goods_id} is not on sale")]
    GoodsNotFound {
        /// The goods asked for.
        goods_id: i64,
    },
    /// No route for this path (404).
    #[error("no such endpoint")]
    NoRoute,
    /// The path exists but not for this method (405).
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The user sent more requests than the per-user rate limit allows (429).
    #[error("too many requests for this user; retry in {retry_after_secs} s")]
    RateLimited {
        /// Seconds until the user's window opens again.
        retry_after_secs: u64,
    },
    /// Redis failed or timed out (503). The text stays in the log, never in the answer.
    #[error("redis: {0}")]
    Redis(#[from] seckill_order::Error),
    /// The broker did not acknowledge the order; the place was given back (503).
    #[error("publish: {0}")]
    Publish(#[from] PublishError),
    /// Too many requests in flight: shed instead of queued (503).
    #[error("overloaded")]
    Overloaded,
    /// The request ran past the per-request timeout (503).
    #[error("request timed out")]
    TimedOut,
    /// A bug: a gate task panicked or a layer failed in an unexpected way (500).
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    /// The HTTP status and the stable `status` field of the JSON body.
    fn classify(&self) -> (StatusCode, &'static str) {
        match self {
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "BAD_REQUEST"),
            Self::GoodsNotFound { .. } | Self::NoRoute => (StatusCode::NOT_FOUND, "NOT_FOUND"),
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED"),
            Self::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED"),
            Self::Redis(_) | Self::Publish(_) | Self::Overloaded | Self::TimedOut => {
                (StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE")
            }
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL"),
        }
    }

    /// What the client may read: dependency failures are summarised, never quoted, so no
    /// Redis or broker text (addresses, keys) leaks out.
    fn public_message(&self) -> String {
        match self {
            Self::Redis(_) => "the stock store is unavailable; nothing was taken".into(),
            Self::Publish(_) => "the order queue is unavailable; nothing was taken".into(),
            Self::Overloaded => "too many requests in flight; retry later".into(),
            Self::Internal(_) => "internal error".into(),
            other => other.to_string(),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (code, status) = self.classify();
        match &self {
            Self::Redis(_) | Self::Publish(_) | Self::Internal(_) => {
                tracing::error!(error = %self, "request failed")
            }
            Self::Overloaded | Self::TimedOut => tracing::warn!(error = %self, "request shed"),
            _ => tracing::debug!(error = %self, "request refused"),
        }
        let mut response = (
            code,
            Json(json!({ "status": status, "message": self.public_message() })),
        )
            .into_response();
        let retry_after = match self {
            Self::RateLimited { retry_after_secs } => Some(retry_after_secs.max(1)),
            Self::Overloaded | Self::TimedOut | Self::Redis(_) | Self::Publish(_) => Some(1),
            _ => None,
        };
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response.extensions_mut().insert(StatusLabel(status));
        response
    }
}
