//! mq-core through its own client: a [`Producer`] shared by every concurrent send, a
//! [`PushConsumer`] for consuming. Either an in-process [`LocalCluster`] per flush mode (in a
//! temporary directory, removed afterwards) or an external cluster given by its name server.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use mq_core::client::{
    Admin, ConsumeFrom, ConsumeResult, Message, Producer, PushConsumer, SendStatus, listener_fn,
};
use mq_core::cluster::LocalCluster;
use mq_core::store::FlushDiskType;

use super::peer::{Channel, Consumer, Peer, PeerError, PeerResult, Sink, err};

/// Queues per topic: RocketMQ's default for an auto-created topic.
const QUEUES: i32 = 4;

/// mq-core, connected.
#[derive(Debug)]
pub struct MqCore {
    namesrv: String,
    producer: Producer,
    /// Keeps the in-process cluster alive; `None` for an external one.
    local: Option<(LocalCluster, tempfile::TempDir)>,
}

impl MqCore {
    /// Starts a name server and broker in-process with `flush`, the store in a fresh
    /// temporary directory under `parent` (the system's temp dir when `None`).
    pub async fn local(flush: FlushDiskType, parent: Option<&std::path::Path>) -> PeerResult<Self> {
        let dir = match parent {
            Some(p) => tempfile::Builder::new().prefix("mq-compare-").tempdir_in(p),
            None => tempfile::Builder::new().prefix("mq-compare-").tempdir(),
        }
        .map_err(|e| err("temp dir", e))?;
        let cluster = LocalCluster::builder()
            .flush_disk_type(flush)
            // The run writes a few hundred MB into a store removed afterwards; a shared
            // development disk is often past the production thresholds (retention at 75-85%,
            // appends refused at 90%), which would refuse or delete the benchmark's messages.
            .configure(|c| {
                c.store.disk_max_used_space_ratio = 0.97;
                c.store.disk_clean_forcibly_ratio = 0.98;
                c.store.disk_full_ratio = 0.99;
            })
            .start(dir.path())
            .await
            .map_err(|e| err("start LocalCluster", e))?;
        let namesrv = cluster.namesrv_addr().to_string();
        let mut peer = Self::connect(&namesrv).await?;
        peer.local = Some((cluster, dir));
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

    /// Stops the producer and the in-process cluster, and removes its store.
    pub async fn close(mut self) -> PeerResult<()> {
        self.producer.shutdown().await;
        if let Some((cluster, dir)) = self.local.take() {
            cluster
                .shutdown()
                .await
                .map_err(|e| err("stop LocalCluster", e))?;
            dir.close().map_err(|e| err("remove store", e))?;
        }
        Ok(())
    }
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
        // The client has no topic deletion; an in-process cluster's store is removed whole
        // by `MqCore::close`. On an external cluster the topic stays (`mqadmin deleteTopic`).
        Ok(())
    }
}
