//! Start-up and shutdown of the whole service: MySQL and Redis reached with a bounded retry,
//! migrations applied, the bloom filter rebuilt, Redis stock warmed, the batch writer, the
//! consumers, the stock-returned publisher and the HTTP server started — and stopped in
//! layers.

use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use sqlx::mysql::MySqlConnectOptions;
use sqlx::{ConnectOptions, Connection, MySqlPool};
use tokio::net::TcpListener;
use tokio::time::Instant;

use crate::batcher::{Batcher, BatcherConfig, BatcherTask};
use crate::config::Config;
use crate::consumer::Consumers;
use crate::dedup::Dedup;
use crate::error::{Error, Result};
use crate::events::StockEvents;
use crate::http::{self, AppState};
use crate::publisher::StockPublisher;
use crate::writer::OrderWriter;
use crate::{db, metrics, warmup};

/// Pause between start-up connection attempts (doubling up to [`MAX_RETRY_PAUSE`]).
const FIRST_RETRY_PAUSE: Duration = Duration::from_millis(250);
const MAX_RETRY_PAUSE: Duration = Duration::from_secs(4);
/// How long one start-up connection attempt may take.
const CONNECT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
/// Redis commands that take longer than this fail (and their messages are retried later).
const REDIS_RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Everything the running service holds.
#[derive(Debug)]
pub struct Service {
    /// The MySQL pool.
    pub pool: MySqlPool,
    /// The Redis connection.
    pub redis: ConnectionManager,
    /// The order writer (also used directly by the dead-letter handler).
    pub writer: Arc<OrderWriter>,
    /// Where listeners submit order messages.
    pub batcher: Batcher,
    /// The batch-writing task.
    pub batcher_task: BatcherTask,
    /// Goods whose stock came back, for the stock-returned publisher.
    pub events: Arc<StockEvents>,
    /// Renders `/metrics`.
    pub metrics: PrometheusHandle,
    prefix: String,
}

impl Service {
    /// Connects, migrates, rebuilds the bloom filter, warms Redis and starts the batch writer.
    pub async fn start(config: &Config) -> Result<Self> {
        config.validate().map_err(Error::Config)?;
        let metrics = metrics::install();
        let pool = connect_mysql(config).await?;
        db::migrate(&pool).await?;
        let redis = connect_redis(config).await?;
        let dedup = Arc::new(
            Dedup::rebuild(&pool, config.bloom_expected_items, config.bloom_fp_rate).await?,
        );
        warmup::warm_all(&pool, &redis, &config.redis_key_prefix, false).await?;
        let events = Arc::new(StockEvents::new());
        let writer = Arc::new(OrderWriter::new(
            pool.clone(),
            redis.clone(),
            &config.redis_key_prefix,
            dedup,
            events.clone(),
        )?);
        let batch_max = usize::try_from(config.batch_max).unwrap_or(1);
        let (batcher, batcher_task) = Batcher::spawn(
            writer.clone(),
            BatcherConfig::new(batch_max, config.batch_linger()),
        );
        Ok(Self {
            pool,
            redis,
            writer,
            batcher,
            batcher_task,
            events,
            metrics,
            prefix: config.redis_key_prefix.clone(),
        })
    }

    /// The HTTP API's state.
    pub fn app_state(&self) -> AppState {
        AppState {
            pool: self.pool.clone(),
            redis: self.redis.clone(),
            prefix: self.prefix.clone(),
            metrics: self.metrics.clone(),
        }
    }

    /// Writes what is still queued for the batch writer, then closes the pool. The consumer
    /// must have stopped (and its listener calls returned) before this is called.
    pub async fn shutdown(self) {
        drop(self.batcher);
        self.batcher_task.shutdown().await;
        self.pool.close().await;
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then lets in-flight requests finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}

async fn connect_mysql(config: &Config) -> Result<MySqlPool> {
    let url = config.database_url.as_str();
    if !(url.starts_with("mysql://") || url.starts_with("mariadb://")) {
        return Err(Error::Config(
            "--database-url must be a mysql:// or mariadb:// URL".into(),
        ));
    }
    let options = MySqlConnectOptions::from_str(url)
        .map_err(|e| Error::Config(format!("--database-url: {e}")))?;
    retry("MySQL", config.connect_timeout(), || async {
        // One plain connection first: it reports why it failed (refused, access denied),
        // where the pool would only say that it timed out.
        let probe = tokio::time::timeout(CONNECT_ATTEMPT_TIMEOUT, options.connect()).await;
        match probe {
            Ok(Ok(conn)) => {
                let _closed = conn.close().await;
            }
            Ok(Err(e)) => return Err(e.to_string()),
            Err(_) => return Err("connection attempt timed out".into()),
        }
        db::connect(
            url,
            config.db_max_connections,
            config.db_lock_wait_timeout_secs,
        )
        .await
        .map(Ok)
        .map_err(|e| e.to_string())
    })
    .await
}

async fn connect_redis(config: &Config) -> Result<ConnectionManager> {
    let client = redis::Client::open(config.redis_url.as_str())
        .map_err(|e| Error::Config(format!("--redis-url: {e}")))?;
    let manager_config = ConnectionManagerConfig::new()
        .set_number_of_retries(0)
        .set_connection_timeout(Some(CONNECT_ATTEMPT_TIMEOUT))
        .set_response_timeout(Some(REDIS_RESPONSE_TIMEOUT));
    retry("Redis", config.connect_timeout(), || async {
        ConnectionManager::new_with_config(client.clone(), manager_config.clone())
            .await
            .map(Ok)
            .map_err(|e| e.to_string())
    })
    .await
}

/// Calls `attempt` until it succeeds or `budget` is spent; `Err(reason)` means "try again",
/// `Ok(Err(_))` a final answer.
async fn retry<T, F, Fut>(what: &'static str, budget: Duration, mut attempt: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Result<T>, String>>,
{
    let deadline = Instant::now() + budget;
    let mut pause = FIRST_RETRY_PAUSE;
    let mut attempts = 0;
    loop {
        attempts += 1;
        match attempt().await {
            Ok(settled) => return settled,
            Err(last) if Instant::now() + pause >= deadline => {
                return Err(Error::Unreachable {
                    what,
                    attempts,
                    last,
                });
            }
            Err(last) => {
                tracing::warn!(what, attempts, error = %last, "not reachable yet; retrying");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(MAX_RETRY_PAUSE);
            }
        }
    }
}

/// Runs the service until `shutdown` resolves: the order consumer and the dead-letter handler
/// feeding the writer, the stock-returned publisher, and HTTP on `config.listen`.
///
/// Shutdown goes in layers: HTTP stops; the consumers stop pulling, their listener calls in
/// progress finish (their batches commit) and their offsets are committed; the batch writer
/// drains and the pool closes; the stock-returned events still pending are published; the
/// producer closes.
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| Error::Config(format!("cannot listen on {}: {e}", config.listen)))?;
    let service = Service::start(&config).await?;
    let publisher = match StockPublisher::start(&config, service.events.clone()).await {
        Ok(publisher) => publisher,
        Err(err) => {
            service.shutdown().await;
            return Err(err);
        }
    };
    let consumers = match Consumers::start(&config, &service).await {
        Ok(consumers) => consumers,
        Err(err) => {
            service.shutdown().await;
            publisher.shutdown().await;
            return Err(err);
        }
    };
    let listen = listener.local_addr().unwrap_or(config.listen);
    tracing::info!(%listen, "seckill-service ready");
    let served = serve(listener, http::app(service.app_state()), shutdown).await;
    tracing::info!("shutting down: stopping the consumers");
    consumers.shutdown().await;
    service.shutdown().await;
    publisher.shutdown().await;
    tracing::info!("seckill-service stopped");
    served
}
