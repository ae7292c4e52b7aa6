//! The flash-sale stampede: 2,000 concurrent requests from 500 users (four each) on a goods
//! with 100 units. Exactly 100 are QUEUED, the broker holds exactly those 100 orders (100
//! distinct keys), a user holding a place is answered DUPLICATE, and the Redis stock ends at
//! 0 without ever going below it.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{Fixture, send};
use seckill_order::OrderMessage;

const STOCK: i64 = 100;
const USERS: i64 = 500;
const REQUESTS: i64 = 2_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_thousand_requests_on_a_hundred_units_queue_exactly_a_hundred() {
    // The local sold-out flag would answer a late repeat of a queued user SOLD_OUT before
    // Redis sees the dedup marker; without it every answer comes from the one Lua step.
    let fx = Fixture::with("stampede", |s| s.sold_out_ttl = Duration::ZERO).await;
    fx.warm(1, STOCK).await;

    let done = Arc::new(AtomicBool::new(false));
    let watcher = tokio::spawn({
        let (done, redis, keys) = (done.clone(), fx.redis.clone(), fx.keys(1));
        async move {
            let mut redis = redis;
            let mut lowest = i64::MAX;
            while !done.load(Ordering::SeqCst) {
                let stock = seckill_order::gate::stock(&mut redis, &keys).await.unwrap();
                lowest = lowest.min(stock.unwrap());
                tokio::task::yield_now().await;
            }
            lowest
        }
    });

    let mut tasks = Vec::new();
    for i in 0..REQUESTS {
        let user = i % USERS + 1;
        let app = fx.app.clone();
        tasks.push(tokio::spawn(async move {
            let uri = format!("/seckill?goodsId=1&userId={user}");
            let (status, body) = send(&app, Request::get(uri).body(Body::empty()).unwrap()).await;
            assert_eq!(status, StatusCode::OK, "user {user}: {body}");
            (user, body["status"].as_str().unwrap().to_owned())
        }));
    }
    let mut answers: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for task in tasks {
        let (user, status) = task.await.unwrap();
        answers.entry(user).or_default().push(status);
    }
    done.store(true, Ordering::SeqCst);
    let lowest = watcher.await.unwrap();

    let queued: BTreeSet<i64> = answers
        .iter()
        .filter(|(_, statuses)| statuses.iter().any(|s| s == "QUEUED"))
        .map(|(user, _)| *user)
        .collect();
    assert_eq!(queued.len() as i64, STOCK, "exactly the stock is queued");
    for (user, statuses) in &answers {
        assert_eq!(statuses.len(), 4);
        let expected_others = if queued.contains(user) {
            "DUPLICATE"
        } else {
            "SOLD_OUT"
        };
        let queued_answers = statuses.iter().filter(|s| *s == "QUEUED").count();
        assert_eq!(
            queued_answers,
            usize::from(queued.contains(user)),
            "user {user}: {statuses:?}"
        );
        assert!(
            statuses
                .iter()
                .filter(|s| *s != "QUEUED")
                .all(|s| s == expected_others),
            "user {user}: {statuses:?}"
        );
    }

    assert_eq!(fx.stock(1).await, Some(0));
    assert!(lowest >= 0, "stock went to {lowest}");
    let buyers: BTreeSet<i64> = fx.buyers(1).await.into_iter().collect();
    assert_eq!(buyers, queued);

    let stored = fx.mq.orders_by_key(&fx.topic).await;
    assert_eq!(
        stored.len() as i64,
        STOCK,
        "exactly 100 messages, 100 distinct keys"
    );
    let stored_users: BTreeSet<i64> = stored
        .iter()
        .map(|(key, msg)| {
            let order = OrderMessage::from_json(&msg.body).unwrap();
            assert_eq!(key, &order.biz_key());
            order.user_id
        })
        .collect();
    assert_eq!(stored_users, queued);
    fx.cleanup().await;
}
