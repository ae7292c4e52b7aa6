//! What the gate's tests share: a real Redis with a key prefix per test, the router built by
//! `seckill_web::app`, and a way to send one request and read its JSON answer.
//!
//! These tests stop before the publish step (400/404/DUPLICATE/SOLD_OUT/503-from-Redis): the
//! broker paths are tested once the mq-core client exists, against a real broker.
#![allow(clippy::unwrap_used, dead_code)]

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use redis::aio::ConnectionManager;
use seckill_order::gate;
use seckill_order::{GoodsKeys, OrderMessage};
use seckill_web::{AppState, GateSettings, OrderPublisher, PublishError, PublishReceipt};
use serde_json::Value;
use tower::ServiceExt;

pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// Fails the test if a request reaches the publish step: these tests pre-seed Redis so that
/// every request is decided before it. It is a tripwire, not a stand-in for the broker.
#[derive(Debug, Default)]
pub struct PublishMustNotBeReached {
    /// Set by `shutdown`, so shutdown tests can see the publisher was stopped.
    pub shut_down: std::sync::atomic::AtomicBool,
}

#[async_trait]
impl OrderPublisher for PublishMustNotBeReached {
    async fn publish(&self, order: &OrderMessage) -> Result<PublishReceipt, PublishError> {
        panic!("this test must not reach the publish step, but {order:?} did");
    }

    async fn shutdown(&self) {
        self.shut_down
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// One test's Redis data and router.
pub struct Fixture {
    pub prefix: String,
    pub redis: ConnectionManager,
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
        let prefix = format!("test-web-{test}-{}", std::process::id());
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
        let state = AppState::new(
            redis.clone(),
            Arc::new(PublishMustNotBeReached::default()),
            settings,
        )
        .unwrap();
        let fixture = Self {
            prefix,
            redis,
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

    pub async fn cleanup(self) {
        for goods in 1..=5 {
            self.forget(goods).await;
        }
    }
}

/// A router whose Redis is `url` (usually unreachable), with a lazy connection.
pub fn app_with_redis(url: &str, tweak: impl FnOnce(&mut GateSettings)) -> Router {
    let redis = seckill_web::server::redis_connection(url, Duration::from_millis(500)).unwrap();
    let mut settings = GateSettings {
        key_prefix: "test-web-unreachable".into(),
        ..GateSettings::default()
    };
    tweak(&mut settings);
    let state = AppState::new(
        redis,
        Arc::new(PublishMustNotBeReached::default()),
        settings,
    )
    .unwrap();
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
