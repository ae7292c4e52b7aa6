//! The raw insert ceiling `seckill-bench drain` compares the writer with.
#![allow(clippy::unwrap_used)]

use seckill_service::bench::raw_insert_ceiling;
use sqlx::MySqlPool;

#[sqlx::test(migrator = "seckill_service::db::MIGRATOR")]
async fn the_raw_ceiling_inserts_every_row_and_cleans_up(pool: MySqlPool) {
    let ceiling = raw_insert_ceiling(&pool, 5_500).await.unwrap();
    println!(
        "raw ceiling: {} rows in {:?} = {:.0} rows/s",
        ceiling.rows, ceiling.elapsed, ceiling.rows_per_sec
    );
    assert_eq!(ceiling.rows, 5_500);
    assert!(ceiling.rows_per_sec > 0.0);
    let scratch: Vec<(String,)> = sqlx::query_as("SHOW TABLES LIKE 'bench_raw_orders_%'")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert!(scratch.is_empty(), "scratch table left behind: {scratch:?}");
    let orders: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM order_records")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(orders, 0, "the real table is untouched");
}
