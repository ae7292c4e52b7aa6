//! Warm-up: copies MySQL stock of the goods on sale (`spike = 1`) into the gate's Redis stock
//! counters, at start-up (only where a counter is absent, so a restart never resets a sale in
//! progress) and on demand (`POST /admin/warmup`, optionally overwriting).

use redis::aio::ConnectionManager;
use serde::Serialize;
use sqlx::MySqlPool;

use crate::error::Result;

/// One goods' warm-up result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Warmed {
    /// The goods.
    pub goods_id: i64,
    /// Its MySQL stock.
    pub mysql_stock: i64,
    /// Whether the Redis counter was written (false: it existed and was kept).
    pub written: bool,
    /// The Redis counter after the warm-up.
    pub redis_stock: Option<i64>,
}

/// Warms every goods with `spike = 1`; `overwrite` replaces existing counters.
pub async fn warm_all(
    pool: &MySqlPool,
    redis: &ConnectionManager,
    prefix: &str,
    overwrite: bool,
) -> Result<Vec<Warmed>> {
    let goods: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT CAST(id AS SIGNED), CAST(stocks AS SIGNED) FROM goods WHERE spike = 1 ORDER BY id",
    )
    .fetch_all(pool)
    .await?;
    let mut conn = redis.clone();
    let mut warmed = Vec::with_capacity(goods.len());
    for (goods_id, mysql_stock) in goods {
        let keys = seckill_order::GoodsKeys::new(prefix, goods_id)?;
        let written = seckill_order::gate::warm(&mut conn, &keys, mysql_stock, overwrite).await?;
        let redis_stock = seckill_order::gate::stock(&mut conn, &keys).await?;
        warmed.push(Warmed {
            goods_id,
            mysql_stock,
            written,
            redis_stock,
        });
    }
    let written = warmed.iter().filter(|w| w.written).count();
    tracing::info!(
        goods = warmed.len(),
        written,
        overwrite,
        "redis stock warmed from mysql"
    );
    Ok(warmed)
}
