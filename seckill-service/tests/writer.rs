//! The order writer against real MariaDB (a fresh database per test) and real Redis (a key
//! prefix per test): exactly-once orders under redelivery and restarts, poison, fallback,
//! MySQL unavailable.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::{TestRedis, mysql_stock, order, order_count, writer, writer_with};
use seckill_order::OrderResult;
use seckill_service::dedup::Dedup;
use seckill_service::{Batcher, BatcherConfig, Consumed, Fate, IncomingOrder, Settled};
use sqlx::MySqlPool;
use std::sync::Arc;

#[sqlx::test(migrator = "seckill_service::db::MIGRATOR")]
async fn each_of_1000_orders_written_three_times_makes_1000_orders(pool: MySqlPool) {
    let redis = TestRedis::new("thrice").await;
    redis.warm(1, 1000).await;
    for user in 1..=1000 {
        redis.take(1, user).await;
    }
    let (writer, events) = writer(&pool, &redis);
    let (batcher, task) = Batcher::spawn(
        writer.clone(),
        BatcherConfig::new(256, Duration::from_millis(5)),
    );

    // Three deliveries of every message (same key and requestId, new msgIds), interleaved and
    // handed in by 30 concurrent "listener calls" of 100 messages each.
    let mut messages: Vec<IncomingOrder> = Vec::new();
    for copy in 0..3 {
        for user in 1..=1000 {
            let rid = format!("req-{user}");
            messages.push(order(1, user, &rid, &format!("m-{user}-{copy}")));
        }
    }
    messages.rotate_left(137);
    let started = Instant::now();
    let calls: Vec<_> = messages
        .chunks(100)
        .map(|chunk| {
            let batcher = batcher.clone();
            let chunk = chunk.to_vec();
            tokio::spawn(async move { batcher.submit(chunk).await })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap(), Consumed::Done, "no error surfaced");
    }
    let elapsed = started.elapsed();
    println!(
        "3,000 deliveries / 1,000 orders through the batcher in {elapsed:?}: {:.0} orders/s",
        1000.0 / elapsed.as_secs_f64()
    );

    assert_eq!(order_count(&pool, 1).await, 1000);
    assert_eq!(mysql_stock(&pool, 1).await, 0, "stock decremented by 1,000");
    let dedup_rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM order_dedup")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(dedup_rows, 1000);
    for user in [1, 500, 1000] {
        let (sn,): (String,) =
            sqlx::query_as("SELECT order_sn FROM order_records WHERE goods_id = 1 AND user_id = ?")
                .bind(user)
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!(
            redis.result(1, user).await,
            OrderResult::Success { order_sn: sn }
        );
    }

    // A fourth delivery after everything committed: all duplicates, nothing changes.
    let again: Vec<IncomingOrder> = (1..=1000)
        .map(|user| order(1, user, &format!("req-{user}"), &format!("m-{user}-3")))
        .collect();
    let fates = batcher.submit_each(again).await;
    assert!(fates.iter().all(|f| *f == Fate::Done(Settled::Duplicate)));
    assert_eq!(order_count(&pool, 1).await, 1000);
    assert_eq!(mysql_stock(&pool, 1).await, 0);
    assert_eq!(redis.stock(1).await, Some(0), "no stock was given back");
    assert!(events.take_pending().is_empty());

    drop(batcher);
    task.shutdown().await;
    redis.clean(&[1]).await;
}

#[sqlx::test(migrator = "seckill_service::db::MIGRATOR")]
async fn a_poison_body_is_settled_and_does_not_block_its_batch(pool: MySqlPool) {
    let redis = TestRedis::new("poison").await;
    redis.warm(3, 100).await;
    let mut batch = Vec::new();
    for user in 1..=5 {
        redis.take(3, user).await;
        batch.push(order(3, user, "r", &format!("m{user}")));
    }
    batch.insert(2, IncomingOrder::new("bad-1", &b"not json"[..], 0));
    batch.push(IncomingOrder::new(
        "bad-2",
        &br#"{"goodsId":3,"userId":-1,"requestId":"r","timestamp":1}"#[..],
        15,
    ));
    let (writer, _) = writer(&pool, &redis);
    let (batcher, task) = Batcher::spawn(writer, BatcherConfig::new(16, Duration::from_millis(1)));
    let fates = batcher.submit_each(batch.clone()).await;
    assert_eq!(fates[2], Fate::Done(Settled::Poison));
    assert_eq!(fates[6], Fate::Done(Settled::Poison));
    let ordered = fates
        .iter()
        .filter(|f| matches!(f, Fate::Done(Settled::Ordered { .. })))
        .count();
    assert_eq!(ordered, 5);
    assert_eq!(
        batcher.submit(batch).await,
        Consumed::Done,
        "acknowledged, never retried"
    );
    assert_eq!(order_count(&pool, 3).await, 5);
    drop(batcher);
    task.shutdown().await;
    redis.clean(&[3]).await;
}

#[sqlx::test(migrator = "seckill_service::db::MIGRATOR")]
async fn the_bloom_filter_rebuilt_after_a_restart_still_catches_duplicates(pool: MySqlPool) {
    let redis = TestRedis::new("restart").await;
    redis.warm(1, 1000).await;
    let batch: Vec<IncomingOrder> = (1..=50)
        .map(|u| order(1, u, &format!("r{u}"), &format!("m{u}")))
        .collect();
    for user in 1..=50 {
        redis.take(1, user).await;
    }
    let (first, _) = writer(&pool, &redis);
    assert!(first.write_batch(batch.clone()).await.all_done());
    drop(first);

    // "Restart": a new writer whose filter is rebuilt from the dedup table.
    let rebuilt = Dedup::rebuild(&pool, 1_000, 0.01).await.unwrap();
    assert_eq!(rebuilt.stats().items, 50);
    assert!((1..=50).all(|u| rebuilt.maybe_seen(&format!("1-{u}#r{u}"))));
    let (second, _) = writer_with(&pool, &redis, Arc::new(rebuilt));
    let outcome = second.write_batch(batch.clone()).await;
    assert!(
        !outcome.fell_back,
        "the filter knew every key: no unique key was hit"
    );
    assert!(
        outcome
            .fates
            .iter()
            .all(|f| *f == Fate::Done(Settled::Duplicate))
    );

    // Another instance whose filter never saw these keys: the unique keys are the last line.
    let (stranger, _) = writer(&pool, &redis);
    let outcome = stranger.write_batch(batch).await;
    assert!(
        outcome.fell_back,
        "the batch hit a unique key and went message by message"
    );
    assert!(
        outcome
            .fates
            .iter()
            .all(|f| *f == Fate::Done(Settled::Duplicate))
    );
    assert_eq!(order_count(&pool, 1).await, 50);
    assert_eq!(mysql_stock(&pool, 1).await, 950);
    redis.clean(&[1]).await;
}

#[sqlx::test(migrator = "seckill_service::db::MIGRATOR")]
async fn a_batch_with_one_bad_row_falls_back_to_per_message(pool: MySqlPool) {
    let redis = TestRedis::new("fallback").await;
    redis.warm(3, 100).await;
    // User 5 already holds an order that has no dedup row (written by hand).
    sqlx::query("INSERT INTO order_records (user_id, order_sn, goods_id) VALUES (5, 'HAND-1', 3)")
        .execute(&pool)
        .await
        .unwrap();
    let mut batch = Vec::new();
    for user in 1..=10 {
        redis.take(3, user).await;
        batch.push(order(3, user, &format!("r{user}"), &format!("m{user}")));
    }
    let (writer, _) = writer(&pool, &redis);
    let outcome = writer.write_batch(batch).await;
    assert!(outcome.fell_back);
    assert!(outcome.all_done(), "{:?}", outcome.fates);
    for (i, fate) in outcome.fates.iter().enumerate() {
        if i == 4 {
            assert_eq!(*fate, Fate::Done(Settled::Failed));
        } else {
            assert!(
                matches!(fate, Fate::Done(Settled::Ordered { .. })),
                "{i}: {fate:?}"
            );
        }
    }
    assert_eq!(
        order_count(&pool, 3).await,
        10,
        "nine new orders and the hand-written one"
    );
    assert_eq!(mysql_stock(&pool, 3).await, 91);
    assert_eq!(redis.stock(3).await, Some(91), "user 5's place came back");
    assert_eq!(
        redis.result(3, 5).await,
        OrderResult::Success {
            order_sn: "HAND-1".into()
        },
        "user 5 reads the order they hold"
    );
    redis.clean(&[3]).await;
}

#[sqlx::test(migrator = "seckill_service::db::MIGRATOR")]
async fn mysql_unreachable_answers_retry_later_and_writes_nothing(pool: MySqlPool) {
    let redis = TestRedis::new("down").await;
    redis.warm(1, 1000).await;
    redis.take(1, 1).await;
    let dead = MySqlPool::connect_with((*pool.connect_options()).clone())
        .await
        .unwrap();
    dead.close().await;
    let (broken, _) = writer(&dead, &redis);
    let message = order(1, 1, "r", "m");
    let outcome = broken.write_batch(vec![message.clone()]).await;
    assert_eq!(outcome.fates, vec![Fate::RetryLater]);
    assert!(
        !outcome.fell_back,
        "a transient failure is not split into single messages"
    );
    assert_eq!(order_count(&pool, 1).await, 0);
    assert_eq!(redis.result(1, 1).await, OrderResult::Pending);

    // The redelivery, once MySQL is back, makes the order.
    let (writer, _) = writer(&pool, &redis);
    let fates = writer.write_batch(vec![message]).await.fates;
    assert!(matches!(fates[0], Fate::Done(Settled::Ordered { .. })));
    redis.clean(&[1]).await;
}
