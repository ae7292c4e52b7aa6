//! Start-up and serving: Redis with a bounded retry, binding the listener, and serving with
//! graceful shutdown in layers (stop accepting → answer in-flight requests → let detached gate
//! tasks finish → shut the publisher down).

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::RedisError;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::net::TcpListener;

use crate::config::Config;
use crate::publisher::OrderPublisher;
use crate::state::{AppState, StateError};
use crate::{app, metrics};

/// Pause between start-up attempts to reach Redis.
const RETRY_PAUSE: Duration = Duration::from_millis(500);
/// How often histogram samples are drained when nobody scrapes `/metrics`.
const METRICS_UPKEEP: Duration = Duration::from_secs(5);

/// Why the gate could not start; printed as one line by the binary.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartupError {
    /// `REDIS_URL` is not a Redis URL.
    #[error("invalid Redis URL {url}: {source}")]
    RedisUrl {
        /// The URL, password masked.
        url: String,
        /// Why it was refused.
        source: RedisError,
    },
    /// Redis did not answer `PING` within the start-up timeout.
    #[error("Redis at {url} unreachable after {attempts} attempts in {waited:?}: {last}")]
    RedisUnreachable {
        /// The URL, password masked.
        url: String,
        /// Attempts made.
        attempts: u32,
        /// Time spent trying.
        waited: Duration,
        /// The last attempt's error.
        last: RedisError,
    },
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// The operating system's answer.
        source: std::io::Error,
    },
    /// The application state could not be built.
    #[error(transparent)]
    State(#[from] StateError),
    /// The settings contradict each other.
    #[error("invalid settings: {0}")]
    InvalidSetting(String),
    /// No name server answered with a route to the order topic within the start-up timeout.
    #[error(
        "mq-core name server {namesrv} unreachable or routing no broker for topic {topic} \
         after {attempts} attempts in {waited:?}: {last}"
    )]
    MqUnreachable {
        /// The configured name server address(es).
        namesrv: String,
        /// The order topic.
        topic: String,
        /// Attempts made.
        attempts: u32,
        /// Time spent trying.
        waited: Duration,
        /// The last attempt's failure.
        last: String,
    },
    /// An mq-core client could not be started.
    #[error("{what}: {source}")]
    Mq {
        /// What was being started.
        what: &'static str,
        /// The client's error.
        source: mq_core::client::ClientError,
    },
    /// The stock-returned consumer's offset directory could not be made.
    #[error("cannot make an offset directory under {}: {source}", dir.display())]
    OffsetDir {
        /// The configured directory.
        dir: std::path::PathBuf,
        /// The operating system's answer.
        source: std::io::Error,
    },
}

/// A Redis connection that connects on first use and reconnects by itself, every command and
/// connection attempt bounded by `timeout` (so a hung Redis becomes a `503`, not a hung gate).
pub fn redis_connection(url: &str, timeout: Duration) -> Result<ConnectionManager, RedisError> {
    let client = redis::Client::open(url)?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(timeout))
        .set_number_of_retries(1);
    ConnectionManager::new_lazy_with_config(client, config)
}

/// Connects to Redis and checks it answers `PING`, retrying until `budget` is spent.
pub async fn connect_redis(
    url: &str,
    timeout: Duration,
    budget: Duration,
) -> Result<ConnectionManager, StartupError> {
    let shown = redact(url);
    let mut redis = redis_connection(url, timeout).map_err(|source| StartupError::RedisUrl {
        url: shown.clone(),
        source,
    })?;
    let started = Instant::now();
    let mut attempts = 0;
    loop {
        attempts += 1;
        let ping: Result<String, RedisError> = redis::cmd("PING").query_async(&mut redis).await;
        match ping {
            Ok(_) => return Ok(redis),
            Err(last) if started.elapsed() + RETRY_PAUSE >= budget => {
                return Err(StartupError::RedisUnreachable {
                    url: shown,
                    attempts,
                    waited: started.elapsed(),
                    last,
                });
            }
            Err(error) => {
                tracing::warn!(url = %shown, %error, "Redis not reachable yet; retrying");
                tokio::time::sleep(RETRY_PAUSE).await;
            }
        }
    }
}

/// Everything start-up does before serving: Redis reachable, state built, listener bound.
/// The broadcasting stock-returned consumer is started between this and [`serve`], with
/// [`AppState::sold_out_flags`].
pub async fn prepare(
    config: &Config,
    publisher: Arc<dyn OrderPublisher>,
) -> Result<(TcpListener, AppState), StartupError> {
    let redis = connect_redis(
        &config.redis_url,
        config.redis_timeout(),
        config.startup_timeout(),
    )
    .await?;
    let state = AppState::new(redis, publisher, config.gate_settings())?;
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| StartupError::Bind {
            addr: config.listen,
            source,
        })?;
    Ok((listener, state))
}

/// Serves the gate on `listener` until `shutdown` resolves, then drains: in-flight requests
/// are answered, gate tasks that outlived their request finish, and the publisher is shut
/// down last, so no taken place is left without its message or its give-back.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let tasks = state.gate_tasks().clone();
    let publisher = state.publisher();
    let upkeep = metrics::spawn_upkeep(state.metrics_handle().clone(), METRICS_UPKEEP);
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "seckill-web listening");
    }
    let served = axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await;
    tracing::info!(
        pending = tasks.len(),
        "HTTP server drained; finishing gate tasks"
    );
    tasks.close();
    tasks.wait().await;
    publisher.shutdown().await;
    upkeep.abort();
    tracing::info!("seckill-web stopped");
    served
}

/// The URL with its password masked, for logs and error lines.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}***{}", &url[..scheme_end + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_are_masked_in_shown_urls() {
        assert_eq!(redact("redis://:secret@db:6379/0"), "redis://***@db:6379/0");
        assert_eq!(redact("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
    }
}
