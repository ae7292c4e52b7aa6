//! What every request shares: the Redis connection, the order publisher, the gate's batching
//! stage, the local sold-out flags, the optional rate limit, the metrics handle and the
//! tracker of gate tasks.

use std::fmt;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use metrics_exporter_prometheus::PrometheusHandle;
use redis::aio::ConnectionManager;
use seckill_order::{GoodsKeys, keys};
use tokio_util::task::TaskTracker;

use crate::coalescer::Coalescer;
use crate::error::AppError;
use crate::publisher::OrderPublisher;
use crate::rate_limit::UserRateLimit;
use crate::sold_out::SoldOutFlags;

/// The gate's tunables (see [`crate::config::Config`] for their meaning and defaults).
#[derive(Debug, Clone)]
pub struct GateSettings {
    /// Prefix of every Redis key.
    pub key_prefix: String,
    /// Per-request timeout.
    pub request_timeout: Duration,
    /// Gate requests handled at once; more are shed with 503.
    pub max_concurrency: usize,
    /// Lifetime of a local sold-out flag (zero disables the flags).
    pub sold_out_ttl: Duration,
    /// Requests per user and second on `/seckill` (0 = no limit).
    pub rate_limit_per_user: u32,
    /// Most gate requests one batch takes.
    pub max_batch: usize,
    /// Gate batches in flight at once.
    pub batches_in_flight: usize,
}

impl Default for GateSettings {
    fn default() -> Self {
        Self {
            key_prefix: keys::DEFAULT_PREFIX.to_owned(),
            request_timeout: Duration::from_secs(5),
            max_concurrency: 4096,
            sold_out_ttl: Duration::from_secs(2),
            rate_limit_per_user: 0,
            max_batch: 256,
            batches_in_flight: 2,
        }
    }
}

/// Why an [`AppState`] could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// The Redis key prefix would break the `{goodsId}` hash tag.
    #[error(transparent)]
    Prefix(#[from] seckill_order::Error),
    /// The Prometheus recorder could not be installed.
    #[error("metrics recorder: {0}")]
    Metrics(#[from] metrics_exporter_prometheus::BuildError),
}

/// The state behind every route: one reference-counted [`Shared`], so the clone axum makes for
/// every request (the route's service and the `State` extractor) is one counter increment,
/// not one per shared part.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// What every request shares, behind [`AppState`].
pub struct Shared {
    pub(crate) redis: ConnectionManager,
    pub(crate) publisher: Arc<dyn OrderPublisher>,
    pub(crate) coalescer: Arc<Coalescer>,
    pub(crate) sold_out: Arc<SoldOutFlags>,
    pub(crate) rate_limit: Option<Arc<UserRateLimit>>,
    pub(crate) metrics: PrometheusHandle,
    pub(crate) settings: Arc<GateSettings>,
    pub(crate) tasks: TaskTracker,
}

impl AppState {
    /// Builds the state; installs the process-wide metrics recorder on first use.
    pub fn new(
        redis: ConnectionManager,
        publisher: Arc<dyn OrderPublisher>,
        settings: GateSettings,
    ) -> Result<Self, StateError> {
        keys::validate_prefix(&settings.key_prefix)?;
        let metrics = crate::metrics::install()?;
        Ok(Self(Arc::new(Shared {
            redis,
            publisher,
            coalescer: Arc::new(Coalescer::new(&settings)),
            sold_out: Arc::new(SoldOutFlags::new(settings.sold_out_ttl)),
            rate_limit: NonZeroU32::new(settings.rate_limit_per_user)
                .map(|n| Arc::new(UserRateLimit::new(n))),
            metrics,
            settings: Arc::new(settings),
            tasks: TaskTracker::new(),
        })))
    }

    /// The sold-out flags, for the stock-returned consumer
    /// ([`crate::sold_out::on_stock_returned`]).
    pub fn sold_out_flags(&self) -> Arc<SoldOutFlags> {
        Arc::clone(&self.sold_out)
    }

    /// The order publisher, to shut it down after the server drained.
    pub fn publisher(&self) -> Arc<dyn OrderPublisher> {
        Arc::clone(&self.publisher)
    }

    /// The gate tasks (the batch workers: take → publish → answer or give back, and
    /// background undos) that outlive a timed-out request; shutdown waits for them before it
    /// stops the publisher.
    pub fn gate_tasks(&self) -> &TaskTracker {
        &self.tasks
    }

    /// Gate requests waiting for a batch now (all batch slots busy): how far the next batch
    /// has grown.
    pub fn requests_waiting_for_a_batch(&self) -> usize {
        self.coalescer.waiting()
    }

    /// The settings the state was built with.
    pub fn settings(&self) -> &GateSettings {
        &self.settings
    }

    /// The metrics handle (for the upkeep task).
    pub fn metrics_handle(&self) -> &PrometheusHandle {
        &self.metrics
    }

    /// The Redis keys of `goods_id` under this gate's prefix.
    pub(crate) fn keys(&self, goods_id: i64) -> Result<GoodsKeys, AppError> {
        // The prefix was validated in `new`, so this cannot fail; still no panic path.
        GoodsKeys::new(&self.settings.key_prefix, goods_id).map_err(AppError::Redis)
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl fmt::Debug for AppState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppState")
            .field("settings", &self.settings)
            .field("sold_out", &self.sold_out)
            .field("rate_limit", &self.rate_limit.is_some())
            .field("coalescer", &self.coalescer)
            .field("gate_tasks", &self.tasks.len())
            .finish_non_exhaustive()
    }
}
