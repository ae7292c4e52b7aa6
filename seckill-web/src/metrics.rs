//! The gate's Prometheus metrics: the recorder, the metric names, and the middleware that
//! counts requests by path and answer status and tracks requests in flight.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};

/// Requests answered, by `path` (the route pattern) and `status` (the JSON `status` field).
pub const REQUESTS: &str = "seckill_http_requests_total";
/// Request latency, by `path`.
pub const REQUEST_SECONDS: &str = "seckill_http_request_duration_seconds";
/// Requests being handled now.
pub const IN_FLIGHT: &str = "seckill_http_requests_in_flight";
/// Redis step latency, by `op` (take, give_back, result) and `outcome` (ok, error). The gate's
/// take and give-back are one script run per goods and batch, so one sample per run.
pub const REDIS_SECONDS: &str = "seckill_redis_duration_seconds";
/// Order publish latency, by `outcome` (ok or a [`crate::publisher::PublishError`] label):
/// one sample per batch send.
pub const PUBLISH_SECONDS: &str = "seckill_publish_duration_seconds";
/// Requests per gate batch, by `stage`: `take` (one Redis script run, one goods) and `send`
/// (one broker batch, the orders taken in one coalesced batch).
pub const BATCH_SIZE: &str = "seckill_gate_batch_size";
/// Requests answered `SOLD_OUT` from the local flag, without Redis.
pub const SOLD_OUT_FLAG_HITS: &str = "seckill_sold_out_flag_hits_total";
/// Places that could not be given back after a failed publish (stock leaked: page someone).
pub const GIVE_BACK_FAILURES: &str = "seckill_give_back_failures_total";

/// Latency buckets in seconds, from a local Redis round trip to a broker send timeout.
const BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];
/// Batch-size buckets, powers of two up to the largest batch `--max-batch` allows.
const SIZE_BUCKETS: &[f64] = &[
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0,
];

/// The `status` label of a response, set by whoever built the answer.
#[derive(Debug, Clone, Copy)]
pub struct StatusLabel(pub &'static str);

/// The process-wide recorder's handle: `metrics` has one global recorder, so every
/// [`crate::AppState`] of a process (tests build many) shares it.
static HANDLE: Mutex<Option<PrometheusHandle>> = Mutex::new(None);

/// Installs the Prometheus recorder on first call and answers its handle ever after.
pub fn install() -> Result<PrometheusHandle, BuildError> {
    let mut slot = HANDLE.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(handle) = slot.as_ref() {
        return Ok(handle.clone());
    }
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)?
        .set_buckets_for_metric(Matcher::Full(BATCH_SIZE.into()), SIZE_BUCKETS)?
        .install_recorder()?;
    describe();
    *slot = Some(handle.clone());
    Ok(handle)
}

fn describe() {
    describe_counter!(REQUESTS, "Requests answered, by route and answer status");
    describe_histogram!(
        REQUEST_SECONDS,
        metrics::Unit::Seconds,
        "Request latency by route"
    );
    describe_gauge!(IN_FLIGHT, "Requests being handled now");
    describe_histogram!(
        REDIS_SECONDS,
        metrics::Unit::Seconds,
        "Redis step latency by op and outcome"
    );
    describe_histogram!(
        PUBLISH_SECONDS,
        metrics::Unit::Seconds,
        "Order message publish latency by outcome"
    );
    describe_histogram!(
        BATCH_SIZE,
        metrics::Unit::Count,
        "Requests per gate batch, by stage (take: one Redis run, send: one broker batch)"
    );
    describe_counter!(
        SOLD_OUT_FLAG_HITS,
        "SOLD_OUT answers served from the local flag without Redis"
    );
    describe_counter!(
        GIVE_BACK_FAILURES,
        "Places that could not be given back after a failed publish"
    );
}

/// Drains histogram samples now and then, so an unscraped process does not grow them.
pub fn spawn_upkeep(handle: PrometheusHandle, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            handle.run_upkeep();
        }
    })
}

/// Records one Redis step.
pub fn redis_step(op: &'static str, started: Instant, ok: bool) {
    let outcome = if ok { "ok" } else { "error" };
    histogram!(REDIS_SECONDS, "op" => op, "outcome" => outcome).record(started.elapsed());
}

/// Records one publish (one batch send).
pub fn publish(started: Instant, outcome: &'static str) {
    histogram!(PUBLISH_SECONDS, "outcome" => outcome).record(started.elapsed());
}

/// Records the size of one batch at `stage` (`take` or `send`).
pub fn batch_size(stage: &'static str, requests: usize) {
    // Batches are bounded by `--max-batch`, far below f64's exact integers.
    histogram!(BATCH_SIZE, "stage" => stage).record(requests as f64);
}

/// Counts a `SOLD_OUT` answered from the local flag.
pub fn sold_out_flag_hit() {
    counter!(SOLD_OUT_FLAG_HITS).increment(1);
}

/// Counts `places` that stayed taken although their orders were not queued.
pub fn give_back_failed(places: usize) {
    counter!(GIVE_BACK_FAILURES).increment(u64::try_from(places).unwrap_or(u64::MAX));
}

/// Decrements the in-flight gauge however the request ends (answered or dropped).
struct InFlight;

impl InFlight {
    fn enter() -> Self {
        gauge!(IN_FLIGHT).increment(1.0);
        Self
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        gauge!(IN_FLIGHT).decrement(1.0);
    }
}

/// Middleware: in-flight gauge, request counter by route and status, latency by route.
pub async fn track(request: Request, next: Next) -> Response {
    // The route pattern, not the raw path: unmatched paths must not create label values.
    let path = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let _in_flight = InFlight::enter();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response
        .extensions()
        .get::<StatusLabel>()
        .map_or_else(|| response.status().as_str().to_owned(), |l| l.0.to_owned());
    counter!(REQUESTS, "path" => path.clone(), "status" => status).increment(1);
    histogram!(REQUEST_SECONDS, "path" => path).record(started.elapsed());
    response
}
