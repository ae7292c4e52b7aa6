//! seckill-web: the flash-sale HTTP gate (SPEC §4, seed §12.4).
//!
//! # Layout
//!
//! | module | owns |
//! |---|---|
//! | [`config`] | CLI flags and environment variables (clap) |
//! | [`state`] | [`AppState`]: Redis, publisher, sold-out flags, rate limit, metrics, gate tasks |
//! | [`routes`] | the handlers: `/seckill`, `/seckill/result`, `/healthz`, `/metrics` |
//! | [`coalescer`] | the gate's batching stage: take per goods and one broker batch per batch |
//! | [`extract`] | the strict `goodsId`/`userId` extractor (JSON rejections) |
//! | [`error`] | [`AppError`]: every non-2xx answer, status codes in one `match` |
//! | [`publisher`] | the [`OrderPublisher`] seam to the message queue; [`MqOrderPublisher`] over mq-core |
//! | [`stock_consumer`] | the broadcasting consumer of stock-returned events that clears sold-out flags |
//! | [`sold_out`] | the local per-goods sold-out flag and the stock-returned listener |
//! | [`rate_limit`] | the optional per-user rate limit |
//! | [`metrics`] | Prometheus recorder, metric names, request-tracking middleware |
//! | [`overload`] | the gate routes' shared concurrency limit (shedding) and request timeout |
//! | [`server`] | start-up (Redis with bounded retry, bind) and serving with graceful shutdown |
//!
//! A request's path: [`extract`] parses the ids → the rate limit and the [`sold_out`] flag may
//! answer at once → the [`coalescer`] puts it in the next batch → `seckill_order::gate::take_many`
//! (one Lua step per goods and batch: dedup + stock) → the [`OrderPublisher`] sends the batch's
//! orders as one broker batch and `QUEUED` is answered once the broker acknowledged it, or
//! the places are given back and `503` answered.

pub mod coalescer;
pub mod config;
pub mod error;
pub mod extract;
pub mod metrics;
pub mod overload;
pub mod publisher;
pub mod rate_limit;
pub mod routes;
pub mod server;
pub mod sold_out;
pub mod state;
pub mod stock_consumer;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::routing::get;
use tower::ServiceBuilder;
use tower_http::trace::TraceLayer;

pub use config::Config;
pub use error::AppError;
pub use publisher::{
    MqOrderPublisher, OrderPublisher, PublishError, PublishReceipt, PublisherSettings,
};
pub use sold_out::{SoldOutFlags, on_stock_returned};
pub use state::{AppState, GateSettings};
pub use stock_consumer::{StockConsumer, StockConsumerSettings};

/// Gate requests carry two small ids; a larger form body is refused before it is read.
const MAX_BODY_BYTES: usize = 4096;

/// Builds the gate's router.
///
/// The gate routes sit behind load shedding over one concurrency limit shared by both routes
/// and a per-request timeout ([`overload`]), so overload is answered `503` at once instead of
/// queueing without bound. `/healthz` and `/metrics` stay outside the limit: they must answer while the
/// gate is saturated.
pub fn app(state: AppState) -> Router {
    let settings = state.settings().clone();
    let gate = Router::new()
        .route(
            "/seckill",
            get(routes::seckill::seckill).post(routes::seckill::seckill),
        )
        .route("/seckill/result", get(routes::result::result))
        // One `layer` call: axum boxes (and clones per request) each route once per call.
        .layer(
            ServiceBuilder::new()
                .layer(overload::GuardLayer::new(
                    settings.max_concurrency,
                    settings.request_timeout,
                ))
                .layer(DefaultBodyLimit::max(MAX_BODY_BYTES)),
        );
    let ops = Router::new()
        .route("/healthz", get(routes::health::healthz))
        .route("/metrics", get(routes::metrics::metrics));
    gate.merge(ops)
        .method_not_allowed_fallback(|| async { AppError::MethodNotAllowed })
        .fallback(|| async { AppError::NoRoute })
        .layer(axum::middleware::from_fn(metrics::track))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .with_state(state)
}

/// One span per request; the gate fills in the ids once they are parsed.
fn request_span(request: &Request) -> tracing::Span {
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        goods_id = tracing::field::Empty,
        user_id = tracing::field::Empty,
    )
}
