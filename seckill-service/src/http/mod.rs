//! The HTTP API: order centre (`GET /orders`), stock side by side (`GET /goods`), warm-up
//! (`POST /admin/warmup`), `GET /healthz` and `GET /metrics`. [`app`] builds the router so
//! tests drive the real thing in-process.

mod error;
mod routes;

use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};
use metrics_exporter_prometheus::PrometheusHandle;
use redis::aio::ConnectionManager;
use sqlx::MySqlPool;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use error::AppError;

/// A request slower than this answers 408 instead of holding a connection.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// What the handlers share.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The MySQL pool.
    pub pool: MySqlPool,
    /// The Redis connection (multiplexed; clones share it).
    pub redis: ConnectionManager,
    /// Prefix of the gate's Redis keys.
    pub prefix: String,
    /// Renders `/metrics`.
    pub metrics: PrometheusHandle,
}

/// The service's router.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/orders", get(routes::orders))
        .route("/goods", get(routes::goods))
        .route("/admin/warmup", post(routes::warmup))
        .route("/healthz", get(routes::healthz))
        .route("/metrics", get(routes::metrics))
        .fallback(routes::not_found)
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
