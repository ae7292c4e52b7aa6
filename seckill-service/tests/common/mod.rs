//! What the integration tests share: a Redis connection under a key prefix of their own, a
//! writer over the test's fresh database, and order messages as the gate would send them.
#![allow(clippy::unwrap_used, dead_code)]

pub mod mq;

use std::sync::Arc;

use redis::aio::ConnectionManager;
use seckill_order::gate::{self, TakeOutcome};
use seckill_order::{GoodsKeys, OrderMessage, OrderResult};
use seckill_service::dedup::Dedup;
use seckill_service::events::StockEvents;
use seckill_service::{IncomingOrder, OrderWriter};
use sqlx::MySqlPool;

/// Redis for one test: keys under a prefix no other test uses, deleted on drop.
pub struct TestRedis {
    pub conn: ConnectionManager,
    pub prefix: String,
}

impl TestRedis {
    pub async fn new(test: &str) -> Self {
        let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
        let conn = ConnectionManager::new(redis::Client::open(url).unwrap())
            .await
            .unwrap();
        let prefix = format!("test-svc-{test}-{}", uuid::Uuid::new_v4().simple());
        Self { conn, prefix }
    }

    pub fn keys(&self, goods_id: i64) -> GoodsKeys {
        GoodsKeys::new(&self.prefix, goods_id).unwrap()
    }

    /// Sets the gate's stock counter as warm-up would.
    pub async fn warm(&self, goods_id: i64, stock: i64) {
        gate::warm(&mut self.conn.clone(), &self.keys(goods_id), stock, true)
            .await
            .unwrap();
    }

    /// Runs the gate's atomic take for `user_id`, as seckill-web does before sending.
    pub async fn take(&self, goods_id: i64, user_id: i64) {
        let outcome = gate::take(
            &mut self.conn.clone(),
            &self.keys(goods_id),
            user_id,
            &format!("take-{user_id}"),
        )
        .await
        .unwrap();
        assert!(
            matches!(outcome, TakeOutcome::Taken { .. }),
            "take for user {user_id}: {outcome:?}"
        );
    }

    pub async fn stock(&self, goods_id: i64) -> Option<i64> {
        gate::stock(&mut self.conn.clone(), &self.keys(goods_id))
            .await
            .unwrap()
    }

    pub async fn result(&self, goods_id: i64, user_id: i64) -> OrderResult {
        seckill_order::result::get(&mut self.conn.clone(), &self.keys(goods_id), user_id)
            .await
            .unwrap()
    }

    pub async fn holds_marker(&self, goods_id: i64, user_id: i64) -> bool {
        let stored: Option<String> = redis::cmd("HGET")
            .arg(&self.keys(goods_id).results)
            .arg(user_id)
            .query_async(&mut self.conn.clone())
            .await
            .unwrap();
        stored.is_some_and(|stored| seckill_order::result::holds_place(&stored))
    }

    /// Deletes every key of `goods_ids` under this test's prefix.
    pub async fn clean(&self, goods_ids: &[i64]) {
        for goods_id in goods_ids {
            let keys = self.keys(*goods_id);
            let _: i64 = redis::cmd("DEL")
                .arg(&keys.all()[..])
                .query_async(&mut self.conn.clone())
                .await
                .unwrap();
        }
    }
}

/// A writer over `pool` with an empty bloom filter, and its pending stock events.
pub fn writer(pool: &MySqlPool, redis: &TestRedis) -> (Arc<OrderWriter>, Arc<StockEvents>) {
    writer_with(pool, redis, Arc::new(Dedup::new(100_000, 0.001)))
}

pub fn writer_with(
    pool: &MySqlPool,
    redis: &TestRedis,
    dedup: Arc<Dedup>,
) -> (Arc<OrderWriter>, Arc<StockEvents>) {
    let events = Arc::new(StockEvents::new());
    let writer = OrderWriter::new(
        pool.clone(),
        redis.conn.clone(),
        &redis.prefix,
        dedup,
        events.clone(),
    )
    .unwrap();
    (Arc::new(writer), events)
}

/// The order message of `user_id`'s attempt `request_id` on `goods_id`, with a msgId.
pub fn order(goods_id: i64, user_id: i64, request_id: &str, msg_id: &str) -> IncomingOrder {
    let msg = OrderMessage {
        goods_id,
        user_id,
        request_id: request_id.to_owned(),
        timestamp: 1_700_000_000_000 + user_id,
    };
    IncomingOrder::new(msg_id, msg.to_json(), 0)
}

pub async fn set_mysql_stock(pool: &MySqlPool, goods_id: i64, stock: i64) {
    sqlx::query("UPDATE goods SET stocks = ? WHERE id = ?")
        .bind(stock)
        .bind(goods_id)
        .execute(pool)
        .await
        .unwrap();
}

pub async fn mysql_stock(pool: &MySqlPool, goods_id: i64) -> i64 {
    sqlx::query_scalar::<_, i32>("SELECT stocks FROM goods WHERE id = ?")
        .bind(goods_id)
        .fetch_one(pool)
        .await
        .map(i64::from)
        .unwrap()
}

pub async fn order_count(pool: &MySqlPool, goods_id: i64) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM order_records WHERE goods_id = ?")
        .bind(goods_id)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// The URL of the test's own database (the one `#[sqlx::test]` made for `pool`).
pub fn database_url(pool: &MySqlPool) -> String {
    let database = pool.connect_options().get_database().unwrap().to_owned();
    let url = std::env::var("DATABASE_URL").unwrap();
    format!("{}/{database}", url.rsplit_once('/').unwrap().0)
}

/// Runs the gate's take for users `users` of `goods_id`, a thousand at a time.
pub async fn take_all(redis: &TestRedis, goods_id: i64, users: std::ops::RangeInclusive<i64>) {
    let users: Vec<i64> = users.collect();
    for chunk in users.chunks(1000) {
        futures::future::join_all(chunk.iter().map(|u| redis.take(goods_id, *u))).await;
    }
}

/// Every result in Redis for `goods_id`: user id → stored value.
pub async fn results(redis: &TestRedis, goods_id: i64) -> std::collections::HashMap<i64, String> {
    redis::cmd("HGETALL")
        .arg(&redis.keys(goods_id).results)
        .query_async(&mut redis.conn.clone())
        .await
        .unwrap()
}

pub async fn dedup_rows(pool: &MySqlPool) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM order_dedup")
        .fetch_one(pool)
        .await
        .unwrap()
}
