//! Redis lost after MySQL committed: the message answers "retry later", and its redelivery
//! writes the missing result without making a second order. Redis is reached through a small
//! TCP relay the test cuts; the database and Redis themselves are real.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::{TestRedis, order, order_count, writer_with};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use seckill_order::OrderResult;
use seckill_service::dedup::Dedup;
use seckill_service::{Fate, OrderWriter, Settled};
use sqlx::MySqlPool;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

/// Relays connections to the real Redis until dropped.
async fn relay() -> (String, JoinSet<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let target = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let target = target
        .trim_start_matches("redis://")
        .trim_end_matches('/')
        .to_owned();
    let mut tasks = JoinSet::new();
    tasks.spawn(async move {
        let mut links = JoinSet::new();
        loop {
            let (mut inbound, _) = listener.accept().await.unwrap();
            let target = target.clone();
            links.spawn(async move {
                let mut outbound = TcpStream::connect(target).await.unwrap();
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
            });
        }
    });
    (format!("redis://{addr}"), tasks)
}

#[sqlx::test(migrator = "seckill_service::db::MIGRATOR")]
async fn a_result_lost_with_redis_is_written_by_the_redelivery(pool: MySqlPool) {
    let redis = TestRedis::new("redis-down").await;
    redis.warm(1, 1000).await;
    redis.take(1, 5).await;

    let (url, relay_tasks) = relay().await;
    let config = ConnectionManagerConfig::new()
        .set_number_of_retries(0)
        .set_response_timeout(Some(std::time::Duration::from_secs(2)));
    let via_relay = ConnectionManager::new_with_config(redis::Client::open(url).unwrap(), config)
        .await
        .unwrap();
    let cut_off = OrderWriter::new(
        pool.clone(),
        via_relay,
        &redis.prefix,
        Arc::new(Dedup::new(1_000, 0.01)),
        Arc::default(),
    )
    .unwrap();
    drop(relay_tasks); // Redis is gone for this writer.

    let message = order(1, 5, "r", "m");
    let outcome = cut_off.write_batch(vec![message.clone()]).await;
    assert_eq!(outcome.fates, vec![Fate::RetryLater]);
    assert_eq!(order_count(&pool, 1).await, 1, "MySQL committed");
    assert_eq!(redis.result(1, 5).await, OrderResult::Pending);

    // The redelivery (here on an instance that can reach Redis) completes the Redis step.
    let (writer, _) = writer_with(&pool, &redis, Arc::new(Dedup::new(1_000, 0.01)));
    let fates = writer.write_batch(vec![message]).await.fates;
    assert_eq!(fates, vec![Fate::Done(Settled::Duplicate)]);
    assert_eq!(order_count(&pool, 1).await, 1, "no second order");
    let (sn,): (String,) = sqlx::query_as("SELECT order_sn FROM order_records")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        redis.result(1, 5).await,
        OrderResult::Success { order_sn: sn }
    );
    redis.clean(&[1]).await;
}
