//! mq-core through its own client: a [`Producer`] shared by every concurrent send, a
//! [`PushConsumer`] for consuming. Either a [`LocalCluster`] per flush mode served by a child
//! process (its store in a temporary directory, removed afterwards) or an external cluster
//! given by its name server.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use mq_core::client::{
    Admin, ConsumeFrom, ConsumeResult, Message, Producer, PushConsumer, SendStatus, listener_fn,
};
use mq_core::cluster::LocalCluster;
use mq_core::store::FlushDiskType;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

use super::peer::{Channel, Consumer, Peer, PeerError, PeerResult, Sink, err};

/// Queues per topic: RocketMQ's default for an auto-created topic.
const QUEUES: i32 = 4;

/// mq-core, connected.
#[derive(Debug)]
pub struct MqCore {
    namesrv: String,
    producer: Producer,
    /// The child process serving the cluster and its store; `None` for an external cluster.
    local: Option<(LocalServer, tempfile::TempDir)>,
}

/// A name server and broker serving from a child process (this binary in `--serve-mq-cluster`
/// mode). The peers' servers are processes of their own; so is mq-core's, rather than sharing
/// the benchmark's runtime threads with the client that measures it.
#[derive(Debug)]
struct LocalServer {
    child: tokio::process::Child,
}

/// What the serving child prints first, then the name server's address.
const READY_PREFIX: &str = "namesrv ";

impl MqCore {
    /// Starts a name server and broker with `flush` in a child process, the store in a fresh
    /// temporary directory under `parent` (the system's temp dir when `None`).
    pub async fn local(flush: FlushDiskType, parent: Option<&std::path::Path>) -> PeerResult<Self> {
        let dir = match parent {
            Some(p) => tempfile::Builder::new().prefix("mq-compare-").tempdir_in(p),
            None => tempfile::Builder::new().prefix("mq-compare-").tempdir(),
        }
        .map_err(|e| err("temp dir", e))?;
        let exe = std::env::current_exe().map_err(|e| err("locate mq-compare", e))?;
        let mut child = tokio::process::Command::new(exe)
            .arg("--serve-mq-cluster")
            .arg(flush_name(flush))
            .arg("--serve-store-dir")
            .arg(dir.path())
            // The child serves until its stdin closes: when we close it, or when we die.
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| err("start the mq-core child", e))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| err("start the mq-core child", "no stdout"))?;
        let mut lines = BufReader::new(stdout).lines();
        let first = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .map_err(|_| err("start the mq-core child", "not ready within 30 s"))?
            .map_err(|e| err("start the mq-core child", e))?;
        let Some(namesrv) = first.as_deref().and_then(|l| l.strip_prefix(READY_PREFIX)) else {
            return Err(err(
                "start the mq-core child",
                format!("it said {first:?} instead of its address"),
            ));
        };
        let mut peer = Self::connect(namesrv).await?;
        peer.local = Some((LocalServer { child }, dir));
        Ok(peer)
    }

    /// Uses the cluster whose name server is `namesrv`.
    pub async fn connect(namesrv: &str) -> PeerResult<Self> {
        let producer = Producer::builder(format!("mq_compare_pg_{}", std::process::id()))
            .namesrv_addr(namesrv)
            .start()
            .await
            .map_err(|e| err("start producer", e))?;
        Ok(Self {
            namesrv: namesrv.to_owned(),
            producer,
            local: None,
        })
    }

    /// Stops the producer and the serving child (its store closed cleanly), and removes the
    /// store.
    pub async fn close(mut self) -> PeerResult<()> {
        self.producer.shutdown().await;
        if let Some((LocalServer { mut child }, dir)) = self.local.take() {
            drop(child.stdin.take());
            let exited = tokio::time::timeout(Duration::from_secs(30), child.wait())
                .await
                .map_err(|_| err("stop the mq-core child", "still running after 30 s"))?
                .map_err(|e| err("stop the mq-core child", e))?;
            if !exited.success() {
                return Err(err("stop the mq-core child", exited));
            }
            dir.close().map_err(|e| err("remove store", e))?;
        }
        Ok(())
    }
}

/// The broker's name of a flush type (`MQ_FLUSH_DISK_TYPE`), as the child parses it.
fn flush_name(flush: FlushDiskType) -> &'static str {
    match flush {
        FlushDiskType::AsyncFlush => "ASYNC_FLUSH",
        FlushDiskType::SyncFlush => "SYNC_FLUSH",
    }
}

/// The `--serve-mq-cluster` mode: a name server and broker with `flush` on `store_dir`,
/// announced on stdout as `namesrv <addr>`, served until stdin closes.
pub fn serve_cluster(flush: &str, store_dir: &std::path::Path) -> anyhow::Result<()> {
    let flush: FlushDiskType = flush.parse()?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let cluster = LocalCluster::builder()
            .flush_disk_type(flush)
            // The run writes a few hundred MB into a store removed afterwards; a shared
            // development disk is often past the production thresholds (retention at 75-85%,
            // appends refused at 90%), which would refuse or delete the benchmark's messages.
            // The broker's own index sizes, not the small files LocalCluster picks for
            // tests: at 100k+ msgs/s those would roll over to a new index file every few
            // seconds, which `mq-broker` never does.
            .production_index_sizes()
            .configure(|c| {
                c.store.disk_max_used_space_ratio = 0.97;
                c.store.disk_clean_forcibly_ratio = 0.98;
                c.store.disk_full_ratio = 0.99;
            })
            .start(store_dir)
            .await?;
        println!("{READY_PREFIX}{}", cluster.namesrv_addr());
        std::io::Write::flush(&mut std::io::stdout())?;
        let mut stdin = tokio::io::stdin();
        let mut sink = [0u8; 64];
        while stdin.read(&mut sink).await? > 0 {}
        cluster.shutdown().await?;
        anyhow::Ok(())
    })
}

impl Peer for MqCore {
    type Channel = Topic;

    async fn open(&self, name: &str) -> PeerResult<Topic> {
        let admin = Admin::connect(&self.namesrv)
            .await
            .map_err(|e| err("admin connect", e))?;
        admin
            .create_topic(name, QUEUES)
            .await
            .map_err(|e| err("create topic", e))?;
        Ok(Topic {
            namesrv: self.namesrv.clone(),
            topic: name.to_owned(),
            producer: self.producer.clone(),
        })
    }
}

/// One topic of mq-core.
#[derive(Debug, Clone)]
pub struct Topic {
    namesrv: String,
    topic: String,
    producer: Producer,
}

impl Channel for Topic {
    async fn send(&self, body: Bytes) -> PeerResult<()> {
        let result = self
            .producer
            .send(Message::new(&self.topic, body))
            .await
            .map_err(|e| err("send", e))?;
        match result.status {
            SendStatus::SendOk => Ok(()),
            other => Err(PeerError(format!("send: {other:?}"))),
        }
    }

    async fn consume(&self, sink: Arc<Sink>) -> PeerResult<Consumer> {
        let group = format!("mq_compare_cg_{}_{}", std::process::id(), self.topic);
        let consumer = PushConsumer::builder(group)
            .namesrv_addr(&self.namesrv)
            .subscribe(&self.topic, "*")
            .consume_from(ConsumeFrom::FirstOffset)
            .consume_message_batch_max_size(32)
            .rebalance_interval(Duration::from_secs(1))
            .start(listener_fn(move |msgs| {
                let sink = Arc::clone(&sink);
                async move {
                    for m in &msgs {
                        sink.on_message(&m.body);
                    }
                    ConsumeResult::Success
                }
            }))
            .await
            .map_err(|e| err("start push consumer", e))?;
        Ok(Consumer::spawn(move |stopped| async move {
            let _ = stopped.await;
            consumer.shutdown().await;
            Ok(())
        }))
    }

    async fn remove(self) -> PeerResult<()> {
        // The client has no topic deletion; a cluster started for the run has its store removed whole
        // by `MqCore::close`. On an external cluster the topic stays (`mqadmin deleteTopic`).
        Ok(())
    }
}
