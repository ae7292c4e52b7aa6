//! How fast the writer drains a backlog through the batcher, next to the raw insert ceiling
//! on the same database, in the same run. On demand (it writes 20,000 orders):
//! `cargo test -p seckill-service --release --test drain_rate -- --ignored --nocapture`.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::{TestRedis, mysql_stock, order, order_count, set_mysql_stock, writer};
use futures::future::join_all;
use seckill_service::bench::raw_insert_ceiling;
use seckill_service::{Batcher, BatcherConfig, Consumed, IncomingOrder};
use sqlx::MySqlPool;

const ORDERS: i64 = 20_000;
/// Messages per listener call and concurrent listener calls, as a push consumer would use.
const PER_CALL: usize = 32;
const CALLS_IN_FLIGHT: usize = 64;

#[sqlx::test(migrator = "seckill_service::db::MIGRATOR")]
#[ignore = "benchmark: writes 20,000 orders; run with --ignored --nocapture"]
async fn drain_rate_next_to_the_raw_ceiling(pool: MySqlPool) {
    let redis = TestRedis::new("drain").await;
    set_mysql_stock(&pool, 1, ORDERS).await;
    redis.warm(1, ORDERS).await;
    for users in (1..=ORDERS).collect::<Vec<_>>().chunks(1000) {
        join_all(users.iter().map(|u| redis.take(1, *u))).await;
    }
    let backlog: Vec<IncomingOrder> = (1..=ORDERS)
        .map(|u| order(1, u, &format!("r{u}"), &format!("m{u}")))
        .collect();

    let (writer, _) = writer(&pool, &redis);
    let (batcher, task) = Batcher::spawn(writer, BatcherConfig::new(256, Duration::from_millis(5)));
    let started = Instant::now();
    let mut chunks = backlog.chunks(PER_CALL);
    let mut running = Vec::new();
    loop {
        while running.len() < CALLS_IN_FLIGHT {
            let Some(chunk) = chunks.next() else { break };
            let batcher = batcher.clone();
            let chunk = chunk.to_vec();
            running.push(tokio::spawn(async move { batcher.submit(chunk).await }));
        }
        if running.is_empty() {
            break;
        }
        assert_eq!(running.remove(0).await.unwrap(), Consumed::Done);
    }
    let drained = started.elapsed();
    drop(batcher);
    task.shutdown().await;
    assert_eq!(order_count(&pool, 1).await, ORDERS);
    assert_eq!(mysql_stock(&pool, 1).await, 0);

    let ceiling = raw_insert_ceiling(&pool, u64::try_from(ORDERS).unwrap())
        .await
        .unwrap();
    let rate = ORDERS as f64 / drained.as_secs_f64();
    println!(
        "drain: {ORDERS} orders in {drained:?} = {rate:.0} orders/s; raw ceiling {:.0} rows/s; ratio {:.2}",
        ceiling.rows_per_sec,
        rate / ceiling.rows_per_sec
    );
    redis.clean(&[1]).await;
}
