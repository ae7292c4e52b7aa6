//! [`LocalCluster`]: a name server and a broker as tasks of the current tokio runtime.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use tokio::net::TcpListener;
use tokio::sync::oneshot;

use super::{
    ClusterBuilder, Running, bind_again, start_namesrv, wait_until_accepting, wait_until_registered,
};
use crate::broker;

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

    pub(super) async fn start_with(options: ClusterBuilder, dir: &Path) -> crate::Result<Self> {
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
        let registers = !config.namesrv_addrs.is_empty();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(broker::run(listener, config, stopped));
        let running = Running { stop, task };
        let ready = async {
            wait_until_accepting(self.broker_addr).await?;
            if registers {
                wait_until_registered(self.namesrv_addr, self.broker_addr).await?;
            }
            crate::Result::Ok(())
        };
        if let Err(e) = ready.await {
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
