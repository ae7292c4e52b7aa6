//! The one MySQL transaction a batch is written in: stock allotted per goods with a guard,
//! dedup rows and orders inserted with multi-row statements, all committed together.

use std::collections::BTreeMap;

use sqlx::{MySql, MySqlPool, QueryBuilder, Transaction};

use crate::dedup::{FAILED, SUCCESS};
use crate::incoming::Order;

/// What a committed transaction wrote.
#[derive(Debug, Default)]
pub(crate) struct Written<'a> {
    /// Orders written, with their order numbers.
    pub ordered: Vec<(&'a Order, String)>,
    /// Orders refused because their goods had no MySQL stock left (recorded FAILED).
    pub stock_refused: Vec<&'a Order>,
}

/// Writes `to_order` (as far as MySQL stock allows; the rest is refused) and records
/// `to_refuse` as FAILED (with the order its user already holds, if any), in one
/// transaction. On error nothing is written.
///
/// Goods rows are locked in ascending id order, so concurrent batches (several instances of
/// the group) queue on a hot goods row instead of deadlocking on two of them.
pub(crate) async fn write<'a>(
    pool: &MySqlPool,
    to_order: &[&'a Order],
    to_refuse: &[(&'a Order, Option<String>)],
) -> Result<Written<'a>, sqlx::Error> {
    let mut written = Written::default();
    if to_order.is_empty() && to_refuse.is_empty() {
        return Ok(written);
    }
    let mut by_goods: BTreeMap<i64, Vec<&'a Order>> = BTreeMap::new();
    for order in to_order {
        by_goods.entry(order.msg.goods_id).or_default().push(order);
    }
    let mut tx = pool.begin().await?;
    for (goods_id, orders) in by_goods {
        let allotted = allot(&mut tx, goods_id, orders.len()).await?;
        // Earlier messages win: the batch keeps the queue's arrival order.
        let (winners, losers) = orders.split_at(allotted.min(orders.len()));
        written
            .ordered
            .extend(winners.iter().map(|o| (*o, o.order_sn())));
        written.stock_refused.extend_from_slice(losers);
    }
    let failed: Vec<(&Order, Option<&str>)> = written
        .stock_refused
        .iter()
        .map(|o| (*o, None))
        .chain(to_refuse.iter().map(|(o, sn)| (*o, sn.as_deref())))
        .collect();
    insert_dedup_rows(&mut tx, &written.ordered, &failed).await?;
    insert_orders(&mut tx, &written.ordered).await?;
    tx.commit().await?;
    Ok(written)
}

/// Takes up to `wanted` units of `goods_id`'s stock and answers how many it got. The common
/// case is one guarded UPDATE; only when the stock cannot cover the whole batch is the row
/// read (locked) to hand out what is left.
async fn allot(
    tx: &mut Transaction<'_, MySql>,
    goods_id: i64,
    wanted: usize,
) -> Result<usize, sqlx::Error> {
    let wanted_i64 = i64::try_from(wanted).unwrap_or(i64::MAX);
    let updated = sqlx::query(
        "UPDATE goods SET stocks = stocks - ?, update_time = NOW() WHERE id = ? AND stocks >= ?",
    )
    .bind(wanted_i64)
    .bind(goods_id)
    .bind(wanted_i64)
    .execute(&mut **tx)
    .await?;
    if updated.rows_affected() == 1 {
        return Ok(wanted);
    }
    let stocks: Option<(i32,)> = sqlx::query_as("SELECT stocks FROM goods WHERE id = ? FOR UPDATE")
        .bind(goods_id)
        .fetch_optional(&mut **tx)
        .await?;
    let left = stocks.map_or(0, |(s,)| usize::try_from(s).unwrap_or(0));
    let allotted = left.min(wanted);
    if allotted > 0 {
        let allotted_i64 = i64::try_from(allotted).unwrap_or(i64::MAX);
        sqlx::query("UPDATE goods SET stocks = stocks - ?, update_time = NOW() WHERE id = ? AND stocks >= ?")
            .bind(allotted_i64)
            .bind(goods_id)
            .bind(allotted_i64)
            .execute(&mut **tx)
            .await?;
    }
    Ok(allotted)
}

async fn insert_dedup_rows(
    tx: &mut Transaction<'_, MySql>,
    ordered: &[(&Order, String)],
    failed: &[(&Order, Option<&str>)],
) -> Result<(), sqlx::Error> {
    if ordered.is_empty() && failed.is_empty() {
        return Ok(());
    }
    let mut query = QueryBuilder::<MySql>::new(
        "INSERT INTO order_dedup (biz_key, request_id, msg_id, outcome, order_sn) ",
    );
    let rows = ordered
        .iter()
        .map(|(o, sn)| (*o, SUCCESS, Some(sn.as_str())))
        .chain(failed.iter().map(|(o, sn)| (*o, FAILED, *sn)));
    query.push_values(rows, |mut row, (order, outcome, sn)| {
        row.push_bind(&order.attempt_key)
            .push_bind(&order.msg.request_id)
            .push_bind(&order.msg_id)
            .push_bind(outcome)
            .push_bind(sn);
    });
    query.build().execute(&mut **tx).await?;
    Ok(())
}

async fn insert_orders(
    tx: &mut Transaction<'_, MySql>,
    ordered: &[(&Order, String)],
) -> Result<(), sqlx::Error> {
    if ordered.is_empty() {
        return Ok(());
    }
    let mut query =
        QueryBuilder::<MySql>::new("INSERT INTO order_records (user_id, order_sn, goods_id) ");
    query.push_values(ordered, |mut row, (order, sn)| {
        row.push_bind(order.msg.user_id)
            .push_bind(sn)
            .push_bind(order.msg.goods_id);
    });
    query.build().execute(&mut **tx).await?;
    Ok(())
}

/// The order number of an order row that exists without a dedup row (written by hand or by an
/// older version): the (goods, user) pair is taken even though the table did not say so.
pub(crate) async fn existing_order_sn(
    pool: &MySqlPool,
    goods_id: i64,
    user_id: i64,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT order_sn FROM order_records WHERE goods_id = ? AND user_id = ?")
        .bind(goods_id)
        .bind(user_id)
        .fetch_optional(pool)
        .await
}
