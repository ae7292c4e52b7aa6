//! The name server's network side: accept loop bounded by a semaphore, one task per
//! connection framing requests with [`RemotingCodec`], the periodic expiry scan, and layered
//! shutdown (stop accepting, let connections finish their request, return).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_util::codec::Framed;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info, warn};

use super::NamesrvConfig;
use super::processor::{State, process};
use crate::protocol::RemotingCodec;

/// How long connections get to finish after shutdown begins.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves the name server on `listener` until `shutdown` resolves.
///
/// Returns after the listener is closed and open connections have finished their current
/// request (or [`DRAIN_TIMEOUT`] passed). Accept errors are logged and retried, so the only
/// error is a listener that cannot report its address.
pub async fn run(
    listener: TcpListener,
    config: NamesrvConfig,
    shutdown: impl Future,
) -> crate::Result<()> {
    let local = listener.local_addr()?;
    let state = Arc::new(State::default());
    let token = CancellationToken::new();
    let tracker = TaskTracker::new();
    let limit = Arc::new(Semaphore::new(config.max_connections.max(1)));
    info!(%local, broker_timeout_ms = config.broker_timeout.as_millis() as u64, "name server listening");

    tracker.spawn(scan_expired(
        Arc::clone(&state),
        config.clone(),
        token.clone(),
    ));

    let accept = async {
        loop {
            let Ok(permit) = Arc::clone(&limit).acquire_owned().await else {
                return;
            };
            let (stream, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Usually EMFILE/ECONNABORTED: transient, so back off instead of exiting.
                    warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let state = Arc::clone(&state);
            let config = config.clone();
            let token = token.clone();
            tracker.spawn(async move {
                serve_connection(stream, peer, &state, &config, &token).await;
                drop(permit);
            });
        }
    };
    tokio::select! {
        () = accept => {}
        _ = shutdown => info!("name server shutting down"),
    }
    drop(listener);
    token.cancel();
    tracker.close();
    if tokio::time::timeout(DRAIN_TIMEOUT, tracker.wait())
        .await
        .is_err()
    {
        warn!("connections still open after the drain timeout; closing them");
    }
    info!("name server stopped");
    Ok(())
}

/// Drops brokers that stopped registering, every `scan_interval`.
async fn scan_expired(state: Arc<State>, config: NamesrvConfig, token: CancellationToken) {
    let mut ticker = tokio::time::interval(config.scan_interval.max(Duration::from_millis(1)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = token.cancelled() => return,
            _ = ticker.tick() => {}
        }
        let expired = state.routes().expire(Instant::now(), config.broker_timeout);
        for broker in expired {
            warn!(
                broker_addr = %broker.broker_addr,
                broker_name = %broker.broker_name,
                broker_id = broker.broker_id,
                "broker expired: no registration within the timeout; routes removed"
            );
        }
    }
}

/// Reads requests from one connection and answers them in order until the peer leaves,
/// sends a malformed frame, idles out, or the server shuts down.
async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    state: &State,
    config: &NamesrvConfig,
    token: &CancellationToken,
) {
    let _ = stream.set_nodelay(true);
    let mut framed = Framed::new(
        stream,
        RemotingCodec::with_max_frame_size(config.max_frame_size),
    );
    debug!(%peer, "connection opened");
    loop {
        let next = tokio::select! {
            () = token.cancelled() => break,
            next = tokio::time::timeout(config.idle_timeout, framed.next()) => next,
        };
        let request = match next {
            Err(_) => {
                debug!(%peer, "closing idle connection");
                break;
            }
            Ok(None) => break,
            Ok(Some(Err(e))) => {
                warn!(%peer, error = %e, "closing connection: undecodable frame");
                break;
            }
            Ok(Some(Ok(request))) => request,
        };
        if request.is_response() {
            debug!(%peer, opaque = request.opaque, "ignoring a response frame; the name server sends no requests");
            continue;
        }
        let response = process(state, &request);
        debug!(%peer, code = request.code, response = response.code, "request served");
        if request.is_oneway() {
            continue;
        }
        if let Err(e) = framed.send(&response).await {
            warn!(%peer, error = %e, "closing connection: cannot send response");
            break;
        }
    }
    debug!(%peer, "connection closed");
}
