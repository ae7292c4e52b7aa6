//! What every client (producer, consumers, admin) shares: settings, client id, connections, routes.

use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use super::connection::RequestHandler;
use super::error::{ClientError, ClientResult};
use super::pool::ConnectionPool;
use super::route::RouteTable;
use crate::protocol::RemotingCommand;
use crate::protocol::code::ResponseCode;

/// RocketMQ's default name server address, used when none is configured.
pub const DEFAULT_NAMESRV_ADDR: &str = "127.0.0.1:9876";

/// Settings shared by every kind of client.
#[derive(Debug, Clone)]
pub(crate) struct ClientConfig {
    /// Name servers, tried in turn.
    pub namesrv_addrs: Vec<String>,
    /// The `instanceName` half of the client id; unique per client in this process by default.
    pub instance_name: String,
    /// Timeout of admin-style requests (offsets, heartbeats, routes): RocketMQ's 3 s.
    pub request_timeout: Duration,
    /// TCP connect timeout: RocketMQ's 3 s.
    pub connect_timeout: Duration,
    /// Route refresh period (`pollNameServerInterval`, 30 s).
    pub poll_namesrv_interval: Duration,
    /// Heartbeat period (`heartbeatBrokerInterval`, 30 s).
    pub heartbeat_interval: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            namesrv_addrs: parse_namesrv_list(DEFAULT_NAMESRV_ADDR),
            instance_name: default_instance_name(),
            request_timeout: Duration::from_secs(3),
            connect_timeout: Duration::from_secs(3),
            poll_namesrv_interval: Duration::from_secs(30),
            heartbeat_interval: Duration::from_secs(30),
        }
    }
}

impl ClientConfig {
    /// Refuses settings no client can run with.
    pub fn validate(&self) -> ClientResult<()> {
        if self.namesrv_addrs.is_empty() {
            return Err(ClientError::InvalidArgument(
                "no name server address given".into(),
            ));
        }
        Ok(())
    }
}

/// Splits a `;`-separated name server list, dropping blanks.
pub(crate) fn parse_namesrv_list(list: &str) -> Vec<String> {
    list.split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `pid#n`: Java uses the pid so two processes on a host differ; the counter makes two clients
/// of one process differ too (two consumers of one group in a test are two instances).
fn default_instance_name() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    format!(
        "{}#{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// This host's outward IPv4 address (the one a default route would use), else loopback.
pub(crate) fn local_ip() -> IpAddr {
    // Connecting a UDP socket sends nothing; it only asks the OS which source address it would use.
    UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))
        .and_then(|s| s.connect((Ipv4Addr::new(10, 255, 255, 255), 1)).map(|()| s))
        .and_then(|s| s.local_addr())
        .map(|a| a.ip())
        .ok()
        .filter(|ip| !ip.is_unspecified())
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

/// The shared machinery of one client: its id, its connections and its route cache.
#[derive(Debug)]
pub(crate) struct ClientCore {
    pub config: ClientConfig,
    /// `ip@instanceName`, as brokers list consumers.
    pub client_id: String,
    pub pool: Arc<ConnectionPool>,
    pub routes: RouteTable,
}

impl ClientCore {
    /// A client core; `config` must have passed [`ClientConfig::validate`].
    pub fn new(config: ClientConfig, handler: Option<RequestHandler>) -> Self {
        let pool = Arc::new(ConnectionPool::new(config.connect_timeout, handler));
        let client_id = format!("{}@{}", local_ip(), config.instance_name);
        let routes = RouteTable::new(
            config.namesrv_addrs.clone(),
            Arc::clone(&pool),
            config.request_timeout,
        );
        Self {
            config,
            client_id,
            pool,
            routes,
        }
    }

    /// Sends `request` to `addr` and returns the response if its code is SUCCESS.
    pub async fn call(
        &self,
        addr: &str,
        request: RemotingCommand,
    ) -> ClientResult<RemotingCommand> {
        self.call_with_timeout(addr, request, self.config.request_timeout)
            .await
    }

    /// [`Self::call`] with an explicit timeout.
    pub async fn call_with_timeout(
        &self,
        addr: &str,
        request: RemotingCommand,
        timeout: Duration,
    ) -> ClientResult<RemotingCommand> {
        let response = self.pool.invoke(addr, request, timeout).await?;
        expect_success(response)
    }
}

/// The response itself when its code is SUCCESS, else the refusal as [`ClientError::Broker`].
pub(crate) fn expect_success(response: RemotingCommand) -> ClientResult<RemotingCommand> {
    if response.code == ResponseCode::SUCCESS {
        Ok(response)
    } else {
        Err(ClientError::broker(response.code, response.remark))
    }
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
