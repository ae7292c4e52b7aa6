//! What the gate-script tests share: a connection to the real Redis and a goods of the
//! test's own (its own key prefix), so tests run in parallel and re-runs start clean.
#![allow(clippy::unwrap_used)]

use redis::aio::MultiplexedConnection;
use seckill_order::GoodsKeys;
use seckill_order::gate;

pub async fn redis() -> MultiplexedConnection {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let client = redis::Client::open(url).unwrap();
    client.get_multiplexed_async_connection().await.unwrap()
}

/// Goods 1 under the prefix `test-<name>-<pid>`, its keys deleted, then warmed with `stock`
/// unless `None` (not on sale).
pub async fn fresh_goods(
    conn: &mut MultiplexedConnection,
    name: &str,
    stock: Option<i64>,
) -> GoodsKeys {
    let prefix = format!("test-{name}-{}", std::process::id());
    let keys = GoodsKeys::new(&prefix, 1).unwrap();
    let _: i64 = redis::cmd("DEL")
        .arg(&keys.all()[..])
        .query_async(conn)
        .await
        .unwrap();
    if let Some(stock) = stock {
        assert!(gate::warm(conn, &keys, stock, false).await.unwrap());
    }
    keys
}
