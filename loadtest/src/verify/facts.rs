//! What MySQL and Redis hold per goods after a run: the raw facts the checks judge.

use std::collections::{BTreeMap, BTreeSet};

use redis::aio::MultiplexedConnection;
use seckill_order::{GoodsKeys, OrderResult, result};
use serde::Serialize;

use crate::error::Result;

/// The stored state of one goods.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GoodsFacts {
    /// The goods.
    pub goods_id: i64,
    /// `goods.spike = 1`.
    pub on_sale: bool,
    /// `goods.stocks` (`None`: no such row).
    pub mysql_stock: Option<i64>,
    /// `order_records` of this goods: user → order numbers (more than one is a duplicate).
    pub orders: BTreeMap<i64, Vec<String>>,
    /// The Redis stock counter (`None`: not warmed).
    pub redis_stock: Option<i64>,
    /// Users holding a place (their field is a dedup marker: any value but `FAILED`).
    pub buyers: BTreeSet<i64>,
    /// Result per user, from the same field: `PENDING` (its request id left out),
    /// `SUCCESS:<orderSn>`, `FAILED`.
    pub results: BTreeMap<i64, String>,
}

impl GoodsFacts {
    /// Order rows of this goods.
    pub fn order_count(&self) -> u64 {
        self.orders.values().map(|sns| sns.len() as u64).sum()
    }
}

/// A row of `goods`: stock and whether it is on sale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GoodsRow {
    /// `goods.stocks`.
    pub stock: i64,
    /// `goods.spike = 1`.
    pub on_sale: bool,
}

/// Every row of `goods`.
pub async fn goods_rows<'c, E>(db: E) -> Result<BTreeMap<i64, GoodsRow>>
where
    E: sqlx::Executor<'c, Database = sqlx::MySql>,
{
    let rows: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT CAST(id AS SIGNED), CAST(stocks AS SIGNED), CAST(spike AS SIGNED) FROM goods",
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, stock, spike)| {
            (
                id,
                GoodsRow {
                    stock,
                    on_sale: spike == 1,
                },
            )
        })
        .collect())
}

/// Every order, by goods and user.
pub async fn orders<'c, E>(db: E) -> Result<BTreeMap<i64, BTreeMap<i64, Vec<String>>>>
where
    E: sqlx::Executor<'c, Database = sqlx::MySql>,
{
    let rows: Vec<(i64, i64, String)> =
        sqlx::query_as("SELECT goods_id, user_id, order_sn FROM order_records ORDER BY id")
            .fetch_all(db)
            .await?;
    let mut out: BTreeMap<i64, BTreeMap<i64, Vec<String>>> = BTreeMap::new();
    for (goods_id, user_id, order_sn) in rows {
        out.entry(goods_id)
            .or_default()
            .entry(user_id)
            .or_default()
            .push(order_sn);
    }
    Ok(out)
}

/// The Redis state of one goods: stock counter, and from the results hash the buyers and
/// their results.
pub async fn redis_state(
    conn: &mut MultiplexedConnection,
    keys: &GoodsKeys,
) -> Result<(Option<i64>, BTreeSet<i64>, BTreeMap<i64, String>)> {
    let (stock, fields): (Option<i64>, Vec<(String, String)>) = redis::pipe()
        .cmd("GET")
        .arg(&keys.stock)
        .cmd("HGETALL")
        .arg(&keys.results)
        .query_async(conn)
        .await?;
    // One field per user is both the place (any value but FAILED) and the result.
    let fields: Vec<(i64, String)> = fields
        .into_iter()
        .filter_map(|(u, r)| u.parse().ok().map(|u| (u, r)))
        .collect();
    let buyers = fields
        .iter()
        .filter(|(_, stored)| result::holds_place(stored))
        .map(|(u, _)| *u)
        .collect();
    let results = fields
        .into_iter()
        .map(|(u, stored)| (u, OrderResult::display(&stored)))
        .collect();
    Ok((stock, buyers, results))
}

/// Results still `PENDING` over the given goods: places taken whose order is not settled.
pub async fn pending(conn: &mut MultiplexedConnection, prefix: &str, goods: &[i64]) -> Result<u64> {
    let mut total = 0u64;
    for &goods_id in goods {
        let keys = GoodsKeys::new(prefix, goods_id)?;
        let values: Vec<String> = redis::cmd("HVALS")
            .arg(&keys.results)
            .query_async(conn)
            .await?;
        total += values
            .iter()
            .filter(|v| OrderResult::parse(Some(v)) == OrderResult::Pending)
            .count() as u64;
    }
    Ok(total)
}
