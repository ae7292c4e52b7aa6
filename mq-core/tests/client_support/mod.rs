//! Shared helpers of the client tests: an in-process cluster per test, unique names, and a
//! listener that records what it receives.
#![allow(dead_code, clippy::unwrap_used)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mq_core::client::{
    Admin, ConsumeFrom, ConsumeResult, Message, MessageExt, MessageListener, Producer,
    PushConsumer, PushConsumerBuilder,
};
use mq_core::cluster::LocalCluster;
use tokio::sync::Notify;

/// A running name server and broker in a temp dir that lives as long as the value.
pub struct TestCluster {
    pub cluster: LocalCluster,
    pub dir: tempfile::TempDir,
}

impl TestCluster {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let cluster = LocalCluster::start(dir.path()).await.unwrap();
        Self { cluster, dir }
    }

    /// A cluster whose delay levels are `levels` (e.g. `"1s 2s 1s"`), so retries come fast.
    pub async fn start_with_delays(levels: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let cluster = LocalCluster::builder()
            .delay_levels(levels)
            .start(dir.path())
            .await
            .unwrap();
        Self { cluster, dir }
    }

    pub fn namesrv(&self) -> String {
        self.cluster.namesrv_addr().to_string()
    }

    /// Creates `topic` with `queues` queues and waits until it is routed.
    pub async fn create_topic(&self, topic: &str, queues: i32) {
        let admin = Admin::connect(self.namesrv()).await.unwrap();
        admin.create_topic(topic, queues).await.unwrap();
    }

    /// Starts a producer and sends `n` messages with bodies `{body_prefix}0`, `{body_prefix}1`,
    /// …, each acknowledged; returns the producer for further sends.
    pub async fn send_numbered(&self, topic: &str, body_prefix: &str, n: usize) -> Producer {
        let producer = Producer::builder(unique(&format!("{body_prefix}_pg")))
            .namesrv_addr(self.namesrv())
            .start()
            .await
            .unwrap();
        for i in 0..n {
            producer
                .send(Message::new(topic, format!("{body_prefix}{i}")))
                .await
                .unwrap();
        }
        producer
    }

    /// A push consumer builder with test-friendly timers.
    pub fn consumer(&self, group: &str) -> PushConsumerBuilder {
        test_consumer(&self.namesrv(), group)
    }
}

/// A consumer of `group` on the cluster of `namesrv` with test-short timers, from the first
/// offset (also for child processes, which have no `TestCluster`).
pub fn test_consumer(namesrv: &str, group: &str) -> PushConsumerBuilder {
    PushConsumer::builder(group)
        .namesrv_addr(namesrv)
        .consume_from(ConsumeFrom::FirstOffset)
        .heartbeat_interval(Duration::from_secs(1))
        .rebalance_interval(Duration::from_secs(1))
        .persist_interval(Duration::from_millis(200))
        .poll_namesrv_interval(Duration::from_secs(1))
        .suspend_timeout(Duration::from_secs(2))
}

/// Runs the real `mqadmin` binary with `--json` against `namesrv`: (exit code, stdout as
/// JSON or `Null`, stderr).
pub async fn mqadmin(namesrv: &str, args: &[&str]) -> (i32, serde_json::Value, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_mqadmin"))
        .args(["-n", namesrv, "--json"])
        .args(args)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let json = serde_json::from_str(stdout.trim()).unwrap_or(serde_json::Value::Null);
    (out.status.code().unwrap_or(-1), json, stderr)
}

/// [`mqadmin`]'s JSON output; panics with its stderr if it fails.
pub async fn mqadmin_ok(namesrv: &str, args: &[&str]) -> serde_json::Value {
    let (code, json, stderr) = mqadmin(namesrv, args).await;
    assert_eq!(code, 0, "mqadmin {args:?} failed: {stderr}");
    json
}

/// A name unique to this test process and call, so tests never share topics or groups.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Records every message it is given; answers `result`.
#[derive(Clone)]
pub struct Collector {
    pub got: Arc<Mutex<Vec<MessageExt>>>,
    notify: Arc<Notify>,
}

impl Collector {
    pub fn new() -> Self {
        Self {
            got: Arc::new(Mutex::new(Vec::new())),
            notify: Arc::new(Notify::new()),
        }
    }

    pub fn messages(&self) -> Vec<MessageExt> {
        self.got.lock().unwrap().clone()
    }

    pub fn len(&self) -> usize {
        self.got.lock().unwrap().len()
    }

    /// Waits until at least `n` messages arrived; panics after `timeout`.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<MessageExt> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.notify.notified();
            if self.len() >= n {
                return self.messages();
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("got {} of {n} messages within {timeout:?}", self.len());
            }
        }
    }
}

#[async_trait::async_trait]
impl MessageListener for Collector {
    async fn consume(&self, msgs: Vec<MessageExt>) -> ConsumeResult {
        self.got.lock().unwrap().extend(msgs);
        self.notify.notify_waiters();
        ConsumeResult::Success
    }
}
