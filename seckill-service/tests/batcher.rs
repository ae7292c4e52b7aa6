//! The batcher in front of a real writer: batches form at `max_batch` or after `linger`, each
//! caller gets its own messages' fates, and shutdown writes what is queued before it ends.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{TestRedis, order, order_count, writer};
use seckill_service::{Batcher, BatcherConfig, Consumed, Fate, Settled};
use sqlx::MySqlPool;

#[sqlx::test(migrator = "seckill_service::db::MIGRATOR")]
async fn each_caller_gets_its_own_fates_across_batches(pool: MySqlPool) {
    let redis = TestRedis::new("batcher-fates").await;
    redis.warm(2, 10).await;
    for user in 1..=10 {
        redis.take(2, user).await;
    }
    // MySQL has less than Redis believed: some callers' messages fail.
    common::set_mysql_stock(&pool, 2, 3).await;
    let (writer, _) = writer(&pool, &redis);
    let (batcher, task) = Batcher::spawn(writer, BatcherConfig::new(4, Duration::from_millis(20)));
    let calls: Vec<_> = (1..=10)
        .map(|user| {
            let batcher = batcher.clone();
            tokio::spawn(async move {
                batcher
                    .submit_each(vec![order(2, user, "r", &format!("m{user}"))])
                    .await
            })
        })
        .collect();
    let mut ordered = 0;
    let mut failed = 0;
    for call in calls {
        let fates = call.await.unwrap();
        assert_eq!(fates.len(), 1);
        match &fates[0] {
            Fate::Done(Settled::Ordered { .. }) => ordered += 1,
            Fate::Done(Settled::Failed) => failed += 1,
            other => panic!("unexpected fate {other:?}"),
        }
    }
    assert_eq!((ordered, failed), (3, 7));
    assert_eq!(order_count(&pool, 2).await, 3);
    drop(batcher);
    task.shutdown().await;
    redis.clean(&[2]).await;
}

#[sqlx::test(migrator = "seckill_service::db::MIGRATOR")]
async fn a_lone_message_is_written_after_the_linger(pool: MySqlPool) {
    let redis = TestRedis::new("batcher-linger").await;
    redis.warm(1, 1000).await;
    redis.take(1, 1).await;
    let (writer, _) = writer(&pool, &redis);
    // A batch of 256 would never fill: the linger writes it.
    let (batcher, task) =
        Batcher::spawn(writer, BatcherConfig::new(256, Duration::from_millis(30)));
    let consumed = tokio::time::timeout(
        Duration::from_secs(5),
        batcher.submit(vec![order(1, 1, "r", "m")]),
    )
    .await
    .unwrap();
    assert_eq!(consumed, Consumed::Done);
    assert_eq!(order_count(&pool, 1).await, 1);
    task.shutdown().await;
    redis.clean(&[1]).await;
}

#[sqlx::test(migrator = "seckill_service::db::MIGRATOR")]
async fn shutdown_writes_what_is_queued_then_refuses_new_messages(pool: MySqlPool) {
    let redis = TestRedis::new("batcher-stop").await;
    redis.warm(1, 1000).await;
    for user in 1..=100 {
        redis.take(1, user).await;
    }
    let (writer, _) = writer(&pool, &redis);
    // A long linger: without shutdown these would wait a minute.
    let (batcher, task) = Batcher::spawn(writer, BatcherConfig::new(1000, Duration::from_secs(60)));
    let pending = tokio::spawn({
        let batcher = batcher.clone();
        async move {
            let orders = (1..=100)
                .map(|u| order(1, u, "r", &format!("m{u}")))
                .collect();
            batcher.submit(orders).await
        }
    });
    // Let the messages reach the queue, then stop.
    tokio::time::sleep(Duration::from_millis(100)).await;
    tokio::time::timeout(Duration::from_secs(10), task.shutdown())
        .await
        .unwrap();
    assert_eq!(pending.await.unwrap(), Consumed::Done);
    assert_eq!(
        order_count(&pool, 1).await,
        100,
        "the queued batch was committed"
    );
    assert_eq!(
        batcher.submit(vec![order(1, 101, "r", "late")]).await,
        Consumed::RetryLater,
        "after shutdown the broker keeps new messages"
    );
    redis.clean(&[1]).await;
}
