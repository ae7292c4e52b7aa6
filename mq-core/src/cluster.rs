//! Test harnesses that run a name server and a broker on free `127.0.0.1` ports.
//!
//! - [`LocalCluster`]: both inside the current tokio runtime (fast; stop, restart on the same
//!   store and port, shut down).
//! - [`ProcessCluster`]: the broker as a child process of a given binary (e.g.
//!   `env!("CARGO_BIN_EXE_mq-broker")`), so tests can `kill -9` it and start it again; the
//!   name server runs in-process unless a name-server binary is given too.
//!
//! ```no_run
//! # async fn demo(dir: &std::path::Path) -> mq_core::Result<()> {
//! use mq_core::cluster::LocalCluster;
//! let cluster = LocalCluster::builder().delay_levels("1s 2s 3s").start(dir).await?;
//! let broker = cluster.broker_addr(); // send and pull here
//! cluster.shutdown().await?;
//! # Ok(()) }
//! ```

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::broker::{self, BrokerConfig};
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
        // Small index files: tests store thousands of messages, not millions.
        config.store.index_hash_slots = 100_000;
        config.store.index_max_entries = 400_000;
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

/// A name server and a broker running as tasks of the current runtime.
pub struct LocalCluster {
    options: ClusterBuilder,
    store_dir: PathBuf,
    namesrv_addr: SocketAddr,
    namesrv: Option<Running>,
    broker_addr: SocketAddr,
    broker: Option<Running>,
}

impl fmt::Debug for LocalCluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalCluster")
            .field("namesrv_addr", &self.namesrv_addr)
            .field("broker_addr", &self.broker_addr)
            .field("store_dir", &self.store_dir)
            .field("broker_running", &self.broker.is_some())
            .finish_non_exhaustive()
    }
}

impl LocalCluster {
    /// Options for a cluster; finish with [`ClusterBuilder::start`].
    pub fn builder() -> ClusterBuilder {
        ClusterBuilder::default()
    }

    /// A name server and a broker with default options, the broker's store in `dir/broker`.
    pub async fn start(dir: &Path) -> crate::Result<Self> {
        Self::start_with(ClusterBuilder::default(), dir).await
    }

    async fn start_with(options: ClusterBuilder, dir: &Path) -> crate::Result<Self> {
        let (namesrv_addr, namesrv) = start_namesrv().await?;
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let broker_addr = listener.local_addr()?;
        let mut cluster = Self {
            options,
            store_dir: dir.join("broker"),
            namesrv_addr,
            namesrv: Some(namesrv),
            broker_addr,
            broker: None,
        };
        cluster.spawn_broker(listener).await?;
        Ok(cluster)
    }

    async fn spawn_broker(&mut self, listener: TcpListener) -> crate::Result<()> {
        let config = self
            .options
            .broker_config(self.store_dir.clone(), self.namesrv_addr)?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(broker::run(listener, config, stopped));
        let running = Running { stop, task };
        if let Err(e) = wait_until_accepting(self.broker_addr).await {
            // The broker failed at start: report its own error rather than the timeout.
            if running.task.is_finished() {
                running.stop().await?;
            }
            return Err(e);
        }
        self.broker = Some(running);
        Ok(())
    }

    /// The name server's address (`MQ_NAMESRV_ADDR` for clients).
    pub fn namesrv_addr(&self) -> SocketAddr {
        self.namesrv_addr
    }

    /// The broker's address.
    pub fn broker_addr(&self) -> SocketAddr {
        self.broker_addr
    }

    /// The broker's store directory.
    pub fn store_dir(&self) -> &Path {
        &self.store_dir
    }

    /// Stops the broker gracefully (offsets persisted, store closed cleanly).
    pub async fn stop_broker(&mut self) -> crate::Result<()> {
        match self.broker.take() {
            Some(running) => running.stop().await,
            None => Ok(()),
        }
    }

    /// Stops the broker if running and starts it again on the same store and port.
    pub async fn restart_broker(&mut self) -> crate::Result<()> {
        self.stop_broker().await?;
        let listener = bind_again(self.broker_addr).await?;
        self.spawn_broker(listener).await
    }

    /// Stops the broker, then the name server.
    pub async fn shutdown(mut self) -> crate::Result<()> {
        let broker = self.stop_broker().await;
        if let Some(namesrv) = self.namesrv.take() {
            namesrv.stop().await?;
        }
        broker
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        // Without an async drop, ask both to stop; the runtime finishes them.
        if let Some(b) = self.broker.take() {
            let _ = b.stop.send(());
        }
        if let Some(n) = self.namesrv.take() {
            let _ = n.stop.send(());
        }
    }
}

/// Polls until `addr` accepts a TCP connection.
async fn wait_until_accepting(addr: SocketAddr) -> crate::Result<()> {
    let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
    loop {
        if TcpStream::connect(addr).await.is_ok() {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(crate::Error::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("nothing accepts connections on {addr} after {READY_TIMEOUT:?}"),
            )));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The name server of a [`ProcessCluster`]: a task, or a child process.
enum NamesrvProcess {
    Task(Running),
    Child(Child),
}

/// A broker child process (and a name server) for crash tests.
pub struct ProcessCluster {
    options: ClusterBuilder,
    broker_bin: PathBuf,
    dir: PathBuf,
    namesrv_addr: SocketAddr,
    namesrv: Option<NamesrvProcess>,
    broker_addr: SocketAddr,
    broker: Option<Child>,
    starts: u32,
}

impl fmt::Debug for ProcessCluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessCluster")
            .field("broker_bin", &self.broker_bin)
            .field("namesrv_addr", &self.namesrv_addr)
            .field("broker_addr", &self.broker_addr)
            .field("broker_pid", &self.broker.as_ref().and_then(Child::id))
            .finish_non_exhaustive()
    }
}

/// A free port on 127.0.0.1 (bound, then released for the child to take).
async fn free_port() -> crate::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    Ok(listener.local_addr()?)
}

impl ProcessCluster {
    /// Options for a cluster; finish with [`ClusterBuilder::start_processes`].
    pub fn builder() -> ClusterBuilder {
        ClusterBuilder::default()
    }

    /// An in-process name server and a `broker_bin` child with default options.
    pub async fn start(broker_bin: impl Into<PathBuf>, dir: &Path) -> crate::Result<Self> {
        Self::start_with(ClusterBuilder::default(), broker_bin.into(), dir).await
    }

    async fn start_with(
        options: ClusterBuilder,
        broker_bin: PathBuf,
        dir: &Path,
    ) -> crate::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let (namesrv_addr, namesrv) = match &options.namesrv_bin {
            None => {
                let (addr, running) = start_namesrv().await?;
                (addr, NamesrvProcess::Task(running))
            }
            Some(bin) => {
                let addr = free_port().await?;
                let log = std::fs::File::create(dir.join("namesrv.log"))?;
                let child = Command::new(bin)
                    .env("MQ_NAMESRV_LISTEN", addr.to_string())
                    .stdout(Stdio::from(log.try_clone()?))
                    .stderr(Stdio::from(log))
                    .kill_on_drop(true)
                    .spawn()?;
                wait_until_accepting(addr).await?;
                (addr, NamesrvProcess::Child(child))
            }
        };
        let broker_addr = free_port().await?;
        let mut cluster = Self {
            options,
            broker_bin,
            dir: dir.to_path_buf(),
            namesrv_addr,
            namesrv: Some(namesrv),
            broker_addr,
            broker: None,
            starts: 0,
        };
        cluster.start_broker().await?;
        Ok(cluster)
    }

    /// The name server's address.
    pub fn namesrv_addr(&self) -> SocketAddr {
        self.namesrv_addr
    }

    /// The broker's address (the same across restarts).
    pub fn broker_addr(&self) -> SocketAddr {
        self.broker_addr
    }

    /// The broker's store directory.
    pub fn store_dir(&self) -> PathBuf {
        self.dir.join("broker")
    }

    /// Starts the broker process (again) on the same port and store; waits until it accepts.
    /// Its output goes to `dir/broker-<n>.log`.
    pub async fn start_broker(&mut self) -> crate::Result<()> {
        if self.broker.is_some() {
            return Ok(());
        }
        self.starts += 1;
        let log = std::fs::File::create(self.dir.join(format!("broker-{}.log", self.starts)))?;
        let o = &self.options;
        let flush = match o.flush_disk_type {
            FlushDiskType::AsyncFlush => "ASYNC_FLUSH",
            FlushDiskType::SyncFlush => "SYNC_FLUSH",
        };
        let mut command = Command::new(&self.broker_bin);
        command
            .env("MQ_BROKER_LISTEN", self.broker_addr.to_string())
            .env("MQ_NAMESRV_ADDR", self.namesrv_addr.to_string())
            .env("MQ_STORE_DIR", self.store_dir())
            .env("MQ_FLUSH_DISK_TYPE", flush)
            .env("MQ_BROKER_NAME", &o.broker_name)
            .env("MQ_AUTO_CREATE_TOPIC", o.auto_create_topic.to_string())
            .args(&o.broker_args)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .kill_on_drop(true);
        if let Some(levels) = &o.delay_levels {
            command.env("MQ_DELAY_LEVELS", levels);
        }
        if let Some(t) = o.long_poll_timeout {
            command.env("MQ_LONG_POLL_TIMEOUT_MS", t.as_millis().to_string());
        }
        let mut child = command.spawn()?;
        let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
        loop {
            if TcpStream::connect(self.broker_addr).await.is_ok() {
                break;
            }
            if let Some(status) = child.try_wait()? {
                return Err(crate::Error::Io(std::io::Error::other(format!(
                    "the broker exited at start ({status}); see {}",
                    self.dir
                        .join(format!("broker-{}.log", self.starts))
                        .display()
                ))));
            }
            if tokio::time::Instant::now() >= deadline {
                let _ = child.start_kill();
                return Err(crate::Error::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("the broker did not accept on {} in time", self.broker_addr),
                )));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.broker = Some(child);
        Ok(())
    }

    /// Kills the broker with SIGKILL (no shutdown at all) and waits for it to be gone.
    pub async fn kill_broker(&mut self) -> crate::Result<()> {
        if let Some(mut child) = self.broker.take() {
            child.start_kill()?;
            child.wait().await?;
        }
        Ok(())
    }

    /// Stops the broker with SIGTERM (graceful shutdown) and waits for it to exit.
    pub async fn stop_broker(&mut self) -> crate::Result<()> {
        if let Some(mut child) = self.broker.take() {
            if let Some(pid) = child.id() {
                let status = Command::new("kill")
                    .arg("-TERM")
                    .arg(pid.to_string())
                    .status()
                    .await?;
                if !status.success() {
                    child.start_kill()?;
                }
            }
            if tokio::time::timeout(Duration::from_secs(30), child.wait())
                .await
                .is_err()
            {
                child.start_kill()?;
                child.wait().await?;
            }
        }
        Ok(())
    }

    /// Stops the broker gracefully, then the name server.
    pub async fn shutdown(mut self) -> crate::Result<()> {
        self.stop_broker().await?;
        match self.namesrv.take() {
            Some(NamesrvProcess::Task(running)) => running.stop().await?,
            Some(NamesrvProcess::Child(mut child)) => {
                child.start_kill()?;
                child.wait().await?;
            }
            None => {}
        }
        Ok(())
    }
}

impl Drop for ProcessCluster {
    fn drop(&mut self) {
        if let Some(child) = self.broker.as_mut() {
            let _ = child.start_kill();
        }
        match self.namesrv.take() {
            Some(NamesrvProcess::Task(running)) => {
                let _ = running.stop.send(());
            }
            Some(NamesrvProcess::Child(mut child)) => {
                let _ = child.start_kill();
            }
            None => {}
        }
    }
}
