//! The reference half of `seckill-bench drain`: how fast this MySQL takes order rows at all,
//! written as 1,000-row multi-row inserts per transaction — the ceiling the order writer's
//! orders/s is compared with.
//!
//! The rows go to a scratch copy of `order_records` (same columns and unique keys, a real
//! InnoDB table so commits cost what they cost the writer; a TEMPORARY table would skip the
//! redo log and flatter the ceiling), dropped afterwards.

use std::time::{Duration, Instant};

use sqlx::{MySql, MySqlPool, QueryBuilder};

/// Rows per transaction of the reference.
pub const ROWS_PER_TRANSACTION: usize = 1_000;

/// What the reference measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RawCeiling {
    /// Rows inserted.
    pub rows: u64,
    /// Wall time of the inserts and commits (table set-up excluded).
    pub elapsed: Duration,
    /// `rows / elapsed`.
    pub rows_per_sec: f64,
}

/// Inserts `n` order rows in [`ROWS_PER_TRANSACTION`]-row transactions and reports rows/s.
pub async fn raw_insert_ceiling(pool: &MySqlPool, n: u64) -> Result<RawCeiling, sqlx::Error> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let table = format!("bench_raw_orders_{}_{nanos}", std::process::id());
    sqlx::query(&format!("CREATE TABLE {table} LIKE order_records"))
        .execute(pool)
        .await?;
    let measured = insert_rows(pool, &table, n).await;
    // Drop the scratch table whatever happened; a failed drop only leaves a table behind.
    if let Err(err) = sqlx::query(&format!("DROP TABLE {table}"))
        .execute(pool)
        .await
    {
        tracing::warn!(%table, error = %err, "could not drop the benchmark's scratch table");
    }
    measured
}

async fn insert_rows(pool: &MySqlPool, table: &str, n: u64) -> Result<RawCeiling, sqlx::Error> {
    let started = Instant::now();
    let mut next: u64 = 0;
    while next < n {
        let end = n.min(next + ROWS_PER_TRANSACTION as u64);
        let mut query = QueryBuilder::<MySql>::new(format!(
            "INSERT INTO {table} (user_id, order_sn, goods_id) "
        ));
        query.push_values(next..end, |mut row, i| {
            // The same shape as the writer's rows: one goods, distinct users, unique numbers.
            let user_id = i64::try_from(i + 1).unwrap_or(i64::MAX);
            row.push_bind(user_id)
                .push_bind(format!("SK0-1-{user_id}"))
                .push_bind(1_i64);
        });
        let mut tx = pool.begin().await?;
        query.build().execute(&mut *tx).await?;
        tx.commit().await?;
        next = end;
    }
    let elapsed = started.elapsed();
    Ok(RawCeiling {
        rows: n,
        elapsed,
        rows_per_sec: n as f64 / elapsed.as_secs_f64().max(f64::EPSILON),
    })
}
