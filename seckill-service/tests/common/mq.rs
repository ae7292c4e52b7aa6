//! A real broker per test: a LocalCluster in a temp dir, the test's own topic and group
//! names, a producer sending order messages as seckill-web does, and consumer progress.

use std::future::Future;
use std::time::{Duration, Instant};

use mq_core::client::{Admin, Message, Producer};
use mq_core::cluster::LocalCluster;
use seckill_order::OrderMessage;
use seckill_order::message::ORDER_TAG;

/// Delay levels short enough for retry tests: every level is one second (a retry is
/// delayed by level 3 + reconsumeTimes).
pub const FAST_DELAY_LEVELS: &str = "1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s";

/// Queues of the test's order topic.
pub const ORDER_QUEUES: i32 = 4;

/// Topic and group names no other test uses.
pub struct Names {
    pub order_topic: String,
    pub stock_topic: String,
    pub group: String,
}

impl Names {
    pub fn new(test: &str) -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let id = &id[..8];
        Self {
            order_topic: format!("orders-{test}-{id}"),
            stock_topic: format!("stock-{test}-{id}"),
            group: format!("svc-{test}-{id}"),
        }
    }

    pub fn dlq_topic(&self) -> String {
        format!("%DLQ%{}", self.group)
    }

    pub fn dlq_group(&self) -> String {
        format!("{}-dlq", self.group)
    }
}

/// A broker and name server in `dir`, with one-second delay levels and the order topic
/// created (so consumers find its route at once).
pub async fn cluster(dir: &std::path::Path, names: &Names) -> LocalCluster {
    let cluster = LocalCluster::builder()
        .delay_levels(FAST_DELAY_LEVELS)
        .start(dir)
        .await
        .unwrap();
    let admin = Admin::connect(cluster.namesrv_addr().to_string())
        .await
        .unwrap();
    admin
        .create_topic(&names.order_topic, ORDER_QUEUES)
        .await
        .unwrap();
    admin.create_topic(&names.stock_topic, 1).await.unwrap();
    cluster
}

pub async fn producer(cluster: &LocalCluster) -> Producer {
    Producer::builder(format!("test-producer-{}", uuid::Uuid::new_v4().simple()))
        .namesrv_addr(cluster.namesrv_addr().to_string())
        .start()
        .await
        .unwrap()
}

/// The order message of `user_id` on `goods_id`, as seckill-web sends it.
pub fn order_message(topic: &str, goods_id: i64, user_id: i64, request_id: &str) -> Message {
    let order = OrderMessage {
        goods_id,
        user_id,
        request_id: request_id.to_owned(),
        timestamp: 1_700_000_000_000 + user_id,
    };
    Message::new(topic, order.to_json())
        .with_tag(ORDER_TAG)
        .with_key(order.biz_key())
}

/// Sends `msgs` (one topic) in batches.
pub async fn send_all(producer: &Producer, msgs: Vec<Message>) {
    let mut msgs = msgs.into_iter().peekable();
    while msgs.peek().is_some() {
        let batch: Vec<Message> = msgs.by_ref().take(250).collect();
        producer.send_batch(batch).await.unwrap();
    }
}

/// Per-queue progress of `group` on `topic`: (committed offsets summed, lag summed).
pub async fn progress(namesrv: &str, group: &str, topic: &str) -> (i64, i64) {
    let admin = Admin::connect(namesrv).await.unwrap();
    let queues = admin.consumer_progress(group, Some(topic)).await.unwrap();
    let committed = queues.iter().map(|q| q.consumer_offset.max(0)).sum();
    let lag = queues.iter().map(|q| q.lag).sum();
    (committed, lag)
}

/// Messages stored in `topic` (0 when the topic does not exist).
pub async fn stored(namesrv: &str, topic: &str) -> i64 {
    let admin = Admin::connect(namesrv).await.unwrap();
    match admin.topic_status(topic).await {
        Ok(queues) => queues.iter().map(|q| q.max - q.min).sum(),
        Err(_) => 0,
    }
}

/// Polls `check` until it answers true; panics with `what` after `timeout`.
pub async fn wait_for<F, Fut>(what: &str, timeout: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if check().await {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The service's flags for a test: its database, Redis prefix, broker and names, and short
/// periods so retries, new queues and offset commits show up fast.
pub fn service_args(database_url: &str, prefix: &str, namesrv: &str, names: &Names) -> Vec<String> {
    [
        "--database-url",
        database_url,
        "--redis-key-prefix",
        prefix,
        "--namesrv-addr",
        namesrv,
        "--order-topic",
        &names.order_topic,
        "--stock-topic",
        &names.stock_topic,
        "--consumer-group",
        &names.group,
        "--batch-linger-ms",
        "2",
        "--rebalance-interval-ms",
        "300",
        "--offset-commit-interval-ms",
        "200",
        "--connect-timeout-secs",
        "5",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

/// `seckill_service::service::run` in this process, stopped by [`InProcess::stop`].
pub struct InProcess {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<seckill_service::Result<()>>,
}

impl InProcess {
    pub fn start(args: Vec<String>) -> Self {
        use clap::Parser;
        let config = seckill_service::config::Config::try_parse_from(
            ["seckill-service", "--listen", "127.0.0.1:0"]
                .into_iter()
                .map(str::to_owned)
                .chain(args),
        )
        .unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(seckill_service::service::run(config, async {
            let _ = stopped.await;
        }));
        Self { stop, task }
    }

    /// Signals shutdown and waits for a clean stop.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(60), self.task)
            .await
            .expect("the service did not stop within a minute")
            .unwrap()
            .unwrap();
    }
}
