//! [`ProcessCluster`]: the broker as a child process (so tests can SIGKILL it) and a name
//! server in-process or as a child.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::process::{Child, Command};

use super::{
    ClusterBuilder, READY_TIMEOUT, Running, accepts, start_namesrv, wait_until_accepting,
    wait_until_registered,
};
use crate::store::FlushDiskType;

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

    pub(super) async fn start_with(
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
                let mut child = child;
                wait_until_accepting(addr).await?;
                if let Some(status) = child.try_wait()? {
                    // Something else answered on the port we picked (another test took it
                    // between our probe bind and the child's bind), and the child lost it.
                    return Err(crate::Error::Io(std::io::Error::other(format!(
                        "the name server exited at start ({status}); see {}",
                        dir.join("namesrv.log").display()
                    ))));
                }
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

    /// Starts the broker process (again) on the same port and store; waits until it accepts
    /// and the name server routes to it.
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
            if accepts(self.broker_addr).await {
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
        wait_until_registered(self.namesrv_addr, self.broker_addr).await
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
