//! [`run`]: the broker's life. Start-up (metadata, store, arrival listener, background
//! tasks), the accept loop bounded by a semaphore, and shutdown in layers: stop accepting,
//! release held pulls and answer in-flight requests, stop the background tasks,
//! unregister, persist offsets and topics, then flush and close the store (which writes
//! its clean-shutdown marker).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

use super::consumer_offsets::ConsumerOffsets;
use super::delay::{self, DelayOffsets};
use super::state::BrokerState;
use super::topic_config::TopicConfigs;
use super::{BrokerConfig, connection, namesrv_registration};
use crate::store::Store;

/// How long connections get to finish their in-flight requests after shutdown begins.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves the broker on `listener` until `shutdown` resolves.
///
/// Fails at start if the configuration is invalid, the listener's address cannot be
/// advertised (0.0.0.0 without [`BrokerConfig::advertise_addr`]), the metadata files are
/// unreadable, or the store cannot open. After start, errors are logged and served around;
/// the function returns once shutdown has completed.
pub async fn run(
    listener: TcpListener,
    config: BrokerConfig,
    shutdown: impl Future,
) -> crate::Result<()> {
    config.validate()?;
    let local = listener.local_addr()?;
    let addr = advertised_addr(&config, local)?;
    let topics = TopicConfigs::load(&config)?;
    let offsets = ConsumerOffsets::load(&config.store.dir)?;
    let delay_offsets = DelayOffsets::load(&config.store.dir)?;
    let mut store_config = config.store.clone();
    store_config.store_host = addr;
    let store = tokio::task::spawn_blocking(move || Store::open(store_config))
        .await
        .map_err(|e| crate::Error::Io(std::io::Error::other(e.to_string())))??;
    let state = Arc::new(BrokerState::new(
        config,
        addr,
        Arc::new(store),
        topics,
        offsets,
        delay_offsets,
    ));
    let arrivals = Arc::clone(&state.arrivals);
    state
        .store
        .set_arrival_listener(Arc::new(move |topic: &str, queue_id: i32, max: u64| {
            arrivals.notify(topic, queue_id, max);
        }));
    info!(
        %local,
        %addr,
        broker = %state.config.broker_name,
        cluster = %state.config.cluster_name,
        store = %state.config.store.dir.display(),
        flush = ?state.config.store.flush_disk_type,
        "broker listening"
    );

    let background = TaskTracker::new();
    background.spawn(namesrv_registration::run(Arc::clone(&state)));
    background.spawn(persist_periodically(Arc::clone(&state)));
    background.spawn(expire_channels(Arc::clone(&state)));
    delay::spawn(&state, &background);

    let connections = TaskTracker::new();
    let limit = Arc::new(Semaphore::new(state.config.max_connections));
    let next_conn_id = AtomicU64::new(1);
    let accept = async {
        loop {
            let Ok(permit) = Arc::clone(&limit).acquire_owned().await else {
                return;
            };
            let (stream, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Usually EMFILE or ECONNABORTED: transient, so back off and go on.
                    warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let conn_id = next_conn_id.fetch_add(1, Ordering::Relaxed);
            let state = Arc::clone(&state);
            connections.spawn(async move {
                connection::serve(state, stream, peer, conn_id).await;
                drop(permit);
            });
        }
    };
    tokio::select! {
        () = accept => {}
        _ = shutdown => info!("broker shutting down"),
    }

    drop(listener);
    state.shutdown.cancel();
    connections.close();
    if tokio::time::timeout(DRAIN_TIMEOUT, connections.wait())
        .await
        .is_err()
    {
        warn!("connections still busy after the drain timeout; closing them");
    }
    background.close();
    background.wait().await;
    namesrv_registration::unregister_all(&state).await;
    persist_all(&state);
    let store = Arc::clone(&state.store);
    let closed = tokio::task::spawn_blocking(move || store.close())
        .await
        .map_err(|e| crate::Error::Io(std::io::Error::other(e.to_string())))?;
    if let Err(e) = &closed {
        warn!(error = %e, "closing the store failed");
    }
    info!("broker stopped");
    closed.map_err(Into::into)
}

/// The address clients are told: the configured one, else the listener's, which must then
/// be a concrete address a client can dial.
fn advertised_addr(config: &BrokerConfig, local: SocketAddr) -> crate::Result<SocketAddr> {
    let addr = config.advertise_addr.unwrap_or(local);
    if addr.ip().is_unspecified() || addr.port() == 0 {
        return Err(crate::Error::InvalidArgument(format!(
            "the broker listens on {local}, which clients cannot dial: set an advertise address (--broker-ip)"
        )));
    }
    Ok(addr)
}

/// Writes consumer and delay offsets every `offset_persist_interval`.
async fn persist_periodically(state: Arc<BrokerState>) {
    let mut ticker = tokio::time::interval(state.config.offset_persist_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        tokio::select! {
            () = state.shutdown.cancelled() => return,
            _ = ticker.tick() => {}
        }
        let s = Arc::clone(&state);
        let written = tokio::task::spawn_blocking(move || {
            s.offsets.persist()?;
            s.delay_offsets.persist()
        })
        .await;
        match written {
            Ok(Ok(())) => {}
            Ok(Err(e)) => warn!(error = %e, "writing offsets failed; retrying next round"),
            Err(e) => warn!(error = %e, "the offset writer panicked"),
        }
    }
}

/// Final write of the metadata at shutdown.
fn persist_all(state: &BrokerState) {
    if let Err(e) = state.offsets.persist() {
        warn!(error = %e, "writing consumer offsets at shutdown failed");
    }
    if let Err(e) = state.delay_offsets.persist() {
        warn!(error = %e, "writing delay offsets at shutdown failed");
    }
}

/// Drops clients that stopped sending heartbeats, every `channel_scan_interval`.
async fn expire_channels(state: Arc<BrokerState>) {
    let mut ticker = tokio::time::interval(state.config.channel_scan_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = state.shutdown.cancelled() => return,
            _ = ticker.tick() => {}
        }
        for group in state
            .groups
            .expire(Instant::now(), state.config.channel_expiry)
        {
            warn!(%group, "a consumer stopped sending heartbeats; removed from its group");
            state.notify_consumer_ids_changed(&group);
        }
    }
}
