//! What the gate's tests share: a real Redis with a key prefix per test, a real mq-core name
//! server and broker per test (`LocalCluster` in a temp dir), the router built by
//! `seckill_web::app` over the real `MqOrderPublisher`, and helpers to send one request and to
//! read back what the broker stored.
#![allow(clippy::unwrap_used, dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use mq_core::client::{MessageExt, PullConsumer, PullStatus};
use mq_core::cluster::LocalCluster;
use redis::aio::ConnectionManager;
use seckill_order::GoodsKeys;
use seckill_order::gate;
use seckill_web::{AppState, GateSettings, MqOrderPublisher, OrderPublisher, PublisherSettings};
use serde_json::Value;
use tower::ServiceExt;

pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A name server and a broker of this test only, their store in a temp dir.
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

    pub fn namesrv(&self) -> String {
        self.cluster.namesrv_addr().to_string()
    }

    /// Producer settings for `topic` with the gate's defaults.
    pub fn publisher_settings(&self, topic: &str) -> PublisherSettings {
        PublisherSettings {
            namesrv_addr: self.namesrv(),
            producer_group: unique("web_test_producer"),
            order_topic: topic.to_owned(),
            send_timeout: Duration::from_secs(3),
            send_retries: 2,
        }
    }

    /// A started publisher for `topic`, the order topic routed.
    pub async fn publisher(&self, topic: &str) -> Arc<MqOrderPublisher> {
        let settings = self.publisher_settings(topic);
        Arc::new(
            MqOrderPublisher::connect(&settings, Duration::from_secs(10))
                .await
                .unwrap(),
        )
    }

    /// Every message stored on `topic`, read back queue by queue from offset 0.
    pub async fn messages(&self, topic: &str) -> Vec<MessageExt> {
        let consumer = PullConsumer::builder(unique("web_test_reader"))
            .namesrv_addr(self.namesrv())
            .start()
            .await
            .unwrap();
        // A topic the gate auto-created with its first send reaches the name server with the
        // broker's next registration, which a loaded machine can delay past this call.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let queues = loop {
            match consumer.fetch_queues(topic).await {
                Ok(queues) => break queues,
                Err(e) if std::time::Instant::now() < deadline => {
                    tracing::debug!(topic, error = %e, "no route yet");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("no route for {topic} after 10 s: {e}"),
            }
        };
        let mut out = Vec::new();
        for mq in queues {
            let mut offset = 0;
            loop {
                let pulled = consumer.pull(&mq, "*", offset, 32).await.unwrap();
                if pulled.status != PullStatus::Found {
                    break;
                }
                out.extend(pulled.messages);
                offset = pulled.next_begin_offset;
            }
        }
        consumer.shutdown().await;
        out
    }

    /// The stored order messages of `topic` by key (`goodsId-userId`); panics on a key seen twice.
    pub async fn orders_by_key(&self, topic: &str) -> BTreeMap<String, MessageExt> {
        let mut by_key = BTreeMap::new();
        for msg in self.messages(topic).await {
            assert_eq!(msg.keys.len(), 1, "one key per order: {msg:?}");
            let key = msg.keys[0].clone();
            if let Some(earlier) = by_key.insert(key.clone(), msg) {
                panic!("two messages with key {key}: {earlier:?}");
            }
        }
        by_key
    }
}

/// A name unique to this test process and call (topics, groups).
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// One test's Redis data, broker and router.
pub struct Fixture {
    pub prefix: String,
    pub topic: String,
    pub redis: ConnectionManager,
    pub mq: TestCluster,
    pub publisher: Arc<MqOrderPublisher>,
    pub state: AppState,
    pub app: Router,
}

impl Fixture {
    /// A router over real Redis with the test's own key prefix and default settings.
    pub async fn new(test: &str) -> Self {
        Self::with(test, |_| {}).await
    }

    /// Same, with settings changed by `tweak`.
    pub async fn with(test: &str, tweak: impl FnOnce(&mut GateSettings)) -> Self {
        Self::with_publisher(test, tweak, |publisher| publisher).await
    }

    /// Same, the gate publishing through what `wrap` makes of the real publisher (a test
    /// double that delays or fails sends); `publisher` stays the real one.
    pub async fn with_publisher(
        test: &str,
        tweak: impl FnOnce(&mut GateSettings),
        wrap: impl FnOnce(Arc<MqOrderPublisher>) -> Arc<dyn OrderPublisher>,
    ) -> Self {
        let prefix = format!("test-web-{test}-{}", std::process::id());
        let topic = format!("seckillTopic-{test}");
        let mq = TestCluster::start().await;
        let publisher = mq.publisher(&topic).await;
        let redis = seckill_web::server::connect_redis(
            &redis_url(),
            Duration::from_secs(2),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
        let mut settings = GateSettings {
            key_prefix: prefix.clone(),
            ..GateSettings::default()
        };
        tweak(&mut settings);
        let state = AppState::new(redis.clone(), wrap(publisher.clone()), settings).unwrap();
        let fixture = Self {
            prefix,
            topic,
            redis,
            mq,
            publisher,
            app: seckill_web::app(state.clone()),
            state,
        };
        for goods in 1..=5 {
            fixture.forget(goods).await;
        }
        fixture
    }

    pub fn keys(&self, goods_id: i64) -> GoodsKeys {
        GoodsKeys::new(&self.prefix, goods_id).unwrap()
    }

    /// Puts `goods_id` on sale with `stock` units.
    pub async fn warm(&self, goods_id: i64, stock: i64) {
        let mut redis = self.redis.clone();
        gate::warm(&mut redis, &self.keys(goods_id), stock, true)
            .await
            .unwrap();
    }

    /// Deletes every key of `goods_id`.
    pub async fn forget(&self, goods_id: i64) {
        let mut redis = self.redis.clone();
        let keys = self.keys(goods_id);
        let _: i64 = redis::cmd("DEL")
            .arg(&keys.all()[..])
            .query_async(&mut redis)
            .await
            .unwrap();
    }

    pub async fn stock(&self, goods_id: i64) -> Option<i64> {
        let mut redis = self.redis.clone();
        gate::stock(&mut redis, &self.keys(goods_id)).await.unwrap()
    }

    pub async fn get(&self, uri: &str) -> (StatusCode, Value) {
        send(&self.app, Request::get(uri).body(Body::empty()).unwrap()).await
    }

    pub async fn post_form(&self, uri: &str, form: &str) -> (StatusCode, Value) {
        let request = Request::post(uri)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form.to_owned()))
            .unwrap();
        send(&self.app, request).await
    }

    /// Deletes the test's Redis keys, stops the publisher and the cluster.
    pub async fn cleanup(self) {
        for goods in 1..=5 {
            self.forget(goods).await;
        }
        seckill_web::OrderPublisher::shutdown(&*self.publisher).await;
        self.mq.cluster.shutdown().await.unwrap();
    }

    /// The buyers (users whose field is a dedup marker) of `goods_id`, sorted.
    pub async fn buyers(&self, goods_id: i64) -> Vec<i64> {
        let mut redis = self.redis.clone();
        let fields: Vec<(i64, String)> = redis::cmd("HGETALL")
            .arg(&self.keys(goods_id).results)
            .query_async(&mut redis)
            .await
            .unwrap();
        let mut buyers: Vec<i64> = fields
            .into_iter()
            .filter(|(_, stored)| seckill_order::result::holds_place(stored))
            .map(|(user, _)| user)
            .collect();
        buyers.sort_unstable();
        buyers
    }
}

/// A real publisher whose name server is a closed port: it fails with `Unreachable` if ever
/// reached. For tests whose Redis is down, so no request can get past the Redis step.
pub async fn publisher_to_nowhere() -> Arc<MqOrderPublisher> {
    let settings = PublisherSettings {
        namesrv_addr: format!("127.0.0.1:{}", closed_port().await),
        producer_group: unique("web_test_producer"),
        order_topic: "seckillTopic".into(),
        send_timeout: Duration::from_millis(500),
        send_retries: 0,
    };
    Arc::new(MqOrderPublisher::start(&settings).await.unwrap())
}

/// A router whose Redis is `url` (usually unreachable), with a lazy connection.
pub async fn app_with_redis(url: &str, tweak: impl FnOnce(&mut GateSettings)) -> Router {
    let redis = seckill_web::server::redis_connection(url, Duration::from_millis(500)).unwrap();
    let mut settings = GateSettings {
        key_prefix: "test-web-unreachable".into(),
        ..GateSettings::default()
    };
    tweak(&mut settings);
    let state = AppState::new(redis, publisher_to_nowhere().await, settings).unwrap();
    seckill_web::app(state)
}

/// A local port nothing listens on.
pub async fn closed_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

/// A port that accepts connections and never answers: a hung Redis.
pub async fn black_hole() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    port
}

/// Sends one request; answers the status and the JSON body (every answer must be JSON).
pub async fn send(app: &Router, request: Request<Body>) -> (StatusCode, Value) {
    let (status, _, body) = send_raw(app, request).await;
    let json = serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&body)));
    (status, json)
}

/// Sends one request; answers status, headers and body bytes.
pub async fn send_raw(
    app: &Router,
    request: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, headers, body.to_vec())
}

impl Fixture {
    /// GET answering the raw body as text (for `/metrics`).
    pub async fn get_text(&self, uri: &str) -> String {
        let request = Request::get(uri).body(Body::empty()).unwrap();
        let (status, _, body) = send_raw(&self.app, request).await;
        assert_eq!(status, StatusCode::OK);
        String::from_utf8(body).unwrap()
    }
}
