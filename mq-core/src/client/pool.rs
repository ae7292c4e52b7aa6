//! Connections by address: one multiplexed [`Connection`] per peer, reopened with back-off.
//!
//! A dead connection is replaced on the next request; after a failed connect the next attempt
//! to that address waits a growing delay (50 ms doubling to 1 s) so a restarting broker is not
//! hammered, and concurrent callers share one connect attempt instead of racing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use super::connection::{Connection, RequestHandler};
use super::error::{ClientError, ClientResult};
use crate::protocol::RemotingCommand;

const BACKOFF_MIN: Duration = Duration::from_millis(50);
const BACKOFF_MAX: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy)]
struct Backoff {
    retry_at: Instant,
    delay: Duration,
}

#[derive(Default)]
struct State {
    conns: HashMap<String, Connection>,
    connecting: HashMap<String, Arc<tokio::sync::Mutex<()>>>,
    backoff: HashMap<String, Backoff>,
}

/// The connections of one client (producer, consumer or admin), keyed by `host:port`.
pub struct ConnectionPool {
    state: Mutex<State>,
    handler: Option<RequestHandler>,
    connect_timeout: Duration,
}

impl std::fmt::Debug for ConnectionPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionPool")
            .field("connect_timeout", &self.connect_timeout)
            .finish_non_exhaustive()
    }
}

impl ConnectionPool {
    /// A pool whose connections hand server-initiated requests to `handler`.
    pub fn new(connect_timeout: Duration, handler: Option<RequestHandler>) -> Self {
        Self {
            state: Mutex::new(State::default()),
            handler,
            connect_timeout,
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn live(&self, addr: &str) -> Option<Connection> {
        self.state()
            .conns
            .get(addr)
            .filter(|c| !c.is_closed())
            .cloned()
    }

    /// The live connection to `addr`, opening one (after any back-off) if needed.
    pub async fn get(&self, addr: &str) -> ClientResult<Connection> {
        if let Some(conn) = self.live(addr) {
            return Ok(conn);
        }
        let gate = Arc::clone(self.state().connecting.entry(addr.to_owned()).or_default());
        let _one_at_a_time = gate.lock().await;
        if let Some(conn) = self.live(addr) {
            return Ok(conn);
        }
        let backoff = self.state().backoff.get(addr).copied();
        if let Some(b) = backoff {
            tokio::time::sleep_until(b.retry_at).await;
        }
        match Connection::connect(addr, self.connect_timeout, self.handler.clone()).await {
            Ok(conn) => {
                let mut state = self.state();
                state.backoff.remove(addr);
                state.conns.insert(addr.to_owned(), conn.clone());
                Ok(conn)
            }
            Err(e) => {
                let delay = backoff.map_or(BACKOFF_MIN, |b| (b.delay * 2).min(BACKOFF_MAX));
                self.state().backoff.insert(
                    addr.to_owned(),
                    Backoff {
                        retry_at: Instant::now() + delay,
                        delay,
                    },
                );
                Err(e)
            }
        }
    }

    /// Sends `request` to `addr` and waits for the response, `timeout` covering the connect too.
    pub async fn invoke(
        &self,
        addr: &str,
        request: RemotingCommand,
        timeout: Duration,
    ) -> ClientResult<RemotingCommand> {
        let deadline = Instant::now() + timeout;
        let conn = tokio::time::timeout_at(deadline, self.get(addr))
            .await
            .map_err(|_| ClientError::Timeout)??;
        let left = super::error::remaining(deadline)?;
        let result = conn.invoke(request, left).await;
        if let Err(ClientError::ConnectionClosed { .. }) = &result {
            self.forget(addr, &conn);
        }
        result
    }

    /// Sends `request` to `addr` oneway.
    pub async fn invoke_oneway(
        &self,
        addr: &str,
        request: RemotingCommand,
        timeout: Duration,
    ) -> ClientResult<()> {
        let deadline = Instant::now() + timeout;
        let conn = tokio::time::timeout_at(deadline, self.get(addr))
            .await
            .map_err(|_| ClientError::Timeout)??;
        conn.invoke_oneway(request, super::error::remaining(deadline)?)
            .await
    }

    fn forget(&self, addr: &str, conn: &Connection) {
        let mut state = self.state();
        if state.conns.get(addr).is_some_and(Connection::is_closed) || conn.is_closed() {
            state.conns.remove(addr);
        }
    }

    /// Closes every connection (pending requests fail with `ConnectionClosed`).
    pub fn close_all(&self) {
        let conns: Vec<_> = self.state().conns.drain().collect();
        drop(conns);
    }
}
