//! The real binary draining a backlog from a real broker, killed with SIGKILL or stopped with
//! SIGTERM halfway and started again: every order exactly once, nothing lost, and after a
//! graceful stop nothing processed twice.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use common::mq::{Names, cluster, order_message, progress, send_all, wait_for};
use common::{
    TestRedis, database_url, mysql_stock, order_count, results, set_mysql_stock, take_all,
};
use sqlx::MySqlPool;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const DRAIN_TIMEOUT: Duration = Duration::from_secs(90);
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// What one run of the binary is given: everything through the environment, as a
/// deployment would.
struct Env {
    database_url: String,
    prefix: String,
    namesrv: String,
    names: Names,
    dir: std::path::PathBuf,
}

impl Env {
    /// Starts the binary on `port`; its log goes to `<dir>/<log>`.
    fn spawn(&self, port: u16, log: &str) -> Child {
        let out = std::fs::File::create(self.dir.join(log)).unwrap();
        let err = out.try_clone().unwrap();
        Command::new(env!("CARGO_BIN_EXE_seckill-service"))
            .env("DATABASE_URL", &self.database_url)
            .env(
                "REDIS_URL",
                std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into()),
            )
            .env("MQ_NAMESRV_ADDR", &self.namesrv)
            .env("SECKILL_SERVICE_LISTEN", format!("127.0.0.1:{port}"))
            .env("SECKILL_REDIS_KEY_PREFIX", &self.prefix)
            .env("SECKILL_ORDER_TOPIC", &self.names.order_topic)
            .env("SECKILL_STOCK_TOPIC", &self.names.stock_topic)
            .env("SECKILL_CONSUMER_GROUP", &self.names.group)
            // Small batches and few calls in flight: the drain takes a few seconds, so the
            // test can stop it halfway.
            .env("SECKILL_BATCH_MAX", "64")
            .env("SECKILL_BATCH_LINGER_MS", "2")
            .env("SECKILL_CONSUME_THREADS", "8")
            .env("SECKILL_CONSUME_BATCH", "16")
            .env("SECKILL_REBALANCE_INTERVAL_MS", "300")
            .env("SECKILL_OFFSET_COMMIT_INTERVAL_MS", "500")
            .env("SECKILL_CONNECT_TIMEOUT_SECS", "10")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap()
    }

    fn log(&self, log: &str) -> String {
        std::fs::read_to_string(self.dir.join(log)).unwrap()
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn sigterm(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

async fn wait_exit(child: &mut Child, timeout: Duration) -> ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() >= deadline {
            child.kill().unwrap();
            panic!("the service did not exit within {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn http_get(port: u16, path: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}

/// A counter's value in Prometheus text (0 when never incremented).
fn counter(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Stock `stock` in MySQL and Redis, `orders` users took their place at the gate and their
/// order messages are queued on the broker.
async fn backlog(pool: &MySqlPool, redis: &TestRedis, env: &Env, stock: i64, orders: i64) {
    set_mysql_stock(pool, 1, stock).await;
    redis.warm(1, stock).await;
    take_all(redis, 1, 1..=orders).await;
    let cluster_producer = producer_for(&env.namesrv).await;
    send_all(
        &cluster_producer,
        (1..=orders)
            .map(|u| order_message(&env.names.order_topic, 1, u, &format!("r{u}")))
            .collect(),
    )
    .await;
    cluster_producer.shutdown().await;
}

async fn producer_for(namesrv: &str) -> mq_core::client::Producer {
    mq_core::client::Producer::builder(format!("test-producer-{}", uuid::Uuid::new_v4().simple()))
        .namesrv_addr(namesrv)
        .start()
        .await
        .unwrap()
}

/// Every order exactly once, stock consistent on both sides, every user SUCCESS.
async fn assert_exactly_once(pool: &MySqlPool, redis: &TestRedis, stock: i64, orders: i64) {
    let (rows, users, dedup_success): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM order_records), \
                (SELECT COUNT(DISTINCT goods_id, user_id) FROM order_records), \
                (SELECT COUNT(*) FROM order_dedup WHERE outcome = 'SUCCESS')",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!((rows, users, dedup_success), (orders, orders, orders));
    assert_eq!(mysql_stock(pool, 1).await, stock - orders);
    assert_eq!(redis.stock(1).await, Some(stock - orders));
    let results = results(redis, 1).await;
    let successes = results
        .values()
        .filter(|r| r.starts_with("SUCCESS:"))
        .count();
    assert_eq!(successes, usize::try_from(orders).unwrap());
}

fn assert_no_errors(log: &str) {
    let errors: Vec<&str> = log.lines().filter(|l| l.contains(" ERROR ")).collect();
    assert!(errors.is_empty(), "errors logged:\n{}", errors.join("\n"));
    assert!(!log.contains("panicked"), "{log}");
}

async fn setup(
    pool: &MySqlPool,
    test: &str,
    dir: &Path,
) -> (TestRedis, Env, mq_core::cluster::LocalCluster) {
    let redis = TestRedis::new(test).await;
    let names = Names::new(test);
    let cluster = cluster(&dir.join("broker"), &names).await;
    let env = Env {
        database_url: database_url(pool),
        prefix: redis.prefix.clone(),
        namesrv: cluster.namesrv_addr().to_string(),
        names,
        dir: dir.to_owned(),
    };
    (redis, env, cluster)
}

#[sqlx::test(migrator = "seckill_service::db::MIGRATOR")]
async fn kill_9_mid_drain_then_restart_writes_every_order_exactly_once(pool: MySqlPool) {
    const STOCK: i64 = 25_000;
    const ORDERS: i64 = 20_000;
    let dir = tempfile::tempdir().unwrap();
    let (redis, env, cluster) = setup(&pool, "kill9", dir.path()).await;
    backlog(&pool, &redis, &env, STOCK, ORDERS).await;

    let mut first = env.spawn(free_port(), "first.log");
    wait_for("half the orders in MySQL", DRAIN_TIMEOUT, || async {
        order_count(&pool, 1).await >= ORDERS / 2
    })
    .await;
    first.kill().unwrap();
    first.wait().unwrap();
    let at_kill = order_count(&pool, 1).await;
    assert!(
        at_kill < ORDERS,
        "killed mid-drain: {at_kill} orders written"
    );
    let (committed, _) = progress(&env.namesrv, &env.names.group, &env.names.order_topic).await;
    println!("killed with {at_kill} orders written and {committed} offsets committed");

    let port = free_port();
    let mut second = env.spawn(port, "second.log");
    wait_for("the rest drained", DRAIN_TIMEOUT, || async {
        order_count(&pool, 1).await == ORDERS
            && progress(&env.namesrv, &env.names.group, &env.names.order_topic).await == (ORDERS, 0)
    })
    .await;
    // What was written but not committed came again and was recognised, nothing more.
    let metrics = http_get(port, "/metrics").await;
    assert_eq!(
        counter(&metrics, "seckill_duplicates_total"),
        (at_kill - committed) as f64
    );
    assert_eq!(
        counter(&metrics, "seckill_orders_written_total"),
        (ORDERS - at_kill) as f64
    );
    sigterm(&second);
    assert!(wait_exit(&mut second, STOP_TIMEOUT).await.success());

    assert_exactly_once(&pool, &redis, STOCK, ORDERS).await;
    assert_no_errors(&env.log("second.log"));
    cluster.shutdown().await.unwrap();
    redis.clean(&[1]).await;
}

#[sqlx::test(migrator = "seckill_service::db::MIGRATOR")]
async fn sigterm_under_load_commits_what_was_acknowledged_and_exits_0(pool: MySqlPool) {
    const STOCK: i64 = 10_000;
    const ORDERS: i64 = 10_000;
    let dir = tempfile::tempdir().unwrap();
    let (redis, env, cluster) = setup(&pool, "sigterm", dir.path()).await;
    backlog(&pool, &redis, &env, STOCK, ORDERS).await;

    let mut first = env.spawn(free_port(), "first.log");
    wait_for("orders flowing", DRAIN_TIMEOUT, || async {
        order_count(&pool, 1).await >= ORDERS / 5
    })
    .await;
    sigterm(&first);
    let status = wait_exit(&mut first, STOP_TIMEOUT).await;
    assert!(status.success(), "{status:?}");
    let at_exit = order_count(&pool, 1).await;
    assert!(
        at_exit < ORDERS,
        "stopped under load: {at_exit} orders written"
    );
    // Nothing is committed that was not written. What was written above the committed
    // offset is the consumer's in-flight window at the stop: calls already dispatched but not
    // started are skipped, and a call that finished above one of them cannot move the offset
    // past it — those messages come again after the restart and are recognised.
    let (committed, _) = progress(&env.namesrv, &env.names.group, &env.names.order_topic).await;
    println!("stopped with {at_exit} orders written and {committed} offsets committed");
    assert!(
        committed <= at_exit,
        "{committed} committed, {at_exit} written"
    );
    assert!(
        at_exit - committed <= 8 * 16,
        "more than the listener calls in flight came back"
    );
    let first_log = env.log("first.log");
    assert_no_errors(&first_log);
    assert!(first_log.contains("seckill-service stopped"), "{first_log}");

    let port = free_port();
    let mut second = env.spawn(port, "second.log");
    wait_for("the rest drained", DRAIN_TIMEOUT, || async {
        order_count(&pool, 1).await == ORDERS
            && progress(&env.namesrv, &env.names.group, &env.names.order_topic).await == (ORDERS, 0)
    })
    .await;
    let metrics = http_get(port, "/metrics").await;
    assert_eq!(
        counter(&metrics, "seckill_duplicates_total"),
        (at_exit - committed) as f64,
        "only what was written above the committed offset came again"
    );
    assert_eq!(
        counter(&metrics, "seckill_orders_written_total"),
        (ORDERS - at_exit) as f64
    );
    sigterm(&second);
    assert!(wait_exit(&mut second, STOP_TIMEOUT).await.success());

    assert_exactly_once(&pool, &redis, STOCK, ORDERS).await;
    assert_no_errors(&env.log("second.log"));
    cluster.shutdown().await.unwrap();
    redis.clean(&[1]).await;
}
