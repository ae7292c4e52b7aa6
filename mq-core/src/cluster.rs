//! Test harnesses that run a name server and a broker on free `127.0.0.1` ports.
//!
//! - [`LocalCluster`]: both inside the current tokio runtime (fast; stop, restart on the same
//!   store and port, shut down).
//! - [`ProcessCluster`]: the broker as a child process of a given binary (e.g.
//!   `env!("CARGO_BIN_EXE_mq-broker")`), so tests can `kill -9` it and start it again; the
//!   name server runs in-process unless a name-server binary is given too.
//!
//! Starting (or restarting) a broker returns once the broker accepts connections and is
//! registered with the name server, so clients find its routes at once.
//!
//! ```no_run
//! # async fn demo(dir: &std::path::Path) -> mq_core::Result<()> {
//! use mq_core::cluster::LocalCluster;
//! let cluster = LocalCluster::builder().delay_levels("1s 2s 3s").start(dir).await?;
//! let broker = cluster.broker_addr(); // send and pull here
//! cluster.shutdown().await?;
//! # Ok(()) }
//! ```

mod local;
mod process;

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use local::LocalCluster;
pub use process::ProcessCluster;

use crate::broker::BrokerConfig;
use crate::namesrv::{self, NamesrvConfig};
use crate::store::FlushDiskType;

/// How long a started server gets to accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// A server task and the switch that stops it.
struct Running {
    stop: oneshot::Sender<()>,
    task: JoinHandle<crate::Result<()>>,
}

impl Running {
    async fn stop(self) -> crate::Result<()> {
        let _ = self.stop.send(());
        self.task
            .await
            .map_err(|e| crate::Error::Io(std::io::Error::other(format!("server task: {e}"))))?
    }
}

type Configure = Arc<dyn Fn(&mut BrokerConfig) + Send + Sync>;

/// Options of a [`LocalCluster`] or [`ProcessCluster`] broker.
#[derive(Clone)]
pub struct ClusterBuilder {
    flush_disk_type: FlushDiskType,
    delay_levels: Option<String>,
    auto_create_topic: bool,
    broker_name: String,
    long_poll_timeout: Option<Duration>,
    test_sized_index: bool,
    configure: Option<Configure>,
    namesrv_bin: Option<PathBuf>,
    broker_args: Vec<String>,
}

impl fmt::Debug for ClusterBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClusterBuilder")
            .field("flush_disk_type", &self.flush_disk_type)
            .field("delay_levels", &self.delay_levels)
            .field("auto_create_topic", &self.auto_create_topic)
            .field("broker_name", &self.broker_name)
            .field("long_poll_timeout", &self.long_poll_timeout)
            .field("test_sized_index", &self.test_sized_index)
            .field("namesrv_bin", &self.namesrv_bin)
            .field("broker_args", &self.broker_args)
            .finish_non_exhaustive()
    }
}

impl Default for ClusterBuilder {
    fn default() -> Self {
        Self {
            flush_disk_type: FlushDiskType::AsyncFlush,
            delay_levels: None,
            auto_create_topic: true,
            broker_name: "broker-a".to_owned(),
            long_poll_timeout: None,
            test_sized_index: true,
            configure: None,
            namesrv_bin: None,
            broker_args: Vec::new(),
        }
    }
}

impl ClusterBuilder {
    /// ASYNC_FLUSH (default) or SYNC_FLUSH.
    #[must_use]
    pub fn flush_disk_type(mut self, flush: FlushDiskType) -> Self {
        self.flush_disk_type = flush;
        self
    }

    /// The `messageDelayLevel` string (e.g. `"1s 2s 3s"` to make delay tests fast).
    #[must_use]
    pub fn delay_levels(mut self, levels: &str) -> Self {
        self.delay_levels = Some(levels.to_owned());
        self
    }

    /// Whether unknown topics are created on first send (default true).
    #[must_use]
    pub fn auto_create_topic(mut self, enabled: bool) -> Self {
        self.auto_create_topic = enabled;
        self
    }

    /// The broker's name (default `broker-a`).
    #[must_use]
    pub fn broker_name(mut self, name: &str) -> Self {
        self.broker_name = name.to_owned();
        self
    }

    /// The longest long-polling hold (default 15 s).
    #[must_use]
    pub fn long_poll_timeout(mut self, timeout: Duration) -> Self {
        self.long_poll_timeout = Some(timeout);
        self
    }

    /// The key index sized as `mq-broker`'s (5,000,000 slots, 20,000,000 entries per file)
    /// instead of the small files a [`LocalCluster`] uses by default, which suit tests but
    /// roll over every few seconds at benchmark rates ([`LocalCluster`] only).
    #[must_use]
    pub fn production_index_sizes(mut self) -> Self {
        self.test_sized_index = false;
        self
    }

    /// Any other broker setting, applied last ([`LocalCluster`] only).
    #[must_use]
    pub fn configure(mut self, f: impl Fn(&mut BrokerConfig) + Send + Sync + 'static) -> Self {
        self.configure = Some(Arc::new(f));
        self
    }

    /// Runs the name server from this binary instead of in-process ([`ProcessCluster`] only).
    #[must_use]
    pub fn namesrv_bin(mut self, path: impl Into<PathBuf>) -> Self {
        self.namesrv_bin = Some(path.into());
        self
    }

    /// An extra command-line argument for the broker process ([`ProcessCluster`] only).
    #[must_use]
    pub fn broker_arg(mut self, arg: impl Into<String>) -> Self {
        self.broker_args.push(arg.into());
        self
    }

    /// Starts a [`LocalCluster`] with its broker store in `dir/broker`.
    pub async fn start(self, dir: &Path) -> crate::Result<LocalCluster> {
        LocalCluster::start_with(self, dir).await
    }

    /// Starts a [`ProcessCluster`] running `broker_bin`, its store in `dir/broker`.
    pub async fn start_processes(
        self,
        broker_bin: impl Into<PathBuf>,
        dir: &Path,
    ) -> crate::Result<ProcessCluster> {
        ProcessCluster::start_with(self, broker_bin.into(), dir).await
    }

    fn broker_config(
        &self,
        store_dir: PathBuf,
        namesrv: SocketAddr,
    ) -> crate::Result<BrokerConfig> {
        let mut config = BrokerConfig::new(store_dir);
        if let Some(levels) = &self.delay_levels {
            config = config.with_delay_levels(levels)?;
        }
        config.broker_name = self.broker_name.clone();
        config.namesrv_addrs = vec![namesrv.to_string()];
        config.auto_create_topic = self.auto_create_topic;
        config.store.flush_disk_type = self.flush_disk_type;
        if self.test_sized_index {
            // Small index files: tests store thousands of messages, not millions.
            config.store.index_hash_slots = 100_000;
            config.store.index_max_entries = 400_000;
        }
        if let Some(t) = self.long_poll_timeout {
            config.long_poll_timeout = t;
        }
        if let Some(f) = &self.configure {
            f(&mut config);
        }
        Ok(config)
    }
}

async fn start_namesrv() -> crate::Result<(SocketAddr, Running)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(namesrv::run(listener, NamesrvConfig::default(), stopped));
    Ok((addr, Running { stop, task }))
}

/// Binds `addr`, retrying briefly: a port just released may still be held by the old socket.
async fn bind_again(addr: SocketAddr) -> crate::Result<TcpListener> {
    let mut last = None;
    for _ in 0..50 {
        match TcpListener::bind(addr).await {
            Ok(listener) => return Ok(listener),
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(last.map_or_else(|| std::io::Error::other("bind failed").into(), Into::into))
}

/// Polls `ready` every 20 ms until it holds; fails after [`READY_TIMEOUT`] naming `what` was
/// awaited.
async fn poll_until<F, Fut>(what: impl fmt::Display, mut ready: F) -> crate::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = crate::Result<bool>>,
{
    let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
    loop {
        if ready().await? {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(crate::Error::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("{what} not within {READY_TIMEOUT:?}"),
            )));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Polls until `addr` accepts a TCP connection.
async fn wait_until_accepting(addr: SocketAddr) -> crate::Result<()> {
    poll_until(format_args!("connections accepted on {addr}"), || async {
        Ok(accepts(addr).await)
    })
    .await
}

/// Polls the name server at `namesrv` until the broker at `broker` is registered there, so
/// a client that asks for routes as soon as the harness returns finds the broker. A broker
/// registers right after it opens its store; accepting connections comes first.
async fn wait_until_registered(namesrv: SocketAddr, broker: SocketAddr) -> crate::Result<()> {
    let admin = crate::client::Admin::connect(namesrv.to_string()).await?;
    let broker_addr = broker.to_string();
    poll_until(
        format_args!("the broker at {broker} registered with {namesrv}"),
        || async { Ok(admin.brokers().await?.iter().any(|b| b.addr == broker_addr)) },
    )
    .await
}

/// Whether a server accepts on `addr`. Test ports come from the ephemeral range, where a
/// connect to a port nobody listens on can, now and then, connect the socket to itself
/// (TCP simultaneous open); such a connection is not a server and must not count.
async fn accepts(addr: SocketAddr) -> bool {
    match TcpStream::connect(addr).await {
        Ok(stream) => stream.local_addr().ok() != Some(addr),
        Err(_) => false,
    }
}
