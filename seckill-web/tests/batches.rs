//! The gate's batches, made deterministic by a publisher that holds each batch send until the
//! test lets it go (and may fail it) with one batch in flight at a time, so the requests that
//! arrive meanwhile form the next batch: a failed batch send gives back every place it took;
//! a batch mixing new users, a user asking twice and users already holding a place answers
//! each as one request at a time would be; a client that goes away leaks nothing.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{Fixture, send};
use seckill_order::{OrderMessage, gate};
use seckill_web::{MqOrderPublisher, OrderPublisher, PublishError, PublishReceipt};
use serde_json::Value;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

/// The real publisher behind a gate: each batch send waits for one permit, then fails if
/// `fail` is set. Records the size of every batch it was handed.
struct HeldPublisher {
    inner: Arc<MqOrderPublisher>,
    permits: Semaphore,
    fail: AtomicBool,
    batches: Mutex<Vec<usize>>,
}

impl HeldPublisher {
    fn new(inner: Arc<MqOrderPublisher>, fail: bool) -> Arc<Self> {
        Arc::new(Self {
            inner,
            permits: Semaphore::new(0),
            fail: AtomicBool::new(fail),
            batches: Mutex::new(Vec::new()),
        })
    }

    fn batches(&self) -> Vec<usize> {
        self.batches.lock().unwrap().clone()
    }

    /// Waits until `count` batch sends have started.
    async fn wait_for_batches(&self, count: usize) {
        eventually(|| self.batches().len() >= count, "batch send").await;
    }
}

#[async_trait]
impl OrderPublisher for HeldPublisher {
    async fn publish(&self, order: &OrderMessage) -> Result<PublishReceipt, PublishError> {
        self.inner.publish(order).await
    }

    async fn publish_batch(
        &self,
        orders: &[OrderMessage],
    ) -> Result<Vec<PublishReceipt>, PublishError> {
        self.batches.lock().unwrap().push(orders.len());
        self.permits.acquire().await.unwrap().forget();
        if self.fail.load(Ordering::SeqCst) {
            return Err(PublishError::Unreachable(
                "held publisher told to fail".into(),
            ));
        }
        self.inner.publish_batch(orders).await
    }

    async fn shutdown(&self) {
        self.inner.shutdown().await;
    }
}

/// A gate with one batch in flight at a time over a [`HeldPublisher`].
async fn fixture(test: &str, fail: bool) -> (Fixture, Arc<HeldPublisher>) {
    let slot = Arc::new(Mutex::new(None));
    let fx = Fixture::with_publisher(
        test,
        |s| {
            s.batches_in_flight = 1;
            s.sold_out_ttl = Duration::ZERO;
        },
        |inner| {
            let held = HeldPublisher::new(inner, fail);
            *slot.lock().unwrap() = Some(held.clone());
            held
        },
    )
    .await;
    let held = slot.lock().unwrap().take().unwrap();
    (fx, held)
}

fn buy(fx: &Fixture, user: i64) -> JoinHandle<(StatusCode, Value)> {
    let app = fx.app.clone();
    tokio::spawn(async move {
        let uri = format!("/seckill?goodsId=1&userId={user}");
        send(&app, Request::get(uri).body(Body::empty()).unwrap()).await
    })
}

async fn eventually(mut done: impl FnMut() -> bool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "no {what} within 10 s");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Starts user 1's request and holds it in the broker stage; then starts `users`' requests,
/// which queue behind it as the next batch.
async fn hold_first_then_queue(
    fx: &Fixture,
    held: &HeldPublisher,
    users: &[i64],
) -> (
    JoinHandle<(StatusCode, Value)>,
    Vec<JoinHandle<(StatusCode, Value)>>,
) {
    let first = buy(fx, 1);
    held.wait_for_batches(1).await;
    let rest: Vec<_> = users.iter().map(|user| buy(fx, *user)).collect();
    eventually(
        || fx.state.requests_waiting_for_a_batch() == users.len(),
        "queued requests",
    )
    .await;
    (first, rest)
}

/// What one request answered: the user, the HTTP status and the JSON `status`.
type Answer = (i64, StatusCode, String);

async fn answer_of(user: i64, request: JoinHandle<(StatusCode, Value)>) -> Answer {
    let (status, body) = request.await.unwrap();
    (user, status, body["status"].as_str().unwrap().to_owned())
}

fn answers(expected: &[(i64, StatusCode, &str)]) -> Vec<Answer> {
    expected
        .iter()
        .map(|(user, code, status)| (*user, *code, (*status).to_owned()))
        .collect()
}

/// Two batches over goods 1 with `stock` units, user 9 holding a place from before: user 1
/// alone in the first (held in the broker stage), `users` queued behind it as the second;
/// then both sends are let go. Answers user 1's answer and the others', in order.
async fn two_batches(
    test: &str,
    fail: bool,
    stock: i64,
    users: &[i64],
) -> (Fixture, Arc<HeldPublisher>, Answer, Vec<Answer>) {
    let (fx, held) = fixture(test, fail).await;
    fx.warm(1, stock).await;
    let mut redis = fx.redis.clone();
    gate::take(&mut redis, &fx.keys(1), 9, "earlier")
        .await
        .unwrap();
    let (first, rest) = hold_first_then_queue(&fx, &held, users).await;
    held.permits.add_permits(2);
    let first = answer_of(1, first).await;
    let mut others = Vec::new();
    for (user, request) in users.iter().zip(rest) {
        others.push(answer_of(*user, request).await);
    }
    (fx, held, first, others)
}

#[tokio::test]
async fn a_failed_batch_send_gives_back_every_place_of_the_batch() {
    // User 9's older place must survive the batch's undo; user 3 asks twice.
    let (fx, held, first, others) =
        two_batches("batch-send-fails", true, 10, &[2, 3, 4, 9, 3, 5]).await;
    const DOWN: StatusCode = StatusCode::SERVICE_UNAVAILABLE;
    assert_eq!(first, (1, DOWN, "UNAVAILABLE".to_owned()));
    let expected = [
        (2, DOWN, "UNAVAILABLE"),
        (3, DOWN, "UNAVAILABLE"),
        (4, DOWN, "UNAVAILABLE"),
        (9, StatusCode::OK, "DUPLICATE"),
        (3, StatusCode::OK, "DUPLICATE"),
        (5, DOWN, "UNAVAILABLE"),
    ];
    assert_eq!(others, answers(&expected));
    assert_eq!(
        held.batches(),
        vec![1, 4],
        "users 2, 3, 4, 5 went in one batch"
    );

    // Redis exactly as before the batches: only user 9's older place is held.
    assert_eq!(fx.stock(1).await, Some(9));
    assert_eq!(fx.buyers(1).await, vec![9]);
    for user in [1, 2, 3, 4, 5] {
        let (_, result) = fx
            .get(&format!("/seckill/result?goodsId=1&userId={user}"))
            .await;
        assert_eq!(result["status"], "NONE", "user {user}: {result}");
    }
    let metrics = fx.get_text("/metrics").await;
    assert!(
        metrics.contains(r#"seckill_publish_duration_seconds_count{outcome="unreachable"}"#),
        "{metrics}"
    );
    fx.cleanup().await;
}

#[tokio::test]
async fn a_batch_mixing_new_users_and_duplicates_answers_each_once() {
    // User 1 is in flight (holds a place), 9 held one before, 2 asks twice; after 2 and 3
    // the stock is out, so 4 is sold out.
    let (fx, held, first, others) = two_batches("batch-mixed", false, 4, &[2, 1, 3, 2, 9, 4]).await;
    const OK: StatusCode = StatusCode::OK;
    assert_eq!(first, (1, OK, "QUEUED".to_owned()));
    let expected = [
        (2, OK, "QUEUED"),
        (1, OK, "DUPLICATE"),
        (3, OK, "QUEUED"),
        (2, OK, "DUPLICATE"),
        (9, OK, "DUPLICATE"),
        (4, OK, "SOLD_OUT"),
    ];
    assert_eq!(others, answers(&expected));
    assert_eq!(
        held.batches(),
        vec![1, 2],
        "one send for the two orders taken"
    );

    assert_eq!(fx.stock(1).await, Some(0));
    assert_eq!(fx.buyers(1).await, vec![1, 2, 3, 9]);
    let keys: Vec<String> = fx.mq.orders_by_key(&fx.topic).await.into_keys().collect();
    assert_eq!(keys, vec!["1-1", "1-2", "1-3"], "one message per order");
    let metrics = fx.get_text("/metrics").await;
    for series in [
        r#"seckill_gate_batch_size_bucket{stage="take""#,
        r#"seckill_gate_batch_size_bucket{stage="send""#,
    ] {
        assert!(metrics.contains(series), "missing {series} in:\n{metrics}");
    }
    fx.cleanup().await;
}

#[tokio::test]
async fn a_client_that_goes_away_leaks_no_place() {
    let (fx, held) = fixture("batch-dropped", false).await;
    fx.warm(1, 10).await;
    // User 1's request goes away while its order is being sent; user 2's before its batch
    // started.
    let (first, rest) = hold_first_then_queue(&fx, &held, &[2, 3]).await;
    first.abort();
    let mut rest = rest.into_iter();
    let (second, third) = (rest.next().unwrap(), rest.next().unwrap());
    second.abort();
    assert!(first.await.unwrap_err().is_cancelled());
    assert!(second.await.unwrap_err().is_cancelled());
    held.permits.add_permits(2);
    assert_eq!(third.await.unwrap().1["status"], "QUEUED");
    eventually(|| fx.state.gate_tasks().is_empty(), "idle gate").await;

    // User 1's place was taken before the client left: its order was still sent. User 2's
    // batch skipped it: nothing taken, nothing sent.
    assert_eq!(held.batches(), vec![1, 1]);
    assert_eq!(fx.buyers(1).await, vec![1, 3]);
    assert_eq!(fx.stock(1).await, Some(8));
    let keys: Vec<String> = fx.mq.orders_by_key(&fx.topic).await.into_keys().collect();
    assert_eq!(keys, vec!["1-1", "1-3"]);
    fx.cleanup().await;
}
